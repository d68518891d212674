//! Straight-line block merging: a block that ends in a `Jump` to a block with no other
//! predecessor absorbs it. The absorbed block's parameters become `Copy`s of the jump
//! arguments (copy propagation removes them) and the emptied block is left unreachable for DCE.
//! Folding a branch into a jump leaves exactly such chains behind.

use crate::ir::{Function, Inst, Op, Terminator, TrapCode};

/// Returns whether a block was absorbed.
pub fn run(func: &mut Function) -> bool {
    let mut changed = false;
    let mut pred_count = vec![0usize; func.blocks.len()];
    for block in &func.blocks {
        for s in block.term.successor_iter() {
            if let Some(n) = pred_count.get_mut(s.0 as usize) {
                *n += 1;
            }
        }
    }
    // Merging moves a successor's edges to the absorbing block, so the counts stay valid.
    for b in 0..func.blocks.len() {
        while let Terminator::Jump { target, args } = &func.blocks[b].term {
            let t = target.0 as usize;
            let absorbable = t != b
                && t != 0
                && t < func.blocks.len()
                && pred_count[t] == 1
                && args.len() == func.blocks[t].params.len();
            if !absorbable {
                break;
            }
            let args = args.clone();
            let offset = func.blocks[b].term_offset;
            let absorbed = std::mem::replace(
                &mut func.blocks[t],
                crate::ir::BlockData {
                    params: Vec::new(),
                    insts: Vec::new(),
                    term: Terminator::Trap {
                        code: TrapCode::Unreachable,
                    },
                    term_offset: 0,
                },
            );
            pred_count[t] = 0;
            let block = &mut func.blocks[b];
            for (param, arg) in absorbed.params.iter().zip(args) {
                block.insts.push(Inst {
                    op: Op::Copy,
                    args: vec![arg],
                    results: vec![*param],
                    offset,
                });
            }
            block.insts.extend(absorbed.insts);
            block.term = absorbed.term;
            block.term_offset = absorbed.term_offset;
            changed = true;
        }
    }
    changed
}

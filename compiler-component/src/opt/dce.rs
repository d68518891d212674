//! Dead code elimination: unreachable blocks go (the rest are renumbered densely, entry first),
//! then every side-effect-free instruction and block parameter whose value can never reach an
//! effect, a branch condition or a return is deleted — including loop-carried values that only
//! feed themselves.

use crate::ir::{Block, Conversion, Function, Op, TableOp, Terminator, Value};

/// Returns whether a block, an instruction or a parameter was removed.
pub fn run(func: &mut Function) -> bool {
    let blocks = remove_unreachable_blocks(func);
    let values = remove_dead_values(func);
    blocks || values
}

/// Whether the instruction must stay even when its results are unused.
pub fn has_effects(op: &Op) -> bool {
    match op {
        Op::Load(_)
        | Op::Store(_)
        | Op::Call(_)
        | Op::CallIndirect(_)
        | Op::Bulk(_)
        | Op::CallPtr(_)
        | Op::TrapIf(_)
        | Op::BoundsCheck { .. }
        | Op::StoreSymbol { .. }
        | Op::MemoryGrow
        | Op::GlobalSet(_)
        | Op::Table(
            TableOp::Get(_)
            | TableOp::Set(_)
            | TableOp::Grow(_)
            | TableOp::Fill(_)
            | TableOp::Copy { .. }
            | TableOp::Init { .. }
            | TableOp::ElemDrop(_),
        )
        | Op::Convert(Conversion::TruncS | Conversion::TruncU) => true,
        // Reads of state (MemorySize, GlobalGet, LoadSymbol) are only deleted, never moved, so
        // dropping an unused one is safe. Division never traps in the IR (TrapIf precedes it).
        Op::Const(_)
        | Op::Copy
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Compare(_)
        | Op::FUnary(_)
        | Op::FBinary(_)
        | Op::FCompare(_)
        | Op::Convert(_)
        | Op::Select
        | Op::MemorySize
        | Op::GlobalGet(_)
        | Op::Table(TableOp::Size(_) | TableOp::RefFunc(_))
        | Op::SymbolAddr { .. }
        | Op::LoadSymbol { .. }
        | Op::AddPair
        | Op::SubPair
        | Op::MulWideU
        | Op::MulWideS
        | Op::ShiftPair(_) => false,
    }
}

/// Drop blocks not reachable from the entry and renumber the others in their original order;
/// returns whether there were any.
pub fn remove_unreachable_blocks(func: &mut Function) -> bool {
    let count = func.blocks.len();
    let mut reachable = vec![false; count];
    for b in func.reverse_postorder() {
        reachable[b.0 as usize] = true;
    }
    if reachable.iter().all(|r| *r) {
        return false;
    }
    let mut new_index = vec![None; count];
    let mut next = 0u32;
    for (old, keep) in reachable.iter().enumerate() {
        if *keep {
            new_index[old] = Some(Block(next));
            next += 1;
        }
    }
    let blocks = std::mem::take(&mut func.blocks);
    for (old, mut block) in blocks.into_iter().enumerate() {
        if !reachable[old] {
            continue;
        }
        // Successors of a reachable block are reachable, so every lookup succeeds.
        let remap = |b: &mut Block| {
            if let Some(Some(n)) = new_index.get(b.0 as usize) {
                *b = *n;
            }
        };
        match &mut block.term {
            Terminator::Jump { target, .. } => remap(target),
            Terminator::Branch {
                then_block,
                else_block,
                ..
            } => {
                remap(then_block);
                remap(else_block);
            }
            Terminator::Switch {
                targets, default, ..
            } => {
                targets.iter_mut().for_each(remap);
                remap(default);
            }
            Terminator::Return { .. } | Terminator::Trap { .. } => {}
        }
        func.blocks.push(block);
    }
    true
}

#[derive(Clone, Copy)]
enum Def {
    None,
    Param { block: usize, index: usize },
    Inst { block: usize, inst: usize },
}

fn remove_dead_values(func: &mut Function) -> bool {
    let value_count = func.value_types.len();
    let mut defs = vec![Def::None; value_count];
    for (b, block) in func.blocks.iter().enumerate() {
        for (index, p) in block.params.iter().enumerate() {
            if let Some(d) = defs.get_mut(p.0 as usize) {
                *d = Def::Param { block: b, index };
            }
        }
        for (i, inst) in block.insts.iter().enumerate() {
            for r in &inst.results {
                if let Some(d) = defs.get_mut(r.0 as usize) {
                    *d = Def::Inst { block: b, inst: i };
                }
            }
        }
    }
    let preds = func.predecessors();
    // Parameters can only be dropped where every incoming edge is a `Jump` that we can edit.
    let params_removable: Vec<bool> = (0..func.blocks.len())
        .map(|b| {
            b != 0
                && preds[b].iter().all(|p| {
                    matches!(&func.blocks[p.0 as usize].term,
                        Terminator::Jump { target, args }
                            if target.0 as usize == b && args.len() == func.blocks[b].params.len())
                })
        })
        .collect();

    let mut live = vec![false; value_count];
    let mut work: Vec<Value> = Vec::new();
    let mark = |v: Value, live: &mut Vec<bool>, work: &mut Vec<Value>| {
        if let Some(slot) = live.get_mut(v.0 as usize)
            && !*slot
        {
            *slot = true;
            work.push(v);
        }
    };
    for (b, block) in func.blocks.iter().enumerate() {
        for inst in &block.insts {
            if has_effects(&inst.op) {
                for a in &inst.args {
                    mark(*a, &mut live, &mut work);
                }
            }
        }
        match &block.term {
            Terminator::Jump { target, args } => {
                if !params_removable
                    .get(target.0 as usize)
                    .copied()
                    .unwrap_or(false)
                {
                    for a in args {
                        mark(*a, &mut live, &mut work);
                    }
                }
            }
            other => {
                for &v in other.use_slice() {
                    mark(v, &mut live, &mut work);
                }
            }
        }
        if !params_removable[b] {
            for p in &block.params {
                mark(*p, &mut live, &mut work);
            }
        }
    }
    while let Some(v) = work.pop() {
        match defs.get(v.0 as usize).copied().unwrap_or(Def::None) {
            Def::None => {}
            Def::Inst { block, inst } => {
                for &a in &func.blocks[block].insts[inst].args {
                    mark(a, &mut live, &mut work);
                }
            }
            Def::Param { block, index } => {
                if params_removable[block] {
                    for p in &preds[block] {
                        if let Terminator::Jump { args, .. } = &func.blocks[p.0 as usize].term
                            && let Some(a) = args.get(index)
                        {
                            mark(*a, &mut live, &mut work);
                        }
                    }
                }
            }
        }
    }

    let is_live = |v: &Value| live.get(v.0 as usize).copied().unwrap_or(true);
    let mut changed = false;
    for block in &mut func.blocks {
        let before = block.insts.len();
        block
            .insts
            .retain(|inst| has_effects(&inst.op) || inst.results.iter().any(is_live));
        changed |= block.insts.len() != before;
    }
    for b in 0..func.blocks.len() {
        if !params_removable[b] {
            continue;
        }
        let dead: Vec<bool> = func.blocks[b].params.iter().map(|p| !is_live(p)).collect();
        if !dead.contains(&true) {
            continue;
        }
        // One pass over each list, keeping parameter i and argument i together.
        let keep = |list: &mut Vec<Value>| {
            let mut index = 0;
            list.retain(|_| {
                index += 1;
                !dead.get(index - 1).copied().unwrap_or(false)
            });
        };
        keep(&mut func.blocks[b].params);
        for p in &preds[b] {
            if let Terminator::Jump { args, .. } = &mut func.blocks[p.0 as usize].term {
                keep(args);
            }
        }
        changed = true;
    }
    changed
}

//! Copy propagation: every `Copy` disappears (its uses read the source), and a block parameter
//! that receives the same value on every incoming edge (ignoring edges that pass the parameter
//! back to itself) becomes that value. The frontend relies on the second part to turn Braun-style
//! SSA construction into minimal SSA.

use crate::ir::{Block, Function, Op, Terminator, Value};

/// Returns whether a copy or a parameter was removed (uses change only then).
pub fn run(func: &mut Function) -> bool {
    let mut replacement: Vec<Option<Value>> = vec![None; func.value_types.len()];
    let mut changed = remove_copies(func, &mut replacement);
    // Removing parameters edits no edge, so the predecessors hold for every sweep.
    let preds = func.predecessors();
    while remove_trivial_params(func, &preds, &mut replacement) {
        changed = true;
    }
    rewrite_uses(func, &mut replacement);
    changed
}

/// Follow the replacement chain of `v` to its end, shortening the chain on the way back.
fn resolve(replacement: &mut [Option<Value>], v: Value) -> Value {
    let mut root = v;
    // Chains only point to values that are still defined, so they end; the bound is a guard.
    for _ in 0..replacement.len() {
        match replacement.get(root.0 as usize).copied().flatten() {
            Some(next) if next != root => root = next,
            _ => break,
        }
    }
    let mut cur = v;
    while cur != root {
        let Some(slot) = replacement.get_mut(cur.0 as usize) else {
            break;
        };
        let next = slot.unwrap_or(root);
        *slot = Some(root);
        cur = next;
    }
    root
}

fn remove_copies(func: &mut Function, replacement: &mut [Option<Value>]) -> bool {
    let mut removed = false;
    for block in &mut func.blocks {
        let before = block.insts.len();
        block.insts.retain(|inst| {
            if let (Op::Copy, [src], [dst]) = (&inst.op, &inst.args[..], &inst.results[..])
                && let Some(slot) = replacement.get_mut(dst.0 as usize)
                && src != dst
            {
                *slot = Some(*src);
                return false;
            }
            true
        });
        removed |= block.insts.len() != before;
    }
    removed
}

/// One sweep over all blocks; returns whether a parameter was removed.
fn remove_trivial_params(
    func: &mut Function,
    preds: &[Vec<Block>],
    replacement: &mut [Option<Value>],
) -> bool {
    let mut changed = false;
    for (b, block_preds) in preds.iter().enumerate().skip(1) {
        if block_preds.is_empty() || func.blocks[b].params.is_empty() {
            continue;
        }
        // Parameters are only passed by `Jump`; anything else is left alone.
        let all_jumps = block_preds.iter().all(|p| {
            matches!(&func.blocks[p.0 as usize].term,
                Terminator::Jump { target, args }
                    if target.0 as usize == b && args.len() == func.blocks[b].params.len())
        });
        if !all_jumps {
            continue;
        }
        // Decide for every parameter first, then rebuild the lists once (no quadratic removes).
        let mut removed = vec![false; func.blocks[b].params.len()];
        for (i, gone) in removed.iter_mut().enumerate() {
            let param = func.blocks[b].params[i];
            let mut unique: Option<Value> = None;
            let mut trivial = true;
            for p in block_preds {
                let Terminator::Jump { args, .. } = &func.blocks[p.0 as usize].term else {
                    continue;
                };
                let arg = resolve(replacement, args[i]);
                if arg == param || unique == Some(arg) {
                    continue;
                }
                if unique.is_some() {
                    trivial = false;
                    break;
                }
                unique = Some(arg);
            }
            let (true, Some(value)) = (trivial, unique) else {
                continue;
            };
            if let Some(slot) = replacement.get_mut(param.0 as usize) {
                *slot = Some(value);
            }
            *gone = true;
        }
        if !removed.contains(&true) {
            continue;
        }
        let keep = |list: &mut Vec<Value>| {
            let mut index = 0;
            list.retain(|_| {
                index += 1;
                !removed[index - 1]
            });
        };
        keep(&mut func.blocks[b].params);
        for p in block_preds {
            if let Terminator::Jump { args, .. } = &mut func.blocks[p.0 as usize].term {
                keep(args);
            }
        }
        changed = true;
    }
    changed
}

fn rewrite_uses(func: &mut Function, replacement: &mut [Option<Value>]) {
    if replacement.iter().all(Option::is_none) {
        return;
    }
    for block in &mut func.blocks {
        for inst in &mut block.insts {
            for arg in &mut inst.args {
                *arg = resolve(replacement, *arg);
            }
        }
        match &mut block.term {
            Terminator::Jump { args, .. } => {
                for arg in args {
                    *arg = resolve(replacement, *arg);
                }
            }
            Terminator::Branch { cond, .. } => *cond = resolve(replacement, *cond),
            Terminator::Switch { index, .. } => *index = resolve(replacement, *index),
            Terminator::Return { values } => {
                for v in values {
                    *v = resolve(replacement, *v);
                }
            }
            Terminator::Trap { .. } => {}
        }
    }
}

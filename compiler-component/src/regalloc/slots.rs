//! Stack slots by whole-function liveness. Only edits touch slots, so slot liveness is a
//! backward dataflow over the edits alone: a store to a slot that no path reads before the next
//! store is deleted, and two slots never live at the same time share one (greedy colouring of
//! the interference graph, built at every store from the slots live after it).

use super::liveness::BitSet;
use super::{Edit, Location, MachFunction, ProgPoint, SpillSlot};

/// Above this many interference pairs slots are not shared (each keeps its own number); this
/// bounds time and memory on functions with thousands of spilled values live at once.
pub(crate) const MAX_INTERFERENCE_PAIRS: usize = 4_000_000;

/// Above this many bits of per-block liveness sets, dead stores are kept and slots are not
/// shared (memory bound for huge functions).
const MAX_LIVENESS_BITS: usize = 1 << 28;

/// Deletes dead stores and renumbers slots densely, sharing where live ranges allow. Returns
/// the new edits and the number of slots.
pub(crate) fn pack(
    func: &dyn MachFunction,
    edits: Vec<(ProgPoint, Edit)>,
    num_virtual_slots: usize,
) -> (Vec<(ProgPoint, Edit)>, u32) {
    // Dense ids for the slots that occur, in order of first appearance.
    let mut dense: Vec<Option<u32>> = vec![None; num_virtual_slots];
    let mut num_used = 0u32;
    let mut edits = edits;
    for (_, edit) in edits.iter_mut() {
        for loc in [&mut edit.from, &mut edit.to] {
            if let Location::Stack(s) = loc
                && let Some(id) = dense.get_mut(s.0 as usize)
            {
                let id = *id.get_or_insert_with(|| {
                    num_used += 1;
                    num_used - 1
                });
                *s = SpillSlot(id);
            }
        }
    }
    let num_used_slots = num_used as usize;
    if num_used_slots == 0 {
        return (edits, 0);
    }
    let num_blocks = func.num_blocks();
    if num_blocks.saturating_mul(num_used_slots) > MAX_LIVENESS_BITS {
        return (edits, num_used);
    }

    // Edits of each block: a contiguous run of the sorted list.
    let block_edits: Vec<std::ops::Range<usize>> = (0..num_blocks)
        .map(|b| {
            let insts = func.block_insts(b);
            let start = edits.partition_point(|(p, _)| (p.inst as usize) < insts.start);
            let end = edits.partition_point(|(p, _)| (p.inst as usize) < insts.end);
            start..end
        })
        .collect();

    let mut upward = Vec::with_capacity(num_blocks);
    let mut written = Vec::with_capacity(num_blocks);
    for range in &block_edits {
        let mut gen_set = BitSet::new(num_used_slots);
        let mut kill = BitSet::new(num_used_slots);
        for (_, edit) in edits.get(range.clone()).unwrap_or(&[]).iter().rev() {
            if let Location::Stack(s) = edit.to {
                gen_set.remove(s.0 as usize);
                kill.insert(s.0 as usize);
            }
            if let Location::Stack(s) = edit.from {
                gen_set.insert(s.0 as usize);
            }
        }
        upward.push(gen_set);
        written.push(kill);
    }
    let mut live_in = upward.clone();
    let mut live_out = vec![BitSet::new(num_used_slots); num_blocks];
    // One scratch set for every block and round: no allocation inside the fixed point.
    let mut out = BitSet::new(num_used_slots);
    let mut changed = true;
    while changed {
        changed = false;
        for b in (0..num_blocks).rev() {
            out.clear();
            for &s in func.block_succs(b) {
                if let Some(l) = live_in.get(s) {
                    out.union_with(l);
                }
            }
            changed |= live_out[b].assign(&out);
            changed |= live_in[b].set_transfer(&out, &written[b], &upward[b]);
        }
    }

    // Backward walk: dead stores, and interference at every live store.
    let mut dead = vec![false; edits.len()];
    let mut neighbours: Vec<Vec<u32>> = vec![Vec::new(); num_used_slots];
    let mut pairs = 0usize;
    for b in 0..num_blocks {
        let mut live = live_out[b].clone();
        for index in block_edits[b].clone().rev() {
            let Some((_, edit)) = edits.get(index) else {
                continue;
            };
            if let Location::Stack(s) = edit.to {
                let s = s.0 as usize;
                if !live.contains(s) {
                    dead[index] = true;
                    continue;
                }
                live.remove(s);
                if pairs <= MAX_INTERFERENCE_PAIRS {
                    for t in live.iter() {
                        neighbours[s].push(t as u32);
                        neighbours[t].push(s as u32);
                        pairs += 1;
                    }
                }
            }
            if let Location::Stack(s) = edit.from {
                live.insert(s.0 as usize);
            }
        }
    }
    let mut kept: Vec<(ProgPoint, Edit)> = edits
        .into_iter()
        .zip(dead)
        .filter(|(_, dead)| !dead)
        .map(|(edit, _)| edit)
        .collect();
    if pairs > MAX_INTERFERENCE_PAIRS {
        return (kept, num_used);
    }

    let mut colour: Vec<u32> = vec![u32::MAX; num_used_slots];
    let mut num_colours = 0u32;
    let mut taken: Vec<u32> = Vec::new();
    for s in 0..num_used_slots {
        taken.clear();
        taken.extend(
            neighbours[s]
                .iter()
                .filter_map(|&n| colour.get(n as usize).copied())
                .filter(|&c| c != u32::MAX),
        );
        taken.sort_unstable();
        taken.dedup();
        let c = taken
            .iter()
            .enumerate()
            .find(|(index, used)| **used != *index as u32)
            .map_or(taken.len() as u32, |(index, _)| index as u32);
        colour[s] = c;
        num_colours = num_colours.max(c + 1);
    }
    for (_, edit) in kept.iter_mut() {
        for loc in [&mut edit.from, &mut edit.to] {
            if let Location::Stack(s) = loc
                && let Some(&c) = colour.get(s.0 as usize)
            {
                *s = SpillSlot(c);
            }
        }
    }
    // Two slots merged into one can turn a slot-to-slot move into a no-op.
    kept.retain(|(_, edit)| edit.from != edit.to);
    (kept, num_colours)
}

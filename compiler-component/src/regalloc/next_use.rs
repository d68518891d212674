//! Next-use distances over the whole CFG (Braun & Hack, CC 2009): how many instructions ahead a
//! value is read next, where taking an edge that leaves a loop counts as very far. The spiller
//! evicts the value used furthest away and fills loop headers with the values the loop reads.

use super::MachFunction;
use super::liveness::{self, Liveness};

/// A value never read again (or only after leaving every loop many times over).
pub(crate) const NEVER: u64 = u64::MAX / 4;

/// Added to a distance when an edge leaves a loop: values used only after the loop are the
/// first to go while it runs.
pub(crate) const LOOP_EXIT_PENALTY: u64 = 1 << 24;

pub(crate) struct NextUse {
    /// Per block, (vreg, distance from the block's end) for every vreg live out, sorted by vreg.
    dist_out: Vec<Vec<(u32, u64)>>,
    /// Per block, (vreg, distance from the block's start) for live-ins and parameters.
    dist_in: Vec<Vec<(u32, u64)>>,
    /// Blocks that are targets of a back edge (a predecessor at or after them in layout).
    is_loop_header: Vec<bool>,
    /// Blocks inside some natural loop.
    in_loop: Vec<bool>,
}

fn lookup(list: &[(u32, u64)], v: u32) -> u64 {
    list.binary_search_by_key(&v, |(x, _)| *x)
        .map_or(NEVER, |i| list.get(i).map_or(NEVER, |(_, d)| *d))
}

/// Lookups in a list sorted by vreg for ascending vregs: a merge walk instead of a binary
/// search per lookup.
struct Cursor<'a> {
    list: &'a [(u32, u64)],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(list: &'a [(u32, u64)]) -> Self {
        Cursor { list, at: 0 }
    }

    /// The distance of `v` (NEVER if absent); `v` must not be below the previous query.
    fn get(&mut self, v: u32) -> u64 {
        while let Some(&(w, d)) = self.list.get(self.at) {
            if w >= v {
                return if w == v { d } else { NEVER };
            }
            self.at += 1;
        }
        NEVER
    }
}

impl NextUse {
    pub(crate) fn compute(func: &dyn MachFunction, live: &Liveness) -> NextUse {
        let num_blocks = func.num_blocks();
        let loops = loop_membership(func);
        let is_loop_header = (0..num_blocks)
            .map(|b| func.block_preds(b).iter().any(|&p| p >= b))
            .collect();
        let in_loop = loops.iter().map(|l| !l.is_empty()).collect();

        // Local facts: the first read of each upward-exposed vreg (from the block start), and
        // the block length.
        let mut first_use: Vec<Vec<(u32, u64)>> = Vec::with_capacity(num_blocks);
        let mut len = Vec::with_capacity(num_blocks);
        let mut seen = liveness::BitSet::new(func.num_vregs());
        for b in 0..num_blocks {
            let range = func.block_insts(b);
            let mut found: Vec<(u32, u64)> = Vec::new();
            seen.clear();
            for (offset, inst) in range.clone().enumerate() {
                for v in liveness::inst_uses(func, inst) {
                    if seen.insert(v.0 as usize) {
                        found.push((v.0, offset as u64));
                    }
                }
                for v in liveness::inst_defs(func, inst) {
                    seen.insert(v.0 as usize);
                }
            }
            // Parameters read in the block are "first used" there too.
            found.sort_unstable();
            first_use.push(found);
            len.push(range.len() as u64);
        }

        let mut dist_in: Vec<Vec<(u32, u64)>> = (0..num_blocks)
            .map(|b| {
                let mut list: Vec<(u32, u64)> = live.live_in[b]
                    .iter()
                    .map(|v| (v as u32, NEVER))
                    .chain(func.block_params(b).iter().map(|p| (p.0, NEVER)))
                    .collect();
                list.sort_unstable();
                list.dedup_by_key(|(v, _)| *v);
                list
            })
            .collect();
        let mut dist_out: Vec<Vec<(u32, u64)>> = (0..num_blocks)
            .map(|b| live.live_out[b].iter().map(|v| (v as u32, NEVER)).collect())
            .collect();

        // Distances only shrink, and every cycle adds a positive length: this is Bellman-Ford
        // and settles within one round per block; the bound keeps bad input cheap.
        // A block whose successors' entry distances did not change since it was last visited
        // would change nothing: it is skipped (the same updates happen, in the same order).
        let mut dirty = vec![true; num_blocks];
        for _ in 0..num_blocks.saturating_add(1) {
            let mut changed = false;
            for b in (0..num_blocks).rev() {
                if !std::mem::replace(&mut dirty[b], false) {
                    continue;
                }
                let mut out = std::mem::take(&mut dist_out[b]);
                // Every list is sorted by vreg, so each successor's is walked once alongside.
                for &s in func.block_succs(b) {
                    let penalty = if leaves_loop(&loops, b, s) {
                        LOOP_EXIT_PENALTY
                    } else {
                        0
                    };
                    let mut succ_in = Cursor::new(&dist_in[s]);
                    for (v, d) in out.iter_mut() {
                        let through = succ_in.get(*v);
                        if through >= NEVER {
                            continue;
                        }
                        let best = through.saturating_add(penalty).saturating_add(1);
                        if best < *d {
                            *d = best;
                            changed = true;
                        }
                    }
                }
                let block_len = len[b];
                let (mut local_first, mut after) = (Cursor::new(&first_use[b]), Cursor::new(&out));
                let mut entry_changed = false;
                for (v, d) in dist_in[b].iter_mut() {
                    let local = local_first.get(*v);
                    let through = after.get(*v).saturating_add(block_len);
                    let best = local.min(through).min(NEVER);
                    if best < *d {
                        *d = best;
                        entry_changed = true;
                    }
                }
                if entry_changed {
                    changed = true;
                    for &p in func.block_preds(b) {
                        if let Some(flag) = dirty.get_mut(p) {
                            *flag = true;
                        }
                    }
                }
                dist_out[b] = out;
            }
            if !changed {
                break;
            }
        }
        NextUse {
            dist_out,
            dist_in,
            is_loop_header,
            in_loop,
        }
    }

    /// Distance from the end of block `b` to the next read of `v` (NEVER if not live out).
    pub(crate) fn after_block_end(&self, b: usize, v: u32) -> u64 {
        self.dist_out.get(b).map_or(NEVER, |list| lookup(list, v))
    }

    /// Distance from the start of block `b` to the next read of live-in or parameter `v`.
    pub(crate) fn after_block_start(&self, b: usize, v: u32) -> u64 {
        self.dist_in.get(b).map_or(NEVER, |list| lookup(list, v))
    }

    pub(crate) fn is_loop_header(&self, b: usize) -> bool {
        self.is_loop_header.get(b).copied().unwrap_or(false)
    }

    pub(crate) fn in_loop(&self, b: usize) -> bool {
        self.in_loop.get(b).copied().unwrap_or(false)
    }
}

/// For each block, the (sorted) natural loops containing it, one id per back edge target.
fn loop_membership(func: &dyn MachFunction) -> Vec<Vec<u32>> {
    let num_blocks = func.num_blocks();
    let mut member: Vec<Vec<u32>> = vec![Vec::new(); num_blocks];
    let mut visited_in: Vec<u32> = vec![u32::MAX; num_blocks];
    for header in 0..num_blocks {
        let latches: Vec<usize> = func
            .block_preds(header)
            .iter()
            .copied()
            .filter(|&p| p >= header)
            .collect();
        if latches.is_empty() {
            continue;
        }
        let id = header as u32;
        // The natural loop: the header plus everything reaching a latch without passing it.
        visited_in[header] = id;
        member[header].push(id);
        let mut stack = latches;
        while let Some(b) = stack.pop() {
            if visited_in[b] == id {
                continue;
            }
            visited_in[b] = id;
            member[b].push(id);
            stack.extend(func.block_preds(b).iter().copied());
        }
    }
    for list in &mut member {
        list.sort_unstable();
    }
    member
}

/// Does the edge `from -> to` leave a loop that `from` belongs to?
fn leaves_loop(loops: &[Vec<u32>], from: usize, to: usize) -> bool {
    let (Some(inner), Some(outer)) = (loops.get(from), loops.get(to)) else {
        return false;
    };
    inner.iter().any(|l| outer.binary_search(l).is_err())
}

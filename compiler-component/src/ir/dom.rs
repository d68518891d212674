//! Dominators of a function's reachable blocks (Cooper, Harvey and Kennedy, "A Simple, Fast
//! Dominance Algorithm"), the dominator tree's children, and natural loops. Shared by the
//! verifier and the optimizations that move or merge instructions.

use super::{Block, Function};

pub struct Dominators {
    /// Immediate dominator of each reachable block (the entry is its own); `None` if
    /// unreachable.
    idom: Vec<Option<usize>>,
    /// Reverse post-order number of each reachable block.
    rpo_number: Vec<Option<usize>>,
    /// Reachable blocks in reverse post-order.
    rpo: Vec<Block>,
    /// Predecessors of every block, kept for `loops` and for passes that change no edge.
    preds: Vec<Vec<Block>>,
}

impl Dominators {
    /// The caller guarantees every successor names an existing block (`verify` checks it).
    pub fn compute(func: &Function) -> Dominators {
        let count = func.blocks.len();
        let rpo = func.reverse_postorder();
        let mut rpo_number = vec![None; count];
        for (n, b) in rpo.iter().enumerate() {
            rpo_number[b.0 as usize] = Some(n);
        }
        let preds = func.predecessors();
        let mut idom: Vec<Option<usize>> = vec![None; count];
        if count == 0 {
            return Dominators {
                idom,
                rpo_number,
                rpo,
                preds,
            };
        }
        idom[0] = Some(0);
        let intersect = |idom: &[Option<usize>], mut a: usize, mut b: usize| {
            let number = |x: usize| rpo_number[x].unwrap_or(0);
            while a != b {
                while number(a) > number(b) {
                    a = idom[a].unwrap_or(0);
                }
                while number(b) > number(a) {
                    b = idom[b].unwrap_or(0);
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for b in rpo.iter().skip(1).map(|b| b.0 as usize) {
                let mut new_idom: Option<usize> = None;
                for p in &preds[b] {
                    let p = p.0 as usize;
                    if idom[p].is_none() {
                        continue;
                    }
                    new_idom = Some(match new_idom {
                        None => p,
                        Some(current) => intersect(&idom, p, current),
                    });
                }
                if new_idom.is_some() && idom[b] != new_idom {
                    idom[b] = new_idom;
                    changed = true;
                }
            }
        }
        Dominators {
            idom,
            rpo_number,
            rpo,
            preds,
        }
    }

    /// Predecessors of each block when the dominators were computed (valid while no edge
    /// changes).
    pub fn preds(&self) -> &[Vec<Block>] {
        &self.preds
    }

    /// The immediate dominator of reachable block `b` (the entry's is itself).
    pub fn idom(&self, b: usize) -> Option<usize> {
        self.idom.get(b).copied().flatten()
    }

    pub fn is_reachable(&self, b: usize) -> bool {
        self.rpo_number.get(b).is_some_and(|n| n.is_some())
    }

    /// Reachable blocks in reverse post-order.
    pub fn rpo(&self) -> &[Block] {
        &self.rpo
    }

    /// Does block `a` dominate block `b` (both reachable)?
    pub fn dominates(&self, a: usize, mut b: usize) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.idom.get(b).copied().flatten() {
                Some(parent) if parent != b => b = parent,
                _ => return false,
            }
        }
    }

    /// Children of each block in the dominator tree, in reverse post-order.
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.idom.len()];
        for b in self.rpo.iter().skip(1).map(|b| b.0 as usize) {
            if let Some(parent) = self.idom[b] {
                children[parent].push(b);
            }
        }
        children
    }

    /// Natural loops, innermost first: each header (a block that a back edge enters: an edge
    /// from a block it dominates) with every block of its body, the header included. Headers
    /// later in reverse post-order are inside the loops of earlier ones, so a reverse walk
    /// meets inner loops before the loops around them.
    pub fn loops(&self, func: &Function) -> Vec<Loop> {
        let preds = &self.preds;
        let mut loops = Vec::new();
        for header in self.rpo.iter().rev().map(|b| b.0 as usize) {
            let latches: Vec<usize> = preds[header]
                .iter()
                .map(|p| p.0 as usize)
                .filter(|&p| self.is_reachable(p) && self.dominates(header, p))
                .collect();
            if latches.is_empty() {
                continue;
            }
            let mut in_body = vec![false; func.blocks.len()];
            in_body[header] = true;
            let mut work = latches;
            while let Some(b) = work.pop() {
                if in_body[b] {
                    continue;
                }
                in_body[b] = true;
                work.extend(
                    preds[b]
                        .iter()
                        .map(|p| p.0 as usize)
                        .filter(|&p| self.is_reachable(p)),
                );
            }
            loops.push(Loop { header, in_body });
        }
        loops
    }
}

pub struct Loop {
    pub header: usize,
    /// Indexed by block: is it part of the loop?
    pub in_body: Vec<bool>,
}

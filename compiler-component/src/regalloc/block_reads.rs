//! The reads still ahead in the block being allocated, per vreg: what both allocators consult
//! for "is this value needed later in the block" and "when is it read next".
//!
//! One flat, sorted table refilled per block (no per-vreg allocations), because the allocators
//! query it at every operand.

use super::liveness;
use super::{MachFunction, VReg};

#[derive(Default)]
pub(crate) struct BlockReads {
    /// (vreg, instruction) of every read in the block, sorted.
    reads: Vec<(VReg, usize)>,
    /// Per vreg with reads: (vreg, first read not yet consumed, end of its reads in `reads`).
    cursors: Vec<(VReg, usize, usize)>,
}

impl BlockReads {
    /// Starts a block: records every read of its instructions.
    pub(crate) fn fill(&mut self, func: &dyn MachFunction, block: usize) {
        self.reads.clear();
        self.cursors.clear();
        for inst in func.block_insts(block) {
            self.reads
                .extend(liveness::inst_uses(func, inst).map(|v| (v, inst)));
        }
        self.reads.sort_unstable();
        self.reads.dedup();
        let mut start = 0;
        while let Some(&(v, _)) = self.reads.get(start) {
            let end = start + self.reads[start..].partition_point(|&(w, _)| w == v);
            self.cursors.push((v, start, end));
            start = end;
        }
    }

    fn cursor(&self, v: VReg) -> Option<usize> {
        self.cursors.binary_search_by_key(&v, |&(w, _, _)| w).ok()
    }

    /// The instructions that still read `v`, in order.
    pub(crate) fn ahead(&self, v: VReg) -> &[(VReg, usize)] {
        match self.cursor(v).and_then(|c| self.cursors.get(c)) {
            Some(&(_, next, end)) => self.reads.get(next..end).unwrap_or(&[]),
            None => &[],
        }
    }

    /// The next instruction that reads `v`.
    pub(crate) fn next(&self, v: VReg) -> Option<usize> {
        self.ahead(v).first().map(|&(_, inst)| inst)
    }

    /// The first read of `v` after instruction `inst`.
    pub(crate) fn next_after(&self, v: VReg, inst: usize) -> Option<usize> {
        self.ahead(v)
            .iter()
            .map(|&(_, at)| at)
            .find(|&at| at > inst)
    }

    /// Is `v` still read in this block?
    pub(crate) fn is_read_ahead(&self, v: VReg) -> bool {
        !self.ahead(v).is_empty()
    }

    /// The reads of `v` up to and including instruction `inst` have happened.
    pub(crate) fn consume_through(&mut self, v: VReg, inst: usize) {
        let Some(c) = self.cursor(v) else { return };
        let consumed = self.ahead(v).partition_point(|&(_, at)| at <= inst);
        if let Some(cursor) = self.cursors.get_mut(c) {
            cursor.1 += consumed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Builder;
    use super::super::{Operand, VReg};
    use super::BlockReads;

    #[test]
    fn reads_are_consumed_in_order_and_duplicates_count_once() {
        let (a, b) = (VReg(0), VReg(1));
        let mut builder = Builder::new();
        builder.block(&[]);
        builder.inst(&[Operand::def_reg(a), Operand::def_reg(b)]);
        builder.inst(&[Operand::use_reg(a), Operand::use_reg(a)]);
        builder.inst(&[Operand::use_reg(b)]);
        builder.ret(&[Operand::use_reg(a)]);
        let func = builder.finish();
        let mut reads = BlockReads::default();
        reads.fill(&func, 0);
        assert_eq!(reads.next(a), Some(1));
        assert_eq!(reads.next_after(a, 1), Some(3));
        assert_eq!(reads.ahead(a).len(), 2);
        reads.consume_through(a, 1);
        assert_eq!(reads.next(a), Some(3));
        assert!(reads.is_read_ahead(b));
        reads.consume_through(b, 2);
        assert!(!reads.is_read_ahead(b));
        assert_eq!(reads.next(b), None);
        assert_eq!(reads.next(VReg(7)), None);
    }
}

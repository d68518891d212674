//! Tests of the baseline allocator and the checker over a mock `MachFunction`.

mod cases;
mod random;

use std::ops::Range;

use super::{
    Allocation, Edit, EditKind, Location, MachFunction, Operand, OperandKind, PReg, PRegSet,
    ProgPoint, RegEnv, SpillSlot, Stats, VReg,
};

pub(super) fn r(n: u8) -> PReg {
    PReg(n)
}

pub(super) fn v(n: u32) -> VReg {
    VReg(n)
}

pub(super) fn regs(list: &[u8]) -> PRegSet {
    PRegSet::of(&list.iter().map(|&n| PReg(n)).collect::<Vec<_>>())
}

pub(super) fn early_fixed(vreg: VReg, preg: PReg) -> Operand {
    Operand {
        vreg,
        kind: OperandKind::EarlyDef,
        constraint: super::Constraint::Fixed(preg),
    }
}

/// A register file shaped like Thumb-2's: r0-r3 argument/result registers, r4-r11 callee-saved,
/// r12 the allocator's scratch; `allocatable` picks which of them the allocator may use.
pub(super) fn env_with(allocatable: &[u8]) -> RegEnv {
    RegEnv {
        allocatable: allocatable.iter().map(|&n| PReg(n)).collect(),
        classes: Vec::new(),
        callee_saved: regs(&[4, 5, 6, 7, 8, 9, 10, 11]),
        scratch: PReg(12),
        callee_saved_cost: 0,
    }
}

/// What a call clobbers in the mock ABI (the scratch register r12 included, as on ARM).
pub(super) fn call_clobbers() -> PRegSet {
    regs(&[0, 1, 2, 3, 12, 14])
}

#[derive(Clone, Debug, Default)]
pub(super) struct MockInst {
    pub(super) ops: Vec<Operand>,
    pub(super) clobbers: PRegSet,
    pub(super) jump_args: Vec<VReg>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct MockBlock {
    pub(super) range: Range<usize>,
    pub(super) succs: Vec<usize>,
    pub(super) preds: Vec<usize>,
    pub(super) params: Vec<VReg>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct MockFunc {
    pub(super) num_vregs: usize,
    pub(super) blocks: Vec<MockBlock>,
    pub(super) insts: Vec<MockInst>,
    /// Vregs that hold constants (single-def, operand-less definitions) the allocator may
    /// rematerialize; the simulator gives each the same value wherever it appears.
    pub(super) constants: std::collections::BTreeSet<VReg>,
    /// Register class of each vreg (empty: every vreg is of class 0).
    pub(super) classes: Vec<usize>,
}

impl MachFunction for MockFunc {
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn num_blocks(&self) -> usize {
        self.blocks.len()
    }
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn block_insts(&self, b: usize) -> Range<usize> {
        self.blocks[b].range.clone()
    }
    fn block_succs(&self, b: usize) -> &[usize] {
        &self.blocks[b].succs
    }
    fn block_preds(&self, b: usize) -> &[usize] {
        &self.blocks[b].preds
    }
    fn block_params(&self, b: usize) -> &[VReg] {
        &self.blocks[b].params
    }
    fn operands(&self, inst: usize) -> &[Operand] {
        &self.insts[inst].ops
    }
    fn clobbers(&self, inst: usize) -> PRegSet {
        self.insts[inst].clobbers
    }
    fn jump_args(&self, inst: usize) -> &[VReg] {
        &self.insts[inst].jump_args
    }
    fn is_move(&self, _inst: usize) -> Option<(VReg, VReg)> {
        None
    }
    fn can_remat(&self, vreg: VReg) -> bool {
        self.constants.contains(&vreg)
    }
    fn vreg_class(&self, vreg: VReg) -> usize {
        self.classes.get(vreg.0 as usize).copied().unwrap_or(0)
    }
}

/// Builds a `MockFunc` block by block; every block must end with one of the terminator calls.
#[derive(Default)]
pub(super) struct Builder {
    func: MockFunc,
    open: Option<usize>,
}

impl Builder {
    pub(super) fn new() -> Builder {
        Builder::default()
    }

    pub(super) fn block(&mut self, params: &[VReg]) -> &mut Self {
        assert!(self.open.is_none(), "previous block not terminated");
        let start = self.func.insts.len();
        self.func.blocks.push(MockBlock {
            range: start..start,
            params: params.to_vec(),
            ..MockBlock::default()
        });
        self.open = Some(self.func.blocks.len() - 1);
        self
    }

    pub(super) fn inst(&mut self, ops: &[Operand]) -> &mut Self {
        self.inst_clobbering(ops, PRegSet::EMPTY)
    }

    pub(super) fn inst_clobbering(&mut self, ops: &[Operand], clobbers: PRegSet) -> &mut Self {
        assert!(self.open.is_some(), "no open block");
        self.func.insts.push(MockInst {
            ops: ops.to_vec(),
            clobbers,
            jump_args: Vec::new(),
        });
        self
    }

    fn terminate(&mut self, inst: MockInst, succs: &[usize]) -> &mut Self {
        let b = self.open.take().expect("no open block");
        self.func.insts.push(inst);
        let block = &mut self.func.blocks[b];
        block.range.end = self.func.insts.len();
        block.succs = succs.to_vec();
        self
    }

    pub(super) fn jump(&mut self, target: usize, args: &[VReg]) -> &mut Self {
        let inst = MockInst {
            jump_args: args.to_vec(),
            ..MockInst::default()
        };
        self.terminate(inst, &[target])
    }

    pub(super) fn branch(&mut self, cond: VReg, targets: &[usize]) -> &mut Self {
        let inst = MockInst {
            ops: vec![Operand::use_reg(cond)],
            ..MockInst::default()
        };
        self.terminate(inst, targets)
    }

    /// A return whose operands are usually fixed uses of the result registers.
    pub(super) fn ret(&mut self, ops: &[Operand]) -> &mut Self {
        let inst = MockInst {
            ops: ops.to_vec(),
            ..MockInst::default()
        };
        self.terminate(inst, &[])
    }

    pub(super) fn finish(&mut self) -> MockFunc {
        assert!(self.open.is_none(), "last block not terminated");
        let mut func = std::mem::take(&mut self.func);
        let edges: Vec<(usize, usize)> = func
            .blocks
            .iter()
            .enumerate()
            .flat_map(|(b, block)| block.succs.iter().map(move |&s| (b, s)))
            .collect();
        for (b, s) in edges {
            if !func.blocks[s].preds.contains(&b) {
                func.blocks[s].preds.push(b);
            }
        }
        let mut max = 0;
        for inst in &func.insts {
            for op in &inst.ops {
                max = max.max(op.vreg.0 + 1);
            }
            for a in &inst.jump_args {
                max = max.max(a.0 + 1);
            }
        }
        for block in &func.blocks {
            for p in &block.params {
                max = max.max(p.0 + 1);
            }
        }
        func.num_vregs = max as usize;
        func
    }
}

/// An allocation written by hand (for checker tests); statistics follow the edits.
pub(super) fn manual(
    regs: Vec<Vec<PReg>>,
    edits: Vec<(u32, bool, Location, Location)>,
) -> Allocation {
    let mut stats = Stats::default();
    let mut num_slots = 0;
    let edits = edits
        .into_iter()
        .map(|(inst, after, from, to)| {
            let kind = EditKind::of(from, to);
            match kind {
                EditKind::Spill => stats.spills += 1,
                EditKind::Reload => stats.reloads += 1,
                EditKind::Move => stats.moves += 1,
                EditKind::Remat => stats.remats += 1,
            }
            for loc in [from, to] {
                if let Location::Stack(s) = loc {
                    num_slots = num_slots.max(s.0 + 1);
                }
            }
            (ProgPoint { inst, after }, Edit { from, to, kind })
        })
        .collect();
    Allocation {
        regs,
        edits,
        num_slots,
        used_callee_saved: PRegSet::EMPTY,
        stats,
    }
}

pub(super) fn reg(n: u8) -> Location {
    Location::Reg(PReg(n))
}

pub(super) fn slot(n: u32) -> Location {
    Location::Stack(SpillSlot(n))
}

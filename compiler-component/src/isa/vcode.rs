//! The lowered function both ISAs hand to the register allocator and then to their emitter.
//!
//! Lowering feeds machine instructions over vregs, block by block, into a [`VCodeBuilder`];
//! [`VCodeBuilder::finish`] drops constant loads no register reads, derives what the allocator
//! asks for (operands, clobbers, jump arguments, block ranges, successors, predecessors, the
//! rematerialization table) from the instructions through [`MachInst`], and implements
//! [`MachFunction`] once for every ISA.

use crate::error::{CompileError, Result};
use crate::regalloc::{MachFunction, Operand, OperandKind, PRegSet, VReg};
use std::ops::Range;

/// What the shared container needs to know about an ISA's machine instruction.
pub trait MachInst: Clone {
    /// The operands in the allocator's terms (jump arguments are not operands).
    fn operands(&self) -> Vec<Operand>;
    /// Registers the instruction overwrites besides its defs (calls: the caller-saved ones).
    fn clobbers(&self) -> PRegSet;
    fn is_terminator(&self) -> bool;
    /// Machine blocks a terminator may continue at (in any order, repeats allowed).
    fn successors(&self) -> Vec<usize>;
    /// `Some((dst, src))` when the instruction is a plain register copy.
    fn as_move(&self) -> Option<(VReg, VReg)>;
    /// `(def, use)` pairs: the def is best placed in the use's register when that value dies
    /// here (an accumulating instruction then needs no copies).
    fn reuse_hints(&self) -> Vec<(VReg, VReg)> {
        Vec::new()
    }
    /// `Some((rd, value))` when the instruction only loads a constant into a vreg.
    fn as_constant(&self) -> Option<(VReg, u32)>;
    /// Does one instruction recreate this constant (so a spilled copy is never needed)?
    fn is_one_instruction_constant(value: u32) -> bool;
}

/// A lowered function: machine instructions in block order plus the allocator's view of them.
pub struct VCode<I> {
    pub insts: Vec<I>,
    /// Wasm offset of the operator each instruction came from (None: no single operator).
    pub wasm_offsets: Vec<Option<u32>>,
    operands: Vec<Vec<Operand>>,
    clobbers: Vec<PRegSet>,
    jump_args: Vec<Vec<VReg>>,
    block_ranges: Vec<Range<usize>>,
    succs: Vec<Vec<usize>>,
    preds: Vec<Vec<usize>>,
    params: Vec<Vec<VReg>>,
    num_vregs: usize,
    /// Per vreg, the constant it holds when one instruction recreates it (see `can_remat`).
    remat_values: Vec<Option<u32>>,
    /// Register class per vreg (missing entries: class 0, the core registers).
    classes: Vec<u8>,
}

impl<I> VCode<I> {
    /// Instruction range of every machine block, in layout order.
    pub fn block_ranges(&self) -> &[Range<usize>] {
        &self.block_ranges
    }

    /// The constant of a vreg the allocator may rematerialize.
    pub fn remat_value(&self, v: VReg) -> Option<u32> {
        self.remat_values.get(v.0 as usize).copied().flatten()
    }
}

impl<I: MachInst> MachFunction for VCode<I> {
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn num_blocks(&self) -> usize {
        self.block_ranges.len()
    }
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn block_insts(&self, b: usize) -> Range<usize> {
        self.block_ranges.get(b).cloned().unwrap_or(0..0)
    }
    fn block_succs(&self, b: usize) -> &[usize] {
        self.succs.get(b).map_or(&[], |s| s.as_slice())
    }
    fn block_preds(&self, b: usize) -> &[usize] {
        self.preds.get(b).map_or(&[], |s| s.as_slice())
    }
    fn block_params(&self, b: usize) -> &[VReg] {
        self.params.get(b).map_or(&[], |s| s.as_slice())
    }
    fn operands(&self, inst: usize) -> &[Operand] {
        self.operands.get(inst).map_or(&[], |s| s.as_slice())
    }
    fn clobbers(&self, inst: usize) -> PRegSet {
        self.clobbers.get(inst).copied().unwrap_or_default()
    }
    fn jump_args(&self, inst: usize) -> &[VReg] {
        self.jump_args.get(inst).map_or(&[], |s| s.as_slice())
    }
    fn is_move(&self, inst: usize) -> Option<(VReg, VReg)> {
        self.insts.get(inst).and_then(MachInst::as_move)
    }
    fn reuse_hint(&self, inst: usize, def: VReg) -> Option<VReg> {
        let hints = self.insts.get(inst)?.reuse_hints();
        hints.into_iter().find(|(d, _)| *d == def).map(|(_, u)| u)
    }
    fn can_remat(&self, vreg: VReg) -> bool {
        self.remat_value(vreg).is_some()
    }
    fn vreg_class(&self, vreg: VReg) -> usize {
        self.classes
            .get(vreg.0 as usize)
            .map_or(0, |&c| usize::from(c))
    }
}

/// Where one machine block starts in the builder's instruction list, and its edges' values.
struct BlockStart {
    first_inst: usize,
    params: Vec<VReg>,
    /// Arguments the block's terminator passes to its single successor.
    jump_args: Vec<VReg>,
}

/// Collects a function's machine blocks in layout order; `finish` makes the [`VCode`].
pub struct VCodeBuilder<I> {
    insts: Vec<(I, Option<u32>)>,
    blocks: Vec<BlockStart>,
    classes: Vec<u8>,
}

impl<I> Default for VCodeBuilder<I> {
    fn default() -> Self {
        VCodeBuilder {
            insts: Vec::new(),
            blocks: Vec::new(),
            classes: Vec::new(),
        }
    }
}

impl<I: MachInst> VCodeBuilder<I> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Put `vreg` in register class `class` (every vreg starts in class 0).
    pub fn set_class(&mut self, vreg: VReg, class: u8) {
        let index = vreg.0 as usize;
        if class == 0 && index >= self.classes.len() {
            return;
        }
        if index >= self.classes.len() {
            self.classes.resize(index + 1, 0);
        }
        self.classes[index] = class;
    }

    /// Start the next machine block (the entry block has no parameters).
    pub fn begin_block(&mut self, params: Vec<VReg>) {
        self.blocks.push(BlockStart {
            first_inst: self.insts.len(),
            params,
            jump_args: Vec::new(),
        });
    }

    /// Append an instruction to the current block, with the wasm offset it came from.
    pub fn push(&mut self, inst: I, wasm_offset: Option<u32>) {
        self.insts.push((inst, wasm_offset));
    }

    /// Set the arguments the current block's terminator passes to its successor's parameters.
    pub fn set_jump_args(&mut self, args: Vec<VReg>) -> Result<()> {
        let block = self
            .blocks
            .last_mut()
            .ok_or_else(|| CompileError::internal("jump arguments outside a machine block"))?;
        block.jump_args = args;
        Ok(())
    }

    /// The finished function over `num_vregs` vregs. Constant loads whose vreg no instruction
    /// reads from a register (every consumer took the constant as an immediate) are dropped.
    pub fn finish(self, num_vregs: usize) -> Result<VCode<I>> {
        if self.blocks.first().is_none_or(|b| b.first_inst != 0) {
            return Err(CompileError::internal(
                "machine instructions outside a machine block",
            ));
        }
        let lowered: Vec<(I, Option<u32>, Vec<Operand>)> = self
            .insts
            .into_iter()
            .map(|(inst, wasm_offset)| {
                let operands = inst.operands();
                (inst, wasm_offset, operands)
            })
            .collect();
        let mut read = vec![false; num_vregs];
        let used_operands = lowered
            .iter()
            .flat_map(|(_, _, operands)| operands)
            .filter(|op| op.kind == OperandKind::Use)
            .map(|op| op.vreg);
        let jump_args = self.blocks.iter().flat_map(|b| b.jump_args.iter().copied());
        for v in used_operands.chain(jump_args) {
            if let Some(r) = read.get_mut(v.0 as usize) {
                *r = true;
            }
        }
        let is_read = |v: VReg| read.get(v.0 as usize).copied().unwrap_or(true);

        let nblocks = self.blocks.len();
        let mut code = VCode {
            insts: Vec::with_capacity(lowered.len()),
            wasm_offsets: Vec::with_capacity(lowered.len()),
            operands: Vec::with_capacity(lowered.len()),
            clobbers: Vec::with_capacity(lowered.len()),
            jump_args: Vec::with_capacity(lowered.len()),
            block_ranges: Vec::with_capacity(nblocks),
            succs: Vec::with_capacity(nblocks),
            preds: vec![Vec::new(); nblocks],
            params: Vec::with_capacity(nblocks),
            num_vregs,
            remat_values: Vec::new(),
            classes: self.classes,
        };
        // Blocks start in ascending order, so splitting from the back gives each its own.
        let mut rest = lowered;
        let mut block_insts: Vec<Vec<_>> = self
            .blocks
            .iter()
            .rev()
            .map(|b| rest.split_off(b.first_inst.min(rest.len())))
            .collect();
        block_insts.reverse();
        for (b, (block, insts)) in self.blocks.into_iter().zip(block_insts).enumerate() {
            let start = code.insts.len();
            let mut terminators = 0;
            for (inst, wasm_offset, operands) in insts {
                if inst.as_constant().is_some_and(|(rd, _)| !is_read(rd)) {
                    continue;
                }
                let is_terminator = inst.is_terminator();
                terminators += usize::from(is_terminator);
                code.operands.push(operands);
                code.clobbers.push(inst.clobbers());
                code.jump_args.push(if is_terminator {
                    block.jump_args.clone()
                } else {
                    Vec::new()
                });
                code.insts.push(inst);
                code.wasm_offsets.push(wasm_offset);
            }
            let term = code
                .insts
                .get(start..)
                .and_then(<[I]>::last)
                .filter(|i| terminators == 1 && i.is_terminator())
                .ok_or_else(|| {
                    CompileError::internal(format!(
                        "machine block {b} does not end in its only terminator"
                    ))
                })?;
            let mut succs = term.successors();
            succs.sort_unstable();
            succs.dedup();
            for &s in &succs {
                code.preds
                    .get_mut(s)
                    .ok_or_else(|| {
                        CompileError::internal(format!("machine block {b} branches to {s}"))
                    })?
                    .push(b);
            }
            code.succs.push(succs);
            code.block_ranges.push(start..code.insts.len());
            code.params.push(block.params);
        }
        code.remat_values = remat_table(
            num_vregs,
            &code.operands,
            code.insts
                .iter()
                .filter_map(MachInst::as_constant)
                .filter(|&(_, value)| I::is_one_instruction_constant(value)),
        );
        Ok(code)
    }
}

/// Per vreg, the constant `candidates` offers for it, kept only when that load is the vreg's
/// sole definition.
fn remat_table(
    num_vregs: usize,
    operands: &[Vec<Operand>],
    candidates: impl Iterator<Item = (VReg, u32)>,
) -> Vec<Option<u32>> {
    let mut defs = vec![0u32; num_vregs];
    for op in operands.iter().flatten() {
        if op.kind != OperandKind::Use
            && let Some(count) = defs.get_mut(op.vreg.0 as usize)
        {
            *count += 1;
        }
    }
    let mut values = vec![None; num_vregs];
    for (v, value) in candidates {
        if defs.get(v.0 as usize) == Some(&1)
            && let Some(slot) = values.get_mut(v.0 as usize)
        {
            *slot = Some(value);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Just enough of an ISA to build functions with.
    #[derive(Clone)]
    enum Toy {
        Const(VReg, u32),
        Add(VReg, VReg, VReg),
        Jump(usize),
        Branch(VReg, usize, usize),
        Ret(VReg),
    }

    impl MachInst for Toy {
        fn operands(&self) -> Vec<Operand> {
            match *self {
                Toy::Const(d, _) => vec![Operand::def_reg(d)],
                Toy::Add(d, a, b) => vec![
                    Operand::use_reg(a),
                    Operand::use_reg(b),
                    Operand::def_reg(d),
                ],
                Toy::Branch(c, ..) | Toy::Ret(c) => vec![Operand::use_reg(c)],
                Toy::Jump(_) => vec![],
            }
        }
        fn clobbers(&self) -> PRegSet {
            PRegSet::EMPTY
        }
        fn is_terminator(&self) -> bool {
            matches!(self, Toy::Jump(_) | Toy::Branch(..) | Toy::Ret(_))
        }
        fn successors(&self) -> Vec<usize> {
            match *self {
                Toy::Jump(t) => vec![t],
                Toy::Branch(_, t, e) => vec![t, e],
                _ => vec![],
            }
        }
        fn as_move(&self) -> Option<(VReg, VReg)> {
            None
        }
        fn as_constant(&self) -> Option<(VReg, u32)> {
            match *self {
                Toy::Const(d, value) => Some((d, value)),
                _ => None,
            }
        }
        fn is_one_instruction_constant(value: u32) -> bool {
            value < 256
        }
    }

    fn v(n: u32) -> VReg {
        VReg(n)
    }

    #[test]
    fn finish_drops_unread_constants_and_derives_the_allocator_view() {
        let mut b = VCodeBuilder::new();
        b.begin_block(vec![]);
        b.push(Toy::Const(v(0), 7), Some(1)); // read by the branch
        b.push(Toy::Const(v(1), 9), Some(2)); // never read: dropped
        b.push(Toy::Const(v(2), 1000), Some(3)); // read, too big to rematerialize
        b.push(Toy::Branch(v(0), 2, 1), Some(4));
        b.begin_block(vec![]);
        b.push(Toy::Jump(2), None);
        b.set_jump_args(vec![v(2)]).unwrap();
        b.begin_block(vec![v(3)]);
        b.push(Toy::Ret(v(3)), Some(5));
        let code = b.finish(4).unwrap();

        assert_eq!(code.block_ranges(), &[0..3, 3..4, 4..5]);
        assert_eq!(
            code.wasm_offsets,
            vec![Some(1), Some(3), Some(4), None, Some(5)]
        );
        assert_eq!(code.block_succs(0), &[1, 2]);
        assert_eq!(code.block_preds(2), &[0, 1]);
        assert_eq!(code.block_params(2), &[v(3)]);
        assert_eq!(code.jump_args(3), &[v(2)]);
        assert!(code.jump_args(2).is_empty());
        assert_eq!(code.remat_value(v(0)), Some(7));
        assert_eq!(code.remat_value(v(2)), None);
        assert!(code.can_remat(v(0)) && !code.can_remat(v(1)));
        assert_eq!(code.operands(4), &[Operand::use_reg(v(3))]);
        assert_eq!(code.block_insts(9), 0..0);
    }

    #[test]
    fn a_constant_defined_twice_is_not_rematerialized() {
        let mut b = VCodeBuilder::new();
        b.begin_block(vec![]);
        b.push(Toy::Const(v(0), 1), None);
        b.push(Toy::Add(v(0), v(0), v(0)), None);
        b.push(Toy::Ret(v(0)), None);
        assert_eq!(b.finish(1).unwrap().remat_value(v(0)), None);
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let mut b = VCodeBuilder::new();
        b.begin_block(vec![]);
        b.push(Toy::Add(v(0), v(1), v(1)), None);
        assert!(b.finish(2).is_err(), "no terminator");

        let mut b = VCodeBuilder::new();
        b.begin_block(vec![]);
        b.push(Toy::Ret(v(0)), None);
        b.push(Toy::Ret(v(0)), None);
        assert!(b.finish(1).is_err(), "two terminators");

        let mut b = VCodeBuilder::new();
        b.begin_block(vec![]);
        b.push(Toy::Jump(5), None);
        assert!(b.finish(0).is_err(), "missing successor");

        let mut b: VCodeBuilder<Toy> = VCodeBuilder::new();
        b.push(Toy::Ret(v(0)), None);
        assert!(b.finish(1).is_err(), "instruction before the first block");
        assert!(
            VCodeBuilder::<Toy>::new()
                .set_jump_args(vec![v(0)])
                .is_err()
        );
    }
}

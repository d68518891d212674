//! Placing one instruction's operands, shared by both allocators.
//!
//! The order is what makes the operand semantics of [`super`] hold with the fewest moves:
//! 1. fixed uses go into their registers;
//! 2. register uses take a register holding their value, or get one;
//! 3. early defs take registers disjoint from every use;
//! 4. the uses have been read: dying values free their registers, values living on leave the
//!    registers the instruction overwrites;
//! 5. late defs take registers (a dying use's register included);
//! 6. clobbers and defs take effect.
//!
//! Each allocator supplies its register state through [`RegState`]; the hooks with defaults are
//! where the spill-realloc allocator refines the baseline's choices.

use super::liveness;
use super::{Constraint, MachFunction, OperandKind, PReg, PRegSet, VReg};
use crate::error::CompileError;

/// An allocator's register state, as operand placement reads and changes it.
pub(crate) trait RegState<'f> {
    type Error: From<CompileError>;

    /// The function being allocated (outliving the state's borrows).
    fn func(&self) -> &'f dyn MachFunction;
    /// Registers `v` may not be given: those outside its register class.
    fn outside_class(&self, v: VReg) -> PRegSet;
    fn allocatable(&self) -> PRegSet;
    /// The allocatable registers in order of preference.
    fn allocation_order(&self) -> &[PReg];
    /// How good a victim the register holding `w` is at `inst`: the later `w` is read again the
    /// better, and among equals one whose value survives elsewhere (no store needed).
    fn eviction_key(&self, w: VReg, inst: usize) -> (u64, bool);
    fn holder(&self, r: PReg) -> Option<VReg>;
    /// Registers holding `v`'s current value.
    fn copies(&self, v: VReg) -> PRegSet;
    /// Registers the current instruction overwrites: a copy there does not keep a value alive.
    fn set_doomed(&mut self, doomed: PRegSet);
    fn doomed(&self) -> PRegSet;
    /// Empties `r` before `inst`, storing its value first if nothing else keeps it.
    fn vacate(&mut self, r: PReg, inst: usize) -> Result<(), Self::Error>;
    /// Copies `v` into the empty register `r` before `inst`.
    fn materialize(&mut self, v: VReg, r: PReg, inst: usize) -> Result<(), Self::Error>;
    /// A register outside `busy`, emptied for use (outside `avoid` if one is free).
    fn pick_reg(&mut self, inst: usize, busy: PRegSet, avoid: PRegSet)
    -> Result<PReg, Self::Error>;
    /// `v` is dead: drop every copy.
    fn forget(&mut self, v: VReg);
    /// Read later in the block, or live out of it.
    fn is_needed(&self, v: VReg) -> bool;
    /// Drops the recorded reads of `v` up to and including `inst`.
    fn pop_uses_through(&mut self, v: VReg, inst: usize);
    /// Writes `v` into `r` at the end of `inst`.
    fn define(
        &mut self,
        v: VReg,
        r: PReg,
        inst: usize,
        is_terminator: bool,
    ) -> Result<(), Self::Error>;
    /// `r` was overwritten by the instruction: whatever it held is gone from it.
    fn release(&mut self, r: PReg);
    fn set_operand_reg(&mut self, inst: usize, operand: usize, r: PReg);
    fn operand_reg(&self, inst: usize, operand: usize) -> PReg;

    /// Constraints of this allocator beyond the operand semantics, checked once the registers
    /// the instruction overwrites (`overwritten`) and its fixed uses are known.
    fn check_constraints(
        &self,
        _inst: usize,
        _overwritten: PRegSet,
        _fixed_uses: PRegSet,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
    /// Called before `r` is vacated for `inst`; `untouchable` are registers `inst` reads or
    /// writes at that point.
    fn before_vacating(&mut self, _r: PReg, _inst: usize, _untouchable: PRegSet) {}
    /// Registers to avoid for `v` when it is brought into a register for `inst`.
    fn use_avoid(&self, _v: VReg, _inst: usize) -> PRegSet {
        PRegSet::EMPTY
    }
    /// The register of a late def of `v`.
    fn def_reg(
        &mut self,
        _v: VReg,
        inst: usize,
        busy: PRegSet,
        avoid: PRegSet,
    ) -> Result<PReg, Self::Error> {
        self.pick_reg(inst, busy, avoid)
    }
    /// Called once the uses and early defs of `inst` are placed; `busy` are their registers.
    fn after_uses_placed(
        &mut self,
        _inst: usize,
        _is_terminator: bool,
        _busy: PRegSet,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// An allocatable register outside `busy`, emptied for use: a free one (outside `avoid` if one
/// is), else the one with the best [`RegState::eviction_key`] (the first in preference order
/// among equals). `None` when every allocatable register is busy.
pub(crate) fn pick_register<'f, S: RegState<'f>>(
    state: &mut S,
    inst: usize,
    busy: PRegSet,
    avoid: PRegSet,
) -> Result<Option<PReg>, S::Error> {
    let order = state.allocation_order();
    let candidates = || order.iter().copied().filter(|r| !busy.contains(*r));
    let free = candidates()
        .find(|r| state.holder(*r).is_none() && !avoid.contains(*r))
        .or_else(|| candidates().find(|r| state.holder(*r).is_none()));
    if free.is_some() {
        return Ok(free);
    }
    let mut victim: Option<(PReg, (u64, bool))> = None;
    for r in candidates() {
        let key = match state.holder(r) {
            Some(w) => state.eviction_key(w, inst),
            None => (u64::MAX, true),
        };
        if victim.is_none_or(|(_, best)| key > best) {
            victim = Some((r, key));
        }
    }
    let Some((r, _)) = victim else {
        return Ok(None);
    };
    state.vacate(r, inst)?;
    Ok(Some(r))
}

/// The fixed registers of one instruction, after checking that some allocation can satisfy
/// them (violations are the lowering's bug).
struct FixedRegs {
    uses: PRegSet,
    early_defs: PRegSet,
    late_defs: PRegSet,
}

fn fixed_regs(func: &dyn MachFunction, inst: usize) -> Result<FixedRegs, CompileError> {
    let ops = func.operands(inst);
    let mut fixed = FixedRegs {
        uses: PRegSet::EMPTY,
        early_defs: PRegSet::EMPTY,
        late_defs: PRegSet::EMPTY,
    };
    for (index, op) in ops.iter().enumerate() {
        match (op.kind, op.constraint) {
            (OperandKind::Use, Constraint::Fixed(r)) => {
                let conflict = ops.iter().any(|o| {
                    o.kind == OperandKind::Use
                        && o.constraint == Constraint::Fixed(r)
                        && o.vreg != op.vreg
                });
                if conflict {
                    return Err(CompileError::internal(format!(
                        "two different vregs are pinned to register {} as uses",
                        r.0
                    )));
                }
                fixed.uses = fixed.uses.with(r);
            }
            (kind, Constraint::Fixed(r)) => {
                if fixed.early_defs.union(fixed.late_defs).contains(r) {
                    return Err(CompileError::internal(format!(
                        "two defs are pinned to register {}",
                        r.0
                    )));
                }
                if kind == OperandKind::EarlyDef {
                    fixed.early_defs = fixed.early_defs.with(r);
                } else {
                    fixed.late_defs = fixed.late_defs.with(r);
                }
            }
            _ => {}
        }
        // An earlier def of the same vreg (a scan of the few operands, no list built).
        if op.kind != OperandKind::Use
            && ops[..index]
                .iter()
                .any(|o| o.kind != OperandKind::Use && o.vreg == op.vreg)
        {
            return Err(CompileError::internal(format!(
                "v{} is defined twice by one instruction",
                op.vreg.0
            )));
        }
        if op.kind == OperandKind::EarlyDef
            && ops
                .iter()
                .any(|o| o.kind == OperandKind::Use && o.vreg == op.vreg)
        {
            return Err(CompileError::internal(format!(
                "v{} is both read and early-defined by one instruction",
                op.vreg.0
            )));
        }
    }
    if let Some(r) = fixed.early_defs.intersection(fixed.uses).first() {
        return Err(CompileError::internal(format!(
            "register {} is pinned both to a use and to an early def",
            r.0
        )));
    }
    Ok(fixed)
}

/// A list that lives on the stack up to 8 items and moves to the heap beyond: `place` needs
/// two short ones per instruction, and allocating them cost more than their bookkeeping.
struct ShortList<T: Copy> {
    inline: [T; 8],
    len: usize,
    heap: Vec<T>,
}

impl<T: Copy> ShortList<T> {
    fn new(fill: T) -> Self {
        ShortList {
            inline: [fill; 8],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn push(&mut self, x: T) {
        if self.heap.is_empty() && self.len < self.inline.len() {
            self.inline[self.len] = x;
            self.len += 1;
            return;
        }
        if self.heap.is_empty() {
            self.heap.extend_from_slice(&self.inline[..self.len]);
        }
        self.heap.push(x);
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        if self.heap.is_empty() {
            &mut self.inline[..self.len]
        } else {
            &mut self.heap
        }
    }
}

/// Places every operand of `inst` (see the module documentation for the order).
pub(crate) fn place<'f, S: RegState<'f>>(
    state: &mut S,
    inst: usize,
    is_terminator: bool,
) -> Result<(), S::Error> {
    let func = state.func();
    let ops = func.operands(inst);
    let clobbers = func.clobbers(inst);
    let allocatable = state.allocatable();
    let fixed = fixed_regs(func, inst)?;
    let overwritten = clobbers.union(fixed.early_defs).union(fixed.late_defs);
    state.check_constraints(inst, overwritten, fixed.uses)?;
    state.set_doomed(overwritten);
    let mut pinned = PRegSet::EMPTY;

    // 1. Fixed uses: each register must hold its vreg when the instruction starts.
    for (index, op) in ops.iter().enumerate() {
        if let (OperandKind::Use, Constraint::Fixed(r)) = (op.kind, op.constraint) {
            if state.holder(r) != Some(op.vreg) {
                state.before_vacating(r, inst, fixed.uses.union(fixed.early_defs));
                state.vacate(r, inst)?;
                state.materialize(op.vreg, r, inst)?;
            }
            pinned = pinned.with(r);
            state.set_operand_reg(inst, index, r);
        }
    }

    // 2. Register uses: any allocatable register, but never one an early def will write.
    for (index, op) in ops.iter().enumerate() {
        if (op.kind, op.constraint) != (OperandKind::Use, Constraint::Reg) {
            continue;
        }
        let copies = state
            .copies(op.vreg)
            .intersection(allocatable)
            .difference(fixed.early_defs);
        let r = match copies.intersection(pinned).first().or(copies.first()) {
            Some(r) => r,
            None => {
                let avoid = fixed
                    .late_defs
                    .union(clobbers)
                    .union(state.use_avoid(op.vreg, inst));
                let busy = pinned
                    .union(fixed.early_defs)
                    .union(state.outside_class(op.vreg));
                let r = state.pick_reg(inst, busy, avoid)?;
                state.materialize(op.vreg, r, inst)?;
                r
            }
        };
        pinned = pinned.with(r);
        state.set_operand_reg(inst, index, r);
    }

    // 3. Early defs: written before the uses are read, so disjoint from all of them.
    let mut early_regs = PRegSet::EMPTY;
    for (index, op) in ops.iter().enumerate() {
        if op.kind != OperandKind::EarlyDef {
            continue;
        }
        let r = match op.constraint {
            Constraint::Fixed(r) => {
                state.vacate(r, inst)?;
                r
            }
            Constraint::Reg => {
                let busy = pinned
                    .union(fixed.early_defs)
                    .union(fixed.late_defs)
                    .union(early_regs)
                    .union(state.outside_class(op.vreg));
                state.pick_reg(inst, busy, clobbers)?
            }
        };
        early_regs = early_regs.with(r);
        state.set_doomed(state.doomed().with(r));
        state.set_operand_reg(inst, index, r);
    }
    state.after_uses_placed(inst, is_terminator, pinned.union(early_regs))?;

    // 4. The uses have been read: dying values free their registers (a def may take one),
    //    and values living on leave the registers this instruction overwrites.
    let mut read = ShortList::new(VReg(0));
    for v in liveness::inst_uses(func, inst) {
        read.push(v);
    }
    // Ascending and without repeats (the baseline's slot reuse depends on this order).
    let read = read.as_mut_slice();
    read.sort_unstable();
    let distinct = |i: usize| read[..i].last() != read.get(i);
    for i in (0..read.len()).filter(|&i| distinct(i)) {
        state.pop_uses_through(read[i], inst);
    }
    for i in (0..read.len()).filter(|&i| distinct(i)) {
        if !state.is_needed(read[i]) {
            state.forget(read[i]);
        }
    }
    let untouchable = pinned.union(early_regs);
    for r in clobbers
        .union(fixed.late_defs)
        .difference(early_regs)
        .iter()
    {
        state.before_vacating(r, inst, untouchable);
        state.vacate(r, inst)?;
    }

    // 5. Late defs.
    let mut late_regs = PRegSet::EMPTY;
    let mut def_regs = ShortList::new((VReg(0), PReg(0)));
    for (index, op) in ops.iter().enumerate() {
        if op.kind == OperandKind::Use {
            continue;
        }
        let r = if op.kind == OperandKind::EarlyDef {
            state.operand_reg(inst, index)
        } else {
            let r = match op.constraint {
                Constraint::Fixed(r) => r,
                Constraint::Reg => {
                    let busy = early_regs
                        .union(fixed.late_defs)
                        .union(late_regs)
                        .union(state.outside_class(op.vreg));
                    match reused_reg(state, inst, op.vreg, busy.union(clobbers)) {
                        Some(r) => r,
                        None => state.def_reg(op.vreg, inst, busy, clobbers)?,
                    }
                }
            };
            late_regs = late_regs.with(r);
            state.set_doomed(state.doomed().with(r));
            state.set_operand_reg(inst, index, r);
            r
        };
        def_regs.push((op.vreg, r));
    }

    // 6. Effects at the end of the instruction: clobbers, then the defs.
    for r in clobbers.iter() {
        state.release(r);
    }
    for &(v, r) in def_regs.as_mut_slice().iter() {
        state.define(v, r, inst, is_terminator)?;
    }
    state.set_doomed(PRegSet::EMPTY);
    Ok(())
}

/// The register of the use `func.reuse_hint` names for the def `v`, when that value died here
/// and left the register free.
fn reused_reg<'f, S: RegState<'f>>(
    state: &S,
    inst: usize,
    v: VReg,
    unusable: PRegSet,
) -> Option<PReg> {
    let func = state.func();
    let u = func.reuse_hint(inst, v)?;
    let index = func
        .operands(inst)
        .iter()
        .position(|op| op.kind == OperandKind::Use && op.vreg == u)?;
    let r = state.operand_reg(inst, index);
    let ok = !unusable.contains(r)
        && state.allocatable().contains(r)
        && !state.outside_class(v).contains(r)
        && state.holder(r).is_none();
    ok.then_some(r)
}

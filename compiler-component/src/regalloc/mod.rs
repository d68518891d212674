//! Target-independent register allocation.
//!
//! The allocator sees a function only through the narrow [`MachFunction`] trait: instructions
//! with operands (virtual registers plus constraints), block successors, block parameters and
//! jump arguments, and clobber sets. It answers with a physical register for every operand and a
//! list of [`Edit`]s (moves, spills, reloads) to insert between instructions. The same code
//! serves Thumb-2 and RV32; each ISA describes its registers with a [`RegEnv`].
//!
//! Operand semantics at one instruction:
//! - all `Use` operands are read at the instruction's start, all `Def` operands are written at its
//!   end, so a `Def` may share a register with a `Use` whose value dies here;
//! - an `EarlyDef` is written before the uses are all read: it never shares a register with a
//!   `Use` (lowering uses it for scratch registers of multi-instruction sequences);
//! - `Fixed(p)` pins the operand to `p` (argument/result registers of calls and returns);
//! - registers in `clobbers` are overwritten by the instruction: no value that is live after the
//!   instruction may stay in one of them (defs of the instruction itself may be placed in them).
//!
//! Control flow: every block ends with exactly one terminator instruction (the last in its
//! range). Only a block with a single successor may pass arguments (`jump_args`) to that
//! successor's `block_params`; the allocator places the parallel moves before the terminator.

pub mod baseline;
mod block_reads;
pub mod check;
pub mod explain;
mod forward;
pub(crate) mod liveness;
mod next_use;
mod parallel_move;
mod placement;
mod slots;
mod spill;
pub mod spill_realloc;
#[cfg(test)]
mod tests;

use crate::error::Result;

/// A virtual register: 32 bits wide (i64 values are pairs after legalize).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VReg(pub u32);

/// A physical register, numbered as the ISA numbers it (ARM r0..r15, RV32 x0..x31).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PReg(pub u8);

/// A set of physical registers (bit n = register n).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PRegSet(pub u64);

impl PRegSet {
    pub const EMPTY: PRegSet = PRegSet(0);
    pub fn of(regs: &[PReg]) -> PRegSet {
        regs.iter().fold(PRegSet(0), |s, r| s.with(*r))
    }
    pub fn contains(self, r: PReg) -> bool {
        self.0 & (1u64 << r.0) != 0
    }
    pub fn with(self, r: PReg) -> PRegSet {
        PRegSet(self.0 | (1u64 << r.0))
    }
    pub fn union(self, o: PRegSet) -> PRegSet {
        PRegSet(self.0 | o.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn without(self, r: PReg) -> PRegSet {
        PRegSet(self.0 & !(1u64 << r.0))
    }
    pub fn intersection(self, o: PRegSet) -> PRegSet {
        PRegSet(self.0 & o.0)
    }
    /// Registers in `self` but not in `o`.
    pub fn difference(self, o: PRegSet) -> PRegSet {
        PRegSet(self.0 & !o.0)
    }
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }
    /// The lowest-numbered register, if any.
    pub fn first(self) -> Option<PReg> {
        (self.0 != 0).then(|| PReg(self.0.trailing_zeros() as u8))
    }
    /// Registers in ascending order.
    pub fn iter(self) -> impl Iterator<Item = PReg> {
        // Lowest set bit first, clearing it each step: work per member, not per bit.
        let mut rest = self.0;
        std::iter::from_fn(move || {
            let first = PRegSet(rest).first()?;
            rest &= rest - 1;
            Some(first)
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    Use,
    Def,
    EarlyDef,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// Any allocatable register.
    Reg,
    /// Exactly this register (it need not be in `RegEnv::allocatable`).
    Fixed(PReg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operand {
    pub vreg: VReg,
    pub kind: OperandKind,
    pub constraint: Constraint,
}

impl Operand {
    pub fn use_reg(vreg: VReg) -> Operand {
        Operand {
            vreg,
            kind: OperandKind::Use,
            constraint: Constraint::Reg,
        }
    }
    pub fn def_reg(vreg: VReg) -> Operand {
        Operand {
            vreg,
            kind: OperandKind::Def,
            constraint: Constraint::Reg,
        }
    }
    pub fn early_def_reg(vreg: VReg) -> Operand {
        Operand {
            vreg,
            kind: OperandKind::EarlyDef,
            constraint: Constraint::Reg,
        }
    }
    pub fn use_fixed(vreg: VReg, preg: PReg) -> Operand {
        Operand {
            vreg,
            kind: OperandKind::Use,
            constraint: Constraint::Fixed(preg),
        }
    }
    pub fn def_fixed(vreg: VReg, preg: PReg) -> Operand {
        Operand {
            vreg,
            kind: OperandKind::Def,
            constraint: Constraint::Fixed(preg),
        }
    }
}

/// The allocator's view of a lowered function.
pub trait MachFunction {
    fn num_vregs(&self) -> usize;
    fn num_blocks(&self) -> usize;
    fn num_insts(&self) -> usize;
    /// Instruction indices of block `b` (contiguous; blocks are laid out in index order).
    fn block_insts(&self, b: usize) -> std::ops::Range<usize>;
    fn block_succs(&self, b: usize) -> &[usize];
    fn block_preds(&self, b: usize) -> &[usize];
    /// Parameters of block `b`; for block 0 this is empty (function parameters arrive as
    /// `Def`s with fixed registers on the entry instruction instead).
    fn block_params(&self, b: usize) -> &[VReg];
    fn operands(&self, inst: usize) -> &[Operand];
    fn clobbers(&self, inst: usize) -> PRegSet;
    /// Arguments the terminator `inst` passes to its single successor's parameters.
    fn jump_args(&self, inst: usize) -> &[VReg];
    /// `Some((dst, src))` when the instruction is a plain register copy (a coalescing hint).
    fn is_move(&self, inst: usize) -> Option<(VReg, VReg)>;
    /// The use of `inst` whose register the def `def` is best placed in when that use's value
    /// dies at `inst` (a hint: lets an accumulating instruction work in place).
    fn reuse_hint(&self, _inst: usize, _def: VReg) -> Option<VReg> {
        None
    }
    /// Is the vreg's value a constant the ISA recreates in one instruction (an
    /// [`Location::Remat`] source), so that it never needs a stack slot?
    fn can_remat(&self, _vreg: VReg) -> bool {
        false
    }
    /// The register class of `vreg` (an index into [`RegEnv::classes`]; 0 when the ISA has one
    /// class). Every register the allocator gives the vreg belongs to that class.
    fn vreg_class(&self, _vreg: VReg) -> usize {
        0
    }
}

/// The register file as the allocator may use it.
#[derive(Clone, Debug)]
pub struct RegEnv {
    /// Registers values may live in, in order of preference (every class together).
    pub allocatable: Vec<PReg>,
    /// Register classes (e.g. core and VFP / F registers) as the sets of registers in each;
    /// empty when there is one class. A vreg of class c only ever lives in `classes[c]`.
    pub classes: Vec<PRegSet>,
    /// Registers the callee must preserve (the ISA saves those the allocation used).
    pub callee_saved: PRegSet,
    /// Reserved for the allocator's own moves (memory-to-memory moves, cycles); never
    /// allocatable, never an operand. `None` is not allowed: every ISA reserves one.
    pub scratch: PReg,
    /// Instructions each callee-saved register adds to every call of the function once it is
    /// used (its save and restore): 0 where the prologue saves a register list in one
    /// instruction anyway (Thumb `push`/`pop`), 2 where each is a store and a load (RV32).
    pub callee_saved_cost: u32,
}

impl RegEnv {
    /// Registers a vreg of class `class` must never be given (those of the other classes).
    pub fn outside_class(&self, class: usize) -> PRegSet {
        match self.classes.get(class) {
            Some(set) => PRegSet(!set.0),
            None => PRegSet::EMPTY,
        }
    }
    /// The class a register belongs to (0 when it is in none of the listed classes).
    pub fn class_of(&self, r: PReg) -> usize {
        self.classes
            .iter()
            .position(|set| set.contains(r))
            .unwrap_or(0)
    }
    /// Number of allocatable registers the callee must preserve (what a value live across a
    /// call can stay in).
    pub fn callee_saved_allocatable(&self) -> usize {
        self.allocatable
            .iter()
            .filter(|r| self.callee_saved.contains(**r))
            .count()
    }
    /// Number of allocatable registers of `class`.
    pub fn class_size(&self, class: usize) -> usize {
        let outside = self.outside_class(class);
        self.allocatable
            .iter()
            .filter(|r| !outside.contains(**r))
            .count()
    }
}

/// A stack slot of 4 bytes; the ISA maps slot n to a frame offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpillSlot(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    Reg(PReg),
    Stack(SpillSlot),
    /// Only as an edit's source: the vreg's constant value, recreated by the ISA instead of
    /// being reloaded (the vreg is one [`MachFunction::can_remat`] accepts).
    Remat(VReg),
}

/// Why an edit exists (for the report and the listing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EditKind {
    /// Register to stack.
    Spill,
    /// Stack to register.
    Reload,
    /// Register to register (or a stack-to-stack move through the scratch register).
    Move,
    /// A constant recreated in its destination instead of being reloaded.
    Remat,
}

impl EditKind {
    /// The kind an edit from `from` to `to` has.
    pub fn of(from: Location, to: Location) -> EditKind {
        match (from, to) {
            (Location::Remat(_), _) => EditKind::Remat,
            (Location::Reg(_), Location::Stack(_)) => EditKind::Spill,
            (Location::Stack(_), Location::Reg(_)) => EditKind::Reload,
            _ => EditKind::Move,
        }
    }
}

/// A move the emitter inserts. Stack-to-stack moves are allowed: the ISA emits them through
/// `RegEnv::scratch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    pub from: Location,
    pub to: Location,
    pub kind: EditKind,
}

impl Edit {
    /// The edit from `from` to `to` before (or, with `after`, after) instruction `inst`.
    pub(crate) fn placed(
        inst: usize,
        after: bool,
        from: Location,
        to: Location,
    ) -> (ProgPoint, Edit) {
        let point = ProgPoint {
            inst: inst as u32,
            after,
        };
        let kind = EditKind::of(from, to);
        (point, Edit { from, to, kind })
    }
}

impl Edit {
    /// A constant recreated straight into a stack slot: a remat and a spill store at once.
    pub fn stores_constant(&self) -> bool {
        matches!(
            (self.from, self.to),
            (Location::Remat(_), Location::Stack(_))
        )
    }
}

/// Where an edit goes: before instruction `inst`, or after it (`after` is never used for
/// terminators).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgPoint {
    pub inst: u32,
    pub after: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub spills: u32,
    pub reloads: u32,
    pub moves: u32,
    pub remats: u32,
    /// Largest number of simultaneously live vregs at any instruction.
    pub max_pressure: u32,
}

#[derive(Clone, Debug)]
pub struct Allocation {
    /// `regs[inst][i]` is the register of operand i of instruction inst.
    pub regs: Vec<Vec<PReg>>,
    /// Edits sorted by program point; edits at the same point execute in list order.
    pub edits: Vec<(ProgPoint, Edit)>,
    pub num_slots: u32,
    /// Callee-saved registers the allocation wrote (the prologue saves exactly these).
    pub used_callee_saved: PRegSet,
    pub stats: Stats,
}

impl Stats {
    /// Counts `edits` by kind (the pressure is left for the caller). A constant written to a
    /// stack slot counts twice: it is recreated, then stored (a spill store).
    fn of_edits(edits: &[(ProgPoint, Edit)]) -> Stats {
        let mut stats = Stats::default();
        for (_, edit) in edits {
            match edit.kind {
                EditKind::Spill => stats.spills += 1,
                EditKind::Reload => stats.reloads += 1,
                EditKind::Move => stats.moves += 1,
                EditKind::Remat => stats.remats += 1,
            }
            if edit.stores_constant() {
                stats.spills += 1;
            }
        }
        stats
    }
}

/// Registers an allocation writes: edit destinations and the registers of defs.
fn written_regs(
    func: &dyn MachFunction,
    regs: &[Vec<PReg>],
    edits: &[(ProgPoint, Edit)],
) -> PRegSet {
    let mut written = PRegSet::EMPTY;
    for (_, edit) in edits {
        if let Location::Reg(r) = edit.to {
            written = written.with(r);
        }
    }
    for (inst, regs) in regs.iter().enumerate() {
        for (op, &r) in func.operands(inst).iter().zip(regs) {
            if op.kind != OperandKind::Use {
                written = written.with(r);
            }
        }
    }
    written
}

/// Allocate registers for `func` with the baseline policy.
pub fn allocate(func: &dyn MachFunction, env: &RegEnv) -> Result<Allocation> {
    baseline::allocate(func, env)
}

/// Which allocator runs (`Options::spill_realloc` chooses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// [`baseline`]: every value live across a block boundary lives in a home slot.
    Baseline,
    /// [`spill_realloc`]: Belady spilling over the CFG, register state carried across blocks,
    /// stack slots shared by liveness, slot-value forwarding.
    SpillRealloc,
}

impl Policy {
    pub fn of(options: &crate::options::Options) -> Policy {
        if options.spill_realloc {
            Policy::SpillRealloc
        } else {
            Policy::Baseline
        }
    }
}

/// Allocate registers for `func` with `policy`.
pub fn allocate_with(func: &dyn MachFunction, env: &RegEnv, policy: Policy) -> Result<Allocation> {
    match policy {
        Policy::Baseline => baseline::allocate(func, env),
        Policy::SpillRealloc => spill_realloc::allocate(func, env),
    }
}

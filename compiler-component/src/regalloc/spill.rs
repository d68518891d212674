//! The spill-realloc allocator's main pass: spilling and register assignment in one walk over
//! the blocks in layout order (Braun & Hack, CC 2009, adapted to fixed-register constraints).
//!
//! - Register state crosses block boundaries. Each block has an entry state ([`Entry`]): which
//!   live-in values (and parameters) are in which register, the rest being in their stack slots.
//!   It is fixed when the first predecessor reaches its terminator: a block with one incoming
//!   path inherits the register state as it is; a loop header is filled with the values the
//!   loop reads soonest (furthest-first eviction would throw them out again); block parameters
//!   take their argument's register where possible (coalescing). Every other predecessor, and
//!   every back edge, conforms with a parallel move placed before its terminator.
//! - Within a block, a value that must leave a register goes to its slot only if the slot does
//!   not already hold it; eviction picks the value read furthest ahead, counting across the CFG
//!   ([`NextUse`]). Reloads come right before the use.
//! - Slots are virtual here (slot n belongs to vreg n, plus one temporary for move cycles);
//!   [`super::slots`] later deletes dead stores and packs them by liveness.
//! - Values that needed a store anywhere are, in a second round, stored once right after their
//!   definition (so never again, in particular never inside a loop they were defined outside).
//!
//! A critical edge (a branch into a join) cannot carry moves, so a branch that must meet two
//! incompatible entry states reports [`Failure::Fallback`]; the caller then retries with a more
//! conservative [`Joins`] policy.

use super::block_reads::BlockReads;
use super::liveness::{BitSet, Liveness, NUM_PREGS, preg_index};
use super::next_use::{NEVER, NextUse};
use super::placement::{self, RegState};
use super::{
    Constraint, Edit, Location, MachFunction, Operand, OperandKind, PReg, PRegSet, ProgPoint,
    RegEnv, SpillSlot, VReg, parallel_move,
};
use crate::error::CompileError;

/// The value a jump passing `args` brings into its successor for `w`: the argument of the
/// parameter `w`, or `w` itself when it lives through.
fn incoming(params: &[VReg], args: &[VReg], w: VReg) -> VReg {
    params
        .iter()
        .position(|p| *p == w)
        .and_then(|i| args.get(i).copied())
        .unwrap_or(w)
}

/// How blocks with several predecessors start. Register states meet there, and a branch cannot
/// carry moves for one successor only, so each step trades register reuse across joins for
/// fewer ways two successors of a branch can disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joins {
    /// Inherit the register state of the first predecessor allocated.
    Carried,
    /// Joins other than loop headers start with every value in memory; loop headers keep two
    /// registers free for the operands of branches back to them.
    InMemory,
    /// Every block a jump reaches first, and every join, starts with every value in memory: no
    /// terminator then has registers reserved for a successor, so nothing can conflict.
    AllInMemory,
}

/// Why the pass gave up.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A shape this allocator does not handle (the baseline does): use it instead.
    Fallback(String),
    Error(CompileError),
}

impl From<CompileError> for Failure {
    fn from(e: CompileError) -> Failure {
        Failure::Error(e)
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// One round's output, over virtual slots.
pub(crate) struct Round {
    pub(crate) regs: Vec<Vec<PReg>>,
    pub(crate) edits: Vec<(ProgPoint, Edit)>,
    /// Values that were stored somewhere other than right after their definition.
    pub(crate) needs_slot: BitSet,
}

/// The virtual slot of `v` (its own), and the temporary slot used to break move cycles.
pub(crate) fn slot_of(v: VReg) -> SpillSlot {
    SpillSlot(v.0)
}

pub(crate) fn temp_slot(num_vregs: usize) -> SpillSlot {
    SpillSlot(u32::try_from(num_vregs).unwrap_or(u32::MAX))
}

/// Where the live-ins and parameters of a block are when it starts.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// Values in registers (one register each, distinct registers).
    in_regs: Vec<(VReg, PReg)>,
    /// Values in `in_regs` whose slot holds them too; every other live-in is in its slot.
    slot_valid: Vec<VReg>,
}

pub(crate) fn run(
    func: &dyn MachFunction,
    env: &RegEnv,
    live: &Liveness,
    next: &NextUse,
    spill_at_def: &BitSet,
    joins: Joins,
    look_through: bool,
) -> Result<Round> {
    let num_vregs = func.num_vregs();
    let mut spiller = Spiller {
        func,
        env,
        live,
        next,
        spill_at_def,
        joins,
        look_through,
        allocatable: PRegSet::of(&env.allocatable),
        holder: [None; NUM_PREGS],
        regs_of: vec![PRegSet::EMPTY; num_vregs],
        slot_valid: BitSet::new(num_vregs),
        entry: vec![None; func.num_blocks()],
        regs: (0..func.num_insts())
            .map(|inst| vec![PReg(0); func.operands(inst).len()])
            .collect(),
        edits: Vec::new(),
        needs_slot: BitSet::new(num_vregs),
        block: 0,
        block_end: 0,
        reads: BlockReads::default(),
        block_clobbers: Vec::new(),
        doomed: PRegSet::EMPTY,
        reserved: PRegSet::EMPTY,
        touched_callee_saved: PRegSet::EMPTY,
    };
    for block in 0..func.num_blocks() {
        spiller.run_block(block).map_err(|e| match e {
            Failure::Error(e) => Failure::Error(CompileError {
                message: format!("{} (block {block})", e.message),
                ..e
            }),
            other => other,
        })?;
    }
    // Edits were produced in program order; a stable sort keeps each point's list order.
    spiller.edits.sort_by_key(|(point, _)| *point);
    Ok(Round {
        regs: spiller.regs,
        edits: spiller.edits,
        needs_slot: spiller.needs_slot,
    })
}

struct Spiller<'a> {
    func: &'a dyn MachFunction,
    env: &'a RegEnv,
    live: &'a Liveness,
    next: &'a NextUse,
    spill_at_def: &'a BitSet,
    joins: Joins,
    /// Hint defs through blocks that only jump on (`successor_wants`).
    look_through: bool,
    allocatable: PRegSet,
    holder: [Option<VReg>; NUM_PREGS],
    /// Registers holding each vreg's current value.
    regs_of: Vec<PRegSet>,
    /// The vreg's slot holds its current value.
    slot_valid: BitSet,
    entry: Vec<Option<Entry>>,
    regs: Vec<Vec<PReg>>,
    edits: Vec<(ProgPoint, Edit)>,
    needs_slot: BitSet,
    block: usize,
    block_end: usize,
    /// Instruction indices of the reads still ahead in this block, per vreg.
    reads: BlockReads,
    /// Instructions of this block that clobber registers (calls), in order.
    block_clobbers: Vec<usize>,
    /// Registers the current instruction overwrites: a copy there does not keep a value alive.
    doomed: PRegSet,
    /// Registers a successor's entry state needs at the terminator: never evicted or chosen.
    reserved: PRegSet,
    /// Callee-saved registers that have held a value so far (their save is already paid for).
    touched_callee_saved: PRegSet,
}

impl Spiller<'_> {
    fn set_holder(&mut self, r: PReg, v: Option<VReg>) {
        self.holder[preg_index(r)] = v;
        if v.is_some() && self.env.callee_saved.contains(r) {
            self.touched_callee_saved = self.touched_callee_saved.with(r);
        }
    }

    fn regs_of(&self, v: VReg) -> PRegSet {
        self.regs_of
            .get(v.0 as usize)
            .copied()
            .unwrap_or(PRegSet::EMPTY)
    }

    fn set_regs_of(&mut self, v: VReg, regs: PRegSet) {
        if let Some(slot) = self.regs_of.get_mut(v.0 as usize) {
            *slot = regs;
        }
    }

    /// The value can be read from outside the registers: its slot holds it, or it is a
    /// constant the ISA recreates (which never needs a slot).
    fn is_slot_valid(&self, v: VReg) -> bool {
        self.slot_valid.contains(v.0 as usize) || self.func.can_remat(v)
    }

    fn set_slot_valid(&mut self, v: VReg, valid: bool) {
        if valid {
            self.slot_valid.insert(v.0 as usize);
        } else {
            self.slot_valid.remove(v.0 as usize);
        }
    }

    fn emit(&mut self, inst: usize, after: bool, from: Location, to: Location) {
        self.edits.push(Edit::placed(inst, after, from, to));
    }

    /// Instructions until `v` is read next, as seen from `inst`, across blocks.
    fn next_use(&self, v: VReg, inst: usize) -> u64 {
        if let Some(at) = self.reads.next(v) {
            return at.saturating_sub(inst) as u64;
        }
        let through = self.next.after_block_end(self.block, v.0);
        if through >= NEVER {
            return NEVER;
        }
        (self.block_end.saturating_sub(inst) as u64).saturating_add(through)
    }

    fn run_block(&mut self, block: usize) -> Result<()> {
        let func = self.func;
        let range = func.block_insts(block);
        self.block = block;
        self.block_end = range.end;
        self.enter(block)?;
        self.reads.fill(func, block);
        self.block_clobbers = range
            .clone()
            .filter(|&inst| {
                !func
                    .clobbers(inst)
                    .intersection(self.allocatable)
                    .is_empty()
            })
            .collect();
        for inst in range.clone() {
            let result = if inst + 1 == range.end {
                self.terminator(inst)
            } else {
                placement::place(self, inst, false)
            };
            result.map_err(|e| match e {
                Failure::Error(e) => Failure::Error(CompileError {
                    message: format!("{} (instruction {inst})", e.message),
                    ..e
                }),
                other => other,
            })?;
        }
        Ok(())
    }

    /// Loads the block's entry state (fixing it as "everything in memory" when no predecessor
    /// has been allocated yet, so later ones conform to that).
    fn enter(&mut self, block: usize) -> Result<()> {
        for index in 0..NUM_PREGS {
            if let Some(v) = self.holder[index].take() {
                self.set_regs_of(v, PRegSet::EMPTY);
            }
        }
        self.slot_valid.clear();
        let entry = std::mem::take(self.entry[block].get_or_insert_with(Entry::default));
        for v in self.live.live_in[block].iter() {
            self.slot_valid.insert(v);
        }
        for p in self.func.block_params(block) {
            self.slot_valid.insert(p.0 as usize);
        }
        for &(v, r) in &entry.in_regs {
            self.set_slot_valid(v, entry.slot_valid.binary_search(&v).is_ok());
            self.set_holder(r, Some(v));
            let regs = self.regs_of(v).with(r);
            self.set_regs_of(v, regs);
        }
        self.entry[block] = Some(entry);
        Ok(())
    }

    /// Where `v` can be read now: a register if it has one, else its slot.
    fn location(&self, v: VReg) -> Result<Location> {
        if let Some(r) = self.regs_of(v).first() {
            Ok(Location::Reg(r))
        } else if self.func.can_remat(v) {
            Ok(Location::Remat(v))
        } else if self.is_slot_valid(v) {
            Ok(Location::Stack(slot_of(v)))
        } else {
            Err(Failure::Error(CompileError::internal(format!(
                "v{} is read but holds no value here (read before its definition?)",
                v.0
            ))))
        }
    }

    /// The register a successor's fixed entry state expects `v` in (as a jump argument for a
    /// parameter, or as a live-through value): defining it there saves a move at the jump. A
    /// block with several successors looks through those that only jump on (a loop's back edge
    /// split off a conditional branch): defining `v` where the loop header wants it leaves
    /// that edge without moves, and layout then branches straight to the header.
    fn successor_wants(&self, v: VReg) -> Option<PReg> {
        let terminator = self.block_end.checked_sub(1)?;
        match self.func.block_succs(self.block) {
            [succ] => self.entry_wants(*succ, terminator, v),
            succs if !self.look_through || succs.len() < 2 => None,
            succs => succs.iter().find_map(|&s| {
                let insts = self.func.block_insts(s);
                let [next] = self.func.block_succs(s) else {
                    return None;
                };
                let forwards = insts.len() == 1
                    && self.func.block_preds(s).len() == 1
                    && self.func.block_params(s).is_empty();
                forwards
                    .then(|| self.entry_wants(*next, insts.start, v))
                    .flatten()
            }),
        }
        .filter(|r| self.allocatable.contains(*r))
    }

    /// Registers where a successor with a fixed entry state expects a value other than `v`:
    /// a hint must not put `v` there, or the branch must move it out again.
    fn successors_hold_other(&self, v: VReg) -> PRegSet {
        let Some(terminator) = self.block_end.checked_sub(1) else {
            return PRegSet::EMPTY;
        };
        let args = self.func.jump_args(terminator);
        let mut regs = PRegSet::EMPTY;
        for &s in self.func.block_succs(self.block) {
            let Some(entry) = self.entry.get(s).and_then(Option::as_ref) else {
                continue;
            };
            let params = self.func.block_params(s);
            for &(w, r) in &entry.in_regs {
                if incoming(params, args, w) != v {
                    regs = regs.with(r);
                }
            }
        }
        regs
    }

    /// The register `succ`'s fixed entry state expects `v` in, reached by `jump`.
    fn entry_wants(&self, succ: usize, jump: usize, v: VReg) -> Option<PReg> {
        let entry = self.entry.get(succ)?.as_ref()?;
        let params = self.func.block_params(succ);
        let args = self.func.jump_args(jump);
        let wanted = |w: VReg| entry.in_regs.iter().find(|(x, _)| *x == w).map(|&(_, r)| r);
        args.iter()
            .zip(params)
            .filter(|(a, _)| **a == v)
            .find_map(|(_, p)| wanted(*p))
            .or_else(|| wanted(v))
    }

    /// The register `v`'s next read in this block pins it to (a return value, a call
    /// argument): defining it there saves the move before that read.
    fn next_read_wants(&self, v: VReg) -> Option<PReg> {
        let at = self.reads.next(v)?;
        self.func
            .operands(at)
            .iter()
            .find_map(|op| match (op.kind, op.constraint) {
                (OperandKind::Use, Constraint::Fixed(r)) if op.vreg == v => Some(r),
                _ => None,
            })
            .filter(|r| self.allocatable.contains(*r))
    }

    /// Registers some instruction after `inst` overwrites before `v` is read again in this block
    /// (or before the block ends, when `v` lives on past it). A value placed outside them
    /// survives the calls on its way instead of being spilled and reloaded around each.
    ///
    /// Where a callee-saved register costs a save and restore per call of the function (RV32),
    /// one not used so far is worth it only for a value kept across several calls or inside a
    /// loop; otherwise those are the registers to avoid, and the value is spilled around its
    /// one call instead.
    fn clobbered_before_next_use(&self, v: VReg, inst: usize) -> PRegSet {
        let (clobbered, calls) = self.calls_before_next_use(v, inst);
        if clobbered.is_empty() || self.fresh_callee_saved_pays(calls) {
            clobbered
        } else {
            self.env.callee_saved.difference(self.touched_callee_saved)
        }
    }

    /// The registers the calls between `inst` and `v`'s next read (in this block) overwrite,
    /// and how many such calls there are (counting stops at 4: calls clobber the same registers).
    fn calls_before_next_use(&self, v: VReg, inst: usize) -> (PRegSet, usize) {
        let next_read = self.reads.next_after(v, inst);
        let until = match next_read {
            Some(at) => at,
            None if self.live.live_out[self.block].contains(v.0 as usize) => self.block_end,
            None => return (PRegSet::EMPTY, 0),
        };
        let first = self.block_clobbers.partition_point(|&c| c <= inst);
        self.block_clobbers[first..]
            .iter()
            .take_while(|&&c| c < until)
            .take(4)
            .fold((PRegSet::EMPTY, 0), |(set, n), &c| {
                (set.union(self.func.clobbers(c)), n + 1)
            })
    }

    /// Does a callee-saved register not used so far pay for its save and restore when it keeps a
    /// value across `calls` calls of the current block?
    fn fresh_callee_saved_pays(&self, calls: usize) -> bool {
        self.env.callee_saved_cost == 0 || calls >= 2 || self.next.in_loop(self.block)
    }

    /// Before `inst` overwrites `r`, keeps its value in a free register the instruction leaves
    /// alone when the value is still needed and would otherwise have to be stored (a move
    /// instead of a spill and a reload). `untouchable` are the registers `inst` reads or writes.
    fn rescue(&mut self, r: PReg, inst: usize, untouchable: PRegSet) {
        let Some(w) = self.holder(r) else { return };
        let others = self.regs_of(w).without(r);
        if !self.is_needed(w) || self.is_slot_valid(w) || !others.difference(self.doomed).is_empty()
        {
            return;
        }
        // A value this instruction reads from a fixed register that is still free goes there.
        let fixed_use = self.func.operands(inst).iter().find_map(|op| match *op {
            Operand {
                vreg,
                kind: OperandKind::Use,
                constraint: Constraint::Fixed(f),
            } if vreg == w && f != r && self.holder(f).is_none() => Some(f),
            _ => None,
        });
        if let Some(f) = fixed_use {
            self.emit(inst, false, Location::Reg(r), Location::Reg(f));
            self.set_holder(f, Some(w));
            self.set_regs_of(w, self.regs_of(w).with(f));
            return;
        }
        let (lost_later, calls) = self.calls_before_next_use(w, inst);
        let mut busy = untouchable
            .union(self.doomed)
            .union(self.reserved)
            .union(self.env.outside_class(self.func.vreg_class(w)));
        // The clobbering instruction itself counts as one of the calls crossed.
        if !self.fresh_callee_saved_pays(calls + 1) {
            busy = busy.union(self.env.callee_saved.difference(self.touched_callee_saved));
        }
        let free = |f: &PReg| !busy.contains(*f) && self.holder(*f).is_none();
        let env = self.env;
        let Some(free) = env
            .allocatable
            .iter()
            .copied()
            .find(|f| free(f) && !lost_later.contains(*f))
            .or_else(|| env.allocatable.iter().copied().find(free))
        else {
            return;
        };
        self.emit(inst, false, Location::Reg(r), Location::Reg(free));
        self.set_holder(free, Some(w));
        self.set_regs_of(w, self.regs_of(w).with(free));
    }

    /// The terminator: conform to the entry states of successors already fixed, allocate the
    /// instruction, then fix the entry states of the others from what is left.
    fn terminator(&mut self, inst: usize) -> Result<()> {
        let func = self.func;
        let mut succs: Vec<usize> = func.block_succs(self.block).to_vec();
        succs.sort_unstable();
        succs.dedup();
        let args = func.jump_args(inst);
        if let [succ] = succs[..]
            && self.entry[succ].is_none()
        {
            let chosen = self.choose_entry(succ, args, inst)?;
            self.entry[succ] = Some(chosen);
        }
        if self.joins != Joins::Carried && succs.len() > 1 {
            for &s in &succs {
                if self.entry[s].is_none() && func.block_preds(s).len() > 1 {
                    self.entry[s] = Some(Entry::default());
                }
            }
        }

        // What the fixed successors need: registers holding given values, slots written.
        let mut reg_req: [Option<VReg>; NUM_PREGS] = [None; NUM_PREGS];
        let mut moves: Vec<(Location, Location)> = Vec::new();
        let mut stored: Vec<VReg> = Vec::new();
        for &s in &succs {
            let Some(entry) = self.entry[s].clone() else {
                continue;
            };
            let params = func.block_params(s);
            let source = |v: VReg| incoming(params, args, v);
            for &(v, r) in &entry.in_regs {
                let value = source(v);
                match reg_req[preg_index(r)] {
                    Some(other) if other != value => {
                        return Err(Failure::Fallback(
                            "two successors expect different values in one register".into(),
                        ));
                    }
                    _ => reg_req[preg_index(r)] = Some(value),
                }
            }
            let in_memory = self.live.live_in[s]
                .iter()
                .map(|v| VReg(v as u32))
                .chain(params.iter().copied())
                .filter(|v| {
                    entry.slot_valid.binary_search(v).is_ok()
                        || !entry.in_regs.iter().any(|(w, _)| w == v)
                });
            for v in in_memory.collect::<Vec<_>>() {
                let value = source(v);
                if value != v {
                    // A parameter written straight into its slot.
                    let dst = Location::Stack(slot_of(v));
                    if !moves.iter().any(|(_, d)| *d == dst) {
                        moves.push((self.location(value)?, dst));
                    }
                } else if !self.is_slot_valid(v) && !stored.contains(&v) {
                    moves.push((self.location(v)?, Location::Stack(slot_of(v))));
                    stored.push(v);
                }
            }
        }

        let mut reserved = PRegSet::EMPTY;
        // Registers about to receive a value other than the one they hold.
        let mut overwritten = PRegSet::EMPTY;
        for (index, wanted) in reg_req.iter().enumerate() {
            let r = PReg(index as u8);
            if wanted.is_some() && self.holder(r) != *wanted {
                overwritten = overwritten.with(r);
            }
        }
        for (index, wanted) in reg_req.iter().enumerate() {
            let Some(value) = *wanted else { continue };
            let r = PReg(index as u8);
            reserved = reserved.with(r);
            if self.holder(r) == Some(value) {
                continue;
            }
            // Whatever `r` holds now and is still needed must survive somewhere.
            if let Some(w) = self.holder(r)
                && self.is_needed(w)
                && !self.is_slot_valid(w)
                && !stored.contains(&w)
                && self.regs_of(w).difference(overwritten).is_empty()
                && !reg_req.contains(&Some(w))
            {
                moves.push((Location::Reg(r), Location::Stack(slot_of(w))));
                stored.push(w);
            }
            moves.push((self.location(value)?, Location::Reg(r)));
        }
        if !moves.is_empty() {
            let named: Vec<Location> = moves.iter().flat_map(|(s, d)| [*s, *d]).collect();
            // A register temporary must be of the parked value's class: when the move names
            // registers of one class, a free register of that class; with several classes, a
            // cycle parks its value in the temporary slot instead.
            let mut classes = named.iter().filter_map(|loc| match loc {
                Location::Reg(r) => Some(self.env.class_of(*r)),
                _ => None,
            });
            let first = classes.next().unwrap_or(0);
            let one_class = classes.all(|c| c == first);
            let outside = self.env.outside_class(first);
            let temp = self
                .env
                .allocatable
                .iter()
                .copied()
                .find(|r| {
                    one_class
                        && !outside.contains(*r)
                        && self.holder(*r).is_none()
                        && !reserved.contains(*r)
                        && !named.contains(&Location::Reg(*r))
                })
                .map_or(Location::Stack(temp_slot(func.num_vregs())), Location::Reg);
            for (from, to) in parallel_move::sequence(&moves, temp) {
                self.emit(inst, false, from, to);
            }
            for &w in &stored {
                self.set_slot_valid(w, true);
                self.needs_slot.insert(w.0 as usize);
            }
            for (index, wanted) in reg_req.iter().enumerate() {
                let Some(value) = *wanted else { continue };
                let r = PReg(index as u8);
                if self.holder(r) == Some(value) {
                    continue;
                }
                if let Some(w) = self.holder(r) {
                    let regs = self.regs_of(w).without(r);
                    self.set_regs_of(w, regs);
                }
                self.set_holder(r, Some(value));
                let regs = self.regs_of(value).with(r);
                self.set_regs_of(value, regs);
            }
        }

        self.reserved = reserved;
        let result = placement::place(self, inst, true);
        self.reserved = PRegSet::EMPTY;
        result?;
        // The instruction's own writes must not have destroyed what the successors expect.
        let ops = func.operands(inst);
        let mut written = func.clobbers(inst);
        for (index, op) in ops.iter().enumerate() {
            if op.kind != OperandKind::Use {
                written = written.with(self.operand_reg(inst, index));
            }
        }
        if !written.intersection(reserved).is_empty() {
            return Err(Failure::Fallback(
                "a terminator writes a register a successor expects a value in".into(),
            ));
        }

        for &s in &succs {
            if self.entry[s].is_none() {
                let entry = self.entry_from_state(s)?;
                self.entry[s] = Some(entry);
            }
        }
        Ok(())
    }

    /// The entry state of `s` as the current register state leaves it (for a successor of a
    /// branch, which cannot carry moves of its own).
    fn entry_from_state(&self, s: usize) -> Result<Entry> {
        let mut entry = Entry::default();
        for v in self.live.live_in[s].iter() {
            let v = VReg(v as u32);
            let regs = self.regs_of(v);
            // A value may sit in a pinned register outside the allocatable set.
            match regs.intersection(self.allocatable).first().or(regs.first()) {
                Some(r) => {
                    entry.in_regs.push((v, r));
                    if self.is_slot_valid(v) {
                        entry.slot_valid.push(v);
                    }
                }
                None if self.is_slot_valid(v) => {}
                None => {
                    return Err(Failure::Error(CompileError::internal(format!(
                        "v{} is live into block {s} but held nowhere",
                        v.0
                    ))));
                }
            }
        }
        entry.in_regs.sort();
        entry.slot_valid.sort();
        Ok(entry)
    }

    /// Chooses the entry state of `s`, reached by a jump from this block (its first allocated
    /// predecessor). Parameters take their argument's register where it is free; a loop header
    /// holds the values its loop reads soonest.
    fn choose_entry(&self, s: usize, args: &[VReg], inst: usize) -> Result<Entry> {
        let func = self.func;
        let params = func.block_params(s);
        let overwritten = {
            let mut set = func.clobbers(inst);
            for op in func.operands(inst) {
                if let (OperandKind::Def | OperandKind::EarlyDef, Constraint::Fixed(r)) =
                    (op.kind, op.constraint)
                {
                    set = set.with(r);
                }
            }
            set
        };
        // (value at s, value here, distance from the start of s)
        let mut candidates: Vec<(VReg, VReg, u64)> = self.live.live_in[s]
            .iter()
            .map(|v| {
                let v = VReg(v as u32);
                (v, v, self.next.after_block_start(s, v.0))
            })
            .collect();
        for (i, &p) in params.iter().enumerate() {
            let Some(&arg) = args.get(i) else {
                return Err(Failure::Error(CompileError::internal(
                    "fewer jump arguments than block parameters",
                )));
            };
            candidates.push((p, arg, self.next.after_block_start(s, p.0)));
        }
        let loop_header = self.next.is_loop_header(s);
        let in_memory = match self.joins {
            Joins::Carried => false,
            Joins::InMemory => !loop_header && func.block_preds(s).len() > 1,
            Joins::AllInMemory => true,
        };
        if in_memory {
            return Ok(Entry::default());
        }
        if loop_header {
            candidates.sort_by_key(|&(v, _, distance)| (distance, v));
            // Values first read only after leaving the loop stay in memory; on the second try
            // two registers stay free for the operands of branches back to the header.
            let classes = self.env.classes.len().max(1);
            let limit = |class: usize| {
                let size = self.env.class_size(class);
                match self.joins {
                    Joins::Carried => size,
                    _ => size.saturating_sub(2),
                }
            };
            let mut kept = vec![0usize; classes];
            candidates.retain(|&(v, _, distance)| {
                let class = func.vreg_class(v).min(classes - 1);
                kept[class] += 1;
                distance < super::next_use::LOOP_EXIT_PENALTY && kept[class] <= limit(class)
            });
        }
        let free_here = |r: PReg, taken: PRegSet| !taken.contains(r) && !overwritten.contains(r);
        let mut taken = PRegSet::EMPTY;
        let mut entry = Entry::default();
        let mut homeless: Vec<VReg> = Vec::new();
        for &(v, value, _) in &candidates {
            let current = self
                .regs_of(value)
                .intersection(self.allocatable)
                .iter()
                .find(|r| free_here(*r, taken));
            match current {
                Some(r) => {
                    taken = taken.with(r);
                    entry.in_regs.push((v, r));
                }
                // A live-through value only in memory stays there, unless a loop wants it.
                None if v == value && !loop_header => {}
                None => homeless.push(v),
            }
        }
        for v in homeless {
            let env = self.env;
            let outside = env.outside_class(func.vreg_class(v));
            let pick = env
                .allocatable
                .iter()
                .copied()
                .filter(|r| !outside.contains(*r))
                .find(|r| free_here(*r, taken) && self.holder(*r).is_none())
                .or_else(|| {
                    env.allocatable
                        .iter()
                        .copied()
                        .filter(|r| !outside.contains(*r))
                        .find(|r| free_here(*r, taken))
                });
            if let Some(r) = pick {
                taken = taken.with(r);
                entry.in_regs.push((v, r));
            }
        }
        for &(v, _) in &entry.in_regs {
            let is_param = params.contains(&v);
            let valid = if is_param {
                self.spill_at_def.contains(v.0 as usize)
            } else {
                self.is_slot_valid(v)
            };
            if valid {
                entry.slot_valid.push(v);
            }
        }
        entry.in_regs.sort();
        entry.slot_valid.sort();
        Ok(entry)
    }
}

impl<'a> RegState<'a> for Spiller<'a> {
    type Error = Failure;

    fn func(&self) -> &'a dyn MachFunction {
        self.func
    }
    fn outside_class(&self, v: VReg) -> PRegSet {
        self.env.outside_class(self.func.vreg_class(v))
    }
    fn allocatable(&self) -> PRegSet {
        self.allocatable
    }
    fn holder(&self, r: PReg) -> Option<VReg> {
        self.holder[preg_index(r)]
    }
    fn copies(&self, v: VReg) -> PRegSet {
        self.regs_of(v)
    }
    fn set_doomed(&mut self, doomed: PRegSet) {
        self.doomed = doomed;
    }
    fn doomed(&self) -> PRegSet {
        self.doomed
    }
    /// Empties register `r` before `inst`, first storing its value if that value is still
    /// needed and would otherwise exist nowhere that survives the instruction.
    fn vacate(&mut self, r: PReg, inst: usize) -> Result<()> {
        let Some(w) = self.holder(r) else {
            return Ok(());
        };
        self.set_holder(r, None);
        let others = self.regs_of(w).without(r);
        self.set_regs_of(w, others);
        if self.is_needed(w) && !self.is_slot_valid(w) && others.difference(self.doomed).is_empty()
        {
            self.emit(inst, false, Location::Reg(r), Location::Stack(slot_of(w)));
            self.set_slot_valid(w, true);
            self.needs_slot.insert(w.0 as usize);
        }
        Ok(())
    }
    /// Copies `v` into the empty register `target` before `inst`.
    fn materialize(&mut self, v: VReg, target: PReg, inst: usize) -> Result<()> {
        let from = self.location(v)?;
        self.emit(inst, false, from, Location::Reg(target));
        self.set_holder(target, Some(v));
        let regs = self.regs_of(v).with(target);
        self.set_regs_of(v, regs);
        Ok(())
    }
    /// An allocatable register outside `busy` and the registers successors expect values in.
    fn pick_reg(&mut self, inst: usize, busy: PRegSet, avoid: PRegSet) -> Result<PReg> {
        let busy = busy.union(self.reserved);
        match placement::pick_register(self, inst, busy, avoid)? {
            Some(r) => Ok(r),
            None if !self.reserved.is_empty() => Err(Failure::Fallback(
                "a terminator's operands find no register beside the successors' values".into(),
            )),
            None => Err(Failure::Error(CompileError::limit(format!(
                "instruction needs more registers at once than the {} allocatable ones",
                self.env.allocatable.len()
            )))),
        }
    }
    fn allocation_order(&self) -> &[PReg] {
        &self.env.allocatable
    }
    fn eviction_key(&self, w: VReg, inst: usize) -> (u64, bool) {
        let clean = self.is_slot_valid(w) || self.regs_of(w).len() > 1;
        let distance = if self.is_needed(w) {
            self.next_use(w, inst)
        } else {
            NEVER
        };
        (distance, clean)
    }
    /// Drops every copy of `v` (its value is dead).
    fn forget(&mut self, v: VReg) {
        for r in self.regs_of(v).iter() {
            if self.holder(r) == Some(v) {
                self.set_holder(r, None);
            }
        }
        self.set_regs_of(v, PRegSet::EMPTY);
        self.set_slot_valid(v, false);
    }
    /// Still read later in this block, or live out of it.
    fn is_needed(&self, v: VReg) -> bool {
        self.reads.is_read_ahead(v) || self.live.live_out[self.block].contains(v.0 as usize)
    }
    fn pop_uses_through(&mut self, v: VReg, inst: usize) {
        self.reads.consume_through(v, inst);
    }
    /// Writes `v` into `r` at the end of `inst`: stores it at once when it is a value that
    /// gets spilled somewhere, frees the register at once if nothing reads it.
    fn define(&mut self, v: VReg, r: PReg, inst: usize, is_terminator: bool) -> Result<()> {
        for reg in self.regs_of(v).iter() {
            if self.holder(reg) == Some(v) {
                self.set_holder(reg, None);
            }
        }
        if let Some(w) = self.holder(r) {
            let regs = self.regs_of(w).without(r);
            self.set_regs_of(w, regs);
        }
        self.set_holder(r, Some(v));
        self.set_regs_of(v, PRegSet::EMPTY.with(r));
        self.set_slot_valid(v, false);
        if is_terminator && self.live.live_out[self.block].contains(v.0 as usize) {
            return Err(Failure::Error(CompileError::internal(format!(
                "a terminator defines v{}, which is live after its block",
                v.0
            ))));
        }
        if !self.is_needed(v) {
            self.forget(v);
        } else if self.spill_at_def.contains(v.0 as usize) {
            self.emit(inst, true, Location::Reg(r), Location::Stack(slot_of(v)));
            self.set_slot_valid(v, true);
        }
        Ok(())
    }
    fn release(&mut self, r: PReg) {
        if let Some(w) = self.holder(r) {
            self.set_holder(r, None);
            let regs = self.regs_of(w).without(r);
            self.set_regs_of(w, regs);
        }
    }
    fn set_operand_reg(&mut self, inst: usize, operand: usize, r: PReg) {
        if let Some(slot) = self
            .regs
            .get_mut(inst)
            .and_then(|regs| regs.get_mut(operand))
        {
            *slot = r;
        }
    }
    fn operand_reg(&self, inst: usize, operand: usize) -> PReg {
        self.regs
            .get(inst)
            .and_then(|regs| regs.get(operand))
            .copied()
            .unwrap_or(PReg(0))
    }

    /// A terminator must leave alone the registers its successors' entry states expect.
    fn check_constraints(
        &self,
        inst: usize,
        overwritten: PRegSet,
        fixed_uses: PRegSet,
    ) -> Result<()> {
        if !overwritten.intersection(self.reserved).is_empty() {
            return Err(Failure::Fallback(
                "a terminator overwrites a register a successor expects a value in".into(),
            ));
        }
        let ops = self.func.operands(inst);
        for r in fixed_uses.intersection(self.reserved).iter() {
            let wanted = ops
                .iter()
                .find(|o| o.kind == OperandKind::Use && o.constraint == Constraint::Fixed(r))
                .map(|o| o.vreg);
            if self.holder(r) != wanted {
                return Err(Failure::Fallback(
                    "a terminator pins a use to a register a successor expects another value in"
                        .into(),
                ));
            }
        }
        Ok(())
    }
    fn before_vacating(&mut self, r: PReg, inst: usize, untouchable: PRegSet) {
        self.rescue(r, inst, untouchable);
    }
    fn use_avoid(&self, v: VReg, inst: usize) -> PRegSet {
        self.clobbered_before_next_use(v, inst)
    }
    /// Outside the registers lost before the next read, and where a successor expects it.
    fn def_reg(&mut self, v: VReg, inst: usize, busy: PRegSet, avoid: PRegSet) -> Result<PReg> {
        let avoid = avoid.union(self.clobbered_before_next_use(v, inst));
        let unusable = busy.union(avoid).union(self.reserved);
        // Not where another successor expects a different value: the branch would have to
        // move `v` out again.
        let for_successor = self
            .successor_wants(v)
            .filter(|h| !self.successors_hold_other(v).contains(*h));
        let hint = [for_successor, self.next_read_wants(v)]
            .into_iter()
            .flatten()
            .find(|h| !unusable.contains(*h) && self.holder(*h).is_none());
        match hint {
            Some(h) => Ok(h),
            None => self.pick_reg(inst, busy, avoid),
        }
    }
}

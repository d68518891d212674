//! Baseline register allocator: local, simple, and obviously correct. It is the reference that
//! smarter allocators are measured against.
//!
//! Policy:
//! - a vreg live at a block boundary ("global"), and every block parameter, has a home stack
//!   slot (shared with globals that no block sees together with it). It is stored there once,
//!   right after its definition, so at every block entry all live values are in memory and no
//!   register state crosses a block boundary;
//! - values that never leave their block get block-local slots, reused by every block;
//! - within a block values live in registers; when registers run out, the value whose next use
//!   in the block is furthest away is evicted (local Belady), and stored first only when memory
//!   does not already hold it; evicted values are reloaded right before their next use;
//! - block arguments are written straight into the successor's parameter slots by a parallel
//!   move placed before the jump (cycles are broken through a free register or a spare slot).
//!
//! Liveness is computed by iterative dataflow, so a value dead at a point is never stored or
//! reloaded there.

use std::collections::{BTreeMap, BTreeSet};

use super::block_reads::BlockReads;
use super::liveness::{self, BitSet, Liveness, NUM_PREGS, preg_index};
use super::placement::{self, RegState};
use super::{
    Allocation, Edit, Location, MachFunction, PReg, PRegSet, ProgPoint, RegEnv, SpillSlot, Stats,
    VReg, check,
};
use crate::error::{CompileError, Result};

/// Allocates `func` and, in debug builds and tests, proves the result with [`check::verify`].
pub fn allocate(func: &dyn MachFunction, env: &RegEnv) -> Result<Allocation> {
    let allocation = allocate_unchecked(func, env)?;
    if cfg!(any(test, debug_assertions)) {
        check::verify(func, env, &allocation).map_err(|e| {
            CompileError::internal(format!(
                "baseline allocation failed its check: {}",
                e.message
            ))
        })?;
    }
    Ok(allocation)
}

/// The allocation without the self-check (the checker's own tests use it to feed it results).
pub(crate) fn allocate_unchecked(func: &dyn MachFunction, env: &RegEnv) -> Result<Allocation> {
    liveness::validate_env(env)?;
    liveness::validate_function(func, env)?;
    if u32::try_from(func.num_insts()).is_err() {
        return Err(CompileError::limit(
            "function has too many machine instructions",
        ));
    }
    let live = liveness::compute(func)?;

    let (home_slot, num_home_slots) = assign_home_slots(func, &live);

    let mut out = Output {
        regs: (0..func.num_insts())
            .map(|inst| vec![PReg(0); func.operands(inst).len()])
            .collect(),
        edits: Vec::new(),
        slots: SlotPool::new(num_home_slots),
    };
    for block in 0..func.num_blocks() {
        out.slots.reset_locals();
        BlockAllocator::new(func, env, &live, &home_slot, block, &mut out).run()?;
    }

    let stats = Stats {
        max_pressure: liveness::max_pressure(func, &live),
        ..Stats::of_edits(&out.edits)
    };
    let written = super::written_regs(func, &out.regs, &out.edits);
    Ok(Allocation {
        regs: out.regs,
        edits: out.edits,
        num_slots: out.slots.next,
        used_callee_saved: written.intersection(env.callee_saved),
        stats,
    })
}

/// Gives every global vreg (live at a block boundary, or a block parameter) a home slot. Two
/// globals share a slot when no block sees both: a home slot is only written and read in blocks
/// where its vreg is live in, live out, defined, or (for a parameter) passed by a predecessor's
/// jump, so such globals never need their slots at the same time.
fn assign_home_slots(func: &dyn MachFunction, live: &Liveness) -> (Vec<Option<u32>>, u32) {
    let num_vregs = func.num_vregs();
    let num_blocks = func.num_blocks();
    let mut global = BitSet::new(num_vregs);
    for b in 0..num_blocks {
        global.union_with(&live.live_in[b]);
        for p in func.block_params(b) {
            global.insert(p.0 as usize);
        }
    }
    // Blocks where each global's home slot may be in use.
    let mut blocks_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for b in 0..num_blocks {
        let mut present = live.live_in[b].clone();
        present.union_with(&live.live_out[b]);
        for p in func.block_params(b) {
            present.insert(p.0 as usize);
        }
        let range = func.block_insts(b);
        for inst in range.clone() {
            for v in liveness::inst_defs(func, inst) {
                present.insert(v.0 as usize);
            }
        }
        if let Some(terminator) = range.last()
            && !func.jump_args(terminator).is_empty()
        {
            for &s in func.block_succs(b) {
                for p in func.block_params(s) {
                    present.insert(p.0 as usize);
                }
            }
        }
        for v in present.iter().filter(|&v| global.contains(v)) {
            blocks_of.entry(v).or_default().push(b);
        }
    }
    let mut slots_in_block: Vec<Vec<u32>> = vec![Vec::new(); num_blocks];
    let mut home_slot = vec![None; num_vregs];
    let mut num_home_slots = 0u32;
    for (v, blocks) in &blocks_of {
        let mut taken: Vec<u32> = blocks
            .iter()
            .flat_map(|&b| slots_in_block[b].iter().copied())
            .collect();
        taken.sort_unstable();
        taken.dedup();
        // The lowest slot no block of `v` uses.
        let slot = taken
            .iter()
            .enumerate()
            .find(|(index, used)| **used != *index as u32)
            .map_or(taken.len() as u32, |(index, _)| index as u32);
        for &b in blocks {
            slots_in_block[b].push(slot);
        }
        home_slot[*v] = Some(slot);
        num_home_slots = num_home_slots.max(slot + 1);
    }
    (home_slot, num_home_slots)
}

/// What the per-block passes build up.
struct Output {
    regs: Vec<Vec<PReg>>,
    edits: Vec<(ProgPoint, Edit)>,
    slots: SlotPool,
}

/// Stack slots: home slots first, then block-local ones. A block-local value never outlives its
/// block, so every block may reuse all local slots.
struct SlotPool {
    first_local: u32,
    next: u32,
    free: BTreeSet<u32>,
}

impl SlotPool {
    fn new(first_local: u32) -> SlotPool {
        SlotPool {
            first_local,
            next: first_local,
            free: BTreeSet::new(),
        }
    }
    fn reset_locals(&mut self) {
        self.free = (self.first_local..self.next).collect();
    }
    fn take(&mut self) -> Result<u32> {
        if let Some(slot) = self.free.pop_first() {
            return Ok(slot);
        }
        let slot = self.next;
        self.next = slot
            .checked_add(1)
            .ok_or_else(|| CompileError::limit("too many spill slots"))?;
        Ok(slot)
    }
    fn give_back(&mut self, slot: u32) {
        self.free.insert(slot);
    }
}

/// Where one vreg's current value is, within the block being allocated.
#[derive(Clone, Copy, Debug)]
struct VState {
    regs: PRegSet,
    /// Its slot (home or local) holds the current value.
    in_memory: bool,
    local_slot: Option<u32>,
}

struct BlockAllocator<'a> {
    func: &'a dyn MachFunction,
    env: &'a RegEnv,
    home_slot: &'a [Option<u32>],
    live_out: &'a BitSet,
    /// Live-ins and parameters: in their home slots when the block starts.
    in_memory_at_entry: BitSet,
    block: usize,
    allocatable: PRegSet,
    reg_holds: [Option<VReg>; NUM_PREGS],
    vregs: BTreeMap<VReg, VState>,
    /// Instruction indices of the uses still ahead in this block, per vreg.
    reads: BlockReads,
    /// Registers the current instruction overwrites: a copy there does not keep a value alive.
    doomed: PRegSet,
    out: &'a mut Output,
}

impl<'a> BlockAllocator<'a> {
    fn new(
        func: &'a dyn MachFunction,
        env: &'a RegEnv,
        live: &'a Liveness,
        home_slot: &'a [Option<u32>],
        block: usize,
        out: &'a mut Output,
    ) -> BlockAllocator<'a> {
        let mut in_memory_at_entry = live.live_in[block].clone();
        for p in func.block_params(block) {
            in_memory_at_entry.insert(p.0 as usize);
        }
        BlockAllocator {
            func,
            env,
            home_slot,
            live_out: &live.live_out[block],
            in_memory_at_entry,
            block,
            allocatable: PRegSet::of(&env.allocatable),
            reg_holds: [None; NUM_PREGS],
            vregs: BTreeMap::new(),
            reads: BlockReads::default(),
            doomed: PRegSet::EMPTY,
            out,
        }
    }

    fn run(mut self) -> Result<()> {
        let range = self.func.block_insts(self.block);
        self.reads.fill(self.func, self.block);
        for inst in range.clone() {
            placement::place(&mut self, inst, inst + 1 == range.end).map_err(|e| CompileError {
                message: format!("{} (block {}, instruction {inst})", e.message, self.block),
                ..e
            })?;
        }
        Ok(())
    }

    fn state(&mut self, v: VReg) -> &mut VState {
        let in_memory = self.in_memory_at_entry.contains(v.0 as usize);
        self.vregs.entry(v).or_insert(VState {
            regs: PRegSet::EMPTY,
            in_memory,
            local_slot: None,
        })
    }

    fn set_holder(&mut self, r: PReg, v: Option<VReg>) {
        self.reg_holds[preg_index(r)] = v;
    }

    fn next_use(&self, v: VReg) -> usize {
        self.reads.next(v).unwrap_or(usize::MAX)
    }

    fn slot_of(&mut self, v: VReg) -> Result<u32> {
        if let Some(Some(slot)) = self.home_slot.get(v.0 as usize) {
            return Ok(*slot);
        }
        if let Some(slot) = self.state(v).local_slot {
            return Ok(slot);
        }
        let slot = self.out.slots.take()?;
        self.state(v).local_slot = Some(slot);
        Ok(slot)
    }

    fn emit(&mut self, inst: usize, after: bool, from: Location, to: Location) {
        self.out.edits.push(Edit::placed(inst, after, from, to));
    }

    /// Places the parallel move of the terminator's jump arguments into the successor's
    /// parameter slots. Registers in `busy` hold the terminator's operands and stay untouched.
    fn move_block_args(&mut self, inst: usize, busy: PRegSet) -> Result<()> {
        let func = self.func;
        let Some(&succ) = func.block_succs(self.block).first() else {
            return Err(CompileError::internal("jump arguments without a successor"));
        };
        let mut moves: Vec<(Location, Location)> = Vec::new();
        for (&arg, &param) in func.jump_args(inst).iter().zip(func.block_params(succ)) {
            let Some(Some(param_slot)) = self.home_slot.get(param.0 as usize).copied() else {
                return Err(CompileError::internal(format!(
                    "block parameter v{} has no home slot",
                    param.0
                )));
            };
            let dst = Location::Stack(SpillSlot(param_slot));
            let st = *self.state(arg);
            let src = if st.in_memory {
                let slot = self.slot_of(arg)?;
                if slot == param_slot {
                    continue;
                }
                match st.regs.first() {
                    Some(r) => Location::Reg(r),
                    None => Location::Stack(SpillSlot(slot)),
                }
            } else if let Some(r) = st.regs.first() {
                Location::Reg(r)
            } else {
                return Err(CompileError::internal(format!(
                    "jump argument v{} holds no value here",
                    arg.0
                )));
            };
            moves.push((src, dst));
        }

        let mut temp_slot = None;
        while !moves.is_empty() {
            let ready = (0..moves.len()).find(|&k| moves.iter().all(|(src, _)| *src != moves[k].1));
            if let Some(k) = ready {
                let (src, dst) = moves.remove(k);
                self.emit(inst, false, src, dst);
                continue;
            }
            // Every pending destination is still to be read: a cycle. Park one destination's
            // value elsewhere and read it from there.
            let blocked = moves[0].1;
            // A register temporary must be of the parked value's class; with several classes a
            // value parked from memory goes through a temporary slot (its width is the slot's).
            let class = match blocked {
                Location::Reg(b) => Some(self.env.class_of(b)),
                _ if self.env.classes.is_empty() => Some(0),
                _ => None,
            };
            let free_reg = match class {
                Some(class) => {
                    let outside = self.env.outside_class(class);
                    self.env.allocatable.iter().copied().find(|r| {
                        self.holder(*r).is_none()
                            && !busy.contains(*r)
                            && !self.doomed.contains(*r)
                            && !outside.contains(*r)
                    })
                }
                _ => None,
            };
            let temp = match free_reg {
                Some(r) => Location::Reg(r),
                None => {
                    let slot = match temp_slot {
                        Some(slot) => slot,
                        None => self.out.slots.take()?,
                    };
                    temp_slot = Some(slot);
                    Location::Stack(SpillSlot(slot))
                }
            };
            self.emit(inst, false, blocked, temp);
            for (src, _) in moves.iter_mut() {
                if *src == blocked {
                    *src = temp;
                }
            }
        }
        if let Some(slot) = temp_slot {
            self.out.slots.give_back(slot);
        }
        // The parameter slots now hold the successor's values, not this block's.
        for &param in func.block_params(succ) {
            self.state(param).in_memory = false;
        }
        Ok(())
    }
}

impl<'a> RegState<'a> for BlockAllocator<'a> {
    type Error = CompileError;

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
        self.reg_holds[preg_index(r)]
    }
    fn copies(&self, v: VReg) -> PRegSet {
        self.vregs.get(&v).map_or(PRegSet::EMPTY, |st| st.regs)
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
        let doomed = self.doomed;
        let needed = self.is_needed(w);
        let st = self.state(w);
        st.regs = st.regs.without(r);
        if needed && !st.in_memory && st.regs.difference(doomed).is_empty() {
            let slot = self.slot_of(w)?;
            self.emit(
                inst,
                false,
                Location::Reg(r),
                Location::Stack(SpillSlot(slot)),
            );
            self.state(w).in_memory = true;
        }
        Ok(())
    }
    /// Copies `v` into the empty register `target` before `inst`.
    fn materialize(&mut self, v: VReg, target: PReg, inst: usize) -> Result<()> {
        let st = *self.state(v);
        let from = if let Some(src) = st.regs.first() {
            Location::Reg(src)
        } else if st.in_memory {
            Location::Stack(SpillSlot(self.slot_of(v)?))
        } else {
            return Err(CompileError::internal(format!(
                "v{} is read but holds no value here (read before its definition?)",
                v.0
            )));
        };
        self.emit(inst, false, from, Location::Reg(target));
        self.set_holder(target, Some(v));
        let st = self.state(v);
        st.regs = st.regs.with(target);
        Ok(())
    }
    fn pick_reg(&mut self, inst: usize, busy: PRegSet, avoid: PRegSet) -> Result<PReg> {
        placement::pick_register(self, inst, busy, avoid)?.ok_or_else(|| {
            CompileError::limit(format!(
                "instruction needs more registers at once than the {} allocatable ones",
                self.env.allocatable.len()
            ))
        })
    }
    fn allocation_order(&self) -> &[PReg] {
        &self.env.allocatable
    }
    fn eviction_key(&self, w: VReg, _inst: usize) -> (u64, bool) {
        let st = self.vregs.get(&w).copied();
        let clean = st.is_some_and(|st| st.in_memory || st.regs.len() > 1);
        let distance = if self.is_needed(w) {
            self.next_use(w) as u64
        } else {
            u64::MAX
        };
        (distance, clean)
    }
    /// Drops every register copy of `v` and its local slot (its value is dead).
    fn forget(&mut self, v: VReg) {
        let st = *self.state(v);
        for r in st.regs.iter() {
            if self.holder(r) == Some(v) {
                self.set_holder(r, None);
            }
        }
        if let Some(slot) = st.local_slot {
            self.out.slots.give_back(slot);
        }
        let st = self.state(v);
        st.regs = PRegSet::EMPTY;
        st.in_memory = false;
        st.local_slot = None;
    }
    /// Still read later in this block, or live out of it.
    fn is_needed(&self, v: VReg) -> bool {
        self.reads.is_read_ahead(v) || self.live_out.contains(v.0 as usize)
    }
    fn pop_uses_through(&mut self, v: VReg, inst: usize) {
        self.reads.consume_through(v, inst);
    }
    /// Writes `v` into `r` at the end of `inst`; stores it to its home slot if it outlives the
    /// block, frees the register at once if nothing reads it.
    fn define(&mut self, v: VReg, r: PReg, inst: usize, is_terminator: bool) -> Result<()> {
        // Older copies hold a previous value of `v`.
        let old = self.state(v).regs;
        for reg in old.iter() {
            if self.holder(reg) == Some(v) {
                self.set_holder(reg, None);
            }
        }
        if let Some(w) = self.holder(r) {
            let st = self.state(w);
            st.regs = st.regs.without(r);
        }
        self.set_holder(r, Some(v));
        let st = self.state(v);
        st.regs = PRegSet::EMPTY.with(r);
        st.in_memory = false;
        if self.live_out.contains(v.0 as usize) {
            if is_terminator {
                return Err(CompileError::internal(format!(
                    "a terminator defines v{}, which is live after its block",
                    v.0
                )));
            }
            let slot = self.slot_of(v)?;
            self.emit(
                inst,
                true,
                Location::Reg(r),
                Location::Stack(SpillSlot(slot)),
            );
            self.state(v).in_memory = true;
        } else if !self.is_needed(v) {
            self.forget(v);
        }
        Ok(())
    }
    fn release(&mut self, r: PReg) {
        if let Some(w) = self.holder(r) {
            self.set_holder(r, None);
            let st = self.state(w);
            st.regs = st.regs.without(r);
        }
    }
    fn set_operand_reg(&mut self, inst: usize, operand: usize, r: PReg) {
        if let Some(slot) = self
            .out
            .regs
            .get_mut(inst)
            .and_then(|regs| regs.get_mut(operand))
        {
            *slot = r;
        }
    }
    fn operand_reg(&self, inst: usize, operand: usize) -> PReg {
        self.out
            .regs
            .get(inst)
            .and_then(|regs| regs.get(operand))
            .copied()
            .unwrap_or(PReg(0))
    }
    /// The terminator's jump arguments go to the successor's parameter slots while the
    /// terminator's own operands sit in `busy`.
    fn after_uses_placed(&mut self, inst: usize, is_terminator: bool, busy: PRegSet) -> Result<()> {
        if is_terminator && !self.func.jump_args(inst).is_empty() {
            self.move_block_args(inst, busy)?;
        }
        Ok(())
    }
}

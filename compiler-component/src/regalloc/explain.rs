//! Why an allocation looks the way it does, for the report (`Options::explain_allocation`).
//!
//! It replays the allocated function with the checker's symbolic state (which location holds
//! which vreg, on every path) and per-instruction liveness, one *step* at a time: the edits
//! before an instruction, the instruction, the edits after it, blocks in layout order (the
//! order the emitters follow, so a listing line can name its step). From that it derives, for
//! every step, the live values and where each one is; and for every edit, the value it
//! concerns and a reason read off the allocation itself: a spill store is explained by the
//! point where its value later leaves the registers (and the next-use distances of the values
//! that stayed), a reload or rematerialization by the read it serves, a move by the constraint
//! that needs it. Nothing here steers allocation; it is an after-the-fact account.

use std::collections::{BTreeMap, HashMap};

use super::check::{self, Step};
use super::liveness::{self, BitSet};
use super::next_use::{LOOP_EXIT_PENALTY, NEVER, NextUse};
use super::{Allocation, Constraint, Location, MachFunction, OperandKind, PReg, RegEnv, VReg};
use crate::error::Result;

/// One step of the replay, in layout order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// An edit: its index in `Allocation::edits`.
    Edit(usize),
    /// A machine instruction.
    Inst(usize),
}

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Function parameter `n`, arriving in its ABI location.
    Param(u32),
    /// A parameter of block `b` (a value that merges paths, e.g. a wasm local in a loop).
    BlockParam(usize),
    /// Written by an instruction.
    Inst(usize),
    /// Never written (an unused vreg number).
    None,
}

/// How far ahead a value is read next, in instructions along the CFG, as the spiller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Distance {
    Instructions(u64),
    /// Only after leaving the loop it is in.
    AfterLoop,
    Never,
}

impl Distance {
    fn of(raw: u64) -> Distance {
        if raw >= NEVER {
            Distance::Never
        } else if raw >= LOOP_EXIT_PENALTY {
            Distance::AfterLoop
        } else {
            Distance::Instructions(raw)
        }
    }
}

/// What made a value leave its register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionCause {
    /// Its next use was the furthest of the values in registers of its class (Belady).
    Furthest,
    /// Some value in a register was read later, yet this one was evicted (the allocator also
    /// weighs constraints, calls and what a loop needs).
    NotFurthest,
    /// The instruction overwrites the register (a call's clobber).
    Clobbered,
    /// The instruction needs this very register for one of its operands.
    FixedOperand,
    /// The block starts with the value only in its slot (its predecessors do not all leave it
    /// in the same register, or it is not among the values the block keeps in registers).
    BlockStart(usize),
}

/// Why an edit exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A spill store: the value is kept in the slot because it later leaves the registers.
    Evicted {
        /// The step after which it is no longer in a register.
        at: u32,
        /// The register it left.
        register: Option<PReg>,
        cause: EvictionCause,
        /// Its next use seen from that step.
        distance: Distance,
        /// The other values of its class in registers there, with their next uses, nearest
        /// first (at most [`MAX_COMPETITORS`]).
        competitors: Vec<(VReg, Distance)>,
        /// Allocatable registers of its class.
        registers: u32,
    },
    /// A spill store whose value stays in a register along the layout order (it is needed in
    /// the slot on another path, e.g. where blocks join).
    StoredForAnotherPath,
    /// A constant written to a stack slot (a stack-located block parameter or argument).
    ConstantToSlot,
    /// A reload (or rematerialization) for the read at step `for_use`; `None`: for a later
    /// block.
    Needed { for_use: Option<u32> },
    /// A move into the register an operand of the instruction at `at` is pinned to (call
    /// arguments, return values).
    FixedOperand { at: u32 },
    /// A move out of the register the instruction at `at` defines its result in.
    FixedResult { at: u32 },
    /// A move of a block argument into the location the successor block expects.
    BlockArgument { block: usize },
    /// A move out of a register the instruction at `at` clobbers (a call), so the value
    /// survives it.
    SurvivesClobber { at: u32 },
    /// A move that places the value for the instruction at `at`.
    Placement { at: u32 },
}

/// At most this many competing values are listed per eviction.
pub const MAX_COMPETITORS: usize = 6;

/// An edit's account: the value it concerns and why it is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditNote {
    /// Step of the edit.
    pub step: u32,
    pub vreg: Option<VReg>,
    pub reason: Reason,
}

/// A value in one location over consecutive steps `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveRange {
    pub vreg: VReg,
    pub location: Location,
    pub start: u32,
    pub end: u32,
}

/// The whole account of one allocation.
#[derive(Clone, Debug, Default)]
pub struct Explanation {
    /// Every step in layout order.
    pub steps: Vec<StepKind>,
    /// First step of each block.
    pub block_starts: Vec<u32>,
    /// Origin and register class of every vreg, by number.
    pub values: Vec<(Origin, usize)>,
    /// Where live values are, step by step; sorted by start.
    pub ranges: Vec<LiveRange>,
    /// Values live before each step (in any location, or rematerializable in none).
    pub pressure: Vec<u32>,
    /// One note per edit, in `Allocation::edits` order.
    pub notes: Vec<EditNote>,
    /// Per stack slot, the values that occupy it at some step (sorted).
    pub slots: Vec<Vec<VReg>>,
}

/// Per block: the vregs whose last read is each instruction (they die there) and the defs
/// nobody reads, so liveness can be run forward along the steps.
struct BlockLiveness {
    start: BitSet,
    dies: Vec<Vec<VReg>>,
    dead_defs: Vec<Vec<VReg>>,
    /// Instructions reading each vreg, ascending.
    reads: HashMap<VReg, Vec<usize>>,
}

fn block_liveness(func: &dyn MachFunction, b: usize, live_out: &BitSet) -> BlockLiveness {
    let range = func.block_insts(b);
    let mut live = live_out.clone();
    let mut dies = vec![Vec::new(); range.len()];
    let mut dead_defs = vec![Vec::new(); range.len()];
    let mut reads: HashMap<VReg, Vec<usize>> = HashMap::new();
    for (k, inst) in range.clone().enumerate().rev() {
        for v in liveness::inst_defs(func, inst) {
            if !live.remove(v.0 as usize) {
                dead_defs[k].push(v);
            }
        }
        for v in liveness::inst_uses(func, inst) {
            if live.insert(v.0 as usize) {
                dies[k].push(v);
            }
            let list = reads.entry(v).or_default();
            if list.last() != Some(&inst) {
                list.push(inst);
            }
        }
    }
    for list in reads.values_mut() {
        list.reverse();
    }
    BlockLiveness {
        start: live,
        dies,
        dead_defs,
        reads,
    }
}

/// Explains `alloc` of `func` (which the checker accepts; an allocation it rejects is an error
/// here too).
pub fn explain(func: &dyn MachFunction, env: &RegEnv, alloc: &Allocation) -> Result<Explanation> {
    liveness::validate_env(env)?;
    liveness::validate_function(func, env)?;
    let per_inst = check::check_shape(func, env, alloc)?;
    let entry = check::entry_states(func, alloc, &per_inst)?;
    let live = liveness::compute(func)?;
    let next_use = NextUse::compute(func, &live);

    let mut ex = Explanation {
        values: origins(func),
        slots: vec![Vec::new(); alloc.num_slots as usize],
        ..Explanation::default()
    };
    let mut notes: Vec<Option<EditNote>> = vec![None; alloc.edits.len()];
    let mut inst_step: Vec<u32> = vec![0; func.num_insts()];
    // Open ranges: (vreg, location) -> first step.
    let mut open: BTreeMap<(VReg, Location), u32> = BTreeMap::new();
    let mut previous: Vec<(VReg, Location)> = Vec::new();
    // Spill stores waiting for their value to leave the registers: vreg -> edit index.
    let mut pending: BTreeMap<VReg, usize> = BTreeMap::new();
    // Reloads and rematerializations waiting for the read they serve: (edit, vreg).
    let mut awaiting_use: Vec<(usize, VReg)> = Vec::new();

    for (b, entry_state) in entry.iter().enumerate() {
        let block_start = ex.steps.len() as u32;
        ex.block_starts.push(block_start);
        let facts = block_liveness(func, b, &live.live_out[b]);
        let first = func.block_insts(b).start;
        let mut live_now = facts.start.clone();
        // A block the entry does not reach starts from "anything anywhere", as in the checker
        // (its reads cannot fail; it shows no locations).
        let state = entry_state
            .clone()
            .unwrap_or_else(|| check::State::new(alloc.num_slots, true));
        check::run_block(func, alloc, &per_inst, b, state, &mut |step, state| {
            let step_index = ex.steps.len() as u32;
            let (kind, inst) = match step {
                Step::Edit(index, _) => (StepKind::Edit(index), None),
                Step::Inst(inst) => (StepKind::Inst(inst), Some(inst)),
            };
            if let Some(inst) = inst
                && let Some(slot) = inst_step.get_mut(inst)
            {
                *slot = step_index;
            }
            ex.steps.push(kind);
            ex.pressure.push(live_now.count() as u32);

            // Where each live value is now.
            let mut current: Vec<(VReg, Location)> = Vec::new();
            for (loc, held) in state.held() {
                for v in held.iter() {
                    if live_now.contains(v.0 as usize) {
                        current.push((v, loc));
                    }
                }
            }
            current.sort();
            // `open` holds exactly the pairs of `previous`: walk both sorted lists and touch
            // only what changed.
            let (mut i, mut j) = (0, 0);
            while i < previous.len() || j < current.len() {
                let gone = match (previous.get(i), current.get(j)) {
                    (Some(p), Some(c)) if p == c => {
                        i += 1;
                        j += 1;
                        continue;
                    }
                    (Some(p), Some(c)) => p < c,
                    (Some(_), None) => true,
                    _ => false,
                };
                if gone {
                    let pair = previous[i];
                    if let Some(start) = open.remove(&pair) {
                        ex.ranges.push(LiveRange {
                            vreg: pair.0,
                            location: pair.1,
                            start,
                            end: step_index,
                        });
                    }
                    i += 1;
                } else {
                    open.insert(current[j], step_index);
                    j += 1;
                }
            }

            // A pending spill whose value is live but in no register: it was evicted by the
            // step before this one (or the block starts without it).
            // `current` is sorted by vreg, registers before slots.
            let in_register = |v: VReg, pairs: &[(VReg, Location)]| {
                let k = pairs.partition_point(|(x, _)| *x < v);
                pairs
                    .get(k)
                    .filter(|(x, loc)| *x == v && matches!(loc, Location::Reg(_)))
                    .map(|(_, loc)| *loc)
            };
            let evicted: Vec<VReg> = if pending.is_empty() {
                Vec::new()
            } else {
                pending
                    .keys()
                    .copied()
                    .filter(|v| {
                        live_now.contains(v.0 as usize) && in_register(*v, &current).is_none()
                    })
                    .collect()
            };
            for v in evicted {
                let Some(edit) = pending.remove(&v) else {
                    continue;
                };
                let register = match in_register(v, &previous) {
                    Some(Location::Reg(r)) => Some(r),
                    _ => None,
                };
                let class = ex.values.get(v.0 as usize).map_or(0, |(_, c)| *c);
                let reason = if step_index == block_start || register.is_none() {
                    Reason::Evicted {
                        at: step_index,
                        register,
                        cause: EvictionCause::BlockStart(b),
                        distance: Distance::of(distance(func, &next_use, &facts, b, first, v)),
                        competitors: Vec::new(),
                        registers: env.class_size(class) as u32,
                    }
                } else {
                    let at = step_index - 1;
                    let at_inst = match ex.steps.get(at as usize) {
                        Some(StepKind::Inst(i)) => Some(*i),
                        _ => None,
                    };
                    // The values compete for the registers once the instruction has read its
                    // operands: distances count from the instruction after it.
                    let from = at_inst.map_or(first, |i| i + 1);
                    let own = distance(func, &next_use, &facts, b, from, v);
                    let mut competitors: Vec<(VReg, u64)> = previous
                        .iter()
                        .filter(|(x, loc)| {
                            *x != v
                                && matches!(loc, Location::Reg(_))
                                && ex.values.get(x.0 as usize).map_or(0, |(_, c)| *c) == class
                        })
                        .map(|(x, _)| (*x, distance(func, &next_use, &facts, b, from, *x)))
                        .collect();
                    competitors.dedup_by_key(|(x, _)| *x);
                    let cause = match (at_inst, register) {
                        (Some(i), Some(r)) if func.clobbers(i).contains(r) => {
                            EvictionCause::Clobbered
                        }
                        (Some(i), Some(r))
                            if func.operands(i).iter().any(|op| {
                                op.vreg != v && op.constraint == Constraint::Fixed(r)
                            }) =>
                        {
                            EvictionCause::FixedOperand
                        }
                        _ if competitors.iter().all(|(_, d)| *d <= own) => EvictionCause::Furthest,
                        _ => EvictionCause::NotFurthest,
                    };
                    competitors.sort_by_key(|(x, d)| (std::cmp::Reverse(*d), *x));
                    competitors.truncate(MAX_COMPETITORS);
                    Reason::Evicted {
                        at,
                        register,
                        cause,
                        distance: Distance::of(own),
                        competitors: competitors
                            .into_iter()
                            .map(|(x, d)| (x, Distance::of(d)))
                            .collect(),
                        registers: env.class_size(class) as u32,
                    }
                };
                if let Some(Some(note)) = notes.get_mut(edit) {
                    note.reason = reason;
                }
            }

            // Reloads waiting for their read: this instruction reads the value.
            if let Some(inst) = inst {
                awaiting_use.retain(|(edit, v)| {
                    if liveness::inst_uses(func, inst).any(|u| u == *v) {
                        if let Some(Some(note)) = notes.get_mut(*edit) {
                            note.reason = Reason::Needed {
                                for_use: Some(step_index),
                            };
                        }
                        false
                    } else {
                        true
                    }
                });
            }

            if let Step::Edit(index, edit) = step {
                let vreg = match edit.from {
                    Location::Remat(v) => Some(v),
                    from => {
                        let held = state.get(from).vregs();
                        held.iter()
                            .copied()
                            .find(|v| live_now.contains(v.0 as usize))
                            .or_else(|| held.first().copied())
                    }
                };
                let point = alloc.edits.get(index).map(|(p, _)| *p);
                let reason = edit_reason(func, b, point, edit.from, edit.to, vreg);
                if let Some(v) = vreg {
                    match reason {
                        Reason::StoredForAnotherPath => {
                            pending.insert(v, index);
                        }
                        Reason::Needed { .. } => awaiting_use.push((index, v)),
                        _ => {}
                    }
                }
                if let Some(slot) = notes.get_mut(index) {
                    *slot = Some(EditNote {
                        step: step_index,
                        vreg,
                        reason,
                    });
                }
            }

            // Past the instruction: its dying reads end, its defs begin.
            if let Some(inst) = inst {
                let k = inst - first;
                for v in facts.dies.get(k).into_iter().flatten() {
                    live_now.remove(v.0 as usize);
                }
                for v in liveness::inst_defs(func, inst) {
                    if !facts.dead_defs.get(k).is_some_and(|d| d.contains(&v)) {
                        live_now.insert(v.0 as usize);
                    }
                }
            }
            previous = current;
        })?;
        // Reloads for a read in a later block.
        for (edit, _) in awaiting_use.drain(..) {
            if let Some(Some(note)) = notes.get_mut(edit) {
                note.reason = Reason::Needed { for_use: None };
            }
        }
    }
    let end = ex.steps.len() as u32;
    for ((vreg, location), start) in open {
        ex.ranges.push(LiveRange {
            vreg,
            location,
            start,
            end,
        });
    }
    ex.ranges.sort_by_key(|r| (r.start, r.vreg, r.location));
    for range in &ex.ranges {
        if let Location::Stack(s) = range.location
            && let Some(values) = ex.slots.get_mut(s.0 as usize)
            && !values.contains(&range.vreg)
        {
            values.push(range.vreg);
        }
    }
    for values in &mut ex.slots {
        values.sort();
    }
    // `edit_reason` names instructions; the notes name steps.
    let step_of = |inst: u32| inst_step.get(inst as usize).copied().unwrap_or(0);
    ex.notes = notes
        .into_iter()
        .flatten()
        .map(|mut note| {
            note.reason = match note.reason {
                Reason::FixedOperand { at } => Reason::FixedOperand { at: step_of(at) },
                Reason::FixedResult { at } => Reason::FixedResult { at: step_of(at) },
                Reason::SurvivesClobber { at } => Reason::SurvivesClobber { at: step_of(at) },
                Reason::Placement { at } => Reason::Placement { at: step_of(at) },
                other => other,
            };
            note
        })
        .collect();
    Ok(ex)
}

/// Next-use distance of `v` from instruction `from` of block `b` (CFG-wide past the block).
fn distance(
    func: &dyn MachFunction,
    next_use: &NextUse,
    facts: &BlockLiveness,
    b: usize,
    from: usize,
    v: VReg,
) -> u64 {
    let end = func.block_insts(b).end;
    if let Some(reads) = facts.reads.get(&v) {
        let k = reads.partition_point(|&i| i < from);
        if let Some(&i) = reads.get(k) {
            return (i - from) as u64;
        }
    }
    (end - from) as u64 + next_use.after_block_end(b, v.0)
}

/// The reason of an edit that the edit and its neighbourhood alone tell; spill stores start
/// as [`Reason::StoredForAnotherPath`] and reloads as `Needed { for_use: None }` until the
/// replay finds the eviction or the read.
fn edit_reason(
    func: &dyn MachFunction,
    b: usize,
    point: Option<super::ProgPoint>,
    from: Location,
    to: Location,
    vreg: Option<VReg>,
) -> Reason {
    let Some(point) = point else {
        return Reason::StoredForAnotherPath;
    };
    let inst = point.inst as usize;
    let is_terminator = func.block_insts(b).end == inst + 1;
    match (from, to) {
        (Location::Remat(_), Location::Stack(_)) => Reason::ConstantToSlot,
        (Location::Reg(_), Location::Stack(_)) if !is_terminator || point.after => {
            Reason::StoredForAnotherPath
        }
        (Location::Stack(_) | Location::Remat(_), Location::Reg(_)) if !is_terminator => {
            Reason::Needed { for_use: None }
        }
        _ => {
            let at = point.inst; // an instruction index; mapped to its step by the caller
            let ops = func.operands(inst);
            let pinned = |kind_is_use: bool, r: PReg| {
                ops.iter().any(|op| {
                    Some(op.vreg) == vreg
                        && (op.kind == OperandKind::Use) == kind_is_use
                        && op.constraint == Constraint::Fixed(r)
                })
            };
            if !point.after
                && is_terminator
                && vreg.is_some_and(|v| func.jump_args(inst).contains(&v))
            {
                let block = func.block_succs(b).first().copied().unwrap_or(b);
                return Reason::BlockArgument { block };
            }
            match (from, to, point.after) {
                (_, Location::Reg(r), false) if pinned(true, r) => Reason::FixedOperand { at },
                (Location::Reg(r), _, true) if pinned(false, r) => Reason::FixedResult { at },
                (Location::Reg(r), _, false) if func.clobbers(inst).contains(r) => {
                    Reason::SurvivesClobber { at }
                }
                (Location::Stack(_) | Location::Remat(_), Location::Reg(_), _) => {
                    Reason::Needed { for_use: None }
                }
                (Location::Reg(_), Location::Stack(_), _) => Reason::StoredForAnotherPath,
                _ => Reason::Placement { at },
            }
        }
    }
}

/// Origin and class of every vreg.
fn origins(func: &dyn MachFunction) -> Vec<(Origin, usize)> {
    let mut values: Vec<(Origin, usize)> = (0..func.num_vregs())
        .map(|v| (Origin::None, func.vreg_class(VReg(v as u32))))
        .collect();
    for b in 0..func.num_blocks() {
        for p in func.block_params(b) {
            if let Some(slot) = values.get_mut(p.0 as usize) {
                slot.0 = Origin::BlockParam(b);
            }
        }
    }
    for inst in 0..func.num_insts() {
        let mut param = 0u32;
        for op in func.operands(inst) {
            if op.kind == OperandKind::Use {
                continue;
            }
            let Some(slot) = values.get_mut(op.vreg.0 as usize) else {
                continue;
            };
            if slot.0 != Origin::None {
                continue;
            }
            // Function parameters arrive as fixed defs of the entry instruction.
            slot.0 = if inst == 0 && matches!(op.constraint, Constraint::Fixed(_)) {
                param += 1;
                Origin::Param(param - 1)
            } else {
                Origin::Inst(inst)
            };
        }
    }
    values
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;

//! An independent checker for register allocations.
//!
//! It executes the allocated function symbolically: for every register and stack slot it tracks
//! the set of vregs whose current value the location is known to hold on *every* path (sets are
//! intersected where paths join). Instructions and edits update the sets; each `Use` operand
//! must find its vreg in its register. A def invalidates older copies of the same vreg; clobbers
//! empty their registers; at a jump, the successor's parameters are found wherever the matching
//! arguments are. Blocks unreachable from the entry start from "anything may be anywhere", so
//! only mistakes inside such a block show up there.
//!
//! Shape rules are checked too: operand registers honour their constraints, early defs share
//! no register with uses, edits are sorted, in range, never after a terminator and never touch
//! the scratch register, written callee-saved registers are reported, statistics match edits.

use std::collections::BTreeSet;

use super::liveness::{self, NUM_PREGS};
use super::{
    Allocation, Constraint, Edit, EditKind, Location, MachFunction, OperandKind, PReg, PRegSet,
    RegEnv, VReg,
};
use crate::error::{CompileError, Result};

fn fail(message: String) -> CompileError {
    CompileError::internal(format!("allocation check: {message}"))
}

fn describe(loc: Location) -> String {
    match loc {
        Location::Reg(r) => format!("register {}", r.0),
        Location::Stack(s) => format!("slot {}", s.0),
        Location::Remat(v) => format!("constant v{}", v.0),
    }
}

/// Verifies `alloc` for `func`: `Ok` means every read finds the value it expects on every path.
pub fn verify(func: &dyn MachFunction, env: &RegEnv, alloc: &Allocation) -> Result<()> {
    liveness::validate_env(env)?;
    liveness::validate_function(func, env)?;
    let edits = check_shape(func, env, alloc)?;
    check_dataflow(func, alloc, &edits)
}

/// Edits of one instruction, before and after it, each with its index in `Allocation::edits`.
#[derive(Default)]
pub(super) struct InstEdits {
    before: Vec<(usize, Edit)>,
    after: Vec<(usize, Edit)>,
}

pub(super) fn check_shape(
    func: &dyn MachFunction,
    env: &RegEnv,
    alloc: &Allocation,
) -> Result<Vec<InstEdits>> {
    let num_insts = func.num_insts();
    if alloc.regs.len() != num_insts {
        return Err(fail(format!(
            "{} register lists for {num_insts} instructions",
            alloc.regs.len()
        )));
    }
    let allocatable = PRegSet::of(&env.allocatable);
    let mut is_terminator = vec![false; num_insts];
    for b in 0..func.num_blocks() {
        if let Some(last) = func.block_insts(b).last() {
            is_terminator[last] = true;
        }
    }

    // Registers an edit may name: the allocatable ones and those operands are pinned to.
    let mut edit_regs = allocatable;
    let mut written = PRegSet::EMPTY;
    for (inst, regs) in alloc.regs.iter().enumerate() {
        let ops = func.operands(inst);
        if regs.len() != ops.len() {
            return Err(fail(format!(
                "instruction {inst} has {} operands but {} registers",
                ops.len(),
                regs.len()
            )));
        }
        let mut use_regs = PRegSet::EMPTY;
        let mut def_regs = PRegSet::EMPTY;
        for (index, (op, &r)) in ops.iter().zip(regs).enumerate() {
            let at = format!("instruction {inst} operand {index} (v{})", op.vreg.0);
            if usize::from(r.0) >= NUM_PREGS || r == env.scratch {
                return Err(fail(format!("{at} is in register {}", r.0)));
            }
            match op.constraint {
                Constraint::Fixed(p) => {
                    edit_regs = edit_regs.with(p);
                    if r != p {
                        return Err(fail(format!(
                            "{at} is pinned to register {} but got {}",
                            p.0, r.0
                        )));
                    }
                }
                Constraint::Reg => {
                    if !allocatable.contains(r) {
                        return Err(fail(format!(
                            "{at} got register {}, which is not allocatable",
                            r.0
                        )));
                    }
                    if env.outside_class(func.vreg_class(op.vreg)).contains(r) {
                        return Err(fail(format!(
                            "{at} got register {}, outside the class of v{}",
                            r.0, op.vreg.0
                        )));
                    }
                }
            }
            if op.kind == OperandKind::Use {
                use_regs = use_regs.with(r);
            } else {
                if def_regs.contains(r) {
                    return Err(fail(format!("{at}: two defs written to register {}", r.0)));
                }
                def_regs = def_regs.with(r);
                written = written.with(r);
            }
        }
        for (index, (op, &r)) in ops.iter().zip(regs).enumerate() {
            if op.kind == OperandKind::EarlyDef && use_regs.contains(r) {
                return Err(fail(format!(
                    "instruction {inst} operand {index}: early def shares register {} with a use",
                    r.0
                )));
            }
        }
    }

    let mut per_inst: Vec<InstEdits> = (0..num_insts).map(|_| InstEdits::default()).collect();
    let mut counts = [0u32; 4];
    let mut previous = None;
    for (index, (point, edit)) in alloc.edits.iter().enumerate() {
        let at = format!(
            "edit {} {} instruction {}",
            edit_text(edit),
            if point.after { "after" } else { "before" },
            point.inst
        );
        if previous.is_some_and(|p| p > *point) {
            return Err(fail(format!("{at} is out of order")));
        }
        previous = Some(*point);
        let inst = point.inst as usize;
        let Some(slot) = per_inst.get_mut(inst) else {
            return Err(fail(format!("{at}: no such instruction")));
        };
        if point.after && is_terminator[inst] {
            return Err(fail(format!("{at}: nothing may follow a terminator")));
        }
        for loc in [edit.from, edit.to] {
            match loc {
                Location::Reg(r) => {
                    if usize::from(r.0) >= NUM_PREGS || r == env.scratch || !edit_regs.contains(r) {
                        return Err(fail(format!("{at} names register {}", r.0)));
                    }
                }
                Location::Stack(s) => {
                    if s.0 >= alloc.num_slots {
                        return Err(fail(format!(
                            "{at} names slot {} of {}",
                            s.0, alloc.num_slots
                        )));
                    }
                }
                // Only a constant can be recreated, and only as a source.
                Location::Remat(v) => {
                    if loc == edit.to || v.0 as usize >= func.num_vregs() || !func.can_remat(v) {
                        return Err(fail(format!("{at} rematerializes v{}", v.0)));
                    }
                }
            }
        }
        if edit.kind != EditKind::of(edit.from, edit.to) {
            return Err(fail(format!("{at} is labelled {:?}", edit.kind)));
        }
        counts[match edit.kind {
            EditKind::Spill => 0,
            EditKind::Reload => 1,
            EditKind::Move => 2,
            EditKind::Remat => 3,
        }] += 1;
        if edit.stores_constant() {
            counts[0] += 1;
        }
        if let Location::Reg(r) = edit.to {
            written = written.with(r);
        }
        if point.after {
            slot.after.push((index, *edit));
        } else {
            slot.before.push((index, *edit));
        }
    }

    let unsaved = written
        .intersection(env.callee_saved)
        .difference(alloc.used_callee_saved);
    if let Some(r) = unsaved.first() {
        return Err(fail(format!(
            "callee-saved register {} is written but not reported",
            r.0
        )));
    }
    let stats = &alloc.stats;
    if [stats.spills, stats.reloads, stats.moves, stats.remats] != counts {
        return Err(fail(format!(
            "statistics say {}/{}/{}/{} spills/reloads/moves/remats, edits have {}/{}/{}/{}",
            stats.spills,
            stats.reloads,
            stats.moves,
            stats.remats,
            counts[0],
            counts[1],
            counts[2],
            counts[3]
        )));
    }
    Ok(per_inst)
}

fn edit_text(edit: &Edit) -> String {
    format!("{} -> {}", describe(edit.from), describe(edit.to))
}

/// What one location holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Held {
    Nothing,
    /// Unknown, in code unreachable from the entry: any read passes.
    Any,
    One(VReg),
    /// Sorted, at least two (a value that is an argument and a parameter at once).
    Many(Vec<VReg>),
}

impl Held {
    fn from_sorted(mut vregs: Vec<VReg>) -> Held {
        match vregs.len() {
            0 => Held::Nothing,
            1 => Held::One(vregs.remove(0)),
            _ => Held::Many(vregs),
        }
    }

    fn contains(&self, v: VReg) -> bool {
        match self {
            Held::Nothing => false,
            Held::Any => true,
            Held::One(x) => *x == v,
            Held::Many(xs) => xs.binary_search(&v).is_ok(),
        }
    }

    /// The vregs held, without allocating.
    pub(super) fn iter(&self) -> impl Iterator<Item = VReg> + '_ {
        let (one, many): (Option<VReg>, &[VReg]) = match self {
            Held::One(x) => (Some(*x), &[]),
            Held::Many(xs) => (None, xs.as_slice()),
            Held::Nothing | Held::Any => (None, &[]),
        };
        one.into_iter().chain(many.iter().copied())
    }

    pub(super) fn vregs(&self) -> Vec<VReg> {
        match self {
            Held::Nothing | Held::Any => Vec::new(),
            Held::One(x) => vec![*x],
            Held::Many(xs) => xs.clone(),
        }
    }

    fn remove(&mut self, v: VReg) {
        match self {
            Held::One(x) if *x == v => *self = Held::Nothing,
            Held::Many(xs) if xs.contains(&v) => {
                *self = Held::from_sorted(xs.iter().copied().filter(|x| *x != v).collect());
            }
            _ => {}
        }
    }

    /// Keeps what both hold; true if `self` changed.
    fn meet(&mut self, other: &Held) -> bool {
        let next = match (&*self, other) {
            (_, Held::Any) => return false,
            (Held::Any, _) => other.clone(),
            _ => {
                let mine = self.vregs();
                Held::from_sorted(mine.into_iter().filter(|v| other.contains(*v)).collect())
            }
        };
        let changed = next != *self;
        *self = next;
        changed
    }

    fn describe(&self) -> String {
        match self {
            Held::Any => "anything".into(),
            _ => {
                let names: Vec<String> = self.vregs().iter().map(|v| format!("v{}", v.0)).collect();
                format!("[{}]", names.join(", "))
            }
        }
    }
}

/// What every location holds at one program point: registers 0..64, then the stack slots.
/// A dense vector, because states are cloned at every edge and a def must find every stale
/// copy of its vreg.
#[derive(Clone, Debug)]
pub(super) struct State {
    locs: Vec<Held>,
}

fn loc_index(loc: Location) -> usize {
    match loc {
        Location::Reg(r) => usize::from(r.0),
        Location::Stack(s) => NUM_PREGS + s.0 as usize,
        // Not a place: reads see nothing, writes are rejected by the shape check.
        Location::Remat(_) => usize::MAX,
    }
}

impl State {
    pub(super) fn new(num_slots: u32, unknown_is_any: bool) -> State {
        let fill = if unknown_is_any {
            Held::Any
        } else {
            Held::Nothing
        };
        State {
            locs: vec![fill; NUM_PREGS + num_slots as usize],
        }
    }

    pub(super) fn get(&self, loc: Location) -> &Held {
        self.locs.get(loc_index(loc)).unwrap_or(&Held::Nothing)
    }

    fn set(&mut self, loc: Location, held: Held) {
        if let Some(slot) = self.locs.get_mut(loc_index(loc)) {
            *slot = held;
        }
    }

    fn copy(&mut self, from: Location, to: Location) {
        let held = match from {
            // The constant itself: valid wherever it is recreated.
            Location::Remat(v) => Held::One(v),
            _ => self.get(from).clone(),
        };
        self.set(to, held);
    }

    /// A new value of `v` is written to `r`: older copies are stale.
    fn define(&mut self, v: VReg, r: PReg) {
        for held in &mut self.locs {
            held.remove(v);
        }
        self.set(Location::Reg(r), Held::One(v));
    }

    /// The successor's parameters take the arguments' values, wherever those are.
    fn pass_block_args(&mut self, args: &[VReg], params: &[VReg]) {
        for held in &mut self.locs {
            if matches!(held, Held::Nothing | Held::Any) {
                continue;
            }
            let mine = held.vregs();
            let mut next: Vec<VReg> = mine
                .iter()
                .copied()
                .filter(|v| !params.contains(v))
                .collect();
            for (a, p) in args.iter().zip(params) {
                if mine.contains(a) {
                    next.push(*p);
                }
            }
            next.sort();
            next.dedup();
            *held = Held::from_sorted(next);
        }
    }

    /// Every location that holds something, in register-then-slot order.
    pub(super) fn held(&self) -> impl Iterator<Item = (Location, &Held)> {
        self.locs.iter().enumerate().filter_map(|(i, held)| {
            let loc = if i < NUM_PREGS {
                Location::Reg(PReg(i as u8))
            } else {
                Location::Stack(super::SpillSlot((i - NUM_PREGS) as u32))
            };
            (!matches!(held, Held::Nothing)).then_some((loc, held))
        })
    }

    /// Keeps only what both states know. True if `self` changed.
    fn meet(&mut self, other: &State) -> bool {
        let mut changed = false;
        for (mine, theirs) in self.locs.iter_mut().zip(&other.locs) {
            changed |= mine.meet(theirs);
        }
        changed
    }
}

fn check_dataflow(func: &dyn MachFunction, alloc: &Allocation, edits: &[InstEdits]) -> Result<()> {
    let entry_states = entry_states(func, alloc, edits)?;
    for (b, _) in entry_states.iter().enumerate().filter(|(_, s)| s.is_none()) {
        run_block(
            func,
            alloc,
            edits,
            b,
            State::new(alloc.num_slots, true),
            &mut |_, _| {},
        )?;
    }
    Ok(())
}

/// What every location holds when each block starts, on every path from the entry (a forward
/// dataflow to a fixed point); `None` for blocks the entry does not reach.
pub(super) fn entry_states(
    func: &dyn MachFunction,
    alloc: &Allocation,
    edits: &[InstEdits],
) -> Result<Vec<Option<State>>> {
    let num_blocks = func.num_blocks();
    let mut entry_states: Vec<Option<State>> = vec![None; num_blocks];
    entry_states[0] = Some(State::new(alloc.num_slots, false));
    let mut pending = BTreeSet::from([0usize]);
    while let Some(b) = pending.pop_first() {
        let Some(state) = entry_states[b].clone() else {
            continue;
        };
        let exit = run_block(func, alloc, edits, b, state, &mut |_, _| {})?;
        let args = func
            .block_insts(b)
            .last()
            .map(|t| func.jump_args(t))
            .unwrap_or(&[]);
        for &s in func.block_succs(b) {
            let mut arriving = exit.clone();
            if !args.is_empty() {
                arriving.pass_block_args(args, func.block_params(s));
            }
            let changed = match &mut entry_states[s] {
                Some(current) => current.meet(&arriving),
                slot @ None => {
                    *slot = Some(arriving);
                    true
                }
            };
            if changed {
                pending.insert(s);
            }
        }
    }
    Ok(entry_states)
}

/// One step of a block's execution, as `run_block` shows it to its observer before running it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step<'a> {
    /// An edit, with its index in `Allocation::edits`.
    Edit(usize, &'a Edit),
    /// An instruction.
    Inst(usize),
}

fn apply_edits(state: &mut State, edits: &[(usize, Edit)], observe: &mut dyn FnMut(Step, &State)) {
    for (index, edit) in edits {
        observe(Step::Edit(*index, edit), state);
        state.copy(edit.from, edit.to);
    }
}

/// Runs block `b` from `state`, checking every read; returns the state at its end. `observe`
/// sees every step (edits before an instruction, the instruction, edits after it) with the
/// state just before it.
pub(super) fn run_block(
    func: &dyn MachFunction,
    alloc: &Allocation,
    edits: &[InstEdits],
    b: usize,
    mut state: State,
    observe: &mut dyn FnMut(Step, &State),
) -> Result<State> {
    for inst in func.block_insts(b) {
        let (Some(regs), Some(inst_edits)) = (alloc.regs.get(inst), edits.get(inst)) else {
            return Err(fail(format!("instruction {inst} is missing")));
        };
        apply_edits(&mut state, &inst_edits.before, observe);
        observe(Step::Inst(inst), &state);
        let ops = func.operands(inst);
        for (index, (op, &r)) in ops.iter().zip(regs).enumerate() {
            let held = state.get(Location::Reg(r));
            if op.kind == OperandKind::Use && !held.contains(op.vreg) {
                return Err(fail(format!(
                    "block {b} instruction {inst} operand {index} reads v{} from register {}, \
                     which holds {} there",
                    op.vreg.0,
                    r.0,
                    held.describe()
                )));
            }
        }
        for r in func.clobbers(inst).iter() {
            state.set(Location::Reg(r), Held::Nothing);
        }
        for (op, &r) in ops.iter().zip(regs) {
            if op.kind != OperandKind::Use {
                state.define(op.vreg, r);
            }
        }
        apply_edits(&mut state, &inst_edits.after, observe);
    }
    Ok(state)
}

//! The shipping register allocator (`Options::spill_realloc`, on by default):
//!
//! 1. [`super::spill`]: Belady spilling over the CFG with register state carried across block
//!    boundaries, run twice — the second round stores every value that needed a slot once,
//!    right after its definition — keeping the round with fewer spill and reload edits;
//! 2. [`super::slots`]: stores whose slot is never read are deleted, and slots whose live
//!    ranges never overlap share one, so the frame is only as large as needed;
//! 3. [`super::forward`]: a reload whose value is provably still in a register becomes a move,
//!    or disappears when it is already in the right one.
//!
//! A branch cannot carry moves for one successor only (a critical edge), so when two successors
//! would want different register states the walk is retried without the register hints that
//! look through forwarding blocks, then with joins that start with their values in memory
//! ([`super::spill::Joins`]); the last policy cannot conflict. The baseline
//! allocator stays behind it as a safety net that no known function reaches.
//!
//! Limits: time is linear in instructions times allocatable registers for the block walk, plus
//! the liveness dataflow (blocks times live values per round); slot sharing builds an
//! interference graph and gives up sharing (keeping one slot per spilled value) beyond
//! [`super::slots::MAX_INTERFERENCE_PAIRS`] pairs.

use super::liveness::{self, BitSet};
use super::next_use::NextUse;
use super::spill::{self, Failure, Joins};
use super::{Allocation, EditKind, MachFunction, RegEnv, Stats, baseline, check, forward, slots};
use crate::error::{CompileError, Result};

/// Allocates `func` and, in debug builds and tests, proves the result with [`check::verify`].
pub fn allocate(func: &dyn MachFunction, env: &RegEnv) -> Result<Allocation> {
    let allocation = match allocate_unchecked(func, env)? {
        Ok(allocation) => allocation,
        Err(_fallback_reason) => return baseline::allocate(func, env),
    };
    if cfg!(any(test, debug_assertions)) {
        check::verify(func, env, &allocation).map_err(|e| {
            CompileError::internal(format!(
                "spill-realloc allocation failed its check: {}",
                e.message
            ))
        })?;
    }
    Ok(allocation)
}

/// The allocation without the self-check; `Ok(Err(reason))` when the function needs the
/// baseline.
pub fn allocate_unchecked(
    func: &dyn MachFunction,
    env: &RegEnv,
) -> Result<std::result::Result<Allocation, String>> {
    liveness::validate_env(env)?;
    liveness::validate_function(func, env)?;
    if u32::try_from(func.num_insts()).is_err() || u32::try_from(func.num_vregs()).is_err() {
        return Err(CompileError::limit(
            "function has too many machine instructions or values",
        ));
    }
    let live = liveness::compute(func)?;
    let next = NextUse::compute(func, &live);

    let none = BitSet::new(func.num_vregs());
    // Where a branch's successors would disagree about registers, retry without the hints
    // that look through forwarding blocks, then with joins that start in memory (see `Joins`).
    let mut tries = [
        (Joins::Carried, true),
        (Joins::Carried, false),
        (Joins::InMemory, true),
        (Joins::InMemory, false),
        (Joins::AllInMemory, false),
    ]
    .into_iter();
    let mut last_reason = String::new();
    let (first, joins, look_through) = loop {
        let Some((joins, look_through)) = tries.next() else {
            return Ok(Err(last_reason));
        };
        match spill::run(func, env, &live, &next, &none, joins, look_through) {
            Ok(round) => break (round, joins, look_through),
            Err(Failure::Fallback(reason)) => last_reason = reason,
            Err(Failure::Error(e)) => return Err(e),
        }
    };
    let second = if first.needs_slot.count() == 0 {
        None
    } else {
        match spill::run(
            func,
            env,
            &live,
            &next,
            &first.needs_slot,
            joins,
            look_through,
        ) {
            Ok(round) => Some(round),
            Err(Failure::Fallback(_)) => None,
            Err(Failure::Error(e)) => return Err(e),
        }
    };
    let cost = |round: &spill::Round| {
        round
            .edits
            .iter()
            .filter(|(_, e)| e.kind != EditKind::Move)
            .count()
    };
    let round = match second {
        Some(second) if cost(&second) < cost(&first) => second,
        _ => first,
    };

    let num_virtual_slots = func.num_vregs().saturating_add(1);
    let (edits, num_slots) = slots::pack(func, round.edits, num_virtual_slots);
    let edits = forward::forward(func, &round.regs, edits, num_slots);

    let stats = Stats {
        max_pressure: liveness::max_pressure(func, &live),
        ..Stats::of_edits(&edits)
    };
    let written = super::written_regs(func, &round.regs, &edits);
    Ok(Ok(Allocation {
        regs: round.regs,
        edits,
        num_slots,
        used_callee_saved: written.intersection(env.callee_saved),
        stats,
    }))
}

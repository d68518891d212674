//! Shape validation and liveness, shared by the allocator and its checker.
//!
//! Everything a `MachFunction` says is validated once here, so the allocator and the checker can
//! index blocks, instructions, vregs and registers without further bounds worries.

use super::{MachFunction, OperandKind, PReg, RegEnv, VReg};
use crate::error::{CompileError, Result};

/// Physical registers are numbered below this (the width of `PRegSet`).
pub(crate) const NUM_PREGS: usize = 64;

/// Index of `r` in a table of `NUM_PREGS` registers.
pub(crate) fn preg_index(r: PReg) -> usize {
    usize::from(r.0) % NUM_PREGS
}

/// A dense set of small integers (vreg numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub(crate) fn new(size: usize) -> BitSet {
        BitSet {
            words: vec![0; size.div_ceil(64)],
        }
    }

    /// Inserts `i`; true when it was not there before. Out-of-range numbers are ignored (the
    /// callers validated them), so this never panics.
    pub(crate) fn insert(&mut self, i: usize) -> bool {
        match self.words.get_mut(i / 64) {
            Some(word) => {
                let bit = 1u64 << (i % 64);
                let fresh = *word & bit == 0;
                *word |= bit;
                fresh
            }
            None => false,
        }
    }

    /// Removes `i`; true when it was there.
    pub(crate) fn remove(&mut self, i: usize) -> bool {
        match self.words.get_mut(i / 64) {
            Some(word) => {
                let bit = 1u64 << (i % 64);
                let present = *word & bit != 0;
                *word &= !bit;
                present
            }
            None => false,
        }
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|word| word & (1u64 << (i % 64)) != 0)
    }

    /// `self |= other`; true when `self` grew.
    pub(crate) fn union_with(&mut self, other: &BitSet) -> bool {
        let mut grew = false;
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            let next = *mine | theirs;
            grew |= next != *mine;
            *mine = next;
        }
        grew
    }

    pub(crate) fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Members in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        // Lowest set bit first, clearing it each step: work per member, not per bit.
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(index * 64 + bit)
            })
        })
    }

    /// `self -= other` (same size).
    pub(crate) fn subtract(&mut self, other: &BitSet) {
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine &= !theirs;
        }
    }

    /// Empties the set, keeping its size and storage.
    pub(crate) fn clear(&mut self) {
        self.words.fill(0);
    }

    /// `self = other` (same size); true when `self` changed.
    pub(crate) fn assign(&mut self, other: &BitSet) -> bool {
        if self.words == other.words {
            return false;
        }
        self.words.copy_from_slice(&other.words);
        true
    }

    /// `self = (out - kill) | gen_set`, word by word (all the same size): a block's live-in
    /// from its live-out. True when `self` changed.
    pub(crate) fn set_transfer(&mut self, out: &BitSet, kill: &BitSet, gen_set: &BitSet) -> bool {
        let mut changed = false;
        let sources = out.words.iter().zip(&kill.words).zip(&gen_set.words);
        for (mine, ((o, k), g)) in self.words.iter_mut().zip(sources) {
            let next = (o & !k) | g;
            changed |= next != *mine;
            *mine = next;
        }
        changed
    }
}

fn bad_shape(message: String) -> CompileError {
    CompileError::internal(format!("register allocation input: {message}"))
}

fn check_preg(r: PReg, what: &dyn Fn() -> String) -> Result<()> {
    if usize::from(r.0) >= NUM_PREGS {
        return Err(bad_shape(format!(
            "{} names register {} (>= 64)",
            what(),
            r.0
        )));
    }
    Ok(())
}

/// Checks the register environment: registers in range, allocatable ones distinct and non-empty,
/// scratch not allocatable.
pub(crate) fn validate_env(env: &RegEnv) -> Result<()> {
    check_preg(env.scratch, &|| "the scratch register".into())?;
    if env.allocatable.is_empty() {
        return Err(bad_shape("no allocatable registers".into()));
    }
    let mut seen = super::PRegSet::EMPTY;
    for &r in &env.allocatable {
        check_preg(r, &|| "the allocatable list".into())?;
        if seen.contains(r) {
            return Err(bad_shape(format!(
                "register {} listed twice as allocatable",
                r.0
            )));
        }
        seen = seen.with(r);
    }
    if seen.contains(env.scratch) {
        return Err(bad_shape(format!(
            "scratch register {} is also allocatable",
            env.scratch.0
        )));
    }
    Ok(())
}

/// Checks that the function has the shape the `MachFunction` contract promises: contiguous
/// non-empty blocks ending in one terminator, consistent successor/predecessor lists, vregs and
/// registers in range, jump arguments only where a single successor takes them.
pub(crate) fn validate_function(func: &dyn MachFunction, env: &RegEnv) -> Result<()> {
    let num_blocks = func.num_blocks();
    let num_insts = func.num_insts();
    let num_vregs = func.num_vregs();
    if num_blocks == 0 {
        return Err(bad_shape("function has no blocks".into()));
    }
    // The place is spelled only for the message: formatting it per operand cost more than
    // the whole check.
    let check_vreg = |v: VReg, at: &dyn Fn() -> String| -> Result<()> {
        if v.0 as usize >= num_vregs {
            return Err(bad_shape(format!(
                "{} uses v{} but the function has {num_vregs} vregs",
                at(),
                v.0
            )));
        }
        Ok(())
    };
    let mut expected_start = 0;
    for b in 0..num_blocks {
        let range = func.block_insts(b);
        if range.start != expected_start || range.end <= range.start {
            return Err(bad_shape(format!(
                "block {b} covers instructions {range:?}; expected a non-empty range from {expected_start}"
            )));
        }
        expected_start = range.end;
        for &s in func.block_succs(b) {
            if s >= num_blocks || !func.block_preds(s).contains(&b) {
                return Err(bad_shape(format!(
                    "block {b} has successor {s} that does not list it as a predecessor"
                )));
            }
        }
        for &p in func.block_preds(b) {
            if p >= num_blocks || !func.block_succs(p).contains(&b) {
                return Err(bad_shape(format!(
                    "block {b} has predecessor {p} that does not list it as a successor"
                )));
            }
        }
        let params = func.block_params(b);
        if b == 0 && !params.is_empty() {
            return Err(bad_shape("the entry block has parameters".into()));
        }
        for (i, &p) in params.iter().enumerate() {
            check_vreg(p, &|| format!("block {b} parameter"))?;
            if params[..i].contains(&p) {
                return Err(bad_shape(format!(
                    "block {b} lists parameter v{} twice",
                    p.0
                )));
            }
        }
        for inst in range.clone() {
            let is_terminator = inst + 1 == range.end;
            for op in func.operands(inst) {
                check_vreg(op.vreg, &|| format!("instruction {inst}"))?;
                if let super::Constraint::Fixed(r) = op.constraint {
                    check_preg(r, &|| format!("instruction {inst}"))?;
                    if r == env.scratch {
                        return Err(bad_shape(format!(
                            "instruction {inst} pins an operand to the scratch register"
                        )));
                    }
                }
            }
            for r in func.clobbers(inst).iter() {
                check_preg(r, &|| format!("clobbers of instruction {inst}"))?;
            }
            let args = func.jump_args(inst);
            if !is_terminator && !args.is_empty() {
                return Err(bad_shape(format!(
                    "instruction {inst} passes jump arguments but is not a terminator"
                )));
            }
            for &a in args {
                check_vreg(a, &|| format!("jump arguments of instruction {inst}"))?;
            }
        }
        let terminator = range.end - 1;
        let args = func.jump_args(terminator);
        let succs = func.block_succs(b);
        let takes_params = succs.iter().any(|&s| !func.block_params(s).is_empty());
        if !args.is_empty() || takes_params {
            let [succ] = succs else {
                return Err(bad_shape(format!(
                    "block {b} passes block arguments but has {} successors",
                    succs.len()
                )));
            };
            let wanted = func.block_params(*succ).len();
            if args.len() != wanted {
                return Err(bad_shape(format!(
                    "block {b} passes {} arguments to block {succ}, which takes {wanted}",
                    args.len()
                )));
            }
        }
    }
    if expected_start != num_insts {
        return Err(bad_shape(format!(
            "blocks cover {expected_start} instructions of {num_insts}"
        )));
    }
    Ok(())
}

/// Vregs live at block boundaries (iterative backward dataflow to a fixed point).
pub(crate) struct Liveness {
    pub(crate) live_in: Vec<BitSet>,
    pub(crate) live_out: Vec<BitSet>,
}

/// Uses of one instruction as the allocator sees them: its `Use` operands and, for a terminator,
/// its jump arguments (read by the moves placed before it).
pub(crate) fn inst_uses(func: &dyn MachFunction, inst: usize) -> impl Iterator<Item = VReg> + '_ {
    func.operands(inst)
        .iter()
        .filter(|op| op.kind == OperandKind::Use)
        .map(|op| op.vreg)
        .chain(func.jump_args(inst).iter().copied())
}

pub(crate) fn inst_defs(func: &dyn MachFunction, inst: usize) -> impl Iterator<Item = VReg> + '_ {
    func.operands(inst)
        .iter()
        .filter(|op| op.kind != OperandKind::Use)
        .map(|op| op.vreg)
}

/// Computes liveness of a validated function. Fails if a vreg is live into the entry block,
/// i.e. some path reads it before any definition.
pub(crate) fn compute(func: &dyn MachFunction) -> Result<Liveness> {
    let num_blocks = func.num_blocks();
    let num_vregs = func.num_vregs();
    let mut upward_uses = Vec::with_capacity(num_blocks);
    let mut defined = Vec::with_capacity(num_blocks);
    for b in 0..num_blocks {
        let mut uses = BitSet::new(num_vregs);
        let mut defs = BitSet::new(num_vregs);
        for p in func.block_params(b) {
            defs.insert(p.0 as usize);
        }
        for inst in func.block_insts(b) {
            for v in inst_uses(func, inst) {
                if !defs.contains(v.0 as usize) {
                    uses.insert(v.0 as usize);
                }
            }
            for v in inst_defs(func, inst) {
                defs.insert(v.0 as usize);
            }
        }
        upward_uses.push(uses);
        defined.push(defs);
    }
    let mut live_in = upward_uses.clone();
    let mut live_out = vec![BitSet::new(num_vregs); num_blocks];
    // One scratch set for every block and round: no allocation inside the fixed point.
    let mut out = BitSet::new(num_vregs);
    let mut changed = true;
    while changed {
        changed = false;
        // Reverse order converges fastest for a backward problem on forward-laid-out code.
        for b in (0..num_blocks).rev() {
            out.clear();
            for &s in func.block_succs(b) {
                out.union_with(&live_in[s]);
            }
            changed |= live_out[b].assign(&out);
            changed |= live_in[b].set_transfer(&out, &defined[b], &upward_uses[b]);
        }
    }
    if let Some(v) = live_in[0].iter().next() {
        return Err(CompileError::internal(format!(
            "register allocation input: v{v} is read before it is defined on some path from the entry"
        )));
    }
    Ok(Liveness { live_in, live_out })
}

/// Largest number of vregs live at once at any instruction (its uses and defs included).
pub(crate) fn max_pressure(func: &dyn MachFunction, liveness: &Liveness) -> u32 {
    let mut max = 0usize;
    for b in 0..func.num_blocks() {
        let mut live = liveness.live_out[b].clone();
        let mut count = live.count();
        max = max.max(count);
        for inst in func.block_insts(b).rev() {
            // Just after the instruction: what stays live plus what it writes.
            for v in inst_defs(func, inst) {
                if live.insert(v.0 as usize) {
                    count += 1;
                }
            }
            max = max.max(count);
            for v in inst_defs(func, inst) {
                if live.remove(v.0 as usize) {
                    count -= 1;
                }
            }
            for v in inst_uses(func, inst) {
                if live.insert(v.0 as usize) {
                    count += 1;
                }
            }
            max = max.max(count);
        }
    }
    u32::try_from(max).unwrap_or(u32::MAX)
}

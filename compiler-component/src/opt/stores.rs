//! Loads and stores a block makes redundant. A load of the bytes an earlier access of its
//! block stored or loaded, with no store between that may touch them, takes that value; a
//! store that a later store of its block overwrites (the same address, at least as wide)
//! before anything could read the bytes goes. clang's wasm keeps a global it accumulates
//! into in memory, loading and storing it around every step (`total += *p` through a pointer
//! it cannot tell apart); once the pointer's addresses are known, one load and the last
//! store remain.
//!
//! Addresses are compared as sums of values plus a constant (`address::flatten`): with the
//! same values, the constants tell whether two accesses overlap; with different ones, they
//! may. Between two stores of one address only computations, other stores and loads that
//! provably miss the bytes may come: a call could read memory, and after a trap (a bounds
//! check, a division's guard) memory is visible to the embedder. Legalized IR only (an access
//! there has its memory base as an operand, and its bounds check is an instruction of its own).

use super::address::{MAX_TERMS, Part, Term, flatten};
use super::dce::has_effects;
use crate::ir::{Function, Inst, MemArg, Op, Type, Value};

/// Accesses remembered while walking a block.
const MAX_REMEMBERED: usize = 16;

/// An access's address: the values it sums (sorted, unused places `None`), the constant, and
/// its width.
type Address = ([Option<Term>; MAX_TERMS], u32, u32);

/// Returns whether a load or a store changed.
pub fn run(func: &mut Function) -> bool {
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    let parts = super::address::parts(func, &konst);
    let types = &func.value_types;
    let mut changed = false;
    for block in &mut func.blocks {
        let accesses = block
            .insts
            .iter()
            .filter(|i| matches!(i.op, Op::Load(_) | Op::Store(_)))
            .count();
        if accesses < 2 {
            continue;
        }
        let addresses: Vec<Option<Address>> = block
            .insts
            .iter()
            .map(|i| address(i, &parts, &konst))
            .collect();
        changed |= forward_loads(&mut block.insts, &addresses, types);
        changed |= drop_dead_stores(&mut block.insts, &addresses);
    }
    changed
}

/// Loads of a value the block already has become copies of it: the value an earlier access
/// of the same address, width and type stored or loaded (a narrow load also of the same
/// extension; a narrow store's value is not what a load reads back).
fn forward_loads(insts: &mut [Inst], addresses: &[Option<Address>], types: &[Type]) -> bool {
    // (address, how it was read, the value in the bytes).
    let mut known: Vec<(Address, MemArg, Value)> = Vec::new();
    let mut changed = false;
    let full = |m: &MemArg, v: Value| m.width == types[v.0 as usize].bytes();
    for (inst, a) in insts.iter_mut().zip(addresses) {
        match &inst.op {
            Op::Load(m) => {
                let m = *m;
                let (Some(a), [r]) = (*a, inst.results.as_slice()) else {
                    continue;
                };
                let r = *r;
                let ty = types[r.0 as usize];
                let same = known.iter().find(|(a2, m2, v)| {
                    *a2 == a
                        && types[v.0 as usize] == ty
                        && m2.width == m.width
                        && (m2.signed == m.signed || full(&m, r))
                });
                if let Some(&(_, _, v)) = same {
                    inst.op = Op::Copy;
                    inst.args = vec![v];
                    changed = true;
                } else if known.len() < MAX_REMEMBERED {
                    known.push((a, m, r));
                }
            }
            Op::Store(m) => {
                let m = *m;
                let Some(a) = *a else {
                    known.clear();
                    continue;
                };
                known.retain(|(a2, ..)| misses(a2, &a));
                let v = inst.args[2];
                if full(&m, v) && known.len() < MAX_REMEMBERED {
                    known.push((a, m, v));
                }
            }
            // What else may write memory: calls, bulk operations, growing (which adds zeros
            // only past the old end, but is rare enough not to reason about).
            op if has_effects(op) && !matches!(op, Op::TrapIf(_) | Op::BoundsCheck { .. }) => {
                known.clear()
            }
            _ => {}
        }
    }
    changed
}

/// Drops the stores a later store of the block overwrites before anything could read them.
fn drop_dead_stores(insts: &mut Vec<Inst>, addresses: &[Option<Address>]) -> bool {
    // The addresses later stores overwrite before anything reads them.
    let mut pending: Vec<Address> = Vec::new();
    let mut dead = Vec::new();
    for (i, inst) in insts.iter().enumerate().rev() {
        match &inst.op {
            Op::Store(_) => {
                // A store reads nothing: one whose address is unknown only is not remembered.
                let Some(a) = addresses[i] else {
                    continue;
                };
                if pending.iter().any(|p| covers(p, &a)) {
                    dead.push(i);
                } else if pending.len() < MAX_REMEMBERED {
                    pending.push(a);
                }
            }
            Op::Load(_) => match &addresses[i] {
                Some(a) => pending.retain(|p| misses(p, a)),
                None => pending.clear(),
            },
            op if has_effects(op) => pending.clear(),
            _ => {}
        }
    }
    if dead.is_empty() {
        return false;
    }
    let mut index = 0;
    insts.retain(|_| {
        index += 1;
        !dead.contains(&(index - 1))
    });
    true
}

/// The address of a legalized load or store (`base + index + offset`), if its sum has few
/// enough values.
fn address(
    inst: &Inst,
    parts: &[Option<Part>],
    konst: &impl Fn(Value) -> Option<i64>,
) -> Option<Address> {
    let (m, base, index) = match (&inst.op, inst.args.as_slice()) {
        (Op::Load(m), [base, index]) | (Op::Store(m), [base, index, _]) => (m, *base, *index),
        _ => return None,
    };
    let (mut terms, mut k) = (Vec::new(), u32::try_from(m.offset).ok()?);
    let whole = flatten((base, 0), parts, konst, &mut terms, &mut k, 0)
        && flatten((index, 0), parts, konst, &mut terms, &mut k, 0);
    if !whole {
        return None;
    }
    terms.sort_unstable_by_key(|(v, shift)| (v.0, *shift));
    let mut sorted = [None; MAX_TERMS];
    for (place, term) in sorted.iter_mut().zip(terms) {
        *place = Some(term);
    }
    Some((sorted, k, u32::from(m.width)))
}

/// Does the store at `later` overwrite every byte of the one at `earlier`?
fn covers(later: &Address, earlier: &Address) -> bool {
    later.0 == earlier.0
        && later.2 >= earlier.2
        && earlier.1.wrapping_sub(later.1) <= later.2 - earlier.2
}

/// Do the accesses at `a` and `b` touch no byte in common?
fn misses(a: &Address, b: &Address) -> bool {
    a.0 == b.0 && b.1.wrapping_sub(a.1) >= a.2 && a.1.wrapping_sub(b.1) >= b.2
}

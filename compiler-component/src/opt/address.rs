//! Accesses that address the same sum of values plus different constants share one base:
//! in a block, an integer access whose address (`base + index + offset`, legalized form) adds
//! the same values as an earlier access's base, and a constant at most `MAX_OFFSET` more,
//! takes that base and the difference as its offset. Unrolled loops (`p`, `p + 4`, `p + 8`
//! ...) and struct fields reached through separately computed pointers then load with
//! `ldr rd, [rn, #k]` from one register, and the sums each address computed die.
//!
//! Sums are followed through `Add`s of any operands, a few levels deep, as 32-bit wrapping
//! arithmetic: the rewritten access computes the same machine address. Legalized IR only (an
//! access there has its memory base as an operand); bounds checks read the wasm address,
//! which this leaves alone.

use crate::fast_hash::FastMap;
use crate::ir::{BinaryOp, Function, Inst, Op, Type, Value};

/// The largest offset an access is given: every back end's load and store immediate (RV32's
/// signed 12 bits) reaches it.
const MAX_OFFSET: u64 = 2047;

/// How many values a sum may add, and how deep `Add`s are followed.
const MAX_TERMS: usize = 4;
const MAX_DEPTH: u32 = 4;

/// Returns whether an access changed.
pub fn run(func: &mut Function) -> bool {
    let mut adds: Vec<Option<(Value, Value)>> = vec![None; func.value_types.len()];
    let mut uses = vec![0u32; func.value_types.len()];
    for block in &func.blocks {
        for inst in &block.insts {
            if let (Op::Binary(BinaryOp::Add), [a, b], [r]) =
                (&inst.op, inst.args.as_slice(), inst.results.as_slice())
            {
                adds[r.0 as usize] = Some((*a, *b));
            }
            for a in &inst.args {
                uses[a.0 as usize] += 1;
            }
        }
        for a in block.term.use_slice() {
            uses[a.0 as usize] += 1;
        }
    }
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    // A zero every access may index by: a constant of the entry block, which dominates all.
    let zero = func.blocks.first().and_then(|b| {
        b.insts
            .iter()
            .find_map(|i| match (&i.op, i.results.as_slice()) {
                (Op::Const(0), [r]) if func.value_types[r.0 as usize] == Type::I32 => Some(*r),
                _ => None,
            })
    });
    let types = func.value_types.clone();
    let mut changed = false;
    for b in 0..func.blocks.len() {
        // The sum each integer access addresses: (instruction, values sorted, constant).
        let mut sums: Vec<(usize, Vec<Value>, u32)> = Vec::new();
        for (i, inst) in func.blocks[b].insts.iter().enumerate() {
            let Some((base, index)) = access(inst, &types) else {
                continue;
            };
            let (mut terms, mut k) = (Vec::new(), 0u32);
            let whole = flatten(base, &adds, &konst, &mut terms, &mut k, 0)
                && flatten(index, &adds, &konst, &mut terms, &mut k, 0);
            if whole && !terms.is_empty() {
                terms.sort_unstable_by_key(|v| v.0);
                sums.push((i, terms, k));
            }
        }
        // Groups of accesses to one sum, in block order.
        let mut groups: FastMap<Vec<Value>, Vec<(usize, u32)>> = FastMap::default();
        let mut order = Vec::new();
        for (i, terms, k) in sums {
            let group = groups.entry(terms.clone()).or_default();
            if group.is_empty() {
                order.push(terms);
            }
            group.push((i, k));
        }
        let mut inserts: Vec<(usize, Inst)> = Vec::new();
        for terms in order {
            let members = &groups[&terms];
            if members.len() < 2 {
                continue;
            }
            // The base: the first member's own, when it indexes by 0 and the others lie at
            // most MAX_OFFSET above it; else a new sum of two values before the first member,
            // when that frees more instructions than it costs (the indices that die).
            let block = &func.blocks[b];
            let (first, k_first) = members[0];
            let lowest = members.iter().map(|m| m.1).min().unwrap_or(0);
            let (shared, k0) = match access(&block.insts[first], &types) {
                Some((base, index)) if konst(index) == Some(0) && k_first == lowest => {
                    (base, k_first)
                }
                _ => {
                    // Indices only this group's accesses read die once it shares a base.
                    let mut read: FastMap<Value, u32> = FastMap::default();
                    for &(i, _) in members {
                        if let Some((_, index)) = access(&block.insts[i], &types)
                            && konst(index).is_none()
                        {
                            *read.entry(index).or_default() += 1;
                        }
                    }
                    let dying = read
                        .iter()
                        .filter(|&(v, n)| uses.get(v.0 as usize) == Some(n))
                        .count();
                    let (Some(_), [x, y]) = (zero, terms.as_slice()) else {
                        continue;
                    };
                    if dying < 2 {
                        continue;
                    }
                    let r = Value((func.value_types.len() + inserts.len()) as u32);
                    inserts.push((
                        first,
                        Inst {
                            op: Op::Binary(BinaryOp::Add),
                            args: vec![*x, *y],
                            results: vec![r],
                            offset: block.insts[first].offset,
                        },
                    ));
                    (r, 0)
                }
            };
            for &(i, k) in members {
                let inst = &func.blocks[b].insts[i];
                let Some((base, index)) = access(inst, &types) else {
                    continue;
                };
                if base == shared && konst(index) == Some(0) {
                    continue;
                }
                let offset = match &inst.op {
                    Op::Load(m) | Op::Store(m) => m.offset,
                    _ => continue,
                };
                let moved = offset + u64::from(k.wrapping_sub(k0));
                let index_zero = if konst(index) == Some(0) {
                    Some(index)
                } else {
                    zero
                };
                if moved <= MAX_OFFSET
                    && let Some(index_zero) = index_zero
                {
                    rewrite(&mut func.blocks[b].insts[i], shared, index_zero, moved);
                    changed = true;
                }
            }
        }
        // New bases (numbered in the order they were made), each before its group's first
        // access, inserted from the last position back so the others stay put.
        for _ in &inserts {
            func.new_value(Type::I32);
        }
        inserts.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        for (at, inst) in inserts {
            func.blocks[b].insts.insert(at, inst);
            changed = true;
        }
    }
    changed
}

/// (base, index) of an integer load or store in legalized form.
fn access(inst: &Inst, types: &[Type]) -> Option<(Value, Value)> {
    let integer = |v: &Value| types.get(v.0 as usize).is_some_and(|t| !t.is_float());
    match (&inst.op, inst.args.as_slice(), inst.results.as_slice()) {
        (Op::Load(_), [base, index], [r]) if integer(r) => Some((*base, *index)),
        (Op::Store(_), [base, index, value], []) if integer(value) => Some((*base, *index)),
        _ => None,
    }
}

fn rewrite(inst: &mut Inst, base: Value, zero: Value, offset: u64) {
    inst.args[0] = base;
    inst.args[1] = zero;
    match &mut inst.op {
        Op::Load(m) | Op::Store(m) => m.offset = offset,
        _ => {}
    }
}

/// Adds the values and constants `v` sums to `terms` and `k`; false past the limits.
fn flatten(
    v: Value,
    adds: &[Option<(Value, Value)>],
    konst: &impl Fn(Value) -> Option<i64>,
    terms: &mut Vec<Value>,
    k: &mut u32,
    depth: u32,
) -> bool {
    if let Some(c) = konst(v) {
        *k = k.wrapping_add(c as u32);
        return true;
    }
    match adds.get(v.0 as usize).copied().flatten() {
        Some((a, b)) if depth < MAX_DEPTH => {
            flatten(a, adds, konst, terms, k, depth + 1)
                && flatten(b, adds, konst, terms, k, depth + 1)
        }
        _ => {
            terms.push(v);
            terms.len() <= MAX_TERMS
        }
    }
}

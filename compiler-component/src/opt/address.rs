//! Accesses that address the same sum of values plus different constants share one base.
//! In a block, the integer accesses whose addresses (`base + index + offset`, legalized form)
//! add the same values form a group; the first one's address is the shared base (its own base
//! when it indexes by 0, else the sum of its base and index, a new instruction before it,
//! made only when that frees at least two address computations), and every later member at
//! most `MAX_OFFSET` above it takes that base and the difference as its offset. Unrolled
//! loops (`p`, `p + 4`, `p + 8` ...) and struct fields reached through separately computed
//! pointers then load with `ldr rd, [rn, #k]` from one register, and the sums each address
//! computed die. Accesses at constant addresses beyond an offset's reach (`base + k`, as a
//! full unroll leaves them) are grouped by `k` instead (`constant_clusters`): each run within
//! `MAX_OFFSET` of its lowest `k` gets a new base `base + k_lo`, in any order of access.
//!
//! Sums are followed through `Add`s of any operands and left shifts by constants (`(i + 1)
//! << 2` adds `i << 2` and 4), a few levels deep, as 32-bit wrapping arithmetic: the rewritten
//! access computes the same machine address. Legalized IR only (an
//! access there has its memory base as an operand); bounds checks read the wasm address,
//! which this leaves alone.

use crate::fast_hash::FastMap;
use crate::ir::{BinaryOp, Function, Inst, Op, Type, Value};

/// The largest offset an access is given: every back end's load and store immediate (RV32's
/// signed 12 bits) reaches it.
const MAX_OFFSET: u64 = 2047;

/// The fewest accesses at far constant addresses that get a base of their own.
const MIN_CLUSTER: usize = 2;

/// How many values a sum may add, and how deep `Add`s are followed.
pub(super) const MAX_TERMS: usize = 4;
const MAX_DEPTH: u32 = 4;

/// The calls before an access in its block, and the terms its address adds (sorted).
type GroupKey = (u32, Vec<Term>);

/// A value shifted left by a constant (0: the value itself).
pub(super) type Term = (Value, u32);

/// The sums and constant shifts addresses are made of.
#[derive(Clone, Copy)]
pub(super) enum Part {
    Add(Value, Value),
    Shl(Value, u32),
}

/// The sum or constant shift defining each value, where one does.
pub(super) fn parts(func: &Function, konst: &impl Fn(Value) -> Option<i64>) -> Vec<Option<Part>> {
    let mut parts: Vec<Option<Part>> = vec![None; func.value_types.len()];
    for inst in func.blocks.iter().flat_map(|b| &b.insts) {
        match (&inst.op, inst.args.as_slice(), inst.results.as_slice()) {
            (Op::Binary(BinaryOp::Add), [a, b], [r]) => {
                parts[r.0 as usize] = Some(Part::Add(*a, *b));
            }
            (Op::Binary(BinaryOp::Shl), [x, n], [r])
                if func.value_types[r.0 as usize] == Type::I32 =>
            {
                if let Some(n) = konst(*n) {
                    parts[r.0 as usize] = Some(Part::Shl(*x, n as u32 & 31));
                }
            }
            _ => {}
        }
    }
    parts
}

/// Returns whether an access changed.
pub fn run(func: &mut Function) -> bool {
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    let parts = parts(func, &konst);
    let mut uses = vec![0u32; func.value_types.len()];
    for block in &func.blocks {
        for inst in &block.insts {
            for a in &inst.args {
                uses[a.0 as usize] += 1;
            }
        }
        for a in block.term.use_slice() {
            uses[a.0 as usize] += 1;
        }
    }
    // A zero accesses may index by: a constant of the entry block, which dominates every
    // other block, and the accesses after it in its own.
    let zero_at = func.blocks.first().and_then(|b| {
        b.insts
            .iter()
            .enumerate()
            .find_map(|(at, i)| match (&i.op, i.results.as_slice()) {
                (Op::Const(0), [r]) if func.value_types[r.0 as usize] == Type::I32 => {
                    Some((*r, at))
                }
                _ => None,
            })
    });
    let types = func.value_types.clone();
    let mut changed = false;
    for b in 0..func.blocks.len() {
        // The zero the access at `i` of this block may index by.
        let zero_for = |i: usize| {
            zero_at
                .filter(|&(_, at)| b != 0 || at < i)
                .map(|(zero, _)| zero)
        };
        // The sum each integer access addresses: (instruction, key, constant).
        // A call ends the groups: a base kept across it would take a callee-saved register
        // or a stack slot, where each access's own sum cost one instruction. The call count
        // so far leads each group's key.
        let mut sums: Vec<(usize, GroupKey, u32)> = Vec::new();
        let mut calls = 0u32;
        for (i, inst) in func.blocks[b].insts.iter().enumerate() {
            if matches!(inst.op, Op::Call(_) | Op::CallPtr(_)) {
                calls += 1;
            }
            let Some((base, index)) = access(inst, &types) else {
                continue;
            };
            let (mut terms, mut k) = (Vec::new(), 0u32);
            let whole = flatten((base, 0), &parts, &konst, &mut terms, &mut k, 0)
                && flatten((index, 0), &parts, &konst, &mut terms, &mut k, 0);
            if whole && !terms.is_empty() {
                terms.sort_unstable_by_key(|(v, shift)| (v.0, *shift));
                sums.push((i, (calls, terms), k));
            }
        }
        // Groups of accesses to one sum, in block order.
        let mut groups: FastMap<GroupKey, Vec<(usize, u32)>> = FastMap::default();
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
            let mut members = groups[&terms].clone();
            // Accesses at far constant addresses `v + k` get bases of their own first.
            if let [(v, 0)] = terms.1.as_slice() {
                let insts = &func.blocks[b].insts;
                let candidates: Vec<(usize, u32)> = members
                    .iter()
                    .filter(|&&(i, _)| {
                        access(&insts[i], &types)
                            .is_some_and(|(base, index)| base == *v && konst(index).is_some())
                    })
                    .copied()
                    .collect();
                for (k_lo, cluster) in constant_clusters(&candidates, insts) {
                    let first = cluster[0];
                    let n = (func.value_types.len() + inserts.len()) as u32;
                    let (r, c) = (Value(n), Value(n + 1));
                    let offset = func.blocks[b].insts[first].offset;
                    let inst = |op: Op, args: Vec<Value>, r: Value| Inst {
                        op,
                        args,
                        results: vec![r],
                        offset,
                    };
                    inserts.push((first, inst(Op::Binary(BinaryOp::Add), vec![*v, c], r)));
                    inserts.push((first, inst(Op::Const(k_lo as i32 as i64), vec![], c)));
                    let zero = match zero_for(first) {
                        Some(zero) => zero,
                        None => {
                            let zero = Value(n + 2);
                            inserts.push((first, inst(Op::Const(0), vec![], zero)));
                            zero
                        }
                    };
                    for &i in &cluster {
                        let inst = &mut func.blocks[b].insts[i];
                        let k = access(inst, &types)
                            .and_then(|(_, index)| konst(index))
                            .unwrap_or(0) as u32;
                        let offset = offset_of_inst(inst) + u64::from(k - k_lo);
                        rewrite(inst, r, zero, offset);
                    }
                    members.retain(|(i, _)| !cluster.contains(i));
                    changed = true;
                }
            }
            if members.is_empty() {
                continue;
            }
            let block = &func.blocks[b];
            let offset_of = |i: usize| offset_of_inst(&block.insts[i]);
            // The base: the first member's address (its own base when it indexes by 0, else
            // their sum, a new instruction before it); the later members within MAX_OFFSET
            // above it take it with the difference as their offset.
            let (first, k0) = members[0];
            let Some((first_base, first_index)) = access(&block.insts[first], &types) else {
                continue;
            };
            let reach = |&&(i, k): &&(usize, u32)| {
                offset_of(i).saturating_add(u64::from(k.wrapping_sub(k0))) <= MAX_OFFSET
            };
            let in_place = |&&(i, _): &&(usize, u32)| {
                access(&block.insts[i], &types)
                    .is_some_and(|(base, index)| base == first_base && konst(index) == Some(0))
            };
            let moving: Vec<(usize, u32)> = members[1..]
                .iter()
                .filter(reach)
                .filter(|m| !in_place(m) || konst(first_index) != Some(0))
                .copied()
                .collect();
            if moving.is_empty() {
                continue;
            }
            let shared = if konst(first_index) == Some(0) {
                first_base
            } else {
                // Worth an instruction only when it frees at least two: the address values
                // that nothing but the moving accesses read, and the sums and shifts only
                // those feed.
                let mut read: FastMap<Value, u32> = FastMap::default();
                for &(i, _) in &moving {
                    if let Some((base, index)) = access(&block.insts[i], &types) {
                        for v in [base, index] {
                            if konst(v).is_none() {
                                *read.entry(v).or_default() += 1;
                            }
                        }
                    }
                }
                let dead: Vec<Value> = read
                    .iter()
                    .filter(|&(v, n)| uses.get(v.0 as usize) == Some(n))
                    .map(|(v, _)| *v)
                    .collect();
                for v in &dead {
                    let operands = match parts.get(v.0 as usize).copied().flatten() {
                        Some(Part::Add(a, b)) => vec![a, b],
                        Some(Part::Shl(x, _)) => vec![x],
                        None => Vec::new(),
                    };
                    for operand in operands {
                        if konst(operand).is_none() {
                            *read.entry(operand).or_default() += 1;
                        }
                    }
                }
                let dying = read
                    .iter()
                    .filter(|&(v, n)| uses.get(v.0 as usize) == Some(n))
                    .count();
                let Some(zero) = zero_for(first) else {
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
                        args: vec![first_base, first_index],
                        results: vec![r],
                        offset: block.insts[first].offset,
                    },
                ));
                let offset = offset_of(first);
                rewrite(&mut func.blocks[b].insts[first], r, zero, offset);
                r
            };
            for (i, k) in moving {
                let inst = &func.blocks[b].insts[i];
                let Some((base, index)) = access(inst, &types) else {
                    continue;
                };
                let moved = offset_of_inst(inst) + u64::from(k.wrapping_sub(k0));
                if base == shared && konst(index) == Some(0) && offset_of_inst(inst) == moved {
                    continue;
                }
                let index_zero = if konst(index) == Some(0) {
                    Some(index)
                } else {
                    zero_for(i)
                };
                if let Some(index_zero) = index_zero {
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

/// Accesses at constant addresses beyond an offset's reach from the base they share (`base +
/// k`, `k` a constant index): sorted by `k`, each run that fits within `MAX_OFFSET` of its
/// lowest `k` and holds at least two becomes a cluster, to address from one new base `base +
/// k_lo` (the accesses in block order). Those the base reaches directly stay as they are.
fn constant_clusters(members: &[(usize, u32)], insts: &[Inst]) -> Vec<(u32, Vec<usize>)> {
    let mut far: Vec<(u32, usize)> = members
        .iter()
        .filter(|&&(i, k)| offset_of_inst(&insts[i]) + u64::from(k) > MAX_OFFSET)
        .map(|&(i, k)| (k, i))
        .collect();
    far.sort_unstable();
    let mut clusters = Vec::new();
    let mut start = 0;
    while start < far.len() {
        let k_lo = far[start].0;
        let mut end = start;
        while end < far.len()
            && offset_of_inst(&insts[far[end].1]) + u64::from(far[end].0 - k_lo) <= MAX_OFFSET
        {
            end += 1;
        }
        let end = end.max(start + 1);
        if end - start >= MIN_CLUSTER {
            let mut cluster: Vec<usize> = far[start..end].iter().map(|&(_, i)| i).collect();
            cluster.sort_unstable();
            clusters.push((k_lo, cluster));
        }
        start = end;
    }
    clusters
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

/// The memarg offset of a load or store (0 for anything else, which is never a member).
fn offset_of_inst(inst: &Inst) -> u64 {
    match &inst.op {
        Op::Load(m) | Op::Store(m) => m.offset,
        _ => 0,
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

/// Adds the terms and constants `v << shift` sums to `terms` and `k`, following sums and
/// constant shifts (`(x + c) << s` is `(x << s) + (c << s)` in wrapping arithmetic); false
/// past the limits.
pub(super) fn flatten(
    (v, shift): Term,
    parts: &[Option<Part>],
    konst: &impl Fn(Value) -> Option<i64>,
    terms: &mut Vec<Term>,
    k: &mut u32,
    depth: u32,
) -> bool {
    if let Some(c) = konst(v) {
        *k = k.wrapping_add((c as u32) << shift);
        return true;
    }
    match parts.get(v.0 as usize).copied().flatten() {
        Some(Part::Add(a, b)) if depth < MAX_DEPTH => {
            flatten((a, shift), parts, konst, terms, k, depth + 1)
                && flatten((b, shift), parts, konst, terms, k, depth + 1)
        }
        Some(Part::Shl(x, s)) if depth < MAX_DEPTH && shift + s < 32 => {
            flatten((x, shift + s), parts, konst, terms, k, depth + 1)
        }
        _ => {
            terms.push((v, shift));
            terms.len() <= MAX_TERMS
        }
    }
}

//! Loop unrolling by a factor that divides a constant trip count: an innermost loop without
//! calls, left only by the test of its counter, runs k copies of its body per trip around,
//! and only the last copy tests. Each trip then pays one increment, one compare and one
//! branch instead of k, and the copies' addresses become constant offsets of one base
//! (`(p + 4) + 4` folds to `p + 8`) that the back ends fold into their loads and stores.
//!
//! The counter `p` is a parameter of the header that every entry sets to the same constant
//! and the back edge to `p + s`; the loop's only exit is a branch on `p` or `p + s` against a
//! constant. The trip count `T` follows by running that test (with wasm's wrapping
//! arithmetic) from the start value: the tests of iterations `0..T-1` continue and the
//! last one leaves. With `T` a multiple of `k`, the iterations whose index is not `k - 1`
//! modulo `k` always continue, so the copies `0..k-2` drop their tests and copy `k - 1` keeps
//! the only exit. Code after the loop, reached only through that exit, reads copy `k - 1`'s
//! values.

use crate::ir::dom::{Dominators, Loop};
use crate::ir::{
    BinaryOp, Block, BlockData, Cond, Function, Inst, Op, Terminator, Type, UnaryOp, Value,
};

use super::fold::eval_compare;
use crate::fast_hash::FastMap;

/// Largest unroll factor tried (then halved down to 2).
const MAX_FACTOR: u32 = 8;

/// Test runs spent finding trip counts in one function, bounding the work a crafted module
/// (thousands of loops of millions of iterations) could ask for.
const SIMULATION_BUDGET: u64 = 1 << 22;

/// Unroll what pays in `func`, the copies of one loop holding at most `max_insts`
/// instructions together; returns whether anything changed.
pub fn run(func: &mut Function, max_insts: usize) -> bool {
    if max_insts == 0 {
        return false;
    }
    let dom = Dominators::compute(func);
    let loops = dom.loops(func);
    let mut budget = SIMULATION_BUDGET;
    let plans: Vec<Plan> = loops
        .iter()
        .filter(|lp| innermost(lp, &loops))
        .filter_map(|lp| plan(func, &dom, lp, max_insts, &mut budget))
        .collect();
    // Innermost loops share no block, and unrolling one only appends blocks and rewrites its
    // own blocks, so every plan stays valid. Uses after each loop then read its last copy's
    // values, in one sweep over the function for all of them.
    let mut owner: Vec<Option<usize>> = Vec::new();
    let mut last: FastMap<Value, (usize, Value)> = FastMap::default();
    for (index, p) in plans.iter().enumerate() {
        let (blocks, values) = apply(func, p);
        owner.resize(func.blocks.len(), None);
        for b in blocks {
            owner[b] = Some(index);
        }
        last.extend(values.into_iter().map(|(v, copy)| (v, (index, copy))));
    }
    if !last.is_empty() {
        for (b, block) in func.blocks.iter_mut().enumerate() {
            let mine = owner.get(b).copied().flatten();
            let after = |v: Value| match last.get(&v) {
                Some(&(from, copy)) if Some(from) != mine => copy,
                _ => v,
            };
            for inst in &mut block.insts {
                for a in &mut inst.args {
                    *a = after(*a);
                }
            }
            remap_term(&mut block.term, after);
        }
    }
    !plans.is_empty()
}

/// No other loop's header lies in `lp`'s body.
fn innermost(lp: &Loop, loops: &[Loop]) -> bool {
    loops
        .iter()
        .all(|other| other.header == lp.header || !lp.in_body[other.header])
}

struct Plan {
    /// The loop's blocks, the header first.
    body: Vec<usize>,
    /// The block whose `Jump` is the back edge.
    latch: usize,
    /// The block whose branch is the loop's only exit, and its successor inside the loop.
    test: usize,
    stay: Block,
    /// The test's successor out of the loop.
    leave: Block,
    factor: u32,
    /// The factor is the trip count: the last copy leaves without a test, no trip repeats.
    full: bool,
}

fn plan(
    func: &Function,
    dom: &Dominators,
    lp: &Loop,
    max_insts: usize,
    budget: &mut u64,
) -> Option<Plan> {
    let header = lp.header;
    let body: Vec<usize> = std::iter::once(header)
        .chain((0..func.blocks.len()).filter(|&b| lp.in_body[b] && b != header))
        .collect();
    let insts: usize = body.iter().map(|&b| func.blocks[b].insts.len()).sum();
    if insts * 2 > max_insts {
        return None;
    }
    let calls = body
        .iter()
        .flat_map(|&b| &func.blocks[b].insts)
        .any(|i| matches!(i.op, Op::Call(_) | Op::CallPtr(_) | Op::CallIndirect(_)));
    if calls {
        return None;
    }

    // One back edge; one exit, a branch.
    let preds = &dom.preds()[header];
    let mut latches = preds.iter().filter(|p| lp.in_body[p.0 as usize]);
    let latch = latches.next()?.0 as usize;
    if latches.next().is_some() {
        return None;
    }
    let mut exit = None;
    for &b in &body {
        for s in func.blocks[b].term.successor_iter() {
            if !lp.in_body[s.0 as usize] {
                if exit.is_some() {
                    return None;
                }
                exit = Some(b);
            }
        }
        if matches!(
            func.blocks[b].term,
            Terminator::Return { .. } | Terminator::Trap { .. }
        ) {
            return None;
        }
    }
    let test = exit?;
    let Terminator::Branch {
        cond,
        then_block,
        else_block,
    } = func.blocks[test].term
    else {
        return None;
    };
    let (stay, stay_when) = if lp.in_body[then_block.0 as usize] {
        (then_block, true)
    } else {
        (else_block, false)
    };
    if !lp.in_body[stay.0 as usize] || !dom.dominates(test, latch) {
        return None;
    }

    // The counter: p = init on every entry, p + s on the back edge.
    let Terminator::Jump { args: back, .. } = &func.blocks[latch].term else {
        return None;
    };
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    let defs = definitions(func, &body);
    let test_of = |x: Value| -> Option<(Cond, i64)> {
        match defs(cond)? {
            (Op::Compare(c), [a, b]) if *a == x => Some((*c, konst(*b)?)),
            (Op::Compare(c), [a, b]) if *b == x => Some((c.swapped(), konst(*a)?)),
            (Op::Unary(UnaryOp::Eqz), [a]) if *a == x => Some((Cond::Eq, 0)),
            _ if cond == x => Some((Cond::Ne, 0)),
            _ => None,
        }
    };
    let entries: Vec<&[Value]> = preds
        .iter()
        .filter(|p| !lp.in_body[p.0 as usize])
        .map(|p| match &func.blocks[p.0 as usize].term {
            Terminator::Jump { args, .. } => Some(args.as_slice()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let params = &func.blocks[header].params;
    let mut trips = None;
    for (k, &p) in params.iter().enumerate() {
        if func.value_types.get(p.0 as usize) != Some(&Type::I32) {
            continue;
        }
        let next = *back.get(k)?;
        let Some(step) = step_of(defs(next), p, &konst) else {
            continue;
        };
        let mut init = None;
        for args in &entries {
            let c = konst(*args.get(k)?)?;
            if init.is_some_and(|i| i != c) {
                return None;
            }
            init = Some(c);
        }
        let Some(init) = init else { continue };
        let (on_next, (c, n)) = match (test_of(next), test_of(p)) {
            (Some(t), _) => (true, t),
            (None, Some(t)) => (false, t),
            (None, None) => continue,
        };
        trips = trip_count(init, step, on_next, c, n, stay_when, budget);
        if trips.is_some() {
            break;
        }
    }
    let trips = trips?;
    let leave = if stay_when { else_block } else { then_block };
    // A loop of at most MAX_FACTOR trips becomes straight-line code; a longer one runs a
    // factor that divides its trips (at least two trips of the copies).
    let fits = |factor: u32| insts * factor as usize <= max_insts;
    let factor = if (2..=MAX_FACTOR).contains(&trips) && fits(trips) {
        trips
    } else {
        let mut factor = MAX_FACTOR;
        while factor >= 2 && !(trips % factor == 0 && trips >= 2 * factor && fits(factor)) {
            factor /= 2;
        }
        factor
    };
    (factor >= 2).then_some(Plan {
        body,
        latch,
        test,
        stay,
        leave,
        factor,
        full: factor == trips,
    })
}

/// `s` when `next` (defined by `def`) is `p + s` or `p - (-s)`, `s` a constant.
fn step_of(
    def: Option<(&Op, &[Value])>,
    p: Value,
    konst: &impl Fn(Value) -> Option<i64>,
) -> Option<i64> {
    match def? {
        (Op::Binary(BinaryOp::Add), [a, b]) if *a == p => konst(*b),
        (Op::Binary(BinaryOp::Add), [a, b]) if *b == p => konst(*a),
        (Op::Binary(BinaryOp::Sub), [a, b]) if *a == p => konst(*b).map(|s| -s),
        _ => None,
    }
}

/// The defining instruction of each value defined in the loop's blocks.
fn definitions<'a>(
    func: &'a Function,
    body: &[usize],
) -> impl Fn(Value) -> Option<(&'a Op, &'a [Value])> + use<'a> {
    let mut defs = vec![None; func.value_types.len()];
    for &b in body {
        for inst in &func.blocks[b].insts {
            if let [r] = inst.results.as_slice() {
                defs[r.0 as usize] = Some((&inst.op, inst.args.as_slice()));
            }
        }
    }
    move |v: Value| defs.get(v.0 as usize).copied().flatten()
}

/// How many times the loop body runs: the test `x c n` (x the counter or the counter plus the
/// step) continues while it is `stay_when`. `None` when that takes more than the budget.
fn trip_count(
    init: i64,
    step: i64,
    on_next: bool,
    c: Cond,
    n: i64,
    stay_when: bool,
    budget: &mut u64,
) -> Option<u32> {
    let mut p = init as i32;
    let mut trips: u32 = 0;
    loop {
        *budget = budget.checked_sub(1)?;
        trips = trips.checked_add(1)?;
        let next = p.wrapping_add(step as i32);
        let x = if on_next { next } else { p };
        if eval_compare(c, Type::I32, x as i64, n) != stay_when {
            return Some(trips);
        }
        p = next;
    }
}

/// Unrolls one loop; returns the blocks of all its copies and what each value the loop
/// defines is in the last copy, for the code after it.
fn apply(func: &mut Function, plan: &Plan) -> (Vec<usize>, FastMap<Value, Value>) {
    let ivs = induction_variables(func, plan);
    let k = plan.factor as usize;
    let first_new = func.blocks.len();
    let n = plan.body.len();
    // Block of copy j (0 = the original) of body block i.
    let block_of = |j: usize, i: usize| {
        if j == 0 {
            plan.body[i]
        } else {
            first_new + (j - 1) * n + i
        }
    };
    let index_in_body = |b: usize| plan.body.iter().position(|&x| x == b);
    // Copy j's value for each value the loop defines (copy 0: itself), made in block order
    // so the numbering is deterministic.
    let defined: Vec<Value> = plan
        .body
        .iter()
        .flat_map(|&b| {
            let block = &func.blocks[b];
            block
                .params
                .iter()
                .chain(block.insts.iter().flat_map(|i| &i.results))
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    let mut maps: Vec<FastMap<Value, Value>> = Vec::with_capacity(k);
    maps.push(FastMap::default());
    for _ in 1..k {
        let mut map = FastMap::default();
        for &v in &defined {
            let ty = func.value_types[v.0 as usize];
            map.insert(v, func.new_value(ty));
        }
        maps.push(map);
    }
    let lookup = |maps: &[FastMap<Value, Value>], j: usize, v: Value| -> Value {
        maps[j].get(&v).copied().unwrap_or(v)
    };
    let mut copies = Vec::with_capacity((k - 1) * n);
    for j in 1..k {
        for &b in &plan.body {
            let block = &func.blocks[b];
            let mut term = block.term.clone();
            term.retarget(|t| match index_in_body(t.0 as usize) {
                Some(i) => Block(block_of(j, i) as u32),
                None => t,
            });
            remap_term(&mut term, |v| lookup(&maps, j, v));
            copies.push(BlockData {
                params: block.params.iter().map(|v| lookup(&maps, j, *v)).collect(),
                insts: block
                    .insts
                    .iter()
                    .map(|i| Inst {
                        op: i.op.clone(),
                        args: i.args.iter().map(|v| lookup(&maps, j, *v)).collect(),
                        results: i.results.iter().map(|v| lookup(&maps, j, *v)).collect(),
                        offset: i.offset,
                    })
                    .collect(),
                term,
                term_offset: block.term_offset,
            });
        }
    }
    func.blocks.extend(copies);
    let test_index = index_in_body(plan.test).unwrap_or(0);
    let latch_index = index_in_body(plan.latch).unwrap_or(0);
    for j in 0..k {
        // Copies before the last continue unconditionally; fully unrolled, the last leaves.
        if j + 1 == k && plan.full {
            let test = &mut func.blocks[block_of(j, test_index)];
            test.term = Terminator::Jump {
                target: plan.leave,
                args: Vec::new(),
            };
        }
        if j + 1 < k {
            let stay = match index_in_body(plan.stay.0 as usize) {
                Some(i) => block_of(j, i),
                None => continue,
            };
            let test = &mut func.blocks[block_of(j, test_index)];
            test.term = Terminator::Jump {
                target: Block(stay as u32),
                args: Vec::new(),
            };
        }
        // ...into the next copy; the last goes back to the original header.
        let next_header = block_of((j + 1) % k, 0);
        if let Terminator::Jump { target, .. } = &mut func.blocks[block_of(j, latch_index)].term {
            *target = Block(next_header as u32);
        }
    }
    // Copy j's induction variables count from the original's: p + j*s, and p + (j+1)*s for
    // the value it steps to, instead of a chain of k additions.
    for j in 1..k {
        let header = block_of(j, 0);
        let mut prologue = Vec::new();
        for &(index, p, next, step) in &ivs {
            let offset = func.blocks[header].term_offset;
            let here = lookup(&maps, j, p);
            let counted = counted_from(func, &mut prologue, (p, step, offset), j as i64, here);
            prologue.push(counted);
            let stepped = lookup(&maps, j, next);
            let replacement = counted_from(
                func,
                &mut prologue,
                (p, step, offset),
                j as i64 + 1,
                stepped,
            );
            for i in 0..n {
                let insts = &mut func.blocks[block_of(j, i)].insts;
                if let Some(def) = insts.iter_mut().find(|d| d.results == [stepped]) {
                    def.op = replacement.op.clone();
                    def.args = replacement.args.clone();
                }
            }
            // The parameter is now computed: the jump into this copy no longer passes it.
            func.blocks[header].params.retain(|v| *v != here);
            if let Terminator::Jump { args, .. } =
                &mut func.blocks[block_of(j - 1, latch_index)].term
                && index < args.len()
            {
                args.remove(index);
            }
        }
        let insts = &mut func.blocks[header].insts;
        insts.splice(0..0, prologue);
    }
    // After the loop, values are the last copy's: what `run` rewrites outside the copies.
    let mut copy_blocks = Vec::with_capacity(k * n);
    for j in 0..k {
        copy_blocks.extend((0..n).map(|i| block_of(j, i)));
    }
    let last = maps.pop().unwrap_or_default();
    (copy_blocks, last)
}

/// `result = p + times * step`, its constant appended to `prologue`.
fn counted_from(
    func: &mut Function,
    prologue: &mut Vec<Inst>,
    (p, step, offset): (Value, i64, u32),
    times: i64,
    result: Value,
) -> Inst {
    let c = func.new_value(Type::I32);
    prologue.push(Inst {
        op: Op::Const(times.wrapping_mul(step) as i32 as i64),
        args: Vec::new(),
        results: vec![c],
        offset,
    });
    Inst {
        op: Op::Binary(BinaryOp::Add),
        args: vec![p, c],
        results: vec![result],
        offset,
    }
}

/// The header parameters the back edge passes as `p + s` (s a constant): (index, p, the value
/// passed, s), by descending index so removing one leaves the others' indices.
fn induction_variables(func: &Function, plan: &Plan) -> Vec<(usize, Value, Value, i64)> {
    let Terminator::Jump { args: back, .. } = &func.blocks[plan.latch].term else {
        return Vec::new();
    };
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    let defs = definitions(func, &plan.body);
    let mut ivs = Vec::new();
    for (index, &p) in func.blocks[plan.body[0]].params.iter().enumerate() {
        let Some(&next) = back.get(index) else {
            continue;
        };
        if let Some(step) = step_of(defs(next), p, &konst)
            && func.value_types.get(p.0 as usize) == Some(&Type::I32)
        {
            ivs.push((index, p, next, step));
        }
    }
    ivs.reverse();
    ivs
}

fn remap_term(term: &mut Terminator, f: impl Fn(Value) -> Value) {
    match term {
        Terminator::Jump { args, .. } => args.iter_mut().for_each(|a| *a = f(*a)),
        Terminator::Branch { cond, .. } => *cond = f(*cond),
        Terminator::Switch { index, .. } => *index = f(*index),
        Terminator::Return { values } => values.iter_mut().for_each(|a| *a = f(*a)),
        Terminator::Trap { .. } => {}
    }
}

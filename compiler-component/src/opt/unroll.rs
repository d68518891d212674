//! Loop unrolling of constant trip counts: an innermost loop without calls, left only by the
//! test of its counter, runs k copies of its body per trip around, and only the last copy
//! tests. Each trip then pays one increment, one compare and one branch instead of k, and the
//! copies' addresses become constant offsets of one base (`(p + 4) + 4` folds to `p + 8`)
//! that the back ends fold into their loads and stores.
//!
//! The counter `p` is a parameter of the header that every entry sets to the same constant
//! and the back edge to `p + s`; the loop's only exit is a branch on `p` or `p + s` against a
//! constant. The trip count `T` follows by running that test (with wasm's wrapping
//! arithmetic) from the start value: the tests of iterations `0..T-1` continue and the
//! last one leaves. With `T` a multiple of `k`, the iterations whose index is not `k - 1`
//! modulo `k` always continue, so the copies `0..k-2` drop their tests and copy `k - 1` keeps
//! the only exit. Code after the loop, reached only through that exit, reads copy `k - 1`'s
//! values. When no factor divides `T`, new copies run the whole rounds that end before the
//! last trip and the loop itself runs the rest (`apply_remainder`).
//!
//! A loop of at most `MAX_FACTOR` trips becomes straight-line code when its copies fit the
//! budget, or `FULL_UNROLL_SCALE` times it once what folds in each copy is set aside (test3's
//! strided reads: a pointer stepping by a halving `x` reads from constant addresses once each
//! copy knows `x`, and their bounds checks go, `legalize::constant_checks`).
//!
//! Counts known only at run time stay rolled: measured on the C benchmark, unrolling them
//! behind a guard cost more than it saved (clang's wasm output has already unrolled its
//! long loops; what is left, remainder loops and searches, runs a few trips).

use crate::ir::dom::{Dominators, Loop};
use crate::ir::{
    BinaryOp, Block, BlockData, Cond, Function, Inst, Op, Terminator, TrapCode, Type, UnaryOp,
    Value,
};

use super::fold::{canonical, eval_binary, eval_compare, eval_unary};
use crate::fast_hash::FastMap;

/// Largest unroll factor tried (then halved down to 2).
const MAX_FACTOR: u32 = 8;

/// Test runs spent finding trip counts in one function, bounding the work a crafted module
/// (thousands of loops of millions of iterations) could ask for.
const SIMULATION_BUDGET: u64 = 1 << 22;

/// A loop of at most `MAX_FACTOR` trips may become straight-line code this many times the
/// budget, counted in the instructions that remain after folding (its counter and what it
/// steps become constants in each copy): measured on the C benchmark, the trips' tests and
/// increments saved and the addresses made constant pay for the size at -O2 (clang's full
/// unrolling at -O2 allows about as much).
const FULL_UNROLL_SCALE: usize = 4;

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
    // own blocks and the jumps into it, so every plan stays valid. Uses after each loop
    // unrolled in place then read its last copy's values, in one sweep over the function for
    // all of them (a loop with a remainder ends in its original, whose values they are).
    let mut owner: Vec<Option<usize>> = Vec::new();
    let mut last: FastMap<Value, (usize, Value)> = FastMap::default();
    for (index, p) in plans.iter().enumerate() {
        match &p.count {
            Count::Divides { leave, full } => {
                let (blocks, values) = apply(func, p, *leave, *full);
                owner.resize(func.blocks.len(), None);
                for b in blocks {
                    owner[b] = Some(index);
                }
                last.extend(values.into_iter().map(|(v, copy)| (v, (index, copy))));
            }
            Count::Remainder { counter, end } => apply_remainder(func, p, *counter, *end),
        }
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
    factor: u32,
    count: Count,
}

enum Count {
    /// The factor divides the trip count; `leave` is the test's successor out of the loop,
    /// and `full` says the factor is the trip count (no trip repeats).
    Divides { leave: Block, full: bool },
    /// The factor does not divide the trip count: the copies go round until the counter (the
    /// header's parameter `counter`) enters a round at `end`, then the loop itself runs the
    /// trips that remain (see `apply_remainder`).
    Remainder { counter: usize, end: i64 },
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
    if insts * 2 > FULL_UNROLL_SCALE * max_insts {
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

    // The counter: the same constant on every entry, p + s on the back edge.
    let Terminator::Jump { args: back, .. } = &func.blocks[latch].term else {
        return None;
    };
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    let defs = definitions(func, &body);
    let test_of = |x: Value| -> Option<(Cond, i64)> {
        if cond == x {
            return Some((Cond::Ne, 0));
        }
        match defs(cond)? {
            (Op::Compare(c), [a, b]) if *a == x => Some((*c, konst(*b)?)),
            (Op::Compare(c), [a, b]) if *b == x => Some((c.swapped(), konst(*a)?)),
            (Op::Unary(UnaryOp::Eqz), [a]) if *a == x => Some((Cond::Eq, 0)),
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
    let mut counted = None;
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
        if let Some(trips) = trip_count(init, step, on_next, c, n, stay_when, budget) {
            counted = Some((trips, k, init, step));
            break;
        }
    }
    let (trips, counter, init, step) = counted?;
    let fits = |factor: u32| insts * factor as usize <= max_insts;
    let straight = (2..=MAX_FACTOR).contains(&trips)
        && (fits(trips)
            || residual_when_full(func, &body, header, &entries, back, trips, &konst)
                <= FULL_UNROLL_SCALE * max_insts);
    let plan = |factor: u32, count: Count| Plan {
        body,
        latch,
        test,
        stay,
        factor,
        count,
    };
    // A loop of at most MAX_FACTOR trips becomes straight-line code; a longer one runs a
    // factor that divides its trips (at least two trips of the copies).
    let factor = if straight {
        trips
    } else {
        let mut factor = MAX_FACTOR;
        while factor >= 2 && !(trips % factor == 0 && trips >= 2 * factor && fits(factor)) {
            factor /= 2;
        }
        factor
    };
    if factor >= 2 {
        let leave = if stay_when { else_block } else { then_block };
        let full = factor == trips;
        return Some(plan(factor, Count::Divides { leave, full }));
    }
    // Else the copies run as many whole rounds (at least two) as end before the last trip,
    // which leaves; the counter must not repeat a value on the way (`|s| * trips < 2^32`).
    let mut factor = MAX_FACTOR;
    while factor >= 2 && !(trips > 2 * factor && fits(factor)) {
        factor /= 2;
    }
    if factor < 2 || step.unsigned_abs() * trips as u64 >= 1 << 32 {
        return None;
    }
    let rounds = (trips - 1) / factor;
    let end = init.wrapping_add(step.wrapping_mul((rounds * factor) as i64)) as i32 as i64;
    Some(plan(factor, Count::Remainder { counter, end }))
}

/// The instructions a full unroll of `trips` copies keeps: copy `i`'s header parameters are
/// the constants copy `i - 1` passes back (copy 0's, those every entry passes), and what
/// computes from constants alone folds away (constants themselves count as nothing), as do
/// the bounds checks of addresses that become constants, expected to go
/// (`legalize::constant_checks`).
fn residual_when_full(
    func: &Function,
    body: &[usize],
    header: usize,
    entries: &[&[Value]],
    back: &[Value],
    trips: u32,
    konst: &impl Fn(Value) -> Option<i64>,
) -> usize {
    let params = &func.blocks[header].params;
    let mut known: FastMap<Value, i64> = FastMap::default();
    let mut incoming: Vec<Option<i64>> = (0..params.len())
        .map(|k| {
            let mut args = entries.iter().map(|a| a.get(k).copied().and_then(konst));
            let first = args.next().flatten()?;
            args.all(|a| a == Some(first)).then_some(first)
        })
        .collect();
    let mut residual = 0;
    let mut checked: Vec<Value> = Vec::new();
    for _ in 0..trips {
        known.clear();
        checked.clear();
        for (p, k) in params.iter().zip(&incoming) {
            if let Some(k) = k {
                known.insert(*p, *k);
            }
        }
        for &b in body {
            for inst in &func.blocks[b].insts {
                let folded = match (&inst.op, inst.results.as_slice()) {
                    (Op::Const(k), [r]) => Some((*r, *k)),
                    (op, [r]) => {
                        let args: Option<Vec<i64>> = inst
                            .args
                            .iter()
                            .map(|a| known.get(a).copied().or_else(|| konst(*a)))
                            .collect();
                        let ty = |v: Value| func.value_types[v.0 as usize];
                        args.and_then(|args| match (op, args.as_slice()) {
                            (Op::Binary(o), [x, y]) => eval_binary(*o, ty(inst.args[0]), *x, *y),
                            (Op::Unary(o), [x]) => Some(eval_unary(*o, ty(inst.args[0]), *x)),
                            (Op::Compare(c), [x, y]) => {
                                Some(eval_compare(*c, ty(inst.args[0]), *x, *y) as i64)
                            }
                            (Op::Copy, [x]) => Some(*x),
                            _ => None,
                        })
                        .map(|k| (*r, canonical(ty(*r), k)))
                    }
                    _ => None,
                };
                let is_known = |v: &Value| known.contains_key(v) || konst(*v).is_some();
                match (
                    folded,
                    &inst.op,
                    inst.args.as_slice(),
                    inst.results.as_slice(),
                ) {
                    (Some((r, k)), ..) => {
                        known.insert(r, k);
                    }
                    // A bounds check of a constant address (and its compare) is expected to
                    // go once folding shows the address (`legalize::constant_checks`).
                    (None, Op::Compare(_), args, [r]) if args.iter().any(is_known) => {
                        checked.push(*r);
                        residual += 1;
                    }
                    (None, Op::TrapIf(TrapCode::MemoryOutOfBounds), [c], _)
                        if checked.contains(c) =>
                    {
                        residual -= 1;
                    }
                    (None, Op::BoundsCheck { .. }, [a, _], _) if is_known(a) => {}
                    _ => residual += 1,
                }
            }
        }
        incoming = back.iter().map(|v| known.get(v).copied()).collect();
    }
    residual
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

/// Unrolls one loop of a known trip count in place; returns the blocks of all its copies and
/// what each value the loop defines is in the last copy, for the code after it.
fn apply(
    func: &mut Function,
    plan: &Plan,
    leave: Block,
    full: bool,
) -> (Vec<usize>, FastMap<Value, Value>) {
    let ivs = induction_variables(func, plan);
    let k = plan.factor as usize;
    // Copy 0 is the loop itself.
    let values = loop_values(func, &plan.body);
    let mut maps = vec![FastMap::default()];
    maps.extend(fresh_maps(func, &values, k - 1));
    let mut copies = vec![plan.body.clone()];
    copies.extend(append_copies(func, &plan.body, &maps[1..]));
    link(func, plan, &copies, &maps, &ivs);
    let (test, _, latch) = plan.indices();
    // The last copy tests, or (fully unrolled) leaves; it goes back to the loop's header.
    if full {
        func.blocks[copies[k - 1][test]].term = Terminator::Jump {
            target: leave,
            args: Vec::new(),
        };
    }
    if let Terminator::Jump { target, .. } = &mut func.blocks[copies[k - 1][latch]].term {
        *target = Block(plan.body[0] as u32);
    }
    let last = maps.pop().unwrap_or_default();
    (copies.concat(), last)
}

/// Unrolls a loop whose trip count the factor `k` does not divide: `k` new copies of it,
/// where only the last decides whether to go round again, run before the loop itself, which
/// runs the trips that remain (so the code after it reads the loop's own values). Every
/// entry goes to the copies (the count being known, they have a round to run), and after
/// each round they go round again unless the counter entering the next is `end`.
fn apply_remainder(func: &mut Function, plan: &Plan, counter: usize, end: i64) {
    let header = plan.body[0];
    let Terminator::Jump { args: back, .. } = &func.blocks[plan.latch].term else {
        return;
    };
    let back = back.clone();
    let entries: Vec<usize> = (0..func.blocks.len())
        .filter(|b| !plan.body.contains(b))
        .filter(|&b| {
            matches!(func.blocks[b].term,
                Terminator::Jump { target, .. } if target.0 as usize == header)
        })
        .collect();
    let ivs = induction_variables(func, plan);
    let k = plan.factor as usize;
    let values = loop_values(func, &plan.body);
    let maps = fresh_maps(func, &values, k);
    let copies = append_copies(func, &plan.body, &maps);
    link(func, plan, &copies, &maps, &ivs);
    let (test, stay, latch) = plan.indices();
    let (first, last) = (copies[0][0], copies[k - 1][latch]);
    func.blocks[copies[k - 1][test]].term = Terminator::Jump {
        target: Block(copies[k - 1][stay] as u32),
        args: Vec::new(),
    };
    // The last copy's back edge passes what the loop's does, renamed.
    let back: Vec<Value> = back
        .iter()
        .map(|v| maps[k - 1].get(v).copied().unwrap_or(*v))
        .collect();
    let at = func.blocks[last].term_offset;
    let end_value = func.new_value(Type::I32);
    let again = func.new_value(Type::I32);
    func.blocks[last].insts.extend([
        Inst {
            op: Op::Const(end),
            args: Vec::new(),
            results: vec![end_value],
            offset: at,
        },
        Inst {
            op: Op::Compare(Cond::Ne),
            args: vec![back[counter], end_value],
            results: vec![again],
            offset: at,
        },
    ]);
    let base = func.blocks.len() as u32;
    func.blocks[last].term = Terminator::Branch {
        cond: again,
        then_block: Block(base),
        else_block: Block(base + 1),
    };
    for target in [first, header] {
        func.blocks.push(BlockData {
            params: Vec::new(),
            insts: Vec::new(),
            term: Terminator::Jump {
                target: Block(target as u32),
                args: back.clone(),
            },
            term_offset: at,
        });
    }
    for b in entries {
        if let Terminator::Jump { target, .. } = &mut func.blocks[b].term {
            *target = Block(first as u32);
        }
    }
}

/// The values the loop's blocks define (parameters and results), in block order.
fn loop_values(func: &Function, body: &[usize]) -> Vec<Value> {
    body.iter()
        .flat_map(|&b| {
            let block = &func.blocks[b];
            block
                .params
                .iter()
                .chain(block.insts.iter().flat_map(|i| &i.results))
                .copied()
        })
        .collect()
}

/// A new name for each of `values`, for each of `count` copies (numbered in order, so the
/// numbering is deterministic).
fn fresh_maps(func: &mut Function, values: &[Value], count: usize) -> Vec<FastMap<Value, Value>> {
    (0..count)
        .map(|_| {
            values
                .iter()
                .map(|&v| (v, func.new_value(func.value_types[v.0 as usize])))
                .collect()
        })
        .collect()
}

/// Appends a copy of the loop's blocks for each of `maps`, its values renamed by it and its
/// jumps inside the loop going to its own blocks; returns each copy's blocks in body order.
fn append_copies(
    func: &mut Function,
    body: &[usize],
    maps: &[FastMap<Value, Value>],
) -> Vec<Vec<usize>> {
    let n = body.len();
    let first = func.blocks.len();
    let mut blocks = Vec::with_capacity(maps.len() * n);
    for (j, map) in maps.iter().enumerate() {
        let look = |v: &Value| map.get(v).copied().unwrap_or(*v);
        let base = first + j * n;
        for &b in body {
            let block = &func.blocks[b];
            let mut term = block.term.clone();
            term.retarget(|t| match body.iter().position(|&x| x == t.0 as usize) {
                Some(i) => Block((base + i) as u32),
                None => t,
            });
            remap_term(&mut term, |v| look(&v));
            blocks.push(BlockData {
                params: block.params.iter().map(look).collect(),
                insts: block
                    .insts
                    .iter()
                    .map(|i| Inst {
                        op: i.op.clone(),
                        args: i.args.iter().map(look).collect(),
                        results: i.results.iter().map(look).collect(),
                        offset: i.offset,
                    })
                    .collect(),
                term,
                term_offset: block.term_offset,
            });
        }
    }
    func.blocks.extend(blocks);
    (0..maps.len())
        .map(|j| (first + j * n..first + (j + 1) * n).collect())
        .collect()
}

/// Chains the copies: each but the last continues unconditionally into the next, and copy
/// `j`'s induction variables count from copy 0's, `p + j*s` (and `p + (j+1)*s` for the value
/// it steps to), instead of a chain of additions. The last copy's test and back edge are the
/// caller's.
fn link(
    func: &mut Function,
    plan: &Plan,
    copies: &[Vec<usize>],
    maps: &[FastMap<Value, Value>],
    ivs: &[(usize, Value, Value, i64)],
) {
    let k = copies.len();
    let (test, stay, latch) = plan.indices();
    let look = |j: usize, v: Value| maps[j].get(&v).copied().unwrap_or(v);
    for j in 0..k - 1 {
        func.blocks[copies[j][test]].term = Terminator::Jump {
            target: Block(copies[j][stay] as u32),
            args: Vec::new(),
        };
        if let Terminator::Jump { target, .. } = &mut func.blocks[copies[j][latch]].term {
            *target = Block(copies[j + 1][0] as u32);
        }
    }
    for j in 1..k {
        let header = copies[j][0];
        let mut prologue = Vec::new();
        for &(index, p, next, step) in ivs {
            let offset = func.blocks[header].term_offset;
            let from = (look(0, p), step, offset);
            let here = look(j, p);
            let counted = counted_from(func, &mut prologue, from, j as i64, here);
            prologue.push(counted);
            let stepped = look(j, next);
            let replacement = counted_from(func, &mut prologue, from, j as i64 + 1, stepped);
            for &b in &copies[j] {
                let insts = &mut func.blocks[b].insts;
                if let Some(def) = insts.iter_mut().find(|d| d.results == [stepped]) {
                    def.op = replacement.op.clone();
                    def.args = replacement.args.clone();
                }
            }
            // The parameter is now computed: the jump into this copy no longer passes it.
            func.blocks[header].params.retain(|v| *v != here);
            if let Terminator::Jump { args, .. } = &mut func.blocks[copies[j - 1][latch]].term
                && index < args.len()
            {
                args.remove(index);
            }
        }
        func.blocks[header].insts.splice(0..0, prologue);
    }
}

impl Plan {
    /// Where the test, its successor in the loop and the latch are among the body's blocks.
    fn indices(&self) -> (usize, usize, usize) {
        let index = |b: usize| self.body.iter().position(|&x| x == b).unwrap_or(0);
        (
            index(self.test),
            index(self.stay.0 as usize),
            index(self.latch),
        )
    }
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

//! Loop versioning for bounds checks: an innermost loop without calls whose checked addresses
//! are a loop-invariant base plus a counter (of constant range, or bounded at run time by an
//! invariant: `Limit`) and values of known range runs in a copy without those checks when tests
//! before the loop show that no address it can form is out of bounds; otherwise it runs as it
//! was, checks and all.
//!
//! The tests only choose the copy and never trap, so a trap happens exactly where it did: the
//! checked loop is the one that runs whenever any address could be out of bounds. A check
//! `addr > bytes - end` with `addr = base + x`, `base` invariant and `x` at most `hi`, never
//! fires while `base <= bytes - (end + hi)` (and `bytes >= end + hi`): then `base + x` stays
//! below `bytes - end` without wrapping. The tests are a chain of compare-and-branch blocks,
//! each failure entering the checked loop.
//!
//! Values the loop defines and code after it reads are merged where the two copies' exits meet
//! (new block parameters), as SSA construction does.

use super::ranges::Ranges;
use crate::fast_hash::FastMap;
use crate::ir::dom::Dominators;
use crate::ir::{
    BinaryOp, Block, BlockData, Cond, Function, Inst, Module, Op, Symbol, Terminator, TrapCode,
    Type, UnaryOp, Value,
};
use crate::isa::Caps;

/// Instructions a loop may hold to be copied: versioning doubles its code.
const MAX_LOOP_INSTS: usize = 160;

/// Loops versioned in one function, bounding the growth of a function with many loops.
const MAX_LOOPS: usize = 16;

/// A counter whose bound is known to stay below this many leaves the loop unversioned: the
/// test before the loop costs about what a few iterations' checks do.
const MIN_TRIPS: u32 = 16;

/// How deep `split_address` follows sums.
const MAX_SUM_DEPTH: u32 = 8;

/// Version the innermost loops of every body; returns the indices of the bodies it changed.
pub fn run(module: &mut Module, caps: Caps) -> Vec<usize> {
    // The checks a copy sheds per iteration must outweigh the test before the loop (which a
    // loop entered for a few iterations pays each time) and what a second copy of the loop
    // costs the allocation around it: one check (a compare and a branch) on Thumb-2, six on
    // RV32, where a check is a single compare-and-branch; twice that for a counter bounded at
    // run time, whose test is longer.
    let min_checks = if caps.branch_compares { 6 } else { 1 };
    let min_bytes = super::memory_min_bytes(module);
    let mut changed = Vec::new();
    for (i, func) in module.bodies.iter_mut().enumerate() {
        if version_function(func, min_bytes, min_checks) {
            changed.push(i);
        }
    }
    changed
}

/// A check the copy leaves out, and what the test before the loop compares for it.
#[derive(Clone, Copy)]
struct Removable {
    /// The `TrapIf` instruction: (block, index).
    at: (usize, usize),
    /// `addr = base + x` with x in `0..=hi`; no base: `addr = x`.
    base: Option<Value>,
    /// The check fires when `addr > bound - end`; it cannot while `base <= bound - minus`
    /// (`minus = end + hi`) and `bound >= minus`.
    bound: Value,
    minus: u32,
    /// `bound >= minus` holds without a test: `bound` is the memory's size and `minus` within
    /// its minimum.
    covers: bool,
    /// The address also adds `counter << shift` (`Counter`), whose largest value the test
    /// bounds at run time.
    counter: Option<Counter>,
}

/// A parameter `p` of the loop header entered with `init`, whose largest value the test before
/// the loop can bound (`Limit`). The address adds `p << shift`.
#[derive(Clone, Copy, PartialEq)]
struct Counter {
    init: Value,
    limit: Limit,
    shift: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Limit {
    /// Every later value passed `next < n` (unsigned) on the back edge: `p <= max(init, n - 1)`.
    Below(Value),
    /// `next = p + step` (a power of two) and the back edge is taken while `next != n`: with
    /// `init < n` and `n - init` a multiple of the step, `p` runs from `init` to `n - step`.
    Reaches { n: Value, step: u32 },
    /// `next = p + step` in lockstep with a sibling counter from `rounds` down by one that
    /// leaves when it reaches 0: with `rounds >= 1`, `p <= init + step * (rounds - 1)`.
    Rounds { rounds: Value, step: u32 },
}

fn version_function(func: &mut Function, min_bytes: u64, min_checks: usize) -> bool {
    let mut versioned = 0;
    let mut changed = false;
    // Headers of loops already versioned (both copies): never again.
    let mut done_headers: Vec<usize> = Vec::new();
    // Each versioning changes the CFG; recompute and look again, innermost loops first.
    while versioned < MAX_LOOPS {
        let dom = Dominators::compute(func);
        let loops = dom.loops(func);
        // The first loop worth versioning, planned with one look at the function.
        let chosen = {
            let defs = Defs::new(func);
            let mut ranges = Ranges::new(func);
            let mut chosen = None;
            for (i, lp) in loops.iter().enumerate() {
                let inner = !loops
                    .iter()
                    .any(|other| other.header != lp.header && lp.in_body[other.header]);
                if !inner || done_headers.contains(&lp.header) {
                    continue;
                }
                let look = Look {
                    func,
                    dom: &dom,
                    defs: &defs,
                };
                let Some(plan) = plan_loop(&look, &mut ranges, lp, min_bytes) else {
                    continue;
                };
                let counted = plan.removable.iter().any(|r| r.counter.is_some());
                let needed = if counted { 2 * min_checks } else { min_checks };
                if plan.removable.len() >= needed {
                    chosen = Some((i, plan));
                    break;
                }
            }
            chosen
        };
        let Some((i, plan)) = chosen else {
            break;
        };
        let lp = &loops[i];
        let backup = func.clone();
        let copy_header = func.blocks.len() + body_index(lp, lp.header);
        done_headers.push(lp.header);
        if apply(func, &dom, lp, &plan).is_none() {
            *func = backup;
            continue;
        }
        done_headers.push(copy_header);
        versioned += 1;
        changed = true;
    }
    changed
}

/// The position of `block` among the loop's blocks (in block order): where its copy goes.
fn body_index(lp: &crate::ir::dom::Loop, block: usize) -> usize {
    lp.in_body[..block].iter().filter(|b| **b).count()
}

/// What planning reads of the function, computed once per look.
struct Look<'a> {
    func: &'a Function,
    dom: &'a Dominators,
    defs: &'a Defs<'a>,
}

struct Plan {
    preheader: usize,
    removable: Vec<Removable>,
}

fn plan_loop(
    look: &Look,
    ranges: &mut Ranges,
    lp: &crate::ir::dom::Loop,
    min_bytes: u64,
) -> Option<Plan> {
    let (func, dom, defs) = (look.func, look.dom, look.defs);
    let preds = dom.preds();
    let mut outside = preds[lp.header]
        .iter()
        .map(|p| p.0 as usize)
        .filter(|&p| !lp.in_body[p]);
    let (Some(preheader), None) = (outside.next(), outside.next()) else {
        return None;
    };
    if !matches!(func.blocks[preheader].term, Terminator::Jump { .. })
        || !dom.is_reachable(preheader)
    {
        return None;
    }
    let body: Vec<usize> = (0..func.blocks.len()).filter(|&b| lp.in_body[b]).collect();
    let size: usize = body.iter().map(|&b| func.blocks[b].insts.len() + 1).sum();
    // A loop that calls spends its time in the callees (soft-float helpers, say): the checks
    // it would shed are a small part of each iteration, the copy all of its code.
    let calls = body.iter().flat_map(|&b| &func.blocks[b].insts).any(|i| {
        matches!(
            i.op,
            Op::Call(_) | Op::CallPtr(_) | Op::CallIndirect(_) | Op::Bulk(_)
        )
    });
    if size > MAX_LOOP_INSTS || calls {
        return None;
    }
    let invariant = |v: Value| defs.block(v).is_some_and(|b| !lp.in_body[b]);
    let counters = counters(func, defs, preds, ranges, lp, preheader, &invariant);
    let mut removable = Vec::new();
    for &b in &body {
        for (i, inst) in func.blocks[b].insts.iter().enumerate() {
            let (Op::TrapIf(TrapCode::MemoryOutOfBounds), [cond]) =
                (&inst.op, inst.args.as_slice())
            else {
                continue;
            };
            // `addr > bytes - end`, or after an earlier check of the same address the room
            // left, `bytes - addr < end`: both fire exactly when `addr + end > bytes`.
            let (addr, bound, end) = match defs.inst(*cond) {
                Some((Op::Compare(Cond::GtU), [addr, limit])) => match defs.inst(*limit) {
                    Some((Op::Binary(BinaryOp::Sub), [bytes, end]))
                        if invariant(*bytes) && defs.konst(*end).is_some() =>
                    {
                        (*addr, *bytes, defs.konst(*end).unwrap_or(0) as u32 as u64)
                    }
                    _ if invariant(*limit) => (*addr, *limit, 0),
                    _ => continue,
                },
                Some((Op::Compare(Cond::LtU), [room, needed])) => {
                    match (defs.inst(*room), defs.konst(*needed)) {
                        (Some((Op::Binary(BinaryOp::Sub), [bytes, addr])), Some(n))
                            if invariant(*bytes) =>
                        {
                            (*addr, *bytes, n as u32 as u64)
                        }
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let Some(Split { base, counter, hi }) =
                split_address(defs, ranges, &invariant, &counters, addr)
            else {
                continue;
            };
            let minus = end + hi as u64;
            if minus > u32::MAX as u64 {
                continue;
            }
            let is_bytes = matches!(
                defs.inst(bound),
                Some((
                    Op::LoadSymbol {
                        symbol: Symbol::MemoryBytes,
                        offset: 0
                    },
                    []
                ))
            );
            removable.push(Removable {
                at: (b, i),
                base,
                bound,
                minus: minus as u32,
                covers: is_bytes && minus <= min_bytes,
                counter,
            });
        }
    }
    (!removable.is_empty()).then_some(Plan {
        preheader,
        removable,
    })
}

/// An address taken apart: `[base +] [counter << shift +] x`, `base` loop-invariant and x in
/// `0..=hi` (a sum of values of known range).
struct Split {
    base: Option<Value>,
    counter: Option<Counter>,
    hi: u32,
}

/// `addr` as a `Split`: its sum flattened into terms, each the invariant base (one at most), a
/// counter (`p` or `p << k`, one at most) or a value of known range; the sum cannot wrap once
/// the test holds.
fn split_address(
    defs: &Defs,
    ranges: &mut Ranges,
    invariant: &dyn Fn(Value) -> bool,
    counters: &[(Value, Counter)],
    addr: Value,
) -> Option<Split> {
    let mut terms = Vec::new();
    let mut pending = vec![(addr, 0)];
    while let Some((v, depth)) = pending.pop() {
        match defs.inst(v) {
            Some((Op::Binary(BinaryOp::Add), [a, b])) if depth < MAX_SUM_DEPTH && !invariant(v) => {
                pending.push((*a, depth + 1));
                pending.push((*b, depth + 1));
            }
            _ => terms.push(v),
        }
    }
    let mut split = Split {
        base: None,
        counter: None,
        hi: 0,
    };
    for t in terms {
        // A constant is an offset of known range, even one hoisted out of the loop.
        if invariant(t) && split.base.is_none() && defs.konst(t).is_none() {
            split.base = Some(t);
            continue;
        }
        // A known range first: its test is the cheaper one.
        if let Some((_, hi)) = ranges.of(t) {
            split.hi = split.hi.checked_add(hi)?;
            continue;
        }
        let (p, shift) = match defs.inst(t) {
            Some((Op::Binary(BinaryOp::Shl), [p, k])) => {
                (*p, defs.konst(*k).map_or(u32::MAX, |k| k as u32))
            }
            _ => (t, 0),
        };
        if split.counter.is_none()
            && shift <= 3
            && let Some((_, c)) = counters.iter().find(|(q, _)| *q == p)
        {
            split.counter = Some(Counter { shift, ..*c });
            continue;
        }
        let (_, hi) = ranges.of(t)?;
        split.hi = split.hi.checked_add(hi)?;
    }
    Some(split)
}

/// The loop header's counters (`Counter`, shift 0): parameters passed `init` from the
/// preheader and, on the one back edge, a value the branches on its way bound by an invariant.
fn counters(
    func: &Function,
    defs: &Defs,
    preds: &[Vec<Block>],
    ranges: &mut Ranges,
    lp: &crate::ir::dom::Loop,
    preheader: usize,
    invariant: &dyn Fn(Value) -> bool,
) -> Vec<(Value, Counter)> {
    let header = lp.header;
    let latches: Vec<usize> = preds[header]
        .iter()
        .map(|p| p.0 as usize)
        .filter(|&p| lp.in_body[p])
        .collect();
    let (Terminator::Jump { args: inits, .. }, [latch]) =
        (&func.blocks[preheader].term, latches.as_slice())
    else {
        return Vec::new();
    };
    let Terminator::Jump { args: nexts, .. } = &func.blocks[*latch].term else {
        return Vec::new();
    };
    // The branches taken on the way to the latch, and `p + step` for a header parameter `p`
    // (step within ±2^16): what the range analysis reads of back edges.
    let guards = ranges.guards(Block(*latch as u32));
    let step_of =
        |ranges: &Ranges, next: Value, p: Value| ranges.signed_step_of(next, p).map(|k| k as i32);
    let positive =
        |k: i32| (k > 0 && k <= 65536 && (k as u32).is_power_of_two()).then_some(k as u32);
    // Each guard as `next c n` for the value `next` the back edge passes.
    let compared = |next: Value| {
        guards.iter().filter_map(move |&(cond, holds)| {
            let Some((Op::Compare(c), [a, b])) = defs.inst(cond) else {
                return None;
            };
            let c = if holds { *c } else { c.inverse() };
            if *a == next {
                Some((c, *b))
            } else if *b == next {
                Some((c.swapped(), *a))
            } else {
                None
            }
        })
    };
    let params = &func.blocks[header].params;
    let mut found = Vec::new();
    for (j, &p) in params.iter().enumerate() {
        let (Some(&init), Some(&next)) = (inits.get(j), nexts.get(j)) else {
            continue;
        };
        let step = step_of(ranges, next, p).and_then(positive);
        let mut limit = None;
        for (c, n) in compared(next) {
            if !invariant(n) {
                continue;
            }
            limit = match (c, step) {
                (Cond::LtU, _) => Some(Limit::Below(n)),
                (Cond::Ne, Some(step)) => Some(Limit::Reaches { n, step }),
                _ => continue,
            };
            break;
        }
        // A sibling counting down by one to 0 bounds the rounds.
        if limit.is_none()
            && let Some(step) = step
        {
            for (k, &q) in params.iter().enumerate() {
                let (Some(&start), Some(&q_next)) = (inits.get(k), nexts.get(k)) else {
                    continue;
                };
                let zero = |v: Value| defs.konst(v) == Some(0);
                // `q_next != 0` as a compare, or the branch on `q_next` itself (or on its
                // `eqz`, not taken).
                let leaves_at_zero = compared(q_next).any(|(c, n)| c == Cond::Ne && zero(n))
                    || guards.iter().any(|&(cond, holds)| {
                        (cond == q_next && holds)
                            || (!holds
                                && matches!(defs.inst(cond),
                                    Some((Op::Unary(UnaryOp::Eqz), [x])) if *x == q_next))
                    });
                if k != j && step_of(ranges, q_next, q) == Some(-1) && leaves_at_zero {
                    limit = Some(Limit::Rounds {
                        rounds: start,
                        step,
                    });
                    break;
                }
            }
        }
        // A count known to be small (`n & 7` rounds, say) leaves too few iterations to pay
        // for the test.
        let mut small = |v: Value| ranges.of(v).is_some_and(|(_, hi)| hi < MIN_TRIPS);
        let limit = limit.filter(|l| match *l {
            Limit::Below(n) | Limit::Reaches { n, .. } => !small(n),
            Limit::Rounds { rounds, .. } => !small(rounds),
        });
        if let Some(limit) = limit {
            found.push((
                p,
                Counter {
                    init,
                    limit,
                    shift: 0,
                },
            ));
        }
    }
    found
}

/// Where each value is defined.
struct Defs<'a> {
    func: &'a Function,
    /// (block, Some(instruction index)) or (block, None) for a parameter.
    at: Vec<Option<(usize, Option<usize>)>>,
}

impl<'a> Defs<'a> {
    fn new(func: &'a Function) -> Self {
        let mut at = vec![None; func.value_types.len()];
        for (b, block) in func.blocks.iter().enumerate() {
            for p in &block.params {
                at[p.0 as usize] = Some((b, None));
            }
            for (i, inst) in block.insts.iter().enumerate() {
                for r in &inst.results {
                    at[r.0 as usize] = Some((b, Some(i)));
                }
            }
        }
        Defs { func, at }
    }

    fn block(&self, v: Value) -> Option<usize> {
        self.at.get(v.0 as usize).copied().flatten().map(|(b, _)| b)
    }

    fn inst(&self, v: Value) -> Option<(&'a Op, &'a [Value])> {
        let (b, Some(i)) = self.at.get(v.0 as usize).copied().flatten()? else {
            return None;
        };
        let inst = &self.func.blocks[b].insts[i];
        Some((&inst.op, inst.args.as_slice()))
    }

    fn konst(&self, v: Value) -> Option<i64> {
        match self.inst(v)? {
            (Op::Const(k), []) => Some(*k),
            _ => None,
        }
    }
}

/// Values the test before the loop computes, shared between its conditions.
type Made = FastMap<(Option<BinaryOp>, Value, Value), Value>;

fn shared_const(func: &mut Function, made: &mut Made, pre: usize, offset: u32, k: u32) -> Value {
    *made
        .entry((None, Value(k), Value(k)))
        .or_insert_with(|| push_inst(func, pre, Op::Const(k as i32 as i64), vec![], offset))
}

fn shared_bin(
    func: &mut Function,
    made: &mut Made,
    pre: usize,
    offset: u32,
    op: BinaryOp,
    a: Value,
    b: Value,
) -> Value {
    *made
        .entry((Some(op), a, b))
        .or_insert_with(|| push_inst(func, pre, Op::Binary(op), vec![a, b], offset))
}

fn push_inst(func: &mut Function, block: usize, op: Op, args: Vec<Value>, offset: u32) -> Value {
    let r = func.new_value(Type::I32);
    func.blocks[block].insts.push(Inst {
        op,
        args,
        results: vec![r],
        offset,
    });
    r
}

/// Copy the loop, drop the removable checks from the copy, choose between the two before the
/// loop and merge what the loop defines where the copies' exits meet. `None`: the function is
/// left half-rewritten (the caller restores it).
fn apply(
    func: &mut Function,
    dom: &Dominators,
    lp: &crate::ir::dom::Loop,
    plan: &Plan,
) -> Option<()> {
    let n_blocks = func.blocks.len();
    let body: Vec<usize> = (0..n_blocks).filter(|&b| lp.in_body[b]).collect();
    let defs = Defs::new(func);
    let in_loop = |v: Value| defs.block(v).is_some_and(|b| lp.in_body[b]);

    // Uses of loop values outside the loop: (block, instruction index or None = terminator,
    // argument position).
    let mut escaping: Vec<(usize, Option<usize>, usize)> = Vec::new();
    for b in (0..n_blocks).filter(|&b| !lp.in_body[b] && dom.is_reachable(b)) {
        for (i, inst) in func.blocks[b].insts.iter().enumerate() {
            for (k, a) in inst.args.iter().enumerate() {
                if in_loop(*a) {
                    escaping.push((b, Some(i), k));
                }
            }
        }
        for (k, a) in func.blocks[b].term.use_slice().iter().enumerate() {
            if in_loop(*a) {
                escaping.push((b, None, k));
            }
        }
    }
    drop(defs);

    // The copy.
    let mut vmap: FastMap<Value, Value> = FastMap::default();
    let mut bmap = vec![usize::MAX; n_blocks];
    for (k, &b) in body.iter().enumerate() {
        bmap[b] = n_blocks + k;
    }
    let removed: Vec<(usize, usize)> = plan.removable.iter().map(|r| r.at).collect();
    let mut copies = Vec::with_capacity(body.len());
    for &b in &body {
        let block = func.blocks[b].clone();
        // A new value of the same type for each one the block defines.
        let mut fresh = |func: &mut Function, v: Value| {
            let nv = func.new_value(func.value_type(v));
            vmap.insert(v, nv);
            nv
        };
        let params: Vec<Value> = block.params.iter().map(|p| fresh(func, *p)).collect();
        let mut insts = Vec::with_capacity(block.insts.len());
        for (i, inst) in block.insts.iter().enumerate() {
            if removed.contains(&(b, i)) {
                continue;
            }
            let results = inst.results.iter().map(|r| fresh(func, *r)).collect();
            insts.push(Inst {
                op: inst.op.clone(),
                args: inst.args.clone(),
                results,
                offset: inst.offset,
            });
        }
        copies.push(BlockData {
            params,
            insts,
            term: block.term.clone(),
            term_offset: block.term_offset,
        });
    }
    let map_value = |v: &mut Value, vmap: &FastMap<Value, Value>| {
        if let Some(n) = vmap.get(v) {
            *v = *n;
        }
    };
    for copy in &mut copies {
        for inst in &mut copy.insts {
            for a in &mut inst.args {
                map_value(a, &vmap);
            }
        }
        copy.term.retarget(|t| {
            if bmap[t.0 as usize] != usize::MAX {
                Block(bmap[t.0 as usize] as u32)
            } else {
                t
            }
        });
        match &mut copy.term {
            Terminator::Jump { args, .. } => args.iter_mut().for_each(|a| map_value(a, &vmap)),
            Terminator::Branch { cond, .. } => map_value(cond, &vmap),
            Terminator::Switch { index, .. } => map_value(index, &vmap),
            Terminator::Return { values } => values.iter_mut().for_each(|a| map_value(a, &vmap)),
            Terminator::Trap { .. } => {}
        }
    }
    func.blocks.extend(copies);

    // The tests before the loop, per (base, bound, counter) with the largest minus:
    // base <= bound - minus (and bound >= minus where that is not known), then the counter's
    // largest value within what is left.
    let pre = plan.preheader;
    let offset = func.blocks[pre].term_offset;
    let mut groups: Vec<Removable> = Vec::new();
    for r in &plan.removable {
        match groups
            .iter_mut()
            .find(|g| g.base == r.base && g.bound == r.bound && g.counter == r.counter)
        {
            Some(g) => {
                if r.minus > g.minus {
                    g.minus = r.minus;
                    g.covers = r.covers;
                } else if r.minus == g.minus {
                    g.covers |= r.covers;
                }
            }
            None => groups.push(*r),
        }
    }
    // Each condition the copy needs, `a c b`, tested by a branch of its own (a compare the
    // back ends fuse into it) in a chain of blocks before the loop: any that fails enters the
    // checked loop. The arithmetic they compare goes in the preheader.
    let mut conditions: Vec<(Cond, Value, Value)> = Vec::new();
    let constants = func.constants();
    let mut made = Made::default();
    for &Removable {
        base,
        bound,
        minus,
        covers,
        counter,
        ..
    } in &groups
    {
        let minus = shared_const(func, &mut made, pre, offset, minus);
        if !covers || (base.is_none() && counter.is_none()) {
            conditions.push((Cond::GeU, bound, minus));
        }
        // What the base and the counter may add: bound - minus.
        let mut room = shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, bound, minus);
        if let Some(base) = base {
            conditions.push((Cond::LeU, base, room));
            room = shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, room, base);
        }
        if let Some(c) = counter {
            // The counter's largest value times 2^shift fits in the room.
            if c.shift > 0 {
                let shift = shared_const(func, &mut made, pre, offset, c.shift);
                room = shared_bin(func, &mut made, pre, offset, BinaryOp::ShrU, room, shift);
            }
            // (Always true of a counter from 0.)
            if constants.get(c.init.0 as usize).copied().flatten() != Some(0) {
                conditions.push((Cond::LeU, c.init, room));
            }
            match c.limit {
                Limit::Below(n) => {
                    let one = shared_const(func, &mut made, pre, offset, 1);
                    let last = shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, n, one);
                    conditions.push((Cond::LeU, last, room));
                }
                Limit::Reaches { n, step } => {
                    conditions.push((Cond::LtU, c.init, n));
                    let step_v = shared_const(func, &mut made, pre, offset, step);
                    let last = shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, n, step_v);
                    conditions.push((Cond::LeU, last, room));
                    if step > 1 {
                        let distance =
                            shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, n, c.init);
                        let mask = shared_const(func, &mut made, pre, offset, step - 1);
                        let rest =
                            shared_bin(func, &mut made, pre, offset, BinaryOp::And, distance, mask);
                        let zero = shared_const(func, &mut made, pre, offset, 0);
                        conditions.push((Cond::Eq, rest, zero));
                    }
                }
                Limit::Rounds { rounds, step } => {
                    // rounds - 1 (0 when rounds is 0 fails: it wraps) scaled by the step fits
                    // in what the room leaves above init.
                    let one = shared_const(func, &mut made, pre, offset, 1);
                    let extra =
                        shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, rounds, one);
                    let left =
                        shared_bin(func, &mut made, pre, offset, BinaryOp::Sub, room, c.init);
                    let shift = step.trailing_zeros();
                    let left = if shift > 0 {
                        let s = shared_const(func, &mut made, pre, offset, shift);
                        shared_bin(func, &mut made, pre, offset, BinaryOp::ShrU, left, s)
                    } else {
                        left
                    };
                    conditions.push((Cond::LeU, extra, left));
                }
            }
        }
    }
    let mut seen = Vec::new();
    conditions.retain(|c| {
        let new = !seen.contains(c);
        seen.push(*c);
        new
    });
    if conditions.is_empty() {
        return None;
    }
    let Terminator::Jump { target, args } = func.blocks[pre].term.clone() else {
        return None;
    };
    let jump = |to: usize, args: &[Value]| BlockData {
        params: vec![],
        insts: vec![],
        term: Terminator::Jump {
            target: Block(to as u32),
            args: args.to_vec(),
        },
        term_offset: offset,
    };
    // The chain's blocks in a row, then the failures after them (out of the straight path):
    // test k in block `tests[k]` (the preheader first), branching on to the next or out to
    // `fails[k]`; the last test's success enters the copy.
    let m = conditions.len();
    let first = func.blocks.len();
    let tests: Vec<usize> = std::iter::once(pre).chain(first..first + m).collect();
    let fails: Vec<usize> = (first + m..first + 2 * m).collect();
    for _ in 0..m {
        func.blocks.push(jump(bmap[target.0 as usize], &args));
    }
    for _ in 0..m {
        func.blocks.push(jump(target.0 as usize, &args));
    }
    for (k, (c, a, b)) in conditions.into_iter().enumerate() {
        // Branch out on the failure; layout then keeps the chain in a straight line.
        let fails_here = push_inst(func, tests[k], Op::Compare(c.inverse()), vec![a, b], offset);
        func.blocks[tests[k]].term = Terminator::Branch {
            cond: fails_here,
            then_block: Block(fails[k] as u32),
            else_block: Block(tests[k + 1] as u32),
        };
    }

    // Exits: a branch out of either copy goes through a block of its own that jumps, so the
    // exit block, now reached from both copies, can take parameters.
    let sources: Vec<usize> = body
        .iter()
        .copied()
        .chain(body.iter().map(|&b| bmap[b]))
        .collect();
    let is_loop_block = |b: usize| {
        (b < n_blocks && lp.in_body[b]) || (n_blocks..n_blocks + body.len()).contains(&b)
    };
    for &s in &sources {
        if matches!(func.blocks[s].term, Terminator::Jump { .. }) {
            continue;
        }
        let mut term = func.blocks[s].term.clone();
        let mut new_blocks = Vec::new();
        let next = func.blocks.len();
        term.retarget(|t| {
            if is_loop_block(t.0 as usize) {
                return t;
            }
            let f = next + new_blocks.len();
            new_blocks.push(BlockData {
                params: vec![],
                insts: vec![],
                term: Terminator::Jump {
                    target: t,
                    args: vec![],
                },
                term_offset: func.blocks[s].term_offset,
            });
            Block(f as u32)
        });
        func.blocks[s].term = term;
        func.blocks.extend(new_blocks);
    }

    // Merge the loop values read after the loop.
    if !escaping.is_empty() {
        let mut merger = Merger {
            preds: func.predecessors(),
            memo: FastMap::default(),
            vmap: &vmap,
            n_blocks,
            copies: body.len(),
            in_body: &lp.in_body,
            pending: Vec::new(),
        };
        let mut replaced = Vec::with_capacity(escaping.len());
        for &(b, at, k) in &escaping {
            let v = match at {
                Some(i) => func.blocks[b].insts[i].args[k],
                None => func.blocks[b].term.use_slice()[k],
            };
            replaced.push(merger.read_entry(func, v, b)?);
        }
        merger.finish(func)?;
        for (&(b, at, k), nv) in escaping.iter().zip(replaced) {
            match at {
                Some(i) => func.blocks[b].insts[i].args[k] = nv,
                None => match &mut func.blocks[b].term {
                    Terminator::Jump { args, .. } => args[k] = nv,
                    Terminator::Branch { cond, .. } => *cond = nv,
                    Terminator::Switch { index, .. } => *index = nv,
                    Terminator::Return { values } => values[k] = nv,
                    Terminator::Trap { .. } => return None,
                },
            }
        }
    }
    Some(())
}

/// Finds the value a loop value has on entry to a block after the loop, adding block
/// parameters where paths from the two copies meet (SSA construction over the new CFG).
struct Merger<'a> {
    preds: Vec<Vec<Block>>,
    /// (value, block) -> the value on entry to the block.
    memo: FastMap<(Value, usize), Value>,
    vmap: &'a FastMap<Value, Value>,
    n_blocks: usize,
    copies: usize,
    in_body: &'a [bool],
    /// Arguments still to fill: (predecessor, its argument index, value).
    pending: Vec<(usize, usize, Value)>,
}

impl Merger<'_> {
    /// `v` at the end of block `b`.
    fn at_end(&mut self, func: &mut Function, v: Value, b: usize) -> Option<Value> {
        if b < self.n_blocks && self.in_body[b] {
            return Some(v);
        }
        if (self.n_blocks..self.n_blocks + self.copies).contains(&b) {
            return self.vmap.get(&v).copied();
        }
        self.read_entry(func, v, b)
    }

    /// `v` on entry to block `b` (outside both copies), following single predecessors.
    fn read_entry(&mut self, func: &mut Function, v: Value, start: usize) -> Option<Value> {
        let mut b = start;
        let mut walked = Vec::new();
        let found = loop {
            // Only a cycle of unreachable blocks could walk longer.
            if walked.len() > self.preds.len() {
                return None;
            }
            if let Some(&m) = self.memo.get(&(v, b)) {
                break m;
            }
            let preds = self.preds.get(b)?;
            match preds.as_slice() {
                [] => return None,
                [p] => {
                    let p = p.0 as usize;
                    if (p < self.n_blocks && self.in_body[p])
                        || (self.n_blocks..self.n_blocks + self.copies).contains(&p)
                    {
                        walked.push(b);
                        break if p < self.n_blocks {
                            v
                        } else {
                            *self.vmap.get(&v)?
                        };
                    }
                    walked.push(b);
                    b = p;
                }
                many => {
                    // A parameter: every predecessor must reach it by `Jump`.
                    let many: Vec<usize> = many.iter().map(|p| p.0 as usize).collect();
                    let ty = func.value_types[v.0 as usize];
                    let param = func.new_value(ty);
                    func.blocks[b].params.push(param);
                    self.memo.insert((v, b), param);
                    for &p in &many {
                        match &mut func.blocks[p].term {
                            Terminator::Jump { target, args } if target.0 as usize == b => {
                                self.pending.push((p, args.len(), v));
                                args.push(v);
                            }
                            _ => return None,
                        }
                    }
                    break param;
                }
            }
        };
        for w in walked {
            self.memo.insert((v, w), found);
        }
        Some(found)
    }

    /// Fill in the arguments the new parameters take (which may add more parameters).
    fn finish(&mut self, func: &mut Function) -> Option<()> {
        while let Some((p, k, v)) = self.pending.pop() {
            let value = self.at_end(func, v, p)?;
            match &mut func.blocks[p].term {
                Terminator::Jump { args, .. } => *args.get_mut(k)? = value,
                _ => return None,
            }
        }
        Some(())
    }
}

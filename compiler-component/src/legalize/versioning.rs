//! Loop versioning for bounds checks: an innermost loop whose checked addresses are a
//! loop-invariant value plus a value of known range (an induction variable, a counter scaled by
//! the element size) runs in a copy without those checks when one test before the loop shows
//! that no address it can form is out of bounds; otherwise it runs as it was, checks and all.
//!
//! The test only chooses the copy and never traps, so a trap happens exactly where it did:
//! the checked loop is the one that runs whenever any address could be out of bounds. A check
//! `addr > limit` (limit loop-invariant, `bytes - end`) with `addr = base + x`, `base`
//! invariant and `x` in `0..=hi`, never fires while `base <= limit - hi` (and `limit >= hi`):
//! then `base + x <= limit` without wrapping.
//!
//! Values the loop defines and code after it reads are merged where the two copies' exits meet
//! (new block parameters), as SSA construction does.

use super::ranges::Ranges;
use crate::fast_hash::FastMap;
use crate::ir::dom::Dominators;
use crate::ir::{
    BinaryOp, Block, BlockData, Cond, Function, Inst, Module, Op, Symbol, Terminator, TrapCode,
    Type, Value,
};

/// Instructions a loop may hold to be copied: versioning doubles its code.
const MAX_LOOP_INSTS: usize = 160;

/// Loops versioned in one function, bounding the growth of a function with many loops.
const MAX_LOOPS: usize = 16;

/// How deep `split_address` follows sums.
const MAX_SUM_DEPTH: u32 = 8;

/// Version the innermost loops of every body; returns the indices of the bodies it changed.
pub fn run(module: &mut Module) -> Vec<usize> {
    let min_bytes = module
        .memory
        .as_ref()
        .map_or(0, |m| m.initial_pages as u64 * 65536);
    let mut changed = Vec::new();
    for (i, func) in module.bodies.iter_mut().enumerate() {
        if version_function(func, min_bytes) {
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
}

fn version_function(func: &mut Function, min_bytes: u64) -> bool {
    let mut versioned = 0;
    let mut changed = false;
    // Headers of loops already versioned (both copies): never again.
    let mut done_headers: Vec<usize> = Vec::new();
    // Each versioning changes the CFG; recompute and look again, innermost loops first.
    while versioned < MAX_LOOPS {
        let dom = Dominators::compute(func);
        let loops = dom.loops(func);
        let mut done = false;
        for lp in &loops {
            let inner = !loops
                .iter()
                .any(|other| other.header != lp.header && lp.in_body[other.header]);
            if !inner || done_headers.contains(&lp.header) {
                continue;
            }
            let Some(plan) = plan_loop(func, &dom, lp, min_bytes) else {
                continue;
            };
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
            done = true;
            break;
        }
        if !done {
            break;
        }
    }
    changed
}

/// The position of `block` among the loop's blocks (in block order): where its copy goes.
fn body_index(lp: &crate::ir::dom::Loop, block: usize) -> usize {
    lp.in_body[..block].iter().filter(|b| **b).count()
}

struct Plan {
    preheader: usize,
    removable: Vec<Removable>,
}

fn plan_loop(
    func: &Function,
    dom: &Dominators,
    lp: &crate::ir::dom::Loop,
    min_bytes: u64,
) -> Option<Plan> {
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
    let size: usize = (0..func.blocks.len())
        .filter(|&b| lp.in_body[b])
        .map(|b| func.blocks[b].insts.len() + 1)
        .sum();
    // A loop that calls spends its time in the callees (soft-float helpers, say): the checks
    // it would shed are a small part of each iteration, the copy all of its code.
    let calls = (0..func.blocks.len())
        .filter(|&b| lp.in_body[b])
        .flat_map(|b| &func.blocks[b].insts)
        .any(|i| {
            matches!(
                i.op,
                Op::Call(_) | Op::CallPtr(_) | Op::CallIndirect(_) | Op::Bulk(_)
            )
        });
    if size > MAX_LOOP_INSTS || calls {
        return None;
    }
    let defs = Defs::new(func);
    let invariant = |v: Value| defs.block(v).is_some_and(|b| !lp.in_body[b]);
    let mut ranges = Ranges::new(func);
    let mut removable = Vec::new();
    for b in (0..func.blocks.len()).filter(|&b| lp.in_body[b]) {
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
            let Some((base, hi)) = split_address(&defs, &mut ranges, &invariant, addr, 0) else {
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
            });
        }
    }
    (!removable.is_empty()).then_some(Plan {
        preheader,
        removable,
    })
}

/// `addr` as `base + x` with `base` loop-invariant (none: 0) and x in `0..=hi`, the sum not
/// wrapping once the test holds.
fn split_address(
    defs: &Defs,
    ranges: &mut Ranges,
    invariant: &dyn Fn(Value) -> bool,
    addr: Value,
    depth: u32,
) -> Option<(Option<Value>, u32)> {
    if invariant(addr) {
        return Some((Some(addr), 0));
    }
    if depth < MAX_SUM_DEPTH
        && let Some((Op::Binary(BinaryOp::Add), [a, b])) = defs.inst(addr)
    {
        for (p, q) in [(*a, *b), (*b, *a)] {
            let Some((_, hi)) = ranges.of(q) else {
                continue;
            };
            if let Some((base, h)) = split_address(defs, ranges, invariant, p, depth + 1)
                && let Some(sum) = h.checked_add(hi)
            {
                return Some((base, sum));
            }
        }
    }
    ranges.of(addr).map(|r| (None, r.1))
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
        let mut params = Vec::with_capacity(block.params.len());
        for p in &block.params {
            let ty = func.value_types[p.0 as usize];
            let np = Value(func.value_types.len() as u32);
            func.value_types.push(ty);
            vmap.insert(*p, np);
            params.push(np);
        }
        let mut insts = Vec::with_capacity(block.insts.len());
        for (i, inst) in block.insts.iter().enumerate() {
            if removed.contains(&(b, i)) {
                continue;
            }
            let mut results = Vec::with_capacity(inst.results.len());
            for r in &inst.results {
                let ty = func.value_types[r.0 as usize];
                let nr = Value(func.value_types.len() as u32);
                func.value_types.push(ty);
                vmap.insert(*r, nr);
                results.push(nr);
            }
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
        retarget(&mut copy.term, |t| {
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

    // The test before the loop: for each (base, bound), base <= bound - minus (and
    // bound >= minus where that is not known), with the largest minus.
    let pre = plan.preheader;
    let offset = func.blocks[pre].term_offset;
    let mut tests: Vec<(Option<Value>, Value, u32, bool)> = Vec::new();
    for r in &plan.removable {
        match tests.iter_mut().find(|t| t.0 == r.base && t.1 == r.bound) {
            Some(t) => {
                if r.minus > t.2 {
                    t.2 = r.minus;
                    t.3 = r.covers;
                } else if r.minus == t.2 {
                    t.3 |= r.covers;
                }
            }
            None => tests.push((r.base, r.bound, r.minus, r.covers)),
        }
    }
    let mut all: Option<Value> = None;
    let conj = |func: &mut Function, c: Value, all: &mut Option<Value>| {
        *all = Some(match *all {
            None => c,
            Some(a) => push_inst(func, pre, Op::Binary(BinaryOp::And), vec![a, c], offset),
        });
    };
    for &(base, bound, minus, covers) in &tests {
        let minus = push_inst(func, pre, Op::Const(minus as i32 as i64), vec![], offset);
        if !covers || base.is_none() {
            let room = push_inst(
                func,
                pre,
                Op::Compare(Cond::GeU),
                vec![bound, minus],
                offset,
            );
            conj(func, room, &mut all);
        }
        if let Some(base) = base {
            let top = push_inst(
                func,
                pre,
                Op::Binary(BinaryOp::Sub),
                vec![bound, minus],
                offset,
            );
            let fits = push_inst(func, pre, Op::Compare(Cond::LeU), vec![base, top], offset);
            conj(func, fits, &mut all);
        }
    }
    let fast = all?;
    let Terminator::Jump { target, args } = func.blocks[pre].term.clone() else {
        return None;
    };
    let slow_entry = func.blocks.len();
    func.blocks.push(BlockData {
        params: vec![],
        insts: vec![],
        term: Terminator::Jump {
            target,
            args: args.clone(),
        },
        term_offset: offset,
    });
    let fast_entry = func.blocks.len();
    func.blocks.push(BlockData {
        params: vec![],
        insts: vec![],
        term: Terminator::Jump {
            target: Block(bmap[target.0 as usize] as u32),
            args,
        },
        term_offset: offset,
    });
    func.blocks[pre].term = Terminator::Branch {
        cond: fast,
        then_block: Block(fast_entry as u32),
        else_block: Block(slow_entry as u32),
    };

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
        retarget(&mut term, |t| {
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

fn retarget(term: &mut Terminator, mut f: impl FnMut(Block) -> Block) {
    match term {
        Terminator::Jump { target, .. } => *target = f(*target),
        Terminator::Branch {
            then_block,
            else_block,
            ..
        } => {
            *then_block = f(*then_block);
            *else_block = f(*else_block);
        }
        Terminator::Switch {
            targets, default, ..
        } => {
            for t in targets.iter_mut() {
                *t = f(*t);
            }
            *default = f(*default);
        }
        Terminator::Return { .. } | Terminator::Trap { .. } => {}
    }
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

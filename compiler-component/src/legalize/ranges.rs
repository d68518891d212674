//! Unsigned value ranges of i32 values in frontend-form IR, for bounds checks: an access whose
//! address range ends within the memory's declared minimum needs no check, wherever it is.
//!
//! The ranges hold for every value a value takes, on every path. Most come from constants
//! through arithmetic that cannot wrap (`(i << 2) + 65536`). Loop counters (a block parameter
//! fed by its initial value and by `p + s` on back edges) take their bound from the branch
//! conditions that guard each back edge: `i + 1 < n` (or `!=`, `<=`, signed with non-negative
//! operands) on the way back bounds `i` by `n - 1`, by induction over the iterations. Anything
//! else has no range, which only keeps its checks.

use crate::ir::{BinaryOp, Block, Cond, Function, Op, Terminator, Type, UnaryOp, Value};

/// An inclusive unsigned interval.
pub(super) type Range = (u32, u32);

/// Deep expression chains give up rather than recurse without bound.
const MAX_DEPTH: u32 = 48;

/// How many single-predecessor blocks above a back edge are searched for its conditions.
const MAX_GUARDS: usize = 8;

/// Parameter-edge pairs the lockstep rule may visit in one function: each use scans a loop
/// header's parameters and edges, so a crafted header with thousands of both would otherwise
/// cost their product for every parameter.
const LOCKSTEP_BUDGET: usize = 1 << 20;

#[derive(Clone, Copy, PartialEq)]
enum State {
    Unknown,
    InProgress,
    Done(Option<Range>),
}

enum Def<'a> {
    Inst(&'a Op, &'a [Value]),
    Param(Block, usize),
    None,
}

pub(super) struct Ranges<'a> {
    func: &'a Function,
    defs: Vec<Def<'a>>,
    /// Each block's predecessor edges: (predecessor, the arguments its jump passes).
    preds: Vec<Vec<(Block, &'a [Value])>>,
    /// Each block's single predecessor, if it has one.
    single_pred: Vec<Option<Block>>,
    state: Vec<State>,
    /// What is left of `LOCKSTEP_BUDGET`.
    lockstep_budget: usize,
}

impl<'a> Ranges<'a> {
    pub fn new(func: &'a Function) -> Self {
        let n = func.value_types.len();
        let mut defs: Vec<Def> = (0..n).map(|_| Def::None).collect();
        for (bi, block) in func.blocks.iter().enumerate() {
            for (k, p) in block.params.iter().enumerate() {
                if let Some(d) = defs.get_mut(p.0 as usize) {
                    *d = Def::Param(Block(bi as u32), k);
                }
            }
            for inst in &block.insts {
                if let [r] = inst.results.as_slice()
                    && let Some(d) = defs.get_mut(r.0 as usize)
                {
                    *d = Def::Inst(&inst.op, &inst.args);
                }
            }
        }
        let preds = jump_edges(func);
        let single_pred = preds
            .iter()
            .map(|p| match p.as_slice() {
                [(only, _)] => Some(*only),
                _ => None,
            })
            .collect();
        Ranges {
            func,
            defs,
            preds,
            single_pred,
            state: vec![State::Unknown; n],
            lockstep_budget: LOCKSTEP_BUDGET,
        }
    }

    /// The range of an i32 value, if one is known.
    pub fn of(&mut self, v: Value) -> Option<Range> {
        self.range(v, 0)
    }

    fn range(&mut self, v: Value, depth: u32) -> Option<Range> {
        let i = v.0 as usize;
        match self.state.get(i)? {
            State::Done(r) => return *r,
            State::InProgress => return None,
            State::Unknown => {}
        }
        if depth > MAX_DEPTH || self.func.value_types.get(i) != Some(&Type::I32) {
            return None;
        }
        self.state[i] = State::InProgress;
        let r = self.compute(v, depth + 1);
        self.state[i] = State::Done(r);
        r
    }

    fn compute(&mut self, v: Value, depth: u32) -> Option<Range> {
        match self.defs[v.0 as usize] {
            Def::Inst(op, args) => self.of_inst(op, args, depth),
            Def::Param(block, k) => self.of_param(v, block, k, depth),
            Def::None => None,
        }
    }

    fn konst(&self, v: Value) -> Option<u32> {
        match self.defs.get(v.0 as usize)? {
            Def::Inst(Op::Const(k), _) => Some(*k as u32),
            _ => None,
        }
    }

    fn of_inst(&mut self, op: &Op, args: &[Value], depth: u32) -> Option<Range> {
        let kb = match args {
            [_, b] => self.konst(*b),
            _ => None,
        };
        transfer(op, args, kb, &mut |v| self.range(v, depth))
    }

    /// A block parameter: the join of what every edge passes. An edge that passes `p + s`
    /// (this parameter, `s` a positive constant) is bounded by the conditions on its way.
    /// Those bounds are proven by induction over the iterations under a hypothesis on `p`'s
    /// largest value (that `p + s` does not wrap, and what each condition needs), checked at
    /// the end against the largest value found.
    fn of_param(&mut self, p: Value, block: Block, k: usize, depth: u32) -> Option<Range> {
        // The entry block's parameters are the function's arguments.
        if block.0 == 0 {
            return None;
        }
        let edges = self.preds.get(block.0 as usize)?.clone();
        let mut init: Option<Range> = None;
        let mut steps = Vec::new();
        for (pred, args) in &edges {
            let arg = *args.get(k)?;
            match self.step_of(arg, p) {
                Some(step) => steps.push((*pred, arg, step)),
                None => {
                    let r = self.range(arg, depth)?;
                    init = Some(init.map_or(r, |i| (i.0.min(r.0), i.1.max(r.1))));
                }
            }
        }
        let init = init?;
        let single_step = steps.len() == 1;
        let mut hi = init.1;
        let mut allowed = u32::MAX;
        for &(pred, next, step) in &steps {
            let guard = Guard {
                p,
                next,
                step,
                init,
                single_step,
            };
            let (bound, max_hi) = match self.edge_bound(pred, &guard, depth) {
                Some(b) => b,
                // p steps in lockstep with a counter that bounds the iterations: p is at most
                // its start plus `rounds` steps, exactly (no step beyond is taken).
                None if single_step => {
                    let rounds = self.sibling_rounds(block, k, pred, depth)?;
                    let bound = init.1.checked_add(step.checked_mul(rounds)?)?;
                    (bound, u32::MAX)
                }
                None => return None,
            };
            hi = hi.max(bound);
            allowed = allowed.min(max_hi);
        }
        (hi <= allowed).then_some((init.0, hi))
    }

    /// How many times at most the back edge from `pred` into `block` is taken, from another
    /// parameter of `block` that steps on that edge (and only there) and is bounded: one
    /// counting up has a range, one counting down by m from c0 stops at exactly n
    /// (`next != n` on the way back, c0 - n a multiple of m). Clang's loops often test a
    /// counter while the addresses step in another parameter.
    fn sibling_rounds(&mut self, block: Block, k: usize, pred: Block, depth: u32) -> Option<u32> {
        let params = self.func.block(block).params.clone();
        let edges = self.preds.get(block.0 as usize)?.clone();
        let cost = params.len().saturating_mul(edges.len());
        self.lockstep_budget = self.lockstep_budget.checked_sub(cost)?;
        let mut best: Option<u32> = None;
        for (j, &c) in params.iter().enumerate() {
            if j == k {
                continue;
            }
            // c steps on `pred`'s edge only; every other edge passes it a start value.
            let mut next = None;
            let mut starts = Vec::new();
            for (from, args) in &edges {
                let arg = *args.get(j)?;
                match (self.signed_step_of(arg, c), *from == pred) {
                    (Some(step), true) => next = Some((arg, step)),
                    (None, false) => starts.push(arg),
                    _ => {
                        next = None;
                        break;
                    }
                }
            }
            let Some((next, step)) = next else {
                continue;
            };
            let rounds = if step > 0 {
                self.range(c, depth).map(|r| (r.1 - r.0) / step as u32)
            } else {
                let m = step.unsigned_abs() as u32;
                let mut start = None;
                for s in starts {
                    let r = self.range(s, depth);
                    match (r, start) {
                        (Some((lo, hi)), None) if lo == hi => start = Some(lo),
                        (Some((lo, hi)), Some(c0)) if lo == hi && lo == c0 => {}
                        _ => {
                            start = None;
                            break;
                        }
                    }
                }
                let c0 = start;
                let n = self.exit_value(pred, next);
                match (c0, n) {
                    (Some(c0), Some(n)) => {
                        let d = c0.wrapping_sub(n);
                        // c0 - t*m = n after t rounds; the back edge is taken t - 1 times.
                        (d != 0 && d.is_multiple_of(m)).then(|| d / m - 1)
                    }
                    _ => None,
                }
            };
            if let Some(r) = rounds {
                best = Some(best.map_or(r, |b| b.min(r)));
            }
        }
        best
    }

    /// `s` when `v` is `p + s` with `s` a constant in -65536..=-1 or 1..=65536.
    pub(super) fn signed_step_of(&self, v: Value, p: Value) -> Option<i64> {
        let Def::Inst(Op::Binary(BinaryOp::Add), [a, b]) = self.defs.get(v.0 as usize)? else {
            return None;
        };
        let s = match (*a == p, *b == p) {
            (true, _) => self.konst(*b)?,
            (_, true) => self.konst(*a)?,
            _ => return None,
        } as i32 as i64;
        (s != 0 && (-65536..=65536).contains(&s)).then_some(s)
    }

    /// The constant n when the way from `pred` is taken only while `next != n`.
    fn exit_value(&mut self, pred: Block, next: Value) -> Option<u32> {
        for (cond, holds) in self.guards(pred) {
            if let Some((Cond::Ne, _, (n, n_hi))) = self.comparison(cond, holds, &[next], 0)
                && n == n_hi
            {
                return Some(n);
            }
        }
        None
    }

    /// A branch condition (true when `holds`) as `x c n`, x one of `xs` and n's range: a
    /// compare, `eqz x`, or x itself (`x != 0`).
    fn comparison(
        &mut self,
        cond: Value,
        holds: bool,
        xs: &[Value],
        depth: u32,
    ) -> Option<(Cond, Value, Range)> {
        let (c, x, n) = match self.defs.get(cond.0 as usize)? {
            Def::Inst(Op::Compare(c), [a, b]) => {
                let (c, a, b) = (*c, *a, *b);
                if xs.contains(&a) {
                    (c, a, self.range(b, depth)?)
                } else if xs.contains(&b) {
                    (swap(c), b, self.range(a, depth)?)
                } else {
                    return None;
                }
            }
            Def::Inst(Op::Unary(UnaryOp::Eqz), [a]) if xs.contains(a) => (Cond::Eq, *a, (0, 0)),
            _ if xs.contains(&cond) => (Cond::Ne, cond, (0, 0)),
            _ => return None,
        };
        Some((if holds { c } else { negate(c) }, x, n))
    }

    /// `s` when `v` is `p + s` with `s` a constant in 1..=65536.
    fn step_of(&self, v: Value, p: Value) -> Option<u32> {
        self.signed_step_of(v, p)
            .filter(|s| *s > 0)
            .map(|s| s as u32)
    }

    /// The branch conditions on the way to `pred`, each with whether it held: the branches
    /// ending the chain of single-predecessor blocks above it (`MAX_GUARDS` blocks searched,
    /// `pred` included).
    pub(super) fn guards(&self, pred: Block) -> Vec<(Value, bool)> {
        let mut found = Vec::new();
        let mut child = pred;
        for _ in 1..MAX_GUARDS {
            let Some(block) = self.single_pred.get(child.0 as usize).copied().flatten() else {
                break;
            };
            if let Terminator::Branch {
                cond,
                then_block,
                else_block,
            } = &self.func.block(block).term
                && then_block != else_block
            {
                found.push((*cond, *then_block == child));
            }
            child = block;
        }
        found
    }

    /// The largest value `next` can take on the edge from `pred`, from the tightest bound a
    /// branch condition on the way gives, with the largest `p` that bound assumes.
    fn edge_bound(&mut self, pred: Block, g: &Guard, depth: u32) -> Option<(u32, u32)> {
        let mut best: Option<(u32, u32)> = None;
        for (cond, holds) in self.guards(pred) {
            if let Some(b) = self.cond_bound(cond, holds, g, depth)
                && best.is_none_or(|x| b.0 < x.0)
            {
                best = Some(b);
            }
        }
        best
    }

    /// The bound on `next` that the compare `cond` (true when `holds`) gives, and the largest
    /// `p` it assumes.
    fn cond_bound(
        &mut self,
        cond: Value,
        holds: bool,
        g: &Guard,
        depth: u32,
    ) -> Option<(u32, u32)> {
        let (c, x, n) = self.comparison(cond, holds, &[g.next, g.p], depth)?;
        let on_next = x == g.next;
        let step = g.step;
        let (bound, max_hi) = match c {
            // While p <= max - s, p + s does not wrap: next is p + s exactly.
            Cond::LtU => (n.1.checked_sub(1)?, u32::MAX - step),
            Cond::LeU => (n.1, u32::MAX - step),
            // Signed compares bound non-negative operands only: `n` below 2^31, and the counter
            // too, which holds while `p + s` stays below 2^31.
            Cond::LtS | Cond::LeS => {
                let limit = i32::MAX as u32;
                if n.1 > limit {
                    return None;
                }
                let bound = if c == Cond::LtS {
                    n.1.checked_sub(1)?
                } else {
                    n.1
                };
                (bound, limit - step)
            }
            // x != n, counting by 1 from below n: while p <= n - 1, x reaches n before
            // passing it.
            Cond::Ne if on_next && step == 1 && n.0 == n.1 && g.init.1 < n.0 => (n.0 - 1, n.0 - 1),
            // A pointer stepping by s from c0 onto exactly n, d = n - c0 (mod 2^32) a multiple
            // of s: p is c0 + k*s for k < d/s, which stays below 2^32 when c0 + d - s does
            // (clang's loops count a negative index up to 0 this way); the last step may wrap
            // onto n, which leaves the loop.
            Cond::Ne if on_next && g.single_step && n.0 == n.1 && g.init.0 == g.init.1 => {
                let d = n.0.wrapping_sub(g.init.0);
                if d == 0 || !d.is_multiple_of(step) {
                    return None;
                }
                let top = u32::try_from(g.init.0 as u64 + d as u64 - step as u64).ok()?;
                (top, top)
            }
            _ => return None,
        };
        if on_next {
            Some((bound, max_hi))
        } else {
            Some((bound.checked_add(step)?, max_hi))
        }
    }
}

/// One back edge of a counter: `next` = `p + step`, and what the other edges pass.
struct Guard {
    p: Value,
    next: Value,
    step: u32,
    init: Range,
    single_step: bool,
}

/// Each block's predecessor edges: the predecessor and the arguments its jump passes (an
/// edge of another terminator passes none).
pub(super) fn jump_edges(func: &Function) -> Vec<Vec<(Block, &[Value])>> {
    let mut edges: Vec<Vec<(Block, &[Value])>> = vec![Vec::new(); func.blocks.len()];
    for (bi, block) in func.blocks.iter().enumerate() {
        let args = match &block.term {
            Terminator::Jump { args, .. } => args.as_slice(),
            _ => &[],
        };
        for s in block.term.successor_iter() {
            if let Some(into) = edges.get_mut(s.0 as usize) {
                into.push((Block(bi as u32), args));
            }
        }
    }
    edges
}

/// The 32-bit range of the integers lo..=hi, when all of them wrap by the same multiple of
/// 2^32.
pub(super) fn wrapped(lo: i64, hi: i64) -> Option<Range> {
    let shift = lo.div_euclid(1 << 32);
    (hi.div_euclid(1 << 32) == shift).then(|| {
        let base = shift << 32;
        ((lo - base) as u32, (hi - base) as u32)
    })
}

/// The range of an operation's result from its operands' (`range` of an operand: `None` when
/// unknown), `kb` the second operand when it is a constant; `None` when unknown.
pub(super) fn transfer(
    op: &Op,
    args: &[Value],
    kb: Option<u32>,
    range: &mut dyn FnMut(Value) -> Option<Range>,
) -> Option<Range> {
    let full = (0, u32::MAX);
    match (op, args) {
        (Op::Const(k), []) => Some((*k as u32, *k as u32)),
        (Op::Load(m), _) if !m.signed && m.width < 4 => {
            Some((0, (1u32 << (8 * m.width as u32)) - 1))
        }
        (Op::Compare(_), _) | (Op::Unary(UnaryOp::Eqz), _) => Some((0, 1)),
        (Op::Unary(UnaryOp::Clz | UnaryOp::Ctz | UnaryOp::Popcnt), _) => Some((0, 32)),
        (Op::Select, [_, t, f]) => {
            let (t, f) = (range(*t)?, range(*f)?);
            Some((t.0.min(f.0), t.1.max(f.1)))
        }
        (Op::Binary(op), [a, b]) => {
            match op {
                // Sums and differences wrap alike over the whole range, or have none.
                BinaryOp::Add => {
                    let (ra, rb) = (range(*a)?, range(*b)?);
                    let lo = ra.0 as i64 + rb.0 as i64;
                    wrapped(lo, lo + (ra.1 - ra.0) as i64 + (rb.1 - rb.0) as i64)
                }
                BinaryOp::Sub => {
                    let (ra, rb) = (range(*a)?, range(*b)?);
                    let lo = ra.0 as i64 - rb.1 as i64;
                    wrapped(lo, lo + (ra.1 - ra.0) as i64 + (rb.1 - rb.0) as i64)
                }
                BinaryOp::Mul => {
                    let (ra, rb) = (range(*a)?, range(*b)?);
                    Some((ra.0.checked_mul(rb.0)?, ra.1.checked_mul(rb.1)?))
                }
                BinaryOp::Shl => {
                    let k = kb? & 31;
                    let ra = range(*a)?;
                    (ra.1 <= u32::MAX >> k).then_some((ra.0 << k, ra.1 << k))
                }
                BinaryOp::ShrU => match kb {
                    Some(k) => {
                        let ra = range(*a).unwrap_or(full);
                        Some((ra.0 >> (k & 31), ra.1 >> (k & 31)))
                    }
                    None => range(*a),
                },
                BinaryOp::And => {
                    let hi = match (range(*a), range(*b)) {
                        (Some(ra), Some(rb)) => ra.1.min(rb.1),
                        (Some(r), None) | (None, Some(r)) => r.1,
                        (None, None) => return None,
                    };
                    Some((0, hi))
                }
                BinaryOp::RemU => {
                    let rb = range(*b)?;
                    let below = rb.1.checked_sub(1)?;
                    Some((0, range(*a).map_or(below, |ra| ra.1.min(below))))
                }
                BinaryOp::DivU => {
                    let (ra, rb) = (range(*a)?, range(*b)?);
                    (rb.0 > 0).then(|| (ra.0 / rb.1.max(1), ra.1 / rb.0))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

pub(super) fn negate(c: Cond) -> Cond {
    match c {
        Cond::Eq => Cond::Ne,
        Cond::Ne => Cond::Eq,
        Cond::LtS => Cond::GeS,
        Cond::GeS => Cond::LtS,
        Cond::LtU => Cond::GeU,
        Cond::GeU => Cond::LtU,
        Cond::GtS => Cond::LeS,
        Cond::LeS => Cond::GtS,
        Cond::GtU => Cond::LeU,
        Cond::LeU => Cond::GtU,
    }
}

/// `a c b` as `b swap(c) a`.
pub(super) fn swap(c: Cond) -> Cond {
    match c {
        Cond::Eq | Cond::Ne => c,
        Cond::LtS => Cond::GtS,
        Cond::GtS => Cond::LtS,
        Cond::LtU => Cond::GtU,
        Cond::GtU => Cond::LtU,
        Cond::LeS => Cond::GeS,
        Cond::GeS => Cond::LeS,
        Cond::LeU => Cond::GeU,
        Cond::GeU => Cond::LeU,
    }
}

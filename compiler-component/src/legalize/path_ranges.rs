//! Ranges that hold where a block runs, for bounds checks: an interval analysis of a
//! function's i32 values in which the branch conditions on the way into a block narrow the
//! values they compare there. `ranges.rs` bounds a value everywhere from its definition;
//! here a counter whose every way back is guarded (`i <u 98` before `i + 1` goes back) is
//! bounded however many paths lead back and join, and so are the addresses formed from it
//! in a block the guards dominate.
//!
//! Every value starts empty (no execution has reached it). Rounds over the blocks in reverse
//! post-order join into each block parameter what its jumps pass, each argument taken as it
//! is in the jumping block (narrowed by that block's conditions), until nothing grows; a
//! parameter that keeps growing is widened: the bound that moves goes to its end of the range.
//! Rounds that then recompute each parameter from its edges alone narrow it again: starting
//! from ranges every execution fits, recomputing keeps ranges every execution fits. If the
//! growing rounds do not settle within their budget, nothing is claimed.

use super::ranges::{Range, jump_edges, negate, swap, transfer, wrapped};
use crate::ir::dom::Dominators;
use crate::ir::{BinaryOp, Block, Cond, Function, Op, Terminator, Type, UnaryOp, Value};

const FULL: Range = (0, u32::MAX);
/// Conditions kept for a block: its own edge's first, then its dominators', nearest first.
const MAX_FACTS: usize = 12;
/// How many levels of a value's definition are evaluated again under a block's conditions
/// (`((i + 1) << 2) + base` needs three).
const MAX_DEPTH: u32 = 4;
/// Growths after which a parameter's moving bound is widened to the end of the range.
const WIDEN_AFTER: u8 = 2;
/// Growing rounds before the analysis gives up (each widening settles a parameter for good,
/// so nests deeper than this are rare).
const MAX_ROUNDS: usize = 12;
/// Rounds that narrow the widened parameters again.
const NARROW_ROUNDS: usize = 2;
/// Operations followed back to find a value's affine form.
const MAX_AFFINE: usize = 8;
/// Relations kept for a parameter (each is followed when narrowing it).
const MAX_RELATIONS: usize = 3;
/// Parameter pairs and edges a block may cost the search for affine parameters.
const AFFINE_BUDGET: usize = 4096;

/// `x c n` holds wherever the fact is known (`n` a value, or the constant 0).
#[derive(Clone, Copy)]
struct Fact {
    x: Value,
    c: Cond,
    n: Option<Value>,
}

pub(super) struct PathRanges<'a> {
    /// Each value's single-result definition, if an instruction.
    defs: Vec<Option<(&'a Op, &'a [Value])>>,
    /// What each block parameter is known to equal wherever its block runs: `(x, m, c)` for
    /// `m * x + c` (wrapping), with another parameter of its block or a value from outside
    /// as `x` (at most `MAX_RELATIONS`).
    affine: Vec<Box<[(Value, u32, u32)]>>,
    /// Each value's range wherever it is defined; `None` while no execution reaches it.
    ranges: Vec<Option<Range>>,
    /// The conditions known to hold in each block.
    facts: Vec<Vec<Fact>>,
    /// Did the growing rounds settle? Otherwise nothing is claimed.
    settled: bool,
}

impl<'a> PathRanges<'a> {
    pub fn new(func: &'a Function, dom: &Dominators) -> Self {
        let n = func.value_types.len();
        let is_i32 = |v: Value| func.value_types.get(v.0 as usize) == Some(&Type::I32);
        let mut defs = vec![None; n];
        // What no rule bounds is every value from the start; what the rounds compute starts
        // empty.
        let mut ranges = vec![Some(FULL); n];
        for (bi, block) in func.blocks.iter().enumerate() {
            if bi != 0 {
                for p in block.params.iter().filter(|p| is_i32(**p)) {
                    ranges[p.0 as usize] = None;
                }
            }
            for inst in &block.insts {
                if let [r] = inst.results.as_slice()
                    && is_i32(*r)
                {
                    defs[r.0 as usize] = Some((&inst.op, inst.args.as_slice()));
                    ranges[r.0 as usize] = None;
                }
            }
        }
        let mut analysis = PathRanges {
            defs,
            affine: vec![Box::default(); n],
            ranges,
            facts: vec![Vec::new(); func.blocks.len()],
            settled: false,
        };
        let incoming = jump_edges(func);
        analysis.find_facts(func, dom);
        analysis.find_affine_params(func, dom, &incoming);
        analysis.settled = analysis.solve(func, dom, &incoming);
        analysis
    }

    /// The range of old value `v` wherever block `b` runs, if the analysis bounds it.
    pub fn at(&self, v: Value, b: Block) -> Option<Range> {
        if !self.settled {
            return None;
        }
        self.narrowed(v, b, MAX_DEPTH).filter(|r| *r != FULL)
    }

    /// Each block's conditions: the branch that is its only way in, then its immediate
    /// dominator's (every path to a block passes its dominators, and the values they compared
    /// have not changed since).
    fn find_facts(&mut self, func: &Function, dom: &Dominators) {
        let children = dom.children();
        let preds = dom.preds();
        for parent in dom.rpo().iter().map(|b| b.0 as usize) {
            for &child in &children[parent] {
                let mut facts = Vec::new();
                if let [only] = preds[child].as_slice()
                    && let Terminator::Branch {
                        cond,
                        then_block,
                        else_block,
                    } = &func.block(*only).term
                    && then_block != else_block
                {
                    self.edge_facts(func, *cond, then_block.0 as usize == child, &mut facts);
                }
                let inherited = &self.facts[parent];
                let room = MAX_FACTS.saturating_sub(facts.len());
                facts.extend(inherited.iter().take(room).copied());
                self.facts[child] = facts;
            }
        }
    }

    /// What a branch on `cond` tells where it went one way (`holds`) or the other.
    fn edge_facts(&self, func: &Function, cond: Value, holds: bool, out: &mut Vec<Fact>) {
        let is_i32 = |v: Value| func.value_types.get(v.0 as usize) == Some(&Type::I32);
        let zero = if holds { Cond::Ne } else { Cond::Eq };
        out.push(Fact {
            x: cond,
            c: zero,
            n: None,
        });
        match self.defs.get(cond.0 as usize).copied().flatten() {
            Some((Op::Compare(c), [a, b])) if is_i32(*a) && is_i32(*b) => {
                let c = if holds { *c } else { negate(*c) };
                out.push(Fact {
                    x: *a,
                    c,
                    n: Some(*b),
                });
                out.push(Fact {
                    x: *b,
                    c: swap(c),
                    n: Some(*a),
                });
            }
            Some((Op::Unary(UnaryOp::Eqz), [a])) if is_i32(*a) => out.push(Fact {
                x: *a,
                c: negate(zero),
                n: None,
            }),
            _ => {}
        }
    }

    /// `(x, m, c)` with `v = m * x + c` (wrapping), following additions, subtractions, left
    /// shifts and multiplications by constants.
    fn affine_form(&self, v: Value) -> (Value, u32, u32) {
        let konst = |v: Value| match self.defs.get(v.0 as usize).copied().flatten() {
            Some((Op::Const(k), [])) => Some(*k as u32),
            _ => None,
        };
        let (mut x, mut m, mut c) = (v, 1u32, 0u32);
        for _ in 0..MAX_AFFINE {
            let Some((Op::Binary(op), [a, b])) = self.defs.get(x.0 as usize).copied().flatten()
            else {
                break;
            };
            let (next, k) = match (op, konst(*a), konst(*b)) {
                (BinaryOp::Add, _, Some(k)) => (*a, k),
                (BinaryOp::Add, Some(k), _) => (*b, k),
                (BinaryOp::Sub, _, Some(k)) => (*a, k.wrapping_neg()),
                (BinaryOp::Shl, _, Some(k)) => {
                    m = m.wrapping_shl(k & 31);
                    x = *a;
                    continue;
                }
                (BinaryOp::Mul, _, Some(k)) | (BinaryOp::Mul, Some(k), _) => {
                    m = m.wrapping_mul(k);
                    x = if konst(*b).is_some() { *a } else { *b };
                    continue;
                }
                _ => break,
            };
            c = c.wrapping_add(m.wrapping_mul(k));
            x = next;
        }
        (x, m, c)
    }

    /// Block parameters that are one affine function of one value wherever their block runs:
    /// every jump passes `m * x + c` of the same `x` from outside the block (a value its
    /// dominators define), or the parameter keeps `m * p + c` with another parameter `p`
    /// (jumps from outside set both to match; jumps that step both keep the relation). A
    /// counter and the counter plus one passed side by side through a join are the common
    /// case: the conditions bounding one then bound the other.
    fn find_affine_params(
        &mut self,
        func: &Function,
        dom: &Dominators,
        incoming: &[Vec<(Block, &[Value])>],
    ) {
        let mut def_block = vec![u32::MAX; func.value_types.len()];
        for (bi, block) in func.blocks.iter().enumerate() {
            let results = block.insts.iter().flat_map(|i| &i.results);
            for v in block.params.iter().chain(results) {
                if let Some(slot) = def_block.get_mut(v.0 as usize) {
                    *slot = bi as u32;
                }
            }
        }
        let is_i32 = |v: Value| func.value_types.get(v.0 as usize) == Some(&Type::I32);
        for &b in dom.rpo().iter().skip(1) {
            let params = &func.block(b).params;
            let edges = &incoming[b.0 as usize];
            let cost = params.len().saturating_mul(params.len() + edges.len());
            if edges.is_empty() || cost > AFFINE_BUDGET {
                continue;
            }
            for (qi, &q) in params.iter().enumerate().filter(|(_, q)| is_i32(**q)) {
                let Some(forms) = edges
                    .iter()
                    .map(|(_, args)| args.get(qi).map(|a| self.affine_form(*a)))
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
                let mut relations = Vec::new();
                for (pi, &p) in params.iter().enumerate() {
                    if relations.len() + 1 >= MAX_RELATIONS {
                        break;
                    }
                    if pi != qi
                        && is_i32(p)
                        && let Some((m, c)) = self.lockstep(q, p, pi, edges, &forms)
                    {
                        relations.push((p, m, c));
                    }
                }
                let (x, _, _) = forms[0];
                let outside = def_block.get(x.0 as usize).is_some_and(|&d| {
                    d != b.0
                        && (d as usize) < func.blocks.len()
                        && dom.dominates(d as usize, b.0 as usize)
                });
                if outside && forms.iter().all(|f| *f == forms[0]) {
                    relations.push(forms[0]);
                }
                self.affine[q.0 as usize] = relations.into();
            }
        }
    }

    /// `(m, c)` when parameter `q` is `m * p + c` wherever the block runs: on every edge
    /// either both are set afresh from one value `y` (q's argument `mq * y + cq`, p's
    /// `y + cp`), which fixes m and c, or both step from themselves so that the relation
    /// carries over (`q' = mq * q + cq`, `p' = mp * p + cp`). The first entry is afresh (a
    /// stepping edge reads the block's own parameters, so it comes from inside), and by
    /// induction every later one keeps the relation.
    fn lockstep(
        &self,
        q: Value,
        p: Value,
        pi: usize,
        edges: &[(Block, &[Value])],
        forms: &[(Value, u32, u32)],
    ) -> Option<(u32, u32)> {
        let mut fresh: Option<(u32, u32)> = None;
        let mut steps = Vec::new();
        for ((_, args), &(bq, mq, cq)) in edges.iter().zip(forms) {
            let (bp, mp, cp) = self.affine_form(*args.get(pi)?);
            if bq == bp && mp == 1 {
                let rel = (mq, cq.wrapping_sub(mq.wrapping_mul(cp)));
                if fresh.is_some_and(|f| f != rel) {
                    return None;
                }
                fresh = Some(rel);
            } else if bq == q && bp == p {
                steps.push((mq, cq, mp, cp));
            } else {
                return None;
            }
        }
        let (m, c) = fresh?;
        // q' = mq (m p + c) + cq must equal m (mp p + cp) + c for every p.
        steps
            .iter()
            .all(|&(mq, cq, mp, cp)| {
                mq.wrapping_mul(m) == m.wrapping_mul(mp)
                    && mq.wrapping_mul(c).wrapping_add(cq) == m.wrapping_mul(cp).wrapping_add(c)
            })
            .then_some((m, c))
    }

    /// Growing rounds with widening, then narrowing rounds; whether the growing settled.
    fn solve(
        &mut self,
        func: &Function,
        dom: &Dominators,
        incoming: &[Vec<(Block, &[Value])>],
    ) -> bool {
        let mut growths = vec![0u8; func.value_types.len()];
        let mut settled = false;
        for _ in 0..MAX_ROUNDS {
            if !self.round(func, dom, incoming, Some(&mut growths)) {
                settled = true;
                break;
            }
        }
        if settled {
            for _ in 0..NARROW_ROUNDS {
                self.round(func, dom, incoming, None);
            }
        }
        settled
    }

    /// One pass over the reachable blocks: parameters from their jumps (joined with what they
    /// held and widened when growing, intersected with it when narrowing), then every
    /// instruction's result from its operands. Whether anything changed.
    fn round(
        &mut self,
        func: &Function,
        dom: &Dominators,
        incoming: &[Vec<(Block, &[Value])>],
        mut growths: Option<&mut Vec<u8>>,
    ) -> bool {
        let mut changed = false;
        for &b in dom.rpo() {
            let block = func.block(b);
            for (k, &p) in block.params.iter().enumerate() {
                let i = p.0 as usize;
                // The entry's parameters are the function's arguments: any value.
                if b.0 == 0 || func.value_types.get(i) != Some(&Type::I32) {
                    continue;
                }
                let mut joined = None;
                for (pred, args) in &incoming[b.0 as usize] {
                    let Some(&arg) = args.get(k) else {
                        joined = Some(FULL);
                        break;
                    };
                    joined = hull(joined, self.narrowed(arg, *pred, MAX_DEPTH));
                }
                let old = self.ranges[i];
                let new = match growths.as_deref_mut() {
                    Some(growths) => {
                        let grown = hull(old, joined);
                        if grown != old {
                            growths[i] += 1;
                        }
                        match (old, grown) {
                            // Widened: the bound that moved goes to its end of the range, the
                            // other stays (a pointer counting up keeps its start).
                            (Some(o), Some(g)) if growths[i] > WIDEN_AFTER => Some((
                                if g.0 < o.0 { 0 } else { g.0 },
                                if g.1 > o.1 { u32::MAX } else { g.1 },
                            )),
                            _ => grown,
                        }
                    }
                    None => match (old, joined) {
                        (Some(o), Some(j)) => intersect(o, j),
                        _ => joined,
                    },
                };
                changed |= new != old;
                self.ranges[i] = new;
            }
            for inst in &block.insts {
                let [r] = inst.results.as_slice() else {
                    continue;
                };
                let Some(Some((op, args))) = self.defs.get(r.0 as usize).copied() else {
                    continue;
                };
                let new = self.evaluate(op, args, |a| self.ranges[a.0 as usize]);
                changed |= new != self.ranges[r.0 as usize];
                self.ranges[r.0 as usize] = new;
            }
        }
        changed
    }

    /// An instruction's result from its operands' ranges (`operand`: `None` while no
    /// execution reaches it, which leaves the result empty too).
    fn evaluate(
        &self,
        op: &Op,
        args: &[Value],
        mut operand: impl FnMut(Value) -> Option<Range>,
    ) -> Option<Range> {
        let mut known = [FULL; 3];
        for (slot, a) in known.iter_mut().zip(args) {
            *slot = operand(*a)?;
        }
        let kb = match (args, known.get(1)) {
            ([_, _], Some(&(lo, hi))) if lo == hi => Some(lo),
            _ => None,
        };
        let mut lookup = |v: Value| {
            args.iter()
                .position(|a| *a == v)
                .and_then(|i| known.get(i).copied())
        };
        Some(transfer(op, args, kb, &mut lookup).unwrap_or(FULL))
    }

    /// `v`'s range in block `b`: its own, narrowed by its definition evaluated again on its
    /// operands as narrowed there (`depth` levels deep) and by the conditions on `v` that
    /// hold there. `None` when no execution reaches `v` with such a value.
    fn narrowed(&self, v: Value, b: Block, depth: u32) -> Option<Range> {
        let mut r = self
            .ranges
            .get(v.0 as usize)
            .copied()
            .unwrap_or(Some(FULL))?;
        let facts = self
            .facts
            .get(b.0 as usize)
            .map_or(&[][..], |f| f.as_slice());
        let relations = self.affine.get(v.0 as usize).map_or(&[][..], |a| a);
        // Without conditions here, evaluating the definition again gives back its range; a
        // parameter's relations may still bound it more tightly.
        if facts.is_empty() && relations.is_empty() {
            return Some(r);
        }
        if depth > 0
            && !facts.is_empty()
            && let Some(Some((op, args))) = self.defs.get(v.0 as usize).copied()
            && !args.is_empty()
            && args.len() <= 3
        {
            let again = self.evaluate(op, args, |a| self.narrowed(a, b, depth - 1))?;
            r = intersect(r, again)?;
        }
        if depth > 0 {
            for &(x, m, c) in relations {
                if let Some(again) = affine_range(self.narrowed(x, b, depth - 1)?, m, c) {
                    r = intersect(r, again)?;
                }
            }
        }
        let mut bounds = Vec::new();
        for f in facts.iter().filter(|f| f.x == v) {
            let n = match f.n {
                Some(n) if depth > 0 => self.narrowed(n, b, depth - 1)?,
                Some(n) => self
                    .ranges
                    .get(n.0 as usize)
                    .copied()
                    .unwrap_or(Some(FULL))?,
                None => (0, 0),
            };
            r = constrain(r, f.c, n)?;
            bounds.push((f.c, n));
        }
        // Once more when several apply: a signed bound narrows only a range that the other
        // conditions have made one-signed (`x <s 100` after `x >=s 0`).
        if bounds.len() > 1 {
            for (c, n) in bounds {
                r = constrain(r, c, n)?;
            }
        }
        Some(r)
    }
}

/// The range of `m * x + c` (wrapping) for `x` in `r`, when the product does not wrap.
fn affine_range(r: Range, m: u32, c: u32) -> Option<Range> {
    let (lo, hi) = (r.0 as u64 * m as u64, r.1 as u64 * m as u64);
    if hi > u32::MAX as u64 {
        return None;
    }
    wrapped(lo as i64 + c as i64, hi as i64 + c as i64)
}

fn hull(a: Option<Range>, b: Option<Range>) -> Option<Range> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The values in both; `None` when none are.
fn intersect(a: Range, b: Range) -> Option<Range> {
    let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
    (lo <= hi).then_some((lo, hi))
}

/// The values of `r` for which `x c n` can hold with `n` in its range; `None` when none can.
fn constrain(r: Range, c: Cond, n: Range) -> Option<Range> {
    const MIN: i32 = i32::MIN;
    const MAX: i32 = i32::MAX;
    // n's signed range: its unsigned one unless it straddles 2^31.
    let (slo, shi) = if n.0 <= MAX as u32 && n.1 > MAX as u32 {
        (MIN, MAX)
    } else {
        (n.0 as i32, n.1 as i32)
    };
    match c {
        Cond::LtU => intersect(r, (0, n.1.checked_sub(1)?)),
        Cond::LeU => intersect(r, (0, n.1)),
        Cond::GtU => intersect(r, (n.0.checked_add(1)?, u32::MAX)),
        Cond::GeU => intersect(r, (n.0, u32::MAX)),
        Cond::Eq => intersect(r, n),
        Cond::Ne if n.0 == n.1 => {
            let k = n.0;
            match r {
                (lo, hi) if lo == k && hi == k => None,
                (lo, hi) if lo == k => Some((lo + 1, hi)),
                (lo, hi) if hi == k => Some((lo, hi - 1)),
                _ => Some(r),
            }
        }
        Cond::Ne => Some(r),
        Cond::LtS => within_signed(r, MIN, shi.checked_sub(1)?),
        Cond::LeS => within_signed(r, MIN, shi),
        Cond::GtS => within_signed(r, slo.checked_add(1)?, MAX),
        Cond::GeS => within_signed(r, slo, MAX),
    }
}

/// The values of `r` whose signed reading is in `lo..=hi`, as one unsigned range (the hull of
/// the non-negative and the negative part).
fn within_signed(r: Range, lo: i32, hi: i32) -> Option<Range> {
    if lo >= 0 || hi < 0 {
        return intersect(r, (lo as u32, hi as u32));
    }
    let non_negative = intersect(r, (0, hi as u32));
    let negative = intersect(r, (lo as u32, u32::MAX));
    hull(non_negative, negative)
}

//! Which IR values fold into their consumer instead of being computed on their own: found
//! once per function, before the walk in `lower` selects instructions. Each finder marks the
//! values it folds; the walk then skips them and emits the combined form at the consumer.

use super::{alu_imm_ok, is_commutative};
use crate::ir::{self, BinaryOp, Cond, Function, Op, Terminator, UnaryOp, Value};

/// Which compare/eqz values are consumed only by a branch, select or trap check in their own
/// block (and can be fused into it).
pub(super) fn find_fusable(func: &Function, order: &[ir::Block], uses: &[u32]) -> Vec<bool> {
    let n = func.value_types.len();
    let mut def_block = vec![usize::MAX; n];
    let mut fusable_def = vec![false; n];
    // A float compare fuses into a branch only (`FBranch`); selects and trap checks take a test.
    let mut float_compare = vec![false; n];
    for (bi, b) in order.iter().enumerate() {
        for inst in &func.block(*b).insts {
            for r in &inst.results {
                if let Some(slot) = def_block.get_mut(r.0 as usize) {
                    *slot = bi;
                }
            }
            if let ([r], Op::Compare(_) | Op::Unary(UnaryOp::Eqz)) =
                (inst.results.as_slice(), &inst.op)
                && let Some(f) = fusable_def.get_mut(r.0 as usize)
            {
                *f = true;
            }
            if let ([r], Op::FCompare(_)) = (inst.results.as_slice(), &inst.op)
                && let (Some(f), Some(fc)) = (
                    fusable_def.get_mut(r.0 as usize),
                    float_compare.get_mut(r.0 as usize),
                )
            {
                *f = true;
                *fc = true;
            }
        }
    }
    let mut fused = vec![false; n];
    let mut consider = |v: Value, bi: usize| {
        let i = v.0 as usize;
        if i < n && fusable_def[i] && def_block[i] == bi && uses[i] == 1 {
            fused[i] = true;
        }
    };
    for (bi, b) in order.iter().enumerate() {
        let data = func.block(*b);
        for inst in &data.insts {
            if matches!(inst.op, Op::Select | Op::TrapIf(_))
                && let Some(c) = inst.args.first()
                && !float_compare.get(c.0 as usize).copied().unwrap_or(false)
            {
                consider(*c, bi);
            }
        }
        if let Terminator::Branch { cond, .. } = &data.term {
            consider(*cond, bi);
        }
    }
    fused
}

/// Can `op` take a shifted register as its second operand (`add.w rd, rn, rm, lsl #k`)?
pub(super) fn shift_consumer(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor
    )
}

/// Shifts and rotates by a constant (1..=31 after wasm's masking) whose only use is an add,
/// sub, and, or or xor in the same block, as its second operand (or either, when commutative) next to an
/// operand that is not an immediate: folded into that instruction's shifted-register operand,
/// one instruction instead of two. At most one shift per consumer. Likewise a left shift by
/// 1..=3 whose only use is the address of an integer access without offset in the same block:
/// `ldr rd, [rn, rm, lsl #k]`.
pub(super) fn find_shift_folds(
    func: &Function,
    order: &[ir::Block],
    uses: &[u32],
    consts: &[Option<u32>],
) -> Vec<bool> {
    let n = func.value_types.len();
    let mut folded = vec![false; n];
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    for b in order {
        let insts = &func.block(*b).insts;
        // Shifts defined in this block so far: value -> foldable.
        let mut shifts_here = std::collections::BTreeSet::new();
        // Of those, left shifts an access can scale its index by.
        let mut scale_shifts = std::collections::BTreeSet::new();
        for inst in insts {
            let integer = |v: &Value| {
                func.value_types
                    .get(v.0 as usize)
                    .is_some_and(|t| !t.is_float())
            };
            let access_addr = match (&inst.op, inst.args.as_slice(), inst.results.as_slice()) {
                (Op::Load(m), [_, addr], [r]) if m.offset == 0 && integer(r) => Some(*addr),
                (Op::Store(m), [_, addr, value], []) if m.offset == 0 && integer(value) => {
                    Some(*addr)
                }
                _ => None,
            };
            if let Some(addr) = access_addr
                && scale_shifts.contains(&addr.0)
                && uses.get(addr.0 as usize) == Some(&1)
            {
                folded[addr.0 as usize] = true;
            }
            if let (Op::Binary(op), [a, b]) = (&inst.op, inst.args.as_slice()) {
                let eligible =
                    |v: &Value| shifts_here.contains(&v.0) && uses.get(v.0 as usize) == Some(&1);
                if shift_consumer(*op) {
                    let imm_other =
                        |other: &Value| konst(*other).is_some_and(|c| alu_imm_ok(*op, c));
                    if eligible(b) && !imm_other(a) {
                        folded[b.0 as usize] = true;
                    } else if is_commutative(*op) && eligible(a) && !imm_other(b) {
                        folded[a.0 as usize] = true;
                    }
                }
                if matches!(
                    op,
                    BinaryOp::Shl
                        | BinaryOp::ShrU
                        | BinaryOp::ShrS
                        | BinaryOp::Rotl
                        | BinaryOp::Rotr
                ) && konst(*b).is_some_and(|c| c & 31 != 0)
                    && konst(*a).is_none()
                    && let [r] = inst.results.as_slice()
                {
                    shifts_here.insert(r.0);
                    if *op == BinaryOp::Shl
                        && konst(*b).is_some_and(|c| (1..=3).contains(&(c & 31)))
                    {
                        scale_shifts.insert(r.0);
                    }
                }
            }
        }
    }
    folded
}

/// `x & ~y` and `x | ~y`: a `y ^ -1` whose only use is an and or an or in the same block, next
/// to an operand that is not an immediate and beside no folded shift, becomes that
/// instruction's inverted operand (`bic` / `orn`), one instruction instead of two.
pub(super) fn find_not_folds(
    func: &Function,
    order: &[ir::Block],
    uses: &[u32],
    consts: &[Option<u32>],
    folded_shift: &[bool],
) -> Vec<bool> {
    let mut folded = vec![false; func.value_types.len()];
    let konst = |v: &Value| consts.get(v.0 as usize).copied().flatten();
    let shift_folded = |v: &Value| folded_shift.get(v.0 as usize).copied().unwrap_or(false);
    for b in order {
        // Inversions defined in this block so far.
        let mut nots_here = std::collections::BTreeSet::new();
        for inst in &func.block(*b).insts {
            let (Op::Binary(op), [a, b]) = (&inst.op, inst.args.as_slice()) else {
                continue;
            };
            match op {
                BinaryOp::And | BinaryOp::Or if !shift_folded(a) && !shift_folded(b) => {
                    let eligible =
                        |v: &Value| nots_here.contains(&v.0) && uses.get(v.0 as usize) == Some(&1);
                    if eligible(b) && konst(a).is_none() {
                        folded[b.0 as usize] = true;
                    } else if eligible(a) && konst(b).is_none() {
                        folded[a.0 as usize] = true;
                    }
                }
                BinaryOp::Xor => {
                    let inverted = matches!(
                        (konst(a), konst(b)),
                        (None, Some(u32::MAX)) | (Some(u32::MAX), None)
                    );
                    if inverted && let [r] = inst.results.as_slice() {
                        nots_here.insert(r.0);
                    }
                }
                _ => {}
            }
        }
    }
    folded
}

/// `trap if (a == x) & (b == y)` (signed division's INT_MIN / -1 check; also `!=`), the `and`
/// and both compares used only there, in one block: `cmp; it eq; cmpeq; beq` instead of two
/// flag materializations, an `and` and a test. Marks the `and`s; the compares become fused.
pub(super) fn find_trap_both(
    func: &Function,
    order: &[ir::Block],
    uses: &[u32],
    fused: &mut [bool],
) -> Vec<bool> {
    let mut both = vec![false; func.value_types.len()];
    let once = |v: &Value| uses.get(v.0 as usize) == Some(&1);
    for b in order {
        let insts = &func.block(*b).insts;
        if !insts.iter().any(|i| matches!(i.op, Op::TrapIf(_))) {
            continue;
        }
        // The block's single-result definitions, found once (not by a scan per trap check).
        let defined: std::collections::BTreeMap<Value, (&Op, &[Value])> = insts
            .iter()
            .filter_map(|i| match i.results.as_slice() {
                [r] => Some((*r, (&i.op, i.args.as_slice()))),
                _ => None,
            })
            .collect();
        let def = |v: Value| defined.get(&v).copied();
        for inst in insts {
            let (Op::TrapIf(_), [c]) = (&inst.op, inst.args.as_slice()) else {
                continue;
            };
            let Some((Op::Binary(BinaryOp::And), &[p, q])) = def(*c) else {
                continue;
            };
            let (Some((Op::Compare(c1), _)), Some((Op::Compare(c2), _))) = (def(p), def(q)) else {
                continue;
            };
            if c1 == c2
                && matches!(c1, Cond::Eq | Cond::Ne)
                && p != q
                && [*c, p, q].iter().all(once)
            {
                both[c.0 as usize] = true;
                fused[p.0 as usize] = true;
                fused[q.0 as usize] = true;
            }
        }
    }
    both
}

/// Widening multiplies whose two words are used once, both by one 64-bit add in the same
/// block (as one operand pair): smlal/umlal there instead of smull/umull, adds, adc. At most
/// one product per add. Indexed by the product's low word: (signed, multiplicands).
pub(super) fn find_mul_acc(
    func: &Function,
    order: &[ir::Block],
    uses: &[u32],
) -> Vec<Option<(bool, Value, Value)>> {
    let mut folded = vec![None; func.value_types.len()];
    for b in order {
        let mut products = std::collections::BTreeMap::new();
        for inst in &func.block(*b).insts {
            match (&inst.op, inst.args.as_slice(), inst.results.as_slice()) {
                (Op::MulWideU | Op::MulWideS, [x, y], [lo, hi])
                    if uses.get(lo.0 as usize) == Some(&1)
                        && uses.get(hi.0 as usize) == Some(&1) =>
                {
                    products.insert((lo.0, hi.0), (inst.op == Op::MulWideS, *x, *y));
                }
                (Op::AddPair, [a0, a1, b0, b1], _) => {
                    let product = products
                        .remove(&(b0.0, b1.0))
                        .map(|p| (b0, p))
                        .or_else(|| products.remove(&(a0.0, a1.0)).map(|p| (a0, p)));
                    if let Some((lo, p)) = product {
                        folded[lo.0 as usize] = Some(p);
                    }
                }
                _ => {}
            }
        }
    }
    folded
}

/// Multiplies whose only use is an add (either operand) or a subtract (as the amount taken
/// away) in the same block: `mla`/`mls` there instead of `mul` and `add`/`sub`. Not when the
/// other operand is an immediate the add encodes (`mul` + `adds #k` is as short) or a shift
/// folded into the same add; at most one product per add. Indexed by the product.
pub(super) fn find_mul_adds(
    func: &Function,
    order: &[ir::Block],
    uses: &[u32],
    consts: &[Option<u32>],
    folded_shift: &[bool],
) -> Vec<bool> {
    let mut folded = vec![false; func.value_types.len()];
    let once = |v: Value| uses.get(v.0 as usize) == Some(&1);
    let is_i32 = |v: Value| func.value_types.get(v.0 as usize) == Some(&ir::Type::I32);
    let shift_folded = |v: Value| folded_shift.get(v.0 as usize).copied().unwrap_or(false);
    for b in order {
        // Products defined so far in this block that may fold.
        let mut products = std::collections::BTreeSet::new();
        for inst in &func.block(*b).insts {
            let (Op::Binary(op), [a, b], [r]) =
                (&inst.op, inst.args.as_slice(), inst.results.as_slice())
            else {
                continue;
            };
            if *op == BinaryOp::Mul {
                if once(*r) && is_i32(*r) {
                    products.insert(*r);
                }
                continue;
            }
            if !matches!(op, BinaryOp::Add | BinaryOp::Sub) || shift_folded(*a) || shift_folded(*b)
            {
                continue;
            }
            let product = if products.contains(b) {
                Some((*b, *a))
            } else if *op == BinaryOp::Add && products.contains(a) {
                Some((*a, *b))
            } else {
                None
            };
            let Some((product, other)) = product else {
                continue;
            };
            let immediate = consts
                .get(other.0 as usize)
                .copied()
                .flatten()
                .is_some_and(|c| alu_imm_ok(*op, c));
            if product != other && !immediate {
                folded[product.0 as usize] = true;
                products.remove(&product);
            }
        }
    }
    folded
}

/// A clamp `ssat`/`usat` computes (`find_saturations`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Saturation {
    pub signed: bool,
    pub bits: u8,
    /// The value clamped.
    pub x: Value,
}

/// Which side of `x` a select of `x` and a constant bounds: `min(x, k)` or `max(x, k)`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Upper(i32),
    Lower(i32),
}

/// `select(x cmp k, ...)` choosing between `x` and the constant `k` by a signed compare of the
/// two (fused into the select): the bound it puts on `x`.
fn bound_of(
    defs: &[Option<(&Op, &[Value])>],
    consts: &[Option<u32>],
    fused: &[bool],
    select: &ir::Inst,
) -> Option<(Value, Bound)> {
    let konst = |v: Value| {
        consts
            .get(v.0 as usize)
            .copied()
            .flatten()
            .map(|k| k as i32)
    };
    let (Op::Select, [c, t, f]) = (&select.op, select.args.as_slice()) else {
        return None;
    };
    if !fused.get(c.0 as usize).copied().unwrap_or(false) {
        return None;
    }
    // The compare, as `x cond k`.
    let Some((Op::Compare(cond), [a, b])) = defs.get(c.0 as usize).copied().flatten() else {
        return None;
    };
    let (a, b, cond) = (*a, *b, *cond);
    let (x, k, cond) = match (konst(a), konst(b)) {
        (None, Some(k)) => (a, k, cond),
        (Some(k), None) => (b, k, cond.swapped()),
        _ => return None,
    };
    // Picks x where `x cond k` holds (t = x) or where it fails (f = x).
    let picks_x_when_true = if *t == x && konst(*f) == Some(k) {
        true
    } else if *f == x && konst(*t) == Some(k) {
        false
    } else {
        return None;
    };
    let below = match cond {
        Cond::LtS | Cond::LeS => true,
        Cond::GtS | Cond::GeS => false,
        _ => return None,
    };
    // x kept while below k: min(x, k); x kept while above: max(x, k).
    Some((
        x,
        if below == picks_x_when_true {
            Bound::Upper(k)
        } else {
            Bound::Lower(k)
        },
    ))
}

/// Clamps to a saturating range: a select bounding `y` on one side whose `y` is a select
/// bounding `x` on the other (read only there, in the same block), with the bounds
/// `-2^(n-1)..=2^(n-1)-1` (`ssat #n`) or `0..=2^n-1` (`usat #n`). Indexed by the outer select;
/// the inner one is marked in the second vector (the walk skips it).
pub(super) fn find_saturations(
    func: &Function,
    order: &[ir::Block],
    uses: &[u32],
    defs: &[Option<(&Op, &[Value])>],
    consts: &[Option<u32>],
    fused: &[bool],
) -> (Vec<Option<Saturation>>, Vec<bool>) {
    let n = func.value_types.len();
    let mut outer = vec![None; n];
    let mut inner = vec![false; n];
    for b in order {
        let insts = &func.block(*b).insts;
        for (i, inst) in insts.iter().enumerate() {
            let Some((y, second)) = bound_of(defs, consts, fused, inst) else {
                continue;
            };
            // `y` is read by this select and its compare only, and defined earlier in the block.
            if uses.get(y.0 as usize) != Some(&2) {
                continue;
            }
            let Some(def) = insts[..i].iter().find(|d| d.results.as_slice() == [y]) else {
                continue;
            };
            let Some((x, first)) = bound_of(defs, consts, fused, def) else {
                continue;
            };
            let (lo, hi) = match (first, second) {
                (Bound::Upper(hi), Bound::Lower(lo)) | (Bound::Lower(lo), Bound::Upper(hi)) => {
                    (lo, hi)
                }
                _ => continue,
            };
            // hi + 1 a power of two (hi >= 0, so no wrap): usat from 0, ssat from -(hi + 1).
            let top = (hi >= 0)
                .then(|| hi as u32 + 1)
                .filter(|t| t.is_power_of_two());
            let saturation = match top {
                Some(t) if lo == 0 => Some((false, t.trailing_zeros() as u8)),
                Some(t) if i64::from(lo) == -i64::from(t) => {
                    Some((true, t.trailing_zeros() as u8 + 1))
                }
                _ => None,
            };
            if let (Some((signed, bits)), [r]) = (saturation, inst.results.as_slice()) {
                outer[r.0 as usize] = Some(Saturation { signed, bits, x });
                inner[y.0 as usize] = true;
            }
        }
    }
    (outer, inner)
}

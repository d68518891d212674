//! Constant folding exactly per wasm semantics (wrapping arithmetic, shift and rotate counts
//! modulo the width, sign/zero extensions), plus a few identities (`x + 0`, `x * 1`, ...).
//! A branch on a constant becomes a `Jump`; a `TrapIf` on constant 0 goes away and on a nonzero
//! constant ends the block in `Trap`. A division that would trap is never folded.

use crate::ir::{BinaryOp, Cond, Function, Inst, Op, Terminator, Type, UnaryOp, Value};

/// The canonical constant of `ty`: i32 values are kept sign-extended.
pub fn canonical(ty: Type, v: i64) -> i64 {
    match ty {
        Type::I32 | Type::F32 => v as i32 as i64,
        Type::I64 | Type::F64 => v,
    }
}

/// `op` applied to `a` (of type `arg_ty`); the result is canonical for the result type.
pub fn eval_unary(op: UnaryOp, arg_ty: Type, a: i64) -> i64 {
    match arg_ty {
        Type::I32 | Type::F32 => {
            let x = a as u32;
            let r: i32 = match op {
                UnaryOp::Clz => x.leading_zeros() as i32,
                UnaryOp::Ctz => x.trailing_zeros() as i32,
                UnaryOp::Popcnt => x.count_ones() as i32,
                UnaryOp::Eqz => (x == 0) as i32,
                UnaryOp::Extend8S => x as u8 as i8 as i32,
                UnaryOp::Extend16S => x as u16 as i16 as i32,
                // i64-only operators applied to an i32 (never produced): treat the i32 as the low
                // word of an i64 so the result still matches the interpreter.
                UnaryOp::Extend32S | UnaryOp::Wrap => x as i32,
                UnaryOp::ExtendI32S => return x as i32 as i64,
                UnaryOp::ExtendI32U => return x as i64,
            };
            r as i64
        }
        Type::I64 | Type::F64 => {
            let x = a as u64;
            match op {
                UnaryOp::Clz => x.leading_zeros() as i64,
                UnaryOp::Ctz => x.trailing_zeros() as i64,
                UnaryOp::Popcnt => x.count_ones() as i64,
                UnaryOp::Eqz => (x == 0) as i64,
                UnaryOp::Extend8S => x as u8 as i8 as i64,
                UnaryOp::Extend16S => x as u16 as i16 as i64,
                UnaryOp::Extend32S => x as u32 as i32 as i64,
                UnaryOp::Wrap => x as u32 as i32 as i64,
                UnaryOp::ExtendI32S => x as u32 as i32 as i64,
                UnaryOp::ExtendI32U => x as u32 as i64,
            }
        }
    }
}

/// `a op b` in type `ty`, or `None` when wasm would trap (division by zero, INT_MIN / -1).
pub fn eval_binary(op: BinaryOp, ty: Type, a: i64, b: i64) -> Option<i64> {
    Some(match ty {
        Type::I32 | Type::F32 => {
            let (x, y) = (a as i32, b as i32);
            let (ux, uy) = (x as u32, y as u32);
            let r: i32 = match op {
                BinaryOp::Add => x.wrapping_add(y),
                BinaryOp::Sub => x.wrapping_sub(y),
                BinaryOp::Mul => x.wrapping_mul(y),
                BinaryOp::DivS => {
                    if y == 0 || (x == i32::MIN && y == -1) {
                        return None;
                    }
                    x / y
                }
                BinaryOp::DivU => ux.checked_div(uy)? as i32,
                // i32::MIN % -1 is 0 in wasm; wrapping_rem gives exactly that.
                BinaryOp::RemS => {
                    if y == 0 {
                        return None;
                    }
                    x.wrapping_rem(y)
                }
                BinaryOp::RemU => ux.checked_rem(uy)? as i32,
                BinaryOp::And => x & y,
                BinaryOp::Or => x | y,
                BinaryOp::Xor => x ^ y,
                BinaryOp::Shl => x.wrapping_shl(uy),
                BinaryOp::ShrS => x.wrapping_shr(uy),
                BinaryOp::ShrU => ux.wrapping_shr(uy) as i32,
                BinaryOp::Rotl => ux.rotate_left(uy % 32) as i32,
                BinaryOp::Rotr => ux.rotate_right(uy % 32) as i32,
            };
            r as i64
        }
        Type::I64 | Type::F64 => {
            let (x, y) = (a, b);
            let (ux, uy) = (x as u64, y as u64);
            match op {
                BinaryOp::Add => x.wrapping_add(y),
                BinaryOp::Sub => x.wrapping_sub(y),
                BinaryOp::Mul => x.wrapping_mul(y),
                BinaryOp::DivS => {
                    if y == 0 || (x == i64::MIN && y == -1) {
                        return None;
                    }
                    x / y
                }
                BinaryOp::DivU => ux.checked_div(uy)? as i64,
                BinaryOp::RemS => {
                    if y == 0 {
                        return None;
                    }
                    x.wrapping_rem(y)
                }
                BinaryOp::RemU => ux.checked_rem(uy)? as i64,
                BinaryOp::And => x & y,
                BinaryOp::Or => x | y,
                BinaryOp::Xor => x ^ y,
                BinaryOp::Shl => x.wrapping_shl(uy as u32),
                BinaryOp::ShrS => x.wrapping_shr(uy as u32),
                BinaryOp::ShrU => ux.wrapping_shr(uy as u32) as i64,
                BinaryOp::Rotl => ux.rotate_left((uy % 64) as u32) as i64,
                BinaryOp::Rotr => ux.rotate_right((uy % 64) as u32) as i64,
            }
        }
    })
}

pub fn eval_compare(cond: Cond, ty: Type, a: i64, b: i64) -> bool {
    let (s1, s2, u1, u2) = match ty {
        Type::I32 | Type::F32 => (
            a as i32 as i64,
            b as i32 as i64,
            a as u32 as u64,
            b as u32 as u64,
        ),
        Type::I64 | Type::F64 => (a, b, a as u64, b as u64),
    };
    match cond {
        Cond::Eq => u1 == u2,
        Cond::Ne => u1 != u2,
        Cond::LtS => s1 < s2,
        Cond::LtU => u1 < u2,
        Cond::GtS => s1 > s2,
        Cond::GtU => u1 > u2,
        Cond::LeS => s1 <= s2,
        Cond::LeU => u1 <= u2,
        Cond::GeS => s1 >= s2,
        Cond::GeU => u1 >= u2,
    }
}

/// What became of one instruction.
enum Folded {
    /// Replace by constants for its results (several for the pair operations).
    Constants(Vec<i64>),
    /// Replace by a copy of this value.
    CopyOf(Value),
    /// A `TrapIf` that never fires.
    Remove,
    /// A `TrapIf` that always fires: the rest of the block is dead.
    AlwaysTraps,
    /// Replace by a cheaper operation on other values.
    Rewrite(Op, Vec<Value>),
}

struct Folder<'f> {
    types: &'f [Type],
    consts: Vec<Option<i64>>,
    /// i32 values that are another shifted left by a constant: (that value, the amount).
    shifted_left: Vec<Option<(Value, i64)>>,
}

impl Folder<'_> {
    fn ty(&self, v: Value) -> Option<Type> {
        self.types.get(v.0 as usize).copied()
    }

    fn constant(&self, v: Value) -> Option<i64> {
        self.consts.get(v.0 as usize).copied().flatten()
    }

    /// `(x << 16) >>s 16` and `(x << 24) >>s 24` (C's casts to `short` and `signed char`
    /// without wasm's sign-extension operators): one sign extension of `x`.
    fn sign_extension(&self, shifted: Value, amount: i64) -> Option<Folded> {
        let (x, left) = self
            .shifted_left
            .get(shifted.0 as usize)
            .copied()
            .flatten()?;
        let op = match (left, amount) {
            (16, 16) => UnaryOp::Extend16S,
            (24, 24) => UnaryOp::Extend8S,
            _ => return None,
        };
        Some(Folded::Rewrite(Op::Unary(op), vec![x]))
    }

    /// Notes what `inst` (as kept) computes for the folds of later instructions.
    fn note(&mut self, inst: &Inst) {
        if let (Op::Binary(BinaryOp::Shl), [x, amount], [r]) =
            (&inst.op, inst.args.as_slice(), inst.results.as_slice())
            && self.ty(*r) == Some(Type::I32)
            && let Some(k) = self.constant(*amount)
            && let Some(slot) = self.shifted_left.get_mut(r.0 as usize)
        {
            *slot = Some((*x, k & 31));
        }
    }

    fn fold(&self, inst: &Inst) -> Option<Folded> {
        let c = |i: usize| inst.args.get(i).and_then(|v| self.constant(*v));
        let result_ty = inst.results.first().and_then(|r| self.ty(*r));
        Some(match &inst.op {
            Op::Unary(op) => {
                let arg_ty = self.ty(*inst.args.first()?)?;
                Folded::Constants(vec![eval_unary(*op, arg_ty, c(0)?)])
            }
            Op::Binary(op) => {
                let ty = result_ty?;
                let (a, b) = (*inst.args.first()?, *inst.args.get(1)?);
                match (c(0), c(1)) {
                    (Some(x), Some(y)) => Folded::Constants(vec![eval_binary(*op, ty, x, y)?]),
                    (None, Some(y)) if *op == BinaryOp::ShrS && ty == Type::I32 => {
                        self.sign_extension(a, y)?
                    }
                    (x, y) => identity(*op, ty, a, x, b, y)?,
                }
            }
            Op::Compare(cond) => {
                let ty = self.ty(*inst.args.first()?)?;
                Folded::Constants(vec![eval_compare(*cond, ty, c(0)?, c(1)?) as i64])
            }
            Op::Select => {
                let (t, f) = (*inst.args.get(1)?, *inst.args.get(2)?);
                match c(0) {
                    Some(cond) if cond as i32 != 0 => Folded::CopyOf(t),
                    Some(_) => Folded::CopyOf(f),
                    None if t == f => Folded::CopyOf(t),
                    None => return None,
                }
            }
            Op::TrapIf(_) => {
                if c(0)? as i32 != 0 {
                    Folded::AlwaysTraps
                } else {
                    Folded::Remove
                }
            }
            Op::AddPair | Op::SubPair => {
                let a = pair(c(0)?, c(1)?);
                let b = pair(c(2)?, c(3)?);
                let v = if inst.op == Op::AddPair {
                    a.wrapping_add(b)
                } else {
                    a.wrapping_sub(b)
                };
                split(v)
            }
            Op::MulWideU => split((c(0)? as u32 as u64 * c(1)? as u32 as u64) as i64),
            Op::MulWideS => split(c(0)? as i32 as i64 * c(1)? as i32 as i64),
            Op::ShiftPair(op @ (BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU)) => {
                let v = pair(c(0)?, c(1)?);
                split(eval_binary(*op, Type::I64, v, c(2)? as u32 as i64)?)
            }
            _ => return None,
        })
    }
}

fn pair(lo: i64, hi: i64) -> i64 {
    ((hi as u64) << 32 | lo as u32 as u64) as i64
}

fn split(v: i64) -> Folded {
    Folded::Constants(vec![v as i32 as i64, (v >> 32) as i32 as i64])
}

/// Identities with one constant operand (`x + 0`, `x * 1`, `x & 0`, shifts by 0, ...).
fn identity(
    op: BinaryOp,
    ty: Type,
    a: Value,
    ca: Option<i64>,
    b: Value,
    cb: Option<i64>,
) -> Option<Folded> {
    let is = |c: Option<i64>, v: i64| c.map(|c| canonical(ty, c)) == Some(canonical(ty, v));
    use BinaryOp::*;
    Some(match op {
        Add | Or | Xor if is(cb, 0) => Folded::CopyOf(a),
        Add | Or | Xor if is(ca, 0) => Folded::CopyOf(b),
        Sub | Shl | ShrS | ShrU | Rotl | Rotr if is(cb, 0) => Folded::CopyOf(a),
        Mul if is(cb, 1) => Folded::CopyOf(a),
        Mul if is(ca, 1) => Folded::CopyOf(b),
        Mul | And if is(cb, 0) || is(ca, 0) => Folded::Constants(vec![0]),
        And if is(cb, -1) => Folded::CopyOf(a),
        And if is(ca, -1) => Folded::CopyOf(b),
        DivS | DivU if is(cb, 1) => Folded::CopyOf(a),
        _ => return None,
    })
}

/// Returns whether an instruction or a terminator was folded.
pub fn run(func: &mut Function) -> bool {
    let mut folder = Folder {
        types: &func.value_types,
        consts: vec![None; func.value_types.len()],
        shifted_left: vec![None; func.value_types.len()],
    };
    for block in &func.blocks {
        for inst in &block.insts {
            if let (Op::Const(v), [r]) = (&inst.op, &inst.results[..])
                && let Some(ty) = folder.ty(*r)
                && let Some(slot) = folder.consts.get_mut(r.0 as usize)
            {
                *slot = Some(canonical(ty, *v));
            }
        }
    }
    let mut changed = false;
    // Reverse post-order visits definitions before uses, so folded results feed later folds.
    // Blocks are rebuilt in place: the folder reads only `value_types` and its own table. The
    // emptied list of one block is the storage the next is rebuilt in.
    let mut spare: Vec<Inst> = Vec::new();
    for b in func.reverse_postorder() {
        let block = &mut func.blocks[b.0 as usize];
        let mut insts = std::mem::replace(&mut block.insts, std::mem::take(&mut spare));
        block.insts.reserve(insts.len());
        for inst in insts.drain(..) {
            let folded = folder.fold(&inst);
            // Every fold but a constant list of the wrong length rewrites the instruction.
            changed |= match &folded {
                None => false,
                Some(Folded::Constants(values)) => values.len() == inst.results.len(),
                Some(_) => true,
            };
            match folded {
                None => {
                    folder.note(&inst);
                    block.insts.push(inst);
                }
                Some(Folded::Rewrite(op, args)) => block.insts.push(Inst { op, args, ..inst }),
                Some(Folded::Remove) => {}
                Some(Folded::AlwaysTraps) => {
                    if let Op::TrapIf(code) = inst.op {
                        block.term = Terminator::Trap { code };
                        block.term_offset = inst.offset;
                    }
                    break;
                }
                Some(Folded::CopyOf(src)) => block.insts.push(Inst {
                    op: Op::Copy,
                    args: vec![src],
                    ..inst
                }),
                Some(Folded::Constants(values)) if values.len() == inst.results.len() => {
                    for (r, v) in inst.results.iter().zip(values) {
                        let ty = folder.ty(*r).unwrap_or(Type::I64);
                        let v = canonical(ty, v);
                        if let Some(slot) = folder.consts.get_mut(r.0 as usize) {
                            *slot = Some(v);
                        }
                        block.insts.push(Inst {
                            op: Op::Const(v),
                            args: Vec::new(),
                            results: vec![*r],
                            offset: inst.offset,
                        });
                    }
                }
                Some(Folded::Constants(_)) => block.insts.push(inst),
            }
        }
        spare = insts;
        let target = match &block.term {
            Terminator::Branch {
                cond,
                then_block,
                else_block,
            } => folder.constant(*cond).map(|c| {
                if c as i32 != 0 {
                    *then_block
                } else {
                    *else_block
                }
            }),
            Terminator::Switch {
                index,
                targets,
                default,
            } => folder
                .constant(*index)
                .map(|i| *targets.get(i as u32 as usize).unwrap_or(default)),
            _ => None,
        };
        if let Some(target) = target {
            block.term = Terminator::Jump {
                target,
                args: Vec::new(),
            };
            changed = true;
        }
    }
    changed
}

//! i64 operators on (low, high) pairs of I32 values.

use super::BodyLegalizer;
use super::builder::FnBuilder;
use crate::error::{CompileError, Result};
use crate::ir::{BinaryOp, Cond, Function, Op, Type, UnaryOp, Value};

pub(super) type Pair = (Value, Value);

fn unsigned(cond: Cond) -> Cond {
    match cond {
        Cond::LtS => Cond::LtU,
        Cond::GtS => Cond::GtU,
        Cond::LeS => Cond::LeU,
        Cond::GeS => Cond::GeU,
        other => other,
    }
}

impl FnBuilder {
    pub fn konst64(&mut self, k: u64) -> Pair {
        (self.konst(k as u32), self.konst((k >> 32) as u32))
    }

    /// Add, sub, mul, bitwise ops and shifts/rotates; division goes through `Call`s instead.
    pub fn binary64(&mut self, op: BinaryOp, a: Pair, b: Pair) -> Result<Pair> {
        Ok(match op {
            BinaryOp::Add => self.two(Op::AddPair, vec![a.0, a.1, b.0, b.1]),
            BinaryOp::Sub => self.two(Op::SubPair, vec![a.0, a.1, b.0, b.1]),
            BinaryOp::Mul => {
                // (ah*2^32 + al)(bh*2^32 + bl) mod 2^64 = al*bl + 2^32 (al*bh + ah*bl)
                let (lo, carry) = self.two(Op::MulWideU, vec![a.0, b.0]);
                let cross1 = self.bin(BinaryOp::Mul, a.0, b.1);
                let cross2 = self.bin(BinaryOp::Mul, a.1, b.0);
                let hi = self.bin(BinaryOp::Add, carry, cross1);
                (lo, self.bin(BinaryOp::Add, hi, cross2))
            }
            BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => {
                (self.bin(op, a.0, b.0), self.bin(op, a.1, b.1))
            }
            BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU => self.shift64(op, a, b.0),
            BinaryOp::Rotl | BinaryOp::Rotr => {
                let (first, second) = match op {
                    BinaryOp::Rotl => (BinaryOp::Shl, BinaryOp::ShrU),
                    _ => (BinaryOp::ShrU, BinaryOp::Shl),
                };
                // -n mod 64 == (64 - n) mod 64 because 2^32 is a multiple of 64.
                let zero = self.konst(0);
                let neg = self.bin(BinaryOp::Sub, zero, b.0);
                let x = self.shift64(first, a, b.0);
                let y = self.shift64(second, a, neg);
                (
                    self.bin(BinaryOp::Or, x.0, y.0),
                    self.bin(BinaryOp::Or, x.1, y.1),
                )
            }
            BinaryOp::DivS | BinaryOp::DivU | BinaryOp::RemS | BinaryOp::RemU => {
                return Err(CompileError::internal(format!(
                    "i64 {op:?} must become a runtime-helper call"
                )));
            }
        })
    }

    pub fn shift64(&mut self, op: BinaryOp, x: Pair, count: Value) -> Pair {
        self.two(Op::ShiftPair(op), vec![x.0, x.1, count])
    }

    pub fn compare64(&mut self, cond: Cond, a: Pair, b: Pair) -> Value {
        match cond {
            Cond::Eq | Cond::Ne => {
                let lo = self.bin(BinaryOp::Xor, a.0, b.0);
                let hi = self.bin(BinaryOp::Xor, a.1, b.1);
                let diff = self.bin(BinaryOp::Or, lo, hi);
                if cond == Cond::Eq {
                    self.un(UnaryOp::Eqz, diff)
                } else {
                    let zero = self.konst(0);
                    self.cmp(Cond::Ne, diff, zero)
                }
            }
            _ => {
                // The high words decide unless equal; then the low words compare unsigned.
                let hi_equal = self.cmp(Cond::Eq, a.1, b.1);
                let by_lo = self.cmp(unsigned(cond), a.0, b.0);
                let by_hi = self.cmp(cond, a.1, b.1);
                self.select(hi_equal, by_lo, by_hi)
            }
        }
    }

    pub fn eqz64(&mut self, x: Pair) -> Value {
        let any = self.bin(BinaryOp::Or, x.0, x.1);
        self.un(UnaryOp::Eqz, any)
    }

    /// Unary operators with an i64 operand and an i64 result.
    pub fn unary64(&mut self, op: UnaryOp, x: Pair) -> Result<Pair> {
        Ok(match op {
            UnaryOp::Clz => {
                let hi_zero = self.un(UnaryOp::Eqz, x.1);
                let lo_count = self.clz32(x.0);
                let lo_count = self.bin_k(BinaryOp::Add, lo_count, 32);
                let hi_count = self.clz32(x.1);
                let count = self.select(hi_zero, lo_count, hi_count);
                (count, self.konst(0))
            }
            UnaryOp::Ctz => {
                let lo_zero = self.un(UnaryOp::Eqz, x.0);
                let hi_count = self.ctz32(x.1);
                let hi_count = self.bin_k(BinaryOp::Add, hi_count, 32);
                let lo_count = self.ctz32(x.0);
                let count = self.select(lo_zero, hi_count, lo_count);
                (count, self.konst(0))
            }
            UnaryOp::Popcnt => {
                let lo = self.popcnt32(x.0);
                let hi = self.popcnt32(x.1);
                let count = self.bin(BinaryOp::Add, lo, hi);
                (count, self.konst(0))
            }
            UnaryOp::Extend8S | UnaryOp::Extend16S => {
                let lo = self.un(op, x.0);
                self.sign_extend(lo)
            }
            UnaryOp::Extend32S => self.sign_extend(x.0),
            UnaryOp::Eqz | UnaryOp::Wrap | UnaryOp::ExtendI32S | UnaryOp::ExtendI32U => {
                return Err(CompileError::internal(format!(
                    "{op:?} does not map an i64 to an i64"
                )));
            }
        })
    }

    /// The i64 whose low word is `lo` and whose high word is its sign.
    pub fn sign_extend(&mut self, lo: Value) -> Pair {
        (lo, self.bin_k(BinaryOp::ShrS, lo, 31))
    }
}

/// Old i64 values that are the extension of their low word, from their definition: `true`
/// sign-extended (`i64.extend_i32_s`, `i64.extend8/16/32_s`, `i64.load8/16/32_s`), `false`
/// zero-extended (`i64.extend_i32_u`, `i64.load32_u`), `None` both (`i64.load8/16_u`).
pub(super) fn old_extends(func: &Function) -> Vec<Option<Option<bool>>> {
    let mut extends = vec![None; func.value_types.len()];
    for inst in func.blocks.iter().flat_map(|b| &b.insts) {
        let [r] = inst.results.as_slice() else {
            continue;
        };
        if func.value_types.get(r.0 as usize) != Some(&Type::I64) {
            continue;
        }
        let kind = match &inst.op {
            Op::Unary(
                UnaryOp::ExtendI32S | UnaryOp::Extend8S | UnaryOp::Extend16S | UnaryOp::Extend32S,
            ) => Some(true),
            Op::Unary(UnaryOp::ExtendI32U) => Some(false),
            Op::Load(m) if m.signed && m.width <= 4 => Some(true),
            Op::Load(m) if m.width == 4 => Some(false),
            Op::Load(m) if m.width < 4 => None,
            _ => continue,
        };
        if let Some(slot) = extends.get_mut(r.0 as usize) {
            *slot = Some(kind);
        }
    }
    extends
}

impl BodyLegalizer<'_> {
    /// `(signed, low word)` when the old i64 value is its low word sign-extended
    /// (`Some(true)`), zero-extended (`Some(false)`) or both (`None`: a small constant or
    /// narrow unsigned load).
    fn widened(&self, v: Value) -> Result<Option<(Option<bool>, Value)>> {
        let kind = match self.old_extends.get(v.0 as usize).copied().flatten() {
            Some(kind) => kind,
            None => match self.old_consts.get(v.0 as usize).copied().flatten() {
                Some(0..=0x7fff_ffff) => None,
                Some(-0x8000_0000..0) => Some(true),
                Some(0x8000_0000..=0xffff_ffff) => Some(false),
                _ => return Ok(None),
            },
        };
        Ok(Some((kind, self.get64(v)?.0)))
    }

    /// An i64 multiply of two sign- (or two zero-) extended words, or of one and a constant
    /// in range: one 32x32 -> 64 multiply instead of the full 64x64 product.
    pub(super) fn widening_mul(&mut self, a: Value, b: Value) -> Result<Option<Pair>> {
        let (Some((sa, x)), Some((sb, y))) = (self.widened(a)?, self.widened(b)?) else {
            return Ok(None);
        };
        let op = match (sa, sb) {
            (Some(true), Some(false)) | (Some(false), Some(true)) => return Ok(None),
            (Some(true), _) | (_, Some(true)) => Op::MulWideS,
            _ => Op::MulWideU,
        };
        if self.old_consts[a.0 as usize].is_some() && self.old_consts[b.0 as usize].is_some() {
            return Ok(None); // the folder's job
        }
        Ok(Some(self.b.two(op, vec![x, y])))
    }
}

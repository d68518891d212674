//! WebAssembly float semantics on bit patterns: the reference the interpreter uses for the
//! float operators and for the runtime-library helpers they become on soft-float targets.
//!
//! Results are bit-exact wherever the spec fixes them. Where it allows any NaN of a class, the
//! result is deterministic: an operand NaN quietened (arithmetic), or the positive canonical
//! NaN when no operand is a NaN.

use crate::ir::{
    CompareAnswer, Conversion, FBinaryOp, FCond, FUnaryOp, LibCall, SoftOp, TrapCode, Type,
};

const F32_QUIET: u32 = 0x0040_0000;
const F64_QUIET: u64 = 0x0008_0000_0000_0000;
pub const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
pub const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

/// A float of either width, widened to f64 where that is exact (comparisons, conversions).
#[derive(Clone, Copy)]
enum F {
    S(f32),
    D(f64),
}

fn of(ty: Type, bits: u64) -> F {
    match ty {
        Type::F32 => F::S(f32::from_bits(bits as u32)),
        _ => F::D(f64::from_bits(bits)),
    }
}

impl F {
    fn is_nan(self) -> bool {
        match self {
            F::S(x) => x.is_nan(),
            F::D(x) => x.is_nan(),
        }
    }
    fn to_bits(self) -> u64 {
        match self {
            F::S(x) => x.to_bits() as u64,
            F::D(x) => x.to_bits(),
        }
    }
    /// Exact for every f32.
    fn wide(self) -> f64 {
        match self {
            F::S(x) => x as f64,
            F::D(x) => x,
        }
    }
}

/// The NaN a NaN-producing operation returns: the first NaN operand quietened, else canonical.
fn nan_result(ty: Type, operands: &[u64]) -> u64 {
    for &bits in operands {
        if of(ty, bits).is_nan() {
            return match ty {
                Type::F32 => (bits as u32 | F32_QUIET) as u64,
                _ => bits | F64_QUIET,
            };
        }
    }
    match ty {
        Type::F32 => F32_CANONICAL_NAN as u64,
        _ => F64_CANONICAL_NAN,
    }
}

fn sign_mask(ty: Type) -> u64 {
    match ty {
        Type::F32 => 0x8000_0000,
        _ => 0x8000_0000_0000_0000,
    }
}

pub fn unary(op: FUnaryOp, ty: Type, a: u64) -> u64 {
    let sign = sign_mask(ty);
    match op {
        FUnaryOp::Abs => a & !sign,
        FUnaryOp::Neg => a ^ sign,
        _ => {
            let x = of(ty, a);
            if x.is_nan() {
                return nan_result(ty, &[a]);
            }
            let r = match x {
                F::S(x) => F::S(match op {
                    FUnaryOp::Sqrt => x.sqrt(),
                    FUnaryOp::Ceil => x.ceil(),
                    FUnaryOp::Floor => x.floor(),
                    FUnaryOp::Trunc => x.trunc(),
                    _ => x.round_ties_even(),
                }),
                F::D(x) => F::D(match op {
                    FUnaryOp::Sqrt => x.sqrt(),
                    FUnaryOp::Ceil => x.ceil(),
                    FUnaryOp::Floor => x.floor(),
                    FUnaryOp::Trunc => x.trunc(),
                    _ => x.round_ties_even(),
                }),
            };
            if r.is_nan() {
                nan_result(ty, &[])
            } else {
                r.to_bits()
            }
        }
    }
}

pub fn binary(op: FBinaryOp, ty: Type, a: u64, b: u64) -> u64 {
    if op == FBinaryOp::Copysign {
        let sign = sign_mask(ty);
        return (a & !sign) | (b & sign);
    }
    let (x, y) = (of(ty, a), of(ty, b));
    if x.is_nan() || y.is_nan() {
        return nan_result(ty, &[a, b]);
    }
    if matches!(op, FBinaryOp::Min | FBinaryOp::Max) {
        let (xw, yw) = (x.wide(), y.wide());
        if xw == yw {
            // Equal values differ at most in the sign of zero: min takes the negative one.
            let sign = sign_mask(ty);
            let sign_bit = if op == FBinaryOp::Min { a | b } else { a & b } & sign;
            return sign_bit | (a & !sign);
        }
        let a_wins = (xw < yw) == (op == FBinaryOp::Min);
        return if a_wins { a } else { b };
    }
    let r = match (x, y) {
        (F::S(x), F::S(y)) => F::S(match op {
            FBinaryOp::Add => x + y,
            FBinaryOp::Sub => x - y,
            FBinaryOp::Mul => x * y,
            _ => x / y,
        }),
        (x, y) => {
            let (x, y) = (x.wide(), y.wide());
            F::D(match op {
                FBinaryOp::Add => x + y,
                FBinaryOp::Sub => x - y,
                FBinaryOp::Mul => x * y,
                _ => x / y,
            })
        }
    };
    if r.is_nan() {
        nan_result(ty, &[])
    } else {
        r.to_bits()
    }
}

pub fn compare(cond: FCond, ty: Type, a: u64, b: u64) -> bool {
    let (x, y) = (of(ty, a).wide(), of(ty, b).wide());
    match cond {
        FCond::Eq => x == y,
        FCond::Ne => x != y,
        FCond::Lt => x < y,
        FCond::Gt => x > y,
        FCond::Le => x <= y,
        FCond::Ge => x >= y,
    }
}

/// Integer bounds of a truncation target, as exact f64 limits: the truncated value fits when
/// `lower < x < upper` (also what the float pass checks on the bit patterns).
pub fn trunc_limits(to: Type, signed: bool) -> (f64, f64) {
    match (to, signed) {
        (Type::I32, true) => (-2147483649.0, 2147483648.0),
        (Type::I32, false) => (-1.0, 4294967296.0),
        (_, true) => (-9223372036854777856.0, 9223372036854775808.0),
        (_, false) => (-1.0, 18446744073709551616.0),
    }
}

/// Truncate toward zero; saturating (NaN -> 0) or `None` when out of range or NaN.
fn trunc(from: Type, to: Type, signed: bool, bits: u64, saturate: bool) -> Option<u64> {
    let x = of(from, bits);
    let t = x.wide().trunc();
    let (lower, upper) = trunc_limits(to, signed);
    if x.is_nan() {
        return saturate.then_some(0);
    }
    let mask = if to == Type::I32 {
        0xffff_ffff
    } else {
        u64::MAX
    };
    if t <= lower || t >= upper {
        if !saturate {
            return None;
        }
        let v = match (to, signed, t < 0.0) {
            (Type::I32, true, true) => i32::MIN as u32 as u64,
            (Type::I32, true, false) => i32::MAX as u64,
            (_, true, true) => i64::MIN as u64,
            (_, true, false) => i64::MAX as u64,
            (_, false, true) => 0,
            (_, false, false) => mask,
        };
        return Some(v);
    }
    Some(if signed { t as i64 as u64 } else { t as u64 } & mask)
}

fn from_int(from: Type, signed: bool, to: Type, bits: u64) -> u64 {
    let v = match from {
        Type::I32 if signed => bits as u32 as i32 as i128,
        Type::I32 => bits as u32 as i128,
        _ if signed => bits as i64 as i128,
        _ => bits as i128,
    };
    // Rust's integer -> float casts round to nearest even, directly to the target width.
    match to {
        Type::F32 => (v as f32).to_bits() as u64,
        _ => (v as f64).to_bits(),
    }
}

fn promote(bits: u64) -> u64 {
    let x = f32::from_bits(bits as u32);
    if x.is_nan() {
        // Keep the payload (in the top bits of the wider mantissa) and quieten it.
        let sign = (bits & 0x8000_0000) << 32;
        let payload = (bits & 0x007f_ffff) << 29;
        return sign | 0x7ff0_0000_0000_0000 | payload | F64_QUIET;
    }
    (x as f64).to_bits()
}

fn demote(bits: u64) -> u64 {
    let x = f64::from_bits(bits);
    if x.is_nan() {
        let sign = ((bits >> 32) & 0x8000_0000) as u32;
        let payload = ((bits >> 29) & 0x007f_ffff) as u32;
        return (sign | 0x7f80_0000 | payload | F32_QUIET) as u64;
    }
    (x as f32).to_bits() as u64
}

/// A conversion from `from` to `to`; `Err` is the trap of a trapping truncation.
pub fn convert(conversion: Conversion, from: Type, to: Type, bits: u64) -> Result<u64, TrapCode> {
    match conversion {
        Conversion::TruncS | Conversion::TruncU => {
            let signed = conversion == Conversion::TruncS;
            if of(from, bits).is_nan() {
                return Err(TrapCode::InvalidConversion);
            }
            trunc(from, to, signed, bits, false).ok_or(TrapCode::IntegerOverflow)
        }
        Conversion::TruncSatS | Conversion::TruncSatU => {
            Ok(trunc(from, to, conversion == Conversion::TruncSatS, bits, true).unwrap_or(0))
        }
        Conversion::ConvertS | Conversion::ConvertU => {
            Ok(from_int(from, conversion == Conversion::ConvertS, to, bits))
        }
        Conversion::Promote => Ok(promote(bits)),
        Conversion::Demote => Ok(demote(bits)),
        Conversion::Reinterpret => Ok(match to {
            Type::I32 | Type::F32 => bits & 0xffff_ffff,
            _ => bits,
        }),
    }
}

/// What a runtime-library helper returns for `args` (bit patterns; i64 and f64 whole).
pub fn library(call: &LibCall, args: &[u64]) -> u64 {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    match call.op {
        SoftOp::Arith(ty, op) => binary(op, ty, arg(0), arg(1)),
        SoftOp::Compare(ty, cond) if call.answer == CompareAnswer::Bool => {
            compare(cond, ty, arg(0), arg(1)) as u64
        }
        SoftOp::Compare(ty, cond) => {
            let (x, y) = (of(ty, arg(0)).wide(), of(ty, arg(1)).wide());
            let r: i32 = if x < y {
                -1
            } else if x == y {
                0
            } else if x > y {
                1
            } else if matches!(cond, FCond::Gt | FCond::Ge) {
                -1
            } else {
                1
            };
            r as u32 as u64
        }
        SoftOp::FromInt { from, signed, to } => from_int(from, signed, to, arg(0)),
        SoftOp::ToInt { from, signed, to } => trunc(from, to, signed, arg(0), true).unwrap_or(0),
        SoftOp::Promote => promote(arg(0)),
        SoftOp::Demote => demote(arg(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_order_signed_zeros_and_propagate_nans() {
        let (pz, nz) = (0u64, 0x8000_0000u64);
        assert_eq!(binary(FBinaryOp::Min, Type::F32, pz, nz), nz);
        assert_eq!(binary(FBinaryOp::Min, Type::F32, nz, pz), nz);
        assert_eq!(binary(FBinaryOp::Max, Type::F32, nz, pz), pz);
        assert_eq!(binary(FBinaryOp::Max, Type::F32, pz, nz), pz);
        let snan = 0x7f80_0001u64;
        assert_eq!(
            binary(FBinaryOp::Max, Type::F32, 0x3f80_0000, snan),
            0x7fc0_0001
        );
    }

    #[test]
    fn truncations_trap_exactly_at_the_limits() {
        let conv = |c, from, to, x: f64| {
            let bits = if from == Type::F32 {
                (x as f32).to_bits() as u64
            } else {
                x.to_bits()
            };
            convert(c, from, to, bits)
        };
        use Conversion::*;
        assert_eq!(
            conv(TruncS, Type::F64, Type::I32, -2147483648.9),
            Ok(0x8000_0000)
        );
        assert_eq!(
            conv(TruncS, Type::F64, Type::I32, -2147483649.0),
            Err(TrapCode::IntegerOverflow)
        );
        assert_eq!(conv(TruncU, Type::F32, Type::I32, -0.9), Ok(0));
        assert_eq!(
            conv(TruncU, Type::F32, Type::I64, -1.0),
            Err(TrapCode::IntegerOverflow)
        );
        assert_eq!(
            conv(TruncS, Type::F32, Type::I32, f64::NAN),
            Err(TrapCode::InvalidConversion)
        );
        assert_eq!(
            conv(TruncSatS, Type::F32, Type::I64, 1e30),
            Ok(i64::MAX as u64)
        );
        assert_eq!(conv(TruncSatU, Type::F64, Type::I32, f64::NAN), Ok(0));
    }

    #[test]
    fn unsigned_i64_to_f32_rounds_once() {
        // 2^64 - 1 rounds up to 2^64; a double rounding through f64 would too, but this value
        // (2^63 + 2^39 + 1) only rounds correctly in one step.
        let v = (1u64 << 63) | (1 << 39) | 1;
        assert_eq!(
            from_int(Type::I64, false, Type::F32, v),
            ((1u64 << 63) as f32 + 2f32.powi(40)).to_bits() as u64
        );
    }
}

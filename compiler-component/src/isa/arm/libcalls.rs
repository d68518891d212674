//! The ARM run-time ABI's soft-float helpers (RTABI §4.1.2), which libgcc and compiler-rt
//! provide for every ARM core. They always use the base (core-register) calling convention,
//! and their comparisons answer 0 or 1.

use crate::ir::{CompareAnswer, FBinaryOp, FCond, LibCall, SoftOp, Type};

pub fn soft_float(op: SoftOp) -> LibCall {
    use Type::{F32, F64, I32, I64};
    // `ne` is the negation of `cmpeq`: there is no `cmpne` helper.
    let op = match op {
        SoftOp::Compare(ty, FCond::Ne) => SoftOp::Compare(ty, FCond::Eq),
        other => other,
    };
    let name = match op {
        SoftOp::Arith(ty, arith) => match (ty, arith) {
            (F32, FBinaryOp::Add) => "__aeabi_fadd",
            (F32, FBinaryOp::Sub) => "__aeabi_fsub",
            (F32, FBinaryOp::Mul) => "__aeabi_fmul",
            (F32, _) => "__aeabi_fdiv",
            (_, FBinaryOp::Add) => "__aeabi_dadd",
            (_, FBinaryOp::Sub) => "__aeabi_dsub",
            (_, FBinaryOp::Mul) => "__aeabi_dmul",
            _ => "__aeabi_ddiv",
        },
        SoftOp::Compare(ty, cond) => match (ty, cond) {
            (F32, FCond::Lt) => "__aeabi_fcmplt",
            (F32, FCond::Le) => "__aeabi_fcmple",
            (F32, FCond::Gt) => "__aeabi_fcmpgt",
            (F32, FCond::Ge) => "__aeabi_fcmpge",
            (F32, _) => "__aeabi_fcmpeq",
            (_, FCond::Lt) => "__aeabi_dcmplt",
            (_, FCond::Le) => "__aeabi_dcmple",
            (_, FCond::Gt) => "__aeabi_dcmpgt",
            (_, FCond::Ge) => "__aeabi_dcmpge",
            _ => "__aeabi_dcmpeq",
        },
        SoftOp::FromInt { from, signed, to } => match (from, signed, to) {
            (I32, true, F32) => "__aeabi_i2f",
            (I32, false, F32) => "__aeabi_ui2f",
            (I64, true, F32) => "__aeabi_l2f",
            (I64, false, F32) => "__aeabi_ul2f",
            (I32, true, _) => "__aeabi_i2d",
            (I32, false, _) => "__aeabi_ui2d",
            (_, true, _) => "__aeabi_l2d",
            _ => "__aeabi_ul2d",
        },
        SoftOp::ToInt { from, signed, to } => match (from, signed, to) {
            (F32, true, I32) => "__aeabi_f2iz",
            (F32, false, I32) => "__aeabi_f2uiz",
            (F32, true, _) => "__aeabi_f2lz",
            (F32, false, _) => "__aeabi_f2ulz",
            (F64, true, I32) => "__aeabi_d2iz",
            (F64, false, I32) => "__aeabi_d2uiz",
            (_, true, _) => "__aeabi_d2lz",
            _ => "__aeabi_d2ulz",
        },
        SoftOp::Promote => "__aeabi_f2d",
        SoftOp::Demote => "__aeabi_d2f",
    };
    LibCall {
        name,
        op,
        answer: CompareAnswer::Bool,
    }
}

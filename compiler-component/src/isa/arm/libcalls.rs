//! The ARM run-time ABI's soft-float helpers (RTABI §4.1.2), which libgcc and compiler-rt
//! provide for every ARM core. They always use the base (core-register) calling convention.

use crate::ir::{FBinaryOp, FCond, LibCall, LibOp, SoftOp, Type};

pub fn soft_float(op: SoftOp) -> LibCall {
    use Type::{F32, F64, I32, I64};
    let (name, lib) = match op {
        SoftOp::Arith(ty, arith) => {
            let name = match (ty, arith) {
                (F32, FBinaryOp::Add) => "__aeabi_fadd",
                (F32, FBinaryOp::Sub) => "__aeabi_fsub",
                (F32, FBinaryOp::Mul) => "__aeabi_fmul",
                (F32, _) => "__aeabi_fdiv",
                (_, FBinaryOp::Add) => "__aeabi_dadd",
                (_, FBinaryOp::Sub) => "__aeabi_dsub",
                (_, FBinaryOp::Mul) => "__aeabi_dmul",
                _ => "__aeabi_ddiv",
            };
            (name, LibOp::Arith { ty, op: arith })
        }
        SoftOp::Compare(ty, cond) => {
            // `ne` is the negation of `cmpeq`: there is no `cmpne` helper.
            let cond = if cond == FCond::Ne { FCond::Eq } else { cond };
            let name = match (ty, cond) {
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
            };
            (name, LibOp::CompareBool { ty, cond })
        }
        SoftOp::FromInt { from, signed, to } => {
            let name = match (from, signed, to) {
                (I32, true, F32) => "__aeabi_i2f",
                (I32, false, F32) => "__aeabi_ui2f",
                (I64, true, F32) => "__aeabi_l2f",
                (I64, false, F32) => "__aeabi_ul2f",
                (I32, true, _) => "__aeabi_i2d",
                (I32, false, _) => "__aeabi_ui2d",
                (_, true, _) => "__aeabi_l2d",
                _ => "__aeabi_ul2d",
            };
            (name, LibOp::FromInt { from, signed, to })
        }
        SoftOp::ToInt { from, signed, to } => {
            let name = match (from, signed, to) {
                (F32, true, I32) => "__aeabi_f2iz",
                (F32, false, I32) => "__aeabi_f2uiz",
                (F32, true, _) => "__aeabi_f2lz",
                (F32, false, _) => "__aeabi_f2ulz",
                (F64, true, I32) => "__aeabi_d2iz",
                (F64, false, I32) => "__aeabi_d2uiz",
                (_, true, _) => "__aeabi_d2lz",
                _ => "__aeabi_d2ulz",
            };
            (name, LibOp::ToInt { from, signed, to })
        }
        SoftOp::Promote => ("__aeabi_f2d", LibOp::Promote),
        SoftOp::Demote => ("__aeabi_d2f", LibOp::Demote),
    };
    LibCall { name, op: lib }
}

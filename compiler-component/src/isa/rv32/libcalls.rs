//! libgcc's soft-float helpers under their generic names, which the RISC-V toolchains'
//! libgcc and compiler-rt provide. Comparisons return an ordering int (`__ltsf2(a, b) < 0`
//! means a < b) rather than a boolean.

use crate::ir::{CompareAnswer, FBinaryOp, FCond, LibCall, SoftOp, Type};

pub fn soft_float(op: SoftOp) -> LibCall {
    use Type::{F32, F64, I32, I64};
    let name = match op {
        SoftOp::Arith(ty, arith) => match (ty, arith) {
            (F32, FBinaryOp::Add) => "__addsf3",
            (F32, FBinaryOp::Sub) => "__subsf3",
            (F32, FBinaryOp::Mul) => "__mulsf3",
            (F32, _) => "__divsf3",
            (_, FBinaryOp::Add) => "__adddf3",
            (_, FBinaryOp::Sub) => "__subdf3",
            (_, FBinaryOp::Mul) => "__muldf3",
            _ => "__divdf3",
        },
        SoftOp::Compare(ty, cond) => match (ty, cond) {
            (F32, FCond::Eq) => "__eqsf2",
            (F32, FCond::Ne) => "__nesf2",
            (F32, FCond::Lt) => "__ltsf2",
            (F32, FCond::Le) => "__lesf2",
            (F32, FCond::Gt) => "__gtsf2",
            (F32, FCond::Ge) => "__gesf2",
            (_, FCond::Eq) => "__eqdf2",
            (_, FCond::Ne) => "__nedf2",
            (_, FCond::Lt) => "__ltdf2",
            (_, FCond::Le) => "__ledf2",
            (_, FCond::Gt) => "__gtdf2",
            (_, FCond::Ge) => "__gedf2",
        },
        SoftOp::FromInt { from, signed, to } => match (from, signed, to) {
            (I32, true, F32) => "__floatsisf",
            (I32, false, F32) => "__floatunsisf",
            (I64, true, F32) => "__floatdisf",
            (I64, false, F32) => "__floatundisf",
            (I32, true, _) => "__floatsidf",
            (I32, false, _) => "__floatunsidf",
            (_, true, _) => "__floatdidf",
            _ => "__floatundidf",
        },
        SoftOp::ToInt { from, signed, to } => match (from, signed, to) {
            (F32, true, I32) => "__fixsfsi",
            (F32, false, I32) => "__fixunssfsi",
            (F32, true, _) => "__fixsfdi",
            (F32, false, _) => "__fixunssfdi",
            (F64, true, I32) => "__fixdfsi",
            (F64, false, I32) => "__fixunsdfsi",
            (_, true, _) => "__fixdfdi",
            _ => "__fixunsdfdi",
        },
        SoftOp::Promote => "__extendsfdf2",
        SoftOp::Demote => "__truncdfsf2",
    };
    LibCall {
        name,
        op,
        answer: CompareAnswer::Order,
    }
}

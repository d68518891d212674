//! Single-precision (F extension) lowering for rv32imafc: hardware f32 values are vregs of
//! class 1; f64 never gets here (the float pass computes it in software).
//!
//! Rounding modes are static (`rne` for arithmetic and int-to-float, `rtz` for truncation), so
//! nothing depends on `fcsr.frm`, and nothing reads `fflags`.

use super::{Ctx, Reg};
use crate::error::Result;
use crate::ir::{self, Conversion, FBinaryOp, FCond, FUnaryOp, Op, Type, Value};
use crate::isa::rv32::inst::{AluImmOp, FBinOp, FCmpOp, MInst};
use crate::regalloc::VReg;

/// Register class of F registers in the rv32imafc `RegEnv`.
pub(super) const FLOAT_CLASS: u8 = 1;

impl Ctx<'_> {
    pub(super) fn value_type(&self, v: Value) -> Type {
        self.func
            .value_types
            .get(v.0 as usize)
            .copied()
            .unwrap_or(Type::I32)
    }

    /// A fresh vreg of the class values of `ty` live in.
    pub(super) fn temp_like(&mut self, ty: Type) -> Reg {
        let v = self.new_vreg();
        if ty == Type::F32 {
            self.code.set_class(v, FLOAT_CLASS);
        }
        Reg::V(v)
    }

    /// Put every f32 value in the F class; refuse types this back end does not hold.
    pub(super) fn assign_float_classes(&mut self) -> Result<()> {
        for (i, &ty) in self.func.value_types.iter().enumerate() {
            match ty {
                Type::F32 if self.hard_f32 => self.code.set_class(VReg(i as u32), FLOAT_CLASS),
                Type::F32 | Type::F64 | Type::I64 => {
                    return Err(self.err(format!(
                        "v{i} of type {ty:?} reached the rv32 back end (not computed in hardware)"
                    )));
                }
                Type::I32 => {}
            }
        }
        Ok(())
    }

    /// An f32 constant: its bits through an integer register (x0 for +0.0).
    pub(super) fn float_const(&mut self, rd: Reg, bits: i64) {
        let rs = self.in_reg_imm(bits as i32);
        self.emit(MInst::FMvFromInt { rd, rs });
    }

    fn f32_operand(&self, v: Value) -> Result<Reg> {
        match self.value_type(v) {
            Type::F32 => Ok(Reg::V(self.vreg(v)?)),
            ty => Err(self.err(format!("{v} is {ty:?} where the F unit needs an f32"))),
        }
    }

    /// FUnary, FBinary, FCompare and Convert on hardware f32.
    pub(super) fn float_inst(&mut self, inst: &ir::Inst) -> Result<()> {
        let arg = |i: usize| {
            inst.args
                .get(i)
                .copied()
                .ok_or_else(|| self.err(format!("{:?} lacks operand {i}", inst.op)))
        };
        let (rd, result_ty) = match inst.results.first() {
            Some(r) => (Reg::V(self.vreg(*r)?), self.value_type(*r)),
            None => return Err(self.err(format!("{:?} lacks its result", inst.op))),
        };
        match &inst.op {
            Op::FUnary(op) => {
                let a = self.f32_operand(arg(0)?)?;
                let sign_op = match op {
                    FUnaryOp::Abs => FBinOp::Sgnjx,
                    FUnaryOp::Neg => FBinOp::Sgnjn,
                    FUnaryOp::Sqrt => {
                        self.emit(MInst::FSqrt { rd, rs: a });
                        return Ok(());
                    }
                    other => {
                        return Err(self.err(format!(
                            "{other:?} reached the rv32 back end (F has no rounding to integral)"
                        )));
                    }
                };
                self.emit(MInst::FBin {
                    op: sign_op,
                    rd,
                    rs1: a,
                    rs2: a,
                });
            }
            Op::FBinary(op) => {
                let (a, b) = (self.f32_operand(arg(0)?)?, self.f32_operand(arg(1)?)?);
                let op = match op {
                    FBinaryOp::Add => FBinOp::Add,
                    FBinaryOp::Sub => FBinOp::Sub,
                    FBinaryOp::Mul => FBinOp::Mul,
                    FBinaryOp::Div => FBinOp::Div,
                    FBinaryOp::Copysign => FBinOp::Sgnj,
                    FBinaryOp::Min | FBinaryOp::Max => {
                        let max = *op == FBinaryOp::Max;
                        self.emit(MInst::FMinMax {
                            max,
                            rd,
                            rs1: a,
                            rs2: b,
                        });
                        return Ok(());
                    }
                };
                self.emit(MInst::FBin {
                    op,
                    rd,
                    rs1: a,
                    rs2: b,
                });
            }
            Op::FCompare(cond) => {
                let (a, b) = (self.f32_operand(arg(0)?)?, self.f32_operand(arg(1)?)?);
                // feq is quiet; flt/fle signal on quiet NaNs, which only sets fflags.
                let (op, rs1, rs2) = match cond {
                    FCond::Eq | FCond::Ne => (FCmpOp::Eq, a, b),
                    FCond::Lt => (FCmpOp::Lt, a, b),
                    FCond::Gt => (FCmpOp::Lt, b, a),
                    FCond::Le => (FCmpOp::Le, a, b),
                    FCond::Ge => (FCmpOp::Le, b, a),
                };
                if *cond == FCond::Ne {
                    let eq = self.temp();
                    self.emit(MInst::FCmp {
                        op,
                        rd: eq,
                        rs1,
                        rs2,
                    });
                    self.alu_imm(AluImmOp::Xori, rd, eq, 1);
                } else {
                    self.emit(MInst::FCmp { op, rd, rs1, rs2 });
                }
            }
            Op::Convert(conversion) => {
                let from = self.value_type(arg(0)?);
                match (conversion, from, result_ty) {
                    (Conversion::Reinterpret, Type::F32, Type::I32) => {
                        let rs = self.f32_operand(arg(0)?)?;
                        self.emit(MInst::FMvToInt { rd, rs });
                    }
                    (Conversion::Reinterpret, Type::I32, Type::F32) => {
                        let rs = self.src(arg(0)?)?;
                        self.emit(MInst::FMvFromInt { rd, rs });
                    }
                    (Conversion::ConvertS | Conversion::ConvertU, Type::I32, Type::F32) => {
                        let rs = self.src(arg(0)?)?;
                        let signed = *conversion == Conversion::ConvertS;
                        self.emit(MInst::FCvtFromInt { signed, rd, rs });
                    }
                    (Conversion::TruncSatS | Conversion::TruncSatU, Type::F32, Type::I32) => {
                        let rs = self.f32_operand(arg(0)?)?;
                        let signed = *conversion == Conversion::TruncSatS;
                        self.emit(MInst::FTruncSat { signed, rd, rs });
                    }
                    (c, from, to) => {
                        return Err(self.err(format!(
                            "{c:?} from {from:?} to {to:?} reached the rv32 back end"
                        )));
                    }
                }
            }
            other => return Err(self.err(format!("{other:?} is no float operation"))),
        }
        Ok(())
    }
}

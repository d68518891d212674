//! Float operations on the VFP (cortex-m4f: f32; cortex-m7dp: f32 and f64). Float values are
//! class-1 vregs; memory and globals are reached through core registers, because `vldr`/`vstr`
//! fault on the unaligned addresses wasm allows.

use super::super::asm::{VBinOp, VUnOp};
use super::super::inst::{Access, MInst, Src};
use super::super::regs::VfpFile;
use super::Lowerer;
use crate::error::Result;
use crate::ir::{self, Conversion, FBinaryOp, FUnaryOp, Op, Type, Value};
use crate::regalloc::VReg;

impl<'a> Lowerer<'a> {
    pub(super) fn value_type(&self, v: Value) -> Type {
        self.func
            .value_types
            .get(v.0 as usize)
            .copied()
            .unwrap_or(Type::I32)
    }

    /// Is `v` a float in VFP registers?
    pub(super) fn is_vfp_value(&self, v: Value) -> bool {
        self.vfp != VfpFile::None && self.value_type(v).is_float()
    }

    /// Is `v` an f64 in a D register (FPv5-D16)?
    pub(super) fn is_d_value(&self, v: Value) -> bool {
        self.vfp == VfpFile::Double && self.value_type(v) == Type::F64
    }

    /// A new float vreg.
    pub(super) fn ftemp(&mut self) -> VReg {
        let v = self.temp();
        self.code.set_class(v, 1);
        v
    }

    pub(super) fn double(&self, v: Value) -> bool {
        self.value_type(v) == Type::F64
    }

    /// A float constant (its bits).
    pub(super) fn lower_fconst(&mut self, rd: VReg, bits: u64, double: bool) {
        self.push(MInst::FConst { rd, bits, double });
    }

    /// A float load: the word(s) into core registers, then into the VFP register.
    pub(super) fn lower_fload(
        &mut self,
        rd: VReg,
        double: bool,
        base: VReg,
        index: Src,
        offset: u32,
    ) -> Result<()> {
        let word = Access {
            width: 4,
            signed: false,
        };
        let lo = self.temp();
        self.push(MInst::Load {
            access: word,
            rd: lo,
            base,
            index,
            shift: 0,
            offset,
        });
        if !double {
            self.push(MInst::FFromCore { rd, rm: lo });
            return Ok(());
        }
        let hi = self.temp();
        let high = offset
            .checked_add(4)
            .ok_or_else(|| self.err("memory offset beyond 32 bits"))?;
        self.push(MInst::Load {
            access: word,
            rd: hi,
            base,
            index,
            shift: 0,
            offset: high,
        });
        self.push(MInst::FFromCore2 { rd, lo, hi });
        Ok(())
    }

    /// A float store: the VFP register's word(s) through core registers.
    pub(super) fn lower_fstore(
        &mut self,
        value: VReg,
        double: bool,
        base: VReg,
        index: Src,
        offset: u32,
    ) -> Result<()> {
        let word = Access {
            width: 4,
            signed: false,
        };
        let words = if double { 2 } else { 1 };
        for k in 0..words {
            let w = self.temp();
            self.push(MInst::FToCore {
                rd: w,
                rm: value,
                high: k == 1,
            });
            let offset = offset
                .checked_add(4 * k)
                .ok_or_else(|| self.err("memory offset beyond 32 bits"))?;
            self.push(MInst::Store {
                access: word,
                value: w,
                base,
                index,
                shift: 0,
                offset,
            });
        }
        Ok(())
    }

    /// The core words of a float vreg (one for an f32, low and high for an f64).
    pub(super) fn float_words(&mut self, value: VReg, double: bool) -> Vec<VReg> {
        let words = if double { 2 } else { 1 };
        (0..words)
            .map(|k| {
                let w = self.temp();
                self.push(MInst::FToCore {
                    rd: w,
                    rm: value,
                    high: k == 1,
                });
                w
            })
            .collect()
    }

    /// A float read from core words (one for an f32, low and high for an f64).
    pub(super) fn float_from_words(&mut self, rd: VReg, words: &[VReg]) -> Result<()> {
        match *words {
            [w] => self.push(MInst::FFromCore { rd, rm: w }),
            [lo, hi] => self.push(MInst::FFromCore2 { rd, lo, hi }),
            _ => return Err(self.err("a float is one or two words")),
        }
        Ok(())
    }

    pub(super) fn lower_float(&mut self, inst: &'a ir::Inst) -> Result<()> {
        match &inst.op {
            Op::FBinary(op) => {
                let [a, b] = self.args(inst)?;
                let rd = self.result(inst)?;
                let double = self.double(a);
                let (rn, rm) = (self.reg(a)?, self.reg(b)?);
                let bin = |op| MInst::FBin {
                    op,
                    double,
                    rd,
                    rn,
                    rm,
                };
                let minst = match op {
                    FBinaryOp::Add => bin(VBinOp::Add),
                    FBinaryOp::Sub => bin(VBinOp::Sub),
                    FBinaryOp::Mul => bin(VBinOp::Mul),
                    FBinaryOp::Div => bin(VBinOp::Div),
                    FBinaryOp::Copysign => MInst::FCopysign { double, rd, rn, rm },
                    FBinaryOp::Min | FBinaryOp::Max => {
                        let tmp = (self.vfp == VfpFile::Single).then(|| self.temp());
                        MInst::FMinMax {
                            max: *op == FBinaryOp::Max,
                            double,
                            rd,
                            rn,
                            rm,
                            tmp,
                        }
                    }
                };
                self.push(minst);
            }
            Op::FUnary(op) => {
                let [a] = self.args(inst)?;
                let rd = self.result(inst)?;
                let double = self.double(a);
                let rm = self.reg(a)?;
                let op = match op {
                    FUnaryOp::Abs => VUnOp::Abs,
                    FUnaryOp::Neg => VUnOp::Neg,
                    FUnaryOp::Sqrt => VUnOp::Sqrt,
                    FUnaryOp::Ceil => VUnOp::RintP,
                    FUnaryOp::Floor => VUnOp::RintM,
                    FUnaryOp::Trunc => VUnOp::RintZ,
                    FUnaryOp::Nearest => VUnOp::RintN,
                };
                if matches!(
                    op,
                    VUnOp::RintP | VUnOp::RintM | VUnOp::RintZ | VUnOp::RintN
                ) && self.vfp != VfpFile::Double
                {
                    return Err(self.err(format!("{op:?} needs FPv5 (the float pass rounds)")));
                }
                self.push(MInst::FUn { op, double, rd, rm });
            }
            Op::FCompare(cond) => {
                let [a, b] = self.args(inst)?;
                // A compare only a branch consumes is emitted by that branch (`FBranch`).
                if let [r] = inst.results.as_slice()
                    && self.fused[r.0 as usize]
                {
                    return Ok(());
                }
                let rd = self.result(inst)?;
                let double = self.double(a);
                let (rn, rm) = (self.reg(a)?, self.reg(b)?);
                self.push(MInst::FCmp {
                    cond: *cond,
                    double,
                    rd,
                    rn,
                    rm,
                });
            }
            Op::Convert(conversion) => self.lower_conversion(inst, *conversion)?,
            _ => return Err(self.err(format!("{:?} is no float operation", inst.op))),
        }
        Ok(())
    }

    fn lower_conversion(&mut self, inst: &'a ir::Inst, conversion: Conversion) -> Result<()> {
        let from = inst
            .args
            .first()
            .map(|a| self.value_type(*a))
            .unwrap_or(Type::I32);
        let to = inst
            .results
            .first()
            .map(|r| self.value_type(*r))
            .unwrap_or(Type::I32);
        match conversion {
            Conversion::Reinterpret => match (inst.args.as_slice(), inst.results.as_slice()) {
                ([a], [r]) if to.is_float() => {
                    let (rd, rm) = (self.def(*r)?, self.reg(*a)?);
                    self.push(MInst::FFromCore { rd, rm });
                }
                ([lo, hi], [r]) => {
                    let (rd, lo, hi) = (self.def(*r)?, self.reg(*lo)?, self.reg(*hi)?);
                    self.push(MInst::FFromCore2 { rd, lo, hi });
                }
                ([a], results) => {
                    let rm = self.reg(*a)?;
                    for (k, r) in results.iter().enumerate() {
                        let rd = self.def(*r)?;
                        self.push(MInst::FToCore {
                            rd,
                            rm,
                            high: k == 1,
                        });
                    }
                }
                _ => return Err(self.err("malformed reinterpretation")),
            },
            Conversion::TruncSatS | Conversion::TruncSatU if to == Type::I32 => {
                let [a] = self.args(inst)?;
                let rd = self.result(inst)?;
                let rm = self.reg(a)?;
                let tmp = self.ftemp();
                self.push(MInst::FToInt {
                    signed: conversion == Conversion::TruncSatS,
                    double: from == Type::F64,
                    rd,
                    rm,
                    tmp,
                });
            }
            Conversion::ConvertS | Conversion::ConvertU if from == Type::I32 => {
                let [a] = self.args(inst)?;
                let rd = self.result(inst)?;
                let rm = self.reg(a)?;
                self.push(MInst::FFromInt {
                    signed: conversion == Conversion::ConvertS,
                    double: to == Type::F64,
                    rd,
                    rm,
                });
            }
            Conversion::Promote | Conversion::Demote => {
                let [a] = self.args(inst)?;
                let rd = self.result(inst)?;
                let rm = self.reg(a)?;
                self.push(MInst::FCvt {
                    to_double: conversion == Conversion::Promote,
                    rd,
                    rm,
                });
            }
            _ => {
                return Err(self.err(format!(
                    "{conversion:?} from {from:?} to {to:?} reached lowering (the float pass \
                     computes it)"
                )));
            }
        }
        Ok(())
    }
}

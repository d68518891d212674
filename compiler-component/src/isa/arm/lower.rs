//! Legalized IR -> `MInst`s over virtual registers (IR value n is vreg n).
//!
//! Choices made here: constants become immediates where the consuming instruction encodes
//! them (and are not materialized when no register use remains); a compare (or `eqz`) whose
//! only use is a branch, select or trap check in the same block is fused into it, so the flags
//! never have to survive an allocator edit.

use super::abi::{ArgLoc, CallLayout, ResultLocs, call_layout};
use super::encode::modimm;
use super::inst::{Access, MInst, Src, StackRef, Test};
use super::regs::{VfpFile, is_vfp};
use crate::error::{CompileError, Result};
use crate::ir::{self, BinaryOp, Cond, FCond, Function, Module, Op, Terminator, UnaryOp, Value};
use crate::isa::vcode::{VCode, VCodeBuilder};
use crate::regalloc::VReg;

#[path = "lower_float.rs"]
mod float;
#[path = "lower_folds.rs"]
mod folds;

use folds::{
    Saturation, find_fusable, find_mul_acc, find_mul_adds, find_not_folds, find_saturations,
    find_shift_folds, find_trap_both, shift_consumer,
};

/// A lowered function: the shared machine code plus the frame facts the emitter needs.
pub struct Lowered {
    pub code: VCode<MInst>,
    pub has_calls: bool,
    /// Bytes at the bottom of the frame for outgoing stack arguments and call result areas.
    pub local_area: u32,
    /// Bytes of this function's own stack arguments (above the saved registers).
    pub incoming_stack_bytes: u32,
}

/// Can `cmp rn, #imm` (or `cmn rn, #-imm`) encode this?
pub fn cmp_imm_ok(imm: u32) -> bool {
    modimm(imm).is_some() || (imm != 0 && modimm(imm.wrapping_neg()).is_some())
}

/// Can an add of `imm` be one instruction (add/sub with a modified immediate or imm12)?
pub fn add_imm_ok(imm: u32) -> bool {
    let neg = imm.wrapping_neg();
    imm < 4096 || neg < 4096 || modimm(imm).is_some() || modimm(neg).is_some()
}

/// Does the ALU operation encode this immediate as its second operand in one instruction?
pub fn alu_imm_ok(op: BinaryOp, imm: u32) -> bool {
    match op {
        BinaryOp::Add => add_imm_ok(imm),
        BinaryOp::Sub => add_imm_ok(imm.wrapping_neg()),
        BinaryOp::And | BinaryOp::Or => modimm(imm).is_some() || modimm(!imm).is_some(),
        BinaryOp::Xor => modimm(imm).is_some(),
        BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU | BinaryOp::Rotl | BinaryOp::Rotr => true,
        _ => false,
    }
}

fn is_commutative(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add | BinaryOp::Mul | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor
    )
}

fn align8(n: u32) -> u32 {
    n.div_ceil(8) * 8
}

struct Lowerer<'a> {
    module: &'a Module,
    func: &'a Function,
    vfp: VfpFile,
    /// Constant value of each IR value defined by `Const`.
    consts: Vec<Option<u32>>,
    /// Compare/eqz values fused into their single consumer.
    fused: Vec<bool>,
    /// Shifts by a constant folded into their single consumer's shifted-register operand.
    folded_shift: Vec<bool>,
    /// `y ^ -1` folded into the and/or that uses it (`bic`, `orn`; `find_not_folds`).
    folded_not: Vec<bool>,
    /// `and`s of two compares whose only use is a trap check (`find_trap_both`).
    trap_both: Vec<bool>,
    /// Widening products (by low word: signed, multiplicands) folded into their add.
    mul_acc: Vec<Option<(bool, Value, Value)>>,
    /// Multiplies folded into the add or subtract that uses them (`find_mul_adds`).
    mul_add: Vec<bool>,
    /// Selects that clamp to a saturating range (`find_saturations`), by the outer select;
    /// the inner select of each is skipped.
    saturation: Vec<Option<Saturation>>,
    saturation_inner: Vec<bool>,
    /// Defining op and args of each value defined by an instruction.
    defs: Vec<Option<(&'a Op, &'a [Value])>>,
    next_vreg: u32,
    code: VCodeBuilder<MInst>,
    block_of: Vec<Option<usize>>,
    result_area: u32,
    offset: u32,
}

impl<'a> Lowerer<'a> {
    fn err(&self, msg: impl Into<String>) -> CompileError {
        CompileError::internal(msg).at(self.offset as u64)
    }

    fn check(&self, v: Value) -> Result<()> {
        if (v.0 as usize) < self.func.value_types.len() {
            Ok(())
        } else {
            Err(self.err(format!("value {v} out of range")))
        }
    }

    fn reg(&mut self, v: Value) -> Result<VReg> {
        self.check(v)?;
        Ok(VReg(v.0))
    }

    fn def(&self, v: Value) -> Result<VReg> {
        self.check(v)?;
        Ok(VReg(v.0))
    }

    fn temp(&mut self) -> VReg {
        let v = VReg(self.next_vreg);
        self.next_vreg += 1;
        v
    }

    fn konst(&self, v: Value) -> Option<u32> {
        self.consts.get(v.0 as usize).copied().flatten()
    }

    fn push(&mut self, inst: MInst) {
        self.code.push(inst, Some(self.offset));
    }

    fn block(&self, b: ir::Block) -> Result<usize> {
        self.block_of
            .get(b.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(format!("branch to unknown block {b}")))
    }

    fn make_test(&mut self, cond: Cond, a: Value, b: Value) -> Result<Test> {
        let (cond, a, b) = if self.konst(a).is_some() && self.konst(b).is_none() {
            (cond.swapped(), b, a)
        } else {
            (cond, a, b)
        };
        let lhs = self.reg(a)?;
        let rhs = match self.konst(b) {
            Some(c) if cmp_imm_ok(c) => Src::Imm(c),
            _ => Src::Reg(self.reg(b)?),
        };
        Ok(Test { cond, lhs, rhs })
    }

    /// `(other, shift)` when `inst` (an `op`) takes a folded shift as its second operand (or,
    /// commutative, its first): the operands in the order `rn, shifted rm`.
    fn shifted_operand(&self, op: BinaryOp, inst: &ir::Inst) -> Option<(Value, Value)> {
        let [a, b] = <[Value; 2]>::try_from(inst.args.as_slice()).ok()?;
        let folded = |v: Value| {
            self.folded_shift
                .get(v.0 as usize)
                .copied()
                .unwrap_or(false)
        };
        if !shift_consumer(op) {
            return None;
        }
        if folded(b) {
            Some((a, b))
        } else if is_commutative(op) && folded(a) {
            Some((b, a))
        } else {
            None
        }
    }

    /// `(x, not)` when `inst` is an and/or of `x` and a folded `y ^ -1` (`find_not_folds`).
    fn inverted_operand(&self, inst: &ir::Inst) -> Option<(Value, Value)> {
        let [a, b] = <[Value; 2]>::try_from(inst.args.as_slice()).ok()?;
        let folded = |v: Value| self.folded_not.get(v.0 as usize).copied().unwrap_or(false);
        if folded(b) {
            Some((a, b))
        } else if folded(a) {
            Some((b, a))
        } else {
            None
        }
    }

    /// The shifted register and amount of an access address that is a shift folded into the
    /// access (`find_shift_folds`).
    fn scaled_index(&mut self, addr: Value) -> Result<Option<(Src, u8)>> {
        if !self
            .folded_shift
            .get(addr.0 as usize)
            .copied()
            .unwrap_or(false)
        {
            return Ok(None);
        }
        let Some((Op::Binary(BinaryOp::Shl), [x, n])) = self.defs[addr.0 as usize] else {
            return Err(self.err("folded index shift lost its definition"));
        };
        let amount = self
            .konst(*n)
            .ok_or_else(|| self.err("folded index shift lost its amount"))?;
        Ok(Some((Src::Reg(self.reg(*x)?), (amount & 31) as u8)))
    }

    /// `(accumulator, product)` when the add or subtract `inst` (an `op`) takes a folded
    /// multiply (`find_mul_adds`).
    fn mul_add_operands(&self, op: BinaryOp, inst: &ir::Inst) -> Option<(Value, Value)> {
        let [a, b] = <[Value; 2]>::try_from(inst.args.as_slice()).ok()?;
        let folded = |v: Value| self.mul_add.get(v.0 as usize).copied().unwrap_or(false);
        match op {
            BinaryOp::Add | BinaryOp::Sub if folded(b) => Some((a, b)),
            BinaryOp::Add if folded(a) => Some((b, a)),
            _ => None,
        }
    }

    /// `(accumulator, product low word)` when the `AddPair` adds a folded widening product.
    fn mul_acc_operands(&self, inst: &ir::Inst) -> Option<([Value; 2], Value)> {
        let [a0, a1, b0, b1] = <[Value; 4]>::try_from(inst.args.as_slice()).ok()?;
        let folded = |v: Value| self.mul_acc.get(v.0 as usize).is_some_and(|m| m.is_some());
        if folded(b0) {
            Some(([a0, a1], b0))
        } else if folded(a0) {
            Some(([b0, b1], a0))
        } else {
            None
        }
    }

    /// The test "v is true", through a fused compare when there is one.
    /// The float compare a branch consumes directly (only branches fuse float compares).
    fn fused_float_compare(&self, v: Value) -> Option<(FCond, Value, Value)> {
        match self.defs.get(v.0 as usize)? {
            Some((Op::FCompare(cond), [a, b])) if self.fused[v.0 as usize] => Some((*cond, *a, *b)),
            _ => None,
        }
    }

    fn test_of(&mut self, v: Value) -> Result<Test> {
        self.check(v)?;
        if self.fused[v.0 as usize] {
            match self.defs[v.0 as usize] {
                Some((Op::Compare(cond), [a, b])) => return self.make_test(*cond, *a, *b),
                Some((Op::Unary(UnaryOp::Eqz), [a])) => {
                    return Ok(Test {
                        cond: Cond::Eq,
                        lhs: self.reg(*a)?,
                        rhs: Src::Imm(0),
                    });
                }
                _ => return Err(self.err("fused condition lost its compare")),
            }
        }
        Ok(Test {
            cond: Cond::Ne,
            lhs: self.reg(v)?,
            rhs: Src::Imm(0),
        })
    }

    fn src(&mut self, v: Value, imm_ok: impl Fn(u32) -> bool) -> Result<Src> {
        match self.konst(v) {
            Some(c) if imm_ok(c) => Ok(Src::Imm(c)),
            _ => Ok(Src::Reg(self.reg(v)?)),
        }
    }

    fn args<const N: usize>(&self, inst: &'a ir::Inst) -> Result<[Value; N]> {
        <[Value; N]>::try_from(inst.args.as_slice())
            .map_err(|_| self.err(format!("{:?} expects {N} arguments", inst.op)))
    }

    fn result(&self, inst: &ir::Inst) -> Result<VReg> {
        match inst.results.as_slice() {
            [r] => self.def(*r),
            _ => Err(self.err(format!("{:?} expects one result", inst.op))),
        }
    }

    fn access_index(&mut self, addr: Value, offset: u64) -> Result<(Src, u32)> {
        let offset = u32::try_from(offset).map_err(|_| self.err("memory offset beyond 32 bits"))?;
        match self.konst(addr) {
            Some(c) if c as u64 + offset as u64 <= 4095 => Ok((Src::Imm(c), offset)),
            // A constant address beyond the immediate's reach (C globals sit above wasm-ld's
            // 64 KiB stack): one constant register, `ldr rd, [base, rk]`, instead of
            // materializing the address and the offset separately.
            Some(c) if c as u64 + offset as u64 <= u32::MAX as u64 => {
                let rk = self.temp();
                self.push(MInst::Const {
                    rd: rk,
                    value: c + offset,
                });
                Ok((Src::Reg(rk), 0))
            }
            _ => Ok((Src::Reg(self.reg(addr)?), offset)),
        }
    }

    fn lower_inst(&mut self, inst: &'a ir::Inst) -> Result<()> {
        self.offset = inst.offset;
        match &inst.op {
            Op::FUnary(_) | Op::FBinary(_) | Op::FCompare(_) | Op::Convert(_)
                if self.vfp != VfpFile::None =>
            {
                self.lower_float(inst)?
            }
            Op::FUnary(_) | Op::FBinary(_) | Op::FCompare(_) | Op::Convert(_) => {
                return Err(CompileError::internal(format!(
                    "{:?} reached lowering (the float pass computes it in software)",
                    inst.op
                )));
            }
            Op::Const(k) if inst.results.len() == 1 && self.is_vfp_value(inst.results[0]) => {
                let rd = self.result(inst)?;
                let double = self.value_type(inst.results[0]) == ir::Type::F64;
                self.lower_fconst(rd, *k as u64, double);
            }
            Op::Const(k) => {
                let rd = self.result(inst)?;
                self.push(MInst::Const {
                    rd,
                    value: *k as u32,
                });
            }
            Op::Copy => {
                let [a] = self.args(inst)?;
                let rd = self.result(inst)?;
                let rm = self.reg(a)?;
                self.push(MInst::Move { rd, rm });
            }
            Op::Unary(op) => {
                let [a] = self.args(inst)?;
                let rd = self.result(inst)?;
                match op {
                    UnaryOp::Eqz if self.fused[rd.0 as usize] => {}
                    UnaryOp::Clz
                    | UnaryOp::Ctz
                    | UnaryOp::Eqz
                    | UnaryOp::Extend8S
                    | UnaryOp::Extend16S => {
                        let rm = self.reg(a)?;
                        self.push(MInst::Unary { op: *op, rd, rm });
                    }
                    _ => return Err(self.err(format!("{op:?} was not legalized"))),
                }
            }
            Op::Binary(_) if self.folded_shift[self.result(inst)?.0 as usize] => {}
            Op::Binary(_) if self.folded_not[self.result(inst)?.0 as usize] => {}
            Op::Binary(_) if self.trap_both[self.result(inst)?.0 as usize] => {}
            Op::Binary(_) if self.mul_add[self.result(inst)?.0 as usize] => {}
            Op::Binary(op) if let Some((ra, product)) = self.mul_add_operands(*op, inst) => {
                let rd = self.result(inst)?;
                let Some((Op::Binary(BinaryOp::Mul), [x, y])) = self.defs[product.0 as usize]
                else {
                    return Err(self.err("folded multiply lost its definition"));
                };
                let (rn, rm, ra) = (self.reg(*x)?, self.reg(*y)?, self.reg(ra)?);
                self.push(MInst::MulAdd {
                    sub: *op == BinaryOp::Sub,
                    rd,
                    rn,
                    rm,
                    ra,
                });
            }
            Op::Binary(op) if let Some((a, not)) = self.inverted_operand(inst) => {
                let rd = self.result(inst)?;
                let Some((Op::Binary(BinaryOp::Xor), [x, y])) = self.defs[not.0 as usize] else {
                    return Err(self.err("folded inversion lost its definition"));
                };
                let inverted = if self.konst(*y).is_some() { *x } else { *y };
                let (rn, rm) = (self.reg(a)?, self.reg(inverted)?);
                self.push(MInst::AluNot {
                    or: *op == BinaryOp::Or,
                    rd,
                    rn,
                    rm,
                });
            }
            Op::Binary(op) if let Some((a, b)) = self.shifted_operand(*op, inst) => {
                let rd = self.result(inst)?;
                let Some((Op::Binary(shift), [x, n])) = self.defs[b.0 as usize] else {
                    return Err(self.err("folded shift lost its definition"));
                };
                let amount = self
                    .konst(*n)
                    .ok_or_else(|| self.err("folded shift lost its amount"))?;
                let rn = self.reg(a)?;
                let rm = self.reg(*x)?;
                self.push(MInst::AluShifted {
                    op: *op,
                    rd,
                    rn,
                    rm,
                    shift: *shift,
                    amount: (amount & 31) as u8,
                });
            }
            Op::Binary(op) => {
                let [a, b] = self.args(inst)?;
                let rd = self.result(inst)?;
                let (a, b) =
                    if is_commutative(*op) && self.konst(a).is_some() && self.konst(b).is_none() {
                        (b, a)
                    } else {
                        (a, b)
                    };
                let rn = self.reg(a)?;
                let op = *op;
                let rm = self.src(b, |c| alu_imm_ok(op, c))?;
                self.push(MInst::Alu { op, rd, rn, rm });
            }
            Op::Compare(cond) => {
                let [a, b] = self.args(inst)?;
                let rd = self.result(inst)?;
                if !self.fused[rd.0 as usize] {
                    let test = self.make_test(*cond, a, b)?;
                    self.push(MInst::SetCond { rd, test });
                }
            }
            // The inner select of a clamp (`find_saturations`): computed by the outer one.
            Op::Select if self.saturation_inner[self.result(inst)?.0 as usize] => {}
            Op::Select
                if let Some(Saturation { signed, bits, x }) =
                    self.saturation[self.result(inst)?.0 as usize] =>
            {
                let rd = self.result(inst)?;
                let rm = self.reg(x)?;
                self.push(MInst::Saturate {
                    signed,
                    bits,
                    rd,
                    rm,
                });
            }
            Op::Select => {
                let [c, t, f] = self.args(inst)?;
                let rd = self.result(inst)?;
                let test = self.test_of(c)?;
                let if_true = self.reg(t)?;
                let if_false = self.reg(f)?;
                if self.is_vfp_value(t) {
                    self.push(MInst::FSelect {
                        double: self.value_type(t) == ir::Type::F64,
                        rd,
                        test,
                        if_true,
                        if_false,
                    });
                } else {
                    self.push(MInst::Select {
                        rd,
                        test,
                        if_true,
                        if_false,
                    });
                }
            }
            Op::Load(m) => {
                let [base, addr] = self.args(inst)?;
                let rd = self.result(inst)?;
                let base = self.reg(base)?;
                let (index, shift, offset) = match self.scaled_index(addr)? {
                    Some((index, shift)) => (index, shift, 0),
                    None => {
                        let (index, offset) = self.access_index(addr, m.offset)?;
                        if self.is_vfp_value(inst.results[0]) {
                            return self.lower_fload(rd, m.width == 8, base, index, offset);
                        }
                        (index, 0, offset)
                    }
                };
                self.check_width(m.width)?;
                self.push(MInst::Load {
                    access: Access {
                        width: m.width,
                        signed: m.signed,
                    },
                    rd,
                    base,
                    index,
                    shift,
                    offset,
                });
            }
            Op::Store(m) => {
                let [base, addr, value] = self.args(inst)?;
                let float = self.is_vfp_value(value);
                let base = self.reg(base)?;
                let value = self.reg(value)?;
                let (index, shift, offset) = match self.scaled_index(addr)? {
                    Some((index, shift)) => (index, shift, 0),
                    None => {
                        let (index, offset) = self.access_index(addr, m.offset)?;
                        if float {
                            return self.lower_fstore(value, m.width == 8, base, index, offset);
                        }
                        (index, 0, offset)
                    }
                };
                self.check_width(m.width)?;
                self.push(MInst::Store {
                    access: Access {
                        width: m.width,
                        signed: false,
                    },
                    value,
                    base,
                    index,
                    shift,
                    offset,
                });
            }
            Op::TrapIf(code) if self.trap_both[inst.args[0].0 as usize] => {
                let [c] = self.args(inst)?;
                let Some((Op::Binary(BinaryOp::And), &[p, q])) = self.defs[c.0 as usize] else {
                    return Err(self.err("fused trap check lost its and"));
                };
                let tests = [self.test_of(p)?, self.test_of(q)?];
                self.push(MInst::TrapIfBoth { tests, code: *code });
            }
            Op::TrapIf(code) => {
                let [c] = self.args(inst)?;
                let test = self.test_of(c)?;
                self.push(MInst::TrapIf { test, code: *code });
            }
            Op::BoundsCheck { end } => {
                let [addr, bytes] = self.args(inst)?;
                let addr = self.reg(addr)?;
                let bytes = self.reg(bytes)?;
                self.push(MInst::BoundsCheck {
                    addr,
                    bytes,
                    end: *end,
                });
            }
            Op::SymbolAddr { symbol, offset } => {
                let rd = self.result(inst)?;
                self.push(MInst::SymbolAddr {
                    rd,
                    symbol: *symbol,
                    offset: *offset,
                });
            }
            Op::LoadSymbol { symbol, offset } => {
                let rd = self.result(inst)?;
                if self.is_vfp_value(inst.results[0]) {
                    // A float global: its words into core registers, then into the VFP.
                    let double = self.value_type(inst.results[0]) == ir::Type::F64;
                    let mut words = Vec::new();
                    for k in 0..if double { 2 } else { 1 } {
                        let w = self.temp();
                        self.push(MInst::LoadSymbol {
                            rd: w,
                            symbol: *symbol,
                            offset: offset + 4 * k,
                        });
                        words.push(w);
                    }
                    self.float_from_words(rd, &words)?;
                } else {
                    self.push(MInst::LoadSymbol {
                        rd,
                        symbol: *symbol,
                        offset: *offset,
                    });
                }
            }
            Op::StoreSymbol { symbol, offset } => {
                let [v] = self.args(inst)?;
                let value = self.reg(v)?;
                let words = if self.is_vfp_value(v) {
                    let double = self.value_type(v) == ir::Type::F64;
                    self.float_words(value, double)
                } else {
                    vec![value]
                };
                for (k, w) in words.into_iter().enumerate() {
                    self.push(MInst::StoreSymbol {
                        value: w,
                        symbol: *symbol,
                        offset: offset + 4 * k as u32,
                    });
                }
            }
            Op::AddPair if let Some((acc, product)) = self.mul_acc_operands(inst) => {
                let [lo, hi] = self.two_results(inst)?;
                let (signed, x, y) = self.mul_acc[product.0 as usize]
                    .ok_or_else(|| self.err("multiply-accumulate lost its product"))?;
                let acc = [self.reg(acc[0])?, self.reg(acc[1])?];
                let (a, b) = (self.reg(x)?, self.reg(y)?);
                self.push(MInst::MulAcc {
                    signed,
                    lo,
                    hi,
                    acc,
                    a,
                    b,
                });
            }
            Op::AddPair | Op::SubPair => {
                let [a0, a1, b0, b1] = self.args(inst)?;
                let [lo, hi] = self.two_results(inst)?;
                let a = [self.reg(a0)?, self.reg(a1)?];
                let b = [self.reg(b0)?, self.reg(b1)?];
                self.push(MInst::PairArith {
                    sub: matches!(inst.op, Op::SubPair),
                    lo,
                    hi,
                    a,
                    b,
                });
            }
            // Folded into the add of its product (`find_mul_acc`).
            Op::MulWideU | Op::MulWideS
                if inst
                    .results
                    .first()
                    .is_some_and(|r| self.mul_acc[r.0 as usize].is_some()) => {}
            Op::MulWideU | Op::MulWideS => {
                let [a, b] = self.args(inst)?;
                let [lo, hi] = self.two_results(inst)?;
                let (a, b) = (self.reg(a)?, self.reg(b)?);
                let signed = inst.op == Op::MulWideS;
                self.push(MInst::MulWide {
                    signed,
                    lo,
                    hi,
                    a,
                    b,
                });
            }
            Op::ShiftPair(op) => {
                if !matches!(op, BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU) {
                    return Err(self.err(format!("ShiftPair({op:?}) is not a shift")));
                }
                let [a0, a1, n] = self.args(inst)?;
                let [lo, hi] = self.two_results(inst)?;
                match self.konst(n) {
                    Some(c) => self.lower_shift_pair_by(*op, [lo, hi], [a0, a1], c & 63)?,
                    None => {
                        let a = [self.reg(a0)?, self.reg(a1)?];
                        let count = self.reg(n)?;
                        let tmp = self.temp();
                        self.push(MInst::ShiftPair {
                            op: *op,
                            lo,
                            hi,
                            tmp,
                            a,
                            count,
                        });
                    }
                }
            }
            Op::Call(n) => self.lower_call(inst, *n)?,
            Op::CallPtr(sig) => {
                let layout = call_layout(sig, self.vfp)?;
                let (target, args) = inst
                    .args
                    .split_first()
                    .ok_or_else(|| self.err("indirect call without a target"))?;
                let target = self.reg(*target)?;
                self.lower_call_with(inst, 0, Some(target), layout, args)?
            }
            Op::Table(_) | Op::CallIndirect(_) | Op::Bulk(_) => {
                return Err(self.err(format!("{:?} was not legalized", inst.op)));
            }
            Op::MemorySize | Op::MemoryGrow | Op::GlobalGet(_) | Op::GlobalSet(_) => {
                return Err(self.err(format!("{:?} was not legalized", inst.op)));
            }
        }
        Ok(())
    }

    /// A 64-bit shift by a known count: whole-word moves for 0 and 32..63.
    fn lower_shift_pair_by(
        &mut self,
        op: BinaryOp,
        [lo, hi]: [VReg; 2],
        [a_lo, a_hi]: [Value; 2],
        count: u32,
    ) -> Result<()> {
        let shift = |rd, rn, amount| MInst::Alu {
            op,
            rd,
            rn,
            rm: Src::Imm(amount),
        };
        match count {
            0 => {
                let (rl, rh) = (self.reg(a_lo)?, self.reg(a_hi)?);
                self.push(MInst::Move { rd: lo, rm: rl });
                self.push(MInst::Move { rd: hi, rm: rh });
            }
            1..=31 => {
                let a = [self.reg(a_lo)?, self.reg(a_hi)?];
                self.push(MInst::ShiftPairImm {
                    op,
                    lo,
                    hi,
                    a,
                    amount: count as u8,
                });
            }
            _ => match op {
                BinaryOp::Shl => {
                    let rl = self.reg(a_lo)?;
                    self.push(shift(hi, rl, count - 32));
                    self.push(MInst::Const { rd: lo, value: 0 });
                }
                BinaryOp::ShrU => {
                    let rh = self.reg(a_hi)?;
                    self.push(shift(lo, rh, count - 32));
                    self.push(MInst::Const { rd: hi, value: 0 });
                }
                _ => {
                    let rh = self.reg(a_hi)?;
                    self.push(shift(lo, rh, count - 32));
                    self.push(shift(hi, rh, 31));
                }
            },
        }
        Ok(())
    }

    fn check_width(&self, width: u8) -> Result<()> {
        if matches!(width, 1 | 2 | 4) {
            Ok(())
        } else {
            Err(self.err(format!("{width}-byte access was not legalized")))
        }
    }

    fn two_results(&self, inst: &ir::Inst) -> Result<[VReg; 2]> {
        match inst.results.as_slice() {
            [lo, hi] => Ok([self.def(*lo)?, self.def(*hi)?]),
            _ => Err(self.err(format!("{:?} expects two results", inst.op))),
        }
    }

    fn layout_of(&self, func: u32) -> Result<CallLayout> {
        let decl = self
            .module
            .functions
            .get(func as usize)
            .ok_or_else(|| self.err(format!("call to unknown function {func}")))?;
        call_layout(&decl.sig, self.vfp)
    }

    fn lower_call(&mut self, inst: &'a ir::Inst, func: u32) -> Result<()> {
        let layout = self.layout_of(func)?;
        self.lower_call_with(inst, func, None, layout, &inst.args)
    }

    /// A call of `func`, or through the code address in `target`, passing `call_args`.
    fn lower_call_with(
        &mut self,
        inst: &'a ir::Inst,
        func: u32,
        target: Option<VReg>,
        layout: CallLayout,
        call_args: &[Value],
    ) -> Result<()> {
        if call_args.len() != layout.args.len() {
            return Err(self.err("call arguments do not match the callee's signature"));
        }
        let mut args = Vec::new();
        if let Some(ptr_reg) = layout.result_ptr {
            let rd = self.temp();
            self.push(MInst::StackAddr {
                rd,
                offset: self.result_area,
            });
            args.push((rd, ptr_reg));
        }
        for (v, loc) in call_args.iter().zip(&layout.args) {
            let r = self.reg(*v)?;
            match loc {
                // A word of a software f64 travelling in a VFP register (FPv4-SP).
                ArgLoc::Reg(p) if is_vfp(*p) && !self.is_vfp_value(*v) => {
                    let t = self.ftemp();
                    self.push(MInst::FFromCore { rd: t, rm: r });
                    args.push((t, *p));
                }
                ArgLoc::Reg(p) => args.push((r, *p)),
                ArgLoc::HighHalf(p) => {
                    // Joins the f32 already bound for the low half into one D register.
                    let k = args
                        .iter()
                        .position(|(_, q)| q == p)
                        .ok_or_else(|| self.err("high-half argument without its low half"))?;
                    let t = self.ftemp();
                    self.push(MInst::FPack {
                        rd: t,
                        lo: args[k].0,
                        hi: r,
                    });
                    args[k].0 = t;
                }
                ArgLoc::Stack(off) => self.push(MInst::StoreStack {
                    value: r,
                    slot: StackRef::Local(*off),
                    double: self.is_d_value(*v),
                }),
            }
        }
        let mut results = Vec::new();
        let mut loads = Vec::new();
        match &layout.results {
            ResultLocs::Regs(regs) => {
                if regs.len() != inst.results.len() {
                    return Err(self.err("call results do not match the callee's signature"));
                }
                for (v, p) in inst.results.iter().zip(regs) {
                    let rd = self.def(*v)?;
                    if is_vfp(*p) && !self.is_vfp_value(*v) {
                        // A word of a software f64 returned in s0/s1 (FPv4-SP).
                        let t = self.ftemp();
                        results.push((t, *p));
                        loads.push(MInst::FToCore {
                            rd,
                            rm: t,
                            high: false,
                        });
                    } else {
                        results.push((rd, *p));
                    }
                }
            }
            ResultLocs::Memory { offsets, .. } => {
                if offsets.len() != inst.results.len() {
                    return Err(self.err("call results do not match the callee's signature"));
                }
                for (v, off) in inst.results.iter().zip(offsets) {
                    loads.push(MInst::LoadStack {
                        rd: self.def(*v)?,
                        slot: StackRef::Local(self.result_area + off),
                        double: self.is_d_value(*v),
                    });
                }
            }
        }
        self.push(MInst::Call {
            func,
            target,
            args,
            results,
        });
        for l in loads {
            self.push(l);
        }
        Ok(())
    }

    fn lower_term(
        &mut self,
        term: &'a Terminator,
        layout: &CallLayout,
        result_ptr: Option<VReg>,
    ) -> Result<()> {
        match term {
            Terminator::Jump { target, args } => {
                let target = self.block(*target)?;
                let args = args
                    .iter()
                    .map(|v| self.reg(*v))
                    .collect::<Result<Vec<_>>>()?;
                self.code.set_jump_args(args)?;
                self.push(MInst::Jump { target });
            }
            Terminator::Branch {
                cond,
                then_block,
                else_block,
            } => {
                let then_block = self.block(*then_block)?;
                let else_block = self.block(*else_block)?;
                if let Some((cond, a, b)) = self.fused_float_compare(*cond) {
                    let double = self.double(a);
                    let (rn, rm) = (self.reg(a)?, self.reg(b)?);
                    self.push(MInst::FBranch {
                        cond,
                        double,
                        rn,
                        rm,
                        then_block,
                        else_block,
                    });
                } else {
                    let test = self.test_of(*cond)?;
                    self.push(MInst::Branch {
                        test,
                        then_block,
                        else_block,
                    });
                }
            }
            Terminator::Switch {
                index,
                targets,
                default,
            } => {
                let index = self.reg(*index)?;
                let targets = targets
                    .iter()
                    .map(|b| self.block(*b))
                    .collect::<Result<Vec<_>>>()?;
                let default = self.block(*default)?;
                self.push(MInst::Switch {
                    index,
                    targets,
                    default,
                });
            }
            Terminator::Return { values } => match &layout.results {
                ResultLocs::Regs(regs) => {
                    if regs.len() != values.len() {
                        return Err(self.err("returned values do not match the signature"));
                    }
                    let mut out = Vec::new();
                    for (v, p) in values.iter().zip(regs) {
                        let r = self.reg(*v)?;
                        if is_vfp(*p) && !self.is_vfp_value(*v) {
                            let t = self.ftemp();
                            self.push(MInst::FFromCore { rd: t, rm: r });
                            out.push((t, *p));
                        } else {
                            out.push((r, *p));
                        }
                    }
                    self.push(MInst::Return { values: out });
                }
                ResultLocs::Memory { offsets, .. } => {
                    let ptr = result_ptr.ok_or_else(|| self.err("missing result pointer"))?;
                    if offsets.len() != values.len() {
                        return Err(self.err("returned values do not match the signature"));
                    }
                    for (v, off) in values.iter().zip(offsets) {
                        let value = self.reg(*v)?;
                        if self.is_vfp_value(*v) {
                            let double = self.value_type(*v) == ir::Type::F64;
                            self.lower_fstore(value, double, ptr, Src::Imm(0), *off)?;
                            continue;
                        }
                        self.push(MInst::Store {
                            access: Access {
                                width: 4,
                                signed: false,
                            },
                            value,
                            base: ptr,
                            index: Src::Imm(0),
                            shift: 0,
                            offset: *off,
                        });
                    }
                    self.push(MInst::Return { values: vec![] });
                }
            },
            Terminator::Trap { code } => self.push(MInst::Trap { code: *code }),
        }
        Ok(())
    }
}

pub fn lower(module: &Module, func: &Function, vfp: VfpFile) -> Result<Lowered> {
    // `reverse_postorder` indexes blocks directly: make sure every edge is in range first.
    for (i, b) in func.blocks.iter().enumerate() {
        if let Some(bad) = b
            .term
            .successors()
            .into_iter()
            .find(|s| s.0 as usize >= func.blocks.len())
        {
            return Err(CompileError::internal(format!(
                "block b{i} branches to missing block {bad}"
            ))
            .at(b.term_offset as u64));
        } // Entry parameters arrive in argument registers, not through jumps.
        if b.term.successors().contains(&ir::Block(0)) {
            return Err(CompileError::internal(format!(
                "block b{i} branches back to the entry block"
            ))
            .at(b.term_offset as u64));
        }
    }
    let order = func.reverse_postorder();
    let nvals = func.value_types.len();
    let mut block_of = vec![None; func.blocks.len()];
    for (i, b) in order.iter().enumerate() {
        block_of[b.0 as usize] = Some(i);
    }
    let mut uses = vec![0u32; nvals];
    let mut consts = vec![None; nvals];
    let mut defs: Vec<Option<(&Op, &[Value])>> = vec![None; nvals];
    for b in &order {
        let data = func.block(*b);
        for inst in &data.insts {
            for a in &inst.args {
                if let Some(u) = uses.get_mut(a.0 as usize) {
                    *u += 1;
                }
            }
            if let [r] = inst.results.as_slice()
                && (r.0 as usize) < nvals
            {
                defs[r.0 as usize] = Some((&inst.op, inst.args.as_slice()));
                if let Op::Const(k) = inst.op
                    && !func.value_types[r.0 as usize].is_float()
                {
                    consts[r.0 as usize] = Some(k as u32);
                }
            }
        }
        for a in data.term.use_slice() {
            if let Some(u) = uses.get_mut(a.0 as usize) {
                *u += 1;
            }
        }
    }
    let mut fused = find_fusable(func, &order, &uses);
    let trap_both = find_trap_both(func, &order, &uses, &mut fused);
    let folded_shift = find_shift_folds(func, &order, &uses, &consts);
    let folded_not = find_not_folds(func, &order, &uses, &consts, &folded_shift);
    let mul_acc = find_mul_acc(func, &order, &uses);
    let mul_add = find_mul_adds(func, &order, &uses, &consts, &folded_shift);
    let (saturation, saturation_inner) =
        find_saturations(func, &order, &uses, &defs, &consts, &fused);

    // The bottom of the frame: outgoing stack arguments, then one shared result area.
    let mut max_out = 0;
    let mut max_results = 0;
    let mut has_calls = false;
    for b in &order {
        for inst in &func.block(*b).insts {
            let sig = match &inst.op {
                Op::Call(n) => Some(
                    &module
                        .functions
                        .get(*n as usize)
                        .ok_or_else(|| {
                            CompileError::internal(format!("call to unknown function {n}"))
                                .at(inst.offset as u64)
                        })?
                        .sig,
                ),
                Op::CallPtr(sig) => Some(&**sig),
                _ => None,
            };
            if let Some(sig) = sig {
                has_calls = true;
                let l = call_layout(sig, vfp)?;
                max_out = max_out.max(l.stack_bytes);
                if let ResultLocs::Memory { size, .. } = l.results {
                    max_results = max_results.max(size);
                }
            }
        }
    }
    let result_area = align8(max_out);
    let local_area = result_area + align8(max_results);

    let mut lw = Lowerer {
        module,
        func,
        vfp,
        consts,
        fused,
        folded_shift,
        folded_not,
        mul_acc,
        mul_add,
        saturation,
        saturation_inner,
        trap_both,
        defs,
        next_vreg: nvals as u32,
        code: VCodeBuilder::new(),
        block_of,
        result_area,
        offset: func.offset,
    };

    if vfp != VfpFile::None {
        for (v, ty) in func.value_types.iter().enumerate() {
            if ty.is_float() {
                lw.code.set_class(VReg(v as u32), 1);
            }
        }
    }
    let layout = call_layout(&func.sig, vfp)?;
    let mut result_ptr = None;
    for (bi, b) in order.iter().enumerate() {
        let data = func.block(*b);
        if bi == 0 {
            lw.code.begin_block(Vec::new());
            if data.params.len() != layout.args.len() {
                return Err(lw.err("entry parameters do not match the signature"));
            }
            let mut defs: Vec<(VReg, crate::regalloc::PReg)> = Vec::new();
            let mut loads = Vec::new();
            if let Some(p) = layout.result_ptr {
                let v = lw.temp();
                result_ptr = Some(v);
                defs.push((v, p));
            }
            for (v, loc) in data.params.iter().zip(&layout.args) {
                let rd = lw.def(*v)?;
                match loc {
                    // A word of a software f64 arriving in a VFP register (FPv4-SP).
                    ArgLoc::Reg(p) if is_vfp(*p) && !lw.is_vfp_value(*v) => {
                        let t = lw.ftemp();
                        defs.push((t, *p));
                        loads.push(MInst::FToCore {
                            rd,
                            rm: t,
                            high: false,
                        });
                    }
                    ArgLoc::Reg(p) => defs.push((rd, *p)),
                    ArgLoc::HighHalf(p) => {
                        // The D register arrived as the low-half argument's vreg.
                        let container = defs
                            .iter()
                            .find(|(_, q)| q == p)
                            .map(|(c, _)| *c)
                            .ok_or_else(|| lw.err("high-half parameter without its low half"))?;
                        loads.push(MInst::FHighHalf { rd, rm: container });
                    }
                    ArgLoc::Stack(off) => loads.push(MInst::LoadStack {
                        rd,
                        slot: StackRef::Incoming(*off),
                        double: lw.is_d_value(*v),
                    }),
                }
            }
            lw.push(MInst::Entry { defs });
            for l in loads {
                lw.push(l);
            }
        } else {
            let params = data
                .params
                .iter()
                .map(|v| lw.def(*v))
                .collect::<Result<Vec<_>>>()?;
            lw.code.begin_block(params);
        }
        for inst in &data.insts {
            lw.lower_inst(inst)?;
        }
        lw.offset = data.term_offset;
        lw.lower_term(&data.term, &layout, result_ptr)?;
    }
    Ok(Lowered {
        code: lw.code.finish(lw.next_vreg as usize)?,
        has_calls,
        local_area,
        incoming_stack_bytes: layout.stack_bytes,
    })
}

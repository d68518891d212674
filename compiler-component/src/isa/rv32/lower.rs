//! Legalized IR -> RV32 machine instructions over virtual registers.
//!
//! IR value `v` becomes vreg `v`; temporaries get numbers after the last value. Constants are
//! folded into immediates where an instruction has one (and `x0` stands for zero); the `li` of
//! a constant nobody reads from a register is dropped at the end. A compare (or `eqz`) whose
//! only use is a branch, `TrapIf` or `Select` later in the same block is fused into that user.

use super::abi::{ArgLoc, CallAbi, ResultLocs, call_abi};
use super::inst::{
    AluImmOp, AluOp, BrCond, LoadKind, MBlock, MInst, Reg, ShiftKind, SpRegion, StoreKind, Test,
};
use super::regs;
use crate::error::{CompileError, Result};
use crate::ir::{self, BinaryOp, Cond, Op, Terminator, Type, UnaryOp, Value};
use crate::isa::vcode::{VCode, VCodeBuilder};
use crate::regalloc::{PReg, VReg};

#[path = "lower_float.rs"]
mod float;

/// A lowered function: the shared machine code plus the frame facts the emitter needs.
pub struct Lowered {
    pub code: VCode<MInst<Reg>>,
    /// Bytes of this function's own stack arguments (in the caller's frame).
    pub incoming_bytes: u32,
    /// Largest outgoing stack-argument area of any call.
    pub outgoing_bytes: u32,
    /// Size and alignment of the largest result struct of any call with several results.
    pub result_area: (u32, u32),
    pub has_calls: bool,
}

fn imm12(value: i64) -> Option<i32> {
    (-2048..=2047).contains(&value).then_some(value as i32)
}

/// One IR instruction or terminator that consumes a fused compare.
#[derive(Clone, Copy)]
enum Fusable {
    Compare(Cond, Value, Value),
    Eqz(Value),
    /// `and` of two fused `==` compares, only as a trap condition (signed division's
    /// INT_MIN / -1 check): trap when `(a ^ x) | (b ^ y)` is zero, no flags materialized.
    BothEq(Value, Value),
}

struct Ctx<'a> {
    module: &'a ir::Module,
    func: &'a ir::Function,
    /// Constant value of each IR value defined by `Const`, as its 32-bit pattern.
    consts: Vec<Option<i32>>,
    /// Compares folded into their only user, by result value.
    fused: Vec<Option<Fusable>>,
    next_vreg: u32,
    /// IR block -> machine block (None: unreachable, not emitted).
    block_map: Vec<Option<MBlock>>,
    result_pointer: Option<VReg>,
    abi: CallAbi,
    code: VCodeBuilder<MInst<Reg>>,
    offset: u32,
    outgoing_bytes: u32,
    result_area: (u32, u32),
    has_calls: bool,
    /// f32 values live in F registers and travel in the ILP32F convention.
    hard_f32: bool,
}

fn internal(func: &ir::Function, what: impl Into<String>) -> CompileError {
    CompileError::internal(format!("rv32 lowering: {}", what.into())).in_function(func.name.clone())
}

impl<'a> Ctx<'a> {
    fn err(&self, what: impl Into<String>) -> CompileError {
        internal(self.func, what).at(u64::from(self.offset))
    }
    fn new_vreg(&mut self) -> VReg {
        let v = VReg(self.next_vreg);
        self.next_vreg += 1;
        v
    }
    fn vreg(&self, v: Value) -> Result<VReg> {
        if (v.0 as usize) < self.func.value_types.len() {
            Ok(VReg(v.0))
        } else {
            Err(self.err(format!("{v} is not a value of the function")))
        }
    }
    fn constant(&self, v: Value) -> Option<i32> {
        self.consts.get(v.0 as usize).copied().flatten()
    }
    /// A source operand: x0 for the constant zero.
    fn src(&self, v: Value) -> Result<Reg> {
        if self.constant(v) == Some(0) {
            return Ok(Reg::Zero);
        }
        Ok(Reg::V(self.vreg(v)?))
    }
    fn emit(&mut self, inst: MInst<Reg>) {
        self.code.push(inst, Some(self.offset));
    }
    fn block(&self, b: ir::Block) -> Result<MBlock> {
        self.block_map
            .get(b.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(format!("jump to unknown or unreachable block {b}")))
    }

    fn alu(&mut self, op: AluOp, rd: Reg, rs1: Reg, rs2: Reg) {
        self.emit(MInst::Alu { op, rd, rs1, rs2 });
    }
    fn alu_imm(&mut self, op: AluImmOp, rd: Reg, rs1: Reg, imm: i32) {
        self.emit(MInst::AluImm { op, rd, rs1, imm });
    }
    fn temp(&mut self) -> Reg {
        Reg::V(self.new_vreg())
    }
    /// The value in a register, materializing a constant into a fresh vreg.
    fn in_reg_imm(&mut self, imm: i32) -> Reg {
        if imm == 0 {
            return Reg::Zero;
        }
        let t = self.temp();
        self.emit(MInst::Li { rd: t, imm });
        t
    }

    fn test_for(&self, cond: Value) -> Result<Test<Reg>> {
        match self.fused.get(cond.0 as usize).copied().flatten() {
            Some(Fusable::Compare(c, a, b)) => self.compare_test(c, a, b),
            Some(Fusable::Eqz(a)) => Ok(Test {
                cond: BrCond::Eq,
                a: self.src(a)?,
                b: Reg::Zero,
            }),
            None => Ok(Test {
                cond: BrCond::Ne,
                a: self.src(cond)?,
                b: Reg::Zero,
            }),
            Some(Fusable::BothEq(..)) => Err(self.err("a fused and outside a trap check")),
        }
    }

    /// The test "both `==` compares hold" of a `Fusable::BothEq`: one zero test of the
    /// or of the two differences.
    fn both_equal_test(&mut self, p: Value, q: Value) -> Result<Test<Reg>> {
        let mut diffs = [Reg::Zero; 2];
        for (d, v) in diffs.iter_mut().zip([p, q]) {
            let Some(Fusable::Compare(Cond::Eq, a, b)) = self.fused[v.0 as usize] else {
                return Err(self.err("a fused and lost its compares"));
            };
            *d = self.temp();
            self.binary(BinaryOp::Xor, *d, a, b)?;
        }
        let t = self.temp();
        self.alu(AluOp::Or, t, diffs[0], diffs[1]);
        Ok(Test {
            cond: BrCond::Eq,
            a: t,
            b: Reg::Zero,
        })
    }

    fn compare_test(&self, cond: Cond, a: Value, b: Value) -> Result<Test<Reg>> {
        let (a, b) = (self.src(a)?, self.src(b)?);
        let (cond, a, b) = match cond {
            Cond::Eq => (BrCond::Eq, a, b),
            Cond::Ne => (BrCond::Ne, a, b),
            Cond::LtS => (BrCond::Lt, a, b),
            Cond::GeS => (BrCond::Ge, a, b),
            Cond::GtS => (BrCond::Lt, b, a),
            Cond::LeS => (BrCond::Ge, b, a),
            Cond::LtU => (BrCond::Ltu, a, b),
            Cond::GeU => (BrCond::Geu, a, b),
            Cond::GtU => (BrCond::Ltu, b, a),
            Cond::LeU => (BrCond::Geu, b, a),
        };
        Ok(Test { cond, a, b })
    }

    /// rd = (a cond b) as 0/1.
    fn set_cond(&mut self, cond: Cond, rd: Reg, a: Value, b: Value) -> Result<()> {
        let (ca, cb) = (self.constant(a), self.constant(b));
        let (ra, rb) = (self.src(a)?, self.src(b)?);
        let small = |c: Option<i32>| c.and_then(|c| imm12(i64::from(c)));
        match cond {
            Cond::Eq | Cond::Ne => {
                let diff = if cb == Some(0) {
                    ra
                } else if ca == Some(0) {
                    rb
                } else if let Some(neg) = cb.and_then(|c| imm12(-i64::from(c))) {
                    let t = self.temp();
                    self.alu_imm(AluImmOp::Addi, t, ra, neg);
                    t
                } else if let Some(neg) = ca.and_then(|c| imm12(-i64::from(c))) {
                    let t = self.temp();
                    self.alu_imm(AluImmOp::Addi, t, rb, neg);
                    t
                } else {
                    let t = self.temp();
                    self.alu(AluOp::Xor, t, ra, rb);
                    t
                };
                if cond == Cond::Eq {
                    self.alu_imm(AluImmOp::Sltiu, rd, diff, 1);
                } else {
                    self.alu(AluOp::Sltu, rd, Reg::Zero, diff);
                }
            }
            Cond::LtS | Cond::LtU | Cond::GeS | Cond::GeU => {
                let signed = matches!(cond, Cond::LtS | Cond::GeS);
                let negate = matches!(cond, Cond::GeS | Cond::GeU);
                let dst = if negate { self.temp() } else { rd };
                match small(cb) {
                    Some(imm) if cb != Some(0) => {
                        let op = if signed {
                            AluImmOp::Slti
                        } else {
                            AluImmOp::Sltiu
                        };
                        self.alu_imm(op, dst, ra, imm);
                    }
                    _ => {
                        let op = if signed { AluOp::Slt } else { AluOp::Sltu };
                        self.alu(op, dst, ra, rb);
                    }
                }
                if negate {
                    self.alu_imm(AluImmOp::Xori, rd, dst, 1);
                }
            }
            Cond::GtS | Cond::GtU => {
                let op = if cond == Cond::GtS {
                    AluOp::Slt
                } else {
                    AluOp::Sltu
                };
                self.alu(op, rd, rb, ra);
            }
            Cond::LeS | Cond::LeU => {
                let signed = cond == Cond::LeS;
                // a <= b is a < b + 1 when b + 1 neither overflows nor leaves the immediate range.
                let plus_one = cb.and_then(|c| {
                    let no_wrap = if signed { c != i32::MAX } else { c != -1 };
                    if no_wrap {
                        imm12(i64::from(c.wrapping_add(1)))
                    } else {
                        None
                    }
                });
                if let Some(imm) = plus_one {
                    let op = if signed {
                        AluImmOp::Slti
                    } else {
                        AluImmOp::Sltiu
                    };
                    self.alu_imm(op, rd, ra, imm);
                } else {
                    let t = self.temp();
                    let op = if signed { AluOp::Slt } else { AluOp::Sltu };
                    self.alu(op, t, rb, ra);
                    self.alu_imm(AluImmOp::Xori, rd, t, 1);
                }
            }
        }
        Ok(())
    }

    fn binary(&mut self, op: BinaryOp, rd: Reg, a: Value, b: Value) -> Result<()> {
        let (ca, cb) = (self.constant(a), self.constant(b));
        let (ra, rb) = (self.src(a)?, self.src(b)?);
        let small = |c: Option<i32>| c.and_then(|c| imm12(i64::from(c)));
        let commutative_imm = |this: &mut Self, iop: AluImmOp, rop: AluOp| {
            if let Some(imm) = small(cb) {
                this.alu_imm(iop, rd, ra, imm);
            } else if let Some(imm) = small(ca) {
                this.alu_imm(iop, rd, rb, imm);
            } else {
                this.alu(rop, rd, ra, rb);
            }
        };
        match op {
            BinaryOp::Add => commutative_imm(self, AluImmOp::Addi, AluOp::Add),
            BinaryOp::And => commutative_imm(self, AluImmOp::Andi, AluOp::And),
            BinaryOp::Or => commutative_imm(self, AluImmOp::Ori, AluOp::Or),
            BinaryOp::Xor => commutative_imm(self, AluImmOp::Xori, AluOp::Xor),
            BinaryOp::Sub => match cb.and_then(|c| imm12(-i64::from(c))) {
                Some(neg) => self.alu_imm(AluImmOp::Addi, rd, ra, neg),
                None => self.alu(AluOp::Sub, rd, ra, rb),
            },
            BinaryOp::Mul => match cb {
                Some(c) if c > 0 && (c as u32).is_power_of_two() => {
                    self.shift_imm(AluImmOp::Slli, rd, ra, c.trailing_zeros() as i32)
                }
                _ => self.alu(AluOp::Mul, rd, ra, rb),
            },
            BinaryOp::DivS => self.alu(AluOp::Div, rd, ra, rb),
            BinaryOp::DivU => self.alu(AluOp::Divu, rd, ra, rb),
            BinaryOp::RemS => self.alu(AluOp::Rem, rd, ra, rb),
            BinaryOp::RemU => self.alu(AluOp::Remu, rd, ra, rb),
            BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU => {
                let (iop, rop) = match op {
                    BinaryOp::Shl => (AluImmOp::Slli, AluOp::Sll),
                    BinaryOp::ShrS => (AluImmOp::Srai, AluOp::Sra),
                    _ => (AluImmOp::Srli, AluOp::Srl),
                };
                match cb {
                    Some(c) => self.shift_imm(iop, rd, ra, c & 31),
                    None => self.alu(rop, rd, ra, rb),
                }
            }
            BinaryOp::Rotl | BinaryOp::Rotr => {
                return Err(self.err("rotate reached the back end; rv32 has no rotate"));
            }
        }
        Ok(())
    }

    fn shift_imm(&mut self, op: AluImmOp, rd: Reg, rs: Reg, amount: i32) {
        if amount == 0 {
            self.emit(MInst::Move { rd, rs });
        } else {
            self.alu_imm(op, rd, rs, amount);
        }
    }

    /// The base register and 12-bit offset for `base + addr + offset`.
    fn address(&mut self, base: Value, addr: Value, offset: u64) -> Result<(Reg, i32)> {
        let offset = offset as u32; // wasm32 addresses wrap at 32 bits
        let rbase = self.src(base)?;
        if let Some(c) = self.constant(addr) {
            let k = c.wrapping_add(offset as i32);
            if let Some(k) = imm12(i64::from(k)) {
                return Ok((rbase, k));
            }
            // A constant address beyond 12 bits (C globals sit above wasm-ld's 64 KiB stack):
            // its upper part in one `lui`, the low 12 bits in the access.
            let (upper, low) = split_hi_lo(k);
            let hi = self.in_reg_imm(upper);
            let sum = self.temp();
            self.alu(AluOp::Add, sum, rbase, hi);
            return Ok((sum, low));
        }
        let raddr = self.src(addr)?;
        let sum = self.temp();
        self.alu(AluOp::Add, sum, rbase, raddr);
        match imm12(i64::from(offset)) {
            Some(k) => Ok((sum, k)),
            None => {
                let (upper, low) = split_hi_lo(offset as i32);
                let hi = self.in_reg_imm(upper);
                let full = self.temp();
                self.alu(AluOp::Add, full, sum, hi);
                Ok((full, low))
            }
        }
    }

    /// Fixed-register operands, copying a vreg that would otherwise be pinned to two
    /// registers at once (f(x, x)).
    fn fixed_uses(&mut self, values: &[(Value, PReg)]) -> Result<Vec<(Reg, PReg)>> {
        let mut out: Vec<(Reg, PReg)> = Vec::new();
        for &(v, p) in values {
            let mut r = Reg::V(self.vreg(v)?);
            if out.iter().any(|(o, _)| *o == r) {
                let copy = self.temp_like(self.value_type(v));
                self.emit(MInst::Move { rd: copy, rs: r });
                r = copy;
            }
            out.push((r, p));
        }
        Ok(out)
    }

    fn call(&mut self, callee: u32, inst: &ir::Inst) -> Result<()> {
        let decl = self
            .module
            .functions
            .get(callee as usize)
            .ok_or_else(|| self.err(format!("call to unknown function {callee}")))?;
        let abi = call_abi(&decl.sig, self.hard_f32);
        self.call_with(callee, None, abi, inst, &inst.args)
    }

    /// A call of `callee`, or through the code address in `target`, passing `call_args`.
    fn call_with(
        &mut self,
        callee: u32,
        target: Option<Reg>,
        abi: CallAbi,
        inst: &ir::Inst,
        call_args: &[Value],
    ) -> Result<()> {
        if call_args.len() != abi.params.len() {
            return Err(self.err(format!(
                "call passes {} words, the callee takes {}",
                call_args.len(),
                abi.params.len()
            )));
        }
        self.has_calls = true;
        let mut reg_args: Vec<(Value, PReg)> = Vec::new();
        let mut crossed: Vec<(Reg, PReg)> = Vec::new();
        for (&v, loc) in call_args.iter().zip(&abi.params) {
            match *loc {
                // An f32 beyond fa7 travels in an integer register (ILP32F): its bits.
                ArgLoc::Reg(p) if self.value_type(v) == Type::F32 && !regs::is_float(p) => {
                    let bits = self.temp();
                    let rs = self.src(v)?;
                    self.emit(MInst::FMvToInt { rd: bits, rs });
                    crossed.push((bits, p));
                }
                ArgLoc::Reg(p) => reg_args.push((v, p)),
                ArgLoc::Stack(off) => {
                    let src = self.src(v)?;
                    self.emit(MInst::StoreSp {
                        src,
                        region: SpRegion::Outgoing(off),
                    });
                }
            }
        }
        self.outgoing_bytes = self.outgoing_bytes.max(abi.stack_bytes);
        let mut args = Vec::new();
        if abi.has_result_pointer() {
            let ptr = self.temp();
            self.emit(MInst::AddrSp {
                rd: ptr,
                region: SpRegion::ResultArea(0),
            });
            args.push((ptr, regs::A0));
        }
        args.extend(self.fixed_uses(&reg_args)?);
        args.extend(crossed);
        match &abi.results {
            ResultLocs::Regs(result_regs) => {
                if inst.results.len() != result_regs.len() {
                    return Err(self.err("call result count does not match the callee"));
                }
                let rets = inst
                    .results
                    .iter()
                    .zip(result_regs)
                    .map(|(&v, &p)| Ok((Reg::V(self.vreg(v)?), p)))
                    .collect::<Result<Vec<_>>>()?;
                self.emit(MInst::Call {
                    callee,
                    target,
                    args,
                    rets,
                });
            }
            ResultLocs::Memory {
                offsets,
                size,
                align,
            } => {
                if inst.results.len() != offsets.len() {
                    return Err(self.err("call result count does not match the callee"));
                }
                self.result_area = (
                    self.result_area.0.max(*size),
                    self.result_area.1.max(*align),
                );
                self.emit(MInst::Call {
                    callee,
                    target,
                    args,
                    rets: Vec::new(),
                });
                for (&v, &off) in inst.results.iter().zip(offsets) {
                    let rd = Reg::V(self.vreg(v)?);
                    self.emit(MInst::LoadSp {
                        rd,
                        region: SpRegion::ResultArea(off),
                    });
                }
            }
        }
        Ok(())
    }

    fn inst(&mut self, inst: &ir::Inst) -> Result<()> {
        self.offset = inst.offset;
        let arg = |i: usize| {
            inst.args
                .get(i)
                .copied()
                .ok_or_else(|| internal(self.func, format!("{:?} lacks operand {i}", inst.op)))
        };
        let result = |i: usize| {
            inst.results
                .get(i)
                .map(|v| Reg::V(VReg(v.0)))
                .ok_or_else(|| internal(self.func, format!("{:?} lacks result {i}", inst.op)))
        };
        // Results of fused compares are never materialized.
        if let Some(&r) = inst.results.first()
            && self.fused.get(r.0 as usize).copied().flatten().is_some()
        {
            return Ok(());
        }
        for r in &inst.results {
            self.vreg(*r)?;
        }
        match &inst.op {
            Op::FUnary(_) | Op::FBinary(_) | Op::FCompare(_) | Op::Convert(_) => {
                self.float_inst(inst)?
            }
            Op::Const(c)
                if inst
                    .results
                    .first()
                    .is_some_and(|r| self.value_type(*r) == Type::F32) =>
            {
                self.float_const(result(0)?, *c)
            }
            Op::Const(c) => self.emit(MInst::Li {
                rd: result(0)?,
                imm: *c as i32,
            }),
            Op::Copy => {
                let rs = self.src(arg(0)?)?;
                self.emit(MInst::Move { rd: result(0)?, rs });
            }
            Op::Unary(op) => {
                let (rd, a) = (result(0)?, self.src(arg(0)?)?);
                match op {
                    UnaryOp::Eqz => self.alu_imm(AluImmOp::Sltiu, rd, a, 1),
                    UnaryOp::Extend8S | UnaryOp::Extend16S => {
                        let amount = if *op == UnaryOp::Extend8S { 24 } else { 16 };
                        let t = self.temp();
                        self.alu_imm(AluImmOp::Slli, t, a, amount);
                        self.alu_imm(AluImmOp::Srai, rd, t, amount);
                    }
                    other => {
                        return Err(self.err(format!("{other:?} reached the rv32 back end")));
                    }
                }
            }
            Op::Binary(op) => self.binary(*op, result(0)?, arg(0)?, arg(1)?)?,
            Op::Compare(cond) => self.set_cond(*cond, result(0)?, arg(0)?, arg(1)?)?,
            Op::Select => {
                let test = self.test_for(arg(0)?)?;
                let (if_true, if_false) = (self.src(arg(1)?)?, self.src(arg(2)?)?);
                self.emit(MInst::Select {
                    rd: result(0)?,
                    test,
                    if_true,
                    if_false,
                });
            }
            Op::Load(m) => {
                let kind = LoadKind::new(m.width, m.signed)
                    .ok_or_else(|| self.err(format!("load of width {}", m.width)))?;
                let (base, offset) = self.address(arg(0)?, arg(1)?, m.offset)?;
                self.emit(MInst::Load {
                    kind,
                    rd: result(0)?,
                    base,
                    offset,
                });
            }
            Op::Store(m) => {
                let kind = StoreKind::new(m.width)
                    .ok_or_else(|| self.err(format!("store of width {}", m.width)))?;
                let src = self.src(arg(2)?)?;
                let (base, offset) = self.address(arg(0)?, arg(1)?, m.offset)?;
                self.emit(MInst::Store {
                    kind,
                    src,
                    base,
                    offset,
                });
            }
            Op::TrapIf(code) => {
                let c = arg(0)?;
                let test = match self.fused.get(c.0 as usize).copied().flatten() {
                    Some(Fusable::BothEq(p, q)) => self.both_equal_test(p, q)?,
                    _ => self.test_for(c)?,
                };
                self.emit(MInst::TrapIf { code: *code, test });
            }
            Op::BoundsCheck { end } => {
                let (addr, size) = (self.src(arg(0)?)?, self.src(arg(1)?)?);
                self.emit(MInst::BoundsCheck {
                    addr,
                    size,
                    end: *end,
                });
            }
            Op::SymbolAddr { symbol, offset } => self.emit(MInst::SymAddr {
                rd: result(0)?,
                symbol: *symbol,
                offset: *offset,
            }),
            Op::LoadSymbol { symbol, offset } => self.emit(MInst::LoadSym {
                rd: result(0)?,
                symbol: *symbol,
                offset: *offset,
            }),
            Op::StoreSymbol { symbol, offset } => {
                let src = self.src(arg(0)?)?;
                let tmp = self.temp();
                self.emit(MInst::StoreSym {
                    src,
                    tmp,
                    symbol: *symbol,
                    offset: *offset,
                });
            }
            Op::Call(callee) => self.call(*callee, inst)?,
            Op::CallPtr(sig) => {
                let abi = call_abi(sig, self.hard_f32);
                let (target, args) = inst
                    .args
                    .split_first()
                    .ok_or_else(|| self.err("indirect call without a target"))?;
                let target = self.src(*target)?;
                self.call_with(0, Some(target), abi, inst, args)?
            }
            Op::AddPair | Op::SubPair => {
                let (lo, hi) = (result(0)?, result(1)?);
                let (a_lo, a_hi) = (self.src(arg(0)?)?, self.src(arg(1)?)?);
                let (b_lo, b_hi) = (self.src(arg(2)?)?, self.src(arg(3)?)?);
                self.emit(MInst::PairArith {
                    sub: inst.op == Op::SubPair,
                    lo,
                    hi,
                    a_lo,
                    a_hi,
                    b_lo,
                    b_hi,
                });
            }
            Op::MulWideU | Op::MulWideS => {
                let (a, b) = (self.src(arg(0)?)?, self.src(arg(1)?)?);
                self.emit(MInst::MulWide {
                    signed: inst.op == Op::MulWideS,
                    lo: result(0)?,
                    hi: result(1)?,
                    a,
                    b,
                });
            }
            Op::ShiftPair(op) => {
                let kind = match op {
                    BinaryOp::Shl => ShiftKind::Shl,
                    BinaryOp::ShrS => ShiftKind::ShrS,
                    BinaryOp::ShrU => ShiftKind::ShrU,
                    other => return Err(self.err(format!("ShiftPair({other:?})"))),
                };
                let (lo, hi) = (result(0)?, result(1)?);
                let (a_lo, a_hi) = (self.src(arg(0)?)?, self.src(arg(1)?)?);
                match self.constant(arg(2)?) {
                    Some(c) => self.shift_pair_const(kind, lo, hi, a_lo, a_hi, (c & 63) as u32),
                    None => {
                        let count = self.src(arg(2)?)?;
                        self.emit(MInst::ShiftPair {
                            op: kind,
                            lo,
                            hi,
                            a_lo,
                            a_hi,
                            count,
                        });
                    }
                }
            }
            other => {
                return Err(self.err(format!("{other:?} reached the back end unlegalized")));
            }
        }
        Ok(())
    }

    /// A 64-bit shift by a constant: plain 32-bit shifts, no branches.
    fn shift_pair_const(
        &mut self,
        kind: ShiftKind,
        lo: Reg,
        hi: Reg,
        a_lo: Reg,
        a_hi: Reg,
        n: u32,
    ) {
        let n = n as i32;
        if n == 0 {
            self.emit(MInst::Move { rd: lo, rs: a_lo });
            self.emit(MInst::Move { rd: hi, rs: a_hi });
            return;
        }
        match kind {
            ShiftKind::Shl if n >= 32 => {
                self.shift_imm(AluImmOp::Slli, hi, a_lo, n - 32);
                self.emit(MInst::Li { rd: lo, imm: 0 });
            }
            ShiftKind::Shl => {
                let (t1, t2) = (self.temp(), self.temp());
                self.alu_imm(AluImmOp::Slli, t1, a_hi, n);
                self.alu_imm(AluImmOp::Srli, t2, a_lo, 32 - n);
                self.alu(AluOp::Or, hi, t1, t2);
                self.alu_imm(AluImmOp::Slli, lo, a_lo, n);
            }
            ShiftKind::ShrU | ShiftKind::ShrS if n >= 32 => {
                let op = if kind == ShiftKind::ShrU {
                    AluImmOp::Srli
                } else {
                    AluImmOp::Srai
                };
                self.shift_imm(op, lo, a_hi, n - 32);
                if kind == ShiftKind::ShrU {
                    self.emit(MInst::Li { rd: hi, imm: 0 });
                } else {
                    self.alu_imm(AluImmOp::Srai, hi, a_hi, 31);
                }
            }
            ShiftKind::ShrU | ShiftKind::ShrS => {
                let (t1, t2) = (self.temp(), self.temp());
                self.alu_imm(AluImmOp::Srli, t1, a_lo, n);
                self.alu_imm(AluImmOp::Slli, t2, a_hi, 32 - n);
                self.alu(AluOp::Or, lo, t1, t2);
                let op = if kind == ShiftKind::ShrU {
                    AluImmOp::Srli
                } else {
                    AluImmOp::Srai
                };
                self.alu_imm(op, hi, a_hi, n);
            }
        }
    }

    fn entry(&mut self, block: &ir::BlockData) -> Result<()> {
        self.offset = self.func.offset;
        if block.params.len() != self.abi.params.len() {
            return Err(self.err(format!(
                "entry block has {} parameters, the signature {} words",
                block.params.len(),
                self.abi.params.len()
            )));
        }
        let mut params = Vec::new();
        if let Some(ptr) = self.result_pointer {
            params.push((Reg::V(ptr), regs::A0));
        }
        let mut loads = Vec::new();
        for (&v, loc) in block.params.iter().zip(self.abi.params.clone()) {
            let r = Reg::V(self.vreg(v)?);
            match loc {
                // An f32 beyond fa7 arrives in an integer register (ILP32F): its bits.
                ArgLoc::Reg(p) if self.value_type(v) == Type::F32 && !regs::is_float(p) => {
                    let bits = self.temp();
                    params.push((bits, p));
                    loads.push(MInst::FMvFromInt { rd: r, rs: bits });
                }
                ArgLoc::Reg(p) => params.push((r, p)),
                ArgLoc::Stack(off) => loads.push(MInst::LoadSp {
                    rd: r,
                    region: SpRegion::Incoming(off),
                }),
            }
        }
        self.code.push(MInst::Entry { params }, None);
        for load in loads {
            self.emit(load);
        }
        Ok(())
    }

    /// Lower a terminator; returns the jump arguments.
    fn terminator(&mut self, block: &ir::BlockData) -> Result<Vec<VReg>> {
        self.offset = block.term_offset;
        match &block.term {
            Terminator::Jump { target, args } => {
                let target = self.block(*target)?;
                let args = args
                    .iter()
                    .map(|&v| self.vreg(v))
                    .collect::<Result<Vec<_>>>()?;
                self.emit(MInst::Jump { target });
                Ok(args)
            }
            Terminator::Branch {
                cond,
                then_block,
                else_block,
            } => {
                let (then_block, else_block) = (self.block(*then_block)?, self.block(*else_block)?);
                if then_block == else_block {
                    self.emit(MInst::Jump { target: then_block });
                } else {
                    let test = self.test_for(*cond)?;
                    self.emit(MInst::Branch {
                        test,
                        then_block,
                        else_block,
                    });
                }
                Ok(Vec::new())
            }
            Terminator::Switch {
                index,
                targets,
                default,
            } => {
                let index = Reg::V(self.vreg(*index)?);
                let targets = targets
                    .iter()
                    .map(|&t| self.block(t))
                    .collect::<Result<Vec<_>>>()?;
                let default = self.block(*default)?;
                self.emit(MInst::Switch {
                    index,
                    targets,
                    default,
                });
                Ok(Vec::new())
            }
            Terminator::Return { values } => {
                match self.abi.results.clone() {
                    ResultLocs::Regs(result_regs) => {
                        if values.len() != result_regs.len() {
                            return Err(self.err("return value count does not match the signature"));
                        }
                        let pairs: Vec<(Value, PReg)> =
                            values.iter().copied().zip(result_regs).collect();
                        let values = self.fixed_uses(&pairs)?;
                        self.emit(MInst::Return { values });
                    }
                    ResultLocs::Memory { offsets, .. } => {
                        let ptr = self
                            .result_pointer
                            .ok_or_else(|| self.err("no result pointer"))?;
                        if values.len() != offsets.len() {
                            return Err(self.err("return value count does not match the signature"));
                        }
                        // Offsets beyond the 12-bit store immediate use a base advanced in
                        // 2 KiB steps, made once per step.
                        let mut far_bases: Vec<(u32, VReg)> = Vec::new();
                        for (&v, off) in values.iter().zip(offsets) {
                            let src = self.src(v)?;
                            let step = off / 2048 * 2048;
                            let base = if step == 0 {
                                ptr
                            } else if let Some(&(_, base)) =
                                far_bases.iter().find(|(s, _)| *s == step)
                            {
                                base
                            } else {
                                let delta = self.new_vreg();
                                let base = self.new_vreg();
                                self.emit(MInst::Li {
                                    rd: Reg::V(delta),
                                    imm: step as i32,
                                });
                                self.emit(MInst::Alu {
                                    op: AluOp::Add,
                                    rd: Reg::V(base),
                                    rs1: Reg::V(ptr),
                                    rs2: Reg::V(delta),
                                });
                                far_bases.push((step, base));
                                base
                            };
                            self.emit(MInst::Store {
                                kind: StoreKind::W,
                                src,
                                base: Reg::V(base),
                                offset: (off - step) as i32,
                            });
                        }
                        self.emit(MInst::Return { values: Vec::new() });
                    }
                }
                Ok(Vec::new())
            }
            Terminator::Trap { code } => {
                self.emit(MInst::Trap { code: *code });
                Ok(Vec::new())
            }
        }
    }
}

/// Compares and `eqz`s whose single use is a branch, `TrapIf` or `Select` condition later in the
/// same block.
fn find_fusable(func: &ir::Function) -> Vec<Option<Fusable>> {
    let n = func.value_types.len();
    let mut uses = vec![0u32; n];
    let mut count = |v: &Value| {
        if let Some(c) = uses.get_mut(v.0 as usize) {
            *c += 1;
        }
    };
    for b in &func.blocks {
        b.insts.iter().flat_map(|i| &i.args).for_each(&mut count);
        b.term.uses().iter().for_each(&mut count);
    }
    let mut fused = vec![None; n];
    for b in &func.blocks {
        let mut candidates: Vec<(Value, Fusable)> = Vec::new();
        let take =
            |v: Value, fused: &mut Vec<Option<Fusable>>, cands: &mut Vec<(Value, Fusable)>| {
                if let Some(&(_, how)) = cands.iter().find(|c| c.0 == v)
                    && uses.get(v.0 as usize) == Some(&1)
                    && let Some(slot) = fused.get_mut(v.0 as usize)
                {
                    *slot = Some(how);
                }
            };
        // `and`s of two `==` compares used only there: (result, compares).
        let mut ands: Vec<(Value, Value, Value)> = Vec::new();
        for inst in &b.insts {
            if matches!(inst.op, Op::TrapIf(_) | Op::Select)
                && let Some(&c) = inst.args.first()
            {
                take(c, &mut fused, &mut candidates);
            }
            if let (Op::TrapIf(_), &[c]) = (&inst.op, inst.args.as_slice())
                && let Some(&(_, p, q)) = ands.iter().find(|a| a.0 == c)
                && uses.get(c.0 as usize) == Some(&1)
            {
                take(p, &mut fused, &mut candidates);
                take(q, &mut fused, &mut candidates);
                fused[c.0 as usize] = Some(Fusable::BothEq(p, q));
            }
            let eq_once = |v: Value| {
                uses.get(v.0 as usize) == Some(&1)
                    && candidates
                        .iter()
                        .any(|c| c.0 == v && matches!(c.1, Fusable::Compare(Cond::Eq, ..)))
            };
            if let (Op::Binary(BinaryOp::And), [r], &[p, q]) =
                (&inst.op, inst.results.as_slice(), inst.args.as_slice())
                && p != q
                && eq_once(p)
                && eq_once(q)
            {
                ands.push((*r, p, q));
            }
            let single = |r: &[Value]| (r.len() == 1).then(|| r[0]);
            match (&inst.op, single(&inst.results), inst.args.as_slice()) {
                (Op::Compare(cond), Some(r), &[a, b]) => {
                    candidates.push((r, Fusable::Compare(*cond, a, b)))
                }
                (Op::Unary(UnaryOp::Eqz), Some(r), &[a]) => candidates.push((r, Fusable::Eqz(a))),
                _ => {}
            }
        }
        if let Terminator::Branch { cond, .. } = b.term {
            take(cond, &mut fused, &mut candidates);
        }
    }
    fused
}

/// Lower `module.bodies[body]`; `hard_f32`: the target has F (its f32 values are hardware
/// floats and travel in the ILP32F convention).
pub fn lower(module: &ir::Module, body: usize, hard_f32: bool) -> Result<Lowered> {
    let func = module
        .bodies
        .get(body)
        .ok_or_else(|| CompileError::internal(format!("no function body {body}")))?;
    if func.blocks.is_empty() {
        return Err(internal(func, "function has no blocks"));
    }
    let order = func.reverse_postorder();
    let mut block_map = vec![None; func.blocks.len()];
    for (i, b) in order.iter().enumerate() {
        block_map[b.0 as usize] = Some(i);
    }
    let mut consts = vec![None; func.value_types.len()];
    for b in &func.blocks {
        for inst in &b.insts {
            // Float constants are not immediates: they are built in their F register.
            if let (Op::Const(c), [r]) = (&inst.op, inst.results.as_slice())
                && func.value_types.get(r.0 as usize) == Some(&Type::I32)
                && let Some(slot) = consts.get_mut(r.0 as usize)
            {
                *slot = Some(*c as i32);
            }
        }
    }
    let abi = call_abi(&func.sig, hard_f32);
    let mut ctx = Ctx {
        module,
        func,
        consts,
        fused: find_fusable(func),
        next_vreg: func.value_types.len() as u32,
        block_map,
        result_pointer: None,
        abi,
        code: VCodeBuilder::new(),
        offset: func.offset,
        outgoing_bytes: 0,
        result_area: (0, 4),
        has_calls: false,
        hard_f32,
    };
    ctx.assign_float_classes()?;
    if ctx.abi.has_result_pointer() {
        ctx.result_pointer = Some(ctx.new_vreg());
    }

    for (i, &b) in order.iter().enumerate() {
        let data = func.block(b);
        if i == 0 {
            ctx.code.begin_block(Vec::new());
            ctx.entry(data)?;
        } else {
            let params = data
                .params
                .iter()
                .map(|&v| ctx.vreg(v))
                .collect::<Result<Vec<_>>>()?;
            ctx.code.begin_block(params);
        }
        for inst in &data.insts {
            ctx.inst(inst)?;
        }
        let args = ctx.terminator(data)?;
        ctx.code.set_jump_args(args)?;
    }
    if func.predecessors().first().is_some_and(|p| !p.is_empty()) {
        return Err(internal(func, "the entry block is a branch target"));
    }

    Ok(Lowered {
        code: ctx.code.finish(ctx.next_vreg as usize)?,
        incoming_bytes: ctx.abi.stack_bytes,
        outgoing_bytes: ctx.outgoing_bytes,
        result_area: ctx.result_area,
        has_calls: ctx.has_calls,
    })
}

/// `k` as `upper + low` with `upper` a multiple of 4096 (one `lui`) and `low` a signed 12-bit
/// immediate, so a load or store takes `low` as its offset.
fn split_hi_lo(k: i32) -> (i32, i32) {
    let low = ((k as u32 & 0xfff) as i32) << 20 >> 20;
    (k.wrapping_sub(low), low)
}

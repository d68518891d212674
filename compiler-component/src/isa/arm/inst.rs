//! Machine instructions over virtual registers: what lowering produces and the allocator sees.
//! Each one expands (in `emit.rs`) into a short, fixed sequence of Thumb-2 instructions with
//! no allocator edit in between, so flags set inside one never leak to another and ip (the
//! scratch register) may be used inside one.

use super::asm::{VBinOp, VUnOp};
use super::encode::modimm;
use super::regs::caller_saved;
use crate::ir::{BinaryOp, Cond, FCond, Symbol, TrapCode, UnaryOp};
use crate::isa::vcode::MachInst;
use crate::regalloc::{Operand, PReg, PRegSet, VReg};

/// A second operand: a register or an immediate that the instruction encodes directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    Reg(VReg),
    Imm(u32),
}

/// `lhs cond rhs`, evaluated by a compare right before its consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Test {
    pub cond: Cond,
    pub lhs: VReg,
    /// An immediate here is always encodable by `cmp`/`cmn` (see `lower::cmp_imm_ok`).
    pub rhs: Src,
}

/// Memory access width and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub width: u8,
    pub signed: bool,
}

/// Stack words addressed relative to sp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackRef {
    /// Offset from sp after the prologue (outgoing arguments, call result area).
    Local(u32),
    /// Offset from sp at function entry (this function's stack arguments).
    Incoming(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MInst {
    /// Function entry: the parameters arrive in fixed registers.
    Entry {
        defs: Vec<(VReg, PReg)>,
    },
    /// `double`: an f64 in a D register (8 bytes); otherwise one word.
    LoadStack {
        rd: VReg,
        slot: StackRef,
        double: bool,
    },
    StoreStack {
        value: VReg,
        slot: StackRef,
        double: bool,
    },
    /// rd = sp + offset (address of a call result area).
    StackAddr {
        rd: VReg,
        offset: u32,
    },
    Const {
        rd: VReg,
        value: u32,
    },
    Move {
        rd: VReg,
        rm: VReg,
    },
    /// Any i32 `BinaryOp`; an immediate `rm` is encodable (see `lower::alu_imm_ok`).
    Alu {
        op: BinaryOp,
        rd: VReg,
        rn: VReg,
        rm: Src,
    },
    /// rd = rn op (rm shift amount): Add, Sub, And, Or or Xor with a second operand shifted
    /// or rotated by a constant (`shift` is Shl, ShrU, ShrS, Rotl or Rotr; amount 1..=31, a
    /// left rotate emitted as `ror #(32 - amount)`), one `<op>.w` instruction.
    AluShifted {
        op: BinaryOp,
        rd: VReg,
        rn: VReg,
        rm: VReg,
        shift: BinaryOp,
        amount: u8,
    },
    /// rd = rn & !rm (`bic`), or rn | !rm (`or`: `orn`).
    AluNot {
        or: bool,
        rd: VReg,
        rn: VReg,
        rm: VReg,
    },
    /// rd = ra + rn * rm (`mla`), or ra - rn * rm (`sub`: `mls`).
    MulAdd {
        sub: bool,
        rd: VReg,
        rn: VReg,
        rm: VReg,
        ra: VReg,
    },
    /// Clz, Ctz, Eqz, Extend8S, Extend16S.
    Unary {
        op: UnaryOp,
        rd: VReg,
        rm: VReg,
    },
    /// rd = rm clamped to a signed `bits`-bit range (`ssat`) or to `0..2^bits` (`usat`).
    Saturate {
        signed: bool,
        bits: u8,
        rd: VReg,
        rm: VReg,
    },
    /// rd = test ? 1 : 0.
    SetCond {
        rd: VReg,
        test: Test,
    },
    Select {
        rd: VReg,
        test: Test,
        if_true: VReg,
        if_false: VReg,
    },
    /// rd = memory[base + index + offset].
    /// `base + index << shift + offset`; a shift (1..=3) only with a register index and no
    /// offset (`ldr rd, [rn, rm, lsl #shift]`).
    Load {
        access: Access,
        rd: VReg,
        base: VReg,
        index: Src,
        shift: u8,
        offset: u32,
    },
    Store {
        access: Access,
        value: VReg,
        base: VReg,
        index: Src,
        shift: u8,
        offset: u32,
    },
    TrapIf {
        test: Test,
        code: TrapCode,
    },
    /// Trap when both tests hold; they share one condition (cmp, it, cmp, branch).
    TrapIfBoth {
        tests: [Test; 2],
        code: TrapCode,
    },
    /// Trap unless addr + end <= bytes (unbounded arithmetic).
    BoundsCheck {
        addr: VReg,
        bytes: VReg,
        end: u64,
    },
    SymbolAddr {
        rd: VReg,
        symbol: Symbol,
        offset: u32,
    },
    LoadSymbol {
        rd: VReg,
        symbol: Symbol,
        offset: u32,
    },
    StoreSymbol {
        value: VReg,
        symbol: Symbol,
        offset: u32,
    },
    /// 64-bit add/sub of register pairs; `lo` is written before the high words are read.
    PairArith {
        sub: bool,
        lo: VReg,
        hi: VReg,
        a: [VReg; 2],
        b: [VReg; 2],
    },
    /// lo:hi = a * b, 64-bit (smull/umull).
    MulWide {
        signed: bool,
        lo: VReg,
        hi: VReg,
        a: VReg,
        b: VReg,
    },
    /// lo:hi = acc + a * b, 64-bit: one smlal/umlal when lo:hi land in acc's registers
    /// (the allocator is asked to put them there), else a few instructions more.
    MulAcc {
        signed: bool,
        lo: VReg,
        hi: VReg,
        acc: [VReg; 2],
        a: VReg,
        b: VReg,
    },
    /// 64-bit shift by a register count (mod 64); `tmp` is scratch.
    ShiftPair {
        op: BinaryOp,
        lo: VReg,
        hi: VReg,
        tmp: VReg,
        a: [VReg; 2],
        count: VReg,
    },
    /// 64-bit shift by a constant 1..=31 (other counts lower to plain moves and shifts).
    ShiftPairImm {
        op: BinaryOp,
        lo: VReg,
        hi: VReg,
        a: [VReg; 2],
        amount: u8,
    },
    /// `bl` to function `func`, or `blx target` when `target` is set (an indirect call; `func`
    /// is then unused).
    Call {
        func: u32,
        target: Option<VReg>,
        args: Vec<(VReg, PReg)>,
        results: Vec<(VReg, PReg)>,
    },

    // ---- VFP (float vregs are class 1; `double`: an f64 on FPv5-D16, else an f32) ----
    FConst {
        rd: VReg,
        bits: u64,
        double: bool,
    },
    /// vadd / vsub / vmul / vdiv.
    FBin {
        op: VBinOp,
        double: bool,
        rd: VReg,
        rn: VReg,
        rm: VReg,
    },
    /// vabs / vneg / vsqrt / vrint*.
    FUn {
        op: VUnOp,
        double: bool,
        rd: VReg,
        rm: VReg,
    },
    /// rd = |rn| with the sign of rm.
    FCopysign {
        double: bool,
        rd: VReg,
        rn: VReg,
        rm: VReg,
    },
    /// Wasm min/max. FPv5 (`tmp: None`): vmaxnm/vminnm with a NaN fix-up, `rd` written early.
    /// FPv4 (`tmp`: a core scratch): selected by the compare, equal operands (±0) combined
    /// bitwise.
    FMinMax {
        max: bool,
        double: bool,
        rd: VReg,
        rn: VReg,
        rm: VReg,
        tmp: Option<VReg>,
    },
    /// rd (core) = rn cond rm ? 1 : 0.
    FCmp {
        cond: FCond,
        double: bool,
        rd: VReg,
        rn: VReg,
        rm: VReg,
    },
    FSelect {
        double: bool,
        rd: VReg,
        test: Test,
        if_true: VReg,
        if_false: VReg,
    },
    /// vcvt.f64.f32 (`to_double`) / vcvt.f32.f64.
    FCvt {
        to_double: bool,
        rd: VReg,
        rm: VReg,
    },
    /// rd (core) = the saturating conversion of rm toward zero, through the float `tmp`.
    FToInt {
        signed: bool,
        double: bool,
        rd: VReg,
        rm: VReg,
        tmp: VReg,
    },
    /// rd (float) = rm (core) converted, rounded to nearest.
    FFromInt {
        signed: bool,
        double: bool,
        rd: VReg,
        rm: VReg,
    },
    /// rd (core) = a word of rm: its S register, or on FPv5-D16 (`high`) the upper half.
    FToCore {
        rd: VReg,
        rm: VReg,
        high: bool,
    },
    /// rd (f32 or FPv4 S register) = rm (core).
    FFromCore {
        rd: VReg,
        rm: VReg,
    },
    /// rd (an FPv5-D16 f64) = hi:lo.
    FFromCore2 {
        rd: VReg,
        lo: VReg,
        hi: VReg,
    },
    /// FPv5-D16: rd = the f32 in the high half of rm's D register (an argument in s_2n+1).
    FHighHalf {
        rd: VReg,
        rm: VReg,
    },
    /// FPv5-D16: rd's D register = hi:lo, two f32 (arguments for s_2n and s_2n+1).
    FPack {
        rd: VReg,
        lo: VReg,
        hi: VReg,
    },

    // ---- terminators (block indices are machine blocks) ----
    /// Block arguments are not operands: the allocator moves them (`VCode` jump arguments).
    Jump {
        target: usize,
    },
    Branch {
        test: Test,
        then_block: usize,
        else_block: usize,
    },
    /// Branch on a float compare (`vcmp` + `vmrs` + `b<cc>`); unordered operands make every
    /// condition but `Ne` false.
    FBranch {
        cond: FCond,
        double: bool,
        rn: VReg,
        rm: VReg,
        then_block: usize,
        else_block: usize,
    },
    /// `targets[index]` if index < len, else `default`.
    Switch {
        index: VReg,
        targets: Vec<usize>,
        default: usize,
    },
    Return {
        values: Vec<(VReg, PReg)>,
    },
    Trap {
        code: TrapCode,
    },
}

fn use_src(ops: &mut Vec<Operand>, s: Src) {
    if let Src::Reg(r) = s {
        ops.push(Operand::use_reg(r));
    }
}

fn use_test(ops: &mut Vec<Operand>, t: &Test) {
    ops.push(Operand::use_reg(t.lhs));
    use_src(ops, t.rhs);
}

/// The defs of a 64-bit shift: the word computed first (the one taking bits from the other) is
/// written while the inputs are still needed, so it is an early def.
fn shift_pair_defs(op: BinaryOp, lo: VReg, hi: VReg) -> [Operand; 2] {
    let (early, late) = if op == BinaryOp::Shl {
        (hi, lo)
    } else {
        (lo, hi)
    };
    [Operand::early_def_reg(early), Operand::def_reg(late)]
}

impl MachInst for MInst {
    fn is_terminator(&self) -> bool {
        matches!(
            self,
            MInst::Jump { .. }
                | MInst::Branch { .. }
                | MInst::FBranch { .. }
                | MInst::Switch { .. }
                | MInst::Return { .. }
                | MInst::Trap { .. }
        )
    }

    /// Machine-block successors of a terminator.
    fn successors(&self) -> Vec<usize> {
        match self {
            MInst::Jump { target } => vec![*target],
            MInst::Branch {
                then_block,
                else_block,
                ..
            }
            | MInst::FBranch {
                then_block,
                else_block,
                ..
            } => vec![*then_block, *else_block],
            MInst::Switch {
                targets, default, ..
            } => {
                let mut v = targets.clone();
                v.push(*default);
                v.sort_unstable();
                v.dedup();
                v
            }
            _ => Vec::new(),
        }
    }

    fn operands(&self) -> Vec<Operand> {
        // Most instructions have up to four operands: one allocation, no regrowth.
        let mut ops = Vec::with_capacity(4);
        let o = &mut ops;
        match self {
            MInst::Entry { defs } => {
                o.extend(defs.iter().map(|(v, p)| Operand::def_fixed(*v, *p)));
            }
            MInst::LoadStack { rd, .. }
            | MInst::StackAddr { rd, .. }
            | MInst::Const { rd, .. }
            | MInst::SymbolAddr { rd, .. }
            | MInst::LoadSymbol { rd, .. } => o.push(Operand::def_reg(*rd)),
            MInst::StoreStack { value, .. } | MInst::StoreSymbol { value, .. } => {
                o.push(Operand::use_reg(*value))
            }
            MInst::Move { rd, rm }
            | MInst::Unary { rd, rm, .. }
            | MInst::Saturate { rd, rm, .. } => {
                o.push(Operand::use_reg(*rm));
                o.push(Operand::def_reg(*rd));
            }
            MInst::Alu { rd, rn, rm, .. } => {
                o.push(Operand::use_reg(*rn));
                use_src(o, *rm);
                o.push(Operand::def_reg(*rd));
            }
            MInst::AluShifted { rd, rn, rm, .. } | MInst::AluNot { rd, rn, rm, .. } => {
                o.push(Operand::use_reg(*rn));
                o.push(Operand::use_reg(*rm));
                o.push(Operand::def_reg(*rd));
            }
            MInst::MulAdd { rd, rn, rm, ra, .. } => {
                o.push(Operand::use_reg(*rn));
                o.push(Operand::use_reg(*rm));
                o.push(Operand::use_reg(*ra));
                o.push(Operand::def_reg(*rd));
            }
            MInst::SetCond { rd, test } => {
                use_test(o, test);
                o.push(Operand::def_reg(*rd));
            }
            MInst::Select {
                rd,
                test,
                if_true,
                if_false,
            } => {
                use_test(o, test);
                o.push(Operand::use_reg(*if_true));
                o.push(Operand::use_reg(*if_false));
                o.push(Operand::def_reg(*rd));
            }
            MInst::Load {
                rd, base, index, ..
            } => {
                o.push(Operand::use_reg(*base));
                use_src(o, *index);
                o.push(Operand::def_reg(*rd));
            }
            MInst::Store {
                value, base, index, ..
            } => {
                o.push(Operand::use_reg(*value));
                o.push(Operand::use_reg(*base));
                use_src(o, *index);
            }
            MInst::TrapIf { test, .. } | MInst::Branch { test, .. } => use_test(o, test),
            MInst::TrapIfBoth { tests, .. } => tests.iter().for_each(|t| use_test(o, t)),
            MInst::BoundsCheck { addr, bytes, .. } => {
                o.push(Operand::use_reg(*addr));
                o.push(Operand::use_reg(*bytes));
            }
            MInst::PairArith { lo, hi, a, b, .. } => {
                o.extend(a.iter().chain(b).map(|v| Operand::use_reg(*v)));
                o.push(Operand::early_def_reg(*lo));
                o.push(Operand::def_reg(*hi));
            }
            MInst::MulWide { lo, hi, a, b, .. } => {
                o.push(Operand::use_reg(*a));
                o.push(Operand::use_reg(*b));
                o.push(Operand::def_reg(*lo));
                o.push(Operand::def_reg(*hi));
            }
            MInst::MulAcc {
                lo, hi, acc, a, b, ..
            } => {
                o.extend(acc.iter().map(|v| Operand::use_reg(*v)));
                o.push(Operand::use_reg(*a));
                o.push(Operand::use_reg(*b));
                o.push(Operand::def_reg(*lo));
                o.push(Operand::def_reg(*hi));
            }
            MInst::ShiftPair {
                op,
                lo,
                hi,
                tmp,
                a,
                count,
            } => {
                o.extend(a.iter().map(|v| Operand::use_reg(*v)));
                o.push(Operand::use_reg(*count));
                o.push(Operand::early_def_reg(*tmp));
                o.extend(shift_pair_defs(*op, *lo, *hi));
            }
            MInst::ShiftPairImm { op, lo, hi, a, .. } => {
                o.extend(a.iter().map(|v| Operand::use_reg(*v)));
                o.extend(shift_pair_defs(*op, *lo, *hi));
            }
            MInst::Call {
                args,
                results,
                target,
                ..
            } => {
                o.extend(args.iter().map(|(v, p)| Operand::use_fixed(*v, *p)));
                o.extend(target.iter().map(|v| Operand::use_reg(*v)));
                o.extend(results.iter().map(|(v, p)| Operand::def_fixed(*v, *p)));
            }
            MInst::Switch { index, .. } => o.push(Operand::use_reg(*index)),
            MInst::FBranch { rn, rm, .. } => {
                o.push(Operand::use_reg(*rn));
                o.push(Operand::use_reg(*rm));
            }
            MInst::FConst { rd, .. } => o.push(Operand::def_reg(*rd)),
            MInst::FBin { rd, rn, rm, .. }
            | MInst::FCmp { rd, rn, rm, .. }
            | MInst::FCopysign { rd, rn, rm, .. } => {
                o.push(Operand::use_reg(*rn));
                o.push(Operand::use_reg(*rm));
                o.push(Operand::def_reg(*rd));
            }
            MInst::FMinMax {
                rd, rn, rm, tmp, ..
            } => {
                o.push(Operand::use_reg(*rn));
                o.push(Operand::use_reg(*rm));
                match tmp {
                    Some(t) => {
                        o.push(Operand::early_def_reg(*t));
                        o.push(Operand::def_reg(*rd));
                    }
                    None => o.push(Operand::early_def_reg(*rd)),
                }
            }
            MInst::FUn { rd, rm, .. }
            | MInst::FCvt { rd, rm, .. }
            | MInst::FFromInt { rd, rm, .. }
            | MInst::FToCore { rd, rm, .. }
            | MInst::FFromCore { rd, rm }
            | MInst::FHighHalf { rd, rm } => {
                o.push(Operand::use_reg(*rm));
                o.push(Operand::def_reg(*rd));
            }
            MInst::FToInt { rd, rm, tmp, .. } => {
                o.push(Operand::use_reg(*rm));
                o.push(Operand::early_def_reg(*tmp));
                o.push(Operand::def_reg(*rd));
            }
            MInst::FFromCore2 { rd, lo, hi } => {
                o.push(Operand::use_reg(*lo));
                o.push(Operand::use_reg(*hi));
                o.push(Operand::def_reg(*rd));
            }
            MInst::FPack { rd, lo, hi } => {
                o.push(Operand::use_reg(*lo));
                o.push(Operand::use_reg(*hi));
                o.push(Operand::early_def_reg(*rd));
            }
            MInst::FSelect {
                rd,
                test,
                if_true,
                if_false,
                ..
            } => {
                use_test(o, test);
                o.push(Operand::use_reg(*if_true));
                o.push(Operand::use_reg(*if_false));
                o.push(Operand::def_reg(*rd));
            }
            MInst::Return { values } => {
                o.extend(values.iter().map(|(v, p)| Operand::use_fixed(*v, *p)));
            }
            MInst::Jump { .. } | MInst::Trap { .. } => {}
        }
        ops
    }

    fn clobbers(&self) -> PRegSet {
        match self {
            MInst::Call { .. } => caller_saved(),
            _ => PRegSet::EMPTY,
        }
    }

    fn as_move(&self) -> Option<(VReg, VReg)> {
        match *self {
            MInst::Move { rd, rm } => Some((rd, rm)),
            _ => None,
        }
    }

    fn reuse_hints(&self) -> Vec<(VReg, VReg)> {
        match *self {
            MInst::MulAcc { lo, hi, acc, .. } => vec![(lo, acc[0]), (hi, acc[1])],
            _ => Vec::new(),
        }
    }

    fn as_constant(&self) -> Option<(VReg, u32)> {
        match *self {
            MInst::Const { rd, value } => Some((rd, value)),
            _ => None,
        }
    }

    /// movs, mov/mvn with a modified immediate, or movw.
    fn is_one_instruction_constant(value: u32) -> bool {
        value <= 0xffff || modimm(value).is_some() || modimm(!value).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regalloc::OperandKind;

    #[test]
    fn multi_word_results_written_early_are_early_defs() {
        let v = |n| VReg(n);
        let add = MInst::PairArith {
            sub: false,
            lo: v(4),
            hi: v(5),
            a: [v(0), v(1)],
            b: [v(2), v(3)],
        };
        let ops = add.operands();
        assert_eq!(ops.len(), 6);
        assert_eq!(ops[4].kind, OperandKind::EarlyDef);
        assert_eq!(ops[5].kind, OperandKind::Def);
        let shl = MInst::ShiftPair {
            op: BinaryOp::Shl,
            lo: v(4),
            hi: v(5),
            tmp: v(6),
            a: [v(0), v(1)],
            count: v(2),
        };
        let ops = shl.operands();
        let early: Vec<VReg> = ops
            .iter()
            .filter(|o| o.kind == OperandKind::EarlyDef)
            .map(|o| o.vreg)
            .collect();
        assert_eq!(early, vec![v(6), v(5)]);
    }

    #[test]
    fn calls_clobber_the_caller_saved_registers_and_switch_successors_are_unique() {
        let call = MInst::Call {
            func: 0,
            target: None,
            args: vec![],
            results: vec![],
        };
        assert!(call.clobbers().contains(PReg(14)));
        assert!(!call.clobbers().contains(PReg(4)));
        let sw = MInst::Switch {
            index: VReg(0),
            targets: vec![3, 1, 3],
            default: 1,
        };
        assert_eq!(sw.successors(), vec![1, 3]);
        assert!(sw.is_terminator());
    }
}

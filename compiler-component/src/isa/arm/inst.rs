//! Machine instructions over virtual registers: what lowering produces and the allocator sees.
//! Each one expands (in `emit.rs`) into a short, fixed sequence of Thumb-2 instructions with
//! no allocator edit in between, so flags set inside one never leak to another and ip (the
//! scratch register) may be used inside one.

use super::encode::modimm;
use super::regs::caller_saved;
use crate::ir::{BinaryOp, Cond, Symbol, TrapCode, UnaryOp};
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
    LoadStack {
        rd: VReg,
        slot: StackRef,
    },
    StoreStack {
        value: VReg,
        slot: StackRef,
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
    /// Clz, Ctz, Eqz, Extend8S, Extend16S.
    Unary {
        op: UnaryOp,
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
    Load {
        access: Access,
        rd: VReg,
        base: VReg,
        index: Src,
        offset: u32,
    },
    Store {
        access: Access,
        value: VReg,
        base: VReg,
        index: Src,
        offset: u32,
    },
    TrapIf {
        test: Test,
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
    MulWideU {
        lo: VReg,
        hi: VReg,
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
    Call {
        func: u32,
        args: Vec<(VReg, PReg)>,
        results: Vec<(VReg, PReg)>,
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
        let mut ops = Vec::new();
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
            MInst::Move { rd, rm } | MInst::Unary { rd, rm, .. } => {
                o.push(Operand::use_reg(*rm));
                o.push(Operand::def_reg(*rd));
            }
            MInst::Alu { rd, rn, rm, .. } => {
                o.push(Operand::use_reg(*rn));
                use_src(o, *rm);
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
            MInst::BoundsCheck { addr, bytes, .. } => {
                o.push(Operand::use_reg(*addr));
                o.push(Operand::use_reg(*bytes));
            }
            MInst::PairArith { lo, hi, a, b, .. } => {
                o.extend(a.iter().chain(b).map(|v| Operand::use_reg(*v)));
                o.push(Operand::early_def_reg(*lo));
                o.push(Operand::def_reg(*hi));
            }
            MInst::MulWideU { lo, hi, a, b } => {
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
            MInst::Call { args, results, .. } => {
                o.extend(args.iter().map(|(v, p)| Operand::use_fixed(*v, *p)));
                o.extend(results.iter().map(|(v, p)| Operand::def_fixed(*v, *p)));
            }
            MInst::Switch { index, .. } => o.push(Operand::use_reg(*index)),
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

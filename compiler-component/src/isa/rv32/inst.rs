//! Machine instructions.
//!
//! `MInst<R>` is what lowering produces and the allocator sees: real instructions plus a few
//! pseudo-instructions whose expansion needs the scratch register t6 or a short internal branch
//! (so they must not be split by allocator edits). `R` is `Reg` (virtual) before allocation and
//! `PReg` after; one visitor (`map_regs`) serves both the operand list and the rewrite, so the
//! two can never disagree about operand order.
//!
//! `PInst` is one real instruction over physical registers, with its printer in LLVM syntax;
//! `encode.rs` encodes it.

pub use super::encode::f::{Csr, CsrOp, FBinOp, FCmpOp, FFmt, FReg, Rm};
use super::regs;
use crate::ir::{Symbol, TrapCode};
use crate::isa::vcode::MachInst;
use crate::regalloc::{Operand, PReg, PRegSet, VReg};

/// A register operand before allocation: a virtual register or the hard-wired zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Zero,
    V(VReg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
}

impl AluOp {
    pub fn mnemonic(self) -> &'static str {
        match self {
            AluOp::Add => "add",
            AluOp::Sub => "sub",
            AluOp::Sll => "sll",
            AluOp::Slt => "slt",
            AluOp::Sltu => "sltu",
            AluOp::Xor => "xor",
            AluOp::Srl => "srl",
            AluOp::Sra => "sra",
            AluOp::Or => "or",
            AluOp::And => "and",
            AluOp::Mul => "mul",
            AluOp::Mulh => "mulh",
            AluOp::Mulhu => "mulhu",
            AluOp::Div => "div",
            AluOp::Divu => "divu",
            AluOp::Rem => "rem",
            AluOp::Remu => "remu",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluImmOp {
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
}

impl AluImmOp {
    pub fn mnemonic(self) -> &'static str {
        match self {
            AluImmOp::Addi => "addi",
            AluImmOp::Slti => "slti",
            AluImmOp::Sltiu => "sltiu",
            AluImmOp::Xori => "xori",
            AluImmOp::Ori => "ori",
            AluImmOp::Andi => "andi",
            AluImmOp::Slli => "slli",
            AluImmOp::Srli => "srli",
            AluImmOp::Srai => "srai",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    B,
    Bu,
    H,
    Hu,
    W,
}

impl LoadKind {
    pub fn new(width: u8, signed: bool) -> Option<LoadKind> {
        match (width, signed) {
            (1, true) => Some(LoadKind::B),
            (1, false) => Some(LoadKind::Bu),
            (2, true) => Some(LoadKind::H),
            (2, false) => Some(LoadKind::Hu),
            (4, _) => Some(LoadKind::W),
            _ => None,
        }
    }
    pub fn mnemonic(self) -> &'static str {
        match self {
            LoadKind::B => "lb",
            LoadKind::Bu => "lbu",
            LoadKind::H => "lh",
            LoadKind::Hu => "lhu",
            LoadKind::W => "lw",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    B,
    H,
    W,
}

impl StoreKind {
    pub fn new(width: u8) -> Option<StoreKind> {
        match width {
            1 => Some(StoreKind::B),
            2 => Some(StoreKind::H),
            4 => Some(StoreKind::W),
            _ => None,
        }
    }
    pub fn mnemonic(self) -> &'static str {
        match self {
            StoreKind::B => "sb",
            StoreKind::H => "sh",
            StoreKind::W => "sw",
        }
    }
}

/// Conditions of the RISC-V conditional branches (others by swapping operands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrCond {
    Eq,
    Ne,
    Lt,
    Ge,
    Ltu,
    Geu,
}

impl BrCond {
    pub fn inverse(self) -> BrCond {
        match self {
            BrCond::Eq => BrCond::Ne,
            BrCond::Ne => BrCond::Eq,
            BrCond::Lt => BrCond::Ge,
            BrCond::Ge => BrCond::Lt,
            BrCond::Ltu => BrCond::Geu,
            BrCond::Geu => BrCond::Ltu,
        }
    }
    pub fn mnemonic(self) -> &'static str {
        match self {
            BrCond::Eq => "beq",
            BrCond::Ne => "bne",
            BrCond::Lt => "blt",
            BrCond::Ge => "bge",
            BrCond::Ltu => "bltu",
            BrCond::Geu => "bgeu",
        }
    }
}

/// `a cond b`, as a branch tests it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Test<R> {
    pub cond: BrCond,
    pub a: R,
    pub b: R,
}

/// An sp-relative place whose offset is known only once the frame is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpRegion {
    /// Outgoing stack argument at this offset from sp.
    Outgoing(u32),
    /// Offset in the area where calls with several results put them.
    ResultArea(u32),
    /// Incoming stack argument at this offset from the caller's sp.
    Incoming(u32),
}

/// Machine block index (blocks are laid out in index order).
pub type MBlock = usize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MInst<R> {
    /// Function entry: register parameters arrive in their argument registers.
    Entry {
        params: Vec<(R, PReg)>,
    },
    Li {
        rd: R,
        imm: i32,
    },
    Move {
        rd: R,
        rs: R,
    },
    Alu {
        op: AluOp,
        rd: R,
        rs1: R,
        rs2: R,
    },
    AluImm {
        op: AluImmOp,
        rd: R,
        rs1: R,
        imm: i32,
    },
    Load {
        kind: LoadKind,
        rd: R,
        base: R,
        offset: i32,
    },
    Store {
        kind: StoreKind,
        src: R,
        base: R,
        offset: i32,
    },
    LoadSp {
        rd: R,
        region: SpRegion,
    },
    StoreSp {
        src: R,
        region: SpRegion,
    },
    AddrSp {
        rd: R,
        region: SpRegion,
    },
    SymAddr {
        rd: R,
        symbol: Symbol,
        offset: u32,
    },
    LoadSym {
        rd: R,
        symbol: Symbol,
        offset: u32,
    },
    /// `tmp` holds the upper address bits (an early def: it must not be `src`).
    StoreSym {
        src: R,
        tmp: R,
        symbol: Symbol,
        offset: u32,
    },
    /// rd = test ? if_true : if_false (rd is an early def: written before the test is read).
    Select {
        rd: R,
        test: Test<R>,
        if_true: R,
        if_false: R,
    },
    /// 64-bit add (or sub) of pairs; `lo` is an early def (written before the high words are
    /// read).
    PairArith {
        sub: bool,
        lo: R,
        hi: R,
        a_lo: R,
        a_hi: R,
        b_lo: R,
        b_hi: R,
    },
    /// lo:hi = a * b, 64-bit: mul and mulh (signed) or mulhu.
    MulWide {
        signed: bool,
        lo: R,
        hi: R,
        a: R,
        b: R,
    },
    /// 64-bit shift by a register count (mod 64); both results are early defs.
    ShiftPair {
        op: ShiftKind,
        lo: R,
        hi: R,
        a_lo: R,
        a_hi: R,
        count: R,
    },
    /// `call` function `callee`, or `jalr ra, 0(target)` when `target` is set (an indirect
    /// call; `callee` is then unused).
    Call {
        callee: u32,
        target: Option<R>,
        args: Vec<(R, PReg)>,
        rets: Vec<(R, PReg)>,
    },
    TrapIf {
        code: TrapCode,
        test: Test<R>,
    },
    /// Trap unless addr + end <= size (unbounded arithmetic).
    BoundsCheck {
        addr: R,
        size: R,
        end: u64,
    },
    // ---- single precision (F): `f` operands are vregs of class 1, the others of class 0 ----
    /// `fadd`/`fsub`/`fmul`/`fdiv` (rne) and the sign injections rd.f = rs1.f op rs2.f.
    FBin {
        op: FBinOp,
        rd: R,
        rs1: R,
        rs2: R,
    },
    /// Wasm `min`/`max`: a NaN operand gives a NaN (fmin/fmax would return the other operand);
    /// the NaN test uses t6 and a short internal branch.
    FMinMax {
        max: bool,
        rd: R,
        rs1: R,
        rs2: R,
    },
    FSqrt {
        rd: R,
        rs: R,
    },
    /// rd (integer) = rs1.f op rs2.f as 0/1.
    FCmp {
        op: FCmpOp,
        rd: R,
        rs1: R,
        rs2: R,
    },
    /// Wasm `trunc_sat` to i32/u32: `fcvt.w[u].s rtz` (which saturates) with NaN forced to 0
    /// through t6.
    FTruncSat {
        signed: bool,
        rd: R,
        rs: R,
    },
    /// rd.f = rs (integer) converted, rne.
    FCvtFromInt {
        signed: bool,
        rd: R,
        rs: R,
    },
    /// rd (integer) = the bits of rs.f.
    FMvToInt {
        rd: R,
        rs: R,
    },
    /// rd.f = the bits of rs (integer).
    FMvFromInt {
        rd: R,
        rs: R,
    },
    // ---- terminators ----
    /// Block arguments are not operands: the allocator moves them (`jump_args`).
    Jump {
        target: MBlock,
    },
    Branch {
        test: Test<R>,
        then_block: MBlock,
        else_block: MBlock,
    },
    Switch {
        index: R,
        targets: Vec<MBlock>,
        default: MBlock,
    },
    Return {
        values: Vec<(R, PReg)>,
    },
    Trap {
        code: TrapCode,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftKind {
    Shl,
    ShrS,
    ShrU,
}

/// How an instruction touches a register field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Use,
    Def,
    EarlyDef,
    FixedUse(PReg),
    FixedDef(PReg),
}

impl<R> MInst<R> {
    /// Rebuild the instruction with every register field passed through `f`, in one fixed
    /// order (uses before defs within an instruction).
    pub fn map_regs<S>(&self, f: &mut dyn FnMut(&R, Role) -> S) -> MInst<S> {
        use Role::{Def, EarlyDef, Use};
        let test = |t: &Test<R>, f: &mut dyn FnMut(&R, Role) -> S| Test {
            cond: t.cond,
            a: f(&t.a, Use),
            b: f(&t.b, Use),
        };
        match self {
            MInst::Entry { params } => MInst::Entry {
                params: params
                    .iter()
                    .map(|(r, p)| (f(r, Role::FixedDef(*p)), *p))
                    .collect(),
            },
            MInst::Li { rd, imm } => MInst::Li {
                rd: f(rd, Def),
                imm: *imm,
            },
            MInst::Move { rd, rs } => {
                let rs = f(rs, Use);
                MInst::Move { rd: f(rd, Def), rs }
            }
            MInst::Alu { op, rd, rs1, rs2 } => {
                let rs1 = f(rs1, Use);
                let rs2 = f(rs2, Use);
                MInst::Alu {
                    op: *op,
                    rd: f(rd, Def),
                    rs1,
                    rs2,
                }
            }
            MInst::AluImm { op, rd, rs1, imm } => {
                let rs1 = f(rs1, Use);
                MInst::AluImm {
                    op: *op,
                    rd: f(rd, Def),
                    rs1,
                    imm: *imm,
                }
            }
            MInst::Load {
                kind,
                rd,
                base,
                offset,
            } => {
                let base = f(base, Use);
                MInst::Load {
                    kind: *kind,
                    rd: f(rd, Def),
                    base,
                    offset: *offset,
                }
            }
            MInst::Store {
                kind,
                src,
                base,
                offset,
            } => MInst::Store {
                kind: *kind,
                src: f(src, Use),
                base: f(base, Use),
                offset: *offset,
            },
            MInst::LoadSp { rd, region } => MInst::LoadSp {
                rd: f(rd, Def),
                region: *region,
            },
            MInst::StoreSp { src, region } => MInst::StoreSp {
                src: f(src, Use),
                region: *region,
            },
            MInst::AddrSp { rd, region } => MInst::AddrSp {
                rd: f(rd, Def),
                region: *region,
            },
            MInst::SymAddr { rd, symbol, offset } => MInst::SymAddr {
                rd: f(rd, Def),
                symbol: *symbol,
                offset: *offset,
            },
            MInst::LoadSym { rd, symbol, offset } => MInst::LoadSym {
                rd: f(rd, Def),
                symbol: *symbol,
                offset: *offset,
            },
            MInst::StoreSym {
                src,
                tmp,
                symbol,
                offset,
            } => {
                let src = f(src, Use);
                MInst::StoreSym {
                    src,
                    tmp: f(tmp, EarlyDef),
                    symbol: *symbol,
                    offset: *offset,
                }
            }
            MInst::Select {
                rd,
                test: t,
                if_true,
                if_false,
            } => {
                let t = test(t, f);
                let if_true = f(if_true, Use);
                let if_false = f(if_false, Use);
                MInst::Select {
                    rd: f(rd, EarlyDef),
                    test: t,
                    if_true,
                    if_false,
                }
            }
            MInst::PairArith {
                sub,
                lo,
                hi,
                a_lo,
                a_hi,
                b_lo,
                b_hi,
            } => {
                let (a_lo, a_hi) = (f(a_lo, Use), f(a_hi, Use));
                let (b_lo, b_hi) = (f(b_lo, Use), f(b_hi, Use));
                MInst::PairArith {
                    sub: *sub,
                    lo: f(lo, EarlyDef),
                    hi: f(hi, Def),
                    a_lo,
                    a_hi,
                    b_lo,
                    b_hi,
                }
            }
            MInst::MulWide {
                signed,
                lo,
                hi,
                a,
                b,
            } => {
                let (a, b) = (f(a, Use), f(b, Use));
                MInst::MulWide {
                    signed: *signed,
                    lo: f(lo, EarlyDef),
                    hi: f(hi, Def),
                    a,
                    b,
                }
            }
            MInst::ShiftPair {
                op,
                lo,
                hi,
                a_lo,
                a_hi,
                count,
            } => {
                let (a_lo, a_hi, count) = (f(a_lo, Use), f(a_hi, Use), f(count, Use));
                MInst::ShiftPair {
                    op: *op,
                    lo: f(lo, EarlyDef),
                    hi: f(hi, EarlyDef),
                    a_lo,
                    a_hi,
                    count,
                }
            }
            MInst::Call {
                callee,
                target,
                args,
                rets,
            } => {
                let target = target.as_ref().map(|t| f(t, Use));
                let args = args
                    .iter()
                    .map(|(r, p)| (f(r, Role::FixedUse(*p)), *p))
                    .collect();
                let rets = rets
                    .iter()
                    .map(|(r, p)| (f(r, Role::FixedDef(*p)), *p))
                    .collect();
                MInst::Call {
                    callee: *callee,
                    target,
                    args,
                    rets,
                }
            }
            MInst::TrapIf { code, test: t } => MInst::TrapIf {
                code: *code,
                test: test(t, f),
            },
            MInst::BoundsCheck { addr, size, end } => MInst::BoundsCheck {
                addr: f(addr, Use),
                size: f(size, Use),
                end: *end,
            },
            MInst::FBin { op, rd, rs1, rs2 } => {
                let (rs1, rs2) = (f(rs1, Use), f(rs2, Use));
                MInst::FBin {
                    op: *op,
                    rd: f(rd, Def),
                    rs1,
                    rs2,
                }
            }
            MInst::FMinMax { max, rd, rs1, rs2 } => {
                let (rs1, rs2) = (f(rs1, Use), f(rs2, Use));
                MInst::FMinMax {
                    max: *max,
                    rd: f(rd, Def),
                    rs1,
                    rs2,
                }
            }
            MInst::FSqrt { rd, rs } => {
                let rs = f(rs, Use);
                MInst::FSqrt { rd: f(rd, Def), rs }
            }
            MInst::FCmp { op, rd, rs1, rs2 } => {
                let (rs1, rs2) = (f(rs1, Use), f(rs2, Use));
                MInst::FCmp {
                    op: *op,
                    rd: f(rd, Def),
                    rs1,
                    rs2,
                }
            }
            MInst::FTruncSat { signed, rd, rs } => {
                let rs = f(rs, Use);
                MInst::FTruncSat {
                    signed: *signed,
                    rd: f(rd, Def),
                    rs,
                }
            }
            MInst::FCvtFromInt { signed, rd, rs } => {
                let rs = f(rs, Use);
                MInst::FCvtFromInt {
                    signed: *signed,
                    rd: f(rd, Def),
                    rs,
                }
            }
            MInst::FMvToInt { rd, rs } => {
                let rs = f(rs, Use);
                MInst::FMvToInt { rd: f(rd, Def), rs }
            }
            MInst::FMvFromInt { rd, rs } => {
                let rs = f(rs, Use);
                MInst::FMvFromInt { rd: f(rd, Def), rs }
            }
            MInst::Jump { target } => MInst::Jump { target: *target },
            MInst::Branch {
                test: t,
                then_block,
                else_block,
            } => MInst::Branch {
                test: test(t, f),
                then_block: *then_block,
                else_block: *else_block,
            },
            MInst::Switch {
                index,
                targets,
                default,
            } => MInst::Switch {
                index: f(index, Use),
                targets: targets.clone(),
                default: *default,
            },
            MInst::Return { values } => MInst::Return {
                values: values
                    .iter()
                    .map(|(r, p)| (f(r, Role::FixedUse(*p)), *p))
                    .collect(),
            },
            MInst::Trap { code } => MInst::Trap { code: *code },
        }
    }
}

impl MachInst for MInst<Reg> {
    /// x0 is no operand.
    fn operands(&self) -> Vec<Operand> {
        // Most instructions have up to four operands: one allocation, no regrowth.
        let mut ops = Vec::with_capacity(4);
        self.map_regs(&mut |r, role| {
            if let Reg::V(v) = *r {
                ops.push(match role {
                    Role::Use => Operand::use_reg(v),
                    Role::Def => Operand::def_reg(v),
                    Role::EarlyDef => Operand::early_def_reg(v),
                    Role::FixedUse(p) => Operand::use_fixed(v, p),
                    Role::FixedDef(p) => Operand::def_fixed(v, p),
                });
            }
        });
        ops
    }

    fn clobbers(&self) -> PRegSet {
        match self {
            MInst::Call { .. } => regs::caller_saved(),
            _ => PRegSet::EMPTY,
        }
    }

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

    fn successors(&self) -> Vec<MBlock> {
        match self {
            MInst::Jump { target } => vec![*target],
            MInst::Branch {
                then_block,
                else_block,
                ..
            } => vec![*then_block, *else_block],
            MInst::Switch {
                targets, default, ..
            } => targets
                .iter()
                .chain(std::iter::once(default))
                .copied()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn as_move(&self) -> Option<(VReg, VReg)> {
        match *self {
            MInst::Move {
                rd: Reg::V(d),
                rs: Reg::V(s),
            } => Some((d, s)),
            _ => None,
        }
    }

    fn as_constant(&self) -> Option<(VReg, u32)> {
        match *self {
            MInst::Li { rd: Reg::V(v), imm } => Some((v, imm as u32)),
            _ => None,
        }
    }

    /// `li` within 12 bits, or a lone `lui`.
    fn is_one_instruction_constant(value: u32) -> bool {
        let value = value as i32;
        (-2048..=2047).contains(&value) || value & 0xfff == 0
    }
}

/// A branch target inside one function's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label(pub u32);

/// One real instruction over physical registers (`Call` is the `auipc`+`jalr` pair LLVM prints
/// as one `call`; a relaxed conditional branch becomes two instructions when encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PInst {
    /// `imm20` is the 20-bit upper-immediate field.
    Lui {
        rd: PReg,
        imm20: u32,
    },
    Auipc {
        rd: PReg,
        imm20: u32,
    },
    Alu {
        op: AluOp,
        rd: PReg,
        rs1: PReg,
        rs2: PReg,
    },
    AluImm {
        op: AluImmOp,
        rd: PReg,
        rs1: PReg,
        imm: i32,
    },
    Load {
        kind: LoadKind,
        rd: PReg,
        base: PReg,
        offset: i32,
    },
    Store {
        kind: StoreKind,
        src: PReg,
        base: PReg,
        offset: i32,
    },
    Jalr {
        rd: PReg,
        rs1: PReg,
        offset: i32,
    },
    /// Conditional branch; grows from `c.beqz`/`c.bnez` to `bxx` to an inverted `bxx` over a `jal`.
    Branch {
        cond: BrCond,
        rs1: PReg,
        rs2: PReg,
        target: Label,
    },
    /// Unconditional jump; grows from `c.j` to `jal zero`.
    Jump {
        target: Label,
    },
    /// A jump-table entry: always the 4-byte `jal zero`.
    TableJump {
        target: Label,
    },
    /// `call symbol` with an `R_RISCV_CALL_PLT` relocation.
    Call {
        symbol: Symbol,
    },
    /// `lui rd, %hi(symbol+addend)`.
    LuiSym {
        rd: PReg,
        symbol: Symbol,
        addend: u32,
    },
    /// `addi rd, rs1, %lo(symbol+addend)`.
    AddiSym {
        rd: PReg,
        rs1: PReg,
        symbol: Symbol,
        addend: u32,
    },
    /// `lw rd, %lo(symbol+addend)(base)`.
    LoadSym {
        rd: PReg,
        base: PReg,
        symbol: Symbol,
        addend: u32,
    },
    /// `sw src, %lo(symbol+addend)(base)`.
    StoreSym {
        src: PReg,
        base: PReg,
        symbol: Symbol,
        addend: u32,
    },
    Unimp,
    /// Position marker, no code.
    Label(Label),
    /// `flw`/`fld rd, offset(base)` (`c.flw`, `c.flwsp`, `c.fld`, `c.fldsp` when they fit).
    FLoad {
        fmt: FFmt,
        rd: FReg,
        base: PReg,
        offset: i32,
    },
    /// `fsw`/`fsd src, offset(base)` (`c.fsw`, `c.fswsp`, `c.fsd`, `c.fsdsp` when they fit).
    FStore {
        fmt: FFmt,
        src: FReg,
        base: PReg,
        offset: i32,
    },
    /// `fadd`/`fsub`/`fmul`/`fdiv` (rm = rne), `fmin`/`fmax`, `fsgnj`/`fsgnjn`/`fsgnjx`.
    FBin {
        op: FBinOp,
        fmt: FFmt,
        rd: FReg,
        rs1: FReg,
        rs2: FReg,
    },
    /// `fsqrt rd, rs, rne`.
    FSqrt {
        fmt: FFmt,
        rd: FReg,
        rs: FReg,
    },
    /// `feq`/`flt`/`fle rd, rs1, rs2` into an integer register.
    FCmp {
        op: FCmpOp,
        fmt: FFmt,
        rd: PReg,
        rs1: FReg,
        rs2: FReg,
    },
    /// `fclass rd, rs` into an integer register.
    FClass {
        fmt: FFmt,
        rd: PReg,
        rs: FReg,
    },
    /// `fcvt.w.<fmt>`/`fcvt.wu.<fmt> rd, rs, rm` (wasm's truncations use `Rm::Rtz`).
    FCvtToInt {
        fmt: FFmt,
        signed: bool,
        rm: Rm,
        rd: PReg,
        rs: FReg,
    },
    /// `fcvt.<fmt>.w`/`fcvt.<fmt>.wu rd, rs` (rne for `.s`; exact for `.d`).
    FCvtFromInt {
        fmt: FFmt,
        signed: bool,
        rd: FReg,
        rs: PReg,
    },
    /// `fcvt.s.d rd, rs, rne` (`to: S`) or `fcvt.d.s rd, rs` (`to: D`, exact).
    FCvtFmt {
        to: FFmt,
        rd: FReg,
        rs: FReg,
    },
    /// `fmv.x.w rd, rs`: the bits of a single into an integer register.
    FMvToInt {
        rd: PReg,
        rs: FReg,
    },
    /// `fmv.w.x rd, rs`: an integer register's bits into a single.
    FMvFromInt {
        rd: FReg,
        rs: PReg,
    },
    /// `csrrw`/`csrrs`/`csrrc rd, csr, rs1` on a float CSR (printed `frcsr`, `fsrm`, ...).
    Csr {
        op: CsrOp,
        rd: PReg,
        csr: Csr,
        rs1: PReg,
    },
    /// `csrrwi`/`csrrsi`/`csrrci rd, csr, imm` (imm < 32) on a float CSR.
    CsrImm {
        op: CsrOp,
        rd: PReg,
        csr: Csr,
        imm: u8,
    },
}

fn r(p: PReg) -> &'static str {
    regs::name(p)
}

fn sym_text(name: &dyn Fn(Symbol) -> String, symbol: Symbol, addend: u32) -> String {
    if addend == 0 {
        name(symbol)
    } else {
        format!("{}+{addend}", name(symbol))
    }
}

impl PInst {
    /// LLVM assembly text. `label` spells a branch target (a name in listings, a numeric
    /// pc-relative offset in the encoding tests), `symbol` spells a link-time symbol.
    pub fn text(
        &self,
        label: &dyn Fn(Label) -> String,
        symbol: &dyn Fn(Symbol) -> String,
    ) -> String {
        match self {
            PInst::Lui { rd, imm20 } => format!("lui {}, {imm20}", r(*rd)),
            PInst::Auipc { rd, imm20 } => format!("auipc {}, {imm20}", r(*rd)),
            PInst::Alu { op, rd, rs1, rs2 } => match (op, *rs1) {
                (AluOp::Sub, regs::ZERO) => format!("neg {}, {}", r(*rd), r(*rs2)),
                (AluOp::Sltu, regs::ZERO) => format!("snez {}, {}", r(*rd), r(*rs2)),
                _ => format!("{} {}, {}, {}", op.mnemonic(), r(*rd), r(*rs1), r(*rs2)),
            },
            PInst::AluImm { op, rd, rs1, imm } => match (op, *rs1, *imm) {
                (AluImmOp::Addi, regs::ZERO, _) => format!("li {}, {imm}", r(*rd)),
                (AluImmOp::Addi, _, 0) => format!("mv {}, {}", r(*rd), r(*rs1)),
                (AluImmOp::Xori, _, -1) => format!("not {}, {}", r(*rd), r(*rs1)),
                (AluImmOp::Sltiu, _, 1) => format!("seqz {}, {}", r(*rd), r(*rs1)),
                _ => format!("{} {}, {}, {imm}", op.mnemonic(), r(*rd), r(*rs1)),
            },
            PInst::Load {
                kind,
                rd,
                base,
                offset,
            } => format!("{} {}, {offset}({})", kind.mnemonic(), r(*rd), r(*base)),
            PInst::Store {
                kind,
                src,
                base,
                offset,
            } => format!("{} {}, {offset}({})", kind.mnemonic(), r(*src), r(*base)),
            PInst::Jalr { rd, rs1, offset } => match (*rd, *rs1, *offset) {
                (regs::ZERO, regs::RA, 0) => "ret".to_string(),
                (regs::ZERO, rs1, 0) => format!("jr {}", r(rs1)),
                _ => format!("jalr {}, {offset}({})", r(*rd), r(*rs1)),
            },
            PInst::Branch {
                cond,
                rs1,
                rs2,
                target,
            } => match (cond, *rs2) {
                (BrCond::Eq, regs::ZERO) => format!("beqz {}, {}", r(*rs1), label(*target)),
                (BrCond::Ne, regs::ZERO) => format!("bnez {}, {}", r(*rs1), label(*target)),
                _ => format!(
                    "{} {}, {}, {}",
                    cond.mnemonic(),
                    r(*rs1),
                    r(*rs2),
                    label(*target)
                ),
            },
            PInst::Jump { target } => format!("j {}", label(*target)),
            PInst::TableJump { target } => format!("jal zero, {}", label(*target)),
            PInst::Call { symbol: s } => format!("call {}", symbol(*s)),
            PInst::LuiSym {
                rd,
                symbol: s,
                addend,
            } => {
                format!("lui {}, %hi({})", r(*rd), sym_text(symbol, *s, *addend))
            }
            PInst::AddiSym {
                rd,
                rs1,
                symbol: s,
                addend,
            } => format!(
                "addi {}, {}, %lo({})",
                r(*rd),
                r(*rs1),
                sym_text(symbol, *s, *addend)
            ),
            PInst::LoadSym {
                rd,
                base,
                symbol: s,
                addend,
            } => format!(
                "lw {}, %lo({})({})",
                r(*rd),
                sym_text(symbol, *s, *addend),
                r(*base)
            ),
            PInst::StoreSym {
                src,
                base,
                symbol: s,
                addend,
            } => format!(
                "sw {}, %lo({})({})",
                r(*src),
                sym_text(symbol, *s, *addend),
                r(*base)
            ),
            PInst::Unimp => "unimp".to_string(),
            PInst::Label(l) => format!("{}:", label(*l)),
            PInst::FLoad { .. }
            | PInst::FStore { .. }
            | PInst::FBin { .. }
            | PInst::FSqrt { .. }
            | PInst::FCmp { .. }
            | PInst::FClass { .. }
            | PInst::FCvtToInt { .. }
            | PInst::FCvtFromInt { .. }
            | PInst::FCvtFmt { .. }
            | PInst::FMvToInt { .. }
            | PInst::FMvFromInt { .. }
            | PInst::Csr { .. }
            | PInst::CsrImm { .. } => super::encode::f::text(self).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_regs_visits_uses_before_defs_and_marks_early_defs() {
        let inst: MInst<u32> = MInst::PairArith {
            sub: false,
            lo: 1,
            hi: 2,
            a_lo: 3,
            a_hi: 4,
            b_lo: 5,
            b_hi: 6,
        };
        let mut seen = Vec::new();
        let mapped = inst.map_regs(&mut |r, role| {
            seen.push((*r, role));
            *r * 10
        });
        assert_eq!(
            seen,
            vec![
                (3, Role::Use),
                (4, Role::Use),
                (5, Role::Use),
                (6, Role::Use),
                (1, Role::EarlyDef),
                (2, Role::Def)
            ]
        );
        assert_eq!(
            mapped,
            MInst::PairArith {
                sub: false,
                lo: 10,
                hi: 20,
                a_lo: 30,
                a_hi: 40,
                b_lo: 50,
                b_hi: 60
            }
        );
    }

    #[test]
    fn printer_uses_llvm_aliases() {
        let none = |_: Symbol| String::new();
        let lab = |l: Label| format!(".L{}", l.0);
        let mv = PInst::AluImm {
            op: AluImmOp::Addi,
            rd: PReg(10),
            rs1: PReg(11),
            imm: 0,
        };
        assert_eq!(mv.text(&lab, &none), "mv a0, a1");
        let ret = PInst::Jalr {
            rd: regs::ZERO,
            rs1: regs::RA,
            offset: 0,
        };
        assert_eq!(ret.text(&lab, &none), "ret");
        let b = PInst::Branch {
            cond: BrCond::Ltu,
            rs1: PReg(8),
            rs2: PReg(9),
            target: Label(3),
        };
        assert_eq!(b.text(&lab, &none), "bltu s0, s1, .L3");
    }
}

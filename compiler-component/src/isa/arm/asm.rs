//! Concrete Thumb-2 instructions over physical registers: one variant per encoding, so the
//! printer (LLVM syntax) and the encoder (`encode.rs`) agree by construction. `emit.rs` picks
//! the shortest variant for each operation.

use super::regs::name;
use crate::regalloc::{PReg, PRegSet};

/// Condition codes (the 4-bit field of conditional branches and IT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cc {
    Eq = 0,
    Ne = 1,
    Hs = 2,
    Lo = 3,
    Mi = 4,
    Pl = 5,
    Hi = 8,
    Ls = 9,
    Ge = 10,
    Lt = 11,
    Gt = 12,
    Le = 13,
}

impl Cc {
    pub fn bits(self) -> u16 {
        self as u16
    }
    pub fn invert(self) -> Cc {
        match self {
            Cc::Eq => Cc::Ne,
            Cc::Ne => Cc::Eq,
            Cc::Hs => Cc::Lo,
            Cc::Lo => Cc::Hs,
            Cc::Mi => Cc::Pl,
            Cc::Pl => Cc::Mi,
            Cc::Hi => Cc::Ls,
            Cc::Ls => Cc::Hi,
            Cc::Ge => Cc::Lt,
            Cc::Lt => Cc::Ge,
            Cc::Gt => Cc::Le,
            Cc::Le => Cc::Gt,
        }
    }
    pub fn suffix(self) -> &'static str {
        match self {
            Cc::Eq => "eq",
            Cc::Ne => "ne",
            Cc::Hs => "hs",
            Cc::Lo => "lo",
            Cc::Mi => "mi",
            Cc::Pl => "pl",
            Cc::Hi => "hi",
            Cc::Ls => "ls",
            Cc::Ge => "ge",
            Cc::Lt => "lt",
            Cc::Gt => "gt",
            Cc::Le => "le",
        }
    }
}

/// Data-processing operations shared by the 32-bit immediate and register encodings (the
/// number is the encodings' `op` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataOp {
    And = 0,
    Bic = 1,
    Orr = 2,
    Orn = 3,
    Eor = 4,
    Add = 8,
    Adc = 10,
    Sbc = 11,
    Sub = 13,
    Rsb = 14,
}

impl DataOp {
    pub fn mnemonic(self) -> &'static str {
        match self {
            DataOp::And => "and",
            DataOp::Bic => "bic",
            DataOp::Orr => "orr",
            DataOp::Orn => "orn",
            DataOp::Eor => "eor",
            DataOp::Add => "add",
            DataOp::Adc => "adc",
            DataOp::Sbc => "sbc",
            DataOp::Sub => "sub",
            DataOp::Rsb => "rsb",
        }
    }
    /// Does a 16-bit encoding with the same mnemonic exist (so the 32-bit form needs `.w`)?
    fn has_narrow(self) -> bool {
        !matches!(self, DataOp::Orn)
    }
}

/// The 16-bit two-register data-processing group (`ands rdn, rm` ...): field `op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NarrowOp {
    And = 0,
    Eor = 1,
    Lsl = 2,
    Lsr = 3,
    Asr = 4,
    Adc = 5,
    Sbc = 6,
    Ror = 7,
    /// `rsbs rd, rn, #0`
    Neg = 9,
    Orr = 12,
    /// `muls rdm, rn, rdm`
    Mul = 13,
    Bic = 14,
}

impl NarrowOp {
    fn mnemonic(self) -> &'static str {
        match self {
            NarrowOp::And => "and",
            NarrowOp::Eor => "eor",
            NarrowOp::Lsl => "lsl",
            NarrowOp::Lsr => "lsr",
            NarrowOp::Asr => "asr",
            NarrowOp::Adc => "adc",
            NarrowOp::Sbc => "sbc",
            NarrowOp::Ror => "ror",
            NarrowOp::Neg => "rsb",
            NarrowOp::Orr => "orr",
            NarrowOp::Mul => "mul",
            NarrowOp::Bic => "bic",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    Lsl = 0,
    Lsr = 1,
    Asr = 2,
    Ror = 3,
}

impl Shift {
    fn mnemonic(self) -> &'static str {
        match self {
            Shift::Lsl => "lsl",
            Shift::Lsr => "lsr",
            Shift::Asr => "asr",
            Shift::Ror => "ror",
        }
    }
}

/// Memory access kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    Str,
    Strb,
    Strh,
    Ldr,
    Ldrb,
    Ldrh,
    Ldrsb,
    Ldrsh,
}

impl Mem {
    pub fn mnemonic(self) -> &'static str {
        match self {
            Mem::Str => "str",
            Mem::Strb => "strb",
            Mem::Strh => "strh",
            Mem::Ldr => "ldr",
            Mem::Ldrb => "ldrb",
            Mem::Ldrh => "ldrh",
            Mem::Ldrsb => "ldrsb",
            Mem::Ldrsh => "ldrsh",
        }
    }
    /// log2 of the access size.
    pub fn size_log2(self) -> u32 {
        match self {
            Mem::Str | Mem::Ldr => 2,
            Mem::Strh | Mem::Ldrh | Mem::Ldrsh => 1,
            Mem::Strb | Mem::Ldrb | Mem::Ldrsb => 0,
        }
    }
    pub fn is_load(self) -> bool {
        !matches!(self, Mem::Str | Mem::Strb | Mem::Strh)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extend {
    Sxtb,
    Sxth,
}

/// A branch target as printed: a label name, or (tests) the raw offset from pc+4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Byte offset from the branch's address + 4.
    pub offset: i32,
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asm {
    // ---- 16-bit ----
    /// `mov rd, rm` (no flags, any registers).
    MovReg {
        rd: PReg,
        rm: PReg,
    },
    /// `movs rd, #imm8` (`mov<cc>` inside an IT block).
    MovsImm {
        rd: PReg,
        imm: u8,
    },
    /// `adds/subs rd, rn, rm` (low registers).
    AddSubReg3 {
        sub: bool,
        rd: PReg,
        rn: PReg,
        rm: PReg,
    },
    /// `adds/subs rd, rn, #imm3`.
    AddSubImm3 {
        sub: bool,
        rd: PReg,
        rn: PReg,
        imm: u8,
    },
    /// `adds/subs rdn, #imm8`.
    AddSubImm8 {
        sub: bool,
        rdn: PReg,
        imm: u8,
    },
    /// `ands rdn, rm` and friends.
    Narrow {
        op: NarrowOp,
        rdn: PReg,
        rm: PReg,
    },
    /// `add rdn, rm` (any registers, no flags).
    AddHigh {
        rdn: PReg,
        rm: PReg,
    },
    /// `cmp rn, rm` (any registers).
    CmpReg {
        rn: PReg,
        rm: PReg,
    },
    /// `cmp rn, #imm8`.
    CmpImm8 {
        rn: PReg,
        imm: u8,
    },
    /// `lsls/lsrs/asrs rd, rm, #imm` (imm 0..31, or 32 for lsr/asr).
    ShiftImm16 {
        op: Shift,
        rd: PReg,
        rm: PReg,
        imm: u8,
    },
    /// `sxtb/sxth rd, rm` (low registers).
    Extend16 {
        op: Extend,
        rd: PReg,
        rm: PReg,
    },
    /// `ldr rt, [rn, rm]` (low registers).
    MemReg16 {
        op: Mem,
        rt: PReg,
        rn: PReg,
        rm: PReg,
    },
    /// `ldr rt, [rn, #imm]` (imm scaled by the size, 5 bits).
    MemImm16 {
        op: Mem,
        rt: PReg,
        rn: PReg,
        imm: u32,
    },
    /// `ldr/str rt, [sp, #imm]` (imm multiple of 4, up to 1020).
    MemSp16 {
        load: bool,
        rt: PReg,
        imm: u32,
    },
    /// `add rd, sp, #imm` (imm multiple of 4, up to 1020).
    AddRdSp16 {
        rd: PReg,
        imm: u32,
    },
    /// `add/sub sp, #imm` (multiple of 4, up to 508).
    AdjustSp16 {
        sub: bool,
        imm: u32,
    },
    /// `push {..}` (r0-r7, lr) / `pop {..}` (r0-r7, pc).
    Push16 {
        regs: PRegSet,
    },
    Pop16 {
        regs: PRegSet,
    },
    /// `bx lr`.
    BxLr,
    /// `it<x><y><z> cc`: `then` says for each following instruction after the first whether
    /// it executes on `cc` (true) or on its inverse.
    It {
        cc: Cc,
        then: Vec<bool>,
    },
    Udf {
        imm: u8,
    },
    /// `b label` (±2 KiB).
    B16 {
        target: Target,
    },
    /// `b<cc> label` (±256 B).
    Bcc16 {
        cc: Cc,
        target: Target,
    },
    /// `cbz/cbnz rn, label` (forward 0..126).
    Cbz {
        nonzero: bool,
        rn: PReg,
        target: Target,
    },

    // ---- 32-bit ----
    /// `<op>{s}.w rd, rn, #modimm` (an encodable modified immediate, see `encode::modimm`).
    DataImm {
        op: DataOp,
        s: bool,
        rd: PReg,
        rn: PReg,
        imm: u32,
    },
    /// `mov.w rd, #modimm` / `mvn rd, #modimm`.
    MovImm32 {
        not: bool,
        rd: PReg,
        imm: u32,
    },
    /// `cmp.w rn, #modimm` / `cmn.w rn, #modimm`.
    CmpImm32 {
        negative: bool,
        rn: PReg,
        imm: u32,
    },
    /// `addw/subw rd, rn, #imm12`.
    AddSubW {
        sub: bool,
        rd: PReg,
        rn: PReg,
        imm: u32,
    },
    /// `movw/movt rd, #imm16`.
    MovW {
        top: bool,
        rd: PReg,
        imm: u16,
    },
    /// `movw/movt rd, :lower16:/:upper16:symbol` with the addend in the imm16 field
    /// (R_ARM_THM_MOVW_ABS_NC / R_ARM_THM_MOVT_ABS).
    MovSym {
        top: bool,
        rd: PReg,
        symbol: String,
        addend: i16,
    },
    /// `<op>{s}.w rd, rn, rm`.
    DataReg {
        op: DataOp,
        s: bool,
        rd: PReg,
        rn: PReg,
        rm: PReg,
    },
    /// `<op>.w rd, rn, rm, <shift> #amount` (amount 1..=31).
    DataRegShifted {
        op: DataOp,
        rd: PReg,
        rn: PReg,
        rm: PReg,
        shift: Shift,
        amount: u8,
    },
    /// `lsl.w rd, rm, #imm` (and lsr/asr/ror). (`cmp.w rn, rm` is never needed: the 16-bit
    /// form covers every register.)
    ShiftImm32 {
        op: Shift,
        rd: PReg,
        rm: PReg,
        imm: u8,
    },
    /// `lsl.w rd, rn, rm` (shift by the low byte of rm).
    ShiftReg32 {
        op: Shift,
        rd: PReg,
        rn: PReg,
        rm: PReg,
    },
    Mul32 {
        rd: PReg,
        rn: PReg,
        rm: PReg,
    },
    /// `mls rd, rn, rm, ra`: rd = ra - rn * rm.
    Mls {
        rd: PReg,
        rn: PReg,
        rm: PReg,
        ra: PReg,
    },
    Umull {
        lo: PReg,
        hi: PReg,
        rn: PReg,
        rm: PReg,
    },
    Div {
        signed: bool,
        rd: PReg,
        rn: PReg,
        rm: PReg,
    },
    Clz {
        rd: PReg,
        rm: PReg,
    },
    Rbit {
        rd: PReg,
        rm: PReg,
    },
    Extend32 {
        op: Extend,
        rd: PReg,
        rm: PReg,
    },
    /// `ldr.w rt, [rn, #imm12]`.
    MemImm32 {
        op: Mem,
        rt: PReg,
        rn: PReg,
        imm: u32,
    },
    /// `ldr.w rt, [rn, rm]`.
    MemReg32 {
        op: Mem,
        rt: PReg,
        rn: PReg,
        rm: PReg,
    },
    /// `push.w {..}` / `pop.w {..}` (at least two registers).
    Push32 {
        regs: PRegSet,
    },
    Pop32 {
        regs: PRegSet,
    },
    /// `tbb [pc, rm]` / `tbh [pc, rm, lsl #1]`.
    TableBranch {
        half: bool,
        rm: PReg,
    },
    /// `b.w label` (±16 MiB).
    B32 {
        target: Target,
    },
    /// `b<cc>.w label` (±1 MiB).
    Bcc32 {
        cc: Cc,
        target: Target,
    },
    /// `bl symbol` (R_ARM_THM_CALL, addend -4 encoded).
    Bl {
        symbol: String,
    },
    /// Inside an IT block: executes on `cc` (printing adds the suffix; encoding is unchanged).
    Cond {
        cc: Cc,
        inst: Box<Asm>,
    },
}

fn reglist(regs: PRegSet) -> String {
    let names: Vec<String> = regs.iter().map(name).collect();
    format!("{{{}}}", names.join(", "))
}

fn target_text(t: &Target) -> String {
    match &t.label {
        Some(l) => l.clone(),
        None => format!("#{}", t.offset),
    }
}

impl Asm {
    pub fn print(&self) -> String {
        self.print_cond(None)
    }

    /// Text in LLVM syntax; `cc` is set inside an IT block, where the 16-bit forms lose their
    /// `s` (they do not set flags there) and the condition follows the mnemonic.
    fn print_cond(&self, cc: Option<Cc>) -> String {
        let c = cc.map(|c| c.suffix()).unwrap_or("");
        // 16-bit flag-setting forms print `s` outside IT blocks only.
        let s16 = if cc.is_some() { "" } else { "s" };
        let r = |p: &PReg| name(*p);
        let sfx = |s: bool| if s { "s" } else { "" };
        match self {
            Asm::MovReg { rd, rm } => format!("mov{c} {}, {}", r(rd), r(rm)),
            Asm::MovsImm { rd, imm } => format!("mov{s16}{c} {}, #{imm}", r(rd)),
            Asm::AddSubReg3 { sub, rd, rn, rm } => format!(
                "{}{s16}{c} {}, {}, {}",
                if *sub { "sub" } else { "add" },
                r(rd),
                r(rn),
                r(rm)
            ),
            Asm::AddSubImm3 { sub, rd, rn, imm } => format!(
                "{}{s16}{c} {}, {}, #{imm}",
                if *sub { "sub" } else { "add" },
                r(rd),
                r(rn)
            ),
            Asm::AddSubImm8 { sub, rdn, imm } => format!(
                "{}{s16}{c} {}, #{imm}",
                if *sub { "sub" } else { "add" },
                r(rdn)
            ),
            Asm::Narrow { op, rdn, rm } => match op {
                NarrowOp::Neg => format!("rsb{s16}{c} {}, {}, #0", r(rdn), r(rm)),
                NarrowOp::Mul => format!("mul{s16}{c} {}, {}, {}", r(rdn), r(rm), r(rdn)),
                _ => format!("{}{s16}{c} {}, {}", op.mnemonic(), r(rdn), r(rm)),
            },
            Asm::AddHigh { rdn, rm } => format!("add{c} {}, {}", r(rdn), r(rm)),
            Asm::CmpReg { rn, rm } => format!("cmp{c} {}, {}", r(rn), r(rm)),
            Asm::CmpImm8 { rn, imm } => format!("cmp{c} {}, #{imm}", r(rn)),
            Asm::ShiftImm16 { op, rd, rm, imm } => {
                format!("{}{s16}{c} {}, {}, #{imm}", op.mnemonic(), r(rd), r(rm))
            }
            Asm::Extend16 { op, rd, rm } | Asm::Extend32 { op, rd, rm } => {
                let w = if matches!(self, Asm::Extend32 { .. }) {
                    ".w"
                } else {
                    ""
                };
                let m = match op {
                    Extend::Sxtb => "sxtb",
                    Extend::Sxth => "sxth",
                };
                format!("{m}{c}{w} {}, {}", r(rd), r(rm))
            }
            Asm::MemReg16 { op, rt, rn, rm } => {
                format!("{}{c} {}, [{}, {}]", op.mnemonic(), r(rt), r(rn), r(rm))
            }
            Asm::MemImm16 { op, rt, rn, imm } => {
                format!("{}{c} {}, [{}, #{imm}]", op.mnemonic(), r(rt), r(rn))
            }
            Asm::MemSp16 { load, rt, imm } => format!(
                "{}{c} {}, [sp, #{imm}]",
                if *load { "ldr" } else { "str" },
                r(rt)
            ),
            Asm::AddRdSp16 { rd, imm } => format!("add{c} {}, sp, #{imm}", r(rd)),
            Asm::AdjustSp16 { sub, imm } => {
                format!("{}{c} sp, #{imm}", if *sub { "sub" } else { "add" })
            }
            Asm::Push16 { regs } => format!("push{c} {}", reglist(*regs)),
            Asm::Pop16 { regs } => format!("pop{c} {}", reglist(*regs)),
            Asm::BxLr => format!("bx{c} lr"),
            Asm::It { cc, then } => {
                let pattern: String = then.iter().map(|t| if *t { 't' } else { 'e' }).collect();
                format!("it{pattern} {}", cc.suffix())
            }
            Asm::Udf { imm } => format!("udf #{imm}"),
            Asm::B16 { target } => format!("b{c} {}", target_text(target)),
            Asm::Bcc16 { cc, target } => format!("b{} {}", cc.suffix(), target_text(target)),
            Asm::Cbz {
                nonzero,
                rn,
                target,
            } => format!(
                "{} {}, {}",
                if *nonzero { "cbnz" } else { "cbz" },
                r(rn),
                target_text(target)
            ),
            Asm::DataImm { op, s, rd, rn, imm } => {
                // LLVM 14 rejects `adc.w`/`sbc.w` with an immediate (no 16-bit form exists).
                let w = if op.has_narrow() && !matches!(op, DataOp::Adc | DataOp::Sbc) {
                    ".w"
                } else {
                    ""
                };
                format!(
                    "{}{}{c}{w} {}, {}, #{imm}",
                    op.mnemonic(),
                    sfx(*s),
                    r(rd),
                    r(rn)
                )
            }
            Asm::MovImm32 { not, rd, imm } => {
                if *not {
                    format!("mvn{c} {}, #{imm}", r(rd))
                } else {
                    format!("mov{c}.w {}, #{imm}", r(rd))
                }
            }
            Asm::CmpImm32 { negative, rn, imm } => format!(
                "{}{c}.w {}, #{imm}",
                if *negative { "cmn" } else { "cmp" },
                r(rn)
            ),
            Asm::AddSubW { sub, rd, rn, imm } => format!(
                "{}w{c} {}, {}, #{imm}",
                if *sub { "sub" } else { "add" },
                r(rd),
                r(rn)
            ),
            Asm::MovW { top, rd, imm } => {
                format!("mov{}{c} {}, #{imm}", if *top { "t" } else { "w" }, r(rd))
            }
            Asm::MovSym {
                top,
                rd,
                symbol,
                addend,
            } => {
                let add = if *addend != 0 {
                    format!("{addend:+}")
                } else {
                    String::new()
                };
                format!(
                    "mov{}{c} {}, :{}16:{symbol}{add}",
                    if *top { "t" } else { "w" },
                    r(rd),
                    if *top { "upper" } else { "lower" }
                )
            }
            Asm::DataReg { op, s, rd, rn, rm } => {
                let w = if op.has_narrow() { ".w" } else { "" };
                format!(
                    "{}{}{c}{w} {}, {}, {}",
                    op.mnemonic(),
                    sfx(*s),
                    r(rd),
                    r(rn),
                    r(rm)
                )
            }
            Asm::DataRegShifted {
                op,
                rd,
                rn,
                rm,
                shift,
                amount,
            } => {
                let w = if op.has_narrow() { ".w" } else { "" };
                format!(
                    "{}{c}{w} {}, {}, {}, {} #{amount}",
                    op.mnemonic(),
                    r(rd),
                    r(rn),
                    r(rm),
                    shift.mnemonic()
                )
            }
            Asm::ShiftImm32 { op, rd, rm, imm } => {
                format!("{}{c}.w {}, {}, #{imm}", op.mnemonic(), r(rd), r(rm))
            }
            Asm::ShiftReg32 { op, rd, rn, rm } => {
                format!("{}{c}.w {}, {}, {}", op.mnemonic(), r(rd), r(rn), r(rm))
            }
            Asm::Mul32 { rd, rn, rm } => format!("mul{c} {}, {}, {}", r(rd), r(rn), r(rm)),
            Asm::Mls { rd, rn, rm, ra } => {
                format!("mls{c} {}, {}, {}, {}", r(rd), r(rn), r(rm), r(ra))
            }
            Asm::Umull { lo, hi, rn, rm } => {
                format!("umull{c} {}, {}, {}, {}", r(lo), r(hi), r(rn), r(rm))
            }
            Asm::Div { signed, rd, rn, rm } => format!(
                "{}div{c} {}, {}, {}",
                if *signed { "s" } else { "u" },
                r(rd),
                r(rn),
                r(rm)
            ),
            Asm::Clz { rd, rm } => format!("clz{c} {}, {}", r(rd), r(rm)),
            Asm::Rbit { rd, rm } => format!("rbit{c} {}, {}", r(rd), r(rm)),
            Asm::MemImm32 { op, rt, rn, imm } => {
                format!("{}{c}.w {}, [{}, #{imm}]", op.mnemonic(), r(rt), r(rn))
            }
            Asm::MemReg32 { op, rt, rn, rm } => {
                format!("{}{c}.w {}, [{}, {}]", op.mnemonic(), r(rt), r(rn), r(rm))
            }
            Asm::Push32 { regs } => format!("push{c}.w {}", reglist(*regs)),
            Asm::Pop32 { regs } => format!("pop{c}.w {}", reglist(*regs)),
            Asm::TableBranch { half, rm } => {
                if *half {
                    format!("tbh [pc, {}, lsl #1]", r(rm))
                } else {
                    format!("tbb [pc, {}]", r(rm))
                }
            }
            Asm::B32 { target } => format!("b{c}.w {}", target_text(target)),
            Asm::Bcc32 { cc, target } => format!("b{}.w {}", cc.suffix(), target_text(target)),
            Asm::Bl { symbol } => format!("bl {symbol}"),
            Asm::Cond { cc, inst } => inst.print_cond(Some(*cc)),
        }
    }
}

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
    /// Overflow set: after `vcmp` + `vmrs`, "unordered" (an operand is NaN).
    Vs = 6,
    Vc = 7,
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
            Cc::Vs => Cc::Vc,
            Cc::Vc => Cc::Vs,
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
            Cc::Vs => "vs",
            Cc::Vc => "vc",
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
    /// `mvns rd, rm`
    Mvn = 15,
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
            NarrowOp::Mvn => "mvn",
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

/// A VFP register: `S(n)` is s0..s31, `D(n)` is d0..d15 (d<n> overlaps s<2n> and s<2n+1>).
/// FPv4-SP (cortex-m4f) computes on S registers only but loads, stores, moves and saves D
/// registers; FPv5-D16 (cortex-m7dp) computes on both. Numbers out of range are encoding
/// errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FReg {
    S(u8),
    D(u8),
}

impl FReg {
    pub fn is_double(self) -> bool {
        matches!(self, FReg::D(_))
    }
    pub fn index(self) -> u8 {
        match self {
            FReg::S(n) | FReg::D(n) => n,
        }
    }
    /// s0..s31 / d0..d15.
    pub fn is_valid(self) -> bool {
        match self {
            FReg::S(n) => n < 32,
            FReg::D(n) => n < 16,
        }
    }
    pub fn name(self) -> String {
        match self {
            FReg::S(n) => format!("s{n}"),
            FReg::D(n) => format!("d{n}"),
        }
    }
    /// The data type suffix of an operation on this register: `.f32` / `.f64`.
    pub fn ty(self) -> &'static str {
        if self.is_double() { ".f64" } else { ".f32" }
    }
}

/// Two-operand VFP arithmetic (`Vfp::Bin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VBinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// FPv5 `vmaxnm`/`vminnm` (IEEE 754-2008 maxNum/minNum: a quiet NaN operand loses, unlike
    /// wasm `max`/`min`). Not allowed in an IT block.
    MaxNm,
    MinNm,
}

impl VBinOp {
    fn mnemonic(self) -> &'static str {
        match self {
            VBinOp::Add => "vadd",
            VBinOp::Sub => "vsub",
            VBinOp::Mul => "vmul",
            VBinOp::Div => "vdiv",
            VBinOp::MaxNm => "vmaxnm",
            VBinOp::MinNm => "vminnm",
        }
    }
}

/// One-operand VFP operations (`Vfp::Un`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VUnOp {
    /// `vmov.f32 sd, sm` / `vmov.f64 dd, dm`.
    Mov,
    Abs,
    Neg,
    Sqrt,
    /// FPv5 round to integral: toward zero (`vrintz`, allowed in an IT block), toward -inf
    /// (`vrintm`), toward +inf (`vrintp`), to nearest with ties to even (`vrintn`); the last
    /// three are not allowed in an IT block.
    RintZ,
    RintM,
    RintP,
    RintN,
}

impl VUnOp {
    fn mnemonic(self) -> &'static str {
        match self {
            VUnOp::Mov => "vmov",
            VUnOp::Abs => "vabs",
            VUnOp::Neg => "vneg",
            VUnOp::Sqrt => "vsqrt",
            VUnOp::RintZ => "vrintz",
            VUnOp::RintM => "vrintm",
            VUnOp::RintP => "vrintp",
            VUnOp::RintN => "vrintn",
        }
    }
}

/// The floating-point extension an instruction needs (ordered: FPv5-D16 has all of FPv4-SP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fpu {
    /// FPv4-SP (cortex-m4f): single-precision arithmetic; D registers only for loads, stores,
    /// moves to/from core register pairs and vpush/vpop.
    V4Sp,
    /// FPv5-D16 (cortex-m7dp): double-precision arithmetic, `vrint*`, `vmaxnm`/`vminnm`.
    V5D16,
}

/// VFP instructions (`Asm::Vfp`), all 32-bit. Operands of one operation (`Bin`, `Un`, `Cmp`)
/// share a precision, which the registers give: `S` -> `.f32`, `D` -> `.f64`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vfp {
    /// `vadd.f32 sd, sn, sm` and friends (see `VBinOp`).
    Bin {
        op: VBinOp,
        rd: FReg,
        rn: FReg,
        rm: FReg,
    },
    /// `vabs.f32 sd, sm` and friends (see `VUnOp`).
    Un {
        op: VUnOp,
        rd: FReg,
        rm: FReg,
    },
    /// `vcmp.f32 sn, sm` / `vcmp.f32 sn, #0` (`rm: None`); `e` selects `vcmpe` (Invalid
    /// Operation on quiet NaNs too). Sets FPSCR.NZCV: read it with `MrsFlags`.
    Cmp {
        e: bool,
        rn: FReg,
        rm: Option<FReg>,
    },
    /// `vmrs APSR_nzcv, fpscr`: copy the comparison flags to the core flags.
    MrsFlags,
    /// `vmrs rt, fpscr`.
    Mrs {
        rt: PReg,
    },
    /// `vmsr fpscr, rt`.
    Msr {
        rt: PReg,
    },
    /// `vmov.f32 sd, #imm` / `vmov.f64 dd, #imm`: `imm8` is the VFP modified immediate (see
    /// `encode::vfp_imm8_f32` / `vfp_imm8_f64`; 0.0 is not encodable).
    MovImm {
        rd: FReg,
        imm8: u8,
    },
    /// `vmov rt, sn` (`to_core`) / `vmov sn, rt`.
    MovCore {
        to_core: bool,
        rt: PReg,
        sn: FReg,
    },
    /// `vmov rt, rt2, dm` (`to_core`) / `vmov dm, rt, rt2`: `rt` is the low word.
    MovCore2 {
        to_core: bool,
        rt: PReg,
        rt2: PReg,
        dm: FReg,
    },
    /// `vldr/vstr fd, [rn, #imm]` (imm a multiple of 4 in -1020..=1020).
    LoadStore {
        load: bool,
        fd: FReg,
        rn: PReg,
        imm: i32,
    },
    /// `vpush {first-...}` / `vpop {..}`: `count` consecutive registers of one kind.
    Push {
        first: FReg,
        count: u8,
    },
    Pop {
        first: FReg,
        count: u8,
    },
    /// `vldmia/vstmia rn{!}, {first-...}` (increment after).
    LoadStoreMulti {
        load: bool,
        rn: PReg,
        writeback: bool,
        first: FReg,
        count: u8,
    },
    /// `vcvt.f64.f32 dd, sm` / `vcvt.f32.f64 sd, dm` (the registers give the direction).
    CvtF {
        rd: FReg,
        rm: FReg,
    },
    /// `vcvt.s32.f32 sd, sm` / `vcvt.u32.f64 sd, dm` ...: float to integer rounding toward
    /// zero, saturating (NaN -> 0); the result is in an S register.
    CvtToInt {
        signed: bool,
        rd: FReg,
        rm: FReg,
    },
    /// `vcvt.f32.s32 sd, sm` / `vcvt.f64.u32 dd, sm` ...: integer (in an S register) to float,
    /// rounding per FPSCR (to nearest by default).
    CvtFromInt {
        signed: bool,
        rd: FReg,
        rm: FReg,
    },
}

fn freglist(first: FReg, count: u8) -> String {
    let last = match first {
        FReg::S(n) => FReg::S(n.saturating_add(count.saturating_sub(1))),
        FReg::D(n) => FReg::D(n.saturating_add(count.saturating_sub(1))),
    };
    if count <= 1 {
        format!("{{{}}}", first.name())
    } else {
        format!("{{{}-{}}}", first.name(), last.name())
    }
}

impl Vfp {
    /// May this instruction carry a condition (sit in an IT block)?
    pub fn predicable(&self) -> bool {
        !matches!(
            self,
            Vfp::Bin {
                op: VBinOp::MaxNm | VBinOp::MinNm,
                ..
            } | Vfp::Un {
                op: VUnOp::RintM | VUnOp::RintP | VUnOp::RintN,
                ..
            }
        )
    }

    /// The floating-point extension this instruction needs.
    pub fn fpu(&self) -> Fpu {
        let by = |f: &FReg| {
            if f.is_double() { Fpu::V5D16 } else { Fpu::V4Sp }
        };
        match self {
            Vfp::Bin {
                op: VBinOp::MaxNm | VBinOp::MinNm,
                ..
            }
            | Vfp::Un {
                op: VUnOp::RintZ | VUnOp::RintM | VUnOp::RintP | VUnOp::RintN,
                ..
            }
            | Vfp::CvtF { .. } => Fpu::V5D16,
            Vfp::Bin { rd, .. } | Vfp::Un { rd, .. } | Vfp::MovImm { rd, .. } => by(rd),
            Vfp::Cmp { rn, .. } => by(rn),
            Vfp::CvtToInt { rm: f, .. } | Vfp::CvtFromInt { rd: f, .. } => by(f),
            Vfp::MrsFlags
            | Vfp::Mrs { .. }
            | Vfp::Msr { .. }
            | Vfp::MovCore { .. }
            | Vfp::MovCore2 { .. }
            | Vfp::LoadStore { .. }
            | Vfp::Push { .. }
            | Vfp::Pop { .. }
            | Vfp::LoadStoreMulti { .. } => Fpu::V4Sp,
        }
    }

    /// Text in LLVM syntax; `c` is the condition suffix inside an IT block (or empty).
    fn print_cond(&self, c: &str) -> String {
        let r = |p: &PReg| name(*p);
        let f = |x: &FReg| x.name();
        match self {
            Vfp::Bin { op, rd, rn, rm } => format!(
                "{}{c}{} {}, {}, {}",
                op.mnemonic(),
                rd.ty(),
                f(rd),
                f(rn),
                f(rm)
            ),
            Vfp::Un { op, rd, rm } => {
                format!("{}{c}{} {}, {}", op.mnemonic(), rd.ty(), f(rd), f(rm))
            }
            Vfp::Cmp { e, rn, rm } => format!(
                "vcmp{}{c}{} {}, {}",
                if *e { "e" } else { "" },
                rn.ty(),
                f(rn),
                rm.map(|m| m.name()).unwrap_or_else(|| "#0".into())
            ),
            Vfp::MrsFlags => format!("vmrs{c} APSR_nzcv, fpscr"),
            Vfp::Mrs { rt } => format!("vmrs{c} {}, fpscr", r(rt)),
            Vfp::Msr { rt } => format!("vmsr{c} fpscr, {}", r(rt)),
            Vfp::MovImm { rd, imm8 } => {
                // Debug formatting keeps the decimal point: a bare integer would be read as
                // an encoded imm8 by some assemblers. Every value is exact in decimal.
                let value = f64::from_bits(super::encode::vfp_expand_imm_f64(*imm8));
                format!("vmov{c}{} {}, #{value:?}", rd.ty(), f(rd))
            }
            Vfp::MovCore { to_core, rt, sn } => {
                if *to_core {
                    format!("vmov{c} {}, {}", r(rt), f(sn))
                } else {
                    format!("vmov{c} {}, {}", f(sn), r(rt))
                }
            }
            Vfp::MovCore2 {
                to_core,
                rt,
                rt2,
                dm,
            } => {
                if *to_core {
                    format!("vmov{c} {}, {}, {}", r(rt), r(rt2), f(dm))
                } else {
                    format!("vmov{c} {}, {}, {}", f(dm), r(rt), r(rt2))
                }
            }
            Vfp::LoadStore { load, fd, rn, imm } => format!(
                "{}{c} {}, [{}, #{imm}]",
                if *load { "vldr" } else { "vstr" },
                f(fd),
                r(rn)
            ),
            Vfp::Push { first, count } => format!("vpush{c} {}", freglist(*first, *count)),
            Vfp::Pop { first, count } => format!("vpop{c} {}", freglist(*first, *count)),
            Vfp::LoadStoreMulti {
                load,
                rn,
                writeback,
                first,
                count,
            } => format!(
                "{}{c} {}{}, {}",
                if *load { "vldmia" } else { "vstmia" },
                r(rn),
                if *writeback { "!" } else { "" },
                freglist(*first, *count)
            ),
            Vfp::CvtF { rd, rm } => format!("vcvt{c}{}{} {}, {}", rd.ty(), rm.ty(), f(rd), f(rm)),
            Vfp::CvtToInt { signed, rd, rm } => format!(
                "vcvt{c}.{}32{} {}, {}",
                if *signed { "s" } else { "u" },
                rm.ty(),
                f(rd),
                f(rm)
            ),
            Vfp::CvtFromInt { signed, rd, rm } => format!(
                "vcvt{c}{}.{}32 {}, {}",
                rd.ty(),
                if *signed { "s" } else { "u" },
                f(rd),
                f(rm)
            ),
        }
    }
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
    /// `mla rd, rn, rm, ra`: rd = ra + rn * rm; `mls` (`sub`): rd = ra - rn * rm.
    MulAdd {
        sub: bool,
        rd: PReg,
        rn: PReg,
        rm: PReg,
        ra: PReg,
    },
    /// smull/umull (`acc`: smlal/umlal, adding into lo:hi): lo:hi (+)= rn * rm, 64-bit.
    MulLong {
        signed: bool,
        acc: bool,
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
    /// `ssat rd, #bits, rn` (clamp to a signed `bits`-bit range, 1..=32) or `usat rd, #bits,
    /// rn` (to `0..2^bits - 1`, bits 0..=31).
    Saturate {
        signed: bool,
        bits: u8,
        rd: PReg,
        rn: PReg,
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
    /// `ldr.w rt, [rn, rm, lsl #shift]` (shift 0..=3).
    MemReg32 {
        op: Mem,
        rt: PReg,
        rn: PReg,
        rm: PReg,
        shift: u8,
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
    /// `blx rm`: call the (Thumb) code address in rm.
    Blx {
        rm: PReg,
    },
    /// A VFP instruction (32-bit; see `Vfp`).
    Vfp(Vfp),
    /// Inside an IT block: executes on `cc` (printing adds the suffix; encoding is unchanged).
    Cond {
        cc: Cc,
        inst: Box<Asm>,
    },
}

fn reglist(regs: PRegSet) -> String {
    let names: Vec<_> = regs.iter().map(name).collect();
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
            Asm::MulAdd {
                sub,
                rd,
                rn,
                rm,
                ra,
            } => format!(
                "{}{c} {}, {}, {}, {}",
                if *sub { "mls" } else { "mla" },
                r(rd),
                r(rn),
                r(rm),
                r(ra)
            ),
            Asm::MulLong {
                signed,
                acc,
                lo,
                hi,
                rn,
                rm,
            } => format!(
                "{}{}{c} {}, {}, {}, {}",
                if *signed { "s" } else { "u" },
                if *acc { "mlal" } else { "mull" },
                r(lo),
                r(hi),
                r(rn),
                r(rm)
            ),
            Asm::Div { signed, rd, rn, rm } => format!(
                "{}div{c} {}, {}, {}",
                if *signed { "s" } else { "u" },
                r(rd),
                r(rn),
                r(rm)
            ),
            Asm::Clz { rd, rm } => format!("clz{c} {}, {}", r(rd), r(rm)),
            Asm::Rbit { rd, rm } => format!("rbit{c} {}, {}", r(rd), r(rm)),
            Asm::Saturate {
                signed,
                bits,
                rd,
                rn,
            } => format!(
                "{}{c} {}, #{bits}, {}",
                if *signed { "ssat" } else { "usat" },
                r(rd),
                r(rn)
            ),
            Asm::MemImm32 { op, rt, rn, imm } => {
                format!("{}{c}.w {}, [{}, #{imm}]", op.mnemonic(), r(rt), r(rn))
            }
            Asm::MemReg32 {
                op,
                rt,
                rn,
                rm,
                shift: 0,
            } => format!("{}{c}.w {}, [{}, {}]", op.mnemonic(), r(rt), r(rn), r(rm)),
            Asm::MemReg32 {
                op,
                rt,
                rn,
                rm,
                shift,
            } => format!(
                "{}{c}.w {}, [{}, {}, lsl #{shift}]",
                op.mnemonic(),
                r(rt),
                r(rn),
                r(rm)
            ),
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
            Asm::Blx { rm } => format!("blx {}", name(*rm)),
            Asm::Vfp(v) => v.print_cond(c),
            Asm::Cond { cc, inst } => inst.print_cond(Some(*cc)),
        }
    }

    /// The floating-point extension this instruction needs (None: integer only).
    pub fn fpu(&self) -> Option<Fpu> {
        match self {
            Asm::Vfp(v) => Some(v.fpu()),
            Asm::Cond { inst, .. } => inst.fpu(),
            _ => None,
        }
    }
}

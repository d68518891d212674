//! The F and D extensions: the floating-point register file's names, the operations of the
//! `PInst::F*` and `PInst::Csr*` instructions, their encodings (compressed on RV32FC/RV32DC
//! wherever a 16-bit form exists) and their LLVM-syntax printer.
//!
//! Rounding is never left to `frm`: arithmetic, square root, narrowing and int-to-float
//! conversions encode round-to-nearest-even (`rne`) statically, as wasm requires, and
//! float-to-int conversions carry their rounding mode explicitly (`rtz` for wasm's truncations),
//! so the code is correct whatever the embedder left in `fcsr`. Conversions that are always
//! exact (`fcvt.d.w`, `fcvt.d.wu`, `fcvt.d.s`) have no rounding-mode operand in LLVM 14's syntax
//! and encode `rm = 000`, as LLVM does.
//!
//! Checked against `llvm-mc -triple=riscv32 -mattr=+m,+a,+f,+d,+c`, bytes and printed text, in
//! `encode_f_tests.rs`.

use super::{bad, bits, fits_signed};
use crate::error::Result;
use crate::isa::rv32::inst::PInst;
use crate::isa::rv32::regs::{self, is_compressible};
use crate::regalloc::PReg;

/// A floating-point register f0..f31 (the hardware number; only the low 5 bits are encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FReg(pub u8);

const F_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

impl FReg {
    /// fa0: first float argument and float return value of the ILP32F/ILP32D ABIs.
    pub const FA0: FReg = FReg(10);

    /// ABI name (`ft0`, `fa0`, `fs11`, ...), as LLVM prints it.
    pub fn name(self) -> &'static str {
        F_NAMES.get(usize::from(self.0)).copied().unwrap_or("<bad>")
    }

    /// f8..f15: the registers the compressed formats' 3-bit fields can name.
    pub fn is_compressible(self) -> bool {
        (8..=15).contains(&self.0)
    }

    fn field(self) -> u32 {
        u32::from(self.0 & 31)
    }
}

/// Operand format: single (`.s`, F) or double (`.d`, D) precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FFmt {
    S,
    D,
}

impl FFmt {
    pub fn suffix(self) -> &'static str {
        match self {
            FFmt::S => "s",
            FFmt::D => "d",
        }
    }
    /// The `fmt` field of OP-FP (bits 26:25).
    fn field(self) -> u32 {
        match self {
            FFmt::S => 0,
            FFmt::D => 1,
        }
    }
    /// Access width in bytes of `flw`/`fld`.
    pub fn bytes(self) -> u32 {
        match self {
            FFmt::S => 4,
            FFmt::D => 8,
        }
    }
}

/// Two-operand float operations over float registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FBinOp {
    /// `fadd` with rm = rne.
    Add,
    /// `fsub` with rm = rne.
    Sub,
    /// `fmul` with rm = rne.
    Mul,
    /// `fdiv` with rm = rne.
    Div,
    /// IEEE 754-2008 minNum (a NaN operand yields the other operand; only two NaNs give NaN,
    /// the canonical one), unlike wasm's `min`.
    Min,
    Max,
    /// Sign injection: `fsgnj rd, a, b` (= `fmv` when a == b), copysign.
    Sgnj,
    /// `fsgnjn` (= `fneg` when a == b).
    Sgnjn,
    /// `fsgnjx` (= `fabs` when a == b).
    Sgnjx,
}

impl FBinOp {
    pub fn mnemonic(self) -> &'static str {
        match self {
            FBinOp::Add => "fadd",
            FBinOp::Sub => "fsub",
            FBinOp::Mul => "fmul",
            FBinOp::Div => "fdiv",
            FBinOp::Min => "fmin",
            FBinOp::Max => "fmax",
            FBinOp::Sgnj => "fsgnj",
            FBinOp::Sgnjn => "fsgnjn",
            FBinOp::Sgnjx => "fsgnjx",
        }
    }
    /// Rounds (and so carries rm = rne)?
    fn rounds(self) -> bool {
        matches!(self, FBinOp::Add | FBinOp::Sub | FBinOp::Mul | FBinOp::Div)
    }
    /// (funct5, funct3); funct3 is the rounding mode for the rounding operations.
    fn funct(self) -> (u32, u32) {
        match self {
            FBinOp::Add => (0b00000, RM_RNE),
            FBinOp::Sub => (0b00001, RM_RNE),
            FBinOp::Mul => (0b00010, RM_RNE),
            FBinOp::Div => (0b00011, RM_RNE),
            FBinOp::Sgnj => (0b00100, 0),
            FBinOp::Sgnjn => (0b00100, 1),
            FBinOp::Sgnjx => (0b00100, 2),
            FBinOp::Min => (0b00101, 0),
            FBinOp::Max => (0b00101, 1),
        }
    }
}

/// Float comparisons, writing 0 or 1 to an integer register (0 whenever an operand is NaN;
/// `flt`/`fle` also raise the invalid flag for quiet NaNs, which wasm cannot observe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FCmpOp {
    Eq,
    Lt,
    Le,
}

impl FCmpOp {
    pub fn mnemonic(self) -> &'static str {
        match self {
            FCmpOp::Eq => "feq",
            FCmpOp::Lt => "flt",
            FCmpOp::Le => "fle",
        }
    }
    fn funct3(self) -> u32 {
        match self {
            FCmpOp::Eq => 2,
            FCmpOp::Lt => 1,
            FCmpOp::Le => 0,
        }
    }
}

const RM_RNE: u32 = 0b000;

/// A static rounding mode (never `dyn`: the code must not depend on `frm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rm {
    /// Round to nearest, ties to even.
    Rne,
    /// Round towards zero.
    Rtz,
    /// Round down (towards -inf).
    Rdn,
    /// Round up (towards +inf).
    Rup,
    /// Round to nearest, ties to max magnitude.
    Rmm,
}

impl Rm {
    pub fn name(self) -> &'static str {
        match self {
            Rm::Rne => "rne",
            Rm::Rtz => "rtz",
            Rm::Rdn => "rdn",
            Rm::Rup => "rup",
            Rm::Rmm => "rmm",
        }
    }
    fn field(self) -> u32 {
        match self {
            Rm::Rne => 0b000,
            Rm::Rtz => 0b001,
            Rm::Rdn => 0b010,
            Rm::Rup => 0b011,
            Rm::Rmm => 0b100,
        }
    }
}

/// The floating-point control and status registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Csr {
    /// Accrued exception flags (NV DZ OF UF NX).
    Fflags,
    /// Dynamic rounding mode.
    Frm,
    /// `frm` and `fflags` together.
    Fcsr,
}

impl Csr {
    pub fn name(self) -> &'static str {
        match self {
            Csr::Fflags => "fflags",
            Csr::Frm => "frm",
            Csr::Fcsr => "fcsr",
        }
    }
    pub fn number(self) -> u32 {
        match self {
            Csr::Fflags => 0x001,
            Csr::Frm => 0x002,
            Csr::Fcsr => 0x003,
        }
    }
}

/// CSR read-modify-write: `csrrw` (swap), `csrrs` (set bits), `csrrc` (clear bits); the old
/// value goes to `rd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrOp {
    Rw,
    Rs,
    Rc,
}

impl CsrOp {
    fn funct3(self) -> u32 {
        match self {
            CsrOp::Rw => 1,
            CsrOp::Rs => 2,
            CsrOp::Rc => 3,
        }
    }
    fn mnemonic(self) -> &'static str {
        match self {
            CsrOp::Rw => "csrrw",
            CsrOp::Rs => "csrrs",
            CsrOp::Rc => "csrrc",
        }
    }
}

fn xr(p: PReg) -> u32 {
    u32::from(p.0 & 31)
}

const OP_FP: u32 = 0x53;
const LOAD_FP: u32 = 0x07;
const STORE_FP: u32 = 0x27;
const SYSTEM: u32 = 0x73;

/// OP-FP R-type over raw register fields.
fn op_fp(funct5: u32, fmt: FFmt, rs2: u32, rs1: u32, funct3: u32, rd: u32) -> u32 {
    (funct5 << 27)
        | (fmt.field() << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (funct3 << 12)
        | (rd << 7)
        | OP_FP
}

/// The 16-bit form of a float load or store, if it has one (RV32FC: `c.flw`, `c.flwsp`,
/// `c.fsw`, `c.fswsp`; RV32DC: `c.fld`, `c.fldsp`, `c.fsd`, `c.fsdsp`). Float registers have no
/// hard-wired zero, so the sp-relative forms take any of f0..f31.
pub(super) fn compress(inst: &PInst) -> Option<u16> {
    let (store, fmt, reg, base, offset) = match *inst {
        PInst::FLoad {
            fmt,
            rd,
            base,
            offset,
        } => (false, fmt, rd, base, offset),
        PInst::FStore {
            fmt,
            src,
            base,
            offset,
        } => (true, fmt, src, base, offset),
        _ => return None,
    };
    let off = i64::from(offset);
    let scale = i64::from(fmt.bytes());
    if off < 0 || off % scale != 0 {
        return None;
    }
    let c3 = |r: u16| r.wrapping_sub(8) & 7;
    let reg5 = u16::from(reg.0 & 31);
    // funct3: 011/111 for the .w forms, 001/101 for the .d forms.
    let funct3: u16 = match (fmt, store) {
        (FFmt::S, false) => 0b011,
        (FFmt::S, true) => 0b111,
        (FFmt::D, false) => 0b001,
        (FFmt::D, true) => 0b101,
    };
    let b = |hi: u32, lo: u32| bits(off, hi, lo) as u16;
    if reg.is_compressible() && is_compressible(base) && off < 32 * scale {
        // CL / CS: uimm[5:3] at 12:10, rs1' at 9:7, rd'/rs2' at 4:2; the low field at 6:5 holds
        // uimm[2|6] for words, uimm[7:6] for doublewords.
        let low = match fmt {
            FFmt::S => (b(2, 2) << 6) | (b(6, 6) << 5),
            FFmt::D => b(7, 6) << 5,
        };
        let base3 = c3(u16::from(base.0));
        return Some((funct3 << 13) | (b(5, 3) << 10) | (base3 << 7) | low | (c3(reg5) << 2));
    }
    if base == regs::SP && off < 64 * scale {
        return Some(if store {
            // CSS: uimm[5:2|7:6] (words) or uimm[5:3|8:6] (doublewords) at 12:7, rs2 at 6:2.
            let imm = match fmt {
                FFmt::S => (b(5, 2) << 9) | (b(7, 6) << 7),
                FFmt::D => (b(5, 3) << 10) | (b(8, 6) << 7),
            };
            (funct3 << 13) | imm | (reg5 << 2) | 2
        } else {
            // CI: uimm[5] at 12, rd at 11:7, uimm[4:2|7:6] (words) or uimm[4:3|8:6]
            // (doublewords) at 6:2.
            let imm = match fmt {
                FFmt::S => (b(4, 2) << 4) | (b(7, 6) << 2),
                FFmt::D => (b(4, 3) << 5) | (b(8, 6) << 2),
            };
            (funct3 << 13) | (b(5, 5) << 12) | (reg5 << 7) | imm | 2
        });
    }
    None
}

fn check_offset(offset: i32, what: &str) -> Result<()> {
    if fits_signed(i64::from(offset), 12) {
        Ok(())
    } else {
        Err(bad(format!("{what} offset {offset} does not fit 12 bits")))
    }
}

/// The 32-bit form of an F/D or CSR instruction (`None` for any other instruction).
pub(super) fn encode32(inst: &PInst) -> Option<Result<u32>> {
    let word = match *inst {
        PInst::FLoad {
            fmt,
            rd,
            base,
            offset,
        } => {
            if let Err(e) = check_offset(offset, "float load") {
                return Some(Err(e));
            }
            let width = if fmt == FFmt::S { 2 } else { 3 };
            (((offset as u32) & 0xfff) << 20)
                | (xr(base) << 15)
                | (width << 12)
                | (rd.field() << 7)
                | LOAD_FP
        }
        PInst::FStore {
            fmt,
            src,
            base,
            offset,
        } => {
            if let Err(e) = check_offset(offset, "float store") {
                return Some(Err(e));
            }
            let width = if fmt == FFmt::S { 2 } else { 3 };
            let imm = i64::from(offset);
            (bits(imm, 11, 5) << 25)
                | (src.field() << 20)
                | (xr(base) << 15)
                | (width << 12)
                | (bits(imm, 4, 0) << 7)
                | STORE_FP
        }
        PInst::FBin {
            op,
            fmt,
            rd,
            rs1,
            rs2,
        } => {
            let (funct5, funct3) = op.funct();
            op_fp(funct5, fmt, rs2.field(), rs1.field(), funct3, rd.field())
        }
        PInst::FSqrt { fmt, rd, rs } => op_fp(0b01011, fmt, 0, rs.field(), RM_RNE, rd.field()),
        PInst::FCmp {
            op,
            fmt,
            rd,
            rs1,
            rs2,
        } => op_fp(0b10100, fmt, rs2.field(), rs1.field(), op.funct3(), xr(rd)),
        PInst::FClass { fmt, rd, rs } => op_fp(0b11100, fmt, 0, rs.field(), 1, xr(rd)),
        PInst::FCvtToInt {
            fmt,
            signed,
            rm,
            rd,
            rs,
        } => op_fp(
            0b11000,
            fmt,
            u32::from(!signed),
            rs.field(),
            rm.field(),
            xr(rd),
        ),
        PInst::FCvtFromInt {
            fmt,
            signed,
            rd,
            rs,
        } => {
            // Every i32 is exact in a double: LLVM 14 encodes rm = 000 and prints none.
            op_fp(0b11010, fmt, u32::from(!signed), xr(rs), RM_RNE, rd.field())
        }
        PInst::FCvtFmt { to, rd, rs } => {
            // fcvt.s.d (rne) has rs2 = 1 (source D), fcvt.d.s (exact) rs2 = 0 (source S).
            let from = if to == FFmt::S { 1 } else { 0 };
            op_fp(0b01000, to, from, rs.field(), RM_RNE, rd.field())
        }
        PInst::FMvToInt { rd, rs } => op_fp(0b11100, FFmt::S, 0, rs.field(), 0, xr(rd)),
        PInst::FMvFromInt { rd, rs } => op_fp(0b11110, FFmt::S, 0, xr(rs), 0, rd.field()),
        PInst::Csr { op, rd, csr, rs1 } => {
            (csr.number() << 20) | (xr(rs1) << 15) | (op.funct3() << 12) | (xr(rd) << 7) | SYSTEM
        }
        PInst::CsrImm { op, rd, csr, imm } => {
            if imm >= 32 {
                return Some(Err(bad(format!("CSR immediate {imm} does not fit 5 bits"))));
            }
            (csr.number() << 20)
                | (u32::from(imm) << 15)
                | ((op.funct3() | 4) << 12)
                | (xr(rd) << 7)
                | SYSTEM
        }
        _ => return None,
    };
    Some(Ok(word))
}

/// LLVM's name for `csrrw`/`csrrs`/`csrrc` and their immediate forms, with its aliases
/// (`frcsr`, `fsrm`, `fsflagsi`, `csrr`, `csrw`, `csrs`, `csrc`, ...); `src` is the source
/// register's name or the immediate.
fn csr_text(op: CsrOp, imm: bool, rd: PReg, csr: Csr, src: &str, src_is_zero: bool) -> String {
    let rd_name = regs::name(rd);
    let zero_rd = rd == regs::ZERO;
    let f_name = match csr {
        Csr::Fcsr => "csr",
        Csr::Frm => "rm",
        Csr::Fflags => "flags",
    };
    match (op, imm) {
        // Reads: csrrs rd, csr, zero.
        (CsrOp::Rs, false) if src_is_zero => format!("fr{f_name} {rd_name}"),
        // Writes and swaps: fscsr/fsrm/fsflags (no immediate form for fcsr).
        (CsrOp::Rw, false) if zero_rd => format!("fs{f_name} {src}"),
        (CsrOp::Rw, false) => format!("fs{f_name} {rd_name}, {src}"),
        (CsrOp::Rw, true) if csr != Csr::Fcsr && zero_rd => format!("fs{f_name}i {src}"),
        (CsrOp::Rw, true) if csr != Csr::Fcsr => format!("fs{f_name}i {rd_name}, {src}"),
        _ => {
            let short = match op {
                CsrOp::Rw => "csrw",
                CsrOp::Rs => "csrs",
                CsrOp::Rc => "csrc",
            };
            let i = if imm { "i" } else { "" };
            if zero_rd {
                format!("{short}{i} {}, {src}", csr.name())
            } else {
                format!("{}{i} {rd_name}, {}, {src}", op.mnemonic(), csr.name())
            }
        }
    }
}

/// LLVM assembly text of an F/D or CSR instruction (`None` for any other instruction).
pub fn text(inst: &PInst) -> Option<String> {
    let x = regs::name;
    Some(match *inst {
        PInst::FLoad {
            fmt,
            rd,
            base,
            offset,
        } => {
            let m = if fmt == FFmt::S { "flw" } else { "fld" };
            format!("{m} {}, {offset}({})", rd.name(), x(base))
        }
        PInst::FStore {
            fmt,
            src,
            base,
            offset,
        } => {
            let m = if fmt == FFmt::S { "fsw" } else { "fsd" };
            format!("{m} {}, {offset}({})", src.name(), x(base))
        }
        PInst::FBin {
            op,
            fmt,
            rd,
            rs1,
            rs2,
        } => {
            let f = fmt.suffix();
            let alias = match op {
                FBinOp::Sgnj => "fmv",
                FBinOp::Sgnjn => "fneg",
                FBinOp::Sgnjx => "fabs",
                _ => "",
            };
            if !alias.is_empty() && rs1 == rs2 {
                format!("{alias}.{f} {}, {}", rd.name(), rs1.name())
            } else {
                let rm = if op.rounds() { ", rne" } else { "" };
                let (d, a, b) = (rd.name(), rs1.name(), rs2.name());
                format!("{}.{f} {d}, {a}, {b}{rm}", op.mnemonic())
            }
        }
        PInst::FSqrt { fmt, rd, rs } => {
            format!("fsqrt.{} {}, {}, rne", fmt.suffix(), rd.name(), rs.name())
        }
        PInst::FCmp {
            op,
            fmt,
            rd,
            rs1,
            rs2,
        } => format!(
            "{}.{} {}, {}, {}",
            op.mnemonic(),
            fmt.suffix(),
            x(rd),
            rs1.name(),
            rs2.name()
        ),
        PInst::FClass { fmt, rd, rs } => {
            format!("fclass.{} {}, {}", fmt.suffix(), x(rd), rs.name())
        }
        PInst::FCvtToInt {
            fmt,
            signed,
            rm,
            rd,
            rs,
        } => {
            let w = if signed { "w" } else { "wu" };
            let (f, d, s, m) = (fmt.suffix(), x(rd), rs.name(), rm.name());
            format!("fcvt.{w}.{f} {d}, {s}, {m}")
        }
        PInst::FCvtFromInt {
            fmt,
            signed,
            rd,
            rs,
        } => {
            let w = if signed { "w" } else { "wu" };
            let rm = if fmt == FFmt::S { ", rne" } else { "" };
            format!("fcvt.{}.{w} {}, {}{rm}", fmt.suffix(), rd.name(), x(rs))
        }
        PInst::FCvtFmt { to, rd, rs } => match to {
            FFmt::S => format!("fcvt.s.d {}, {}, rne", rd.name(), rs.name()),
            FFmt::D => format!("fcvt.d.s {}, {}", rd.name(), rs.name()),
        },
        PInst::FMvToInt { rd, rs } => format!("fmv.x.w {}, {}", x(rd), rs.name()),
        PInst::FMvFromInt { rd, rs } => format!("fmv.w.x {}, {}", rd.name(), x(rs)),
        PInst::Csr { op, rd, csr, rs1 } => csr_text(op, false, rd, csr, x(rs1), rs1 == regs::ZERO),
        PInst::CsrImm { op, rd, csr, imm } => {
            csr_text(op, true, rd, csr, &imm.to_string(), imm == 0)
        }
        _ => return None,
    })
}

#[cfg(test)]
#[path = "encode_f_tests.rs"]
mod tests;

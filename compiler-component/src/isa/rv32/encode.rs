//! RV32IMAC instruction encodings, compressed (RVC) wherever an instruction has a 16-bit form;
//! the F and D extensions (and their CSRs) are in [`f`].
//!
//! Every encoder here is checked against `llvm-mc -triple=riscv32 -mattr=+m,+a,+c` in the tests
//! below: LLVM compresses whenever it can, so equal bytes also prove we pick the shortest form.

use super::inst::{AluImmOp, AluOp, BrCond, Label, LoadKind, PInst, StoreKind};
use super::regs::{self, is_compressible};
use crate::error::{CompileError, Result};
use crate::ir::Symbol;
use crate::regalloc::PReg;

#[path = "encode_f.rs"]
pub mod f;

pub const R_RISCV_CALL_PLT: u32 = 19;
pub const R_RISCV_HI20: u32 = 26;
pub const R_RISCV_LO12_I: u32 = 27;
pub const R_RISCV_LO12_S: u32 = 28;

/// One listing line's worth of machine code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub bytes: Vec<u8>,
    /// Relocation at the start of this piece: (type, symbol, addend).
    pub reloc: Option<(u32, Symbol, i64)>,
    /// Text with branch targets still to be spelled: `None` means use the instruction's printer.
    pub text: Option<String>,
}

fn fits_signed(value: i64, bits: u32) -> bool {
    let half = 1i64 << (bits - 1);
    (-half..half).contains(&value)
}

fn x(p: PReg) -> u32 {
    u32::from(p.0 & 31)
}

/// 3-bit register field of the compressed formats (x8..x15).
fn c3(p: PReg) -> u16 {
    u16::from(p.0.wrapping_sub(8) & 7)
}

fn c5(p: PReg) -> u16 {
    u16::from(p.0 & 31)
}

fn bits(value: i64, hi: u32, lo: u32) -> u32 {
    ((value >> lo) as u32) & ((1u32 << (hi - lo + 1)) - 1)
}

fn r_type(funct7: u32, rs2: PReg, rs1: PReg, funct3: u32, rd: PReg, opcode: u32) -> u32 {
    (funct7 << 25) | (x(rs2) << 20) | (x(rs1) << 15) | (funct3 << 12) | (x(rd) << 7) | opcode
}

fn i_type(imm: i32, rs1: PReg, funct3: u32, rd: PReg, opcode: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (x(rs1) << 15) | (funct3 << 12) | (x(rd) << 7) | opcode
}

fn s_type(imm: i32, rs2: PReg, rs1: PReg, funct3: u32, opcode: u32) -> u32 {
    let imm = i64::from(imm);
    (bits(imm, 11, 5) << 25)
        | (x(rs2) << 20)
        | (x(rs1) << 15)
        | (funct3 << 12)
        | (bits(imm, 4, 0) << 7)
        | opcode
}

fn b_type(disp: i64, rs2: PReg, rs1: PReg, funct3: u32) -> u32 {
    (bits(disp, 12, 12) << 31)
        | (bits(disp, 10, 5) << 25)
        | (x(rs2) << 20)
        | (x(rs1) << 15)
        | (funct3 << 12)
        | (bits(disp, 4, 1) << 8)
        | (bits(disp, 11, 11) << 7)
        | 0x63
}

fn jal(rd: PReg, disp: i64) -> u32 {
    (bits(disp, 20, 20) << 31)
        | (bits(disp, 10, 1) << 21)
        | (bits(disp, 11, 11) << 20)
        | (bits(disp, 19, 12) << 12)
        | (x(rd) << 7)
        | 0x6f
}

fn alu_funct(op: AluOp) -> (u32, u32) {
    match op {
        AluOp::Add => (0, 0),
        AluOp::Sub => (0x20, 0),
        AluOp::Sll => (0, 1),
        AluOp::Slt => (0, 2),
        AluOp::Sltu => (0, 3),
        AluOp::Xor => (0, 4),
        AluOp::Srl => (0, 5),
        AluOp::Sra => (0x20, 5),
        AluOp::Or => (0, 6),
        AluOp::And => (0, 7),
        AluOp::Mul => (1, 0),
        AluOp::Mulh => (1, 1),
        AluOp::Mulhu => (1, 3),
        AluOp::Div => (1, 4),
        AluOp::Divu => (1, 5),
        AluOp::Rem => (1, 6),
        AluOp::Remu => (1, 7),
    }
}

fn branch_funct3(cond: BrCond) -> u32 {
    match cond {
        BrCond::Eq => 0,
        BrCond::Ne => 1,
        BrCond::Lt => 4,
        BrCond::Ge => 5,
        BrCond::Ltu => 6,
        BrCond::Geu => 7,
    }
}

fn bad(what: String) -> CompileError {
    CompileError::internal(format!("rv32 encoding: {what}"))
}

fn c_ci(funct3: u16, rd: PReg, imm: i64, quadrant: u16) -> u16 {
    (funct3 << 13)
        | ((bits(imm, 5, 5) as u16) << 12)
        | (c5(rd) << 7)
        | ((bits(imm, 4, 0) as u16) << 2)
        | quadrant
}

/// The 16-bit form of a (non-branch) instruction, if it has one. The order of the checks
/// follows LLVM's compression table where two forms would apply.
fn compress(inst: &PInst) -> Option<u16> {
    let nonzero = |p: PReg| p != regs::ZERO;
    match *inst {
        PInst::AluImm { op, rd, rs1, imm } => {
            let imm = i64::from(imm);
            match op {
                AluImmOp::Addi => {
                    if is_compressible(rd)
                        && rs1 == regs::SP
                        && imm > 0
                        && imm < 1024
                        && imm % 4 == 0
                    {
                        // c.addi4spn
                        let v = (bits(imm, 5, 4) << 11)
                            | (bits(imm, 9, 6) << 7)
                            | (bits(imm, 2, 2) << 6)
                            | (bits(imm, 3, 3) << 5);
                        return Some(v as u16 | (c3(rd) << 2));
                    }
                    if rd == rs1 && nonzero(rd) && imm != 0 && fits_signed(imm, 6) {
                        return Some(c_ci(0b000, rd, imm, 1)); // c.addi
                    }
                    if nonzero(rd) && rs1 == regs::ZERO && fits_signed(imm, 6) {
                        return Some(c_ci(0b010, rd, imm, 1)); // c.li
                    }
                    if rd == regs::SP
                        && rs1 == regs::SP
                        && imm != 0
                        && imm % 16 == 0
                        && fits_signed(imm, 10)
                    {
                        // c.addi16sp
                        let v = (0b011u32 << 13)
                            | (bits(imm, 9, 9) << 12)
                            | (2 << 7)
                            | (bits(imm, 4, 4) << 6)
                            | (bits(imm, 6, 6) << 5)
                            | (bits(imm, 8, 7) << 3)
                            | (bits(imm, 5, 5) << 2)
                            | 1;
                        return Some(v as u16);
                    }
                    if imm == 0 && nonzero(rd) && nonzero(rs1) {
                        // c.mv
                        return Some((0b100 << 13) | (c5(rd) << 7) | (c5(rs1) << 2) | 2);
                    }
                    None
                }
                AluImmOp::Srli | AluImmOp::Srai
                    if rd == rs1 && is_compressible(rd) && imm > 0 && imm < 32 =>
                {
                    let funct2 = if op == AluImmOp::Srli { 0 } else { 1 };
                    Some(
                        (0b100 << 13)
                            | (funct2 << 10)
                            | (c3(rd) << 7)
                            | ((bits(imm, 4, 0) as u16) << 2)
                            | 1,
                    )
                }
                AluImmOp::Andi if rd == rs1 && is_compressible(rd) && fits_signed(imm, 6) => Some(
                    (0b100 << 13)
                        | ((bits(imm, 5, 5) as u16) << 12)
                        | (0b10 << 10)
                        | (c3(rd) << 7)
                        | ((bits(imm, 4, 0) as u16) << 2)
                        | 1,
                ),
                AluImmOp::Slli if rd == rs1 && nonzero(rd) && imm > 0 && imm < 32 => {
                    Some(c_ci(0b000, rd, imm, 2))
                }
                _ => None,
            }
        }
        PInst::Lui { rd, imm20 } => {
            // c.lui takes a nonzero 6-bit signed value of the upper immediate.
            let value = i64::from(((imm20 << 12) as i32) >> 12);
            if nonzero(rd) && rd != regs::SP && value != 0 && fits_signed(value, 6) {
                Some(c_ci(0b011, rd, value, 1))
            } else {
                None
            }
        }
        PInst::Alu { op, rd, rs1, rs2 } => {
            let ca = |funct2: u16, other: PReg| {
                (0b10_0011 << 10) | (c3(rd) << 7) | (funct2 << 5) | (c3(other) << 2) | 1
            };
            let all_c = is_compressible(rd) && is_compressible(rs1) && is_compressible(rs2);
            match op {
                AluOp::Sub if all_c && rd == rs1 => Some(ca(0, rs2)),
                AluOp::Xor | AluOp::Or | AluOp::And if all_c && (rd == rs1 || rd == rs2) => {
                    let other = if rd == rs1 { rs2 } else { rs1 };
                    let funct2 = match op {
                        AluOp::Xor => 1,
                        AluOp::Or => 2,
                        _ => 3,
                    };
                    Some(ca(funct2, other))
                }
                AluOp::Add if nonzero(rd) => {
                    if rd == rs1 && nonzero(rs2) {
                        Some((0b1001 << 12) | (c5(rd) << 7) | (c5(rs2) << 2) | 2)
                    } else if rs1 == regs::ZERO && nonzero(rs2) {
                        // add rd, zero, rs2 == c.mv
                        Some((0b1000 << 12) | (c5(rd) << 7) | (c5(rs2) << 2) | 2)
                    } else if rd == rs2 && nonzero(rs1) {
                        Some((0b1001 << 12) | (c5(rd) << 7) | (c5(rs1) << 2) | 2)
                    } else if rs2 == regs::ZERO && nonzero(rs1) {
                        Some((0b1000 << 12) | (c5(rd) << 7) | (c5(rs1) << 2) | 2)
                    } else {
                        None
                    }
                }
                _ => None,
            }
        }
        PInst::Load {
            kind: LoadKind::W,
            rd,
            base,
            offset,
        } => {
            let off = i64::from(offset);
            if is_compressible(rd)
                && is_compressible(base)
                && (0..128).contains(&off)
                && off % 4 == 0
            {
                let v = (0b010 << 13)
                    | ((bits(off, 5, 3) as u16) << 10)
                    | (c3(base) << 7)
                    | ((bits(off, 2, 2) as u16) << 6)
                    | ((bits(off, 6, 6) as u16) << 5)
                    | (c3(rd) << 2);
                Some(v)
            } else if base == regs::SP && nonzero(rd) && (0..256).contains(&off) && off % 4 == 0 {
                let v = (0b010 << 13)
                    | ((bits(off, 5, 5) as u16) << 12)
                    | (c5(rd) << 7)
                    | ((bits(off, 4, 2) as u16) << 4)
                    | ((bits(off, 7, 6) as u16) << 2)
                    | 2;
                Some(v)
            } else {
                None
            }
        }
        PInst::Store {
            kind: StoreKind::W,
            src,
            base,
            offset,
        } => {
            let off = i64::from(offset);
            if is_compressible(src)
                && is_compressible(base)
                && (0..128).contains(&off)
                && off % 4 == 0
            {
                let v = (0b110 << 13)
                    | ((bits(off, 5, 3) as u16) << 10)
                    | (c3(base) << 7)
                    | ((bits(off, 2, 2) as u16) << 6)
                    | ((bits(off, 6, 6) as u16) << 5)
                    | (c3(src) << 2);
                Some(v)
            } else if base == regs::SP && (0..256).contains(&off) && off % 4 == 0 {
                let v = (0b110 << 13)
                    | ((bits(off, 5, 2) as u16) << 9)
                    | ((bits(off, 7, 6) as u16) << 7)
                    | (c5(src) << 2)
                    | 2;
                Some(v)
            } else {
                None
            }
        }
        PInst::Jalr { rd, rs1, offset: 0 }
            if nonzero(rs1) && (rd == regs::ZERO || rd == regs::RA) =>
        {
            let link = u16::from(rd == regs::RA);
            Some((0b100 << 13) | (link << 12) | (c5(rs1) << 7) | 2)
        }
        PInst::Unimp => Some(0),
        PInst::FLoad { .. } | PInst::FStore { .. } => f::compress(inst),
        _ => None,
    }
}

fn check_imm12(imm: i32, what: &str) -> Result<()> {
    if fits_signed(i64::from(imm), 12) {
        Ok(())
    } else {
        Err(bad(format!("{what} immediate {imm} does not fit 12 bits")))
    }
}

/// The 32-bit form of a non-branch instruction.
fn encode32(inst: &PInst) -> Result<u32> {
    Ok(match *inst {
        PInst::Lui { rd, imm20 } => ((imm20 & 0xfffff) << 12) | (x(rd) << 7) | 0x37,
        PInst::Auipc { rd, imm20 } => ((imm20 & 0xfffff) << 12) | (x(rd) << 7) | 0x17,
        PInst::Alu { op, rd, rs1, rs2 } => {
            let (funct7, funct3) = alu_funct(op);
            r_type(funct7, rs2, rs1, funct3, rd, 0x33)
        }
        PInst::AluImm { op, rd, rs1, imm } => {
            let shift = |funct: i32| {
                if (0..32).contains(&imm) {
                    Ok(funct | imm)
                } else {
                    Err(bad(format!("shift amount {imm}")))
                }
            };
            let (funct3, field) = match op {
                AluImmOp::Addi => (0, imm),
                AluImmOp::Slti => (2, imm),
                AluImmOp::Sltiu => (3, imm),
                AluImmOp::Xori => (4, imm),
                AluImmOp::Ori => (6, imm),
                AluImmOp::Andi => (7, imm),
                AluImmOp::Slli => (1, shift(0)?),
                AluImmOp::Srli => (5, shift(0)?),
                AluImmOp::Srai => (5, shift(0x400)?),
            };
            if !matches!(op, AluImmOp::Slli | AluImmOp::Srli | AluImmOp::Srai) {
                check_imm12(imm, op.mnemonic())?;
            }
            i_type(field, rs1, funct3, rd, 0x13)
        }
        PInst::Load {
            kind,
            rd,
            base,
            offset,
        } => {
            check_imm12(offset, "load offset")?;
            let funct3 = match kind {
                LoadKind::B => 0,
                LoadKind::H => 1,
                LoadKind::W => 2,
                LoadKind::Bu => 4,
                LoadKind::Hu => 5,
            };
            i_type(offset, base, funct3, rd, 0x03)
        }
        PInst::Store {
            kind,
            src,
            base,
            offset,
        } => {
            check_imm12(offset, "store offset")?;
            let funct3 = match kind {
                StoreKind::B => 0,
                StoreKind::H => 1,
                StoreKind::W => 2,
            };
            s_type(offset, src, base, funct3, 0x23)
        }
        PInst::Jalr { rd, rs1, offset } => {
            check_imm12(offset, "jalr offset")?;
            i_type(offset, rs1, 0, rd, 0x67)
        }
        PInst::LuiSym { rd, .. } => (x(rd) << 7) | 0x37,
        PInst::AddiSym { rd, rs1, .. } => i_type(0, rs1, 0, rd, 0x13),
        PInst::LoadSym { rd, base, .. } => i_type(0, base, 2, rd, 0x03),
        PInst::StoreSym { src, base, .. } => s_type(0, src, base, 2, 0x23),
        PInst::Unimp => 0xc000_1073, // csrrw zero, cycle, zero: the canonical 32-bit unimp
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
        | PInst::CsrImm { .. } => match f::encode32(inst) {
            Some(word) => word?,
            None => return Err(bad(format!("{inst:?} has no F/D encoding"))),
        },
        PInst::Branch { .. }
        | PInst::Jump { .. }
        | PInst::TableJump { .. }
        | PInst::Call { .. }
        | PInst::Label(_) => return Err(bad(format!("{inst:?} is not a plain instruction"))),
    })
}

/// Encode a non-branch instruction in its shortest form (relocated instructions stay 32-bit:
/// their immediates are filled in by the linker).
pub fn encode_plain(inst: &PInst) -> Result<Vec<u8>> {
    if let Some(half) = compress(inst) {
        return Ok(half.to_le_bytes().to_vec());
    }
    Ok(encode32(inst)?.to_le_bytes().to_vec())
}

/// Number of encoding forms a relaxable instruction can take, smallest first.
pub fn relax_forms(inst: &PInst) -> u8 {
    match inst {
        PInst::Branch { .. } => 3,
        PInst::Jump { .. } => 2,
        _ => 1,
    }
}

/// Can this branch use `c.beqz`/`c.bnez` (x8..x15 against zero)?
fn has_compressed_form(inst: &PInst) -> bool {
    matches!(*inst, PInst::Branch { cond, rs1, rs2, .. }
        if matches!(cond, BrCond::Eq | BrCond::Ne) && rs2 == regs::ZERO && is_compressible(rs1))
}

/// The first form worth trying: `c.beqz`/`c.bnez` exist only for x8..x15 against zero.
pub fn initial_form(inst: &PInst) -> u8 {
    match inst {
        PInst::Branch { .. } if !has_compressed_form(inst) => 1,
        _ => 0,
    }
}

/// Bytes of the inverted branch that skips the `jal` in the long form (the inverse of a
/// compressible branch is compressible too).
fn skip_size(inst: &PInst) -> u32 {
    if has_compressed_form(inst) { 2 } else { 4 }
}

/// Size in bytes of a branch or jump in a given form.
pub fn relax_size(inst: &PInst, form: u8) -> u32 {
    match (inst, form) {
        (PInst::Branch { .. }, 0) | (PInst::Jump { .. }, 0) => 2,
        (PInst::Branch { .. }, 1) | (PInst::Jump { .. }, 1) | (PInst::TableJump { .. }, _) => 4,
        (PInst::Branch { .. }, _) => skip_size(inst) + 4,
        (PInst::Call { .. }, _) => 8,
        _ => 0,
    }
}

/// Does a branch in `form` reach `disp` (target minus the branch's own address)?
pub fn reaches(inst: &PInst, form: u8, disp: i64) -> bool {
    let even = disp % 2 == 0;
    even && match (inst, form) {
        (PInst::Branch { .. }, 0) => fits_signed(disp, 9),
        (PInst::Branch { .. }, 1) => fits_signed(disp, 13),
        // The `jal` sits after the inverted branch.
        (PInst::Branch { .. }, _) => fits_signed(disp - i64::from(skip_size(inst)), 21),
        (PInst::Jump { .. }, 0) => fits_signed(disp, 12),
        (PInst::Jump { .. }, _) | (PInst::TableJump { .. }, _) => fits_signed(disp, 21),
        _ => true,
    }
}

/// `c.beqz`/`c.bnez rs1, disp`.
fn c_branch(cond: BrCond, rs1: PReg, disp: i64) -> u16 {
    let funct3: u16 = if cond == BrCond::Eq { 0b110 } else { 0b111 };
    (funct3 << 13)
        | ((bits(disp, 8, 8) as u16) << 12)
        | ((bits(disp, 4, 3) as u16) << 10)
        | (c3(rs1) << 7)
        | ((bits(disp, 7, 6) as u16) << 5)
        | ((bits(disp, 2, 1) as u16) << 3)
        | ((bits(disp, 5, 5) as u16) << 2)
        | 1
}

/// Encode a branch, jump or table entry in `form` at displacement `disp` to its target.
pub fn encode_branch(inst: &PInst, form: u8, disp: i64) -> Result<Vec<Piece>> {
    if !reaches(inst, form, disp) {
        return Err(bad(format!("{inst:?} cannot reach {disp} in form {form}")));
    }
    let word = |w: u32| w.to_le_bytes().to_vec();
    let half = |h: u16| h.to_le_bytes().to_vec();
    let piece = |bytes: Vec<u8>| Piece {
        bytes,
        reloc: None,
        text: None,
    };
    Ok(match (inst.clone(), form) {
        (PInst::Branch { cond, rs1, .. }, 0) => vec![piece(half(c_branch(cond, rs1, disp)))],
        (PInst::Branch { cond, rs1, rs2, .. }, 1) => {
            vec![piece(word(b_type(disp, rs2, rs1, branch_funct3(cond))))]
        }
        (PInst::Branch { cond, rs1, rs2, .. }, _) => {
            let inverse = cond.inverse();
            let skip = skip_size(inst);
            let over = i64::from(skip + 4);
            let skip_inst = PInst::Branch {
                cond: inverse,
                rs1,
                rs2,
                target: Label(0),
            };
            let skip_text = skip_inst.text(&|_| over.to_string(), &|_| String::new());
            let skip_bytes = if skip == 2 {
                half(c_branch(inverse, rs1, over))
            } else {
                word(b_type(over, rs2, rs1, branch_funct3(inverse)))
            };
            vec![
                Piece {
                    bytes: skip_bytes,
                    reloc: None,
                    text: Some(skip_text),
                },
                Piece {
                    bytes: word(jal(regs::ZERO, disp - i64::from(skip))),
                    reloc: None,
                    // The caller spells the target: this is the part that reaches it.
                    text: Some(String::from("j")),
                },
            ]
        }
        (PInst::Jump { .. }, 0) => {
            let v = (0b101u32 << 13)
                | (bits(disp, 11, 11) << 12)
                | (bits(disp, 4, 4) << 11)
                | (bits(disp, 9, 8) << 9)
                | (bits(disp, 10, 10) << 8)
                | (bits(disp, 6, 6) << 7)
                | (bits(disp, 7, 7) << 6)
                | (bits(disp, 3, 1) << 3)
                | (bits(disp, 5, 5) << 2)
                | 1;
            vec![piece(half(v as u16))]
        }
        (PInst::Jump { .. }, _) | (PInst::TableJump { .. }, _) => {
            vec![piece(word(jal(regs::ZERO, disp)))]
        }
        _ => return Err(bad(format!("{inst:?} is not a branch"))),
    })
}

/// Encode `call symbol`: `auipc ra, 0; jalr ra, 0(ra)` under one `R_RISCV_CALL_PLT`.
pub fn encode_call(symbol: Symbol) -> Piece {
    let mut bytes = (0x0000_0097u32).to_le_bytes().to_vec();
    bytes.extend(0x0000_80e7u32.to_le_bytes());
    Piece {
        bytes,
        reloc: Some((R_RISCV_CALL_PLT, symbol, 0)),
        text: None,
    }
}

/// Encode an instruction that is neither a branch nor a call (symbol references carry their
/// relocation).
pub fn encode_other(inst: &PInst) -> Result<Piece> {
    let reloc = match *inst {
        PInst::LuiSym { symbol, addend, .. } => Some((R_RISCV_HI20, symbol, i64::from(addend))),
        PInst::AddiSym { symbol, addend, .. } | PInst::LoadSym { symbol, addend, .. } => {
            Some((R_RISCV_LO12_I, symbol, i64::from(addend)))
        }
        PInst::StoreSym { symbol, addend, .. } => Some((R_RISCV_LO12_S, symbol, i64::from(addend))),
        _ => None,
    };
    let bytes = if reloc.is_some() {
        encode32(inst)?.to_le_bytes().to_vec()
    } else {
        encode_plain(inst)?
    };
    Ok(Piece {
        bytes,
        reloc,
        text: None,
    })
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;

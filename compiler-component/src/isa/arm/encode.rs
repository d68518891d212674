//! Thumb-2 encodings of `Asm` instructions (ARMv7-M Architecture Reference Manual, A6/A7).
//! Field values out of range are internal errors: `emit.rs` only builds encodable forms.

use super::asm::{Asm, Extend, Mem, Shift, Target};
use super::regs::{LR, PC, SP, is_low};
use crate::error::{CompileError, Result};
use crate::regalloc::{PReg, PRegSet};

#[path = "encode_vfp.rs"]
mod vfp;
pub use vfp::{vfp_expand_imm_f32, vfp_expand_imm_f64, vfp_imm8_f32, vfp_imm8_f64};

/// The 12-bit `i:imm3:imm8` field for a Thumb-2 modified immediate, if `value` is one.
pub fn modimm(value: u32) -> Option<u16> {
    let b = value & 0xff;
    if value == b {
        return Some(b as u16);
    }
    if value == (b << 16) | b {
        return Some(0x100 | b as u16);
    }
    let b1 = (value >> 8) & 0xff;
    if value == (b1 << 24) | (b1 << 8) {
        return Some(0x200 | b1 as u16);
    }
    if value == b * 0x0101_0101 {
        return Some(0x300 | b as u16);
    }
    // An 8-bit value with its top bit set, rotated right by 8..=31.
    (8..32u32).find_map(|rot| {
        let unrotated = value.rotate_left(rot);
        if unrotated & !0xff == 0 && unrotated & 0x80 != 0 {
            Some(((rot << 7) | (unrotated & 0x7f)) as u16)
        } else {
            None
        }
    })
}

fn bad(asm: &Asm) -> CompileError {
    CompileError::internal(format!("unencodable instruction `{}`", asm.print()))
}

fn r(p: PReg) -> u16 {
    (p.0 & 0xf) as u16
}

fn low(regs: &[PReg]) -> bool {
    regs.iter().all(|p| is_low(*p))
}

fn hw16(v: u16) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn hw32(first: u16, second: u16) -> Vec<u8> {
    // Sized once: growing a two-byte vector cost a reallocation per instruction.
    let mut v = Vec::with_capacity(4);
    v.extend_from_slice(&first.to_le_bytes());
    v.extend_from_slice(&second.to_le_bytes());
    v
}

/// Split a modified-immediate or imm12 field over `i` (hw1 bit 10), `imm3` (hw2 14:12) and
/// `imm8` (hw2 7:0).
fn split12(imm12: u16) -> (u16, u16) {
    (
        ((imm12 >> 11) & 1) << 10,
        (((imm12 >> 8) & 7) << 12) | (imm12 & 0xff),
    )
}

fn mem_bits_16_reg(op: Mem) -> u16 {
    match op {
        Mem::Str => 0x5000,
        Mem::Strh => 0x5200,
        Mem::Strb => 0x5400,
        Mem::Ldrsb => 0x5600,
        Mem::Ldr => 0x5800,
        Mem::Ldrh => 0x5a00,
        Mem::Ldrb => 0x5c00,
        Mem::Ldrsh => 0x5e00,
    }
}

fn mem_bits_32(op: Mem) -> u16 {
    // hw1 of the imm12 form; the register form clears bit 7 (0x80).
    match op {
        Mem::Strb => 0xf880,
        Mem::Strh => 0xf8a0,
        Mem::Str => 0xf8c0,
        Mem::Ldrb => 0xf890,
        Mem::Ldrh => 0xf8b0,
        Mem::Ldr => 0xf8d0,
        Mem::Ldrsb => 0xf990,
        Mem::Ldrsh => 0xf9b0,
    }
}

fn branch_t4(offset: i32, link: bool) -> Option<Vec<u8>> {
    if offset % 2 != 0 || !(-(1 << 24)..(1 << 24)).contains(&offset) {
        return None;
    }
    let v = offset as u32;
    let s = (v >> 24) & 1;
    let i1 = (v >> 23) & 1;
    let i2 = (v >> 22) & 1;
    let j1 = (!(i1 ^ s)) & 1;
    let j2 = (!(i2 ^ s)) & 1;
    let imm10 = (v >> 12) & 0x3ff;
    let imm11 = (v >> 1) & 0x7ff;
    let first = 0xf000 | (s << 10) | imm10;
    let second = (if link { 0xd000 } else { 0x9000 }) | (j1 << 13) | (j2 << 11) | imm11;
    Some(hw32(first as u16, second as u16))
}

fn reglist_bits(regs: PRegSet) -> u32 {
    regs.0 as u32 & 0xffff
}

/// Is `t` a byte offset in `range` with the required alignment?
fn fits(t: &Target, min: i32, max: i32) -> bool {
    t.offset % 2 == 0 && (min..=max).contains(&t.offset)
}

/// Size in bytes of the encoding (2 or 4).
pub fn size(asm: &Asm) -> u32 {
    match asm {
        Asm::Cond { inst, .. } => size(inst),
        Asm::MovReg { .. }
        | Asm::MovsImm { .. }
        | Asm::AddSubReg3 { .. }
        | Asm::AddSubImm3 { .. }
        | Asm::AddSubImm8 { .. }
        | Asm::Narrow { .. }
        | Asm::AddHigh { .. }
        | Asm::CmpReg { .. }
        | Asm::CmpImm8 { .. }
        | Asm::ShiftImm16 { .. }
        | Asm::Extend16 { .. }
        | Asm::MemReg16 { .. }
        | Asm::MemImm16 { .. }
        | Asm::MemSp16 { .. }
        | Asm::AddRdSp16 { .. }
        | Asm::AdjustSp16 { .. }
        | Asm::Push16 { .. }
        | Asm::Pop16 { .. }
        | Asm::BxLr
        | Asm::Blx { .. }
        | Asm::It { .. }
        | Asm::Udf { .. }
        | Asm::B16 { .. }
        | Asm::Bcc16 { .. }
        | Asm::Cbz { .. } => 2,
        _ => 4,
    }
}

pub fn encode(asm: &Asm) -> Result<Vec<u8>> {
    let ok = |c: bool| if c { Ok(()) } else { Err(bad(asm)) };
    Ok(match asm {
        Asm::Cond { inst, .. } => {
            ok(!matches!(&**inst, Asm::Vfp(v) if !v.predicable()))?;
            encode(inst)?
        }
        Asm::Vfp(v) => {
            let (first, second) = vfp::encode(v).ok_or_else(|| bad(asm))?;
            hw32(first, second)
        }
        Asm::Blx { rm } => {
            // `blx lr` is defined (the target is read before LR is written); PC is not.
            ok(*rm != PC && *rm != SP)?;
            hw16(0x4780 | (r(*rm) << 3))
        }
        Asm::MovReg { rd, rm } => hw16(0x4600 | ((r(*rd) & 8) << 4) | (r(*rm) << 3) | (r(*rd) & 7)),
        Asm::MovsImm { rd, imm } => {
            ok(is_low(*rd))?;
            hw16(0x2000 | (r(*rd) << 8) | *imm as u16)
        }
        Asm::AddSubReg3 { sub, rd, rn, rm } => {
            ok(low(&[*rd, *rn, *rm]))?;
            let base = if *sub { 0x1a00 } else { 0x1800 };
            hw16(base | (r(*rm) << 6) | (r(*rn) << 3) | r(*rd))
        }
        Asm::AddSubImm3 { sub, rd, rn, imm } => {
            ok(low(&[*rd, *rn]) && *imm < 8)?;
            let base = if *sub { 0x1e00 } else { 0x1c00 };
            hw16(base | ((*imm as u16) << 6) | (r(*rn) << 3) | r(*rd))
        }
        Asm::AddSubImm8 { sub, rdn, imm } => {
            ok(is_low(*rdn))?;
            let base = if *sub { 0x3800 } else { 0x3000 };
            hw16(base | (r(*rdn) << 8) | *imm as u16)
        }
        Asm::Narrow { op, rdn, rm } => {
            ok(low(&[*rdn, *rm]))?;
            hw16(0x4000 | ((*op as u16) << 6) | (r(*rm) << 3) | r(*rdn))
        }
        Asm::AddHigh { rdn, rm } => {
            ok(*rdn != PC && *rm != PC)?;
            hw16(0x4400 | ((r(*rdn) & 8) << 4) | (r(*rm) << 3) | (r(*rdn) & 7))
        }
        Asm::CmpReg { rn, rm } => {
            if low(&[*rn, *rm]) {
                hw16(0x4280 | (r(*rm) << 3) | r(*rn))
            } else {
                ok(*rn != PC && *rm != PC)?;
                hw16(0x4500 | ((r(*rn) & 8) << 4) | (r(*rm) << 3) | (r(*rn) & 7))
            }
        }
        Asm::CmpImm8 { rn, imm } => {
            ok(is_low(*rn))?;
            hw16(0x2800 | (r(*rn) << 8) | *imm as u16)
        }
        Asm::ShiftImm16 { op, rd, rm, imm } => {
            ok(low(&[*rd, *rm]))?;
            let (base, imm5) = match (op, *imm) {
                (Shift::Lsl, 0..=31) => (0x0000, *imm),
                (Shift::Lsr, 1..=31) => (0x0800, *imm),
                (Shift::Lsr, 32) => (0x0800, 0),
                (Shift::Asr, 1..=31) => (0x1000, *imm),
                (Shift::Asr, 32) => (0x1000, 0),
                _ => return Err(bad(asm)),
            };
            hw16(base | ((imm5 as u16) << 6) | (r(*rm) << 3) | r(*rd))
        }
        Asm::Extend16 { op, rd, rm } => {
            ok(low(&[*rd, *rm]))?;
            let base = match op {
                Extend::Sxth => 0xb200,
                Extend::Sxtb => 0xb240,
            };
            hw16(base | (r(*rm) << 3) | r(*rd))
        }
        Asm::MemReg16 { op, rt, rn, rm } => {
            ok(low(&[*rt, *rn, *rm]))?;
            hw16(mem_bits_16_reg(*op) | (r(*rm) << 6) | (r(*rn) << 3) | r(*rt))
        }
        Asm::MemImm16 { op, rt, rn, imm } => {
            ok(low(&[*rt, *rn]))?;
            let base = match op {
                Mem::Str => 0x6000,
                Mem::Ldr => 0x6800,
                Mem::Strb => 0x7000,
                Mem::Ldrb => 0x7800,
                Mem::Strh => 0x8000,
                Mem::Ldrh => 0x8800,
                Mem::Ldrsb | Mem::Ldrsh => return Err(bad(asm)),
            };
            let scale = op.size_log2();
            ok(imm.is_multiple_of(1 << scale) && (*imm >> scale) < 32)?;
            hw16(base | (((*imm >> scale) as u16) << 6) | (r(*rn) << 3) | r(*rt))
        }
        Asm::MemSp16 { load, rt, imm } => {
            ok(is_low(*rt) && imm.is_multiple_of(4) && *imm <= 1020)?;
            let base = if *load { 0x9800 } else { 0x9000 };
            hw16(base | (r(*rt) << 8) | (*imm / 4) as u16)
        }
        Asm::AddRdSp16 { rd, imm } => {
            ok(is_low(*rd) && imm.is_multiple_of(4) && *imm <= 1020)?;
            hw16(0xa800 | (r(*rd) << 8) | (*imm / 4) as u16)
        }
        Asm::AdjustSp16 { sub, imm } => {
            ok(imm.is_multiple_of(4) && *imm <= 508)?;
            hw16(if *sub { 0xb080 } else { 0xb000 } | (*imm / 4) as u16)
        }
        Asm::Push16 { regs } => {
            let bits = reglist_bits(*regs);
            ok(bits & !0x40ff == 0 && bits != 0)?;
            hw16(0xb400 | (((bits >> 14) & 1) << 8) as u16 | (bits & 0xff) as u16)
        }
        Asm::Pop16 { regs } => {
            let bits = reglist_bits(*regs);
            ok(bits & !0x80ff == 0 && bits != 0)?;
            hw16(0xbc00 | (((bits >> 15) & 1) << 8) as u16 | (bits & 0xff) as u16)
        }
        Asm::BxLr => hw16(0x4770),
        Asm::It { cc, then } => {
            ok(then.len() <= 3)?;
            let first = cc.bits() & 1;
            let mut mask = 0u16;
            for (i, t) in then.iter().enumerate() {
                let bit = if *t { first } else { first ^ 1 };
                mask |= bit << (3 - i);
            }
            mask |= 1 << (3 - then.len());
            hw16(0xbf00 | (cc.bits() << 4) | mask)
        }
        Asm::Udf { imm } => hw16(0xde00 | *imm as u16),
        Asm::B16 { target } => {
            ok(fits(target, -2048, 2046))?;
            hw16(0xe000 | ((target.offset >> 1) as u16 & 0x7ff))
        }
        Asm::Bcc16 { cc, target } => {
            ok(fits(target, -256, 254))?;
            hw16(0xd000 | (cc.bits() << 8) | ((target.offset >> 1) as u16 & 0xff))
        }
        Asm::Cbz {
            nonzero,
            rn,
            target,
        } => {
            ok(is_low(*rn) && fits(target, 0, 126))?;
            let v = (target.offset >> 1) as u16;
            let base = if *nonzero { 0xb900 } else { 0xb100 };
            hw16(base | ((v >> 5) << 9) | ((v & 0x1f) << 3) | r(*rn))
        }
        Asm::DataImm { op, s, rd, rn, imm } => {
            let m = modimm(*imm).ok_or_else(|| bad(asm))?;
            let (i, rest) = split12(m);
            hw32(
                0xf000 | i | ((*op as u16) << 5) | ((*s as u16) << 4) | r(*rn),
                rest | (r(*rd) << 8),
            )
        }
        Asm::MovImm32 { not, rd, imm } => {
            let m = modimm(*imm).ok_or_else(|| bad(asm))?;
            let (i, rest) = split12(m);
            let op = if *not { 0xf06f } else { 0xf04f };
            hw32(op | i, rest | (r(*rd) << 8))
        }
        Asm::CmpImm32 { negative, rn, imm } => {
            let m = modimm(*imm).ok_or_else(|| bad(asm))?;
            let (i, rest) = split12(m);
            // cmp = subs with rd = pc, cmn = adds with rd = pc.
            let op = if *negative { 0xf110 } else { 0xf1b0 };
            hw32(op | i | r(*rn), rest | 0x0f00)
        }
        Asm::AddSubW { sub, rd, rn, imm } => {
            ok(*imm < 4096)?;
            let (i, rest) = split12(*imm as u16);
            let op = if *sub { 0xf2a0 } else { 0xf200 };
            hw32(op | i | r(*rn), rest | (r(*rd) << 8))
        }
        Asm::MovW { top, rd, imm } => movw(*top, *rd, *imm),
        Asm::MovSym {
            top, rd, addend, ..
        } => movw(*top, *rd, *addend as u16),
        Asm::DataReg { op, s, rd, rn, rm } => hw32(
            0xea00 | ((*op as u16) << 5) | ((*s as u16) << 4) | r(*rn),
            (r(*rd) << 8) | r(*rm),
        ),
        Asm::DataRegShifted {
            op,
            rd,
            rn,
            rm,
            shift,
            amount,
        } => {
            ok((1..32).contains(amount))?;
            let a = *amount as u16;
            hw32(
                0xea00 | ((*op as u16) << 5) | r(*rn),
                ((a >> 2) << 12) | (r(*rd) << 8) | ((a & 3) << 6) | ((*shift as u16) << 4) | r(*rm),
            )
        }
        Asm::ShiftImm32 { op, rd, rm, imm } => {
            let imm5 = match (op, *imm) {
                (Shift::Lsl, 0..=31) | (Shift::Ror, 1..=31) => *imm as u16,
                (Shift::Lsr | Shift::Asr, 1..=31) => *imm as u16,
                (Shift::Lsr | Shift::Asr, 32) => 0,
                _ => return Err(bad(asm)),
            };
            hw32(
                0xea4f,
                ((imm5 >> 2) << 12)
                    | (r(*rd) << 8)
                    | ((imm5 & 3) << 6)
                    | ((*op as u16) << 4)
                    | r(*rm),
            )
        }
        Asm::ShiftReg32 { op, rd, rn, rm } => hw32(
            0xfa00 | ((*op as u16) << 5) | r(*rn),
            0xf000 | (r(*rd) << 8) | r(*rm),
        ),
        Asm::Mul32 { rd, rn, rm } => hw32(0xfb00 | r(*rn), 0xf000 | (r(*rd) << 8) | r(*rm)),
        Asm::MulAdd {
            sub,
            rd,
            rn,
            rm,
            ra,
        } => hw32(
            0xfb00 | r(*rn),
            (r(*ra) << 12) | (r(*rd) << 8) | (u16::from(*sub) << 4) | r(*rm),
        ),
        Asm::MulLong {
            signed,
            acc,
            lo,
            hi,
            rn,
            rm,
        } => {
            ok(lo != hi)?;
            let op = 0xfb80 | if *signed { 0 } else { 0x20 } | if *acc { 0x40 } else { 0 };
            hw32(op | r(*rn), (r(*lo) << 12) | (r(*hi) << 8) | r(*rm))
        }
        Asm::Div { signed, rd, rn, rm } => hw32(
            if *signed { 0xfb90 } else { 0xfbb0 } | r(*rn),
            0xf0f0 | (r(*rd) << 8) | r(*rm),
        ),
        Asm::Clz { rd, rm } => hw32(0xfab0 | r(*rm), 0xf080 | (r(*rd) << 8) | r(*rm)),
        Asm::Rbit { rd, rm } => hw32(0xfa90 | r(*rm), 0xf0a0 | (r(*rd) << 8) | r(*rm)),
        Asm::Saturate {
            signed,
            bits,
            rd,
            rn,
        } => {
            // The field holds bits - 1 for ssat (1..=32), bits for usat (0..=31).
            let field = if *signed {
                ok((1..=32).contains(bits))?;
                *bits - 1
            } else {
                ok(*bits <= 31)?;
                *bits
            };
            hw32(
                if *signed { 0xf300 } else { 0xf380 } | r(*rn),
                (r(*rd) << 8) | u16::from(field),
            )
        }
        Asm::Extend32 { op, rd, rm } => hw32(
            match op {
                Extend::Sxtb => 0xfa4f,
                Extend::Sxth => 0xfa0f,
            },
            0xf080 | (r(*rd) << 8) | r(*rm),
        ),
        Asm::MemImm32 { op, rt, rn, imm } => {
            ok(*imm < 4096)?;
            hw32(mem_bits_32(*op) | r(*rn), (r(*rt) << 12) | *imm as u16)
        }
        Asm::MemReg32 {
            op,
            rt,
            rn,
            rm,
            shift,
        } => {
            ok(*shift <= 3)?;
            let low = (r(*rt) << 12) | (*shift as u16) << 4 | r(*rm);
            hw32(mem_bits_32(*op) & !0x80 | r(*rn), low)
        }
        Asm::Push32 { regs } => {
            let bits = reglist_bits(*regs);
            ok(bits & !0x5fff == 0 && bits.count_ones() >= 2)?;
            hw32(0xe92d, bits as u16)
        }
        Asm::Pop32 { regs } => {
            let bits = reglist_bits(*regs);
            let both = regs.contains(LR) && regs.contains(PC);
            ok(bits & !0xdfff == 0 && bits.count_ones() >= 2 && !both)?;
            hw32(0xe8bd, bits as u16)
        }
        Asm::TableBranch { half, rm } => hw32(0xe8df, 0xf000 | ((*half as u16) << 4) | r(*rm)),
        Asm::B32 { target } => branch_t4(target.offset, false).ok_or_else(|| bad(asm))?,
        Asm::Bl { .. } => branch_t4(-4, true).ok_or_else(|| bad(asm))?,
        Asm::Bcc32 { cc, target } => {
            ok(fits(target, -(1 << 20), (1 << 20) - 2))?;
            let v = target.offset as u32;
            let s = (v >> 20) & 1;
            let j2 = (v >> 19) & 1;
            let j1 = (v >> 18) & 1;
            let imm6 = (v >> 12) & 0x3f;
            let imm11 = (v >> 1) & 0x7ff;
            hw32(
                (0xf000 | (s << 10) | ((cc.bits() as u32) << 6) | imm6) as u16,
                (0x8000 | (j1 << 13) | (j2 << 11) | imm11) as u16,
            )
        }
    })
}

fn movw(top: bool, rd: PReg, imm: u16) -> Vec<u8> {
    let imm4 = imm >> 12;
    let i = (imm >> 11) & 1;
    let imm3 = (imm >> 8) & 7;
    let op = if top { 0xf2c0 } else { 0xf240 };
    hw32(
        op | (i << 10) | imm4,
        (imm3 << 12) | (r(rd) << 8) | (imm & 0xff),
    )
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "vfp_tests.rs"]
mod vfp_tests;

//! Encodings of the VFP instructions (`Asm::Vfp`): FPv4-SP and FPv5-D16, ARMv7-M ARM A6.4 and
//! A7.7 (and ARMv8-M for `vrint*`, `vmaxnm`/`vminnm`). Every form is 32 bits, two halfwords.
//! Field values out of range give `None`; the caller reports the instruction.

use crate::isa::arm::asm::{FReg, VBinOp, VUnOp, Vfp};
use crate::regalloc::PReg;

/// The f32 bit pattern of a VFP modified immediate `imm8` (VFPExpandImm, N = 32):
/// sign `a`, exponent `NOT(b):bbbbb:cd`, fraction `efgh` then zeros.
pub fn vfp_expand_imm_f32(imm8: u8) -> u32 {
    let v = imm8 as u32;
    let sign = v >> 7;
    let b = (v >> 6) & 1;
    let exp = ((b ^ 1) << 7) | (if b == 1 { 0x1f } else { 0 } << 2) | ((v >> 4) & 3);
    (sign << 31) | (exp << 23) | ((v & 0xf) << 19)
}

/// The f64 bit pattern of a VFP modified immediate `imm8` (VFPExpandImm, N = 64):
/// sign `a`, exponent `NOT(b):bbbbbbbb:cd`, fraction `efgh` then zeros.
pub fn vfp_expand_imm_f64(imm8: u8) -> u64 {
    let v = imm8 as u64;
    let sign = v >> 7;
    let b = (v >> 6) & 1;
    let exp = ((b ^ 1) << 10) | (if b == 1 { 0xff } else { 0 } << 2) | ((v >> 4) & 3);
    (sign << 63) | (exp << 52) | ((v & 0xf) << 48)
}

/// The `imm8` of `vmov.f32 sd, #imm` if the f32 bit pattern `bits` is a VFP modified
/// immediate: ±(16..=31)/16 × 2^(-3..=4), i.e. ±0.125 ..= ±31.0 with a 4-bit fraction.
/// Zero, infinities, NaNs and everything else are not.
pub fn vfp_imm8_f32(bits: u32) -> Option<u8> {
    (0..=255u8).find(|&i| vfp_expand_imm_f32(i) == bits)
}

/// The `imm8` of `vmov.f64 dd, #imm` if the f64 bit pattern `bits` is a VFP modified
/// immediate (the same values as `vfp_imm8_f32`).
pub fn vfp_imm8_f64(bits: u64) -> Option<u8> {
    (0..=255u8).find(|&i| vfp_expand_imm_f64(i) == bits)
}

/// A register's 4-bit field and its extra bit: S registers keep the low bit apart
/// (`Vx = n >> 1`, bit `n & 1`), D registers the high bit (`Vx = n & 15`, bit `n >> 4`).
fn split(f: FReg) -> (u16, u16) {
    let n = f.index() as u16;
    if f.is_double() {
        (n & 15, n >> 4)
    } else {
        (n >> 1, n & 1)
    }
}

/// `Vd`: (hw1 bit 6 `D`, hw2 bits 15:12).
fn vd(f: FReg) -> (u16, u16) {
    let (v, b) = split(f);
    (b << 6, v << 12)
}

/// `Vn`: (hw1 bits 3:0, hw2 bit 7 `N`).
fn vn(f: FReg) -> (u16, u16) {
    let (v, b) = split(f);
    (v, b << 7)
}

/// `Vm`: hw2 bit 5 `M` and bits 3:0.
fn vm(f: FReg) -> u16 {
    let (v, b) = split(f);
    (b << 5) | v
}

/// hw2 bit 8 `sz` (the coprocessor number 10/11 for single/double).
fn sz(f: FReg) -> u16 {
    if f.is_double() { 0x100 } else { 0 }
}

/// A core register usable as a VFP transfer operand (not sp, not pc).
fn core(p: PReg) -> Option<u16> {
    (p.0 < 15 && p.0 != 13).then_some(p.0 as u16)
}

/// Any core register as a base address.
fn base(p: PReg) -> Option<u16> {
    (p.0 < 16).then_some(p.0 as u16)
}

fn check(c: bool) -> Option<()> {
    c.then_some(())
}

/// hw2 of the register-list forms: first register and the count in words.
fn reglist(first: FReg, count: u8) -> Option<(u16, u16)> {
    let limit = if first.is_double() { 16 } else { 32 };
    check(count >= 1 && first.index() as u32 + count as u32 <= limit)?;
    let words = if first.is_double() { 2 * count } else { count };
    let (d, v) = vd(first);
    Some((d, v | 0x0a00 | sz(first) | words as u16))
}

/// The two halfwords of `v`, or None if a field is out of range.
pub fn encode(v: &Vfp) -> Option<(u16, u16)> {
    Some(match v {
        Vfp::Bin { op, rd, rn, rm } => {
            let d = rd.is_double();
            check(rd.is_valid() && rn.is_valid() && rm.is_valid())?;
            check(rn.is_double() == d && rm.is_double() == d)?;
            let (hw1, extra) = match op {
                VBinOp::Add => (0xee30, 0),
                VBinOp::Sub => (0xee30, 0x40),
                VBinOp::Mul => (0xee20, 0),
                VBinOp::Div => (0xee80, 0),
                VBinOp::MaxNm => (0xfe80, 0),
                VBinOp::MinNm => (0xfe80, 0x40),
            };
            let (dbit, dfield) = vd(*rd);
            let (nfield, nbit) = vn(*rn);
            (
                hw1 | dbit | nfield,
                dfield | 0x0a00 | sz(*rd) | nbit | extra | vm(*rm),
            )
        }
        Vfp::Un { op, rd, rm } => {
            check(rd.is_valid() && rm.is_valid() && rd.is_double() == rm.is_double())?;
            let (hw1, extra) = match op {
                VUnOp::Mov => (0xeeb0, 0x40),
                VUnOp::Abs => (0xeeb0, 0xc0),
                VUnOp::Neg => (0xeeb1, 0x40),
                VUnOp::Sqrt => (0xeeb1, 0xc0),
                VUnOp::RintZ => (0xeeb6, 0xc0),
                VUnOp::RintN => (0xfeb9, 0x40),
                VUnOp::RintP => (0xfeba, 0x40),
                VUnOp::RintM => (0xfebb, 0x40),
            };
            let (dbit, dfield) = vd(*rd);
            (hw1 | dbit, dfield | 0x0a00 | sz(*rd) | extra | vm(*rm))
        }
        Vfp::Cmp { e, rn, rm } => {
            check(rn.is_valid())?;
            let (hw1, m) = match rm {
                Some(m) => {
                    check(m.is_valid() && m.is_double() == rn.is_double())?;
                    (0xeeb4, vm(*m))
                }
                None => (0xeeb5, 0),
            };
            let (dbit, dfield) = vd(*rn);
            let e = if *e { 0x80 } else { 0 };
            (hw1 | dbit, dfield | 0x0a00 | sz(*rn) | e | 0x40 | m)
        }
        Vfp::MrsFlags => (0xeef1, 0xfa10),
        Vfp::Mrs { rt } => (0xeef1, (core(*rt)? << 12) | 0x0a10),
        Vfp::Msr { rt } => (0xeee1, (core(*rt)? << 12) | 0x0a10),
        Vfp::MovImm { rd, imm8 } => {
            check(rd.is_valid())?;
            let (dbit, dfield) = vd(*rd);
            let imm = *imm8 as u16;
            (
                0xeeb0 | dbit | (imm >> 4),
                dfield | 0x0a00 | sz(*rd) | (imm & 0xf),
            )
        }
        Vfp::MovCore { to_core, rt, sn } => {
            check(sn.is_valid() && !sn.is_double())?;
            let (nfield, nbit) = vn(*sn);
            (
                0xee00 | ((*to_core as u16) << 4) | nfield,
                (core(*rt)? << 12) | 0x0a10 | nbit,
            )
        }
        Vfp::MovCore2 {
            to_core,
            rt,
            rt2,
            dm,
        } => {
            check(dm.is_valid() && dm.is_double() && !(*to_core && rt == rt2))?;
            (
                0xec40 | ((*to_core as u16) << 4) | core(*rt2)?,
                (core(*rt)? << 12) | 0x0b10 | vm(*dm),
            )
        }
        Vfp::LoadStore { load, fd, rn, imm } => {
            let n = base(*rn)?;
            check(fd.is_valid() && imm % 4 == 0 && (-1020..=1020).contains(imm))?;
            // A store relative to pc is UNPREDICTABLE in Thumb.
            check(*load || n != 15)?;
            let up = if *imm >= 0 { 0x80 } else { 0 };
            let (dbit, dfield) = vd(*fd);
            (
                0xed00 | up | dbit | ((*load as u16) << 4) | n,
                dfield | 0x0a00 | sz(*fd) | (imm.unsigned_abs() / 4) as u16,
            )
        }
        Vfp::Push { first, count } => {
            check(first.is_valid())?;
            let (dbit, hw2) = reglist(*first, *count)?;
            (0xed2d | dbit, hw2)
        }
        Vfp::Pop { first, count } => {
            check(first.is_valid())?;
            let (dbit, hw2) = reglist(*first, *count)?;
            (0xecbd | dbit, hw2)
        }
        Vfp::LoadStoreMulti {
            load,
            rn,
            writeback,
            first,
            count,
        } => {
            let n = base(*rn)?;
            check(n != 15 && first.is_valid())?;
            let (dbit, hw2) = reglist(*first, *count)?;
            (
                0xec80 | dbit | ((*writeback as u16) << 5) | ((*load as u16) << 4) | n,
                hw2,
            )
        }
        Vfp::CvtF { rd, rm } => {
            check(rd.is_valid() && rm.is_valid() && rd.is_double() != rm.is_double())?;
            let (dbit, dfield) = vd(*rd);
            // sz is the source precision.
            (0xeeb7 | dbit, dfield | 0x0a00 | sz(*rm) | 0xc0 | vm(*rm))
        }
        Vfp::CvtToInt { signed, rd, rm } => {
            check(rd.is_valid() && !rd.is_double() && rm.is_valid())?;
            let (dbit, dfield) = vd(*rd);
            // opc2 = 110:signed; op (bit 7) = 1 rounds toward zero; sz is the source.
            (
                0xeebc | (*signed as u16) | dbit,
                dfield | 0x0a00 | sz(*rm) | 0xc0 | vm(*rm),
            )
        }
        Vfp::CvtFromInt { signed, rd, rm } => {
            check(rd.is_valid() && rm.is_valid() && !rm.is_double())?;
            let (dbit, dfield) = vd(*rd);
            // opc2 = 000; op (bit 7) = signed source; sz is the destination.
            (
                0xeeb8 | dbit,
                dfield | 0x0a00 | sz(*rd) | ((*signed as u16) << 7) | 0x40 | vm(*rm),
            )
        }
    })
}

//! Every instruction form the back end emits, checked against LLVM 14's assembler.

use super::*;
use crate::isa::arm::asm::DataOp;
use crate::isa::arm::asm::{Cc, NarrowOp};
use crate::regalloc::PReg;
use std::process::Command;

const R0: PReg = PReg(0);
const R1: PReg = PReg(1);
const R2: PReg = PReg(2);
const R3: PReg = PReg(3);
const R4: PReg = PReg(4);
const R7: PReg = PReg(7);
const R8: PReg = PReg(8);
const R11: PReg = PReg(11);
const IP: PReg = PReg(12);
const SP: PReg = PReg(13);

fn t(offset: i32) -> Target {
    Target {
        offset,
        label: None,
    }
}

fn cond(cc: Cc, inst: Asm) -> Asm {
    Asm::Cond {
        cc,
        inst: Box::new(inst),
    }
}

/// Groups of instructions (an IT block is one group) covering every variant and the edges of
/// their fields.
fn cases() -> Vec<Vec<Asm>> {
    use Asm::*;
    let one = |a: Asm| vec![a];
    let mut v: Vec<Vec<Asm>> = vec![
        one(MovReg { rd: R0, rm: R1 }),
        one(MovReg { rd: R8, rm: IP }),
        one(MovReg {
            rd: PReg(14),
            rm: R3,
        }),
        one(MovsImm { rd: R7, imm: 255 }),
        one(AddSubReg3 {
            sub: false,
            rd: R0,
            rn: R1,
            rm: R7,
        }),
        one(AddSubReg3 {
            sub: true,
            rd: R3,
            rn: R4,
            rm: R2,
        }),
        one(AddSubImm3 {
            sub: false,
            rd: R0,
            rn: R1,
            imm: 7,
        }),
        one(AddSubImm3 {
            sub: true,
            rd: R2,
            rn: R2,
            imm: 1,
        }),
        one(AddSubImm8 {
            sub: false,
            rdn: R3,
            imm: 200,
        }),
        one(AddSubImm8 {
            sub: true,
            rdn: R7,
            imm: 255,
        }),
        one(AddHigh { rdn: R8, rm: R1 }),
        one(AddHigh { rdn: R1, rm: IP }),
        one(AddHigh { rdn: IP, rm: R11 }),
        one(CmpReg { rn: R0, rm: R7 }),
        one(CmpReg { rn: R8, rm: R1 }),
        one(CmpReg { rn: SP, rm: IP }),
        one(CmpImm8 { rn: R4, imm: 255 }),
        one(Udf { imm: 0 }),
        one(BxLr),
        one(AddRdSp16 { rd: R0, imm: 1020 }),
        one(AdjustSp16 {
            sub: true,
            imm: 508,
        }),
        one(AdjustSp16 { sub: false, imm: 8 }),
        one(MemSp16 {
            load: true,
            rt: R7,
            imm: 1020,
        }),
        one(MemSp16 {
            load: false,
            rt: R0,
            imm: 4,
        }),
        one(Push16 {
            regs: PRegSet::of(&[R3, R4, PReg(14)]),
        }),
        one(Pop16 {
            regs: PRegSet::of(&[R0, R7, PReg(15)]),
        }),
        one(Push32 {
            regs: PRegSet::of(&[R4, R8, R11, PReg(14)]),
        }),
        one(Pop32 {
            regs: PRegSet::of(&[R4, R8, R11, PReg(15)]),
        }),
        one(Pop32 {
            regs: PRegSet::of(&[R3, R8]),
        }),
        one(TableBranch {
            half: false,
            rm: R3,
        }),
        one(TableBranch { half: true, rm: R8 }),
        one(B16 { target: t(-2048) }),
        one(B16 { target: t(2046) }),
        one(Bcc16 {
            cc: Cc::Eq,
            target: t(-256),
        }),
        one(Bcc16 {
            cc: Cc::Hi,
            target: t(254),
        }),
        one(Cbz {
            nonzero: false,
            rn: R0,
            target: t(0),
        }),
        one(Cbz {
            nonzero: true,
            rn: R7,
            target: t(126),
        }),
        one(B32 {
            target: t(-16_777_216),
        }),
        one(B32 {
            target: t(16_777_214),
        }),
        one(B32 { target: t(4096) }),
        one(Bcc32 {
            cc: Cc::Lo,
            target: t(-1_048_576),
        }),
        one(Bcc32 {
            cc: Cc::Ge,
            target: t(1_048_574),
        }),
        one(Bcc32 {
            cc: Cc::Ne,
            target: t(-300),
        }),
        one(MovImm32 {
            not: false,
            rd: R0,
            imm: 0xff00_0000,
        }),
        one(MovImm32 {
            not: false,
            rd: R8,
            imm: 0x00ab_00ab,
        }),
        one(MovImm32 {
            not: true,
            rd: R2,
            imm: 0,
        }),
        one(MovImm32 {
            not: true,
            rd: IP,
            imm: 0x3fc,
        }),
        one(CmpImm32 {
            negative: false,
            rn: R8,
            imm: 1000 & !7,
        }),
        one(CmpImm32 {
            negative: true,
            rn: R0,
            imm: 0x8000_0000,
        }),
        one(AddSubW {
            sub: false,
            rd: R0,
            rn: R1,
            imm: 4095,
        }),
        one(AddSubW {
            sub: true,
            rd: IP,
            rn: SP,
            imm: 1021,
        }),
        one(AddSubW {
            sub: false,
            rd: R3,
            rn: SP,
            imm: 4,
        }),
        one(MovW {
            top: false,
            rd: R0,
            imm: 0xffff,
        }),
        one(MovW {
            top: true,
            rd: IP,
            imm: 0x1234,
        }),
        one(MovW {
            top: false,
            rd: R11,
            imm: 0x0801,
        }),
        one(Mul32 {
            rd: R0,
            rn: R1,
            rm: R2,
        }),
        one(MulAdd {
            sub: true,
            rd: R0,
            rn: IP,
            rm: R2,
            ra: R8,
        }),
        one(MulAdd {
            sub: false,
            rd: R11,
            rn: R3,
            rm: R7,
            ra: R1,
        }),
        one(MulLong {
            signed: false,
            acc: false,
            lo: R0,
            hi: R1,
            rn: R0,
            rm: R11,
        }),
        one(MulLong {
            signed: true,
            acc: false,
            lo: R8,
            hi: IP,
            rn: R2,
            rm: R3,
        }),
        one(MulLong {
            signed: true,
            acc: true,
            lo: R0,
            hi: R1,
            rn: R2,
            rm: R3,
        }),
        one(MulLong {
            signed: false,
            acc: true,
            lo: R11,
            hi: R4,
            rn: IP,
            rm: R0,
        }),
        one(Div {
            signed: true,
            rd: IP,
            rn: R1,
            rm: R2,
        }),
        one(Div {
            signed: false,
            rd: R0,
            rn: R8,
            rm: R2,
        }),
        one(Clz { rd: R0, rm: R8 }),
        one(Rbit { rd: R3, rm: R3 }),
        one(Saturate {
            signed: true,
            bits: 16,
            rd: R0,
            rn: R1,
        }),
        one(Saturate {
            signed: true,
            bits: 1,
            rd: R3,
            rn: PReg(9),
        }),
        one(Saturate {
            signed: true,
            bits: 32,
            rd: R11,
            rn: R2,
        }),
        one(Saturate {
            signed: false,
            bits: 8,
            rd: R0,
            rn: R1,
        }),
        one(Saturate {
            signed: false,
            bits: 0,
            rd: PReg(5),
            rn: IP,
        }),
        one(Saturate {
            signed: false,
            bits: 31,
            rd: R8,
            rn: R4,
        }),
        one(Extend16 {
            op: Extend::Sxtb,
            rd: R0,
            rm: R7,
        }),
        one(Extend16 {
            op: Extend::Sxth,
            rd: R2,
            rm: R1,
        }),
        one(Extend32 {
            op: Extend::Sxtb,
            rd: R8,
            rm: R0,
        }),
        one(Extend32 {
            op: Extend::Sxth,
            rd: R0,
            rm: IP,
        }),
        one(Push32 {
            regs: PRegSet::of(&[R3, R8]),
        }),
        vec![
            It {
                cc: Cc::Lt,
                then: vec![false],
            },
            cond(Cc::Lt, MovsImm { rd: R0, imm: 1 }),
            cond(Cc::Ge, MovsImm { rd: R0, imm: 0 }),
        ],
        // Signed division's overflow check: the second compare only when the first held.
        vec![
            It {
                cc: Cc::Eq,
                then: vec![],
            },
            cond(
                Cc::Eq,
                CmpImm32 {
                    negative: false,
                    rn: R1,
                    imm: 0xffff_ffff,
                },
            ),
        ],
        vec![
            It {
                cc: Cc::Ne,
                then: vec![],
            },
            cond(Cc::Ne, CmpReg { rn: R8, rm: R2 }),
        ],
        vec![
            It {
                cc: Cc::Eq,
                then: vec![],
            },
            cond(Cc::Eq, CmpImm8 { rn: R3, imm: 7 }),
        ],
        vec![
            It {
                cc: Cc::Ne,
                then: vec![false],
            },
            cond(Cc::Ne, MovReg { rd: R8, rm: R1 }),
            cond(Cc::Eq, MovReg { rd: R8, rm: R2 }),
        ],
        vec![
            It {
                cc: Cc::Hi,
                then: vec![false],
            },
            cond(
                Cc::Hi,
                MovImm32 {
                    not: false,
                    rd: R8,
                    imm: 1,
                },
            ),
            cond(
                Cc::Ls,
                MovImm32 {
                    not: false,
                    rd: R8,
                    imm: 0,
                },
            ),
        ],
        vec![
            It {
                cc: Cc::Ge,
                then: vec![],
            },
            cond(
                Cc::Ge,
                ShiftReg32 {
                    op: Shift::Asr,
                    rd: R0,
                    rn: R1,
                    rm: R2,
                },
            ),
        ],
        vec![
            It {
                cc: Cc::Eq,
                then: vec![true, false],
            },
            cond(Cc::Eq, MovsImm { rd: R1, imm: 3 }),
            cond(Cc::Eq, MovsImm { rd: R2, imm: 3 }),
            cond(Cc::Ne, MovsImm { rd: R3, imm: 3 }),
        ],
    ];
    for op in [
        NarrowOp::And,
        NarrowOp::Eor,
        NarrowOp::Lsl,
        NarrowOp::Lsr,
        NarrowOp::Asr,
        NarrowOp::Adc,
        NarrowOp::Sbc,
        NarrowOp::Ror,
        NarrowOp::Neg,
        NarrowOp::Orr,
        NarrowOp::Mul,
        NarrowOp::Bic,
        NarrowOp::Mvn,
    ] {
        v.push(one(Narrow {
            op,
            rdn: R3,
            rm: R7,
        }));
    }
    for op in [Shift::Lsl, Shift::Lsr, Shift::Asr] {
        for (shift, amount) in [
            (Shift::Lsl, 1),
            (Shift::Lsr, 31),
            (Shift::Asr, 7),
            (Shift::Ror, 27),
        ] {
            v.push(one(DataRegShifted {
                op: DataOp::Orr,
                rd: R8,
                rn: R1,
                rm: IP,
                shift,
                amount,
            }));
        }
        v.push(one(ShiftImm16 {
            op,
            rd: R0,
            rm: R7,
            imm: 31,
        }));
        v.push(one(ShiftImm32 {
            op,
            rd: R8,
            rm: R1,
            imm: 1,
        }));
        v.push(one(ShiftReg32 {
            op,
            rd: R0,
            rn: R8,
            rm: IP,
        }));
    }
    v.push(one(ShiftImm16 {
        op: Shift::Lsr,
        rd: R0,
        rm: R1,
        imm: 32,
    }));
    v.push(one(ShiftImm32 {
        op: Shift::Asr,
        rd: R0,
        rm: R1,
        imm: 32,
    }));
    v.push(one(ShiftImm32 {
        op: Shift::Ror,
        rd: R0,
        rm: R1,
        imm: 7,
    }));
    v.push(one(ShiftReg32 {
        op: Shift::Ror,
        rd: R0,
        rn: R1,
        rm: R2,
    }));
    for op in [
        DataOp::And,
        DataOp::Bic,
        DataOp::Orr,
        DataOp::Orn,
        DataOp::Eor,
        DataOp::Add,
        DataOp::Adc,
        DataOp::Sbc,
        DataOp::Sub,
        DataOp::Rsb,
    ] {
        v.push(one(DataImm {
            op,
            s: false,
            rd: R8,
            rn: R1,
            imm: 0x0003_fc00,
        }));
        v.push(one(DataImm {
            op,
            s: true,
            rd: R0,
            rn: IP,
            imm: 0xabab_abab,
        }));
        v.push(one(DataReg {
            op,
            s: false,
            rd: R0,
            rn: R1,
            rm: R8,
        }));
        v.push(one(DataReg {
            op,
            s: true,
            rd: IP,
            rn: R11,
            rm: R2,
        }));
    }
    v.push(one(DataImm {
        op: DataOp::Add,
        s: false,
        rd: R0,
        rn: SP,
        imm: 1024,
    }));
    v.push(one(DataImm {
        op: DataOp::Sub,
        s: false,
        rd: SP,
        rn: SP,
        imm: 0x1000,
    }));
    for op in [
        Mem::Str,
        Mem::Strb,
        Mem::Strh,
        Mem::Ldr,
        Mem::Ldrb,
        Mem::Ldrh,
        Mem::Ldrsb,
        Mem::Ldrsh,
    ] {
        v.push(one(MemReg16 {
            op,
            rt: R0,
            rn: R1,
            rm: R7,
        }));
        v.push(one(MemReg32 {
            op,
            rt: R8,
            rn: R1,
            rm: R2,
            shift: 0,
        }));
        v.push(one(MemReg32 {
            op,
            rt: R3,
            rn: R11,
            rm: R4,
            shift: 2,
        }));
        v.push(one(MemReg32 {
            op,
            rt: R0,
            rn: R1,
            rm: R2,
            shift: 3,
        }));
        v.push(one(MemImm32 {
            op,
            rt: R0,
            rn: IP,
            imm: 4095,
        }));
        v.push(one(MemImm32 {
            op,
            rt: R1,
            rn: SP,
            imm: 0,
        }));
        if !matches!(op, Mem::Ldrsb | Mem::Ldrsh) {
            let max = 31 << op.size_log2();
            v.push(one(MemImm16 {
                op,
                rt: R2,
                rn: R3,
                imm: max,
            }));
        }
    }
    v.extend(large_frame_cases());
    v
}

/// The forms frames beyond imm12 use: sp plus a register offset (ip, or lr as the spare
/// scratch), sp and ip moved by imm12 and modified-immediate pieces, far offsets in ip/lr.
fn large_frame_cases() -> Vec<Vec<Asm>> {
    use Asm::*;
    const LR: PReg = PReg(14);
    let mut v = Vec::new();
    for (op, rt, rm) in [
        (Mem::Ldr, R0, IP),
        (Mem::Ldr, R11, IP),
        (Mem::Ldr, IP, IP),
        (Mem::Ldr, LR, IP),
        (Mem::Str, R7, IP),
        (Mem::Str, LR, IP),
        (Mem::Str, IP, LR),
    ] {
        v.push(vec![MemReg32 {
            op,
            rt,
            rn: SP,
            rm,
            shift: 0,
        }]);
    }
    for (sub, rd, imm) in [
        (true, SP, 568),
        (false, SP, 4095),
        (false, IP, 296),
        (true, SP, 8),
    ] {
        v.push(vec![AddSubW {
            sub,
            rd,
            rn: rd,
            imm,
        }]);
    }
    for (op, rd, imm) in [
        (DataOp::Add, SP, 0x1000),
        (DataOp::Sub, SP, 0x7f8000),
        (DataOp::Add, IP, 0xff000),
        (DataOp::Add, IP, 0x1fe0_0000),
        (DataOp::Sub, SP, 0x1_2000),
    ] {
        v.push(vec![DataImm {
            op,
            s: false,
            rd,
            rn: rd,
            imm,
        }]);
    }
    v.push(vec![MovImm32 {
        not: false,
        rd: LR,
        imm: 4096,
    }]);
    v.push(vec![MovW {
        top: false,
        rd: LR,
        imm: 4100,
    }]);
    v.push(vec![MovW {
        top: false,
        rd: IP,
        imm: 65535,
    }]);
    v
}

/// Assemble `text` with LLVM 14's `llvm-mc` for thumbv7em with the extra `flags`: the
/// encodings in order and what it wrote to stderr.
pub(super) fn llvm_mc(flags: &[&str], text: &str) -> (Vec<Vec<u8>>, String) {
    let mut child = Command::new("llvm-mc")
        .args(["-triple=thumbv7em-none-eabi", "-show-encoding"])
        .args(flags)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("llvm-mc (LLVM 14) must be installed to check encodings");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let bytes = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("encoding: [").nth(1))
        .map(|e| {
            e.trim_end_matches(']')
                .split(',')
                .map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).unwrap())
                .collect()
        })
        .collect();
    (bytes, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn llvm_mc_bytes(text: &str) -> Vec<Vec<u8>> {
    let (bytes, stderr) = llvm_mc(&["-mcpu=cortex-m4"], text);
    assert!(stderr.trim().is_empty(), "llvm-mc complained:\n{stderr}");
    bytes
}

#[test]
fn every_form_matches_llvm_mc() {
    let insts: Vec<Asm> = cases().into_iter().flatten().collect();
    let text: String = insts.iter().map(|a| a.print() + "\n").collect();
    let expected = llvm_mc_bytes(&text);
    assert_eq!(expected.len(), insts.len(), "llvm-mc output count:\n{text}");
    for (inst, want) in insts.iter().zip(&expected) {
        let got = encode(inst).unwrap_or_else(|e| panic!("{}: {e}", inst.print()));
        assert_eq!(&got, want, "{}", inst.print());
        assert_eq!(size(inst) as usize, got.len(), "{}", inst.print());
    }
}

#[test]
fn symbol_moves_carry_the_addend_like_plain_moves_and_bl_encodes_minus_4() {
    let sym = Asm::MovSym {
        top: true,
        rd: R3,
        symbol: "x".into(),
        addend: 0x123,
    };
    let plain = Asm::MovW {
        top: true,
        rd: R3,
        imm: 0x123,
    };
    assert_eq!(encode(&sym).unwrap(), encode(&plain).unwrap());
    let neg = Asm::MovSym {
        top: false,
        rd: R0,
        symbol: "x".into(),
        addend: -8,
    };
    let want = llvm_mc_bytes("movw r0, #65528\n");
    assert_eq!(encode(&neg).unwrap(), want[0]);
    let bl = llvm_mc_bytes("bl #-4\n");
    assert_eq!(encode(&Asm::Bl { symbol: "f".into() }).unwrap(), bl[0]);
}

#[test]
fn modified_immediates_match_the_architecture() {
    assert_eq!(modimm(0xff), Some(0xff));
    assert_eq!(modimm(0x00ab_00ab), Some(0x1ab));
    assert_eq!(modimm(0xab00_ab00), Some(0x2ab));
    assert_eq!(modimm(0xabab_abab), Some(0x3ab));
    assert_eq!(modimm(0x8000_0000), Some(0x400));
    assert_eq!(modimm(0x0000_0101), None);
    assert_eq!(modimm(0x1fe), Some(0xfff));
    assert_eq!(modimm(0xffff_fffe), None);
}

#[test]
fn out_of_range_fields_are_errors_not_panics() {
    let bad = [
        Asm::Bcc16 {
            cc: Cc::Eq,
            target: t(256),
        },
        Asm::Cbz {
            nonzero: false,
            rn: R0,
            target: t(-2),
        },
        Asm::MovsImm { rd: R8, imm: 1 },
        Asm::MemImm16 {
            op: Mem::Ldr,
            rt: R0,
            rn: R1,
            imm: 2,
        },
        Asm::DataImm {
            op: DataOp::Add,
            s: false,
            rd: R0,
            rn: R1,
            imm: 0x101,
        },
        Asm::Push32 {
            regs: PRegSet::of(&[R8]),
        },
    ];
    for b in bad {
        assert!(encode(&b).is_err(), "{}", b.print());
    }
}

#[test]
fn blx_register_matches_llvm_mc_and_rejects_sp_pc() {
    // r14: the allocator may hand a call target LR, which `blx` reads before writing it.
    for n in [0u8, 3, 4, 7, 8, 12, 14] {
        let want = llvm_mc_bytes(&format!("blx r{n}\n"));
        assert_eq!(
            encode(&Asm::Blx { rm: PReg(n) }).unwrap(),
            want[0],
            "blx r{n}"
        );
    }
    for bad in [13u8, 15] {
        assert!(encode(&Asm::Blx { rm: PReg(bad) }).is_err());
    }
}

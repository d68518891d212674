//! Every VFP form, checked against LLVM 14's assembler: FPv4-SP forms with the flags clang uses
//! for cortex-m4f (`-mcpu=cortex-m4 -mattr=+vfp4d16sp`), FPv5-D16 forms with those for
//! cortex-m7dp (`-mcpu=cortex-m7 -mattr=+fp-armv8d16`), and the FPv5 forms must be rejected
//! for FPv4-SP (so `Asm::fpu` is right).

use super::tests::llvm_mc;
use super::*;
use crate::isa::arm::asm::{Cc, FReg, Fpu, VBinOp, VUnOp, Vfp};

const FPV4_SP: &[&str] = &["-mcpu=cortex-m4", "-mattr=+vfp4d16sp"];
const FPV5_D16: &[&str] = &["-mcpu=cortex-m7", "-mattr=+fp-armv8d16"];

const R0: PReg = PReg(0);
const R1: PReg = PReg(1);
const R2: PReg = PReg(2);
const R8: PReg = PReg(8);
const IP: PReg = PReg(12);
const SP: PReg = PReg(13);
const LR: PReg = PReg(14);
const PC: PReg = PReg(15);

use FReg::{D, S};

fn v(inst: Vfp) -> Asm {
    Asm::Vfp(inst)
}

fn cond(cc: Cc, inst: Vfp) -> Asm {
    Asm::Cond {
        cc,
        inst: Box::new(Asm::Vfp(inst)),
    }
}

const BIN_OPS: [VBinOp; 6] = [
    VBinOp::Add,
    VBinOp::Sub,
    VBinOp::Mul,
    VBinOp::Div,
    VBinOp::MaxNm,
    VBinOp::MinNm,
];
const UN_OPS: [VUnOp; 8] = [
    VUnOp::Mov,
    VUnOp::Abs,
    VUnOp::Neg,
    VUnOp::Sqrt,
    VUnOp::RintZ,
    VUnOp::RintM,
    VUnOp::RintP,
    VUnOp::RintN,
];

/// Groups of instructions (an IT block is one group) covering every form and the edges of its
/// fields: s0, s1, s15, s16, s31, d0, d7, d15 in every register position.
fn cases() -> Vec<Vec<Asm>> {
    let mut c: Vec<Vec<Asm>> = Vec::new();
    let mut one = |i: Vfp| c.push(vec![v(i)]);
    let s3 = [(0, 1, 31), (31, 16, 15), (16, 15, 0), (1, 31, 16)];
    let d3 = [(0, 7, 15), (15, 0, 7), (7, 15, 0)];
    for op in BIN_OPS {
        for (d, n, m) in s3 {
            one(Vfp::Bin {
                op,
                rd: S(d),
                rn: S(n),
                rm: S(m),
            });
        }
        for (d, n, m) in d3 {
            one(Vfp::Bin {
                op,
                rd: D(d),
                rn: D(n),
                rm: D(m),
            });
        }
    }
    let s2 = [(0, 31), (31, 0), (1, 16), (16, 15), (15, 1)];
    let d2 = [(0, 15), (15, 7), (7, 0)];
    for op in UN_OPS {
        for (d, m) in s2 {
            one(Vfp::Un {
                op,
                rd: S(d),
                rm: S(m),
            });
        }
        for (d, m) in d2 {
            one(Vfp::Un {
                op,
                rd: D(d),
                rm: D(m),
            });
        }
    }
    for e in [false, true] {
        for (n, m) in s2 {
            one(Vfp::Cmp {
                e,
                rn: S(n),
                rm: Some(S(m)),
            });
        }
        for (n, m) in d2 {
            one(Vfp::Cmp {
                e,
                rn: D(n),
                rm: Some(D(m)),
            });
        }
        for rn in [S(0), S(1), S(16), S(31), D(0), D(7), D(15)] {
            one(Vfp::Cmp { e, rn, rm: None });
        }
    }
    one(Vfp::MrsFlags);
    for rt in [R0, R8, IP, LR] {
        one(Vfp::Mrs { rt });
        one(Vfp::Msr { rt });
    }
    for rd in [S(0), S(1), S(16), S(31), D(0), D(7), D(15)] {
        for imm8 in [0x00, 0x0f, 0x70, 0x7f, 0x80, 0xf0, 0xff] {
            one(Vfp::MovImm { rd, imm8 });
        }
    }
    for to_core in [false, true] {
        for (rt, n) in [(R0, 0), (IP, 1), (LR, 15), (R8, 16), (R1, 31)] {
            one(Vfp::MovCore {
                to_core,
                rt,
                sn: S(n),
            });
        }
        for (rt, rt2, m) in [(R0, R1, 0), (LR, IP, 15), (R2, R0, 7), (R8, LR, 8)] {
            one(Vfp::MovCore2 {
                to_core,
                rt,
                rt2,
                dm: D(m),
            });
        }
    }
    for load in [false, true] {
        for (fd, rn, imm) in [
            (S(0), R0, 0),
            (S(31), SP, 1020),
            (S(1), IP, -1020),
            (S(16), LR, -4),
            (S(15), R8, 4),
            (D(0), SP, 0),
            (D(15), R0, -1020),
            (D(7), IP, 1020),
            (D(8), SP, 508),
        ] {
            one(Vfp::LoadStore { load, fd, rn, imm });
        }
    }
    for (fd, imm) in [(S(3), 1020), (D(2), -1020)] {
        one(Vfp::LoadStore {
            load: true,
            fd,
            rn: PC,
            imm,
        });
    }
    let lists = [
        (S(16), 16),
        (S(16), 1),
        (S(0), 1),
        (S(31), 1),
        (S(0), 32),
        (S(1), 3),
        (D(8), 8),
        (D(8), 1),
        (D(0), 16),
        (D(15), 1),
        (D(7), 2),
    ];
    for (first, count) in lists {
        one(Vfp::Push { first, count });
        one(Vfp::Pop { first, count });
        for (load, writeback, rn) in [(true, false, R0), (false, true, IP), (true, true, SP)] {
            one(Vfp::LoadStoreMulti {
                load,
                rn,
                writeback,
                first,
                count,
            });
        }
    }
    for (s, d) in [(0, 0), (31, 15), (16, 7), (1, 8)] {
        one(Vfp::CvtF { rd: S(s), rm: D(d) });
        one(Vfp::CvtF { rd: D(d), rm: S(s) });
    }
    for signed in [false, true] {
        for (d, m) in s2 {
            one(Vfp::CvtToInt {
                signed,
                rd: S(d),
                rm: S(m),
            });
            one(Vfp::CvtFromInt {
                signed,
                rd: S(d),
                rm: S(m),
            });
        }
        for (s, d) in [(0, 15), (31, 0), (16, 7), (1, 8)] {
            one(Vfp::CvtToInt {
                signed,
                rd: S(s),
                rm: D(d),
            });
            one(Vfp::CvtFromInt {
                signed,
                rd: D(d),
                rm: S(s),
            });
        }
    }
    // Conditional execution in IT blocks.
    let it = |cc: Cc, then: &[bool]| Asm::It {
        cc,
        then: then.to_vec(),
    };
    c.push(vec![
        it(Cc::Gt, &[]),
        cond(
            Cc::Gt,
            Vfp::Un {
                op: VUnOp::Mov,
                rd: S(0),
                rm: S(1),
            },
        ),
    ]);
    c.push(vec![
        it(Cc::Mi, &[false, false]),
        cond(
            Cc::Mi,
            Vfp::MovImm {
                rd: S(31),
                imm8: 0x70,
            },
        ),
        cond(
            Cc::Pl,
            Vfp::MovCore {
                to_core: false,
                rt: R0,
                sn: S(31),
            },
        ),
        cond(
            Cc::Pl,
            Vfp::LoadStore {
                load: true,
                fd: S(16),
                rn: SP,
                imm: 8,
            },
        ),
    ]);
    c.push(vec![
        it(Cc::Eq, &[false]),
        cond(
            Cc::Eq,
            Vfp::Bin {
                op: VBinOp::Add,
                rd: D(0),
                rn: D(1),
                rm: D(15),
            },
        ),
        cond(
            Cc::Ne,
            Vfp::CvtToInt {
                signed: true,
                rd: S(0),
                rm: D(1),
            },
        ),
    ]);
    c.push(vec![
        it(Cc::Lo, &[true]),
        cond(
            Cc::Lo,
            Vfp::Un {
                op: VUnOp::RintZ,
                rd: D(7),
                rm: D(8),
            },
        ),
        cond(
            Cc::Lo,
            Vfp::Un {
                op: VUnOp::Mov,
                rd: D(0),
                rm: D(7),
            },
        ),
    ]);
    c.push(vec![
        it(Cc::Le, &[]),
        cond(
            Cc::Le,
            Vfp::Cmp {
                e: false,
                rn: S(2),
                rm: None,
            },
        ),
    ]);
    c
}

fn group_fpu(group: &[Asm]) -> Fpu {
    group
        .iter()
        .filter_map(Asm::fpu)
        .max()
        .expect("a VFP group")
}

/// Encode every instruction of `groups` and compare with llvm-mc under `flags`.
fn check_against_llvm(groups: &[Vec<Asm>], flags: &[&str]) -> usize {
    let insts: Vec<&Asm> = groups.iter().flatten().collect();
    let text: String = insts.iter().map(|a| a.print() + "\n").collect();
    let (expected, stderr) = llvm_mc(flags, &text);
    assert!(stderr.trim().is_empty(), "llvm-mc complained:\n{stderr}");
    assert_eq!(expected.len(), insts.len(), "llvm-mc output count:\n{text}");
    for (inst, want) in insts.iter().zip(&expected) {
        let got = encode(inst).unwrap_or_else(|e| panic!("{}: {e}", inst.print()));
        assert_eq!(&got, want, "{}", inst.print());
        assert_eq!(size(inst) as usize, got.len(), "{}", inst.print());
    }
    insts.len()
}

#[test]
fn fpv4_sp_forms_match_llvm_mc() {
    let groups: Vec<Vec<Asm>> = cases()
        .into_iter()
        .filter(|g| group_fpu(g) == Fpu::V4Sp)
        .collect();
    assert!(check_against_llvm(&groups, FPV4_SP) > 200);
}

#[test]
fn fpv5_d16_forms_match_llvm_mc() {
    let groups: Vec<Vec<Asm>> = cases()
        .into_iter()
        .filter(|g| group_fpu(g) == Fpu::V5D16)
        .collect();
    assert!(check_against_llvm(&groups, FPV5_D16) > 100);
}

#[test]
fn fpv5_forms_are_rejected_for_fpv4_sp() {
    let insts: Vec<Asm> = cases()
        .into_iter()
        .filter(|g| g.len() == 1 && group_fpu(g) == Fpu::V5D16)
        .flatten()
        .collect();
    let text: String = insts.iter().map(|a| a.print() + "\n").collect();
    let (accepted, stderr) = llvm_mc(FPV4_SP, &text);
    assert!(accepted.is_empty(), "FPv4-SP accepted some of:\n{text}");
    assert_eq!(stderr.matches("error:").count(), insts.len(), "{stderr}");
}

#[test]
fn every_vfp_immediate_round_trips_through_llvm_mc() {
    let mut insts = Vec::new();
    for imm8 in 0..=255u8 {
        let f32_bits = vfp_expand_imm_f32(imm8);
        let f64_bits = vfp_expand_imm_f64(imm8);
        assert_eq!(vfp_imm8_f32(f32_bits), Some(imm8));
        assert_eq!(vfp_imm8_f64(f64_bits), Some(imm8));
        assert_eq!(f32::from_bits(f32_bits) as f64, f64::from_bits(f64_bits));
        insts.push(vec![v(Vfp::MovImm { rd: S(5), imm8 })]);
        insts.push(vec![v(Vfp::MovImm { rd: D(5), imm8 })]);
    }
    check_against_llvm(&insts, FPV5_D16);
    let singles: Vec<Vec<Asm>> = insts.into_iter().step_by(2).collect();
    check_against_llvm(&singles, FPV4_SP);
}

#[test]
fn vfp_immediates_are_the_architected_values() {
    let f = |x: f32| vfp_imm8_f32(x.to_bits());
    let d = |x: f64| vfp_imm8_f64(x.to_bits());
    assert_eq!(f(1.0), Some(0x70));
    assert_eq!(d(1.0), Some(0x70));
    assert_eq!(f(2.0), Some(0x00));
    assert_eq!(f(0.5), Some(0x60));
    assert_eq!(f(-1.0), Some(0xf0));
    assert_eq!(f(31.0), Some(0x3f));
    assert_eq!(d(0.125), Some(0x40));
    assert_eq!(d(-1.9375), Some(0xff));
    assert_eq!(f(0.1328125), Some(0x41));
    for x in [
        0.0,
        -0.0,
        0.1,
        32.0,
        0.0625,
        33.0,
        1.03125,
        f64::INFINITY,
        f64::NAN,
    ] {
        assert_eq!(d(x), None, "{x}");
        assert_eq!(f(x as f32), None, "{x}");
    }
    // An f64 that rounds to an encodable f32 is not itself encodable.
    assert_eq!(vfp_imm8_f64(1.0f64.to_bits() + 1), None);
}

#[test]
fn fpu_requirements() {
    let add_s = v(Vfp::Bin {
        op: VBinOp::Add,
        rd: S(0),
        rn: S(1),
        rm: S(2),
    });
    assert_eq!(add_s.fpu(), Some(Fpu::V4Sp));
    let vpush_d = v(Vfp::Push {
        first: D(8),
        count: 8,
    });
    assert_eq!(vpush_d.fpu(), Some(Fpu::V4Sp));
    let rint_s = v(Vfp::Un {
        op: VUnOp::RintN,
        rd: S(0),
        rm: S(1),
    });
    assert_eq!(rint_s.fpu(), Some(Fpu::V5D16));
    assert_eq!(Asm::BxLr.fpu(), None);
}

#[test]
fn invalid_vfp_forms_are_errors_not_panics() {
    let bad = [
        v(Vfp::Bin {
            op: VBinOp::Add,
            rd: S(32),
            rn: S(0),
            rm: S(0),
        }),
        v(Vfp::Bin {
            op: VBinOp::Mul,
            rd: D(16),
            rn: D(0),
            rm: D(0),
        }),
        v(Vfp::Bin {
            op: VBinOp::Sub,
            rd: S(0),
            rn: D(0),
            rm: S(0),
        }),
        v(Vfp::Un {
            op: VUnOp::Neg,
            rd: D(0),
            rm: S(0),
        }),
        v(Vfp::Cmp {
            e: false,
            rn: S(0),
            rm: Some(D(0)),
        }),
        v(Vfp::Mrs { rt: SP }),
        v(Vfp::Msr { rt: PC }),
        v(Vfp::MovCore {
            to_core: true,
            rt: R0,
            sn: D(0),
        }),
        v(Vfp::MovCore {
            to_core: false,
            rt: SP,
            sn: S(0),
        }),
        v(Vfp::MovCore2 {
            to_core: true,
            rt: R0,
            rt2: R0,
            dm: D(0),
        }),
        v(Vfp::MovCore2 {
            to_core: false,
            rt: R0,
            rt2: R1,
            dm: S(0),
        }),
        v(Vfp::LoadStore {
            load: true,
            fd: S(0),
            rn: R0,
            imm: 1024,
        }),
        v(Vfp::LoadStore {
            load: false,
            fd: S(0),
            rn: R0,
            imm: 2,
        }),
        v(Vfp::LoadStore {
            load: false,
            fd: S(0),
            rn: PC,
            imm: 4,
        }),
        v(Vfp::Push {
            first: S(16),
            count: 0,
        }),
        v(Vfp::Push {
            first: S(16),
            count: 17,
        }),
        v(Vfp::Pop {
            first: D(8),
            count: 9,
        }),
        v(Vfp::LoadStoreMulti {
            load: true,
            rn: PC,
            writeback: false,
            first: S(0),
            count: 1,
        }),
        v(Vfp::CvtF { rd: S(0), rm: S(1) }),
        v(Vfp::CvtToInt {
            signed: true,
            rd: D(0),
            rm: D(1),
        }),
        v(Vfp::CvtFromInt {
            signed: true,
            rd: D(0),
            rm: D(1),
        }),
        cond(
            Cc::Eq,
            Vfp::Un {
                op: VUnOp::RintM,
                rd: S(0),
                rm: S(1),
            },
        ),
        cond(
            Cc::Eq,
            Vfp::Bin {
                op: VBinOp::MaxNm,
                rd: S(0),
                rn: S(1),
                rm: S(2),
            },
        ),
    ];
    for b in bad {
        assert!(encode(&b).is_err(), "{}", b.print());
    }
}

#[test]
fn non_predicable_forms_are_rejected_by_llvm_in_it_blocks_too() {
    // The forms `encode` refuses under `Cond` are exactly the ones llvm-mc refuses.
    for op in UN_OPS {
        let inst = Vfp::Un {
            op,
            rd: S(0),
            rm: S(1),
        };
        let text = format!("it eq\n{}\n", cond(Cc::Eq, inst.clone()).print());
        let (_, stderr) = llvm_mc(FPV5_D16, &text);
        assert_eq!(
            stderr.contains("error"),
            !inst.predicable(),
            "{text}{stderr}"
        );
    }
    for op in BIN_OPS {
        let inst = Vfp::Bin {
            op,
            rd: D(0),
            rn: D(1),
            rm: D(2),
        };
        let text = format!("it eq\n{}\n", cond(Cc::Eq, inst.clone()).print());
        let (_, stderr) = llvm_mc(FPV5_D16, &text);
        assert_eq!(
            stderr.contains("error"),
            !inst.predicable(),
            "{text}{stderr}"
        );
    }
}

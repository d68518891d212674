//! Every F/D and CSR form checked against LLVM 14's assembler: the bytes (so also the choice of
//! the compressed form) and the printed text (so listings read exactly as `llvm-mc` and
//! `llvm-objdump` print them, aliases included).

use super::*;
use crate::isa::rv32::encode::encode_plain;
use std::process::Command;

fn f(n: u8) -> FReg {
    FReg(n)
}

fn p(n: u8) -> PReg {
    PReg(n)
}

/// Assemble `lines` with llvm-mc; return each instruction's printed text and bytes, in order.
fn llvm_mc(lines: &[String], attrs: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::env::temp_dir().join(format!("synth-rv32-encf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("case{n}.s"));
    std::fs::write(&file, lines.join("\n") + "\n").expect("write asm");
    let out = Command::new("llvm-mc")
        .args([
            "-triple=riscv32",
            &format!("-mattr={attrs}"),
            "-show-encoding",
        ])
        .arg(&file)
        .output()
        .expect("llvm-mc (LLVM 14) must be installed to check encodings");
    assert!(
        out.status.success(),
        "llvm-mc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            let (asm, enc) = l.split_once("# encoding: [")?;
            let asm = asm.trim().replace('\t', " ");
            let bytes = enc
                .trim_end_matches(']')
                .split(',')
                .map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).expect("hex byte"))
                .collect();
            Some((asm, bytes))
        })
        .collect()
}

/// Our bytes and text for every instruction equal llvm-mc's for our text.
fn check(insts: &[PInst], attrs: &str) {
    let none = |_: crate::ir::Symbol| String::new();
    let label = |_: crate::isa::rv32::inst::Label| String::new();
    let ours: Vec<(String, Vec<u8>)> = insts
        .iter()
        .map(|i| {
            let bytes = encode_plain(i).unwrap_or_else(|e| panic!("{i:?}: {e:?}"));
            (i.text(&label, &none), bytes)
        })
        .collect();
    let texts: Vec<String> = ours.iter().map(|o| o.0.clone()).collect();
    let theirs = llvm_mc(&texts, attrs);
    assert_eq!(theirs.len(), ours.len(), "llvm-mc gave a different count");
    for ((text, bytes), (llvm_text, llvm_bytes)) in ours.iter().zip(&theirs) {
        assert_eq!(bytes, llvm_bytes, "encoding of `{text}`");
        assert_eq!(text, llvm_text, "printed text");
    }
}

const ALL: &str = "+m,+a,+f,+d,+c";
/// RV32IMAFC: no D, so only the single-precision compressed forms exist.
const IMAFC: &str = "+m,+a,+f,+c";

/// Float registers at the edges: f0, f1, the compressible f8..f15, f16 and f31.
const FREGS: [u8; 6] = [0, 1, 8, 15, 16, 31];

fn loads_and_stores(fmts: &[FFmt]) -> Vec<PInst> {
    let offsets = [
        0, 4, 8, 12, 120, 124, 128, 248, 252, 256, 260, 504, 508, 512, 2, -4, -8, 2040, 2047, -2048,
    ];
    // (float register, base): compressible pairs, sp with every kind of register, and
    // non-compressible ones either side, x0 and x31 as bases.
    let pairs = [
        (8, 9),
        (15, 15),
        (8, 8),
        (0, 2),
        (31, 2),
        (8, 2),
        (16, 8),
        (8, 16),
        (7, 9),
        (1, 0),
        (31, 31),
        (10, 10),
    ];
    let mut out = Vec::new();
    for &fmt in fmts {
        for offset in offsets {
            for (reg, base) in pairs {
                out.push(PInst::FLoad {
                    fmt,
                    rd: f(reg),
                    base: p(base),
                    offset,
                });
                out.push(PInst::FStore {
                    fmt,
                    src: f(reg),
                    base: p(base),
                    offset,
                });
            }
        }
    }
    out
}

#[test]
fn float_loads_and_stores_match_llvm_mc_compressed_where_they_fit() {
    check(&loads_and_stores(&[FFmt::S, FFmt::D]), ALL);
    // The single-precision forms compress the same way without D (RV32FC).
    check(&loads_and_stores(&[FFmt::S]), IMAFC);
}

#[test]
fn float_arithmetic_matches_llvm_mc() {
    use FBinOp::*;
    let mut insts = Vec::new();
    // Distinct, equal sources (the fmv/fneg/fabs aliases), rd equal to a source.
    let triples = [
        (0, 1, 31),
        (8, 8, 15),
        (15, 31, 31),
        (31, 0, 0),
        (1, 8, 8),
        (16, 15, 0),
        (10, 11, 12),
    ];
    for fmt in [FFmt::S, FFmt::D] {
        for op in [Add, Sub, Mul, Div, Min, Max, Sgnj, Sgnjn, Sgnjx] {
            for (rd, rs1, rs2) in triples {
                insts.push(PInst::FBin {
                    op,
                    fmt,
                    rd: f(rd),
                    rs1: f(rs1),
                    rs2: f(rs2),
                });
            }
        }
        for rd in FREGS {
            for rs in FREGS {
                insts.push(PInst::FSqrt {
                    fmt,
                    rd: f(rd),
                    rs: f(rs),
                });
            }
        }
    }
    check(&insts, ALL);
}

#[test]
fn float_compares_conversions_and_moves_match_llvm_mc() {
    let xregs = [0u8, 1, 10, 31];
    let mut insts = Vec::new();
    for fmt in [FFmt::S, FFmt::D] {
        for op in [FCmpOp::Eq, FCmpOp::Lt, FCmpOp::Le] {
            for rd in xregs {
                for (rs1, rs2) in [(0, 31), (31, 0), (8, 8), (15, 1)] {
                    insts.push(PInst::FCmp {
                        op,
                        fmt,
                        rd: p(rd),
                        rs1: f(rs1),
                        rs2: f(rs2),
                    });
                }
            }
        }
        for x in xregs {
            for fr in FREGS {
                insts.push(PInst::FClass {
                    fmt,
                    rd: p(x),
                    rs: f(fr),
                });
                for signed in [true, false] {
                    for rm in [Rm::Rtz, Rm::Rne, Rm::Rdn, Rm::Rup, Rm::Rmm] {
                        insts.push(PInst::FCvtToInt {
                            fmt,
                            signed,
                            rm,
                            rd: p(x),
                            rs: f(fr),
                        });
                    }
                    insts.push(PInst::FCvtFromInt {
                        fmt,
                        signed,
                        rd: f(fr),
                        rs: p(x),
                    });
                }
            }
        }
    }
    for rd in FREGS {
        for rs in FREGS {
            for to in [FFmt::S, FFmt::D] {
                insts.push(PInst::FCvtFmt {
                    to,
                    rd: f(rd),
                    rs: f(rs),
                });
            }
        }
    }
    for x in xregs {
        for fr in FREGS {
            insts.push(PInst::FMvToInt {
                rd: p(x),
                rs: f(fr),
            });
            insts.push(PInst::FMvFromInt {
                rd: f(fr),
                rs: p(x),
            });
        }
    }
    check(&insts, ALL);
}

#[test]
fn float_csr_accesses_match_llvm_mc() {
    let mut insts = Vec::new();
    for csr in [Csr::Fflags, Csr::Frm, Csr::Fcsr] {
        for op in [CsrOp::Rw, CsrOp::Rs, CsrOp::Rc] {
            for rd in [0u8, 10, 31] {
                for rs1 in [0u8, 11, 31] {
                    insts.push(PInst::Csr {
                        op,
                        rd: p(rd),
                        csr,
                        rs1: p(rs1),
                    });
                }
                for imm in [0u8, 1, 4, 31] {
                    insts.push(PInst::CsrImm {
                        op,
                        rd: p(rd),
                        csr,
                        imm,
                    });
                }
            }
        }
    }
    check(&insts, ALL);
}

#[test]
fn out_of_range_float_operands_are_errors() {
    for offset in [2048, -2049, 4096] {
        for fmt in [FFmt::S, FFmt::D] {
            let load = PInst::FLoad {
                fmt,
                rd: f(8),
                base: regs::SP,
                offset,
            };
            assert!(encode_plain(&load).is_err(), "{load:?}");
            let store = PInst::FStore {
                fmt,
                src: f(8),
                base: p(9),
                offset,
            };
            assert!(encode_plain(&store).is_err(), "{store:?}");
        }
    }
    let imm = PInst::CsrImm {
        op: CsrOp::Rw,
        rd: regs::ZERO,
        csr: Csr::Frm,
        imm: 32,
    };
    assert!(encode_plain(&imm).is_err());
}

#[test]
fn float_register_names_follow_the_abi() {
    let names: Vec<&str> = (0..32).map(|n| FReg(n).name()).collect();
    assert_eq!(names[0], "ft0");
    assert_eq!(names[8], "fs0");
    assert_eq!(FReg::FA0.name(), "fa0");
    assert_eq!(names[17], "fa7");
    assert_eq!(names[18], "fs2");
    assert_eq!(names[27], "fs11");
    assert_eq!(names[31], "ft11");
    assert!(FReg(8).is_compressible() && FReg(15).is_compressible());
    assert!(!FReg(7).is_compressible() && !FReg(16).is_compressible());
}

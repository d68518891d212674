//! Every encoding form checked against LLVM 14's assembler.

use super::*;
use crate::isa::rv32::inst::{AluImmOp, AluOp, BrCond, Label, LoadKind, PInst, StoreKind};
use std::process::Command;

fn p(n: u8) -> PReg {
    PReg(n)
}

/// Assemble `lines` with llvm-mc and return the bytes of each instruction, in order.
fn llvm_mc(lines: &[String], compressed: bool) -> Vec<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("synth-rv32-enc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Tests run in parallel: every call gets its own file.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("case{n}.s"));
    std::fs::write(&file, lines.join("\n") + "\n").expect("write asm");
    let attrs = if compressed { "+m,+a,+c" } else { "+m,+a" };
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
        .filter_map(|l| l.split("encoding: [").nth(1))
        .map(|enc| {
            enc.trim_end_matches(']')
                .split(',')
                .map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).expect("hex byte"))
                .collect()
        })
        .collect()
}

fn check(cases: &[(Vec<u8>, String)], compressed: bool) {
    let texts: Vec<String> = cases.iter().map(|c| c.1.clone()).collect();
    let expected = llvm_mc(&texts, compressed);
    // A multi-line case (relaxed branch) contributes several encodings.
    let mut flat_expected = expected.into_iter();
    for (bytes, text) in cases {
        let mut want = Vec::new();
        for _ in text.lines() {
            want.extend(flat_expected.next().expect("llvm-mc gave fewer encodings"));
        }
        assert_eq!(bytes, &want, "encoding of `{text}`");
    }
    assert!(
        flat_expected.next().is_none(),
        "llvm-mc gave extra encodings"
    );
}

fn no_symbols(_: Symbol) -> String {
    String::new()
}

fn plain(inst: PInst) -> (Vec<u8>, String) {
    let bytes = encode_plain(&inst).expect("encodable");
    (bytes, inst.text(&|_| String::new(), &no_symbols))
}

#[test]
fn plain_instructions_match_llvm_mc() {
    use AluImmOp::*;
    use AluOp::*;
    let mut cases = Vec::new();
    let alu_ops = [
        Add, Sub, Sll, Slt, Sltu, Xor, Srl, Sra, Or, And, Mul, Mulh, Mulhu, Div, Divu, Rem, Remu,
    ];
    // (rd, rs1, rs2): all compressible and rd == rs1, rd == rs2, distinct, high registers,
    // and the zero register in either source.
    let triples = [
        (8, 8, 9),
        (9, 8, 9),
        (10, 11, 12),
        (5, 5, 6),
        (18, 18, 30),
        (10, 0, 11),
        (10, 11, 0),
        (2, 2, 10),
    ];
    for op in alu_ops {
        for (rd, rs1, rs2) in triples {
            cases.push(plain(PInst::Alu {
                op,
                rd: p(rd),
                rs1: p(rs1),
                rs2: p(rs2),
            }));
        }
    }
    let imm_ops = [Addi, Slti, Sltiu, Xori, Ori, Andi];
    let imms = [
        0, 1, -1, 31, -32, 32, -33, 2047, -2048, 16, 496, -512, 1020, 4, 1024,
    ];
    let pairs = [(8, 8), (10, 11), (10, 0), (2, 2), (8, 2), (5, 5), (30, 2)];
    for op in imm_ops {
        for imm in imms {
            for (rd, rs1) in pairs {
                cases.push(plain(PInst::AluImm {
                    op,
                    rd: p(rd),
                    rs1: p(rs1),
                    imm,
                }));
            }
        }
    }
    for op in [Slli, Srli, Srai] {
        for imm in [0, 1, 5, 31] {
            for (rd, rs1) in [(8, 8), (15, 15), (10, 11), (20, 20)] {
                cases.push(plain(PInst::AluImm {
                    op,
                    rd: p(rd),
                    rs1: p(rs1),
                    imm,
                }));
            }
        }
    }
    for imm20 in [0u32, 1, 31, 32, 0xfffe0, 0xfffdf, 0xfffff, 0x12345, 0x80000] {
        for rd in [10u8, 2, 31] {
            cases.push(plain(PInst::Lui { rd: p(rd), imm20 }));
        }
        cases.push(plain(PInst::Auipc { rd: p(31), imm20 }));
    }
    let kinds = [
        LoadKind::B,
        LoadKind::Bu,
        LoadKind::H,
        LoadKind::Hu,
        LoadKind::W,
    ];
    let offsets = [0, 4, 124, 128, 252, 256, 2, -4, 2047, -2048];
    for kind in kinds {
        for offset in offsets {
            for (rd, base) in [(8, 9), (10, 2), (5, 2), (5, 6), (8, 2)] {
                cases.push(plain(PInst::Load {
                    kind,
                    rd: p(rd),
                    base: p(base),
                    offset,
                }));
            }
        }
    }
    for kind in [StoreKind::B, StoreKind::H, StoreKind::W] {
        for offset in offsets {
            for (src, base) in [(8, 9), (10, 2), (5, 2), (5, 6), (0, 2), (0, 10)] {
                cases.push(plain(PInst::Store {
                    kind,
                    src: p(src),
                    base: p(base),
                    offset,
                }));
            }
        }
    }
    for (rd, rs1, offset) in [(0, 1, 0), (0, 31, 0), (1, 10, 0), (0, 31, 16), (5, 6, -4)] {
        cases.push(plain(PInst::Jalr {
            rd: p(rd),
            rs1: p(rs1),
            offset,
        }));
    }
    cases.push(plain(PInst::Unimp));
    check(&cases, true);
}

#[test]
fn branches_and_jumps_match_llvm_mc_in_every_form() {
    let mut cases = Vec::new();
    let conds = [
        BrCond::Eq,
        BrCond::Ne,
        BrCond::Lt,
        BrCond::Ge,
        BrCond::Ltu,
        BrCond::Geu,
    ];
    for cond in conds {
        for (rs1, rs2) in [(8, 0), (10, 11), (5, 0), (0, 12)] {
            let inst = PInst::Branch {
                cond,
                rs1: p(rs1),
                rs2: p(rs2),
                target: Label(0),
            };
            let first = initial_form(&inst);
            for form in first..relax_forms(&inst) {
                // Displacements beyond the previous form's reach, so LLVM also picks this one.
                let disps: &[i64] = match form {
                    0 => &[2, -2, 254, -256, 100],
                    1 if first == 0 => &[256, -258, 4094, -4096],
                    1 => &[2, -2, 254, 4094, -4096],
                    _ => &[4100, -4100, 1_048_576, -1_048_572],
                };
                for &disp in disps {
                    let pieces = encode_branch(&inst, form, disp).expect("in range");
                    let bytes: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.clone()).collect();
                    let text = if form == 2 {
                        let skip = pieces[0].bytes.len() as i64;
                        format!(
                            "{}\njal zero, {}",
                            pieces[0].text.clone().unwrap_or_default(),
                            disp - skip
                        )
                    } else {
                        inst.text(&|_| disp.to_string(), &no_symbols)
                    };
                    cases.push((bytes, text));
                }
            }
        }
    }
    let jump = PInst::Jump { target: Label(0) };
    for (form, disps) in [
        (0u8, &[2i64, -2, 2046, -2048, 300][..]),
        (1, &[2048, -2050, 1_048_574, -1_048_576]),
    ] {
        for &disp in disps {
            let pieces = encode_branch(&jump, form, disp).expect("in range");
            cases.push((
                pieces[0].bytes.clone(),
                jump.text(&|_| disp.to_string(), &no_symbols),
            ));
        }
    }
    check(&cases, true);
    // Jump-table entries are always the 4-byte jal, even where c.j would reach.
    let entry = PInst::TableJump { target: Label(0) };
    let mut cases = Vec::new();
    for disp in [4i64, -8, 2000, 1_048_574] {
        let pieces = encode_branch(&entry, 0, disp).expect("in range");
        cases.push((pieces[0].bytes.clone(), format!("jal zero, {disp}")));
    }
    check(&cases, false);
}

#[test]
fn relocated_instructions_keep_zero_fields_for_the_linker() {
    let sym = Symbol::Memory;
    let mut cases = Vec::new();
    let call = encode_call(sym);
    assert_eq!(call.reloc, Some((R_RISCV_CALL_PLT, sym, 0)));
    cases.push((call.bytes, "auipc ra, 0\njalr ra, 0(ra)".to_string()));
    let forms = [
        (
            PInst::LuiSym {
                rd: p(10),
                symbol: sym,
                addend: 4,
            },
            "lui a0, 0",
            R_RISCV_HI20,
        ),
        (
            PInst::AddiSym {
                rd: p(10),
                rs1: p(10),
                symbol: sym,
                addend: 4,
            },
            "addi a0, a0, 0",
            R_RISCV_LO12_I,
        ),
        (
            PInst::LoadSym {
                rd: p(8),
                base: p(8),
                symbol: sym,
                addend: 4,
            },
            "lw s0, 0(s0)",
            R_RISCV_LO12_I,
        ),
        (
            PInst::StoreSym {
                src: p(9),
                base: p(8),
                symbol: sym,
                addend: 4,
            },
            "sw s1, 0(s0)",
            R_RISCV_LO12_S,
        ),
    ];
    for (inst, text, r_type) in forms {
        let piece = encode_other(&inst).expect("encodable");
        assert_eq!(piece.reloc, Some((r_type, sym, 4)), "{text}");
        cases.push((piece.bytes, text.to_string()));
    }
    check(&cases, false);
}

#[test]
fn out_of_range_operands_are_errors_not_garbage() {
    let too_big = PInst::AluImm {
        op: AluImmOp::Addi,
        rd: p(5),
        rs1: p(6),
        imm: 2048,
    };
    assert!(encode_plain(&too_big).is_err());
    let shift = PInst::AluImm {
        op: AluImmOp::Slli,
        rd: p(5),
        rs1: p(6),
        imm: 32,
    };
    assert!(encode_plain(&shift).is_err());
    let jump = PInst::Jump { target: Label(0) };
    assert!(encode_branch(&jump, 1, 1 << 21).is_err());
    assert!(!reaches(&jump, 0, 2048));
    assert!(reaches(&jump, 1, 2048));
}

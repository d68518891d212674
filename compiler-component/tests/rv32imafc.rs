//! The rv32imafc target (RV32IMAFC, ILP32F): the same code as rv32imac for integer modules,
//! the ELF identification clang 14 gives `-march=rv32imafc -mabi=ilp32f`, and objects that
//! ld.lld links with ILP32F C but refuses to mix with ILP32 (rv32imac) objects.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use synth_compiler::{Options, Target, compile};

/// ELF32 sections as (name, bytes), in section-header order.
fn sections(elf: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at =
        |o: usize| u32::from_le_bytes([elf[o], elf[o + 1], elf[o + 2], elf[o + 3]]) as usize;
    assert_eq!(&elf[..5], b"\x7fELF\x01", "an ELF32 object");
    let (shoff, shentsize, shnum, shstrndx) =
        (u32_at(0x20), u16_at(0x2e), u16_at(0x30), u16_at(0x32));
    let header = |i: usize| shoff + i * shentsize;
    let names = u32_at(header(shstrndx) + 0x10);
    (0..shnum)
        .map(|i| {
            let h = header(i);
            let start = names + u32_at(h);
            let end = start + elf[start..].iter().position(|b| *b == 0).expect("NUL");
            let name = String::from_utf8_lossy(&elf[start..end]).into_owned();
            // SHT_NOBITS (8) occupies no file bytes.
            let bytes = if u32_at(h + 4) == 8 {
                Vec::new()
            } else {
                let (offset, size) = (u32_at(h + 0x10), u32_at(h + 0x14));
                elf[offset..offset + size].to_vec()
            };
            (name, bytes)
        })
        .collect()
}

fn e_flags(elf: &[u8]) -> u32 {
    u32::from_le_bytes([elf[0x24], elf[0x25], elf[0x26], elf[0x27]])
}

fn section<'a>(all: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synth-rv32imafc-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (LLVM 14): {e}"))
}

fn run_clean(program: &str, args: &[&str]) {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn object(wat: &str, target: Target) -> Vec<u8> {
    compile(wat.as_bytes(), &Options::new(target))
        .expect("compiles")
        .object
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn integer_modules_compile_exactly_like_rv32imac() {
    let mut compared = 0;
    for (name, wat) in common::fixture_texts() {
        let text = String::from_utf8_lossy(&wat);
        if text.contains("f32") || text.contains("f64") {
            continue;
        }
        for spill_realloc in [true, false] {
            let mut options = Options::new(Target::Rv32imac);
            options.spill_realloc = spill_realloc;
            let imac = compile(&wat, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
            options.target = Target::Rv32imafc;
            let imafc = compile(&wat, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(e_flags(&imac.object), 0x1, "{name}: RVC, soft-float ABI");
            assert_eq!(e_flags(&imafc.object), 0x3, "{name}: RVC, single-float ABI");
            // Every section but the attributes is byte for byte the same: code, relocations,
            // symbols, data.
            let strip = |object: &[u8]| {
                let mut all = sections(object);
                all.retain(|(n, _)| n != ".riscv.attributes");
                all
            };
            assert_eq!(strip(&imac.object), strip(&imafc.object), "{name}");
            assert_eq!(
                imac.report.functions, imafc.report.functions,
                "{name}: listings and statistics"
            );
            compared += 1;
        }
    }
    assert!(compared >= 40, "only {compared} integer fixture runs");
}

#[test]
fn elf_identification_matches_clang_14_for_rv32imafc_ilp32f() {
    let dir = scratch_dir("clang");
    let c = write(&dir, "empty.c", b"");
    let clang_object = dir.join("empty.o").to_string_lossy().into_owned();
    run_clean(
        "clang",
        &[
            "--target=riscv32",
            "-march=rv32imafc",
            "-mabi=ilp32f",
            "-c",
            &c,
            "-o",
            &clang_object,
        ],
    );
    let clang = std::fs::read(&clang_object).expect("clang object");
    let ours = object("(module (func (export \"f\")))", Target::Rv32imafc);
    assert_eq!(e_flags(&ours), e_flags(&clang));
    assert_eq!(
        e_flags(&ours),
        0x1 | 0x2,
        "EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_SINGLE"
    );
    let attributes = |elf: &[u8]| section(&sections(elf), ".riscv.attributes").to_vec();
    assert_eq!(attributes(&ours), attributes(&clang));
    let arch = b"rv32i2p0_m2p0_a2p0_f2p0_c2p0\0";
    assert!(attributes(&ours).ends_with(arch));
}

const ADD1: &str = "(module (func (export \"add1\") (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 1))))";
const SUB1: &str = "(module (func (export \"sub1\") (param i32) (result i32)
    (i32.sub (local.get 0) (i32.const 1))))";

/// The embedder's side of the ABI plus an entry point calling `sub1`.
const MAIN_C: &[u8] = b"int sub1(int);
void synth_trap(int code) { for (;;) {} }
unsigned __synth_stack_limit;
int _start(void) { return sub1(3); }
";

fn clang_c(dir: &Path, abi: &str, march: &str) -> String {
    let c = write(dir, "main.c", MAIN_C);
    let out = dir
        .join(format!("main-{abi}.o"))
        .to_string_lossy()
        .into_owned();
    run_clean(
        "clang",
        &[
            "--target=riscv32",
            &format!("-march={march}"),
            &format!("-mabi={abi}"),
            "-c",
            &c,
            "-o",
            &out,
        ],
    );
    out
}

#[test]
fn links_with_ilp32f_c_and_refuses_to_mix_with_ilp32() {
    let dir = scratch_dir("link");
    let imafc = write(&dir, "sub1-imafc.o", &object(SUB1, Target::Rv32imafc));
    let imac = write(&dir, "sub1-imac.o", &object(SUB1, Target::Rv32imac));
    let other_imac = write(&dir, "add1-imac.o", &object(ADD1, Target::Rv32imac));
    let other_imafc = write(&dir, "add1-imafc.o", &object(ADD1, Target::Rv32imafc));
    let c_ilp32f = clang_c(&dir, "ilp32f", "rv32imafc");
    let c_ilp32 = clang_c(&dir, "ilp32", "rv32imac");
    let elf = dir.join("a.elf").to_string_lossy().into_owned();
    let rel = dir.join("r.o").to_string_lossy().into_owned();
    let mixed = "cannot link object files with different floating-point ABI";

    // Same float ABI: links (and the ILP32F executable says so).
    run_clean("ld.lld", &[&imafc, &c_ilp32f, "-o", &elf]);
    assert_eq!(e_flags(&std::fs::read(&elf).expect("linked")), 0x3);
    run_clean("ld.lld", &[&imac, &c_ilp32, "-o", &elf]);
    // Two synth objects both define synth_init; allow that to reach the float-ABI check.
    let together = |a: &str, b: &str| {
        run(
            "ld.lld",
            &["-r", "--allow-multiple-definition", a, b, "-o", &rel],
        )
    };
    assert!(together(&other_imac, &imac).status.success());
    assert!(together(&other_imafc, &imafc).status.success());

    // Different float ABIs: refused.
    for (a, b, both_synth) in [
        (&imafc, &c_ilp32, false),
        (&imac, &c_ilp32f, false),
        (&other_imac, &imafc, true),
        (&other_imafc, &imac, true),
    ] {
        let out = if both_synth {
            together(a, b)
        } else {
            run("ld.lld", &[a, b, "-o", &elf])
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(mixed),
            "{a} + {b}: {stderr}"
        );
    }
}

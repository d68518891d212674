//! Whole-function tests: compiled code must reassemble bit-for-bit from its own listing with
//! LLVM 14 (which proves encodings, branch forms, relaxation and label placement together),
//! plus checks of the code shapes the back end promises.

use crate::ir::{self, BlockData, Function, FunctionDecl, FunctionKind, Inst, Op, Signature};
use crate::ir::{Terminator, Type, Value};
use crate::isa::{CompiledFunction, LineKind};
use crate::options::{Options, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "tests_float.rs"]
mod float;

fn options() -> Options {
    Options::new(Target::Rv32imac)
}

/// Frontend + opt + legalize, as the pipeline does before the back end.
fn legalized(wat: &str, options: &Options) -> ir::Module {
    crate::legalized_module(wat.as_bytes(), options).expect("legalizes")
}

fn compile_body(
    module: &ir::Module,
    body: usize,
    options: &Options,
) -> (CompiledFunction, Vec<(String, u32)>) {
    // The allocator verifies its own result in test builds.
    super::compile_with_labels(module, body, options).expect("compiles")
}

fn work_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synth-rv32-fn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn tool(name: &str) -> Command {
    Command::new(name)
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e}); LLVM 14 tools must be installed"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rebuild functions as one assembly file from their listings (labels re-inserted at their
/// offsets, prefixed per function), assemble it with llvm-mc and demand the very same bytes.
/// A compiled function with its name and label positions.
type Placed = (String, CompiledFunction, Vec<(String, u32)>);

fn reassemble_all(functions: &[Placed], tag: &str) {
    let mut asm = String::from(".text\n");
    let mut expected = Vec::new();
    let mut starts = Vec::new();
    for (n, (name, compiled, labels)) in functions.iter().enumerate() {
        let mut joined = Vec::new();
        for line in &compiled.listing {
            assert_eq!(
                line.offset as usize,
                joined.len(),
                "{name}: listing offsets"
            );
            joined.extend_from_slice(&line.bytes);
        }
        assert_eq!(joined, compiled.code, "{name}: listing bytes are the code");
        for reloc in &compiled.relocs {
            assert!(
                compiled.listing.iter().any(|l| l.offset == reloc.offset),
                "{name}: relocation at {} is not at an instruction",
                reloc.offset
            );
        }
        let local = |text: &str| text.replace(".L", &format!(".L{n}_"));
        let mut labels: Vec<&(String, u32)> = labels.iter().collect();
        labels.sort_by_key(|l| l.1);
        let mut next_label = labels.into_iter().peekable();
        for line in &compiled.listing {
            while let Some((label, _)) = next_label.next_if(|l| l.1 <= line.offset) {
                asm.push_str(&format!("{}:\n", local(label)));
            }
            // Jump-table entries must stay 4 bytes, which LLVM only does with RVC off.
            if line.text.starts_with("jal zero,") {
                asm.push_str(&format!(
                    ".option push\n.option norvc\n{}\n.option pop\n",
                    local(&line.text)
                ));
            } else {
                asm.push_str(&format!("{}\n", local(&line.text)));
            }
        }
        for (label, _) in next_label {
            asm.push_str(&format!("{}:\n", local(label)));
        }
        starts.push((expected.len(), name.as_str(), compiled));
        expected.extend_from_slice(&compiled.code);
    }
    let dir = work_dir();
    let src = dir.join(format!("{tag}.s"));
    let obj = dir.join(format!("{tag}.o"));
    let bin = dir.join(format!("{tag}.bin"));
    std::fs::write(&src, &asm).expect("write asm");
    run(
        tool("llvm-mc")
            .args([
                "-triple=riscv32",
                "-mattr=+m,+a,+f,+c,-relax",
                "-filetype=obj",
                "-o",
            ])
            .arg(&obj)
            .arg(&src),
        "llvm-mc",
    );
    run(
        tool("llvm-objcopy")
            .args(["-O", "binary", "--only-section=.text"])
            .arg(&obj)
            .arg(&bin),
        "llvm-objcopy",
    );
    let bytes = std::fs::read(&bin).expect("read binary");
    if bytes != expected {
        let first = bytes
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(bytes.len().min(expected.len()));
        let (start, name, compiled) = starts
            .iter()
            .rev()
            .find(|s| s.0 <= first)
            .copied()
            .expect("some function");
        let line = compiled
            .listing
            .iter()
            .rev()
            .find(|l| l.offset as usize <= first - start);
        panic!(
            "{name}: llvm-mc assembles the listing differently at offset {} (line {line:?}); \
             asm in {}",
            first - start,
            src.display()
        );
    }
}

fn reassemble_and_compare(compiled: &CompiledFunction, labels: &[(String, u32)], tag: &str) {
    reassemble_all(&[(tag.to_string(), compiled.clone(), labels.to_vec())], tag);
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[test]
fn every_fixture_function_reassembles_from_its_listing() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    assert!(paths.len() > 10, "fixtures missing");
    let mut functions = Vec::new();
    for path in paths {
        let wat = std::fs::read_to_string(&path).expect("read fixture");
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let variants = [
            (Target::Rv32imac, true),
            (Target::Rv32imac, false),
            (Target::Rv32imafc, true),
        ];
        for (target, stack_check) in variants {
            // Integer-only modules compile alike on both targets.
            if target == Target::Rv32imafc && !wat.contains("f32") {
                continue;
            }
            let mut options = Options::new(target);
            options.stack_check = stack_check;
            let module = legalized(&wat, &options);
            for body in 0..module.bodies.len() {
                let (compiled, labels) = compile_body(&module, body, &options);
                functions.push((
                    format!("{name}[{body}] {} stack_check={stack_check}", target.name()),
                    compiled,
                    labels,
                ));
            }
        }
    }
    assert!(functions.len() > 50);
    reassemble_all(&functions, "fixtures");
}

pub(super) fn texts(compiled: &CompiledFunction) -> Vec<String> {
    compiled.listing.iter().map(|l| l.text.clone()).collect()
}

pub(super) fn compile_single(wat: &str, options: &Options, tag: &str) -> CompiledFunction {
    let module = legalized(wat, options);
    let body = module
        .bodies
        .iter()
        .position(|f| f.name == "f")
        .expect("an export named f");
    let (compiled, labels) = compile_body(&module, body, options);
    reassemble_and_compare(&compiled, &labels, tag);
    compiled
}

#[test]
fn large_function_relaxes_branches_to_a_fixed_point() {
    // A loop whose body is far larger than the ±4 KiB conditional-branch range.
    let mut body = String::new();
    for k in 0..400 {
        body.push_str(&format!(
            "(i32.store (i32.const {}) (i32.add (i32.load (i32.const {})) (local.get 0)))\n",
            k * 4,
            (k + 1) * 4
        ));
    }
    let wat = format!(
        // No minimum memory: constant addresses keep their checks.
        "(module (memory 0 1) (func (export \"f\") (param i32) (result i32)
           (loop $l {body} (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
             (br_if $l (local.get 0)))
           (i32.load (i32.const 0))))"
    );
    let compiled = compile_single(&wat, &options(), "large");
    assert!(
        compiled.code.len() > 8192,
        "body is {} bytes",
        compiled.code.len()
    );
    // The loop's back edge needed the long form: an inverted branch over `j`.
    let lines = texts(&compiled);
    let long_forms = lines
        .windows(2)
        .filter(|w| (w[0].ends_with(", 8") || w[0].ends_with(", 6")) && w[1].starts_with("j .L"))
        .count();
    assert!(long_forms > 0, "no relaxed branch in {lines:?}");
}

#[test]
fn a_conditional_back_edge_branches_straight_to_the_loop_header() {
    // The back edge leaves `bltu` through a block that only jumps to the header (no moves:
    // the counter is defined where the header expects it): threading sends `bltu` to the
    // header itself, and the lone `j` nothing reaches any more is dropped.
    let compiled = compile_single(
        "(module (func (export \"f\") (param i32) (result i32) (local i32 i32)
           (loop $l
             (local.set 2 (i32.add (local.get 2) (i32.mul (local.get 1) (local.get 1))))
             (local.set 1 (i32.add (local.get 1) (i32.const 1)))
             (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
           (local.get 2)))",
        &options(),
        "back_edge",
    );
    let lines = texts(&compiled);
    assert!(lines.iter().any(|t| t.starts_with("bltu")), "{lines:?}");
    assert!(lines.iter().all(|t| !t.starts_with("j ")), "{lines:?}");
}

#[test]
fn leaf_without_pressure_has_no_frame_and_uses_immediates() {
    let compiled = compile_single(
        "(module (func (export \"f\") (param i32 i32) (result i32)
           (i32.add (i32.xor (local.get 0) (i32.const 5)) (local.get 1))))",
        &options(),
        "leaf",
    );
    let lines = texts(&compiled);
    assert!(lines.iter().all(|t| !t.contains("sp")), "{lines:?}");
    assert!(lines.iter().any(|t| t.starts_with("xori")), "{lines:?}");
    assert!(lines.iter().all(|t| !t.starts_with("li ")), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("ret"));
    assert_eq!(compiled.stats.frame_size, 0);
}

#[test]
fn compare_and_branch_fuse() {
    let compiled = compile_single(
        "(module (func (export \"f\") (param i32 i32) (result i32)
           (if (result i32) (i32.gt_s (local.get 0) (local.get 1))
             (then (i32.const 7)) (else (local.get 1)))))",
        &options(),
        "fuse",
    );
    let lines = texts(&compiled);
    assert!(lines.iter().all(|t| !t.starts_with("slt")), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|t| t.starts_with("blt") || t.starts_with("bge")),
        "{lines:?}"
    );
}

#[test]
fn calls_save_ra_check_the_stack_and_relocate() {
    let wat = "(module (import \"env\" \"g\" (func $g (param i32) (result i32)))
        (func (export \"f\") (param i32) (result i32) (call $g (local.get 0))))";
    let compiled = compile_single(wat, &options(), "calls");
    let lines = texts(&compiled);
    assert!(lines.iter().any(|t| t == "call env_g"), "{lines:?}");
    assert!(lines.iter().any(|t| t.starts_with("sw ra,")), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|t| t == "lui t0, %hi(__synth_stack_limit)")
    );
    assert!(lines.iter().any(|t| t.starts_with("bltu t6, t0, .Ltrap5")));
    let kinds: Vec<u32> = compiled.relocs.iter().map(|r| r.r_type).collect();
    assert!(kinds.contains(&super::encode::R_RISCV_CALL_PLT));
    assert!(kinds.contains(&super::encode::R_RISCV_HI20));
    assert!(kinds.contains(&super::encode::R_RISCV_LO12_I));
    // The stack-overflow stub: trap code in a0, call synth_trap, never return.
    let stub = lines.iter().position(|t| t == "li a0, 5").expect("stub");
    assert_eq!(lines[stub + 1], "call synth_trap");
    assert_eq!(lines[stub + 2], "unimp");

    let mut unchecked = options();
    unchecked.stack_check = false;
    let compiled = compile_single(wat, &unchecked, "calls_unchecked");
    assert!(
        texts(&compiled)
            .iter()
            .all(|t| !t.contains("__synth_stack_limit"))
    );
}

#[test]
fn internal_leaves_rely_on_the_guard_their_callers_check() {
    let wat = crate::isa::leaf_module();
    let options = options();
    let module = legalized(&wat, &options);
    let compile = |name: &str| {
        let body = module
            .bodies
            .iter()
            .position(|f| f.name == name)
            .expect(name);
        let (compiled, labels) = compile_body(&module, body, &options);
        reassemble_and_compare(&compiled, &labels, &format!("guard_{name}"));
        compiled
    };
    let checks = |t: &[String]| t.iter().any(|l| l.contains("__synth_stack_limit"));
    let leaf = texts(&compile("leaf"));
    assert!(leaf[0].starts_with("addi sp, sp, -"), "{leaf:#?}");
    assert!(!checks(&leaf), "an internal leaf checks: {leaf:#?}");
    assert!(
        checks(&texts(&compile("g"))),
        "an exported leaf does not check"
    );
    // The caller checks sp less its frame and the guard, then lowers sp by its frame.
    let t = texts(&compile("f"));
    let size: u32 = t
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("addi sp, sp, "))
        .and_then(|n| n.parse().ok())
        .expect("the epilogue frees the frame");
    let guard = crate::isa::STACK_GUARD;
    assert!(
        t.contains(&format!("addi t6, sp, -{}", size + guard)),
        "{t:#?}"
    );
    assert!(t.contains(&format!("addi sp, sp, -{size}")), "{t:#?}");
}

#[test]
fn access_beyond_any_memory_traps_unconditionally() {
    let compiled = compile_single(
        "(module (memory 1) (func (export \"f\") (param i32) (result i32)
           (i32.load offset=4294967295 (local.get 0))))",
        &options(),
        "oob",
    );
    let lines = texts(&compiled);
    assert!(lines.iter().any(|t| t == "j .Ltrap2"), "{lines:?}");
}

#[test]
fn br_table_jumps_through_a_table_of_jumps() {
    let compiled = compile_single(
        "(module (func (export \"f\") (param i32) (result i32)
           (block (block (block (block
             (br_table 0 1 2 3 (local.get 0)))
             (return (i32.const 10)))
             (return (i32.const 20)))
             (return (i32.const 30)))
           (i32.const 40)))",
        &options(),
        "br_table",
    );
    let lines = texts(&compiled);
    let jalr = lines
        .iter()
        .position(|t| t.starts_with("jalr zero,"))
        .expect("indirect jump");
    assert_eq!(lines[jalr], "jalr zero, 16(t6)");
    assert!(
        lines[jalr + 1..jalr + 4]
            .iter()
            .all(|t| t.starts_with("jal zero, .Lb"))
    );
}

/// A hand-built legalized function: (i32 a, i64 b) -> (i32, i64) computing
/// (b_lo * a wide, b << a), with a select and a trap check, returned through the hidden pointer.
#[test]
fn hand_built_ir_with_multi_results_shifts_and_select() {
    let v = Value;
    let inst = |op: Op, args: &[u32], results: &[u32]| Inst {
        op,
        args: args.iter().map(|&a| v(a)).collect(),
        results: results.iter().map(|&r| v(r)).collect(),
        offset: 0x20,
    };
    let func = Function {
        index: 0,
        name: "f".to_string(),
        sig: Signature {
            params: vec![Type::I32, Type::I64],
            results: vec![Type::I32, Type::I64],
        },
        blocks: vec![BlockData {
            params: vec![v(0), v(1), v(2)],
            insts: vec![
                inst(Op::MulWideU, &[1, 0], &[3, 4]),
                inst(Op::ShiftPair(ir::BinaryOp::Shl), &[1, 2, 0], &[5, 6]),
                inst(Op::Compare(ir::Cond::LtU), &[3, 0], &[7]),
                inst(Op::Select, &[7, 3, 4], &[8]),
                inst(Op::Const(0), &[], &[9]),
                inst(Op::Compare(ir::Cond::Eq), &[0, 9], &[10]),
                inst(Op::TrapIf(ir::TrapCode::IntegerDivideByZero), &[10], &[]),
                inst(Op::Binary(ir::BinaryOp::DivU), &[8, 0], &[11]),
            ],
            term: Terminator::Return {
                values: vec![v(11), v(5), v(6)],
            },
            term_offset: 0x30,
        }],
        value_types: vec![Type::I32; 12],
        offset: 0x10,
    };
    let module = ir::Module {
        functions: vec![FunctionDecl {
            sig: func.sig.clone(),
            kind: FunctionKind::Defined(0),
            exports: vec!["f".to_string()],
            name: "f".to_string(),
        }],
        bodies: vec![func],
        globals: Vec::new(),
        memory: None,
        data: Vec::new(),
        start: None,
        tables: Default::default(),
        namespace: None,
    };
    crate::ir::verify::module(&module, true).expect("valid legalized IR");
    let (compiled, labels) = compile_body(&module, 0, &options());
    reassemble_and_compare(&compiled, &labels, "hand_built");
    let lines = texts(&compiled);
    for wanted in ["mulhu", "divu", "sll", "beqz a", "bltu", "sw"] {
        assert!(
            lines.iter().any(|t| t.starts_with(wanted)),
            "{wanted} in {lines:?}"
        );
    }
    // The divide-by-zero check is a compare fused into the branch to the stub.
    assert!(lines.iter().any(|t| t.ends_with(".Ltrap3")), "{lines:?}");
    assert!(lines.iter().all(|t| !t.starts_with("seqz")), "{lines:?}");
    // Code lines carry the wasm offset of their IR instruction.
    assert!(
        compiled
            .listing
            .iter()
            .any(|l| l.wasm_offset == Some(0x20) && l.kind == LineKind::Code)
    );
}

#[test]
fn attributes_match_clang_14() {
    let info = super::elf_info(Target::Rv32imac);
    assert_eq!(info.machine, 243);
    assert_eq!(info.flags, 1);
    let mut expected = vec![0x41, 0x2a, 0, 0, 0];
    expected.extend_from_slice(b"riscv\0");
    expected.extend_from_slice(&[0x01, 0x20, 0, 0, 0, 0x04, 0x10, 0x05]);
    expected.extend_from_slice(b"rv32i2p0_m2p0_a2p0_c2p0\0");
    assert_eq!(info.attributes.2, expected);
    assert_eq!(info.attributes.1, 0x7000_0003);
}

/// WAT for a function keeping `n` loaded values live across a loop (each needs a stack home
/// with the baseline allocator), then summing them.
pub(super) fn many_live_values(n: usize) -> String {
    let mut locals = String::new();
    let mut loads = String::new();
    let mut sum = String::from("(local.get 0)");
    for k in 0..n {
        locals.push_str(" i32");
        loads.push_str(&format!(
            "(local.set {} (i32.load (i32.const {})))\n",
            k + 1,
            (k % 1000) * 4
        ));
        sum = format!("(i32.add {sum} (local.get {}))", k + 1);
    }
    format!(
        "(module (memory 1) (func (export \"f\") (param i32) (result i32) (local{locals})
           {loads}
           (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
           {sum}))"
    )
}

#[test]
fn frames_beyond_2k_use_long_offsets_and_a_spare_scratch() {
    let compiled = compile_single(&many_live_values(700), &options(), "large_frame");
    assert!(compiled.stats.frame_size > 2048, "{:?}", compiled.stats);
    let lines = texts(&compiled);
    assert!(lines.iter().any(|t| t == "sub t6, sp, t6"), "prologue");
    assert!(lines.iter().any(|t| t == "add sp, sp, t6"), "epilogue");
    // Far slots are addressed through an upper part added to sp.
    assert!(
        lines
            .iter()
            .any(|t| t.starts_with("add ") && t.ends_with(", sp"))
    );
    // t5 is reserved: it appears only as an address register of far stack accesses.
    for (i, t) in lines.iter().enumerate() {
        if t.contains("t5") {
            assert!(
                t.starts_with("lui t5,") || t == "add t5, t5, sp" || t.ends_with("(t5)"),
                "line {i}: {t}"
            );
        }
    }
    let mut unchecked = options();
    unchecked.stack_check = false;
    let compiled = compile_single(&many_live_values(700), &unchecked, "large_frame_unchecked");
    assert!(texts(&compiled).iter().any(|t| t == "sub sp, sp, t6"));
}

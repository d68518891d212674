//! The firmware example (examples/firmware) on QEMU's models of real boards: its Makefile builds
//! start-up code, the board's UART driver and main.c with the target's GCC around a synth object,
//! QEMU boots it, and every line it prints (`name(args) = result`, a trap as `trap N`) must be
//! what wasmtime answers for the same call on one instance of the same module.

use std::path::{Path, PathBuf};
use std::process::Command;

use synth_compiler::{Options, Target, compile};
use synth_tests::oracle::Oracle;
use synth_tests::vectors::parse_value;
use synth_tests::wasm_info::{ValType, Value};
use synth_tests::{Outcome, ScratchDir, compare};

/// (board, the target its Makefile compiles for).
const BOARDS: [(&str, Target); 3] = [
    ("lm3s6965evb", Target::CortexM3),
    ("mps2-an386", Target::CortexM4F),
    ("sifive_e", Target::Rv32imac),
];

/// Calls main.c makes, the trapping one included.
const CALLS: usize = 19;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/firmware")
}

#[test]
fn firmware_runs_on_qemu_board_models_as_in_wasmtime() {
    let dir = example_dir();
    let wat = std::fs::read(dir.join("app.wat")).expect("examples/firmware/app.wat");
    for (board, target) in BOARDS {
        let output = run_board(&dir, &wat, board, target);
        check_output(board, &wat, &output);
    }
}

/// Builds the firmware with the example's Makefile (synth's output put in place, so the Makefile
/// needs no synth binary) and runs it under QEMU; returns what the UART printed.
fn run_board(dir: &Path, wat: &[u8], board: &str, target: Target) -> String {
    let scratch = ScratchDir::new().expect("scratch directory");
    let build = scratch.path();
    // The namespace the CLI derives from app.wat, as the Makefile would compile it.
    let options = Options {
        module_name: Some("app".into()),
        ..Options::new(target)
    };
    let out = compile(wat, &options).unwrap_or_else(|e| panic!("{board}: {e}"));
    std::fs::write(build.join("app.o"), &out.object).expect("write app.o");
    std::fs::write(build.join("app.h"), &out.header).expect("write app.h");
    let make = |goal: &str| {
        let mut command = Command::new("make");
        command
            .current_dir(dir)
            .arg("-s")
            .arg(format!("BOARD={board}"))
            .arg(format!("BUILD={}", build.display()))
            // The object is already built: a rule that wanted synth would fail loudly.
            .arg("SYNTH=false")
            .arg(goal);
        command
    };
    let built = make("all").output().unwrap_or_else(|e| {
        panic!("cannot run make ({e}); install make and gcc-arm-none-eabi gcc-riscv64-unknown-elf")
    });
    assert!(
        built.status.success(),
        "{board}: make failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    let mut run = Command::new("timeout");
    run.arg("60").arg("make").args(make("run").get_args());
    run.current_dir(dir);
    let ran = run.output().expect("run timeout(1)");
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(
        ran.status.success(),
        "{board}: QEMU did not exit with 0 ({}); install qemu-system-arm and \
         qemu-system-misc if it is missing.\nstdout:\n{stdout}\nstderr:\n{}",
        ran.status,
        String::from_utf8_lossy(&ran.stderr)
    );
    stdout
}

fn check_output(board: &str, wat: &[u8], output: &str) {
    let oracle = Oracle::new(wat, None).expect("wasmtime compiles it");
    let mut instance = oracle
        .instantiate()
        .expect("wasmtime")
        .expect("instantiation does not trap");
    let lines: Vec<&str> = output.lines().collect();
    let banner = lines
        .iter()
        .position(|l| l.starts_with("synth firmware on "))
        .unwrap_or_else(|| panic!("{board}: no banner in\n{output}"));
    let calls = &lines[banner + 1..];
    assert_eq!(calls.last(), Some(&"done"), "{board}: output\n{output}");
    let calls = &calls[..calls.len() - 1];
    assert_eq!(calls.len(), CALLS, "{board}: output\n{output}");
    for line in calls {
        let (name, args, printed) =
            parse_line(line).unwrap_or_else(|| panic!("{board}: cannot read `{line}`"));
        let sig = &oracle.info.export(name).expect("exported").sig;
        let args: Vec<Value> = args
            .iter()
            .zip(&sig.params)
            .map(|(word, ty)| value(word, *ty))
            .collect();
        assert_eq!(args.len(), sig.params.len(), "{board}: `{line}`");
        let actual = match printed.strip_prefix("trap ") {
            Some(code) => Outcome::Trapped(code.parse().expect("trap code")),
            None => Outcome::Returned(vec![value(printed, sig.results[0])]),
        };
        let expected = instance.invoke(name, &args).expect("wasmtime call");
        assert!(
            compare::outcome_agrees(&expected, &actual, &args),
            "{board}: `{line}` but wasmtime answers {expected}"
        );
    }
}

/// `name(a, b) = r` as (name, [a, b], r).
fn parse_line(line: &str) -> Option<(&str, Vec<&str>, &str)> {
    let (call, result) = line.split_once(" = ")?;
    let (name, args) = call.strip_suffix(')')?.split_once('(')?;
    let args = if args.is_empty() {
        Vec::new()
    } else {
        args.split(", ").collect()
    };
    Some((name, args, result))
}

/// Integers in decimal, floats as `f32:0x<bits>` / `f64:0x<bits>`.
fn value(word: &str, ty: ValType) -> Value {
    let bits = |prefix: &str| {
        word.strip_prefix(prefix)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or_else(|| panic!("`{word}` is not {prefix}<hex>"))
    };
    match ty {
        ValType::F32 => Value::F32(bits("f32:0x") as u32),
        ValType::F64 => Value::F64(bits("f64:0x")),
        _ => parse_value(word, ty).unwrap_or_else(|e| panic!("`{word}`: {e}")),
    }
}

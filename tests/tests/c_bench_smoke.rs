//! Smoke test of the real-C benchmark machinery (`examples/c_bench.rs`, `bench::suites`) on one
//! small program: it builds for wasm32 and natively, and verifies natively and through synth on
//! cortex-m4 and rv32imac. The benchmark itself is not a test: `cargo run --release -p
//! synth-tests --example c-bench`.

use synth_compiler::{Options, Target};
use synth_tests::bench::suites::{self, Check};
use synth_tests::bench::{self, OptLevel};
use synth_tests::emu::Platform;

#[test]
fn one_tacle_program_verifies_natively_and_through_synth() {
    let root = suites::bench_c_dir();
    if !root.is_dir() {
        eprintln!(
            "SKIPPED: {} is missing (the benchmark programs; see tests/README.md)",
            root.display()
        );
        return;
    }
    let programs = suites::all_programs(&root).expect("the suites are listed");
    assert!(programs.len() > 80, "{} programs", programs.len());
    assert!(programs.iter().any(|p| p.group == "coremark"));
    let program = programs
        .iter()
        .find(|p| p.group == "tacle/kernel" && p.program.name == "binarysearch")
        .expect("binarysearch");
    assert_eq!(program.check, Check::ReturnsZero);
    let build = bench::compile_wasm(&program.program).expect("wasm32 build");
    assert!(!bench::uses_floats(&build.wasm));
    assert!(build.support_functions.contains("bench_entry"));
    for target in [Target::CortexM4, Target::Rv32imac] {
        let platform = Platform::of(target);
        let native = bench::run_native(&platform, &program.program, OptLevel::Os, 10_000_000)
            .expect("native build");
        assert_eq!(
            native.checksum,
            0,
            "{}: the program's own check",
            target.name()
        );
        assert!(native.text_bytes > 0 && native.instructions > 0);
        let synth = bench::run_synth(
            &platform,
            &Options::new(target),
            &build,
            &program.program.entry,
            10_000_000,
        )
        .expect("synth build");
        assert_eq!(synth.checksum, 0, "{}", target.name());
        assert!(synth.text_bytes > 0 && synth.instructions > 0);
    }
}

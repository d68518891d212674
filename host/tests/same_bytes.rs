//! Every fixture for every target gives the same object, header and report through (a) the
//! native library, (b) synth-host's library API and (c) `wasmtime run synth.wasm` (the CLI
//! inside the component, as a subprocess).

mod common;

use std::path::Path;
use std::process::Command;

use synth_compiler::{Options, Output, Target};

/// The options the CLI compiles `fixtures/NAME.wat` with by default (namespace from the file
/// name).
fn cli_default_options(target: Target, name: &str) -> Options {
    let mut options = Options::new(target);
    options.module_name = synth_compiler::cli::default_module_name(&format!("{name}.wat"));
    options
}

fn native(input: &[u8], options: &Options, what: &str) -> Output {
    synth_compiler::compile(input, options).unwrap_or_else(|e| panic!("{what}: native: {e}"))
}

/// Report the first differing field (objects are large: show where they differ, not them).
fn assert_same(what: &str, via: &str, expected: &Output, got: &Output) {
    if expected.object != got.object {
        let first = expected
            .object
            .iter()
            .zip(&got.object)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.object.len().min(got.object.len()));
        panic!(
            "{what}: object through {via} differs from the native one (sizes {} and {}, first \
             difference at byte {first}); a stale synth.wasm? rebuild it with `cargo build \
             --release --target wasm32-wasip2 -p synth-compiler --bin synth`",
            expected.object.len(),
            got.object.len()
        );
    }
    assert_eq!(expected.header, got.header, "{what}: header through {via}");
    assert_eq!(expected.report, got.report, "{what}: report through {via}");
}

#[test]
fn native_and_host_give_identical_outputs() {
    let host = common::shared_host();
    let mut compared = 0;
    for (name, text) in common::fixtures() {
        for target in Target::ALL {
            let what = format!("{name} for {}", target.name());
            let options = Options::new(target);
            // Every target compiles every fixture.
            let expected = match synth_compiler::compile(&text, &options) {
                Ok(output) => output,
                Err(e) => panic!("{what}: native compile failed: {e}"),
            };
            let got = host
                .compile(&text, &options)
                .unwrap_or_else(|e| panic!("{what}: synth-host: {e}"));
            assert_same(&what, "synth-host", &expected, &got);
            compared += 1;
        }
    }
    assert!(compared >= 60, "compared only {compared}");
}

/// Changes one option from its default.
type OptionChange = fn(&mut Options);

#[test]
fn host_passes_every_option_through() {
    let host = common::shared_host();
    let fixtures: Vec<(String, Vec<u8>)> = common::fixtures()
        .into_iter()
        .filter(|(name, _)| {
            [
                "register_pressure",
                "quicksort",
                "matmul_i32",
                "unrolled_loops",
            ]
            .contains(&name.as_str())
        })
        .collect();
    assert_eq!(fixtures.len(), 4);
    let variants: [(&str, OptionChange); 5] = [
        ("bounds_checks", |o| o.bounds_checks = false),
        ("stack_check", |o| o.stack_check = false),
        ("optimize", |o| o.optimize = false),
        ("optimize_for_size", |o| o.optimize_for_size = true),
        ("spill_realloc", |o| o.spill_realloc = false),
    ];
    for target in [Target::CortexM4F, Target::Rv32imac] {
        for (option, vary) in variants {
            let mut changed_code = false;
            for (name, text) in &fixtures {
                let default = Options::new(target);
                let mut options = default.clone();
                vary(&mut options);
                let what = format!("{name}, {} with {option} changed", target.name());
                let expected = native(text, &options, &what);
                let got = host.compile(text, &options).expect("host compile");
                assert_same(&what, "synth-host", &expected, &got);
                changed_code |= got.object != native(text, &default, &what).object;
            }
            // A dropped option would give the default code for every fixture.
            assert!(
                changed_code,
                "{option} changed no fixture's code on {}",
                target.name()
            );
        }
    }
}

#[test]
fn host_lists_the_targets_and_defaults_of_the_library() {
    let host = common::shared_host();
    let targets = host.targets().expect("targets");
    let expected: Vec<(Target, String, String)> = Target::ALL
        .iter()
        .map(|t| (*t, t.name().to_string(), t.description().to_string()))
        .collect();
    assert_eq!(targets, expected);
    for target in Target::ALL {
        assert_eq!(
            host.default_options(target).expect("default options"),
            Options::new(target)
        );
    }
}

/// Run `wasmtime run --dir . synth.wasm ARGS` in the workspace root.
fn wasmtime_run(component: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new("wasmtime");
    command.current_dir(common::workspace_root()).arg("run");
    for (name, value) in env {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    command.arg("--dir").arg(".").arg(component).args(args);
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run wasmtime: {e}"))
}

/// Compile one fixture with the CLI inside the component; the files it wrote, as an Output
/// (the report read back from JSON is compared as JSON, so return it apart).
fn compile_with_wasmtime_run(
    component: &Path,
    scratch: &Path,
    fixture: &str,
    target: Target,
    env: &[(&str, &str)],
) -> (Vec<u8>, String, String) {
    let root = common::workspace_root();
    let relative = |path: &Path| {
        path.strip_prefix(&root)
            .expect("scratch is under the workspace")
            .to_string_lossy()
            .into_owned()
    };
    let stem = format!("{fixture}-{}", target.name());
    let object = scratch.join(format!("{stem}.o"));
    let header = scratch.join(format!("{stem}.h"));
    let report = scratch.join(format!("{stem}.json"));
    let input = format!("fixtures/{fixture}.wat");
    let output = wasmtime_run(
        component,
        env,
        &[
            "compile",
            &input,
            "--target",
            target.name(),
            "-o",
            &relative(&object),
            "--header",
            &relative(&header),
            "--report-json",
            &relative(&report),
        ],
    );
    assert!(
        output.status.success(),
        "wasmtime run synth.wasm compile {input} --target {}: {}\n{}",
        target.name(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let read =
        |path: &Path| std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = String::from_utf8(read(&header)).expect("header is UTF-8");
    let report = String::from_utf8(read(&report)).expect("report is UTF-8");
    (read(&object), header, report)
}

#[test]
fn wasmtime_run_gives_the_native_bytes_for_every_fixture_and_target() {
    common::require_wasmtime_cli();
    let component = common::component_path();
    let scratch = common::scratch_dir("wasmtime-run");
    let fixtures = common::fixtures();
    // Two processes at a time: each is mostly wasmtime start-up, and the machine is shared.
    let jobs: Vec<(String, Vec<u8>, Target)> = fixtures
        .iter()
        .flat_map(|(name, text)| Target::ALL.map(|t| (name.clone(), text.clone(), t)))
        // Modules a target rejects are compared through the host library above.
        .filter(|(_, text, t)| synth_compiler::compile(text, &Options::new(*t)).is_ok())
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some((name, text, target)) =
                    jobs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let what = format!("{name} for {}", target.name());
                    let expected = native(text, &cli_default_options(*target, name), &what);
                    let (object, header, report) =
                        compile_with_wasmtime_run(&component, &scratch, name, *target, &[]);
                    assert!(
                        object == expected.object,
                        "{what}: the object from `wasmtime run synth.wasm` differs from the \
                         native one (a stale synth.wasm?)"
                    );
                    assert_eq!(header, expected.header, "{what}: header via wasmtime run");
                    assert_eq!(
                        report,
                        expected.report.to_json() + "\n",
                        "{what}: report via wasmtime run"
                    );
                }
            });
        }
    });
}

#[test]
fn wasmtime_run_passes_environment_variables_to_the_cli() {
    common::require_wasmtime_cli();
    let component = common::component_path();
    let scratch = common::scratch_dir("wasmtime-run-env");
    let fixture = "register_pressure";
    let text = std::fs::read(common::workspace_root().join(format!("fixtures/{fixture}.wat")))
        .expect("fixture");
    let target = Target::CortexM4;
    let mut baseline = cli_default_options(target, fixture);
    baseline.spill_realloc = false;
    let expected_baseline = native(&text, &baseline, "baseline");
    let expected_default = native(&text, &cli_default_options(target, fixture), "default");
    assert_ne!(
        expected_baseline.object, expected_default.object,
        "the fixture must tell the allocators apart"
    );
    let (object, _, _) = compile_with_wasmtime_run(
        &component,
        &scratch,
        fixture,
        target,
        &[("SYNTH_SPILL_REALLOC", "0")],
    );
    assert!(
        object == expected_baseline.object,
        "--env SYNTH_SPILL_REALLOC=0 did not reach the CLI inside the component"
    );
}

#[test]
fn wasmtime_run_cli_reports_errors_and_lists_targets() {
    common::require_wasmtime_cli();
    let component = common::component_path();
    let targets = wasmtime_run(&component, &[], &["targets"]);
    assert!(targets.status.success());
    assert_eq!(
        String::from_utf8_lossy(&targets.stdout),
        synth_compiler::cli::targets_text()
    );
    let missing = wasmtime_run(
        &component,
        &[],
        &[
            "compile",
            "fixtures/no-such.wat",
            "--target",
            "rv32imac",
            "-o",
            "x.o",
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read `fixtures/no-such.wat`"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // WASI 0.2's `exit` carries only success or failure, so usage errors exit 1 here too.
    let usage = wasmtime_run(&component, &[], &["compile", "--frobnicate"]);
    assert_eq!(usage.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("unknown option `--frobnicate`"),
        "{}",
        String::from_utf8_lossy(&usage.stderr)
    );
}

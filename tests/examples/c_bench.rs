//! Real-C benchmark (issue 10): the programs of `$SYNTH_SHARED_DIR/bench-c` (TACLeBench,
//! CoreMark, PolyBench/C MINI; `synth_tests::bench::suites`) compiled by clang 14 to wasm32
//! (-O2) and then by synth, and natively by clang 14 at -Os and -O2, for cortex-m4 and rv32imac
//! (soft float) and, for programs that compute with floats, cortex-m4f (hard float). Every
//! build runs in the emulator and must verify (the program's own check, and synth's checksum
//! equal to native). Reports `.text` vs clang -Os and executed instructions vs clang -O2, with
//! synth's bounds and stack checks on and off, and synth's compile time. Not a test.
//!
//!     cargo run --release -p synth-tests --example c-bench
//!     cargo run --release -p synth-tests --example c-bench -- --quick
//!     cargo run --release -p synth-tests --example c-bench -- [--jobs N] [--targets a,b] [FILTER...]
//!
//! A complete run (no `--quick`, no filter, every target) writes docs/PERFORMANCE.md; any run
//! prints the same markdown. A FILTER keeps programs whose `group/name` contains it.

#[path = "c_bench/report.rs"]
mod report;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use synth_compiler::{Options, Target};
use synth_tests::bench::suites::{self, Check, SuiteProgram};
use synth_tests::bench::{self, Measurement, OptLevel, SynthFailure};
use synth_tests::emu::Platform;

use report::{Problem, ProgramResult, TargetResult};

/// Generous for MINI datasets and short runs (the largest program executes about 10^8).
const INSTRUCTION_LIMIT: u64 = 1_000_000_000;

/// `--quick`: small programs of every suite.
const QUICK: &[&str] = &[
    "tacle/kernel/binarysearch",
    "tacle/kernel/bsort",
    "tacle/kernel/fir2dim",
    "tacle/kernel/jfdctint",
    "tacle/sequential/adpcm_enc",
    "coremark/coremark",
    "polybench/linear-algebra/gemm",
    "polybench/medley/floyd-warshall",
];

/// Targets every program runs on; float programs also run on cortex-m4f.
const TARGETS: [Target; 2] = [Target::CortexM4, Target::Rv32imac];

/// synth's builds of a program: checks on and off, each for speed (the default, whose
/// instructions are compared with clang -O2) and for size (`-Os`, whose `.text` is compared
/// with clang -Os).
fn variants(target: Target) -> [(&'static str, Options); 4] {
    let checked = Options::new(target);
    let unchecked = Options {
        bounds_checks: false,
        stack_check: false,
        ..Options::new(target)
    };
    let small = |o: &Options| Options {
        optimize_for_size: true,
        ..o.clone()
    };
    [
        ("checks on, -Os", small(&checked)),
        ("checks off, -Os", small(&unchecked)),
        ("checks on", checked),
        ("checks off", unchecked),
    ]
}

struct Args {
    quick: bool,
    jobs: usize,
    targets: Option<Vec<Target>>,
    filters: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        quick: false,
        jobs: 1,
        targets: None,
        filters: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--jobs" => {
                args.jobs = it.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
                    eprintln!("--jobs needs a number");
                    std::process::exit(2)
                })
            }
            "--targets" => {
                let list = it.next().unwrap_or_default();
                let targets = list
                    .split(',')
                    .map(|name| {
                        Target::ALL
                            .into_iter()
                            .find(|t| t.name() == name)
                            .unwrap_or_else(|| {
                                eprintln!("unknown target {name}");
                                std::process::exit(2)
                            })
                    })
                    .collect();
                args.targets = Some(targets);
            }
            "--help" | "-h" => {
                eprintln!("c-bench [--quick] [--jobs N] [--targets a,b] [FILTER...]");
                std::process::exit(0)
            }
            other if other.starts_with("--") => {
                eprintln!("unknown option {other}");
                std::process::exit(2)
            }
            other => args.filters.push(other.to_string()),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let root = suites::bench_c_dir();
    let mut programs = suites::all_programs(&root).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let full = select(&mut programs, &args);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<ProgramResult>>> =
        programs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(program) = programs.get(index) else {
                        break;
                    };
                    let result = run_program(program, args.targets.as_deref());
                    eprintln!(
                        "[{:>4.0}s] {}/{}: {}",
                        started.elapsed().as_secs_f64(),
                        program.group,
                        program.program.name,
                        result.summary()
                    );
                    *results[index].lock().unwrap() = Some(result);
                }
            });
        }
    });
    let results: Vec<ProgramResult> = results
        .into_iter()
        .filter_map(|r| r.into_inner().unwrap())
        .collect();
    let markdown = report::markdown(&results, full);
    println!("{markdown}");
    if full {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PERFORMANCE.md");
        std::fs::write(&path, &markdown).unwrap_or_else(|e| {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1)
        });
        eprintln!("wrote {}", path.display());
    }
    let problems: Vec<&Problem> = results.iter().flat_map(|r| r.problems()).collect();
    if problems.iter().any(|p| p.is_wrong_result()) {
        eprintln!("a synth build gave a wrong result (see the report)");
        std::process::exit(1);
    }
}

/// Apply `--quick` and the filters; whether the run is the complete one.
fn select(programs: &mut Vec<SuiteProgram>, args: &Args) -> bool {
    let key = |p: &SuiteProgram| format!("{}/{}", p.group, p.program.name);
    if args.quick {
        programs.retain(|p| QUICK.contains(&key(p).as_str()));
    }
    if !args.filters.is_empty() {
        programs.retain(|p| args.filters.iter().any(|f| key(p).contains(f.as_str())));
    }
    !args.quick && args.filters.is_empty() && args.targets.is_none()
}

fn run_program(program: &SuiteProgram, only: Option<&[Target]>) -> ProgramResult {
    let mut result = ProgramResult::new(program);
    let build = match bench::compile_wasm(&program.program) {
        Ok(build) => build,
        Err(e) => {
            result.error = Some(format!("does not build for wasm32: {e}"));
            return result;
        }
    };
    result.wasm_bytes = build.wasm.len();
    result.float = bench::uses_floats(&build.wasm);
    let mut targets: Vec<Target> = TARGETS.to_vec();
    if result.float {
        targets.push(Target::CortexM4F);
    }
    if let Some(only) = only {
        targets.retain(|t| only.contains(t));
    }
    for target in targets {
        let outcome = run_target(program, &build, target);
        result.targets.push((target, outcome));
    }
    result
}

/// Native -Os and -O2 (they must verify and agree), then synth checked and unchecked.
fn run_target(
    program: &SuiteProgram,
    build: &bench::WasmBuild,
    target: Target,
) -> Result<TargetResult, String> {
    let platform = Platform::of(target);
    let mut native: Vec<Measurement> = Vec::new();
    for opt in [OptLevel::Os, OptLevel::O2] {
        let measured = bench::run_native(&platform, &program.program, opt, INSTRUCTION_LIMIT)
            .map_err(|e| format!("native clang {}: {e}", opt.flag()))?;
        if program.check == Check::ReturnsZero && measured.checksum != 0 {
            return Err(format!(
                "native clang {} fails the program's own check (returned {})",
                opt.flag(),
                measured.checksum as i32
            ));
        }
        if let Some(first) = native.first()
            && first.checksum != measured.checksum
        {
            return Err(format!(
                "native checksums differ: -Os 0x{:08x}, -O2 0x{:08x}",
                first.checksum, measured.checksum
            ));
        }
        native.push(measured);
    }
    let expected = native[0].checksum;
    let mut synth = Vec::new();
    let mut problems = Vec::new();
    for (checks, options) in &variants(target) {
        match bench::run_synth(
            &platform,
            options,
            build,
            &program.program.entry,
            INSTRUCTION_LIMIT,
        ) {
            Ok(m) if m.checksum == expected => synth.push(Some(m)),
            Ok(m) => {
                problems.push(Problem::WrongResult(format!(
                    "{checks}: synth returned 0x{:08x}, native 0x{expected:08x}",
                    m.checksum
                )));
                synth.push(None);
            }
            Err(SynthFailure::Compile(message)) => {
                problems.push(Problem::Unsupported(message));
                synth.push(None);
            }
            Err(SynthFailure::Run(message)) => {
                problems.push(Problem::RunFailure(format!("{checks}: {message}")));
                synth.push(None);
            }
        }
    }
    problems.dedup();
    let mut native = native.into_iter();
    Ok(TargetResult {
        native_os: native.next().expect("-Os"),
        native_o2: native.next().expect("-O2"),
        checked_size: synth[0].clone(),
        unchecked_size: synth[1].clone(),
        checked: synth[2].clone(),
        unchecked: synth[3].clone(),
        problems,
    })
}

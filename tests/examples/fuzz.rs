//! Differential fuzzer: wasm-smith modules, compiled by synth for every target with both
//! register allocators and bounds checks on and off, run in the emulator and in wasmtime.
//!
//! ```text
//! cargo run --release -p synth-tests --example fuzz -- --seconds 60 --jobs 2 --seed 1
//! cargo run --release -p synth-tests --example fuzz -- --module 0x1234abcd   # one module again
//! cargo run --release -p synth-tests --example fuzz -- --replay x.wasm      # a file
//! ```
//!
//! Options: `--seconds N` (wall-clock bound, default 60), `--jobs N` (worker threads, default
//! 2), `--seed N` (run seed, default 1), `--modules N` (stop after N modules), `--targets a,b`,
//! `--out DIR` (failing modules and reports, default `fuzz-out`), `--reduce` (shrink every
//! failing module, then its providers, and write them as a fixture into `DIR/fixtures`), `--attempts N` (shrink
//! attempts without progress, default 300), `--no-isolation`, `--module SEED` (run one module
//! seed, as printed), `--replay FILE` (run a .wasm or .wat file, with the providers it imports
//! from found as `lib/MODULE.wat` beside it), `--only-linked` (run only the seeds that draw a
//! provider and an importer; the others are skipped uncounted).
//! The process exits with 1 when a bug was found.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use synth_compiler::Target;
use synth_tests::fuzz::{
    self, Features, Generated, ModuleOutcome, RunOptions, Shape, Summary, generate, module_seed,
    run_module,
};
use synth_tests::providers::Provider;

struct Args {
    seconds: u64,
    jobs: usize,
    seed: u64,
    modules: u64,
    targets: Option<Vec<Target>>,
    out: PathBuf,
    reduce: bool,
    attempts: u32,
    isolation: bool,
    module: Option<u64>,
    replay: Option<PathBuf>,
    only_linked: bool,
}

fn parse_number(text: &str) -> Result<u64, String> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("`{text}`: {e}"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 60,
        jobs: 2,
        seed: 1,
        modules: u64::MAX,
        targets: None,
        out: PathBuf::from("fuzz-out"),
        reduce: false,
        attempts: 300,
        isolation: true,
        module: None,
        replay: None,
        only_linked: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => args.seconds = parse_number(&value()?)?,
            "--jobs" => args.jobs = parse_number(&value()?)?.max(1) as usize,
            "--seed" => args.seed = parse_number(&value()?)?,
            "--modules" => args.modules = parse_number(&value()?)?,
            "--targets" => {
                args.targets = Some(
                    value()?
                        .split(',')
                        .map(|t| Target::parse(t.trim()).map_err(|e| e.message))
                        .collect::<Result<_, _>>()?,
                )
            }
            "--out" => args.out = PathBuf::from(value()?),
            "--reduce" => args.reduce = true,
            "--attempts" => args.attempts = parse_number(&value()?)? as u32,
            "--no-isolation" => args.isolation = false,
            "--module" => args.module = Some(parse_number(&value()?)?),
            "--replay" => args.replay = Some(PathBuf::from(value()?)),
            "--only-linked" => args.only_linked = true,
            "--help" | "-h" => {
                println!("see the documentation at the top of tests/examples/fuzz.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(args)
}

fn print_module(seed: u64, outcome: &ModuleOutcome) {
    if let Some(reason) = &outcome.rejected {
        println!("seed 0x{seed:016x}: rejected: {reason}");
    }
    for reason in &outcome.partial_rejections {
        println!("seed 0x{seed:016x}: declined somewhere: {reason}");
    }
    for finding in &outcome.findings {
        println!("seed 0x{seed:016x}: {:?}: {finding}", finding.kind);
    }
    let vectors: Vec<String> = outcome
        .vectors
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!("seed 0x{seed:016x}: vectors {}", vectors.join(", "));
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("fuzz: {e}");
            std::process::exit(2);
        }
    };
    let features = Features::supported();
    let shape = Shape::default();
    let mut options = RunOptions::full(&shape);
    options.isolation = args.isolation;
    if let Some(targets) = &args.targets {
        options.targets = targets.clone();
    }

    // One module, printed in full.
    if args.module.is_some() || args.replay.is_some() {
        let (seed, wasm, providers) = match (&args.replay, args.module) {
            (Some(path), _) => {
                let bytes = std::fs::read(path).unwrap_or_else(|e| {
                    eprintln!("fuzz: {}: {e}", path.display());
                    std::process::exit(2)
                });
                let wasm = wat::parse_bytes(&bytes).expect("wasm or WAT").into_owned();
                // The modules it imports from, as fixtures keep them: `lib/MODULE.wat` beside it.
                let lib = path.parent().unwrap_or(Path::new(".")).join("lib");
                let providers = synth_tests::providers::from_dir(&wasm, &lib).unwrap_or_else(|e| {
                    eprintln!("fuzz: {}: {e}", lib.display());
                    std::process::exit(2)
                });
                (args.seed, wasm, providers)
            }
            (None, Some(seed)) => match generate(seed, &features, &shape) {
                Ok(generated) => (seed, generated.wasm, generated.providers),
                Err(e) => {
                    eprintln!("fuzz: seed 0x{seed:016x}: {e}");
                    std::process::exit(2)
                }
            },
            _ => unreachable!(),
        };
        let outcome = run_module(&wasm, &providers, seed, &options);
        print_module(seed, &outcome);
        let bugs = outcome.bugs().count();
        if args.reduce && bugs > 0 {
            reduce_and_save(&args, &options, seed, &wasm, &providers, &outcome);
        }
        std::process::exit(i32::from(bugs > 0));
    }

    let _ = std::fs::create_dir_all(&args.out);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let next = AtomicU64::new(0);
    let total = Mutex::new(Summary::default());
    let failing: Mutex<Vec<(u64, Generated, ModuleOutcome)>> = Mutex::new(Vec::new());
    println!(
        "fuzz: seed {}, {} jobs, {} s, targets {}",
        args.seed,
        args.jobs,
        args.seconds,
        options
            .targets
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(",")
    );
    std::thread::scope(|scope| {
        for _ in 0..args.jobs {
            scope.spawn(|| {
                let mut summary = Summary::default();
                let mut last_report = Instant::now();
                while Instant::now() < deadline {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= args.modules {
                        break;
                    }
                    let seed = module_seed(args.seed, index);
                    let generated = match generate(seed, &features, &shape) {
                        // Not a linked case: not run, not counted.
                        Ok(generated) if args.only_linked && generated.providers.is_empty() => {
                            continue;
                        }
                        Ok(generated) => generated,
                        Err(e) => {
                            summary.add_generation_failure(fuzz::run::normalize_reason(&e));
                            continue;
                        }
                    };
                    let outcome = run_module(&generated.wasm, &generated.providers, seed, &options);
                    summary.add(seed, generated.profile, &outcome);
                    if outcome.bugs().next().is_some() {
                        print_module(seed, &outcome);
                        let name = args.out.join(format!("0x{seed:016x}"));
                        let _ = std::fs::write(name.with_extension("wasm"), &generated.wasm);
                        for (module, wasm) in &generated.providers {
                            let path = args.out.join(format!("0x{seed:016x}.{module}.wasm"));
                            let _ = std::fs::write(path, wasm);
                        }
                        let report: Vec<String> =
                            outcome.findings.iter().map(|f| f.to_string()).collect();
                        let _ = std::fs::write(name.with_extension("txt"), report.join("\n"));
                        failing.lock().unwrap().push((seed, generated, outcome));
                    }
                    if last_report.elapsed() > Duration::from_secs(30) {
                        last_report = Instant::now();
                        let mut total = total.lock().unwrap();
                        total.merge(std::mem::take(&mut summary));
                        println!(
                            "[{:.0} s] modules {}, vectors {}, bugs {}",
                            start.elapsed().as_secs_f64(),
                            total.modules,
                            total.vectors.values().sum::<u64>(),
                            total.bugs.len()
                        );
                    }
                }
                total.lock().unwrap().merge(summary);
            });
        }
    });
    let total = total.into_inner().unwrap();
    println!("{}", total.render(start.elapsed()));
    let failing = failing.into_inner().unwrap();
    if args.reduce {
        for (seed, generated, outcome) in &failing {
            let (wasm, providers) = (&generated.wasm, &generated.providers);
            reduce_and_save(&args, &options, *seed, wasm, providers, outcome);
        }
    }
    if !failing.is_empty() {
        println!(
            "failing modules saved in {} (replay: --module 0x<seed>)",
            args.out.display()
        );
        std::process::exit(1);
    }
}

fn reduce_and_save(
    args: &Args,
    options: &RunOptions,
    seed: u64,
    wasm: &[u8],
    providers: &[Provider],
    outcome: &ModuleOutcome,
) {
    let Some(finding) = outcome.bugs().next() else {
        return;
    };
    let dir = args.out.join("fixtures");
    let _ = std::fs::create_dir_all(&dir);
    match fuzz::reduce::reduce(wasm, providers, seed, finding, options, args.attempts) {
        Ok(reduced) => {
            let name = format!("fuzz_{seed:016x}");
            let mut comment = format!(
                "Found by the differential fuzzer (examples/fuzz.rs), module seed 0x{seed:016x},\n\
                 reduced from {} to {} bytes with wasm-shrink",
                reduced.original_size,
                reduced.wasm.len()
            );
            for ((module, wasm), before) in reduced
                .providers
                .iter()
                .zip(&reduced.original_provider_sizes)
            {
                comment.push_str(&format!(
                    ", its provider `{module}` from {before} to {} bytes",
                    wasm.len()
                ));
            }
            comment.push_str(&format!(".\n{finding}"));
            match fuzz::reduce::write_fixture(&dir, &name, &reduced, &comment) {
                Ok(path) => println!("seed 0x{seed:016x}: reduced fixture {}", path.display()),
                Err(e) => println!("seed 0x{seed:016x}: cannot write the fixture: {e}"),
            }
        }
        Err(e) => println!("seed 0x{seed:016x}: not reduced: {e}"),
    }
}

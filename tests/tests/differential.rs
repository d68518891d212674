//! Differential test: every `fixtures/*.wat` on every target, each vector of
//! `fixtures/NAME.vectors` on a fresh instance in wasmtime and in the emulator. Results, trap
//! codes, final linear memory and globals must agree. Each case also runs with bounds checks off
//! (vectors that do not trap out of bounds) and with the baseline register allocator
//! (spill-realloc off), and compiling twice must give identical objects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use synth_compiler::{Options, Target};
use synth_tests::compare::{
    describe_difference, observations_agree, observe_emulator, observe_oracle,
};
use synth_tests::oracle::Oracle;
use synth_tests::{HarnessError, Outcome, trap_code};
use synth_tests::{providers, vectors};

/// Mismatches reported per (fixture, target, options) before the rest are only counted.
const SHOWN_MISMATCHES: usize = 4;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Per-target counts for one fixture.
#[derive(Default)]
struct TargetReport {
    vectors: usize,
    unchecked_vectors: usize,
    instructions: u64,
    /// Instructions emulated with the default options only (a dynamic code-quality measure).
    default_instructions: u64,
}

struct FixtureReport {
    name: String,
    targets: BTreeMap<&'static str, TargetReport>,
    failures: Vec<String>,
}

fn options(target: Target, bounds_checks: bool, spill_realloc: bool) -> Options {
    let mut options = Options::new(target);
    options.bounds_checks = bounds_checks;
    options.spill_realloc = spill_realloc;
    options
}

fn run_fixture(wat_path: &Path) -> FixtureReport {
    let name = wat_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = FixtureReport {
        name: name.clone(),
        targets: BTreeMap::new(),
        failures: Vec::new(),
    };
    let mut fail = |message: String| report.failures.push(format!("{name}: {message}"));
    let setup = || -> Result<_, HarnessError> {
        let wat = std::fs::read(wat_path)
            .map_err(|e| HarnessError::new(format!("cannot read {}: {e}", wat_path.display())))?;
        let vectors_path = wat_path.with_extension("vectors");
        let text = std::fs::read_to_string(&vectors_path).map_err(|e| {
            HarnessError::new(format!("cannot read {}: {e}", vectors_path.display()))
        })?;
        let wasm = wat::parse_bytes(&wat)
            .map_err(|e| HarnessError::new(format!("cannot parse module text: {e}")))?
            .into_owned();
        let providers = providers::from_dir(&wasm, &fixtures_dir().join("lib"))?;
        let info = providers::importer_info(&wat, &providers)?;
        let provider_infos = providers::provider_infos(&providers)?;
        let vectors = vectors::parse_linked(&text, &info, &provider_infos)
            .map_err(|e| HarnessError::new(format!("{}: {e}", vectors_path.display())))?;
        if vectors.is_empty() {
            return Err(HarnessError::new("the vector file lists no calls"));
        }
        let oracle = Oracle::linked(&wat, None, &providers)?;
        let expected = vectors
            .iter()
            .map(|v| observe_oracle(&oracle, v).map(|(e, _)| e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HarnessError::new(format!("wasmtime: {e}")))?;
        Ok((wat, info, vectors, oracle, expected, providers))
    };
    let (wat, info, vectors, oracle, expected, providers) = match setup() {
        Ok(setup) => setup,
        Err(e) => {
            fail(e.message);
            return report;
        }
    };

    for target in Target::ALL {
        let counts = report.targets.entry(target.name()).or_default();
        // (bounds checks, spill-realloc): the default, checks off, the baseline allocator.
        for (bounds_checks, spill_realloc) in [(true, true), (false, true), (true, false)] {
            let label = format!(
                "{} (bounds checks {}{})",
                target.name(),
                if bounds_checks { "on" } else { "off" },
                if spill_realloc {
                    ""
                } else {
                    ", spill-realloc off"
                }
            );
            let options = options(target, bounds_checks, spill_realloc);
            let object = match synth_compiler::compile(&wat, &options) {
                Ok(output) => output.object,
                Err(e) => {
                    fail(format!("{label}: compile error: {e}"));
                    continue;
                }
            };
            if bounds_checks {
                match synth_compiler::compile(&wat, &options) {
                    Ok(again) if again.object == object => {}
                    Ok(_) => fail(format!("{label}: compiling twice gave different objects")),
                    Err(e) => fail(format!("{label}: second compile failed: {e}")),
                }
            }
            // The providers compiled with the same options, each under its module name.
            let provider_objects = match providers::compile(&providers, &options) {
                Ok(objects) => objects,
                Err((name, e)) => {
                    fail(format!("{label}: compile error in provider `{name}`: {e}"));
                    continue;
                }
            };
            let mut instance =
                match providers::link(target, &object, &info, &providers, &provider_objects) {
                    Ok(instance) => instance,
                    Err(e) => {
                        fail(format!("{label}: {e}"));
                        continue;
                    }
                };
            let mut mismatches = 0usize;
            for (vector, expected) in vectors.iter().zip(&expected) {
                // Out of bounds in the call, in the start function, or in a data segment.
                let traps_out_of_bounds = matches!(
                    expected.init_trap,
                    Some(trap_code::DATA_SEGMENT_DOES_NOT_FIT | trap_code::MEMORY_OUT_OF_BOUNDS)
                ) || expected.outcome
                    == Some(Outcome::Trapped(trap_code::MEMORY_OUT_OF_BOUNDS));
                if !bounds_checks && traps_out_of_bounds {
                    counts.unchecked_vectors += 1;
                    continue;
                }
                let problem = match observe_emulator(&mut instance, vector) {
                    Ok((actual, _, instructions))
                        if observations_agree(expected, &actual, &vector.args) =>
                    {
                        counts.vectors += 1;
                        counts.instructions += instructions;
                        if bounds_checks && spill_realloc {
                            counts.default_instructions += instructions;
                        }
                        None
                    }
                    Ok((actual, synth_memory, _)) => {
                        counts.vectors += 1;
                        let wasmtime_memory = observe_oracle(&oracle, vector)
                            .map(|(_, m)| m)
                            .unwrap_or_default();
                        Some(describe_difference(
                            expected,
                            &actual,
                            (&wasmtime_memory, &synth_memory),
                            &vector.args,
                        ))
                    }
                    Err(e) => Some(format!("emulator: {e}")),
                };
                if let Some(problem) = problem {
                    mismatches += 1;
                    if mismatches <= SHOWN_MISMATCHES {
                        fail(format!("{label}: {vector}: {problem}"));
                    }
                }
            }
            if mismatches > SHOWN_MISMATCHES {
                fail(format!(
                    "{label}: {} more mismatching vectors",
                    mismatches - SHOWN_MISMATCHES
                ));
            }
        }
        if counts.vectors == 0 {
            fail(format!("{}: no vector executed", target.name()));
        }
    }
    report
}

#[test]
fn fixtures_agree_with_wasmtime_on_every_target() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures directory is readable")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    fixtures.sort();
    // `SYNTH_FIXTURES=a,b` restricts the run to some fixtures while iterating.
    if let Ok(selection) = std::env::var("SYNTH_FIXTURES") {
        let wanted: Vec<&str> = selection.split(',').map(str::trim).collect();
        fixtures.retain(|f| {
            f.file_stem()
                .is_some_and(|s| wanted.iter().any(|w| s == *w))
        });
    }
    assert!(
        !fixtures.is_empty(),
        "no fixtures in {}",
        fixtures_dir().display()
    );

    // Two workers (the machine has two cores); each builds its own emulators.
    let queue = Mutex::new(fixtures.iter());
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(path) = next else { break };
                    let report = run_fixture(path);
                    reports.lock().unwrap().push(report);
                }
            });
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by(|a, b| a.name.cmp(&b.name));

    let mut failures = Vec::new();
    let mut totals: BTreeMap<&str, (usize, u64, u64)> = BTreeMap::new();
    for report in &reports {
        let counts: Vec<String> = report
            .targets
            .iter()
            .map(|(target, c)| {
                let total = totals.entry(target).or_default();
                total.0 += c.vectors;
                total.1 += c.instructions;
                total.2 += c.default_instructions;
                format!(
                    "{target} {} ({} out-of-bounds skipped with checks off; {} instructions with \
                     default options)",
                    c.vectors, c.unchecked_vectors, c.default_instructions
                )
            })
            .collect();
        println!("{}: vectors executed: {}", report.name, counts.join(", "));
        failures.extend(report.failures.iter().cloned());
    }
    for (target, (vectors, instructions, default_instructions)) in &totals {
        println!(
            "{target}: {vectors} vectors executed (bounds checks on and off), \
             {instructions} instructions emulated, {default_instructions} of them with default \
             options"
        );
    }
    assert!(
        failures.is_empty(),
        "{} differential failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

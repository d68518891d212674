//! The official spec testsuite (`../shared/spec-testsuite/*.wast`) on cortex-m3, cortex-m4f and
//! rv32imac, plus the reference interpreter over synth's IR as a diagnostic. Prints the
//! per-file table, writes `docs/CONFORMANCE.md` with `SYNTH_WRITE_CONFORMANCE=1`, and asserts
//! 100 % (no failures, no skips but the out-of-scope ones) for every file on the targets.
//!
//! `SYNTH_SPEC_FILES=i32,br_table` restricts the run to some files (never writes the document);
//! `SYNTH_SPEC_THREADS=N` sets the number of workers (default: available parallelism);
//! `SYNTH_SPEC_ALL_FAILURES=1` prints every failure, not only the first few per file;
//! `SYNTH_SPEC_TIMING=1` prints how long each file took on each engine (stderr).

use std::time::Instant;

use synth_tests::spec::{self, Engine, report};

#[test]
fn spec_testsuite_conformance() {
    let dir = spec::suite_dir();
    let mut files = spec::suite_files(&dir).unwrap_or_else(|e| panic!("{e}"));
    let selection = std::env::var("SYNTH_SPEC_FILES").ok();
    if let Some(selection) = &selection {
        let wanted: Vec<&str> = selection.split(',').map(str::trim).collect();
        files.retain(|f| {
            f.file_stem()
                .is_some_and(|s| wanted.iter().any(|w| s == *w))
        });
        assert!(
            !files.is_empty(),
            "SYNTH_SPEC_FILES={selection} matches no file"
        );
    }
    let threads = std::env::var("SYNTH_SPEC_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));

    let engines: Vec<Engine> = Engine::TARGETS
        .iter()
        .chain(&Engine::IR_STAGES)
        .copied()
        .collect();
    let started = Instant::now();
    let reports = spec::run_files(&files, &engines, threads).unwrap_or_else(|e| panic!("{e}"));
    let document = report::markdown(&reports, &Engine::TARGETS, &Engine::IR_STAGES);
    println!("{document}");
    println!(
        "{} files on {} engines in {:.1} s",
        files.len(),
        engines.len(),
        started.elapsed().as_secs_f64()
    );

    if selection.is_none() && std::env::var("SYNTH_WRITE_CONFORMANCE").is_ok_and(|v| v == "1") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CONFORMANCE.md");
        std::fs::write(&path, &document)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    if std::env::var_os("SYNTH_SPEC_ALL_FAILURES").is_some() {
        for file in &reports {
            for engine in &file.engines {
                for failure in &engine.failures {
                    println!(
                        "FAIL {}.wast:{} [{}] {}",
                        file.file,
                        failure.line,
                        engine.engine.name(),
                        failure.message
                    );
                }
            }
        }
    }

    let problems = report::conformance_problems(&reports, &engines);
    assert!(
        problems.is_empty(),
        "{} conformance problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

//! Spec conformance: run the official `.wast` testsuite through synth.
//!
//! A file is parsed once (`script`), then executed on each engine (`runner`): every module is
//! compiled once per engine and instantiated once, and the assertions run on that persistent
//! instance. `report` renders the per-file, per-engine table and decides which skips are
//! legitimately out of scope.

pub mod engine;
pub mod linkage;
pub mod linked;
pub mod report;
pub mod runner;
pub mod script;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use engine::Engine;
pub use runner::{EngineReport, Failure};

/// One `.wast` file on every engine it ran on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// File stem, e.g. `i32`.
    pub file: String,
    pub engines: Vec<EngineReport>,
}

impl FileReport {
    pub fn engine(&self, engine: Engine) -> Option<&EngineReport> {
        self.engines.iter().find(|r| r.engine == engine)
    }
}

/// Run one script's text on `engines`. A script that does not parse is one failure per engine.
pub fn run_text(file: &str, text: &str, engines: &[Engine]) -> FileReport {
    let reports = match script::parse(text) {
        Ok(script) => engines
            .iter()
            .map(|engine| {
                let started = std::time::Instant::now();
                let report = runner::run_script(&script, *engine);
                // Timing is for tuning only; it never reaches the (deterministic) report.
                if std::env::var_os("SYNTH_SPEC_TIMING").is_some() {
                    eprintln!(
                        "{file}.wast on {}: {:.2} s",
                        engine.name(),
                        started.elapsed().as_secs_f64()
                    );
                }
                report
            })
            .collect(),
        Err(e) => engines
            .iter()
            .map(|engine| {
                let mut report = EngineReport::new(*engine);
                report.failures.push(Failure {
                    line: 0,
                    message: format!("the script does not parse: {e}"),
                });
                report
            })
            .collect(),
    };
    FileReport {
        file: file.to_string(),
        engines: reports,
    }
}

/// Where the official testsuite lives: `$SYNTH_SHARED_DIR/spec-testsuite`, by default the
/// `shared/` folder next to the repository (`../shared` from its root). `./dev test` sets
/// `SYNTH_SHARED_DIR` when it had to fetch the suite.
pub fn suite_dir() -> PathBuf {
    shared_dir().join("spec-testsuite")
}

/// The test data folder outside the repository (`spec-testsuite/`, `bench-c/`).
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("SYNTH_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// The suite's `.wast` files, sorted by name.
pub fn suite_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "the spec testsuite is missing at {} ({e}); it must hold the official *.wast files \
             (set SYNTH_SHARED_DIR to the folder that holds spec-testsuite/, or let `./dev test` \
             fetch it)",
            dir.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wast"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no .wast files in {}", dir.display()));
    }
    Ok(files)
}

/// Run `files` on `engines` with `threads` workers; reports come back sorted by file name.
pub fn run_files(
    files: &[PathBuf],
    engines: &[Engine],
    threads: usize,
) -> Result<Vec<FileReport>, String> {
    let mut texts = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        texts.push((stem, text));
    }
    // Biggest first, so a large file does not start last and leave the other workers idle.
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(texts[*i].1.len()));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<FileReport>> = Mutex::new(Vec::with_capacity(texts.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                while let Some(index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let (stem, text) = &texts[*index];
                    let report = run_text(stem, text, engines);
                    if let Ok(mut done) = done.lock() {
                        done.push(report);
                    }
                }
            });
        }
    });
    let mut reports = done
        .into_inner()
        .map_err(|_| "a worker panicked while recording a report".to_string())?;
    if reports.len() != texts.len() {
        return Err(format!(
            "{} of {} files produced no report (a worker panicked)",
            texts.len() - reports.len(),
            texts.len()
        ));
    }
    reports.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_script_fails_on_every_engine() {
        let report = run_text(
            "broken",
            "(module",
            &[Engine::FrontendIr, Engine::TARGETS[0]],
        );
        assert_eq!(report.engines.len(), 2);
        for engine in &report.engines {
            assert_eq!(engine.failed(), 1);
            assert!(engine.failures[0].message.contains("does not parse"));
        }
    }
}

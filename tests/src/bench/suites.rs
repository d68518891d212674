//! The real-C programs of `$SYNTH_SHARED_DIR/bench-c` (default `../shared/bench-c`): TACLeBench
//! (kernel, sequential, app, test), CoreMark and PolyBench/C (MINI dataset), each as a
//! [`CProgram`] with the freestanding support of `tests/bench/c` (never copied: the sources
//! are read where they are).
//!
//! - TACLeBench: every `*.c` of a program's folder; `main` is compiled as `bench_program_main`
//!   and called by `tests/bench/c/entry_tacle.c`; it returns 0 when the program's own check
//!   passes (the programs of [`TACLE_CHECKSUMS`] return a checksum, compared with native).
//! - CoreMark: the `core_*.c` files with our port (`tests/bench/c/coremark`, static memory,
//!   performance-run seeds, [`COREMARK_ITERATIONS`] iterations); 0 when CoreMark validates its
//!   CRCs.
//! - PolyBench/C: one kernel file each, `-DMINI_DATASET`; the output arrays are dumped through
//!   `fprintf`, which `tests/bench/c/bench_shim.c` hashes: the checksum compared with native.

use std::path::{Path, PathBuf};

use super::CProgram;
use crate::HarnessError;

/// CoreMark iterations of one run (each about 300k instructions on Cortex-M4).
pub const COREMARK_ITERATIONS: u32 = 10;

/// TACLeBench programs whose `main` returns a checksum rather than 0.
pub const TACLE_CHECKSUMS: &[&str] = &[];

/// How a program proves that it ran correctly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The entry returns 0 (its own check passed), natively and through synth.
    ReturnsZero,
    /// The entry returns a checksum; synth's must equal the native build's.
    MatchesNative,
}

/// A benchmark program and where it comes from.
#[derive(Clone, Debug)]
pub struct SuiteProgram {
    pub program: CProgram,
    /// `tacle/kernel`, `tacle/sequential`, ..., `coremark`, `polybench/linear-algebra`, ...
    pub group: String,
    pub check: Check,
}

/// The folder of the programs: `$SYNTH_SHARED_DIR/bench-c`, by default `../shared/bench-c`.
pub fn bench_c_dir() -> PathBuf {
    crate::spec::shared_dir().join("bench-c")
}

/// The freestanding headers, support library, entries and CoreMark port (`tests/bench/c`).
pub fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/c")
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let listing = std::fs::read_dir(dir).map_err(|e| {
        HarnessError::new(format!(
            "cannot list {} ({e}); the benchmark programs live in $SYNTH_SHARED_DIR/bench-c \
             (default ../shared/bench-c)",
            dir.display()
        ))
    })?;
    let mut entries: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    Ok(entries)
}

fn c_files(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "c"))
        .collect())
}

fn base_program(name: String, sources: Vec<PathBuf>, include_dirs: Vec<PathBuf>) -> CProgram {
    let support = support_dir();
    let mut include_dirs = include_dirs;
    include_dirs.push(support.join("include"));
    CProgram {
        name,
        sources,
        include_dirs,
        // Third-party code: its warnings are not ours. The system headers are replaced by
        // tests/bench/c/include (clang's own stdint.h, stddef.h, ... stay).
        cflags: vec!["-w".into(), "-nostdlibinc".into()],
        program_cflags: vec!["-Dmain=bench_program_main".into()],
        support: vec![support.join("bench_shim.c")],
        native_support: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/float/libm.c")],
        entry: "bench_entry".into(),
    }
}

/// Every program of the suites, in a fixed order (TACLeBench groups, CoreMark, PolyBench).
pub fn all_programs(root: &Path) -> Result<Vec<SuiteProgram>, HarnessError> {
    let support = support_dir();
    let mut programs = Vec::new();
    for group in ["kernel", "sequential", "app", "test"] {
        for dir in sorted_entries(&root.join("tacle").join(group))? {
            if !dir.is_dir() {
                continue;
            }
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut program = base_program(name.clone(), c_files(&dir)?, vec![dir.clone()]);
            program.support.push(support.join("entry_tacle.c"));
            programs.push(SuiteProgram {
                program,
                group: format!("tacle/{group}"),
                check: if TACLE_CHECKSUMS.contains(&name.as_str()) {
                    Check::MatchesNative
                } else {
                    Check::ReturnsZero
                },
            });
        }
    }

    let coremark = root.join("coremark");
    let sources = [
        "core_list_join",
        "core_main",
        "core_matrix",
        "core_state",
        "core_util",
    ]
    .iter()
    .map(|f| coremark.join(format!("{f}.c")))
    .collect();
    let mut program = base_program(
        "coremark".into(),
        sources,
        vec![support.join("coremark"), coremark.clone()],
    );
    program
        .cflags
        .push(format!("-DITERATIONS={COREMARK_ITERATIONS}"));
    program.support.push(support.join("coremark/core_portme.c"));
    programs.push(SuiteProgram {
        program,
        group: "coremark".into(),
        check: Check::ReturnsZero,
    });

    let polybench = root.join("polybench");
    for category in ["datamining", "linear-algebra", "medley", "stencils"] {
        let mut kernels = Vec::new();
        for dir in sorted_entries(&polybench.join(category))? {
            if dir.join(format!("{}.c", name_of(&dir))).is_file() {
                kernels.push(dir);
            } else if dir.is_dir() {
                // linear-algebra/{blas,kernels,solvers}/NAME
                kernels.extend(sorted_entries(&dir)?.into_iter().filter(|d| d.is_dir()));
            }
        }
        for dir in kernels {
            let name = name_of(&dir);
            let source = dir.join(format!("{name}.c"));
            if !source.is_file() {
                continue;
            }
            let mut program = base_program(
                name.clone(),
                vec![source],
                vec![dir.clone(), polybench.join("utilities")],
            );
            program.cflags.push("-DMINI_DATASET".into());
            program.support.push(support.join("entry_polybench.c"));
            programs.push(SuiteProgram {
                program,
                group: format!("polybench/{category}"),
                check: Check::MatchesNative,
            });
        }
    }
    Ok(programs)
}

fn name_of(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

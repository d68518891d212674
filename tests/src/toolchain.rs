//! clang for the C side of tests (freestanding objects for each target or platform).

use std::process::Command;

use synth_compiler::Target;

use crate::HarnessError;
use crate::emu::Platform;
use crate::emu::link::run_tool;

/// clang flags that select `target` and its float convention (`emu::Platform::clang_flags`).
pub fn clang_target_flags(target: Target) -> Vec<&'static str> {
    Platform::of(target).clang_flags()
}

/// Compile C `source` to a freestanding relocatable object for `target`. `include_dir`, when
/// given, is searched for headers.
pub fn compile_c(
    target: Target,
    source: &str,
    include_dir: Option<&std::path::Path>,
) -> Result<Vec<u8>, HarnessError> {
    compile_c_for(&Platform::of(target), source, include_dir)
}

/// Compile C `source` for `platform` (e.g. a target with the hard-float convention).
pub fn compile_c_for(
    platform: &Platform,
    source: &str,
    include_dir: Option<&std::path::Path>,
) -> Result<Vec<u8>, HarnessError> {
    let dir = crate::ScratchDir::new()?;
    let source_path = dir.path().join("input.c");
    let object_path = dir.path().join("input.o");
    std::fs::write(&source_path, source)
        .map_err(|e| HarnessError::new(format!("cannot write C source: {e}")))?;
    let mut command = Command::new("clang");
    command.args(platform.clang_flags()).args([
        "-O2",
        // C float expressions round every operation, as wasm does (no fused multiply-add).
        "-ffp-contract=off",
        "-ffreestanding",
        "-nostdlib",
        "-fno-builtin",
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-unwind-tables",
        "-fno-asynchronous-unwind-tables",
        "-Wall",
        "-Werror",
        "-c",
    ]);
    if let Some(include) = include_dir {
        command.arg("-I").arg(include);
    }
    command.arg(&source_path).arg("-o").arg(&object_path);
    run_tool(&mut command)?;
    std::fs::read(&object_path)
        .map_err(|e| HarnessError::new(format!("cannot read the C object: {e}")))
}

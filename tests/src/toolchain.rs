//! clang for the C side of tests (freestanding objects for each target).

use std::process::Command;

use synth_compiler::Target;

use crate::HarnessError;
use crate::emu::link::run_tool;

/// clang flags that select `target` (integer-only code, so the float ABI does not matter).
pub fn clang_target_flags(target: Target) -> Vec<&'static str> {
    match target {
        Target::CortexM3 => vec!["--target=thumbv7m-none-eabi", "-mcpu=cortex-m3"],
        Target::CortexM4 | Target::CortexM4F => {
            vec![
                "--target=thumbv7em-none-eabi",
                "-mcpu=cortex-m4",
                "-mfloat-abi=soft",
            ]
        }
        Target::CortexM7 | Target::CortexM7DP => {
            vec![
                "--target=thumbv7em-none-eabi",
                "-mcpu=cortex-m7",
                "-mfloat-abi=soft",
            ]
        }
        Target::Rv32imac => vec!["--target=riscv32", "-march=rv32imac", "-mabi=ilp32"],
    }
}

/// Compile C `source` to a freestanding relocatable object for `target`. `include_dir`, when
/// given, is searched for headers.
pub fn compile_c(
    target: Target,
    source: &str,
    include_dir: Option<&std::path::Path>,
) -> Result<Vec<u8>, HarnessError> {
    let dir = crate::ScratchDir::new()?;
    let source_path = dir.path().join("input.c");
    let object_path = dir.path().join("input.o");
    std::fs::write(&source_path, source)
        .map_err(|e| HarnessError::new(format!("cannot write C source: {e}")))?;
    let mut command = Command::new("clang");
    command.args(clang_target_flags(target)).args([
        "-O2",
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

//! Benchmark machinery: the same freestanding C program built two ways and run in the emulator,
//! counting executed instructions.
//!
//! - synth: C -> wasm32 (`clang --target=wasm32`), then `synth_compiler::compile` for the target,
//!   linked with a C driver that calls the export through synth's generated header;
//! - native: the C compiled by clang for the target with the target's float ABI (the flags of
//!   [`Platform::clang_flags`]), linked with the same driver.
//!
//! Both images are linked by `emu::link` (ld.lld, followed by the platform's libgcc) and run by
//! `emu::Machine`, whose block hook counts every executed instruction, helpers included. A
//! program is a set of C files defining `uint32_t ENTRY(uint32_t seed)`, which the driver calls
//! with a seed read from a volatile (so nothing folds at compile time); the returned checksum
//! must be the same on both sides.
//!
//! Used by `examples/float_bench.rs`; built to serve larger real-C suites as well.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, SectionKind};
use synth_compiler::{Options, Target};

use crate::emu::link::{link, run_tool};
use crate::emu::{Machine, Platform, SynthInstance};
use crate::wasm_info::{Signature, ValType, Value};
use crate::{HarnessError, ModuleInfo, Outcome, ScratchDir};

/// clang flags common to both sides: -O2, freestanding, floats rounded per operation (no
/// fused multiply-add: wasm has none, so native code must not contract either), no `errno` for
/// math builtins (so `__builtin_sqrtf` is an instruction where the target has one).
pub const COMMON_CFLAGS: &[&str] = &[
    "-O2",
    "-ffreestanding",
    "-nostdlib",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-Wall",
    "-Werror",
];

/// A C program: its sources (one translation unit each), an include directory and the entry.
#[derive(Clone, Debug)]
pub struct CProgram {
    pub name: String,
    pub sources: Vec<PathBuf>,
    pub include_dir: Option<PathBuf>,
    /// `uint32_t entry(uint32_t seed)`.
    pub entry: String,
    /// Extra C sources linked on the native side only (e.g. a libm subset for what wasm has as
    /// instructions), compiled with `-fno-builtin`.
    pub native_support: Vec<PathBuf>,
}

/// One side's run of a program on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// The checksum the entry returned.
    pub checksum: u32,
    /// Instructions executed by the call of the driver (entry, helpers and libgcc included).
    pub instructions: u64,
    /// Bytes of executable sections of the program's own objects (not the driver, not libgcc,
    /// not `native_support`); on the synth side the object includes synth's runtime helpers.
    pub text_bytes: u64,
}

fn clang(args: &[&str], extra: &[String]) -> Result<(), HarnessError> {
    let mut command = Command::new("clang");
    command.args(args).args(extra);
    run_tool(&mut command)
}

fn read(path: &Path) -> Result<Vec<u8>, HarnessError> {
    std::fs::read(path)
        .map_err(|e| HarnessError::new(format!("cannot read {}: {e}", path.display())))
}

fn include_args(program: &CProgram) -> Vec<String> {
    program
        .include_dir
        .iter()
        .map(|dir| format!("-I{}", dir.display()))
        .collect()
}

/// C -> wasm32 module exporting the entry (clang -O2, wasm-ld, no entry point, no libc).
pub fn compile_wasm(program: &CProgram) -> Result<Vec<u8>, HarnessError> {
    let dir = ScratchDir::new()?;
    let output = dir.path().join("module.wasm");
    let export = format!("-Wl,--export={}", program.entry);
    let mut args: Vec<String> = ["--target=wasm32", "-Wl,--no-entry"]
        .iter()
        .chain(COMMON_CFLAGS)
        .map(|s| s.to_string())
        .collect();
    args.push(export);
    args.extend(include_args(program));
    args.extend(program.sources.iter().map(|p| p.display().to_string()));
    args.push("-o".into());
    args.push(output.display().to_string());
    clang(&[], &args)?;
    read(&output)
}

/// One C file -> a relocatable object for `platform` (its clang flags and float ABI).
pub fn compile_native_object(
    platform: &Platform,
    source: &Path,
    include_dir: Option<&Path>,
    extra_flags: &[&str],
) -> Result<Vec<u8>, HarnessError> {
    let dir = ScratchDir::new()?;
    let output = dir.path().join("out.o");
    let mut args: Vec<String> = platform
        .clang_flags()
        .iter()
        .chain(COMMON_CFLAGS)
        .chain(
            [
                "-ffunction-sections",
                "-fdata-sections",
                "-fno-unwind-tables",
                "-fno-asynchronous-unwind-tables",
                "-c",
            ]
            .iter(),
        )
        .chain(extra_flags)
        .map(|s| s.to_string())
        .collect();
    if let Some(include) = include_dir {
        args.push(format!("-I{}", include.display()));
    }
    args.push(source.display().to_string());
    args.push("-o".into());
    args.push(output.display().to_string());
    clang(&[], &args)?;
    read(&output)
}

/// C text -> a relocatable object for `platform` (e.g. the driver).
pub fn compile_native_text(
    platform: &Platform,
    text: &str,
    include_dir: Option<&Path>,
) -> Result<Vec<u8>, HarnessError> {
    let dir = ScratchDir::new()?;
    let path = dir.path().join("input.c");
    std::fs::write(&path, text)
        .map_err(|e| HarnessError::new(format!("cannot write {}: {e}", path.display())))?;
    compile_native_object(platform, &path, include_dir, &[])
}

/// Bytes of the executable sections of a relocatable object.
pub fn text_bytes(object: &[u8]) -> Result<u64, HarnessError> {
    let file = object::File::parse(object)
        .map_err(|e| HarnessError::new(format!("cannot parse an object: {e}")))?;
    Ok(file
        .sections()
        .filter(|s| s.kind() == SectionKind::Text)
        .map(|s| s.size())
        .sum())
}

/// The driver: `harness_main` returns `entry(bench_seed)`; `declaration` declares the entry
/// (synth's header, or a prototype).
fn driver(declaration: &str, call: &str) -> String {
    format!(
        "#include <stdint.h>\n{declaration}\n\
         volatile uint32_t bench_seed = 1;\n\
         uint32_t harness_main(void) {{ return (uint32_t)({call}); }}\n"
    )
}

fn main_signature() -> Signature {
    Signature {
        params: Vec::new(),
        results: vec![ValType::I32],
    }
}

fn checksum_of(outcome: Outcome, side: &str) -> Result<u32, HarnessError> {
    match outcome {
        Outcome::Returned(values) => match values.as_slice() {
            [Value::I32(v)] => Ok(*v as u32),
            other => Err(HarnessError::new(format!("{side}: returned {other:?}"))),
        },
        Outcome::Trapped(code) => Err(HarnessError::new(format!(
            "{side}: trapped with code {code} ({})",
            crate::trap_code::name(code)
        ))),
    }
}

/// Compile `wasm` with `options` (for `platform`'s target) and run the entry through the driver.
pub fn run_synth(
    platform: &Platform,
    options: &Options,
    wasm: &[u8],
    entry: &str,
    instruction_limit: u64,
) -> Result<Measurement, HarnessError> {
    let info = ModuleInfo::parse(wasm)?;
    let function = info.export(entry)?.clone();
    let output = synth_compiler::compile(wasm, options)
        .map_err(|e| HarnessError::new(format!("synth: {e}")))?;
    let dir = ScratchDir::new()?;
    std::fs::write(dir.path().join("module.h"), &output.header)
        .map_err(|e| HarnessError::new(format!("cannot write the header: {e}")))?;
    let call = format!("{}((int32_t)bench_seed)", function.symbol);
    let driver_object = compile_native_text(
        platform,
        &driver("#include \"module.h\"", &call),
        Some(dir.path()),
    )?;
    let mut instance = SynthInstance::link_on(platform, &[&driver_object, &output.object], &info)?;
    instance.machine.instruction_limit = instruction_limit;
    if let Outcome::Trapped(code) = instance.instantiate()? {
        return Err(HarnessError::new(format!("synth_init trapped: {code}")));
    }
    let run = instance
        .machine
        .call("harness_main", &main_signature(), &[])?;
    Ok(Measurement {
        checksum: checksum_of(run.outcome, "synth")?,
        instructions: run.instructions,
        text_bytes: text_bytes(&output.object)?,
    })
}

/// Compile the program natively for `platform` and run the entry through the driver.
pub fn run_native(
    platform: &Platform,
    program: &CProgram,
    instruction_limit: u64,
) -> Result<Measurement, HarnessError> {
    let include = program.include_dir.as_deref();
    let mut objects = Vec::new();
    let mut text = 0;
    for source in &program.sources {
        let object = compile_native_object(platform, source, include, &[])?;
        text += text_bytes(&object)?;
        objects.push(object);
    }
    for source in &program.native_support {
        objects.push(compile_native_object(
            platform,
            source,
            include,
            &["-fno-builtin"],
        )?);
    }
    let prototype = format!("uint32_t {}(uint32_t seed);", program.entry);
    let call = format!("{}(bench_seed)", program.entry);
    objects.push(compile_native_text(
        platform,
        &driver(&prototype, &call),
        None,
    )?);
    let refs: Vec<&[u8]> = objects.iter().map(|o| o.as_slice()).collect();
    let image = link(platform, &refs, &[])?;
    let mut machine = Machine::on(platform, image, &[])?;
    machine.instruction_limit = instruction_limit;
    machine.reset()?;
    let run = machine.call("harness_main", &main_signature(), &[])?;
    Ok(Measurement {
        checksum: checksum_of(run.outcome, "native")?,
        instructions: run.instructions,
        text_bytes: text,
    })
}

/// The programs of a directory: every `*.c` except the names in `support` (which become each
/// program's `native_support`), sorted by name; the directory is the include directory.
pub fn programs_in(
    dir: &Path,
    entry: &str,
    support: &[&str],
) -> Result<Vec<CProgram>, HarnessError> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| HarnessError::new(format!("cannot list {}: {e}", dir.display())))?;
    let mut sources: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    let is_support = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| support.contains(&n))
    };
    let native_support: Vec<PathBuf> = sources.iter().filter(|p| is_support(p)).cloned().collect();
    Ok(sources
        .iter()
        .filter(|p| !is_support(p))
        .map(|p| CProgram {
            name: p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sources: vec![p.clone()],
            include_dir: Some(dir.to_path_buf()),
            entry: entry.to_string(),
            native_support: native_support.clone(),
        })
        .collect())
}

/// One program on one target: native clang and synth (with each of `variants`' options).
#[derive(Clone, Debug)]
pub struct Comparison {
    pub native: Measurement,
    /// One per variant, in order.
    pub synth: Vec<Measurement>,
}

/// Build and run `program` natively and with synth under every option set of `variants` (each
/// for `target`); an error when a checksum differs from the native one.
pub fn compare(
    program: &CProgram,
    wasm: &[u8],
    target: Target,
    variants: &[Options],
    instruction_limit: u64,
) -> Result<Comparison, HarnessError> {
    let platform = Platform::of(target);
    let native = run_native(&platform, program, instruction_limit)?;
    let mut synth = Vec::new();
    for options in variants {
        let measured = run_synth(&platform, options, wasm, &program.entry, instruction_limit)?;
        if measured.checksum != native.checksum {
            return Err(HarnessError::new(format!(
                "checksum differs: synth 0x{:08x}, native 0x{:08x} ({options:?})",
                measured.checksum, native.checksum
            )));
        }
        synth.push(measured);
    }
    Ok(Comparison { native, synth })
}

/// Geometric mean of positive ratios (`None` when empty).
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((log_sum / values.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geomean_of_ratios() {
        assert_eq!(geomean(&[]), None);
        let g = geomean(&[2.0, 8.0]).unwrap();
        assert!((g - 4.0).abs() < 1e-12, "{g}");
    }
}

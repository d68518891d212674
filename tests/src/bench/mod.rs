//! Benchmark machinery: the same freestanding C program built two ways and run in the emulator,
//! counting executed instructions.
//!
//! - synth: C -> wasm32 (`clang --target=wasm32 -O2`, wasm-ld, compiler-rt's wasm32 builtins
//!   when installed), then `synth_compiler::compile` for the target, linked with a C driver that
//!   calls the export through synth's generated header;
//! - native: the C compiled by clang for the target with the target's float ABI (the flags of
//!   [`Platform::clang_flags`]) at a chosen optimization level, linked with the same driver. On
//!   RV32, GNU as and GNU ld of the GCC cross toolchain assemble and link (they relax calls and
//!   branches, which clang 14's assembler with ld.lld 14 leaves long): the native code a user of
//!   that toolchain gets.
//!
//! Both images run in `emu::Machine`, whose block hook counts every executed instruction,
//! helpers included. A program is a set of C files defining `uint32_t ENTRY(uint32_t seed)`,
//! which the driver calls with a seed read from a volatile (so nothing folds at compile time);
//! the returned checksum must be the same on both sides.
//!
//! `.text` is the program's own code: natively the `.text*` input sections of the program's
//! objects that the linker keeps (`--gc-sections` from the driver, read from the linker map; not
//! the support files, the driver or libgcc); for synth, the `.text*` sections of its object
//! (runtime helpers included) less the functions of the support files (by name).
//!
//! Used by `examples/float_bench.rs` and `examples/c_bench.rs` (`suites`: the real-C programs of
//! `../shared/bench-c`).

pub mod suites;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use object::{Object, ObjectSection, SectionKind};
use synth_compiler::{Isa, Options, Target};

use crate::emu::link::{LinkOptions, Linker, link_with, run_tool, text_by_input};
use crate::emu::{Machine, Platform, SynthInstance};
use crate::wasm_info::{Signature, ValType, Value};
use crate::{HarnessError, ModuleInfo, Outcome, ScratchDir};

/// clang flags common to both sides: freestanding, floats rounded per operation (no fused
/// multiply-add: wasm has none, so native code must not contract either), no `errno` for math
/// builtins (so `__builtin_sqrtf` is an instruction where the target has one).
pub const COMMON_CFLAGS: &[&str] = &[
    "-ffreestanding",
    "-nostdlib",
    "-ffp-contract=off",
    "-fno-math-errno",
];

/// Stack of the wasm module (in linear memory, below the data: an overflow traps instead of
/// overwriting the data).
pub const WASM_STACK_BYTES: u32 = 64 * 1024;

/// Optimization level of a native build (the wasm build is always -O2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptLevel {
    Os,
    O2,
}

impl OptLevel {
    pub fn flag(self) -> &'static str {
        match self {
            OptLevel::Os => "-Os",
            OptLevel::O2 => "-O2",
        }
    }
}

/// A C program: its sources, how to compile them, its support files and its entry.
#[derive(Clone, Debug, Default)]
pub struct CProgram {
    pub name: String,
    /// The program's own code (measured).
    pub sources: Vec<PathBuf>,
    pub include_dirs: Vec<PathBuf>,
    /// Flags of every compilation, both sides (e.g. `-DMINI_DATASET`, `-w`).
    pub cflags: Vec<String>,
    /// Flags of the program's sources only (e.g. `-Dmain=bench_program_main`).
    pub program_cflags: Vec<String>,
    /// C files compiled on both sides, not measured (freestanding libc subset, the entry).
    pub support: Vec<PathBuf>,
    /// Extra C sources linked on the native side only (e.g. a libm subset for what wasm has as
    /// instructions), compiled with `-fno-builtin`.
    pub native_support: Vec<PathBuf>,
    /// `uint32_t entry(uint32_t seed)`.
    pub entry: String,
}

/// A program compiled to wasm.
#[derive(Clone, Debug)]
pub struct WasmBuild {
    pub wasm: Vec<u8>,
    /// Functions defined by the support files (not measured in synth's `.text`).
    pub support_functions: BTreeSet<String>,
}

/// One side's run of a program on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// The checksum the entry returned.
    pub checksum: u32,
    /// Instructions executed by the call of the driver (entry, helpers and libgcc included).
    pub instructions: u64,
    /// Bytes of the program's own code (see the module documentation).
    pub text_bytes: u64,
    /// synth's compile time of the module, the fastest of three (zero for native builds).
    pub compile_time: Duration,
}

/// Why a synth build did not produce a measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SynthFailure {
    /// synth rejected the module (e.g. a feature it lacks): its message.
    Compile(String),
    /// Linking or running failed: a trap, a fault, the instruction limit.
    Run(String),
}

impl std::fmt::Display for SynthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SynthFailure::Compile(m) => write!(f, "synth: {m}"),
            SynthFailure::Run(m) => write!(f, "synth build: {m}"),
        }
    }
}

impl From<SynthFailure> for HarnessError {
    fn from(failure: SynthFailure) -> Self {
        HarnessError::new(failure.to_string())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, HarnessError> {
    std::fs::read(path)
        .map_err(|e| HarnessError::new(format!("cannot read {}: {e}", path.display())))
}

fn include_args(dirs: &[PathBuf]) -> Vec<String> {
    dirs.iter()
        .map(|dir| format!("-I{}", dir.display()))
        .collect()
}

/// compiler-rt's builtins for wasm32 (`__multi3`, ...; Debian `libclang-rt-14-dev-wasm32`).
pub fn wasm_builtins() -> Option<PathBuf> {
    let output = Command::new("clang")
        .arg("-print-resource-dir")
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let path = dir.join("lib/wasi/libclang_rt.builtins-wasm32.a");
    path.is_file().then_some(path)
}

/// Functions an object defines (`llvm-nm --defined-only`).
fn defined_functions(object: &Path) -> Result<BTreeSet<String>, HarnessError> {
    let output = Command::new("llvm-nm")
        .arg("--defined-only")
        .arg(object)
        .output()
        .map_err(|e| {
            HarnessError::new(format!("cannot run llvm-nm ({e}); apt-get install llvm"))
        })?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut tokens = line.split_whitespace().rev();
            let name = tokens.next()?;
            let kind = tokens.next()?;
            matches!(kind, "T" | "t" | "W" | "w").then(|| name.to_string())
        })
        .collect())
}

/// C -> wasm32 module exporting the entry (clang -O2, wasm-ld, no entry point, no libc).
pub fn compile_wasm(program: &CProgram) -> Result<WasmBuild, HarnessError> {
    let dir = ScratchDir::new()?;
    let mut objects = Vec::new();
    let mut support_functions = BTreeSet::new();
    let units = program
        .sources
        .iter()
        .map(|s| (s, true))
        .chain(program.support.iter().map(|s| (s, false)));
    for (index, (source, own)) in units.enumerate() {
        let object = dir.path().join(format!("unit{index}.o"));
        let mut command = Command::new("clang");
        command
            .args(["--target=wasm32", "-O2", "-c"])
            .args(COMMON_CFLAGS)
            .args(&program.cflags)
            .args(include_args(&program.include_dirs));
        if own {
            command.args(&program.program_cflags);
        }
        command.arg(source).arg("-o").arg(&object);
        run_tool(&mut command)?;
        if !own {
            support_functions.extend(defined_functions(&object)?);
        }
        objects.push(object);
    }
    let output = dir.path().join("module.wasm");
    let mut command = Command::new("wasm-ld");
    command
        .arg("--no-entry")
        .arg(format!("--export={}", program.entry))
        .arg("--stack-first")
        .arg("-z")
        .arg(format!("stack-size={WASM_STACK_BYTES}"))
        .args(&objects)
        .arg("-o")
        .arg(&output);
    let builtins = wasm_builtins();
    if let Some(builtins) = &builtins {
        command.arg(builtins);
    }
    run_tool(&mut command).map_err(|e| {
        if builtins.is_none() {
            HarnessError::new(format!(
                "{e}\n(compiler-rt's wasm32 builtins are missing: apt-get install \
                 libclang-rt-14-dev-wasm32)"
            ))
        } else {
            e
        }
    })?;
    Ok(WasmBuild {
        wasm: read(&output)?,
        support_functions,
    })
}

/// The platform's `-march`/`-mabi` for GNU as (RV32).
fn gnu_as_flags(platform: &Platform) -> Vec<String> {
    platform
        .clang_flags()
        .iter()
        .filter(|f| f.starts_with("-march=") || f.starts_with("-mabi="))
        .map(|f| f.to_string())
        .collect()
}

/// The linker of native builds: GNU ld on RV32 (relaxation), ld.lld on Arm.
pub fn native_linker(platform: &Platform) -> Linker {
    match platform.isa {
        Isa::Rv32 => Linker::Gnu,
        Isa::Arm => Linker::Lld,
    }
}

/// One C file -> a relocatable object for `platform` (its clang flags and float ABI), with
/// `flags` (optimization level, defines, includes) after the common ones. On RV32 clang emits
/// assembly and GNU as assembles it.
pub fn compile_native_object(
    platform: &Platform,
    source: &Path,
    flags: &[String],
) -> Result<Vec<u8>, HarnessError> {
    let dir = ScratchDir::new()?;
    let output = dir.path().join("out.o");
    let mut command = Command::new("clang");
    command
        .args(platform.clang_flags())
        .args(COMMON_CFLAGS)
        .args([
            "-ffunction-sections",
            "-fdata-sections",
            "-fno-unwind-tables",
            "-fno-asynchronous-unwind-tables",
        ])
        .args(flags)
        .arg(source);
    if platform.isa == Isa::Rv32 {
        let assembly = dir.path().join("out.s");
        command.args(["-S", "-fno-addrsig", "-o"]).arg(&assembly);
        run_tool(&mut command)?;
        let mut assemble = Command::new("riscv64-unknown-elf-as");
        assemble
            .args(gnu_as_flags(platform))
            .arg(&assembly)
            .arg("-o")
            .arg(&output);
        run_tool(&mut assemble)?;
    } else {
        command.arg("-c").arg("-o").arg(&output);
        run_tool(&mut command)?;
    }
    read(&output)
}

/// C text -> a relocatable object for `platform` at -O2 (e.g. the driver).
pub fn compile_native_text(
    platform: &Platform,
    text: &str,
    include_dir: Option<&Path>,
) -> Result<Vec<u8>, HarnessError> {
    let dir = ScratchDir::new()?;
    let path = dir.path().join("input.c");
    std::fs::write(&path, text)
        .map_err(|e| HarnessError::new(format!("cannot write {}: {e}", path.display())))?;
    let mut flags = vec!["-O2".to_string()];
    flags.extend(include_dir.map(|d| format!("-I{}", d.display())));
    compile_native_object(platform, &path, &flags)
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

/// Whether a wasm module computes with floats (an f32/f64 operator or value type anywhere).
pub fn uses_floats(wasm: &[u8]) -> bool {
    use wasmparser::{Parser, Payload};
    let float = |name: &str| name.starts_with("F32") || name.starts_with("F64");
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { return false };
        if let Payload::CodeSectionEntry(body) = payload {
            if let Ok(locals) = body.get_locals_reader() {
                for local in locals.into_iter().flatten() {
                    if float(&format!("{:?}", local.1).to_uppercase()) {
                        return true;
                    }
                }
            }
            let Ok(mut reader) = body.get_operators_reader() else {
                return false;
            };
            while !reader.eof() {
                match reader.read() {
                    Ok(op) => {
                        if float(&format!("{op:?}")) {
                            return true;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
    }
    false
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

/// Compile `build` with `options` (for `platform`'s target) and run the entry through the driver.
pub fn run_synth(
    platform: &Platform,
    options: &Options,
    build: &WasmBuild,
    entry: &str,
    instruction_limit: u64,
) -> Result<Measurement, SynthFailure> {
    let run = |e: HarnessError| SynthFailure::Run(e.message);
    let info = ModuleInfo::parse(&build.wasm).map_err(run)?;
    let function = info.export(entry).map_err(run)?.clone();
    // The fastest of three compiles: the machine may be busy with other work.
    let mut compile_time = Duration::MAX;
    let mut compiled = None;
    for _ in 0..3 {
        let start = Instant::now();
        let output = synth_compiler::compile(&build.wasm, options)
            .map_err(|e| SynthFailure::Compile(e.to_string()))?;
        compile_time = compile_time.min(start.elapsed());
        compiled = Some(output);
    }
    let output = compiled.expect("compiled three times");
    let support: u64 = output
        .report
        .functions
        .iter()
        .filter(|f| build.support_functions.contains(&f.name))
        .map(|f| u64::from(f.code_size))
        .sum();
    let text = text_bytes(&output.object).map_err(run)?;
    let dir = ScratchDir::new().map_err(run)?;
    std::fs::write(dir.path().join("module.h"), &output.header)
        .map_err(|e| SynthFailure::Run(format!("cannot write the header: {e}")))?;
    let call = format!("{}((int32_t)bench_seed)", function.symbol);
    let driver_object = compile_native_text(
        platform,
        &driver("#include \"module.h\"", &call),
        Some(dir.path()),
    )
    .map_err(run)?;
    let mut instance =
        SynthInstance::link_on(platform, &[&driver_object, &output.object], &info).map_err(run)?;
    instance.machine.instruction_limit = instruction_limit;
    if let Outcome::Trapped(code) = instance.instantiate().map_err(run)? {
        return Err(SynthFailure::Run(format!(
            "synth_init trapped: {code} ({})",
            crate::trap_code::name(code)
        )));
    }
    let result = instance
        .machine
        .call("harness_main", &main_signature(), &[])
        .map_err(run)?;
    // The profile (`SYNTH_EMU_PROFILE`) keeps the module beside it, named by the same total,
    // so its blocks can be read against a listing.
    if let (Some(dir), Some(total)) = (
        std::env::var_os("SYNTH_EMU_PROFILE"),
        instance.machine.profile_total(),
    ) {
        let name = format!(
            "synth-{total}-{}-{}.wasm",
            options.target.name(),
            if options.bounds_checks { "on" } else { "off" }
        );
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), &build.wasm);
    }
    Ok(Measurement {
        checksum: checksum_of(result.outcome, "synth").map_err(run)?,
        instructions: result.instructions,
        text_bytes: text.saturating_sub(support),
        compile_time,
    })
}

/// Compile the program natively for `platform` at `opt` and run the entry through the driver.
pub fn run_native(
    platform: &Platform,
    program: &CProgram,
    opt: OptLevel,
    instruction_limit: u64,
) -> Result<Measurement, HarnessError> {
    let mut flags = vec![opt.flag().to_string()];
    flags.extend(program.cflags.iter().cloned());
    flags.extend(include_args(&program.include_dirs));
    let mut own_flags = flags.clone();
    own_flags.extend(program.program_cflags.iter().cloned());
    let mut objects = Vec::new();
    for source in &program.sources {
        objects.push(compile_native_object(platform, source, &own_flags)?);
    }
    for source in &program.support {
        objects.push(compile_native_object(platform, source, &flags)?);
    }
    let mut libm_flags = flags.clone();
    libm_flags.push("-fno-builtin".into());
    for source in &program.native_support {
        objects.push(compile_native_object(platform, source, &libm_flags)?);
    }
    let prototype = format!("uint32_t {}(uint32_t seed);", program.entry);
    let call = format!("{}(bench_seed)", program.entry);
    objects.push(compile_native_text(
        platform,
        &driver(&prototype, &call),
        None,
    )?);
    let refs: Vec<&[u8]> = objects.iter().map(|o| o.as_slice()).collect();
    let options = LinkOptions {
        linker: native_linker(platform),
        gc_roots: vec!["harness_main".into()],
        ..LinkOptions::default()
    };
    let (image, map) = link_with(platform, &refs, &[], &options)?;
    let by_input = text_by_input(&map);
    let text = (0..program.sources.len())
        .map(|i| by_input.get(&i).copied().unwrap_or(0))
        .sum();
    let mut machine = Machine::on(platform, image, &[])?;
    machine.instruction_limit = instruction_limit;
    machine.reset()?;
    let run = machine.call("harness_main", &main_signature(), &[])?;
    Ok(Measurement {
        checksum: checksum_of(run.outcome, "native")?,
        instructions: run.instructions,
        text_bytes: text,
        compile_time: Duration::ZERO,
    })
}

/// The programs of a directory: every `*.c` except the names in `support` (which become each
/// program's `native_support`), sorted by name; the directory is the include directory and
/// warnings are errors.
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
            include_dirs: vec![dir.to_path_buf()],
            cflags: vec!["-Wall".into(), "-Werror".into()],
            entry: entry.to_string(),
            native_support: native_support.clone(),
            ..CProgram::default()
        })
        .collect())
}

/// One program on one target: native clang (one per optimization level) and synth (with each
/// of `variants`' options).
#[derive(Clone, Debug)]
pub struct Comparison {
    /// One per native optimization level, in order.
    pub native: Vec<Measurement>,
    /// One per variant, in order.
    pub synth: Vec<Measurement>,
}

/// Build and run `program` natively at each of `native_opts` and with synth under every option
/// set of `variants` (each for `target`); an error when a checksum differs from the first
/// native one.
pub fn compare(
    program: &CProgram,
    build: &WasmBuild,
    target: Target,
    native_opts: &[OptLevel],
    variants: &[Options],
    instruction_limit: u64,
) -> Result<Comparison, HarnessError> {
    let platform = Platform::of(target);
    let mut native = Vec::new();
    for &opt in native_opts {
        let measured = run_native(&platform, program, opt, instruction_limit)?;
        if let Some(first) = native.first().map(|m: &Measurement| m.checksum)
            && first != measured.checksum
        {
            return Err(HarnessError::new(format!(
                "native checksums differ between optimization levels: 0x{first:08x}, \
                 0x{:08x} ({opt:?})",
                measured.checksum
            )));
        }
        native.push(measured);
    }
    let expected = native.first().map(|m| m.checksum);
    let mut synth = Vec::new();
    for options in variants {
        let measured = run_synth(&platform, options, build, &program.entry, instruction_limit)?;
        if let Some(expected) = expected
            && measured.checksum != expected
        {
            return Err(HarnessError::new(format!(
                "checksum differs: synth 0x{:08x}, native 0x{expected:08x} ({options:?})",
                measured.checksum
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

    #[test]
    fn linker_maps_of_lld_and_gnu_ld() {
        let lld = "     VMA      LMA     Size Align Out     In      Symbol\n\
                   \x20  10000    10000      100    16 .text\n\
                   \x20  10000    10000       1c     4         /tmp/x/input0.o:(.text.main)\n\
                   \x20  1001c    1001c        0     1                 main\n\
                   \x20  10020    10020       20     4         /tmp/x/input12.o:(.text)\n\
                   \x20  10040    10040        8     4         /tmp/x/input0.o:(.ARM.exidx.text.main)\n";
        let sizes = text_by_input(lld);
        assert_eq!(sizes.get(&0), Some(&0x1c));
        assert_eq!(sizes.get(&12), Some(&0x20));
        let gnu = "Discarded input sections\n\n .text.gone  0x0 0x40 /tmp/x/input0.o\n\n\
                   Linker script and memory map\n\n\
                   .text           0x00010040      0x2c8\n\
                   *(.text .text.*)\n\
                   \x20.text.main    0x00010040       0x1c /tmp/x/input0.o\n\
                   \x20.text.a_very_long_function_name\n\
                   \x20              0x0001005c       0x30 /tmp/x/input0.o\n\
                   \x20              0x0001005c                a_very_long_function_name\n\
                   \x20.text          0x0001008c        0x6 /tmp/x/input3.o\n";
        let sizes = text_by_input(gnu);
        assert_eq!(sizes.get(&0), Some(&(0x1c + 0x30)));
        assert_eq!(sizes.get(&3), Some(&6));
    }
}

//! memory.copy / memory.fill against the C library: executed instructions of one call that
//! copies (or fills) a 4 KiB block, synth's object versus the same operation compiled natively
//! by clang -O2 and calling newlib's `memcpy`/`memset` (Cortex-M: the `libc.a` of the target's
//! arm-none-eabi multilib, i.e. the hand-written ARMv7-M routines) or, on RV32 where the
//! toolchain has no C library, a generic word-at-a-time C memcpy/memset
//! (`tests/bench/memcpy/memcpy_generic.c`, clang -O2). Counts include the call and the
//! driver (a few instructions on both sides).
//!
//!     cargo run --release -p synth-tests --example memcpy-bench

use std::path::Path;
use std::process::Command;

use synth_compiler::{Isa, Options, Target};
use synth_tests::bench::{self, Measurement, WasmBuild};
use synth_tests::emu::link::link;
use synth_tests::emu::{Machine, Platform};
use synth_tests::wasm_info::{Signature, ValType, Value};
use synth_tests::{HarnessError, Outcome};

const LIMIT: u64 = 100_000_000;
const N: u32 = 4096;

/// (name, dst offset, src offset, fill?)
const CASES: &[(&str, u32, u32, bool)] = &[
    ("copy, both aligned", 0, 0, false),
    ("copy, same misalignment", 1, 1, false),
    ("copy, dst+1 src+3", 1, 3, false),
    ("fill, aligned", 0, 0, true),
    ("fill, dst+1", 1, 0, true),
];

fn wat(dst: u32, src: u32, fill: bool) -> String {
    let (dst, src) = (0x1000 + dst, 0x4000 + src);
    let op = if fill {
        format!("(memory.fill (i32.const {dst}) (local.get 0) (i32.const {N}))")
    } else {
        format!("(memory.copy (i32.const {dst}) (i32.const {src}) (i32.const {N}))")
    };
    format!(
        "(module (memory 1)
           (func (export \"bench\") (param i32) (result i32)
             {op}
             (i32.load8_u offset={dst} (i32.and (local.get 0) (i32.const 1023)))))"
    )
}

fn c_source(dst: u32, src: u32, fill: bool) -> String {
    let op = if fill {
        format!("memset(buf_dst + {dst}, (int)seed, {N});")
    } else {
        format!("memcpy(buf_dst + {dst}, buf_src + {src}, {N});")
    };
    format!(
        "#include <stddef.h>\n#include <stdint.h>\n\
         void *memcpy(void *, const void *, size_t);\n\
         void *memset(void *, int, size_t);\n\
         static uint8_t buf_dst[{N} + 8] __attribute__((aligned(8)));\n\
         uint8_t buf_src[{N} + 8] __attribute__((aligned(8)));\n\
         uint32_t bench(uint32_t seed) {{ {op} return buf_dst[{dst} + (seed & 1023)]; }}\n"
    )
}

fn gcc_file(platform: &Platform, name: &str) -> Result<String, HarnessError> {
    let (driver, flags) = platform.libgcc_flags();
    let out = Command::new(driver)
        .args(&flags)
        .arg(format!("-print-file-name={name}"))
        .output()
        .map_err(|e| HarnessError::new(format!("{driver}: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The C library objects: newlib's memcpy/memset members on Arm, the generic C on RV32.
fn libc_objects(platform: &Platform) -> Result<Vec<Vec<u8>>, HarnessError> {
    if platform.isa == Isa::Rv32 {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/memcpy/memcpy_generic.c");
        let flags = ["-O2".to_string(), "-fno-builtin".to_string()];
        return Ok(vec![bench::compile_native_object(
            platform, &source, &flags,
        )?]);
    }
    let libc = gcc_file(platform, "libc.a")?;
    let mut objects = Vec::new();
    for member in [
        "lib_a-memcpy.o",
        "lib_a-memset.o",
        "lib_a-aeabi_memcpy.o",
        "lib_a-aeabi_memset.o",
    ] {
        let out = Command::new("ar")
            .args(["p", &libc, member])
            .output()
            .map_err(|e| HarnessError::new(format!("ar: {e}")))?;
        if out.status.success() && !out.stdout.is_empty() {
            objects.push(out.stdout);
        }
    }
    Ok(objects)
}

fn native(platform: &Platform, dst: u32, src: u32, fill: bool) -> Result<u64, HarnessError> {
    let mut objects = vec![bench::compile_native_text(
        platform,
        &c_source(dst, src, fill),
        None,
    )?];
    objects.extend(libc_objects(platform)?);
    objects.push(bench::compile_native_text(
        platform,
        "#include <stdint.h>\nuint32_t bench(uint32_t);\nvolatile uint32_t bench_seed = 1;\n\
         uint32_t harness_main(void) { return bench(bench_seed); }\n",
        None,
    )?);
    let refs: Vec<&[u8]> = objects.iter().map(|o| o.as_slice()).collect();
    let image = link(platform, &refs, &[])?;
    let mut machine = Machine::on(platform, image, &[])?;
    machine.instruction_limit = LIMIT;
    machine.reset()?;
    let sig = Signature {
        params: Vec::new(),
        results: vec![ValType::I32],
    };
    let run = machine.call("harness_main", &sig, &[])?;
    match run.outcome {
        Outcome::Returned(v) if matches!(v.as_slice(), [Value::I32(_)]) => Ok(run.instructions),
        other => Err(HarnessError::new(format!("native: {other:?}"))),
    }
}

fn synth(platform: &Platform, options: &Options, dst: u32, src: u32, fill: bool) -> u64 {
    let build = WasmBuild {
        wasm: wat::parse_str(wat(dst, src, fill)).expect("wat"),
        support_functions: Default::default(),
    };
    let m: Measurement = bench::run_synth(platform, options, &build, "bench", LIMIT)
        .unwrap_or_else(|e| {
            eprintln!("synth: {e}");
            std::process::exit(1)
        });
    m.instructions
}

fn main() {
    println!("| target | case | synth | synth, no bounds checks | C library | synth / C |");
    println!("|---|---|--:|--:|--:|--:|");
    for target in Target::ALL {
        let platform = Platform::of(target);
        for (name, dst, src, fill) in CASES {
            let checked = synth(&platform, &Options::new(target), *dst, *src, *fill);
            let unchecked = Options {
                bounds_checks: false,
                ..Options::new(target)
            };
            let unchecked = synth(&platform, &unchecked, *dst, *src, *fill);
            let c = native(&platform, *dst, *src, *fill).unwrap_or_else(|e| {
                eprintln!("{} {name}: native: {e}", target.name());
                std::process::exit(1)
            });
            println!(
                "| {} | {name} | {checked} | {unchecked} | {c} | {:.2} |",
                target.name(),
                checked as f64 / c as f64
            );
        }
    }
}

//! Register allocation benchmark (not a test): over every fixture and every spec-suite module
//! that compiles, per target, total spill stores, reloads and `.text` bytes with spill-realloc
//! on and off, and the allocator's share of compile time.
//!
//! `cargo run --release -p synth-compiler --example regalloc-bench` prints a Markdown table (the
//! one in the README). Times come from this machine and vary from run to run; the counts do not.
//! Release mode matters: debug builds also run the allocation checker.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use synth_compiler::regalloc::{self, MachFunction, Policy};
use synth_compiler::{Options, Target, isa};

const TARGETS: [Target; 3] = [Target::CortexM4, Target::CortexM4F, Target::Rv32imac];

#[derive(Default, Clone, Copy)]
struct Totals {
    spills: u64,
    reloads: u64,
    remats: u64,
    text: u64,
    compile_time: Duration,
    allocator_time: Duration,
    functions: u64,
    fallbacks: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.spills += o.spills;
        self.reloads += o.reloads;
        self.remats += o.remats;
        self.text += o.text;
        self.compile_time += o.compile_time;
        self.allocator_time += o.allocator_time;
        self.functions += o.functions;
        self.fallbacks += o.fallbacks;
    }

    /// The allocator's share of compile time, in percent.
    fn share(&self) -> f64 {
        100.0 * self.allocator_time.as_secs_f64() / self.compile_time.as_secs_f64().max(1e-9)
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "wat"));
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let wasm = wat::parse_file(&p).ok()?;
            Some((p.file_stem()?.to_string_lossy().into_owned(), wasm))
        })
        .collect()
}

/// Where the official testsuite lives (`/work/shared/spec-testsuite` next to the repository).
fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec-testsuite")
}

/// Every top-level `(module ...)` of the spec suite's scripts that `wat` accepts, encoded.
/// Modules inside assertions are invalid or malformed on purpose and are left out.
fn spec_modules() -> Vec<(String, Vec<u8>)> {
    let dir = suite_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "wast"));
    paths.sort();
    if paths.is_empty() {
        eprintln!("spec suite not found at {}; fixtures only", dir.display());
    }
    let mut modules = Vec::new();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (index, form) in top_level_forms(&text).into_iter().enumerate() {
            if form.starts_with("(module")
                && let Ok(wasm) = wat::parse_str(form)
            {
                modules.push((format!("{stem}#{index}"), wasm));
            }
        }
    }
    modules
}

/// The balanced top-level s-expressions of a script (strings and comments skipped).
fn top_level_forms(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut forms = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b';' if bytes.get(i + 1) == Some(&b';') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if bytes.get(i + 1) == Some(&b';') => {
                let mut nesting = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'(' && bytes.get(i + 1) == Some(&b';') {
                        nesting += 1;
                        i += 2;
                    } else if bytes[i] == b';' && bytes.get(i + 1) == Some(&b')') {
                        nesting -= 1;
                        i += 2;
                        if nesting == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some(form) = text.get(start..=i)
                {
                    forms.push(form);
                }
            }
            _ => {}
        }
        i += 1;
    }
    forms
}

/// Bytes of every section whose name starts with `.text` (ELF32 little-endian).
fn text_size(elf: &[u8]) -> u64 {
    let u16_at = |o: usize| -> Option<usize> {
        Some(u16::from_le_bytes([*elf.get(o)?, *elf.get(o + 1)?]) as usize)
    };
    let u32_at = |o: usize| -> Option<usize> {
        let b = elf.get(o..o + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let total = || -> Option<u64> {
        let (shoff, shentsize, shnum, shstrndx) =
            (u32_at(0x20)?, u16_at(0x2e)?, u16_at(0x30)?, u16_at(0x32)?);
        let names = u32_at(shoff + shstrndx * shentsize + 0x10)?;
        let mut sum = 0u64;
        for i in 0..shnum {
            let h = shoff + i * shentsize;
            let name = elf.get(names + u32_at(h)?..)?;
            if name.starts_with(b".text") {
                sum += u32_at(h + 0x14)? as u64;
            }
        }
        Some(sum)
    };
    total().unwrap_or(0)
}

/// Time spent in the register allocator alone for `wasm` (the same pipeline as `compile`,
/// stopping after allocation), and how many functions spill-realloc hands to the baseline.
fn allocator_time(wasm: &[u8], options: &Options) -> (Duration, u64) {
    let Ok(module) = synth_compiler::legalized_module(wasm, options) else {
        return (Duration::ZERO, 0);
    };
    let policy = Policy::of(options);
    let mut total = Duration::ZERO;
    let mut fallbacks = 0;
    for body in 0..module.bodies.len() {
        let mut timed = |func: &dyn MachFunction, env: &regalloc::RegEnv| {
            let start = Instant::now();
            if policy == Policy::SpillRealloc {
                // What `allocate_with` does in a release build, with the fallback made visible.
                if let Ok(Err(_)) = regalloc::spill_realloc::allocate_unchecked(func, env) {
                    fallbacks += 1;
                    let _ = regalloc::baseline::allocate(func, env);
                }
            } else {
                let _ = regalloc::allocate_with(func, env, policy);
            }
            start.elapsed()
        };
        total += match options.target.isa() {
            synth_compiler::Isa::Rv32 => {
                let f = isa::rv32::has_f(options.target);
                match isa::rv32::lower::lower(&module, body, f) {
                    Ok(lowered) => timed(&lowered.code, &isa::rv32::regs::reg_env(options.target)),
                    Err(_) => Duration::ZERO,
                }
            }
            synth_compiler::Isa::Arm => {
                let vfp = isa::arm::regs::VfpFile::of(options.target);
                match isa::arm::lower::lower(&module, &module.bodies[body], vfp) {
                    Ok(lowered) => timed(&lowered.code, &isa::arm::regs::reg_env(vfp)),
                    Err(_) => Duration::ZERO,
                }
            }
        };
    }
    (total, fallbacks)
}

/// Fixtures that exist to stress frames (thousands of live values): they dominate the totals,
/// so the second table leaves them out.
const STRESS_FIXTURES: [&str; 2] = ["huge_frame", "wide_results"];

fn sum_of(
    output: &synth_compiler::Output,
    field: fn(&synth_compiler::report::FunctionReport) -> u32,
) -> u64 {
    output
        .report
        .functions
        .iter()
        .map(|f| u64::from(field(f)))
        .sum()
}

fn main() {
    // `--per-module` also writes one tab-separated line per module and setting to stderr.
    let per_module = std::env::args().any(|a| a == "--per-module");
    let mut inputs = fixtures();
    let num_fixtures = inputs.len();
    inputs.extend(spec_modules());
    println!(
        "{} fixtures and {} spec-suite modules\n",
        num_fixtures,
        inputs.len() - num_fixtures
    );
    // Per target: (modules, [on, off]) over all modules, then without the stress fixtures.
    let mut tables: Vec<Vec<(Target, u32, [Totals; 2])>> = vec![Vec::new(), Vec::new()];
    for target in TARGETS {
        let mut all = (0u32, [Totals::default(); 2]);
        let mut typical = (0u32, [Totals::default(); 2]);
        for (name, wasm) in &inputs {
            let mut options = Options::new(target);
            let mut results = Vec::new();
            for spill_realloc in [true, false] {
                options.spill_realloc = spill_realloc;
                let start = Instant::now();
                let output = synth_compiler::compile(wasm, &options);
                let elapsed = start.elapsed();
                results.push((output, elapsed, options.clone()));
            }
            // Only modules that compile both ways count, so the totals compare like with like.
            if results.iter().any(|(r, _, _)| r.is_err()) {
                continue;
            }
            let stress = STRESS_FIXTURES.contains(&name.as_str());
            all.0 += 1;
            if !stress {
                typical.0 += 1;
            }
            for (index, (output, elapsed, options)) in results.into_iter().enumerate() {
                let Ok(output) = output else { continue };
                if per_module {
                    eprintln!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        target.name(),
                        if options.spill_realloc { "on" } else { "off" },
                        name,
                        sum_of(&output, |f| f.spills),
                        sum_of(&output, |f| f.reloads),
                        text_size(&output.object)
                    );
                }
                let (time, fallbacks) = allocator_time(wasm, &options);
                let this = Totals {
                    spills: sum_of(&output, |f| f.spills),
                    reloads: sum_of(&output, |f| f.reloads),
                    remats: sum_of(&output, |f| f.remats),
                    text: text_size(&output.object),
                    compile_time: elapsed,
                    allocator_time: time,
                    functions: output.report.functions.len() as u64,
                    fallbacks,
                };
                all.1[index].add(&this);
                if !stress {
                    typical.1[index].add(&this);
                }
            }
        }
        tables[0].push((target, all.0, all.1));
        tables[1].push((target, typical.0, typical.1));
    }
    for (table, title) in tables.iter().zip([
        "All modules",
        "Without the frame-stress fixtures (huge_frame, wide_results)",
    ]) {
        println!("{title}:\n");
        println!(
            "| target | modules | spill stores on / off | reloads on / off | remats on | .text bytes on / off | allocator share of compile time on / off | functions on fallback |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (target, modules, [on, off]) in table {
            println!(
                "| {} | {} | {} / {} | {} / {} | {} | {} / {} | {:.1} % / {:.1} % | {} of {} |",
                target.name(),
                modules,
                on.spills,
                off.spills,
                on.reloads,
                off.reloads,
                on.remats,
                on.text,
                off.text,
                on.share(),
                off.share(),
                on.fallbacks,
                on.functions
            );
        }
        println!();
    }
}

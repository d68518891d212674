//! Results of the real-C benchmark and their markdown (docs/PERFORMANCE.md).

use std::fmt::Write;
use std::time::Duration;

use synth_compiler::Target;
use synth_tests::bench::suites::SuiteProgram;
use synth_tests::bench::{Measurement, geomean};

/// Something that kept a synth build from a measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// synth rejected the module: its message.
    Unsupported(String),
    /// The synth build trapped, faulted or hit the instruction limit where native ran.
    RunFailure(String),
    /// The synth build returned another checksum than native.
    WrongResult(String),
}

impl Problem {
    pub fn is_wrong_result(&self) -> bool {
        matches!(self, Problem::WrongResult(_) | Problem::RunFailure(_))
    }
}

pub struct TargetResult {
    pub native_os: Measurement,
    pub native_o2: Measurement,
    /// synth with bounds and stack checks (the defaults), optimizing for speed (the default).
    pub checked: Option<Measurement>,
    /// synth with bounds and stack checks off.
    pub unchecked: Option<Measurement>,
    /// The same two optimizing for size (`-Os`): their `.text` is what the report compares.
    pub checked_size: Option<Measurement>,
    pub unchecked_size: Option<Measurement>,
    pub problems: Vec<Problem>,
}

pub struct ProgramResult {
    pub name: String,
    pub group: String,
    pub wasm_bytes: usize,
    pub float: bool,
    /// An error of the benchmark (the program does not build for wasm32).
    pub error: Option<String>,
    /// Per target: the measurements, or an error of the benchmark (native build or check).
    pub targets: Vec<(Target, Result<TargetResult, String>)>,
}

impl ProgramResult {
    pub fn new(program: &SuiteProgram) -> Self {
        ProgramResult {
            name: program.program.name.clone(),
            group: program.group.clone(),
            wasm_bytes: 0,
            float: false,
            error: None,
            targets: Vec::new(),
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }

    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.targets
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(|r| r.problems.iter())
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        if let Some(error) = &self.error {
            return format!("BENCHMARK ERROR: {error}");
        }
        let mut parts = Vec::new();
        for (target, result) in &self.targets {
            let text = match result {
                Err(e) => format!("BENCHMARK ERROR {e}"),
                Ok(r) => match ratios(r) {
                    Some(x) => format!(
                        "size {:.2}/{:.2} instr {:.2}/{:.2}",
                        x.size_on, x.size_off, x.instr_on, x.instr_off
                    ),
                    None => format!("{:?}", r.problems),
                },
            };
            parts.push(format!("{} {text}", target.name()));
        }
        parts.join("; ")
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

/// The four ratios of one program on one target, when every synth build ran: `.text` of the
/// builds for size, instructions of the builds for speed.
struct Ratios {
    size_on: f64,
    size_off: f64,
    instr_on: f64,
    instr_off: f64,
}

fn ratios(r: &TargetResult) -> Option<Ratios> {
    let (on, off) = (r.checked.as_ref()?, r.unchecked.as_ref()?);
    let (small_on, small_off) = (r.checked_size.as_ref()?, r.unchecked_size.as_ref()?);
    Some(Ratios {
        size_on: ratio(small_on.text_bytes, r.native_os.text_bytes),
        size_off: ratio(small_off.text_bytes, r.native_os.text_bytes),
        instr_on: ratio(on.instructions, r.native_o2.instructions),
        instr_off: ratio(off.instructions, r.native_o2.instructions),
    })
}

const TARGET_ORDER: [Target; 3] = [Target::CortexM4, Target::Rv32imac, Target::CortexM4F];

fn measured(results: &[ProgramResult], target: Target) -> Vec<(&ProgramResult, &TargetResult)> {
    results
        .iter()
        .flat_map(|p| {
            p.targets
                .iter()
                .filter(move |(t, _)| *t == target)
                .filter_map(move |(_, r)| r.as_ref().ok().map(|r| (p, r)))
        })
        .collect()
}

fn fmt_geo(values: &[f64]) -> String {
    geomean(values).map_or("-".into(), |g| format!("{g:.2}×"))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The whole report.
pub fn markdown(results: &[ProgramResult], complete: bool) -> String {
    let mut out = String::new();
    let targets: Vec<Target> = TARGET_ORDER
        .into_iter()
        .filter(|t| {
            results
                .iter()
                .any(|p| p.targets.iter().any(|(x, _)| x == t))
        })
        .collect();
    let _ = writeln!(out, "# Performance: synth against clang 14 on real C\n");
    let _ = writeln!(
        out,
        "Generated by `cargo run --release -p synth-tests --example c-bench` (a complete run \
         writes this file; do not edit it by hand).{}\n",
        if complete {
            ""
        } else {
            " **This is a partial run (`--quick`, a filter or `--targets`).**"
        }
    );
    let _ = writeln!(
        out,
        "Programs: `$SYNTH_SHARED_DIR/bench-c` (default `../shared/bench-c`): TACLeBench \
         (kernel, sequential, app, test), CoreMark (a short CoreMark-derived run: our bare-metal \
         port, {} iterations, not a CoreMark score) and PolyBench/C 4.2.1 with the MINI \
         dataset. synth compiles the wasm32 module clang 14 makes at -O2; the native builds are \
         clang 14 at -Os and -O2 for the same core (thumbv7em cortex-m4 soft float, cortex-m4f \
         hard float, rv32imac ilp32 assembled and linked by GNU as/ld, which relax calls and \
         branches). Programs that compute with floats also run on cortex-m4f. Every build runs \
         in the emulator (unicorn) and verifies: the program's own check (TACLeBench, \
         CoreMark), and synth's result equal to native (PolyBench: a hash of the dumped output \
         arrays, floats by their bits).\n",
        synth_tests::bench::suites::COREMARK_ITERATIONS
    );
    let _ = writeln!(
        out,
        "- `.text`: the program's own code. Native: the `.text*` sections of the program's \
         objects kept by the linker (`--gc-sections`; not the driver, libgcc or the support \
         files `tests/bench/c`). synth: its object's `.text*` (runtime helpers included) less \
         the functions of the support files.\n\
         - instructions: executed by the call of the entry (program, support, libgcc and \
         runtime helpers), counted exactly by the emulator.\n\
         - checks on: synth's defaults (bounds checks and stack-limit checks); checks off: \
         `--no-bounds-checks`-equivalent options `bounds_checks = false, stack_check = false`.\n\
         - like clang's, synth's `.text` is that of its build for size (`-Os`: no loop unrolled \
         or versioned) and its instructions those of its build for speed (the default); both \
         builds run and verify.\n\
         - compile time: synth's `compile` (checks on) in this process, release build.\n"
    );

    let _ = writeln!(out, "## Geomeans\n");
    let header: Vec<String> = targets
        .iter()
        .map(|t| {
            let n = measured(results, *t)
                .iter()
                .filter(|(_, r)| ratios(r).is_some())
                .count();
            format!("{} ({n} programs)", t.name())
        })
        .collect();
    let _ = writeln!(out, "| | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "--:|".repeat(targets.len()));
    type Pick = fn(&Ratios) -> f64;
    let rows: [(&str, Pick); 4] = [
        ("synth `.text` ÷ clang -Os `.text` (checks on)", |r| {
            r.size_on
        }),
        ("synth `.text` ÷ clang -Os `.text` (checks off)", |r| {
            r.size_off
        }),
        ("executed instructions ÷ clang -O2 (checks on)", |r| {
            r.instr_on
        }),
        ("executed instructions ÷ clang -O2 (checks off)", |r| {
            r.instr_off
        }),
    ];
    for (label, pick) in rows {
        let cells: Vec<String> = targets
            .iter()
            .map(|t| {
                let values: Vec<f64> = measured(results, *t)
                    .iter()
                    .filter_map(|(_, r)| ratios(r).map(|x| pick(&x)))
                    .collect();
                fmt_geo(&values)
            })
            .collect();
        let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
    }
    let _ = writeln!(out);

    compile_speed(&mut out, results, &targets);
    problems(&mut out, results);

    for target in &targets {
        let _ = writeln!(out, "## {}\n", target.name());
        let _ = writeln!(
            out,
            "| program | wasm bytes | clang -Os .text | synth -Os .text on | off | ÷ -Os on | off | \
             clang -O2 instructions | synth on | off | ÷ -O2 on | off | clang -Os instructions | compile ms |"
        );
        let _ = writeln!(out, "|---|{}", "--:|".repeat(13));
        for (program, r) in measured(results, *target) {
            let cell = |m: &Option<Measurement>, f: fn(&Measurement) -> u64| {
                m.as_ref().map_or("-".to_string(), |m| f(m).to_string())
            };
            let rat = |m: &Option<Measurement>, f: fn(&Measurement) -> u64, base: u64| {
                m.as_ref()
                    .map_or("-".to_string(), |m| format!("{:.2}", ratio(f(m), base)))
            };
            let text = |m: &Measurement| m.text_bytes;
            let instr = |m: &Measurement| m.instructions;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                program.key(),
                program.wasm_bytes,
                r.native_os.text_bytes,
                cell(&r.checked_size, text),
                cell(&r.unchecked_size, text),
                rat(&r.checked_size, text, r.native_os.text_bytes),
                rat(&r.unchecked_size, text, r.native_os.text_bytes),
                r.native_o2.instructions,
                cell(&r.checked, instr),
                cell(&r.unchecked, instr),
                rat(&r.checked, instr, r.native_o2.instructions),
                rat(&r.unchecked, instr, r.native_o2.instructions),
                r.native_os.instructions,
                r.checked
                    .as_ref()
                    .map_or("-".into(), |m| ms(m.compile_time)),
            );
        }
        let _ = writeln!(out);
    }
    out
}

fn compile_speed(out: &mut String, results: &[ProgramResult], targets: &[Target]) {
    let _ = writeln!(out, "## Compile speed\n");
    let _ = writeln!(
        out,
        "synth's compile time of the modules that compiled (checks on), natively in this \
         process; throughput is wasm bytes per second over all of them, and for the five \
         largest modules.\n"
    );
    let _ = writeln!(
        out,
        "| target | modules | wasm bytes | compile time | throughput | five largest: bytes | time | throughput |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|");
    for target in targets {
        let mut compiled: Vec<(usize, Duration)> = measured(results, *target)
            .iter()
            .filter_map(|(p, r)| r.checked.as_ref().map(|m| (p.wasm_bytes, m.compile_time)))
            .collect();
        compiled.sort_by_key(|c| std::cmp::Reverse(c.0));
        let sum = |list: &[(usize, Duration)]| {
            let bytes: usize = list.iter().map(|x| x.0).sum();
            let time: Duration = list.iter().map(|x| x.1).sum();
            (bytes, time)
        };
        let (bytes, time) = sum(&compiled);
        let (big_bytes, big_time) = sum(&compiled[..compiled.len().min(5)]);
        let speed = |b: usize, t: Duration| {
            format!("{:.2} MB/s", b as f64 / t.as_secs_f64().max(1e-9) / 1e6)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {bytes} | {} ms | {} | {big_bytes} | {} ms | {} |",
            target.name(),
            compiled.len(),
            ms(time),
            speed(bytes, time),
            ms(big_time),
            speed(big_bytes, big_time)
        );
    }
    let _ = writeln!(out);
}

fn problems(out: &mut String, results: &[ProgramResult]) {
    let _ = writeln!(out, "## Programs not measured\n");
    let mut lines = Vec::new();
    for p in results {
        if let Some(error) = &p.error {
            lines.push(format!(
                "- **{}**: error of the benchmark: {error}",
                p.key()
            ));
        }
        for (target, r) in &p.targets {
            match r {
                Err(e) => lines.push(format!(
                    "- **{}** on {}: error of the benchmark: {e}",
                    p.key(),
                    target.name()
                )),
                Ok(r) => {
                    for problem in &r.problems {
                        let (kind, message) = match problem {
                            Problem::Unsupported(m) => ("synth lacks a feature", m),
                            Problem::RunFailure(m) => (
                                "**synth build failed at run time (suspected miscompile)**",
                                m,
                            ),
                            Problem::WrongResult(m) => {
                                ("**wrong result (suspected miscompile)**", m)
                            }
                        };
                        lines.push(format!(
                            "- **{}** on {}: {kind}: `{}`",
                            p.key(),
                            target.name(),
                            message.replace('\n', " ").replace('`', "'")
                        ));
                    }
                }
            }
        }
    }
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "None: every program builds, runs and verifies on every target.\n"
        );
    } else {
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);
    }
}

//! One module through every target and variant: compile, link, run each vector in the emulator,
//! compare with wasmtime, classify.
//!
//! Classification (`FindingKind`):
//! - `StackDepth`: synth trapped with "call stack exhausted" where wasmtime did not. The
//!   emulator gives the module 256 KiB of stack; the finding carries synth's frame sizes so the
//!   depth they allow can be checked against the recursion the module does.
//! - `WasmtimeStack`: wasmtime overflowed its stack where synth did not.
//! - `InstructionBudget`: the emulator's instruction limit ran out (wasmtime finished within its
//!   fuel); a vector wasmtime could not finish either is skipped, never compared.
//! - everything else is a `Bug`: a wrong result, trap, memory or global, a compile panic or
//!   internal error, a link or emulator fault, an ABI violation, a write outside the sandbox.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use synth_compiler::{ErrorKind, Options, Target};

use crate::compare::{
    Observation, describe_difference, observations_agree, observe_emulator, observe_oracle,
};
use crate::oracle::Oracle;
use crate::providers::{self, Provider};
use crate::vectors::Vector;
use crate::{ModuleInfo, Outcome, trap_code};

/// Register allocator and bounds checks of one compilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Variant {
    pub spill_realloc: bool,
    pub bounds_checks: bool,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant {
            spill_realloc: true,
            bounds_checks: true,
        },
        Variant {
            spill_realloc: true,
            bounds_checks: false,
        },
        Variant {
            spill_realloc: false,
            bounds_checks: true,
        },
        Variant {
            spill_realloc: false,
            bounds_checks: false,
        },
    ];
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, bounds checks {}",
            if self.spill_realloc {
                "spill-realloc"
            } else {
                "baseline allocator"
            },
            if self.bounds_checks { "on" } else { "off" }
        )
    }
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub targets: Vec<Target>,
    pub variants: Vec<Variant>,
    /// Edge-value combinations and random argument lists per exported function.
    pub edge_vectors: usize,
    pub random_vectors: usize,
    /// Emulated instructions per call before the vector counts as over budget.
    pub instruction_limit: u64,
    pub max_memory_pages: u32,
    /// Canary check of everything outside the sandbox, for vectors with bounds checks on.
    pub isolation: bool,
}

impl RunOptions {
    /// Every target family (and cortex-m3), both allocators, checks on and off, isolation on.
    pub fn full(shape: &super::Shape) -> RunOptions {
        RunOptions {
            targets: vec![
                Target::CortexM3,
                Target::CortexM4,
                Target::CortexM4F,
                Target::CortexM7DP,
                Target::Rv32imac,
                Target::Rv32imafc,
            ],
            variants: Variant::ALL.to_vec(),
            edge_vectors: 6,
            random_vectors: 4,
            instruction_limit: 20_000_000,
            max_memory_pages: shape.max_memory_pages,
            isolation: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// Resource limit: synth's stack ran out where wasmtime's did not.
    StackDepth,
    /// Resource limit: wasmtime's stack ran out where synth's did not.
    WasmtimeStack,
    /// Resource limit: the emulator's instruction budget ran out.
    InstructionBudget,
    /// Wrong code or a crash.
    Bug,
}

impl FindingKind {
    pub fn is_bug(self) -> bool {
        self == FindingKind::Bug
    }
}

/// One difference, with where it happened.
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: FindingKind,
    /// Short class: `wrong result`, `isolation`, `compile panic`, ... (bugs), or the limit.
    pub class: String,
    pub target: Target,
    pub variant: Variant,
    pub vector: Option<Vector>,
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} ({})",
            self.class,
            self.target.name(),
            self.variant
        )?;
        if let Some(vector) = &self.vector {
            let args: Vec<String> = vector.args.iter().map(|v| v.to_string()).collect();
            let module = vector
                .module
                .as_ref()
                .map_or(String::new(), |m| format!("{m}::"));
            write!(f, ": {module}{}({})", vector.function, args.join(", "))?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What one module did.
#[derive(Clone, Debug, Default)]
pub struct ModuleOutcome {
    /// Why synth (or the harness) declined the module, if it ran nowhere; the reason is the
    /// error message with numbers replaced by `N`, so equal reasons group.
    pub rejected: Option<String>,
    /// Reasons some (target, variant) declined while others compiled.
    pub partial_rejections: Vec<String>,
    /// Vectors compared, per target name.
    pub vectors: BTreeMap<&'static str, usize>,
    /// Of them, those that call a provider's export directly (all targets).
    pub provider_calls: usize,
    /// Vectors not compared, by reason (wasmtime out of fuel, out of bounds with checks off).
    pub skipped: BTreeMap<String, usize>,
    pub findings: Vec<Finding>,
    /// Largest frame (bytes) per target, from synth's report.
    pub max_frame: BTreeMap<&'static str, u32>,
}

impl ModuleOutcome {
    pub fn bugs(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.kind.is_bug())
    }
}

/// `message` with digit runs replaced by `N`: equal reasons group in the summary.
pub fn normalize_reason(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_string())
}

/// Frame sizes of a compiled module, largest first, as `name: N B`.
fn frame_summary(report: &synth_compiler::report::Report) -> (u32, String) {
    let mut frames: Vec<(u32, &str)> = report
        .functions
        .iter()
        .map(|f| (f.frame_size, f.name.as_str()))
        .collect();
    frames.sort_by(|a, b| b.cmp(a));
    let max = frames.first().map_or(0, |f| f.0);
    let shown: Vec<String> = frames
        .iter()
        .take(4)
        .map(|(size, name)| format!("{name} {size} B"))
        .collect();
    (max, shown.join(", "))
}

/// Bytes of stack the emulator gives a call (its stack minus the limit's headroom).
pub const EMULATOR_STACK: u32 = crate::emu::link::STACK_SIZE - 512;

/// Run `wasm`, linked with `providers` (the modules it imports from, none for most modules),
/// everywhere `options` says, with the vectors `module_vectors` draws for `seed`.
pub fn run_module(
    wasm: &[u8],
    providers: &[Provider],
    seed: u64,
    options: &RunOptions,
) -> ModuleOutcome {
    let mut outcome = ModuleOutcome::default();
    let info = match providers::importer_info(wasm, providers) {
        Ok(info) => info,
        Err(e) => {
            outcome.rejected = Some(format!("harness: {}", normalize_reason(&e.message)));
            return outcome;
        }
    };
    let provider_infos = match providers::provider_infos(providers) {
        Ok(infos) => infos,
        Err(e) => {
            outcome.rejected = Some(format!("harness: {}", normalize_reason(&e.message)));
            return outcome;
        }
    };
    if info.exports.is_empty() && provider_infos.iter().all(|(_, p)| p.exports.is_empty()) {
        outcome.rejected = Some("no exported function".to_string());
        return outcome;
    }
    let vectors = super::module_vectors(
        &info,
        &provider_infos,
        seed,
        options.edge_vectors,
        options.random_vectors,
    );
    run_vectors(wasm, providers, &info, &vectors, options, &mut outcome);
    outcome
}

/// Run given vectors (e.g. a fixture's) everywhere `options` says.
pub fn run_vectors(
    wasm: &[u8],
    providers: &[Provider],
    info: &ModuleInfo,
    vectors: &[Vector],
    options: &RunOptions,
    outcome: &mut ModuleOutcome,
) {
    let oracle = match Oracle::linked(wasm, Some(options.max_memory_pages), providers) {
        Ok(oracle) => oracle,
        Err(e) => {
            outcome.rejected = Some(format!("wasmtime: {}", normalize_reason(&e.message)));
            return;
        }
    };
    // wasmtime's observations; `None` for a vector it could not finish (not compared).
    let expected: Vec<Option<Observation>> = vectors
        .iter()
        .map(|v| match observe_oracle(&oracle, v) {
            Ok((observation, _)) => Some(observation),
            Err(e) => {
                let reason = if e.message.contains("fuel") {
                    "wasmtime out of fuel".to_string()
                } else {
                    format!("wasmtime: {}", normalize_reason(&e.message))
                };
                *outcome.skipped.entry(reason).or_default() += 1;
                None
            }
        })
        .collect();

    let mut compiled_anywhere = false;
    let mut rejections = Vec::new();
    for &target in &options.targets {
        for &variant in &options.variants {
            let mut compile_options = Options::new(target);
            compile_options.spill_realloc = variant.spill_realloc;
            compile_options.bounds_checks = variant.bounds_checks;
            compile_options.max_memory_pages = Some(options.max_memory_pages);
            let bug = |class: &str, detail: String| Finding {
                kind: FindingKind::Bug,
                class: class.to_string(),
                target,
                variant,
                vector: None,
                detail,
            };
            // The module, then its providers under their module names.
            let compiled = catch_unwind(AssertUnwindSafe(|| {
                synth_compiler::compile(wasm, &compile_options).and_then(|output| {
                    providers::compile(providers, &compile_options)
                        .map(|objects| (output, objects))
                        .map_err(|(name, mut e)| {
                            e.message = format!("provider `{name}`: {}", e.message);
                            e
                        })
                })
            }));
            let output = match compiled {
                Err(payload) => {
                    outcome
                        .findings
                        .push(bug("compile panic", panic_message(payload.as_ref())));
                    continue;
                }
                Ok(Err(e)) if matches!(e.kind, ErrorKind::Unsupported | ErrorKind::Limit) => {
                    rejections.push(format!(
                        "{}: {}",
                        e.kind.as_str(),
                        normalize_reason(&e.message)
                    ));
                    continue;
                }
                Ok(Err(e)) => {
                    let class = format!("compile error ({})", e.kind.as_str());
                    outcome.findings.push(bug(&class, e.to_string()));
                    continue;
                }
                Ok(Ok(compiled)) => compiled,
            };
            let (output, provider_objects) = output;
            compiled_anywhere = true;
            let (max_frame, frames) = frame_summary(&output.report);
            let slot = outcome.max_frame.entry(target.name()).or_default();
            *slot = (*slot).max(max_frame);
            let linked =
                providers::link(target, &output.object, info, providers, &provider_objects);
            let mut instance = match linked {
                Ok(instance) => instance,
                Err(e) => {
                    outcome.findings.push(bug("link or load error", e.message));
                    continue;
                }
            };
            instance.machine.instruction_limit = options.instruction_limit;
            let isolation = options.isolation && variant.bounds_checks;
            if isolation && let Err(e) = instance.enable_isolation_check() {
                outcome.findings.push(bug("harness error", e.message));
                continue;
            }
            for (vector, expected) in vectors.iter().zip(&expected) {
                let Some(expected) = expected else { continue };
                if !variant.bounds_checks && traps_out_of_bounds(expected) {
                    *outcome
                        .skipped
                        .entry("out of bounds with checks off".to_string())
                        .or_default() += 1;
                    continue;
                }
                let observed = observe_emulator(&mut instance, vector);
                *outcome.vectors.entry(target.name()).or_default() += 1;
                outcome.provider_calls += usize::from(vector.module.is_some());
                let mut found = classify(expected, observed, vector, &oracle, &frames);
                if found.is_none()
                    && isolation
                    && let Some(problem) = instance
                        .check_isolation()
                        .unwrap_or_else(|e| Some(format!("cannot check isolation: {}", e.message)))
                {
                    found = Some((FindingKind::Bug, "isolation".to_string(), problem));
                }
                if let Some((kind, class, detail)) = found {
                    outcome.findings.push(Finding {
                        kind,
                        class,
                        target,
                        variant,
                        vector: Some(vector.clone()),
                        detail,
                    });
                }
            }
        }
    }
    rejections.sort();
    rejections.dedup();
    if !compiled_anywhere && outcome.findings.is_empty() {
        outcome.rejected = Some(
            rejections
                .first()
                .cloned()
                .unwrap_or_else(|| "no target".to_string()),
        );
    } else {
        outcome.partial_rejections = rejections;
    }
}

/// Out of bounds in the call, the start function or a data segment: with bounds checks off such
/// a vector is outside the contract and not run.
fn traps_out_of_bounds(expected: &Observation) -> bool {
    matches!(
        expected.init_trap,
        Some(trap_code::DATA_SEGMENT_DOES_NOT_FIT | trap_code::MEMORY_OUT_OF_BOUNDS)
    ) || expected.outcome == Some(Outcome::Trapped(trap_code::MEMORY_OUT_OF_BOUNDS))
}

fn stack_trap(observation: &Observation) -> bool {
    observation.init_trap == Some(trap_code::STACK_EXHAUSTED)
        || observation.outcome == Some(Outcome::Trapped(trap_code::STACK_EXHAUSTED))
}

type Classified = Option<(FindingKind, String, String)>;

fn classify(
    expected: &Observation,
    observed: Result<(Observation, Vec<u8>, u64), crate::HarnessError>,
    vector: &Vector,
    oracle: &Oracle,
    frames: &str,
) -> Classified {
    let (actual, synth_memory) = match observed {
        Ok((actual, memory, _)) => (actual, memory),
        Err(e) if e.message.contains("exceeded the limit of") => {
            return Some((
                FindingKind::InstructionBudget,
                "instruction budget".to_string(),
                e.message,
            ));
        }
        Err(e) => {
            let class = if e.message.contains("did not preserve")
                || e.message.contains("returned with sp")
            {
                "ABI violation"
            } else if e.message.contains("faulted") {
                "emulator fault"
            } else {
                "harness error"
            };
            return Some((FindingKind::Bug, class.to_string(), e.message));
        }
    };
    if observations_agree(expected, &actual, &vector.args) {
        return None;
    }
    let wasmtime_memory = observe_oracle(oracle, vector)
        .map(|(_, m)| m)
        .unwrap_or_default();
    let difference = describe_difference(
        expected,
        &actual,
        (&wasmtime_memory, &synth_memory),
        &vector.args,
    );
    if stack_trap(&actual) && !stack_trap(expected) {
        return Some((
            FindingKind::StackDepth,
            "synth stack exhausted".to_string(),
            format!("{difference}; {EMULATOR_STACK} B of stack, largest frames: {frames}"),
        ));
    }
    if stack_trap(expected) && !stack_trap(&actual) {
        return Some((
            FindingKind::WasmtimeStack,
            "wasmtime stack exhausted".to_string(),
            format!("{difference}; largest frames: {frames}"),
        ));
    }
    let class = if !crate::compare::init_traps_agree(expected.init_trap, actual.init_trap) {
        "wrong instantiation"
    } else if !match (&expected.outcome, &actual.outcome) {
        (Some(e), Some(a)) => crate::compare::outcome_agrees(e, a, &vector.args),
        (e, a) => e == a,
    } {
        "wrong result or trap"
    } else if expected.memory_len != actual.memory_len
        || expected.memory_digest != actual.memory_digest
    {
        "wrong memory"
    } else {
        "wrong globals"
    };
    Some((FindingKind::Bug, class.to_string(), difference))
}

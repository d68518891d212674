//! Compiler options: an explicit value, never a hidden global.

use crate::error::{CompileError, ErrorKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    CortexM3,
    CortexM4,
    CortexM4F,
    CortexM7,
    CortexM7DP,
    Rv32imac,
    Rv32imafc,
}

/// The instruction-set family a target belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Arm,
    Rv32,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::CortexM3,
        Target::CortexM4,
        Target::CortexM4F,
        Target::CortexM7,
        Target::CortexM7DP,
        Target::Rv32imac,
        Target::Rv32imafc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::CortexM3 => "cortex-m3",
            Target::CortexM4 => "cortex-m4",
            Target::CortexM4F => "cortex-m4f",
            Target::CortexM7 => "cortex-m7",
            Target::CortexM7DP => "cortex-m7dp",
            Target::Rv32imac => "rv32imac",
            Target::Rv32imafc => "rv32imafc",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Target::CortexM3 => "ARMv7-M Thumb-2, no FPU",
            Target::CortexM4 => "ARMv7E-M Thumb-2 + DSP, no FPU",
            Target::CortexM4F => {
                "ARMv7E-M Thumb-2 + DSP, single-precision FPv4-SP (hard-float ABI)"
            }
            Target::CortexM7 => "ARMv7E-M Thumb-2 + DSP, no FPU",
            Target::CortexM7DP => {
                "ARMv7E-M Thumb-2 + DSP, double-precision FPv5-D16 (hard-float ABI)"
            }
            Target::Rv32imac => "RV32IMAC, ILP32 soft-float ABI, compressed encodings",
            Target::Rv32imafc => {
                "RV32IMAFC, single-precision F in hardware (ILP32F ABI), compressed encodings"
            }
        }
    }

    pub fn parse(name: &str) -> Result<Target, CompileError> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                CompileError::new(
                    ErrorKind::Options,
                    format!(
                        "unknown target `{name}`; known targets: {}",
                        names.join(", ")
                    ),
                )
            })
    }

    pub fn isa(self) -> Isa {
        match self {
            Target::Rv32imac | Target::Rv32imafc => Isa::Rv32,
            _ => Isa::Arm,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub target: Target,
    /// Software bounds checks on every linear-memory access (off for MPU-protected systems).
    pub bounds_checks: bool,
    /// Compare the stack pointer with `__synth_stack_limit` in every prologue that grows the stack.
    pub stack_check: bool,
    /// Linear memory in 64 KiB pages that the object reserves (`.bss`), see
    /// `memory_max_pages`. `None`: what the module declares, its maximum (capped at
    /// `DEFAULT_MAX_MEMORY_PAGES`) or, without one, its initial size, so it cannot grow.
    /// `Some(n)`: a memory without a declared maximum may grow to `n` pages, a declared
    /// maximum is capped at `n`.
    pub max_memory_pages: Option<u32>,
    /// Run the machine-independent optimizations (fold, copy propagation, DCE).
    pub optimize: bool,
    /// With `optimize`: prefer less flash over fewer executed instructions, as `-Os` does for
    /// C compilers: loops are neither unrolled (`opt::unroll`) nor versioned for their bounds
    /// checks (`legalize::versioning`), both of which copy loop bodies.
    pub optimize_for_size: bool,
    /// Register allocation with CFG-wide Belady spilling, stack slots shared by liveness and
    /// slot-value forwarding (`regalloc::Policy::SpillRealloc`). Off selects the simple
    /// baseline allocator (`regalloc::Policy::Baseline`), kept for comparison and as an escape
    /// hatch.
    pub spill_realloc: bool,
    /// The module's namespace: prefix of every global symbol the object defines (`NAME_init`,
    /// `NAME_memory`, exports as `NAME_EXPORT`), of the header guard and the header's types.
    /// Must be a C identifier. `None` keeps the unprefixed legacy naming (`synth_init`, exports
    /// by their own name), for one module per program. See docs/ABI.md.
    pub module_name: Option<String>,
    /// Give every function's report an account of its register allocation (the live values
    /// and where each is at every instruction, the stack-slot map, and the value and reason of
    /// every spill, reload, rematerialization and move; `report::AllocationReport`). Costs
    /// compile time, so off by default; the generated code is the same either way.
    pub explain_allocation: bool,
}

impl Options {
    /// The cap on a declared maximum when `max_memory_pages` is `None` (1 MiB).
    pub const DEFAULT_MAX_MEMORY_PAGES: u32 = 16;

    /// The effective maximum of a memory of `initial` pages that declares `declared` as its
    /// maximum: what the object reserves and how far `memory.grow` succeeds.
    pub fn memory_max_pages(&self, initial: u64, declared: Option<u64>) -> u64 {
        let max = match (self.max_memory_pages, declared) {
            (Some(cap), declared) => declared.unwrap_or(u64::MAX).min(u64::from(cap)),
            (None, Some(declared)) => declared.min(u64::from(Self::DEFAULT_MAX_MEMORY_PAGES)),
            (None, None) => initial,
        };
        max.max(initial)
    }

    pub fn new(target: Target) -> Self {
        Options {
            target,
            bounds_checks: true,
            stack_check: true,
            max_memory_pages: None,
            optimize: true,
            optimize_for_size: false,
            spill_realloc: true,
            module_name: None,
            explain_allocation: false,
        }
    }

    /// Reject a module name that is not a C identifier (letters, digits, `_`, no leading digit).
    pub fn check_module_name(&self) -> Result<(), CompileError> {
        let Some(name) = &self.module_name else {
            return Ok(());
        };
        let valid = !name.is_empty()
            && !name.as_bytes()[0].is_ascii_digit()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            Ok(())
        } else {
            Err(CompileError::new(
                ErrorKind::Options,
                format!(
                    "module name `{name}` is not a C identifier (letters, digits and `_`, not \
                     starting with a digit)"
                ),
            ))
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new(Target::CortexM4F)
    }
}

//! ARM Thumb-2 back end (Cortex-M3/M4/M7): lower, allocate, emit.

pub mod abi;
pub mod asm;
pub mod attributes;
pub mod emit;
pub mod encode;
pub mod inst;
pub mod layout;
pub mod libcalls;
pub mod lower;
pub mod regs;

use crate::error::{CompileError, Result};
use crate::ir;
use crate::isa::{Caps, CompiledFunction, ElfInfo};
use crate::options::{Options, Target};
use crate::regalloc;
use crate::report;

pub fn caps(target: Target) -> Caps {
    // CLZ everywhere; ctz = rbit + clz; rotates via ror. No popcount instruction.
    let vfp = regs::VfpFile::of(target);
    // The core registers every function may allocate (frames of any size).
    let core = regs::reg_env_large_frame(regs::VfpFile::None);
    Caps {
        has_clz: true,
        has_ctz: true,
        has_popcnt: false,
        has_rotate: true,
        hard_f32: vfp != regs::VfpFile::None,
        hard_f64: vfp == regs::VfpFile::Double,
        hard_rounding: vfp == regs::VfpFile::Double,
        soft_float: libcalls::soft_float,
        float_helpers_take_hard_f32: false,
        // ldr/str (not ldm/ldrd) take any address on ARMv7-M (CCR.UNALIGN_TRP clear).
        unaligned_words: true,
        indexed_access: true,
        branch_compares: false,
        allocatable_core: core.allocatable.len(),
        callee_saved_core: core.callee_saved_allocatable(),
        unroll_insts: 64,
    }
}

const EM_ARM: u16 = 40;
const EF_ARM_EABI_VER5: u32 = 0x0500_0000;
const EF_ARM_ABI_FLOAT_SOFT: u32 = 0x200;
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;
const SHT_ARM_ATTRIBUTES: u32 = 0x7000_0003;

pub fn elf_info(target: Target) -> ElfInfo {
    let float = if attributes::hard_float(target) {
        EF_ARM_ABI_FLOAT_HARD
    } else {
        EF_ARM_ABI_FLOAT_SOFT
    };
    ElfInfo {
        machine: EM_ARM,
        flags: EF_ARM_EABI_VER5 | float,
        attributes: (
            ".ARM.attributes",
            SHT_ARM_ATTRIBUTES,
            attributes::build(target),
        ),
        thumb: true,
    }
}

pub fn compile_function(
    module: &ir::Module,
    body: usize,
    options: &Options,
) -> Result<CompiledFunction> {
    let func = module
        .bodies
        .get(body)
        .ok_or_else(|| CompileError::internal(format!("no function body {body}")))?;
    let vfp = regs::VfpFile::of(options.target);
    let lowered = lower::lower(module, func, vfp)?;
    let policy = regalloc::Policy::of(options);
    let env = regs::reg_env(vfp);
    let alloc = regalloc::allocate_with(&lowered.code, &env, policy)?;
    let (env, alloc, spare) = if emit::needs_spare_scratch(&lowered, &alloc, vfp) {
        // A stack-to-stack move reaches a slot beyond imm12: allocate again without the spare
        // scratch register so it can hold that slot's address.
        let env = regs::reg_env_large_frame(vfp);
        let alloc = regalloc::allocate_with(&lowered.code, &env, policy)?;
        (env, alloc, Some(regs::SPARE_SCRATCH))
    } else {
        (env, alloc, None)
    };
    let mut compiled = emit::emit(module, func, &lowered, &alloc, options, spare)?;
    if options.explain_allocation {
        let spelling = Spelling {
            slot_offsets: emit::slot_offsets(&lowered, &alloc, spare, vfp)?,
        };
        let explanation = regalloc::explain::explain(&lowered.code, &env, &alloc)?;
        compiled.allocation = Some(report::allocation::build(
            &explanation,
            &env,
            &compiled.listing,
            &spelling,
        ));
    }
    Ok(compiled)
}

/// Registers and stack slots as the listing spells them.
struct Spelling {
    slot_offsets: Vec<u32>,
}

impl report::allocation::Spelling for Spelling {
    fn register(&self, r: regalloc::PReg) -> String {
        regs::name(r).into_owned()
    }
    fn slot(&self, n: u32) -> String {
        let offset = self.slot_offsets.get(n as usize).copied().unwrap_or(0);
        format!("[sp, #{offset}]")
    }
}

#[cfg(test)]
mod tests;

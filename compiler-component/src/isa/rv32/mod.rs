//! RISC-V RV32 back end: RV32IMAC (ILP32, floats in software) and RV32IMAFC (ILP32F, f32 in
//! the F extension, f64 in software), compressed encodings.
//!
//! `lower` turns legalized IR into machine instructions over virtual registers, the shared
//! allocator assigns registers, and `emit` lays out the frame, expands pseudo-instructions,
//! relaxes branches and encodes (`encode`).

pub mod abi;
pub mod emit;
pub mod encode;
pub mod inst;
pub mod libcalls;
pub mod lower;
pub mod regs;

use crate::error::Result;
use crate::ir;
use crate::isa::{Caps, CompiledFunction, ElfInfo};
use crate::options::{Options, Target};
use crate::regalloc;
use crate::report;

/// RV32IMAC has no Zbb: legalize expands clz/ctz/popcnt and rotates. rv32imafc computes f32
/// with F (no rounding to integral there: ceil/floor/trunc/nearest stay in software) and f64
/// in software; its ILP32F libgcc passes f32 in F registers.
pub fn caps(target: Target) -> Caps {
    let f = has_f(target);
    // The core registers every function may allocate (frames of any size).
    let core = regs::reg_env_large_frame(Target::Rv32imac);
    Caps {
        has_clz: false,
        has_ctz: false,
        has_popcnt: false,
        has_rotate: false,
        hard_f32: f,
        hard_f64: false,
        hard_rounding: false,
        soft_float: libcalls::soft_float,
        float_helpers_take_hard_f32: f,
        // Misaligned accesses may trap into a slow emulation (or not work at all).
        unaligned_words: false,
        indexed_access: false,
        branch_compares: true,
        allocatable_core: core.allocatable.len(),
        callee_saved_core: core.callee_saved_allocatable(),
        unroll_insts: 64,
    }
}

/// Does the target have the F extension (and so the ILP32F ABI)?
pub fn has_f(target: Target) -> bool {
    target == Target::Rv32imafc
}

const EM_RISCV: u16 = 243;
const EF_RISCV_RVC: u32 = 0x1;
const EF_RISCV_FLOAT_ABI_SOFT: u32 = 0x0;
const EF_RISCV_FLOAT_ABI_SINGLE: u32 = 0x2;
const SHT_RISCV_ATTRIBUTES: u32 = 0x7000_0003;
const TAG_FILE: u8 = 1;
const TAG_RISCV_STACK_ALIGN: u8 = 4;
const TAG_RISCV_ARCH: u8 = 5;
const ARCH_IMAC: &str = "rv32i2p0_m2p0_a2p0_c2p0";
/// What clang 14 writes for `-march=rv32imafc`: no separate zicsr, as the I 2.0 it declares
/// still includes the CSR instructions later specifications split out as Zicsr.
const ARCH_IMAFC: &str = "rv32i2p0_m2p0_a2p0_f2p0_c2p0";

/// Append `value` as unsigned LEB128.
fn uleb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The `.riscv.attributes` contents clang 14 writes for `-march=rv32imac -mabi=ilp32` (and
/// `-march=rv32imafc -mabi=ilp32f`): format 'A', one "riscv" subsection with a file-scope
/// stack_align and arch tag.
fn attributes(arch: &str) -> Vec<u8> {
    let mut tags = Vec::new();
    tags.push(TAG_RISCV_STACK_ALIGN);
    uleb(&mut tags, abi::STACK_ALIGN);
    tags.push(TAG_RISCV_ARCH);
    tags.extend_from_slice(arch.as_bytes());
    tags.push(0);
    // File subsubsection: tag, 4-byte length (including tag and length), tags.
    let mut file = vec![TAG_FILE];
    file.extend_from_slice(&(tags.len() as u32 + 5).to_le_bytes());
    file.extend_from_slice(&tags);
    // Vendor subsection: 4-byte length (including itself), "riscv\0", file subsubsection.
    let vendor = b"riscv\0";
    let mut out = vec![b'A'];
    out.extend_from_slice(&((4 + vendor.len() + file.len()) as u32).to_le_bytes());
    out.extend_from_slice(vendor);
    out.extend_from_slice(&file);
    out
}

/// rv32imac: ILP32 (soft-float). rv32imafc: ILP32F, so linkers refuse to mix its objects with
/// ILP32 ones (and accept ILP32F C).
pub fn elf_info(target: Target) -> ElfInfo {
    let (float_abi, arch) = match target {
        Target::Rv32imafc => (EF_RISCV_FLOAT_ABI_SINGLE, ARCH_IMAFC),
        _ => (EF_RISCV_FLOAT_ABI_SOFT, ARCH_IMAC),
    };
    ElfInfo {
        machine: EM_RISCV,
        flags: EF_RISCV_RVC | float_abi,
        attributes: (".riscv.attributes", SHT_RISCV_ATTRIBUTES, attributes(arch)),
        thumb: false,
    }
}

pub fn compile_function(
    module: &ir::Module,
    body: usize,
    options: &Options,
) -> Result<CompiledFunction> {
    compile_with_labels(module, body, options).map(|(compiled, _)| compiled)
}

/// `compile_function`, also returning label positions (for tests that reassemble listings).
pub(crate) fn compile_with_labels(
    module: &ir::Module,
    body: usize,
    options: &Options,
) -> Result<(CompiledFunction, Vec<(String, u32)>)> {
    let target = options.target;
    let lowered = lower::lower(module, body, has_f(target))?;
    let policy = regalloc::Policy::of(options);
    let env = regs::reg_env(target);
    let allocation = regalloc::allocate_with(&lowered.code, &env, policy)?;
    let (env, allocation, spare) = if emit::needs_spare_scratch(&lowered, &allocation) {
        // Large frame: allocate again without t5 so it can address far stack slots.
        let env = regs::reg_env_large_frame(target);
        let allocation = regalloc::allocate_with(&lowered.code, &env, policy)?;
        (env, allocation, Some(regs::SPARE_SCRATCH))
    } else {
        (env, allocation, None)
    };
    let (mut compiled, labels) = emit::emit_with_labels(
        module,
        module.bodies.get(body).ok_or_else(|| {
            crate::error::CompileError::internal(format!("no function body {body}"))
        })?,
        &lowered,
        &allocation,
        options,
        spare,
    )?;
    if options.explain_allocation {
        let spelling = Spelling {
            slot_offsets: emit::slot_offsets(&lowered, &allocation),
        };
        let explanation = regalloc::explain::explain(&lowered.code, &env, &allocation)?;
        compiled.allocation = Some(report::allocation::build(
            &explanation,
            &env,
            &compiled.listing,
            &spelling,
        ));
    }
    Ok((compiled, labels))
}

/// Registers and stack slots as the listing spells them.
struct Spelling {
    slot_offsets: Vec<u32>,
}

impl report::allocation::Spelling for Spelling {
    fn register(&self, r: regalloc::PReg) -> String {
        regs::name(r).to_string()
    }
    fn slot(&self, n: u32) -> String {
        let offset = self.slot_offsets.get(n as usize).copied().unwrap_or(0);
        format!("{offset}(sp)")
    }
}

#[cfg(test)]
mod tests;

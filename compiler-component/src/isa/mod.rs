//! Per-ISA back ends behind one narrow entry point.
//!
//! Each ISA folder has the same files with the same roles:
//! `regs.rs` (register file, `RegEnv`), `abi.rs` (argument/result locations, frame layout),
//! `inst.rs` (machine instructions, operands for the allocator, printer), `lower.rs`
//! (legalized IR -> machine instructions over vregs), `emit.rs` (encoding, prologue/epilogue,
//! branch relaxation, relocations), `mod.rs` (`compile_function`, `caps`, `elf_info`).
//! `vcode.rs` holds what lowering produces for either ISA and the allocator reads.

pub mod arm;
pub mod rv32;
pub mod vcode;

use crate::error::Result;
use crate::ir;
use crate::options::{Isa, Options, Target};
use crate::regalloc::EditKind;

/// What a target can do natively; `legalize` expands everything else into plain i32 IR.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    pub has_clz: bool,
    pub has_ctz: bool,
    pub has_popcnt: bool,
    pub has_rotate: bool,
    /// f32 / f64 arithmetic in hardware; a float type without it is computed in software.
    pub hard_f32: bool,
    pub hard_f64: bool,
    /// ceil/floor/trunc/nearest of the hardware float types are instructions (FPv5 `vrint*`);
    /// without them those four are computed in software even where the type is in hardware.
    pub hard_rounding: bool,
    /// The runtime-library helper for a soft-float operation (names differ per ISA).
    pub soft_float: fn(ir::SoftOp) -> ir::LibCall,
    /// The runtime library's float helpers take and return a hardware f32 as a float value
    /// (in FPU registers), as an ILP32F libgcc does (`__fixsfdi`, `__floatdisf`,
    /// `__extendsfdf2`, `__truncdfsf2`, ...); otherwise every float crosses as the integer of
    /// its bits (the base convention, which ARM's RTABI helpers use even under hard float).
    pub float_helpers_take_hard_f32: bool,
    /// A word load or store at any byte address is one instruction that works (the bulk
    /// memory helpers then copy between mutually misaligned buffers word by word); without it
    /// they only access aligned words and merge misaligned source words with shifts.
    pub unaligned_words: bool,
    /// A load or store adds a base and an index register itself (Thumb-2 `ldr rd, [rn, rm]`);
    /// without it (or with a constant offset as well) the sum is an instruction of its own, so
    /// legalize makes it a value that accesses to the same address share.
    pub indexed_access: bool,
    /// A conditional branch compares two registers itself (RV32 `bltu`): a bounds check is
    /// one instruction, where Thumb-2 needs a compare and a branch.
    pub branch_compares: bool,
    /// Core registers the allocator assigns, and how many of them are callee-saved (what a
    /// value live across a call can stay in).
    pub allocatable_core: usize,
    pub callee_saved_core: usize,
    /// The most IR instructions the copies of one unrolled loop may hold together
    /// (`opt::unroll`); 0 leaves loops rolled.
    pub unroll_insts: usize,
}

pub fn caps(target: Target) -> Caps {
    match target.isa() {
        Isa::Arm => arm::caps(target),
        Isa::Rv32 => rv32::caps(target),
    }
}

/// A relocation in a function's code, in ELF terms (the ISA knows its relocation numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Byte offset in the function's code.
    pub offset: u32,
    /// ELF relocation type (R_ARM_* / R_RISCV_*).
    pub r_type: u32,
    pub symbol: ir::Symbol,
    /// Explicit addend (RISC-V RELA). ARM uses REL: the emitter has already encoded the addend
    /// in the instruction and this is 0.
    pub addend: i64,
}

/// What a listing line is, so the report can count and the playground can colour it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// Code for an IR instruction (or prologue/epilogue/trap stub).
    Code,
    /// Inserted by the register allocator.
    Edit(EditKind),
    /// Bytes that are not instructions (literal pool, jump table, padding between them): the
    /// object writer brackets them with the ARM mapping symbols `$d` and `$t`.
    Data,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingLine {
    /// Byte offset in the function's code.
    pub offset: u32,
    /// The encoded bytes of this instruction (little-endian, as in memory).
    pub bytes: Vec<u8>,
    /// Assembly text in LLVM syntax, e.g. `adds r0, r1, r2` (labels as `.Lb3`, symbols by name).
    pub text: String,
    /// Wasm offset of the operator it came from (None for prologue/epilogue, pools and
    /// allocator edits, which serve a value rather than an operator).
    pub wasm_offset: Option<u32>,
    pub kind: LineKind,
    /// The allocation step it belongs to (`regalloc::explain`: an instruction or an edit, in
    /// layout order); None for the prologue and trap stubs.
    pub step: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionStats {
    pub spills: u32,
    pub reloads: u32,
    pub moves: u32,
    pub remats: u32,
    pub max_pressure: u32,
    /// Bytes of stack frame below the saved registers (slots + outgoing arguments).
    pub frame_size: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledFunction {
    pub code: Vec<u8>,
    pub relocs: Vec<Reloc>,
    pub listing: Vec<ListingLine>,
    pub stats: FunctionStats,
    /// The account of the register allocation (`Options::explain_allocation`).
    pub allocation: Option<crate::report::allocation::AllocationReport>,
}

/// ELF identification for a target: machine, flags, and the attributes section.
#[derive(Clone, Debug)]
pub struct ElfInfo {
    pub machine: u16,
    pub flags: u32,
    /// Name (`.ARM.attributes` / `.riscv.attributes`), section type and contents.
    pub attributes: (&'static str, u32, Vec<u8>),
    /// Function symbols get bit 0 set (Thumb).
    pub thumb: bool,
}

/// ELF identification for an object for `target`.
pub fn elf_info(target: Target) -> ElfInfo {
    match target.isa() {
        Isa::Arm => arm::elf_info(target),
        Isa::Rv32 => rv32::elf_info(target),
    }
}

/// Bytes every checked prologue keeps free below its own frame for the leaf functions it may
/// call (docs/ABI.md, "Stack limit"): a leaf that only synth code can call, whose frame fits in
/// them, needs no check of its own.
pub const STACK_GUARD: u32 = 256;

/// The bytes a prologue must find between the new stack pointer and `__synth_stack_limit`
/// (its frame plus `STACK_GUARD`), or `None` when it checks nothing: stack checks off, an
/// empty frame, or a leaf whose frame fits in the guard that its callers, all synth code (it
/// is not exported and its address is never taken), left for it.
pub fn stack_check_bytes(
    module: &ir::Module,
    func: &ir::Function,
    options: &Options,
    has_calls: bool,
    frame_bytes: u32,
) -> Option<u32> {
    if !options.stack_check || frame_bytes == 0 {
        return None;
    }
    let internal = module
        .functions
        .get(func.index as usize)
        .is_some_and(|decl| decl.exports.is_empty())
        && !module.tables.funcrefs.contains_key(&func.index);
    if !has_calls && internal && frame_bytes <= STACK_GUARD {
        return None;
    }
    Some(frame_bytes.saturating_add(STACK_GUARD))
}

/// A module with a leaf that keeps sixteen loads live (so it saves registers: a frame) under
/// two names: `leaf`, which only `f` calls, and the export `g`.
#[cfg(test)]
pub(crate) fn leaf_module() -> String {
    let mut body = String::from("(param $p i32) (result i32)");
    body += &format!(" (local {})", vec!["i32"; 16].join(" "));
    for k in 0..16 {
        body += &format!(
            " (local.set {} (i32.load offset={} (local.get $p)))",
            k + 1,
            4 * k
        );
    }
    body += " (local.get 1)";
    for k in 1..16 {
        body += &format!(" (i32.mul (i32.const 31)) (local.get {}) (i32.xor)", k + 1);
    }
    format!(
        "(module (memory 1) (func $leaf {body}) (func (export \"g\") {body}) \
         (func (export \"f\") (param i32) (result i32) (call $leaf (local.get 0))))"
    )
}

/// Compile one legalized function body (`module.bodies[body]`).
pub fn compile_function(
    module: &ir::Module,
    body: usize,
    options: &Options,
) -> Result<CompiledFunction> {
    match options.target.isa() {
        Isa::Arm => arm::compile_function(module, body, options),
        Isa::Rv32 => rv32::compile_function(module, body, options),
    }
}

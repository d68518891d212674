//! ARM Thumb-2 back end (Cortex-M3/M4/M7).

pub mod abi;
pub mod asm;
pub mod encode;
pub mod regs;

use crate::error::{CompileError, Result};
use crate::ir;
use crate::isa::{Caps, CompiledFunction, ElfInfo};
use crate::options::{Options, Target};

pub fn caps(_target: Target) -> Caps {
    Caps {
        has_clz: false,
        has_ctz: false,
        has_popcnt: false,
        has_rotate: false,
    }
}

pub fn elf_info(_target: Target) -> ElfInfo {
    ElfInfo {
        machine: 0,
        flags: 0,
        attributes: (".attributes", 0, Vec::new()),
        thumb: false,
    }
}

pub fn compile_function(
    _module: &ir::Module,
    _body: usize,
    _options: &Options,
) -> Result<CompiledFunction> {
    Err(CompileError::internal("back end not written yet"))
}

//! ELF relocatable object writer and C header.

pub mod header;

use crate::error::{CompileError, Result};
use crate::ir::Module;
use crate::isa::CompiledFunction;
use crate::options::Options;

pub fn write_elf(
    _module: &Module,
    _functions: &[CompiledFunction],
    _options: &Options,
) -> Result<Vec<u8>> {
    Err(CompileError::internal("object writer not written yet"))
}

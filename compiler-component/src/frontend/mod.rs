//! Frontend: bytes or WAT -> validated module -> SSA IR per function.

use crate::error::{CompileError, Result};
use crate::ir::Module;
use crate::options::Options;

/// Accept a wasm binary or WAT text; return the wasm binary.
pub fn decode(_input: &[u8]) -> Result<Vec<u8>> {
    Err(CompileError::internal("frontend::decode not written yet"))
}

/// Validate the module and build SSA for every defined function.
pub fn translate(_wasm: &[u8], _options: &Options) -> Result<Module> {
    Err(CompileError::internal(
        "frontend::translate not written yet",
    ))
}

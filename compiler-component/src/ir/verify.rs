//! IR invariant checks. A failure is an internal error (a synth bug), never a panic.

use crate::error::{CompileError, Result};
use crate::ir::Module;

/// Check the module's invariants; `legalized` adds "no I64 values".
pub fn module(_module: &Module, _legalized: bool) -> Result<()> {
    Err(CompileError::internal("ir::verify not written yet"))
}

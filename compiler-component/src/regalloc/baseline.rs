//! Baseline allocator (placeholder until written).

use super::{Allocation, MachFunction, RegEnv};
use crate::error::{CompileError, Result};

pub fn allocate(_func: &dyn MachFunction, _env: &RegEnv) -> Result<Allocation> {
    Err(CompileError::internal("regalloc not written yet"))
}

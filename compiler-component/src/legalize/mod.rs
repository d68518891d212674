//! Legalize: i64 -> i32 pairs, memory/global access made explicit, operators the target lacks
//! expanded, runtime helpers and `synth_init` added.

use crate::error::{CompileError, Result};
use crate::ir::Module;
use crate::isa::Caps;
use crate::options::Options;

pub fn run(_module: &mut Module, _caps: Caps, _options: &Options) -> Result<()> {
    Err(CompileError::internal("legalize not written yet"))
}

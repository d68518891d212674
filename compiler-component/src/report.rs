//! The structured report: per function code size, allocator statistics and a listing.

use crate::ir::Module;
use crate::isa::CompiledFunction;
use crate::options::Options;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {}

pub fn build(_module: &Module, _functions: &[CompiledFunction], _options: &Options) -> Report {
    Report {}
}

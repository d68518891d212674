//! Machine-independent optimizations, one pass per file, each IR -> IR.

use crate::ir::Module;

pub fn run(_module: &mut Module) {}

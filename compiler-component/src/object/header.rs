//! C header for a compiled module.

use crate::ir::Module;
use crate::options::Options;

pub fn generate(_module: &Module, _options: &Options) -> String {
    String::new()
}

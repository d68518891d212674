//! Machine-independent optimizations, one pass per file, each IR -> IR: fold -> merge
//! (straight-line blocks) -> copyprop -> dce, repeated to a fixed point. They work on the
//! frontend's IR and on legalized IR alike.

pub mod copyprop;
pub mod dce;
pub mod fold;
pub mod merge;

use crate::ir::{Function, Module};

/// Rounds of fold -> copyprop -> dce per function; each round only shrinks the function, and
/// real code settles in two or three, so the bound only guards against a ping-pong bug.
const MAX_ROUNDS: usize = 8;

pub fn run(module: &mut Module) {
    for func in &mut module.bodies {
        run_function(func);
    }
}

/// Run the passes over one function until nothing changes (at most `MAX_ROUNDS` times).
pub fn run_function(func: &mut Function) {
    for _ in 0..MAX_ROUNDS {
        let before = func.clone();
        fold::run(func);
        merge::run(func);
        copyprop::run(func);
        dce::run(func);
        if *func == before {
            break;
        }
    }
}

#[cfg(test)]
mod tests;

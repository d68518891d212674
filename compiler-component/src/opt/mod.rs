//! Machine-independent optimizations, one pass per file, each IR -> IR: fold -> merge
//! (straight-line blocks) -> gvn (repeated pure computations) -> licm (loop invariants to the
//! preheader, legalized IR only) -> copyprop -> dce, repeated to a fixed point. They work on
//! the frontend's IR and on legalized IR alike.

pub mod copyprop;
pub mod dce;
pub mod fold;
pub mod gvn;
pub mod licm;
pub mod merge;

use crate::ir::dom::Dominators;
use crate::ir::{Function, Module};

/// Rounds of fold -> copyprop -> dce per function; each round only shrinks the function, and
/// real code settles in two or three, so the bound only guards against a ping-pong bug.
const MAX_ROUNDS: usize = 8;

/// Which IR the passes see. LICM runs only on legalized IR: only there is every call explicit
/// (a float operator may still become a library call before), and a loop that calls keeps its
/// constants.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    Frontend,
    Legalized,
}

pub fn run(module: &mut Module, stage: Stage) {
    for func in &mut module.bodies {
        run_function(func, stage);
    }
}

/// Run the passes over one function until nothing changes (at most `MAX_ROUNDS` times).
pub fn run_function(func: &mut Function, stage: Stage) {
    for _ in 0..MAX_ROUNDS {
        let before = func.clone();
        fold::run(func);
        merge::run(func);
        let dom = Dominators::compute(func);
        gvn::run(func, &dom);
        if stage == Stage::Legalized {
            licm::run(func, &dom);
        }
        copyprop::run(func);
        dce::run(func);
        if *func == before {
            break;
        }
    }
}

#[cfg(test)]
mod tests;

//! Machine-independent optimizations, one pass per file, each IR -> IR: fold -> merge
//! (straight-line blocks) -> gvn (repeated pure computations) -> licm (loop invariants to the
//! preheader), address (accesses to one sum share a base) and stores (loads forwarded, dead
//! stores dropped; all three legalized IR only) ->
//! copyprop -> dce, repeated to a fixed point. They work on the frontend's IR and on legalized
//! IR alike. `unroll` runs once, after them (`legalized_module`).

pub mod address;
pub mod copyprop;
pub mod dce;
pub mod fold;
pub mod gvn;
pub mod licm;
pub mod merge;
pub mod stores;
pub mod unroll;

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
    /// With the registers the target leaves loops (what LICM may fill).
    Legalized(licm::Budget),
}

impl Stage {
    /// Legalized IR for Cortex-M (what unit tests optimize).
    #[cfg(test)]
    pub fn legalized_cortex_m() -> Stage {
        let caps = crate::isa::caps(crate::options::Target::CortexM4);
        Stage::Legalized(licm::Budget::of(caps))
    }
}

pub fn run(module: &mut Module, stage: Stage) {
    for func in &mut module.bodies {
        run_function(func, stage);
    }
}

/// Run the passes over one function until nothing changes (at most `MAX_ROUNDS` times).
///
/// Each pass reports whether it changed the function (it may say so of a change a later pass
/// undoes, never the reverse), so no copy of the function is kept to compare with.
pub fn run_function(func: &mut Function, stage: Stage) {
    for _ in 0..MAX_ROUNDS {
        let mut changed = fold::run(func);
        changed |= merge::run(func);
        let dom = Dominators::compute(func);
        changed |= gvn::run(func, &dom);
        if let Stage::Legalized(budget) = stage {
            changed |= licm::run(func, &dom, budget);
            changed |= address::run(func);
            changed |= stores::run(func);
        }
        changed |= copyprop::run(func);
        changed |= dce::run(func);
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests;

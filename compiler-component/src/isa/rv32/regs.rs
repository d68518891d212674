//! RV32 integer register file and the allocator's view of it.

use crate::regalloc::{PReg, PRegSet, RegEnv};

pub const ZERO: PReg = PReg(0);
pub const RA: PReg = PReg(1);
pub const SP: PReg = PReg(2);
pub const T0: PReg = PReg(5);
pub const S0: PReg = PReg(8);
pub const A0: PReg = PReg(10);
pub const A1: PReg = PReg(11);
/// t6: never allocated; the allocator's memory-to-memory moves and the back end's own
/// multi-instruction sequences (which never interleave with allocator edits) use it.
pub const SCRATCH: PReg = PReg(31);

/// The eight argument registers a0..a7 in argument order.
pub const ARG_REGS: [PReg; 8] = [
    PReg(10),
    PReg(11),
    PReg(12),
    PReg(13),
    PReg(14),
    PReg(15),
    PReg(16),
    PReg(17),
];

const NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI name of a register (`a0`, `sp`, ...), as LLVM prints it.
pub fn name(r: PReg) -> &'static str {
    NAMES.get(r.0 as usize).copied().unwrap_or("<bad>")
}

/// Registers the compressed encodings with 3-bit register fields can name (x8..x15).
pub fn is_compressible(r: PReg) -> bool {
    (8..=15).contains(&r.0)
}

/// Callee-saved registers: s0..s11.
pub fn callee_saved() -> PRegSet {
    let mut set = PRegSet::of(&[PReg(8), PReg(9)]);
    for r in 18..=27 {
        set = set.with(PReg(r));
    }
    set
}

/// Registers a call may overwrite: ra, t0..t6, a0..a7.
pub fn caller_saved() -> PRegSet {
    let mut set = PRegSet::of(&[RA, PReg(5), PReg(6), PReg(7)]);
    for r in (10..=17).chain(28..=31) {
        set = set.with(PReg(r));
    }
    set
}

/// Allocation order: caller-saved registers in x8..x15 first (a5..a0, so the compressed forms
/// apply, highest first because the low ones are pinned by calls and returns), then the other
/// caller-saved ones (a leaf function using only these needs no frame), then s0/s1 (still
/// compressible) and the remaining callee-saved registers.
pub fn reg_env() -> RegEnv {
    let order: [u8; 26] = [
        15, 14, 13, 12, 11, 10, // a5..a0
        5, 6, 7, 16, 17, 28, 29, 30, // t0..t2, a6, a7, t3..t5
        8, 9, // s0, s1
        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, // s2..s11
    ];
    RegEnv {
        allocatable: order.iter().map(|&r| PReg(r)).collect(),
        classes: Vec::new(),
        callee_saved: callee_saved(),
        scratch: SCRATCH,
        callee_saved_cost: 2,
    }
}

/// The spare scratch register of functions with frames beyond 2 KiB (t5): stack-to-stack moves
/// there need an address register besides t6.
pub const SPARE_SCRATCH: PReg = PReg(30);

/// `reg_env` without the spare scratch register.
pub fn reg_env_large_frame() -> RegEnv {
    let mut env = reg_env();
    env.allocatable.retain(|&r| r != SPARE_SCRATCH);
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_covers_x5_to_x30_once_and_reserves_t6() {
        let env = reg_env();
        let mut seen: Vec<u8> = env.allocatable.iter().map(|r| r.0).collect();
        seen.sort_unstable();
        assert_eq!(seen, (5..=30).collect::<Vec<u8>>());
        assert!(!env.allocatable.contains(&SCRATCH));
        assert!(is_compressible(env.allocatable[0]));
    }

    #[test]
    fn saved_sets_partition_the_allocatable_registers() {
        for r in 5..=30u8 {
            let r = PReg(r);
            assert_ne!(
                callee_saved().contains(r),
                caller_saved().contains(r),
                "{}",
                name(r)
            );
        }
        assert_eq!(name(PReg(8)), "s0");
        assert_eq!(name(PReg(27)), "s11");
        assert_eq!(name(PReg(31)), "t6");
    }
}

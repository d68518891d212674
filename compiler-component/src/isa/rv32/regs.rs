//! RV32 register files and the allocator's view of them: x0..x31 are PReg 0..31 (class 0); on
//! rv32imafc the F registers f0..f31 are PReg 32..63 (class 1).

use super::inst::FReg;
use crate::options::Target;
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

/// PReg number of f0.
pub const F_BASE: u8 = 32;
/// fa0: first f32 argument and the f32 result (ILP32F).
pub const FA0: PReg = PReg(F_BASE + 10);
/// The eight float argument registers fa0..fa7 in argument order.
pub const FARG_REGS: [PReg; 8] = [
    PReg(F_BASE + 10),
    PReg(F_BASE + 11),
    PReg(F_BASE + 12),
    PReg(F_BASE + 13),
    PReg(F_BASE + 14),
    PReg(F_BASE + 15),
    PReg(F_BASE + 16),
    PReg(F_BASE + 17),
];

/// Is `r` one of the F registers?
pub fn is_float(r: PReg) -> bool {
    r.0 >= F_BASE
}

/// The F register a PReg of class 1 names.
pub fn freg(r: PReg) -> FReg {
    FReg(r.0.wrapping_sub(F_BASE) & 31)
}

/// ABI name of a register (`a0`, `sp`, `fa0`, ...), as LLVM prints it.
pub fn name(r: PReg) -> &'static str {
    if is_float(r) {
        return freg(r).name();
    }
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

/// Callee-saved F registers (ILP32F): fs0, fs1, fs2..fs11.
pub fn float_callee_saved() -> PRegSet {
    [8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]
        .iter()
        .fold(PRegSet::EMPTY, |set, &f| set.with(PReg(F_BASE + f)))
}

/// Every register the prologue must preserve when the allocation wrote it.
pub fn all_callee_saved() -> PRegSet {
    callee_saved().union(float_callee_saved())
}

/// Registers a call may overwrite: ra, t0..t6, a0..a7, and the F temporaries and arguments
/// ft0..ft11, fa0..fa7 (never allocated on targets without F, so harmless there).
pub fn caller_saved() -> PRegSet {
    let mut set = PRegSet::of(&[RA, PReg(5), PReg(6), PReg(7)]);
    for r in (10..=17).chain(28..=31) {
        set = set.with(PReg(r));
    }
    for f in (0..=7).chain(10..=17).chain(28..=31) {
        set = set.with(PReg(F_BASE + f));
    }
    set
}

/// Allocation order: caller-saved registers in x8..x15 first (a5..a0, so the compressed forms
/// apply, highest first because the low ones are pinned by calls and returns), then the other
/// caller-saved ones (a leaf function using only these needs no frame), then s0/s1 (still
/// compressible) and the remaining callee-saved registers.
///
/// With F (rv32imafc), the F registers follow as class 1: the temporaries ft0..ft11, the
/// argument registers (fa5..fa0, highest first as for a0..a5), then the callee-saved fs0..fs11.
pub fn reg_env(target: Target) -> RegEnv {
    let mut env = int_reg_env();
    if target == Target::Rv32imafc {
        let order: [u8; 32] = [
            0, 1, 2, 3, 4, 5, 6, 7, 28, 29, 30, 31, // ft0..ft11
            15, 14, 13, 12, 11, 10, 16, 17, // fa5..fa0, fa6, fa7
            8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, // fs0..fs11
        ];
        let float: Vec<PReg> = order.iter().map(|&f| PReg(F_BASE + f)).collect();
        // Class 0 is all of x0..x31, class 1 all of f0..f31.
        env.classes = vec![PRegSet(0xffff_ffff), PRegSet(0xffff_ffff << F_BASE)];
        env.allocatable.extend(float);
        env.callee_saved = all_callee_saved();
    }
    env
}

fn int_reg_env() -> RegEnv {
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
pub fn reg_env_large_frame(target: Target) -> RegEnv {
    let mut env = reg_env(target);
    env.allocatable.retain(|&r| r != SPARE_SCRATCH);
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_covers_x5_to_x30_once_and_reserves_t6() {
        let env = reg_env(Target::Rv32imac);
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

    #[test]
    fn f_env_adds_every_f_register_as_class_1() {
        let env = reg_env(Target::Rv32imafc);
        let float: Vec<PReg> = env
            .allocatable
            .iter()
            .copied()
            .filter(|r| is_float(*r))
            .collect();
        assert_eq!(float.len(), 32);
        assert_eq!(name(float[0]), "ft0");
        assert_eq!(name(FA0), "fa0");
        assert_eq!(name(PReg(F_BASE + 27)), "fs11");
        for &r in &float {
            assert_eq!(env.class_of(r), 1);
            assert_ne!(
                float_callee_saved().contains(r),
                caller_saved().contains(r),
                "{}",
                name(r)
            );
        }
        assert_eq!(env.class_of(PReg(10)), 0);
        assert_eq!(env.class_size(0), 26);
        assert!(env.callee_saved.contains(PReg(F_BASE + 8)));
        assert_eq!(reg_env_large_frame(Target::Rv32imafc).class_size(0), 25);
        assert!(reg_env(Target::Rv32imac).classes.is_empty());
    }
}

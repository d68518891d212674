//! The Thumb-2 register file as the allocator sees it.

use crate::regalloc::{PReg, PRegSet, RegEnv};

pub const R0: PReg = PReg(0);
pub const R1: PReg = PReg(1);
pub const R2: PReg = PReg(2);
pub const R3: PReg = PReg(3);
pub const R4: PReg = PReg(4);
pub const R11: PReg = PReg(11);
/// ip: reserved for the allocator's memory-to-memory moves and for short sequences inside one
/// machine instruction (never live across an allocator edit).
pub const IP: PReg = PReg(12);
pub const SP: PReg = PReg(13);
pub const LR: PReg = PReg(14);
pub const PC: PReg = PReg(15);

/// Argument registers in order (AAPCS).
pub const ARG_REGS: [PReg; 4] = [R0, R1, R2, R3];

/// Registers a call may overwrite: the argument registers, ip and lr (bl writes it).
pub fn caller_saved() -> PRegSet {
    PRegSet::of(&[R0, R1, R2, R3, IP, LR])
}

/// Callee-saved registers: r4-r11 and lr (holds the return address, so using it means saving
/// it and returning with `pop {..., pc}`).
pub fn callee_saved() -> PRegSet {
    let mut set = PRegSet::of(&[LR]);
    for r in R4.0..=R11.0 {
        set = set.with(PReg(r));
    }
    set
}

/// Is this a low register (r0-r7), usable by most 16-bit encodings?
pub fn is_low(r: PReg) -> bool {
    r.0 < 8
}

pub fn reg_env() -> RegEnv {
    // Low registers first so 16-bit encodings apply; caller-saved before callee-saved so leaf
    // functions need no saves; lr last because using it forces a frame.
    let mut allocatable: Vec<PReg> = (0..=11u8).map(PReg).collect();
    allocatable.push(LR);
    RegEnv {
        allocatable,
        classes: Vec::new(),
        callee_saved: callee_saved(),
        scratch: IP,
        callee_saved_cost: 0,
    }
}

/// The second scratch register of functions whose frame reaches beyond the imm12 offsets of
/// sp-relative loads and stores: a stack-to-stack move to a far slot holds the value in ip and
/// needs another register for the address. lr: the last register the allocator picks, so
/// giving it up costs least; using it means saving it, like any callee-saved register.
pub const SPARE_SCRATCH: PReg = LR;

/// `reg_env` without the spare scratch register, for frames beyond the imm12 reach.
pub fn reg_env_large_frame() -> RegEnv {
    let mut env = reg_env();
    env.allocatable.retain(|&r| r != SPARE_SCRATCH);
    env
}

/// LLVM's name for a register.
pub fn name(r: PReg) -> String {
    match r.0 {
        13 => "sp".to_string(),
        14 => "lr".to_string(),
        15 => "pc".to_string(),
        n => format!("r{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_reserves_ip_sp_pc_and_saves_r4_to_r11_and_lr() {
        let env = reg_env();
        assert_eq!(env.allocatable.len(), 13);
        assert!(!env.allocatable.contains(&IP));
        assert!(!env.allocatable.contains(&SP));
        assert!(!env.allocatable.contains(&PC));
        assert_eq!(env.allocatable[0], R0);
        assert_eq!(env.scratch, IP);
        assert_eq!(env.callee_saved.iter().count(), 9);
        assert!(env.callee_saved.contains(LR));
        assert!(!env.callee_saved.contains(R3));
        assert!(caller_saved().contains(LR) && caller_saved().contains(IP));
        assert_eq!(name(IP), "r12");
        assert_eq!(name(LR), "lr");
    }

    #[test]
    fn large_frame_environment_gives_up_only_the_spare_scratch() {
        let small = reg_env();
        let large = reg_env_large_frame();
        assert_eq!(large.allocatable.len(), small.allocatable.len() - 1);
        assert!(!large.allocatable.contains(&SPARE_SCRATCH));
        assert_ne!(SPARE_SCRATCH, large.scratch);
        assert!(small.allocatable.contains(&SPARE_SCRATCH));
        assert_eq!(large.scratch, IP);
    }
}

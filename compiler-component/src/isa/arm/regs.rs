//! The Thumb-2 register file as the allocator sees it: core registers r0–r15 are PReg 0–15;
//! the VFP registers s0–s31 are PReg 32–63 (class 1). FPv4-SP (cortex-m4f) allocates each S
//! register; FPv5-D16 (cortex-m7dp) allocates D registers, d_n named by its low half s_2n, so
//! an f32 lives in the low half of a D register and f32 code is the same on both FPUs.

use std::borrow::Cow;

use super::asm::FReg;
use crate::options::Target;
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

/// The first VFP register's number: s_n is PReg(VFP_BASE + n).
pub const VFP_BASE: u8 = 32;

/// The VFP register file a target allocates from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VfpFile {
    /// No FPU: floats are integers in core registers.
    None,
    /// FPv4-SP: f32 in s0–s31.
    Single,
    /// FPv5-D16: f32 and f64 in d0–d15 (an f32 in the low half).
    Double,
}

impl VfpFile {
    pub fn of(target: Target) -> VfpFile {
        match target {
            Target::CortexM4F => VfpFile::Single,
            Target::CortexM7DP => VfpFile::Double,
            _ => VfpFile::None,
        }
    }
}

/// s_n as a register operand.
pub fn s_reg(n: u8) -> PReg {
    PReg(VFP_BASE + n)
}

pub fn is_vfp(r: PReg) -> bool {
    r.0 >= VFP_BASE
}

/// The S register of a VFP PReg (on FPv5-D16: the low half of its D register).
pub fn sreg(r: PReg) -> FReg {
    FReg::S(r.0.saturating_sub(VFP_BASE))
}

/// The D register of an FPv5-D16 PReg (named by its low half s_2n).
pub fn dreg(r: PReg) -> FReg {
    FReg::D(r.0.saturating_sub(VFP_BASE) / 2)
}

/// s0–s15 (d0–d7): a call may overwrite them (AAPCS-VFP).
pub fn vfp_caller_saved() -> PRegSet {
    PRegSet((0xffffu64) << VFP_BASE)
}

/// s16–s31 (d8–d15): the callee preserves them.
pub fn vfp_callee_saved() -> PRegSet {
    PRegSet((0xffffu64) << (VFP_BASE + 16))
}

/// Registers a call may overwrite: the argument registers, ip and lr (bl writes it), and the
/// caller-saved VFP registers (no vreg lives there on a target without an FPU).
pub fn caller_saved() -> PRegSet {
    PRegSet::of(&[R0, R1, R2, R3, IP, LR]).union(vfp_caller_saved())
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

pub fn reg_env(vfp: VfpFile) -> RegEnv {
    // Low registers first so 16-bit encodings apply; caller-saved before callee-saved so leaf
    // functions need no saves; lr last because using it forces a frame.
    let mut allocatable: Vec<PReg> = (0..=11u8).map(PReg).collect();
    allocatable.push(LR);
    let core = PRegSet::of(&allocatable);
    // VFP registers: caller-saved s0–s15 first, like the core registers.
    let vfp: Vec<PReg> = match vfp {
        VfpFile::None => Vec::new(),
        VfpFile::Single => (0..32).map(s_reg).collect(),
        VfpFile::Double => (0..16).map(|d| s_reg(2 * d)).collect(),
    };
    let classes = if vfp.is_empty() {
        Vec::new()
    } else {
        vec![core, PRegSet::of(&vfp)]
    };
    let mut callee = callee_saved();
    if !vfp.is_empty() {
        callee = callee.union(vfp_callee_saved());
    }
    allocatable.extend(vfp);
    RegEnv {
        allocatable,
        classes,
        callee_saved: callee,
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
pub fn reg_env_large_frame(vfp: VfpFile) -> RegEnv {
    let mut env = reg_env(vfp);
    env.allocatable.retain(|&r| r != SPARE_SCRATCH);
    env
}

/// LLVM's name for a register (borrowed from a table for the registers that exist: the
/// listing names one per operand).
pub fn name(r: PReg) -> Cow<'static, str> {
    const CORE: [&str; 16] = [
        "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp",
        "lr", "pc",
    ];
    const VFP: [&str; 32] = [
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",
        "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26",
        "s27", "s28", "s29", "s30", "s31",
    ];
    let known = match r.0 {
        n if n >= VFP_BASE => VFP.get(usize::from(n - VFP_BASE)),
        n => CORE.get(usize::from(n)),
    };
    match (known, r.0) {
        (Some(name), _) => Cow::Borrowed(name),
        (None, n) if n >= VFP_BASE => Cow::Owned(format!("s{}", n - VFP_BASE)),
        (None, n) => Cow::Owned(format!("r{n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_reserves_ip_sp_pc_and_saves_r4_to_r11_and_lr() {
        let env = reg_env(VfpFile::None);
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
        assert!(caller_saved().contains(s_reg(15)) && !caller_saved().contains(s_reg(16)));
        assert_eq!(name(IP), "r12");
        assert_eq!(name(LR), "lr");
    }

    #[test]
    fn vfp_files_are_a_second_class() {
        let single = reg_env(VfpFile::Single);
        assert_eq!(single.classes.len(), 2);
        assert_eq!(single.class_size(1), 32);
        assert!(single.callee_saved.contains(s_reg(16)));
        let double = reg_env(VfpFile::Double);
        assert_eq!(double.class_size(1), 16);
        assert!(double.allocatable.contains(&s_reg(30)));
        assert!(!double.allocatable.contains(&s_reg(31)));
        assert_eq!(dreg(s_reg(6)), FReg::D(3));
        assert_eq!(sreg(s_reg(6)), FReg::S(6));
        assert_eq!(name(s_reg(3)), "s3");
    }

    #[test]
    fn large_frame_environment_gives_up_only_the_spare_scratch() {
        let small = reg_env(VfpFile::None);
        let large = reg_env_large_frame(VfpFile::None);
        assert_eq!(large.allocatable.len(), small.allocatable.len() - 1);
        assert!(!large.allocatable.contains(&SPARE_SCRATCH));
        assert_ne!(SPARE_SCRATCH, large.scratch);
        assert!(small.allocatable.contains(&SPARE_SCRATCH));
        assert_eq!(large.scratch, IP);
    }
}

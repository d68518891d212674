//! ILP32 / ILP32F calling convention (docs/ABI.md) and the frame layout.
//!
//! Argument and result locations are given per legalized 32-bit component: an i64 is two
//! components, low word first, exactly as legalized IR passes it. With hardware f32 (ILP32F)
//! an f32 takes the next of fa0..fa7 and, once those are used up, travels like an i32; its
//! result is in fa0. An f64 is always an integer pair (it is wider than FLEN).

use super::regs::{self, ARG_REGS, FARG_REGS};
use crate::ir::{Signature, Type};
use crate::regalloc::{PReg, PRegSet};

/// Stack alignment at calls and of every frame (psABI).
pub const STACK_ALIGN: u32 = 16;

/// Where one 32-bit argument component lives at the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(PReg),
    /// Byte offset from the stack pointer at the call (the caller's outgoing-argument area).
    Stack(u32),
}

/// Where the results of a call are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultLocs {
    /// Zero or one result: its components in a0 (and a1 for i64).
    Regs(Vec<PReg>),
    /// Several results: a struct in memory the caller owns, its address passed in a0.
    /// One offset per component; `size` and `align` describe the whole struct.
    Memory {
        offsets: Vec<u32>,
        size: u32,
        align: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallAbi {
    /// One location per legalized parameter component (excluding the hidden result pointer).
    pub params: Vec<ArgLoc>,
    /// Bytes of outgoing stack arguments.
    pub stack_bytes: u32,
    pub results: ResultLocs,
}

impl CallAbi {
    pub fn has_result_pointer(&self) -> bool {
        matches!(self.results, ResultLocs::Memory { .. })
    }
}

fn align_to(value: u32, align: u32) -> u32 {
    value.div_ceil(align) * align
}

/// Locations for a wasm signature; `hard_f32` selects ILP32F for f32 values. Every value fits
/// in u32 arithmetic: a signature has at most a few thousand parameters after validation, far
/// below overflow.
pub fn call_abi(sig: &Signature, hard_f32: bool) -> CallAbi {
    let results = if sig.results.len() <= 1 {
        let regs = match sig.results.first() {
            None => Vec::new(),
            Some(Type::F32) if hard_f32 => vec![regs::FA0],
            Some(Type::I32 | Type::F32) => vec![regs::A0],
            Some(Type::I64 | Type::F64) => vec![regs::A0, regs::A1],
        };
        ResultLocs::Regs(regs)
    } else {
        let mut offsets = Vec::new();
        let mut size = 0u32;
        let mut align = 4u32;
        for ty in &sig.results {
            // Soft-float convention: a float travels as the integer of its bits.
            match ty {
                Type::I32 | Type::F32 => {
                    size = align_to(size, 4);
                    offsets.push(size);
                    size += 4;
                }
                Type::I64 | Type::F64 => {
                    size = align_to(size, 8);
                    align = 8;
                    offsets.push(size);
                    offsets.push(size + 4);
                    size += 8;
                }
            }
        }
        ResultLocs::Memory {
            offsets,
            size: align_to(size, align),
            align,
        }
    };
    // The hidden result pointer takes a0.
    let mut next_reg = usize::from(matches!(results, ResultLocs::Memory { .. }));
    let mut next_float = 0usize;
    let mut stack = 0u32;
    let mut params = Vec::new();
    for ty in &sig.params {
        match ty {
            Type::F32 if hard_f32 && next_float < FARG_REGS.len() => {
                params.push(ArgLoc::Reg(FARG_REGS[next_float]));
                next_float += 1;
            }
            Type::I32 | Type::F32 => {
                if let Some(&r) = ARG_REGS.get(next_reg) {
                    params.push(ArgLoc::Reg(r));
                    next_reg += 1;
                } else {
                    params.push(ArgLoc::Stack(stack));
                    stack += 4;
                }
            }
            Type::I64 | Type::F64 => {
                if next_reg + 1 < ARG_REGS.len() {
                    params.push(ArgLoc::Reg(ARG_REGS[next_reg]));
                    params.push(ArgLoc::Reg(ARG_REGS[next_reg + 1]));
                    next_reg += 2;
                } else if next_reg + 1 == ARG_REGS.len() {
                    // Only a7 left: low word in a7, high word on the stack.
                    params.push(ArgLoc::Reg(ARG_REGS[next_reg]));
                    params.push(ArgLoc::Stack(stack));
                    next_reg += 1;
                    stack += 4;
                } else {
                    stack = align_to(stack, 8);
                    params.push(ArgLoc::Stack(stack));
                    params.push(ArgLoc::Stack(stack + 4));
                    stack += 8;
                }
            }
        }
    }
    CallAbi {
        params,
        stack_bytes: stack,
        results,
    }
}

/// The frame of one function, from sp upwards after the prologue:
/// outgoing arguments, the result area for calls with several results, spill slots, then the
/// saved registers (ra highest, then s0..s11 and fs0..fs11 in register order below it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    /// Total bytes the prologue subtracts from sp (a multiple of 16; 0 = no frame).
    pub size: u32,
    pub result_area_offset: u32,
    pub spill_offset: u32,
    /// Saved registers and their offsets from the new sp.
    pub saved: Vec<(PReg, u32)>,
}

impl FrameLayout {
    pub fn new(
        outgoing_bytes: u32,
        result_area: (u32, u32),
        num_slots: u32,
        save_ra: bool,
        used_callee_saved: PRegSet,
    ) -> FrameLayout {
        let (result_size, result_align) = result_area;
        let result_area_offset = align_to(outgoing_bytes, result_align.max(4));
        let spill_offset = align_to(result_area_offset + result_size, 4);
        let mut to_save: Vec<PReg> = Vec::new();
        if save_ra {
            to_save.push(regs::RA);
        }
        to_save.extend(
            used_callee_saved
                .iter()
                .filter(|r| regs::all_callee_saved().contains(*r)),
        );
        let body = spill_offset + 4 * num_slots;
        let size = align_to(body + 4 * to_save.len() as u32, STACK_ALIGN);
        let saved = to_save
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r, size - 4 * (i as u32 + 1)))
            .collect();
        FrameLayout {
            size,
            result_area_offset,
            spill_offset,
            saved,
        }
    }

    pub fn slot_offset(&self, slot: u32) -> u32 {
        self.spill_offset + 4 * slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Type::{F32, F64, I32, I64};

    fn sig(params: &[Type], results: &[Type]) -> Signature {
        Signature {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }

    fn reg(n: u8) -> ArgLoc {
        ArgLoc::Reg(PReg(n))
    }

    // The expectations below are what clang 14 does for the equivalent C functions
    // (`--target=riscv32 -march=rv32imac -mabi=ilp32`).
    #[test]
    fn i64_takes_any_consecutive_pair() {
        // int f3(int a, long long b): b in a1 (lo), a2 (hi).
        let abi = call_abi(&sig(&[I32, I64], &[I32]), false);
        assert_eq!(abi.params, vec![reg(10), reg(11), reg(12)]);
        assert_eq!(abi.results, ResultLocs::Regs(vec![PReg(10)]));
        assert_eq!(abi.stack_bytes, 0);
    }

    #[test]
    fn i64_split_between_a7_and_stack() {
        // f1(7 x int, long long h): h lo in a7, hi at 0(sp).
        let mut params = vec![I32; 7];
        params.push(I64);
        let abi = call_abi(&sig(&params, &[I64]), false);
        assert_eq!(abi.params[7], reg(17));
        assert_eq!(abi.params[8], ArgLoc::Stack(0));
        assert_eq!(abi.stack_bytes, 4);
        assert_eq!(abi.results, ResultLocs::Regs(vec![PReg(10), PReg(11)]));
    }

    #[test]
    fn i64_on_stack_is_eight_aligned() {
        // f2(9 x int, long long j): i at 0(sp), j at 8(sp).
        let mut params = vec![I32; 9];
        params.push(I64);
        let abi = call_abi(&sig(&params, &[]), false);
        assert_eq!(abi.params[8], ArgLoc::Stack(0));
        assert_eq!(abi.params[9], ArgLoc::Stack(8));
        assert_eq!(abi.params[10], ArgLoc::Stack(12));
        assert_eq!(abi.stack_bytes, 16);
        // f4(8 x int, long long j, int k, long long l): j 0, k 8, l 16.
        let mut params = vec![I32; 8];
        params.extend([I64, I32, I64]);
        let abi = call_abi(&sig(&params, &[]), false);
        assert_eq!(
            &abi.params[8..],
            &[
                ArgLoc::Stack(0),
                ArgLoc::Stack(4),
                ArgLoc::Stack(8),
                ArgLoc::Stack(16),
                ArgLoc::Stack(20)
            ]
        );
    }

    #[test]
    fn several_results_use_a_struct_and_shift_params() {
        let abi = call_abi(&sig(&[I32, I64], &[I32, I64, I32]), false);
        assert!(abi.has_result_pointer());
        assert_eq!(abi.params, vec![reg(11), reg(12), reg(13)]);
        assert_eq!(
            abi.results,
            ResultLocs::Memory {
                offsets: vec![0, 8, 12, 16],
                size: 24,
                align: 8
            }
        );
    }

    // clang 14, `--target=riscv32 -march=rv32imafc -mabi=ilp32f`:
    // float g(int a, float b, double c, float d) puts b in fa0, c in a1:a2, d in fa1, the
    // result in fa0; the ninth float goes to the next integer register, then the stack.
    #[test]
    fn ilp32f_puts_f32_in_fa_registers_then_integer_registers() {
        let abi = call_abi(&sig(&[I32, F32, F64, F32], &[F32]), true);
        let fa = |n: u8| ArgLoc::Reg(PReg(regs::F_BASE + 10 + n));
        assert_eq!(abi.params, vec![reg(10), fa(0), reg(11), reg(12), fa(1)]);
        assert_eq!(abi.results, ResultLocs::Regs(vec![regs::FA0]));
        let mut params = vec![F32; 9];
        params.extend([I32; 7]);
        params.push(F32);
        let abi = call_abi(&sig(&params, &[F64]), true);
        assert_eq!(abi.params[7], fa(7));
        assert_eq!(abi.params[8], reg(10));
        assert_eq!(abi.params[15], reg(17));
        assert_eq!(abi.params[16], ArgLoc::Stack(0));
        assert_eq!(abi.results, ResultLocs::Regs(vec![PReg(10), PReg(11)]));
        // Without F, an f32 is an i32.
        let abi = call_abi(&sig(&[F32], &[F32]), false);
        assert_eq!(abi.params, vec![reg(10)]);
        assert_eq!(abi.results, ResultLocs::Regs(vec![PReg(10)]));
    }

    #[test]
    fn frame_saves_fs_registers_below_the_core_ones() {
        let fs0 = PReg(regs::F_BASE + 8);
        let used = PRegSet::of(&[PReg(8), fs0, PReg(regs::F_BASE)]);
        let frame = FrameLayout::new(0, (0, 4), 0, true, used);
        assert_eq!(frame.saved, vec![(regs::RA, 12), (PReg(8), 8), (fs0, 4)]);
        assert_eq!(frame.size, 16);
    }

    #[test]
    fn frame_puts_ra_on_top_and_aligns_to_16() {
        let used = PRegSet::of(&[PReg(8), PReg(18), PReg(10)]);
        let frame = FrameLayout::new(12, (8, 8), 3, true, used);
        assert_eq!(frame.result_area_offset, 16);
        assert_eq!(frame.spill_offset, 24);
        assert_eq!(frame.slot_offset(2), 32);
        // 36 bytes of body + 12 saved = 48.
        assert_eq!(frame.size, 48);
        assert_eq!(
            frame.saved,
            vec![(regs::RA, 44), (PReg(8), 40), (PReg(18), 36)]
        );
        let empty = FrameLayout::new(0, (0, 4), 0, false, PRegSet::EMPTY);
        assert_eq!(empty.size, 0);
        assert!(empty.saved.is_empty());
    }
}

//! AAPCS argument and result locations for a wasm signature (docs/ABI.md): the base variant on
//! targets without an FPU, the VFP variant (floats in s0–s15 / d0–d7) on cortex-m4f and
//! cortex-m7dp.

use super::regs::{ARG_REGS, R0, R1, VfpFile, s_reg};
use crate::error::{CompileError, Result};
use crate::ir::{Signature, Type};
use crate::regalloc::PReg;

/// Where one 32-bit part of an argument lives at the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(PReg),
    /// FPv5-D16: an f32 in the high half (s_2n+1) of the D register `PReg` names (s_2n).
    HighHalf(PReg),
    /// Byte offset from sp at the call (the caller's outgoing area, the callee's incoming area).
    Stack(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultLocs {
    /// Zero or one result: its parts in r0 (r1), or s0 (s1) / d0 for a float in the VFP variant.
    Regs(Vec<PReg>),
    /// Several results: the caller passes a pointer to a struct in r0; `offsets` has one entry per
    /// 32-bit part (an i64 is low then high), `size` is the struct size.
    Memory { offsets: Vec<u32>, size: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLayout {
    /// With several results r0 carries the result pointer and the arguments start at r1.
    pub result_ptr: Option<PReg>,
    /// One location per legalized (32-bit) argument part, in order.
    pub args: Vec<ArgLoc>,
    /// Bytes of stack arguments, rounded up to the 8-byte stack alignment.
    pub stack_bytes: u32,
    pub results: ResultLocs,
}

/// Bytes of stack arguments one call may pass.
const MAX_STACK_ARGS: u32 = 1 << 20;

fn align_up(n: u32, to: u32) -> u32 {
    n.div_ceil(to) * to
}

/// How a float travels in the VFP variant: one part in a VFP register pair/single, or (f64 on
/// FPv4-SP, computed in software) two 32-bit parts in the two halves of a D register.
fn vfp_parts(ty: Type, vfp: VfpFile) -> usize {
    match (ty, vfp) {
        (Type::F64, VfpFile::Single) => 2,
        _ => 1,
    }
}

/// AAPCS-VFP register allocation for float arguments: back-filling of single registers, and
/// once one float argument went to the stack, every later one does too.
struct VfpArgs {
    /// Which of s0–s15 are taken.
    taken: u16,
    exhausted: bool,
}

impl VfpArgs {
    /// The first free S register for an f32, or the first free even pair for an f64.
    fn take(&mut self, double: bool) -> Option<u8> {
        if self.exhausted {
            return None;
        }
        let (step, mask) = if double { (2, 0b11) } else { (1, 0b1) };
        let found = (0..16u8)
            .step_by(step)
            .find(|&n| self.taken & (mask << n) == 0);
        match found {
            Some(n) => {
                self.taken |= mask << n;
                Some(n)
            }
            None => {
                self.exhausted = true;
                None
            }
        }
    }
}

/// Lay out a call to (or the entry of) a function with this wasm signature.
pub fn call_layout(sig: &Signature, vfp: VfpFile) -> Result<CallLayout> {
    let hard = vfp != VfpFile::None;
    let mut next_reg = 0usize;
    let mut stack = 0u32;
    let (result_ptr, results) = if sig.results.len() > 1 {
        next_reg = 1;
        let mut offsets = Vec::new();
        let mut size = 0u32;
        let mut max_align = 4;
        for ty in &sig.results {
            // In memory a float is the integer of its bits; an f64 kept whole (FPv5-D16) is one
            // part.
            match ty {
                Type::F64 if vfp == VfpFile::Double => {
                    size = align_up(size, 8);
                    max_align = 8;
                    offsets.push(size);
                    size += 8;
                }
                Type::I32 | Type::F32 => {
                    offsets.push(size);
                    size += 4;
                }
                Type::I64 | Type::F64 => {
                    size = align_up(size, 8);
                    max_align = 8;
                    offsets.push(size);
                    offsets.push(size + 4);
                    size += 8;
                }
            }
        }
        let size = align_up(size, max_align);
        (Some(R0), ResultLocs::Memory { offsets, size })
    } else {
        let regs = match sig.results.first() {
            None => vec![],
            Some(Type::F32) if hard => vec![s_reg(0)],
            Some(Type::F64) if vfp == VfpFile::Single => vec![s_reg(0), s_reg(1)],
            Some(Type::F64) if hard => vec![s_reg(0)],
            Some(Type::I32 | Type::F32) => vec![R0],
            Some(Type::I64 | Type::F64) => vec![R0, R1],
        };
        (None, ResultLocs::Regs(regs))
    };
    let mut args = Vec::new();
    let mut vfp_args = VfpArgs {
        taken: 0,
        exhausted: false,
    };
    for ty in &sig.params {
        if hard && ty.is_float() {
            let double = *ty == Type::F64;
            match vfp_args.take(double) {
                Some(n) if double && vfp_parts(*ty, vfp) == 2 => {
                    args.push(ArgLoc::Reg(s_reg(n)));
                    args.push(ArgLoc::Reg(s_reg(n + 1)));
                }
                // FPv5-D16 names registers by their even half.
                Some(n) if vfp == VfpFile::Double && n % 2 == 1 => {
                    args.push(ArgLoc::HighHalf(s_reg(n - 1)))
                }
                Some(n) => args.push(ArgLoc::Reg(s_reg(n))),
                None if double => {
                    stack = align_up(stack, 8);
                    args.push(ArgLoc::Stack(stack));
                    if vfp_parts(*ty, vfp) == 2 {
                        args.push(ArgLoc::Stack(stack + 4));
                    }
                    stack += 8;
                }
                None => {
                    args.push(ArgLoc::Stack(stack));
                    stack += 4;
                }
            }
            continue;
        }
        match ty {
            Type::I32 | Type::F32 => {
                if next_reg < ARG_REGS.len() {
                    args.push(ArgLoc::Reg(ARG_REGS[next_reg]));
                    next_reg += 1;
                } else {
                    args.push(ArgLoc::Stack(stack));
                    stack += 4;
                }
            }
            Type::I64 | Type::F64 => {
                // An i64 takes an even/odd register pair, else an 8-aligned stack slot; once an
                // argument went to the stack no later argument uses a register.
                next_reg = align_up(next_reg as u32, 2) as usize;
                if next_reg + 2 <= ARG_REGS.len() {
                    args.push(ArgLoc::Reg(ARG_REGS[next_reg]));
                    args.push(ArgLoc::Reg(ARG_REGS[next_reg + 1]));
                    next_reg += 2;
                } else {
                    next_reg = ARG_REGS.len();
                    stack = align_up(stack, 8);
                    args.push(ArgLoc::Stack(stack));
                    args.push(ArgLoc::Stack(stack + 4));
                    stack += 8;
                }
            }
        }
    }
    // Far beyond wasm's 1000 parameters; keeps every frame offset well inside 32 bits.
    if stack > MAX_STACK_ARGS {
        return Err(CompileError::limit(format!(
            "{stack} bytes of stack arguments exceed the {MAX_STACK_ARGS} supported"
        )));
    }
    Ok(CallLayout {
        result_ptr,
        args,
        stack_bytes: align_up(stack, 8),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::arm::regs::{R2, R3};

    fn call_layout_none(sig: &Signature) -> Result<CallLayout> {
        call_layout(sig, VfpFile::None)
    }

    #[test]
    fn vfp_arguments_back_fill_and_then_go_to_the_stack_for_good() {
        use Type::*;
        // f32 s0, f64 d1 (s2,s3), f32 back-fills s1, i32 in r0.
        let l = call_layout(&sig(&[F32, F64, F32, I32], &[F32]), VfpFile::Single).unwrap();
        assert_eq!(
            l.args,
            vec![
                ArgLoc::Reg(s_reg(0)),
                ArgLoc::Reg(s_reg(2)),
                ArgLoc::Reg(s_reg(3)),
                ArgLoc::Reg(s_reg(1)),
                ArgLoc::Reg(R0)
            ]
        );
        assert_eq!(l.results, ResultLocs::Regs(vec![s_reg(0)]));
        let l = call_layout(&sig(&[F32, F64, F32], &[F64]), VfpFile::Double).unwrap();
        assert_eq!(
            l.args,
            vec![
                ArgLoc::Reg(s_reg(0)),
                ArgLoc::Reg(s_reg(2)),
                ArgLoc::HighHalf(s_reg(0))
            ]
        );
        assert_eq!(l.results, ResultLocs::Regs(vec![s_reg(0)]));
        // 15 f32 fill s0..s14; the f64 finds no pair and goes to the stack, and so does the
        // f32 after it although s15 is free.
        let mut params = vec![F32; 15];
        params.extend([F64, F32]);
        let l = call_layout(&sig(&params, &[]), VfpFile::Double).unwrap();
        assert_eq!(l.args[15], ArgLoc::Stack(0));
        assert_eq!(l.args[16], ArgLoc::Stack(8));
        assert_eq!(l.stack_bytes, 16);
    }

    fn sig(params: &[Type], results: &[Type]) -> Signature {
        Signature {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }

    #[test]
    fn i64_takes_even_pairs_and_then_the_stack_for_good() {
        use Type::*;
        let l = call_layout_none(&sig(&[I32, I64, I32], &[I64])).unwrap();
        assert_eq!(
            l.args,
            vec![
                ArgLoc::Reg(R0),
                ArgLoc::Reg(R2),
                ArgLoc::Reg(R3),
                ArgLoc::Stack(0)
            ]
        );
        assert_eq!(l.stack_bytes, 8);
        assert_eq!(l.results, ResultLocs::Regs(vec![R0, R1]));

        let l = call_layout_none(&sig(&[I32, I32, I32, I64, I32], &[])).unwrap();
        assert_eq!(
            l.args,
            vec![
                ArgLoc::Reg(R0),
                ArgLoc::Reg(R1),
                ArgLoc::Reg(R2),
                ArgLoc::Stack(0),
                ArgLoc::Stack(4),
                ArgLoc::Stack(8)
            ]
        );
        assert_eq!(l.stack_bytes, 16);

        let l = call_layout_none(&sig(&[I32, I32, I32, I32, I32, I64], &[])).unwrap();
        assert_eq!(l.args[4], ArgLoc::Stack(0));
        assert_eq!(l.args[5], ArgLoc::Stack(8));
        assert_eq!(l.args[6], ArgLoc::Stack(12));
    }

    #[test]
    fn several_results_go_through_a_hidden_pointer_in_r0() {
        use Type::*;
        let l = call_layout_none(&sig(&[I64], &[I32, I64, I32])).unwrap();
        assert_eq!(l.result_ptr, Some(R0));
        assert_eq!(l.args, vec![ArgLoc::Reg(R2), ArgLoc::Reg(R3)]);
        assert_eq!(
            l.results,
            ResultLocs::Memory {
                offsets: vec![0, 8, 12, 16],
                size: 24
            }
        );
    }

    #[test]
    fn huge_stack_argument_lists_go_on_the_stack_in_order() {
        // r0..r3 take two i64, the other 298 take 8 bytes each: far beyond imm12 offsets.
        let l = call_layout_none(&sig(&[Type::I64; 300], &[])).unwrap();
        assert_eq!(l.args[4], ArgLoc::Stack(0));
        assert_eq!(l.args[599], ArgLoc::Stack(298 * 8 - 4));
        assert_eq!(l.stack_bytes, 298 * 8);
    }
}

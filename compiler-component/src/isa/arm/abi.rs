//! AAPCS (base variant) argument and result locations for a wasm signature (docs/ABI.md).

use super::regs::{ARG_REGS, R0, R1};
use crate::error::{CompileError, Result};
use crate::ir::{Signature, Type};
use crate::regalloc::PReg;

/// Where one 32-bit part of an argument lives at the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Reg(PReg),
    /// Byte offset from sp at the call (the caller's outgoing area, the callee's incoming area).
    Stack(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultLocs {
    /// Zero or one result: its 32-bit parts in r0 (r1).
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

/// Lay out a call to (or the entry of) a function with this wasm signature.
pub fn call_layout(sig: &Signature) -> Result<CallLayout> {
    let mut next_reg = 0usize;
    let mut stack = 0u32;
    let (result_ptr, results) = if sig.results.len() > 1 {
        next_reg = 1;
        let mut offsets = Vec::new();
        let mut size = 0u32;
        let mut max_align = 4;
        for ty in &sig.results {
            // Soft-float convention: a float travels as the integer of its bits.
            match ty {
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
            Some(Type::I32 | Type::F32) => vec![R0],
            Some(Type::I64 | Type::F64) => vec![R0, R1],
        };
        (None, ResultLocs::Regs(regs))
    };
    let mut args = Vec::new();
    for ty in &sig.params {
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

    fn sig(params: &[Type], results: &[Type]) -> Signature {
        Signature {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }

    #[test]
    fn i64_takes_even_pairs_and_then_the_stack_for_good() {
        use Type::*;
        let l = call_layout(&sig(&[I32, I64, I32], &[I64])).unwrap();
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

        let l = call_layout(&sig(&[I32, I32, I32, I64, I32], &[])).unwrap();
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

        let l = call_layout(&sig(&[I32, I32, I32, I32, I32, I64], &[])).unwrap();
        assert_eq!(l.args[4], ArgLoc::Stack(0));
        assert_eq!(l.args[5], ArgLoc::Stack(8));
        assert_eq!(l.args[6], ArgLoc::Stack(12));
    }

    #[test]
    fn several_results_go_through_a_hidden_pointer_in_r0() {
        use Type::*;
        let l = call_layout(&sig(&[I64], &[I32, I64, I32])).unwrap();
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
        let l = call_layout(&sig(&[Type::I64; 300], &[])).unwrap();
        assert_eq!(l.args[4], ArgLoc::Stack(0));
        assert_eq!(l.args[599], ArgLoc::Stack(298 * 8 - 4));
        assert_eq!(l.stack_bytes, 298 * 8);
    }
}

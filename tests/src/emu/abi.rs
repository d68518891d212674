//! Where the calling conventions of docs/ABI.md put each argument word and result field:
//! AAPCS on Cortex-M (base variant, or AAPCS-VFP for hard float), ILP32 on RV32 (or ILP32F for
//! hard float).
//!
//! The float convention of every target is decided in one place, [`float_abi`].

use synth_compiler::{Isa, Target};

use crate::wasm_info::ValType;

/// How floats cross a function boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatAbi {
    /// Base convention: an f32 travels exactly like an i32 holding its bits, an f64 exactly
    /// like an i64 (register pair, low word first, same alignment).
    Soft,
    /// Floats in FPU registers: AAPCS-VFP on Arm (f32 in s0–s15 with back-filling, f64 in
    /// d0–d7, results in s0 / d0), ILP32F on RV32 (f32 in fa0–fa7, result in fa0; f64 as in the
    /// base convention). Integers as in the base convention.
    Hard,
}

/// The float convention synth's exports and imports use on `target`: the one switch the
/// harness reads (argument layout, results, mock imports, the libgcc multilib and the C flags
/// all follow it).
///
/// The FPU targets compute floats in the FPU and pass them in its registers (AAPCS-VFP on
/// cortex-m4f / cortex-m7dp, ILP32F on rv32imafc); the others compute floats in software and
/// pass them in core registers.
pub fn float_abi(target: Target) -> FloatAbi {
    match target {
        Target::CortexM3 | Target::CortexM4 | Target::CortexM7 | Target::Rv32imac => FloatAbi::Soft,
        Target::CortexM4F | Target::CortexM7DP | Target::Rv32imafc => FloatAbi::Hard,
    }
}

/// One 32-bit word of an argument or result: an argument register (index into r0–r3 / a0–a7),
/// a byte offset from the stack pointer at the call, or an FPU register (Arm: s0–s15, so d_n is
/// s_2n (low word) and s_2n+1 (high word); RV32: fa0–fa7, the low 32 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Register(usize),
    Stack(u32),
    FloatRegister(usize),
}

/// Where every argument goes. `words[i]` holds one slot per 32-bit word of argument `i` (low
/// word first); a hidden result pointer, when present, is `words[0]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgumentLayout {
    pub words: Vec<Vec<Slot>>,
    /// Bytes of outgoing stack arguments (not rounded to the stack alignment).
    pub stack_bytes: u32,
}

pub fn argument_register_count(isa: Isa) -> usize {
    match isa {
        Isa::Arm => 4,
        Isa::Rv32 => 8,
    }
}

/// FPU argument registers: s0–s15 (Arm, single-precision view) or fa0–fa7 (RV32).
pub fn float_argument_register_count(isa: Isa) -> usize {
    match isa {
        Isa::Arm => 16,
        Isa::Rv32 => 8,
    }
}

/// The allocation state of one call's arguments.
struct Allocator {
    isa: Isa,
    next_register: usize,
    next_stack: u32,
    /// Arm VFP: which of s0–s15 are taken (back-filling fills the lowest free one).
    float_taken: [bool; 16],
    /// Arm VFP: a float argument went to the stack, so no later one may use a register.
    float_registers_closed: bool,
    /// RV32 ILP32F: the next fa register.
    next_float_register: usize,
}

impl Allocator {
    fn stack(&mut self, words: u32) -> Vec<Slot> {
        if words == 2 {
            self.next_stack = self.next_stack.next_multiple_of(8);
        }
        let start = self.next_stack;
        self.next_stack += 4 * words;
        (0..words).map(|w| Slot::Stack(start + 4 * w)).collect()
    }

    /// An i32-like argument in the base convention.
    fn word(&mut self) -> Vec<Slot> {
        if self.next_register < argument_register_count(self.isa) {
            self.next_register += 1;
            vec![Slot::Register(self.next_register - 1)]
        } else {
            self.stack(1)
        }
    }

    /// An i64-like argument in the base convention.
    fn pair(&mut self) -> Vec<Slot> {
        let register_count = argument_register_count(self.isa);
        match self.isa {
            Isa::Arm => {
                // Even/odd register pair; once one does not fit, r0–r3 are closed for good.
                self.next_register = self.next_register.next_multiple_of(2);
                if self.next_register + 2 <= register_count {
                    self.next_register += 2;
                    vec![
                        Slot::Register(self.next_register - 2),
                        Slot::Register(self.next_register - 1),
                    ]
                } else {
                    self.next_register = register_count;
                    self.stack(2)
                }
            }
            Isa::Rv32 => {
                if self.next_register + 2 <= register_count {
                    self.next_register += 2;
                    vec![
                        Slot::Register(self.next_register - 2),
                        Slot::Register(self.next_register - 1),
                    ]
                } else if self.next_register + 1 == register_count {
                    // Low half in a7, high half in the first stack word.
                    self.next_register += 1;
                    self.next_stack += 4;
                    vec![
                        Slot::Register(register_count - 1),
                        Slot::Stack(self.next_stack - 4),
                    ]
                } else {
                    self.stack(2)
                }
            }
        }
    }

    /// A float argument in the hard-float convention.
    fn hard_float(&mut self, ty: ValType) -> Vec<Slot> {
        match self.isa {
            Isa::Arm => {
                // AAPCS-VFP: f32 takes the lowest free s register (back-filling), f64 the
                // lowest free even/odd pair (a d register); when none is free every remaining
                // VFP register becomes unavailable and the argument goes to the stack.
                let width = if ty == ValType::F64 { 2 } else { 1 };
                let free = (!self.float_registers_closed)
                    .then(|| {
                        (0..16)
                            .step_by(width)
                            .find(|&s| (s..s + width).all(|r| !self.float_taken[r]))
                    })
                    .flatten();
                match free {
                    Some(s) => {
                        (s..s + width).for_each(|r| self.float_taken[r] = true);
                        (s..s + width).map(Slot::FloatRegister).collect()
                    }
                    None => {
                        self.float_registers_closed = true;
                        self.float_taken = [true; 16];
                        self.stack(width as u32)
                    }
                }
            }
            Isa::Rv32 => match ty {
                // ILP32F: an f32 in the next fa register, else like an integer; an f64 is wider
                // than FLEN and always travels like an i64.
                ValType::F32
                    if self.next_float_register < float_argument_register_count(Isa::Rv32) =>
                {
                    self.next_float_register += 1;
                    vec![Slot::FloatRegister(self.next_float_register - 1)]
                }
                ValType::F32 => self.word(),
                _ => self.pair(),
            },
        }
    }
}

/// Lay out `params` (preceded by a pointer if `hidden_result_pointer`).
pub fn argument_layout(
    isa: Isa,
    float_abi: FloatAbi,
    params: &[ValType],
    hidden_result_pointer: bool,
) -> ArgumentLayout {
    let mut allocator = Allocator {
        isa,
        next_register: 0,
        next_stack: 0,
        float_taken: [false; 16],
        float_registers_closed: false,
        next_float_register: 0,
    };
    let types = hidden_result_pointer
        .then_some(ValType::I32)
        .into_iter()
        .chain(params.iter().copied());
    let words = types
        .map(|ty| match (ty, float_abi) {
            (ValType::F32 | ValType::F64, FloatAbi::Hard) => allocator.hard_float(ty),
            (ValType::I32 | ValType::F32 | ValType::FuncRef | ValType::ExternRef, _) => {
                allocator.word()
            }
            (ValType::I64 | ValType::F64, _) => allocator.pair(),
        })
        .collect();
    ArgumentLayout {
        words,
        stack_bytes: allocator.next_stack,
    }
}

/// Where a single result comes back (one slot per word, low word first).
pub fn result_slots(isa: Isa, float_abi: FloatAbi, ty: ValType) -> Vec<Slot> {
    use Slot::{FloatRegister as F, Register as R};
    match (ty, float_abi, isa) {
        (ValType::F32, FloatAbi::Hard, _) => vec![F(0)],
        (ValType::F64, FloatAbi::Hard, Isa::Arm) => vec![F(0), F(1)],
        (ValType::I32 | ValType::F32 | ValType::FuncRef | ValType::ExternRef, _, _) => {
            vec![R(0)]
        }
        (ValType::I64 | ValType::F64, _, _) => vec![R(0), R(1)],
    }
}

/// Field offsets and total size of the several-results struct (natural alignment, 8-byte
/// fields (i64, f64) 8-aligned).
pub fn result_struct_layout(results: &[ValType]) -> (Vec<u32>, u32) {
    let mut offsets = Vec::with_capacity(results.len());
    let mut size = 0u32;
    let mut align = 4u32;
    for ty in results {
        let field_align = ty.size();
        align = align.max(field_align);
        size = size.next_multiple_of(field_align);
        offsets.push(size);
        size += ty.size();
    }
    (offsets, size.next_multiple_of(align))
}

/// Several results go through a hidden pointer; one result comes back in registers.
pub fn uses_hidden_result_pointer(results: &[ValType]) -> bool {
    results.len() > 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use FloatAbi::{Hard, Soft};
    use Slot::{FloatRegister as F, Register as R, Stack as S};
    use ValType::{F32, F64, I32, I64};

    #[test]
    fn arm_pairs_are_even_and_the_stack_closes_registers() {
        let layout = argument_layout(Isa::Arm, Soft, &[I32, I64, I32, I64, I32], false);
        assert_eq!(
            layout.words,
            vec![
                vec![R(0)],
                vec![R(2), R(3)],
                vec![S(0)],
                vec![S(8), S(12)],
                vec![S(16)]
            ]
        );
        assert_eq!(layout.stack_bytes, 20);
        // r3 stays unused after an i64 that no longer fits r2:r3.
        let layout = argument_layout(Isa::Arm, Soft, &[I32, I32, I32, I64, I32], false);
        assert_eq!(layout.words[3], vec![S(0), S(4)]);
        assert_eq!(layout.words[4], vec![S(8)]);
    }

    #[test]
    fn rv32_pairs_are_unaligned_and_may_split_at_a7() {
        let params = [I32, I64, I32, I32, I32, I64, I64, I32];
        let layout = argument_layout(Isa::Rv32, Soft, &params, true);
        assert_eq!(
            layout.words,
            vec![
                vec![R(0)],
                vec![R(1)],
                vec![R(2), R(3)],
                vec![R(4)],
                vec![R(5)],
                vec![R(6)],
                vec![R(7), S(0)],
                vec![S(8), S(12)],
                vec![S(16)]
            ]
        );
    }

    #[test]
    fn soft_floats_travel_exactly_like_integers_of_their_width() {
        let floats = [F32, F64, F32, F64, F32, F64, F64, F32];
        let integers = floats.map(ValType::same_width_integer);
        for isa in [Isa::Arm, Isa::Rv32] {
            for hidden in [false, true] {
                assert_eq!(
                    argument_layout(isa, Soft, &floats, hidden),
                    argument_layout(isa, Soft, &integers, hidden)
                );
            }
            assert_eq!(result_slots(isa, Soft, F32), vec![R(0)]);
            assert_eq!(result_slots(isa, Soft, F64), vec![R(0), R(1)]);
        }
    }

    #[test]
    fn arm_hard_floats_back_fill_and_close_on_the_first_stacked_float() {
        // f32 s0, f64 d1 (s2:s3), f32 back-fills s1, integers unaffected.
        let layout = argument_layout(Isa::Arm, Hard, &[F32, F64, I32, F32, I64], false);
        assert_eq!(
            layout.words,
            vec![
                vec![F(0)],
                vec![F(2), F(3)],
                vec![R(0)],
                vec![F(1)],
                vec![R(2), R(3)]
            ]
        );
        assert_eq!(layout.stack_bytes, 0);
        // Seven doubles fill d0–d6; an f32 takes s14, the eighth double d7 does not fit
        // (s15 is free but odd), goes to the stack and closes the VFP registers: the last f32
        // goes to the stack although s15 is free.
        let mut params = vec![F64; 7];
        params.extend([F32, I32, F64, F32]);
        let layout = argument_layout(Isa::Arm, Hard, &params, false);
        assert_eq!(layout.words[6], vec![F(12), F(13)]);
        assert_eq!(layout.words[7], vec![F(14)]);
        assert_eq!(layout.words[8], vec![R(0)]);
        assert_eq!(layout.words[9], vec![S(0), S(4)]);
        assert_eq!(layout.words[10], vec![S(8)]);
        // Sixteen f32 fill s0–s15, the seventeenth is stacked, 8-aligned doubles after it.
        let mut params = vec![F32; 17];
        params.push(F64);
        let layout = argument_layout(Isa::Arm, Hard, &params, false);
        assert_eq!(layout.words[15], vec![F(15)]);
        assert_eq!(layout.words[16], vec![S(0)]);
        assert_eq!(layout.words[17], vec![S(8), S(12)]);
        assert_eq!(layout.stack_bytes, 16);
        assert_eq!(result_slots(Isa::Arm, Hard, F32), vec![F(0)]);
        assert_eq!(result_slots(Isa::Arm, Hard, F64), vec![F(0), F(1)]);
        assert_eq!(result_slots(Isa::Arm, Hard, I64), vec![R(0), R(1)]);
    }

    #[test]
    fn rv32_hard_f32_uses_fa_registers_then_integer_registers() {
        let mut params = vec![F32; 9];
        params.extend([F64, I32]);
        let layout = argument_layout(Isa::Rv32, Hard, &params, true);
        assert_eq!(layout.words[0], vec![R(0)]);
        for k in 0..8 {
            assert_eq!(layout.words[1 + k], vec![F(k)]);
        }
        // fa0–fa7 exhausted: the ninth f32 like an i32 (a1), the f64 like an i64 (a2:a3).
        assert_eq!(layout.words[9], vec![R(1)]);
        assert_eq!(layout.words[10], vec![R(2), R(3)]);
        assert_eq!(layout.words[11], vec![R(4)]);
        assert_eq!(result_slots(Isa::Rv32, Hard, F32), vec![F(0)]);
        assert_eq!(result_slots(Isa::Rv32, Hard, F64), vec![R(0), R(1)]);
    }

    #[test]
    fn result_struct_aligns_eight_byte_fields() {
        assert_eq!(result_struct_layout(&[I32, I64, I32]), (vec![0, 8, 16], 24));
        assert_eq!(result_struct_layout(&[F32, F64, F32]), (vec![0, 8, 16], 24));
        assert_eq!(result_struct_layout(&[I32, I32]), (vec![0, 4], 8));
        assert!(uses_hidden_result_pointer(&[I32, I32]));
        assert!(!uses_hidden_result_pointer(&[I64]));
    }
}

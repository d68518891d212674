//! Where the calling conventions of docs/ABI.md put each argument word and result field:
//! AAPCS (base variant) on Cortex-M, ILP32 on RV32.

use synth_compiler::Isa;

use crate::wasm_info::ValType;

/// One 32-bit word of an argument: an argument register (index into r0–r3 / a0–a7) or a byte
/// offset from the stack pointer at the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Register(usize),
    Stack(u32),
}

/// Where every argument goes. `words[i]` holds one slot for an i32 and two (low, high) for an
/// i64; a hidden result pointer, when present, is `words[0]`.
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

/// Lay out `params` (preceded by a pointer if `hidden_result_pointer`).
pub fn argument_layout(
    isa: Isa,
    params: &[ValType],
    hidden_result_pointer: bool,
) -> ArgumentLayout {
    let register_count = argument_register_count(isa);
    let mut next_register = 0usize;
    let mut next_stack = 0u32;
    let mut words = Vec::new();
    let types = hidden_result_pointer
        .then_some(ValType::I32)
        .into_iter()
        .chain(params.iter().copied());
    for ty in types {
        let slots = match ty {
            ValType::I32 => {
                if next_register < register_count {
                    next_register += 1;
                    vec![Slot::Register(next_register - 1)]
                } else {
                    next_stack += 4;
                    vec![Slot::Stack(next_stack - 4)]
                }
            }
            ValType::I64 => match isa {
                Isa::Arm => {
                    // Even/odd register pair; once one does not fit, r0–r3 are closed for good.
                    next_register = next_register.next_multiple_of(2);
                    if next_register + 2 <= register_count {
                        next_register += 2;
                        vec![
                            Slot::Register(next_register - 2),
                            Slot::Register(next_register - 1),
                        ]
                    } else {
                        next_register = register_count;
                        next_stack = next_stack.next_multiple_of(8) + 8;
                        vec![Slot::Stack(next_stack - 8), Slot::Stack(next_stack - 4)]
                    }
                }
                Isa::Rv32 => {
                    if next_register + 2 <= register_count {
                        next_register += 2;
                        vec![
                            Slot::Register(next_register - 2),
                            Slot::Register(next_register - 1),
                        ]
                    } else if next_register + 1 == register_count {
                        // Low half in a7, high half in the first stack word.
                        next_register += 1;
                        next_stack += 4;
                        vec![
                            Slot::Register(register_count - 1),
                            Slot::Stack(next_stack - 4),
                        ]
                    } else {
                        next_stack = next_stack.next_multiple_of(8) + 8;
                        vec![Slot::Stack(next_stack - 8), Slot::Stack(next_stack - 4)]
                    }
                }
            },
        };
        words.push(slots);
    }
    ArgumentLayout {
        words,
        stack_bytes: next_stack,
    }
}

/// Field offsets and total size of the several-results struct (natural alignment, i64 8-aligned).
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
    use Slot::{Register as R, Stack as S};
    use ValType::{I32, I64};

    #[test]
    fn arm_pairs_are_even_and_the_stack_closes_registers() {
        let layout = argument_layout(Isa::Arm, &[I32, I64, I32, I64, I32], false);
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
        let layout = argument_layout(Isa::Arm, &[I32, I32, I32, I64, I32], false);
        assert_eq!(layout.words[3], vec![S(0), S(4)]);
        assert_eq!(layout.words[4], vec![S(8)]);
    }

    #[test]
    fn rv32_pairs_are_unaligned_and_may_split_at_a7() {
        let params = [I32, I64, I32, I32, I32, I64, I64, I32];
        let layout = argument_layout(Isa::Rv32, &params, true);
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
    fn result_struct_aligns_i64_fields() {
        assert_eq!(result_struct_layout(&[I32, I64, I32]), (vec![0, 8, 16], 24));
        assert_eq!(result_struct_layout(&[I32, I32]), (vec![0, 4], 8));
        assert!(uses_hidden_result_pointer(&[I32, I32]));
        assert!(!uses_hidden_result_pointer(&[I64]));
    }
}

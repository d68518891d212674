//! Execution harness for synth: runs compiled objects in unicorn (`emu`), the same wasm in
//! wasmtime (`oracle`), and reads the fixture vector files (`vectors`). Test-only (GPL).

pub mod bench;
pub mod compare;
pub mod emu;
pub mod fuzz;
pub mod oracle;
pub mod providers;
pub mod spec;
pub mod toolchain;
pub mod vectors;
pub mod wasm_info;

pub use wasm_info::{ModuleInfo, Signature, ValType, Value};

/// A harness failure: a missing tool, a link error, a malformed fixture, an emulator fault. Never
/// a wasm trap (those are `Outcome::Trapped`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarnessError {
    pub message: String,
}

impl HarnessError {
    pub fn new(message: impl Into<String>) -> Self {
        HarnessError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HarnessError {}

/// A private scratch directory, removed when dropped.
pub struct ScratchDir {
    path: std::path::PathBuf,
}

impl ScratchDir {
    pub fn new() -> Result<ScratchDir, HarnessError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "synth-tests-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover from a crashed run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| HarnessError::new(format!("cannot create {}: {e}", path.display())))?;
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Trap codes passed to `synth_trap` (docs/ABI.md); the oracle maps wasmtime's traps onto them.
pub mod trap_code {
    pub const UNREACHABLE: u32 = 1;
    pub const MEMORY_OUT_OF_BOUNDS: u32 = 2;
    pub const DIVIDE_BY_ZERO: u32 = 3;
    pub const INTEGER_OVERFLOW: u32 = 4;
    pub const STACK_EXHAUSTED: u32 = 5;
    pub const DATA_SEGMENT_DOES_NOT_FIT: u32 = 6;
    /// A float-to-integer `trunc` of a NaN.
    pub const INVALID_CONVERSION: u32 = 7;
    pub const TABLE_OUT_OF_BOUNDS: u32 = 8;
    /// `call_indirect` beyond the table (wasmtime reports it as a table access out of bounds).
    pub const UNDEFINED_ELEMENT: u32 = 9;
    pub const UNINITIALIZED_ELEMENT: u32 = 10;
    pub const INDIRECT_CALL_TYPE_MISMATCH: u32 = 11;
    pub const ELEM_SEGMENT_DOES_NOT_FIT: u32 = 12;

    /// Does synth's trap `actual` mean wasmtime's `expected`? Equal codes, or an undefined
    /// element where wasmtime, which does not tell them apart, says table out of bounds.
    pub fn same_trap(expected: u32, actual: u32) -> bool {
        expected == actual || (expected == TABLE_OUT_OF_BOUNDS && actual == UNDEFINED_ELEMENT)
    }

    pub fn name(code: u32) -> &'static str {
        match code {
            UNREACHABLE => "unreachable",
            MEMORY_OUT_OF_BOUNDS => "out-of-bounds memory access",
            DIVIDE_BY_ZERO => "integer divide by zero",
            INTEGER_OVERFLOW => "integer overflow",
            STACK_EXHAUSTED => "call stack exhausted",
            DATA_SEGMENT_DOES_NOT_FIT => "data segment does not fit",
            INVALID_CONVERSION => "invalid conversion to integer",
            TABLE_OUT_OF_BOUNDS => "out of bounds table access",
            UNDEFINED_ELEMENT => "undefined element",
            UNINITIALIZED_ELEMENT => "uninitialized element",
            INDIRECT_CALL_TYPE_MISMATCH => "indirect call type mismatch",
            ELEM_SEGMENT_DOES_NOT_FIT => "element segment does not fit",
            _ => "unknown trap code",
        }
    }
}

/// How one call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Returned(Vec<Value>),
    /// A trap, as a docs/ABI.md trap code.
    Trapped(u32),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Returned(values) => {
                let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                write!(f, "returned [{}]", shown.join(", "))
            }
            Outcome::Trapped(code) => write!(f, "trap {code} ({})", trap_code::name(*code)),
        }
    }
}

/// The mock semantics every imported function has, on wasmtime and in the emulator alike:
/// n_k = (wrapping sum of the arguments) + 0x1234 * (k + 1), where an i32 argument counts
/// sign-extended and a float argument counts as its bit pattern read as the signed integer of
/// the same width (f32 bits sign-extended from 32 bits, f64 bits as an i64). An integer result k
/// is n_k truncated to its type; a float result k is n_k converted as a signed 64-bit integer to
/// the float type, rounding to nearest, ties to even (what `f32.convert_i64_s` /
/// `f64.convert_i64_s` compute), so float results are ordinary finite numbers.
pub fn mock_import_results(args: &[Value], results: &[ValType]) -> Vec<Value> {
    let sum = args
        .iter()
        .fold(0i64, |acc, v| acc.wrapping_add(v.as_i64_sign_extended()));
    results
        .iter()
        .enumerate()
        .map(|(k, ty)| {
            let n = sum.wrapping_add(0x1234 * (k as i64 + 1));
            match ty {
                ValType::I32 | ValType::I64 => Value::wrap(*ty, n),
                ValType::F32 => Value::from_f32(n as f32),
                ValType::F64 => Value::from_f64(n as f64),
                // A host function returns a null reference.
                ValType::FuncRef | ValType::ExternRef => Value::from_bits(*ty, 0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_sums_sign_extended_args_and_offsets_each_result() {
        let results = mock_import_results(
            &[Value::I32(-1), Value::I64(0x1_0000_0000)],
            &[ValType::I32, ValType::I64],
        );
        assert_eq!(
            results,
            vec![
                Value::I32((0xffff_ffffi64 + 0x1234) as i32),
                Value::I64(0xffff_ffff + 0x2468)
            ]
        );
    }

    #[test]
    fn mock_counts_float_arguments_by_bits_and_converts_float_results() {
        // 1.0f32 = 0x3f800000; -0.0f64 = 0x8000000000000000 (i64::MIN); -1.0f32 = 0xbf800000
        // counts sign-extended.
        let results = mock_import_results(
            &[
                Value::from_f32(1.0),
                Value::from_f64(-0.0),
                Value::from_f32(-1.0),
            ],
            &[ValType::F32, ValType::F64, ValType::I64],
        );
        let sum = 0x3f80_0000i64
            .wrapping_add(i64::MIN)
            .wrapping_add(0xbf80_0000u32 as i32 as i64);
        assert_eq!(
            results,
            vec![
                Value::from_f32((sum + 0x1234) as f32),
                Value::from_f64((sum + 0x2468) as f64),
                Value::I64(sum + 0x369c),
            ]
        );
        // Conversion rounds to nearest, ties to even: 2^24 + 1 is a tie in f32.
        let tie = mock_import_results(&[Value::I32((1 << 24) + 1 - 0x1234)], &[ValType::F32]);
        assert_eq!(tie, vec![Value::F32(0x4b80_0000)]);
        let up = mock_import_results(&[Value::I32((1 << 24) + 3 - 0x1234)], &[ValType::F32]);
        assert_eq!(up, vec![Value::F32(0x4b80_0002)]);
    }
}

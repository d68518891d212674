//! Observing one vector in wasmtime and in the emulator, comparing the two, and explaining
//! differences.
//!
//! Comparison rules (`value_agrees`): integers exactly. A float result: if wasmtime's is not a
//! NaN, the bits must be equal. If wasmtime's is a NaN, synth's must be a NaN, and
//! - wasmtime's is signalling (quiet bit clear: it came from a bit-preserving operation such as
//!   a load, reinterpret, neg, abs, copysign or select): the bits must be equal;
//! - wasmtime's is canonical (payload exactly the quiet bit, either sign): synth's must be
//!   canonical too (either sign);
//! - otherwise (quiet, non-canonical): synth's must be a quiet (arithmetic) NaN.
//!
//! One relaxation, which the WebAssembly spec allows and wasmtime's own choice of NaN would
//! otherwise turn into false failures (`value_agrees_given`): when an argument of the call is a
//! non-canonical NaN, an operation may answer any arithmetic NaN, so a canonical NaN from
//! wasmtime is then matched by any quiet NaN.
//!
//! References (funcref, externref) compare by null-ness only: a non-null funcref is an opaque
//! handle in wasmtime and a descriptor address in synth.
//!
//! Globals compare the same way; traps exactly; linear memory byte for byte.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::emu::SynthInstance;
use crate::oracle::Oracle;
use crate::vectors::Vector;
use crate::{HarnessError, Outcome, Value};

/// What one vector did on a fresh instance (in wasmtime or the emulator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Instantiation trap, if instantiation failed (then the call never happens).
    pub init_trap: Option<u32>,
    pub outcome: Option<Outcome>,
    pub memory_digest: u64,
    pub memory_len: usize,
    pub globals: Vec<Value>,
}

/// Does synth's value agree with wasmtime's (`expected`)? See the module documentation.
pub fn value_agrees(expected: Value, actual: Value) -> bool {
    if expected.ty() != actual.ty() {
        return false;
    }
    // A reference is compared by null-ness: wasmtime's non-null funcref has no address to
    // compare with synth's descriptor pointer.
    if expected.ty().is_ref() {
        return (expected.bits() == 0) == (actual.bits() == 0);
    }
    if !expected.is_nan() {
        return expected == actual;
    }
    if expected.is_signalling_nan() {
        expected == actual
    } else if expected.is_canonical_nan() {
        actual.is_canonical_nan()
    } else {
        actual.is_arithmetic_nan()
    }
}

/// `value_agrees` for a value computed by a call with `args`: if one of them is a
/// non-canonical NaN, a canonical NaN expectation is met by any arithmetic NaN of its type.
pub fn value_agrees_given(expected: Value, actual: Value, args: &[Value]) -> bool {
    value_agrees(expected, actual)
        || (expected.is_canonical_nan()
            && expected.ty() == actual.ty()
            && actual.is_arithmetic_nan()
            && args.iter().any(|a| a.is_nan() && !a.is_canonical_nan()))
}

/// Same length and every value agrees (given the call's `args`).
pub fn values_agree(expected: &[Value], actual: &[Value], args: &[Value]) -> bool {
    expected.len() == actual.len()
        && expected
            .iter()
            .zip(actual)
            .all(|(e, a)| value_agrees_given(*e, *a, args))
}

/// Results agree value by value, traps exactly (given the call's `args`).
pub fn outcome_agrees(expected: &Outcome, actual: &Outcome, args: &[Value]) -> bool {
    match (expected, actual) {
        (Outcome::Returned(e), Outcome::Returned(a)) => values_agree(e, a, args),
        (Outcome::Trapped(e), Outcome::Trapped(a)) => crate::trap_code::same_trap(*e, *a),
        _ => false,
    }
}

/// Instantiation agrees: neither trapped, or both with the same trap (`trap_code::same_trap`:
/// a `call_indirect` beyond the table in a start function is wasmtime's table out of bounds).
pub fn init_traps_agree(expected: Option<u32>, actual: Option<u32>) -> bool {
    match (expected, actual) {
        (Some(e), Some(a)) => crate::trap_code::same_trap(e, a),
        (e, a) => e == a,
    }
}

/// Does synth's observation of a vector (called with `args`) agree with wasmtime's?
pub fn observations_agree(expected: &Observation, actual: &Observation, args: &[Value]) -> bool {
    let outcomes = match (&expected.outcome, &actual.outcome) {
        (Some(e), Some(a)) => outcome_agrees(e, a, args),
        (None, None) => true,
        _ => false,
    };
    init_traps_agree(expected.init_trap, actual.init_trap)
        && outcomes
        && expected.memory_len == actual.memory_len
        && expected.memory_digest == actual.memory_digest
        && values_agree(&expected.globals, &actual.globals, args)
}

pub fn digest(bytes: &[u8]) -> u64 {
    // DefaultHasher::new() has fixed keys, so digests are stable within a run.
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// Runs `vector` in the oracle; also returns the final memory for diagnostics.
pub fn observe_oracle(
    oracle: &Oracle,
    vector: &Vector,
) -> Result<(Observation, Vec<u8>), HarnessError> {
    match oracle.instantiate()? {
        Err(code) => Ok((
            Observation {
                init_trap: Some(code),
                outcome: None,
                memory_digest: 0,
                memory_len: 0,
                globals: Vec::new(),
            },
            Vec::new(),
        )),
        Ok(mut instance) => {
            let outcome =
                instance.invoke_in(vector.module.as_deref(), &vector.function, &vector.args)?;
            let memory = instance.memory()?;
            Ok((
                Observation {
                    init_trap: None,
                    outcome: Some(outcome),
                    memory_digest: digest(&memory),
                    memory_len: memory.len(),
                    globals: instance.globals()?,
                },
                memory,
            ))
        }
    }
}

pub fn observe_emulator(
    instance: &mut SynthInstance,
    vector: &Vector,
) -> Result<(Observation, Vec<u8>, u64), HarnessError> {
    match instance.instantiate()? {
        Outcome::Trapped(code) => Ok((
            Observation {
                init_trap: Some(code),
                outcome: None,
                memory_digest: 0,
                memory_len: 0,
                globals: Vec::new(),
            },
            Vec::new(),
            0,
        )),
        Outcome::Returned(_) => {
            let call =
                instance.invoke_in(vector.module.as_deref(), &vector.function, &vector.args)?;
            let memory = instance.memory()?;
            Ok((
                Observation {
                    init_trap: None,
                    outcome: Some(call.outcome),
                    memory_digest: digest(&memory),
                    memory_len: memory.len(),
                    globals: instance.globals()?,
                },
                memory,
                call.instructions,
            ))
        }
    }
}

pub fn describe_difference(
    expected: &Observation,
    actual: &Observation,
    memories: (&[u8], &[u8]),
    args: &[Value],
) -> String {
    let mut parts = Vec::new();
    if !init_traps_agree(expected.init_trap, actual.init_trap) {
        parts.push(format!(
            "instantiation: wasmtime {:?}, synth {:?}",
            expected.init_trap, actual.init_trap
        ));
    }
    let outcomes_agree = match (&expected.outcome, &actual.outcome) {
        (Some(e), Some(a)) => outcome_agrees(e, a, args),
        (e, a) => e == a,
    };
    if !outcomes_agree {
        let show = |o: &Option<Outcome>| o.as_ref().map_or("-".to_string(), |o| o.to_string());
        parts.push(format!(
            "wasmtime {}, synth {}",
            show(&expected.outcome),
            show(&actual.outcome)
        ));
    }
    if expected.memory_len != actual.memory_len {
        parts.push(format!(
            "memory size: wasmtime {}, synth {}",
            expected.memory_len, actual.memory_len
        ));
    } else if expected.memory_digest != actual.memory_digest {
        let (wasmtime, synth) = memories;
        let first = wasmtime.iter().zip(synth).position(|(a, b)| a != b);
        parts.push(match first {
            Some(at) => format!(
                "memory differs first at 0x{at:x}: wasmtime {:02x?}, synth {:02x?}",
                &wasmtime[at..(at + 8).min(wasmtime.len())],
                &synth[at..(at + 8).min(synth.len())]
            ),
            None => "memory differs".to_string(),
        });
    }
    if !values_agree(&expected.globals, &actual.globals, args) {
        let show = |values: &[Value]| {
            values
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        parts.push(format!(
            "globals: wasmtime [{}], synth [{}]",
            show(&expected.globals),
            show(&actual.globals)
        ));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trap_code;

    const CANONICAL32: u32 = 0x7fc0_0000;

    #[test]
    fn integers_and_ordinary_floats_must_be_bit_equal() {
        assert!(value_agrees(Value::I32(5), Value::I32(5)));
        assert!(!value_agrees(Value::I32(5), Value::I32(6)));
        assert!(!value_agrees(Value::I32(5), Value::I64(5)));
        assert!(!value_agrees(
            Value::F32(0x3f80_0000),
            Value::I32(0x3f80_0000)
        ));
        assert!(value_agrees(Value::from_f32(1.5), Value::from_f32(1.5)));
        // -0 and +0 compare equal as floats, but not here.
        assert!(!value_agrees(Value::from_f32(0.0), Value::from_f32(-0.0)));
        assert!(!value_agrees(Value::from_f64(-0.0), Value::from_f64(0.0)));
        assert!(!value_agrees(Value::F64(1), Value::F64(2)));
        // A non-NaN expectation is not met by a NaN, nor an infinity by a NaN.
        assert!(!value_agrees(
            Value::F32(0x7f80_0000),
            Value::F32(0x7f80_0001)
        ));
        assert!(!value_agrees(
            Value::from_f64(1.0),
            Value::F64(0x7ff8 << 48)
        ));
    }

    #[test]
    fn nan_rules_follow_the_expected_nan_class() {
        // Canonical expected: any canonical NaN, either sign, nothing else.
        for expected in [Value::F32(CANONICAL32), Value::F32(0xffc0_0000)] {
            assert!(value_agrees(expected, Value::F32(CANONICAL32)));
            assert!(value_agrees(expected, Value::F32(0xffc0_0000)));
            assert!(!value_agrees(expected, Value::F32(0x7fc0_0001)));
            assert!(!value_agrees(expected, Value::F32(0x7fa0_0000)));
            assert!(!value_agrees(expected, Value::from_f32(1.0)));
        }
        let canonical64 = Value::F64(0x7ff8_0000_0000_0000);
        assert!(value_agrees(canonical64, Value::F64(0xfff8_0000_0000_0000)));
        assert!(!value_agrees(
            canonical64,
            Value::F64(0x7ff8_0000_0000_0001)
        ));
        assert!(!value_agrees(canonical64, Value::F32(CANONICAL32)));
        // Quiet non-canonical expected: any quiet NaN, either sign.
        let quiet = Value::F32(0x7fe0_0001);
        assert!(value_agrees(quiet, Value::F32(0x7fe0_0001)));
        assert!(value_agrees(quiet, Value::F32(0xffc0_0000)));
        assert!(value_agrees(quiet, Value::F32(0x7fc0_1234)));
        assert!(!value_agrees(quiet, Value::F32(0x7fa0_0000)));
        assert!(!value_agrees(quiet, Value::F32(0x7f80_0000)));
        let quiet64 = Value::F64(0x7ffc_0000_0000_0001);
        assert!(value_agrees(quiet64, Value::F64(0xfff8_0000_0000_0000)));
        assert!(!value_agrees(quiet64, Value::F64(0x7ff4_0000_0000_0000)));
        // Signalling expected: exactly those bits.
        let signalling = Value::F32(0xffa0_0001);
        assert!(value_agrees(signalling, Value::F32(0xffa0_0001)));
        assert!(!value_agrees(signalling, Value::F32(0x7fa0_0001)));
        assert!(!value_agrees(signalling, Value::F32(0xffe0_0001)));
        assert!(!value_agrees(signalling, Value::F32(CANONICAL32)));
        let signalling64 = Value::F64(0x7ff0_0000_0000_0001);
        assert!(value_agrees(
            signalling64,
            Value::F64(0x7ff0_0000_0000_0001)
        ));
        assert!(!value_agrees(
            signalling64,
            Value::F64(0x7ff8_0000_0000_0001)
        ));
    }

    fn observation(outcome: Option<Outcome>, globals: Vec<Value>) -> Observation {
        Observation {
            init_trap: None,
            outcome,
            memory_digest: 7,
            memory_len: 65536,
            globals,
        }
    }

    #[test]
    fn observations_compare_results_and_globals_with_the_nan_rules() {
        let returned = |v: Vec<Value>| Some(Outcome::Returned(v));
        let expected = observation(
            returned(vec![Value::F32(CANONICAL32), Value::I32(1)]),
            vec![Value::F64(0x7ffc_0000_0000_0000)],
        );
        let fine = observation(
            returned(vec![Value::F32(0xffc0_0000), Value::I32(1)]),
            vec![Value::F64(0x7ff8_0000_0000_0001)],
        );
        assert!(observations_agree(&expected, &fine, &[]));
        assert_eq!(describe_difference(&expected, &fine, (&[], &[]), &[]), "");

        let wrong_result = observation(
            returned(vec![Value::F32(0x7fc0_0001), Value::I32(1)]),
            fine.globals.clone(),
        );
        assert!(!observations_agree(&expected, &wrong_result, &[]));
        let why = describe_difference(&expected, &wrong_result, (&[], &[]), &[]);
        assert!(why.contains("f32:nan:0x400001"), "{why}");

        let wrong_global = observation(fine.outcome.clone(), vec![Value::F64(0x7ff4 << 48)]);
        assert!(!observations_agree(&expected, &wrong_global, &[]));
        let why = describe_difference(&expected, &wrong_global, (&[], &[]), &[]);
        assert!(why.starts_with("globals:"), "{why}");

        let trapped = observation(Some(Outcome::Trapped(7)), fine.globals.clone());
        assert!(!observations_agree(&expected, &trapped, &[]));
        assert!(observations_agree(&trapped, &trapped.clone(), &[]));
        let other_trap = observation(Some(Outcome::Trapped(4)), fine.globals.clone());
        assert!(!observations_agree(&trapped, &other_trap, &[]));

        let mut other_memory = fine.clone();
        other_memory.memory_digest = 8;
        assert!(!observations_agree(&expected, &other_memory, &[]));
        let mut initless = fine.clone();
        initless.init_trap = Some(6);
        assert!(!observations_agree(&expected, &initless, &[]));
        // A start function's call_indirect beyond the table: wasmtime's table out of bounds is
        // synth's undefined element, as for calls.
        let mut beyond = initless.clone();
        beyond.init_trap = Some(trap_code::TABLE_OUT_OF_BOUNDS);
        let mut undefined = initless.clone();
        undefined.init_trap = Some(trap_code::UNDEFINED_ELEMENT);
        assert!(observations_agree(&beyond, &undefined, &[]));
        assert!(!observations_agree(&undefined, &beyond, &[]));
    }

    #[test]
    fn a_non_canonical_nan_argument_allows_any_arithmetic_nan_for_a_canonical_one() {
        let canonical = Value::F32(CANONICAL32);
        let payload = Value::F32(0x7fc0_0001);
        assert!(!value_agrees_given(
            canonical,
            payload,
            &[Value::from_f32(1.0)]
        ));
        assert!(!value_agrees_given(canonical, payload, &[canonical]));
        assert!(value_agrees_given(
            canonical,
            payload,
            &[Value::F32(0x7fe0_0001)]
        ));
        assert!(value_agrees_given(
            canonical,
            payload,
            &[Value::F64(0x7ff4 << 48)]
        ));
        // Still a quiet NaN of the same type, and other expectations are unchanged.
        let nan_arg = [Value::F32(0x7fa0_0000)];
        assert!(!value_agrees_given(
            canonical,
            Value::F32(0x7fa0_0001),
            &nan_arg
        ));
        assert!(!value_agrees_given(
            canonical,
            Value::F64(0x7ff8 << 48),
            &nan_arg
        ));
        assert!(!value_agrees_given(
            Value::F32(0x7fa0_0000),
            payload,
            &nan_arg
        ));
        assert!(!value_agrees_given(Value::from_f32(1.0), payload, &nan_arg));
        let returned = |v| Outcome::Returned(vec![v]);
        assert!(outcome_agrees(
            &returned(canonical),
            &returned(payload),
            &nan_arg
        ));
        assert!(!outcome_agrees(
            &returned(canonical),
            &returned(payload),
            &[]
        ));
    }
}

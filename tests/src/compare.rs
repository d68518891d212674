//! Observing one vector in wasmtime and in the emulator, and explaining differences.

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
            let outcome = instance.invoke(&vector.function, &vector.args)?;
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
            let call = instance.invoke(&vector.function, &vector.args)?;
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
) -> String {
    let mut parts = Vec::new();
    if expected.init_trap != actual.init_trap {
        parts.push(format!(
            "instantiation: wasmtime {:?}, synth {:?}",
            expected.init_trap, actual.init_trap
        ));
    }
    if expected.outcome != actual.outcome {
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
    if expected.globals != actual.globals {
        parts.push(format!(
            "globals: wasmtime {:?}, synth {:?}",
            expected.globals, actual.globals
        ));
    }
    parts.join("; ")
}

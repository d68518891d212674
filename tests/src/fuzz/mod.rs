//! Differential fuzzing: `generate` draws a module from a seed with `wasm-smith`, `run` compiles
//! it for every target with both register allocators and bounds checks on and off, runs every
//! exported function on edge and random arguments in the emulator and in wasmtime, and
//! classifies each difference as a resource limit (stack depth, instruction budget) or a bug;
//! `reduce` shrinks a failing module with `wasm-shrink` and writes it as a fixture.
//!
//! Everything is a function of the seed: the module, its vectors and the order of work.
//! `examples/fuzz.rs` is the long-running driver, `tests/fuzz_smoke.rs` the bounded run in
//! `cargo test`.

pub mod canonicalize;
pub mod generate;
pub mod malformed;
pub mod reduce;
pub mod run;
pub mod summary;

pub use generate::{Features, Generated, Shape, generate};
pub use run::{Finding, FindingKind, ModuleOutcome, RunOptions, Variant, run_module};
pub use summary::Summary;

use crate::vectors::{self, Vector};
use crate::wasm_info::{ModuleInfo, ValType, Value};

/// SplitMix64: small, fast, and the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

/// The seed of module `index` of a run with seed `run_seed`.
pub fn module_seed(run_seed: u64, index: u64) -> u64 {
    Rng::new(run_seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

/// A random argument: an edge value half of the time, otherwise random bits (small integers
/// and ordinary floats more often than not).
fn random_value(rng: &mut Rng, ty: ValType) -> Value {
    let edges = vectors::edge_values(ty);
    if rng.below(2) == 0 || ty.is_ref() {
        return edges[rng.below(edges.len() as u64) as usize];
    }
    let bits = rng.next_u64();
    match (ty, rng.below(3)) {
        (ValType::I32 | ValType::I64, 0) => Value::wrap(ty, (bits % 256) as i64 - 128),
        (ValType::F32, 0) => Value::from_f32((bits % 2001) as f32 / 8.0 - 125.0),
        (ValType::F64, 0) => Value::from_f64((bits % 20001) as f64 / 16.0 - 625.0),
        _ => Value::from_bits(ty, bits),
    }
}

/// The vectors of one module: for every exported function, up to `edge` combinations of edge
/// values (spread over the cross product) and `random` random argument lists; then the same for
/// every export of each linked provider (module name, description), called directly.
pub fn module_vectors(
    info: &ModuleInfo,
    providers: &[(String, ModuleInfo)],
    seed: u64,
    edge: usize,
    random: usize,
) -> Vec<Vector> {
    let mut rng = Rng::new(seed ^ 0x7665_6374_6f72_7321);
    let mut out = Vec::new();
    let owners = std::iter::once((None, info))
        .chain(providers.iter().map(|(name, info)| (Some(name), info)));
    for (module, info) in owners {
        let mut seen = std::collections::BTreeSet::new();
        for export in &info.exports {
            if !seen.insert(export.symbol.clone()) {
                continue; // the same function under another name
            }
            let params = &export.sig.params;
            let all_edges = vectors::edge_vectors(params);
            let stride = all_edges.len().div_ceil(edge.max(1)).max(1);
            // A random phase so the same parameter list does not always get the same
            // combinations.
            let phase = rng.below(stride as u64) as usize;
            let mut lists: Vec<Vec<Value>> = all_edges
                .into_iter()
                .skip(phase)
                .step_by(stride)
                .take(edge)
                .collect();
            if !params.is_empty() {
                for _ in 0..random {
                    lists.push(params.iter().map(|t| random_value(&mut rng, *t)).collect());
                }
            }
            lists.dedup();
            out.extend(lists.into_iter().map(|args| Vector {
                module: module.cloned(),
                function: export.name.clone(),
                args,
                line: 0,
            }));
        }
    }
    out
}

/// A value as a `.vectors` literal (integers in decimal, floats as exact WAT literals).
pub fn vector_literal(value: Value) -> String {
    match value {
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F32(bits) => float_literal(u64::from(bits), 23, 8, f64::from(f32::from_bits(bits))),
        Value::F64(bits) => float_literal(bits, 52, 11, f64::from_bits(bits)),
        Value::FuncRef(_) | Value::ExternRef(_) => "null".to_string(),
    }
}

fn float_literal(bits: u64, mantissa_bits: u32, exponent_bits: u32, value: f64) -> String {
    let sign = if bits >> (mantissa_bits + exponent_bits) & 1 == 1 {
        "-"
    } else {
        ""
    };
    let exponent_all_ones = (1u64 << exponent_bits) - 1;
    let exponent = (bits >> mantissa_bits) & exponent_all_ones;
    let mantissa = bits & ((1u64 << mantissa_bits) - 1);
    if exponent == exponent_all_ones {
        return if mantissa == 0 {
            format!("{sign}inf")
        } else {
            format!("{sign}nan:0x{mantissa:x}")
        };
    }
    if mantissa_bits == 23 {
        // Shortest round-trip decimal of the f32 (never through f64's).
        format!("{:?}", value as f32)
    } else {
        format!("{value:?}")
    }
}

/// A `.vectors` file listing `vectors` (one line per call).
pub fn vectors_file(vectors: &[Vector]) -> String {
    let mut text = String::new();
    for vector in vectors {
        let args: Vec<String> = vector.args.iter().map(|v| vector_literal(*v)).collect();
        if let Some(module) = &vector.module {
            text.push_str(&format!("@{module} "));
        }
        text.push_str(&format!("{}: {}\n", vector.function, args.join(" ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_literals_parse_back_to_the_same_bits() {
        let mut values = Vec::new();
        for ty in [ValType::I32, ValType::I64, ValType::F32, ValType::F64] {
            values.extend(vectors::edge_values(ty));
        }
        let mut rng = Rng::new(1);
        for _ in 0..2000 {
            for ty in [ValType::F32, ValType::F64, ValType::I64] {
                values.push(Value::from_bits(ty, rng.next_u64()));
            }
        }
        for value in values {
            let text = vector_literal(value);
            let back = vectors::parse_value(&text, value.ty()).unwrap();
            assert_eq!(back, value, "{text}");
        }
    }

    #[test]
    fn generation_is_a_function_of_the_seed() {
        let features = Features::supported();
        let shape = Shape::default();
        let a = generate(42, &features, &shape).unwrap();
        let b = generate(42, &features, &shape).unwrap();
        assert_eq!(a.wasm, b.wasm);
        let c = generate(43, &features, &shape).unwrap();
        assert_ne!(a.wasm, c.wasm);
    }
}

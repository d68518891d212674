//! Bad input never crashes the compiler: thousands of mutated fixtures go through `compile`,
//! and every result is either a well-formed ELF object or a clean error value.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use synth_compiler::{CompileError, ErrorKind, Options, Target, compile};

/// Deterministic xorshift64* generator: the same mutations on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutating a module means compiling it again and again; very large fixtures (those that
/// exist to stress frame sizes) would only make this test slow, not more thorough.
const MAX_MUTATED_FIXTURE_BYTES: usize = 64 * 1024;

fn fixture_binaries() -> Vec<(String, Vec<u8>)> {
    common::fixture_texts()
        .into_iter()
        .map(|(name, text)| {
            let wasm = wat::parse_bytes(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, wasm.into_owned())
        })
        .filter(|(_, wasm)| wasm.len() <= MAX_MUTATED_FIXTURE_BYTES)
        .collect()
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        match rng.below(6) {
            // Flip one bit.
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
            // Overwrite a byte with an interesting value.
            1 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x0b, 0x10][rng.below(8)];
            }
            // Truncate.
            2 if !bytes.is_empty() => {
                let n = rng.below(bytes.len());
                bytes.truncate(n);
            }
            // Insert a random byte.
            3 => {
                let i = rng.below(bytes.len() + 1);
                bytes.insert(i, rng.next() as u8);
            }
            // Delete a byte.
            4 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes.remove(i);
            }
            // Duplicate a slice (LEB sizes go wrong, sections repeat).
            _ if bytes.len() > 2 => {
                let a = rng.below(bytes.len() - 1);
                let b = a + 1 + rng.below((bytes.len() - a).min(16));
                let slice = bytes[a..b.min(bytes.len())].to_vec();
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, slice);
            }
            _ => {}
        }
    }
    bytes
}

/// Compile without letting a panic escape; a panic is reported as a test failure.
fn compile_caught(
    input: &[u8],
    options: &Options,
) -> Result<Result<synth_compiler::Output, CompileError>, String> {
    catch_unwind(AssertUnwindSafe(|| compile(input, options))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string())
    })
}

fn assert_object(bytes: &[u8]) {
    assert!(bytes.len() > 52, "object too short");
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 1, "not ET_REL");
}

#[test]
fn mutated_fixtures_give_objects_or_clean_errors() {
    let fixtures = fixture_binaries();
    assert!(!fixtures.is_empty(), "no fixtures found");
    let targets = [Target::CortexM4, Target::Rv32imac];
    let per_fixture = 4000 / fixtures.len() + 1;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut objects, mut errors, mut panics) = (0usize, 0usize, Vec::new());
    for (name, wasm) in &fixtures {
        for i in 0..per_fixture {
            let mutated = mutate(&mut rng, wasm);
            let options = Options::new(targets[i % targets.len()]);
            match compile_caught(&mutated, &options) {
                Ok(Ok(out)) => {
                    assert_object(&out.object);
                    objects += 1;
                }
                Ok(Err(e)) => {
                    assert!(!e.message.is_empty(), "{name}: empty error message");
                    assert_ne!(
                        e.kind,
                        ErrorKind::Internal,
                        "{name} mutation {i}: internal error: {e}"
                    );
                    errors += 1;
                }
                Err(p) => panics.push(format!("{name} mutation {i}: panic: {p}")),
            }
        }
    }
    println!("mutated inputs: {objects} objects, {errors} clean errors");
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
    assert!(objects + errors >= 4000);
}

#[test]
fn garbage_inputs_are_clean_errors() {
    let options = Options::new(Target::CortexM3);
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\0asm".to_vec(),
        b"\0asm\x01\0\0\0\x01".to_vec(),
        vec![0xff; 1000],
        b"(module (func (result i32) i32.const 1 i32.add))".to_vec(),
        b"(module".to_vec(),
        "(module (func $f (param i32) (result i32) local.get 0 i32x4.splat i32x4.extract_lane 0))"
            .as_bytes()
            .to_vec(),
    ];
    for input in cases {
        let result = compile_caught(&input, &options).expect("compile panicked");
        let err = result.expect_err("garbage must not compile");
        assert_ne!(err.kind, ErrorKind::Internal, "{err}");
    }
}

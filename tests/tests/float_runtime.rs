//! The soft-float runtime (`compiler-component/src/softfloat/runtime.wat`: sqrt, rounding,
//! min/max and saturating truncation written with integer instructions only) against wasmtime
//! running the real float instructions.
//!
//! Three instances share one store: the runtime, a reference module doing each operation with
//! the native instruction on the same bit patterns, and a driver that imports both and calls them
//! over a batch of inputs in its memory (one host call per batch instead of two per vector, which
//! keeps the unoptimized test fast). Inputs are edge values (all pairs of them for binary
//! operators) plus seeded xorshift bit patterns, many of them placed where rounding decisions
//! and range limits are. Run with `-- --nocapture` to see the vector counts.
//!
//! Comparison (WebAssembly NaN propagation): a non-NaN reference result must be matched bit for
//! bit; a NaN reference result must be answered by an arithmetic NaN (quiet bit set), and by the
//! canonical NaN when no operand was a NaN. Integer results must be equal.

use std::fmt::Write as _;

use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, ValType};
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store};

const RUNTIME: &str = include_str!("../../compiler-component/src/softfloat/runtime.wat");

/// Pseudo-random vectors per operator, on top of the edge values.
const RANDOM_VECTORS: usize = 400_000;

/// The value kinds of the operators: floats travel as bit patterns in i32 / i64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    F32,
    F64,
    I32,
    I64,
}

impl Ty {
    fn wasm(self) -> &'static str {
        match self {
            Ty::F32 | Ty::I32 => "i32",
            Ty::F64 | Ty::I64 => "i64",
        }
    }

    fn mask(self) -> u64 {
        match self {
            Ty::F32 | Ty::I32 => 0xffff_ffff,
            Ty::F64 | Ty::I64 => u64::MAX,
        }
    }

    fn sign(self) -> u64 {
        match self {
            Ty::F32 | Ty::I32 => 1 << 31,
            Ty::F64 | Ty::I64 => 1 << 63,
        }
    }

    fn infinity(self) -> u64 {
        match self {
            Ty::F32 => 0x7f80_0000,
            Ty::F64 => 0x7ff0_0000_0000_0000,
            Ty::I32 | Ty::I64 => unreachable!("integers have no infinity"),
        }
    }

    fn quiet(self) -> u64 {
        match self {
            Ty::F32 => 0x0040_0000,
            Ty::F64 => 0x0008_0000_0000_0000,
            Ty::I32 | Ty::I64 => unreachable!("integers have no NaN"),
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64)
    }

    fn is_nan(self, bits: u64) -> bool {
        self.is_float() && bits & !self.sign() & self.mask() > self.infinity()
    }

    fn hex(self, bits: u64) -> String {
        match self {
            Ty::F32 | Ty::I32 => format!("{bits:#010x}"),
            Ty::F64 | Ty::I64 => format!("{bits:#018x}"),
        }
    }
}

struct Op {
    name: &'static str,
    params: &'static [Ty],
    result: Ty,
}

const fn op(name: &'static str, params: &'static [Ty], result: Ty) -> Op {
    Op {
        name,
        params,
        result,
    }
}

/// Every export of the runtime, with its signature.
const OPS: [Op; 22] = [
    op("f32_sqrt", &[Ty::F32], Ty::F32),
    op("f64_sqrt", &[Ty::F64], Ty::F64),
    op("f32_ceil", &[Ty::F32], Ty::F32),
    op("f32_floor", &[Ty::F32], Ty::F32),
    op("f32_trunc", &[Ty::F32], Ty::F32),
    op("f32_nearest", &[Ty::F32], Ty::F32),
    op("f64_ceil", &[Ty::F64], Ty::F64),
    op("f64_floor", &[Ty::F64], Ty::F64),
    op("f64_trunc", &[Ty::F64], Ty::F64),
    op("f64_nearest", &[Ty::F64], Ty::F64),
    op("f32_min", &[Ty::F32, Ty::F32], Ty::F32),
    op("f32_max", &[Ty::F32, Ty::F32], Ty::F32),
    op("f64_min", &[Ty::F64, Ty::F64], Ty::F64),
    op("f64_max", &[Ty::F64, Ty::F64], Ty::F64),
    op("i32_trunc_sat_f32_s", &[Ty::F32], Ty::I32),
    op("i32_trunc_sat_f32_u", &[Ty::F32], Ty::I32),
    op("i32_trunc_sat_f64_s", &[Ty::F64], Ty::I32),
    op("i32_trunc_sat_f64_u", &[Ty::F64], Ty::I32),
    op("i64_trunc_sat_f32_s", &[Ty::F32], Ty::I64),
    op("i64_trunc_sat_f32_u", &[Ty::F32], Ty::I64),
    op("i64_trunc_sat_f64_s", &[Ty::F64], Ty::I64),
    op("i64_trunc_sat_f64_u", &[Ty::F64], Ty::I64),
];

fn find_op(name: &str) -> &'static Op {
    OPS.iter()
        .find(|op| op.name == name)
        .unwrap_or_else(|| panic!("no operator {name}"))
}

/// The same operators done by wasmtime's float instructions on the same bit patterns.
const REFERENCE: &str = r#"
(module
  (func (export "f32_sqrt") (param i32) (result i32)
    (i32.reinterpret_f32 (f32.sqrt (f32.reinterpret_i32 (local.get 0)))))
  (func (export "f64_sqrt") (param i64) (result i64)
    (i64.reinterpret_f64 (f64.sqrt (f64.reinterpret_i64 (local.get 0)))))
  (func (export "f32_ceil") (param i32) (result i32)
    (i32.reinterpret_f32 (f32.ceil (f32.reinterpret_i32 (local.get 0)))))
  (func (export "f32_floor") (param i32) (result i32)
    (i32.reinterpret_f32 (f32.floor (f32.reinterpret_i32 (local.get 0)))))
  (func (export "f32_trunc") (param i32) (result i32)
    (i32.reinterpret_f32 (f32.trunc (f32.reinterpret_i32 (local.get 0)))))
  (func (export "f32_nearest") (param i32) (result i32)
    (i32.reinterpret_f32 (f32.nearest (f32.reinterpret_i32 (local.get 0)))))
  (func (export "f64_ceil") (param i64) (result i64)
    (i64.reinterpret_f64 (f64.ceil (f64.reinterpret_i64 (local.get 0)))))
  (func (export "f64_floor") (param i64) (result i64)
    (i64.reinterpret_f64 (f64.floor (f64.reinterpret_i64 (local.get 0)))))
  (func (export "f64_trunc") (param i64) (result i64)
    (i64.reinterpret_f64 (f64.trunc (f64.reinterpret_i64 (local.get 0)))))
  (func (export "f64_nearest") (param i64) (result i64)
    (i64.reinterpret_f64 (f64.nearest (f64.reinterpret_i64 (local.get 0)))))
  (func (export "f32_min") (param i32 i32) (result i32)
    (i32.reinterpret_f32
      (f32.min (f32.reinterpret_i32 (local.get 0)) (f32.reinterpret_i32 (local.get 1)))))
  (func (export "f32_max") (param i32 i32) (result i32)
    (i32.reinterpret_f32
      (f32.max (f32.reinterpret_i32 (local.get 0)) (f32.reinterpret_i32 (local.get 1)))))
  (func (export "f64_min") (param i64 i64) (result i64)
    (i64.reinterpret_f64
      (f64.min (f64.reinterpret_i64 (local.get 0)) (f64.reinterpret_i64 (local.get 1)))))
  (func (export "f64_max") (param i64 i64) (result i64)
    (i64.reinterpret_f64
      (f64.max (f64.reinterpret_i64 (local.get 0)) (f64.reinterpret_i64 (local.get 1)))))
  (func (export "i32_trunc_sat_f32_s") (param i32) (result i32)
    (i32.trunc_sat_f32_s (f32.reinterpret_i32 (local.get 0))))
  (func (export "i32_trunc_sat_f32_u") (param i32) (result i32)
    (i32.trunc_sat_f32_u (f32.reinterpret_i32 (local.get 0))))
  (func (export "i32_trunc_sat_f64_s") (param i64) (result i32)
    (i32.trunc_sat_f64_s (f64.reinterpret_i64 (local.get 0))))
  (func (export "i32_trunc_sat_f64_u") (param i64) (result i32)
    (i32.trunc_sat_f64_u (f64.reinterpret_i64 (local.get 0))))
  (func (export "i64_trunc_sat_f32_s") (param i32) (result i64)
    (i64.trunc_sat_f32_s (f32.reinterpret_i32 (local.get 0))))
  (func (export "i64_trunc_sat_f32_u") (param i32) (result i64)
    (i64.trunc_sat_f32_u (f32.reinterpret_i32 (local.get 0))))
  (func (export "i64_trunc_sat_f64_s") (param i64) (result i64)
    (i64.trunc_sat_f64_s (f64.reinterpret_i64 (local.get 0))))
  (func (export "i64_trunc_sat_f64_u") (param i64) (result i64)
    (i64.trunc_sat_f64_u (f64.reinterpret_i64 (local.get 0))))
)
"#;

/// Vectors per driver call. The driver's memory holds four arrays of `BATCH` 8-byte slots: first
/// operand, second operand, runtime result, reference result (i32 values in the low half).
const BATCH: usize = 4096;
const FIRST: usize = 0;
const SECOND: usize = BATCH * 8;
const GOT: usize = 2 * BATCH * 8;
const WANT: usize = 3 * BATCH * 8;

/// The driver: `run_NAME(n)` applies runtime and reference `NAME` to the first `n` slots.
fn driver_wat() -> String {
    let mut wat = String::from("(module\n");
    for op in &OPS {
        let params: Vec<&str> = op.params.iter().map(|ty| ty.wasm()).collect();
        let signature = format!("(param {}) (result {})", params.join(" "), op.result.wasm());
        for module in ["runtime", "reference"] {
            writeln!(
                wat,
                "  (import \"{module}\" \"{0}\" (func ${module}_{0} {signature}))",
                op.name
            )
            .unwrap();
        }
    }
    // Two pages = 4 * BATCH * 8 bytes.
    wat.push_str("  (memory (export \"memory\") 2)\n");
    for op in &OPS {
        let args: Vec<String> = op
            .params
            .iter()
            .zip([FIRST, SECOND])
            .map(|(ty, base)| format!("({}.load offset={base} (local.get $p))", ty.wasm()))
            .collect();
        let args = args.join(" ");
        let result = op.result.wasm();
        let name = op.name;
        writeln!(
            wat,
            "  (func (export \"run_{name}\") (param $n i32) (local $p i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ({result}.store offset={GOT} (local.get $p) (call $runtime_{name} {args}))
        ({result}.store offset={WANT} (local.get $p) (call $reference_{name} {args}))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $next))))"
        )
        .unwrap();
    }
    wat.push_str(")\n");
    wat
}

struct Harness {
    store: Store<()>,
    driver: Instance,
    memory: Memory,
}

impl Harness {
    /// `substitutes` lists (operator, runtime export that stands in for it): deliberately wrong
    /// wiring, to prove that the comparison notices.
    fn new(substitutes: &[(&str, &str)]) -> Harness {
        let engine = Engine::default();
        let mut store = Store::new(&engine, ());
        let compile = |what: &str, wat: &str| {
            let wasm = wat::parse_str(wat).unwrap_or_else(|e| panic!("{what}: {e}"));
            Module::new(&engine, wasm).unwrap_or_else(|e| panic!("{what}: {e}"))
        };
        let runtime = Instance::new(&mut store, &compile("runtime", RUNTIME), &[]).unwrap();
        let reference = Instance::new(&mut store, &compile("reference", REFERENCE), &[]).unwrap();
        let mut linker = Linker::new(&engine);
        for op in &OPS {
            let stand_in = substitutes
                .iter()
                .find(|(name, _)| *name == op.name)
                .map_or(op.name, |(_, export)| export);
            let export = runtime
                .get_export(&mut store, stand_in)
                .unwrap_or_else(|| panic!("the runtime does not export {stand_in}"));
            linker.define(&store, "runtime", op.name, export).unwrap();
            let export = reference.get_export(&mut store, op.name).unwrap();
            linker.define(&store, "reference", op.name, export).unwrap();
        }
        let driver = linker
            .instantiate(&mut store, &compile("driver", &driver_wat()))
            .unwrap();
        let memory = driver.get_memory(&mut store, "memory").unwrap();
        Harness {
            store,
            driver,
            memory,
        }
    }

    /// (runtime result, reference result) of `op` for every input.
    fn run(&mut self, op: &Op, inputs: &[[u64; 2]]) -> Vec<[u64; 2]> {
        let run = self
            .driver
            .get_typed_func::<i32, ()>(&mut self.store, &format!("run_{}", op.name))
            .unwrap();
        let mut results = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(BATCH) {
            let data = self.memory.data_mut(&mut self.store);
            for (i, [a, b]) in chunk.iter().enumerate() {
                data[FIRST + 8 * i..][..8].copy_from_slice(&a.to_le_bytes());
                data[SECOND + 8 * i..][..8].copy_from_slice(&b.to_le_bytes());
            }
            run.call(&mut self.store, i32::try_from(chunk.len()).unwrap())
                .unwrap();
            let data = self.memory.data(&self.store);
            let slot = |base: usize, i: usize| {
                let bytes: [u8; 8] = data[base + 8 * i..][..8].try_into().unwrap();
                u64::from_le_bytes(bytes) & op.result.mask()
            };
            results.extend((0..chunk.len()).map(|i| [slot(GOT, i), slot(WANT, i)]));
        }
        results
    }
}

/// The comparison rule of the module docs: `Err` describes a disagreement.
fn check(op: &Op, args: &[u64], got: u64, want: u64) -> Result<(), String> {
    let ty = op.result;
    let agrees = if ty.is_nan(want) {
        let arithmetic = ty.is_nan(got) && got & ty.quiet() != 0;
        let nan_operand = op.params.iter().zip(args).any(|(p, &a)| p.is_nan(a));
        let canonical = got & !ty.sign() == ty.infinity() | ty.quiet();
        arithmetic && (nan_operand || canonical)
    } else {
        got == want
    };
    if agrees {
        return Ok(());
    }
    let args: Vec<String> = op.params.iter().zip(args).map(|(p, &a)| p.hex(a)).collect();
    Err(format!(
        "{}({}): runtime {}, wasmtime {}",
        op.name,
        args.join(", "),
        ty.hex(got),
        ty.hex(want)
    ))
}

/// xorshift64: deterministic, and plenty for spreading bit patterns.
struct Rng(u64);

impl Rng {
    fn for_name(name: &str) -> Rng {
        // FNV-1a, so that every operator has its own fixed seed.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng(hash | 1)
    }

    fn bits(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.bits() % n
    }
}

/// Bit pattern of 2^k (normal range).
fn pow2_f32(k: i32) -> u32 {
    u32::try_from(127 + k).unwrap() << 23
}

fn pow2_f64(k: i32) -> u64 {
    u64::try_from(1023 + k).unwrap() << 52
}

/// Edge values of one float width, each with both signs.
fn edges(ty: Ty) -> Vec<u64> {
    let positive: Vec<u64> = match ty {
        Ty::F32 => {
            let mut v: Vec<u32> = vec![
                0,
                1,
                2,
                0x007f_fffe,
                0x007f_ffff,
                0x0080_0000,
                0x0080_0001,
                0x7f7f_fffe,
                0x7f7f_ffff,
                0x7f80_0000,
                // NaNs: canonical, quiet with payloads, signalling.
                0x7fc0_0000,
                0x7fc1_2345,
                0x7fff_ffff,
                0x7f80_0001,
                0x7fa0_0000,
                0x7fbf_ffff,
            ];
            for x in [
                0.25f32,
                0.75,
                1.5,
                2.5,
                3.5,
                4.0,
                9.0,
                8_388_607.5,
                8_388_607.0,
            ] {
                v.push(x.to_bits());
            }
            // Each power of two with its neighbours on both sides.
            for k in [-1, 0, 1, 23, 24, 31, 32, 52, 53, 63, 64] {
                let p = pow2_f32(k);
                v.extend([p - 1, p, p + 1]);
            }
            v.into_iter().map(u64::from).collect()
        }
        Ty::F64 => {
            let mut v: Vec<u64> = vec![
                0,
                1,
                2,
                0x000f_ffff_ffff_fffe,
                0x000f_ffff_ffff_ffff,
                0x0010_0000_0000_0000,
                0x0010_0000_0000_0001,
                0x7fef_ffff_ffff_fffe,
                0x7fef_ffff_ffff_ffff,
                0x7ff0_0000_0000_0000,
                0x7ff8_0000_0000_0000,
                0x7ff8_0000_0001_2345,
                0x7fff_ffff_ffff_ffff,
                0x7ff0_0000_0000_0001,
                0x7ff4_0000_0000_0000,
                0x7ff7_ffff_ffff_ffff,
            ];
            for x in [
                0.25f64,
                0.75,
                1.5,
                2.5,
                3.5,
                4.0,
                9.0,
                8_388_607.5,
                4_503_599_627_370_495.5,
                4_503_599_627_370_495.0,
                2_147_483_647.0,
                2_147_483_647.5,
                2_147_483_648.5,
                2_147_483_649.0,
                4_294_967_295.0,
                4_294_967_295.5,
                4_294_967_296.5,
                4_294_967_297.0,
            ] {
                v.push(x.to_bits());
            }
            for k in [-1, 0, 1, 23, 24, 31, 32, 52, 53, 63, 64] {
                let p = pow2_f64(k);
                v.extend([p - 1, p, p + 1]);
            }
            v
        }
        Ty::I32 | Ty::I64 => unreachable!("operands are floats"),
    };
    positive.iter().flat_map(|&x| [x, x | ty.sign()]).collect()
}

/// A random f32 bit pattern: a third uniform, the rest near the places where rounding,
/// normalisation or a conversion's range changes its answer (within +-2 ulps).
fn random_f32(rng: &mut Rng) -> u64 {
    let r = rng.bits();
    let sign = u32::from(r >> 63 == 1) << 31;
    let wiggle = u32::try_from((r >> 32) % 5).unwrap();
    let near = |bits: u32| sign | bits.wrapping_add(wiggle).wrapping_sub(2) & 0x7fff_ffff;
    let bits = match r % 8 {
        0..=2 => rng.bits() as u32,
        // Integers and half-integers of any magnitude.
        3 => {
            let n = rng.bits() >> rng.below(64);
            let half = if r & 0x100 != 0 { 0.5 } else { 0.0 };
            near((n as f32 + half).to_bits())
        }
        // Either side of an exponent step.
        4 => near(u32::try_from(rng.below(256)).unwrap() << 23),
        // Subnormals of every length, and the smallest normals.
        5 => sign | (rng.bits() as u32 & 0x00ff_ffff) >> rng.below(24),
        // Limits of exactness and of the integer conversions.
        6 => {
            const K: [i32; 10] = [-1, 0, 22, 23, 24, 31, 32, 52, 63, 64];
            near(pow2_f32(K[rng.below(10) as usize]))
        }
        // Squares (exact for short significands) for sqrt.
        _ => {
            let significand = rng.bits() as u32 & 0x007f_ffff & (0x007f_ffff << rng.below(24));
            let y = f32::from_bits(pow2_f32(rng.below(130) as i32 - 70) | significand);
            let square = (f64::from(y) * f64::from(y)) as f32;
            near(square.to_bits())
        }
    };
    u64::from(bits)
}

fn random_f64(rng: &mut Rng) -> u64 {
    let r = rng.bits();
    let sign = (r >> 63) << 63;
    let wiggle = (r >> 32) % 5;
    let near = |bits: u64| sign | bits.wrapping_add(wiggle).wrapping_sub(2) & !(1 << 63);
    match r % 8 {
        0..=2 => rng.bits(),
        3 => {
            let n = rng.bits() >> rng.below(64);
            let half = if r & 0x100 != 0 { 0.5 } else { 0.0 };
            near((n as f64 + half).to_bits())
        }
        4 => near(rng.below(2048) << 52),
        5 => sign | (rng.bits() & 0x001f_ffff_ffff_ffff) >> rng.below(53),
        6 => {
            const K: [i32; 10] = [-1, 0, 23, 31, 32, 51, 52, 53, 63, 64];
            near(pow2_f64(K[rng.below(10) as usize]))
        }
        _ => {
            let significand =
                rng.bits() & 0x000f_ffff_ffff_ffff & (0x000f_ffff_ffff_ffff << rng.below(53));
            let y = f64::from_bits(pow2_f64(rng.below(1000) as i32 - 500) | significand);
            near((y * y).to_bits())
        }
    }
}

fn random_float(ty: Ty, rng: &mut Rng) -> u64 {
    match ty {
        Ty::F32 => random_f32(rng),
        Ty::F64 => random_f64(rng),
        Ty::I32 | Ty::I64 => unreachable!("operands are floats"),
    }
}

/// Edge values (every pair of them for binary operators), then `random` seeded vectors.
/// Returns the vectors and how many of them are edge vectors.
fn vectors(op: &Op, random: usize) -> (Vec<[u64; 2]>, usize) {
    let ty = op.params[0];
    let edges = edges(ty);
    let mut vectors: Vec<[u64; 2]> = if op.params.len() == 1 {
        edges.iter().map(|&a| [a, 0]).collect()
    } else {
        edges
            .iter()
            .flat_map(|&a| edges.iter().map(move |&b| [a, b]))
            .collect()
    };
    let edge_count = vectors.len();
    let mut rng = Rng::for_name(op.name);
    for _ in 0..random {
        let a = random_float(ty, &mut rng);
        if op.params.len() == 1 {
            vectors.push([a, 0]);
            continue;
        }
        // The second operand: unrelated, equal, the negation, a neighbour or an edge value.
        let b = match rng.below(8) {
            0..=2 => random_float(ty, &mut rng),
            3 => a,
            4 => a ^ ty.sign(),
            5 => a.wrapping_add(1) & ty.mask(),
            6 => a.wrapping_sub(1) & ty.mask(),
            _ => edges[rng.below(edges.len() as u64) as usize],
        };
        vectors.push(if rng.bits() & 1 == 0 { [a, b] } else { [b, a] });
    }
    (vectors, edge_count)
}

/// Runs `op` on `inputs`: the number of disagreements and the first few described.
fn disagreements(harness: &mut Harness, op: &Op, inputs: &[[u64; 2]]) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut described = Vec::new();
    for (input, [got, want]) in inputs.iter().zip(harness.run(op, inputs)) {
        if let Err(e) = check(op, &input[..op.params.len()], got, want) {
            count += 1;
            if described.len() < 8 {
                described.push(e);
            }
        }
    }
    (count, described)
}

/// Checks each named operator on its edge and random vectors; one report for all failures.
fn verify(names: &[&str]) {
    let mut harness = Harness::new(&[]);
    let mut failures = Vec::new();
    for name in names {
        let op = find_op(name);
        let (inputs, edge_count) = vectors(op, RANDOM_VECTORS);
        let (count, described) = disagreements(&mut harness, op, &inputs);
        println!(
            "{name}: {} vectors ({edge_count} edge, {} random), {count} disagreements",
            inputs.len(),
            inputs.len() - edge_count
        );
        if count > 0 {
            failures.push(format!(
                "{name}: {count} of {} vectors disagree, e.g.\n  {}",
                inputs.len(),
                described.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sqrt_matches_wasmtime() {
    verify(&["f32_sqrt", "f64_sqrt"]);
}

#[test]
fn f32_rounding_matches_wasmtime() {
    verify(&["f32_ceil", "f32_floor", "f32_trunc", "f32_nearest"]);
}

#[test]
fn f64_rounding_matches_wasmtime() {
    verify(&["f64_ceil", "f64_floor", "f64_trunc", "f64_nearest"]);
}

#[test]
fn min_max_matches_wasmtime() {
    verify(&["f32_min", "f32_max", "f64_min", "f64_max"]);
}

#[test]
fn trunc_sat_matches_wasmtime() {
    verify(&[
        "i32_trunc_sat_f32_s",
        "i32_trunc_sat_f32_u",
        "i32_trunc_sat_f64_s",
        "i32_trunc_sat_f64_u",
        "i64_trunc_sat_f32_s",
        "i64_trunc_sat_f32_u",
        "i64_trunc_sat_f64_s",
        "i64_trunc_sat_f64_u",
    ]);
}

#[test]
fn the_comparison_rejects_wrong_results() {
    let sqrt = find_op("f32_sqrt");
    let min = find_op("f64_min");
    let trunc = find_op("i32_trunc_sat_f32_s");
    let four = 4.0f32.to_bits().into();
    let two = 2.0f32.to_bits().into();
    let minus_one = (-1.0f32).to_bits().into();
    assert!(check(sqrt, &[four], two, two).is_ok());
    // One ulp off.
    assert!(check(sqrt, &[four], two + 1, two).is_err());
    // A NaN from a non-NaN operand must be canonical (either sign) ...
    assert!(check(sqrt, &[minus_one], 0x7fc0_0000, 0xffc0_0000).is_ok());
    assert!(check(sqrt, &[minus_one], 0xffc0_0000, 0x7fc0_0000).is_ok());
    assert!(check(sqrt, &[minus_one], 0x7fc0_0001, 0x7fc0_0000).is_err());
    // ... a NaN operand allows any quiet NaN, but not a signalling one or a number.
    assert!(check(sqrt, &[0x7f80_0001], 0x7fc0_0001, 0x7fc0_0000).is_ok());
    assert!(check(sqrt, &[0x7f80_0001], 0x7f80_0001, 0x7fc0_0001).is_err());
    assert!(check(sqrt, &[0x7f80_0001], 0x7f80_0000, 0x7fc0_0001).is_err());
    // The sign of zero counts.
    let zero = 0.0f64.to_bits();
    let minus_zero = (-0.0f64).to_bits();
    assert!(check(min, &[zero, minus_zero], minus_zero, minus_zero).is_ok());
    assert!(check(min, &[zero, minus_zero], zero, minus_zero).is_err());
    // Integer results are compared exactly; a NaN-like integer is just a number.
    assert!(check(trunc, &[0x7fc0_0000], 0, 0).is_ok());
    assert!(check(trunc, &[0x7fc0_0000], 0x7fc0_0001, 0x7fc0_0000).is_err());
}

#[test]
fn a_wrong_runtime_function_is_caught() {
    let wrong = [
        ("f32_ceil", "f32_floor"),
        ("f64_min", "f64_max"),
        ("i32_trunc_sat_f32_u", "i32_trunc_sat_f32_s"),
    ];
    let mut harness = Harness::new(&wrong);
    for (name, _) in wrong {
        let op = find_op(name);
        let (inputs, _) = vectors(op, 1000);
        let (count, _) = disagreements(&mut harness, op, &inputs);
        assert!(
            count > 0,
            "{name} wired to the wrong function went unnoticed"
        );
    }
}

#[test]
fn the_runtime_is_integer_only_and_exports_exactly_the_operators() {
    let wasm = wat::parse_str(RUNTIME).unwrap();
    let integer = |ty: &ValType| matches!(ty, ValType::I32 | ValType::I64);
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(&wasm) {
        match payload.unwrap() {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.unwrap().into_types() {
                        let CompositeInnerType::Func(ft) = &sub.composite_type.inner else {
                            panic!("non-function type {sub:?}");
                        };
                        assert!(ft.params().iter().chain(ft.results()).all(integer), "{ft}");
                    }
                }
            }
            Payload::ImportSection(_) => panic!("the runtime has imports"),
            Payload::TableSection(_) => panic!("the runtime has tables"),
            Payload::MemorySection(_) => panic!("the runtime has a memory"),
            Payload::GlobalSection(_) => panic!("the runtime has globals"),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.unwrap();
                    assert_eq!(export.kind, ExternalKind::Func, "{}", export.name);
                    exports.push(export.name.to_string());
                }
            }
            Payload::CodeSectionEntry(body) => {
                for local in body.get_locals_reader().unwrap() {
                    let (_, ty) = local.unwrap();
                    assert!(integer(&ty), "a local of type {ty}");
                }
                // Every float operator, float constant and float-typed block or select has
                // `F32` / `F64` in its name.
                for operator in body.get_operators_reader().unwrap() {
                    let operator = format!("{:?}", operator.unwrap());
                    assert!(
                        !operator.contains("F32") && !operator.contains("F64"),
                        "float instruction {operator}"
                    );
                }
            }
            _ => {}
        }
    }
    exports.sort();
    let mut expected: Vec<&str> = OPS.iter().map(|op| op.name).collect();
    expected.sort_unstable();
    assert_eq!(exports, expected);
}

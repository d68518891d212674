//! The float pass against the reference interpreter: every float operator of a module runs
//! in its frontend form (wasm semantics, `ir::float`) and after the float pass and legalize
//! (integer code, runtime.wat helpers and the library model), for both ISAs' helper sets, over
//! edge values. Results must be equal bit for bit (NaNs: same class, see `same_float`).

use crate::ir::interp::{Interp, InterpError};
use crate::ir::{Module, Type};
use crate::isa;
use crate::options::{Options, Target};

const OPS_WAT: &str = r#"(module
  (func (export "f32_add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
  (func (export "f32_sub") (param f32 f32) (result f32) (f32.sub (local.get 0) (local.get 1)))
  (func (export "f32_mul") (param f32 f32) (result f32) (f32.mul (local.get 0) (local.get 1)))
  (func (export "f32_div") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
  (func (export "f32_min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
  (func (export "f32_max") (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))
  (func (export "f32_copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
  (func (export "f32_eq") (param f32 f32) (result i32) (f32.eq (local.get 0) (local.get 1)))
  (func (export "f32_ne") (param f32 f32) (result i32) (f32.ne (local.get 0) (local.get 1)))
  (func (export "f32_lt") (param f32 f32) (result i32) (f32.lt (local.get 0) (local.get 1)))
  (func (export "f32_gt") (param f32 f32) (result i32) (f32.gt (local.get 0) (local.get 1)))
  (func (export "f32_le") (param f32 f32) (result i32) (f32.le (local.get 0) (local.get 1)))
  (func (export "f32_ge") (param f32 f32) (result i32) (f32.ge (local.get 0) (local.get 1)))
  (func (export "f32_abs") (param f32) (result f32) (f32.abs (local.get 0)))
  (func (export "f32_neg") (param f32) (result f32) (f32.neg (local.get 0)))
  (func (export "f32_sqrt") (param f32) (result f32) (f32.sqrt (local.get 0)))
  (func (export "f32_ceil") (param f32) (result f32) (f32.ceil (local.get 0)))
  (func (export "f32_floor") (param f32) (result f32) (f32.floor (local.get 0)))
  (func (export "f32_trunc") (param f32) (result f32) (f32.trunc (local.get 0)))
  (func (export "f32_nearest") (param f32) (result f32) (f32.nearest (local.get 0)))
  (func (export "f64_add") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  (func (export "f64_div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func (export "f64_min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
  (func (export "f64_max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
  (func (export "f64_copysign") (param f64 f64) (result f64) (f64.copysign (local.get 0) (local.get 1)))
  (func (export "f64_ne") (param f64 f64) (result i32) (f64.ne (local.get 0) (local.get 1)))
  (func (export "f64_le") (param f64 f64) (result i32) (f64.le (local.get 0) (local.get 1)))
  (func (export "f64_gt") (param f64 f64) (result i32) (f64.gt (local.get 0) (local.get 1)))
  (func (export "f64_neg") (param f64) (result f64) (f64.neg (local.get 0)))
  (func (export "f64_sqrt") (param f64) (result f64) (f64.sqrt (local.get 0)))
  (func (export "f64_nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
  (func (export "f64_floor") (param f64) (result f64) (f64.floor (local.get 0)))
  (func (export "i32_trunc_f32_s") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "i32_trunc_f32_u") (param f32) (result i32) (i32.trunc_f32_u (local.get 0)))
  (func (export "i32_trunc_f64_s") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "i32_trunc_f64_u") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
  (func (export "i64_trunc_f32_s") (param f32) (result i64) (i64.trunc_f32_s (local.get 0)))
  (func (export "i64_trunc_f32_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
  (func (export "i64_trunc_f64_s") (param f64) (result i64) (i64.trunc_f64_s (local.get 0)))
  (func (export "i64_trunc_f64_u") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
  (func (export "i32_trunc_sat_f32_s") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0)))
  (func (export "i64_trunc_sat_f64_u") (param f64) (result i64) (i64.trunc_sat_f64_u (local.get 0)))
  (func (export "f32_convert_i64_u") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
  (func (export "f64_convert_i32_s") (param i32) (result f64) (f64.convert_i32_s (local.get 0)))
  (func (export "f64_promote") (param f32) (result f64) (f64.promote_f32 (local.get 0)))
  (func (export "f32_demote") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
  (func (export "reinterpret") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
  (global $g (mut f64) (f64.const -0.5))
  (func (export "global_mix") (param f32 f64) (result f64)
    (global.set $g (f64.add (global.get $g) (f64.promote_f32 (local.get 0))))
    (select (global.get $g) (local.get 1) (f64.lt (local.get 1) (global.get $g))))
)"#;

const F32_EDGES: [u32; 24] = [
    0,
    0x8000_0000,
    0x3f80_0000,
    0xbf80_0000,
    0x3f00_0000,
    0xbf00_0000,
    0x3fc0_0000,
    0x4020_0000,
    0xc020_0000,
    1,
    0x8000_0001,
    0x007f_ffff,
    0x0080_0000,
    0x7f7f_ffff,
    0xff7f_ffff,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0xffc0_0000,
    0x7fa0_0001,
    0x4f00_0000,
    0xcf00_0000,
    0x5f80_0000,
    0x4b00_0001,
];

const F64_EDGES: [u64; 24] = [
    0,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000,
    0xbff0_0000_0000_0000,
    0x3fe0_0000_0000_0000,
    0xbfe0_0000_0000_0000,
    0x4004_0000_0000_0000,
    0xc004_0000_0000_0000,
    1,
    0x000f_ffff_ffff_ffff,
    0x0010_0000_0000_0000,
    0x7fef_ffff_ffff_ffff,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0xfff8_0000_0000_0001,
    0x7ff4_0000_0000_0001,
    0x41e0_0000_0000_0000,
    0xc1e0_0000_0020_0000,
    0xc1e0_0000_0000_0000,
    0x41f0_0000_0000_0000,
    0x43e0_0000_0000_0000,
    0xc3e0_0000_0000_0000,
    0x43f0_0000_0000_0000,
];

const I_EDGES: [u64; 8] = [
    0,
    1,
    u64::MAX,
    i64::MIN as u64,
    i64::MAX as u64,
    0xffff_ffff,
    0x8000_0000,
    (1 << 63) | (1 << 39) | 1,
];

fn edges(ty: Type) -> Vec<u64> {
    match ty {
        Type::F32 => F32_EDGES.iter().map(|b| *b as u64).collect(),
        Type::F64 => F64_EDGES.to_vec(),
        Type::I32 => I_EDGES.iter().map(|v| v & 0xffff_ffff).collect(),
        Type::I64 => I_EDGES.to_vec(),
    }
}

fn is_nan(ty: Type, bits: u64) -> bool {
    match ty {
        Type::F32 => f32::from_bits(bits as u32).is_nan(),
        Type::F64 => f64::from_bits(bits).is_nan(),
        _ => false,
    }
}

/// Equal bits, or both NaN and the soft result quiet (what wasm allows for arithmetic NaNs).
fn same_float(ty: Type, want: u64, got: u64) -> bool {
    if want == got {
        return true;
    }
    let quiet = match ty {
        Type::F32 => got & 0x0040_0000 != 0,
        _ => got & (1 << 51) != 0,
    };
    is_nan(ty, want) && is_nan(ty, got) && quiet
}

fn frontend(wat: &str) -> Module {
    let wasm = crate::frontend::decode(wat.as_bytes()).unwrap();
    crate::frontend::translate(&wasm, &Options::default()).unwrap()
}

fn soft(module: Module, target: Target) -> Module {
    lowered_with(module, isa::caps(target), target)
}

/// The float pass and legalize with `caps` (hardware float types stay floats).
fn lowered_with(mut module: Module, caps: isa::Caps, target: Target) -> Module {
    super::run(&mut module, caps).unwrap();
    crate::ir::verify::module(&module, false).unwrap();
    crate::legalize::run(&mut module, caps, &Options::new(target)).unwrap();
    crate::opt::run(&mut module, crate::opt::Stage::legalized_cortex_m());
    crate::ir::verify::module(&module, true).unwrap();
    module
}

fn run(module: &Module, func: u32, args: &[u64]) -> Result<Vec<u64>, InterpError> {
    let mut interp = Interp::new(module).unwrap();
    interp.instantiate().unwrap();
    let results = interp.call(func, args)?;
    let mut globals: Vec<u64> = (0..module.globals.len() as u32)
        .map(|g| interp.global(g).unwrap())
        .collect();
    let mut all = results;
    all.append(&mut globals);
    Ok(all)
}

/// The float capabilities checked: all software (both helper sets), f32 in hardware with f64
/// in software (cortex-m4f's base-convention helpers; rv32imafc's, which take f32 as a float),
/// both in hardware (cortex-m7dp).
fn variants() -> Vec<(String, isa::Caps, Target)> {
    let mut out = Vec::new();
    for target in [Target::CortexM3, Target::Rv32imac, Target::Rv32imafc] {
        out.push((format!("{target:?}"), isa::caps(target), target));
    }
    let hard_f32 = isa::Caps {
        hard_f32: true,
        ..isa::caps(Target::CortexM4)
    };
    out.push(("hard f32".to_string(), hard_f32, Target::CortexM4F));
    let hard_both = isa::Caps {
        hard_f64: true,
        hard_rounding: true,
        ..hard_f32
    };
    out.push((
        "hard f32 and f64".to_string(),
        hard_both,
        Target::CortexM7DP,
    ));
    out
}

#[test]
fn soft_float_matches_wasm_semantics_on_edge_values() {
    let reference = frontend(OPS_WAT);
    for (target, caps, isa_target) in variants() {
        let lowered = lowered_with(reference.clone(), caps, isa_target);
        let mut vectors = 0;
        for (index, decl) in reference.functions.iter().enumerate() {
            let params = &decl.sig.params;
            let lists: Vec<Vec<u64>> = match params.len() {
                1 => edges(params[0]).into_iter().map(|a| vec![a]).collect(),
                _ => {
                    let (a, b) = (edges(params[0]), edges(params[1]));
                    a.iter()
                        .flat_map(|x| b.iter().map(move |y| vec![*x, *y]))
                        .collect()
                }
            };
            let result_types: Vec<Type> = decl
                .sig
                .results
                .iter()
                .copied()
                .chain(reference.globals.iter().map(|g| g.ty))
                .collect();
            for args in lists {
                let want = run(&reference, index as u32, &args);
                let got = run(&lowered, index as u32, &args);
                let ok = match (&want, &got) {
                    (Ok(w), Ok(g)) => result_types
                        .iter()
                        .zip(w.iter().zip(g))
                        .all(|(t, (w, g))| same_float(*t, *w, *g)),
                    (w, g) => w == g,
                };
                assert!(
                    ok,
                    "{target} {}({args:x?}): wasm {want:x?}, soft {got:x?}",
                    decl.name
                );
                vectors += 1;
            }
        }
        assert!(vectors > 10_000, "only {vectors} vectors");
    }
}

#[test]
fn the_comparison_rule_can_fail() {
    assert!(!same_float(Type::F32, 0x3f80_0000, 0x3f80_0001));
    assert!(!same_float(Type::F32, 0x7fc0_0000, 0x7f80_0001));
    assert!(same_float(Type::F32, 0x7fc0_0000, 0xffc0_0001));
}

#[test]
fn only_the_helpers_used_are_added() {
    let module = soft(
        frontend(
            r#"(module (func (export "f") (param f32) (result f32) (f32.sqrt (local.get 0))))"#,
        ),
        Target::CortexM4,
    );
    let names: Vec<&str> = module.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["f", "f32_sqrt", "synth_init"]);
    let module = soft(
        frontend(r#"(module (func (export "f") (param i32) (result i32) (local.get 0)))"#),
        Target::CortexM4,
    );
    assert_eq!(module.functions.len(), 2);
}

#[test]
fn ilp32f_helpers_take_and_return_f32_as_floats() {
    let module = soft(
        frontend(
            r#"(module
                (func (export "d") (param f32) (result f64) (f64.promote_f32 (local.get 0)))
                (func (export "n") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
                (func (export "l") (param f32) (result i64) (i64.trunc_f32_s (local.get 0)))
                (func (export "c") (param i64) (result f32) (f32.convert_i64_u (local.get 0))))"#,
        ),
        Target::Rv32imafc,
    );
    let sig = |name: &str| {
        let decl = module.functions.iter().find(|f| f.name == name);
        decl.map(|f| (f.sig.params.clone(), f.sig.results.clone()))
    };
    use Type::{F32, I64};
    assert_eq!(sig("__extendsfdf2"), Some((vec![F32], vec![I64])));
    assert_eq!(sig("__truncdfsf2"), Some((vec![I64], vec![F32])));
    assert_eq!(sig("__fixsfdi"), Some((vec![F32], vec![I64])));
    assert_eq!(sig("__floatundisf"), Some((vec![I64], vec![F32])));
    // The ARM RTABI helpers keep the base convention under hard float.
    let caps = isa::Caps {
        hard_f32: true,
        ..isa::caps(Target::CortexM4)
    };
    let mut arm = frontend(
        r#"(module (func (export "d") (param f32) (result f64) (f64.promote_f32 (local.get 0))))"#,
    );
    crate::softfloat::run(&mut arm, caps).unwrap();
    let f2d = arm
        .functions
        .iter()
        .find(|f| f.name == "__aeabi_f2d")
        .unwrap();
    assert_eq!(f2d.sig.params, vec![Type::I32]);
}

//! The rv32imafc F back end by execution, on what the fixtures and the spec suite do not reach:
//! f32 spills in frames beyond 2 KiB (flw/fsw addressed through t6), ILP32F argument overflow
//! (f32 beyond fa7 in integer registers and on the stack, into exports and internal calls),
//! several results holding f32, f32 selects and loop-carried f32 block parameters, unaligned
//! f32 accesses, NaN payloads through globals. Every target runs the module (so the soft-float
//! ones check the same WAT), with both allocators; results, traps and memory must match
//! wasmtime.

use synth_compiler::{Options, Target};
use synth_tests::ModuleInfo;
use synth_tests::compare::{
    describe_difference, observations_agree, observe_emulator, observe_oracle,
};
use synth_tests::emu::SynthInstance;
use synth_tests::oracle::Oracle;
use synth_tests::vectors;

/// `$wide`: 10 f32 (fa0..fa7, then a0, a1), 7 i32 (a2..a7, stack), 2 f32 (stack): each
/// parameter weighted by its position so a misplaced argument changes the result.
fn wide_function() -> String {
    let mut params = String::new();
    let mut body = String::from("(f32.const 0.25)");
    for k in 0..19 {
        let (ty, value) = if (10..17).contains(&k) {
            ("i32", format!("(f32.convert_i32_s (local.get {k}))"))
        } else {
            ("f32", format!("(local.get {k})"))
        };
        params.push_str(&format!(" {ty}"));
        body = format!("(f32.add (f32.mul {body} (f32.const 1.5)) {value})");
    }
    format!("(func $wide (export \"wide\") (param{params}) (result f32) {body})")
}

/// `big`: 700 i32 and 60 f32 values live across a loop (a frame beyond 2 KiB), summed.
fn big_function() -> String {
    let mut locals = String::new();
    let mut loads = String::new();
    let mut int_sum = String::from("(local.get 0)");
    let mut sum = String::from("(f32.const 0.5)");
    for k in 0..700 {
        locals.push_str(" i32");
        loads.push_str(&format!(
            "(local.set {} (i32.load (i32.const {})))\n",
            k + 1,
            (k % 1000) * 4
        ));
        int_sum = format!("(i32.add {int_sum} (local.get {}))", k + 1);
    }
    for k in 0..60 {
        let index = 701 + k;
        locals.push_str(" f32");
        loads.push_str(&format!(
            "(local.set {index} (f32.load (i32.const {})))\n",
            4000 + 4 * k
        ));
        sum = format!("(f32.mul (f32.add {sum} (local.get {index})) (f32.const 0.75))");
    }
    format!(
        "(func (export \"big\") (param i32) (result f32) (local{locals})
           {loads}
           (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
           (f32.add {sum} (f32.convert_i32_s {int_sum})))"
    )
}

fn module() -> String {
    format!(
        r#"(module
  (memory 1)
  (global $g (mut f32) (f32.const nan:0x200001))
  {wide}
  (func (export "call_wide") (param f32 i32) (result f32)
    (call $wide
      (local.get 0) (f32.neg (local.get 0)) (f32.const 2) (f32.const 3) (f32.const 4)
      (f32.const 5) (f32.const 6) (f32.const 7) (f32.sqrt (local.get 0)) (f32.const 9)
      (local.get 1) (i32.const 11) (i32.const 12) (i32.const 13) (i32.const 14)
      (i32.const 15) (i32.mul (local.get 1) (i32.const 3)) (f32.abs (local.get 0))
      (f32.const -18)))
  (func $pair (param f32 f32) (result f32 i32 f32)
    (f32.min (local.get 0) (local.get 1))
    (f32.ge (local.get 0) (local.get 1))
    (f32.max (local.get 0) (local.get 1)))
  (func (export "pair") (param f32 f32) (result f32 i32 f32) (call $pair (local.get 0) (local.get 1)))
  (func (export "use_pair") (param f32 f32) (result f32) (local $i i32) (local $hi f32)
    (call $pair (local.get 1) (local.get 0))
    (local.set $hi)
    (local.set $i)
    (f32.sub (local.get $hi))
    (f32.add (f32.convert_i32_u (local.get $i))))
  (func (export "same") (param f32) (result f32 i32 f32) (call $pair (local.get 0) (local.get 0)))
  (func (export "sel") (param i32 f32 f32) (result f32)
    (select (local.get 1) (local.get 2) (local.get 0)))
  (func (export "sel_cmp") (param f32 f32 f32) (result f32)
    (select (local.get 1) (local.get 2) (f32.lt (local.get 0) (local.get 1))))
  (func (export "loop") (param f32 i32) (result f32) (local $acc f32)
    (local.set $acc (f32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 1)))
        (local.set $acc (f32.add (f32.mul (local.get $acc) (local.get 0)) (f32.const 0.5)))
        (local.set 0 (f32.sub (local.get 0) (f32.const 0.125)))
        (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "unaligned") (param i32 f32) (result f32)
    (f32.store offset=1 (local.get 0) (local.get 1))
    (f32.store offset=6 align=2 (local.get 0) (f32.neg (local.get 1)))
    (f32.add (f32.load offset=3 align=1 (local.get 0)) (f32.load offset=6 (local.get 0))))
  (func (export "bits") (param f32) (result i32 f32)
    (global.set $g (local.get 0))
    (i32.reinterpret_f32 (global.get $g))
    (f32.reinterpret_i32 (i32.xor (i32.reinterpret_f32 (global.get $g)) (i32.const 1))))
  (func (export "trunc") (param f32) (result i32 i32 i64)
    (i32.trunc_sat_f32_s (local.get 0))
    (i32.trunc_sat_f32_u (local.get 0))
    (i64.trunc_sat_f32_s (local.get 0)))
  {big})"#,
        wide = wide_function(),
        big = big_function()
    )
}

const VECTORS: &str = "wide: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; \
      -0 0x1p-149 nan 0.1 -7 3e38 1 1 1 1 -1 -2 -3 -4 -5 -6 2147483647 inf -inf\n\
    call_wide: 2.5 -3; nan:0x200000 7; -0 0\n\
    pair: edge\n\
    use_pair: edge\n\
    same: edge\n\
    sel: 0 1.5 -2.5; 1 1.5 -2.5; -1 nan:0x123 -0\n\
    sel_cmp: 1 2 3; 2 1 3; nan 1 3\n\
    loop: 1.5 0; 1.5 10; -0.75 33; nan 2\n\
    unaligned: 0 1.5; 17 nan:0x7fffff; 65524 -0; 65530 1\n\
    bits: edge\n\
    trunc: edge\n\
    big: 1; 3\n";

#[test]
fn f32_corner_cases_agree_with_wasmtime_on_every_target() {
    let wat = module();
    let info = ModuleInfo::parse(wat.as_bytes()).unwrap();
    let vectors = vectors::parse(VECTORS, &info).unwrap();
    let oracle = Oracle::new(wat.as_bytes(), None).unwrap();
    let expected: Vec<_> = vectors
        .iter()
        .map(|v| observe_oracle(&oracle, v).unwrap())
        .collect();
    let mut failures = Vec::new();
    let mut runs = 0;
    for target in Target::ALL {
        for spill_realloc in [true, false] {
            let mut options = Options::new(target);
            options.spill_realloc = spill_realloc;
            let label = format!("{} (spill-realloc {spill_realloc})", target.name());
            let output = synth_compiler::compile(wat.as_bytes(), &options)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let mut instance = SynthInstance::new(target, &output.object, &info).unwrap();
            for (vector, (want, wasmtime_memory)) in vectors.iter().zip(&expected) {
                runs += 1;
                match observe_emulator(&mut instance, vector) {
                    Ok((got, memory, _)) if !observations_agree(want, &got, &vector.args) => {
                        failures.push(format!(
                            "{label} {vector}: {}",
                            describe_difference(
                                want,
                                &got,
                                (wasmtime_memory, &memory),
                                &vector.args
                            )
                        ))
                    }
                    Ok(_) => {}
                    Err(e) => failures.push(format!("{label} {vector}: {e}")),
                }
            }
        }
    }
    assert!(runs > 500, "only {runs} runs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

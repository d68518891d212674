//! rv32imafc: the code shapes of the F back end (every function reassembles with llvm-mc
//! `+f`); execution is proven by the tests crate (spec, differential, link_c).

use super::{compile_single, texts};
use crate::options::{Options, Target};

fn imafc() -> Options {
    Options::new(Target::Rv32imafc)
}

fn lines(wat: &str, tag: &str) -> Vec<String> {
    texts(&compile_single(wat, &imafc(), tag))
}

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|t| t == wanted)
}

#[test]
fn arithmetic_takes_fa_registers_and_rounds_to_nearest_even_statically() {
    let t = lines(
        r#"(module (func (export "f") (param f32 f32) (result f32)
             (f32.sqrt (f32.div (f32.mul (f32.sub (f32.add (local.get 0) (local.get 1))
               (local.get 1)) (local.get 0)) (local.get 1)))))"#,
        "f_arith",
    );
    for op in ["fadd.s", "fsub.s", "fmul.s", "fdiv.s", "fsqrt.s"] {
        let line = t.iter().find(|l| l.starts_with(op)).expect(op);
        assert!(line.ends_with(", rne"), "{line}");
    }
    assert!(
        t.iter()
            .any(|l| l.starts_with("fadd.s") && l.contains("fa0, fa1"))
    );
    assert_eq!(t.last().map(String::as_str), Some("ret"));
}

#[test]
fn sign_operations_are_sign_injections() {
    let t = lines(
        r#"(module (func (export "f") (param f32 f32) (result f32)
             (f32.copysign (f32.neg (f32.abs (local.get 0))) (local.get 1))))"#,
        "f_sign",
    );
    assert!(t.iter().any(|l| l.starts_with("fabs.s")), "{t:?}");
    assert!(t.iter().any(|l| l.starts_with("fneg.s")), "{t:?}");
    assert!(t.iter().any(|l| l.starts_with("fsgnj.s")), "{t:?}");
}

#[test]
fn min_max_test_for_nans_before_fmin() {
    for (op, insn) in [("min", "fmin.s"), ("max", "fmax.s")] {
        let t = lines(
            &format!(
                r#"(module (func (export "f") (param f32 f32) (result f32)
                     (f32.{op} (local.get 0) (local.get 1))))"#
            ),
            &format!("f_{op}"),
        );
        assert!(has(&t, "feq.s t6, fa0, fa0"), "{t:?}");
        assert!(has(&t, "feq.s t6, fa1, fa1"), "{t:?}");
        assert!(t.iter().any(|l| l.starts_with(insn)), "{t:?}");
        // The NaN path: an add of the operands (the canonical NaN).
        assert!(t.iter().any(|l| l.starts_with("fadd.s")), "{t:?}");
    }
}

#[test]
fn compares_are_feq_flt_fle_with_swapped_operands() {
    let t = lines(
        r#"(module (func (export "f") (param f32 f32) (result i32)
             (i32.add (i32.add (f32.gt (local.get 0) (local.get 1))
                               (f32.ge (local.get 0) (local.get 1)))
                      (f32.ne (local.get 0) (local.get 1)))))"#,
        "f_cmp",
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("flt.s") && l.ends_with("fa1, fa0"))
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("fle.s") && l.ends_with("fa1, fa0"))
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("feq.s") && l.ends_with("fa0, fa1"))
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("xori") && l.ends_with(", 1"))
    );
}

#[test]
fn conversions_use_static_rounding_and_clear_the_nan_result() {
    let t = lines(
        r#"(module (func (export "f") (param f32 i32) (result i32)
             (i32.add (i32.trunc_sat_f32_s (local.get 0))
                      (i32.reinterpret_f32 (f32.convert_i32_u (local.get 1))))))"#,
        "f_conv",
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("fcvt.w.s") && l.ends_with("fa0, rtz"))
    );
    assert!(
        has(&t, "feq.s t6, fa0, fa0") && has(&t, "neg t6, t6"),
        "{t:?}"
    );
    // ILP32F counts integer and float argument registers separately: the i32 is in a0.
    assert!(
        t.iter()
            .any(|l| l.starts_with("fcvt.s.wu") && l.ends_with(" a0, rne")),
        "{t:?}"
    );
    assert!(t.iter().any(|l| l.starts_with("fmv.x.w")));
}

#[test]
fn constants_memory_and_globals() {
    let t = lines(
        r#"(module (memory 1) (global $g (mut f32) (f32.const 0))
             (func (export "f") (param i32) (result f32)
               (f32.store offset=4 (local.get 0) (f32.add (f32.load (local.get 0)) (f32.const 0)))
               (global.set $g (f32.const 2.5))
               (f32.mul (global.get $g) (f32.const 0.5))))"#,
        "f_mem",
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("flw") && l.contains(", 0(a")),
        "{t:?}"
    );
    assert!(
        t.iter().any(|l| l.starts_with("fsw") && l.contains("4(")),
        "{t:?}"
    );
    // +0.0 comes from x0, other constants through an integer register.
    assert!(
        t.iter()
            .any(|l| l.starts_with("fmv.w.x") && l.ends_with("zero")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("lui") && l.ends_with("262656")),
        "2.5: {t:?}"
    );
    assert!(t.iter().any(|l| l.contains("%lo(synth_global_0)")), "{t:?}");
}

#[test]
fn f32_kept_across_calls_lives_in_saved_fs_registers() {
    let t = lines(
        r#"(module
             (func $g (param f32) (result f32) (f32.add (local.get 0) (local.get 0)))
             (func (export "f") (param f32 f32) (result f32)
               (f32.add (f32.add (call $g (local.get 0)) (call $g (local.get 1)))
                        (f32.mul (local.get 0) (local.get 1)))))"#,
        "f_calls",
    );
    let saved = t
        .iter()
        .find(|l| l.starts_with("fsw fs") && l.ends_with("(sp)"))
        .unwrap_or_else(|| panic!("no fs register saved: {t:?}"));
    let reg = saved.split([' ', ',']).nth(1).expect("register");
    assert!(
        t.iter()
            .any(|l| l.starts_with(&format!("flw {reg},")) && l.ends_with("(sp)")),
        "{reg} not restored: {t:?}"
    );
}

/// WAT for `f`: `ints` i32 and `floats` f32 values loaded, kept live across a loop, summed.
pub(super) fn many_live_floats(ints: usize, floats: usize) -> String {
    let mut locals = String::new();
    let mut loads = String::new();
    let mut int_sum = String::from("(local.get 0)");
    let mut sum = String::from("(f32.const 0.5)");
    for k in 0..ints {
        locals.push_str(" i32");
        loads.push_str(&format!(
            "(local.set {} (i32.load (i32.const {})))\n",
            k + 1,
            (k % 1000) * 4
        ));
        int_sum = format!("(i32.add {int_sum} (local.get {}))", k + 1);
    }
    for k in 0..floats {
        let index = ints + 1 + k;
        locals.push_str(" f32");
        loads.push_str(&format!(
            "(local.set {index} (f32.load (i32.const {})))\n",
            4000 + 4 * k
        ));
        sum = format!("(f32.add {sum} (local.get {index}))");
    }
    format!(
        "(module (memory 1) (func (export \"f\") (param i32) (result f32) (local{locals})
           {loads}
           (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
           (f32.add {sum} (f32.convert_i32_s {int_sum}))))"
    )
}

#[test]
fn f32_spills_use_flw_fsw_and_long_offsets_through_t6() {
    let t = lines(&many_live_floats(0, 60), "f_spills");
    assert!(
        t.iter()
            .any(|l| l.starts_with("fsw") && l.ends_with("(sp)")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("flw") && l.ends_with("(sp)")),
        "{t:?}"
    );
    let compiled = compile_single(&many_live_floats(700, 60), &imafc(), "f_spills_far");
    assert!(compiled.stats.frame_size > 2048, "{:?}", compiled.stats);
    let t = texts(&compiled);
    assert!(
        t.iter()
            .any(|l| (l.starts_with("flw") || l.starts_with("fsw")) && l.ends_with("(t6)")),
        "{t:?}"
    );
}

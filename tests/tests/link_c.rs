//! Link-with-C test: per target, a fixture compiled by synth, its generated header included by a
//! freestanding C entry that calls `synth_init` and an export and stores the results in a global;
//! C object + synth object linked with ld.lld, run in the emulator, compared with wasmtime.

use std::fmt::Write;
use std::path::Path;

mod common;

use synth_compiler::{Isa, Options, Target};
use synth_tests::compare::{
    describe_difference, observations_agree, observe_emulator, observe_oracle, outcome_agrees,
};
use synth_tests::emu::{FloatAbi, Platform, SynthInstance};
use synth_tests::oracle::Oracle;
use synth_tests::toolchain::{compile_c, compile_c_for};
use synth_tests::vectors;
use synth_tests::{HarnessError, ModuleInfo, Outcome, ScratchDir, ValType, Value};

/// (fixture, export, arguments): an i64-argument export that writes memory, a several-results
/// export (struct through the hidden pointer) and a plain i32 one.
fn cases() -> Vec<(&'static str, &'static str, Vec<Value>)> {
    vec![
        (
            "fnv1a64",
            "hash_fill",
            vec![Value::I64(0x0123_4567_89ab_cdef), Value::I32(300)],
        ),
        (
            "multi_value",
            "four",
            vec![Value::I64(-7), Value::I64(0x1_0000_0001)],
        ),
        (
            "crc32_table",
            "crc_fill",
            vec![Value::I32(99), Value::I32(500)],
        ),
    ]
}

/// A C expression for `value` (floats from their exact bits).
fn c_literal(value: Value) -> String {
    match value {
        Value::I32(v) => format!("(int32_t)0x{:08x}u", v as u32),
        Value::I64(v) => format!("(int64_t)0x{:016x}ull", v as u64),
        Value::F32(bits) => format!("f32_of(0x{bits:08x}u)"),
        Value::F64(bits) => format!("f64_of(0x{bits:016x}ull)"),
        Value::FuncRef(w) | Value::ExternRef(w) => format!("(uint32_t)0x{w:08x}u"),
    }
}

/// C helpers between floats and their bits.
const C_FLOAT_BITS: &str = r#"
static inline __attribute__((unused)) float f32_of(uint32_t b) { union { uint32_t u; float f; } x = { .u = b }; return x.f; }
static inline __attribute__((unused)) double f64_of(uint64_t b) { union { uint64_t u; double f; } x = { .u = b }; return x.f; }
static inline __attribute__((unused)) uint64_t bits_f32(float f) { union { float f; uint32_t u; } x = { .f = f }; return x.u; }
static inline __attribute__((unused)) uint64_t bits_f64(double f) { union { double f; uint64_t u; } x = { .f = f }; return x.u; }
"#;

/// `expression` of type `ty` as the 64-bit word stored in `harness_results`: integers
/// sign-extended, floats as their bits.
fn c_result_word(ty: ValType, expression: &str) -> String {
    match ty {
        ValType::I32 | ValType::I64 => format!("(uint64_t)(int64_t)({expression})"),
        ValType::F32 => format!("bits_f32({expression})"),
        ValType::F64 => format!("bits_f64({expression})"),
        ValType::FuncRef | ValType::ExternRef => format!("(uint64_t)(uint32_t)({expression})"),
    }
}

/// The C entry: `harness_main` stores every result in `harness_results` (`c_result_word`).
fn c_entry(symbol: &str, results: &[ValType], args: &[Value]) -> String {
    let args: Vec<String> = args.iter().map(|v| c_literal(*v)).collect();
    let mut c = format!(
        "#include <stdint.h>\n#include \"module.h\"\n{C_FLOAT_BITS}\
         volatile uint64_t harness_results[16];\n\
         void harness_main(void) {{\n    synth_init();\n",
    );
    match results {
        [] => writeln!(c, "    {symbol}({});", args.join(", ")).unwrap(),
        [ty] => {
            let call = format!("{symbol}({})", args.join(", "));
            writeln!(c, "    harness_results[0] = {};", c_result_word(*ty, &call)).unwrap()
        }
        several => {
            let mut all = vec!["&r".to_string()];
            all.extend(args);
            writeln!(c, "    struct {symbol}_results r;").unwrap();
            writeln!(c, "    {symbol}({});", all.join(", ")).unwrap();
            for (k, ty) in several.iter().enumerate() {
                let field = format!("r.r{k}");
                writeln!(
                    c,
                    "    harness_results[{k}] = {};",
                    c_result_word(*ty, &field)
                )
                .unwrap();
            }
        }
    }
    c.push_str("}\n");
    c
}

fn read_fixture(fixture: &str) -> Result<Vec<u8>, HarnessError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(format!("{fixture}.wat"));
    std::fs::read(&path)
        .map_err(|e| HarnessError::new(format!("cannot read {}: {e}", path.display())))
}

fn run_fixture_case(
    target: Target,
    wat: &[u8],
    oracle: &Oracle,
    export: &str,
    args: &[Value],
) -> Result<(), HarnessError> {
    let output = synth_compiler::compile(wat, &Options::new(target))
        .map_err(|e| HarnessError::new(format!("compile: {e}")))?;
    run_case(
        &Platform::of(target),
        wat,
        oracle,
        &output.object,
        &output.header,
        export,
        args,
    )
}

/// Link a C entry calling `export` through `header` with `module_object`, run it on `platform`
/// and compare with wasmtime running `wat`.
fn run_case(
    platform: &Platform,
    wat: &[u8],
    oracle: &Oracle,
    module_object: &[u8],
    header: &str,
    export: &str,
    args: &[Value],
) -> Result<(), HarnessError> {
    let info = ModuleInfo::parse(wat)?;
    let function = info.export(export)?.clone();
    let dir = ScratchDir::new()?;
    std::fs::write(dir.path().join("module.h"), header)
        .map_err(|e| HarnessError::new(format!("cannot write the header: {e}")))?;
    let entry = c_entry(&function.symbol, &function.sig.results, args);
    let c_object = compile_c_for(platform, &entry, Some(dir.path()))?;

    let mut instance = SynthInstance::link_on(platform, &[&c_object, module_object], &info)?;
    instance.machine.reset()?;
    let run = instance
        .machine
        .call("harness_main", &Default::default(), &[])?;

    let expected = match oracle.instantiate()? {
        Err(code) => Outcome::Trapped(code),
        Ok(mut oracle_instance) => {
            let outcome = oracle_instance.invoke(export, args)?;
            if matches!(outcome, Outcome::Returned(_))
                && oracle_instance.memory()? != instance.memory()?
            {
                return Err(HarnessError::new("final linear memory differs"));
            }
            outcome
        }
    };
    let actual = match run.outcome {
        Outcome::Trapped(code) => Outcome::Trapped(code),
        Outcome::Returned(_) => {
            let base = instance.machine.image().symbol("harness_results")?;
            let values = function
                .sig
                .results
                .iter()
                .enumerate()
                .map(|(k, ty)| {
                    let wide = instance
                        .machine
                        .read_value(base + 8 * k as u32, ValType::I64)?;
                    Ok(Value::from_bits(*ty, wide.bits()))
                })
                .collect::<Result<Vec<_>, HarnessError>>()?;
            Outcome::Returned(values)
        }
    };
    if !outcome_agrees(&expected, &actual, args) {
        return Err(HarnessError::new(format!(
            "wasmtime {expected}, C + synth {actual}"
        )));
    }
    Ok(())
}

#[test]
fn c_calls_synth_objects_through_the_header_on_every_target() {
    let mut failures = Vec::new();
    for (fixture, export, args) in cases() {
        let prepared = read_fixture(fixture).and_then(|wat| {
            let oracle = Oracle::new(&wat, None)?;
            Ok((wat, oracle))
        });
        let (wat, oracle) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                failures.push(format!("{fixture}: {e}"));
                continue;
            }
        };
        for target in Target::ALL {
            if let Err(e) = run_fixture_case(target, &wat, &oracle, export, &args) {
                failures.push(format!("{} {fixture}.{export}: {e}", target.name()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same path with the C imitation of a synth object: proves the C entry, the several-results
/// struct and the result read-back independently of the compiler.
#[test]
fn c_entry_works_with_an_imitation_object_on_every_target() {
    let cases = [
        ("both", vec![Value::I32(-3)]),
        (
            "poke",
            vec![Value::I32(8), Value::I64(0x1122_3344_5566_7788)],
        ),
        ("divide", vec![Value::I32(1), Value::I32(0)]),
    ];
    let oracle = Oracle::new(common::WAT.as_bytes(), None).unwrap();
    for target in Target::ALL {
        let object = compile_c(
            target,
            &format!("#define WRONG 0\n{}", common::C_IMITATION),
            None,
        )
        .unwrap();
        for (export, args) in &cases {
            run_case(
                &Platform::of(target),
                common::WAT.as_bytes(),
                &oracle,
                &object,
                common::HEADER,
                export,
                args,
            )
            .unwrap_or_else(|e| panic!("{} {export}: {e}", target.name()));
        }
    }
    // A wrong answer is caught.
    let object = compile_c(
        Target::CortexM4,
        &format!("#define WRONG 1\n{}", common::C_IMITATION),
        None,
    )
    .unwrap();
    let err = run_case(
        &Platform::of(Target::CortexM4),
        common::WAT.as_bytes(),
        &oracle,
        &object,
        common::HEADER,
        "poke",
        &[Value::I32(8), Value::I64(0x1122_3344_5566_7788)],
    )
    .unwrap_err();
    assert!(err.message.contains("memory differs"), "{err}");
}

/// A module with floats everywhere the ABI has a rule for them: f32/f64 arguments mixed with
/// integers (AAPCS-VFP back-filling, VFP registers exhausted, stack), f32/f64 results, several
/// results through the hidden pointer, float imports (mock) and float globals.
const FLOAT_WAT: &str = r#"(module
  (import "env" "fmix" (func $fmix (param f32 f64 i32 f32) (result f64)))
  (import "env" "fpair" (func $fpair (param f64 f32) (result f32 f64)))
  (global $acc (mut f64) (f64.const 0.5))
  (global $last (mut f32) (f32.const -1))
  (func (export "addf") (param f32 f32) (result f32)
    (global.set $last (f32.add (local.get 0) (local.get 1)))
    (global.get $last))
  (func (export "muld") (param f64 f64) (result f64) (local $p f64)
    (local.set $p (f64.mul (local.get 0) (local.get 1)))
    (global.set $acc (f64.add (global.get $acc) (local.get $p)))
    (local.get $p))
  (func (export "lt") (param f32 f32) (result i32) (f32.lt (local.get 0) (local.get 1)))
  (func (export "spread") (param f32 f64 i32 f32 f64 f32 i64 f32) (result f64) (local $r f64)
    (local.set $r (f64.promote_f32 (local.get 0)))
    (local.set $r (f64.add (local.get $r) (local.get 1)))
    (local.set $r (f64.add (local.get $r) (f64.convert_i32_s (local.get 2))))
    (local.set $r (f64.add (local.get $r) (f64.promote_f32 (local.get 3))))
    (local.set $r (f64.mul (local.get $r) (local.get 4)))
    (local.set $r (f64.add (local.get $r) (f64.promote_f32 (local.get 5))))
    (local.set $r (f64.add (local.get $r) (f64.convert_i64_s (local.get 6))))
    (f64.sub (local.get $r) (f64.promote_f32 (local.get 7))))
  (func (export "many") (param f64 f64 f64 f64 f64 f64 f64 f32 f64 f32 i32) (result f32)
    (local $r f64)
    (local.set $r (f64.sub (local.get 0) (local.get 1)))
    (local.set $r (f64.add (local.get $r) (local.get 2)))
    (local.set $r (f64.sub (local.get $r) (local.get 3)))
    (local.set $r (f64.add (local.get $r) (local.get 4)))
    (local.set $r (f64.sub (local.get $r) (local.get 5)))
    (local.set $r (f64.add (local.get $r) (local.get 6)))
    (local.set $r (f64.add (local.get $r) (f64.promote_f32 (local.get 7))))
    (local.set $r (f64.mul (local.get $r) (local.get 8)))
    (local.set $r (f64.add (local.get $r) (f64.promote_f32 (local.get 9))))
    (local.set $r (f64.add (local.get $r) (f64.convert_i32_s (local.get 10))))
    (f32.demote_f64 (local.get $r)))
  (func (export "conv") (param i64 f32) (result f32 i64 f64)
    (f32.convert_i64_s (local.get 0))
    (i64.add (local.get 0) (i64.const 1))
    (f64.mul (f64.promote_f32 (local.get 1)) (f64.const 2)))
  (func (export "call_mix") (param f32 f64 i32 f32) (result f64)
    (f64.add (call $fmix (local.get 0) (local.get 1) (local.get 2) (local.get 3)) (f64.const 1)))
  (func (export "call_pair") (param f64 f32) (result f32) (local $a f32) (local $b f64)
    (call $fpair (local.get 0) (local.get 1))
    (local.set $b)
    (local.set $a)
    (f32.add (local.get $a) (f32.demote_f64 (local.get $b)))))"#;

const FLOAT_VECTORS: &str = "addf: edge\n\
    muld: edge\n\
    lt: edge\n\
    spread: 1.5 -0.25 7 3.5 2 0.125 -9 0.5; -1e-40 1e300 -2147483648 inf 0.5 nan -1 1; \
            0x1p-149 -0 0 -0 -0 -0 0 -0; nan:0x200000 0.1 3 -nan 1e-310 0x1.8p3 0x7fffffffffffffff 2\n\
    many: 1 2 3 4 5 6 7 8.5 9 10.25 -11; 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1000000\n\
    conv: edge\n\
    call_mix: 1.5 2.25 -3 nan:0x200000; -0 1e10 7 0.1; inf -inf 0 0x1p-149\n\
    call_pair: 0.5 -2; 1e300 3.5; -0 nan\n";

/// `FLOAT_WAT` in C, following the platform's C float convention (the exports and the mock
/// imports cross the boundary in whatever registers clang puts them).
const FLOAT_C: &str = r#"
#include <stdint.h>
struct env_fpair_results { float r0; double r1; };
struct conv_results { float r0; int64_t r1; double r2; };
extern double env_fmix(float a, double b, int32_t c, float d);
extern void env_fpair(struct env_fpair_results *out, double b, float a);

double synth_global_0 = 0.5;
float synth_global_1 = -1.0f;
void synth_init(void) {}

float addf(float a, float b) { synth_global_1 = a + b; return synth_global_1; }
double muld(double a, double b) { double p = a * b; synth_global_0 = synth_global_0 + p; return p; }
int32_t lt(float a, float b) { return a < b; }
double spread(float a, double b, int32_t c, float d, double e, float f, int64_t g, float h) {
    double r = (double)a;
    r = r + b; r = r + (double)c; r = r + (double)d; r = r * e; r = r + (double)f;
    r = r + (double)g;
    return r - (double)h;
}
float many(double a0, double a1, double a2, double a3, double a4, double a5, double a6, float a7,
           double a8, float a9, int32_t a10) {
    double r = a0 - a1;
    r = r + a2; r = r - a3; r = r + a4; r = r - a5; r = r + a6; r = r + (double)a7; r = r * a8;
    r = r + (double)a9; r = r + (double)a10;
    return (float)r;
}
void conv(struct conv_results *out, int64_t x, float y) {
    out->r0 = (float)x;
    out->r1 = (int64_t)((uint64_t)x + 1);
    out->r2 = (double)y * 2.0;
}
double call_mix(float a, double b, int32_t c, float d) { return env_fmix(a, b, c, d) + 1.0; }
float call_pair(double b, float a) {
    struct env_fpair_results r;
    env_fpair(&r, b, a);
    return r.r0 + (float)r.r1;
}
"#;

/// Every vector of `FLOAT_VECTORS` on the C imitation compiled for `compiled_for` and run on
/// `runs_on` (the same platform, unless a test plants an ABI disagreement): differences with
/// wasmtime, one line each.
fn float_imitation_problems(compiled_for: &Platform, runs_on: &Platform) -> Vec<String> {
    let info = ModuleInfo::parse(FLOAT_WAT.as_bytes()).unwrap();
    let vectors = vectors::parse(FLOAT_VECTORS, &info).unwrap();
    let oracle = Oracle::new(FLOAT_WAT.as_bytes(), Some(1)).unwrap();
    let object = compile_c_for(compiled_for, FLOAT_C, None).unwrap();
    let mut instance = SynthInstance::link_on(runs_on, &[&object], &info).unwrap();
    let mut problems = Vec::new();
    for vector in &vectors {
        let (expected, wasmtime_memory) = observe_oracle(&oracle, vector).unwrap();
        let (actual, synth_memory, _) = match observe_emulator(&mut instance, vector) {
            Ok(observed) => observed,
            Err(e) => {
                problems.push(format!("{vector}: {e}"));
                continue;
            }
        };
        if !observations_agree(&expected, &actual, &vector.args) {
            problems.push(format!(
                "{vector}: {}",
                describe_difference(
                    &expected,
                    &actual,
                    (&wasmtime_memory, &synth_memory),
                    &vector.args
                )
            ));
        }
    }
    problems
}

/// The platforms the float imitation runs on: every target as the harness sees it today, and
/// the hard-float convention of the FPU targets (AAPCS-VFP on cortex-m4f and cortex-m7dp,
/// ILP32F on rv32imafc). An RV32 core with F always compiles C as ILP32F (its ELF ABI), so its
/// soft variant cannot express the soft convention in C and is left out.
fn float_platforms() -> Vec<Platform> {
    let mut platforms: Vec<Platform> = Target::ALL.iter().map(|t| Platform::of(*t)).collect();
    for target in Target::ALL {
        let platform = Platform::of(target);
        if platform.has_fpu() && platform.float_abi == FloatAbi::Soft {
            platforms.push(platform.with_float_abi(FloatAbi::Hard));
        }
    }
    platforms.retain(|p| !(p.isa == Isa::Rv32 && p.has_fpu() && p.float_abi == FloatAbi::Soft));
    platforms
}

#[test]
fn float_abi_imitation_agrees_with_wasmtime_soft_and_hard() {
    let platforms = float_platforms();
    // Hard float is covered on both ISAs, soft float at least on cortex-m3 and rv32imac.
    for (name, abi) in [
        ("cortex-m4f", FloatAbi::Hard),
        ("cortex-m7dp", FloatAbi::Hard),
        ("rv32imafc", FloatAbi::Hard),
        ("cortex-m3", FloatAbi::Soft),
        ("rv32imac", FloatAbi::Soft),
    ] {
        assert!(
            platforms
                .iter()
                .any(|p| p.name == name && p.float_abi == abi),
            "{name} {abi:?}"
        );
    }
    let mut failures = Vec::new();
    for platform in &platforms {
        let problems = float_imitation_problems(platform, platform);
        failures.extend(
            problems
                .iter()
                .take(5)
                .map(|p| format!("{} {:?}: {p}", platform.name, platform.float_abi)),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// synth's own object for `FLOAT_WAT` on every target, called from C compiled for the target's
/// float convention through the generated header (rv32imafc: ILP32F C, f32 in fa registers,
/// f64 in integer pairs), and run by the harness on `FLOAT_VECTORS`: both agree with wasmtime.
#[test]
fn c_calls_synth_float_exports_through_the_header() {
    let info = ModuleInfo::parse(FLOAT_WAT.as_bytes()).unwrap();
    let oracle = Oracle::new(FLOAT_WAT.as_bytes(), Some(1)).unwrap();
    let c_cases = vectors::parse(
        "addf: 0.1 0.2; nan:0x200000 1\n\
         lt: -0 0; 1 nan\n\
         spread: -1e-40 1e300 -2147483648 inf 0.5 nan -1 1; 1.5 -0.25 7 3.5 2 0.125 -9 0.5\n\
         many: 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1000000\n\
         conv: -7 nan:0x200000; 0x7fffffffffffffff 0x1p-149\n\
         call_mix: 1.5 2.25 -3 -0.0\n\
         call_pair: 0.5 -2; -0 nan\n",
        &info,
    )
    .unwrap();
    let harness_cases = vectors::parse(FLOAT_VECTORS, &info).unwrap();
    let mut failures = Vec::new();
    for target in Target::ALL {
        let platform = Platform::of(target);
        let output = synth_compiler::compile(FLOAT_WAT.as_bytes(), &Options::new(target))
            .unwrap_or_else(|e| panic!("{}: {e}", target.name()));
        for case in &c_cases {
            if let Err(e) = run_case(
                &platform,
                FLOAT_WAT.as_bytes(),
                &oracle,
                &output.object,
                &output.header,
                &case.function,
                &case.args,
            ) {
                failures.push(format!("{} C entry {case}: {e}", target.name()));
            }
        }
        let mut instance = SynthInstance::link_on(&platform, &[&output.object], &info).unwrap();
        for vector in &harness_cases {
            let (expected, wasmtime_memory) = observe_oracle(&oracle, vector).unwrap();
            match observe_emulator(&mut instance, vector) {
                Ok((actual, synth_memory, _)) => {
                    if !observations_agree(&expected, &actual, &vector.args) {
                        failures.push(format!(
                            "{} {vector}: {}",
                            target.name(),
                            describe_difference(
                                &expected,
                                &actual,
                                (&wasmtime_memory, &synth_memory),
                                &vector.args
                            )
                        ));
                    }
                }
                Err(e) => failures.push(format!("{} {vector}: {e}", target.name())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Hard-float C run by a harness that passes floats soft (and the reverse) disagrees: the
/// comparison sees where the floats travel.
#[test]
fn a_float_abi_disagreement_is_caught() {
    let hard = Platform::of(Target::CortexM4F).with_float_abi(FloatAbi::Hard);
    let soft = hard.with_float_abi(FloatAbi::Soft);
    for (compiled_for, runs_on) in [(hard, soft), (soft, hard)] {
        let problems = float_imitation_problems(&compiled_for, &runs_on);
        for export in ["addf(", "spread(", "call_mix(", "many("] {
            assert!(
                problems.iter().any(|p| p.starts_with(export)),
                "{:?} C on {:?} harness: {export} not caught:\n{}",
                compiled_for.float_abi,
                runs_on.float_abi,
                problems.join("\n")
            );
        }
    }
}

/// The C entry path (`run_case`) with float arguments and results: C compiled for the
/// platform calls the imitation through a header, results are read back by bits.
#[test]
fn c_entry_passes_floats_through_the_header() {
    let header = r#"
#include <stdint.h>
struct conv_results { float r0; int64_t r1; double r2; };
double spread(float a, double b, int32_t c, float d, double e, float f, int64_t g, float h);
float many(double a0, double a1, double a2, double a3, double a4, double a5, double a6, float a7,
           double a8, float a9, int32_t a10);
void conv(struct conv_results *out, int64_t x, float y);
double call_mix(float a, double b, int32_t c, float d);
void synth_init(void);
"#;
    let oracle = Oracle::new(FLOAT_WAT.as_bytes(), Some(1)).unwrap();
    let info = ModuleInfo::parse(FLOAT_WAT.as_bytes()).unwrap();
    let cases = vectors::parse(
        "spread: -1e-40 1e300 -2147483648 inf 0.5 nan -1 1; 1.5 -0.25 7 3.5 2 0.125 -9 0.5\n\
         many: 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1000000\n\
         conv: -7 nan:0x200000; 0x7fffffffffffffff 0x1p-149\n\
         call_mix: 1.5 2.25 -3 -0.0\n",
        &info,
    )
    .unwrap();
    for platform in float_platforms() {
        let object = compile_c_for(&platform, FLOAT_C, None).unwrap();
        for case in &cases {
            run_case(
                &platform,
                FLOAT_WAT.as_bytes(),
                &oracle,
                &object,
                header,
                &case.function,
                &case.args,
            )
            .unwrap_or_else(|e| panic!("{} {:?} {case}: {e}", platform.name, platform.float_abi));
        }
    }
}

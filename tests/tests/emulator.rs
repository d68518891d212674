//! The emulator runner, proven on clang-compiled C that follows docs/ABI.md conventions:
//! argument passing (registers, pairs, stack, hidden result pointer), mock imports, traps,
//! faults, the instruction limit and count, callee-saved checks and RAM reset.

use synth_compiler::{Isa, Target};
use synth_tests::emu::{Cpu, FloatAbi, Machine, Platform, link};
use synth_tests::toolchain::compile_c;
use synth_tests::wasm_info::{ImportedFunction, Signature};
use synth_tests::{Outcome, ValType, Value, mock_import_results};

use ValType::{F32, F64, I32, I64};

const SOURCE: &str = r#"
#include <stdint.h>

struct three { int32_t a; int64_t b; int32_t c; };

extern int64_t env_mix(int32_t a, int64_t b, int32_t c, int64_t d, int32_t e);
extern void env_triple(struct three *out, int32_t x, int64_t y);
extern void synth_trap(uint32_t code) __attribute__((noreturn));

int32_t counter = 5;

int32_t sum5(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e;
}

int64_t mix(int32_t a, int64_t b, int32_t c, int64_t d, int32_t e) {
    return (int64_t)a * 3 + b * 5 + (int64_t)c * 7 + d * 11 + (int64_t)e * 13;
}

/* Nine words of arguments on RV32: the fifth i64 is split between a7 and the stack. */
int64_t split(int32_t a, int64_t b, int64_t c, int64_t d, int64_t e, int32_t f) {
    return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6;
}

void triple(struct three *out, int64_t x, int32_t y) {
    out->a = y + 1;
    out->b = x * 3;
    out->c = (int32_t)(x >> 32) ^ y;
}

int64_t call_mix(int32_t a, int64_t b, int32_t c, int64_t d, int32_t e) {
    return env_mix(a, b, c, d, e) ^ 7;
}

int32_t call_triple(int32_t x, int64_t y) {
    struct three t;
    env_triple(&t, x, y);
    return t.a + (int32_t)t.b + (int32_t)(t.b >> 32) + t.c;
}

int32_t bump(void) { return ++counter; }

/* Read-only data (placed in RAM) next to ARM unwind tables (kept with the code). */
static const int32_t table[4] = {11, 22, 33, 44};
int32_t lookup(int32_t i) { return table[i & 3]; }

int32_t trap_with(uint32_t code) {
    if (code != 0) synth_trap(code);
    return 0;
}

int32_t spin(void) {
    volatile int32_t x = 0;
    for (;;) x++;
}

int32_t fault(void) { return *(volatile int32_t *)0x90000000u; }
"#;

const ARM_ASM: &str = r#"
__attribute__((naked)) int32_t counted(void) {
    __asm__("movs r0, #6\n add.w r0, r0, #1\n nop\n nop\n bx lr");
}
__attribute__((naked)) int32_t looped(void) {
    __asm__("movs r0, #0\n 1: adds r0, #1\n cmp r0, #10\n bne 1b\n bx lr");
}
__attribute__((naked)) int32_t clobber(void) {
    __asm__("movs r5, #0\n movs r0, #1\n bx lr");
}
"#;

const RV_ASM: &str = r#"
__attribute__((naked)) int32_t counted(void) {
    __asm__(".option push\n .option norvc\n li a0, 6\n addi a0, a0, 1\n .option pop\n nop\n nop\n ret");
}
__attribute__((naked)) int32_t looped(void) {
    __asm__("li a0, 0\n li t0, 10\n 1: addi a0, a0, 1\n bne a0, t0, 1b\n ret");
}
__attribute__((naked)) int32_t clobber(void) {
    __asm__("li s5, 0\n li a0, 1\n ret");
}
"#;

fn sig(params: &[ValType], results: &[ValType]) -> Signature {
    Signature {
        params: params.to_vec(),
        results: results.to_vec(),
    }
}

fn imports() -> Vec<ImportedFunction> {
    vec![
        ImportedFunction {
            module: "env".into(),
            name: "mix".into(),
            sig: sig(&[I32, I64, I32, I64, I32], &[I64]),
            symbol: "env_mix".into(),
        },
        ImportedFunction {
            module: "env".into(),
            name: "triple".into(),
            sig: sig(&[I32, I64], &[I32, I64, I32]),
            symbol: "env_triple".into(),
        },
    ]
}

fn machine(target: Target) -> Machine {
    let asm = match target.isa() {
        Isa::Arm => ARM_ASM,
        Isa::Rv32 => RV_ASM,
    };
    let object = compile_c(target, &format!("{SOURCE}{asm}"), None).unwrap();
    let symbols: Vec<String> = imports().iter().map(|i| i.symbol.clone()).collect();
    let image = link(&Platform::of(target), &[&object], &symbols).unwrap();
    Machine::new(target, image, &imports()).unwrap()
}

fn returned(machine: &mut Machine, f: &str, s: &Signature, args: &[Value]) -> Vec<Value> {
    match machine.call(f, s, args).unwrap().outcome {
        Outcome::Returned(values) => values,
        other => panic!("{f}: {other}"),
    }
}

fn check_target(target: Target) {
    let mut m = machine(target);
    let name = target.name();

    let args = [1, -2, 3, 0x7fff_ffff, -5].map(Value::I32);
    let expected = 1i32
        .wrapping_add(-4)
        .wrapping_add(9)
        .wrapping_add(0x7fff_ffffi32.wrapping_mul(4))
        .wrapping_add(-25);
    assert_eq!(
        returned(&mut m, "sum5", &sig(&[I32; 5], &[I32]), &args),
        vec![Value::I32(expected)],
        "{name}"
    );

    let (a, b, c, d, e) = (-3i32, 0x1_2345_6789i64, 77i32, -0x7_0000_0001i64, 9i32);
    let mix_args = [
        Value::I32(a),
        Value::I64(b),
        Value::I32(c),
        Value::I64(d),
        Value::I32(e),
    ];
    let mix_sig = sig(&[I32, I64, I32, I64, I32], &[I64]);
    let mix = i64::from(a) * 3 + b * 5 + i64::from(c) * 7 + d * 11 + i64::from(e) * 13;
    assert_eq!(
        returned(&mut m, "mix", &mix_sig, &mix_args),
        vec![Value::I64(mix)],
        "{name}"
    );

    let split_args = [
        Value::I32(1),
        Value::I64(0x100_0000_0002),
        Value::I64(-3),
        Value::I64(0x4_0000_0000),
        Value::I64(0x5_0000_0005),
        Value::I32(-6),
    ];
    let split = 1 + 0x100_0000_0002i64 * 2 - 9 + 0x4_0000_0000 * 4 + 0x5_0000_0005 * 5 - 36;
    assert_eq!(
        returned(
            &mut m,
            "split",
            &sig(&[I32, I64, I64, I64, I64, I32], &[I64]),
            &split_args
        ),
        vec![Value::I64(split)],
        "{name}"
    );

    let x = -0x1234_5678_9abci64;
    assert_eq!(
        returned(
            &mut m,
            "triple",
            &sig(&[I64, I32], &[I32, I64, I32]),
            &[Value::I64(x), Value::I32(40)]
        ),
        vec![
            Value::I32(41),
            Value::I64(x * 3),
            Value::I32(((x >> 32) as i32) ^ 40)
        ],
        "{name}"
    );

    // Imports: arguments read per the ABI, mock results written back.
    let mock = mock_import_results(&mix_args, &[I64])[0];
    let Value::I64(mock) = mock else { panic!() };
    assert_eq!(
        returned(&mut m, "call_mix", &mix_sig, &mix_args),
        vec![Value::I64(mock ^ 7)],
        "{name}"
    );
    let triple_mock = mock_import_results(&[Value::I32(-9), Value::I64(1 << 40)], &[I32, I64, I32]);
    let [Value::I32(ta), Value::I64(tb), Value::I32(tc)] = triple_mock[..] else {
        panic!()
    };
    assert_eq!(
        returned(
            &mut m,
            "call_triple",
            &sig(&[I32, I64], &[I32]),
            &[Value::I32(-9), Value::I64(1 << 40)]
        ),
        vec![Value::I32(
            ta.wrapping_add(tb as i32)
                .wrapping_add((tb >> 32) as i32)
                .wrapping_add(tc)
        )],
        "{name}"
    );

    assert_eq!(
        returned(&mut m, "lookup", &sig(&[I32], &[I32]), &[Value::I32(6)]),
        vec![Value::I32(33)],
        "{name}"
    );

    // Globals persist across calls until the RAM is reset.
    let counter = m.image().symbol("counter").unwrap();
    assert_eq!(
        returned(&mut m, "bump", &sig(&[], &[I32]), &[]),
        vec![Value::I32(6)]
    );
    assert_eq!(
        returned(&mut m, "bump", &sig(&[], &[I32]), &[]),
        vec![Value::I32(7)]
    );
    m.reset().unwrap();
    assert_eq!(m.read_u32(counter).unwrap(), 5, "{name}");

    let trap_sig = sig(&[I32], &[I32]);
    assert_eq!(
        m.call("trap_with", &trap_sig, &[Value::I32(3)])
            .unwrap()
            .outcome,
        Outcome::Trapped(3),
        "{name}"
    );
    assert_eq!(
        m.call("trap_with", &trap_sig, &[Value::I32(0)])
            .unwrap()
            .outcome,
        Outcome::Returned(vec![Value::I32(0)]),
        "{name}"
    );

    // Exact instruction counts, 32-bit and 16-bit encodings mixed.
    let count = m.call("counted", &sig(&[], &[I32]), &[]).unwrap();
    assert_eq!(
        count.outcome,
        Outcome::Returned(vec![Value::I32(7)]),
        "{name}"
    );
    assert_eq!(count.instructions, 5, "{name}");
    let looped = m.call("looped", &sig(&[], &[I32]), &[]).unwrap();
    assert_eq!(
        looped.outcome,
        Outcome::Returned(vec![Value::I32(10)]),
        "{name}"
    );
    let expected_loop = match target.isa() {
        Isa::Arm => 1 + 3 * 10 + 1,
        Isa::Rv32 => 2 + 2 * 10 + 1,
    };
    assert_eq!(looped.instructions, expected_loop, "{name}");

    let err = m.call("clobber", &sig(&[], &[I32]), &[]).unwrap_err();
    assert!(err.message.contains("callee-saved"), "{name}: {err}");

    m.instruction_limit = 10_000;
    let err = m.call("spin", &sig(&[], &[I32]), &[]).unwrap_err();
    assert!(err.message.contains("limit"), "{name}: {err}");
    m.instruction_limit = synth_tests::emu::DEFAULT_INSTRUCTION_LIMIT;

    let err = m.call("fault", &sig(&[], &[I32]), &[]).unwrap_err();
    assert!(err.message.contains("faulted"), "{name}: {err}");

    // The machine still works after a fault.
    assert_eq!(
        returned(&mut m, "sum5", &sig(&[I32; 5], &[I32]), &[Value::I32(1); 5]),
        vec![Value::I32(15)],
        "{name}"
    );
}

#[test]
fn c_functions_run_with_the_abi_on_every_target() {
    for target in Target::ALL {
        check_target(target);
    }
}

/// The F targets' code may use the FPU: the emulated cores must have it enabled.
#[test]
fn fpu_is_enabled_on_float_targets() {
    let source = r#"
#include <stdint.h>
__attribute__((naked)) int32_t fp_double(int32_t bits) {
    __asm__(".fpu fpv4-sp-d16\n vmov s0, r0\n vadd.f32 s1, s0, s0\n vmov r0, s1\n bx lr");
}
"#;
    for target in [Target::CortexM4F, Target::CortexM7DP] {
        let object = compile_c(target, source, None).unwrap();
        let image = link(&Platform::of(target), &[&object], &[]).unwrap();
        let mut m = Machine::new(target, image, &[]).unwrap();
        // 1.0f + 1.0f == 2.0f
        assert_eq!(
            returned(
                &mut m,
                "fp_double",
                &sig(&[I32], &[I32]),
                &[Value::I32(0x3f80_0000)]
            ),
            vec![Value::I32(0x4000_0000)],
            "{}",
            target.name()
        );
    }
}

fn fpu_machine(platform: &Platform, source: &str) -> Machine {
    let object = synth_tests::toolchain::compile_c_for(platform, source, None).unwrap();
    let image = link(platform, &[&object], &[]).unwrap();
    Machine::on(platform, image, &[]).unwrap()
}

const ARM_DOUBLE: &str = r#"
#include <stdint.h>
__attribute__((naked)) int64_t dp_double(int64_t bits) {
    __asm__(".fpu fpv5-d16\n vmov d0, r0, r1\n vadd.f64 d1, d0, d0\n vmov r0, r1, d1\n bx lr");
}
"#;

/// cortex-m7dp runs on unicorn's Cortex-A15 in Thumb state: double-precision VFP executes.
#[test]
fn double_precision_vfp_runs_on_cortex_m7dp() {
    let mut m = fpu_machine(&Platform::of(Target::CortexM7DP), ARM_DOUBLE);
    // 1.5 + 1.5 == 3.0
    assert_eq!(
        returned(
            &mut m,
            "dp_double",
            &sig(&[I64], &[I64]),
            &[Value::I64(0x3ff8_0000_0000_0000)]
        ),
        vec![Value::I64(0x4008_0000_0000_0000)]
    );
}

/// Why cortex-m7dp is not emulated on unicorn's Cortex-M7 model: that model does not execute
/// double-precision VFP instructions.
#[test]
fn unicorn_cortex_m7_model_does_not_execute_double_precision() {
    let platform = Platform {
        cpu: Cpu::CortexM7,
        ..Platform::of(Target::CortexM7DP)
    };
    let mut m = fpu_machine(&platform, ARM_DOUBLE);
    let result = m.call(
        "dp_double",
        &sig(&[I64], &[I64]),
        &[Value::I64(0x3ff8_0000_0000_0000)],
    );
    assert!(
        !matches!(
            &result,
            Ok(call) if call.outcome == Outcome::Returned(vec![Value::I64(0x4008_0000_0000_0000)])
        ),
        "the Cortex-M7 model executed vadd.f64: {result:?}"
    );
}

/// rv32imafc runs on SiFive U34 with mstatus.FS set: F instructions execute; with the ILP32F
/// convention an f32 argument and result travel in fa0.
#[test]
fn single_precision_f_runs_on_rv32imafc_with_fa_registers() {
    let source = r#"
__attribute__((naked)) float f_double(float x, float y) {
    __asm__("fadd.s fa0, fa0, fa1\n fadd.s fa0, fa0, fa0\n ret");
}
__attribute__((naked)) int int_and_float(int a, float x) {
    __asm__("fcvt.w.s t0, fa0, rtz\n add a0, a0, t0\n ret");
}
"#;
    let hard = Platform::of(Target::Rv32imafc).with_float_abi(FloatAbi::Hard);
    let mut m = fpu_machine(&hard, source);
    // (1.5 + 2.25) * 2 == 7.5
    assert_eq!(
        returned(
            &mut m,
            "f_double",
            &sig(&[F32, F32], &[F32]),
            &[Value::from_f32(1.5), Value::from_f32(2.25)]
        ),
        vec![Value::from_f32(7.5)]
    );
    assert_eq!(
        returned(
            &mut m,
            "int_and_float",
            &sig(&[I32, F32], &[I32]),
            &[Value::I32(40), Value::from_f32(2.75)]
        ),
        vec![Value::I32(42)]
    );
}

/// Callee-saved FPU registers are checked like the core ones: s16–s31 on Arm FPU targets,
/// fs0–fs11 on RV32 with the ILP32F convention.
#[test]
fn clobbered_callee_saved_fpu_registers_are_reported() {
    let arm = r#"
__attribute__((naked)) int clobber_s16(int x) { __asm__("vmov s16, r0\n bx lr"); }
__attribute__((naked)) int use_s15(int x) { __asm__("vmov s15, r0\n bx lr"); }
"#;
    for target in [Target::CortexM4F, Target::CortexM7DP] {
        let mut m = fpu_machine(&Platform::of(target), arm);
        let err = m
            .call("clobber_s16", &sig(&[I32], &[I32]), &[Value::I32(1)])
            .unwrap_err();
        assert!(err.message.contains("callee-saved s16"), "{err}");
        // s0–s15 are caller-saved.
        assert_eq!(
            returned(&mut m, "use_s15", &sig(&[I32], &[I32]), &[Value::I32(3)]),
            vec![Value::I32(3)]
        );
    }
    let rv = r#"
__attribute__((naked)) int clobber_fs1(int x) { __asm__("fmv.w.x fs1, a0\n ret"); }
"#;
    let hard = Platform::of(Target::Rv32imafc).with_float_abi(FloatAbi::Hard);
    let err = fpu_machine(&hard, rv)
        .call("clobber_fs1", &sig(&[I32], &[I32]), &[Value::I32(1)])
        .unwrap_err();
    assert!(err.message.contains("callee-saved fs1"), "{err}");
}

/// Soft-float C calls libgcc's helpers (`__aeabi_fadd`, `__aeabi_dmul`, `__aeabi_l2f`,
/// `__aeabi_fcmplt` / `__addsf3`, `__muldf3`, `__floatdisf`, `__ltsf2`), linked into the image.
#[test]
fn soft_float_c_links_libgcc_helpers_on_every_target() {
    let source = r#"
#include <stdint.h>
float fadd(float a, float b) { return a + b; }
double dmul(double a, double b) { return a * b; }
float l2f(int64_t x) { return (float)x; }
int32_t flt(float a, float b) { return a < b; }
double f2d(float a) { return (double)a; }
int32_t d2i(double a) { return (int32_t)a; }
"#;
    for target in Target::ALL {
        let platform = Platform::of(target);
        if platform.isa == Isa::Rv32 && platform.has_fpu() {
            continue; // C on an RV32 core with F is ILP32F: covered by the hard-float tests
        }
        let mut m = fpu_machine(&platform, source);
        let name = target.name();
        let call =
            |m: &mut Machine, f: &str, s: Signature, args: &[Value]| returned(m, f, &s, args);
        assert_eq!(
            call(
                &mut m,
                "fadd",
                sig(&[F32, F32], &[F32]),
                &[Value::from_f32(0.1), Value::from_f32(0.2)]
            ),
            vec![Value::from_f32(0.1f32 + 0.2f32)],
            "{name}"
        );
        assert_eq!(
            call(
                &mut m,
                "dmul",
                sig(&[F64, F64], &[F64]),
                &[Value::from_f64(1e300), Value::from_f64(1e10)]
            ),
            vec![Value::from_f64(f64::INFINITY)],
            "{name}"
        );
        assert_eq!(
            call(
                &mut m,
                "l2f",
                sig(&[I64], &[F32]),
                &[Value::I64((1 << 24) + 1)]
            ),
            vec![Value::from_f32(16777216.0)],
            "{name}"
        );
        assert_eq!(
            call(
                &mut m,
                "flt",
                sig(&[F32, F32], &[I32]),
                &[Value::F32(0x7fc0_0000), Value::from_f32(1.0)]
            ),
            vec![Value::I32(0)],
            "{name}"
        );
        assert_eq!(
            call(&mut m, "f2d", sig(&[F32], &[F64]), &[Value::F32(1)]),
            vec![Value::from_f64(f64::from(f32::from_bits(1)))],
            "{name}"
        );
        assert_eq!(
            call(&mut m, "d2i", sig(&[F64], &[I32]), &[Value::from_f64(-2.9)]),
            vec![Value::I32(-2)],
            "{name}"
        );
        let helpers: &[&str] = match target.isa() {
            Isa::Arm => &[
                "__aeabi_fadd",
                "__aeabi_dmul",
                "__aeabi_l2f",
                "__aeabi_fcmplt",
            ],
            Isa::Rv32 => &["__addsf3", "__muldf3", "__floatdisf", "__ltsf2"],
        };
        // softfp C on an FPU target does single precision in the FPU itself.
        if !platform.has_fpu() {
            for helper in helpers {
                assert!(
                    m.image().symbol(helper).is_ok(),
                    "{name}: {helper} not linked"
                );
            }
        }
    }
}

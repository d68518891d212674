//! On FPU targets no helper call may remain for an operation the FPU does: every fixture compiled
//! for cortex-m4f (FPv4-SP), cortex-m7dp (FPv5-D16) and rv32imafc (F) is checked for the
//! runtime-library float helpers it leaves undefined and for synth's own runtime helpers
//! (`__synth_rt_*`, runtime.wat) it carries.
//!
//! - cortex-m4f, rv32imafc: no helper whose operands are all f32 (f64 arithmetic, f32<->f64 and
//!   i64<->float conversions stay in software); no `f32_sqrt` runtime helper.
//! - cortex-m7dp: no float helper except i64<->float conversions; no `sqrt`, `ceil`, `floor`,
//!   `trunc` or `nearest` runtime helper for either type (VSQRT, VRINTP/M/Z/N).

use std::path::Path;

use object::{Object, ObjectSymbol};
use synth_compiler::{Options, Target, compile};

/// What a runtime-library float helper works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Helper {
    f32: bool,
    f64: bool,
    /// Converts between a 64-bit integer and a float.
    i64_conversion: bool,
}

/// Classify a symbol as a float helper of the Arm RTABI (`__aeabi_*`) or of libgcc's generic
/// names (`__addsf3`, ...); `None` for anything else (integer helpers included).
fn float_helper(name: &str) -> Option<Helper> {
    let h = |f32, f64, i64_conversion| {
        Some(Helper {
            f32,
            f64,
            i64_conversion,
        })
    };
    if let Some(op) = name.strip_prefix("__aeabi_") {
        return match op {
            "fadd" | "fsub" | "frsub" | "fmul" | "fdiv" | "fneg" | "fcmpeq" | "fcmplt"
            | "fcmple" | "fcmpge" | "fcmpgt" | "fcmpun" | "cfcmpeq" | "cfcmple" | "cfrcmple"
            | "f2iz" | "f2uiz" | "i2f" | "ui2f" => h(true, false, false),
            "dadd" | "dsub" | "drsub" | "dmul" | "ddiv" | "dneg" | "dcmpeq" | "dcmplt"
            | "dcmple" | "dcmpge" | "dcmpgt" | "dcmpun" | "cdcmpeq" | "cdcmple" | "cdrcmple"
            | "d2iz" | "d2uiz" | "i2d" | "ui2d" => h(false, true, false),
            "f2d" | "d2f" => h(true, true, false),
            "l2f" | "ul2f" | "f2lz" | "f2ulz" => h(true, false, true),
            "l2d" | "ul2d" | "d2lz" | "d2ulz" => h(false, true, true),
            _ => None,
        };
    }
    let op = name.strip_prefix("__")?;
    let ty = |t: &str| match t {
        "sf" => Some((true, false)),
        "df" => Some((false, true)),
        _ => None,
    };
    for prefix in ["add", "sub", "mul", "div", "neg"] {
        if let Some((f32, f64)) = op
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('3'))
            .and_then(ty)
        {
            return h(f32, f64, false);
        }
    }
    for prefix in ["eq", "ne", "lt", "le", "ge", "gt", "unord", "cmp"] {
        if let Some((f32, f64)) = op
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('2'))
            .and_then(ty)
        {
            return h(f32, f64, false);
        }
    }
    match op {
        "extendsfdf2" | "truncdfsf2" => return h(true, true, false),
        "fixsfsi" | "fixunssfsi" | "floatsisf" | "floatunsisf" => return h(true, false, false),
        "fixdfsi" | "fixunsdfsi" | "floatsidf" | "floatunsidf" => return h(false, true, false),
        "fixsfdi" | "fixunssfdi" | "floatdisf" | "floatundisf" => return h(true, false, true),
        "fixdfdi" | "fixunsdfdi" | "floatdidf" | "floatundidf" => return h(false, true, true),
        _ => {}
    }
    None
}

/// Is calling `helper` on `target` a call for an operation the FPU does?
fn forbidden_helper(target: Target, helper: Helper) -> bool {
    match target {
        Target::CortexM4F | Target::Rv32imafc => {
            helper.f32 && !helper.f64 && !helper.i64_conversion
        }
        Target::CortexM7DP => !helper.i64_conversion,
        _ => false,
    }
}

/// synth's runtime helpers (runtime.wat exports, `__synth_rt_<name>` in the object) that must
/// not appear on `target`.
fn forbidden_runtime(target: Target, name: &str) -> bool {
    match target {
        Target::CortexM4F | Target::Rv32imafc => name == "f32_sqrt",
        Target::CortexM7DP => {
            let op = name
                .strip_prefix("f32_")
                .or_else(|| name.strip_prefix("f64_"));
            matches!(op, Some("sqrt" | "ceil" | "floor" | "trunc" | "nearest"))
        }
        _ => false,
    }
}

/// Every violation in one object, as "symbol (why)".
fn violations(target: Target, object: &[u8]) -> Vec<String> {
    let file = object::File::parse(object).expect("synth writes a parsable ELF object");
    let mut found = Vec::new();
    for symbol in file.symbols() {
        let Ok(name) = symbol.name() else { continue };
        if symbol.is_undefined() {
            if float_helper(name).is_some_and(|helper| forbidden_helper(target, helper)) {
                found.push(format!("{name} (library helper)"));
            }
        } else if name
            .strip_prefix("__synth_rt_")
            .is_some_and(|runtime| forbidden_runtime(target, runtime))
        {
            found.push(format!("{name} (synth runtime helper)"));
        }
    }
    found.sort();
    found.dedup();
    found
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("readable fixture"))
        })
        .collect();
    all.sort();
    all
}

#[test]
fn no_helper_call_remains_for_an_operation_the_fpu_does() {
    let mut problems = Vec::new();
    let mut compiled = 0;
    for (name, wat) in fixtures() {
        for target in [Target::CortexM4F, Target::CortexM7DP, Target::Rv32imafc] {
            let output = match compile(&wat, &Options::new(target)) {
                Ok(output) => output,
                Err(e) => {
                    problems.push(format!("{} {name}: does not compile: {e}", target.name()));
                    continue;
                }
            };
            compiled += 1;
            for v in violations(target, &output.object) {
                problems.push(format!("{} {name}: {v}", target.name()));
            }
        }
    }
    assert!(compiled > 100, "only {compiled} objects checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check sees helpers: the same fixtures on soft-float targets call f32 helpers, and the
/// classification follows the rules of the targets.
#[test]
fn the_check_catches_soft_float_helpers() {
    let wat = fixtures()
        .into_iter()
        .find(|(name, _)| name == "float_ops")
        .expect("fixtures/float_ops.wat")
        .1;
    for (target, expected) in [
        (Target::CortexM4, "__aeabi_fadd"),
        (Target::Rv32imac, "__addsf3"),
    ] {
        let object = compile(&wat, &Options::new(target)).unwrap().object;
        let file = object::File::parse(&*object).unwrap();
        assert!(
            file.symbols()
                .any(|s| s.is_undefined() && s.name() == Ok(expected)),
            "{}: {expected} not called",
            target.name()
        );
        // Judged by the rules of the FPU target of the same ISA, this object violates them.
        let fpu_target = match target {
            Target::CortexM4 => Target::CortexM4F,
            _ => Target::Rv32imafc,
        };
        let found = violations(fpu_target, &object);
        assert!(
            found.iter().any(|v| v.starts_with(expected)),
            "{}: {found:?}",
            target.name()
        );
        assert!(
            found.iter().any(|v| v.starts_with("__synth_rt_f32_sqrt")),
            "{}: {found:?}",
            target.name()
        );
    }
    let helper = |name| float_helper(name).unwrap();
    assert!(forbidden_helper(
        Target::CortexM4F,
        helper("__aeabi_fcmplt")
    ));
    assert!(!forbidden_helper(Target::CortexM4F, helper("__aeabi_dadd")));
    assert!(!forbidden_helper(Target::CortexM4F, helper("__aeabi_f2d")));
    assert!(!forbidden_helper(Target::CortexM4F, helper("__aeabi_l2f")));
    assert!(forbidden_helper(Target::CortexM7DP, helper("__aeabi_dadd")));
    assert!(forbidden_helper(Target::CortexM7DP, helper("__aeabi_d2f")));
    assert!(!forbidden_helper(
        Target::CortexM7DP,
        helper("__aeabi_ul2d")
    ));
    assert!(!forbidden_helper(
        Target::CortexM7DP,
        helper("__aeabi_f2lz")
    ));
    assert!(forbidden_helper(Target::Rv32imafc, helper("__ltsf2")));
    assert!(forbidden_helper(Target::Rv32imafc, helper("__fixsfsi")));
    assert!(!forbidden_helper(Target::Rv32imafc, helper("__muldf3")));
    assert!(!forbidden_helper(
        Target::Rv32imafc,
        helper("__extendsfdf2")
    ));
    assert!(!forbidden_helper(Target::Rv32imafc, helper("__floatdisf")));
    assert_eq!(float_helper("__aeabi_ldivmod"), None);
    assert_eq!(float_helper("__udivdi3"), None);
    assert!(forbidden_runtime(Target::CortexM7DP, "f64_nearest"));
    assert!(!forbidden_runtime(Target::CortexM7DP, "f64_min"));
    assert!(!forbidden_runtime(Target::CortexM4F, "f32_floor"));
}

//! `SynthInstance` and the differential comparison, proven before synth produces objects: a
//! hand-written C imitation of what synth emits for a small module (docs/ABI.md symbols:
//! `synth_init`, `synth_memory`, `synth_memory_bytes`, `synth_global_N`, `synth_trap`, mangled
//! imports) must agree with wasmtime running the module, and a deliberately wrong imitation must
//! be caught.

use synth_compiler::Target;
use synth_tests::ModuleInfo;
use synth_tests::compare::{
    describe_difference, observations_agree, observe_emulator, observe_oracle,
};
use synth_tests::emu::SynthInstance;
use synth_tests::oracle::Oracle;
use synth_tests::toolchain::compile_c;
use synth_tests::vectors;

mod common;
use common::{C_IMITATION, VECTORS, WAT};

fn compare(target: Target, wrong: bool) -> Vec<String> {
    let source = format!("#define WRONG {}\n{C_IMITATION}", u8::from(wrong));
    let object = compile_c(target, &source, None).unwrap();
    let info = ModuleInfo::parse(WAT.as_bytes()).unwrap();
    let vectors = vectors::parse(VECTORS, &info).unwrap();
    let oracle = Oracle::new(WAT.as_bytes(), Some(2)).unwrap();
    let mut instance = SynthInstance::new(target, &object, &info).unwrap();
    let mut problems = Vec::new();
    for vector in &vectors {
        let (expected, wasmtime_memory) = observe_oracle(&oracle, vector).unwrap();
        let (actual, synth_memory, _) = observe_emulator(&mut instance, vector).unwrap();
        if !observations_agree(&expected, &actual, &vector.args) {
            problems.push(format!(
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
    problems
}

#[test]
fn a_faithful_imitation_agrees_with_wasmtime_on_every_target() {
    for target in Target::ALL {
        let problems = compare(target, false);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn a_wrong_store_is_reported_as_a_memory_difference() {
    for target in [Target::CortexM4, Target::Rv32imac] {
        let problems = compare(target, true);
        // Stores of non-palindromic values differ; the zero store and the traps do not.
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("memory differs first at 0x0"),
            "{problems:#?}"
        );
    }
}

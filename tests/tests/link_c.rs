//! Link-with-C test: per target, a fixture compiled by synth, its generated header included by a
//! freestanding C entry that calls `synth_init` and an export and stores the results in a global;
//! C object + synth object linked with ld.lld, run in the emulator, compared with wasmtime.

use std::fmt::Write;
use std::path::Path;

mod common;

use synth_compiler::{Options, Target};
use synth_tests::emu::SynthInstance;
use synth_tests::oracle::Oracle;
use synth_tests::toolchain::compile_c;
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

fn c_literal(value: Value) -> String {
    match value {
        Value::I32(v) => format!("(int32_t)0x{:08x}u", v as u32),
        Value::I64(v) => format!("(int64_t)0x{:016x}ull", v as u64),
    }
}

/// The C entry: `harness_main` stores every result, sign-extended to 64 bits, in
/// `harness_results`.
fn c_entry(symbol: &str, results: usize, args: &[Value]) -> String {
    let args: Vec<String> = args.iter().map(|v| c_literal(*v)).collect();
    let mut c = String::from(
        "#include <stdint.h>\n#include \"module.h\"\n\
         volatile uint64_t harness_results[16];\n\
         void harness_main(void) {\n    synth_init();\n",
    );
    match results {
        0 => writeln!(c, "    {symbol}({});", args.join(", ")).unwrap(),
        1 => writeln!(
            c,
            "    harness_results[0] = (uint64_t)(int64_t){symbol}({});",
            args.join(", ")
        )
        .unwrap(),
        several => {
            let mut all = vec!["&r".to_string()];
            all.extend(args);
            writeln!(c, "    struct {symbol}_results r;").unwrap();
            writeln!(c, "    {symbol}({});", all.join(", ")).unwrap();
            for k in 0..several {
                writeln!(c, "    harness_results[{k}] = (uint64_t)(int64_t)r.r{k};").unwrap();
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
        target,
        wat,
        oracle,
        &output.object,
        &output.header,
        export,
        args,
    )
}

/// Link a C entry calling `export` through `header` with `module_object`, run it and compare
/// with wasmtime running `wat`.
fn run_case(
    target: Target,
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
    let entry = c_entry(&function.symbol, function.sig.results.len(), args);
    let c_object = compile_c(target, &entry, Some(dir.path()))?;

    let mut instance = SynthInstance::link_with(target, &[&c_object, module_object], &info)?;
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
                    Ok(Value::wrap(*ty, wide.as_i64_sign_extended()))
                })
                .collect::<Result<Vec<_>, HarnessError>>()?;
            Outcome::Returned(values)
        }
    };
    if actual != expected {
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
            let oracle = Oracle::new(&wat, Options::DEFAULT_MAX_MEMORY_PAGES)?;
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
    let oracle = Oracle::new(common::WAT.as_bytes(), Options::DEFAULT_MAX_MEMORY_PAGES).unwrap();
    for target in Target::ALL {
        let object = compile_c(
            target,
            &format!("#define WRONG 0\n{}", common::C_IMITATION),
            None,
        )
        .unwrap();
        for (export, args) in &cases {
            run_case(
                target,
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
        Target::CortexM4,
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

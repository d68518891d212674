//! The `synth-host` command as a CI farm drives it: an exit status per class of failure, and
//! `--json` records that name the error (kind, message, wasm offset, function) and what each
//! request cost; batch writes per-input reports and a machine-readable summary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const GOOD: &str = "(module (func (export \"add\") (param i32 i32) (result i32) \
                    local.get 0 local.get 1 i32.add))";
/// Invalid: `i32.add` with one operand, inside the export `broken`.
const INVALID: &str = "(module (func (export \"ok\") (result i32) i32.const 1) \
                       (func (export \"broken\") (result i32) i32.const 1 i32.add))";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synth-host-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn synth_host(args: &[&str]) -> Output {
    let component = common::component_path();
    let cache = common::cache_dir();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_synth-host"));
    command.args(args);
    if !args.contains(&"--component") {
        command.arg("--component").arg(&component);
    }
    command.arg("--cache-dir").arg(&cache);
    command.output().expect("synth-host runs")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[test]
fn compile_json_reports_the_result_and_its_cost() {
    let dir = scratch("ok");
    let input = dir.join("add.wat");
    std::fs::write(&input, GOOD).unwrap();
    let object = dir.join("add.o");
    let out = synth_host(&[
        "compile",
        path_str(&input),
        "--target",
        "cortex-m4",
        "-o",
        path_str(&object),
        "--json",
        "--fuel",
        "100000000000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let record = json_of(&out);
    assert_eq!(record["status"], "ok");
    assert_eq!(record["exit_code"], 0);
    assert_eq!(
        record["object_bytes"].as_u64(),
        Some(std::fs::metadata(&object).unwrap().len())
    );
    let metrics = &record["metrics"];
    assert!(metrics["time_ms"].as_f64().unwrap() > 0.0, "{record:#}");
    assert!(metrics["fuel_used"].as_u64().unwrap() > 0, "{record:#}");
    assert!(
        metrics["peak_memory_bytes"].as_u64().unwrap() >= 65536,
        "{record:#}"
    );
    assert!(
        ["hit", "miss", "uncached"].contains(&record["component_cache"].as_str().unwrap()),
        "{record:#}"
    );
}

#[test]
fn each_class_of_failure_has_its_exit_status() {
    let dir = scratch("fail");
    let invalid = dir.join("invalid.wat");
    std::fs::write(&invalid, INVALID).unwrap();
    let good = dir.join("good.wat");
    std::fs::write(&good, GOOD).unwrap();
    let object = dir.join("x.o");
    let compile = |input: &Path, extra: &[&str]| {
        let mut args = vec![
            "compile",
            path_str(input),
            "--target",
            "rv32imac",
            "-o",
            path_str(&object),
            "--json",
        ];
        args.extend_from_slice(extra);
        synth_host(&args)
    };

    // 1: the module is rejected; the error names the function and the offset.
    let out = compile(&invalid, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let error = &json_of(&out)["error"];
    assert_eq!(error["class"], "bad-input");
    assert_eq!(error["kind"], "invalid");
    assert_eq!(error["function"], "broken", "{error:#}");
    assert!(error["offset"].as_u64().is_some(), "{error:#}");
    assert!(!object.exists(), "no object for a rejected module");

    // 2: usage.
    assert_eq!(
        synth_host(&["compile", "--frobnicate"]).status.code(),
        Some(2)
    );

    // 3: a limit the operator set.
    let out = compile(&good, &["--max-input-bytes", "10"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(json_of(&out)["error"]["kind"], "max-input-bytes");
    let out = compile(&good, &["--fuel", "1000"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let record = json_of(&out);
    assert_eq!(record["error"]["class"], "limit");
    assert_eq!(record["error"]["kind"], "fuel");
    assert_eq!(record["metrics"]["fuel_used"], 1000);

    // 5: the host cannot do its part (no component; an input that cannot be read).
    let out = synth_host(&[
        "compile",
        path_str(&good),
        "--target",
        "rv32imac",
        "-o",
        path_str(&object),
        "--component",
        path_str(&dir.join("missing.wasm")),
    ]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let out = compile(&dir.join("absent.wat"), &[]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(json_of(&out)["error"]["kind"], "io");
}

#[test]
fn batch_writes_reports_and_a_summary_and_exits_with_the_worst_status() {
    let dir = scratch("batch");
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::write(inputs.join("good.wat"), GOOD).unwrap();
    std::fs::write(inputs.join("invalid.wat"), INVALID).unwrap();
    std::fs::write(inputs.join("garbage.wasm"), [0xde, 0xad, 0xbe, 0xef]).unwrap();
    let out_dir = dir.join("out");
    let out = synth_host(&[
        "batch",
        path_str(&inputs),
        "--target",
        "cortex-m7dp",
        "--out",
        path_str(&out_dir),
        "--report-json",
        "--json",
        "--jobs",
        "3",
        "--max-concurrent",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let summary = json_of(&out);
    let written: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("synth-batch.json")).unwrap()).unwrap();
    assert_eq!(written["results"], summary["results"]);
    assert_eq!(summary["summary"]["inputs"], 3);
    assert_eq!(summary["summary"]["by_status"]["ok"], 1);
    assert_eq!(summary["summary"]["by_status"]["bad-input"], 2);
    assert_eq!(summary["summary"]["max_concurrent_requests"], 2);
    let results = summary["results"].as_array().unwrap();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["error"]["kind"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(kinds, ["malformed", "none", "invalid"]);
    // The report of the compiled input, and nothing for the rejected ones.
    let report: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("good.json")).unwrap()).unwrap();
    assert_eq!(report["functions"][0]["name"], "add");
    assert!(out_dir.join("good.o").is_file() && out_dir.join("good.h").is_file());
    for stem in ["invalid", "garbage"] {
        for extension in ["o", "h", "json"] {
            assert!(!out_dir.join(format!("{stem}.{extension}")).exists());
        }
    }
}

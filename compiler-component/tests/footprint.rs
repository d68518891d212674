//! The flash and RAM footprint in the report, and the `--ram-limit` warning of the CLI.

use std::process::Command;

use synth_compiler::{Options, Target, compile};

/// One page of memory (the declared maximum), a 5-byte data segment and two i32 globals.
const MODULE: &str = r#"(module
  (memory (export "mem") 1 1)
  (data (i32.const 16) "hello")
  (global $a (mut i32) (i32.const 1))
  (global $b (mut i32) (i32.const 2))
  (func (export "bump") (result i32)
    global.get $a global.get $b i32.add global.set $a global.get $a))"#;

#[test]
fn footprint_counts_each_kind_of_section() {
    for target in Target::ALL {
        let out = compile(MODULE.as_bytes(), &Options::new(target)).unwrap();
        let f = out.report.footprint;
        // .text is the functions' code, literal pools included: what the report sums.
        assert_eq!(
            u64::from(f.text),
            out.report.total_code_size(),
            "{target:?}"
        );
        // The linear memory is the declared maximum, 1 page.
        assert_eq!(f.bss, 65536, "{target:?}");
        // The segment's bytes.
        assert_eq!(f.rodata, 5, "{target:?}");
        // The memory size word and the two globals.
        assert_eq!(f.data, 12, "{target:?}");
        assert_eq!(f.ram(), 65548);
        assert_eq!(f.flash(), u64::from(f.text) + 5 + 12);
        let json = out.report.to_json();
        assert!(
            json.contains("\"footprint\":{\"text\":"),
            "{target:?}: {json}"
        );
    }
}

#[test]
fn linear_memory_is_what_the_module_declares_unless_the_user_sets_a_cap() {
    let bss = |memory: &str, cap: Option<u32>| {
        let mut options = Options::new(Target::CortexM4);
        options.max_memory_pages = cap;
        let wat = format!(
            "(module {memory} (func (export \"grow\") (result i32) (memory.grow (i32.const 1))))"
        );
        let out = compile(wat.as_bytes(), &options).unwrap();
        out.report.footprint.bss / 65536
    };
    // Without a maximum, the initial size (it cannot grow); with one, the maximum up to 16 pages.
    assert_eq!(bss("(memory 2)", None), 2);
    assert_eq!(bss("(memory 1 4)", None), 4);
    assert_eq!(bss("(memory 1 65536)", None), 16);
    // `--max-memory-pages`: room to grow, or a lower cap on a declared maximum.
    assert_eq!(bss("(memory 2)", Some(8)), 8);
    assert_eq!(bss("(memory 1 65536)", Some(32)), 32);
    assert_eq!(bss("(memory 1 4)", Some(2)), 2);
}

#[test]
fn ram_limit_warns_and_still_writes_the_object() {
    let dir = std::env::temp_dir().join(format!("synth-footprint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("counter.wat");
    std::fs::write(&input, MODULE).unwrap();
    let object = dir.join("counter.o");
    let run = |limit: &str| {
        Command::new(env!("CARGO_BIN_EXE_synth"))
            .arg("compile")
            .arg(&input)
            .args(["--target", "cortex-m3", "-o"])
            .arg(&object)
            .args(["--ram-limit", limit])
            .output()
            .expect("the synth binary runs")
    };
    let over = run("32K");
    assert!(over.status.success(), "{over:?}");
    let stderr = String::from_utf8_lossy(&over.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("65548 bytes of RAM"),
        "{stderr}"
    );
    assert!(object.is_file());
    let under = run("1M");
    assert!(under.status.success(), "{under:?}");
    assert!(under.stderr.is_empty(), "{under:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

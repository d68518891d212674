//! Tables shared between synth modules: `lib` exports a table (with its own functions in it), a
//! global and a function; `app` imports the table (undefined symbol `lib_tab`), puts one of its
//! functions into it with an element segment at an offset read from `lib`'s global (applied by
//! `app_init` at run time), and `lib`'s function that `lib`'s exported funcref global names, at
//! entry 0 and through a passive segment (element items `global.get` of an imported global,
//! stored by `app_init`), grows it, sets entries and calls through it; `lib` then calls `app`'s
//! functions through its own table. `app` re-exports the table and the function: the program
//! defines `app_tab2` and `app_inc2` as aliases of the import symbols, as the header says. A C
//! `entry` mixes the results; linked with ld.lld and with GNU ld and run in the emulator on every
//! target, the result must equal wasmtime running the same modules linked by name.

use synth_compiler::{Options, Target, compile};
use synth_tests::emu::{LinkOptions, Linker, Machine, Platform, link_with};
use synth_tests::toolchain::compile_c_for;
use synth_tests::{Outcome, ScratchDir, Signature, ValType, Value};

const LIB: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (table (export "tab") 4 16 funcref)
  (global (export "base") i32 (i32.const 2))
  (global (export "fn") funcref (ref.func $dbl))
  (elem (i32.const 0) $inc $dbl)
  (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func (export "size") (result i32) (table.size 0)))
"#;

const APP: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (import "lib" "tab" (table $t 4 16 funcref))
  (import "lib" "base" (global $base i32))
  (import "lib" "inc" (func $inc (param i32) (result i32)))
  (import "lib" "fn" (global $fn funcref))
  (elem (table $t) (global.get $base) func $sq)
  (elem (table $t) (i32.const 0) funcref (global.get $fn))
  (elem $p funcref (global.get $fn) (ref.func $sq))
  (elem declare func $neg)
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $neg (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "run") (param i32) (result i32)
    (local $old i32)
    (local.set $old (table.grow $t (ref.func $neg) (i32.const 2)))
    (table.init $t $p (i32.const 5) (i32.const 0) (i32.const 1))
    (table.set $t (i32.const 3) (table.get $t (i32.const 0)))
    (i32.add
      (i32.add
        (i32.add (call_indirect $t (type $ii) (local.get 0) (i32.const 0))
                 (call_indirect $t (type $ii) (local.get 0) (i32.const 1)))
        (i32.add (call_indirect $t (type $ii) (local.get 0) (i32.const 2))
                 (call_indirect $t (type $ii) (local.get 0) (i32.const 3))))
      (i32.add (call_indirect $t (type $ii) (local.get 0) (i32.const 5))
               (i32.add (i32.mul (local.get $old) (i32.const 1000))
                        (i32.mul (table.size $t) (i32.const 100000))))))
  (export "tab2" (table $t))
  (export "inc2" (func $inc)))
"#;

/// The C side: every cross-module path once, mixed into one word.
const MAIN_C: &str = r#"#include "lib.h"
#include "app.h"
/* The re-exports: the header names them, the link defines them as aliases. */
extern uint32_t app_tab2[];
int32_t app_inc2(int32_t);
uint32_t mix(uint32_t h, uint32_t v) { return h * 31u + v; }
int32_t entry(int32_t x) {
    uint32_t h = 0;
    lib_init();
    app_init();
    h = mix(h, (uint32_t)app_run(x));
    h = mix(h, (uint32_t)lib_call(4, x));
    h = mix(h, (uint32_t)lib_call(2, x + 1));
    h = mix(h, (uint32_t)lib_size());
    h = mix(h, app_tab2[0] + (app_tab2[1 + 3] == lib_tab[1 + 0] ? 7u : 0u));
    h = mix(h, (uint32_t)app_inc2(x));
    h = mix(h, APP_TABLE_0_MAX_ENTRIES + LIB_TABLE_0_MAX_ENTRIES);
    return (int32_t)h;
}
"#;

const MODULES: [(&str, &str); 2] = [("lib", LIB), ("app", APP)];

struct Compiled {
    objects: Vec<(&'static str, Vec<u8>)>,
    /// `(alias, target)` from the headers' "Re-exported imports".
    aliases: Vec<(String, String)>,
    dir: ScratchDir,
}

/// The assignments a header lists under "Re-exported imports": lines `/* A = B; */`.
fn header_aliases(header: &str) -> Vec<(String, String)> {
    header
        .lines()
        .filter_map(|l| l.strip_prefix("/* ")?.strip_suffix("; */"))
        .filter_map(|l| {
            let (a, b) = l.split_once(" = ")?;
            Some((a.to_string(), b.to_string()))
        })
        .collect()
}

fn compile_modules(target: Target) -> Result<Compiled, String> {
    let dir = ScratchDir::new().map_err(|e| e.message)?;
    let mut objects = Vec::new();
    let mut aliases = Vec::new();
    for (name, wat) in MODULES {
        let mut options = Options::new(target);
        options.module_name = Some(name.to_string());
        let output = compile(wat.as_bytes(), &options).map_err(|e| format!("{name}: {e}"))?;
        std::fs::write(dir.path().join(format!("{name}.h")), &output.header)
            .map_err(|e| e.to_string())?;
        aliases.extend(header_aliases(&output.header));
        objects.push((name, output.object));
    }
    Ok(Compiled {
        objects,
        aliases,
        dir,
    })
}

/// The same computation on wasmtime, the modules linked by their import names.
fn wasmtime_entry(x: i32) -> i32 {
    use wasmtime::{Engine, Instance, Linker, Module, Store};
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let mut instances: Vec<Instance> = Vec::new();
    for (name, wat) in MODULES {
        let module = Module::new(&engine, wat).expect("module compiles on wasmtime");
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("instantiates");
        linker
            .instance(&mut store, name, instance)
            .expect("registers");
        instances.push(instance);
    }
    let (lib, app) = (instances[0], instances[1]);
    let call = |store: &mut Store<()>, instance: Instance, name: &str, args: &[i32]| -> i32 {
        let f = instance
            .get_func(&mut *store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let params: Vec<wasmtime::Val> = args.iter().map(|a| wasmtime::Val::I32(*a)).collect();
        let mut results = [wasmtime::Val::I32(0)];
        f.call(&mut *store, &params, &mut results).expect("runs");
        results[0].unwrap_i32()
    };
    let mix = |h: u32, v: u32| h.wrapping_mul(31).wrapping_add(v);
    let mut h = 0u32;
    h = mix(h, call(&mut store, app, "run", &[x]) as u32);
    h = mix(h, call(&mut store, lib, "call", &[4, x]) as u32);
    h = mix(h, call(&mut store, lib, "call", &[2, x + 1]) as u32);
    h = mix(h, call(&mut store, lib, "size", &[]) as u32);
    let table = app.get_table(&mut store, "tab2").expect("table");
    let size = table.size(&store) as u32;
    // `run` copied entry 0 into entry 3: the same reference (synth: the same descriptor).
    let same = matches!(
        (table.get(&mut store, 3), table.get(&mut store, 0)),
        (Some(a), Some(b)) if a.unwrap_func().is_some() && b.unwrap_func().is_some()
    );
    h = mix(h, size + if same { 7 } else { 0 });
    h = mix(h, call(&mut store, app, "inc2", &[x]) as u32);
    // Both sides' effective maximum: the declared 16 (below 4 + 1024).
    h = mix(h, 32);
    h as i32
}

fn run_on_emulator(target: Target, linker: Linker) -> Result<(), String> {
    let compiled = compile_modules(target)?;
    let want = [
        ("app_tab2".to_string(), "lib_tab".to_string()),
        ("app_inc2".to_string(), "lib_inc".to_string()),
    ];
    for alias in &want {
        if !compiled.aliases.contains(alias) {
            return Err(format!(
                "the header lacks {alias:?}: {:?}",
                compiled.aliases
            ));
        }
    }
    let platform = Platform::of(target);
    let main = match linker {
        // With GNU ld the C side comes from the GCC cross toolchain too: clang's objects carry
        // a `.note.GNU-stack` the others lack, which GNU ld warns about (fatal here).
        Linker::Gnu => gcc_object(&platform, compiled.dir.path())?,
        Linker::Lld => {
            compile_c_for(&platform, MAIN_C, Some(compiled.dir.path())).map_err(|e| e.message)?
        }
    };
    let mut objects: Vec<&[u8]> = vec![&main];
    objects.extend(compiled.objects.iter().map(|(_, o)| o.as_slice()));
    let options = LinkOptions {
        linker,
        aliases: compiled.aliases.clone(),
        ..LinkOptions::default()
    };
    let (image, _) = link_with(&platform, &objects, &[], &options).map_err(|e| e.message)?;
    let mut machine = Machine::on(&platform, image, &[]).map_err(|e| e.message)?;
    let sig = Signature {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    };
    for x in [5, -7, 1000] {
        machine.reset().map_err(|e| e.message)?;
        let run = machine
            .call("entry", &sig, &[Value::I32(x)])
            .map_err(|e| e.message)?;
        let expected = Outcome::Returned(vec![Value::I32(wasmtime_entry(x))]);
        if run.outcome != expected {
            return Err(format!(
                "entry({x}): synth {}, wasmtime {expected}",
                run.outcome
            ));
        }
    }
    Ok(())
}

/// `MAIN_C` compiled by the platform's GCC cross compiler.
fn gcc_object(platform: &Platform, dir: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::write(dir.join("main.c"), MAIN_C).map_err(|e| e.to_string())?;
    let (driver, flags) = platform.libgcc_flags();
    let mut gcc = std::process::Command::new(driver);
    gcc.args(&flags)
        .args(["-O2", "-ffreestanding", "-Wall", "-Werror", "-c", "-I"])
        .arg(dir)
        .arg(dir.join("main.c"))
        .arg("-o")
        .arg(dir.join("main.o"));
    synth_tests::emu::link::run_tool(&mut gcc).map_err(|e| e.message)?;
    std::fs::read(dir.join("main.o")).map_err(|e| e.to_string())
}

/// `run_on_emulator` with `linker` on every target; every failure is reported.
fn assert_every_target_agrees(linker: Linker) {
    let failures: Vec<String> = Target::ALL
        .into_iter()
        .filter_map(|target| {
            run_on_emulator(target, linker)
                .err()
                .map(|e| format!("{}: {e}", target.name()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_shared_table_links_with_lld_and_agrees_with_wasmtime_on_every_target() {
    assert_every_target_agrees(Linker::Lld);
}

#[test]
fn a_shared_table_links_with_gnu_ld_and_agrees_with_wasmtime_on_every_target() {
    assert_every_target_agrees(Linker::Gnu);
}

#[test]
fn an_element_segment_that_does_not_fit_an_imported_table_traps_after_the_earlier_ones() {
    // `late` writes entry 0 of lib's table, then its second segment (at 3, 2 items, table size
    // 4) does not fit: app_init traps with code 12 and entry 0 stays written.
    const LATE: &str = r#"(module
      (import "lib" "tab" (table 4 16 funcref))
      (func $f (param i32) (result i32) (local.get 0))
      (elem (table 0) (i32.const 0) func $f)
      (elem (table 0) (i32.const 3) func $f $f))"#;
    const MAIN: &str = r#"#include "lib.h"
#include "late.h"
uint32_t before0, before1;
int32_t entry(int32_t x) {
    (void)x;
    lib_init();
    before0 = lib_tab[1];
    before1 = lib_tab[2];
    late_init();
    return 0;
}
int32_t probe(int32_t x) {
    (void)x;
    /* lib_tab[0] is the size word, lib_tab[1 + i] entry i. */
    return (int32_t)(lib_tab[2] == before1) + 10 * (int32_t)(lib_tab[1] != before0)
        + 100 * (int32_t)(lib_tab[4] == 0) + 1000 * (int32_t)lib_tab[0];
}
"#;
    let target = Target::CortexM4;
    let dir = ScratchDir::new().unwrap();
    let mut objects = Vec::new();
    for (name, wat) in [("lib", LIB), ("late", LATE)] {
        let mut options = Options::new(target);
        options.module_name = Some(name.to_string());
        let output = compile(wat.as_bytes(), &options).unwrap();
        std::fs::write(dir.path().join(format!("{name}.h")), &output.header).unwrap();
        objects.push(output.object);
    }
    let platform = Platform::of(target);
    let main = compile_c_for(&platform, MAIN, Some(dir.path())).unwrap();
    let mut all: Vec<&[u8]> = vec![&main];
    all.extend(objects.iter().map(|o| o.as_slice()));
    let (image, _) = link_with(&platform, &all, &[], &LinkOptions::default()).unwrap();
    let mut machine = Machine::on(&platform, image, &[]).unwrap();
    let sig = Signature {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    };
    let run = machine.call("entry", &sig, &[Value::I32(0)]).unwrap();
    assert_eq!(run.outcome, Outcome::Trapped(12), "{}", run.outcome);
    let probe = machine.call("probe", &sig, &[Value::I32(0)]).unwrap();
    // Entry 0 (lib's $inc) now holds late's $f; entry 1 (lib's $dbl) is untouched, entry 3
    // too (the second segment wrote nothing); the size is still 4.
    assert_eq!(
        probe.outcome,
        Outcome::Returned(vec![Value::I32(4000 + 100 + 10 + 1)]),
        "{}",
        probe.outcome
    );
}

/// A signature whose type id needs more than 32 bits: its id is the address of the weak symbol
/// `__synth_type_<HEX>` both objects define; the linker keeps one, so `call_indirect` in `lc`
/// accepts `lp`'s function (and a function of another long signature traps with code 11).
#[test]
fn long_type_ids_agree_across_modules_with_lld_and_gnu_ld() {
    const LP: &str = r#"(module
      (type $l (func (param f64 f64 f64 f64 f64 f64 f64 f64) (result f64)))
      (type $m (func (param f64 f64 f64 f64 f64 f64 f64 f64) (result f32)))
      (table (export "tab") 2 funcref)
      (elem (i32.const 0) $f $g)
      (func $f (type $l) (f64.add (local.get 0) (local.get 7)))
      (func $g (type $m) (f32.const 1)))"#;
    const LC: &str = r#"(module
      (type $l (func (param f64 f64 f64 f64 f64 f64 f64 f64) (result f64)))
      (import "lp" "tab" (table 2 funcref))
      (func (export "go") (param i32) (result i32)
        (i32.trunc_f64_s
          (call_indirect (type $l) (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4)
            (f64.const 5) (f64.const 6) (f64.const 7) (f64.const 8) (local.get 0)))))"#;
    const MAIN: &str = r#"#include "lp.h"
#include "lc.h"
int32_t entry(int32_t x) {
    lp_init();
    lc_init();
    return lc_go(x);
}
"#;
    let mut failures = Vec::new();
    for target in [Target::CortexM4, Target::Rv32imac] {
        for linker in [Linker::Lld, Linker::Gnu] {
            let dir = ScratchDir::new().unwrap();
            let mut objects = Vec::new();
            for (name, wat) in [("lp", LP), ("lc", LC)] {
                let mut options = Options::new(target);
                options.module_name = Some(name.to_string());
                let output = compile(wat.as_bytes(), &options).unwrap();
                std::fs::write(dir.path().join(format!("{name}.h")), &output.header).unwrap();
                objects.push(output.object);
            }
            let platform = Platform::of(target);
            let main = match linker {
                Linker::Gnu => {
                    std::fs::write(dir.path().join("m.c"), MAIN).unwrap();
                    let (driver, flags) = platform.libgcc_flags();
                    let mut gcc = std::process::Command::new(driver);
                    gcc.args(&flags)
                        .args(["-O2", "-ffreestanding", "-c", "-I"])
                        .arg(dir.path())
                        .arg(dir.path().join("m.c"))
                        .arg("-o")
                        .arg(dir.path().join("m.o"));
                    synth_tests::emu::link::run_tool(&mut gcc).unwrap();
                    std::fs::read(dir.path().join("m.o")).unwrap()
                }
                Linker::Lld => compile_c_for(&platform, MAIN, Some(dir.path())).unwrap(),
            };
            let mut all: Vec<&[u8]> = vec![&main];
            all.extend(objects.iter().map(|o| o.as_slice()));
            let options = LinkOptions {
                linker,
                ..LinkOptions::default()
            };
            let (image, _) = link_with(&platform, &all, &[], &options).unwrap();
            let mut machine = Machine::on(&platform, image, &[]).unwrap();
            let sig = Signature {
                params: vec![ValType::I32],
                results: vec![ValType::I32],
            };
            for (x, expected) in [
                (0, Outcome::Returned(vec![Value::I32(9)])),
                (1, Outcome::Trapped(11)),
                (2, Outcome::Trapped(9)),
            ] {
                machine.reset().unwrap();
                let run = machine.call("entry", &sig, &[Value::I32(x)]).unwrap();
                if run.outcome != expected {
                    failures.push(format!(
                        "{} {linker:?} entry({x}): {}, want {expected}",
                        target.name(),
                        run.outcome
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! Several synth modules in one firmware: `lib` exports functions, a memory and globals; `app`
//! imports all of them from `lib` (undefined symbols `lib_add`, `lib_mem`, `lib_counter`, ...,
//! which `lib`, compiled with module name `lib`, defines); `other` is independent and exports
//! the same names as `lib` (`add`) and `app` (`run`). A C `entry` includes the three headers,
//! initializes the modules and mixes their results. Linked with ld.lld and run in the emulator
//! on every target, the result must equal wasmtime running the same modules linked by name;
//! the same objects must also link with GNU ld under `--fatal-warnings`.

use std::process::Command;

use synth_compiler::{Options, Target, compile};
use synth_tests::emu::link::run_tool;
use synth_tests::emu::{Machine, Platform, link};
use synth_tests::toolchain::compile_c_for;
use synth_tests::{Outcome, ScratchDir, Signature, ValType, Value};

const LIB: &str = r#"(module
  (memory (export "mem") 1 1)
  (global (export "counter") (mut i32) (i32.const 10))
  (global (export "scale") i32 (i32.const 3))
  (global (export "big") (mut i64) (i64.const 0x100000000))
  (data (i32.const 16) "\01\02\03\04")
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "bump") (result i32)
    (global.set 0 (i32.add (global.get 0) (i32.const 1)))
    (global.get 0))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
"#;

const APP: &str = r#"(module
  (import "lib" "add" (func $add (param i32 i32) (result i32)))
  (import "lib" "bump" (func $bump (result i32)))
  (import "lib" "mem" (memory 1))
  (import "lib" "counter" (global $counter (mut i32)))
  (import "lib" "scale" (global $scale i32))
  (import "lib" "big" (global $big (mut i64)))
  (data (i32.const 32) "hi")
  (func (export "run") (param i32) (result i32)
    (i32.store (i32.const 100) (i32.mul (local.get 0) (global.get $scale)))
    (global.set $counter (i32.add (global.get $counter) (local.get 0)))
    (global.set $big (i64.add (global.get $big) (i64.extend_i32_u (local.get 0))))
    (call $add (call $bump) (i32.load (i32.const 16))))
  (func (export "big_hi") (result i32) (i32.wrap_i64 (i64.shr_u (global.get $big) (i64.const 32)))))
"#;

const OTHER: &str = r#"(module
  (memory 1)
  (global $g (mut i32) (i32.const 7))
  (func (export "add") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func (export "run") (param i32) (result i32)
    (i32.store (i32.const 100) (local.get 0))
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.add (global.get $g) (i32.load (i32.const 100)))))
"#;

/// The C side: every cross-module path once, mixed into one word.
const MAIN_C: &str = r#"#include "lib.h"
#include "app.h"
#include "other.h"
uint32_t mix(uint32_t h, uint32_t v) { return h * 31u + v; }
int32_t entry(int32_t x) {
    uint32_t h = 0;
    lib_init();
    app_init();
    other_init();
    h = mix(h, (uint32_t)app_run(x));
    h = mix(h, (uint32_t)other_run(x));
    h = mix(h, (uint32_t)lib_peek(100));
    h = mix(h, (uint32_t)lib_counter);
    h = mix(h, (uint32_t)lib_scale);
    h = mix(h, (uint32_t)app_big_hi());
    h = mix(h, (uint32_t)(lib_big & 0xffffffffu));
    h = mix(h, (uint32_t)lib_mem[32] + (uint32_t)lib_mem[33] + lib_mem_bytes);
    h = mix(h, (uint32_t)other_add(5, 3) + (uint32_t)lib_add(5, 3));
    h = mix(h, (uint32_t)other_memory[100] + other_memory_bytes);
    return (int32_t)h;
}
"#;

const ENTRY_C_HOOKS: &str = r#"
#include <stdint.h>
uintptr_t __synth_stack_limit;
void synth_trap(uint32_t code) { (void)code; for (;;) {} }
int32_t entry(int32_t x);
int main(void) { return entry(5); }
"#;

const MODULES: [(&str, &str); 3] = [("lib", LIB), ("app", APP), ("other", OTHER)];

struct Compiled {
    objects: Vec<(&'static str, Vec<u8>)>,
    dir: ScratchDir,
}

fn compile_modules(target: Target) -> Result<Compiled, String> {
    let dir = ScratchDir::new().map_err(|e| e.message)?;
    let mut objects = Vec::new();
    for (name, wat) in MODULES {
        let mut options = Options::new(target);
        options.module_name = Some(name.to_string());
        let output = compile(wat.as_bytes(), &options).map_err(|e| format!("{name}: {e}"))?;
        std::fs::write(dir.path().join(format!("{name}.h")), &output.header)
            .map_err(|e| e.to_string())?;
        objects.push((name, output.object));
    }
    Ok(Compiled { objects, dir })
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
    let (lib, app, other) = (instances[0], instances[1], instances[2]);
    let call = |store: &mut Store<()>, instance: Instance, name: &str, args: &[i32]| -> i32 {
        let f = instance
            .get_func(&mut *store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let params: Vec<wasmtime::Val> = args.iter().map(|a| wasmtime::Val::I32(*a)).collect();
        let mut results = [wasmtime::Val::I32(0)];
        f.call(&mut *store, &params, &mut results).expect("runs");
        results[0].unwrap_i32()
    };
    let global = |store: &mut Store<()>, name: &str| -> wasmtime::Val {
        lib.get_global(&mut *store, name)
            .expect("global")
            .get(&mut *store)
    };
    let mix = |h: u32, v: u32| h.wrapping_mul(31).wrapping_add(v);
    let mut h = 0u32;
    h = mix(h, call(&mut store, app, "run", &[x]) as u32);
    h = mix(h, call(&mut store, other, "run", &[x]) as u32);
    h = mix(h, call(&mut store, lib, "peek", &[100]) as u32);
    h = mix(h, global(&mut store, "counter").unwrap_i32() as u32);
    h = mix(h, global(&mut store, "scale").unwrap_i32() as u32);
    h = mix(h, call(&mut store, app, "big_hi", &[]) as u32);
    h = mix(h, global(&mut store, "big").unwrap_i64() as u32);
    let memory = lib.get_memory(&mut store, "mem").expect("memory");
    let (bytes, size) = {
        let data = memory.data(&store);
        (u32::from(data[32]) + u32::from(data[33]), data.len() as u32)
    };
    h = mix(h, bytes.wrapping_add(size));
    let sum = call(&mut store, other, "add", &[5, 3]) as u32
        + call(&mut store, lib, "add", &[5, 3]) as u32;
    h = mix(h, sum);
    // `other` exports no memory: its word at 100 is x (stored by `run`), its size one page.
    h = mix(h, (x as u32 & 0xff).wrapping_add(65536));
    h as i32
}

#[test]
fn three_modules_link_with_lld_and_agree_with_wasmtime_on_every_target() {
    let mut failures = Vec::new();
    for target in Target::ALL {
        if let Err(e) = run_on_emulator(target) {
            failures.push(format!("{}: {e}", target.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn run_on_emulator(target: Target) -> Result<(), String> {
    let compiled = compile_modules(target)?;
    let platform = Platform::of(target);
    let main =
        compile_c_for(&platform, MAIN_C, Some(compiled.dir.path())).map_err(|e| e.message)?;
    let mut objects: Vec<&[u8]> = vec![&main];
    objects.extend(compiled.objects.iter().map(|(_, o)| o.as_slice()));
    let image = link(&platform, &objects, &[]).map_err(|e| e.message)?;
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

#[test]
fn three_modules_link_with_gnu_ld_on_every_target() {
    let mut failures = Vec::new();
    for target in Target::ALL {
        if let Err(e) = link_with_gnu_ld(target) {
            failures.push(format!("{}: {e}", target.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn link_with_gnu_ld(target: Target) -> Result<(), String> {
    let compiled = compile_modules(target)?;
    let dir = compiled.dir.path();
    let path = |name: &str| dir.join(name);
    std::fs::write(path("main.c"), format!("{MAIN_C}{ENTRY_C_HOOKS}"))
        .map_err(|e| e.to_string())?;
    let (driver, flags) = Platform::of(target).libgcc_flags();
    let mut gcc = Command::new(driver);
    gcc.args(&flags)
        .args(["-O2", "-ffreestanding", "-Wall", "-Werror", "-c", "-I"])
        .arg(dir)
        .arg(path("main.c"))
        .arg("-o")
        .arg(path("main.o"));
    run_tool(&mut gcc).map_err(|e| e.message)?;
    let mut ld = Command::new(driver);
    ld.args(&flags)
        .args(["-nostdlib", "-Wl,--fatal-warnings", "-Wl,-e,main"])
        .arg(path("main.o"));
    for (name, object) in &compiled.objects {
        let file = path(&format!("{name}.o"));
        std::fs::write(&file, object).map_err(|e| e.to_string())?;
        ld.arg(file);
    }
    ld.arg("-lgcc").arg("-o").arg(path("firmware.elf"));
    run_tool(&mut ld).map_err(|e| e.message)?;
    Ok(())
}

#[test]
fn two_modules_without_a_name_collide_and_named_ones_do_not() {
    // The legacy naming (no module name) defines `synth_init` in both objects.
    let target = Target::CortexM4;
    let legacy = compile(OTHER.as_bytes(), &Options::new(target)).unwrap();
    let platform = Platform::of(target);
    let err = link(&platform, &[&legacy.object, &legacy.object], &[])
        .map(|_| ())
        .expect_err("two unnamed modules must collide");
    assert!(err.message.contains("synth_init"), "{}", err.message);
    let mut a = Options::new(target);
    a.module_name = Some("a".into());
    let mut b = a.clone();
    b.module_name = Some("b".into());
    let a = compile(OTHER.as_bytes(), &a).unwrap();
    let b = compile(OTHER.as_bytes(), &b).unwrap();
    link(&platform, &[&a.object, &b.object], &[]).expect("named modules link together");
    assert!(a.header.contains("#ifndef A_SYNTH_H") && b.header.contains("#ifndef B_SYNTH_H"));
}

//! GNU ld, the firmware engineer's linker: a synth object and C compiled by the target's GCC
//! (its default options: short enums, 4-byte wchar_t) link with `--fatal-warnings` on every
//! target, so nothing in synth's build attributes makes a strict firmware build fail. So does
//! C compiled by clang, with `-z noexecstack`: clang's objects carry a `.note.GNU-stack` that
//! GCC's, libgcc's and synth's lack, and GNU ld warns about a mix unless told the stack is not
//! executable (docs/ABI.md).

use std::process::Command;

use synth_compiler::{Options, Target, compile};
use synth_tests::ScratchDir;
use synth_tests::emu::Platform;
use synth_tests::emu::link::run_tool;
use synth_tests::toolchain::compile_c_for;

/// Integers, floats of both widths, a global and memory: every attribute a real module sets.
const WAT: &str = r#"(module
  (memory 1)
  (global $gain (mut f32) (f32.const 1.5))
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    (f64.add
      (f64.convert_i64_s (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
      (f64.add (f64.promote_f32 (f32.mul (local.get 2) (global.get $gain))) (local.get 3))))
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1))))
"#;

/// Uses an enum and wchar_t with GCC's defaults, as firmware C does.
const MAIN_C: &str = r#"#include <stddef.h>
#include "module.h"
enum mode { IDLE, RUN };
volatile enum mode current = RUN;
volatile wchar_t wide = L'x';
volatile double out;
uintptr_t __synth_stack_limit;
void synth_trap(uint32_t code) { (void)code; for (;;) {} }
int main(void) {
    synth_init();
    store(0, (uint32_t)current);
    out = mix(1, 2, 3.0f, 4.0) + wide;
    return 0;
}
"#;

#[test]
fn gnu_ld_links_synth_objects_with_gcc_code_without_warnings() {
    assert_links_on_every_target(CCompiler::Gcc);
}

#[test]
fn gnu_ld_links_synth_objects_with_clang_code_without_warnings() {
    assert_links_on_every_target(CCompiler::Clang);
}

#[derive(Clone, Copy)]
enum CCompiler {
    Gcc,
    Clang,
}

fn assert_links_on_every_target(c: CCompiler) {
    let mut failures = Vec::new();
    for target in Target::ALL {
        if let Err(e) = link_with_gnu_ld(target, c) {
            failures.push(format!("{}: {e}", target.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn link_with_gnu_ld(target: Target, c: CCompiler) -> Result<(), String> {
    let output = compile(WAT.as_bytes(), &Options::new(target)).map_err(|e| e.to_string())?;
    let dir = ScratchDir::new().map_err(|e| e.message)?;
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("module.o"), &output.object).map_err(|e| e.to_string())?;
    std::fs::write(path("module.h"), &output.header).map_err(|e| e.to_string())?;
    std::fs::write(path("main.c"), MAIN_C).map_err(|e| e.to_string())?;
    let platform = Platform::of(target);
    let (driver, flags) = platform.libgcc_flags();
    match c {
        CCompiler::Gcc => {
            let mut gcc = Command::new(driver);
            gcc.args(&flags)
                .args(["-O2", "-ffreestanding", "-Wall", "-Werror", "-c", "-I"])
                .arg(dir.path())
                .arg(path("main.c"))
                .arg("-o")
                .arg(path("main.o"));
            run_tool(&mut gcc).map_err(|e| e.message)?;
        }
        CCompiler::Clang => {
            let object =
                compile_c_for(&platform, MAIN_C, Some(dir.path())).map_err(|e| e.message)?;
            std::fs::write(path("main.o"), object).map_err(|e| e.to_string())?;
        }
    }
    let mut ld = Command::new(driver);
    ld.args(&flags)
        .args(["-nostdlib", "-Wl,--fatal-warnings", "-Wl,-e,main"])
        .args(match c {
            CCompiler::Gcc => &[][..],
            CCompiler::Clang => &["-Wl,-z,noexecstack"][..],
        })
        .arg(path("main.o"))
        .arg(path("module.o"))
        .arg("-lgcc")
        .arg("-o")
        .arg(path("firmware.elf"));
    run_tool(&mut ld).map_err(|e| e.message)?;
    let linked = std::fs::read(path("firmware.elf")).map_err(|e| e.to_string())?;
    if !linked.windows(4).any(|w| w == b"mix\0") {
        return Err("the linked image has no `mix` symbol".into());
    }
    Ok(())
}

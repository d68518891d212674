//! The generated header compiles without a warning as C89, C99 and C11 and as C++98, C++11 and
//! C++17 under `-Wall -Wextra -pedantic -Werror`, with GCC (the firmware toolchain) and clang.

use std::process::Command;

use synth_compiler::{Options, Target, compile};
use synth_tests::ScratchDir;
use synth_tests::emu::link::run_tool;

/// Fixtures whose headers together use every construct: several results (structs), i64 and
/// float parameters, imports, exported globals, memory.
const FIXTURES: [&str; 4] = ["float_mix", "multi_value", "imports", "globals"];

const STANDARDS: [(&str, &str); 6] = [
    ("c", "c89"),
    ("c", "c99"),
    ("c", "c11"),
    ("c++", "c++98"),
    ("c++", "c++11"),
    ("c++", "c++17"),
];

#[test]
fn headers_compile_cleanly_in_every_c_and_cpp_standard() {
    let dir = ScratchDir::new().unwrap();
    let mut failures = Vec::new();
    for target in [Target::CortexM4F, Target::Rv32imac] {
        for fixture in FIXTURES {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures")
                .join(format!("{fixture}.wat"));
            let wat = std::fs::read(&path).unwrap();
            let header = compile(&wat, &Options::new(target)).unwrap().header;
            let header_path = dir
                .path()
                .join(format!("{fixture}_{}.h", target.name().replace('-', "_")));
            std::fs::write(&header_path, header).unwrap();
            for (language, standard) in STANDARDS {
                for compiler in compilers(target, language) {
                    let mut command = Command::new(compiler[0]);
                    command
                        .args(&compiler[1..])
                        .args(["-ffreestanding", "-fsyntax-only", "-Wall", "-Wextra"])
                        .args(["-pedantic", "-Werror", "-x", language])
                        .arg(format!("-std={standard}"))
                        .arg(&header_path);
                    if let Err(e) = run_tool(&mut command) {
                        failures.push(format!(
                            "{fixture} {} {} -std={standard}: {}",
                            target.name(),
                            compiler[0],
                            e.message
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The target's GCC and clang for `language` ("c" or "c++").
fn compilers(target: Target, language: &str) -> Vec<Vec<&'static str>> {
    let cpp = language == "c++";
    match target.isa() {
        synth_compiler::Isa::Arm => vec![
            vec![
                if cpp {
                    "arm-none-eabi-g++"
                } else {
                    "arm-none-eabi-gcc"
                },
                "-mcpu=cortex-m4",
                "-mthumb",
            ],
            vec![
                if cpp { "clang++" } else { "clang" },
                "--target=thumbv7em-none-eabi",
            ],
        ],
        synth_compiler::Isa::Rv32 => vec![
            vec![
                if cpp {
                    "riscv64-unknown-elf-g++"
                } else {
                    "riscv64-unknown-elf-gcc"
                },
                "-march=rv32imac",
                "-mabi=ilp32",
            ],
            vec![
                if cpp { "clang++" } else { "clang" },
                "--target=riscv32-unknown-elf",
            ],
        ],
    }
}

//! Float benchmark: C ports of the float fixtures (tests/bench/float) compiled by synth (via
//! clang --target=wasm32 -O2) and natively by clang -O2 with the target's float ABI, run in the
//! emulator; prints executed instructions synth / clang per program and target, the geometric
//! mean per target, and `.text` sizes. Not a test: nothing is asserted but equal checksums.
//!
//!     cargo run --release -p synth-tests --example float-bench [-- --raw] [-- program...]
//!
//! `--raw` also prints the absolute counts. Program names given on the command line restrict
//! the run to those programs.

use std::path::Path;

use synth_compiler::{Options, Target};
use synth_tests::bench::{self, CProgram, Comparison, OptLevel};

const INSTRUCTION_LIMIT: u64 = 2_000_000_000;

fn variants(target: Target) -> Vec<Options> {
    let default = Options::new(target);
    let unchecked = Options {
        bounds_checks: false,
        ..Options::new(target)
    };
    vec![default, unchecked]
}

fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let raw = args.iter().any(|a| a == "--raw");
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/float");
    let mut programs = bench::programs_in(&dir, "bench", &["libm.c"]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    if !only.is_empty() {
        programs.retain(|p| only.iter().any(|o| **o == p.name));
    }
    let targets = Target::ALL;
    // results[program][target]
    let mut results: Vec<Vec<Option<Comparison>>> = Vec::new();
    let mut failures = Vec::new();
    for program in &programs {
        let wasm = match bench::compile_wasm(program) {
            Ok(wasm) => wasm,
            Err(e) => {
                failures.push(format!("{}: wasm: {e}", program.name));
                results.push(vec![None; targets.len()]);
                continue;
            }
        };
        let mut row = Vec::new();
        for target in targets {
            eprintln!("{} {}", program.name, target.name());
            let compared = bench::compare(
                program,
                &wasm,
                target,
                &[OptLevel::O2],
                &variants(target),
                INSTRUCTION_LIMIT,
            );
            match compared {
                Ok(c) => row.push(Some(c)),
                Err(e) => {
                    failures.push(format!("{} {}: {e}", program.name, target.name()));
                    row.push(None);
                }
            }
        }
        results.push(row);
    }

    print_tables(&programs, &targets, &results, raw);
    if !failures.is_empty() {
        eprintln!("failures:\n{}", failures.join("\n"));
        std::process::exit(1);
    }
}

/// One markdown table: a row per program and a geomean row, a column per target.
fn table(
    title: &str,
    programs: &[CProgram],
    targets: &[Target],
    results: &[Vec<Option<Comparison>>],
    cell: impl Fn(&Comparison) -> f64,
) {
    println!("\n{title}\n");
    let names: Vec<&str> = targets.iter().map(|t| t.name()).collect();
    println!("| program | {} |", names.join(" | "));
    println!("|---|{}", "--:|".repeat(targets.len()));
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    for (program, row) in programs.iter().zip(results) {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(t, c)| match c {
                Some(c) => {
                    let v = cell(c);
                    columns[t].push(v);
                    format!("{v:.2}")
                }
                None => "-".to_string(),
            })
            .collect();
        println!("| {} | {} |", program.name, cells.join(" | "));
    }
    let geo: Vec<String> = columns
        .iter()
        .map(|c| bench::geomean(c).map_or("-".to_string(), |g| format!("**{g:.2}**")))
        .collect();
    println!("| **geomean** | {} |", geo.join(" | "));
}

fn print_tables(
    programs: &[CProgram],
    targets: &[Target],
    results: &[Vec<Option<Comparison>>],
    raw: bool,
) {
    table(
        "Executed instructions, synth / clang -O2 (default options: bounds checks on)",
        programs,
        targets,
        results,
        |c| ratio(c.synth[0].instructions, c.native[0].instructions),
    );
    table(
        "Executed instructions, synth / clang -O2, synth with bounds checks off",
        programs,
        targets,
        results,
        |c| ratio(c.synth[1].instructions, c.native[0].instructions),
    );
    table(
        ".text bytes, synth / clang -O2 (default options)",
        programs,
        targets,
        results,
        |c| ratio(c.synth[0].text_bytes, c.native[0].text_bytes),
    );
    if raw {
        println!(
            "\nAbsolute counts: instructions clang / synth / synth unchecked, .text clang / synth\n"
        );
        println!(
            "| program | target | clang | synth | synth, no bounds checks | .text clang | .text synth |"
        );
        println!("|---|---|--:|--:|--:|--:|--:|");
        for (program, row) in programs.iter().zip(results) {
            for (target, c) in targets.iter().zip(row) {
                if let Some(c) = c {
                    println!(
                        "| {} | {} | {} | {} | {} | {} | {} |",
                        program.name,
                        target.name(),
                        c.native[0].instructions,
                        c.synth[0].instructions,
                        c.synth[1].instructions,
                        c.native[0].text_bytes,
                        c.synth[0].text_bytes
                    );
                }
            }
        }
    }
}

//! Rendering the conformance results (console table and `docs/CONFORMANCE.md`) and the rule
//! that decides whether a skip is legitimately out of scope.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Engine, EngineReport, FileReport};

/// Words in an `unsupported: ...` message that name a feature synth leaves out on purpose:
/// SIMD, reference types and tables, exceptions, bulk memory, threads, multi-memory, memory64,
/// custom page sizes, tail calls. (Floats are compiled: an `unsupported` float is a gap.)
const OUT_OF_SCOPE_FEATURES: [&str; 24] = [
    "v128",
    "simd",
    "funcref",
    "externref",
    "exnref",
    "anyref",
    "eqref",
    "i31",
    "structref",
    "arrayref",
    "ref.",
    "table",
    "element",
    "exception",
    "call_indirect",
    "return_call",
    "memory.copy",
    "memory.fill",
    "memory.init",
    "data.drop",
    "passive",
    "atomic",
    "shared",
    "memor",
];

/// Is this skip reason a feature synth does not cover by design (as opposed to a gap in a
/// feature it claims, like an integer operator reported as unsupported)?
pub fn skip_is_out_of_scope(reason: &str) -> bool {
    if reason.starts_with("import: ")
        || reason.starts_with("directive: ")
        || reason.starts_with("type: ")
    {
        return true;
    }
    let Some(message) = reason.strip_prefix("unsupported: ") else {
        return false;
    };
    let message = message.to_ascii_lowercase();
    OUT_OF_SCOPE_FEATURES.iter().any(|feature| match *feature {
        // Only the memory features that are out of scope, not every message naming memory.
        "memor" => {
            message.contains("more than one memory")
                || message.contains("multiple memories")
                || message.contains("64-bit memory")
                || message.contains("custom page size")
                || message.contains("targets memory")
        }
        feature => message.contains(feature),
    })
}

/// Skips of `report` that are not out of scope: (reason, count).
pub fn unexpected_skips(report: &EngineReport) -> Vec<(&str, u32)> {
    report
        .skipped
        .iter()
        .filter(|(reason, _)| !skip_is_out_of_scope(reason))
        .map(|(reason, count)| (reason.as_str(), *count))
        .collect()
}

/// Everything that breaks conformance on the asserted engines: a failure or a skip for a reason
/// that is not out of scope, in any file.
pub fn conformance_problems(files: &[FileReport], asserted: &[Engine]) -> Vec<String> {
    let mut problems = Vec::new();
    for file in files {
        for engine in asserted {
            let Some(report) = file.engine(*engine) else {
                problems.push(format!("{}: no result for {}", file.file, engine.name()));
                continue;
            };
            for failure in &report.failures {
                problems.push(format!(
                    "{}.wast:{} [{}] {}",
                    file.file,
                    failure.line,
                    engine.name(),
                    failure.message
                ));
            }
            for (reason, count) in unexpected_skips(report) {
                problems.push(format!(
                    "{}.wast [{}] {count} assertion(s) skipped for an in-scope reason: {reason}",
                    file.file,
                    engine.name()
                ));
            }
        }
    }
    problems
}

fn cell(report: Option<&EngineReport>) -> String {
    match report {
        Some(r) => {
            let unexpected: u32 = unexpected_skips(r).iter().map(|(_, n)| n).sum();
            let marker = if r.failed() == 0 && unexpected == 0 {
                ""
            } else {
                " ✗"
            };
            format!("{}/{}/{}{marker}", r.passed, r.failed(), r.skipped_total())
        }
        None => "-".to_string(),
    }
}

/// A markdown table: one row per file, one `passed/failed/skipped` column per engine.
pub fn table(files: &[&FileReport], engines: &[Engine]) -> String {
    let mut out = String::from("| file |");
    for engine in engines {
        let _ = write!(out, " {} |", engine.name());
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(engines.len()));
    out.push('\n');
    let mut totals: Vec<[u32; 3]> = vec![[0; 3]; engines.len()];
    for file in files {
        let _ = write!(out, "| {} |", file.file);
        for (engine, total) in engines.iter().zip(&mut totals) {
            let report = file.engine(*engine);
            if let Some(r) = report {
                total[0] += r.passed;
                total[1] += r.failed();
                total[2] += r.skipped_total();
            }
            let _ = write!(out, " {} |", cell(report));
        }
        out.push('\n');
    }
    out.push_str("| **total** |");
    for [passed, failed, skipped] in totals {
        let _ = write!(out, " **{passed}/{failed}/{skipped}** |");
    }
    out.push('\n');
    out
}

/// Skip reasons summed over `files` and `engines`, with the count per reason.
fn skip_histogram(files: &[&FileReport], engines: &[Engine]) -> BTreeMap<String, u32> {
    let mut histogram = BTreeMap::new();
    for file in files {
        for report in file.engines.iter().filter(|r| engines.contains(&r.engine)) {
            for (reason, count) in &report.skipped {
                *histogram.entry(reason.clone()).or_insert(0) += count;
            }
        }
    }
    histogram
}

fn shorten(message: &str, limit: usize) -> String {
    let one_line = message.replace('\n', " ⏎ ").replace('|', "\\|");
    match one_line.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

fn failure_list(out: &mut String, files: &[&FileReport]) {
    let mut any = false;
    for file in files {
        for report in file.engines.iter().filter(|r| r.failed() > 0) {
            any = true;
            let _ = writeln!(
                out,
                "- `{}.wast` on {}: {} failed",
                file.file,
                report.engine.name(),
                report.failed()
            );
            for failure in report.failures.iter().take(3) {
                let _ = writeln!(
                    out,
                    "  - line {}: {}",
                    failure.line,
                    shorten(&failure.message, 240)
                );
            }
        }
    }
    if !any {
        out.push_str("None.\n");
    }
}

/// The whole `docs/CONFORMANCE.md`: deterministic for the same results.
pub fn markdown(files: &[FileReport], asserted: &[Engine], diagnostic: &[Engine]) -> String {
    let all: Vec<&FileReport> = files.iter().collect();
    let mut out = String::new();
    out.push_str("# Spec testsuite conformance\n\n");
    out.push_str(
        "Generated by `SYNTH_WRITE_CONFORMANCE=1 cargo test -p synth-tests --test spec`; do not \
         edit by hand.\n\nEach cell is `passed/failed/skipped` assertions (every `module`, \
         `invoke` and `assert_*` counts once). ✗ marks a failure or a skip that is not out of \
         scope. Skips are only allowed for out-of-scope features (synth reports `unsupported`), \
         imports of globals/memories/tables or of other modules' functions, directive kinds \
         such as threads, and SIMD/reference values in the assertion itself. Float values are \
         passed and compared by bits (`nan:canonical` / `nan:arithmetic` as patterns); a \
         module is skipped only when synth's own compile error says `unsupported`.\n\n",
    );
    out.push_str(
        "The `ir:*` columns run the same scripts on synth's reference interpreter over the IR \
         the frontend produces and the IR legalize hands to each back end: where they pass and \
         a target fails, the fault is in the back end (regalloc, instruction selection, \
         encoding, object). They are asserted like the targets.\n\n",
    );
    let _ = write!(
        out,
        "Host configuration: the `spectest` print functions are harness stubs that return \
         nothing; its globals (666, 666.6), table (10..20 funcref) and memory (1..2 pages) are a \
         synth-compiled module. On the targets every module is compiled with its own namespace \
         and `register` links modules to each other by docs/ABI.md's symbol names: the instances \
         that share state are one program in one emulator, linked again (and their history \
         replayed) when a module joins; an imported memory may grow to its exporter's maximum. \
         The IR interpreter links the same way: each instance is an interpreter, an imported \
         function runs in its exporter's interpreter, an imported global, memory or table is its \
         exporter's storage (the spectest module is run by the interpreter too), so a write on \
         either side is seen by both, and an instantiation that traps keeps what earlier data \
         and element segments wrote; the instances of a script share one reference space, so a \
         function reference means the same in each and a call through a shared table runs in \
         the instance that owns the function. Each `module` is compiled once per engine and its \
         instance persists across the assertions; a call may execute {} instructions; modules that \
         contain `memory.grow` get a {}-page memory budget (synth's `max_memory_pages`), the \
         others keep the default; trap messages match when synth's message starts with the \
         expected one.\n\n",
        super::engine::SPEC_INSTRUCTION_LIMIT,
        super::engine::SPEC_GROWABLE_MEMORY_PAGES
    );
    let all_engines: Vec<Engine> = asserted.iter().chain(diagnostic).copied().collect();
    out.push_str("## Every file (100 % asserted: no failure, no skip but the allowed ones)\n\n");
    out.push_str(&table(&all, &all_engines));
    out.push_str("\n## Skip reasons, summed over the targets\n\n");
    out.push_str("| reason | assertions | out of scope |\n|---|---:|---|\n");
    for (reason, count) in skip_histogram(&all, asserted) {
        let verdict = if super::report::skip_is_out_of_scope(&reason) {
            "yes"
        } else {
            "**no**"
        };
        let _ = writeln!(out, "| {} | {count} | {verdict} |", shorten(&reason, 160));
    }
    out.push_str("\n## Skips that are not out of scope\n\n");
    let mut any = false;
    for file in files {
        for report in &file.engines {
            for (reason, count) in unexpected_skips(report) {
                any = true;
                let _ = writeln!(
                    out,
                    "- `{}.wast` on {}: {count} skipped: {}",
                    file.file,
                    report.engine.name(),
                    shorten(reason, 200)
                );
            }
        }
    }
    if !any {
        out.push_str("None.\n");
    }
    out.push_str("\n## Failures (first 3 per file and engine)\n\n");
    failure_list(&mut out, &all);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::runner::Failure;
    use synth_compiler::Target;

    #[test]
    fn only_features_left_out_by_design_are_acceptable_skips() {
        for reason in [
            "import: imports a global (spectest.global_i32)",
            "directive: thread",
            "type: v128 value in the assertion",
            "unsupported: signature uses `externref`, which is not supported",
            "unsupported: tables and element segments are not supported",
            "unsupported: operator `call_indirect` is not supported",
            "unsupported: more than one memory is not supported",
            "unsupported: data segment N is passive; only active segments are supported",
        ] {
            assert!(skip_is_out_of_scope(reason), "{reason}");
        }
        for reason in [
            "unsupported: operator `select` is not supported",
            "unsupported: operator `i64.eq` is not supported",
            "unsupported: operator `f32.add` is not supported",
            "unsupported: signature uses `f64`, which is not supported",
            "unsupported: initial memory size exceeds 4 GiB",
            "unsupported: nested modules and components are not supported",
            "some other reason",
        ] {
            assert!(!skip_is_out_of_scope(reason), "{reason}");
        }
    }

    fn file(name: &str, failed: bool, skip: &str) -> FileReport {
        let mut report = EngineReport::new(Engine::Emulator(Target::CortexM3));
        report.passed = 5;
        if failed {
            report.failures.push(Failure {
                line: 7,
                message: "expected [i32:1], returned [i32:2]".into(),
            });
        }
        report.skipped.insert(skip.to_string(), 2);
        FileReport {
            file: name.to_string(),
            engines: vec![report],
        }
    }

    #[test]
    fn problems_cover_every_failure_and_every_in_scope_skip_of_every_file() {
        let asserted = [Engine::Emulator(Target::CortexM3)];
        let files = vec![
            file("i32", true, "type: v128 value in the assertion"),
            file(
                "i64",
                false,
                "unsupported: operator `i64.eq` is not supported",
            ),
            file(
                "simd_lane",
                true,
                "unsupported: operator `select` is not supported",
            ),
        ];
        let problems = conformance_problems(&files, &asserted);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("i32.wast:7 [cortex-m3]"));
        assert!(problems[1].contains("i64.wast") && problems[1].contains("i64.eq"));
        assert!(problems[2].starts_with("simd_lane.wast:7 [cortex-m3]"));
        assert!(problems[3].contains("simd_lane.wast") && problems[3].contains("select"));

        let doc = markdown(&files, &asserted, &[]);
        assert!(doc.contains("| i32 | 5/1/2 ✗ |"), "{doc}");
        assert!(doc.contains("| i64 | 5/0/2 ✗ |"), "{doc}");
        assert!(doc.contains("| simd_lane | 5/1/2 ✗ |"), "{doc}");
        assert!(doc.contains("| **total** | **15/2/6** |"), "{doc}");
        assert!(doc.contains("line 7: expected [i32:1]"), "{doc}");
        assert_eq!(doc, markdown(&files, &asserted, &[]));
    }
}

//! The report's per-line marks tell the truth: for every fixture, target and allocator, each
//! spill the statistics count is exactly one stack store marked `spill`, each reload one load
//! marked `reload`, each rematerialization one constant load marked `remat`, and each move at
//! least one line marked `move`; no ordinary instruction carries an allocator mark. The text and
//! JSON renderings carry the same marks.

mod common;

use synth_compiler::isa::{LineKind, ListingLine};
use synth_compiler::regalloc::EditKind;
use synth_compiler::report::{FunctionReport, kind_name};
use synth_compiler::{Options, Target, compile};

/// The mnemonic of a listing line (`adds r0, r1` -> `adds`).
fn mnemonic(line: &ListingLine) -> &str {
    line.text.split_whitespace().next().unwrap_or("")
}

fn is_store(target: Target, line: &ListingLine) -> bool {
    match target {
        Target::Rv32imac => mnemonic(line) == "sw",
        _ => mnemonic(line).starts_with("str"),
    }
}

fn is_load(target: Target, line: &ListingLine) -> bool {
    match target {
        Target::Rv32imac => mnemonic(line) == "lw",
        _ => mnemonic(line).starts_with("ldr"),
    }
}

/// A load of an immediate into a register, reading no other register.
fn is_constant_load(target: Target, line: &ListingLine) -> bool {
    let operands: Vec<&str> = line.text.split(',').skip(1).map(str::trim).collect();
    match target {
        Target::Rv32imac => mnemonic(line) == "li" || mnemonic(line) == "lui",
        _ => {
            matches!(
                mnemonic(line),
                "movs" | "mov" | "mov.w" | "movw" | "mvn" | "mvn.w"
            ) && operands.len() == 1
                && operands[0].starts_with('#')
        }
    }
}

fn is_register_move(target: Target, line: &ListingLine) -> bool {
    let operands: Vec<&str> = line.text.split(',').skip(1).map(str::trim).collect();
    match target {
        Target::Rv32imac => mnemonic(line) == "mv",
        _ => mnemonic(line) == "mov" && operands.len() == 1 && !operands[0].starts_with('#'),
    }
}

fn lines_of(f: &FunctionReport, kind: EditKind) -> Vec<&ListingLine> {
    f.listing
        .iter()
        .filter(|l| l.kind == LineKind::Edit(kind))
        .collect()
}

fn check_function(target: Target, f: &FunctionReport) -> Result<(), String> {
    let count = |kind: EditKind, wanted: fn(Target, &ListingLine) -> bool| {
        lines_of(f, kind)
            .into_iter()
            .filter(|l| wanted(target, l))
            .count() as u32
    };
    let spills = count(EditKind::Spill, is_store);
    let reloads = count(EditKind::Reload, is_load);
    let remats = count(EditKind::Remat, is_constant_load);
    if (spills, reloads, remats) != (f.spills, f.reloads, f.remats) {
        return Err(format!(
            "marked spill stores / reload loads / remat constants {spills}/{reloads}/{remats}, \
             statistics {}/{}/{}",
            f.spills, f.reloads, f.remats
        ));
    }
    // Allocator edits carry no wasm offset (they serve a value, not an operator), and a
    // `remat` mark is only ever on the constant load itself (a constant stored to a slot
    // marks its store `spill`).
    if let Some(line) = f
        .listing
        .iter()
        .find(|l| matches!(l.kind, LineKind::Edit(_)) && l.wasm_offset.is_some())
    {
        return Err(format!("edit line `{}` carries a wasm offset", line.text));
    }
    if let Some(line) = lines_of(f, EditKind::Remat)
        .into_iter()
        .find(|l| !is_constant_load(target, l))
    {
        return Err(format!("`{}` is marked remat", line.text));
    }
    // A move is a register move, or a stack-to-stack copy through the scratch register.
    let moves = lines_of(f, EditKind::Move);
    let register_moves = moves.iter().filter(|l| is_register_move(target, l)).count() as u32;
    let stack_copies = moves.iter().filter(|l| is_load(target, l)).count() as u32;
    if register_moves + stack_copies != f.moves {
        return Err(format!(
            "{register_moves} marked register moves and {stack_copies} stack copies for {} moves",
            f.moves
        ));
    }
    // Every allocator mark belongs to an allocator edit: marked lines never outnumber what the
    // edits can produce (address arithmetic of far slots included: at most 4 lines per edit).
    let marked = f
        .listing
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Edit(_)))
        .count() as u32;
    let edits = f.spills + f.reloads + f.remats + f.moves;
    if marked < edits || marked > 4 * edits {
        return Err(format!("{marked} marked lines for {edits} edits"));
    }
    Ok(())
}

#[test]
fn listing_marks_match_the_allocator_statistics() {
    let mut failures = Vec::new();
    let mut seen = [0u32; 4];
    for (name, wasm) in common::fixture_texts() {
        for target in [Target::CortexM4, Target::Rv32imac] {
            for spill_realloc in [true, false] {
                let mut options = Options::new(target);
                options.spill_realloc = spill_realloc;
                let output = compile(&wasm, &options)
                    .unwrap_or_else(|e| panic!("{name} on {}: {e}", target.name()));
                for f in &output.report.functions {
                    seen[0] += f.spills;
                    seen[1] += f.reloads;
                    seen[2] += f.remats;
                    seen[3] += f.moves;
                    if let Err(e) = check_function(target, f) {
                        failures.push(format!(
                            "{name} {} {} (spill-realloc {spill_realloc}): {e}",
                            target.name(),
                            f.symbol
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The fixtures exercise every kind of mark.
    assert!(
        seen.iter().all(|&n| n > 20),
        "spills/reloads/remats/moves {seen:?}"
    );
}

#[test]
fn text_and_json_reports_carry_the_marks() {
    let wasm = wat::parse_file(common::fixtures_dir().join("register_pressure.wat"))
        .expect("fixture parses");
    for target in [Target::CortexM4, Target::Rv32imac] {
        let output = compile(&wasm, &Options::new(target)).expect("compiles");
        let text = output.report.to_text(true);
        let json = output.report.to_json();
        for kind in [
            EditKind::Spill,
            EditKind::Reload,
            EditKind::Move,
            EditKind::Remat,
        ] {
            let lines: usize = output
                .report
                .functions
                .iter()
                .map(|f| lines_of(f, kind).len())
                .sum();
            let name = kind_name(LineKind::Edit(kind));
            let in_text = text
                .lines()
                // Edits serve a value, not an operator: no `wasm` note precedes the mark.
                .filter(|l| l.ends_with(&format!("; {name}")))
                .count();
            let in_json = json.matches(&format!("\"kind\":\"{name}\"")).count();
            assert_eq!(in_text, lines, "{} text marks {name}", target.name());
            assert_eq!(in_json, lines, "{} JSON marks {name}", target.name());
            if kind != EditKind::Remat {
                assert!(lines > 0, "{} has no {name} line", target.name());
            }
        }
    }
}

/// `explain_allocation` changes no byte of the object, and its account covers every edit line:
/// each allocator mark starts or continues an edit with a note naming its value, notes sit only
/// on marked lines, and the per-line data is as long as the listing.
#[test]
fn the_allocation_account_explains_every_edit_and_changes_no_code() {
    let mut failures = Vec::new();
    let mut notes_seen = 0usize;
    for (name, wasm) in common::fixture_texts() {
        if name == "huge_frame" || name == "wide_results" {
            continue;
        }
        for target in [Target::CortexM4F, Target::Rv32imac] {
            let plain = compile(&wasm, &Options::new(target))
                .unwrap_or_else(|e| panic!("{name} on {}: {e}", target.name()));
            let mut options = Options::new(target);
            options.explain_allocation = true;
            let explained = compile(&wasm, &options)
                .unwrap_or_else(|e| panic!("{name} on {}: {e}", target.name()));
            if plain.object != explained.object {
                failures.push(format!("{name} {}: the object changed", target.name()));
            }
            for f in &explained.report.functions {
                let Some(account) = &f.allocation else {
                    failures.push(format!("{name} {}: no account", f.symbol));
                    continue;
                };
                let at = format!("{name} {} {}", target.name(), f.symbol);
                if account.pressure.len() != f.listing.len() {
                    failures.push(format!("{at}: pressure is not per line"));
                }
                let edits = (f.spills + f.reloads + f.moves + f.remats) as usize;
                // A constant stored to a slot is one edit counted as a remat and a spill.
                let stored_constants = f
                    .listing
                    .windows(2)
                    .filter(|w| {
                        w[0].kind == LineKind::Edit(EditKind::Remat)
                            && w[1].kind == LineKind::Edit(EditKind::Spill)
                            && w[0].step == w[1].step
                    })
                    .count();
                if account.notes.len() != edits - stored_constants {
                    failures.push(format!(
                        "{at}: {} notes for {} edits",
                        account.notes.len(),
                        edits - stored_constants
                    ));
                }
                for note in &account.notes {
                    notes_seen += 1;
                    let line = f.listing.get(note.line as usize);
                    if !line.is_some_and(|l| matches!(l.kind, LineKind::Edit(_))) {
                        failures.push(format!("{at}: a note on line {} (no edit)", note.line));
                    }
                    if note
                        .value
                        .is_none_or(|v| v as usize >= account.values.len())
                    {
                        failures.push(format!(
                            "{at}: the note on line {} names no value",
                            note.line
                        ));
                    }
                }
                for range in &account.ranges {
                    if range.first_line >= range.end_line
                        || range.end_line as usize > f.listing.len()
                        || range.value as usize >= account.values.len()
                    {
                        failures.push(format!("{at}: bad range {range:?}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(notes_seen > 100, "{notes_seen} notes");
}

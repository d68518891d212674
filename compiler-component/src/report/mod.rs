//! The structured report: per function code size, allocator statistics and a listing.
//!
//! Two renderings: `to_text` for people (a summary table, optionally the listings) and `to_json`
//! for tools (deterministic, hand-written so the compiler core stays free of serde).

pub mod allocation;

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::ir::table::{RefKind, RefValue};
use crate::ir::{Module, Symbol};
use crate::isa::{CompiledFunction, LineKind, ListingLine};
use crate::options::Options;
use crate::regalloc::EditKind;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Target name as given to `--target`.
    pub target: String,
    /// One record per compiled body, in module order.
    pub functions: Vec<FunctionReport>,
    /// What the object takes of flash and RAM.
    pub footprint: Footprint,
    /// The tables the object holds, in table index order (none when nothing reads a table:
    /// they are dropped with their element segments).
    pub tables: Vec<TableReport>,
}

/// A table as the object holds it: what `call_indirect` through it can reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    /// Export name, or `table[N]`.
    pub name: String,
    /// ELF symbol of the table (size word, then the entries).
    pub symbol: String,
    /// `funcref` or `externref`.
    pub element_type: String,
    /// Entries at instantiation.
    pub size: u32,
    /// Entries the storage has room for (`table.grow` answers -1 beyond it).
    pub capacity: u32,
    /// The functions the entries at instantiation refer to, each once, in entry order.
    pub functions: Vec<String>,
    /// Entries at instantiation that are null.
    pub null_entries: u32,
}

/// Bytes of the object's sections by kind, before the linker's `--gc-sections` drops
/// unreferenced functions. Flash holds `.text`, `.rodata` and the initial `.data`; RAM holds
/// `.data` and `.bss` (the linear memory). The stack is the embedder's and not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    pub text: u32,
    pub rodata: u32,
    pub data: u32,
    pub bss: u32,
}

impl Footprint {
    pub fn flash(&self) -> u64 {
        u64::from(self.text) + u64::from(self.rodata) + u64::from(self.data)
    }

    pub fn ram(&self) -> u64 {
        u64::from(self.data) + u64::from(self.bss)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionReport {
    /// Export name, wasm name, or `func[N]`.
    pub name: String,
    /// ELF symbol of the code.
    pub symbol: String,
    /// Bytes of machine code (including literal pools and jump tables).
    pub code_size: u32,
    pub spills: u32,
    pub reloads: u32,
    pub moves: u32,
    pub remats: u32,
    pub max_pressure: u32,
    /// Bytes of stack frame below the saved registers.
    pub frame_size: u32,
    /// Has a descriptor: reachable through a table or a `ref.func` value, so `call_indirect`
    /// can call it.
    pub indirect: bool,
    pub listing: Vec<ListingLine>,
    /// The register allocation account (`Options::explain_allocation`).
    pub allocation: Option<allocation::AllocationReport>,
}

/// Collect the report of a compiled module (`functions[i]` is the code of `module.bodies[i]`).
/// Takes the compiled functions: their listings and allocation accounts move into the report
/// instead of being copied.
pub fn build(
    module: &Module,
    functions: Vec<CompiledFunction>,
    footprint: Footprint,
    options: &Options,
) -> Report {
    let functions = module
        .bodies
        .iter()
        .zip(functions)
        .map(|(body, compiled)| FunctionReport {
            name: body.name.clone(),
            symbol: module.symbol_name(Symbol::Function(body.index)),
            code_size: u32::try_from(compiled.code.len()).unwrap_or(u32::MAX),
            spills: compiled.stats.spills,
            reloads: compiled.stats.reloads,
            moves: compiled.stats.moves,
            remats: compiled.stats.remats,
            max_pressure: compiled.stats.max_pressure,
            frame_size: compiled.stats.frame_size,
            indirect: module.tables.funcrefs.contains_key(&body.index),
            listing: compiled.listing,
            allocation: compiled.allocation,
        })
        .collect();
    Report {
        target: options.target.name().to_string(),
        functions,
        footprint,
        tables: table_reports(module),
    }
}

fn table_reports(module: &Module) -> Vec<TableReport> {
    let function_name = |f: u32| match module.functions.get(f as usize) {
        Some(decl) => decl.name.clone(),
        None => format!("func[{f}]"),
    };
    module
        .tables
        .tables
        .iter()
        .enumerate()
        .map(|(n, table)| {
            let mut seen = BTreeSet::new();
            let mut functions: Vec<u32> = Vec::new();
            for entry in &table.init {
                if let RefValue::Func(f) = entry
                    && seen.insert(*f)
                {
                    functions.push(*f);
                }
            }
            let null_entries = table.init.iter().filter(|e| **e == RefValue::Null).count();
            TableReport {
                name: table
                    .exports
                    .first()
                    .cloned()
                    .unwrap_or_else(|| format!("table[{n}]")),
                symbol: module.symbol_name(Symbol::Table(n as u32)),
                element_type: match table.kind {
                    RefKind::Func => "funcref",
                    RefKind::Extern => "externref",
                }
                .to_string(),
                size: table.initial,
                capacity: table.max,
                functions: functions.into_iter().map(function_name).collect(),
                null_entries: u32::try_from(null_entries).unwrap_or(u32::MAX),
            }
        })
        .collect()
}

/// Short lowercase name of a listing line's kind (the same word in text and JSON).
pub fn kind_name(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Code => "code",
        LineKind::Edit(EditKind::Spill) => "spill",
        LineKind::Edit(EditKind::Reload) => "reload",
        LineKind::Edit(EditKind::Move) => "move",
        LineKind::Edit(EditKind::Remat) => "remat",
        LineKind::Data => "data",
    }
}

fn hex_bytes(bytes: &[u8], separator: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(separator)
}

impl Report {
    pub fn total_code_size(&self) -> u64 {
        self.functions.iter().map(|f| u64::from(f.code_size)).sum()
    }

    /// A summary table (one row per function and a total), then the listings if asked for.
    pub fn to_text(&self, with_listings: bool) -> String {
        const HEADINGS: [&str; 9] = [
            "function", "symbol", "bytes", "spills", "reloads", "moves", "remats", "pressure",
            "frame",
        ];
        let mut rows: Vec<[String; 9]> = self
            .functions
            .iter()
            .map(|f| {
                [
                    printable(&f.name),
                    f.symbol.clone(),
                    f.code_size.to_string(),
                    f.spills.to_string(),
                    f.reloads.to_string(),
                    f.moves.to_string(),
                    f.remats.to_string(),
                    f.max_pressure.to_string(),
                    f.frame_size.to_string(),
                ]
            })
            .collect();
        let sum = |get: fn(&FunctionReport) -> u32| -> String {
            self.functions
                .iter()
                .map(|f| u64::from(get(f)))
                .sum::<u64>()
                .to_string()
        };
        rows.push([
            "total".to_string(),
            String::new(),
            self.total_code_size().to_string(),
            sum(|f| f.spills),
            sum(|f| f.reloads),
            sum(|f| f.moves),
            sum(|f| f.remats),
            String::new(),
            sum(|f| f.frame_size),
        ]);
        let mut widths = HEADINGS.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }

        let mut out = format!("target {}\n", self.target);
        let mut table_row = |cells: &[String]| {
            let mut line = String::new();
            for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
                // Names left-aligned, numbers right-aligned.
                if column < 2 {
                    let _ = write!(line, "{cell:<width$}  ");
                } else {
                    let _ = write!(line, "{cell:>width$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        };
        table_row(&HEADINGS.map(String::from));
        for row in &rows {
            table_row(row);
        }
        let f = &self.footprint;
        let _ = writeln!(
            out,
            "flash {} B (.text {}, .rodata {}, .data {}), RAM {} B (.data {}, .bss {}) \
             before --gc-sections, stack not included",
            f.flash(),
            f.text,
            f.rodata,
            f.data,
            f.ram(),
            f.data,
            f.bss
        );
        for t in &self.tables {
            let _ = write!(
                out,
                "table {} ({}): {}, {} entries (room for {})",
                printable(&t.name),
                t.symbol,
                t.element_type,
                t.size,
                t.capacity
            );
            if t.null_entries > 0 {
                let _ = write!(out, ", {} null", t.null_entries);
            }
            if !t.functions.is_empty() {
                let names: Vec<String> = t.functions.iter().map(|n| printable(n)).collect();
                let _ = write!(out, "; call_indirect reaches {}", names.join(", "));
            }
            out.push('\n');
        }

        if with_listings {
            for f in &self.functions {
                let _ = writeln!(out, "\n{} ({}):", printable(&f.name), f.symbol);
                let bytes_width = f
                    .listing
                    .iter()
                    .map(|l| l.bytes.len() * 3 + 1)
                    .max()
                    .unwrap_or(0);
                let text_width = f.listing.iter().map(|l| l.text.len()).max().unwrap_or(0);
                for (index, line) in f.listing.iter().enumerate() {
                    let mut notes = Vec::new();
                    if let Some(wasm) = line.wasm_offset {
                        notes.push(format!("wasm {wasm:#x}"));
                    }
                    if line.kind != LineKind::Code {
                        notes.push(kind_name(line.kind).to_string());
                    }
                    if let Some(note) = f.allocation.as_ref().and_then(|a| {
                        a.note_at(index as u32)
                            .filter(|_| matches!(line.kind, LineKind::Edit(_)))
                    }) {
                        notes.push(note.reason.clone());
                    }
                    let row = format!(
                        "  {:04x}:  {:<bytes_width$}{:<text_width$}  {}",
                        line.offset,
                        hex_bytes(&line.bytes, " "),
                        line.text,
                        if notes.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", notes.join(", "))
                        }
                    );
                    out.push_str(row.trim_end());
                    out.push('\n');
                }
                if let Some(account) = &f.allocation {
                    for slot in account.slots.iter().filter(|s| !s.values.is_empty()) {
                        let names: Vec<&str> = slot
                            .values
                            .iter()
                            .filter_map(|v| account.values.get(*v as usize))
                            .map(|v| v.name.as_str())
                            .collect();
                        let _ = writeln!(out, "  slot {}: {}", slot.location, names.join(", "));
                    }
                }
            }
        }
        out
    }

    /// Deterministic JSON: keys in a fixed order, bytes as a hex string, absent wasm offsets as
    /// `null`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        out.push_str("{\"target\":");
        json_string(&mut out, &self.target);
        let _ = write!(out, ",\"total_code_size\":{}", self.total_code_size());
        let f = &self.footprint;
        let _ = write!(
            out,
            ",\"footprint\":{{\"text\":{},\"rodata\":{},\"data\":{},\"bss\":{}}}",
            f.text, f.rodata, f.data, f.bss
        );
        out.push_str(",\"functions\":");
        json_array(&mut out, &self.functions, |out, f| {
            out.push_str("{\"name\":");
            json_string(out, &f.name);
            out.push_str(",\"symbol\":");
            json_string(out, &f.symbol);
            let _ = write!(
                out,
                ",\"code_size\":{},\"spills\":{},\"reloads\":{},\"moves\":{},\"remats\":{},\
                 \"max_pressure\":{},\"frame_size\":{},\"indirect\":{},\"listing\":",
                f.code_size,
                f.spills,
                f.reloads,
                f.moves,
                f.remats,
                f.max_pressure,
                f.frame_size,
                f.indirect
            );
            json_array(out, &f.listing, |out, line| {
                let _ = write!(
                    out,
                    "{{\"offset\":{},\"bytes\":\"{}\",\"text\":",
                    line.offset,
                    hex_bytes(&line.bytes, "")
                );
                json_string(out, &line.text);
                match line.wasm_offset {
                    Some(wasm) => {
                        let _ = write!(out, ",\"wasm_offset\":{wasm}");
                    }
                    None => out.push_str(",\"wasm_offset\":null"),
                }
                let _ = write!(out, ",\"kind\":\"{}\"}}", kind_name(line.kind));
            });
            out.push_str(",\"allocation\":");
            match &f.allocation {
                Some(account) => account.write_json(out),
                None => out.push_str("null"),
            }
            out.push('}');
        });
        out.push_str(",\"tables\":");
        json_array(&mut out, &self.tables, |out, t| {
            out.push_str("{\"name\":");
            json_string(out, &t.name);
            out.push_str(",\"symbol\":");
            json_string(out, &t.symbol);
            let _ = write!(
                out,
                ",\"element_type\":\"{}\",\"size\":{},\"capacity\":{},\"null_entries\":{},\
                 \"functions\":",
                t.element_type, t.size, t.capacity, t.null_entries
            );
            json_array(out, &t.functions, |out, name| json_string(out, name));
            out.push('}');
        });
        out.push('}');
        out
    }
}

/// `text` with control characters escaped, so a wasm name cannot break the table's lines.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Append `items` as a JSON array, each written by `item`.
fn json_array<T>(out: &mut String, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, x);
    }
    out.push(']');
}

/// Append `text` as a JSON string literal (RFC 8259 escaping).
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let line = |offset, bytes: &[u8], text: &str, wasm_offset, kind| ListingLine {
            offset,
            bytes: bytes.to_vec(),
            text: text.to_string(),
            wasm_offset,
            kind,
            step: None,
        };
        Report {
            target: "cortex-m4".into(),
            functions: vec![
                FunctionReport {
                    name: "add \"two\"\n".into(),
                    symbol: "add_x20_x22two_x22_x0a".into(),
                    code_size: 6,
                    spills: 1,
                    reloads: 2,
                    moves: 3,
                    remats: 4,
                    max_pressure: 5,
                    frame_size: 8,
                    indirect: true,
                    listing: vec![
                        line(0, &[0x08, 0x44], "add r0, r1", Some(0x2a), LineKind::Code),
                        line(
                            2,
                            &[0x00, 0x91],
                            "str r1, [sp]",
                            None,
                            LineKind::Edit(EditKind::Spill),
                        ),
                        line(4, &[0x70, 0x47], "bx lr", None, LineKind::Code),
                    ],
                    allocation: None,
                },
                FunctionReport {
                    name: "synth_init".into(),
                    symbol: "synth_init".into(),
                    code_size: 2,
                    spills: 0,
                    reloads: 0,
                    moves: 1,
                    remats: 0,
                    max_pressure: 1,
                    frame_size: 0,
                    indirect: false,
                    listing: vec![line(0, &[0x70, 0x47], "bx lr", None, LineKind::Code)],
                    allocation: None,
                },
            ],
            footprint: Footprint {
                text: 8,
                rodata: 4,
                data: 12,
                bss: 65536,
            },
            tables: vec![TableReport {
                name: "dispatch".into(),
                symbol: "synth_table_dispatch".into(),
                element_type: "funcref".into(),
                size: 3,
                capacity: 3,
                functions: vec!["add \"two\"\n".into()],
                null_entries: 2,
            }],
        }
    }

    #[test]
    fn json_is_exact_and_escaped() {
        let json = sample().to_json();
        let expected = concat!(
            "{\"target\":\"cortex-m4\",\"total_code_size\":8,",
            "\"footprint\":{\"text\":8,\"rodata\":4,\"data\":12,\"bss\":65536},\"functions\":[",
            "{\"name\":\"add \\\"two\\\"\\n\",\"symbol\":\"add_x20_x22two_x22_x0a\",",
            "\"code_size\":6,\"spills\":1,\"reloads\":2,\"moves\":3,\"remats\":4,",
            "\"max_pressure\":5,\"frame_size\":8,\"indirect\":true,\"listing\":[",
            "{\"offset\":0,\"bytes\":\"0844\",\"text\":\"add r0, r1\",\"wasm_offset\":42,\"kind\":\"code\"},",
            "{\"offset\":2,\"bytes\":\"0091\",\"text\":\"str r1, [sp]\",\"wasm_offset\":null,\"kind\":\"spill\"},",
            "{\"offset\":4,\"bytes\":\"7047\",\"text\":\"bx lr\",\"wasm_offset\":null,\"kind\":\"code\"}],",
            "\"allocation\":null},",
            "{\"name\":\"synth_init\",\"symbol\":\"synth_init\",\"code_size\":2,\"spills\":0,",
            "\"reloads\":0,\"moves\":1,\"remats\":0,\"max_pressure\":1,\"frame_size\":0,",
            "\"indirect\":false,\"listing\":[",
            "{\"offset\":0,\"bytes\":\"7047\",\"text\":\"bx lr\",\"wasm_offset\":null,\"kind\":\"code\"}],",
            "\"allocation\":null}],",
            "\"tables\":[{\"name\":\"dispatch\",\"symbol\":\"synth_table_dispatch\",",
            "\"element_type\":\"funcref\",\"size\":3,\"capacity\":3,\"null_entries\":2,",
            "\"functions\":[\"add \\\"two\\\"\\n\"]}]}"
        );
        assert_eq!(json, expected);
    }

    #[test]
    fn json_escapes_control_characters() {
        let mut out = String::new();
        json_string(&mut out, "a\u{1}b\\c\t\u{7f}é");
        assert_eq!(out, "\"a\\u0001b\\\\c\\t\u{7f}é\"");
    }

    #[test]
    fn text_has_aligned_table_totals_and_optional_listing() {
        let report = sample();
        let summary = report.to_text(false);
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines[0], "target cortex-m4");
        assert!(lines[1].starts_with("function"), "{summary}");
        // Every numeric column ends at the same place in every row.
        let header_end = lines[1].len();
        for row in &lines[2..5] {
            assert_eq!(row.len(), header_end, "{summary}");
        }
        assert_eq!(
            lines[5],
            "flash 24 B (.text 8, .rodata 4, .data 12), RAM 65548 B (.data 12, .bss 65536) \
             before --gc-sections, stack not included"
        );
        assert_eq!(
            lines[6],
            "table dispatch (synth_table_dispatch): funcref, 3 entries (room for 3), 2 null; \
             call_indirect reaches add \"two\"\\n"
        );
        assert!(lines[2].starts_with("add \"two\"\\n  "), "{summary}");
        let total: Vec<&str> = lines[4].split_whitespace().collect();
        assert_eq!(total, ["total", "8", "1", "2", "4", "4", "8"]);
        assert!(!summary.contains("bx lr"));

        let full = report.to_text(true);
        assert!(full.starts_with(&summary));
        assert!(
            full.contains("\nadd \"two\"\\n (add_x20_x22two_x22_x0a):\n"),
            "{full}"
        );
        assert!(
            full.contains("  0000:  08 44  add r0, r1    ; wasm 0x2a\n"),
            "{full}"
        );
        assert!(
            full.contains("  0002:  00 91  str r1, [sp]  ; spill\n"),
            "{full}"
        );
        assert!(full.contains("  0004:  70 47  bx lr\n"), "{full}");
    }

    #[test]
    fn build_takes_names_sizes_and_stats_from_the_compiled_functions() {
        let module = crate::object::test_support::sample_module();
        let mut functions = crate::object::test_support::arm_functions();
        functions[1].stats.spills = 7;
        functions[1].stats.frame_size = 16;
        let report = build(
            &module,
            functions.clone(),
            Footprint::default(),
            &Options::new(crate::Target::CortexM3),
        );
        assert_eq!(report.target, "cortex-m3");
        let names: Vec<(&str, &str, u32)> = report
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.symbol.as_str(), f.code_size))
            .collect();
        assert_eq!(
            names,
            [
                ("run", "run", 28),
                ("func[2]", "__synth_func_2", 8),
                ("synth_init", "synth_init", 2)
            ]
        );
        assert_eq!(report.functions[1].spills, 7);
        assert_eq!(report.functions[1].frame_size, 16);
        assert_eq!(report.functions[0].listing, functions[0].listing);
    }
}

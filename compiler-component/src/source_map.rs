//! Source positions for WAT input: which line of the text each byte offset of the encoded binary
//! came from, so tools (the browser playground) can show a compile error, or a listing line's
//! `wasm_offset`, at its WAT line. And the reverse for binary input: WAT printed from the
//! binary, with the offset of each printed line.
//!
//! The map is built by parsing the text with `wast` (the parser `wat` uses) with instruction
//! spans on, encoding it exactly as [`crate::frontend::decode`] does, and walking the code
//! section of the result with wasmparser: the n-th operator of a function body is the n-th
//! instruction of its text (the body's final `end` is the function's closing parenthesis).
//! Nothing here affects compilation.

use wasmparser::{Parser, Payload};

/// One point of the map: the wasm binary offset `offset` comes from 1-based `line` of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourcePoint {
    pub offset: u32,
    pub line: u32,
}

/// The offset-to-line map of WAT `text`, sorted by offset: each function body's first byte maps
/// to the line of its `(func`, every operator to the line of its instruction, each body's last
/// `end` to the line where the function ends, each import, global, export, element and data
/// entry to the line of its field (for an inline `(export ...)`, the item's line). Empty when the text does not parse (the compile
/// error then carries the line itself) or is not a text module; a function whose operator count
/// does not match its instruction count keeps only its body-start point.
pub fn wat_source_map(text: &str) -> Vec<SourcePoint> {
    try_wat_source_map(text).unwrap_or_default()
}

fn try_wat_source_map(text: &str) -> Option<Vec<SourcePoint>> {
    let mut buffer = wast::parser::ParseBuffer::new(text).ok()?;
    buffer.track_instr_spans(true);
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).ok()?;
    let wasm = wat.encode().ok()?;
    let wast::Wat::Module(module) = &wat else {
        return None;
    };
    let wast::core::ModuleKind::Text(fields) = &module.kind else {
        return None;
    };
    // Text offsets of each defined function, in module order (the code section's order), and
    // of the items of the other sections an error can point into, each in its section's order.
    let mut functions: Vec<(usize, &[wast::token::Span])> = Vec::new();
    let mut items: [Vec<usize>; 5] = Default::default();
    for field in fields {
        match field {
            wast::core::ModuleField::Func(func) => {
                if let wast::core::FuncKind::Inline { expression, .. } = &func.kind {
                    let spans = expression.instr_spans.as_deref().unwrap_or(&[]);
                    functions.push((func.span.offset(), spans));
                }
            }
            wast::core::ModuleField::Import(import) => items[IMPORTS].push(import.span.offset()),
            wast::core::ModuleField::Global(global) => {
                if let wast::core::GlobalKind::Inline(_) = global.kind {
                    items[GLOBALS].push(global.span.offset());
                }
            }
            wast::core::ModuleField::Export(export) => items[EXPORTS].push(export.span.offset()),
            wast::core::ModuleField::Elem(elem) => items[ELEMS].push(elem.span.offset()),
            wast::core::ModuleField::Data(data) => items[DATA].push(data.span.offset()),
            _ => {}
        }
    }
    let lines = LineIndex::new(text);
    let mut points = Vec::new();
    let mut index = 0;
    for payload in Parser::new(0).parse_all(&wasm) {
        let body = match payload {
            Ok(Payload::CodeSectionEntry(body)) => body,
            Ok(Payload::ImportSection(reader)) => {
                section_points(
                    reader.into_iter_with_offsets(),
                    &items[IMPORTS],
                    &lines,
                    &mut points,
                );
                continue;
            }
            Ok(Payload::GlobalSection(reader)) => {
                section_points(
                    reader.into_iter_with_offsets(),
                    &items[GLOBALS],
                    &lines,
                    &mut points,
                );
                continue;
            }
            Ok(Payload::ExportSection(reader)) => {
                section_points(
                    reader.into_iter_with_offsets(),
                    &items[EXPORTS],
                    &lines,
                    &mut points,
                );
                continue;
            }
            Ok(Payload::ElementSection(reader)) => {
                section_points(
                    reader.into_iter_with_offsets(),
                    &items[ELEMS],
                    &lines,
                    &mut points,
                );
                continue;
            }
            Ok(Payload::DataSection(reader)) => {
                section_points(
                    reader.into_iter_with_offsets(),
                    &items[DATA],
                    &lines,
                    &mut points,
                );
                continue;
            }
            _ => continue,
        };
        let &(func_offset, spans) = functions.get(index)?;
        index += 1;
        let start = u32::try_from(body.range().start).ok()?;
        let func_line = lines.line(func_offset);
        points.push(SourcePoint {
            offset: start,
            line: func_line,
        });
        let Ok(reader) = body.get_operators_reader() else {
            continue;
        };
        let operators: Vec<u64> = reader
            .into_iter_with_offsets()
            .filter_map(|op| op.ok().map(|(_, offset)| offset))
            .collect();
        if operators.len() != spans.len() + 1 {
            continue;
        }
        for (offset, span) in operators.iter().zip(spans) {
            points.push(SourcePoint {
                offset: u32::try_from(*offset).ok()?,
                line: lines.line(span.offset()),
            });
        }
        // The implicit final `end`: the last instruction's line (the function's closing
        // parenthesis is usually on it).
        let last_line = spans.last().map_or(func_line, |s| lines.line(s.offset()));
        points.push(SourcePoint {
            offset: u32::try_from(*operators.last()?).ok()?,
            line: last_line,
        });
    }
    points.sort_by_key(|p| p.offset);
    Some(points)
}

const IMPORTS: usize = 0;
const GLOBALS: usize = 1;
const EXPORTS: usize = 2;
const ELEMS: usize = 3;
const DATA: usize = 4;

/// Points for the items of one section (import, global, export, element or data): the n-th
/// item's offset to the line of the n-th such field of the text. Nothing when the counts differ
/// (an encoding that groups or splits items), rather than a wrong line.
fn section_points<T>(
    entries: impl Iterator<Item = wasmparser::Result<(u64, T)>>,
    text_offsets: &[usize],
    lines: &LineIndex,
    points: &mut Vec<SourcePoint>,
) {
    let Ok(offsets) = entries
        .map(|entry| entry.map(|(offset, _)| offset))
        .collect::<wasmparser::Result<Vec<u64>>>()
    else {
        return;
    };
    if offsets.len() != text_offsets.len() {
        return;
    }
    for (offset, text_offset) in offsets.into_iter().zip(text_offsets) {
        if let Ok(offset) = u32::try_from(offset) {
            points.push(SourcePoint {
                offset,
                line: lines.line(*text_offset),
            });
        }
    }
}

/// WAT printed from a wasm binary, each line that starts an item or instruction prefixed with
/// its binary offset as `(;@hex;)` (wasmprinter's offset comments), or wasmprinter's message.
pub fn print_wat(wasm: &[u8]) -> Result<String, String> {
    let mut config = wasmprinter::Config::new();
    config.print_offsets(true);
    let mut out = String::new();
    config
        .print(wasm, &mut wasmprinter::PrintFmtWrite(&mut out))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> u32 {
        let line = self.starts.partition_point(|&start| start <= offset);
        u32::try_from(line).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_map_to_their_lines() {
        let text = "(module\n  (func (export \"f\") (param i32) (result i32)\n    local.get 0\n    \
                    i32.const 1\n    i32.add))\n";
        let points = wat_source_map(text);
        let wasm = wat::parse_str(text).unwrap();
        let lines: Vec<u32> = points.iter().map(|p| p.line).collect();
        // the inline export, body start (func line), local.get, i32.const, i32.add, end
        assert_eq!(lines, [2, 2, 3, 4, 5, 5]);
        assert!(points.iter().all(|p| (p.offset as usize) < wasm.len()));
        assert_eq!(wasm[points[2].offset as usize], 0x20, "local.get opcode");
        assert_eq!(wasm[points[4].offset as usize], 0x6a, "i32.add opcode");
    }

    #[test]
    fn section_items_map_to_their_lines() {
        let text = "(module\n  (memory 1)\n  (global $g i32 (i32.const 1))\n  \
                    (func $f nop)\n  (export \"f\" (func $f))\n  (data (i32.const 0) \"x\"))\n";
        let wasm = wat::parse_str(text).unwrap();
        let points = wat_source_map(text);
        let line_of = |offset: usize| {
            points
                .iter()
                .rev()
                .find(|p| p.offset as usize <= offset)
                .map(|p| p.line)
        };
        // The global's entry starts with its type byte (i32 = 0x7f); the export's with its
        // name's length and `f`; the data segment's with its flags.
        let global = points.iter().find(|p| p.line == 3).unwrap();
        assert_eq!(wasm[global.offset as usize], 0x7f);
        let export = points.iter().find(|p| p.line == 5).unwrap();
        assert_eq!(&wasm[export.offset as usize..][..2], &[1, b'f']);
        assert!(points.iter().any(|p| p.line == 6));
        assert_eq!(line_of(export.offset as usize + 2), Some(5));
    }

    #[test]
    fn unparsable_text_gives_no_map() {
        assert!(wat_source_map("(module (func").is_empty());
        assert!(wat_source_map("not wat").is_empty());
    }

    #[test]
    fn printed_wat_carries_offsets() {
        let wasm = wat::parse_str("(module (func (export \"f\") nop))").unwrap();
        let printed = print_wat(&wasm).unwrap();
        assert!(printed.contains("(;@"), "{printed}");
        assert!(printed.contains("nop"), "{printed}");
    }
}

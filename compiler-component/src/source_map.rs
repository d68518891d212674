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
/// `end` to the line where the function ends. Empty when the text does not parse (the compile
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
    // Text offsets of each defined function, in module order (the code section's order).
    let mut functions: Vec<(usize, &[wast::token::Span])> = Vec::new();
    for field in fields {
        if let wast::core::ModuleField::Func(func) = field
            && let wast::core::FuncKind::Inline { expression, .. } = &func.kind
        {
            let spans = expression.instr_spans.as_deref().unwrap_or(&[]);
            functions.push((func.span.offset(), spans));
        }
    }
    let lines = LineIndex::new(text);
    let mut points = Vec::new();
    let mut index = 0;
    for payload in Parser::new(0).parse_all(&wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
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
        // body start (func line), local.get, i32.const, i32.add, end
        assert_eq!(lines, [2, 3, 4, 5, 5]);
        assert!(points.iter().all(|p| (p.offset as usize) < wasm.len()));
        assert_eq!(wasm[points[1].offset as usize], 0x20, "local.get opcode");
        assert_eq!(wasm[points[3].offset as usize], 0x6a, "i32.add opcode");
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

//! Fixture vector files (`fixtures/NAME.vectors`): one line per exported function,
//! `FUNC: ARGS; ARGS; ...` with space-separated integers per call, or `FUNC: edge` for the
//! cross product of edge values per parameter type. `#` starts a comment.

use crate::HarnessError;
use crate::wasm_info::{ModuleInfo, ValType, Value};

/// Edge vectors per function are capped at this many, picked by a deterministic stride.
pub const MAX_EDGE_VECTORS: usize = 400;

pub const I32_EDGES: [i64; 12] = [
    0,
    1,
    -1,
    2,
    31,
    32,
    33,
    0x7fff_ffff,
    -0x8000_0000,
    0xffff,
    0x1_0000,
    0x1234_5678,
];

pub const I64_EDGES: [i64; 11] = [
    0,
    1,
    -1,
    63,
    64,
    65,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX,
    i64::MIN,
    0x1234_5678_9abc_def0,
];

/// One call: the export and its arguments; `line` is the 1-based line in the vector file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vector {
    pub function: String,
    pub args: Vec<Value>,
    pub line: usize,
}

impl std::fmt::Display for Vector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(|v| v.to_string()).collect();
        write!(
            f,
            "{}({}) [line {}]",
            self.function,
            args.join(", "),
            self.line
        )
    }
}

/// Parse a vector file against the module's exports (names and parameter types are checked).
pub fn parse(text: &str, info: &ModuleInfo) -> Result<Vec<Vector>, HarnessError> {
    let mut vectors = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw_line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |message: String| HarnessError::new(format!("line {line_number}: {message}"));
        let (function, rest) = line
            .split_once(':')
            .ok_or_else(|| at(format!("expected `FUNC: ARGS; ...`, found `{line}`")))?;
        let function = function.trim();
        let export = info.export(function).map_err(|e| at(e.message))?;
        let params = &export.sig.params;
        let rest = rest.trim();
        let arg_lists: Vec<Vec<Value>> = if rest == "edge" {
            edge_vectors(params)
        } else if params.is_empty() {
            // `f:` is one call; `f: ; ;` is one call per segment.
            let calls = rest.split(';').count();
            if rest.split(';').any(|s| !s.trim().is_empty()) {
                return Err(at(format!("`{function}` takes no arguments")));
            }
            vec![Vec::new(); calls]
        } else {
            rest.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|call| parse_args(call, params).map_err(|e| at(e.message)))
                .collect::<Result<_, _>>()?
        };
        if arg_lists.is_empty() {
            return Err(at(format!("no calls listed for `{function}`")));
        }
        vectors.extend(arg_lists.into_iter().map(|args| Vector {
            function: function.to_string(),
            args,
            line: line_number,
        }));
    }
    Ok(vectors)
}

fn parse_args(call: &str, params: &[ValType]) -> Result<Vec<Value>, HarnessError> {
    let words: Vec<&str> = call.split_whitespace().collect();
    if words.len() != params.len() {
        return Err(HarnessError::new(format!(
            "`{call}` has {} arguments, the function takes {}",
            words.len(),
            params.len()
        )));
    }
    words
        .iter()
        .zip(params)
        .map(|(word, ty)| parse_value(word, *ty))
        .collect()
}

/// Decimal or `0x` hex, optionally negative; anything in the signed or unsigned range of the
/// type is accepted and wrapped to it.
pub fn parse_value(word: &str, ty: ValType) -> Result<Value, HarnessError> {
    let bad = || HarnessError::new(format!("`{word}` is not an integer"));
    let (negative, digits) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).map_err(|_| bad())?,
        None => digits.parse::<i128>().map_err(|_| bad())?,
    };
    let value = if negative { -magnitude } else { magnitude };
    let bits = match ty {
        ValType::I32 => 32,
        ValType::I64 => 64,
    };
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << bits) - 1;
    if value < min || value > max {
        return Err(HarnessError::new(format!(
            "`{word}` does not fit {}",
            match ty {
                ValType::I32 => "i32",
                ValType::I64 => "i64",
            }
        )));
    }
    Ok(Value::wrap(ty, value as i64))
}

/// The cross product of edge values (first parameter varying slowest), capped at
/// `MAX_EDGE_VECTORS` by taking every `stride`-th combination.
pub fn edge_vectors(params: &[ValType]) -> Vec<Vec<Value>> {
    let edges = |ty: ValType| -> &'static [i64] {
        match ty {
            ValType::I32 => &I32_EDGES,
            ValType::I64 => &I64_EDGES,
        }
    };
    let total: usize = params.iter().map(|ty| edges(*ty).len()).product();
    let stride = total.div_ceil(MAX_EDGE_VECTORS).max(1);
    (0..total)
        .step_by(stride)
        .map(|mut combination| {
            let mut args = vec![Value::I32(0); params.len()];
            for (slot, ty) in args.iter_mut().zip(params).rev() {
                let values = edges(*ty);
                *slot = Value::wrap(*ty, values[combination % values.len()]);
                combination /= values.len();
            }
            args
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ModuleInfo {
        ModuleInfo::parse(
            br#"(module
                (func (export "none") (result i32) (i32.const 1))
                (func (export "one") (param i32) (result i32) (local.get 0))
                (func (export "mixed") (param i64 i32) (result i64) (local.get 0))
                (func (export "five") (param i32 i32 i32 i32 i32)))"#,
        )
        .unwrap()
    }

    #[test]
    fn explicit_vectors_wrap_and_accept_hex_and_negatives() {
        let text = "# comment\nnone:\none: 0x80000000; -1; 7 # trailing\n\
                    mixed: 0x8000000000000000 -0x10; 18446744073709551615 4294967295\n";
        let v = parse(text, &info()).unwrap();
        assert_eq!(v.len(), 6);
        assert_eq!(v[0].args, vec![]);
        assert_eq!(v[1].args, vec![Value::I32(i32::MIN)]);
        assert_eq!(v[2].args, vec![Value::I32(-1)]);
        assert_eq!(v[3].line, 3);
        assert_eq!(v[4].args, vec![Value::I64(i64::MIN), Value::I32(-16)]);
        assert_eq!(v[5].args, vec![Value::I64(-1), Value::I32(-1)]);
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        for (text, needle) in [
            ("one: 1 2", "line 1"),
            ("nope: 1", "no function"),
            ("one: 0x100000000", "does not fit"),
            ("one: -0x80000001", "does not fit"),
            ("one: twelve", "not an integer"),
            ("\none:", "line 2: no calls"),
            ("none: 3", "takes no arguments"),
            ("one 1", "expected"),
        ] {
            let err = parse(text, &info()).unwrap_err();
            assert!(err.message.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn edge_vectors_cover_the_cross_product_and_cap_it() {
        let v = parse("mixed: edge", &info()).unwrap();
        assert_eq!(v.len(), 11 * 12);
        assert_eq!(v[0].args, vec![Value::I64(0), Value::I32(0)]);
        assert_eq!(v[1].args, vec![Value::I64(0), Value::I32(1)]);
        assert_eq!(v[12].args, vec![Value::I64(1), Value::I32(0)]);
        assert_eq!(
            v.last().unwrap().args,
            vec![Value::I64(0x1234_5678_9abc_def0), Value::I32(0x1234_5678)]
        );
        let capped = edge_vectors(&[ValType::I32; 5]);
        assert!(capped.len() <= MAX_EDGE_VECTORS && capped.len() > MAX_EDGE_VECTORS / 2);
        assert_eq!(capped, edge_vectors(&[ValType::I32; 5]));
        assert_eq!(edge_vectors(&[]), vec![Vec::<Value>::new()]);
    }
}

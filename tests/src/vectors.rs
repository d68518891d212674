//! Fixture vector files (`fixtures/NAME.vectors`): one line per exported function,
//! `FUNC: ARGS; ARGS; ...` with space-separated values per call, or `FUNC: edge` for the
//! cross product of edge values per parameter type. `#` starts a comment.
//!
//! Integer arguments are decimal or `0x` hex, optionally negative. Float arguments are
//! WebAssembly text float literals, parsed by the `wast` crate exactly as in a `.wat`
//! `f32.const` / `f64.const`: decimal (`1.5`, `-0.0`, `1e-40`, correctly rounded), hex floats
//! (`0x1.8p3`, `-0x1p-149`), `inf`, `-inf`, `nan`, `-nan` and `nan:0x...` (payload).

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

/// IEEE bit patterns of the f32 edge values: signed zeros and small values, subnormal and
/// normal extremes, infinities, NaNs (canonical, negative canonical, quiet with a payload,
/// signalling), and the boundaries of the float-to-integer conversions.
pub const F32_EDGES: [u32; 35] = [
    0x0000_0000, // 0
    0x8000_0000, // -0
    0x3f80_0000, // 1
    0xbf80_0000, // -1
    0x3f00_0000, // 0.5
    0xbf00_0000, // -0.5
    0x3fc0_0000, // 1.5
    0xbfc0_0000, // -1.5
    0x4020_0000, // 2.5
    0xc020_0000, // -2.5
    0x0000_0001, // min subnormal
    0x8000_0001, // -min subnormal
    0x007f_ffff, // max subnormal
    0x807f_ffff, // -max subnormal
    0x0080_0000, // min normal
    0x8080_0000, // -min normal
    0x7f7f_ffff, // max finite
    0xff7f_ffff, // -max finite
    0x7f80_0000, // inf
    0xff80_0000, // -inf
    0x7fc0_0000, // nan (canonical)
    0xffc0_0000, // -nan
    0x7fe0_0001, // nan:0x600001 (quiet, payload)
    0x7fa0_0000, // nan:0x200000 (signalling)
    0x4f00_0000, // 2^31
    0xcf00_0000, // -2^31
    0x4eff_ffff, // 2^31 - 128, the largest f32 below 2^31
    0xcf00_0001, // -2^31 - 256, the first f32 below -2^31
    0x4f80_0000, // 2^32
    0x4f7f_ffff, // 2^32 - 256
    0x5f00_0000, // 2^63
    0x5f80_0000, // 2^64
    0x3dcc_cccd, // 0.1
    0x5015_02f9, // 1e10
    0x4049_0fdb, // pi
];

/// IEEE bit patterns of the f64 edge values (as `F32_EDGES`, plus -2^31-1 and the fractional
/// neighbours of the 32-bit conversion limits, exact in f64).
pub const F64_EDGES: [u64; 37] = [
    0x0000_0000_0000_0000, // 0
    0x8000_0000_0000_0000, // -0
    0x3ff0_0000_0000_0000, // 1
    0xbff0_0000_0000_0000, // -1
    0x3fe0_0000_0000_0000, // 0.5
    0xbfe0_0000_0000_0000, // -0.5
    0x3ff8_0000_0000_0000, // 1.5
    0xbff8_0000_0000_0000, // -1.5
    0x4004_0000_0000_0000, // 2.5
    0xc004_0000_0000_0000, // -2.5
    0x0000_0000_0000_0001, // min subnormal
    0x8000_0000_0000_0001, // -min subnormal
    0x000f_ffff_ffff_ffff, // max subnormal
    0x800f_ffff_ffff_ffff, // -max subnormal
    0x0010_0000_0000_0000, // min normal
    0x8010_0000_0000_0000, // -min normal
    0x7fef_ffff_ffff_ffff, // max finite
    0xffef_ffff_ffff_ffff, // -max finite
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // nan (canonical)
    0xfff8_0000_0000_0000, // -nan
    0x7ffc_0000_0000_0001, // nan:0xc000000000001 (quiet, payload)
    0x7ff4_0000_0000_0000, // nan:0x4000000000000 (signalling)
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0000_0000, // -2^31
    0xc1e0_0000_0020_0000, // -2^31 - 1
    0x41df_ffff_fff9_999a, // 2147483647.9
    0xc1e0_0000_0019_999a, // -2147483648.8 (truncates to -2^31)
    0x41f0_0000_0000_0000, // 2^32
    0x41ef_ffff_fffc_cccd, // 4294967295.9
    0x43e0_0000_0000_0000, // 2^63
    0x43f0_0000_0000_0000, // 2^64
    0x3fb9_9999_9999_999a, // 0.1
    0x4202_a05f_2000_0000, // 1e10
    0x4009_21fb_5444_2d18, // pi
    0x3fe0_0000_0000_0001, // 0.5 + 1 ulp
];

/// One call: the export and its arguments; `line` is the 1-based line in the vector file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vector {
    /// The linked provider (module name) whose export is called; `None` for the module itself.
    pub module: Option<String>,
    pub function: String,
    pub args: Vec<Value>,
    pub line: usize,
}

impl std::fmt::Display for Vector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(|v| v.to_string()).collect();
        if let Some(module) = &self.module {
            write!(f, "{module}::")?;
        }
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
    parse_linked(text, info, &[])
}

/// Like `parse`, for a module linked with `providers` (module name, description): a line
/// `@MODULE FUNC: ARGS` calls the provider's export `FUNC` directly.
pub fn parse_linked(
    text: &str,
    info: &ModuleInfo,
    providers: &[(String, ModuleInfo)],
) -> Result<Vec<Vector>, HarnessError> {
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
        let (module, function) = match function.trim().strip_prefix('@') {
            Some(qualified) => {
                let (module, function) = qualified
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| at(format!("expected `@MODULE FUNC`, found `{line}`")))?;
                (Some(module.to_string()), function.trim())
            }
            None => (None, function.trim()),
        };
        let owner = match &module {
            None => info,
            Some(module) => providers
                .iter()
                .find(|(name, _)| name == module)
                .map(|(_, info)| info)
                .ok_or_else(|| at(format!("no linked module `{module}`")))?,
        };
        let export = owner.export(function).map_err(|e| at(e.message))?;
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
            module: module.clone(),
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

/// An integer: decimal or `0x` hex, optionally negative; anything in the signed or unsigned
/// range of the type is accepted and wrapped to it. A float: a WebAssembly text float literal.
pub fn parse_value(word: &str, ty: ValType) -> Result<Value, HarnessError> {
    match ty {
        ValType::I32 | ValType::I64 => parse_integer(word, ty),
        ValType::FuncRef | ValType::ExternRef if word == "null" => Ok(Value::from_bits(ty, 0)),
        ValType::FuncRef | ValType::ExternRef => Err(HarnessError::new(format!(
            "a {ty} argument can only be `null`, not `{word}`"
        ))),
        ValType::F32 => {
            parse_wat_float::<wast::token::F32>(word, "f32").map(|f| Value::F32(f.bits))
        }
        ValType::F64 => {
            parse_wat_float::<wast::token::F64>(word, "f64").map(|f| Value::F64(f.bits))
        }
    }
}

/// Parse `word` as exactly one WAT float literal token (`wast`'s lexer and float parser).
fn parse_wat_float<T: for<'b> wast::parser::Parse<'b>>(
    word: &str,
    ty: &str,
) -> Result<T, HarnessError> {
    let bad = |why: String| HarnessError::new(format!("`{word}` is not an {ty} literal: {why}"));
    // A comment or parenthesis would change what the lexer sees; a literal has neither.
    if word.is_empty() || word.contains(['(', ')', ';']) {
        return Err(bad("not a single token".into()));
    }
    let buffer = wast::parser::ParseBuffer::new(word).map_err(|e| bad(e.message()))?;
    wast::parser::parse::<T>(&buffer).map_err(|e| bad(e.message()))
}

fn parse_integer(word: &str, ty: ValType) -> Result<Value, HarnessError> {
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
    let bits = 8 * ty.size();
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << bits) - 1;
    if value < min || value > max {
        return Err(HarnessError::new(format!("`{word}` does not fit {ty}")));
    }
    Ok(Value::wrap(ty, value as i64))
}

/// The edge values of one parameter type.
pub fn edge_values(ty: ValType) -> Vec<Value> {
    match ty {
        ValType::I32 => I32_EDGES.iter().map(|v| Value::wrap(ty, *v)).collect(),
        ValType::I64 => I64_EDGES.iter().map(|v| Value::wrap(ty, *v)).collect(),
        ValType::F32 => F32_EDGES.iter().map(|bits| Value::F32(*bits)).collect(),
        ValType::F64 => F64_EDGES.iter().map(|bits| Value::F64(*bits)).collect(),
        ValType::FuncRef | ValType::ExternRef => vec![Value::from_bits(ty, 0)],
    }
}

/// The cross product of edge values (first parameter varying slowest), capped at
/// `MAX_EDGE_VECTORS` by taking every `stride`-th combination.
pub fn edge_vectors(params: &[ValType]) -> Vec<Vec<Value>> {
    let edges: Vec<Vec<Value>> = params.iter().map(|ty| edge_values(*ty)).collect();
    let total: usize = edges.iter().map(Vec::len).product();
    let stride = total.div_ceil(MAX_EDGE_VECTORS).max(1);
    (0..total)
        .step_by(stride)
        .map(|mut combination| {
            let mut args = vec![Value::I32(0); params.len()];
            for (slot, values) in args.iter_mut().zip(&edges).rev() {
                *slot = values[combination % values.len()];
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
                (func (export "five") (param i32 i32 i32 i32 i32))
                (func (export "fl") (param f32 f64 i32) (result f32) (local.get 0))
                (func (export "f2") (param f32 f32) (result f32) (local.get 0))
                (func (export "d1") (param f64) (result f64) (local.get 0)))"#,
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

    fn f32_bits(word: &str) -> u32 {
        match parse_value(word, ValType::F32) {
            Ok(Value::F32(bits)) => bits,
            other => panic!("{word}: {other:?}"),
        }
    }

    fn f64_bits(word: &str) -> u64 {
        match parse_value(word, ValType::F64) {
            Ok(Value::F64(bits)) => bits,
            other => panic!("{word}: {other:?}"),
        }
    }

    #[test]
    fn float_literals_parse_bit_exactly_like_wat() {
        for (word, bits) in [
            ("1.5", 0x3fc0_0000),
            ("+1.5", 0x3fc0_0000),
            ("-0.0", 0x8000_0000),
            ("0", 0),
            ("3", 0x4040_0000),
            ("0x10", 0x4180_0000),
            ("1e-40", 0x0001_16c2),
            ("1_000.5", 0x447a_2000),
            ("0x1.8p3", 0x4140_0000),
            ("-0x1p-149", 0x8000_0001),
            ("0x1p-126", 0x0080_0000),
            ("0x1.fffffep127", 0x7f7f_ffff),
            ("inf", 0x7f80_0000),
            ("-inf", 0xff80_0000),
            ("nan", 0x7fc0_0000),
            ("-nan", 0xffc0_0000),
            ("nan:0x600001", 0x7fe0_0001),
            ("nan:0x200001", 0x7fa0_0001),
            ("nan:0x1", 0x7f80_0001),
            ("-nan:0x7fffff", 0xffff_ffff),
            // Ties round to even; hex floats round too.
            ("16777217", 0x4b80_0000),
            ("16777219", 0x4b80_0002),
            ("0x1.000001p0", 0x3f80_0000),
            ("0x1.000003p0", 0x3f80_0002),
            // Just below a tie: a parser that rounds to f64 first would round up.
            ("1.00000017881393432617187499", 0x3f80_0001),
            ("0.1", 0x3dcc_cccd),
        ] {
            assert_eq!(f32_bits(word), bits, "{word}");
        }
        for (word, bits) in [
            ("0.1", 0x3fb9_9999_9999_999a),
            ("-0x1p-1074", 0x8000_0000_0000_0001),
            ("4294967295.9", 0x41ef_ffff_fffc_cccd),
            ("nan", 0x7ff8_0000_0000_0000),
            ("nan:0x4000000000000", 0x7ff4_0000_0000_0000),
            ("-inf", 0xfff0_0000_0000_0000),
            ("1e-320", 0x0000_0000_0000_07e8),
            ("0x1.fffffffffffffp1023", 0x7fef_ffff_ffff_ffff),
        ] {
            assert_eq!(f64_bits(word), bits, "{word}");
        }
        for word in [
            "1e39",
            "0x1p128",
            "nan:0x0",
            "nan:0x800000",
            "one",
            "1.5x",
            "(1)",
            "1;;",
            "",
        ] {
            let err = parse_value(word, ValType::F32).unwrap_err();
            assert!(err.message.contains("f32 literal"), "{word}: {err}");
        }
        // Integers in float positions are floats, floats in integer positions are errors.
        assert!(parse_value("1.5", ValType::I32).is_err());
    }

    #[test]
    fn float_vectors_mix_with_integers() {
        let v = parse("fl: 1.5 -0x1p-1 7; nan:0x200000 inf -1\nd1: -0.0", &info()).unwrap();
        assert_eq!(
            v[0].args,
            vec![
                Value::F32(0x3fc0_0000),
                Value::F64(0xbfe0_0000_0000_0000),
                Value::I32(7)
            ]
        );
        assert_eq!(
            v[1].args,
            vec![
                Value::F32(0x7fa0_0000),
                Value::F64(0x7ff0_0000_0000_0000),
                Value::I32(-1)
            ]
        );
        assert_eq!(v[2].args, vec![Value::F64(0x8000_0000_0000_0000)]);
        let err = parse("fl: 1.5 x 7", &info()).unwrap_err();
        assert!(
            err.message.contains("line 1") && err.message.contains("f64"),
            "{err}"
        );
    }

    #[test]
    fn float_edge_values_are_what_they_claim() {
        let f32s: Vec<f32> = F32_EDGES.iter().map(|b| f32::from_bits(*b)).collect();
        for expected in [
            0.0f32,
            1.0,
            -0.5,
            2.5,
            f32::from_bits(1),
            f32::MIN_POSITIVE,
            f32::MAX,
            -f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            2147483648.0,
            -2147483648.0,
            4294967296.0,
            9223372036854775808.0,
            18446744073709551616.0,
            0.1,
            1e10,
            std::f32::consts::PI,
        ] {
            assert!(
                f32s.iter().any(|v| v.to_bits() == expected.to_bits()),
                "{expected}"
            );
        }
        let f64s: Vec<f64> = F64_EDGES.iter().map(|b| f64::from_bits(*b)).collect();
        for expected in [
            -0.0f64,
            -1.5,
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MIN_POSITIVE,
            f64::MAX,
            -2147483649.0,
            2147483647.9,
            -2147483648.8,
            4294967295.9,
            9223372036854775808.0,
            18446744073709551616.0,
            0.1,
            1e10,
            std::f64::consts::PI,
        ] {
            assert!(
                f64s.iter().any(|v| v.to_bits() == expected.to_bits()),
                "{expected}"
            );
        }
        // The NaNs: canonical of both signs, a quiet one with a payload, a signalling one.
        let quiet32 = |b: u32| b & 0x0040_0000 != 0;
        let nans32: Vec<u32> = F32_EDGES
            .iter()
            .copied()
            .filter(|b| f32::from_bits(*b).is_nan())
            .collect();
        assert_eq!(
            nans32,
            vec![0x7fc0_0000, 0xffc0_0000, 0x7fe0_0001, 0x7fa0_0000]
        );
        assert!(quiet32(nans32[2]) && !quiet32(nans32[3]));
        let nans64: Vec<u64> = F64_EDGES
            .iter()
            .copied()
            .filter(|b| f64::from_bits(*b).is_nan())
            .collect();
        assert_eq!(nans64.len(), 4);
        assert!(nans64[3] & 0x0008_0000_0000_0000 == 0, "signalling");
        // No duplicates.
        let mut sorted = F32_EDGES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), F32_EDGES.len());
        let mut sorted = F64_EDGES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), F64_EDGES.len());
    }

    #[test]
    fn float_edge_vectors_cross_and_cap() {
        let v = parse("d1: edge", &info()).unwrap();
        assert_eq!(v.len(), F64_EDGES.len());
        assert_eq!(v[20].args, vec![Value::F64(0x7ff8_0000_0000_0000)]);
        let v = parse("f2: edge", &info()).unwrap();
        let total = F32_EDGES.len() * F32_EDGES.len();
        assert!(total > MAX_EDGE_VECTORS);
        assert!(v.len() <= MAX_EDGE_VECTORS && v.len() > MAX_EDGE_VECTORS / 2);
        // Every edge value still shows up in each position.
        for position in 0..2 {
            for bits in F32_EDGES {
                assert!(
                    v.iter().any(|call| call.args[position] == Value::F32(bits)),
                    "0x{bits:08x} at {position}"
                );
            }
        }
        let mixed = parse("fl: edge", &info()).unwrap();
        assert!(mixed.len() <= MAX_EDGE_VECTORS);
        assert!(mixed.iter().all(|c| c.args[0].ty() == ValType::F32
            && c.args[1].ty() == ValType::F64
            && c.args[2].ty() == ValType::I32));
    }
}

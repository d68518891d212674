//! The wasm text-format name of an operator, for "unsupported operator" messages.

use wasmparser::Operator;

/// Variant-name prefixes that are the part before the dot in the text format (longest first).
const NAMESPACES: [&str; 21] = [
    "I8x16", "I16x8", "I32x4", "I64x2", "F32x4", "F64x2", "V128", "I32", "I64", "F32", "F64",
    "I31", "Memory", "Table", "Global", "Local", "Elem", "Data", "Struct", "Array", "Ref",
];

/// `F32Add` -> `f32.add`, `CallIndirect` -> `call_indirect`, `I32AtomicRmwAdd` ->
/// `i32.atomic.rmw_add`: derived from wasmparser's variant name, close to the text format.
pub fn operator_name(op: &Operator<'_>) -> String {
    let debug = format!("{op:?}");
    let variant: String = debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    for prefix in NAMESPACES {
        if let Some(rest) = variant.strip_prefix(prefix)
            && rest.starts_with(|c: char| c.is_ascii_uppercase())
        {
            let rest = match rest.strip_prefix("Atomic") {
                Some(after) if !after.is_empty() => format!("atomic.{}", snake_case(after)),
                _ => snake_case(rest),
            };
            return format!("{}.{rest}", prefix.to_ascii_lowercase());
        }
    }
    snake_case(&variant)
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::operator_name;
    use wasmparser::{Ieee32, Operator};

    #[test]
    fn names_follow_the_text_format() {
        assert_eq!(operator_name(&Operator::F32Add), "f32.add");
        assert_eq!(
            operator_name(&Operator::F32Const {
                value: Ieee32::from(1.5f32)
            }),
            "f32.const"
        );
        assert_eq!(
            operator_name(&Operator::CallIndirect {
                type_index: 0,
                table_index: 0
            }),
            "call_indirect"
        );
        assert_eq!(
            operator_name(&Operator::I32TruncSatF64U),
            "i32.trunc_sat_f64_u"
        );
        assert_eq!(
            operator_name(&Operator::MemoryFill { mem: 0 }),
            "memory.fill"
        );
        assert_eq!(operator_name(&Operator::RefIsNull), "ref.is_null");
        assert_eq!(operator_name(&Operator::F64x2Add), "f64x2.add");
    }
}

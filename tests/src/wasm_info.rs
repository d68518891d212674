//! What the harness needs to know about a wasm module to call it from outside: export and
//! import signatures, globals, memory, and the link-time symbol names docs/ABI.md gives them.

use std::collections::BTreeMap;

use synth_compiler::ir::names::mangle;
use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef};

use crate::HarnessError;

/// The value types the harness can pass and return: wasm's numeric types and the two
/// reference types (no v128). A reference is one word in synth's ABI (docs/ABI.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
}

impl ValType {
    pub fn size(self) -> u32 {
        match self {
            ValType::I32 | ValType::F32 | ValType::FuncRef | ValType::ExternRef => 4,
            ValType::I64 | ValType::F64 => 8,
        }
    }

    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }

    pub fn is_float(self) -> bool {
        matches!(self, ValType::F32 | ValType::F64)
    }

    /// The integer type of the same width (what a float is passed as in the base ABI).
    pub fn same_width_integer(self) -> ValType {
        match self {
            ValType::I32 | ValType::F32 | ValType::FuncRef | ValType::ExternRef => ValType::I32,
            ValType::I64 | ValType::F64 => ValType::I64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        }
    }
}

impl std::fmt::Display for ValType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A wasm value. Floats are kept as their IEEE bit patterns, so NaN payloads survive and
/// equality is bit equality (see `crate::compare` for the NaN-aware comparison of results).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// A funcref as synth's word: 0 = null, else the function's descriptor address (only
    /// null-ness is comparable across engines).
    FuncRef(u32),
    /// An externref as synth's word: 0 = null, `ref.extern N` = N + 1 (the harness's host
    /// convention).
    ExternRef(u32),
}

impl Value {
    pub fn ty(self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
        }
    }

    pub fn from_f32(value: f32) -> Value {
        Value::F32(value.to_bits())
    }

    pub fn from_f64(value: f64) -> Value {
        Value::F64(value.to_bits())
    }

    /// The raw bits, zero-extended (i32 and f32 in the low 32 bits).
    pub fn bits(self) -> u64 {
        match self {
            Value::I32(v) => u64::from(v as u32),
            Value::I64(v) => v as u64,
            Value::F32(bits) => u64::from(bits),
            Value::F64(bits) => bits,
            Value::FuncRef(w) | Value::ExternRef(w) => u64::from(w),
        }
    }

    /// A value of type `ty` from raw bits (the low 32 bits for i32 and f32).
    pub fn from_bits(ty: ValType, bits: u64) -> Value {
        match ty {
            ValType::I32 => Value::I32(bits as u32 as i32),
            ValType::I64 => Value::I64(bits as i64),
            ValType::F32 => Value::F32(bits as u32),
            ValType::F64 => Value::F64(bits),
            ValType::FuncRef => Value::FuncRef(bits as u32),
            ValType::ExternRef => Value::ExternRef(bits as u32),
        }
    }

    /// Little-endian bytes, as the value lies in memory (4 or 8 bytes).
    pub fn to_le_bytes(self) -> Vec<u8> {
        let size = self.ty().size() as usize;
        self.bits().to_le_bytes()[..size].to_vec()
    }

    /// The value as 64 bits for the mock import sum: an i32 sign-extended, an i64 as is, a
    /// float as its bit pattern read as the signed integer of the same width (f32 bits
    /// sign-extended from 32 bits).
    pub fn as_i64_sign_extended(self) -> i64 {
        match self {
            Value::I32(v) => i64::from(v),
            Value::I64(v) => v,
            Value::F32(bits) => i64::from(bits as i32),
            Value::F64(bits) => bits as i64,
            Value::FuncRef(w) | Value::ExternRef(w) => i64::from(w as i32),
        }
    }

    /// Truncate (wrap) a 64-bit integer to a value of type `ty`; for a float type the integer's
    /// bits are taken as the float's bits (truncated to 32 for f32).
    pub fn wrap(ty: ValType, bits: i64) -> Value {
        Value::from_bits(ty, bits as u64)
    }

    /// Is this a float NaN (of either width)?
    pub fn is_nan(self) -> bool {
        match self {
            Value::F32(bits) => f32::from_bits(bits).is_nan(),
            Value::F64(bits) => f64::from_bits(bits).is_nan(),
            _ => false,
        }
    }

    /// A NaN's payload (the significand, quiet bit included), or `None` for any other value.
    pub fn nan_payload(self) -> Option<u64> {
        match self {
            Value::F32(bits) if self.is_nan() => Some(u64::from(bits & 0x7f_ffff)),
            Value::F64(bits) if self.is_nan() => Some(bits & 0xf_ffff_ffff_ffff),
            _ => None,
        }
    }

    /// The quiet bit of this float type (the top bit of the significand).
    fn quiet_bit(self) -> u64 {
        match self {
            Value::F64(_) => 1 << 51,
            _ => 1 << 22,
        }
    }

    /// A canonical NaN: payload exactly the quiet bit, either sign (`nan:canonical`).
    pub fn is_canonical_nan(self) -> bool {
        self.nan_payload() == Some(self.quiet_bit())
    }

    /// An arithmetic NaN: a NaN with the quiet bit set, either sign (`nan:arithmetic`).
    pub fn is_arithmetic_nan(self) -> bool {
        self.nan_payload()
            .is_some_and(|payload| payload & self.quiet_bit() != 0)
    }

    /// A signalling NaN: quiet bit clear (only bit-preserving operations produce one).
    pub fn is_signalling_nan(self) -> bool {
        self.is_nan() && !self.is_arithmetic_nan()
    }
}

/// WebAssembly text spelling of a float's bits: `nan` / `-nan` for the canonical NaNs,
/// `nan:0x...` with the payload otherwise, `inf`, and Rust's shortest round-trip decimal.
fn float_text(
    negative: bool,
    nan_payload: Option<u64>,
    canonical_payload: u64,
    finite: String,
) -> String {
    let sign = if negative { "-" } else { "" };
    match nan_payload {
        Some(payload) if payload == canonical_payload => format!("{sign}nan"),
        Some(payload) => format!("{sign}nan:0x{payload:x}"),
        None => finite,
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::FuncRef(0) => write!(f, "ref.null func"),
            Value::FuncRef(w) => write!(f, "funcref:0x{w:08x}"),
            Value::ExternRef(0) => write!(f, "ref.null extern"),
            Value::ExternRef(w) => write!(f, "ref.extern {}", w - 1),
            Value::I32(v) => write!(f, "i32:{v} (0x{:08x})", *v as u32),
            Value::I64(v) => write!(f, "i64:{v} (0x{:016x})", *v as u64),
            Value::F32(bits) => {
                let value = f32::from_bits(*bits);
                let text = float_text(
                    bits >> 31 == 1,
                    value.is_nan().then_some(u64::from(bits & 0x7f_ffff)),
                    0x40_0000,
                    format!("{value:?}"),
                );
                write!(f, "f32:{text} (0x{bits:08x})")
            }
            Value::F64(bits) => {
                let value = f64::from_bits(*bits);
                let text = float_text(
                    bits >> 63 == 1,
                    value.is_nan().then_some(bits & 0xf_ffff_ffff_ffff),
                    0x8_0000_0000_0000,
                    format!("{value:?}"),
                );
                write!(f, "f64:{text} (0x{bits:016x})")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Signature {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedFunction {
    pub module: String,
    pub name: String,
    pub sig: Signature,
    /// `MODULE_NAME`, both parts mangled.
    pub symbol: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFunction {
    pub name: String,
    pub function_index: u32,
    pub sig: Signature,
    /// A function exported under several names is emitted once, under its first export name.
    pub symbol: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalInfo {
    pub index: u32,
    pub ty: ValType,
    /// `synth_global_EXPORT` for the first export name, else `synth_global_N`.
    pub symbol: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ModuleInfo {
    pub imports: Vec<ImportedFunction>,
    /// In export-section order.
    pub exports: Vec<ExportedFunction>,
    /// Defined globals only (imported globals are rejected: the mock has no values for them).
    pub globals: Vec<GlobalInfo>,
    pub has_memory: bool,
    /// The defined memory's symbol (`synth_memory`, or `NS_EXPORT` / `NS_memory` with a
    /// namespace); its size word is this plus `_bytes`.
    pub memory_symbol: String,
    /// Initial size of the (single) memory in 64 KiB pages.
    pub memory_initial_pages: u64,
    /// Its declared maximum, if any.
    pub memory_declared_max: Option<u64>,
    /// Some active data segment with a constant offset ends past the initial memory, so
    /// instantiation fails (trap code 6 in synth).
    pub data_segment_out_of_bounds: bool,
}

impl ModuleInfo {
    /// Parse a wasm binary or WAT text.
    pub fn parse(input: &[u8]) -> Result<ModuleInfo, HarnessError> {
        let wasm = wat::parse_bytes(input)
            .map_err(|e| HarnessError::new(format!("cannot parse module text: {e}")))?;
        parse_binary(&wasm, true)
    }

    /// Like `parse`, but a function type with other than numeric values (v128, references) is an
    /// error only when an import or export uses it: the spec tests declare such types in modules
    /// synth compiles.
    pub fn parse_allowing_unused_types(input: &[u8]) -> Result<ModuleInfo, HarnessError> {
        let wasm = wat::parse_bytes(input)
            .map_err(|e| HarnessError::new(format!("cannot parse module text: {e}")))?;
        parse_binary(&wasm, false)
    }

    /// Like `parse`, for a module linked with the modules it imports from: imports of
    /// memories, globals and tables are allowed (another object defines them), `imports` lists
    /// only the functions.
    pub fn parse_linked(input: &[u8]) -> Result<ModuleInfo, HarnessError> {
        let wasm = wat::parse_bytes(input)
            .map_err(|e| HarnessError::new(format!("cannot parse module text: {e}")))?;
        parse_binary_with(&wasm, true, true)
    }

    /// Parse a binary compiled with namespace `ns` (docs/ABI.md "Symbols"): every export name
    /// is its own symbol `ns_NAME`; imports of memories, globals and tables are allowed (the
    /// program links their definitions), `imports` lists only the functions.
    pub fn parse_namespaced(wasm: &[u8], ns: &str) -> Result<ModuleInfo, HarnessError> {
        let mut info = parse_binary_with(wasm, false, true)?;
        // A re-exported import keeps the import's symbol: the object defines none for it.
        let import_count = info.imports.len() as u32;
        for export in &mut info.exports {
            if export.function_index >= import_count {
                export.symbol = format!("{ns}_{}", mangle(&export.name));
            }
        }
        // Defined globals and the memory: `NS_EXPORT` for the first export name, else
        // `NS_global_N` / `NS_memory`.
        let mut first_export: BTreeMap<(u8, u32), String> = BTreeMap::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::ExportSection(reader) = payload.map_err(bad)? {
                for export in reader {
                    let export = export.map_err(bad)?;
                    let kind = match export.kind {
                        ExternalKind::Global => 0,
                        ExternalKind::Memory => 1,
                        _ => continue,
                    };
                    first_export
                        .entry((kind, export.index))
                        .or_insert_with(|| export.name.to_string());
                }
            }
        }
        for global in &mut info.globals {
            global.symbol = match first_export.get(&(0, global.index)) {
                Some(name) => format!("{ns}_{}", mangle(name)),
                None => format!("{ns}_global_{}", global.index),
            };
        }
        // A defined memory is memory 0 (one memory at most, imported or defined).
        info.memory_symbol = match first_export.get(&(1, 0)) {
            Some(name) => format!("{ns}_{}", mangle(name)),
            None => format!("{ns}_memory"),
        };
        Ok(info)
    }

    pub fn export(&self, name: &str) -> Result<&ExportedFunction, HarnessError> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| HarnessError::new(format!("the module exports no function `{name}`")))
    }
}

fn bad(e: wasmparser::BinaryReaderError) -> HarnessError {
    HarnessError::new(format!("malformed wasm: {e}"))
}

fn val_type(ty: wasmparser::ValType, what: &str) -> Result<ValType, HarnessError> {
    match ty {
        wasmparser::ValType::I32 => Ok(ValType::I32),
        wasmparser::ValType::I64 => Ok(ValType::I64),
        wasmparser::ValType::F32 => Ok(ValType::F32),
        wasmparser::ValType::F64 => Ok(ValType::F64),
        wasmparser::ValType::Ref(r) if r == wasmparser::RefType::FUNCREF => Ok(ValType::FuncRef),
        wasmparser::ValType::Ref(r) if r == wasmparser::RefType::EXTERNREF => {
            Ok(ValType::ExternRef)
        }
        other => Err(HarnessError::new(format!(
            "{what} has type {other}, the harness handles only i32, i64, f32, f64, funcref and \
             externref"
        ))),
    }
}

fn func_signature(ft: &wasmparser::FuncType) -> Result<Signature, HarnessError> {
    Ok(Signature {
        params: ft
            .params()
            .iter()
            .map(|t| val_type(*t, "a parameter"))
            .collect::<Result<_, _>>()?,
        results: ft
            .results()
            .iter()
            .map(|t| val_type(*t, "a result"))
            .collect::<Result<_, _>>()?,
    })
}

/// `strict_types`: reject every function type with other than numeric values, used or not.
fn parse_binary(wasm: &[u8], strict_types: bool) -> Result<ModuleInfo, HarnessError> {
    parse_binary_with(wasm, strict_types, false)
}

/// `data_imports`: accept imported memories, globals and tables (linked, not mocked).
fn parse_binary_with(
    wasm: &[u8],
    strict_types: bool,
    data_imports: bool,
) -> Result<ModuleInfo, HarnessError> {
    let mut types: Vec<Option<Result<Signature, HarnessError>>> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let mut info = ModuleInfo {
        memory_symbol: "synth_memory".to_string(),
        ..ModuleInfo::default()
    };
    let mut imported_globals = 0u32;
    let mut global_types: Vec<ValType> = Vec::new();
    let mut raw_exports: Vec<(String, ExternalKind, u32)> = Vec::new();

    let sig_of = |types: &[Option<Result<Signature, HarnessError>>],
                  index: u32|
     -> Result<Signature, HarnessError> {
        types
            .get(index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| HarnessError::new(format!("type {index} is not a function type")))?
    };

    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(bad)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(bad)?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(ft) => {
                                let signature = func_signature(ft);
                                if let (true, Err(e)) = (strict_types, &signature) {
                                    return Err(e.clone());
                                }
                                Some(signature)
                            }
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(bad)?;
                    match import.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            function_types.push(ty);
                            info.imports.push(ImportedFunction {
                                module: import.module.to_string(),
                                name: import.name.to_string(),
                                sig: sig_of(&types, ty)?,
                                symbol: format!(
                                    "{}_{}",
                                    mangle(import.module),
                                    mangle(import.name)
                                ),
                            });
                        }
                        TypeRef::Global(_) => imported_globals += 1,
                        TypeRef::Memory(memory) if data_imports => {
                            // Data segments are checked against the imported memory's size.
                            info.memory_initial_pages = memory.initial;
                        }
                        TypeRef::Table(_) if data_imports => {}
                        _ => {
                            return Err(HarnessError::new(format!(
                                "import {}.{} is not a function; the harness mocks only functions",
                                import.module, import.name
                            )));
                        }
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    function_types.push(ty.map_err(bad)?);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(bad)?;
                    if info.has_memory {
                        return Err(HarnessError::new("more than one memory"));
                    }
                    info.has_memory = true;
                    info.memory_initial_pages = memory.initial;
                    info.memory_declared_max = memory.maximum;
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    global_types.push(val_type(global.map_err(bad)?.ty.content_type, "a global")?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(bad)?;
                    if let wasmparser::DataKind::Active { offset_expr, .. } = data.kind {
                        let mut ops = offset_expr.get_operators_reader();
                        if let Ok(wasmparser::Operator::I32Const { value }) = ops.read() {
                            let end = u64::from(value as u32) + data.data.len() as u64;
                            if end > info.memory_initial_pages * 65536 {
                                info.data_segment_out_of_bounds = true;
                            }
                        }
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(bad)?;
                    raw_exports.push((export.name.to_string(), export.kind, export.index));
                }
            }
            _ => {}
        }
    }
    if imported_globals > 0 && !data_imports {
        return Err(HarnessError::new(
            "the module imports globals; the harness provides only function imports",
        ));
    }

    // First export name per item, which names its symbol.
    let mut first_function_export: BTreeMap<u32, String> = BTreeMap::new();
    let mut first_global_export: BTreeMap<u32, String> = BTreeMap::new();
    for (name, kind, index) in &raw_exports {
        match kind {
            ExternalKind::Func | ExternalKind::FuncExact => {
                first_function_export
                    .entry(*index)
                    .or_insert_with(|| name.clone());
            }
            ExternalKind::Global => {
                first_global_export
                    .entry(*index)
                    .or_insert_with(|| name.clone());
            }
            _ => {}
        }
    }
    let import_count = info.imports.len() as u32;
    for (name, kind, index) in &raw_exports {
        if !matches!(kind, ExternalKind::Func | ExternalKind::FuncExact) {
            continue;
        }
        let ty = function_types
            .get(*index as usize)
            .ok_or_else(|| HarnessError::new(format!("export `{name}`: no function {index}")))?;
        let symbol = if *index < import_count {
            info.imports[*index as usize].symbol.clone()
        } else {
            mangle(&first_function_export[index])
        };
        info.exports.push(ExportedFunction {
            name: name.clone(),
            function_index: *index,
            sig: sig_of(&types, *ty)?,
            symbol,
        });
    }
    // Defined globals follow the imported ones in the global index space.
    for (position, ty) in global_types.into_iter().enumerate() {
        let index = imported_globals + position as u32;
        let symbol = match first_global_export.get(&index) {
            Some(name) => format!("synth_global_{}", mangle(name)),
            None => format!("synth_global_{index}"),
        };
        info.globals.push(GlobalInfo { index, ty, symbol });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_symbols_and_globals_follow_the_abi() {
        let info = ModuleInfo::parse(
            br#"(module
                (import "env" "log.v" (func $log (param i32 i64) (result i64)))
                (memory 1)
                (global $g (mut i32) (i32.const 5))
                (global $h i64 (i64.const 7))
                (func $f (param i64) (result i32 i64) (i32.const 0) (local.get 0))
                (export "first" (func $f))
                (export "again" (func $f))
                (export "h" (global $h)))"#,
        )
        .unwrap();
        assert!(info.has_memory);
        assert_eq!(info.memory_initial_pages, 1);
        assert!(!info.data_segment_out_of_bounds);
        let overflowing =
            ModuleInfo::parse(br#"(module (memory 1) (data (i32.const 65535) "ab"))"#).unwrap();
        assert!(overflowing.data_segment_out_of_bounds);
        assert_eq!(info.imports.len(), 1);
        assert_eq!(info.imports[0].symbol, "env_log_x2ev");
        assert_eq!(info.imports[0].sig.params, vec![ValType::I32, ValType::I64]);
        let again = info.export("again").unwrap();
        assert_eq!(again.symbol, "first");
        assert_eq!(again.function_index, 1);
        assert_eq!(again.sig.results, vec![ValType::I32, ValType::I64]);
        assert_eq!(info.globals[0].symbol, "synth_global_0");
        assert_eq!(info.globals[1].symbol, "synth_global_h");
        assert_eq!(info.globals[1].ty, ValType::I64);
        assert!(info.export("missing").is_err());
    }

    #[test]
    fn unused_vector_types_are_allowed_only_when_asked() {
        let unused = br#"(module (type (func (param v128))) (func (export "g") (param i32)))"#;
        assert!(ModuleInfo::parse(unused).is_err());
        let info = ModuleInfo::parse_allowing_unused_types(unused).unwrap();
        assert_eq!(info.export("g").unwrap().sig.params, vec![ValType::I32]);
        let used = br#"(module (type (func (param v128))) (func (export "f") (type 0)))"#;
        let err = ModuleInfo::parse_allowing_unused_types(used).unwrap_err();
        assert!(err.to_string().contains("v128"), "{err}");
        let reference = ModuleInfo::parse(
            br#"(module (func (export "f") (param externref) (result funcref) (ref.null func)))"#,
        )
        .unwrap();
        let sig = &reference.export("f").unwrap().sig;
        assert_eq!(sig.params, vec![ValType::ExternRef]);
        assert_eq!(sig.results, vec![ValType::FuncRef]);
    }

    #[test]
    fn float_signatures_imports_and_globals_are_read() {
        let info = ModuleInfo::parse(
            br#"(module
                (import "env" "scale" (func (param f32 i32 f64) (result f64 f32)))
                (global $x (mut f32) (f32.const 1.5))
                (global $y f64 (f64.const -0.0))
                (func (export "f") (param f64 f32) (result f32) (local.get 1)))"#,
        )
        .unwrap();
        assert_eq!(
            info.imports[0].sig,
            Signature {
                params: vec![ValType::F32, ValType::I32, ValType::F64],
                results: vec![ValType::F64, ValType::F32],
            }
        );
        assert_eq!(
            info.export("f").unwrap().sig.params,
            vec![ValType::F64, ValType::F32]
        );
        assert_eq!(info.export("f").unwrap().sig.results, vec![ValType::F32]);
        assert_eq!(info.globals[0].ty, ValType::F32);
        assert_eq!(info.globals[1].ty, ValType::F64);
    }

    #[test]
    fn float_values_keep_their_bits_and_display_as_wat() {
        let show = |v: Value| v.to_string();
        assert_eq!(show(Value::from_f32(1.5)), "f32:1.5 (0x3fc00000)");
        assert_eq!(show(Value::F32(0x8000_0000)), "f32:-0.0 (0x80000000)");
        assert_eq!(show(Value::F32(0x7fc0_0000)), "f32:nan (0x7fc00000)");
        assert_eq!(show(Value::F32(0xffc0_0000)), "f32:-nan (0xffc00000)");
        assert_eq!(
            show(Value::F32(0x7fa0_0000)),
            "f32:nan:0x200000 (0x7fa00000)"
        );
        assert_eq!(show(Value::F32(0xff80_0000)), "f32:-inf (0xff800000)");
        assert_eq!(
            show(Value::F64(0x7ff8_0000_0000_0001)),
            "f64:nan:0x8000000000001 (0x7ff8000000000001)"
        );
        assert_eq!(show(Value::from_f64(-2.5)), "f64:-2.5 (0xc004000000000000)");
        // Two NaNs with different payloads are different values.
        assert_ne!(Value::F32(0x7fc0_0000), Value::F32(0x7fc0_0001));
        assert!(Value::F32(0x7fc0_0001).is_nan() && !Value::I32(-1).is_nan());
        // NaN classes: canonical (either sign), arithmetic (quiet), signalling.
        for canonical in [
            Value::F32(0x7fc0_0000),
            Value::F32(0xffc0_0000),
            Value::F64(0xfff8 << 48),
        ] {
            assert!(
                canonical.is_canonical_nan() && canonical.is_arithmetic_nan(),
                "{canonical}"
            );
            assert!(!canonical.is_signalling_nan());
        }
        for quiet in [Value::F32(0x7fc0_0001), Value::F64(0x7ffc_0000_0000_0000)] {
            assert!(
                !quiet.is_canonical_nan() && quiet.is_arithmetic_nan(),
                "{quiet}"
            );
        }
        for signalling in [
            Value::F32(0x7f80_0001),
            Value::F32(0xffa0_0000),
            Value::F64(0x7ff4 << 48),
        ] {
            assert!(signalling.is_signalling_nan() && !signalling.is_arithmetic_nan());
            assert!(!signalling.is_canonical_nan(), "{signalling}");
        }
        for not_nan in [
            Value::F32(0x7f80_0000),
            Value::I32(0x7fc0_0000),
            Value::F64(0),
        ] {
            assert!(!not_nan.is_canonical_nan() && !not_nan.is_arithmetic_nan());
            assert!(!not_nan.is_signalling_nan() && not_nan.nan_payload().is_none());
        }
        assert_eq!(Value::F32(0x8000_0000).as_i64_sign_extended(), -0x8000_0000);
        assert_eq!(
            Value::F64(0x3ff0_0000_0000_0000).bits(),
            0x3ff0_0000_0000_0000
        );
        assert_eq!(
            Value::F32(0x3f80_0000).to_le_bytes(),
            vec![0, 0, 0x80, 0x3f]
        );
        assert_eq!(
            Value::from_bits(ValType::F32, 0xffff_ffff_3f80_0000),
            Value::from_f32(1.0)
        );
    }
}

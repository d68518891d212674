//! What the harness needs to know about a wasm module to call it from outside: export and
//! import signatures, globals, memory, and the link-time symbol names docs/ABI.md gives them.

use std::collections::BTreeMap;

use synth_compiler::ir::names::mangle;
use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef};

use crate::HarnessError;

/// The integer value types the harness can pass and return (floats are not supported by synth).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValType {
    I32,
    I64,
}

impl ValType {
    pub fn size(self) -> u32 {
        match self {
            ValType::I32 => 4,
            ValType::I64 => 8,
        }
    }
}

/// A wasm integer value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    I32(i32),
    I64(i64),
}

impl Value {
    pub fn ty(self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
        }
    }

    /// The value as 64 bits, i32 sign-extended (the mock import semantics sum these).
    pub fn as_i64_sign_extended(self) -> i64 {
        match self {
            Value::I32(v) => i64::from(v),
            Value::I64(v) => v,
        }
    }

    /// Truncate (wrap) a 64-bit integer to a value of type `ty`.
    pub fn wrap(ty: ValType, bits: i64) -> Value {
        match ty {
            ValType::I32 => Value::I32(bits as i32),
            ValType::I64 => Value::I64(bits),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v} (0x{:08x})", *v as u32),
            Value::I64(v) => write!(f, "i64:{v} (0x{:016x})", *v as u64),
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
    /// Initial size of the (single) memory in 64 KiB pages.
    pub memory_initial_pages: u64,
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

    /// Like `parse`, but a function type with other than i32/i64 values is an error only when an
    /// import or export uses it: the spec tests declare such types in modules synth compiles.
    pub fn parse_allowing_unused_types(input: &[u8]) -> Result<ModuleInfo, HarnessError> {
        let wasm = wat::parse_bytes(input)
            .map_err(|e| HarnessError::new(format!("cannot parse module text: {e}")))?;
        parse_binary(&wasm, false)
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
        other => Err(HarnessError::new(format!(
            "{what} has type {other}, the harness handles only i32 and i64"
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

/// `strict_types`: reject every function type with other than i32/i64 values, used or not.
fn parse_binary(wasm: &[u8], strict_types: bool) -> Result<ModuleInfo, HarnessError> {
    let mut types: Vec<Option<Result<Signature, HarnessError>>> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let mut info = ModuleInfo::default();
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
    if imported_globals > 0 {
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
    for (index, ty) in global_types.into_iter().enumerate() {
        let index = index as u32;
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
    fn unused_float_types_are_allowed_only_when_asked() {
        let unused = br#"(module (type (func (param f32))) (func (export "g") (param i32)))"#;
        assert!(ModuleInfo::parse(unused).is_err());
        let info = ModuleInfo::parse_allowing_unused_types(unused).unwrap();
        assert_eq!(info.export("g").unwrap().sig.params, vec![ValType::I32]);
        let used = br#"(module (type (func (param f32))) (func (export "f") (type 0)))"#;
        let err = ModuleInfo::parse_allowing_unused_types(used).unwrap_err();
        assert!(err.to_string().contains("f32"), "{err}");
    }

    #[test]
    fn float_signatures_are_rejected() {
        let err = ModuleInfo::parse(br#"(module (func (export "f") (param f32)))"#).unwrap_err();
        assert!(err.to_string().contains("f32"), "{err}");
    }
}

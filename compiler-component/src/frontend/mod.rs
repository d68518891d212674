//! Frontend: bytes or WAT -> validated module -> SSA IR per function.
//!
//! `translate` first runs every payload through wasmparser's validator (so invalid modules get
//! the validator's own message and offset), collecting the sections; only a fully valid module
//! is then turned into an `ir::Module`, rejecting what synth does not compile as `Unsupported`.

mod func;
pub mod limits;
mod opname;
mod ssa;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use wasmparser::{
    BinaryReaderError, DataKind, ExternalKind, FuncValidatorAllocations, FunctionBody, KnownCustom,
    Name, Operator, Parser, Payload, TypeRef, ValType, ValidPayload, Validator, WasmFeatures,
};

use crate::error::{CompileError, ErrorKind, Result};
use crate::ir::{
    BulkOp, DataSegment, FunctionDecl, FunctionKind, Global, Import, Memory, Module, Op, Signature,
    Type,
};
use crate::options::Options;

use limits::MAX_FUNCTIONS;

/// Accept a wasm binary or WAT text; return the wasm binary.
pub fn decode(input: &[u8]) -> Result<Vec<u8>> {
    if input.starts_with(b"\0asm") {
        return Ok(input.to_vec());
    }
    let parsed = std::str::from_utf8(input).ok().map(wat::parse_str);
    match parsed {
        Some(Ok(wasm)) => Ok(wasm),
        // wat's message already carries the line and column.
        Some(Err(e)) if !looks_binary(input) => {
            Err(CompileError::new(ErrorKind::Malformed, e.to_string()))
        }
        _ => {
            let start: Vec<String> = input.iter().take(4).map(|b| format!("{b:02x}")).collect();
            Err(CompileError::new(
                ErrorKind::Malformed,
                format!(
                    "not a WebAssembly module: a wasm binary starts with `00 61 73 6d` \
                     (`\\0asm`), this input starts with `{}` and is not WAT text either",
                    start.join(" ")
                ),
            ))
        }
    }
}

/// Text never holds a NUL or most other control bytes outside comments; a file that does and
/// fails to parse as WAT is a binary, and the WAT parser's complaint about it would mislead.
fn looks_binary(input: &[u8]) -> bool {
    input
        .iter()
        .any(|b| *b == 0x7f || (*b < 0x20 && !b"\t\n\r\x0c".contains(b)))
}

/// Validate the module and build SSA for every defined function.
pub fn translate(wasm: &[u8], options: &Options) -> Result<Module> {
    let sections = parse_and_validate(wasm)?;
    build_module(&sections, options)
}

/// A wasmparser error as a `CompileError` of `kind`, keeping its message and offset.
pub(crate) fn reader_error(e: BinaryReaderError, kind: ErrorKind) -> CompileError {
    CompileError::new(kind, e.message().to_string()).at(e.offset())
}

/// Module offsets fit 32 bits (wasmparser caps modules at 1 GiB); saturate rather than wrap.
pub(crate) fn offset32(offset: u64) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

pub(crate) fn convert_type(ty: ValType) -> Option<Type> {
    match ty {
        ValType::I32 => Some(Type::I32),
        ValType::I64 => Some(Type::I64),
        ValType::F32 => Some(Type::F32),
        ValType::F64 => Some(Type::F64),
        // A reference is one word (docs/ABI.md): null is 0.
        ValType::Ref(r) if table::ref_kind(r).is_some() => Some(Type::I32),
        _ => None,
    }
}

fn convert_signature(ty: &wasmparser::FuncType) -> std::result::Result<Signature, ValType> {
    let convert = |types: &[ValType]| -> std::result::Result<Vec<Type>, ValType> {
        types.iter().map(|t| convert_type(*t).ok_or(*t)).collect()
    };
    Ok(Signature {
        params: convert(ty.params())?,
        results: convert(ty.results())?,
    })
}

/// What function translation needs to know about the rest of the module.
pub(crate) struct ModuleEnv {
    /// Function types by type index (`None`: not a function type).
    types: Vec<Option<wasmparser::FuncType>>,
    /// The IR type id of each type (`table::type_ids`), or why it has none.
    type_ids: Vec<std::result::Result<u32, String>>,
    /// Signature of every function (imports first), all integer-typed.
    function_sigs: Vec<Signature>,
    global_types: Vec<Type>,
}

impl ModuleEnv {
    /// IR signature and type id of type `index` (for `call_indirect`).
    pub(crate) fn indirect_type(&self, index: u32, offset: u32) -> Result<(Signature, u32)> {
        let sig = self.signature_of_type(index, offset)?;
        let id = match self.type_ids.get(index as usize) {
            Some(Ok(id)) => *id,
            Some(Err(why)) => {
                return Err(CompileError::unsupported(
                    format!("type {index}: {why}"),
                    offset as u64,
                ));
            }
            None => {
                return Err(CompileError::internal(format!(
                    "type {index} is not a function type"
                )));
            }
        };
        Ok((sig, id))
    }

    pub(crate) fn signature_of_type(&self, index: u32, offset: u32) -> Result<Signature> {
        let ty = self
            .types
            .get(index as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                CompileError::internal(format!("type {index} is not a function type"))
            })?;
        convert_signature(ty).map_err(|t| {
            CompileError::unsupported(
                format!("type {index} uses `{t}`, which is not supported"),
                offset as u64,
            )
        })
    }

    pub(crate) fn function_signature(&self, index: u32) -> Result<Signature> {
        self.function_sigs
            .get(index as usize)
            .cloned()
            .ok_or_else(|| CompileError::internal(format!("no function {index}")))
    }

    pub(crate) fn global_type(&self, index: u32) -> Result<Type> {
        self.global_types
            .get(index as usize)
            .copied()
            .ok_or_else(|| CompileError::internal(format!("no global {index}")))
    }
}

/// The raw sections of a validated module.
#[derive(Default)]
struct Sections<'a> {
    types: Vec<Option<wasmparser::FuncType>>,
    imports: Vec<(u64, wasmparser::Import<'a>)>,
    /// Type index of every defined function.
    function_types: Vec<u32>,
    memories: Vec<(u64, wasmparser::MemoryType)>,
    tables: Vec<(u64, wasmparser::Table<'a>)>,
    elements: Vec<wasmparser::Element<'a>>,
    /// Offset of the first tag (unsupported).
    tag_offset: Option<u64>,
    globals: Vec<(u64, wasmparser::Global<'a>)>,
    exports: Vec<wasmparser::Export<'a>>,
    start: Option<u32>,
    data: Vec<wasmparser::Data<'a>>,
    bodies: Vec<FunctionBody<'a>>,
    /// Names from the name section, by function index.
    names: BTreeMap<u32, String>,
}

impl Sections<'_> {
    fn imported_function_count(&self) -> usize {
        self.imports
            .iter()
            .filter(|(_, i)| matches!(i.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)))
            .count()
    }
}

/// Validate as WebAssembly 2.0, the language synth compiles. A module that is only valid with
/// later proposals (tail calls, memory64, GC, ...) is reported as unsupported, naming the
/// proposals it needs, not as invalid.
fn parse_and_validate(wasm: &[u8]) -> Result<Sections<'_>> {
    parse_and_validate_with(wasm, WasmFeatures::WASM2).map_err(|e| {
        let validation_error = matches!(e.kind, ErrorKind::Malformed | ErrorKind::Invalid);
        match validation_error.then(|| proposals_needed(wasm)).flatten() {
            Some(names) => CompileError {
                kind: ErrorKind::Unsupported,
                message: format!(
                    "the module uses {names}, beyond WebAssembly 2.0, which synth does not \
                     compile ({})",
                    e.message
                ),
                ..e
            },
            None => e,
        }
    })
}

/// Post-2.0 proposals, named when a module needs them.
const PROPOSALS: [(WasmFeatures, &str); 18] = [
    (WasmFeatures::MULTI_MEMORY, "multi-memory"),
    (WasmFeatures::MEMORY64, "memory64"),
    (WasmFeatures::TAIL_CALL, "tail calls"),
    (WasmFeatures::THREADS, "threads (shared memory, atomics)"),
    (
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        "shared-everything threads",
    ),
    (WasmFeatures::EXCEPTIONS, "exception handling"),
    (WasmFeatures::LEGACY_EXCEPTIONS, "legacy exception handling"),
    (WasmFeatures::GC, "garbage collection (GC)"),
    (
        WasmFeatures::FUNCTION_REFERENCES,
        "typed function references",
    ),
    (WasmFeatures::CUSTOM_PAGE_SIZES, "custom page sizes"),
    (
        WasmFeatures::EXTENDED_CONST,
        "extended constant expressions",
    ),
    (WasmFeatures::RELAXED_SIMD, "relaxed SIMD"),
    (WasmFeatures::WIDE_ARITHMETIC, "wide arithmetic"),
    (WasmFeatures::COMPACT_IMPORTS, "compact imports"),
    (WasmFeatures::STACK_SWITCHING, "stack switching"),
    (WasmFeatures::MEMORY_CONTROL, "memory control"),
    (WasmFeatures::CUSTOM_DESCRIPTORS, "custom descriptors"),
    (
        WasmFeatures::ACQUIRE_RELEASE_ATOMICS,
        "acquire-release atomics",
    ),
];

/// The proposals a module that fails WebAssembly 2.0 validation needs: `None` when it is not
/// valid with every proposal either (then it is simply invalid). A proposal is needed when the
/// module stops validating without it; when no single one is (either of two would do), the
/// proposals it validates with alone are named.
fn proposals_needed(wasm: &[u8]) -> Option<String> {
    let all = PROPOSALS
        .iter()
        .fold(WasmFeatures::all(), |all, (feature, _)| all | *feature);
    let valid = |features: WasmFeatures| {
        Validator::new_with_features(features)
            .validate_all(wasm)
            .is_ok()
    };
    if !valid(all) {
        return None;
    }
    let mut names: Vec<&str> = PROPOSALS
        .iter()
        .filter(|(feature, _)| !valid(all.difference(*feature)))
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        names = PROPOSALS
            .iter()
            .filter(|(feature, _)| valid(WasmFeatures::WASM2 | *feature))
            .map(|(_, name)| *name)
            .collect();
    }
    Some(match names.as_slice() {
        [] => "a WebAssembly proposal".to_string(),
        [one] => format!("the {one} proposal"),
        several => format!("the proposals {}", several.join(", ")),
    })
}

fn parse_and_validate_with(wasm: &[u8], features: WasmFeatures) -> Result<Sections<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut allocations = FuncValidatorAllocations::default();
    let mut s = Sections::default();
    let invalid = |e| reader_error(e, ErrorKind::Invalid);
    let malformed = |e| reader_error(e, ErrorKind::Malformed);
    for payload in parser.parse_all(wasm) {
        let payload = payload.map_err(malformed)?;
        let valid = validator.payload(&payload).map_err(invalid)?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group.map_err(malformed)?.into_types() {
                        s.types.push(match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports_with_offsets() {
                    s.imports.push(import.map_err(malformed)?);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    s.function_types.push(ty.map_err(malformed)?);
                }
                let total = s.imported_function_count() + s.function_types.len();
                if total > MAX_FUNCTIONS {
                    return Err(CompileError::limit(format!(
                        "{total} functions; at most {MAX_FUNCTIONS} are supported"
                    ))
                    .at(reader.range().start));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.clone().into_iter_with_offsets() {
                    s.tables.push(table.map_err(malformed)?);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.clone().into_iter_with_offsets() {
                    s.memories.push(memory.map_err(malformed)?);
                }
            }
            Payload::TagSection(reader) if reader.count() > 0 => {
                s.tag_offset.get_or_insert(reader.range().start);
            }
            Payload::GlobalSection(reader) => {
                for global in reader.clone().into_iter_with_offsets() {
                    s.globals.push(global.map_err(malformed)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    s.exports.push(export.map_err(malformed)?);
                }
            }
            Payload::StartSection { func, .. } => s.start = Some(*func),
            Payload::ElementSection(reader) => {
                for element in reader.clone() {
                    s.elements.push(element.map_err(malformed)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader.clone() {
                    s.data.push(data.map_err(malformed)?);
                }
            }
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    // A broken name section is ignored, as the spec says for custom sections.
                    for name in names.into_iter().map_while(|n| n.ok()) {
                        if let Name::Function(map) = name {
                            for naming in map.into_iter().map_while(|n| n.ok()) {
                                s.names.insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        match valid {
            ValidPayload::Func(to_validate, body) => {
                let defined = s.bodies.len();
                let function_index = s.imported_function_count() + defined;
                let param_count = s
                    .function_types
                    .get(defined)
                    .and_then(|t| s.types.get(*t as usize))
                    .and_then(Option::as_ref)
                    .map_or(0, |f| f.params().len());
                func::check_local_limit(param_count, &body)
                    .map_err(|e| e.in_function(early_name(&s, function_index as u32)))?;
                let mut func_validator = to_validate.into_validator(allocations);
                func_validator.validate(&body).map_err(|e| {
                    let error = invalid(e);
                    let name = early_name(&s, function_index as u32);
                    with_operator(error, &body).in_function(name)
                })?;
                allocations = func_validator.into_allocations();
                s.bodies.push(body);
            }
            ValidPayload::Parser(_) => {
                return Err(CompileError::unsupported(
                    "nested modules and components are not supported",
                    payload_offset(&payload),
                ));
            }
            ValidPayload::Ok | ValidPayload::End(_) => {}
        }
    }
    Ok(s)
}

/// Name the operator at the error's offset in a function body (e.g. `memory.init` with an
/// unknown segment): "... (in `memory.init`)".
fn with_operator(mut error: CompileError, body: &FunctionBody<'_>) -> CompileError {
    let Some(at) = error.offset else {
        return error;
    };
    let Ok(mut reader) = body.get_operators_reader() else {
        return error;
    };
    while !reader.eof() {
        match reader.read_with_offset() {
            Ok((op, offset)) if offset == at => {
                error.message = format!("{} (in `{}`)", error.message, opname::operator_name(&op));
                break;
            }
            Ok((_, offset)) if offset > at => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    error
}

fn payload_offset(payload: &Payload<'_>) -> u64 {
    payload.as_section().map_or(0, |(_, range)| range.start)
}

/// A function's name before the name section (which follows the code) has been read.
fn early_name(s: &Sections<'_>, index: u32) -> String {
    s.exports
        .iter()
        .find(|e| {
            matches!(e.kind, ExternalKind::Func | ExternalKind::FuncExact) && e.index == index
        })
        .map_or_else(|| format!("func[{index}]"), |e| e.name.to_string())
}

fn build_module(s: &Sections<'_>, options: &Options) -> Result<Module> {
    let mut functions = Vec::new();
    let mut imported_globals = Vec::new();
    let mut imported_memory = None;
    let mut imported_tables = Vec::new();
    for (offset, import) in &s.imports {
        let what = format!("{}.{}", import.module, import.name);
        let link = Import {
            module: import.module.to_string(),
            name: import.name.to_string(),
        };
        let type_index = match import.ty {
            TypeRef::Func(t) | TypeRef::FuncExact(t) => t,
            TypeRef::Table(ty) => {
                imported_tables.push(table::imported_table(*offset, &what, &ty, link)?);
                continue;
            }
            TypeRef::Memory(ty) => {
                if imported_memory.is_some() {
                    return Err(CompileError::unsupported(
                        format!("import `{what}` is a second memory; only one memory is supported"),
                        *offset,
                    ));
                }
                imported_memory = Some(memory_of_type(*offset, &ty, options, Some(link))?);
                continue;
            }
            TypeRef::Global(ty) => {
                imported_globals.push(imported_global(*offset, &what, &ty, link)?);
                continue;
            }
            TypeRef::Tag(_) => return Err(unsupported_import(&what, "a tag", *offset)),
        };
        let sig = signature(s, type_index).map_err(|t| {
            CompileError::unsupported(
                format!("imported function `{what}` uses `{t}`, which is not supported"),
                *offset,
            )
        })?;
        functions.push(FunctionDecl {
            sig,
            kind: FunctionKind::Imported(link),
            exports: Vec::new(),
            name: String::new(),
        });
    }
    let imported = functions.len();
    for (defined, type_index) in s.function_types.iter().enumerate() {
        let index = (imported + defined) as u32;
        let offset = s.bodies.get(defined).map_or(0, |b| b.range().start);
        let sig = signature(s, *type_index).map_err(|t| {
            CompileError::unsupported(
                format!("signature uses `{t}`, which is not supported"),
                offset,
            )
            .in_function(early_name(s, index))
        })?;
        functions.push(FunctionDecl {
            sig,
            kind: FunctionKind::Defined(defined as u32),
            exports: Vec::new(),
            name: String::new(),
        });
    }
    if let Some(offset) = s.tag_offset {
        return Err(CompileError::unsupported(
            "exception tags are not supported",
            offset,
        ));
    }
    let memory = match (imported_memory, build_memory(s, options)?) {
        (Some(_), Some(_)) => {
            let offset = s.memories.first().map_or(0, |m| m.0);
            return Err(CompileError::unsupported(
                "a module with an imported memory defines a second one; only one memory is supported",
                offset,
            ));
        }
        (imported, defined) => imported.or(defined),
    };
    let (globals, global_copies) = build_globals(s, imported_globals)?;
    let data = build_data(s, &globals)?;
    let grown = table::grown_tables(s)?;
    let mut tables = table::build_tables(s, &globals, &grown, imported_tables)?;
    tables.global_copies = global_copies;
    let mut module = Module {
        functions,
        bodies: Vec::new(),
        globals,
        memory,
        data,
        start: s.start,
        tables,
        namespace: options.module_name.clone(),
    };
    apply_exports(s, &mut module)?;
    for (index, decl) in module.functions.iter_mut().enumerate() {
        decl.name = match (decl.exports.first(), s.names.get(&(index as u32))) {
            (Some(export), _) => export.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => format!("func[{index}]"),
        };
    }
    let type_ids = table::type_ids(&s.types, &mut module.tables.long_type_ids);
    let env = ModuleEnv {
        types: s.types.clone(),
        type_ids: type_ids.clone(),
        function_sigs: module.functions.iter().map(|f| f.sig.clone()).collect(),
        global_types: module.globals.iter().map(|g| g.ty).collect(),
    };
    for (defined, body) in s.bodies.iter().enumerate() {
        let index = imported + defined;
        let decl = module
            .functions
            .get(index)
            .ok_or_else(|| CompileError::internal(format!("no declaration for body {defined}")))?;
        let name = decl.name.clone();
        let function = func::translate_function(&env, index as u32, name.clone(), &decl.sig, body)
            .map_err(|e| e.in_function(name))?;
        module.bodies.push(function);
    }
    drop_unread_passive_data(&mut module);
    let exported_table = s.exports.iter().any(|e| e.kind == ExternalKind::Table);
    let type_id_of = |f: u32| -> Result<u32> {
        let type_index = function_type_index(s, f)
            .ok_or_else(|| CompileError::internal(format!("no type for function {f}")))?;
        match type_ids.get(type_index as usize) {
            Some(Ok(id)) => Ok(*id),
            Some(Err(why)) => Err(CompileError::new(
                ErrorKind::Unsupported,
                format!("function {f} is referenced (element segment or ref.func), but {why}"),
            )),
            None => Err(CompileError::internal(format!(
                "type {type_index} is not a function"
            ))),
        }
    };
    table::finish_tables(
        &mut module.tables,
        &module.bodies,
        exported_table,
        &type_id_of,
    )?;
    Ok(module)
}

/// A passive data segment no `memory.init` names can never be read: it keeps no bytes (and so
/// costs nothing in the object).
fn drop_unread_passive_data(module: &mut Module) {
    let mut read = vec![false; module.data.len()];
    for inst in module
        .bodies
        .iter()
        .flat_map(|b| &b.blocks)
        .flat_map(|b| &b.insts)
    {
        if let Op::Bulk(BulkOp::Init(n)) = inst.op
            && let Some(r) = read.get_mut(n as usize)
        {
            *r = true;
        }
    }
    for (segment, read) in module.data.iter_mut().zip(read) {
        if segment.offset.is_none() && !read {
            segment.bytes = Vec::new();
        }
    }
}

/// The type index of function `f` (imports first).
fn function_type_index(s: &Sections<'_>, f: u32) -> Option<u32> {
    let mut imported = 0u32;
    for (_, import) in &s.imports {
        if let TypeRef::Func(t) | TypeRef::FuncExact(t) = import.ty {
            if imported == f {
                return Some(t);
            }
            imported += 1;
        }
    }
    s.function_types.get((f - imported) as usize).copied()
}

fn signature(s: &Sections<'_>, type_index: u32) -> std::result::Result<Signature, ValType> {
    match s.types.get(type_index as usize).and_then(Option::as_ref) {
        Some(ty) => convert_signature(ty),
        // The validator guarantees a function type; an empty signature is never reached.
        None => Ok(Signature::default()),
    }
}

fn unsupported_import(what: &str, kind: &str, offset: u64) -> CompileError {
    CompileError::unsupported(
        format!("import `{what}` is {kind}; only function imports are supported"),
        offset,
    )
}

fn build_memory(s: &Sections<'_>, options: &Options) -> Result<Option<Memory>> {
    let Some((offset, ty)) = s.memories.first() else {
        return Ok(None);
    };
    if let Some((second, _)) = s.memories.get(1) {
        return Err(CompileError::unsupported(
            "more than one memory is not supported",
            *second,
        ));
    }
    memory_of_type(*offset, ty, options, None).map(Some)
}

/// A defined (`import` None) or imported memory. An imported memory's maximum is the import's
/// (capped like a defined one): the exporter's buffer must hold that many pages.
fn memory_of_type(
    offset: u64,
    ty: &wasmparser::MemoryType,
    options: &Options,
    import: Option<Import>,
) -> Result<Memory> {
    let offset = &offset;
    if ty.memory64 {
        return Err(CompileError::unsupported(
            "64-bit memory is not supported",
            *offset,
        ));
    }
    if ty.shared {
        return Err(CompileError::unsupported(
            "shared memory is not supported",
            *offset,
        ));
    }
    if ty.page_size_log2.is_some_and(|p| p != 16) {
        return Err(CompileError::unsupported(
            "custom page sizes are not supported",
            *offset,
        ));
    }
    let initial = u32::try_from(ty.initial)
        .map_err(|_| CompileError::unsupported("initial memory size exceeds 4 GiB", *offset))?;
    let max = options.memory_max_pages(u64::from(initial), ty.maximum);
    Ok(Memory {
        initial_pages: initial,
        max_pages: u32::try_from(max).unwrap_or(u32::MAX),
        exports: Vec::new(),
        import,
    })
}

/// Evaluate a constant expression: `i32.const`, `i64.const` or `global.get` of an earlier global.
fn const_expr(expr: &wasmparser::ConstExpr<'_>, globals: &[Global], what: &str) -> Result<i64> {
    let mut reader = expr.get_operators_reader();
    let mut value = None;
    loop {
        let (op, offset) = reader
            .read_with_offset()
            .map_err(|e| reader_error(e, ErrorKind::Malformed))?;
        match op {
            Operator::End => break,
            Operator::I32Const { value: v } if value.is_none() => value = Some(v as i64),
            Operator::I64Const { value: v } if value.is_none() => value = Some(v),
            Operator::F32Const { value: v } if value.is_none() => value = Some(v.bits() as i64),
            Operator::F64Const { value: v } if value.is_none() => value = Some(v.bits() as i64),
            // A null reference is 0; a `ref.func` global gets its address in `synth_init`.
            Operator::RefNull { .. } | Operator::RefFunc { .. } if value.is_none() => {
                value = Some(0)
            }
            Operator::GlobalGet { global_index } if value.is_none() => {
                let global = globals
                    .get(global_index as usize)
                    .filter(|g| g.import.is_none())
                    .ok_or_else(|| {
                        CompileError::unsupported(
                            format!(
                                "{what}: `global.get {global_index}` of an imported global in a \
                                 constant expression is not supported"
                            ),
                            offset,
                        )
                    })?;
                value = Some(global.init);
            }
            other => {
                return Err(CompileError::unsupported(
                    format!(
                        "{what}: constant expression with `{}` is not supported",
                        opname::operator_name(&other)
                    ),
                    offset,
                ));
            }
        }
    }
    value.ok_or_else(|| CompileError::internal(format!("{what}: empty constant expression")))
}

/// An imported global: its storage is the import's undefined symbol.
fn imported_global(
    offset: u64,
    what: &str,
    ty: &wasmparser::GlobalType,
    import: Import,
) -> Result<Global> {
    let value_type = convert_type(ty.content_type).ok_or_else(|| {
        CompileError::unsupported(
            format!(
                "import `{what}` is a global of type `{}`, which is not supported",
                ty.content_type
            ),
            offset,
        )
    })?;
    if ty.shared {
        return Err(CompileError::unsupported(
            format!("import `{what}` is a shared global, which is not supported"),
            offset,
        ));
    }
    Ok(Global {
        ty: value_type,
        mutable: ty.mutable,
        init: 0,
        exports: Vec::new(),
        import: Some(import),
    })
}

/// (defined global, imported global it starts as).
type GlobalCopies = Vec<(u32, u32)>;

/// The imported globals, then the defined ones (the wasm global index space), and the defined
/// globals initialized by `global.get` of an imported one: (global, imported global), copied by
/// `synth_init` (the imported value is only known when the program runs).
fn build_globals(s: &Sections<'_>, imported: Vec<Global>) -> Result<(Vec<Global>, GlobalCopies)> {
    let mut copies = Vec::new();
    let first_defined = imported.len();
    let mut globals: Vec<Global> = imported;
    for (defined, (offset, global)) in s.globals.iter().enumerate() {
        let index = first_defined + defined;
        let what = format!("global {index}");
        let ty = convert_type(global.ty.content_type).ok_or_else(|| {
            CompileError::unsupported(
                format!(
                    "{what} has type `{}`, which is not supported",
                    global.ty.content_type
                ),
                *offset,
            )
        })?;
        if global.ty.shared {
            return Err(CompileError::unsupported(
                format!("{what} is shared, which is not supported"),
                *offset,
            ));
        }
        let init = match imported_global_get(&global.init_expr, &globals) {
            Some(source) => {
                copies.push((index as u32, source));
                0
            }
            None => const_expr(&global.init_expr, &globals, &what)?,
        };
        globals.push(Global {
            ty,
            mutable: global.ty.mutable,
            init,
            exports: Vec::new(),
            import: None,
        });
    }
    Ok((globals, copies))
}

/// `Some(N)` when `expr` is exactly `global.get N` of an imported global.
fn imported_global_get(expr: &wasmparser::ConstExpr<'_>, globals: &[Global]) -> Option<u32> {
    let mut reader = expr.get_operators_reader();
    let Ok(Operator::GlobalGet { global_index }) = reader.read() else {
        return None;
    };
    let Ok(Operator::End) = reader.read() else {
        return None;
    };
    globals
        .get(global_index as usize)
        .is_some_and(|g| g.import.is_some())
        .then_some(global_index)
}

/// Offsets may read (defined, immutable) globals: they see the globals' initial values.
fn build_data(s: &Sections<'_>, globals: &[Global]) -> Result<Vec<DataSegment>> {
    let mut segments = Vec::with_capacity(s.data.len());
    for (index, data) in s.data.iter().enumerate() {
        let what = format!("data segment {index}");
        match &data.kind {
            DataKind::Passive => segments.push(DataSegment {
                offset: None,
                offset_global: None,
                bytes: data.data.to_vec(),
            }),
            DataKind::Active {
                memory_index,
                offset_expr,
            } => {
                if *memory_index != 0 {
                    return Err(CompileError::unsupported(
                        format!("{what} targets memory {memory_index}"),
                        data.range.start,
                    ));
                }
                let offset_global = imported_global_get(offset_expr, globals);
                let offset = match offset_global {
                    Some(_) => 0,
                    None => const_expr(offset_expr, globals, &what)?,
                };
                segments.push(DataSegment {
                    // An i32 offset: its 32 bits are the unsigned address.
                    offset: Some(offset as u32),
                    offset_global,
                    bytes: data.data.to_vec(),
                });
            }
        }
    }
    Ok(segments)
}

/// An export of an import (a re-export) is recorded like any other; the object defines no
/// symbol for it: the program links it as an alias of the import's symbol
/// (`Module::reexport_aliases`).
fn apply_exports(s: &Sections<'_>, module: &mut Module) -> Result<()> {
    for export in &s.exports {
        let name = export.name.to_string();
        let missing = || CompileError::internal(format!("export `{name}` refers to nothing"));
        match export.kind {
            ExternalKind::Func | ExternalKind::FuncExact => module
                .functions
                .get_mut(export.index as usize)
                .ok_or_else(missing)?
                .exports
                .push(name.clone()),
            ExternalKind::Global => {
                let global = module
                    .globals
                    .get_mut(export.index as usize)
                    .ok_or_else(missing)?;
                global.exports.push(name.clone())
            }
            ExternalKind::Memory => {
                let memory = module.memory.as_mut().ok_or_else(missing)?;
                memory.exports.push(name.clone())
            }
            ExternalKind::Table => {
                let table = module
                    .tables
                    .tables
                    .get_mut(export.index as usize)
                    .ok_or_else(missing)?;
                table.exports.push(name.clone())
            }
            ExternalKind::Tag => {
                return Err(CompileError::unsupported(
                    format!("export `{name}` is a tag, which is not supported"),
                    0,
                ));
            }
        }
    }
    Ok(())
}

//! The reference: wasmtime runs the same wasm with the mock imports, a memory cap equal to
//! synth's, and fuel so a runaway vector fails instead of hanging.
//!
//! To read unexported memory and globals afterwards, the module is rewritten to export them
//! under reserved names before wasmtime sees it.

use wasmtime::{
    Config, Engine, Extern, FuncType, Instance, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, Trap, Val,
};

use crate::wasm_info::{ModuleInfo, ValType, Value};
use crate::{HarnessError, Outcome, mock_import_results, trap_code};

/// Fuel per instance (about one unit per wasm instruction).
pub const FUEL: u64 = 50_000_000;

const MEMORY_EXPORT: &str = "__synth_oracle_memory";
const GLOBAL_EXPORT_PREFIX: &str = "__synth_oracle_global_";

pub struct Oracle {
    engine: Engine,
    module: Module,
    linker: Linker<StoreLimits>,
    /// Modules instantiated first, in each store, whose exports the module imports by name
    /// (rewritten like the module, so their memory and globals are observed too).
    providers: Vec<(String, Module, ModuleInfo)>,
    pub info: ModuleInfo,
    memory_limit_bytes: usize,
}

pub struct OracleInstance<'o> {
    oracle: &'o Oracle,
    store: Store<StoreLimits>,
    instance: Instance,
    /// The providers' instances, in `Oracle::providers` order.
    providers: Vec<Instance>,
}

fn wasm_type(ty: ValType) -> wasmtime::ValType {
    match ty {
        ValType::I32 => wasmtime::ValType::I32,
        ValType::I64 => wasmtime::ValType::I64,
        ValType::F32 => wasmtime::ValType::F32,
        ValType::F64 => wasmtime::ValType::F64,
        ValType::FuncRef => wasmtime::ValType::FUNCREF,
        ValType::ExternRef => wasmtime::ValType::EXTERNREF,
    }
}

/// Only null references travel into wasmtime here (a non-null funcref has no host form, and
/// the vectors pass no non-null externref).
fn to_val(value: Value) -> Val {
    match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(bits) => Val::F32(bits),
        Value::F64(bits) => Val::F64(bits),
        Value::FuncRef(_) => Val::FuncRef(None),
        Value::ExternRef(_) => Val::ExternRef(None),
    }
}

fn from_val(val: &Val) -> Result<Value, HarnessError> {
    match val {
        Val::I32(v) => Ok(Value::I32(*v)),
        Val::I64(v) => Ok(Value::I64(*v)),
        Val::F32(bits) => Ok(Value::F32(*bits)),
        Val::F64(bits) => Ok(Value::F64(*bits)),
        // Only null-ness of a funcref is comparable across engines.
        Val::FuncRef(f) => Ok(Value::FuncRef(u32::from(f.is_some()))),
        Val::ExternRef(None) => Ok(Value::ExternRef(0)),
        other => Err(HarnessError::new(format!("unsupported value {other:?}"))),
    }
}

/// Map a wasmtime error to a docs/ABI.md trap code; errors that are not wasm traps (and traps
/// synth has no code for) are harness errors.
fn trap_of(error: &wasmtime::Error) -> Result<u32, HarnessError> {
    match error.downcast_ref::<Trap>() {
        Some(Trap::UnreachableCodeReached) => Ok(trap_code::UNREACHABLE),
        Some(Trap::MemoryOutOfBounds) => Ok(trap_code::MEMORY_OUT_OF_BOUNDS),
        Some(Trap::IntegerDivisionByZero) => Ok(trap_code::DIVIDE_BY_ZERO),
        Some(Trap::IntegerOverflow) => Ok(trap_code::INTEGER_OVERFLOW),
        Some(Trap::BadConversionToInteger) => Ok(trap_code::INVALID_CONVERSION),
        Some(Trap::StackOverflow) => Ok(trap_code::STACK_EXHAUSTED),
        Some(Trap::TableOutOfBounds) => Ok(trap_code::TABLE_OUT_OF_BOUNDS),
        Some(Trap::IndirectCallToNull) => Ok(trap_code::UNINITIALIZED_ELEMENT),
        Some(Trap::BadSignature) => Ok(trap_code::INDIRECT_CALL_TYPE_MISMATCH),
        Some(Trap::OutOfFuel) => Err(HarnessError::new(format!(
            "wasmtime ran out of fuel ({FUEL}): a runaway vector"
        ))),
        _ => Err(HarnessError::new(format!("wasmtime failed: {error:?}"))),
    }
}

impl Oracle {
    /// Compile `input` (wasm or WAT). Memory may grow as far as synth lets it with
    /// `max_memory_pages` (its `--max-memory-pages`, `Options::memory_max_pages`).
    pub fn new(input: &[u8], max_memory_pages: Option<u32>) -> Result<Oracle, HarnessError> {
        Self::linked(input, max_memory_pages, &[])
    }

    /// Like `new`, for a module that imports from `providers` (`(module name, wasm or WAT)`):
    /// every instance instantiates them first, in order, and links their exports to the
    /// module's imports of that module name; the other function imports are mocked.
    pub fn linked(
        input: &[u8],
        max_memory_pages: Option<u32>,
        providers: &[(String, Vec<u8>)],
    ) -> Result<Oracle, HarnessError> {
        let wasm = wat::parse_bytes(input)
            .map_err(|e| HarnessError::new(format!("cannot parse module text: {e}")))?;
        let info = crate::providers::importer_info(&wasm, providers)?;
        let rewritten = export_internals(&wasm, &info)?;
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine =
            Engine::new(&config).map_err(|e| HarnessError::new(format!("wasmtime engine: {e}")))?;
        let module = Module::new(&engine, &rewritten)
            .map_err(|e| HarnessError::new(format!("wasmtime rejects the module: {e:?}")))?;
        let mut linker = Linker::new(&engine);
        let provided = |module: &str| providers.iter().any(|(name, _)| name == module);
        for import in info.imports.iter().filter(|i| !provided(&i.module)) {
            let ty = FuncType::new(
                &engine,
                import.sig.params.iter().map(|t| wasm_type(*t)),
                import.sig.results.iter().map(|t| wasm_type(*t)),
            );
            let result_types = import.sig.results.clone();
            linker
                .func_new(
                    &import.module,
                    &import.name,
                    ty,
                    move |_, params, results| {
                        let args = params
                            .iter()
                            .map(from_val)
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|e| wasmtime::Error::msg(e.message))?;
                        for (slot, value) in results
                            .iter_mut()
                            .zip(mock_import_results(&args, &result_types))
                        {
                            *slot = to_val(value);
                        }
                        Ok(())
                    },
                )
                .map_err(|e| HarnessError::new(format!("cannot define an import: {e}")))?;
        }
        let options = synth_compiler::Options {
            max_memory_pages,
            ..Default::default()
        };
        let own_pages =
            options.memory_max_pages(info.memory_initial_pages, info.memory_declared_max);
        let providers = providers
            .iter()
            .map(|(name, input)| {
                let wasm = wat::parse_bytes(input).map_err(|e| {
                    HarnessError::new(format!("cannot parse provider `{name}`: {e}"))
                })?;
                let info = ModuleInfo::parse_linked(&wasm)?;
                let rewritten = export_internals(&wasm, &info)?;
                let module = Module::new(&engine, &rewritten).map_err(|e| {
                    HarnessError::new(format!("wasmtime rejects provider `{name}`: {e:?}"))
                })?;
                Ok((name.clone(), module, info))
            })
            .collect::<Result<Vec<_>, HarnessError>>()?;
        // One limit for every memory of the store: the largest any of the modules has.
        let pages = providers
            .iter()
            .map(|(_, _, p)| {
                options.memory_max_pages(p.memory_initial_pages, p.memory_declared_max)
            })
            .fold(own_pages, u64::max);
        Ok(Oracle {
            engine,
            module,
            linker,
            providers,
            info,
            memory_limit_bytes: (pages * 65536) as usize,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A fresh instance, or the trap code instantiation failed with (a data segment that does
    /// not fit is code 6, as synth's `synth_init` reports it).
    pub fn instantiate(&self) -> Result<Result<OracleInstance<'_>, u32>, HarnessError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.memory_limit_bytes)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|limits| limits);
        store
            .set_fuel(FUEL)
            .map_err(|e| HarnessError::new(format!("cannot set fuel: {e}")))?;
        let mut linker = self.linker.clone();
        let mut providers = Vec::new();
        for (name, provider, info) in &self.providers {
            let instance = match linker.instantiate(&mut store, provider) {
                Ok(instance) => instance,
                Err(error) => return Ok(Err(instantiation_trap(&error, info)?)),
            };
            providers.push(instance);
            linker
                .instance(&mut store, name, instance)
                .map_err(|e| HarnessError::new(format!("cannot link provider `{name}`: {e}")))?;
        }
        match linker.instantiate(&mut store, &self.module) {
            Ok(instance) => Ok(Ok(OracleInstance {
                oracle: self,
                store,
                instance,
                providers,
            })),
            Err(error) => Ok(Err(instantiation_trap(&error, &self.info)?)),
        }
    }
}

/// The trap code of a failed instantiation of a module described by `info`. A segment that
/// does not fit is a memory or table access out of bounds to wasmtime, with no wasm backtrace (a
/// trap in the start function has one, with its frames): synth's `synth_init` reports it as code
/// 6 (data) or 12 (elements).
fn instantiation_trap(error: &wasmtime::Error, info: &ModuleInfo) -> Result<u32, HarnessError> {
    let code = trap_of(error)?;
    let in_segment = info.data_segment_out_of_bounds && code == trap_code::MEMORY_OUT_OF_BOUNDS
        || error
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .is_none_or(|backtrace| backtrace.frames().is_empty());
    Ok(match code {
        trap_code::MEMORY_OUT_OF_BOUNDS if in_segment => trap_code::DATA_SEGMENT_DOES_NOT_FIT,
        trap_code::TABLE_OUT_OF_BOUNDS if in_segment => trap_code::ELEM_SEGMENT_DOES_NOT_FIT,
        code => code,
    })
}

impl<'o> OracleInstance<'o> {
    pub fn invoke(&mut self, export: &str, args: &[Value]) -> Result<Outcome, HarnessError> {
        self.invoke_in(None, export, args)
    }

    /// Call `export` of the module (`module` is `None`) or of the provider `module`.
    pub fn invoke_in(
        &mut self,
        module: Option<&str>,
        export: &str,
        args: &[Value],
    ) -> Result<Outcome, HarnessError> {
        let oracle: &'o Oracle = self.oracle;
        let (instance, info) = match module {
            None => (self.instance, &oracle.info),
            Some(module) => oracle
                .providers
                .iter()
                .position(|(name, _, _)| name == module)
                .map(|at| (self.providers[at], &oracle.providers[at].2))
                .ok_or_else(|| HarnessError::new(format!("no linked module `{module}`")))?,
        };
        let sig = &info.export(export)?.sig;
        let func = instance
            .get_func(&mut self.store, export)
            .ok_or_else(|| HarnessError::new(format!("wasmtime has no export `{export}`")))?;
        let params: Vec<Val> = args.iter().map(|v| to_val(*v)).collect();
        let mut results = vec![Val::I32(0); sig.results.len()];
        match func.call(&mut self.store, &params, &mut results) {
            Ok(()) => Ok(Outcome::Returned(
                results.iter().map(from_val).collect::<Result<_, _>>()?,
            )),
            Err(error) => Ok(Outcome::Trapped(trap_of(&error)?)),
        }
    }

    /// The module and each provider, with its description.
    fn parts(&self) -> Vec<(Instance, &'o ModuleInfo)> {
        let oracle: &'o Oracle = self.oracle;
        std::iter::once((self.instance, &oracle.info))
            .chain(
                self.providers
                    .iter()
                    .zip(&oracle.providers)
                    .map(|(instance, (_, _, info))| (*instance, info)),
            )
            .collect()
    }

    /// The linear memory's current bytes (empty without a defined memory), followed by each
    /// provider's defined memory.
    pub fn memory(&mut self) -> Result<Vec<u8>, HarnessError> {
        let mut bytes = Vec::new();
        for (instance, info) in self.parts() {
            if !info.has_memory {
                continue;
            }
            match instance.get_export(&mut self.store, MEMORY_EXPORT) {
                Some(Extern::Memory(memory)) => bytes.extend_from_slice(memory.data(&self.store)),
                _ => {
                    return Err(HarnessError::new(
                        "the rewritten module lost its memory export",
                    ));
                }
            }
        }
        Ok(bytes)
    }

    /// The defined globals' current values, by global index (then each provider's).
    pub fn globals(&mut self) -> Result<Vec<Value>, HarnessError> {
        let mut values = Vec::new();
        for (instance, info) in self.parts() {
            for global in &info.globals {
                let name = format!("{GLOBAL_EXPORT_PREFIX}{}", global.index);
                match instance.get_export(&mut self.store, &name) {
                    Some(Extern::Global(global)) => {
                        values.push(from_val(&global.get(&mut self.store))?)
                    }
                    _ => return Err(HarnessError::new(format!("missing export `{name}`"))),
                }
            }
        }
        Ok(values)
    }
}

fn read_leb_u32(bytes: &[u8], position: &mut usize) -> Result<u32, HarnessError> {
    let mut result = 0u64;
    for shift in (0..35).step_by(7) {
        let byte = *bytes
            .get(*position)
            .ok_or_else(|| HarnessError::new("truncated LEB128 in the wasm binary"))?;
        *position += 1;
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(result)
                .map_err(|_| HarnessError::new("oversized LEB128 in the wasm binary"));
        }
    }
    Err(HarnessError::new("overlong LEB128 in the wasm binary"))
}

fn write_leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Position of a section id in the required section order (custom sections: none).
fn section_rank(id: u8) -> Option<u8> {
    // type, import, function, table, memory, tag, global, export, start, element, datacount,
    // code, data
    const ORDER: [u8; 13] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
    ORDER.iter().position(|&s| s == id).map(|p| p as u8)
}

/// Add exports of memory 0 and every defined global under reserved names.
fn export_internals(wasm: &[u8], info: &ModuleInfo) -> Result<Vec<u8>, HarnessError> {
    const EXPORT_SECTION: u8 = 7;
    let mut extra = Vec::new();
    let mut extra_count = 0u32;
    let mut add = |name: &str, kind: u8, index: u32| {
        write_leb_u32(&mut extra, name.len() as u32);
        extra.extend_from_slice(name.as_bytes());
        extra.push(kind);
        write_leb_u32(&mut extra, index);
        extra_count += 1;
    };
    if info.has_memory {
        add(MEMORY_EXPORT, 2, 0);
    }
    for global in &info.globals {
        add(
            &format!("{GLOBAL_EXPORT_PREFIX}{}", global.index),
            3,
            global.index,
        );
    }
    if extra_count == 0 {
        return Ok(wasm.to_vec());
    }
    let header = wasm
        .get(..8)
        .ok_or_else(|| HarnessError::new("truncated wasm header"))?;
    let mut out = header.to_vec();
    let mut position = 8;
    let mut export_written = false;
    let export_rank = section_rank(EXPORT_SECTION);
    let write_section = |out: &mut Vec<u8>, id: u8, payload: &[u8]| {
        out.push(id);
        write_leb_u32(out, payload.len() as u32);
        out.extend_from_slice(payload);
    };
    while position < wasm.len() {
        let id = wasm[position];
        position += 1;
        let size = read_leb_u32(wasm, &mut position)? as usize;
        let payload = wasm
            .get(position..position + size)
            .ok_or_else(|| HarnessError::new("truncated wasm section"))?;
        position += size;
        if !export_written && section_rank(id) > export_rank {
            let mut fresh = Vec::new();
            write_leb_u32(&mut fresh, extra_count);
            fresh.extend_from_slice(&extra);
            write_section(&mut out, EXPORT_SECTION, &fresh);
            export_written = true;
        }
        if id == EXPORT_SECTION {
            let mut inner = 0;
            let count = read_leb_u32(payload, &mut inner)?;
            let mut merged = Vec::new();
            write_leb_u32(&mut merged, count + extra_count);
            merged.extend_from_slice(&payload[inner..]);
            merged.extend_from_slice(&extra);
            write_section(&mut out, EXPORT_SECTION, &merged);
            export_written = true;
        } else {
            write_section(&mut out, id, payload);
        }
    }
    if !export_written {
        let mut fresh = Vec::new();
        write_leb_u32(&mut fresh, extra_count);
        fresh.extend_from_slice(&extra);
        write_section(&mut out, EXPORT_SECTION, &fresh);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &[u8] = br#"(module
        (import "env" "add" (func $add (param i32 i64) (result i64 i32)))
        (memory 1 4)
        (global $counter (mut i32) (i32.const 0))
        (global $wide (mut i64) (i64.const -2))
        (func (export "call_add") (param i32 i64) (result i64 i32)
            (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
            (call $add (local.get 0) (local.get 1)))
        (func (export "store") (param i32 i32)
            (i32.store (local.get 0) (local.get 1)))
        (func (export "div") (param i32 i32) (result i32)
            (i32.div_s (local.get 0) (local.get 1)))
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "spin") (loop $l (br $l)))
        (func (export "boom") (unreachable)))"#;

    #[test]
    fn calls_imports_traps_memory_and_globals() {
        let oracle = Oracle::new(MODULE, Some(2)).unwrap();
        let mut instance = oracle.instantiate().unwrap().unwrap();
        assert_eq!(
            instance
                .invoke("call_add", &[Value::I32(-1), Value::I64(10)])
                .unwrap(),
            Outcome::Returned(vec![Value::I64(9 + 0x1234), Value::I32(9 + 0x2468)])
        );
        assert_eq!(
            instance
                .invoke("store", &[Value::I32(8), Value::I32(0x0403_0201)])
                .unwrap(),
            Outcome::Returned(vec![])
        );
        let memory = instance.memory().unwrap();
        assert_eq!(memory.len(), 65536);
        assert_eq!(&memory[8..12], &[1, 2, 3, 4]);
        assert_eq!(
            instance.globals().unwrap(),
            vec![Value::I32(1), Value::I64(-2)]
        );
        assert_eq!(
            instance
                .invoke("store", &[Value::I32(65533), Value::I32(0)])
                .unwrap(),
            Outcome::Trapped(trap_code::MEMORY_OUT_OF_BOUNDS)
        );
        assert_eq!(
            instance
                .invoke("div", &[Value::I32(i32::MIN), Value::I32(-1)])
                .unwrap(),
            Outcome::Trapped(trap_code::INTEGER_OVERFLOW)
        );
        assert_eq!(
            instance
                .invoke("div", &[Value::I32(1), Value::I32(0)])
                .unwrap(),
            Outcome::Trapped(trap_code::DIVIDE_BY_ZERO)
        );
        assert_eq!(
            instance.invoke("boom", &[]).unwrap(),
            Outcome::Trapped(trap_code::UNREACHABLE)
        );
        // The cap is 2 pages although the module allows 4.
        assert_eq!(
            instance.invoke("grow", &[Value::I32(1)]).unwrap(),
            Outcome::Returned(vec![Value::I32(1)])
        );
        assert_eq!(
            instance.invoke("grow", &[Value::I32(1)]).unwrap(),
            Outcome::Returned(vec![Value::I32(-1)])
        );
        let err = instance.invoke("spin", &[]).unwrap_err();
        assert!(err.message.contains("fuel"), "{err}");
        // A fresh instance starts from the initial state again.
        let mut fresh = oracle.instantiate().unwrap().unwrap();
        assert_eq!(fresh.globals().unwrap()[0], Value::I32(0));
    }

    #[test]
    fn floats_pass_by_bits_through_exports_imports_and_globals() {
        let oracle = Oracle::new(
            br#"(module
                (import "env" "mix" (func $mix (param f32 f64 i32) (result f64 f32 i32)))
                (global $g (mut f64) (f64.const 0))
                (global $h f32 (f32.const nan:0x200000))
                (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
                (func (export "same") (param f64) (result f64) (local.get 0))
                (func (export "add") (param f32 f32) (result f32)
                    (f32.add (local.get 0) (local.get 1)))
                (func (export "call") (param f32 f64 i32) (result f64 f32 i32)
                    (global.set $g (local.get 1))
                    (call $mix (local.get 0) (local.get 1) (local.get 2))))"#,
            Some(2),
        )
        .unwrap();
        let mut instance = oracle.instantiate().unwrap().unwrap();
        // A signalling NaN goes through a bit-preserving op untouched.
        assert_eq!(
            instance.invoke("neg", &[Value::F32(0x7fa0_0001)]).unwrap(),
            Outcome::Returned(vec![Value::F32(0xffa0_0001)])
        );
        assert_eq!(
            instance
                .invoke("same", &[Value::F64(0x7ff4_0000_0000_0001)])
                .unwrap(),
            Outcome::Returned(vec![Value::F64(0x7ff4_0000_0000_0001)])
        );
        assert_eq!(
            instance
                .invoke("add", &[Value::from_f32(1.5), Value::from_f32(2.25)])
                .unwrap(),
            Outcome::Returned(vec![Value::from_f32(3.75)])
        );
        let args = [Value::from_f32(-2.0), Value::from_f64(0.5), Value::I32(7)];
        assert_eq!(
            instance.invoke("call", &args).unwrap(),
            Outcome::Returned(mock_import_results(
                &args,
                &[ValType::F64, ValType::F32, ValType::I32]
            ))
        );
        assert_eq!(
            instance.globals().unwrap(),
            vec![Value::from_f64(0.5), Value::F32(0x7fa0_0000)]
        );
    }

    #[test]
    fn instantiation_failures_are_trap_codes() {
        let oracle = Oracle::new(
            br#"(module (memory 1) (data (i32.const 65535) "ab"))"#,
            None,
        )
        .unwrap();
        assert_eq!(
            oracle.instantiate().unwrap().err(),
            Some(trap_code::DATA_SEGMENT_DOES_NOT_FIT)
        );
        let oracle = Oracle::new(br#"(module (func $s unreachable) (start $s))"#, None).unwrap();
        assert_eq!(
            oracle.instantiate().unwrap().err(),
            Some(trap_code::UNREACHABLE)
        );
        // Segments whose offsets are imported globals: only known when instantiating.
        let provider = br#"(module (global (export "at") i32 (i32.const 65535))
            (memory (export "memory") 1) (table (export "table") 2 funcref))"#;
        let providers = [("p".to_string(), provider.to_vec())];
        let data = br#"(module (import "p" "at" (global i32)) (import "p" "memory" (memory 1))
            (data (global.get 0) "ab"))"#;
        let oracle = Oracle::linked(data, Some(16), &providers).unwrap();
        assert_eq!(
            oracle.instantiate().unwrap().err(),
            Some(trap_code::DATA_SEGMENT_DOES_NOT_FIT)
        );
        let elements = br#"(module (import "p" "at" (global i32))
            (import "p" "table" (table 2 funcref)) (func $f) (elem (global.get 0) func $f))"#;
        let oracle = Oracle::linked(elements, Some(16), &providers).unwrap();
        assert_eq!(
            oracle.instantiate().unwrap().err(),
            Some(trap_code::ELEM_SEGMENT_DOES_NOT_FIT)
        );
        // The same accesses in a start function are plain out-of-bounds traps.
        let start = br#"(module (import "p" "at" (global i32)) (import "p" "memory" (memory 1))
            (import "p" "table" (table 2 funcref))
            (func $s (drop (i32.load (global.get 0))) (drop (table.get 0 (global.get 0))))
            (start $s))"#;
        let oracle = Oracle::linked(start, Some(16), &providers).unwrap();
        assert_eq!(
            oracle.instantiate().unwrap().err(),
            Some(trap_code::MEMORY_OUT_OF_BOUNDS)
        );
        let start = br#"(module (import "p" "at" (global i32))
            (import "p" "table" (table 2 funcref))
            (func $s (drop (table.get 0 (global.get 0)))) (start $s))"#;
        let oracle = Oracle::linked(start, Some(16), &providers).unwrap();
        assert_eq!(
            oracle.instantiate().unwrap().err(),
            Some(trap_code::TABLE_OUT_OF_BOUNDS)
        );
    }

    #[test]
    fn export_section_is_created_when_missing() {
        let wasm =
            wat::parse_str("(module (memory 1) (global (mut i32) (i32.const 3)) (func))").unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        let rewritten = export_internals(&wasm, &info).unwrap();
        let rewritten_info = ModuleInfo::parse(&rewritten).unwrap();
        assert!(rewritten_info.exports.is_empty());
        wasmparser::Validator::new()
            .validate_all(&rewritten)
            .unwrap();
        let oracle = Oracle::new(&wasm, None).unwrap();
        let mut instance = oracle.instantiate().unwrap().unwrap();
        assert_eq!(instance.globals().unwrap(), vec![Value::I32(3)]);
    }
}

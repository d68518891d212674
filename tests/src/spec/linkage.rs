//! The host side of instantiation: what a module imports and exports, and what satisfies each
//! import. The spectest host module's `print*` functions are the emulator's import stubs (they
//! return nothing); its globals, table and memory are a synth-compiled module (`SPECTEST_WAT`);
//! a registered instance provides its exports. Import matching follows the spec (exact function
//! and global types, memory and table limits against the current size). The emulator and the IR
//! interpreter resolve imports the same way (`ModuleFacts::resolve`).

use wasmparser::{
    CompositeInnerType, ExternalKind, Operator, Parser, Payload, RefType, TypeRef, ValType,
};

/// What the runner needs to know about a module's imports and exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleFacts {
    pub imports: Vec<Import>,
    /// Every export with the type of what it exports, in export-section order.
    pub exports: Vec<(String, ExternType)>,
    /// Exported globals: (export name, global index).
    pub global_exports: Vec<(String, u32)>,
    /// The module has a start function (which runs at instantiation).
    pub has_start: bool,
    /// Exports of imports: (export name, what it exports, import module, import name).
    pub reexports: Vec<(String, ExternType, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ExternType,
}

/// The type of an import or export, as wasm's import matching compares them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    Function {
        params: Vec<ValType>,
        results: Vec<ValType>,
    },
    Global {
        ty: ValType,
        mutable: bool,
    },
    Memory {
        min: u64,
        max: Option<u64>,
    },
    Table {
        element: RefType,
        min: u64,
        max: Option<u64>,
    },
    Tag,
}

/// The old name: what an import is.
pub type ImportKind = ExternType;

impl ExternType {
    /// "a function", "a global", ...: for messages.
    pub fn what(&self) -> &'static str {
        match self {
            ExternType::Function { .. } => "a function",
            ExternType::Global { .. } => "a global",
            ExternType::Memory { .. } => "a memory",
            ExternType::Table { .. } => "a table",
            ExternType::Tag => "a tag",
        }
    }

    /// Does an export of type `self` (with `current_min` its current size in pages or elements,
    /// for memories and tables) satisfy an import of type `wanted`? The spec's import matching.
    pub fn satisfies(&self, wanted: &ExternType, current_min: Option<u64>) -> bool {
        let limits_match =
            |min: u64, max: Option<u64>, wanted_min: u64, wanted_max: Option<u64>| {
                current_min.unwrap_or(min) >= wanted_min
                    && match (max, wanted_max) {
                        (_, None) => true,
                        (Some(max), Some(wanted_max)) => max <= wanted_max,
                        (None, Some(_)) => false,
                    }
            };
        match (self, wanted) {
            (ExternType::Memory { min, max }, ExternType::Memory { min: wm, max: wx }) => {
                limits_match(*min, *max, *wm, *wx)
            }
            (
                ExternType::Table { element, min, max },
                ExternType::Table {
                    element: we,
                    min: wm,
                    max: wx,
                },
            ) => element == we && limits_match(*min, *max, *wm, *wx),
            (ExternType::Tag, _) => false,
            (actual, wanted) => actual == wanted,
        }
    }
}

/// Where one import comes from, once matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    /// A `spectest` print function: the emulator's import stub (returns nothing).
    HostFunction,
    /// The spectest host module's global, memory or table.
    Spectest,
    /// The instance registered under the import's module name (runner slot).
    Instance(usize),
}

/// The spectest host module (wasm's `spectest`): print functions that do nothing, four
/// constant globals of value 666 / 666.6, a table of 10..20 funcrefs, a memory of 1..2 pages.
pub const SPECTEST_WAT: &str = r#"(module
  (global (export "global_i32") i32 (i32.const 666))
  (global (export "global_i64") i64 (i64.const 666))
  (global (export "global_f32") f32 (f32.const 666.6))
  (global (export "global_f64") f64 (f64.const 666.6))
  (table (export "table") 10 20 funcref)
  (memory (export "memory") 1 2))"#;

/// The type of spectest's export `name`.
pub fn spectest_export(name: &str) -> Option<ExternType> {
    let global = |ty| ExternType::Global { ty, mutable: false };
    Some(match name {
        "global_i32" => global(ValType::I32),
        "global_i64" => global(ValType::I64),
        "global_f32" => global(ValType::F32),
        "global_f64" => global(ValType::F64),
        "table" => ExternType::Table {
            element: RefType::FUNCREF,
            min: 10,
            max: Some(20),
        },
        "memory" => ExternType::Memory {
            min: 1,
            max: Some(2),
        },
        _ => ExternType::Function {
            params: spectest_function(name)?.to_vec(),
            results: Vec::new(),
        },
    })
}

impl ModuleFacts {
    pub fn parse(wasm: &[u8]) -> Result<ModuleFacts, String> {
        let bad = |e: wasmparser::BinaryReaderError| format!("malformed wasm: {e}");
        let mut types: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
        let mut facts = ModuleFacts::default();
        // The index spaces, imports first: what an export refers to.
        let mut functions: Vec<ExternType> = Vec::new();
        let mut globals: Vec<ExternType> = Vec::new();
        let mut memories: Vec<ExternType> = Vec::new();
        let mut tables: Vec<ExternType> = Vec::new();
        // The imports of each index space (the first entries), by kind.
        let mut imported: [Vec<(String, String)>; 4] = Default::default();
        let function_type = |types: &[Option<(Vec<ValType>, Vec<ValType>)>], ty: u32| {
            let (params, results) = types
                .get(ty as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| format!("type {ty} is not a function type"))?;
            Ok::<_, String>(ExternType::Function { params, results })
        };
        let memory_type = |m: wasmparser::MemoryType| ExternType::Memory {
            min: m.initial,
            max: m.maximum,
        };
        let table_type = |t: wasmparser::TableType| ExternType::Table {
            element: t.element_type,
            min: t.initial,
            max: t.maximum,
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(bad)? {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group.map_err(bad)?.into_types() {
                            types.push(match &sub.composite_type.inner {
                                CompositeInnerType::Func(ft) => {
                                    Some((ft.params().to_vec(), ft.results().to_vec()))
                                }
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(bad)?;
                        let space = match import.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => Some(0),
                            TypeRef::Global(_) => Some(1),
                            TypeRef::Memory(_) => Some(2),
                            TypeRef::Table(_) => Some(3),
                            TypeRef::Tag(_) => None,
                        };
                        if let Some(space) = space {
                            imported[space]
                                .push((import.module.to_string(), import.name.to_string()));
                        }
                        let kind = match import.ty {
                            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                                let kind = function_type(&types, ty)?;
                                functions.push(kind.clone());
                                kind
                            }
                            TypeRef::Global(g) => {
                                let kind = ExternType::Global {
                                    ty: g.content_type,
                                    mutable: g.mutable,
                                };
                                globals.push(kind.clone());
                                kind
                            }
                            TypeRef::Memory(m) => {
                                memories.push(memory_type(m));
                                memory_type(m)
                            }
                            TypeRef::Table(t) => {
                                tables.push(table_type(t));
                                table_type(t)
                            }
                            TypeRef::Tag(_) => ExternType::Tag,
                        };
                        facts.imports.push(Import {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            kind,
                        });
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        functions.push(function_type(&types, ty.map_err(bad)?)?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        let ty = global.map_err(bad)?.ty;
                        globals.push(ExternType::Global {
                            ty: ty.content_type,
                            mutable: ty.mutable,
                        });
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        memories.push(memory_type(memory.map_err(bad)?));
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader {
                        tables.push(table_type(table.map_err(bad)?.ty));
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(bad)?;
                        let (space, imports) = match export.kind {
                            ExternalKind::Func | ExternalKind::FuncExact => {
                                (&functions, &imported[0])
                            }
                            ExternalKind::Global => (&globals, &imported[1]),
                            ExternalKind::Memory => (&memories, &imported[2]),
                            ExternalKind::Table => (&tables, &imported[3]),
                            ExternalKind::Tag => continue,
                        };
                        if let Some(kind) = space.get(export.index as usize) {
                            facts.exports.push((export.name.to_string(), kind.clone()));
                            if let Some((module, name)) = imports.get(export.index as usize) {
                                facts.reexports.push((
                                    export.name.to_string(),
                                    kind.clone(),
                                    module.clone(),
                                    name.clone(),
                                ));
                            }
                        }
                        if export.kind == ExternalKind::Global {
                            facts
                                .global_exports
                                .push((export.name.to_string(), export.index));
                        }
                    }
                }
                Payload::StartSection { .. } => facts.has_start = true,
                _ => {}
            }
        }
        Ok(facts)
    }

    /// The global index exported as `name`.
    pub fn exported_global(&self, name: &str) -> Option<u32> {
        self.global_exports
            .iter()
            .find(|(export, _)| export == name)
            .map(|(_, index)| *index)
    }

    /// The type of export `name`.
    pub fn export(&self, name: &str) -> Option<&ExternType> {
        self.exports
            .iter()
            .find(|(export, _)| export == name)
            .map(|(_, kind)| kind)
    }

    /// Match every import against the spectest host module and the registered instances
    /// (`registered` finds the instance and its facts by name; `current_size` gives the current
    /// pages or elements of an instance's memory or table export). `Err(message)`: unlinkable.
    pub fn resolve(
        &self,
        registered: &dyn Fn(&str) -> Option<(usize, ModuleFacts)>,
        current_size: &dyn Fn(&Provider, &str) -> Option<u64>,
    ) -> Result<Vec<Provider>, String> {
        let mut providers = Vec::with_capacity(self.imports.len());
        for import in &self.imports {
            let what = format!("{}.{}", import.module, import.name);
            let (provider, export) = if import.module == "spectest" {
                let export = spectest_export(&import.name)
                    .ok_or_else(|| format!("unknown import {what}"))?;
                let provider = match export {
                    ExternType::Function { .. } => Provider::HostFunction,
                    _ => Provider::Spectest,
                };
                (provider, export)
            } else {
                let (slot, facts) =
                    registered(&import.module).ok_or_else(|| format!("unknown import {what}"))?;
                let export = facts
                    .export(&import.name)
                    .cloned()
                    .ok_or_else(|| format!("unknown import {what}"))?;
                (Provider::Instance(slot), export)
            };
            let size = match export {
                ExternType::Memory { .. } | ExternType::Table { .. } => {
                    current_size(&provider, &import.name)
                }
                _ => None,
            };
            if !export.satisfies(&import.kind, size) {
                return Err(format!("incompatible import type for {what}"));
            }
            providers.push(provider);
        }
        Ok(providers)
    }
}

/// The linker-script assignments that define a module's re-exported imports (docs/ABI.md
/// "Re-exports"): `(export symbol, import symbol)` for a module compiled with namespace `ns`;
/// a memory also aliases its size word.
pub fn reexport_aliases(facts: &ModuleFacts, ns: Option<&str>) -> Vec<(String, String)> {
    use synth_compiler::ir::names::mangle;
    let mut aliases = Vec::new();
    for (export, kind, module, name) in &facts.reexports {
        let what = match kind {
            ExternType::Function { .. } => "function",
            ExternType::Global { .. } => "global",
            ExternType::Memory { .. } => "memory",
            ExternType::Table { .. } => "table",
            ExternType::Tag => continue,
        };
        let export_symbol = super::linked::export_symbol(ns, what, export);
        let import_symbol = format!("{}_{}", mangle(module), mangle(name));
        if export_symbol == import_symbol {
            continue;
        }
        if what == "memory" {
            aliases.push((
                format!("{export_symbol}_bytes"),
                format!("{import_symbol}_bytes"),
            ));
        }
        aliases.push((export_symbol, import_symbol));
    }
    aliases
}

/// Does any function body contain `memory.grow`? (Unreadable input: no; compiling rejects it.)
pub fn grows_memory(wasm: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut operators) = body.get_operators_reader() else {
            continue;
        };
        while !operators.eof() {
            match operators.read() {
                Ok(Operator::MemoryGrow { .. }) => return true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    false
}

/// Parameters of the spectest host functions (all return nothing).
fn spectest_function(name: &str) -> Option<&'static [ValType]> {
    use ValType::{F32, F64, I32, I64};
    Some(match name {
        "print" => &[],
        "print_i32" => &[I32],
        "print_i64" => &[I64],
        "print_f32" => &[F32],
        "print_f64" => &[F64],
        "print_i32_f32" => &[I32, F32],
        "print_f64_f64" => &[F64, F64],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(wat: &str) -> ModuleFacts {
        ModuleFacts::parse(&wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn spectest_print_functions_link_with_their_own_types_only() {
        let resolve =
            |wat: &str| facts(wat).resolve(&|_: &str| None, &|_: &Provider, _: &str| None);
        let good = r#"(module (import "spectest" "print_i32" (func (param i32)))
                              (import "spectest" "print" (func)))"#;
        assert_eq!(
            resolve(good),
            Ok(vec![Provider::HostFunction, Provider::HostFunction])
        );
        let wrong_type = r#"(module (import "spectest" "print_i32" (func (param i64))))"#;
        assert!(matches!(resolve(wrong_type), Err(m) if m.contains("incompatible")));
        let with_result = r#"(module (import "spectest" "print" (func (result i32))))"#;
        assert!(resolve(with_result).is_err());
        let unknown = r#"(module (import "spectest" "nope" (func)))"#;
        assert_eq!(
            resolve(unknown),
            Err("unknown import spectest.nope".to_string())
        );
        let global = r#"(module (import "spectest" "global_i32" (global i32)))"#;
        assert_eq!(resolve(global), Ok(vec![Provider::Spectest]));
    }

    #[test]
    fn imports_match_exports_by_the_spec_rules() {
        let exporter = facts(
            r#"(module (memory (export "m") 1 4) (global (export "g") (mut i32) (i32.const 0))
                       (func (export "f") (param i32)))"#,
        );
        let registered = |name: &str| (name == "M").then(|| (7, exporter.clone()));
        let grown_to_two = |_: &Provider, _: &str| Some(2);
        let resolve = |wat: &str| facts(wat).resolve(&registered, &grown_to_two);
        assert_eq!(
            resolve(
                r#"(module (import "M" "m" (memory 2 4)) (import "M" "g" (global (mut i32)))
                           (import "M" "f" (func (param i32)))
                           (import "spectest" "print_i32" (func (param i32)))
                           (import "spectest" "global_f64" (global f64)))"#
            ),
            Ok(vec![
                Provider::Instance(7),
                Provider::Instance(7),
                Provider::Instance(7),
                Provider::HostFunction,
                Provider::Spectest
            ])
        );
        for wrong in [
            r#"(module (import "M" "m" (memory 3)))"#,
            r#"(module (import "M" "m" (memory 1 3)))"#,
            r#"(module (import "M" "g" (global i32)))"#,
            r#"(module (import "M" "f" (func)))"#,
            r#"(module (import "M" "g" (func)))"#,
            r#"(module (import "spectest" "table" (table 10 15 funcref)))"#,
        ] {
            assert!(
                matches!(resolve(wrong), Err(m) if m.starts_with("incompatible import type")),
                "{wrong}"
            );
        }
        assert_eq!(
            resolve(r#"(module (import "N" "f" (func)))"#),
            Err("unknown import N.f".into())
        );
        assert_eq!(
            resolve(r#"(module (import "M" "h" (func)))"#),
            Err("unknown import M.h".into())
        );
    }

    #[test]
    fn reexported_imports_become_linker_script_aliases() {
        let f = facts(
            r#"(module (import "M" "g" (global i32)) (import "M" "m" (memory 1))
                       (import "M" "t" (table 1 funcref)) (import "M" "f" (func))
                       (func $own) (export "g2" (global 0)) (export "m" (memory 0))
                       (export "t.2" (table 0)) (export "f" (func 0)) (export "own" (func $own)))"#,
        );
        assert_eq!(
            reexport_aliases(&f, Some("ns")),
            vec![
                ("ns_g2".to_string(), "M_g".to_string()),
                ("ns_m_bytes".to_string(), "M_m_bytes".to_string()),
                ("ns_m".to_string(), "M_m".to_string()),
                ("ns_t_x2e2".to_string(), "M_t".to_string()),
                ("ns_f".to_string(), "M_f".to_string()),
            ]
        );
    }

    #[test]
    fn memory_grow_is_found_in_any_body() {
        let grows = wat::parse_str(
            r#"(module (memory 0) (func) (func (drop (memory.grow (i32.const 1)))))"#,
        )
        .unwrap();
        assert!(grows_memory(&grows));
        let sized = wat::parse_str(r#"(module (memory 0) (func (drop (memory.size))))"#).unwrap();
        assert!(!grows_memory(&sized));
        assert!(!grows_memory(b"not wasm"));
    }

    #[test]
    fn exported_globals_are_found_by_name() {
        let f = facts(
            r#"(module (global i32 (i32.const 1)) (global $b i64 (i64.const 2))
                       (export "b" (global $b)) (export "b2" (global 1)))"#,
        );
        assert_eq!(f.exported_global("b"), Some(1));
        assert_eq!(f.exported_global("b2"), Some(1));
        assert_eq!(f.exported_global("a"), None);
        assert!(!f.has_start);
        assert!(facts("(module (func $s) (start $s))").has_start);
    }
}

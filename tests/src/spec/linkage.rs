//! The host side of instantiation: what a module imports and exports, and whether this runner
//! can provide its imports. The runner plays the spec's `spectest` host module for its `print*`
//! functions (the emulator's import stubs return nothing for them); everything else a module can
//! import is either out of scope (skipped) or missing (the module is unlinkable).

use std::collections::BTreeSet;

use wasmparser::{CompositeInnerType, ExternalKind, Operator, Parser, Payload, TypeRef, ValType};

/// What the runner needs to know about a module's imports and exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleFacts {
    pub imports: Vec<Import>,
    /// Exported globals: (export name, global index).
    pub global_exports: Vec<(String, u32)>,
    /// The module has a start function (which runs at instantiation).
    pub has_start: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportKind {
    Function {
        params: Vec<ValType>,
        results: Vec<ValType>,
    },
    /// A global, memory, table or tag (the word names which).
    Other(&'static str),
}

/// Can the runner satisfy a module's imports?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    Linkable,
    /// An import the runner does not provide by design: the module's assertions are skipped.
    OutOfScope(String),
    /// An import nobody provides: instantiation fails.
    Unlinkable(String),
}

impl ModuleFacts {
    pub fn parse(wasm: &[u8]) -> Result<ModuleFacts, String> {
        let bad = |e: wasmparser::BinaryReaderError| format!("malformed wasm: {e}");
        let mut types: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
        let mut facts = ModuleFacts::default();
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
                        let kind = match import.ty {
                            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                                let (params, results) =
                                    types.get(ty as usize).cloned().flatten().ok_or_else(|| {
                                        format!("type {ty} is not a function type")
                                    })?;
                                ImportKind::Function { params, results }
                            }
                            TypeRef::Global(_) => ImportKind::Other("a global"),
                            TypeRef::Memory(_) => ImportKind::Other("a memory"),
                            TypeRef::Table(_) => ImportKind::Other("a table"),
                            TypeRef::Tag(_) => ImportKind::Other("a tag"),
                        };
                        facts.imports.push(Import {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            kind,
                        });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(bad)?;
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

    /// Check every import against the spectest host functions and the registered instances.
    pub fn linkage(&self, registered: &BTreeSet<String>) -> Linkage {
        for import in &self.imports {
            let what = format!("{}.{}", import.module, import.name);
            match &import.kind {
                ImportKind::Other(kind) => {
                    return Linkage::OutOfScope(format!("imports {kind} ({what})"));
                }
                ImportKind::Function { params, results } => {
                    if import.module == "spectest" {
                        match spectest_function(&import.name) {
                            Some(expected)
                                if expected == params.as_slice() && results.is_empty() => {}
                            Some(_) => {
                                return Linkage::Unlinkable(format!(
                                    "incompatible import type for {what}"
                                ));
                            }
                            None => return Linkage::Unlinkable(format!("unknown import {what}")),
                        }
                    } else if registered.contains(&import.module) {
                        return Linkage::OutOfScope(format!(
                            "imports a function from another module ({what})"
                        ));
                    } else {
                        return Linkage::Unlinkable(format!("unknown import {what}"));
                    }
                }
            }
        }
        Linkage::Linkable
    }
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
        let registered = BTreeSet::new();
        let good = facts(
            r#"(module (import "spectest" "print_i32" (func (param i32)))
                       (import "spectest" "print" (func)))"#,
        );
        assert_eq!(good.linkage(&registered), Linkage::Linkable);
        let wrong_type = facts(r#"(module (import "spectest" "print_i32" (func (param i64))))"#);
        assert!(matches!(
            wrong_type.linkage(&registered),
            Linkage::Unlinkable(m) if m.contains("incompatible")
        ));
        let with_result = facts(r#"(module (import "spectest" "print" (func (result i32))))"#);
        assert!(matches!(
            with_result.linkage(&registered),
            Linkage::Unlinkable(_)
        ));
        let unknown = facts(r#"(module (import "spectest" "nope" (func)))"#);
        assert_eq!(
            unknown.linkage(&registered),
            Linkage::Unlinkable("unknown import spectest.nope".into())
        );
    }

    #[test]
    fn registered_functions_and_non_function_imports_are_out_of_scope() {
        let registered: BTreeSet<String> = ["M".to_string()].into_iter().collect();
        let cross = facts(r#"(module (import "M" "f" (func)))"#);
        assert!(matches!(cross.linkage(&registered), Linkage::OutOfScope(_)));
        assert!(matches!(
            cross.linkage(&BTreeSet::new()),
            Linkage::Unlinkable(_)
        ));
        let global = facts(r#"(module (import "spectest" "global_i32" (global i32)))"#);
        assert!(matches!(
            global.linkage(&registered),
            Linkage::OutOfScope(m) if m.contains("a global")
        ));
        let memory = facts(r#"(module (import "spectest" "memory" (memory 1)))"#);
        assert!(matches!(
            memory.linkage(&registered),
            Linkage::OutOfScope(m) if m.contains("a memory")
        ));
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

//! Module generation: a seed becomes a wasm module through `wasm-smith`, restricted to what
//! synth compiles (`Features`), with `ensure_termination` so every call ends in a bounded number
//! of loop iterations and calls on both engines alike.
//!
//! A share of the seeds (`Features::linked`) draw two modules: a provider that defines and
//! exports a memory, a table, globals and functions (`provider_exports` draws their types,
//! wasm-smith the bodies, initializers and everything unexported), and an importer whose
//! available imports are the provider's exports under the provider's module name (`fz` and the
//! seed in hex), each with exactly the exported type. wasm-smith picks some of them, and some of
//! the mocked `env` functions.

use arbitrary::Unstructured;
use wasm_smith::{Config, InstructionKind, InstructionKinds, Module};

use super::Rng;

/// The WebAssembly features the generator may use. `Features::supported()` follows what synth
/// compiles today; when a feature lands, switch it on there (and add its generator knob below).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Features {
    /// f32/f64 values and operators (every target compiles them).
    pub floats: bool,
    /// funcref/externref values, several tables, `table.*`, `ref.*`, `call_indirect`.
    pub reference_types: bool,
    /// Functions and blocks with several results.
    pub multi_value: bool,
    /// The table half of bulk memory: `table.copy`, `table.init`, `elem.drop` and passive element
    /// segments. wasm-smith ties them to bulk memory, so they are generated in modules without a
    /// linear memory (where no `memory.*` bulk operator can appear) unless `bulk_memory` is on.
    pub table_bulk: bool,
    /// `memory.copy`, `memory.fill`, `memory.init`, `data.drop`, passive data segments.
    pub bulk_memory: bool,
    /// Imported globals (the harness mocks only functions today).
    pub imported_globals: bool,
    /// An imported memory.
    pub imported_memory: bool,
    /// Imported tables.
    pub imported_tables: bool,
    /// Some seeds (about one in four) are a provider module and an importer linked with it
    /// (imports of a memory, a table, globals and functions from another module).
    pub linked: bool,
}

impl Features {
    /// What synth compiles now.
    pub fn supported() -> Features {
        Features {
            floats: true,
            reference_types: true,
            multi_value: true,
            table_bulk: true,
            bulk_memory: false,
            imported_globals: false,
            imported_memory: false,
            imported_tables: false,
            linked: true,
        }
    }
}

/// Size knobs of generated modules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub max_funcs: usize,
    pub max_instructions: usize,
    pub max_globals: usize,
    pub max_tables: usize,
    pub max_table_elements: u64,
    /// Linear memory (initial and maximum) in 64 KiB pages; also synth's `max_memory_pages`
    /// and the oracle's memory cap.
    pub max_memory_pages: u32,
    /// Fuel of `ensure_termination`: loop iterations plus calls per vector.
    pub termination_fuel: u32,
    /// Random bytes wasm-smith draws from, at most.
    pub max_entropy: usize,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape {
            max_funcs: 8,
            max_instructions: 80,
            max_globals: 8,
            max_tables: 2,
            max_table_elements: 32,
            max_memory_pages: 2,
            termination_fuel: 500,
            max_entropy: 8192,
        }
    }
}

/// Function imports the generator may pick from (the harness mocks them, docs in lib.rs).
fn available_imports(features: &Features, extra: &str) -> Vec<u8> {
    let mut wat = String::from("(module\n");
    wat.push_str(extra);
    wat.push_str("  (import \"env\" \"i\" (func (param i32) (result i32)))\n");
    wat.push_str("  (import \"env\" \"l\" (func (param i64 i32) (result i64)))\n");
    wat.push_str("  (import \"env\" \"v\" (func))\n");
    if features.floats {
        wat.push_str("  (import \"env\" \"f\" (func (param f32 f64) (result f64)))\n");
        wat.push_str("  (import \"env\" \"g\" (func (param i32 f32) (result f32)))\n");
    }
    if features.multi_value {
        wat.push_str("  (import \"env\" \"m\" (func (param i32 i64) (result i64 i32)))\n");
    }
    if features.imported_globals {
        wat.push_str("  (import \"env\" \"gi\" (global i32))\n");
        wat.push_str("  (import \"env\" \"gm\" (global (mut i64)))\n");
    }
    if features.imported_memory {
        wat.push_str("  (import \"env\" \"memory\" (memory 1 2))\n");
    }
    if features.imported_tables {
        wat.push_str("  (import \"env\" \"table\" (table 4 8 funcref))\n");
    }
    wat.push(')');
    wat::parse_str(&wat).expect("the import list is valid WAT")
}

/// A generated module and the profile it was drawn with.
#[derive(Clone, Debug)]
pub struct Generated {
    pub wasm: Vec<u8>,
    pub profile: &'static str,
    /// Profile `linked`: the module it imports from, as (module name, wasm).
    pub providers: Vec<crate::providers::Provider>,
}

/// A WAT string literal of `name` (every byte but letters, digits, `_` and `.` escaped).
fn wat_string(name: &str) -> String {
    let mut out = String::from("\"");
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("\\{byte:02x}"));
        }
    }
    out.push('"');
    out
}

fn wat_val_type(ty: wasmparser::ValType) -> Option<&'static str> {
    Some(match ty {
        wasmparser::ValType::I32 => "i32",
        wasmparser::ValType::I64 => "i64",
        wasmparser::ValType::F32 => "f32",
        wasmparser::ValType::F64 => "f64",
        wasmparser::ValType::Ref(r) => wat_ref_type(r)?,
        wasmparser::ValType::V128 => return None,
    })
}

fn wat_ref_type(ty: wasmparser::RefType) -> Option<&'static str> {
    if ty == wasmparser::RefType::FUNCREF {
        Some("funcref")
    } else if ty == wasmparser::RefType::EXTERNREF {
        Some("externref")
    } else {
        None
    }
}

fn wat_limits(initial: u64, maximum: Option<u64>) -> String {
    match maximum {
        Some(max) => format!("{initial} {max}"),
        None => initial.to_string(),
    }
}

/// `(import ...)` lines, one per export of `provider` (a module without imports), each with
/// exactly the exported item's type, from module `name`.
fn imports_of_exports(provider: &[u8], name: &str) -> Result<String, String> {
    use wasmparser::{ExternalKind, Payload};
    let mut func_types: Vec<Option<String>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new();
    let mut tables = Vec::new();
    let mut memories = Vec::new();
    let mut globals = Vec::new();
    let mut lines = String::new();
    let bad = |e: wasmparser::BinaryReaderError| format!("provider: {e}");
    for payload in wasmparser::Parser::new(0).parse_all(provider) {
        match payload.map_err(bad)? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.map_err(bad)?;
                    let params: Option<Vec<_>> =
                        ty.params().iter().map(|t| wat_val_type(*t)).collect();
                    let results: Option<Vec<_>> =
                        ty.results().iter().map(|t| wat_val_type(*t)).collect();
                    func_types.push(params.zip(results).map(|(p, r)| {
                        format!("(func (param {}) (result {}))", p.join(" "), r.join(" "))
                    }));
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push(ty.map_err(bad)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let ty = table.map_err(bad)?.ty;
                    tables.push(wat_ref_type(ty.element_type).map(|element| {
                        format!("(table {} {element})", wat_limits(ty.initial, ty.maximum))
                    }));
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let ty = memory.map_err(bad)?;
                    memories.push(format!("(memory {})", wat_limits(ty.initial, ty.maximum)));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let ty = global.map_err(bad)?.ty;
                    globals.push(wat_val_type(ty.content_type).map(|t| {
                        if ty.mutable {
                            format!("(global (mut {t}))")
                        } else {
                            format!("(global {t})")
                        }
                    }));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(bad)?;
                    let index = export.index as usize;
                    let item = match export.kind {
                        ExternalKind::Func => functions
                            .get(index)
                            .and_then(|ty| func_types.get(*ty as usize).cloned().flatten()),
                        ExternalKind::Table => tables.get(index).cloned().flatten(),
                        ExternalKind::Memory => memories.get(index).cloned(),
                        ExternalKind::Global => globals.get(index).cloned().flatten(),
                        _ => None,
                    };
                    if let Some(item) = item {
                        lines.push_str(&format!(
                            "  (import {} {} {item})\n",
                            wat_string(name),
                            wat_string(export.name)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(lines)
}

/// The module for `seed` (same seed, same features and shape: same bytes).
pub fn generate(seed: u64, features: &Features, shape: &Shape) -> Result<Generated, String> {
    let mut rng = Rng::new(seed);
    let length = 256 + rng.below(shape.max_entropy as u64) as usize;
    let entropy = rng.bytes(length);
    // Profiles vary what one module concentrates on.
    let mut profile = match rng.below(10) {
        0..=4 => "mixed",
        5 => "integer",
        6 if features.table_bulk && !features.bulk_memory => "tables",
        7 => "no-traps",
        8 => "calls",
        _ => "memory",
    };
    let mut providers = Vec::new();
    let mut provided = String::new();
    if features.linked && rng.below(4) == 0 {
        profile = "linked";
        let name = format!("fz{seed:016x}");
        let length = 256 + rng.below(shape.max_entropy as u64) as usize;
        let mut config = provider_config(features, shape);
        config.exports = Some(provider_exports(&mut rng, features, shape));
        let provider = build(config, &rng.bytes(length), shape)?;
        provided = imports_of_exports(&provider, &name)?;
        providers.push((name, provider));
    }
    let mut config = config(features, shape, profile);
    config.available_imports = Some(available_imports(features, &provided));
    Ok(Generated {
        wasm: build(config, &entropy, shape)?,
        profile,
        providers,
    })
}

fn build(config: Config, entropy: &[u8], shape: &Shape) -> Result<Vec<u8>, String> {
    let mut u = Unstructured::new(entropy);
    let mut module = Module::new(config, &mut u).map_err(|e| format!("wasm-smith: {e}"))?;
    module
        .ensure_termination(shape.termination_fuel)
        .map_err(|e| format!("ensure_termination: {e}"))?;
    super::canonicalize::canonicalize_conversions(&module.to_bytes())
}

/// A provider: no imports, the exports `provider_exports` lists (wasm-smith defines them, with
/// random bodies and initializers) and nothing else exported; its only memory is the exported
/// one.
fn provider_config(features: &Features, shape: &Shape) -> Config {
    let mut config = config(features, shape, "mixed");
    config.available_imports = None;
    config.max_imports = 0;
    config.max_memories = 0;
    config.export_everything = false;
    config
}

/// The exports of a provider, drawn from `rng`: a memory of 1 or 2 pages (the maximum 2 or
/// none), a funcref or externref table, globals of every numeric type (floats if on), each
/// immutable and mutable (three in four kept), and two to four functions with random
/// signatures.
fn provider_exports(rng: &mut Rng, features: &Features, shape: &Shape) -> Vec<u8> {
    let pages = 1 + rng.below(u64::from(shape.max_memory_pages.max(1)));
    let mut wat = format!(
        "(module\n  (memory (export \"memory\") {pages}{})\n",
        if rng.below(2) == 0 {
            format!(" {}", shape.max_memory_pages.max(1))
        } else {
            String::new()
        }
    );
    let element = if features.reference_types && rng.below(4) == 0 {
        "externref"
    } else {
        "funcref"
    };
    let entries = rng.below(shape.max_table_elements.min(16) + 1);
    let maximum = match rng.below(3) {
        0 => String::new(),
        _ => format!(" {}", entries + rng.below(8)),
    };
    wat.push_str(&format!(
        "  (table (export \"table\") {entries}{maximum} {element})\n"
    ));
    let mut types = vec!["i32", "i64"];
    if features.floats {
        types.extend(["f32", "f64"]);
    }
    for ty in &types {
        for mutable in [false, true] {
            if rng.below(4) == 0 {
                continue;
            }
            let (name, global_type) = if mutable {
                (format!("{ty}_mut"), format!("(mut {ty})"))
            } else {
                (ty.to_string(), ty.to_string())
            };
            wat.push_str(&format!(
                "  (global (export \"{name}\") {global_type} ({ty}.const 0))\n"
            ));
        }
    }
    for index in 0..2 + rng.below(3) {
        let pick = |rng: &mut Rng, n: u64| -> Vec<&str> {
            (0..rng.below(n + 1))
                .map(|_| types[rng.below(types.len() as u64) as usize])
                .collect()
        };
        let params = pick(rng, 3);
        let results = pick(rng, if features.multi_value { 2 } else { 1 });
        wat.push_str(&format!(
            "  (func (export \"f{index}\") (param {}) (result {}) unreachable)\n",
            params.join(" "),
            results.join(" ")
        ));
    }
    wat.push(')');
    wat::parse_str(&wat).expect("the provider's exports are valid WAT")
}

/// The wasm-smith configuration of `profile` (without `available_imports`).
fn config(features: &Features, shape: &Shape, profile: &str) -> Config {
    let mut config = Config {
        max_imports: if profile == "linked" { 10 } else { 4 },
        allow_start_export: true,
        allow_floats: features.floats && profile != "integer",
        bulk_memory_enabled: features.bulk_memory || profile == "tables",
        canonicalize_nans: true,
        disallow_traps: profile == "no-traps",
        exceptions_enabled: false,
        export_everything: true,
        gc_enabled: false,
        compact_imports_enabled: false,
        custom_descriptors_enabled: false,
        custom_page_sizes_enabled: false,
        generate_custom_sections: false,
        max_data_segments: 4,
        max_element_segments: 4,
        max_elements: 16,
        max_exports: 32,
        max_funcs: shape.max_funcs,
        max_globals: shape.max_globals,
        max_instructions: shape.max_instructions,
        max_memories: if profile == "tables" { 0 } else { 1 },
        max_memory32_bytes: u64::from(shape.max_memory_pages) * 65536,
        max_nesting_depth: 6,
        max_table_elements: shape.max_table_elements,
        max_tables: if features.reference_types {
            shape.max_tables
        } else {
            1
        },
        max_tags: 0,
        max_type_size: 100,
        max_types: 12,
        max_values: 8,
        memory64_enabled: false,
        min_funcs: 1,
        multi_value_enabled: features.multi_value,
        reference_types_enabled: features.reference_types,
        relaxed_simd_enabled: false,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        shared_everything_threads_enabled: false,
        simd_enabled: false,
        tail_call_enabled: false,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        ..Config::default()
    };
    match profile {
        "calls" => {
            config.max_funcs = shape.max_funcs * 2;
            config.max_instructions = shape.max_instructions / 2;
        }
        "memory" => {
            config.min_memories = 1;
            config.allowed_instructions = InstructionKinds::new(&[
                InstructionKind::Numeric,
                InstructionKind::Memory,
                InstructionKind::Control,
                InstructionKind::Variable,
                InstructionKind::Parametric,
            ]);
        }
        "tables" => {
            config.min_tables = 1;
        }
        _ => {}
    }
    if !config.allow_floats {
        config.allowed_instructions = config.allowed_instructions.without_floats();
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linked seeds import every kind of item from their provider, across a few hundred seeds:
    /// a memory, a table, mutable and immutable globals of every numeric type, and functions.
    #[test]
    fn linked_importers_import_every_kind_from_the_provider() {
        use std::collections::BTreeSet;
        let features = Features::supported();
        let shape = Shape::default();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut linked = 0;
        for seed in 0..400u64 {
            let Ok(generated) = generate(seed, &features, &shape) else {
                continue;
            };
            let Some((name, _)) = generated.providers.first() else {
                continue;
            };
            linked += 1;
            for payload in wasmparser::Parser::new(0).parse_all(&generated.wasm) {
                if let Ok(wasmparser::Payload::ImportSection(reader)) = payload {
                    for import in reader.into_imports().flatten() {
                        if import.module != name {
                            continue;
                        }
                        seen.insert(match import.ty {
                            wasmparser::TypeRef::Func(_) => "func".to_string(),
                            wasmparser::TypeRef::Memory(_) => "memory".to_string(),
                            wasmparser::TypeRef::Table(_) => "table".to_string(),
                            wasmparser::TypeRef::Global(g) => {
                                format!("global {} {}", g.mutable, g.content_type)
                            }
                            _ => "other".to_string(),
                        });
                    }
                }
            }
        }
        println!("{linked} linked seeds import: {seen:?}");
        assert!(linked > 50, "{linked} linked seeds of 400");
        for kind in ["func", "memory", "table"] {
            assert!(seen.contains(kind), "no {kind} import: {seen:?}");
        }
        for ty in ["i32", "i64", "f32", "f64"] {
            for mutable in [false, true] {
                let key = format!("global {mutable} {ty}");
                assert!(seen.contains(&key), "no {key} import: {seen:?}");
            }
        }
    }
}

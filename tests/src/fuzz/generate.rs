//! Module generation: a seed becomes a wasm module through `wasm-smith`, restricted to what
//! synth compiles (`Features`), with `ensure_termination` so every call ends in a bounded number
//! of loop iterations and calls on both engines alike.

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
fn available_imports(features: &Features) -> Vec<u8> {
    let mut wat = String::from("(module\n");
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
}

/// The module for `seed` (same seed, same features and shape: same bytes).
pub fn generate(seed: u64, features: &Features, shape: &Shape) -> Result<Generated, String> {
    let mut rng = Rng::new(seed);
    let length = 256 + rng.below(shape.max_entropy as u64) as usize;
    let entropy = rng.bytes(length);
    // Profiles vary what one module concentrates on.
    let profile = match rng.below(10) {
        0..=4 => "mixed",
        5 => "integer",
        6 if features.table_bulk && !features.bulk_memory => "tables",
        7 => "no-traps",
        8 => "calls",
        _ => "memory",
    };
    let mut config = Config {
        available_imports: Some(available_imports(features)),
        max_imports: 4,
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
    let mut u = Unstructured::new(&entropy);
    let mut module = Module::new(config, &mut u).map_err(|e| format!("wasm-smith: {e}"))?;
    module
        .ensure_termination(shape.termination_fuel)
        .map_err(|e| format!("ensure_termination: {e}"))?;
    Ok(Generated {
        wasm: module.to_bytes(),
        profile,
    })
}

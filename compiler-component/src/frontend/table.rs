//! Tables, element segments and type ids (reference types): the module-level part.
//!
//! The frontend applies the active segments into defined tables at constant offsets itself, in
//! order, into each table's initial entries; the first one that does not fit stops that and
//! makes `synth_init` trap (`ElemSegmentOutOfBounds`) before it writes anything else, as
//! instantiation fails there in wasm. A segment into an imported table, or at an offset read
//! from an imported global, and every active segment after it, are applied by `synth_init` at
//! run time (`Tables::runtime_elems`), in order, each checked against the table's current size.

use std::collections::{BTreeMap, BTreeSet};

use wasmparser::{
    ElementItems, ElementKind, FuncType, Operator, RefType, TableInit, TableType, ValType,
};

use super::limits::{MAX_ELEM_ITEMS, MAX_TABLE_ENTRIES, TABLE_GROW_BUDGET};
use super::{Sections, opname, reader_error};
use crate::error::{CompileError, ErrorKind, Result};
use crate::ir::table::{
    ActiveElem, ElemGlobal, ElemSegment, IdType, RefKind, RefValue, Table, Tables, long_type_id,
    long_type_name, type_id,
};
use crate::ir::{Function, Global, Import, Op, TableOp};

/// A function type's id: `Short(id)`, or `Long(name)` when its bit string exceeds 32 bits
/// (see `ir::table::long_type_name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TypeIdent {
    Short(u32),
    Long(String),
}

/// The type id of a wasm function type (see `ir::table::type_id`), or why it has none.
pub(crate) fn func_type_id(ty: &FuncType) -> std::result::Result<TypeIdent, String> {
    let convert = |types: &[ValType]| -> std::result::Result<Vec<IdType>, String> {
        types
            .iter()
            .map(|t| match t {
                ValType::I32 => Ok(IdType::I32),
                ValType::I64 => Ok(IdType::I64),
                ValType::F32 => Ok(IdType::F32),
                ValType::F64 => Ok(IdType::F64),
                ValType::Ref(r) if *r == RefType::FUNCREF => Ok(IdType::FuncRef),
                ValType::Ref(r) if *r == RefType::EXTERNREF => Ok(IdType::ExternRef),
                other => Err(format!("`{other}`")),
            })
            .collect()
    };
    let params = convert(ty.params())?;
    let results = convert(ty.results())?;
    Ok(match type_id(&params, &results) {
        Some(id) => TypeIdent::Short(id),
        None => TypeIdent::Long(long_type_name(&params, &results)),
    })
}

/// The IR type id of every function type, by type index (`Err`: why it has none); long ids
/// are registered in `long_type_ids` (one per canonical signature).
pub(super) fn type_ids(
    types: &[Option<FuncType>],
    long_type_ids: &mut Vec<String>,
) -> Vec<std::result::Result<u32, String>> {
    types
        .iter()
        .map(|ty| {
            let ty = ty
                .as_ref()
                .ok_or_else(|| "not a function type".to_string())?;
            Ok(match func_type_id(ty)? {
                TypeIdent::Short(id) => id,
                TypeIdent::Long(name) => {
                    let k = match long_type_ids.iter().position(|n| *n == name) {
                        Some(k) => k,
                        None => {
                            long_type_ids.push(name);
                            long_type_ids.len() - 1
                        }
                    };
                    long_type_id(k as u32)
                }
            })
        })
        .collect()
}

pub(crate) fn ref_kind(ty: RefType) -> Option<RefKind> {
    if ty == RefType::FUNCREF {
        Some(RefKind::Func)
    } else if ty == RefType::EXTERNREF {
        Some(RefKind::Extern)
    } else {
        None
    }
}

/// The value of a constant reference expression.
enum RefExpr {
    Known(RefValue),
    /// `global.get` of a global only `synth_init` knows (imported, or copied from an import).
    Global(u32),
}

/// A constant reference expression: `ref.null`, `ref.func F` or `global.get G`, known when G
/// is a defined global initialized with one of those (`global_refs`).
fn ref_expr(
    expr: &wasmparser::ConstExpr<'_>,
    global_refs: &BTreeMap<u32, RefValue>,
    what: &str,
) -> Result<RefExpr> {
    let mut reader = expr.get_operators_reader();
    let mut value = None;
    loop {
        let (op, offset) = reader
            .read_with_offset()
            .map_err(|e| reader_error(e, ErrorKind::Malformed))?;
        match op {
            Operator::End => break,
            Operator::RefNull { .. } if value.is_none() => {
                value = Some(RefExpr::Known(RefValue::Null))
            }
            Operator::RefFunc { function_index } if value.is_none() => {
                value = Some(RefExpr::Known(RefValue::Func(function_index)))
            }
            Operator::GlobalGet { global_index } if value.is_none() => {
                value = Some(match global_refs.get(&global_index) {
                    Some(v) => RefExpr::Known(*v),
                    None => RefExpr::Global(global_index),
                });
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

/// The initial value of every reference-typed defined global (by global index: the imported
/// globals, `first_defined` of them, come first).
/// A global initialized by `global.get` of an imported one is copied by `synth_init` instead.
fn global_ref_inits(s: &Sections<'_>, globals: &[Global]) -> Result<BTreeMap<u32, RefValue>> {
    let first_defined = globals.len().saturating_sub(s.globals.len());
    let mut refs = BTreeMap::new();
    for (defined, (_, global)) in s.globals.iter().enumerate() {
        let index = first_defined + defined;
        let copied = super::imported_global_get(&global.init_expr, globals).is_some();
        if matches!(global.ty.content_type, ValType::Ref(_)) && !copied {
            let what = format!("global {index}");
            match ref_expr(&global.init_expr, &refs, &what)? {
                RefExpr::Known(v) => refs.insert(index as u32, v),
                RefExpr::Global(g) => {
                    return Err(CompileError::internal(format!(
                        "{what}: `global.get {g}` is neither known nor copied"
                    )));
                }
            };
        }
    }
    Ok(refs)
}

/// The element kind of a table type, or why synth does not support it.
fn table_kind(ty: &TableType, what: &str, offset: u64) -> Result<RefKind> {
    let kind = ref_kind(ty.element_type).ok_or_else(|| {
        CompileError::unsupported(
            format!("{what} holds `{}`, which is not supported", ty.element_type),
            offset,
        )
    })?;
    if ty.table64 || ty.shared {
        return Err(CompileError::unsupported(
            format!("{what} is a 64-bit or shared table, which is not supported"),
            offset,
        ));
    }
    if ty.initial > MAX_TABLE_ENTRIES {
        return Err(CompileError::limit(format!(
            "{what} starts with {} entries; at most {MAX_TABLE_ENTRIES} are supported",
            ty.initial
        ))
        .at(offset));
    }
    Ok(kind)
}

/// The effective maximum of a table that may grow: the declared maximum, capped at the initial
/// size plus `TABLE_GROW_BUDGET`.
fn growable_max(ty: &TableType) -> u32 {
    let declared = ty.maximum.unwrap_or(u32::MAX as u64);
    declared.min(ty.initial + TABLE_GROW_BUDGET as u64) as u32
}

/// An imported table: its storage is the import's undefined symbol, laid out like a defined
/// table. The exporter (or another module) may grow it, so its effective maximum always has
/// the growth budget: the exporter's buffer must hold that many entries.
pub(super) fn imported_table(
    offset: u64,
    what: &str,
    ty: &TableType,
    import: Import,
) -> Result<Table> {
    let kind = table_kind(ty, &format!("import `{what}`"), offset)?;
    let initial = ty.initial as u32;
    Ok(Table {
        kind,
        initial,
        max: growable_max(ty).max(initial),
        init: Vec::new(),
        exports: Vec::new(),
        import: Some(import),
    })
}

/// Tables (the imported ones first), element segments (active ones applied) and the
/// `ref.func` globals.
pub(super) fn build_tables(
    s: &Sections<'_>,
    globals: &[Global],
    grown: &BTreeSet<u32>,
    imported: Vec<Table>,
) -> Result<Tables> {
    let global_refs = global_ref_inits(s, globals)?;
    let first_defined = imported.len();
    let mut tables = imported;
    let exported: BTreeSet<u32> = s
        .exports
        .iter()
        .filter(|e| e.kind == wasmparser::ExternalKind::Table)
        .map(|e| e.index)
        .collect();
    for (defined, (offset, table)) in s.tables.iter().enumerate() {
        let index = first_defined + defined;
        let what = format!("table {index}");
        let ty = &table.ty;
        let kind = table_kind(ty, &what, *offset)?;
        if let TableInit::Expr(_) = table.init {
            return Err(CompileError::unsupported(
                format!("{what} has an initializer expression, which is not supported"),
                *offset,
            ));
        }
        let initial = ty.initial as u32;
        // An exported table may be grown by an importer, so it reserves the budget too.
        let max = if grown.contains(&(index as u32)) || exported.contains(&(index as u32)) {
            growable_max(ty)
        } else {
            initial
        };
        tables.push(Table {
            kind,
            initial,
            max: max.max(initial),
            init: vec![RefValue::Null; initial as usize],
            exports: Vec::new(),
            import: None,
        });
    }
    let mut elems = Vec::with_capacity(s.elements.len());
    let mut elem_globals = Vec::new();
    let mut runtime = Vec::new();
    let mut init_trap = false;
    let mut total_items = 0usize;
    for (index, element) in s.elements.iter().enumerate() {
        let what = format!("element segment {index}");
        let mut items = Vec::new();
        // Items only `synth_init` knows: 0 in the segment until it stores them.
        let mut item_globals = Vec::new();
        match &element.items {
            ElementItems::Functions(reader) => {
                for f in reader.clone() {
                    items.push(RefValue::Func(
                        f.map_err(|e| reader_error(e, ErrorKind::Malformed))?,
                    ));
                }
            }
            ElementItems::Expressions(_, reader) => {
                for expr in reader.clone() {
                    let expr = expr.map_err(|e| reader_error(e, ErrorKind::Malformed))?;
                    match ref_expr(&expr, &global_refs, &what)? {
                        RefExpr::Known(v) => items.push(v),
                        RefExpr::Global(global) => {
                            item_globals.push((items.len() as u32, global));
                            items.push(RefValue::Null);
                        }
                    }
                }
            }
        }
        total_items += items.len();
        if total_items > MAX_ELEM_ITEMS {
            return Err(CompileError::limit(format!(
                "more than {MAX_ELEM_ITEMS} element segment items"
            ))
            .at(element.range.start));
        }
        let record_globals = |elem_globals: &mut Vec<ElemGlobal>| {
            elem_globals.extend(item_globals.iter().map(|&(item, global)| ElemGlobal {
                elem: index as u32,
                item,
                global,
            }));
        };
        match &element.kind {
            ElementKind::Passive => {
                record_globals(&mut elem_globals);
                elems.push(ElemSegment { items });
            }
            ElementKind::Declared => elems.push(ElemSegment { items: Vec::new() }),
            ElementKind::Active {
                table_index,
                offset_expr,
            } => {
                let table_index = table_index.unwrap_or(0);
                let table = tables.get_mut(table_index as usize).ok_or_else(|| {
                    CompileError::internal(format!("{what} initializes a missing table"))
                })?;
                let offset_global = super::imported_global_get(offset_expr, globals);
                // From the first segment `synth_init` applies on, it applies every later one
                // too, so the segments take effect in order.
                let at_run_time = table.import.is_some()
                    || offset_global.is_some()
                    || !item_globals.is_empty()
                    || !runtime.is_empty();
                if at_run_time {
                    let offset = match offset_global {
                        Some(_) => 0,
                        None => super::const_expr(offset_expr, globals, &what)? as u32,
                    };
                    if !init_trap {
                        runtime.push(ActiveElem {
                            elem: index as u32,
                            table: table_index,
                            offset,
                            offset_global,
                        });
                    }
                    // `synth_init` applies it, then drops it.
                    record_globals(&mut elem_globals);
                    elems.push(ElemSegment { items });
                    continue;
                }
                let start = super::const_expr(offset_expr, globals, &what)? as u32;
                if !init_trap {
                    let end = start as u64 + items.len() as u64;
                    if end > table.initial as u64 {
                        init_trap = true;
                    } else {
                        table.init[start as usize..end as usize].copy_from_slice(&items);
                    }
                }
                // Dropped once instantiation applied it.
                elems.push(ElemSegment { items: Vec::new() });
            }
        }
    }
    let mut global_inits = Vec::new();
    for (g, v) in &global_refs {
        if let RefValue::Func(f) = v {
            global_inits.push((*g, *f));
        }
    }
    Ok(Tables {
        tables,
        elems,
        funcrefs: BTreeMap::new(),
        global_refs: global_inits,
        global_copies: Vec::new(),
        elem_globals,
        init_trap,
        runtime_elems: runtime,
        long_type_ids: Vec::new(),
    })
}

/// Tables some `table.grow` names (they get room to grow).
pub(super) fn grown_tables(s: &Sections<'_>) -> Result<BTreeSet<u32>> {
    let mut grown = BTreeSet::new();
    for body in &s.bodies {
        let mut reader = body
            .get_operators_reader()
            .map_err(|e| reader_error(e, ErrorKind::Malformed))?;
        while !reader.eof() {
            if let Operator::TableGrow { table } = reader
                .read()
                .map_err(|e| reader_error(e, ErrorKind::Malformed))?
            {
                grown.insert(table);
            }
        }
    }
    Ok(grown)
}

/// Finish the tables once the bodies are translated: a module that never reads a table
/// (no table operator, no `call_indirect`, no exported table) keeps none of them, nor their
/// segments; the functions whose descriptor something can reach get one, with their type id.
pub(super) fn finish_tables(
    tables: &mut Tables,
    bodies: &[Function],
    exported_table: bool,
    type_id_of_function: &dyn Fn(u32) -> Result<u32>,
) -> Result<()> {
    // A segment `synth_init` applies writes a table someone else may read.
    let mut uses_tables = exported_table || !tables.runtime_elems.is_empty();
    let mut referenced = BTreeSet::new();
    for body in bodies {
        for block in &body.blocks {
            for inst in &block.insts {
                match &inst.op {
                    Op::Table(TableOp::RefFunc(f)) => {
                        referenced.insert(*f);
                    }
                    Op::Table(_) | Op::CallIndirect(_) => uses_tables = true,
                    _ => {}
                }
            }
        }
    }
    for (_, f) in &tables.global_refs {
        referenced.insert(*f);
    }
    if uses_tables {
        let items = tables.tables.iter().flat_map(|t| t.init.iter());
        for item in items.chain(tables.elems.iter().flat_map(|e| e.items.iter())) {
            if let RefValue::Func(f) = item {
                referenced.insert(*f);
            }
        }
    } else {
        // Nothing can observe them: no descriptors, no data, no code.
        tables.tables.clear();
        tables.elems.clear();
        tables.elem_globals.clear();
    }
    for f in referenced {
        tables.funcrefs.insert(f, type_id_of_function(f)?);
    }
    Ok(())
}

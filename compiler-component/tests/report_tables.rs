//! The report's tables: what each table holds at instantiation and which functions
//! `call_indirect` can reach (the playground's "Tables" section reads the same data).

use synth_compiler::{Options, Target, compile};

const MODULE: &str = r#"(module
  (import "env" "host_cb" (func $host_cb (param i32) (result i32)))
  (type $op (func (param i32) (result i32)))
  (table $ops (export "ops") 6 funcref)
  (table $spare 2 externref)
  (elem (table $ops) (i32.const 1) func $inc $dbl $inc $host_cb)
  (elem declare func $neg)
  (func $inc (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $dbl (param i32) (result i32) local.get 0 i32.const 1 i32.shl)
  (func $neg (param i32) (result i32) i32.const 0 local.get 0 i32.sub)
  (func $unused (param i32) (result i32) local.get 0)
  (func (export "apply") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect $ops (type $op))
  (func (export "grow_spare") (result i32)
    ref.null extern i32.const 1 table.grow $spare)
  (func (export "negator") (result funcref) ref.func $neg))"#;

#[test]
fn tables_list_their_reachable_functions_and_functions_say_if_indirect() {
    let out = compile(MODULE.as_bytes(), &Options::new(Target::CortexM4)).unwrap();
    let tables = &out.report.tables;
    assert_eq!(tables.len(), 2, "{tables:?}");
    let ops = &tables[0];
    assert_eq!(ops.name, "ops");
    assert_eq!(ops.element_type, "funcref");
    // Exported: room for an importer's table.grow (the 1024-entry budget).
    assert_eq!((ops.size, ops.capacity), (6, 6 + 1024));
    // Entries 0 and 5 are null; $inc appears twice but is listed once; the import by its name.
    assert_eq!(ops.null_entries, 2);
    assert_eq!(ops.functions, ["inc", "dbl", "host_cb"]);
    let spare = &tables[1];
    assert_eq!(spare.name, "table[1]");
    assert_eq!(spare.element_type, "externref");
    // table.grow names it: room for the 1024-entry budget.
    assert_eq!((spare.size, spare.capacity), (2, 2 + 1024));
    assert_eq!(spare.null_entries, 2);
    assert!(spare.functions.is_empty());

    let indirect: Vec<(&str, bool)> = out
        .report
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.indirect))
        .filter(|(name, _)| ["inc", "dbl", "neg", "unused", "apply"].contains(name))
        .collect();
    assert_eq!(
        indirect,
        [
            ("inc", true),
            ("dbl", true),
            ("neg", true),
            ("unused", false),
            ("apply", false)
        ]
    );

    let text = out.report.to_text(false);
    assert!(
        text.contains(&format!(
            "table ops ({}): funcref, 6 entries (room for 1030), 2 null; call_indirect reaches inc, dbl, host_cb\n",
            ops.symbol
        )),
        "{text}"
    );
    let json = out.report.to_json();
    assert!(
        json.contains(&format!(
            "\"tables\":[{{\"name\":\"ops\",\"symbol\":\"{}\",\"element_type\":\"funcref\",\"size\":6,\
             \"capacity\":1030,\"null_entries\":2,\"functions\":[\"inc\",\"dbl\",\"host_cb\"]}}",
            ops.symbol
        )),
        "{json}"
    );
}

#[test]
fn a_table_nothing_reads_is_not_in_the_report() {
    let module = r#"(module
      (table 4 funcref)
      (elem (i32.const 0) func $f)
      (func $f (export "f") (result i32) i32.const 1))"#;
    let out = compile(module.as_bytes(), &Options::new(Target::Rv32imac)).unwrap();
    assert!(out.report.tables.is_empty());
    assert!(out.report.functions.iter().all(|f| !f.indirect));
    assert!(out.report.to_json().ends_with(",\"tables\":[]}"));
}

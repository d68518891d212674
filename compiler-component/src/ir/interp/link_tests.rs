//! Linked instances: imported functions run in their exporter, imported globals and memories
//! are the exporter's storage, in the frontend and in the legalized form.

use super::{Interp, InterpError, SharedInterp};
use crate::ir::{Module, TrapCode};
use crate::{Options, Target, frontend, isa, legalize, opt, softfloat};
use std::cell::RefCell;
use std::rc::Rc;

const EXPORTER: &str = r#"(module
  (global $n (export "n") (mut i32) (i32.const 5))
  (global (export "wide") (mut i64) (i64.const 0x100000000))
  (memory (export "mem") 1 3)
  (func (export "bump") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "read") (result i32) (global.get $n)))"#;

const IMPORTER: &str = r#"(module
  (import "lib" "bump" (func $bump (result i32)))
  (import "lib" "n" (global $n (mut i32)))
  (import "lib" "wide" (global $wide (mut i64)))
  (import "lib" "mem" (memory 1))
  (data (i32.const 7) "\2a")
  (func (export "twice") (result i32) (drop (call $bump)) (call $bump))
  (func (export "set") (param i32) (global.set $n (local.get 0)))
  (func (export "get") (result i32) (global.get $n))
  (func (export "widen") (global.set $wide (i64.add (global.get $wide) (i64.const 1))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#;

/// A module that fails to instantiate after writing its first segment into the shared memory.
const PARTIAL: &str = r#"(module
  (import "lib" "mem" (memory 1))
  (data (i32.const 9) "\63")
  (data (i32.const 0x3ffff) "ab"))"#;

fn module(wat: &str, legalized: bool, max_pages: u32) -> Module {
    let mut options = Options::new(Target::CortexM3);
    options.max_memory_pages = Some(max_pages);
    let wasm = frontend::decode(wat.as_bytes()).expect("decode");
    let mut m = frontend::translate(&wasm, &options).expect("translate");
    if legalized {
        let caps = isa::caps(Target::CortexM3);
        opt::run(&mut m, opt::Stage::Frontend);
        softfloat::run(&mut m, caps).expect("softfloat");
        legalize::run(&mut m, caps, &options).expect("legalize");
        opt::run(&mut m, opt::Stage::legalized_cortex_m());
    }
    m
}

fn call(interp: &SharedInterp, name: &str, args: &[u64]) -> Result<Vec<u64>, InterpError> {
    let f = interp.borrow().export(name).expect(name);
    interp.borrow_mut().call(f, args)
}

#[test]
fn linked_instances_share_functions_globals_and_memory() {
    for legalized in [false, true] {
        // The importer's memory may grow as far as its exporter's maximum (3 pages).
        let (lib, user, partial) = (
            module(EXPORTER, legalized, 1024),
            module(IMPORTER, legalized, 3),
            module(PARTIAL, legalized, 3),
        );
        let exporter: SharedInterp = Rc::new(RefCell::new(Interp::new(&lib).expect("setup")));
        exporter.borrow_mut().instantiate().expect("instantiate");
        let importer: SharedInterp = Rc::new(RefCell::new(Interp::new(&user).expect("setup")));
        importer.borrow_mut().link("lib", &exporter).expect("link");
        importer.borrow_mut().instantiate().expect("instantiate");
        let form = if legalized { "legalized" } else { "frontend" };

        // The importer's data segment landed in the exporter's memory.
        assert_eq!(call(&exporter, "peek", &[7]), Ok(vec![42]), "{form}");
        // An imported function runs in the exporter, with its state.
        assert_eq!(call(&importer, "twice", &[]), Ok(vec![7]), "{form}");
        assert_eq!(call(&exporter, "bump", &[]), Ok(vec![8]), "{form}");
        // A global written by the importer is the exporter's, and the other way round.
        call(&importer, "set", &[100]).expect("set");
        assert_eq!(exporter.borrow().global(0), Some(100), "{form}");
        assert_eq!(call(&exporter, "read", &[]), Ok(vec![100]), "{form}");
        assert_eq!(call(&exporter, "bump", &[]), Ok(vec![101]), "{form}");
        assert_eq!(call(&importer, "get", &[]), Ok(vec![101]), "{form}");
        call(&importer, "widen", &[]).expect("widen");
        assert_eq!(exporter.borrow().global(1), Some(0x1_0000_0001), "{form}");
        // Growing and writing through the importer is seen by the exporter.
        assert_eq!(call(&importer, "grow", &[2]), Ok(vec![1]), "{form}");
        assert_eq!(exporter.borrow().memory_bytes(), 3 * 65536, "{form}");
        assert_eq!(
            call(&importer, "grow", &[1]),
            Ok(vec![0xffff_ffff]),
            "{form}"
        );
        call(&importer, "poke", &[0x2_0000, 9]).expect("poke");
        assert_eq!(call(&exporter, "peek", &[0x2_0000]), Ok(vec![9]), "{form}");

        // A failing instantiation keeps the segments written before the one that does not fit.
        let failing: SharedInterp = Rc::new(RefCell::new(Interp::new(&partial).expect("setup")));
        failing.borrow_mut().link("lib", &exporter).expect("link");
        assert_eq!(
            failing.borrow_mut().instantiate(),
            Err(InterpError::Trap(TrapCode::DataSegmentOutOfBounds)),
            "{form}"
        );
        assert_eq!(call(&exporter, "peek", &[9]), Ok(vec![0x63]), "{form}");
    }
}

#[test]
fn linking_to_a_missing_export_is_an_error() {
    let lib = module(r#"(module (func (export "other")))"#, false, 1);
    let user = module(IMPORTER, false, 1);
    let exporter: SharedInterp = Rc::new(RefCell::new(Interp::new(&lib).expect("setup")));
    let mut importer = Interp::new(&user).expect("setup");
    assert!(matches!(
        importer.link("lib", &exporter),
        Err(InterpError::Invalid(m)) if m.contains("bump")
    ));
}

const TABLE_OWNER: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (type $wide (func (param i64 f64 i32 i64 f32 i32 f64) (result i64)))
  (table $t (export "tab") 2 8 funcref)
  (elem (i32.const 0) $double)
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func (export "call_wide") (param i32) (result i64)
    (call_indirect (type $wide) (i64.const 5) (f64.const 1) (i32.const 2) (i64.const 0x100000000)
      (f32.const 3) (i32.const 4) (f64.const 6) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func $neg (export "neg") (type $ii) (i32.sub (i32.const 0) (local.get 0)))
  (global (export "fn") funcref (ref.func $neg)))"#;

const TABLE_USER: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (type $wide (func (param i64 f64 i32 i64 f32 i32 f64) (result i64)))
  (import "lib" "neg" (func $neg (type $ii)))
  (import "lib" "tab" (table $t 1 funcref))
  (import "lib" "fn" (global $fn funcref))
  (elem (i32.const 1) $inc)
  (elem (table $t) (i32.const 0) funcref (global.get $fn))
  (elem declare func $sum $neg)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $sum (type $wide) (i64.add (local.get 0) (local.get 3)))
  (func (export "grow_with_sum") (result i32) (table.grow $t (ref.func $sum) (i32.const 1)))
  (func (export "grow_with_neg") (result i32) (table.grow $t (ref.func $neg) (i32.const 1)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0))))"#;

#[test]
fn a_shared_table_calls_into_the_instance_that_filled_it() {
    for legalized in [false, true] {
        let form = if legalized { "legalized" } else { "frontend" };
        let (lib, user) = (
            module(TABLE_OWNER, legalized, 1),
            module(TABLE_USER, legalized, 1),
        );
        let space = super::RefSpace::shared();
        let exporter = Interp::new_in(&lib, &space).expect("setup").into_shared();
        exporter.borrow_mut().instantiate().expect("instantiate");
        let importer = Interp::new_in(&user, &space).expect("setup").into_shared();
        importer.borrow_mut().link("lib", &exporter).expect("link");
        importer.borrow_mut().instantiate().expect("instantiate");

        // Entry 0 was the exporter's `double`, then the importer's element segment stored the
        // exporter's global there (`neg`); entry 1 is the importer's own function.
        assert_eq!(
            call(&importer, "call", &[0, 20]),
            Ok(vec![-20i32 as u32 as u64]),
            "{form}"
        );
        assert_eq!(call(&exporter, "call", &[1, 20]), Ok(vec![21]), "{form}");
        // Growing through the importer is seen by the exporter, and its new entry (a function
        // with 64-bit and float parameters) is callable from the exporter.
        assert_eq!(call(&importer, "grow_with_sum", &[]), Ok(vec![2]), "{form}");
        assert_eq!(call(&exporter, "size", &[]), Ok(vec![3]), "{form}");
        assert_eq!(
            call(&exporter, "call_wide", &[2]),
            Ok(vec![0x1_0000_0005]),
            "{form}"
        );
        // The signature check holds across instances.
        assert_eq!(
            call(&exporter, "call", &[2, 1]),
            Err(InterpError::Trap(TrapCode::IndirectCallTypeMismatch)),
            "{form}"
        );
        // A reference to an import is its exporter's function: the running exporter calls it
        // without entering the importer.
        assert_eq!(call(&importer, "grow_with_neg", &[]), Ok(vec![3]), "{form}");
        assert_eq!(
            call(&exporter, "call", &[3, 7]),
            Ok(vec![-7i32 as u32 as u64]),
            "{form}"
        );
        assert_eq!(exporter.borrow().exported_table_size("tab"), Some(4));
    }
}

#[test]
fn tables_link_only_within_one_space() {
    let (lib, user) = (module(TABLE_OWNER, false, 1), module(TABLE_USER, false, 1));
    let exporter = Interp::new(&lib).expect("setup").into_shared();
    let mut importer = Interp::new(&user).expect("setup");
    assert!(matches!(
        importer.link("lib", &exporter),
        Err(InterpError::Invalid(m)) if m.contains("reference spaces")
    ));
}

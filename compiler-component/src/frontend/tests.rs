//! Frontend tests: WAT -> translate -> verify -> structure checks and execution in the IR
//! interpreter (results computed by hand from wasm semantics), plus bad inputs.

use crate::error::ErrorKind;
use crate::ir::interp::{Interp, InterpError};
use crate::ir::table::RefValue;
use crate::ir::{Module, Op, Terminator, TrapCode, Type};
use crate::options::Options;

use super::limits::MAX_CONTROL_NESTING;
use super::{decode, translate};

fn module(wat: &str) -> Module {
    let wasm = decode(wat.as_bytes()).unwrap_or_else(|e| panic!("decode: {e}"));
    let module = translate(&wasm, &Options::default()).unwrap_or_else(|e| panic!("translate: {e}"));
    crate::ir::verify::module(&module, false).unwrap_or_else(|e| panic!("verify: {e}"));
    module
}

fn export(module: &Module, name: &str) -> u32 {
    module
        .functions
        .iter()
        .position(|f| f.exports.iter().any(|e| e == name))
        .unwrap_or_else(|| panic!("no export {name}")) as u32
}

/// Call an export in the interpreter, both as translated and after `opt::run`.
fn call(module: &Module, name: &str, args: &[u64]) -> Result<Vec<u64>, InterpError> {
    call_limited(module, name, args, crate::ir::interp::DEFAULT_STEP_LIMIT)
}

/// As `call`, with a step budget; when either run exhausts it the results are not compared.
fn call_limited(
    module: &Module,
    name: &str,
    args: &[u64],
    steps: u64,
) -> Result<Vec<u64>, InterpError> {
    let func = export(module, name);
    let run = |m: &Module| {
        let mut interp = Interp::new(m).expect("interp");
        interp.set_step_limit(steps);
        // A start function that traps is the outcome (both runs must agree on it).
        match interp.instantiate() {
            Ok(()) => interp.call(func, args),
            Err(trap @ InterpError::Trap(_)) => Err(trap),
            Err(e) => panic!("instantiate: {e}"),
        }
    };
    let plain = run(module);
    let mut optimized = module.clone();
    crate::opt::run(&mut optimized, crate::opt::Stage::Frontend);
    crate::ir::verify::module(&optimized, false).unwrap_or_else(|e| panic!("verify opt: {e}"));
    let after = run(&optimized);
    if plain != Err(InterpError::StepLimit) && after != Err(InterpError::StepLimit) {
        assert_eq!(plain, after, "{name}{args:?}: opt changed the result");
    }
    plain
}

fn error(input: &[u8]) -> crate::CompileError {
    match decode(input).and_then(|wasm| translate(&wasm, &Options::default())) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

const LOOPS: &str = r#"(module
  (func (export "sum_to") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "classify") (param $x i32) (result i32)
    (block $other (block $two (block $one (block $zero
      (br_table $zero $one $two $other (local.get $x)))
      (return (i32.const 100)))
      (return (i32.const 101)))
      (return (i32.const 102)))
    (i32.const 199))
  (func (export "pick") (param $c i32) (result i32)
    (if (result i32) (local.get $c) (then (i32.const 7)) (else (i32.const 9))))
  (func (export "nested_break") (param $x i32) (result i32)
    (block $outer (result i32)
      (block $inner
        (br_if $inner (i32.eqz (local.get $x)))
        (br $outer (i32.const 5))
        (unreachable) (drop (i32.add)))
      (i32.const 6))))"#;

#[test]
fn loops_branches_and_tables_execute() {
    let m = module(LOOPS);
    assert_eq!(call(&m, "sum_to", &[0]), Ok(vec![0]));
    assert_eq!(call(&m, "sum_to", &[10]), Ok(vec![55]));
    assert_eq!(call(&m, "sum_to", &[1000]), Ok(vec![500_500]));
    for (x, want) in [(0, 100), (1, 101), (2, 102), (3, 199), (0xffff_ffff, 199)] {
        assert_eq!(call(&m, "classify", &[x]), Ok(vec![want]), "classify({x})");
    }
    assert_eq!(call(&m, "pick", &[1]), Ok(vec![7]));
    assert_eq!(call(&m, "pick", &[0]), Ok(vec![9]));
    assert_eq!(call(&m, "nested_break", &[0]), Ok(vec![6]));
    assert_eq!(call(&m, "nested_break", &[3]), Ok(vec![5]));
}

#[test]
fn ssa_is_minimal_and_branch_targets_take_no_params() {
    let m = module(LOOPS);
    let sum = &m.bodies[export(&m, "sum_to") as usize];
    // Only the loop header merges values ($n and $acc); the block end and the exits do not.
    let with_params: Vec<usize> = sum
        .blocks
        .iter()
        .skip(1)
        .map(|b| b.params.len())
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(with_params, vec![2], "{sum}");
    assert!(
        sum.blocks
            .iter()
            .all(|b| b.insts.iter().all(|i| i.op != Op::Copy))
    );
    let pick = &m.bodies[export(&m, "pick") as usize];
    let joins: Vec<usize> = pick.blocks.iter().skip(1).map(|b| b.params.len()).collect();
    assert!(
        joins.contains(&1),
        "the if/else result is a join parameter: {pick}"
    );
    for body in &m.bodies {
        for block in &body.blocks {
            let targets = match &block.term {
                Terminator::Branch {
                    then_block,
                    else_block,
                    ..
                } => vec![*then_block, *else_block],
                Terminator::Switch {
                    targets, default, ..
                } => targets.iter().copied().chain([*default]).collect(),
                _ => Vec::new(),
            };
            for t in targets {
                assert!(body.block(t).params.is_empty(), "{body}");
            }
        }
    }
}

#[test]
fn block_params_and_multi_value_results() {
    let m = module(
        r#"(module
      (type $pair (func (result i32 i64)))
      (func $two (type $pair) (i32.const -3) (i64.const 0x100000000))
      (func (export "swap_sum") (param i32 i32) (result i32 i32)
        (local.get 1) (local.get 0)
        (block (param i32 i32) (result i32 i32)
          (i32.add (i32.const 1)) ))
      (func (export "loop_param") (param $n i32) (result i32)
        (i32.const 0)
        (loop (param i32) (result i32)
          (i32.add (local.get $n))
          (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if 0)))
      (func (export "if_param") (param $c i32) (param $x i32) (result i32)
        (local.get $x)
        (if (param i32) (result i32) (local.get $c)
          (then (i32.mul (i32.const 3)))
          (else (i32.sub (i32.const 1)))))
      (func (export "if_no_else") (param $c i32) (param $x i32) (result i32)
        (local.get $x)
        (if (param i32) (result i32) (local.get $c) (then (i32.const 10) (i32.add))))
      (func (export "call_two") (result i64) (local $b i64)
        (call $two) (local.set $b) (i64.extend_i32_s) (local.get $b) (i64.add))
    )"#,
    );
    assert_eq!(call(&m, "swap_sum", &[5, 8]), Ok(vec![8, 6]));
    // 0 + 4 + 3 + 2 + 1, stopping once $n reaches 0.
    assert_eq!(call(&m, "loop_param", &[4]), Ok(vec![10]));
    assert_eq!(call(&m, "if_param", &[1, 5]), Ok(vec![15]));
    assert_eq!(call(&m, "if_param", &[0, 5]), Ok(vec![4]));
    assert_eq!(call(&m, "if_no_else", &[1, 5]), Ok(vec![15]));
    assert_eq!(call(&m, "if_no_else", &[0, 5]), Ok(vec![5]));
    assert_eq!(call(&m, "call_two", &[]), Ok(vec![0xffff_fffd]));
}

#[test]
fn division_traps_exactly_where_wasm_does() {
    let m = module(
        r#"(module
      (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
      (func (export "div_u") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
      (func (export "div_s64") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
      (func (export "rem_s64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1))))"#,
    );
    let min32 = 0x8000_0000u64;
    let neg1 = 0xffff_ffffu64;
    let trap = |c| Err(InterpError::Trap(c));
    assert_eq!(
        call(&m, "div_s", &[7, 0]),
        trap(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(
        call(&m, "div_s", &[min32, neg1]),
        trap(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        call(&m, "div_s", &[min32, 0]),
        trap(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(
        call(&m, "div_s", &[(-7i32) as u32 as u64, 2]),
        Ok(vec![(-3i32) as u32 as u64])
    );
    assert_eq!(call(&m, "rem_s", &[min32, neg1]), Ok(vec![0]));
    assert_eq!(
        call(&m, "rem_s", &[5, 0]),
        trap(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(call(&m, "div_u", &[neg1, 2]), Ok(vec![0x7fff_ffff]));
    let min64 = i64::MIN as u64;
    assert_eq!(
        call(&m, "div_s64", &[min64, u64::MAX]),
        trap(TrapCode::IntegerOverflow)
    );
    assert_eq!(call(&m, "rem_s64", &[min64, u64::MAX]), Ok(vec![0]));
    assert_eq!(
        call(&m, "div_s64", &[1, 0]),
        trap(TrapCode::IntegerDivideByZero)
    );
    // The checks are explicit TrapIf instructions before the division.
    let body = &m.bodies[export(&m, "div_s") as usize];
    let traps: Vec<TrapCode> = body.blocks[0]
        .insts
        .iter()
        .filter_map(|i| match i.op {
            Op::TrapIf(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(
        traps,
        vec![TrapCode::IntegerDivideByZero, TrapCode::IntegerOverflow]
    );
}

#[test]
fn memory_globals_imports_and_data() {
    let m = module(
        r#"(module
      (import "env" "mix" (func $mix (param i32 i64) (result i32)))
      (memory (export "mem") 1 4)
      (global $counter (export "counter") (mut i32) (i32.const 40))
      (global $big i64 (i64.const -2))
      (data (i32.const 16) "\01\02\03\04\fe\ff")
      (func (export "load_data") (result i32) (i32.load offset=16 (i32.const 0)))
      (func (export "load_signed") (result i64) (i64.load16_s offset=4 (i32.const 16)))
      (func (export "store_load") (param i32 i32) (result i32)
        (i32.store8 (local.get 0) (local.get 1))
        (i32.load8_u (local.get 0)))
      (func (export "oob") (result i32) (i32.load (i32.const 65533)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "bump") (result i32)
        (global.set $counter (i32.add (global.get $counter) (i32.const 2)))
        (global.get $counter))
      (func (export "big") (result i64) (global.get $big))
      (func (export "call_mix") (param i32) (result i32) (call $mix (local.get 0) (i64.const 10))))"#,
    );
    assert_eq!(
        m.memory.as_ref().map(|x| (x.initial_pages, x.max_pages)),
        Some((1, 4))
    );
    assert_eq!(m.data.len(), 1);
    assert_eq!(m.data[0].offset, Some(16));
    assert_eq!(m.globals[0].init, 40);
    assert!(m.globals[0].mutable && !m.globals[1].mutable);
    assert_eq!(m.globals[1].ty, Type::I64);
    assert_eq!(call(&m, "load_data", &[]), Ok(vec![0x0403_0201]));
    assert_eq!(call(&m, "load_signed", &[]), Ok(vec![(-2i64) as u64]));
    assert_eq!(call(&m, "store_load", &[100, 0x1ff]), Ok(vec![0xff]));
    assert_eq!(
        call(&m, "oob", &[]),
        Err(InterpError::Trap(TrapCode::MemoryOutOfBounds))
    );
    assert_eq!(call(&m, "grow", &[3]), Ok(vec![1]));
    assert_eq!(call(&m, "grow", &[4]), Ok(vec![0xffff_ffff]));
    assert_eq!(call(&m, "size", &[]), Ok(vec![1]));
    assert_eq!(call(&m, "bump", &[]), Ok(vec![42]));
    assert_eq!(call(&m, "big", &[]), Ok(vec![(-2i64) as u64]));
    // Mock import: sum of the arguments (i32 sign-extended) + 0x1234.
    assert_eq!(call(&m, "call_mix", &[0xffff_ffff]), Ok(vec![9 + 0x1234]));
    let mix = &m.functions[0];
    assert_eq!(mix.sig.params, vec![Type::I32, Type::I64]);
    assert!(matches!(mix.kind, crate::ir::FunctionKind::Imported(_)));
}

#[test]
fn effective_memory_maximum_respects_options_and_initial_size() {
    let max_pages = |wat: &str, cap: Option<u32>| {
        let options = Options {
            max_memory_pages: cap,
            ..Options::default()
        };
        let m = translate(&decode(wat.as_bytes()).unwrap(), &options).unwrap();
        m.memory.map(|x| x.max_pages)
    };
    // By default, what the module declares: its initial size without a maximum, else the
    // maximum, capped at 16 pages.
    assert_eq!(max_pages("(module (memory 3))", None), Some(3));
    assert_eq!(max_pages("(module (memory 1 5))", None), Some(5));
    assert_eq!(max_pages("(module (memory 1 100))", None), Some(16));
    assert_eq!(max_pages("(module (memory 20 100))", None), Some(20));
    // A cap the user sets: room to grow without a declared maximum, a bound on one.
    assert_eq!(max_pages("(module (memory 3))", Some(8)), Some(8));
    assert_eq!(max_pages("(module (memory 1 5))", Some(3)), Some(3));
    assert_eq!(max_pages("(module (memory 1 5))", Some(64)), Some(5));
    // Never below the initial size.
    assert_eq!(max_pages("(module (memory 3))", Some(2)), Some(3));
}

#[test]
fn names_come_from_exports_then_the_name_section_then_the_index() {
    let m = module(
        r#"(module
      (func $internal (result i32) (i32.const 1))
      (func (export "visible") (result i32) (call $internal))
      (func (result i32) (i32.const 3))
      (start $start) (func $start))"#,
    );
    let names: Vec<&str> = m.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["internal", "visible", "func[2]", "start"]);
    assert_eq!(m.start, Some(3));
    assert_eq!(m.bodies[1].name, "visible");
}

#[test]
fn unsupported_operators_name_function_operator_and_offset() {
    // A signature with v128 is rejected for the function that has it.
    let e = error(br#"(module (func (export "f") (param v128)))"#);
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.function.as_deref(), Some("f"));
    assert!(e.message.contains("v128"), "{e}");

    let wasm = decode(
        br#"(module (func (export "g") (result i32)
              (i32.const 1) (drop (i32x4.splat (i32.const 2)))))"#,
    )
    .unwrap();
    let e = translate(&wasm, &Options::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.function.as_deref(), Some("g"));
    assert!(e.message.contains("`i32x4.splat`"), "{e}");
    // The offset is that of the SIMD prefix byte (0xfd) in the binary.
    let offset = e.offset.expect("offset") as usize;
    assert_eq!(wasm[offset], 0xfd, "offset {offset:#x} of {e}");

    // An imported table is its import's symbol; segments into it, and segments at an offset
    // read from an imported global (and every active segment after one), `synth_init` applies.
    let wasm = decode(
        br#"(module (import "env" "t" (table 1 5 funcref)) (import "env" "g" (global i32))
              (table 2 funcref) (func)
              (elem (table 1) (i32.const 0) func 0) (elem (table 0) (i32.const 0) func 0)
              (elem (table 1) (global.get 0) func 0) (elem (table 1) (i32.const 1) func 0)
              (func (call_indirect (i32.const 0))))"#,
    )
    .unwrap();
    let m = translate(&wasm, &Options::default()).unwrap();
    let imported = &m.tables.tables[0];
    assert_eq!(
        (imported.initial, imported.max, imported.init.len()),
        (1, 5, 0)
    );
    assert_eq!(imported.import.as_ref().map(|i| i.name.as_str()), Some("t"));
    assert_eq!(m.tables.tables[1].init[0], RefValue::Func(0));
    let runtime: Vec<(u32, u32, u32, Option<u32>)> = m
        .tables
        .runtime_elems
        .iter()
        .map(|a| (a.elem, a.table, a.offset, a.offset_global))
        .collect();
    assert_eq!(
        runtime,
        vec![(1, 0, 0, None), (2, 1, 0, Some(0)), (3, 1, 1, None)]
    );
    assert!(m.tables.elems[1].items == vec![RefValue::Func(0)]);
    // An element item read from an imported global is stored by `synth_init`, which applies
    // that active segment, and every later one, at run time.
    let wasm = decode(
        br#"(module (import "env" "r" (global funcref)) (table 2 funcref)
              (elem (i32.const 0) funcref (global.get 0)) (elem (i32.const 1) $f)
              (elem $p funcref (ref.func $f) (global.get 0))
              (func $f (call_indirect (i32.const 0)) (table.init $p (i32.const 0) (i32.const 0) (i32.const 1))))"#,
    )
    .unwrap();
    let m = translate(&wasm, &Options::default()).unwrap();
    let stored: Vec<(u32, u32, u32)> = m
        .tables
        .elem_globals
        .iter()
        .map(|g| (g.elem, g.item, g.global))
        .collect();
    assert_eq!(stored, vec![(0, 0, 0), (2, 1, 0)]);
    let runtime: Vec<u32> = m.tables.runtime_elems.iter().map(|a| a.elem).collect();
    assert_eq!(runtime, vec![0, 1]);
    assert_eq!(
        m.tables.elems[2].items,
        vec![RefValue::Func(0), RefValue::Null]
    );
    // A global initializer and a data offset may read an imported global: `synth_init` does.
    let wasm = decode(
        br#"(module (import "env" "g" (global i32)) (global i32 (global.get 0)) (memory 1)
              (data (global.get 0) "x") (data (i32.const 4) "y"))"#,
    )
    .unwrap();
    let m = translate(&wasm, &Options::default()).unwrap();
    assert_eq!(m.tables.global_copies, vec![(1, 0)]);
    assert_eq!(
        m.data
            .iter()
            .map(|d| (d.offset, d.offset_global))
            .collect::<Vec<_>>(),
        vec![(Some(0), Some(0)), (Some(4), None)]
    );
    // A re-export is an alias of the import's symbol, defined when linking.
    let wasm = decode(
        br#"(module (import "env" "g" (global i32)) (export "h" (global 0))
              (import "env" "t" (table 1 funcref)) (export "t2" (table 0))
              (import "env" "m" (memory 1)) (export "m2" (memory 0))
              (import "env" "f" (func)) (export "f2" (func 0)))"#,
    )
    .unwrap();
    let options = Options {
        module_name: Some("ns".into()),
        ..Options::default()
    };
    let m = translate(&wasm, &options).unwrap();
    let aliases = m.reexport_aliases();
    let pairs: Vec<(&str, &str)> = aliases
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("ns_f2", "env_f"),
            ("ns_h", "env_g"),
            ("ns_m2_bytes", "env_m_bytes"),
            ("ns_m2", "env_m"),
            ("ns_t2", "env_t"),
        ]
    );
    let e = error(br#"(module (import "env" "m" (memory 1)) (memory 1))"#);
    assert!(
        e.kind == ErrorKind::Unsupported && e.message.contains("memories"),
        "{e}"
    );
    let e = error(br#"(module (memory 1) (memory 1))"#);
    assert_eq!(e.kind, ErrorKind::Unsupported);
    let e = error(br#"(module (memory i64 1))"#);
    assert_eq!(e.kind, ErrorKind::Unsupported);
    let e = error(br#"(module (func (drop (v128.const i32x4 1 2 3 4))))"#);
    assert!(
        e.kind == ErrorKind::Unsupported && e.message.contains("v128.const"),
        "{e}"
    );
    let e = error(br#"(module (global v128 (v128.const i64x2 1 2)))"#);
    assert_eq!(e.kind, ErrorKind::Unsupported);
}

#[test]
fn bulk_memory_bad_input_names_function_operator_and_offset() {
    // memory.init of a segment that does not exist: the validator's message, the function,
    // the operator and its offset.
    let wasm = decode(
        br#"(module (memory 1) (data "ab")
              (func (export "h") (memory.init 3 (i32.const 0) (i32.const 0) (i32.const 0))))"#,
    )
    .unwrap();
    let e = translate(&wasm, &Options::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.function.as_deref(), Some("h"));
    assert!(
        e.message.contains("unknown data segment 3") && e.message.contains("`memory.init`"),
        "{e}"
    );
    let offset = e.offset.expect("offset") as usize;
    assert_eq!(wasm[offset], 0xfc, "the prefix byte of memory.init, {e}");
    // A data count section that disagrees with the data section: malformed, with an offset.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend([5, 3, 1, 0, 1]); // memory section: one memory of 1 page
    wasm.extend([12, 1, 2]); // data count: 2
    wasm.extend([11, 5, 1, 1, 1, b'x', 0]); // data section: one passive segment "x"
    let e = translate(&wasm, &Options::default()).unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::Malformed | ErrorKind::Invalid) && e.offset.is_some(),
        "{e}"
    );
    // data.drop without a data count section.
    let e = error(br#"(module (memory 1) (func (data.drop 0)))"#);
    assert!(
        matches!(e.kind, ErrorKind::Malformed | ErrorKind::Invalid),
        "{e}"
    );
    // Another memory than 0 is multi-memory: unsupported, not invalid.
    let e = error(
        br#"(module (memory 1) (memory 1)
              (func (memory.copy 1 0 (i32.const 0) (i32.const 0) (i32.const 0))))"#,
    );
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
}

#[test]
fn passive_data_no_memory_init_reads_keeps_no_bytes() {
    let m = module(
        r#"(module (memory 1)
          (data $read "abc") (data $unread "xyz") (data (i32.const 8) "act")
          (func (export "f") (memory.init $read (i32.const 0) (i32.const 0) (i32.const 3))
            (data.drop $unread)))"#,
    );
    assert_eq!(m.data.len(), 3);
    assert_eq!(
        (m.data[0].offset, m.data[0].bytes.as_slice()),
        (None, &b"abc"[..])
    );
    assert_eq!((m.data[1].offset, m.data[1].bytes.len()), (None, 0));
    assert_eq!(m.data[2].offset, Some(8));
    assert_eq!(call(&m, "f", &[]), Ok(vec![]));
}

#[test]
fn dead_code_after_branches_is_skipped_even_when_unsupported() {
    let m = module(
        r#"(module (func (export "f") (param i32) (result i32)
          (block (result i32)
            (br 0 (i32.const 4))
            (f32.add) (drop) (block (loop (if (i32.const 0) (then (f64.const 1) (drop)))))
            (i32.const 9))
          (return)
          (i32.const 5)))"#,
    );
    assert_eq!(call(&m, "f", &[0]), Ok(vec![4]));
}

#[test]
fn malformed_and_invalid_inputs_are_clean_errors() {
    let e = error(b"\xff\xfe not text");
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.message.contains("not a WebAssembly module"), "{e}");
    assert!(e.message.contains("starts with `ff fe 20 6e`"), "{e}");
    // An ELF file is ASCII at the start and full of NULs: not a WAT parse error about `\u{0}`.
    let e = error(b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0\x01\0(\0");
    assert!(e.message.contains("starts with `7f 45 4c 46`"), "{e}");
    // Control bytes inside a WAT comment are still text.
    let wasm =
        decode(b"(module (; \x01\x02 ;) (func))").expect("text with control bytes in a comment");
    assert!(wasm.starts_with(b"\0asm"));
    let e = error(b"(module (func (result i32) (i32.add)))");
    assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
    assert!(e.offset.is_some());
    let e = error(b"(module (func $x (unknown_instr)))");
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.message.contains("1:"), "wat reports line:column: {e}");
    // Every truncation of a valid module is an error value, never a panic.
    let wasm = decode(LOOPS.as_bytes()).unwrap();
    let mut errors = 0;
    for len in 0..wasm.len() {
        // A cut at a section boundary can leave a valid (smaller) module.
        if let Err(e) = translate(&wasm[..len], &Options::default()) {
            assert!(
                matches!(e.kind, ErrorKind::Malformed | ErrorKind::Invalid),
                "{len}: {e}"
            );
            assert!(e.offset.is_some(), "{len}: {e}");
            errors += 1;
        }
    }
    assert!(errors > wasm.len() - 8, "{errors} of {}", wasm.len());
    // Deterministic pseudo-random bytes after a valid header.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..200 {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(state as u8);
        }
        let _ = translate(&bytes, &Options::default());
    }
}

/// A binary module with one `[] -> []` function whose body is `body` (without the final end).
fn module_with_body(locals: &[u8], body: &[u8]) -> Vec<u8> {
    fn leb(mut v: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut code = locals.to_vec();
    code.extend_from_slice(body);
    code.push(0x0b);
    let mut func = Vec::new();
    leb(code.len(), &mut func);
    func.extend(code);
    let mut section = vec![1];
    section.extend(func);
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]); // type section: [] -> []
    wasm.extend_from_slice(&[3, 2, 1, 0]); // function section
    wasm.push(10);
    leb(section.len(), &mut wasm);
    wasm.extend(section);
    wasm
}

#[test]
fn limits_give_limit_errors_not_crashes() {
    // 100 000 locals: (1 entry, count 100 000, i32).
    let wasm = module_with_body(&[1, 0xa0, 0x8d, 0x06, 0x7f], &[]);
    let e = translate(&wasm, &Options::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert_eq!(e.function.as_deref(), Some("func[0]"));

    // 10 000 nested blocks.
    let depth = 10_000;
    let mut body = Vec::new();
    body.extend(std::iter::repeat_n([0x02u8, 0x40], depth).flatten());
    body.extend(std::iter::repeat_n(0x0bu8, depth));
    let wasm = module_with_body(&[0], &body);
    let e = translate(&wasm, &Options::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("nesting"), "{e}");

    // Just inside the limit works.
    let depth = MAX_CONTROL_NESTING - 1;
    let mut body = Vec::new();
    body.extend(std::iter::repeat_n([0x02u8, 0x40], depth).flatten());
    body.extend(std::iter::repeat_n(0x0bu8, depth));
    let wasm = module_with_body(&[0], &body);
    let m = translate(&wasm, &Options::default()).unwrap();
    crate::ir::verify::module(&m, false).unwrap();
}

#[test]
fn every_fixture_translates_verifies_and_keeps_its_results_under_opt() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    let edges: [u64; 6] = [0, 1, 7, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff];
    for path in paths {
        let text = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        let wasm = decode(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let m = translate(&wasm, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        crate::ir::verify::module(&m, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        for decl in &m.functions {
            let Some(export_name) = decl.exports.first() else {
                continue;
            };
            for (i, edge) in edges.iter().enumerate() {
                let args: Vec<u64> = (0..decl.sig.params.len())
                    .map(|k| edges[(i + k) % edges.len()] ^ (*edge & 1))
                    .collect();
                // Both runs must agree (checked inside); traps and step limits are fine here.
                let _ = call_limited(&m, export_name, &args, 200_000);
            }
        }
    }
}

#[test]
fn tables_compile_and_bad_table_input_is_a_precise_error() {
    let ok = |src: &[u8]| {
        decode(src)
            .and_then(|w| translate(&w, &Options::default()))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // A table nothing reads costs nothing: no tables, segments or descriptors survive.
    let m = ok(br#"(module (table 4 funcref) (elem (i32.const 0) $f) (func $f))"#);
    assert!(m.tables.tables.is_empty() && m.tables.funcrefs.is_empty());
    assert!(!m.tables.init_trap);
    // An active segment beyond the table: synth_init traps, even when nothing reads the table.
    let m = ok(br#"(module (table 1 funcref) (elem (i32.const 1) $f) (func $f))"#);
    assert!(m.tables.init_trap);
    // Used tables keep their static contents and only referenced functions get descriptors.
    let m = ok(
        br#"(module (type $t (func)) (table 3 funcref) (elem (i32.const 1) $f)
        (func $f) (func $g)
        (func (export "h") (call_indirect (type $t) (i32.const 1))))"#,
    );
    assert_eq!(
        m.tables.tables[0].init[1],
        crate::ir::table::RefValue::Func(0)
    );
    assert_eq!(
        m.tables.funcrefs.keys().copied().collect::<Vec<_>>(),
        vec![0]
    );
    // A table that grows gets the budget beyond its initial size, capped by its maximum.
    let m = ok(br#"(module (table 2 10 externref)
        (func (export "g") (result i32) (table.grow 0 (ref.null extern) (i32.const 1))))"#);
    assert_eq!(
        (m.tables.tables[0].initial, m.tables.tables[0].max),
        (2, 10)
    );
    // A signature whose type id needs more than 32 bits has a long id: the address of a weak
    // symbol per canonical signature (an even IR id indexing `long_type_ids`).
    let wasm = decode(
        br#"(module (type $t (func (param f64 f64 f64 f64 f64 f64 f64 f64)))
        (type $u (func (param f64 f64 f64 f64 f64 f64 f64 f64)))
        (table 1 funcref) (func (export "h") (call_indirect (type $u)
          (f64.const 0) (f64.const 0) (f64.const 0) (f64.const 0)
          (f64.const 0) (f64.const 0) (f64.const 0) (f64.const 0) (i32.const 0))))"#,
    )
    .unwrap();
    let m = translate(&wasm, &Options::default()).unwrap();
    assert_eq!(m.tables.long_type_ids.len(), 1, "one canonical signature");
    let ids: Vec<u32> = m
        .bodies
        .iter()
        .flat_map(|b| &b.blocks)
        .flat_map(|b| &b.insts)
        .filter_map(|i| match &i.op {
            Op::CallIndirect(call) => Some(call.type_id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec![crate::ir::table::long_type_id(0)]);
    // Malformed element segments are the validator's error, never a panic.
    for bad in [
        &b"\0asm\x01\0\0\0\x09\x05\x01\x00\x41\x00"[..],
        &b"\0asm\x01\0\0\0\x04\x04\x01\x70\x00\x01\x09\x07\x01\x00\x41\x05\x0b\x01\x07"[..],
        &b"\0asm\x01\0\0\0\x04\x04\x01\x70\x00\x01\x09\x03\x01\x07\x00"[..],
    ] {
        let e = translate(bad, &Options::default()).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Malformed | ErrorKind::Invalid),
            "{e}"
        );
    }
}

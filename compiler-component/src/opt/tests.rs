//! Optimizer tests: folding against wasm semantics at edge values, and each pass's effect on
//! small functions built from WAT.

use super::fold::{eval_binary, eval_compare, eval_unary};
use crate::ir::{
    BinaryOp as B, Cond, Function, Module, Op, Terminator, TrapCode, Type, UnaryOp as U,
};
use crate::options::Options;

const MIN32: i64 = i32::MIN as i64;
const MAX32: i64 = i32::MAX as i64;

fn i32s(op: B, a: i64, b: i64) -> Option<i64> {
    eval_binary(op, Type::I32, a, b)
}

#[test]
fn i32_arithmetic_wraps_and_shifts_modulo_32() {
    assert_eq!(i32s(B::Add, MAX32, 1), Some(MIN32));
    assert_eq!(i32s(B::Sub, 0, 1), Some(-1));
    assert_eq!(i32s(B::Sub, MIN32, 1), Some(MAX32));
    assert_eq!(i32s(B::Mul, 0x10000, 0x10000), Some(0));
    assert_eq!(i32s(B::Mul, -1, MIN32), Some(MIN32));
    assert_eq!(i32s(B::Shl, 1, 32), Some(1));
    assert_eq!(i32s(B::Shl, 1, 33), Some(2));
    assert_eq!(i32s(B::Shl, 1, 31), Some(MIN32));
    assert_eq!(i32s(B::ShrS, MIN32, 31), Some(-1));
    assert_eq!(i32s(B::ShrU, MIN32, 31), Some(1));
    assert_eq!(i32s(B::ShrU, -1, 32), Some(-1));
    assert_eq!(i32s(B::ShrS, -8, -1), Some(-1), "count -1 is 31");
    assert_eq!(i32s(B::Rotl, 0x8000_0001, 1), Some(3));
    assert_eq!(i32s(B::Rotr, 1, 33), Some(MIN32));
    assert_eq!(i32s(B::Rotl, 0x1234_5678, 64), Some(0x1234_5678));
    assert_eq!(i32s(B::And, -1, 0x0f0f), Some(0x0f0f));
    assert_eq!(i32s(B::Xor, -1, MAX32), Some(MIN32));
}

#[test]
fn division_folds_only_when_it_cannot_trap() {
    assert_eq!(i32s(B::DivS, MIN32, -1), None);
    assert_eq!(i32s(B::DivS, 5, 0), None);
    assert_eq!(i32s(B::DivU, 5, 0), None);
    assert_eq!(i32s(B::RemS, 5, 0), None);
    assert_eq!(i32s(B::RemU, 5, 0), None);
    assert_eq!(i32s(B::RemS, MIN32, -1), Some(0));
    assert_eq!(i32s(B::DivS, -7, 2), Some(-3));
    assert_eq!(i32s(B::RemS, -7, 2), Some(-1));
    assert_eq!(i32s(B::DivU, -1, 2), Some(MAX32));
    assert_eq!(i32s(B::RemU, -1, 10), Some(5));
    let i64s = |op, a, b| eval_binary(op, Type::I64, a, b);
    assert_eq!(i64s(B::DivS, i64::MIN, -1), None);
    assert_eq!(i64s(B::RemS, i64::MIN, -1), Some(0));
    assert_eq!(i64s(B::DivU, -1, 2), Some(i64::MAX));
    assert_eq!(i64s(B::Shl, 1, 64), Some(1));
    assert_eq!(i64s(B::Shl, 1, 63), Some(i64::MIN));
    assert_eq!(i64s(B::ShrU, i64::MIN, 127), Some(1));
    assert_eq!(i64s(B::Rotr, 1, 65), Some(i64::MIN));
    assert_eq!(i64s(B::Add, i64::MAX, 1), Some(i64::MIN));
}

#[test]
fn unary_and_conversions_follow_wasm() {
    assert_eq!(eval_unary(U::Clz, Type::I32, 0), 32);
    assert_eq!(eval_unary(U::Clz, Type::I32, -1), 0);
    assert_eq!(eval_unary(U::Ctz, Type::I32, 0), 32);
    assert_eq!(eval_unary(U::Ctz, Type::I32, MIN32), 31);
    assert_eq!(eval_unary(U::Popcnt, Type::I32, -1), 32);
    assert_eq!(eval_unary(U::Clz, Type::I64, 0), 64);
    assert_eq!(eval_unary(U::Ctz, Type::I64, 0), 64);
    assert_eq!(eval_unary(U::Popcnt, Type::I64, -1), 64);
    assert_eq!(eval_unary(U::Eqz, Type::I32, 0), 1);
    assert_eq!(eval_unary(U::Eqz, Type::I64, 1 << 32), 0);
    assert_eq!(eval_unary(U::Extend8S, Type::I32, 0x80), -128);
    assert_eq!(eval_unary(U::Extend8S, Type::I32, 0x17f), 127);
    assert_eq!(eval_unary(U::Extend16S, Type::I32, 0x8000), -32768);
    assert_eq!(eval_unary(U::Extend16S, Type::I64, 0x7fff), 0x7fff);
    assert_eq!(eval_unary(U::Extend32S, Type::I64, 0x8000_0000), MIN32);
    assert_eq!(eval_unary(U::Wrap, Type::I64, 0x1_0000_0005), 5);
    assert_eq!(eval_unary(U::Wrap, Type::I64, 0xffff_ffff), -1);
    assert_eq!(eval_unary(U::ExtendI32U, Type::I32, -1), 0xffff_ffff);
    assert_eq!(eval_unary(U::ExtendI32S, Type::I32, -1), -1);
    assert_eq!(eval_unary(U::ExtendI32S, Type::I32, 0xffff_ffff), -1);
}

#[test]
fn comparisons_distinguish_signedness() {
    assert!(eval_compare(Cond::LtS, Type::I32, -1, 0));
    assert!(!eval_compare(Cond::LtU, Type::I32, -1, 0));
    assert!(eval_compare(Cond::Eq, Type::I32, 0xffff_ffff, -1));
    assert!(eval_compare(Cond::GtU, Type::I32, MIN32, MAX32));
    assert!(!eval_compare(Cond::GtS, Type::I32, MIN32, MAX32));
    assert!(eval_compare(Cond::LeS, Type::I64, i64::MIN, i64::MIN));
    assert!(eval_compare(Cond::GeU, Type::I64, -1, 0));
    assert!(eval_compare(Cond::Ne, Type::I64, 1 << 32, 0));
}

fn optimized(wat: &str) -> (Module, Function) {
    let wasm = crate::frontend::decode(wat.as_bytes()).unwrap();
    let mut m = crate::frontend::translate(&wasm, &Options::default()).unwrap();
    // Legalized: every pass runs (LICM only runs there).
    super::run(&mut m, super::Stage::legalized_cortex_m());
    crate::ir::verify::module(&m, false).unwrap_or_else(|e| panic!("{e}"));
    let f = m.bodies[0].clone();
    (m, f)
}

fn only_block_returns(f: &Function, value: i64) {
    assert_eq!(f.blocks.len(), 1, "{f}");
    let b = &f.blocks[0];
    let Terminator::Return { values } = &b.term else {
        panic!("{f}")
    };
    assert_eq!(b.insts.len(), 1, "{f}");
    assert_eq!(b.insts[0].op, Op::Const(value), "{f}");
    assert_eq!(values, &b.insts[0].results, "{f}");
}

#[test]
fn constant_programs_fold_to_one_constant() {
    let (_, f) = optimized(
        "(module (func (result i32)
           (i32.add (i32.mul (i32.const 6) (i32.const 7))
                    (select (i32.const 100) (i32.const 200) (i32.eqz (i32.const 0))))))",
    );
    only_block_returns(&f, 142);
    // Branch on a constant: the untaken arm disappears with its blocks.
    let (_, f) = optimized(
        "(module (func (result i32) (local i32)
           (if (i32.lt_u (i32.const -1) (i32.const 1))
             (then (local.set 0 (i32.const 1))) (else (local.set 0 (i32.const 2))))
           (local.get 0)))",
    );
    only_block_returns(&f, 2);
    let (_, f) =
        optimized("(module (func (result i32) (i32.rem_s (i32.const 0x80000000) (i32.const -1))))");
    only_block_returns(&f, 0);
    let (_, f) = optimized("(module (func (result i64) (i64.shl (i64.const 1) (i64.const 65))))");
    only_block_returns(&f, 2);
}

#[test]
fn constant_traps_end_the_block_and_trapping_division_is_not_folded() {
    for (wat, code) in [
        (
            "(i32.div_s (i32.const 1) (i32.const 0))",
            TrapCode::IntegerDivideByZero,
        ),
        (
            "(i32.div_s (i32.const 0x80000000) (i32.const -1))",
            TrapCode::IntegerOverflow,
        ),
        (
            "(i64.rem_u (i64.const 1) (i64.const 0))",
            TrapCode::IntegerDivideByZero,
        ),
    ] {
        let ty = if wat.starts_with("(i64") {
            "i64"
        } else {
            "i32"
        };
        let (_, f) = optimized(&format!("(module (func (result {ty}) {wat}))"));
        assert_eq!(f.blocks.len(), 1, "{f}");
        assert_eq!(f.blocks[0].term, Terminator::Trap { code }, "{f}");
        assert!(
            f.blocks[0]
                .insts
                .iter()
                .all(|i| !matches!(i.op, Op::Binary(_) | Op::TrapIf(_))),
            "{f}"
        );
    }
}

#[test]
fn identities_and_copies_disappear() {
    let (_, f) = optimized(
        "(module (func (param i32) (result i32)
           (i32.and (i32.or (i32.mul (i32.add (local.get 0) (i32.const 0)) (i32.const 1))
                            (i32.const 0)) (i32.const -1))))",
    );
    let b = &f.blocks[0];
    assert!(b.insts.is_empty(), "{f}");
    assert_eq!(
        b.term,
        Terminator::Return {
            values: b.params.clone()
        }
    );
}

#[test]
fn dce_keeps_effects_and_drops_dead_loop_values() {
    let (_, f) = optimized(
        r#"(module (import "env" "f" (func $f (param i32) (result i32))) (memory 1)
          (func (param $n i32) (local $dead i32)
            (drop (call $f (local.get $n)))
            (drop (i32.load (local.get $n)))
            (drop (i32.add (local.get $n) (i32.const 5)))
            (loop $l
              (local.set $dead (i32.mul (local.get $dead) (i32.const 3)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br_if $l (local.get $n)))))"#,
    );
    let ops: Vec<&Op> = f
        .blocks
        .iter()
        .flat_map(|b| b.insts.iter().map(|i| &i.op))
        .collect();
    assert!(ops.iter().any(|op| matches!(op, Op::Call(0))), "{f}");
    assert!(ops.iter().any(|op| matches!(op, Op::Load(_))), "{f}");
    assert!(
        !ops.iter()
            .any(|op| matches!(op, Op::Binary(B::Mul | B::Add))),
        "{f}"
    );
    // Only $n is carried around the loop.
    let params: usize = f.blocks.iter().skip(1).map(|b| b.params.len()).sum();
    assert_eq!(params, 1, "{f}");
}

#[test]
fn unreachable_blocks_are_removed_and_renumbered() {
    let (_, f) = optimized(
        "(module (func (param i32) (result i32)
           (block (br_if 0 (i32.const 0)) (return (i32.const 1)))
           (if (result i32) (local.get 0) (then (i32.const 2)) (else (i32.const 3)))))",
    );
    // After folding the br_if, the function is: return 1.
    only_block_returns(&f, 1);
    for b in &f.blocks {
        for s in b.term.successors() {
            assert!((s.0 as usize) < f.blocks.len());
        }
    }
}

#[test]
fn merge_absorbs_single_predecessor_successors() {
    // A diamond whose join has two predecessors stays; the straight line after it merges.
    let (_, f) = optimized(
        r#"(module (memory 1) (func (param i32) (result i32)
           (if (local.get 0) (then (i32.store (i32.const 0) (i32.const 1))))
           (block (i32.store (i32.const 4) (local.get 0)))
           (i32.load (i32.const 4))))"#,
    );
    // entry -> then -> join, entry -> join: three blocks, the block after the if merged in.
    assert_eq!(f.blocks.len(), 3, "{f}");
    assert!(
        f.blocks
            .iter()
            .all(|b| b.insts.iter().all(|i| i.op != Op::Copy)),
        "{f}"
    );
}

fn count_ops(f: &Function, blocks: impl Fn(usize) -> bool, pred: impl Fn(&Op) -> bool) -> usize {
    f.blocks
        .iter()
        .enumerate()
        .filter(|(b, _)| blocks(*b))
        .flat_map(|(_, b)| &b.insts)
        .filter(|i| pred(&i.op))
        .count()
}

#[test]
fn gvn_reuses_dominating_computations_only() {
    // x*K twice (operands swapped) in the entry: one constant, one multiply. x+K in both
    // arms of an if: neither arm dominates the other, so each keeps its own. Small constants
    // (7) are not shared.
    let (_, f) = optimized(
        "(module (func (param i32 i32) (result i32)
           (i32.add (i32.mul (local.get 0) (i32.const 100003))
                    (i32.mul (i32.const 100003) (local.get 0)))
           (if (result i32) (local.get 1)
             (then (i32.add (local.get 0) (i32.const 7)))
             (else (i32.sub (i32.add (local.get 0) (i32.const 7))
                            (i32.mul (local.get 0) (i32.const 100003)))))
           (i32.add)))",
    );
    assert_eq!(
        count_ops(&f, |_| true, |op| *op == Op::Binary(B::Mul)),
        1,
        "{f}"
    );
    assert_eq!(
        count_ops(&f, |_| true, |op| *op == Op::Binary(B::Add)),
        4,
        "{f}"
    );
    assert_eq!(
        count_ops(&f, |_| true, |op| *op == Op::Const(100003)),
        1,
        "{f}"
    );
    assert_eq!(count_ops(&f, |_| true, |op| *op == Op::Const(7)), 2, "{f}");
}

#[test]
fn gvn_rebuilds_far_constant_adds_from_a_near_one() {
    // Three accesses to a C global's fields at x + 66000, x + 66004, x + 66008: the second and
    // third become adds of 4 and 8 to the first.
    let (_, f) = optimized(
        r#"(module (memory 2) (func (param i32) (result i32)
           (i32.add (i32.load (i32.add (local.get 0) (i32.const 66000)))
             (i32.add (i32.load (i32.add (local.get 0) (i32.const 66004)))
                      (i32.load (i32.add (local.get 0) (i32.const 66008)))))))"#,
    );
    let consts: Vec<i64> = f.blocks[0]
        .insts
        .iter()
        .filter_map(|i| match i.op {
            Op::Const(k) => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(consts, [66000, 4, 8], "{f}");
}

#[test]
fn licm_budgets_follow_the_register_files() {
    use crate::options::Target;
    let budget = |t| super::licm::Budget::of(crate::isa::caps(t));
    // Cortex-M: r0-r11 (lr is the spare scratch of large frames), r4-r11 callee-saved.
    let m4 = budget(Target::CortexM4);
    assert_eq!((m4.loop_registers, m4.across_calls), (10, 6));
    assert!(m4.compare_immediates);
    // RV32: 25 of x5-x31, s0-s11 callee-saved; branches compare registers.
    let rv = budget(Target::Rv32imac);
    assert_eq!((rv.loop_registers, rv.across_calls), (23, 10));
    assert!(!rv.compare_immediates);
}

/// `n` i32 parameters, and their sum: read after a loop, they are all live through it.
fn live_params(n: usize) -> (String, String) {
    let params = (0..n).map(|_| "i32").collect::<Vec<_>>().join(" ");
    let sum = (1..n).fold("(local.get 0)".to_string(), |acc, k| {
        format!("(i32.add {acc} (local.get {k}))")
    });
    (params, sum)
}

#[test]
fn licm_moves_invariants_out_of_loops_within_the_pressure_budget() {
    // $n + 100000 (and its constant) is invariant, so is the constant 1; the division stays.
    let (_, f) = optimized(
        r#"(module (memory 1) (func (param $n i32) (param $d i32) (result i32) (local $i i32)
          (loop $l
            (i32.store (local.get $i) (i32.add (local.get $n) (i32.const 100000)))
            (i32.store (local.get $i) (i32.div_u (local.get $n) (local.get $d)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $i)))"#,
    );
    let in_entry = |b: usize| b == 0;
    let in_loop = |b: usize| b != 0;
    assert_eq!(
        count_ops(&f, in_entry, |op| *op == Op::Const(100000)),
        1,
        "{f}"
    );
    assert_eq!(
        count_ops(&f, in_loop, |op| *op == Op::Const(100000)),
        0,
        "{f}"
    );
    assert_eq!(
        count_ops(&f, in_loop, |op| *op == Op::Binary(B::Add)),
        1,
        "{f}"
    );
    assert_eq!(
        count_ops(&f, in_loop, |op| *op == Op::Binary(B::DivU)),
        1,
        "{f}"
    );
    assert_eq!(count_ops(&f, in_loop, |op| *op == Op::Const(1)), 0, "{f}");

    // The same small constant in two blocks of the loop (GVN shares small constants only
    // within a block): one moves, the other reads it, and so do the invariant multiplies that
    // used either.
    let (_, f) = optimized(
        r#"(module (memory 1) (func (param $n i32) (result i32) (local $i i32)
          (loop $l
            (i32.store (local.get $i) (i32.mul (local.get $n) (i32.const 40)))
            (if (local.get $i) (then
              (i32.store offset=4 (local.get $i) (i32.mul (local.get $n) (i32.const 40)))))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $i)))"#,
    );
    assert_eq!(count_ops(&f, in_entry, |op| *op == Op::Const(40)), 1, "{f}");
    assert_eq!(
        count_ops(&f, in_entry, |op| *op == Op::Binary(B::Mul)),
        1,
        "{f}"
    );
    assert_eq!(
        count_ops(&f, in_loop, |op| matches!(
            op,
            Op::Const(40) | Op::Binary(B::Mul)
        )),
        0,
        "{f}"
    );

    // Twelve values live through the loop leave no room: nothing moves.
    let (params, sum) = live_params(12);
    let (_, f) = optimized(&format!(
        r#"(module (memory 1) (func (param {params}) (result i32)
          (loop $l
            (i32.store (local.get 0) (i32.add (local.get 1) (i32.const 100000)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $l (local.get 0)))
          {sum}))"#
    ));
    assert_eq!(
        count_ops(&f, |b| b == 0, |op| *op == Op::Const(100000)),
        0,
        "{f}"
    );
}

#[test]
fn licm_pressure_skips_fused_compares_and_constants_the_loop_does_not_read() {
    // `live` parameters live through the loop, and so do four constants it does not read
    // (used after it) and the division's compares: only the parameters and the loop's own
    // temporaries take registers there, so the invariant add moves while they leave room.
    let loop_with = |live: usize| {
        let (params, sum) = live_params(live);
        let (_, f) = optimized(&format!(
            r#"(module (memory 1) (func (param {params}) (result i32)
              (local $a i32) (local $b i32) (local $c i32) (local $d i32)
              (local.set $a (i32.const 111111))
              (local.set $b (i32.const 222222))
              (local.set $c (i32.const 333333))
              (local.set $d (i32.const 444444))
              (loop $l
                (i32.store (local.get 0) (i32.add (local.get 1) (i32.const 100000)))
                (i32.store offset=4 (local.get 0) (i32.div_s (local.get 2) (local.get 3)))
                (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                (br_if $l (local.get 0)))
              (i32.add (i32.add {sum} (i32.add (local.get $a) (local.get $b)))
                       (i32.add (local.get $c) (local.get $d)))))"#
        ));
        count_ops(&f, |b| b == 0, |op| *op == Op::Binary(B::Add))
    };
    assert_eq!(loop_with(7), 1);
    assert_eq!(loop_with(8), 0);
}

#[test]
fn licm_moves_immediates_freely_and_constants_in_registers_within_budget() {
    // Twelve live parameters leave no budget: 7 (an add's immediate) moves all the same, 9 (a
    // stored value, which needs a register) stays in the loop.
    let (params, sum) = live_params(12);
    let (_, f) = optimized(&format!(
        r#"(module (memory 1) (func (param {params}) (result i32)
          (loop $l
            (i32.store (local.get 0) (i32.add (local.get 1) (i32.const 7)))
            (i32.store offset=4 (local.get 0) (i32.const 9))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $l (local.get 0)))
          {sum}))"#
    ));
    let entry = |b: usize| b == 0;
    assert_eq!(count_ops(&f, entry, |op| *op == Op::Const(7)), 1, "{f}");
    assert_eq!(count_ops(&f, entry, |op| *op == Op::Const(9)), 0, "{f}");
}

#[test]
fn shift_pairs_become_sign_extensions() {
    let (_, f) = optimized(
        "(module (func (param i32) (result i32 i32 i32)
           (i32.shr_s (i32.shl (local.get 0) (i32.const 16)) (i32.const 16))
           (i32.shr_s (i32.shl (local.get 0) (i32.const 24)) (i32.const 24))
           (i32.shr_s (i32.shl (local.get 0) (i32.const 24)) (i32.const 16))))",
    );
    let all = |_: usize| true;
    let ops = |op: &Op| count_ops(&f, all, |o| o == op);
    assert_eq!(ops(&Op::Unary(crate::ir::UnaryOp::Extend16S)), 1, "{f}");
    assert_eq!(ops(&Op::Unary(crate::ir::UnaryOp::Extend8S)), 1, "{f}");
    // Different amounts are no sign extension: that pair stays.
    assert_eq!(ops(&Op::Binary(B::ShrS)), 1, "{f}");
    assert_eq!(ops(&Op::Binary(B::Shl)), 1, "{f}");
}

/// `bytes - k` limits of bounds checks in `f` (subtracts from the memory's size).
fn limits(f: &Function) -> usize {
    let sizes: Vec<crate::ir::Value> = f
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| {
            matches!(
                i.op,
                Op::LoadSymbol {
                    symbol: crate::ir::Symbol::MemoryBytes,
                    ..
                }
            )
        })
        .flat_map(|i| i.results.clone())
        .collect();
    f.blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| i.op == Op::Binary(B::Sub) && sizes.contains(&i.args[0]))
        .count()
}

#[test]
fn gvn_shares_bounds_check_limits_within_a_loop_only() {
    let legalized = |wat: &str| {
        let options = Options::new(crate::options::Target::CortexM4);
        crate::legalized_module(wat.as_bytes(), &options).unwrap()
    };
    // A load in the loop's first block and a store in a block it dominates, both of 4 bytes,
    // at a pointer argument and the word after it (the load's check does not cover that):
    // one limit `bytes - 4` serves both. (The loop calls, so LICM
    // leaves its constants, and with them the limits, inside.)
    let m = legalized(
        r#"(module (memory 1) (func (param $n i32) (param $p i32) (result i32)
          (local $i i32) (local $s i32)
          (loop $l
            (call 1)
            (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
            (if (i32.and (local.get $s) (i32.const 1))
              (then (i32.store (i32.add (local.get $p) (i32.const 4)) (local.get $i))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $s))
          (func (global.set 0 (i32.add (global.get 0) (i32.const 1))))
          (global (mut i32) (i32.const 0)))"#,
    );
    assert_eq!(limits(&m.bodies[0]), 1, "{}", m.bodies[0]);
    // Outside loops each block keeps its own: sharing would hold a register for code that
    // runs once. (The second access is at another address: a check the first block passed
    // would cover it.)
    let m = legalized(
        r#"(module (memory 1) (func (param $p i32) (param $q i32) (result i32)
          (i32.load (local.get $p))
          (if (result i32) (local.get $p)
            (then (i32.load16_u offset=2 (local.get $q)))
            (else (i32.const 0)))
          (i32.add)))"#,
    );
    assert_eq!(limits(&m.bodies[0]), 2, "{}", m.bodies[0]);
}

/// How many instructions of `op` the legalized `name` of fixtures/unrolled_loops.wat holds,
/// optimized for speed and for size.
fn unrolled_counts(name: &str, op: &dyn Fn(&Op) -> bool) -> (usize, usize) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/unrolled_loops.wat");
    let wat = std::fs::read(path).expect("fixture");
    let count = |size: bool| {
        let mut options = Options::new(crate::options::Target::CortexM4);
        options.optimize_for_size = size;
        let m = crate::legalized_module(&wat, &options).unwrap();
        let f = m.bodies.iter().find(|b| b.name == name).expect(name);
        f.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|i| op(&i.op))
            .count()
    };
    (count(false), count(true))
}

#[test]
fn counted_loops_unroll_by_a_factor_of_their_trip_count() {
    // fixtures/unrolled_loops.wat runs these against wasmtime; here, the factor each gets.
    let mul = |op: &Op| matches!(op, Op::Binary(B::Mul));
    let xor = |op: &Op| matches!(op, Op::Binary(B::Xor));
    let div = |op: &Op| matches!(op, Op::Binary(B::DivS));
    assert_eq!(unrolled_counts("sum_ne", &mul), (4, 1), "100 trips: by 4");
    assert_eq!(unrolled_counts("top_test", &xor), (8, 1), "64 tests: by 8");
    assert_eq!(unrolled_counts("eqz_up", &mul), (8, 1), "16 trips: by 8");
    assert_eq!(
        unrolled_counts("trap_mid", &div),
        (4, 1),
        "24 trips, a larger body: by 4"
    );
    // 5 and 3 trips: straight-line code.
    let store = |op: &Op| matches!(op, Op::Store(_));
    assert_eq!(unrolled_counts("full_small", &mul), (3, 1), "3 trips: all");
    assert_eq!(
        unrolled_counts("full_small", &store),
        (5, 1),
        "5 trips: all"
    );
    // A second exit, a count known at run time: as they were.
    let (speed, size) = unrolled_counts("left_alone", &|_| true);
    assert_eq!(speed, size);
}

/// Legalized (for cortex-m4, speed) `a = a <op> x` in a loop counting `i` from 0 by 1 while
/// `i != trips`.
fn legalized_counting_loop(op: &str, trips: &str) -> Module {
    let wat = format!(
        r#"(module (memory 1)
        (func (export "f") (param $x i32) (result i32) (local $i i32) (local $a i32)
          (loop $l
            (local.set $a (i32.{op} (local.get $a) (local.get $x)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.ne (local.get $i) (i32.const {trips}))))
          (local.get $a)))"#
    );
    crate::legalized_module(
        wat.as_bytes(),
        &Options::new(crate::options::Target::CortexM4),
    )
    .unwrap()
}

#[test]
fn counts_no_factor_divides_run_whole_rounds_then_the_loop() {
    // Each multiply or division once per copy and once in the loop itself.
    let mul = |op: &Op| matches!(op, Op::Binary(B::Mul));
    let div = |op: &Op| matches!(op, Op::Binary(B::DivS));
    // 99 trips by 8 (one multiply a trip), 9 trips by 4 (two).
    assert_eq!(unrolled_counts("remainder", &mul), (8 + 1 + 2 * (4 + 1), 3));
    // 26 stores by 4.
    assert_eq!(unrolled_counts("remainder_trap", &div), (5, 1));
    let m = legalized_counting_loop("mul", "99");
    let f = &m.bodies[0];
    let branches: Vec<&crate::ir::Terminator> = f
        .blocks
        .iter()
        .map(|b| &b.term)
        .filter(|t| matches!(t, crate::ir::Terminator::Branch { .. }))
        .collect();
    assert_eq!(
        branches.len(),
        2,
        "the copies' round test and the loop's: {f}"
    );
    // The rounds end when the counter enters one at 96 (12 rounds of 8; 3 trips remain).
    let ends = f
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| i.op == Op::Const(96))
        .count();
    assert_eq!(ends, 1, "{f}");
}

#[test]
fn unrolling_gives_up_on_counts_past_its_budget() {
    // 2^24 trips: finding that count would take 2^24 test runs, over the budget of 2^22.
    let m = legalized_counting_loop("add", "0x1000000");
    let adds = m.bodies[0]
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| matches!(i.op, Op::Binary(B::Add)))
        .count();
    assert_eq!(adds, 2, "{}", m.bodies[0]);
}

#[test]
fn unrolled_accesses_share_one_base_and_differ_by_offsets() {
    // fill_ptr's second loop reads 64 words through a pointer stepping by 4, unrolled by 8:
    // eight loads off one base at offsets 0, 4, ..., 28, on either kind of addressing.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/unrolled_loops.wat");
    let wat = std::fs::read(path).expect("fixture");
    for target in [
        crate::options::Target::CortexM4,
        crate::options::Target::Rv32imac,
    ] {
        let mut options = Options::new(target);
        options.bounds_checks = false;
        let m = crate::legalized_module(&wat, &options).unwrap();
        let f = m.bodies.iter().find(|b| b.name == "fill_ptr").unwrap();
        let mut by_base: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for inst in f.blocks.iter().flat_map(|b| &b.insts) {
            if let Op::Load(m) = &inst.op {
                by_base.entry(inst.args[0].0).or_default().push(m.offset);
            }
        }
        let offsets: Vec<u64> = (0..8).map(|j| j * 4).collect();
        assert!(
            by_base.values().any(|o| *o == offsets),
            "{target:?}: {by_base:?}\n{f}"
        );
        // nested's inner loop stores at `(j << 2) + 1024`, j counting by 1, unrolled by 8:
        // `(j + c) << 2` is `(j << 2) + 4c`, so the eight stores share one base too.
        let f = m.bodies.iter().find(|b| b.name == "nested").unwrap();
        let mut by_base: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for inst in f.blocks.iter().flat_map(|b| &b.insts) {
            if let Op::Store(m) = &inst.op {
                by_base.entry(inst.args[0].0).or_default().push(m.offset);
            }
        }
        let offsets: Vec<u64> = (0..8).map(|j| 1024 + j * 4).collect();
        assert!(
            by_base.values().any(|o| *o == offsets),
            "{target:?}: {by_base:?}\n{f}"
        );
    }
}

/// An access in the entry block before the block's first zero constant keeps its own index
/// when address.rs makes the group's shared base (it used the later zero: an internal error
/// for fixtures/check_coverage.wat's `words_at` with checks off on Thumb-2).
#[test]
fn a_shared_base_indexes_only_by_a_zero_defined_before_the_access() {
    let wat = br#"(module (memory 1)
      (func (param $p i32) (param $i i32) (result i32)
        (i32.add (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))
          (i32.add
            (i32.load offset=4 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))
            (i32.add
              (i32.load offset=8 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))
              (i32.const 0))))))"#;
    for target in [
        crate::options::Target::CortexM4,
        crate::options::Target::Rv32imac,
    ] {
        let mut options = Options::new(target);
        options.bounds_checks = false;
        let m = crate::legalized_module(wat, &options).unwrap();
        crate::ir::verify::module(&m, true).unwrap();
    }
}

/// fixtures/folded_unrolls.wat legalized for `target` (speed), checks on or off.
fn folded_unrolls(target: crate::options::Target, checks: bool) -> Module {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/folded_unrolls.wat");
    let wat = std::fs::read(path).expect("fixture");
    let mut options = Options::new(target);
    options.bounds_checks = checks;
    crate::legalized_module(&wat, &options).unwrap()
}

fn body<'a>(m: &'a Module, name: &str) -> &'a Function {
    m.bodies.iter().find(|b| b.name == name).expect(name)
}

fn is_check(op: &Op) -> bool {
    matches!(
        op,
        Op::TrapIf(TrapCode::MemoryOutOfBounds) | Op::BoundsCheck { .. }
    )
}

#[test]
fn full_unrolls_fold_counters_into_constant_addresses_and_drop_their_checks() {
    // strided_low: four trips of x = 8, 4, 2, 1 past the normal budget; each copy's addresses
    // fold to constants within the first page, so no check is left, and of the sum's nine
    // stores only the last counts. strided_high's last reads lie past the first page: checked.
    for target in [
        crate::options::Target::CortexM4,
        crate::options::Target::Rv32imac,
    ] {
        let m = folded_unrolls(target, true);
        let f = body(&m, "strided_low");
        let all = |_: usize| true;
        let branches = f
            .blocks
            .iter()
            .filter(|b| matches!(b.term, Terminator::Branch { .. }))
            .count();
        assert_eq!(branches, 1, "only `if $grow` branches: {f}");
        assert_eq!(count_ops(f, all, is_check), 0, "{f}");
        // The sum's loads take what the block stored; the eight reads, at constant addresses
        // beyond an offset's reach, share one new base.
        let mut bases = std::collections::BTreeSet::new();
        for inst in f.blocks.iter().flat_map(|b| &b.insts) {
            if let Op::Load(_) = inst.op {
                bases.insert(inst.args[0]);
            }
        }
        let loads = count_ops(f, all, |op: &Op| matches!(op, Op::Load(_)));
        assert_eq!((loads, bases.len()), (8, 1), "eight reads: {f}");
        let stores = count_ops(f, all, |op: &Op| matches!(op, Op::Store(_)));
        assert_eq!(stores, 1, "the sum's last store: {f}");
        let f = body(&m, "strided_high");
        assert!(count_ops(f, all, is_check) > 0, "{f}");
        // The 8-byte stores up to the page's end need no check; 4 bytes past it, they do.
        assert_eq!(count_ops(body(&m, "stores_to_end"), all, is_check), 0);
        assert!(count_ops(body(&m, "stores_past_end"), all, is_check) > 0);
    }
}

#[test]
fn dead_stores_go_only_when_nothing_can_read_or_see_them() {
    let m = folded_unrolls(crate::options::Target::CortexM4, true);
    let stores = |name: &str| {
        count_ops(
            body(&m, name),
            |_| true,
            |op: &Op| matches!(op, Op::Store(_)),
        )
    };
    // 200 (twice: the byte at 201 and the first word are overwritten) and 300 (once).
    assert_eq!(stores("overwritten"), 2);
    // The byte store into the first word goes; the byte into the i64 stays (legalized, the
    // i64 store is two words).
    assert_eq!(stores("widths"), 4);
    // A load of the same bytes, a pointer that may be the address, a check, a division guard.
    assert_eq!(stores("read_between"), 2);
    assert_eq!(stores("maybe_aliased"), 2);
    assert_eq!(stores("trap_between"), 3);
    assert_eq!(stores("divide_between"), 2);
}

#[test]
fn loads_of_bytes_the_block_stored_take_the_stored_value() {
    // far_constants reads back two words it stored (forwarded), a half and a byte of words it
    // stored, and a word a later half store changed (all three loaded).
    let m = folded_unrolls(crate::options::Target::CortexM4, true);
    let f = body(&m, "far_constants");
    let loads = count_ops(f, |_| true, |op: &Op| matches!(op, Op::Load(_)));
    assert_eq!(loads, 3, "{f}");
}

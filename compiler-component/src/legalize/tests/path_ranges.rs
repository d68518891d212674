//! Bounds checks dropped where the conditions on the way to an access bound its address
//! (`path_ranges.rs`), and kept where they do not; each case also runs against the frontend
//! form.

use super::*;
use crate::ir::{BinaryOp, Cond, MemArg};

const STORE: Op = Op::Store(MemArg {
    width: 4,
    signed: false,
    offset: 0,
});

fn checks(m: &Module) -> usize {
    legalized(m, NO_CAPS, true).bodies[0]
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| matches!(i.op, Op::TrapIf(_) | Op::BoundsCheck { .. }))
        .count()
}

fn konst(f: &mut FuncBuilder, k: i64) -> Value {
    f.op(Op::Const(k), &[], Type::I32)
}

fn bin(f: &mut FuncBuilder, op: BinaryOp, a: Value, b: Value) -> Value {
    f.op(Op::Binary(op), &[a, b], Type::I32)
}

/// Stores `value` at `(i << 2) + base`.
fn store_word(f: &mut FuncBuilder, i: Value, base: i64, value: Value) {
    let two = konst(f, 2);
    let scaled = bin(f, BinaryOp::Shl, i, two);
    let base = konst(f, base);
    let addr = bin(f, BinaryOp::Add, scaled, base);
    f.effect(STORE, &[addr, value]);
}

/// f(x): a counter i from 0 stores at `((i + 1) << 2) + base`; then, by the low bit of x, one
/// of two paths passes `(i, i + 1)` (each computing its own `i + 1`, or `i + step` on the
/// second) to a join, which leaves when the counter `>u last` and otherwise goes round with
/// the successor it was passed (clang's rotated loops carry a counter and its successor side
/// by side like this). Returns x.
fn join_loop(base: i64, last: i64, step: i64) -> Module {
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let x = f.param(0);
    let header = f.block(&[Type::I32]);
    let left = f.block(&[]);
    let right = f.block(&[]);
    let join = f.block(&[Type::I32, Type::I32]);
    let again = f.block(&[]);
    let done = f.block(&[]);
    let zero = konst(&mut f, 0);
    f.term(Terminator::Jump {
        target: header,
        args: vec![zero],
    });
    f.switch_to(header);
    let i = f.block_params(header)[0];
    let one = konst(&mut f, 1);
    let next = bin(&mut f, BinaryOp::Add, i, one);
    store_word(&mut f, next, base, x);
    let low = bin(&mut f, BinaryOp::And, x, one);
    f.term(Terminator::Branch {
        cond: low,
        then_block: left,
        else_block: right,
    });
    f.switch_to(left);
    let one = konst(&mut f, 1);
    let next = bin(&mut f, BinaryOp::Add, i, one);
    f.term(Terminator::Jump {
        target: join,
        args: vec![i, next],
    });
    f.switch_to(right);
    let step = konst(&mut f, step);
    let next = bin(&mut f, BinaryOp::Add, i, step);
    f.term(Terminator::Jump {
        target: join,
        args: vec![i, next],
    });
    f.switch_to(join);
    let [j, n] = f.block_params(join)[..] else {
        unreachable!()
    };
    let last = konst(&mut f, last);
    let out = f.op(Op::Compare(Cond::GtU), &[j, last], Type::I32);
    f.term(Terminator::Branch {
        cond: out,
        then_block: done,
        else_block: again,
    });
    f.switch_to(again);
    f.term(Terminator::Jump {
        target: header,
        args: vec![n],
    });
    f.switch_to(done);
    f.ret(&[x]);
    module(&[], vec![f.func], memory(1, 1), Vec::new())
}

const ARGS: [u64; 4] = [0, 1, 0x8000_0000, 0xFFFF_FFFF];

#[test]
fn a_counter_joined_with_its_successor_is_bounded_by_the_join_s_guard() {
    // i goes 0..=98, the last store ends at base + 400: exactly the end of the page.
    let m = join_loop(65536 - 400, 97, 1);
    assert_eq!(checks(&m), 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
    assert_same(&m, 0, &singles(&ARGS));
}

#[test]
fn joins_the_proof_does_not_cover_keep_their_check() {
    for m in [
        // One word further: the last store is out of bounds and traps.
        join_loop(65536 - 396, 97, 1),
        // The second path passes i + 2: no longer the successor, so the counter is not bounded
        // by the guard on the other parameter (and it overshoots the page: traps).
        join_loop(65536 - 400, 97, 2),
    ] {
        assert!(checks(&m) > 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &singles(&ARGS));
    }
}

/// f(x): an address q set to `(c << 2) + base` with a counter c from 0, stepping by
/// `q_step` while c steps by 1 and goes round while `c <u 97`; stores x at q.
fn stepped_address(base: i64, q_step: i64) -> Module {
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let x = f.param(0);
    let header = f.block(&[Type::I32, Type::I32]);
    let latch = f.block(&[]);
    let again = f.block(&[]);
    let done = f.block(&[]);
    let c0 = konst(&mut f, 0);
    let two = konst(&mut f, 2);
    let scaled = bin(&mut f, BinaryOp::Shl, c0, two);
    let base = konst(&mut f, base);
    let q0 = bin(&mut f, BinaryOp::Add, scaled, base);
    f.term(Terminator::Jump {
        target: header,
        args: vec![q0, c0],
    });
    f.switch_to(header);
    let [q, c] = f.block_params(header)[..] else {
        unreachable!()
    };
    f.effect(STORE, &[q, x]);
    f.term(Terminator::Jump {
        target: latch,
        args: vec![],
    });
    f.switch_to(latch);
    let last = konst(&mut f, 97);
    let out = f.op(Op::Compare(Cond::GtU), &[c, last], Type::I32);
    f.term(Terminator::Branch {
        cond: out,
        then_block: done,
        else_block: again,
    });
    f.switch_to(again);
    let step = konst(&mut f, q_step);
    let q_next = bin(&mut f, BinaryOp::Add, q, step);
    let one = konst(&mut f, 1);
    let c_next = bin(&mut f, BinaryOp::Add, c, one);
    f.term(Terminator::Jump {
        target: header,
        args: vec![q_next, c_next],
    });
    f.switch_to(done);
    f.ret(&[x]);
    module(&[], vec![f.func], memory(1, 1), Vec::new())
}

#[test]
fn an_address_in_lockstep_with_a_guarded_counter_is_bounded() {
    // c goes 0..=98, q = 4c + base: the last store ends exactly at the end of the page.
    let m = stepped_address(65536 - 396, 4);
    assert_eq!(checks(&m), 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
    assert_same(&m, 0, &singles(&ARGS));
    for m in [
        // One word further: traps at the last store.
        stepped_address(65536 - 392, 4),
        // Stepping by 8 breaks the relation (the relation would bound the last store by
        // 65532; stepping by 8 runs past the page and traps).
        stepped_address(65536 - 400, 8),
    ] {
        assert!(checks(&m) > 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &singles(&ARGS));
    }
}

/// f(x): `if x c bound { store x at (x << 2) + base }` (on the else edge when `negated`),
/// with a second test `x >=s 0` first when `non_negative`. Returns x.
fn guarded(c: Cond, bound: i64, base: i64, negated: bool, non_negative: bool) -> Module {
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let x = f.param(0);
    let inside = f.block(&[]);
    let test = f.block(&[]);
    let done = f.block(&[]);
    if non_negative {
        let zero = konst(&mut f, 0);
        let sign = f.op(Op::Compare(Cond::GeS), &[x, zero], Type::I32);
        f.term(Terminator::Branch {
            cond: sign,
            then_block: test,
            else_block: done,
        });
    } else {
        f.term(Terminator::Jump {
            target: test,
            args: vec![],
        });
    }
    f.switch_to(test);
    let bound = konst(&mut f, bound);
    let holds = f.op(Op::Compare(c), &[x, bound], Type::I32);
    let (then_block, else_block) = if negated {
        (done, inside)
    } else {
        (inside, done)
    };
    f.term(Terminator::Branch {
        cond: holds,
        then_block,
        else_block,
    });
    f.switch_to(inside);
    store_word(&mut f, x, base, x);
    f.term(Terminator::Jump {
        target: done,
        args: vec![],
    });
    f.switch_to(done);
    f.ret(&[x]);
    module(&[], vec![f.func], memory(1, 1), Vec::new())
}

#[test]
fn a_branch_bounding_the_index_drops_the_check_it_dominates() {
    let args = singles(&[
        0,
        1,
        99,
        100,
        101,
        16383,
        16384,
        0x7FFF_FFFF,
        0x8000_0000,
        u32::MAX as u64,
    ]);
    let end = 65536 - 400;
    for m in [
        guarded(Cond::LtU, 100, end, false, false),
        guarded(Cond::LeU, 99, end, false, false),
        // x >=u 100 on the else edge.
        guarded(Cond::GeU, 100, end, true, false),
        // 100 >u x written the other way round: x <u 100.
        guarded(Cond::GtU, 99, end, true, false),
        // Signed with x >=s 0 tested first.
        guarded(Cond::LtS, 100, end, false, true),
    ] {
        assert_eq!(checks(&m), 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &args);
    }
    for m in [
        // One word beyond the page at x = 99: traps.
        guarded(Cond::LtU, 100, end + 4, false, false),
        // Signed alone: a negative x is a huge index (traps).
        guarded(Cond::LtS, 100, end, false, false),
        // x != 100 bounds nothing.
        guarded(Cond::Ne, 100, end, false, false),
        // The store on the other edge: x >=u 100 there.
        guarded(Cond::LtU, 100, end, true, false),
    ] {
        assert!(checks(&m) > 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &args);
    }
}

//! Bounds checks dropped where the address range is proven within the memory's minimum, and
//! kept wherever the proof does not hold (each case run against the frontend form).

use super::*;
use crate::ir::{BinaryOp, Cond, MemArg};

const STORE: Op = Op::Store(MemArg {
    width: 4,
    signed: false,
    offset: 0,
});
const LOAD: Op = Op::Load(MemArg {
    width: 4,
    signed: false,
    offset: 0,
});

/// A counting loop `f(x)`: p from `init`, stores p at `(p << scale) + base` each iteration, steps
/// by `step` and goes round while `cond(next or p, bound)` holds (the bound the argument when
/// `bound` is None); returns the word at `base + 4`.
struct Loop {
    init: i64,
    step: i64,
    cond: Cond,
    bound: Option<i64>,
    base: i64,
    scale: i64,
    test_next: bool,
    /// The branch tests the counter itself (`br_if` on it: round while it is not 0), no
    /// compare; `cond` and `bound` are ignored.
    bare: bool,
}

impl Loop {
    fn module(&self) -> Module {
        let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
        let x = f.param(0);
        let header = f.block(&[Type::I32]);
        let again = f.block(&[]);
        let done = f.block(&[]);
        let init = f.op(Op::Const(self.init), &[], Type::I32);
        f.term(Terminator::Jump {
            target: header,
            args: vec![init],
        });
        f.switch_to(header);
        let p = f.block_params(header)[0];
        let scale = f.op(Op::Const(self.scale), &[], Type::I32);
        let scaled = f.op(Op::Binary(BinaryOp::Shl), &[p, scale], Type::I32);
        let base = f.op(Op::Const(self.base), &[], Type::I32);
        let addr = f.op(Op::Binary(BinaryOp::Add), &[scaled, base], Type::I32);
        f.effect(STORE, &[addr, p]);
        let step = f.op(Op::Const(self.step), &[], Type::I32);
        let next = f.op(Op::Binary(BinaryOp::Add), &[p, step], Type::I32);
        let bound = match self.bound {
            Some(k) => f.op(Op::Const(k), &[], Type::I32),
            None => x,
        };
        let tested = if self.test_next { next } else { p };
        let c = match self.bare {
            true => tested,
            false => f.op(Op::Compare(self.cond), &[tested, bound], Type::I32),
        };
        f.term(Terminator::Branch {
            cond: c,
            then_block: again,
            else_block: done,
        });
        f.switch_to(again);
        f.term(Terminator::Jump {
            target: header,
            args: vec![next],
        });
        f.switch_to(done);
        let at = f.op(Op::Const(1024 + 4), &[], Type::I32);
        let v = f.op(LOAD, &[at], Type::I32);
        f.ret(&[v]);
        module(&[], vec![f.func], memory(1, 1), Vec::new())
    }
}

/// Checks left in the legalized function (compare-and-trap or `BoundsCheck`).
fn checks(m: &Module) -> usize {
    legalized(m, NO_CAPS, true).bodies[0]
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| matches!(i.op, Op::TrapIf(_) | Op::BoundsCheck { .. }))
        .count()
}

fn counting(init: i64, step: i64, cond: Cond, bound: i64) -> Loop {
    Loop {
        init,
        step,
        cond,
        bound: Some(bound),
        base: 1024,
        scale: 2,
        test_next: true,
        bare: false,
    }
}

const ARGS: [u64; 4] = [0, 5, 16384, 0xFFFF_FFFF];

#[test]
fn counters_bounded_by_their_back_edge_need_no_check() {
    for l in [
        counting(0, 1, Cond::LtU, 100),
        counting(0, 1, Cond::LtS, 100),
        counting(0, 1, Cond::Ne, 100),
        counting(3, 1, Cond::LeU, 15_000),
        counting(0, 4, Cond::Ne, 400),
        Loop {
            test_next: false,
            ..counting(0, 1, Cond::LtU, 99)
        },
        // A negative index counting up to 0 (clang's form), the address p + base wrapping
        // round: the last store ends exactly at the end of the page.
        Loop {
            scale: 0,
            base: 65552,
            ..counting(-400, 20, Cond::Ne, 0)
        },
        // The same with the branch on the counter itself.
        Loop {
            scale: 0,
            base: 65552,
            bare: true,
            ..counting(-400, 20, Cond::Ne, 0)
        },
        // Signed with a bound beyond 2^31 (negative): `p + 1 <s -1` never holds from 0, so
        // the back edge is never taken and the one store is at 1024 (path_ranges.rs).
        counting(0, 1, Cond::LtS, -1),
        // `p + 1 >= 100` false: the else edge goes round.
        Loop {
            cond: Cond::GeU,
            ..counting(0, 1, Cond::GeU, 100)
        },
    ] {
        let m = if l.cond == Cond::GeU {
            // Swap the branch arms: round on the else edge.
            let mut m = l.module();
            let header = &mut m.bodies[0].blocks[1];
            if let Terminator::Branch {
                then_block,
                else_block,
                ..
            } = &mut header.term
            {
                std::mem::swap(then_block, else_block);
            }
            m
        } else {
            l.module()
        };
        assert_eq!(checks(&m), 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &singles(&ARGS));
    }
}

#[test]
fn counters_the_proof_does_not_cover_keep_their_check() {
    for l in [
        // The last store reaches past the 64 KiB page: traps, after the stores before it.
        counting(0, 1, Cond::LtU, 20_000),
        // The negative index one step further: the last store is out of bounds.
        Loop {
            scale: 0,
            base: 65552 + 20,
            ..counting(-400, 20, Cond::Ne, 0)
        },
        // Counting up to 0 by a step that does not divide the distance: wraps round.
        Loop {
            scale: 0,
            base: 65536,
            ..counting(-400, 30, Cond::Ne, 0)
        },
        // The same on the counter itself.
        Loop {
            scale: 0,
            base: 65552,
            bare: true,
            ..counting(-400, 30, Cond::Ne, 0)
        },
        // The bound is the argument: no constant range.
        Loop {
            bound: None,
            ..counting(0, 1, Cond::LtU, 0)
        },
        // `!=` from above the bound wraps round through every value.
        counting(200, 1, Cond::Ne, 100),
        // `!=` with a step that jumps over the bound.
        counting(0, 3, Cond::Ne, 100),
        // Signed: a negative start is a huge unsigned address.
        Loop {
            base: 0,
            ..counting(-16, 1, Cond::LtS, 10)
        },
        // Tested on p with `<=` near u32::MAX: p + 1 would wrap.
        Loop {
            test_next: false,
            ..counting(0, 1, Cond::LeU, -1)
        },
    ] {
        let m = l.module();
        assert!(checks(&m) > 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &singles(&ARGS));
    }
}

#[test]
fn a_masked_index_needs_no_check() {
    // table[x & 255] at 2048: within the first page whatever x is.
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let x = f.param(0);
    let mask = f.op(Op::Const(255), &[], Type::I32);
    let i = f.op(Op::Binary(BinaryOp::And), &[x, mask], Type::I32);
    let two = f.op(Op::Const(2), &[], Type::I32);
    let scaled = f.op(Op::Binary(BinaryOp::Shl), &[i, two], Type::I32);
    let base = f.op(Op::Const(2048), &[], Type::I32);
    let addr = f.op(Op::Binary(BinaryOp::Add), &[scaled, base], Type::I32);
    let v = f.op(LOAD, &[addr], Type::I32);
    f.ret(&[v]);
    let m = module(&[], vec![f.func], memory(1, 1), Vec::new());
    assert_eq!(checks(&m), 0);
    assert_same(&m, 0, &singles(&[0, 255, 256, 0xFFFF_FFFF]));

    // At 65536 - 512 the top quarter of the indices is out of bounds: checked.
    let mut g = m.clone();
    for inst in g.bodies[0].blocks[0].insts.iter_mut() {
        if inst.op == Op::Const(2048) {
            inst.op = Op::Const(65536 - 512);
        }
    }
    assert!(checks(&g) > 0);
    assert_same(&g, 0, &singles(&[0, 127, 128, 255, 0xFFFF_FFFF]));
}

/// f(x): an address q from `q0` by 4 while a counter c from `c0` steps by `c_step` and goes
/// round while `c + c_step != c_end`; stores c at q.
fn lockstep(q0: i64, c0: i64, c_step: i64, c_end: i64) -> Module {
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let header = f.block(&[Type::I32, Type::I32]);
    let again = f.block(&[]);
    let done = f.block(&[]);
    let (q_init, c_init) = (
        f.op(Op::Const(q0), &[], Type::I32),
        f.op(Op::Const(c0), &[], Type::I32),
    );
    f.term(Terminator::Jump {
        target: header,
        args: vec![q_init, c_init],
    });
    f.switch_to(header);
    let [q, c] = f.block_params(header)[..] else {
        unreachable!()
    };
    f.effect(STORE, &[q, c]);
    let four = f.op(Op::Const(4), &[], Type::I32);
    let q_next = f.op(Op::Binary(BinaryOp::Add), &[q, four], Type::I32);
    let step = f.op(Op::Const(c_step), &[], Type::I32);
    let c_next = f.op(Op::Binary(BinaryOp::Add), &[c, step], Type::I32);
    let end = f.op(Op::Const(c_end), &[], Type::I32);
    let more = f.op(Op::Compare(Cond::Ne), &[c_next, end], Type::I32);
    f.term(Terminator::Branch {
        cond: more,
        then_block: again,
        else_block: done,
    });
    f.switch_to(again);
    f.term(Terminator::Jump {
        target: header,
        args: vec![q_next, c_next],
    });
    f.switch_to(done);
    let v = f.op(LOAD, &[q_init], Type::I32);
    f.ret(&[v]);
    module(&[], vec![f.func], memory(1, 1), Vec::new())
}

#[test]
fn addresses_stepping_with_a_bounded_counter_need_no_check() {
    // Ten rounds (c = 10, 9, .. 1), counting down or up; q up to q0 + 36, the last word
    // ending exactly at the end of the page.
    for m in [
        lockstep(60000, 10, -1, 0),
        lockstep(60000, 0, 1, 10),
        lockstep(65496, 10, -1, 0),
    ] {
        assert_eq!(checks(&m), 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &singles(&[0]));
    }
    for m in [
        // 10000 rounds reach past the page: checked, and traps.
        lockstep(60000, 10000, -1, 0),
        // One word further: the tenth store is out of bounds.
        lockstep(65500, 10, -1, 0),
        // Counting down by 3 from 10 never meets 0 exactly: wraps round.
        lockstep(0, 10, -3, 0),
    ] {
        assert!(checks(&m) > 0, "{}", legalized(&m, NO_CAPS, true).bodies[0]);
        assert_same(&m, 0, &singles(&[0]));
    }
}

//! Linear memory, bounds checks, memory.size/grow, globals and `synth_init`.

use super::*;
use crate::ir::{BinaryOp, Cond, DataSegment, MemArg, Symbol, UnaryOp};

fn mem(width: u8, signed: bool, offset: u64) -> MemArg {
    MemArg {
        width,
        signed,
        offset,
    }
}

/// f0(addr, value) stores `value` (type `ty`, `width` bytes) at addr+offset and loads it back
/// (sign- or zero-extended); f1(addr) loads the i32 at addr.
fn store_load_module(ty: Type, width: u8, signed: bool, offset: u64) -> Module {
    let mut b = FuncBuilder::new(&[Type::I32, ty], &[ty]);
    let (addr, value) = (b.param(0), b.param(1));
    b.effect(Op::Store(mem(width, false, offset)), &[addr, value]);
    let r = b.op(Op::Load(mem(width, signed, offset)), &[addr], ty);
    b.ret(&[r]);
    let mut probe = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let a = probe.param(0);
    let v = probe.op(Op::Load(mem(4, false, 0)), &[a], Type::I32);
    probe.ret(&[v]);
    module(&[], vec![b.func, probe.func], memory(1, 2), Vec::new())
}

const ADDRS: [u64; 10] = [
    0,
    1,
    3,
    65528,
    65529,
    65532,
    65535,
    65536,
    0xFFFF_FFFF,
    0xFFFF_FFF8,
];

#[test]
fn loads_and_stores_of_every_width_match_including_traps() {
    let values = [
        0u64,
        0x80,
        0xFF,
        0x8000,
        0x8000_0000,
        u64::MAX,
        0x8123_4567_89AB_CDEF,
    ];
    for (ty, widths) in [
        (Type::I32, &[1u8, 2, 4][..]),
        (Type::I64, &[1u8, 2, 4, 8][..]),
    ] {
        for &width in widths {
            for signed in [false, true] {
                for offset in [0u64, 5, 0xFFF8, 0x1_0000] {
                    let m = store_load_module(ty, width, signed, offset);
                    let args: Vec<Vec<u64>> = ADDRS
                        .iter()
                        .flat_map(|a| values.iter().map(move |v| vec![*a, *v]))
                        .collect();
                    assert_same(&m, 0, &args);
                }
            }
        }
    }
}

#[test]
fn offsets_near_u32_max_always_trap() {
    for (offset, width) in [
        (u32::MAX as u64 - 3, 4u8),
        (u32::MAX as u64 - 7, 8),
        (u32::MAX as u64, 1),
        (u32::MAX as u64 - 2, 4),
        (1 << 32, 1),
        (u64::MAX - 8, 8),
    ] {
        let ty = if width == 8 { Type::I64 } else { Type::I32 };
        let m = store_load_module(ty, width, false, offset);
        for checks in [true, false] {
            let after = legalized(&m, NO_CAPS, checks);
            for addr in [0u64, 1, 0xFFFF_FFFF] {
                assert_eq!(
                    run(&after, 0, &[addr, 7]),
                    trap(TrapCode::MemoryOutOfBounds),
                    "offset {offset:#x} width {width} checks {checks}"
                );
            }
        }
    }
}

#[test]
fn a_trapping_wide_store_writes_nothing() {
    let m = store_load_module(Type::I64, 8, false, 0);
    let after = legalized(&m, NO_CAPS, true);
    let mut interp = Interp::new(&after).expect("setup");
    interp.instantiate().expect("init");
    // Bytes 65532..65536 are inside memory; the 8-byte store must not write them.
    assert_eq!(
        interp.call(0, &[65532, u64::MAX]),
        Err(InterpError::Trap(TrapCode::MemoryOutOfBounds))
    );
    assert_eq!(interp.call(1, &[65532]), Ok(vec![0]));
    assert_eq!(interp.call(0, &[65528, u64::MAX]), Ok(vec![u64::MAX]));
    assert_eq!(interp.call(1, &[65532]), Ok(vec![0xFFFF_FFFF]));
    let checks = |m: &Module| {
        m.bodies[0]
            .blocks
            .iter()
            .flat_map(|b| b.insts.iter())
            .filter(|i| {
                matches!(
                    i.op,
                    Op::BoundsCheck { end: 8 } | Op::TrapIf(TrapCode::MemoryOutOfBounds)
                )
            })
            .count()
    };
    // The load reads what the store checked: its check is redundant.
    assert_eq!(checks(&after), 1, "one check for the store and the load");
    assert_eq!(checks(&legalized(&m, NO_CAPS, false)), 0);
}

#[test]
fn without_bounds_checks_in_range_accesses_still_work() {
    let m = store_load_module(Type::I64, 8, false, 16);
    let after = legalized(&m, NO_CAPS, false);
    for addr in [0u64, 3, 65000] {
        for v in EDGES64 {
            assert_eq!(run(&after, 0, &[addr, v]), run(&m, 0, &[addr, v]));
        }
    }
}

fn grow_module(initial: u32, max: u32) -> Module {
    let mut grow = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let d = grow.param(0);
    let r = grow.op(Op::MemoryGrow, &[d], Type::I32);
    grow.ret(&[r]);
    let mut size = FuncBuilder::new(&[], &[Type::I32]);
    let s = size.op(Op::MemorySize, &[], Type::I32);
    size.ret(&[s]);
    module(
        &[],
        vec![grow.func, size.func],
        memory(initial, max),
        Vec::new(),
    )
}

#[test]
fn memory_grow_and_size_follow_the_maximum() {
    for (initial, max) in [(1, 4), (0, 0), (0, 3), (2, 2), (1, 65535)] {
        let m = grow_module(initial, max);
        let after = legalized(&m, NO_CAPS, true);
        let mut before = Interp::new(&m).expect("setup");
        let mut now = Interp::new(&after).expect("setup");
        before.instantiate().expect("init");
        now.instantiate().expect("init");
        let mut expected_pages = initial as u64;
        for delta in [0u64, 1, 1, 5, 0xFFFF_FFFF, 0x10000, 0x8000_0000, 1, 0] {
            let want = before.call(0, &[delta]);
            assert_eq!(
                now.call(0, &[delta]),
                want,
                "grow {delta} ({initial}/{max})"
            );
            // Independent expectation, so the two forms cannot agree on a wrong answer.
            let fits = expected_pages + delta <= max as u64;
            let old = expected_pages;
            if fits {
                expected_pages += delta;
            }
            assert_eq!(want, Ok(vec![if fits { old } else { 0xFFFF_FFFF }]));
            assert_eq!(now.call(1, &[]), Ok(vec![expected_pages]));
            assert_eq!(now.memory_bytes() as u64, expected_pages * 65536);
        }
    }
}

#[test]
fn grown_memory_is_accessible_and_checked_against_the_new_size() {
    let mut f = FuncBuilder::new(&[Type::I32, Type::I32], &[Type::I32]);
    let (delta, addr) = (f.param(0), f.param(1));
    f.op(Op::MemoryGrow, &[delta], Type::I32);
    let k = f.op(Op::Const(0x5A), &[], Type::I32);
    f.effect(Op::Store(mem(1, false, 0)), &[addr, k]);
    let v = f.op(Op::Load(mem(1, false, 0)), &[addr], Type::I32);
    f.ret(&[v]);
    let m = module(&[], vec![f.func], memory(1, 3), Vec::new());
    assert_same(
        &m,
        0,
        &[
            vec![0, 65535],
            vec![0, 65536],
            vec![1, 65536],
            vec![1, 131071],
            vec![1, 131072],
            vec![5, 70000],
        ],
    );
}

#[test]
fn globals_of_both_widths() {
    let globals = vec![
        Global {
            ty: Type::I32,
            mutable: true,
            init: 0x1234_5678,
            exports: Vec::new(),
            import: None,
        },
        Global {
            ty: Type::I64,
            mutable: true,
            init: -2,
            exports: Vec::new(),
            import: None,
        },
    ];
    // f0(x: i64) -> i64: g0 += wrap(x); g1 = g1 * x; return g1 + extend_u(g0).
    let mut f = FuncBuilder::new(&[Type::I64], &[Type::I64]);
    let x = f.param(0);
    let g0 = f.op(Op::GlobalGet(0), &[], Type::I32);
    let xw = f.op(Op::Unary(UnaryOp::Wrap), &[x], Type::I32);
    let s = f.op(Op::Binary(BinaryOp::Add), &[g0, xw], Type::I32);
    f.effect(Op::GlobalSet(0), &[s]);
    let g1 = f.op(Op::GlobalGet(1), &[], Type::I64);
    let p = f.op(Op::Binary(BinaryOp::Mul), &[g1, x], Type::I64);
    f.effect(Op::GlobalSet(1), &[p]);
    let g0 = f.op(Op::GlobalGet(0), &[], Type::I32);
    let g0w = f.op(Op::Unary(UnaryOp::ExtendI32U), &[g0], Type::I64);
    let r = f.op(Op::Binary(BinaryOp::Add), &[p, g0w], Type::I64);
    f.ret(&[r]);
    let m = module(&[], vec![f.func], None, globals);
    let after = legalized(&m, NO_CAPS, true);
    let mut before = Interp::new(&m).expect("setup");
    let mut now = Interp::new(&after).expect("setup");
    before.instantiate().expect("init");
    now.instantiate().expect("init");
    for x in [3u64, 0xFFFF_FFFF, 1 << 33, u64::MAX] {
        assert_eq!(now.call(0, &[x]), before.call(0, &[x]));
        assert_eq!(now.global(0), before.global(0));
        assert_eq!(now.global(1), before.global(1));
    }
    assert_eq!(
        now.global(1),
        Some(
            [3u64, 0xFFFF_FFFF, 1 << 33, u64::MAX]
                .iter()
                .fold(-2i64 as u64, |g, x| g.wrapping_mul(*x))
        )
    );
    let symbols: Vec<Symbol> = after.bodies[0].blocks[0]
        .insts
        .iter()
        .filter_map(|i| match i.op {
            Op::LoadSymbol { symbol, offset: 4 } => Some(symbol),
            _ => None,
        })
        .collect();
    assert_eq!(
        symbols,
        [Symbol::Global(1)],
        "the i64 high word lives at offset 4"
    );
}

fn data(offset: u32, bytes: &[u8]) -> DataSegment {
    DataSegment {
        offset_global: None,
        offset: Some(offset),
        bytes: bytes.to_vec(),
    }
}

/// f0(addr) -> i32 loads a byte; the start function (f1) stores 0x77 at address 100.
fn init_module(segments: Vec<DataSegment>, with_start: bool) -> Module {
    let mut load = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let a = load.param(0);
    let v = load.op(Op::Load(mem(1, false, 0)), &[a], Type::I32);
    load.ret(&[v]);
    let mut start = FuncBuilder::new(&[], &[]);
    let addr = start.op(Op::Const(100), &[], Type::I32);
    let k = start.op(Op::Const(0x77), &[], Type::I32);
    start.effect(Op::Store(mem(1, false, 0)), &[addr, k]);
    start.ret(&[]);
    let mut m = module(&[], vec![load.func, start.func], memory(1, 1), Vec::new());
    m.data = segments;
    if with_start {
        m.start = Some(1);
    }
    m
}

#[test]
fn synth_init_copies_segments_in_order_and_runs_start() {
    let segs = vec![
        data(0, &[1, 2, 3, 4, 5]),
        data(3, &[9, 9]),
        data(65533, &[7, 8, 9]),
        data(10, &[]),
    ];
    let m = init_module(segs, true);
    let after = legalized(&m, NO_CAPS, true);
    let mut before = Interp::new(&m).expect("setup");
    let mut now = Interp::new(&after).expect("setup");
    before.instantiate().expect("init");
    now.instantiate().expect("init");
    assert_eq!(now.memory(), before.memory());
    let memory = now.memory();
    assert_eq!(memory.len(), 65536);
    assert_eq!(&memory[0..6], &[1, 2, 3, 9, 9, 0]);
    assert_eq!(&memory[65533..], &[7, 8, 9]);
    assert_eq!(memory[100], 0x77, "start function ran");
    assert_eq!(now.call(0, &[4]), Ok(vec![9]));
}

#[test]
fn synth_init_traps_at_the_first_segment_that_does_not_fit() {
    let segs = vec![data(0, &[1, 2]), data(65535, &[1, 2]), data(8, &[3])];
    let m = init_module(segs, true);
    let after = legalized(&m, NO_CAPS, true);
    let mut before = Interp::new(&m).expect("setup");
    let mut now = Interp::new(&after).expect("setup");
    let trapped = Err(InterpError::Trap(TrapCode::DataSegmentOutOfBounds));
    assert_eq!(before.instantiate(), trapped);
    assert_eq!(now.instantiate(), trapped);
    let memory = now.memory();
    assert_eq!(&memory[0..2], &[1, 2], "earlier segments were copied");
    assert_eq!(memory[8], 0, "later segments were not");
    assert_eq!(memory[100], 0, "start did not run");
    assert_eq!(now.memory(), before.memory());
}

#[test]
fn synth_init_exists_without_memory_and_calls_start() {
    let mut start = FuncBuilder::new(&[], &[]);
    let k = start.op(Op::Const(41), &[], Type::I32);
    start.effect(Op::GlobalSet(0), &[k]);
    start.ret(&[]);
    let g = Global {
        ty: Type::I32,
        mutable: true,
        init: 0,
        exports: Vec::new(),
        import: None,
    };
    let mut m = module(&[], vec![start.func], None, vec![g]);
    m.start = Some(0);
    let after = legalized(&m, NO_CAPS, true);
    let mut now = Interp::new(&after).expect("setup");
    now.instantiate().expect("init");
    assert_eq!(now.global(0), Some(41));
    let init = after.functions.last().expect("synth_init");
    assert_eq!(
        now.export("synth_init"),
        Some(after.functions.len() as u32 - 1)
    );
    assert_eq!(init.name, "synth_init");
    assert_eq!(init.sig, Signature::default());
    // Without a start function it just returns.
    let bare = legalized(&module(&[], vec![], None, Vec::new()), NO_CAPS, true);
    assert_eq!(bare.functions.len(), 1);
    assert!(Interp::new(&bare).expect("setup").instantiate().is_ok());
}

#[test]
fn memory_operations_without_memory_are_an_internal_error() {
    let mut f = FuncBuilder::new(&[], &[Type::I32]);
    let s = f.op(Op::MemorySize, &[], Type::I32);
    f.ret(&[s]);
    let mut m = module(&[], vec![f.func], None, Vec::new());
    let err = super::super::run(&mut m, NO_CAPS, &Options::default()).unwrap_err();
    assert_eq!(err.kind, crate::ErrorKind::Internal);
    let mut m = init_module(vec![], false);
    m.memory = None;
    assert!(super::super::run(&mut m, NO_CAPS, &Options::default()).is_err());
}

#[test]
fn longer_accesses_to_a_checked_address_compare_the_room_left() {
    // Stores at addr, addr+4 and (after a grow of `delta` pages) addr+8, each longer than the
    // last: the second compares the room left after the first check, the third recomputes it
    // from the grown size (a room from the old size would trap where the memory has grown).
    let mut f = FuncBuilder::new(&[Type::I32, Type::I32], &[Type::I32]);
    let (addr, delta) = (f.param(0), f.param(1));
    let k = f.op(Op::Const(0x11), &[], Type::I32);
    f.effect(Op::Store(mem(4, false, 0)), &[addr, k]);
    f.effect(Op::Store(mem(4, false, 4)), &[addr, k]);
    f.op(Op::MemoryGrow, &[delta], Type::I32);
    f.effect(Op::Store(mem(4, false, 8)), &[addr, k]);
    let v = f.op(Op::Load(mem(2, false, 10)), &[addr], Type::I32);
    f.ret(&[v]);
    let m = module(&[], vec![f.func], memory(1, 3), Vec::new());
    let args: Vec<Vec<u64>> = [0u64, 65520, 65524, 65526, 65528, 65532, 65536, 0xFFFF_FFFC]
        .iter()
        .flat_map(|&a| [vec![a, 0], vec![a, 1]])
        .collect();
    assert_same(&m, 0, &args);
    // The second check is the room compare: no `bytes - 8` limit is computed.
    let after = legalized(&m, NO_CAPS, true);
    let rooms = after.bodies[0]
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .filter(|i| {
            i.op == Op::Binary(BinaryOp::Sub)
                && i.args.get(1) == Some(&after.bodies[0].blocks[0].params[0])
        })
        .count();
    assert_eq!(rooms, 2, "{}", after.bodies[0]);
}

#[test]
fn accesses_near_a_far_constant_address_share_one_host_address() {
    // A C global's fields at 66000 + 0, 4 and 10 (beyond any access immediate): one
    // `base + 65536` for all three, each access the low bits as its offset.
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let v = f.param(0);
    let a = f.op(Op::Const(66000), &[], Type::I32);
    f.effect(Op::Store(mem(4, false, 0)), &[a, v]);
    f.effect(Op::Store(mem(4, false, 4)), &[a, v]);
    let r = f.op(Op::Load(mem(2, true, 10)), &[a], Type::I32);
    f.ret(&[r]);
    let m = module(&[], vec![f.func], memory(2, 2), Vec::new());
    assert_same(&m, 0, &[vec![0], vec![0x8000_1234], vec![u32::MAX as u64]]);
    for caps in [NO_CAPS, ALL_CAPS] {
        let mut after = legalized(&m, caps, true);
        crate::opt::run(&mut after, crate::opt::Stage::legalized_cortex_m());
        let f = &after.bodies[0];
        let count = |op: Op| f.blocks[0].insts.iter().filter(|i| i.op == op).count();
        assert_eq!(count(Op::Const(65536)), 1, "{f}");
        assert_eq!(count(Op::Binary(BinaryOp::Add)), 1, "{f}");
        let offsets: Vec<u64> = f.blocks[0]
            .insts
            .iter()
            .filter_map(|i| match &i.op {
                Op::Load(m) | Op::Store(m) => Some(m.offset),
                _ => None,
            })
            .collect();
        assert_eq!(offsets, [464, 468, 474], "{f}");
    }
}

#[test]
fn unchecked_array_addresses_join_the_memory_base() {
    // f(i, p) = a[i] + p[i] with a at 70000 and p a pointer, words (i << 2): without checks
    // the access adds the scaled index to `base + 70000` (or its upper part) and, on Thumb-2
    // where the shift folds into the access, to `base + p`, so the array part is
    // loop-invariant; the sums wrap in 32 bits as the wasm address does.
    let mut f = FuncBuilder::new(&[Type::I32, Type::I32], &[Type::I32]);
    let (i, p) = (f.param(0), f.param(1));
    let two = f.op(Op::Const(2), &[], Type::I32);
    let scaled = f.op(Op::Binary(BinaryOp::Shl), &[i, two], Type::I32);
    let array = f.op(Op::Const(70000), &[], Type::I32);
    let at_a = f.op(Op::Binary(BinaryOp::Add), &[scaled, array], Type::I32);
    let scaled_again = f.op(Op::Binary(BinaryOp::Shl), &[i, two], Type::I32);
    let at_p = f.op(Op::Binary(BinaryOp::Add), &[p, scaled_again], Type::I32);
    let x = f.op(Op::Load(mem(4, false, 0)), &[at_a], Type::I32);
    let y = f.op(Op::Load(mem(4, false, 0)), &[at_p], Type::I32);
    let sum = f.op(Op::Binary(BinaryOp::Add), &[x, y], Type::I32);
    f.ret(&[sum]);
    let bytes: Vec<u8> = (0u8..64).collect();
    let mut m = module(&[], vec![f.func], memory(2, 2), Vec::new());
    m.data = vec![data(70000, &bytes)];
    // In bounds, including "negative" pointers whose sum with the index wraps round.
    let args = [
        vec![0, 69992],
        vec![3, 69980],
        vec![5, 70000],
        vec![7, 0xFFFF_FFF0],
        vec![6, 0xFFFF_FFF8],
    ];
    for caps in [NO_CAPS, ALL_CAPS] {
        let after = legalized(&m, caps, false);
        for a in &args {
            assert_eq!(
                run(&after, 0, a),
                run(&m, 0, a),
                "{a:x?}\n{}",
                after.bodies[0]
            );
        }
        // The memory base is added to the array parts (70000, or its upper part, and p), not
        // to the whole wasm addresses.
        let func = &after.bodies[0];
        let insts = &func.blocks[0].insts;
        let memory = insts
            .iter()
            .find(|i| matches!(i.op, Op::SymbolAddr { .. }))
            .map(|i| i.results[0]);
        let konst = |v: Value| {
            insts
                .iter()
                .any(|i| i.results == [v] && matches!(i.op, Op::Const(69632 | 70000)))
        };
        let parts = insts
            .iter()
            .filter(|i| i.op == Op::Binary(BinaryOp::Add) && Some(i.args[0]) == memory)
            .filter(|i| konst(i.args[1]) || i.args[1] == p)
            .count();
        let expected = if caps.indexed_access { 2 } else { 1 };
        assert_eq!(parts, expected, "{func}");
    }
}

#[test]
fn an_address_from_outside_the_loop_stays_whole() {
    // a[i] at 70000 + (i << 2) computed in the entry block and loaded in a loop: the access
    // adds the whole address to the memory base, not the base plus 70000 and then the index
    // again in every iteration.
    let mut f = FuncBuilder::new(&[Type::I32], &[Type::I32]);
    let i = f.param(0);
    let two = f.op(Op::Const(2), &[], Type::I32);
    let scaled = f.op(Op::Binary(BinaryOp::Shl), &[i, two], Type::I32);
    let array = f.op(Op::Const(70000), &[], Type::I32);
    let at = f.op(Op::Binary(BinaryOp::Add), &[scaled, array], Type::I32);
    let next = f.block(&[Type::I32]);
    let done = f.block(&[]);
    let zero = f.op(Op::Const(0), &[], Type::I32);
    f.term(Terminator::Jump {
        target: next,
        args: vec![zero],
    });
    // Loads a[i] until it differs from the counter (or three rounds).
    f.switch_to(next);
    let n = f.block_params(next)[0];
    let x = f.op(Op::Load(mem(4, false, 0)), &[at], Type::I32);
    let one = f.op(Op::Const(1), &[], Type::I32);
    let n1 = f.op(Op::Binary(BinaryOp::Add), &[n, one], Type::I32);
    let three = f.op(Op::Const(3), &[], Type::I32);
    let more = f.op(Op::Compare(Cond::LtU), &[n1, three], Type::I32);
    let again = f.block(&[]);
    f.term(Terminator::Branch {
        cond: more,
        then_block: again,
        else_block: done,
    });
    f.switch_to(again);
    f.term(Terminator::Jump {
        target: next,
        args: vec![n1],
    });
    f.switch_to(done);
    f.ret(&[x]);
    let m = module(&[], vec![f.func], memory(2, 2), Vec::new());
    for caps in [NO_CAPS, ALL_CAPS] {
        let after = legalized(&m, caps, false);
        for a in [0u64, 5, 1000] {
            assert_eq!(run(&after, 0, &[a]), run(&m, 0, &[a]));
        }
        let func = &after.bodies[0];
        let adds_of_70000 = func
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|i| matches!(i.op, Op::Const(69632 | 70000)))
            .count();
        assert_eq!(adds_of_70000, 1, "{func}");
        // The loop redoes no part of the address: no shift, no array address.
        let redone = func.blocks[1]
            .insts
            .iter()
            .filter(|i| {
                matches!(
                    i.op,
                    Op::Binary(BinaryOp::Shl) | Op::Const(69632) | Op::Const(70000)
                )
            })
            .count();
        assert_eq!(redone, 0, "{func}");
    }
}

/// The checks each function of fixtures/check_coverage.wat keeps (the differential test runs
/// them): a load's check reaching the accesses at or above it after it, a dominating block's
/// check, and a check covering lower addresses when a guard keeps them from wrapping.
#[test]
fn checks_cover_later_dominated_and_lower_accesses() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/check_coverage.wat");
    let wat = std::fs::read(path).expect("fixture");
    let options = crate::options::Options::new(crate::options::Target::CortexM4);
    let m = crate::legalized_module(&wat, &options).unwrap();
    let checks = |name: &str| {
        let body = m.bodies.iter().find(|b| b.name == name).expect(name);
        body.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter(|i| {
                matches!(
                    i.op,
                    Op::TrapIf(TrapCode::MemoryOutOfBounds) | Op::BoundsCheck { .. }
                )
            })
            .count()
    };
    for (name, kept) in [
        ("fields", 1),
        ("taps", 1),
        ("load_store_load", 1),
        ("store_then_load", 2),
        ("load_div_load", 2),
        ("load_call_load", 2),
        ("dominated", 2),
        ("descending", 1),
        ("descending_unguarded", 3),
    ] {
        assert_eq!(checks(name), kept, "{name}");
    }
}

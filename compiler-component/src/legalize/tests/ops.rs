//! Operators: i64 arithmetic on pairs, comparisons, conversions, the i32 expansions for missing
//! caps, division helpers, calls and i64 block parameters.

use super::*;
use crate::ir::{BinaryOp, Cond, UnaryOp};

fn binary_fn(op: BinaryOp, ty: Type) -> Module {
    let mut b = FuncBuilder::new(&[ty, ty], &[ty]);
    let (x, y) = (b.param(0), b.param(1));
    let r = b.op(Op::Binary(op), &[x, y], ty);
    b.ret(&[r]);
    module(&[], vec![b.func], None, Vec::new())
}

fn unary_fn(op: UnaryOp, from: Type, to: Type) -> Module {
    let mut b = FuncBuilder::new(&[from], &[to]);
    let x = b.param(0);
    let r = b.op(Op::Unary(op), &[x], to);
    b.ret(&[r]);
    module(&[], vec![b.func], None, Vec::new())
}

#[test]
fn i64_arithmetic_bitwise_and_shifts_match_before_and_after() {
    use BinaryOp::*;
    for op in [Add, Sub, Mul, And, Or, Xor, Shl, ShrS, ShrU, Rotl, Rotr] {
        assert_same(&binary_fn(op, Type::I64), 0, &pairs(&EDGES64));
    }
}

#[test]
fn i64_results_are_the_wasm_values_not_just_self_consistent() {
    // Guards against the interpreter and legalize agreeing on a wrong answer.
    let m = legalized(&binary_fn(BinaryOp::Mul, Type::I64), NO_CAPS, true);
    let (a, b) = (0x1234_5678_9ABC_DEF0u64, 0xFEDC_BA98_7654_3211u64);
    assert_eq!(run(&m, 0, &[a, b]), Ok(vec![a.wrapping_mul(b)]));
    let m = legalized(&binary_fn(BinaryOp::Rotl, Type::I64), NO_CAPS, true);
    assert_eq!(run(&m, 0, &[a, 68]), Ok(vec![a.rotate_left(4)]));
    let m = legalized(&binary_fn(BinaryOp::ShrS, Type::I64), NO_CAPS, true);
    assert_eq!(
        run(&m, 0, &[i64::MIN as u64, 65]),
        Ok(vec![(i64::MIN >> 1) as u64])
    );
}

#[test]
fn i64_unary_operators_match_before_and_after() {
    use UnaryOp::*;
    for op in [Clz, Ctz, Popcnt, Extend8S, Extend16S, Extend32S] {
        assert_same(&unary_fn(op, Type::I64, Type::I64), 0, &singles(&EDGES64));
    }
    assert_same(&unary_fn(Eqz, Type::I64, Type::I32), 0, &singles(&EDGES64));
    assert_same(&unary_fn(Wrap, Type::I64, Type::I32), 0, &singles(&EDGES64));
    for op in [ExtendI32S, ExtendI32U] {
        assert_same(&unary_fn(op, Type::I32, Type::I64), 0, &singles(&EDGES32));
    }
}

#[test]
fn i32_operators_the_target_lacks_are_expanded_correctly() {
    use UnaryOp::*;
    for op in [Clz, Ctz, Popcnt, Eqz, Extend8S, Extend16S] {
        assert_same(&unary_fn(op, Type::I32, Type::I32), 0, &singles(&EDGES32));
    }
    for op in [
        BinaryOp::Rotl,
        BinaryOp::Rotr,
        BinaryOp::Shl,
        BinaryOp::ShrS,
    ] {
        assert_same(&binary_fn(op, Type::I32), 0, &pairs(&EDGES32));
    }
    // Exhaustive-ish: every single-bit and low-bit-mask pattern through the SWAR paths.
    let mut patterns = Vec::new();
    for i in 0..32 {
        patterns.push(vec![1u64 << i]);
        patterns.push(vec![(1u64 << i) - 1]);
        patterns.push(vec![!((1u64 << i) - 1) & 0xFFFF_FFFF]);
    }
    for op in [Clz, Ctz, Popcnt] {
        assert_same(&unary_fn(op, Type::I32, Type::I32), 0, &patterns);
    }
}

fn count_ops(m: &Module, pred: impl Fn(&Op) -> bool) -> usize {
    m.bodies
        .iter()
        .flat_map(|f| f.blocks.iter())
        .flat_map(|b| b.insts.iter())
        .filter(|i| pred(&i.op))
        .count()
}

#[test]
fn caps_decide_between_native_operators_and_expansions() {
    let clz = unary_fn(UnaryOp::Clz, Type::I32, Type::I32);
    let native = |op: &Op| matches!(op, Op::Unary(UnaryOp::Clz | UnaryOp::Popcnt));
    assert_eq!(count_ops(&legalized(&clz, NO_CAPS, true), native), 0);
    assert_eq!(count_ops(&legalized(&clz, ALL_CAPS, true), native), 1);
    let rotl = binary_fn(BinaryOp::Rotl, Type::I32);
    let rot = |op: &Op| matches!(op, Op::Binary(BinaryOp::Rotl | BinaryOp::Rotr));
    assert_eq!(count_ops(&legalized(&rotl, NO_CAPS, true), rot), 0);
    assert_eq!(count_ops(&legalized(&rotl, ALL_CAPS, true), rot), 1);
    // Popcnt without clz: clz expands to smear + native popcnt.
    let only_popcnt = Caps {
        has_popcnt: true,
        ..NO_CAPS
    };
    let popcnt = |op: &Op| matches!(op, Op::Unary(UnaryOp::Popcnt));
    assert_eq!(count_ops(&legalized(&clz, only_popcnt, true), popcnt), 1);
}

#[test]
fn comparisons_match_before_and_after() {
    use Cond::*;
    for cond in [Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU] {
        for (ty, edges) in [(Type::I64, &EDGES64[..]), (Type::I32, &EDGES32[..])] {
            let mut b = FuncBuilder::new(&[ty, ty], &[Type::I32]);
            let (x, y) = (b.param(0), b.param(1));
            let r = b.op(Op::Compare(cond), &[x, y], Type::I32);
            b.ret(&[r]);
            let m = module(&[], vec![b.func], None, Vec::new());
            assert_same(&m, 0, &pairs(edges));
        }
    }
}

#[test]
fn select_and_constants_on_i64() {
    let mut b = FuncBuilder::new(&[Type::I32, Type::I64], &[Type::I64]);
    let (c, x) = (b.param(0), b.param(1));
    let k = b.op(Op::Const(-0x1234_5678_9ABC), &[], Type::I64);
    let r = b.op(Op::Select, &[c, x, k], Type::I64);
    b.ret(&[r]);
    let m = module(&[], vec![b.func], None, Vec::new());
    let args: Vec<Vec<u64>> = [0u64, 1, 0x8000_0000]
        .iter()
        .flat_map(|c| EDGES64.iter().map(move |x| vec![*c, *x]))
        .collect();
    assert_same(&m, 0, &args);
    let after = legalized(&m, NO_CAPS, true);
    assert_eq!(
        run(&after, 0, &[0, 5]),
        Ok(vec![(-0x1234_5678_9ABCi64) as u64])
    );
}

/// i64 division as the frontend emits it: explicit trap checks, then the operator.
fn division_fn(op: BinaryOp) -> Module {
    let mut b = FuncBuilder::new(&[Type::I64, Type::I64], &[Type::I64]);
    let (x, y) = (b.param(0), b.param(1));
    let zero = b.op(Op::Unary(UnaryOp::Eqz), &[y], Type::I32);
    b.effect(Op::TrapIf(TrapCode::IntegerDivideByZero), &[zero]);
    if op == BinaryOp::DivS {
        let min = b.op(Op::Const(i64::MIN), &[], Type::I64);
        let minus1 = b.op(Op::Const(-1), &[], Type::I64);
        let is_min = b.op(Op::Compare(Cond::Eq), &[x, min], Type::I32);
        let is_m1 = b.op(Op::Compare(Cond::Eq), &[y, minus1], Type::I32);
        let both = b.op(Op::Binary(BinaryOp::And), &[is_min, is_m1], Type::I32);
        b.effect(Op::TrapIf(TrapCode::IntegerOverflow), &[both]);
    }
    let r = b.op(Op::Binary(op), &[x, y], Type::I64);
    b.ret(&[r]);
    module(&[], vec![b.func], None, Vec::new())
}

fn expected_division(op: BinaryOp, a: u64, b: u64) -> Result<Vec<u64>, InterpError> {
    if b == 0 {
        return trap(TrapCode::IntegerDivideByZero);
    }
    let (sa, sb) = (a as i64, b as i64);
    Ok(vec![match op {
        BinaryOp::DivS if sa == i64::MIN && sb == -1 => return trap(TrapCode::IntegerOverflow),
        BinaryOp::DivS => sa.wrapping_div(sb) as u64,
        BinaryOp::RemS => sa.wrapping_rem(sb) as u64,
        BinaryOp::DivU => a / b,
        _ => a % b,
    }])
}

#[test]
fn division_helpers_match_rust_on_edges_and_pseudo_random_values() {
    let mut values: Vec<u64> = EDGES64.to_vec();
    values.extend([
        2,
        3,
        7,
        10,
        0xFFFF_FFFF_FFFF_FFFE,
        0x1_0000_0000_0000,
        0xFFFF_FFFF_FFFF,
    ]);
    // A fixed LCG adds operands of every magnitude for the shift-subtract loop.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..24 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        values.push(seed >> (i % 60));
    }
    use BinaryOp::*;
    for op in [DivS, DivU, RemS, RemU] {
        let m = legalized(&division_fn(op), NO_CAPS, true);
        let helpers = m
            .functions
            .iter()
            .filter(|d| matches!(d.kind, FunctionKind::Runtime(_)) && d.name.starts_with("i64_"))
            .count();
        assert_eq!(helpers, 1, "only the used helper is added");
        let mut interp = Interp::new(&m).expect("setup");
        interp.instantiate().expect("init");
        for a in &values {
            for b in &values {
                let got = interp.call(0, &[*a, *b]);
                assert_eq!(got, expected_division(op, *a, *b), "{op:?} {a:#x} {b:#x}");
            }
        }
    }
}

#[test]
fn helpers_are_shared_and_named_for_their_symbols() {
    let mut b = FuncBuilder::new(&[Type::I64, Type::I64], &[Type::I64]);
    let (x, y) = (b.param(0), b.param(1));
    let q = b.op(Op::Binary(BinaryOp::DivU), &[x, y], Type::I64);
    let q2 = b.op(Op::Binary(BinaryOp::DivU), &[q, y], Type::I64);
    let r = b.op(Op::Binary(BinaryOp::RemS), &[q2, y], Type::I64);
    b.ret(&[r]);
    let m = legalized(&module(&[], vec![b.func], None, Vec::new()), NO_CAPS, true);
    let names: Vec<&str> = m.functions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["f0", "i64_div_u", "i64_rem_s", "synth_init"]);
    assert_eq!(
        m.symbol_name(crate::ir::Symbol::Function(1)),
        "__synth_rt_i64_div_u"
    );
    for (i, d) in m.functions.iter().enumerate().skip(1) {
        let FunctionKind::Runtime(body) = d.kind else {
            panic!("runtime kind expected");
        };
        assert_eq!(m.bodies[body as usize].index, i as u32);
    }
    assert_eq!(
        m.functions[1].sig,
        import(&[Type::I64, Type::I64], &[Type::I64])
    );
    assert_eq!(run(&m, 0, &[1000, 3]), Ok(vec![111 % 3]));
}

#[test]
fn calls_pass_i64_as_pairs_to_bodies_and_imports() {
    // f0(a: i64, b: i32) -> (i64, i32) calls f1 and an import with mixed arguments.
    let mut f1 = FuncBuilder::new(&[Type::I32, Type::I64], &[Type::I64]);
    let (p, q) = (f1.param(0), f1.param(1));
    let pw = f1.op(Op::Unary(UnaryOp::ExtendI32S), &[p], Type::I64);
    let s = f1.op(Op::Binary(BinaryOp::Sub), &[q, pw], Type::I64);
    f1.ret(&[s]);
    let mut f0 = FuncBuilder::new(&[Type::I64, Type::I32], &[Type::I64, Type::I32]);
    let (a, b) = (f0.param(0), f0.param(1));
    let c = f0.op(Op::Call(2), &[b, a], Type::I64);
    let r = f0.ops(Op::Call(0), &[c, b, a], &[Type::I64, Type::I32]);
    f0.ret(&r);
    let imports = [import(
        &[Type::I64, Type::I32, Type::I64],
        &[Type::I64, Type::I32],
    )];
    let m = module(&imports, vec![f0.func, f1.func], None, Vec::new());
    let args: Vec<Vec<u64>> = EDGES64
        .iter()
        .zip(EDGES32.iter().cycle())
        .map(|(a, b)| vec![*a, *b])
        .collect();
    assert_same(&m, 1, &args);
    let after = legalized(&m, NO_CAPS, true);
    // (a - (i64)b) + (i64)b + a + 0x1234, and the i32 result with 2 * 0x1234.
    let a = 0x1_0000_0005u64;
    let b = (-3i32) as u32 as u64;
    let sum = a.wrapping_add(a);
    assert_eq!(
        run(&after, 1, &[a, b]),
        Ok(vec![sum + 0x1234, (sum + 2 * 0x1234) & 0xFFFF_FFFF])
    );
}

#[test]
fn i64_block_parameters_through_a_loop() {
    // Product of 1..=n in i64, the accumulator and counter travelling as block parameters.
    let mut b = FuncBuilder::new(&[Type::I64], &[Type::I64]);
    let n = b.param(0);
    let one = b.op(Op::Const(1), &[], Type::I64);
    let head = b.block(&[Type::I64, Type::I64]);
    let body = b.block(&[]);
    let exit = b.block(&[]);
    b.term(Terminator::Jump {
        target: head,
        args: vec![one, one],
    });
    b.switch_to(head);
    let hp = b.block_params(head);
    let (acc, i) = (hp[0], hp[1]);
    let more = b.op(Op::Compare(Cond::LeU), &[i, n], Type::I32);
    b.term(Terminator::Branch {
        cond: more,
        then_block: body,
        else_block: exit,
    });
    b.switch_to(body);
    let acc2 = b.op(Op::Binary(BinaryOp::Mul), &[acc, i], Type::I64);
    let one2 = b.op(Op::Const(1), &[], Type::I64);
    let i2 = b.op(Op::Binary(BinaryOp::Add), &[i, one2], Type::I64);
    b.term(Terminator::Jump {
        target: head,
        args: vec![acc2, i2],
    });
    b.switch_to(exit);
    b.ret(&[acc]);
    let m = module(&[], vec![b.func], None, Vec::new());
    assert_same(&m, 0, &singles(&[0, 1, 5, 20, 21, 30]));
    let after = legalized(&m, NO_CAPS, true);
    assert_eq!(run(&after, 0, &[20]), Ok(vec![2_432_902_008_176_640_000]));
}

#[test]
fn switch_and_unreachable_blocks_are_kept_consistent() {
    let mut b = FuncBuilder::new(&[Type::I32, Type::I64], &[Type::I64]);
    let (idx, x) = (b.param(0), b.param(1));
    let t0 = b.block(&[]);
    let t1 = b.block(&[]);
    let dead = b.block(&[Type::I64]);
    b.term(Terminator::Switch {
        index: idx,
        targets: vec![t0],
        default: t1,
    });
    b.switch_to(t0);
    let neg = b.op(Op::Binary(BinaryOp::Sub), &[x, x], Type::I64);
    b.ret(&[neg]);
    b.switch_to(t1);
    b.ret(&[x]);
    b.switch_to(dead);
    let p = b.block_params(dead)[0];
    b.ret(&[p]);
    let m = module(&[], vec![b.func], None, Vec::new());
    assert_same(&m, 0, &[vec![0, 7], vec![1, u64::MAX], vec![9, 1 << 40]]);
    let after = legalized(&m, NO_CAPS, true);
    assert_eq!(after.bodies[0].blocks.len(), 4, "block numbering is kept");
    assert_eq!(after.bodies[0].blocks[3].params.len(), 2);
}

#[test]
fn ill_formed_input_is_an_error_not_a_panic() {
    // A use of a value never defined.
    let mut b = FuncBuilder::new(&[], &[Type::I32]);
    let ghost = b.func.new_value(Type::I32);
    b.ret(&[ghost]);
    let mut m = module(&[], vec![b.func], None, Vec::new());
    let err = super::super::run(&mut m, NO_CAPS, &Options::default()).unwrap_err();
    assert_eq!(err.kind, crate::ErrorKind::Internal);
    assert_eq!(err.function.as_deref(), Some("f0"));
    // A jump to a block that does not exist.
    let mut b = FuncBuilder::new(&[], &[]);
    b.term(Terminator::Jump {
        target: Block(7),
        args: vec![],
    });
    let mut m = module(&[], vec![b.func], None, Vec::new());
    assert!(super::super::run(&mut m, NO_CAPS, &Options::default()).is_err());
    // Reserved export name.
    let mut m = module(&[], vec![FuncBuilder::new(&[], &[]).func], None, Vec::new());
    m.functions[0].exports = vec!["synth_init".to_string()];
    let err = super::super::run(&mut m, NO_CAPS, &Options::default()).unwrap_err();
    assert_eq!(err.kind, crate::ErrorKind::Unsupported);
}

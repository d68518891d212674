//! Back-end tests on hand-built legalized IR: exact code for small cases, clean disassembly
//! (LLVM 14) for functions using every operation, relaxation of far branches and tables.

use super::asm::{Asm, Cc};
use super::layout::{BranchKind, Item, Meta, finish, relax};
use super::*;
use crate::ir::{
    BinaryOp, Block, BlockData, Cond, Function, FunctionDecl, FunctionKind, Import, MemArg, Module,
    Op, Signature, Symbol, Terminator, TrapCode, Type, UnaryOp, Value,
};
use crate::isa::LineKind;
use std::io::Write;
use std::process::{Command, Stdio};

/// Builds one legalized function.
struct Fb {
    f: Function,
}

impl Fb {
    fn new(index: u32, params: &[Type], results: &[Type]) -> (Fb, Vec<Value>) {
        let mut f = Function {
            index,
            name: format!("f{index}"),
            sig: Signature {
                params: params.to_vec(),
                results: results.to_vec(),
            },
            blocks: vec![],
            value_types: vec![],
            offset: 0,
        };
        let mut entry_params = Vec::new();
        for ty in params {
            let words = if *ty == Type::I64 { 2 } else { 1 };
            for _ in 0..words {
                entry_params.push(f.new_value(Type::I32));
            }
        }
        f.blocks.push(BlockData {
            params: entry_params.clone(),
            insts: vec![],
            term: Terminator::Trap {
                code: TrapCode::Unreachable,
            },
            term_offset: 0,
        });
        (Fb { f }, entry_params)
    }
    fn block(&mut self, nparams: usize) -> (Block, Vec<Value>) {
        let params: Vec<Value> = (0..nparams).map(|_| self.f.new_value(Type::I32)).collect();
        self.f.blocks.push(BlockData {
            params: params.clone(),
            insts: vec![],
            term: Terminator::Trap {
                code: TrapCode::Unreachable,
            },
            term_offset: 0,
        });
        (Block(self.f.blocks.len() as u32 - 1), params)
    }
    fn ops(&mut self, b: Block, op: Op, args: &[Value], nresults: usize) -> Vec<Value> {
        let results: Vec<Value> = (0..nresults).map(|_| self.f.new_value(Type::I32)).collect();
        let offset = 0x100 + self.f.blocks[b.0 as usize].insts.len() as u32;
        self.f.block_mut(b).insts.push(crate::ir::Inst {
            op,
            args: args.to_vec(),
            results: results.clone(),
            offset,
        });
        results
    }
    fn op(&mut self, b: Block, op: Op, args: &[Value]) -> Value {
        self.ops(b, op, args, 1)[0]
    }
    fn konst(&mut self, b: Block, k: i64) -> Value {
        self.op(b, Op::Const(k), &[])
    }
    fn term(&mut self, b: Block, t: Terminator) {
        self.f.block_mut(b).term = t;
    }
}

fn decl(sig: &Signature, kind: FunctionKind, name: &str) -> FunctionDecl {
    FunctionDecl {
        sig: sig.clone(),
        kind,
        exports: vec![name.to_string()],
        name: name.to_string(),
    }
}

/// A module whose function 0 is an import with `import_sig` and the given bodies after it.
pub(super) fn module(import_sig: Signature, bodies: Vec<Function>) -> Module {
    let mut functions = vec![FunctionDecl {
        sig: import_sig,
        kind: FunctionKind::Imported(Import {
            module: "env".into(),
            name: "ext".into(),
        }),
        exports: vec![],
        name: "ext".into(),
    }];
    for (i, b) in bodies.iter().enumerate() {
        functions.push(decl(&b.sig, FunctionKind::Defined(i as u32), &b.name));
    }
    Module {
        functions,
        bodies,
        globals: vec![],
        memory: None,
        data: vec![],
        start: None,
        tables: Default::default(),
        namespace: None,
    }
}

fn compile(m: &Module, body: usize, target: Target) -> CompiledFunction {
    compile_function(m, body, &Options::new(target))
        .unwrap_or_else(|e| panic!("compile failed: {e}\n{}", m.bodies[body]))
}

/// Disassemble the instruction lines (not table data) with llvm-mc, in order so IT blocks are
/// understood, and return its text per line.
fn disassemble(c: &CompiledFunction) -> Vec<String> {
    let input: String = c
        .listing
        .iter()
        .filter(|l| l.kind != LineKind::Data)
        .map(|l| {
            l.bytes
                .iter()
                .map(|b| format!("{b:#04x} "))
                .collect::<String>()
                + "\n"
        })
        .collect();
    let mut child = Command::new("llvm-mc")
        .args([
            "--disassemble",
            "-triple=thumbv7em-none-eabi",
            "-mcpu=cortex-m4",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llvm-mc (LLVM 14) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "llvm-mc: {stderr}\n{input}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('.'))
        .collect()
}

fn mnemonic(text: &str) -> String {
    text.split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(".w")
        .to_string()
}

/// Every instruction decodes, to the mnemonic the listing shows, and the listing tiles the code.
pub(super) fn check_clean(c: &CompiledFunction) {
    let mut at = 0;
    for l in &c.listing {
        assert_eq!(l.offset, at, "listing gap at {at}");
        assert_eq!(
            &c.code[at as usize..(at as usize + l.bytes.len())],
            &l.bytes[..]
        );
        at += l.bytes.len() as u32;
    }
    assert_eq!(at as usize, c.code.len());
    let ours: Vec<&str> = c
        .listing
        .iter()
        .filter(|l| l.kind != LineKind::Data)
        .map(|l| l.text.as_str())
        .collect();
    let theirs = disassemble(c);
    assert_eq!(ours.len(), theirs.len(), "{theirs:#?}");
    for (o, t) in ours.iter().zip(&theirs) {
        // LLVM prints `lsls r0, r1, #0` as movs; otherwise the mnemonics agree.
        if mnemonic(o) == "lsls" && t.starts_with("movs") {
            continue;
        }
        assert_eq!(mnemonic(o), mnemonic(t), "ours `{o}`, llvm `{t}`");
    }
}

fn texts(c: &CompiledFunction) -> Vec<String> {
    c.listing.iter().map(|l| l.text.clone()).collect()
}

fn sig(params: &[Type], results: &[Type]) -> Signature {
    Signature {
        params: params.to_vec(),
        results: results.to_vec(),
    }
}

#[test]
fn a_leaf_add_is_two_instructions_without_frame() {
    let (mut fb, p) = Fb::new(1, &[Type::I32, Type::I32], &[Type::I32]);
    let s = fb.op(Block(0), Op::Binary(BinaryOp::Add), &[p[0], p[1]]);
    fb.term(Block(0), Terminator::Return { values: vec![s] });
    let m = module(sig(&[], &[]), vec![fb.f]);
    let c = compile(&m, 0, Target::CortexM4);
    assert_eq!(c.code, vec![0x40, 0x18, 0x70, 0x47]);
    assert_eq!(texts(&c), vec!["adds r0, r0, r1", "bx lr"]);
    assert_eq!(c.listing[0].wasm_offset, Some(0x100));
    assert_eq!(c.listing[1].wasm_offset, Some(0));
    assert!(c.relocs.is_empty());
    assert_eq!(c.stats.frame_size, 0);
}

#[test]
fn a_branch_on_a_value_just_computed_uses_its_flags() {
    // A count-down loop: `subs` sets Z, and the backward `bne` (cbnz only branches forward)
    // needs no `cmp #0`; so does a wide `and` switched to `ands.w`.
    let wat = r#"(module (func (param i32 i32) (result i32) (local i32)
      (loop $l
        (local.set 2 (i32.add (local.get 2) (local.get 1)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br_if $l (local.get 0)))
      (loop $m
        (local.set 2 (i32.add (local.get 2) (i32.const 3)))
        (br_if $m (i32.and (local.get 2) (i32.const 0x3f00))))
      (local.get 2)))"#;
    let m = crate::legalized_module(wat.as_bytes(), &Options::new(Target::CortexM4)).unwrap();
    let listing = texts(&compile(&m, 0, Target::CortexM4));
    assert!(!listing.iter().any(|t| t.starts_with("cmp")), "{listing:?}");
    assert!(
        listing.iter().any(|t| t.starts_with("ands.w")),
        "{listing:?}"
    );
    assert_eq!(
        listing.iter().filter(|t| t.starts_with("bne")).count(),
        2,
        "{listing:?}"
    );
}

#[test]
fn clamps_to_saturating_ranges_are_one_ssat_or_usat() {
    // fixtures/saturate.wat runs these against wasmtime; here, what each selects to.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/saturate.wat");
    let wat = std::fs::read(path).expect("fixture");
    let m = crate::legalized_module(&wat, &Options::new(Target::CortexM3)).unwrap();
    let expected = [
        ("sat16", Some("ssat r0, #16, r0")),
        ("sat_u8", Some("usat r0, #8, r0")),
        ("sat_s8", Some("ssat r0, #8, r0")),
        ("sat_s1", Some("ssat r0, #1, r0")),
        ("sat_u31", Some("usat r0, #31, r0")),
        ("sat_s32", Some("ssat r0, #32, r0")),
        ("clamp_100", None),
        ("clamp_unsigned", None),
        ("two_upper", None),
        ("inner_read", None),
    ];
    for (name, sat) in expected {
        let body = m.bodies.iter().position(|b| b.name == name).expect(name);
        let listing = texts(&compile(&m, body, Target::CortexM3));
        let saturates: Vec<&String> = listing
            .iter()
            .filter(|t| t.starts_with("ssat") || t.starts_with("usat"))
            .collect();
        match sat {
            Some(text) => {
                assert_eq!(saturates, [text], "{name}: {listing:?}");
                assert!(
                    !listing.iter().any(|t| t.starts_with("it")),
                    "{name}: {listing:?}"
                );
            }
            None => assert!(saturates.is_empty(), "{name}: {listing:?}"),
        }
    }
}

#[test]
fn rotates_and_inversions_fold_into_their_consumer() {
    // fixtures/rotate_not.wat runs these against wasmtime; here, how many standalone rotates,
    // inversions, rotated operands, bics and orns each selects to.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rotate_not.wat");
    let wat = std::fs::read(path).expect("fixture");
    let m = crate::legalized_module(&wat, &Options::new(Target::CortexM4)).unwrap();
    // (function, standalone ror/mvn/eor #-1, operands `, ror #k`, bic, orn)
    let expected = [
        ("sha1_round", 0, 2, 1, 0),
        ("rot_ops", 0, 4, 0, 0),
        ("rot_sub", 1, 0, 0, 0),
        ("orn_bic", 0, 0, 1, 1),
        ("nots", 1, 0, 1, 0),
        ("not_const", 0, 0, 1, 0),
    ];
    for (name, alone, rotated, bic, orn) in expected {
        let body = m.bodies.iter().position(|b| b.name == name).expect(name);
        let listing = texts(&compile(&m, body, Target::CortexM4));
        let count = |p: &dyn Fn(&String) -> bool| listing.iter().filter(|t| p(t)).count();
        let standalone =
            count(&|t| t.starts_with("ror") || t.starts_with("mvn") || t.contains("#4294967295"));
        assert_eq!(standalone, alone, "{name}: {listing:?}");
        assert_eq!(
            count(&|t| t.contains(", ror #")),
            rotated,
            "{name}: {listing:?}"
        );
        assert_eq!(count(&|t| t.starts_with("bic")), bic, "{name}: {listing:?}");
        assert_eq!(count(&|t| t.starts_with("orn")), orn, "{name}: {listing:?}");
    }
}

#[test]
fn a_shift_by_a_constant_folds_into_its_single_consumer() {
    // a + (b << 2), a ^ (b >>u 8), a - (b >>s 3): one instruction each.
    for (shift, amount, op, text) in [
        (BinaryOp::Shl, 2, BinaryOp::Add, "add.w r0, r0, r1, lsl #2"),
        (BinaryOp::ShrU, 8, BinaryOp::Xor, "eor.w r0, r0, r1, lsr #8"),
        (BinaryOp::ShrS, 3, BinaryOp::Sub, "sub.w r0, r0, r1, asr #3"),
        (BinaryOp::Shl, 33, BinaryOp::Or, "orr.w r0, r0, r1, lsl #1"),
    ] {
        let (mut fb, p) = Fb::new(1, &[Type::I32, Type::I32], &[Type::I32]);
        let k = fb.op(Block(0), Op::Const(amount), &[]);
        let sh = fb.op(Block(0), Op::Binary(shift), &[p[1], k]);
        let r = fb.op(Block(0), Op::Binary(op), &[p[0], sh]);
        fb.term(Block(0), Terminator::Return { values: vec![r] });
        let m = module(sig(&[], &[]), vec![fb.f]);
        let c = compile(&m, 0, Target::CortexM4);
        assert_eq!(texts(&c), vec![text, "bx lr"]);
    }
    // A shift with a second use stays: the consumer cannot take it over.
    let (mut fb, p) = Fb::new(1, &[Type::I32, Type::I32], &[Type::I32]);
    let k = fb.op(Block(0), Op::Const(2), &[]);
    let sh = fb.op(Block(0), Op::Binary(BinaryOp::Shl), &[p[1], k]);
    let sum = fb.op(Block(0), Op::Binary(BinaryOp::Add), &[p[0], sh]);
    let r = fb.op(Block(0), Op::Binary(BinaryOp::Mul), &[sum, sh]);
    fb.term(Block(0), Terminator::Return { values: vec![r] });
    let m = module(sig(&[], &[]), vec![fb.f]);
    let listing = texts(&compile(&m, 0, Target::CortexM4));
    assert!(listing.iter().any(|t| t.starts_with("lsls")), "{listing:?}");
    assert!(
        !listing.iter().any(|t| t.contains(", lsl #")),
        "{listing:?}"
    );
}

#[test]
fn constants_become_immediates_and_compares_fuse_into_branches() {
    // if (a < 1000) return a + 4095 else return a ^ 0xff00
    let (mut fb, p) = Fb::new(1, &[Type::I32], &[Type::I32]);
    let (then_b, _) = fb.block(0);
    let (else_b, _) = fb.block(0);
    let k1000 = fb.konst(Block(0), 1000);
    let c = fb.op(Block(0), Op::Compare(Cond::LtS), &[p[0], k1000]);
    fb.term(
        Block(0),
        Terminator::Branch {
            cond: c,
            then_block: then_b,
            else_block: else_b,
        },
    );
    let k = fb.konst(then_b, 4095);
    let s = fb.op(then_b, Op::Binary(BinaryOp::Add), &[k, p[0]]);
    fb.term(then_b, Terminator::Return { values: vec![s] });
    let k = fb.konst(else_b, 0xff00);
    let x = fb.op(else_b, Op::Binary(BinaryOp::Xor), &[p[0], k]);
    fb.term(else_b, Terminator::Return { values: vec![x] });
    let m = module(sig(&[], &[]), vec![fb.f]);
    let c = compile(&m, 0, Target::CortexM3);
    check_clean(&c);
    let t = texts(&c);
    // (The allocator may add spills and reloads; the operations themselves are fixed.)
    let cmp = t
        .iter()
        .position(|l| l == "cmp.w r0, #1000")
        .expect("compare with immediate");
    assert!(
        t[cmp + 1].starts_with("blt ") || t[cmp + 1].starts_with("bge "),
        "{t:#?}"
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("addw") && l.ends_with("#4095")),
        "{t:#?}"
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("eor.w") && l.ends_with("#65280")),
        "{t:#?}"
    );
    // No constant was materialized in a register.
    assert!(
        !t.iter()
            .any(|l| l.starts_with("mov") && !l.contains("__synth") && l != "movs r0, #5"),
        "{t:#?}"
    );
}

/// A function using every post-legalize operation, compiled for each ARM target.
fn kitchen_sink() -> Module {
    use BinaryOp::*;
    let (mut fb, p) = Fb::new(
        1,
        &[Type::I32, Type::I64, Type::I32, Type::I32],
        &[Type::I32],
    );
    let b0 = Block(0);
    let (a, lo, hi, c, d) = (p[0], p[1], p[2], p[3], p[4]);
    let mut acc = a;
    for op in [
        Add, Sub, Mul, DivS, DivU, RemS, RemU, And, Or, Xor, Shl, ShrS, ShrU, Rotl, Rotr,
    ] {
        acc = fb.op(b0, Op::Binary(op), &[acc, c]);
        let k = fb.konst(b0, 13);
        acc = fb.op(b0, Op::Binary(op), &[acc, k]);
    }
    for big in [0x1234_5678i64, -5, 0xff00_0000, 0x10001] {
        let k = fb.konst(b0, big);
        acc = fb.op(b0, Op::Binary(Add), &[acc, k]);
        acc = fb.op(b0, Op::Binary(And), &[acc, k]);
        acc = fb.op(b0, Op::Binary(Or), &[acc, k]);
    }
    for u in [
        UnaryOp::Clz,
        UnaryOp::Ctz,
        UnaryOp::Eqz,
        UnaryOp::Extend8S,
        UnaryOp::Extend16S,
    ] {
        acc = fb.op(b0, Op::Unary(u), &[acc]);
    }
    for cond in [Cond::Eq, Cond::LtU, Cond::GeS, Cond::GtU] {
        let cmp = fb.op(b0, Op::Compare(cond), &[acc, d]);
        acc = fb.op(b0, Op::Binary(Add), &[acc, cmp]);
        let cmp2 = fb.op(b0, Op::Compare(cond), &[acc, d]);
        acc = fb.op(b0, Op::Select, &[cmp2, acc, d]);
    }
    let sel = fb.op(b0, Op::Select, &[c, acc, d]);
    let z = fb.op(b0, Op::Unary(UnaryOp::Eqz), &[sel]);
    fb.ops(b0, Op::TrapIf(TrapCode::IntegerDivideByZero), &[z], 0);
    // Memory: bounds check, loads and stores of every width.
    let base = fb.op(
        b0,
        Op::SymbolAddr {
            symbol: Symbol::Memory,
            offset: 0,
        },
        &[],
    );
    let bytes = fb.op(
        b0,
        Op::LoadSymbol {
            symbol: Symbol::MemoryBytes,
            offset: 0,
        },
        &[],
    );
    for end in [4u64, 0x1001, 0x1_0000_0000] {
        fb.ops(b0, Op::BoundsCheck { end }, &[sel, bytes], 0);
    }
    for (width, signed, offset) in [
        (1, true, 0),
        (1, false, 3),
        (2, true, 6),
        (2, false, 5000),
        (4, false, 8),
    ] {
        let m = MemArg {
            width,
            signed,
            offset,
        };
        let v = fb.op(b0, Op::Load(m), &[base, sel]);
        acc = fb.op(b0, Op::Binary(Add), &[acc, v]);
        fb.ops(b0, Op::Store(m), &[base, sel, acc], 0);
    }
    let k = fb.konst(b0, 40);
    let m4 = MemArg {
        width: 4,
        signed: false,
        offset: 4,
    };
    let v = fb.op(b0, Op::Load(m4), &[base, k]);
    fb.ops(b0, Op::Store(m4), &[base, k, v], 0);
    let g = fb.op(
        b0,
        Op::LoadSymbol {
            symbol: Symbol::Global(0),
            offset: 4,
        },
        &[],
    );
    fb.ops(
        b0,
        Op::StoreSymbol {
            symbol: Symbol::Global(0),
            offset: 0,
        },
        &[g],
        0,
    );
    // 64-bit pieces.
    let s = fb.ops(b0, Op::AddPair, &[lo, hi, acc, g], 2);
    let s = fb.ops(b0, Op::SubPair, &[s[0], s[1], lo, hi], 2);
    let w = fb.ops(b0, Op::MulWideU, &[s[0], s[1]], 2);
    let mut pair = w;
    for op in [Shl, ShrS, ShrU] {
        pair = fb.ops(b0, Op::ShiftPair(op), &[pair[0], pair[1], acc], 2);
    }
    for count in [0i64, 5, 32, 40, 63] {
        for op in [Shl, ShrS, ShrU] {
            let k = fb.konst(b0, count);
            pair = fb.ops(b0, Op::ShiftPair(op), &[pair[0], pair[1], k], 2);
        }
    }
    let mix = fb.op(b0, Op::Binary(Xor), &[pair[0], pair[1]]);
    // Call the import (i32, i64, i32, i32, i32) -> (i32, i64): stack args and a result area.
    let r = fb.ops(b0, Op::Call(0), &[mix, lo, hi, a, c, d], 3);
    let t = fb.op(b0, Op::Binary(Add), &[r[0], r[2]]);
    // Switch over 5 targets, a loop, a trap.
    let (loop_b, lp) = fb.block(1);
    let (exit_b, _) = fb.block(0);
    let (trap_b, _) = fb.block(0);
    let cases: Vec<Block> = (0..5).map(|_| fb.block(0).0).collect();
    fb.term(
        b0,
        Terminator::Switch {
            index: t,
            targets: cases.clone(),
            default: trap_b,
        },
    );
    for (i, cb) in cases.iter().enumerate() {
        let k = fb.konst(*cb, i as i64 * 7);
        fb.term(
            *cb,
            Terminator::Jump {
                target: loop_b,
                args: vec![k],
            },
        );
    }
    let one = fb.konst(loop_b, 1);
    let next = fb.op(loop_b, Op::Binary(Sub), &[lp[0], one]);
    let mut f = fb.f;
    // Loop back edges need block arguments: route through a jump block.
    let back = Block(f.blocks.len() as u32);
    f.blocks.push(BlockData {
        params: vec![],
        insts: vec![],
        term: Terminator::Jump {
            target: loop_b,
            args: vec![next],
        },
        term_offset: 0,
    });
    f.block_mut(loop_b).term = Terminator::Branch {
        cond: next,
        then_block: back,
        else_block: exit_b,
    };
    f.block_mut(exit_b).term = Terminator::Return { values: vec![next] };
    f.block_mut(trap_b).term = Terminator::Trap {
        code: TrapCode::Unreachable,
    };
    module(
        sig(
            &[Type::I32, Type::I64, Type::I32, Type::I32, Type::I32],
            &[Type::I32, Type::I64],
        ),
        vec![f],
    )
}

#[test]
fn every_operation_compiles_to_clean_code_on_every_arm_target() {
    let m = kitchen_sink();
    for target in [
        Target::CortexM3,
        Target::CortexM4,
        Target::CortexM4F,
        Target::CortexM7,
        Target::CortexM7DP,
    ] {
        let c = compile(&m, 0, target);
        check_clean(&c);
        let t = texts(&c).join("\n");
        for needle in [
            "sdiv",
            "udiv",
            "mls",
            "umull",
            "rbit",
            "clz",
            "sxtb",
            "sxth",
            "tbb",
            "adc",
            "sbc",
            "bl synth_trap",
            "bl env_ext",
            "udf #0",
            "__synth_stack_limit",
            "pop",
        ] {
            assert!(t.contains(needle), "{target:?}: no `{needle}` in\n{t}");
        }
        // Stack arguments of the call and the result area pointer.
        assert!(t.contains("[sp, #0]") || t.contains("[sp]"), "{t}");
        // Traps: one stub per code used.
        let stubs = c
            .listing
            .iter()
            .filter(|l| l.text == "bl synth_trap")
            .count();
        assert_eq!(stubs, 4, "{t}");
        let call_relocs: Vec<_> = c
            .relocs
            .iter()
            .filter(|r| r.r_type == emit::R_ARM_THM_CALL)
            .collect();
        assert_eq!(call_relocs.len(), 5);
        assert!(c.relocs.iter().any(|r| r.symbol == Symbol::Function(0)));
        assert!(c.relocs.iter().any(|r| r.symbol == Symbol::StackLimit));
        assert!(c.stats.frame_size > 0);
        // Deterministic.
        assert_eq!(compile(&m, 0, target), c);
    }
}

#[test]
fn no_stack_check_without_the_option() {
    let m = kitchen_sink();
    let mut options = Options::new(Target::CortexM4);
    options.stack_check = false;
    let c = compile_function(&m, 0, &options).unwrap();
    assert!(!c.relocs.iter().any(|r| r.symbol == Symbol::StackLimit));
    check_clean(&c);
}

#[test]
fn several_results_are_stored_through_the_hidden_pointer() {
    let (mut fb, p) = Fb::new(1, &[Type::I32], &[Type::I32, Type::I64]);
    let k = fb.konst(Block(0), 7);
    fb.term(
        Block(0),
        Terminator::Return {
            values: vec![p[0], k, p[0]],
        },
    );
    let m = module(sig(&[], &[]), vec![fb.f]);
    let c = compile(&m, 0, Target::CortexM4);
    check_clean(&c);
    let t = texts(&c).join("\n");
    // The pointer arrives in r0 and the i32 argument in r1.
    assert!(t.contains("str r1, [r0, #0]"), "{t}");
    assert!(t.contains(", [r0, #8]"), "{t}");
    assert!(t.contains("str r1, [r0, #12]"), "{t}");
}

fn meta() -> Meta {
    Meta {
        wasm: None,
        kind: LineKind::Code,
        step: None,
    }
}

fn filler(n: usize) -> Vec<Item> {
    (0..n)
        .map(|_| Item::Inst {
            asm: Asm::MovsImm {
                rd: PReg(0),
                imm: 1,
            },
            meta: meta(),
            reloc: None,
        })
        .collect()
}

fn branch(kind: BranchKind, target: usize) -> Item {
    Item::Branch {
        kind,
        target,
        state: 0,
        meta: meta(),
    }
}

/// Follow the decoded branch instructions starting at `at` to where they finally jump.
fn follow(code: &[u8], at: usize) -> i64 {
    let end = (at + 8).min(code.len());
    let hex: String = code[at..end].iter().map(|b| format!("{b:#04x} ")).collect();
    let mut child = Command::new("llvm-mc")
        .args([
            "--disassemble",
            "-triple=thumbv7em-none-eabi",
            "-mcpu=cortex-m4",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("llvm-mc (LLVM 14) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(hex.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut pc = at as i64;
    for l in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('.'))
    {
        let wide = l.contains(".w");
        if let (true, Some(imm)) = (
            l.starts_with('b') || l.starts_with("cb"),
            l.split('#').nth(1),
        ) {
            let dest = pc + 4 + imm.trim().parse::<i64>().unwrap();
            // An inverted short branch that only skips the following b.w is not the jump.
            if !(l.starts_with("b") && !wide && dest == pc + 6 && l.len() > 2) {
                return dest;
            }
        }
        pc += if wide { 4 } else { 2 };
    }
    panic!("no branch decoded at {at}: {text}");
}

#[test]
fn branches_grow_until_their_targets_are_in_range() {
    // label 0 at the start; a cbz over 200 bytes to label 1; a conditional branch over 600
    // bytes to label 2; one over 1.2 MB to label 3; an unconditional one back over 3 KB.
    let zero = BranchKind::Zero {
        nonzero: false,
        rn: PReg(1),
    };
    let mut items = vec![Item::Label(0), branch(zero, 1)];
    items.extend(filler(100));
    items.push(Item::Label(1));
    items.push(branch(BranchKind::Cond(Cc::Ne), 2));
    items.extend(filler(300));
    items.push(Item::Label(2));
    items.push(branch(BranchKind::Cond(Cc::Eq), 3));
    items.extend(filler(600_000));
    items.push(Item::Label(3));
    items.extend(filler(1500));
    items.push(branch(BranchKind::Always, 0));
    // A short one stays short.
    items.push(branch(BranchKind::Always, 4));
    items.push(Item::Label(4));
    relax(&mut items, 5).unwrap();
    let states: Vec<u8> = items
        .iter()
        .filter_map(|i| match i {
            Item::Branch { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(states, vec![1, 1, 2, 1, 0]);
    let out = finish(&items, 5, &BTreeMap::new()).unwrap();
    let labels: Vec<u32> = [0usize, 1, 2, 3]
        .iter()
        .map(|l| {
            let pos = items
                .iter()
                .position(|i| matches!(i, Item::Label(x) if x == l))
                .unwrap();
            let next = &out.listing[items[..pos]
                .iter()
                .map(|i| match i {
                    Item::Label(_) => 0,
                    Item::Branch {
                        kind: BranchKind::Zero { .. },
                        state,
                        ..
                    } => 1 + (*state > 0) as usize + (*state > 2) as usize,
                    Item::Branch {
                        state,
                        kind: BranchKind::Cond(_),
                        ..
                    } => 1 + (*state > 1) as usize,
                    _ => 1,
                })
                .sum::<usize>()];
            next.offset
        })
        .collect();
    let branch_lines: Vec<u32> = out
        .listing
        .iter()
        .filter(|l| l.text.starts_with("cmp") || (l.text.starts_with('b') && !l.text.contains('#')))
        .map(|l| l.offset)
        .collect();
    // cmp of the grown cbz, then the three other far branches.
    let starts = [
        branch_lines[0],
        branch_lines[2],
        branch_lines[3] - 2,
        branch_lines[4],
    ];
    for (i, at) in starts.iter().enumerate() {
        let want = labels[[1, 2, 3, 0][i]] as i64;
        assert_eq!(
            follow(&out.code, *at as usize + if i == 0 { 2 } else { 0 }),
            want,
            "branch {i}"
        );
    }
}

#[test]
fn jump_tables_widen_and_use_trampolines_for_backward_targets() {
    let table = |gap: usize| {
        let mut items = vec![Item::Label(0)];
        items.extend(filler(4));
        items.push(Item::Table {
            rm: PReg(2),
            targets: vec![0, 1, 2],
            half: false,
            trampoline: vec![false; 3],
            meta: meta(),
        });
        items.push(Item::Label(1));
        items.extend(filler(gap));
        items.push(Item::Label(2));
        items.extend(filler(1));
        relax(&mut items, 3).unwrap();
        let out = finish(&items, 3, &BTreeMap::new()).unwrap();
        (items, out)
    };
    let (items, out) = table(300);
    let Item::Table {
        half, trampoline, ..
    } = &items[5]
    else {
        panic!()
    };
    assert!(*half);
    assert_eq!(trampoline, &vec![true, false, false]);
    // tbh at 8, table at 12 (3 halfwords), the trampoline b.w at 18, label 1 at 22.
    assert_eq!(out.listing[4].text, "tbh [pc, r2, lsl #1]");
    let entry = |k: usize| u16::from_le_bytes([out.code[12 + 2 * k], out.code[13 + 2 * k]]) as i64;
    assert_eq!(12 + 2 * entry(0), 18);
    assert_eq!(follow(&out.code, 18), 0);
    assert_eq!(12 + 2 * entry(1), 22);
    assert_eq!(12 + 2 * entry(2), 22 + 600);
    let data: Vec<_> = out
        .listing
        .iter()
        .filter(|l| l.kind == LineKind::Data)
        .collect();
    assert_eq!(data.len(), 3);

    let (items, out) = table(10);
    let Item::Table { half, .. } = &items[5] else {
        panic!()
    };
    assert!(!*half);
    assert_eq!(out.listing[4].text, "tbb [pc, r2]");
    // 3 byte entries + 1 padding byte, then the trampoline.
    assert_eq!(out.code[12 + 1] as i64 * 2 + 12, 20);
}

#[test]
fn calls_with_kilobytes_of_stack_arguments_store_them_beyond_imm12() {
    let (mut fb, p) = Fb::new(1, &[Type::I32; 6], &[Type::I32]);
    fb.term(Block(0), Terminator::Return { values: vec![p[5]] });
    let mut m = module(sig(&[Type::I64; 250], &[]), vec![fb.f]);
    // 600 i64 arguments: 4.8 KiB of outgoing arguments, the last ones beyond imm12 offsets.
    m.functions[0].sig = sig(&[Type::I64; 600], &[]);
    let args: Vec<Value> = vec![Value(0); 1200];
    m.bodies[0].blocks[0].insts.push(crate::ir::Inst {
        op: Op::Call(0),
        args,
        results: vec![],
        offset: 9,
    });
    let c = compile(&m, 0, Target::CortexM4);
    assert!(c.stats.frame_size >= 4784, "{:?}", c.stats);
    assert!(
        texts(&c)
            .iter()
            .any(|l| l.starts_with("str.w r0, [sp, r12]"))
    );
    check_clean(&c);
}

#[test]
fn attributes_read_back_like_clangs() {
    use object::write::{Object, StandardSection};
    let expect: [(Target, &[&str]); 3] = [
        (
            Target::CortexM3,
            &["CPU_name", "cortex-m3", "ARM v7", "Thumb-2"],
        ),
        (
            Target::CortexM4F,
            &["cortex-m4", "ARM v7E-M", "VFPv4-D16", "AAPCS VFP"],
        ),
        (
            Target::CortexM7DP,
            &["cortex-m7", "ARMv8-a FP-D16", "AAPCS VFP"],
        ),
    ];
    for (target, needles) in expect {
        let info = elf_info(target);
        let mut obj = Object::new(
            object::BinaryFormat::Elf,
            object::Architecture::Arm,
            object::Endianness::Little,
        );
        obj.flags = object::FileFlags::Elf {
            os_abi: object::elf::ELFOSABI_NONE,
            abi_version: 0,
            e_flags: object::elf::FileFlags(info.flags),
        };
        let text = obj.section_id(StandardSection::Text);
        obj.append_section_data(text, &[0x70, 0x47], 2);
        let s = obj.add_section(
            vec![],
            info.attributes.0.as_bytes().to_vec(),
            object::SectionKind::Other,
        );
        let section = obj.section_mut(s);
        section.set_data(info.attributes.2.clone(), 1);
        section.flags = object::SectionFlags::Elf {
            sh_type: object::elf::SectionType(info.attributes.1),
            sh_flags: object::elf::SectionFlags(0),
        };
        let path = std::env::temp_dir().join(format!(
            "synth-arm-attrs-{}-{target:?}.o",
            std::process::id()
        ));
        std::fs::write(&path, obj.write().unwrap()).unwrap();
        let out = Command::new("llvm-readelf")
            .arg("-A")
            .arg(&path)
            .output()
            .expect("llvm-readelf (LLVM 14) must be installed");
        let _ = std::fs::remove_file(&path);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for n in needles {
            assert!(text.contains(n), "{target:?}: no {n} in\n{text}");
        }
        assert!(text.contains("Description: Microcontroller"));
        let hard = matches!(target, Target::CortexM4F | Target::CortexM7DP);
        assert_eq!(text.contains("ABI_VFP_args"), hard);
        assert_eq!(info.flags, 0x0500_0000 | if hard { 0x400 } else { 0x200 });
        assert_eq!(info.machine, 40);
    }
}

#[test]
fn switch_with_two_targets_is_a_compare_chain() {
    let (mut fb, p) = Fb::new(1, &[Type::I32], &[Type::I32]);
    let blocks: Vec<Block> = (0..3).map(|_| fb.block(0).0).collect();
    fb.term(
        Block(0),
        Terminator::Switch {
            index: p[0],
            targets: vec![blocks[0], blocks[1]],
            default: blocks[2],
        },
    );
    for (i, b) in blocks.iter().enumerate() {
        let k = fb.konst(*b, i as i64 + 10);
        fb.term(*b, Terminator::Return { values: vec![k] });
    }
    let m = module(sig(&[], &[]), vec![fb.f]);
    let c = compile(&m, 0, Target::CortexM4);
    check_clean(&c);
    let t = texts(&c);
    let cmp0 = t
        .iter()
        .position(|l| l == "cmp r0, #0")
        .expect("compare chain");
    assert!(t[cmp0 + 1].starts_with("beq .Lb"), "{t:#?}");
    assert_eq!(t[cmp0 + 2], "cmp r0, #1");
    assert!(t[cmp0 + 3].starts_with("beq .Lb"), "{t:#?}");
    assert!(!t.iter().any(|l| l.starts_with("tb")));
}

#[test]
fn unsupported_shapes_are_errors() {
    let (mut fb, p) = Fb::new(1, &[Type::I32], &[Type::I32]);
    let v = fb.op(Block(0), Op::Unary(UnaryOp::Popcnt), &[p[0]]);
    fb.term(Block(0), Terminator::Return { values: vec![v] });
    let m = module(sig(&[], &[]), vec![fb.f]);
    let e = compile_function(&m, 0, &Options::new(Target::CortexM4)).unwrap_err();
    assert_eq!(e.kind, crate::error::ErrorKind::Internal);
    assert_eq!(e.offset, Some(0x100));
    assert!(compile_function(&m, 5, &Options::new(Target::CortexM4)).is_err());
}

use crate::regalloc::PReg;
use std::collections::BTreeMap;

#[test]
fn functions_larger_than_the_short_branch_ranges_relax_and_allocate_cleanly() {
    // loop(i): body of 700 ALU ops (> 2 KiB), then branch back while i != 0; a 4-way switch
    // whose cases are big too, so tbb entries exceed a byte.
    let (mut fb, p) = Fb::new(1, &[Type::I32, Type::I32], &[Type::I32]);
    let (head, hp) = fb.block(1);
    let (exit, _) = fb.block(0);
    let (back, _) = fb.block(0);
    fb.term(
        Block(0),
        Terminator::Jump {
            target: head,
            args: vec![p[0]],
        },
    );
    let mut acc = hp[0];
    for i in 0..700i64 {
        let k = fb.konst(head, 0x1234_5678 ^ (i << 9));
        let op = if i % 2 == 0 {
            BinaryOp::Add
        } else {
            BinaryOp::Xor
        };
        acc = fb.op(head, Op::Binary(op), &[acc, k]);
    }
    let one = fb.konst(head, 1);
    let next = fb.op(head, Op::Binary(BinaryOp::Sub), &[hp[0], one]);
    let done = fb.op(head, Op::Unary(UnaryOp::Eqz), &[next]);
    fb.term(
        head,
        Terminator::Branch {
            cond: done,
            then_block: exit,
            else_block: back,
        },
    );
    fb.term(
        back,
        Terminator::Jump {
            target: head,
            args: vec![next],
        },
    );
    let cases: Vec<Block> = (0..4).map(|_| fb.block(0).0).collect();
    let (join, jp) = fb.block(1);
    let default = join_default(&mut fb, join, acc);
    fb.term(
        exit,
        Terminator::Switch {
            index: p[1],
            targets: cases.clone(),
            default,
        },
    );
    for (n, cb) in cases.iter().enumerate() {
        let mut v = acc;
        for i in 0..60i64 {
            let k = fb.konst(*cb, 0x0f0f_0f0f + i * 1000 + n as i64);
            v = fb.op(*cb, Op::Binary(BinaryOp::Add), &[v, k]);
        }
        fb.term(
            *cb,
            Terminator::Jump {
                target: join,
                args: vec![v],
            },
        );
    }
    fb.term(
        join,
        Terminator::Return {
            values: vec![jp[0]],
        },
    );
    let m = module(sig(&[], &[]), vec![fb.f]);

    let lowered = lower::lower(&m, &m.bodies[0], regs::VfpFile::None).unwrap();
    let env = regs::reg_env(regs::VfpFile::None);
    let alloc = regalloc::allocate(&lowered.code, &env).unwrap();
    regalloc::check::verify(&lowered.code, &env, &alloc).unwrap();

    let c = compile(&m, 0, Target::CortexM7);
    assert!(c.code.len() > 4096, "{}", c.code.len());
    check_clean(&c);
    let t = texts(&c);
    assert!(
        t.iter()
            .any(|l| l.starts_with("b.w ") || l.starts_with("beq.w ") || l.starts_with("bne.w ")),
        "no wide branch"
    );
    assert!(
        t.iter().any(|l| l.starts_with("tbh ")),
        "cases beyond 510 bytes need tbh"
    );
    // Every branch's encoded destination is the start of a listing line.
    let starts: std::collections::BTreeSet<u32> = c.listing.iter().map(|l| l.offset).collect();
    for l in &c.listing {
        if l.kind == LineKind::Data
            || !l.text.starts_with('b')
            || l.text.starts_with("bl ")
            || l.text.starts_with("bx")
        {
            continue;
        }
        let dest = branch_destination(l.offset, &l.bytes);
        assert!(
            starts.contains(&dest),
            "`{}` at {} lands at {dest}",
            l.text,
            l.offset
        );
    }
}

fn join_default(fb: &mut Fb, join: Block, value: Value) -> Block {
    let (b, _) = fb.block(0);
    fb.term(
        b,
        Terminator::Jump {
            target: join,
            args: vec![value],
        },
    );
    b
}

/// Decode the destination of a b/b<cc> (16- or 32-bit) at `at`.
fn branch_destination(at: u32, bytes: &[u8]) -> u32 {
    let hw1 = u16::from_le_bytes([bytes[0], bytes[1]]) as i64;
    let offset = if bytes.len() == 2 {
        if hw1 >> 11 == 0b11100 {
            ((hw1 & 0x7ff) << 53) >> 52
        } else {
            ((hw1 & 0xff) << 56) >> 55
        }
    } else {
        let hw2 = u16::from_le_bytes([bytes[2], bytes[3]]) as i64;
        let s = (hw1 >> 10) & 1;
        let (j1, j2) = ((hw2 >> 13) & 1, (hw2 >> 11) & 1);
        if hw2 & 0x1000 != 0 {
            let (i1, i2) = (1 - (j1 ^ s), 1 - (j2 ^ s));
            let v =
                (s << 24) | (i1 << 23) | (i2 << 22) | ((hw1 & 0x3ff) << 12) | ((hw2 & 0x7ff) << 1);
            (v << 39) >> 39
        } else {
            let v =
                (s << 20) | (j2 << 19) | (j1 << 18) | ((hw1 & 0x3f) << 12) | ((hw2 & 0x7ff) << 1);
            (v << 43) >> 43
        }
    };
    (at as i64 + 4 + offset) as u32
}

#[test]
fn symbol_offsets_ride_in_the_rel_addend_when_they_fit_16_bits() {
    let (mut fb, _) = Fb::new(1, &[], &[Type::I32]);
    let b0 = Block(0);
    let near = fb.op(
        b0,
        Op::SymbolAddr {
            symbol: Symbol::DataSegment(0),
            offset: 4,
        },
        &[],
    );
    let far = fb.op(
        b0,
        Op::SymbolAddr {
            symbol: Symbol::Memory,
            offset: 0x12345,
        },
        &[],
    );
    let sum = fb.op(b0, Op::Binary(BinaryOp::Add), &[near, far]);
    fb.term(b0, Terminator::Return { values: vec![sum] });
    let m = module(sig(&[], &[]), vec![fb.f]);
    let c = compile(&m, 0, Target::CortexM4);
    check_clean(&c);
    let t = texts(&c);
    assert!(
        t.iter().any(|l| l.ends_with(":lower16:__synth_data_0+4")),
        "{t:#?}"
    );
    assert!(
        t.iter().any(|l| l.ends_with(":upper16:__synth_data_0+4")),
        "{t:#?}"
    );
    // movw/movt both carry imm16 = 4 (what llvm-mc writes for REL `sym+4`).
    let line = c
        .listing
        .iter()
        .find(|l| l.text.contains("lower16:__synth_data_0"))
        .unwrap();
    assert_eq!(&line.bytes[..], &[0x40, 0xf2, 0x04, 0x00][..]);
    // 0x12345 does not fit: the symbol is loaded bare and the offset added.
    assert!(
        t.iter().any(|l| l.ends_with(":lower16:synth_memory")),
        "{t:#?}"
    );
    let relocs: Vec<u32> = c.relocs.iter().map(|r| r.r_type).collect();
    assert_eq!(relocs, vec![47, 48, 47, 48]);
    assert!(c.relocs.iter().all(|r| r.addend == 0));
    assert_eq!(c.relocs[2].symbol, Symbol::Memory);
    assert_eq!(c.relocs[1].offset, c.relocs[0].offset + 4);
}

#[test]
fn branches_to_a_lone_jump_go_straight_to_its_target() {
    use super::layout::thread_jumps;
    let mut items = vec![
        Item::Label(0),
        branch(BranchKind::Cond(Cc::Ne), 1),
        Item::Label(1),
        Item::Label(2),
        branch(BranchKind::Always, 3),
        Item::Label(3),
        branch(BranchKind::Always, 0),
        Item::Label(4),
        branch(BranchKind::Always, 4),
    ];
    items.splice(7..7, filler(2));
    thread_jumps(&mut items, 5);
    let targets: Vec<usize> = items
        .iter()
        .filter_map(|i| match i {
            Item::Branch { target, .. } => Some(*target),
            _ => None,
        })
        .collect();
    // 1 -> 3 -> 0 (label 3 is a lone jump to 0 as well); the self-loop stays.
    assert_eq!(targets, vec![0, 0, 0, 4]);
    // Labels 1-3 are no longer branched to, but the conditional branch falls through into
    // label 1's jump, so only label 3's jump (after an unconditional one) is dead.
    let mut items = super::layout::drop_dead_jumps(items);
    let jumps = items
        .iter()
        .filter(|i| matches!(i, Item::Branch { .. }))
        .count();
    assert_eq!(jumps, 3);
    relax(&mut items, 5).unwrap();
    assert!(finish(&items, 5, &BTreeMap::new()).is_ok());
}

/// FPU targets declare the VFP calling convention (Tag_ABI_VFP_args, EF_ARM_ABI_FLOAT_HARD);
/// the others the base one.
#[test]
fn fpu_targets_declare_the_vfp_convention() {
    let tag28 = |info: &crate::isa::ElfInfo| {
        // Tag_ABI_VFP_args (28) = 1 appears as the byte pair [28, 1] in the attribute list.
        info.attributes.2.windows(2).any(|w| w == [28, 1])
    };
    for target in [Target::CortexM4F, Target::CortexM7DP] {
        assert!(tag28(&elf_info(target)));
        assert_eq!(elf_info(target).flags & 0x600, 0x400);
    }
    for target in [Target::CortexM3, Target::CortexM4, Target::CortexM7] {
        assert!(!tag28(&elf_info(target)));
        assert_eq!(elf_info(target).flags & 0x600, 0x200);
    }
}

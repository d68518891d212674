//! Legalize tests: each builds frontend-form IR by hand, legalizes it, and runs both forms in
//! the reference interpreter over edge values; the results (and traps) must agree.

mod bulk;
mod fixtures;
mod memory;
mod ops;
mod path_ranges;
mod ranges;
mod versioning;

use crate::ir::interp::{Interp, InterpError};
use crate::ir::{
    Block, BlockData, Function, FunctionDecl, FunctionKind, Global, Import, Inst, Memory, Module,
    Op, Signature, Terminator, TrapCode, Type, Value,
};
use crate::isa::Caps;
use crate::options::Options;

pub const NO_CAPS: Caps = Caps {
    has_clz: false,
    has_ctz: false,
    has_popcnt: false,
    has_rotate: false,
    hard_f32: false,
    hard_f64: false,
    hard_rounding: false,
    soft_float: crate::isa::arm::libcalls::soft_float,
    float_helpers_take_hard_f32: false,
    unaligned_words: false,
    indexed_access: false,
    branch_compares: false,
    allocatable_core: 12,
    callee_saved_core: 8,
    unroll_insts: 0,
};
pub const ALL_CAPS: Caps = Caps {
    has_clz: true,
    has_ctz: true,
    has_popcnt: true,
    has_rotate: true,
    hard_f32: false,
    hard_f64: false,
    hard_rounding: false,
    soft_float: crate::isa::arm::libcalls::soft_float,
    float_helpers_take_hard_f32: false,
    unaligned_words: false,
    indexed_access: true,
    branch_compares: true,
    allocatable_core: 12,
    callee_saved_core: 8,
    unroll_insts: 0,
};

/// 64-bit edge values: zero, ones, word boundaries, sign boundaries, shift counts.
pub const EDGES64: [u64; 20] = [
    0,
    1,
    u64::MAX,
    i64::MIN as u64,
    i64::MAX as u64,
    0xFFFF_FFFF,
    1 << 32,
    0x7FFF_FFFF,
    0x8000_0000,
    0x1_0000_0001,
    0x8000_0000_0000_0001,
    0x1234_5678_9ABC_DEF0,
    0xFFFF_FFFF_0000_0000,
    31,
    32,
    33,
    63,
    64,
    65,
    0xFFFF_FFFF_FFFF_FFC1, // -63
];

pub const EDGES32: [u64; 14] = [
    0,
    1,
    0xFFFF_FFFF,
    0x8000_0000,
    0x7FFF_FFFF,
    0x8000_0001,
    0xF0,
    0x0001_0000,
    0x1234_5678,
    16,
    31,
    32,
    33,
    0xFFFF_FFE1,
];

/// Builds one frontend-form function.
pub struct FuncBuilder {
    pub func: Function,
    pub current: Block,
    offset: u32,
}

impl FuncBuilder {
    pub fn new(params: &[Type], results: &[Type]) -> Self {
        let mut func = Function {
            index: 0,
            name: "test".to_string(),
            sig: Signature {
                params: params.to_vec(),
                results: results.to_vec(),
            },
            blocks: Vec::new(),
            value_types: Vec::new(),
            offset: 0,
        };
        let params = params.iter().map(|t| func.new_value(*t)).collect();
        func.blocks.push(BlockData {
            params,
            insts: Vec::new(),
            term: Terminator::Trap {
                code: TrapCode::Unreachable,
            },
            term_offset: 0,
        });
        FuncBuilder {
            func,
            current: Block(0),
            offset: 0x10,
        }
    }

    pub fn param(&self, i: usize) -> Value {
        self.func.blocks[0].params[i]
    }

    pub fn block(&mut self, params: &[Type]) -> Block {
        let params = params.iter().map(|t| self.func.new_value(*t)).collect();
        self.func.blocks.push(BlockData {
            params,
            insts: Vec::new(),
            term: Terminator::Trap {
                code: TrapCode::Unreachable,
            },
            term_offset: 0,
        });
        Block(self.func.blocks.len() as u32 - 1)
    }

    pub fn block_params(&self, b: Block) -> Vec<Value> {
        self.func.blocks[b.0 as usize].params.clone()
    }

    pub fn switch_to(&mut self, b: Block) {
        self.current = b;
    }

    pub fn ops(&mut self, op: Op, args: &[Value], results: &[Type]) -> Vec<Value> {
        let results: Vec<Value> = results.iter().map(|t| self.func.new_value(*t)).collect();
        self.offset += 1;
        let inst = Inst {
            op,
            args: args.to_vec(),
            results: results.clone(),
            offset: self.offset,
        };
        self.func.blocks[self.current.0 as usize].insts.push(inst);
        results
    }

    pub fn op(&mut self, op: Op, args: &[Value], ty: Type) -> Value {
        self.ops(op, args, &[ty])[0]
    }

    pub fn effect(&mut self, op: Op, args: &[Value]) {
        self.ops(op, args, &[]);
    }

    pub fn term(&mut self, term: Terminator) {
        self.func.blocks[self.current.0 as usize].term = term;
    }

    pub fn ret(&mut self, values: &[Value]) {
        self.term(Terminator::Return {
            values: values.to_vec(),
        });
    }
}

/// A module of defined functions (function i = body i, exported as `f<i>`) after `imports`.
pub fn module(
    imports: &[Signature],
    funcs: Vec<Function>,
    memory: Option<Memory>,
    globals: Vec<Global>,
) -> Module {
    let mut functions: Vec<FunctionDecl> = imports
        .iter()
        .enumerate()
        .map(|(i, sig)| FunctionDecl {
            sig: sig.clone(),
            kind: FunctionKind::Imported(Import {
                module: "env".to_string(),
                name: format!("imp{i}"),
            }),
            exports: Vec::new(),
            name: format!("imp{i}"),
        })
        .collect();
    let mut bodies = Vec::new();
    for (i, mut f) in funcs.into_iter().enumerate() {
        f.index = functions.len() as u32;
        f.name = format!("f{i}");
        functions.push(FunctionDecl {
            sig: f.sig.clone(),
            kind: FunctionKind::Defined(i as u32),
            exports: vec![format!("f{i}")],
            name: f.name.clone(),
        });
        bodies.push(f);
    }
    Module {
        functions,
        bodies,
        globals,
        memory,
        data: Vec::new(),
        start: None,
        tables: Default::default(),
        namespace: None,
    }
}

pub fn memory(initial_pages: u32, max_pages: u32) -> Option<Memory> {
    Some(Memory {
        initial_pages,
        max_pages,
        exports: Vec::new(),
        import: None,
    })
}

pub fn legalized(m: &Module, caps: Caps, bounds_checks: bool) -> Module {
    let mut out = m.clone();
    let options = Options {
        bounds_checks,
        ..Options::default()
    };
    if let Err(e) = crate::softfloat::run(&mut out, caps) {
        panic!("the float pass failed: {e}");
    }
    if let Err(e) = super::run(&mut out, caps, &options) {
        panic!("legalize failed: {e}");
    }
    assert_post_legalize_form(&out);
    if let Err(e) = crate::ir::verify::module(&out, true) {
        panic!("legalized IR fails verification: {e}");
    }
    out
}

/// The shape back ends rely on: only I32 values, no frontend-only operators, raw accesses.
pub fn assert_post_legalize_form(m: &Module) {
    for f in &m.bodies {
        assert!(
            f.value_types.iter().all(|t| *t == Type::I32),
            "I64 value left in {f}"
        );
        for b in &f.blocks {
            for inst in &b.insts {
                let ok = match &inst.op {
                    Op::Load(a) => inst.args.len() == 2 && a.width <= 4,
                    Op::Store(a) => inst.args.len() == 3 && a.width <= 4,
                    Op::MemorySize | Op::MemoryGrow | Op::GlobalGet(_) | Op::GlobalSet(_) => false,
                    Op::Unary(op) => !matches!(
                        op,
                        crate::ir::UnaryOp::Extend32S
                            | crate::ir::UnaryOp::Wrap
                            | crate::ir::UnaryOp::ExtendI32S
                            | crate::ir::UnaryOp::ExtendI32U
                    ),
                    _ => true,
                };
                assert!(ok, "{:?} left in {f}", inst.op);
            }
        }
    }
    let init = m
        .functions
        .iter()
        .filter(|d| d.exports.iter().any(|e| e == "synth_init"))
        .count();
    assert_eq!(init, 1, "exactly one synth_init");
}

/// Run `func` of an instantiated module on `args`.
pub fn run(m: &Module, func: u32, args: &[u64]) -> Result<Vec<u64>, InterpError> {
    let mut interp = Interp::new(m).expect("interpreter setup");
    interp.instantiate()?;
    interp.call(func, args)
}

/// Legalize with both caps extremes and bounds checks on; every argument list must give the
/// same outcome before and after.
pub fn assert_same(m: &Module, func: u32, arg_lists: &[Vec<u64>]) {
    for caps in [NO_CAPS, ALL_CAPS] {
        let after = legalized(m, caps, true);
        for args in arg_lists {
            let want = run(m, func, args);
            assert!(
                !matches!(want, Err(InterpError::Invalid(_))),
                "test IR is invalid: {want:?} for {args:x?}"
            );
            let got = run(&after, func, args);
            assert_eq!(
                got, want,
                "args {args:x?}, caps {caps:?}\n{}",
                after.bodies[0]
            );
        }
    }
}

pub fn pairs(values: &[u64]) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    for a in values {
        for b in values {
            out.push(vec![*a, *b]);
        }
    }
    out
}

pub fn singles(values: &[u64]) -> Vec<Vec<u64>> {
    values.iter().map(|v| vec![*v]).collect()
}

pub fn trap(code: TrapCode) -> Result<Vec<u64>, InterpError> {
    Err(InterpError::Trap(code))
}

pub fn import(params: &[Type], results: &[Type]) -> Signature {
    Signature {
        params: params.to_vec(),
        results: results.to_vec(),
    }
}

//! Soft float: where the target has no hardware for a float type, its values become the
//! integers of their bit patterns (f32 -> i32, f64 -> i64) and its operators become integer
//! code, calls of the toolchain's runtime library (`__aeabi_fadd`, `__addsf3`, ...) or calls of
//! synth's own helpers for what that library does not do with wasm semantics (`runtime.wat`:
//! square root, the roundings, min/max and the saturating truncations, all in integer wasm).
//!
//! Runs on the frontend's IR, before legalize (which then splits the i64s into pairs). The
//! wasm-level signatures keep their float types: the ABI still needs them.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::error::{CompileError, Result};
use crate::ir::{
    BinaryOp, CompareAnswer, Cond, Conversion, FBinaryOp, FCond, FUnaryOp, Function, FunctionDecl,
    FunctionKind, Inst, LibCall, Module, Op, SoftOp, TrapCode, Type, Value,
};
use crate::isa::Caps;
use crate::options::Options;

/// The wasm-semantics helpers, compiled by our own frontend when a module needs one.
const RUNTIME_WAT: &str = include_str!("runtime.wat");

pub fn run(module: &mut Module, caps: Caps) -> Result<()> {
    let soft = SoftTypes {
        f32: !caps.hard_f32,
        f64: !caps.hard_f64,
    };
    let uses_floats = module.bodies.iter().any(|f| {
        f.value_types.iter().any(|t| soft.is_soft(*t)) || f.blocks.iter().any(has_float_op)
    });
    if !uses_floats {
        return Ok(());
    }
    let mut bodies = std::mem::take(&mut module.bodies);
    let mut callees = Callees::new(module, caps);
    for body in &mut bodies {
        rewrite_function(body, soft, &mut callees).map_err(|e| e.in_function(body.name.clone()))?;
    }
    module.bodies = bodies;
    callees.append_runtime(module)
}

fn has_float_op(block: &crate::ir::BlockData) -> bool {
    block.insts.iter().any(|i| {
        matches!(
            i.op,
            Op::FUnary(_) | Op::FBinary(_) | Op::FCompare(_) | Op::Convert(_)
        )
    })
}

#[derive(Clone, Copy)]
struct SoftTypes {
    f32: bool,
    f64: bool,
}

impl SoftTypes {
    fn is_soft(self, ty: Type) -> bool {
        match ty {
            Type::F32 => self.f32,
            Type::F64 => self.f64,
            _ => false,
        }
    }
}

/// The helpers the rewritten code calls: runtime-library functions (added to the module's
/// function list on first use) and synth's own runtime functions (bodies appended at the end).
struct Callees {
    caps: Caps,
    /// Next free function index.
    next: u32,
    library: BTreeMap<&'static str, u32>,
    /// Runtime function by export name in `runtime.wat` -> its index in the module.
    runtime: BTreeMap<String, u32>,
    new_decls: Vec<FunctionDecl>,
}

impl Callees {
    fn new(module: &Module, caps: Caps) -> Self {
        Callees {
            caps,
            next: module.functions.len() as u32,
            library: BTreeMap::new(),
            runtime: BTreeMap::new(),
            new_decls: Vec::new(),
        }
    }

    /// Do the library helpers take and return hardware f32 values as floats?
    fn f32_in_fpu(&self) -> bool {
        self.caps.hard_f32 && self.caps.float_helpers_take_hard_f32
    }

    /// The helper for `op`: its function index, and the call (how a compare answers).
    fn library(&mut self, op: SoftOp) -> (u32, LibCall) {
        let call = (self.caps.soft_float)(op);
        if let Some(&index) = self.library.get(call.name) {
            return (index, call);
        }
        let index = self.next;
        self.next += 1;
        self.library.insert(call.name, index);
        self.new_decls.push(FunctionDecl {
            sig: library_signature(call.op, self.f32_in_fpu()),
            name: call.name.to_string(),
            kind: FunctionKind::Library(call.clone()),
            exports: Vec::new(),
        });
        (index, call)
    }

    /// Index of the runtime function exported as `name`; its body is added by `append_runtime`.
    fn runtime(&mut self, name: &str) -> u32 {
        if let Some(&index) = self.runtime.get(name) {
            return index;
        }
        let index = self.next;
        self.next += 1;
        self.runtime.insert(name.to_string(), index);
        // The declaration is completed (signature, body) by `append_runtime`.
        self.new_decls.push(FunctionDecl {
            sig: Default::default(),
            name: name.to_string(),
            kind: FunctionKind::Runtime(u32::MAX),
            exports: Vec::new(),
        });
        index
    }

    /// Add the declarations, and the bodies of the runtime functions used (and the ones those
    /// call), renumbered into the module.
    fn append_runtime(mut self, module: &mut Module) -> Result<()> {
        let first = module.functions.len() as u32;
        let mut done = 0;
        // Bodies may call further runtime functions, which extends the list as we go.
        let mut bodies: BTreeMap<u32, Function> = BTreeMap::new();
        while done < self.new_decls.len() {
            let decl_index = first + done as u32;
            done += 1;
            let decl = &self.new_decls[(decl_index - first) as usize];
            if !matches!(decl.kind, FunctionKind::Runtime(_)) {
                continue;
            }
            let name = decl.name.clone();
            let runtime = runtime_module()?;
            let Some(source_index) = runtime
                .functions
                .iter()
                .position(|f| f.exports.contains(&name))
            else {
                return Err(CompileError::internal(format!(
                    "runtime.wat has no function `{name}`"
                )));
            };
            let source = &runtime.functions[source_index];
            let FunctionKind::Defined(b) = source.kind else {
                return Err(CompileError::internal(format!(
                    "runtime function `{name}` is not defined in runtime.wat"
                )));
            };
            let mut body = runtime.bodies[b as usize].clone();
            body.index = decl_index;
            body.name = name.clone();
            for block in &mut body.blocks {
                for inst in &mut block.insts {
                    if let Op::Call(callee) = &mut inst.op {
                        let callee_name = runtime.functions[*callee as usize]
                            .exports
                            .first()
                            .cloned()
                            .unwrap_or_default();
                        *callee = self.runtime(&callee_name);
                    }
                }
            }
            let sig = body.sig.clone();
            let decl = &mut self.new_decls[(decl_index - first) as usize];
            decl.sig = sig;
            bodies.insert(decl_index, body);
        }
        for (k, mut decl) in self.new_decls.into_iter().enumerate() {
            let index = first + k as u32;
            if let Some(body) = bodies.remove(&index) {
                decl.kind = FunctionKind::Runtime(module.bodies.len() as u32);
                module.bodies.push(body);
            }
            module.functions.push(decl);
        }
        Ok(())
    }
}

/// Signature of a library helper: floats as the integers of their bits (the base calling
/// convention), except a hardware f32 when `f32_in_fpu` (an ILP32F libgcc).
fn library_signature(op: SoftOp, f32_in_fpu: bool) -> crate::ir::Signature {
    let word = |ty: Type| {
        if ty == Type::F32 && f32_in_fpu {
            Type::F32
        } else {
            ty.bits_type()
        }
    };
    let (params, results) = match op {
        SoftOp::Arith(ty, _) => (vec![word(ty); 2], vec![word(ty)]),
        SoftOp::Compare(ty, _) => (vec![word(ty); 2], vec![Type::I32]),
        SoftOp::FromInt { from, to, .. } => (vec![from], vec![word(to)]),
        SoftOp::ToInt { from, to, .. } => (vec![word(from)], vec![to]),
        SoftOp::Promote => (vec![word(Type::F32)], vec![Type::I64]),
        SoftOp::Demote => (vec![Type::I64], vec![word(Type::F32)]),
    };
    crate::ir::Signature { params, results }
}

/// runtime.wat translated once per process (it is constant).
fn runtime_module() -> Result<&'static Module> {
    static RUNTIME: OnceLock<Result<Module>> = OnceLock::new();
    let module = RUNTIME.get_or_init(|| {
        let wasm = crate::frontend::decode(RUNTIME_WAT.as_bytes())?;
        let mut module = crate::frontend::translate(&wasm, &Options::default())?;
        // Internal helpers are found by a name no export has (`#` and their wasm name).
        for decl in &mut module.functions {
            if decl.exports.is_empty() {
                decl.exports.push(format!("#{}", decl.name));
            }
        }
        crate::opt::run(&mut module, crate::opt::Stage::Frontend);
        Ok(module)
    });
    module
        .as_ref()
        .map_err(|e| CompileError::internal(format!("runtime.wat does not compile: {e}")))
}

/// Rewrites one function's instructions; values keep their numbers (soft float types become
/// integer types in place).
struct Rewriter<'a> {
    func: &'a mut Function,
    /// Value types before the rewrite (the float types the operators were written for).
    original: Vec<Type>,
    soft: SoftTypes,
    callees: &'a mut Callees,
    out: Vec<Inst>,
    offset: u32,
}

fn rewrite_function(func: &mut Function, soft: SoftTypes, callees: &mut Callees) -> Result<()> {
    let original = func.value_types.clone();
    for ty in &mut func.value_types {
        if soft.is_soft(*ty) {
            *ty = ty.bits_type();
        }
    }
    let mut r = Rewriter {
        func,
        original,
        soft,
        callees,
        out: Vec::new(),
        offset: 0,
    };
    for b in 0..r.func.blocks.len() {
        let insts = std::mem::take(&mut r.func.blocks[b].insts);
        for inst in insts {
            r.offset = inst.offset;
            r.inst(inst)?;
        }
        r.func.blocks[b].insts = std::mem::take(&mut r.out);
    }
    Ok(())
}

fn sign_bit(ty: Type) -> i64 {
    match ty {
        Type::F32 => 0x8000_0000,
        _ => i64::MIN,
    }
}

/// Name suffix of a float type in runtime.wat.
fn wat_name(ty: Type) -> &'static str {
    match ty {
        Type::F32 => "f32",
        Type::F64 => "f64",
        Type::I32 => "i32",
        Type::I64 => "i64",
    }
}

impl Rewriter<'_> {
    fn ty(&self, v: Value) -> Type {
        self.original[v.0 as usize]
    }

    fn push(&mut self, op: Op, args: Vec<Value>, results: Vec<Value>) {
        self.out.push(Inst {
            op,
            args,
            results,
            offset: self.offset,
        });
    }

    fn value(&mut self, op: Op, args: Vec<Value>, ty: Type) -> Value {
        let v = self.func.new_value(ty);
        self.push(op, args, vec![v]);
        v
    }

    fn constant(&mut self, bits: i64, ty: Type) -> Value {
        self.value(Op::Const(bits), Vec::new(), ty)
    }

    fn binary(&mut self, op: BinaryOp, a: Value, b: Value, ty: Type) -> Value {
        self.value(Op::Binary(op), vec![a, b], ty)
    }

    fn inst(&mut self, inst: Inst) -> Result<()> {
        let float_ty = match &inst.op {
            Op::FUnary(_) | Op::FBinary(_) | Op::FCompare(_) => self.ty(inst.args[0]),
            Op::Convert(_) => {
                let (from, to) = (self.ty(inst.args[0]), self.ty(inst.results[0]));
                if from.is_float() { from } else { to }
            }
            _ => {
                self.out.push(inst);
                return Ok(());
            }
        };
        let from = self.ty(inst.args[0]);
        let to = self.ty(inst.results[0]);
        let soft = match inst.op {
            // No 32-bit FPU converts 64-bit integers; either side in software makes a
            // promotion or demotion a software one.
            Op::Convert(_) if from == Type::I64 || to == Type::I64 => {
                inst.op != Op::Convert(Conversion::Reinterpret) || self.soft.is_soft(float_ty)
            }
            Op::Convert(Conversion::Promote | Conversion::Demote) => {
                self.soft.is_soft(from) || self.soft.is_soft(to)
            }
            // An FPU without round-to-integral instructions (FPv4, RV32F) rounds in software.
            Op::FUnary(FUnaryOp::Ceil | FUnaryOp::Floor | FUnaryOp::Trunc | FUnaryOp::Nearest) => {
                self.soft.is_soft(float_ty) || !self.callees.caps.hard_rounding
            }
            _ => self.soft.is_soft(float_ty),
        };
        if !soft {
            if let Op::Convert(conversion @ (Conversion::TruncS | Conversion::TruncU)) = inst.op {
                // The FPU's conversion saturates; the traps come first, checked on the bits.
                let signed = conversion == Conversion::TruncS;
                let bits = self.bits_of(inst.args[0]);
                self.trunc_checks(from, to, signed, bits);
                let saturating = if signed {
                    Conversion::TruncSatS
                } else {
                    Conversion::TruncSatU
                };
                self.out.push(Inst {
                    op: Op::Convert(saturating),
                    ..inst
                });
                return Ok(());
            }
            self.out.push(inst);
            return Ok(());
        }
        // Operands and results that stay hardware floats cross over as their bit patterns,
        // except an f32 going to or coming from a library helper that takes it as a float.
        let keeps_f32 = self.callees.f32_in_fpu() && calls_library(&inst.op);
        let keep = |ty: Type| keeps_f32 && ty == Type::F32;
        let args: Vec<Value> = inst
            .args
            .iter()
            .map(|a| match self.func.value_types[a.0 as usize] {
                ty if keep(ty) => *a,
                _ => self.bits_of(*a),
            })
            .collect();
        let result = inst.results[0];
        let r = match self.func.value_types[result.0 as usize] {
            ty if ty.is_float() && !keep(ty) => self.func.new_value(ty.bits_type()),
            _ => result,
        };
        let inst = Inst {
            args,
            results: vec![r],
            ..inst
        };
        self.software(inst, float_ty, from, to)?;
        if r != result {
            self.push(Op::Convert(Conversion::Reinterpret), vec![r], vec![result]);
        }
        Ok(())
    }

    /// `v` as the integer of its bits: itself, or a reinterpretation of a hardware float.
    fn bits_of(&mut self, v: Value) -> Value {
        let ty = self.func.value_types[v.0 as usize];
        if ty.is_float() {
            self.value(
                Op::Convert(Conversion::Reinterpret),
                vec![v],
                ty.bits_type(),
            )
        } else {
            v
        }
    }

    /// The software form of a float operation whose operands and result are bit patterns.
    fn software(&mut self, inst: Inst, float_ty: Type, from: Type, to: Type) -> Result<()> {
        let (a, r) = (inst.args[0], inst.results[0]);
        let bits = float_ty.bits_type();
        match inst.op {
            Op::FUnary(FUnaryOp::Abs) => {
                let mask = self.constant(!sign_bit(float_ty), bits);
                self.push(Op::Binary(BinaryOp::And), vec![a, mask], vec![r]);
            }
            Op::FUnary(FUnaryOp::Neg) => {
                let mask = self.constant(sign_bit(float_ty), bits);
                self.push(Op::Binary(BinaryOp::Xor), vec![a, mask], vec![r]);
            }
            Op::FUnary(op) => {
                let name = match op {
                    FUnaryOp::Sqrt => "sqrt",
                    FUnaryOp::Ceil => "ceil",
                    FUnaryOp::Floor => "floor",
                    FUnaryOp::Trunc => "trunc",
                    _ => "nearest",
                };
                let callee = self
                    .callees
                    .runtime(&format!("{}_{name}", wat_name(float_ty)));
                self.push(Op::Call(callee), vec![a], vec![r]);
            }
            Op::FBinary(FBinaryOp::Copysign) => {
                let magnitude_mask = self.constant(!sign_bit(float_ty), bits);
                let sign_mask = self.constant(sign_bit(float_ty), bits);
                let magnitude = self.binary(BinaryOp::And, a, magnitude_mask, bits);
                let sign = self.binary(BinaryOp::And, inst.args[1], sign_mask, bits);
                self.push(Op::Binary(BinaryOp::Or), vec![magnitude, sign], vec![r]);
            }
            Op::FBinary(op @ (FBinaryOp::Min | FBinaryOp::Max)) => {
                let name = if op == FBinaryOp::Min { "min" } else { "max" };
                let callee = self
                    .callees
                    .runtime(&format!("{}_{name}", wat_name(float_ty)));
                self.push(Op::Call(callee), inst.args, vec![r]);
            }
            Op::FBinary(op) => {
                let (callee, _) = self.callees.library(SoftOp::Arith(float_ty, op));
                self.push(Op::Call(callee), inst.args, vec![r]);
            }
            Op::FCompare(cond) => {
                let (callee, lib) = self.callees.library(SoftOp::Compare(float_ty, cond));
                let raw = self.value(Op::Call(callee), inst.args, Type::I32);
                let zero = self.constant(0, Type::I32);
                self.push(
                    Op::Compare(result_test(&lib, cond)),
                    vec![raw, zero],
                    vec![r],
                );
            }
            Op::Convert(conversion) => self.convert(conversion, from, to, a, r),
            _ => unreachable_op(&inst)?,
        }
        Ok(())
    }

    fn convert(&mut self, conversion: Conversion, from: Type, to: Type, a: Value, r: Value) {
        match conversion {
            Conversion::Reinterpret => self.push(Op::Copy, vec![a], vec![r]),
            Conversion::Promote => {
                let (callee, _) = self.callees.library(SoftOp::Promote);
                self.push(Op::Call(callee), vec![a], vec![r]);
            }
            Conversion::Demote => {
                let (callee, _) = self.callees.library(SoftOp::Demote);
                self.push(Op::Call(callee), vec![a], vec![r]);
            }
            Conversion::ConvertS | Conversion::ConvertU => {
                let signed = conversion == Conversion::ConvertS;
                let (callee, _) = self.callees.library(SoftOp::FromInt { from, signed, to });
                self.push(Op::Call(callee), vec![a], vec![r]);
            }
            Conversion::TruncSatS | Conversion::TruncSatU => {
                let sign = if conversion == Conversion::TruncSatS {
                    "s"
                } else {
                    "u"
                };
                let name = format!("{}_trunc_sat_{}_{sign}", wat_name(to), wat_name(from));
                let callee = self.callees.runtime(&name);
                self.push(Op::Call(callee), vec![a], vec![r]);
            }
            Conversion::TruncS | Conversion::TruncU => {
                let signed = conversion == Conversion::TruncS;
                let bits = self.bits_of(a);
                self.trunc_checks(from, to, signed, bits);
                let (callee, _) = self.callees.library(SoftOp::ToInt { from, signed, to });
                self.push(Op::Call(callee), vec![a], vec![r]);
            }
        }
    }

    /// The traps of a trapping truncation, on the bit pattern: NaN, then "does not fit".
    /// With the sign bit set, a larger pattern is a larger magnitude, so `x > lower` (lower < 0)
    /// is an unsigned compare; `x < upper` (upper > 0) is a signed one.
    fn trunc_checks(&mut self, from: Type, to: Type, signed: bool, a: Value) {
        let bits = from.bits_type();
        let (exponent_all_ones, magnitude_mask) = match from {
            Type::F32 => (0x7f80_0000, 0x7fff_ffff),
            _ => (0x7ff0_0000_0000_0000, i64::MAX),
        };
        let mask = self.constant(magnitude_mask, bits);
        let magnitude = self.binary(BinaryOp::And, a, mask, bits);
        let infinity = self.constant(exponent_all_ones, bits);
        let is_nan = self.value(Op::Compare(Cond::GtU), vec![magnitude, infinity], Type::I32);
        self.push(
            Op::TrapIf(TrapCode::InvalidConversion),
            vec![is_nan],
            vec![],
        );
        let (lower_bits, lower_inclusive, upper_bits) = trunc_bounds(from, to, signed);
        let lower = self.constant(lower_bits, bits);
        let lower_cond = if lower_inclusive {
            Cond::GtU
        } else {
            Cond::GeU
        };
        let below = self.value(Op::Compare(lower_cond), vec![a, lower], Type::I32);
        let upper = self.constant(upper_bits, bits);
        let above = self.value(Op::Compare(Cond::GeS), vec![a, upper], Type::I32);
        let out_of_range = self.binary(BinaryOp::Or, below, above, Type::I32);
        self.push(
            Op::TrapIf(TrapCode::IntegerOverflow),
            vec![out_of_range],
            vec![],
        );
    }
}

/// For a truncation `from` -> `to`: (bit pattern L, inclusive, bit pattern U) such that a
/// non-NaN x fits exactly when `x >= L` (inclusive) or `x > L` (not), and `x < U`.
fn trunc_bounds(from: Type, to: Type, signed: bool) -> (i64, bool, i64) {
    let (lower, upper) = crate::ir::float::trunc_limits(to, signed);
    match from {
        Type::F32 => {
            let l = lower as f32;
            // If `lower` is not an f32, the first f32 above it (toward zero) is the inclusive limit.
            let (l, inclusive) = if l as f64 == lower {
                (l, false)
            } else if (l as f64) > lower {
                (l, true)
            } else {
                (f32::from_bits(l.to_bits() - 1), true)
            };
            (
                l.to_bits() as i64,
                inclusive,
                (upper as f32).to_bits() as i64,
            )
        }
        _ => {
            // Every limit above (-2^63 - 2048 rounds to -2^63 - 2048 exactly) is an f64.
            (lower.to_bits() as i64, false, upper.to_bits() as i64)
        }
    }
}

/// Is a software `op` a call of the runtime library (rather than integer code or one of
/// runtime.wat's helpers, which always take bit patterns)?
fn calls_library(op: &Op) -> bool {
    matches!(
        op,
        Op::FBinary(FBinaryOp::Add | FBinaryOp::Sub | FBinaryOp::Mul | FBinaryOp::Div)
            | Op::FCompare(_)
            | Op::Convert(
                Conversion::Promote
                    | Conversion::Demote
                    | Conversion::ConvertS
                    | Conversion::ConvertU
                    | Conversion::TruncS
                    | Conversion::TruncU
            )
    )
}

/// How a library compare's result becomes wasm's 0/1: tested against zero.
fn result_test(lib: &LibCall, cond: FCond) -> Cond {
    match (lib.answer, lib.op) {
        // `ne` calls `cmpeq` and inverts it.
        (CompareAnswer::Bool, SoftOp::Compare(_, lib_cond)) if lib_cond != cond => Cond::Eq,
        (CompareAnswer::Bool, _) => Cond::Ne,
        (CompareAnswer::Order, _) => match cond {
            FCond::Eq => Cond::Eq,
            FCond::Ne => Cond::Ne,
            FCond::Lt => Cond::LtS,
            FCond::Le => Cond::LeS,
            FCond::Gt => Cond::GtS,
            FCond::Ge => Cond::GeS,
        },
    }
}

fn unreachable_op(inst: &Inst) -> Result<()> {
    Err(CompileError::internal(format!(
        "soft float: unexpected {:?}",
        inst.op
    )))
}

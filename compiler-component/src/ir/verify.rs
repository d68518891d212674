//! IR invariant checks. A failure is an internal error (a synth bug), never a panic.
//!
//! Checked per function: every value is defined once and has a type; block arguments match the
//! target's parameters and only `Jump` passes them; every use is dominated by its definition
//! (over the blocks reachable from the entry); every operation has the operand and result
//! counts and types it needs; the entry parameters and returned values match the signature;
//! after legalize there is no `I64` value and no operation that legalize removes.

use crate::error::{CompileError, Result};
use crate::ir::dom::Dominators;
use crate::ir::{
    BinaryOp, Block, Conversion, Function, FunctionKind, Inst, Module, Op, Signature, Terminator,
    Type, UnaryOp, Value,
};

/// Check the module's invariants; `legalized` adds "no I64 values".
pub fn module(module: &Module, legalized: bool) -> Result<()> {
    for (index, decl) in module.functions.iter().enumerate() {
        if let FunctionKind::Defined(b) | FunctionKind::Runtime(b) = decl.kind {
            let Some(body) = module.bodies.get(b as usize) else {
                return Err(CompileError::internal(format!(
                    "function {index} refers to missing body {b}"
                ))
                .in_function(decl.name.clone()));
            };
            if body.index as usize != index || body.sig != decl.sig {
                return Err(CompileError::internal(format!(
                    "body {b} does not match declaration {index} (index {} / signature)",
                    body.index
                ))
                .in_function(body.name.clone()));
            }
        }
    }
    if let Some(start) = module.start
        && module.functions.get(start as usize).is_none()
    {
        return Err(CompileError::internal(format!(
            "start function {start} does not exist"
        )));
    }
    for body in &module.bodies {
        function(module, body, legalized).map_err(|e| e.in_function(body.name.clone()))?;
    }
    Ok(())
}

/// Do register-level `types` carry the wasm signature list `sig`? After legalize an i64 is two
/// I32 values. A float is either still a float (the target computes with it) or its bit pattern
/// (the float pass made it an integer of its width, which legalize may split in turn).
fn carries(types: &[Type], sig: &[Type], legalized: bool) -> bool {
    let mut rest = types;
    for t in sig {
        let forms: &[&[Type]] = match (t, legalized) {
            (Type::I32, _) => &[&[Type::I32]],
            (Type::I64, false) => &[&[Type::I64]],
            (Type::I64, true) => &[&[Type::I32, Type::I32]],
            (Type::F32, _) => &[&[Type::F32], &[Type::I32]],
            (Type::F64, false) => &[&[Type::F64], &[Type::I64]],
            (Type::F64, true) => &[&[Type::F64], &[Type::I32, Type::I32]],
        };
        match forms.iter().find(|f| rest.starts_with(f)) {
            Some(f) => rest = &rest[f.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Where a value is defined: block, and position (0 = block parameter, i + 1 = instruction i).
#[derive(Clone, Copy)]
struct DefSite {
    block: usize,
    position: usize,
}

struct Checker<'a> {
    module: &'a Module,
    func: &'a Function,
    legalized: bool,
    defs: Vec<Option<DefSite>>,
    dom: Option<Dominators>,
}

/// Check one function.
pub fn function(module: &Module, func: &Function, legalized: bool) -> Result<()> {
    if func.blocks.is_empty() {
        return Err(CompileError::internal("function has no blocks"));
    }
    let mut checker = Checker {
        module,
        func,
        legalized,
        defs: vec![None; func.value_types.len()],
        dom: None,
    };
    checker.collect_definitions()?;
    checker.compute_dominators()?;
    let entry_types = checker.types_of(&func.blocks[0].params, "entry block", 0)?;
    if !carries(&entry_types, &func.sig.params, legalized) {
        return Err(CompileError::internal(format!(
            "entry parameters {entry_types:?} do not match the signature {:?}",
            func.sig.params
        )));
    }
    for (b, block) in func.blocks.iter().enumerate() {
        for (i, inst) in block.insts.iter().enumerate() {
            checker
                .check_inst(b, i, inst)
                .map_err(|e| checker.located(e, b, Some(i)).at(inst.offset as u64))?;
        }
        checker
            .check_terminator(b)
            .map_err(|e| checker.located(e, b, None).at(block.term_offset as u64))?;
    }
    Ok(())
}

impl Checker<'_> {
    fn located(&self, e: CompileError, block: usize, inst: Option<usize>) -> CompileError {
        let place = match inst.and_then(|i| self.func.blocks[block].insts.get(i).map(|x| (i, x))) {
            Some((i, x)) => format!("b{block} inst {i} ({:?})", x.op),
            None => format!("b{block} terminator"),
        };
        CompileError {
            message: format!("{place}: {}", e.message),
            ..e
        }
    }

    fn collect_definitions(&mut self) -> Result<()> {
        for (b, block) in self.func.blocks.iter().enumerate() {
            let params = block.params.iter().map(|p| (*p, 0));
            let results = block
                .insts
                .iter()
                .enumerate()
                .flat_map(|(i, inst)| inst.results.iter().map(move |r| (*r, i + 1)));
            for (value, position) in params.chain(results) {
                let Some(slot) = self.defs.get_mut(value.0 as usize) else {
                    return Err(CompileError::internal(format!(
                        "b{b}: {value} has no type (only {} values exist)",
                        self.func.value_types.len()
                    )));
                };
                if slot.is_some() {
                    return Err(CompileError::internal(format!(
                        "b{b}: {value} is defined more than once"
                    )));
                }
                *slot = Some(DefSite { block: b, position });
                if self.legalized && self.func.value_types[value.0 as usize] == Type::I64 {
                    return Err(CompileError::internal(format!(
                        "b{b}: {value} has type I64 after legalize"
                    )));
                }
            }
        }
        Ok(())
    }

    fn compute_dominators(&mut self) -> Result<()> {
        let count = self.func.blocks.len();
        for (b, block) in self.func.blocks.iter().enumerate() {
            for s in block.term.successor_iter() {
                if s.0 as usize >= count {
                    return Err(CompileError::internal(format!(
                        "b{b} branches to missing block {s}"
                    )));
                }
            }
        }
        self.dom = Some(Dominators::compute(self.func));
        Ok(())
    }

    fn reachable(&self, b: usize) -> bool {
        self.dom.as_ref().is_some_and(|d| d.is_reachable(b))
    }

    fn dominates(&self, a: usize, b: usize) -> bool {
        self.dom.as_ref().is_some_and(|d| d.dominates(a, b))
    }

    /// `value` is defined before `position` of block `block` on every path from the entry.
    fn check_use(&self, value: Value, block: usize, position: usize) -> Result<Type> {
        let Some(Some(def)) = self.defs.get(value.0 as usize) else {
            return Err(CompileError::internal(format!(
                "{value} is used but never defined"
            )));
        };
        if self.reachable(block) {
            let ok = if def.block == block {
                def.position < position
            } else {
                self.reachable(def.block) && self.dominates(def.block, block)
            };
            if !ok {
                return Err(CompileError::internal(format!(
                    "{value} (defined in b{}) does not dominate its use",
                    def.block
                )));
            }
        }
        Ok(self.func.value_types[value.0 as usize])
    }

    fn types_of(&self, values: &[Value], what: &str, _block: usize) -> Result<Vec<Type>> {
        values
            .iter()
            .map(|v| {
                self.func
                    .value_types
                    .get(v.0 as usize)
                    .copied()
                    .ok_or_else(|| CompileError::internal(format!("{what}: {v} has no type")))
            })
            .collect()
    }

    fn check_inst(&self, block: usize, index: usize, inst: &Inst) -> Result<()> {
        let mut args = Vec::with_capacity(inst.args.len());
        for a in &inst.args {
            args.push(self.check_use(*a, block, index + 1)?);
        }
        let results = self.types_of(&inst.results, "result", block)?;
        let expect = |want_args: &[Type], want_results: &[Type]| -> Result<()> {
            if args != want_args || results != want_results {
                return Err(CompileError::internal(format!(
                    "operands {args:?} -> {results:?}, expected {want_args:?} -> {want_results:?}"
                )));
            }
            Ok(())
        };
        let removed_by_legalize = |what: &str| -> Result<()> {
            if self.legalized {
                return Err(CompileError::internal(format!(
                    "{what} must not survive legalize"
                )));
            }
            Ok(())
        };
        use Type::{I32, I64};
        // The result type decides the operand types where they must agree.
        let result_ty = results.first().copied().unwrap_or(I32);
        match &inst.op {
            Op::Const(_) => {
                if results.len() != 1 || !args.is_empty() {
                    return expect(&[], &[result_ty]);
                }
            }
            Op::Copy => expect(&[result_ty], &[result_ty])?,
            Op::Unary(op) => {
                let arg_ty = args.first().copied().unwrap_or(I32);
                match op {
                    UnaryOp::Clz
                    | UnaryOp::Ctz
                    | UnaryOp::Popcnt
                    | UnaryOp::Extend8S
                    | UnaryOp::Extend16S => expect(&[result_ty], &[result_ty])?,
                    UnaryOp::Eqz => expect(&[arg_ty], &[I32])?,
                    UnaryOp::Extend32S => {
                        removed_by_legalize("i64.extend32_s")?;
                        expect(&[I64], &[I64])?
                    }
                    UnaryOp::Wrap => {
                        removed_by_legalize("i32.wrap_i64")?;
                        expect(&[I64], &[I32])?
                    }
                    UnaryOp::ExtendI32S | UnaryOp::ExtendI32U => {
                        removed_by_legalize("i64.extend_i32")?;
                        expect(&[I32], &[I64])?
                    }
                }
            }
            Op::Binary(_) => expect(&[result_ty, result_ty], &[result_ty])?,
            Op::Compare(_) => {
                let arg_ty = args.first().copied().unwrap_or(I32);
                expect(&[arg_ty, arg_ty], &[I32])?
            }
            Op::Select => expect(&[I32, result_ty, result_ty], &[result_ty])?,
            Op::Load(m) => {
                let valid_width = match (result_ty, self.legalized) {
                    (I64, false) => matches!(m.width, 1 | 2 | 4 | 8),
                    (Type::F32, _) => m.width == 4,
                    (Type::F64, _) => m.width == 8,
                    _ => matches!(m.width, 1 | 2 | 4),
                };
                if !valid_width {
                    return Err(CompileError::internal(format!(
                        "load of width {} into {result_ty:?}",
                        m.width
                    )));
                }
                if self.legalized {
                    expect(&[I32, I32], &[result_ty])?
                } else {
                    expect(&[I32], &[result_ty])?
                }
            }
            Op::Store(m) => {
                let value_ty = args.last().copied().unwrap_or(I32);
                let valid_width = match (value_ty, self.legalized) {
                    (I64, false) => matches!(m.width, 1 | 2 | 4 | 8),
                    (Type::F32, _) => m.width == 4,
                    (Type::F64, _) => m.width == 8,
                    _ => matches!(m.width, 1 | 2 | 4),
                };
                if !valid_width {
                    return Err(CompileError::internal(format!(
                        "store of width {} from {value_ty:?}",
                        m.width
                    )));
                }
                if self.legalized {
                    expect(&[I32, I32, value_ty], &[])?
                } else {
                    expect(&[I32, value_ty], &[])?
                }
            }
            Op::MemorySize => {
                removed_by_legalize("memory.size")?;
                self.need_memory()?;
                expect(&[], &[I32])?
            }
            Op::MemoryGrow => {
                removed_by_legalize("memory.grow")?;
                self.need_memory()?;
                expect(&[I32], &[I32])?
            }
            Op::GlobalGet(n) => {
                removed_by_legalize("global.get")?;
                let ty = self.global(*n)?.ty;
                if results != [ty] && results != [ty.bits_type()] {
                    expect(&[], &[ty])?
                }
            }
            Op::GlobalSet(n) => {
                removed_by_legalize("global.set")?;
                let global = self.global(*n)?;
                if !global.mutable {
                    return Err(CompileError::internal(format!(
                        "global.set of immutable global {n}"
                    )));
                }
                if args != [global.ty] && args != [global.ty.bits_type()] {
                    expect(&[global.ty], &[])?
                }
            }
            Op::Call(n) => {
                let sig = self.callee(*n)?;
                if !carries(&args, &sig.params, self.legalized)
                    || !carries(&results, &sig.results, self.legalized)
                {
                    return Err(CompileError::internal(format!(
                        "operands {args:?} -> {results:?} do not match the callee's signature {:?} -> {:?}",
                        sig.params, sig.results
                    )));
                }
            }
            Op::FUnary(_) => {
                self.need_float(result_ty)?;
                expect(&[result_ty], &[result_ty])?
            }
            Op::FBinary(_) => {
                self.need_float(result_ty)?;
                expect(&[result_ty, result_ty], &[result_ty])?
            }
            Op::FCompare(_) => {
                let arg_ty = args.first().copied().unwrap_or(Type::F32);
                self.need_float(arg_ty)?;
                expect(&[arg_ty, arg_ty], &[I32])?
            }
            // After legalize an f64 computed in hardware reinterprets to and from an i64's pair.
            Op::Convert(Conversion::Reinterpret)
                if self.legalized && (args.len() == 2 || results.len() == 2) =>
            {
                if !(args == [Type::F64] && results == [I32, I32]
                    || args == [I32, I32] && results == [Type::F64])
                {
                    expect(&[Type::F64], &[I32, I32])?
                }
            }
            Op::Convert(conversion) => {
                let arg_ty = args.first().copied().unwrap_or(I32);
                let valid = match conversion {
                    Conversion::TruncS
                    | Conversion::TruncU
                    | Conversion::TruncSatS
                    | Conversion::TruncSatU => arg_ty.is_float() && !result_ty.is_float(),
                    Conversion::ConvertS | Conversion::ConvertU => {
                        !arg_ty.is_float() && result_ty.is_float()
                    }
                    Conversion::Promote => arg_ty == Type::F32 && result_ty == Type::F64,
                    Conversion::Demote => arg_ty == Type::F64 && result_ty == Type::F32,
                    Conversion::Reinterpret => {
                        arg_ty.is_float() != result_ty.is_float()
                            && arg_ty.bytes() == result_ty.bytes()
                    }
                };
                if !valid {
                    return Err(CompileError::internal(format!(
                        "{conversion:?} from {arg_ty:?} to {result_ty:?}"
                    )));
                }
                expect(&[arg_ty], &[result_ty])?
            }
            Op::TrapIf(_) => expect(&[I32], &[])?,
            Op::Table(op) => {
                removed_by_legalize("a table operator")?;
                use crate::ir::TableOp as T;
                match op {
                    T::Get(_) => expect(&[I32], &[I32])?,
                    T::Set(_) => expect(&[I32, I32], &[])?,
                    T::Size(_) | T::RefFunc(_) => expect(&[], &[I32])?,
                    T::Grow(_) => expect(&[I32, I32], &[I32])?,
                    T::Fill(_) | T::Copy { .. } | T::Init { .. } => expect(&[I32; 3], &[])?,
                    T::ElemDrop(_) => expect(&[], &[])?,
                }
            }
            Op::Bulk(op) => {
                removed_by_legalize("a bulk memory operator")?;
                match op {
                    crate::ir::BulkOp::DataDrop(_) => expect(&[], &[])?,
                    _ => expect(&[I32; 3], &[])?,
                }
            }
            Op::CallIndirect(call) => {
                removed_by_legalize("call_indirect")?;
                let (index, call_args) = args.split_last().unwrap_or((&I32, &[]));
                if *index != I32
                    || !carries(call_args, &call.sig.params, false)
                    || !carries(&results, &call.sig.results, false)
                {
                    return Err(CompileError::internal(format!(
                        "call_indirect operands {args:?} -> {results:?} do not match {:?}",
                        call.sig
                    )));
                }
            }
            Op::CallPtr(sig) => {
                if !self.legalized {
                    return Err(CompileError::internal("CallPtr before legalize"));
                }
                let (target, call_args) = args.split_first().unwrap_or((&Type::F32, &[]));
                if *target != I32
                    || !carries(call_args, &sig.params, true)
                    || !carries(&results, &sig.results, true)
                {
                    return Err(CompileError::internal(format!(
                        "indirect call operands {args:?} -> {results:?} do not match {sig:?}"
                    )));
                }
            }
            Op::BoundsCheck { .. } => expect(&[I32, I32], &[])?,
            Op::SymbolAddr { .. } => expect(&[], &[I32])?,
            // A word, or a float computed in hardware (a global of its type).
            Op::LoadSymbol { .. } if result_ty.is_float() => expect(&[], &[result_ty])?,
            Op::LoadSymbol { .. } => expect(&[], &[I32])?,
            Op::StoreSymbol { .. } => {
                let ty = args.first().copied().unwrap_or(I32);
                if ty.is_float() {
                    expect(&[ty], &[])?
                } else {
                    expect(&[I32], &[])?
                }
            }
            Op::AddPair | Op::SubPair => expect(&[I32; 4], &[I32, I32])?,
            Op::MulWideU | Op::MulWideS => expect(&[I32, I32], &[I32, I32])?,
            Op::ShiftPair(op) => {
                if !matches!(op, BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU) {
                    return Err(CompileError::internal(format!("ShiftPair({op:?})")));
                }
                expect(&[I32, I32, I32], &[I32, I32])?
            }
        }
        Ok(())
    }

    fn need_memory(&self) -> Result<()> {
        match self.module.memory {
            Some(_) => Ok(()),
            None => Err(CompileError::internal("memory operation without a memory")),
        }
    }

    fn global(&self, n: u32) -> Result<&crate::ir::Global> {
        self.module
            .globals
            .get(n as usize)
            .ok_or_else(|| CompileError::internal(format!("global {n} does not exist")))
    }

    fn callee(&self, n: u32) -> Result<&Signature> {
        self.module
            .functions
            .get(n as usize)
            .map(|f| &f.sig)
            .ok_or_else(|| CompileError::internal(format!("call of missing function {n}")))
    }

    fn check_terminator(&self, b: usize) -> Result<()> {
        let block = &self.func.blocks[b];
        let position = block.insts.len() + 1;
        for &v in block.term.use_slice() {
            self.check_use(v, b, position)?;
        }
        let params_of = |t: Block| -> Result<&[Value]> {
            self.func
                .blocks
                .get(t.0 as usize)
                .map(|d| d.params.as_slice())
                .ok_or_else(|| CompileError::internal(format!("missing block {t}")))
        };
        match &block.term {
            Terminator::Jump { target, args } => {
                let want = self.types_of(params_of(*target)?, "parameter", b)?;
                let got = self.types_of(args, "argument", b)?;
                if want != got {
                    return Err(CompileError::internal(format!(
                        "jump to {target} passes {got:?}, its parameters are {want:?}"
                    )));
                }
            }
            Terminator::Branch {
                cond,
                then_block,
                else_block,
            } => {
                self.need_i32(*cond, "branch condition")?;
                for t in [then_block, else_block] {
                    if !params_of(*t)?.is_empty() {
                        return Err(CompileError::internal(format!(
                            "branch target {t} takes parameters"
                        )));
                    }
                }
            }
            Terminator::Switch {
                index,
                targets,
                default,
            } => {
                self.need_i32(*index, "switch index")?;
                for t in targets.iter().chain(std::iter::once(default)) {
                    if !params_of(*t)?.is_empty() {
                        return Err(CompileError::internal(format!(
                            "switch target {t} takes parameters"
                        )));
                    }
                }
            }
            Terminator::Return { values } => {
                let got = self.types_of(values, "return value", b)?;
                if !carries(&got, &self.func.sig.results, self.legalized) {
                    return Err(CompileError::internal(format!(
                        "returns {got:?}, the signature says {:?}",
                        self.func.sig.results
                    )));
                }
            }
            Terminator::Trap { .. } => {}
        }
        Ok(())
    }

    fn need_float(&self, ty: Type) -> Result<()> {
        if ty.is_float() {
            Ok(())
        } else {
            Err(CompileError::internal(format!("float operation on {ty:?}")))
        }
    }

    fn need_i32(&self, v: Value, what: &str) -> Result<()> {
        match self.func.value_types.get(v.0 as usize) {
            Some(Type::I32) => Ok(()),
            other => Err(CompileError::internal(format!(
                "{what} {v} has type {other:?}, expected I32"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::ir::{Block, Inst, Module, Op, Terminator, Type, Value};
    use crate::options::Options;

    fn sample() -> Module {
        let wat = r#"(module (func (export "f") (param i32 i32) (result i32)
            (if (result i32) (local.get 0)
              (then (i32.add (local.get 0) (local.get 1)))
              (else (i32.const 3)))))"#;
        let wasm = crate::frontend::decode(wat.as_bytes()).unwrap();
        let m = crate::frontend::translate(&wasm, &Options::default()).unwrap();
        super::module(&m, false).unwrap();
        m
    }

    fn rejects(m: &Module, legalized: bool, needle: &str) {
        let e = super::module(m, legalized).expect_err("must be rejected");
        assert_eq!(e.kind, ErrorKind::Internal);
        assert_eq!(e.function.as_deref(), Some("f"));
        assert!(e.message.contains(needle), "`{needle}` not in: {e}");
    }

    /// (block, inst) of the `Binary(Add)`.
    fn add_site(m: &Module) -> (usize, usize) {
        for (b, block) in m.bodies[0].blocks.iter().enumerate() {
            if let Some(i) = block
                .insts
                .iter()
                .position(|i| matches!(i.op, Op::Binary(_)))
            {
                return (b, i);
            }
        }
        panic!("no add")
    }

    #[test]
    fn use_not_dominated_by_its_definition() {
        let mut m = sample();
        let (b, i) = add_site(&m);
        let sum = m.bodies[0].blocks[b].insts[i].results[0];
        // Return the then-arm's sum from the join block, which the else arm also reaches.
        let f = &mut m.bodies[0];
        let join = f.blocks.iter().position(|x| !x.params.is_empty()).unwrap();
        f.blocks[join].term = Terminator::Return { values: vec![sum] };
        rejects(&m, false, "does not dominate");
    }

    #[test]
    fn double_definition_and_undefined_values() {
        let mut m = sample();
        let (b, i) = add_site(&m);
        let p = m.bodies[0].blocks[0].params[0];
        m.bodies[0].blocks[b].insts[i].results[0] = p;
        rejects(&m, false, "defined more than once");
        let mut m = sample();
        let ghost = m.bodies[0].new_value(Type::I32);
        m.bodies[0].blocks[b].insts[i].args[0] = ghost;
        rejects(&m, false, "never defined");
    }

    #[test]
    fn jump_arguments_and_branch_targets_are_checked() {
        let mut m = sample();
        let f = &mut m.bodies[0];
        let jump = f
            .blocks
            .iter()
            .position(|x| matches!(&x.term, Terminator::Jump { args, .. } if !args.is_empty()))
            .unwrap();
        if let Terminator::Jump { args, .. } = &mut f.blocks[jump].term {
            args.clear();
        }
        rejects(&m, false, "passes []");

        let mut m = sample();
        let f = &mut m.bodies[0];
        let join = f.blocks.iter().position(|x| !x.params.is_empty()).unwrap();
        let cond = f.blocks[0].params[0];
        f.blocks[0].term = Terminator::Branch {
            cond,
            then_block: Block(join as u32),
            else_block: Block(join as u32),
        };
        rejects(&m, false, "takes parameters");
    }

    #[test]
    fn operand_types_and_legalized_form() {
        let mut m = sample();
        let (b, i) = add_site(&m);
        let wide = m.bodies[0].new_value(Type::I64);
        m.bodies[0].blocks[b].insts[i].results[0] = wide;
        rejects(&m, false, "expected");

        let mut m = sample();
        let f = &mut m.bodies[0];
        let v = f.new_value(Type::I64);
        f.blocks[0].insts.insert(
            0,
            Inst {
                op: Op::Const(1),
                args: Vec::new(),
                results: vec![v],
                offset: 0,
            },
        );
        super::module(&m, false).unwrap();
        rejects(&m, true, "I64 after legalize");

        let mut m = sample();
        let f = &mut m.bodies[0];
        let v = f.new_value(Type::I32);
        f.blocks[0].insts.push(Inst {
            op: Op::Call(7),
            args: vec![Value(0)],
            results: vec![v],
            offset: 0,
        });
        rejects(&m, false, "missing function 7");
    }
}

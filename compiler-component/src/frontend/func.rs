//! One wasm function body -> one SSA `ir::Function`.
//!
//! Structured control flow maps to blocks: `block`/`if` get an end block whose parameters are
//! the results, `loop` gets a header whose parameters are the loop parameters. Branches carry
//! the label's values as `Jump` arguments; `br_if`/`br_table`/`if` reach their targets through
//! fresh single-predecessor blocks so that `Branch`/`Switch` never pass arguments. Code after
//! `br`/`return`/`unreachable`/`br_table` is skipped (the validator already checked it).

use std::collections::BTreeMap;

use wasmparser::{BlockType, FunctionBody, Operator};

use crate::error::{CompileError, Result};
use crate::ir::{
    BinaryOp, Block, Cond, Conversion, FBinaryOp, FCond, FUnaryOp, Function, MemArg, Op, Signature,
    Terminator, TrapCode, Type, UnaryOp, Value,
};

use super::limits::{
    MAX_BR_TABLE_ENTRIES, MAX_CONTROL_NESTING, MAX_LOCALS_PER_FUNCTION, MAX_OPERATORS_PER_FUNCTION,
};
mod bulk_ops;
mod table_ops;

use super::ssa::SsaBuilder;
use super::{ModuleEnv, convert_type, offset32};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    /// The function body itself: branching to it returns.
    Function,
    Block,
    Loop,
    If,
    Else,
}

struct Frame {
    kind: FrameKind,
    result_types: Vec<Type>,
    /// Number of values a branch to this label carries (loop: params, others: results).
    label_arity: usize,
    /// Where a branch to this label goes; `None` for the function frame (return).
    label: Option<Block>,
    /// Where control continues after `end` (unused for the function frame).
    end: Block,
    /// `if` without `else` yet: the block the else arm starts in, and the `if` params.
    else_block: Option<Block>,
    if_params: Vec<Value>,
    /// Operand stack height below the frame's parameters.
    stack_base: usize,
}

struct Translator<'e> {
    env: &'e ModuleEnv,
    ssa: SsaBuilder,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    current: Block,
    reachable: bool,
    /// Frames opened while unreachable: skipped without being translated.
    dead_depth: usize,
    results: Vec<Type>,
}

/// Translate defined function `index` (in the module's function index space).
pub fn translate_function(
    env: &ModuleEnv,
    index: u32,
    name: String,
    sig: &Signature,
    body: &FunctionBody<'_>,
) -> Result<Function> {
    let body_offset = offset32(body.range().start);
    let mut local_types = sig.params.clone();
    let locals = body
        .get_locals_reader()
        .map_err(|e| super::reader_error(e, crate::ErrorKind::Malformed))?;
    for entry in locals {
        let (count, ty) = entry.map_err(|e| super::reader_error(e, crate::ErrorKind::Malformed))?;
        if local_types.len() as u64 + count as u64 > MAX_LOCALS_PER_FUNCTION {
            return Err(
                CompileError::limit(format!("more than {MAX_LOCALS_PER_FUNCTION} locals"))
                    .at(body_offset as u64),
            );
        }
        let ty = convert_type(ty).ok_or_else(|| {
            CompileError::unsupported(
                format!("local of type `{ty}` is not supported"),
                body_offset as u64,
            )
        })?;
        local_types.extend(std::iter::repeat_n(ty, count as usize));
    }
    let func = Function {
        index,
        name,
        sig: sig.clone(),
        blocks: Vec::new(),
        value_types: Vec::new(),
        offset: body_offset,
    };
    let ssa = SsaBuilder::new(func, sig.params.len(), local_types)?;
    let mut t = Translator {
        env,
        ssa,
        stack: Vec::new(),
        current: Block(0),
        reachable: true,
        dead_depth: 0,
        results: sig.results.clone(),
        frames: Vec::new(),
    };
    let end_placeholder = Block(0);
    t.frames.push(Frame {
        kind: FrameKind::Function,
        result_types: sig.results.clone(),
        label_arity: sig.results.len(),
        label: None,
        end: end_placeholder,
        else_block: None,
        if_params: Vec::new(),
        stack_base: 0,
    });

    let mut reader = body
        .get_operators_reader()
        .map_err(|e| super::reader_error(e, crate::ErrorKind::Malformed))?;
    let mut operators = 0usize;
    while !reader.eof() {
        let (op, offset) = reader
            .read_with_offset()
            .map_err(|e| super::reader_error(e, crate::ErrorKind::Malformed))?;
        operators += 1;
        if operators > MAX_OPERATORS_PER_FUNCTION {
            return Err(CompileError::limit(format!(
                "more than {MAX_OPERATORS_PER_FUNCTION} operators in one function"
            ))
            .at(offset));
        }
        let offset = offset32(offset);
        t.operator(op, offset).map_err(|e| {
            if e.offset.is_none() {
                e.at(offset as u64)
            } else {
                e
            }
        })?;
    }
    if !t.frames.is_empty() {
        return Err(CompileError::internal("function body ended inside a block"));
    }
    let mut func = t.ssa.finish()?;
    // Minimal SSA: drop parameters that receive one value on every edge, then route
    // branches straight to their targets where the edge block turned out empty.
    crate::opt::copyprop::run(&mut func);
    thread_empty_edge_blocks(&mut func);
    crate::opt::dce::remove_unreachable_blocks(&mut func);
    Ok(func)
}

/// Retarget `Branch`/`Switch` edges that go through an empty block which only `Jump`s on
/// without arguments.
fn thread_empty_edge_blocks(func: &mut Function) {
    let forward: Vec<Option<Block>> = func
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| match &b.term {
            Terminator::Jump { target, args }
                if i != 0
                    && b.params.is_empty()
                    && b.insts.is_empty()
                    && args.is_empty()
                    && target.0 as usize != i
                    && func
                        .blocks
                        .get(target.0 as usize)
                        .is_some_and(|t| t.params.is_empty()) =>
            {
                Some(*target)
            }
            _ => None,
        })
        .collect();
    let resolve = |b: Block| -> Block { forward.get(b.0 as usize).copied().flatten().unwrap_or(b) };
    for block in &mut func.blocks {
        block.term.retarget_branches(resolve);
    }
}

fn stack_underflow() -> CompileError {
    CompileError::internal("operand stack underflow in a validated function")
}

impl Translator<'_> {
    fn pop(&mut self) -> Result<Value> {
        self.stack.pop().ok_or_else(stack_underflow)
    }

    /// The top `n` values, bottom first, left on the stack.
    fn peek(&self, n: usize) -> Result<Vec<Value>> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(stack_underflow)?;
        Ok(self.stack[start..].to_vec())
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>> {
        let values = self.peek(n)?;
        self.stack.truncate(self.stack.len() - n);
        Ok(values)
    }

    fn ty(&self, v: Value) -> Result<Type> {
        self.ssa
            .func
            .value_types
            .get(v.0 as usize)
            .copied()
            .ok_or_else(|| CompileError::internal(format!("{v} has no type")))
    }

    fn emit(
        &mut self,
        op: Op,
        args: Vec<Value>,
        result_types: &[Type],
        offset: u32,
    ) -> Result<Vec<Value>> {
        self.ssa
            .push_inst(self.current, op, args, result_types, offset)
    }

    fn emit1(&mut self, op: Op, args: Vec<Value>, ty: Type, offset: u32) -> Result<Value> {
        let results = self.emit(op, args, &[ty], offset)?;
        results
            .first()
            .copied()
            .ok_or_else(|| CompileError::internal("instruction without result"))
    }

    fn push1(&mut self, op: Op, args: Vec<Value>, ty: Type, offset: u32) -> Result<()> {
        let v = self.emit1(op, args, ty, offset)?;
        self.stack.push(v);
        Ok(())
    }

    fn constant(&mut self, value: i64, ty: Type, offset: u32) -> Result<Value> {
        self.emit1(Op::Const(value), Vec::new(), ty, offset)
    }

    fn unary(&mut self, op: UnaryOp, ty: Type, offset: u32) -> Result<()> {
        let a = self.pop()?;
        self.push1(Op::Unary(op), vec![a], ty, offset)
    }

    fn binary(&mut self, op: BinaryOp, ty: Type, offset: u32) -> Result<()> {
        let b = self.pop()?;
        let a = self.pop()?;
        self.push1(Op::Binary(op), vec![a, b], ty, offset)
    }

    fn compare(&mut self, cond: Cond, offset: u32) -> Result<()> {
        let b = self.pop()?;
        let a = self.pop()?;
        self.push1(Op::Compare(cond), vec![a, b], Type::I32, offset)
    }

    fn float_unary(&mut self, op: FUnaryOp, ty: Type, offset: u32) -> Result<()> {
        let a = self.pop()?;
        self.push1(Op::FUnary(op), vec![a], ty, offset)
    }

    fn float_binary(&mut self, op: FBinaryOp, ty: Type, offset: u32) -> Result<()> {
        let b = self.pop()?;
        let a = self.pop()?;
        self.push1(Op::FBinary(op), vec![a, b], ty, offset)
    }

    fn float_compare(&mut self, cond: FCond, offset: u32) -> Result<()> {
        let b = self.pop()?;
        let a = self.pop()?;
        self.push1(Op::FCompare(cond), vec![a, b], Type::I32, offset)
    }

    /// A conversion to `to`; the operand's type is the source type.
    fn convert(&mut self, conversion: Conversion, to: Type, offset: u32) -> Result<()> {
        let a = self.pop()?;
        self.push1(Op::Convert(conversion), vec![a], to, offset)
    }

    /// Division and remainder with the explicit trap checks wasm requires before them.
    fn division(&mut self, op: BinaryOp, ty: Type, offset: u32) -> Result<()> {
        let divisor = self.pop()?;
        let dividend = self.pop()?;
        let is_zero = self.emit1(Op::Unary(UnaryOp::Eqz), vec![divisor], Type::I32, offset)?;
        self.emit(
            Op::TrapIf(TrapCode::IntegerDivideByZero),
            vec![is_zero],
            &[],
            offset,
        )?;
        if op == BinaryOp::DivS {
            // Only INT_MIN / -1 overflows; INT_MIN % -1 is 0 and must not trap.
            let min = match ty {
                Type::I32 => i32::MIN as i64,
                _ => i64::MIN,
            };
            let min = self.constant(min, ty, offset)?;
            let minus_one = self.constant(-1, ty, offset)?;
            let dividend_is_min = self.emit1(
                Op::Compare(Cond::Eq),
                vec![dividend, min],
                Type::I32,
                offset,
            )?;
            let divisor_is_minus_one = self.emit1(
                Op::Compare(Cond::Eq),
                vec![divisor, minus_one],
                Type::I32,
                offset,
            )?;
            let overflows = self.emit1(
                Op::Binary(BinaryOp::And),
                vec![dividend_is_min, divisor_is_minus_one],
                Type::I32,
                offset,
            )?;
            self.emit(
                Op::TrapIf(TrapCode::IntegerOverflow),
                vec![overflows],
                &[],
                offset,
            )?;
        }
        self.push1(Op::Binary(op), vec![dividend, divisor], ty, offset)
    }

    fn load(
        &mut self,
        memarg: wasmparser::MemArg,
        width: u8,
        signed: bool,
        ty: Type,
        offset: u32,
    ) -> Result<()> {
        let mem = self.memarg(memarg, width, signed, offset)?;
        let addr = self.pop()?;
        self.push1(Op::Load(mem), vec![addr], ty, offset)
    }

    fn store(&mut self, memarg: wasmparser::MemArg, width: u8, offset: u32) -> Result<()> {
        let mem = self.memarg(memarg, width, false, offset)?;
        let value = self.pop()?;
        let addr = self.pop()?;
        self.emit(Op::Store(mem), vec![addr, value], &[], offset)?;
        Ok(())
    }

    fn memarg(
        &self,
        memarg: wasmparser::MemArg,
        width: u8,
        signed: bool,
        offset: u32,
    ) -> Result<MemArg> {
        match memarg.target {
            wasmparser::MemArgTarget::Memory(0) => {}
            wasmparser::MemArgTarget::Memory(n) => {
                return Err(CompileError::unsupported(
                    format!("access to memory {n} (multiple memories)"),
                    offset as u64,
                ));
            }
            wasmparser::MemArgTarget::Array(_) => {
                return Err(CompileError::unsupported(
                    "memory access to a GC array",
                    offset as u64,
                ));
            }
        }
        // The alignment hint only promises; an unaligned access must still work, so it is ignored.
        Ok(MemArg {
            width,
            signed,
            offset: memarg.offset,
        })
    }

    fn block_signature(&self, ty: BlockType, offset: u32) -> Result<(Vec<Type>, Vec<Type>)> {
        let unsupported = |t: wasmparser::ValType| {
            CompileError::unsupported(
                format!("block type with `{t}` values is not supported"),
                offset as u64,
            )
        };
        match ty {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(t) => Ok((Vec::new(), vec![convert_type(t).ok_or(unsupported(t))?])),
            BlockType::FuncType(index) => {
                let sig = self.env.signature_of_type(index, offset)?;
                Ok((sig.params, sig.results))
            }
        }
    }

    fn check_nesting(&self) -> Result<()> {
        if self.frames.len() + self.dead_depth > MAX_CONTROL_NESTING {
            return Err(CompileError::limit(format!(
                "control nesting deeper than {MAX_CONTROL_NESTING}"
            )));
        }
        Ok(())
    }

    fn frame_at(&self, depth: u32) -> Result<&Frame> {
        let index = self
            .frames
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| CompileError::internal(format!("branch depth {depth} out of range")))?;
        Ok(&self.frames[index])
    }

    /// End `from` with a branch to label `depth`, passing the top values of the stack.
    fn branch_from(&mut self, from: Block, depth: u32, offset: u32) -> Result<()> {
        let frame = self.frame_at(depth)?;
        let (label, arity) = (frame.label, frame.label_arity);
        let values = self.peek(arity)?;
        let term = match label {
            None => Terminator::Return { values },
            Some(target) => Terminator::Jump {
                target,
                args: values,
            },
        };
        self.ssa.terminate(from, term, offset)
    }

    fn set_unreachable(&mut self) {
        self.reachable = false;
        let base = self.frames.last().map_or(0, |f| f.stack_base);
        self.stack.truncate(base);
    }

    /// A new block whose only predecessor is the terminator about to end `current`.
    fn single_pred_block(&mut self) -> Result<Block> {
        self.ssa.new_block(&[])
    }

    fn operator(&mut self, op: Operator<'_>, offset: u32) -> Result<()> {
        if !self.reachable {
            return self.unreachable_operator(op, offset);
        }
        use BinaryOp as B;
        use FBinaryOp as FB;
        use FUnaryOp as FU;
        use Type::{F32, F64, I32, I64};
        use UnaryOp as U;
        match op {
            Operator::Unreachable => {
                self.ssa.terminate(
                    self.current,
                    Terminator::Trap {
                        code: TrapCode::Unreachable,
                    },
                    offset,
                )?;
                self.set_unreachable();
            }
            Operator::Nop => {}
            Operator::Block { blockty } => {
                let (params, results) = self.block_signature(blockty, offset)?;
                let end = self.ssa.new_block(&results)?;
                let stack_base = self
                    .stack
                    .len()
                    .checked_sub(params.len())
                    .ok_or_else(stack_underflow)?;
                self.frames.push(Frame {
                    kind: FrameKind::Block,
                    label_arity: results.len(),
                    result_types: results,
                    label: Some(end),
                    end,
                    else_block: None,
                    if_params: Vec::new(),
                    stack_base,
                });
                self.check_nesting()?;
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_signature(blockty, offset)?;
                let header = self.ssa.new_block(&params)?;
                let end = self.ssa.new_block(&results)?;
                let args = self.pop_n(params.len())?;
                self.ssa.terminate(
                    self.current,
                    Terminator::Jump {
                        target: header,
                        args,
                    },
                    offset,
                )?;
                let stack_base = self.stack.len();
                self.stack.extend(self.ssa.block_params(header)?);
                self.current = header;
                self.frames.push(Frame {
                    kind: FrameKind::Loop,
                    label_arity: params.len(),
                    result_types: results,
                    label: Some(header),
                    end,
                    else_block: None,
                    if_params: Vec::new(),
                    stack_base,
                });
                self.check_nesting()?;
            }
            Operator::If { blockty } => {
                let (params, results) = self.block_signature(blockty, offset)?;
                let cond = self.pop()?;
                let then_block = self.single_pred_block()?;
                let else_block = self.single_pred_block()?;
                let end = self.ssa.new_block(&results)?;
                self.ssa.terminate(
                    self.current,
                    Terminator::Branch {
                        cond,
                        then_block,
                        else_block,
                    },
                    offset,
                )?;
                self.ssa.seal(then_block)?;
                self.ssa.seal(else_block)?;
                let if_params = self.peek(params.len())?;
                self.current = then_block;
                self.frames.push(Frame {
                    kind: FrameKind::If,
                    label_arity: results.len(),
                    result_types: results,
                    label: Some(end),
                    end,
                    else_block: Some(else_block),
                    stack_base: self.stack.len() - params.len(),
                    if_params,
                });
                self.check_nesting()?;
            }
            Operator::Else => self.else_operator(offset)?,
            Operator::End => self.end_operator(offset)?,
            Operator::Br { relative_depth } => {
                self.branch_from(self.current, relative_depth, offset)?;
                self.set_unreachable();
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop()?;
                let taken = self.single_pred_block()?;
                let fallthrough = self.single_pred_block()?;
                self.ssa.terminate(
                    self.current,
                    Terminator::Branch {
                        cond,
                        then_block: taken,
                        else_block: fallthrough,
                    },
                    offset,
                )?;
                self.ssa.seal(taken)?;
                self.ssa.seal(fallthrough)?;
                self.branch_from(taken, relative_depth, offset)?;
                self.current = fallthrough;
            }
            Operator::BrTable { targets } => {
                let index = self.pop()?;
                if targets.len() as usize > MAX_BR_TABLE_ENTRIES {
                    return Err(CompileError::limit(format!(
                        "br_table with more than {MAX_BR_TABLE_ENTRIES} entries"
                    )));
                }
                let mut edge_of_depth: BTreeMap<u32, Block> = BTreeMap::new();
                let mut table = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    let depth =
                        depth.map_err(|e| super::reader_error(e, crate::ErrorKind::Malformed))?;
                    table.push(self.edge_block(&mut edge_of_depth, depth)?);
                }
                let default = self.edge_block(&mut edge_of_depth, targets.default())?;
                self.ssa.terminate(
                    self.current,
                    Terminator::Switch {
                        index,
                        targets: table,
                        default,
                    },
                    offset,
                )?;
                for (depth, edge) in edge_of_depth {
                    self.ssa.seal(edge)?;
                    self.branch_from(edge, depth, offset)?;
                }
                self.set_unreachable();
            }
            Operator::Return => {
                let values = self.peek(self.results.len())?;
                self.ssa
                    .terminate(self.current, Terminator::Return { values }, offset)?;
                self.set_unreachable();
            }
            Operator::Call { function_index } => {
                let sig = self.env.function_signature(function_index)?;
                let args = self.pop_n(sig.params.len())?;
                let results = self.emit(Op::Call(function_index), args, &sig.results, offset)?;
                self.stack.extend(results);
            }
            Operator::Drop => {
                self.pop()?;
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let cond = self.pop()?;
                let if_false = self.pop()?;
                let if_true = self.pop()?;
                let ty = self.ty(if_true)?;
                self.push1(Op::Select, vec![cond, if_true, if_false], ty, offset)?;
            }
            Operator::LocalGet { local_index } => {
                let v = self.ssa.read_local(self.current, local_index)?;
                self.stack.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop()?;
                self.ssa.write_local(self.current, local_index, v)?;
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().ok_or_else(stack_underflow)?;
                self.ssa.write_local(self.current, local_index, v)?;
            }
            Operator::GlobalGet { global_index } => {
                let ty = self.env.global_type(global_index)?;
                self.push1(Op::GlobalGet(global_index), Vec::new(), ty, offset)?;
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop()?;
                self.emit(Op::GlobalSet(global_index), vec![v], &[], offset)?;
            }
            Operator::I32Load { memarg } => self.load(memarg, 4, false, I32, offset)?,
            Operator::I64Load { memarg } => self.load(memarg, 8, false, I64, offset)?,
            Operator::I32Load8S { memarg } => self.load(memarg, 1, true, I32, offset)?,
            Operator::I32Load8U { memarg } => self.load(memarg, 1, false, I32, offset)?,
            Operator::I32Load16S { memarg } => self.load(memarg, 2, true, I32, offset)?,
            Operator::I32Load16U { memarg } => self.load(memarg, 2, false, I32, offset)?,
            Operator::I64Load8S { memarg } => self.load(memarg, 1, true, I64, offset)?,
            Operator::I64Load8U { memarg } => self.load(memarg, 1, false, I64, offset)?,
            Operator::I64Load16S { memarg } => self.load(memarg, 2, true, I64, offset)?,
            Operator::I64Load16U { memarg } => self.load(memarg, 2, false, I64, offset)?,
            Operator::I64Load32S { memarg } => self.load(memarg, 4, true, I64, offset)?,
            Operator::I64Load32U { memarg } => self.load(memarg, 4, false, I64, offset)?,
            Operator::F32Load { memarg } => self.load(memarg, 4, false, F32, offset)?,
            Operator::F64Load { memarg } => self.load(memarg, 8, false, F64, offset)?,
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                self.store(memarg, 4, offset)?
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                self.store(memarg, 8, offset)?
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, 1, offset)?
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, 2, offset)?
            }
            Operator::I64Store32 { memarg } => self.store(memarg, 4, offset)?,
            Operator::MemorySize { mem: 0 } => {
                self.push1(Op::MemorySize, Vec::new(), I32, offset)?
            }
            Operator::MemoryGrow { mem: 0 } => {
                let delta = self.pop()?;
                self.push1(Op::MemoryGrow, vec![delta], I32, offset)?;
            }
            Operator::I32Const { value } => {
                self.push1(Op::Const(value as i64), Vec::new(), I32, offset)?
            }
            Operator::I64Const { value } => {
                self.push1(Op::Const(value), Vec::new(), I64, offset)?
            }
            Operator::F32Const { value } => {
                self.push1(Op::Const(value.bits() as i64), Vec::new(), F32, offset)?
            }
            Operator::F64Const { value } => {
                self.push1(Op::Const(value.bits() as i64), Vec::new(), F64, offset)?
            }

            Operator::F32Abs => self.float_unary(FU::Abs, F32, offset)?,
            Operator::F32Neg => self.float_unary(FU::Neg, F32, offset)?,
            Operator::F32Sqrt => self.float_unary(FU::Sqrt, F32, offset)?,
            Operator::F32Ceil => self.float_unary(FU::Ceil, F32, offset)?,
            Operator::F32Floor => self.float_unary(FU::Floor, F32, offset)?,
            Operator::F32Trunc => self.float_unary(FU::Trunc, F32, offset)?,
            Operator::F32Nearest => self.float_unary(FU::Nearest, F32, offset)?,
            Operator::F64Abs => self.float_unary(FU::Abs, F64, offset)?,
            Operator::F64Neg => self.float_unary(FU::Neg, F64, offset)?,
            Operator::F64Sqrt => self.float_unary(FU::Sqrt, F64, offset)?,
            Operator::F64Ceil => self.float_unary(FU::Ceil, F64, offset)?,
            Operator::F64Floor => self.float_unary(FU::Floor, F64, offset)?,
            Operator::F64Trunc => self.float_unary(FU::Trunc, F64, offset)?,
            Operator::F64Nearest => self.float_unary(FU::Nearest, F64, offset)?,
            Operator::F32Add => self.float_binary(FB::Add, F32, offset)?,
            Operator::F32Sub => self.float_binary(FB::Sub, F32, offset)?,
            Operator::F32Mul => self.float_binary(FB::Mul, F32, offset)?,
            Operator::F32Div => self.float_binary(FB::Div, F32, offset)?,
            Operator::F32Min => self.float_binary(FB::Min, F32, offset)?,
            Operator::F32Max => self.float_binary(FB::Max, F32, offset)?,
            Operator::F32Copysign => self.float_binary(FB::Copysign, F32, offset)?,
            Operator::F64Add => self.float_binary(FB::Add, F64, offset)?,
            Operator::F64Sub => self.float_binary(FB::Sub, F64, offset)?,
            Operator::F64Mul => self.float_binary(FB::Mul, F64, offset)?,
            Operator::F64Div => self.float_binary(FB::Div, F64, offset)?,
            Operator::F64Min => self.float_binary(FB::Min, F64, offset)?,
            Operator::F64Max => self.float_binary(FB::Max, F64, offset)?,
            Operator::F64Copysign => self.float_binary(FB::Copysign, F64, offset)?,
            Operator::F32Eq | Operator::F64Eq => self.float_compare(FCond::Eq, offset)?,
            Operator::F32Ne | Operator::F64Ne => self.float_compare(FCond::Ne, offset)?,
            Operator::F32Lt | Operator::F64Lt => self.float_compare(FCond::Lt, offset)?,
            Operator::F32Gt | Operator::F64Gt => self.float_compare(FCond::Gt, offset)?,
            Operator::F32Le | Operator::F64Le => self.float_compare(FCond::Le, offset)?,
            Operator::F32Ge | Operator::F64Ge => self.float_compare(FCond::Ge, offset)?,

            Operator::I32TruncF32S | Operator::I32TruncF64S => {
                self.convert(Conversion::TruncS, I32, offset)?
            }
            Operator::I32TruncF32U | Operator::I32TruncF64U => {
                self.convert(Conversion::TruncU, I32, offset)?
            }
            Operator::I64TruncF32S | Operator::I64TruncF64S => {
                self.convert(Conversion::TruncS, I64, offset)?
            }
            Operator::I64TruncF32U | Operator::I64TruncF64U => {
                self.convert(Conversion::TruncU, I64, offset)?
            }
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => {
                self.convert(Conversion::TruncSatS, I32, offset)?
            }
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => {
                self.convert(Conversion::TruncSatU, I32, offset)?
            }
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => {
                self.convert(Conversion::TruncSatS, I64, offset)?
            }
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => {
                self.convert(Conversion::TruncSatU, I64, offset)?
            }
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => {
                self.convert(Conversion::ConvertS, F32, offset)?
            }
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => {
                self.convert(Conversion::ConvertU, F32, offset)?
            }
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => {
                self.convert(Conversion::ConvertS, F64, offset)?
            }
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => {
                self.convert(Conversion::ConvertU, F64, offset)?
            }
            Operator::F32DemoteF64 => self.convert(Conversion::Demote, F32, offset)?,
            Operator::F64PromoteF32 => self.convert(Conversion::Promote, F64, offset)?,
            Operator::I32ReinterpretF32 => self.convert(Conversion::Reinterpret, I32, offset)?,
            Operator::I64ReinterpretF64 => self.convert(Conversion::Reinterpret, I64, offset)?,
            Operator::F32ReinterpretI32 => self.convert(Conversion::Reinterpret, F32, offset)?,
            Operator::F64ReinterpretI64 => self.convert(Conversion::Reinterpret, F64, offset)?,

            Operator::I32Eqz | Operator::I64Eqz => self.unary(U::Eqz, I32, offset)?,
            Operator::I32Eq | Operator::I64Eq => self.compare(Cond::Eq, offset)?,
            Operator::I32Ne | Operator::I64Ne => self.compare(Cond::Ne, offset)?,
            Operator::I32LtS | Operator::I64LtS => self.compare(Cond::LtS, offset)?,
            Operator::I32LtU | Operator::I64LtU => self.compare(Cond::LtU, offset)?,
            Operator::I32GtS | Operator::I64GtS => self.compare(Cond::GtS, offset)?,
            Operator::I32GtU | Operator::I64GtU => self.compare(Cond::GtU, offset)?,
            Operator::I32LeS | Operator::I64LeS => self.compare(Cond::LeS, offset)?,
            Operator::I32LeU | Operator::I64LeU => self.compare(Cond::LeU, offset)?,
            Operator::I32GeS | Operator::I64GeS => self.compare(Cond::GeS, offset)?,
            Operator::I32GeU | Operator::I64GeU => self.compare(Cond::GeU, offset)?,

            Operator::I32Clz => self.unary(U::Clz, I32, offset)?,
            Operator::I32Ctz => self.unary(U::Ctz, I32, offset)?,
            Operator::I32Popcnt => self.unary(U::Popcnt, I32, offset)?,
            Operator::I64Clz => self.unary(U::Clz, I64, offset)?,
            Operator::I64Ctz => self.unary(U::Ctz, I64, offset)?,
            Operator::I64Popcnt => self.unary(U::Popcnt, I64, offset)?,
            Operator::I32Extend8S => self.unary(U::Extend8S, I32, offset)?,
            Operator::I32Extend16S => self.unary(U::Extend16S, I32, offset)?,
            Operator::I64Extend8S => self.unary(U::Extend8S, I64, offset)?,
            Operator::I64Extend16S => self.unary(U::Extend16S, I64, offset)?,
            Operator::I64Extend32S => self.unary(U::Extend32S, I64, offset)?,
            Operator::I32WrapI64 => self.unary(U::Wrap, I32, offset)?,
            Operator::I64ExtendI32S => self.unary(U::ExtendI32S, I64, offset)?,
            Operator::I64ExtendI32U => self.unary(U::ExtendI32U, I64, offset)?,

            Operator::I32Add => self.binary(B::Add, I32, offset)?,
            Operator::I32Sub => self.binary(B::Sub, I32, offset)?,
            Operator::I32Mul => self.binary(B::Mul, I32, offset)?,
            Operator::I32And => self.binary(B::And, I32, offset)?,
            Operator::I32Or => self.binary(B::Or, I32, offset)?,
            Operator::I32Xor => self.binary(B::Xor, I32, offset)?,
            Operator::I32Shl => self.binary(B::Shl, I32, offset)?,
            Operator::I32ShrS => self.binary(B::ShrS, I32, offset)?,
            Operator::I32ShrU => self.binary(B::ShrU, I32, offset)?,
            Operator::I32Rotl => self.binary(B::Rotl, I32, offset)?,
            Operator::I32Rotr => self.binary(B::Rotr, I32, offset)?,
            Operator::I32DivS => self.division(B::DivS, I32, offset)?,
            Operator::I32DivU => self.division(B::DivU, I32, offset)?,
            Operator::I32RemS => self.division(B::RemS, I32, offset)?,
            Operator::I32RemU => self.division(B::RemU, I32, offset)?,
            Operator::I64Add => self.binary(B::Add, I64, offset)?,
            Operator::I64Sub => self.binary(B::Sub, I64, offset)?,
            Operator::I64Mul => self.binary(B::Mul, I64, offset)?,
            Operator::I64And => self.binary(B::And, I64, offset)?,
            Operator::I64Or => self.binary(B::Or, I64, offset)?,
            Operator::I64Xor => self.binary(B::Xor, I64, offset)?,
            Operator::I64Shl => self.binary(B::Shl, I64, offset)?,
            Operator::I64ShrS => self.binary(B::ShrS, I64, offset)?,
            Operator::I64ShrU => self.binary(B::ShrU, I64, offset)?,
            Operator::I64Rotl => self.binary(B::Rotl, I64, offset)?,
            Operator::I64Rotr => self.binary(B::Rotr, I64, offset)?,
            Operator::I64DivS => self.division(B::DivS, I64, offset)?,
            Operator::I64DivU => self.division(B::DivU, I64, offset)?,
            Operator::I64RemS => self.division(B::RemS, I64, offset)?,
            Operator::I64RemU => self.division(B::RemU, I64, offset)?,

            other => self.table_operator(other, offset)?,
        }
        Ok(())
    }

    /// The edge block for branch depth `depth` of a `br_table` (one per distinct depth).
    fn edge_block(&mut self, edges: &mut BTreeMap<u32, Block>, depth: u32) -> Result<Block> {
        if let Some(b) = edges.get(&depth) {
            return Ok(*b);
        }
        let b = self.single_pred_block()?;
        edges.insert(depth, b);
        Ok(b)
    }

    /// Dead code is skipped; only the structure is followed to find where it ends.
    fn unreachable_operator(&mut self, op: Operator<'_>, offset: u32) -> Result<()> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.dead_depth += 1;
                self.check_nesting()
            }
            Operator::Else if self.dead_depth == 0 => self.else_operator(offset),
            Operator::End if self.dead_depth == 0 => self.end_operator(offset),
            Operator::End => {
                self.dead_depth -= 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn else_operator(&mut self, offset: u32) -> Result<()> {
        let reachable = self.reachable;
        let current = self.current;
        let frame = self
            .frames
            .last()
            .ok_or_else(|| CompileError::internal("else without if"))?;
        let (Some(else_block), FrameKind::If) = (frame.else_block, frame.kind) else {
            return Err(CompileError::internal("else without if"));
        };
        let (end, arity, base) = (frame.end, frame.result_types.len(), frame.stack_base);
        let if_params = frame.if_params.clone();
        if reachable {
            let args = self.peek(arity)?;
            self.ssa
                .terminate(current, Terminator::Jump { target: end, args }, offset)?;
        }
        self.stack.truncate(base);
        self.stack.extend(if_params);
        self.current = else_block;
        self.reachable = true;
        if let Some(frame) = self.frames.last_mut() {
            frame.kind = FrameKind::Else;
            frame.else_block = None;
        }
        Ok(())
    }

    fn end_operator(&mut self, offset: u32) -> Result<()> {
        let frame = self
            .frames
            .pop()
            .ok_or_else(|| CompileError::internal("end without block"))?;
        if frame.kind == FrameKind::Function {
            if self.reachable {
                let values = self.pop_n(frame.result_types.len())?;
                self.ssa
                    .terminate(self.current, Terminator::Return { values }, offset)?;
            }
            self.reachable = false;
            return Ok(());
        }
        if self.reachable {
            let args = self.peek(frame.result_types.len())?;
            self.ssa.terminate(
                self.current,
                Terminator::Jump {
                    target: frame.end,
                    args,
                },
                offset,
            )?;
        }
        if let Some(else_block) = frame.else_block {
            // `if` without `else`: the implicit else arm passes the params on as results.
            self.ssa.terminate(
                else_block,
                Terminator::Jump {
                    target: frame.end,
                    args: frame.if_params.clone(),
                },
                offset,
            )?;
        }
        if frame.kind == FrameKind::Loop
            && let Some(header) = frame.label
        {
            self.ssa.seal(header)?;
        }
        self.ssa.seal(frame.end)?;
        self.stack.truncate(frame.stack_base);
        if self.ssa.pred_count(frame.end) > 0 {
            self.current = frame.end;
            self.stack.extend(self.ssa.block_params(frame.end)?);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        Ok(())
    }
}

/// Reject a function whose locals exceed the limit before the validator sees it, so the error is
/// `Limit` rather than the validator's own "too many locals".
pub fn check_local_limit(param_count: usize, body: &FunctionBody<'_>) -> Result<()> {
    let Ok(reader) = body.get_locals_reader() else {
        return Ok(());
    };
    let mut total = param_count as u64;
    for entry in reader {
        // A malformed locals header is the validator's to report.
        let Ok((count, _)) = entry else { break };
        total += count as u64;
        if total > MAX_LOCALS_PER_FUNCTION {
            return Err(
                CompileError::limit(format!("more than {MAX_LOCALS_PER_FUNCTION} locals"))
                    .at(body.range().start),
            );
        }
    }
    Ok(())
}

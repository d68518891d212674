//! Legalize: i64 -> i32 pairs, memory/global access made explicit, operators the target lacks
//! expanded, runtime helpers and `synth_init` added.
//!
//! Each body is rebuilt block by block (same block numbering) in reverse post-order, so every
//! value is rewritten before its uses; an old value maps to one new I32 value, or to two (low,
//! high) for an I64. The rewrites are branch-free; only the runtime helpers and `synth_init`,
//! built from scratch, have loops.

mod builder;
mod bulk;
mod bulk_runtime;
pub mod constant_checks;
mod int64;
mod memory;
mod path_ranges;
mod ranges;
mod runtime;
mod table;
mod table_runtime;
#[cfg(test)]
mod tests;
pub mod versioning;

use std::borrow::Cow;

use crate::error::{CompileError, Result};
use crate::ir::{
    BinaryOp, Block, Function, Inst, Module, Op, Terminator, TrapCode, Type, UnaryOp, Value,
};
use crate::isa::Caps;
use crate::options::Options;
use builder::FnBuilder;
use int64::Pair;
pub use runtime::INIT_NAME;
use runtime::RuntimeHelpers;

/// The bytes `module`'s memory has at least, whatever grows it: its declared minimum (0
/// without one). Memory never shrinks, so an access ending within it never traps.
pub fn memory_min_bytes(module: &Module) -> u64 {
    module
        .memory
        .as_ref()
        .map_or(0, |m| m.initial_pages as u64 * 65536)
}

pub fn run(module: &mut Module, caps: Caps, options: &Options) -> Result<()> {
    runtime::check_module(module)?;
    let mut helpers = RuntimeHelpers::new(module);
    let mut bodies = Vec::with_capacity(module.bodies.len());
    for body in &module.bodies {
        let legal = legalize_body(module, body, caps, options, &mut helpers)
            .map_err(|e| e.in_function(body.name.clone()))?;
        bodies.push(legal);
    }
    module.bodies = bodies;
    helpers.append_to(module, caps);
    runtime::add_synth_init(module, caps)
}

/// Checks passed by the end of a block: `BodyLegalizer::checked` and `covered`.
type Checked = (Vec<(Value, u64)>, Vec<(Value, u32, u64, Value)>);

/// Checks a block hands on to the blocks it dominates (each list).
const MAX_INHERITED_CHECKS: usize = 64;

fn latest<T: Clone>(checks: &[T]) -> Vec<T> {
    checks[checks.len().saturating_sub(MAX_INHERITED_CHECKS)..].to_vec()
}

/// Rewrites one frontend-form body.
struct BodyLegalizer<'a> {
    module: &'a Module,
    old: &'a Function,
    b: FnBuilder,
    options: &'a Options,
    helpers: &'a mut RuntimeHelpers,
    /// New values of each old value: one (I32) or two (I64 as low, high); empty = not yet.
    map: Vec<Vec<Value>>,
    /// `SymbolAddr(Memory)`, materialized once in the entry block for the whole function.
    memory_base: Option<Value>,
    /// The memory size word as loaded last; `None` once a call or `memory.grow` may have
    /// changed it (never, when `bytes_fixed`: then it is loaded once in the entry block).
    memory_bytes: Option<Value>,
    bytes_fixed: bool,
    /// Accesses already checked in the current block: new address value and the largest end.
    /// Memory never shrinks, so a passed check stays valid across calls and grows.
    checked: Vec<(Value, u64)>,
    /// Old addresses checked in the current block as `x + c` (`offset_form`), with the end
    /// checked and the old address: accesses near them may be covered (`covered`).
    covered: Vec<(Value, u32, u64, Value)>,
    /// `checked` and `covered` as each rewritten block ends: the checks a block's dominators
    /// passed hold in it too (memory never shrinks), so it starts from its immediate
    /// dominator's.
    checked_at_end: Vec<Option<Checked>>,
    /// `bytes - addr` of addresses in `checked` (no wrap: a check passed), by address and the
    /// size value it was computed from: a later, longer access to the address then traps when
    /// the room is short (one compare with an immediate).
    rooms: Vec<(Value, Value, Value)>,
    /// The constant of each old value defined by `Const`, for checks on constant addresses.
    old_consts: Vec<Option<i64>>,
    /// How each old i64 value extends its low word, for widening multiplies.
    old_extends: Vec<Option<Option<bool>>>,
    /// Old address sums and scaled indices, for address reassociation.
    old_addresses: memory::OldAddresses,
    /// The old block being rewritten, and the index of the instruction in it.
    old_block: Block,
    inst_index: usize,
    /// Ranges of old address values (with bounds checks only): an access whose address range
    /// ends within the memory's minimum size needs no check.
    ranges: Option<ranges::Ranges<'a>>,
    /// Ranges that hold where a block runs, made at the first check the others do not remove.
    path_ranges: Option<path_ranges::PathRanges<'a>>,
}

fn legalize_body(
    module: &Module,
    old: &Function,
    caps: Caps,
    options: &Options,
    helpers: &mut RuntimeHelpers,
) -> Result<Function> {
    let block_count = old.blocks.len() as u32;
    for block in &old.blocks {
        if let Some(bad) = block.term.successors().iter().find(|s| s.0 >= block_count) {
            return Err(CompileError::internal(format!(
                "jump to missing block {bad}"
            )));
        }
    }
    let old = cut_always_trapping_accesses(old);
    let mut l = BodyLegalizer {
        module,
        old: &old,
        b: FnBuilder::new(
            old.index,
            old.name.clone(),
            old.sig.clone(),
            old.offset,
            caps,
        ),
        options,
        helpers,
        map: vec![Vec::new(); old.value_types.len()],
        memory_base: None,
        memory_bytes: None,
        bytes_fixed: memory::bytes_fixed(module, &old),
        checked: Vec::new(),
        covered: Vec::new(),
        checked_at_end: vec![None; old.blocks.len()],
        rooms: Vec::new(),
        old_consts: old.constants(),
        old_extends: int64::old_extends(&old),
        old_addresses: memory::old_addresses(&old),
        old_block: Block(0),
        inst_index: 0,
        ranges: options.bounds_checks.then(|| ranges::Ranges::new(&old)),
        path_ranges: None,
    };
    // Block parameters first: a jump may reach a block before it is rewritten.
    for block in &old.blocks {
        let mut types = Vec::new();
        for p in &block.params {
            types.extend(word_types(l.type_of(*p)?));
        }
        let new_block = l.b.add_block_typed(&types);
        let mut fresh = l.b.params(new_block).into_iter();
        for p in &block.params {
            let n = words(l.type_of(*p)?);
            let vals: Vec<Value> = fresh.by_ref().take(n).collect();
            l.define(*p, vals)?;
        }
    }
    let mut reachable = vec![false; old.blocks.len()];
    for block in old.reverse_postorder() {
        reachable[block.0 as usize] = true;
        l.block(block)?;
    }
    // Unreachable blocks keep their (trapping) placeholder end: nothing to rewrite there.
    for (i, live) in reachable.iter().enumerate() {
        if !live {
            l.b.switch_to(Block(i as u32));
            l.b.offset = old.blocks[i].term_offset;
            l.b.terminate(Terminator::Trap {
                code: TrapCode::Unreachable,
            });
        }
    }
    Ok(l.b.func)
}

/// An access whose `offset + width` exceeds u32 always traps; end its block there with a `Trap`
/// so no raw access needs a 33-bit offset (the rest of the block is dead). The body is borrowed
/// as it is when there is none (almost always), not copied.
fn cut_always_trapping_accesses(func: &Function) -> Cow<'_, Function> {
    let always_traps = |inst: &Inst| match &inst.op {
        Op::Load(m) | Op::Store(m) => m.offset + m.width as u64 > u32::MAX as u64,
        _ => false,
    };
    if !func.blocks.iter().any(|b| b.insts.iter().any(always_traps)) {
        return Cow::Borrowed(func);
    }
    let mut func = func.clone();
    for block in &mut func.blocks {
        if let Some(i) = block.insts.iter().position(always_traps) {
            block.term_offset = block.insts[i].offset;
            block.term = Terminator::Trap {
                code: TrapCode::MemoryOutOfBounds,
            };
            block.insts.truncate(i);
        }
    }
    Cow::Owned(func)
}

/// The post-legalize values an old value of `ty` becomes: an i64 is two I32 words; a float
/// still here is computed in hardware and stays one value of its type.
fn word_types(ty: Type) -> &'static [Type] {
    match ty {
        Type::I32 => &[Type::I32],
        Type::I64 => &[Type::I32, Type::I32],
        Type::F32 => &[Type::F32],
        Type::F64 => &[Type::F64],
    }
}

fn words(ty: Type) -> usize {
    word_types(ty).len()
}

impl BodyLegalizer<'_> {
    pub fn error(&self, msg: impl Into<String>) -> CompileError {
        CompileError::internal(msg).at(self.b.offset as u64)
    }

    /// The type of an old value (a float one is computed in hardware: the float pass made the
    /// software ones integers).
    pub fn type_of(&self, v: Value) -> Result<Type> {
        self.old
            .value_types
            .get(v.0 as usize)
            .copied()
            .ok_or_else(|| self.error(format!("{v} has no type")))
    }

    fn define(&mut self, old: Value, new: Vec<Value>) -> Result<()> {
        let expected = words(self.type_of(old)?);
        if new.len() != expected {
            return Err(self.error(format!("{old} needs {expected} words, got {}", new.len())));
        }
        match self.map.get_mut(old.0 as usize) {
            Some(slot) if slot.is_empty() => {
                *slot = new;
                Ok(())
            }
            _ => Err(self.error(format!("{old} defined twice"))),
        }
    }

    pub fn define32(&mut self, old: Value, new: Value) -> Result<()> {
        self.define(old, vec![new])
    }

    pub fn define64(&mut self, old: Value, new: Pair) -> Result<()> {
        self.define(old, vec![new.0, new.1])
    }

    fn words_of(&self, v: Value) -> Result<&[Value]> {
        match self.map.get(v.0 as usize) {
            Some(w) if !w.is_empty() => Ok(w),
            _ => Err(self.error(format!("{v} used before it is defined"))),
        }
    }

    pub fn get32(&self, v: Value) -> Result<Value> {
        match self.words_of(v)? {
            [x] => Ok(*x),
            _ => Err(self.error(format!("{v} is not an i32"))),
        }
    }

    pub fn get64(&self, v: Value) -> Result<Pair> {
        match self.words_of(v)? {
            [lo, hi] => Ok((*lo, *hi)),
            _ => Err(self.error(format!("{v} is not an i64"))),
        }
    }

    /// All words of `values`, in order (i64s as low, high).
    fn flatten(&self, values: &[Value]) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for v in values {
            out.extend_from_slice(self.words_of(*v)?);
        }
        Ok(out)
    }

    fn block(&mut self, block: Block) -> Result<()> {
        let old = self.old;
        let data = &old.blocks[block.0 as usize];
        self.b.switch_to(block);
        self.old_block = block;
        let inherited = (self.old_addresses.dom)
            .idom(block.0 as usize)
            .filter(|&d| d != block.0 as usize)
            .and_then(|d| self.checked_at_end[d].clone())
            .unwrap_or_default();
        (self.checked, self.covered) = inherited;
        self.rooms.clear();
        if block.0 == 0 {
            self.hoist_memory_values()?;
        } else if !self.bytes_fixed {
            self.memory_bytes = None;
        }
        for (index, inst) in data.insts.iter().enumerate() {
            self.inst_index = index;
            self.b.offset = inst.offset;
            self.inst(inst)?;
            if memory::may_grow(&inst.op) && !self.bytes_fixed {
                self.memory_bytes = None;
            }
        }
        self.b.offset = data.term_offset;
        let term = match &data.term {
            Terminator::Jump { target, args } => Terminator::Jump {
                target: *target,
                args: self.flatten(args)?,
            },
            Terminator::Branch {
                cond,
                then_block,
                else_block,
            } => Terminator::Branch {
                cond: self.get32(*cond)?,
                then_block: *then_block,
                else_block: *else_block,
            },
            Terminator::Switch {
                index,
                targets,
                default,
            } => Terminator::Switch {
                index: self.get32(*index)?,
                targets: targets.clone(),
                default: *default,
            },
            Terminator::Return { values } => Terminator::Return {
                values: self.flatten(values)?,
            },
            Terminator::Trap { code } => Terminator::Trap { code: *code },
        };
        self.b.terminate(term);
        // The latest checks only, so a long chain of dominators costs bounded scans.
        self.checked_at_end[block.0 as usize] =
            Some((latest(&self.checked), latest(&self.covered)));
        Ok(())
    }

    fn result(&self, inst: &Inst, i: usize) -> Result<Value> {
        inst.results
            .get(i)
            .copied()
            .ok_or_else(|| self.error(format!("{:?} lacks result {i}", inst.op)))
    }

    fn arg(&self, inst: &Inst, i: usize) -> Result<Value> {
        inst.args
            .get(i)
            .copied()
            .ok_or_else(|| self.error(format!("{:?} lacks argument {i}", inst.op)))
    }

    fn inst(&mut self, inst: &Inst) -> Result<()> {
        match &inst.op {
            Op::Const(k) => {
                let r = self.result(inst, 0)?;
                match self.type_of(r)? {
                    ty @ (Type::F32 | Type::F64) => {
                        let v = self.b.typed(Op::Const(*k), vec![], ty);
                        self.define32(r, v)
                    }
                    Type::I32 => {
                        let v = self.b.konst(*k as u32);
                        self.define32(r, v)
                    }
                    Type::I64 => {
                        let v = self.b.konst64(*k as u64);
                        self.define64(r, v)
                    }
                }
            }
            // The copy's result simply names the same words.
            Op::Copy => {
                let r = self.result(inst, 0)?;
                let words = self.words_of(self.arg(inst, 0)?)?.to_vec();
                self.define(r, words)
            }
            Op::Unary(op) => self.unary(inst, *op),
            Op::Binary(op) => self.binary(inst, *op),
            Op::Compare(cond) => {
                let (a, b) = (self.arg(inst, 0)?, self.arg(inst, 1)?);
                let r = self.result(inst, 0)?;
                let v = match self.type_of(a)? {
                    Type::I32 | Type::F32 => {
                        let (a, b) = (self.get32(a)?, self.get32(b)?);
                        self.b.cmp(*cond, a, b)
                    }
                    Type::I64 | Type::F64 => {
                        let (a, b) = (self.get64(a)?, self.get64(b)?);
                        self.b.compare64(*cond, a, b)
                    }
                };
                self.define32(r, v)
            }
            Op::Select => {
                let c = self.get32(self.arg(inst, 0)?)?;
                let (a, b) = (self.arg(inst, 1)?, self.arg(inst, 2)?);
                let r = self.result(inst, 0)?;
                match self.type_of(r)? {
                    ty @ (Type::F32 | Type::F64) => {
                        let (a, b) = (self.get32(a)?, self.get32(b)?);
                        let v = self.b.typed(Op::Select, vec![c, a, b], ty);
                        self.define32(r, v)
                    }
                    Type::I32 => {
                        let (a, b) = (self.get32(a)?, self.get32(b)?);
                        let v = self.b.select(c, a, b);
                        self.define32(r, v)
                    }
                    Type::I64 => {
                        let (a, b) = (self.get64(a)?, self.get64(b)?);
                        let lo = self.b.select(c, a.0, b.0);
                        let hi = self.b.select(c, a.1, b.1);
                        self.define64(r, (lo, hi))
                    }
                }
            }
            Op::Load(m) => self.load(inst, m),
            Op::Store(m) => self.store(inst, m),
            Op::MemorySize => self.memory_size(inst),
            Op::MemoryGrow => self.memory_grow(inst),
            Op::GlobalGet(n) => self.global_get(inst, *n),
            Op::GlobalSet(n) => self.global_set(inst, *n),
            Op::Call(n) => {
                let args = self.flatten(&inst.args)?;
                let mut types = Vec::new();
                for r in &inst.results {
                    types.extend(word_types(self.type_of(*r)?));
                }
                let mut words = self.b.inst_typed(Op::Call(*n), args, &types).into_iter();
                for r in &inst.results {
                    let n = self::words(self.type_of(*r)?);
                    self.define(*r, words.by_ref().take(n).collect())?;
                }
                Ok(())
            }
            // Computed in hardware: same operation on the new values (an i64 side of a
            // reinterpretation is its pair of words).
            Op::FUnary(_) | Op::FBinary(_) | Op::FCompare(_) | Op::Convert(_) => {
                let args = self.flatten(&inst.args)?;
                let mut types = Vec::new();
                for r in &inst.results {
                    types.extend(word_types(self.type_of(*r)?));
                }
                let new = self.b.inst_typed(inst.op.clone(), args, &types);
                let r = self.result(inst, 0)?;
                self.define(r, new)
            }
            Op::Table(op) => self.table_op(inst, *op),
            Op::Bulk(op) => self.bulk_op(inst, *op),
            Op::CallIndirect(call) => self.call_indirect(inst, call),
            Op::CallPtr(_) => Err(self.error("CallPtr before legalize")),
            Op::TrapIf(code) => {
                let c = self.get32(self.arg(inst, 0)?)?;
                self.b.effect(Op::TrapIf(*code), vec![c]);
                Ok(())
            }
            // Already in post-legalize form (only I32 words): keep as is.
            Op::BoundsCheck { .. }
            | Op::SymbolAddr { .. }
            | Op::LoadSymbol { .. }
            | Op::StoreSymbol { .. }
            | Op::AddPair
            | Op::SubPair
            | Op::MulWideU
            | Op::MulWideS
            | Op::ShiftPair(_) => {
                let args = inst
                    .args
                    .iter()
                    .map(|a| self.get32(*a))
                    .collect::<Result<Vec<_>>>()?;
                let new = self.b.inst(inst.op.clone(), args, inst.results.len());
                for (r, v) in inst.results.iter().zip(new) {
                    self.define32(*r, v)?;
                }
                Ok(())
            }
        }
    }

    fn unary(&mut self, inst: &Inst, op: UnaryOp) -> Result<()> {
        let a = self.arg(inst, 0)?;
        let r = self.result(inst, 0)?;
        match (op, self.type_of(a)?) {
            (UnaryOp::Wrap, _) => {
                let (lo, _) = self.get64(a)?;
                self.define32(r, lo)
            }
            (UnaryOp::ExtendI32S, _) => {
                let x = self.get32(a)?;
                let v = self.b.sign_extend(x);
                self.define64(r, v)
            }
            (UnaryOp::ExtendI32U, _) => {
                let x = self.get32(a)?;
                let zero = self.b.konst(0);
                self.define64(r, (x, zero))
            }
            (UnaryOp::Eqz, Type::I64 | Type::F64) => {
                let x = self.get64(a)?;
                let v = self.b.eqz64(x);
                self.define32(r, v)
            }
            (_, Type::I64 | Type::F64) => {
                let x = self.get64(a)?;
                let v = self.b.unary64(op, x)?;
                self.define64(r, v)
            }
            (_, Type::I32 | Type::F32) => {
                let x = self.get32(a)?;
                let v = match op {
                    UnaryOp::Clz => self.b.clz32(x),
                    UnaryOp::Ctz => self.b.ctz32(x),
                    UnaryOp::Popcnt => self.b.popcnt32(x),
                    UnaryOp::Eqz | UnaryOp::Extend8S | UnaryOp::Extend16S => self.b.un(op, x),
                    _ => return Err(self.error(format!("{op:?} on an i32"))),
                };
                self.define32(r, v)
            }
        }
    }

    fn binary(&mut self, inst: &Inst, op: BinaryOp) -> Result<()> {
        let (a, b) = (self.arg(inst, 0)?, self.arg(inst, 1)?);
        let r = self.result(inst, 0)?;
        match self.type_of(r)? {
            Type::I32 | Type::F32 => {
                let (a, b) = (self.get32(a)?, self.get32(b)?);
                let v = match op {
                    BinaryOp::Rotl | BinaryOp::Rotr => self.b.rotate32(op, a, b),
                    _ => self.b.bin(op, a, b),
                };
                self.define32(r, v)
            }
            Type::I64
                if op == BinaryOp::Mul
                    && let Some(v) = self.widening_mul(a, b)? =>
            {
                self.define64(r, v)
            }
            Type::I64 | Type::F64 => {
                let (a, b) = (self.get64(a)?, self.get64(b)?);
                let v = match op {
                    BinaryOp::DivS | BinaryOp::DivU | BinaryOp::RemS | BinaryOp::RemU => {
                        let helper = self.helpers.index_of(op);
                        self.b.two(Op::Call(helper), vec![a.0, a.1, b.0, b.1])
                    }
                    _ => self.b.binary64(op, a, b)?,
                };
                self.define64(r, v)
            }
        }
    }
}

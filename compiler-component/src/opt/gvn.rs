//! Global value numbering: a pure instruction that computes what an instruction dominating it
//! already computed (same operator, same operands, same type) becomes a `Copy` of that earlier
//! result, which copy propagation and DCE then remove. Walks the dominator tree with a scoped
//! table, so only dominating definitions are reused. An i32 add of a constant too large for
//! one instruction (a C global's address plus an index, say) is rebuilt from a dominating add
//! of the same operand and a nearby constant: `y = x + 66000; z = x + 66004` becomes
//! `z = y + 4`.
//!
//! Compares are left alone: the back ends fuse a compare into its single consumer (a branch,
//! select or trap check), and sharing one would make it a 0/1 value in a register instead.

use crate::fast_hash::FastMap;
use crate::ir::dom::Dominators;
use crate::ir::{
    BinaryOp, Conversion, FBinaryOp, FUnaryOp, Function, Inst, Op, Symbol, Type, UnaryOp, Value,
};

/// The operators whose result depends only on their operands and that never trap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum PureOp {
    Const(i64),
    Unary(UnaryOp),
    Binary(BinaryOp),
    FUnary(FUnaryOp),
    FBinary(FBinaryOp),
    Convert(Conversion),
    Select,
    SymbolAddr(Symbol, u32),
}

impl PureOp {
    pub(super) fn of(op: &Op) -> Option<PureOp> {
        Some(match op {
            Op::Const(k) => PureOp::Const(*k),
            Op::Unary(u) => PureOp::Unary(*u),
            Op::Binary(b) => PureOp::Binary(*b),
            Op::FUnary(u) => PureOp::FUnary(*u),
            Op::FBinary(b) => PureOp::FBinary(*b),
            Op::Convert(c) if !matches!(c, Conversion::TruncS | Conversion::TruncU) => {
                PureOp::Convert(*c)
            }
            Op::Select => PureOp::Select,
            Op::SymbolAddr { symbol, offset } => PureOp::SymbolAddr(*symbol, *offset),
            _ => return None,
        })
    }
}

/// Operands inline (pure operators take at most three): keys are built for every pure
/// instruction, so they must not allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    op: PureOp,
    args: [Option<KeyArg>; 3],
    ty: Type,
}

/// An operand as a key sees it. Beside the memory's size, a small constant counts by its
/// value, since each block builds its own: the limit `bytes - 4` of a bounds check in one
/// block and in a block it dominates are one value, though their constants 4 are two, and
/// LICM can then take it out of a loop. Elsewhere sharing such cheap results across blocks
/// costs more in registers than it saves.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyArg {
    Value(Value),
    Small(i64),
}

/// Constants one instruction builds (or an immediate operand holds) are shared only within a
/// block: one value for every zero of a function would be live across all of it, costing
/// moves and registers where rebuilding each costs an instruction at most.
pub(super) const SMALL_CONSTANT: i64 = 4096;

pub(super) fn is_small_constant(k: i64) -> bool {
    (-SMALL_CONSTANT..SMALL_CONSTANT).contains(&k)
}

fn key(func: &Function, inst: &Inst, numbering: &Numbering) -> Option<Key> {
    let op = PureOp::of(&inst.op)?;
    let [result] = inst.results.as_slice() else {
        return None;
    };
    let mut args = [None; 3];
    if inst.args.len() > args.len() {
        return None;
    }
    let flag = |set: &[bool], v: &Value| set.get(v.0 as usize).copied().unwrap_or(false);
    let by_value = inst.args.iter().any(|a| flag(&numbering.memory_size, a));
    for (slot, a) in args.iter_mut().zip(&inst.args) {
        *slot = Some(
            match numbering.consts.get(a.0 as usize).copied().flatten() {
                Some(k) if by_value && is_small_constant(k) => KeyArg::Small(k),
                _ => KeyArg::Value(*a),
            },
        );
    }
    if let PureOp::Binary(
        BinaryOp::Add | BinaryOp::Mul | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor,
    ) = op
    {
        args[..2].sort();
    }
    Some(Key {
        op,
        args,
        ty: func.value_type(*result),
    })
}

/// A constant add whose constant needs more than one instruction is rebuilt from a dominating
/// add of the same operand when the two constants differ by less than this (an immediate on
/// both ISAs: Thumb-2 `addw`/`subw`, RV32 `addi`).
const NEAR: i64 = 2048;

/// What the walk knows at the current block: values by key, and `x + c` adds by `x`.
#[derive(Default)]
struct Scope {
    table: FastMap<Key, Value>,
    /// Keys added per open block of the walk, removed when its subtree is done.
    added: Vec<Key>,
    /// I32 adds of a constant by their other operand: (constant, result).
    adds: FastMap<Value, Vec<(i64, Value)>>,
    /// Operands whose `adds` list grew, in order, to undo the same way.
    added_adds: Vec<Value>,
}

/// What keys are built from: each value's constant, and whether it is the memory's size.
/// A result keyed by a small constant's value is shared only within its innermost loop
/// or block (`loop_of`, by block; `def_loop`, by value): taken from outside, it would hold a register
/// through the whole loop, and outside loops it would hold one through straight-line code
/// that runs once, either costing more than the instruction it saves.
struct Numbering {
    consts: Vec<Option<i64>>,
    memory_size: Vec<bool>,
    loop_of: Vec<usize>,
    /// (innermost loop, block) of each result keyed by a small constant's value.
    def_loop: FastMap<Value, (usize, usize)>,
}

/// GVN does not change the blocks or their edges, so `dom` stays valid for the caller.
/// Returns whether an instruction changed.
pub fn run(func: &mut Function, dom: &Dominators) -> bool {
    if func.blocks.len() <= 1 && func.blocks.first().is_none_or(|b| b.insts.len() < 2) {
        return false;
    }
    let children = dom.children();
    let mut memory_size = vec![false; func.value_types.len()];
    for inst in func.blocks.iter().flat_map(|b| &b.insts) {
        if let (
            Op::LoadSymbol {
                symbol: Symbol::MemoryBytes,
                ..
            },
            [r],
        ) = (&inst.op, inst.results.as_slice())
            && let Some(slot) = memory_size.get_mut(r.0 as usize)
        {
            *slot = true;
        }
    }
    // Innermost loop header by block (`usize::MAX`: in no loop); loops come inner first.
    let mut loop_of = vec![usize::MAX; func.blocks.len()];
    if memory_size.contains(&true) {
        for lp in dom.loops(func) {
            for (b, slot) in loop_of.iter_mut().enumerate() {
                if *slot == usize::MAX && lp.in_body[b] {
                    *slot = lp.header;
                }
            }
        }
    }
    let mut numbering = Numbering {
        consts: func.constants(),
        memory_size,
        loop_of,
        def_loop: FastMap::default(),
    };
    let mut rename: Vec<Option<Value>> = vec![None; func.value_types.len()];
    let mut scope = Scope::default();
    // (block, scope marks before it, next child to visit)
    let mut stack: Vec<(usize, (usize, usize), usize)> = Vec::new();
    let mut changed = false;
    if dom.is_reachable(0) {
        changed |= visit(func, 0, &mut rename, &mut numbering, &mut scope);
        stack.push((0, (0, 0), 0));
    }
    while let Some(top) = stack.last_mut() {
        let (block, (mark, adds_mark), next) = *top;
        if let Some(&child) = children[block].get(next) {
            top.2 += 1;
            let marks = (scope.added.len(), scope.added_adds.len());
            changed |= visit(func, child, &mut rename, &mut numbering, &mut scope);
            stack.push((child, marks, 0));
        } else {
            stack.pop();
            for key in scope.added.drain(mark..) {
                scope.table.remove(&key);
            }
            for x in scope.added_adds.drain(adds_mark..) {
                if let Some(list) = scope.adds.get_mut(&x) {
                    list.pop();
                }
            }
        }
    }
    changed
}

/// Number the block's instructions: operands renamed, repeats turned into copies, far
/// constant adds rebuilt from a near one. Returns whether an instruction changed.
fn visit(
    func: &mut Function,
    block: usize,
    rename: &mut [Option<Value>],
    numbering: &mut Numbering,
    scope: &mut Scope,
) -> bool {
    // Rewritten in place; the rare constants a rebuilt add needs are inserted afterwards
    // (index of the add, constant), so an unchanged block is not copied.
    let mut insts = std::mem::take(&mut func.blocks[block].insts);
    let mut inserted: Vec<(usize, Inst)> = Vec::new();
    let mut changed = false;
    for (index, inst) in insts.iter_mut().enumerate() {
        for a in &mut inst.args {
            if let Some(Some(to)) = rename.get(a.0 as usize) {
                *a = *to;
                changed = true;
            }
        }
        let Some(key) = key(func, inst, numbering) else {
            continue;
        };
        let result = inst.results[0];
        let here = numbering.loop_of.get(block).copied().unwrap_or(usize::MAX);
        let small = key.args.iter().any(|a| matches!(a, Some(KeyArg::Small(_))));
        if small
            && let Some(&earlier) = scope.table.get(&key)
            && numbering
                .def_loop
                .get(&earlier)
                .is_none_or(|&(lp, b)| b != block && (here == usize::MAX || lp != here))
        {
            // From outside this loop: this one is computed here, and shared from here on.
            numbering.def_loop.insert(result, (here, block));
            scope.table.insert(key, result);
            scope.added.push(key);
            continue;
        }
        if small {
            numbering.def_loop.insert(result, (here, block));
        }
        if let Some(&earlier) = scope.table.get(&key) {
            if let Some(slot) = rename.get_mut(result.0 as usize) {
                *slot = Some(earlier);
            }
            inst.op = Op::Copy;
            inst.args.clear();
            inst.args.push(earlier);
            changed = true;
            continue;
        }
        if let (PureOp::Binary(BinaryOp::Add), Type::I32, &[a, b]) =
            (key.op, key.ty, inst.args.as_slice())
        {
            let consts = &mut numbering.consts;
            let constant = |v: Value| consts.get(v.0 as usize).copied().flatten();
            if let Some((x, c)) = match (constant(a), constant(b)) {
                (None, Some(c)) => Some((a, c as i32 as i64)),
                (Some(c), None) => Some((b, c as i32 as i64)),
                _ => None,
            } {
                let near = scope.adds.get(&x).and_then(|list| {
                    list.iter()
                        .rev()
                        .find(|(c0, _)| (c - c0).abs() < NEAR)
                        .copied()
                });
                match near {
                    Some((c0, y)) if !(-NEAR..NEAR).contains(&c) => {
                        let delta = func.new_value(Type::I32);
                        consts.push(None);
                        if let Some(slot) = consts.get_mut(delta.0 as usize) {
                            *slot = Some(c - c0);
                        }
                        inserted.push((
                            index,
                            Inst {
                                op: Op::Const(c - c0),
                                args: Vec::new(),
                                results: vec![delta],
                                offset: inst.offset,
                            },
                        ));
                        inst.args = vec![y, delta];
                        changed = true;
                    }
                    _ => {
                        scope.adds.entry(x).or_default().push((c, result));
                        scope.added_adds.push(x);
                    }
                }
            }
        }
        scope.table.insert(key, result);
        scope.added.push(key);
    }
    // Small constants are shared within the block only. (An inserted constant never is in
    // the table: it needs no look here.)
    for inst in &insts {
        if let Op::Const(k) = inst.op
            && is_small_constant(k)
            && let Some(key) = key(func, inst, numbering)
            && scope.table.get(&key) == inst.results.first()
        {
            scope.table.remove(&key);
        }
    }
    if !inserted.is_empty() {
        let mut out = Vec::with_capacity(insts.len() + inserted.len());
        let mut pending = inserted.into_iter().peekable();
        for (index, inst) in insts.into_iter().enumerate() {
            while let Some((_, constant)) = pending.next_if(|(at, _)| *at == index) {
                out.push(constant);
            }
            out.push(inst);
        }
        insts = out;
    }
    func.blocks[block].insts = insts;
    changed
}

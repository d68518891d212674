//! Bounds checks that became checks of constant addresses: legalize checks an access unless
//! its address is known in range then, but unrolling a loop later (`opt::unroll`) turns a
//! counter into constants in each copy, and folding turns the addresses it indexes into
//! constants too. Memory never shrinks below its declared minimum, so a check of a constant
//! address whose access ends within it never traps and goes; its compare and the size word
//! it read go with it when nothing else reads them (DCE).
//!
//! The three forms legalize emits (`memory.rs`, `bounds_check`) are recognized: `addr >u
//! bytes - end`, `bytes - addr <u end`, and `BoundsCheck { end }` of `addr` and `bytes`, with
//! `bytes` the size word.

use crate::ir::{BinaryOp, Cond, Function, Op, Symbol, TrapCode, Value};

/// Drops the checks of constant addresses within `module`'s minimum memory from `func`;
/// returns whether any went.
pub fn run(module_memory_min_bytes: u64, func: &mut Function) -> bool {
    let min_bytes = module_memory_min_bytes;
    let consts = func.constants();
    let konst = |v: Value| consts.get(v.0 as usize).copied().flatten();
    let mut defs: Vec<Option<(&Op, &[Value])>> = vec![None; func.value_types.len()];
    for inst in func.blocks.iter().flat_map(|b| &b.insts) {
        if let [r] = inst.results.as_slice() {
            defs[r.0 as usize] = Some((&inst.op, &inst.args));
        }
    }
    let def = |v: Value| defs.get(v.0 as usize).copied().flatten();
    let is_bytes = |v: Value| {
        matches!(
            def(v),
            Some((
                Op::LoadSymbol {
                    symbol: Symbol::MemoryBytes,
                    offset: 0
                },
                _
            ))
        )
    };
    // `bytes - end` (or `bytes + -end`): the end.
    let bytes_less = |v: Value| match def(v)? {
        (Op::Binary(BinaryOp::Sub), args) if is_bytes(args[0]) => Some(konst(args[1])? as u32),
        (Op::Binary(BinaryOp::Add), args) if is_bytes(args[0]) => {
            Some((konst(args[1])? as u32).wrapping_neg())
        }
        _ => None,
    };
    // Does the access of `end` bytes at constant `addr` end within the minimum?
    let within = |addr: Value, end: u32| {
        konst(addr).is_some_and(|a| u64::from(a as u32) + u64::from(end) <= min_bytes)
    };
    // Is `c` a condition that never holds: `addr >u bytes - end` or `bytes - addr <u end`?
    let never = |c: Value| match def(c) {
        Some((Op::Compare(Cond::GtU), args)) => {
            bytes_less(args[1]).is_some_and(|end| within(args[0], end))
        }
        Some((Op::Compare(Cond::LtU), args)) => match def(args[0]) {
            Some((Op::Binary(BinaryOp::Sub), room)) if is_bytes(room[0]) => {
                konst(args[1]).is_some_and(|end| within(room[1], end as u32))
            }
            _ => bytes_less(args[0]).is_some_and(|end| within(args[1], end)),
        },
        _ => false,
    };
    // Found first (the definitions borrow the function), then removed.
    let mut proven: Vec<(usize, usize)> = Vec::new();
    for (b, block) in func.blocks.iter().enumerate() {
        for (i, inst) in block.insts.iter().enumerate() {
            let goes = match (&inst.op, inst.args.as_slice()) {
                (Op::TrapIf(TrapCode::MemoryOutOfBounds), [c]) => never(*c),
                (Op::BoundsCheck { end }, [addr, bytes]) => {
                    is_bytes(*bytes) && u32::try_from(*end).is_ok_and(|e| within(*addr, e))
                }
                _ => false,
            };
            if goes {
                proven.push((b, i));
            }
        }
    }
    for &(b, i) in proven.iter().rev() {
        func.blocks[b].insts.remove(i);
    }
    !proven.is_empty()
}

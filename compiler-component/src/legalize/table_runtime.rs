//! Runtime helpers for the table operators that loop: `table.grow`, `table.fill`,
//! `table.copy` and `table.init`. One helper per operation serves every table: it takes the
//! address of the table (its size word, then its entries) and of the element segment (its
//! length word, then its items), so a module gets each loop at most once.

use super::builder::FnBuilder;
use crate::ir::{
    BinaryOp, Cond, Function, MemArg, Op, Signature, Terminator, TrapCode, Type, Value,
};
use crate::isa::Caps;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableHelper {
    /// (table, init, delta, max) -> old size or -1.
    Grow,
    /// (table, index, value, count).
    Fill,
    /// (dst table, src table, dst index, src index, count); overlapping ranges like memmove.
    Copy,
    /// (table, segment, dst index, src offset, count).
    Init,
}

/// The word at `base + 4 + 4 * index` (word 0 is the size or length).
const ENTRY: MemArg = MemArg {
    width: 4,
    signed: false,
    offset: 4,
};
const WORD0: MemArg = MemArg {
    width: 4,
    signed: false,
    offset: 0,
};

fn load_entry(b: &mut FnBuilder, base: Value, index: Value) -> Value {
    let addr = b.bin_k(BinaryOp::Shl, index, 2);
    b.one(Op::Load(ENTRY), vec![base, addr])
}

fn store_entry(b: &mut FnBuilder, base: Value, index: Value, v: Value) {
    let addr = b.bin_k(BinaryOp::Shl, index, 2);
    b.effect(Op::Store(ENTRY), vec![base, addr, v]);
}

fn load_word0(b: &mut FnBuilder, base: Value) -> Value {
    let zero = b.konst(0);
    b.one(Op::Load(WORD0), vec![base, zero])
}

/// Trap `TableOutOfBounds` unless `start + count <= limit` (as unbounded integers).
fn check_range(b: &mut FnBuilder, start: Value, count: Value, limit: Value) {
    let too_many = b.cmp(Cond::GtU, count, limit);
    let room = b.bin(BinaryOp::Sub, limit, count);
    let too_far = b.cmp(Cond::GtU, start, room);
    let bad = b.bin(BinaryOp::Or, too_many, too_far);
    b.effect(Op::TrapIf(TrapCode::TableOutOfBounds), vec![bad]);
}

/// `for k in 0..count { body(k) }`; leaves the builder in the block after the loop.
fn counted_loop(b: &mut FnBuilder, count: Value, mut body: impl FnMut(&mut FnBuilder, Value)) {
    let start = b.add_block(0);
    let looped = b.add_block(1);
    let again = b.add_block(0);
    let after = b.add_block(0);
    let zero = b.konst(0);
    let empty = b.cmp(Cond::Eq, count, zero);
    b.terminate(Terminator::Branch {
        cond: empty,
        then_block: after,
        else_block: start,
    });
    b.switch_to(start);
    let zero = b.konst(0);
    b.jump(looped, vec![zero]);
    b.switch_to(looped);
    let k = b.params(looped)[0];
    body(b, k);
    let next = b.bin_k(BinaryOp::Add, k, 1);
    let more = b.cmp(Cond::LtU, next, count);
    b.terminate(Terminator::Branch {
        cond: more,
        then_block: again,
        else_block: after,
    });
    b.switch_to(again);
    b.jump(looped, vec![next]);
    b.switch_to(after);
}

impl TableHelper {
    pub fn name(self) -> &'static str {
        match self {
            TableHelper::Grow => "table_grow",
            TableHelper::Fill => "table_fill",
            TableHelper::Copy => "table_copy",
            TableHelper::Init => "table_init",
        }
    }

    pub fn signature(self) -> Signature {
        let (params, results) = match self {
            TableHelper::Grow => (4, 1),
            TableHelper::Fill => (4, 0),
            TableHelper::Copy | TableHelper::Init => (5, 0),
        };
        Signature {
            params: vec![Type::I32; params],
            results: vec![Type::I32; results],
        }
    }

    pub fn build(self, index: u32, caps: Caps) -> Function {
        let sig = self.signature();
        let mut b = FnBuilder::new(index, self.name().to_string(), sig.clone(), 0, caps);
        let entry = b.add_block(sig.params.len());
        b.switch_to(entry);
        let p = b.params(entry);
        match self {
            TableHelper::Grow => {
                let (table, init, delta, max) = (p[0], p[1], p[2], p[3]);
                let old = load_word0(&mut b, table);
                let room = b.bin(BinaryOp::Sub, max, old);
                let fits = b.cmp(Cond::LeU, delta, room);
                let grow = b.add_block(0);
                let fail = b.add_block(0);
                b.terminate(Terminator::Branch {
                    cond: fits,
                    then_block: grow,
                    else_block: fail,
                });
                b.switch_to(fail);
                let minus_one = b.konst(u32::MAX);
                b.terminate(Terminator::Return {
                    values: vec![minus_one],
                });
                b.switch_to(grow);
                counted_loop(&mut b, delta, |b, k| {
                    let i = b.bin(BinaryOp::Add, old, k);
                    store_entry(b, table, i, init);
                });
                let new = b.bin(BinaryOp::Add, old, delta);
                let zero = b.konst(0);
                b.effect(Op::Store(WORD0), vec![table, zero, new]);
                b.terminate(Terminator::Return { values: vec![old] });
            }
            TableHelper::Fill => {
                let (table, start, value, count) = (p[0], p[1], p[2], p[3]);
                let size = load_word0(&mut b, table);
                check_range(&mut b, start, count, size);
                counted_loop(&mut b, count, |b, k| {
                    let i = b.bin(BinaryOp::Add, start, k);
                    store_entry(b, table, i, value);
                });
                b.terminate(Terminator::Return { values: vec![] });
            }
            TableHelper::Copy => {
                let (dst, src, d, s, count) = (p[0], p[1], p[2], p[3], p[4]);
                let dst_size = load_word0(&mut b, dst);
                check_range(&mut b, d, count, dst_size);
                let src_size = load_word0(&mut b, src);
                check_range(&mut b, s, count, src_size);
                // Forward unless the destination starts inside the source range (memmove).
                let backward = b.cmp(Cond::GtU, d, s);
                let forward_block = b.add_block(0);
                let backward_block = b.add_block(0);
                b.terminate(Terminator::Branch {
                    cond: backward,
                    then_block: backward_block,
                    else_block: forward_block,
                });
                b.switch_to(forward_block);
                counted_loop(&mut b, count, |b, k| {
                    let from = b.bin(BinaryOp::Add, s, k);
                    let v = load_entry(b, src, from);
                    let to = b.bin(BinaryOp::Add, d, k);
                    store_entry(b, dst, to, v);
                });
                b.terminate(Terminator::Return { values: vec![] });
                b.switch_to(backward_block);
                let last = b.bin_k(BinaryOp::Sub, count, 1);
                counted_loop(&mut b, count, |b, k| {
                    let back = b.bin(BinaryOp::Sub, last, k);
                    let from = b.bin(BinaryOp::Add, s, back);
                    let v = load_entry(b, src, from);
                    let to = b.bin(BinaryOp::Add, d, back);
                    store_entry(b, dst, to, v);
                });
                b.terminate(Terminator::Return { values: vec![] });
            }
            TableHelper::Init => {
                let (table, segment, d, s, count) = (p[0], p[1], p[2], p[3], p[4]);
                let size = load_word0(&mut b, table);
                check_range(&mut b, d, count, size);
                let len = load_word0(&mut b, segment);
                check_range(&mut b, s, count, len);
                counted_loop(&mut b, count, |b, k| {
                    let from = b.bin(BinaryOp::Add, s, k);
                    let v = load_entry(b, segment, from);
                    let to = b.bin(BinaryOp::Add, d, k);
                    store_entry(b, table, to, v);
                });
                b.terminate(Terminator::Return { values: vec![] });
            }
        }
        b.func
    }
}

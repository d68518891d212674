//! Runtime helpers of the bulk memory operators: `memory_copy` (memmove) and `memory_fill`
//! (memset) on native addresses, built from IR once per object when used. The callers have
//! checked every range already (legalize/bulk.rs), so the helpers never trap.
//!
//! Both move whole words: below `SMALL` bytes a byte loop; otherwise bytes until the destination
//! is word-aligned, then eight words per iteration, then single words, then the remaining
//! bytes. A copy runs backward (from the end) when the destination starts inside the source
//! range, so overlapping ranges behave like memmove. When source and destination are
//! misaligned against each other, a target with `Caps::unaligned_words` (Cortex-M) loads the
//! source words unaligned; the others (RV32) load aligned source words and merge neighbours
//! with shifts, so no access is ever misaligned there.

use super::builder::FnBuilder;
use crate::ir::{BinaryOp, Cond, Function, MemArg, Op, Signature, Terminator, Type, Value};
use crate::isa::Caps;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BulkHelper {
    /// (dst, src, len): memmove.
    Copy,
    /// (dst, value, len): memset with the value's low byte.
    Fill,
}

/// Shorter copies and fills are a plain byte loop.
const SMALL: u32 = 16;
/// Words per iteration of the main loop.
const UNROLL: u32 = 8;

fn word(offset: u32) -> MemArg {
    MemArg {
        width: 4,
        signed: false,
        offset: offset as u64,
    }
}

fn byte(offset: u32) -> MemArg {
    MemArg {
        width: 1,
        signed: false,
        offset: offset as u64,
    }
}

fn load(b: &mut FnBuilder, m: MemArg, ptr: Value) -> Value {
    let zero = b.konst(0);
    b.one(Op::Load(m), vec![ptr, zero])
}

fn store(b: &mut FnBuilder, m: MemArg, ptr: Value, v: Value) {
    let zero = b.konst(0);
    b.effect(Op::Store(m), vec![ptr, zero, v]);
}

/// `while cond(state) { state = body(state) }`; the builder continues after the loop, and the
/// final state is returned.
fn while_loop(
    b: &mut FnBuilder,
    state: Vec<Value>,
    cond: impl FnOnce(&mut FnBuilder, &[Value]) -> Value,
    body: impl FnOnce(&mut FnBuilder, &[Value]) -> Vec<Value>,
) -> Vec<Value> {
    let header = b.add_block(state.len());
    let inside = b.add_block(0);
    let after = b.add_block(0);
    b.jump(header, state);
    b.switch_to(header);
    let p = b.params(header);
    let c = cond(b, &p);
    b.terminate(Terminator::Branch {
        cond: c,
        then_block: inside,
        else_block: after,
    });
    b.switch_to(inside);
    let next = body(b, &p);
    b.jump(header, next);
    b.switch_to(after);
    p
}

fn at_least(b: &mut FnBuilder, n: Value, k: u32) -> Value {
    let k = b.konst(k);
    b.cmp(Cond::GeU, n, k)
}

fn nonzero(b: &mut FnBuilder, v: Value) -> Value {
    let zero = b.konst(0);
    b.cmp(Cond::Ne, v, zero)
}

fn misaligned(b: &mut FnBuilder, p: Value) -> Value {
    b.bin_k(BinaryOp::And, p, 3)
}

/// Branch on `cond`; returns (then block, else block), the builder in neither.
fn split(b: &mut FnBuilder, cond: Value) -> (crate::ir::Block, crate::ir::Block) {
    let then_block = b.add_block(0);
    let else_block = b.add_block(0);
    b.terminate(Terminator::Branch {
        cond,
        then_block,
        else_block,
    });
    (then_block, else_block)
}

/// Copy forward from the low addresses; ends in a return.
fn copy_forward(b: &mut FnBuilder, d: Value, s: Value, n: Value) {
    let tail = b.add_block(3);
    let big = at_least(b, n, SMALL);
    let (big_block, small_block) = split(b, big);
    b.switch_to(small_block);
    b.jump(tail, vec![d, s, n]);

    b.switch_to(big_block);
    // Bytes until the destination is aligned (at most 3: n stays above 12).
    let st = while_loop(
        b,
        vec![d, s, n],
        |b, p| {
            let m = misaligned(b, p[0]);
            nonzero(b, m)
        },
        |b, p| copy_byte_forward(b, p),
    );
    let words = |b: &mut FnBuilder, st: Vec<Value>| -> Vec<Value> {
        let st = while_loop(
            b,
            st,
            |b, p| at_least(b, p[2], 4 * UNROLL),
            |b, p| {
                let (d, s, n) = (p[0], p[1], p[2]);
                let v: Vec<Value> = (0..UNROLL).map(|i| load(b, word(4 * i), s)).collect();
                for (i, v) in v.into_iter().enumerate() {
                    store(b, word(4 * i as u32), d, v);
                }
                advance(b, d, s, n, 4 * UNROLL)
            },
        );
        while_loop(
            b,
            st,
            |b, p| at_least(b, p[2], 4),
            |b, p| {
                let (d, s, n) = (p[0], p[1], p[2]);
                let v = load(b, word(0), s);
                store(b, word(0), d, v);
                advance(b, d, s, n, 4)
            },
        )
    };
    if b.caps.unaligned_words {
        let st = words(b, st);
        b.jump(tail, st);
    } else {
        let m = misaligned(b, st[1]);
        let odd = nonzero(b, m);
        let (merge_block, aligned_block) = split(b, odd);
        b.switch_to(aligned_block);
        let aligned = words(b, st.clone());
        b.jump(tail, aligned);
        b.switch_to(merge_block);
        let merged = merge_forward(b, st[0], st[1], st[2]);
        b.jump(tail, merged);
    }

    b.switch_to(tail);
    let p = b.params(tail);
    while_loop(
        b,
        p,
        |b, p| nonzero(b, p[2]),
        |b, p| copy_byte_forward(b, p),
    );
    b.terminate(Terminator::Return { values: vec![] });
}

fn advance(b: &mut FnBuilder, d: Value, s: Value, n: Value, k: u32) -> Vec<Value> {
    let d = b.bin_k(BinaryOp::Add, d, k);
    let s = b.bin_k(BinaryOp::Add, s, k);
    let n = b.bin_k(BinaryOp::Sub, n, k);
    vec![d, s, n]
}

fn retreat(b: &mut FnBuilder, d: Value, s: Value, n: Value, k: u32) -> Vec<Value> {
    let d = b.bin_k(BinaryOp::Sub, d, k);
    let s = b.bin_k(BinaryOp::Sub, s, k);
    let n = b.bin_k(BinaryOp::Sub, n, k);
    vec![d, s, n]
}

fn copy_byte_forward(b: &mut FnBuilder, p: &[Value]) -> Vec<Value> {
    let (d, s, n) = (p[0], p[1], p[2]);
    let v = load(b, byte(0), s);
    store(b, byte(0), d, v);
    advance(b, d, s, n, 1)
}

/// `d` is aligned, `s` is not: aligned source words, each output word merged from two
/// neighbours. Every word read holds at least one byte of the source range. Returns the state
/// (d, s, n) with n < 4.
fn merge_forward(b: &mut FnBuilder, d: Value, s: Value, n: Value) -> Vec<Value> {
    let k = misaligned(b, s);
    let sh = b.bin_k(BinaryOp::Shl, k, 3);
    let thirty_two = b.konst(32);
    let rsh = b.bin(BinaryOp::Sub, thirty_two, sh);
    let sa = b.bin(BinaryOp::Sub, s, k);
    let first = load(b, word(0), sa);
    let st = while_loop(
        b,
        vec![d, sa, n, first],
        |b, p| at_least(b, p[2], 4),
        |b, p| {
            let (d, sa, n, w) = (p[0], p[1], p[2], p[3]);
            let next = load(b, word(4), sa);
            let lo = b.bin(BinaryOp::ShrU, w, sh);
            let hi = b.bin(BinaryOp::Shl, next, rsh);
            let v = b.bin(BinaryOp::Or, lo, hi);
            store(b, word(0), d, v);
            let mut st = advance(b, d, sa, n, 4);
            st.push(next);
            st
        },
    );
    let s = b.bin(BinaryOp::Add, st[1], k);
    vec![st[0], s, st[2]]
}

/// Copy backward from the high addresses (`de`, `se` one past the ends); ends in a return.
fn copy_backward(b: &mut FnBuilder, de: Value, se: Value, n: Value) {
    let tail = b.add_block(3);
    let big = at_least(b, n, SMALL);
    let (big_block, small_block) = split(b, big);
    b.switch_to(small_block);
    b.jump(tail, vec![de, se, n]);

    b.switch_to(big_block);
    let st = while_loop(
        b,
        vec![de, se, n],
        |b, p| {
            let m = misaligned(b, p[0]);
            nonzero(b, m)
        },
        |b, p| copy_byte_backward(b, p),
    );
    let words = |b: &mut FnBuilder, st: Vec<Value>| -> Vec<Value> {
        let st = while_loop(
            b,
            st,
            |b, p| at_least(b, p[2], 4 * UNROLL),
            |b, p| {
                let next = retreat(b, p[0], p[1], p[2], 4 * UNROLL);
                let (d, s) = (next[0], next[1]);
                let v: Vec<Value> = (0..UNROLL).map(|i| load(b, word(4 * i), s)).collect();
                for (i, v) in v.into_iter().enumerate().rev() {
                    store(b, word(4 * i as u32), d, v);
                }
                next
            },
        );
        while_loop(
            b,
            st,
            |b, p| at_least(b, p[2], 4),
            |b, p| {
                let next = retreat(b, p[0], p[1], p[2], 4);
                let v = load(b, word(0), next[1]);
                store(b, word(0), next[0], v);
                next
            },
        )
    };
    if b.caps.unaligned_words {
        let st = words(b, st);
        b.jump(tail, st);
    } else {
        let m = misaligned(b, st[1]);
        let odd = nonzero(b, m);
        let (merge_block, aligned_block) = split(b, odd);
        b.switch_to(aligned_block);
        let aligned = words(b, st.clone());
        b.jump(tail, aligned);
        b.switch_to(merge_block);
        let merged = merge_backward(b, st[0], st[1], st[2]);
        b.jump(tail, merged);
    }

    b.switch_to(tail);
    let p = b.params(tail);
    while_loop(
        b,
        p,
        |b, p| nonzero(b, p[2]),
        |b, p| copy_byte_backward(b, p),
    );
    b.terminate(Terminator::Return { values: vec![] });
}

fn copy_byte_backward(b: &mut FnBuilder, p: &[Value]) -> Vec<Value> {
    let next = retreat(b, p[0], p[1], p[2], 1);
    let v = load(b, byte(0), next[1]);
    store(b, byte(0), next[0], v);
    next
}

/// Backward twin of `merge_forward`: `de` aligned, `se` not. Each source word is read before
/// any store could reach it (the destination lies above the source).
fn merge_backward(b: &mut FnBuilder, de: Value, se: Value, n: Value) -> Vec<Value> {
    let k = misaligned(b, se);
    let sh = b.bin_k(BinaryOp::Shl, k, 3);
    let thirty_two = b.konst(32);
    let rsh = b.bin(BinaryOp::Sub, thirty_two, sh);
    let sa = b.bin(BinaryOp::Sub, se, k);
    let first = load(b, word(0), sa);
    let st = while_loop(
        b,
        vec![de, sa, n, first],
        |b, p| at_least(b, p[2], 4),
        |b, p| {
            let (de, sa, n, high) = (p[0], p[1], p[2], p[3]);
            let mut st = retreat(b, de, sa, n, 4);
            let low = load(b, word(0), st[1]);
            let lo = b.bin(BinaryOp::ShrU, low, sh);
            let hi = b.bin(BinaryOp::Shl, high, rsh);
            let v = b.bin(BinaryOp::Or, lo, hi);
            store(b, word(0), st[0], v);
            st.push(low);
            st
        },
    );
    let se = b.bin(BinaryOp::Add, st[1], k);
    vec![st[0], se, st[2]]
}

fn build_fill(b: &mut FnBuilder, d: Value, value: Value, n: Value) {
    let tail = b.add_block(2);
    let big = at_least(b, n, SMALL);
    let (big_block, small_block) = split(b, big);
    b.switch_to(small_block);
    b.jump(tail, vec![d, n]);

    b.switch_to(big_block);
    let low = b.bin_k(BinaryOp::And, value, 0xff);
    let w = b.bin_k(BinaryOp::Mul, low, 0x0101_0101);
    let fill_byte = |b: &mut FnBuilder, p: &[Value]| -> Vec<Value> {
        store(b, byte(0), p[0], value);
        let d = b.bin_k(BinaryOp::Add, p[0], 1);
        let n = b.bin_k(BinaryOp::Sub, p[1], 1);
        vec![d, n]
    };
    let st = while_loop(
        b,
        vec![d, n],
        |b, p| {
            let m = misaligned(b, p[0]);
            nonzero(b, m)
        },
        fill_byte,
    );
    let st = while_loop(
        b,
        st,
        |b, p| at_least(b, p[1], 4 * UNROLL),
        |b, p| {
            for i in 0..UNROLL {
                store(b, word(4 * i), p[0], w);
            }
            let d = b.bin_k(BinaryOp::Add, p[0], 4 * UNROLL);
            let n = b.bin_k(BinaryOp::Sub, p[1], 4 * UNROLL);
            vec![d, n]
        },
    );
    let st = while_loop(
        b,
        st,
        |b, p| at_least(b, p[1], 4),
        |b, p| {
            store(b, word(0), p[0], w);
            let d = b.bin_k(BinaryOp::Add, p[0], 4);
            let n = b.bin_k(BinaryOp::Sub, p[1], 4);
            vec![d, n]
        },
    );
    b.jump(tail, st);

    b.switch_to(tail);
    let p = b.params(tail);
    while_loop(b, p, |b, p| nonzero(b, p[1]), fill_byte);
    b.terminate(Terminator::Return { values: vec![] });
}

impl BulkHelper {
    pub fn name(self) -> &'static str {
        match self {
            BulkHelper::Copy => "memory_copy",
            BulkHelper::Fill => "memory_fill",
        }
    }

    pub fn signature(self) -> Signature {
        Signature {
            params: vec![Type::I32; 3],
            results: Vec::new(),
        }
    }

    pub fn build(self, index: u32, caps: Caps) -> Function {
        let sig = self.signature();
        let mut b = FnBuilder::new(index, self.name().to_string(), sig, 0, caps);
        let entry = b.add_block(3);
        b.switch_to(entry);
        let p = b.params(entry);
        match self {
            BulkHelper::Copy => {
                let (d, s, n) = (p[0], p[1], p[2]);
                // Forward unless the destination starts inside the source range.
                let distance = b.bin(BinaryOp::Sub, d, s);
                let forward = b.cmp(Cond::GeU, distance, n);
                let (forward_block, backward_block) = split(&mut b, forward);
                b.switch_to(forward_block);
                copy_forward(&mut b, d, s, n);
                b.switch_to(backward_block);
                let de = b.bin(BinaryOp::Add, d, n);
                let se = b.bin(BinaryOp::Add, s, n);
                copy_backward(&mut b, de, se, n);
            }
            BulkHelper::Fill => build_fill(&mut b, p[0], p[1], p[2]),
        }
        b.func
    }
}

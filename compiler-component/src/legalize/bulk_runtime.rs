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
/// final state is returned. The loop is rotated (tested once before and then at the bottom of
/// the body), so an iteration ends in one conditional branch back to its top.
fn while_loop(
    b: &mut FnBuilder,
    state: Vec<Value>,
    cond: impl Fn(&mut FnBuilder, &[Value]) -> Value,
    body: impl FnOnce(&mut FnBuilder, &[Value]) -> Vec<Value>,
) -> Vec<Value> {
    let n = state.len();
    let enter = b.add_block(0);
    let skip = b.add_block(0);
    let top = b.add_block(n);
    let again = b.add_block(0);
    let leave = b.add_block(0);
    let join = b.add_block(n);
    let c = cond(b, &state);
    b.terminate(Terminator::Branch {
        cond: c,
        then_block: enter,
        else_block: skip,
    });
    b.switch_to(skip);
    b.jump(join, state.clone());
    b.switch_to(enter);
    b.jump(top, state);
    b.switch_to(top);
    let p = b.params(top);
    let next = body(b, &p);
    let c = cond(b, &next);
    b.terminate(Terminator::Branch {
        cond: c,
        then_block: again,
        else_block: leave,
    });
    b.switch_to(again);
    b.jump(top, next.clone());
    b.switch_to(leave);
    b.jump(join, next);
    b.switch_to(join);
    b.params(join)
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

fn not_at(b: &mut FnBuilder, p: Value, end: Value) -> Value {
    b.cmp(Cond::Ne, p, end)
}

/// `n` rounded down to a multiple of `k` (a power of two), and the rest.
fn split_len(b: &mut FnBuilder, n: Value, k: u32) -> (Value, Value) {
    let whole = b.bin_k(BinaryOp::And, n, !(k - 1));
    let rest = b.bin_k(BinaryOp::And, n, k - 1);
    (whole, rest)
}

/// Loops over words and bytes count with the destination pointer against an end pointer, so
/// an iteration carries only the two pointers (and, merging, the last source word).
/// Forward copy from the low addresses; ends in a return.
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
        |b, p| {
            let (d, s) = copy_byte_forward(b, p[0], p[1]);
            let n = b.bin_k(BinaryOp::Sub, p[2], 1);
            vec![d, s, n]
        },
    );
    let words = |b: &mut FnBuilder, d: Value, s: Value, n: Value| -> Vec<Value> {
        let (whole, rest) = split_len(b, n, 4 * UNROLL);
        let end = b.bin(BinaryOp::Add, d, whole);
        let st = while_loop(
            b,
            vec![d, s],
            |b, p| not_at(b, p[0], end),
            |b, p| {
                let (d, s) = (p[0], p[1]);
                let v: Vec<Value> = (0..UNROLL).map(|i| load(b, word(4 * i), s)).collect();
                for (i, v) in v.into_iter().enumerate() {
                    store(b, word(4 * i as u32), d, v);
                }
                advance(b, d, s, 4 * UNROLL)
            },
        );
        let (whole, rest) = split_len(b, rest, 4);
        let end = b.bin(BinaryOp::Add, st[0], whole);
        let st = while_loop(
            b,
            st,
            |b, p| not_at(b, p[0], end),
            |b, p| {
                let v = load(b, word(0), p[1]);
                store(b, word(0), p[0], v);
                advance(b, p[0], p[1], 4)
            },
        );
        vec![st[0], st[1], rest]
    };
    if b.caps.unaligned_words {
        let st = words(b, st[0], st[1], st[2]);
        b.jump(tail, st);
    } else {
        let m = misaligned(b, st[1]);
        let odd = nonzero(b, m);
        let (merge_block, aligned_block) = split(b, odd);
        b.switch_to(aligned_block);
        let aligned = words(b, st[0], st[1], st[2]);
        b.jump(tail, aligned);
        b.switch_to(merge_block);
        let merged = merge_forward(b, st[0], st[1], st[2]);
        b.jump(tail, merged);
    }

    b.switch_to(tail);
    let p = b.params(tail);
    let end = b.bin(BinaryOp::Add, p[0], p[2]);
    while_loop(
        b,
        vec![p[0], p[1]],
        |b, p| not_at(b, p[0], end),
        |b, p| {
            let (d, s) = copy_byte_forward(b, p[0], p[1]);
            vec![d, s]
        },
    );
    b.terminate(Terminator::Return { values: vec![] });
}

fn advance(b: &mut FnBuilder, d: Value, s: Value, k: u32) -> Vec<Value> {
    let d = b.bin_k(BinaryOp::Add, d, k);
    let s = b.bin_k(BinaryOp::Add, s, k);
    vec![d, s]
}

fn retreat(b: &mut FnBuilder, d: Value, s: Value, k: u32) -> Vec<Value> {
    let d = b.bin_k(BinaryOp::Sub, d, k);
    let s = b.bin_k(BinaryOp::Sub, s, k);
    vec![d, s]
}

fn copy_byte_forward(b: &mut FnBuilder, d: Value, s: Value) -> (Value, Value) {
    let v = load(b, byte(0), s);
    store(b, byte(0), d, v);
    let next = advance(b, d, s, 1);
    (next[0], next[1])
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
    let (whole, rest) = split_len(b, n, 4);
    let end = b.bin(BinaryOp::Add, d, whole);
    let st = while_loop(
        b,
        vec![d, sa, first],
        |b, p| not_at(b, p[0], end),
        |b, p| {
            let (d, sa, w) = (p[0], p[1], p[2]);
            let next = load(b, word(4), sa);
            let lo = b.bin(BinaryOp::ShrU, w, sh);
            let hi = b.bin(BinaryOp::Shl, next, rsh);
            let v = b.bin(BinaryOp::Or, lo, hi);
            store(b, word(0), d, v);
            let mut st = advance(b, d, sa, 4);
            st.push(next);
            st
        },
    );
    let s = b.bin(BinaryOp::Add, st[1], k);
    vec![st[0], s, rest]
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
        |b, p| {
            let (d, s) = copy_byte_backward(b, p[0], p[1]);
            let n = b.bin_k(BinaryOp::Sub, p[2], 1);
            vec![d, s, n]
        },
    );
    let words = |b: &mut FnBuilder, de: Value, se: Value, n: Value| -> Vec<Value> {
        let (whole, rest) = split_len(b, n, 4 * UNROLL);
        let end = b.bin(BinaryOp::Sub, de, whole);
        let st = while_loop(
            b,
            vec![de, se],
            |b, p| not_at(b, p[0], end),
            |b, p| {
                let next = retreat(b, p[0], p[1], 4 * UNROLL);
                let (d, s) = (next[0], next[1]);
                let v: Vec<Value> = (0..UNROLL).map(|i| load(b, word(4 * i), s)).collect();
                for (i, v) in v.into_iter().enumerate().rev() {
                    store(b, word(4 * i as u32), d, v);
                }
                next
            },
        );
        let (whole, rest) = split_len(b, rest, 4);
        let end = b.bin(BinaryOp::Sub, st[0], whole);
        let st = while_loop(
            b,
            st,
            |b, p| not_at(b, p[0], end),
            |b, p| {
                let next = retreat(b, p[0], p[1], 4);
                let v = load(b, word(0), next[1]);
                store(b, word(0), next[0], v);
                next
            },
        );
        vec![st[0], st[1], rest]
    };
    if b.caps.unaligned_words {
        let st = words(b, st[0], st[1], st[2]);
        b.jump(tail, st);
    } else {
        let m = misaligned(b, st[1]);
        let odd = nonzero(b, m);
        let (merge_block, aligned_block) = split(b, odd);
        b.switch_to(aligned_block);
        let aligned = words(b, st[0], st[1], st[2]);
        b.jump(tail, aligned);
        b.switch_to(merge_block);
        let merged = merge_backward(b, st[0], st[1], st[2]);
        b.jump(tail, merged);
    }

    b.switch_to(tail);
    let p = b.params(tail);
    let end = b.bin(BinaryOp::Sub, p[0], p[2]);
    while_loop(
        b,
        vec![p[0], p[1]],
        |b, p| not_at(b, p[0], end),
        |b, p| {
            let (d, s) = copy_byte_backward(b, p[0], p[1]);
            vec![d, s]
        },
    );
    b.terminate(Terminator::Return { values: vec![] });
}

fn copy_byte_backward(b: &mut FnBuilder, de: Value, se: Value) -> (Value, Value) {
    let next = retreat(b, de, se, 1);
    let v = load(b, byte(0), next[1]);
    store(b, byte(0), next[0], v);
    (next[0], next[1])
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
    let (whole, rest) = split_len(b, n, 4);
    let end = b.bin(BinaryOp::Sub, de, whole);
    let st = while_loop(
        b,
        vec![de, sa, first],
        |b, p| not_at(b, p[0], end),
        |b, p| {
            let (de, sa, high) = (p[0], p[1], p[2]);
            let mut st = retreat(b, de, sa, 4);
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
    vec![st[0], se, rest]
}

fn build_fill(b: &mut FnBuilder, d: Value, value: Value, n: Value) {
    // The byte in every lane: the byte loops store its low byte too (one value live, not two).
    let low = b.bin_k(BinaryOp::And, value, 0xff);
    let w = b.bin_k(BinaryOp::Mul, low, 0x0101_0101);
    let tail = b.add_block(2);
    let big = at_least(b, n, SMALL);
    let (big_block, small_block) = split(b, big);
    b.switch_to(small_block);
    b.jump(tail, vec![d, n]);

    b.switch_to(big_block);
    let st = while_loop(
        b,
        vec![d, n],
        |b, p| {
            let m = misaligned(b, p[0]);
            nonzero(b, m)
        },
        |b, p| {
            store(b, byte(0), p[0], w);
            let d = b.bin_k(BinaryOp::Add, p[0], 1);
            let n = b.bin_k(BinaryOp::Sub, p[1], 1);
            vec![d, n]
        },
    );
    let (whole, rest) = split_len(b, st[1], 4 * UNROLL);
    let end = b.bin(BinaryOp::Add, st[0], whole);
    let st = while_loop(
        b,
        vec![st[0]],
        |b, p| not_at(b, p[0], end),
        |b, p| {
            for i in 0..UNROLL {
                store(b, word(4 * i), p[0], w);
            }
            vec![b.bin_k(BinaryOp::Add, p[0], 4 * UNROLL)]
        },
    );
    let (whole, rest) = split_len(b, rest, 4);
    let end = b.bin(BinaryOp::Add, st[0], whole);
    let st = while_loop(
        b,
        st,
        |b, p| not_at(b, p[0], end),
        |b, p| {
            store(b, word(0), p[0], w);
            vec![b.bin_k(BinaryOp::Add, p[0], 4)]
        },
    );
    b.jump(tail, vec![st[0], rest]);

    b.switch_to(tail);
    let p = b.params(tail);
    let end = b.bin(BinaryOp::Add, p[0], p[1]);
    while_loop(
        b,
        vec![p[0]],
        |b, p| not_at(b, p[0], end),
        |b, p| {
            store(b, byte(0), p[0], w);
            vec![b.bin_k(BinaryOp::Add, p[0], 1)]
        },
    );
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

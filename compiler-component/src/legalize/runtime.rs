//! Functions legalize adds: i64 division helpers (only those used) and `synth_init`.

use super::builder::FnBuilder;
use super::bulk_runtime::BulkHelper;
use super::int64::Pair;
use super::table_runtime::TableHelper;
use crate::error::{CompileError, ErrorKind, Result};
use crate::ir::table::ActiveElem;
use crate::ir::{
    BinaryOp, Cond, Function, FunctionDecl, FunctionKind, MemArg, Module, Op, Signature, Symbol,
    Terminator, TrapCode, Type, UnaryOp, Value,
};
use crate::isa::Caps;

pub const INIT_NAME: &str = "synth_init";

/// Module-level preconditions of legalize.
pub(super) fn check_module(module: &Module) -> Result<()> {
    if module
        .functions
        .iter()
        .any(|f| f.exports.iter().any(|e| e == INIT_NAME))
    {
        return Err(CompileError::new(
            ErrorKind::Unsupported,
            format!("the export name `{INIT_NAME}` is reserved for the initializer"),
        ));
    }
    if let Some(mem) = &module.memory {
        // The size lives in a u32 word, so 65536 pages (4 GiB) cannot be represented.
        if mem.max_pages > 65535 {
            return Err(CompileError::limit(format!(
                "memory maximum of {} pages does not fit a 32-bit size word (at most 65535)",
                mem.max_pages
            )));
        }
        if mem.initial_pages > mem.max_pages {
            return Err(CompileError::internal(format!(
                "initial memory ({} pages) above the effective maximum ({})",
                mem.initial_pages, mem.max_pages
            )));
        }
    } else if module.data.iter().any(|d| d.offset.is_some()) {
        return Err(CompileError::internal(
            "active data segments without a memory",
        ));
    }
    Ok(())
}

/// A helper legalize adds to the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Helper {
    /// i64 DivS, DivU, RemS or RemU.
    DivMod(BinaryOp),
    Table(TableHelper),
    Bulk(BulkHelper),
}

/// The runtime helpers (i64 division, table loops), numbered in order of first use after the
/// existing functions; only those used are added.
pub(super) struct RuntimeHelpers {
    first_function: u32,
    first_body: u32,
    used: Vec<Helper>,
}

fn helper_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::DivS => "i64_div_s",
        BinaryOp::DivU => "i64_div_u",
        BinaryOp::RemS => "i64_rem_s",
        _ => "i64_rem_u",
    }
}

fn i64_binary_sig() -> Signature {
    Signature {
        params: vec![Type::I64, Type::I64],
        results: vec![Type::I64],
    }
}

impl RuntimeHelpers {
    pub fn new(module: &Module) -> Self {
        RuntimeHelpers {
            first_function: module.functions.len() as u32,
            first_body: module.bodies.len() as u32,
            used: Vec::new(),
        }
    }

    /// Function index of the helper for i64 `op` (DivS, DivU, RemS or RemU).
    pub fn index_of(&mut self, op: BinaryOp) -> u32 {
        self.index_of_helper(Helper::DivMod(op))
    }

    pub fn index_of_helper(&mut self, helper: Helper) -> u32 {
        let pos = match self.used.iter().position(|u| *u == helper) {
            Some(p) => p,
            None => {
                self.used.push(helper);
                self.used.len() - 1
            }
        };
        self.first_function + pos as u32
    }

    pub fn append_to(&self, module: &mut Module, caps: Caps) {
        for (k, helper) in self.used.iter().enumerate() {
            let index = self.first_function + k as u32;
            let (sig, body) = match helper {
                Helper::DivMod(op) => {
                    let name = helper_name(*op).to_string();
                    (i64_binary_sig(), build_divmod(index, name, *op, caps))
                }
                Helper::Table(t) => (t.signature(), t.build(index, caps)),
                Helper::Bulk(h) => (h.signature(), h.build(index, caps)),
            };
            module.functions.push(FunctionDecl {
                sig,
                kind: FunctionKind::Runtime(self.first_body + k as u32),
                exports: Vec::new(),
                name: body.name.clone(),
            });
            module.bodies.push(body);
        }
    }
}

/// `(x ^ s) - s` on a pair: negates x when the sign mask s is all ones, keeps it when zero.
fn conditional_negate(b: &mut FnBuilder, x: Pair, sign: Value) -> Pair {
    let lo = b.bin(BinaryOp::Xor, x.0, sign);
    let hi = b.bin(BinaryOp::Xor, x.1, sign);
    b.two(Op::SubPair, vec![lo, hi, sign, sign])
}

/// i64 division or remainder over (lo, hi) words: signed operands are made non-negative (as
/// unsigned values, so |MIN| = 2^63 works), 64 rounds of shift-and-subtract produce quotient
/// and remainder, and the sign is put back. Operands that fit 32 bits take one hardware divide.
/// The callers have already trapped on a zero divisor and on MIN / -1.
fn build_divmod(index: u32, name: String, op: BinaryOp, caps: Caps) -> Function {
    let signed = matches!(op, BinaryOp::DivS | BinaryOp::RemS);
    let want_quotient = matches!(op, BinaryOp::DivS | BinaryOp::DivU);
    let mut b = FnBuilder::new(index, name, i64_binary_sig(), 0, caps);
    let entry = b.add_block(4);
    let fast = b.add_block(0);
    let slow = b.add_block(0);
    let round = b.add_block(7);
    let again = b.add_block(0);
    let finish = b.add_block(0);
    let done = b.add_block(2);

    b.switch_to(entry);
    let p = b.params(entry);
    let (a, d) = ((p[0], p[1]), (p[2], p[3]));
    let (n, d, result_sign) = if signed {
        let a_sign = b.bin_k(BinaryOp::ShrS, a.1, 31);
        let d_sign = b.bin_k(BinaryOp::ShrS, d.1, 31);
        let n = conditional_negate(&mut b, a, a_sign);
        let d = conditional_negate(&mut b, d, d_sign);
        // The quotient is negative when the signs differ; the remainder takes the dividend's.
        let sign = if want_quotient {
            b.bin(BinaryOp::Xor, a_sign, d_sign)
        } else {
            a_sign
        };
        (n, d, Some(sign))
    } else {
        (a, d, None)
    };
    let high_words = b.bin(BinaryOp::Or, n.1, d.1);
    let small = b.un(UnaryOp::Eqz, high_words);
    b.terminate(Terminator::Branch {
        cond: small,
        then_block: fast,
        else_block: slow,
    });

    b.switch_to(fast);
    let short_op = if want_quotient {
        BinaryOp::DivU
    } else {
        BinaryOp::RemU
    };
    let v = b.bin(short_op, n.0, d.0);
    let zero = b.konst(0);
    b.jump(done, vec![v, zero]);

    b.switch_to(slow);
    let zero = b.konst(0);
    let rounds = b.konst(64);
    b.jump(round, vec![n.0, n.1, zero, zero, zero, zero, rounds]);

    // One round: shift the dividend's top bit into the remainder, subtract the divisor when it
    // fits and record a quotient bit. After i rounds the remainder is at most the top i bits of
    // the dividend, so the shift never pushes a bit out of 64.
    b.switch_to(round);
    let p = b.params(round);
    let (n_lo, n_hi, q_lo, q_hi, r_lo, r_hi, count) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
    let shl1 = |b: &mut FnBuilder, hi: Value, lo: Value| -> Value {
        let up = b.bin_k(BinaryOp::Shl, hi, 1);
        let carry = b.bin_k(BinaryOp::ShrU, lo, 31);
        b.bin(BinaryOp::Or, up, carry)
    };
    let r_hi = shl1(&mut b, r_hi, r_lo);
    let r_lo = shl1(&mut b, r_lo, n_hi);
    let n_hi = shl1(&mut b, n_hi, n_lo);
    let n_lo = b.bin_k(BinaryOp::Shl, n_lo, 1);
    let q_hi = shl1(&mut b, q_hi, q_lo);
    let q_lo = b.bin_k(BinaryOp::Shl, q_lo, 1);
    let fits = b.compare64(Cond::GeU, (r_lo, r_hi), d);
    let (sub_lo, sub_hi) = b.two(Op::SubPair, vec![r_lo, r_hi, d.0, d.1]);
    let r_lo = b.select(fits, sub_lo, r_lo);
    let r_hi = b.select(fits, sub_hi, r_hi);
    let q_lo = b.bin(BinaryOp::Or, q_lo, fits);
    let count = b.bin_k(BinaryOp::Sub, count, 1);
    let zero = b.konst(0);
    let more = b.cmp(Cond::Ne, count, zero);
    b.terminate(Terminator::Branch {
        cond: more,
        then_block: again,
        else_block: finish,
    });

    b.switch_to(again);
    b.jump(round, vec![n_lo, n_hi, q_lo, q_hi, r_lo, r_hi, count]);

    b.switch_to(finish);
    let result = if want_quotient {
        vec![q_lo, q_hi]
    } else {
        vec![r_lo, r_hi]
    };
    b.jump(done, result);

    b.switch_to(done);
    let p = b.params(done);
    let mut v = (p[0], p[1]);
    if let Some(sign) = result_sign {
        v = conditional_negate(&mut b, v, sign);
    }
    b.terminate(Terminator::Return {
        values: vec![v.0, v.1],
    });
    b.func
}

/// `synth_init`: set the memory size, copy each active data segment (trapping at the first one
/// that does not fit), then call the start function.
pub(super) fn add_synth_init(module: &mut Module, caps: Caps) -> Result<()> {
    let index = module.functions.len() as u32;
    let body_index = module.bodies.len() as u32;
    let mut b = FnBuilder::new(index, INIT_NAME.to_string(), Signature::default(), 0, caps);
    let entry = b.add_block(0);
    b.switch_to(entry);
    let mut trapped = module.tables.init_trap;
    if trapped {
        // An active element segment does not fit: instantiation fails before anything else.
        b.terminate(Terminator::Trap {
            code: TrapCode::ElemSegmentOutOfBounds,
        });
    }
    for &(global, function) in &module.tables.global_refs {
        let addr = b.one(
            Op::SymbolAddr {
                symbol: Symbol::FuncRef(function),
                offset: 0,
            },
            vec![],
        );
        b.effect(
            Op::StoreSymbol {
                symbol: Symbol::Global(global),
                offset: 0,
            },
            vec![addr],
        );
    }
    for &(global, source) in &module.tables.global_copies {
        let words = match module.globals.get(global as usize).map(|g| g.ty) {
            Some(Type::I64 | Type::F64) => 2,
            _ => 1,
        };
        for word in 0..words {
            let value = b.one(
                Op::LoadSymbol {
                    symbol: Symbol::Global(source),
                    offset: 4 * word,
                },
                vec![],
            );
            b.effect(
                Op::StoreSymbol {
                    symbol: Symbol::Global(global),
                    offset: 4 * word,
                },
                vec![value],
            );
        }
    }
    if !trapped {
        for item in &module.tables.elem_globals {
            let value = b.one(
                Op::LoadSymbol {
                    symbol: Symbol::Global(item.global),
                    offset: 0,
                },
                vec![],
            );
            b.effect(
                Op::StoreSymbol {
                    symbol: Symbol::Elem(item.elem),
                    offset: 4 * (1 + item.item),
                },
                vec![value],
            );
        }
        for active in &module.tables.runtime_elems {
            let len = module
                .tables
                .elems
                .get(active.elem as usize)
                .map(|e| e.items.len() as u32)
                .ok_or_else(|| {
                    CompileError::internal(format!("no element segment {}", active.elem))
                })?;
            apply_elem(&mut b, *active, len);
        }
    }
    if !trapped && module.memory.as_ref().is_some_and(|m| m.import.is_some()) {
        // The exporter (or embedder) owns the size word: check each segment against it.
        let bytes = b.one(
            Op::LoadSymbol {
                symbol: Symbol::MemoryBytes,
                offset: 0,
            },
            vec![],
        );
        for (n, seg) in module.data.iter().enumerate() {
            // Passive segments are copied by `memory.init`, not here.
            let Some(offset) = seg.offset else { continue };
            if let Some(global) = seg.offset_global {
                let len = seg.bytes.len() as u32;
                let fits = dynamic_segment_fits(&mut b, global, len, bytes);
                trap_unless(&mut b, fits, TrapCode::DataSegmentOutOfBounds);
                let base = load_global_word(&mut b, global);
                copy_segment(&mut b, n as u32, 0, len, Some(base));
                continue;
            }
            let end = offset as u64 + seg.bytes.len() as u64;
            let Ok(end) = u32::try_from(end) else {
                b.terminate(Terminator::Trap {
                    code: TrapCode::DataSegmentOutOfBounds,
                });
                trapped = true;
                break;
            };
            let end = b.konst(end);
            let fits = b.cmp(Cond::LeU, end, bytes);
            trap_unless(&mut b, fits, TrapCode::DataSegmentOutOfBounds);
            copy_segment(&mut b, n as u32, offset, seg.bytes.len() as u32, None);
        }
    }
    if let Some(mem) = module
        .memory
        .as_ref()
        .filter(|m| !trapped && m.import.is_none())
    {
        let size = mem.initial_pages as u64 * 65536;
        let size_word = u32::try_from(size)
            .map_err(|_| CompileError::internal("initial memory size does not fit 32 bits"))?;
        let k = b.konst(size_word);
        b.effect(
            Op::StoreSymbol {
                symbol: Symbol::MemoryBytes,
                offset: 0,
            },
            vec![k],
        );
        for (n, seg) in module.data.iter().enumerate() {
            let Some(offset) = seg.offset else { continue };
            if let (Some(global), Ok(len)) = (seg.offset_global, u32::try_from(seg.bytes.len())) {
                let fits = dynamic_segment_fits(&mut b, global, len, k);
                trap_unless(&mut b, fits, TrapCode::DataSegmentOutOfBounds);
                let base = load_global_word(&mut b, global);
                copy_segment(&mut b, n as u32, 0, len, Some(base));
                continue;
            }
            if offset as u64 + seg.bytes.len() as u64 > size {
                b.terminate(Terminator::Trap {
                    code: TrapCode::DataSegmentOutOfBounds,
                });
                trapped = true;
                break;
            }
            copy_segment(&mut b, n as u32, offset, seg.bytes.len() as u32, None);
        }
    }
    if !trapped {
        if let Some(start) = module.start {
            let takes_nothing = module
                .functions
                .get(start as usize)
                .is_some_and(|f| f.sig == Signature::default());
            if !takes_nothing {
                return Err(CompileError::internal(format!(
                    "start function {start} is missing or not () -> ()"
                )));
            }
            b.effect(Op::Call(start), vec![]);
        }
        b.terminate(Terminator::Return { values: vec![] });
    }
    module.functions.push(FunctionDecl {
        sig: Signature::default(),
        kind: FunctionKind::Runtime(body_index),
        exports: vec![INIT_NAME.to_string()],
        name: INIT_NAME.to_string(),
    });
    module.bodies.push(b.func);
    Ok(())
}

/// Apply an active element segment of `len` items at run time: trap
/// (`ElemSegmentOutOfBounds`) unless `offset + len <= size` (the table's current size), copy
/// the items word by word, then drop the segment (its length word becomes 0).
fn apply_elem(b: &mut FnBuilder, active: ActiveElem, len: u32) {
    let size = b.one(
        Op::LoadSymbol {
            symbol: Symbol::Table(active.table),
            offset: 0,
        },
        vec![],
    );
    let base = match active.offset_global {
        Some(global) => load_global_word(b, global),
        None => b.konst(active.offset),
    };
    let n = b.konst(len);
    let len_fits = b.cmp(Cond::LeU, n, size);
    let room = b.bin(BinaryOp::Sub, size, n);
    let base_fits = b.cmp(Cond::LeU, base, room);
    let fits = b.bin(BinaryOp::And, len_fits, base_fits);
    trap_unless(b, fits, TrapCode::ElemSegmentOutOfBounds);
    if len == 0 {
        return;
    }
    let src = b.one(
        Op::SymbolAddr {
            symbol: Symbol::Elem(active.elem),
            offset: 4,
        },
        vec![],
    );
    let entries = b.one(
        Op::SymbolAddr {
            symbol: Symbol::Table(active.table),
            offset: 4,
        },
        vec![],
    );
    let first = b.bin_k(BinaryOp::Shl, base, 2);
    let dst = b.bin(BinaryOp::Add, entries, first);
    let zero = b.konst(0);
    let copy = b.add_block(1);
    let again = b.add_block(0);
    let after = b.add_block(0);
    b.jump(copy, vec![zero]);

    b.switch_to(copy);
    let i = b.params(copy)[0];
    let word = MemArg {
        width: 4,
        signed: false,
        offset: 0,
    };
    let item = b.one(Op::Load(word), vec![src, i]);
    b.effect(Op::Store(word), vec![dst, i, item]);
    let next = b.bin_k(BinaryOp::Add, i, 4);
    let end = b.konst(4 * len);
    let more = b.cmp(Cond::LtU, next, end);
    b.terminate(Terminator::Branch {
        cond: more,
        then_block: again,
        else_block: after,
    });

    b.switch_to(again);
    b.jump(copy, vec![next]);
    b.switch_to(after);
    let zero = b.konst(0);
    b.effect(
        Op::StoreSymbol {
            symbol: Symbol::Elem(active.elem),
            offset: 0,
        },
        vec![zero],
    );
}

/// 1 when a segment of `len` bytes at the offset held by imported global `global` fits in
/// `bytes` (the memory size): `len <= bytes && offset <= bytes - len`, without overflow.
fn dynamic_segment_fits(b: &mut FnBuilder, global: u32, len: u32, bytes: Value) -> Value {
    let len = b.konst(len);
    let len_fits = b.cmp(Cond::LeU, len, bytes);
    let room = b.bin(BinaryOp::Sub, bytes, len);
    let base = load_global_word(b, global);
    let base_fits = b.cmp(Cond::LeU, base, room);
    b.bin(BinaryOp::And, len_fits, base_fits)
}

fn load_global_word(b: &mut FnBuilder, global: u32) -> Value {
    b.one(
        Op::LoadSymbol {
            symbol: Symbol::Global(global),
            offset: 0,
        },
        vec![],
    )
}

/// Trap with `code` unless `cond`; the builder continues in the block where it held.
fn trap_unless(b: &mut FnBuilder, cond: Value, code: TrapCode) {
    let ok = b.add_block(0);
    let trap = b.add_block(0);
    b.terminate(Terminator::Branch {
        cond,
        then_block: ok,
        else_block: trap,
    });
    b.switch_to(trap);
    b.terminate(Terminator::Trap { code });
    b.switch_to(ok);
}

/// A byte loop (destinations may be unaligned) to `offset` (plus `base` when the offset is
/// only known at run time); leaves the builder in the block after it.
fn copy_segment(b: &mut FnBuilder, segment: u32, offset: u32, len: u32, base: Option<Value>) {
    if len == 0 {
        return;
    }
    let src = b.one(
        Op::SymbolAddr {
            symbol: Symbol::DataSegment(segment),
            offset: 0,
        },
        vec![],
    );
    let dst = b.one(
        Op::SymbolAddr {
            symbol: Symbol::Memory,
            offset: 0,
        },
        vec![],
    );
    let dst = match base {
        Some(base) => b.bin(BinaryOp::Add, dst, base),
        None => dst,
    };
    let zero = b.konst(0);
    let copy = b.add_block(1);
    let again = b.add_block(0);
    let after = b.add_block(0);
    b.jump(copy, vec![zero]);

    b.switch_to(copy);
    let i = b.params(copy)[0];
    let byte_at = |offset: u32| MemArg {
        width: 1,
        signed: false,
        offset: offset as u64,
    };
    let byte = b.one(Op::Load(byte_at(0)), vec![src, i]);
    b.effect(Op::Store(byte_at(offset)), vec![dst, i, byte]);
    let next = b.bin_k(BinaryOp::Add, i, 1);
    let end = b.konst(len);
    let more = b.cmp(Cond::LtU, next, end);
    b.terminate(Terminator::Branch {
        cond: more,
        then_block: again,
        else_block: after,
    });

    b.switch_to(again);
    b.jump(copy, vec![next]);
    b.switch_to(after);
}

//! Bulk memory operators made explicit: the range checks inline (every one before anything is
//! written), then a call of the `bulk_runtime` helper on native addresses. A passive data
//! segment that `memory.init` reads is its bytes (`Symbol::DataSegment`) and its length word
//! (`Symbol::DataLength`, 0 once dropped); an active segment (or a passive one without bytes)
//! always has length 0 here, so `data.drop` of it does nothing.

use super::BodyLegalizer;
use super::bulk_runtime::BulkHelper;
use super::runtime::Helper;
use crate::error::Result;
use crate::ir::{BinaryOp, BulkOp, Cond, Inst, Op, Symbol, TrapCode, Value};

impl BodyLegalizer<'_> {
    /// Trap `MemoryOutOfBounds` unless `start + len <= limit` as unbounded integers.
    fn check_range(&mut self, start: Value, len: Value, limit: Value) {
        let too_long = self.b.cmp(Cond::GtU, len, limit);
        let room = self.b.bin(BinaryOp::Sub, limit, len);
        let too_far = self.b.cmp(Cond::GtU, start, room);
        let bad = self.b.bin(BinaryOp::Or, too_long, too_far);
        self.b
            .effect(Op::TrapIf(TrapCode::MemoryOutOfBounds), vec![bad]);
    }

    /// Does `memory.init` read segment `n` (a passive segment with bytes)?
    fn readable_segment(&self, n: u32) -> Result<bool> {
        match self.module.data.get(n as usize) {
            Some(seg) => Ok(seg.offset.is_none() && !seg.bytes.is_empty()),
            None => Err(self.error(format!("no data segment {n}"))),
        }
    }

    fn linear_base(&mut self) -> Value {
        self.b.one(
            Op::SymbolAddr {
                symbol: Symbol::Memory,
                offset: 0,
            },
            vec![],
        )
    }

    fn bulk_call(&mut self, helper: BulkHelper, args: Vec<Value>) {
        let f = self.helpers.index_of_helper(Helper::Bulk(helper));
        self.b.inst(Op::Call(f), args, 0);
    }

    pub(super) fn bulk_op(&mut self, inst: &Inst, op: BulkOp) -> Result<()> {
        if let BulkOp::DataDrop(n) = op {
            if self.readable_segment(n)? {
                let zero = self.b.konst(0);
                self.b.effect(
                    Op::StoreSymbol {
                        symbol: Symbol::DataLength(n),
                        offset: 0,
                    },
                    vec![zero],
                );
            }
            return Ok(());
        }
        if self.module.memory.is_none() {
            return Err(self.error("bulk memory operator in a module without memory"));
        }
        let (d, x, len) = (
            self.get32(self.arg(inst, 0)?)?,
            self.get32(self.arg(inst, 1)?)?,
            self.get32(self.arg(inst, 2)?)?,
        );
        let checked = self.options.bounds_checks;
        let size = checked.then(|| {
            self.b.one(
                Op::LoadSymbol {
                    symbol: Symbol::MemoryBytes,
                    offset: 0,
                },
                vec![],
            )
        });
        match op {
            BulkOp::Copy => {
                if let Some(size) = size {
                    self.check_range(d, len, size);
                    self.check_range(x, len, size);
                }
                let base = self.linear_base();
                let dst = self.b.bin(BinaryOp::Add, base, d);
                let src = self.b.bin(BinaryOp::Add, base, x);
                self.bulk_call(BulkHelper::Copy, vec![dst, src, len]);
            }
            BulkOp::Fill => {
                if let Some(size) = size {
                    self.check_range(d, len, size);
                }
                let base = self.linear_base();
                let dst = self.b.bin(BinaryOp::Add, base, d);
                self.bulk_call(BulkHelper::Fill, vec![dst, x, len]);
            }
            BulkOp::Init(n) => {
                // The segment's range is checked even without bounds checks: a dropped
                // segment must trap, not copy stale bytes.
                let readable = self.readable_segment(n)?;
                let seg_len = if readable {
                    self.b.one(
                        Op::LoadSymbol {
                            symbol: Symbol::DataLength(n),
                            offset: 0,
                        },
                        vec![],
                    )
                } else {
                    self.b.konst(0)
                };
                self.check_range(x, len, seg_len);
                if let Some(size) = size {
                    self.check_range(d, len, size);
                }
                if readable {
                    let base = self.linear_base();
                    let dst = self.b.bin(BinaryOp::Add, base, d);
                    let bytes = self.b.one(
                        Op::SymbolAddr {
                            symbol: Symbol::DataSegment(n),
                            offset: 0,
                        },
                        vec![],
                    );
                    let src = self.b.bin(BinaryOp::Add, bytes, x);
                    self.bulk_call(BulkHelper::Copy, vec![dst, src, len]);
                }
            }
            BulkOp::DataDrop(_) => {}
        }
        Ok(())
    }
}

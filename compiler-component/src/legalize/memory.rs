//! Linear memory and globals made explicit: raw accesses off `SymbolAddr(Memory)` after an
//! optional `BoundsCheck`, `memory.size`/`memory.grow` on the `MemoryBytes` word, and globals as
//! `LoadSymbol`/`StoreSymbol`.

use super::BodyLegalizer;
use crate::error::Result;
use crate::ir::{BinaryOp, Cond, Inst, MemArg, Op, Symbol, Type, Value};

impl BodyLegalizer<'_> {
    fn max_pages(&self) -> Result<u32> {
        match &self.module.memory {
            Some(m) => Ok(m.max_pages),
            None => Err(self.error("memory access in a module without memory")),
        }
    }

    /// Base of linear memory, materialized once per block.
    fn base(&mut self) -> Result<Value> {
        self.max_pages()?;
        if let Some(base) = self.memory_base {
            return Ok(base);
        }
        let base = self.b.one(
            Op::SymbolAddr {
                symbol: Symbol::Memory,
                offset: 0,
            },
            vec![],
        );
        self.memory_base = Some(base);
        Ok(base)
    }

    fn memory_bytes(&mut self) -> Value {
        self.b.one(
            Op::LoadSymbol {
                symbol: Symbol::MemoryBytes,
                offset: 0,
            },
            vec![],
        )
    }

    /// The bounds check (when enabled) for the whole access, then the memory base. The access
    /// fits u32 offsets: longer ones were cut off as always trapping.
    fn prepare_access(&mut self, addr: Value, m: &MemArg) -> Result<(Value, u32)> {
        let base = self.base()?;
        let end = m.offset + m.width as u64;
        let offset = u32::try_from(m.offset)
            .ok()
            .filter(|_| end <= u32::MAX as u64)
            .ok_or_else(|| self.error("access offset beyond 32 bits was not cut"))?;
        if self.options.bounds_checks {
            let bytes = self.memory_bytes();
            self.b.effect(Op::BoundsCheck { end }, vec![addr, bytes]);
        }
        Ok((base, offset))
    }

    fn raw(width: u8, signed: bool, offset: u32) -> MemArg {
        MemArg {
            width,
            signed,
            offset: offset as u64,
        }
    }

    pub(super) fn load(&mut self, inst: &Inst, m: &MemArg) -> Result<()> {
        let addr = self.get32(self.arg(inst, 0)?)?;
        let r = self.result(inst, 0)?;
        let (base, offset) = self.prepare_access(addr, m)?;
        match (self.type_of(r)?, m.width) {
            // A hardware float: one access of its width into a float value.
            (ty @ Type::F32, 4) | (ty @ Type::F64, 8) => {
                let raw = Self::raw(m.width, false, offset);
                let v = self.b.typed(Op::Load(raw), vec![base, addr], ty);
                self.define32(r, v)
            }
            (Type::I32, 1 | 2 | 4) => {
                let v = self.b.one(
                    Op::Load(Self::raw(m.width, m.signed, offset)),
                    vec![base, addr],
                );
                self.define32(r, v)
            }
            (Type::I64, 8) => {
                let lo = self
                    .b
                    .one(Op::Load(Self::raw(4, false, offset)), vec![base, addr]);
                let hi = self
                    .b
                    .one(Op::Load(Self::raw(4, false, offset + 4)), vec![base, addr]);
                self.define64(r, (lo, hi))
            }
            (Type::I64, 1 | 2 | 4) => {
                let lo = self.b.one(
                    Op::Load(Self::raw(m.width, m.signed, offset)),
                    vec![base, addr],
                );
                let v = if m.signed {
                    self.b.sign_extend(lo)
                } else {
                    (lo, self.b.konst(0))
                };
                self.define64(r, v)
            }
            (ty, w) => Err(self.error(format!("{ty:?} load of width {w}"))),
        }
    }

    pub(super) fn store(&mut self, inst: &Inst, m: &MemArg) -> Result<()> {
        let addr = self.get32(self.arg(inst, 0)?)?;
        let value = self.arg(inst, 1)?;
        let (base, offset) = self.prepare_access(addr, m)?;
        match (self.type_of(value)?, m.width) {
            (Type::F32, 4) | (Type::F64, 8) => {
                let v = self.get32(value)?;
                let arg = Self::raw(m.width, false, offset);
                self.b.effect(Op::Store(arg), vec![base, addr, v]);
            }
            (Type::I32, 1 | 2 | 4) => {
                let v = self.get32(value)?;
                let arg = Self::raw(m.width, false, offset);
                self.b.effect(Op::Store(arg), vec![base, addr, v]);
            }
            (Type::I64, 8) => {
                let (lo, hi) = self.get64(value)?;
                let low = Self::raw(4, false, offset);
                let high = Self::raw(4, false, offset + 4);
                self.b.effect(Op::Store(low), vec![base, addr, lo]);
                self.b.effect(Op::Store(high), vec![base, addr, hi]);
            }
            (Type::I64, 1 | 2 | 4) => {
                let (lo, _) = self.get64(value)?;
                let arg = Self::raw(m.width, false, offset);
                self.b.effect(Op::Store(arg), vec![base, addr, lo]);
            }
            (ty, w) => return Err(self.error(format!("{ty:?} store of width {w}"))),
        }
        Ok(())
    }

    pub(super) fn memory_size(&mut self, inst: &Inst) -> Result<()> {
        self.max_pages()?;
        let r = self.result(inst, 0)?;
        let bytes = self.memory_bytes();
        let pages = self.b.bin_k(BinaryOp::ShrU, bytes, 16);
        self.define32(r, pages)
    }

    /// Branch-free: grow when `delta <= max_pages - old`, else keep the size and answer -1.
    pub(super) fn memory_grow(&mut self, inst: &Inst) -> Result<()> {
        let max_pages = self.max_pages()?;
        let delta = self.get32(self.arg(inst, 0)?)?;
        let r = self.result(inst, 0)?;
        let bytes = self.memory_bytes();
        let old = self.b.bin_k(BinaryOp::ShrU, bytes, 16);
        let max = self.b.konst(max_pages);
        let room = self.b.bin(BinaryOp::Sub, max, old);
        let ok = self.b.cmp(Cond::LeU, delta, room);
        // Only used when ok, and then delta <= 65535, so the shift cannot overflow.
        let added = self.b.bin_k(BinaryOp::Shl, delta, 16);
        let grown = self.b.bin(BinaryOp::Add, bytes, added);
        let new_bytes = self.b.select(ok, grown, bytes);
        self.b.effect(
            Op::StoreSymbol {
                symbol: Symbol::MemoryBytes,
                offset: 0,
            },
            vec![new_bytes],
        );
        let failed = self.b.konst(u32::MAX);
        let v = self.b.select(ok, old, failed);
        self.define32(r, v)
    }

    fn global_type(&self, n: u32) -> Result<Type> {
        match self.module.globals.get(n as usize) {
            Some(g) => Ok(g.ty),
            None => Err(self.error(format!("no global {n}"))),
        }
    }

    fn load_symbol(&mut self, symbol: Symbol, offset: u32) -> Value {
        self.b.one(Op::LoadSymbol { symbol, offset }, vec![])
    }

    fn store_symbol(&mut self, symbol: Symbol, offset: u32, v: Value) {
        self.b.effect(Op::StoreSymbol { symbol, offset }, vec![v]);
    }

    /// A global's words: by the type of the value read or written (a software float global is
    /// read as the integer of its bits, a hardware one as one float value).
    pub(super) fn global_get(&mut self, inst: &Inst, n: u32) -> Result<()> {
        self.global_type(n)?;
        let r = self.result(inst, 0)?;
        let symbol = Symbol::Global(n);
        match self.type_of(r)? {
            ty @ (Type::F32 | Type::F64) => {
                let v = self
                    .b
                    .typed(Op::LoadSymbol { symbol, offset: 0 }, vec![], ty);
                self.define32(r, v)
            }
            Type::I32 => {
                let v = self.load_symbol(symbol, 0);
                self.define32(r, v)
            }
            Type::I64 => {
                let lo = self.load_symbol(symbol, 0);
                let hi = self.load_symbol(symbol, 4);
                self.define64(r, (lo, hi))
            }
        }
    }

    pub(super) fn global_set(&mut self, inst: &Inst, n: u32) -> Result<()> {
        self.global_type(n)?;
        let value = self.arg(inst, 0)?;
        let symbol = Symbol::Global(n);
        match self.type_of(value)? {
            Type::I32 | Type::F32 | Type::F64 => {
                let v = self.get32(value)?;
                self.store_symbol(symbol, 0, v);
            }
            Type::I64 => {
                let (lo, hi) = self.get64(value)?;
                self.store_symbol(symbol, 0, lo);
                self.store_symbol(symbol, 4, hi);
            }
        }
        Ok(())
    }
}

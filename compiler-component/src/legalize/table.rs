//! Table operators and `call_indirect` made explicit: a table is its size word (`LoadSymbol`)
//! and its entries (raw word accesses off `SymbolAddr(Table)`), checked with `TrapIf`;
//! the loops call the helpers of `table_runtime`.

use super::BodyLegalizer;
use super::runtime::Helper;
use super::table_runtime::TableHelper;
use crate::error::Result;
use crate::ir::table::long_type_index;
use crate::ir::{
    BinaryOp, Cond, IndirectCall, Inst, MemArg, Op, Symbol, TableOp, TrapCode, UnaryOp, Value,
};

/// The word at `base + index * 4 + offset`.
fn word(offset: u32) -> MemArg {
    MemArg {
        width: 4,
        signed: false,
        offset: offset as u64,
    }
}

impl BodyLegalizer<'_> {
    fn table_max(&self, t: u32) -> Result<u32> {
        match self.module.tables.tables.get(t as usize) {
            Some(table) => Ok(table.max),
            None => Err(self.error(format!("no table {t}"))),
        }
    }

    fn table_addr(&mut self, t: u32) -> Result<Value> {
        self.table_max(t)?;
        Ok(self.b.one(
            Op::SymbolAddr {
                symbol: Symbol::Table(t),
                offset: 0,
            },
            vec![],
        ))
    }

    fn table_size(&mut self, t: u32) -> Result<Value> {
        self.table_max(t)?;
        Ok(self.b.one(
            Op::LoadSymbol {
                symbol: Symbol::Table(t),
                offset: 0,
            },
            vec![],
        ))
    }

    /// Trap with `code` unless `index < size of table t`; the table's address and the entry's
    /// byte offset from its entries (which start at word 1: `Load(word(4))` reads the entry).
    /// One address for the size and the entry, so the symbol is materialized once.
    fn checked_entry(&mut self, t: u32, index: Value, code: TrapCode) -> Result<(Value, Value)> {
        let table = self.table_addr(t)?;
        let zero = self.b.konst(0);
        let size = self.b.one(Op::Load(word(0)), vec![table, zero]);
        let outside = self.b.cmp(Cond::GeU, index, size);
        self.b.effect(Op::TrapIf(code), vec![outside]);
        let addr = self.b.bin_k(BinaryOp::Shl, index, 2);
        Ok((table, addr))
    }

    fn helper_call(&mut self, helper: TableHelper, args: Vec<Value>, results: usize) -> Vec<Value> {
        let f = self.helpers.index_of_helper(Helper::Table(helper));
        self.b.inst(Op::Call(f), args, results)
    }

    fn elem_addr(&mut self, e: u32) -> Result<Value> {
        if self.module.tables.elems.len() <= e as usize {
            return Err(self.error(format!("no element segment {e}")));
        }
        Ok(self.b.one(
            Op::SymbolAddr {
                symbol: Symbol::Elem(e),
                offset: 0,
            },
            vec![],
        ))
    }

    pub(super) fn table_op(&mut self, inst: &Inst, op: TableOp) -> Result<()> {
        let args = inst
            .args
            .iter()
            .map(|a| self.get32(*a))
            .collect::<Result<Vec<_>>>()?;
        let missing = self.error(format!("{op:?} lacks an argument"));
        let arg =
            |i: usize| -> Result<Value> { args.get(i).copied().ok_or_else(|| missing.clone()) };
        let result = match op {
            TableOp::Get(t) => {
                let (base, addr) = self.checked_entry(t, arg(0)?, TrapCode::TableOutOfBounds)?;
                Some(self.b.one(Op::Load(word(4)), vec![base, addr]))
            }
            TableOp::Set(t) => {
                let (index, value) = (arg(0)?, arg(1)?);
                let (base, addr) = self.checked_entry(t, index, TrapCode::TableOutOfBounds)?;
                self.b.effect(Op::Store(word(4)), vec![base, addr, value]);
                None
            }
            TableOp::Size(t) => Some(self.table_size(t)?),
            TableOp::Grow(t) => {
                let max = self.table_max(t)?;
                let table = self.table_addr(t)?;
                let max = self.b.konst(max);
                let r = self.helper_call(TableHelper::Grow, vec![table, arg(0)?, arg(1)?, max], 1);
                r.first().copied()
            }
            TableOp::Fill(t) => {
                let table = self.table_addr(t)?;
                self.helper_call(TableHelper::Fill, vec![table, arg(0)?, arg(1)?, arg(2)?], 0);
                None
            }
            TableOp::Copy { dst, src } => {
                let d = self.table_addr(dst)?;
                let s = self.table_addr(src)?;
                let call = vec![d, s, arg(0)?, arg(1)?, arg(2)?];
                self.helper_call(TableHelper::Copy, call, 0);
                None
            }
            TableOp::Init { table, elem } => {
                let t = self.table_addr(table)?;
                let e = self.elem_addr(elem)?;
                let call = vec![t, e, arg(0)?, arg(1)?, arg(2)?];
                self.helper_call(TableHelper::Init, call, 0);
                None
            }
            TableOp::ElemDrop(e) => {
                self.elem_addr(e)?;
                let zero = self.b.konst(0);
                self.b.effect(
                    Op::StoreSymbol {
                        symbol: Symbol::Elem(e),
                        offset: 0,
                    },
                    vec![zero],
                );
                None
            }
            TableOp::RefFunc(f) => {
                if !self.module.tables.funcrefs.contains_key(&f) {
                    return Err(self.error(format!("ref.func {f} without a descriptor")));
                }
                Some(self.b.one(
                    Op::SymbolAddr {
                        symbol: Symbol::FuncRef(f),
                        offset: 0,
                    },
                    vec![],
                ))
            }
        };
        match (inst.results.first(), result) {
            (Some(r), Some(v)) => self.define32(*r, v),
            (None, None) => Ok(()),
            _ => Err(self.error(format!("{op:?} has the wrong number of results"))),
        }
    }

    /// One bounds check, a null check, one type-id compare, then the call through the
    /// descriptor's code address.
    pub(super) fn call_indirect(&mut self, inst: &Inst, call: &IndirectCall) -> Result<()> {
        let (index, call_args) = inst
            .args
            .split_last()
            .ok_or_else(|| self.error("call_indirect without an index"))?;
        let index = self.get32(*index)?;
        let (base, addr) = self.checked_entry(call.table, index, TrapCode::UndefinedElement)?;
        let entry = self.b.one(Op::Load(word(4)), vec![base, addr]);
        let null = self.b.un(UnaryOp::Eqz, entry);
        self.b
            .effect(Op::TrapIf(TrapCode::UninitializedElement), vec![null]);
        let zero = self.b.konst(0);
        let type_id = self.b.one(Op::Load(word(0)), vec![entry, zero]);
        let expected = match long_type_index(call.type_id) {
            // A long id is the address of its symbol.
            Some(k) => self.b.one(
                Op::SymbolAddr {
                    symbol: Symbol::TypeId(k),
                    offset: 0,
                },
                vec![],
            ),
            None => self.b.konst(call.type_id),
        };
        let mismatch = self.b.cmp(Cond::Ne, type_id, expected);
        self.b.effect(
            Op::TrapIf(TrapCode::IndirectCallTypeMismatch),
            vec![mismatch],
        );
        let code = self.b.one(Op::Load(word(4)), vec![entry, zero]);
        let mut args = vec![code];
        args.extend(self.flatten(call_args)?);
        let mut types = Vec::new();
        for r in &inst.results {
            types.extend(super::word_types(self.type_of(*r)?));
        }
        let sig = Box::new(call.sig.clone());
        let mut words = self
            .b
            .inst_typed(Op::CallPtr(sig), args, &types)
            .into_iter();
        for r in &inst.results {
            let n = super::words(self.type_of(*r)?);
            self.define(*r, words.by_ref().take(n).collect())?;
        }
        Ok(())
    }
}

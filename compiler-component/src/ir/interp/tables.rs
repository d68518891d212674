//! Tables, element segments and function references in the interpreter.
//!
//! They live in the flat address space with the layout the object file gives them (docs/ABI.md):
//! a function descriptor is `{type id, code address}`, a table its size word followed by room for
//! `max` entries, a passive element segment its length word followed by its items. The frontend
//! operators (`Op::Table`, `Op::CallIndirect`) work on those same bytes, so a function's frontend
//! and legalized forms see one state. Code addresses are an unmapped gap before linear memory:
//! calling through one finds the function, reading it faults.

use super::{Frame, Interp, InterpError, PendingCall, Res, invalid};
use crate::ir::table::{RefValue, long_type_index};
use crate::ir::{IndirectCall, Inst, Module, TableOp, TrapCode};
use std::collections::BTreeMap;

/// A mutable byte region of the address space.
pub(super) struct Region {
    pub start: u64,
    pub bytes: Vec<u8>,
}

/// Where the reference-typed state of a module lives.
#[derive(Default)]
pub(super) struct RefLayout {
    pub regions: Vec<Region>,
    /// Region index of each table and each element segment.
    pub tables: Vec<usize>,
    pub elems: Vec<usize>,
    /// Region of each long type id (its address is the id, as in the object).
    pub type_ids: Vec<usize>,
    /// Descriptor address of each function that has one.
    pub funcrefs: BTreeMap<u32, u64>,
    /// Code address of function 0; function n is at `code_base + 4 * n`.
    pub code_base: u64,
    /// Descriptors still to write once code addresses are known: (region, function, type id).
    descriptors: Vec<(usize, u32, u32)>,
}

impl RefLayout {
    /// Places descriptors, tables and element segments from `next` on; returns the layout and
    /// the first free address. Code addresses are set later by `place_code`.
    pub fn new(module: &Module, mut next: u64) -> (RefLayout, u64) {
        let mut layout = RefLayout::default();
        let mut alloc = |layout: &mut RefLayout, len: u64| {
            layout.regions.push(Region {
                start: next,
                bytes: vec![0; len as usize],
            });
            next = (next + len + 7) & !7;
            layout.regions.len() - 1
        };
        for _ in &module.tables.long_type_ids {
            let r = alloc(&mut layout, 4);
            layout.type_ids.push(r);
        }
        let mut descriptors = Vec::new();
        for (&f, &type_id) in &module.tables.funcrefs {
            let r = alloc(&mut layout, 8);
            layout.funcrefs.insert(f, layout.regions[r].start);
            descriptors.push((r, f, type_id));
        }
        for table in &module.tables.tables {
            let r = alloc(&mut layout, 4 + 4 * table.max as u64);
            layout.tables.push(r);
        }
        for elem in &module.tables.elems {
            let r = alloc(&mut layout, 4 + 4 * elem.items.len() as u64);
            layout.elems.push(r);
        }
        // Contents that do not depend on code addresses.
        for (t, table) in module.tables.tables.iter().enumerate() {
            let words: Vec<u32> = std::iter::once(table.initial)
                .chain(table.init.iter().map(|v| layout.ref_word(*v)))
                .collect();
            layout.fill(layout.tables[t], &words);
        }
        for (e, elem) in module.tables.elems.iter().enumerate() {
            let words: Vec<u32> = std::iter::once(elem.items.len() as u32)
                .chain(elem.items.iter().map(|v| layout.ref_word(*v)))
                .collect();
            layout.fill(layout.elems[e], &words);
        }
        layout.descriptors = descriptors;
        (layout, next)
    }

    /// Sets the code addresses (unmapped, from `code_base` on) and writes the descriptors.
    pub fn place_code(&mut self, code_base: u64) {
        self.code_base = code_base;
        for (r, f, type_id) in std::mem::take(&mut self.descriptors) {
            let code = self.code_addr(f) as u32;
            let type_word = self.type_word(type_id);
            self.fill(r, &[type_word, code]);
        }
    }

    /// The word a descriptor holds for IR type id `id`: the id itself, or for a long one the
    /// address of its region.
    pub fn type_word(&self, id: u32) -> u32 {
        match long_type_index(id).and_then(|k| self.type_ids.get(k as usize)) {
            Some(&r) => self.regions[r].start as u32,
            None => id,
        }
    }

    pub fn code_addr(&self, f: u32) -> u64 {
        self.code_base + 4 * f as u64
    }

    /// The function whose code address is `addr`.
    pub fn function_at(&self, addr: u32, functions: usize) -> Option<u32> {
        let off = (addr as u64).checked_sub(self.code_base)?;
        let f = off / 4;
        (off % 4 == 0 && (f as usize) < functions).then_some(f as u32)
    }

    fn ref_word(&self, v: RefValue) -> u32 {
        match v {
            RefValue::Null => 0,
            RefValue::Func(f) => self.funcrefs.get(&f).map_or(0, |a| *a as u32),
        }
    }

    fn fill(&mut self, region: usize, words: &[u32]) {
        let bytes = &mut self.regions[region].bytes;
        for (i, w) in words.iter().enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
    }

    /// The region and offset holding `addr`.
    pub fn place(&self, addr: u64) -> Option<(usize, usize)> {
        let i = self
            .regions
            .partition_point(|r| r.start <= addr)
            .checked_sub(1)?;
        let r = &self.regions[i];
        let off = addr - r.start;
        (off < r.bytes.len() as u64).then_some((i, off as usize))
    }

    fn word(&self, region: usize, index: u64) -> u32 {
        let at = 4 * index as usize;
        let b = &self.regions[region].bytes;
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// `table.copy` / `table.init`: entries `s..s + n` of region `src` to `d..` of `dst`, as
    /// through a buffer (overlap-safe); traps when either range passes its region's length word.
    fn copy_entries(&mut self, dst: usize, d: u64, src: usize, s: u64, n: u64) -> Res<()> {
        if s + n > self.word(src, 0) as u64 || d + n > self.word(dst, 0) as u64 {
            return Err(InterpError::Trap(TrapCode::TableOutOfBounds));
        }
        let items: Vec<u32> = (s..s + n).map(|i| self.word(src, 1 + i)).collect();
        for (i, v) in items.into_iter().enumerate() {
            self.set_word(dst, 1 + d + i as u64, v);
        }
        Ok(())
    }

    fn set_word(&mut self, region: usize, index: u64, v: u32) {
        let at = 4 * index as usize;
        self.regions[region].bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

impl<'m> Interp<'m> {
    fn table_region(&self, t: u32) -> Res<usize> {
        match self.refs.tables.get(t as usize) {
            Some(r) => Ok(*r),
            None => invalid(format!("no table {t}")),
        }
    }

    fn elem_region(&self, e: u32) -> Res<usize> {
        match self.refs.elems.get(e as usize) {
            Some(r) => Ok(*r),
            None => invalid(format!("no element segment {e}")),
        }
    }

    /// Entry `index` of table `t` (word 0 of the region is the size).
    fn entry(&self, t: u32, index: u32, code: TrapCode) -> Res<(usize, u64)> {
        let r = self.table_region(t)?;
        if index >= self.refs.word(r, 0) {
            return Err(InterpError::Trap(code));
        }
        Ok((r, 1 + index as u64))
    }

    /// The frontend table operators.
    pub(super) fn table_op(&mut self, frame: &mut Frame<'m>, inst: &Inst, op: TableOp) -> Res<()> {
        let args = inst
            .args
            .iter()
            .map(|a| frame.get32(*a))
            .collect::<Res<Vec<u32>>>()?;
        let arg = |i: usize| match args.get(i) {
            Some(v) => Ok(*v),
            None => invalid(format!("{op:?}: missing argument {i}")),
        };
        let out_of_bounds = Err(InterpError::Trap(TrapCode::TableOutOfBounds));
        let result = match op {
            TableOp::Get(t) => {
                let (r, at) = self.entry(t, arg(0)?, TrapCode::TableOutOfBounds)?;
                Some(self.refs.word(r, at))
            }
            TableOp::Set(t) => {
                let (r, at) = self.entry(t, arg(0)?, TrapCode::TableOutOfBounds)?;
                self.refs.set_word(r, at, arg(1)?);
                None
            }
            TableOp::Size(t) => Some(self.refs.word(self.table_region(t)?, 0)),
            TableOp::Grow(t) => {
                let r = self.table_region(t)?;
                let max = self.module.tables.tables[t as usize].max as u64;
                let (init, delta) = (arg(0)?, arg(1)? as u64);
                let old = self.refs.word(r, 0) as u64;
                if old + delta > max {
                    Some(u32::MAX)
                } else {
                    for i in old..old + delta {
                        self.refs.set_word(r, 1 + i, init);
                    }
                    self.refs.set_word(r, 0, (old + delta) as u32);
                    Some(old as u32)
                }
            }
            TableOp::Fill(t) => {
                let r = self.table_region(t)?;
                let (start, value, n) = (arg(0)? as u64, arg(1)?, arg(2)? as u64);
                if start + n > self.refs.word(r, 0) as u64 {
                    return out_of_bounds;
                }
                for i in start..start + n {
                    self.refs.set_word(r, 1 + i, value);
                }
                None
            }
            TableOp::Copy { dst, src } => {
                let (rd, rs) = (self.table_region(dst)?, self.table_region(src)?);
                let (d, s, n) = (arg(0)? as u64, arg(1)? as u64, arg(2)? as u64);
                self.refs.copy_entries(rd, d, rs, s, n)?;
                None
            }
            TableOp::Init { table, elem } => {
                let (rt, re) = (self.table_region(table)?, self.elem_region(elem)?);
                let (d, s, n) = (arg(0)? as u64, arg(1)? as u64, arg(2)? as u64);
                self.refs.copy_entries(rt, d, re, s, n)?;
                None
            }
            TableOp::ElemDrop(e) => {
                let r = self.elem_region(e)?;
                self.refs.set_word(r, 0, 0);
                None
            }
            TableOp::RefFunc(f) => match self.refs.funcrefs.get(&f) {
                Some(a) => Some(*a as u32),
                None => return invalid(format!("ref.func {f} without a descriptor")),
            },
        };
        match (inst.results.first(), result) {
            (Some(r), Some(v)) => frame.set(*r, v as u64),
            (None, None) => Ok(()),
            _ => invalid(format!("{op:?} has the wrong number of results")),
        }
    }

    /// Frontend `call_indirect`: bounds, null and signature checks, then the call.
    pub(super) fn call_indirect(
        &mut self,
        frame: &mut Frame<'m>,
        inst: &Inst,
        call: &IndirectCall,
    ) -> Res<Option<PendingCall<'m>>> {
        let Some((index, args)) = inst.args.split_last() else {
            return invalid("call_indirect without an index");
        };
        let (r, at) = self.entry(call.table, frame.get32(*index)?, TrapCode::UndefinedElement)?;
        let descriptor = self.refs.word(r, at);
        if descriptor == 0 {
            return Err(InterpError::Trap(TrapCode::UninitializedElement));
        }
        if self.read(descriptor as u64, 4)? as u32 != self.refs.type_word(call.type_id) {
            return Err(InterpError::Trap(TrapCode::IndirectCallTypeMismatch));
        }
        let code = self.read(descriptor as u64 + 4, 4)? as u32;
        let callee = self.callee_at(code)?;
        self.exec_call(frame, callee, args, &inst.results)
    }

    /// Legalized `CallPtr`: args[0] is a code address.
    pub(super) fn call_ptr(
        &mut self,
        frame: &mut Frame<'m>,
        inst: &Inst,
    ) -> Res<Option<PendingCall<'m>>> {
        let Some((code, args)) = inst.args.split_first() else {
            return invalid(format!("{:?} without a code address", inst.op));
        };
        let callee = self.callee_at(frame.get32(*code)?)?;
        self.exec_call(frame, callee, args, &inst.results)
    }

    fn callee_at(&self, code: u32) -> Res<u32> {
        match self.refs.function_at(code, self.module.functions.len()) {
            Some(f) => Ok(f),
            None => invalid(format!("call through {code:#x}, which is no function")),
        }
    }

    /// Frontend-form instantiation steps for references, in the order `synth_init` does them.
    pub(super) fn instantiate_refs(&mut self) -> Res<()> {
        if self.module.tables.init_trap {
            return Err(InterpError::Trap(TrapCode::ElemSegmentOutOfBounds));
        }
        for &(global, f) in &self.module.tables.global_refs {
            let Some(addr) = self.refs.funcrefs.get(&f).copied() else {
                return invalid(format!(
                    "global {global} refers to function {f} without a descriptor"
                ));
            };
            let slot = self.global_addr(global)?;
            self.write(slot, 4, addr)?;
        }
        for &(global, source) in &self.module.tables.global_copies {
            let value = self.read(self.global_addr(source)?, 8)?;
            self.write(self.global_addr(global)?, 8, value)?;
        }
        for active in self.module.tables.runtime_elems.clone() {
            let (Some(&t), Some(&e)) = (
                self.refs.tables.get(active.table as usize),
                self.refs.elems.get(active.elem as usize),
            ) else {
                return invalid(format!("element segment {} has no table", active.elem));
            };
            let size = self.refs.word(t, 0) as u64;
            let offset = match active.offset_global {
                Some(g) => self.read(self.global_addr(g)?, 4)?,
                None => active.offset as u64,
            };
            let len = self.refs.word(e, 0) as u64;
            if offset + len > size {
                return Err(InterpError::Trap(TrapCode::ElemSegmentOutOfBounds));
            }
            let items: Vec<u32> = (0..len).map(|i| self.refs.word(e, 1 + i)).collect();
            let at = 4 * (1 + offset as usize);
            let bytes = &mut self.refs.regions[t].bytes;
            for (i, w) in items.iter().enumerate() {
                bytes[at + 4 * i..at + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
            }
            self.refs.regions[e].bytes[..4].copy_from_slice(&0u32.to_le_bytes());
        }
        Ok(())
    }
}

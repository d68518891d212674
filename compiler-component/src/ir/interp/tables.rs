//! Tables, element segments and function references in the interpreter.
//!
//! They live in the flat address space with the layout the object file gives them (docs/ABI.md):
//! a function descriptor is `{type id, code address}`, a table its size word followed by room for
//! `max` entries, a passive element segment its length word followed by its items. The frontend
//! operators (`Op::Table`, `Op::CallIndirect`) work on those same bytes, so a function's frontend
//! and legalized forms see one state.
//!
//! Instances that link share one `RefSpace`: a window at the top of the address space where every
//! instance's descriptors, tables, element segments, long type ids and code addresses are placed
//! by one allocator, as a linker places the objects of one image. A reference therefore means the
//! same in every instance, so a table can be imported and a function of one instance called
//! through another's table. Code addresses are unmapped: calling through one finds the function
//! (and its instance), reading it faults.

use super::{Frame, Interp, InterpError, PendingCall, Res, SharedInterp, invalid};
use crate::ir::table::{RefValue, long_type_index};
use crate::ir::{IndirectCall, Inst, Module, TableOp, TrapCode};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The reference window: `[REF_BASE, 2^32)`. Linear memory ends below it.
pub(super) const REF_BASE: u64 = 0xf000_0000;
const REF_END: u64 = 1 << 32;

/// A mutable byte region of the address space.
pub(super) struct Region {
    pub start: u64,
    pub bytes: Vec<u8>,
}

/// The code addresses of one instance's functions: function n is at `start + 4 * n`.
struct CodeRange {
    start: u64,
    functions: u32,
    instance: usize,
}

/// The reference-typed state of instances that link with each other (see the module comment).
pub struct RefSpace<'m> {
    regions: Vec<Region>,
    next: u64,
    code: Vec<CodeRange>,
    /// Each instance by id, once it is shared (`Interp::into_shared`). The space keeps them
    /// alive, as a store does: a table may hold functions of an instance nothing else names
    /// (one whose instantiation trapped). `release_instances` ends that.
    instances: Vec<Option<SharedInterp<'m>>>,
    /// Imported functions linked to an export: (instance, function) -> the exporter's. A
    /// reference to an import is its exporter's function, called without entering the
    /// importer.
    aliases: BTreeMap<(usize, u32), (usize, u32)>,
    /// A long type id is the address of one region per signature, like the weak symbol that
    /// stands for it in the objects.
    long_types: BTreeMap<String, usize>,
}

/// A reference space the instances of one linked program share.
pub type SharedRefSpace<'m> = Rc<RefCell<RefSpace<'m>>>;

impl<'m> RefSpace<'m> {
    pub fn shared() -> SharedRefSpace<'m> {
        Rc::new(RefCell::new(RefSpace {
            regions: Vec::new(),
            next: REF_BASE,
            code: Vec::new(),
            instances: Vec::new(),
            aliases: BTreeMap::new(),
            long_types: BTreeMap::new(),
        }))
    }

    /// Reserves `len` bytes (8-aligned) from the window.
    fn reserve(&mut self, len: u64) -> Res<u64> {
        let start = self.next;
        let end = (start + len + 7) & !7;
        if end > REF_END {
            return invalid("the linked instances' tables and references exceed the window");
        }
        self.next = end;
        Ok(start)
    }

    /// A new zeroed region of `len` bytes; its index.
    fn alloc(&mut self, len: u64) -> Res<usize> {
        let start = self.reserve(len)?;
        self.regions.push(Region {
            start,
            bytes: vec![0; len as usize],
        });
        Ok(self.regions.len() - 1)
    }

    pub(super) fn register(&mut self, instance: usize, handle: &SharedInterp<'m>) {
        if let Some(slot) = self.instances.get_mut(instance) {
            *slot = Some(Rc::clone(handle));
        }
    }

    /// Drops the space's hold on its instances (they and the space refer to each other).
    pub fn release_instances(&mut self) {
        self.instances.iter_mut().for_each(|i| *i = None);
    }

    pub(super) fn alias(&mut self, import: (usize, u32), export: (usize, u32)) {
        self.aliases.insert(import, export);
    }

    /// The shared handle of instance `id`.
    pub(super) fn instance(&self, id: usize) -> Res<SharedInterp<'m>> {
        match self.instances.get(id).and_then(Option::as_ref) {
            Some(interp) => Ok(Rc::clone(interp)),
            None => invalid(format!("instance {id} is not shared (Interp::into_shared)")),
        }
    }

    /// The instance and function whose code address is `addr`, through linked imports to the
    /// function that runs.
    pub(super) fn function_at(&self, addr: u32) -> Option<(usize, u32)> {
        let addr = addr as u64;
        let i = self
            .code
            .partition_point(|c| c.start <= addr)
            .checked_sub(1)?;
        let range = &self.code[i];
        let off = addr - range.start;
        let f = off / 4;
        if !off.is_multiple_of(4) || f >= range.functions as u64 {
            return None;
        }
        let mut target = (range.instance, f as u32);
        // Links only point at instances created earlier, so this ends.
        while let Some(&next) = self.aliases.get(&target) {
            target = next;
        }
        Some(target)
    }

    /// The region and offset holding `addr`.
    pub(super) fn place(&self, addr: u64) -> Option<(usize, usize)> {
        let i = self
            .regions
            .partition_point(|r| r.start <= addr)
            .checked_sub(1)?;
        let r = &self.regions[i];
        let off = addr - r.start;
        (off < r.bytes.len() as u64).then_some((i, off as usize))
    }

    pub(super) fn byte(&self, region: usize, at: usize) -> u8 {
        self.regions[region].bytes[at]
    }

    pub(super) fn set_byte(&mut self, region: usize, at: usize, v: u8) {
        self.regions[region].bytes[at] = v;
    }

    pub(super) fn start(&self, region: usize) -> u64 {
        self.regions[region].start
    }

    /// Entries a table region has room for.
    fn capacity(&self, region: usize) -> u64 {
        (self.regions[region].bytes.len() as u64 - 4) / 4
    }

    fn word(&self, region: usize, index: u64) -> u32 {
        let at = 4 * index as usize;
        let b = &self.regions[region].bytes;
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    fn set_word(&mut self, region: usize, index: u64, v: u32) {
        let at = 4 * index as usize;
        self.regions[region].bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn fill(&mut self, region: usize, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            self.set_word(region, i as u64, *w);
        }
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
}

/// Where one instance's reference-typed state lives in its space.
pub(super) struct RefLayout {
    /// The instance's id in its space.
    pub instance: usize,
    /// Region of each table (an imported and linked one is its exporter's) and element segment.
    pub tables: Vec<usize>,
    pub elems: Vec<usize>,
    /// Region of each long type id (its address is the id, as in the object).
    pub type_ids: Vec<usize>,
    /// Descriptor address of each function that has one.
    pub funcrefs: BTreeMap<u32, u64>,
    /// Code address of function 0; function n is at `code_base + 4 * n`.
    pub code_base: u64,
}

impl RefLayout {
    /// Places the module's long type ids, descriptors, tables and element segments, then its
    /// code addresses, in `space`, and writes their initial contents. An imported table gets a
    /// region of its own until `link_storage` binds it to its exporter's.
    pub fn new(module: &Module, space: &mut RefSpace<'_>) -> Res<RefLayout> {
        let instance = space.instances.len();
        space.instances.push(None);
        let mut type_ids = Vec::new();
        for name in &module.tables.long_type_ids {
            let region = match space.long_types.get(name) {
                Some(r) => *r,
                None => {
                    let r = space.alloc(4)?;
                    space.long_types.insert(name.clone(), r);
                    r
                }
            };
            type_ids.push(region);
        }
        let mut descriptors = Vec::new();
        let mut funcrefs = BTreeMap::new();
        for (&f, &type_id) in &module.tables.funcrefs {
            let r = space.alloc(8)?;
            funcrefs.insert(f, space.start(r));
            descriptors.push((r, f, type_id));
        }
        let mut tables = Vec::new();
        for table in &module.tables.tables {
            tables.push(space.alloc(4 + 4 * table.max as u64)?);
        }
        let mut elems = Vec::new();
        for elem in &module.tables.elems {
            elems.push(space.alloc(4 + 4 * elem.items.len() as u64)?);
        }
        let functions = module.functions.len() as u32;
        let code_base = space.reserve(4 * functions as u64)?;
        space.code.push(CodeRange {
            start: code_base,
            functions,
            instance,
        });
        let layout = RefLayout {
            instance,
            tables,
            elems,
            type_ids,
            funcrefs,
            code_base,
        };
        for (r, f, type_id) in descriptors {
            let words = [layout.type_word(space, type_id), layout.code_addr(f) as u32];
            space.fill(r, &words);
        }
        for (t, table) in module.tables.tables.iter().enumerate() {
            let words: Vec<u32> = std::iter::once(table.initial)
                .chain(table.init.iter().map(|v| layout.ref_word(*v)))
                .collect();
            space.fill(layout.tables[t], &words);
        }
        for (e, elem) in module.tables.elems.iter().enumerate() {
            let words: Vec<u32> = std::iter::once(elem.items.len() as u32)
                .chain(elem.items.iter().map(|v| layout.ref_word(*v)))
                .collect();
            space.fill(layout.elems[e], &words);
        }
        Ok(layout)
    }

    /// The word a descriptor holds for IR type id `id`: the id itself, or for a long one the
    /// address of its region.
    pub fn type_word(&self, space: &RefSpace<'_>, id: u32) -> u32 {
        match long_type_index(id).and_then(|k| self.type_ids.get(k as usize)) {
            Some(&r) => space.start(r) as u32,
            None => id,
        }
    }

    pub fn code_addr(&self, f: u32) -> u64 {
        self.code_base + 4 * f as u64
    }

    fn ref_word(&self, v: RefValue) -> u32 {
        match v {
            RefValue::Null => 0,
            RefValue::Func(f) => self.funcrefs.get(&f).map_or(0, |a| *a as u32),
        }
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
        if index >= self.space.borrow().word(r, 0) {
            return Err(InterpError::Trap(code));
        }
        Ok((r, 1 + index as u64))
    }

    /// Current size of the table exported as `name`.
    pub fn exported_table_size(&self, name: &str) -> Option<u32> {
        let tables = &self.module.tables.tables;
        let t = tables
            .iter()
            .position(|t| t.exports.iter().any(|e| e == name))?;
        Some(self.space.borrow().word(self.refs.tables[t], 0))
    }

    /// Binds imported table `t` to `exporter`'s table exported as `name` (same space only: a
    /// reference is an address in the space).
    pub(super) fn link_table(&mut self, t: usize, exporter: &Interp<'m>, name: &str) -> Res<()> {
        if !Rc::ptr_eq(&self.space, &exporter.space) {
            return invalid(format!(
                "table `{name}`: the instances are in different reference spaces"
            ));
        }
        let tables = &exporter.module.tables.tables;
        let Some(x) = tables
            .iter()
            .position(|t| t.exports.iter().any(|e| e == name))
        else {
            return invalid(format!("no table `{name}` exported"));
        };
        self.refs.tables[t] = exporter.refs.tables[x];
        Ok(())
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
        let space = Rc::clone(&self.space);
        let mut space = space.borrow_mut();
        let result = match op {
            TableOp::Get(t) => {
                let r = self.table_region(t)?;
                let index = arg(0)?;
                if index >= space.word(r, 0) {
                    return out_of_bounds;
                }
                Some(space.word(r, 1 + index as u64))
            }
            TableOp::Set(t) => {
                let r = self.table_region(t)?;
                let index = arg(0)?;
                if index >= space.word(r, 0) {
                    return out_of_bounds;
                }
                space.set_word(r, 1 + index as u64, arg(1)?);
                None
            }
            TableOp::Size(t) => Some(space.word(self.table_region(t)?, 0)),
            TableOp::Grow(t) => {
                let r = self.table_region(t)?;
                // An imported table may have less room than this module's view of it.
                let max = (self.module.tables.tables[t as usize].max as u64).min(space.capacity(r));
                let (init, delta) = (arg(0)?, arg(1)? as u64);
                let old = space.word(r, 0) as u64;
                if old + delta > max {
                    Some(u32::MAX)
                } else {
                    for i in old..old + delta {
                        space.set_word(r, 1 + i, init);
                    }
                    space.set_word(r, 0, (old + delta) as u32);
                    Some(old as u32)
                }
            }
            TableOp::Fill(t) => {
                let r = self.table_region(t)?;
                let (start, value, n) = (arg(0)? as u64, arg(1)?, arg(2)? as u64);
                if start + n > space.word(r, 0) as u64 {
                    return out_of_bounds;
                }
                for i in start..start + n {
                    space.set_word(r, 1 + i, value);
                }
                None
            }
            TableOp::Copy { dst, src } => {
                let (rd, rs) = (self.table_region(dst)?, self.table_region(src)?);
                let (d, s, n) = (arg(0)? as u64, arg(1)? as u64, arg(2)? as u64);
                space.copy_entries(rd, d, rs, s, n)?;
                None
            }
            TableOp::Init { table, elem } => {
                let (rt, re) = (self.table_region(table)?, self.elem_region(elem)?);
                let (d, s, n) = (arg(0)? as u64, arg(1)? as u64, arg(2)? as u64);
                space.copy_entries(rt, d, re, s, n)?;
                None
            }
            TableOp::ElemDrop(e) => {
                space.set_word(self.elem_region(e)?, 0, 0);
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
        let (descriptor, expected) = {
            let space = self.space.borrow();
            (space.word(r, at), self.refs.type_word(&space, call.type_id))
        };
        if descriptor == 0 {
            return Err(InterpError::Trap(TrapCode::UninitializedElement));
        }
        if self.read(descriptor as u64, 4)? as u32 != expected {
            return Err(InterpError::Trap(TrapCode::IndirectCallTypeMismatch));
        }
        let code = self.read(descriptor as u64 + 4, 4)? as u32;
        self.call_code(frame, code, args, &inst.results)
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
        let code = frame.get32(*code)?;
        self.call_code(frame, code, args, &inst.results)
    }

    /// Calls the function at code address `code`: in this instance, or in the one that owns it
    /// (a reference taken from a shared table).
    fn call_code(
        &mut self,
        frame: &mut Frame<'m>,
        code: u32,
        args: &[crate::ir::Value],
        results: &[crate::ir::Value],
    ) -> Res<Option<PendingCall<'m>>> {
        let target = self.space.borrow().function_at(code);
        match target {
            Some((instance, f)) if instance == self.refs.instance => {
                self.exec_call(frame, f, args, results)
            }
            Some((instance, f)) => {
                let callee = self.space.borrow().instance(instance)?;
                self.call_other_instance(frame, &callee, f, args, results)?;
                Ok(None)
            }
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
        for item in &self.module.tables.elem_globals {
            let Some(&e) = self.refs.elems.get(item.elem as usize) else {
                return invalid(format!("no element segment {}", item.elem));
            };
            let value = self.read(self.global_addr(item.global)?, 4)? as u32;
            self.space
                .borrow_mut()
                .set_word(e, 1 + item.item as u64, value);
        }
        for active in self.module.tables.runtime_elems.clone() {
            let (Some(&t), Some(&e)) = (
                self.refs.tables.get(active.table as usize),
                self.refs.elems.get(active.elem as usize),
            ) else {
                return invalid(format!("element segment {} has no table", active.elem));
            };
            let offset = match active.offset_global {
                Some(g) => self.read(self.global_addr(g)?, 4)?,
                None => active.offset as u64,
            };
            let mut space = self.space.borrow_mut();
            let len = space.word(e, 0) as u64;
            if offset + len > space.word(t, 0) as u64 {
                return Err(InterpError::Trap(TrapCode::ElemSegmentOutOfBounds));
            }
            space.copy_entries(t, offset, e, 0, len)?;
            space.set_word(e, 0, 0);
        }
        Ok(())
    }
}

//! Reference interpreter for `ir::Module`, in both the frontend form and the legalized form.
//!
//! It is the oracle for the IR-to-IR passes: run a function before and after a pass and compare.
//! Symbols live in one flat 32-bit address space (the `MemoryBytes` word, globals, data segments,
//! linear memory of `max_pages`), so raw post-legalize accesses through `SymbolAddr` and the
//! checked frontend accesses see the same state.
//!
//! Instances link like the objects they model: `link` binds a module's imports from one module
//! name to another interpreter's exports. A linked function call runs in the exporter (its
//! state, its step limit); a linked global or memory is the exporter's storage itself (shared
//! handles), so a write on either side is seen by both. Imports left unlinked follow the test
//! mock semantics: result k = (wrapping sum of the arguments, i32 ones sign-extended) +
//! 0x1234 * (k + 1).

use crate::ir::{
    BinaryOp, Block, Cond, Function, FunctionKind, Import, Inst, MemArg, Module, Op, Symbol,
    Terminator, TrapCode, Type, UnaryOp, Value, float,
};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

mod bulk;
#[cfg(test)]
mod link_tests;
mod tables;
use tables::{REF_BASE, RefLayout};
pub use tables::{RefSpace, SharedRefSpace};

/// Why a call did not return normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpError {
    /// The program trapped (the wasm-visible outcome).
    Trap(TrapCode),
    /// More instructions executed than the step limit allows.
    StepLimit,
    /// The IR broke an invariant the interpreter relies on (a bug in the pass that produced it).
    Invalid(String),
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpError::Trap(code) => write!(f, "trap {}: {}", code.code(), code.message()),
            InterpError::StepLimit => write!(f, "step limit exceeded"),
            InterpError::Invalid(msg) => write!(f, "invalid IR: {msg}"),
        }
    }
}

type Res<T> = Result<T, InterpError>;

fn invalid<T>(msg: impl Into<String>) -> Res<T> {
    Err(InterpError::Invalid(msg.into()))
}

/// Where the symbols live in the interpreter's address space. Nothing is mapped below
/// `MEMORY_BYTES_ADDR`, so a forgotten base address faults instead of reading garbage.
const MEMORY_BYTES_ADDR: u64 = 0x100;
const GLOBALS_ADDR: u64 = 0x200;
const GLOBAL_SLOT: u64 = 8;
const PAGE: u64 = 65536;

/// Default instruction budget of one `call`.
pub const DEFAULT_STEP_LIMIT: u64 = 50_000_000;
/// Call nesting beyond this traps with `StackOverflow` (keeps the host stack bounded).
pub const MAX_CALL_DEPTH: u32 = 400;

enum Place {
    MemoryBytes(usize),
    Global(usize, usize),
    Data(usize, usize),
    /// Byte of the length word of data segment N.
    DataLength(usize, usize),
    /// A table, element segment or function descriptor.
    Ref(usize, usize),
    Linear(usize),
}

/// A linear memory: its size word (`MemoryBytes`) and its touched bytes; bytes past the end of
/// `data` read as zero (the `.bss` model).
#[derive(Default)]
struct LinearMemory {
    bytes: u32,
    data: Vec<u8>,
}

/// An interpreter another instance can link to (`Interp::link`).
pub type SharedInterp<'m> = Rc<RefCell<Interp<'m>>>;

pub struct Interp<'m> {
    module: &'m Module,
    /// The module's memory, or its exporter's when imported and linked.
    memory: Rc<RefCell<LinearMemory>>,
    /// One slot per global; an imported and linked global is the exporter's slot.
    globals: Vec<Rc<Cell<[u8; 8]>>>,
    /// Imported functions bound to an exporter: function index -> (exporter, its function).
    linked: BTreeMap<u32, (SharedInterp<'m>, u32)>,
    data_addrs: Vec<u64>,
    /// Length words of the data segments (`Symbol::DataLength`): what `memory.init` may read.
    data_lens: Vec<u32>,
    data_lens_addr: u64,
    linear_base: u64,
    linear_max: u64,
    /// The tables and references of every instance this one links with.
    space: SharedRefSpace<'m>,
    refs: RefLayout,
    step_limit: u64,
    steps: u64,
}

impl<'m> Interp<'m> {
    /// An instance in a reference space of its own.
    pub fn new(module: &'m Module) -> Res<Interp<'m>> {
        Self::new_in(module, &RefSpace::shared())
    }

    /// An instance in `space`, which every instance it will link with must share.
    pub fn new_in(module: &'m Module, space: &SharedRefSpace<'m>) -> Res<Interp<'m>> {
        let mut next = GLOBALS_ADDR + GLOBAL_SLOT * module.globals.len() as u64;
        let mut data_addrs = Vec::with_capacity(module.data.len());
        for seg in &module.data {
            data_addrs.push(next);
            next = (next + seg.bytes.len() as u64 + 7) & !7;
        }
        let data_lens_addr = next;
        next = (next + 4 * module.data.len() as u64 + 7) & !7;
        // Before instantiation as after it: an active segment has been dropped.
        let data_lens = module
            .data
            .iter()
            .map(|d| match d.offset {
                Some(_) => 0,
                None => d.bytes.len() as u32,
            })
            .collect();
        let refs = RefLayout::new(module, &mut space.borrow_mut())?;
        let linear_base = next.div_ceil(PAGE) * PAGE;
        // Memory past the reference window (more than 3.75 GiB, which no target has) is
        // unmapped: an access there faults.
        let linear_max = module
            .memory
            .as_ref()
            .map_or(0, |m| m.max_pages as u64 * PAGE)
            .min(REF_BASE.saturating_sub(linear_base));
        let globals = module
            .globals
            .iter()
            .map(|g| Rc::new(Cell::new((g.init as u64).to_le_bytes())))
            .collect();
        Ok(Interp {
            module,
            memory: Rc::default(),
            globals,
            linked: BTreeMap::new(),
            data_addrs,
            data_lens,
            data_lens_addr,
            linear_base,
            linear_max,
            space: Rc::clone(space),
            refs,
            step_limit: DEFAULT_STEP_LIMIT,
            steps: 0,
        })
    }

    /// Wraps the instance for linking; other instances of its space can then call the
    /// functions it puts into shared tables.
    pub fn into_shared(self) -> SharedInterp<'m> {
        let (space, id) = (Rc::clone(&self.space), self.refs.instance);
        let shared = Rc::new(RefCell::new(self));
        space.borrow_mut().register(id, &shared);
        shared
    }

    pub fn set_step_limit(&mut self, limit: u64) {
        self.step_limit = limit;
    }

    /// Bind every import of this module from module name `module` to `exporter`'s export of the
    /// same name: functions call into the exporter, globals, the memory and tables become the
    /// exporter's. Call before `instantiate`. An import the exporter does not export (as that
    /// kind) is an error: import matching is the embedder's job and comes first.
    pub fn link(&mut self, module: &str, exporter: &SharedInterp<'m>) -> Res<()> {
        self.link_functions(module, exporter)?;
        self.link_storage(module, exporter)
    }

    /// `link` for the imported functions only.
    pub fn link_functions(&mut self, module: &str, exporter: &SharedInterp<'m>) -> Res<()> {
        let source = exporter.borrow();
        for (n, decl) in self.module.functions.iter().enumerate() {
            let FunctionKind::Imported(import) = &decl.kind else {
                continue;
            };
            if import.module != module {
                continue;
            }
            let Some(f) = source.export(&import.name) else {
                return invalid(format!("{module} exports no function `{}`", import.name));
            };
            if Rc::ptr_eq(&self.space, &source.space) {
                let export = (source.refs.instance, f);
                self.space
                    .borrow_mut()
                    .alias((self.refs.instance, n as u32), export);
            }
            self.linked.insert(n as u32, (Rc::clone(exporter), f));
        }
        Ok(())
    }

    /// `link` for the imported globals, memory and tables only (imported functions stay host
    /// stubs).
    pub fn link_storage(&mut self, module: &str, exporter: &SharedInterp<'m>) -> Res<()> {
        let from = |import: &Option<Import>| -> Option<String> {
            import
                .as_ref()
                .filter(|i| i.module == module)
                .map(|i| i.name.clone())
        };
        let source = exporter.borrow();
        for (n, global) in self.module.globals.iter().enumerate() {
            let Some(name) = from(&global.import) else {
                continue;
            };
            let found = source
                .module
                .globals
                .iter()
                .position(|g| g.exports.contains(&name));
            let Some(g) = found else {
                return invalid(format!("{module} exports no global `{name}`"));
            };
            self.globals[n] = Rc::clone(&source.globals[g]);
        }
        if let Some(name) = self.module.memory.as_ref().and_then(|m| from(&m.import)) {
            if !source
                .module
                .memory
                .as_ref()
                .is_some_and(|m| m.exports.contains(&name))
            {
                return invalid(format!("{module} exports no memory `{name}`"));
            }
            self.memory = Rc::clone(&source.memory);
        }
        for (t, table) in self.module.tables.tables.iter().enumerate() {
            if let Some(name) = from(&table.import) {
                self.link_table(t, &source, &name)
                    .map_err(|e| InterpError::Invalid(format!("{module}: {e}")))?;
            }
        }
        Ok(())
    }

    /// Instantiate: run the module's `synth_init` when it has one (legalized form), otherwise do
    /// what it would do: set the memory size, copy the data segments, run the start function.
    pub fn instantiate(&mut self) -> Res<()> {
        if let Some(index) = self.export("synth_init") {
            self.call(index, &[])?;
            return Ok(());
        }
        self.instantiate_refs()?;
        // An imported memory's size word is its exporter's.
        if let Some(mem) = self.module.memory.as_ref().filter(|m| m.import.is_none()) {
            self.memory.borrow_mut().bytes = (mem.initial_pages as u64 * PAGE) as u32;
        }
        for seg in &self.module.data {
            let Some(mut offset) = seg.offset else {
                continue;
            };
            if let Some(global) = seg.offset_global {
                offset = self.read(self.global_addr(global)?, 4)? as u32;
            }
            let end = offset as u64 + seg.bytes.len() as u64;
            if end > self.memory_bytes() as u64 {
                return Err(InterpError::Trap(TrapCode::DataSegmentOutOfBounds));
            }
            for (i, b) in seg.bytes.iter().enumerate() {
                self.write_byte(self.linear_base + offset as u64 + i as u64, *b)?;
            }
        }
        if let Some(start) = self.module.start {
            self.call(start, &[])?;
        }
        Ok(())
    }

    /// Index of the function exported as `name`.
    pub fn export(&self, name: &str) -> Option<u32> {
        let found = self
            .module
            .functions
            .iter()
            .position(|f| f.exports.iter().any(|e| e == name));
        found.map(|i| i as u32)
    }

    /// Current memory size in bytes (the `MemoryBytes` word).
    pub fn memory_bytes(&self) -> u32 {
        self.memory.borrow().bytes
    }

    fn set_memory_bytes(&self, bytes: u32) {
        self.memory.borrow_mut().bytes = bytes;
    }

    /// Linear memory up to its current size.
    pub fn memory(&self) -> Vec<u8> {
        let memory = self.memory.borrow();
        let mut out = memory.data.clone();
        out.resize(memory.bytes as usize, 0);
        out
    }

    /// Value of global `n` (i32 globals zero-extended), if it exists.
    pub fn global(&self, n: u32) -> Option<u64> {
        let g = self.module.globals.get(n as usize)?;
        let raw = u64::from_le_bytes(self.globals.get(n as usize)?.get());
        Some(match g.ty {
            Type::I32 | Type::F32 => raw & 0xffff_ffff,
            Type::I64 | Type::F64 => raw,
        })
    }

    /// Call function `func` with wasm-level arguments (i32 in the low bits, i64 whole), returning
    /// wasm-level results (i32 zero-extended). Legalized bodies get i64s split into pairs.
    pub fn call(&mut self, func: u32, args: &[u64]) -> Res<Vec<u64>> {
        self.steps = 0;
        let Some(decl) = self.module.functions.get(func as usize) else {
            return invalid(format!("no function {func}"));
        };
        if args.len() != decl.sig.params.len() {
            return invalid(format!(
                "function {func} takes {} arguments, got {}",
                decl.sig.params.len(),
                args.len()
            ));
        }
        let typed: Vec<(Type, u64)> = decl
            .sig
            .params
            .iter()
            .copied()
            .zip(args.iter().copied())
            .collect();
        let results = decl.sig.results.clone();
        match &decl.kind {
            FunctionKind::Imported(_) => self.call_import(func, &typed, &results),
            FunctionKind::Library(lib) => {
                let values: Vec<u64> = typed.iter().map(|(_, v)| *v).collect();
                Ok(vec![float::library(lib, &values)])
            }
            FunctionKind::Defined(b) | FunctionKind::Runtime(b) => {
                let Some(body) = self.module.bodies.get(*b as usize) else {
                    return invalid(format!("function {func} has no body {b}"));
                };
                let entry_types = match body.blocks.first() {
                    Some(entry) => value_types(body, &entry.params)?,
                    None => Vec::new(),
                };
                let input = split_parts(&typed, &entry_types)?;
                let (raw, raw_types) = self.run(body, &input)?;
                let parts: Vec<(Type, u64)> = raw_types.into_iter().zip(raw).collect();
                Ok(join_parts(&results, &parts)?
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect())
            }
        }
    }

    /// Runs `func` to completion with an explicit call stack, so deep wasm recursion cannot
    /// overflow the host stack.
    /// Returns the values of the outermost `return` with their IR types.
    fn run(&mut self, func: &'m Function, args: &[u64]) -> Res<(Vec<u64>, Vec<Type>)> {
        let mut stack = vec![Frame::enter(func, args)?];
        loop {
            let Some(frame) = stack.last_mut() else {
                return invalid("empty call stack");
            };
            self.steps += 1;
            if self.steps > self.step_limit {
                return Err(InterpError::StepLimit);
            }
            let func = frame.func;
            let Some(data) = func.blocks.get(frame.block.0 as usize) else {
                return invalid(format!("{}: no block {}", func.name, frame.block));
            };
            if let Some(inst) = data.insts.get(frame.next_inst) {
                frame.next_inst += 1;
                if let Some((callee, args)) = self.exec(frame, inst)? {
                    if stack.len() >= MAX_CALL_DEPTH as usize {
                        return Err(InterpError::Trap(TrapCode::StackOverflow));
                    }
                    stack.push(Frame::enter(callee, &args)?);
                }
                continue;
            }
            match &data.term {
                Terminator::Jump { target, args } => {
                    let values = args
                        .iter()
                        .map(|a| frame.get(*a))
                        .collect::<Res<Vec<_>>>()?;
                    frame.goto(*target, &values)?;
                }
                Terminator::Branch {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let target = if frame.get32(*cond)? != 0 {
                        *then_block
                    } else {
                        *else_block
                    };
                    frame.goto(target, &[])?;
                }
                Terminator::Switch {
                    index,
                    targets,
                    default,
                } => {
                    let i = frame.get32(*index)? as usize;
                    frame.goto(targets.get(i).copied().unwrap_or(*default), &[])?;
                }
                Terminator::Return { values } => {
                    let types = value_types(func, values)?;
                    let values = values
                        .iter()
                        .map(|v| frame.get(*v))
                        .collect::<Res<Vec<_>>>()?;
                    stack.pop();
                    let Some(caller) = stack.last_mut() else {
                        return Ok((values, types));
                    };
                    caller.finish_call(values)?;
                }
                Terminator::Trap { code } => return Err(InterpError::Trap(*code)),
            }
        }
    }

    /// Executes one instruction; a call of a body is returned for `run` to push instead.
    fn exec(&mut self, frame: &mut Frame<'m>, inst: &Inst) -> Res<Option<PendingCall<'m>>> {
        let arg = |i: usize| -> Res<Value> {
            inst.args
                .get(i)
                .copied()
                .ok_or_else(|| InterpError::Invalid(format!("{:?}: missing argument {i}", inst.op)))
        };
        let result = |i: usize| -> Res<Value> {
            inst.results
                .get(i)
                .copied()
                .ok_or_else(|| InterpError::Invalid(format!("{:?}: missing result {i}", inst.op)))
        };
        match &inst.op {
            Op::Const(c) => frame.set(result(0)?, *c as u64)?,
            Op::Copy => {
                let v = frame.get(arg(0)?)?;
                frame.set(result(0)?, v)?;
            }
            Op::Unary(op) => {
                let a = arg(0)?;
                let v = unary(*op, frame.ty(a)?, frame.get(a)?);
                frame.set(result(0)?, v)?;
            }
            Op::Binary(op) => {
                let (a, b) = (arg(0)?, arg(1)?);
                let ty = frame.ty(result(0)?)?;
                let v = binary(*op, ty, frame.get(a)?, frame.get(b)?)?;
                frame.set(result(0)?, v)?;
            }
            Op::Compare(cond) => {
                let (a, b) = (arg(0)?, arg(1)?);
                let v = compare(*cond, frame.ty(a)?, frame.get(a)?, frame.get(b)?);
                frame.set(result(0)?, v as u64)?;
            }
            Op::FUnary(op) => {
                let a = arg(0)?;
                let v = float::unary(*op, frame.ty(a)?, frame.get(a)?);
                frame.set(result(0)?, v)?;
            }
            Op::FBinary(op) => {
                let (a, b) = (arg(0)?, arg(1)?);
                let v = float::binary(*op, frame.ty(a)?, frame.get(a)?, frame.get(b)?);
                frame.set(result(0)?, v)?;
            }
            Op::FCompare(cond) => {
                let (a, b) = (arg(0)?, arg(1)?);
                let v = float::compare(*cond, frame.ty(a)?, frame.get(a)?, frame.get(b)?);
                frame.set(result(0)?, v as u64)?;
            }
            // The pair form of an f64 <-> i64 reinterpretation (legalized IR).
            Op::Convert(_) if inst.args.len() == 2 => {
                let v = pair(frame.get32(arg(0)?)?, frame.get32(arg(1)?)?);
                frame.set(result(0)?, v)?;
            }
            Op::Convert(_) if inst.results.len() == 2 => {
                let v = frame.get(arg(0)?)?;
                frame.set(result(0)?, v & 0xffff_ffff)?;
                frame.set(result(1)?, v >> 32)?;
            }
            Op::Convert(conversion) => {
                let (a, r) = (arg(0)?, result(0)?);
                let v = float::convert(*conversion, frame.ty(a)?, frame.ty(r)?, frame.get(a)?)
                    .map_err(InterpError::Trap)?;
                frame.set(r, v)?;
            }
            Op::Select => {
                let c = frame.get32(arg(0)?)?;
                let v = if c != 0 {
                    frame.get(arg(1)?)?
                } else {
                    frame.get(arg(2)?)?
                };
                frame.set(result(0)?, v)?;
            }
            Op::Load(m) => {
                let (addr, res) = match inst.args.len() {
                    1 => (self.checked_linear(frame.get32(arg(0)?)?, m)?, result(0)?),
                    _ => (raw_addr(frame, arg(0)?, arg(1)?, m)?, result(0)?),
                };
                let mut v = self.read(addr, m.width)?;
                if m.signed && m.width < 8 {
                    let shift = 64 - 8 * m.width as u32;
                    v = (((v << shift) as i64) >> shift) as u64;
                }
                frame.set(res, v)?;
            }
            Op::Store(m) => {
                let (addr, value) = match inst.args.len() {
                    2 => (self.checked_linear(frame.get32(arg(0)?)?, m)?, arg(1)?),
                    _ => (raw_addr(frame, arg(0)?, arg(1)?, m)?, arg(2)?),
                };
                let v = frame.get(value)?;
                self.write(addr, m.width, v)?;
            }
            Op::MemorySize => {
                self.need_memory()?;
                frame.set(result(0)?, (self.memory_bytes() >> 16) as u64)?;
            }
            Op::MemoryGrow => {
                let max = self.need_memory()?;
                let delta = frame.get32(arg(0)?)? as u64;
                let old = (self.memory_bytes() >> 16) as u64;
                let v = if old + delta <= max as u64 {
                    self.set_memory_bytes(((old + delta) * PAGE) as u32);
                    old
                } else {
                    0xffff_ffff
                };
                frame.set(result(0)?, v)?;
            }
            Op::GlobalGet(n) => {
                let v = self.read(self.global_addr(*n)?, 8)?;
                frame.set(result(0)?, v)?;
            }
            Op::GlobalSet(n) => {
                let addr = self.global_addr(*n)?;
                let v = frame.get(arg(0)?)?;
                let width = match self.module.globals.get(*n as usize).map(|g| g.ty) {
                    Some(Type::I64 | Type::F64) => 8,
                    _ => 4,
                };
                self.write(addr, width, v)?;
            }
            Op::Call(n) => return self.exec_call(frame, *n, &inst.args, &inst.results),
            Op::Table(op) => self.table_op(frame, inst, *op)?,
            Op::Bulk(op) => self.bulk_op(frame, inst, *op)?,
            Op::CallIndirect(call) => return self.call_indirect(frame, inst, call),
            Op::CallPtr(_) => return self.call_ptr(frame, inst),
            Op::TrapIf(code) => {
                if frame.get32(arg(0)?)? != 0 {
                    return Err(InterpError::Trap(*code));
                }
            }
            Op::BoundsCheck { end } => {
                let addr = frame.get32(arg(0)?)? as u64;
                let size = frame.get32(arg(1)?)? as u64;
                if addr + end > size {
                    return Err(InterpError::Trap(TrapCode::MemoryOutOfBounds));
                }
            }
            Op::SymbolAddr { symbol, offset } => {
                let base = self.symbol_addr(*symbol)?;
                frame.set(result(0)?, (base + *offset as u64) & 0xffff_ffff)?;
            }
            Op::LoadSymbol { symbol, offset } => {
                let r = result(0)?;
                let width = if frame.ty(r)? == Type::F64 { 8 } else { 4 };
                let v = self.read(self.symbol_addr(*symbol)? + *offset as u64, width)?;
                frame.set(r, v)?;
            }
            Op::StoreSymbol { symbol, offset } => {
                let a = arg(0)?;
                let width = if frame.ty(a)? == Type::F64 { 8 } else { 4 };
                let v = frame.get(a)?;
                self.write(self.symbol_addr(*symbol)? + *offset as u64, width, v)?;
            }
            Op::AddPair | Op::SubPair => {
                let a = pair(frame.get32(arg(0)?)?, frame.get32(arg(1)?)?);
                let b = pair(frame.get32(arg(2)?)?, frame.get32(arg(3)?)?);
                let v = if inst.op == Op::AddPair {
                    a.wrapping_add(b)
                } else {
                    a.wrapping_sub(b)
                };
                frame.set(result(0)?, v & 0xffff_ffff)?;
                frame.set(result(1)?, v >> 32)?;
            }
            Op::MulWideU => {
                let v = frame.get32(arg(0)?)? as u64 * frame.get32(arg(1)?)? as u64;
                frame.set(result(0)?, v & 0xffff_ffff)?;
                frame.set(result(1)?, v >> 32)?;
            }
            Op::MulWideS => {
                let (a, b) = (frame.get32(arg(0)?)?, frame.get32(arg(1)?)?);
                let v = (a as i32 as i64 * b as i32 as i64) as u64;
                frame.set(result(0)?, v & 0xffff_ffff)?;
                frame.set(result(1)?, v >> 32)?;
            }
            Op::ShiftPair(op) => {
                let x = pair(frame.get32(arg(0)?)?, frame.get32(arg(1)?)?);
                let count = frame.get32(arg(2)?)? as u64;
                let v = match op {
                    BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU => {
                        binary(*op, Type::I64, x, count)?
                    }
                    _ => return invalid(format!("ShiftPair({op:?})")),
                };
                frame.set(result(0)?, v & 0xffff_ffff)?;
                frame.set(result(1)?, v >> 32)?;
            }
        }
        Ok(None)
    }

    /// Calls function `n` with the frame's values `args`, defining `results`.
    fn exec_call(
        &mut self,
        frame: &mut Frame<'m>,
        n: u32,
        args: &[Value],
        results: &[Value],
    ) -> Res<Option<PendingCall<'m>>> {
        let module = self.module;
        let Some(decl) = module.functions.get(n as usize) else {
            return invalid(format!("call of missing function {n}"));
        };
        match &decl.kind {
            FunctionKind::Library(lib) => {
                call_outside(frame, &decl.sig, args, results, |typed| {
                    let values: Vec<u64> = typed.iter().map(|(_, v)| *v).collect();
                    Ok(vec![float::library(lib, &values)])
                })?;
            }
            FunctionKind::Imported(_) => {
                call_outside(frame, &decl.sig, args, results, |typed| {
                    self.call_import(n, typed, &decl.sig.results)
                })?;
            }
            FunctionKind::Defined(b) | FunctionKind::Runtime(b) => {
                let Some(body) = module.bodies.get(*b as usize) else {
                    return invalid(format!("function {n} has no body {b}"));
                };
                let arg_values: Vec<u64> =
                    args.iter().map(|a| frame.get(*a)).collect::<Res<_>>()?;
                frame.awaiting = results.to_vec();
                return Ok(Some((body, arg_values)));
            }
        }
        Ok(None)
    }

    /// Calls function `f` of another instance of the space (found through a shared table).
    fn call_other_instance(
        &self,
        frame: &mut Frame<'m>,
        callee: &SharedInterp<'m>,
        f: u32,
        args: &[Value],
        results: &[Value],
    ) -> Res<()> {
        let module = callee.borrow().module;
        let Some(decl) = module.functions.get(f as usize) else {
            return invalid(format!("call of missing function {f} of another instance"));
        };
        call_outside(frame, &decl.sig, args, results, |typed| {
            let values: Vec<u64> = typed.iter().map(|(_, v)| *v).collect();
            let mut callee = callee.try_borrow_mut().map_err(|_| {
                InterpError::Invalid("a call through a table re-enters a running instance".into())
            })?;
            callee.call(f, &values)
        })
    }

    /// An imported function: the exporter's when linked (wasm-level values both ways), else the
    /// mock.
    fn call_import(&self, func: u32, args: &[(Type, u64)], results: &[Type]) -> Res<Vec<u64>> {
        match self.linked.get(&func) {
            Some((exporter, f)) => {
                let values: Vec<u64> = args.iter().map(|(_, v)| *v).collect();
                let mut exporter = exporter.try_borrow_mut().map_err(|_| {
                    InterpError::Invalid("a linked call re-enters its caller".into())
                })?;
                exporter.call(*f, &values)
            }
            None => Ok(mock_import(args, results)),
        }
    }

    fn need_memory(&self) -> Res<u32> {
        match &self.module.memory {
            Some(m) => Ok(m.max_pages),
            None => invalid("memory operation in a module without memory"),
        }
    }

    /// Frontend-form access: bounds-checked against the current size.
    fn checked_linear(&self, addr: u32, m: &MemArg) -> Res<u64> {
        self.need_memory()?;
        let end = addr as u64 + m.offset + m.width as u64;
        if end > self.memory_bytes() as u64 {
            return Err(InterpError::Trap(TrapCode::MemoryOutOfBounds));
        }
        Ok(self.linear_base + addr as u64 + m.offset)
    }

    fn global_addr(&self, n: u32) -> Res<u64> {
        if (n as usize) < self.module.globals.len() {
            Ok(GLOBALS_ADDR + GLOBAL_SLOT * n as u64)
        } else {
            invalid(format!("no global {n}"))
        }
    }

    fn symbol_addr(&self, symbol: Symbol) -> Res<u64> {
        match symbol {
            Symbol::Memory => {
                self.need_memory()?;
                Ok(self.linear_base)
            }
            Symbol::MemoryBytes => Ok(MEMORY_BYTES_ADDR),
            Symbol::Global(n) => self.global_addr(n),
            Symbol::DataSegment(n) => match self.data_addrs.get(n as usize) {
                Some(a) => Ok(*a),
                None => invalid(format!("no data segment {n}")),
            },
            Symbol::DataLength(n) if (n as usize) < self.data_lens.len() => {
                Ok(self.data_lens_addr + 4 * n as u64)
            }
            Symbol::DataLength(n) => invalid(format!("no data segment {n}")),
            Symbol::Table(t) => self.ref_region_start(self.refs.tables.get(t as usize), symbol),
            Symbol::Elem(e) => self.ref_region_start(self.refs.elems.get(e as usize), symbol),
            Symbol::TypeId(k) => self.ref_region_start(self.refs.type_ids.get(k as usize), symbol),
            Symbol::FuncRef(f) => match self.refs.funcrefs.get(&f) {
                Some(a) => Ok(*a),
                None => invalid(format!("no descriptor for function {f}")),
            },
            Symbol::Function(f) => Ok(self.refs.code_addr(f)),
            Symbol::TrapHandler | Symbol::StackLimit => {
                invalid(format!("the interpreter has no address for {symbol:?}"))
            }
        }
    }

    fn ref_region_start(&self, region: Option<&usize>, symbol: Symbol) -> Res<u64> {
        match region {
            Some(r) => Ok(self.space.borrow().start(*r)),
            None => invalid(format!("no {symbol:?}")),
        }
    }

    fn place(&self, addr: u64) -> Option<Place> {
        if (MEMORY_BYTES_ADDR..MEMORY_BYTES_ADDR + 4).contains(&addr) {
            return Some(Place::MemoryBytes((addr - MEMORY_BYTES_ADDR) as usize));
        }
        let globals_end = GLOBALS_ADDR + GLOBAL_SLOT * self.globals.len() as u64;
        if (GLOBALS_ADDR..globals_end).contains(&addr) {
            let off = addr - GLOBALS_ADDR;
            return Some(Place::Global(
                (off / GLOBAL_SLOT) as usize,
                (off % GLOBAL_SLOT) as usize,
            ));
        }
        for (n, (start, seg)) in self.data_addrs.iter().zip(&self.module.data).enumerate() {
            if (*start..*start + seg.bytes.len() as u64).contains(&addr) {
                return Some(Place::Data(n, (addr - start) as usize));
            }
        }
        let lens_end = self.data_lens_addr + 4 * self.data_lens.len() as u64;
        if (self.data_lens_addr..lens_end).contains(&addr) {
            let off = addr - self.data_lens_addr;
            return Some(Place::DataLength((off / 4) as usize, (off % 4) as usize));
        }
        if addr >= REF_BASE {
            let (r, off) = self.space.borrow().place(addr)?;
            return Some(Place::Ref(r, off));
        }
        if (self.linear_base..self.linear_base + self.linear_max).contains(&addr) {
            return Some(Place::Linear((addr - self.linear_base) as usize));
        }
        None
    }

    fn read_byte(&self, addr: u64) -> Res<u8> {
        Ok(match self.place(addr) {
            Some(Place::MemoryBytes(i)) => self.memory_bytes().to_le_bytes()[i],
            Some(Place::Global(n, i)) => self.globals[n].get()[i],
            Some(Place::Data(n, i)) => self.module.data[n].bytes[i],
            Some(Place::DataLength(n, i)) => self.data_lens[n].to_le_bytes()[i],
            Some(Place::Ref(r, i)) => self.space.borrow().byte(r, i),
            Some(Place::Linear(i)) => self.memory.borrow().data.get(i).copied().unwrap_or(0),
            // An unmapped address is what an MPU would fault on.
            None => return Err(InterpError::Trap(TrapCode::MemoryOutOfBounds)),
        })
    }

    fn write_byte(&mut self, addr: u64, v: u8) -> Res<()> {
        match self.place(addr) {
            Some(Place::MemoryBytes(i)) => {
                let mut b = self.memory_bytes().to_le_bytes();
                b[i] = v;
                self.set_memory_bytes(u32::from_le_bytes(b));
            }
            Some(Place::Global(n, i)) => {
                let mut b = self.globals[n].get();
                b[i] = v;
                self.globals[n].set(b);
            }
            Some(Place::Data(n, _)) => {
                return invalid(format!("write to read-only data segment {n}"));
            }
            Some(Place::DataLength(n, i)) => {
                let mut b = self.data_lens[n].to_le_bytes();
                b[i] = v;
                self.data_lens[n] = u32::from_le_bytes(b);
            }
            Some(Place::Ref(r, i)) => self.space.borrow_mut().set_byte(r, i, v),
            Some(Place::Linear(i)) => {
                let data = &mut self.memory.borrow_mut().data;
                if i >= data.len() {
                    data.resize(i + 1, 0);
                }
                data[i] = v;
            }
            None => return Err(InterpError::Trap(TrapCode::MemoryOutOfBounds)),
        }
        Ok(())
    }

    /// Offset in linear memory when the whole access lies inside it (the common case).
    fn linear_span(&self, addr: u64, width: u8) -> Option<usize> {
        let end = addr.checked_add(width as u64)?;
        (addr >= self.linear_base && end <= self.linear_base + self.linear_max)
            .then(|| (addr - self.linear_base) as usize)
    }

    fn read(&self, addr: u64, width: u8) -> Res<u64> {
        check_width(width)?;
        if let Some(at) = self.linear_span(addr, width) {
            let mut bytes = [0u8; 8];
            let data = &self.memory.borrow().data;
            for (i, b) in bytes.iter_mut().take(width as usize).enumerate() {
                *b = data.get(at + i).copied().unwrap_or(0);
            }
            return Ok(u64::from_le_bytes(bytes));
        }
        let mut v = 0u64;
        for i in 0..width as u64 {
            v |= (self.read_byte(addr + i)? as u64) << (8 * i);
        }
        Ok(v)
    }

    fn write(&mut self, addr: u64, width: u8, v: u64) -> Res<()> {
        check_width(width)?;
        if let Some(at) = self.linear_span(addr, width) {
            let end = at + width as usize;
            let data = &mut self.memory.borrow_mut().data;
            if end > data.len() {
                data.resize(end, 0);
            }
            let bytes = v.to_le_bytes();
            data[at..end].copy_from_slice(&bytes[..width as usize]);
            return Ok(());
        }
        for i in 0..width as u64 {
            self.write_byte(addr + i, (v >> (8 * i)) as u8)?;
        }
        Ok(())
    }
}

/// A call that leaves the instance's frames (an import, a library routine, another instance):
/// the arguments go out as wasm-level values and the results come back, legalized frames
/// passing 64-bit values the back end cannot hold whole as pairs.
fn call_outside<'m>(
    frame: &mut Frame<'m>,
    sig: &crate::ir::Signature,
    args: &[Value],
    results: &[Value],
    call: impl FnOnce(&[(Type, u64)]) -> Res<Vec<u64>>,
) -> Res<()> {
    let arg_values: Vec<u64> = args.iter().map(|a| frame.get(*a)).collect::<Res<_>>()?;
    let parts: Vec<(Type, u64)> = value_types(frame.func, args)?
        .into_iter()
        .zip(arg_values)
        .collect();
    let wasm = call(&join_parts(&sig.params, &parts)?)?;
    let pairs: Vec<(Type, u64)> = sig.results.iter().copied().zip(wasm).collect();
    let values = split_parts(&pairs, &value_types(frame.func, results)?)?;
    frame.awaiting = results.to_vec();
    frame.finish_call(values)
}

/// A body to call and its arguments.
type PendingCall<'m> = (&'m Function, Vec<u64>);

struct Frame<'f> {
    func: &'f Function,
    values: Vec<Option<u64>>,
    block: Block,
    next_inst: usize,
    /// Result values of the call this frame is waiting for.
    awaiting: Vec<Value>,
}

impl<'f> Frame<'f> {
    fn enter(func: &'f Function, args: &[u64]) -> Res<Frame<'f>> {
        let mut frame = Frame {
            func,
            values: vec![None; func.value_types.len()],
            block: Block(0),
            next_inst: 0,
            awaiting: Vec::new(),
        };
        frame.goto(Block(0), args)?;
        Ok(frame)
    }

    fn goto(&mut self, block: Block, args: &[u64]) -> Res<()> {
        let func = self.func;
        let Some(data) = func.blocks.get(block.0 as usize) else {
            return invalid(format!("{}: no block {block}", func.name));
        };
        if data.params.len() != args.len() {
            return invalid(format!(
                "{}: {block} has {} params, got {} values",
                func.name,
                data.params.len(),
                args.len()
            ));
        }
        for (p, v) in data.params.iter().zip(args) {
            self.set(*p, *v)?;
        }
        self.block = block;
        self.next_inst = 0;
        Ok(())
    }

    fn finish_call(&mut self, results: Vec<u64>) -> Res<()> {
        let awaiting = std::mem::take(&mut self.awaiting);
        if results.len() != awaiting.len() {
            return invalid(format!(
                "{}: call returned {} values for {} results",
                self.func.name,
                results.len(),
                awaiting.len()
            ));
        }
        for (r, v) in awaiting.iter().zip(results) {
            self.set(*r, v)?;
        }
        Ok(())
    }

    fn ty(&self, v: Value) -> Res<Type> {
        match self.func.value_types.get(v.0 as usize) {
            Some(t) => Ok(*t),
            None => invalid(format!("{}: {v} has no type", self.func.name)),
        }
    }
    fn get(&self, v: Value) -> Res<u64> {
        match self.values.get(v.0 as usize) {
            Some(Some(x)) => Ok(*x),
            _ => invalid(format!(
                "{}: {v} read before it was defined",
                self.func.name
            )),
        }
    }
    fn get32(&self, v: Value) -> Res<u32> {
        Ok(self.get(v)? as u32)
    }
    /// Store `x` normalized to the value's type (i32 values keep only the low 32 bits).
    fn set(&mut self, v: Value, x: u64) -> Res<()> {
        let x = match self.ty(v)? {
            Type::I32 | Type::F32 => x & 0xffff_ffff,
            Type::I64 | Type::F64 => x,
        };
        match self.values.get_mut(v.0 as usize) {
            Some(slot) => {
                *slot = Some(x);
                Ok(())
            }
            None => invalid(format!("{}: {v} out of range", self.func.name)),
        }
    }
}

fn check_width(width: u8) -> Res<()> {
    match width {
        1 | 2 | 4 | 8 => Ok(()),
        _ => invalid(format!("access width {width}")),
    }
}

fn pair(lo: u32, hi: u32) -> u64 {
    lo as u64 | (hi as u64) << 32
}

/// A raw access's address, in 32 bits as the targets compute it: legalize may reassociate
/// `base + (x + k)` as `(base + k) + x`, whose parts wrap where the whole does not.
fn raw_addr(frame: &Frame, base: Value, addr: Value, m: &MemArg) -> Res<u64> {
    if m.offset > u32::MAX as u64 {
        return invalid("raw access offset does not fit 32 bits");
    }
    Ok((frame.get32(base)? as u64 + frame.get32(addr)? as u64 + m.offset) & 0xffff_ffff)
}

/// The IR types of `values` in `func`.
fn value_types(func: &Function, values: &[Value]) -> Res<Vec<Type>> {
    values
        .iter()
        .map(|v| {
            func.value_types
                .get(v.0 as usize)
                .copied()
                .ok_or_else(|| InterpError::Invalid(format!("{}: no value {v}", func.name)))
        })
        .collect()
}

fn is_wide(ty: Type) -> bool {
    matches!(ty, Type::I64 | Type::F64)
}

/// Wasm-level values -> the parts a (possibly legalized) body takes: a 64-bit value whose part
/// is 32 bits wide becomes two words (low first); any other value stays one part.
fn split_parts(values: &[(Type, u64)], part_types: &[Type]) -> Res<Vec<u64>> {
    let mut out = Vec::new();
    let mut parts = part_types.iter();
    for (ty, v) in values {
        let Some(part) = parts.next() else {
            return invalid("more values than parts");
        };
        if is_wide(*ty) && !is_wide(*part) {
            if parts.next().is_none() {
                return invalid("missing the high part of a 64-bit value");
            }
            out.push(v & 0xffff_ffff);
            out.push(v >> 32);
        } else if is_wide(*part) {
            out.push(*v);
        } else {
            out.push(v & 0xffff_ffff);
        }
    }
    if parts.next().is_some() {
        return invalid("fewer values than parts");
    }
    Ok(out)
}

/// Parts -> wasm-level values for `types`: the inverse of `split_parts` (32-bit values
/// zero-extended).
fn join_parts(types: &[Type], parts: &[(Type, u64)]) -> Res<Vec<(Type, u64)>> {
    let mut out = Vec::new();
    let mut it = parts.iter();
    for ty in types {
        let Some((part, lo)) = it.next() else {
            return invalid(format!("{} values for {} types", parts.len(), types.len()));
        };
        let v = if is_wide(*ty) && !is_wide(*part) {
            match it.next() {
                Some((_, hi)) => pair(*lo as u32, *hi as u32),
                None => return invalid("missing the high part of a 64-bit value"),
            }
        } else if is_wide(*ty) {
            *lo
        } else {
            lo & 0xffff_ffff
        };
        out.push((*ty, v));
    }
    if it.next().is_some() {
        return invalid(format!("{} values for {} types", parts.len(), types.len()));
    }
    Ok(out)
}

/// The deterministic import mock shared with the execution tests. Float arguments take part
/// as their bit patterns (an f32 like an i32, an f64 like an i64); a float result is the
/// integer result converted from a signed i64, rounded to nearest even.
pub fn mock_import(args: &[(Type, u64)], results: &[Type]) -> Vec<u64> {
    let sum = args.iter().fold(0u64, |acc, (ty, v)| {
        let wide = match ty {
            Type::I32 | Type::F32 => *v as u32 as i32 as i64 as u64,
            Type::I64 | Type::F64 => *v,
        };
        acc.wrapping_add(wide)
    });
    results
        .iter()
        .enumerate()
        .map(|(k, ty)| {
            let v = sum.wrapping_add(0x1234 * (k as u64 + 1));
            match ty {
                Type::I32 => v & 0xffff_ffff,
                Type::I64 => v,
                // As `f32.convert_i64_s` / `f64.convert_i64_s` of the integer result.
                Type::F32 => (v as i64 as f32).to_bits() as u64,
                Type::F64 => (v as i64 as f64).to_bits(),
            }
        })
        .collect()
}

fn unary(op: UnaryOp, ty: Type, x: u64) -> u64 {
    let x32 = x as u32;
    match (op, ty) {
        (UnaryOp::Clz, Type::I32) => x32.leading_zeros() as u64,
        (UnaryOp::Clz, _) => x.leading_zeros() as u64,
        (UnaryOp::Ctz, Type::I32) => x32.trailing_zeros() as u64,
        (UnaryOp::Ctz, _) => x.trailing_zeros() as u64,
        (UnaryOp::Popcnt, Type::I32) => x32.count_ones() as u64,
        (UnaryOp::Popcnt, _) => x.count_ones() as u64,
        (UnaryOp::Eqz, Type::I32) => (x32 == 0) as u64,
        (UnaryOp::Eqz, _) => (x == 0) as u64,
        (UnaryOp::Extend8S, _) => x as u8 as i8 as i64 as u64,
        (UnaryOp::Extend16S, _) => x as u16 as i16 as i64 as u64,
        (UnaryOp::Extend32S, _) | (UnaryOp::ExtendI32S, _) => x32 as i32 as i64 as u64,
        (UnaryOp::Wrap, _) | (UnaryOp::ExtendI32U, _) => x32 as u64,
    }
}

fn binary(op: BinaryOp, ty: Type, a: u64, b: u64) -> Res<u64> {
    if ty == Type::I32 {
        let (a, b) = (a as u32, b as u32);
        let (sa, sb) = (a as i32, b as i32);
        let v = match op {
            BinaryOp::Add => a.wrapping_add(b),
            BinaryOp::Sub => a.wrapping_sub(b),
            BinaryOp::Mul => a.wrapping_mul(b),
            BinaryOp::DivS | BinaryOp::DivU | BinaryOp::RemS | BinaryOp::RemU if b == 0 => {
                return invalid(format!("unchecked i32 {op:?} by zero"));
            }
            // MIN / -1 wraps (both targets' divide instructions give MIN), MIN % -1 is 0.
            BinaryOp::DivS => sa.wrapping_div(sb) as u32,
            BinaryOp::RemS => sa.wrapping_rem(sb) as u32,
            BinaryOp::DivU => a / b,
            BinaryOp::RemU => a % b,
            BinaryOp::And => a & b,
            BinaryOp::Or => a | b,
            BinaryOp::Xor => a ^ b,
            BinaryOp::Shl => a.wrapping_shl(b),
            BinaryOp::ShrS => sa.wrapping_shr(b) as u32,
            BinaryOp::ShrU => a.wrapping_shr(b),
            BinaryOp::Rotl => a.rotate_left(b % 32),
            BinaryOp::Rotr => a.rotate_right(b % 32),
        };
        return Ok(v as u64);
    }
    let (sa, sb) = (a as i64, b as i64);
    Ok(match op {
        BinaryOp::Add => a.wrapping_add(b),
        BinaryOp::Sub => a.wrapping_sub(b),
        BinaryOp::Mul => a.wrapping_mul(b),
        BinaryOp::DivS | BinaryOp::DivU | BinaryOp::RemS | BinaryOp::RemU if b == 0 => {
            return invalid(format!("unchecked i64 {op:?} by zero"));
        }
        BinaryOp::DivS => sa.wrapping_div(sb) as u64,
        BinaryOp::RemS => sa.wrapping_rem(sb) as u64,
        BinaryOp::DivU => a / b,
        BinaryOp::RemU => a % b,
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        BinaryOp::Shl => a.wrapping_shl(b as u32),
        BinaryOp::ShrS => sa.wrapping_shr(b as u32) as u64,
        BinaryOp::ShrU => a.wrapping_shr(b as u32),
        BinaryOp::Rotl => a.rotate_left((b % 64) as u32),
        BinaryOp::Rotr => a.rotate_right((b % 64) as u32),
    })
}

fn compare(cond: Cond, ty: Type, a: u64, b: u64) -> bool {
    let (a, b) = match ty {
        Type::I32 | Type::F32 => (a as u32 as u64, b as u32 as u64),
        Type::I64 | Type::F64 => (a, b),
    };
    let (sa, sb) = match ty {
        Type::I32 | Type::F32 => (a as u32 as i32 as i64, b as u32 as i32 as i64),
        Type::I64 | Type::F64 => (a as i64, b as i64),
    };
    match cond {
        Cond::Eq => a == b,
        Cond::Ne => a != b,
        Cond::LtS => sa < sb,
        Cond::LtU => a < b,
        Cond::GtS => sa > sb,
        Cond::GtU => a > b,
        Cond::LeS => sa <= sb,
        Cond::LeU => a <= b,
        Cond::GeS => sa >= sb,
        Cond::GeU => a >= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BlockData, FunctionDecl, Import, Signature};

    fn func(params: Vec<Type>, blocks: Vec<BlockData>, types: Vec<Type>) -> Function {
        Function {
            index: 0,
            name: "t".to_string(),
            sig: Signature {
                params,
                results: vec![],
            },
            blocks,
            value_types: types,
            offset: 0,
        }
    }

    fn one_body(f: Function, imports: Vec<FunctionDecl>) -> Module {
        let mut functions = imports;
        functions.push(FunctionDecl {
            sig: f.sig.clone(),
            kind: FunctionKind::Defined(0),
            exports: vec![],
            name: "t".to_string(),
        });
        Module {
            functions,
            bodies: vec![f],
            globals: vec![],
            memory: None,
            data: vec![],
            start: None,
            tables: Default::default(),
            namespace: None,
        }
    }

    fn block(params: Vec<Value>, insts: Vec<Inst>, term: Terminator) -> BlockData {
        BlockData {
            params,
            insts,
            term,
            term_offset: 0,
        }
    }

    #[test]
    fn an_endless_loop_hits_the_step_limit() {
        let f = func(
            vec![],
            vec![block(
                vec![],
                vec![],
                Terminator::Jump {
                    target: Block(0),
                    args: vec![],
                },
            )],
            vec![],
        );
        let m = one_body(f, vec![]);
        let mut interp = Interp::new(&m).expect("setup");
        interp.set_step_limit(1000);
        assert_eq!(interp.call(0, &[]), Err(InterpError::StepLimit));
    }

    #[test]
    fn endless_recursion_traps_as_stack_overflow() {
        let call = Inst {
            op: Op::Call(0),
            args: vec![],
            results: vec![],
            offset: 0,
        };
        let f = func(
            vec![],
            vec![block(
                vec![],
                vec![call],
                Terminator::Return { values: vec![] },
            )],
            vec![],
        );
        let m = one_body(f, vec![]);
        let mut interp = Interp::new(&m).expect("setup");
        assert_eq!(
            interp.call(0, &[]),
            Err(InterpError::Trap(TrapCode::StackOverflow))
        );
    }

    #[test]
    fn imports_follow_the_mock_semantics_in_both_forms() {
        let sig = Signature {
            params: vec![Type::I32, Type::I64],
            results: vec![Type::I64, Type::I32],
        };
        let import = FunctionDecl {
            sig: sig.clone(),
            kind: FunctionKind::Imported(Import {
                module: "m".to_string(),
                name: "n".to_string(),
            }),
            exports: vec![],
            name: "n".to_string(),
        };
        // Pair form: args (i32, lo, hi), results (lo, hi, i32).
        let (a, lo, hi) = (Value(0), Value(1), Value(2));
        let results = vec![Value(3), Value(4), Value(5)];
        let call = Inst {
            op: Op::Call(0),
            args: vec![a, lo, hi],
            results: results.clone(),
            offset: 0,
        };
        let mut f = func(
            vec![Type::I32, Type::I64],
            vec![block(
                vec![a, lo, hi],
                vec![call],
                Terminator::Return { values: results },
            )],
            vec![Type::I32; 6],
        );
        f.sig.results = sig.results.clone();
        let m = one_body(f, vec![import]);
        let mut interp = Interp::new(&m).expect("setup");
        let minus2 = (-2i32) as u32 as u64;
        let big = 0x1_0000_0000u64;
        // -2 + 2^32 + 0x1234 and, truncated, + 0x2468.
        let sum = big - 2;
        assert_eq!(
            interp.call(1, &[minus2, big]),
            Ok(vec![sum + 0x1234, (sum + 0x2468) & 0xffff_ffff])
        );
        assert_eq!(
            interp.call(0, &[minus2, big]),
            Ok(vec![sum + 0x1234, (sum + 0x2468) & 0xffff_ffff])
        );
    }

    #[test]
    fn reading_an_undefined_value_is_reported_as_invalid_ir() {
        let f = func(
            vec![],
            vec![block(
                vec![],
                vec![],
                Terminator::Return {
                    values: vec![Value(0)],
                },
            )],
            vec![Type::I32],
        );
        let m = one_body(f, vec![]);
        let mut interp = Interp::new(&m).expect("setup");
        assert!(matches!(interp.call(0, &[]), Err(InterpError::Invalid(_))));
    }

    #[test]
    fn raw_accesses_outside_every_symbol_fault() {
        let interp_module = one_body(func(vec![], vec![], vec![]), vec![]);
        let interp = Interp::new(&interp_module).expect("setup");
        assert_eq!(
            interp.read(0, 4),
            Err(InterpError::Trap(TrapCode::MemoryOutOfBounds))
        );
        assert_eq!(interp.read(MEMORY_BYTES_ADDR, 4), Ok(0));
    }
}

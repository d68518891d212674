//! The SSA intermediate representation shared by every stage after the frontend.
//!
//! A function is a list of basic blocks; block 0 is the entry and its parameters are the
//! function's parameters. Values are defined exactly once (by an instruction result or a block
//! parameter) and every instruction remembers the wasm offset it came from.
//!
//! Invariants (checked by `verify`):
//! - only `Terminator::Jump` passes block arguments; the targets of `Branch` and `Switch` take
//!   no parameters (the frontend splits such edges), so there are no critical edges with moves;
//! - every value is defined before use on every path (dominance);
//! - after `legalize`, no value has type `I64` (i64 is a pair of I32 values, low word first).

pub mod dom;
pub mod float;
pub mod interp;
pub mod names;
pub mod table;
pub mod verify;

pub use table::{IndirectCall, TableOp, Tables};

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Type {
    I32,
    I64,
    /// IEEE 754 binary32; a value is its bit pattern.
    F32,
    /// IEEE 754 binary64; a value is its bit pattern.
    F64,
}

impl Type {
    pub fn is_float(self) -> bool {
        matches!(self, Type::F32 | Type::F64)
    }
    /// Size in bytes.
    pub fn bytes(self) -> u8 {
        match self {
            Type::I32 | Type::F32 => 4,
            Type::I64 | Type::F64 => 8,
        }
    }
    /// The integer type of the same width (the type a float's bit pattern has).
    pub fn bits_type(self) -> Type {
        match self {
            Type::I32 | Type::F32 => Type::I32,
            Type::I64 | Type::F64 => Type::I64,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<Type>,
    pub results: Vec<Type>,
}

/// Why execution stopped. The numeric value is what the embedder's `synth_trap` receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum TrapCode {
    Unreachable = 1,
    MemoryOutOfBounds = 2,
    IntegerDivideByZero = 3,
    IntegerOverflow = 4,
    StackOverflow = 5,
    /// A data segment does not fit the memory at instantiation (`synth_init`).
    DataSegmentOutOfBounds = 6,
    /// A float-to-integer truncation of a NaN.
    InvalidConversion = 7,
    /// `table.get/set/fill/copy/init` beyond a table's size or a segment's length.
    TableOutOfBounds = 8,
    /// `call_indirect` with an index beyond the table's size.
    UndefinedElement = 9,
    /// `call_indirect` of a null entry.
    UninitializedElement = 10,
    /// `call_indirect` of a function whose type is not the expected one.
    IndirectCallTypeMismatch = 11,
    /// An active element segment does not fit its table at instantiation (`synth_init`).
    ElemSegmentOutOfBounds = 12,
}

impl TrapCode {
    pub const ALL: [TrapCode; 12] = [
        TrapCode::Unreachable,
        TrapCode::MemoryOutOfBounds,
        TrapCode::IntegerDivideByZero,
        TrapCode::IntegerOverflow,
        TrapCode::StackOverflow,
        TrapCode::DataSegmentOutOfBounds,
        TrapCode::InvalidConversion,
        TrapCode::TableOutOfBounds,
        TrapCode::UndefinedElement,
        TrapCode::UninitializedElement,
        TrapCode::IndirectCallTypeMismatch,
        TrapCode::ElemSegmentOutOfBounds,
    ];
    pub fn code(self) -> u32 {
        self as u32
    }
    pub fn from_code(code: u32) -> Option<TrapCode> {
        TrapCode::ALL.into_iter().find(|t| t.code() == code)
    }
    /// The message wasm engines (and the spec tests) use for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::IntegerDivideByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::DataSegmentOutOfBounds => "out of bounds memory access",
            TrapCode::InvalidConversion => "invalid conversion to integer",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::ElemSegmentOutOfBounds => "out of bounds table access",
        }
    }
}

/// Link-time symbols the generated code refers to. `object` names them (see docs/ABI.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Symbol {
    /// Function by index in `Module::functions` (imports first, then defined, then runtime).
    Function(u32),
    /// Base of linear memory (`.bss` region of `max_pages * 64 KiB`).
    Memory,
    /// A `u32` word holding the current linear-memory size in bytes.
    MemoryBytes,
    /// Storage of global `N` (4 or 8 bytes, little-endian, low word first).
    Global(u32),
    /// Read-only bytes of active data segment `N`.
    DataSegment(u32),
    /// Embedder-provided `void synth_trap(uint32_t code)`, never returns.
    TrapHandler,
    /// Embedder-provided `uintptr_t __synth_stack_limit`: the lowest address sp may reach.
    StackLimit,
    /// Table N: its size word, then its entries (`max` words).
    Table(u32),
    /// The descriptor `{type id, code address}` of function N (`.rodata`).
    FuncRef(u32),
    /// Element segment N: its length word (0 once dropped), then its items.
    Elem(u32),
    /// The length word of passive data segment N (0 once dropped).
    DataLength(u32),
    /// Long type id K (`Tables::long_type_ids`): its address is the id (a weak 4-byte symbol
    /// `__synth_type_<HEX>` every object that needs it defines, so the linker keeps one).
    TypeId(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Clz,
    Ctz,
    Popcnt,
    Eqz,
    Extend8S,
    Extend16S,
    /// i64 only: sign-extend the low 32 bits.
    Extend32S,
    /// i64 -> i32.
    Wrap,
    /// i32 -> i64.
    ExtendI32S,
    ExtendI32U,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// After the frontend, division and remainder never trap: explicit `TrapIf` checks precede
    /// them, so a backend may use an instruction with any result for /0 and INT_MIN/-1.
    DivS,
    DivU,
    RemS,
    RemU,
    And,
    Or,
    Xor,
    /// Shift and rotate counts are taken modulo the bit width, as in wasm.
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl Cond {
    pub fn inverse(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::LtS => Cond::GeS,
            Cond::LtU => Cond::GeU,
            Cond::GtS => Cond::LeS,
            Cond::GtU => Cond::LeU,
            Cond::LeS => Cond::GtS,
            Cond::LeU => Cond::GtU,
            Cond::GeS => Cond::LtS,
            Cond::GeU => Cond::LtU,
        }
    }
    /// The condition with operands swapped: `a c b == b c.swapped() a`.
    pub fn swapped(self) -> Cond {
        match self {
            Cond::Eq | Cond::Ne => self,
            Cond::LtS => Cond::GtS,
            Cond::LtU => Cond::GtU,
            Cond::GtS => Cond::LtS,
            Cond::GtU => Cond::LtU,
            Cond::LeS => Cond::GeS,
            Cond::LeU => Cond::GeU,
            Cond::GeS => Cond::LeS,
            Cond::GeU => Cond::LeU,
        }
    }
}

/// Float operators with one operand (result type = operand type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FUnaryOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    /// Round to nearest, ties to even.
    Nearest,
}

/// Float operators with two operands of the result's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FBinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// Wasm semantics: NaN if either operand is NaN; -0 < +0.
    Min,
    Max,
    Copysign,
}

/// Float comparisons; every one but `Ne` is false when an operand is NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FCond {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Conversions between value types; the source type is the argument's, the target the result's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Conversion {
    /// Float -> integer toward zero; traps `InvalidConversion` on NaN and `IntegerOverflow` when
    /// the truncated value does not fit.
    TruncS,
    TruncU,
    /// Float -> integer toward zero, saturating; NaN gives 0.
    TruncSatS,
    TruncSatU,
    /// Integer -> float, rounded to nearest even.
    ConvertS,
    ConvertU,
    /// f32 -> f64 (exact) and f64 -> f32 (rounded to nearest even).
    Promote,
    Demote,
    /// Same bits, other type (i32 <-> f32, i64 <-> f64).
    Reinterpret,
}

/// A linear-memory access: `width` bytes at `addr + offset` (offset is the wasm memarg offset,
/// kept 64-bit so `offset + width` never overflows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemArg {
    /// 1, 2, 4 or 8 (8 only before legalize).
    pub width: u8,
    /// Loads narrower than the result: sign- or zero-extend.
    pub signed: bool,
    pub offset: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// results[0] = constant (an I64 constant is the full 64-bit value; I32 uses the low bits;
    /// F32/F64 constants are bit patterns in the same way).
    Const(i64),
    /// results[0] = args[0]. Copy propagation removes these.
    Copy,
    /// results[0] = op(args[0]).
    Unary(UnaryOp),
    /// results[0] = args[0] op args[1]. Both operands have the type of the result.
    Binary(BinaryOp),
    /// results[0]: i32 = (args[0] cond args[1]) as 0/1; operands are I32 or I64 (same type).
    Compare(Cond),
    /// results[0] = op(args[0]) on F32 or F64.
    FUnary(FUnaryOp),
    /// results[0] = args[0] op args[1] on F32 or F64.
    FBinary(FBinaryOp),
    /// results[0]: i32 = (args[0] cond args[1]) as 0/1; operands are F32 or F64 (same type).
    FCompare(FCond),
    /// results[0] = args[0] converted (see `Conversion`); the trapping truncations may trap.
    Convert(Conversion),
    /// results[0] = if args[0] != 0 { args[1] } else { args[2] }.
    Select,
    /// Before legalize: args = [addr]. After legalize: args = [memory_base, addr], no checks.
    Load(MemArg),
    /// Before legalize: args = [addr, value]. After legalize: args = [memory_base, addr, value].
    Store(MemArg),
    /// results[0] = memory.size in pages. Removed by legalize.
    MemorySize,
    /// results[0] = memory.grow(args[0]). Removed by legalize.
    MemoryGrow,
    /// results[0] = global N. Removed by legalize (becomes `LoadSymbol`).
    GlobalGet(u32),
    /// global N = args[0]. Removed by legalize (becomes `StoreSymbol`).
    GlobalSet(u32),
    /// Call function N of `Module::functions` with args; results are its results.
    /// After legalize each i64 argument/result is two I32 values (low, high).
    Call(u32),
    /// Trap with the code when args[0] != 0.
    TrapIf(TrapCode),
    /// Table operators (frontend form; removed by legalize).
    Table(TableOp),
    /// `call_indirect` (frontend form; legalize turns it into checks and a `CallPtr`).
    CallIndirect(Box<IndirectCall>),
    /// Bulk memory operators (frontend form; removed by legalize).
    Bulk(BulkOp),

    // ---- introduced by legalize ----
    /// Trap `MemoryOutOfBounds` unless `args[0] + end <= args[1]` as unbounded integers
    /// (args[0] = wasm address, args[1] = memory size in bytes, end = offset + width).
    BoundsCheck { end: u64 },
    /// results[0] = address of the symbol plus `offset`.
    SymbolAddr { symbol: Symbol, offset: u32 },
    /// results[0] = 32-bit word at symbol + offset.
    LoadSymbol { symbol: Symbol, offset: u32 },
    /// 32-bit word at symbol + offset = args[0].
    StoreSymbol { symbol: Symbol, offset: u32 },
    /// i64 add: args = [a_lo, a_hi, b_lo, b_hi], results = [lo, hi].
    AddPair,
    /// i64 sub: args = [a_lo, a_hi, b_lo, b_hi], results = [lo, hi].
    SubPair,
    /// Full 32x32 -> 64 unsigned multiply: args = [a, b], results = [lo, hi].
    MulWideU,
    /// Full 32x32 -> 64 signed multiply: args = [a, b], results = [lo, hi].
    MulWideS,
    /// i64 shift (count modulo 64): args = [lo, hi, count], results = [lo, hi].
    ShiftPair(BinaryOp),
    /// Call the code address args[0] with args[1..] under the signature's ABI (like `Call`).
    CallPtr(Box<Signature>),
}

/// The bulk memory operators in frontend form. Every range is checked before any byte is
/// written: the operator traps `MemoryOutOfBounds` when `dst + len` (or `src + len`) exceeds
/// the memory size, or the segment's length, as unbounded integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkOp {
    /// `memory.copy`: args = [dst, src, len]; overlapping ranges like memmove.
    Copy,
    /// `memory.fill`: args = [dst, value (low byte used), len].
    Fill,
    /// `memory.init` of data segment N: args = [dst, offset in the segment, len].
    Init(u32),
    /// `data.drop` of data segment N: its length becomes 0.
    DataDrop(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inst {
    pub op: Op,
    pub args: Vec<Value>,
    pub results: Vec<Value>,
    /// Offset in the wasm binary of the operator this came from.
    pub offset: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminator {
    /// Unconditional jump; the only terminator that passes block arguments.
    Jump { target: Block, args: Vec<Value> },
    /// If cond != 0 go to `then_block` else `else_block`; neither takes parameters.
    Branch {
        cond: Value,
        then_block: Block,
        else_block: Block,
    },
    /// Jump table: `targets[index]` if index < len, else `default`; no target takes parameters.
    Switch {
        index: Value,
        targets: Vec<Block>,
        default: Block,
    },
    /// Return the function's results (after legalize: i64 results as low, high pairs).
    Return { values: Vec<Value> },
    /// Unconditional trap.
    Trap { code: TrapCode },
}

impl Terminator {
    pub fn successors(&self) -> Vec<Block> {
        match self {
            Terminator::Jump { target, .. } => vec![*target],
            Terminator::Branch {
                then_block,
                else_block,
                ..
            } => vec![*then_block, *else_block],
            Terminator::Switch {
                targets, default, ..
            } => {
                let mut v = targets.clone();
                v.push(*default);
                v
            }
            Terminator::Return { .. } | Terminator::Trap { .. } => Vec::new(),
        }
    }
    /// Successor `i` in the order of `successors`, without building the list.
    pub fn successor(&self, i: usize) -> Option<Block> {
        match self {
            Terminator::Jump { target, .. } => (i == 0).then_some(*target),
            Terminator::Branch {
                then_block,
                else_block,
                ..
            } => [*then_block, *else_block].get(i).copied(),
            Terminator::Switch {
                targets, default, ..
            } => targets
                .get(i)
                .copied()
                .or((i == targets.len()).then_some(*default)),
            Terminator::Return { .. } | Terminator::Trap { .. } => None,
        }
    }
    /// The successors in the order of `successors`, without allocating.
    pub fn successor_iter(&self) -> impl Iterator<Item = Block> + '_ {
        (0..).map_while(|i| self.successor(i))
    }
    /// Replace every successor `s` by `f(s)`.
    pub fn retarget(&mut self, mut f: impl FnMut(Block) -> Block) {
        match self {
            Terminator::Jump { target, .. } => *target = f(*target),
            _ => self.retarget_branches(f),
        }
    }
    /// Replace the targets of a `Branch` or `Switch` (blocks without parameters) by `f(s)`;
    /// a `Jump` keeps its target.
    pub fn retarget_branches(&mut self, mut f: impl FnMut(Block) -> Block) {
        match self {
            Terminator::Branch {
                then_block,
                else_block,
                ..
            } => {
                *then_block = f(*then_block);
                *else_block = f(*else_block);
            }
            Terminator::Switch {
                targets, default, ..
            } => {
                for t in targets.iter_mut() {
                    *t = f(*t);
                }
                *default = f(*default);
            }
            Terminator::Jump { .. } | Terminator::Return { .. } | Terminator::Trap { .. } => {}
        }
    }
    /// Values read by the terminator.
    pub fn uses(&self) -> Vec<Value> {
        self.use_slice().to_vec()
    }
    /// Values read by the terminator, borrowed (no list built).
    pub fn use_slice(&self) -> &[Value] {
        match self {
            Terminator::Jump { args, .. } => args,
            Terminator::Branch { cond, .. } => std::slice::from_ref(cond),
            Terminator::Switch { index, .. } => std::slice::from_ref(index),
            Terminator::Return { values } => values,
            Terminator::Trap { .. } => &[],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
    pub term: Terminator,
    /// Wasm offset of the operator that produced the terminator.
    pub term_offset: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Index in `Module::functions`.
    pub index: u32,
    /// For messages and the report: the export name, else the wasm name section name, else `func[N]`.
    pub name: String,
    /// The wasm-level signature (i64 stays i64 here even after legalize: the ABI needs it).
    pub sig: Signature,
    /// Block 0 is the entry block; its params are the function parameters (after legalize:
    /// each i64 parameter is two I32 params, low first).
    pub blocks: Vec<BlockData>,
    /// Type of every value, indexed by `Value.0`.
    pub value_types: Vec<Type>,
    /// Wasm offset of the function body (for messages).
    pub offset: u32,
}

impl Function {
    pub fn new_value(&mut self, ty: Type) -> Value {
        let v = Value(self.value_types.len() as u32);
        self.value_types.push(ty);
        v
    }
    pub fn value_type(&self, v: Value) -> Type {
        self.value_types[v.0 as usize]
    }
    pub fn block(&self, b: Block) -> &BlockData {
        &self.blocks[b.0 as usize]
    }
    pub fn block_mut(&mut self, b: Block) -> &mut BlockData {
        &mut self.blocks[b.0 as usize]
    }
    /// The constant of each value defined by `Const` (as the IR holds it), indexed by value.
    pub fn constants(&self) -> Vec<Option<i64>> {
        let mut consts = vec![None; self.value_types.len()];
        for inst in self.blocks.iter().flat_map(|b| &b.insts) {
            if let (Op::Const(k), [r]) = (&inst.op, inst.results.as_slice())
                && let Some(slot) = consts.get_mut(r.0 as usize)
            {
                *slot = Some(*k);
            }
        }
        consts
    }
    /// Predecessor lists, indexed by block (a predecessor appears once per edge).
    pub fn predecessors(&self) -> Vec<Vec<Block>> {
        // Counted first so each list is allocated once, at its size.
        let mut counts = vec![0usize; self.blocks.len()];
        for b in &self.blocks {
            for s in b.term.successor_iter() {
                counts[s.0 as usize] += 1;
            }
        }
        let mut preds: Vec<Vec<Block>> = counts.into_iter().map(Vec::with_capacity).collect();
        for (i, b) in self.blocks.iter().enumerate() {
            for s in b.term.successor_iter() {
                preds[s.0 as usize].push(Block(i as u32));
            }
        }
        preds
    }
    /// Blocks in reverse post-order from the entry; unreachable blocks are omitted.
    pub fn reverse_postorder(&self) -> Vec<Block> {
        let n = self.blocks.len();
        let mut visited = vec![false; n];
        let mut post = Vec::with_capacity(n);
        // Iterative DFS: (block, next successor index).
        let mut stack: Vec<(Block, usize)> = Vec::new();
        if n > 0 {
            visited[0] = true;
            stack.push((Block(0), 0));
        }
        while let Some((b, i)) = stack.pop() {
            if let Some(s) = self.blocks[b.0 as usize].term.successor(i) {
                stack.push((b, i + 1));
                if !visited[s.0 as usize] {
                    visited[s.0 as usize] = true;
                    stack.push((s, 0));
                }
            } else {
                post.push(b);
            }
        }
        post.reverse();
        post
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FunctionKind {
    /// Imported: an undefined symbol, called with the same ABI as defined functions.
    Imported(Import),
    /// A helper of the toolchain's runtime library (libgcc / compiler-rt soft-float), an
    /// undefined symbol with the ISA's standard name, called with the base ABI.
    Library(LibCall),
    /// Defined in the module (index into `Module::bodies`).
    Defined(u32),
    /// A runtime helper added by legalize (index into `Module::bodies`).
    Runtime(u32),
}

/// A runtime-library helper: its link name on the target, the operation it computes (on bit
/// patterns: f32 as i32, f64 as i64) and, for a comparison, how it answers. The interpreter's
/// model of the helper follows from `op` and `answer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibCall {
    pub name: &'static str,
    pub op: SoftOp,
    pub answer: CompareAnswer,
}

/// How a library comparison answers (the ISA's runtime-library convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareAnswer {
    /// ARM run-time ABI style: 1 when `a cond b`, else 0 (0 when unordered).
    Bool,
    /// libgcc style (`__ltsf2`, ...): an int ordering `a` against `b`: negative, zero,
    /// positive. Unordered gives a value that makes the compare it is used for false
    /// (positive for Eq/Ne/Lt/Le, negative for Gt/Ge).
    Order,
}

/// A soft-float operation of the runtime library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftOp {
    /// Add, Sub, Mul or Div of two floats of the type.
    Arith(Type, FBinaryOp),
    Compare(Type, FCond),
    /// Integer (`from`, signed or not) -> float `to`, rounded to nearest even.
    FromInt {
        from: Type,
        signed: bool,
        to: Type,
    },
    /// Float `from` -> integer `to` toward zero; only called with in-range operands.
    ToInt {
        from: Type,
        signed: bool,
        to: Type,
    },
    Promote,
    Demote,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionDecl {
    pub sig: Signature,
    pub kind: FunctionKind,
    /// Export names of this function (a function may be exported several times).
    pub exports: Vec<String>,
    /// Human-readable name, as for `Function::name`.
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    pub ty: Type,
    pub mutable: bool,
    /// Initial value (i32/f32 globals use the low 32 bits; floats are bit patterns).
    pub init: i64,
    pub exports: Vec<String>,
    /// Imported: an undefined data symbol the firmware or another module defines (`init` is
    /// unused).
    pub import: Option<Import>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    pub initial_pages: u32,
    /// Effective maximum (`Options::memory_max_pages`).
    pub max_pages: u32,
    pub exports: Vec<String>,
    /// Imported: the buffer and its size word are undefined symbols (docs/ABI.md) that the
    /// embedder or the exporting module defines and initializes.
    pub import: Option<Import>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSegment {
    /// Active: copied to this constant offset of linear memory at instantiation (and dropped
    /// then). Passive (`None`): only `memory.init` reads it, until `data.drop`.
    pub offset: Option<u32>,
    /// `Some(G)`: the active offset is `global.get G` of an imported global, known only at
    /// instantiation (`offset` is then `Some(0)`).
    pub offset_global: Option<u32>,
    /// The bytes (empty for a passive segment no `memory.init` names: nothing can read it).
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// Every function in index order: imports, then defined functions, then runtime helpers.
    pub functions: Vec<FunctionDecl>,
    /// Bodies of defined and runtime functions (see `FunctionKind`).
    pub bodies: Vec<Function>,
    pub globals: Vec<Global>,
    pub memory: Option<Memory>,
    /// Every data segment by segment index; the active ones are applied in this order (later
    /// segments overwrite earlier ones).
    pub data: Vec<DataSegment>,
    /// Index in `functions` of the start function.
    pub start: Option<u32>,
    /// Tables, element segments and function references.
    pub tables: Tables,
    /// Prefix of every global symbol the object defines (`Options::module_name`); `None` is the
    /// unprefixed legacy naming (`synth_init`, exports by their own name).
    pub namespace: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Printing (for debugging and test failure messages).

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}", self.0)
    }
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "function {} ({:?} -> {:?}):",
            self.name, self.sig.params, self.sig.results
        )?;
        for (i, b) in self.blocks.iter().enumerate() {
            let params: Vec<String> = b
                .params
                .iter()
                .map(|p| format!("{p}: {:?}", self.value_type(*p)))
                .collect();
            writeln!(f, "b{i}({}):", params.join(", "))?;
            for inst in &b.insts {
                let res = if inst.results.is_empty() {
                    String::new()
                } else {
                    format!("{} = ", list(&inst.results))
                };
                writeln!(
                    f,
                    "    {res}{:?} {}    ; @{:#x}",
                    inst.op,
                    list(&inst.args),
                    inst.offset
                )?;
            }
            writeln!(f, "    {:?}", b.term)?;
        }
        Ok(())
    }
}

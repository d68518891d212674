//! Linear memory and globals made explicit: raw accesses off `SymbolAddr(Memory)` after an
//! optional `BoundsCheck`, `memory.size`/`memory.grow` on the `MemoryBytes` word, and globals as
//! `LoadSymbol`/`StoreSymbol`.

use super::BodyLegalizer;
use super::path_ranges::PathRanges;
use crate::error::Result;
use crate::ir::dom::Dominators;
use crate::ir::{
    BinaryOp, Block, Cond, Function, FunctionKind, Inst, MemArg, Module, Op, Symbol, TrapCode,
    Type, Value,
};

/// Whether the memory size word can change during any call of this function: only by a
/// `memory.grow`, here or (through a call) elsewhere in the module, or in another module that
/// shares the memory and that a call may reach through an import.
pub(super) fn bytes_fixed(module: &Module, func: &Function) -> bool {
    let grows_here = func
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .any(|i| matches!(i.op, Op::MemoryGrow));
    if grows_here {
        return false;
    }
    let calls = func
        .blocks
        .iter()
        .flat_map(|b| &b.insts)
        .any(|i| may_grow(&i.op));
    if !calls {
        return true;
    }
    let grows_in_module = module
        .bodies
        .iter()
        .flat_map(|f| &f.blocks)
        .flat_map(|b| &b.insts)
        .any(|i| matches!(i.op, Op::MemoryGrow));
    let shared = module
        .memory
        .as_ref()
        .is_some_and(|m| m.import.is_some() || !m.exports.is_empty());
    let imports_code = module
        .functions
        .iter()
        .any(|f| matches!(f.kind, FunctionKind::Imported(_)));
    !(grows_in_module || shared && imports_code)
}

/// Operators after which the memory may have grown.
pub(super) fn may_grow(op: &Op) -> bool {
    matches!(op, Op::MemoryGrow | Op::Call(_) | Op::CallIndirect(_))
}

/// Instructions after a load searched for accesses its check may cover (`reach`).
const MAX_REACH: usize = 64;

/// The low bits of a constant address an access takes as its offset (RV32's signed 12-bit
/// immediate reaches 2047; Thumb-2's reaches 4095).
const LOW_BITS: u64 = 0x7ff;

/// What `reassociate` needs to know of the old function's values.
pub(super) struct OldAddresses {
    /// The operands and block of each i32 `a + b` used only as the address of accesses.
    sums: Vec<Option<(Value, Value, Block)>>,
    /// Which values are shifts left by 1..=3 (array indices scaled by the element size) read
    /// once: Thumb-2 can fold them into an access.
    scaled: Vec<bool>,
    /// Each block's innermost natural loop (its index in `Dominators::loops`), if any.
    innermost: Vec<Option<usize>>,
    /// Each i32 value that adds a constant to another (or subtracts one): the other and the
    /// constant added (wrapping).
    offsets: Vec<Option<(Value, u32)>>,
    /// The old function's dominators (immediate dominators for the checks a block inherits;
    /// the path ranges' facts).
    pub(super) dom: Dominators,
}

pub(super) fn old_addresses(func: &Function) -> OldAddresses {
    let n = func.value_types.len();
    let mut binaries = vec![None; n];
    let mut offsets = vec![None; n];
    let mut scaled = vec![false; n];
    let consts = func.constants();
    let mut address_only = vec![true; n];
    let mut uses = vec![0u32; n];
    for (bi, block) in func.blocks.iter().enumerate() {
        for inst in &block.insts {
            if let (Op::Binary(op), [r], [a, b]) =
                (&inst.op, inst.results.as_slice(), &inst.args[..])
                && func.value_types.get(r.0 as usize) == Some(&Type::I32)
                && let Some(slot) = binaries.get_mut(r.0 as usize)
            {
                let k = |v: &Value| consts.get(v.0 as usize).copied().flatten();
                offsets[r.0 as usize] = match (op, k(a), k(b)) {
                    (BinaryOp::Add, _, Some(c)) => Some((*a, c as u32)),
                    (BinaryOp::Add, Some(c), _) => Some((*b, c as u32)),
                    (BinaryOp::Sub, _, Some(c)) => Some((*a, (c as u32).wrapping_neg())),
                    _ => None,
                };
                match op {
                    BinaryOp::Add => *slot = Some((*a, *b, Block(bi as u32))),
                    BinaryOp::Shl
                        if consts
                            .get(b.0 as usize)
                            .copied()
                            .flatten()
                            .is_some_and(|k| (1..=3).contains(&(k & 31))) =>
                    {
                        scaled[r.0 as usize] = true
                    }
                    _ => {}
                }
            }
            for a in &inst.args {
                if let Some(u) = uses.get_mut(a.0 as usize) {
                    *u += 1;
                }
            }
            let skip = usize::from(matches!(inst.op, Op::Load(_) | Op::Store(_)));
            for a in inst.args.iter().skip(skip) {
                if let Some(only) = address_only.get_mut(a.0 as usize) {
                    *only = false;
                }
            }
        }
        for a in block.term.uses() {
            if let Some(only) = address_only.get_mut(a.0 as usize) {
                *only = false;
            }
        }
    }
    for (s, u) in scaled.iter_mut().zip(&uses) {
        *s &= *u == 1;
    }
    for (slot, only) in binaries.iter_mut().zip(address_only) {
        if !only {
            *slot = None;
        }
    }
    let dom = Dominators::compute(func);
    let mut innermost = vec![None; func.blocks.len()];
    // Innermost loops come first: the first loop holding a block is its innermost.
    for (i, l) in dom.loops(func).iter().enumerate() {
        for (slot, inside) in innermost.iter_mut().zip(&l.in_body) {
            if *inside && slot.is_none() {
                *slot = Some(i);
            }
        }
    }
    OldAddresses {
        sums: binaries,
        scaled,
        innermost,
        offsets,
        dom,
    }
}

impl BodyLegalizer<'_> {
    /// Is old `v` a shift an access can fold (`OldAddresses::scaled`)?
    fn is_old_shift(&self, v: Value) -> bool {
        self.old_addresses
            .scaled
            .get(v.0 as usize)
            .copied()
            .unwrap_or(false)
    }

    /// `(x, c)` with old value `v` = x + c (wrapping), through a few additions and
    /// subtractions of constants.
    fn offset_form(&self, v: Value) -> (Value, u32) {
        let (mut x, mut c) = (v, 0u32);
        for _ in 0..4 {
            match self
                .old_addresses
                .offsets
                .get(x.0 as usize)
                .copied()
                .flatten()
            {
                Some((next, k)) => {
                    x = next;
                    c = c.wrapping_add(k);
                }
                None => break,
            }
        }
        (x, c)
    }

    /// The range of old `v` where the current block runs (`PathRanges`, made at first use).
    fn range_here(&mut self, v: Value) -> Option<(u32, u32)> {
        let (old, dom) = (self.old, &self.old_addresses.dom);
        self.path_ranges
            .get_or_insert_with(|| PathRanges::new(old, dom))
            .at(v, self.old_block)
    }

    /// The smallest value old `v` can take in the current block, from either range analysis.
    fn lower_bound(&mut self, v: Value) -> u32 {
        let everywhere = self
            .ranges
            .as_mut()
            .and_then(|r| r.of(v))
            .map_or(0, |r| r.0);
        everywhere.max(self.range_here(v).map_or(0, |r| r.0))
    }

    /// Does a check passed earlier in this block cover the access of `end` bytes at old
    /// address `x + c`? One at `x + c2` up to `end2` does when the access lies within
    /// `[x + c2, x + c2 + end2)`: above it, the sum cannot wrap (the checked range ends within
    /// memory); below it, the checked address must be at least the distance down, which its
    /// range shows.
    fn covered(&mut self, (x, c): (Value, u32), end: u64) -> bool {
        for i in 0..self.covered.len() {
            let (x2, c2, end2, checked) = self.covered[i];
            if x2 != x {
                continue;
            }
            let d = c.wrapping_sub(c2) as i32 as i64;
            if d >= 0 {
                if d + end as i64 <= end2 as i64 {
                    return true;
                }
            } else if end as i64 + d <= end2 as i64 && self.lower_bound(checked) as i64 >= -d {
                return true;
            }
        }
        false
    }

    /// The end a check of the current access at old `addr` may cover: a load's check also
    /// covers the later accesses at or above the same address (`addr + d`, `d` a small
    /// constant) in its block up to the first store (that one included), when nothing between
    /// can trap otherwise or be seen (only computations, loads and global reads). Whichever
    /// of those accesses is out of bounds, the first traps with the same code and nothing has
    /// changed in between, so checking the farthest end at once is indistinguishable, and
    /// saves the checks after it.
    fn reach(&self, addr: Value, end: u64) -> u64 {
        let insts = &self.old.block(self.old_block).insts;
        if !matches!(insts.get(self.inst_index).map(|i| &i.op), Some(Op::Load(_))) {
            return end;
        }
        let (x, c) = self.offset_form(addr);
        // How far past `addr` the access at old address `a` of `m` ends, when it is at
        // `x + c + d` with `d` small and not negative (so `covered` takes it).
        let beyond = |a: Value, m: &MemArg| {
            let (x2, c2) = self.offset_form(a);
            let d = c2.wrapping_sub(c) as i32 as i64;
            (x2 == x && (0..=i64::from(u16::MAX)).contains(&d))
                .then(|| d as u64 + m.offset + m.width as u64)
        };
        let mut reach = end;
        for inst in insts.iter().skip(self.inst_index + 1).take(MAX_REACH) {
            let a = inst.args.first().copied();
            match &inst.op {
                Op::Load(m) => {
                    if let Some(e) = a.and_then(|a| beyond(a, m)) {
                        reach = reach.max(e);
                    }
                }
                Op::Store(m) => {
                    if let Some(e) = a.and_then(|a| beyond(a, m)) {
                        reach = reach.max(e);
                    }
                    break;
                }
                Op::Binary(BinaryOp::DivS | BinaryOp::DivU | BinaryOp::RemS | BinaryOp::RemU) => {
                    break;
                }
                Op::Const(_)
                | Op::Copy
                | Op::Unary(_)
                | Op::Binary(_)
                | Op::Compare(_)
                | Op::FUnary(_)
                | Op::FBinary(_)
                | Op::FCompare(_)
                | Op::Select
                | Op::GlobalGet(_)
                | Op::MemorySize => {}
                _ => break,
            }
        }
        reach
    }

    fn max_pages(&self) -> Result<u32> {
        match &self.module.memory {
            Some(m) => Ok(m.max_pages),
            None => Err(self.error("memory access in a module without memory")),
        }
    }

    /// The memory base (and, when it cannot change, the size word) defined once at the top of
    /// the entry block, so the register allocator keeps them for the whole function (or spills
    /// them like any value) instead of rebuilding them at every access. DCE drops them unused.
    pub(super) fn hoist_memory_values(&mut self) -> Result<()> {
        let accesses = self
            .old
            .blocks
            .iter()
            .flat_map(|b| &b.insts)
            .any(|i| matches!(i.op, Op::Load(_) | Op::Store(_)));
        if !accesses || self.module.memory.is_none() {
            return Ok(());
        }
        self.b.offset = self.old.offset;
        self.memory_base = Some(self.b.one(
            Op::SymbolAddr {
                symbol: Symbol::Memory,
                offset: 0,
            },
            vec![],
        ));
        if self.bytes_fixed && self.options.bounds_checks {
            self.memory_bytes();
        }
        Ok(())
    }

    fn base(&mut self) -> Result<Value> {
        self.max_pages()?;
        self.memory_base
            .ok_or_else(|| self.error("memory access without a hoisted base"))
    }

    /// The size word, reloaded only when a call or `memory.grow` may have changed it.
    fn memory_bytes(&mut self) -> Value {
        if let Some(bytes) = self.memory_bytes {
            return bytes;
        }
        let bytes = self.b.one(
            Op::LoadSymbol {
                symbol: Symbol::MemoryBytes,
                offset: 0,
            },
            vec![],
        );
        self.memory_bytes = Some(bytes);
        bytes
    }

    /// The bounds check (when enabled) for the whole access, then the memory base and whether
    /// a check reads the access's address (so the address is computed anyway). The access
    /// fits u32 offsets: longer ones were cut off as always trapping.
    fn prepare_access(
        &mut self,
        old_addr: Value,
        addr: Value,
        m: &MemArg,
    ) -> Result<(Value, u32, bool)> {
        let base = self.base()?;
        let end = m.offset + m.width as u64;
        let offset = u32::try_from(m.offset)
            .ok()
            .filter(|_| end <= u32::MAX as u64)
            .ok_or_else(|| self.error("access offset beyond 32 bits was not cut"))?;
        let checked = self.options.bounds_checks && self.bounds_check(old_addr, addr, end);
        Ok((base, offset, checked))
    }

    /// Memory never shrinks below its declared minimum, so a check is needed only where that
    /// does not already cover the access; where it remains, one compare against
    /// `bytes - end` (which cannot wrap when `end` is within the minimum) and a trap branch.
    /// A longer access to an address already checked in the block compares the room left
    /// after it (`bytes - addr`, computed once) with its end instead. Whether a check reads
    /// the address: this access's, or an earlier one in the block that covers it.
    fn bounds_check(&mut self, old_addr: Value, addr: Value, end: u64) -> bool {
        let min_bytes = super::memory_min_bytes(self.module);
        let konst = self.old_consts.get(old_addr.0 as usize).copied().flatten();
        if let Some(k) = konst
            && (k as u32 as u64) + end <= min_bytes
        {
            return false;
        }
        if let Some(r) = self.ranges.as_mut().and_then(|r| r.of(old_addr))
            && r.1 as u64 + end <= min_bytes
        {
            return false;
        }
        if self
            .range_here(old_addr)
            .is_some_and(|r| r.1 as u64 + end <= min_bytes)
        {
            return false;
        }
        if self.checked.iter().any(|&(a, e)| a == addr && e >= end) {
            return true;
        }
        let form = self.offset_form(old_addr);
        if self.covered(form, end) {
            return false;
        }
        let end = self.reach(old_addr, end);
        self.covered.push((form.0, form.1, end, old_addr));
        let bytes = self.memory_bytes();
        if self.checked.iter().any(|&(a, _)| a == addr) {
            let room = match self.rooms.iter().find(|r| r.0 == addr && r.1 == bytes) {
                Some(&(_, _, room)) => room,
                None => {
                    let room = self.b.bin(BinaryOp::Sub, bytes, addr);
                    self.rooms.push((addr, bytes, room));
                    room
                }
            };
            let needed = self.b.konst(end as u32);
            let short = self.b.cmp(Cond::LtU, room, needed);
            self.b
                .effect(Op::TrapIf(TrapCode::MemoryOutOfBounds), vec![short]);
        } else if end <= min_bytes {
            let limit = self.b.bin_k(BinaryOp::Sub, bytes, end as u32);
            let beyond = self.b.cmp(Cond::GtU, addr, limit);
            self.b
                .effect(Op::TrapIf(TrapCode::MemoryOutOfBounds), vec![beyond]);
        } else {
            self.b.effect(Op::BoundsCheck { end }, vec![addr, bytes]);
        }
        match self.checked.iter_mut().find(|(a, _)| *a == addr) {
            Some(entry) => entry.1 = end,
            None => self.checked.push((addr, end)),
        }
        true
    }

    /// The (base, address, offset) an access of `base + addr + offset` passes on. A sum the
    /// target would compute for this access anyway becomes a value of its own, so GVN shares it
    /// between accesses (and LICM may hoist it): `base + addr` with address 0 for a variable
    /// address (RV32 always; Thumb-2, which adds two registers in the access, only with a
    /// constant offset as well, `wide` counting as one); for a constant address beyond an
    /// access immediate (a C global above wasm-ld's 64 KiB stack), `base + the address's
    /// upper part` with the low 11 bits as the offset, shared by every access near it.
    /// An address no check needs is reassociated first (`reassociate`).
    fn host_address(
        &mut self,
        old_addr: Value,
        (base, addr, offset): (Value, Value, u32),
        wide: bool,
        checked: bool,
    ) -> (Value, Value, u32) {
        if let Some(k) = self.old_consts.get(old_addr.0 as usize).copied().flatten() {
            let full = (k as u32 as u64) + offset as u64;
            if full <= LOW_BITS || full > u32::MAX as u64 {
                return (base, addr, offset);
            }
            let (host, offset) = self.near_base(base, full as u32);
            return (host, self.b.konst(0), offset);
        }
        let (base, addr, offset) = if checked {
            (base, addr, offset)
        } else {
            self.reassociate(old_addr, (base, addr, offset), wide)
        };
        if offset == 0 && !wide && self.b.caps.indexed_access {
            return (base, addr, offset);
        }
        let host = self.b.bin(BinaryOp::Add, base, addr);
        (host, self.b.konst(0), offset)
    }

    /// `base + k` as a base shared by every access near `k` (`k` less its low 11 bits, GVN
    /// shares it) and the offset left; `base` itself when `k` is within the low bits.
    fn near_base(&mut self, base: Value, k: u32) -> (Value, u32) {
        let upper = k & !(LOW_BITS as u32);
        if upper == 0 {
            return (base, k);
        }
        let upper = self.b.konst(upper);
        (self.b.bin(BinaryOp::Add, base, upper), k & LOW_BITS as u32)
    }

    /// `base + (x + k)` as `(base + k) + x`, and `base + (p + (i << s))` as
    /// `(base + p) + (i << s)`: the part an array access keeps fixed across a loop (the array's
    /// address) joins the memory base, which makes it loop-invariant (LICM hoists it), and the
    /// index that changes is what the access adds (the second form only where Thumb-2 folds
    /// the shift into the access, `ldr rd, [rn, rm, lsl #s]`). Only for an address that
    /// nothing but accesses read and no bounds check reads: otherwise the sum is computed
    /// anyway, and the plain form costs less. Host addresses are 32 bits, so the sums wrap as
    /// the wasm address does.
    fn reassociate(
        &mut self,
        old_addr: Value,
        (base, addr, offset): (Value, Value, u32),
        wide: bool,
    ) -> (Value, Value, u32) {
        // An address computed outside the access's innermost loop stays whole: taking it
        // apart here would redo the sum at every iteration.
        let innermost = |b: Block| self.old_addresses.innermost.get(b.0 as usize).copied();
        let Some((a, b, _)) = self
            .old_addresses
            .sums
            .get(old_addr.0 as usize)
            .copied()
            .flatten()
            .filter(|s| innermost(s.2) == innermost(self.old_block))
        else {
            return (base, addr, offset);
        };
        let konst = |v: Value| self.old_consts.get(v.0 as usize).copied().flatten();
        // `base + p` pays only where the access then scales the index itself.
        let folds = self.b.caps.indexed_access && offset == 0 && !wide;
        let (fixed, index) = match (konst(a), konst(b)) {
            (_, Some(k)) => (Err(k as u32), a),
            (Some(k), _) => (Err(k as u32), b),
            _ if folds && self.is_old_shift(b) => (Ok(a), b),
            _ if folds && self.is_old_shift(a) => (Ok(b), a),
            _ => return (base, addr, offset),
        };
        let Ok(index) = self.get32(index) else {
            return (base, addr, offset);
        };
        match fixed {
            Ok(part) => match self.get32(part) {
                Ok(part) => (self.b.bin(BinaryOp::Add, base, part), index, offset),
                Err(_) => (base, addr, offset),
            },
            // Thumb-2's register-index form takes no offset: a far constant (a C global
            // array) joins the base whole. Near ones (struct fields off a pointer) stay offsets,
            // so the fields share `base + pointer`.
            Err(k) => {
                let full = k.wrapping_add(offset);
                if self.b.caps.indexed_access && !wide && full > LOW_BITS as u32 {
                    let full = self.b.konst(full);
                    (self.b.bin(BinaryOp::Add, base, full), index, 0)
                } else {
                    let (host, offset) = self.near_base(base, full);
                    (host, index, offset)
                }
            }
        }
    }

    fn raw(width: u8, signed: bool, offset: u32) -> MemArg {
        MemArg {
            width,
            signed,
            offset: offset as u64,
        }
    }

    pub(super) fn load(&mut self, inst: &Inst, m: &MemArg) -> Result<()> {
        let old_addr = self.arg(inst, 0)?;
        let addr = self.get32(old_addr)?;
        let r = self.result(inst, 0)?;
        let (base, offset, checked) = self.prepare_access(old_addr, addr, m)?;
        let wide = self.type_of(r)? == Type::I64 && m.width == 8;
        let (base, addr, offset) = self.host_address(old_addr, (base, addr, offset), wide, checked);
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
        let old_addr = self.arg(inst, 0)?;
        let addr = self.get32(old_addr)?;
        let value = self.arg(inst, 1)?;
        let (base, offset, checked) = self.prepare_access(old_addr, addr, m)?;
        let wide = self.type_of(value)? == Type::I64 && m.width == 8;
        let (base, addr, offset) = self.host_address(old_addr, (base, addr, offset), wide, checked);
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

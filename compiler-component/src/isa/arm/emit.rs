//! After allocation: frame layout, prologue/epilogue, the allocator's edits, expansion of each
//! `MInst` into Thumb-2 instructions, branch relaxation, relocations and the listing.

use super::asm::{Asm, Cc, DataOp, Extend, Mem, NarrowOp, Shift};
use super::encode::modimm;
use super::inst::{Access, MInst, Src, StackRef, Test};
use super::layout::{BranchKind, Item, Meta, drop_dead_jumps, finish, relax, thread_jumps};
use super::lower::Lowered;
use super::regs::{IP, LR, PC, R0, R3, SP, VfpFile, is_low, is_vfp};
use crate::error::{CompileError, Result};
use crate::ir::{BinaryOp, Cond, Module, Symbol, TrapCode, UnaryOp};
use crate::isa::{CompiledFunction, FunctionStats, LineKind};
use crate::options::Options;
use crate::regalloc::{Allocation, Edit, EditKind, Location, MachFunction, PReg, PRegSet, VReg};
use std::collections::BTreeMap;

#[path = "emit_mul.rs"]
mod mul;
#[path = "emit_vfp.rs"]
mod vfp;
use vfp::{SlotLayout, vfp_save_bytes, vfp_saves};

pub const R_ARM_THM_CALL: u32 = 10;
pub const R_ARM_THM_MOVW_ABS_NC: u32 = 47;
pub const R_ARM_THM_MOVT_ABS: u32 = 48;

/// The largest offset of the imm12 load/store forms; sp-relative accesses beyond it put the
/// offset in a register (`Builder::stack_mem`).
const MAX_IMM12: u32 = 4095;

/// `cmp rn, rhs` as one instruction, when it is one.
fn one_cmp(rn: PReg, rhs: PSrc) -> Option<Asm> {
    Some(match rhs {
        PSrc::Reg(rm) => Asm::CmpReg { rn, rm },
        PSrc::Imm(imm) if is_low(rn) && imm < 256 => Asm::CmpImm8 { rn, imm: imm as u8 },
        PSrc::Imm(imm) if modimm(imm).is_some() => Asm::CmpImm32 {
            negative: false,
            rn,
            imm,
        },
        PSrc::Imm(imm) if imm != 0 && modimm(imm.wrapping_neg()).is_some() => Asm::CmpImm32 {
            negative: true,
            rn,
            imm: imm.wrapping_neg(),
        },
        PSrc::Imm(_) => return None,
    })
}

fn cc_of(cond: Cond) -> Cc {
    match cond {
        Cond::Eq => Cc::Eq,
        Cond::Ne => Cc::Ne,
        Cond::LtS => Cc::Lt,
        Cond::LtU => Cc::Lo,
        Cond::GtS => Cc::Gt,
        Cond::GtU => Cc::Hi,
        Cond::LeS => Cc::Le,
        Cond::LeU => Cc::Ls,
        Cond::GeS => Cc::Ge,
        Cond::GeU => Cc::Hs,
    }
}

/// A second operand after allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PSrc {
    Reg(PReg),
    Imm(u32),
}

/// Frame layout, from sp upwards after the prologue: outgoing arguments and call result
/// areas (`Lowered::local_area`), spill slots, padding, saved registers, incoming arguments.
#[derive(Clone, Debug)]
struct Frame {
    /// Core registers pushed.
    saved: PRegSet,
    /// VFP registers pushed after them (`vpush`): first and count.
    vfp_saved: Option<(super::asm::FReg, u8)>,
    local_area: u32,
    slots: SlotLayout,
    /// Bytes subtracted from sp after the pushes.
    locals: u32,
}

impl Frame {
    /// `spare`: the large-frame scratch register, saved like a callee-saved one.
    fn new(
        lowered: &Lowered,
        alloc: &Allocation,
        spare: Option<PReg>,
        vfp: VfpFile,
    ) -> Result<Frame> {
        let vfp_saved = vfp_saves(alloc.used_callee_saved, vfp);
        let mut saved = PRegSet(alloc.used_callee_saved.0 & 0xffff);
        if lowered.has_calls {
            saved = saved.with(LR);
        }
        if let Some(spare) = spare {
            saved = saved.with(spare);
        }
        // An even number of words keeps sp 8-aligned; r3 is free at entry and exit (never a
        // result register) and pushing it costs nothing extra.
        if saved.iter().count() % 2 == 1 {
            saved = saved.with(R3);
        }
        let slots = SlotLayout::new(alloc, vfp);
        if slots.bytes >= u32::MAX / 2 {
            return Err(CompileError::limit("too many spill slots"));
        }
        let too_large = || CompileError::limit("stack frame too large");
        let locals = lowered
            .local_area
            .checked_add(slots.bytes)
            .and_then(|n| n.checked_next_multiple_of(8))
            .ok_or_else(too_large)?;
        let frame = Frame {
            saved,
            vfp_saved,
            local_area: lowered.local_area,
            slots,
            locals,
        };
        // Every offset below (slots, incoming arguments) must fit in 32 bits.
        frame
            .locals
            .checked_add(4 * frame.saved.iter().count() as u32)
            .and_then(|n| n.checked_add(vfp_save_bytes(frame.vfp_saved)))
            .and_then(|total| total.checked_add(lowered.incoming_stack_bytes))
            .ok_or_else(too_large)?;
        Ok(frame)
    }
    fn total(&self) -> u32 {
        self.locals + 4 * self.saved.iter().count() as u32 + vfp_save_bytes(self.vfp_saved)
    }
    fn slot(&self, n: u32) -> u32 {
        self.local_area + self.slots.offsets.get(n as usize).copied().unwrap_or(0)
    }
    fn is_wide(&self, n: u32) -> bool {
        self.slots.wide.get(n as usize).copied().unwrap_or(false)
    }
    fn stack_ref(&self, s: StackRef) -> u32 {
        match s {
            StackRef::Local(off) => off,
            StackRef::Incoming(off) => self.total() + off,
        }
    }
}

struct Builder<'a> {
    module: &'a Module,
    items: Vec<Item>,
    meta: Meta,
    num_blocks: usize,
    trap_labels: BTreeMap<TrapCode, usize>,
}

impl<'a> Builder<'a> {
    fn inst(&mut self, asm: Asm) {
        self.items.push(Item::Inst {
            asm,
            meta: self.meta,
            reloc: None,
        });
    }

    fn reloc(&mut self, asm: Asm, r_type: u32, symbol: Symbol) {
        self.items.push(Item::Inst {
            asm,
            meta: self.meta,
            reloc: Some((r_type, symbol)),
        });
    }

    fn branch(&mut self, kind: BranchKind, target: usize) {
        self.items.push(Item::Branch {
            kind,
            target,
            state: 0,
            meta: self.meta,
        });
    }

    fn trap_label(&mut self, code: TrapCode) -> usize {
        let next = self.num_blocks + self.trap_labels.len();
        *self.trap_labels.entry(code).or_insert(next)
    }

    fn mov(&mut self, rd: PReg, rm: PReg) {
        if rd != rm {
            self.inst(Asm::MovReg { rd, rm });
        }
    }

    /// Shortest materialization of a constant (may set flags).
    fn mov_imm(&mut self, rd: PReg, value: u32) {
        if is_low(rd) && value < 256 {
            self.inst(Asm::MovsImm {
                rd,
                imm: value as u8,
            });
        } else if modimm(value).is_some() {
            self.inst(Asm::MovImm32 {
                not: false,
                rd,
                imm: value,
            });
        } else if modimm(!value).is_some() {
            self.inst(Asm::MovImm32 {
                not: true,
                rd,
                imm: !value,
            });
        } else {
            self.inst(Asm::MovW {
                top: false,
                rd,
                imm: value as u16,
            });
            if value >> 16 != 0 {
                self.inst(Asm::MovW {
                    top: true,
                    rd,
                    imm: (value >> 16) as u16,
                });
            }
        }
    }

    /// rd = rn + imm (wrapping); may set flags; uses ip when no single instruction fits.
    fn add_imm(&mut self, rd: PReg, rn: PReg, imm: u32) {
        if imm == 0 {
            self.mov(rd, rn);
            return;
        }
        // Prefer the positive magnitude: add for small values, sub for small negatives.
        let neg = imm.wrapping_neg();
        let (sub, mag) = if imm <= neg {
            (false, imm)
        } else {
            (true, neg)
        };
        for (sub, mag) in [(sub, mag), (!sub, if sub { imm } else { neg })] {
            if is_low(rd) && is_low(rn) && mag < 8 {
                return self.inst(Asm::AddSubImm3 {
                    sub,
                    rd,
                    rn,
                    imm: mag as u8,
                });
            }
            if rd == rn && is_low(rd) && mag < 256 {
                return self.inst(Asm::AddSubImm8 {
                    sub,
                    rdn: rd,
                    imm: mag as u8,
                });
            }
            if rn == SP && rd == SP && mag.is_multiple_of(4) && mag <= 508 {
                return self.inst(Asm::AdjustSp16 { sub, imm: mag });
            }
            if rn == SP && is_low(rd) && !sub && mag.is_multiple_of(4) && mag <= 1020 {
                return self.inst(Asm::AddRdSp16 { rd, imm: mag });
            }
        }
        for (sub, mag) in [(sub, mag), (!sub, if sub { imm } else { neg })] {
            if modimm(mag).is_some() {
                let op = if sub { DataOp::Sub } else { DataOp::Add };
                return self.inst(Asm::DataImm {
                    op,
                    s: false,
                    rd,
                    rn,
                    imm: mag,
                });
            }
            if mag < 4096 {
                return self.inst(Asm::AddSubW {
                    sub,
                    rd,
                    rn,
                    imm: mag,
                });
            }
        }
        if rn == IP || (rd == SP && rn == SP) {
            // ip is the operand itself (stack-limit check), or sp moves by a large frame:
            // add in encodable pieces instead of through ip.
            return self.add_imm_pieces(rd, rn, sub, mag);
        }
        self.mov_imm(IP, imm);
        self.add_reg(rd, rn, IP);
    }

    /// rd = rn +/- mag without a scratch register: an imm12 `addw`/`subw` for the low 12 bits,
    /// then modified immediates of 8 significant bits each for the rest (at most three).
    fn add_imm_pieces(&mut self, rd: PReg, rn: PReg, sub: bool, mag: u32) {
        let mut from = rn;
        let low = mag & 0xfff;
        if low != 0 {
            self.inst(Asm::AddSubW {
                sub,
                rd,
                rn: from,
                imm: low,
            });
            from = rd;
        }
        let mut rest = mag & !0xfff;
        let op = if sub { DataOp::Sub } else { DataOp::Add };
        while rest != 0 {
            // An 8-bit window ending at the top set bit (bit 12 or higher) is a modified
            // immediate: 1bcdefgh rotated right by 8..=25.
            let top = 31 - rest.leading_zeros();
            let piece = rest & (0xff << (top - 7));
            self.data_imm(op, false, rd, from, piece);
            from = rd;
            rest &= !piece;
        }
    }

    fn add_reg(&mut self, rd: PReg, rn: PReg, rm: PReg) {
        if is_low(rd) && is_low(rn) && is_low(rm) {
            self.inst(Asm::AddSubReg3 {
                sub: false,
                rd,
                rn,
                rm,
            });
        } else if rd == rn {
            self.inst(Asm::AddHigh { rdn: rd, rm });
        } else if rd == rm {
            self.inst(Asm::AddHigh { rdn: rd, rm: rn });
        } else {
            self.data_reg(DataOp::Add, false, rd, rn, rm);
        }
    }

    fn data_reg(&mut self, op: DataOp, s: bool, rd: PReg, rn: PReg, rm: PReg) {
        self.inst(Asm::DataReg { op, s, rd, rn, rm });
    }

    fn data_imm(&mut self, op: DataOp, s: bool, rd: PReg, rn: PReg, imm: u32) {
        self.inst(Asm::DataImm { op, s, rd, rn, imm });
    }

    /// Two-operand 16-bit form when the destination is one of the (low) sources.
    fn narrow_or(&mut self, op: NarrowOp, commutative: bool, rd: PReg, rn: PReg, rm: PReg) -> bool {
        if !(is_low(rd) && is_low(rn) && is_low(rm)) {
            return false;
        }
        if rd == rn {
            self.inst(Asm::Narrow { op, rdn: rd, rm });
            true
        } else if rd == rm && commutative {
            self.inst(Asm::Narrow {
                op,
                rdn: rd,
                rm: rn,
            });
            true
        } else {
            false
        }
    }

    fn shift_imm(&mut self, op: Shift, rd: PReg, rm: PReg, amount: u32) {
        let amount = amount & 31;
        if amount == 0 {
            return self.mov(rd, rm);
        }
        if op != Shift::Ror && is_low(rd) && is_low(rm) {
            self.inst(Asm::ShiftImm16 {
                op,
                rd,
                rm,
                imm: amount as u8,
            });
        } else {
            self.inst(Asm::ShiftImm32 {
                op,
                rd,
                rm,
                imm: amount as u8,
            });
        }
    }

    fn cmp(&mut self, rn: PReg, rhs: PSrc) {
        if let Some(cmp) = one_cmp(rn, rhs) {
            self.inst(cmp);
        } else if let PSrc::Imm(imm) = rhs {
            // An immediate no compare encodes: through ip.
            self.mov_imm(IP, imm);
            self.inst(Asm::CmpReg { rn, rm: IP });
        }
    }

    /// Did the instruction just emitted write `rn` and set the Z flag from it, as `cmp rn, #0`
    /// would? A 32-bit data-processing instruction without flags is switched to its flag-setting
    /// form (same size) to make it so. Narrow data-processing instructions set flags outside IT
    /// blocks; inside one they are wrapped in `Asm::Cond` and do not count.
    fn zero_flag_of(&mut self, rn: PReg) -> bool {
        let Some(Item::Inst { asm, .. }) = self.items.last_mut() else {
            return false;
        };
        match asm {
            Asm::AddSubReg3 { rd, .. }
            | Asm::AddSubImm3 { rd, .. }
            | Asm::ShiftImm16 { rd, .. } => *rd == rn,
            Asm::AddSubImm8 { rdn, .. } | Asm::Narrow { rdn, .. } => *rdn == rn,
            Asm::DataImm { s, rd, .. } | Asm::DataReg { s, rd, .. } if *rd == rn => {
                *s = true;
                true
            }
            _ => false,
        }
    }

    /// Branch to `target` when `lhs cond rhs`.
    fn test_branch(&mut self, cond: Cond, lhs: PReg, rhs: PSrc, target: usize) {
        if rhs == PSrc::Imm(0) && matches!(cond, Cond::Eq | Cond::Ne) && self.zero_flag_of(lhs) {
            // The flags of the instruction that computed `lhs` decide: no compare.
            self.branch(BranchKind::Cond(cc_of(cond)), target);
        } else if rhs == PSrc::Imm(0) && matches!(cond, Cond::Eq | Cond::Ne) && is_low(lhs) {
            self.branch(
                BranchKind::Zero {
                    nonzero: cond == Cond::Ne,
                    rn: lhs,
                },
                target,
            );
        } else {
            self.cmp(lhs, rhs);
            self.branch(BranchKind::Cond(cc_of(cond)), target);
        }
    }

    /// Load or store with an immediate offset (callers keep `off` within imm12).
    fn mem_imm(&mut self, op: Mem, rt: PReg, rn: PReg, off: u32) -> Result<()> {
        let scale = op.size_log2();
        let narrow_op = !matches!(op, Mem::Ldrsb | Mem::Ldrsh);
        if narrow_op
            && is_low(rt)
            && is_low(rn)
            && off.is_multiple_of(1 << scale)
            && off >> scale < 32
        {
            self.inst(Asm::MemImm16 {
                op,
                rt,
                rn,
                imm: off,
            });
        } else if rn == SP
            && matches!(op, Mem::Ldr | Mem::Str)
            && is_low(rt)
            && off.is_multiple_of(4)
            && off <= 1020
        {
            self.inst(Asm::MemSp16 {
                load: op == Mem::Ldr,
                rt,
                imm: off,
            });
        } else if off <= MAX_IMM12 {
            self.inst(Asm::MemImm32 {
                op,
                rt,
                rn,
                imm: off,
            });
        } else {
            return Err(CompileError::internal(format!(
                "memory offset {off} out of range"
            )));
        }
        Ok(())
    }

    /// Load or store at sp + `off`; beyond imm12 the offset goes into `addr` first
    /// (`ldr.w rt, [sp, addr]`). `addr` may be `rt` for loads.
    fn stack_mem(&mut self, op: Mem, rt: PReg, off: u32, addr: PReg) -> Result<()> {
        if off <= MAX_IMM12 {
            return self.mem_imm(op, rt, SP, off);
        }
        if addr == rt && !op.is_load() {
            return Err(CompileError::internal(
                "far stack store with its value as the address register",
            ));
        }
        self.mov_imm(addr, off);
        self.inst(Asm::MemReg32 {
            op,
            rt,
            rn: SP,
            rm: addr,
            shift: 0,
        });
        Ok(())
    }

    fn mem_reg(&mut self, op: Mem, rt: PReg, rn: PReg, rm: PReg) {
        if is_low(rt) && is_low(rn) && is_low(rm) {
            self.inst(Asm::MemReg16 { op, rt, rn, rm });
        } else {
            self.inst(Asm::MemReg32 {
                op,
                rt,
                rn,
                rm,
                shift: 0,
            });
        }
    }

    /// `movw/movt rd, symbol+addend` with their relocations.
    fn symbol_addr(&mut self, rd: PReg, symbol: Symbol, offset: u32) {
        // REL addends live in the (signed) imm16 fields; larger offsets are added separately.
        let (addend, rest) = if offset <= 0x7fff {
            (offset as i16, 0)
        } else {
            (0, offset)
        };
        let name = self.module.symbol_name(symbol);
        self.reloc(
            Asm::MovSym {
                top: false,
                rd,
                symbol: name.clone(),
                addend,
            },
            R_ARM_THM_MOVW_ABS_NC,
            symbol,
        );
        self.reloc(
            Asm::MovSym {
                top: true,
                rd,
                symbol: name,
                addend,
            },
            R_ARM_THM_MOVT_ABS,
            symbol,
        );
        self.add_imm(rd, rd, rest);
    }

    fn call(&mut self, symbol: Symbol) {
        let name = self.module.symbol_name(symbol);
        self.reloc(Asm::Bl { symbol: name }, R_ARM_THM_CALL, symbol);
    }

    fn push_regs(&mut self, regs: PRegSet) {
        if regs.is_empty() {
            return;
        }
        if regs.0 & !0x40ff == 0 {
            self.inst(Asm::Push16 { regs });
        } else {
            self.inst(Asm::Push32 { regs });
        }
    }

    fn pop_regs(&mut self, regs: PRegSet) {
        if regs.is_empty() {
            return;
        }
        if regs.0 & !0x80ff == 0 {
            self.inst(Asm::Pop16 { regs });
        } else {
            self.inst(Asm::Pop32 { regs });
        }
    }

    fn cond_mov_imm(&mut self, cc: Cc, rd: PReg, imm: u32) {
        let inst = if is_low(rd) && imm < 256 {
            Asm::MovsImm { rd, imm: imm as u8 }
        } else {
            Asm::MovImm32 {
                not: false,
                rd,
                imm,
            }
        };
        self.inst(Asm::Cond {
            cc,
            inst: Box::new(inst),
        });
    }

    fn cond_mov(&mut self, cc: Cc, rd: PReg, rm: PReg) {
        self.inst(Asm::Cond {
            cc,
            inst: Box::new(Asm::MovReg { rd, rm }),
        });
    }
}

fn mem_op(access: Access, load: bool) -> Result<Mem> {
    Ok(match (access.width, access.signed, load) {
        (1, false, true) => Mem::Ldrb,
        (1, true, true) => Mem::Ldrsb,
        (2, false, true) => Mem::Ldrh,
        (2, true, true) => Mem::Ldrsh,
        (4, _, true) => Mem::Ldr,
        (1, _, false) => Mem::Strb,
        (2, _, false) => Mem::Strh,
        (4, _, false) => Mem::Str,
        (w, _, _) => {
            return Err(CompileError::internal(format!(
                "unsupported access width {w}"
            )));
        }
    })
}

/// Registers of one instruction's operands.
struct Regs<'a> {
    ops: &'a [crate::regalloc::Operand],
    regs: &'a [PReg],
}

impl Regs<'_> {
    fn get(&self, v: VReg) -> Result<PReg> {
        self.ops
            .iter()
            .position(|o| o.vreg == v)
            .and_then(|i| self.regs.get(i).copied())
            .ok_or_else(|| CompileError::internal(format!("no register for vreg {}", v.0)))
    }
    fn src(&self, s: Src) -> Result<PSrc> {
        Ok(match s {
            Src::Reg(v) => PSrc::Reg(self.get(v)?),
            Src::Imm(i) => PSrc::Imm(i),
        })
    }
}

struct Emitter<'a> {
    b: Builder<'a>,
    frame: Frame,
    vfp_file: VfpFile,
    /// Bytes the stack must have above the limit at entry (`isa::stack_check_bytes`).
    stack_check: Option<u32>,
    /// The large-frame scratch register (see `needs_spare_scratch`).
    spare_scratch: Option<PReg>,
}

impl Emitter<'_> {
    fn prologue(&mut self) -> Result<()> {
        if let Some(needed) = self.stack_check {
            // Trap unless sp - needed >= limit, i.e. sp >= limit + needed, before writing
            // below sp.
            let label = self.b.trap_label(TrapCode::StackOverflow);
            self.b.symbol_addr(IP, Symbol::StackLimit, 0);
            self.b.mem_imm(Mem::Ldr, IP, IP, 0)?;
            self.b.add_imm(IP, IP, needed);
            self.b.cmp(SP, PSrc::Reg(IP));
            self.b.branch(BranchKind::Cond(Cc::Lo), label);
        }
        self.b.push_regs(self.frame.saved);
        if let Some((first, count)) = self.frame.vfp_saved {
            self.b
                .inst(Asm::Vfp(super::asm::Vfp::Push { first, count }));
        }
        if self.frame.locals > 0 {
            self.b.add_imm(SP, SP, self.frame.locals.wrapping_neg());
        }
        Ok(())
    }

    fn epilogue(&mut self) {
        if self.frame.locals > 0 {
            self.b.add_imm(SP, SP, self.frame.locals);
        }
        if let Some((first, count)) = self.frame.vfp_saved {
            self.b.inst(Asm::Vfp(super::asm::Vfp::Pop { first, count }));
        }
        let saved = self.frame.saved;
        if saved.contains(LR) {
            self.b.pop_regs(PRegSet(saved.0 & !(1 << LR.0)).with(PC));
        } else {
            self.b.pop_regs(saved);
            self.b.inst(Asm::BxLr);
        }
    }

    fn edit(&mut self, e: &Edit, lowered: &Lowered) -> Result<()> {
        // An edit serves a value, not a wasm operator: the explanation names the value.
        let wasm = self.b.meta.wasm.take();
        self.b.meta.kind = LineKind::Edit(e.kind);
        let constant = |v: VReg| {
            lowered.code.remat_value(v).ok_or_else(|| {
                CompileError::internal(format!("v{} is rematerialized but is no constant", v.0))
            })
        };
        match (e.from, e.to) {
            (Location::Remat(v), Location::Reg(to)) => self.b.mov_imm(to, constant(v)?),
            (Location::Remat(v), Location::Stack(s)) => {
                // ip carries the value, so a far destination needs the spare register.
                self.b.mov_imm(IP, constant(v)?);
                // The constant is recreated, then stored: the store is a spill.
                self.b.meta.kind = LineKind::Edit(EditKind::Spill);
                self.store_scratch(s.0, 0)?;
            }
            (_, Location::Remat(_)) => {
                return Err(CompileError::internal("an edit writes to a constant"));
            }
            (Location::Reg(from), Location::Reg(to)) => self.any_move(to, from)?,
            (Location::Reg(from), Location::Stack(s)) if is_vfp(from) => {
                self.vfp_slot(false, from, self.frame.slot(s.0))
            }
            (Location::Stack(s), Location::Reg(to)) if is_vfp(to) => {
                self.vfp_slot(true, to, self.frame.slot(s.0))
            }
            (Location::Reg(from), Location::Stack(s)) => {
                self.b.stack_mem(Mem::Str, from, self.frame.slot(s.0), IP)?
            }
            (Location::Stack(s), Location::Reg(to)) => {
                self.b.stack_mem(Mem::Ldr, to, self.frame.slot(s.0), IP)?
            }
            (Location::Stack(from), Location::Stack(to)) => {
                // ip carries the value word by word, so a far destination needs the spare
                // register.
                let words = if self.frame.is_wide(from.0) { 2 } else { 1 };
                for k in 0..words {
                    self.b
                        .stack_mem(Mem::Ldr, IP, self.frame.slot(from.0) + 4 * k, IP)?;
                    self.store_scratch(to.0, 4 * k)?;
                }
            }
        }
        self.b.meta.kind = LineKind::Code;
        self.b.meta.wasm = wasm;
        Ok(())
    }

    /// Stores ip into slot `slot` at byte `word` (a far slot addresses through the spare
    /// register).
    fn store_scratch(&mut self, slot: u32, word: u32) -> Result<()> {
        let to = self.frame.slot(slot) + word;
        let addr = match self.spare_scratch {
            Some(spare) => spare,
            None if to <= MAX_IMM12 => IP,
            None => {
                return Err(CompileError::internal(
                    "far stack-to-stack move without a spare scratch register",
                ));
            }
        };
        self.b.stack_mem(Mem::Str, IP, to, addr)
    }

    fn alu(&mut self, op: BinaryOp, rd: PReg, rn: PReg, rm: PSrc) -> Result<()> {
        let b = &mut self.b;
        match (op, rm) {
            (BinaryOp::Add, PSrc::Imm(i)) => b.add_imm(rd, rn, i),
            (BinaryOp::Sub, PSrc::Imm(i)) => b.add_imm(rd, rn, i.wrapping_neg()),
            // `mvns rd, rm`: 16 bits where `eor.w rd, rn, #-1` takes 32.
            (BinaryOp::Xor, PSrc::Imm(u32::MAX)) if is_low(rd) && is_low(rn) => {
                b.inst(Asm::Narrow {
                    op: NarrowOp::Mvn,
                    rdn: rd,
                    rm: rn,
                });
            }
            (BinaryOp::And | BinaryOp::Or | BinaryOp::Xor, PSrc::Imm(i)) => {
                let (op, imm) = match op {
                    BinaryOp::And if modimm(i).is_some() => (DataOp::And, i),
                    BinaryOp::And => (DataOp::Bic, !i),
                    BinaryOp::Or if modimm(i).is_some() => (DataOp::Orr, i),
                    BinaryOp::Or => (DataOp::Orn, !i),
                    _ => (DataOp::Eor, i),
                };
                if modimm(imm).is_none() {
                    return Err(CompileError::internal(format!(
                        "immediate {i:#x} not encodable"
                    )));
                }
                b.data_imm(op, false, rd, rn, imm);
            }
            (BinaryOp::Shl, PSrc::Imm(i)) => b.shift_imm(Shift::Lsl, rd, rn, i),
            (BinaryOp::ShrU, PSrc::Imm(i)) => b.shift_imm(Shift::Lsr, rd, rn, i),
            (BinaryOp::ShrS, PSrc::Imm(i)) => b.shift_imm(Shift::Asr, rd, rn, i),
            (BinaryOp::Rotr, PSrc::Imm(i)) => b.shift_imm(Shift::Ror, rd, rn, i),
            (BinaryOp::Rotl, PSrc::Imm(i)) => b.shift_imm(Shift::Ror, rd, rn, 32 - (i & 31)),
            (_, PSrc::Imm(i)) => {
                return Err(CompileError::internal(format!(
                    "{op:?} with immediate {i:#x} not encodable"
                )));
            }
            (op, PSrc::Reg(rm)) => match op {
                BinaryOp::Add => b.add_reg(rd, rn, rm),
                BinaryOp::Sub => {
                    if is_low(rd) && is_low(rn) && is_low(rm) {
                        b.inst(Asm::AddSubReg3 {
                            sub: true,
                            rd,
                            rn,
                            rm,
                        });
                    } else {
                        b.data_reg(DataOp::Sub, false, rd, rn, rm);
                    }
                }
                BinaryOp::Mul => {
                    if !b.narrow_or(NarrowOp::Mul, true, rd, rn, rm) {
                        b.inst(Asm::Mul32 { rd, rn, rm });
                    }
                }
                BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => {
                    let (narrow, wide) = match op {
                        BinaryOp::And => (NarrowOp::And, DataOp::And),
                        BinaryOp::Or => (NarrowOp::Orr, DataOp::Orr),
                        _ => (NarrowOp::Eor, DataOp::Eor),
                    };
                    if !b.narrow_or(narrow, true, rd, rn, rm) {
                        b.data_reg(wide, false, rd, rn, rm);
                    }
                }
                BinaryOp::Shl | BinaryOp::ShrS | BinaryOp::ShrU => {
                    // Register shifts use the count's low byte; wasm takes it modulo 32.
                    let shift = match op {
                        BinaryOp::Shl => Shift::Lsl,
                        BinaryOp::ShrS => Shift::Asr,
                        _ => Shift::Lsr,
                    };
                    b.data_imm(DataOp::And, false, IP, rm, 31);
                    b.inst(Asm::ShiftReg32 {
                        op: shift,
                        rd,
                        rn,
                        rm: IP,
                    });
                }
                BinaryOp::Rotr => {
                    // ror by a register rotates by the low byte mod 32: no mask needed.
                    if !b.narrow_or(NarrowOp::Ror, false, rd, rn, rm) {
                        b.inst(Asm::ShiftReg32 {
                            op: Shift::Ror,
                            rd,
                            rn,
                            rm,
                        });
                    }
                }
                BinaryOp::Rotl => {
                    b.data_imm(DataOp::Rsb, false, IP, rm, 0);
                    b.inst(Asm::ShiftReg32 {
                        op: Shift::Ror,
                        rd,
                        rn,
                        rm: IP,
                    });
                }
                BinaryOp::DivS | BinaryOp::DivU => b.inst(Asm::Div {
                    signed: op == BinaryOp::DivS,
                    rd,
                    rn,
                    rm,
                }),
                BinaryOp::RemS | BinaryOp::RemU => {
                    b.inst(Asm::Div {
                        signed: op == BinaryOp::RemS,
                        rd: IP,
                        rn,
                        rm,
                    });
                    b.inst(Asm::MulAdd {
                        sub: true,
                        rd,
                        rn: IP,
                        rm,
                        ra: rn,
                    });
                }
            },
        }
        Ok(())
    }

    fn unary(&mut self, op: UnaryOp, rd: PReg, rm: PReg) -> Result<()> {
        let b = &mut self.b;
        let ext = |op| {
            if is_low(rd) && is_low(rm) {
                Asm::Extend16 { op, rd, rm }
            } else {
                Asm::Extend32 { op, rd, rm }
            }
        };
        match op {
            UnaryOp::Clz => b.inst(Asm::Clz { rd, rm }),
            UnaryOp::Ctz => {
                b.inst(Asm::Rbit { rd, rm });
                b.inst(Asm::Clz { rd, rm: rd });
            }
            UnaryOp::Eqz => {
                // clz is 32 only for zero.
                b.inst(Asm::Clz { rd, rm });
                b.shift_imm(Shift::Lsr, rd, rd, 5);
            }
            UnaryOp::Extend8S => b.inst(ext(Extend::Sxtb)),
            UnaryOp::Extend16S => b.inst(ext(Extend::Sxth)),
            _ => {
                return Err(CompileError::internal(format!("{op:?} was not legalized")));
            }
        }
        Ok(())
    }

    fn test(&mut self, r: &Regs, t: &Test) -> Result<(Cond, PReg, PSrc)> {
        Ok((t.cond, r.get(t.lhs)?, r.src(t.rhs)?))
    }

    /// address = base + index + offset, as (register, remaining imm12 offset); uses ip.
    fn address(&mut self, base: PReg, index: PSrc, offset: u32) -> (PReg, PReg, Option<u32>) {
        match index {
            PSrc::Imm(c) if c.wrapping_add(offset) <= MAX_IMM12 => {
                (base, base, Some(c.wrapping_add(offset)))
            }
            PSrc::Imm(c) => {
                // Stores into a large hidden result area.
                self.b.mov_imm(IP, c.wrapping_add(offset));
                (base, IP, None)
            }
            PSrc::Reg(ix) if offset == 0 => (base, ix, None),
            PSrc::Reg(ix) if offset <= MAX_IMM12 => {
                self.b.add_reg(IP, base, ix);
                (IP, IP, Some(offset))
            }
            PSrc::Reg(ix) => {
                self.b.mov_imm(IP, offset);
                self.b.inst(Asm::AddHigh { rdn: IP, rm: base });
                self.b.inst(Asm::AddHigh { rdn: IP, rm: ix });
                (IP, IP, Some(0))
            }
        }
    }

    /// An access of `base + index << shift + offset`.
    fn access(
        &mut self,
        op: Mem,
        rt: PReg,
        base: PReg,
        (index, shift): (PSrc, u8),
        offset: u32,
    ) -> Result<()> {
        if shift != 0 {
            let (PSrc::Reg(rm), 0) = (index, offset) else {
                return Err(CompileError::internal(
                    "a scaled access without a register index or with an offset",
                ));
            };
            self.b.inst(Asm::MemReg32 {
                op,
                rt,
                rn: base,
                rm,
                shift,
            });
            return Ok(());
        }
        match self.address(base, index, offset) {
            (rn, _, Some(off)) => self.b.mem_imm(op, rt, rn, off),
            (rn, rm, None) => {
                self.b.mem_reg(op, rt, rn, rm);
                Ok(())
            }
        }
    }

    fn shift_pair(&mut self, op: BinaryOp, lo: PReg, hi: PReg, t: PReg, a: [PReg; 2], n: PReg) {
        let b = &mut self.b;
        let sh = |b: &mut Builder, op, rd, rn, rm| b.inst(Asm::ShiftReg32 { op, rd, rn, rm });
        // ip = n mod 64. Register shifts by 32..255 give 0 (lsl/lsr), and the "negative"
        // counts below wrap to >= 224 in the low byte, so the cross terms vanish on their own.
        b.data_imm(DataOp::And, false, IP, n, 63);
        let (a_lo, a_hi) = (a[0], a[1]);
        match op {
            BinaryOp::Shl => {
                sh(b, Shift::Lsl, hi, a_hi, IP);
                b.data_imm(DataOp::Rsb, false, t, IP, 32);
                sh(b, Shift::Lsr, t, a_lo, t);
                b.data_reg(DataOp::Orr, false, hi, hi, t);
                b.data_imm(DataOp::Sub, false, t, IP, 32);
                sh(b, Shift::Lsl, t, a_lo, t);
                b.data_reg(DataOp::Orr, false, hi, hi, t);
                sh(b, Shift::Lsl, lo, a_lo, IP);
            }
            BinaryOp::ShrU => {
                sh(b, Shift::Lsr, lo, a_lo, IP);
                b.data_imm(DataOp::Rsb, false, t, IP, 32);
                sh(b, Shift::Lsl, t, a_hi, t);
                b.data_reg(DataOp::Orr, false, lo, lo, t);
                b.data_imm(DataOp::Sub, false, t, IP, 32);
                sh(b, Shift::Lsr, t, a_hi, t);
                b.data_reg(DataOp::Orr, false, lo, lo, t);
                sh(b, Shift::Lsr, hi, a_hi, IP);
            }
            _ => {
                // Arithmetic shifts fill with the sign for big counts, so the n >= 32 case
                // is selected with the flags instead.
                sh(b, Shift::Lsr, lo, a_lo, IP);
                b.data_imm(DataOp::Rsb, false, t, IP, 32);
                sh(b, Shift::Lsl, t, a_hi, t);
                b.data_reg(DataOp::Orr, false, lo, lo, t);
                b.data_imm(DataOp::Sub, true, t, IP, 32);
                b.inst(Asm::It {
                    cc: Cc::Ge,
                    then: vec![],
                });
                b.inst(Asm::Cond {
                    cc: Cc::Ge,
                    inst: Box::new(Asm::ShiftReg32 {
                        op: Shift::Asr,
                        rd: lo,
                        rn: a_hi,
                        rm: t,
                    }),
                });
                sh(b, Shift::Asr, hi, a_hi, IP);
            }
        }
    }

    /// Branch for a two-way terminator, falling through to `next` when possible.
    fn two_way(
        &mut self,
        cond: Cond,
        lhs: PReg,
        rhs: PSrc,
        then_b: usize,
        else_b: usize,
        next: usize,
    ) {
        self.branch_two_way(then_b, else_b, next, |e, negated, target| {
            let cond = if negated { cond.inverse() } else { cond };
            e.b.test_branch(cond, lhs, rhs, target);
        });
    }

    /// Control flow to `then_b` when a condition holds and to `else_b` otherwise, falling
    /// through to `next` where possible. `branch_if(self, negated, target)` emits the test and
    /// the conditional branch (of the negated condition when `negated`); it is not called when
    /// both targets are the same block.
    pub(super) fn branch_two_way(
        &mut self,
        then_b: usize,
        else_b: usize,
        next: usize,
        branch_if: impl FnOnce(&mut Self, bool, usize),
    ) {
        if then_b == else_b {
            if then_b != next {
                self.b.branch(BranchKind::Always, then_b);
            }
        } else if then_b == next {
            branch_if(self, true, else_b);
        } else {
            branch_if(self, false, then_b);
            if else_b != next {
                self.b.branch(BranchKind::Always, else_b);
            }
        }
    }

    fn minst(&mut self, inst: &MInst, r: &Regs, next_block: usize) -> Result<()> {
        match inst {
            MInst::Entry { .. } => {}
            MInst::LoadStack { rd, slot, double } => {
                let off = self.frame.stack_ref(*slot);
                let rd = r.get(*rd)?;
                if is_vfp(rd) {
                    self.vfp_stack(true, rd, *double, off);
                } else {
                    self.b.stack_mem(Mem::Ldr, rd, off, IP)?;
                }
            }
            MInst::StoreStack {
                value,
                slot,
                double,
            } => {
                let off = self.frame.stack_ref(*slot);
                let value = r.get(*value)?;
                if is_vfp(value) {
                    self.vfp_stack(false, value, *double, off);
                } else {
                    self.b.stack_mem(Mem::Str, value, off, IP)?;
                }
            }
            MInst::StackAddr { rd, offset } => self.b.add_imm(r.get(*rd)?, SP, *offset),
            MInst::Const { rd, value } => self.b.mov_imm(r.get(*rd)?, *value),
            MInst::Move { rd, rm } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                self.any_move(rd, rm)?;
            }
            MInst::Alu { op, rd, rn, rm } => {
                self.alu(*op, r.get(*rd)?, r.get(*rn)?, r.src(*rm)?)?;
            }
            MInst::MulAdd {
                sub,
                rd,
                rn,
                rm,
                ra,
            } => self.b.inst(Asm::MulAdd {
                sub: *sub,
                rd: r.get(*rd)?,
                rn: r.get(*rn)?,
                rm: r.get(*rm)?,
                ra: r.get(*ra)?,
            }),
            MInst::AluNot { or, rd, rn, rm } => {
                let (rd, rn, rm) = (r.get(*rd)?, r.get(*rn)?, r.get(*rm)?);
                let b = &mut self.b;
                if *or {
                    b.data_reg(DataOp::Orn, false, rd, rn, rm);
                } else if !b.narrow_or(NarrowOp::Bic, false, rd, rn, rm) {
                    b.data_reg(DataOp::Bic, false, rd, rn, rm);
                }
            }
            MInst::AluShifted {
                op,
                rd,
                rn,
                rm,
                shift,
                amount,
            } => {
                let op = match op {
                    BinaryOp::Add => DataOp::Add,
                    BinaryOp::Sub => DataOp::Sub,
                    BinaryOp::And => DataOp::And,
                    BinaryOp::Or => DataOp::Orr,
                    BinaryOp::Xor => DataOp::Eor,
                    other => {
                        return Err(CompileError::internal(format!(
                            "{other:?} has no shifted-register form"
                        )));
                    }
                };
                // A left rotate by k is a right rotate by 32 - k.
                let (shift, amount) = match shift {
                    BinaryOp::Shl => (Shift::Lsl, *amount),
                    BinaryOp::ShrU => (Shift::Lsr, *amount),
                    BinaryOp::ShrS => (Shift::Asr, *amount),
                    BinaryOp::Rotr => (Shift::Ror, *amount),
                    BinaryOp::Rotl => (Shift::Ror, 32 - (*amount & 31)),
                    other => {
                        return Err(CompileError::internal(format!(
                            "{other:?} is not a shift of a register operand"
                        )));
                    }
                };
                if !(1..=31).contains(&amount) {
                    return Err(CompileError::internal(format!(
                        "shift amount {amount} out of range"
                    )));
                }
                self.b.inst(Asm::DataRegShifted {
                    op,
                    rd: r.get(*rd)?,
                    rn: r.get(*rn)?,
                    rm: r.get(*rm)?,
                    shift,
                    amount,
                });
            }
            MInst::Unary { op, rd, rm } => self.unary(*op, r.get(*rd)?, r.get(*rm)?)?,
            MInst::Saturate {
                signed,
                bits,
                rd,
                rm,
            } => self.b.inst(Asm::Saturate {
                signed: *signed,
                bits: *bits,
                rd: r.get(*rd)?,
                rn: r.get(*rm)?,
            }),
            MInst::SetCond { rd, test } => {
                let (cond, lhs, rhs) = self.test(r, test)?;
                let rd = r.get(*rd)?;
                let cc = cc_of(cond);
                self.b.cmp(lhs, rhs);
                self.b.inst(Asm::It {
                    cc,
                    then: vec![false],
                });
                self.b.cond_mov_imm(cc, rd, 1);
                self.b.cond_mov_imm(cc.invert(), rd, 0);
            }
            MInst::Select {
                rd,
                test,
                if_true,
                if_false,
            } => {
                let (cond, lhs, rhs) = self.test(r, test)?;
                let (rd, t, f) = (r.get(*rd)?, r.get(*if_true)?, r.get(*if_false)?);
                let cc = cc_of(cond);
                if t == f {
                    self.b.mov(rd, t);
                } else {
                    self.b.cmp(lhs, rhs);
                    if rd == t {
                        self.b.inst(Asm::It {
                            cc: cc.invert(),
                            then: vec![],
                        });
                        self.b.cond_mov(cc.invert(), rd, f);
                    } else if rd == f {
                        self.b.inst(Asm::It { cc, then: vec![] });
                        self.b.cond_mov(cc, rd, t);
                    } else {
                        self.b.inst(Asm::It {
                            cc,
                            then: vec![false],
                        });
                        self.b.cond_mov(cc, rd, t);
                        self.b.cond_mov(cc.invert(), rd, f);
                    }
                }
            }
            MInst::Load {
                access,
                rd,
                base,
                index,
                shift,
                offset,
            } => {
                let op = mem_op(*access, true)?;
                let (rt, rn) = (r.get(*rd)?, r.get(*base)?);
                self.access(op, rt, rn, (r.src(*index)?, *shift), *offset)?;
            }
            MInst::Store {
                access,
                value,
                base,
                index,
                shift,
                offset,
            } => {
                let op = mem_op(*access, false)?;
                let (rt, rn) = (r.get(*value)?, r.get(*base)?);
                self.access(op, rt, rn, (r.src(*index)?, *shift), *offset)?;
            }
            MInst::TrapIf { test, code } => {
                let (cond, lhs, rhs) = self.test(r, test)?;
                let label = self.b.trap_label(*code);
                self.b.test_branch(cond, lhs, rhs, label);
            }
            MInst::TrapIfBoth { tests, code } => {
                let (cond, lhs, rhs) = self.test(r, &tests[0])?;
                let (_, lhs2, rhs2) = self.test(r, &tests[1])?;
                let label = self.b.trap_label(*code);
                self.b
                    .both_branch(cond, [(lhs, rhs), (lhs2, rhs2)], label)?;
            }
            MInst::BoundsCheck { addr, bytes, end } => {
                let (addr, bytes) = (r.get(*addr)?, r.get(*bytes)?);
                let label = self.b.trap_label(TrapCode::MemoryOutOfBounds);
                match u32::try_from(*end) {
                    Err(_) => self.b.branch(BranchKind::Always, label),
                    Ok(0) => {
                        self.b.cmp(addr, PSrc::Reg(bytes));
                        self.b.branch(BranchKind::Cond(Cc::Hi), label);
                    }
                    Ok(end) => {
                        // ip = addr + end; it wrapped iff ip < addr (end < 2^32).
                        self.b.add_imm(IP, addr, end);
                        self.b.cmp(IP, PSrc::Reg(addr));
                        self.b.branch(BranchKind::Cond(Cc::Lo), label);
                        self.b.cmp(IP, PSrc::Reg(bytes));
                        self.b.branch(BranchKind::Cond(Cc::Hi), label);
                    }
                }
            }
            MInst::SymbolAddr { rd, symbol, offset } => {
                self.b.symbol_addr(r.get(*rd)?, *symbol, *offset)
            }
            MInst::LoadSymbol { rd, symbol, offset } => {
                let rd = r.get(*rd)?;
                if *offset <= MAX_IMM12 {
                    self.b.symbol_addr(rd, *symbol, 0);
                    self.b.mem_imm(Mem::Ldr, rd, rd, *offset)?;
                } else {
                    self.b.symbol_addr(rd, *symbol, *offset);
                    self.b.mem_imm(Mem::Ldr, rd, rd, 0)?;
                }
            }
            MInst::StoreSymbol {
                value,
                symbol,
                offset,
            } => {
                let value = r.get(*value)?;
                if *offset <= MAX_IMM12 {
                    self.b.symbol_addr(IP, *symbol, 0);
                    self.b.mem_imm(Mem::Str, value, IP, *offset)?;
                } else {
                    self.b.symbol_addr(IP, *symbol, *offset);
                    self.b.mem_imm(Mem::Str, value, IP, 0)?;
                }
            }
            MInst::PairArith { sub, lo, hi, a, b } => {
                let d = [r.get(*lo)?, r.get(*hi)?];
                let a = [r.get(a[0])?, r.get(a[1])?];
                let b = [r.get(b[0])?, r.get(b[1])?];
                self.b.pair_arith(*sub, d, a, b);
            }
            MInst::MulWide {
                signed,
                lo,
                hi,
                a,
                b,
            } => {
                let d = [r.get(*lo)?, r.get(*hi)?];
                self.b.mul_long(*signed, false, d, r.get(*a)?, r.get(*b)?);
            }
            MInst::MulAcc {
                signed,
                lo,
                hi,
                acc,
                a,
                b,
            } => {
                let d = [r.get(*lo)?, r.get(*hi)?];
                let acc = [r.get(acc[0])?, r.get(acc[1])?];
                self.b.mul_acc(*signed, d, acc, r.get(*a)?, r.get(*b)?);
            }
            MInst::ShiftPair {
                op,
                lo,
                hi,
                tmp,
                a,
                count,
            } => {
                let regs = (r.get(*lo)?, r.get(*hi)?, r.get(*tmp)?);
                let a = [r.get(a[0])?, r.get(a[1])?];
                let n = r.get(*count)?;
                self.shift_pair(*op, regs.0, regs.1, regs.2, a, n);
            }
            MInst::ShiftPairImm {
                op,
                lo,
                hi,
                a,
                amount,
            } => {
                let (lo, hi) = (r.get(*lo)?, r.get(*hi)?);
                let (a_lo, a_hi) = (r.get(a[0])?, r.get(a[1])?);
                let n = *amount as u32;
                // The word that takes bits from the other one is written first (early def).
                if *op == BinaryOp::Shl {
                    self.b.shift_imm(Shift::Lsl, hi, a_hi, n);
                    self.b.inst(Asm::DataRegShifted {
                        op: DataOp::Orr,
                        rd: hi,
                        rn: hi,
                        rm: a_lo,
                        shift: Shift::Lsr,
                        amount: 32 - n as u8,
                    });
                    self.b.shift_imm(Shift::Lsl, lo, a_lo, n);
                } else {
                    self.b.shift_imm(Shift::Lsr, lo, a_lo, n);
                    self.b.inst(Asm::DataRegShifted {
                        op: DataOp::Orr,
                        rd: lo,
                        rn: lo,
                        rm: a_hi,
                        shift: Shift::Lsl,
                        amount: 32 - n as u8,
                    });
                    let high_shift = if *op == BinaryOp::ShrS {
                        Shift::Asr
                    } else {
                        Shift::Lsr
                    };
                    self.b.shift_imm(high_shift, hi, a_hi, n);
                }
            }
            MInst::Call {
                target: Some(target),
                ..
            } => {
                let rm = r.get(*target)?;
                self.b.inst(Asm::Blx { rm });
            }
            MInst::Call { func, .. } => self.b.call(Symbol::Function(*func)),
            MInst::Jump { target, .. } => {
                if *target != next_block {
                    self.b.branch(BranchKind::Always, *target);
                }
            }
            MInst::Branch {
                test,
                then_block,
                else_block,
            } => {
                let (cond, lhs, rhs) = self.test(r, test)?;
                self.two_way(cond, lhs, rhs, *then_block, *else_block, next_block);
            }
            MInst::FBranch {
                cond,
                double,
                rn,
                rm,
                then_block,
                else_block,
            } => {
                let (rn, rm) = (r.get(*rn)?, r.get(*rm)?);
                self.float_branch(*cond, *double, rn, rm, *then_block, *else_block, next_block);
            }
            MInst::Switch {
                index,
                targets,
                default,
            } => {
                let index = r.get(*index)?;
                if targets.len() <= 2 {
                    for (k, t) in targets.iter().enumerate() {
                        self.b.cmp(index, PSrc::Imm(k as u32));
                        self.b.branch(BranchKind::Cond(Cc::Eq), *t);
                    }
                    if *default != next_block {
                        self.b.branch(BranchKind::Always, *default);
                    }
                } else {
                    let n = u32::try_from(targets.len())
                        .map_err(|_| CompileError::limit("switch table too large"))?;
                    self.b.cmp(index, PSrc::Imm(n));
                    self.b.branch(BranchKind::Cond(Cc::Hs), *default);
                    self.b.items.push(Item::Table {
                        rm: index,
                        targets: targets.clone(),
                        half: false,
                        trampoline: vec![false; targets.len()],
                        meta: self.b.meta,
                    });
                }
            }
            MInst::Return { .. } => self.epilogue(),
            MInst::FConst { .. }
            | MInst::FBin { .. }
            | MInst::FUn { .. }
            | MInst::FCopysign { .. }
            | MInst::FMinMax { .. }
            | MInst::FCmp { .. }
            | MInst::FSelect { .. }
            | MInst::FCvt { .. }
            | MInst::FToInt { .. }
            | MInst::FFromInt { .. }
            | MInst::FToCore { .. }
            | MInst::FFromCore { .. }
            | MInst::FFromCore2 { .. }
            | MInst::FHighHalf { .. }
            | MInst::FPack { .. } => self.float_minst(inst, r)?,
            MInst::Trap { code } => {
                let label = self.b.trap_label(*code);
                self.b.branch(BranchKind::Always, label);
            }
        }
        Ok(())
    }
}

/// Does the allocation move a value between two stack slots with the destination beyond the
/// imm12 reach? Then ip (which carries the value) cannot also hold the address, and the function
/// is allocated again without `regs::SPARE_SCRATCH`.
pub fn needs_spare_scratch(lowered: &Lowered, alloc: &Allocation, vfp: VfpFile) -> bool {
    let layout = SlotLayout::new(alloc, vfp);
    let far = |slot: u32| {
        layout
            .offsets
            .get(slot as usize)
            .and_then(|o| o.checked_add(4))
            .and_then(|o| o.checked_add(lowered.local_area))
            .is_none_or(|o| o > MAX_IMM12)
    };
    alloc.edits.iter().any(
        |(_, e)| matches!((e.from, e.to), (Location::Stack(_) | Location::Remat(_), Location::Stack(to)) if far(to.0)),
    )
}

/// The sp offset of every spill slot in the frame `emit` builds (for the allocation report).
pub(super) fn slot_offsets(
    lowered: &Lowered,
    alloc: &Allocation,
    spare_scratch: Option<PReg>,
    vfp: VfpFile,
) -> Result<Vec<u32>> {
    let frame = Frame::new(lowered, alloc, spare_scratch, vfp)?;
    Ok((0..alloc.num_slots).map(|n| frame.slot(n)).collect())
}

/// Emit an allocated function. `spare_scratch` is the register the allocation left free for
/// far stack-to-stack moves, if any.
pub fn emit(
    module: &Module,
    func: &crate::ir::Function,
    lowered: &Lowered,
    alloc: &Allocation,
    options: &Options,
    spare_scratch: Option<PReg>,
) -> Result<CompiledFunction> {
    let vfp_file = VfpFile::of(options.target);
    let frame = Frame::new(lowered, alloc, spare_scratch, vfp_file)?;
    let num_blocks = lowered.code.block_ranges().len();
    let mut em = Emitter {
        b: Builder {
            module,
            items: Vec::new(),
            meta: Meta {
                wasm: None,
                kind: LineKind::Code,
                step: None,
            },
            num_blocks,
            trap_labels: BTreeMap::new(),
        },
        stack_check: crate::isa::stack_check_bytes(
            module,
            func,
            options,
            lowered.has_calls,
            frame.total(),
        ),
        frame,
        vfp_file,
        spare_scratch,
    };
    em.prologue()?;

    let mut edits: Vec<(crate::regalloc::ProgPoint, Edit)> = alloc.edits.clone();
    edits.sort_by_key(|(p, _)| *p);
    let mut next_edit = 0;
    // Steps in `regalloc::explain`'s order: each instruction with its edits before and after.
    let mut step = 0u32;
    let mut next_step = |meta: &mut Meta| {
        meta.step = Some(step);
        step += 1;
    };
    for (b, range) in lowered.code.block_ranges().iter().enumerate() {
        em.b.items.push(Item::Label(b));
        for i in range.clone() {
            let wasm = lowered.code.wasm_offsets.get(i).copied().flatten();
            em.b.meta.wasm = wasm;
            while let Some((p, e)) = edits.get(next_edit).copied() {
                if (p.inst as usize) < i || (p.inst as usize == i && !p.after) {
                    next_step(&mut em.b.meta);
                    em.edit(&e, lowered)?;
                    next_edit += 1;
                } else {
                    break;
                }
            }
            let regs =
                Regs {
                    ops: lowered.code.operands(i),
                    regs: alloc.regs.get(i).map(|r| r.as_slice()).ok_or_else(|| {
                        CompileError::internal("allocation misses an instruction")
                    })?,
                };
            let inst = lowered
                .code
                .insts
                .get(i)
                .ok_or_else(|| CompileError::internal("block range beyond the code"))?;
            next_step(&mut em.b.meta);
            em.minst(inst, &regs, b + 1)?;
            while let Some((p, e)) = edits.get(next_edit).copied()
                && p.inst as usize == i
            {
                next_step(&mut em.b.meta);
                em.edit(&e, lowered)?;
                next_edit += 1;
            }
        }
    }
    if next_edit != edits.len() {
        return Err(CompileError::internal(
            "allocator edit outside the function",
        ));
    }

    // Out-of-line trap stubs: r0 = code, call the handler, never come back.
    em.b.meta = Meta {
        wasm: None,
        kind: LineKind::Code,
        step: None,
    };
    let traps = em.b.trap_labels.clone();
    for (code, label) in &traps {
        em.b.items.push(Item::Label(*label));
        em.b.mov_imm(R0, code.code());
        em.b.call(Symbol::TrapHandler);
        em.b.inst(Asm::Udf { imm: 0 });
    }

    let mut items = em.b.items;
    thread_jumps(&mut items, num_blocks + traps.len());
    let mut items = drop_dead_jumps(items);
    relax(&mut items, num_blocks + traps.len())?;
    let out = finish(&items, num_blocks, &traps)?;
    Ok(CompiledFunction {
        code: out.code,
        relocs: out.relocs,
        listing: out.listing,
        stats: FunctionStats {
            spills: alloc.stats.spills,
            reloads: alloc.stats.reloads,
            moves: alloc.stats.moves,
            remats: alloc.stats.remats,
            max_pressure: alloc.stats.max_pressure,
            frame_size: em.frame.locals,
        },
        allocation: None,
    })
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod frame_tests;

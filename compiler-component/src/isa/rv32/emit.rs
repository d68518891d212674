//! After allocation: prologue/epilogue, allocator edits, expansion of pseudo-instructions,
//! branch relaxation to a fixed point, encoding, relocations and listing lines.

use super::abi::FrameLayout;
use super::encode::{self, Piece};
use super::inst::{
    AluImmOp, AluOp, BrCond, FBinOp, FCmpOp, FFmt, FReg, Label, LoadKind, MBlock, MInst, PInst,
    Reg, Rm, ShiftKind, SpRegion, StoreKind, Test,
};
use super::lower::Lowered;
use super::regs::{self, SCRATCH, SP, ZERO};
use crate::error::{CompileError, Result};
use crate::ir::{self, Symbol, TrapCode};
use crate::isa::{CompiledFunction, FunctionStats, LineKind, ListingLine, Reloc};
use crate::regalloc::{Allocation, Edit, EditKind, Location, MachFunction, PReg, VReg};
use std::collections::BTreeMap;

/// Largest offset a 12-bit immediate reaches.
const MAX_IMM12: u32 = 2047;
/// Frames (and offsets into them) stay well inside i32 so `lui`/`addi` pairs reach them.
const MAX_FRAME: u32 = 0x4000_0000;

/// Split `value` into a `lui` field and a sign-extended 12-bit remainder.
fn split_hi_lo(value: i32) -> (u32, i32) {
    let hi = (value.wrapping_add(0x800) >> 12) & 0xfffff;
    (hi as u32, value.wrapping_sub(hi << 12))
}

/// Would a frame of this size (plus incoming stack arguments above it) put some sp-relative
/// access beyond a 12-bit offset, so stack-to-stack moves need a second scratch register?
pub fn needs_spare_scratch(lowered: &Lowered, alloc: &Allocation) -> bool {
    let frame = frame_for(lowered, alloc);
    frame.size.saturating_add(lowered.incoming_bytes) > MAX_IMM12
}

/// The sp offset of every spill slot in the frame `emit` builds (for the allocation report).
pub(super) fn slot_offsets(lowered: &Lowered, alloc: &Allocation) -> Vec<u32> {
    let frame = frame_for(lowered, alloc);
    (0..alloc.num_slots).map(|n| frame.slot_offset(n)).collect()
}

fn frame_for(lowered: &Lowered, alloc: &Allocation) -> FrameLayout {
    FrameLayout::new(
        lowered.outgoing_bytes,
        lowered.result_area,
        alloc.num_slots,
        lowered.has_calls,
        alloc.used_callee_saved,
    )
}

/// The F register an operand of class 1 was given.
fn fr(p: PReg) -> Result<FReg> {
    if regs::is_float(p) {
        Ok(regs::freg(p))
    } else {
        Err(CompileError::internal(format!(
            "rv32: {} where an F register belongs",
            regs::name(p)
        )))
    }
}

/// An integer operand's register (never an F register).
fn xr(p: PReg) -> Result<PReg> {
    if regs::is_float(p) {
        Err(CompileError::internal(format!(
            "rv32: {} where an integer register belongs",
            regs::name(p)
        )))
    } else {
        Ok(p)
    }
}

struct Item {
    inst: PInst,
    wasm_offset: Option<u32>,
    kind: LineKind,
    step: Option<u32>,
}

struct Emitter {
    frame: FrameLayout,
    items: Vec<Item>,
    label_names: Vec<String>,
    trap_labels: BTreeMap<TrapCode, Label>,
    /// A second never-allocated register, reserved only for functions with large frames.
    spare_scratch: Option<PReg>,
    wasm_offset: Option<u32>,
    kind: LineKind,
    /// The allocation step (`regalloc::explain`) being emitted.
    step: Option<u32>,
}

impl Emitter {
    fn push(&mut self, inst: PInst) {
        self.items.push(Item {
            inst,
            wasm_offset: self.wasm_offset,
            kind: self.kind,
            step: self.step,
        });
    }
    fn new_label(&mut self, name: String) -> Label {
        let l = Label(self.label_names.len() as u32);
        self.label_names.push(name);
        l
    }
    fn trap_label(&mut self, code: TrapCode) -> Label {
        if let Some(&l) = self.trap_labels.get(&code) {
            return l;
        }
        let l = self.new_label(format!(".Ltrap{}", code.code()));
        self.trap_labels.insert(code, l);
        l
    }
    fn internal_label(&mut self) -> Label {
        let n = self.label_names.len();
        self.new_label(format!(".Ll{n}"))
    }

    fn region_offset(&self, region: SpRegion) -> Result<u32> {
        let offset = match region {
            SpRegion::Outgoing(o) => Some(o),
            SpRegion::ResultArea(o) => self.frame.result_area_offset.checked_add(o),
            SpRegion::Incoming(o) => self.frame.size.checked_add(o),
        };
        offset
            .filter(|&o| o <= MAX_FRAME)
            .ok_or_else(|| CompileError::limit("rv32: stack frame too large"))
    }
    fn slot_offset(&self, slot: u32) -> u32 {
        self.frame.slot_offset(slot)
    }

    /// `lw rd, offset(sp)` (`flw` into an F register); beyond the 12-bit reach rd itself (t6
    /// for an F register) holds the address.
    fn load_sp(&mut self, rd: PReg, offset: u32) {
        if regs::is_float(rd) {
            let (base, offset) = if offset <= MAX_IMM12 {
                (SP, offset as i32)
            } else {
                (SCRATCH, self.upper_address(SCRATCH, offset))
            };
            self.push(PInst::FLoad {
                fmt: FFmt::S,
                rd: regs::freg(rd),
                base,
                offset,
            });
            return;
        }
        if offset <= MAX_IMM12 {
            self.lw(rd, SP, offset as i32);
        } else {
            let lo = self.upper_address(rd, offset);
            self.lw(rd, rd, lo);
        }
    }

    /// `sw src, offset(sp)`; beyond the 12-bit reach t6 (or, when `src` is t6, the spare
    /// scratch register of large frames) holds the address.
    fn store_sp(&mut self, src: PReg, offset: u32) -> Result<()> {
        if regs::is_float(src) {
            let (base, offset) = if offset <= MAX_IMM12 {
                (SP, offset as i32)
            } else {
                (SCRATCH, self.upper_address(SCRATCH, offset))
            };
            self.push(PInst::FStore {
                fmt: FFmt::S,
                src: regs::freg(src),
                base,
                offset,
            });
            return Ok(());
        }
        if offset <= MAX_IMM12 {
            self.sw(src, SP, offset as i32);
            return Ok(());
        }
        let temp = if src != SCRATCH {
            SCRATCH
        } else {
            self.spare_scratch.ok_or_else(|| {
                CompileError::internal("rv32: large-frame store without a spare scratch register")
            })?
        };
        let lo = self.upper_address(temp, offset);
        self.sw(src, temp, lo);
        Ok(())
    }

    /// temp = sp + the upper part of `offset`; returns the low 12 bits left to add.
    fn upper_address(&mut self, temp: PReg, offset: u32) -> i32 {
        let (hi, lo) = split_hi_lo(offset as i32);
        self.push(PInst::Lui {
            rd: temp,
            imm20: hi,
        });
        self.alu(AluOp::Add, temp, temp, SP);
        lo
    }

    fn alu(&mut self, op: AluOp, rd: PReg, rs1: PReg, rs2: PReg) {
        self.push(PInst::Alu { op, rd, rs1, rs2 });
    }
    fn alu_imm(&mut self, op: AluImmOp, rd: PReg, rs1: PReg, imm: i32) {
        self.push(PInst::AluImm { op, rd, rs1, imm });
    }
    /// A register copy by class: `mv`, `fmv.s`, or across the files `fmv.w.x` / `fmv.x.w`.
    fn mv(&mut self, rd: PReg, rs: PReg) {
        if rd == rs {
            return;
        }
        match (regs::is_float(rd), regs::is_float(rs)) {
            (false, false) => self.alu_imm(AluImmOp::Addi, rd, rs, 0),
            (true, true) => self.fbin(FBinOp::Sgnj, regs::freg(rd), regs::freg(rs), regs::freg(rs)),
            (true, false) => self.push(PInst::FMvFromInt {
                rd: regs::freg(rd),
                rs,
            }),
            (false, true) => self.push(PInst::FMvToInt {
                rd,
                rs: regs::freg(rs),
            }),
        }
    }
    fn fbin(&mut self, op: FBinOp, rd: FReg, rs1: FReg, rs2: FReg) {
        self.push(PInst::FBin {
            op,
            fmt: FFmt::S,
            rd,
            rs1,
            rs2,
        });
    }
    fn lw(&mut self, rd: PReg, base: PReg, offset: i32) {
        self.push(PInst::Load {
            kind: LoadKind::W,
            rd,
            base,
            offset,
        });
    }
    fn sw(&mut self, src: PReg, base: PReg, offset: i32) {
        self.push(PInst::Store {
            kind: StoreKind::W,
            src,
            base,
            offset,
        });
    }
    /// Shortest sequence for a 32-bit constant: one `addi`/`lui`, else `lui` + `addi`.
    fn li(&mut self, rd: PReg, imm: i32) {
        if (-2048..=2047).contains(&imm) {
            self.alu_imm(AluImmOp::Addi, rd, ZERO, imm);
            return;
        }
        let (hi, lo) = split_hi_lo(imm);
        self.push(PInst::Lui { rd, imm20: hi });
        if lo != 0 {
            self.alu_imm(AluImmOp::Addi, rd, rd, lo);
        }
    }
    fn branch(&mut self, test: Test<PReg>, target: Label) {
        self.push(PInst::Branch {
            cond: test.cond,
            rs1: test.a,
            rs2: test.b,
            target,
        });
    }

    /// `stack_check`: the bytes the stack must have above the limit at entry
    /// (`isa::stack_check_bytes`), if it is checked.
    fn prologue(&mut self, stack_check: Option<u32>) -> Result<()> {
        let size = self.frame.size;
        if size == 0 {
            return Ok(());
        }
        if size > MAX_FRAME {
            return Err(CompileError::limit(format!(
                "rv32: stack frame of {size} bytes is too large"
            )));
        }
        // sp less what the check needs into t6 (then sp from it), or the new sp straight into sp.
        let (new_sp, lowered_by) = match stack_check {
            Some(needed) => (SCRATCH, needed),
            None => (SP, size),
        };
        if lowered_by <= 2048 {
            self.alu_imm(AluImmOp::Addi, new_sp, SP, -(lowered_by as i32));
        } else {
            self.li(SCRATCH, lowered_by as i32);
            self.alu(AluOp::Sub, new_sp, SP, SCRATCH);
        }
        if let Some(needed) = stack_check {
            // t0 holds nothing yet (parameters arrive in a0..a7); t6 is the scratch register.
            let limit = regs::T0;
            let trap = self.trap_label(TrapCode::StackOverflow);
            self.push(PInst::LuiSym {
                rd: limit,
                symbol: Symbol::StackLimit,
                addend: 0,
            });
            self.push(PInst::LoadSym {
                rd: limit,
                base: limit,
                symbol: Symbol::StackLimit,
                addend: 0,
            });
            self.branch(
                Test {
                    cond: BrCond::Ltu,
                    a: SCRATCH,
                    b: limit,
                },
                trap,
            );
            // The guard below the frame stays free: sp drops by the frame alone (a compressed
            // `addi sp` for frames that reach it, as large as the old `mv sp, t6`).
            if size <= 2048 {
                self.alu_imm(AluImmOp::Addi, SP, SP, -(size as i32));
            } else {
                self.alu_imm(AluImmOp::Addi, SP, SCRATCH, (needed - size) as i32);
            }
        }
        for (r, off) in self.frame.saved.clone() {
            self.store_sp(r, off)?;
        }
        Ok(())
    }

    fn epilogue(&mut self) -> Result<()> {
        for (r, off) in self.frame.saved.clone() {
            self.load_sp(r, off);
        }
        let size = self.frame.size;
        if size > MAX_IMM12 {
            // Results are in a0/a1; t6 is free.
            self.li(SCRATCH, size as i32);
            self.alu(AluOp::Add, SP, SP, SCRATCH);
        } else if size > 0 {
            self.alu_imm(AluImmOp::Addi, SP, SP, size as i32);
        }
        self.push(PInst::Jalr {
            rd: ZERO,
            rs1: regs::RA,
            offset: 0,
        });
        Ok(())
    }

    fn edit(&mut self, edit: &Edit, lowered: &Lowered) -> Result<()> {
        // An edit serves a value, not a wasm operator: the explanation names the value.
        let wasm_offset = self.wasm_offset.take();
        self.kind = LineKind::Edit(edit.kind);
        let constant = |v: VReg| {
            lowered
                .code
                .remat_value(v)
                .map(|c| c as i32)
                .ok_or_else(|| {
                    CompileError::internal(format!("v{} is rematerialized but is no constant", v.0))
                })
        };
        match (edit.from, edit.to) {
            (Location::Remat(v), Location::Reg(to)) if regs::is_float(to) => {
                self.li(SCRATCH, constant(v)?);
                self.mv(to, SCRATCH);
            }
            (Location::Remat(v), Location::Reg(to)) => self.li(to, constant(v)?),
            (Location::Remat(v), Location::Stack(slot)) => {
                self.li(SCRATCH, constant(v)?);
                // The constant is recreated, then stored: the store is a spill.
                self.kind = LineKind::Edit(EditKind::Spill);
                self.store_sp(SCRATCH, self.slot_offset(slot.0))?;
            }
            (_, Location::Remat(_)) => {
                return Err(CompileError::internal("an edit writes to a constant"));
            }
            (Location::Reg(from), Location::Reg(to)) => self.mv(to, from),
            (Location::Reg(from), Location::Stack(slot)) => {
                self.store_sp(from, self.slot_offset(slot.0))?;
            }
            (Location::Stack(slot), Location::Reg(to)) => {
                self.load_sp(to, self.slot_offset(slot.0));
            }
            (Location::Stack(from), Location::Stack(to)) => {
                if from != to {
                    self.load_sp(SCRATCH, self.slot_offset(from.0));
                    self.store_sp(SCRATCH, self.slot_offset(to.0))?;
                }
            }
        }
        self.kind = LineKind::Code;
        self.wasm_offset = wasm_offset;
        Ok(())
    }

    fn inst(&mut self, inst: &MInst<PReg>, next_block: Option<MBlock>) -> Result<()> {
        match inst {
            MInst::Entry { .. } => {}
            MInst::Li { rd, imm } => self.li(*rd, *imm),
            MInst::Move { rd, rs } => self.mv(*rd, *rs),
            MInst::Alu { op, rd, rs1, rs2 } => self.alu(*op, *rd, *rs1, *rs2),
            MInst::AluImm { op, rd, rs1, imm } => self.alu_imm(*op, *rd, *rs1, *imm),
            MInst::Load {
                kind: LoadKind::W,
                rd,
                base,
                offset,
            } if regs::is_float(*rd) => self.push(PInst::FLoad {
                fmt: FFmt::S,
                rd: regs::freg(*rd),
                base: xr(*base)?,
                offset: *offset,
            }),
            MInst::Load {
                kind,
                rd,
                base,
                offset,
            } => self.push(PInst::Load {
                kind: *kind,
                rd: xr(*rd)?,
                base: xr(*base)?,
                offset: *offset,
            }),
            MInst::Store {
                kind: StoreKind::W,
                src,
                base,
                offset,
            } if regs::is_float(*src) => self.push(PInst::FStore {
                fmt: FFmt::S,
                src: regs::freg(*src),
                base: xr(*base)?,
                offset: *offset,
            }),
            MInst::Store {
                kind,
                src,
                base,
                offset,
            } => self.push(PInst::Store {
                kind: *kind,
                src: xr(*src)?,
                base: xr(*base)?,
                offset: *offset,
            }),
            MInst::LoadSp { rd, region } => {
                let off = self.region_offset(*region)?;
                self.load_sp(*rd, off);
            }
            MInst::StoreSp { src, region } => {
                let off = self.region_offset(*region)?;
                self.store_sp(*src, off)?;
            }
            MInst::AddrSp { rd, region } => {
                let off = self.region_offset(*region)?;
                if off <= MAX_IMM12 {
                    self.alu_imm(AluImmOp::Addi, *rd, SP, off as i32);
                } else {
                    self.li(*rd, off as i32);
                    self.alu(AluOp::Add, *rd, *rd, SP);
                }
            }
            MInst::SymAddr { rd, symbol, offset } => {
                self.push(PInst::LuiSym {
                    rd: *rd,
                    symbol: *symbol,
                    addend: *offset,
                });
                self.push(PInst::AddiSym {
                    rd: *rd,
                    rs1: *rd,
                    symbol: *symbol,
                    addend: *offset,
                });
            }
            MInst::LoadSym { rd, symbol, offset } => {
                // An f32 global goes through t6 (the word, then its bits into the F register).
                let word = if regs::is_float(*rd) { SCRATCH } else { *rd };
                self.push(PInst::LuiSym {
                    rd: word,
                    symbol: *symbol,
                    addend: *offset,
                });
                self.push(PInst::LoadSym {
                    rd: word,
                    base: word,
                    symbol: *symbol,
                    addend: *offset,
                });
                self.mv(*rd, word);
            }
            MInst::StoreSym {
                src,
                tmp,
                symbol,
                offset,
            } if regs::is_float(*src) => {
                self.mv(SCRATCH, *src);
                self.push(PInst::LuiSym {
                    rd: xr(*tmp)?,
                    symbol: *symbol,
                    addend: *offset,
                });
                self.push(PInst::StoreSym {
                    src: SCRATCH,
                    base: *tmp,
                    symbol: *symbol,
                    addend: *offset,
                });
            }
            MInst::StoreSym {
                src,
                tmp,
                symbol,
                offset,
            } => {
                self.push(PInst::LuiSym {
                    rd: *tmp,
                    symbol: *symbol,
                    addend: *offset,
                });
                self.push(PInst::StoreSym {
                    src: *src,
                    base: *tmp,
                    symbol: *symbol,
                    addend: *offset,
                });
            }
            MInst::Select {
                rd,
                test,
                if_true,
                if_false,
            } => {
                let skip = self.internal_label();
                self.mv(*rd, *if_true);
                self.branch(*test, skip);
                self.mv(*rd, *if_false);
                self.push(PInst::Label(skip));
            }
            MInst::PairArith {
                sub,
                lo,
                hi,
                a_lo,
                a_hi,
                b_lo,
                b_hi,
            } => {
                if *sub {
                    self.alu(AluOp::Sltu, SCRATCH, *a_lo, *b_lo); // borrow from the high word
                    self.alu(AluOp::Sub, *lo, *a_lo, *b_lo);
                    self.alu(AluOp::Sub, *hi, *a_hi, *b_hi);
                    self.alu(AluOp::Sub, *hi, *hi, SCRATCH);
                } else {
                    self.alu(AluOp::Add, *lo, *a_lo, *b_lo);
                    self.alu(AluOp::Sltu, SCRATCH, *lo, *a_lo); // carry out of the low word
                    self.alu(AluOp::Add, *hi, *a_hi, *b_hi);
                    self.alu(AluOp::Add, *hi, *hi, SCRATCH);
                }
            }
            MInst::MulWide {
                signed,
                lo,
                hi,
                a,
                b,
            } => {
                // lo is an early def, so the high half still reads intact multiplicands.
                let high = if *signed { AluOp::Mulh } else { AluOp::Mulhu };
                self.alu(AluOp::Mul, *lo, *a, *b);
                self.alu(high, *hi, *a, *b);
            }
            MInst::ShiftPair {
                op,
                lo,
                hi,
                a_lo,
                a_hi,
                count,
            } => self.shift_pair(*op, *lo, *hi, *a_lo, *a_hi, *count),
            MInst::Call {
                target: Some(target),
                ..
            } => self.push(PInst::Jalr {
                rd: regs::RA,
                rs1: *target,
                offset: 0,
            }),
            MInst::Call { callee, .. } => self.push(PInst::Call {
                symbol: Symbol::Function(*callee),
            }),
            MInst::TrapIf { code, test } => {
                let trap = self.trap_label(*code);
                self.branch(*test, trap);
            }
            MInst::BoundsCheck { addr, size, end } => self.bounds_check(*addr, *size, *end),
            MInst::FBin { op, rd, rs1, rs2 } => self.fbin(*op, fr(*rd)?, fr(*rs1)?, fr(*rs2)?),
            MInst::FMinMax { max, rd, rs1, rs2 } => {
                self.min_max(*max, fr(*rd)?, fr(*rs1)?, fr(*rs2)?)
            }
            MInst::FSqrt { rd, rs } => self.push(PInst::FSqrt {
                fmt: FFmt::S,
                rd: fr(*rd)?,
                rs: fr(*rs)?,
            }),
            MInst::FCmp { op, rd, rs1, rs2 } => self.push(PInst::FCmp {
                op: *op,
                fmt: FFmt::S,
                rd: xr(*rd)?,
                rs1: fr(*rs1)?,
                rs2: fr(*rs2)?,
            }),
            MInst::FTruncSat { signed, rd, rs } => {
                let (rd, rs) = (xr(*rd)?, fr(*rs)?);
                // fcvt saturates out-of-range values as wasm does, but gives the largest
                // result for NaN: clear it with the mask -(rs == rs).
                self.push(PInst::FCvtToInt {
                    fmt: FFmt::S,
                    signed: *signed,
                    rm: Rm::Rtz,
                    rd,
                    rs,
                });
                self.push(PInst::FCmp {
                    op: FCmpOp::Eq,
                    fmt: FFmt::S,
                    rd: SCRATCH,
                    rs1: rs,
                    rs2: rs,
                });
                self.alu(AluOp::Sub, SCRATCH, ZERO, SCRATCH);
                self.alu(AluOp::And, rd, rd, SCRATCH);
            }
            MInst::FCvtFromInt { signed, rd, rs } => self.push(PInst::FCvtFromInt {
                fmt: FFmt::S,
                signed: *signed,
                rd: fr(*rd)?,
                rs: xr(*rs)?,
            }),
            MInst::FMvToInt { rd, rs } => self.push(PInst::FMvToInt {
                rd: xr(*rd)?,
                rs: fr(*rs)?,
            }),
            MInst::FMvFromInt { rd, rs } => self.push(PInst::FMvFromInt {
                rd: fr(*rd)?,
                rs: xr(*rs)?,
            }),
            MInst::Jump { target } => {
                if next_block != Some(*target) {
                    self.push(PInst::Jump {
                        target: Label(*target as u32),
                    });
                }
            }
            MInst::Branch {
                test,
                then_block,
                else_block,
            } => {
                let (then_label, else_label) =
                    (Label(*then_block as u32), Label(*else_block as u32));
                if next_block == Some(*then_block) {
                    let inverse = Test {
                        cond: test.cond.inverse(),
                        ..*test
                    };
                    self.branch(inverse, else_label);
                } else {
                    self.branch(*test, then_label);
                    if next_block != Some(*else_block) {
                        self.push(PInst::Jump { target: else_label });
                    }
                }
            }
            MInst::Switch {
                index,
                targets,
                default,
            } => self.switch(*index, targets, *default)?,
            MInst::Return { .. } => self.epilogue()?,
            MInst::Trap { code } => {
                let trap = self.trap_label(*code);
                self.push(PInst::Jump { target: trap });
            }
        }
        Ok(())
    }

    /// Wasm min/max: `fmin`/`fmax` (which order -0 below +0) unless an operand is a NaN,
    /// then `fadd`, whose result is the canonical NaN. Each path reads both operands before
    /// writing rd, so rd may share a register with either.
    fn min_max(&mut self, max: bool, rd: FReg, a: FReg, b: FReg) {
        let nan = self.internal_label();
        let done = self.internal_label();
        for x in [a, b] {
            self.push(PInst::FCmp {
                op: FCmpOp::Eq,
                fmt: FFmt::S,
                rd: SCRATCH,
                rs1: x,
                rs2: x,
            });
            self.branch(
                Test {
                    cond: BrCond::Eq,
                    a: SCRATCH,
                    b: ZERO,
                },
                nan,
            );
        }
        let op = if max { FBinOp::Max } else { FBinOp::Min };
        self.fbin(op, rd, a, b);
        self.push(PInst::Jump { target: done });
        self.push(PInst::Label(nan));
        self.fbin(FBinOp::Add, rd, a, b);
        self.push(PInst::Label(done));
    }

    /// Trap unless addr + end <= size, computed without losing the carry.
    fn bounds_check(&mut self, addr: PReg, size: PReg, end: u64) {
        let trap = self.trap_label(TrapCode::MemoryOutOfBounds);
        let Ok(end) = u32::try_from(end) else {
            // No address plus this end fits a 32-bit memory.
            self.push(PInst::Jump { target: trap });
            return;
        };
        if end == 0 {
            self.branch(
                Test {
                    cond: BrCond::Ltu,
                    a: size,
                    b: addr,
                },
                trap,
            );
            return;
        }
        if end <= 2047 {
            self.alu_imm(AluImmOp::Addi, SCRATCH, addr, end as i32);
        } else {
            self.li(SCRATCH, end as i32);
            self.alu(AluOp::Add, SCRATCH, SCRATCH, addr);
        }
        // A sum below addr wrapped past 2^32 (a constant address of 0 cannot wrap).
        if addr != ZERO {
            self.branch(
                Test {
                    cond: BrCond::Ltu,
                    a: SCRATCH,
                    b: addr,
                },
                trap,
            );
        }
        self.branch(
            Test {
                cond: BrCond::Ltu,
                a: size,
                b: SCRATCH,
            },
            trap,
        );
    }

    /// 64-bit shift by a register count mod 64, branch-free except for the count >= 32 fix-up.
    /// The spill of bits across the word boundary uses `(x >> 1) >> ~n` (or `<<`), which is
    /// `x >> (32 - n)` for n in 1..31 and 0 for n = 0, without a shift by 32.
    fn shift_pair(&mut self, op: ShiftKind, lo: PReg, hi: PReg, a_lo: PReg, a_hi: PReg, n: PReg) {
        let done = self.internal_label();
        match op {
            ShiftKind::Shl => {
                self.alu_imm(AluImmOp::Xori, hi, n, -1);
                self.alu_imm(AluImmOp::Srli, SCRATCH, a_lo, 1);
                self.alu(AluOp::Srl, SCRATCH, SCRATCH, hi);
                self.alu(AluOp::Sll, hi, a_hi, n);
                self.alu(AluOp::Or, hi, hi, SCRATCH);
                self.alu(AluOp::Sll, lo, a_lo, n);
                self.alu_imm(AluImmOp::Andi, SCRATCH, n, 32);
                self.branch(
                    Test {
                        cond: BrCond::Eq,
                        a: SCRATCH,
                        b: ZERO,
                    },
                    done,
                );
                self.mv(hi, lo);
                self.li(lo, 0);
            }
            ShiftKind::ShrU | ShiftKind::ShrS => {
                self.alu_imm(AluImmOp::Xori, lo, n, -1);
                self.alu_imm(AluImmOp::Slli, SCRATCH, a_hi, 1);
                self.alu(AluOp::Sll, SCRATCH, SCRATCH, lo);
                self.alu(AluOp::Srl, lo, a_lo, n);
                self.alu(AluOp::Or, lo, lo, SCRATCH);
                let high_op = if op == ShiftKind::ShrU {
                    AluOp::Srl
                } else {
                    AluOp::Sra
                };
                self.alu(high_op, hi, a_hi, n);
                self.alu_imm(AluImmOp::Andi, SCRATCH, n, 32);
                self.branch(
                    Test {
                        cond: BrCond::Eq,
                        a: SCRATCH,
                        b: ZERO,
                    },
                    done,
                );
                self.mv(lo, hi);
                if op == ShiftKind::ShrU {
                    self.li(hi, 0);
                } else {
                    self.alu_imm(AluImmOp::Srai, hi, hi, 31);
                }
            }
        }
        self.push(PInst::Label(done));
    }

    /// Bounds check, then jump into a table of 4-byte `j` instructions at `pc + 4 * index`
    /// (the index is added four times so no second scratch register is needed).
    fn switch(&mut self, index: PReg, targets: &[MBlock], default: MBlock) -> Result<()> {
        let default = Label(default as u32);
        if targets.is_empty() {
            self.push(PInst::Jump { target: default });
            return Ok(());
        }
        let count = i32::try_from(targets.len())
            .map_err(|_| CompileError::limit("rv32: jump table too large"))?;
        self.li(SCRATCH, count);
        self.branch(
            Test {
                cond: BrCond::Geu,
                a: index,
                b: SCRATCH,
            },
            default,
        );
        self.push(PInst::Auipc {
            rd: SCRATCH,
            imm20: 0,
        });
        let add = PInst::Alu {
            op: AluOp::Add,
            rd: SCRATCH,
            rs1: SCRATCH,
            rs2: index,
        };
        let add_size = encode::encode_plain(&add)?.len() as i32;
        for _ in 0..4 {
            self.push(add.clone());
        }
        // From the auipc: itself, the adds, this jalr (4 bytes: its offset is nonzero).
        self.push(PInst::Jalr {
            rd: ZERO,
            rs1: SCRATCH,
            offset: 4 + 4 * add_size + 4,
        });
        for &t in targets {
            self.push(PInst::TableJump {
                target: Label(t as u32),
            });
        }
        Ok(())
    }

    fn trap_stubs(&mut self) {
        self.wasm_offset = None;
        self.step = None;
        for (code, label) in self.trap_labels.clone() {
            self.push(PInst::Label(label));
            self.li(regs::A0, code.code() as i32);
            self.push(PInst::Call {
                symbol: Symbol::TrapHandler,
            });
            // synth_trap never returns; if it did, stop here rather than run into other code.
            self.push(PInst::Unimp);
        }
    }
}

/// Jump threading: a branch or jump to a label whose code is just `j M` goes to M directly
/// (a loop's back-edge block without moves, say). The `j M` itself stays, for
/// `drop_dead_jumps` to remove once nothing reaches it.
fn thread_jumps(items: &mut [Item], num_labels: usize) {
    let mut forward: Vec<Option<Label>> = vec![None; num_labels];
    let mut pending: Vec<Label> = Vec::new();
    for item in items.iter() {
        match item.inst {
            PInst::Label(l) => pending.push(l),
            PInst::Jump { target } => {
                for l in pending.drain(..) {
                    if let Some(slot) = forward.get_mut(l.0 as usize) {
                        *slot = Some(target);
                    }
                }
            }
            _ => pending.clear(),
        }
    }
    // Follow chains, at most `num_labels` steps (a cycle of empty jumps stays as it is).
    let resolve = |mut l: Label| {
        for _ in 0..num_labels {
            match forward.get(l.0 as usize).copied().flatten() {
                Some(next) if next != l => l = next,
                _ => break,
            }
        }
        l
    };
    for item in items.iter_mut() {
        if let PInst::Branch { target, .. } | PInst::Jump { target } | PInst::TableJump { target } =
            &mut item.inst
        {
            *target = resolve(*target);
        }
    }
}

/// After threading, drop jumps nothing can reach any more: their labels are unreferenced and
/// the code before them does not fall through.
fn drop_dead_jumps(items: Vec<Item>) -> Vec<Item> {
    let mut referenced = std::collections::BTreeSet::new();
    for item in &items {
        if let PInst::Branch { target, .. } | PInst::Jump { target } | PInst::TableJump { target } =
            item.inst
        {
            referenced.insert(target);
        }
    }
    let falls_through = |inst: &PInst| {
        !matches!(
            inst,
            PInst::Jump { .. }
                | PInst::TableJump { .. }
                | PInst::Unimp
                | PInst::Jalr { rd: ZERO, .. }
        )
    };
    let mut out = Vec::with_capacity(items.len());
    // Whether the code emitted so far can reach the current point.
    let mut reachable = true;
    for item in items {
        match item.inst {
            PInst::Label(l) => reachable |= referenced.contains(&l),
            PInst::Jump { .. } if !reachable => continue,
            _ => reachable = reachable && falls_through(&item.inst),
        }
        out.push(item);
    }
    out
}

/// Relax branches to a fixed point, then encode everything.
type Assembled = (Vec<u8>, Vec<Reloc>, Vec<ListingLine>, Vec<Option<u32>>);

fn assemble(module: &ir::Module, items: &[Item], label_names: &[String]) -> Result<Assembled> {
    let mut forms: Vec<u8> = items
        .iter()
        .map(|i| encode::initial_form(&i.inst))
        .collect();
    let mut fixed_sizes = Vec::with_capacity(items.len());
    for item in items {
        fixed_sizes.push(match &item.inst {
            PInst::Branch { .. } | PInst::Jump { .. } | PInst::TableJump { .. } => 0,
            PInst::Call { .. } => 8,
            PInst::Label(_) => 0,
            other => encode::encode_other(other)?.bytes.len() as u32,
        });
    }
    let is_relaxable = |inst: &PInst| {
        matches!(
            inst,
            PInst::Branch { .. } | PInst::Jump { .. } | PInst::TableJump { .. }
        )
    };
    let target_of = |inst: &PInst| match inst {
        PInst::Branch { target, .. } | PInst::Jump { target } | PInst::TableJump { target } => {
            Some(*target)
        }
        _ => None,
    };
    let mut positions = vec![0u32; items.len()];
    let mut label_pos = vec![None; label_names.len()];
    loop {
        let mut pos = 0u32;
        for (i, item) in items.iter().enumerate() {
            positions[i] = pos;
            if let PInst::Label(l) = item.inst
                && let Some(slot) = label_pos.get_mut(l.0 as usize)
            {
                *slot = Some(pos);
            }
            let size = if is_relaxable(&item.inst) {
                encode::relax_size(&item.inst, forms[i])
            } else {
                fixed_sizes[i]
            };
            pos = pos
                .checked_add(size)
                .ok_or_else(|| CompileError::limit("rv32: function code exceeds 4 GiB"))?;
        }
        let mut changed = false;
        for (i, item) in items.iter().enumerate() {
            let Some(target) = target_of(&item.inst) else {
                continue;
            };
            let to = label_pos
                .get(target.0 as usize)
                .copied()
                .flatten()
                .ok_or_else(|| CompileError::internal("rv32: branch to an unplaced label"))?;
            let disp = i64::from(to) - i64::from(positions[i]);
            if !encode::reaches(&item.inst, forms[i], disp) {
                forms[i] += 1;
                if forms[i] >= encode::relax_forms(&item.inst) {
                    return Err(CompileError::limit(format!(
                        "rv32: a branch spans {disp} bytes; functions must stay within the \
                         ±1 MiB reach of jal"
                    )));
                }
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let label_text = |l: Label| {
        label_names
            .get(l.0 as usize)
            .cloned()
            .unwrap_or_else(|| format!(".L?{}", l.0))
    };
    let symbol_text = |s: Symbol| module.symbol_name(s);
    let mut code = Vec::new();
    let mut relocs = Vec::new();
    let mut listing = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let pieces: Vec<Piece> = match &item.inst {
            PInst::Label(_) => continue,
            PInst::Call { symbol } => vec![encode::encode_call(*symbol)],
            inst if is_relaxable(inst) => {
                let target = target_of(inst).unwrap_or(Label(0));
                let to = label_pos
                    .get(target.0 as usize)
                    .copied()
                    .flatten()
                    .unwrap_or(0);
                encode::encode_branch(inst, forms[i], i64::from(to) - i64::from(positions[i]))?
            }
            other => vec![encode::encode_other(other)?],
        };
        for piece in pieces {
            let offset = code.len() as u32;
            let text = match piece.text.as_deref() {
                None => item.inst.text(&label_text, &symbol_text),
                Some("j") => format!(
                    "j {}",
                    label_text(target_of(&item.inst).unwrap_or(Label(0)))
                ),
                Some(t) => t.to_string(),
            };
            if let Some((r_type, symbol, addend)) = piece.reloc {
                relocs.push(Reloc {
                    offset,
                    r_type,
                    symbol,
                    addend,
                });
            }
            code.extend_from_slice(&piece.bytes);
            listing.push(ListingLine {
                offset,
                bytes: piece.bytes,
                text,
                wasm_offset: item.wasm_offset,
                kind: item.kind,
                step: item.step,
            });
        }
    }
    Ok((code, relocs, listing, label_pos))
}

/// Emit a lowered, allocated function, also returning every placed label (name, code offset)
/// so tests can reassemble the listing.
pub(crate) fn emit_with_labels(
    module: &ir::Module,
    func: &ir::Function,
    lowered: &Lowered,
    alloc: &Allocation,
    options: &crate::options::Options,
    spare_scratch: Option<PReg>,
) -> Result<(CompiledFunction, Vec<(String, u32)>)> {
    let frame = frame_for(lowered, alloc);
    let stack_check =
        crate::isa::stack_check_bytes(module, func, options, lowered.has_calls, frame.size);
    if alloc.regs.len() != lowered.code.insts.len() {
        return Err(CompileError::internal(
            "rv32: the allocation does not cover every instruction",
        ));
    }
    let num_blocks = lowered.code.num_blocks();
    let mut e = Emitter {
        frame,
        items: Vec::new(),
        label_names: (0..num_blocks).map(|b| format!(".Lb{b}")).collect(),
        trap_labels: BTreeMap::new(),
        spare_scratch,
        wasm_offset: None,
        kind: LineKind::Code,
        step: None,
    };
    e.prologue(stack_check)?;

    let mut edits = alloc.edits.iter().peekable();
    // Steps in `regalloc::explain`'s order: each instruction with its edits before and after.
    let mut step = 0u32;
    let mut next_step = || {
        step += 1;
        Some(step - 1)
    };
    for b in 0..num_blocks {
        e.wasm_offset = None;
        e.push(PInst::Label(Label(b as u32)));
        let next_block = (b + 1 < num_blocks).then_some(b + 1);
        for i in lowered.code.block_insts(b) {
            let regs_of = alloc.regs.get(i).map(Vec::as_slice).unwrap_or(&[]);
            let mut next = regs_of.iter();
            let mut missing = false;
            let inst = lowered.code.insts.get(i).ok_or_else(|| {
                CompileError::internal(format!("rv32: block range beyond instruction {i}"))
            })?;
            let physical = inst.map_regs(&mut |r, _| match r {
                Reg::Zero => ZERO,
                Reg::V(_) => next.next().copied().unwrap_or_else(|| {
                    missing = true;
                    ZERO
                }),
            });
            if missing {
                return Err(CompileError::internal(format!(
                    "rv32: the allocation lacks registers for instruction {i}"
                )));
            }
            e.wasm_offset = lowered.code.wasm_offsets.get(i).copied().flatten();
            while let Some((_, edit)) = edits.next_if(|(p, _)| p.inst as usize == i && !p.after) {
                e.step = next_step();
                e.edit(edit, lowered)?;
            }
            e.step = next_step();
            e.inst(&physical, next_block)?;
            while let Some((_, edit)) = edits.next_if(|(p, _)| p.inst as usize == i && p.after) {
                e.step = next_step();
                e.edit(edit, lowered)?;
            }
        }
    }
    if let Some((point, _)) = edits.next() {
        return Err(CompileError::internal(format!(
            "rv32: allocator edit at instruction {} out of order",
            point.inst
        )));
    }
    e.trap_stubs();
    thread_jumps(&mut e.items, e.label_names.len());
    let items = drop_dead_jumps(std::mem::take(&mut e.items));
    let (code, relocs, listing, label_pos) = assemble(module, &items, &e.label_names)?;
    let labels = e
        .label_names
        .iter()
        .zip(label_pos)
        .filter_map(|(name, pos)| pos.map(|p| (name.clone(), p)))
        .collect();
    let saved_bytes = 4 * e.frame.saved.len() as u32;
    let stats = FunctionStats {
        spills: alloc.stats.spills,
        reloads: alloc.stats.reloads,
        moves: alloc.stats.moves,
        remats: alloc.stats.remats,
        max_pressure: alloc.stats.max_pressure,
        frame_size: e.frame.size - saved_bytes,
    };
    Ok((
        CompiledFunction {
            code,
            relocs,
            listing,
            stats,
            allocation: None,
        },
        labels,
    ))
}

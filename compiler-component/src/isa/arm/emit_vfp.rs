//! VFP code after allocation: the float instructions, moves and stack accesses of VFP
//! registers, the VFP callee-saved area and the widths of spill slots holding D registers.

use super::super::asm::{Asm, Cc, DataOp, FReg, VBinOp, VUnOp, Vfp};
use super::super::encode::{vfp_imm8_f32, vfp_imm8_f64};
use super::super::inst::MInst;
use super::super::regs::{IP, SP, VfpFile, dreg, is_vfp, sreg, vfp_callee_saved};
use super::{BranchKind, Emitter, PSrc, Regs, cc_of};
use crate::error::{CompileError, Result};
use crate::ir::FCond;
use crate::regalloc::{Allocation, Location, PReg, PRegSet};

/// The largest `vldr`/`vstr` offset.
const MAX_VFP_OFFSET: u32 = 1020;

/// Where the spill slots are: slots that ever hold a D register (FPv5-D16) take 8 bytes and come
/// first (the area starts 8-aligned); the others take 4.
#[derive(Clone, Debug, Default)]
pub struct SlotLayout {
    /// Offset of each slot from the start of the spill area.
    pub offsets: Vec<u32>,
    pub wide: Vec<bool>,
    pub bytes: u32,
}

impl SlotLayout {
    pub fn new(alloc: &Allocation, vfp: VfpFile) -> SlotLayout {
        let n = alloc.num_slots as usize;
        let mut wide = vec![false; n];
        if vfp == VfpFile::Double {
            let mut mark = |s: u32| {
                if let Some(w) = wide.get_mut(s as usize) {
                    *w = true;
                }
            };
            for (_, e) in &alloc.edits {
                match (e.from, e.to) {
                    (Location::Reg(r), Location::Stack(s))
                    | (Location::Stack(s), Location::Reg(r))
                        if is_vfp(r) =>
                    {
                        mark(s.0)
                    }
                    _ => {}
                }
            }
            // A slot-to-slot move copies one value: both slots have its width.
            let mut changed = true;
            while changed {
                changed = false;
                for (_, e) in &alloc.edits {
                    if let (Location::Stack(a), Location::Stack(b)) = (e.from, e.to) {
                        let (a, b) = (a.0 as usize, b.0 as usize);
                        let either = wide.get(a) == Some(&true) || wide.get(b) == Some(&true);
                        for s in [a, b] {
                            if either && wide.get(s) == Some(&false) {
                                wide[s] = true;
                                changed = true;
                            }
                        }
                    }
                }
            }
        }
        let mut offsets = vec![0u32; n];
        let mut next = 0u32;
        for pass_wide in [true, false] {
            for s in 0..n {
                if wide[s] == pass_wide {
                    offsets[s] = next;
                    next = next.saturating_add(if pass_wide { 8 } else { 4 });
                }
            }
        }
        SlotLayout {
            offsets,
            wide,
            bytes: next,
        }
    }
}

/// The callee-saved VFP registers to save: one contiguous `vpush` range (an even number of S
/// registers keeps sp 8-aligned), as (first register, count).
pub fn vfp_saves(used: PRegSet, vfp: VfpFile) -> Option<(FReg, u8)> {
    let used = used.intersection(vfp_callee_saved());
    let lo = used.iter().next()?;
    let hi = used.iter().last()?;
    match vfp {
        VfpFile::Double => {
            let (FReg::D(a), FReg::D(b)) = (dreg(lo), dreg(hi)) else {
                return None;
            };
            Some((FReg::D(a), b - a + 1))
        }
        _ => {
            let (FReg::S(a), FReg::S(mut b)) = (sreg(lo), sreg(hi)) else {
                return None;
            };
            let mut a = a;
            if (b - a + 1) % 2 == 1 {
                if b < 31 {
                    b += 1;
                } else {
                    a -= 1;
                }
            }
            Some((FReg::S(a), b - a + 1))
        }
    }
}

/// Bytes a `vfp_saves` range occupies.
pub fn vfp_save_bytes(saves: Option<(FReg, u8)>) -> u32 {
    match saves {
        Some((FReg::D(_), n)) => 8 * u32::from(n),
        Some((FReg::S(_), n)) => 4 * u32::from(n),
        None => 0,
    }
}

fn fcc(cond: FCond) -> Cc {
    // After vcmp + vmrs: N for "less", Z for "equal", C and V for "unordered".
    match cond {
        FCond::Eq => Cc::Eq,
        FCond::Ne => Cc::Ne,
        FCond::Lt => Cc::Mi,
        FCond::Le => Cc::Ls,
        FCond::Gt => Cc::Gt,
        FCond::Ge => Cc::Ge,
    }
}

impl Emitter<'_> {
    fn fp(&self, r: PReg, double: bool) -> FReg {
        if double { dreg(r) } else { sreg(r) }
    }

    fn vfp(&mut self, v: Vfp) {
        self.b.inst(Asm::Vfp(v));
    }

    fn vfp_if(&mut self, cc: Cc, v: Vfp) {
        self.b.inst(Asm::It { cc, then: vec![] });
        self.b.inst(Asm::Cond {
            cc,
            inst: Box::new(Asm::Vfp(v)),
        });
    }

    fn compare(&mut self, rn: FReg, rm: FReg) {
        self.vfp(Vfp::Cmp {
            e: false,
            rn,
            rm: Some(rm),
        });
        self.vfp(Vfp::MrsFlags);
    }

    /// `vcmp` + `vmrs`, then branch like `two_way`. The negation of a float condition is the
    /// inverted flag condition (`!(a < b)` is `pl`, true when unordered), never the opposite
    /// compare.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn float_branch(
        &mut self,
        cond: FCond,
        double: bool,
        rn: PReg,
        rm: PReg,
        then_b: usize,
        else_b: usize,
        next: usize,
    ) {
        self.branch_two_way(then_b, else_b, next, |e, negated, target| {
            e.compare(e.fp(rn, double), e.fp(rm, double));
            let cc = fcc(cond);
            let cc = if negated { cc.invert() } else { cc };
            e.b.branch(BranchKind::Cond(cc), target);
        });
    }

    /// The upper word of a register as an S register (an f64's sign lives there).
    fn high_word(&self, r: PReg, double: bool) -> FReg {
        match sreg(r) {
            FReg::S(n) if double => FReg::S(n + 1),
            s => s,
        }
    }

    /// A register-to-register move between any two registers (core or VFP).
    pub(super) fn any_move(&mut self, to: PReg, from: PReg) -> Result<()> {
        if to == from {
            return Ok(());
        }
        match (is_vfp(to), is_vfp(from)) {
            (false, false) => self.b.mov(to, from),
            (true, true) => {
                let double = self.vfp_file == VfpFile::Double;
                let (rd, rm) = (self.fp(to, double), self.fp(from, double));
                self.vfp(Vfp::Un {
                    op: VUnOp::Mov,
                    rd,
                    rm,
                });
            }
            (true, false) if self.vfp_file == VfpFile::Single => self.vfp(Vfp::MovCore {
                to_core: false,
                rt: from,
                sn: sreg(to),
            }),
            (false, true) if self.vfp_file == VfpFile::Single => self.vfp(Vfp::MovCore {
                to_core: true,
                rt: to,
                sn: sreg(from),
            }),
            _ => {
                return Err(CompileError::internal(
                    "a move between a core and a D register",
                ));
            }
        }
        Ok(())
    }

    /// `vldr`/`vstr` of `fd` at `base + off` (beyond the instruction's reach through ip).
    pub(super) fn vfp_mem(&mut self, load: bool, fd: FReg, base: PReg, off: u32) {
        if off <= MAX_VFP_OFFSET && off.is_multiple_of(4) {
            self.vfp(Vfp::LoadStore {
                load,
                fd,
                rn: base,
                imm: off as i32,
            });
        } else {
            self.b.add_imm(IP, base, off);
            self.vfp(Vfp::LoadStore {
                load,
                fd,
                rn: IP,
                imm: 0,
            });
        }
    }

    /// A VFP register to or from the stack at `off`: `double` for an f64 (FPv5-D16).
    pub(super) fn vfp_stack(&mut self, load: bool, r: PReg, double: bool, off: u32) {
        let fd = self.fp(r, double);
        self.vfp_mem(load, fd, SP, off);
    }

    /// The whole register (a D register on FPv5-D16) to or from a spill slot.
    pub(super) fn vfp_slot(&mut self, load: bool, r: PReg, off: u32) {
        let double = self.vfp_file == VfpFile::Double;
        self.vfp_stack(load, r, double, off);
    }

    pub(super) fn float_minst(&mut self, inst: &MInst, r: &Regs) -> Result<()> {
        match inst {
            MInst::FConst { rd, bits, double } => {
                let rd = r.get(*rd)?;
                if *double {
                    if let Some(imm8) = vfp_imm8_f64(*bits) {
                        self.vfp(Vfp::MovImm { rd: dreg(rd), imm8 });
                    } else {
                        let low = sreg(rd).index();
                        for (k, word) in [*bits as u32, (*bits >> 32) as u32].iter().enumerate() {
                            self.b.mov_imm(IP, *word);
                            self.vfp(Vfp::MovCore {
                                to_core: false,
                                rt: IP,
                                sn: FReg::S(low + k as u8),
                            });
                        }
                    }
                } else if let Some(imm8) = vfp_imm8_f32(*bits as u32) {
                    self.vfp(Vfp::MovImm { rd: sreg(rd), imm8 });
                } else {
                    self.b.mov_imm(IP, *bits as u32);
                    self.vfp(Vfp::MovCore {
                        to_core: false,
                        rt: IP,
                        sn: sreg(rd),
                    });
                }
            }
            MInst::FBin {
                op,
                double,
                rd,
                rn,
                rm,
            } => {
                let (rd, rn, rm) = (r.get(*rd)?, r.get(*rn)?, r.get(*rm)?);
                let d = *double;
                self.vfp(Vfp::Bin {
                    op: *op,
                    rd: self.fp(rd, d),
                    rn: self.fp(rn, d),
                    rm: self.fp(rm, d),
                });
            }
            MInst::FUn { op, double, rd, rm } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                let d = *double;
                self.vfp(Vfp::Un {
                    op: *op,
                    rd: self.fp(rd, d),
                    rm: self.fp(rm, d),
                });
            }
            MInst::FCopysign { double, rd, rn, rm } => {
                let (rd, rn, rm) = (r.get(*rd)?, r.get(*rn)?, r.get(*rm)?);
                let d = *double;
                // ip = the sign word of rm (read before rd is written: they may share).
                let sign = self.high_word(rm, d);
                self.vfp(Vfp::MovCore {
                    to_core: true,
                    rt: IP,
                    sn: sign,
                });
                let (fd, fn_) = (self.fp(rd, d), self.fp(rn, d));
                self.vfp(Vfp::Un {
                    op: VUnOp::Abs,
                    rd: fd,
                    rm: fn_,
                });
                self.b.cmp(IP, PSrc::Imm(0));
                self.vfp_if(
                    Cc::Mi,
                    Vfp::Un {
                        op: VUnOp::Neg,
                        rd: fd,
                        rm: fd,
                    },
                );
            }
            MInst::FMinMax {
                max,
                double,
                rd,
                rn,
                rm,
                tmp,
            } => {
                let (rd, rn, rm) = (r.get(*rd)?, r.get(*rn)?, r.get(*rm)?);
                let d = *double;
                let (fd, fa, fb) = (self.fp(rd, d), self.fp(rn, d), self.fp(rm, d));
                let nan = Vfp::Bin {
                    op: VBinOp::Add,
                    rd: fd,
                    rn: fa,
                    rm: fb,
                };
                match tmp {
                    None => {
                        // vmaxnm/vminnm order ±0 as wasm does; a NaN operand must win instead
                        // of losing (rd is an early def: a and b are intact for the fix-up).
                        self.compare(fa, fb);
                        let op = if *max { VBinOp::MaxNm } else { VBinOp::MinNm };
                        self.vfp(Vfp::Bin {
                            op,
                            rd: fd,
                            rn: fa,
                            rm: fb,
                        });
                        self.vfp_if(Cc::Vs, nan);
                    }
                    Some(tmp) => {
                        // Equal operands (only ±0 differ) combine bitwise: max ANDs the sign
                        // bits, min ORs them. Otherwise the compare picks; NaN: a + b.
                        let tmp = r.get(*tmp)?;
                        self.vfp(Vfp::MovCore {
                            to_core: true,
                            rt: IP,
                            sn: fa,
                        });
                        self.vfp(Vfp::MovCore {
                            to_core: true,
                            rt: tmp,
                            sn: fb,
                        });
                        let op = if *max { DataOp::And } else { DataOp::Orr };
                        self.b.data_reg(op, false, tmp, IP, tmp);
                        self.compare(fa, fb);
                        self.vfp_if(
                            Cc::Eq,
                            Vfp::MovCore {
                                to_core: false,
                                rt: tmp,
                                sn: fd,
                            },
                        );
                        let (greater, less) = if *max { (fa, fb) } else { (fb, fa) };
                        let mov = |rm| Vfp::Un {
                            op: VUnOp::Mov,
                            rd: fd,
                            rm,
                        };
                        self.vfp_if(Cc::Gt, mov(greater));
                        self.vfp_if(Cc::Mi, mov(less));
                        self.vfp_if(Cc::Vs, nan);
                    }
                }
            }
            MInst::FCmp {
                cond,
                double,
                rd,
                rn,
                rm,
            } => {
                let (rd, rn, rm) = (r.get(*rd)?, r.get(*rn)?, r.get(*rm)?);
                let d = *double;
                self.compare(self.fp(rn, d), self.fp(rm, d));
                let cc = fcc(*cond);
                self.b.inst(Asm::It {
                    cc,
                    then: vec![false],
                });
                self.b.cond_mov_imm(cc, rd, 1);
                self.b.cond_mov_imm(cc.invert(), rd, 0);
            }
            MInst::FSelect {
                double,
                rd,
                test,
                if_true,
                if_false,
            } => {
                let (cond, lhs, rhs) = self.test(r, test)?;
                let (rd, t, f) = (r.get(*rd)?, r.get(*if_true)?, r.get(*if_false)?);
                let d = *double || self.vfp_file == VfpFile::Double;
                let mov = |rd, rm| Vfp::Un {
                    op: VUnOp::Mov,
                    rd,
                    rm,
                };
                let (fd, ft, ff) = (self.fp(rd, d), self.fp(t, d), self.fp(f, d));
                let cc = cc_of(cond);
                if t == f {
                    self.any_move(rd, t)?;
                } else {
                    self.b.cmp(lhs, rhs);
                    if rd == t {
                        self.vfp_if(cc.invert(), mov(fd, ff));
                    } else if rd == f {
                        self.vfp_if(cc, mov(fd, ft));
                    } else {
                        self.b.inst(Asm::It {
                            cc,
                            then: vec![false],
                        });
                        for (cc, rm) in [(cc, ft), (cc.invert(), ff)] {
                            self.b.inst(Asm::Cond {
                                cc,
                                inst: Box::new(Asm::Vfp(mov(fd, rm))),
                            });
                        }
                    }
                }
            }
            MInst::FCvt { to_double, rd, rm } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                let (rd, rm) = if *to_double {
                    (dreg(rd), sreg(rm))
                } else {
                    (sreg(rd), dreg(rm))
                };
                self.vfp(Vfp::CvtF { rd, rm });
            }
            MInst::FToInt {
                signed,
                double,
                rd,
                rm,
                tmp,
            } => {
                let (rd, rm, tmp) = (r.get(*rd)?, r.get(*rm)?, r.get(*tmp)?);
                self.vfp(Vfp::CvtToInt {
                    signed: *signed,
                    rd: sreg(tmp),
                    rm: self.fp(rm, *double),
                });
                self.vfp(Vfp::MovCore {
                    to_core: true,
                    rt: rd,
                    sn: sreg(tmp),
                });
            }
            MInst::FFromInt {
                signed,
                double,
                rd,
                rm,
            } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                self.vfp(Vfp::MovCore {
                    to_core: false,
                    rt: rm,
                    sn: sreg(rd),
                });
                self.vfp(Vfp::CvtFromInt {
                    signed: *signed,
                    rd: self.fp(rd, *double),
                    rm: sreg(rd),
                });
            }
            MInst::FToCore { rd, rm, high } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                let sn = self.high_word(rm, *high);
                self.vfp(Vfp::MovCore {
                    to_core: true,
                    rt: rd,
                    sn,
                });
            }
            MInst::FFromCore { rd, rm } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                self.vfp(Vfp::MovCore {
                    to_core: false,
                    rt: rm,
                    sn: sreg(rd),
                });
            }
            MInst::FFromCore2 { rd, lo, hi } => {
                let (rd, lo, hi) = (r.get(*rd)?, r.get(*lo)?, r.get(*hi)?);
                self.vfp(Vfp::MovCore2 {
                    to_core: false,
                    rt: lo,
                    rt2: hi,
                    dm: dreg(rd),
                });
            }
            MInst::FHighHalf { rd, rm } => {
                let (rd, rm) = (r.get(*rd)?, r.get(*rm)?);
                let high = self.high_word(rm, true);
                self.vfp(Vfp::Un {
                    op: VUnOp::Mov,
                    rd: sreg(rd),
                    rm: high,
                });
            }
            MInst::FPack { rd, lo, hi } => {
                let (rd, lo, hi) = (r.get(*rd)?, r.get(*lo)?, r.get(*hi)?);
                let high = self.high_word(rd, true);
                self.vfp(Vfp::Un {
                    op: VUnOp::Mov,
                    rd: sreg(rd),
                    rm: sreg(lo),
                });
                self.vfp(Vfp::Un {
                    op: VUnOp::Mov,
                    rd: high,
                    rm: sreg(hi),
                });
            }
            _ => {
                return Err(CompileError::internal(format!(
                    "{inst:?} is no VFP instruction"
                )));
            }
        }
        Ok(())
    }
}

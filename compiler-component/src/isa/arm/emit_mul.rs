//! 64-bit pair arithmetic (add/sub with carry, widening multiplies, multiply-accumulate) and
//! the two-compare trap check of signed division.

use super::Builder;
use super::PSrc;
use super::cc_of;
use super::one_cmp;
use crate::error::{CompileError, Result};
use crate::ir::Cond;
use crate::isa::arm::asm::{Asm, DataOp, NarrowOp};
use crate::isa::arm::layout::BranchKind;
use crate::isa::arm::regs::{IP, is_low};
use crate::regalloc::PReg;

impl Builder<'_> {
    /// lo:hi = a +/- b; `lo` is written before the high words are read.
    pub(super) fn pair_arith(
        &mut self,
        sub: bool,
        [lo, hi]: [PReg; 2],
        a: [PReg; 2],
        b: [PReg; 2],
    ) {
        if is_low(lo) && is_low(a[0]) && is_low(b[0]) {
            self.inst(Asm::AddSubReg3 {
                sub,
                rd: lo,
                rn: a[0],
                rm: b[0],
            });
        } else {
            let op = if sub { DataOp::Sub } else { DataOp::Add };
            self.data_reg(op, true, lo, a[0], b[0]);
        }
        let (narrow, wide) = if sub {
            (NarrowOp::Sbc, DataOp::Sbc)
        } else {
            (NarrowOp::Adc, DataOp::Adc)
        };
        if !self.narrow_or(narrow, !sub, hi, a[1], b[1]) {
            self.data_reg(wide, false, hi, a[1], b[1]);
        }
    }

    /// smull/umull (`acc`: smlal/umlal).
    pub(super) fn mul_long(
        &mut self,
        signed: bool,
        acc: bool,
        [lo, hi]: [PReg; 2],
        rn: PReg,
        rm: PReg,
    ) {
        self.inst(Asm::MulLong {
            signed,
            acc,
            lo,
            hi,
            rn,
            rm,
        });
    }

    /// lo:hi = acc + a * b. One smlal when the allocator put lo:hi in acc's registers (its
    /// hint); otherwise copies first, or the product then an add. `lo != hi`; any of them may
    /// share a register with a use whose value dies here.
    pub(super) fn mul_acc(&mut self, signed: bool, d: [PReg; 2], acc: [PReg; 2], a: PReg, b: PReg) {
        let [lo, hi] = d;
        let [al, ah] = acc;
        let in_d = |r: PReg| r == lo || r == hi;
        if d == acc {
            self.mul_long(signed, true, d, a, b);
        } else if lo == al && !in_d(a) && !in_d(b) {
            self.mov(hi, ah);
            self.mul_long(signed, true, d, a, b);
        } else if hi == ah && !in_d(a) && !in_d(b) {
            self.mov(lo, al);
            self.mul_long(signed, true, d, a, b);
        } else if !in_d(al) && !in_d(ah) {
            self.mul_long(signed, false, d, a, b);
            self.pair_arith(false, d, d, acc);
        } else if lo == ah && hi == al {
            // Crossed: swap through ip; a multiplicand in one of them moves along.
            self.mov(IP, lo);
            self.mov(lo, hi);
            self.mov(hi, IP);
            let moved = |r: PReg| match r {
                r if r == lo => hi,
                r if r == hi => lo,
                r => r,
            };
            self.mul_long(signed, true, d, moved(a), moved(b));
        } else {
            // One accumulator register is overwritten by the product: keep its word in ip.
            let kept = if in_d(al) { al } else { ah };
            self.mov(IP, kept);
            let saved = |r: PReg| if r == kept { IP } else { r };
            self.mul_long(signed, false, d, a, b);
            self.pair_arith(false, d, d, [saved(al), saved(ah)]);
        }
    }

    /// Branch to `target` when `a cond rhs` and `b cond rhs2`: `cmp; it cond; cmp<cond>;
    /// b<cond>` (if the first fails, its flags fail `cond` too). Immediates must be ones one
    /// `cmp` encodes (`lower::cmp_imm_ok`), as lowering makes them.
    pub(super) fn both_branch(
        &mut self,
        cond: Cond,
        tests: [(PReg, PSrc); 2],
        target: usize,
    ) -> Result<()> {
        let cc = cc_of(cond);
        let [first, second] = tests.map(|(rn, rhs)| one_cmp(rn, rhs));
        let (Some(first), Some(second)) = (first, second) else {
            return Err(CompileError::internal(
                "a fused trap check's immediate needs a register",
            ));
        };
        self.inst(first);
        self.inst(Asm::It { cc, then: vec![] });
        self.inst(Asm::Cond {
            cc,
            inst: Box::new(second),
        });
        self.branch(BranchKind::Cond(cc), target);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame_tests::{asms, builder};
    use super::*;

    /// Runs the few instructions `mul_acc` emits on a register file.
    fn run(code: &[Asm], regs: &mut [u32; 16]) {
        let mut carry = false;
        for asm in code {
            match *asm {
                Asm::MovReg { rd, rm } => regs[rd.0 as usize] = regs[rm.0 as usize],
                Asm::MulLong {
                    signed,
                    acc,
                    lo,
                    hi,
                    rn,
                    rm,
                } => {
                    let (x, y) = (regs[rn.0 as usize], regs[rm.0 as usize]);
                    let p = if signed {
                        (x as i32 as i64 * y as i32 as i64) as u64
                    } else {
                        x as u64 * y as u64
                    };
                    let old = (regs[hi.0 as usize] as u64) << 32 | regs[lo.0 as usize] as u64;
                    let v = if acc { p.wrapping_add(old) } else { p };
                    regs[lo.0 as usize] = v as u32;
                    regs[hi.0 as usize] = (v >> 32) as u32;
                }
                Asm::AddSubReg3 {
                    sub: false,
                    rd,
                    rn,
                    rm,
                }
                | Asm::DataReg {
                    op: DataOp::Add,
                    s: true,
                    rd,
                    rn,
                    rm,
                } => {
                    let (v, c) = regs[rn.0 as usize].overflowing_add(regs[rm.0 as usize]);
                    regs[rd.0 as usize] = v;
                    carry = c;
                }
                Asm::DataReg {
                    op: DataOp::Adc,
                    rd,
                    rn,
                    rm,
                    ..
                } => {
                    let v = regs[rn.0 as usize]
                        .wrapping_add(regs[rm.0 as usize])
                        .wrapping_add(carry as u32);
                    regs[rd.0 as usize] = v;
                }
                Asm::Narrow {
                    op: NarrowOp::Adc,
                    rdn,
                    rm,
                } => {
                    let v = regs[rdn.0 as usize]
                        .wrapping_add(regs[rm.0 as usize])
                        .wrapping_add(carry as u32);
                    regs[rdn.0 as usize] = v;
                }
                ref other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Every placement the allocator may choose (results in any two registers, inputs sharing
    /// registers only when they are the same value): the right sum, other registers intact.
    #[test]
    fn multiply_accumulate_is_right_for_every_register_placement() {
        let sig = crate::ir::Signature {
            params: vec![],
            results: vec![],
        };
        let module = crate::isa::arm::tests::module(sig, vec![]);
        let pool = [0u8, 1, 2, 3, 8].map(PReg);
        let init: [u32; 16] = std::array::from_fn(|i| {
            [
                0x8000_0000u32,
                0xffff_ffff,
                0x7fff_fffe,
                0x1234_5679,
                0,
                0,
                0,
                0,
                0xfedc_ba98,
            ][i.min(8)]
            .wrapping_add(i as u32 * 0x1111)
        });
        for signed in [true, false] {
            for al in pool {
                for ah in pool {
                    for a in pool {
                        for b in pool {
                            for lo in pool {
                                for hi in pool.into_iter().filter(|h| *h != lo) {
                                    let mut bld = builder(&module);
                                    bld.mul_acc(signed, [lo, hi], [al, ah], a, b);
                                    let mut regs = init;
                                    run(&asms(&bld), &mut regs);
                                    let v = |r: PReg| init[r.0 as usize];
                                    let p = if signed {
                                        (v(a) as i32 as i64 * v(b) as i32 as i64) as u64
                                    } else {
                                        v(a) as u64 * v(b) as u64
                                    };
                                    let want = p.wrapping_add((v(ah) as u64) << 32 | v(al) as u64);
                                    let got = (regs[hi.0 as usize] as u64) << 32
                                        | regs[lo.0 as usize] as u64;
                                    let case = (signed, lo, hi, al, ah, a, b);
                                    assert_eq!(got, want, "{case:?}");
                                    for r in 0..12 {
                                        if r != lo.0 as usize && r != hi.0 as usize {
                                            assert_eq!(regs[r], init[r], "r{r} {case:?}");
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

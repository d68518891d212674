//! Slot-value forwarding: a reload from a slot whose contents a register provably still holds
//! becomes a register move, or disappears when the destination already holds them.
//!
//! The facts are physical ("slot s and register r hold the same bits"), created by stores,
//! reloads and moves and destroyed by any write to the register or slot, so they need no
//! knowledge of vregs. They flow through each block and into a successor whose only
//! predecessor it is and comes before it in layout (extended basic blocks).

use super::liveness::NUM_PREGS;
use super::{Edit, EditKind, Location, MachFunction, OperandKind, PReg, PRegSet, ProgPoint};

#[derive(Clone)]
struct Facts {
    /// Per slot, the registers holding the same bits.
    equal: Vec<PRegSet>,
    /// Per register, slots whose set may contain it (a superset; stale entries are harmless).
    slots_with: Vec<Vec<u32>>,
}

impl Facts {
    fn new(num_slots: u32) -> Facts {
        Facts {
            equal: vec![PRegSet::EMPTY; num_slots as usize],
            slots_with: vec![Vec::new(); NUM_PREGS],
        }
    }

    fn equal_regs(&self, slot: u32) -> PRegSet {
        self.equal
            .get(slot as usize)
            .copied()
            .unwrap_or(PRegSet::EMPTY)
    }

    /// Register `r` is overwritten with something unknown.
    fn write_reg(&mut self, r: PReg) {
        let Some(list) = self.slots_with.get_mut(usize::from(r.0)) else {
            return;
        };
        for s in std::mem::take(list) {
            if let Some(set) = self.equal.get_mut(s as usize) {
                *set = set.without(r);
            }
        }
    }

    fn add(&mut self, slot: u32, r: PReg) {
        if let Some(set) = self.equal.get_mut(slot as usize) {
            *set = set.with(r);
            if let Some(list) = self.slots_with.get_mut(usize::from(r.0)) {
                list.push(slot);
            }
        }
    }

    fn set_slot(&mut self, slot: u32, regs: PRegSet) {
        if let Some(set) = self.equal.get_mut(slot as usize) {
            *set = PRegSet::EMPTY;
        }
        for r in regs.iter() {
            self.add(slot, r);
        }
    }

    /// Applies an edit (already rewritten) to the facts.
    fn apply(&mut self, edit: &Edit) {
        match (edit.from, edit.to) {
            (Location::Remat(_), Location::Reg(to)) => self.write_reg(to),
            (Location::Remat(_), Location::Stack(to)) => self.set_slot(to.0, PRegSet::EMPTY),
            (_, Location::Remat(_)) => {}
            (Location::Reg(from), Location::Stack(to)) => {
                self.set_slot(to.0, PRegSet::EMPTY.with(from))
            }
            (Location::Stack(from), Location::Stack(to)) => {
                let regs = self.equal_regs(from.0);
                self.set_slot(to.0, regs);
            }
            (Location::Stack(from), Location::Reg(to)) => {
                self.write_reg(to);
                self.add(from.0, to);
            }
            (Location::Reg(from), Location::Reg(to)) => {
                if from == to {
                    return;
                }
                let slots: Vec<u32> = self
                    .slots_with
                    .get(usize::from(from.0))
                    .cloned()
                    .unwrap_or_default();
                self.write_reg(to);
                for s in slots {
                    if self.equal_regs(s).contains(from) {
                        self.add(s, to);
                    }
                }
            }
        }
    }
}

/// Rewrites reloads the facts make redundant. `regs` are the operand registers of the
/// allocation (to see what instructions overwrite).
pub(crate) fn forward(
    func: &dyn MachFunction,
    regs: &[Vec<PReg>],
    edits: Vec<(ProgPoint, Edit)>,
    num_slots: u32,
) -> Vec<(ProgPoint, Edit)> {
    let num_blocks = func.num_blocks();
    let mut exit_facts: Vec<Option<Facts>> = vec![None; num_blocks];
    let mut out = Vec::with_capacity(edits.len());
    let mut pending = edits.into_iter().peekable();
    for b in 0..num_blocks {
        let mut facts = match func.block_preds(b) {
            [p] if *p < b => exit_facts
                .get(*p)
                .and_then(Option::clone)
                .unwrap_or_else(|| Facts::new(num_slots)),
            _ => Facts::new(num_slots),
        };
        for inst in func.block_insts(b) {
            for after in [false, true] {
                let point = ProgPoint {
                    inst: inst as u32,
                    after,
                };
                if after {
                    // The instruction itself: clobbers and defs overwrite registers.
                    let mut written = func.clobbers(inst);
                    if let Some(inst_regs) = regs.get(inst) {
                        for (op, &r) in func.operands(inst).iter().zip(inst_regs) {
                            if op.kind != OperandKind::Use {
                                written = written.with(r);
                            }
                        }
                    }
                    for r in written.iter() {
                        facts.write_reg(r);
                    }
                }
                while let Some((_, edit)) = pending.next_if(|(p, _)| *p == point) {
                    let edit = match (edit.from, edit.to) {
                        (Location::Stack(slot), Location::Reg(to)) => {
                            let holders = facts.equal_regs(slot.0);
                            if holders.contains(to) {
                                continue;
                            }
                            match holders.first() {
                                Some(from) => Edit {
                                    from: Location::Reg(from),
                                    to: edit.to,
                                    kind: EditKind::Move,
                                },
                                None => edit,
                            }
                        }
                        _ => edit,
                    };
                    facts.apply(&edit);
                    out.push((point, edit));
                }
            }
        }
        // Keep the exit facts only for a later block that has this one as its only predecessor.
        if func
            .block_succs(b)
            .iter()
            .any(|&s| s > b && func.block_preds(s).len() == 1)
        {
            exit_facts[b] = Some(facts);
        }
    }
    // Edits at points outside every block cannot exist (the checker rejects them); keep any
    // left so nothing is silently lost.
    out.extend(pending);
    out
}

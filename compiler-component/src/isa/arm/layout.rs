//! Final layout: branch relaxation (short forms grow until their targets are in range, to a
//! fixed point), jump tables with trampolines, encoding, relocations and listing lines.

use super::asm::{Asm, Cc, Target};
use super::encode::{encode, size};
use super::regs::PC;
use crate::error::{CompileError, Result};
use crate::ir::{Symbol, TrapCode};
use crate::isa::{LineKind, ListingLine, Reloc};
use crate::regalloc::PReg;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub wasm: Option<u32>,
    pub kind: LineKind,
    /// The allocation step (`regalloc::explain`) these bytes belong to.
    pub step: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchKind {
    Always,
    Cond(Cc),
    /// cbz/cbnz on a low register, growing into cmp + conditional branch.
    Zero {
        nonzero: bool,
        rn: PReg,
    },
}

#[derive(Clone, Debug)]
pub enum Item {
    Inst {
        asm: Asm,
        meta: Meta,
        reloc: Option<(u32, Symbol)>,
    },
    Label(usize),
    /// A branch whose encoding grows (`state`) until the target is in range.
    Branch {
        kind: BranchKind,
        target: usize,
        state: u8,
        meta: Meta,
    },
    /// tbb/tbh with its table; entries out of range (or backwards) go through trampolines
    /// placed right after the table.
    Table {
        rm: PReg,
        targets: Vec<usize>,
        half: bool,
        trampoline: Vec<bool>,
        meta: Meta,
    },
}

fn label_name(label: usize, num_blocks: usize, traps: &BTreeMap<TrapCode, usize>) -> String {
    if label < num_blocks {
        format!(".Lb{label}")
    } else {
        let code = traps
            .iter()
            .find(|(_, l)| **l == label)
            .map(|(c, _)| c.code())
            .unwrap_or(0);
        format!(".Ltrap{code}")
    }
}

const BRANCH_STATES: [&[u32]; 3] = [&[2, 4], &[2, 4, 6], &[2, 4, 6, 8]];

fn branch_sizes(kind: BranchKind) -> &'static [u32] {
    match kind {
        BranchKind::Always => BRANCH_STATES[0],
        BranchKind::Cond(_) => BRANCH_STATES[1],
        BranchKind::Zero { .. } => BRANCH_STATES[2],
    }
}

fn table_size(targets: usize, half: bool, trampoline: &[bool]) -> u32 {
    let entries = if half {
        2 * targets as u32
    } else {
        (targets as u32).div_ceil(2) * 2
    };
    4 + entries + 4 * trampoline.iter().filter(|t| **t).count() as u32
}

fn item_size(item: &Item) -> u32 {
    match item {
        Item::Inst { asm, .. } => size(asm),
        Item::Label(_) => 0,
        Item::Branch { kind, state, .. } => branch_sizes(*kind)
            .get(*state as usize)
            .copied()
            .unwrap_or(8),
        Item::Table {
            targets,
            half,
            trampoline,
            ..
        } => table_size(targets.len(), *half, trampoline),
    }
}

/// The branch instructions for a given state, with offsets computed from the branch address.
fn branch_insts(kind: BranchKind, state: u8, addr: u32, dest: u32, label: &str) -> Vec<Asm> {
    let t = |from: u32| Target {
        offset: dest as i32 - (from as i32 + 4),
        label: Some(label.to_string()),
    };
    let skip = |from: u32, over: u32| Target {
        offset: over as i32 - (from as i32 + 4),
        label: Some(format!("#{}", over as i32 - (from as i32 + 4))),
    };
    match (kind, state) {
        (BranchKind::Always, 0) => vec![Asm::B16 { target: t(addr) }],
        (BranchKind::Always, _) => vec![Asm::B32 { target: t(addr) }],
        (BranchKind::Cond(cc), 0) => vec![Asm::Bcc16 {
            cc,
            target: t(addr),
        }],
        (BranchKind::Cond(cc), 1) => vec![Asm::Bcc32 {
            cc,
            target: t(addr),
        }],
        (BranchKind::Cond(cc), _) => vec![
            Asm::Bcc16 {
                cc: cc.invert(),
                target: skip(addr, addr + 6),
            },
            Asm::B32 {
                target: t(addr + 2),
            },
        ],
        (BranchKind::Zero { nonzero, rn }, 0) => vec![Asm::Cbz {
            nonzero,
            rn,
            target: t(addr),
        }],
        (BranchKind::Zero { nonzero, rn }, s) => {
            let cc = if nonzero { Cc::Ne } else { Cc::Eq };
            let mut v = vec![Asm::CmpImm8 { rn, imm: 0 }];
            v.extend(branch_insts(
                BranchKind::Cond(cc),
                s - 1,
                addr + 2,
                dest,
                label,
            ));
            v
        }
    }
}

fn branch_fits(kind: BranchKind, state: u8, addr: u32, dest: u32) -> bool {
    let off = |from: u32| dest as i64 - (from as i64 + 4);
    let within = |o: i64, lo: i64, hi: i64| (lo..=hi).contains(&o);
    const B32: (i64, i64) = (-(1 << 24), (1 << 24) - 2);
    match (kind, state) {
        (BranchKind::Always, 0) => within(off(addr), -2048, 2046),
        (BranchKind::Always, _) => within(off(addr), B32.0, B32.1),
        (BranchKind::Cond(_), 0) => within(off(addr), -256, 254),
        (BranchKind::Cond(_), 1) => within(off(addr), -(1 << 20), (1 << 20) - 2),
        (BranchKind::Cond(_), _) => within(off(addr + 2), B32.0, B32.1),
        (BranchKind::Zero { .. }, 0) => within(off(addr), 0, 126),
        (BranchKind::Zero { .. }, s) => {
            branch_fits(BranchKind::Cond(Cc::Eq), s - 1, addr + 2, dest)
        }
    }
}

/// Addresses of each item and of each label.
fn layout(items: &[Item], num_labels: usize) -> (Vec<u32>, Vec<u32>) {
    let mut addrs = Vec::with_capacity(items.len());
    let mut labels = vec![0u32; num_labels];
    let mut pc = 0u32;
    for item in items {
        addrs.push(pc);
        if let Item::Label(l) = item
            && let Some(slot) = labels.get_mut(*l)
        {
            *slot = pc;
        }
        pc += item_size(item);
    }
    (addrs, labels)
}

/// Jump threading: a branch to a label whose code is just `b M` goes to M directly (for
/// example a loop's back-edge block without moves). The `b M` itself stays.
pub fn thread_jumps(items: &mut [Item], num_labels: usize) {
    let mut forward: Vec<Option<usize>> = vec![None; num_labels];
    let mut pending: Vec<usize> = Vec::new();
    for item in items.iter() {
        match item {
            Item::Label(l) => pending.push(*l),
            Item::Branch {
                kind: BranchKind::Always,
                target,
                ..
            } => {
                for l in pending.drain(..) {
                    if let Some(slot) = forward.get_mut(l) {
                        *slot = Some(*target);
                    }
                }
            }
            _ => pending.clear(),
        }
    }
    // Follow chains, at most `num_labels` steps (a cycle of empty jumps stays as it is).
    let resolve = |mut l: usize| {
        for _ in 0..num_labels {
            match forward.get(l).copied().flatten() {
                Some(next) if next != l => l = next,
                _ => break,
            }
        }
        l
    };
    for item in items.iter_mut() {
        match item {
            Item::Branch { target, .. } => *target = resolve(*target),
            Item::Table { targets, .. } => {
                for t in targets.iter_mut() {
                    *t = resolve(*t);
                }
            }
            _ => {}
        }
    }
}

/// Can execution fall through past this item?
fn falls_through(item: &Item) -> bool {
    match item {
        Item::Branch {
            kind: BranchKind::Always,
            ..
        }
        | Item::Table { .. } => false,
        Item::Inst { asm, .. } => match asm {
            Asm::BxLr | Asm::Udf { .. } => false,
            Asm::Pop16 { regs } | Asm::Pop32 { regs } => !regs.contains(PC),
            _ => true,
        },
        _ => true,
    }
}

/// After threading, drop unconditional branches nothing can reach any more: their labels are
/// unreferenced and the code before them does not fall through.
pub fn drop_dead_jumps(items: Vec<Item>) -> Vec<Item> {
    let mut referenced = std::collections::BTreeSet::new();
    for item in &items {
        match item {
            Item::Branch { target, .. } => {
                referenced.insert(*target);
            }
            Item::Table { targets, .. } => referenced.extend(targets.iter().copied()),
            _ => {}
        }
    }
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    // Whether the code emitted so far can reach the current point.
    let mut reachable = true;
    for item in items {
        match &item {
            Item::Label(l) => reachable |= referenced.contains(l),
            Item::Branch {
                kind: BranchKind::Always,
                ..
            } if !reachable => continue,
            _ => {}
        }
        if !matches!(item, Item::Label(_)) {
            reachable = reachable && falls_through(&item);
        }
        out.push(item);
    }
    out
}

/// Grow branches and tables until every target is in range (sizes only grow: terminates).
pub fn relax(items: &mut [Item], num_labels: usize) -> Result<()> {
    loop {
        let (addrs, labels) = layout(items, num_labels);
        let mut changed = false;
        for (item, addr) in items.iter_mut().zip(&addrs) {
            match item {
                Item::Branch {
                    kind,
                    target,
                    state,
                    ..
                } => {
                    let dest = labels.get(*target).copied().unwrap_or(0);
                    while !branch_fits(*kind, *state, *addr, dest) {
                        if *state as usize + 1 >= branch_sizes(*kind).len() {
                            return Err(CompileError::limit("function too large for branches"));
                        }
                        *state += 1;
                        changed = true;
                    }
                }
                Item::Table {
                    targets,
                    half,
                    trampoline,
                    ..
                } => {
                    let table = addr + 4;
                    let entries_end = table + table_size(targets.len(), *half, &[]) - 4;
                    let mut next_tramp = entries_end;
                    for (k, t) in targets.iter().enumerate() {
                        let dest = if trampoline[k] {
                            let d = next_tramp;
                            next_tramp += 4;
                            d
                        } else {
                            labels.get(*t).copied().unwrap_or(0)
                        };
                        let max = if *half { 0xffff } else { 0xff };
                        if dest < table {
                            if trampoline[k] {
                                return Err(CompileError::internal("trampoline before its table"));
                            }
                            trampoline[k] = true;
                            changed = true;
                        } else if (dest - table) / 2 > max {
                            if !*half {
                                *half = true;
                            } else if !trampoline[k] {
                                trampoline[k] = true;
                            } else {
                                return Err(CompileError::limit("switch table too large"));
                            }
                            changed = true;
                        }
                    }
                }
                _ => {}
            }
        }
        if !changed {
            return Ok(());
        }
    }
}

pub struct Output {
    pub code: Vec<u8>,
    pub relocs: Vec<Reloc>,
    pub listing: Vec<ListingLine>,
}

impl Output {
    fn put(&mut self, asm: &Asm, meta: Meta) -> Result<()> {
        let bytes = encode(asm)?;
        let offset = self.code.len() as u32;
        // The code gets a copy; the listing line keeps the encoding itself.
        self.code.extend_from_slice(&bytes);
        self.listing.push(ListingLine {
            offset,
            bytes,
            text: asm.print(),
            wasm_offset: meta.wasm,
            kind: meta.kind,
            step: meta.step,
        });
        Ok(())
    }
    fn data(&mut self, bytes: Vec<u8>, text: String, meta: Meta) {
        let offset = self.code.len() as u32;
        self.code.extend_from_slice(&bytes);
        self.listing.push(ListingLine {
            offset,
            bytes,
            text,
            wasm_offset: meta.wasm,
            kind: LineKind::Data,
            step: meta.step,
        });
    }
}

pub fn finish(
    items: &[Item],
    num_blocks: usize,
    traps: &BTreeMap<TrapCode, usize>,
) -> Result<Output> {
    let num_labels = num_blocks + traps.len();
    let (addrs, labels) = layout(items, num_labels);
    let mut out = Output {
        code: Vec::new(),
        relocs: Vec::new(),
        listing: Vec::new(),
    };
    let name = |l: usize| label_name(l, num_blocks, traps);
    for (item, addr) in items.iter().zip(&addrs) {
        if out.code.len() as u32 != *addr {
            return Err(CompileError::internal("layout and encoding disagree"));
        }
        match item {
            Item::Inst { asm, meta, reloc } => {
                if let Some((r_type, symbol)) = reloc {
                    out.relocs.push(Reloc {
                        offset: *addr,
                        r_type: *r_type,
                        symbol: *symbol,
                        addend: 0,
                    });
                }
                out.put(asm, *meta)?;
            }
            Item::Label(_) => {}
            Item::Branch {
                kind,
                target,
                state,
                meta,
            } => {
                let dest = labels.get(*target).copied().unwrap_or(0);
                for asm in branch_insts(*kind, *state, *addr, dest, &name(*target)) {
                    out.put(&asm, *meta)?;
                }
            }
            Item::Table {
                rm,
                targets,
                half,
                trampoline,
                meta,
            } => {
                out.put(
                    &Asm::TableBranch {
                        half: *half,
                        rm: *rm,
                    },
                    *meta,
                )?;
                let table = addr + 4;
                let mut tramp_addr = table + table_size(targets.len(), *half, &[]) - 4;
                let mut tramps = Vec::new();
                for (k, t) in targets.iter().enumerate() {
                    let dest = if trampoline[k] {
                        tramps.push((tramp_addr, *t));
                        tramp_addr += 4;
                        tramp_addr - 4
                    } else {
                        labels.get(*t).copied().unwrap_or(0)
                    };
                    let v = dest.checked_sub(table).ok_or_else(|| {
                        CompileError::internal("jump table entry points backwards")
                    })? / 2;
                    if *half {
                        out.data(
                            (v as u16).to_le_bytes().to_vec(),
                            format!(".short {v}"),
                            *meta,
                        );
                    } else {
                        out.data(vec![v as u8], format!(".byte {v}"), *meta);
                    }
                }
                if !*half && targets.len() % 2 == 1 {
                    out.data(vec![0], ".byte 0".to_string(), *meta);
                }
                for (at, t) in tramps {
                    let asm = Asm::B32 {
                        target: Target {
                            offset: labels.get(t).copied().unwrap_or(0) as i32 - (at as i32 + 4),
                            label: Some(name(t)),
                        },
                    };
                    out.put(&asm, *meta)?;
                }
            }
        }
    }
    Ok(out)
}

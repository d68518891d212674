//! The register allocation account of one function in listing terms: which values are live at
//! each listing line and where each one is, the pressure per line and per block, the stack-slot
//! map, and for every allocator edit the value it concerns and why (from
//! `regalloc::explain`, whose steps the listing lines carry).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::isa::ListingLine;
use crate::regalloc::explain::{Distance, EvictionCause, Explanation, Origin, Reason, StepKind};
use crate::regalloc::{Location, PReg, RegEnv, VReg};

/// How an ISA spells registers, stack slots and blocks in its listings.
pub trait Spelling {
    fn register(&self, r: PReg) -> String;
    /// Slot `n` as the listing addresses it, e.g. `[sp, #8]` or `8(sp)`.
    fn slot(&self, n: u32) -> String;
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocationReport {
    /// Allocatable registers per register class (`core`, `float`).
    pub classes: Vec<ClassReport>,
    /// Every value that is live somewhere or that an edit concerns; indices below refer here.
    pub values: Vec<ValueReport>,
    /// Where each value is, over runs of listing lines (sorted by first line).
    pub ranges: Vec<RangeReport>,
    /// Values live at each listing line (before it executes); 0 for the prologue, data and
    /// trap stubs.
    pub pressure: Vec<u32>,
    /// The machine blocks in listing order.
    pub blocks: Vec<BlockReport>,
    /// One per allocator edit, in listing order.
    pub notes: Vec<NoteReport>,
    /// The stack slots and the values that share each.
    pub slots: Vec<SlotReport>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassReport {
    pub name: String,
    pub registers: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueReport {
    /// `v12`: the allocator's name for it.
    pub name: String,
    /// Where it comes from: `parameter 0`, `parameter of .Lb3`, `result of adds r0, r1, r2`.
    pub origin: String,
    /// Register class name.
    pub class: String,
    /// Wasm offset of the operator that defines it, when one does.
    pub wasm_offset: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeReport {
    /// Index into `values`.
    pub value: u32,
    /// Register or stack slot, as the listing spells it.
    pub location: String,
    /// Listing lines `first_line..end_line`.
    pub first_line: u32,
    pub end_line: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockReport {
    /// `.Lb3`, as the listing's branches name it.
    pub label: String,
    pub first_line: u32,
    pub end_line: u32,
    pub max_pressure: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteReport {
    /// The edit's first listing line.
    pub line: u32,
    /// Index into `values`.
    pub value: Option<u32>,
    /// Why the edit is there, in a sentence.
    pub reason: String,
    /// The line the reason points at (the eviction, the read served, the constrained
    /// instruction), when there is one.
    pub related_line: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotReport {
    pub location: String,
    /// Indices into `values`: every value the slot holds at some point.
    pub values: Vec<u32>,
}

const CLASS_NAMES: [&str; 2] = ["core", "float"];

fn class_name(class: usize) -> String {
    CLASS_NAMES.get(class).unwrap_or(&"other").to_string()
}

/// The account of `ex` over `listing` (whose lines carry `ex`'s steps).
pub fn build(
    ex: &Explanation,
    env: &RegEnv,
    listing: &[ListingLine],
    spelling: &dyn Spelling,
) -> AllocationReport {
    let num_steps = ex.steps.len();
    // First listing line of each step at or after it (a step may emit no line).
    let mut line_at = vec![0u32; num_steps + 1];
    let mut next = 0usize;
    let mut after_last = 0u32;
    for (k, line) in listing.iter().enumerate() {
        if let Some(s) = line.step {
            let s = (s as usize).min(num_steps);
            while next <= s {
                line_at[next] = k as u32;
                next += 1;
            }
            after_last = k as u32 + 1;
        }
    }
    while next <= num_steps {
        line_at[next] = after_last;
        next += 1;
    }
    let line_of = |step: u32| line_at.get(step as usize).copied().unwrap_or(after_last);
    let code_offset = |step: u32| {
        listing
            .get(line_of(step) as usize)
            .map_or(String::from("the end"), |l| format!("+{:#x}", l.offset))
    };
    let mut inst_step: BTreeMap<usize, u32> = BTreeMap::new();
    for (s, kind) in ex.steps.iter().enumerate() {
        if let StepKind::Inst(i) = kind {
            inst_step.insert(*i, s as u32);
        }
    }

    // Values: those live somewhere or named by a note, numbered in vreg order.
    let mut wanted: Vec<VReg> = ex.ranges.iter().map(|r| r.vreg).collect();
    wanted.extend(ex.notes.iter().filter_map(|n| n.vreg));
    wanted.sort();
    wanted.dedup();
    let index: BTreeMap<VReg, u32> = wanted
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect();
    let values = wanted
        .iter()
        .map(|v| {
            let (origin, class) = ex
                .values
                .get(v.0 as usize)
                .copied()
                .unwrap_or((Origin::None, 0));
            let (origin, wasm_offset) = match origin {
                Origin::Param(n) => (format!("parameter {n}"), None),
                Origin::BlockParam(b) => (format!("parameter of .Lb{b}"), None),
                Origin::Inst(i) => {
                    let line = inst_step
                        .get(&i)
                        .and_then(|s| listing.get(line_of(*s) as usize));
                    match line {
                        Some(l) => (format!("result of `{}`", l.text), l.wasm_offset),
                        None => ("result of an instruction without code".to_string(), None),
                    }
                }
                Origin::None => ("never written".to_string(), None),
            };
            ValueReport {
                name: format!("v{}", v.0),
                origin,
                class: class_name(class),
                wasm_offset,
            }
        })
        .collect();

    let location = |loc: Location| match loc {
        Location::Reg(r) => spelling.register(r),
        Location::Stack(s) => spelling.slot(s.0),
        Location::Remat(v) => format!("constant v{}", v.0),
    };
    let ranges = ex
        .ranges
        .iter()
        .filter_map(|r| {
            let (first_line, end_line) = (line_of(r.start), line_of(r.end));
            (first_line < end_line).then(|| RangeReport {
                value: index.get(&r.vreg).copied().unwrap_or(0),
                location: location(r.location),
                first_line,
                end_line,
            })
        })
        .collect();

    let pressure = listing
        .iter()
        .map(|l| {
            l.step
                .and_then(|s| ex.pressure.get(s as usize))
                .copied()
                .unwrap_or(0)
        })
        .collect();

    let blocks = ex
        .block_starts
        .iter()
        .enumerate()
        .map(|(b, &start)| {
            let end = ex
                .block_starts
                .get(b + 1)
                .copied()
                .unwrap_or(num_steps as u32);
            let max_pressure = ex
                .pressure
                .get(start as usize..end as usize)
                .and_then(|p| p.iter().max())
                .copied()
                .unwrap_or(0);
            BlockReport {
                label: format!(".Lb{b}"),
                first_line: line_of(start),
                end_line: line_of(end),
                max_pressure,
            }
        })
        .collect();

    let name = |v: VReg| format!("v{}", v.0);
    let notes = ex
        .notes
        .iter()
        .map(|note| {
            let subject = note.vreg.map_or("the value".to_string(), name);
            let (reason, related) =
                describe(&note.reason, &subject, &name, &location, &code_offset);
            NoteReport {
                line: line_of(note.step),
                value: note.vreg.and_then(|v| index.get(&v).copied()),
                reason,
                related_line: related.map(line_of),
            }
        })
        .collect();

    let slots = ex
        .slots
        .iter()
        .enumerate()
        .map(|(n, vregs)| SlotReport {
            location: spelling.slot(n as u32),
            values: vregs.iter().filter_map(|v| index.get(v).copied()).collect(),
        })
        .collect();

    let classes = (0..env.classes.len().max(1))
        .map(|c| ClassReport {
            name: class_name(c),
            registers: env.class_size(c) as u32,
        })
        .collect();

    AllocationReport {
        classes,
        values,
        ranges,
        pressure,
        blocks,
        notes,
        slots,
    }
}

fn distance_text(d: Distance) -> String {
    match d {
        Distance::Instructions(1) => "1 instruction away".to_string(),
        Distance::Instructions(n) => format!("{n} instructions away"),
        Distance::AfterLoop => "only after the loop".to_string(),
        Distance::Never => "never (no later read)".to_string(),
    }
}

/// A reason in a sentence, and the step it points at.
fn describe(
    reason: &Reason,
    subject: &str,
    name: &dyn Fn(VReg) -> String,
    location: &dyn Fn(Location) -> String,
    at: &dyn Fn(u32) -> String,
) -> (String, Option<u32>) {
    match reason {
        Reason::Evicted {
            at: step,
            register,
            cause,
            distance,
            competitors,
            registers,
        } => {
            let left =
                register.map_or(String::from("its register"), |r| location(Location::Reg(r)));
            let next = distance_text(*distance);
            let others: Vec<String> = competitors
                .iter()
                .map(|(v, d)| {
                    let d = match d {
                        Distance::Instructions(n) => n.to_string(),
                        Distance::AfterLoop => "after loop".to_string(),
                        Distance::Never => "never".to_string(),
                    };
                    format!("{} {d}", name(*v))
                })
                .collect();
            let others = if others.is_empty() {
                String::new()
            } else {
                format!(" (others in registers, next use: {})", others.join(", "))
            };
            let text = match cause {
                EvictionCause::Furthest => format!(
                    "stored once after its definition: {subject} leaves {left} at {} because \
                     its next use is {next}, the furthest of the values holding the {registers} \
                     registers{others}",
                    at(*step)
                ),
                EvictionCause::NotFurthest => format!(
                    "stored once after its definition: {subject} leaves {left} at {}; its next \
                     use is {next}, not the furthest{others}: the allocator also keeps values a \
                     call, a constraint or the loop needs",
                    at(*step)
                ),
                EvictionCause::Clobbered => format!(
                    "stored once after its definition: the call at {} overwrites {left} while \
                     {subject} stays live (next use {next})",
                    at(*step)
                ),
                EvictionCause::FixedOperand => format!(
                    "stored once after its definition: the instruction at {} needs {left} for \
                     an operand while {subject} stays live (next use {next})",
                    at(*step)
                ),
                EvictionCause::BlockStart(b) => format!(
                    "stored once after its definition: block .Lb{b} (at {}) starts with \
                     {subject} in no register (not all paths into it keep it in the same one); \
                     next use {next}",
                    at(*step)
                ),
            };
            (text, Some(*step))
        }
        Reason::StoredForAnotherPath => (
            format!(
                "stored for paths on which {subject} does not stay in a register (where blocks \
                 join); along this listing it stays in one"
            ),
            None,
        ),
        Reason::ConstantToSlot => (
            format!("the constant {subject} is written to a stack slot that expects it"),
            None,
        ),
        Reason::Needed {
            for_use: Some(step),
        } => (
            format!(
                "{subject} is read at {} and is in no register here",
                at(*step)
            ),
            Some(*step),
        ),
        Reason::Needed { for_use: None } => (
            format!("{subject} is read in a later block and is in no register here"),
            None,
        ),
        Reason::FixedOperand { at: step } => (
            format!(
                "the instruction at {} takes {subject} in a fixed register (call argument, \
                 return value or instruction constraint)",
                at(*step)
            ),
            Some(*step),
        ),
        Reason::FixedResult { at: step } => (
            format!(
                "the instruction at {} leaves {subject} in a fixed register; it lives elsewhere",
                at(*step)
            ),
            Some(*step),
        ),
        Reason::BlockArgument { block } => (
            format!("block argument: .Lb{block} expects {subject} in this location"),
            None,
        ),
        Reason::SurvivesClobber { at: step } => (
            format!(
                "moved out of a register the call at {} overwrites, so {subject} survives it",
                at(*step)
            ),
            Some(*step),
        ),
        Reason::Placement { at: step } => (
            format!("places {subject} for the instruction at {}", at(*step)),
            Some(*step),
        ),
    }
}

impl AllocationReport {
    /// Deterministic JSON of the account (see `Report::to_json`).
    pub fn write_json(&self, out: &mut String) {
        use super::{json_array, json_string};
        let opt = |v: Option<u32>| v.map_or("null".to_string(), |v| v.to_string());
        out.push_str("{\"classes\":");
        json_array(out, &self.classes, |out, c| {
            let _ = write!(
                out,
                "{{\"name\":\"{}\",\"registers\":{}}}",
                c.name, c.registers
            );
        });
        out.push_str(",\"values\":");
        json_array(out, &self.values, |out, v| {
            out.push_str("{\"name\":");
            json_string(out, &v.name);
            out.push_str(",\"origin\":");
            json_string(out, &v.origin);
            let _ = write!(
                out,
                ",\"class\":\"{}\",\"wasm_offset\":{}}}",
                v.class,
                opt(v.wasm_offset)
            );
        });
        out.push_str(",\"ranges\":");
        json_array(out, &self.ranges, |out, r| {
            let _ = write!(out, "{{\"value\":{},\"location\":", r.value);
            json_string(out, &r.location);
            let _ = write!(
                out,
                ",\"first_line\":{},\"end_line\":{}}}",
                r.first_line, r.end_line
            );
        });
        out.push_str(",\"pressure\":");
        json_array(out, &self.pressure, |out, p| {
            let _ = write!(out, "{p}");
        });
        out.push_str(",\"blocks\":");
        json_array(out, &self.blocks, |out, b| {
            let _ = write!(
                out,
                "{{\"label\":\"{}\",\"first_line\":{},\"end_line\":{},\"max_pressure\":{}}}",
                b.label, b.first_line, b.end_line, b.max_pressure
            );
        });
        out.push_str(",\"notes\":");
        json_array(out, &self.notes, |out, n| {
            let _ = write!(
                out,
                "{{\"line\":{},\"value\":{},\"reason\":",
                n.line,
                opt(n.value)
            );
            json_string(out, &n.reason);
            let _ = write!(out, ",\"related_line\":{}}}", opt(n.related_line));
        });
        out.push_str(",\"slots\":");
        json_array(out, &self.slots, |out, s| {
            out.push_str("{\"location\":");
            json_string(out, &s.location);
            out.push_str(",\"values\":");
            json_array(out, &s.values, |out, v| {
                let _ = write!(out, "{v}");
            });
            out.push('}');
        });
        out.push('}');
    }

    /// The note of listing line `line`, if an edit starts there.
    pub fn note_at(&self, line: u32) -> Option<&NoteReport> {
        self.notes
            .binary_search_by_key(&line, |n| n.line)
            .ok()
            .and_then(|i| self.notes.get(i))
    }
}

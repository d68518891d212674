//! The explanation agrees with the allocation it explains, on every fixture, both ISAs and both
//! allocators: every register an instruction reads holds, per the live ranges, the value the
//! instruction reads; every edit's note names the value its source holds; every reason points
//! at a step that says what the reason claims.

use super::*;
use crate::ir;
use crate::options::{Options, Target};
use crate::regalloc::{EditKind, Policy, allocate_with};

fn legalized(wat: &[u8], options: &Options) -> ir::Module {
    crate::legalized_module(wat, options).expect("legalizes")
}

fn covers(ex: &Explanation, v: VReg, loc: Location, step: u32) -> bool {
    ex.ranges
        .iter()
        .any(|r| r.vreg == v && r.location == loc && r.start <= step && step < r.end)
}

/// Checks `ex` against `alloc` of `func`; an error names the first disagreement.
fn check(func: &dyn MachFunction, alloc: &Allocation, ex: &Explanation) -> Result<(), String> {
    if ex.notes.len() != alloc.edits.len() {
        return Err(format!(
            "{} notes for {} edits",
            ex.notes.len(),
            alloc.edits.len()
        ));
    }
    if ex.pressure.len() != ex.steps.len() {
        return Err("pressure is not per step".into());
    }
    for (step, kind) in ex.steps.iter().enumerate() {
        let step = step as u32;
        let StepKind::Inst(inst) = *kind else {
            continue;
        };
        for (op, &r) in func.operands(inst).iter().zip(&alloc.regs[inst]) {
            if op.kind == OperandKind::Use && !covers(ex, op.vreg, Location::Reg(r), step) {
                return Err(format!(
                    "step {step} (instruction {inst}) reads v{} from register {}, which no \
                     live range places there",
                    op.vreg.0, r.0
                ));
            }
        }
        let live: std::collections::BTreeSet<VReg> = ex
            .ranges
            .iter()
            .filter(|r| r.start <= step && step < r.end)
            .map(|r| r.vreg)
            .collect();
        if (live.len() as u32) > ex.pressure[step as usize] {
            return Err(format!(
                "step {step}: {} values located but pressure {}",
                live.len(),
                ex.pressure[step as usize]
            ));
        }
    }
    let read_at = |step: u32, v: VReg| match ex.steps.get(step as usize) {
        Some(StepKind::Inst(i)) => liveness::inst_uses(func, *i).any(|u| u == v),
        _ => false,
    };
    for (index, note) in ex.notes.iter().enumerate() {
        let (_, edit) = alloc.edits[index];
        if ex.steps.get(note.step as usize) != Some(&StepKind::Edit(index)) {
            return Err(format!(
                "note {index} is at step {}, not its edit's",
                note.step
            ));
        }
        let Some(v) = note.vreg else {
            return Err(format!("edit {index} ({edit:?}) names no value"));
        };
        match edit.from {
            Location::Remat(c) => {
                if c != v || !func.can_remat(v) || edit.kind != EditKind::Remat {
                    return Err(format!("edit {index}: remat of v{} noted as v{}", c.0, v.0));
                }
            }
            from => {
                // The source holds the value (its range may end at this step when the edit is
                // its last copy).
                let held = ex.ranges.iter().any(|r| {
                    r.vreg == v && r.location == from && r.start <= note.step && note.step <= r.end
                });
                if !held {
                    return Err(format!(
                        "edit {index} ({edit:?}) at step {}: v{} is not in its source",
                        note.step, v.0
                    ));
                }
            }
        }
        match &note.reason {
            Reason::Needed { for_use: Some(at) } if !read_at(*at, v) => {
                return Err(format!("edit {index}: step {at} does not read v{}", v.0));
            }
            Reason::Evicted {
                at,
                register,
                cause,
                ..
            } => {
                if *at as usize >= ex.steps.len() || *at < note.step {
                    return Err(format!("edit {index}: eviction at step {at}"));
                }
                if !matches!(cause, EvictionCause::BlockStart(_))
                    && register.is_some_and(|r| covers(ex, v, Location::Reg(r), at + 1))
                {
                    return Err(format!("edit {index}: v{} still in its register", v.0));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn explanations_agree_with_their_allocations_on_every_fixture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    let mut reasons = [0usize; 4];
    for path in paths {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        // The frame-stress fixtures are large and add nothing the others lack.
        if name == "huge_frame" || name == "wide_results" {
            continue;
        }
        let wat = std::fs::read(&path).expect("read fixture");
        for target in [Target::CortexM4F, Target::Rv32imafc] {
            for policy in [Policy::SpillRealloc, Policy::Baseline] {
                let options = Options::new(target);
                let module = legalized(&wat, &options);
                for (body, func) in module.bodies.iter().enumerate() {
                    let result = match target {
                        Target::Rv32imafc => {
                            let lowered = crate::isa::rv32::lower::lower(&module, body, true)
                                .expect("lowers");
                            let env = crate::isa::rv32::regs::reg_env(target);
                            let alloc =
                                allocate_with(&lowered.code, &env, policy).expect("allocates");
                            explain(&lowered.code, &env, &alloc)
                                .map_err(|e| e.message)
                                .and_then(|ex| check(&lowered.code, &alloc, &ex).map(|()| ex))
                        }
                        _ => {
                            let vfp = crate::isa::arm::regs::VfpFile::of(target);
                            let lowered =
                                crate::isa::arm::lower::lower(&module, func, vfp).expect("lowers");
                            let env = crate::isa::arm::regs::reg_env(vfp);
                            let alloc =
                                allocate_with(&lowered.code, &env, policy).expect("allocates");
                            explain(&lowered.code, &env, &alloc)
                                .map_err(|e| e.message)
                                .and_then(|ex| check(&lowered.code, &alloc, &ex).map(|()| ex))
                        }
                    };
                    match result {
                        Ok(ex) => {
                            for note in &ex.notes {
                                reasons[match note.reason {
                                    Reason::Evicted { .. } => 0,
                                    Reason::Needed { .. } => 1,
                                    Reason::FixedOperand { .. } | Reason::FixedResult { .. } => 2,
                                    _ => 3,
                                }] += 1;
                            }
                        }
                        Err(e) => failures.push(format!(
                            "{name} {} {policy:?} {}: {e}",
                            target.name(),
                            func.name
                        )),
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The fixtures exercise evictions, reads served, fixed registers and the rest.
    assert!(
        reasons.iter().all(|&n| n > 20),
        "reasons by kind {reasons:?}"
    );
}

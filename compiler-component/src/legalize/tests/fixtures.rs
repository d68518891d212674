//! Every fixture module from the frontend: each export over edge arguments must behave the
//! same (results, traps, memory, globals) before and after legalize.

use super::*;
use crate::error::ErrorKind;
use crate::frontend;

const I32_EDGES: [u64; 8] = [0, 1, 0xFFFF_FFFF, 2, 31, 33, 0x7FFF_FFFF, 0x8000_0000];
const I64_EDGES: [u64; 8] = [
    0,
    1,
    u64::MAX,
    63,
    65,
    0xFFFF_FFFF,
    i64::MIN as u64,
    0x1234_5678_9ABC_DEF0,
];
/// Calls per export, picked by a fixed stride from the cross product of edge values.
const VECTORS_PER_EXPORT: usize = 16;
const STEP_LIMIT: u64 = 100_000;

fn edge_arguments(params: &[Type]) -> Vec<Vec<u64>> {
    let mut all: Vec<Vec<u64>> = vec![Vec::new()];
    for ty in params {
        let edges: &[u64] = match ty {
            Type::I32 | Type::F32 => &I32_EDGES,
            Type::I64 | Type::F64 => &I64_EDGES,
        };
        all = all
            .iter()
            .flat_map(|prefix| {
                edges.iter().map(move |e| {
                    let mut v = prefix.clone();
                    v.push(*e);
                    v
                })
            })
            .collect();
        // Keep the product small while building it.
        if all.len() > 4096 {
            let stride = all.len() / 4096 + 1;
            all = all.into_iter().step_by(stride).collect();
        }
    }
    let stride = all.len() / VECTORS_PER_EXPORT + 1;
    all.into_iter().step_by(stride).collect()
}

/// Outcomes that only differ because legalize adds work (steps, helper call depth).
fn resource_limited(r: &Result<Vec<u64>, InterpError>) -> bool {
    matches!(
        r,
        Err(InterpError::StepLimit) | Err(InterpError::Trap(TrapCode::StackOverflow))
    )
}

fn check_module(name: &str, m: &Module, caps: Caps, checks: bool) {
    let after = legalized(m, caps, checks);
    for (index, decl) in m.functions.iter().enumerate() {
        if decl.exports.is_empty() || matches!(decl.kind, FunctionKind::Imported(_)) {
            continue;
        }
        // Fresh instances per export, so a skipped call cannot leave the two states apart.
        let mut before = Interp::new(m).expect("setup");
        let mut now = Interp::new(&after).expect("setup");
        before.set_step_limit(STEP_LIMIT);
        now.set_step_limit(STEP_LIMIT * 10);
        let init = before.instantiate();
        assert_eq!(now.instantiate(), init, "{name}: instantiate");
        if init.is_err() {
            return;
        }
        for args in edge_arguments(&decl.sig.params) {
            let want = before.call(index as u32, &args);
            assert!(
                !matches!(want, Err(InterpError::Invalid(_))),
                "{name}: frontend IR invalid: {want:?}"
            );
            if resource_limited(&want) {
                break;
            }
            let got = now.call(index as u32, &args);
            if resource_limited(&got) {
                break;
            }
            // Without bounds checks an out-of-bounds access is the MPU's to stop: a bulk
            // operator may have written part of its range before the fault. Later calls of
            // this export would start from different memories, so stop there.
            let unchecked_fault =
                !checks && want == Err(InterpError::Trap(TrapCode::MemoryOutOfBounds));
            if unchecked_fault && (got != want || now.memory() != before.memory()) {
                break;
            }
            let what = format!(
                "{name}: {}{args:x?} caps {caps:?} checks {checks}",
                decl.name
            );
            assert_eq!(got, want, "{what}");
            assert!(now.memory() == before.memory(), "{what}: memory differs");
            for g in 0..m.globals.len() as u32 {
                assert_eq!(now.global(g), before.global(g), "{what}: global {g}");
            }
        }
    }
}

#[test]
fn fixtures_behave_the_same_before_and_after_legalize() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    paths.sort();
    let mut checked = 0;
    for path in &paths {
        let name = path.display().to_string();
        let text = std::fs::read(path).expect("readable fixture");
        let wasm = frontend::decode(&text).expect("fixture decodes");
        let m = match frontend::translate(&wasm, &Options::default()) {
            Ok(m) => m,
            // Features synth rejects on purpose (e.g. floats) are not legalize's concern.
            Err(e) if e.kind == ErrorKind::Unsupported => continue,
            Err(e) => panic!("{name}: {e}"),
        };
        check_module(&name, &m, NO_CAPS, true);
        check_module(&name, &m, ALL_CAPS, false);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures translated");
}

//! Loop versioning (`versioning.rs`) on `fixtures/versioned_loops.wat`: each counted loop gets a
//! copy without its checks, and every export behaves as before (results, traps, memory) on
//! bases that fit exactly, trap in the last iteration after earlier stores, or leave the loop
//! before an address that would not fit.

use super::*;
use crate::frontend;

fn fixture_module(optimized: bool) -> Module {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/versioned_loops.wat");
    let text = std::fs::read(path).expect("fixture");
    if optimized {
        // Thumb-2, where a check is a compare and a branch: every loop here sheds enough.
        let options = Options::new(crate::options::Target::CortexM4);
        crate::legalized_module(&text, &options).expect("compiles")
    } else {
        let wasm = frontend::decode(&text).expect("decodes");
        frontend::translate(&wasm, &Options::default()).expect("translates")
    }
}

fn is_check(inst: &Inst) -> bool {
    matches!(inst.op, Op::TrapIf(TrapCode::MemoryOutOfBounds))
}

fn accesses(block: &crate::ir::BlockData) -> bool {
    block
        .insts
        .iter()
        .any(|i| matches!(i.op, Op::Load(_) | Op::Store(_)))
}

#[test]
fn counted_loops_get_a_copy_without_checks() {
    let m = fixture_module(true);
    for name in [
        "fill",
        "window",
        "offsets",
        "find",
        "rows",
        "gather",
        "copy",
        "sum_words",
    ] {
        let f = m
            .bodies
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} compiled"));
        let unchecked = f
            .blocks
            .iter()
            .filter(|b| accesses(b) && !b.insts.iter().any(is_check))
            .count();
        let checked = f
            .blocks
            .iter()
            .filter(|b| accesses(b) && b.insts.iter().any(is_check))
            .count();
        // copy4's two loops (by fours to n & -4, then in lockstep with a count down) both.
        let loops = if name == "copy4" { 2 } else { 1 };
        assert!(
            unchecked >= loops,
            "{name}: {unchecked} accesses left unchecked\n{f}"
        );
        assert!(checked >= 1, "{name}: the checked loop is gone\n{f}");
    }
    // gather's copy keeps the check of the data-dependent address.
    let gather = m
        .bodies
        .iter()
        .find(|f| f.name == "gather")
        .expect("gather");
    let checks_per_block: Vec<usize> = gather
        .blocks
        .iter()
        .filter(|b| accesses(b))
        .map(|b| b.insts.iter().filter(|i| is_check(i)).count())
        .collect();
    assert!(
        checks_per_block.contains(&1) && checks_per_block.iter().any(|&n| n >= 3),
        "gather: {checks_per_block:?}\n{gather}"
    );
}

#[test]
fn versioned_loops_behave_as_before() {
    let before = fixture_module(false);
    let after = fixture_module(true);
    let vectors: &[(&str, &[&[u64]])] = &[
        (
            "fill",
            &[
                &[0, 7],
                &[65472, 1],
                &[65473, 1],
                &[65532, 1],
                &[65536, 1],
                &[0xffff_ffc0, 5],
            ],
        ),
        (
            "offsets",
            &[
                &[0, 1],
                &[65488, 2],
                &[65489, 2],
                &[65530, 4],
                &[0xffff_fffc, 5],
            ],
        ),
        (
            "find",
            &[
                &[0, 7, 20],
                &[65500, 5, 35],
                &[65500, 5, 45],
                &[65480, 3, 50],
                &[65531, 7, 4],
            ],
        ),
        (
            "rows",
            &[
                &[0, 200],
                &[65433, 0],
                &[65434, 0],
                &[0, 65434],
                &[65500, 0],
            ],
        ),
        (
            "gather",
            &[
                &[0, 100],
                &[65512, 8],
                &[65513, 8],
                &[100, 65532],
                &[100, 65533],
            ],
        ),
    ];
    for (name, lists) in vectors {
        let index = Interp::new(&before)
            .expect("setup")
            .export(name)
            .expect("export");
        for args in *lists {
            let mut want = Interp::new(&before).expect("setup");
            let mut got = Interp::new(&after).expect("setup");
            want.instantiate().expect("instantiates");
            got.instantiate().expect("instantiates");
            let expected = want.call(index, args);
            assert_eq!(got.call(index, args), expected, "{name}{args:?}");
            assert!(
                got.memory() == want.memory(),
                "{name}{args:?}: memory differs"
            );
        }
    }
}

//! Bulk memory: the legalized helpers (word loops, backward copies, shift merges) against the
//! frontend operators in the interpreter, over every alignment pair and lengths 0..70 plus
//! large ones, on both helper flavours (unaligned words or aligned merges); and the range
//! checks, passive segments and `data.drop`.

use super::*;
use crate::frontend;

const WAT: &str = r#"(module
  (memory 1)
  (data $p "0123456789abcdefghijklmnopqrstuvwxyz")
  (data (i32.const 0x9000) "active")
  (func $seed (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const 1024)))
      (i32.store8 (local.get $i) (i32.add (i32.mul (local.get $i) (i32.const 13)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "copy") (param i32 i32 i32)
    (call $seed) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32)
    (call $seed) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32)
    (memory.init $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_active") (param i32 i32 i32)
    (memory.init 1 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $p))
  (func (export "drop_active") (data.drop 1)))"#;

fn frontend_module() -> Module {
    let wasm = frontend::decode(WAT.as_bytes()).expect("decode");
    frontend::translate(&wasm, &Options::default()).expect("translate")
}

fn export(m: &Module, name: &str) -> u32 {
    m.functions
        .iter()
        .position(|f| f.exports.iter().any(|e| e == name))
        .expect("export") as u32
}

/// Run the calls in order on one instance; the outcome of each and the final memory.
fn run_calls(
    m: &Module,
    calls: &[(&str, Vec<u64>)],
) -> (Vec<Result<Vec<u64>, InterpError>>, Vec<u8>) {
    let mut interp = Interp::new(m).expect("interp");
    interp.instantiate().expect("instantiate");
    let outcomes = calls
        .iter()
        .map(|(name, args)| interp.call(export(m, name), args))
        .collect();
    (outcomes, interp.memory())
}

fn flavours() -> [Caps; 2] {
    let unaligned = Caps {
        unaligned_words: true,
        indexed_access: true,
        ..ALL_CAPS
    };
    [NO_CAPS, unaligned]
}

fn check(m: &Module, legal: &[Module], calls: &[(&str, Vec<u64>)]) {
    let want = run_calls(m, calls);
    for (k, after) in legal.iter().enumerate() {
        let got = run_calls(after, calls);
        assert!(
            got == want,
            "flavour {k}, calls {calls:x?}: {:?} != {:?}",
            got.0,
            want.0
        );
    }
}

#[test]
fn copies_agree_at_every_alignment_and_overlap() {
    let m = frontend_module();
    let legal: Vec<Module> = flavours().iter().map(|c| legalized(&m, *c, true)).collect();
    let offsets = [0u64, 1, 2, 3, 4, 7, 33];
    let mut lengths: Vec<u64> = (0..=40).collect();
    lengths.extend([47, 63, 64, 65, 70, 97, 255]);
    for d in offsets {
        for s in offsets {
            for &n in &lengths {
                check(&m, &legal, &[("copy", vec![100 + d, 100 + s, n])]);
            }
        }
    }
}

#[test]
fn fills_agree_at_every_alignment() {
    let m = frontend_module();
    let legal: Vec<Module> = flavours().iter().map(|c| legalized(&m, *c, true)).collect();
    for d in 0..8u64 {
        for n in (0..=70u64).chain([100, 255, 1000]) {
            check(&m, &legal, &[("fill", vec![d, 0x1a5, n])]);
        }
    }
}

#[test]
fn ranges_are_checked_before_anything_is_written() {
    let m = frontend_module();
    let legal: Vec<Module> = flavours().iter().map(|c| legalized(&m, *c, true)).collect();
    let end = 65536u64;
    let oob = Err(InterpError::Trap(TrapCode::MemoryOutOfBounds));
    for args in [
        vec![end, 0, 0],
        vec![0, end, 0],
        vec![end + 1, 0, 0],
        vec![0, end + 1, 0],
        vec![end - 1, 0, 2],
        vec![0, end - 1, 2],
        vec![end - 100, 0, 200],
        vec![0, 0, 0xffff_ffff],
        vec![0xffff_ffff, 0, 1],
    ] {
        check(&m, &legal, &[("copy", args.clone())]);
        check(&m, &legal, &[("fill", args.clone())]);
    }
    // A copy that does not fit writes nothing: memory is what the seed wrote.
    let (outcomes, memory) = run_calls(&legal[0], &[("copy", vec![end - 4, 0, 8])]);
    assert_eq!(outcomes[0], oob);
    assert!(memory[end as usize - 4..].iter().all(|b| *b == 0));
}

#[test]
fn passive_segments_init_and_drop() {
    let m = frontend_module();
    let legal: Vec<Module> = flavours().iter().map(|c| legalized(&m, *c, true)).collect();
    let cases: Vec<Vec<(&str, Vec<u64>)>> = vec![
        vec![("init", vec![5, 0, 36])],
        vec![("init", vec![5, 3, 33])],
        vec![("init", vec![5, 36, 0])],
        vec![("init", vec![5, 37, 0])],
        vec![("init", vec![5, 30, 7])],
        vec![("init", vec![65536, 0, 0])],
        vec![("init", vec![65530, 0, 7])],
        vec![("drop", vec![]), ("init", vec![0, 0, 0])],
        vec![("drop", vec![]), ("init", vec![0, 0, 1])],
        vec![("drop", vec![]), ("init", vec![0, 1, 0])],
        vec![("init_active", vec![0, 0, 0])],
        vec![("init_active", vec![0, 0, 1])],
        vec![("drop_active", vec![]), ("init_active", vec![0, 0, 0])],
        vec![("init", vec![1, 2, 3]), ("drop", vec![]), ("drop", vec![])],
    ];
    for calls in &cases {
        check(&m, &legal, calls);
    }
}

#[test]
fn bounds_checks_off_is_correct_in_bounds() {
    let m = frontend_module();
    let legal: Vec<Module> = flavours()
        .iter()
        .map(|c| legalized(&m, *c, false))
        .collect();
    for (d, s, n) in [(0, 1, 100), (1, 0, 100), (3, 9, 64), (65000, 0, 536)] {
        check(&m, &legal, &[("copy", vec![d, s, n])]);
        check(&m, &legal, &[("fill", vec![d, s, n])]);
    }
    // The segment range is checked even without bounds checks.
    check(&m, &legal, &[("drop", vec![]), ("init", vec![0, 0, 1])]);
}

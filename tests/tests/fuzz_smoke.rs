//! Bounded differential fuzzing in `cargo test`: a fixed list of wasm-smith module seeds, each
//! compiled for every target with both allocators and bounds checks on and off, run in the
//! emulator (isolation check on) and in wasmtime. Any bug fails the test with the seed to replay
//! (`cargo run --release -p synth-tests --example fuzz -- --module 0xSEED`); resource-limit
//! differences are reported, not failed. The long run is `examples/fuzz.rs`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use synth_tests::fuzz::{
    Features, RunOptions, Shape, Summary, generate, module_seed, run::normalize_reason, run_module,
};

/// Run seed and module count: fixed, so every run draws the same modules.
const RUN_SEED: u64 = 0x5eed_2026;
const MODULES: u64 = 16;
/// No new module is started after this; the run stays within about two minutes on two cores.
const TIME_BUDGET: Duration = Duration::from_secs(90);
/// The linked cases: their own run seed, count and budget.
const LINKED_RUN_SEED: u64 = 0x1ed_2026;
const LINKED_MODULES: usize = 6;
const LINKED_TIME_BUDGET: Duration = Duration::from_secs(30);

/// Run `seeds` (module seeds) on two workers, starting no module after `budget`; assert that no
/// bug was found and that every target ran vectors.
fn run_seeds(seeds: &[u64], budget: Duration) -> Summary {
    let features = Features::supported();
    let shape = Shape::default();
    let options = RunOptions::full(&shape);
    let start = Instant::now();
    let next = AtomicU64::new(0);
    let total = Mutex::new(Summary::default());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut summary = Summary::default();
                while start.elapsed() < budget {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(index as usize) else {
                        break;
                    };
                    match generate(seed, &features, &shape) {
                        Ok(generated) => {
                            let outcome =
                                run_module(&generated.wasm, &generated.providers, seed, &options);
                            summary.add(seed, generated.profile, &outcome);
                        }
                        Err(e) => summary.add_generation_failure(normalize_reason(&e)),
                    }
                }
                total.lock().unwrap().merge(summary);
            });
        }
    });
    let total = total.into_inner().unwrap();
    println!("{}", total.render(start.elapsed()));
    assert!(
        total.bugs.is_empty(),
        "the fuzzer found {} divergences; replay with `cargo run --release -p synth-tests \
         --example fuzz -- --module 0xSEED`:\n{}",
        total.bugs.len(),
        total.render(start.elapsed())
    );
    assert!(total.modules_run > 0, "no module ran");
    for target in &options.targets {
        assert!(
            total.vectors.get(target.name()).copied().unwrap_or(0) > 0,
            "no vector ran on {}",
            target.name()
        );
    }
    total
}

#[test]
fn fuzz_smoke_fixed_seeds_agree_with_wasmtime() {
    let seeds: Vec<u64> = (0..MODULES).map(|i| module_seed(RUN_SEED, i)).collect();
    run_seeds(&seeds, TIME_BUDGET);
}

/// Linked cases only: the first `LINKED_MODULES` seeds of the run that draw a provider and an
/// importer (imports of a memory, a table, globals and functions from the other module).
#[test]
fn fuzz_smoke_linked_modules_agree_with_wasmtime() {
    let features = Features::supported();
    let shape = Shape::default();
    let seeds: Vec<u64> = (0..)
        .map(|i| module_seed(LINKED_RUN_SEED, i))
        .filter(|seed| generate(*seed, &features, &shape).is_ok_and(|g| !g.providers.is_empty()))
        .take(LINKED_MODULES)
        .collect();
    let total = run_seeds(&seeds, LINKED_TIME_BUDGET);
    assert_eq!(total.profiles.get("linked"), Some(&total.modules));
    // The providers' exports are called directly too, not only through the importer.
    assert!(total.provider_calls > 0, "no vector called a provider");
}

/// The isolation check catches a write outside the sandbox: with bounds checks off, a store
/// past the end of a one-page memory lands in RAM no section owns.
#[test]
fn isolation_check_catches_a_store_outside_the_memory() {
    use synth_compiler::{Options, Target};
    use synth_tests::emu::SynthInstance;
    use synth_tests::{ModuleInfo, Value};

    let wat = br#"(module
        (memory 1 1)
        (func (export "poke") (param i32) (i32.store (local.get 0) (i32.const -1))))"#;
    let info = ModuleInfo::parse(wat).unwrap();
    for target in [Target::CortexM4, Target::Rv32imac] {
        let mut options = Options::new(target);
        options.bounds_checks = false;
        let object = synth_compiler::compile(wat, &options).unwrap().object;
        let mut instance = SynthInstance::new(target, &object, &info).unwrap();
        instance.enable_isolation_check().unwrap();
        instance.instantiate().unwrap();
        instance.invoke("poke", &[Value::I32(65532)]).unwrap();
        assert_eq!(instance.check_isolation().unwrap(), None, "{target:?}");
        instance.instantiate().unwrap();
        instance.invoke("poke", &[Value::I32(65536 + 64)]).unwrap();
        let problem = instance.check_isolation().unwrap();
        assert!(
            problem
                .as_deref()
                .is_some_and(|p| p.contains("bytes changed")),
            "{target:?}: {problem:?}"
        );
    }
}

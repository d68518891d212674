//! A bounded malformed-input run (fixed seed, 5,000 mutants): mutated fixtures through the library, and one
//! in five also through the compiler component in synth-host with two requests in flight.
//! The long run is `cargo run --release -p synth-tests --example malformed-fuzz`.

use synth_tests::fuzz::malformed::{self, Campaign};

#[test]
fn mutated_modules_get_an_object_or_a_typed_error_everywhere() {
    let component = synth_host::workspace_component_path(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    );
    assert!(
        component.is_file(),
        "`{}` is missing: `./dev test` builds it, or run \
         `cargo build --release --target wasm32-wasip2 -p synth-compiler --bin synth`",
        component.display()
    );
    let mut config = synth_host::HostConfig::new(&component);
    config.cache_dir = Some(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/synth-host-test-cache"),
    );
    config.max_concurrent_requests = 2;
    let host = synth_host::Host::new(&config).expect("the component loads");
    let bases = malformed::fixture_bases();
    assert!(bases.len() > 50, "{} fixtures", bases.len());
    let campaign = Campaign {
        seed: 0x5eed,
        mutants: 5000,
        time: None,
        jobs: 2,
        host_every: 5,
    };
    let tally = malformed::run_campaign(&bases, &campaign, Some(&host));
    println!("{}", tally.summary());
    let bugs: Vec<String> = tally
        .bugs
        .iter()
        .map(|(i, how, target, bug)| format!("mutant {i} ({how}, {target}): {bug}"))
        .collect();
    assert!(bugs.is_empty(), "{}", bugs.join("\n"));
    // The mutants must exercise both answers, or the run proves nothing.
    assert!(
        tally.objects > 50 && tally.errors.values().sum::<u64>() > 500,
        "{}",
        tally.summary()
    );
    assert_eq!(tally.host_checked, 1000);
}

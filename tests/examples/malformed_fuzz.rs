//! Malformed-input fuzzer: the fixtures mutated (bit flips, truncation, cut or lying sections,
//! bad and huge LEB128s, spliced bytes) and compiled by the library, and every Nth through the
//! compiler component in synth-host with several requests in flight. Every answer must be an
//! object of a valid module or a typed error with a message: never a panic, an internal error,
//! a trap of the component, or a different answer from the component.
//!
//! ```text
//! cargo run --release -p synth-tests --example malformed-fuzz -- --seconds 600 --jobs 2
//! ```
//!
//! Options: `--seconds N` (default 60), `--mutants N` (default unbounded), `--jobs N`
//! (default 2), `--seed N` (default 1), `--host-every N` (default 10; 0 skips the component),
//! `--component FILE` (default target/wasm32-wasip2/release/synth.wasm). Exits with 1 when a
//! bug was found, printing each with the index that reproduces it (`--seed S --first I`).

use std::path::PathBuf;
use std::time::Duration;

use synth_tests::fuzz::malformed::{self, Campaign};

fn main() {
    let mut campaign = Campaign {
        seed: 1,
        mutants: u64::MAX,
        time: Some(Duration::from_secs(60)),
        jobs: 2,
        host_every: 10,
    };
    let mut component =
        synth_host::workspace_component_path(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("{flag} needs a value");
                std::process::exit(2)
            })
        };
        let number = |text: String| -> u64 {
            text.parse().unwrap_or_else(|_| {
                eprintln!("`{text}` is not a number");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--seconds" => campaign.time = Some(Duration::from_secs(number(value()))),
            "--mutants" => campaign.mutants = number(value()),
            "--jobs" => campaign.jobs = number(value()).max(1) as usize,
            "--seed" => campaign.seed = number(value()),
            "--host-every" => campaign.host_every = number(value()),
            "--component" => component = PathBuf::from(value()),
            other => {
                eprintln!(
                    "unknown option `{other}` (see the comment at the top of malformed_fuzz.rs)"
                );
                std::process::exit(2)
            }
        }
    }
    let bases = malformed::fixture_bases();
    let host = (campaign.host_every > 0).then(|| {
        let mut config = synth_host::HostConfig::new(&component);
        config.max_concurrent_requests = campaign.jobs as u32;
        synth_host::Host::new(&config).unwrap_or_else(|e| {
            eprintln!("cannot start synth-host ({e}); --host-every 0 skips the component");
            std::process::exit(2)
        })
    });
    let started = std::time::Instant::now();
    let tally = malformed::run_campaign(&bases, &campaign, host.as_ref());
    println!(
        "{} base modules, seed {}, {:.0} s: {}",
        bases.len(),
        campaign.seed,
        started.elapsed().as_secs_f64(),
        tally.summary()
    );
    for (index, how, target, bug) in &tally.bugs {
        println!("BUG mutant {index} ({how}, {target}): {bug}");
    }
    if !tally.bugs.is_empty() {
        std::process::exit(1);
    }
}

//! Hostile inputs through synth-host: each gives the compiler's typed error or trips a host
//! limit whose message names it; nothing crashes, the host keeps serving, and requests on
//! other threads are unaffected.

mod common;

use std::time::{Duration, Instant};

use synth_compiler::{ErrorKind, Options, Target};
use synth_host::{Host, LimitKind, Limits, RequestError};

fn options() -> Options {
    Options::new(Target::CortexM4F)
}

fn expect_compile_error(result: Result<synth_compiler::Output, RequestError>) -> ErrorKind {
    match result {
        Err(RequestError::Compile(error)) => {
            assert!(!error.message.is_empty());
            error.kind
        }
        Err(other) => panic!("expected the compiler's error, got: {other}"),
        Ok(_) => panic!("expected the compiler's error, got an object"),
    }
}

fn expect_limit(result: Result<synth_compiler::Output, RequestError>, limit: LimitKind) {
    match result {
        Err(error @ RequestError::Limit { limit: tripped, .. }) => {
            assert_eq!(tripped, limit, "{error}");
            let message = error.to_string();
            assert!(message.contains(limit.flag()), "{message}");
        }
        Err(other) => panic!("expected the {limit:?} limit to trip, got: {other}"),
        Ok(_) => panic!("expected the {limit:?} limit to trip, got an object"),
    }
}

fn module_with_body(locals: &str, body: &str) -> Vec<u8> {
    format!("(module (func (export \"f\") (param i32) (result i32) {locals}\n{body}))").into_bytes()
}

/// `count` small exported functions.
fn many_functions(count: usize) -> Vec<u8> {
    let mut text = String::from("(module\n");
    for i in 0..count {
        text.push_str(&format!(
            "(func (export \"f{i}\") (param i32) (result i32) local.get 0 i32.const {i} i32.add)\n"
        ));
    }
    text.push(')');
    text.into_bytes()
}

/// A tiny module the host must still compile after another request failed.
fn assert_still_serving(host: &Host) {
    let output = host
        .compile(
            b"(module (func (export \"one\") (result i32) i32.const 1))",
            &options(),
        )
        .unwrap_or_else(|e| panic!("the host stopped serving: {e}"));
    assert_eq!(output.report.functions[0].name, "one");
}

#[test]
fn garbage_bytes_are_malformed() {
    let host = common::shared_host();
    assert_eq!(
        expect_compile_error(host.compile(&[0xff, 0x00, 0x13, 0x37, 0x80, 0x80], &options())),
        ErrorKind::Malformed
    );
    let mut truncated = b"\0asm\x01\0\0\0\x01\x7f".to_vec();
    truncated.extend(std::iter::repeat_n(0xa5, 1000));
    assert_eq!(
        expect_compile_error(host.compile(&truncated, &options())),
        ErrorKind::Malformed
    );
    assert_eq!(
        expect_compile_error(host.compile(b"(module (func $f (bogus)))", &options())),
        ErrorKind::Malformed
    );
    assert_still_serving(host);
}

#[test]
fn a_500_mb_input_is_refused_before_it_enters_the_guest() {
    let host = common::shared_host();
    // Zeroed pages are not touched until written: the check must not copy them either.
    let huge = vec![0u8; 500 << 20];
    let started = Instant::now();
    expect_limit(host.compile(&huge, &options()), LimitKind::InputSize);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the input check took {:?}",
        started.elapsed()
    );
    assert_still_serving(host);
}

#[test]
fn deeply_nested_blocks_hit_the_nesting_limit() {
    let host = common::shared_host();
    let depth = 100_000;
    let flat = module_with_body(
        "",
        &format!(
            "{}local.get 0{}",
            "block (result i32)\n".repeat(depth),
            "\nend".repeat(depth)
        ),
    );
    assert_eq!(
        expect_compile_error(host.compile(&flat, &options())),
        ErrorKind::Limit
    );
    // The same nesting in folded form, which a recursive parser would overflow on.
    let folded = module_with_body(
        "",
        &format!(
            "{}(local.get 0){}",
            "(block (result i32) ".repeat(depth),
            ")".repeat(depth)
        ),
    );
    let kind = expect_compile_error(host.compile(&folded, &options()));
    assert!(
        matches!(kind, ErrorKind::Limit | ErrorKind::Malformed),
        "{kind:?}"
    );
    assert_still_serving(host);
}

#[test]
fn a_hundred_thousand_locals_hit_the_locals_limit() {
    let host = common::shared_host();
    let locals = format!("(local{})", " i32".repeat(100_000));
    let error = host
        .compile(&module_with_body(&locals, "local.get 0"), &options())
        .expect_err("100 000 locals compiled");
    let RequestError::Compile(error) = error else {
        panic!("expected the compiler's error, got: {error}");
    };
    assert!(
        matches!(error.kind, ErrorKind::Limit | ErrorKind::Invalid),
        "{error}"
    );
    assert!(error.message.contains("locals"), "{error}");
    assert_still_serving(host);
}

#[test]
fn a_huge_br_table_hits_the_table_limit() {
    let host = common::shared_host();
    let entries = 1_000_000;
    let body = format!(
        "(block (br_table{} 0 (local.get 0))) i32.const 0",
        " 0".repeat(entries)
    );
    assert_eq!(
        expect_compile_error(host.compile(&module_with_body("", &body), &options())),
        ErrorKind::Limit
    );
    assert_still_serving(host);
}

#[test]
fn thousands_of_functions_compile() {
    let host = common::shared_host();
    let count = 3000;
    let input = many_functions(count);
    let output = host.compile(&input, &options()).expect("3000 functions");
    // Every function plus `synth_init`.
    assert_eq!(output.report.functions.len(), count + 1);
    assert_eq!(
        output,
        synth_compiler::compile(&input, &options()).expect("native")
    );
}

#[test]
fn a_tiny_deadline_trips_and_the_host_goes_on() {
    let limits = Limits {
        timeout: Some(Duration::from_millis(1)),
        ..Limits::default()
    };
    let host = Host::new(&common::host_config(limits)).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    expect_limit(
        host.compile(&many_functions(3000), &options()),
        LimitKind::Timeout,
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the deadline took {:?} to trip",
        started.elapsed()
    );
}

/// Fuel is deterministic, so this budget is: enough for the small fixtures below, far too
/// little for 3000 functions.
const FUEL_BUDGET: u64 = 200_000_000;
const SMALL_FIXTURES: [&str; 6] = [
    "fib",
    "gcd_lcm",
    "isqrt",
    "powmod",
    "select_minmax",
    "endian",
];

#[test]
fn fuel_exhaustion_fails_only_that_request_even_concurrently() {
    let limits = Limits {
        fuel: Some(FUEL_BUDGET),
        ..Limits::default()
    };
    let host = Host::new(&common::host_config(limits)).unwrap_or_else(|e| panic!("{e}"));
    let big = many_functions(3000);
    let fixtures: Vec<(String, Vec<u8>)> = common::fixtures()
        .into_iter()
        .filter(|(name, _)| SMALL_FIXTURES.contains(&name.as_str()))
        .collect();
    assert_eq!(fixtures.len(), SMALL_FIXTURES.len());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..3 {
                    expect_limit(host.compile(&big, &options()), LimitKind::Fuel);
                }
            });
        }
        for part in 0..2 {
            let host = &host;
            let fixtures = &fixtures;
            scope.spawn(move || {
                for (name, text) in fixtures.iter().skip(part).step_by(2) {
                    let got = host
                        .compile(text, &options())
                        .unwrap_or_else(|e| panic!("{name} next to failing requests: {e}"));
                    let expected = synth_compiler::compile(text, &options()).expect("native");
                    assert!(got == expected, "{name}: output differs from native");
                }
            });
        }
    });
    assert_still_serving(&host);
}

#[test]
fn a_memory_limit_trips_and_names_itself() {
    let limits = Limits {
        max_memory_bytes: 32 << 20,
        ..Limits::default()
    };
    let host = Host::new(&common::host_config(limits)).unwrap_or_else(|e| panic!("{e}"));
    // Under the input limit, over what the guest may hold: copying it in already fails.
    let mut input = b"(module)".to_vec();
    input.extend(std::iter::repeat_n(b' ', 40 << 20));
    expect_limit(host.compile(&input, &options()), LimitKind::Memory);
    assert_still_serving(&host);
}

#[test]
fn a_missing_component_is_a_clear_setup_error() {
    let mut config = common::host_config(Limits::default());
    config.component = common::scratch_dir("missing").join("synth.wasm");
    let error = Host::new(&config)
        .err()
        .expect("a missing component loaded");
    assert!(
        error.0.contains("cannot read the compiler component"),
        "{error}"
    );
    assert!(error.0.contains("wasm32-wasip2"), "{error}");
}

//! Delivery performance of synth-host (a benchmark, not a test: it prints Markdown tables and
//! never fails on timing).
//!
//! `cargo run --release -p synth-host --example host-bench -- [--iterations N] [--target T]
//! [--requests N] [--functions N]` measures, on the same inputs and target:
//! - compile throughput of the native library (`synth_compiler::compile` in this process) vs
//!   synth-host (the component, cached, one Store per request) on the largest fixtures and a
//!   generated module with over 1 MB of machine code (the generator of `web/bench.mjs`, so the
//!   inputs are the ones of the browser table);
//! - the per-request overhead of the cached component on a tiny module (median and p90), with the
//!   pooling allocator on and off, split into instantiate + a trivial call (`targets`) and
//!   instantiate + compile;
//! - the one-time costs: compiling the component with Cranelift vs loading it from the cache;
//! - throughput with 2 requests in flight vs 1.
//!
//! `--startup-only` stops after the one-time costs (e.g. to compare build profiles: `cargo run
//! -p synth-host --example host-bench -- --startup-only` times the dev-profile Cranelift).
//!
//! The component must be built first: `cargo build --release --target wasm32-wasip2 -p
//! synth-compiler --bin synth`. The benchmark uses its own cache directory (under the temp
//! directory, removed at the end) so the cold compile is really cold.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use synth_compiler::{Options, Output, Target};
use synth_host::{ComponentSource, Host, HostConfig};

const LARGEST_FIXTURES: usize = 4;
const TINY_MODULE: &str = r#"(module (func (export "f") (result i32) i32.const 1))"#;

struct Args {
    iterations: usize,
    target: Target,
    requests: usize,
    functions: usize,
    startup_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        iterations: 5,
        target: Target::CortexM4F,
        requests: 200,
        functions: 4500,
        startup_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} wants a value"));
        let number = |v: String| {
            v.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag} wants a positive number, not `{v}`"))
        };
        match flag.as_str() {
            "--iterations" => args.iterations = number(value()?)?,
            "--requests" => args.requests = number(value()?)?,
            "--functions" => args.functions = number(value()?)?,
            "--startup-only" => args.startup_only = true,
            "--target" => {
                let name = value()?;
                args.target = Target::ALL
                    .into_iter()
                    .find(|t| t.name() == name)
                    .ok_or_else(|| format!("unknown target `{name}`"))?;
            }
            "--help" | "-h" => {
                return Err(
                    "usage: host-bench [--iterations N] [--target T] [--requests N] \
                            [--functions N] [--startup-only]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

/// A module of `count` independent functions, each a loop mixing i32/i64 arithmetic, memory
/// traffic, a call and a br_table: `generateLargeModule` of `web/bench.mjs`, byte for byte.
fn generate_large_module(count: usize) -> String {
    let mut parts = vec![
        "(module".to_string(),
        "  (memory (export \"memory\") 4)".to_string(),
        "  (func $leaf (param i32) (result i32) (i32.xor (local.get 0) (i32.const 0x5bd1e995)))"
            .to_string(),
    ];
    for n in 0..count {
        parts.push(format!(
            r#"  (func (export "f{n}") (param $p i32) (param $q i32) (result i32)
    (local $i i32) (local $acc i32) (local $wide i64)
    (local.set $acc (i32.const {acc}))
    (block $exit
      (loop $top
        (br_if $exit (i32.ge_u (local.get $i) (local.get $q)))
        (local.set $acc (i32.add (local.get $acc)
          (i32.load offset={load} (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfff)))))
        (local.set $wide (i64.add (local.get $wide)
          (i64.mul (i64.extend_i32_u (local.get $acc)) (i64.const {mul}))))
        (i32.store offset={store} (i32.and (local.get $acc) (i32.const 0xffc))
          (i32.rotl (local.get $acc) (i32.const {rot})))
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (i32.and (local.get $i) (i32.const 3))))
          (local.set $acc (i32.mul (local.get $acc) (i32.const {odd})))
          (br $b2))
          (local.set $acc (call $leaf (local.get $acc))))
        (local.set $acc (i32.sub (local.get $acc) (i32.wrap_i64 (i64.shr_u (local.get $wide) (i64.const 17)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (i32.add (local.get $acc) (local.get $p)))"#,
            acc = n * 7919,
            load = (n % 64) * 4,
            mul = 1_000_003 + n,
            store = (n % 32) * 8,
            rot = (n % 31) + 1,
            odd = n | 1,
        ));
    }
    parts.push(")".to_string());
    parts.join("\n")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf()
}

/// The `LARGEST_FIXTURES` largest `fixtures/*.wat` by file size, as `web/bench.mjs` picks them.
fn largest_fixtures(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<(u64, PathBuf)> = std::fs::read_dir(root.join("fixtures"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wat"))
                .filter_map(|p| Some((std::fs::metadata(&p).ok()?.len(), p)))
                .collect()
        })
        .unwrap_or_default();
    paths.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    paths
        .into_iter()
        .take(LARGEST_FIXTURES)
        .filter_map(|(_, p)| {
            let text = std::fs::read(&p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect()
}

/// Total size of the object's `.text` and `.text.*` sections (ELF32, little-endian).
fn text_bytes(object: &[u8]) -> Option<u64> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(object.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(object.get(at..at + 4)?.try_into().ok()?));
    if object.get(..6)? != b"\x7fELF\x01\x01" {
        return None;
    }
    let shoff = u32_at(0x20)? as usize;
    let shentsize = u16_at(0x2e)? as usize;
    let shnum = u16_at(0x30)? as usize;
    let shstrndx = u16_at(0x32)? as usize;
    let header = |index: usize| shoff + index * shentsize;
    let strtab = u32_at(header(shstrndx) + 16)? as usize;
    let mut total = 0u64;
    for index in 0..shnum {
        let name_at = strtab + u32_at(header(index))? as usize;
        let name_len = object.get(name_at..)?.iter().position(|&b| b == 0)?;
        let name = &object[name_at..name_at + name_len];
        if name == b".text" || name.starts_with(b".text.") {
            total += u64::from(u32_at(header(index) + 20)?);
        }
    }
    Some(total)
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// The smallest time at or above 90 % of the samples.
fn p90(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[(sorted.len() * 9).div_ceil(10).max(1) - 1]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

/// `f` once to warm up, then `iterations` timed runs.
fn timed<T>(iterations: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut last = f();
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        last = f();
        times.push(started.elapsed());
    }
    (times, last)
}

fn host_config(component: &Path, cache_dir: &Path, pooling: bool, concurrency: u32) -> HostConfig {
    let mut config = HostConfig::new(component);
    config.cache_dir = Some(cache_dir.to_path_buf());
    config.pooling_allocator = pooling;
    config.max_concurrent_requests = concurrency;
    config
}

fn start_host(config: &HostConfig) -> Host {
    Host::new(config).unwrap_or_else(|e| panic!("synth-host: {e}"))
}

fn native(input: &[u8], options: &Options) -> Output {
    synth_compiler::compile(input, options).unwrap_or_else(|e| panic!("native: {e}"))
}

fn hosted(host: &Host, input: &[u8], options: &Options) -> Output {
    host.compile(input, options)
        .unwrap_or_else(|e| panic!("synth-host: {e}"))
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| rows.iter().map(|r| r[i].len()).fold(h.len(), usize::max))
        .collect();
    let line = |cells: Vec<String>| {
        let cells: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        println!("| {} |", cells.join(" | "));
    };
    line(header.iter().map(|h| h.to_string()).collect());
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if i == 0 {
                "-".repeat(w + 2)
            } else {
                format!("{}:", "-".repeat(w + 1))
            }
        })
        .collect();
    println!("|{}|", rule.join("|"));
    for row in rows {
        line(row.clone());
    }
    println!();
}

fn main() {
    let args = parse_args().unwrap_or_else(|message| {
        eprintln!("host-bench: {message}");
        std::process::exit(2);
    });
    let root = workspace_root();
    let component = synth_host::workspace_component_path(&root);
    if !component.is_file() {
        eprintln!(
            "host-bench: `{}` is missing; build it with `cargo build --release --target \
             wasm32-wasip2 -p synth-compiler --bin synth`",
            component.display()
        );
        std::process::exit(2);
    }
    let cache_dir = std::env::temp_dir().join(format!("synth-host-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let options = Options::new(args.target);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "target {}; {} iterations after one warm-up; {} cores; component {} ({:.1} MiB)\n",
        args.target.name(),
        args.iterations,
        cores,
        component.display(),
        std::fs::metadata(&component).map_or(0.0, |m| m.len() as f64 / (1 << 20) as f64),
    );

    // One-time costs: compiling the component (Cranelift) into an empty cache, then loading it.
    println!("## One-time costs (`Host::new`)\n");
    let pooled_config = host_config(&component, &cache_dir, true, 2);
    let started = Instant::now();
    let host = start_host(&pooled_config);
    let cold = started.elapsed();
    if !matches!(
        host.component_source(),
        ComponentSource::CompiledAndCached(_)
    ) {
        println!("note: cold start was {:?}", host.component_source());
    }
    drop(host);
    let (loads, host) = timed(args.iterations, || start_host(&pooled_config));
    if !matches!(host.component_source(), ComponentSource::CacheHit(_)) {
        println!("note: warm start was {:?}", host.component_source());
    }
    drop(host);
    let unpooled_config = host_config(&component, &cache_dir, false, 2);
    let (unpooled_loads, unpooled) = timed(args.iterations, || start_host(&unpooled_config));
    let unpooled_source = match unpooled.component_source() {
        ComponentSource::CacheHit(_) => "cache hit",
        _ => "compiled (not a cache hit)",
    };
    drop(unpooled);
    print_table(
        &["start-up", "ms"],
        &[
            vec![
                "cold: Cranelift compile + serialize + write cache".into(),
                ms(cold),
            ],
            vec![
                "warm: load from cache (deserialize, link, pre-instantiate), pooling on".into(),
                ms(median(&loads)),
            ],
            vec![
                format!("warm, pooling off ({unpooled_source})"),
                ms(median(&unpooled_loads)),
            ],
        ],
    );
    if args.startup_only {
        let _ = std::fs::remove_dir_all(&cache_dir);
        return;
    }

    // Throughput: the same WAT text through the library and through the host.
    let host = start_host(&pooled_config);
    let mut inputs = largest_fixtures(&root);
    inputs.push((
        format!("generated ({} functions)", args.functions),
        generate_large_module(args.functions).into_bytes(),
    ));
    println!("## Compile throughput, native library vs synth-host (median)\n");
    let mut rows = Vec::new();
    for (name, text) in &inputs {
        let (native_times, native_output) = timed(args.iterations, || native(text, &options));
        let (host_times, host_output) = timed(args.iterations, || hosted(&host, text, &options));
        if native_output != host_output {
            println!(
                "warning: {name}: synth-host's output differs from the native library's (a stale \
                 synth.wasm?)"
            );
        }
        let code: u64 = host_output
            .report
            .functions
            .iter()
            .map(|f| u64::from(f.code_size))
            .sum();
        let text_size = text_bytes(&host_output.object);
        if text_size != Some(code) {
            println!("note: {name}: .text is {text_size:?} bytes, the report says {code}");
        }
        let text_size = text_size.unwrap_or(code);
        if name.starts_with("generated") && text_size < 1_000_000 {
            println!("warning: {name}: .text is only {text_size} bytes (< 1 MB)");
        }
        let (native_ms, host_ms) = (median(&native_times), median(&host_times));
        let kib = text_size as f64 / 1024.0;
        rows.push(vec![
            name.clone(),
            format!("{:.1}", text.len() as f64 / 1024.0),
            format!("{kib:.1}"),
            ms(native_ms),
            ms(host_ms),
            format!("{:.2}x", host_ms.as_secs_f64() / native_ms.as_secs_f64()),
            format!("{:.0}", kib / native_ms.as_secs_f64()),
            format!("{:.0}", kib / host_ms.as_secs_f64()),
        ]);
    }
    print_table(
        &[
            "input",
            "WAT KiB",
            ".text KiB",
            "native ms",
            "synth-host ms",
            "host/native",
            "native KiB/s",
            "host KiB/s",
        ],
        &rows,
    );
    drop(host);

    // Per-request overhead on a tiny module, pooling on and off.
    println!(
        "## Per-request overhead, tiny module ({} requests after one warm-up)\n",
        args.requests
    );
    let tiny = TINY_MODULE.as_bytes();
    let (native_tiny, _) = timed(args.requests, || native(tiny, &options));
    let mut rows = Vec::new();
    for (pooling, config) in [("on", &pooled_config), ("off", &unpooled_config)] {
        let host = start_host(config);
        let (instantiate, _) = timed(args.requests, || {
            host.targets().unwrap_or_else(|e| panic!("synth-host: {e}"))
        });
        let (compile, _) = timed(args.requests, || hosted(&host, tiny, &options));
        rows.push(vec![
            format!("pooling {pooling}"),
            ms(median(&instantiate)),
            ms(p90(&instantiate)),
            ms(median(&compile)),
            ms(p90(&compile)),
        ]);
    }
    rows.push(vec![
        "native library (no instance)".into(),
        "-".into(),
        "-".into(),
        ms(median(&native_tiny)),
        ms(p90(&native_tiny)),
    ]);
    print_table(
        &[
            "",
            "Store + instantiate + `targets` median ms",
            "p90 ms",
            "Store + instantiate + compile median ms",
            "p90 ms",
        ],
        &rows,
    );

    // Concurrency: the same requests one at a time vs two threads sharing one host.
    println!("## Requests in flight: 2 threads vs 1 (same total requests, pooling on)\n");
    let host = start_host(&pooled_config);
    let big = inputs
        .iter()
        .find(|(name, _)| name == "huge_frame.wat")
        .or(inputs.first())
        .cloned();
    let mut workloads: Vec<(String, Vec<u8>)> = vec![("tiny module".into(), tiny.to_vec())];
    if let Some(second) = inputs.get(1) {
        workloads.push(second.clone());
    }
    workloads.extend(big);
    let mut rows = Vec::new();
    for (name, text) in &workloads {
        // Enough requests for the one-at-a-time host run to last about 1.5 s (thread start-up
        // is then noise), and at least `iterations` per thread; the same count for both.
        let (single, _) = timed(3, || hosted(&host, text, &options));
        let enough = (1.5 / median(&single).as_secs_f64().max(1e-6)).ceil() as usize;
        let requests = enough.clamp(2 * args.iterations, 20_000).div_ceil(2) * 2;
        for (via, run) in [
            (
                "native",
                &(|| {
                    native(text, &options);
                }) as &(dyn Fn() + Sync),
            ),
            (
                "synth-host",
                &(|| {
                    hosted(&host, text, &options);
                }) as &(dyn Fn() + Sync),
            ),
        ] {
            run();
            let started = Instant::now();
            for _ in 0..requests {
                run();
            }
            let one = started.elapsed();
            let started = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        for _ in 0..requests / 2 {
                            run();
                        }
                    });
                }
            });
            let two = started.elapsed();
            let rate = |d: Duration| requests as f64 / d.as_secs_f64();
            rows.push(vec![
                format!("{name}, {via}"),
                requests.to_string(),
                format!("{:.1}", rate(one)),
                format!("{:.1}", rate(two)),
                format!("{:.2}x", rate(two) / rate(one)),
            ]);
        }
    }
    print_table(
        &[
            "workload",
            "requests",
            "1 in flight req/s",
            "2 in flight req/s",
            "speed-up",
        ],
        &rows,
    );
    drop(host);
    let _ = std::fs::remove_dir_all(&cache_dir);
}

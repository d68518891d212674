//! Throughput and latency of the service under `wasmtime serve`: the same fixture mix from 1, 2
//! and 4 concurrent clients (a request per connection), after a warm-up.
//!
//!     cargo build --release --target wasm32-wasip2 -p synth-service
//!     cargo run --release -p synth-service --example serve-bench [-- REQUESTS_PER_CLIENT]

use std::path::Path;
use std::time::{Duration, Instant};
use synth_service::serve::{Server, component_path, request};

const MIX: [(&str, &str); 4] = [
    ("fib.wat", "cortex-m4"),
    ("crc32_table.wat", "rv32imac"),
    ("qsort_callbacks.wat", "cortex-m7dp"),
    ("register_pressure.wat", "cortex-m3"),
];

fn main() -> Result<(), String> {
    let per_client: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().map_err(|e| format!("REQUESTS_PER_CLIENT: {e}"))?,
        None => 20,
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let inputs: Vec<(String, Vec<u8>)> = MIX
        .iter()
        .map(|(name, target)| {
            let body = std::fs::read(fixtures.join(name)).map_err(|e| format!("{name}: {e}"))?;
            Ok((format!("/compile?target={target}"), body))
        })
        .collect::<Result<_, String>>()?;
    let server = Server::start(&component_path(), &["timeout=60s"])?;
    let timeout = Duration::from_secs(120);
    for (path, body) in &inputs {
        request(server.addr, "POST", path, body, timeout)?;
    }
    println!(
        "{} requests per client, fixtures {:?}",
        per_client,
        MIX.map(|m| m.0)
    );
    println!("clients  requests  wall s  req/s   p50 ms  p95 ms  max ms");
    for clients in [1usize, 2, 4] {
        let start = Instant::now();
        let workers: Vec<_> = (0..clients)
            .map(|c| {
                let inputs = inputs.clone();
                let addr = server.addr;
                std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                    let mut latencies = Vec::new();
                    for i in 0..per_client {
                        let (path, body) = &inputs[(c + i) % inputs.len()];
                        let sent = Instant::now();
                        let reply = request(addr, "POST", path, body, timeout)?;
                        if reply.status != 200 {
                            return Err(format!("{path}: status {}", reply.status));
                        }
                        latencies.push(sent.elapsed());
                    }
                    Ok(latencies)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for worker in workers {
            latencies.extend(worker.join().map_err(|_| "a client panicked")??);
        }
        let wall = start.elapsed().as_secs_f64();
        latencies.sort();
        let ms =
            |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
        println!(
            "{clients:>7}  {:>8}  {wall:>6.2}  {:>5.1}  {:>6.1}  {:>6.1}  {:>6.1}",
            latencies.len(),
            latencies.len() as f64 / wall,
            ms(0.5),
            ms(0.95),
            ms(1.0)
        );
    }
    Ok(())
}

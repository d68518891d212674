//! The service under `wasmtime serve` on a loopback port: concurrent compilations give the
//! native library's bytes; bad input, oversize bodies, wrong methods and deadline hits get
//! clean error responses while the server keeps serving.

use base64::Engine as _;
use std::path::Path;
use std::time::Duration;
use synth_compiler::{Options, Target, compile};
use synth_service::serve::{Server, component_path, request, request_typed};

const TIMEOUT: Duration = Duration::from_secs(120);

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

#[test]
fn concurrent_requests_get_the_native_bytes_and_bad_ones_clean_errors() {
    let server = Server::start(
        &component_path(),
        &["timeout=60s", "max-memory-size=536870912"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = server.addr;
    let jobs = [
        ("fib.wat", Target::CortexM4),
        ("crc32_table.wat", Target::Rv32imac),
        ("qsort_callbacks.wat", Target::CortexM7DP),
        ("float_ops.wat", Target::CortexM4F),
        ("bulk_buffers.wat", Target::Rv32imafc),
        ("register_pressure.wat", Target::CortexM3),
    ];
    // Six clients at once, two requests each (the second with options), plus garbage.
    let handles: Vec<_> = jobs
        .iter()
        .map(|&(name, target)| {
            std::thread::spawn(move || {
                let input = fixture(name);
                for (query, bounds_checks) in
                    [("", true), ("&bounds-checks=0&module-name=m", false)]
                {
                    let path = format!("/compile?target={}{query}", target.name());
                    let reply = request(addr, "POST", &path, &input, TIMEOUT)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(
                        reply.status,
                        200,
                        "{name}: {}",
                        String::from_utf8_lossy(&reply.body)
                    );
                    let doc = json(&reply.body);
                    let mut options = Options::new(target);
                    options.bounds_checks = bounds_checks;
                    options.module_name = (!bounds_checks).then(|| "m".to_string());
                    let native = compile(&input, &options).expect("compiles natively");
                    let object = base64::engine::general_purpose::STANDARD
                        .decode(doc["object"].as_str().expect("an object"))
                        .expect("base64");
                    assert!(
                        object == native.object,
                        "{name} {query}: served bytes differ"
                    );
                    assert_eq!(doc["header"].as_str(), Some(native.header.as_str()));
                    assert_eq!(doc["report"]["target"].as_str(), Some(target.name()));
                }
                let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
                let reply = request(addr, "POST", "/compile?target=rv32imac", &garbage, TIMEOUT)
                    .unwrap_or_else(|e| panic!("garbage: {e}"));
                assert_eq!(reply.status, 400);
                assert_eq!(json(&reply.body)["error"]["kind"], "malformed");
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a client thread");
    }

    let post = |path: &str, body: &[u8]| {
        request(addr, "POST", path, body, TIMEOUT).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    // An oversize body is refused by its declared length.
    let reply = post(
        "/compile?target=cortex-m4",
        &vec![0u8; synth_service::MAX_BODY_BYTES + 1],
    );
    assert_eq!(reply.status, 413);
    assert_eq!(json(&reply.body)["error"]["kind"], "limit");
    // A valid module synth does not compile, bad options, another method or path.
    let shared = br#"(module (memory 1 1 shared))"#;
    assert_eq!(post("/compile?target=cortex-m4", shared).status, 422);
    assert_eq!(
        post("/compile?target=pdp11", &fixture("fib.wat")).status,
        400
    );
    let reply = request(addr, "GET", "/compile?target=cortex-m4", b"", TIMEOUT).unwrap();
    assert_eq!((reply.status, reply.header("allow")), (405, Some("POST")));
    assert_eq!(post("/nowhere", b"x").status, 404);
    let form = b"--x\r\ncontent-disposition: form-data; name=m\r\n\r\n(module)\r\n--x--\r\n";
    let reply = request_typed(
        addr,
        "POST",
        "/compile?target=cortex-m4",
        "multipart/form-data; boundary=x",
        form,
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(reply.status, 415);
    // Still serving.
    let reply = post(
        "/compile?target=cortex-m4&output=object",
        &fixture("fib.wat"),
    );
    let native = compile(&fixture("fib.wat"), &Options::new(Target::CortexM4)).unwrap();
    assert_eq!((reply.status, reply.body), (200, native.object));
}

/// A module big enough that compiling it takes far longer than the deadline.
fn slow_module() -> Vec<u8> {
    let mut wat = String::from("(module (memory 1)");
    for f in 0..400 {
        wat.push_str(&format!(
            "(func (export \"f{f}\") (param i32) (result i32) (local i32 i32 i32)"
        ));
        for i in 0..60 {
            wat.push_str(&format!(
                "(local.set 1 (i32.add (local.get 0) (i32.load offset={} (local.get 2))))\
                 (local.set 2 (i32.mul (local.get 1) (local.get 3)))\
                 (local.set 3 (i32.xor (local.get 2) (i32.const {i})))",
                4 * i
            ));
        }
        wat.push_str("(local.get 3))");
    }
    wat.push(')');
    wat.into_bytes()
}

#[test]
fn a_deadline_hit_is_an_error_response_and_the_server_keeps_serving() {
    let server =
        Server::start(&component_path(), &["timeout=100ms"]).unwrap_or_else(|e| panic!("{e}"));
    let reply = request(
        server.addr,
        "POST",
        "/compile?target=cortex-m4",
        &slow_module(),
        TIMEOUT,
    )
    .expect("an answer, not a dropped connection");
    assert!(reply.status >= 500, "status {}", reply.status);
    let reply = request(server.addr, "GET", "/health", b"", TIMEOUT).expect("still serving");
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"ok\n"[..]));
}

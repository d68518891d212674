//! The synth compiler as a wasi:http service: any wasi:http host (`wasmtime serve`, Spin,
//! wasmCloud, ...) runs it, each request in its own instance, with the host's limits.
//!
//! `POST /compile?target=T` with the module (wasm binary or WAT text) as the body answers the
//! object, the C header and the JSON report as one JSON document
//! `{"object": BASE64, "header": TEXT, "report": {...}}`. Query parameters: `target` (required),
//! `bounds-checks`, `stack-check`, `optimize`, `optimize-for-size`, `spill-realloc` (0/1,
//! false/true, off/on, no/yes), `module-name`, `max-memory-pages`, and `output` (`json`, the default, or `object`,
//! `header`, `report` for that part alone). Errors are JSON `{"error": {"kind", "message",
//! "offset", "function"}}`: 400 for a bad request or a module that is not valid wasm, 404/405
//! for another path or method, 413 for a body over `MAX_BODY_BYTES`, 415 for a multipart form
//! (the module goes in the body itself), 422 for a valid module
//! synth does not compile (unsupported, or over a synth limit), 500 for a bug in synth.
//! `GET /health` answers `ok`.

pub mod request;
#[cfg(not(target_arch = "wasm32"))]
pub mod serve;

#[cfg(target_arch = "wasm32")]
mod export;

pub use request::{MAX_BODY_BYTES, Response, handle};

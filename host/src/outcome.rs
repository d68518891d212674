//! How a `synth-host` run ends, for the people and machines that read it: an exit status per
//! class of failure (so a CI farm can tell a tenant's bad module from a limit it set, a bug in
//! synth or a broken host) and the `--json` records of results, errors and request metrics.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use synth_compiler::ErrorKind;
use synth_host::{ComponentSource, RequestError, RequestMetrics};

/// The exit status of `synth-host`, by class. A batch exits with the most severe class any of
/// its inputs had: the codes are ordered by severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok = 0,
    /// The module was rejected: not wasm or WAT, invalid, or using what synth does not compile.
    BadInput = 1,
    /// The command line (or an option value the compiler refused) is wrong.
    Usage = 2,
    /// A limit the operator set was hit (input size, memory, time, fuel).
    Limit = 3,
    /// The compiler component trapped or reported an internal error: a bug in synth.
    CompilerBug = 4,
    /// The host could not do its part: the component does not load, a file cannot be read or
    /// written, wasmtime failed.
    HostError = 5,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 6] = [
        Status::Ok,
        Status::BadInput,
        Status::Usage,
        Status::Limit,
        Status::CompilerBug,
        Status::HostError,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadInput => "bad-input",
            Status::Usage => "usage",
            Status::Limit => "limit",
            Status::CompilerBug => "compiler-bug",
            Status::HostError => "host-error",
        }
    }
}

/// A failed request or command: its class, the message for people and, for errors of the
/// compiler, where in the module.
#[derive(Clone, Debug)]
pub struct Failure {
    pub status: Status,
    pub message: String,
    /// `ErrorKind` of a compile error, or the limit's flag, or `trap` / `host`.
    pub kind: String,
    pub offset: Option<u64>,
    pub function: Option<String>,
}

impl Failure {
    pub fn new(status: Status, kind: &str, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            kind: kind.to_string(),
            offset: None,
            function: None,
        }
    }

    /// A file that cannot be read or written.
    pub fn io(message: impl Into<String>) -> Self {
        Failure::new(Status::HostError, "io", message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(Status::Usage, "usage", message)
    }

    /// Prefix the message with the input's name (the error's fields stay as they are).
    pub fn in_input(mut self, input: &str) -> Self {
        self.message = format!("{input}: {}", self.message);
        self
    }

    pub fn to_json(&self) -> Value {
        json!({
            "class": self.status.name(),
            "kind": self.kind,
            "message": self.message,
            "offset": self.offset,
            "function": self.function,
        })
    }
}

impl From<RequestError> for Failure {
    fn from(error: RequestError) -> Self {
        let message = error.to_string();
        match error {
            RequestError::Compile(e) => {
                let status = match e.kind {
                    ErrorKind::Malformed
                    | ErrorKind::Invalid
                    | ErrorKind::Unsupported
                    | ErrorKind::Limit => Status::BadInput,
                    ErrorKind::Options => Status::Usage,
                    ErrorKind::Internal => Status::CompilerBug,
                };
                Failure {
                    status,
                    message,
                    kind: e.kind.as_str().to_string(),
                    offset: e.offset,
                    function: e.function,
                }
            }
            RequestError::Limit { limit, .. } => Failure::new(
                Status::Limit,
                limit.flag().trim_start_matches("--"),
                message,
            ),
            RequestError::Trap(_) => Failure::new(Status::CompilerBug, "trap", message),
            RequestError::Host(_) => Failure::new(Status::HostError, "host", message),
        }
    }
}

pub fn millis(d: Duration) -> f64 {
    // Microsecond resolution keeps the JSON short and is finer than anything measured here.
    (d.as_micros() as f64) / 1000.0
}

pub fn metrics_json(metrics: &RequestMetrics) -> Value {
    json!({
        "time_ms": millis(metrics.elapsed),
        "queued_ms": millis(metrics.queued),
        "fuel_used": metrics.fuel_used,
        "peak_memory_bytes": metrics.peak_memory_bytes,
    })
}

/// Where the host's native code for the component came from: `hit` (cache file), `miss`
/// (compiled now and cached) or `uncached`.
pub fn cache_json(source: &ComponentSource) -> Value {
    match source {
        ComponentSource::CacheHit(_) => json!("hit"),
        ComponentSource::CompiledAndCached(_) => json!("miss"),
        ComponentSource::Compiled { .. } => json!("uncached"),
    }
}

/// One input's record: what was written, or the error, and what the request cost.
pub fn request_json(
    input: &Path,
    outcome: &Result<Vec<String>, Failure>,
    object_bytes: Option<usize>,
    metrics: &RequestMetrics,
) -> Value {
    let mut record = json!({
        "input": input.display().to_string(),
        "status": outcome.as_ref().map_or_else(|f| f.status.name(), |_| Status::Ok.name()),
        "exit_code": outcome.as_ref().map_or_else(|f| f.status.code(), |_| 0),
        "metrics": metrics_json(metrics),
    });
    match outcome {
        Ok(files) => {
            record["files"] = json!(files);
            record["object_bytes"] = json!(object_bytes);
        }
        Err(failure) => record["error"] = failure.to_json(),
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use synth_compiler::CompileError;
    use synth_host::LimitKind;

    #[test]
    fn every_class_has_its_own_exit_code() {
        let mut codes: Vec<u8> = Status::ALL.iter().map(|s| s.code()).collect();
        codes.dedup();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5]);
        // A batch reports the most severe: the codes are ordered by severity.
        assert_eq!(
            Status::BadInput.max(Status::CompilerBug),
            Status::CompilerBug
        );
        assert_eq!(Status::HostError.max(Status::Limit), Status::HostError);
    }

    #[test]
    fn request_errors_map_to_their_class() {
        let mut invalid = CompileError::new(ErrorKind::Invalid, "type mismatch");
        invalid.offset = Some(0x2a);
        invalid.function = Some("run".into());
        let f = Failure::from(RequestError::Compile(invalid));
        assert_eq!((f.status, f.kind.as_str()), (Status::BadInput, "invalid"));
        let record = f.to_json();
        assert_eq!(record["offset"], json!(42));
        assert_eq!(record["function"], json!("run"));
        let internal = CompileError::new(ErrorKind::Internal, "oops");
        assert_eq!(
            Failure::from(RequestError::Compile(internal)).status,
            Status::CompilerBug
        );
        let limit = RequestError::Limit {
            limit: LimitKind::Fuel,
            detail: "used up".into(),
        };
        let f = Failure::from(limit);
        assert_eq!((f.status, f.kind.as_str()), (Status::Limit, "fuel"));
        assert_eq!(
            Failure::from(RequestError::Trap("unreachable".into())).status,
            Status::CompilerBug
        );
        assert_eq!(
            Failure::from(RequestError::Host("no".into())).status,
            Status::HostError
        );
    }
}

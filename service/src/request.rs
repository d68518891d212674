//! Requests to responses, independent of the wasi:http types (so it is tested natively).

use base64::Engine as _;
use synth_compiler::cli::parse_switch;
use synth_compiler::{CompileError, ErrorKind, Options, Target, compile};

/// The largest module the service accepts (8 MiB).
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// An HTTP response: status, content type, extra headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body,
        }
    }

    /// An error response with the JSON error document.
    pub fn error(status: u16, kind: &str, message: &str) -> Response {
        let error = serde_json::json!({
            "error": { "kind": kind, "message": message, "offset": null, "function": null }
        });
        Response::new(status, "application/json", error.to_string().into_bytes())
    }

    fn compile_error(e: &CompileError) -> Response {
        let status = match e.kind {
            ErrorKind::Malformed | ErrorKind::Invalid | ErrorKind::Options => 400,
            ErrorKind::Unsupported | ErrorKind::Limit => 422,
            ErrorKind::Internal => 500,
        };
        let error = serde_json::json!({
            "error": {
                "kind": e.kind.as_str(),
                "message": e.message,
                "offset": e.offset,
                "function": e.function,
            }
        });
        Response::new(status, "application/json", error.to_string().into_bytes())
    }
}

/// Why the body could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than `MAX_BODY_BYTES`.
    TooLarge,
    /// The stream failed.
    Broken(String),
}

/// Which part of the output a request wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Json,
    Object,
    Header,
    Report,
}

/// Answers one request: `method`, the path with its query, its content type and the body as
/// read.
pub fn handle(
    method: &str,
    path_with_query: &str,
    content_type: Option<&str>,
    body: Result<Vec<u8>, BodyError>,
) -> Response {
    let (path, query) = path_with_query
        .split_once('?')
        .unwrap_or((path_with_query, ""));
    match (path, method) {
        ("/health", "GET") => Response::new(200, "text/plain", b"ok\n".to_vec()),
        ("/compile", "POST") if content_type.is_some_and(|t| t.starts_with("multipart/")) => {
            Response::error(
                415,
                "usage",
                "send the module itself as the body (options go in the query), not a multipart form",
            )
        }
        ("/compile", "POST") => match body {
            Ok(body) => compile_request(query, &body),
            Err(BodyError::TooLarge) => Response::error(
                413,
                "limit",
                &format!("the module is larger than {MAX_BODY_BYTES} bytes"),
            ),
            Err(BodyError::Broken(why)) => {
                Response::error(400, "usage", &format!("reading the body: {why}"))
            }
        },
        ("/compile", _) | ("/health", _) => {
            let mut response =
                Response::error(405, "usage", &format!("{method} is not allowed on {path}"));
            let allow = if path == "/compile" { "POST" } else { "GET" };
            response.headers.push(("allow", allow.to_string()));
            response
        }
        _ => Response::error(404, "usage", &format!("no such resource: {path}")),
    }
}

fn compile_request(query: &str, body: &[u8]) -> Response {
    let (options, part) = match parse_query(query) {
        Ok(parsed) => parsed,
        Err(message) => return Response::error(400, "usage", &message),
    };
    if body.is_empty() {
        return Response::error(400, "usage", "the body is empty: send the module");
    }
    let output = match compile(body, &options) {
        Ok(output) => output,
        Err(e) => return Response::compile_error(&e),
    };
    match part {
        Part::Object => Response::new(200, "application/octet-stream", output.object),
        Part::Header => Response::new(200, "text/x-c", output.header.into_bytes()),
        Part::Report => Response::new(200, "application/json", output.report.to_json().into()),
        Part::Json => {
            let object = base64::engine::general_purpose::STANDARD.encode(&output.object);
            let document = format!(
                "{{\"object\":{},\"header\":{},\"report\":{}}}",
                serde_json::Value::String(object),
                serde_json::Value::String(output.header),
                output.report.to_json()
            );
            Response::new(200, "application/json", document.into_bytes())
        }
    }
}

/// The compile options and the wanted part from the query string.
fn parse_query(query: &str) -> Result<(Options, Part), String> {
    let mut target = None;
    let mut switches: Vec<(&str, bool)> = Vec::new();
    let mut module_name = None;
    let mut max_memory_pages = None;
    let mut part = Part::Json;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).ok_or_else(|| format!("`{key}`: bad %-escape"))?;
        match key {
            "target" => target = Some(Target::parse(&value).map_err(|e| e.message)?),
            "bounds-checks" | "stack-check" | "optimize" | "optimize-for-size"
            | "spill-realloc" => {
                let on = parse_switch(&value).ok_or_else(|| {
                    format!("`{key}` wants 0/1, false/true, off/on or no/yes, not `{value}`")
                })?;
                switches.push((key, on));
            }
            "module-name" => module_name = Some(value),
            "max-memory-pages" => {
                let pages = value.parse::<u32>().ok().filter(|p| *p <= 65536);
                let pages = pages.ok_or_else(|| {
                    format!("`max-memory-pages` wants a page count from 0 to 65536, not `{value}`")
                })?;
                max_memory_pages = Some(pages);
            }
            "output" => {
                part = match value.as_str() {
                    "json" => Part::Json,
                    "object" => Part::Object,
                    "header" => Part::Header,
                    "report" => Part::Report,
                    other => {
                        return Err(format!(
                            "`output` is json, object, header or report, not `{other}`"
                        ));
                    }
                }
            }
            other => return Err(format!("unknown parameter `{other}`")),
        }
    }
    let target = target.ok_or_else(|| {
        let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
        format!("`target` is required (one of {})", names.join(", "))
    })?;
    let mut options = Options::new(target);
    for (key, on) in switches {
        match key {
            "bounds-checks" => options.bounds_checks = on,
            "stack-check" => options.stack_check = on,
            "optimize" => options.optimize = on,
            "optimize-for-size" => options.optimize_for_size = on,
            _ => options.spill_realloc = on,
        }
    }
    options.module_name = module_name;
    options.max_memory_pages = max_memory_pages;
    Ok((options, part))
}

/// `%XX` escapes and `+` as a space, as forms encode a query; `None` for a bad escape or
/// bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(b) = rest.next() {
        bytes.push(match b {
            b'%' => {
                let hex = [rest.next()?, rest.next()?];
                u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?
            }
            b'+' => b' ',
            b => b,
        });
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
        (i32.add (local.get 0) (local.get 1))))"#;

    fn json(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).expect("a JSON body")
    }

    #[test]
    fn compiles_to_the_same_bytes_as_the_library() {
        let r = handle(
            "POST",
            "/compile?target=cortex-m4&module-name=app&bounds-checks=off",
            None,
            Ok(MODULE.as_bytes().to_vec()),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let doc = json(&r);
        let mut options = Options::new(Target::CortexM4);
        options.module_name = Some("app".into());
        options.bounds_checks = false;
        let native = compile(MODULE.as_bytes(), &options).unwrap();
        let object = base64::engine::general_purpose::STANDARD
            .decode(doc["object"].as_str().unwrap())
            .unwrap();
        assert_eq!(object, native.object);
        assert_eq!(doc["header"].as_str().unwrap(), native.header);
        assert_eq!(doc["report"]["functions"][0]["name"], "add");
        let raw = handle(
            "POST",
            "/compile?target=cortex-m4&module-name=app&bounds-checks=off&output=object",
            None,
            Ok(MODULE.as_bytes().to_vec()),
        );
        assert_eq!(raw.body, native.object);
    }

    #[test]
    fn bad_requests_get_their_status_and_a_json_error() {
        let module = || Ok(MODULE.as_bytes().to_vec());
        let cases: Vec<(Response, u16, &str)> = vec![
            (
                handle("POST", "/compile", None, module()),
                400,
                "`target` is required",
            ),
            (
                handle("POST", "/compile?target=z80", None, module()),
                400,
                "z80",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac&optimize=maybe",
                    None,
                    module(),
                ),
                400,
                "maybe",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac&colour=red",
                    None,
                    module(),
                ),
                400,
                "colour",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac&module-name=%zz",
                    None,
                    module(),
                ),
                400,
                "escape",
            ),
            (
                handle("POST", "/compile?target=rv32imac", None, Ok(Vec::new())),
                400,
                "empty",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac",
                    None,
                    Ok(b"\0asm\x01".to_vec()),
                ),
                400,
                "",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac",
                    None,
                    Ok(b"(module (func $f (result i32)))".to_vec()),
                ),
                400,
                "",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac",
                    None,
                    Err(BodyError::TooLarge),
                ),
                413,
                "larger",
            ),
            (
                handle("GET", "/compile?target=rv32imac", None, Ok(Vec::new())),
                405,
                "GET",
            ),
            (
                handle("POST", "/elsewhere", None, module()),
                404,
                "elsewhere",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac",
                    Some("multipart/form-data; b=x"),
                    module(),
                ),
                415,
                "multipart",
            ),
            (
                handle(
                    "POST",
                    "/compile?target=rv32imac",
                    None,
                    Ok(br#"(module (memory 1 1 shared))"#.to_vec()),
                ),
                422,
                "",
            ),
        ];
        for (r, status, needle) in cases {
            assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
            let doc = json(&r);
            let message = doc["error"]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{message} lacks {needle}");
            assert!(doc["error"]["kind"].is_string());
        }
    }

    #[test]
    fn health_answers_ok() {
        assert_eq!(handle("GET", "/health", None, Ok(Vec::new())).body, b"ok\n");
    }
}

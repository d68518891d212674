//! Running the service under `wasmtime serve` and talking to it, for the tests and the
//! benchmark (native only). The client is a minimal HTTP/1.1 one: a request per connection.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The service component as `cargo build --release --target wasm32-wasip2 -p synth-service`
/// writes it.
pub fn component_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release/synth_service.wasm")
}

/// A `wasmtime serve` process on a loopback port; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Serves `component` with wasmtime's `-W` options `limits` (e.g. `timeout=5s`).
    pub fn start(component: &Path, limits: &[&str]) -> Result<Server, String> {
        if !component.is_file() {
            return Err(format!(
                "`{}` is missing: `./dev test` builds it, or run `cargo build --release \
                 --target wasm32-wasip2 -p synth-service`",
                component.display()
            ));
        }
        // A free port: bind, note it, release it for wasmtime.
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?;
        let mut command = Command::new("wasmtime");
        command.args(["serve", "-S", "cli=y", "--addr", &addr.to_string()]);
        for limit in limits {
            command.args(["-W", limit]);
        }
        let child = command
            .arg(component)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!("cannot start `wasmtime serve` (is wasmtime-cli installed?): {e}")
            })?;
        let mut server = Server { child, addr };
        server.wait_until_serving()?;
        Ok(server)
    }

    fn wait_until_serving(&mut self) -> Result<(), String> {
        let stderr = self.child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(line)) if line.contains("Serving HTTP") => {
                    // Keep draining stderr so the server never blocks on a full pipe.
                    std::thread::spawn(move || for _ in lines.by_ref() {});
                    return Ok(());
                }
                Some(Ok(_)) => continue,
                _ => break,
            }
        }
        Err("`wasmtime serve` did not start".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let found = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection, with a deadline for the whole exchange.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Reply, String> {
    request_typed(addr, method, path, "application/wasm", body, timeout)
}

/// `request` with another content type.
pub fn request_typed(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Reply, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {content_type}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    // A server may answer (413) before taking the whole body: a failed write is not an error.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("receive: {e}"))?;
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Result<Reply, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {} bytes", raw.len()))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size `{size_text}`: {e}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("truncated chunk end")?;
    }
}

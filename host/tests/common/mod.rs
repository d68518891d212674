//! Shared set-up of the delivery tests: where the built component is, one cached `Host` per
//! configuration, and the fixtures.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use synth_host::{Host, HostConfig, Limits};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf()
}

/// The built component; a missing one fails the test with the command that builds it.
pub fn component_path() -> PathBuf {
    let path = synth_host::workspace_component_path(&workspace_root());
    assert!(
        path.is_file(),
        "the compiler component `{}` is missing: `./dev test` builds it, or run \
         `cargo build --release --target wasm32-wasip2 -p synth-compiler --bin synth`",
        path.display()
    );
    path
}

/// A cache under the workspace's target directory: the component is compiled once per
/// machine and engine configuration, not once per test run.
pub fn cache_dir() -> PathBuf {
    workspace_root()
        .join("target")
        .join("synth-host-test-cache")
}

pub fn host_config(limits: Limits) -> HostConfig {
    let mut config = HostConfig::new(component_path());
    config.cache_dir = Some(cache_dir());
    config.limits = limits;
    config
}

/// The host every test without special limits shares (the component is instantiated per
/// request, so sharing is what production does too).
pub fn shared_host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let limits = Limits {
            timeout: Some(Duration::from_secs(300)),
            ..Limits::default()
        };
        Host::new(&host_config(limits)).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Every `fixtures/*.wat`, sorted: (name, text).
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = workspace_root().join("fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "too few fixtures in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .expect("fixture name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read(&path).expect("read fixture");
            (name, text)
        })
        .collect()
}

/// Fails with the install command unless `wasmtime --version` says 48.0.8.
pub fn require_wasmtime_cli() {
    let output = std::process::Command::new("wasmtime")
        .arg("--version")
        .output();
    let version = match output {
        Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
        Err(e) => panic!(
            "cannot run `wasmtime` ({e}): `./dev test` installs it, or run \
             `cargo install wasmtime-cli --version 48.0.8 --locked`"
        ),
    };
    assert!(
        version.contains("48.0.8"),
        "`wasmtime --version` says `{}`, these tests need 48.0.8: \
         `cargo install wasmtime-cli --version 48.0.8 --locked`",
        version.trim()
    );
}

/// A scratch directory under target/, emptied first.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target")
        .join("synth-host-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

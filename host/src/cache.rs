//! Compile the component once per (component bytes, engine configuration) and keep the native
//! code in a cache directory, so starting a host is a file map instead of a compilation.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::SetupError;

/// Where the host's native code for the component came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentSource {
    /// Loaded from this cache file.
    CacheHit(PathBuf),
    /// Compiled now and written to this cache file.
    CompiledAndCached(PathBuf),
    /// Compiled now; not cached (no cache directory, or writing failed for the given reason).
    Compiled { cache_error: Option<String> },
}

pub(crate) fn load(
    engine: &Engine,
    component_path: &Path,
    cache_dir: Option<&Path>,
) -> Result<(Component, ComponentSource), SetupError> {
    let bytes = std::fs::read(component_path).map_err(|e| {
        SetupError(format!(
            "cannot read the compiler component `{}`: {e} (build it with `cargo build --release \
             --target wasm32-wasip2 -p synth-compiler --bin synth`)",
            component_path.display()
        ))
    })?;
    let compile = || {
        Component::new(engine, &bytes).map_err(|e| {
            SetupError(format!(
                "cannot compile `{}`: {e:#}",
                component_path.display()
            ))
        })
    };
    let Some(cache_dir) = cache_dir else {
        return Ok((compile()?, ComponentSource::Compiled { cache_error: None }));
    };

    let cache_file = cache_dir.join(format!("synth-{}.cwasm", cache_key(engine, &bytes)));
    // Hosts started at once in one process compile the component once: the others wait here
    // and then find it cached. (A poisoned lock guards nothing but this ordering.)
    static LOADING: Mutex<()> = Mutex::new(());
    let _loading = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    if cache_file.is_file() {
        // SAFETY: deserializing trusts the file to be wasmtime's own output. It is: the name
        // is derived from the component bytes and the engine configuration, and only this
        // function writes such files, into a directory the operator owns. A file wasmtime
        // finds incompatible is an error here, and we recompile below.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cache_file) } {
            return Ok((component, ComponentSource::CacheHit(cache_file)));
        }
    }
    let component = compile()?;
    let source = match write_cache_file(&component, cache_dir, &cache_file) {
        Ok(()) => ComponentSource::CompiledAndCached(cache_file),
        Err(reason) => ComponentSource::Compiled {
            cache_error: Some(reason),
        },
    };
    Ok((component, source))
}

/// SHA-256 of the component bytes and of everything wasmtime says makes compiled code
/// incompatible (its version, target, and settings such as fuel and epoch instrumentation).
fn cache_key(engine: &Engine, component_bytes: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(b"synth-host component cache 1\0");
    hasher.write(&Sha256::digest(component_bytes));
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    let digest = hasher.0.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds `std::hash::Hash` output into SHA-256 (the compatibility hash is only `Hash`).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        // Never used: the key is the SHA-256 digest.
        0
    }
}

/// Write to a unique temporary name, then rename: concurrent hosts never see half a file.
fn write_cache_file(component: &Component, dir: &Path, file: &Path) -> Result<(), String> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let serialized = component
        .serialize()
        .map_err(|e| format!("cannot serialize the component: {e:#}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let temp = dir.join(format!(
        ".synth-{}-{}.tmp",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::write(&temp, serialized)
        .and_then(|()| std::fs::rename(&temp, file))
        .map_err(|e| format!("cannot write `{}`: {e}", file.display()));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_bytes_and_engine_settings() {
        let plain = Engine::default();
        let fueled = Engine::new(wasmtime::Config::new().consume_fuel(true)).unwrap();
        let a = cache_key(&plain, b"component a");
        assert_eq!(a, cache_key(&plain, b"component a"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, cache_key(&plain, b"component b"));
        assert_ne!(a, cache_key(&fueled, b"component a"));
    }

    #[test]
    fn cache_is_reused_and_invalidated_when_the_component_changes() {
        let dir = std::env::temp_dir().join(format!("synth-host-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let component = dir.join("tiny.wat");
        let cache = dir.join("cache");
        std::fs::write(&component, "(component)").unwrap();
        let engine = Engine::default();

        let (_, first) = load(&engine, &component, Some(&cache)).unwrap();
        let ComponentSource::CompiledAndCached(file) = first else {
            panic!("first load: {first:?}");
        };
        let (_, second) = load(&engine, &component, Some(&cache)).unwrap();
        assert_eq!(second, ComponentSource::CacheHit(file.clone()));

        std::fs::write(&component, "(component (core module))").unwrap();
        let (_, changed) = load(&engine, &component, Some(&cache)).unwrap();
        match changed {
            ComponentSource::CompiledAndCached(new_file) => assert_ne!(new_file, file),
            other => panic!("changed component: {other:?}"),
        }

        // A corrupt cache file is recompiled over, not trusted.
        std::fs::write(&file, b"not wasmtime's output").unwrap();
        std::fs::write(&component, "(component)").unwrap();
        let (_, recovered) = load(&engine, &component, Some(&cache)).unwrap();
        assert_eq!(recovered, ComponentSource::CompiledAndCached(file));

        let (_, uncached) = load(&engine, &component, None).unwrap();
        assert_eq!(uncached, ComponentSource::Compiled { cache_error: None });
        let _ = std::fs::remove_dir_all(&dir);
    }
}

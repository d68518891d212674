//! synth-host: compile WebAssembly modules by running the synth compiler component
//! (`synth.wasm`) under wasmtime, one sandboxed instance per request.
//!
//! The component is compiled once (and cached on disk, keyed by its bytes and the engine's
//! configuration), pre-instantiated with a WASI context that grants nothing, and every request
//! then gets its own `Store` with the operator's limits: input size (checked before any byte
//! enters the guest), linear memory, and a wall-clock deadline and/or a fuel budget. A tripped
//! limit or a trap inside the component fails that request only; the `Host` keeps serving.

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "synth",
    });
}
mod cache;
mod convert;
mod sandbox;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use synth_compiler::{CompileError, Options, Output, Target};
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

pub use cache::ComponentSource;
use sandbox::{EpochTicker, RequestSlots, RequestState};

/// Where `cargo build --release --target wasm32-wasip2 -p synth-compiler --bin synth` puts the
/// component, relative to the workspace root.
pub const DEFAULT_COMPONENT_PATH: &str = "target/wasm32-wasip2/release/synth.wasm";

/// Per-request limits, set by the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted; checked before the input is copied into the guest.
    pub max_input_bytes: usize,
    /// Largest size the request's linear memories may grow to.
    pub max_memory_bytes: usize,
    /// Wall-clock deadline of one request (epoch interruption); `None`: no deadline.
    pub timeout: Option<Duration>,
    /// Fuel (roughly, wasm operators executed) one request may use; `None`: unmetered.
    /// Metering makes the compiled component slower, so it is off unless asked for.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 64 << 20,
            max_memory_bytes: 1 << 30,
            timeout: Some(Duration::from_secs(60)),
            fuel: None,
        }
    }
}

/// How to set up a `Host`.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The compiler component (`synth.wasm`).
    pub component: PathBuf,
    /// Directory for the natively compiled component; `None`: compile it on every start.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Requests that run at once; more wait for a free slot. Sizes the pooling allocator.
    pub max_concurrent_requests: u32,
    /// Pre-reserve instance slots (memories, tables) so a request's instantiation is a few
    /// page-table operations instead of fresh mappings.
    pub pooling_allocator: bool,
}

impl HostConfig {
    pub fn new(component: impl Into<PathBuf>) -> Self {
        HostConfig {
            component: component.into(),
            cache_dir: Some(default_cache_dir()),
            limits: Limits::default(),
            max_concurrent_requests: default_concurrency(),
            pooling_allocator: true,
        }
    }
}

/// `$XDG_CACHE_HOME/synth-host`, else `$HOME/.cache/synth-host`, else under the temp directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("synth-host");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("synth-host");
    }
    std::env::temp_dir().join("synth-host-cache")
}

/// One request per core.
pub fn default_concurrency() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// The host could not start (the component is missing or does not load).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupError(pub String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// An operator-set limit; `flag` is how the `synth-host` command line sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    InputSize,
    Memory,
    Timeout,
    Fuel,
}

impl LimitKind {
    pub fn flag(self) -> &'static str {
        match self {
            LimitKind::InputSize => "--max-input-bytes",
            LimitKind::Memory => "--max-memory-mib",
            LimitKind::Timeout => "--timeout-ms",
            LimitKind::Fuel => "--fuel",
        }
    }

    fn description(self) -> &'static str {
        match self {
            LimitKind::InputSize => "input size limit",
            LimitKind::Memory => "memory limit",
            LimitKind::Timeout => "time limit",
            LimitKind::Fuel => "fuel limit",
        }
    }
}

/// Why one request failed. Only this request is affected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The compiler rejected the module: its own typed error, as the library returns it.
    Compile(CompileError),
    /// The request tripped an operator limit.
    Limit { limit: LimitKind, detail: String },
    /// The component trapped: a bug in synth, contained to this request.
    Trap(String),
    /// Wasmtime could not run the request (e.g. instantiation failed).
    Host(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Compile(e) => write!(f, "{e}"),
            RequestError::Limit { limit, detail } => write!(
                f,
                "{} exceeded ({}): {detail}",
                limit.description(),
                limit.flag()
            ),
            RequestError::Trap(message) => {
                write!(
                    f,
                    "the compiler component trapped (a bug in synth): {message}"
                )
            }
            RequestError::Host(message) => write!(f, "host error: {message}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// What one request cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestMetrics {
    /// From the call to its result, waiting for a slot included.
    pub elapsed: Duration,
    /// Waiting for a free slot (`HostConfig::max_concurrent_requests`).
    pub queued: Duration,
    /// Fuel the request used, when fuel is metered (`Limits::fuel`).
    pub fuel_used: Option<u64>,
    /// Linear memory the component's instance reserved, all memories together.
    pub peak_memory_bytes: usize,
}

/// A loaded compiler component, ready to serve requests from any number of threads.
pub struct Host {
    engine: Engine,
    pre: bindings::SynthPre<RequestState>,
    limits: Limits,
    source: ComponentSource,
    slots: RequestSlots,
    concurrency: u32,
    // Dropped (and joined) with the host; only present when there is a deadline to enforce.
    _ticker: Option<EpochTicker>,
}

impl Host {
    pub fn new(config: &HostConfig) -> Result<Host, SetupError> {
        let limits = config.limits.clone();
        let concurrency = config.max_concurrent_requests.max(1);
        let engine = Engine::new(&engine_config(config, concurrency))
            .map_err(|e| SetupError(format!("cannot configure wasmtime: {e:#}")))?;
        let (component, source) =
            cache::load(&engine, &config.component, config.cache_dir.as_deref())?;

        let mut linker = Linker::<RequestState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| SetupError(format!("cannot link WASI: {e:#}")))?;
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            SetupError(format!(
                "`{}` does not fit the host (is it synth.wasm?): {e:#}",
                config.component.display()
            ))
        })?;
        let pre = bindings::SynthPre::new(instance_pre).map_err(|e| {
            SetupError(format!(
                "`{}` does not export synth:compiler/compile: {e:#}",
                config.component.display()
            ))
        })?;
        let ticker = limits.timeout.map(|_| EpochTicker::start(engine.clone()));
        Ok(Host {
            engine,
            pre,
            limits,
            source,
            slots: RequestSlots::new(concurrency),
            concurrency,
            _ticker: ticker,
        })
    }

    /// Whether the native code came from the cache or was compiled by this `Host::new`.
    pub fn component_source(&self) -> &ComponentSource {
        &self.source
    }

    /// Requests that run at once (`HostConfig::max_concurrent_requests`).
    pub fn max_concurrent_requests(&self) -> u32 {
        self.concurrency
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The input-size check `compile` does first; callers reading files can check a file's
    /// length before reading it.
    pub fn check_input_size(&self, size: u64) -> Result<(), RequestError> {
        let limit = self.limits.max_input_bytes;
        if size > u64::try_from(limit).unwrap_or(u64::MAX) {
            return Err(RequestError::Limit {
                limit: LimitKind::InputSize,
                detail: format!("the input is {size} bytes, the limit is {limit} bytes"),
            });
        }
        Ok(())
    }

    /// Compile `input` (wasm binary or WAT text) in a fresh, limited instance of the component.
    pub fn compile(&self, input: &[u8], options: &Options) -> Result<Output, RequestError> {
        self.compile_measured(input, options).0
    }

    /// `compile`, with what the request cost.
    pub fn compile_measured(
        &self,
        input: &[u8],
        options: &Options,
    ) -> (Result<Output, RequestError>, RequestMetrics) {
        let started = Instant::now();
        let mut metrics = RequestMetrics::default();
        if let Err(e) = self.check_input_size(u64::try_from(input.len()).unwrap_or(u64::MAX)) {
            return (Err(e), metrics);
        }
        // Released after the store (declared later, dropped first): the pooling allocator's
        // instance slot is only free once the store is gone.
        let _slot = self.slots.acquire();
        metrics.queued = started.elapsed();
        let mut store = match self.new_store() {
            Ok(store) => store,
            Err(e) => return (Err(e), metrics),
        };
        let result = self.pre.instantiate(&mut store).and_then(|synth| {
            synth.synth_compiler_compile().call_compile(
                &mut store,
                input,
                &convert::wit_options(options),
            )
        });
        metrics.elapsed = started.elapsed();
        metrics.peak_memory_bytes = store.data().limiter.peak_memory_bytes();
        metrics.fuel_used = self
            .limits
            .fuel
            .and_then(|budget| Some(budget.saturating_sub(store.get_fuel().ok()?)));
        let result = match result {
            Ok(Ok(output)) => Ok(convert::library_output(output)),
            Ok(Err(error)) => Err(RequestError::Compile(convert::library_error(error))),
            Err(error) => Err(self.classify_failure(store.data(), &error)),
        };
        (result, metrics)
    }

    /// The component's own default options for `target` (a round trip through the guest).
    pub fn default_options(&self, target: Target) -> Result<Options, RequestError> {
        let _slot = self.slots.acquire();
        let mut store = self.new_store()?;
        let result = self.pre.instantiate(&mut store).and_then(|synth| {
            synth
                .synth_compiler_compile()
                .call_default_options(&mut store, convert::wit_target(target))
        });
        match result {
            Ok(options) => Ok(convert::library_options(&options)),
            Err(error) => Err(self.classify_failure(store.data(), &error)),
        }
    }

    /// The targets the component lists: (target, name, description).
    pub fn targets(&self) -> Result<Vec<(Target, String, String)>, RequestError> {
        let _slot = self.slots.acquire();
        let mut store = self.new_store()?;
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|synth| synth.synth_compiler_compile().call_targets(&mut store));
        match result {
            Ok(targets) => Ok(targets
                .into_iter()
                .map(|t| (convert::library_target(t.target), t.name, t.description))
                .collect()),
            Err(error) => Err(self.classify_failure(store.data(), &error)),
        }
    }

    fn new_store(&self) -> Result<Store<RequestState>, RequestError> {
        let mut store = Store::new(&self.engine, RequestState::new(&self.limits));
        store.limiter(|state| &mut state.limiter);
        if let Some(fuel) = self.limits.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| RequestError::Host(format!("cannot set fuel: {e:#}")))?;
        }
        if let Some(timeout) = self.limits.timeout {
            store.set_epoch_deadline(sandbox::deadline_ticks(timeout));
            store.epoch_deadline_trap();
        }
        Ok(store)
    }

    /// Name the limit that stopped a failed call, or report the trap it hit.
    fn classify_failure(&self, state: &RequestState, error: &wasmtime::Error) -> RequestError {
        if let Some(requested) = state.limiter.denied_memory_bytes() {
            return RequestError::Limit {
                limit: LimitKind::Memory,
                detail: format!(
                    "the compiler needed {requested} bytes of memory, the limit is {} bytes",
                    self.limits.max_memory_bytes
                ),
            };
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => RequestError::Limit {
                limit: LimitKind::Timeout,
                detail: format!(
                    "the request ran past its deadline of {} ms",
                    self.limits.timeout.map_or(0, |t| t.as_millis())
                ),
            },
            Some(wasmtime::Trap::OutOfFuel) => RequestError::Limit {
                limit: LimitKind::Fuel,
                detail: format!(
                    "the request used up its {} units of fuel",
                    self.limits.fuel.unwrap_or(0)
                ),
            },
            Some(_) => RequestError::Trap(format!("{error:?}")),
            None => RequestError::Host(format!("{error:#}")),
        }
    }
}

fn engine_config(config: &HostConfig, concurrency: u32) -> Config {
    let mut engine = Config::new();
    engine.epoch_interruption(config.limits.timeout.is_some());
    engine.consume_fuel(config.limits.fuel.is_some());
    if config.pooling_allocator {
        engine.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
            config.limits.max_memory_bytes,
            concurrency,
        )));
    }
    engine
}

/// Room for `concurrency` instances of the component at once. A wasi:cli command component
/// has a handful of core instances (the program, adapters, shims) with one memory of note.
fn pooling_config(max_memory_bytes: usize, concurrency: u32) -> PoolingAllocationConfig {
    const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
    const MEMORIES_PER_COMPONENT: u32 = 2;
    const TABLES_PER_COMPONENT: u32 = 8;
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(concurrency)
        .total_core_instances(concurrency.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(concurrency.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(concurrency.saturating_mul(TABLES_PER_COMPONENT))
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(max_memory_bytes);
    pooling
}

/// The component path relative to the workspace root, for tools run from elsewhere in it.
pub fn workspace_component_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(DEFAULT_COMPONENT_PATH)
}

//! What confines one request: its store state (a WASI context granting nothing, a memory
//! limiter that remembers when it said no), the epoch ticker behind wall-clock deadlines, and
//! the slots that bound how many requests run at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::Limits;

/// How often the epoch advances: the granularity of request deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Table elements one request may have; far above what the component's tables need.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

pub(crate) struct RequestState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
}

impl RequestState {
    pub(crate) fn new(limits: &Limits) -> Self {
        // No arguments, environment, preopened directories, network or stdin; output streams
        // go nowhere. The component sees only the bytes passed to `compile`.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        RequestState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max_memory_bytes: limits.max_memory_bytes,
                denied_bytes: None,
                granted_bytes: 0,
            },
        }
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Refuses memory growth past the limit and remembers it did, so the trap that follows (the
/// guest's allocator aborts) is reported as the memory limit rather than as a bug.
pub(crate) struct MemoryLimiter {
    max_memory_bytes: usize,
    denied_bytes: Option<usize>,
    /// Bytes of linear memory granted so far, over all of the request's memories. Memories
    /// never shrink, so this is also the request's peak.
    granted_bytes: usize,
}

impl MemoryLimiter {
    pub(crate) fn denied_memory_bytes(&self) -> Option<usize> {
        self.denied_bytes
    }

    pub(crate) fn peak_memory_bytes(&self) -> usize {
        self.granted_bytes
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.denied_bytes = Some(desired);
            return Ok(false);
        }
        // Creating a memory is a growth from 0, so its initial size is counted too.
        self.granted_bytes = self
            .granted_bytes
            .saturating_add(desired.saturating_sub(current));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Epoch ticks that cover `timeout`, plus one because the first tick can come at once.
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    let ticks = timeout.as_nanos().div_ceil(tick);
    u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1)
}

/// A thread advancing the engine's epoch every `EPOCH_TICK`, stopped and joined on drop.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("synth-host-epoch".into())
            .spawn(move || {
                while !stop_seen.load(Ordering::Relaxed) {
                    std::thread::park_timeout(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// A counting semaphore: at most `capacity` requests hold a slot (and so an instance in the
/// pooling allocator) at once; the rest wait rather than fail.
pub(crate) struct RequestSlots {
    free: Mutex<u32>,
    freed: Condvar,
}

pub(crate) struct SlotGuard<'a> {
    slots: &'a RequestSlots,
}

impl RequestSlots {
    pub(crate) fn new(capacity: u32) -> Self {
        RequestSlots {
            free: Mutex::new(capacity),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn acquire(&self) -> SlotGuard<'_> {
        // A poisoned lock only means another thread panicked while holding it; the counter
        // itself is always consistent.
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        SlotGuard { slots: self }
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut free = self.slots.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn deadline_covers_the_timeout_plus_one_tick() {
        assert_eq!(deadline_ticks(Duration::from_millis(0)), 1);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 2);
        assert_eq!(deadline_ticks(Duration::from_millis(10)), 2);
        assert_eq!(deadline_ticks(Duration::from_millis(11)), 3);
        assert_eq!(deadline_ticks(Duration::from_secs(1)), 101);
        assert_eq!(deadline_ticks(Duration::MAX), u64::MAX);
    }

    #[test]
    fn limiter_refuses_past_the_limit_and_remembers() {
        let mut limiter = MemoryLimiter {
            max_memory_bytes: 1 << 20,
            denied_bytes: None,
            granted_bytes: 0,
        };
        assert!(limiter.memory_growing(0, 1 << 19, None).unwrap());
        assert!(limiter.memory_growing(1 << 19, 1 << 20, None).unwrap());
        assert_eq!(limiter.denied_memory_bytes(), None);
        assert!(!limiter.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert_eq!(limiter.denied_memory_bytes(), Some(2 << 20));
        // A second memory adds to the peak; the refused growth does not.
        assert!(limiter.memory_growing(0, 4096, None).unwrap());
        assert_eq!(limiter.peak_memory_bytes(), (1 << 20) + 4096);
    }

    #[test]
    fn slots_bound_concurrency() {
        let slots = RequestSlots::new(2);
        let running = AtomicU32::new(0);
        let most = AtomicU32::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let _slot = slots.acquire();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn ticker_advances_the_epoch_and_stops() {
        let engine = Engine::new(wasmtime::Config::new().epoch_interruption(true)).unwrap();
        let ticker = EpochTicker::start(engine.clone());
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_epoch_deadline(3);
        store.epoch_deadline_trap();
        let module =
            wasmtime::Module::new(&engine, "(module (func (export \"spin\") (loop (br 0))))")
                .unwrap();
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let error = spin.call(&mut store, ()).unwrap_err();
        assert_eq!(
            error.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt)
        );
        drop(ticker);
    }
}

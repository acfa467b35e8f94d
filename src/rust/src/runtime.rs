//! One tokio runtime for the whole R session, created on first use, shared
//! by the S3 client and the GitHub REST client. Blocking entry points run
//! futures on it; R's interrupt flag is polled by the binding layer between
//! steps of long transfers.

use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RT: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The shared runtime (2 worker threads: this machine class has 2 cores and
/// the work is I/O bound).
pub fn runtime() -> crate::error::Result<&'static Runtime> {
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("datom-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| crate::error::Error::internal(format!("cannot start the I/O runtime: {e}")))
}

/// A check for a user interrupt (Ctrl-C / Esc in R), installed by the
/// binding layer; the engine itself knows nothing about R.
static INTERRUPT_CHECK: OnceLock<fn() -> bool> = OnceLock::new();

/// The thread the check may run on (R's main thread).
static CHECK_THREAD: OnceLock<std::thread::ThreadId> = OnceLock::new();

/// Install the interrupt check, to be run only on the calling thread (the
/// first installation wins).
pub fn set_interrupt_check(f: fn() -> bool) {
    if INTERRUPT_CHECK.set(f).is_ok() {
        let _ = CHECK_THREAD.set(std::thread::current().id());
    }
}

/// Run a future to completion on the shared runtime. While it runs, the
/// calling thread polls the interrupt check every 200 ms; an interrupt drops
/// (cancels) the future and returns `Kind::Interrupted`, so R stays
/// responsive during long transfers.
pub fn block_on<F: std::future::Future>(f: F) -> crate::error::Result<F::Output> {
    let rt = runtime()?;
    let on_check_thread = CHECK_THREAD.get() == Some(&std::thread::current().id());
    let Some(check) = INTERRUPT_CHECK.get().copied().filter(|_| on_check_thread) else {
        return Ok(rt.block_on(f));
    };
    rt.block_on(async move {
        let mut f = std::pin::pin!(f);
        loop {
            match tokio::time::timeout(std::time::Duration::from_millis(200), &mut f).await {
                Ok(out) => return Ok(out),
                Err(_) => {
                    progress::tick();
                    if check() {
                        return Err(crate::error::Error::new(
                            crate::error::Kind::Interrupted,
                            "interrupted by the user; the transfer was cancelled",
                        )
                        .with_hint("Nothing partial is visible: uploads are atomic; re-run the call to complete it."));
                    }
                }
            }
        }
    })
}

/// Progress of long transfers, reported to the binding layer (which draws a
/// cli progress bar in interactive R sessions). One operation is tracked at
/// a time: the outermost one (a batch copy counts objects; a nested upload
/// inside it does not replace it). Counters are updated from any thread;
/// the hook runs only on R's main thread, from the polling loops of
/// [`block_on`] and [`wait_polling`].
pub mod progress {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};

    /// (label, unit: "bytes" | "objects", done, total, finished)
    pub type Hook = fn(&str, &str, u64, u64, bool);
    static HOOK: OnceLock<Hook> = OnceLock::new();

    struct Op {
        id: u64,
        label: String,
        unit: &'static str,
        total: Arc<AtomicU64>,
        done: Arc<AtomicU64>,
    }
    static CURRENT: Mutex<Option<Op>> = Mutex::new(None);
    static NEXT: AtomicU64 = AtomicU64::new(1);

    pub fn set_hook(f: Hook) {
        let _ = HOOK.set(f);
    }

    /// Ends the operation it started when dropped.
    pub struct Guard(Option<u64>);

    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(id) = self.0 {
                // a last report, so the bar shows the end (main thread only)
                if super::on_main_thread() && !std::thread::panicking() {
                    report(true);
                }
                let mut cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
                if cur.as_ref().map(|o| o.id) == Some(id) {
                    *cur = None;
                }
            }
        }
    }

    /// Start tracking an operation of `total` units, unless one is running.
    pub fn start(label: impl Into<String>, unit: &'static str, total: u64) -> Guard {
        let mut cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        if cur.is_some() {
            return Guard(None);
        }
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        *cur = Some(Op { id, label: label.into(), unit, total: Arc::new(AtomicU64::new(total)), done: Arc::new(AtomicU64::new(0)) });
        Guard(Some(id))
    }

    /// Count `n` units done, if the running operation counts in `unit`.
    pub fn add(unit: &str, n: u64) {
        let cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(op) = cur.as_ref().filter(|o| o.unit == unit) {
            op.done.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Set the total of the running operation (known only after it started).
    pub fn set_total(unit: &str, total: u64) {
        let cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(op) = cur.as_ref().filter(|o| o.unit == unit) {
            op.total.store(total, Ordering::Relaxed);
        }
    }

    /// The running operation: (label, unit, done, total).
    pub fn snapshot() -> Option<(String, &'static str, u64, u64)> {
        let cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        cur.as_ref().map(|o| (o.label.clone(), o.unit, o.done.load(Ordering::Relaxed), o.total.load(Ordering::Relaxed)))
    }

    /// Report the running operation to the hook (main thread only).
    pub(crate) fn tick() {
        report(false);
    }

    fn report(finished: bool) {
        if let (Some(h), Some((label, unit, done, total))) = (HOOK.get(), snapshot()) {
            h(&label, unit, done, total, finished);
        }
    }
}

/// Is the calling thread R's main thread (where the interrupt check and the
/// progress hook may run)?
pub fn on_main_thread() -> bool {
    CHECK_THREAD.get() == Some(&std::thread::current().id())
}

/// Wait for `done()` while keeping R responsive: on the main thread the
/// progress hook runs every 200 ms (work runs on other threads meanwhile).
pub fn wait_polling(done: impl Fn() -> bool) {
    let main = on_main_thread();
    while !done() {
        std::thread::sleep(std::time::Duration::from_millis(if main { 100 } else { 20 }));
        if main {
            progress::tick();
        }
    }
}

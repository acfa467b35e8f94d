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

/// Wakes the thread that polls a future (see [`block_on`]).
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// Run a future to completion on the shared runtime.
///
/// The calling thread polls the future itself, inside the runtime's context
/// only for the duration of each poll (`Handle::enter`, an RAII guard): the
/// I/O and timer drivers run on the runtime's worker threads. Between polls
/// the thread is outside any runtime, and that is the only place where R
/// code runs (the interrupt check and the progress hook, every 200 ms on R's
/// main thread). So no R code ever runs inside a runtime context, and
/// whatever R does, the next call starts from a clean thread state (an
/// earlier design ran the hooks inside `Runtime::block_on`; one longjmp out
/// of R left the thread marked as inside the runtime for good).
///
/// An interrupt drops (cancels) the future and returns `Kind::Interrupted`.
pub fn block_on<F: std::future::Future>(f: F) -> crate::error::Result<F::Output> {
    use std::task::{Context, Poll};
    let rt = runtime()?;
    let handle = rt.handle().clone();
    let main = on_main_thread();
    let waker = std::task::Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    let tick = std::time::Duration::from_millis(200);
    let mut last = std::time::Instant::now();
    loop {
        let polled = {
            let _ctx = handle.enter();
            f.as_mut().poll(&mut cx)
        };
        if let Poll::Ready(out) = polled {
            return Ok(out);
        }
        let waited = last.elapsed();
        if waited < tick {
            std::thread::park_timeout(tick - waited);
        }
        if main && last.elapsed() >= tick {
            last = std::time::Instant::now();
            if hooks_interrupted() {
                return Err(interrupted());
            }
        }
    }
}

/// Receive from `rx`, keeping R responsive while waiting (on R's main
/// thread the progress hook and the interrupt check run every 200 ms).
/// `None` once every sender is gone; `Err(Interrupted)` on a user interrupt.
pub fn recv_interruptible<T>(rx: &std::sync::mpsc::Receiver<T>) -> crate::error::Result<Option<T>> {
    use std::sync::mpsc::RecvTimeoutError;
    let main = on_main_thread();
    let tick = std::time::Duration::from_millis(200);
    let mut last = std::time::Instant::now();
    loop {
        match rx.recv_timeout(tick.saturating_sub(last.elapsed()).max(std::time::Duration::from_millis(1))) {
            Ok(v) => return Ok(Some(v)),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
            Err(RecvTimeoutError::Timeout) => {}
        }
        if last.elapsed() >= tick {
            last = std::time::Instant::now();
            if main && hooks_interrupted() {
                return Err(interrupted());
            }
        }
    }
}

/// The error of a user interrupt.
pub fn interrupted() -> crate::error::Error {
    crate::error::Error::new(crate::error::Kind::Interrupted, "interrupted by the user; the transfer was cancelled")
        .with_hint("Nothing partial is visible: uploads are atomic; re-run the call to complete it.")
}

/// On R's main thread: report progress, then run the interrupt check.
/// Both run outside any runtime context.
fn hooks_interrupted() -> bool {
    progress::tick();
    match INTERRUPT_CHECK.get() {
        Some(check) if on_main_thread() => check(),
        _ => false,
    }
}

/// Wait for `done()` while keeping R responsive: on R's main thread the
/// progress hook and the interrupt check run every 200 ms (work runs on
/// other threads meanwhile). `Err(Interrupted)` when the user interrupted;
/// the work is then still running: the caller cancels and joins it.
pub fn wait_interruptible(done: impl Fn() -> bool) -> crate::error::Result<()> {
    let main = on_main_thread();
    let mut last = std::time::Instant::now();
    while !done() {
        std::thread::sleep(std::time::Duration::from_millis(if main { 50 } else { 20 }));
        if main && last.elapsed() >= std::time::Duration::from_millis(200) {
            last = std::time::Instant::now();
            if hooks_interrupted() {
                return Err(interrupted());
            }
        }
    }
    Ok(())
}

/// Progress of long work, reported to the binding layer (which draws a cli
/// progress bar in interactive R sessions). One operation is tracked at a
/// time: the outermost one (a batch copy counts objects; a nested upload
/// inside it does not replace it). A *flow* (a write, a read) runs its
/// phases (hash, encode, commit, upload / download, verify, decode) as
/// operations one after the other; the flow's start is the clock the
/// "show a bar after 2 s" delay runs on, so a long write shows its current
/// phase from the 2nd second on, whatever phase that is.
///
/// Counters are updated from any thread; the hook runs only on R's main
/// thread: from the polling loops of [`block_on`] and [`wait_polling`], and
/// from [`pulse`], which CPU-bound work calls between pieces of work.
///
/// The phases of the last flow and their durations are kept
/// ([`last_trace`]): `make bench` prints where a write's time goes.
pub mod progress {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::Instant;

    /// (label, unit: "bytes" | "objects" | "values" | "rows" | "steps",
    /// done, total (0: unknown), finished, seconds since the flow started)
    pub type Hook = fn(&str, &str, u64, u64, bool, f64);
    static HOOK: OnceLock<Hook> = OnceLock::new();

    struct Op {
        id: u64,
        label: String,
        unit: &'static str,
        total: Arc<AtomicU64>,
        done: Arc<AtomicU64>,
        started: Instant,
    }
    static CURRENT: Mutex<Option<Op>> = Mutex::new(None);
    static NEXT: AtomicU64 = AtomicU64::new(1);
    /// The running flow: (id, start).
    static FLOW: Mutex<Option<(u64, Instant)>> = Mutex::new(None);
    /// Phases of the last flow: (label, seconds).
    static TRACE: Mutex<Vec<(String, f64)>> = Mutex::new(Vec::new());
    /// The last report from [`pulse`].
    static LAST_PULSE: Mutex<Option<Instant>> = Mutex::new(None);

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_hook(f: Hook) {
        let _ = HOOK.set(f);
    }

    /// Ends the flow it started when dropped.
    pub struct FlowGuard(Option<u64>);

    impl Drop for FlowGuard {
        fn drop(&mut self) {
            if let Some(id) = self.0 {
                let mut f = lock(&FLOW);
                if f.as_ref().map(|x| x.0) == Some(id) {
                    *f = None;
                }
            }
        }
    }

    /// Start a flow (a write, a read) unless one is running; its phases are
    /// the operations started until the guard drops.
    pub fn flow() -> FlowGuard {
        if lock(&CURRENT).is_some() {
            return FlowGuard(None);
        }
        let mut f = lock(&FLOW);
        if f.is_some() {
            return FlowGuard(None);
        }
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        *f = Some((id, Instant::now()));
        lock(&TRACE).clear();
        FlowGuard(Some(id))
    }

    /// The phases of the last flow and their durations in seconds.
    pub fn last_trace() -> Vec<(String, f64)> {
        lock(&TRACE).clone()
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
                let ended = {
                    let mut cur = lock(&CURRENT);
                    if cur.as_ref().map(|o| o.id) == Some(id) {
                        cur.take()
                    } else {
                        None
                    }
                };
                if let Some(op) = ended {
                    if lock(&FLOW).is_some() {
                        lock(&TRACE).push((op.label, op.started.elapsed().as_secs_f64()));
                    }
                }
            }
        }
    }

    /// Start tracking an operation of `total` units (0: unknown), unless one
    /// is running.
    pub fn start(label: impl Into<String>, unit: &'static str, total: u64) -> Guard {
        let mut cur = lock(&CURRENT);
        if cur.is_some() {
            return Guard(None);
        }
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        *cur = Some(Op {
            id,
            label: label.into(),
            unit,
            total: Arc::new(AtomicU64::new(total)),
            done: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        });
        drop(cur);
        pulse();
        Guard(Some(id))
    }

    /// Count `n` units done, if the running operation counts in `unit`.
    pub fn add(unit: &str, n: u64) {
        let cur = lock(&CURRENT);
        if let Some(op) = cur.as_ref().filter(|o| o.unit == unit) {
            op.done.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Set the total of the running operation (known only after it started).
    pub fn set_total(unit: &str, total: u64) {
        let cur = lock(&CURRENT);
        if let Some(op) = cur.as_ref().filter(|o| o.unit == unit) {
            op.total.store(total, Ordering::Relaxed);
        }
    }

    /// The running operation: (label, unit, done, total).
    pub fn snapshot() -> Option<(String, &'static str, u64, u64)> {
        let cur = lock(&CURRENT);
        cur.as_ref().map(|o| (o.label.clone(), o.unit, o.done.load(Ordering::Relaxed), o.total.load(Ordering::Relaxed)))
    }

    /// Report the running operation to the hook (main thread only).
    pub(crate) fn tick() {
        report(false);
    }

    /// From CPU-bound work between pieces of work: on R's main thread, report
    /// the running operation at most every 200 ms; elsewhere nothing.
    pub fn pulse() {
        if !super::on_main_thread() {
            return;
        }
        {
            let mut last = lock(&LAST_PULSE);
            let now = Instant::now();
            if last.is_some_and(|t| now.duration_since(t).as_millis() < 200) {
                return;
            }
            *last = Some(now);
        }
        report(false);
    }

    fn report(finished: bool) {
        let Some(h) = HOOK.get() else { return };
        let Some((label, unit, done, total)) = snapshot() else { return };
        let flow_start = lock(&FLOW).as_ref().map(|f| f.1);
        let since = flow_start.or_else(|| lock(&CURRENT).as_ref().map(|o| o.started));
        let elapsed = since.map_or(0.0, |t| t.elapsed().as_secs_f64());
        h(&label, unit, done.min(if total > 0 { total } else { u64::MAX }), total, finished, elapsed);
    }
}

/// Is the calling thread R's main thread (where the interrupt check and the
/// progress hook may run)?
pub fn on_main_thread() -> bool {
    CHECK_THREAD.get() == Some(&std::thread::current().id())
}

/// Sleep for `d` (a backoff between retries), answering Ctrl-C on R's main
/// thread.
pub fn wait_interruptible_for(d: std::time::Duration) -> crate::error::Result<()> {
    let until = std::time::Instant::now() + d;
    wait_interruptible(|| std::time::Instant::now() >= until)
}

/// Wait for `done()` while keeping R responsive (progress only: the work
/// cannot be abandoned half-way).
pub fn wait_polling(done: impl Fn() -> bool) {
    let main = on_main_thread();
    while !done() {
        std::thread::sleep(std::time::Duration::from_millis(if main { 100 } else { 20 }));
        if main {
            progress::tick();
        }
    }
}

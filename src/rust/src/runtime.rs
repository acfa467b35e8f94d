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

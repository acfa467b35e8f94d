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

/// Run a future to completion on the shared runtime.
pub fn block_on<F: std::future::Future>(f: F) -> crate::error::Result<F::Output> {
    Ok(runtime()?.block_on(f))
}

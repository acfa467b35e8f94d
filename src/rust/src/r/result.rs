//! The one place engine errors become R values. Every exported function
//! returns either its value or a list of class `datom_engine_error`
//! (`kind`, `message`, `hint` and the structured fields `status`,
//! `bucket`, `key`, `scope`); the R helper `datom_abort()` turns that into
//! a condition of class `c("datom_error_<kind>", "datom_error", ...)`.
//! Panics are caught here too, so nothing unwinds into R.

use crate::error::{Error, Kind, Result};
use extendr_api::prelude::*;

fn error_value(e: &Error) -> Robj {
    let opt = |o: Option<&str>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
    let f = &e.fields;
    let status: Robj = f.status.map(|s| Robj::from(s as i32)).unwrap_or_else(|| ().into());
    let mut l = List::from_names_and_values(
        ["kind", "message", "hint", "status", "bucket", "key", "scope"],
        [
            Robj::from(e.kind.as_str()),
            Robj::from(e.message.as_str()),
            opt(e.hint.as_deref()),
            status,
            opt(f.bucket.as_deref()),
            opt(f.key.as_deref()),
            opt(f.scope.as_deref()),
        ],
    )
    .map(Robj::from)
    .unwrap_or_else(|_| Robj::from(e.message.as_str()));
    let _ = l.set_attrib("class", "datom_engine_error");
    l
}

/// An engine error as the R value `engine()` raises (for results that
/// carry a failure next to what was done).
pub fn error_robj(e: &Error) -> Robj {
    error_value(e)
}

/// Run `f`, converting an `Err` or a panic into the error value.
pub fn guard<F>(f: F) -> Robj
where
    F: FnOnce() -> Result<Robj>,
{
    crate::runtime::set_interrupt_check(super::sexp::user_interrupted);
    crate::runtime::progress::set_hook(progress_hook);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => error_value(&e),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            error_value(&Error::new(Kind::Internal, format!("internal error in the datom engine: {msg}"))
                .with_hint("Please report this with the call that triggered it."))
        }
    }
}

/// extendr errors (conversions) as engine errors.
pub fn rerr(e: extendr_api::Error) -> Error {
    Error::internal(format!("R conversion: {e}"))
}

/// Report a long transfer to R (`datom:::progress_tick`), which draws a cli
/// progress bar in interactive sessions. It runs at R's top level (see
/// `sexp::toplevel_call`): nothing R does there can jump over the engine.
fn progress_hook(label: &str, unit: &str, done: u64, total: u64, finished: bool, elapsed: f64) {
    let _ = super::sexp::toplevel_call(
        "progress_tick",
        &[
            Robj::from(label),
            Robj::from(unit),
            Robj::from(done as f64),
            Robj::from(total as f64),
            Robj::from(finished),
            Robj::from(elapsed),
        ],
    );
}

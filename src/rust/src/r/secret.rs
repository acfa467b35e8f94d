//! Secrets held by the engine. A PAT or S3 secret key given to a store
//! constructor is moved into engine memory at once; R holds an external
//! pointer of class `datom_secret`, so `print()`, `format()`, `str()` and
//! `dput()` of a store or conn never show the value, and `saveRDS()` writes
//! a null pointer (the secret does not survive into a file). The engine
//! reads the value only at the moment of use ([`reveal`]).

use super::result::{guard, rerr};
use super::sexp::*;
use crate::error::Result;
use extendr_api::prelude::*;
use extendr_ffi::{R_ExternalPtrAddr, R_ExternalPtrTag, SEXP};

/// A secret value; its bytes are wiped when R drops the handle.
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes keep the String valid UTF-8.
        unsafe { self.0.as_bytes_mut().fill(0) };
    }
}

fn tag_name() -> &'static str {
    std::any::type_name::<Secret>()
}

/// Move `value` into an engine-held handle (class `datom_secret`).
pub fn new_secret(value: &str) -> Result<Robj> {
    let mut p: Robj = ExternalPtr::new(Secret(value.to_string())).into();
    p.set_attrib("class", "datom_secret").map_err(rerr)?;
    Ok(p)
}

/// The string `x` holds: a character scalar (`None` for `NA`), or the value
/// of a `datom_secret` handle made by this session. `None` for anything
/// else, including a handle restored from a file (its pointer is null) and
/// an external pointer that is not a datom secret (never dereferenced).
pub fn reveal(x: SEXP) -> Option<String> {
    match typeof_str(x) {
        "character" => strings_owned(x).into_iter().next().flatten(),
        "externalptr" => {
            let tag = unsafe { R_ExternalPtrTag(x) };
            if typeof_str(tag) != "character" || strings_owned(tag).first().cloned().flatten().as_deref() != Some(tag_name()) {
                return None;
            }
            if unsafe { R_ExternalPtrAddr(x) }.is_null() {
                return None;
            }
            let robj = unsafe { Robj::from_sexp(x) };
            let p: std::result::Result<&ExternalPtr<Secret>, _> = (&robj).try_into();
            p.ok().map(|s| s.0.clone())
        }
        _ => None,
    }
}

/// Is `x` a `datom_secret` handle whose value is gone (restored by
/// `readRDS()` or `load()` in another session)?
pub fn is_dead_handle(x: SEXP) -> bool {
    typeof_str(x) == "externalptr" && reveal(x).is_none()
}

/// A secret handle holding `value`.
#[extendr]
fn rs_secret_new(value: &str) -> Robj {
    guard(|| new_secret(value))
}

/// Is the handle usable in this session?
#[extendr]
fn rs_secret_alive(x: Robj) -> bool {
    !is_dead_handle(sexp(&x)) && reveal(sexp(&x)).is_some()
}

extendr_module! {
    mod secret;
    fn rs_secret_new;
    fn rs_secret_alive;
}

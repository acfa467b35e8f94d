//! Secrets held by the engine. A PAT or S3 secret key given to a store
//! constructor is moved into engine memory at once; R holds an external
//! pointer of class `datom_secret`, so `print()`, `format()`, `str()` and
//! `dput()` of a store or conn never show the value, and `saveRDS()` writes
//! a null pointer (the secret does not survive into a file). The engine
//! reads the value only at the moment of use ([`reveal`]).
//!
//! `datom_secret("GITHUB_PAT")` is a *reference* instead (class
//! `datom_secret_ref`, a plain list naming a keyring entry and an
//! environment variable): it holds no value, so it survives `saveRDS()`, and
//! the engine looks the value up ([`crate::secret::SecretRef`]) each time it
//! is needed ([`secret_value`]).

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

/// A `datom_secret_ref` list: the keyring entry and variable it names.
pub fn secret_ref(x: SEXP) -> Option<crate::secret::SecretRef> {
    if typeof_str(x) != "list" || !class_of(x).iter().any(|c| c == "datom_secret_ref") {
        return None;
    }
    let get = |k: &str| super::conn::field(x, k).and_then(|v| if typeof_str(v) == "character" { strings_owned(v).into_iter().next().flatten() } else { None });
    Some(crate::secret::SecretRef { service: get("service")?, user: get("username").unwrap_or_default(), env: get("env").filter(|e| !e.is_empty()) })
}

/// The value of a secret argument or field at the moment of use: a string,
/// a live handle, or a reference resolved from the OS keyring / environment.
/// `Ok(None)` for NULL / NA; an error for a handle restored from a file and
/// for a reference with no value anywhere.
pub fn secret_value(x: SEXP) -> Result<Option<String>> {
    if let Some(r) = secret_ref(x) {
        return r.resolve().map(Some);
    }
    if is_dead_handle(x) {
        return Err(crate::error::Error::input("A secret restored from a file has no value (secrets do not survive saveRDS())")
            .with_hint("Pass it again in this session, e.g. github_pat = datom_secret(\"GITHUB_PAT\")."));
    }
    Ok(reveal(x))
}

/// [`secret_value`] of element `name` of a list (conn, store, client).
pub fn secret_field(x: SEXP, name: &str) -> Result<Option<String>> {
    match super::conn::field(x, name) {
        Some(v) => secret_value(v),
        None => Ok(None),
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

/// Is the handle usable in this session? (A reference always is; whether
/// its value exists is known only at the moment of use.)
#[extendr]
fn rs_secret_alive(x: Robj) -> bool {
    secret_ref(sexp(&x)).is_some() || (!is_dead_handle(sexp(&x)) && reveal(sexp(&x)).is_some())
}

/// Store `value` in the OS keyring under `service` / `username`.
#[extendr]
fn rs_keyring_set(service: &str, username: &str, value: Robj) -> Robj {
    guard(|| {
        let v = secret_value(sexp(&value))?.ok_or_else(|| crate::error::Error::input("`value` must be a non-empty string"))?;
        crate::secret::keyring_set(service, username, &v)?;
        Ok(().into())
    })
}

/// Does the OS keyring hold `service` / `username`? (Never the value.)
#[extendr]
fn rs_keyring_has(service: &str, username: &str) -> Robj {
    guard(|| Ok(crate::secret::keyring_get(service, username)?.is_some().into()))
}

/// Remove `service` / `username` from the OS keyring; FALSE when absent.
#[extendr]
fn rs_keyring_delete(service: &str, username: &str) -> Robj {
    guard(|| Ok(crate::secret::keyring_delete(service, username)?.into()))
}

/// Resolve a reference now (TRUE) or raise the classed error saying where
/// datom looked; the value itself never leaves the engine.
#[extendr]
fn rs_secret_check(x: Robj) -> Robj {
    guard(|| Ok(secret_value(sexp(&x))?.is_some().into()))
}

extendr_module! {
    mod secret;
    fn rs_secret_new;
    fn rs_secret_alive;
    fn rs_keyring_set;
    fn rs_keyring_has;
    fn rs_keyring_delete;
    fn rs_secret_check;
}

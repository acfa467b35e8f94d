//! The binding layer: the only code that touches extendr/R types. Each
//! exported function validates its R inputs, builds borrowed engine views,
//! calls the engine, and shapes the result. Errors go through `result`.

mod frame;
mod result;
mod sexp;
mod value;

use crate::error::{Error, Result};
use crate::identity;
use crate::table;
use extendr_api::prelude::*;
use result::{guard, rerr};
use sexp::*;

fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8)
}

fn list_named(names: &[&str], values: Vec<Robj>) -> Result<Robj> {
    List::from_names_and_values(names.iter().copied(), values).map(Robj::from).map_err(rerr)
}

fn as_count(x: f64, what: &str) -> Result<usize> {
    if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
        return Err(Error::input(format!("`{what}` must be a non-negative whole number")));
    }
    Ok(x as usize)
}

/// datom-cv1 of a data frame: list(data_sha, names, shas).
#[extendr]
fn rs_hash(df: Robj, nrow: f64) -> Robj {
    guard(|| {
        let nrow = as_count(nrow, "nrow")?;
        let view = frame::frame_view(sexp(&df), nrow)?;
        let th = identity::hash_table(&view.columns, nrow, threads());
        let (names, shas): (Vec<String>, Vec<String>) = th.column_hashes.into_iter().unzip();
        list_named(&["data_sha", "name", "sha"], vec![th.data_sha.into(), names.into(), shas.into()])
    })
}

/// Classification report: list(column, class, advice) (advice NA when ok).
#[extendr]
fn rs_check(df: Robj) -> Robj {
    guard(|| {
        let rep = frame::check_frame(sexp(&df))?;
        let column: Vec<String> = rep.iter().map(|r| r.name.clone()).collect();
        let class: Vec<String> = rep.iter().map(|r| r.class.clone()).collect();
        let advice: Strings = rep.iter().map(|r| r.advice.clone()).collect::<Vec<Option<String>>>().into_iter().map(|o| match o { Some(s) => Rstr::from(s), None => Rstr::na() }).collect();
        list_named(&["column", "class", "advice"], vec![column.into(), class.into(), advice.into()])
    })
}

/// metadata_sha of an in-memory metadata list: list(sha, canonical).
#[extendr]
fn rs_metadata_sha(x: Robj) -> Robj {
    guard(|| {
        let v = value::to_rvalue(sexp(&x), "metadata")?;
        let (sha, text) = identity::canon::metadata_sha(&v)?;
        list_named(&["sha", "canonical"], vec![sha.into(), text.into()])
    })
}

/// metadata_sha of a metadata JSON text as parsed from a file (FORMATS 4.6).
#[extendr]
fn rs_metadata_sha_json(text: &str) -> Robj {
    guard(|| {
        let v = identity::canon::parse_json(text)?;
        let (sha, canon) = identity::canon::metadata_sha(&v)?;
        list_named(&["sha", "canonical"], vec![sha.into(), canon.into()])
    })
}

/// JSON text of an R value with datom's serialiser (compact or pretty).
#[extendr]
fn rs_to_json(x: Robj, pretty: bool) -> Robj {
    guard(|| {
        let v = value::to_rvalue(sexp(&x), "value")?;
        let s = if pretty { identity::canon::pretty_json(&v) } else { identity::canon::canonical_json(&v) };
        Ok(s.into())
    })
}

/// SHA-256 of a file's bytes.
#[extendr]
fn rs_sha256_file(path: &str) -> Robj {
    guard(|| {
        let bytes = std::fs::read(path).map_err(|e| Error::from(e).with_hint(format!("Check that {path} exists and is readable.")))?;
        Ok(identity::sha256_hex(&bytes).into())
    })
}

/// Encode a data frame as parquet and write it atomically to `path`.
/// `extras`: per-column serialised R attributes (NA when none).
/// Returns list(parquet_sha, size_bytes).
#[extendr]
fn rs_parquet_write(df: Robj, nrow: f64, extras: Robj, path: &str) -> Robj {
    guard(|| {
        let nrow = as_count(nrow, "nrow")?;
        let mut view = frame::frame_view(sexp(&df), nrow)?;
        let ex = strings_owned(sexp(&extras));
        for (c, e) in view.columns.iter_mut().zip(ex) {
            c.info.extra = e;
        }
        let df_class = if view.df_class.is_empty() { None } else { Some(view.df_class.as_slice()) };
        let written = table::write_parquet(&view.columns, nrow, df_class)?;
        crate::store::local::write_atomic(std::path::Path::new(path), &written.bytes)?;
        list_named(
            &["parquet_sha", "size_bytes"],
            vec![written.parquet_sha.into(), (written.bytes.len() as f64).into()],
        )
    })
}

/// Read a parquet file; when `expected_sha` is a non-empty string the bytes
/// are verified before parsing. Returns list(columns, names, nrow, df_class,
/// extras, parquet_sha).
#[extendr]
fn rs_parquet_read(path: &str, expected_sha: Robj) -> Robj {
    guard(|| {
        let bytes = std::fs::read(path).map_err(|e| Error::from(e).with_hint(format!("Check that {path} exists and is readable.")))?;
        let actual = identity::sha256_hex(&bytes);
        if let Some(want) = expected_sha.as_str() {
            if !want.is_empty() && want != actual {
                return Err(Error::new(
                    crate::error::Kind::Integrity,
                    format!("stored object {path} does not match its recorded parquet_sha (expected {want}, got {actual})"),
                )
                .with_hint("The object was modified or corrupted in storage; no data was returned."));
            }
        }
        let t = table::read_parquet(bytes::Bytes::from(bytes))?;
        read::to_r(&t, actual)
    })
}

mod read;

#[extendr]
fn rs_engine_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

extendr_module! {
    mod datom;
    fn rs_hash;
    fn rs_check;
    fn rs_metadata_sha;
    fn rs_metadata_sha_json;
    fn rs_to_json;
    fn rs_sha256_file;
    fn rs_parquet_write;
    fn rs_parquet_read;
    fn rs_engine_version;
}

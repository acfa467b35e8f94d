//! Engine `ReadTable` -> R column vectors. Each R vector is allocated once
//! and filled in place by the engine (no intermediate copy).

use super::result::rerr;
use crate::error::Result;
use crate::table::{RTarget, ReadTable};
use extendr_api::prelude::*;

fn set_class(x: &mut Robj, class: &Option<Vec<String>>) -> Result<()> {
    if let Some(c) = class {
        x.set_attrib("class", c.clone()).map_err(rerr)?;
    }
    Ok(())
}

/// R strings cannot hold NUL: making one raises an R error (over Rust
/// frames). Checked before any string is handed to R.
fn check_nul(s: &str, what: &str) -> Result<()> {
    if s.as_bytes().contains(&0) {
        return Err(crate::error::Error::input(format!("{what} contains a string with an embedded NUL, which R cannot represent"))
            .with_hint("The file was not written by datom; remove the NUL characters before importing it."));
    }
    Ok(())
}

/// Every name, level and attribute string of `t` is representable in R.
fn check_nuls(t: &ReadTable) -> Result<()> {
    if let Some(c) = &t.df_class {
        c.iter().try_for_each(|s| check_nul(s, "the table's class"))?;
    }
    for c in &t.columns {
        check_nul(&c.name, "a column name")?;
        let what = format!("column `{}`", c.name.replace('\0', "\\0"));
        for s in c.levels.iter().flatten().chain(c.info.class.iter().flatten()) {
            check_nul(s, &what)?;
        }
        for s in [&c.info.tzone, &c.info.units, &c.info.extra].into_iter().flatten() {
            check_nul(s, &what)?;
        }
    }
    Ok(())
}

pub fn to_r(t: &ReadTable, parquet_sha: String) -> Result<Robj> {
    to_r_rows(t, parquet_sha, None)
}

/// Gather `rows` of a full-length column filled by `fill`.
fn gather<T: Copy + Default>(n: usize, rows: &[usize], out: &mut [T], fill: impl FnOnce(&mut [T]) -> Result<()>) -> Result<()> {
    let mut full = vec![T::default(); n];
    fill(&mut full)?;
    for (o, &r) in out.iter_mut().zip(rows) {
        *o = full[r];
    }
    Ok(())
}

/// Like [`to_r`], for only `rows` (distinct, 0-based) of the table when given.
pub fn to_r_rows(t: &ReadTable, parquet_sha: String, rows: Option<&[usize]>) -> Result<Robj> {
    check_nuls(t)?;
    let n = rows.map_or(t.nrow, |r| r.len());
    let mut pos: Option<Vec<u32>> = None;
    if let Some(r) = rows {
        let mut p = vec![u32::MAX; t.nrow];
        for (o, &k) in r.iter().enumerate() {
            p[k] = o as u32;
        }
        pos = Some(p);
    }
    let mut cols: Vec<Robj> = Vec::with_capacity(t.columns.len());
    for (i, c) in t.columns.iter().enumerate() {
        let mut x: Robj = match c.target {
            RTarget::Double => {
                let mut v: Robj = Doubles::new(n).into();
                let out = v.as_real_slice_mut().unwrap_or(&mut []);
                match rows {
                    None => t.fill_f64(i, out)?,
                    Some(r) => gather(t.nrow, r, out, |f| t.fill_f64(i, f))?,
                }
                v
            }
            RTarget::Integer | RTarget::Factor => {
                let mut v: Robj = Integers::new(n).into();
                let out = v.as_integer_slice_mut().unwrap_or(&mut []);
                match rows {
                    None => t.fill_i32(i, out)?,
                    Some(r) => gather(t.nrow, r, out, |f| t.fill_i32(i, f))?,
                }
                v
            }
            RTarget::Logical => {
                let mut v: Robj = Logicals::new(n).into();
                // LGLSXP stores int; fill through the raw pointer.
                let out: &mut [i32] = if n == 0 {
                    &mut []
                } else {
                    unsafe { std::slice::from_raw_parts_mut(extendr_ffi::LOGICAL(v.get_mut()), n) }
                };
                match rows {
                    None => t.fill_i32(i, out)?,
                    Some(r) => gather(t.nrow, r, out, |f| t.fill_i32(i, f))?,
                }
                v
            }
            RTarget::Integer64 => {
                let mut v: Robj = Doubles::new(n).into();
                let s = v.as_real_slice_mut().unwrap_or(&mut []);
                // SAFETY: same size and alignment.
                let bits = unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut u64, s.len()) };
                match rows {
                    None => t.fill_i64_bits(i, bits)?,
                    Some(r) => gather(t.nrow, r, bits, |f| t.fill_i64_bits(i, f))?,
                }
                v
            }
            RTarget::Character => {
                let v: Robj = Strings::new(n).into();
                fill_strings(t, i, &v, pos.as_deref())?;
                v
            }
        };
        if let Some(levels) = &c.levels {
            x.set_attrib("levels", levels.clone()).map_err(rerr)?;
        }
        if let Some(tz) = &c.info.tzone {
            x.set_attrib("tzone", tz.as_str()).map_err(rerr)?;
        }
        if let Some(u) = &c.info.units {
            x.set_attrib("units", u.as_str()).map_err(rerr)?;
        }
        set_class(&mut x, &c.info.class)?;
        cols.push(x);
    }
    let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let extras: Strings = t
        .columns
        .iter()
        .map(|c| match &c.info.extra {
            Some(s) => Rstr::from(s.as_str()),
            None => Rstr::na(),
        })
        .collect();
    let df_class: Robj = match &t.df_class {
        Some(c) => c.clone().into(),
        None => ().into(),
    };
    List::from_names_and_values(
        ["columns", "names", "nrow", "df_class", "extras", "parquet_sha"],
        [
            List::from_values(cols).into(),
            names.into(),
            Robj::from(n as f64),
            df_class,
            extras.into(),
            parquet_sha.into(),
        ],
    )
    .map(Robj::from)
    .map_err(rerr)
}

/// Fill a character vector, making each distinct string's CHARSXP once:
/// R's global string cache lookup dominates string reads, and clinical
/// columns repeat a small set of values.
fn fill_strings(t: &ReadTable, col: usize, v: &Robj, pos: Option<&[u32]>) -> Result<()> {
    use extendr_ffi::{cetype_t, R_NaString, Rf_mkCharLenCE, SET_STRING_ELT, SEXP};
    use std::collections::HashMap;
    use crate::fxhash::FxBuild;

    let sx = unsafe { v.get() };
    let mut cache: HashMap<&[u8], SEXP, FxBuild> = HashMap::default();
    let mut last: Option<(&[u8], SEXP)> = None;
    let mut by_addr: HashMap<(usize, usize), SEXP, FxBuild> = HashMap::default();
    let mut err = None;
    t.for_each_str(col, |k, s| unsafe {
        // only the selected rows, at their output positions
        let k = match pos {
            None => k,
            Some(p) if p[k] != u32::MAX => p[k] as usize,
            Some(_) => return,
        };
        let c = match s {
            None => R_NaString,
            Some(s) => {
                let b = s.as_bytes();
                match &last {
                    Some((lb, lc)) if *lb == b => *lc,
                    _ => {
                        // Dictionary-decoded columns hand out the same slice
                        // for the same value: try its address first.
                        let addr = (b.as_ptr() as usize, b.len());
                        if let Some(c) = by_addr.get(&addr) {
                            last = Some((b, *c));
                            SET_STRING_ELT(sx, k as isize, *c);
                            return;
                        }
                        let c = match cache.get(b) {
                            Some(c) => *c,
                            None => {
                                if b.contains(&0) {
                                    err.get_or_insert(crate::error::Error::input(format!(
                                        "column `{}` contains a string with an embedded NUL, which R cannot represent",
                                        t.columns[col].name.replace('\0', "\\0")
                                    ))
                                    .with_hint("The file was not written by datom; remove the NUL characters before importing it."));
                                    R_NaString
                                } else if b.len() > i32::MAX as usize {
                                    err.get_or_insert(crate::error::Error::input("string too long for R"));
                                    R_NaString
                                } else {
                                    let c = Rf_mkCharLenCE(b.as_ptr() as *const _, b.len() as i32, cetype_t::CE_UTF8);
                                    // The CHARSXP is referenced by the (protected) vector right below.
                                    if cache.len() < 4_000_000 {
                                        cache.insert(b, c);
                                    }
                                    c
                                }
                            }
                        };
                        if by_addr.len() < 4_000_000 {
                            by_addr.insert(addr, c);
                        }
                        last = Some((b, c));
                        c
                    }
                }
            }
        };
        SET_STRING_ELT(sx, k as isize, c);
    })?;
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

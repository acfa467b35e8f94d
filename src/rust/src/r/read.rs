//! Engine `ReadTable` -> R column vectors. Each R vector is allocated once
//! and filled in place by the engine (no intermediate copy).

use super::result::rerr;
use crate::error::Result;
use crate::table::{RTarget, ReadTable, StrPiece};
use extendr_api::prelude::*;
use extendr_ffi::SEXPTYPE;

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

/// One numeric column to fill in place (the address of its R memory).
struct Fill {
    col: usize,
    target: RTarget,
    ptr: usize,
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
    // 1. Allocate every R vector here (R's main thread); numbers are filled
    // in place by a worker thread while this thread makes the strings (R's
    // string cache is single-threaded), then helps with what is left.
    let mut cols: Vec<Robj> = Vec::with_capacity(t.columns.len());
    let mut tasks: Vec<Fill> = Vec::new();
    for (i, c) in t.columns.iter().enumerate() {
        let v = match c.target {
            RTarget::Double | RTarget::Integer64 => Robj::alloc_vector(SEXPTYPE::REALSXP, n),
            RTarget::Integer | RTarget::Factor => Robj::alloc_vector(SEXPTYPE::INTSXP, n),
            RTarget::Logical => Robj::alloc_vector(SEXPTYPE::LGLSXP, n),
            RTarget::Character => Strings::new(n).into(),
        };
        if c.target != RTarget::Character && n > 0 {
            // SAFETY: the vector was just allocated with n elements of this
            // storage and stays protected (held in `cols`) until the fills end.
            let ptr = unsafe {
                match c.target {
                    RTarget::Double | RTarget::Integer64 => extendr_ffi::REAL(v.get()) as usize,
                    RTarget::Logical => extendr_ffi::LOGICAL(v.get()) as usize,
                    _ => extendr_ffi::INTEGER(v.get()) as usize,
                }
            };
            tasks.push(Fill { col: i, target: c.target, ptr });
        }
        cols.push(v);
    }
    let fill = |f: &Fill| -> Result<()> {
        // SAFETY: see above; each task owns its column's memory alone.
        unsafe {
            match (f.target, rows) {
                (RTarget::Double, None) => t.fill_f64(f.col, std::slice::from_raw_parts_mut(f.ptr as *mut f64, n)),
                (RTarget::Double, Some(r)) => gather(t.nrow, r, std::slice::from_raw_parts_mut(f.ptr as *mut f64, n), |o| t.fill_f64(f.col, o)),
                (RTarget::Integer64, None) => t.fill_i64_bits(f.col, std::slice::from_raw_parts_mut(f.ptr as *mut u64, n)),
                (RTarget::Integer64, Some(r)) => {
                    gather(t.nrow, r, std::slice::from_raw_parts_mut(f.ptr as *mut u64, n), |o| t.fill_i64_bits(f.col, o))
                }
                (_, None) => t.fill_i32(f.col, std::slice::from_raw_parts_mut(f.ptr as *mut i32, n)),
                (_, Some(r)) => gather(t.nrow, r, std::slice::from_raw_parts_mut(f.ptr as *mut i32, n), |o| t.fill_i32(f.col, o)),
            }
        }
        .map(|_| crate::runtime::progress::add("values", n as u64))
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let drain = || -> Result<()> {
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(f) = tasks.get(k) else { return Ok(()) };
            fill(f)?;
            crate::runtime::progress::pulse();
        }
    };
    let parallel = crate::table::thread_count(n.saturating_mul(tasks.len())) > 1 && tasks.len() > 1;
    let strings = || -> Result<()> {
        for (i, c) in t.columns.iter().enumerate() {
            if c.target == RTarget::Character {
                fill_strings(t, i, &cols[i], pos.as_deref())?;
                crate::runtime::progress::add("values", n as u64);
                crate::runtime::progress::pulse();
            }
        }
        drain()
    };
    if parallel {
        let (numbers, strings) = crate::par::join(drain, strings)?;
        numbers.and(strings)?;
    } else {
        strings()?;
    }
    // 2. Attributes.
    for (x, c) in cols.iter_mut().zip(&t.columns) {
        if let Some(levels) = &c.levels {
            x.set_attrib("levels", levels.clone()).map_err(rerr)?;
        }
        if let Some(tz) = &c.info.tzone {
            x.set_attrib("tzone", tz.as_str()).map_err(rerr)?;
        }
        if let Some(u) = &c.info.units {
            x.set_attrib("units", u.as_str()).map_err(rerr)?;
        }
        set_class(x, &c.info.class)?;
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

    type Cache<'s, K> = HashMap<K, SEXP, FxBuild>;
    struct State<'s> {
        sx: SEXP,
        name: &'s str,
        cache: Cache<'s, &'s [u8]>,
        by_addr: Cache<'s, (usize, usize)>,
        last: Option<(&'s [u8], SEXP)>,
        err: Option<crate::error::Error>,
    }
    impl<'s> State<'s> {
        /// The CHARSXP of `b`: cached, or made (NUL and size checked). The
        /// caller references it (from `sx` or a kept table) before the next
        /// allocation, so no cached CHARSXP can be collected.
        unsafe fn charsxp(&mut self, b: &'s [u8]) -> SEXP {
            if let Some(c) = self.cache.get(b) {
                return *c;
            }
            if b.contains(&0) {
                self.err.get_or_insert(crate::error::Error::input(format!(
                    "column `{}` contains a string with an embedded NUL, which R cannot represent",
                    self.name.replace('\0', "\\0")
                ))
                .with_hint("The file was not written by datom; remove the NUL characters before importing it."));
                return R_NaString;
            }
            if b.len() > i32::MAX as usize {
                self.err.get_or_insert(crate::error::Error::input("string too long for R"));
                return R_NaString;
            }
            let c = Rf_mkCharLenCE(b.as_ptr() as *const _, b.len() as i32, cetype_t::CE_UTF8);
            if self.cache.len() < 4_000_000 {
                self.cache.insert(b, c);
            }
            c
        }
        /// Row `k` of the output is `v`.
        unsafe fn put(&mut self, k: usize, v: Option<&'s str>) {
            let c = match v {
                None => R_NaString,
                Some(s) => {
                    let b = s.as_bytes();
                    match self.last {
                        Some((lb, lc)) if lb == b => lc,
                        _ => {
                            // Dictionary-decoded columns hand out the same
                            // slice for the same value: try its address first.
                            let addr = (b.as_ptr() as usize, b.len());
                            let c = match self.by_addr.get(&addr) {
                                Some(c) => *c,
                                None => {
                                    let c = self.charsxp(b);
                                    if self.by_addr.len() < 4_000_000 {
                                        self.by_addr.insert(addr, c);
                                    }
                                    c
                                }
                            };
                            self.last = Some((b, c));
                            c
                        }
                    }
                }
            };
            SET_STRING_ELT(self.sx, k as isize, c);
        }
    }
    let mut st = State {
        sx: unsafe { v.get() },
        name: &t.columns[col].name,
        cache: HashMap::default(),
        by_addr: HashMap::default(),
        last: None,
        err: None,
    };
    // dictionary tables, kept (protected) until the column is filled
    let mut keep: Vec<Robj> = Vec::new();
    let at = |k: usize| -> Option<usize> {
        match pos {
            None => Some(k),
            Some(p) if p[k] != u32::MAX => Some(p[k] as usize),
            Some(_) => None,
        }
    };
    t.visit_str(col, |piece| unsafe {
        match piece {
            // a dictionary chunk read whole: each distinct string made once,
            // then one table lookup per row
            StrPiece::Dict { offset, values, keys, nulls } if pos.is_none() => {
                let table: Robj = Strings::new(values.len()).into();
                let tx = table.get();
                let mut codes: Vec<SEXP> = Vec::with_capacity(values.len());
                for (j, v) in values.iter().enumerate() {
                    let c = v.map_or(R_NaString, |s| st.charsxp(s.as_bytes()));
                    SET_STRING_ELT(tx, j as isize, c);
                    codes.push(c);
                }
                keep.push(table);
                for (i, &k) in keys.iter().enumerate() {
                    let c = if nulls.is_some_and(|n| n.is_null(i)) { R_NaString } else { codes.get(k).copied().unwrap_or(R_NaString) };
                    SET_STRING_ELT(st.sx, (offset + i) as isize, c);
                }
            }
            StrPiece::Dict { offset, values, keys, nulls } => {
                for (i, &k) in keys.iter().enumerate() {
                    if let Some(o) = at(offset + i) {
                        let v = if nulls.is_some_and(|n| n.is_null(i)) { None } else { values.get(k).copied().flatten() };
                        st.put(o, v);
                    }
                }
            }
            StrPiece::Value(k, v) => {
                if let Some(o) = at(k) {
                    st.put(o, v);
                }
            }
        }
    })?;
    drop(keep);
    match st.err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

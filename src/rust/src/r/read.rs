//! Engine `ReadTable` -> R column vectors. Each R vector is allocated once
//! and filled in place by the engine (no intermediate copy).

use super::result::rerr;
use crate::error::Result;
use crate::table::{RTarget, ReadTable};
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
    std::thread::scope(|s| -> Result<()> {
        let worker = if parallel { std::thread::Builder::new().spawn_scoped(s, drain).ok() } else { None };
        let mut res = Ok(());
        for (i, c) in t.columns.iter().enumerate() {
            if c.target == RTarget::Character {
                res = res.and_then(|_| fill_strings(t, i, &cols[i], pos.as_deref()));
                crate::runtime::progress::add("values", n as u64);
                crate::runtime::progress::pulse();
            }
        }
        let mine = drain();
        let theirs = match worker {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => Ok(()),
        };
        res.and(mine).and(theirs)
    })?;
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
    use std::hash::{BuildHasherDefault, Hasher};

    /// A fast, non-cryptographic hash (Fx mixing, splitmix finish) for a per-column cache.
    #[derive(Default)]
    struct Fx(u64);
    impl Hasher for Fx {
        fn write(&mut self, bytes: &[u8]) {
            for chunk in bytes.chunks(8) {
                let mut w = [0u8; 8];
                w[..chunk.len()].copy_from_slice(chunk);
                self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
            }
        }
        fn write_usize(&mut self, v: usize) {
            self.0 = (self.0.rotate_left(5) ^ v as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        fn finish(&self) -> u64 {
            // splitmix64 finaliser: spread every input bit over the low bits
            // the table indexes with.
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }
    let sx = unsafe { v.get() };
    let mut cache: HashMap<&[u8], SEXP, BuildHasherDefault<Fx>> = HashMap::default();
    let mut last: Option<(&[u8], SEXP)> = None;
    let mut by_addr: HashMap<(usize, usize), SEXP, BuildHasherDefault<Fx>> = HashMap::default();
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

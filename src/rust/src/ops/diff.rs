//! Keyed diff of two versions of a table, computed on the decoded columns
//! (the values R would see): rows added, removed and changed, one record
//! per changed cell, and column (schema) changes.

use std::hash::Hasher;

use crate::fxhash::Fx;

use super::read::{self, Resolved};
use super::Project;
use crate::error::{Error, Kind, Result};
use crate::layout;
use crate::model::{self, as_f64, elements, get};
use crate::table::{RTarget, ReadColumn, ReadTable};

/// One side of a diff: a version (id or unique prefix), an instant, or
/// neither (the current version).
#[derive(Clone, Copy, Debug, Default)]
pub struct Side<'a> {
    pub version: Option<&'a str>,
    pub as_of: Option<&'a str>,
}

impl<'a> Side<'a> {
    /// A side given as one string (see [`read::version_or_instant`]): a
    /// canonical instant (`YYYY-MM-DDTHH:MM:SSZ`) is an `as_of`, anything
    /// else a version id or prefix; `None` is the current version.
    pub fn of(x: Option<&'a str>) -> Side<'a> {
        match x {
            Some(s) if model::parse_utc(s).is_some() => Side { version: None, as_of: Some(s) },
            v => Side { version: v, as_of: None },
        }
    }
}

/// A changed cell: the rows it is in and its values as character.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Row in `to` (0-based).
    pub to_row: usize,
    /// Row in `from` (0-based).
    pub from_row: usize,
    pub column: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A column added, removed or whose type changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChange {
    pub column: String,
    /// "added", "removed" or "type_changed".
    pub change: &'static str,
    pub from_type: Option<String>,
    pub to_type: Option<String>,
}

pub struct Diff {
    pub from: Resolved,
    pub to: Resolved,
    /// Both versions have the same data_sha: nothing was read.
    pub identical: bool,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// `None` when identical and the row count is not recorded.
    pub unchanged: Option<usize>,
    /// Rows of `to` that are new (0-based, in `to` order).
    pub added_rows: Vec<usize>,
    /// Rows of `from` that are gone (0-based, in `from` order).
    pub removed_rows: Vec<usize>,
    pub cells: Vec<Cell>,
    pub schema: Vec<SchemaChange>,
    /// The key columns (names), empty for a whole-content match.
    pub keys: Vec<String>,
    /// The decoded versions (absent when identical).
    pub from_table: Option<ReadTable>,
    pub to_table: Option<ReadTable>,
}

impl std::fmt::Debug for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diff")
            .field("added", &self.added)
            .field("removed", &self.removed)
            .field("changed", &self.changed)
            .field("unchanged", &self.unchanged)
            .finish_non_exhaustive()
    }
}

/// Resolve one side.
fn resolve(project: &Project, name: &str, s: Side<'_>) -> Result<Resolved> {
    read::resolve_at(project, name, s.version, s.as_of)
}

/// The version before `to` in the table's history.
fn previous(project: &Project, name: &str, to: &Resolved) -> Result<Resolved> {
    let h = project
        .get_json(&layout::data::version_history(name))?
        .ok_or_else(|| Error::new(Kind::NotFound, format!("No version history found for {name:?}")))?;
    let versions: Vec<&str> = elements(&h).iter().filter_map(|e| model::as_str(get(e, "version"))).collect();
    let at = to.version.as_deref().and_then(|v| versions.iter().position(|x| *x == v));
    match at.and_then(|i| versions.get(i + 1)) {
        Some(v) => read::resolve(project, name, Some(v)),
        None => Err(Error::new(Kind::NotFound, format!("Version {} of {name:?} has no earlier version to compare with", short(&to.version)))
            .with_hint("Pass `from` explicitly.")),
    }
}

fn short(v: &Option<String>) -> String {
    v.as_deref().map(|s| s.chars().take(8).collect()).unwrap_or_else(|| "?".into())
}

/// Row count recorded in a version's metadata snapshot, if any.
fn recorded_nrow(project: &Project, name: &str, r: &Resolved) -> Option<usize> {
    let v = r.version.as_deref()?;
    let meta = project.get_json(&layout::data::snapshot(name, v).ok()?).ok().flatten().or_else(|| {
        let m = project.get_json(&layout::data::metadata(name)).ok().flatten()?;
        (model::as_str(get(&m, "data_sha")) == Some(r.data_sha.as_str())).then_some(m)
    })?;
    as_f64(get(&meta, "nrow")).map(|n| n as usize)
}

/// Diff two versions of `name`. `from = None` is the version before `to`.
/// `keys = None` matches rows by their whole content (added/removed only).
pub fn diff(project: &Project, name: &str, from: Option<Side<'_>>, to: Side<'_>, keys: Option<&[String]>) -> Result<Diff> {
    let to_r = resolve(project, name, to)?;
    let from_r = match from {
        Some(s) => resolve(project, name, s)?,
        None => previous(project, name, &to_r)?,
    };
    if let Some(k) = keys {
        if k.is_empty() {
            return Err(Error::input("`keys` must name at least one column, or be NULL"));
        }
        for (i, a) in k.iter().enumerate() {
            if k[..i].contains(a) {
                return Err(Error::input(format!("`keys` names column {a:?} twice")));
            }
        }
    }
    let keys: Vec<String> = keys.map(|k| k.to_vec()).unwrap_or_default();
    if from_r.data_sha == to_r.data_sha {
        let n = recorded_nrow(project, name, &to_r);
        return Ok(Diff {
            from: from_r,
            to: to_r,
            identical: true,
            added: 0,
            removed: 0,
            changed: 0,
            unchanged: n,
            added_rows: vec![],
            removed_rows: vec![],
            cells: vec![],
            schema: vec![],
            keys,
            from_table: None,
            to_table: None,
        });
    }
    // the two versions are fetched, verified and decoded side by side
    let load = |r: &Resolved| -> Result<ReadTable> { crate::table::read_parquet(bytes::Bytes::from(read::fetch(project, name, r)?)) };
    let (a, b) = crate::par::join(|| load(&from_r), || load(&to_r))?;
    let (a, b) = (a?, b?);
    let mut d = diff_tables(&a, &b, &keys)?;
    d.from = from_r;
    d.to = to_r;
    d.from_table = Some(a);
    d.to_table = Some(b);
    Ok(d)
}

/// The R type of a column as the diff reports it: its first class (with the
/// time zone of a POSIXct), else its storage type.
pub fn type_name(c: &ReadColumn) -> String {
    let base = match &c.info.class {
        Some(cl) if !cl.is_empty() => cl[0].clone(),
        _ => c.info.storage.clone(),
    };
    match (&c.info.tzone, base.as_str()) {
        (Some(tz), "POSIXct") => format!("POSIXct ({})", if tz.is_empty() { "local" } else { tz }),
        _ => base,
    }
}

/// A column's values as R sees them.
enum Vals<'t> {
    F64(Vec<f64>),
    I32(Vec<i32>),
    Lgl(Vec<i32>),
    I64(Vec<u64>),
    Str(Vec<Option<&'t str>>),
    Factor(Vec<i32>, &'t [String]),
}

/// How to format a double column's values.
#[derive(Clone, Copy, PartialEq)]
enum Fmt {
    Plain,
    Date,
    Time,
}

struct Col<'t> {
    vals: Vals<'t>,
    fmt: Fmt,
}

const NA_I64: u64 = 0x8000_0000_0000_0000;

fn is_na_f64(x: f64) -> bool {
    x.is_nan() && (x.to_bits() & 0xffff_ffff) == 1954
}

impl<'t> Col<'t> {
    fn load(t: &'t ReadTable, i: usize) -> Result<Col<'t>> {
        let c = &t.columns[i];
        let n = t.nrow;
        let cls = c.info.class.as_deref().unwrap_or(&[]);
        let fmt = if cls.iter().any(|s| s == "Date") {
            Fmt::Date
        } else if cls.iter().any(|s| s == "POSIXct") {
            Fmt::Time
        } else {
            Fmt::Plain
        };
        let vals = match c.target {
            RTarget::Double => {
                let mut v = vec![0.0; n];
                t.fill_f64(i, &mut v)?;
                Vals::F64(v)
            }
            RTarget::Integer => {
                let mut v = vec![0; n];
                t.fill_i32(i, &mut v)?;
                Vals::I32(v)
            }
            RTarget::Logical => {
                let mut v = vec![0; n];
                t.fill_i32(i, &mut v)?;
                Vals::Lgl(v)
            }
            RTarget::Factor => {
                let mut v = vec![0; n];
                t.fill_i32(i, &mut v)?;
                Vals::Factor(v, c.levels.as_deref().unwrap_or(&[]))
            }
            RTarget::Integer64 => {
                let mut v = vec![0; n];
                t.fill_i64_bits(i, &mut v)?;
                Vals::I64(v)
            }
            RTarget::Character => {
                let mut v = vec![None; n];
                t.for_each_str(i, |k, s| v[k] = s)?;
                Vals::Str(v)
            }
        };
        Ok(Col { vals, fmt })
    }

    /// Row `i` as character (`None` = NA), as R's `as.character()` would
    /// show it (doubles to 15 significant digits; Dates as `YYYY-MM-DD`;
    /// POSIXct as UTC `YYYY-MM-DD HH:MM:SS[.ffffff]Z`).
    fn text(&self, i: usize) -> Option<String> {
        match &self.vals {
            Vals::F64(v) => {
                let x = v[i];
                if is_na_f64(x) {
                    return None;
                }
                Some(match self.fmt {
                    Fmt::Date if x.is_finite() => crate::identity::civil_date(x.floor() as i64),
                    Fmt::Time if x.is_finite() => {
                        let s = x.floor() as i64;
                        let frac = x - x.floor();
                        let mut out = model::format_utc(s).replace('T', " ");
                        if frac > 0.0 {
                            let f = format!("{:.6}", frac);
                            out.insert_str(out.len() - 1, f.trim_start_matches('0').trim_end_matches('0'));
                        }
                        out
                    }
                    _ => fmt_double(x),
                })
            }
            Vals::I32(v) => (v[i] != i32::MIN).then(|| v[i].to_string()),
            Vals::Lgl(v) => (v[i] != i32::MIN).then(|| if v[i] != 0 { "TRUE".into() } else { "FALSE".into() }),
            Vals::I64(v) => (v[i] != NA_I64).then(|| (v[i] as i64).to_string()),
            Vals::Str(v) => v[i].map(str::to_string),
            Vals::Factor(v, l) => (v[i] != i32::MIN).then(|| l.get((v[i] - 1) as usize).cloned()).flatten(),
        }
    }

    /// Append row `i` to a key buffer: natively when both sides have the
    /// same type, else as text.
    fn key(&self, i: usize, native: bool, out: &mut Vec<u8>) {
        if !native {
            match self.text(i) {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
            return;
        }
        match &self.vals {
            Vals::F64(v) => {
                let x = v[i];
                let bits = if x == 0.0 {
                    0
                } else if is_na_f64(x) {
                    1
                } else if x.is_nan() {
                    2
                } else {
                    x.to_bits()
                };
                out.extend_from_slice(&bits.to_le_bytes());
            }
            Vals::I32(v) | Vals::Lgl(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Vals::I64(v) => out.extend_from_slice(&v[i].to_le_bytes()),
            Vals::Str(v) => match v[i] {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            },
            Vals::Factor(v, l) => match (v[i] != i32::MIN).then(|| l.get((v[i] - 1) as usize)).flatten() {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            },
        }
    }
}

/// The columns `want` of `t`, loaded (others `None`).
fn load_cols(t: &ReadTable, want: impl Iterator<Item = usize>) -> Result<Vec<Option<Col<'_>>>> {
    let mut out: Vec<Option<Col<'_>>> = (0..t.columns.len()).map(|_| None).collect();
    for i in want {
        out[i] = Some(Col::load(t, i)?);
    }
    Ok(out)
}

/// Do row `i` of `a` and row `j` of `b` hold the same value? Natively when
/// both have the same type, else by their text.
fn same(a: &Col<'_>, i: usize, b: &Col<'_>, j: usize, native: bool) -> bool {
    if native {
        match (&a.vals, &b.vals) {
            (Vals::F64(x), Vals::F64(y)) => {
                let (p, q) = (x[i], y[j]);
                p == q || (p.is_nan() && q.is_nan() && is_na_f64(p) == is_na_f64(q))
            }
            (Vals::I32(x), Vals::I32(y)) | (Vals::Lgl(x), Vals::Lgl(y)) => x[i] == y[j],
            (Vals::I64(x), Vals::I64(y)) => x[i] == y[j],
            (Vals::Str(x), Vals::Str(y)) => x[i] == y[j],
            (Vals::Factor(x, l), Vals::Factor(y, m)) => {
                fn f(v: i32, l: &[String]) -> Option<&str> {
                    (v != i32::MIN).then(|| l.get((v - 1) as usize)).flatten().map(String::as_str)
                }
                f(x[i], l) == f(y[j], m)
            }
            _ => a.text(i) == b.text(j),
        }
    } else {
        a.text(i) == b.text(j)
    }
}

/// R's `as.character()` of a double: 15 significant digits.
fn fmt_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    // 15 significant digits, then R's choice: fixed unless scientific is shorter
    let s = format!("{:.14e}", x);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mant = mant.trim_end_matches('0').trim_end_matches('.');
    let sci = format!("{mant}e{}{:02}", if exp < 0 { "-" } else { "+" }, exp.abs());
    let digits = mant.trim_start_matches('-').replace('.', "").len() as i32;
    let decimals = (digits - 1 - exp).max(0) as usize;
    let v: f64 = format!("{mant}e{exp}").parse().unwrap_or(x);
    let fixed = format!("{:.*}", decimals, v);
    if fixed.len() <= sci.len() {
        fixed
    } else {
        sci
    }
}

/// Per-row key bytes of `cols` (one buffer, offsets) and a hash per row.
struct RowKeys {
    buf: Vec<u8>,
    offs: Vec<usize>,
    hashes: Vec<u64>,
}

impl RowKeys {
    fn new(cols: &[(&Col<'_>, bool)], nrow: usize) -> RowKeys {
        let mut buf = Vec::new();
        let mut offs = Vec::with_capacity(nrow + 1);
        let mut hashes = Vec::with_capacity(nrow);
        offs.push(0);
        for i in 0..nrow {
            let start = buf.len();
            for (c, native) in cols {
                c.key(i, *native, &mut buf);
            }
            if i == 0 {
                buf.reserve((buf.len() - start) * nrow);
            }
            let mut h = Fx::default();
            h.write(&buf[start..]);
            hashes.push(h.finish());
            offs.push(buf.len());
        }
        RowKeys { buf, offs, hashes }
    }
    fn key(&self, i: usize) -> &[u8] {
        &self.buf[self.offs[i]..self.offs[i + 1]]
    }
}

const NONE: u32 = u32::MAX;

/// Rows sorted by key hash (ties by row), for duplicate checks and a
/// merge join: sequential passes instead of random probes of a hash table.
/// The hashes are uniform, so one counting pass on their top 16 bits puts
/// each row in a small bucket, and the buckets are sorted in cache.
fn by_hash(k: &RowKeys) -> Vec<(u64, u32)> {
    const BITS: u32 = 16;
    let n = k.hashes.len();
    if n < 1 << BITS {
        let mut v: Vec<(u64, u32)> = k.hashes.iter().enumerate().map(|(i, h)| (*h, i as u32)).collect();
        v.sort_unstable();
        return v;
    }
    let bucket = |h: u64| (h >> (64 - BITS)) as usize;
    let mut start = vec![0usize; (1 << BITS) + 1];
    for h in &k.hashes {
        start[bucket(*h) + 1] += 1;
    }
    for b in 0..1 << BITS {
        start[b + 1] += start[b];
    }
    let mut next = start.clone();
    let mut v = vec![(0u64, 0u32); n];
    for (i, h) in k.hashes.iter().enumerate() {
        let b = bucket(*h);
        v[next[b]] = (*h, i as u32);
        next[b] += 1;
    }
    for b in 0..1 << BITS {
        v[start[b]..start[b + 1]].sort_unstable();
    }
    v
}

/// Runs of equal hash in a sorted list: `(start, end)`.
fn runs(v: &[(u64, u32)]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut s = 0;
    std::iter::from_fn(move || {
        if s >= v.len() {
            return None;
        }
        let mut e = s + 1;
        while e < v.len() && v[e].0 == v[s].0 {
            e += 1;
        }
        let r = (s, e);
        s = e;
        Some(r)
    })
}

/// Rows whose key repeats an earlier row's: (count, first such row).
fn duplicates(k: &RowKeys, sorted: &[(u64, u32)]) -> (usize, Option<usize>) {
    let (mut n, mut ex) = (0usize, None::<usize>);
    for (s, e) in runs(sorted) {
        for x in s + 1..e {
            let r = sorted[x].1 as usize;
            if sorted[s..x].iter().any(|y| k.key(y.1 as usize) == k.key(r)) {
                n += 1;
                ex = Some(ex.map_or(r, |m| m.min(r)));
            }
        }
    }
    (n, ex)
}

/// Match rows of `b` to rows of `a` with equal keys; each `a` row at most
/// once. `out[j]` = the row of `a`. Rows at the same position are matched
/// first (one sequential pass: versions of a table mostly keep their row
/// order, and comparing in order avoids a cache miss per row); the rest by
/// a merge over the hash-sorted lists, the lowest unmatched row first.
fn merge_match(ka: &RowKeys, sa: &[(u64, u32)], kb: &RowKeys, sb: &[(u64, u32)]) -> Vec<u32> {
    let (na, nb) = (ka.hashes.len(), kb.hashes.len());
    let mut out = vec![NONE; nb];
    let mut used_row = vec![false; na];
    let mut left = nb;
    for j in 0..na.min(nb) {
        if ka.hashes[j] == kb.hashes[j] && ka.key(j) == kb.key(j) {
            out[j] = j as u32;
            used_row[j] = true;
            left -= 1;
        }
    }
    if left == 0 || used_row.iter().all(|u| *u) {
        return out;
    }
    let (mut i, mut j) = (0usize, 0usize);
    while i < sa.len() && j < sb.len() {
        let (ha, hb) = (sa[i].0, sb[j].0);
        if ha < hb {
            i += 1;
        } else if hb < ha {
            j += 1;
        } else {
            let mut ie = i;
            while ie < sa.len() && sa[ie].0 == ha {
                ie += 1;
            }
            let mut je = j;
            while je < sb.len() && sb[je].0 == hb {
                je += 1;
            }
            for y in j..je {
                let rb = sb[y].1 as usize;
                if out[rb] != NONE {
                    continue;
                }
                if let Some(x) = (i..ie).find(|&x| !used_row[sa[x].1 as usize] && ka.key(sa[x].1 as usize) == kb.key(rb)) {
                    used_row[sa[x].1 as usize] = true;
                    out[rb] = sa[x].1;
                }
            }
            i = ie;
            j = je;
        }
    }
    out
}

fn duplicate_error(keys: &[String], cols: &[&Col<'_>], dups: usize, example: usize, which: &str) -> Error {
    let shown: Vec<String> = keys
        .iter()
        .zip(cols)
        .map(|(k, c)| format!("{k} = {}", c.text(example).map(|s| format!("{s:?}")).unwrap_or_else(|| "NA".into())))
        .collect();
    Error::input(format!(
        "Key ({}) is not unique in the `{which}` version: {dups} row(s) repeat a key, e.g. {}",
        keys.join(", "),
        shown.join(", ")
    ))
    .with_hint("Add columns to `keys` so that each row has its own key.")
}

/// Positions `p` in `pairs` (row of b, row of a) where `x[a] != y[b]`,
/// ascending: one type dispatch per column, then a tight loop.
fn differing(x: &Col<'_>, y: &Col<'_>, native: bool, pairs: &[(u32, u32)]) -> Vec<u32> {
    fn scan(pairs: &[(u32, u32)], mut differs: impl FnMut(usize, usize) -> bool) -> Vec<u32> {
        let mut out = Vec::new();
        for (p, &(j, i)) in pairs.iter().enumerate() {
            if differs(i as usize, j as usize) {
                out.push(p as u32);
            }
        }
        out
    }
    if !native {
        return scan(pairs, |i, j| x.text(i) != y.text(j));
    }
    match (&x.vals, &y.vals) {
        (Vals::F64(a), Vals::F64(b)) => scan(pairs, |i, j| {
            let (p, q) = (a[i], b[j]);
            !(p == q || (p.is_nan() && q.is_nan() && is_na_f64(p) == is_na_f64(q)))
        }),
        (Vals::I32(a), Vals::I32(b)) | (Vals::Lgl(a), Vals::Lgl(b)) => scan(pairs, |i, j| a[i] != b[j]),
        (Vals::I64(a), Vals::I64(b)) => scan(pairs, |i, j| a[i] != b[j]),
        (Vals::Str(a), Vals::Str(b)) => scan(pairs, |i, j| a[i] != b[j]),
        (Vals::Factor(a, la), Vals::Factor(b, lb)) => {
            // codes of `a` mapped onto the levels of `b` (0 = a level `b` lacks)
            let pos: std::collections::HashMap<&str, i32> = lb.iter().enumerate().map(|(k, l)| (l.as_str(), k as i32 + 1)).collect();
            let map: Vec<i32> = la.iter().map(|l| pos.get(l.as_str()).copied().unwrap_or(0)).collect();
            let code = |v: i32, n: usize| if v == i32::MIN || v < 1 || v as usize > n { i32::MIN } else { v };
            scan(pairs, |i, j| {
                let ca = code(a[i], la.len());
                let ca = if ca == i32::MIN { ca } else { map[(ca - 1) as usize] };
                ca != code(b[j], lb.len()) || (ca == 0)
            })
        }
        _ => scan(pairs, |i, j| !same(x, i, y, j, true)),
    }
}

/// Diff two decoded tables (`a` = from, `b` = to).
pub fn diff_tables(a: &ReadTable, b: &ReadTable, keys: &[String]) -> Result<Diff> {
    let pos = |t: &ReadTable, n: &str| t.columns.iter().position(|c| c.name == n);
    // schema changes, in `to` order then removed columns in `from` order
    let mut schema = Vec::new();
    for c in &b.columns {
        match pos(a, &c.name) {
            None => schema.push(SchemaChange { column: c.name.clone(), change: "added", from_type: None, to_type: Some(type_name(c)) }),
            Some(i) => {
                let (ft, tt) = (type_name(&a.columns[i]), type_name(c));
                if ft != tt {
                    schema.push(SchemaChange { column: c.name.clone(), change: "type_changed", from_type: Some(ft), to_type: Some(tt) });
                }
            }
        }
    }
    for c in &a.columns {
        if pos(b, &c.name).is_none() {
            schema.push(SchemaChange { column: c.name.clone(), change: "removed", from_type: Some(type_name(c)), to_type: None });
        }
    }
    for k in keys {
        for (t, which) in [(a, "from"), (b, "to")] {
            if pos(t, k).is_none() {
                return Err(Error::input(format!("Key column {k:?} is not in the `{which}` version")));
            }
        }
    }
    // shared columns in `to` order: (index in a, index in b, same type)
    let shared: Vec<(usize, usize, bool)> = b
        .columns
        .iter()
        .enumerate()
        .filter_map(|(j, c)| pos(a, &c.name).map(|i| (i, j, type_name(&a.columns[i]) == type_name(c) && a.columns[i].target == c.target)))
        .collect();
    let (ca, cb) = crate::par::join(|| load_cols(a, shared.iter().map(|x| x.0)), || load_cols(b, shared.iter().map(|x| x.1)))?;
    let (ca, cb) = (ca?, cb?);
    let col_a = |i: usize| ca[i].as_ref().expect("loaded");
    let col_b = |j: usize| cb[j].as_ref().expect("loaded");

    let mut d = Diff {
        from: Resolved { version: None, data_sha: String::new(), parquet_sha: None },
        to: Resolved { version: None, data_sha: String::new(), parquet_sha: None },
        identical: false,
        added: 0,
        removed: 0,
        changed: 0,
        unchanged: Some(0),
        added_rows: vec![],
        removed_rows: vec![],
        cells: vec![],
        schema,
        keys: keys.to_vec(),
        from_table: None,
        to_table: None,
    };

    if a.nrow >= NONE as usize || b.nrow >= NONE as usize {
        return Err(Error::input("datom_diff() supports tables of up to 4294967294 rows"));
    }
    if keys.is_empty() {
        // whole-content match (a multiset): only when both have the same columns
        let same_cols = a.columns.len() == b.columns.len() && shared.len() == b.columns.len();
        if !same_cols {
            d.added_rows = (0..b.nrow).collect();
            d.removed_rows = (0..a.nrow).collect();
        } else {
            let mut order: Vec<(usize, usize, bool)> = shared.clone();
            order.sort_by_key(|x| x.0);
            let ka: Vec<(&Col<'_>, bool)> = order.iter().map(|&(i, _, n)| (col_a(i), n)).collect();
            let kb: Vec<(&Col<'_>, bool)> = order.iter().map(|&(_, j, n)| (col_b(j), n)).collect();
            let ra = RowKeys::new(&ka, a.nrow);
            let rb = RowKeys::new(&kb, b.nrow);
            let m = merge_match(&ra, &by_hash(&ra), &rb, &by_hash(&rb));
            let mut matched = vec![false; a.nrow];
            let mut unchanged = 0;
            for (j, &i) in m.iter().enumerate() {
                if i == NONE {
                    d.added_rows.push(j);
                } else {
                    matched[i as usize] = true;
                    unchanged += 1;
                }
            }
            d.removed_rows = (0..a.nrow).filter(|&i| !matched[i]).collect();
            d.unchanged = Some(unchanged);
        }
        d.added = d.added_rows.len();
        d.removed = d.removed_rows.len();
        return Ok(d);
    }

    let key_ij: Vec<(usize, usize, bool)> =
        keys.iter().map(|k| shared.iter().copied().find(|&(_, j, _)| b.columns[j].name == *k).expect("key is shared")).collect();
    let ka: Vec<(&Col<'_>, bool)> = key_ij.iter().map(|&(i, _, n)| (col_a(i), n)).collect();
    let kb: Vec<(&Col<'_>, bool)> = key_ij.iter().map(|&(_, j, n)| (col_b(j), n)).collect();
    let keyed = |cols: &[(&Col<'_>, bool)], nrow: usize| {
        let k = RowKeys::new(cols, nrow);
        let o = by_hash(&k);
        (k, o)
    };
    let ((ra, sa), (rb, sb)) = crate::par::join(|| keyed(&ka, a.nrow), || keyed(&kb, b.nrow))?;
    let kca: Vec<&Col<'_>> = ka.iter().map(|x| x.0).collect();
    let kcb: Vec<&Col<'_>> = kb.iter().map(|x| x.0).collect();
    if let (n, Some(i)) = duplicates(&ra, &sa) {
        return Err(duplicate_error(keys, &kca, n, i, "from"));
    }
    if let (n, Some(j)) = duplicates(&rb, &sb) {
        return Err(duplicate_error(keys, &kcb, n, j, "to"));
    }
    let m = merge_match(&ra, &sa, &rb, &sb);
    drop((sa, sb));
    let compare: Vec<(usize, usize, bool)> = shared.iter().copied().filter(|(_, j, _)| !keys.contains(&b.columns[*j].name)).collect();
    // matched rows in `to` order: (row of b, row of a)
    let mut matched = vec![false; a.nrow];
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(b.nrow);
    for (j, &i) in m.iter().enumerate() {
        if i == NONE {
            d.added_rows.push(j);
        } else {
            matched[i as usize] = true;
            pairs.push((j as u32, i));
        }
    }
    drop(m);
    // column by column (one type dispatch per column, both cores): the
    // positions in `pairs` whose cells differ
    let per_col: Vec<Vec<u32>> = {
        let work: Vec<(&Col<'_>, &Col<'_>, bool)> = compare.iter().map(|&(ci, cj, n)| (col_a(ci), col_b(cj), n)).collect();
        let order: Vec<usize> = (0..work.len()).collect();
        crate::par::par_map(&order, 2, |k| {
            let (x, y, n) = work[k];
            differing(x, y, n, &pairs)
        })?
    };
    // cells ordered by row of `to`, then by column (in `to` order)
    let mut hits: Vec<(u32, u32)> = per_col.iter().enumerate().flat_map(|(c, v)| v.iter().map(move |&p| (p, c as u32))).collect();
    hits.sort_unstable();
    let mut last = None;
    for &(p, c) in &hits {
        let (j, i) = (pairs[p as usize].0 as usize, pairs[p as usize].1 as usize);
        let (ci, cj, _) = compare[c as usize];
        let (x, y) = (col_a(ci), col_b(cj));
        d.cells.push(Cell { to_row: j, from_row: i, column: b.columns[cj].name.clone(), from: x.text(i), to: y.text(j) });
        if last != Some(p) {
            d.changed += 1;
            last = Some(p);
        }
    }
    let unchanged = pairs.len() - d.changed;
    d.removed_rows = (0..a.nrow).filter(|&i| !matched[i]).collect();
    d.added = d.added_rows.len();
    d.removed = d.removed_rows.len();
    d.unchanged = Some(unchanged);
    Ok(d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_side_is_an_instant_or_a_version() {
        let s = super::Side::of(Some("2026-03-31T23:59:59Z"));
        assert_eq!((s.version, s.as_of), (None, Some("2026-03-31T23:59:59Z")));
        let s = super::Side::of(Some("abc123"));
        assert_eq!((s.version, s.as_of), (Some("abc123"), None));
        let s = super::Side::of(None);
        assert_eq!((s.version, s.as_of), (None, None));
    }

    use super::*;
    use crate::column::{Column, NamedColumn, NumValues, RColumnInfo, StrValues};
    use crate::table::{read_parquet, write_parquet};

    fn info(class: &[&str], storage: &str, tz: Option<&str>) -> RColumnInfo {
        RColumnInfo {
            class: if class.is_empty() { None } else { Some(class.iter().map(|s| s.to_string()).collect()) },
            storage: storage.to_string(),
            tzone: tz.map(str::to_string),
            ..Default::default()
        }
    }

    fn table(cols: Vec<NamedColumn<'_>>, n: usize) -> ReadTable {
        let w = write_parquet(&cols, n, Some(&["data.frame".to_string()])).unwrap();
        read_parquet(bytes::Bytes::from(w.bytes)).unwrap()
    }

    fn strs<'a>(v: &'a [Option<&'a str>]) -> StrValues<'a> {
        StrValues { values: v.iter().map(|s| s.map(|s| s.as_bytes())).collect() }
    }

    #[test]
    fn keyed_diff_counts_rows_and_cells() {
        let na = crate::column::na_real();
        let id_a = [Some("s1"), Some("s2"), Some("s3"), Some("s4")];
        let x_a = [1.0, 2.0, na, 4.0];
        let t_a = [0.0, 3600.0, 7200.0, 10800.0];
        let a = table(
            vec![
                NamedColumn { name: "id".into(), column: Column::Chr(strs(&id_a)), info: info(&[], "character", None) },
                NamedColumn { name: "x".into(), column: Column::Num(NumValues::Double(&x_a)), info: info(&[], "double", None) },
                NamedColumn {
                    name: "t".into(),
                    column: Column::Time { secs: NumValues::Double(&t_a), tzone: Some("UTC".into()) },
                    info: info(&["POSIXct", "POSIXt"], "double", Some("UTC")),
                },
                NamedColumn { name: "gone".into(), column: Column::Num(NumValues::Integer(&[1, 2, 3, 4])), info: info(&[], "integer", None) },
            ],
            4,
        );
        // s1 unchanged; s2: x 2 -> NA; s3: x NA -> 3.5; s4 removed; s5 added;
        // t's zone changes (same instants: no cell changes)
        let id_b = [Some("s5"), Some("s3"), Some("s2"), Some("s1")];
        let x_b = [5.0, 3.5, na, 1.0];
        let t_b = [0.0, 7200.0, 3600.0, 0.0];
        let b = table(
            vec![
                NamedColumn { name: "id".into(), column: Column::Chr(strs(&id_b)), info: info(&[], "character", None) },
                NamedColumn { name: "x".into(), column: Column::Num(NumValues::Double(&x_b)), info: info(&[], "double", None) },
                NamedColumn {
                    name: "t".into(),
                    column: Column::Time { secs: NumValues::Double(&t_b), tzone: Some("America/New_York".into()) },
                    info: info(&["POSIXct", "POSIXt"], "double", Some("America/New_York")),
                },
                NamedColumn { name: "new".into(), column: Column::Num(NumValues::Logical(&[1, 0, 1, 0])), info: info(&[], "logical", None) },
            ],
            4,
        );
        let d = diff_tables(&a, &b, &["id".to_string()]).unwrap();
        assert_eq!((d.added, d.removed, d.changed, d.unchanged), (1, 1, 2, Some(1)));
        assert_eq!(d.added_rows, vec![0]);
        assert_eq!(d.removed_rows, vec![3]);
        let cells: Vec<(usize, &str, Option<&str>, Option<&str>)> =
            d.cells.iter().map(|c| (c.to_row, c.column.as_str(), c.from.as_deref(), c.to.as_deref())).collect();
        assert_eq!(cells, vec![(1, "x", None, Some("3.5")), (2, "x", Some("2"), None)]);
        let schema: Vec<(&str, &str)> = d.schema.iter().map(|s| (s.column.as_str(), s.change)).collect();
        assert_eq!(schema, vec![("t", "type_changed"), ("new", "added"), ("gone", "removed")]);
        assert_eq!(d.schema[0].to_type.as_deref(), Some("POSIXct (America/New_York)"));

        // whole-content match: s1 matches only if the column sets agree
        let d = diff_tables(&a, &b, &[]).unwrap();
        assert_eq!((d.added, d.removed, d.unchanged), (4, 4, Some(0)));
        let d = diff_tables(&a, &a, &[]).unwrap();
        assert_eq!((d.added, d.removed, d.unchanged), (0, 0, Some(4)));

        // duplicate keys are refused, naming the key and a count
        let dup = [Some("s1"), Some("s1"), Some("s1"), Some("s2")];
        let c = table(
            vec![NamedColumn { name: "id".into(), column: Column::Chr(strs(&dup)), info: info(&[], "character", None) }],
            4,
        );
        let e = diff_tables(&a, &c, &["id".to_string()]).unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.contains("Key (id)") && e.message.contains("2 row(s)") && e.message.contains("\"s1\""), "{}", e.message);
        assert_eq!(diff_tables(&a, &b, &["gone".to_string()]).unwrap_err().kind, Kind::Input);
    }

    #[test]
    fn doubles_format_like_r() {
        assert_eq!(fmt_double(1.0), "1");
        assert_eq!(fmt_double(0.1 + 0.2), "0.3");
        assert_eq!(fmt_double(3.5), "3.5");
        assert_eq!(fmt_double(-2.25), "-2.25");
        assert_eq!(fmt_double(1e20), "1e+20");
        assert_eq!(fmt_double(1.5e-7), "1.5e-07");
        assert_eq!(fmt_double(123456.789), "123456.789");
        assert_eq!(fmt_double(f64::INFINITY), "Inf");
        assert_eq!(fmt_double(100000.0), "1e+05");
        assert_eq!(fmt_double(123456.0), "123456");
        assert_eq!(fmt_double(0.0001), "1e-04");
        assert_eq!(fmt_double(0.0), "0");
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_their_keys() {
        // every row in one hash bucket: matching and duplicates by key bytes
        let keys = |v: &[&str]| {
            let mut buf = Vec::new();
            let mut offs = vec![0];
            for k in v {
                buf.extend_from_slice(k.as_bytes());
                offs.push(buf.len());
            }
            RowKeys { buf, offs, hashes: vec![7; v.len()] }
        };
        let a = keys(&["x", "y", "x", "w"]);
        let b = keys(&["y", "x", "z", "x", "x"]);
        let (sa, sb) = (by_hash(&a), by_hash(&b));
        assert_eq!(duplicates(&a, &sa), (1, Some(2)));
        assert_eq!(duplicates(&b, &sb), (2, Some(3)));
        assert_eq!(merge_match(&a, &sa, &b, &sb), vec![1, 0, NONE, 2, NONE]);
        let u = keys(&["p", "q"]);
        assert_eq!(duplicates(&u, &by_hash(&u)), (0, None));
    }
}

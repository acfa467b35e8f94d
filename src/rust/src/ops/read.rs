//! Reading a version from the store alone (dev/spec/FORMATS.md 5-6): no git, no token.

use super::Project;
use crate::error::{Error, Kind, Result};
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model::{self, as_str, elements, get};
use crate::table::{read_parquet, ReadTable};

/// A resolved version: what to fetch and how to verify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub version: Option<String>,
    pub data_sha: String,
    pub parquet_sha: Option<String>,
}

/// Resolve `version` (None = current; else a unique prefix of a version id)
/// against the storage copies of metadata.json and version_history.json.
pub fn resolve(project: &Project, name: &str, version: Option<&str>) -> Result<Resolved> {
    layout::check_name(name, "name")?;
    let meta = project.get_json(&layout::data::metadata(name))?.ok_or_else(|| {
        Error::new(Kind::NotFound, format!("Table {name:?} not found in project {}", project.name))
            .with_hint(super::v01_hint(project).unwrap_or_else(|| "See datom_list(conn) for the tables of this project.".into()))
    })?;
    let nonempty = |v: Option<&RValue>| as_str(v).filter(|s| !s.is_empty()).map(|s| s.to_string());
    let resolved = match version {
        None => {
            // The current version needs metadata.json only: its version id
            // is its own metadata_sha (dev/spec/FORMATS.md 4.6), so a reader makes one
            // metadata request and then fetches the parquet object.
            let data_sha = nonempty(get(&meta, "data_sha")).ok_or_else(|| {
                Error::new(Kind::Integrity, format!("Current metadata of {name:?} has no data_sha (corrupt metadata)"))
            })?;
            let (current, _) = crate::identity::canon::metadata_sha(&meta)?;
            Resolved { version: Some(current), data_sha, parquet_sha: nonempty(get(&meta, "parquet_sha")) }
        }
        Some(v) => {
            let history = project.get_json(&layout::data::version_history(name))?;
            if v.is_empty() {
                return Err(Error::input("`version` must be a single non-empty string or NULL"));
            }
            let h = history.ok_or_else(|| Error::new(Kind::NotFound, format!("No version history found for {name:?}")))?;
            let entries = elements(&h);
            if entries.is_empty() {
                return Err(Error::new(Kind::NotFound, format!("No version history found for {name:?}")));
            }
            let hits: Vec<&RValue> = entries.iter().filter(|e| as_str(get(e, "version")).is_some_and(|x| x.starts_with(v))).collect();
            match hits.len() {
                0 => {
                    return Err(Error::new(Kind::NotFound, format!("Version {v:?} not found in history for {name:?}"))
                        .with_hint(format!("See datom_history(conn, \"{name}\") for the versions of this table.")))
                }
                1 => {}
                n => {
                    return Err(Error::new(
                        Kind::Input,
                        format!("Version prefix {v:?} is ambiguous for {name:?}; it matches {n} versions"),
                    )
                    .with_hint("Use a longer prefix."))
                }
            }
            let e = hits[0];
            let data_sha = nonempty(get(e, "data_sha"))
                .ok_or_else(|| Error::new(Kind::Integrity, format!("History entry {v:?} of {name:?} has no data_sha")))?;
            Resolved {
                version: as_str(get(e, "version")).map(|s| s.to_string()),
                data_sha,
                parquet_sha: nonempty(get(e, "parquet_sha")),
            }
        }
    };
    layout::check_sha(&resolved.data_sha, "data_sha")?;
    Ok(resolved)
}

/// Resolve `version` (see [`resolve`]) or `as_of`, an instant
/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds): the version that was current
/// then, from the table's current-version log in the store
/// (`<table>/.metadata/current_log.json`, newest first, one entry per
/// data-repo commit that changed the table's metadata, reverts included).
/// The version current at `as_of` is the newest entry whose `since` (the
/// commit time, 1-second resolution) is at or before `as_of`.
pub fn resolve_at(project: &Project, name: &str, version: Option<&str>, as_of: Option<&str>) -> Result<Resolved> {
    let Some(at) = as_of else { return resolve(project, name, version) };
    if version.is_some() {
        return Err(Error::input("Give `version` or `as_of`, not both."));
    }
    let v = version_as_of(project, name, at)?;
    resolve(project, name, Some(&v))
}

/// An instant as a user writes it, in the canonical form the engine
/// compares (`YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds; fractions dropped):
/// `YYYY-MM-DD` is the end of that day (UTC);
/// `YYYY-MM-DD[T ]HH:MM[:SS][.fff][Z|+HH[:]MM|-HH[:]MM]` is converted to UTC.
/// Surrounding blanks are ignored. `None` when `text` is neither (or names a
/// day or time that does not exist).
pub fn instant(text: &str) -> Option<String> {
    let s = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() < 10 {
        return None;
    }
    let day = &s[..10];
    let midnight = model::parse_utc(&format!("{day}T00:00:00Z"))?;
    if b.len() == 10 {
        return Some(format!("{day}T23:59:59Z"));
    }
    let two = |i: usize| -> Option<i64> { b.get(i..i + 2).filter(|d| d.iter().all(u8::is_ascii_digit)).map(|d| ((d[0] - b'0') * 10 + d[1] - b'0') as i64) };
    if !matches!(b[10], b'T' | b' ') || b.get(13) != Some(&b':') {
        return None;
    }
    let (hh, mm) = (two(11)?, two(14)?);
    let mut i = 16;
    let mut ss = 0;
    if b.get(i) == Some(&b':') {
        ss = two(i + 1)?;
        i += 3;
    }
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += 1 + digits;
    }
    let offset = match &b[i..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let z: Vec<u8> = rest.iter().copied().filter(|c| *c != b':').collect();
            if z.len() != 4 || rest.len() > 5 || (rest.len() == 5 && rest[2] != b':') || !z.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = |k: usize| ((z[k] - b'0') * 10 + z[k + 1] - b'0') as i64;
            (n(0) * 3600 + n(2) * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some(model::format_utc(midnight + hh * 3600 + mm * 60 + ss - offset))
}

/// The instant of a time in seconds since the epoch (an R `POSIXct`),
/// fractions dropped; `None` when not finite.
pub fn instant_of_secs(secs: f64) -> Option<String> {
    (secs.is_finite() && secs.abs() < 1e15).then(|| model::format_utc(secs.floor() as i64))
}

/// The instant of a day counted from 1970-01-01 (an R `Date`): the end of
/// that day, UTC; `None` when not finite.
pub fn instant_of_day(days: f64) -> Option<String> {
    (days.is_finite() && days.abs() < 1e10).then(|| model::format_utc(days.floor() as i64 * 86_400 + 86_399))
}

/// One side of a diff as a user gives it: a string of hex digits is a
/// version id (or prefix, lower-cased), anything else an [`instant`].
pub fn version_or_instant(text: &str) -> Option<String> {
    if !text.is_empty() && text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Some(text.to_ascii_lowercase());
    }
    instant(text)
}

/// The version id of `name` current at instant `as_of` (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn version_as_of(project: &Project, name: &str, as_of: &str) -> Result<String> {
    layout::check_name(name, "name")?;
    let t = model::parse_utc(as_of).ok_or_else(|| {
        Error::input(format!("`as_of` {as_of:?} is not an instant of the form YYYY-MM-DDTHH:MM:SSZ"))
    })?;
    let log = current_log(project, name)?;
    let mut best: Option<(i64, &str)> = None;
    let mut first: Option<i64> = None;
    for (since, version) in &log {
        first = Some(first.map_or(*since, |f: i64| f.min(*since)));
        // newest first: on equal `since` the earlier entry (later commit) wins
        if *since <= t && best.is_none_or(|(b, _)| *since > b) {
            best = Some((*since, version.as_str()));
        }
    }
    match best {
        Some((_, v)) => Ok(v.to_string()),
        None => Err(Error::new(
            Kind::NotFound,
            match first {
                Some(f) => format!(
                    "Table {name:?} had no version at {as_of}; its first version became current at {}",
                    model::format_utc(f)
                ),
                None => format!("Table {name:?} has no recorded versions"),
            },
        )
        .with_hint(format!("See datom_history(conn, \"{name}\") for the versions of this table."))),
    }
}

/// A table's current-version log from the store: `(since, version)`, newest first.
pub fn current_log(project: &Project, name: &str) -> Result<Vec<(i64, String)>> {
    let log = match project.get_json(&layout::data::current_log(name))? {
        Some(l) => l,
        None => {
            if project.get_json(&layout::data::metadata(name))?.is_none() {
                return Err(Error::new(Kind::NotFound, format!("Table {name:?} not found in project {}", project.name))
                    .with_hint("See datom_list(conn) for the tables of this project."));
            }
            return Err(Error::new(Kind::NotFound, format!("The store has no current-version log for {name:?}"))
                .with_hint("A developer can publish it with datom_validate(conn, fix = TRUE)."));
        }
    };
    elements(&log)
        .iter()
        .map(|e| {
            let since = as_str(get(e, "since")).and_then(model::parse_utc);
            let version = as_str(get(e, "version")).filter(|s| !s.is_empty());
            match (since, version) {
                (Some(s), Some(v)) => Ok((s, v.to_string())),
                _ => Err(Error::new(Kind::Integrity, format!("The current-version log of {name:?} has a malformed entry"))
                    .with_hint("A developer can rebuild it with datom_validate(conn, fix = TRUE).")),
            }
        })
        .collect()
}

/// Where a version's parquet object is, for other engines (DuckDB, Spark,
/// Polars, pyarrow) to read exactly that version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub version: Option<String>,
    /// `s3://bucket/key` or an absolute file path.
    pub uri: String,
    /// The object's full key in the store.
    pub key: String,
    pub data_sha: String,
    pub parquet_sha: Option<String>,
    pub bytes: u64,
    /// "local" or "s3".
    pub backend: String,
}

/// Locate a version's parquet object; with `verify`, check its SHA-256
/// against `parquet_sha` first (`Kind::Integrity` on a mismatch).
pub fn locate(project: &Project, name: &str, version: Option<&str>, as_of: Option<&str>, verify: bool) -> Result<Located> {
    let r = resolve_at(project, name, version, as_of)?;
    let key = project.key(&layout::data::parquet(name, &r.data_sha)?);
    let loc = project.location.as_ref().ok_or_else(|| Error::internal("project has no store location"))?;
    let bytes = if verify {
        if r.parquet_sha.is_none() {
            return Err(Error::new(Kind::Integrity, format!("Version of {name:?} has no recorded parquet_sha to verify against")));
        }
        fetch(project, name, &r)?.len() as u64
    } else {
        project.store.head(&key).map_err(|e| {
            if e.kind == Kind::NotFound {
                Error::new(Kind::NotFound, format!("Stored parquet for {name:?} is missing: {key}"))
            } else {
                e
            }
        })?.size
    };
    let uri = match loc.kind.as_str() {
        "s3" => format!("s3://{}/{key}", loc.root),
        _ => {
            let root = std::path::Path::new(&loc.root);
            let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            root.join(&key).display().to_string()
        }
    };
    Ok(Located { version: r.version, uri, key, data_sha: r.data_sha, parquet_sha: r.parquet_sha, bytes, backend: loc.kind.clone() })
}

/// Fetch and verify the parquet bytes of a resolved version. The bytes are
/// hashed while they arrive (no second pass over them), and checked
/// against `parquet_sha` before anything else sees them.
pub fn fetch(project: &Project, name: &str, r: &Resolved) -> Result<Vec<u8>> {
    let key = project.key(&layout::data::parquet(name, &r.data_sha)?);
    let (bytes, actual) = get_hashed(project.store.as_ref(), &key, name).map_err(|e| missing_object(e, name, &key))?;
    if let Some(want) = &r.parquet_sha {
        if &actual != want {
            return Err(Error::new(
                Kind::Integrity,
                format!("Stored parquet for {name:?} failed its integrity check: key {key}, expected parquet_sha {want}, actual {actual}"),
            )
            .with_hint("Do not trust this data; the stored object was modified or corrupted."));
        }
    }
    Ok(bytes)
}

/// The bytes of `key` and their SHA-256 (lower-case hex), hashed as they
/// arrive. An object that comes in one piece (a local file) is kept without
/// a copy and hashed as the phase "Verifying `name`".
fn get_hashed(store: &dyn crate::store::Store, key: &str, name: &str) -> Result<(Vec<u8>, String)> {
    use crate::store::Piece;
    use sha2::{Digest, Sha256};
    let (mut out, mut hasher, mut size, mut whole) = (Vec::new(), Sha256::new(), 0u64, None);
    store.get_stream(key, &mut |p| {
        match p {
            Piece::Start(n) => (out, hasher, size, whole) = (Vec::new(), Sha256::new(), n, None),
            Piece::Restart => (out, hasher, size, whole) = (Vec::new(), Sha256::new(), 0, None),
            Piece::Data(b) if out.is_empty() && b.len() as u64 == size => {
                let _phase = crate::runtime::progress::start(format!("Verifying {name}"), "bytes", size);
                whole = Some(crate::identity::sha256_hex_progress(&b));
                out = Vec::from(b);
            }
            Piece::Data(b) => {
                // the size comes from the store: reserve fallibly
                if out.is_empty() && usize::try_from(size).ok().is_none_or(|n| out.try_reserve_exact(n).is_err()) {
                    return Err(Error::new(Kind::Storage, format!("Stored object {key} is too large for memory ({size} bytes)")));
                }
                hasher.update(&b);
                out.extend_from_slice(&b);
            }
        }
        Ok(())
    })?;
    let sha = whole.unwrap_or_else(|| crate::table::hex_lower(&hasher.finalize()));
    Ok((out, sha))
}

fn missing_object(e: Error, name: &str, key: &str) -> Error {
    if e.kind == Kind::NotFound {
        Error::new(Kind::NotFound, format!("Stored parquet for {name:?} is missing: {key}"))
            .with_hint("The data store is incomplete; a developer can repair it by re-running the write.")
    } else {
        e
    }
}

/// Read a version of a table: resolve, fetch, verify, decode.
pub fn read(project: &Project, name: &str, version: Option<&str>) -> Result<(ReadTable, Resolved)> {
    read_at(project, name, version, None)
}

/// Read a version of a table selected by `version` or `as_of` (see [`resolve_at`]).
pub fn read_at(project: &Project, name: &str, version: Option<&str>, as_of: Option<&str>) -> Result<(ReadTable, Resolved)> {
    let _flow = crate::runtime::progress::flow();
    let r = resolve_at(project, name, version, as_of)?;
    let bytes = fetch(project, name, &r)?;
    let _phase = crate::runtime::progress::start(format!("Decoding {name}"), "values", 0);
    Ok((read_parquet(bytes::Bytes::from(bytes))?, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_as_users_write_them() {
        assert_eq!(instant("2026-03-31").as_deref(), Some("2026-03-31T23:59:59Z"));
        assert_eq!(instant(" 2026-03-31\n").as_deref(), Some("2026-03-31T23:59:59Z"));
        assert_eq!(instant("2026-03-31T17:00:00Z").as_deref(), Some("2026-03-31T17:00:00Z"));
        assert_eq!(instant("2026-03-31 17:00").as_deref(), Some("2026-03-31T17:00:00Z"));
        assert_eq!(instant("2026-03-31T17:00:05.999").as_deref(), Some("2026-03-31T17:00:05Z"));
        assert_eq!(instant("2026-03-31T17:00:00+02:00").as_deref(), Some("2026-03-31T15:00:00Z"));
        assert_eq!(instant("2026-03-31T23:30:00-0130").as_deref(), Some("2026-04-01T01:00:00Z"));
        assert_eq!(instant("2024-02-29").as_deref(), Some("2024-02-29T23:59:59Z"));
        for bad in ["", "2026-02-30", "2026-13-01", "2026-03-31T24:00", "2026-03-31T12:60", "2026-03-31T12:00:60",
                    "2026-03-31T12", "2026-03-31X12:00", "2026-03-31T12:00.", "2026-03-31T12:00+2", "2026-03-31T12:00+02:000",
                    "2026-03-31T12:00+0:200", "2026-03-31T12:00 Z", "tomorrow", "31/03/2026", "2026-03-3\u{e9}"] {
            assert_eq!(instant(bad), None, "{bad:?}");
        }
        assert_eq!(instant_of_secs(1_774_976_400.75).as_deref(), Some("2026-03-31T17:00:00Z"));
        assert_eq!(instant_of_secs(-0.5).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(instant_of_secs(f64::NAN), None);
        assert_eq!(instant_of_day(20_543.0).as_deref(), Some("2026-03-31T23:59:59Z"));
        assert_eq!(instant_of_day(f64::INFINITY), None);
        assert_eq!(version_or_instant("ABCdef12").as_deref(), Some("abcdef12"));
        assert_eq!(version_or_instant("2026-03-31").as_deref(), Some("2026-03-31T23:59:59Z"));
        assert_eq!(version_or_instant("xyz"), None);
    }
    use crate::identity::sha256_hex;
    use crate::store::local::LocalStore;

    /// A store-only project (what a reader sees) with versions `v1`, `v2` of
    /// table `t` and a current-version log in which `t` went v1 -> v2 -> v1
    /// (a revert) -> v2 within the same second.
    fn fixture(tag: &str) -> Project {
        let d = crate::testutil::scratch_dir(tag);
        let mut p = Project::new("P", Box::new(LocalStore::new(d.join("store"))), None, true, String::new());
        p.location = Some(model::Location { kind: "local".into(), root: d.join("store").display().to_string(), prefix: None, region: None });
        let obj = |c: char| {
            let bytes = format!("object {c}").into_bytes();
            let sha = c.to_string().repeat(64);
            p.store.put(&p.key(&layout::data::parquet("t", &sha).unwrap()), &bytes).unwrap();
            (sha, sha256_hex(&bytes))
        };
        let (a, pa) = obj('a');
        let (b, pb) = obj('b');
        let j = |s: &str| model::read_json(s, "x").unwrap();
        p.put_json(&layout::data::metadata("t"), &j(&format!("{{\"data_sha\": \"{b}\", \"parquet_sha\": \"{pb}\"}}"))).unwrap();
        let v1 = "1".repeat(64);
        let v2 = "2".repeat(64);
        p.put_json(
            &layout::data::version_history("t"),
            &j(&format!(
                "[{{\"version\": \"{v2}\", \"data_sha\": \"{b}\", \"parquet_sha\": \"{pb}\"}}, {{\"version\": \"{v1}\", \"data_sha\": \"{a}\", \"parquet_sha\": \"{pa}\"}}]"
            )),
        )
        .unwrap();
        let e = |v: &str, d: &str, since: &str| format!("{{\"version\": \"{v}\", \"data_sha\": \"{d}\", \"since\": \"{since}\", \"commit\": \"c\"}}");
        let log = format!(
            "[{}, {}, {}, {}]",
            e(&v2, &b, "2026-03-01T00:00:05Z"),
            e(&v1, &a, "2026-02-01T12:00:00Z"),
            e(&v2, &b, "2026-01-15T08:00:00Z"),
            e(&v1, &a, "2026-01-15T08:00:00Z")
        );
        p.put_json(&layout::data::current_log("t"), &j(&log)).unwrap();
        p
    }

    #[test]
    fn as_of_follows_the_log_including_reverts() {
        let p = fixture("read-asof");
        let v = |at: &str| version_as_of(&p, "t", at).map(|v| v[..1].to_string());
        // before the first version
        assert_eq!(version_as_of(&p, "t", "2026-01-15T07:59:59Z").unwrap_err().kind, Kind::NotFound);
        // two commits in the same second: the later (newer entry) wins
        assert_eq!(v("2026-01-15T08:00:00Z").unwrap(), "2");
        assert_eq!(v("2026-02-01T11:59:59Z").unwrap(), "2");
        // the revert to v1 holds until v2 comes back
        assert_eq!(v("2026-02-01T12:00:00Z").unwrap(), "1");
        assert_eq!(v("2026-03-01T00:00:04Z").unwrap(), "1");
        assert_eq!(v("2026-03-01T00:00:05Z").unwrap(), "2");
        assert_eq!(v("2099-01-01T00:00:00Z").unwrap(), "2");
        let r = resolve_at(&p, "t", None, Some("2026-02-15T00:00:00Z")).unwrap();
        assert_eq!(r.data_sha, "a".repeat(64));
        assert_eq!(resolve_at(&p, "t", Some("1"), Some("2026-02-15T00:00:00Z")).unwrap_err().kind, Kind::Input);
        assert_eq!(version_as_of(&p, "t", "2026-02-15").unwrap_err().kind, Kind::Input);
        assert_eq!(version_as_of(&p, "t", "2026-02-30T00:00:00Z").unwrap_err().kind, Kind::Input);
        assert_eq!(version_as_of(&p, "nope", "2026-02-15T00:00:00Z").unwrap_err().kind, Kind::NotFound);
    }

    #[test]
    fn locate_names_the_object_and_verifies_it() {
        let p = fixture("read-locate");
        let l = locate(&p, "t", None, None, true).unwrap();
        assert_eq!(l.backend, "local");
        assert_eq!(l.data_sha, "b".repeat(64));
        assert_eq!(l.bytes, 8);
        assert!(std::path::Path::new(&l.uri).is_absolute());
        assert_eq!(std::fs::read(&l.uri).unwrap(), b"object b");
        let old = locate(&p, "t", Some("1"), None, false).unwrap();
        assert_eq!(old.data_sha, "a".repeat(64));
        // a modified object fails verification, but can still be located
        p.store.put(&old.key, b"tampered").unwrap();
        assert_eq!(locate(&p, "t", Some("1"), None, true).unwrap_err().kind, Kind::Integrity);
        assert_eq!(locate(&p, "t", Some("1"), None, false).unwrap().bytes, 8);
        let mut s3 = fixture("read-locate-s3");
        s3.location = Some(model::Location { kind: "s3".into(), root: "bkt".into(), prefix: None, region: None });
        assert_eq!(locate(&s3, "t", None, None, false).unwrap().uri, format!("s3://bkt/{}", s3.key(&layout::data::parquet("t", &"b".repeat(64)).unwrap())));
    }

    #[test]
    fn changes_lists_writes_and_reverts_in_a_window() {
        let p = fixture("read-changes");
        p.put_json(layout::data::MANIFEST, &model::read_json("{\"tables\": {\"t\": {\"current_version\": \"x\"}}}", "m").unwrap()).unwrap();
        let all = crate::ops::changes(&p, None, None).unwrap();
        let got: Vec<(String, &str, String)> = all.iter().map(|c| (c.version[..1].to_string(), c.action, c.timestamp.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("2".into(), "revert", "2026-03-01T00:00:05Z".into()),
                ("1".into(), "revert", "2026-02-01T12:00:00Z".into()),
                ("2".into(), "write", "2026-01-15T08:00:00Z".into()),
                ("1".into(), "write", "2026-01-15T08:00:00Z".into()),
            ]
        );
        let feb = crate::ops::changes(&p, Some("2026-02-01T12:00:00Z"), Some("2026-03-01T00:00:04Z")).unwrap();
        assert_eq!(feb.len(), 1);
        assert_eq!(feb[0].data_sha, "a".repeat(64));
        assert_eq!(crate::ops::changes(&p, Some("2026-03-02T00:00:00Z"), Some("2026-03-01T00:00:00Z")).unwrap_err().kind, Kind::Input);
    }
}

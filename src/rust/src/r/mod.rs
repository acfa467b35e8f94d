//! The binding layer: the only code that touches extendr/R types. Each
//! exported function validates its R inputs, builds borrowed engine views,
//! calls the engine, and shapes the result. Errors go through `result`.

mod conn;
mod gov;
mod frame;
mod lineage;
mod result;
mod secret;
mod collab;
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
/// With `content`, character columns and factor levels are also scanned for
/// strings that are not valid UTF-8 (a write finds those while it reads the
/// strings anyway, so its pre-flight skips the extra pass).
#[extendr]
fn rs_check(df: Robj, content: bool) -> Robj {
    guard(|| {
        let rep = frame::check_frame(sexp(&df), content)?;
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

/// A string argument (or a `datom_secret` handle: tokens), `None` for NULL/NA.
fn opt_str(x: &Robj) -> Option<String> {
    secret::reveal(sexp(x))
}

/// A GitHub PAT argument: a string or a live `datom_secret` handle.
fn pat_arg(token: &Robj) -> Result<String> {
    secret::secret_value(sexp(token))?.ok_or_else(|| {
        Error::input("No GitHub PAT available (a store restored from a file does not carry its secrets)")
            .with_hint("Rebuild the store with datom_store(github_pat = ...) in this session.")
    })
}

fn opt_value(x: &Robj, what: &str) -> Result<Option<crate::identity::rvalue::RValue>> {
    if x.is_null() {
        Ok(None)
    } else {
        value::to_rvalue(sexp(x), what).map(Some)
    }
}

/// Create a solo project's data clone, first commit, push and manifest
/// mirror (its times from the UTC clock).
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_init_repo(
    path: &str,
    project_name: &str,
    loc: Robj,
    remote_url: &str,
    max_gb: f64,
    git_ignore: Robj,
    force: bool,
    datom_version: &str,
    token: Robj,
    governance: Robj,
) -> Robj {
    guard(|| {
        let location = conn::location(sexp(&loc))?;
        let project = conn::project_at(project_name, sexp(&loc))?;
        let (created_date, now) = crate::ops::init::init_times();
        let req = crate::ops::init::InitRequest {
            path: std::path::Path::new(path),
            data: location,
            remote_url,
            max_file_size_gb: max_gb,
            git_ignore: strings_owned(sexp(&git_ignore)).into_iter().flatten().collect(),
            force,
            datom_version,
            created_date: &created_date,
            local_now_z: &now,
            governance: opt_value(&governance, "governance")?,
        };
        let creds = crate::git::Creds { token: secret::secret_value(sexp(&token))? };
        let out = crate::ops::init::init_repo(&project, &req, &creds)?;
        list_named(&["commit_sha", "created_remote"], vec![out.commit_sha.into(), out.created_remote.into()])
    })
}

/// Is the data-store namespace of a project occupied? NULL or the owner.
#[extendr]
fn rs_namespace_owner(conn: Robj) -> Robj {
    guard(|| {
        let p = conn::project(sexp(&conn))?;
        Ok(match crate::ops::init::namespace_owner(&p)? {
            Some(o) => o.into(),
            None => ().into(),
        })
    })
}

/// project.yaml of a data clone, plus its `origin` remote's URL.
#[extendr]
fn rs_read_config(path: &str) -> Robj {
    guard(|| {
        let c = crate::ops::read_config(std::path::Path::new(path))?;
        let remote = crate::git::Repo::open(std::path::Path::new(path)).ok().and_then(|r| r.remote_url("origin"));
        let opt = |o: Option<String>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
        list_named(
            &["project_name", "type", "root", "prefix", "region", "remote_url", "git_remote"],
            vec![
                c.project_name.into(),
                c.data.kind.clone().into(),
                c.data.root.clone().into(),
                opt(c.data.prefix.clone()),
                opt(c.data.region.clone()),
                c.remote_url.into(),
                opt(remote),
            ],
        )
    })
}

/// The one name rule (layout::check_name) for project and table names.
#[extendr]
fn rs_check_name(name: &str, what: &str) -> Robj {
    guard(|| {
        crate::layout::check_name(name, what)?;
        Ok(true.into())
    })
}

/// A repository URL without credentials in it (git::check_repo_url).
#[extendr]
fn rs_check_repo_url(url: &str, what: &str) -> Robj {
    guard(|| {
        crate::git::check_repo_url(url, what)?;
        Ok(true.into())
    })
}

/// A GitHub API root: https, or http on a loopback host; returned without
/// trailing slash (github::check_api_url).
#[extendr]
fn rs_check_api_url(url: &str, what: &str) -> Robj {
    guard(|| Ok(crate::github::check_api_url(url, what)?.into()))
}

/// The GitHub API root of a store (`github::api_url`): `url` (NULL: none
/// given), else DATOM_GITHUB_API_URL when set, else the default.
#[extendr]
fn rs_github_api_url(url: Robj) -> Robj {
    guard(|| {
        let env = std::env::var("DATOM_GITHUB_API_URL").ok();
        Ok(crate::github::api_url(opt_str(&url).as_deref(), env.as_deref())?.into())
    })
}

/// The data repo a teardown may delete, ownership proven
/// (ops::owned_data_repo): list(kind = "local" | "local_gone" | "remote", target).
#[extendr]
fn rs_data_repo_owned(path: &str) -> Robj {
    guard(|| {
        let (kind, target) = match crate::ops::owned_data_repo(std::path::Path::new(path))? {
            crate::ops::RepoTarget::Local(p) => ("local", p.display().to_string()),
            crate::ops::RepoTarget::LocalGone(p) => ("local_gone", p.display().to_string()),
            crate::ops::RepoTarget::Remote(u) => ("remote", u),
        };
        list_named(&["kind", "target"], vec![kind.into(), target.into()])
    })
}

/// Delete the clone's local bare data repo, re-proving ownership first.
/// The removed path, or NULL when there was nothing to remove.
#[extendr]
fn rs_delete_local_data_repo(path: &str) -> Robj {
    guard(|| {
        Ok(match crate::ops::delete_local_data_repo(std::path::Path::new(path))? {
            Some(p) => p.display().to_string().into(),
            None => ().into(),
        })
    })
}

/// Write a table version (dev/spec/FORMATS.md 7).
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_write(
    conn: Robj,
    df: Robj,
    nrow: f64,
    name: &str,
    custom: Robj,
    parents: Robj,
    source_lineage: Robj,
    table_type: &str,
    original_file_sha: Robj,
    original_format: Robj,
    message: Robj,
    datom_version: &str,
    extras: Robj,
    gov: Robj,
) -> Robj {
    guard(|| {
        let nrow = as_count(nrow, "nrow")?;
        // a governed project's ref.json (`gov`: its governance store's access
        // list) is checked before the data store is opened; a failure to open
        // the governance store is a failure to read ref.json
        if !gov.is_null() {
            let store = conn::location(sexp(&gov))
                .and_then(|l| Ok((conn::open_store(&l, sexp(&gov))?, l)))
                .map(|((store, newline, display), l)| crate::ops::gov::gov_store(store, l.prefix_norm(), newline, display))
                .map_err(|e| crate::ops::write::ref_unreadable(&e.message))?;
            let name = conn::field_str(sexp(&conn), "project_name").ok_or_else(|| Error::input("conn has no project_name"))?;
            crate::ops::write::check_ref(&name, &conn::location(sexp(&conn))?, &store)?;
        }
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let mut view = frame::frame_view(sexp(&df), nrow)?;
        for (c, e) in view.columns.iter_mut().zip(strings_owned(sexp(&extras))) {
            c.info.extra = e;
        }
        let ofs = opt_str(&original_file_sha);
        let ofmt = opt_str(&original_format);
        let message = opt_str(&message).unwrap_or_else(|| crate::ops::write::default_message(name));
        let df_class = if view.df_class.is_empty() { None } else { Some(view.df_class.as_slice()) };
        let req = crate::ops::write::WriteRequest {
            name,
            columns: &view.columns,
            nrow,
            df_class,
            custom: opt_value(&custom, "metadata")?,
            parents: opt_value(&parents, "parents")?,
            source_lineage: opt_value(&source_lineage, "source_lineage")?,
            table_type,
            original_file_sha: ofs.as_deref(),
            original_format: ofmt.as_deref(),
            message: &message,
            datom_version,
            threads: threads(),
        };
        let out = crate::ops::write::write(&project, &clone, &req)?;
        list_named(
            &["name", "data_sha", "metadata_sha", "action", "commit_sha", "uploaded", "completed"],
            vec![
                name.into(),
                out.data_sha.into(),
                out.metadata_sha.into(),
                out.action.as_str().into(),
                out.commit_sha.map(Robj::from).unwrap_or_else(|| ().into()),
                out.uploaded.into(),
                out.completed.iter().map(|s| s.to_string()).collect::<Vec<String>>().into(),
            ],
        )
    })
}

/// Read a version of a table from the store (verified before parsing).
#[extendr]
fn rs_read(conn: Robj, name: &str, version: Robj, as_of: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let v = opt_str(&version);
        let at = opt_str(&as_of);
        let _flow = crate::runtime::progress::flow();
        let (t, r) = crate::ops::read::read_at(&project, name, v.as_deref(), at.as_deref())?;
        let _phase = crate::runtime::progress::start(format!("Converting {name} to R"), "values", (t.nrow * t.columns.len()) as u64);
        read::to_r(&t, r.parquet_sha.unwrap_or_default())
    })
}

/// Tables of the storage manifest.
#[extendr]
fn rs_list(conn: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let rows = crate::ops::list(&project)?;
        list_named(
            &["name", "current_version", "current_data_sha", "last_updated", "version_count"],
            vec![
                rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.current_version.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.current_data_sha.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.last_updated.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.version_count as i32).collect::<Vec<_>>().into(),
            ],
        )
    })
}

/// A table's version history from the store, newest first.
#[extendr]
fn rs_history(conn: Robj, name: &str, since: Robj, until: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let rows = crate::ops::history_window(&project, name, opt_str(&since).as_deref(), opt_str(&until).as_deref())?;
        list_named(
            &["version", "data_sha", "timestamp", "author", "commit_message"],
            vec![
                rows.iter().map(|r| r.version.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.data_sha.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.timestamp.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.author.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.commit_message.clone()).collect::<Vec<_>>().into(),
            ],
        )
    })
}

/// Where a version's parquet object is (uri, key, shas, size, backend).
#[extendr]
fn rs_locate(conn: Robj, name: &str, version: Robj, as_of: Robj, verify: bool) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let l = crate::ops::read::locate(&project, name, opt_str(&version).as_deref(), opt_str(&as_of).as_deref(), verify)?;
        list_named(
            &["uri", "key", "version", "data_sha", "parquet_sha", "bytes", "backend"],
            vec![
                l.uri.into(),
                l.key.into(),
                l.version.map(Robj::from).unwrap_or_else(|| Robj::from(Rstr::na())),
                l.data_sha.into(),
                l.parquet_sha.map(Robj::from).unwrap_or_else(|| Robj::from(Rstr::na())),
                (l.bytes as f64).into(),
                l.backend.into(),
            ],
        )
    })
}

fn opt_strings(x: &Robj, what: &str) -> Result<Option<Vec<String>>> {
    if x.is_null() {
        return Ok(None);
    }
    let v = x.as_string_vector().ok_or_else(|| Error::input(format!("`{what}` must be a character vector or NULL")))?;
    Ok(Some(v))
}

fn na_str(x: &Option<String>) -> Rstr {
    match x {
        Some(s) => Rstr::from(s.as_str()),
        None => Rstr::na(),
    }
}

/// Keyed diff of two versions: counts, row indices, changed cells, schema
/// changes, and the decoded rows R needs to show them.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_diff(conn: Robj, name: &str, from: Robj, to: Robj, keys: Robj) -> Robj {
    use crate::ops::diff::{diff, Side};
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        // each side: NULL, or a version (prefix) or instant from rs_instant()
        let (from, to) = (opt_str(&from), opt_str(&to));
        let keys = opt_strings(&keys, "keys")?;
        let from = from.as_deref().map(|s| Side::of(Some(s)));
        let d = diff(&project, name, from, Side::of(to.as_deref()), keys.as_deref())?;
        let none: Robj = ().into();
        let from_frame = match &d.from_table {
            Some(t) if d.removed > 0 => read::to_r(t, String::new())?,
            _ => none.clone(),
        };
        let to_frame = match &d.to_table {
            Some(t) if d.added > 0 => read::to_r(t, String::new())?,
            _ => none.clone(),
        };
        // the key columns of the rows with changed cells (distinct rows, in order)
        let mut key_rows: Vec<usize> = d.cells.iter().map(|c| c.to_row).collect();
        key_rows.dedup();
        let key_frame = match &d.to_table {
            Some(t) if !d.cells.is_empty() => {
                let idx: Vec<usize> = d.keys.iter().filter_map(|k| t.columns.iter().position(|c| &c.name == k)).collect();
                read::to_r_rows(&t.select(&idx)?, String::new(), Some(&key_rows))?
            }
            _ => none.clone(),
        };
        let rows = |v: &[usize]| v.iter().map(|i| (*i + 1) as f64).collect::<Vec<f64>>();
        let cells = list_named(
            &["to_row", "from_row", "column", "from", "to"],
            vec![
                d.cells.iter().map(|c| (c.to_row + 1) as f64).collect::<Vec<_>>().into(),
                d.cells.iter().map(|c| (c.from_row + 1) as f64).collect::<Vec<_>>().into(),
                d.cells.iter().map(|c| c.column.clone()).collect::<Vec<_>>().into(),
                d.cells.iter().map(|c| na_str(&c.from)).collect::<Strings>().into(),
                d.cells.iter().map(|c| na_str(&c.to)).collect::<Strings>().into(),
            ],
        )?;
        let schema = list_named(
            &["column", "change", "from_type", "to_type"],
            vec![
                d.schema.iter().map(|s| s.column.clone()).collect::<Vec<_>>().into(),
                d.schema.iter().map(|s| s.change.to_string()).collect::<Vec<_>>().into(),
                d.schema.iter().map(|s| na_str(&s.from_type)).collect::<Strings>().into(),
                d.schema.iter().map(|s| na_str(&s.to_type)).collect::<Strings>().into(),
            ],
        )?;
        list_named(
            &[
                "from_version", "to_version", "from_data_sha", "to_data_sha", "identical", "added", "removed", "changed", "unchanged",
                "added_rows", "removed_rows", "cells", "schema", "keys", "from_frame", "to_frame", "key_frame", "key_rows",
            ],
            vec![
                Robj::from(na_str(&d.from.version)),
                Robj::from(na_str(&d.to.version)),
                d.from.data_sha.clone().into(),
                d.to.data_sha.clone().into(),
                d.identical.into(),
                (d.added as f64).into(),
                (d.removed as f64).into(),
                (d.changed as f64).into(),
                d.unchanged.map(|n| Robj::from(n as f64)).unwrap_or_else(|| Robj::from(Rfloat::na())),
                rows(&d.added_rows).into(),
                rows(&d.removed_rows).into(),
                cells,
                schema,
                d.keys.clone().into(),
                from_frame,
                to_frame,
                key_frame,
                rows(&key_rows).into(),
            ],
        )
    })
}

/// An instant as the engine compares it (`YYYY-MM-DDTHH:MM:SSZ`) of a
/// single POSIXct, Date or ISO 8601 string (`ops::read::instant`); with
/// `versions`, a string of hex digits is kept as a version id (lower-cased).
/// NULL when `x` is none of these.
#[extendr]
fn rs_instant(x: Robj, versions: bool) -> Robj {
    use crate::ops::read;
    let x = sexp(&x);
    let num = || match typeof_str(x) {
        "double" => real_slice(x).ok().map(|v| v[0]),
        "integer" => int_slice(x).ok().map(|v| v[0]).filter(|i| *i != i32::MIN).map(f64::from),
        _ => None,
    };
    let out = if xlength(x) != 1 {
        None
    } else if inherits(x, "POSIXct") {
        num().and_then(read::instant_of_secs)
    } else if inherits(x, "Date") {
        num().and_then(read::instant_of_day)
    } else {
        match strings_owned(x).pop().flatten() {
            Some(s) if versions => read::version_or_instant(&s),
            Some(s) => read::instant(&s),
            None => None,
        }
    };
    out.map(Robj::from).unwrap_or_else(|| ().into())
}

/// Versions of every table that became current in a window, newest first.
#[extendr]
fn rs_changes(conn: Robj, since: Robj, until: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let rows = crate::ops::changes(&project, opt_str(&since).as_deref(), opt_str(&until).as_deref())?;
        list_named(
            &["table", "version", "data_sha", "timestamp", "author", "message", "action"],
            vec![
                rows.iter().map(|r| r.table.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.version.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.data_sha.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.timestamp.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.author.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.message.clone()).collect::<Vec<_>>().into(),
                rows.iter().map(|r| r.action.to_string()).collect::<Vec<_>>().into(),
            ],
        )
    })
}

#[extendr]
fn rs_engine_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Parse a JSON text (dev/spec/FORMATS.md 4.6 rules) into R lists.
#[extendr]
fn rs_parse_json(text: &str) -> Robj {
    guard(|| {
        let v = crate::identity::canon::parse_json(text)?;
        value::check_no_nul(&v, "the JSON text")?;
        value::from_rvalue(&v).map_err(rerr)
    })
}

/// The store key of a named document of a project (the layout decides;
/// R never spells a key): `metadata`, `history`, `snapshot` (of `version`)
/// of `table`, or the project's `governance` pointer.
fn doc_key(doc: &str, table: &Robj, version: &Robj) -> Result<String> {
    let table = || -> Result<String> {
        let t = opt_str(table).ok_or_else(|| Error::input(format!("the {doc} document needs a table")))?;
        crate::layout::check_name(&t, "table")?;
        Ok(t)
    };
    Ok(match doc {
        "metadata" => crate::layout::data::metadata(&table()?),
        "history" => crate::layout::data::version_history(&table()?),
        "snapshot" => {
            let v = opt_str(version).ok_or_else(|| Error::input("a snapshot needs a version"))?;
            crate::layout::data::snapshot(&table()?, &v)?
        }
        "governance" => crate::layout::data::GOVERNANCE.to_string(),
        other => return Err(Error::input(format!("unknown document {other:?}"))),
    })
}

/// A named JSON document of a project's data store, parsed (dev/spec/FORMATS.md 4.6
/// rules); NULL when absent.
#[extendr]
fn rs_store_doc(conn: Robj, doc: &str, table: Robj, version: Robj) -> Robj {
    guard(|| {
        let key = doc_key(doc, &table, &version)?;
        let project = conn::project(sexp(&conn))?;
        match project.get_json(&key)? {
            Some(v) => {
                value::check_no_nul(&v, &key)?;
                value::from_rvalue(&v).map_err(rerr)
            }
            None => Ok(().into()),
        }
    })
}

/// metadata_sha of a named JSON document of the data store (NULL when absent).
#[extendr]
fn rs_store_doc_sha(conn: Robj, doc: &str, table: Robj, version: Robj) -> Robj {
    guard(|| {
        let key = doc_key(doc, &table, &version)?;
        let project = conn::project(sexp(&conn))?;
        match project.get_json(&key)? {
            Some(v) => Ok(crate::identity::canon::metadata_sha(&v)?.0.into()),
            None => Ok(().into()),
        }
    })
}

/// Mirror the clone's governance pointer (`.datom/governance.json`) to the
/// data store; FALSE when the clone has none.
#[extendr]
fn rs_mirror_governance(conn: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        Ok(crate::ops::collab::mirror_clone_json(&project, &clone, crate::layout::repo::GOVERNANCE, crate::layout::data::GOVERNANCE)?.into())
    })
}

/// The full version id of `version` (a unique prefix) of `table`, resolved
/// through the store's history (the one rule: `ops::read::resolve`).
#[extendr]
fn rs_resolve_version(conn: Robj, table: &str, version: &str) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let r = crate::ops::read::resolve(&project, table, Some(version))?;
        Ok(r.version.ok_or_else(|| Error::internal("resolved version has no id"))?.into())
    })
}

/// The store keys a table's metadata sync publishes (for reporting).
#[extendr]
fn rs_table_mirror_keys(table: &str, version: &str) -> Robj {
    guard(|| {
        crate::layout::check_name(table, "table")?;
        Ok(vec![crate::layout::data::metadata(table), crate::layout::data::version_history(table), crate::layout::data::snapshot(table, version)?].into())
    })
}

/// Full keys and sizes of every object of the project's namespace.
#[extendr]
fn rs_storage_list(conn: Robj) -> Robj {
    guard(|| {
        let p = conn::project(sexp(&conn))?;
        let l = crate::ops::storage::list(&p)?;
        list_named(
            &["key", "size"],
            vec![l.iter().map(|o| o.key.clone()).collect::<Vec<_>>().into(), l.iter().map(|o| o.size as f64).collect::<Vec<_>>().into()],
        )
    })
}

/// Delete the project's namespace or a relative prefix in it.
#[extendr]
fn rs_storage_delete_prefix(conn: Robj, prefix: Robj) -> Robj {
    guard(|| {
        let p = conn::project(sexp(&conn))?;
        let r = opt_str(&prefix);
        Ok((crate::ops::storage::delete_prefix(&p, r.as_deref())? as f64).into())
    })
}

/// Copy a project's objects between two stores.
#[extendr]
fn rs_storage_copy(from: Robj, to: Robj) -> Robj {
    guard(|| {
        let a = conn::project(sexp(&from))?;
        let b = conn::project(sexp(&to))?;
        let c = crate::ops::storage::copy(&a, &b)?;
        list_named(
            &["key", "bytes"],
            vec![c.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(), c.iter().map(|x| x.1 as f64).collect::<Vec<_>>().into()],
        )
    })
}

/// Verify a copy: structural (sizes) or content (SHA-256).
#[extendr]
fn rs_storage_verify(from: Robj, to: Robj, keys: Robj, content: bool) -> Robj {
    guard(|| {
        let a = conn::project(sexp(&from))?;
        let b = conn::project(sexp(&to))?;
        let keys = if keys.is_null() { None } else { Some(strings_owned(sexp(&keys)).into_iter().flatten().collect()) };
        let v = crate::ops::storage::verify(&a, &b, keys, content)?;
        let issue: Strings = v.iter().map(|(_, i)| match i { Some(s) => Rstr::from(s.as_str()), None => Rstr::na() }).collect();
        list_named(&["key", "issue"], vec![v.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(), issue.into()])
    })
}

/// HeadBucket with the location's credentials (dev/spec/FORMATS.md 9, API datom_store_s3).
#[extendr]
fn rs_s3_check_bucket(loc: Robj, strict: bool) -> Robj {
    guard(|| {
        // an error when the bucket is definitively unusable (with `strict`,
        // also when it could not be verified); else the message of a
        // failure to verify (the caller proceeds with a warning), or NULL
        Ok(match conn::s3_store(sexp(&loc))?.1.probe_bucket()? {
            Ok(()) => ().into(),
            Err(e) if strict => return Err(e),
            Err(e) => e.to_string().into(),
        })
    })
}

/// The project's namespace in its data store (`{P/}datom/{project}/`).
#[extendr]
fn rs_project_namespace(conn: Robj) -> Robj {
    guard(|| {
        let name = conn::field_str(sexp(&conn), "project_name").ok_or_else(|| crate::error::Error::input("conn has no project_name"))?;
        let loc = conn::location(sexp(&conn))?;
        Ok(format!("{}/", crate::layout::project_root(loc.prefix_norm(), &name)).into())
    })
}

/// Can the data clone's `origin` be reached with this token? One cheap
/// call (the remote's ref list); the error says which part failed.
#[extendr]
fn rs_check_remote(path: &str, token: Robj) -> Robj {
    guard(|| {
        let creds = crate::git::Creds { token: secret::secret_value(sexp(&token))? };
        crate::ops::collab::check_remote(std::path::Path::new(path), &creds)?;
        Ok(true.into())
    })
}

/// Create a bucket unless it exists (scratch setups only).
#[extendr]
fn rs_s3_ensure_bucket(loc: Robj) -> Robj {
    guard(|| {
        conn::s3_store(sexp(&loc))?.1.ensure_bucket()?;
        Ok(true.into())
    })
}

/// `GET /user` with a token: list(login, id).
#[extendr]
fn rs_github_user(api_url: &str, token: Robj) -> Robj {
    guard(|| {
        let u = crate::github::GitHub::new(api_url, &pat_arg(&token)?)?.user()?;
        list_named(&["login", "id"], vec![u.login.into(), (u.id as f64).into()])
    })
}

/// Create (or reuse an empty) GitHub repository: list(clone_url, full_name, created).
#[extendr]
fn rs_github_ensure_repo(api_url: &str, token: Robj, org: Robj, name: &str, private: bool) -> Robj {
    guard(|| {
        let gh = crate::github::GitHub::new(api_url, &pat_arg(&token)?)?;
        let org = opt_str(&org);
        let (repo, how) = gh.ensure_repo(org.as_deref(), name, private)?;
        list_named(
            &["clone_url", "full_name", "created"],
            vec![repo.clone_url.into(), repo.full_name.into(), matches!(how, crate::github::Ensured::Created).into()],
        )
    })
}

/// Delete a GitHub repository given its clone URL.
#[extendr]
fn rs_github_delete_repo(api_url: &str, token: Robj, url: &str) -> Robj {
    guard(|| {
        let (owner, name) = crate::github::github_owner_repo(url, api_url).ok_or_else(|| {
            Error::input(format!("{} is not a repository of the GitHub host at {api_url}", crate::git::redact(url)))
        })?;
        crate::github::GitHub::new(api_url, &pat_arg(&token)?)?.delete_repo(&owner, &name)?;
        Ok(format!("{owner}/{name}").into())
    })
}

/// Clone a data repo into `path` (absent or empty).
#[extendr]
fn rs_clone(url: &str, path: &str, token: Robj, branch: Robj) -> Robj {
    guard(|| {
        let branch = opt_str(&branch);
        crate::ops::collab::clone_repo(url, std::path::Path::new(path), &crate::git::Creds { token: secret::secret_value(sexp(&token))? }, branch.as_deref())?;
        Ok(true.into())
    })
}

/// Uncommitted files and branch of the data clone.
#[extendr]
fn rs_git_status(path: &str) -> Robj {
    guard(|| {
        let repo = crate::git::Repo::open(std::path::Path::new(path))?;
        let branch: Robj = repo.branch().map(Robj::from).unwrap_or_else(|_| ().into());
        let head: Robj = repo.head_sha().map(Robj::from).unwrap_or_else(|| ().into());
        list_named(&["uncommitted", "branch", "head"], vec![repo.uncommitted()?.into(), branch, head])
    })
}

/// Files of a data clone that are not committed (untracked, ignored,
/// modified): what removing the clone would destroy.
#[extendr]
fn rs_clone_user_files(path: &str) -> Robj {
    guard(|| Ok(crate::git::Repo::open(std::path::Path::new(path))?.user_files()?.into()))
}

/// Re-sync one table's metadata (`datom_write(conn, name = )`).
#[extendr]
fn rs_sync_metadata(conn: Robj, table: &str) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let (sha, changed, commit) = crate::ops::collab::resync_table(&project, &clone, table)?;
        list_named(
            &["metadata_sha", "changed", "commit_sha"],
            vec![sha.into(), changed.into(), commit.map(Robj::from).unwrap_or_else(|| ().into())],
        )
    })
}

/// Tables of a data clone (top-level folders holding metadata.json).
#[extendr]
fn rs_clone_tables(path: &str) -> Robj {
    guard(|| Ok(crate::ops::collab::clone_tables(std::path::Path::new(path))?.into()))
}

/// Benchmark: a `mb` MiB object up and down through S3, with parallel parts
/// and ranges (datom's store) and as one stream; seconds.
#[extendr]
fn rs_bench_s3_transfer(loc: Robj, mb: i32) -> Robj {
    guard(|| {
        let (l, _) = conn::s3_store(sexp(&loc))?;
        let par = crate::store::s3::S3Store::parallel(conn::s3_config(&l, sexp(&loc))?)?;
        let single = crate::store::s3::S3Store::single_stream(conn::s3_config(&l, sexp(&loc))?)?;
        let (pu, pd) = crate::store::s3::transfer_timing(&par, "datom-bench/parallel.bin", mb as usize)?;
        let (su, sd) = crate::store::s3::transfer_timing(&single, "datom-bench/single.bin", mb as usize)?;
        list_named(&["parallel_up", "parallel_down", "single_up", "single_down"], vec![pu.into(), pd.into(), su.into(), sd.into()])
    })
}

/// Benchmark: seconds to download a `mb` MiB object through `loc` (an
/// endpoint that limits each connection, say) in one stream, in parallel
/// ranges from the start, and as datom's store does (one stream, split
/// into ranges when it is slow).
#[extendr]
fn rs_bench_s3_download(loc: Robj, mb: i32) -> Robj {
    guard(|| {
        let (l, adaptive) = conn::s3_store(sexp(&loc))?;
        let single = crate::store::s3::S3Store::single_stream(conn::s3_config(&l, sexp(&loc))?)?;
        let par = crate::store::s3::S3Store::parallel(conn::s3_config(&l, sexp(&loc))?)?;
        let t = crate::store::s3::download_timing(&[&single, &par, &adaptive], "datom-bench/download.bin", mb.max(1) as usize)?;
        list_named(&["single", "parallel", "datom"], vec![t[0].into(), t[1].into(), t[2].into()])
    })
}

/// The phases of the last write or read and their durations in seconds
/// (`list(phase, seconds)`): where a call's time went (`make bench`).
#[extendr]
fn rs_progress_trace() -> Robj {
    guard(|| {
        let t = crate::runtime::progress::last_trace();
        let phase: Vec<String> = t.iter().map(|p| p.0.clone()).collect();
        let secs: Vec<f64> = t.iter().map(|p| p.1).collect();
        list_named(&["phase", "seconds"], vec![phase.into(), secs.into()])
    })
}

/// Benchmark: HTTP requests a reader makes to read the current version of
/// `table` from an S3 data store.
#[extendr]
fn rs_bench_reader_requests(conn: Robj, table: &str) -> Robj {
    guard(|| {
        let (l, store) = conn::s3_store(sexp(&conn))?;
        let name = conn::field_str(sexp(&conn), "project_name").ok_or_else(|| Error::input("conn has no project_name"))?;
        let project = crate::ops::Project::new(&name, Box::new(store.clone()), l.prefix_norm(), false, String::new());
        let before = store.request_count();
        let (t, _) = crate::ops::read::read(&project, table, None)?;
        drop(t);
        Ok(((store.request_count() - before) as i32).into())
    })
}

/// Fetch origin; list(ahead, behind) of the data clone.
#[extendr]
fn rs_git_behind(conn: Robj) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        let (a, b) = crate::ops::collab::behind(&clone)?;
        list_named(&["ahead", "behind"], vec![(a as i32).into(), (b as i32).into()])
    })
}

/// What interrupted writes left undone: list(missing_object = <lgl per
/// table>, repo = <unpushed or unpublished>).
#[extendr]
fn rs_write_unfinished(conn: Robj, tables: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let tables = opt_strings(&tables, "tables")?.unwrap_or_default();
        let u = crate::ops::write::unfinished(&project, &clone, &tables)?;
        list_named(&["missing_object", "repo"], vec![u.missing_object.into(), u.repo.into()])
    })
}

/// Push and publish what interrupted writes left undone; the steps done.
#[extendr]
fn rs_write_finish(conn: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let done = crate::ops::write::finish(&project, &clone)?;
        Ok(done.iter().map(|s| s.to_string()).collect::<Vec<_>>().into())
    })
}

/// Remove what killed writes left in the project's store (temporary files,
/// incomplete uploads) older than `DATOM_STALE_UPLOAD` seconds (default 24
/// hours); the keys they were for.
#[extendr]
fn rs_clean_leftovers(conn: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        Ok(crate::ops::leftovers::clean(&project, crate::ops::leftovers::stale_after())?.into())
    })
}

/// The engine's failpoint steps (tests: the fault matrix covers each).
#[extendr]
fn rs_failpoint_steps() -> Vec<String> {
    crate::failpoint::STEPS.iter().map(|s| s.to_string()).collect()
}

/// Hit the failpoint `step` of a flow orchestrated in R (tests only; a
/// no-op unless DATOM_FAILPOINT names it).
#[extendr]
fn rs_failpoint_hit(step: &str) -> Robj {
    guard(|| {
        if !crate::failpoint::STEPS.contains(&step) {
            return Err(Error::internal(format!("unknown failpoint {step}")));
        }
        crate::failpoint::hit(step)?;
        Ok(true.into())
    })
}

extendr_module! {
    mod datom;
    use gov;
    use lineage;
    use secret;
    use collab;
    fn rs_hash;
    fn rs_check;
    fn rs_metadata_sha;
    fn rs_metadata_sha_json;
    fn rs_to_json;
    fn rs_sha256_file;
    fn rs_parquet_write;
    fn rs_parquet_read;
    fn rs_engine_version;
    fn rs_init_repo;
    fn rs_namespace_owner;
    fn rs_read_config;
    fn rs_write;
    fn rs_read;
    fn rs_list;
    fn rs_history;
    fn rs_locate;
    fn rs_changes;
    fn rs_instant;
    fn rs_diff;
    fn rs_parse_json;
    fn rs_store_doc;
    fn rs_store_doc_sha;
    fn rs_mirror_governance;
    fn rs_resolve_version;
    fn rs_table_mirror_keys;
    fn rs_storage_list;
    fn rs_storage_delete_prefix;
    fn rs_storage_copy;
    fn rs_storage_verify;
    fn rs_s3_check_bucket;
    fn rs_project_namespace;
    fn rs_check_remote;
    fn rs_s3_ensure_bucket;
    fn rs_github_user;
    fn rs_github_ensure_repo;
    fn rs_github_delete_repo;
    fn rs_check_name;
    fn rs_check_repo_url;
    fn rs_check_api_url;
    fn rs_github_api_url;
    fn rs_data_repo_owned;
    fn rs_delete_local_data_repo;
    fn rs_clone;
    fn rs_git_status;
    fn rs_clone_user_files;
    fn rs_sync_metadata;
    fn rs_clone_tables;
    fn rs_failpoint_steps;
    fn rs_failpoint_hit;
    fn rs_git_behind;
    fn rs_write_unfinished;
    fn rs_write_finish;
    fn rs_clean_leftovers;
    fn rs_bench_s3_transfer;
    fn rs_bench_reader_requests;
    fn rs_bench_s3_download;
    fn rs_progress_trace;
}

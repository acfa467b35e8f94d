//! Bindings of the collaboration flows (`crate::ops::collab`) and the batch
//! import (`crate::ops::sync`: the inbox scan, the plan of a `datom_sync()`).

use super::conn;
use super::result::guard;
use super::sexp::*;
use crate::error::{Error, Result};
use crate::ops::sync::{self, InboxFile, Row};
use extendr_api::prelude::*;
use std::path::Path;

fn chr(x: &Robj, what: &str) -> Result<Vec<Option<String>>> {
    if typeof_str(sexp(x)) != "character" {
        return Err(Error::input(format!("`{what}` must be a character vector")));
    }
    Ok(strings_owned(sexp(x)))
}

/// Scan and classify the inbox (`path`: NULL for the clone's
/// `input_files/`): list(dir, name, file, format, original_file_sha,
/// status (one element per file), counts (total, new, changed, unchanged,
/// unsupported)).
#[extendr]
fn rs_inbox_scan(conn: Robj, path: Robj, pattern: &str) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        let dir = if path.is_null() { None } else { Some(path.as_str().ok_or_else(|| Error::input("`path` must be a string or NULL"))?) };
        let s = sync::scan(&clone, dir.map(Path::new), pattern, true)?;
        let col = |f: fn(&InboxFile) -> &str| -> Robj { s.files.iter().map(f).collect::<Vec<&str>>().into() };
        super::list_named(
            &["dir", "name", "file", "format", "original_file_sha", "status", "counts"],
            vec![
                s.dir.to_string_lossy().as_ref().into(),
                col(|f| &f.name),
                col(|f| &f.file),
                col(|f| &f.format),
                col(|f| &f.sha),
                col(|f| f.status),
                s.counts().iter().map(|&k| k as i32).collect::<Vec<_>>().into(),
            ],
        )
    })
}

/// The inbox line of `datom_status()`: NULL (the clone has no inbox) or
/// list(n_total, n_new, n_changed, n_unchanged, n_unsupported, line
/// (`sync::inbox_line`)).
#[extendr]
fn rs_inbox_status(conn: Robj) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        match sync::inbox_counts(&clone)? {
            None => Ok(().into()),
            Some(n) => {
                let mut v: Vec<Robj> = n.iter().map(|&k| Robj::from(k as i32)).collect();
                v.push(sync::inbox_line(n).into());
                super::list_named(&["n_total", "n_new", "n_changed", "n_unchanged", "n_unsupported", "line"], v)
            }
        }
    })
}

/// What `datom_sync()` does with its manifest's rows: list(result (NA:
/// imported), error, import (1-based rows, in order), finish, package (the
/// optional reader package per row, NA: none), reader (per row: `csv`,
/// `tsv`, `psv`, `parquet` or the package's function; NA: no import format)).
#[extendr]
fn rs_sync_plan(conn: Robj, name: Robj, format: Robj, status: Robj) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let (name, format, status) = (chr(&name, "name")?, chr(&format, "format")?, chr(&status, "status")?);
        if format.len() != name.len() || status.len() != name.len() {
            return Err(Error::input("`name`, `format` and `status` must have the same length"));
        }
        let rows: Vec<Row<'_>> = (0..name.len())
            .map(|i| Row {
                name: name[i].as_deref().unwrap_or("NA"),
                format: format[i].as_deref().unwrap_or("NA"),
                status: status[i].as_deref(),
            })
            .collect();
        let p = sync::plan(&project, &clone, &rows)?;
        let result: Strings = p.result.iter().map(|r| r.map_or_else(Rstr::na, Rstr::from)).collect();
        let error: Strings = p.error.iter().map(super::na_str).collect();
        let import: Vec<i32> = p.import.iter().map(|&i| i as i32 + 1).collect();
        let na = |v: &[Option<&str>]| -> Strings { v.iter().map(|r| r.map_or_else(Rstr::na, Rstr::from)).collect() };
        super::list_named(
            &["result", "error", "import", "finish", "package", "reader"],
            vec![result.into(), error.into(), import.into(), p.finish.into(), na(&p.package).into(), na(&p.reader).into()],
        )
    })
}

/// The governance store's `projects` namespace at an access list.
fn gov_project(loc: &Robj) -> Result<crate::ops::Project> {
    let l = conn::location(sexp(loc))?;
    let (store, newline, display) = conn::open_store(&l, sexp(loc))?;
    Ok(crate::ops::gov::gov_store(store, l.prefix_norm(), newline, display))
}

fn lgl(x: Option<bool>) -> Rbool {
    x.map(Rbool::from).unwrap_or(Rbool::na())
}

/// `datom_sync_dispatch()` of a conn (`gov_loc`: the access list of its
/// governance store, NULL for a solo project): list(events = list(list(id,
/// value, error)), repo_files, table, error (NA: synced), keys (one
/// character vector per table), synced, errors, failed = NULL or the error
/// value that stopped the data side).
#[extendr]
fn rs_sync_dispatch(conn: Robj, gov_loc: Robj) -> Robj {
    use crate::ops::collab::{self, DispatchEvent as E};
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let url = conn::field_str(sexp(&conn), "gov_repo_url");
        let gov_clone = conn::field_str(sexp(&conn), "gov_local_path").map(std::path::PathBuf::from);
        let gov = (!gov_loc.is_null()).then(|| collab::DispatchGov { store: gov_project(&gov_loc), url: url.as_deref(), clone: gov_clone.as_deref() });
        let d = collab::sync_dispatch(&project, &clone, gov);
        let s = |x: &str| Robj::from(x);
        let mut events = Vec::new();
        for e in &d.events {
            let (id, value, error): (&str, Robj, Robj) = match e {
                E::NoGovernance => ("no_governance", ().into(), ().into()),
                E::NoGovClone => ("no_gov_clone", ().into(), ().into()),
                E::GovCloned(p) => ("gov_cloned", s(&p.display().to_string()), ().into()),
                E::GovFailed(err) => ("gov_failed", s(&crate::layout::gov::files_label()), s(&err.to_string())),
                E::GovFileFailed(f, m) => ("gov_file_failed", s(f), s(m)),
                E::Behind(n) => ("behind", (*n as i32).into(), ().into()),
                E::GovernanceFailed(m) => ("governance_failed", ().into(), s(m)),
                E::TableFailed(t, m) => ("table_failed", s(t), s(m)),
                E::ManifestFailed(m) => ("manifest_failed", ().into(), s(m)),
            };
            events.push(super::list_named(&["id", "value", "error"], vec![id.into(), value, error])?);
        }
        let (synced, errors) = d.counts();
        let keys: Vec<Robj> = d.tables.iter().map(|(_, r)| r.clone().unwrap_or_default().into()).collect();
        let error: Vec<Option<String>> = d.tables.iter().map(|(_, r)| r.as_ref().err().cloned()).collect();
        super::list_named(
            &["events", "repo_files", "table", "error", "keys", "synced", "errors", "failed"],
            vec![
                List::from_values(events).into(),
                d.repo_files.clone().into(),
                d.tables.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>().into(),
                error.into(),
                List::from_values(keys).into(),
                (synced as i32).into(),
                (errors as i32).into(),
                d.failed.as_ref().map(super::result::error_robj).unwrap_or_else(|| ().into()),
            ],
        )
    })
}

/// `datom_validate()` of a conn (`gov_loc`: the access list of its
/// governance store, NULL for a solo project; `deep`: object bytes too):
/// list(valid, issues = c(repo, table), name_mismatch, repo_files, tables,
/// problems (the data side's), gov_problems, commit, published).
#[extendr]
fn rs_validate(conn: Robj, gov_loc: Robj, deep: bool) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let gov_store = if gov_loc.is_null() { None } else { Some(gov_project(&gov_loc)?) };
        let gov_clone = conn::field_str(sexp(&conn), "gov_local_path").map(std::path::PathBuf::from);
        let r = crate::ops::collab::validate_report(&project, &clone, gov_store.as_ref().map(|g| (g, gov_clone.as_deref())), deep)?;
        let (n_repo, n_table) = r.issues();
        let f = &r.repo_files;
        let repo_files = super::list_named(
            &["file", "local", "s3", "status"],
            vec![
                f.iter().map(|x| x.file.clone()).collect::<Vec<_>>().into(),
                f.iter().map(|x| lgl(x.local)).collect::<Logicals>().into(),
                f.iter().map(|x| x.store).collect::<Vec<_>>().into(),
                f.iter().map(|x| x.status).collect::<Vec<_>>().into(),
            ],
        )?;
        let v = &r.validation;
        let t = &v.tables;
        let tables = super::list_named(
            &["table", "metadata_local", "metadata_s3", "history_local", "history_s3", "data_s3", "status"],
            vec![
                t.iter().map(|x| x.table.clone()).collect::<Vec<_>>().into(),
                t.iter().map(|x| x.metadata_local).collect::<Vec<_>>().into(),
                t.iter().map(|x| x.metadata_store).collect::<Vec<_>>().into(),
                t.iter().map(|x| x.history_local).collect::<Vec<_>>().into(),
                t.iter().map(|x| x.history_store).collect::<Vec<_>>().into(),
                t.iter().map(|x| x.data_store).collect::<Vec<_>>().into(),
                t.iter().map(|x| x.status.clone()).collect::<Vec<_>>().into(),
            ],
        )?;
        let problems = problems_to_r(&v.problems)?;
        let gov_problems = problems_to_r(&r.gov_problems)?;
        let opt = |o: &Option<String>| o.clone().map(Robj::from).unwrap_or_else(|| ().into());
        // without governance, the governance files are not checked
        let gov_skipped: Robj = if gov_store.is_none() { crate::layout::gov::files_label().into() } else { ().into() };
        super::list_named(
            &["valid", "issues", "name_mismatch", "repo_files", "tables", "problems", "gov_problems", "commit", "published", "gov_skipped"],
            vec![
                r.valid().into(),
                vec![n_repo as i32, n_table as i32].into(),
                opt(&r.name_mismatch),
                repo_files,
                tables,
                problems,
                gov_problems,
                v.commit.clone().into(),
                opt(&v.published),
                gov_skipped,
            ],
        )
    })
}

/// Problems as an R list of columns.
fn problems_to_r(p: &[crate::ops::collab::Problem]) -> Result<Robj> {
    super::list_named(
        &["kind", "severity", "table", "version", "detail", "repair"],
        vec![
            p.iter().map(|x| x.kind.to_string()).collect::<Vec<_>>().into(),
            p.iter().map(|x| x.severity.to_string()).collect::<Vec<_>>().into(),
            p.iter().map(|x| x.table.clone()).collect::<Vec<Option<String>>>().into(),
            p.iter().map(|x| x.version.clone()).collect::<Vec<Option<String>>>().into(),
            p.iter().map(|x| x.detail.clone()).collect::<Vec<_>>().into(),
            p.iter().map(|x| x.repair.clone()).collect::<Vec<_>>().into(),
        ],
    )
}

/// Fetch and fast-forward the data clone, then the gov clone of a conn
/// with a `gov_local_path`: list(commits_pulled, branch, tables, change,
/// gov_commits (NULL: no gov clone), gov_failed (NULL or the error value of
/// the gov clone's refresh)).
#[extendr]
fn rs_pull(conn: Robj) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        let p = crate::ops::collab::pull(&clone)?;
        let url = conn::field_str(sexp(&conn), "gov_repo_url");
        let gov = conn::field_str(sexp(&conn), "gov_local_path").map(|g| crate::ops::collab::pull_gov_clone(url.as_deref(), Path::new(&g), &clone.creds));
        let (gov_commits, gov_failed): (Robj, Robj) = match &gov {
            None => (().into(), ().into()),
            Some(Ok(n)) => ((*n as i32).into(), ().into()),
            Some(Err(e)) => (().into(), super::result::error_robj(e)),
        };
        super::list_named(
            &["commits_pulled", "branch", "tables", "change", "gov_commits", "gov_failed"],
            vec![
                (p.commits as i32).into(),
                p.branch.into(),
                p.tables.iter().map(|t| t.0.clone()).collect::<Vec<_>>().into(),
                p.tables.iter().map(|t| t.1.to_string()).collect::<Vec<_>>().into(),
                gov_commits,
                gov_failed,
            ],
        )
    })
}

/// Clone (or check) the governance repo of a joining engineer.
#[extendr]
fn rs_join_gov(url: &str, path: &str, token: Robj) -> Robj {
    guard(|| {
        let creds = crate::git::Creds { token: super::secret::secret_value(sexp(&token))? };
        crate::ops::collab::join_gov(url, Path::new(path), &creds)?;
        Ok(().into())
    })
}

/// The structural checks of `is_valid_datom_repo()`: a named logical
/// vector (git_initialized, datom_initialized, datom_manifest,
/// renv_initialized) of the groups `groups` (all, git, datom, renv).
#[extendr]
fn rs_repo_checks(path: &str, groups: Robj) -> Robj {
    guard(|| {
        let groups: Vec<String> = chr(&groups, "checks")?.into_iter().flatten().collect();
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let sel = crate::ops::collab::repo_checks(Path::new(path)).selected(&groups);
        let mut r: Robj = sel.iter().map(|(_, v)| *v).collect::<Vec<bool>>().into();
        r.set_names(sel.iter().map(|(n, _)| *n).collect::<Vec<_>>()).map_err(super::result::rerr)?;
        Ok(r)
    })
}

extendr_module! {
    mod collab;
    fn rs_join_gov;
    fn rs_repo_checks;
    fn rs_inbox_scan;
    fn rs_inbox_status;
    fn rs_sync_plan;
    fn rs_sync_dispatch;
    fn rs_pull;
    fn rs_validate;
}

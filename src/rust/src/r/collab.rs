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
/// status), one element per file.
#[extendr]
fn rs_inbox_scan(conn: Robj, path: Robj, pattern: &str) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        let dir = if path.is_null() { None } else { Some(path.as_str().ok_or_else(|| Error::input("`path` must be a string or NULL"))?) };
        let s = sync::scan(&clone, dir.map(Path::new), pattern, true)?;
        let col = |f: fn(&InboxFile) -> &str| -> Robj { s.files.iter().map(f).collect::<Vec<&str>>().into() };
        super::list_named(
            &["dir", "name", "file", "format", "original_file_sha", "status"],
            vec![
                s.dir.to_string_lossy().as_ref().into(),
                col(|f| &f.name),
                col(|f| &f.file),
                col(|f| &f.format),
                col(|f| &f.sha),
                col(|f| f.status),
            ],
        )
    })
}

/// The inbox line of `datom_status()`: NULL (the clone has no inbox) or
/// list(n_total, n_new, n_changed, n_unchanged, n_unsupported).
#[extendr]
fn rs_inbox_status(conn: Robj) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        match sync::inbox_counts(&clone)? {
            None => Ok(().into()),
            Some(n) => super::list_named(
                &["n_total", "n_new", "n_changed", "n_unchanged", "n_unsupported"],
                n.iter().map(|&k| Robj::from(k as i32)).collect(),
            ),
        }
    })
}

/// What `datom_sync()` does with its manifest's rows: list(result (NA:
/// imported), error, import (1-based rows, in order), finish).
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
        super::list_named(&["result", "error", "import", "finish"], vec![result.into(), error.into(), import.into(), p.finish.into()])
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
/// renv_initialized).
#[extendr]
fn rs_repo_checks(path: &str) -> Robj {
    guard(|| {
        let c = crate::ops::collab::repo_checks(Path::new(path));
        let mut r: Robj = vec![c.git, c.datom, c.manifest, c.renv].into();
        r.set_names(["git_initialized", "datom_initialized", "datom_manifest", "renv_initialized"]).map_err(super::result::rerr)?;
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
}

//! R conn / store component lists -> engine `Project` and `CloneCtx`.

use super::sexp::*;
use crate::error::{Error, Kind, Result};
use crate::git::Creds;
use crate::layout;
use crate::model::Location;
use crate::ops::{CloneCtx, Project};
use crate::store::local::LocalStore;
use extendr_ffi::SEXP;

/// Element `name` of an R list (R_NilValue when absent).
pub fn field(x: SEXP, name: &str) -> Option<SEXP> {
    if typeof_str(x) != "list" {
        return None;
    }
    let names = strings_owned(attr(x, "names"));
    names
        .iter()
        .position(|n| n.as_deref() == Some(name))
        .map(|i| list_elt(x, i))
        .filter(|v| !is_null(*v))
}

pub fn field_str(x: SEXP, name: &str) -> Option<String> {
    field(x, name).and_then(|v| strings_owned(v).into_iter().next().flatten())
}

/// The data location of a conn: backend, root, prefix, region.
pub fn location(conn: SEXP) -> Result<Location> {
    let kind = field_str(conn, "backend").ok_or_else(|| Error::input("conn has no backend"))?;
    let root = field_str(conn, "root").ok_or_else(|| Error::input("conn has no data root"))?;
    Ok(Location { kind, root, prefix: field_str(conn, "prefix").filter(|p| !p.is_empty()), region: field_str(conn, "region") })
}

/// A store for a location.
pub fn open_store(loc: &Location) -> Result<(Box<dyn crate::store::Store>, bool, String)> {
    match loc.kind.as_str() {
        "local" => {
            let display = std::path::Path::new(&loc.root).join(layout::store_root(loc.prefix_norm())).display().to_string();
            Ok((Box::new(LocalStore::new(&loc.root)), true, display))
        }
        other => Err(Error::new(Kind::Input, format!("storage backend {other:?} is not available in this build"))),
    }
}

/// The project a conn points at.
pub fn project(conn: SEXP) -> Result<Project> {
    let name = field_str(conn, "project_name").ok_or_else(|| Error::input("conn has no project_name"))?;
    let loc = location(conn)?;
    project_at(&name, &loc)
}

pub fn project_at(name: &str, loc: &Location) -> Result<Project> {
    let (store, newline, display) = open_store(loc)?;
    Ok(Project::new(name, store, loc.prefix_norm(), newline, display))
}

/// The data clone of a developer conn.
pub fn clone_ctx(conn: SEXP) -> Result<CloneCtx> {
    let path = field_str(conn, "path").ok_or_else(|| {
        Error::new(Kind::Role, "This operation requires a local git repo path (a developer connection)")
            .with_hint("Connect with datom_get_conn(path = <data clone>, store = ...).")
    })?;
    Ok(CloneCtx { path: path.into(), creds: Creds { token: field_str(conn, "github_pat") } })
}

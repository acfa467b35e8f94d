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

/// A string field; a `datom_secret` handle (PAT, secret key) is read here,
/// at the moment of use.
pub fn field_str(x: SEXP, name: &str) -> Option<String> {
    field(x, name).and_then(super::secret::reveal)
}

/// The data location of a conn: backend, root, prefix, region.
pub fn location(conn: SEXP) -> Result<Location> {
    let kind = field_str(conn, "backend").ok_or_else(|| Error::input("conn has no backend"))?;
    let root = field_str(conn, "root").ok_or_else(|| Error::input("conn has no data root"))?;
    Ok(Location { kind, root, prefix: field_str(conn, "prefix").filter(|p| !p.is_empty()), region: field_str(conn, "region") })
}

/// A location from any shape R holds one in: a conn or access list
/// (`backend`), a project config or a ref (`type`).
pub fn any_location(x: SEXP) -> Result<Location> {
    let kind = field_str(x, "backend").or_else(|| field_str(x, "type")).ok_or_else(|| Error::input("location has no backend"))?;
    let root = field_str(x, "root").ok_or_else(|| Error::input("location has no root"))?;
    Ok(Location { kind, root, prefix: field_str(x, "prefix").filter(|p| !p.is_empty()), region: field_str(x, "region") })
}

/// A store for a location; `x` (a conn or an access list) carries the S3
/// endpoint and credentials.
pub fn open_store(loc: &Location, x: SEXP) -> Result<(Box<dyn crate::store::Store>, bool, String)> {
    open_store_with(loc, field(x, "client"), field_str(x, "endpoint").filter(|s| !s.is_empty()))
}

/// A store for a location with S3 credentials (`client`) and endpoint.
pub fn open_store_with(loc: &Location, client: Option<SEXP>, endpoint: Option<String>) -> Result<(Box<dyn crate::store::Store>, bool, String)> {
    match loc.kind.as_str() {
        "local" => {
            let display = std::path::Path::new(&loc.root).join(layout::store_root(loc.prefix_norm())).display().to_string();
            Ok((Box::new(LocalStore::new(&loc.root)), true, display))
        }
        "s3" => {
            let cfg = s3_config_with(loc, client, endpoint)?;
            let display = format!("s3://{}/{}/", loc.root, layout::store_root(loc.prefix_norm()));
            Ok((Box::new(crate::store::s3::S3Store::new(cfg)?), false, display))
        }
        other => Err(Error::new(Kind::Input, format!("unknown storage backend {other:?}"))),
    }
}

/// Is `x` a `datom_conn`?
pub fn is_conn(x: SEXP) -> bool {
    strings_owned(attr(x, "class")).iter().any(|c| c.as_deref() == Some("datom_conn"))
}

/// The governance store of a conn (its `gov_*` fields; the S3 endpoint is
/// `gov_endpoint`, else the conn's), or of an access list: location and store.
pub fn gov_store_of(x: SEXP) -> Result<(Location, Box<dyn crate::store::Store>, bool, String)> {
    if !is_conn(x) {
        let l = location(x)?;
        let (s, n, d) = open_store(&l, x)?;
        return Ok((l, s, n, d));
    }
    let kind = field_str(x, "gov_backend").ok_or_else(|| Error::input("The connection has no governance attached."))?;
    let root = field_str(x, "gov_root").ok_or_else(|| Error::input("conn has no governance root"))?;
    let l = Location { kind, root, prefix: field_str(x, "gov_prefix").filter(|p| !p.is_empty()), region: field_str(x, "gov_region") };
    let endpoint = field_str(x, "gov_endpoint").or_else(|| field_str(x, "endpoint")).filter(|s| !s.is_empty());
    let (s, n, d) = open_store_with(&l, field(x, "gov_client"), endpoint)?;
    Ok((l, s, n, d))
}

/// The S3 store of a conn or access list (its location, endpoint and credentials).
pub fn s3_store(x: SEXP) -> Result<(Location, crate::store::s3::S3Store)> {
    let l = location(x)?;
    let store = crate::store::s3::S3Store::new(s3_config(&l, x)?)?;
    Ok((l, store))
}

/// S3 settings of a conn or access list: endpoint and `client` credentials.
pub fn s3_config(loc: &Location, x: SEXP) -> Result<crate::store::s3::S3Config> {
    s3_config_with(loc, field(x, "client"), field_str(x, "endpoint").filter(|s| !s.is_empty()))
}

/// S3 settings of a location with `client` credentials and an endpoint.
pub fn s3_config_with(loc: &Location, client: Option<SEXP>, endpoint: Option<String>) -> Result<crate::store::s3::S3Config> {
    let cred = |k: &str| -> Result<Option<String>> {
        Ok(match client {
            Some(c) => super::secret::secret_field(c, k)?.filter(|s| !s.is_empty()),
            None => None,
        })
    };
    Ok(crate::store::s3::S3Config {
        bucket: loc.root.clone(),
        region: loc.region.clone().unwrap_or_else(|| "us-east-1".to_string()),
        path_style: endpoint.is_some(),
        endpoint,
        access_key: cred("access_key")?,
        secret_key: cred("secret_key")?,
        session_token: cred("session_token")?,
    })
}

/// The project a conn points at.
pub fn project(conn: SEXP) -> Result<Project> {
    let name = field_str(conn, "project_name").ok_or_else(|| Error::input("conn has no project_name"))?;
    project_at(&name, conn)
}

/// A project `name` at the location described by `x` (a conn or access list).
pub fn project_at(name: &str, x: SEXP) -> Result<Project> {
    layout::check_name(name, "project_name")?;
    let loc = location(x)?;
    let (store, newline, display) = open_store(&loc, x)?;
    let mut p = Project::new(name, store, loc.prefix_norm(), newline, display);
    p.location = Some(loc);
    Ok(p)
}

/// The data clone of a developer conn.
pub fn clone_ctx(conn: SEXP) -> Result<CloneCtx> {
    let path = field_str(conn, "path").ok_or_else(|| {
        Error::new(Kind::Role, "This operation requires a local git repo path (a developer connection)")
            .with_hint("Connect with datom_get_conn(path = <data clone>, store = ...).")
    })?;
    Ok(CloneCtx { path: path.into(), creds: Creds { token: super::secret::secret_field(conn, "github_pat")? } })
}

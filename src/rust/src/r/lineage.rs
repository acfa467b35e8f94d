//! Bindings of lineage (`crate::ops::lineage`).

use super::result::{guard, rerr};
use super::sexp::*;
use super::{conn, list_named, opt_str, value};
use crate::error::{Error, Result};
use crate::identity::rvalue::RValue;
use crate::ops::lineage::{self, Check, Projects};
use extendr_api::prelude::*;

/// An engine value as R (what a JSON file parses to).
fn to_r(v: Option<&RValue>, what: &str) -> Result<Robj> {
    match v {
        None => Ok(().into()),
        Some(v) => {
            value::check_no_nul(v, what)?;
            value::from_rvalue(v).map_err(rerr)
        }
    }
}

fn arg(x: &Robj, what: &str) -> Result<Option<RValue>> {
    if x.is_null() {
        Ok(None)
    } else {
        value::to_rvalue(sexp(x), what).map(Some)
    }
}

/// The parent records and source lineage `datom_write()` stores:
/// list(parents, source_lineage). A `.source_lineage` of class
/// `datom_self_lineage` is an imported table's self-entry.
#[extendr]
fn rs_write_lineage(parents: Robj, source_lineage: Robj) -> Robj {
    guard(|| {
        let p = arg(&parents, "parents")?;
        let l = arg(&source_lineage, "source_lineage")?;
        let self_entry = inherits(sexp(&source_lineage), "datom_self_lineage");
        let w = lineage::write_lineage(p.as_ref(), l.as_ref(), self_entry)?;
        list_named(&["parents", "source_lineage"], vec![to_r(w.parents.as_ref(), "parents")?, to_r(w.source_lineage.as_ref(), "source_lineage")?])
    })
}

/// A version argument of the lineage functions: 6-64 lower-case hex
/// characters (`layout::check_sha`), else an input error naming `what`.
#[extendr]
fn rs_check_version(x: &str, what: &str) -> Robj {
    guard(|| {
        crate::layout::check_sha(x, what).map_err(|_| {
            Error::input(format!("`{what}` must be 6-64 lowercase hex characters."))
                .with_hint("Use a version id from datom_history() (full, or a unique prefix of at least 6 characters).")
        })?;
        Ok(true.into())
    })
}

/// The de-duplicated union of source lineages.
#[extendr]
fn rs_lineage_union(lineages: Robj) -> Robj {
    guard(|| {
        let v = value::to_rvalue(sexp(&lineages), "lineages")?;
        to_r(Some(&lineage::union_of(&v)?), "lineages")
    })
}

/// The lineage a version's metadata records: `depth` "source"
/// (`source_lineage`) or "parents"; NULL when it records none.
#[extendr]
fn rs_lineage(conn: Robj, name: &str, version: Robj, depth: &str) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let meta = lineage::table_metadata(&project, name, opt_str(&version).as_deref())?;
        let out = match depth {
            "source" => lineage::source_lineage_of(&meta),
            "parents" => lineage::parents_of(&meta),
            other => return Err(Error::input(format!("unknown lineage depth {other:?}"))),
        };
        to_r(out.as_ref(), "metadata")
    })
}

/// `datom_parent()`'s record of version `version` (a full id) of `table`.
#[extendr]
fn rs_lineage_parent(conn: Robj, table: &str, version: &str) -> Robj {
    guard(|| {
        let project = conn::project(sexp(&conn))?;
        let r = lineage::parent_record(&project, table, version)?;
        list_named(
            &["source", "table", "version", "data_sha", "source_lineage"],
            vec![r.source.into(), r.table.into(), r.version.into(), r.data_sha.into(), to_r(r.source_lineage.as_ref(), "snapshot")?],
        )
    })
}

fn checks(c: &[&Check]) -> (Robj, Robj, Robj) {
    (
        c.iter().map(|c| c.status.as_str().to_string()).collect::<Vec<_>>().into(),
        c.iter().map(|c| c.detail.clone()).collect::<Vec<_>>().into(),
        c.iter().map(|c| c.hint.clone()).collect::<Vec<Option<String>>>().into(),
    )
}

/// Verify a version's lineage (`datom_validate_lineage()`): `conns` is a
/// list of connections to the other projects it may read.
#[extendr]
fn rs_validate_lineage(conn: Robj, name: &str, version: Robj, conns: Robj) -> Robj {
    guard(|| {
        let own = conn::project(sexp(&conn))?;
        // the other projects by name (`conns` is keyed by project name)
        let c = sexp(&conns);
        let names = strings_owned(attr(c, "names"));
        let n = if typeof_str(c) == "list" { xlength(c) } else { 0 };
        let others: Vec<(String, Result<crate::ops::Project>)> =
            (0..n).map(|i| (names.get(i).cloned().flatten().unwrap_or_default(), conn::project(list_elt(c, i)))).collect();
        let r = lineage::validate(&Projects { own: &own, others: &others }, name, opt_str(&version).as_deref())?;
        let strs = |v: Vec<Option<String>>| -> Robj { v.into() };
        let (ps, pd, ph) = checks(&r.parents.iter().map(|p| &p.check).collect::<Vec<_>>());
        let parents = list_named(
            &["source", "table", "version", "data_sha", "status", "detail", "hint", "fetched"],
            vec![
                strs(r.parents.iter().map(|p| p.source.clone()).collect()),
                strs(r.parents.iter().map(|p| p.table.clone()).collect()),
                strs(r.parents.iter().map(|p| p.version.clone()).collect()),
                strs(r.parents.iter().map(|p| p.data_sha.clone()).collect()),
                ps,
                pd,
                ph,
                r.parents.iter().map(|p| p.check.status.fetched()).collect::<Vec<_>>().into(),
            ],
        )?;
        let (ss, sd, sh) = checks(&r.sources.iter().map(|s| &s.check).collect::<Vec<_>>());
        let sources = list_named(
            &["project", "table", "version_sha", "status", "detail", "hint"],
            vec![
                strs(r.sources.iter().map(|s| s.project.clone()).collect()),
                strs(r.sources.iter().map(|s| s.table.clone()).collect()),
                strs(r.sources.iter().map(|s| s.version_sha.clone()).collect()),
                ss,
                sd,
                sh,
            ],
        )?;
        let entries = |v: &[RValue]| -> Result<Robj> { Ok(List::from_values(v.iter().map(|e| to_r(Some(e), "metadata")).collect::<Result<Vec<_>>>()?).into()) };
        let wrong = r
            .wrong_version
            .iter()
            .map(|(d, c)| list_named(&["declared", "computed"], vec![to_r(Some(d), "metadata")?, to_r(Some(c), "metadata")?]))
            .collect::<Result<Vec<_>>>()?;
        list_named(
            &["status", "missing", "extra", "wrong_version", "message", "parents", "sources", "compared"],
            vec![
                r.status.as_str().into(),
                entries(&r.missing)?,
                entries(&r.extra)?,
                List::from_values(wrong).into(),
                r.message.into(),
                parents,
                sources,
                r.compared.into(),
            ],
        )
    })
}

extendr_module! {
    mod lineage;
    fn rs_write_lineage;
    fn rs_lineage_union;
    fn rs_check_version;
    fn rs_lineage;
    fn rs_lineage_parent;
    fn rs_validate_lineage;
}

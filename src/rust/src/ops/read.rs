//! Reading a version from the store alone (FORMATS.md 5-6): no git, no token.

use super::Project;
use crate::error::{Error, Kind, Result};
use crate::identity::rvalue::RValue;
use crate::identity::sha256_hex;
use crate::layout;
use crate::model::{as_str, elements, get};
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
            .with_hint("See datom_list(conn) for the tables of this project.")
    })?;
    let nonempty = |v: Option<&RValue>| as_str(v).filter(|s| !s.is_empty()).map(|s| s.to_string());
    let resolved = match version {
        None => {
            // The current version needs metadata.json only: its version id
            // is its own metadata_sha (FORMATS.md 4.6), so a reader makes one
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

/// Fetch and verify the parquet bytes of a resolved version.
pub fn fetch(project: &Project, name: &str, r: &Resolved) -> Result<Vec<u8>> {
    let key = layout::data::parquet(name, &r.data_sha)?;
    let bytes = project.store.get(&project.key(&key)).map_err(|e| {
        if e.kind == Kind::NotFound {
            Error::new(Kind::NotFound, format!("Stored parquet for {name:?} is missing: {}", project.key(&key)))
                .with_hint("The data store is incomplete; a developer can repair it by re-running the write.")
        } else {
            e
        }
    })?;
    if let Some(want) = &r.parquet_sha {
        let actual = sha256_hex(&bytes);
        if &actual != want {
            return Err(Error::new(
                Kind::Integrity,
                format!(
                    "Stored parquet for {name:?} failed its integrity check: key {}, expected parquet_sha {want}, actual {actual}",
                    project.key(&key)
                ),
            )
            .with_hint("Do not trust this data; the stored object was modified or corrupted."));
        }
    }
    Ok(bytes)
}

/// Read a version of a table: resolve, fetch, verify, decode.
pub fn read(project: &Project, name: &str, version: Option<&str>) -> Result<(ReadTable, Resolved)> {
    let r = resolve(project, name, version)?;
    let bytes = fetch(project, name, &r)?;
    Ok((read_parquet(bytes::Bytes::from(bytes))?, r))
}

//! Operations: the user-level flows (init, write, read, list, history) built
//! from identity, table, store, git and model. Free of R types; the binding
//! layer calls them with plain values and shapes their results.

pub mod adopt;
pub mod collab;
pub mod conn;
pub mod diff;
pub mod gov;
pub mod init;
pub mod leftovers;
pub mod lineage;
pub mod publish;
pub mod read;
pub mod storage;
pub mod sync;
pub mod write;

use crate::error::{Error, Kind, Result};
use crate::git::Creds;
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model;
use crate::store::Store;
use std::path::{Path, PathBuf};

/// A project's sub-namespace in its data store.
pub struct Project {
    pub name: String,
    pub store: Box<dyn Store>,
    /// `{P/}datom/{project}`
    pub root: String,
    /// Local stores end JSON files with a newline; S3 objects do not.
    pub json_newline: bool,
    /// Human-readable location for messages (`s3://bucket/prefix/datom/` or a path).
    pub display: String,
    /// Where the store is (set for a conn's project: writes check it against
    /// the clone's project.yaml).
    pub location: Option<model::Location>,
}

impl Project {
    pub fn new(name: &str, store: Box<dyn Store>, prefix: Option<&str>, json_newline: bool, display: String) -> Project {
        Project { name: name.to_string(), store, root: layout::project_root(prefix, name), json_newline, display, location: None }
    }
    pub fn key(&self, k: &str) -> String {
        layout::full_key(&self.root, k)
    }
    /// A JSON object of the project, `None` when absent.
    pub fn get_json(&self, k: &str) -> Result<Option<RValue>> {
        match self.store.get(&self.key(k)) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| Error::new(Kind::Json, format!("{k} is not UTF-8")))?;
                Ok(Some(model::read_json(&text, k)?))
            }
            Err(e) if e.kind == Kind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
    pub fn put_json(&self, k: &str, v: &RValue) -> Result<()> {
        crate::identity::canon::check_json_depth(v, k)?;
        self.store.put(&self.key(k), model::json_text(v, self.json_newline).as_bytes())
    }
}

/// The hint for a reader that finds nothing in a project's namespace when
/// its store holds the project in the original's 0.1.x layout (dev/spec/FORMATS.md
/// 9.2.1): adopt it. `None` otherwise (one GET, on error paths only).
pub fn v01_hint(project: &Project) -> Option<String> {
    let root = project.root.strip_suffix(&format!("/{}", project.name))?;
    let bytes = project.store.get(&layout::full_key(root, layout::data::MANIFEST)).ok()?;
    let v = model::read_json(std::str::from_utf8(&bytes).ok()?, layout::data::MANIFEST).ok()?;
    (model::as_str(model::get(&v, "project_name")) == Some(project.name.as_str())).then(|| {
        format!(
            "This store holds project {} in the layout of the original datom (0.1.x) at {root}/: adopt it with datom_adopt(path = <clone of its data repo>, store = <this store>).",
            project.name
        )
    })
}

/// A developer's data clone and the credentials for its remote.
pub struct CloneCtx {
    pub path: PathBuf,
    pub creds: Creds,
}

impl CloneCtx {
    pub fn file(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
    /// A JSON file of the clone, `None` when absent.
    pub fn read_json(&self, rel: &str) -> Result<Option<RValue>> {
        match std::fs::read_to_string(self.file(rel)) {
            Ok(t) => Ok(Some(model::read_json(&t, rel)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::new(Kind::Storage, format!("cannot read {rel}: {e}"))),
        }
    }
    pub fn write_json(&self, rel: &str, v: &RValue) -> Result<()> {
        crate::identity::canon::check_json_depth(v, rel)?;
        crate::store::local::write_atomic(&self.file(rel), model::json_text(v, true).as_bytes())
    }
}

/// Read the data clone's `project.yaml`.
pub fn read_config(path: &std::path::Path) -> Result<model::ProjectConfig> {
    let p = path.join(layout::repo::PROJECT_YAML);
    let text = std::fs::read_to_string(&p).map_err(|_| {
        Error::new(Kind::NotFound, format!("No datom config found at {}", path.display()))
            .with_hint("Run datom_init_repo() to create a project, or check your path.")
    })?;
    let c = model::ProjectConfig::from_yaml(&text)?;
    layout::check_name(&c.project_name, "project_name").map_err(|e| {
        Error::input(format!("{} records an invalid project name: {}", p.display(), e.message))
            .with_hint("Fix project_name in .datom/project.yaml (letters, digits, underscore, hyphen, space or parentheses; not a reserved name).")
    })?;
    Ok(c)
}

/// The data repository a teardown may delete, once ownership is proven.
#[derive(Debug, PartialEq, Eq)]
pub enum RepoTarget {
    /// A bare repository datom created (`datom.managed = true`).
    Local(PathBuf),
    /// A local remote that no longer exists: nothing to delete.
    LocalGone(PathBuf),
    /// A hosted repository (the URL `origin` and project.yaml agree on).
    Remote(String),
}

/// Prove that the data repository of the clone at `clone` is datom's to
/// delete, before anything is touched: the clone's `origin` remote (never
/// another remote) must be the data repo URL recorded in
/// `.datom/project.yaml`, and a local remote must be a bare repository datom
/// created (marked `datom.managed = true`). Anything else is a
/// `Kind::Conflict` and nothing is deleted.
pub fn owned_data_repo(clone: &Path) -> Result<RepoTarget> {
    let cfg = read_config(clone)?;
    let repo = crate::git::Repo::open(clone)?;
    let refuse = |msg: String| {
        Error::new(Kind::Conflict, format!("Refusing to delete the data repo: {msg}; nothing was deleted"))
            .with_hint("datom deletes only the repository the clone's `origin` points at, when it is the data repo recorded in .datom/project.yaml and (for a local path) a bare repository datom created. Delete it yourself if you are sure.")
    };
    let origin = repo
        .remote_url("origin")
        .ok_or_else(|| refuse(format!("the clone at {} has no `origin` remote", clone.display())))?;
    if !gov::same_url(&origin, &cfg.remote_url) {
        return Err(refuse(format!(
            "`origin` ({}) is not the data repo recorded in .datom/project.yaml ({})",
            crate::git::redact(&origin),
            crate::git::redact(&cfg.remote_url)
        )));
    }
    if !crate::git::is_local_remote(&origin) {
        return Ok(RepoTarget::Remote(origin));
    }
    let path = crate::git::local_remote_path(&origin);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(RepoTarget::LocalGone(path));
    }
    if !crate::git::is_managed_bare(&path) {
        return Err(refuse(format!(
            "{} is not a bare repository created by datom (no `{} = true` in its git config)",
            path.display(),
            crate::git::MANAGED_KEY
        )));
    }
    Ok(RepoTarget::Local(path))
}

/// Delete the local bare data repository of the clone at `clone` after
/// [`owned_data_repo`] proved it is datom's. Returns the removed path
/// (`None` when there was nothing to delete, or the repo is hosted).
pub fn delete_local_data_repo(clone: &Path) -> Result<Option<PathBuf>> {
    match owned_data_repo(clone)? {
        RepoTarget::Local(p) => {
            std::fs::remove_dir_all(&p)
                .map_err(|e| Error::new(Kind::Storage, format!("cannot remove the bare repository {}: {e}", p.display())))?;
            Ok(Some(p))
        }
        RepoTarget::LocalGone(_) | RepoTarget::Remote(_) => Ok(None),
    }
}

/// Rows of `datom_list()`: tables of the storage manifest, sorted by name.
pub struct ListRow {
    pub name: String,
    pub current_version: String,
    pub current_data_sha: String,
    pub last_updated: String,
    pub version_count: i64,
}

pub fn list(project: &Project) -> Result<Vec<ListRow>> {
    let m = project
        .get_json(layout::data::MANIFEST)
        .map_err(|e| Error::new(e.kind, format!("Could not read manifest from storage: {}", e.message)))?
        .ok_or_else(|| {
            Error::new(Kind::NotFound, format!("Could not read manifest from storage for project {}", project.name)).with_hint(
                v01_hint(project).unwrap_or_else(|| "The repository may not be initialised (datom_init_repo()), or the store points elsewhere.".into()),
            )
        })?;
    let entries = model::members(model::get(&m, "tables").unwrap_or(&RValue::Null));
    // names read back from the store pass the same rule as names written
    if let Some((bad, e)) = entries.iter().find_map(|(n, _)| layout::check_name(n, "table").err().map(|e| (n, e))) {
        return Err(Error::new(Kind::Integrity, format!("the store's manifest lists an invalid table name {bad:?}: {}", e.message))
            .with_hint("The manifest is not one datom published; datom_validate(conn, fix = TRUE) re-publishes it from git."));
    }
    let mut rows: Vec<ListRow> = entries
        .into_iter()
        .map(|(name, e)| ListRow {
            name,
            current_version: model::as_str(model::get(e, "current_version")).unwrap_or("").to_string(),
            current_data_sha: model::as_str(model::get(e, "current_data_sha")).unwrap_or("").to_string(),
            last_updated: model::as_str(model::get(e, "last_updated")).unwrap_or("").to_string(),
            version_count: model::as_f64(model::get(e, "version_count")).unwrap_or(0.0) as i64,
        })
        .collect();
    rows.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(rows)
}

/// Rows of `datom_history()`, newest first.
pub struct HistoryRow {
    pub version: String,
    pub data_sha: String,
    pub timestamp: String,
    pub author: String,
    pub commit_message: String,
}

pub fn history(project: &Project, name: &str) -> Result<Vec<HistoryRow>> {
    layout::check_name(name, "name")?;
    let h = project.get_json(&layout::data::version_history(name))?.ok_or_else(|| {
        Error::new(Kind::NotFound, format!("No version history found for table {name:?}"))
            .with_hint("The table may not exist; see datom_list(conn).")
    })?;
    Ok(model::elements(&h)
        .iter()
        .map(|e| {
            let author = match model::get(e, "author") {
                Some(a @ RValue::List { .. }) => format!(
                    "{} <{}>",
                    model::as_str(model::get(a, "name")).unwrap_or(""),
                    model::as_str(model::get(a, "email")).unwrap_or("")
                ),
                other => model::as_str(other).unwrap_or("unknown").to_string(),
            };
            HistoryRow {
                version: model::as_str(model::get(e, "version")).unwrap_or("").to_string(),
                data_sha: model::as_str(model::get(e, "data_sha")).unwrap_or("").to_string(),
                timestamp: model::as_str(model::get(e, "timestamp")).unwrap_or("").to_string(),
                author,
                commit_message: model::as_str(model::get(e, "commit_message")).unwrap_or("").to_string(),
            }
        })
        .collect())
}

/// An inclusive window of instants (`YYYY-MM-DDTHH:MM:SSZ`, either end open).
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn parse(since: Option<&str>, until: Option<&str>) -> Result<Window> {
        let p = |s: Option<&str>, what: &str| -> Result<Option<i64>> {
            s.map(|s| {
                model::parse_utc(s).ok_or_else(|| Error::input(format!("`{what}` {s:?} is not an instant of the form YYYY-MM-DDTHH:MM:SSZ")))
            })
            .transpose()
        };
        let w = Window { since: p(since, "since")?, until: p(until, "until")? };
        if let (Some(a), Some(b)) = (w.since, w.until) {
            if a > b {
                return Err(Error::input("`since` is after `until`"));
            }
        }
        Ok(w)
    }
    pub fn contains(&self, t: i64) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

/// Rows of `datom_history()` whose `timestamp` is in the window (newest first).
pub fn history_window(project: &Project, name: &str, since: Option<&str>, until: Option<&str>) -> Result<Vec<HistoryRow>> {
    let w = Window::parse(since, until)?;
    let rows = history(project, name)?;
    Ok(rows.into_iter().filter(|r| model::parse_utc(&r.timestamp).is_some_and(|t| w.contains(t))).collect())
}

/// One row of `datom_changes()`: a version that became current in a window.
#[derive(Debug)]
pub struct ChangeRow {
    pub table: String,
    pub version: String,
    pub data_sha: String,
    /// When it became current (the data-repo commit time).
    pub timestamp: String,
    pub author: String,
    pub message: String,
    /// "write" (first time current) or "revert" (current again).
    pub action: &'static str,
}

/// Every table's versions that became current in the window, newest first
/// (ties by table name), from the manifest and each table's current-version
/// log and history in the store.
pub fn changes(project: &Project, since: Option<&str>, until: Option<&str>) -> Result<Vec<ChangeRow>> {
    let w = Window::parse(since, until)?;
    let mut out = Vec::new();
    for t in list(project)? {
        let log = read::current_log(project, &t.name)?;
        let hist = history(project, &t.name)?;
        // oldest first, to tell a first appearance from a revert
        let mut seen = std::collections::HashSet::new();
        let mut rows = Vec::new();
        for (since, version) in log.iter().rev() {
            let first = seen.insert(version.clone());
            if !w.contains(*since) {
                continue;
            }
            let h = hist.iter().find(|h| &h.version == version);
            rows.push(ChangeRow {
                table: t.name.clone(),
                version: version.clone(),
                data_sha: h.map(|h| h.data_sha.clone()).unwrap_or_default(),
                timestamp: model::format_utc(*since),
                author: h.map(|h| h.author.clone()).unwrap_or_default(),
                message: h.map(|h| h.commit_message.clone()).unwrap_or_default(),
                action: if first { "write" } else { "revert" },
            });
        }
        out.extend(rows.into_iter().rev());
    }
    // newest first; stable, so a table's own order (same second) is kept
    out.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| a.table.cmp(&b.table)));
    Ok(out)
}

/// dev/spec/FORMATS.md 7: the formats `datom_sync()` imports, flat tabular formats
/// only. An `.rds` can hold any R object, not a table: it is not imported.
pub const IMPORT_FORMATS: &[&str] = &["csv", "tsv", "txt", "psv", "parquet", "sas7bdat", "xpt", "sav", "zsav", "por", "dta", "xls", "xlsx"];

/// The import format of a file extension (compared lower-cased), or `None`.
pub fn import_format(ext: &str) -> Option<&'static str> {
    let e = ext.to_ascii_lowercase();
    IMPORT_FORMATS.iter().copied().find(|f| *f == e)
}

#[cfg(test)]
mod import_format_tests {
    #[test]
    fn rds_is_not_a_table_format() {
        assert_eq!(super::import_format("CSV"), Some("csv"));
        assert_eq!(super::import_format("rds"), None);
        assert_eq!(super::import_format("RData"), None);
    }
}

//! Publication: the store is a publication of the data repo. Every JSON
//! file of the store (metadata, history, snapshots, manifest, governance)
//! is a mirror of a file of one commit of the repo, and the store records
//! which commit in `.metadata/publication.json` (the marker).
//!
//! Publishing commit T takes the project's store lock, reads the marker M
//! and then: T = M: nothing to do; M an ancestor of T: mirror the files
//! that changed between M and T, then move the marker to T; T an ancestor of
//! M: the store is newer, nothing is replaced (publication is monotonic); M
//! unknown to the clone even after a fetch, or diverged: refused. A full
//! publication (repair) mirrors every file of T. Parquet objects are not
//! mirrors: a write uploads its object before it pushes, so every version a
//! published commit names has its object.

use super::{CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::failpoint;
use crate::git::Repo;
use crate::identity::canon::metadata_sha;
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model;

/// Folders of a data repo that are never tables.
pub const NOT_TABLES: [&str; 7] = ["input_files", "renv", "man", "R", "tests", "vignettes", "src"];

/// A file of the repo that the store mirrors, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// `<t>/metadata.json` -> `<t>/.metadata/metadata.json` and the snapshot.
    Metadata(String),
    /// `<t>/version_history.json` -> `<t>/.metadata/version_history.json`.
    History(String),
    Manifest,
    Governance,
}

impl Mirror {
    /// The mirror a repo path maps to, if any.
    pub fn of_path(path: &str) -> Option<Mirror> {
        match path {
            layout::repo::MANIFEST => return Some(Mirror::Manifest),
            layout::repo::GOVERNANCE => return Some(Mirror::Governance),
            _ => {}
        }
        let (dir, file) = path.split_once('/')?;
        if dir.starts_with('.') || file.contains('/') || NOT_TABLES.contains(&dir) || layout::check_name(dir, "table").is_err() {
            return None;
        }
        match file {
            "metadata.json" => Some(Mirror::Metadata(dir.to_string())),
            "version_history.json" => Some(Mirror::History(dir.to_string())),
            _ => None,
        }
    }
    pub fn repo_path(&self) -> String {
        match self {
            Mirror::Metadata(t) => layout::repo::metadata(t),
            Mirror::History(t) => layout::repo::version_history(t),
            Mirror::Manifest => layout::repo::MANIFEST.to_string(),
            Mirror::Governance => layout::repo::GOVERNANCE.to_string(),
        }
    }
    pub fn store_key(&self) -> String {
        match self {
            Mirror::Metadata(t) => layout::data::metadata(t),
            Mirror::History(t) => layout::data::version_history(t),
            Mirror::Manifest => layout::data::MANIFEST.to_string(),
            Mirror::Governance => layout::data::GOVERNANCE.to_string(),
        }
    }
    pub fn table(&self) -> Option<&str> {
        match self {
            Mirror::Metadata(t) | Mirror::History(t) => Some(t),
            _ => None,
        }
    }
    /// Publication order: tables first, the manifest (what readers list)
    /// after them, governance last.
    fn rank(&self) -> u8 {
        match self {
            Mirror::Metadata(_) => 1,
            Mirror::History(_) => 0,
            Mirror::Manifest => 2,
            Mirror::Governance => 3,
        }
    }
}

/// Every mirrored file of `commit`.
pub fn mirrors_at(repo: &Repo, commit: &str) -> Result<Vec<Mirror>> {
    let mut out = Vec::new();
    for (dir, files) in repo.dirs_at(commit)? {
        for f in files {
            if let Some(m) = Mirror::of_path(&format!("{dir}/{f}")) {
                out.push(m);
            }
        }
    }
    if repo.read_at(commit, layout::repo::MANIFEST)?.is_some() {
        out.push(Mirror::Manifest);
    }
    if repo.read_at(commit, layout::repo::GOVERNANCE)?.is_some() {
        out.push(Mirror::Governance);
    }
    Ok(out)
}

/// A JSON file of `commit`, parsed (`None` when absent).
pub fn json_at(repo: &Repo, commit: &str, path: &str) -> Result<Option<RValue>> {
    match repo.read_at(commit, path)? {
        None => Ok(None),
        Some(b) => {
            let text = String::from_utf8(b).map_err(|_| Error::new(Kind::Json, format!("{path} is not UTF-8")))?;
            Ok(Some(model::read_json(&text, path)?))
        }
    }
}

/// The commit the store was last published from.
pub fn marker(project: &Project) -> Result<Option<String>> {
    Ok(project
        .get_json(layout::data::PUBLICATION)?
        .and_then(|v| model::as_str(model::get(&v, "commit")).map(str::to_string))
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())))
}

/// Where a frozen location's data moved (`.metadata/moved.json`), if it did.
pub fn moved_to(project: &Project) -> Result<Option<String>> {
    Ok(project
        .get_json(layout::data::MOVED)?
        .map(|v| model::as_str(model::get(&v, "moved_to")).unwrap_or("another location").to_string()))
}

/// Refuse to publish into (or upload to) a location a migration froze.
pub fn check_not_moved(project: &Project) -> Result<()> {
    if let Some(to) = moved_to(project)? {
        return Err(Error::new(
            Kind::Conflict,
            format!("The data of project {} moved to {to}: its old location {} is frozen", project.name, project.display),
        )
        .with_hint("Run datom_pull(conn), then rebuild the connection with datom_get_conn() and a store for the new location."));
    }
    Ok(())
}

/// What a publication did.
#[derive(Debug, Default)]
pub struct Published {
    /// The commit the store now mirrors (`None`: unchanged).
    pub commit: Option<String>,
    /// The store already held a newer publication: nothing replaced.
    pub store_newer: bool,
    /// Mirror files written.
    pub files: usize,
}

/// How long a publish lock may be held before it counts as abandoned.
pub(crate) const PUBLISH_STALE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Publish `target` (a commit of the clone that origin has) to the store.
pub fn publish(project: &Project, clone: &CloneCtx, repo: &Repo, target: &str, full: bool) -> Result<Published> {
    check_not_moved(project)?;
    let _lock = crate::store::acquire_lock(
        project.store.as_ref(),
        &project.key(layout::data::PUBLISH_LOCK),
        "The project's store",
        crate::store::lock_wait(),
        PUBLISH_STALE,
    )?;
    // a migration freezes the location under the same lock
    check_not_moved(project)?;
    let from = match marker(project)? {
        None => None,
        Some(m) => {
            if !repo.has_commit(&m) {
                // published by a newer clone: learn origin's commits
                let _ = repo.fetch("origin", &clone.creds);
            }
            if !repo.has_commit(&m) {
                return Err(Error::new(
                    Kind::Conflict,
                    format!("The store of project {} was published from commit {} which this clone does not know", project.name, &m[..12]),
                )
                .with_hint("Run datom_pull(conn) to bring the clone up to date, then retry."));
            }
            if m != target && repo.is_ancestor(target, &m)? {
                return Ok(Published { commit: None, store_newer: true, files: 0 });
            }
            if !repo.is_ancestor(&m, target)? {
                return Err(Error::new(
                    Kind::Conflict,
                    format!("The clone's commit {} does not descend from the store's publication {}", &target[..12], &m[..12]),
                )
                .with_hint("Run datom_pull(conn) to bring the clone up to date, then retry."));
            }
            if m == target && !full {
                return Ok(Published { commit: None, store_newer: false, files: 0 });
            }
            Some(m)
        }
    };
    let mut mirrors: Vec<Mirror> = match (&from, full) {
        (Some(m), false) => repo.diff_paths(m, target)?.iter().filter_map(|p| Mirror::of_path(p)).collect(),
        _ => mirrors_at(repo, target)?,
    };
    mirrors.sort_by(|a, b| (a.rank(), a.table()).cmp(&(b.rank(), b.table())));
    mirrors.dedup();
    let mut files = 0;
    let mut first_table = true;
    for m in &mirrors {
        if m == &Mirror::Manifest {
            failpoint::hit("publish.manifest")?;
        }
        let Some(v) = json_at(repo, target, &m.repo_path())? else {
            continue; // deleted in git: the store keeps its objects
        };
        if let Mirror::Metadata(t) = m {
            let (sha, _) = metadata_sha(&v)?;
            project.put_json(&layout::data::snapshot(t, &sha)?, &v)?;
            files += 1;
        }
        project.put_json(&m.store_key(), &v)?;
        files += 1;
        if m.table().is_some() && first_table {
            first_table = false;
            failpoint::hit("publish.table")?;
        }
    }
    failpoint::hit("publish.marker")?;
    let body = RValue::named(vec![("commit", RValue::str(target)), ("published_at", RValue::str(&model::now_utc()))]);
    project.put_json(layout::data::PUBLICATION, &body)?;
    Ok(Published { commit: Some(target.to_string()), store_newer: false, files })
}

/// The error a flow reports when git holds its commit but the store's
/// publication did not complete.
pub fn after_push(e: Error) -> Error {
    let hint = "Git holds the new version; re-run the same call, or datom_validate(conn, fix = TRUE), to complete the publication.";
    if e.kind == Kind::Busy {
        return Error::new(Kind::Busy, format!("Data repo pushed but the store is busy: {}", e.message)).with_hint(hint);
    }
    Error::new(e.kind, format!("Data repo pushed but the store's publication failed: {}", e.message)).with_hint(hint)
}

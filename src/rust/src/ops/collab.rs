//! Collaboration on a data clone: clone, pull (fetch + fast-forward),
//! status, the data-side metadata re-sync, and validation against storage.

use super::{CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::git::{Creds, Repo};
use crate::identity::canon::metadata_sha;
use crate::layout;
use crate::model::{self, as_str, get, members};
use std::path::Path;

/// Clone a project's data repo into an absent or empty `path`.
pub fn clone_repo(url: &str, path: &Path, creds: &Creds) -> Result<()> {
    if path.exists() && std::fs::read_dir(path).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Error::new(
            Kind::Conflict,
            format!("Target directory {} already exists and is not empty", path.display()),
        )
        .with_hint("Use an empty or non-existent directory."));
    }
    Repo::clone(url, path, creds).map_err(|e| {
        Error::new(e.kind, format!("Failed to clone {}: {}", crate::git::redact(url), e.message))
            .with_hint("Check the data_repo_url and your credentials.")
    })?;
    if !path.join(layout::repo::PROJECT_YAML).exists() {
        return Err(Error::new(Kind::Input, "Cloned repository is not a datom repository").with_hint(format!(
            "Use datom_init_repo() for new projects; remove {} before retrying.",
            path.display()
        )));
    }
    std::fs::create_dir_all(path.join(layout::repo::INPUT_FILES))
        .map_err(|e| Error::new(Kind::Storage, format!("cannot create input_files/: {e}")))?;
    Ok(())
}

/// What a pull changed.
pub struct Pulled {
    pub commits: usize,
    pub branch: String,
    /// (table, "new table" | "new version")
    pub tables: Vec<(String, &'static str)>,
}

fn manifest_versions(clone: &CloneCtx) -> Result<Vec<(String, String)>> {
    let m = clone.read_json(layout::repo::MANIFEST)?;
    Ok(match m {
        Some(m) => members(get(&m, "tables").unwrap_or(&crate::identity::rvalue::RValue::Null))
            .into_iter()
            .map(|(n, e)| (n, as_str(get(e, "current_version")).unwrap_or("").to_string()))
            .collect(),
        None => Vec::new(),
    })
}

/// Fetch `origin` and fast-forward the current branch.
pub fn pull(clone: &CloneCtx) -> Result<Pulled> {
    let repo = Repo::open(&clone.path)?;
    let branch = repo.branch()?;
    if repo.remote_url("origin").is_none() {
        return Err(Error::new(Kind::Git, "The data clone has no remote named origin"));
    }
    let before = manifest_versions(clone)?;
    repo.fetch("origin", &clone.creds).map_err(|e| {
        Error::new(Kind::Git, format!("Failed to fetch from remote origin: {}", e.message)).with_hint("Check your credentials and remote access.")
    })?;
    let commits = repo.fast_forward("origin").map_err(|e| {
        Error::new(Kind::Conflict, format!("Merge conflict detected — manual resolution required: {}", e.message))
            .with_hint("Resolve the conflicting files (see git status), then re-run datom_pull().")
    })?;
    let after = manifest_versions(clone)?;
    let mut tables = Vec::new();
    for (name, v) in &after {
        match before.iter().find(|(n, _)| n == name) {
            None => tables.push((name.clone(), "new table")),
            Some((_, old)) if old != v => tables.push((name.clone(), "new version")),
            _ => {}
        }
    }
    Ok(Pulled { commits, branch, tables })
}

/// Tables of a data clone: top-level folders with a metadata.json (8).
pub fn clone_tables(path: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(path).map_err(|e| Error::new(Kind::Storage, format!("cannot list {}: {e}", path.display())))?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || layout::SKIPPED_DIRS.contains(&name.as_str()) || !e.path().is_dir() {
            continue;
        }
        if e.path().join("metadata.json").is_file() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Mirror one table's metadata from the clone to storage: metadata.json,
/// version_history.json and the `{metadata_sha}.json` snapshot. Returns the
/// version id.
pub fn sync_table_metadata(project: &Project, clone: &CloneCtx, table: &str) -> Result<String> {
    let meta = clone
        .read_json(&layout::repo::metadata(table))?
        .ok_or_else(|| Error::new(Kind::NotFound, format!("No metadata found for table {table:?}")))?;
    let (sha, _) = metadata_sha(&meta)?;
    project.put_json(&layout::data::metadata(table), &meta)?;
    if let Some(h) = clone.read_json(&layout::repo::version_history(table))? {
        project.put_json(&layout::data::version_history(table), &h)?;
    }
    project.put_json(&layout::data::snapshot(table, &sha)?, &meta)?;
    Ok(sha)
}

/// Mirror a JSON file of the clone (git is canonical) to a key of the
/// project's data store; `false` when the clone has no such file.
pub fn mirror_clone_json(project: &Project, clone: &CloneCtx, rel: &str, key: &str) -> Result<bool> {
    match clone.read_json(rel)? {
        Some(v) => {
            project.put_json(key, &v)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// What the data side of `datom_sync_dispatch()` did; one failure never
/// stops the other files.
pub struct DataDispatch {
    /// (table, version id or the failure)
    pub tables: Vec<(String, Result<String>)>,
    pub manifest: Result<()>,
    /// `None` for a project without `.datom/governance.json`.
    pub governance: Option<Result<()>>,
}

/// The data side of `datom_sync_dispatch()`: `governance.json` (governed
/// projects), every table's metadata, history and current snapshot, then
/// the manifest.
pub fn sync_dispatch_data(project: &Project, clone: &CloneCtx) -> Result<DataDispatch> {
    let governance = clone.file(layout::repo::GOVERNANCE).is_file().then(|| {
        mirror_clone_json(project, clone, layout::repo::GOVERNANCE, layout::data::GOVERNANCE).map(|_| ())
    });
    let tables = clone_tables(&clone.path)?
        .into_iter()
        .map(|t| {
            let r = sync_table_metadata(project, clone, &t);
            (t, r)
        })
        .collect();
    let manifest = match mirror_clone_json(project, clone, layout::repo::MANIFEST, layout::data::MANIFEST) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::new(Kind::NotFound, "The data clone has no .datom/manifest.json")),
        Err(e) => Err(e),
    };
    Ok(DataDispatch { tables, manifest, governance })
}

/// Fetch `origin` and count commits (ahead, behind) of the data clone;
/// nothing in the working tree changes.
pub fn behind(clone: &CloneCtx) -> Result<(usize, usize)> {
    let repo = Repo::open(&clone.path)?;
    repo.fetch("origin", &clone.creds).map_err(|e| {
        Error::new(Kind::Git, format!("Failed to fetch from remote origin: {}", e.message)).with_hint("Check your credentials and remote access.")
    })?;
    repo.ahead_behind("origin")
}

/// Write files of the data clone, commit them with `message` and push
/// (rules of API 1.9): when the push fails the commit is undone and every
/// file is restored, so nothing happened. Returns the commit (the current
/// HEAD when nothing changed).
pub fn commit_files(clone: &CloneCtx, files: &[(String, Vec<u8>)], message: &str) -> Result<String> {
    let repo = Repo::open(&clone.path)?;
    let before = repo.head_sha();
    let mut old: Vec<(std::path::PathBuf, Option<Vec<u8>>)> = Vec::new();
    for (rel, bytes) in files {
        let p = clone.file(rel);
        old.push((p.clone(), std::fs::read(&p).ok()));
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::new(Kind::Storage, format!("cannot create {}: {e}", d.display())))?;
        }
        crate::store::local::write_atomic(&p, bytes)?;
    }
    let restore = |old: &[(std::path::PathBuf, Option<Vec<u8>>)]| {
        for (p, b) in old {
            match b {
                Some(b) => {
                    let _ = crate::store::local::write_atomic(p, b);
                }
                None => {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    };
    let paths: Vec<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
    let commit = match repo.commit_paths(&paths, message) {
        Ok(c) => c,
        Err(e) => {
            restore(&old);
            return Err(e);
        }
    };
    if before.as_deref() == Some(commit.as_str()) {
        return Ok(commit);
    }
    if let Err(e) = repo.push("origin", &clone.creds) {
        if let Some(b) = &before {
            let _ = repo.reset_hard(b);
        }
        restore(&old);
        return Err(e);
    }
    Ok(commit)
}

/// Replace the `storage.data` block of project.yaml (every other line is
/// kept), commit `message`, push. Returns the commit.
pub fn set_data_store(clone: &CloneCtx, loc: &model::Location, message: &str) -> Result<String> {
    let p = clone.file(layout::repo::PROJECT_YAML);
    let text = std::fs::read_to_string(&p)
        .map_err(|_| Error::new(Kind::NotFound, format!("No .datom/project.yaml in {}", clone.path.display())))?;
    let new = model::replace_storage_data(&text, loc)?;
    commit_files(clone, &[(layout::repo::PROJECT_YAML.to_string(), new.into_bytes())], message)
}

/// One table's validation row.
pub struct TableCheck {
    pub table: String,
    pub metadata_local: bool,
    pub metadata_store: bool,
    pub history_local: bool,
    pub history_store: bool,
    pub data_store: bool,
}

pub struct Validation {
    pub manifest_local: bool,
    pub manifest_store: bool,
    pub manifest_project: Option<String>,
    pub tables: Vec<TableCheck>,
}

/// Cross-check the clone against storage (reads only).
pub fn validate(project: &Project, clone: &CloneCtx) -> Result<Validation> {
    let local_manifest = clone.read_json(layout::repo::MANIFEST)?;
    let manifest_store = project.store.exists(&project.key(layout::data::MANIFEST))?;
    let mut tables = Vec::new();
    for t in clone_tables(&clone.path)? {
        let meta = clone.read_json(&layout::repo::metadata(&t))?;
        let data_store = match meta.as_ref().and_then(|m| as_str(get(m, "data_sha")).map(|s| s.to_string())) {
            Some(d) => match layout::data::parquet(&t, &d) {
                Ok(k) => project.store.exists(&project.key(&k))?,
                Err(_) => false,
            },
            None => false,
        };
        tables.push(TableCheck {
            metadata_local: meta.is_some(),
            metadata_store: project.store.exists(&project.key(&layout::data::metadata(&t)))?,
            history_local: clone.file(&layout::repo::version_history(&t)).is_file(),
            history_store: project.store.exists(&project.key(&layout::data::version_history(&t)))?,
            data_store,
            table: t,
        });
    }
    Ok(Validation {
        manifest_local: local_manifest.is_some(),
        manifest_store,
        manifest_project: local_manifest.as_ref().and_then(|m| model::as_str(get(m, "project_name")).map(|s| s.to_string())),
        tables,
    })
}

/// `datom_write(conn, name = t)` with no data: re-publish the clone's
/// metadata of one table. Returns (version, changed, commit).
pub fn resync_table(project: &Project, clone: &CloneCtx, table: &str) -> Result<(String, bool, Option<String>)> {
    layout::check_name(table, "name")?;
    let meta = clone
        .read_json(&layout::repo::metadata(table))?
        .ok_or_else(|| Error::new(Kind::NotFound, format!("No metadata found for table {table:?}")))?;
    let (sha, _) = metadata_sha(&meta)?;
    let stored = match project.get_json(&layout::data::metadata(table))? {
        Some(m) => Some(metadata_sha(&m)?.0),
        None => None,
    };
    if stored.as_deref() == Some(sha.as_str()) {
        return Ok((sha, false, None));
    }
    let repo = Repo::open(&clone.path)?;
    let meta_rel = layout::repo::metadata(table);
    let hist_rel = layout::repo::version_history(table);
    let commit = repo
        .commit_paths(&[meta_rel.as_str(), hist_rel.as_str()], &format!("Sync metadata for {table}"))
        .and_then(|c| repo.push("origin", &clone.creds).map(|_| c))
        .map_err(|e| {
            Error::new(e.kind, format!("Git commit/push failed for {table}. Storage sync aborted: {}", e.message))
                .with_hint("Storage was not modified.")
        })?;
    sync_table_metadata(project, clone, table)?;
    Ok((sha, true, Some(commit)))
}

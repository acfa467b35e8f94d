//! Collaboration on a data clone: clone, pull (fetch + fast-forward),
//! status, the data-side metadata re-sync, and validation against storage.

use super::{CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::git::{Creds, Repo};
use crate::identity::canon::metadata_sha;
use crate::layout;
use crate::model::{self, as_str, elements, get, members};
use std::path::Path;

/// Clone a project's data repo into an absent or empty `path`.
/// Can the data clone at `path` reach its `origin` with `creds`? (connect)
pub fn check_remote(path: &Path, creds: &Creds) -> Result<()> {
    Repo::open(path)?.check_remote("origin", creds)
}

pub fn clone_repo(url: &str, path: &Path, creds: &Creds, branch: Option<&str>) -> Result<()> {
    if path.exists() && std::fs::read_dir(path).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Error::new(
            Kind::Conflict,
            format!("Target directory {} already exists and is not empty", path.display()),
        )
        .with_hint("Use an empty or non-existent directory."));
    }
    Repo::clone_branch(url, path, creds, branch).map_err(|e| {
        let hint = e.hint.clone().unwrap_or_else(|| "Check the data_repo_url and your credentials.".into());
        Error::new(e.kind, format!("Failed to clone {}: {}", crate::git::redact(url), e.message)).with_hint(hint)
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

/// The governance clone of a joining engineer: cloned when absent, its
/// remote checked when present. A present clone with uncommitted changes
/// refuses before anything is fetched.
pub fn join_gov(url: &str, path: &Path, creds: &Creds) -> Result<()> {
    if path.join(".git").exists() && !Repo::open(path)?.uncommitted()?.is_empty() {
        return Err(Error::new(
            Kind::Conflict,
            format!("Gov clone at {} has uncommitted changes; commit or stash before cloning.", path.display()),
        ));
    }
    super::gov::ensure_clone(url, path, creds).map(|_| ())
}

/// The structural sub-checks of `is_valid_datom_repo()` (no network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoChecks {
    pub git: bool,
    pub datom: bool,
    pub manifest: bool,
    pub renv: bool,
}

impl RepoChecks {
    /// The sub-checks of the groups asked for (`all`, `git`, `datom`,
    /// `renv`), named, in a fixed order.
    pub fn selected(&self, groups: &[&str]) -> Vec<(&'static str, bool)> {
        let all = groups.contains(&"all");
        [("git_initialized", "git", self.git), ("datom_initialized", "datom", self.datom), ("datom_manifest", "datom", self.manifest), ("renv_initialized", "renv", self.renv)]
            .into_iter()
            .filter(|(_, g, _)| all || groups.contains(g))
            .map(|(n, _, v)| (n, v))
            .collect()
    }
}

pub fn repo_checks(path: &Path) -> RepoChecks {
    RepoChecks {
        git: path.join(".git").is_dir(),
        datom: path.join(layout::repo::PROJECT_YAML).exists(),
        manifest: path.join(layout::repo::MANIFEST).exists(),
        renv: path.join("renv").is_dir(),
    }
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

/// Fetch `remote`. A failure reads "Failed to fetch {what}: ..."; a
/// network failure or an interrupt keeps its kind and hint, anything else
/// is a git error with `hint`.
pub(crate) fn fetch(repo: &Repo, remote: &str, creds: &Creds, what: &str, hint: &str) -> Result<()> {
    repo.fetch(remote, creds).map_err(|e| {
        let keep = matches!(e.kind, Kind::Network | Kind::Interrupted);
        let out = Error::new(if keep { e.kind } else { Kind::Git }, format!("Failed to fetch {what}: {}", e.message));
        match (keep, e.hint) {
            (true, Some(h)) => out.with_hint(h),
            _ => out.with_hint(hint),
        }
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
    fetch(&repo, "origin", &clone.creds, "from remote origin", "Check your credentials and remote access.")?;
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

/// The gov clone's refresh of a `datom_pull()` (a connection with a gov
/// clone path): cloned when missing (0 commits), else fetched and
/// fast-forwarded; the commits pulled.
pub fn pull_gov_clone(url: Option<&str>, path: &Path, creds: &Creds) -> Result<usize> {
    let url = url.ok_or_else(no_gov_url)?;
    if !path.exists() {
        super::gov::ensure_clone(url, path, creds)?;
        return Ok(0);
    }
    super::gov::pull(path, creds)
}

fn no_gov_url() -> Error {
    Error::input("The connection has no governance repo URL and clone path to refresh.")
        .with_hint("Rebuild the connection with datom_get_conn() and a store with gov_repo_url and gov_local_path.")
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

/// What the data side of `datom_sync_dispatch()` did.
pub struct DataDispatch {
    /// (table, version id or the failure)
    pub tables: Vec<(String, Result<String>)>,
    pub manifest: Result<()>,
    /// `None` for a project without `.datom/governance.json`.
    pub governance: Option<Result<()>>,
    /// The commit published (origin's head).
    pub commit: String,
    /// Commits of the clone not on origin / of origin not in the clone.
    pub ahead: usize,
    pub behind: usize,
}

/// Fetch origin and name the commit the store must mirror: origin's head
/// (git is the record; a clone that is behind never publishes its older
/// state). Returns (commit, ahead, behind).
pub fn origin_head(repo: &Repo, clone: &CloneCtx) -> Result<(String, usize, usize)> {
    repo.fetch("origin", &clone.creds).map_err(|e| {
        Error::new(e.kind, format!("Failed to fetch from remote origin: {}", e.message)).with_hint("Check your credentials and remote access.")
    })?;
    let head = repo.head_sha().ok_or_else(|| Error::new(Kind::Git, "repository has no commits"))?;
    let target = repo.upstream_sha("origin")?.unwrap_or(head);
    let (ahead, behind) = repo.ahead_behind("origin")?;
    Ok((target, ahead, behind))
}

/// The data side of `datom_sync_dispatch()`: a full publication of
/// origin's head (every table's metadata, history and current snapshot,
/// the manifest, `governance.json`), under the store's publish lock.
pub fn sync_dispatch_data(project: &Project, clone: &CloneCtx) -> Result<DataDispatch> {
    super::write::check_location(project, clone)?;
    let repo = Repo::open(&clone.path)?;
    let (target, ahead, behind) = origin_head(&repo, clone)?;
    let p = super::publish::publish(project, clone, &repo, &target, true)?;
    if p.store_newer {
        return Err(Error::new(Kind::Conflict, "The store holds a newer publication than origin's head")
            .with_hint("Run datom_pull(conn) and retry."));
    }
    let mut tables = Vec::new();
    let mut manifest = Err(Error::new(Kind::NotFound, "The data repo has no .datom/manifest.json"));
    let mut governance = None;
    for m in super::publish::mirrors_at(&repo, &target)? {
        match &m {
            super::publish::Mirror::Metadata(t) => {
                let meta = super::publish::json_at(&repo, &target, &m.repo_path())?.unwrap_or(crate::identity::rvalue::RValue::Null);
                tables.push((t.clone(), metadata_sha(&meta).map(|(s, _)| s)));
            }
            super::publish::Mirror::Manifest => manifest = Ok(()),
            super::publish::Mirror::Governance => governance = Some(Ok(())),
            _ => {}
        }
    }
    tables.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(DataDispatch { tables, manifest, governance, commit: target, ahead, behind })
}

/// The governance side of a `datom_sync_dispatch()`: the gov store (or the
/// failure to open it), the gov repo URL and clone of the connection.
pub struct DispatchGov<'a> {
    pub store: Result<Project>,
    pub url: Option<&'a str>,
    /// `None`: the connection has no gov clone (the files are skipped).
    pub clone: Option<&'a Path>,
}

/// What `datom_sync_dispatch()` tells the user, in order.
#[derive(Debug, PartialEq)]
pub enum DispatchEvent {
    /// A solo project: no governance files.
    NoGovernance,
    /// A governed connection without a gov clone: governance files skipped.
    NoGovClone,
    /// The missing gov clone was cloned first.
    GovCloned(std::path::PathBuf),
    /// The governance side failed as a whole.
    GovFailed(Error),
    /// One governance file (`dispatch.json`, ...) failed.
    GovFileFailed(String, String),
    /// The clone is behind origin (origin's head was published).
    Behind(usize),
    /// The `governance.json` mirror failed.
    GovernanceFailed(String),
    /// One table failed.
    TableFailed(String, String),
    /// The manifest mirror failed.
    ManifestFailed(String),
}

/// The outcome of `datom_sync_dispatch()`.
pub struct Dispatch {
    pub events: Vec<DispatchEvent>,
    /// The repo-level files synced: the manifest's store key, the
    /// governance repo's files, `governance.json`'s store key.
    pub repo_files: Vec<String>,
    /// Per table: the store keys written, or the failure.
    pub tables: Vec<(String, std::result::Result<Vec<String>, String>)>,
    /// The error that stopped the data side (the events before it stand).
    pub failed: Option<Error>,
}

impl Dispatch {
    /// (tables synced, tables failed)
    pub fn counts(&self) -> (usize, usize) {
        let failed = self.tables.iter().filter(|(_, r)| r.is_err()).count();
        (self.tables.len() - failed, failed)
    }
}

/// `datom_sync_dispatch()`: the governance files first (the project is
/// registered again when the register lacks it; each failure is reported
/// and the rest goes on), then a full publication of origin's head
/// ([`sync_dispatch_data`]).
pub fn sync_dispatch(project: &Project, clone: &CloneCtx, gov: Option<DispatchGov<'_>>) -> Dispatch {
    let mut out = Dispatch { events: Vec::new(), repo_files: Vec::new(), tables: Vec::new(), failed: None };
    let mut gov_files = Vec::new();
    match gov {
        None => out.events.push(DispatchEvent::NoGovernance),
        Some(DispatchGov { clone: None, .. }) => out.events.push(DispatchEvent::NoGovClone),
        Some(DispatchGov { store, url, clone: Some(gov_clone) }) => {
            match sync_dispatch_gov(project, clone, store, url, gov_clone, &mut out.events) {
                Err(e) => out.events.push(DispatchEvent::GovFailed(e)),
                Ok(files) => {
                    for (f, r) in files {
                        match r {
                            Ok(()) => gov_files.push(layout::gov::repo_file(&project.name, &f)),
                            Err(e) => out.events.push(DispatchEvent::GovFileFailed(f, e.message)),
                        }
                    }
                }
            }
        }
    }
    let d = match sync_dispatch_data(project, clone) {
        Ok(d) => d,
        Err(e) => {
            out.failed = Some(e);
            return out;
        }
    };
    if d.behind > 0 {
        out.events.push(DispatchEvent::Behind(d.behind));
    }
    match d.governance {
        Some(Err(e)) => out.events.push(DispatchEvent::GovernanceFailed(e.message)),
        Some(Ok(())) => gov_files.push(layout::data::GOVERNANCE.to_string()),
        None => {}
    }
    for (t, r) in d.tables {
        let r = match r {
            Ok(sha) => layout::data::snapshot(&t, &sha).map(|snap| vec![layout::data::metadata(&t), layout::data::version_history(&t), snap]),
            Err(e) => Err(e),
        };
        match r {
            Ok(keys) => out.tables.push((t, Ok(keys))),
            Err(e) => {
                out.events.push(DispatchEvent::TableFailed(t.clone(), e.message.clone()));
                out.tables.push((t, Err(e.message)));
            }
        }
    }
    match d.manifest {
        Ok(()) => out.repo_files.push(layout::data::MANIFEST.to_string()),
        Err(e) => out.events.push(DispatchEvent::ManifestFailed(e.message)),
    }
    out.repo_files.extend(gov_files);
    out
}

/// The governance files of a dispatch: clone the gov repo when its clone
/// is missing, then `gov::sync_dispatch`.
fn sync_dispatch_gov(
    project: &Project,
    clone: &CloneCtx,
    store: Result<Project>,
    url: Option<&str>,
    gov_clone: &Path,
    events: &mut Vec<DispatchEvent>,
) -> Result<Vec<(String, Result<()>)>> {
    let store = store?;
    let url = url.ok_or_else(no_gov_url)?;
    if !gov_clone.exists() {
        super::gov::ensure_clone(url, gov_clone, &clone.creds)?;
        events.push(DispatchEvent::GovCloned(gov_clone.to_path_buf()));
    }
    let data = project.location.as_ref().ok_or_else(|| Error::internal("the project has no data location"))?;
    let g = super::gov::Gov { clone: gov_clone, url, creds: &clone.creds, store: &store };
    super::gov::sync_dispatch(&g, &project.name, data)
}

/// Fetch `origin` and count commits (ahead, behind) of the data clone;
/// nothing in the working tree changes.
pub fn behind(clone: &CloneCtx) -> Result<(usize, usize)> {
    let repo = Repo::open(&clone.path)?;
    fetch(&repo, "origin", &clone.creds, "from remote origin", "Check your credentials and remote access.")?;
    repo.ahead_behind("origin")
}

/// Write files of the data clone, commit them with `message` and push
/// (rules of API 1.9). The commit is made from the bytes (the working tree
/// is untouched until the push is through): a failed push moves the branch
/// back and the clone is exactly as it was; nothing but `files` is ever
/// touched. Returns the commit (the current HEAD when nothing changed).
pub fn commit_files(clone: &CloneCtx, files: &[(String, Vec<u8>)], message: &str) -> Result<String> {
    let _lock = super::write::lock_clone(clone)?;
    let repo = Repo::open(&clone.path)?;
    let paths: Vec<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
    super::write::prepare_clone(&repo, &paths)?;
    let before = repo.head_sha().ok_or_else(|| Error::new(Kind::Git, "repository has no commits"))?;
    let bytes: Vec<(&str, Option<&[u8]>)> = files.iter().map(|(r, b)| (r.as_str(), Some(b.as_slice()))).collect();
    let Some(commit) = repo.commit_bytes(&bytes, message)? else {
        return Ok(before);
    };
    super::write::push_or_undo(&repo, "origin", &clone.creds, "", Some(&before), super::write::Undo::Branch)?;
    repo.checkout_paths(&paths)?;
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
    /// `ok`, or what is wrong, comma-separated: the missing mirrors and
    /// object first (`metadata_missing_s3`, `history_missing_s3`,
    /// `data_missing_s3`), then the kinds of the table's other error
    /// problems (those a missing file already explains left out).
    pub status: String,
}

impl TableCheck {
    fn set_status(&mut self, problems: &[Problem]) {
        let mut k: Vec<&str> = Vec::new();
        for (missing, what) in [(!self.metadata_store, "metadata_missing_s3"), (!self.history_store, "history_missing_s3"), (!self.data_store, "data_missing_s3")] {
            if missing {
                k.push(what);
            }
        }
        let mirror_missing = !self.metadata_store || !self.history_store;
        for p in problems.iter().filter(|p| p.severity == "error" && p.table.as_deref() == Some(self.table.as_str())) {
            let explained = (mirror_missing && matches!(p.kind, "missing_mirror" | "unpublished_version")) || (!self.data_store && p.kind == "missing_object");
            if !explained && !k.contains(&p.kind) {
                k.push(p.kind);
            }
        }
        self.status = if k.is_empty() { "ok".to_string() } else { k.join(",") };
    }
}

/// One thing wrong between the record (origin's head) and the store, or in
/// the clone.
#[derive(Debug, Clone)]
pub struct Problem {
    /// `missing_object`, `corrupt_object`, `missing_mirror`, `stale_mirror`,
    /// `unpublished_version`, `orphan_object`, `unpushed_commit`,
    /// `clone_behind`, `uncommitted_change`, `unpublished_commit`,
    /// `moved_location`, `unfinished_upload`
    pub kind: &'static str,
    /// `error` (the record and the store disagree), `warning` (nothing
    /// disagrees, but something needs cleaning up) or `info`.
    pub severity: &'static str,
    pub table: Option<String>,
    pub version: Option<String>,
    pub detail: String,
    /// The exact call that repairs it.
    pub repair: String,
}

pub struct Validation {
    pub manifest_local: bool,
    pub manifest_store: bool,
    pub manifest_project: Option<String>,
    pub tables: Vec<TableCheck>,
    pub problems: Vec<Problem>,
    /// origin's head: what the store must mirror.
    pub commit: String,
    /// The commit the store says it mirrors.
    pub published: Option<String>,
}

const FIX: &str = "datom_validate(conn, fix = TRUE)";

fn add(v: &mut Vec<Problem>, kind: &'static str, severity: &'static str, table: Option<&str>, version: Option<&str>, detail: String, repair: String) {
    v.push(Problem { kind, severity, table: table.map(str::to_string), version: version.map(str::to_string), detail, repair })
}

fn same(a: &crate::identity::rvalue::RValue, b: &crate::identity::rvalue::RValue) -> bool {
    model::json_text(a, false) == model::json_text(b, false)
}

/// Compare the store with origin's head (fetched first), by content: every
/// mirror parsed and compared with its file in git; every version of every
/// history has its object (`deep`: and the object's bytes hash to its
/// `parquet_sha`); objects no version names; the clone's own state.
pub fn validate(project: &Project, clone: &CloneCtx, deep: bool) -> Result<Validation> {
    use super::publish::{json_at, marker, mirrors_at, Mirror};
    let repo = Repo::open(&clone.path)?;
    let (target, ahead, behind) = origin_head(&repo, clone)?;
    let mut problems = Vec::new();
    if ahead > 0 {
        add(&mut problems, "unpushed_commit", "error", None, None, format!("{ahead} commit(s) of the clone are not on origin"),
          "Re-run the datom_write() that was interrupted (it pushes and publishes), or push with git".to_string());
    }
    if behind > 0 {
        add(&mut problems, "clone_behind", "info", None, None, format!("The clone is {behind} commit(s) behind origin"), "datom_pull(conn)".to_string());
    }
    if let Some(loc) = &project.location {
        if let Some(text) = repo.read_at(&target, layout::repo::PROJECT_YAML)? {
            let cfg = model::ProjectConfig::from_yaml(&String::from_utf8_lossy(&text))?;
            if !cfg.data.same_place(loc) {
                let frozen = super::publish::moved_to(project)?.is_some();
                let repair = if frozen {
                    format!("datom_pull(conn), then rebuild the connection with datom_get_conn() and a store for {}", cfg.data.label())
                } else {
                    format!("Re-run datom_repo_set_data_store(conn, <store for {}>) to complete the migration, then rebuild the connection", cfg.data.label())
                };
                add(&mut problems, "moved_location", "error", None, None,
                  format!("The data repo says the data lives at {}; this connection uses {}{}", cfg.data.label(), loc.label(),
                    if frozen { " (frozen by the migration)" } else { " (not frozen yet: the migration did not complete)" }),
                  repair);
            }
        }
    }
    let mut own: Vec<String> = vec![layout::repo::MANIFEST.to_string()];
    for t in clone_tables(&clone.path)? {
        own.push(layout::repo::metadata(&t));
        own.push(layout::repo::version_history(&t));
    }
    let own_refs: Vec<&str> = own.iter().map(String::as_str).collect();
    for f in repo.foreign_changes(&own_refs)? {
        add(&mut problems, "uncommitted_change", "error", None, None, format!("{f} has uncommitted changes (datom's own file)"),
          format!("git checkout -- {f} (in the data clone)"));
    }
    let published = marker(project)?;
    let mirrors = mirrors_at(&repo, &target)?;
    let mut tables: Vec<String> = mirrors.iter().filter_map(|m| match m { Mirror::Metadata(t) => Some(t.clone()), _ => None }).collect();
    tables.sort();
    for m in &mirrors {
        let want = json_at(&repo, &target, &m.repo_path())?.unwrap_or(crate::identity::rvalue::RValue::Null);
        let have = project.get_json(&m.store_key()).ok().flatten();
        let key = m.store_key();
        match (&have, m) {
            (None, _) => add(&mut problems, "missing_mirror", "error", m.table(), None, format!("{key} is missing from the store"), FIX.to_string()),
            (Some(h), Mirror::Metadata(t)) if !same(h, &want) => {
                let v = metadata_sha(&want).map(|x| x.0).unwrap_or_default();
                add(&mut problems, "unpublished_version", "error", Some(t), Some(&v),
                  format!("The store's current version of {t} is not origin's ({})", &v[..v.len().min(12)]), FIX.to_string())
            }
            (Some(h), _) if !same(h, &want) => add(&mut problems, "stale_mirror", "error", m.table(), None, format!("{key} differs from the data repo"), FIX.to_string()),
            _ => {}
        }
        if let Mirror::Metadata(t) = m {
            let want_log = super::publish::current_log(project, &repo, t, None, &target)?;
            let key = layout::data::current_log(t);
            match project.get_json(&key).ok().flatten() {
                None => add(&mut problems, "missing_mirror", "error", Some(t), None, format!("{key} is missing from the store"), FIX.to_string()),
                Some(h) if !same(&h, &want_log) => add(&mut problems, "stale_mirror", "error", Some(t), None, format!("{key} differs from the data repo's commits"), FIX.to_string()),
                _ => {}
            }
            if let Ok((v, _)) = metadata_sha(&want) {
                let snap = layout::data::snapshot(t, &v)?;
                match project.get_json(&snap).ok().flatten() {
                    None => add(&mut problems, "missing_mirror", "error", Some(t), Some(&v), format!("{snap} is missing from the store"), FIX.to_string()),
                    Some(h) if !same(&h, &want) => add(&mut problems, "stale_mirror", "error", Some(t), Some(&v), format!("{snap} differs from the data repo"), FIX.to_string()),
                    _ => {}
                }
            }
        }
    }
    if published.as_deref() != Some(target.as_str()) && !problems.iter().any(|x| x.severity == "error" && x.kind != "unpushed_commit" && x.kind != "uncommitted_change") {
        add(&mut problems, "unpublished_commit", "info", None, None,
          format!("The store's publication marker is {} (origin is at {})", published.as_deref().map(|s| &s[..12]).unwrap_or("absent"), &target[..12]),
          FIX.to_string());
    }
    // Objects: every version of every history.
    let mut checks = Vec::new();
    for t in &tables {
        let hist = json_at(&repo, &target, &layout::repo::version_history(t))?.unwrap_or_else(|| crate::identity::rvalue::RValue::unnamed(vec![]));
        let prefix = format!("{}/", project.key(t));
        let objects: std::collections::HashMap<String, u64> = project
            .store
            .list(&prefix)?
            .into_iter()
            .filter_map(|o| {
                let rel = o.key.strip_prefix(&prefix)?.to_string();
                (!rel.contains('/') && rel.ends_with(".parquet")).then_some((rel, o.size))
            })
            .collect();
        let mut named = std::collections::HashSet::new();
        for e in elements(&hist) {
            let (Some(d), v) = (as_str(get(e, "data_sha")), as_str(get(e, "version")).unwrap_or("")) else { continue };
            let file = format!("{d}.parquet");
            named.insert(file.clone());
            if !objects.contains_key(&file) {
                add(&mut problems, "missing_object", "error", Some(t), Some(v),
                  format!("The object of version {} of {t} (data_sha {}) is missing from the store", &v[..v.len().min(12)], &d[..d.len().min(12)]),
                  format!("Re-run the datom_write(conn, <data>, \"{t}\") that wrote version {} (the same data frame uploads it)", &v[..v.len().min(12)]));
            } else if deep {
                if let Some(ps) = as_str(get(e, "parquet_sha")).filter(|s| !s.is_empty()) {
                    let bytes = project.store.get(&project.key(&layout::data::parquet(t, d)?))?;
                    let got = crate::identity::sha256_hex(&bytes);
                    if got != ps {
                        add(&mut problems, "corrupt_object", "error", Some(t), Some(v),
                          format!("The object {t}/{d}.parquet hashes to {} but version {} records {}", &got[..12], &v[..v.len().min(12)], &ps[..ps.len().min(12)]),
                          format!("Delete {t}/{}.parquet with datom_storage_delete_prefix() only if you hold the original data, then re-run its datom_write()", &d[..12.min(d.len())]));
                    }
                }
            }
        }
        for (f, _) in &objects {
            if !named.contains(f) {
                add(&mut problems, "orphan_object", "info", Some(t), None,
                  format!("{t}/{f} is named by no version (a write that did not get through its push)"),
                  "Nothing to repair: re-running that write reuses it".to_string());
            }
        }
        let cur = json_at(&repo, &target, &layout::repo::metadata(t))?;
        let data_store = cur
            .as_ref()
            .and_then(|m| as_str(get(m, "data_sha")))
            .map(|d| objects.contains_key(&format!("{d}.parquet")))
            .unwrap_or(false);
        checks.push(TableCheck {
            metadata_local: clone.file(&layout::repo::metadata(t)).is_file(),
            metadata_store: project.store.exists(&project.key(&layout::data::metadata(t)))?,
            history_local: clone.file(&layout::repo::version_history(t)).is_file(),
            history_store: project.store.exists(&project.key(&layout::data::version_history(t)))?,
            data_store,
            table: t.clone(),
            status: String::new(),
        });
    }
    // what killed writes left in the store (invisible, but they take space)
    for u in super::leftovers::scan(project, super::leftovers::stale_after())? {
        let (severity, repair) = if u.stale {
            ("warning", FIX.to_string())
        } else {
            ("info", "Nothing while a write is running; a killed write's is removed by datom_validate(conn, fix = TRUE) once older than DATOM_STALE_UPLOAD seconds (24 hours)".to_string())
        };
        add(&mut problems, "unfinished_upload", severity, u.table.as_deref(), None, super::leftovers::describe(&u), repair);
    }
    for c in &mut checks {
        c.set_status(&problems);
    }
    let local_manifest = clone.read_json(layout::repo::MANIFEST)?;
    Ok(Validation {
        manifest_local: local_manifest.is_some(),
        manifest_store: project.store.exists(&project.key(layout::data::MANIFEST))?,
        manifest_project: local_manifest.as_ref().and_then(|m| model::as_str(get(m, "project_name")).map(|s| s.to_string())),
        tables: checks,
        problems,
        commit: target,
        published,
    })
}

/// A repo-level file of a validation: the manifest, and each governance
/// file of a governed project.
#[derive(Debug, PartialEq)]
pub struct RepoFile {
    pub file: String,
    /// In the clone (`None`: no gov clone to look in).
    pub local: Option<bool>,
    pub store: bool,
    /// `ok`, `missing_s3`, `missing_local` or `stale_s3`.
    pub status: &'static str,
}

/// What `datom_validate()` reports: the validation, the repo-level files
/// and the project-name check.
pub struct Report {
    pub validation: Validation,
    pub repo_files: Vec<RepoFile>,
    /// The governance files' problems (kept apart from the data side's).
    pub gov_problems: Vec<Problem>,
    /// The project name the clone's manifest records when it is not the
    /// connection's (a namespace collision).
    pub name_mismatch: Option<String>,
}

impl Report {
    /// Error problems: (repo-level, table-level).
    pub fn issues(&self) -> (usize, usize) {
        let errors = self.validation.problems.iter().chain(&self.gov_problems).filter(|p| p.severity == "error");
        errors.fold((0, 0), |(r, t), p| if p.table.is_some() { (r, t + 1) } else { (r + 1, t) })
    }
    /// No error problem and no name mismatch (warnings and infos do not count).
    pub fn valid(&self) -> bool {
        self.issues() == (0, 0) && self.name_mismatch.is_none()
    }
}

const DISPATCH: &str = "datom_sync_dispatch(conn, .confirm = FALSE)";

/// The status of a governance file (in the gov clone, in the gov store,
/// equal by content) and its problem when it is not ok.
pub fn gov_file_check(file: &str, local: Option<bool>, store: bool, same: Option<bool>) -> (RepoFile, Option<Problem>) {
    let (status, what, repair) = if !store {
        ("missing_s3", "is missing from the governance store", DISPATCH)
    } else if local == Some(false) {
        ("missing_local", "is missing from the governance clone", "datom_pull_gov(conn)")
    } else if same == Some(false) {
        ("stale_s3", "in the governance store differs from the governance repo", DISPATCH)
    } else {
        ("ok", "", "")
    };
    let problem = (status != "ok").then(|| Problem {
        kind: status,
        severity: "error",
        table: None,
        version: None,
        detail: format!("{file} {what}"),
        repair: repair.to_string(),
    });
    (RepoFile { file: file.to_string(), local, store, status }, problem)
}

/// `datom_validate()`: [`validate`], then the governance files of a
/// governed project (`gov`: its store and, when the connection has one, its
/// clone) as repo-level files and problems, and the project name the
/// clone's manifest records against the connection's.
pub fn validate_report(project: &Project, clone: &CloneCtx, gov: Option<(&Project, Option<&Path>)>, deep: bool) -> Result<Report> {
    let validation = validate(project, clone, deep)?;
    let manifest = validation.manifest_store;
    let mut repo_files = vec![RepoFile {
        file: layout::repo::MANIFEST.rsplit('/').next().unwrap_or_default().to_string(),
        local: Some(validation.manifest_local),
        store: manifest,
        status: if manifest { "ok" } else { "missing_s3" },
    }];
    let mut gov_problems = Vec::new();
    if let Some((store, gov_clone)) = gov {
        for (f, local, stored, same) in super::gov::mirror_status(store, gov_clone, &project.name)? {
            let (row, problem) = gov_file_check(&f, local, stored, same);
            repo_files.push(row);
            gov_problems.extend(problem);
        }
    }
    let name_mismatch = validation.manifest_project.clone().filter(|m| *m != project.name);
    Ok(Report { validation, repo_files, gov_problems, name_mismatch })
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
    let _lock = super::write::lock_clone(clone)?;
    super::write::check_location(project, clone)?;
    super::publish::check_not_moved(project)?;
    let repo = Repo::open(&clone.path)?;
    let meta_rel = layout::repo::metadata(table);
    let hist_rel = layout::repo::version_history(table);
    let paths = [meta_rel.as_str(), hist_rel.as_str()];
    let before = repo.head_sha();
    let commit = repo
        .commit_paths(&paths, &format!("Sync metadata for {table}"))
        .and_then(|c| {
            super::write::push_or_undo(&repo, "origin", &clone.creds, "", before.as_deref(), super::write::Undo::Staged(&paths)).map(|_| c)
        })
        .map_err(|e| {
            Error::new(e.kind, format!("Git commit/push failed for {table}. Storage sync aborted: {}", e.message))
                .with_hint("Storage was not modified.")
        })?;
    // a full publication of what origin now holds (never an older state)
    let (target, _, _) = origin_head(&repo, clone)?;
    super::publish::publish(project, clone, &repo, &target, true).map_err(super::publish::after_push)?;
    Ok((sha, true, Some(commit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &'static str, severity: &'static str, table: &str) -> Problem {
        Problem { kind, severity, table: Some(table.to_string()), version: None, detail: String::new(), repair: String::new() }
    }

    fn check(table: &str, metadata: bool, history: bool, data: bool) -> TableCheck {
        TableCheck {
            table: table.into(),
            metadata_local: true,
            metadata_store: metadata,
            history_local: true,
            history_store: history,
            data_store: data,
            status: String::new(),
        }
    }

    #[test]
    fn repo_checks_by_group() {
        let c = RepoChecks { git: true, datom: false, manifest: true, renv: false };
        assert_eq!(c.selected(&["git"]), vec![("git_initialized", true)]);
        assert_eq!(c.selected(&["datom"]), vec![("datom_initialized", false), ("datom_manifest", true)]);
        assert_eq!(c.selected(&["all"]).len(), 4);
        assert_eq!(c.selected(&["renv", "git"]), vec![("git_initialized", true), ("renv_initialized", false)]);
    }

    #[test]
    fn a_table_status_names_missing_files_first_and_nothing_twice() {
        let problems = [
            problem("missing_mirror", "error", "ae"),
            problem("unpublished_version", "error", "ae"),
            problem("stale_mirror", "error", "ae"),
            problem("stale_mirror", "error", "ae"),
            problem("missing_object", "error", "dm"),
            problem("orphan_object", "info", "dm"),
            problem("stale_mirror", "error", "lb"),
        ];
        for (mut c, want) in [
            (check("ae", false, true, true), "metadata_missing_s3,stale_mirror"),
            (check("ae", true, true, true), "missing_mirror,unpublished_version,stale_mirror"),
            (check("dm", true, true, false), "data_missing_s3"),
            (check("dm", true, true, true), "missing_object"),
            (check("lb", true, false, false), "history_missing_s3,data_missing_s3,stale_mirror"),
            (check("vs", true, true, true), "ok"),
        ] {
            c.set_status(&problems);
            assert_eq!(c.status, want, "{}", c.table);
        }
    }

    #[test]
    fn governance_files_status_repair_and_issue_counts() {
        let (row, p) = gov_file_check("ref.json", Some(true), true, Some(true));
        assert_eq!((row.status, p.is_none()), ("ok", true));
        for (local, store, same, status, detail, repair) in [
            (Some(true), false, None, "missing_s3", "dispatch.json is missing from the governance store", DISPATCH),
            (None, false, None, "missing_s3", "dispatch.json is missing from the governance store", DISPATCH),
            (Some(false), true, None, "missing_local", "dispatch.json is missing from the governance clone", "datom_pull_gov(conn)"),
            (Some(true), true, Some(false), "stale_s3", "dispatch.json in the governance store differs from the governance repo", DISPATCH),
            (None, true, None, "ok", "", ""),
        ] {
            let (row, p) = gov_file_check("dispatch.json", local, store, same);
            assert_eq!(row, RepoFile { file: "dispatch.json".into(), local, store, status });
            match p {
                None => assert_eq!(status, "ok"),
                Some(p) => {
                    assert_eq!((p.kind, p.severity, p.table, p.detail.as_str(), p.repair.as_str()), (status, "error", None, detail, repair));
                }
            }
        }
        // only errors count (repo-level: no table); a name mismatch makes it invalid
        let problems = vec![problem("missing_object", "error", "dm"), problem("orphan_object", "info", "dm"), problem("leftover", "warning", "dm")];
        let validation = Validation {
            manifest_local: true,
            manifest_store: true,
            manifest_project: Some("P".into()),
            tables: vec![],
            problems,
            commit: String::new(),
            published: None,
        };
        let gov_problems = vec![gov_file_check("ref.json", Some(true), false, None).1.unwrap()];
        let mut r = Report { validation, repo_files: vec![], gov_problems, name_mismatch: None };
        assert_eq!((r.issues(), r.valid()), ((1, 1), false));
        r.validation.problems.retain(|p| p.severity != "error");
        r.gov_problems.clear();
        assert_eq!((r.issues(), r.valid()), ((0, 0), true));
        r.name_mismatch = Some("OTHER".into());
        assert!(!r.valid());
    }

    /// A project initialised in `d` (local store `d/data`, bare remote) and
    /// registered in a governance repo (clone `d/gov_clone`).
    fn governed(d: &Path, name: &str) -> (Project, CloneCtx, String, Project) {
        let (data, clone, gov_url, _, st) = crate::ops::gov::tests::governed_project(d, name);
        (data, CloneCtx { path: clone, creds: Creds::default() }, gov_url, st)
    }

    #[test]
    fn sync_dispatch_reports_in_order_and_names_full_keys() {
        use DispatchEvent as E;
        let d = crate::testutil::scratch_dir("collab-dispatch");
        let (data, clone, url, _) = governed(&d, "DSP");
        let open = || Ok(crate::ops::gov::gov_store(Box::new(crate::store::local::LocalStore::new(d.join("gov-store"))), None, true, "gov".into()));
        // a solo connection: no governance files; the manifest key first
        let r = sync_dispatch(&data, &clone, None);
        assert!(r.failed.is_none(), "{:?}", r.failed);
        assert_eq!(r.events, vec![E::NoGovernance]);
        assert_eq!(r.repo_files, vec![layout::data::MANIFEST.to_string()]);
        assert_eq!((r.tables.len(), r.counts()), (0, (0, 0)));
        // governed without a gov clone: skipped
        let r = sync_dispatch(&data, &clone, Some(DispatchGov { store: open(), url: Some(&url), clone: None }));
        assert_eq!(r.events, vec![E::NoGovClone]);
        // the gov clone is missing: cloned first, then the three files by their repo paths
        let gov_clone = d.join("gov_clone");
        std::fs::remove_dir_all(&gov_clone).unwrap();
        let r = sync_dispatch(&data, &clone, Some(DispatchGov { store: open(), url: Some(&url), clone: Some(&gov_clone) }));
        assert!(r.failed.is_none(), "{:?}", r.failed);
        assert_eq!(r.events, vec![E::GovCloned(gov_clone.clone())]);
        assert_eq!(
            r.repo_files,
            vec![".metadata/manifest.json", "projects/DSP/dispatch.json", "projects/DSP/ref.json", "projects/DSP/migration_history.json"]
        );
        // no URL: the governance side fails as a whole, the data side goes on
        let r = sync_dispatch(&data, &clone, Some(DispatchGov { store: open(), url: None, clone: Some(&gov_clone) }));
        assert!(matches!(&r.events[..], [E::GovFailed(e)] if e.kind == Kind::Input), "{:?}", r.events);
        assert_eq!(r.repo_files, vec![layout::data::MANIFEST.to_string()]);
        // a data side that cannot start: the events so far stand, the error is returned
        let gone = CloneCtx { path: d.join("nowhere"), creds: Creds::default() };
        let r = sync_dispatch(&data, &gone, None);
        assert_eq!(r.events, vec![E::NoGovernance]);
        assert!(r.failed.is_some() && r.repo_files.is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_pull_refreshes_or_clones_the_gov_clone() {
        let d = crate::testutil::scratch_dir("collab-pullgov");
        let (_, clone, url, _) = governed(&d, "PG");
        let gov_clone = d.join("gov_clone");
        assert_eq!(pull_gov_clone(Some(&url), &gov_clone, &clone.creds).unwrap(), 0);
        let other = d.join("gov_other");
        assert_eq!(pull_gov_clone(Some(&url), &other, &clone.creds).unwrap(), 0);
        assert!(other.join("projects/PG/ref.json").exists());
        // another engineer's registration arrives
        let st = crate::ops::gov::gov_store(Box::new(crate::store::local::LocalStore::new(d.join("gov-store"))), None, true, "gov".into());
        let g = crate::ops::gov::Gov { clone: &other, url: &url, creds: &clone.creds, store: &st };
        let loc = model::Location { kind: "local".into(), root: "/x".into(), prefix: None, region: None };
        crate::ops::gov::register(&g, "PG2", &loc).unwrap();
        assert_eq!(pull_gov_clone(Some(&url), &gov_clone, &clone.creds).unwrap(), 1);
        assert_eq!(pull_gov_clone(None, &gov_clone, &clone.creds).unwrap_err().kind, Kind::Input);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn validate_report_checks_governance_mirrors_and_the_project_name() {
        let d = crate::testutil::scratch_dir("collab-validate");
        let (data, clone, _, st) = governed(&d, "VAL");
        let gov_clone = d.join("gov_clone");
        let r = validate_report(&data, &clone, Some((&st, Some(&gov_clone))), false).unwrap();
        let files: Vec<(&str, &str)> = r.repo_files.iter().map(|f| (f.file.as_str(), f.status)).collect();
        assert_eq!(files, vec![("manifest.json", "ok"), ("dispatch.json", "ok"), ("ref.json", "ok"), ("migration_history.json", "ok")]);
        assert!(r.valid() && r.name_mismatch.is_none(), "{:?}", r.validation.problems);
        // a mirror deleted from the gov store; a file deleted from the gov clone
        st.store.delete(&st.key(&layout::gov::dispatch("VAL"))).unwrap();
        std::fs::remove_file(gov_clone.join("projects/VAL/ref.json")).unwrap();
        let r = validate_report(&data, &clone, Some((&st, Some(&gov_clone))), false).unwrap();
        let files: Vec<&str> = r.repo_files.iter().map(|f| f.status).collect();
        assert_eq!(files, vec!["ok", "missing_s3", "missing_local", "ok"]);
        let kinds: Vec<&str> = r.gov_problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, vec!["missing_s3", "missing_local"]);
        assert!(!r.validation.problems.iter().any(|p| p.severity == "error"), "{:?}", r.validation.problems);
        assert_eq!((r.issues(), r.valid()), ((2, 0), false));
        // no governance: the manifest only; another project's name in the manifest
        let mut other = Project::new("OTHER", Box::new(crate::store::local::LocalStore::new(d.join("data"))), None, true, "data".into());
        other.location = data.location.clone();
        let r = validate_report(&other, &clone, None, false).unwrap();
        assert_eq!(r.repo_files.len(), 1);
        assert_eq!(r.name_mismatch.as_deref(), Some("VAL"));
        assert!(!r.valid());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn repo_checks_and_a_dirty_gov_clone() {
        let d = crate::testutil::scratch_dir("collab-checks");
        assert_eq!(repo_checks(&d), RepoChecks { git: false, datom: false, manifest: false, renv: false });
        let repo = Repo::init(&d).unwrap();
        std::fs::create_dir_all(d.join(".datom")).unwrap();
        std::fs::write(d.join(layout::repo::PROJECT_YAML), "x").unwrap();
        assert_eq!(repo_checks(&d), RepoChecks { git: true, datom: true, manifest: false, renv: false });
        // a gov clone with a change of the user's is never touched
        let e = join_gov("file:///nowhere.git", &d, &Creds::default()).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert!(e.message.contains("uncommitted changes"), "{}", e.message);
        drop(repo);
    }
}

//! `datom_write()`: the state machine of dev/spec/FORMATS.md 7 — local, then git,
//! then storage. A rejected push undoes the local commit and uploads nothing.

use super::{publish, CloneCtx, Project};
use crate::failpoint;
use crate::runtime::progress;
use crate::column::NamedColumn;
use crate::error::{Error, Kind, Result};
use crate::git::{Creds, Repo};
use crate::identity::canon::metadata_sha;
use crate::identity::rvalue::RValue;
use crate::identity::{hash_table, HASH_ALGO};
use crate::layout;
use crate::model::{self, as_str, elements, get};
use crate::store::Staged;
use crate::table::{write_parquet, write_parquet_into};

/// An encoded object: its bytes when they are held in memory (none when
/// staged in the store), SHA-256 and size.
struct Encoded {
    bytes: Option<Vec<u8>>,
    parquet_sha: String,
    len: u64,
}

/// Everything a write needs besides the project and the clone.
pub struct WriteRequest<'a> {
    pub name: &'a str,
    pub columns: &'a [NamedColumn<'a>],
    pub nrow: usize,
    pub df_class: Option<&'a [String]>,
    pub custom: Option<RValue>,
    /// Trimmed parent records (`{source, table, version, data_sha}`), when given.
    pub parents: Option<RValue>,
    pub source_lineage: Option<RValue>,
    pub table_type: &'a str,
    pub original_file_sha: Option<&'a str>,
    pub original_format: Option<&'a str>,
    pub message: &'a str,
    pub datom_version: &'a str,
    pub threads: usize,
}

/// The commit message of a write of table `name` that gives none.
pub fn default_message(name: &str) -> String {
    format!("Update {name}")
}

/// A table is "derived" (computed in R) or "imported" (from an original file).
pub fn check_table_type(table_type: &str) -> Result<()> {
    match table_type {
        "derived" | "imported" => Ok(()),
        _ => Err(Error::input("`.table_type` must be \"derived\" or \"imported\".")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    MetadataOnly,
    Full,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::None => "none",
            Action::MetadataOnly => "metadata_only",
            Action::Full => "full",
        }
    }
}

#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub data_sha: String,
    pub metadata_sha: String,
    pub action: Action,
    pub commit_sha: Option<String>,
    pub uploaded: bool,
    pub size_bytes: f64,
    /// For an unchanged version: what an interrupted earlier write had left
    /// undone and this one completed.
    pub completed: Vec<&'static str>,
}

/// The metadata object of 8.6, in its key order. `parquet_sha` is inserted
/// after `hash_algo` when known.
fn build_metadata(
    req: &WriteRequest<'_>,
    data_sha: &str,
    column_hashes: &[(String, String)],
    parquet_sha: Option<&str>,
    size_bytes: f64,
    created_at: &str,
) -> RValue {
    let mut pairs: Vec<(&str, RValue)> = vec![("data_sha", RValue::str(data_sha)), ("hash_algo", RValue::str(HASH_ALGO))];
    if let Some(p) = parquet_sha {
        pairs.push(("parquet_sha", RValue::str(p)));
    }
    pairs.push(("table_type", RValue::str(req.table_type)));
    pairs.push(("nrow", count(req.nrow)));
    pairs.push(("ncol", count(req.columns.len())));
    pairs.push(("colnames", RValue::Character(req.columns.iter().map(|c| Some(c.name.clone())).collect())));
    pairs.push((
        "column_hashes",
        RValue::unnamed(
            column_hashes
                .iter()
                .map(|(n, s)| RValue::named(vec![("name", RValue::str(n)), ("sha", RValue::str(s))]))
                .collect(),
        ),
    ));
    pairs.push(("created_at", RValue::str(created_at)));
    pairs.push(("datom_version", RValue::str(req.datom_version)));
    if let Some(o) = req.original_file_sha {
        pairs.push(("original_file_sha", RValue::str(o)));
    }
    if let Some(p) = &req.parents {
        pairs.push(("parents", p.clone()));
    }
    if let Some(l) = &req.source_lineage {
        pairs.push(("source_lineage", fill_self_lineage(l, data_sha)));
    }
    pairs.push(("size_bytes", RValue::dbl(size_bytes)));
    if let Some(c) = &req.custom {
        pairs.push(("custom", c.clone()));
    }
    RValue::named(pairs)
}

fn count(n: usize) -> RValue {
    if n <= i32::MAX as usize {
        RValue::int(n as i32)
    } else {
        RValue::dbl(n as f64)
    }
}

/// The clone's writer lock (`.git/datom.lock`): one datom process writes
/// through a clone at a time; another waits (`DATOM_LOCK_WAIT`), then gets
/// `Kind::Busy`. A lock left by a killed process is broken. Re-entrant
/// within the process: a flow holding it (a migration) may call another
/// that takes it (its commit of project.yaml).
pub struct CloneLock {
    key: std::path::PathBuf,
    _held: Option<crate::store::StoreLock<'static>>,
}

static HELD: std::sync::Mutex<Vec<(std::path::PathBuf, usize)>> = std::sync::Mutex::new(Vec::new());

impl Drop for CloneLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = held.iter().position(|(p, _)| p == &self.key) {
            held[i].1 -= 1;
            if held[i].1 == 0 {
                held.remove(i);
            }
        }
        // `_held` (the file lock) is released after this, when it is ours
    }
}

pub fn lock_clone(clone: &CloneCtx) -> Result<CloneLock> {
    let git_dir = clone.path.join(".git");
    if !git_dir.is_dir() {
        return Err(Error::new(Kind::Git, format!("{} is not a git clone", clone.path.display())));
    }
    let key = std::fs::canonicalize(&git_dir).unwrap_or(git_dir.clone());
    {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = held.iter_mut().find(|(p, _)| p == &key) {
            e.1 += 1;
            return Ok(CloneLock { key, _held: None });
        }
    }
    let store: &'static crate::store::local::LocalStore = Box::leak(Box::new(crate::store::local::LocalStore::new(&git_dir)));
    let lock = crate::store::acquire_lock(store, "datom.lock", "The data clone", crate::store::lock_wait(), std::time::Duration::from_secs(24 * 3600))?;
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push((key.clone(), 1));
    Ok(CloneLock { key, _held: Some(lock) })
}

/// How [`push_or_undo`] takes back a commit whose push did not go through.
pub(crate) enum Undo<'a> {
    /// The commit was made from bytes (the index and working tree never
    /// saw it): the branch moves back.
    Branch,
    /// The commit was made from the working tree's `paths`: the branch
    /// moves back and their index entries with it; the working tree keeps
    /// its changes.
    Staged(&'a [&'a str]),
    /// The commit is the flow's own change (nothing of the user's): the
    /// index and working tree go back too (an unborn branch is emptied),
    /// and those of the added `paths` that are then untracked are deleted.
    Hard(&'a [&'a str]),
}

/// The one "commit, push, undo on failure" step of every flow that changes
/// a git repository (a write, the clone's own files, a metadata re-sync,
/// the governance repo): `before` is HEAD before the flow committed.
/// The failpoint `step` (`""`: none) is hit before the push; when it or
/// the push fails the commit is taken back (see [`Undo`]) and the failure
/// is returned, the repository as it was. An undo that fails too returns
/// its own error: the repository is then not as it was.
pub(crate) fn push_or_undo(repo: &Repo, remote: &str, creds: &Creds, step: &str, before: Option<&str>, undo: Undo<'_>) -> Result<()> {
    let pushed = if step.is_empty() { Ok(()) } else { failpoint::hit(step) };
    let Err(e) = pushed.and_then(|_| repo.push(remote, creds)) else { return Ok(()) };
    let undone = match (before, &undo) {
        (Some(b), Undo::Branch) => repo.move_branch(b),
        (Some(b), Undo::Staged(paths)) => repo.move_branch(b).and_then(|_| repo.unstage(b, paths)),
        (Some(b), Undo::Hard(_)) => repo.reset_hard(b),
        (None, _) => repo.unborn_reset(),
    };
    if let (Undo::Hard(added), Ok(wd)) = (&undo, repo.workdir()) {
        for p in added.iter() {
            let f = wd.join(p);
            if f.exists() && !repo.is_tracked(p) {
                let _ = std::fs::remove_file(&f);
            }
        }
    }
    undone?;
    Err(e)
}

/// Before a flow changes datom's files of the clone: an interrupted datom
/// update of them is completed; any other change (the user's) refuses the
/// flow before anything happens.
pub fn prepare_clone(repo: &Repo, paths: &[&str]) -> Result<()> {
    let foreign = repo.foreign_changes(paths)?;
    if !foreign.is_empty() {
        return Err(Error::new(
            Kind::Conflict,
            format!("The data clone has uncommitted changes to datom's files: {}", foreign.join(", ")),
        )
        .with_hint("datom writes these files itself: commit or discard your changes to them (git checkout -- <file>), then retry."));
    }
    if !repo.dirty_of(paths)?.is_empty() {
        repo.checkout_paths(paths)?;
    }
    Ok(())
}

/// The conn must write where the clone's project.yaml says the data lives:
/// after a migration, a clone that pulled refuses to write to the old place.
pub fn check_location(project: &Project, clone: &CloneCtx) -> Result<()> {
    let Some(loc) = &project.location else { return Ok(()) };
    let cfg = super::read_config(&clone.path)?;
    if !cfg.data.same_place(loc) {
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "Data location changed: the data repo says {} lives at {}, this connection writes to {}",
                project.name,
                cfg.data.label(),
                loc.label()
            ),
        )
        .with_hint("Run datom_pull(conn), then rebuild the connection with datom_get_conn() and a store for the new location."));
    }
    Ok(())
}

/// The write-time error when a governed project's `ref.json` cannot be read.
pub fn ref_unreadable(why: &str) -> Error {
    Error::new(
        Kind::Storage,
        format!("Cannot write: ref.json could not be read from governance store ({why}); writing without a verified location risks orphaning data."),
    )
    .with_hint("Check the governance store credentials, then retry.")
}

/// Write-time guard of a governed project, checked before a write opens its
/// data store: the `ref.json` of project `name`, read from the governance
/// store `gov` (never the clone), must point where the write goes (`loc`).
pub fn check_ref(name: &str, loc: &model::Location, gov: &Project) -> Result<()> {
    let r = match super::gov::read_ref_store(gov, name) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(ref_unreadable("not found")),
        Err(e) => return Err(ref_unreadable(&e.message)),
    };
    if !r.current.same_place(loc) {
        let prefix = |p: &Option<String>| p.clone().unwrap_or_else(|| "(none)".into());
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "Data location changed since connection was created: ref.json says {} (prefix {}), the connection writes to {} (prefix {}).",
                r.current.root,
                prefix(&r.current.prefix),
                loc.root,
                prefix(&loc.prefix)
            ),
        )
        .with_hint("Run datom_pull(conn), then rebuild the connection with datom_get_conn()."));
    }
    Ok(())
}

/// Write a table version. `author` is the clone's git identity.
///
/// Order (dev/spec/FORMATS.md 7, made crash-consistent): hash; encode; commit the
/// three files from bytes (the working tree is untouched); push (a
/// rejection moves the branch back: the clone and the store are exactly as
/// before); bring the working tree to the commit; upload the parquet object
/// (content-addressed, never replaced); publish the mirrors (a table whose
/// object is not there yet is held back at its readable version). A write whose version is
/// already committed completes whatever is missing (object, push,
/// publication), so re-running a write that failed half-way finishes it.
pub fn write(project: &Project, clone: &CloneCtx, req: &WriteRequest<'_>) -> Result<WriteOutcome> {
    layout::check_name(req.name, "name")?;
    check_table_type(req.table_type)?;
    let name = req.name;
    let created_at = model::now_utc();
    let _flow = progress::flow();
    let _lock = lock_clone(clone)?;
    let repo = Repo::open(&clone.path)?;
    repo.branch()?;
    let meta_rel = layout::repo::metadata(name);
    let hist_rel = layout::repo::version_history(name);
    let paths = [meta_rel.as_str(), hist_rel.as_str(), layout::repo::MANIFEST];
    prepare_clone(&repo, &paths)?;
    check_location(project, clone)?;
    publish::check_not_moved(project)?;

    // 1-2. Hash gate (columns were classified by the binding already).
    let th = {
        let _phase = progress::start(format!("Hashing {name}"), "bytes", 0);
        hash_table(req.columns, req.nrow, req.threads)
    };

    // 4-5. Version id first (size_bytes and parquet_sha are volatile), so an
    // unchanged table returns before anything is encoded. The record is the
    // clone's (git) metadata.
    let probe = build_metadata(req, &th.data_sha, &th.column_hashes, None, 0.0, &created_at);
    let (msha, _) = metadata_sha(&probe)?;
    let current = clone.read_json(&meta_rel)?;
    let action = match &current {
        None => Action::Full,
        Some(cur) => {
            let (cur_sha, _) = metadata_sha(cur)?;
            if cur_sha == msha {
                Action::None
            } else if as_str(get(cur, "data_sha")) == Some(th.data_sha.as_str()) {
                Action::MetadataOnly
            } else {
                Action::Full
            }
        }
    };
    let parquet_key = project.key(&layout::data::parquet(name, &th.data_sha)?);
    if action == Action::None {
        let pinned = current.as_ref().and_then(|c| as_str(get(c, "parquet_sha"))).filter(|s| !s.is_empty()).map(str::to_string);
        let completed = complete(project, clone, &repo, req, &parquet_key, pinned.as_deref())?;
        return Ok(WriteOutcome {
            data_sha: th.data_sha,
            metadata_sha: msha,
            action,
            commit_sha: None,
            uploaded: completed.contains(&"object"),
            size_bytes: 0.0,
            completed,
        });
    }

    // 3. Serialise (a metadata-only change keeps the stored object).
    let hist_local = clone.read_json(&hist_rel)?.unwrap_or_else(|| RValue::unnamed(vec![]));
    // The store takes a new object while it is encoded (a local temporary
    // file; an S3 multipart upload), invisible until it is published after
    // the push; an object the store already has is encoded in memory only
    // (its bytes identify the version, it is never replaced).
    let stored = if action == Action::Full { project.store.exists(&parquet_key)? } else { false };
    let mut staged: Option<Box<dyn Staged>> = None;
    let written = if action == Action::Full {
        let _phase = progress::start(format!("Encoding {name}"), "values", (req.nrow * req.columns.len()) as u64);
        let stage = if stored { None } else { project.store.stage(&parquet_key)? };
        Some(match stage {
            Some(st) => {
                let (st, parquet_sha, len) = write_parquet_into(req.columns, req.nrow, req.df_class, st)?;
                staged = Some(st);
                Encoded { bytes: None, parquet_sha, len }
            }
            None => {
                let w = write_parquet(req.columns, req.nrow, req.df_class)?;
                Encoded { len: w.bytes.len() as u64, bytes: Some(w.bytes), parquet_sha: w.parquet_sha }
            }
        })
    } else {
        None
    };
    let size_bytes = match (&written, &current) {
        (Some(w), _) => w.len as f64,
        (None, Some(c)) => model::as_f64(get(c, "size_bytes")).unwrap_or(0.0),
        (None, None) => 0.0,
    };

    // 6-7. Which object the version names, and whether it must be uploaded
    // (after the push: decision 3). A stored object is never replaced.
    let (parquet_sha, upload): (Option<String>, bool) = match action {
        Action::MetadataOnly => (
            current.as_ref().and_then(|c| as_str(get(c, "parquet_sha"))).filter(|s| !s.is_empty()).map(str::to_string),
            false,
        ),
        _ => {
            let w = written.as_ref().expect("encoded for a full write");
            let pinned = elements(&hist_local).iter().find_map(|e| {
                (as_str(get(e, "data_sha")) == Some(th.data_sha.as_str()))
                    .then(|| as_str(get(e, "parquet_sha")).filter(|s| !s.is_empty()).map(str::to_string))
                    .flatten()
            });
            match (pinned, stored) {
                (Some(p), true) => (Some(p), false),
                // an object no version of this clone names (written by a
                // clone this one has not pulled): kept, its bytes identify it
                (None, true) => (Some(crate::identity::sha256_hex(&project.store.get(&parquet_key)?)), false),
                // pinned but missing (an earlier upload failed), or new
                (_, false) => (Some(w.parquet_sha.clone()), true),
            }
        }
    };
    let meta = build_metadata(req, &th.data_sha, &th.column_hashes, parquet_sha.as_deref(), size_bytes, &created_at);

    // 8. The three files, as bytes.
    let author = repo.identity();
    let entry = model::HistoryEntry {
        version: &msha,
        data_sha: &th.data_sha,
        timestamp: &created_at,
        author: Some(author),
        commit_message: req.message,
        parquet_sha: parquet_sha.as_deref(),
        original_file_sha: req.original_file_sha,
    };
    let (history, _grew) = model::history_prepend(&hist_local, entry.to_rvalue());
    let mut manifest = clone.read_json(layout::repo::MANIFEST)?.unwrap_or_else(|| model::new_manifest(&project.name, &created_at));
    model::manifest_set_entry(
        &mut manifest,
        name,
        &model::ManifestEntry {
            current_version: &msha,
            current_data_sha: &th.data_sha,
            last_updated: &created_at,
            size_bytes,
            version_count: elements(&history).len(),
            original_file_sha: req.original_file_sha,
            original_format: req.original_format,
        },
        &created_at,
    );
    let texts = [model::json_text(&meta, true), model::json_text(&history, true), model::json_text(&manifest, true)];
    let files: Vec<(&str, Option<&[u8]>)> = paths.iter().zip(&texts).map(|(p, t)| (*p, Some(t.as_bytes()))).collect();

    // 9. Commit and push; a failure before the push is through moves the
    // branch back (the working tree was never touched).
    let push_phase = progress::start(format!("Committing and pushing {name}"), "steps", 0);
    let before = repo.head_sha().ok_or_else(|| Error::new(Kind::Git, "repository has no commits"))?;
    let commit_sha = repo
        .commit_bytes(&files, req.message)?
        .ok_or_else(|| Error::new(Kind::Internal, format!("the new version of {name} changed no file")))?;
    push_or_undo(&repo, "origin", &clone.creds, "write.commit", Some(&before), Undo::Branch)?;

    // 10. The working tree, the object, then the store's mirrors.
    drop(push_phase);
    failpoint::hit("write.push").map_err(publish::after_push)?;
    repo.checkout_paths(&paths).map_err(publish::after_push)?;
    failpoint::hit("write.checkout").map_err(publish::after_push)?;
    if upload {
        match (staged.take(), written.as_ref().and_then(|w| w.bytes.as_deref())) {
            (Some(st), _) => st.publish().map_err(publish::after_push)?,
            (None, Some(bytes)) => project.store.put(&parquet_key, bytes).map_err(publish::after_push)?,
            (None, None) => return Err(publish::after_push(Error::internal("the encoded object was lost before its upload"))),
        }
    }
    drop(staged);
    failpoint::hit("write.upload").map_err(publish::after_push)?;
    let _phase = progress::start(format!("Publishing {name}"), "steps", 0);
    publish::publish(project, clone, &repo, &commit_sha, false).map_err(publish::after_push)?;
    Ok(WriteOutcome {
        data_sha: th.data_sha,
        metadata_sha: msha,
        action,
        commit_sha: Some(commit_sha),
        uploaded: upload,
        size_bytes,
        completed: Vec::new(),
    })
}

/// The version the clone records is the one asked for: complete whatever
/// an earlier, interrupted write left undone. Returns what was completed
/// (`"object"`, `"push"`, `"publication"`).
fn complete(
    project: &Project,
    clone: &CloneCtx,
    repo: &Repo,
    req: &WriteRequest<'_>,
    parquet_key: &str,
    pinned: Option<&str>,
) -> Result<Vec<&'static str>> {
    let mut done = Vec::new();
    if !project.store.exists(parquet_key)? {
        let w = write_parquet(req.columns, req.nrow, req.df_class)?;
        if pinned.is_some_and(|p| p != w.parquet_sha) {
            return Err(Error::new(
                Kind::Integrity,
                format!("The stored object of {} is missing and this data frame does not encode to its recorded bytes", req.name),
            )
            .with_hint("Re-run the write with the data frame exactly as it was first written (same class and column attributes)."));
        }
        project.store.put(parquet_key, &w.bytes)?;
        done.push("object");
    }
    done.extend(finish_push_publish(project, clone, repo)?);
    Ok(done)
}

/// Push a HEAD that origin lacks (fast-forward only) and publish HEAD when
/// the store's marker is behind or holds tables back: the repo-level half
/// of completing an interrupted write.
fn finish_push_publish(project: &Project, clone: &CloneCtx, repo: &Repo) -> Result<Vec<&'static str>> {
    let mut done = Vec::new();
    let head = repo.head_sha().ok_or_else(|| Error::new(Kind::Git, "repository has no commits"))?;
    let upstream = repo.upstream_sha("origin")?;
    if upstream.as_deref() != Some(head.as_str()) && upstream.as_ref().is_none_or(|u| repo.is_ancestor(u, &head).unwrap_or(false)) {
        repo.push("origin", &clone.creds)?;
        done.push("push");
    }
    if publish::marker_state(project)?.is_none_or(|m| m.commit != head || !m.held.is_empty()) {
        let p = publish::publish(project, clone, repo, &head, false)?;
        if p.commit.is_some() {
            done.push("publication");
        }
    }
    Ok(done)
}

/// What interrupted writes left undone, for the callers that re-run them
/// (an import re-run sees its files as unchanged): per table, whether the
/// clone's current version has no object in the store; and whether the
/// repo as a whole is unpushed or unpublished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub missing_object: Vec<bool>,
    pub repo: bool,
}

pub fn unfinished(project: &Project, clone: &CloneCtx, tables: &[String]) -> Result<Unfinished> {
    let repo = Repo::open(&clone.path)?;
    let mut missing_object = Vec::with_capacity(tables.len());
    for t in tables {
        layout::check_name(t, "name")?;
        let sha = clone.read_json(&layout::repo::metadata(t))?.and_then(|m| as_str(get(&m, "data_sha")).map(str::to_string));
        missing_object.push(match sha {
            Some(d) => !project.store.exists(&project.key(&layout::data::parquet(t, &d)?))?,
            None => false,
        });
    }
    let head = repo.head_sha();
    let repo_pending = match head {
        None => false,
        Some(head) => {
            let upstream = repo.upstream_sha("origin")?;
            let ahead = upstream.as_deref() != Some(head.as_str()) && upstream.as_ref().is_none_or(|u| repo.is_ancestor(u, &head).unwrap_or(false));
            ahead || publish::marker_state(project)?.is_none_or(|m| m.commit != head || !m.held.is_empty())
        }
    };
    Ok(Unfinished { missing_object, repo: repo_pending })
}

/// Complete the repo-level half of interrupted writes (push, publication)
/// under the clone lock. Returns what was done.
pub fn finish(project: &Project, clone: &CloneCtx) -> Result<Vec<&'static str>> {
    let _lock = lock_clone(clone)?;
    let repo = Repo::open(&clone.path)?;
    check_location(project, clone)?;
    publish::check_not_moved(project)?;
    finish_push_publish(project, clone, &repo)
}

/// An imported table's self-lineage entry is passed with an empty
/// `version_sha` (the caller does not hash twice): it is the table's own
/// `data_sha`, known here.
fn fill_self_lineage(l: &RValue, data_sha: &str) -> RValue {
    let mut out = l.clone();
    if let RValue::List { values, .. } = &mut out {
        for e in values.iter_mut() {
            if as_str(get(e, "version_sha")) == Some("") {
                crate::model::set(e, "version_sha", RValue::str(data_sha));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_defaults_and_table_types() {
        assert_eq!(default_message("lb"), "Update lb");
        assert!(check_table_type("derived").is_ok());
        assert!(check_table_type("imported").is_ok());
        let e = check_table_type("raw").unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.contains("\"derived\" or \"imported\""));
    }
    use crate::git::ensure_bare;

    /// A clone whose every push is rejected (another clone pushed first),
    /// at commit `c0` with `t.json` committed.
    fn behind_clone(tag: &str) -> (std::path::PathBuf, Repo, String) {
        let d = crate::testutil::scratch_dir(tag);
        let bare = d.join("remote.git");
        ensure_bare(&bare).unwrap();
        let a = Repo::init(&d.join("a")).unwrap();
        a.ensure_identity().unwrap();
        a.set_remote("origin", bare.to_str().unwrap()).unwrap();
        let c0 = a.commit_bytes(&[("t.json", Some(b"0".as_slice()))], "c0").unwrap().unwrap();
        a.push("origin", &Creds::default()).unwrap();
        a.checkout_paths(&["t.json"]).unwrap();
        let b = Repo::clone(bare.to_str().unwrap(), &d.join("b"), &Creds::default()).unwrap();
        b.ensure_identity().unwrap();
        b.commit_bytes(&[("u.json", Some(b"1".as_slice()))], "c1").unwrap().unwrap();
        b.push("origin", &Creds::default()).unwrap();
        (d.join("a"), a, c0)
    }

    fn rejected(repo: &Repo, before: &str, undo: Undo<'_>) {
        let e = push_or_undo(repo, "origin", &Creds::default(), "", Some(before), undo).unwrap_err();
        assert_eq!(e.kind, Kind::PushRejected, "{}", e.message);
        assert_eq!(repo.head_sha().as_deref(), Some(before));
    }

    #[test]
    fn a_rejected_push_takes_the_commit_back_each_way() {
        let (wd, repo, c0) = behind_clone("push-or-undo");
        // from bytes: the branch moves back, the working tree never saw it
        repo.commit_bytes(&[("t.json", Some(b"2".as_slice()))], "bytes").unwrap().unwrap();
        rejected(&repo, &c0, Undo::Branch);
        assert!(repo.dirty_of(&["t.json"]).unwrap().is_empty());
        // from the working tree: the edit stays, unstaged (the index is HEAD's)
        std::fs::write(wd.join("t.json"), "3").unwrap();
        repo.commit_paths(&["t.json"], "staged").unwrap();
        rejected(&repo, &c0, Undo::Staged(&["t.json"]));
        assert_eq!(std::fs::read_to_string(wd.join("t.json")).unwrap(), "3");
        assert_eq!(repo.commit_paths(&[], "index").unwrap(), c0, "nothing staged");
        // the flow's own change: gone, and the file it added deleted
        std::fs::write(wd.join("t.json"), "0").unwrap();
        std::fs::write(wd.join("new.json"), "4").unwrap();
        repo.commit_paths(&["t.json", "new.json"], "hard").unwrap();
        rejected(&repo, &c0, Undo::Hard(&["new.json"]));
        assert!(!wd.join("new.json").exists());
        assert!(repo.dirty_of(&["t.json", "new.json"]).unwrap().is_empty());
    }

    use crate::model::Location;
    use crate::ops::gov::{gov_store, RefJson};
    use crate::store::local::LocalStore;

    fn local(root: &std::path::Path, prefix: Option<&str>) -> Location {
        Location { kind: "local".into(), root: root.display().to_string(), prefix: prefix.map(str::to_string), region: None }
    }

    #[test]
    fn ref_guard_reads_ref_json_from_the_governance_store() {
        let d = crate::testutil::scratch_dir("write-ref-guard");
        let gov = gov_store(Box::new(LocalStore::new(d.join("gov"))), None, true, String::new());
        std::fs::create_dir_all(d.join("data")).unwrap();
        let here = local(&d.join("data"), None);
        let reference = layout::gov::reference("P");

        // no ref.json, or an unreadable one: the write is refused
        let e = check_ref("P", &here, &gov).unwrap_err();
        assert_eq!(e.kind, Kind::Storage);
        assert!(e.message.starts_with("Cannot write: ref.json could not be read from governance store (not found);"), "{}", e.message);
        assert_eq!(e.hint.as_deref(), Some("Check the governance store credentials, then retry."));
        gov.store.put(&gov.key(&reference), b"{not json").unwrap();
        let e = check_ref("P", &here, &gov).unwrap_err();
        assert_eq!(e.kind, Kind::Storage);
        assert!(e.message.contains("(Failed to read JSON"), "{}", e.message);

        // ref.json points elsewhere: a conflict naming both places
        let moved = local(&d.join("moved"), Some("x"));
        gov.put_json(&reference, &RefJson::new(moved.clone()).to_rvalue()).unwrap();
        let e = check_ref("P", &here, &gov).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert_eq!(
            e.message,
            format!(
                "Data location changed since connection was created: ref.json says {} (prefix x), the connection writes to {} (prefix (none)).",
                moved.root,
                d.join("data").display()
            )
        );
        // the same place, however spelled, passes
        gov.put_json(&reference, &RefJson::new(local(&d.join("data").join("..").join("data"), Some("/"))).to_rvalue()).unwrap();
        check_ref("P", &here, &gov).unwrap();
    }
}

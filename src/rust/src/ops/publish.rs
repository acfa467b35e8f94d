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
//! mirrors: a write pushes, then uploads its object, then publishes; a
//! table whose object is not in the store yet is held back at its readable
//! version (`held` in the marker), so no reader gets a version without its
//! object.

use super::{CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::failpoint;
use crate::git::Repo;
use crate::identity::canon::metadata_sha;
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model;

/// Folders of a data repo that are never tables (the one list).
pub use crate::layout::SKIPPED_DIRS as NOT_TABLES;

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
    // the repo-level files, once (the folder walk may have found them)
    if !out.contains(&Mirror::Manifest) && repo.read_at(commit, layout::repo::MANIFEST)?.is_some() {
        out.push(Mirror::Manifest);
    }
    if !out.contains(&Mirror::Governance) && repo.read_at(commit, layout::repo::GOVERNANCE)?.is_some() {
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

/// The store's publication marker: the commit its mirrors show, and the
/// tables held back at an older version because the object of their
/// version at that commit was not in the store yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub commit: String,
    pub held: Vec<String>,
}

pub fn marker_state(project: &Project) -> Result<Option<Marker>> {
    let Some(v) = project.get_json(layout::data::PUBLICATION)? else { return Ok(None) };
    let Some(commit) = model::as_str(model::get(&v, "commit")).filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return Ok(None);
    };
    let held = match model::get(&v, "held") {
        Some(RValue::Character(x)) => x.iter().flatten().cloned().collect(),
        Some(other) => model::elements(other).iter().filter_map(|e| model::as_str(Some(e)).map(str::to_string)).collect(),
        None => Vec::new(),
    };
    Ok(Some(Marker { commit: commit.to_string(), held }))
}

/// The commit the store was last published from.
pub fn marker(project: &Project) -> Result<Option<String>> {
    Ok(marker_state(project)?.map(|m| m.commit))
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
    /// The store already held a newer publication: nothing of `target`
    /// was published (held tables of the newer one may have been).
    pub store_newer: bool,
    /// Mirror files written.
    pub files: usize,
    /// Tables held back: their version's object is not in the store yet.
    pub held: Vec<String>,
}

/// How long a publish lock may be held before it counts as abandoned.
pub(crate) const PUBLISH_STALE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Publish `target` (a commit of the clone that origin has) to the store.
///
/// A table whose version at the published commit has no object in the
/// store yet (its writer is still uploading, or was interrupted) is held
/// back at its older, readable version and named in the marker; every later
/// publication re-checks it. So a reader never gets a version whose object
/// is missing, and publication never goes backwards.
pub fn publish(project: &Project, clone: &CloneCtx, repo: &Repo, target: &str, full: bool) -> Result<Published> {
    let _lock = crate::store::acquire_lock(
        project.store.as_ref(),
        &project.key(layout::data::PUBLISH_LOCK),
        "The project's store",
        crate::store::lock_wait(),
        PUBLISH_STALE,
    )?;
    // a migration freezes the location under the same lock (both read at once)
    let (moved, marker) = crate::par::join(|| check_not_moved(project), || marker_state(project))?;
    moved?;
    let (source, from, held_before, store_newer) = match marker? {
        None => (target.to_string(), None, Vec::new(), false),
        Some(mk) => {
            if !repo.has_commit(&mk.commit) {
                // published by a newer clone: learn origin's commits
                let _ = repo.fetch("origin", &clone.creds);
            }
            if !repo.has_commit(&mk.commit) {
                return Err(Error::new(
                    Kind::Conflict,
                    format!(
                        "The store of project {} was published from commit {} which this clone does not know",
                        project.name,
                        &mk.commit[..12]
                    ),
                )
                .with_hint("Run datom_pull(conn) to bring the clone up to date, then retry."));
            }
            if mk.commit != target && repo.is_ancestor(target, &mk.commit)? {
                if mk.held.is_empty() {
                    return Ok(Published { store_newer: true, ..Default::default() });
                }
                // the store is newer; only its held tables may be completable
                (mk.commit.clone(), Some(mk.commit.clone()), mk.held, true)
            } else if !repo.is_ancestor(&mk.commit, target)? {
                return Err(Error::new(
                    Kind::Conflict,
                    format!("The clone's commit {} does not descend from the store's publication {}", &target[..12], &mk.commit[..12]),
                )
                .with_hint("Run datom_pull(conn) to bring the clone up to date, then retry."));
            } else {
                if mk.commit == target && !full && mk.held.is_empty() {
                    return Ok(Published::default());
                }
                (target.to_string(), Some(mk.commit), mk.held, false)
            }
        }
    };
    let source = source.as_str();
    let mut mirrors: Vec<Mirror> = match (&from, full) {
        (Some(m), false) => repo.diff_paths(m, source)?.iter().filter_map(|p| Mirror::of_path(p)).collect(),
        _ => mirrors_at(repo, source)?,
    };
    for h in &held_before {
        mirrors.push(Mirror::Metadata(h.clone()));
        mirrors.push(Mirror::History(h.clone()));
    }
    mirrors.sort_by(|a, b| (a.rank(), a.table()).cmp(&(b.rank(), b.table())));
    mirrors.dedup();
    // hold back every table whose version at `source` has no object yet
    let mut held: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for t in mirrors.iter().filter_map(|m| m.table()) {
        if seen.contains(&t) {
            continue;
        }
        seen.push(t);
        let Some(meta) = json_at(repo, source, &layout::repo::metadata(t))? else { continue };
        let Some(d) = model::as_str(model::get(&meta, "data_sha")) else { continue };
        let key = project.key(&layout::data::parquet(t, d)?);
        if !project.store.exists(&key)? {
            held.push(t.to_string());
        }
    }
    let mut files = 0;
    let mut first_table = true;
    for m in &mirrors {
        if m.table().is_some_and(|t| held.iter().any(|h| h == t)) {
            continue;
        }
        if m == &Mirror::Manifest {
            failpoint::hit("publish.manifest")?;
        }
        let Some(v) = json_at(repo, source, &m.repo_path())? else {
            continue; // deleted in git: the store keeps its objects
        };
        if let Mirror::Metadata(t) = m {
            let (sha, _) = metadata_sha(&v)?;
            project.put_json(&layout::data::snapshot(t, &sha)?, &v)?;
            files += 1;
        }
        project.put_json(&m.store_key(), &v)?;
        files += 1;
        if let Mirror::Metadata(t) = m {
            let base = if full { None } else { from.as_deref() };
            let log = current_log(project, repo, t, base, source)?;
            project.put_json(&layout::data::current_log(t), &log)?;
            files += 1;
        }
        if m.table().is_some() && first_table {
            first_table = false;
            failpoint::hit("publish.table")?;
        }
    }
    failpoint::hit("publish.marker")?;
    let mut body = vec![("commit", RValue::str(source)), ("published_at", RValue::str(&model::now_utc()))];
    if !held.is_empty() {
        body.push(("held", RValue::Character(held.iter().map(|h| Some(h.clone())).collect())));
    }
    project.put_json(layout::data::PUBLICATION, &RValue::named(body))?;
    Ok(Published { commit: Some(source.to_string()), store_newer, files, held })
}

/// The current-version log of table `t` at `target` (newest first):
/// `{version, data_sha, since, commit}` per commit that changed
/// `t/metadata.json`. Extends the store's log from `base` when it has one
/// that ends there; otherwise rebuilt from the whole history.
pub fn current_log(project: &Project, repo: &Repo, t: &str, base: Option<&str>, target: &str) -> Result<RValue> {
    let stored = match base {
        Some(_) => project.get_json(&layout::data::current_log(t)).ok().flatten(),
        None => None,
    };
    let stored_top = stored.as_ref().and_then(|l| model::elements(l).first().and_then(|e| model::as_str(model::get(e, "commit")).map(str::to_string)));
    // extend only a log whose newest entry git still has on this line
    let (mut entries, from) = match (stored, stored_top) {
        (Some(l), Some(top)) if base.is_some() && repo.has_commit(&top) && repo.is_ancestor(&top, target).unwrap_or(false) => {
            (model::elements(&l).to_vec(), Some(top))
        }
        _ => (Vec::new(), None),
    };
    for (commit, time, bytes) in repo.path_log(&layout::repo::metadata(t), from.as_deref(), target)? {
        let Some(b) = bytes else { continue };
        let text = String::from_utf8(b).map_err(|_| Error::new(Kind::Json, format!("{t}/metadata.json is not UTF-8")))?;
        let meta = model::read_json(&text, &layout::repo::metadata(t))?;
        let (version, _) = metadata_sha(&meta)?;
        let data_sha = model::as_str(model::get(&meta, "data_sha")).unwrap_or("").to_string();
        entries.insert(
            0,
            RValue::named(vec![
                ("version", RValue::str(&version)),
                ("data_sha", RValue::str(&data_sha)),
                ("since", RValue::str(&model::format_utc(time))),
                ("commit", RValue::str(&commit)),
            ]),
        );
    }
    Ok(RValue::unnamed(entries))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::{ensure_bare, Creds};
    use crate::store::local::LocalStore;

    fn commit(repo: &Repo, files: &[(&str, &str)], msg: &str) -> String {
        let f: Vec<(&str, Option<&[u8]>)> = files.iter().map(|(p, b)| (*p, Some(b.as_bytes()))).collect();
        let c = repo.commit_bytes(&f, msg).unwrap().unwrap();
        repo.push("origin", &Creds::default()).unwrap();
        c
    }

    #[test]
    fn publication_is_monotonic_and_incremental() {
        let d = crate::testutil::scratch_dir("publish");
        let bare = d.join("remote.git");
        ensure_bare(&bare).unwrap();
        let repo = Repo::init(&d.join("clone")).unwrap();
        repo.set_remote("origin", bare.to_str().unwrap()).unwrap();
        let clone = CloneCtx { path: d.join("clone"), creds: Creds::default() };
        let project = Project::new("P", Box::new(LocalStore::new(d.join("store"))), None, true, String::new());
        let meta = |x: i32| format!("{{\"data_sha\": \"{}\", \"x\": {x}}}", "a".repeat(64));
        let obj = |t: &str| project.store.put(&project.key(&format!("{t}/{}.parquet", "a".repeat(64))), b"PAR1").unwrap();
        obj("t");
        let c1 = commit(&repo, &[(".datom/manifest.json", "{\"tables\": {}}"), ("t/metadata.json", &meta(1)), ("t/version_history.json", "[]")], "one");
        let p = publish(&project, &clone, &repo, &c1, false).unwrap();
        assert_eq!(p.commit.as_deref(), Some(c1.as_str()));
        assert_eq!(p.files, 5, "history, metadata + snapshot + current log, manifest");
        assert_eq!(marker(&project).unwrap().as_deref(), Some(c1.as_str()));
        let c2 = commit(&repo, &[("u/metadata.json", &meta(2)), ("README.md", "x")], "two");
        // u's object is not there yet: u is held back, the rest published
        let p = publish(&project, &clone, &repo, &c2, false).unwrap();
        assert_eq!(p.held, vec!["u".to_string()]);
        assert_eq!(p.files, 0);
        assert!(project.get_json("u/.metadata/metadata.json").unwrap().is_none());
        assert_eq!(marker_state(&project).unwrap().unwrap().held, vec!["u".to_string()]);
        // once it is, an older writer's publication completes it
        obj("u");
        let p = publish(&project, &clone, &repo, &c1, false).unwrap();
        assert!(p.store_newer && p.held.is_empty());
        assert_eq!(p.files, 3, "u's metadata, snapshot, log");
        assert_eq!(marker_state(&project).unwrap().unwrap(), Marker { commit: c2.clone(), held: vec![] });
        // an older commit never replaces a newer publication
        project.put_json("t/.metadata/metadata.json", &model::read_json(&meta(9), "x").unwrap()).unwrap();
        let p = publish(&project, &clone, &repo, &c1, false).unwrap();
        assert!(p.store_newer && p.commit.is_none() && p.files == 0);
        assert_eq!(marker(&project).unwrap().as_deref(), Some(c2.as_str()));
        // a full publication repairs every mirror
        let p = publish(&project, &clone, &repo, &c2, true).unwrap();
        assert_eq!(p.files, 8);
        let log = project.get_json("t/.metadata/current_log.json").unwrap().unwrap();
        assert_eq!(model::elements(&log).len(), 1);
        assert_eq!(model::as_str(model::get(&model::elements(&log)[0], "commit")), Some(c1.as_str()));
        let t = project.get_json("t/.metadata/metadata.json").unwrap().unwrap();
        assert_eq!(model::as_f64(model::get(&t, "x")), Some(1.0));
        // a marker from a commit nobody knows is refused
        let fake = "f".repeat(40);
        project.put_json(layout::data::PUBLICATION, &RValue::named(vec![("commit", RValue::str(&fake))])).unwrap();
        assert_eq!(publish(&project, &clone, &repo, &c2, false).unwrap_err().kind, Kind::Conflict);
        // the lock is released whatever happened
        assert!(!project.store.exists(&project.key(layout::data::PUBLISH_LOCK)).unwrap());
        // a failpoint before the marker leaves the marker where it was
        project.put_json(layout::data::PUBLICATION, &RValue::named(vec![("commit", RValue::str(&c1))])).unwrap();
        std::env::set_var("DATOM_FAILPOINT", "publish.marker");
        let e = publish(&project, &clone, &repo, &c2, false).unwrap_err();
        std::env::remove_var("DATOM_FAILPOINT");
        assert_eq!(e.kind, Kind::Failpoint);
        assert_eq!(marker(&project).unwrap().as_deref(), Some(c1.as_str()));
    }

    #[test]
    fn mirror_paths() {
        assert_eq!(Mirror::of_path(".datom/manifest.json"), Some(Mirror::Manifest));
        assert_eq!(Mirror::of_path("lb/metadata.json"), Some(Mirror::Metadata("lb".into())));
        assert_eq!(Mirror::of_path("lb/version_history.json"), Some(Mirror::History("lb".into())));
        assert_eq!(Mirror::of_path("R/metadata.json"), None);
        assert_eq!(Mirror::of_path("input_files/metadata.json"), None);
        assert_eq!(Mirror::of_path(".datom/project.yaml"), None);
        assert_eq!(Mirror::of_path("lb/x/metadata.json"), None);
    }
}

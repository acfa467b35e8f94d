//! The storage extension API (dev/spec/API.md 3.7): list, delete a prefix, copy a
//! project's objects between stores (any backend pair), verify a copy. All
//! keys are inside a project's sub-namespace `{P/}datom/{project}/`
//! (decision 1: projects may share a bucket and prefix).

use super::{gov, publish, CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::failpoint;
use crate::git::Repo;
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model;
use crate::identity::sha256_hex;
use crate::store::ObjectMeta;

const PARALLEL: usize = 4;

fn ns(project: &Project) -> String {
    format!("{}/", project.root)
}

/// Every object of the project's namespace, with full keys.
pub fn list(project: &Project) -> Result<Vec<ObjectMeta>> {
    project.store.list(&ns(project))
}

/// What `datom_repo_set_data_store()` will do, decided before anything is
/// touched.
#[derive(Debug, PartialEq, Eq)]
pub enum MigrationPlan {
    /// The data already lives at the destination: nothing to migrate.
    AlreadyThere,
    /// Move the project's `objects`.
    Move { objects: usize },
}

/// Check a migration of `from` to `to` before any side effect: the same
/// place is nothing to do; a governed project (`gov_clone` is `Some`) needs
/// its gov clone's path; the destination namespace must be free or this
/// project's own.
pub fn plan_migration(from: &Project, to: &Project, gov_clone: Option<Option<&std::path::Path>>) -> Result<MigrationPlan> {
    if let (Some(a), Some(b)) = (&from.location, &to.location) {
        if a.same_place(b) {
            return Ok(MigrationPlan::AlreadyThere);
        }
    }
    if let Some(None) = gov_clone {
        return Err(Error::input("Migrating a governed project needs its gov clone.").with_hint("Set gov_local_path in datom_store()."));
    }
    if let Some(owner) = super::init::namespace_owner(to)?.filter(|o| *o != from.name) {
        return Err(Error::new(Kind::Conflict, format!("The destination namespace is already occupied by project \"{owner}\"."))
            .with_hint("Each project needs its own namespace: use another prefix or bucket."));
    }
    Ok(MigrationPlan::Move { objects: list(from)?.len() })
}

/// The commit message of a migration when the user gives none.
pub fn migration_message(project: &str, given: Option<&str>) -> String {
    given.map_or_else(|| format!("Update data store: {project}"), str::to_string)
}

/// Delete the whole namespace (`rel = None`) or a relative prefix in it.
pub fn delete_prefix(project: &Project, rel: Option<&str>) -> Result<u64> {
    let prefix = match rel.map(|r| r.trim_matches('/')).filter(|r| !r.is_empty()) {
        None => ns(project),
        Some(r) => {
            crate::store::check_key(r)?;
            format!("{}{}/", ns(project), r)
        }
    };
    project.store.delete_prefix(&prefix)
}

/// Counts one object for the progress report when dropped (whatever the outcome).
pub(crate) struct Counted;
impl Drop for Counted {
    fn drop(&mut self) {
        crate::runtime::progress::add("objects", 1);
    }
}

/// Run `f` over `items` on up to `PARALLEL` threads, in order of results.
/// A worker's panic is an error (never a shorter result list).
pub(crate) fn par<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Result<Vec<R>> {
    if items.len() <= 1 {
        return Ok(items.iter().map(&f).collect());
    }
    let n = PARALLEL.min(items.len());
    let chunk = items.len().div_ceil(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>())).collect();
        // the calling thread reports progress while the workers run
        crate::runtime::wait_polling(|| handles.iter().all(|h| h.is_finished()));
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(h.join().map_err(|_| Error::new(Kind::Internal, "a worker thread panicked while copying or verifying objects"))?);
        }
        Ok(out)
    })
}

/// Copy every object of `from`'s namespace to the same relative key in
/// `to`'s (but never the store lock or a freeze marker: they belong to the
/// source). Returns (relative key, bytes) per object. The first failure
/// aborts; objects already copied stay copied.
pub fn copy(from: &Project, to: &Project) -> Result<Vec<(String, u64)>> {
    let objs = list(from)?;
    let base = ns(from);
    let rels: Vec<String> =
        objs.iter().map(|o| o.key.strip_prefix(&base).unwrap_or(&o.key).to_string()).filter(|r| !not_copied(r)).collect();
    let _progress = crate::runtime::progress::start(format!("Copying {} objects", rels.len()), "objects", rels.len() as u64);
    let results = par(&rels, |rel| -> Result<(String, u64)> {
        let bytes = from.store.get(&from.key(rel))?;
        to.store.put(&to.key(rel), &bytes)?;
        crate::runtime::progress::add("objects", 1);
        Ok((rel.clone(), bytes.len() as u64))
    })?;
    let mut out = Vec::with_capacity(results.len());
    for (rel, r) in rels.iter().zip(results) {
        match r {
            Ok(x) => out.push(x),
            Err(e) => {
                return Err(Error::new(
                    e.kind,
                    format!("Failed to copy object {rel} from {} to {}: {}", from.display, to.display, e.message),
                ))
            }
        }
    }
    Ok(out)
}

/// Keys a copy never carries: the source's publish lock and its freeze marker.
fn not_copied(rel: &str) -> bool {
    rel == layout::data::PUBLISH_LOCK || rel == layout::data::MOVED
}

/// Is `rel` a mirror the store replaces in place (metadata, history,
/// manifest, governance, publication marker)? Every other object is
/// immutable: parquet objects and snapshots are named by their content.
fn is_mutable_mirror(rel: &str) -> bool {
    if rel == layout::data::MANIFEST || rel == layout::data::GOVERNANCE || rel == layout::data::PUBLICATION {
        return true;
    }
    match rel.split_once('/') {
        Some((_, rest)) => {
            rest == ".metadata/metadata.json" || rest == ".metadata/version_history.json" || rest == ".metadata/current_log.json"
        }
        None => false,
    }
}

/// Publication order of mirrors: histories, metadata, manifest, governance,
/// the marker last.
fn mirror_rank(rel: &str) -> u8 {
    if rel.ends_with("/.metadata/version_history.json") {
        0
    } else if rel.ends_with("/.metadata/metadata.json") || rel.ends_with("/.metadata/current_log.json") {
        1
    } else if rel == layout::data::MANIFEST {
        2
    } else if rel == layout::data::GOVERNANCE {
        3
    } else {
        4
    }
}

/// A migration's data location pair and its governance record.
pub struct MigrateGov<'a> {
    pub gov: &'a gov::Gov<'a>,
    pub details: RValue,
    pub sunset_at: String,
}

/// What a migration did.
#[derive(Debug, Default)]
pub struct Migrated {
    /// Objects copied (relative key, bytes).
    pub copied: Vec<(String, u64)>,
    /// Objects the destination already held with the same content.
    pub present: usize,
    /// The destination's publication is as new as the source's or newer:
    /// its mirrors were left alone.
    pub kept_destination: bool,
    /// The data-repo commit recording the new location.
    pub commit: String,
}

/// Does the destination's publication already cover the source's? `true`:
/// leave the destination's mirrors alone; `false`: copy the source's.
fn destination_is_newer(from: &Project, to: &Project, clone: &CloneCtx, repo: &Repo) -> Result<bool> {
    let (src, dst) = (publish::marker(from)?, publish::marker(to)?);
    let (src, dst) = match (src, dst) {
        (_, None) => return Ok(false),
        (None, Some(_)) => return Ok(true),
        (Some(s), Some(d)) => (s, d),
    };
    if src == dst {
        return Ok(true);
    }
    if !repo.has_commit(&src) || !repo.has_commit(&dst) {
        let _ = repo.fetch("origin", &clone.creds);
    }
    for c in [&src, &dst] {
        if !repo.has_commit(c) {
            return Err(Error::new(Kind::Conflict, format!("A store was published from commit {} which this clone does not know", &c[..12]))
                .with_hint("Run datom_pull(conn), then run datom_repo_set_data_store() again."));
        }
    }
    if repo.is_ancestor(&src, &dst)? {
        return Ok(true);
    }
    if repo.is_ancestor(&dst, &src)? {
        return Ok(false);
    }
    Err(Error::new(
        Kind::Conflict,
        format!("The destination's publication {} and the source's {} have diverged", &dst[..12], &src[..12]),
    )
    .with_hint("The destination holds another history of the project: migrate to an empty location."))
}

/// Move a project's data to another location (`datom_repo_set_data_store`).
///
/// Order: every check first (the clone's project.yaml names the source or,
/// on a re-run, the destination; the source is not frozen towards another
/// place; the two publications are comparable); then, holding the clone's
/// writer lock and the source's publish lock:
/// 1. copy: immutable objects (parquet, snapshots) only when absent at the
///    destination; then the mirrors in publication order (marker last),
///    unless the destination's publication marker descends from (or equals)
///    the source's, in which case its mirrors are newer and stay; never the
///    publish lock or the freeze marker;
/// 2. verify by content every object the destination is meant to share
///    with the source (any difference stops here: nothing else changed);
/// 3. governed: `ref.json` and `migration_history.json` (gov repo, pushed,
///    mirrored);
/// 4. `storage.data` of project.yaml, committed and pushed;
/// 5. freeze the source (`.metadata/moved.json`: the new location and the
///    commit); a freeze marker at the destination (a project moving back)
///    is removed.
///
/// Every step is idempotent: re-running the same call after a failure at
/// any step completes the migration and never replaces newer data at the
/// destination.
pub fn migrate(from: &Project, to: &Project, clone: &CloneCtx, gov: Option<MigrateGov<'_>>, message: &str) -> Result<Migrated> {
    let (Some(from_loc), Some(to_loc)) = (from.location.clone(), to.location.clone()) else {
        return Err(Error::internal("migrate needs both locations"));
    };
    // checks, before any side effect
    let cfg = super::read_config(&clone.path)?;
    if !cfg.data.same_place(&from_loc) && !cfg.data.same_place(&to_loc) {
        return Err(Error::new(
            Kind::Conflict,
            format!("The data repo says {} lives at {}, not at this connection's {}", from.name, cfg.data.label(), from_loc.label()),
        )
        .with_hint("Run datom_pull(conn), then rebuild the connection with datom_get_conn() and a store for the current location."));
    }
    if let Some(m) = publish::moved_to(from)? {
        if m != to_loc.label() {
            return Err(Error::new(Kind::Conflict, format!("The data of {} already moved from {} to {m}", from.name, from.display))
                .with_hint("Run datom_pull(conn), then rebuild the connection with datom_get_conn() and a store for the new location."));
        }
    }
    let _clone_lock = super::write::lock_clone(clone)?;
    let repo = Repo::open(&clone.path)?;
    super::write::prepare_clone(&repo, &[layout::repo::PROJECT_YAML])?;
    let keep = destination_is_newer(from, to, clone, &repo)?;
    let _publish_lock = crate::store::acquire_lock(
        from.store.as_ref(),
        &from.key(layout::data::PUBLISH_LOCK),
        "The project's store",
        crate::store::lock_wait(),
        publish::PUBLISH_STALE,
    )?;

    // 1. copy
    let base = ns(from);
    let mut immutable = Vec::new();
    let mut mirrors = Vec::new();
    for o in list(from)? {
        let rel = o.key.strip_prefix(&base).unwrap_or(&o.key).to_string();
        if not_copied(&rel) {
            continue;
        }
        if is_mutable_mirror(&rel) {
            mirrors.push(rel);
        } else {
            immutable.push(rel);
        }
    }
    mirrors.sort_by(|a, b| (mirror_rank(a), a).cmp(&(mirror_rank(b), b)));
    let total = immutable.len() + if keep { 0 } else { mirrors.len() };
    let _progress = crate::runtime::progress::start(format!("Copying {total} objects"), "objects", total as u64);
    let results = par(&immutable, |rel| -> Result<Option<(String, u64)>> {
        let _count = Counted;
        if to.store.exists(&to.key(rel))? {
            return Ok(None); // named by its content: never replaced
        }
        let bytes = from.store.get(&from.key(rel))?;
        to.store.put(&to.key(rel), &bytes)?;
        Ok(Some((rel.clone(), bytes.len() as u64)))
    })?;
    let mut out = Migrated { kept_destination: keep, ..Default::default() };
    let copy_err = |rel: &str, e: Error| {
        Error::new(e.kind, format!("Failed to copy object {rel} from {} to {}: {}", from.display, to.display, e.message))
            .with_hint("The old location is still authoritative; run datom_repo_set_data_store() again to complete the copy.")
    };
    for (rel, r) in immutable.iter().zip(results) {
        match r {
            Ok(Some(x)) => out.copied.push(x),
            Ok(None) => out.present += 1,
            Err(e) => return Err(copy_err(rel, e)),
        }
    }
    failpoint::hit("migrate.copy")?;
    if !keep {
        // sequential, in publication order: a reader of the destination
        // never sees a version whose object is not there
        for rel in &mirrors {
            let _count = Counted;
            let bytes = from.store.get(&from.key(rel)).map_err(|e| copy_err(rel, e))?;
            match to.store.get(&to.key(rel)) {
                Ok(b) if b == bytes => out.present += 1,
                Ok(_) | Err(_) => {
                    to.store.put(&to.key(rel), &bytes).map_err(|e| copy_err(rel, e))?;
                    out.copied.push((rel.clone(), bytes.len() as u64));
                }
            }
        }
    }

    drop(_progress);
    // 2. verify by content what the two locations share
    let mut shared = immutable.clone();
    if !keep {
        shared.extend(mirrors.iter().cloned());
    }
    let bad: Vec<(String, String)> = verify(from, to, Some(shared), true)?.into_iter().filter_map(|(k, i)| i.map(|i| (k, i))).collect();
    if let Some((k, i)) = bad.first() {
        return Err(Error::new(
            Kind::Integrity,
            format!("Migration verification failed for {} object(s) (first: {k}: {i}); the old location is still authoritative", bad.len()),
        )
        .with_hint("Fix the destination and run datom_repo_set_data_store() again."));
    }
    failpoint::hit("migrate.verify")?;

    // 3. governance
    if let Some(g) = &gov {
        gov::record_migration(g.gov, &from.name, &from_loc, &to_loc, g.details.clone(), &g.sunset_at)?;
    }

    // 4. project.yaml
    failpoint::hit("migrate.commit")?;
    out.commit = super::collab::set_data_store(clone, &to_loc, message)?;

    // 5. freeze the old location
    failpoint::hit("migrate.freeze").map_err(|e| {
        Error::new(e.kind, format!("The data repo points at the new location but the old one is not frozen yet: {}", e.message))
            .with_hint("Run datom_repo_set_data_store() again with the same store to complete the migration.")
    })?;
    let body = RValue::named(vec![
        ("moved_to", RValue::str(&to_loc.label())),
        ("location", to_loc.to_rvalue()),
        ("commit", RValue::str(&out.commit)),
        ("moved_at", RValue::str(&model::now_utc())),
    ]);
    from.put_json(layout::data::MOVED, &body)?;
    match to.store.delete(&to.key(layout::data::MOVED)) {
        Ok(_) => {}
        Err(e) if e.kind == Kind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Verify `keys` (relative; all of the source's when `None`) in `to`
/// against `from`: sizes (structural) or SHA-256 (content). Returns
/// (key, issue) per key, `None` when ok. An unreadable source is an error.
pub fn verify(from: &Project, to: &Project, keys: Option<Vec<String>>, content: bool) -> Result<Vec<(String, Option<String>)>> {
    let keys = match keys {
        Some(k) => k,
        None => {
            let base = ns(from);
            list(from)?.into_iter().map(|o| o.key.strip_prefix(&base).unwrap_or(&o.key).to_string()).filter(|r| !not_copied(r)).collect()
        }
    };
    let _progress = crate::runtime::progress::start(format!("Verifying {} objects", keys.len()), "objects", keys.len() as u64);
    let results = par(&keys, |rel| -> Result<Option<String>> {
        crate::store::check_key(rel)?;
        let _count = Counted;
        let src_err = |e: Error| {
            Error::new(e.kind, format!("Cannot read source object for verification: {}: {}", from.key(rel), e.message))
        };
        if content {
            let a = from.store.get(&from.key(rel)).map_err(src_err)?;
            match to.store.get(&to.key(rel)) {
                Ok(b) => {
                    let (ha, hb) = (sha256_hex(&a), sha256_hex(&b));
                    Ok((ha != hb).then(|| format!("content hash mismatch: source={ha} destination={hb}")))
                }
                Err(e) if e.kind == Kind::NotFound => Ok(Some("destination object not found".to_string())),
                Err(e) => Err(e),
            }
        } else {
            let a = from.store.head(&from.key(rel)).map_err(src_err)?;
            match to.store.head(&to.key(rel)) {
                Ok(b) if b.size == a.size => Ok(None),
                Ok(b) => Ok(Some(format!("size mismatch: source={}B destination={}B", a.size, b.size))),
                Err(e) if e.kind == Kind::NotFound => Ok(Some("destination object not found".to_string())),
                Err(e) => Err(e),
            }
        }
    })?;
    keys.into_iter().zip(results).map(|(k, r)| r.map(|issue| (k, issue))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;

    fn project(dir: &std::path::Path, name: &str, prefix: Option<&str>) -> Project {
        Project::new(name, Box::new(LocalStore::new(dir)), prefix, true, dir.display().to_string())
    }

    /// A data clone (pushed to a local bare remote) whose project.yaml
    /// names `loc`, and the location's project; commits `n` versions of the
    /// manifest and returns their commits.
    fn migration_setup(d: &std::path::Path) -> (CloneCtx, Repo, Vec<String>) {
        let bare = d.join("remote.git");
        crate::git::ensure_bare(&bare).unwrap();
        let path = d.join("clone");
        std::fs::create_dir_all(path.join(".datom")).unwrap();
        let repo = Repo::init(&path).unwrap();
        repo.ensure_identity().unwrap();
        repo.set_remote("origin", bare.to_str().unwrap()).unwrap();
        let cfg = model::ProjectConfig {
            project_name: "P".into(),
            project_description: String::new(),
            created_at: "2026-01-01".into(),
            datom_version: "0".into(),
            data: loc(&d.join("a")),
            max_file_size_gb: 1.0,
            remote_url: bare.display().to_string(),
            continue_on_error: true,
            parallel_uploads: 4,
            renv: false,
        };
        std::fs::write(path.join(layout::repo::PROJECT_YAML), cfg.to_yaml()).unwrap();
        let mut commits = Vec::new();
        for i in 0..3 {
            std::fs::write(path.join(layout::repo::MANIFEST), format!("{{\"v\": {i}}}\n")).unwrap();
            commits.push(repo.commit_paths(&[layout::repo::PROJECT_YAML, layout::repo::MANIFEST], &format!("v{i}")).unwrap());
        }
        repo.push("origin", &crate::git::Creds::default()).unwrap();
        (CloneCtx { path, creds: crate::git::Creds::default() }, repo, commits)
    }

    #[test]
    fn a_migration_is_planned_before_anything_is_touched() {
        let d = crate::testutil::scratch_dir("migration-plan");
        let at = |root: &std::path::Path, name: &str, prefix: Option<&str>| {
            let mut p = project(root, name, prefix);
            p.location = Some(model::Location { kind: "local".into(), root: root.display().to_string(), prefix: prefix.map(str::to_string), region: None });
            p
        };
        let from = at(&d.join("a"), "S1", None);
        from.store.put(&from.key("lb/x.parquet"), b"x").unwrap();
        from.store.put(&from.key(layout::data::MANIFEST), br#"{"project_name":"S1"}"#).unwrap();
        // the same place (a prefix written another way) is nothing to do
        let same = at(&d.join("a"), "S1", Some("/"));
        assert_eq!(plan_migration(&from, &same, None).unwrap(), MigrationPlan::AlreadyThere);
        let to = at(&d.join("b"), "S1", Some("p"));
        assert_eq!(plan_migration(&from, &to, None).unwrap(), MigrationPlan::Move { objects: 2 });
        assert_eq!(plan_migration(&from, &to, Some(Some(&d))).unwrap(), MigrationPlan::Move { objects: 2 });
        // governed without its gov clone
        let e = plan_migration(&from, &to, Some(None)).unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (Kind::Input, "Migrating a governed project needs its gov clone."));
        // a namespace another project holds; this project's own is fine
        to.store.put(&to.key(layout::data::MANIFEST), br#"{"project_name":"S2"}"#).unwrap();
        let e = plan_migration(&from, &to, None).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert!(e.message.contains("occupied by project \"S2\""), "{e}");
        to.store.put(&to.key(layout::data::MANIFEST), br#"{"project_name":"S1"}"#).unwrap();
        assert!(plan_migration(&from, &to, None).is_ok());
        assert_eq!(migration_message("S1", None), "Update data store: S1");
        assert_eq!(migration_message("S1", Some("move")), "move");
    }

    fn loc(root: &std::path::Path) -> model::Location {
        model::Location { kind: "local".into(), root: root.display().to_string(), prefix: None, region: None }
    }

    fn located(root: &std::path::Path) -> Project {
        let mut p = project(root, "P", None);
        p.location = Some(loc(root));
        p
    }

    fn mark(p: &Project, commit: &str, manifest: &str) {
        p.put_json(layout::data::PUBLICATION, &RValue::named(vec![("commit", RValue::str(commit))])).unwrap();
        p.store.put(&p.key(layout::data::MANIFEST), manifest.as_bytes()).unwrap();
    }

    #[test]
    fn migration_keeps_newer_data_and_freezes_the_source() {
        let d = crate::testutil::scratch_dir("migrate");
        let (clone, _repo, c) = migration_setup(&d);
        let (a, b) = (located(&d.join("a")), located(&d.join("b")));
        let obj = format!("t/{}.parquet", "b".repeat(64));
        a.store.put(&a.key(&obj), b"object").unwrap();
        mark(&a, &c[1], "{\"v\": 1}\n");
        // the destination was published from a later commit: its mirrors stay
        mark(&b, &c[2], "{\"v\": 2}\n");
        let m = migrate(&a, &b, &clone, None, "Update data store: P").unwrap();
        assert!(m.kept_destination);
        assert_eq!(m.copied, vec![(obj.clone(), 6)]);
        assert_eq!(b.store.get(&b.key(layout::data::MANIFEST)).unwrap(), b"{\"v\": 2}\n");
        assert_eq!(publish::marker(&b).unwrap().as_deref(), Some(c[2].as_str()));
        assert!(!b.store.exists(&b.key(layout::data::PUBLISH_LOCK)).unwrap());
        // the source is frozen: publication and a second move elsewhere refuse
        assert!(publish::moved_to(&a).unwrap().is_some());
        assert!(!b.store.exists(&b.key(layout::data::MOVED)).unwrap());
        assert_eq!(publish::check_not_moved(&a).unwrap_err().kind, Kind::Conflict);
        let cfg = crate::ops::read_config(&clone.path).unwrap();
        assert!(cfg.data.same_place(&loc(&d.join("b"))));
        // a re-run is a no-op that changes nothing
        let again = migrate(&a, &b, &clone, None, "Update data store: P").unwrap();
        assert!(again.copied.is_empty());
        assert_eq!(again.commit, m.commit);
        let c3 = located(&d.join("c"));
        assert_eq!(migrate(&a, &c3, &clone, None, "x").unwrap_err().kind, Kind::Conflict);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn migration_replaces_older_mirrors_never_objects() {
        let d = crate::testutil::scratch_dir("migrate-older");
        let (clone, _repo, c) = migration_setup(&d);
        let (a, b) = (located(&d.join("a")), located(&d.join("b")));
        let obj = format!("t/{}.parquet", "b".repeat(64));
        a.store.put(&a.key(&obj), b"object").unwrap();
        mark(&a, &c[2], "{\"v\": 2}\n");
        // an earlier, interrupted move left an older publication there
        mark(&b, &c[0], "{\"v\": 0}\n");
        let m = migrate(&a, &b, &clone, None, "Update data store: P").unwrap();
        assert!(!m.kept_destination);
        assert_eq!(b.store.get(&b.key(layout::data::MANIFEST)).unwrap(), b"{\"v\": 2}\n");
        assert_eq!(publish::marker(&b).unwrap().as_deref(), Some(c[2].as_str()));
        // an object that differs at the destination is never replaced: the
        // verification stops the move (nothing else changed)
        let d2 = crate::testutil::scratch_dir("migrate-corrupt");
        let (clone2, _r2, c2) = migration_setup(&d2);
        let (a2, b2) = (located(&d2.join("a")), located(&d2.join("b")));
        a2.store.put(&a2.key(&obj), b"object").unwrap();
        b2.store.put(&b2.key(&obj), b"OBJECT").unwrap();
        mark(&a2, &c2[2], "{}");
        let e = migrate(&a2, &b2, &clone2, None, "x").unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        assert_eq!(b2.store.get(&b2.key(&obj)).unwrap(), b"OBJECT");
        assert!(publish::moved_to(&a2).unwrap().is_none());
        assert!(crate::ops::read_config(&clone2.path).unwrap().data.same_place(&loc(&d2.join("a"))));
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&d2).unwrap();
    }

    #[test]
    fn migration_classifies_keys() {
        for k in [".metadata/manifest.json", ".metadata/governance.json", ".metadata/publication.json", "t/.metadata/metadata.json", "t/.metadata/version_history.json"] {
            assert!(is_mutable_mirror(k), "{k}");
        }
        let snap = format!("t/.metadata/{}.json", "a".repeat(64));
        let obj = format!("t/{}.parquet", "b".repeat(64));
        for k in [snap.as_str(), obj.as_str()] {
            assert!(!is_mutable_mirror(k), "{k}");
            assert!(!not_copied(k));
        }
        assert!(not_copied(".metadata/publish.lock"));
        assert!(not_copied(".metadata/moved.json"));
        let mut m = vec![".metadata/publication.json", ".metadata/manifest.json", "t/.metadata/metadata.json", "t/.metadata/version_history.json", ".metadata/governance.json"];
        m.sort_by_key(|k| mirror_rank(k));
        assert_eq!(m, vec!["t/.metadata/version_history.json", "t/.metadata/metadata.json", ".metadata/manifest.json", ".metadata/governance.json", ".metadata/publication.json"]);
    }

    #[test]
    fn a_worker_panic_is_an_error_not_a_shorter_list() {
        let items: Vec<u32> = (0..8).collect();
        assert_eq!(par(&items, |x| x * 2).unwrap(), (0..8).map(|x| x * 2).collect::<Vec<_>>());
        let e = par(&items, |x| if *x == 5 { panic!("boom") } else { *x }).unwrap_err();
        assert_eq!(e.kind, Kind::Internal);
    }

    #[test]
    fn list_copy_verify_delete() {
        let d = std::env::temp_dir().join(format!("datom-storage-ops-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let a = project(&d.join("a"), "P", Some("x/"));
        let b = project(&d.join("b"), "P", None);
        let other = project(&d.join("a"), "P2", Some("x/"));
        for (k, v) in [("t/1.parquet", &b"one"[..]), ("t/.metadata/metadata.json", b"{}"), (".metadata/manifest.json", b"{}\n"), (".metadata/publish.lock", b"{}")] {
            a.store.put(&a.key(k), v).unwrap();
        }
        other.store.put(&other.key("t/9.parquet"), b"nine").unwrap();
        let l = list(&a).unwrap();
        assert_eq!(l.len(), 4);
        assert!(l.iter().all(|o| o.key.starts_with("x/datom/P/")));
        let copied = copy(&a, &b).unwrap();
        assert_eq!(copied.len(), 3, "the lock stays behind");
        assert!(!b.store.exists(&b.key(".metadata/publish.lock")).unwrap());
        assert!(verify(&a, &b, None, false).unwrap().iter().all(|(_, i)| i.is_none()));
        assert!(verify(&a, &b, None, true).unwrap().iter().all(|(_, i)| i.is_none()));
        b.store.put(&b.key("t/1.parquet"), b"onE").unwrap();
        let v = verify(&a, &b, None, true).unwrap();
        assert!(v.iter().any(|(k, i)| k == "t/1.parquet" && i.as_deref().unwrap().starts_with("content hash mismatch")));
        b.store.put(&b.key("t/1.parquet"), b"longer").unwrap();
        let v = verify(&a, &b, Some(vec!["t/1.parquet".into()]), false).unwrap();
        assert_eq!(v[0].1.as_deref(), Some("size mismatch: source=3B destination=6B"));
        b.store.delete(&b.key("t/1.parquet")).unwrap();
        let v = verify(&a, &b, Some(vec!["t/1.parquet".into()]), false).unwrap();
        assert_eq!(v[0].1.as_deref(), Some("destination object not found"));
        assert!(verify(&a, &b, Some(vec!["nope".into()]), false).is_err());
        assert_eq!(delete_prefix(&a, Some("t")).unwrap(), 2);
        assert_eq!(delete_prefix(&a, None).unwrap(), 2);
        assert_eq!(list(&other).unwrap().len(), 1, "a sibling project is untouched");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

//! Governance (dev/spec/FORMATS.md 10, dev/spec/API.md 3.2/3.5/3.7/3.8): the organisation's
//! portfolio register, a git repository of
//! `projects/NAME/{dispatch,ref,migration_history}.json`, mirrored to a
//! governance store under `{GP/}datom/projects/`.
//!
//! Every change to the register is made on the local gov clone after a
//! fetch + fast-forward, committed, pushed, and only then mirrored to the
//! store. A rejected push (another engineer registered concurrently) undoes
//! the local commit and retries on top of the new remote state; any other
//! failure undoes the commit and leaves the clone as it was.

use super::Project;
use crate::error::{Error, Kind, Result};
use crate::git::{self, Creds, Repo};
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model::{self, as_str, get, Location};
use crate::store::Store;
use std::path::{Path, PathBuf};

const README: &str = "# Governance Repository\n\nThis repository registers the datom projects of an organisation. Each registered project has a folder under `projects/` holding its `dispatch.json`, `ref.json` and `migration_history.json`.\n";
const PUSH_ATTEMPTS: usize = 4;

/// A governance repo: its local clone, remote URL, credentials and store.
pub struct Gov<'a> {
    pub clone: &'a Path,
    pub url: &'a str,
    pub creds: &'a Creds,
    pub store: &'a Project,
}

/// The governance store's `projects` namespace as a [`Project`] whose keys are
/// relative to `{GP/}datom/projects`.
pub fn gov_store(store: Box<dyn Store>, prefix: Option<&str>, json_newline: bool, display: String) -> Project {
    Project { name: "projects".to_string(), store, root: layout::gov_root(prefix), json_newline, display, location: None }
}

/// What `init_gov` found and did.
#[derive(Debug, PartialEq, Eq)]
pub enum InitGov {
    /// Skeleton committed and pushed.
    Created,
    /// Local skeleton present and the remote has it: nothing to do.
    AlreadyInitialised,
    /// Local skeleton present but the remote was empty: pushed again.
    Repushed,
    /// The remote was already seeded: cloned, nothing new to commit.
    Cloned,
}

/// Same repository URL, ignoring a trailing `.git` / `/` (and `file://` on
/// paths): the one rule, [`git::RepoUrl::same_repo`].
pub fn same_url(a: &str, b: &str) -> bool {
    git::RepoUrl::same_repo(a, b)
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::new(Kind::Storage, format!("{what}: {e}"))
}

fn is_nonempty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false)
}

fn check_remote(repo: &Repo, clone: &Path, url: &str) -> Result<()> {
    let actual = repo.remote_url(&repo_remote_name(repo)).unwrap_or_default();
    if !same_url(&actual, url) {
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "Gov clone at {} has a different remote URL (expected {}, found {})",
                clone.display(),
                git::redact(url),
                git::redact(&actual)
            ),
        )
        .with_hint("Remove the directory or change gov_local_path."));
    }
    Ok(())
}

fn prepare_remote(url: &str) -> Result<()> {
    if git::is_local_remote(url) {
        git::ensure_bare(&git::local_remote_path(url))?;
    }
    Ok(())
}

/// Create (or adopt) the governance repository and its local clone.
pub fn init_gov(url: &str, clone: &Path, creds: &Creds) -> Result<InitGov> {
    prepare_remote(url)?;
    let gitkeep = clone.join(layout::gov::REPO_GITKEEP);
    let repo = if clone.join(".git").exists() {
        let repo = Repo::open(clone)?;
        check_remote(&repo, clone, url)?;
        if gitkeep.exists() && repo.head_oid().is_some() {
            let remote = repo_remote_name(&repo);
            return if repo.remote_has_refs(&remote, creds)? {
                Ok(InitGov::AlreadyInitialised)
            } else {
                repo.push(&remote, creds)?;
                Ok(InitGov::Repushed)
            };
        }
        repo
    } else {
        if is_nonempty_dir(clone) {
            return Err(Error::new(Kind::Conflict, format!("{} exists but is not a git repository", clone.display()))
                .with_hint("Remove the directory or choose another gov_local_path."));
        }
        clone_fresh(url, clone, creds)?
    };
    if gitkeep.exists() {
        return Ok(InitGov::Cloned);
    }
    std::fs::create_dir_all(clone.join("projects")).map_err(|e| io_err("cannot create projects/", e))?;
    crate::store::local::write_atomic(&gitkeep, b"\n")?;
    let readme = clone.join(layout::gov::REPO_README);
    let mut paths = vec![layout::gov::REPO_GITKEEP];
    if !readme.exists() {
        crate::store::local::write_atomic(&readme, README.as_bytes())?;
        paths.push(layout::gov::REPO_README);
    }
    let before = repo.head_sha();
    repo.commit_paths(&paths, "Initialize governance repository")?;
    super::write::push_or_undo(&repo, &repo_remote_name(&repo), creds, "", before.as_deref(), super::write::Undo::Hard(&paths))?;
    Ok(InitGov::Created)
}

fn repo_remote_name(repo: &Repo) -> String {
    if repo.remote_url("origin").is_some() {
        "origin".into()
    } else {
        repo.first_remote_name().unwrap_or_else(|| "origin".into())
    }
}

fn clone_fresh(url: &str, clone: &Path, creds: &Creds) -> Result<Repo> {
    if let Some(parent) = clone.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err("cannot create the gov clone's parent", e))?;
    }
    Repo::clone(url, clone, creds).map_err(|e| {
        let _ = std::fs::remove_dir_all(clone);
        Error::new(e.kind, format!("Failed to clone the governance repo {}: {}", git::redact(url), e.message))
            .with_hint("Check gov_repo_url and your credentials.")
    })
}

/// Clone the gov repo into `clone` when it is absent (returns `true`), else
/// check the existing clone's remote (returns `false`).
pub fn ensure_clone(url: &str, clone: &Path, creds: &Creds) -> Result<bool> {
    if clone.join(".git").exists() {
        let repo = Repo::open(clone)?;
        check_remote(&repo, clone, url)?;
        return Ok(false);
    }
    if is_nonempty_dir(clone) {
        return Err(Error::new(Kind::Conflict, format!("{} exists but is not a git repository", clone.display()))
            .with_hint("Remove the directory or choose another gov_local_path."));
    }
    clone_fresh(url, clone, creds)?;
    Ok(true)
}

/// Is `name` registered in the clone (a `projects/NAME/` folder holding `ref.json`)?
pub fn is_registered(clone: &Path, name: &str) -> bool {
    project_dir(clone, name).join("ref.json").is_file()
}

/// Is the clone initialised (`projects/.gitkeep`)?
pub fn is_initialised(clone: &Path) -> bool {
    clone.join(layout::gov::REPO_GITKEEP).exists()
}

/// Bring the gov clone up to date: clone it when absent (`None`), else
/// fetch and fast-forward (`Some(commits pulled)`).
pub fn refresh(url: &str, clone: &Path, creds: &Creds) -> Result<Option<usize>> {
    if !clone.exists() {
        ensure_clone(url, clone, creds)?;
        return Ok(None);
    }
    pull(clone, creds).map(Some)
}

/// Before registering `name` from a new project: the gov clone up to date
/// (cloned when absent, else its remote checked and pulled), and the name
/// not registered yet.
pub fn prepare_register(url: &str, clone: &Path, creds: &Creds, name: &str) -> Result<()> {
    if !ensure_clone(url, clone, creds)? {
        pull(clone, creds)?;
    }
    if is_registered(clone, name) {
        return Err(Error::new(Kind::Conflict, format!("Project \"{name}\" is already registered in the governance repo."))
            .with_hint("Choose a different name, or decommission the old project first."));
    }
    Ok(())
}

/// Is a data clone attached to governance already? `false`: not attached;
/// `true`: attached to `url` (or no `url` asked for); a conflict when it is
/// attached to another repo (governance cannot be swapped). `conn_url`: the
/// governance of the connection (when it has one), the pointer's otherwise.
pub fn attached_to(clone: &Path, project: &str, conn_gov: Option<Option<&str>>, url: Option<&str>) -> Result<bool> {
    super::read_config(clone)?;
    let recorded = read_pointer(clone)?.map(|p| p.url);
    if recorded.is_none() && conn_gov.is_none() {
        return Ok(false);
    }
    let rec = recorded.or_else(|| conn_gov.flatten().map(str::to_string)).unwrap_or_default();
    match url {
        None => Ok(true),
        Some(u) if git::RepoUrl::same_repo(u, &rec) => Ok(true),
        Some(u) => Err(Error::new(
            Kind::Conflict,
            format!("Project \"{project}\" is already attached to a different gov repo (recorded <{rec}>, requested <{u}>)."),
        )
        .with_hint("Governance cannot be detached or swapped.")),
    }
}

/// When a project was registered: the commit time (UTC) of the last commit
/// of the gov clone that added its `ref.json` (`None` when no commit did,
/// e.g. a registration not committed yet).
pub fn registered_at(clone: &Path, name: &str) -> Result<Option<String>> {
    let repo = Repo::open(clone)?;
    let Some(head) = repo.head_sha() else { return Ok(None) };
    let log = repo.path_log(&rel(name, "ref.json"), None, &head)?;
    let mut added = None;
    let mut present = false;
    for (_, time, bytes) in &log {
        if bytes.is_some() && !present {
            added = Some(*time);
        }
        present = bytes.is_some();
    }
    Ok(added.map(model::format_utc))
}

/// Fetch + fast-forward the gov clone; the number of commits pulled.
pub fn pull(clone: &Path, creds: &Creds) -> Result<usize> {
    let repo = Repo::open(clone)?;
    sync_remote(&repo, creds)
}

fn sync_remote(repo: &Repo, creds: &Creds) -> Result<usize> {
    let remote = repo_remote_name(repo);
    super::collab::fetch(repo, &remote, creds, "the governance repo", "Check gov_repo_url and your credentials.")?;
    if repo.head_oid().is_none() {
        // An unborn clone of a repo that has since been seeded.
        if let Some(oid) = repo.remote_branch_oid(&remote)? {
            repo.reset_hard(&oid.to_string())?;
            return Ok(1);
        }
        return Ok(0);
    }
    repo.fast_forward(&remote).map_err(|e| {
        Error::new(Kind::Conflict, format!("Gov clone cannot be fast-forwarded: {}", e.message))
            .with_hint("Resolve the gov clone with git (it must not carry local commits), then retry.")
    })
}

/// Apply `change` on an up-to-date clone, commit `paths` with `message`,
/// push; a rejected push is retried on top of the new remote state. Returns
/// whether a commit was pushed (false when `change` left nothing to commit).
/// `step`: the failpoint hit between the commit and its push (`""`: none).
fn commit_and_push<F>(g: &Gov<'_>, message: &str, step: &str, mut change: F) -> Result<bool>
where
    F: FnMut(&Path) -> Result<Vec<String>>,
{
    let repo = Repo::open(g.clone)?;
    check_remote(&repo, g.clone, g.url)?;
    let remote = repo_remote_name(&repo);
    let mut last = None;
    for _ in 0..PUSH_ATTEMPTS {
        sync_remote(&repo, g.creds)?;
        let before = repo.head_sha();
        let paths = change(g.clone)?;
        let refs: Vec<&str> = paths.iter().map(|s| s.as_str()).collect();
        let commit = repo.commit_paths(&refs, message)?;
        if before.as_deref() == Some(commit.as_str()) && repo.ahead_behind(&remote)?.0 == 0 {
            return Ok(false);
        }
        // (a commit of an earlier call that was killed before its push is pushed now)
        match super::write::push_or_undo(&repo, &remote, g.creds, step, before.as_deref(), super::write::Undo::Hard(&refs)) {
            Ok(()) => return Ok(true),
            Err(e) => {
                if e.kind != Kind::PushRejected {
                    return Err(Error::new(e.kind, format!("Failed to push the governance repo: {}", e.message))
                        .with_hint("Check gov_repo_url and your credentials; the gov clone was left as it was."));
                }
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::new(Kind::PushRejected, "governance push rejected"))
        .with_hint("Other engineers are updating the governance repo; run datom_pull_gov(conn) and retry."))
}

fn project_dir(clone: &Path, name: &str) -> PathBuf {
    clone.join("projects").join(name)
}

fn rel(name: &str, file: &str) -> String {
    format!("projects/{name}/{file}")
}

const FILES: [&str; 3] = ["dispatch.json", "ref.json", "migration_history.json"];

/// `dispatch.json` (10.1).
pub fn dispatch_json() -> RValue {
    RValue::named(vec![(
        "methods",
        RValue::named(vec![
            ("r", RValue::named(vec![("default", RValue::str("datom::datom_read"))])),
            ("python", RValue::named(vec![("default", RValue::str("datom.read"))])),
        ]),
    )])
}

fn empty_array() -> RValue {
    RValue::List { names: None, values: Vec::new() }
}

/// A location a project lived in before a migration.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviousLocation {
    pub location: Location,
    pub migrated_at: Option<String>,
    pub sunset_at: Option<String>,
}

/// `ref.json` (10.2).
#[derive(Clone, Debug, PartialEq)]
pub struct RefJson {
    pub current: Location,
    pub previous: Vec<PreviousLocation>,
}

fn loc_json(l: &Location) -> Vec<(&'static str, RValue)> {
    let mut pairs = vec![("type", RValue::str(&l.kind)), ("root", RValue::str(&l.root))];
    if let Some(p) = l.prefix_norm() {
        pairs.push(("prefix", RValue::str(p)));
    }
    if l.kind == "s3" {
        pairs.push(("region", RValue::str(l.region.clone().unwrap_or_else(|| "us-east-1".into()))));
    }
    pairs
}

impl RefJson {
    pub fn new(current: Location) -> RefJson {
        RefJson { current, previous: Vec::new() }
    }
    pub fn to_rvalue(&self) -> RValue {
        let prev: Vec<RValue> = self
            .previous
            .iter()
            .map(|p| {
                let mut pairs = loc_json(&p.location);
                if let Some(m) = &p.migrated_at {
                    pairs.push(("migrated_at", RValue::str(m)));
                }
                if let Some(s) = &p.sunset_at {
                    pairs.push(("sunset_at", RValue::str(s)));
                }
                RValue::named(pairs)
            })
            .collect();
        RValue::named(vec![
            ("current", RValue::named(loc_json(&self.current))),
            ("previous", RValue::List { names: None, values: prev }),
        ])
    }
}

fn parse_prefix(v: Option<&RValue>) -> Option<String> {
    as_str(v).map(|s| s.to_string()).filter(|s| !s.is_empty())
}

fn parse_location(v: &RValue, what: &str) -> Result<Location> {
    let root = as_str(get(v, "root")).filter(|s| !s.is_empty());
    let Some(root) = root else {
        return Err(Error::new(Kind::Json, format!("Invalid ref.json: missing {what}.root")));
    };
    let kind = as_str(get(v, "type")).unwrap_or("s3").to_string();
    if kind != "s3" && kind != "local" {
        return Err(Error::new(Kind::Json, format!("Invalid ref.json: {what}.type must be \"s3\" or \"local\", not {kind:?}")));
    }
    let region = if kind == "s3" { Some(as_str(get(v, "region")).unwrap_or("us-east-1").to_string()) } else { None };
    Ok(Location { kind, root: root.to_string(), prefix: parse_prefix(get(v, "prefix")), region })
}

/// Parse a `ref.json` value with the reader rules of 10.2.
pub fn parse_ref(v: &RValue) -> Result<RefJson> {
    let Some(cur) = get(v, "current") else {
        return Err(Error::new(Kind::Json, "Invalid ref.json: missing current.root"));
    };
    let current = parse_location(cur, "current")?;
    let mut previous = Vec::new();
    if let Some(p) = get(v, "previous") {
        for e in model::elements(p) {
            previous.push(PreviousLocation {
                location: parse_location(e, "previous")?,
                migrated_at: as_str(get(e, "migrated_at")).map(|s| s.to_string()),
                sunset_at: as_str(get(e, "sunset_at")).map(|s| s.to_string()),
            });
        }
    }
    Ok(RefJson { current, previous })
}

fn read_file_json(p: &Path, what: &str) -> Result<Option<RValue>> {
    match std::fs::read_to_string(p) {
        Ok(t) => Ok(Some(model::read_json(&t, what)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&format!("cannot read {what}"), e)),
    }
}

/// A project's `ref.json` from the gov clone (`None` when not registered).
pub fn read_ref_clone(clone: &Path, name: &str) -> Result<Option<RefJson>> {
    read_file_json(&project_dir(clone, name).join("ref.json"), "ref.json")?.map(|v| parse_ref(&v)).transpose()
}

/// A project's `ref.json` from the governance store.
pub fn read_ref_store(store: &Project, name: &str) -> Result<Option<RefJson>> {
    store.get_json(&layout::gov::reference(name))?.map(|v| parse_ref(&v)).transpose()
}

/// A project's `ref.json`: the gov clone's copy when a clone is given and
/// holds one, else the governance store's.
pub fn read_ref(store: &Project, clone: Option<&Path>, name: &str) -> Result<Option<RefJson>> {
    if let Some(c) = clone {
        if let Some(r) = read_ref_clone(c, name)? {
            return Ok(Some(r));
        }
    }
    read_ref_store(store, name)
}

/// A project name found by listing a governance repo or store: it must pass
/// the name rule before anything is read or built from it (a folder
/// `projects/../x` or `projects/Bad Name!` is reported, never followed).
fn listed_name(name: &str) -> Result<()> {
    layout::check_name(name, "project_name").map_err(|e| {
        Error::new(Kind::Integrity, format!("governance lists an invalid project name {name:?}: {}", e.message))
            .with_hint("Not a project datom registered; remove that folder from the governance repo and store.")
    })
}

/// Registered projects of the gov clone, sorted by name; an unreadable
/// `ref.json` is reported per project instead of failing the listing.
pub fn projects_clone(clone: &Path) -> Result<Vec<(String, Result<RefJson>)>> {
    let dir = clone.join("projects");
    let rd = std::fs::read_dir(&dir).map_err(|e| io_err(&format!("cannot list {}", dir.display()), e))?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("ref.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .map(|n| {
            let r = listed_name(&n).and_then(|_| read_ref_clone(clone, &n)).and_then(|o| o.ok_or_else(|| Error::new(Kind::NotFound, "ref.json vanished")));
            (n, r)
        })
        .collect())
}

/// Registered projects of the governance store, sorted by name.
pub fn projects_store(store: &Project) -> Result<Vec<(String, Result<RefJson>)>> {
    let prefix = format!("{}/", store.root);
    let objs = store.store.list(&prefix)?;
    let mut names: Vec<String> = objs
        .iter()
        .filter_map(|o| o.key.strip_prefix(&prefix))
        .filter_map(|k| k.strip_suffix("/ref.json"))
        .filter(|n| !n.contains('/'))
        .map(|n| n.to_string())
        .collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|n| {
            let r = listed_name(&n).and_then(|_| read_ref_store(store, &n)).and_then(|o| o.ok_or_else(|| Error::new(Kind::NotFound, "ref.json vanished")));
            (n, r)
        })
        .collect())
}

fn write_json_file(clone: &Path, rel_path: &str, v: &RValue) -> Result<()> {
    let p = clone.join(rel_path);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| io_err("cannot create the project folder", e))?;
    }
    crate::store::local::write_atomic(&p, model::json_text(v, true).as_bytes())
}

fn mirror(g: &Gov<'_>, name: &str, files: &[&str]) -> Result<()> {
    for f in files {
        let v = read_file_json(&project_dir(g.clone, name).join(f), f)?
            .ok_or_else(|| Error::new(Kind::NotFound, format!("projects/{name}/{f} is missing from the gov clone")))?;
        g.store.put_json(&format!("{name}/{f}"), &v)?;
    }
    Ok(())
}

fn not_initialised(url: &str) -> Error {
    Error::new(Kind::Input, format!("Governance repo at {} is empty or uninitialised", git::redact(url)))
        .with_hint("Run datom_init_gov() first.")
}

fn already_registered(name: &str) -> Error {
    Error::new(Kind::Conflict, format!("Project {name:?} is already registered in the governance repo"))
        .with_hint("Choose a different name, or decommission the old project first.")
}

/// Register a project: the three files in one commit `Register project
/// NAME`, pushed, then mirrored to the governance store.
pub fn register(g: &Gov<'_>, name: &str, data: &Location) -> Result<()> {
    layout::check_name(name, "project_name")?;
    commit_and_push(g, &format!("Register project {name}"), "register.push", |clone| {
        if !is_initialised(clone) {
            return Err(not_initialised(g.url));
        }
        if project_dir(clone, name).exists() {
            return Err(already_registered(name));
        }
        write_json_file(clone, &rel(name, "dispatch.json"), &dispatch_json())?;
        write_json_file(clone, &rel(name, "ref.json"), &RefJson::new(data.clone()).to_rvalue())?;
        write_json_file(clone, &rel(name, "migration_history.json"), &empty_array())?;
        Ok(FILES.iter().map(|f| rel(name, f)).collect())
    })
    .inspect_err(|_| {
        // A registration that did not land leaves no folder behind (undo
        // removed the untracked files; drop the directory too).
        let d = project_dir(g.clone, name);
        if d.exists() && std::fs::read_dir(&d).map(|mut x| x.next().is_none()).unwrap_or(false) {
            let _ = std::fs::remove_dir(&d);
        }
    })?;
    crate::failpoint::hit("register.mirror").map_err(|e| {
        Error::new(e.kind, format!("Project {name} registered in the governance repo but not mirrored to its store: {}", e.message))
            .with_hint("Run datom_sync_dispatch(conn) to mirror the register.")
    })?;
    mirror(g, name, &FILES)
}

/// Remove `projects/NAME/` (commit `Unregister project NAME`, push).
/// Returns false when the project was not registered.
pub fn unregister(g: &Gov<'_>, name: &str) -> Result<bool> {
    layout::check_name(name, "project_name")?;
    let pushed = commit_and_push(g, &format!("Unregister project {name}"), "decommission.unregister", |clone| {
        let d = project_dir(clone, name);
        let mut paths = Vec::new();
        if d.exists() {
            for e in std::fs::read_dir(&d).map_err(|e| io_err("cannot list the project folder", e))?.flatten() {
                if let Ok(f) = e.file_name().into_string() {
                    paths.push(rel(name, &f));
                }
            }
            std::fs::remove_dir_all(&d).map_err(|e| io_err("cannot remove the project folder", e))?;
        }
        Ok(paths)
    })?;
    Ok(pushed)
}

/// Delete `projects/NAME/` from the governance store; the number deleted.
pub fn delete_mirror(store: &Project, name: &str) -> Result<u64> {
    layout::check_name(name, "project_name")?;
    store.store.delete_prefix(&format!("{}/{}/", store.root, name))
}

/// Re-write dispatch.json and ref.json (normalised) when present, commit
/// each change (`Update dispatch for NAME`, `Update ref for NAME`), push,
/// and mirror all three files to the store. Registers the project first when
/// it is missing from the clone. Returns (file, outcome) per file; a
/// failure of one file does not stop the others.
pub fn sync_dispatch(g: &Gov<'_>, name: &str, data: &Location) -> Result<Vec<(String, std::result::Result<(), Error>)>> {
    let dir = project_dir(g.clone, name);
    pull(g.clone, g.creds)?;
    if !dir.join("ref.json").exists() {
        register(g, name, data)?;
        return Ok(FILES.iter().map(|f| (f.to_string(), Ok(()))).collect());
    }
    let mut out = Vec::new();
    let d = commit_and_push(g, &format!("Update dispatch for {name}"), "", |clone| {
        write_json_file(clone, &rel(name, "dispatch.json"), &dispatch_json())?;
        Ok(vec![rel(name, "dispatch.json")])
    })
    .and_then(|_| mirror(g, name, &["dispatch.json"]));
    out.push(("dispatch.json".to_string(), d));
    let r = commit_and_push(g, &format!("Update ref for {name}"), "", |clone| {
        let cur = read_ref_clone(clone, name)?.ok_or_else(|| Error::new(Kind::NotFound, "ref.json is missing"))?;
        write_json_file(clone, &rel(name, "ref.json"), &cur.to_rvalue())?;
        Ok(vec![rel(name, "ref.json")])
    })
    .and_then(|_| mirror(g, name, &["ref.json"]));
    out.push(("ref.json".to_string(), r));
    let m = if dir.join("migration_history.json").exists() {
        mirror(g, name, &["migration_history.json"])
    } else {
        Ok(())
    };
    out.push(("migration_history.json".to_string(), m));
    Ok(out)
}

/// Record a data migration: `ref.json` gets `current = to` and the old
/// current prepended to `previous` (with `migrated_at`, `sunset_at`);
/// `migration_history.json` gets the event prepended. Two commits (`Update
/// ref for NAME`, `Record migration for NAME: data_migration`), one push
/// attempt each, then mirrors. Refuses when the ref does not currently point
/// at `from` (someone else migrated the project).
pub fn record_migration(g: &Gov<'_>, name: &str, from: &Location, to: &Location, details: RValue, sunset_at: &str) -> Result<RefJson> {
    let now = model::now_utc();
    let mut result = None;
    commit_and_push(g, &format!("Update ref for {name}"), "", |clone| {
        let mut r = read_ref_clone(clone, name)?.ok_or_else(|| {
            Error::new(Kind::NotFound, format!("Project {name:?} is not registered in the governance repo"))
                .with_hint("Register it with datom_sync_dispatch(conn) first.")
        })?;
        if !same_location(&r.current, from) {
            if same_location(&r.current, to) {
                result = Some(r.clone());
                return Ok(vec![]);
            }
            return Err(Error::new(
                Kind::Conflict,
                format!("ref.json of {name} points at {}, not at this connection's {}", r.current.root, from.root),
            )
            .with_hint("Run datom_pull(conn) and rebuild the connection with datom_get_conn()."));
        }
        r.previous.insert(
            0,
            PreviousLocation { location: from.clone(), migrated_at: Some(now.clone()), sunset_at: Some(sunset_at.to_string()) },
        );
        r.current = to.clone();
        write_json_file(clone, &rel(name, "ref.json"), &r.to_rvalue())?;
        result = Some(r);
        Ok(vec![rel(name, "ref.json")])
    })?;
    crate::failpoint::hit("migrate.gov")?;
    commit_and_push(g, &format!("Record migration for {name}: data_migration"), "", |clone| {
        let p = rel(name, "migration_history.json");
        let mut events: Vec<RValue> = read_file_json(&clone.join(&p), "migration_history.json")?
            .map(|v| model::elements(&v).to_vec())
            .unwrap_or_default();
        let already = events.first().is_some_and(|e| {
            as_str(get(e, "event_type")) == Some("data_migration")
                && get(e, "details").and_then(|d| get(d, "to")) == get(&details, "to")
                && get(e, "details").and_then(|d| get(d, "from")) == get(&details, "from")
        });
        if !already {
            let ev = RValue::named(vec![
                ("event_type", RValue::str("data_migration")),
                ("details", details.clone()),
                ("occurred_at", RValue::str(&now)),
            ]);
            events.insert(0, ev);
        }
        write_json_file(clone, &p, &RValue::List { names: None, values: events })?;
        Ok(vec![p])
    })?;
    mirror(g, name, &["ref.json", "migration_history.json"])?;
    Ok(result.expect("ref read"))
}

/// The governance files of project `name` (dispatch, ref, migration
/// history): (file, in the gov clone (`None` without a clone), in the gov
/// store, store content equal to the clone's (`None` unless both exist)).
pub fn mirror_status(store: &Project, clone: Option<&Path>, name: &str) -> Result<Vec<(String, Option<bool>, bool, Option<bool>)>> {
    let mut out = Vec::new();
    for f in ["dispatch.json", "ref.json", "migration_history.json"] {
        let local = match clone {
            Some(c) => Some(read_file_json(&project_dir(c, name).join(f), f)?),
            None => None,
        };
        let stored = store.get_json(&format!("{name}/{f}"))?;
        let same = match (&local, &stored) {
            (Some(Some(a)), Some(b)) => Some(model::json_text(a, false) == model::json_text(b, false)),
            _ => None,
        };
        out.push((f.to_string(), local.map(|l| l.is_some()), stored.is_some(), same));
    }
    Ok(out)
}

/// Same data location (type, root, normalised prefix): the one rule,
/// [`Location::same_place`].
pub fn same_location(a: &Location, b: &Location) -> bool {
    a.same_place(b)
}

/// Where a store's data location stands against a project's `ref.json`.
#[derive(Debug, PartialEq)]
pub enum StoreAgainstRef<'a> {
    /// The store names the current location: nothing to say.
    Current,
    /// The store names a location the data was migrated away from.
    Previous(&'a PreviousLocation),
    /// The store names a location the ref never recorded.
    Elsewhere,
}

/// Is `store` the ref's current location, one of its previous ones, or
/// neither? Only a store configured for an old location is news to the
/// user (the data moved away from where they look).
pub fn store_against_ref<'a>(r: &'a RefJson, store: &Location) -> StoreAgainstRef<'a> {
    if same_location(&r.current, store) {
        return StoreAgainstRef::Current;
    }
    match r.previous.iter().find(|p| same_location(&p.location, store)) {
        Some(p) => StoreAgainstRef::Previous(p),
        None => StoreAgainstRef::Elsewhere,
    }
}

/// `.datom/governance.json` (dev/spec/FORMATS.md 8.4): the governance repo URL, the
/// governance store's location (never credentials or clone paths) and the
/// attach time (UTC).
pub fn governance_record(url: &str, gov: &Location) -> RValue {
    let mut storage = vec![("type", RValue::str(&gov.kind)), ("root", RValue::str(&gov.root))];
    if let Some(p) = gov.prefix_norm().filter(|p| !p.trim_matches('/').is_empty()) {
        storage.push(("prefix", RValue::str(p)));
    }
    if gov.kind == "s3" {
        storage.push(("region", RValue::str(gov.region.clone().unwrap_or_else(|| "us-east-1".into()))));
    }
    RValue::named(vec![
        ("gov_repo_url", RValue::str(url)),
        ("gov_storage", RValue::named(storage)),
        ("attached_at", RValue::str(model::now_utc())),
    ])
}

/// The data side's governance pointer (`.datom/governance.json`): the
/// governance repo URL and the governance store's location.
#[derive(Clone, Debug, PartialEq)]
pub struct Pointer {
    pub url: String,
    pub storage: Option<Location>,
}

/// The clone's governance pointer (`None` for a project without governance).
pub fn read_pointer(clone: &Path) -> Result<Option<Pointer>> {
    let Some(v) = read_file_json(&clone.join(layout::repo::GOVERNANCE), "governance.json")? else {
        return Ok(None);
    };
    let url = as_str(get(&v, "gov_repo_url"))
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::new(Kind::Json, "Invalid .datom/governance.json: missing gov_repo_url"))?
        .to_string();
    let storage = match get(&v, "gov_storage") {
        Some(g) => Some(parse_location(g, "gov_storage").map_err(|e| Error::new(Kind::Json, e.message.replace("ref.json", ".datom/governance.json")))?),
        None => None,
    };
    Ok(Some(Pointer { url, storage }))
}

/// What recording the governance pointer did.
#[derive(Debug)]
pub enum PointerOutcome {
    /// The clone already records this governance repo: the current commit.
    Unchanged(Option<String>),
    /// Written, committed and pushed (`commit`); `mirror` is the failure to
    /// mirror it to the data store (the git copy is canonical).
    Written { commit: String, mirror: Option<Error> },
}

/// Record the governance pointer of project `data` (write-once): commit
/// `.datom/governance.json` ([`governance_record`]) with `message`, push,
/// mirror it to the data store. A different recorded repo is a conflict.
pub fn attach_pointer(data: &Project, clone: &super::CloneCtx, url: &str, gov: &Location, message: &str) -> Result<PointerOutcome> {
    if let Some(p) = read_pointer(&clone.path)? {
        if same_url(&p.url, url) {
            return Ok(PointerOutcome::Unchanged(Repo::open(&clone.path)?.head_sha()));
        }
        return Err(Error::new(Kind::Conflict, format!("Project \"{}\" already records a different gov repo ({}).", data.name, git::redact(&p.url)))
            .with_hint("The governance pointer is write-once."));
    }
    let text = model::json_text(&governance_record(url, gov), true);
    let commit = super::collab::commit_files(clone, &[(layout::repo::GOVERNANCE.to_string(), text.into_bytes())], message)?;
    let mirror = super::collab::mirror_clone_json(data, clone, layout::repo::GOVERNANCE, layout::data::GOVERNANCE).err();
    Ok(PointerOutcome::Written { commit, mirror })
}

/// What attaching governance did.
#[derive(Debug)]
pub struct Attached {
    /// The project was registered now (false: it already was, at this location).
    pub registered: bool,
    pub pointer: PointerOutcome,
}

/// Attach governance to project `data` (`datom_attach_gov()`): bring the
/// gov clone up to date (cloning it when missing), refuse an uninitialised
/// repo or a name registered for another location, register the project,
/// then record the data-side pointer ([`attach_pointer`]).
pub fn attach(g: &Gov<'_>, data: &Project, clone: &super::CloneCtx, gov: &Location, message: &str) -> Result<Attached> {
    let here = data.location.as_ref().ok_or_else(|| Error::internal("attach: the data project has no location"))?;
    if !ensure_clone(g.url, g.clone, g.creds)? {
        pull(g.clone, g.creds)?;
    }
    if !is_initialised(g.clone) {
        return Err(not_initialised(g.url));
    }
    let registered = match read_ref_clone(g.clone, &data.name)? {
        Some(r) if same_location(&r.current, here) => false,
        Some(_) => return Err(already_registered(&data.name)),
        None => {
            register(g, &data.name, here)?;
            true
        }
    };
    Ok(Attached { registered, pointer: attach_pointer(data, clone, g.url, gov, message)? })
}

// ------------------------------------------------------------ teardown ----

/// The steps of a teardown, in the order they run: the git record (data
/// repository, then clone) goes last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Storage,
    Unregister,
    Mirror,
    Repo,
    Clone,
}

impl Step {
    /// How the step is named in "Not done: ..." of a stopped teardown.
    pub fn label(self) -> &'static str {
        match self {
            Step::Storage => "delete the data store namespace",
            Step::Unregister => "unregister the project from the governance repo",
            Step::Mirror => "delete the governance store entry",
            Step::Repo => "delete the data repository",
            Step::Clone => "remove the local data clone",
        }
    }
    /// The test failpoint hit before the step (the unregister step's is
    /// between its commit and its push).
    fn failpoint(self) -> Option<&'static str> {
        match self {
            Step::Storage => Some("decommission.store"),
            Step::Unregister => None,
            Step::Mirror => Some("decommission.gov_mirror"),
            Step::Repo => Some("decommission.repo"),
            Step::Clone => Some("decommission.clone"),
        }
    }
}

/// What a teardown did, in order, for the caller to report.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `datom_repo_delete` starts.
    RepoDeleteStart,
    /// The data store namespace (`{P/}datom/{project}/`) is being deleted.
    Storage(String),
    /// An ungoverned project: no register to update.
    NoGovernance,
    /// The missing gov clone was cloned (to unregister from it).
    GovCloned(PathBuf),
    Unregistered,
    /// The governance store's entry of the project is gone (named as its
    /// folder, `projects/NAME/`).
    MirrorDeleted(String),
    /// The local bare data repo was already gone.
    LocalRepoGone(PathBuf),
    LocalRepoDeleted(PathBuf),
    /// A hosted data repo and no token: delete it by hand (URL).
    NoToken(String),
    /// Deleting the GitHub repo (its name).
    GithubDeleting(String),
    GithubDeleted(String),
    /// The data repo is not on the GitHub host of the API URL.
    NoGithubRemote,
    /// The GitHub repo (name) could not be deleted: the error's fields say why.
    GithubFailed(String, Error),
    /// The clone (path) is about to be removed.
    CloneRemoving(PathBuf),
    CloneRemoved(PathBuf),
    CloneNotRemoved(PathBuf),
    /// The clone is kept: it holds these files that are not committed.
    CloneKept(Vec<String>),
}

/// The governance a teardown unregisters from.
pub struct TeardownGov<'a> {
    pub store: &'a Project,
    pub url: Option<&'a str>,
    pub clone: Option<&'a Path>,
}

/// A teardown of the project `data` whose data clone is `clone`:
/// `datom_decommission()` (`decommission = true`: storage, governance,
/// data repo, clone; every check first; a failed step stops it) or
/// `datom_repo_delete()` (data repo and clone only; a GitHub failure is
/// reported, not raised).
pub struct Teardown<'a> {
    pub data: &'a Project,
    pub clone: &'a Path,
    pub creds: &'a Creds,
    pub github_api_url: &'a str,
    pub gov: Option<TeardownGov<'a>>,
    pub decommission: bool,
    pub remove_untracked: bool,
}

/// What a teardown did, and the failure that stopped it (the steps not
/// done are named in its hint).
#[derive(Debug)]
pub struct TeardownReport {
    pub events: Vec<Event>,
    pub failed: Option<Error>,
}

/// Run a teardown (see [`Teardown`]). Checks that fail before anything is
/// touched are the `Err`; a step that fails once others ran is
/// `TeardownReport::failed`, after the events of what was done.
pub fn teardown(t: &Teardown<'_>) -> Result<TeardownReport> {
    let name = t.data.name.as_str();
    // Preflight: every check before the first side effect
    let cfg = super::read_config(t.clone)?;
    let target = super::owned_data_repo(t.clone)?;
    if t.decommission {
        let current = match &t.gov {
            Some(g) => read_ref_store(g.store, name)
                .map_err(|e| {
                    Error {
                        message: format!("Cannot read ref.json of \"{name}\" from the governance store: {}.", e.message),
                        hint: Some("The teardown deletes storage only at the location ref.json names; nothing was touched.".into()),
                        ..e
                    }
                })?
                .map(|r| r.current),
            None => None,
        };
        let where_ = current.unwrap_or(cfg.data);
        let here = t.data.location.as_ref().ok_or_else(|| Error::internal("teardown: the data project has no location"))?;
        if !same_location(&where_, here) {
            let prefix = where_.prefix_norm().map(|p| format!("{}/", p.trim_matches('/'))).unwrap_or_else(|| "(none)".into());
            return Err(Error::new(
                Kind::Conflict,
                format!("The connection points at {} but the project lives at {} (prefix \"{prefix}\").", here.root, where_.root),
            )
            .with_hint("Rebuild the connection with datom_get_conn() (the data may have been migrated); nothing was touched."));
        }
    }
    let user_files = Repo::open(t.clone)?.user_files()?;
    let keep_clone = !user_files.is_empty() && !t.remove_untracked;

    let mut steps = Vec::new();
    if t.decommission {
        steps.push(Step::Storage);
        if t.gov.is_some() {
            steps.extend([Step::Unregister, Step::Mirror]);
        }
    }
    steps.extend([Step::Repo, Step::Clone]);
    let mut ev = Vec::new();
    if !t.decommission {
        ev.push(Event::RepoDeleteStart);
    }
    for (i, step) in steps.iter().enumerate() {
        let run = |ev: &mut Vec<Event>| -> Result<()> {
            if t.decommission {
                if let Some(fp) = step.failpoint() {
                    if *step != Step::Clone || !keep_clone {
                        crate::failpoint::hit(fp)?;
                    }
                }
            }
            match step {
                Step::Storage => {
                    ev.push(Event::Storage(format!("{}/", t.data.root)));
                    super::storage::delete_prefix(t.data, None)?;
                }
                Step::Unregister => unregister_step(t, name, ev)?,
                Step::Mirror => {
                    let store = t.gov.as_ref().expect("governed").store;
                    delete_mirror(store, name)?;
                    ev.push(Event::MirrorDeleted(layout::gov::repo_file(name, "")));
                }
                Step::Repo => delete_data_repo(t, &target, ev)?,
                Step::Clone if keep_clone => ev.push(Event::CloneKept(user_files.clone())),
                Step::Clone => {
                    if !t.decommission {
                        ev.push(Event::CloneRemoving(t.clone.to_path_buf()));
                    }
                    let _ = std::fs::remove_dir_all(t.clone);
                    ev.push(if t.clone.exists() { Event::CloneNotRemoved(t.clone.to_path_buf()) } else { Event::CloneRemoved(t.clone.to_path_buf()) });
                }
            }
            Ok(())
        };
        let res = run(&mut ev);
        if *step == Step::Storage && t.gov.is_none() && res.is_ok() {
            ev.push(Event::NoGovernance);
        }
        if let Err(e) = res {
            if !t.decommission {
                return Ok(TeardownReport { events: ev, failed: Some(e) });
            }
            let left: Vec<&str> = steps[i..].iter().map(|s| s.label()).collect();
            let failed = Error {
                message: format!("Decommission of \"{name}\" stopped: {e}"),
                hint: Some(format!("Not done: {}. Fix the cause and run datom_decommission() again.", left.join("; "))),
                ..e
            };
            return Ok(TeardownReport { events: ev, failed: Some(failed) });
        }
    }
    Ok(TeardownReport { events: ev, failed: None })
}

/// Unregister from the gov clone (cloned first when missing).
fn unregister_step(t: &Teardown<'_>, name: &str, ev: &mut Vec<Event>) -> Result<()> {
    let g = t.gov.as_ref().expect("governed");
    let clone = g.clone.ok_or_else(|| Error::input("No gov_local_path on the connection."))?;
    let url = g.url.ok_or_else(|| {
        Error::input("The connection has no governance repo URL and clone path to refresh.")
            .with_hint("Rebuild the connection with datom_get_conn() and a store with gov_repo_url and gov_local_path.")
    })?;
    if !clone.exists() {
        ensure_clone(url, clone, t.creds)?;
        ev.push(Event::GovCloned(clone.to_path_buf()));
    }
    unregister(&Gov { clone, url, creds: t.creds, store: g.store }, name)?;
    ev.push(Event::Unregistered);
    Ok(())
}

/// The data repo step: the local bare repo datom created, or the GitHub
/// repo through the REST API, only once ownership was proven.
fn delete_data_repo(t: &Teardown<'_>, target: &super::RepoTarget, ev: &mut Vec<Event>) -> Result<()> {
    match target {
        super::RepoTarget::LocalGone(p) => ev.push(Event::LocalRepoGone(p.clone())),
        super::RepoTarget::Local(_) => {
            if let Some(p) = super::delete_local_data_repo(t.clone)? {
                ev.push(Event::LocalRepoDeleted(p));
            }
        }
        super::RepoTarget::Remote(url) => {
            let repo_name = git::RepoUrl::parse(url).name();
            let Some(token) = t.creds.token.as_deref() else {
                if t.decommission {
                    return Err(Error::input(format!("No GitHub PAT on the connection: cannot delete {}.", git::redact(url)))
                        .with_hint("Rebuild the store with github_pat, or delete the repository manually."));
                }
                ev.push(Event::NoToken(git::redact(url)));
                return Ok(());
            };
            let Some((owner, repo)) = crate::github::github_owner_repo(url, t.github_api_url) else {
                if t.decommission {
                    return Err(Error::input(format!("{} is not a repository of the GitHub host at {}", git::redact(url), t.github_api_url)));
                }
                ev.push(Event::NoGithubRemote);
                return Ok(());
            };
            if !t.decommission {
                ev.push(Event::GithubDeleting(repo_name.clone()));
            }
            match crate::github::GitHub::new(t.github_api_url, token).and_then(|gh| gh.delete_repo(&owner, &repo)) {
                Ok(()) => ev.push(Event::GithubDeleted(repo_name)),
                Err(e) if t.decommission => return Err(e),
                Err(e) => ev.push(Event::GithubFailed(repo_name, e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::local::LocalStore;

    #[test]
    fn store_against_ref_says_current_previous_or_elsewhere() {
        let loc = |root: &str, prefix: Option<&str>| Location {
            kind: "s3".into(),
            root: root.into(),
            prefix: prefix.map(|p| p.to_string()),
            region: Some("us-east-1".into()),
        };
        let r = RefJson {
            current: loc("new-bucket", None),
            previous: vec![PreviousLocation {
                location: loc("old-bucket", Some("study-001/")),
                migrated_at: Some("2026-04-01T00:00:00Z".into()),
                sunset_at: Some("2026-07-01T00:00:00Z".into()),
            }],
        };
        assert_eq!(store_against_ref(&r, &loc("new-bucket", Some("/"))), StoreAgainstRef::Current);
        match store_against_ref(&r, &loc("old-bucket", Some("study-001"))) {
            StoreAgainstRef::Previous(p) => assert_eq!(p.sunset_at.as_deref(), Some("2026-07-01T00:00:00Z")),
            other => panic!("{other:?}"),
        }
        assert_eq!(store_against_ref(&r, &loc("old-bucket", None)), StoreAgainstRef::Elsewhere);
        // the backend is part of the place
        let local = Location { kind: "local".into(), region: None, ..loc("new-bucket", None) };
        assert!(!same_location(&local, &loc("new-bucket", None)));
        assert!(same_location(&local, &Location { prefix: Some("/".into()), ..local.clone() }));
    }

    fn tmp(tag: &str) -> PathBuf {
        crate::testutil::scratch_dir(&format!("gov-{tag}"))
    }

    fn store(d: &Path) -> Project {
        gov_store(Box::new(LocalStore::new(d.join("gov-store"))), None, true, d.display().to_string())
    }

    fn loc(root: &str, prefix: Option<&str>) -> Location {
        Location { kind: "local".into(), root: root.into(), prefix: prefix.map(|s| s.into()), region: None }
    }

    #[test]
    fn parse_ref_reader_rules() {
        let v = model::read_json(r#"{"current":{"type":"s3","root":"b","prefix":{}},"previous":[]}"#, "x").unwrap();
        let r = parse_ref(&v).unwrap();
        assert_eq!(r.current.prefix, None);
        assert_eq!(r.current.region.as_deref(), Some("us-east-1"));
        let v = model::read_json(r#"{"current":{"type":"local","prefix":""}}"#, "x").unwrap();
        assert!(parse_ref(&v).unwrap_err().message.contains("missing current.root"));
        let r = RefJson::new(loc("/srv/x", None));
        assert_eq!(model::json_text(&r.to_rvalue(), false), "{\n  \"current\": {\n    \"type\": \"local\",\n    \"root\": \"/srv/x\"\n  },\n  \"previous\": []\n}");
        assert_eq!(parse_ref(&r.to_rvalue()).unwrap(), r);
    }

    #[test]
    fn init_register_pull_unregister_migrate() {
        let d = tmp("flow");
        let url = d.join("remotes/acme-gov.git");
        let url = url.to_str().unwrap();
        let a = d.join("a");
        let creds = Creds::default();
        assert_eq!(init_gov(url, &a, &creds).unwrap(), InitGov::Created);
        assert_eq!(std::fs::read(a.join("projects/.gitkeep")).unwrap(), b"\n");
        assert_eq!(init_gov(url, &a, &creds).unwrap(), InitGov::AlreadyInitialised);
        // a second engineer adopts the seeded repo
        let b = d.join("b");
        assert_eq!(init_gov(url, &b, &creds).unwrap(), InitGov::Cloned);
        // a clone with a different remote is refused
        let other = d.join("other.git");
        assert_eq!(init_gov(other.to_str().unwrap(), &a, &creds).unwrap_err().kind, Kind::Conflict);

        let st = store(&d);
        let ga = Gov { clone: &a, url, creds: &creds, store: &st };
        register(&ga, "STUDY_001", &loc("/data", None)).unwrap();
        assert_eq!(register(&ga, "STUDY_001", &loc("/data", None)).unwrap_err().kind, Kind::Conflict);
        // b registers concurrently without pulling: the push is retried on top
        let gb = Gov { clone: &b, url, creds: &creds, store: &st };
        register(&gb, "STUDY_002", &loc("/data", Some("p"))).unwrap();
        assert!(b.join("projects/STUDY_001/ref.json").exists());
        assert_eq!(refresh(url, &a, &creds).unwrap(), Some(1));
        // registered_at: the commit time of the commit that added ref.json
        let added = Repo::open(&a).unwrap().path_log("projects/STUDY_002/ref.json", None, &Repo::open(&a).unwrap().head_sha().unwrap()).unwrap();
        assert_eq!(registered_at(&a, "STUDY_002").unwrap(), Some(model::format_utc(added[0].1)));
        assert!(registered_at(&a, "STUDY_001").unwrap().unwrap().ends_with('Z'));
        assert_eq!(registered_at(&a, "NOPE").unwrap(), None);
        // a registered name is refused before registering it again
        let e = prepare_register(url, &a, &creds, "STUDY_002").unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (Kind::Conflict, "Project \"STUDY_002\" is already registered in the governance repo."));
        prepare_register(url, &a, &creds, "STUDY_009").unwrap();
        // attached_to: the pointer (or the conn's governance) against the asked repo
        let dc = d.join("dc");
        std::fs::create_dir_all(dc.join(".datom")).unwrap();
        std::fs::write(dc.join(layout::repo::PROJECT_YAML), "project_name: P\nstorage:\n  data:\n    type: local\n    root: /x\nrepos:\n  data:\n    remote_url: u\n").unwrap();
        assert_eq!(super::super::read_config(&dc).unwrap().project_name, "P");
        assert!(!attached_to(&dc, "P", None, Some(url)).unwrap());
        assert!(attached_to(&dc, "P", Some(Some(url)), None).unwrap());
        assert!(attached_to(&dc, "P", Some(Some(url)), Some(&format!("{url}/"))).unwrap());
        std::fs::write(dc.join(layout::repo::GOVERNANCE), format!("{{\"gov_repo_url\": \"{url}\"}}")).unwrap();
        assert!(attached_to(&dc, "P", None, Some(url)).unwrap());
        let e = attached_to(&dc, "P", None, Some("https://h/other.git")).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert_eq!(e.message, format!("Project \"P\" is already attached to a different gov repo (recorded <{url}>, requested <https://h/other.git>)."));
        assert_eq!(attached_to(&d.join("nothing"), "P", None, None).unwrap_err().kind, Kind::NotFound);
        // refresh clones an absent clone
        let c = d.join("c");
        assert_eq!(refresh(url, &c, &creds).unwrap(), None);
        assert!(c.join("projects/STUDY_002/ref.json").exists());
        let names: Vec<String> = projects_clone(&a).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["STUDY_001", "STUDY_002"]);
        let names: Vec<String> = projects_store(&st).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["STUDY_001", "STUDY_002"]);
        assert_eq!(read_ref_store(&st, "STUDY_002").unwrap().unwrap().current.prefix.as_deref(), Some("p"));
        let mh = std::fs::read_to_string(a.join("projects/STUDY_001/migration_history.json")).unwrap();
        assert_eq!(mh, "[]\n");
        let disp = std::fs::read_to_string(a.join("projects/STUDY_001/dispatch.json")).unwrap();
        assert!(disp.contains("\"default\": \"datom::datom_read\""));

        // migration
        let r = record_migration(
            &ga,
            "STUDY_001",
            &loc("/data", None),
            &loc("/new", None),
            RValue::named(vec![("from", RValue::str("/data/datom/")), ("to", RValue::str("/new/datom/"))]),
            "2027-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(r.current.root, "/new");
        assert_eq!(r.previous[0].location.root, "/data");
        let s = read_ref_store(&st, "STUDY_001").unwrap().unwrap();
        assert_eq!(s, r);
        // a second run is a no-op (already at the target)
        record_migration(&ga, "STUDY_001", &loc("/data", None), &loc("/new", None), RValue::named(vec![("from", RValue::str("/data/datom/")), ("to", RValue::str("/new/datom/"))]), "x").unwrap();
        let mh = model::read_json(&std::fs::read_to_string(a.join("projects/STUDY_001/migration_history.json")).unwrap(), "m").unwrap();
        assert_eq!(model::elements(&mh).len(), 1);

        // unregister from b (behind a): retried after fetch, then a pulls it away
        assert!(unregister(&gb, "STUDY_002").unwrap());
        assert!(!b.join("projects/STUDY_002").exists());
        assert_eq!(delete_mirror(&st, "STUDY_002").unwrap(), 3);
        pull(&a, &creds).unwrap();
        assert!(!a.join("projects/STUDY_002").exists());
        assert!(!unregister(&ga, "STUDY_002").unwrap());
        assert_eq!(projects_store(&st).unwrap().len(), 1);

        // sync_dispatch re-registers a project missing from the register
        let res = sync_dispatch(&ga, "STUDY_003", &loc("/d3", None)).unwrap();
        assert!(res.iter().all(|(_, r)| r.is_ok()));
        assert!(read_ref_store(&st, "STUDY_003").unwrap().is_some());
        st.store.delete_prefix(&format!("{}/STUDY_003/", st.root)).unwrap();
        sync_dispatch(&ga, "STUDY_003", &loc("/d3", None)).unwrap();
        assert!(read_ref_store(&st, "STUDY_003").unwrap().is_some());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn failed_push_leaves_no_registration() {
        let d = tmp("fail");
        let url = d.join("remote.git");
        let url_s = url.to_str().unwrap();
        let a = d.join("a");
        let creds = Creds::default();
        init_gov(url_s, &a, &creds).unwrap();
        // remote vanishes: fetch fails before anything is written
        std::fs::remove_dir_all(&url).unwrap();
        let st = store(&d);
        let g = Gov { clone: &a, url: url_s, creds: &creds, store: &st };
        assert!(register(&g, "P", &loc("/x", None)).is_err());
        assert!(!a.join("projects/P").exists());
        assert!(st.store.list("datom/").unwrap().is_empty());
        // an uninitialised repo is refused
        let url2 = d.join("empty.git");
        git::ensure_bare(&url2).unwrap();
        let c2 = d.join("c2");
        ensure_clone(url2.to_str().unwrap(), &c2, &creds).unwrap();
        let g2 = Gov { clone: &c2, url: url2.to_str().unwrap(), creds: &creds, store: &st };
        assert!(register(&g2, "P", &loc("/x", None)).unwrap_err().message.contains("uninitialised"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A governed project: data store and bare remotes under `d`, clone `d/clone`.
    pub(crate) fn governed_project(d: &Path, name: &str) -> (Project, PathBuf, String, PathBuf, Project) {
        let creds = Creds::default();
        let gov_url = d.join("remotes/gov.git").display().to_string();
        let gov_clone = d.join("gov_clone");
        init_gov(&gov_url, &gov_clone, &creds).unwrap();
        let data_loc = loc(d.join("data").to_str().unwrap(), None);
        let mut data = Project::new(name, Box::new(LocalStore::new(d.join("data"))), None, true, "data".into());
        data.location = Some(data_loc.clone());
        let clone = d.join("clone");
        let remote = d.join(format!("remotes/{name}.git")).display().to_string();
        let req = crate::ops::init::InitRequest {
            path: &clone,
            data: data_loc.clone(),
            remote_url: &remote,
            max_file_size_gb: 1.0,
            git_ignore: vec![],
            force: false,
            datom_version: "0.0.0",
            created_date: "2026-01-01",
            local_now_z: "2026-01-01T00:00:00Z",
            governance: None,
        };
        crate::ops::init::init_repo(&data, &req, &creds).unwrap();
        let st = store(d);
        register(&Gov { clone: &gov_clone, url: &gov_url, creds: &creds, store: &st }, name, &data_loc).unwrap();
        (data, clone, gov_url, gov_clone, st)
    }

    #[test]
    fn decommission_checks_first_then_runs_the_steps_in_order() {
        let d = tmp("teardown");
        let creds = Creds::default();
        let (data, clone, gov_url, gov_clone, st) = governed_project(&d, "DEC");
        fn decom<'a>(data: &'a Project, clone: &'a Path, creds: &'a Creds, st: &'a Project, url: &'a str, gov_clone: Option<&'a Path>) -> Teardown<'a> {
            Teardown {
                data,
                clone,
                creds,
                github_api_url: crate::github::DEFAULT_API_URL,
                gov: Some(TeardownGov { store: st, url: Some(url), clone: gov_clone }),
                decommission: true,
                remove_untracked: false,
            }
        }
        let td = |data, gov_clone| decom(data, &clone, &creds, &st, &gov_url, gov_clone);
        // a connection to another location (same root, other prefix) is refused, nothing touched
        let mut stale = Project::new("DEC", Box::new(LocalStore::new(d.join("data"))), Some("p"), true, "data".into());
        stale.location = Some(loc(d.join("data").to_str().unwrap(), Some("p")));
        let e = teardown(&td(&stale, Some(&gov_clone))).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert!(e.hint.as_deref().unwrap().contains("nothing was touched"), "{e:?}");
        assert!(d.join("data/datom/DEC").exists() && clone.exists());
        // no gov_local_path: the storage step ran, the teardown stops at unregister
        let r = teardown(&td(&data, None)).unwrap();
        assert_eq!(r.events, vec![Event::Storage("datom/DEC/".into())]);
        let e = r.failed.unwrap();
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.starts_with("Decommission of \"DEC\" stopped: No gov_local_path"), "{e:?}");
        assert_eq!(
            e.hint.as_deref(),
            Some("Not done: unregister the project from the governance repo; delete the governance store entry; delete the data repository; remove the local data clone. Fix the cause and run datom_decommission() again.")
        );
        assert!(!d.join("data/datom/DEC").exists() && clone.exists());
        // the re-run completes: the gov clone is cloned again, the git record goes last
        std::fs::remove_dir_all(&gov_clone).unwrap();
        let r = teardown(&td(&data, Some(&gov_clone))).unwrap();
        assert!(r.failed.is_none(), "{:?}", r.failed);
        assert_eq!(
            r.events,
            vec![
                Event::Storage("datom/DEC/".into()),
                Event::GovCloned(gov_clone.clone()),
                Event::Unregistered,
                Event::MirrorDeleted("projects/DEC/".into()),
                Event::LocalRepoDeleted(d.join("remotes/DEC.git")),
                Event::CloneRemoved(clone.clone()),
            ]
        );
        assert!(!clone.exists() && !d.join("remotes/DEC.git").exists() && !gov_clone.join("projects/DEC").exists());
        assert!(read_ref_store(&st, "DEC").unwrap().is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn repo_delete_keeps_a_clone_with_files_not_committed() {
        let d = tmp("repodelete");
        let creds = Creds::default();
        let (data, clone, _, _, _) = governed_project(&d, "KEEP");
        std::fs::write(clone.join("analysis.R"), "draft").unwrap();
        let t = Teardown {
            data: &data,
            clone: &clone,
            creds: &creds,
            github_api_url: crate::github::DEFAULT_API_URL,
            gov: None,
            decommission: false,
            remove_untracked: false,
        };
        let r = teardown(&t).unwrap();
        assert!(r.failed.is_none());
        assert_eq!(r.events[0], Event::RepoDeleteStart);
        assert!(matches!(&r.events[1], Event::LocalRepoDeleted(_)), "{:?}", r.events);
        assert_eq!(r.events[2], Event::CloneKept(vec!["analysis.R".into()]));
        assert!(clone.join("analysis.R").exists());
        // the data store is not a repo_delete's business
        assert!(d.join("data/datom/KEEP").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }


    #[test]
    fn governance_record_names_the_store_without_credentials() {
        let s3 = Location { kind: "s3".into(), root: "gov-bucket".into(), prefix: Some("/".into()), region: None };
        let r = governance_record("https://github.com/acme/gov.git", &s3);
        let t = model::json_text(&r, false);
        assert!(t.starts_with("{\n  \"gov_repo_url\": \"https://github.com/acme/gov.git\",\n  \"gov_storage\": {\n    \"type\": \"s3\",\n    \"root\": \"gov-bucket\",\n    \"region\": \"us-east-1\"\n  },"), "{t}");
        // the attach time is UTC
        let at = as_str(get(&r, "attached_at")).unwrap();
        assert!(at.ends_with('Z') && at.len() == 20, "{at}");
        let r = governance_record("/srv/gov.git", &loc("/g", Some("team")));
        assert_eq!(as_str(get(get(&r, "gov_storage").unwrap(), "prefix")), Some("team"));
        assert_eq!(get(get(&r, "gov_storage").unwrap(), "region"), None);
    }


    #[test]
    fn attach_registers_and_records_the_pointer_once() {
        let d = tmp("attach");
        let creds = Creds::default();
        let (data, clone, gov_url, gov_clone, st) = governed_project(&d, "SOLO");
        let ctx = crate::ops::CloneCtx { path: clone.clone(), creds: Creds::default() };
        let g = Gov { clone: &gov_clone, url: &gov_url, creds: &creds, store: &st };
        let gov_loc = loc(d.join("gov-store").to_str().unwrap(), None);
        assert_eq!(read_pointer(&clone).unwrap(), None);
        // registered already (at this location): only the pointer is written
        let a = attach(&g, &data, &ctx, &gov_loc, "Attach governance: SOLO").unwrap();
        assert!(!a.registered);
        assert!(matches!(a.pointer, PointerOutcome::Written { mirror: None, .. }), "{:?}", a.pointer);
        let p = read_pointer(&clone).unwrap().unwrap();
        assert_eq!(p.url, gov_url);
        assert_eq!(p.storage, Some(gov_loc.clone()));
        // ref.json: the clone's copy, else the store's
        assert!(read_ref(&st, Some(&d.join("nowhere")), "SOLO").unwrap().is_some());
        assert!(read_ref(&st, Some(&gov_clone), "NOPE").unwrap().is_none());
        assert!(data.store.exists("datom/SOLO/.metadata/governance.json").unwrap());
        // again: no change; the same repo spelled with .git/ and file:// too
        let a = attach(&g, &data, &ctx, &gov_loc, "x").unwrap();
        assert!(matches!(a.pointer, PointerOutcome::Unchanged(Some(_))), "{:?}", a.pointer);
        assert!(matches!(attach_pointer(&data, &ctx, &format!("file://{gov_url}/"), &gov_loc, "x").unwrap(), PointerOutcome::Unchanged(_)));
        // the pointer is write-once
        let e = attach_pointer(&data, &ctx, "https://github.com/acme/other-gov.git", &gov_loc, "x").unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        // a name registered for another location is refused
        let mut other = Project::new("SOLO", Box::new(LocalStore::new(d.join("elsewhere"))), None, true, "x".into());
        other.location = Some(loc(d.join("elsewhere").to_str().unwrap(), None));
        assert_eq!(attach(&g, &other, &ctx, &gov_loc, "x").unwrap_err().kind, Kind::Conflict);
        std::fs::remove_dir_all(&d).unwrap();
    }

}

//! Bindings of the governance engine (`crate::ops::gov`).

use super::conn;
use super::result::guard;
use super::sexp::*;
use crate::error::Result;
use crate::git::Creds;
use crate::ops::gov::{self, Gov, RefJson};
use extendr_api::prelude::*;
use std::path::Path;

fn creds(token: &Robj) -> Result<Creds> {
    Ok(Creds { token: super::secret::secret_value(super::sexp::sexp(token))? })
}

fn gov_store(loc: &Robj) -> Result<crate::ops::Project> {
    let l = conn::location(sexp(loc))?;
    let (store, newline, display) = conn::open_store(&l, sexp(loc))?;
    Ok(gov::gov_store(store, l.prefix_norm(), newline, display))
}

/// Run `f` on the governance repo of a call: its store, clone, URL and token.
fn with_gov<T>(gov_loc: &Robj, url: &str, clone: &str, token: &Robj, f: impl FnOnce(&Gov<'_>) -> Result<T>) -> Result<T> {
    let store = gov_store(gov_loc)?;
    let c = creds(token)?;
    f(&Gov { clone: Path::new(clone), url, creds: &c, store: &store })
}

fn ref_to_r(name: Option<&str>, r: &RefJson) -> Result<Robj> {
    ref_to_r_against(name, r, None)
}

/// A ref as an R list; with a store location, also where that store stands
/// (`store_is`: "current", "previous" or "elsewhere"; for "previous" the
/// old location's label and sunset date).
fn ref_to_r_against(name: Option<&str>, r: &RefJson, store: Option<&crate::model::Location>) -> Result<Robj> {
    let opt = |o: Option<String>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
    let prev = r.previous.first();
    let (store_is, old_label, old_sunset) = match store.map(|s| gov::store_against_ref(r, s)) {
        None => (None, None, None),
        Some(gov::StoreAgainstRef::Current) => (Some("current"), None, None),
        Some(gov::StoreAgainstRef::Elsewhere) => (Some("elsewhere"), None, None),
        Some(gov::StoreAgainstRef::Previous(p)) => (Some("previous"), Some(p.location.label()), Some(p.sunset_at.clone().unwrap_or_else(|| "unknown".into()))),
    };
    super::list_named(
        &["name", "type", "root", "prefix", "region", "previous_root", "previous_sunset_at", "label", "store_is", "store_label", "store_sunset_at"],
        vec![
            opt(name.map(|s| s.to_string())),
            r.current.kind.clone().into(),
            r.current.root.clone().into(),
            opt(r.current.prefix.clone()),
            opt(r.current.region.clone()),
            opt(prev.map(|p| p.location.root.clone())),
            opt(prev.and_then(|p| p.sunset_at.clone())),
            r.current.label().into(),
            opt(store_is.map(|s| s.to_string())),
            opt(old_label),
            opt(old_sunset),
        ],
    )
}

/// Initialise (or adopt) the governance repo and its local clone.
#[extendr]
fn rs_gov_init(url: &str, clone: &str, token: Robj) -> Robj {
    guard(|| {
        let s = match gov::init_gov(url, Path::new(clone), &creds(&token)?)? {
            gov::InitGov::Created => "created",
            gov::InitGov::AlreadyInitialised => "already",
            gov::InitGov::Repushed => "repushed",
            gov::InitGov::Cloned => "cloned",
        };
        Ok(s.into())
    })
}

/// Clone the gov repo if absent (TRUE), else check its remote (FALSE).
#[extendr]
fn rs_gov_ensure_clone(url: &str, clone: &str, token: Robj) -> Robj {
    guard(|| Ok(gov::ensure_clone(url, Path::new(clone), &creds(&token)?)?.into()))
}

/// Fetch + fast-forward the gov clone; the number of commits pulled.
#[extendr]
fn rs_gov_pull(clone: &str, token: Robj) -> Robj {
    guard(|| Ok((gov::pull(Path::new(clone), &creds(&token)?)? as i32).into()))
}

/// Is a project registered in the gov clone?
#[extendr]
fn rs_gov_is_registered(clone: &str, name: &str) -> Robj {
    guard(|| Ok(gov::is_registered(Path::new(clone), name).into()))
}

/// Register a project (commit + push on the gov clone, then the store mirror).
#[extendr]
fn rs_gov_register(gov_loc: Robj, url: &str, clone: &str, token: Robj, name: &str, data_loc: Robj) -> Robj {
    guard(|| {
        with_gov(&gov_loc, url, clone, &token, |g| {
            let data = conn::location(sexp(&data_loc))?;
            gov::register(g, name, &data)?;
            Ok(true.into())
        })
    })
}

/// Unregister a project (commit + push on the gov clone).
#[extendr]
fn rs_gov_unregister(gov_loc: Robj, url: &str, clone: &str, token: Robj, name: &str) -> Robj {
    guard(|| {
        with_gov(&gov_loc, url, clone, &token, |g| {
            Ok(gov::unregister(g, name)?.into())
        })
    })
}

/// Delete a project's objects from the gov store.
#[extendr]
fn rs_gov_delete_mirror(gov_loc: Robj, name: &str) -> Robj {
    guard(|| Ok((gov::delete_mirror(&gov_store(&gov_loc)?, name)? as f64).into()))
}

/// A project's ref.json: the gov clone's copy when `clone` is a string and
/// holds one, else the gov store's (`ops::gov::read_ref`).
#[extendr]
fn rs_gov_ref(gov_loc: Robj, clone: Robj, name: &str, store_loc: Robj) -> Robj {
    guard(|| {
        let r = gov::read_ref(&gov_store(&gov_loc)?, clone.as_str().map(Path::new), name)?;
        let store = if store_loc.is_null() { None } else { Some(conn::location(sexp(&store_loc))?) };
        match r {
            Some(r) => ref_to_r_against(Some(name), &r, store.as_ref()),
            None => Ok(().into()),
        }
    })
}

/// Registered projects, from the gov clone (when `clone` is a string) or the gov store.
#[extendr]
fn rs_gov_projects(gov_loc: Robj, clone: Robj) -> Robj {
    guard(|| {
        let list = match clone.as_str() {
            Some(c) => gov::projects_clone(Path::new(c))?,
            None => gov::projects_store(&gov_store(&gov_loc)?)?,
        };
        let mut rows: Vec<Robj> = Vec::new();
        for (n, r) in &list {
            rows.push(match r {
                Ok(r) => ref_to_r(Some(n), r)?,
                Err(e) => super::list_named(&["name", "error"], vec![n.clone().into(), e.message.clone().into()])?,
            });
        }
        Ok(List::from_values(rows).into())
    })
}

/// Is the gov clone initialised (projects/.gitkeep)?
#[extendr]
fn rs_gov_is_initialised(clone: &str) -> Robj {
    guard(|| Ok(gov::is_initialised(Path::new(clone)).into()))
}

/// Write a JSON file of the data clone, commit it and push (undone on failure).
#[extendr]
fn rs_commit_json(conn: Robj, rel: &str, x: Robj, message: &str) -> Robj {
    guard(|| {
        let clone = conn::clone_ctx(sexp(&conn))?;
        let v = super::value::to_rvalue(sexp(&x), "value")?;
        let text = crate::model::json_text(&v, true);
        Ok(crate::ops::collab::commit_files(&clone, &[(rel.to_string(), text.into_bytes())], message)?.into())
    })
}

/// Migrate a project's data (`ops::storage::migrate`): copy, verify, the
/// governance record (when `gov_loc` is not NULL; the event names both
/// namespaces, the old location sunsets `sunset_days` from now, UTC),
/// project.yaml, freeze. list(key, bytes, present, kept_destination,
/// commit, sunset_at).
#[extendr]
fn rs_migrate(from: Robj, to: Robj, gov_loc: Robj, url: Robj, clone: Robj, token: Robj, sunset_days: f64, message: &str) -> Robj {
    guard(|| {
        let a = conn::project(sexp(&from))?;
        let b = conn::project(sexp(&to))?;
        let data_clone = conn::clone_ctx(sexp(&from))?;
        if !(sunset_days.is_finite() && sunset_days >= 0.0) {
            return Err(crate::error::Error::input("`sunset_days` must be a single non-negative number"));
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let sunset_at = crate::model::format_utc((now + sunset_days * 86_400.0).floor() as i64);
        let label = |p: &crate::ops::Project| {
            let l = p.location.as_ref().expect("conn project has a location");
            crate::layout::namespace_label(&l.kind, &l.root, l.prefix_norm())
        };
        let details = crate::identity::rvalue::RValue::named(vec![
            ("from", crate::identity::rvalue::RValue::str(label(&a))),
            ("to", crate::identity::rvalue::RValue::str(label(&b))),
        ]);
        let run = |g: Option<crate::ops::storage::MigrateGov<'_>>| crate::ops::storage::migrate(&a, &b, &data_clone, g, message);
        let m = if gov_loc.is_null() {
            run(None)?
        } else {
            let url = url.as_str().ok_or_else(|| crate::error::Error::input("gov_repo_url is missing"))?;
            let clone = clone.as_str().ok_or_else(|| crate::error::Error::input("gov_local_path is missing"))?;
            with_gov(&gov_loc, url, clone, &token, |g| {
                run(Some(crate::ops::storage::MigrateGov { gov: g, details, sunset_at: sunset_at.clone() }))
            })?
        };
        super::list_named(
            &["key", "bytes", "present", "kept_destination", "commit", "sunset_at"],
            vec![
                m.copied.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(),
                m.copied.iter().map(|x| x.1 as f64).collect::<Vec<_>>().into(),
                (m.present as f64).into(),
                m.kept_destination.into(),
                m.commit.into(),
                sunset_at.into(),
            ],
        )
    })
}

/// The datom namespace of a location (a conn, access list, config or ref),
/// for messages: `s3://bucket/{P/}datom/` or `{root}/{P/}datom/`.
#[extendr]
fn rs_location_label(x: Robj) -> Robj {
    guard(|| {
        let l = conn::any_location(sexp(&x))?;
        Ok(crate::layout::namespace_label(&l.kind, &l.root, l.prefix_norm()).into())
    })
}

/// Adopt a project written by datom 0.1.x (`ops::adopt`): `from` is a conn
/// list on the original's store (its 0.1.x root is derived here), `to` the
/// destination's; `remove = TRUE` deletes the old objects of a completed
/// adoption instead. `dry_run`: the plan only.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_adopt(from: Robj, to: Robj, gov_loc: Robj, url: Robj, clone: Robj, token: Robj, details: Robj, sunset_at: &str, message: &str, dry_run: bool, remove: bool) -> Robj {
    use crate::ops::adopt;
    guard(|| {
        let mut a = conn::project(sexp(&from))?;
        a.root = crate::layout::v01::project_root(a.location.as_ref().and_then(|l| l.prefix_norm()));
        let b = conn::project(sexp(&to))?;
        let data_clone = conn::clone_ctx(sexp(&from))?;
        let details = if details.is_null() { crate::identity::rvalue::RValue::Null } else { super::value::to_rvalue(sexp(&details), "details")? };
        let run = |g: Option<&Gov<'_>>| -> Result<(adopt::Plan, Option<adopt::Adopted>, Option<adopt::Removed>)> {
            if remove {
                let (p, r) = adopt::remove_old(&a, &b, &data_clone, g, dry_run)?;
                return Ok((p, None, Some(r)));
            }
            let ag = g.map(|g| adopt::AdoptGov { gov: g, details: details.clone(), sunset_at: sunset_at.to_string() });
            let out = adopt::adopt(&a, &b, &data_clone, ag, message, dry_run)?;
            Ok((out.plan.clone(), Some(out), None))
        };
        let (plan, done, removed) = if gov_loc.is_null() {
            run(None)?
        } else {
            let url = url.as_str().ok_or_else(|| crate::error::Error::input("gov_repo_url is missing"))?;
            let clone = clone.as_str().ok_or_else(|| crate::error::Error::input("gov_local_path is missing"))?;
            with_gov(&gov_loc, url, clone, &token, |g| run(Some(g)))?
        };
        let opt = |o: Option<String>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
        let o = &plan.objects;
        let objects = super::list_named(
            &["key", "bytes", "kind", "action"],
            vec![
                o.iter().map(|x| x.key.clone()).collect::<Vec<_>>().into(),
                o.iter().map(|x| x.bytes as f64).collect::<Vec<_>>().into(),
                o.iter().map(|x| x.kind.to_string()).collect::<Vec<_>>().into(),
                o.iter().map(|x| x.action.to_string()).collect::<Vec<_>>().into(),
            ],
        )?;
        let m = &plan.missing;
        let missing = super::list_named(
            &["table", "version", "key"],
            vec![
                m.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(),
                m.iter().map(|x| x.1.clone()).collect::<Vec<_>>().into(),
                m.iter().map(|x| x.2.clone()).collect::<Vec<_>>().into(),
            ],
        )?;
        let copied = done.as_ref().map(|d| d.copied.clone()).unwrap_or_default();
        let copied = super::list_named(
            &["key", "bytes"],
            vec![copied.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(), copied.iter().map(|x| x.1 as f64).collect::<Vec<_>>().into()],
        )?;
        let kept = removed.as_ref().map(|r| r.kept.clone()).unwrap_or_default();
        let kept = super::list_named(
            &["key", "issue"],
            vec![kept.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(), kept.iter().map(|x| x.1.clone()).collect::<Vec<_>>().into()],
        )?;
        super::list_named(
            &[
                "project", "from", "to", "moves", "commit", "published_before", "objects", "old_mirrors", "mirrors", "skipped", "missing",
                "repo_change", "governance", "recorded", "complete", "copied", "present", "verified", "published", "held", "repo_commit",
                "deleted", "kept", "adopted_key",
            ],
            vec![
                plan.project.clone().into(),
                plan.from.clone().into(),
                plan.to.clone().into(),
                plan.moves.into(),
                plan.commit.clone().into(),
                opt(plan.published.clone()),
                objects,
                plan.old_mirrors.clone().into(),
                plan.mirrors.clone().into(),
                plan.skipped.clone().into(),
                missing,
                opt(plan.repo_change.clone()),
                plan.gov.as_str().into(),
                plan.recorded.into(),
                plan.complete.into(),
                copied,
                (done.as_ref().map(|d| d.present).unwrap_or(0) as f64).into(),
                (done.as_ref().map(|d| d.verified).unwrap_or(0) as f64).into(),
                opt(done.as_ref().and_then(|d| d.published.clone())),
                done.as_ref().map(|d| d.held.clone()).unwrap_or_default().into(),
                opt(done.as_ref().and_then(|d| d.repo_commit.clone())),
                removed.as_ref().map(|r| r.deleted.clone()).unwrap_or_default().into(),
                kept,
                crate::layout::v01::ADOPTED.into(),
            ],
        )
    })
}

/// Do two locations (conns, access lists, project configs or refs) name the
/// same place? The one rule: `Location::same_place` (type, root resolved,
/// prefix normalised).
#[extendr]
fn rs_same_location(a: Robj, b: Robj) -> Robj {
    guard(|| Ok(conn::any_location(sexp(&a))?.same_place(&conn::any_location(sexp(&b))?).into()))
}

/// A repository URL parsed once (`git::RepoUrl`): list(url = as datom
/// records it (a local path made absolute), local, name).
#[extendr]
fn rs_repo_url(url: &str) -> Robj {
    guard(|| {
        let u = crate::git::RepoUrl::parse(url);
        super::list_named(&["url", "local", "name"], vec![u.normalized(url).into(), u.is_local().into(), u.name().into()])
    })
}

/// Do two URLs name the same repository (`git::RepoUrl::same_repo`)?
#[extendr]
fn rs_same_url(a: &str, b: &str) -> Robj {
    guard(|| Ok(crate::git::RepoUrl::same_repo(a, b).into()))
}

/// `.datom/governance.json` of a project attached to `url` and the
/// governance store `gov_loc` (attach time in UTC).
#[extendr]
fn rs_governance_record(url: &str, gov_loc: Robj) -> Robj {
    guard(|| {
        let l = conn::location(sexp(&gov_loc))?;
        super::value::from_rvalue(&gov::governance_record(url, &l)).map_err(super::result::rerr)
    })
}

/// A teardown (`ops::gov::teardown`) of the conn's project: decommission
/// (storage, governance when `gov_loc` is not NULL, data repo, clone) or
/// repo delete. list(events = list(list(id, value, error)), failed =
/// NULL or the error value that stopped it).
#[extendr]
fn rs_teardown(conn: Robj, gov_loc: Robj, api_url: &str, decommission: bool, remove_untracked: bool) -> Robj {
    use gov::Event as E;
    guard(|| {
        let data = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let gov_store = if gov_loc.is_null() { None } else { Some(gov_store(&gov_loc)?) };
        let url = conn::field_str(sexp(&conn), "gov_repo_url");
        let gov_clone = conn::field_str(sexp(&conn), "gov_local_path").map(std::path::PathBuf::from);
        let t = gov::Teardown {
            data: &data,
            clone: &clone.path,
            creds: &clone.creds,
            github_api_url: api_url,
            gov: gov_store.as_ref().map(|store| gov::TeardownGov { store, url: url.as_deref(), clone: gov_clone.as_deref() }),
            decommission,
            remove_untracked,
        };
        let r = gov::teardown(&t)?;
        let p = |p: &std::path::PathBuf| Robj::from(p.display().to_string());
        let mut events = Vec::new();
        for e in &r.events {
            let (id, value, error): (&str, Robj, Robj) = match e {
                E::RepoDeleteStart => ("repo_delete", ().into(), ().into()),
                E::Storage(ns) => ("storage", ns.as_str().into(), ().into()),
                E::NoGovernance => ("no_governance", ().into(), ().into()),
                E::GovCloned(x) => ("gov_cloned", p(x), ().into()),
                E::Unregistered => ("unregistered", ().into(), ().into()),
                E::MirrorDeleted => ("mirror_deleted", ().into(), ().into()),
                E::LocalRepoGone(x) => ("local_repo_gone", p(x), ().into()),
                E::LocalRepoDeleted(x) => ("local_repo_deleted", p(x), ().into()),
                E::NoToken(u) => ("no_token", u.as_str().into(), ().into()),
                E::GithubDeleting(n) => ("github_deleting", n.as_str().into(), ().into()),
                E::GithubDeleted(n) => ("github_deleted", n.as_str().into(), ().into()),
                E::NoGithubRemote => ("no_github_remote", ().into(), ().into()),
                E::GithubFailed(n, err) => ("github_failed", n.as_str().into(), super::result::error_robj(err)),
                E::CloneRemoving(x) => ("clone_removing", p(x), ().into()),
                E::CloneRemoved(x) => ("clone_removed", p(x), ().into()),
                E::CloneNotRemoved(x) => ("clone_not_removed", p(x), ().into()),
                E::CloneKept(files) => ("clone_kept", files.clone().into(), ().into()),
            };
            events.push(super::list_named(&["id", "value", "error"], vec![id.into(), value, error])?);
        }
        let failed = r.failed.as_ref().map(super::result::error_robj).unwrap_or_else(|| ().into());
        super::list_named(&["events", "failed"], vec![List::from_values(events).into(), failed])
    })
}

fn pointer_to_r(p: &gov::PointerOutcome) -> Result<Vec<Robj>> {
    Ok(match p {
        gov::PointerOutcome::Unchanged(head) => vec![false.into(), head.clone().map(Robj::from).unwrap_or_else(|| ().into()), ().into()],
        gov::PointerOutcome::Written { commit, mirror } => {
            vec![true.into(), commit.as_str().into(), mirror.as_ref().map(super::result::error_robj).unwrap_or_else(|| ().into())]
        }
    })
}

/// The clone's governance pointer (`.datom/governance.json`): NULL, or
/// list(gov_repo_url, gov_storage = list(type, root, prefix, region)).
#[extendr]
fn rs_recorded_governance(path: &str) -> Robj {
    guard(|| {
        let Some(p) = gov::read_pointer(Path::new(path))? else { return Ok(().into()) };
        let opt = |o: Option<String>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
        let storage = match &p.storage {
            Some(l) => super::list_named(
                &["type", "root", "prefix", "region"],
                vec![l.kind.clone().into(), l.root.clone().into(), opt(l.prefix.clone()), opt(l.region.clone())],
            )?,
            None => ().into(),
        };
        super::list_named(&["gov_repo_url", "gov_storage"], vec![p.url.into(), storage])
    })
}

/// Record the conn's governance pointer (`ops::gov::attach_pointer`):
/// list(written, commit, mirror_error).
#[extendr]
fn rs_attach_pointer(conn: Robj, url: &str, gov_loc: Robj, message: &str) -> Robj {
    guard(|| {
        let data = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let gl = conn::location(sexp(&gov_loc))?;
        let out = gov::attach_pointer(&data, &clone, url, &gl, message)?;
        super::list_named(&["written", "commit", "mirror_error"], pointer_to_r(&out)?)
    })
}

/// Attach governance to the conn's project (`ops::gov::attach`): list(registered,
/// written, commit, mirror_error).
#[extendr]
fn rs_attach_gov(conn: Robj, gov_loc: Robj, url: &str, gov_clone: &str, message: &str) -> Robj {
    guard(|| {
        let data = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let gl = conn::location(sexp(&gov_loc))?;
        let store = gov_store(&gov_loc)?;
        let g = Gov { clone: Path::new(gov_clone), url, creds: &clone.creds, store: &store };
        let a = gov::attach(&g, &data, &clone, &gl, message)?;
        let mut v = vec![Robj::from(a.registered)];
        v.extend(pointer_to_r(&a.pointer)?);
        super::list_named(&["registered", "written", "commit", "mirror_error"], v)
    })
}

/// A path made absolute by the one rule (`git::absolute_path`): `~`
/// expanded, relative to the working directory, resolved when it exists,
/// no `.` segments or trailing `/`.
#[extendr]
fn rs_abs_path(path: &str) -> Robj {
    guard(|| Ok(crate::git::absolute_path(Path::new(path)).display().to_string().into()))
}

/// A store prefix as the layout reads it (`layout::clean_prefix`) with one
/// trailing `/`; NULL for none (`p`, `p/` and `/p//` are the same place).
#[extendr]
fn rs_clean_prefix(prefix: &str) -> Robj {
    let p = crate::layout::clean_prefix(Some(prefix));
    if p.is_empty() {
        ().into()
    } else {
        format!("{p}/").into()
    }
}

extendr_module! {
    mod gov;
    fn rs_gov_init;
    fn rs_gov_ensure_clone;
    fn rs_gov_pull;
    fn rs_gov_is_registered;
    fn rs_gov_register;
    fn rs_gov_unregister;
    fn rs_gov_delete_mirror;
    fn rs_gov_ref;
    fn rs_gov_projects;
    fn rs_gov_is_initialised;
    fn rs_commit_json;
    fn rs_migrate;
    fn rs_adopt;
    fn rs_same_location;
    fn rs_repo_url;
    fn rs_same_url;
    fn rs_governance_record;
    fn rs_teardown;
    fn rs_recorded_governance;
    fn rs_attach_pointer;
    fn rs_attach_gov;
    fn rs_location_label;
    fn rs_abs_path;
    fn rs_clean_prefix;
}

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

/// The governance store of a conn (its `gov_*` fields) or of an access list.
fn gov_store(loc: &Robj) -> Result<crate::ops::Project> {
    let (l, store, newline, display) = conn::gov_store_of(sexp(loc))?;
    Ok(gov::gov_store(store, l.prefix_norm(), newline, display))
}

/// Element `name` of an R list as it is (NULL when absent).
fn elt(x: &Robj, name: &str) -> Robj {
    x.as_list().and_then(|l| l.iter().find(|(n, _)| *n == name).map(|(_, v)| v)).unwrap_or_else(|| ().into())
}

/// A data frame of equal-length columns (row names as `as.data.frame()` sets them).
fn data_frame(names: &[&str], cols: Vec<Robj>, n: usize) -> Result<Robj> {
    let mut df = super::list_named(names, cols)?;
    let rn: Robj = if n == 0 { Robj::from(Vec::<i32>::new()) } else { Robj::from(vec![i32::MIN, -(n as i32)]) };
    df.set_attrib("row.names", rn).map_err(super::result::rerr)?;
    df.set_attrib("class", "data.frame").map_err(super::result::rerr)?;
    Ok(df)
}

/// A conn (class `datom_conn`): the data location's access list `loc`, the
/// governance `gov` (access list, URL, clone path) and the rest.
#[allow(clippy::too_many_arguments)]
fn conn_list(project_name: Robj, loc: &Robj, path: Robj, role: &str, gov: Option<(&Robj, Robj, Robj)>, data_repo_url: Robj, github_pat: Robj, api_url: Robj) -> Result<Robj> {
    let g = |k: &str| gov.as_ref().map(|(a, _, _)| elt(a, k)).unwrap_or_else(|| ().into());
    let gov_fields = [g("root"), g("prefix"), g("region"), g("client"), g("backend"), g("endpoint")];
    let (gov_url, gov_path) = gov.map(|(_, u, p)| (u, p)).unwrap_or_else(|| (().into(), ().into()));
    let api = if api_url.is_null() { Robj::from("https://api.github.com") } else { api_url };
    let mut vals = vec![project_name, elt(loc, "backend"), elt(loc, "root"), elt(loc, "prefix"), elt(loc, "region"), elt(loc, "client"), path, role.into(), elt(loc, "endpoint")];
    vals.extend(gov_fields);
    vals.extend([gov_path, gov_url, data_repo_url, github_pat, api]);
    let mut c = super::list_named(
        &[
            "project_name", "backend", "root", "prefix", "region", "client", "path", "role", "endpoint", "gov_root", "gov_prefix", "gov_region",
            "gov_client", "gov_backend", "gov_endpoint", "gov_local_path", "gov_repo_url", "data_repo_url", "github_pat", "github_api_url",
        ],
        vals,
    )?;
    c.set_attrib("class", "datom_conn").map_err(super::result::rerr)?;
    Ok(c)
}

/// Data locations opened with the data component's credentials and endpoint.
struct RAccess {
    client: Option<extendr_ffi::SEXP>,
    endpoint: Option<String>,
}

impl crate::ops::conn::DataAccess for RAccess {
    fn project(&self, name: &str, loc: &crate::model::Location) -> Result<crate::ops::Project> {
        let (store, newline, display) = conn::open_store_with(loc, self.client, self.endpoint.clone())?;
        let mut p = crate::ops::Project::new(name, store, loc.prefix_norm(), newline, display);
        p.location = Some(loc.clone());
        Ok(p)
    }
    fn probe_bucket(&self, loc: &crate::model::Location) -> Result<std::result::Result<(), crate::error::Error>> {
        crate::store::s3::S3Store::new(conn::s3_config_with(loc, self.client, self.endpoint.clone())?)?.probe_bucket()
    }
}

fn access_of(data: &Robj, endpoint: &Robj) -> RAccess {
    let d = sexp(data);
    RAccess {
        client: conn::field(d, "client"),
        endpoint: endpoint.as_str().map(str::to_string).or_else(|| conn::field_str(d, "endpoint")).filter(|s| !s.is_empty()),
    }
}

fn connect_event(e: &crate::ops::conn::Event) -> Result<Robj> {
    use crate::ops::conn::Event as E;
    let (id, value): (&str, Robj) = match e {
        E::NoGovernanceAttached => ("no_governance", ().into()),
        E::RefUnresolved(why) => ("ref_unresolved", why.as_str().into()),
        E::OldLocation { store_label, label, sunset_at } => (
            "old_location",
            super::list_named(&["store_label", "label", "sunset_at"], vec![store_label.as_str().into(), label.as_str().into(), sunset_at.as_str().into()])?,
        ),
        E::RefDiffers => ("ref_differs", ().into()),
        E::MigratedElsewhere { to, from } => ("migrated_elsewhere", super::list_named(&["to", "from"], vec![to.as_str().into(), from.as_str().into()])?),
        E::GovernedDataOnly { kind, root, url } => (
            "governed_data_only",
            super::list_named(&["type", "root", "url"], vec![kind.as_str().into(), root.as_str().into(), url.as_str().into()])?,
        ),
        E::Unverified(why) => ("unverified", why.as_str().into()),
    };
    super::list_named(&["id", "value"], vec![id.into(), value])
}

/// Connect (`ops::conn::connect`): `path` NULL for a reader; `data` the
/// data component's access list (for a credentials-only component, a list
/// of `endpoint` and `client` only); `gov_loc` the governance component's
/// access list or NULL. list(events = list(list(id, value)), failed = NULL
/// or the error that stopped it, project_name, conn).
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_connect(path: Robj, project_name: Robj, data: Robj, endpoint: Robj, gov_loc: Robj, gov_url: Robj, gov_local_path: Robj, token: Robj, api_url: Robj) -> Robj {
    use crate::ops::conn;
    guard(|| {
        let d = sexp(&data);
        let store_loc = if super::conn::field(d, "backend").is_some() { Some(super::conn::location(d)?) } else { None };
        let access = access_of(&data, &endpoint);
        let creds = creds(&token)?;
        let path_s = path.as_str().map(std::path::PathBuf::from);
        let local = gov_local_path.as_str().map(std::path::PathBuf::from);
        let req = conn::Request {
            path: path_s.as_deref(),
            project_name: project_name.as_str(),
            data: store_loc,
            gov: if gov_loc.is_null() { None } else { Some(conn::StoreGov { store: gov_store(&gov_loc), url: gov_url.as_str(), local_path: local.as_deref() }) },
            creds: &creds,
            access: &access,
        };
        let out = conn::connect(&req);
        let events = out.events.iter().map(connect_event).collect::<Result<Vec<_>>>()?;
        let events: Robj = List::from_values(events).into();
        let opt = |o: Option<String>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
        let c = match out.result {
            Ok(c) => c,
            Err(e) => return super::list_named(&["events", "failed", "project_name"], vec![events, super::result::error_robj(&e), opt(out.project_name)]),
        };
        let loc = if c.from_ref {
            let l = &c.data;
            super::list_named(
                &["backend", "root", "prefix", "region", "endpoint", "client"],
                vec![l.kind.clone().into(), l.root.clone().into(), opt(l.prefix.clone()), opt(l.region.clone()), opt(access.endpoint.clone()), elt(&data, "client")],
            )?
        } else {
            data.clone()
        };
        let dev = !path.is_null();
        let gov = c.gov.as_ref().map(|g| (&gov_loc, opt(g.url.clone()), opt(g.clone.as_ref().map(|p| p.display().to_string()))));
        let name: Robj = c.project_name.clone().into();
        let conn = conn_list(
            name.clone(),
            &loc,
            path.clone(),
            if dev { "developer" } else { "reader" },
            gov,
            opt(c.data_repo_url),
            if dev { token.clone() } else { ().into() },
            api_url,
        )?;
        super::list_named(&["events", "failed", "project_name", "conn"], vec![events, ().into(), name, conn])
    })
}

/// Can a data location (an access list) be reached? An error when a local
/// folder or S3 bucket is missing or refused; the reason (a string) when an
/// S3 bucket could not be verified; else NULL.
#[extendr]
fn rs_check_reachable(loc: Robj) -> Robj {
    guard(|| {
        let l = conn::location(sexp(&loc))?;
        Ok(match crate::ops::conn::check_reachable(&l, &access_of(&loc, &().into()))? {
            Some(why) => why.into(),
            None => ().into(),
        })
    })
}

/// The gov clone of a store next to a data clone (`ops::conn::gov_clone_path`):
/// `local_path`, or a sibling of the data clone named after the repo `url`.
#[extendr]
fn rs_gov_clone_path(local_path: Robj, data_path: &str, url: Robj) -> Robj {
    guard(|| {
        let local = local_path.as_str().map(std::path::PathBuf::from);
        let url = match (&local, url.as_str()) {
            (Some(_), u) => u.unwrap_or(""),
            (None, Some(u)) => u,
            (None, None) => return Err(crate::error::Error::input("No governance repo URL: the gov clone path cannot be derived.")),
        };
        Ok(crate::ops::conn::gov_clone_path(local.as_deref(), Path::new(data_path), url).display().to_string().into())
    })
}

/// The checks of `datom_init_repo()` before any side effect
/// (`ops::init::preflight`): no project at `path`, and (unless `force`) a
/// free data store namespace for `name` at the access list `loc`.
#[extendr]
fn rs_init_preflight(path: &str, name: &str, loc: Robj, force: bool) -> Robj {
    guard(|| {
        let p = conn::project_at(name, sexp(&loc))?;
        crate::ops::init::preflight(&p, Path::new(path), force)?;
        Ok(true.into())
    })
}

/// The gov clone of a governed init, up to date (cloned when absent, else
/// pulled), and `name` not registered in it yet (`ops::gov::prepare_register`).
#[extendr]
fn rs_gov_prepare_register(url: &str, clone: &str, token: Robj, name: &str) -> Robj {
    guard(|| {
        gov::prepare_register(url, Path::new(clone), &creds(&token)?, name)?;
        Ok(true.into())
    })
}

/// The governance side of a governed init (`ops::init::register_governed`):
/// the project (`name` at the access list `data_loc`, data clone `path`)
/// registered in the gov repo: list(mirror_error = NULL, or the error of
/// publishing `.datom/governance.json` to the data store).
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_init_register(gov_loc: Robj, url: &str, gov_clone: &str, token: Robj, name: &str, data_loc: Robj, path: &str) -> Robj {
    guard(|| {
        let project = conn::project_at(name, sexp(&data_loc))?;
        let clone = crate::ops::CloneCtx { path: path.into(), creds: creds(&token)? };
        with_gov(&gov_loc, url, gov_clone, &token, |g| {
            let e = crate::ops::init::register_governed(g, &project, &clone)?;
            // in a list: an error value returned alone would be raised by engine()
            super::list_named(&["mirror_error"], vec![e.map(|e| super::result::error_robj(&e)).unwrap_or_else(|| ().into())])
        })
    })
}

/// The lines of a printed conn (`ops::conn::display_rows`):
/// list(list(label, value, style)).
#[extendr]
fn rs_conn_rows(x: Robj) -> Robj {
    guard(|| {
        let c = sexp(&x);
        let f = |k: &str| conn::field_str(c, k);
        let loc = |p: &str| crate::model::Location {
            kind: f(&format!("{p}backend")).unwrap_or_default(),
            root: f(&format!("{p}root")).unwrap_or_default(),
            prefix: f(&format!("{p}prefix")),
            region: f(&format!("{p}region")),
        };
        let view = crate::ops::conn::ConnView {
            project_name: f("project_name"),
            role: f("role"),
            data: loc(""),
            gov: f("gov_root").map(|_| loc("gov_")),
            endpoint: f("endpoint"),
            path: f("path"),
            data_repo_url: f("data_repo_url"),
        };
        let rows = crate::ops::conn::display_rows(&view)
            .into_iter()
            .map(|(label, value, style)| super::list_named(&["label", "value", "style"], vec![label.into(), value.map(Robj::from).unwrap_or_else(|| ().into()), style.into()]))
            .collect::<Result<Vec<_>>>()?;
        Ok(List::from_values(rows).into())
    })
}

/// The default `.gitignore` patterns of a data repository (`ops::init::DEFAULT_GITIGNORE`).
#[extendr]
fn rs_default_git_ignore() -> Vec<String> {
    crate::ops::init::DEFAULT_GITIGNORE.iter().map(|s| s.to_string()).collect()
}

/// Bring a conn's gov clone up to date (`ops::gov::refresh`): clone it when
/// absent, else fetch and fast-forward. list(cloned, pulled).
#[extendr]
fn rs_gov_refresh(conn: Robj) -> Robj {
    guard(|| {
        let c = sexp(&conn);
        let (Some(url), Some(clone)) = (conn::field_str(c, "gov_repo_url"), conn::field_str(c, "gov_local_path")) else {
            return Err(crate::error::Error::input("The connection has no governance repo URL and clone path to refresh.")
                .with_hint("Rebuild the connection with datom_get_conn() and a store with gov_repo_url and gov_local_path."));
        };
        let creds = Creds { token: super::secret::secret_field(c, "github_pat")? };
        let r = gov::refresh(&url, Path::new(&clone), &creds)?;
        super::list_named(&["cloned", "pulled"], vec![r.is_none().into(), (r.unwrap_or(0) as i32).into()])
    })
}

/// Run `f` on the governance repo of a call: its store, clone, URL and token.
fn with_gov<T>(gov_loc: &Robj, url: &str, clone: &str, token: &Robj, f: impl FnOnce(&Gov<'_>) -> Result<T>) -> Result<T> {
    let store = gov_store(gov_loc)?;
    let c = creds(token)?;
    f(&Gov { clone: Path::new(clone), url, creds: &c, store: &store })
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

/// Initialise (or adopt) the governance repo (`url`, recorded as datom
/// records it) and its local clone (`clone`, or a folder named after the
/// repo in `default_dir`): list(state, url, path, fresh = the clone did not
/// exist before).
#[extendr]
fn rs_gov_init(url: &str, clone: Robj, default_dir: &str, token: Robj) -> Robj {
    guard(|| {
        let u = crate::git::RepoUrl::parse(url);
        let url = u.normalized(url);
        let path = match clone.as_str() {
            Some(c) => crate::git::absolute_path(Path::new(c)),
            None => crate::git::absolute_path(&Path::new(default_dir).join(u.name())),
        };
        let fresh = !path.exists();
        let s = match gov::init_gov(&url, &path, &creds(&token)?)? {
            gov::InitGov::Created => "created",
            gov::InitGov::AlreadyInitialised => "already",
            gov::InitGov::Repushed => "repushed",
            gov::InitGov::Cloned => "cloned",
        };
        super::list_named(&["state", "url", "path", "fresh"], vec![s.into(), url.into(), path.display().to_string().into(), fresh.into()])
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

/// Registered projects of `x`: a conn's gov clone when it exists, else its
/// gov store; or the gov store of an access list: list(projects = a
/// data frame sorted by name (name, data_backend, data_root, data_prefix,
/// registered_at: the commit time of the registration in the clone, NA
/// from the store), skipped = list(list(name, error)) of unreadable refs).
#[extendr]
fn rs_gov_projects(x: Robj) -> Robj {
    guard(|| {
        let clone = conn::is_conn(sexp(&x)).then(|| conn::field_str(sexp(&x), "gov_local_path")).flatten().filter(|p| Path::new(p).is_dir());
        let list = match &clone {
            Some(c) => gov::projects_clone(Path::new(c))?,
            None => gov::projects_store(&gov_store(&x)?)?,
        };
        let mut skipped: Vec<Robj> = Vec::new();
        let (mut name, mut kind, mut root, mut prefix, mut at) = (vec![], vec![], vec![], vec![], vec![]);
        let na = |o: Option<String>| o.map(|s| Rstr::from(s.as_str())).unwrap_or_else(Rstr::na);
        for (n, r) in &list {
            match r {
                Ok(r) => {
                    name.push(n.clone());
                    kind.push(r.current.kind.clone());
                    root.push(r.current.root.clone());
                    prefix.push(na(r.current.prefix.clone()));
                    at.push(na(match &clone {
                        Some(c) => gov::registered_at(Path::new(c), n)?,
                        None => None,
                    }));
                }
                Err(e) => skipped.push(super::list_named(&["name", "error"], vec![n.clone().into(), e.message.clone().into()])?),
            }
        }
        let n = name.len();
        let projects = data_frame(
            &["name", "data_backend", "data_root", "data_prefix", "registered_at"],
            vec![name.into(), kind.into(), root.into(), prefix.into_iter().collect::<Strings>().into(), at.into_iter().collect::<Strings>().into()],
            n,
        )?;
        super::list_named(&["projects", "skipped"], vec![projects, List::from_values(skipped).into()])
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
fn rs_migrate(from: Robj, to: Robj, gov_loc: Robj, url: Robj, clone: Robj, token: Robj, sunset_days: f64, message: Robj) -> Robj {
    guard(|| {
        let a = conn::project(sexp(&from))?;
        let message = crate::ops::storage::migration_message(&a.name, message.as_str());
        let message = message.as_str();
        let b = conn::project(sexp(&to))?;
        let data_clone = conn::clone_ctx(sexp(&from))?;
        if !(sunset_days.is_finite() && sunset_days >= 0.0) {
            return Err(crate::error::Error::input("`sunset_days` must be a single non-negative number"));
        }
        let sunset_at = crate::model::utc_after_days(sunset_days);
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

/// The plan of a migration of conn `from` to conn `to` (`ops::storage::
/// plan_migration`, every check first): list(already_there, objects); a
/// governed conn without a gov clone path, or a destination another project
/// holds, is an error.
#[extendr]
fn rs_migrate_plan(from: Robj, to: Robj) -> Robj {
    guard(|| {
        let a = conn::project(sexp(&from))?;
        let b = conn::project(sexp(&to))?;
        let clone = conn::field_str(sexp(&from), "gov_local_path");
        let gov = conn::field(sexp(&from), "gov_root").map(|_| clone.as_deref().map(std::path::Path::new));
        let (there, n) = match crate::ops::storage::plan_migration(&a, &b, gov)? {
            crate::ops::storage::MigrationPlan::AlreadyThere => (true, 0),
            crate::ops::storage::MigrationPlan::Move { objects } => (false, objects),
        };
        super::list_named(&["already_there", "objects"], vec![there.into(), (n as i32).into()])
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

/// Adopt a project written by datom 0.1.x (`ops::adopt`): the data clone
/// `path` (its project.yaml names the project), the original store's
/// access list `data` (its 0.1.x root is derived here), the destination's
/// `to`; a governed project (`.datom/governance.json`) needs the store's
/// governance store `gov_loc` (its S3 endpoint defaults to the data's), and
/// its URL and clone are checked against the record
/// (`ops::conn::governance_of`); the clone is brought up to date first
/// (`gov_cloned`: it was cloned, at `gov_path`). `remove = TRUE` deletes the
/// old objects of a completed adoption instead. `dry_run`: the plan only.
/// With a move, the old location sunsets `sunset_days` from now (UTC);
/// `message` (NULL: `Adopt data store: NAME`) commits the move. The result
/// names the old and new namespaces (`old_root`, `new_root`); `objects`,
/// `missing`, `copied` and `kept` are data frames.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_adopt(path: &str, data: Robj, to: Robj, gov_loc: Robj, gov_url: Robj, gov_local_path: Robj, token: Robj, sunset_days: f64, message: Robj, dry_run: bool, remove: bool) -> Robj {
    use crate::ops::adopt;
    guard(|| {
        let name = crate::ops::read_config(Path::new(path))?.project_name;
        let mut a = conn::project_at(&name, sexp(&data))?;
        let old_loc = a.location.clone().expect("project_at sets the location");
        a.root = crate::layout::v01::project_root(old_loc.prefix_norm());
        let b = conn::project_at(&name, sexp(&to))?;
        let new_loc = b.location.clone().expect("project_at sets the location");
        let data_clone = crate::ops::CloneCtx { path: path.into(), creds: creds(&token)? };
        if !(sunset_days.is_finite() && sunset_days >= 0.0) {
            return Err(crate::error::Error::input("`sunset_days` must be a single non-negative number"));
        }
        let local = gov_local_path.as_str().map(std::path::PathBuf::from);
        let governance = crate::ops::conn::governance_of(Path::new(path), &name, !gov_loc.is_null(), gov_url.as_str(), local.as_deref())?;
        let message = message.as_str().map(str::to_string).unwrap_or_else(|| format!("Adopt data store: {name}"));
        let message = message.as_str();
        let (old_root, new_root) = adopt::labels(&old_loc, &new_loc, &a.name);
        let details = adopt::details(&old_root, &new_root);
        let sunset_at = crate::model::utc_after_days(sunset_days);
        let run = |g: Option<&Gov<'_>>| -> Result<(adopt::Plan, Option<adopt::Adopted>, Option<adopt::Removed>)> {
            if remove {
                let (p, r) = adopt::remove_old(&a, &b, &data_clone, g, dry_run)?;
                return Ok((p, None, Some(r)));
            }
            let ag = g.map(|g| adopt::AdoptGov { gov: g, details: details.clone(), sunset_at: sunset_at.clone() });
            let out = adopt::adopt(&a, &b, &data_clone, ag, message, dry_run)?;
            Ok((out.plan.clone(), Some(out), None))
        };
        let mut gov_cloned = false;
        let (plan, done, removed) = match &governance {
            None => run(None)?,
            Some(gv) => {
                let gl = conn::location(sexp(&gov_loc))?;
                let endpoint = conn::field_str(sexp(&gov_loc), "endpoint").or_else(|| conn::field_str(sexp(&data), "endpoint")).filter(|e| !e.is_empty());
                let (st, newline, display) = conn::open_store_with(&gl, conn::field(sexp(&gov_loc), "client"), endpoint)?;
                let store = gov::gov_store(st, gl.prefix_norm(), newline, display);
                gov_cloned = gov::refresh(&gv.store_url, &gv.clone, &data_clone.creds)?.is_none();
                run(Some(&Gov { clone: &gv.clone, url: &gv.store_url, creds: &data_clone.creds, store: &store }))?
            }
        };
        let gov_path: Robj = governance.as_ref().map(|g| Robj::from(g.clone.display().to_string())).unwrap_or_else(|| ().into());
        let opt = |o: Option<String>| -> Robj { o.map(Robj::from).unwrap_or_else(|| ().into()) };
        let o = &plan.objects;
        let objects = data_frame(
            &["key", "bytes", "kind", "action"],
            vec![
                o.iter().map(|x| x.key.clone()).collect::<Vec<_>>().into(),
                o.iter().map(|x| x.bytes as f64).collect::<Vec<_>>().into(),
                o.iter().map(|x| x.kind.to_string()).collect::<Vec<_>>().into(),
                o.iter().map(|x| x.action.to_string()).collect::<Vec<_>>().into(),
            ],
            o.len(),
        )?;
        let m = &plan.missing;
        let missing = data_frame(
            &["table", "version", "key"],
            vec![
                m.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(),
                m.iter().map(|x| x.1.clone()).collect::<Vec<_>>().into(),
                m.iter().map(|x| x.2.clone()).collect::<Vec<_>>().into(),
            ],
            m.len(),
        )?;
        let copied = done.as_ref().map(|d| d.copied.clone()).unwrap_or_default();
        let copied = data_frame(
            &["key", "bytes"],
            vec![copied.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(), copied.iter().map(|x| x.1 as f64).collect::<Vec<_>>().into()],
            copied.len(),
        )?;
        let kept = removed.as_ref().map(|r| r.kept.clone()).unwrap_or_default();
        let kept = data_frame(
            &["key", "issue"],
            vec![kept.iter().map(|x| x.0.clone()).collect::<Vec<_>>().into(), kept.iter().map(|x| x.1.clone()).collect::<Vec<_>>().into()],
            kept.len(),
        )?;
        super::list_named(
            &[
                "project", "from", "to", "moves", "commit", "published_before", "objects", "old_mirrors", "mirrors", "skipped", "missing",
                "repo_change", "governance", "recorded", "complete", "copied", "present", "verified", "published", "held", "repo_commit",
                "deleted", "kept", "adopted_key", "old_root", "new_root", "gov_cloned", "gov_path",
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
                old_root.into(),
                new_root.into(),
                gov_cloned.into(),
                gov_path,
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
/// (storage, governance when the conn has it (`gov_root`), data repo,
/// clone) or repo delete. list(events = list(list(id, value, error)),
/// failed = NULL or the error value that stopped it).
#[extendr]
fn rs_teardown(conn: Robj, api_url: &str, decommission: bool, remove_untracked: bool) -> Robj {
    use gov::Event as E;
    guard(|| {
        let data = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let governed = decommission && conn::field(sexp(&conn), "gov_root").is_some();
        let gov_store = if governed { Some(gov_store(&conn)?) } else { None };
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
                E::MirrorDeleted(prefix) => ("mirror_deleted", prefix.as_str().into(), ().into()),
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

/// Is the conn's project attached to governance already
/// (`ops::gov::attached_to`)? FALSE: not attached; TRUE: attached to `url`
/// (or `url` is NULL); a conflict when attached to another repo.
#[extendr]
fn rs_attached(conn: Robj, url: Robj) -> Robj {
    guard(|| {
        let c = sexp(&conn);
        let clone = conn::clone_ctx(c)?;
        let name = conn::field_str(c, "project_name").ok_or_else(|| crate::error::Error::input("conn has no project_name"))?;
        let conn_url = conn::field_str(c, "gov_repo_url");
        let conn_gov = conn::field(c, "gov_root").map(|_| conn_url.as_deref());
        Ok(gov::attached_to(&clone.path, &name, conn_gov, url.as_str())?.into())
    })
}

/// Attach governance to the conn's project (`ops::gov::attach`) at the
/// repo `url` (as datom records it) and the gov clone `gov_local_path`
/// (default: a sibling of the data clone named after the repo):
/// list(registered, written, commit, mirror_error, conn = the conn with
/// its governance).
#[extendr]
fn rs_attach_gov(conn: Robj, gov_loc: Robj, url: &str, gov_local_path: Robj, message: &str) -> Robj {
    guard(|| {
        let data = conn::project(sexp(&conn))?;
        let clone = conn::clone_ctx(sexp(&conn))?;
        let gl = conn::location(sexp(&gov_loc))?;
        let store = gov_store(&gov_loc)?;
        let url = crate::git::RepoUrl::parse(url).normalized(url);
        let local = gov_local_path.as_str().map(std::path::PathBuf::from);
        let gov_clone = crate::git::absolute_path(&crate::ops::conn::gov_clone_path(local.as_deref(), &clone.path, &url));
        let g = Gov { clone: &gov_clone, url: &url, creds: &clone.creds, store: &store };
        let a = gov::attach(&g, &data, &clone, &gl, message)?;
        let mut v = vec![Robj::from(a.registered)];
        v.extend(pointer_to_r(&a.pointer)?);
        let gov_path: Robj = gov_clone.display().to_string().into();
        let new = conn_list(
            elt(&conn, "project_name"), &conn, elt(&conn, "path"), "developer", Some((&gov_loc, url.as_str().into(), gov_path)),
            elt(&conn, "data_repo_url"), elt(&conn, "github_pat"), elt(&conn, "github_api_url"),
        )?;
        v.push(new);
        super::list_named(&["registered", "written", "commit", "mirror_error", "conn"], v)
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
    fn rs_migrate_plan;
    fn rs_adopt;
    fn rs_same_location;
    fn rs_repo_url;
    fn rs_same_url;
    fn rs_governance_record;
    fn rs_teardown;
    fn rs_recorded_governance;
    fn rs_attach_pointer;
    fn rs_attach_gov;
    fn rs_attached;
    fn rs_default_git_ignore;
    fn rs_conn_rows;
    fn rs_init_register;
    fn rs_location_label;
    fn rs_abs_path;
    fn rs_clean_prefix;
    fn rs_connect;
    fn rs_check_reachable;
    fn rs_gov_refresh;
    fn rs_gov_clone_path;
    fn rs_init_preflight;
    fn rs_gov_prepare_register;
}

//! Connecting to a project (`datom_get_conn`): where its data lives (the
//! store's data component, or `ref.json` of a governed project), the
//! governance a data clone records against the store's, whether the data
//! location can be reached, and what the user is told on the way (events,
//! in order). The binding builds the conn from the result.

use super::{collab, gov, CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::git::{Creds, Repo, RepoUrl};
use crate::layout;
use crate::model::{self, Location};
use std::path::{Path, PathBuf};

/// Data locations opened with the data component's credentials (the
/// binding's: endpoint and S3 keys live there).
pub trait DataAccess {
    /// Project `name` at `loc`.
    fn project(&self, name: &str, loc: &Location) -> Result<Project>;
    /// HeadBucket of an S3 location: `Err` when the bucket is missing or
    /// refused, `Ok(Err(e))` when it could not be verified.
    fn probe_bucket(&self, loc: &Location) -> Result<std::result::Result<(), Error>>;
}

/// The store's governance component: its store (or why it cannot be
/// opened), `gov_repo_url` and `gov_local_path`.
pub struct StoreGov<'a> {
    pub store: Result<Project>,
    pub url: Option<&'a str>,
    pub local_path: Option<&'a Path>,
}

pub struct Request<'a> {
    /// A data clone (developer) or `None` (reader).
    pub path: Option<&'a Path>,
    /// The reader's project (a developer's comes from project.yaml).
    pub project_name: Option<&'a str>,
    /// The store's data location; `None` for a credentials-only component.
    pub data: Option<Location>,
    pub gov: Option<StoreGov<'a>>,
    pub creds: &'a Creds,
    pub access: &'a dyn DataAccess,
}

/// What the user is told while connecting.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The store has governance, the project records none.
    NoGovernanceAttached,
    /// ref.json could not be read (why); the store's location is used.
    RefUnresolved(String),
    /// The store names a location the data was migrated away from.
    OldLocation { store_label: String, label: String, sunset_at: String },
    /// ref.json names another location than the store: the clone is pulled.
    RefDiffers,
    /// (reader) The store names a location ref.json never recorded.
    MigratedElsewhere { to: String, from: String },
    /// (reader, data credentials only) The data store says the project is governed.
    GovernedDataOnly { kind: String, root: String, url: String },
    /// The data store's reachability could not be verified (why).
    Unverified(String),
}

/// A governed conn's governance: the repo URL and the clone path (none for a reader).
#[derive(Clone, Debug, PartialEq)]
pub struct GovConn {
    pub url: Option<String>,
    pub clone: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Connection {
    pub project_name: String,
    pub data: Location,
    /// The location came from ref.json (not the store's component).
    pub from_ref: bool,
    pub data_repo_url: Option<String>,
    pub gov: Option<GovConn>,
}

/// The events of a connect, and the connection or the error that stopped it
/// (the events before it are still told).
pub struct Connected {
    /// The project (when known: the reader's, or project.yaml's).
    pub project_name: Option<String>,
    pub events: Vec<Event>,
    pub result: Result<Connection>,
}

/// A data clone's recorded governance, checked against the store's.
#[derive(Clone, Debug, PartialEq)]
pub struct Governance {
    /// The URL the project records.
    pub url: String,
    /// The store's URL when it has one, else the recorded one.
    pub store_url: String,
    /// The gov clone: `gov_local_path`, or a sibling of the data clone named after the repo.
    pub clone: PathBuf,
}

/// The gov clone of a store next to a data clone: `gov_local_path`, or a
/// sibling of the data clone named after the gov repo.
pub fn gov_clone_path(local_path: Option<&Path>, data_clone: &Path, url: &str) -> PathBuf {
    match local_path {
        Some(p) => p.to_path_buf(),
        None => data_clone.parent().unwrap_or(Path::new("")).join(RepoUrl::parse(url).name()),
    }
}

/// The governance a data clone records (`.datom/governance.json`) against
/// the store's: `None` for a project without governance; an error when the
/// store has no governance component or names another governance repo.
pub fn governance_of(path: &Path, project: &str, has_component: bool, store_url: Option<&str>, local_path: Option<&Path>) -> Result<Option<Governance>> {
    let Some(p) = gov::read_pointer(path)? else { return Ok(None) };
    if !has_component {
        let (kind, root) = p.storage.as_ref().map(|l| (l.kind.as_str(), l.root.as_str())).unwrap_or(("", ""));
        return Err(Error::new(Kind::Input, format!("Project \"{project}\" is governed but no governance store was supplied."))
            .with_hint(format!("Add governance = <{kind} store at {root}> and gov_repo_url = \"{}\" to datom_store().", p.url)));
    }
    if let Some(s) = store_url {
        if !RepoUrl::same_repo(s, &p.url) {
            return Err(Error::new(
                Kind::Input,
                format!("Governance URL mismatch: the project records <{}> but the store has <{s}>.", p.url),
            )
            .with_hint("Pull the data clone, or fix gov_repo_url in datom_store()."));
        }
    }
    let clone = gov_clone_path(local_path, path, &p.url);
    Ok(Some(Governance { store_url: store_url.unwrap_or(&p.url).to_string(), url: p.url, clone }))
}

/// Can the data location be reached? A missing local folder or S3 bucket
/// is an error; `Some(why)` when an S3 bucket could not be verified.
pub fn check_reachable(loc: &Location, access: &dyn DataAccess) -> Result<Option<String>> {
    if loc.kind == "local" {
        if !Path::new(&loc.root).is_dir() {
            return Err(Error::new(Kind::Storage, format!("Data store directory '{}' does not exist.", loc.root))
                .with_hint("Check the store path, or create the store with datom_store_local(validate = TRUE)."));
        }
        return Ok(None);
    }
    if loc.kind == "s3" {
        return Ok(access.probe_bucket(loc)?.err().map(|e| e.to_string()));
    }
    Ok(None)
}

/// A ref's current location as a conn holds it (an S3 region defaults to us-east-1).
fn ref_location(r: &gov::RefJson) -> Location {
    let c = &r.current;
    let region = if c.kind == "s3" { Some(c.region.clone().unwrap_or_else(|| "us-east-1".into())) } else { None };
    Location { kind: c.kind.clone(), root: c.root.clone(), prefix: c.prefix.clone(), region }
}

fn no_location(why: Option<&str>) -> Error {
    match why {
        Some(w) => Error::input(format!("Cannot connect: credentials-only data store has no location (ref.json: {w}).")),
        None => Error::input("Cannot connect: credentials-only data store has no location."),
    }
}

/// ref.json of a project (the clone's copy, else the gov store's). A
/// failure is told and `None` returned (the store's location is used),
/// except for a credentials-only data component, which has no other.
fn resolve_ref(g: &StoreGov<'_>, clone: Option<&Path>, name: &str, store: Option<&Location>, ev: &mut Vec<Event>) -> Result<Option<gov::RefJson>> {
    let r = match &g.store {
        Ok(s) => gov::read_ref(s, clone, name),
        Err(e) => Err(e.clone()),
    };
    let why = match r {
        Ok(Some(r)) => {
            // a store naming a location the data left: where it is now
            if let Some(gov::StoreAgainstRef::Previous(p)) = store.map(|s| gov::store_against_ref(&r, s)) {
                ev.push(Event::OldLocation {
                    store_label: p.location.label(),
                    label: r.current.label(),
                    sunset_at: p.sunset_at.clone().unwrap_or_else(|| "unknown".into()),
                });
            }
            return Ok(Some(r));
        }
        Ok(None) => "not registered".to_string(),
        Err(e) => e.message,
    };
    if store.is_none() {
        return Err(no_location(Some(&why)));
    }
    ev.push(Event::RefUnresolved(why));
    Ok(None)
}

/// Connect (`datom_get_conn`): a developer conn on a data clone, or a reader
/// conn on the store alone.
pub fn connect(req: &Request<'_>) -> Connected {
    let mut events = Vec::new();
    let result = match req.path {
        Some(p) => developer(req, p, &mut events),
        None => reader(req, &mut events),
    };
    let project_name = match (&result, req.path) {
        (Ok(c), _) => Some(c.project_name.clone()),
        (Err(_), Some(p)) => super::read_config(p).ok().map(|c| c.project_name),
        (Err(_), None) => req.project_name.map(str::to_string),
    };
    Connected { project_name, events, result }
}

fn reachable(loc: &Location, req: &Request<'_>, ev: &mut Vec<Event>) -> Result<()> {
    if let Some(why) = check_reachable(loc, req.access)? {
        ev.push(Event::Unverified(why));
    }
    Ok(())
}

fn developer(req: &Request<'_>, path: &Path, ev: &mut Vec<Event>) -> Result<Connection> {
    let mut cfg = super::read_config(path)?;
    let name = cfg.project_name.clone();
    let mut loc = req.data.clone();
    let mut from_ref = false;
    let sg = req.gov.as_ref();
    let g = governance_of(path, &name, sg.is_some(), sg.and_then(|g| g.url), sg.and_then(|g| g.local_path))?;
    let gov = match (g, sg) {
        (Some(g), Some(sg)) => {
            let clone = g.clone.is_dir().then_some(g.clone.as_path());
            if let Some(r) = resolve_ref(sg, clone, &name, loc.as_ref(), ev)? {
                let new_loc = ref_location(&r);
                if loc.as_ref().is_some_and(|l| !l.same_place(&new_loc)) {
                    ev.push(Event::RefDiffers);
                    collab::pull(&CloneCtx { path: path.to_path_buf(), creds: req.creds.clone() })?;
                    cfg = super::read_config(path)?;
                }
                loc = Some(new_loc);
                from_ref = true;
            }
            Some(GovConn { url: Some(g.url), clone: Some(g.clone) })
        }
        (_, Some(_)) => {
            ev.push(Event::NoGovernanceAttached);
            None
        }
        _ => None,
    };
    let loc = loc.ok_or_else(|| no_location(None))?;
    if req.data.is_some() && gov.is_none() && !cfg.data.same_place(&loc) {
        let p = |l: &Location| match layout::clean_prefix(l.prefix.as_deref()) {
            s if s.is_empty() => "(none)".to_string(),
            s => format!("{s}/"),
        };
        return Err(Error::input(format!(
            "Store/config mismatch: the project lives at '{}' (prefix \"{}\") but the store points at '{}' (prefix \"{}\").",
            cfg.data.root,
            p(&cfg.data),
            loc.root,
            p(&loc)
        ))
        .with_hint("Build the store with the data location recorded in .datom/project.yaml."));
    }
    reachable(&loc, req, ev)?;
    // the data repo's remote and the token: one cheap call (the remote's ref list)
    collab::check_remote(path, req.creds)?;
    let origin = Repo::open(path).ok().and_then(|r| r.remote_url("origin"));
    Ok(Connection { project_name: name, data: loc, from_ref, data_repo_url: Some(origin.unwrap_or(cfg.remote_url)), gov })
}

fn reader(req: &Request<'_>, ev: &mut Vec<Event>) -> Result<Connection> {
    let name = req.project_name.ok_or_else(|| Error::input("`project_name` is required for reader connections (no local repo)."))?;
    layout::check_name(name, "project_name")?;
    let mut loc = req.data.clone();
    let mut from_ref = false;
    let mut gov = None;
    if let Some(sg) = &req.gov {
        gov = Some(GovConn { url: sg.url.map(str::to_string), clone: None });
        if let Some(r) = resolve_ref(sg, None, name, loc.as_ref(), ev)? {
            let new_loc = ref_location(&r);
            if let Some(l) = &loc {
                if gov::store_against_ref(&r, l) == gov::StoreAgainstRef::Elsewhere {
                    ev.push(Event::MigratedElsewhere { to: new_loc.root.clone(), from: l.root.clone() });
                }
            }
            loc = Some(new_loc);
            from_ref = true;
        }
    } else if let Some(l) = &loc {
        // data credentials only: the data store's governance pointer says
        // whether the coordinates may go stale (unreadable: nothing said)
        let doc = req.access.project(name, l).and_then(|p| p.get_json(layout::data::GOVERNANCE));
        if let Ok(Some(v)) = doc {
            let s = |v: Option<&crate::identity::rvalue::RValue>| model::as_str(v).unwrap_or("").to_string();
            let st = model::get(&v, "gov_storage");
            ev.push(Event::GovernedDataOnly {
                kind: s(st.and_then(|g| model::get(g, "type"))),
                root: s(st.and_then(|g| model::get(g, "root"))),
                url: s(model::get(&v, "gov_repo_url")),
            });
        }
    }
    let loc = loc.ok_or_else(|| no_location(None))?;
    reachable(&loc, req, ev)?;
    Ok(Connection { project_name: name.to_string(), data: loc, from_ref, data_repo_url: None, gov })
}

/// What a conn shows when printed (the fields `print.datom_conn` reads).
#[derive(Clone, Debug, Default)]
pub struct ConnView {
    pub project_name: Option<String>,
    pub role: Option<String>,
    pub data: Location,
    /// The governance store's location, when attached.
    pub gov: Option<Location>,
    pub endpoint: Option<String>,
    pub path: Option<String>,
    pub data_repo_url: Option<String>,
}

/// One line of a printed conn: label, value (`None`: R's NULL) and the cli
/// style of the value (`val`, `path`, `url`; empty for plain text).
pub type Row = (&'static str, Option<String>, &'static str);

/// The lines of a printed conn, in order: a prefix only when there is one,
/// an S3 region, the governance store (its region only when it differs
/// from the data's), the endpoint, clone path and data repo when set.
pub fn display_rows(c: &ConnView) -> Vec<Row> {
    let some_prefix = |l: &Location| !layout::clean_prefix(l.prefix.as_deref()).is_empty();
    let d = &c.data;
    let mut rows: Vec<Row> = vec![
        ("Project", c.project_name.clone(), "val"),
        ("Role", c.role.clone(), "val"),
        ("Backend", Some(d.kind.clone()), "val"),
        ("Data root", Some(d.root.clone()), "path"),
    ];
    if some_prefix(d) {
        rows.push(("Data prefix", d.prefix.clone(), "val"));
    }
    if d.kind == "s3" {
        rows.push(("Data region", d.region.clone(), "val"));
    }
    match &c.gov {
        None => rows.push(("Governance", Some("not attached".into()), "")),
        Some(g) => {
            rows.push(("Gov backend", Some(g.kind.clone()), "val"));
            rows.push(("Gov root", Some(g.root.clone()), "path"));
            if some_prefix(g) {
                rows.push(("Gov prefix", g.prefix.clone(), "val"));
            }
            if g.region.is_some() && g.region != d.region {
                rows.push(("Gov region", g.region.clone(), "val"));
            }
        }
    }
    for (label, v, style) in [("Endpoint", &c.endpoint, "url"), ("Path", &c.path, "path"), ("Data repo", &c.data_repo_url, "url")] {
        if v.is_some() {
            rows.push((label, v.clone(), style));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;

    struct Local;
    impl DataAccess for Local {
        fn project(&self, name: &str, loc: &Location) -> Result<Project> {
            let mut p = Project::new(name, Box::new(LocalStore::new(&loc.root)), loc.prefix_norm(), true, loc.root.clone());
            p.location = Some(loc.clone());
            Ok(p)
        }
        fn probe_bucket(&self, _loc: &Location) -> Result<std::result::Result<(), Error>> {
            Ok(Err(Error::new(Kind::Storage, "no credentials")))
        }
    }

    fn local(root: &Path) -> Location {
        Location { kind: "local".into(), root: root.display().to_string(), prefix: None, region: None }
    }

    fn gov_store(d: &Path) -> Project {
        gov::gov_store(Box::new(LocalStore::new(d)), None, true, d.display().to_string())
    }

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn a_printed_conn_shows_what_is_set() {
        let labels = |c: &ConnView| display_rows(c).iter().map(|r| r.0).collect::<Vec<_>>();
        let s3 = |root: &str, prefix: Option<&str>, region: &str| Location { kind: "s3".into(), root: root.into(), prefix: prefix.map(str::to_string), region: Some(region.into()) };
        let mut c = ConnView { project_name: Some("P".into()), role: Some("reader".into()), data: local(Path::new("/d")), ..Default::default() };
        assert_eq!(labels(&c), ["Project", "Role", "Backend", "Data root", "Governance"]);
        assert_eq!(display_rows(&c)[4], ("Governance", Some("not attached".to_string()), ""));
        // a prefix "/" is no prefix; the gov region only when it differs
        c.data = s3("b", Some("/"), "eu-west-1");
        c.gov = Some(s3("g", Some("team"), "eu-west-1"));
        assert_eq!(labels(&c), ["Project", "Role", "Backend", "Data root", "Data region", "Gov backend", "Gov root", "Gov prefix"]);
        c.gov = Some(s3("g", None, "us-east-1"));
        c.path = Some("/clone".into());
        c.data_repo_url = Some("u".into());
        c.data.prefix = Some("p".into());
        assert_eq!(
            labels(&c),
            ["Project", "Role", "Backend", "Data root", "Data prefix", "Data region", "Gov backend", "Gov root", "Gov region", "Path", "Data repo"]
        );
        assert_eq!(display_rows(&c)[3], ("Data root", Some("b".to_string()), "path"));
    }

    #[test]
    fn reachability_of_local_and_s3_locations() {
        let d = crate::testutil::scratch_dir("conn-reach");
        assert_eq!(check_reachable(&local(&d), &Local).unwrap(), None);
        let e = check_reachable(&local(&d.join("missing")), &Local).unwrap_err();
        assert_eq!(e.kind, Kind::Storage);
        assert!(e.message.starts_with("Data store directory '") && e.message.ends_with("missing' does not exist."), "{}", e.message);
        let s3 = Location { kind: "s3".into(), root: "b".into(), prefix: None, region: None };
        assert_eq!(check_reachable(&s3, &Local).unwrap().as_deref(), Some("no credentials"));
    }

    #[test]
    fn gov_clone_path_is_the_store_path_or_a_sibling_named_after_the_repo() {
        assert_eq!(gov_clone_path(None, Path::new("/w/data"), "https://h/org/acme-gov.git"), PathBuf::from("/w/acme-gov"));
        assert_eq!(gov_clone_path(Some(Path::new("/g")), Path::new("/w/data"), "x"), PathBuf::from("/g"));
    }

    #[test]
    fn governance_of_checks_the_store_against_the_record() {
        let d = crate::testutil::scratch_dir("conn-govof");
        let clone = d.join("data");
        std::fs::create_dir_all(&clone).unwrap();
        assert_eq!(governance_of(&clone, "P", false, None, None).unwrap(), None);
        write(
            &clone.join(layout::repo::GOVERNANCE),
            r#"{"gov_repo_url": "https://h/o/gov.git", "gov_storage": {"type": "local", "root": "/gs"}}"#,
        );
        let e = governance_of(&clone, "P", false, None, None).unwrap_err();
        assert_eq!(e.message, "Project \"P\" is governed but no governance store was supplied.");
        assert_eq!(e.hint.as_deref(), Some("Add governance = <local store at /gs> and gov_repo_url = \"https://h/o/gov.git\" to datom_store()."));
        let e = governance_of(&clone, "P", true, Some("https://h/o/other.git"), None).unwrap_err();
        assert!(e.message.starts_with("Governance URL mismatch: the project records <https://h/o/gov.git>"), "{}", e.message);
        let g = governance_of(&clone, "P", true, Some("https://h/o/gov/"), None).unwrap().unwrap();
        assert_eq!(g.url, "https://h/o/gov.git");
        assert_eq!(g.store_url, "https://h/o/gov/");
        assert_eq!(g.clone, d.join("gov"));
        let g = governance_of(&clone, "P", true, None, Some(Path::new("/elsewhere"))).unwrap().unwrap();
        assert_eq!((g.store_url.as_str(), g.clone), ("https://h/o/gov.git", PathBuf::from("/elsewhere")));
    }

    #[test]
    fn a_reader_resolves_the_location_from_ref_json_and_tells_what_it_found() {
        let d = crate::testutil::scratch_dir("conn-reader");
        let gs = d.join("gov-store");
        let (old, new) = (d.join("old"), d.join("new"));
        std::fs::create_dir_all(&old).unwrap();
        std::fs::create_dir_all(&new).unwrap();
        let gstore = gov_store(&gs);
        let r = format!(
            r#"{{"current": {{"type": "local", "root": "{}"}}, "previous": [{{"type": "local", "root": "{}", "sunset_at": "2027-01-01T00:00:00Z"}}]}}"#,
            new.display(),
            old.display()
        );
        gstore.store.put(&layout::full_key(&gstore.root, &layout::gov::reference("P")), r.as_bytes()).unwrap();
        let creds = Creds { token: None };
        let req = |data: Option<Location>, name: &'static str| Request {
            path: None,
            project_name: Some(name),
            data,
            gov: Some(StoreGov { store: Ok(gov_store(&gs)), url: Some("u"), local_path: None }),
            creds: &creds,
            access: &Local,
        };
        // the store names the old location: told where the data is now
        let c = connect(&req(Some(local(&old)), "P"));
        let conn = c.result.unwrap();
        assert_eq!(conn.data, local(&new));
        assert!(conn.from_ref);
        assert_eq!(conn.gov, Some(GovConn { url: Some("u".into()), clone: None }));
        assert_eq!(
            c.events,
            vec![Event::OldLocation { store_label: old.display().to_string(), label: new.display().to_string(), sunset_at: "2027-01-01T00:00:00Z".into() }]
        );
        // the current location: nothing to say
        let c = connect(&req(Some(local(&new)), "P"));
        assert!(c.events.is_empty() && c.result.is_ok());
        // a location the ref never recorded
        let c = connect(&req(Some(local(&d)), "P"));
        assert_eq!(c.events, vec![Event::MigratedElsewhere { to: new.display().to_string(), from: d.display().to_string() }]);
        // credentials only: the ref is the location
        assert_eq!(connect(&req(None, "P")).result.unwrap().data, local(&new));
        // not registered: told, and the store's location is used
        let c = connect(&req(Some(local(&old)), "Q"));
        assert_eq!(c.events, vec![Event::RefUnresolved("not registered".into())]);
        assert_eq!(c.result.unwrap().data, local(&old));
        // ... and credentials only have no other location
        let e = connect(&req(None, "Q")).result.unwrap_err();
        assert_eq!(e.message, "Cannot connect: credentials-only data store has no location (ref.json: not registered).");
        // a missing data folder: the error comes after what was told
        std::fs::remove_dir_all(&new).unwrap();
        let c = connect(&req(Some(local(&old)), "P"));
        assert_eq!(c.events.len(), 1);
        assert_eq!(c.project_name.as_deref(), Some("P"));
        assert_eq!(c.result.unwrap_err().kind, Kind::Storage);
    }

    #[test]
    fn a_reader_with_data_credentials_only_is_told_the_project_is_governed() {
        let d = crate::testutil::scratch_dir("conn-dataonly");
        let creds = Creds { token: None };
        let req = Request { path: None, project_name: Some("P"), data: Some(local(&d)), gov: None, creds: &creds, access: &Local };
        let c = connect(&req);
        assert!(c.events.is_empty() && c.result.is_ok());
        let p = Local.project("P", &local(&d)).unwrap();
        p.store
            .put(&p.key(layout::data::GOVERNANCE), br#"{"gov_repo_url": "g.git", "gov_storage": {"type": "s3", "root": "gb"}}"#)
            .unwrap();
        let c = connect(&req);
        assert_eq!(c.events, vec![Event::GovernedDataOnly { kind: "s3".into(), root: "gb".into(), url: "g.git".into() }]);
        let e = connect(&Request { data: None, ..req }).result.unwrap_err();
        assert_eq!(e.message, "Cannot connect: credentials-only data store has no location.");
    }
}

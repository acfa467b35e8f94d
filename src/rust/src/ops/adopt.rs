//! Adoption of a project written by datom 0.1.x (dev/spec/FORMATS.md 9.2.1).
//!
//! The original package did not scope a project inside its store: its keys
//! live at `{P/}datom/<k>`, this package's at `{P/}datom/<project>/<k>`.
//! Adopting a project copies every object of the project from the 0.1.x root
//! to the project-scoped root (same store, or another one), verifies each,
//! publishes the metadata mirrors from the data repo, registers the project
//! in governance (or records its move there), and leaves a record at the old
//! root. Version ids, `data_sha`, `parquet_sha` and history entries are kept
//! as they are: no version is rewritten, the data repo changes only when the
//! data moves to another store (`storage.data` of project.yaml).
//!
//! [`plan`] lists what a run will do and changes nothing; [`adopt`] runs it.
//! Every step is idempotent, so re-running after an interruption completes
//! the adoption and running it twice changes nothing. The old objects are
//! never deleted by [`adopt`]; [`remove_old`] deletes them afterwards, only
//! those whose copy it verifies again.

use super::{gov, publish, storage, CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::failpoint;
use crate::git::Repo;
use crate::identity::rvalue::RValue;
use crate::identity::sha256_hex;
use crate::layout::{self, v01::Key};
use crate::model::{self, as_str, elements, get};
use std::collections::{BTreeMap, BTreeSet};

/// One object of the 0.1.x project that adoption copies and verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject {
    /// Relative key (the same at both roots).
    pub key: String,
    pub bytes: u64,
    /// `parquet` or `snapshot`.
    pub kind: &'static str,
    /// `copy` (absent at the destination) or `present` (verified only).
    pub action: &'static str,
    /// The `parquet_sha` the data repo records for a parquet object.
    pub parquet_sha: Option<String>,
}

/// What governance needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GovAction {
    /// The project is not governed (no `.datom/governance.json`).
    NotGoverned,
    /// Registered, `ref.json` names the destination, mirrors in place.
    Registered,
    /// Registered, but the governance store's mirrors are missing or stale.
    Mirror,
    /// Not registered: register with `ref.json` naming the destination.
    Register,
    /// Registered at the 0.1.x location; the data moves: record the move.
    RecordMove,
}

impl GovAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            GovAction::NotGoverned => "not_governed",
            GovAction::Registered => "registered",
            GovAction::Mirror => "mirror",
            GovAction::Register => "register",
            GovAction::RecordMove => "record_move",
        }
    }
}

/// What an adoption will do (and, after a run, did).
#[derive(Debug, Clone)]
pub struct Plan {
    pub project: String,
    /// The 0.1.x root and the project-scoped root, for messages.
    pub from: String,
    pub to: String,
    /// The data moves to another store (project.yaml changes).
    pub moves: bool,
    /// origin's head: the commit whose metadata the destination publishes.
    pub commit: String,
    /// The destination's publication marker before the run.
    pub published: Option<String>,
    /// Parquet objects and snapshots to copy (or verify when present).
    pub objects: Vec<PlannedObject>,
    /// The 0.1.x metadata mirrors (metadata, histories, manifest,
    /// governance): replaced at the destination by a publication from git.
    pub old_mirrors: Vec<String>,
    /// Relative keys the publication writes at the destination.
    pub mirrors: Vec<String>,
    /// Keys under the old root that are not this project's (another
    /// project's namespace, stray files): never touched.
    pub skipped: Vec<String>,
    /// (table, version, key): objects a history names that neither root has.
    pub missing: Vec<(String, String, String)>,
    /// The data-repo change (`storage.data` of project.yaml), if any.
    pub repo_change: Option<String>,
    pub gov: GovAction,
    /// The old root already records this adoption.
    pub recorded: bool,
    /// Nothing left to do.
    pub complete: bool,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Adopted {
    pub plan: Plan,
    pub copied: Vec<(String, u64)>,
    pub present: usize,
    pub verified: usize,
    /// The commit the destination's publication now shows.
    pub published: Option<String>,
    /// Tables the publication held back (their current object is missing).
    pub held: Vec<String>,
    /// The data-repo commit recording the new location (moves only).
    pub repo_commit: Option<String>,
}

/// The governance side of an adoption.
pub struct AdoptGov<'a> {
    pub gov: &'a gov::Gov<'a>,
    /// `migration_history.json` details of a move.
    pub details: RValue,
    pub sunset_at: String,
}

fn ns(p: &Project) -> String {
    format!("{}/", p.root)
}

/// Tables of the project: the data repo's at `commit` and the old manifest's.
fn tables(repo: &Repo, commit: &str, old_manifest: Option<&RValue>) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for m in publish::mirrors_at(repo, commit)? {
        if let Some(t) = m.table() {
            out.insert(t.to_string());
        }
    }
    if let Some(m) = old_manifest {
        for (t, _) in model::members(get(m, "tables").unwrap_or(&RValue::Null)) {
            if layout::check_name(&t, "table").is_ok() {
                out.insert(t);
            }
        }
    }
    Ok(out)
}

/// Every object the data repo's histories name: key -> (table, version, parquet_sha).
fn named_objects(repo: &Repo, commit: &str, tables: &BTreeSet<String>) -> Result<BTreeMap<String, (String, String, Option<String>)>> {
    let mut out = BTreeMap::new();
    for t in tables {
        let Some(h) = publish::json_at(repo, commit, &layout::repo::version_history(t))? else { continue };
        for e in elements(&h) {
            let Some(d) = as_str(get(e, "data_sha")) else { continue };
            let Ok(key) = layout::data::parquet(t, d) else { continue };
            let v = as_str(get(e, "version")).unwrap_or("").to_string();
            let ps = as_str(get(e, "parquet_sha")).filter(|s| !s.is_empty()).map(str::to_string);
            // the newest entry naming the object wins; an older one fills a gap
            let slot = out.entry(key).or_insert((t.clone(), v, None));
            if slot.2.is_none() {
                slot.2 = ps;
            }
        }
    }
    Ok(out)
}

/// Everything [`adopt`] needs besides the plan.
struct Ctx {
    repo: Repo,
    governed: bool,
}

fn same_store(a: &Project, b: &Project) -> bool {
    match (&a.location, &b.location) {
        (Some(x), Some(y)) => x.same_place(y),
        _ => false,
    }
}

/// What adopting the 0.1.x project at `source` (a [`Project`] whose root is
/// [`layout::v01::project_root`]) into `dest` (project-scoped) will do.
/// Every check of the flow runs here; nothing is written.
pub fn plan(source: &Project, dest: &Project, clone: &CloneCtx, gov: Option<&gov::Gov<'_>>) -> Result<Plan> {
    plan_ctx(source, dest, clone, gov).map(|(p, _)| p)
}

fn plan_ctx(source: &Project, dest: &Project, clone: &CloneCtx, gov: Option<&gov::Gov<'_>>) -> Result<(Plan, Ctx)> {
    let (Some(src_loc), Some(dst_loc)) = (source.location.clone(), dest.location.clone()) else {
        return Err(Error::internal("adoption needs both locations"));
    };
    let cfg = super::read_config(&clone.path)?;
    let name = cfg.project_name.clone();
    if name != dest.name {
        return Err(Error::internal("the destination is not the clone's project"));
    }
    let moves = !src_loc.same_place(&dst_loc);
    if !cfg.data.same_place(&src_loc) && !cfg.data.same_place(&dst_loc) {
        return Err(Error::new(
            Kind::Conflict,
            format!("The data repo says {name} lives at {}, not at the store given ({})", cfg.data.label(), src_loc.label()),
        )
        .with_hint("Give the store recorded in .datom/project.yaml of the clone (the original's store: its root and prefix)."));
    }
    let governed = clone.file(layout::repo::GOVERNANCE).is_file();
    if governed && gov.is_none() {
        return Err(Error::input(format!("Project {name} is governed (.datom/governance.json) but no governance store and clone were given"))
            .with_hint("Give a store with its governance component, gov_repo_url and gov_local_path (datom_store())."));
    }
    let repo = Repo::open(&clone.path)?;
    let (commit, _, _) = super::collab::origin_head(&repo, clone)?;

    // the old root holds this project (or held it: adopted and removed)
    let old_manifest = source.get_json(layout::data::MANIFEST)?;
    let new_manifest = dest.get_json(layout::data::MANIFEST)?;
    let owner = |m: &RValue| as_str(get(m, "project_name")).unwrap_or("").to_string();
    if let Some(m) = &new_manifest {
        if owner(m) != name {
            return Err(Error::new(Kind::Conflict, format!("The destination {} is occupied by project {:?}", dest.display, owner(m)))
                .with_hint("Adopt into another store or prefix (argument `to`)."));
        }
    }
    let adopted = source.get_json(layout::v01::ADOPTED)?;
    match &old_manifest {
        Some(m) if owner(m) != name => {
            return Err(Error::new(
                Kind::Conflict,
                format!("The 0.1.x store at {} holds project {:?}, not {name}", source.display, owner(m)),
            )
            .with_hint("Give the store of this data repo (.datom/project.yaml names it)."))
        }
        Some(_) => {}
        None if new_manifest.is_some() || adopted.is_some() => {}
        None => {
            return Err(Error::new(
                Kind::NotFound,
                format!("No datom 0.1.x project at {}: {} is missing", source.display, layout::data::MANIFEST),
            )
            .with_hint("The original's project root is the store root {prefix/}datom/: give the store (root and prefix) recorded in .datom/project.yaml."))
        }
    }
    publish::check_not_moved(dest)?;
    let tables = tables(&repo, &commit, old_manifest.as_ref())?;
    let nested = same_store(source, dest);
    if nested && tables.contains(&name) {
        return Err(Error::new(
            Kind::Conflict,
            format!("Project {name} has a table named like the project: in this store its 0.1.x folder is the project's new namespace"),
        )
        .with_hint("Adopt into another store or prefix (argument `to`)."));
    }

    // the old root's objects, classified
    let base = ns(source);
    let own_ns = format!("{}/", name);
    let named = named_objects(&repo, &commit, &tables)?;
    let mut objects = Vec::new();
    let mut old_mirrors = Vec::new();
    let mut skipped = Vec::new();
    let mut in_source = BTreeSet::new();
    for o in source.store.list(&base)? {
        let rel = o.key.strip_prefix(&base).unwrap_or(&o.key).to_string();
        if nested && rel.starts_with(&own_ns) {
            continue; // the destination itself
        }
        let key = layout::v01::classify(&rel);
        let ours = key.table().is_none_or(|t| tables.contains(t));
        match key {
            Key::Adopted => {}
            Key::Parquet { .. } | Key::Snapshot { .. } if ours => {
                let kind = if matches!(key, Key::Parquet { .. }) { "parquet" } else { "snapshot" };
                let parquet_sha = named.get(&rel).and_then(|n| n.2.clone());
                in_source.insert(rel.clone());
                objects.push(PlannedObject { key: rel, bytes: o.size, kind, action: "copy", parquet_sha });
            }
            Key::Manifest | Key::Governance => old_mirrors.push(rel),
            Key::Metadata(_) | Key::History(_) if ours => old_mirrors.push(rel),
            _ => skipped.push(rel),
        }
    }
    let present = storage::par(&objects, |o| dest.store.exists(&dest.key(&o.key)))?;
    for (o, p) in objects.iter_mut().zip(present) {
        if p? {
            o.action = "present";
        }
    }
    let mut missing = Vec::new();
    for (key, (t, v, _)) in &named {
        if !in_source.contains(key) && !dest.store.exists(&dest.key(key))? {
            missing.push((t.clone(), v.clone(), key.clone()));
        }
    }

    // what the publication writes
    let mut mirrors = Vec::new();
    for m in publish::mirrors_at(&repo, &commit)? {
        mirrors.push(m.store_key());
        if let publish::Mirror::Metadata(t) = &m {
            if let Some(meta) = publish::json_at(&repo, &commit, &m.repo_path())? {
                let (v, _) = crate::identity::canon::metadata_sha(&meta)?;
                mirrors.push(layout::data::snapshot(t, &v)?);
            }
            mirrors.push(layout::data::current_log(t));
        }
    }
    mirrors.push(layout::data::PUBLICATION.to_string());
    let published = publish::marker(dest)?;

    let repo_change = (!cfg.data.same_place(&dst_loc))
        .then(|| format!("storage.data of {}: {} -> {}", layout::repo::PROJECT_YAML, cfg.data.label(), dst_loc.label()));
    let gov_action = match gov {
        None => GovAction::NotGoverned,
        Some(_) if !governed => GovAction::NotGoverned,
        Some(g) => match gov::read_ref_clone(g.clone, &name)? {
            None => GovAction::Register,
            Some(r) if r.current.same_place(&dst_loc) => {
                let st = gov::mirror_status(g.store, Some(g.clone), &name)?;
                if st.iter().all(|(_, local, stored, same)| local == &Some(false) || (*stored && same != &Some(false))) {
                    GovAction::Registered
                } else {
                    GovAction::Mirror
                }
            }
            Some(r) if moves && r.current.same_place(&src_loc) => GovAction::RecordMove,
            Some(r) => {
                return Err(Error::new(
                    Kind::Conflict,
                    format!("ref.json of {name} points at {}, neither the 0.1.x store nor the destination", r.current.label()),
                )
                .with_hint("Run datom_pull_gov() or fix the governance entry, then adopt into the location ref.json names."))
            }
        },
    };
    let recorded = adopted.as_ref().is_some_and(|a| as_str(get(a, "commit")).is_some() && as_str(get(a, "project")) == Some(name.as_str()));
    let up_to_date = match &published {
        None => false,
        Some(p) => p == &commit || (repo.has_commit(p) && repo.is_ancestor(&commit, p)?),
    };
    let complete = recorded
        && up_to_date
        && objects.iter().all(|o| o.action == "present")
        && repo_change.is_none()
        && matches!(gov_action, GovAction::NotGoverned | GovAction::Registered);
    let plan = Plan {
        project: name,
        from: source.display.clone(),
        to: dest.display.clone(),
        moves,
        commit,
        published,
        objects,
        old_mirrors,
        mirrors,
        skipped,
        missing,
        repo_change,
        gov: gov_action,
        recorded,
        complete,
    };
    Ok((plan, Ctx { repo, governed }))
}

/// Read `key` of `p`, hashing it; `None` when absent.
fn get_opt(p: &Project, key: &str) -> Result<Option<Vec<u8>>> {
    match p.store.get(&p.key(key)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind == Kind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn same_json(a: &[u8], b: &[u8], what: &str) -> Result<bool> {
    let parse = |x: &[u8]| -> Result<RValue> {
        let t = std::str::from_utf8(x).map_err(|_| Error::new(Kind::Json, format!("{what} is not UTF-8")))?;
        model::read_json(t, what)
    };
    Ok(model::json_text(&parse(a)?, false) == model::json_text(&parse(b)?, false))
}

/// Verify the destination's copy of `o` against what it must be: a parquet
/// object hashes to its recorded `parquet_sha` (else to the source's bytes);
/// a snapshot is the same JSON document as the source's. `None` when ok.
fn verify_one(source: &Project, dest: &Project, o: &PlannedObject) -> Result<Option<String>> {
    let Some(got) = get_opt(dest, &o.key)? else { return Ok(Some("the copy is missing".into())) };
    if o.kind == "parquet" {
        let have = sha256_hex(&got);
        let want = match &o.parquet_sha {
            Some(s) => s.clone(),
            None => match get_opt(source, &o.key)? {
                Some(b) => sha256_hex(&b),
                None => return Ok(None), // the old copy was removed after a verified adoption
            },
        };
        return Ok((have != want).then(|| format!("the copy hashes to {} but must hash to {}", &have[..12], &want[..12.min(want.len())])));
    }
    match get_opt(source, &o.key)? {
        Some(b) => Ok((!same_json(&b, &got, &o.key)?).then(|| "the copy is not the same JSON document".to_string())),
        None => Ok(None),
    }
}

/// The old namespace of an adoption (the 0.1.x root, `{root}/{P/}datom/`)
/// and the new one (`{root'}/{P'/}datom/{project}/`), for messages and the
/// migration record.
pub fn labels(from: &model::Location, to: &model::Location, project: &str) -> (String, String) {
    let label = |l: &model::Location| layout::namespace_label(&l.kind, &l.root, l.prefix_norm());
    (label(from), format!("{}{project}/", label(to)))
}

/// The migration record's details of an adoption (`migration_history.json`).
pub fn details(old_root: &str, new_root: &str) -> RValue {
    RValue::named(vec![
        ("from", RValue::str(old_root)),
        ("to", RValue::str(new_root)),
        ("layout", RValue::str("datom 0.1.x -> project-scoped")),
    ])
}

/// Adopt the 0.1.x project at `source` into `dest` (see the module docs).
/// `dry_run`: the plan only. Order, every check first ([`plan`]), then
/// under the clone's writer lock:
/// 1. copy the parquet objects and snapshots the destination lacks (a
///    parquet object is checked against its recorded `parquet_sha` before
///    it is written; an object present at the destination is never
///    replaced);
/// 2. verify every copy (parquet: `parquet_sha`, else the source's bytes;
///    snapshots: the same JSON document); any difference stops here;
/// 3. publish origin's head to the destination (metadata, histories,
///    current-version logs, manifest, governance.json, marker);
/// 4. governance: register the project, or record its move, or repair the
///    governance store's mirrors;
/// 5. a move to another store: `storage.data` of project.yaml, committed
///    and pushed, then published;
/// 6. record the adoption at the old root (`.metadata/adopted.json`).
pub fn adopt(source: &Project, dest: &Project, clone: &CloneCtx, gov: Option<AdoptGov<'_>>, message: &str, dry_run: bool) -> Result<Adopted> {
    let g = gov.as_ref().map(|g| g.gov);
    let (plan, ctx) = plan_ctx(source, dest, clone, g)?;
    let mut out = Adopted { plan: plan.clone(), copied: vec![], present: 0, verified: 0, published: plan.published.clone(), held: vec![], repo_commit: None };
    if dry_run {
        return Ok(out);
    }
    let _clone_lock = super::write::lock_clone(clone)?;
    let repo = &ctx.repo;
    if plan.repo_change.is_some() {
        super::write::prepare_clone(repo, &[layout::repo::PROJECT_YAML])?;
    }

    // 1. copy
    let _progress = crate::runtime::progress::start(format!("Copying {} objects", plan.objects.len()), "objects", plan.objects.len() as u64);
    let results = storage::par(&plan.objects, |o| -> Result<Option<(String, u64)>> {
        let _count = storage::Counted;
        if o.action == "present" || dest.store.exists(&dest.key(&o.key))? {
            return Ok(None); // content-addressed: never replaced (verified below)
        }
        let bytes = source.store.get(&source.key(&o.key))?;
        if let Some(want) = &o.parquet_sha {
            let have = sha256_hex(&bytes);
            if &have != want {
                return Err(Error::new(
                    Kind::Integrity,
                    format!("The 0.1.x object {} hashes to {} but the data repo records parquet_sha {}", source.key(&o.key), &have[..12], &want[..12.min(want.len())]),
                )
                .with_hint("The original's store holds a damaged object: restore it from a backup, then run datom_adopt() again (nothing was published)."));
            }
        }
        dest.store.put(&dest.key(&o.key), &bytes)?;
        Ok(Some((o.key.clone(), bytes.len() as u64)))
    })?;
    for (o, r) in plan.objects.iter().zip(results) {
        match r {
            Ok(Some(x)) => out.copied.push(x),
            Ok(None) => out.present += 1,
            Err(e) if e.kind == Kind::Integrity => return Err(e),
            Err(e) => {
                return Err(Error::new(e.kind, format!("Failed to copy object {} from {} to {}: {}", o.key, source.display, dest.display, e.message))
                    .with_hint("The 0.1.x store is untouched; run datom_adopt() again to complete the copy."))
            }
        }
    }
    drop(_progress);
    failpoint::hit("adopt.copy")?;

    // 2. verify
    let _progress = crate::runtime::progress::start(format!("Verifying {} objects", plan.objects.len()), "objects", plan.objects.len() as u64);
    let checks = storage::par(&plan.objects, |o| {
        let _count = storage::Counted;
        verify_one(source, dest, o)
    })?;
    drop(_progress);
    let mut bad = Vec::new();
    for (o, r) in plan.objects.iter().zip(checks) {
        if let Some(issue) = r? {
            bad.push((o.key.clone(), issue));
        }
    }
    if let Some((k, i)) = bad.first() {
        return Err(Error::new(
            Kind::Integrity,
            format!("Adoption verification failed for {} object(s) (first: {k}: {i}); nothing was published", bad.len()),
        )
        .with_hint("An object at the destination differs from the original's: remove the destination's copy (datom_storage_delete_prefix()) only if it is not another project's, then run datom_adopt() again."));
    }
    out.verified = plan.objects.len();
    failpoint::hit("adopt.verify")?;

    // 3. publish origin's head
    let p = publish::publish(dest, clone, repo, &plan.commit, false)?;
    out.held = p.held.clone();
    out.published = publish::marker(dest)?;
    failpoint::hit("adopt.publish")?;

    // 4. governance
    if let (Some(ag), true) = (&gov, ctx.governed) {
        let dst_loc = dest.location.clone().expect("checked");
        match plan.gov {
            GovAction::Register => gov::register(ag.gov, &plan.project, &dst_loc)?,
            GovAction::RecordMove => {
                let src_loc = source.location.clone().expect("checked");
                gov::record_migration(ag.gov, &plan.project, &src_loc, &dst_loc, ag.details.clone(), &ag.sunset_at)?;
            }
            GovAction::Mirror => {
                for (f, r) in gov::sync_dispatch(ag.gov, &plan.project, &dst_loc)? {
                    r.map_err(|e| Error::new(e.kind, format!("Could not mirror {f} of {} to the governance store: {}", plan.project, e.message)))?;
                }
            }
            GovAction::Registered | GovAction::NotGoverned => {}
        }
    }
    failpoint::hit("adopt.gov")?;

    // 5. the data repo (a move to another store only)
    if let Some(loc) = dest.location.as_ref().filter(|_| plan.repo_change.is_some()) {
        let c = super::collab::set_data_store(clone, loc, message)?;
        let (target, _, _) = super::collab::origin_head(repo, clone)?;
        publish::publish(dest, clone, repo, &target, false)?;
        out.published = publish::marker(dest)?;
        out.repo_commit = Some(c);
    }
    failpoint::hit("adopt.commit")?;

    // 6. the record at the old root
    if !plan.recorded {
        let to = dest.location.as_ref().map(|l| l.to_rvalue()).unwrap_or(RValue::Null);
        let body = RValue::named(vec![
            ("project", RValue::str(&plan.project)),
            ("adopted_to", RValue::str(&plan.to)),
            ("location", to),
            ("commit", RValue::str(&plan.commit)),
            ("adopted_at", RValue::str(&model::now_utc())),
        ]);
        source.put_json(layout::v01::ADOPTED, &body)?;
    }
    Ok(out)
}

/// What [`remove_old`] deleted.
#[derive(Debug, Default)]
pub struct Removed {
    pub deleted: Vec<String>,
    /// Objects kept because their copy could not be verified.
    pub kept: Vec<(String, String)>,
}

/// Delete the 0.1.x objects of an adopted project: only after the old root
/// records the adoption into `dest` (`.metadata/adopted.json`, written by a
/// completed [`adopt`]) and only each object whose copy verifies again; the
/// old mirrors (superseded by the destination's publication) go last, the
/// manifest after them. Keys that are not the project's are never touched;
/// the adoption record stays (a re-run of [`adopt`] knows the project moved).
pub fn remove_old(source: &Project, dest: &Project, clone: &CloneCtx, gov: Option<&gov::Gov<'_>>, dry_run: bool) -> Result<(Plan, Removed)> {
    let plan = plan(source, dest, clone, gov)?;
    if !plan.complete {
        return Err(Error::new(
            Kind::Conflict,
            format!("The adoption of {} into {} is not complete: the 0.1.x objects are still needed", plan.project, plan.to),
        )
        .with_hint("Run datom_adopt(path, store, dry_run = FALSE) first; remove the old objects after it completed."));
    }
    let mut removed = Removed::default();
    let checks = storage::par(&plan.objects, |o| verify_one(source, dest, o))?;
    let mut doomed = Vec::new();
    for (o, r) in plan.objects.iter().zip(checks) {
        match r? {
            None => doomed.push(o.key.clone()),
            Some(issue) => removed.kept.push((o.key.clone(), issue)),
        }
    }
    if removed.kept.is_empty() {
        let mut mirrors = plan.old_mirrors.clone();
        // the manifest last: until it goes, the old root still names the project
        mirrors.sort_by_key(|k| k == layout::data::MANIFEST);
        doomed.extend(mirrors);
    }
    if dry_run {
        removed.deleted = doomed;
        return Ok((plan, removed));
    }
    for k in doomed {
        failpoint::hit("adopt.remove")?;
        source.store.delete(&source.key(&k))?;
        removed.deleted.push(k);
    }
    Ok((plan, removed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn adoption_labels_and_details() {
        let l = |kind: &str, root: &str, prefix: Option<&str>| model::Location { kind: kind.into(), root: root.into(), prefix: prefix.map(str::to_string), region: None };
        let (old, new) = labels(&l("local", "/srv/s/", None), &l("s3", "bkt", Some("/team/")), "P");
        assert_eq!((old.as_str(), new.as_str()), ("/srv/s/datom/", "s3://bkt/team/datom/P/"));
        assert_eq!(
            model::json_text(&details(&old, &new), false),
            "{\n  \"from\": \"/srv/s/datom/\",\n  \"to\": \"s3://bkt/team/datom/P/\",\n  \"layout\": \"datom 0.1.x -> project-scoped\"\n}"
        );
    }

    use super::*;
    use crate::git::Creds;
    use crate::model::{Location, ProjectConfig};
    use crate::store::local::LocalStore;
    use std::path::Path;

    fn loc(root: &Path, prefix: Option<&str>) -> Location {
        Location { kind: "local".into(), root: root.display().to_string(), prefix: prefix.map(str::to_string), region: None }
    }

    fn at(root: &Path, prefix: Option<&str>, name: &str, v01: bool) -> Project {
        let mut p = Project::new(name, Box::new(LocalStore::new(root)), prefix, true, root.display().to_string());
        if v01 {
            p.root = layout::v01::project_root(prefix);
        }
        p.location = Some(loc(root, prefix));
        p
    }

    /// An original-layout project written from the format (FORMATS 8, 9.2.1):
    /// a data repo (pushed to a bare remote) with one table of two versions,
    /// and its store at `{P/}datom/`. Returns the clone and the version ids.
    fn original(d: &Path, prefix: Option<&str>) -> (CloneCtx, Vec<String>) {
        let bare = d.join("remote.git");
        crate::git::ensure_bare(&bare).unwrap();
        let path = d.join("clone");
        let repo = Repo::init(&path).unwrap();
        repo.ensure_identity().unwrap();
        repo.set_remote("origin", bare.to_str().unwrap()).unwrap();
        let cfg = ProjectConfig {
            project_name: "P".into(),
            project_description: String::new(),
            created_at: "2026-01-01".into(),
            datom_version: "0.1.1".into(),
            data: loc(&d.join("store"), prefix),
            max_file_size_gb: 1000.0,
            remote_url: bare.display().to_string(),
            continue_on_error: true,
            parallel_uploads: 4,
            renv: false,
        };
        let old = at(&d.join("store"), prefix, "P", true);
        let mut history = Vec::new();
        let mut versions = Vec::new();
        let mut files: Vec<(String, Vec<u8>)> = vec![(layout::repo::PROJECT_YAML.into(), cfg.to_yaml().into_bytes())];
        for (i, body) in [&b"PAR1-one"[..], b"PAR1-two"].iter().enumerate() {
            let data_sha = sha256_hex(&[b"data".as_slice(), body].concat());
            let parquet_sha = sha256_hex(body);
            let meta = RValue::named(vec![
                ("data_sha", RValue::str(&data_sha)),
                ("hash_algo", RValue::str("datom-cv1")),
                ("parquet_sha", RValue::str(&parquet_sha)),
                ("table_type", RValue::str("derived")),
                ("nrow", RValue::int(i as i32 + 1)),
            ]);
            let (v, _) = crate::identity::canon::metadata_sha(&meta).unwrap();
            history.insert(
                0,
                RValue::named(vec![
                    ("version", RValue::str(&v)),
                    ("data_sha", RValue::str(&data_sha)),
                    ("timestamp", RValue::str("2026-01-01T00:00:00Z")),
                    ("author", RValue::str("unknown")),
                    ("commit_message", RValue::str("Update t")),
                    ("parquet_sha", RValue::str(&parquet_sha)),
                ]),
            );
            old.store.put(&old.key(&layout::data::parquet("t", &data_sha).unwrap()), body).unwrap();
            old.put_json(&layout::data::snapshot("t", &v).unwrap(), &meta).unwrap();
            old.put_json(&layout::data::metadata("t"), &meta).unwrap();
            files.push((layout::repo::metadata("t"), model::json_text(&meta, true).into_bytes()));
            versions.push(v);
        }
        let hist = RValue::unnamed(history);
        old.put_json(&layout::data::version_history("t"), &hist).unwrap();
        files.push((layout::repo::version_history("t"), model::json_text(&hist, true).into_bytes()));
        let manifest = RValue::named(vec![("project_name", RValue::str("P")), ("tables", RValue::named(vec![("t", RValue::named(Vec::<(&str, RValue)>::new()))]))]);
        old.put_json(layout::data::MANIFEST, &manifest).unwrap();
        files.push((layout::repo::MANIFEST.into(), model::json_text(&manifest, true).into_bytes()));
        let f: Vec<(&str, Option<&[u8]>)> = files.iter().map(|(p, b)| (p.as_str(), Some(b.as_slice()))).collect();
        repo.commit_bytes(&f, "Initialize datom repository").unwrap();
        repo.push("origin", &Creds::default()).unwrap();
        repo.checkout_paths(&files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>()).unwrap();
        (CloneCtx { path, creds: Creds::default() }, versions)
    }

    #[test]
    fn adoption_copies_verifies_publishes_and_is_idempotent() {
        let d = crate::testutil::scratch_dir("adopt");
        let (clone, versions) = original(&d, Some("study/"));
        let store = d.join("store");
        // another project already lives in the store: never touched
        let other = at(&store, Some("study/"), "OTHER", false);
        other.store.put(&other.key("x/y.parquet"), b"other").unwrap();
        let (old, new) = (at(&store, Some("study/"), "P", true), at(&store, Some("study/"), "P", false));
        // before the adoption a reader finds nothing, and is told why
        let e = crate::ops::read::resolve(&new, "t", None).unwrap_err();
        assert!(e.hint.as_deref().unwrap_or("").contains("datom_adopt("), "{e:?}");
        assert!(crate::ops::list(&new).err().and_then(|e| e.hint).unwrap_or_default().contains("0.1.x"));
        let p = plan(&old, &new, &clone, None).unwrap();
        assert_eq!(p.objects.len(), 4, "two parquet objects, two snapshots");
        assert!(p.objects.iter().all(|o| o.action == "copy"));
        assert_eq!(p.old_mirrors.len(), 3);
        assert_eq!(p.skipped, vec!["OTHER/x/y.parquet".to_string()]);
        assert!(p.missing.is_empty() && !p.complete && p.repo_change.is_none() && !p.moves);
        assert!(p.mirrors.contains(&layout::data::PUBLICATION.to_string()));
        // a dry run writes nothing
        let before = new.store.list("study/datom/P/").unwrap();
        assert!(before.is_empty());
        adopt(&old, &new, &clone, None, "x", true).unwrap();
        assert!(new.store.list("study/datom/P/").unwrap().is_empty());
        // a failure after the copy; the re-run completes
        std::env::set_var("DATOM_FAILPOINT", "adopt.copy");
        assert_eq!(adopt(&old, &new, &clone, None, "x", false).unwrap_err().kind, Kind::Failpoint);
        std::env::remove_var("DATOM_FAILPOINT");
        let a = adopt(&old, &new, &clone, None, "x", false).unwrap();
        assert!(a.copied.is_empty() && a.present == 4 && a.verified == 4);
        assert!(a.published.is_some() && a.held.is_empty());
        // every version reads back from the new root, ids and history kept
        for v in &versions {
            let r = crate::ops::read::resolve(&new, "t", Some(v)).unwrap();
            let bytes = crate::ops::read::fetch(&new, "t", &r).unwrap();
            assert_eq!(Some(sha256_hex(&bytes)), r.parquet_sha);
        }
        let h = crate::ops::history(&new, "t").unwrap();
        assert_eq!(h.iter().map(|r| r.version.clone()).collect::<Vec<_>>(), versions.iter().rev().cloned().collect::<Vec<_>>());
        // complete: a second run changes nothing
        let p = plan(&old, &new, &clone, None).unwrap();
        assert!(p.complete, "{p:?}");
        let listing = new.store.list("study/datom/P/").unwrap();
        let a = adopt(&old, &new, &clone, None, "x", false).unwrap();
        assert!(a.copied.is_empty());
        assert_eq!(new.store.list("study/datom/P/").unwrap(), listing);
        // the old objects are still there, then removed on request (the other project's stay)
        assert!(old.store.exists(&old.key(layout::data::MANIFEST)).unwrap());
        let (_, r) = remove_old(&old, &new, &clone, None, true).unwrap();
        assert_eq!(r.deleted.len(), 7);
        assert_eq!(r.deleted.last().map(String::as_str), Some(layout::data::MANIFEST));
        assert!(old.store.exists(&old.key(layout::data::MANIFEST)).unwrap(), "a dry run deletes nothing");
        let (_, r) = remove_old(&old, &new, &clone, None, false).unwrap();
        assert_eq!(r.deleted.len(), 7);
        assert!(other.store.exists(&other.key("x/y.parquet")).unwrap());
        assert!(old.store.exists(&old.key(layout::v01::ADOPTED)).unwrap());
        // after the removal an adoption re-run is still a no-op
        assert!(plan(&old, &new, &clone, None).unwrap().complete);
        assert_eq!(crate::ops::list(&new).unwrap().len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn adoption_refuses_before_any_side_effect() {
        let d = crate::testutil::scratch_dir("adopt-refuse");
        let (clone, _) = original(&d, None);
        let store = d.join("store");
        let (old, new) = (at(&store, None, "P", true), at(&store, None, "P", false));
        // a damaged original object stops the run before anything is published
        let p = plan(&old, &new, &clone, None).unwrap();
        let obj = p.objects.iter().find(|o| o.kind == "parquet").unwrap().key.clone();
        let good = old.store.get(&old.key(&obj)).unwrap();
        old.store.put(&old.key(&obj), b"damaged").unwrap();
        assert_eq!(adopt(&old, &new, &clone, None, "x", false).unwrap_err().kind, Kind::Integrity);
        assert!(publish::marker(&new).unwrap().is_none());
        old.store.put(&old.key(&obj), &good).unwrap();
        // removal before a completed adoption is refused
        assert_eq!(remove_old(&old, &new, &clone, None, false).unwrap_err().kind, Kind::Conflict);
        // a store that is not the clone's, or holds no 0.1.x project
        let elsewhere = d.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let (o2, n2) = (at(&elsewhere, None, "P", true), at(&elsewhere, None, "P", false));
        assert_eq!(plan(&o2, &n2, &clone, None).unwrap_err().kind, Kind::Conflict);
        let (o3, n3) = (at(&store, Some("nothing"), "P", true), at(&store, Some("nothing"), "P", false));
        let _ = (o3, n3);
        // the destination taken by another project
        new.put_json(layout::data::MANIFEST, &RValue::named(vec![("project_name", RValue::str("Q"))])).unwrap();
        assert_eq!(plan(&old, &new, &clone, None).unwrap_err().kind, Kind::Conflict);
        new.store.delete(&new.key(layout::data::MANIFEST)).unwrap();
        // an adoption into another store moves the data: project.yaml changes
        let other = d.join("other");
        std::fs::create_dir_all(&other).unwrap();
        let dest = at(&other, None, "P", false);
        let p = plan(&old, &dest, &clone, None).unwrap();
        assert!(p.moves && p.repo_change.is_some());
        let a = adopt(&old, &dest, &clone, None, "Adopt P", false).unwrap();
        assert!(a.repo_commit.is_some());
        assert!(crate::ops::read_config(&clone.path).unwrap().data.same_place(dest.location.as_ref().unwrap()));
        assert_eq!(a.copied.len(), 4);
        assert!(plan(&old, &dest, &clone, None).unwrap().complete);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

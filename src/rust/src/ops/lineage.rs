//! Lineage (dev/spec/FORMATS.md 8.6): the parent records and source lineage a write
//! stores, the lineage fields of a version's metadata, the de-duplicated
//! union of source lineages, and the verification of a version's lineage
//! from the data stores alone (`datom_validate_lineage()`).

use super::{read, Project};
use crate::column::{Column, NamedColumn, NumValues, StrValues};
use crate::error::{Error, Kind, Result};
use crate::identity::classify::{classify, Classified, ColumnShape, Kind as CKind};
use crate::identity::rvalue::RValue;
use crate::layout;
use crate::model::{elements, get};
use crate::table::{RTarget, ReadTable};
use std::collections::HashMap;

const PARENT_HINT: &str = "Declare parents with datom_parent() so each carries a resolved data_sha.";

/// The first 8 characters of a hash, for messages.
pub fn short(s: &str) -> String {
    s.chars().take(8).collect()
}

/// A version id or hash: 6-64 lower-case hex characters.
pub fn is_sha(s: &str) -> bool {
    layout::check_sha(s, "version").is_ok()
}

/// A length-1 character value (`None` inside for `NA`); `None` for anything else.
fn scalar(v: Option<&RValue>) -> Option<Option<&str>> {
    match v {
        Some(RValue::Character(x)) if x.len() == 1 => Some(x[0].as_deref()),
        _ => None,
    }
}

/// A field as a string, as the report shows it (`None`: absent, `NA` or not one string).
fn field(e: &RValue, f: &str) -> Option<String> {
    scalar(get(e, f)).flatten().map(str::to_string)
}

/// A present, non-empty single string.
fn filled(v: Option<&RValue>) -> bool {
    matches!(scalar(v), Some(Some(s)) if !s.is_empty())
}

/// A field's value, `null` and absence alike.
fn value<'a>(e: &'a RValue, f: &str) -> Option<&'a RValue> {
    get(e, f).filter(|v| !matches!(v, RValue::Null))
}

fn unnamed(values: Vec<RValue>) -> RValue {
    RValue::List { names: None, values }
}

// Writing ----------------------------------------------------------------------

/// What a write records: the trimmed parent records and the source lineage.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteLineage {
    pub parents: Option<RValue>,
    pub source_lineage: Option<RValue>,
}

/// The lineage of `datom_write(parents =, .source_lineage =)`. With parents,
/// each record must carry `source`, `table`, `version` and `data_sha`
/// (non-empty strings) and a well-formed `source_lineage` when it has one;
/// the records are stored trimmed to those four fields, and the source
/// lineage is the union of the parents' lineages (`source_lineage` is then
/// ignored). Without parents, `source_lineage` is stored as given after the
/// entry check, except an imported table's self-entry (`self_entry`), whose
/// empty `version_sha` the write fills in.
pub fn write_lineage(parents: Option<&RValue>, source_lineage: Option<&RValue>, self_entry: bool) -> Result<WriteLineage> {
    let parents = parents.filter(|p| !matches!(p, RValue::Null));
    let source_lineage = source_lineage.filter(|l| !matches!(l, RValue::Null));
    if let Some(parents) = parents {
        let RValue::List { names: None, values } = parents else {
            return Err(Error::input("`parents` must be an unnamed list of parent records.").with_hint(PARENT_HINT));
        };
        let mut records = Vec::with_capacity(values.len());
        for (i, p) in values.iter().enumerate() {
            let i = i + 1;
            if !matches!(p, RValue::List { .. }) {
                return Err(Error::input(format!("Parent {i} is not a list.")).with_hint(PARENT_HINT));
            }
            let fields = ["source", "table", "version", "data_sha"];
            if let Some(f) = fields.iter().find(|f| !filled(get(p, f))) {
                return Err(Error::input(format!("Parent {i} has a missing or empty {f}.")).with_hint(PARENT_HINT));
            }
            if let Some(l) = value(p, "source_lineage") {
                check_lineage(l, &format!("parents[[{i}]]$source_lineage"))?;
            }
            records.push(RValue::named(fields.iter().map(|f| (*f, get(p, f).cloned().unwrap_or(RValue::Null))).collect()));
        }
        let union = union(values.iter().map(|p| value(p, "source_lineage")));
        return Ok(WriteLineage { parents: Some(unnamed(records)), source_lineage: Some(union) });
    }
    if let (Some(l), false) = (source_lineage, self_entry) {
        check_lineage(l, ".source_lineage")?;
    }
    Ok(WriteLineage { parents: None, source_lineage: source_lineage.cloned() })
}

/// A source lineage: a list of `{project, table, version_sha}` entries, each
/// a non-empty string.
pub fn check_lineage(lineage: &RValue, arg: &str) -> Result<()> {
    let RValue::List { values, .. } = lineage else {
        return Err(Error::input(format!("`{arg}` must be a list of lineage entries.")));
    };
    for (i, e) in values.iter().enumerate() {
        for f in ["project", "table", "version_sha"] {
            let v = if matches!(e, RValue::List { .. }) { get(e, f) } else { None };
            if !filled(v) {
                return Err(Error::input(format!("Entry {} of `{arg}` has a missing or empty {f}.", i + 1)));
            }
        }
    }
    Ok(())
}

/// The de-duplicated union of source lineages: first occurrence kept, in
/// input order; entries are equal when `project`, `table` and `version_sha`
/// are all equal, and are returned unchanged.
pub fn union<'a>(lineages: impl IntoIterator<Item = Option<&'a RValue>>) -> RValue {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for l in lineages.into_iter().flatten() {
        for e in elements(l) {
            let key = (field(e, "project"), field(e, "table"), field(e, "version_sha"));
            if seen.insert(key) {
                out.push(e.clone());
            }
        }
    }
    unnamed(out)
}

/// `datom_lineage_union(lineages)`: `lineages` is a list of lineages (or `NULL`s).
pub fn union_of(lineages: &RValue) -> Result<RValue> {
    match lineages {
        RValue::List { values, .. } => Ok(union(values.iter().map(Some))),
        _ => Err(Error::input("`lineages` must be a list.")),
    }
}

// Reading ----------------------------------------------------------------------

/// The metadata of `name`'s current version (`version` `None`) or of the
/// version `version` (a full id or unique prefix) from its snapshot.
pub fn table_metadata(project: &Project, name: &str, version: Option<&str>) -> Result<RValue> {
    layout::check_name(name, "name")?;
    let Some(v) = version else {
        return project.get_json(&layout::data::metadata(name))?.ok_or_else(|| {
            Error::new(Kind::NotFound, format!("No metadata found for table {name:?}."))
                .with_hint("See datom_list() for the tables of this project.")
        });
    };
    let full = read::resolve(project, name, Some(v))?.version.ok_or_else(|| Error::internal("resolved version has no id"))?;
    project.get_json(&layout::data::snapshot(name, &full)?)?.ok_or_else(|| {
        Error::new(Kind::NotFound, format!("Version {v:?} not found for table {name:?}."))
            .with_hint("See datom_history() for the versions of this table.")
    })
}

/// The immediate parents a version's metadata records, as
/// `{source, table, version, data_sha}` entries; `None` when it records none.
pub fn parents_of(meta: &RValue) -> Option<RValue> {
    let p = value(meta, "parents")?;
    Some(unnamed(
        elements(p)
            .iter()
            .map(|e| RValue::named(["source", "table", "version", "data_sha"].iter().map(|f| (*f, value(e, f).cloned().unwrap_or(RValue::Null))).collect()))
            .collect(),
    ))
}

/// The `source_lineage` a version's metadata records.
pub fn source_lineage_of(meta: &RValue) -> Option<RValue> {
    value(meta, "source_lineage").cloned()
}

/// The record `datom_parent()` hands out for version `version` (a full id)
/// of `table`: from the version's snapshot in the store, so `data_sha` and
/// `source_lineage` are authoritative.
#[derive(Debug, Clone, PartialEq)]
pub struct ParentRecord {
    pub source: String,
    pub table: String,
    pub version: String,
    pub data_sha: String,
    pub source_lineage: Option<RValue>,
}

pub fn parent_record(project: &Project, table: &str, version: &str) -> Result<ParentRecord> {
    layout::check_name(table, "table")?;
    let snap = project.get_json(&layout::data::snapshot(table, version)?)?.ok_or_else(|| {
        Error::new(Kind::NotFound, format!("Parent {table:?}@{:?} not found in project {:?}.", short(version), project.name))
            .with_hint("Its metadata snapshot is missing from the data store; a developer can re-publish it with datom_sync_dispatch().")
    })?;
    let data_sha = scalar(get(&snap, "data_sha")).flatten().filter(|s| is_sha(s)).ok_or_else(|| {
        Error::new(
            Kind::Integrity,
            format!("The snapshot of {table:?}@{:?} in project {:?} has no valid data_sha.", short(version), project.name),
        )
        .with_hint("The stored metadata is corrupt; do not use this version as a parent.")
    })?;
    Ok(ParentRecord {
        source: project.name.clone(),
        table: table.to_string(),
        version: version.to_string(),
        data_sha: data_sha.to_string(),
        source_lineage: source_lineage_of(&snap),
    })
}

// Verification -----------------------------------------------------------------

/// The verdict on one parent or source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Ok,
    /// No connection to its project.
    Unreachable,
    /// The version or its snapshot is not found.
    Missing,
    /// The snapshot no longer hashes to its version id.
    SnapshotModified,
    /// The recorded `data_sha` is not the snapshot's.
    DataShaMismatch,
    /// The parquet object is absent.
    ObjectMissing,
    /// The object fails its integrity check or does not hash to the `data_sha`.
    Corrupt,
    /// Any other read failure.
    Error,
}

impl RowStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::Unreachable => "unreachable",
            RowStatus::Missing => "missing",
            RowStatus::SnapshotModified => "snapshot_modified",
            RowStatus::DataShaMismatch => "data_sha_mismatch",
            RowStatus::ObjectMissing => "object_missing",
            RowStatus::Corrupt => "corrupt",
            RowStatus::Error => "error",
        }
    }
    /// A parent whose metadata could be read (its lineage is known).
    pub fn fetched(&self) -> bool {
        !matches!(self, RowStatus::Unreachable | RowStatus::Missing | RowStatus::Error)
    }
}

/// A row's verdict: status, detail and, for a failed read, the error's hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub status: RowStatus,
    pub detail: String,
    pub hint: Option<String>,
}

impl Check {
    fn ok() -> Check {
        Check { status: RowStatus::Ok, detail: String::new(), hint: None }
    }
    fn new(status: RowStatus, detail: String) -> Check {
        Check { status, detail, hint: None }
    }
    /// A failed read, its message and hint on one line each.
    fn failed(status: RowStatus, e: Error) -> Check {
        let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        Check { status, detail: one_line(&e.message), hint: e.hint.as_deref().map(one_line) }
    }
    fn unreachable(project: Option<&str>) -> Check {
        Check::new(
            RowStatus::Unreachable,
            format!("project {} is not reachable: pass a connection to it in `conns`", project.unwrap_or("NA")),
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParentRow {
    pub source: Option<String>,
    pub table: Option<String>,
    pub version: Option<String>,
    pub data_sha: Option<String>,
    pub check: Check,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub project: Option<String>,
    pub table: Option<String>,
    pub version_sha: Option<String>,
    pub check: Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Mismatch,
    Unchecked,
    Error,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Mismatch => "mismatch",
            Verdict::Unchecked => "unchecked",
            Verdict::Error => "error",
        }
    }
}

/// The report of [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineageReport {
    pub status: Verdict,
    pub parents: Vec<ParentRow>,
    pub sources: Vec<SourceRow>,
    /// The recorded lineage was compared with the parents' union (there
    /// are parents and every one was fetched).
    pub compared: bool,
    /// Entries of the union absent from the recorded lineage, and recorded
    /// entries absent from the union (by project and table).
    pub missing: Vec<RValue>,
    pub extra: Vec<RValue>,
    /// `(declared, computed)`: same project and table, another `version_sha`.
    pub wrong_version: Vec<(RValue, RValue)>,
    /// One-line summary.
    pub message: String,
}

/// The projects a validation may read: the table's own, and others by name
/// (a project that could not be opened fails only the rows that need it).
pub struct Projects<'a> {
    pub own: &'a Project,
    pub others: &'a [(String, Result<Project>)],
}

impl Projects<'_> {
    fn get(&self, name: Option<&str>) -> Option<std::result::Result<&Project, &Error>> {
        let name = name?;
        if name == self.own.name {
            return Some(Ok(self.own));
        }
        self.others.iter().find(|(n, _)| n == name).map(|(_, p)| p.as_ref())
    }
}

/// A named document of a project's store (`metadata`, `history`, `snapshot`).
fn doc(project: &Project, kind: &str, table: Option<&str>, version: Option<&str>) -> Result<Option<RValue>> {
    let table = table.ok_or_else(|| Error::input(format!("the {kind} document needs a table")))?;
    layout::check_name(table, "table")?;
    let key = match kind {
        "metadata" => layout::data::metadata(table),
        "history" => layout::data::version_history(table),
        _ => layout::data::snapshot(table, version.ok_or_else(|| Error::input("a snapshot needs a version"))?)?,
    };
    project.get_json(&key)
}

/// Verify a table version's lineage from the data stores: every parent
/// (snapshot, its identity, the recorded `data_sha`, the object), every
/// source (a version with that `data_sha`, its object), and the recorded
/// `source_lineage` against the union of the parents' lineages. A failed
/// check is reported, never raised; only the table's own metadata must be
/// readable.
pub fn validate(projects: &Projects<'_>, name: &str, version: Option<&str>) -> Result<LineageReport> {
    let meta = table_metadata(projects.own, name, version)?;
    let mut proofs: HashMap<(String, String, String), Check> = HashMap::new();
    let mut prove = |p: &Project, table: &str, version: Option<&str>, data_sha: Option<&str>| -> Check {
        let key = (p.name.clone(), table.to_string(), data_sha.unwrap_or("").to_string());
        proofs.entry(key).or_insert_with(|| prove_object(p, table, version, data_sha)).clone()
    };

    // Parents: snapshot, identity, recorded data_sha, object
    let recorded_parents: Vec<RValue> = value(&meta, "parents").map(|p| elements(p).to_vec()).unwrap_or_default();
    let mut parents = Vec::with_capacity(recorded_parents.len());
    let mut lineages: Vec<Option<RValue>> = Vec::new();
    for p in &recorded_parents {
        let source = field(p, "source");
        let (check, lineage) = match projects.get(source.as_deref()) {
            None => (Check::unreachable(source.as_deref()), None),
            Some(Err(e)) => (Check::failed(RowStatus::Error, e.clone()), None),
            Some(Ok(pp)) => check_parent(p, pp, &mut prove),
        };
        lineages.push(lineage);
        parents.push(ParentRow { source, table: field(p, "table"), version: field(p, "version"), data_sha: field(p, "data_sha"), check });
    }

    // Sources: a version with that data_sha exists and its object proves it
    let recorded: Vec<RValue> = value(&meta, "source_lineage").map(|l| elements(l).to_vec()).unwrap_or_default();
    let sources: Vec<SourceRow> = recorded
        .iter()
        .map(|s| {
            let project = field(s, "project");
            let check = match projects.get(project.as_deref()) {
                None => Check::unreachable(project.as_deref()),
                Some(Err(e)) => Check::failed(RowStatus::Error, e.clone()),
                Some(Ok(sp)) => check_source(s, sp, &mut prove),
            };
            SourceRow { project, table: field(s, "table"), version_sha: field(s, "version_sha"), check }
        })
        .collect();

    // Consistency: the recorded lineage against the union of the parents'
    let compared = !parents.is_empty() && parents.iter().all(|p| p.check.status.fetched());
    let (mut missing, mut extra, mut wrong_version) = (Vec::new(), Vec::new(), Vec::new());
    if compared {
        let computed = union(lineages.iter().map(Option::as_ref));
        (missing, extra, wrong_version) = compare(&recorded, elements(&computed));
    }
    let n_mis = missing.len() + extra.len() + wrong_version.len();
    let bad_p = parents.iter().filter(|p| p.check.status != RowStatus::Ok).count();
    let bad_s = sources.iter().filter(|s| s.check.status != RowStatus::Ok).count();
    let status = if bad_p + bad_s > 0 {
        Verdict::Error
    } else if n_mis > 0 {
        Verdict::Mismatch
    } else if parents.is_empty() {
        Verdict::Unchecked
    } else {
        Verdict::Ok
    };
    let (np, ns) = (parents.len(), sources.len());
    let mismatch = format!("source_lineage mismatch: {} missing, {} extra, {} wrong-version", missing.len(), extra.len(), wrong_version.len());
    let message = match status {
        Verdict::Ok => format!("source_lineage consistent with {np} parent(s); {np} parent(s) and {ns} source(s) verified"),
        Verdict::Unchecked => format!("no parents: source_lineage cannot be verified; {ns} source(s) verified"),
        Verdict::Mismatch => mismatch,
        Verdict::Error => format!(
            "{bad_p} of {np} parent(s) and {bad_s} of {ns} source(s) failed verification{}",
            if n_mis > 0 { format!("; {mismatch}") } else { String::new() }
        ),
    };
    Ok(LineageReport { status, parents, sources, compared, missing, extra, wrong_version, message })
}

type Prove<'p> = dyn FnMut(&Project, &str, Option<&str>, Option<&str>) -> Check + 'p;

/// One parent: its snapshot (the current metadata for a legacy record
/// without a version id) must exist, record the same `data_sha`, still hash
/// to its version id and be in the history; then its object must prove the
/// `data_sha`. Returns the verdict and the parent's own lineage.
fn check_parent(p: &RValue, pp: &Project, prove: &mut Prove<'_>) -> (Check, Option<RValue>) {
    parent_checks(p, pp, prove).unwrap_or_else(|e| (Check::failed(RowStatus::Error, e), None))
}

fn parent_checks(p: &RValue, pp: &Project, prove: &mut Prove<'_>) -> Result<(Check, Option<RValue>)> {
    let source = field(p, "source").unwrap_or_default();
    let table = field(p, "table");
    let t = table.as_deref().unwrap_or("NA");
    let version = scalar(get(p, "version")).flatten().filter(|v| is_sha(v));
    let snap = match version {
        None => doc(pp, "metadata", table.as_deref(), None)?,
        Some(v) => doc(pp, "snapshot", table.as_deref(), Some(v))?,
    };
    let Some(snap) = snap else {
        let detail = match version {
            None => format!("table {t} not found in project {source}"),
            Some(v) => format!("version {} of {t} not found in project {source}", short(v)),
        };
        return Ok((Check::new(RowStatus::Missing, detail), None));
    };
    let lineage = source_lineage_of(&snap);
    let recorded = value(p, "data_sha");
    if value(&snap, "data_sha") != recorded {
        let sha = |v: Option<&RValue>| short(scalar(v).flatten().unwrap_or(""));
        let detail = format!("recorded data_sha {}, stored snapshot says {}", sha(recorded), sha(value(&snap, "data_sha")));
        return Ok((Check::new(RowStatus::DataShaMismatch, detail), lineage));
    }
    if let Some(v) = version {
        let (actual, _) = crate::identity::canon::metadata_sha(&snap)?;
        if actual != v {
            let detail = format!("snapshot no longer hashes to its version (hashes to {})", short(&actual));
            return Ok((Check::new(RowStatus::SnapshotModified, detail), lineage));
        }
        let hist = doc(pp, "history", table.as_deref(), None)?;
        let listed = hist.as_ref().is_some_and(|h| elements(h).iter().any(|e| field(e, "version").as_deref() == Some(v)));
        if !listed {
            let detail = format!("version {} is not in the history of {t}", short(v));
            return Ok((Check::new(RowStatus::Missing, detail), lineage));
        }
    }
    let data_sha = scalar(recorded).flatten();
    Ok((prove(pp, t, version, data_sha), lineage))
}

/// One source: a version of its table with that `data_sha` is in its
/// project's history, and that version's object proves the `data_sha`.
fn check_source(s: &RValue, sp: &Project, prove: &mut Prove<'_>) -> Check {
    source_checks(s, sp, prove).unwrap_or_else(|e| Check::failed(RowStatus::Error, e))
}

fn source_checks(s: &RValue, sp: &Project, prove: &mut Prove<'_>) -> Result<Check> {
    let project = field(s, "project").unwrap_or_default();
    let table = field(s, "table");
    let t = table.as_deref().unwrap_or("NA");
    let Some(hist) = doc(sp, "history", table.as_deref(), None)? else {
        return Ok(Check::new(RowStatus::Missing, format!("table {t} not found in project {project}")));
    };
    let sha = field(s, "version_sha");
    let hit = elements(&hist).iter().find(|e| sha.is_some() && field(e, "data_sha") == sha);
    let Some(hit) = hit else {
        let detail = format!("no version of {t} with data_sha {} in project {project}", short(sha.as_deref().unwrap_or("")));
        return Ok(Check::new(RowStatus::Missing, detail));
    };
    let version = field(hit, "version");
    Ok(prove(sp, t, version.as_deref(), sha.as_deref()))
}

/// Read a version's object (verified against its `parquet_sha` before
/// decoding) and re-hash its content: it must be `data_sha`.
fn prove_object(project: &Project, table: &str, version: Option<&str>, data_sha: Option<&str>) -> Check {
    let t = match read::read(project, table, version) {
        Ok((t, _)) => t,
        Err(e) => {
            let status = match e.kind {
                Kind::Integrity => RowStatus::Corrupt,
                Kind::NotFound => RowStatus::ObjectMissing,
                _ => RowStatus::Error,
            };
            return Check::failed(status, e);
        }
    };
    match content_sha(&t) {
        Err(e) => Check::failed(RowStatus::Error, e),
        Ok(got) if Some(got.as_str()) == data_sha => Check::ok(),
        Ok(got) => Check::new(
            RowStatus::Corrupt,
            format!("stored object hashes to {}, not {}", short(&got), short(data_sha.unwrap_or(""))),
        ),
    }
}

/// Compare the recorded lineage with the computed union by (project, table):
/// `(missing, extra, wrong_version)`.
#[allow(clippy::type_complexity)]
fn compare(recorded: &[RValue], computed: &[RValue]) -> (Vec<RValue>, Vec<RValue>, Vec<(RValue, RValue)>) {
    let pt = |e: &RValue| (field(e, "project"), field(e, "table"));
    let rec: Vec<_> = recorded.iter().map(pt).collect();
    let com: Vec<_> = computed.iter().map(pt).collect();
    let missing = computed.iter().zip(&com).filter(|(_, k)| !rec.contains(k)).map(|(e, _)| e.clone()).collect();
    let extra = recorded.iter().zip(&rec).filter(|(_, k)| !com.contains(k)).map(|(e, _)| e.clone()).collect();
    let mut wrong = Vec::new();
    for (r, k) in recorded.iter().zip(&rec) {
        let same: Vec<&RValue> = computed.iter().zip(&com).filter(|(_, c)| *c == k).map(|(e, _)| e).collect();
        if !same.is_empty() && !same.iter().any(|e| value(e, "version_sha") == value(r, "version_sha")) {
            wrong.push((r.clone(), same[0].clone()));
        }
    }
    (missing, extra, wrong)
}

// The content hash of a stored object -------------------------------------------

/// One column's values copied out of a read table.
enum Buf<'t> {
    F64(Vec<f64>),
    I32(Vec<i32>),
    Lgl(Vec<i32>),
    I64(Vec<u64>),
    Str(Vec<Option<&'t [u8]>>),
}

/// The `data_sha` (datom-cv1) of a decoded table, classified exactly as the
/// data frame it reads back into is: the content proof of a stored object.
pub fn content_sha(t: &ReadTable) -> Result<String> {
    if t.columns.is_empty() {
        return Err(Error::input("`data` has no columns.").with_hint("A table needs at least one column."));
    }
    if t.nrow == 0 {
        return Err(Error::input("`data` has no rows.").with_hint("A table needs at least one row."));
    }
    let n = t.nrow;
    let mut bufs = Vec::with_capacity(t.columns.len());
    for (i, c) in t.columns.iter().enumerate() {
        bufs.push(match c.target {
            RTarget::Double => {
                let mut v = vec![0.0; n];
                t.fill_f64(i, &mut v)?;
                Buf::F64(v)
            }
            RTarget::Integer | RTarget::Factor => {
                let mut v = vec![0; n];
                t.fill_i32(i, &mut v)?;
                Buf::I32(v)
            }
            RTarget::Logical => {
                let mut v = vec![0; n];
                t.fill_i32(i, &mut v)?;
                Buf::Lgl(v)
            }
            RTarget::Integer64 => {
                let mut v = vec![0; n];
                t.fill_i64_bits(i, &mut v)?;
                Buf::I64(v)
            }
            RTarget::Character => {
                let mut v = vec![None; n];
                t.for_each_str(i, |k, s| v[k] = s.map(str::as_bytes))?;
                Buf::Str(v)
            }
        });
    }
    let mut columns = Vec::with_capacity(bufs.len());
    let mut problems = Vec::new();
    for (c, buf) in t.columns.iter().zip(&bufs) {
        let class: Vec<String> = c.info.class.clone().unwrap_or_default();
        let rtype = match buf {
            Buf::F64(_) | Buf::I64(_) => "double",
            Buf::I32(_) => "integer",
            Buf::Lgl(_) => "logical",
            Buf::Str(_) => "character",
        };
        let shape = ColumnShape { class: &class, rtype, list_of_frames: false, has_units: c.info.units.is_some() };
        let num = || match buf {
            Buf::F64(v) => Some(NumValues::Double(v)),
            Buf::I32(v) => Some(NumValues::Integer(v)),
            Buf::Lgl(v) => Some(NumValues::Logical(v)),
            Buf::I64(v) => Some(NumValues::Double(bytemuck_f64(v))),
            Buf::Str(_) => None,
        };
        let unsupported = |advice: String| format!("{} ({}): {advice}", c.name, if class.is_empty() { rtype.to_string() } else { class.join("/") });
        let column = match classify(&shape) {
            Classified::Unsupported { advice } => {
                problems.push(unsupported(advice));
                continue;
            }
            Classified::Ok { stripped: true, .. } => match buf {
                Buf::Str(v) => Column::Chr(StrValues { values: v.clone() }),
                _ => Column::Num(num().ok_or_else(|| Error::internal("labelled column storage"))?),
            },
            Classified::Ok { kind, .. } => match kind {
                CKind::Num => Column::Num(num().ok_or_else(|| Error::internal("numeric storage"))?),
                CKind::Chr => match buf {
                    Buf::Str(v) => Column::Chr(StrValues { values: v.clone() }),
                    _ => return Err(Error::internal("character storage")),
                },
                CKind::I64 => match buf {
                    Buf::I64(v) => Column::I64(v),
                    Buf::F64(v) => Column::I64(bytemuck_u64(v)),
                    _ => return Err(Error::internal("integer64 storage")),
                },
                CKind::Factor => {
                    let (Buf::I32(codes), Some(levels)) = (buf, &c.levels) else {
                        problems.push(unsupported("a factor's levels must be character, not NULL; rebuild it with factor()".into()));
                        continue;
                    };
                    Column::Factor {
                        codes,
                        levels: StrValues { values: levels.iter().map(|s| Some(s.as_bytes())).collect() },
                        ordered: class.iter().any(|c| c == "ordered"),
                    }
                }
                CKind::Date => Column::Date(num().ok_or_else(|| Error::internal("Date storage"))?),
                CKind::Time => Column::Time { secs: num().ok_or_else(|| Error::internal("POSIXct storage"))?, tzone: c.info.tzone.clone() },
                CKind::Duration => Column::Duration {
                    values: num().ok_or_else(|| Error::internal("difftime storage"))?,
                    units: c.info.units.clone().unwrap_or_default(),
                },
                CKind::ITime => Column::Duration { values: num().ok_or_else(|| Error::internal("ITime storage"))?, units: "secs".into() },
            },
        };
        columns.push(NamedColumn { name: c.name.clone(), column, info: c.info.clone() });
    }
    if !problems.is_empty() {
        return Err(Error::new(
            Kind::Unsupported,
            format!("{} of {} columns cannot be hashed: {}", problems.len(), t.columns.len(), problems.join("; ")),
        ));
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    Ok(crate::identity::hash_table(&columns, n, threads).data_sha)
}

/// The bits of integer64 values seen as R's doubles (same size and alignment).
fn bytemuck_f64(v: &[u64]) -> &[f64] {
    // SAFETY: f64 and u64 have the same size and alignment; every bit pattern is a valid f64.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const f64, v.len()) }
}

fn bytemuck_u64(v: &[f64]) -> &[u64] {
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u64, v.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::RColumnInfo;
    use crate::identity::canon::metadata_sha;
    use crate::model;
    use crate::store::local::LocalStore;

    fn j(s: &str) -> RValue {
        model::read_json(s, "test").unwrap()
    }

    fn project(d: &std::path::Path, name: &str) -> Project {
        Project::new(name, Box::new(LocalStore::new(d.join(name))), None, true, String::new())
    }

    fn lin(project: &str, table: &str, sha: &str) -> RValue {
        RValue::named(vec![("project", RValue::str(project)), ("table", RValue::str(table)), ("version_sha", RValue::str(sha))])
    }

    fn num(name: &str, v: &[f64]) -> Vec<NamedColumn<'static>> {
        let v: &'static [f64] = Box::leak(v.to_vec().into_boxed_slice());
        let info = RColumnInfo { storage: "double".into(), ..Default::default() };
        vec![NamedColumn { name: name.into(), column: Column::Num(NumValues::Double(v)), info }]
    }

    /// A version of `table` in `p`'s store as a write publishes it: the
    /// object, the snapshot, the current metadata and the history entry.
    /// `extra` adds metadata fields (parents, source_lineage). Returns
    /// (version, data_sha).
    fn put_version(p: &Project, table: &str, cols: &[NamedColumn<'_>], nrow: usize, extra: Vec<(&str, RValue)>) -> (String, String) {
        let data_sha = crate::identity::hash_table(cols, nrow, 1).data_sha;
        let w = crate::table::write_parquet(cols, nrow, None).unwrap();
        p.store.put(&p.key(&layout::data::parquet(table, &data_sha).unwrap()), &w.bytes).unwrap();
        let mut pairs = vec![("data_sha", RValue::str(&data_sha)), ("parquet_sha", RValue::str(&w.parquet_sha)), ("nrow", RValue::int(nrow as i32))];
        pairs.extend(extra);
        let meta = RValue::named(pairs);
        let (version, _) = metadata_sha(&meta).unwrap();
        p.put_json(&layout::data::snapshot(table, &version).unwrap(), &meta).unwrap();
        p.put_json(&layout::data::metadata(table), &meta).unwrap();
        let hist = p.get_json(&layout::data::version_history(table)).unwrap().unwrap_or_else(|| unnamed(vec![]));
        let entry = RValue::named(vec![("version", RValue::str(&version)), ("data_sha", RValue::str(&data_sha)), ("parquet_sha", RValue::str(&w.parquet_sha))]);
        p.put_json(&layout::data::version_history(table), &unnamed([vec![entry], elements(&hist).to_vec()].concat())).unwrap();
        (version, data_sha)
    }

    fn parent(source: &str, table: &str, version: &str, data_sha: &str) -> RValue {
        RValue::named(vec![("source", RValue::str(source)), ("table", RValue::str(table)), ("version", RValue::str(version)), ("data_sha", RValue::str(data_sha))])
    }

    /// RAW: dm (two imported versions), ae. ANA: adsl <- RAW dm v1.
    struct Chain {
        dir: std::path::PathBuf,
        raw: Project,
        ana: Project,
        dm1: (String, String),
        dm2: (String, String),
        ae: (String, String),
        adsl: (String, String),
    }

    fn chain(tag: &str) -> Chain {
        let d = crate::testutil::scratch_dir(tag);
        let (raw, ana) = (project(&d, "RAW"), project(&d, "ANA"));
        let imported = |p: &Project, t: &str, v: &[f64]| {
            let cols = num("x", v);
            let sha = crate::identity::hash_table(&cols, v.len(), 1).data_sha;
            put_version(p, t, &cols, v.len(), vec![("source_lineage", unnamed(vec![lin("RAW", t, &sha)]))])
        };
        let dm1 = imported(&raw, "dm", &[1.0, 2.0]);
        let ae = imported(&raw, "ae", &[5.0]);
        let dm2 = imported(&raw, "dm", &[1.0, 2.0, 3.0]);
        let adsl = put_version(
            &ana,
            "adsl",
            &num("age", &[40.0, 50.0]),
            2,
            vec![
                ("parents", unnamed(vec![parent("RAW", "dm", &dm1.0, &dm1.1)])),
                ("source_lineage", unnamed(vec![lin("RAW", "dm", &dm1.1)])),
            ],
        );
        Chain { dir: d, raw, ana, dm1, dm2, ae, adsl }
    }

    fn statuses<'a>(checks: impl Iterator<Item = &'a Check>) -> Vec<&'static str> {
        checks.map(|c| c.status.as_str()).collect()
    }

    #[test]
    fn lineage_write_records_are_checked_trimmed_and_unioned() {
        let a = lin("P", "dm", "aaaaaa");
        let b = lin("P", "ae", "bbbbbb");
        let mut p1 = parent("P", "dm", "111111", "aaaaaa");
        model::set(&mut p1, "source_lineage", unnamed(vec![a.clone()]));
        model::set(&mut p1, "note", RValue::str("dropped"));
        let mut p2 = parent("Q", "x", "222222", "cccccc");
        model::set(&mut p2, "source_lineage", unnamed(vec![a.clone(), b.clone()]));
        let w = write_lineage(Some(&unnamed(vec![p1, p2])), Some(&unnamed(vec![lin("Z", "z", "zzzzzz")])), false).unwrap();
        // records trimmed to the four fields; lineage is the parents' union (source_lineage ignored)
        assert_eq!(w.parents, Some(unnamed(vec![parent("P", "dm", "111111", "aaaaaa"), parent("Q", "x", "222222", "cccccc")])));
        assert_eq!(w.source_lineage, Some(unnamed(vec![a.clone(), b.clone()])));
        // parents without lineage: an empty union
        let w = write_lineage(Some(&unnamed(vec![parent("P", "dm", "111111", "aaaaaa")])), None, false).unwrap();
        assert_eq!(w.source_lineage, Some(unnamed(vec![])));

        let err = |parents: RValue| write_lineage(Some(&parents), None, false).unwrap_err();
        let e = err(RValue::named(vec![("a", parent("P", "dm", "111111", "aaaaaa"))]));
        assert_eq!((e.kind, e.message.as_str()), (Kind::Input, "`parents` must be an unnamed list of parent records."));
        assert_eq!(e.hint.as_deref(), Some(PARENT_HINT));
        assert_eq!(err(RValue::str("x")).message, "`parents` must be an unnamed list of parent records.");
        assert_eq!(err(unnamed(vec![RValue::str("x")])).message, "Parent 1 is not a list.");
        let mut bad = parent("P", "dm", "111111", "");
        assert_eq!(err(unnamed(vec![parent("P", "dm", "1", "a"), bad.clone()])).message, "Parent 2 has a missing or empty data_sha.");
        model::set(&mut bad, "data_sha", RValue::Character(vec![None]));
        assert_eq!(err(unnamed(vec![bad])).message, "Parent 1 has a missing or empty data_sha.");
        let two = RValue::named(vec![("source", RValue::Character(vec![Some("P".into()), Some("Q".into())]))]);
        assert_eq!(err(unnamed(vec![two])).message, "Parent 1 has a missing or empty source.");
        let mut p = parent("P", "dm", "111111", "aaaaaa");
        model::set(&mut p, "source_lineage", unnamed(vec![lin("P", "dm", "")]));
        assert_eq!(err(unnamed(vec![p])).message, "Entry 1 of `parents[[1]]$source_lineage` has a missing or empty version_sha.");

        // a lineage without parents is checked, except an import's self-entry
        let own = unnamed(vec![lin("P", "dm", "")]);
        assert_eq!(write_lineage(None, Some(&own), true).unwrap(), WriteLineage { parents: None, source_lineage: Some(own.clone()) });
        let e = write_lineage(None, Some(&own), false).unwrap_err();
        assert_eq!(e.message, "Entry 1 of `.source_lineage` has a missing or empty version_sha.");
        assert_eq!(write_lineage(None, Some(&RValue::str("x")), false).unwrap_err().message, "`.source_lineage` must be a list of lineage entries.");
        assert_eq!(
            write_lineage(None, Some(&unnamed(vec![RValue::str("x")])), false).unwrap_err().message,
            "Entry 1 of `.source_lineage` has a missing or empty project."
        );
        assert_eq!(write_lineage(Some(&RValue::Null), Some(&RValue::Null), false).unwrap(), WriteLineage { parents: None, source_lineage: None });
    }

    #[test]
    fn lineage_union_keeps_first_occurrences_unchanged() {
        let a = lin("P", "dm", "aaaaaa");
        let mut a2 = a.clone();
        model::set(&mut a2, "note", RValue::str("a later copy"));
        let b = lin("P", "dm", "bbbbbb");
        let c = lin("Q", "dm", "aaaaaa");
        let mut first = a.clone();
        model::set(&mut first, "note", RValue::str("kept as given"));
        let u = union_of(&unnamed(vec![unnamed(vec![first.clone(), b.clone()]), RValue::Null, unnamed(vec![a2, c.clone(), b.clone()])])).unwrap();
        assert_eq!(u, unnamed(vec![first, b, c]));
        assert_eq!(union_of(&unnamed(vec![])).unwrap(), unnamed(vec![]));
        assert_eq!(union_of(&RValue::str("x")).unwrap_err().message, "`lineages` must be a list.");
    }

    #[test]
    fn lineage_metadata_fields_and_parent_records() {
        let ch = chain("lineage-meta");
        // current metadata and pinned versions (full id or prefix)
        let cur = table_metadata(&ch.raw, "dm", None).unwrap();
        assert_eq!(source_lineage_of(&cur), Some(unnamed(vec![lin("RAW", "dm", &ch.dm2.1)])));
        let old = table_metadata(&ch.raw, "dm", Some(&ch.dm1.0[..6])).unwrap();
        assert_eq!(source_lineage_of(&old), Some(unnamed(vec![lin("RAW", "dm", &ch.dm1.1)])));
        assert_eq!(parents_of(&old), None);
        let adsl = table_metadata(&ch.ana, "adsl", None).unwrap();
        assert_eq!(parents_of(&adsl), Some(unnamed(vec![parent("RAW", "dm", &ch.dm1.0, &ch.dm1.1)])));
        // a parent record is trimmed to its four fields, absent ones null
        let loose = j(r#"{"parents": [{"source": "RAW", "table": "dm", "extra": 1}]}"#);
        let want = RValue::named(vec![("source", RValue::str("RAW")), ("table", RValue::str("dm")), ("version", RValue::Null), ("data_sha", RValue::Null)]);
        assert_eq!(parents_of(&loose), Some(unnamed(vec![want])));
        assert_eq!(parents_of(&j(r#"{"parents": null}"#)), None);

        let e = table_metadata(&ch.raw, "nope", None).unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (Kind::NotFound, "No metadata found for table \"nope\"."));
        assert_eq!(table_metadata(&ch.raw, "dm", Some("ffffff0")).unwrap_err().kind, Kind::NotFound);
        // in the history, but its snapshot is gone
        ch.raw.store.delete(&ch.raw.key(&layout::data::snapshot("dm", &ch.dm1.0).unwrap())).unwrap();
        let e = table_metadata(&ch.raw, "dm", Some(&ch.dm1.0[..8])).unwrap_err();
        assert_eq!(e.message, format!("Version {:?} not found for table \"dm\".", &ch.dm1.0[..8]));

        // datom_parent's record comes from the snapshot
        let r = parent_record(&ch.raw, "dm", &ch.dm2.0).unwrap();
        assert_eq!((r.source.as_str(), r.data_sha.as_str()), ("RAW", ch.dm2.1.as_str()));
        assert_eq!(r.source_lineage, Some(unnamed(vec![lin("RAW", "dm", &ch.dm2.1)])));
        let e = parent_record(&ch.raw, "dm", &ch.dm1.0).unwrap_err();
        assert_eq!(e.kind, Kind::NotFound);
        assert_eq!(e.message, format!("Parent \"dm\"@{:?} not found in project \"RAW\".", &ch.dm1.0[..8]));
        let snap = layout::data::snapshot("dm", &ch.dm2.0).unwrap();
        ch.raw.put_json(&snap, &j(r#"{"data_sha": "not a sha"}"#)).unwrap();
        let e = parent_record(&ch.raw, "dm", &ch.dm2.0).unwrap_err();
        assert_eq!(e.kind, Kind::Integrity);
        assert!(e.message.ends_with("in project \"RAW\" has no valid data_sha."), "{}", e.message);
    }

    #[test]
    fn lineage_validation_proves_parents_and_sources_across_projects() {
        let ch = chain("lineage-ok");
        let others = [("RAW".to_string(), Ok(project(&ch.dir, "RAW")))];
        let both = Projects { own: &ch.ana, others: &others };
        let r = validate(&both, "adsl", None).unwrap();
        assert_eq!(r.status, Verdict::Ok);
        assert!(r.compared);
        assert_eq!(statuses(r.parents.iter().map(|p| &p.check)), ["ok"]);
        assert_eq!(statuses(r.sources.iter().map(|s| &s.check)), ["ok"]);
        assert_eq!(r.parents[0].version.as_deref(), Some(ch.dm1.0.as_str()));
        assert_eq!(r.sources[0].version_sha.as_deref(), Some(ch.dm1.1.as_str()));
        assert!(r.missing.is_empty() && r.extra.is_empty() && r.wrong_version.is_empty());
        assert_eq!(r.message, "source_lineage consistent with 1 parent(s); 1 parent(s) and 1 source(s) verified");
        // pinned by prefix
        assert_eq!(validate(&both, "adsl", Some(&ch.adsl.0[..10])).unwrap().status, Verdict::Ok);

        // without a connection to RAW: unreachable, reported, not raised
        let alone = Projects { own: &ch.ana, others: &[] };
        let r = validate(&alone, "adsl", None).unwrap();
        assert_eq!(r.status, Verdict::Error);
        assert!(!r.compared);
        assert_eq!(statuses(r.parents.iter().map(|p| &p.check)), ["unreachable"]);
        assert!(!r.parents[0].check.status.fetched());
        assert_eq!(r.parents[0].check.detail, "project RAW is not reachable: pass a connection to it in `conns`");
        assert_eq!(statuses(r.sources.iter().map(|s| &s.check)), ["unreachable"]);
        assert_eq!(r.message, "1 of 1 parent(s) and 1 of 1 source(s) failed verification");

        // a project that could not be opened fails the rows that need it
        let broken = [("RAW".to_string(), Err(Error::input("invalid S3 bucket name").with_hint("give the bare bucket name")))];
        let r = validate(&Projects { own: &ch.ana, others: &broken }, "adsl", None).unwrap();
        assert_eq!(statuses(r.parents.iter().map(|p| &p.check).chain(r.sources.iter().map(|s| &s.check))), ["error", "error"]);
        assert_eq!((r.parents[0].check.detail.as_str(), r.parents[0].check.hint.as_deref()), ("invalid S3 bucket name", Some("give the bare bucket name")));

        // an imported table: no parents, its source proven
        let raw = Projects { own: &ch.raw, others: &[] };
        let r = validate(&raw, "dm", None).unwrap();
        assert_eq!((r.status, r.compared, r.parents.len()), (Verdict::Unchecked, false, 0));
        assert_eq!(statuses(r.sources.iter().map(|s| &s.check)), ["ok"]);
        assert_eq!(r.message, "no parents: source_lineage cannot be verified; 1 source(s) verified");
        // the table's own metadata must be readable
        assert_eq!(validate(&raw, "nope", None).unwrap_err().kind, Kind::NotFound);
        let _ = &ch.ae;
    }

    #[test]
    fn lineage_not_the_union_of_the_parents_is_a_mismatch() {
        let ch = chain("lineage-mismatch");
        // parent dm v2, but the recorded lineage claims dm v1 and an extra ae
        put_version(
            &ch.ana,
            "dm_head",
            &num("x", &[1.0]),
            1,
            vec![
                ("parents", unnamed(vec![parent("RAW", "dm", &ch.dm2.0, &ch.dm2.1)])),
                ("source_lineage", unnamed(vec![lin("RAW", "dm", &ch.dm1.1), lin("RAW", "ae", &ch.ae.1)])),
            ],
        );
        let others = [("RAW".to_string(), Ok(project(&ch.dir, "RAW")))];
        let r = validate(&Projects { own: &ch.ana, others: &others }, "dm_head", None).unwrap();
        assert_eq!(r.status, Verdict::Mismatch);
        assert_eq!(statuses(r.parents.iter().map(|p| &p.check)), ["ok"]);
        assert_eq!(statuses(r.sources.iter().map(|s| &s.check)), ["ok", "ok"], "both recorded sources exist");
        assert_eq!(r.missing, Vec::<RValue>::new());
        assert_eq!(r.extra, vec![lin("RAW", "ae", &ch.ae.1)]);
        assert_eq!(r.wrong_version, vec![(lin("RAW", "dm", &ch.dm1.1), lin("RAW", "dm", &ch.dm2.1))]);
        assert_eq!(r.message, "source_lineage mismatch: 0 missing, 1 extra, 1 wrong-version");
        // an entry of the union absent from the record is missing
        let (missing, extra, wrong) = compare(&[], &[lin("RAW", "dm", "aaaaaa")]);
        assert_eq!((missing.len(), extra.len(), wrong.len()), (1, 0, 0));
        // any computed entry with the recorded version_sha matches
        let (_, _, wrong) = compare(&[lin("P", "t", "bbbbbb")], &[lin("P", "t", "aaaaaa"), lin("P", "t", "bbbbbb")]);
        assert!(wrong.is_empty());
    }

    #[test]
    fn lineage_validation_detects_tampered_parents_and_objects() {
        let ch = chain("lineage-tamper");
        let others = [("RAW".to_string(), Ok(project(&ch.dir, "RAW")))];
        let ps = Projects { own: &ch.ana, others: &others };
        let parent_check = || validate(&ps, "adsl", None).unwrap().parents.remove(0).check;
        let snap_key = layout::data::snapshot("dm", &ch.dm1.0).unwrap();
        let original = ch.raw.get_json(&snap_key).unwrap().unwrap();

        // 1. the snapshot claims another data_sha
        let mut m = original.clone();
        model::set(&mut m, "data_sha", RValue::str("f".repeat(64)));
        ch.raw.put_json(&snap_key, &m).unwrap();
        let c = parent_check();
        assert_eq!(c.status, RowStatus::DataShaMismatch);
        assert_eq!(c.detail, format!("recorded data_sha {}, stored snapshot says ffffffff", short(&ch.dm1.1)));
        let r = validate(&ps, "adsl", None).unwrap();
        assert!(r.compared, "a fetched parent still takes part in the comparison");
        assert_eq!(r.status, Verdict::Error);

        // 2. the snapshot edited elsewhere no longer hashes to its version
        let mut m = original.clone();
        model::set(&mut m, "nrow", RValue::int(99999));
        ch.raw.put_json(&snap_key, &m).unwrap();
        let c = parent_check();
        assert_eq!(c.status, RowStatus::SnapshotModified);
        assert!(c.detail.starts_with("snapshot no longer hashes to its version (hashes to "), "{}", c.detail);

        // 3. the snapshot deleted: missing, not fetched
        ch.raw.store.delete(&ch.raw.key(&snap_key)).unwrap();
        let r = validate(&ps, "adsl", None).unwrap();
        assert_eq!(r.parents[0].check.status, RowStatus::Missing);
        assert_eq!(r.parents[0].check.detail, format!("version {} of dm not found in project RAW", short(&ch.dm1.0)));
        assert!(!r.compared);
        ch.raw.put_json(&snap_key, &original).unwrap();
        assert_eq!(validate(&ps, "adsl", None).unwrap().status, Verdict::Ok);

        // 4. a version that is not in the history
        let hist_key = layout::data::version_history("dm");
        let hist = ch.raw.get_json(&hist_key).unwrap().unwrap();
        ch.raw.put_json(&hist_key, &unnamed(elements(&hist)[..1].to_vec())).unwrap();
        let c = parent_check();
        assert_eq!((c.status, c.detail.clone()), (RowStatus::Missing, format!("version {} is not in the history of dm", short(&ch.dm1.0))));
        ch.raw.put_json(&hist_key, &hist).unwrap();

        // 5. the object deleted: the parent and the source say so
        let obj = ch.raw.key(&layout::data::parquet("dm", &ch.dm1.1).unwrap());
        let bytes = ch.raw.store.get(&obj).unwrap();
        ch.raw.store.delete(&obj).unwrap();
        let r = validate(&ps, "adsl", None).unwrap();
        assert_eq!(statuses(r.parents.iter().map(|p| &p.check)), ["object_missing"]);
        assert_eq!(statuses(r.sources.iter().map(|s| &s.check)), ["object_missing"]);
        assert!(r.parents[0].check.status.fetched());
        assert_eq!(r.message, "1 of 1 parent(s) and 1 of 1 source(s) failed verification");

        // 6. the object altered: its integrity check fails (message and hint)
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid] = bad[mid].wrapping_add(1);
        ch.raw.store.put(&obj, &bad).unwrap();
        let c = parent_check();
        assert_eq!(c.status, RowStatus::Corrupt);
        assert!(c.detail.contains("integrity"), "{}", c.detail);
        assert!(c.hint.is_some());
        ch.raw.store.put(&obj, &bytes).unwrap();
        assert_eq!(validate(&ps, "adsl", None).unwrap().status, Verdict::Ok);

        // 7. a legacy parent without a version id: the current metadata
        put_version(&ch.ana, "legacy", &num("x", &[1.0]), 1, vec![("parents", unnamed(vec![j(&format!(
            r#"{{"source": "RAW", "table": "dm", "data_sha": "{}"}}"#, ch.dm2.1)
        )]))]);
        let r = validate(&ps, "legacy", None).unwrap();
        assert_eq!(statuses(r.parents.iter().map(|p| &p.check)), ["ok"]);
        assert_eq!(r.parents[0].version, None);
        put_version(&ch.ana, "legacy2", &num("x", &[2.0]), 1, vec![("parents", unnamed(vec![j(
            r#"{"source": "RAW", "table": "gone", "data_sha": "abcdef"}"#
        )]))]);
        let c = validate(&ps, "legacy2", None).unwrap().parents.remove(0).check;
        assert_eq!((c.status, c.detail.as_str()), (RowStatus::Missing, "table gone not found in project RAW"));

        // 8. a source whose data_sha no version has, and a malformed entry
        put_version(&ch.ana, "srcs", &num("x", &[3.0]), 1, vec![(
            "source_lineage",
            unnamed(vec![lin("RAW", "dm", "abcdef"), RValue::named(vec![("project", RValue::str("RAW"))])]),
        )]);
        let r = validate(&ps, "srcs", None).unwrap();
        assert_eq!(statuses(r.sources.iter().map(|s| &s.check)), ["missing", "error"]);
        assert_eq!(r.sources[0].check.detail, "no version of dm with data_sha abcdef in project RAW");
        assert_eq!(r.sources[1].check.detail, "the history document needs a table");
        assert_eq!(r.status, Verdict::Error);
    }

    #[test]
    fn lineage_object_proof_rehashes_the_content() {
        let d = crate::testutil::scratch_dir("lineage-proof");
        let p = project(&d, "P");
        // a forged version: its object passes the integrity check but holds other content
        let (_, real) = put_version(&p, "t", &num("x", &[1.0, 2.0]), 2, vec![]);
        let claimed = "c".repeat(64);
        let obj = p.store.get(&p.key(&layout::data::parquet("t", &real).unwrap())).unwrap();
        p.store.put(&p.key(&layout::data::parquet("t", &claimed).unwrap()), &obj).unwrap();
        let mut meta = p.get_json(&layout::data::metadata("t")).unwrap().unwrap();
        model::set(&mut meta, "data_sha", RValue::str(&claimed));
        p.put_json(&layout::data::metadata("t"), &meta).unwrap();
        let c = prove_object(&p, "t", None, Some(&claimed));
        assert_eq!((c.status, c.detail), (RowStatus::Corrupt, format!("stored object hashes to {}, not cccccccc", short(&real))));
        assert_eq!(prove_object(&p, "nope", None, Some(&claimed)).status, RowStatus::ObjectMissing);

        // the content hash of a decoded object is the hash of the frame written
        let codes: &'static [i32] = &[2, 1, NA_I32, 2];
        let date: &'static [f64] = &[19000.0, 19001.5, 0.0, -1.0];
        let secs: &'static [i32] = &[0, 60, 3600, 7];
        let words: Vec<Option<&[u8]>> = vec![Some(b"a"), None, Some("\u{e9}".as_bytes()), Some(b"")];
        let info = |class: &[&str], storage: &str| RColumnInfo {
            class: Some(class.iter().map(|s| s.to_string()).collect()).filter(|c: &Vec<String>| !c.is_empty()),
            storage: storage.into(),
            ..Default::default()
        };
        let cols = vec![
            NamedColumn { name: "n".into(), column: Column::Num(NumValues::Double(&[1.5, -0.0, f64::NAN, 1e300])), info: info(&[], "double") },
            NamedColumn { name: "l".into(), column: Column::Num(NumValues::Logical(&[1, 0, NA_I32, 1])), info: info(&[], "logical") },
            NamedColumn { name: "s".into(), column: Column::Chr(StrValues { values: words }), info: info(&[], "character") },
            NamedColumn {
                name: "f".into(),
                column: Column::Factor { codes, levels: StrValues { values: vec![Some(b"lo"), Some(b"hi")] }, ordered: true },
                info: info(&["ordered", "factor"], "integer"),
            },
            NamedColumn { name: "d".into(), column: Column::Date(NumValues::Double(date)), info: info(&["Date"], "double") },
            NamedColumn {
                name: "t".into(),
                column: Column::Time { secs: NumValues::Integer(secs), tzone: Some("UTC".into()) },
                info: RColumnInfo { tzone: Some("UTC".into()), ..info(&["POSIXct", "POSIXt"], "integer") },
            },
            NamedColumn {
                name: "dur".into(),
                column: Column::Duration { values: NumValues::Double(date), units: "mins".into() },
                info: RColumnInfo { units: Some("mins".into()), ..info(&["difftime"], "double") },
            },
            NamedColumn { name: "lab".into(), column: Column::Num(NumValues::Double(date)), info: info(&["haven_labelled", "vctrs_vctr", "double"], "double") },
        ];
        let want = crate::identity::hash_table(&cols, 4, 1).data_sha;
        let w = crate::table::write_parquet(&cols, 4, None).unwrap();
        let t = crate::table::read_parquet(bytes::Bytes::from(w.bytes)).unwrap();
        assert_eq!(content_sha(&t).unwrap(), want);
    }

    const NA_I32: i32 = i32::MIN;
}

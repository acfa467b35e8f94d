//! The files datom writes (dev/spec/FORMATS.md 8-10) as engine values: `project.yaml`
//! (a small YAML writer/reader for its fixed block layout), and helpers that
//! build and edit the JSON documents (manifest, history, metadata, governance
//! files) as `RValue` trees so they serialise with the canonical writer.

use crate::error::{Error, Kind, Result};
use crate::identity::canon::{parse_json, pretty_json};
use crate::identity::rvalue::RValue;
use std::collections::BTreeMap;

// ---------------------------------------------------------------- time ----

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::identity::civil_date(days),
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SSZ` instant (the form
/// `format_utc` writes); `None` for anything else.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &s[r];
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok()).flatten()
    };
    let (y, m, d, hh, mm, ss) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || d < 1 || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    if crate::identity::civil_date(days) != s[0..10] {
        return None; // 2026-02-30 and the like
    }
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The current UTC time as datom writes timestamps.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_utc(secs)
}

/// The UTC time `days` days from now (a sunset), as datom writes timestamps.
pub fn utc_after_days(days: f64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    format_utc((now + days * 86_400.0).floor() as i64)
}

// ------------------------------------------------------------- RValue ----

/// A named list's value for `key`.
pub fn get<'a>(v: &'a RValue, key: &str) -> Option<&'a RValue> {
    v.get(key)
}

/// The first string of a character value.
pub fn as_str(v: Option<&RValue>) -> Option<&str> {
    match v {
        Some(RValue::Character(x)) => x.first().and_then(|s| s.as_deref()),
        _ => None,
    }
}

/// A number (integer or double) as f64.
pub fn as_f64(v: Option<&RValue>) -> Option<f64> {
    match v {
        Some(RValue::Integer(x)) => x.first().copied().flatten().map(|i| i as f64),
        Some(RValue::Double(x)) => x.first().copied(),
        _ => None,
    }
}

/// Set `key` in a named list (replacing in place, or appending).
pub fn set(v: &mut RValue, key: &str, value: RValue) {
    if let RValue::List { names, values } = v {
        let names = names.get_or_insert_with(Vec::new);
        if let Some(i) = names.iter().position(|n| n.as_deref() == Some(key)) {
            values[i] = value;
        } else {
            names.push(Some(key.to_string()));
            values.push(value);
        }
    }
}

/// Remove `key` from a named list.
pub fn remove(v: &mut RValue, key: &str) {
    if let RValue::List { names: Some(names), values } = v {
        if let Some(i) = names.iter().position(|n| n.as_deref() == Some(key)) {
            names.remove(i);
            values.remove(i);
        }
    }
}

/// Members of a named list as (name, value) pairs.
pub fn members(v: &RValue) -> Vec<(String, &RValue)> {
    match v {
        RValue::List { names: Some(names), values } => names
            .iter()
            .zip(values.iter())
            .map(|(n, v)| (n.clone().unwrap_or_default(), v))
            .collect(),
        _ => Vec::new(),
    }
}

/// Elements of an array (unnamed list).
pub fn elements(v: &RValue) -> &[RValue] {
    match v {
        RValue::List { values, .. } => values,
        _ => &[],
    }
}

/// A JSON file's text: the pretty canonical form, plus a newline when asked.
pub fn json_text(v: &RValue, newline: bool) -> String {
    let mut s = pretty_json(v);
    if newline {
        s.push('\n');
    }
    s
}

/// Parse a JSON document datom wrote (or anyone else did).
pub fn read_json(text: &str, what: &str) -> Result<RValue> {
    parse_json(text).map_err(|e| Error::new(Kind::Json, format!("Failed to read JSON {what}: {}", e.message)))
}

// --------------------------------------------------------- locations ----

/// Where a store lives (`storage.data` of project.yaml, `current` of
/// ref.json, `gov_storage` of governance.json).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Location {
    /// "local" or "s3"
    pub kind: String,
    pub root: String,
    pub prefix: Option<String>,
    pub region: Option<String>,
}

impl Location {
    /// Do two locations name the same place (prefix `p` = `p/` = `/p/`; a
    /// local root compared as a resolved path)?
    pub fn same_place(&self, other: &Location) -> bool {
        fn prefix(l: &Location) -> &str {
            l.prefix.as_deref().unwrap_or("").trim_matches('/')
        }
        fn root(l: &Location) -> String {
            if l.kind == "local" {
                let p = std::path::Path::new(&l.root);
                std::fs::canonicalize(p).map(|c| c.display().to_string()).unwrap_or_else(|_| l.root.trim_end_matches('/').to_string())
            } else {
                l.root.clone()
            }
        }
        self.kind == other.kind && prefix(self) == prefix(other) && root(self) == root(other)
    }
    /// `s3://bucket/prefix` or a local path with its prefix, for messages.
    pub fn label(&self) -> String {
        let p = self.prefix.as_deref().unwrap_or("").trim_matches('/');
        let base = if self.kind == "s3" { format!("s3://{}", self.root) } else { self.root.trim_end_matches('/').to_string() };
        if p.is_empty() { base } else { format!("{base}/{p}") }
    }
    /// Prefix normalised: `None` when absent or empty.
    pub fn prefix_norm(&self) -> Option<&str> {
        self.prefix.as_deref().filter(|p| !p.is_empty())
    }
    /// The JSON object form (null fields omitted; region only for s3).
    pub fn to_rvalue(&self) -> RValue {
        let mut pairs = vec![("type", RValue::str(&self.kind)), ("root", RValue::str(&self.root))];
        if let Some(p) = self.prefix_norm() {
            pairs.push(("prefix", RValue::str(p)));
        }
        if self.kind == "s3" {
            pairs.push(("region", RValue::str(self.region.clone().unwrap_or_else(|| "us-east-1".into()))));
        }
        RValue::named(pairs)
    }
}

// -------------------------------------------------------- project.yaml ----

/// `.datom/project.yaml` (dev/spec/FORMATS.md 8.3).
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectConfig {
    pub project_name: String,
    pub project_description: String,
    pub created_at: String,
    pub datom_version: String,
    pub data: Location,
    pub max_file_size_gb: f64,
    pub remote_url: String,
    pub continue_on_error: bool,
    pub parallel_uploads: i64,
    pub renv: bool,
}

fn yaml_scalar(s: &str) -> String {
    // Quote what a YAML 1.1 reader would read as another type.
    let lower = s.to_ascii_lowercase();
    let special = matches!(
        lower.as_str(),
        "" | "~" | "null" | "yes" | "no" | "true" | "false" | "on" | "off" | "y" | "n"
    );
    let numeric = s.parse::<f64>().is_ok() || s.starts_with(|c: char| c.is_ascii_digit()) && s.contains('-');
    let needs = special
        || numeric
        || s.starts_with(|c: char| " \t-?:,[]{}#&*!|>'\"%@`".contains(c))
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\n');
    if needs {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}

fn yaml_bool(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn yaml_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

impl ProjectConfig {
    pub fn to_yaml(&self) -> String {
        let mut s = String::new();
        s += &format!("project_name: {}\n", yaml_scalar(&self.project_name));
        s += &format!("project_description: {}\n", yaml_scalar(&self.project_description));
        s += &format!("created_at: {}\n", yaml_scalar(&self.created_at));
        s += &format!("datom_version: {}\n", yaml_scalar(&self.datom_version));
        s += "storage:\n  data:\n";
        s += &format!("    type: {}\n", yaml_scalar(&self.data.kind));
        s += &format!("    root: {}\n", yaml_scalar(&self.data.root));
        match self.data.prefix_norm() {
            Some(p) => s += &format!("    prefix: {}\n", yaml_scalar(p)),
            None => s += "    prefix: ~\n",
        }
        if self.data.kind == "s3" {
            s += &format!("    region: {}\n", yaml_scalar(self.data.region.as_deref().unwrap_or("us-east-1")));
        }
        s += &format!("  max_file_size_gb: {}\n", yaml_float(self.max_file_size_gb));
        s += "repos:\n  data:\n";
        s += &format!("    remote_url: {}\n", yaml_scalar(&self.remote_url));
        s += "sync:\n";
        s += &format!("  continue_on_error: {}\n", yaml_bool(self.continue_on_error));
        s += &format!("  parallel_uploads: {}\n", self.parallel_uploads);
        s += &format!("renv: {}\n", yaml_bool(self.renv));
        s
    }

    pub fn from_yaml(text: &str) -> Result<ProjectConfig> {
        let y = parse_yaml(text)?;
        let top = match &y {
            Yaml::Map(m) => m,
            _ => return Err(Error::new(Kind::Input, "project.yaml is not a mapping")),
        };
        let s = |m: &BTreeMap<String, Yaml>, k: &str| -> Option<String> { m.get(k).and_then(|v| v.as_string()) };
        let project_name = s(top, "project_name")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::new(Kind::Input, "project.yaml has no project_name"))?;
        let storage = top.get("storage").and_then(|v| v.as_map());
        // New layout storage.data, legacy flat storage block.
        let data_map = storage.and_then(|st| st.get("data").and_then(|d| d.as_map()).or(Some(st)));
        let data = match data_map {
            Some(d) => Location {
                kind: s(d, "type").unwrap_or_else(|| "local".into()),
                root: s(d, "root").or_else(|| s(d, "bucket")).unwrap_or_default(),
                prefix: s(d, "prefix").filter(|p| !p.is_empty()),
                region: s(d, "region"),
            },
            None => Location::default(),
        };
        let max = storage.and_then(|st| st.get("max_file_size_gb")).and_then(|v| v.as_f64()).unwrap_or(1000.0);
        let remote_url = top
            .get("repos")
            .and_then(|r| r.as_map())
            .and_then(|r| r.get("data"))
            .and_then(|d| d.as_map())
            .and_then(|d| s(d, "remote_url"))
            .unwrap_or_default();
        let sync = top.get("sync").and_then(|v| v.as_map());
        Ok(ProjectConfig {
            project_name,
            project_description: s(top, "project_description").unwrap_or_default(),
            created_at: s(top, "created_at").unwrap_or_default(),
            datom_version: s(top, "datom_version").unwrap_or_default(),
            data,
            max_file_size_gb: max,
            remote_url,
            continue_on_error: sync.and_then(|m| m.get("continue_on_error")).and_then(|v| v.as_bool()).unwrap_or(true),
            parallel_uploads: sync.and_then(|m| m.get("parallel_uploads")).and_then(|v| v.as_f64()).unwrap_or(4.0) as i64,
            renv: top.get("renv").and_then(|v| v.as_bool()).unwrap_or(false),
        })
    }
}

/// project.yaml with only its `storage.data` block replaced by `loc`
/// (the legacy flat `storage` block is rewritten in the current layout).
pub fn replace_storage_data(text: &str, loc: &Location) -> Result<String> {
    let mut block = String::from("  data:\n");
    block += &format!("    type: {}\n", yaml_scalar(&loc.kind));
    block += &format!("    root: {}\n", yaml_scalar(&loc.root));
    match loc.prefix_norm() {
        Some(p) => block += &format!("    prefix: {}\n", yaml_scalar(p)),
        None => block += "    prefix: ~\n",
    }
    if loc.kind == "s3" {
        block += &format!("    region: {}\n", yaml_scalar(loc.region.as_deref().unwrap_or("us-east-1")));
    }
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(st) = lines.iter().position(|l| l.trim_end() == "storage:") else {
        let mut cfg = ProjectConfig::from_yaml(text)?;
        cfg.data = loc.clone();
        return Ok(cfg.to_yaml());
    };
    let end_storage = (st + 1..lines.len()).find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) == 0).unwrap_or(lines.len());
    let Some(d) = (st + 1..end_storage).find(|&i| lines[i].trim_end() == "  data:") else {
        let mut cfg = ProjectConfig::from_yaml(text)?;
        cfg.data = loc.clone();
        return Ok(cfg.to_yaml());
    };
    let end_data = (d + 1..end_storage).find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) <= 2).unwrap_or(end_storage);
    let mut out = String::new();
    for l in &lines[..d] {
        out += l;
        out.push('\n');
    }
    out += &block;
    for l in &lines[end_data..] {
        out += l;
        out.push('\n');
    }
    ProjectConfig::from_yaml(&out)?;
    Ok(out)
}

/// The subset of YAML that project.yaml uses: block mappings of scalars.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Map(BTreeMap<String, Yaml>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    fn as_map(&self) -> Option<&BTreeMap<String, Yaml>> {
        match self {
            Yaml::Map(m) => Some(m),
            _ => None,
        }
    }
    fn as_string(&self) -> Option<String> {
        match self {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Num(n) => Some(if n.fract() == 0.0 { format!("{n:.0}") } else { n.to_string() }),
            Yaml::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self {
            Yaml::Num(n) => Some(*n),
            Yaml::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match self {
            Yaml::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

fn yaml_value(raw: &str) -> Yaml {
    let t = raw.trim();
    if let Some(q) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Yaml::Str(q.replace("''", "'"));
    }
    if let Some(q) = t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Yaml::Str(q.replace("\\\"", "\"").replace("\\\\", "\\"));
    }
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Yaml::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Yaml::Bool(false),
        _ => {}
    }
    // strip a trailing comment
    let t = match t.find(" #") {
        Some(i) => t[..i].trim_end(),
        None => t,
    };
    if let Ok(n) = t.parse::<f64>() {
        if t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
            return Yaml::Num(n);
        }
    }
    Yaml::Str(t.to_string())
}

/// Parse block-style YAML mappings (and simple `- scalar` sequences).
pub fn parse_yaml(text: &str) -> Result<Yaml> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
        })
        .map(|l| (l.len() - l.trim_start().len(), l.trim_start()))
        .collect();
    let mut pos = 0;
    let v = parse_block(&lines, &mut pos, 0)?;
    Ok(v)
}

fn parse_block(lines: &[(usize, &str)], pos: &mut usize, indent: usize) -> Result<Yaml> {
    if *pos < lines.len() && lines[*pos].1.starts_with("- ") || *pos < lines.len() && lines[*pos].1 == "-" {
        let mut seq = Vec::new();
        while *pos < lines.len() && lines[*pos].0 == indent && lines[*pos].1.starts_with('-') {
            seq.push(yaml_value(lines[*pos].1.trim_start_matches('-')));
            *pos += 1;
        }
        return Ok(Yaml::Seq(seq));
    }
    let mut map = BTreeMap::new();
    while *pos < lines.len() {
        let (ind, text) = lines[*pos];
        if ind < indent {
            break;
        }
        if ind > indent {
            return Err(Error::new(Kind::Input, format!("unexpected indentation in YAML: {text:?}")));
        }
        let (key, rest) = match text.find(':') {
            Some(i) => (text[..i].trim(), text[i + 1..].trim()),
            None => return Err(Error::new(Kind::Input, format!("not a YAML mapping entry: {text:?}"))),
        };
        let key = key.trim_matches('\'').trim_matches('"').to_string();
        *pos += 1;
        if rest.is_empty() {
            if *pos < lines.len() && lines[*pos].0 > ind {
                let child_indent = lines[*pos].0;
                map.insert(key, parse_block(lines, pos, child_indent)?);
            } else if *pos < lines.len() && lines[*pos].0 == ind && lines[*pos].1.starts_with('-') {
                map.insert(key, parse_block(lines, pos, ind)?);
            } else {
                map.insert(key, Yaml::Null);
            }
        } else {
            map.insert(key, yaml_value(rest));
        }
    }
    Ok(Yaml::Map(map))
}

// ------------------------------------------------------------ manifest ----

/// The initial manifest (dev/spec/FORMATS.md 8.4).
pub fn new_manifest(project: &str, updated_at: &str) -> RValue {
    RValue::named(vec![
        ("project_name", RValue::str(project)),
        ("updated_at", RValue::str(updated_at)),
        ("tables", RValue::empty_object()),
        (
            "summary",
            RValue::named(vec![
                ("total_tables", RValue::int(0)),
                ("total_size_bytes", RValue::int(0)),
                ("total_versions", RValue::int(0)),
            ]),
        ),
    ])
}

/// A manifest entry for a table (dev/spec/FORMATS.md 8.4).
pub struct ManifestEntry<'a> {
    pub current_version: &'a str,
    pub current_data_sha: &'a str,
    pub last_updated: &'a str,
    pub size_bytes: f64,
    pub version_count: usize,
    pub original_file_sha: Option<&'a str>,
    pub original_format: Option<&'a str>,
}

fn count(n: usize) -> RValue {
    if n <= i32::MAX as usize {
        RValue::int(n as i32)
    } else {
        RValue::dbl(n as f64)
    }
}

/// Replace a table's entry and recompute the summary.
pub fn manifest_set_entry(manifest: &mut RValue, table: &str, e: &ManifestEntry<'_>, updated_at: &str) {
    let mut pairs = vec![
        ("current_version", RValue::str(e.current_version)),
        ("current_data_sha", RValue::str(e.current_data_sha)),
        ("last_updated", RValue::str(e.last_updated)),
        ("size_bytes", RValue::dbl(e.size_bytes)),
        ("version_count", count(e.version_count)),
    ];
    if let Some(s) = e.original_file_sha {
        pairs.push(("original_file_sha", RValue::str(s)));
    }
    if let Some(s) = e.original_format {
        pairs.push(("original_format", RValue::str(s)));
    }
    let mut tables = get(manifest, "tables").cloned().unwrap_or_else(RValue::empty_object);
    if !matches!(tables, RValue::List { names: Some(_), .. }) {
        tables = RValue::empty_object();
    }
    set(&mut tables, table, RValue::named(pairs));
    let mut total_size = 0.0;
    let mut total_versions = 0usize;
    let mut n = 0usize;
    for (_, entry) in members(&tables) {
        n += 1;
        total_size += as_f64(get(entry, "size_bytes")).unwrap_or(0.0);
        total_versions += as_f64(get(entry, "version_count")).unwrap_or(0.0) as usize;
    }
    set(manifest, "updated_at", RValue::str(updated_at));
    set(manifest, "tables", tables);
    set(
        manifest,
        "summary",
        RValue::named(vec![
            ("total_tables", count(n)),
            ("total_size_bytes", RValue::dbl(total_size)),
            ("total_versions", count(total_versions)),
        ]),
    );
}

// ------------------------------------------------------------- history ----

/// One `version_history.json` entry (dev/spec/FORMATS.md 8.7).
pub struct HistoryEntry<'a> {
    pub version: &'a str,
    pub data_sha: &'a str,
    pub timestamp: &'a str,
    pub author: Option<(String, String)>,
    pub commit_message: &'a str,
    pub parquet_sha: Option<&'a str>,
    pub original_file_sha: Option<&'a str>,
}

impl HistoryEntry<'_> {
    pub fn to_rvalue(&self) -> RValue {
        let author = match &self.author {
            Some((n, e)) => RValue::named(vec![("name", RValue::str(n)), ("email", RValue::str(e))]),
            None => RValue::str("unknown"),
        };
        let mut pairs = vec![
            ("version", RValue::str(self.version)),
            ("data_sha", RValue::str(self.data_sha)),
            ("timestamp", RValue::str(self.timestamp)),
            ("author", author),
            ("commit_message", RValue::str(self.commit_message)),
        ];
        if let Some(p) = self.parquet_sha {
            pairs.push(("parquet_sha", RValue::str(p)));
        }
        if let Some(o) = self.original_file_sha {
            pairs.push(("original_file_sha", RValue::str(o)));
        }
        RValue::named(pairs)
    }
}

/// Prepend `entry` unless its version already appears; returns the new
/// history and whether it grew.
pub fn history_prepend(history: &RValue, entry: RValue) -> (RValue, bool) {
    let mut items: Vec<RValue> = elements(history).to_vec();
    let v = as_str(get(&entry, "version")).unwrap_or("").to_string();
    if items.iter().any(|e| as_str(get(e, "version")) == Some(v.as_str())) {
        return (RValue::unnamed(items), false);
    }
    items.insert(0, entry);
    (RValue::unnamed(items), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_785_420_131), "2026-07-30T14:02:11Z");
    }

    #[test]
    fn project_yaml_round_trip_and_format() {
        let p = ProjectConfig {
            project_name: "STUDY_001".into(),
            project_description: "".into(),
            created_at: "2026-03-01".into(),
            datom_version: "0.1.1".into(),
            data: Location { kind: "s3".into(), root: "acme-data".into(), prefix: Some("study-001/".into()), region: Some("us-east-1".into()) },
            max_file_size_gb: 1000.0,
            remote_url: "https://github.com/acme/study-001.git".into(),
            continue_on_error: true,
            parallel_uploads: 4,
            renv: false,
        };
        let y = p.to_yaml();
        let expected = "project_name: STUDY_001\nproject_description: ''\ncreated_at: '2026-03-01'\ndatom_version: 0.1.1\nstorage:\n  data:\n    type: s3\n    root: acme-data\n    prefix: study-001/\n    region: us-east-1\n  max_file_size_gb: 1000.0\nrepos:\n  data:\n    remote_url: https://github.com/acme/study-001.git\nsync:\n  continue_on_error: yes\n  parallel_uploads: 4\nrenv: no\n";
        assert_eq!(y, expected);
        assert_eq!(ProjectConfig::from_yaml(&y).unwrap(), p);
        let mut local = p.clone();
        local.data = Location { kind: "local".into(), root: "/srv/datom-store".into(), prefix: None, region: None };
        let y = local.to_yaml();
        assert!(y.contains("    prefix: ~\n"));
        assert!(!y.contains("region"));
        assert_eq!(ProjectConfig::from_yaml(&y).unwrap(), local);
        // storage.data replaced in place, every other line (even unknown keys) kept
        let with_extra = format!("{}custom_key: kept\n", p.to_yaml());
        let r = replace_storage_data(&with_extra, &local.data).unwrap();
        assert_eq!(r, format!("{}custom_key: kept\n", local.to_yaml()));
        let back = replace_storage_data(&r, &p.data).unwrap();
        assert_eq!(back, with_extra);
        // legacy flat storage block, true/false booleans, stale region
        let legacy = "project_name: P\nstorage:\n  type: local\n  root: /x\n  region: us-east-1\nsync:\n  continue_on_error: false\nrenv: true\n";
        let c = ProjectConfig::from_yaml(legacy).unwrap();
        assert_eq!(c.data.root, "/x");
        assert!(!c.continue_on_error);
        assert!(c.renv);
        assert!(ProjectConfig::from_yaml("project_description: x\n").is_err());
    }

    #[test]
    fn manifest_and_history() {
        let mut m = new_manifest("STUDY_001", "2026-07-30T14:00:03Z");
        assert_eq!(
            json_text(&m, false),
            "{\n  \"project_name\": \"STUDY_001\",\n  \"updated_at\": \"2026-07-30T14:00:03Z\",\n  \"tables\": {},\n  \"summary\": {\n    \"total_tables\": 0,\n    \"total_size_bytes\": 0,\n    \"total_versions\": 0\n  }\n}"
        );
        let e = ManifestEntry { current_version: "v1", current_data_sha: "d1", last_updated: "t", size_bytes: 1187.0, version_count: 1, original_file_sha: None, original_format: None };
        manifest_set_entry(&mut m, "derived_tbl", &e, "t2");
        let e2 = ManifestEntry { current_version: "v2", current_data_sha: "d2", last_updated: "t", size_bytes: 1010.0, version_count: 1, original_file_sha: Some("f"), original_format: Some("csv") };
        manifest_set_entry(&mut m, "dm", &e2, "t3");
        let s = get(&m, "summary").unwrap();
        assert_eq!(as_f64(get(s, "total_tables")), Some(2.0));
        assert_eq!(as_f64(get(s, "total_size_bytes")), Some(2197.0));
        assert_eq!(as_str(get(&m, "updated_at")), Some("t3"));
        let h = RValue::unnamed(vec![]);
        let he = HistoryEntry { version: "v1", data_sha: "d1", timestamp: "t", author: Some(("Jane".into(), "j@x".into())), commit_message: "m", parquet_sha: Some("p"), original_file_sha: None };
        let (h, grew) = history_prepend(&h, he.to_rvalue());
        assert!(grew);
        let (h2, grew) = history_prepend(&h, he.to_rvalue());
        assert!(!grew);
        assert_eq!(h, h2);
        let txt = json_text(&h, true);
        let back = read_json(&txt, "history").unwrap();
        assert_eq!(json_text(&back, true), txt);
    }
}

//! Batch import of raw extracts: the inbox (a flat folder, by default the
//! clone's `input_files/`) is listed and classified here, once, for
//! `datom_sync_manifest()` and `datom_status()`; `plan` decides what a
//! `datom_sync()` imports. Reading a file is R's (its readers); each table
//! is then one `write::write`.

use super::{CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::layout;
use crate::model::{as_str, get, members};
use std::path::{Path, PathBuf};

pub const NEW: &str = "new";
pub const CHANGED: &str = "changed";
pub const UNCHANGED: &str = "unchanged";
pub const UNSUPPORTED: &str = "unsupported_format";

/// One file of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFile {
    /// The table it becomes: the file name without its last extension.
    pub name: String,
    /// Absolute path.
    pub file: String,
    /// The extension as written (`""`: none).
    pub format: String,
    /// SHA-256 of the file's bytes.
    pub sha: String,
    /// `new`, `changed`, `unchanged` or `unsupported_format`.
    pub status: &'static str,
}

/// A scanned inbox.
pub struct Inbox {
    pub dir: PathBuf,
    /// Sorted by file name (byte order: the same in every locale).
    pub files: Vec<InboxFile>,
}

/// Does `name` match the glob `pattern` (`*`: any run of characters, `?`:
/// one character, anything else itself)?
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || (p[i] != '*' && p[i] == n[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// The table name and format of a file name: split at the last `.`.
fn split_name(base: &str) -> (String, String) {
    match base.rsplit_once('.') {
        Some((n, f)) => (n.to_string(), f.to_string()),
        None => (base.to_string(), String::new()),
    }
}

/// Scan the inbox `dir` (`None`: the clone's `input_files/`): its
/// non-hidden files whose name matches `pattern`, hashed and classified
/// against the clone's manifest. `flat`: a subdirectory refuses the scan
/// (an import); otherwise subdirectories are skipped (a status report).
pub fn scan(clone: &CloneCtx, dir: Option<&Path>, pattern: &str, flat: bool) -> Result<Inbox> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| clone.file(layout::repo::INPUT_FILES));
    if !dir.is_dir() {
        return Err(Error::new(Kind::NotFound, format!("Input directory not found: {}.", dir.display()))
            .with_hint("Create it and place the files to import inside."));
    }
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::new(Kind::Storage, format!("cannot list {}: {e}", dir.display())))?;
    let (mut files, mut subdirs) = (Vec::new(), Vec::new());
    for e in rd {
        let e = e.map_err(|e| Error::new(Kind::Storage, format!("cannot list {}: {e}", dir.display())))?;
        let base = e.file_name().to_string_lossy().into_owned();
        if base.starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            subdirs.push(base);
        } else {
            files.push(base);
        }
    }
    if flat && !subdirs.is_empty() {
        subdirs.sort();
        return Err(Error::new(Kind::Input, format!("Input directory must be flat (no subdirectories): {}.", subdirs.join(", ")))
            .with_hint(format!("Move the files of each subdirectory up into {} (one file per table) or elsewhere.", dir.display())));
    }
    files.retain(|b| glob_match(pattern, b));
    files.sort();
    let manifest = clone.read_json(layout::repo::MANIFEST)?;
    let known: Vec<(String, Option<String>)> = match &manifest {
        Some(m) => members(get(m, "tables").unwrap_or(&crate::identity::rvalue::RValue::Null))
            .into_iter()
            .map(|(n, e)| (n, as_str(get(e, "original_file_sha")).map(str::to_string)))
            .collect(),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(files.len());
    for base in files {
        let path = dir.join(&base);
        let bytes = std::fs::read(&path).map_err(|e| Error::from(e).with_hint(format!("Check that {} exists and is readable.", path.display())))?;
        let sha = crate::identity::sha256_hex(&bytes);
        let (name, format) = split_name(&base);
        let status = if super::import_format(&format).is_none() {
            UNSUPPORTED
        } else {
            match known.iter().find(|(n, _)| *n == name) {
                None => NEW,
                Some((_, Some(o))) if *o == sha => UNCHANGED,
                Some(_) => CHANGED,
            }
        };
        out.push(InboxFile { name, file: path.to_string_lossy().into_owned(), format, sha, status });
    }
    Ok(Inbox { dir, files: out })
}

/// The inbox line of `datom_status()`: (total, new, changed, unchanged,
/// unsupported), or `None` when the clone has no inbox.
pub fn inbox_counts(clone: &CloneCtx) -> Result<Option<[usize; 5]>> {
    if !clone.file(layout::repo::INPUT_FILES).is_dir() {
        return Ok(None);
    }
    Ok(Some(scan(clone, None, "*", false)?.counts()))
}

impl Inbox {
    /// (total, new, changed, unchanged, unsupported)
    pub fn counts(&self) -> [usize; 5] {
        let n = |s: &str| self.files.iter().filter(|f| f.status == s).count();
        [self.files.len(), n(NEW), n(CHANGED), n(UNCHANGED), n(UNSUPPORTED)]
    }
}

/// The inbox line of `datom_status()` for its counts (total, new, changed,
/// unchanged, unsupported): `empty`, `pending` (new or changed files),
/// `unsupported` (the rest unchanged) or `clean` (all unchanged).
pub fn inbox_line(n: [usize; 5]) -> &'static str {
    if n[0] == 0 {
        "empty"
    } else if n[1] + n[2] > 0 {
        "pending"
    } else if n[4] > 0 {
        "unsupported"
    } else {
        "clean"
    }
}

/// A row of a `datom_sync()` manifest (possibly edited by the user).
pub struct Row<'a> {
    pub name: &'a str,
    pub format: &'a str,
    pub status: Option<&'a str>,
}

/// What a `datom_sync()` does with its manifest.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// Per row: `None` (imported), `Some("skipped")` or `Some("error")`.
    pub result: Vec<Option<&'static str>>,
    /// Per row: why it is an error.
    pub error: Vec<Option<String>>,
    /// Rows to import, in order: the new and changed rows, then unchanged
    /// rows whose object never reached the store (an import cut short: the
    /// same write completes it).
    pub import: Vec<usize>,
    /// Nothing to import, but interrupted writes left a push or a
    /// publication undone: finish them (`write::finish`).
    pub finish: bool,
    /// Per row: the optional R package its reader needs ([`reader_package`]).
    pub package: Vec<Option<&'static str>>,
    /// Per row: its reader ([`reader`]; `None`: not an import format).
    pub reader: Vec<Option<&'static str>>,
}

/// The R reader of an import format (compared lower-cased): (the optional
/// package, the function it exports) for SAS, SPSS, Stata (haven) and
/// Excel (readxl) files; (`None`, `csv` | `tsv` | `psv` | `parquet`) for the
/// formats read by R itself (delimited text) or by datom (parquet).
pub fn reader(format: &str) -> Option<(Option<&'static str>, &'static str)> {
    Some(match super::import_format(format)? {
        "csv" => (None, "csv"),
        "tsv" | "txt" => (None, "tsv"),
        "psv" => (None, "psv"),
        "sas7bdat" => (Some("haven"), "read_sas"),
        "xpt" => (Some("haven"), "read_xpt"),
        "sav" | "zsav" => (Some("haven"), "read_sav"),
        "por" => (Some("haven"), "read_por"),
        "dta" => (Some("haven"), "read_dta"),
        "xls" | "xlsx" => (Some("readxl"), "read_excel"),
        _ => (None, "parquet"),
    })
}

/// The optional R package that reads an import format ([`reader`]).
pub fn reader_package(format: &str) -> Option<&'static str> {
    reader(format).and_then(|r| r.0)
}

/// The message of a row in a format datom does not import.
pub fn unsupported_advice(format: &str) -> String {
    format!(
        "Unsupported format {}: datom imports {}. Convert the file to CSV or parquet, or read it yourself and call datom_write().",
        quote(format),
        super::IMPORT_FORMATS.join(", ")
    )
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Decide what `datom_sync()` does with `rows`: unsupported formats (whatever
/// the row's status says) and unknown statuses are errors that never block
/// the other rows; unchanged
/// rows are skipped unless an interrupted import left their object out of
/// the store (then imported again); new and changed rows are imported.
pub fn plan(project: &Project, clone: &CloneCtx, rows: &[Row<'_>]) -> Result<Plan> {
    let mut result = vec![None; rows.len()];
    let mut error = vec![None; rows.len()];
    let mut import = Vec::new();
    let mut unchanged = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let importable = super::import_format(r.format).is_some();
        match r.status {
            Some(NEW | CHANGED) if importable => import.push(i),
            Some(UNCHANGED) if importable => unchanged.push(i),
            // a row whose status was edited never reads an unsupported file
            Some(NEW | CHANGED | UNCHANGED | UNSUPPORTED) => {
                result[i] = Some("error");
                error[i] = Some(unsupported_advice(r.format));
            }
            other => {
                result[i] = Some("error");
                error[i] = Some(format!(
                    "Unknown status {}: expected new, changed, unchanged or unsupported_format.",
                    other.map_or("NA".to_string(), quote)
                ));
            }
        }
    }
    let mut finish = false;
    if !unchanged.is_empty() {
        let names: Vec<String> = unchanged.iter().map(|&i| rows[i].name.to_string()).collect();
        let u = super::write::unfinished(project, clone, &names)?;
        for (&i, missing) in unchanged.iter().zip(&u.missing_object) {
            if !missing {
                result[i] = Some("skipped");
            }
        }
        let redo: Vec<usize> = unchanged.iter().zip(&u.missing_object).filter(|(_, &m)| m).map(|(&i, _)| i).collect();
        import.extend(redo);
        finish = u.repo && import.is_empty();
    }
    let package = rows.iter().map(|r| reader_package(r.format)).collect();
    let reader = rows.iter().map(|r| reader(r.format).map(|x| x.1)).collect();
    Ok(Plan { result, error, import, finish, package, reader })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Creds;

    #[test]
    fn globs_match_whole_names() {
        for (p, n, ok) in [
            ("*", "dm.csv", true),
            ("*.csv", "dm.csv", true),
            ("*.csv", "dm.CSV", false),
            ("d*", "dm.csv", true),
            ("d*", "ae.csv", false),
            ("?m.csv", "dm.csv", true),
            ("?m.csv", "ddm.csv", false),
            ("a*b*c", "aXbYbc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("[ab].csv", "[ab].csv", true),
            ("[ab].csv", "a.csv", false),
            ("dm.csv", "dmXcsv", false),
            ("", "", true),
        ] {
            assert_eq!(glob_match(p, n), ok, "{p} ~ {n}");
        }
    }

    fn clone_with_manifest(tag: &str, tables: &str) -> CloneCtx {
        let d = crate::testutil::scratch_dir(tag);
        std::fs::create_dir_all(d.join(".datom")).unwrap();
        std::fs::create_dir_all(d.join(layout::repo::INPUT_FILES)).unwrap();
        std::fs::write(d.join(layout::repo::MANIFEST), format!("{{\"tables\": {{{tables}}}}}")).unwrap();
        CloneCtx { path: d, creds: Creds::default() }
    }

    #[test]
    fn the_inbox_is_classified_against_the_manifest() {
        let sha_of = |b: &[u8]| crate::identity::sha256_hex(b);
        let clone = clone_with_manifest(
            "sync-scan",
            &format!("\"dm\": {{\"original_file_sha\": \"{}\"}}, \"ae\": {{\"original_file_sha\": \"{}\"}}, \"lb\": {{}}", sha_of(b"dm1"), sha_of(b"old")),
        );
        let inbox = clone.file(layout::repo::INPUT_FILES);
        for (f, b) in [("dm.csv", "dm1"), ("ae.tsv", "ae2"), ("lb.parquet", "x"), ("new.v1.psv", "n"), ("notes.md", "z"), ("Z.CSV", "q"), ("README", "r"), (".DS_Store", "h")] {
            std::fs::write(inbox.join(f), b).unwrap();
        }
        let s = scan(&clone, None, "*", true).unwrap();
        let got: Vec<(&str, &str, &str)> = s.files.iter().map(|f| (f.name.as_str(), f.format.as_str(), f.status)).collect();
        assert_eq!(
            got,
            vec![
                ("README", "", UNSUPPORTED),
                ("Z", "CSV", NEW),
                ("ae", "tsv", CHANGED),
                ("dm", "csv", UNCHANGED),
                // a table imported without recording its file's bytes: changed
                ("lb", "parquet", CHANGED),
                ("new.v1", "psv", NEW),
                ("notes", "md", UNSUPPORTED),
            ]
        );
        assert_eq!(s.counts(), [7, 2, 2, 1, 2]);
        assert_eq!(s.files[3].sha, sha_of(b"dm1"));
        assert_eq!(s.files[3].file, inbox.join("dm.csv").to_string_lossy());
        let only: Vec<String> = scan(&clone, None, "*.csv", true).unwrap().files.into_iter().map(|f| f.name).collect();
        assert_eq!(only, vec!["dm"]);
        assert_eq!(inbox_counts(&clone).unwrap(), Some([7, 2, 2, 1, 2]));
        // a subdirectory refuses an import, not a status report
        std::fs::create_dir(inbox.join("batch2")).unwrap();
        let e = scan(&clone, None, "*", true).err().unwrap();
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.contains("must be flat") && e.message.contains("batch2"), "{}", e.message);
        assert_eq!(inbox_counts(&clone).unwrap(), Some([7, 2, 2, 1, 2]));
        // another directory; a missing one
        let other = clone.path.join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("zeta.csv"), "z").unwrap();
        let s = scan(&clone, Some(&other), "*", true).unwrap();
        assert_eq!((s.files.len(), s.files[0].status), (1, NEW));
        assert_eq!(scan(&clone, Some(&clone.path.join("nope")), "*", true).err().unwrap().kind, Kind::NotFound);
        std::fs::remove_dir_all(&inbox).unwrap();
        assert_eq!(inbox_counts(&clone).unwrap(), None);
    }

    #[test]
    fn the_inbox_line_of_a_status() {
        assert_eq!(inbox_line([0, 0, 0, 0, 0]), "empty");
        assert_eq!(inbox_line([3, 1, 0, 1, 1]), "pending");
        assert_eq!(inbox_line([2, 0, 1, 1, 0]), "pending");
        assert_eq!(inbox_line([2, 0, 0, 1, 1]), "unsupported");
        assert_eq!(inbox_line([2, 0, 0, 2, 0]), "clean");
    }

    #[test]
    fn optional_readers_by_format() {
        for (f, want) in [
            ("csv", None),
            ("parquet", None),
            ("txt", None),
            ("SAS7BDAT", Some("haven")),
            ("xpt", Some("haven")),
            ("sav", Some("haven")),
            ("zsav", Some("haven")),
            ("por", Some("haven")),
            ("dta", Some("haven")),
            ("xls", Some("readxl")),
            ("XLSX", Some("readxl")),
            ("rds", None),
        ] {
            assert_eq!(reader_package(f), want, "{f}");
        }
        for (f, want) in [
            ("CSV", Some((None, "csv"))),
            ("txt", Some((None, "tsv"))),
            ("psv", Some((None, "psv"))),
            ("parquet", Some((None, "parquet"))),
            ("zsav", Some((Some("haven"), "read_sav"))),
            ("xpt", Some((Some("haven"), "read_xpt"))),
            ("xls", Some((Some("readxl"), "read_excel"))),
            ("rds", None),
        ] {
            assert_eq!(reader(f), want, "{f}");
        }
        // every import format has its reader
        assert!(super::super::IMPORT_FORMATS.iter().all(|f| reader(f).is_some()));
    }

    #[test]
    fn a_sync_plan_imports_new_changed_and_cut_short_rows() {
        let clone = clone_with_manifest("sync-plan", "");
        let d = crate::testutil::scratch_dir("sync-plan-store");
        let project = Project::new("P", Box::new(crate::store::local::LocalStore::new(&d)), None, true, String::new());
        let rows = [
            Row { name: "a", format: "csv", status: Some(NEW) },
            Row { name: "b", format: "rds", status: Some(UNSUPPORTED) },
            Row { name: "c", format: "csv", status: Some("weird") },
            Row { name: "d", format: "csv", status: None },
            Row { name: "e", format: "tsv", status: Some(CHANGED) },
            Row { name: "f", format: "RDS", status: Some(NEW) },
        ];
        let p = plan(&project, &clone, &rows).unwrap();
        assert_eq!(p.import, vec![0, 4]);
        assert_eq!(p.result, vec![None, Some("error"), Some("error"), Some("error"), None, Some("error")]);
        assert!(p.error[5].as_deref().unwrap().starts_with("Unsupported format \"RDS\""));
        assert!(!p.finish);
        assert_eq!(p.package, vec![None; 6]);
        assert_eq!(p.reader, vec![Some("csv"), None, Some("csv"), Some("csv"), Some("tsv"), None]);
        assert!(p.error[1].as_deref().unwrap().starts_with("Unsupported format \"rds\": datom imports csv, "));
        assert_eq!(p.error[2].as_deref(), Some("Unknown status \"weird\": expected new, changed, unchanged or unsupported_format."));
        assert_eq!(p.error[3].as_deref(), Some("Unknown status NA: expected new, changed, unchanged or unsupported_format."));

        // unchanged rows: skipped, unless the version's object never
        // reached the store (an import cut short): imported again
        let repo = crate::git::Repo::init(&clone.path).unwrap();
        repo.ensure_identity().unwrap();
        let (d1, d2) = ("1".repeat(64), "2".repeat(64));
        for (t, d) in [("u1", &d1), ("u2", &d2)] {
            std::fs::create_dir_all(clone.file(t)).unwrap();
            std::fs::write(clone.file(&layout::repo::metadata(t)), format!("{{\"data_sha\": \"{d}\"}}")).unwrap();
        }
        project.store.put(&project.key(&layout::data::parquet("u2", &d2).unwrap()), b"PAR1").unwrap();
        let rows = [
            Row { name: "u1", format: "csv", status: Some(UNCHANGED) },
            Row { name: "u2", format: "csv", status: Some(UNCHANGED) },
            Row { name: "a", format: "csv", status: Some(NEW) },
        ];
        let p = plan(&project, &clone, &rows).unwrap();
        assert_eq!((p.import, p.result, p.finish), (vec![2, 0], vec![None, Some("skipped"), None], false));
        // nothing to import, the repo is complete (no commit): nothing to finish
        let p = plan(&project, &clone, &rows[1..2]).unwrap();
        assert_eq!((p.import.len(), p.finish), (0, false));
        // a commit never pushed nor published: finished
        repo.commit_bytes(&[("x.json", Some(b"1".as_slice()))], "x").unwrap().unwrap();
        let p = plan(&project, &clone, &rows[1..2]).unwrap();
        assert_eq!((p.import.len(), p.finish), (0, true));
        // ... but not when there is something to import (the writes finish it)
        assert!(!plan(&project, &clone, &rows).unwrap().finish);
    }
}

//! Every storage key and repository path datom uses (dev/spec/FORMATS.md 8-10), in one
//! place. Keys are relative to a store root (S3 bucket or local directory).

use crate::error::{Error, Result};

/// dev/spec/FORMATS.md 9.1: the prefix with leading/trailing `/` removed; empty means
/// none. Inner slashes are kept; empty inner segments are dropped.
pub fn clean_prefix(prefix: Option<&str>) -> String {
    prefix
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// `{P/}datom`
pub fn store_root(prefix: Option<&str>) -> String {
    let p = clean_prefix(prefix);
    if p.is_empty() {
        "datom".to_string()
    } else {
        format!("{p}/datom")
    }
}

/// `{P/}datom/{project}` — a project's sub-namespace in the data store.
pub fn project_root(prefix: Option<&str>, project: &str) -> String {
    format!("{}/{}", store_root(prefix), project)
}

/// Where a store's datom namespace is, for messages and migration records:
/// `s3://bucket/{P/}datom/` or `{root}/{P/}datom/`.
pub fn namespace_label(kind: &str, root: &str, prefix: Option<&str>) -> String {
    if kind == "s3" {
        format!("s3://{root}/{}/", store_root(prefix))
    } else {
        format!("{}/{}/", root.trim_end_matches('/'), store_root(prefix))
    }
}

/// `{GP/}datom/projects` — the governance store's project folder.
pub fn gov_root(prefix: Option<&str>) -> String {
    format!("{}/projects", store_root(prefix))
}

/// `r + "/" + k` with `k`'s leading/trailing slashes removed.
pub fn full_key(root: &str, key: &str) -> String {
    format!("{}/{}", root, key.trim_matches('/'))
}

/// Check a table or project name (dev/spec/FORMATS.md 11.3); `what` names the argument.
pub fn check_name(name: &str, what: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 {
        return Err(Error::input(format!("`{what}` must not be empty")));
    }
    if n > 128 {
        return Err(Error::input(format!("`{what}` is too long ({n} characters; at most 128)")));
    }
    if !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err(Error::input(format!("`{what}` must start with a letter: {name:?}")));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '(' | ')' | '-'))) {
        return Err(Error::input(format!("`{what}` contains an illegal character {c:?}: {name:?}"))
            .with_hint("Use letters, digits, underscore, hyphen, space or parentheses."));
    }
    if RESERVED_NAMES.iter().chain(SKIPPED_DIRS.iter()).any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(Error::input(format!("`{what}` is a reserved name: {name:?}"))
            .with_hint("Reserved: datom's own folders, `projects` (the governance namespace) and the folders the table scan skips (R, man, src, tests, vignettes, renv, input_files)."));
    }
    Ok(())
}

/// Names datom uses for its own files and namespaces (dev/spec/FORMATS.md 11.3);
/// refused as project and table names (case-insensitively).
pub const RESERVED_NAMES: [&str; 8] = [".metadata", ".datom", "datom", ".git", ".gitignore", ".access", "projects", "input_files"];

/// Top-level folders of a data clone the table scan skips (package and
/// project scaffolding). The writer refuses them as names (through
/// [`check_name`]) so that every table it writes is seen by the scan.
pub const SKIPPED_DIRS: [&str; 7] = ["input_files", "renv", "man", "R", "tests", "vignettes", "src"];

/// Check a hash-like input spliced into a key: `^[0-9a-f]{6,64}$`.
pub fn check_sha(sha: &str, what: &str) -> Result<()> {
    let ok = (6..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !ok {
        return Err(Error::input(format!("`{what}` must be 6-64 lowercase hex characters")));
    }
    Ok(())
}

/// Keys relative to a project's sub-namespace (9.2).
pub mod data {
    use super::*;

    pub const MANIFEST: &str = ".metadata/manifest.json";
    pub const GOVERNANCE: &str = ".metadata/governance.json";
    /// The commit of the data repo the store's mirrors were last published from.
    pub const PUBLICATION: &str = ".metadata/publication.json";
    /// The lock publishers take (one publisher at a time per project).
    pub const PUBLISH_LOCK: &str = ".metadata/publish.lock";
    /// Written in a project's old location when its data moved: the
    /// location is frozen (nothing is published there any more).
    pub const MOVED: &str = ".metadata/moved.json";

    pub fn parquet(table: &str, data_sha: &str) -> Result<String> {
        check_sha(data_sha, "data_sha")?;
        Ok(format!("{table}/{data_sha}.parquet"))
    }
    pub fn metadata(table: &str) -> String {
        format!("{table}/.metadata/metadata.json")
    }
    pub fn version_history(table: &str) -> String {
        format!("{table}/.metadata/version_history.json")
    }
    /// Which version became current when (newest first): a mirror of the
    /// data repo's commits of `<table>/metadata.json`, for `as_of` reads.
    pub fn current_log(table: &str) -> String {
        format!("{table}/.metadata/current_log.json")
    }
    pub fn snapshot(table: &str, version: &str) -> Result<String> {
        check_sha(version, "version")?;
        Ok(format!("{table}/.metadata/{version}.json"))
    }
}

/// The 0.1.x data-store layout (dev/spec/FORMATS.md 9.2.1): the project root *was*
/// the store root `{P/}datom`, one project per prefix. Every relative key is
/// one of [`data`]'s; only the root differs. Adoption (`ops::adopt`) moves
/// them to `{P/}datom/{project}/`.
pub mod v01 {
    use super::*;

    /// `{P/}datom` — a 0.1.x project's root.
    pub fn project_root(prefix: Option<&str>) -> String {
        store_root(prefix)
    }

    /// Written at the 0.1.x root once datom adopted the project: where it
    /// went and from which commit (the old objects stay until removed).
    pub const ADOPTED: &str = ".metadata/adopted.json";

    /// What a key relative to a 0.1.x root is.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Key {
        /// `.metadata/manifest.json` (mirror of the data repo's manifest)
        Manifest,
        /// `.metadata/governance.json`
        Governance,
        /// [`ADOPTED`]
        Adopted,
        /// `<table>/<data_sha>.parquet` (content-addressed)
        Parquet { table: String, data_sha: String },
        /// `<table>/.metadata/<metadata_sha>.json` (a version's snapshot)
        Snapshot { table: String, version: String },
        /// `<table>/.metadata/metadata.json`
        Metadata(String),
        /// `<table>/.metadata/version_history.json`
        History(String),
        /// Anything else (another layout's objects, stray files).
        Other,
    }

    impl Key {
        /// The table a table key belongs to.
        pub fn table(&self) -> Option<&str> {
            match self {
                Key::Parquet { table, .. } | Key::Snapshot { table, .. } | Key::Metadata(table) | Key::History(table) => Some(table),
                _ => None,
            }
        }
    }

    fn is_sha(s: &str) -> bool {
        check_sha(s, "sha").is_ok()
    }

    /// Classify `rel`, a key relative to a 0.1.x project root.
    pub fn classify(rel: &str) -> Key {
        match rel {
            data::MANIFEST => return Key::Manifest,
            data::GOVERNANCE => return Key::Governance,
            ADOPTED => return Key::Adopted,
            _ => {}
        }
        let parts: Vec<&str> = rel.split('/').collect();
        match parts.as_slice() {
            [t, f] if check_name(t, "table").is_ok() => match f.strip_suffix(".parquet") {
                Some(d) if is_sha(d) => Key::Parquet { table: t.to_string(), data_sha: d.to_string() },
                _ => Key::Other,
            },
            [t, ".metadata", f] if check_name(t, "table").is_ok() => match *f {
                "metadata.json" => Key::Metadata(t.to_string()),
                "version_history.json" => Key::History(t.to_string()),
                _ => match f.strip_suffix(".json") {
                    Some(v) if is_sha(v) => Key::Snapshot { table: t.to_string(), version: v.to_string() },
                    _ => Key::Other,
                },
            },
            _ => Key::Other,
        }
    }
}

/// Keys relative to the governance store's `projects` folder (9.3) and paths
/// in the governance repository (10).
pub mod gov {
    /// A project's governance files (9.3, 10).
    pub const FILES: [&str; 3] = ["dispatch.json", "ref.json", "migration_history.json"];
    /// Their names as messages give them: `dispatch/ref/migration_history`.
    pub fn files_label() -> String {
        FILES.iter().map(|f| f.trim_end_matches(".json")).collect::<Vec<_>>().join("/")
    }
    pub fn dispatch(project: &str) -> String {
        format!("{project}/dispatch.json")
    }
    pub fn reference(project: &str) -> String {
        format!("{project}/ref.json")
    }
    pub fn migration_history(project: &str) -> String {
        format!("{project}/migration_history.json")
    }
    /// A project's file in the governance repository (10).
    pub fn repo_file(project: &str, file: &str) -> String {
        format!("projects/{project}/{file}")
    }
    pub const REPO_GITKEEP: &str = "projects/.gitkeep";
    pub const REPO_README: &str = "README.md";
}

/// Paths inside a data clone (8).
pub mod repo {
    pub const PROJECT_YAML: &str = ".datom/project.yaml";
    pub const MANIFEST: &str = ".datom/manifest.json";
    pub const GOVERNANCE: &str = ".datom/governance.json";
    pub const GITIGNORE: &str = ".gitignore";
    pub const README: &str = "README.md";
    pub const INPUT_FILES: &str = "input_files";
    pub fn metadata(table: &str) -> String {
        format!("{table}/metadata.json")
    }
    pub fn version_history(table: &str) -> String {
        format!("{table}/version_history.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_construction_examples() {
        assert_eq!(full_key(&project_root(Some("study-001/"), "STUDY_001"), "dm/abc.parquet"), "study-001/datom/STUDY_001/dm/abc.parquet");
        assert_eq!(full_key(&project_root(None, "STUDY_001"), "dm/abc.parquet"), "datom/STUDY_001/dm/abc.parquet");
        assert_eq!(project_root(Some("/a/b/"), "STUDY_001"), "a/b/datom/STUDY_001");
        assert_eq!(project_root(Some(""), "P"), "datom/P");
        assert_eq!(gov_root(Some("gov")), "gov/datom/projects");
        assert_eq!(full_key("datom/P", "/.metadata/manifest.json/"), "datom/P/.metadata/manifest.json");
        // 0.1.x: the project root is the store root
        assert_eq!(full_key(&v01::project_root(Some("study-001/")), "dm/abc.parquet"), "study-001/datom/dm/abc.parquet");
        assert_eq!(v01::project_root(None), "datom");
    }

    #[test]
    fn v01_keys() {
        use v01::{classify, Key};
        let d = "a".repeat(64);
        assert_eq!(classify(".metadata/manifest.json"), Key::Manifest);
        assert_eq!(classify(".metadata/governance.json"), Key::Governance);
        assert_eq!(classify(".metadata/adopted.json"), Key::Adopted);
        assert_eq!(classify(&format!("dm/{d}.parquet")), Key::Parquet { table: "dm".into(), data_sha: d.clone() });
        assert_eq!(classify(&format!("dm/.metadata/{d}.json")), Key::Snapshot { table: "dm".into(), version: d.clone() });
        assert_eq!(classify("dm/.metadata/metadata.json"), Key::Metadata("dm".into()));
        assert_eq!(classify("dm/.metadata/version_history.json"), Key::History("dm".into()));
        for k in ["dm/x.parquet", "README", "dm/.metadata/notes.txt", "P/dm/.metadata/metadata.json", ".metadata/publish.lock", "R/abcdef.parquet"] {
            assert_eq!(classify(k), Key::Other, "{k}");
        }
        assert_eq!(classify(&format!("dm/{d}.parquet")).table(), Some("dm"));
    }

    #[test]
    fn namespace_labels() {
        assert_eq!(namespace_label("s3", "bkt", None), "s3://bkt/datom/");
        assert_eq!(namespace_label("s3", "bkt", Some("/team//a/")), "s3://bkt/team/a/datom/");
        assert_eq!(namespace_label("local", "/srv/store/", Some("p")), "/srv/store/p/datom/");
        assert_eq!(namespace_label("local", "/srv/store", Some("/")), "/srv/store/datom/");
    }

    #[test]
    fn names_and_shas() {
        assert!(check_name("STUDY_001", "project_name").is_ok());
        assert!(check_name("lb (v2)-x", "name").is_ok());
        assert!(check_name("", "name").is_err());
        assert!(check_name("1abc", "name").unwrap_err().message.contains("start with a letter"));
        assert!(check_name("a/b", "name").unwrap_err().message.contains("illegal"));
        assert!(check_name("Input_Files", "name").unwrap_err().message.contains("reserved"));
        for n in ["projects", "R", "r", "man", "src", "tests", "vignettes", "renv", "input_files"] {
            assert!(check_name(n, "name").unwrap_err().message.contains("reserved"), "{n}");
        }
        // the governance namespace and datom's own folders, in any case
        for n in ["PROJECTS", "Projects", ".access", "Datom", ".metadata"] {
            assert!(check_name(n, "project_name").is_err(), "{n}");
        }
        assert!(check_name(&"a".repeat(129), "name").unwrap_err().message.contains("129"));
        assert!(check_sha("abcdef", "v").is_ok());
        assert!(check_sha("../../x", "v").is_err());
        assert!(check_sha("ABCDEF", "v").is_err());
        assert!(data::parquet("lb", "../x").is_err());
    }
}

//! `datom_init_repo()` for a solo project: the data clone, its first commit
//! and push, and the manifest mirror. Everything created before the push is
//! removed again if any step up to the push fails.

use super::{CloneCtx, Project};
use crate::error::{Error, Kind, Result};
use crate::git::{self, Repo};
use crate::layout;
use crate::model::{self, Location, ProjectConfig};
use std::path::{Path, PathBuf};

pub const DEFAULT_GITIGNORE: [&str; 19] = [
    ".Rprofile", ".Renviron", ".Rhistory", ".Rapp.history", ".Rproj.user/", ".DS_Store", "*.csv", "*.tsv", "*.rds",
    "*.txt", "*.parquet", "*.sas7bdat", ".RData", ".RDataTmp", "*.html", "*.png", "*.pdf", ".vscode/", "rsconnect/",
];

pub struct InitRequest<'a> {
    pub path: &'a Path,
    pub data: Location,
    pub remote_url: &'a str,
    pub max_file_size_gb: f64,
    pub git_ignore: Vec<String>,
    pub force: bool,
    pub datom_version: &'a str,
    /// Local date `YYYY-MM-DD` (project.yaml `created_at`).
    pub created_date: &'a str,
    /// Local wall-clock time with a `Z` suffix (the initial manifest's quirk).
    pub local_now_z: &'a str,
    /// `.datom/governance.json` for a governed init (part of the first commit).
    pub governance: Option<crate::identity::rvalue::RValue>,
}

pub struct InitOutcome {
    pub commit_sha: String,
    pub created_remote: bool,
}

/// The governance side of a governed init, once the data repo is pushed:
/// register the project (a failure says the clone is intact and how to
/// finish), then publish `.datom/governance.json` to the data store. A
/// failure of that publication is returned, not raised (the git copy is
/// canonical; `datom_validate(fix = TRUE)` publishes it).
pub fn register_governed(g: &super::gov::Gov<'_>, project: &Project, clone: &CloneCtx) -> Result<Option<Error>> {
    let data = project.location.as_ref().ok_or_else(|| Error::internal("register_governed: the project has no location"))?;
    super::gov::register(g, &project.name, data).map_err(|e| {
        Error::new(e.kind, format!("Data repo pushed but gov registration failed: {}", e.message)).with_hint(format!(
            "The local clone is intact at {}; after fixing the cause run datom_sync_dispatch(conn) to register.",
            clone.path.display()
        ))
    })?;
    let mirrored = crate::failpoint::hit("register.governance")
        .and_then(|_| super::collab::mirror_clone_json(project, clone, layout::repo::GOVERNANCE, layout::data::GOVERNANCE));
    Ok(mirrored.err())
}

/// The times an init records, from the UTC clock: the date of
/// project.yaml's `created_at` and the initial manifest's time.
pub fn init_times() -> (String, String) {
    let now = model::now_utc();
    (now[..10].to_string(), now)
}

/// The namespace check of 9.2: `Some(owner)` when occupied.
pub fn namespace_owner(project: &Project) -> Result<Option<String>> {
    let key = project.key(layout::data::MANIFEST);
    if !project.store.exists(&key)? {
        return Ok(None);
    }
    let owner = match project.get_json(layout::data::MANIFEST) {
        Ok(Some(m)) => model::as_str(model::get(&m, "project_name")).unwrap_or("<unknown>").to_string(),
        Ok(None) => "<unknown>".to_string(),
        Err(_) => "<unreadable>".to_string(),
    };
    Ok(Some(owner))
}

fn readme(project: &str, req: &InitRequest<'_>) -> String {
    let d = &req.data;
    let prefix = d.prefix_norm().unwrap_or("(none)");
    let region = if d.kind == "s3" { d.region.as_deref().unwrap_or("us-east-1") } else { "(n/a)" };
    let component = if d.kind == "s3" {
        format!(
            "datom_store_s3(bucket = \"{}\", prefix = {}, region = \"{}\",\n                 access_key = \"...\", secret_key = \"...\")",
            d.root,
            d.prefix_norm().map(|p| format!("\"{p}\"")).unwrap_or_else(|| "NULL".into()),
            region
        )
    } else {
        format!(
            "datom_store_local(path = \"{}\", prefix = {})",
            d.root,
            d.prefix_norm().map(|p| format!("\"{p}\"")).unwrap_or_else(|| "NULL".into())
        )
    };
    format!(
        "# {project}\n\n\
A datom project: versioned tables whose metadata and history live in this git\n\
repository, and whose data lives in the data store below.\n\n\
## Storage\n\n\
| Setting | Value |\n|---|---|\n| Backend | {kind} |\n| Root | {root} |\n| Prefix | {prefix} |\n| Region | {region} |\n\n\
## Clone\n\n\
```r\nlibrary(datom)\nstore <- datom_store(\n  governance = NULL,\n  data = {component},\n  github_pat = \"...\",\n  data_repo_url = \"{url}\"\n)\nconn <- datom_clone(path = \"{project}\", store = store)\n```\n\n\
## Read (no git needed)\n\n\
```r\nreader <- datom_get_conn(\n  store = datom_store(governance = NULL, data = {component}),\n  project_name = \"{project}\"\n)\n```\n\n\
## Explore\n\n\
```r\ndatom_list(conn)\ndatom_history(conn, \"table_name\")\ndatom_read(conn, \"table_name\")\n```\n\n\
Do not commit data files to this repository: datom keeps the data in the store.\n\n\
---\nCreated {date} with datom {version}.\n",
        kind = d.kind,
        root = d.root,
        url = req.remote_url,
        date = req.created_date,
        version = req.datom_version,
    )
}

/// Things this call created, removed again on failure before the push.
#[derive(Default)]
struct Created {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Created {
    fn mkdir(&mut self, d: &Path) -> Result<()> {
        // Record every missing ancestor so rollback removes exactly those.
        let mut missing = Vec::new();
        let mut cur = Some(d);
        while let Some(c) = cur {
            if c.exists() {
                break;
            }
            missing.push(c.to_path_buf());
            cur = c.parent();
        }
        std::fs::create_dir_all(d).map_err(|e| Error::new(Kind::Storage, format!("cannot create {}: {e}", d.display())))?;
        missing.reverse();
        self.dirs.extend(missing);
        Ok(())
    }
    fn write(&mut self, p: &Path, text: &str) -> Result<()> {
        if !p.exists() {
            self.files.push(p.to_path_buf());
        }
        crate::store::local::write_atomic(p, text.as_bytes())
    }
    fn rollback(&self) {
        for f in self.files.iter().rev() {
            let _ = std::fs::remove_file(f);
        }
        for d in self.dirs.iter().rev() {
            if d.file_name().map(|n| n == ".git").unwrap_or(false) {
                let _ = std::fs::remove_dir_all(d);
            } else {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

/// The checks of an init before any side effect: no project at `path`
/// yet, and (unless `force`) the data store namespace of the project is
/// not occupied by another.
pub fn preflight(project: &Project, path: &Path, force: bool) -> Result<()> {
    if path.join(layout::repo::PROJECT_YAML).exists() {
        return Err(Error::new(Kind::Conflict, format!("A datom repository already exists at '{}'.", path.display()))
            .with_hint("Delete its .datom folder to re-initialise, or connect with datom_get_conn()."));
    }
    if !force {
        if let Some(owner) = namespace_owner(project)? {
            let at = match &project.location {
                Some(l) => layout::namespace_label(&l.kind, &l.root, l.prefix_norm()),
                None => project.display.clone(),
            };
            return Err(Error::new(
                Kind::Conflict,
                format!("The data store namespace of \"{}\" at '{at}' is already occupied by project {owner}.", project.name),
            )
            .with_hint("Each project needs its own namespace: use another prefix or bucket, or .force = TRUE for a deliberate takeover."));
        }
    }
    Ok(())
}

/// Initialise a solo project (governance registration is a separate step).
pub fn init_repo(project: &Project, req: &InitRequest<'_>, creds: &crate::git::Creds) -> Result<InitOutcome> {
    layout::check_name(&project.name, "project_name")?;
    let path = req.path;
    preflight(project, path, req.force)?;
    if req.remote_url.is_empty() {
        return Err(Error::input("No remote URL available").with_hint("Set data_repo_url in datom_store(), or use create_repo = TRUE."));
    }
    let config = ProjectConfig {
        project_name: project.name.clone(),
        project_description: String::new(),
        created_at: req.created_date.to_string(),
        datom_version: req.datom_version.to_string(),
        data: req.data.clone(),
        max_file_size_gb: req.max_file_size_gb,
        remote_url: req.remote_url.to_string(),
        continue_on_error: true,
        parallel_uploads: 4,
        renv: false,
    };
    let mut ignore: Vec<String> = Vec::new();
    for p in req.git_ignore.iter().map(|s| s.as_str()).chain(["input_files/"]) {
        if !ignore.iter().any(|x| x == p) {
            ignore.push(p.to_string());
        }
    }
    let mut created = Created::default();
    let mut created_remote = false;
    let result = (|| -> Result<String> {
        created.mkdir(path)?;
        created.mkdir(&path.join(".datom"))?;
        created.mkdir(&path.join(layout::repo::INPUT_FILES))?;
        created.write(&path.join(layout::repo::PROJECT_YAML), &config.to_yaml())?;
        let manifest = model::new_manifest(&project.name, req.local_now_z);
        created.write(&path.join(layout::repo::MANIFEST), &model::json_text(&manifest, true))?;
        let gi: String = ignore.iter().map(|l| format!("{l}\n")).collect();
        created.write(&path.join(layout::repo::GITIGNORE), &gi)?;
        created.write(&path.join(layout::repo::README), &readme(&project.name, req))?;
        if let Some(g) = &req.governance {
            created.write(&path.join(layout::repo::GOVERNANCE), &model::json_text(g, true))?;
        }
        if git::is_local_remote(req.remote_url) {
            let bare = git::local_remote_path(req.remote_url);
            if !bare.exists() {
                created_remote = true;
                created.dirs.push(bare.clone());
            }
            git::ensure_bare(&bare)?;
        }
        let had_git = path.join(".git").exists();
        let repo = if had_git { Repo::open(path)? } else {
            created.dirs.push(path.join(".git"));
            Repo::init(path)?
        };
        repo.ensure_identity()?;
        repo.set_remote("origin", req.remote_url)?;
        let mut files = vec![layout::repo::PROJECT_YAML, layout::repo::MANIFEST, layout::repo::GITIGNORE, layout::repo::README];
        if req.governance.is_some() {
            files.push(layout::repo::GOVERNANCE);
        }
        let commit = repo.commit_paths(&files, "Initialize datom repository")?;
        crate::failpoint::hit("init.push")?;
        repo.push("origin", creds)?;
        Ok(commit)
    })();
    let commit = match result {
        Ok(c) => c,
        Err(e) => {
            created.rollback();
            return Err(e);
        }
    };
    // After the push nothing is rolled back; errors carry recovery hints.
    let clone = CloneCtx { path: path.to_path_buf(), creds: creds.clone() };
    let manifest = clone.read_json(layout::repo::MANIFEST)?.ok_or_else(|| Error::internal("manifest vanished"))?;
    project.put_json(layout::data::MANIFEST, &manifest).map_err(|e| {
        Error::new(e.kind, format!("Data repo pushed but manifest upload failed: {}", e.message)).with_hint(format!(
            "The local clone at {} is intact; after fixing the cause run datom_validate(conn, fix = TRUE).",
            path.display()
        ))
    })?;
    Ok(InitOutcome { commit_sha: commit, created_remote })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;

    #[test]
    fn preflight_refuses_an_existing_project_and_an_occupied_namespace() {
        let d = crate::testutil::scratch_dir("init-preflight");
        let loc = Location { kind: "local".into(), root: d.display().to_string(), prefix: Some("p".into()), region: None };
        let mut p = Project::new("P", Box::new(LocalStore::new(&d)), loc.prefix_norm(), true, String::new());
        p.location = Some(loc);
        let clone = d.join("clone");
        preflight(&p, &clone, false).unwrap();
        p.store.put(&p.key(layout::data::MANIFEST), br#"{"project_name": "OTHER"}"#).unwrap();
        let e = preflight(&p, &clone, false).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert_eq!(e.message, format!("The data store namespace of \"P\" at '{}/p/datom/' is already occupied by project OTHER.", d.display()));
        preflight(&p, &clone, true).unwrap();
        std::fs::create_dir_all(clone.join(".datom")).unwrap();
        std::fs::write(clone.join(layout::repo::PROJECT_YAML), "x").unwrap();
        let e = preflight(&p, &clone, true).unwrap_err();
        assert_eq!(e.message, format!("A datom repository already exists at '{}'.", clone.display()));
    }

    #[test]
    fn a_governed_init_registers_and_publishes_the_pointer() {
        use crate::ops::gov;
        let d = crate::testutil::scratch_dir("init-register");
        let url = d.join("remotes/gov.git").display().to_string();
        let creds = crate::git::Creds::default();
        let gclone = d.join("gov");
        gov::init_gov(&url, &gclone, &creds).unwrap();
        let gs = gov::gov_store(Box::new(LocalStore::new(d.join("gov-store"))), None, true, String::new());
        let g = gov::Gov { clone: &gclone, url: &url, creds: &creds, store: &gs };
        let loc = Location { kind: "local".into(), root: d.join("data").display().to_string(), prefix: None, region: None };
        let mut p = Project::new("P", Box::new(LocalStore::new(d.join("data"))), None, true, String::new());
        p.location = Some(loc);
        let clone = CloneCtx { path: d.join("clone"), creds: creds.clone() };
        std::fs::create_dir_all(clone.path.join(".datom")).unwrap();
        std::fs::write(clone.path.join(layout::repo::GOVERNANCE), "{\"gov_repo_url\": \"x\"}\n").unwrap();
        assert_eq!(register_governed(&g, &p, &clone).unwrap(), None);
        assert!(gov::is_registered(&gclone, "P"));
        assert!(p.get_json(layout::data::GOVERNANCE).unwrap().is_some());
        // registered already: the error says the clone is intact
        let e = register_governed(&g, &p, &clone).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert!(e.message.starts_with("Data repo pushed but gov registration failed: "), "{}", e.message);
        assert!(e.hint.unwrap().starts_with(&format!("The local clone is intact at {}", clone.path.display())));
    }

    #[test]
    fn the_default_gitignore_keeps_data_files_and_session_files_out() {
        for p in ["*.parquet", "*.csv", ".Rhistory", ".Renviron", "rsconnect/"] {
            assert!(DEFAULT_GITIGNORE.contains(&p), "{p}");
        }
    }

    #[test]
    fn init_times_are_the_utc_date_and_time() {
        let (date, now) = super::init_times();
        assert!(now.starts_with(&date) && now.ends_with('Z') && now.len() == 20, "{date} {now}");
        assert!(crate::model::parse_utc(&now).is_some());
    }
}

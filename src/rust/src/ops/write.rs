//! `datom_write()`: the state machine of FORMATS.md 7 — local, then git,
//! then storage. A rejected push undoes the local commit and uploads nothing.

use super::{CloneCtx, Project};
use crate::column::NamedColumn;
use crate::error::{Error, Kind, Result};
use crate::git::Repo;
use crate::identity::canon::metadata_sha;
use crate::identity::rvalue::RValue;
use crate::identity::{hash_table, HASH_ALGO};
use crate::layout;
use crate::model::{self, as_str, elements, get};
use crate::table::write_parquet;

/// Everything a write needs besides the project and the clone.
pub struct WriteRequest<'a> {
    pub name: &'a str,
    pub columns: &'a [NamedColumn<'a>],
    pub nrow: usize,
    pub df_class: Option<&'a [String]>,
    pub custom: Option<RValue>,
    /// Trimmed parent records (`{source, table, version, data_sha}`), when given.
    pub parents: Option<RValue>,
    pub source_lineage: Option<RValue>,
    pub table_type: &'a str,
    pub original_file_sha: Option<&'a str>,
    pub original_format: Option<&'a str>,
    pub message: &'a str,
    pub datom_version: &'a str,
    pub threads: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    MetadataOnly,
    Full,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::None => "none",
            Action::MetadataOnly => "metadata_only",
            Action::Full => "full",
        }
    }
}

#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub data_sha: String,
    pub metadata_sha: String,
    pub action: Action,
    pub commit_sha: Option<String>,
    pub uploaded: bool,
    pub size_bytes: f64,
}

/// The metadata object of 8.6, in its key order. `parquet_sha` is inserted
/// after `hash_algo` when known.
fn build_metadata(
    req: &WriteRequest<'_>,
    data_sha: &str,
    column_hashes: &[(String, String)],
    parquet_sha: Option<&str>,
    size_bytes: f64,
    created_at: &str,
) -> RValue {
    let mut pairs: Vec<(&str, RValue)> = vec![("data_sha", RValue::str(data_sha)), ("hash_algo", RValue::str(HASH_ALGO))];
    if let Some(p) = parquet_sha {
        pairs.push(("parquet_sha", RValue::str(p)));
    }
    pairs.push(("table_type", RValue::str(req.table_type)));
    pairs.push(("nrow", count(req.nrow)));
    pairs.push(("ncol", count(req.columns.len())));
    pairs.push(("colnames", RValue::Character(req.columns.iter().map(|c| Some(c.name.clone())).collect())));
    pairs.push((
        "column_hashes",
        RValue::unnamed(
            column_hashes
                .iter()
                .map(|(n, s)| RValue::named(vec![("name", RValue::str(n)), ("sha", RValue::str(s))]))
                .collect(),
        ),
    ));
    pairs.push(("created_at", RValue::str(created_at)));
    pairs.push(("datom_version", RValue::str(req.datom_version)));
    if let Some(o) = req.original_file_sha {
        pairs.push(("original_file_sha", RValue::str(o)));
    }
    if let Some(p) = &req.parents {
        pairs.push(("parents", p.clone()));
    }
    if let Some(l) = &req.source_lineage {
        pairs.push(("source_lineage", fill_self_lineage(l, data_sha)));
    }
    pairs.push(("size_bytes", RValue::dbl(size_bytes)));
    if let Some(c) = &req.custom {
        pairs.push(("custom", c.clone()));
    }
    RValue::named(pairs)
}

fn count(n: usize) -> RValue {
    if n <= i32::MAX as usize {
        RValue::int(n as i32)
    } else {
        RValue::dbl(n as f64)
    }
}

/// Write a table version. `author` is the clone's git identity.
pub fn write(project: &Project, clone: &CloneCtx, req: &WriteRequest<'_>) -> Result<WriteOutcome> {
    layout::check_name(req.name, "name")?;
    let name = req.name;
    let created_at = model::now_utc();

    // 1-2. Hash gate (columns were classified by the binding already).
    let th = hash_table(req.columns, req.nrow, req.threads);

    // 4-5. Version id first (size_bytes and parquet_sha are volatile), so an
    // unchanged table returns before anything is encoded.
    let probe = build_metadata(req, &th.data_sha, &th.column_hashes, None, 0.0, &created_at);
    let (msha, _) = metadata_sha(&probe)?;
    let current = project.get_json(&layout::data::metadata(name))?;
    let action = match &current {
        None => Action::Full,
        Some(cur) => {
            let (cur_sha, _) = metadata_sha(cur)?;
            if cur_sha == msha {
                Action::None
            } else if as_str(get(cur, "data_sha")) == Some(th.data_sha.as_str()) {
                Action::MetadataOnly
            } else {
                Action::Full
            }
        }
    };
    if action == Action::None {
        return Ok(WriteOutcome {
            data_sha: th.data_sha,
            metadata_sha: msha,
            action,
            commit_sha: None,
            uploaded: false,
            size_bytes: 0.0,
        });
    }

    // 3. Serialise.
    let written = write_parquet(req.columns, req.nrow, req.df_class)?;
    let size_bytes = written.bytes.len() as f64;

    // 7. Which parquet_sha, and whether to upload.
    let hist_rel = layout::repo::version_history(name);
    let local_history = clone.read_json(&hist_rel)?.unwrap_or_else(|| RValue::unnamed(vec![]));
    let (parquet_sha, upload): (Option<String>, bool) = match action {
        Action::MetadataOnly => (
            current.as_ref().and_then(|c| as_str(get(c, "parquet_sha"))).filter(|s| !s.is_empty()).map(|s| s.to_string()),
            false,
        ),
        _ => {
            let reuse = elements(&local_history).iter().find_map(|e| {
                if as_str(get(e, "data_sha")) == Some(th.data_sha.as_str()) {
                    as_str(get(e, "parquet_sha")).filter(|s| !s.is_empty()).map(|s| s.to_string())
                } else {
                    None
                }
            });
            let key = project.key(&layout::data::parquet(name, &th.data_sha)?);
            match reuse {
                // A stored object pinned by an older version is never
                // overwritten with different bytes.
                Some(p) if project.store.exists(&key)? => (Some(p), false),
                // Pinned but missing (an earlier upload failed): upload now.
                _ => (Some(written.parquet_sha.clone()), true),
            }
        }
    };
    let meta = build_metadata(req, &th.data_sha, &th.column_hashes, parquet_sha.as_deref(), size_bytes, &created_at);

    // 8. The clone's files.
    let repo = Repo::open(&clone.path)?;
    let branch = repo.branch()?;
    let before = repo.head_sha().ok_or_else(|| Error::new(Kind::Git, "repository has no commits"))?;
    let author = repo.identity();
    let entry = model::HistoryEntry {
        version: &msha,
        data_sha: &th.data_sha,
        timestamp: &created_at,
        author: Some(author),
        commit_message: req.message,
        parquet_sha: parquet_sha.as_deref(),
        original_file_sha: req.original_file_sha,
    };
    let (history, _grew) = model::history_prepend(&local_history, entry.to_rvalue());
    let mut manifest = clone.read_json(layout::repo::MANIFEST)?.unwrap_or_else(|| model::new_manifest(&project.name, &created_at));
    model::manifest_set_entry(
        &mut manifest,
        name,
        &model::ManifestEntry {
            current_version: &msha,
            current_data_sha: &th.data_sha,
            last_updated: &created_at,
            size_bytes,
            version_count: elements(&history).len(),
            original_file_sha: req.original_file_sha,
            original_format: req.original_format,
        },
        &created_at,
    );
    let table_dir_existed = clone.file(name).is_dir();
    let meta_rel = layout::repo::metadata(name);
    let undo = |repo: &Repo| {
        let _ = repo.reset_hard(&before);
        if !table_dir_existed {
            let _ = std::fs::remove_dir(clone.file(name));
        }
    };
    let staged = (|| -> Result<String> {
        clone.write_json(&meta_rel, &meta)?;
        clone.write_json(&hist_rel, &history)?;
        clone.write_json(layout::repo::MANIFEST, &manifest)?;
        // 9. Commit and push; storage is untouched until the push succeeded.
        let commit = repo.commit_paths(&[meta_rel.as_str(), hist_rel.as_str(), layout::repo::MANIFEST], req.message)?;
        repo.push("origin", &clone.creds)?;
        Ok(commit)
    })();
    let commit_sha = match staged {
        Ok(c) => c,
        Err(e) => {
            undo(&repo);
            return Err(e);
        }
    };
    let _ = branch;

    // 10. Storage, in order: parquet, metadata, history, snapshot, manifest.
    let after_push = |e: Error| {
        Error::new(e.kind, format!("Data repo pushed but the storage upload failed: {}", e.message))
            .with_hint("Git holds the new metadata; re-run the same datom_write() call to complete the storage side.")
    };
    if upload {
        project.store.put(&project.key(&layout::data::parquet(name, &th.data_sha)?), &written.bytes).map_err(after_push)?;
    }
    project.put_json(&layout::data::metadata(name), &meta).map_err(after_push)?;
    project.put_json(&layout::data::version_history(name), &history).map_err(after_push)?;
    project.put_json(&layout::data::snapshot(name, &msha)?, &meta).map_err(after_push)?;
    project.put_json(layout::data::MANIFEST, &manifest).map_err(after_push)?;
    Ok(WriteOutcome {
        data_sha: th.data_sha,
        metadata_sha: msha,
        action,
        commit_sha: Some(commit_sha),
        uploaded: upload,
        size_bytes,
    })
}

/// An imported table's self-lineage entry is passed with an empty
/// `version_sha` (the caller does not hash twice): it is the table's own
/// `data_sha`, known here.
fn fill_self_lineage(l: &RValue, data_sha: &str) -> RValue {
    let mut out = l.clone();
    if let RValue::List { values, .. } = &mut out {
        for e in values.iter_mut() {
            if as_str(get(e, "version_sha")) == Some("") {
                crate::model::set(e, "version_sha", RValue::str(data_sha));
            }
        }
    }
    out
}

//! Commits built from bytes (not from the working tree), blobs read from a
//! commit, ancestry. A datom write commits its files without touching the
//! working tree, pushes, and only then brings the working tree and index to
//! the new commit: a rejected push leaves the clone exactly as it was, and
//! an interrupted one leaves a state the next write recognises.

use super::{git_err, Repo};
use crate::error::{Error, Kind, Result};
use git2::{ObjectType, Oid, Tree};
use std::path::Path;

fn oid(s: &str) -> Result<Oid> {
    Oid::from_str(s).map_err(|e| git_err("oid", e))
}

fn blob_id(bytes: &[u8]) -> Result<Oid> {
    Oid::hash_object(ObjectType::Blob, bytes).map_err(|e| git_err("hash", e))
}

impl Repo {
    /// Is `sha` a commit in this repository's object database?
    pub fn has_commit(&self, sha: &str) -> bool {
        Oid::from_str(sha).ok().map(|o| self.repo.find_commit(o).is_ok()).unwrap_or(false)
    }

    /// Is `ancestor` an ancestor of (or equal to) `descendant`?
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let (a, d) = (oid(ancestor)?, oid(descendant)?);
        if a == d {
            return Ok(true);
        }
        self.repo.graph_descendant_of(d, a).map_err(|e| git_err("ancestry", e))
    }

    /// The bytes of `path` in `commit`'s tree (`None` when absent).
    pub fn read_at(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let c = self.repo.find_commit(oid(commit)?).map_err(|e| git_err("commit", e))?;
        let tree = c.tree().map_err(|e| git_err("tree", e))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(_) => return Ok(None),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        let blob = self.repo.find_blob(entry.id()).map_err(|e| git_err("blob", e))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// Top-level folders of `commit`'s tree and, for each, its file names.
    pub fn dirs_at(&self, commit: &str) -> Result<Vec<(String, Vec<String>)>> {
        let c = self.repo.find_commit(oid(commit)?).map_err(|e| git_err("commit", e))?;
        let tree = c.tree().map_err(|e| git_err("tree", e))?;
        let mut out = Vec::new();
        for e in tree.iter() {
            if e.kind() != Some(ObjectType::Tree) {
                continue;
            }
            let Ok(name) = e.name() else { continue };
            let sub = self.repo.find_tree(e.id()).map_err(|e| git_err("tree", e))?;
            let files = sub.iter().filter(|x| x.kind() == Some(ObjectType::Blob)).filter_map(|x| x.name().ok().map(str::to_string)).collect();
            out.push((name.to_string(), files));
        }
        Ok(out)
    }

    /// The tip of `remote`'s copy of the current branch (after a fetch).
    pub fn upstream_sha(&self, remote: &str) -> Result<Option<String>> {
        let branch = self.branch()?;
        Ok(self.repo.find_reference(&format!("refs/remotes/{remote}/{branch}")).ok().and_then(|r| r.target()).map(|o| o.to_string()))
    }

    /// Paths changed between two commits (added, modified or deleted).
    pub fn diff_paths(&self, from: &str, to: &str) -> Result<Vec<String>> {
        let a = self.repo.find_commit(oid(from)?).map_err(|e| git_err("commit", e))?;
        let b = self.repo.find_commit(oid(to)?).map_err(|e| git_err("commit", e))?;
        let d = self
            .repo
            .diff_tree_to_tree(Some(&a.tree().map_err(|e| git_err("tree", e))?), Some(&b.tree().map_err(|e| git_err("tree", e))?), None)
            .map_err(|e| git_err("diff", e))?;
        let mut out = Vec::new();
        for x in d.deltas() {
            for f in [x.old_file(), x.new_file()] {
                if let Some(p) = f.path() {
                    let p = p.to_string_lossy().into_owned();
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The commits (oldest first, first-parent line) between `from`
    /// (excluded; `None`: the root) and `to` that changed `path`, with the
    /// commit time (seconds since the epoch) and the file's new bytes
    /// (`None`: deleted).
    pub fn path_log(&self, path: &str, from: Option<&str>, to: &str) -> Result<Vec<(String, i64, Option<Vec<u8>>)>> {
        let mut walk = self.repo.revwalk().map_err(|e| git_err("revwalk", e))?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE).map_err(|e| git_err("revwalk", e))?;
        walk.simplify_first_parent().map_err(|e| git_err("revwalk", e))?;
        walk.push(oid(to)?).map_err(|e| git_err("revwalk", e))?;
        if let Some(f) = from {
            walk.hide(oid(f)?).map_err(|e| git_err("revwalk", e))?;
        }
        let entry_id = |c: &git2::Commit<'_>| -> Option<Oid> { c.tree().ok()?.get_path(Path::new(path)).ok().map(|e| e.id()) };
        let mut out = Vec::new();
        for id in walk {
            let id = id.map_err(|e| git_err("revwalk", e))?;
            let c = self.repo.find_commit(id).map_err(|e| git_err("commit", e))?;
            let now = entry_id(&c);
            let before = c.parent(0).ok().and_then(|p| entry_id(&p));
            if now == before {
                continue;
            }
            let bytes = match now {
                Some(b) => Some(self.repo.find_blob(b).map_err(|e| git_err("blob", e))?.content().to_vec()),
                None => None,
            };
            out.push((id.to_string(), c.time().seconds(), bytes));
        }
        Ok(out)
    }

    /// Commit `files` (path, new bytes or `None` to delete) on top of HEAD
    /// and move the branch there. The index and working tree are NOT
    /// touched (see [`Repo::checkout_paths`]). Returns the new commit, or
    /// `None` when the tree is unchanged.
    pub fn commit_bytes(&self, files: &[(&str, Option<&[u8]>)], message: &str) -> Result<Option<String>> {
        let parent = self.head_oid().map(|o| self.repo.find_commit(o)).transpose().map_err(|e| git_err("HEAD", e))?;
        let base = parent.as_ref().map(|p| p.tree()).transpose().map_err(|e| git_err("tree", e))?;
        let mut tree_id = match &base {
            Some(t) => t.id(),
            None => self.repo.treebuilder(None).and_then(|b| b.write()).map_err(|e| git_err("tree", e))?,
        };
        for (path, bytes) in files {
            let blob = match bytes {
                Some(b) => Some(self.repo.blob(b).map_err(|e| git_err("blob", e))?),
                None => None,
            };
            let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let t = self.repo.find_tree(tree_id).map_err(|e| git_err("tree", e))?;
            tree_id = self.put_path(Some(&t), &parts, blob)?.unwrap_or(self.repo.treebuilder(None).and_then(|b| b.write()).map_err(|e| git_err("tree", e))?);
        }
        if base.as_ref().map(|t| t.id()) == Some(tree_id) {
            return Ok(None);
        }
        let tree = self.repo.find_tree(tree_id).map_err(|e| git_err("tree", e))?;
        let sig = self.signature()?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let new = self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).map_err(|e| git_err("commit", e))?;
        Ok(Some(new.to_string()))
    }

    /// `tree` with `parts` set to `blob` (or removed); `None` when empty.
    fn put_path(&self, tree: Option<&Tree<'_>>, parts: &[&str], blob: Option<Oid>) -> Result<Option<Oid>> {
        let mut b = self.repo.treebuilder(tree).map_err(|e| git_err("tree", e))?;
        let name = parts[0];
        if parts.len() == 1 {
            match blob {
                Some(id) => {
                    b.insert(name, id, 0o100644).map_err(|e| git_err("tree", e))?;
                }
                None => {
                    let _ = b.remove(name);
                }
            }
        } else {
            let sub = match b.get(name).map_err(|e| git_err("tree", e))? {
                Some(e) if e.kind() == Some(ObjectType::Tree) => Some(self.repo.find_tree(e.id()).map_err(|e| git_err("tree", e))?),
                _ => None,
            };
            match self.put_path(sub.as_ref(), &parts[1..], blob)? {
                Some(id) => {
                    b.insert(name, id, 0o040000).map_err(|e| git_err("tree", e))?;
                }
                None => {
                    let _ = b.remove(name);
                }
            }
        }
        if b.is_empty() {
            return Ok(None);
        }
        Ok(Some(b.write().map_err(|e| git_err("tree", e))?))
    }

    /// Bring the index and working tree of exactly `paths` to HEAD (files
    /// absent at HEAD are removed). Nothing else is touched.
    pub fn checkout_paths(&self, paths: &[&str]) -> Result<()> {
        let head = self.head_sha().ok_or_else(|| Error::new(Kind::Git, "repository has no commits"))?;
        let wd = self.workdir()?.to_path_buf();
        let mut index = self.repo.index().map_err(|e| git_err("index", e))?;
        for p in paths {
            let file = wd.join(p);
            match self.read_at(&head, p)? {
                Some(bytes) => {
                    if let Some(d) = file.parent() {
                        std::fs::create_dir_all(d).map_err(|e| Error::new(Kind::Storage, format!("cannot create {}: {e}", d.display())))?;
                    }
                    crate::store::local::write_atomic(&file, &bytes)?;
                    index.add_path(Path::new(p)).map_err(|e| git_err(&format!("cannot stage {p}"), e))?;
                }
                None => {
                    let _ = std::fs::remove_file(&file);
                    let _ = index.remove_path(Path::new(p));
                }
            }
        }
        index.write().map_err(|e| git_err("index", e))
    }

    /// Move the branch back to `before` (index and working tree untouched):
    /// the undo of [`Repo::commit_bytes`] before its checkout.
    pub fn move_branch(&self, before: &str) -> Result<()> {
        let obj = self.repo.find_object(oid(before)?, None).map_err(|e| git_err("object", e))?;
        self.repo.reset(&obj, git2::ResetType::Soft, None).map_err(|e| git_err("reset", e))
    }

    /// A path as committed at `commit`: its bytes and blob id (`None`:
    /// absent there, or no commit).
    fn blob_at(&self, commit: Option<&str>, p: &str) -> Result<(Option<Vec<u8>>, Option<Oid>)> {
        let bytes = match commit {
            Some(c) => self.read_at(c, p)?,
            None => None,
        };
        let id = bytes.as_deref().map(blob_id).transpose()?;
        Ok((bytes, id))
    }

    /// A path's working-tree bytes and staged blob id.
    fn local_state(&self, index: &git2::Index, p: &str) -> Result<(Option<Vec<u8>>, Option<Oid>)> {
        let file = std::fs::read(self.workdir()?.join(p)).ok();
        Ok((file, index.get_path(Path::new(p), 0).map(|e| e.id)))
    }

    /// Reset the index entries of `paths` to `commit` (`git reset <commit>
    /// -- <paths>`); the working tree is untouched.
    pub fn unstage(&self, commit: &str, paths: &[&str]) -> Result<()> {
        let obj = self.repo.find_object(oid(commit)?, None).map_err(|e| git_err("object", e))?;
        self.repo.reset_default(Some(&obj), paths.iter().copied()).map_err(|e| git_err("reset", e))
    }

    /// Of `paths`, those whose index or working-tree state differs from HEAD.
    pub fn dirty_of(&self, paths: &[&str]) -> Result<Vec<String>> {
        let head = self.head_sha();
        let index = self.repo.index().map_err(|e| git_err("index", e))?;
        let mut out = Vec::new();
        for p in paths {
            if self.local_state(&index, p)? != self.blob_at(head.as_deref(), p)? {
                out.push(p.to_string());
            }
        }
        Ok(out)
    }

    /// Is every path of `paths` either clean, or in the state an
    /// interrupted datom update leaves (index and working tree still at
    /// HEAD's first parent)? Returns the paths that are neither (user edits).
    pub fn foreign_changes(&self, paths: &[&str]) -> Result<Vec<String>> {
        let dirty = self.dirty_of(paths)?;
        if dirty.is_empty() {
            return Ok(dirty);
        }
        let head = self.head_sha();
        let parent = self
            .head_oid()
            .and_then(|o| self.repo.find_commit(o).ok())
            .and_then(|c| c.parent_id(0).ok())
            .map(|o| o.to_string());
        let index = self.repo.index().map_err(|e| git_err("index", e))?;
        let mut foreign = Vec::new();
        for p in &dirty {
            let (file, staged) = self.local_state(&index, p)?;
            let (prev, prev_id) = self.blob_at(parent.as_deref(), p)?;
            let (_, head_id) = self.blob_at(head.as_deref(), p)?;
            let file_at_head = file.as_deref().map(|f| blob_id(f).ok()) == Some(head_id);
            let interrupted = parent.is_some() && (file == prev || file_at_head) && (staged == prev_id || staged == head_id);
            if !interrupted {
                foreign.push(p.clone());
            }
        }
        Ok(foreign)
    }
}

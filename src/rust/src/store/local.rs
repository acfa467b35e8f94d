//! The local-folder backend: keys are paths under a root directory; writes
//! go to a temporary name in the same directory and are renamed into place.

use super::{check_key, Leftover, ObjectMeta, Staged, Store};
use crate::error::{Error, Kind, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Objects are read and written in pieces of this size (progress).
const PIECE: usize = 8 << 20;

/// Write `bytes` to `path` atomically (temp file in the same directory,
/// fsync, rename). Parent directories are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| storage_err(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    let tmp = dir.join(tmp_name(name, "tmp"));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        // in pieces, so a large object reports progress
        for piece in bytes.chunks(PIECE) {
            f.write_all(piece)?;
            crate::runtime::progress::add("bytes", piece.len() as u64);
            crate::runtime::progress::pulse();
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(storage_err(path, e));
    }
    Ok(())
}

/// A local object being written: a temporary file beside its path
/// (skipped by listings), renamed into place by `publish`, removed when
/// dropped unpublished.
struct StagedFile {
    file: Option<std::io::BufWriter<std::fs::File>>,
    tmp: PathBuf,
    path: PathBuf,
}

/// The temporary file goes into the nearest existing folder of the key's
/// under `root` (a folder the object will create appears only when it is
/// published: an unpublished object leaves nothing behind).
fn stage_file(root: &Path, path: &Path) -> Result<StagedFile> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = match parent.ancestors().take_while(|a| a.starts_with(root)).find(|a| a.is_dir()) {
        Some(d) => d,
        None => {
            std::fs::create_dir_all(parent).map_err(|e| storage_err(parent, e))?;
            parent
        }
    };
    // the rest of the key below that folder is part of the name, so a
    // leftover of a killed write names its key (`Store::leftovers`)
    let rest = path.strip_prefix(dir).ok().and_then(|r| r.to_str()).unwrap_or("object");
    let tmp = dir.join(tmp_name(rest, "tmp"));
    let f = std::fs::File::create(&tmp).map_err(|e| storage_err(&tmp, e))?;
    Ok(StagedFile { file: Some(std::io::BufWriter::with_capacity(1 << 20, f)), tmp, path: path.to_path_buf() })
}

impl Write for StagedFile {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(b),
            None => Err(std::io::Error::other("staged object already published")),
        }
    }
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(b),
            None => Err(std::io::Error::other("staged object already published")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Staged for StagedFile {
    fn publish(mut self: Box<Self>) -> Result<()> {
        let f = self.file.take();
        let res = (|| -> std::io::Result<()> {
            let f = f.ok_or_else(|| std::io::Error::other("staged object already published"))?;
            let f = f.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::rename(&self.tmp, &self.path)
        })();
        res.map_err(|e| storage_err(&self.path, e))
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        // unpublished (or failed): nothing remains
        if self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn storage_err(path: &Path, e: std::io::Error) -> Error {
    let kind = if e.kind() == std::io::ErrorKind::NotFound { Kind::NotFound } else { Kind::Storage };
    Error::new(kind, format!("{}: {e}", path.display()))
}

/// A store rooted at a local directory.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

/// The hidden name of an object being written: `.<rest>.<tag>-<pid>-<n>`,
/// `rest` being the key's remaining path below the folder the file is in
/// (`/` written `%2F`, `%` written `%25`).
fn tmp_name(rest: &str, tag: &str) -> String {
    let rest = rest.replace('%', "%25").replace('/', "%2F");
    format!(".{rest}.{tag}-{}-{}", std::process::id(), TMP_COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The rest of the key a temporary file is for (see [`tmp_name`]), `None`
/// when `name` is not one.
fn tmp_target(name: &str) -> Option<String> {
    let body = name.strip_prefix('.')?;
    let (head, n) = body.rsplit_once('-')?;
    let (head, pid) = head.rsplit_once('-')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || !digits(pid) {
        return None;
    }
    let rest = head.strip_suffix(".tmp").or_else(|| head.strip_suffix(".new"))?;
    if rest.is_empty() {
        return None;
    }
    Some(rest.replace("%2F", "/").replace("%25", "%"))
}

fn is_tmp(name: &str) -> bool {
    tmp_target(name).is_some()
}

/// The entries of `dir`; `None` when it does not exist.
fn read_dir(dir: &Path) -> std::io::Result<Option<std::fs::ReadDir>> {
    match std::fs::read_dir(dir) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Temporary files directly in `dir` (key `rel`), with the key each was for.
fn tmp_files_in(dir: &Path, rel: &str, out: &mut Vec<Leftover>) -> std::io::Result<()> {
    let Some(rd) = read_dir(dir)? else { return Ok(()) };
    let join = |name: &str| if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(target) = tmp_target(&name).filter(|_| entry.file_type().is_ok_and(|t| t.is_file())) {
            let age_secs = entry.metadata().ok().and_then(|m| m.modified().ok()).map(|t| t.elapsed().map_or(0, |d| d.as_secs()));
            out.push(Leftover { key: join(&target), id: join(&name), age_secs });
        }
    }
    Ok(())
}

/// Temporary files under `dir` (key `rel`), at any depth.
fn walk_tmp(dir: &Path, rel: &str, out: &mut Vec<Leftover>) -> std::io::Result<()> {
    tmp_files_in(dir, rel, out)?;
    let Some(rd) = read_dir(dir)? else { return Ok(()) };
    for entry in rd {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            walk_tmp(&entry.path(), &if rel.is_empty() { name } else { format!("{rel}/{name}") }, out)?;
        }
    }
    Ok(())
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<ObjectMeta>) -> std::io::Result<()> {
    let Some(rd) = read_dir(dir)? else { return Ok(()) };
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&entry.path(), &key, out)?;
        } else if !is_tmp(&name) {
            out.push(ObjectMeta { key, size: entry.metadata()?.len() });
        }
    }
    Ok(())
}

/// Create `path` with `bytes` only if it does not exist (a complete file
/// appears at once: written aside, then hard-linked into place).
pub fn create_new_file(path: &Path, bytes: &[u8]) -> Result<bool> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| storage_err(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    let tmp = dir.join(tmp_name(name, "new"));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(storage_err(path, e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(storage_err(path, e)),
    }
}

impl Store for LocalStore {
    fn create_new(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        create_new_file(&self.path(key)?, bytes)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>> {
        use std::io::Read;
        let p = self.path(key)?;
        let read = || -> std::io::Result<Vec<u8>> {
            let mut f = std::fs::File::open(&p)?;
            let len = f.metadata()?.len() as usize;
            let _progress = (len > PIECE).then(|| crate::runtime::progress::start(format!("Reading {}", super::short_key(key)), "bytes", len as u64));
            let mut out = Vec::with_capacity(len);
            loop {
                let got = (&mut f).take(PIECE as u64).read_to_end(&mut out)?;
                if got == 0 {
                    break;
                }
                crate::runtime::progress::add("bytes", got as u64);
                crate::runtime::progress::pulse();
            }
            Ok(out)
        };
        read().map_err(|e| storage_err(&p, e))
    }
    fn stage(&self, key: &str) -> Result<Option<Box<dyn Staged>>> {
        Ok(Some(Box::new(stage_file(&self.root, &self.path(key)?)?)))
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let _progress = (bytes.len() > PIECE)
            .then(|| crate::runtime::progress::start(format!("Storing {}", super::short_key(key)), "bytes", bytes.len() as u64));
        write_atomic(&self.path(key)?, bytes)
    }
    fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.path(key)?.is_file())
    }
    fn head(&self, key: &str) -> Result<ObjectMeta> {
        let p = self.path(key)?;
        let m = std::fs::metadata(&p).map_err(|e| storage_err(&p, e))?;
        if !m.is_file() {
            return Err(Error::new(Kind::NotFound, format!("{} is not an object", p.display())));
        }
        Ok(ObjectMeta { key: key.to_string(), size: m.len() })
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        // Walk the deepest directory fully named by the prefix, then filter.
        let dir_part = prefix_dir(prefix)?;
        let mut out = Vec::new();
        walk(&self.root.join(dir_part), dir_part, &mut out).map_err(|e| storage_err(&self.root, e))?;
        out.retain(|o| o.key.starts_with(prefix));
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let objs = self.list(prefix)?;
        // what killed writes left there goes too (datom's own temporary files)
        for l in self.leftovers(prefix)? {
            self.discard(&l)?;
        }
        let mut n = 0;
        for o in &objs {
            if self.delete(&o.key)? {
                n += 1;
            }
        }
        // Remove directories left empty under the prefix.
        if let Some(i) = prefix.rfind('/') {
            let d = self.root.join(&prefix[..i]);
            if prefix.ends_with('/') {
                let _ = remove_empty_dirs(&d);
            }
        }
        Ok(n)
    }
    fn leftovers(&self, prefix: &str) -> Result<Vec<Leftover>> {
        let dir_part = prefix_dir(prefix)?;
        let mut out = Vec::new();
        walk_tmp(&self.root.join(dir_part), dir_part, &mut out).map_err(|e| storage_err(&self.root, e))?;
        // a write into folders that did not exist yet left its file in the
        // nearest folder that did: the folders above the prefix's, one level each
        let mut above = dir_part;
        while !above.is_empty() {
            above = above.rfind('/').map_or("", |i| &above[..i]);
            tmp_files_in(&self.root.join(above), above, &mut out).map_err(|e| storage_err(&self.root, e))?;
        }
        out.retain(|o| o.key.starts_with(prefix));
        out.sort_by(|a, b| a.key.cmp(&b.key).then(a.id.cmp(&b.id)));
        Ok(out)
    }
    fn discard(&self, leftover: &Leftover) -> Result<bool> {
        // only a temporary file of datom's naming
        let name = leftover.id.rsplit('/').next().unwrap_or("");
        if !is_tmp(name) {
            return Err(Error::new(Kind::Input, format!("{} is not a temporary file of an unfinished write", leftover.id)));
        }
        let p = self.path(&leftover.id)?;
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(storage_err(&p, e)),
        }
    }
    fn delete(&self, key: &str) -> Result<bool> {
        let p = self.path(key)?;
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(storage_err(&p, e)),
        }
    }
}

/// The deepest folder a listing prefix fully names (`a/b/` and `a/b/c`:
/// `a/b`), checked as a key.
fn prefix_dir(prefix: &str) -> Result<&str> {
    let dir = prefix.rfind('/').map_or("", |i| &prefix[..i]);
    if !dir.is_empty() {
        check_key(dir)?;
    }
    Ok(dir)
}

fn remove_empty_dirs(d: &Path) -> std::io::Result<bool> {
    if !d.is_dir() {
        return Ok(false);
    }
    let mut empty = true;
    for e in std::fs::read_dir(d)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            if !remove_empty_dirs(&e.path())? {
                empty = false;
            }
        } else {
            empty = false;
        }
    }
    if empty {
        std::fs::remove_dir(d)?;
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        crate::testutil::scratch_dir(&format!("local-{tag}"))
    }

    #[test]
    fn conformance_local() {
        let d = tmpdir("conf");
        super::super::conformance::run(&LocalStore::new(&d));
        // the unpublished staged object left no temporary file behind
        let staged: Vec<String> = std::fs::read_dir(d.join("p/staged")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(staged, vec!["a.bin".to_string()]);
        // nor a folder: an object staged under a new folder and dropped
        let store = LocalStore::new(&d);
        drop(store.stage("p/fresh/x/y.bin").unwrap());
        assert!(!d.join("p/fresh").exists());
        let mut st = store.stage("p/fresh/x/y.bin").unwrap().unwrap();
        st.write_all(b"y").unwrap();
        st.publish().unwrap();
        assert_eq!(std::fs::read(d.join("p/fresh/x/y.bin")).unwrap(), b"y");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn atomic_write_leaves_no_temp() {
        let d = tmpdir("atomic");
        let p = d.join("a/b/c.json");
        write_atomic(&p, b"{}").unwrap();
        write_atomic(&p, b"{\"x\":1}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"x\":1}");
        let names: Vec<_> = std::fs::read_dir(d.join("a/b")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

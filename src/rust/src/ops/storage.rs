//! The storage extension API (API.md 3.7): list, delete a prefix, copy a
//! project's objects between stores (any backend pair), verify a copy. All
//! keys are inside a project's sub-namespace `{P/}datom/{project}/`
//! (decision 1: projects may share a bucket and prefix).

use super::Project;
use crate::error::{Error, Kind, Result};
use crate::identity::sha256_hex;
use crate::store::ObjectMeta;

const PARALLEL: usize = 4;

fn ns(project: &Project) -> String {
    format!("{}/", project.root)
}

/// Every object of the project's namespace, with full keys.
pub fn list(project: &Project) -> Result<Vec<ObjectMeta>> {
    project.store.list(&ns(project))
}

/// Delete the whole namespace (`rel = None`) or a relative prefix in it.
pub fn delete_prefix(project: &Project, rel: Option<&str>) -> Result<u64> {
    let prefix = match rel.map(|r| r.trim_matches('/')).filter(|r| !r.is_empty()) {
        None => ns(project),
        Some(r) => {
            crate::store::check_key(r)?;
            format!("{}{}/", ns(project), r)
        }
    };
    project.store.delete_prefix(&prefix)
}

/// Counts one object for the progress report when dropped (whatever the outcome).
struct Counted;
impl Drop for Counted {
    fn drop(&mut self) {
        crate::runtime::progress::add("objects", 1);
    }
}

/// Run `f` over `items` on up to `PARALLEL` threads, in order of results.
fn par<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let n = PARALLEL.min(items.len());
    let chunk = items.len().div_ceil(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>())).collect();
        // the calling thread reports progress while the workers run
        crate::runtime::wait_polling(|| handles.iter().all(|h| h.is_finished()));
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Copy every object of `from`'s namespace to the same relative key in
/// `to`'s. Returns (relative key, bytes) per object. The first failure
/// aborts; objects already copied stay copied.
pub fn copy(from: &Project, to: &Project) -> Result<Vec<(String, u64)>> {
    let objs = list(from)?;
    let base = ns(from);
    let rels: Vec<String> = objs.iter().map(|o| o.key.strip_prefix(&base).unwrap_or(&o.key).to_string()).collect();
    let _progress = crate::runtime::progress::start(format!("Copying {} objects", rels.len()), "objects", rels.len() as u64);
    let results = par(&rels, |rel| -> Result<(String, u64)> {
        let bytes = from.store.get(&from.key(rel))?;
        to.store.put(&to.key(rel), &bytes)?;
        crate::runtime::progress::add("objects", 1);
        Ok((rel.clone(), bytes.len() as u64))
    });
    let mut out = Vec::with_capacity(results.len());
    for (rel, r) in rels.iter().zip(results) {
        match r {
            Ok(x) => out.push(x),
            Err(e) => {
                return Err(Error::new(
                    e.kind,
                    format!("Failed to copy object {rel} from {} to {}: {}", from.display, to.display, e.message),
                ))
            }
        }
    }
    Ok(out)
}

/// Verify `keys` (relative; all of the source's when `None`) in `to`
/// against `from`: sizes (structural) or SHA-256 (content). Returns
/// (key, issue) per key, `None` when ok. An unreadable source is an error.
pub fn verify(from: &Project, to: &Project, keys: Option<Vec<String>>, content: bool) -> Result<Vec<(String, Option<String>)>> {
    let keys = match keys {
        Some(k) => k,
        None => {
            let base = ns(from);
            list(from)?.into_iter().map(|o| o.key.strip_prefix(&base).unwrap_or(&o.key).to_string()).collect()
        }
    };
    let _progress = crate::runtime::progress::start(format!("Verifying {} objects", keys.len()), "objects", keys.len() as u64);
    let results = par(&keys, |rel| -> Result<Option<String>> {
        crate::store::check_key(rel)?;
        let _count = Counted;
        let src_err = |e: Error| {
            Error::new(e.kind, format!("Cannot read source object for verification: {}: {}", from.key(rel), e.message))
        };
        if content {
            let a = from.store.get(&from.key(rel)).map_err(src_err)?;
            match to.store.get(&to.key(rel)) {
                Ok(b) => {
                    let (ha, hb) = (sha256_hex(&a), sha256_hex(&b));
                    Ok((ha != hb).then(|| format!("content hash mismatch: source={ha} destination={hb}")))
                }
                Err(e) if e.kind == Kind::NotFound => Ok(Some("destination object not found".to_string())),
                Err(e) => Err(e),
            }
        } else {
            let a = from.store.head(&from.key(rel)).map_err(src_err)?;
            match to.store.head(&to.key(rel)) {
                Ok(b) if b.size == a.size => Ok(None),
                Ok(b) => Ok(Some(format!("size mismatch: source={}B destination={}B", a.size, b.size))),
                Err(e) if e.kind == Kind::NotFound => Ok(Some("destination object not found".to_string())),
                Err(e) => Err(e),
            }
        }
    });
    keys.into_iter().zip(results).map(|(k, r)| r.map(|issue| (k, issue))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;

    fn project(dir: &std::path::Path, name: &str, prefix: Option<&str>) -> Project {
        Project::new(name, Box::new(LocalStore::new(dir)), prefix, true, dir.display().to_string())
    }

    #[test]
    fn list_copy_verify_delete() {
        let d = std::env::temp_dir().join(format!("datom-storage-ops-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let a = project(&d.join("a"), "P", Some("x/"));
        let b = project(&d.join("b"), "P", None);
        let other = project(&d.join("a"), "P2", Some("x/"));
        for (k, v) in [("t/1.parquet", &b"one"[..]), ("t/.metadata/metadata.json", b"{}"), (".metadata/manifest.json", b"{}\n")] {
            a.store.put(&a.key(k), v).unwrap();
        }
        other.store.put(&other.key("t/9.parquet"), b"nine").unwrap();
        let l = list(&a).unwrap();
        assert_eq!(l.len(), 3);
        assert!(l.iter().all(|o| o.key.starts_with("x/datom/P/")));
        let copied = copy(&a, &b).unwrap();
        assert_eq!(copied.len(), 3);
        assert!(verify(&a, &b, None, false).unwrap().iter().all(|(_, i)| i.is_none()));
        assert!(verify(&a, &b, None, true).unwrap().iter().all(|(_, i)| i.is_none()));
        b.store.put(&b.key("t/1.parquet"), b"onE").unwrap();
        let v = verify(&a, &b, None, true).unwrap();
        assert!(v.iter().any(|(k, i)| k == "t/1.parquet" && i.as_deref().unwrap().starts_with("content hash mismatch")));
        b.store.put(&b.key("t/1.parquet"), b"longer").unwrap();
        let v = verify(&a, &b, Some(vec!["t/1.parquet".into()]), false).unwrap();
        assert_eq!(v[0].1.as_deref(), Some("size mismatch: source=3B destination=6B"));
        b.store.delete(&b.key("t/1.parquet")).unwrap();
        let v = verify(&a, &b, Some(vec!["t/1.parquet".into()]), false).unwrap();
        assert_eq!(v[0].1.as_deref(), Some("destination object not found"));
        assert!(verify(&a, &b, Some(vec!["nope".into()]), false).is_err());
        assert_eq!(delete_prefix(&a, Some("t")).unwrap(), 2);
        assert_eq!(delete_prefix(&a, None).unwrap(), 1);
        assert_eq!(list(&other).unwrap().len(), 1, "a sibling project is untouched");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

//! Storage: one trait, one conformance suite. The local folder backend lives
//! in `local`; the S3 backend implements the same trait.
//!
//! Keys are `/`-separated relative paths inside the store's root (the layout
//! module builds them). Implementations must make `put` atomic: a reader sees
//! either the old object or the new one, never a partial write.

pub mod local;
pub mod s3;

use crate::error::Result;

/// Metadata of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// The storage contract shared by every backend.
pub trait Store: Send + Sync {
    /// Bytes of `key`; `Kind::NotFound` when absent.
    fn get(&self, key: &str) -> Result<Vec<u8>>;
    /// Write `bytes` at `key`, atomically, replacing any previous object.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;
    /// Does `key` exist?
    fn exists(&self, key: &str) -> Result<bool>;
    /// Size and key of an object; `Kind::NotFound` when absent.
    fn head(&self, key: &str) -> Result<ObjectMeta>;
    /// Every object whose key starts with `prefix` (a folder-like prefix
    /// should end in `/`), sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>>;
    /// Delete every object under `prefix`; returns how many were deleted.
    fn delete_prefix(&self, prefix: &str) -> Result<u64>;
    /// Delete one object (absent is not an error); returns whether it existed.
    fn delete(&self, key: &str) -> Result<bool>;
}

/// Reject keys that could escape the store root.
pub fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key.contains('\0')
        || key.split('/').any(|s| s == ".." || s == "." || s.is_empty());
    if bad {
        return Err(crate::error::Error::input(format!("invalid storage key {key:?}")));
    }
    Ok(())
}

/// The conformance suite every backend runs (called from each backend's tests).
#[cfg(test)]
pub mod conformance {
    use super::*;
    use crate::error::Kind;

    pub fn run(store: &dyn Store) {
        // round trip and overwrite
        store.put("p/a/x.bin", b"hello").unwrap();
        assert_eq!(store.get("p/a/x.bin").unwrap(), b"hello");
        store.put("p/a/x.bin", b"hello again").unwrap();
        assert_eq!(store.get("p/a/x.bin").unwrap(), b"hello again");
        assert_eq!(store.head("p/a/x.bin").unwrap().size, 11);
        assert!(store.exists("p/a/x.bin").unwrap());
        assert!(!store.exists("p/a/missing").unwrap());
        assert_eq!(store.get("p/a/missing").unwrap_err().kind, Kind::NotFound);
        assert_eq!(store.head("p/a/missing").unwrap_err().kind, Kind::NotFound);
        // empty object
        store.put("p/empty", b"").unwrap();
        assert_eq!(store.get("p/empty").unwrap(), b"");
        // prefix isolation: STUDY_00 never sees STUDY_001
        store.put("datom/STUDY_001/t/1.parquet", b"1").unwrap();
        store.put("datom/STUDY_00/t/1.parquet", b"0").unwrap();
        let l = store.list("datom/STUDY_00/").unwrap();
        assert_eq!(l.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["datom/STUDY_00/t/1.parquet"]);
        // many keys, sorted
        for i in 0..1200 {
            store.put(&format!("many/k{i:05}"), &[1u8]).unwrap();
        }
        let l = store.list("many/").unwrap();
        assert_eq!(l.len(), 1200);
        assert!(l.windows(2).all(|w| w[0].key < w[1].key));
        // delete_prefix scope
        assert_eq!(store.delete_prefix("datom/STUDY_00/").unwrap(), 1);
        assert!(store.exists("datom/STUDY_001/t/1.parquet").unwrap());
        assert_eq!(store.delete_prefix("many/").unwrap(), 1200);
        assert!(store.list("many/").unwrap().is_empty());
        assert!(store.delete("p/empty").unwrap());
        assert!(!store.delete("p/empty").unwrap());
        // keys that escape are refused
        assert_eq!(store.put("../x", b"x").unwrap_err().kind, Kind::Input);
        assert_eq!(store.get("a/../../x").unwrap_err().kind, Kind::Input);
        // large object
        let big: Vec<u8> = (0..(12 * 1024 * 1024)).map(|i| (i % 251) as u8).collect();
        store.put("big/obj", &big).unwrap();
        assert_eq!(store.get("big/obj").unwrap(), big);
    }
}

//! Storage: one trait, one conformance suite. The local folder backend lives
//! in `local`; the S3 backend implements the same trait.
//!
//! Keys are `/`-separated relative paths inside the store's root (the layout
//! module builds them). Implementations must make `put` atomic: a reader sees
//! either the old object or the new one, never a partial write.

pub mod local;

/// The last two segments of a key (`lb/<sha>.parquet`), for progress labels.
pub(crate) fn short_key(key: &str) -> &str {
    let mut it = key.rmatch_indices('/');
    let _ = it.next();
    match it.next() {
        Some((i, _)) => &key[i + 1..],
        None => key,
    }
}
pub mod s3;

use crate::error::Result;

/// Metadata of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// A piece of an object read by [`Store::get_stream`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// First: the object's size in bytes.
    Start(u64),
    /// The object's bytes, in order; together exactly `Start`'s size.
    Data(bytes::Bytes),
    /// Forget everything received: the object was replaced while it was
    /// read, and the read starts over (with a new `Start`).
    Restart,
}

/// The storage contract shared by every backend.
pub trait Store: Send + Sync {
    /// Bytes of `key`; `Kind::NotFound` when absent.
    fn get(&self, key: &str) -> Result<Vec<u8>>;
    /// The bytes of `key` handed to `sink` while they arrive (see [`Piece`]),
    /// so a reader can hash them during the transfer. An error from `sink`
    /// stops the read and is returned. By default (a local file, read as
    /// fast as it could be copied) the object comes in one piece.
    fn get_stream(&self, key: &str, sink: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
        let bytes = self.get(key)?;
        sink(Piece::Start(bytes.len() as u64))?;
        sink(Piece::Data(bytes::Bytes::from(bytes)))
    }
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
    /// Delete one object (absent is not an error) without asking first
    /// whether it exists: one request on S3, where `delete` needs two.
    fn remove(&self, key: &str) -> Result<()> {
        self.delete(key).map(|_| ())
    }
    /// Create `key` only if it does not exist, atomically (a local hard
    /// link; a conditional `If-None-Match: *` PUT on S3). `false` when the
    /// key already existed (nothing written).
    fn create_new(&self, key: &str, bytes: &[u8]) -> Result<bool>;
    /// Start writing an object at `key` that stays invisible until
    /// [`Staged::publish`] (a local temporary file beside the key, renamed
    /// into place); dropped unpublished, nothing remains. `None` when the
    /// backend has no such thing (S3: the bytes are uploaded with `put`).
    /// Lets a large object be written while it is encoded, before the step
    /// that may publish it.
    fn stage(&self, _key: &str) -> Result<Option<Box<dyn Staged>>> {
        Ok(None)
    }
    /// What writes that never finished (the process was killed between
    /// [`Store::stage`] and publish or drop) left under `prefix`: hidden
    /// temporary files beside their keys (local), incomplete multipart
    /// uploads (S3). Invisible to `get`/`list`, but they take space (and, on
    /// S3, are billed). Sorted by key.
    fn leftovers(&self, _prefix: &str) -> Result<Vec<Leftover>> {
        Ok(Vec::new())
    }
    /// Remove one leftover; `false` when it was gone already.
    fn discard(&self, _leftover: &Leftover) -> Result<bool> {
        Ok(false)
    }
}

/// An unfinished write (see [`Store::leftovers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    /// The key the write was for.
    pub key: String,
    /// The backend's handle: the temporary file's key, or the upload id.
    pub id: String,
    /// Seconds since it was started (last written, locally), when known.
    pub age_secs: Option<u64>,
}

/// An object being written (see [`Store::stage`]).
pub trait Staged: std::io::Write + Send {
    /// Make the object visible at its key, durably (replacing any object there).
    fn publish(self: Box<Self>) -> Result<()>;
}

/// An advisory lock held in a store: an object created with
/// [`Store::create_new`] and deleted on release. Works the same on every
/// backend and between machines. A lock older than `stale_after` (its
/// holder died) is broken.
pub struct StoreLock<'a> {
    store: &'a dyn Store,
    key: String,
    token: String,
}

impl StoreLock<'_> {
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for StoreLock<'_> {
    fn drop(&mut self) {
        // release only our own lock (a broken-and-retaken one is not ours)
        if let Ok(b) = self.store.get(&self.key) {
            if lock_token(&b).as_deref() == Some(self.token.as_str()) {
                let _ = self.store.remove(&self.key);
            }
        }
    }
}

fn lock_token(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("token")?.as_str().map(str::to_string)
}

fn lock_age_secs(bytes: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let at = v.get("acquired_at")?.as_u64()?;
    Some(epoch_secs().saturating_sub(at))
}

/// A lock whose holder is gone: older than `stale_after`, or taken by a
/// process of this machine that no longer runs (a killed R session).
fn lock_is_stale(bytes: &[u8], stale_after: std::time::Duration) -> bool {
    if lock_age_secs(bytes).map(|a| a > stale_after.as_secs()).unwrap_or(false) {
        return true;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else { return false };
    let (Some(pid), Some(host)) = (v.get("pid").and_then(|p| p.as_u64()), v.get("host").and_then(|h| h.as_str())) else {
        return false;
    };
    host == hostname() && !pid_alive(pid as u32)
}

/// This machine's name (empty when unknown: no same-host shortcut then).
pub fn hostname() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
    .clone()
}

#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    if pid == 0 || pid > i32::MAX as u32 {
        return true;
    }
    // signal 0 checks existence; ESRCH (3) means no such process
    let r = unsafe { kill(pid as i32, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(3)
}

#[cfg(not(unix))]
fn pid_alive(_pid: u32) -> bool {
    true
}

fn epoch_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// How long a lock is waited for: `DATOM_LOCK_WAIT` seconds (default 120).
pub fn lock_wait() -> std::time::Duration {
    let secs = std::env::var("DATOM_LOCK_WAIT").ok().and_then(|s| s.trim().parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
    std::time::Duration::from_secs_f64(secs.unwrap_or(120.0))
}

/// Take the lock `key` of `store`, waiting up to `wait` (then `Kind::Busy`).
pub fn acquire_lock<'a>(store: &'a dyn Store, key: &str, what: &str, wait: std::time::Duration, stale_after: std::time::Duration) -> Result<StoreLock<'a>> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let token = crate::identity::sha256_hex(
        format!("{}-{}-{:?}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed), std::time::SystemTime::now(), key).as_bytes(),
    );
    let body = serde_json::json!({"token": token, "pid": std::process::id(), "host": hostname(), "acquired_at": epoch_secs()}).to_string();
    let start = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(10);
    loop {
        if store.create_new(key, body.as_bytes())? {
            return Ok(StoreLock { store, key: key.to_string(), token });
        }
        match store.get(key) {
            Ok(b) if lock_is_stale(&b, stale_after) => {
                // the holder died: break its lock (only if it is still that one)
                if let Ok(again) = store.get(key) {
                    if again == b {
                        let _ = store.delete(key);
                    }
                }
                continue;
            }
            Err(e) if e.kind == crate::error::Kind::NotFound => continue,
            _ => {}
        }
        if start.elapsed() >= wait {
            return Err(crate::error::Error::new(
                crate::error::Kind::Busy,
                format!("{what} is locked by another datom process (lock {key})"),
            )
            .with_hint("Another write or repair is publishing to this store; retry when it has finished (DATOM_LOCK_WAIT sets how long to wait)."));
        }
        crate::runtime::wait_interruptible_for(delay)?;
        delay = (delay * 2).min(std::time::Duration::from_millis(250));
    }
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

    /// A streamed read checked against the [`Piece`] contract: (size, bytes).
    pub fn streamed(store: &dyn Store, key: &str) -> (u64, Vec<u8>) {
        let (mut size, mut data): (Option<u64>, Vec<u8>) = (None, Vec::new());
        store
            .get_stream(key, &mut |p| {
                match p {
                    Piece::Start(n) => {
                        assert!(size.is_none(), "one Start per attempt");
                        size = Some(n);
                    }
                    Piece::Data(b) => {
                        assert!(size.is_some(), "Data after Start");
                        data.extend_from_slice(&b);
                    }
                    Piece::Restart => {
                        size = None;
                        data.clear();
                    }
                }
                Ok(())
            })
            .unwrap();
        let size = size.expect("a Start");
        assert_eq!(size, data.len() as u64, "Data adds up to Start's size");
        (size, data)
    }

    pub fn run(store: &dyn Store) {
        // create_new: only when absent
        assert!(store.create_new("p/lock/l.json", b"one").unwrap());
        assert!(!store.create_new("p/lock/l.json", b"two").unwrap());
        assert_eq!(store.get("p/lock/l.json").unwrap(), b"one");
        assert!(store.delete("p/lock/l.json").unwrap());
        {
            let l = acquire_lock(store, "p/lock/pub.lock", "the store", std::time::Duration::from_millis(0), std::time::Duration::from_secs(600)).unwrap();
            let e = acquire_lock(store, "p/lock/pub.lock", "the store", std::time::Duration::from_millis(50), std::time::Duration::from_secs(600)).err().unwrap();
            assert_eq!(e.kind, Kind::Busy);
            assert_eq!(l.key(), "p/lock/pub.lock");
        }
        assert!(!store.exists("p/lock/pub.lock").unwrap());
        // a stale lock (its holder died) is broken
        store.put("p/lock/pub.lock", br#"{"token":"dead","acquired_at":1}"#).unwrap();
        drop(acquire_lock(store, "p/lock/pub.lock", "the store", std::time::Duration::from_millis(0), std::time::Duration::from_secs(600)).unwrap());
        assert!(!store.exists("p/lock/pub.lock").unwrap());
        // a fresh lock of a process of this machine that is gone is broken too
        let dead = std::process::Command::new("true").spawn().and_then(|mut c| { let id = c.id(); c.wait().map(|_| id) }).unwrap();
        let body = serde_json::json!({"token": "gone", "pid": dead, "host": hostname(), "acquired_at": epoch_secs()}).to_string();
        store.put("p/lock/pub.lock", body.as_bytes()).unwrap();
        drop(acquire_lock(store, "p/lock/pub.lock", "the store", std::time::Duration::from_millis(0), std::time::Duration::from_secs(600)).unwrap());
        assert!(!store.exists("p/lock/pub.lock").unwrap());

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
        // streamed reads: the same bytes, in order
        let big: Vec<u8> = (0..(3 * (1 << 20) + 12345)).map(|i| (i * 7 % 251) as u8).collect();
        store.put("p/s/big.bin", &big).unwrap();
        for (key, want) in [("p/s/big.bin", &big[..]), ("p/a/x.bin", &b"hello again"[..]), ("p/empty", &b""[..])] {
            let got = streamed(store, key);
            assert_eq!(got.0, want.len() as u64, "{key}: size");
            assert!(got.1 == want, "{key}: bytes differ");
        }
        assert_eq!(store.get_stream("p/a/missing", &mut |_| Ok(())).unwrap_err().kind, Kind::NotFound);
        // a sink's error stops the read
        let e = store.get_stream("p/s/big.bin", &mut |_| Err(crate::error::Error::input("enough"))).unwrap_err();
        assert_eq!(e.message, "enough");
        store.delete("p/s/big.bin").unwrap();
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
        store.put("p/gone", b"x").unwrap();
        store.remove("p/gone").unwrap();
        assert!(!store.exists("p/gone").unwrap());
        store.remove("p/gone").unwrap();
        // keys that escape are refused
        assert_eq!(store.put("../x", b"x").unwrap_err().kind, Kind::Input);
        assert_eq!(store.get("a/../../x").unwrap_err().kind, Kind::Input);
        // large object
        let big: Vec<u8> = (0..(12 * 1024 * 1024)).map(|i| (i % 251) as u8).collect();
        store.put("big/obj", &big).unwrap();
        assert_eq!(store.get("big/obj").unwrap(), big);

        // nothing unfinished under a prefix no write was killed in
        assert!(store.leftovers("p/").unwrap().is_empty());
        // a staged object is invisible until published; dropped, nothing remains
        if let Some(mut st) = store.stage("p/staged/a.bin").unwrap() {
            use std::io::Write;
            st.write_all(&big[..5_000_000]).unwrap();
            st.write_all(b"tail").unwrap();
            assert!(!store.exists("p/staged/a.bin").unwrap());
            assert!(store.list("p/staged/").unwrap().is_empty());
            st.publish().unwrap();
            let got = store.get("p/staged/a.bin").unwrap();
            assert_eq!(got.len(), 5_000_004);
            assert_eq!(&got[..5_000_000], &big[..5_000_000]);
            let mut st = store.stage("p/staged/b.bin").unwrap().expect("stages again");
            st.write_all(b"never published").unwrap();
            drop(st);
            assert!(!store.exists("p/staged/b.bin").unwrap());
            assert_eq!(store.list("p/staged/").unwrap().iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["p/staged/a.bin"]);
            assert!(store.leftovers("p/").unwrap().is_empty());
            // a write killed mid-way (neither published nor dropped) leaves a
            // leftover: invisible, listed by `leftovers`, removed by `discard`
            let mut st = store.stage("p/staged/killed/c.bin").unwrap().expect("stages");
            st.write_all(&big).unwrap();
            st.flush().unwrap();
            std::mem::forget(st);
            assert!(!store.exists("p/staged/killed/c.bin").unwrap());
            assert_eq!(store.list("p/staged/").unwrap().len(), 1);
            let left = store.leftovers("p/").unwrap();
            assert_eq!(left.len(), 1, "{left:?}");
            assert_eq!(left[0].key, "p/staged/killed/c.bin");
            assert!(left[0].age_secs.is_some());
            assert!(store.leftovers("q/").unwrap().is_empty());
            assert!(store.discard(&left[0]).unwrap());
            assert!(store.leftovers("p/").unwrap().is_empty());
            // discarding again is no error
            assert!(!store.discard(&left[0]).unwrap());
            assert!(!store.exists("p/staged/killed/c.bin").unwrap());
            assert_eq!(store.list("p/staged/").unwrap().iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["p/staged/a.bin"]);
            // delete_prefix takes a leftover under the prefix with the objects
            store.put("p/doomed/e.bin", b"e").unwrap();
            let mut st = store.stage("p/doomed/killed/d.bin").unwrap().expect("stages");
            st.write_all(&big).unwrap();
            std::mem::forget(st);
            assert_eq!(store.leftovers("p/doomed/").unwrap().len(), 1);
            assert_eq!(store.delete_prefix("p/doomed/").unwrap(), 1);
            assert!(store.leftovers("p/").unwrap().is_empty());
        }
    }
}

//! These tests run against a real moto S3 server on loopback that each
//! test starts itself (`DATOM_MOTO_SERVER`, else the build virtualenv).
//! They never skip: a missing moto_server fails them.
use super::*;
use aws_sdk_s3::error::DisplayErrorContext;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const ACCESS: &str = "AKIADATOMTEST0001";
const SECRET: &str = "datom-test-secret-Zq9xW2e4r6t8y0u";
const TOKEN: &str = "datom-test-session-token-Kj3h5g7f9d";

fn moto_path() -> PathBuf {
    if let Some(p) = std::env::var_os("DATOM_MOTO_SERVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "DATOM_MOTO_SERVER points at {}, which does not exist; install moto[server] there",
            p.display()
        );
        return p;
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.build/venv/bin/moto_server");
    assert!(
        p.is_file(),
        "moto_server not found: set DATOM_MOTO_SERVER or create the build virtualenv with \
         moto[server] (looked for {}); the S3 tests need a real server and never skip",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

/// A moto server on loopback, killed when dropped.
struct Moto {
    child: Option<Child>,
    endpoint: String,
    log: PathBuf,
}

impl Moto {
    fn start() -> Moto {
        Moto::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Moto {
        let exe = moto_path();
        let mut last_log = String::new();
        for attempt in 0..5 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("datom-moto-{}-{port}-{attempt}.log", std::process::id()));
            let mut cmd = Command::new(&exe);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env_remove("LD_LIBRARY_PATH")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
            // moto says "Running on <url>" once it listens: its log is copied to
            // a file by a thread that reports that line, or the end of the log
            // (moto exited: the port was taken, say)
            let stderr = child.stderr.take().expect("moto's stderr");
            let (ready_tx, ready_rx) = std::sync::mpsc::channel::<bool>();
            let log_path = log.clone();
            std::thread::spawn(move || {
                use std::io::{BufRead, Write};
                let mut file = std::fs::File::create(&log_path).ok();
                // to the end: moto must never block on a full pipe
                for line in std::io::BufReader::new(stderr).split(b'\n') {
                    let Ok(line) = line else { break };
                    if let Some(f) = file.as_mut() {
                        let _ = f.write_all(&line).and_then(|_| f.write_all(b"\n"));
                    }
                    if line.windows(10).any(|w| w == b"Running on") {
                        let _ = ready_tx.send(true);
                    }
                }
                let _ = ready_tx.send(false);
            });
            let mut moto = Moto { child: Some(child), endpoint: format!("http://127.0.0.1:{port}"), log };
            // 30 s: a guard against a hang, never a pass
            if ready_rx.recv_timeout(Duration::from_secs(30)) == Ok(true) {
                return moto;
            }
            moto.stop();
            last_log = std::fs::read_to_string(&moto.log).unwrap_or_default();
        }
        panic!("moto_server ({}) did not start; its last log:\n{last_log}", exe.display());
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn config(&self, bucket: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_string(),
            region: "us-east-1".to_string(),
            endpoint: Some(self.endpoint.clone()),
            access_key: Some(ACCESS.to_string()),
            secret_key: Some(SECRET.to_string()),
            session_token: None,
            path_style: true,
        }
    }

    /// A store on a fresh bucket created through the SDK.
    fn store(&self, bucket: &str) -> S3Store {
        self.store_tuned(bucket, Tuning::default(), None)
    }

    fn store_tuned(&self, bucket: &str, tuning: Tuning, checksums: Option<bool>) -> S3Store {
        let s = S3Store::build(self.config(bucket), tuning, checksums).expect("store");
        create_bucket(&s);
        s
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn create_bucket(s: &S3Store) {
    block_on(s.inner.client.create_bucket().bucket(s.bucket()).send())
        .unwrap()
        .unwrap_or_else(|e| panic!("CreateBucket {}: {}", s.bucket(), DisplayErrorContext(&e)));
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i % 251) as u8).wrapping_add(seed).wrapping_mul(7)).collect()
}

#[test]
fn conformance_s3() {
    let moto = Moto::start();
    let s = moto.store("datom-conformance");
    crate::store::conformance::run(&s);
}

#[test]
fn large_object_uses_multipart_and_parallel_ranges() {
    let moto = Moto::start();
    let s = moto.store("datom-large");
    let big = pattern(40 * 1024 * 1024, 3);
    let n0 = s.request_count();
    s.put("big/forty.parquet", &big).unwrap();
    // CreateMultipartUpload + 5 parts of 8 MiB + CompleteMultipartUpload
    assert_eq!(s.request_count() - n0, 7);
    assert_eq!(s.head("big/forty.parquet").unwrap().size, big.len() as u64);
    // one stream fast enough: one request
    let one = moto.store_tuned("datom-large", Tuning { split_over: Duration::MAX, ..Tuning::default() }, None);
    let n1 = one.request_count();
    assert!(one.get("big/forty.parquet").unwrap() == big, "40 MiB round trip differs");
    assert_eq!(one.request_count() - n1, 1);
    // one stream too slow: what it has not reached is split into ranges
    // (here at once), each at least `range_chunk`, at most `concurrency` + 1 streams
    let split = Tuning { split_probe: Duration::ZERO, split_over: Duration::ZERO, ..Tuning::default() };
    let par = moto.store_tuned("datom-large", split.clone(), None);
    let n2 = par.request_count();
    assert!(par.get("big/forty.parquet").unwrap() == big, "40 MiB split read differs");
    let n = par.request_count() - n2;
    assert!((2..=1 + CONCURRENCY as u64).contains(&n), "{n} requests");
    // the same streamed: in order, adding up to the size
    let (size, back) = crate::store::conformance::streamed(&par, "big/forty.parquet");
    assert_eq!(size, big.len() as u64);
    assert!(back == big);
    // overwrite with a different multipart object: readers see the new one
    let big2 = pattern(24 * 1024 * 1024 + 17, 9);
    s.put("big/forty.parquet", &big2).unwrap();
    assert!(s.get("big/forty.parquet").unwrap() == big2);
    assert!(par.get("big/forty.parquet").unwrap() == big2);
    // no multipart upload is left behind
    let ups = block_on(s.inner.client.list_multipart_uploads().bucket(s.bucket()).send()).unwrap().unwrap();
    assert!(ups.uploads().is_empty());
}

#[test]
fn multipart_with_crc32_part_checksums() {
    // The AWS configuration (explicit CRC32 part checksums) against moto.
    let moto = Moto::start();
    let s = moto.store_tuned("datom-crc", Tuning::default(), Some(true));
    let big = pattern(20 * 1024 * 1024 + 5, 1);
    s.put("c/obj.bin", &big).unwrap();
    assert!(s.get("c/obj.bin").unwrap() == big);
}

#[test]
fn small_objects_take_one_request() {
    let moto = Moto::start();
    let s = moto.store("datom-small");
    let n0 = s.request_count();
    s.put("a/.metadata/metadata.json", b"{\"a\": 1}").unwrap();
    assert_eq!(s.request_count() - n0, 1);
    let n1 = s.request_count();
    assert_eq!(s.get("a/.metadata/metadata.json").unwrap(), b"{\"a\": 1}");
    assert_eq!(s.request_count() - n1, 1);
    // a larger object read in one stream is still one request
    let chunk = pattern(2 * RANGE_CHUNK as usize, 2);
    s.put("a/chunk.bin", &chunk).unwrap();
    let one = moto.store_tuned("datom-small", Tuning { split_over: Duration::MAX, ..Tuning::default() }, None);
    let n2 = one.request_count();
    assert!(one.get("a/chunk.bin").unwrap() == chunk);
    assert_eq!(one.request_count() - n2, 1);
    // content types: JSON marked as such, the rest raw bytes
    let h = block_on(s.inner.client.head_object().bucket(s.bucket()).key("a/.metadata/metadata.json").send())
        .unwrap()
        .unwrap();
    assert_eq!(h.content_type(), Some("application/json"));
    let h = block_on(s.inner.client.head_object().bucket(s.bucket()).key("a/chunk.bin").send()).unwrap().unwrap();
    assert_eq!(h.content_type(), Some("application/octet-stream"));
    // empty objects (a byte range on them is unsatisfiable)
    s.put("a/empty.json", b"").unwrap();
    assert_eq!(s.get("a/empty.json").unwrap(), b"");
    assert_eq!(s.head("a/empty.json").unwrap().size, 0);
}

#[test]
fn list_paginates_beyond_1000_keys_and_delete_batches() {
    let moto = Moto::start();
    let s = moto.store("datom-pages");
    let n = 2345usize;
    // write concurrently from a few threads to keep the test quick
    std::thread::scope(|sc| {
        for t in 0..4 {
            let s = &s;
            sc.spawn(move || {
                for i in (t..n).step_by(4) {
                    s.put(&format!("pages/t/{i:06}.json"), b"{}").unwrap();
                }
            });
        }
    });
    s.put("pagesx/other.json", b"{}").unwrap();
    let n0 = s.request_count();
    let l = s.list("pages/").unwrap();
    assert_eq!(s.request_count() - n0, 3, "2345 keys need 3 pages of 1000");
    assert_eq!(l.len(), n);
    assert!(l.windows(2).all(|w| w[0].key < w[1].key));
    assert_eq!(l[0].key, "pages/t/000000.json");
    assert_eq!(l[0].size, 2);
    let n1 = s.request_count();
    assert_eq!(s.delete_prefix("pages/").unwrap(), n as u64);
    // 1 ListMultipartUploads (none unfinished) + 3 list pages + 3 DeleteObjects batches
    assert_eq!(s.request_count() - n1, 7);
    assert!(s.list("pages/").unwrap().is_empty());
    assert!(s.exists("pagesx/other.json").unwrap());
    assert_eq!(s.delete_prefix("pages/").unwrap(), 0);
}

#[test]
fn prefix_isolation() {
    let moto = Moto::start();
    let s = moto.store("datom-prefix");
    for k in [
        "datom/STUDY_00/dm/a.parquet",
        "datom/STUDY_00/.metadata/manifest.json",
        "datom/STUDY_001/dm/a.parquet",
        "datom/STUDY_001/.metadata/manifest.json",
        "datom/STUDY_00x",
    ] {
        s.put(k, k.as_bytes()).unwrap();
    }
    let keys = |p: &str| s.list(p).unwrap().into_iter().map(|o| o.key).collect::<Vec<_>>();
    assert_eq!(
        keys("datom/STUDY_00/"),
        vec!["datom/STUDY_00/.metadata/manifest.json", "datom/STUDY_00/dm/a.parquet"]
    );
    assert_eq!(keys("datom/STUDY_001/").len(), 2);
    assert_eq!(keys("datom/").len(), 5);
    assert_eq!(keys("").len(), 5);
    assert_eq!(s.delete_prefix("datom/STUDY_00/").unwrap(), 2);
    assert_eq!(keys("datom/STUDY_001/").len(), 2);
    assert!(s.exists("datom/STUDY_00x").unwrap());
    // prefixes that escape are refused, as keys are
    assert_eq!(s.list("a/../b/").unwrap_err().kind, Kind::Input);
    assert_eq!(s.delete_prefix("/abs/").unwrap_err().kind, Kind::Input);
}

#[test]
fn copy_small_and_multipart() {
    let moto = Moto::start();
    let tuning =
        Tuning { copy_single_limit: 6 * 1024 * 1024, copy_part_size: 5 * 1024 * 1024, ..Tuning::default() };
    let s = moto.store_tuned("datom-copy", tuning, None);
    s.put("src/t/.metadata/metadata.json", b"{\"v\": 1}").unwrap();
    s.copy("src/t/.metadata/metadata.json", "dst/t/.metadata/metadata.json").unwrap();
    assert_eq!(s.get("dst/t/.metadata/metadata.json").unwrap(), b"{\"v\": 1}");
    let h = block_on(s.inner.client.head_object().bucket(s.bucket()).key("dst/t/.metadata/metadata.json").send())
        .unwrap()
        .unwrap();
    assert_eq!(h.content_type(), Some("application/json"));
    // keys that need encoding in x-amz-copy-source
    s.put("src/odd name+%&=.parquet", b"odd").unwrap();
    s.copy("src/odd name+%&=.parquet", "dst/odd name+%&=.parquet").unwrap();
    assert_eq!(s.get("dst/odd name+%&=.parquet").unwrap(), b"odd");
    // above the (lowered) single-copy limit: UploadPartCopy in 3 parts
    let big = pattern(12 * 1024 * 1024 + 1, 4);
    s.put("src/big.parquet", &big).unwrap();
    let n0 = s.request_count();
    s.copy("src/big.parquet", "dst/big.parquet").unwrap();
    // HeadObject + Create + 3 UploadPartCopy + Complete
    assert_eq!(s.request_count() - n0, 6);
    assert!(s.get("dst/big.parquet").unwrap() == big);
    // copy onto itself is a no-op; a missing source is NotFound
    s.copy("src/big.parquet", "src/big.parquet").unwrap();
    let e = s.copy("src/missing", "dst/missing").unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert!(e.message.contains("s3://datom-copy/src/missing"), "{e}");
    assert_eq!(s.copy("../x", "y").unwrap_err().kind, Kind::Input);
}

#[test]
fn head_bucket_ok_and_missing_bucket() {
    let moto = Moto::start();
    let s = moto.store("datom-hb");
    s.head_bucket().unwrap();
    let missing = S3Store::new(moto.config("datom-no-such-bucket")).unwrap();
    let e = missing.head_bucket().unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert_eq!(e.fields.bucket.as_deref(), Some("datom-no-such-bucket"));
    assert_eq!(e.message, "Bucket datom-no-such-bucket does not exist");
    assert_eq!(e.hint.as_deref(), Some(HINT_NO_BUCKET));
    // object calls on a missing bucket are storage errors naming it,
    // never "absent key"
    let e = missing.get("a/b.json").unwrap_err();
    assert_eq!(e.kind, Kind::Storage, "{e}");
    assert!(e.message.contains("datom-no-such-bucket"), "{e}");
    let e = missing.list("a/").unwrap_err();
    assert_eq!(e.kind, Kind::Storage, "{e}");
    assert!(e.message.contains("Bucket datom-no-such-bucket does not exist"), "{e}");
}

#[test]
fn wrong_credentials_are_refused() {
    // moto accepts any keys unless INITIAL_NO_AUTH_ACTION_COUNT is set;
    // then, after that many unauthenticated calls, it checks access keys
    // against its (empty) IAM, so every key is unknown: 403.
    let moto = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "1")]);
    let mut cfg = moto.config("datom-auth");
    cfg.session_token = Some(TOKEN.to_string());
    let s = S3Store::new(cfg).unwrap();
    create_bucket(&s); // the one unauthenticated call
    let e = s.head_bucket().unwrap_err();
    // an access failure is Permission, as on GitHub; the facts are fields
    assert_eq!(e.kind, Kind::Permission);
    assert_eq!(e.message, "AWS credentials are invalid or lack access to bucket datom-auth");
    assert_eq!(e.hint.as_deref(), Some(HINT_CREDENTIALS));
    assert_eq!((e.fields.status, e.fields.bucket.as_deref()), (Some(403), Some("datom-auth")));
    for e in [s.put("k/x.json", b"{}").unwrap_err(), s.get("k/x.json").unwrap_err(), s.list("k/").unwrap_err()] {
        assert_eq!(e.kind, Kind::Permission, "{e}");
        assert_eq!((e.fields.status, e.fields.bucket.as_deref()), (Some(403), Some("datom-auth")), "{e:?}");
        assert!(e.message.contains("s3://datom-auth/k/"), "{e}");
        assert!(e.hint.as_deref().unwrap_or("").contains("access key"), "{e}");
        let all = format!("{e} {e:?}");
        assert!(!all.contains(SECRET) && !all.contains(TOKEN), "secret leaked: {all}");
    }
}

#[test]
fn errors_name_bucket_and_key() {
    let moto = Moto::start();
    let s = moto.store("datom-errs");
    let e = s.get("t/.metadata/missing.json").unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert!(e.message.contains("s3://datom-errs/t/.metadata/missing.json"), "{e}");
    let e = s.head("t/none.parquet").unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert!(e.message.contains("s3://datom-errs/t/none.parquet"), "{e}");
    assert!(!s.delete("t/none.parquet").unwrap());
}

#[test]
fn server_gone_is_a_storage_error() {
    let mut moto = Moto::start();
    let s = moto.store("datom-gone");
    s.put("a/x.json", b"{}").unwrap();
    moto.stop();
    let n0 = s.request_count();
    let e = s.put("a/y.json", b"{}").unwrap_err();
    assert_eq!(e.kind, Kind::Storage, "{e}");
    assert!(e.message.contains("s3://datom-gone/a/y.json"), "{e}");
    assert_eq!(e.hint.as_deref(), Some(HINT_TRANSIENT));
    assert_eq!(s.request_count() - n0, MAX_ATTEMPTS as u64, "connection refused is retried");
    assert!(!format!("{e:?}").contains(SECRET));
    let e = s.exists("a/x.json").unwrap_err();
    assert_eq!(e.kind, Kind::Storage, "{e}");
}

/// A tiny HTTP server that answers the first `fail` requests with 503
/// and the rest with 200 (empty body), one request per connection.
fn flaky_server(fail: usize) -> (String, Arc<AtomicU64>) {
    let seen = Arc::new(AtomicU64::new(0));
    let seen2 = Arc::clone(&seen);
    let (url, _) = crate::testutil::http_server(move |i, _| {
        seen2.fetch_add(1, Ordering::SeqCst);
        let status = if i < fail { "503 Service Unavailable" } else { "200 OK" };
        Some(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes())
    });
    (url, seen)
}

fn flaky_store(endpoint: String) -> S3Store {
    S3Store::new(S3Config {
        endpoint: Some(endpoint),
        access_key: Some(ACCESS.into()),
        secret_key: Some(SECRET.into()),
        path_style: true,
        ..S3Config::new("datom-flaky", "us-east-1")
    })
    .unwrap()
}

#[test]
fn transient_503_burst_is_retried() {
    let (ep, seen) = flaky_server(3);
    let s = flaky_store(ep);
    s.head_bucket().unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    assert_eq!(s.request_count(), 4);
}

#[test]
fn persistent_503_gives_up_after_max_attempts() {
    let (ep, seen) = flaky_server(usize::MAX);
    let s = flaky_store(ep);
    let e = s.head_bucket().unwrap_err();
    assert_eq!(e.kind, Kind::Storage);
    assert!(e.message.starts_with("Failed to verify access to bucket datom-flaky"), "{e}");
    assert_eq!(e.hint.as_deref(), Some(HINT_TRANSIENT));
    assert_eq!(seen.load(Ordering::SeqCst), MAX_ATTEMPTS as u64);
    let e = s.exists("x/y.json").unwrap_err();
    assert!(e.message.contains("s3://datom-flaky/x/y.json") && e.message.contains("503"), "{e}");
}

/// A server that answers request i with `responses[i]` (raw HTTP, one
/// request per connection; the last answer repeats) and records each
/// request head.
fn scripted_server(responses: Vec<Vec<u8>>) -> (String, crate::testutil::Heads) {
    crate::testutil::http_server(move |i, _| Some(responses[i.min(responses.len() - 1)].clone()))
}

fn partial(range: &str, total: usize, etag: &str, body: &[u8], declared: usize) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {range}/{total}\r\nETag: \"{etag}\"\r\n\
         Content-Length: {declared}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn scripted_store(endpoint: String) -> S3Store {
    // one stream, never split: the requests come in a known order
    scripted_store_tuned(endpoint, Tuning { split_over: Duration::MAX, ..Tuning::default() })
}

fn scripted_store_tuned(endpoint: String, tuning: Tuning) -> S3Store {
    S3Store::build(
        S3Config {
            endpoint: Some(endpoint),
            access_key: Some(ACCESS.into()),
            secret_key: Some(SECRET.into()),
            path_style: true,
            ..S3Config::new("datom-scripted", "us-east-1")
        },
        tuning,
        None,
    )
    .unwrap()
}

fn whole(etag: &str, body: &[u8], declared: usize) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 200 OK\r\nETag: \"{etag}\"\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n").into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn broken_body_is_read_again() {
    // The first answer promises 10 bytes and sends 4 before the
    // connection drops: the rest (and only the rest) is asked for again,
    // pinned to the first answer's ETag.
    let (ep, heads) = scripted_server(vec![whole("e1", b"0123", 10), partial("4-9", 10, "e1", b"456789", 6)]);
    let s = scripted_store(ep);
    assert_eq!(s.get("k/obj.bin").unwrap(), b"0123456789");
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 2);
    assert!(!heads[0].contains("range:"));
    assert!(heads[1].contains("range: bytes=4-9") && heads[1].contains("if-match: \"e1\""));
}

#[test]
fn object_replaced_mid_read_is_read_again() {
    // Requests after the first are pinned to its ETag; a 412 means the
    // object was replaced, and the whole read starts over (the reader is
    // told to forget what it had).
    let (ep, heads) = scripted_server(vec![
        whole("old", b"aaaaaaaaaa", 20),
        b"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        whole("new", b"bbbbbbbbbbcccccccccc", 20),
    ]);
    let s = scripted_store(ep);
    let mut pieces = Vec::new();
    s.get_stream("k/obj.bin", &mut |p| {
        pieces.push(p);
        Ok(())
    })
    .unwrap();
    use crate::store::Piece;
    assert_eq!(pieces.first(), Some(&Piece::Start(20)));
    let restart = pieces.iter().position(|p| *p == Piece::Restart).expect("a restart");
    assert_eq!(pieces[restart + 1], Piece::Start(20));
    let after: Vec<u8> = pieces[restart..].iter().filter_map(|p| if let Piece::Data(b) = p { Some(b.to_vec()) } else { None }).flatten().collect();
    assert_eq!(after, b"bbbbbbbbbbcccccccccc");
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 3);
    assert!(heads[1].contains("range: bytes=10-19") && heads[1].contains("if-match: \"old\""));
    assert!(!heads[2].contains("range:") && !heads[2].contains("if-match"));
    drop(heads);
    // and `get` returns the new object only
    let (ep, _) = scripted_server(vec![
        whole("old", b"aaaaaaaaaa", 20),
        b"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        whole("new", b"bbbbbbbbbbcccccccccc", 20),
    ]);
    assert_eq!(scripted_store(ep).get("k/obj.bin").unwrap(), b"bbbbbbbbbbcccccccccc");
}

/// A server of one 200-byte object that is `old` until the first whole GET
/// was answered (with its first 8 bytes only, then the connection drops)
/// and `new` after it when `replaced`; byte ranges are served from the
/// version their `If-Match` names (412 when that is not the current one).
fn object_server(replaced: bool) -> (String, crate::testutil::Heads, Vec<u8>, Vec<u8>) {
    let old: Vec<u8> = (0..200u8).collect();
    let new: Vec<u8> = (0..200u8).map(|b| b.wrapping_mul(7)).collect();
    let wholes = std::sync::atomic::AtomicUsize::new(0);
    let (o, n) = (old.clone(), new.clone());
    let (ep, heads) = crate::testutil::http_server(move |_, head| {
        let current = |after_first: bool| if replaced && after_first { ("new", &n) } else { ("old", &o) };
        let range = head.split("range: bytes=").nth(1).and_then(|r| {
            let r = r.lines().next()?;
            let (a, b) = r.split_once('-')?;
            Some((a.trim().parse::<usize>().ok()?, b.trim().parse::<usize>().ok()?))
        });
        match range {
            None => {
                let k = wholes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (tag, body) = current(k > 0);
                // the first answer breaks after 8 bytes; later ones are whole
                Some(whole(tag, &body[..if k == 0 { 8 } else { body.len() }], body.len()))
            }
            Some((a, b)) => {
                let (tag, body) = current(wholes.load(std::sync::atomic::Ordering::SeqCst) > 0);
                if !head.contains(&format!("if-match: \"{tag}\"")) {
                    return Some(b"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec());
                }
                Some(partial(&format!("{a}-{b}"), body.len(), tag, &body[a..=b], b - a + 1))
            }
        }
    });
    (ep, heads, old, new)
}

#[test]
fn a_slow_stream_split_into_ranges_is_stitched_in_order() {
    // Split at once, into ranges of at least 4 bytes: whatever the first
    // stream had reached by then, the ranges cover the rest, each pinned to
    // the object's ETag, and the bytes come out whole and in order.
    let split = Tuning { range_chunk: 4, split_probe: Duration::ZERO, split_over: Duration::ZERO, ..Tuning::default() };
    let (ep, heads, old, _) = object_server(false);
    let s = scripted_store_tuned(ep, split.clone());
    assert_eq!(s.get("k/obj.bin").unwrap(), old);
    // (a connection a cancelled task opened may arrive without a request)
    let heads: Vec<String> = heads.lock().unwrap().iter().filter(|h| h.starts_with("get ")).cloned().collect();
    assert!(heads.len() >= 3, "the first stream, and ranges beside it: {}", heads.len());
    assert!(!heads[0].contains("range:"));
    assert!(heads[1..].iter().all(|h| h.contains("range: bytes=") && h.contains("if-match: \"old\"")));

    // The object is replaced after the first answer: a range pinned to the
    // old ETag is refused, and the read starts over on the new object.
    let (ep, heads, _, new) = object_server(true);
    let s = scripted_store_tuned(ep, split);
    let mut pieces = Vec::new();
    s.get_stream("k/obj.bin", &mut |p| {
        pieces.push(p);
        Ok(())
    })
    .unwrap();
    use crate::store::Piece;
    let restart = pieces.iter().position(|p| *p == Piece::Restart).expect("a restart");
    let after: Vec<u8> = pieces[restart..].iter().filter_map(|p| if let Piece::Data(b) = p { Some(b.to_vec()) } else { None }).flatten().collect();
    assert_eq!(after, new);
    let wholes = heads.lock().unwrap().iter().filter(|h| h.starts_with("get ") && !h.contains("range:")).count();
    assert_eq!(wholes, 2, "one whole GET per attempt");
}

#[test]
fn wrong_region_is_named() {
    let (ep, _) = scripted_server(vec![b"HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n"
        .to_vec()]);
    let s = scripted_store(ep);
    let e = s.head_bucket().unwrap_err();
    assert_eq!(e.kind, Kind::Storage);
    assert_eq!(e.message, "Failed to verify access to bucket datom-scripted: the bucket is in region eu-west-1");
    assert_eq!(e.hint.as_deref(), Some("use region = \"eu-west-1\""));
    let e = s.head("a/b.json").unwrap_err();
    assert!(e.message.contains("s3://datom-scripted/a/b.json") && e.message.contains("eu-west-1"), "{e}");
}

/// Runs in a child process (the environment is process-wide): a store
/// without keys must find credentials through the standard chain.
fn chain_child(mode: &str) {
    let endpoint = std::env::var("DATOM_S3_CHAIN_ENDPOINT").unwrap();
    let s = S3Store::new(S3Config {
        endpoint: Some(endpoint),
        path_style: true,
        ..S3Config::new("datom-chain", "us-east-1")
    })
    .unwrap();
    let key = format!("chain/{mode}.json");
    if mode == "none" {
        let e = s.put(&key, b"{}").unwrap_err();
        eprintln!("no-credentials error: {e:?}");
        assert_eq!(e.kind, Kind::Storage);
        assert!(e.message.contains("s3://datom-chain/chain/none.json"), "{e}");
        assert_eq!(e.hint.as_deref(), Some(HINT_NO_CREDENTIALS), "{e}");
        let e = s.head_bucket().unwrap_err();
        assert!(e.message.starts_with("Failed to verify access to bucket datom-chain"), "{e}");
        assert_eq!(e.hint.as_deref(), Some(HINT_NO_CREDENTIALS), "{e}");
        assert_eq!(s.request_count(), 0, "nothing is sent without credentials");
    } else {
        s.put(&key, b"{}").unwrap();
        assert_eq!(s.get(&key).unwrap(), b"{}");
    }
}

#[test]
fn credential_chain() {
    if let Ok(mode) = std::env::var("DATOM_S3_CHAIN_CHILD") {
        chain_child(&mode);
        return;
    }
    let moto = Moto::start();
    create_bucket(&S3Store::new(moto.config("datom-chain")).unwrap());
    let home = std::env::temp_dir().join(format!("datom-chain-home-{}", std::process::id()));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    let creds = home.join("creds");
    std::fs::write(&creds, "[ci]\naws_access_key_id = AKIAFROMPROFILE\naws_secret_access_key = fromprofile\n")
        .unwrap();
    let creds = creds.to_string_lossy().into_owned();
    let none = home.join("none").to_string_lossy().into_owned();
    let modes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("env", vec![("AWS_ACCESS_KEY_ID", "AKIAFROMENV"), ("AWS_SECRET_ACCESS_KEY", "fromenv")]),
        ("profile", vec![("AWS_SHARED_CREDENTIALS_FILE", &creds), ("AWS_PROFILE", "ci")]),
        ("none", vec![]),
    ];
    for (mode, vars) in modes {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "store::s3::tests::credential_chain", "--nocapture", "--test-threads=1"]);
        for (k, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("AWS_")) {
            cmd.env_remove(k);
        }
        cmd.env("HOME", &home)
            .env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DATOM_S3_CHAIN_CHILD", mode)
            .env("DATOM_S3_CHAIN_ENDPOINT", &moto.endpoint);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "credential chain ({mode}) failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let s = S3Store::new(moto.config("datom-chain")).unwrap();
    assert!(s.exists("chain/env.json").unwrap() && s.exists("chain/profile.json").unwrap());
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn config_debug_hides_secrets() {
    let cfg = S3Config {
        access_key: Some("AKIAIOSFODNN7EXAMPLE".into()),
        secret_key: Some(SECRET.into()),
        session_token: Some(TOKEN.into()),
        endpoint: Some("https://s3.example.org".into()),
        ..S3Config::new("bkt", "eu-west-1")
    };
    let d = format!("{cfg:?} {cfg:#?}");
    assert!(!d.contains(SECRET) && !d.contains(TOKEN), "{d}");
    assert!(!d.contains("AKIAIOSFODNN7EXAMPLE"), "{d}");
    assert!(d.contains("AKIA****") && d.contains("bkt") && d.contains("eu-west-1"), "{d}");
    let s = S3Store::new(cfg).unwrap();
    let d = format!("{s:?}");
    assert!(!d.contains(SECRET) && !d.contains(TOKEN), "{d}");
    let bare = format!("{:?}", S3Config::new("b", "r"));
    assert!(bare.contains("(not set)"), "{bare}");
}

#[test]
fn config_is_validated() {
    let base = || S3Config::new("bkt", "us-east-1");
    let kind = |c: S3Config| S3Store::new(c).unwrap_err().kind;
    assert_eq!(kind(S3Config { bucket: "".into(), ..base() }), Kind::Input);
    assert_eq!(kind(S3Config { bucket: "a/b".into(), ..base() }), Kind::Input);
    assert_eq!(kind(S3Config { region: " ".into(), ..base() }), Kind::Input);
    assert_eq!(kind(S3Config { endpoint: Some("localhost:9000".into()), ..base() }), Kind::Input);
    assert_eq!(kind(S3Config { access_key: Some("AKIA".into()), ..base() }), Kind::Input);
    assert_eq!(kind(S3Config { secret_key: Some("s".into()), ..base() }), Kind::Input);
    assert_eq!(kind(S3Config { session_token: Some("t".into()), ..base() }), Kind::Input);
    // no keys: the standard chain (resolved lazily, no request here)
    S3Store::new(base()).unwrap();
    // empty strings count as absent
    S3Store::new(S3Config { access_key: Some("".into()), secret_key: Some("".into()), ..base() }).unwrap();
}

#[test]
fn helpers() {
    assert_eq!(encode_copy_key("a b/c+d%.json"), "a%20b/c%2Bd%25.json");
    assert_eq!(content_type("x/.metadata/a.json"), "application/json");
    assert_eq!(content_type("x/a.parquet"), "application/octet-stream");
    assert!(check_prefix("").is_ok() && check_prefix("a/b/").is_ok() && check_prefix("a/b").is_ok());
    assert!(check_prefix("a//b/").is_err() && check_prefix("../").is_err());
}

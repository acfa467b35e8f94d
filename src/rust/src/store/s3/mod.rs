//! The S3 backend (AWS S3 and S3-compatible servers: MinIO, Ceph, R2, ...).
//!
//! The bucket is the store root; keys are bucket-relative (the layout module
//! puts the configured prefix in front). Every `Store` method blocks on the
//! shared runtime (`crate::runtime::block_on`).
//!
//! * `put` is atomic by construction: a single PutObject, or above
//!   `MULTIPART_THRESHOLD` a multipart upload whose object only appears at
//!   CompleteMultipartUpload. Parts are uploaded concurrently (at most
//!   `CONCURRENCY` in flight); a failed upload is aborted.
//! * `get` (and `get_stream`, which hands the bytes on as they arrive, so a
//!   reader hashes them during the transfer) sends one GET for the whole
//!   object: one request whatever its size, the size from the answer. When
//!   that one stream would not finish within `SPLIT_OVER` (judged after
//!   `SPLIT_PROBE`), the part it has not reached yet is split off into
//!   ranges of at least `RANGE_CHUNK`, read concurrently: parallel
//!   connections only where one connection is the limit (a distant
//!   endpoint), never on a fast one, where they only add work. Every
//!   request after the first (ranges, and the rest of a body that broke
//!   mid-stream) is pinned to the first answer's ETag (`If-Match`), so an
//!   object replaced mid-read is read again rather than stitched from two
//!   versions.
//! * Keys ending in `.json` are written with `Content-Type: application/json`,
//!   everything else as `application/octet-stream`; bytes are stored as given.
//! * `list` pages through ListObjectsV2; `delete_prefix` lists, then deletes
//!   in DeleteObjects batches of 1000, concurrently.
//! * Transient failures (throttling, 5xx, timeouts, connection resets) are
//!   retried by the SDK's standard retry strategy, `MAX_ATTEMPTS` attempts
//!   with exponential backoff; body reads that fail mid-stream are retried
//!   here. Everything else becomes an `Error` naming the bucket and key, with
//!   a hint of what to check; secrets never appear in messages.

use super::{check_key, short_key, Leftover, ObjectMeta, Piece, Staged, Store};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use crate::error::{Error, Kind, Result};
use crate::runtime::block_on;

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    RuntimeComponents,
};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use bytes::Bytes;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

mod bench;
mod config;
mod errors;

pub use bench::{download_timing, transfer_timing};
pub use config::S3Config;
use errors::*;

/// Objects larger than this are uploaded with a multipart upload.
pub const MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// Part size of multipart uploads (grown when an object would need more
/// than 10,000 parts).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Smallest range a slow download is split into.
pub const RANGE_CHUNK: u64 = 8 * 1024 * 1024;
/// A download runs this long as one stream before its speed is judged.
pub const SPLIT_PROBE: Duration = Duration::from_millis(100);
/// A download that one stream would not finish within this is split into
/// concurrent ranges.
pub const SPLIT_OVER: Duration = Duration::from_millis(250);
/// Requests in flight at once for one transfer or batch.
pub const CONCURRENCY: usize = 4;
/// Keys per DeleteObjects request (the S3 maximum).
pub const DELETE_BATCH: usize = 1000;
/// Attempts per request (first try included) for transient failures.
pub const MAX_ATTEMPTS: u32 = 5;
/// CopyObject handles sources up to 5 GiB; larger ones are copied part by part.
pub const COPY_SINGLE_LIMIT: u64 = 5 * 1024 * 1024 * 1024;
/// Part size of multipart copies.
pub const COPY_PART_SIZE: u64 = 512 * 1024 * 1024;

const MAX_PARTS: usize = 10_000;
const MIN_PART: usize = 5 * 1024 * 1024;
const BODY_READ_ATTEMPTS: u32 = 3;
const GET_RESTARTS: u32 = 3;

/// Sizes and limits of one store (constants in production, small in tests).
#[derive(Clone, Debug)]
struct Tuning {
    multipart_threshold: usize,
    part_size: usize,
    range_chunk: u64,
    split_probe: Duration,
    split_over: Duration,
    concurrency: usize,
    copy_single_limit: u64,
    copy_part_size: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            multipart_threshold: MULTIPART_THRESHOLD,
            part_size: PART_SIZE,
            range_chunk: RANGE_CHUNK,
            split_probe: SPLIT_PROBE,
            split_over: SPLIT_OVER,
            concurrency: CONCURRENCY,
            copy_single_limit: COPY_SINGLE_LIMIT,
            copy_part_size: COPY_PART_SIZE,
        }
    }
}

struct Inner {
    client: Client,
    bucket: String,
    /// Secret strings scrubbed from every error message.
    secrets: Vec<String>,
    /// Send explicit CRC32 checksums with multipart uploads (AWS only: some
    /// S3-compatible servers reject them).
    checksums: bool,
    tuning: Tuning,
    requests: Arc<AtomicU64>,
}

/// A store in an S3 bucket.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store").field("bucket", &self.inner.bucket).finish()
    }
}

fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(Duration::from_secs(10)).operation_attempt_timeout(attempt).build()
}

/// Per-attempt limit of a request that carries `bytes` of payload: one
/// minute plus the time to move them at 32 KiB/s (stalled streams are caught
/// sooner by the SDK's stalled-stream protection).
fn transfer_timeouts(bytes: u64) -> TimeoutConfig {
    timeouts(Duration::from_secs(60 + bytes / (32 * 1024)))
}

fn content_type(key: &str) -> &'static str {
    if key.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

/// Percent-encode a key for `x-amz-copy-source` (slashes kept).
fn encode_copy_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Validate a listing prefix the way the local backend does: its folder
/// part must be a valid key.
fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.contains('\\') || prefix.contains('\0') || prefix.starts_with('/') {
        return Err(Error::input(format!("invalid storage prefix {prefix:?}")));
    }
    if let Some(i) = prefix.rfind('/') {
        if i > 0 {
            check_key(&prefix[..i])?;
        }
    }
    Ok(())
}

/// Run `futs` with at most `limit` in flight; results in completion order.
/// The first error cancels the rest.
async fn run_bounded<T, F>(futs: Vec<F>, limit: usize) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let mut pending = futs.into_iter();
    let mut set = JoinSet::new();
    let mut out = Vec::new();
    loop {
        while set.len() < limit.max(1) {
            match pending.next() {
                Some(f) => {
                    set.spawn(f);
                }
                None => break,
            }
        }
        match set.join_next().await {
            None => return Ok(out),
            Some(Ok(Ok(v))) => out.push(v),
            Some(Ok(Err(e))) => return Err(e),
            Some(Err(e)) => return Err(Error::internal(format!("S3 transfer task failed: {e}"))),
        }
    }
}

/// Why a ranged read could not be completed.
enum GetFail {
    /// The object changed between ranges (If-Match failed): read again.
    Changed,
    /// The range cannot be satisfied (HTTP 416: the object is empty).
    Unsatisfiable,
    Err(Error),
}

/// What a streamed read sends to the reading thread.
enum Msg {
    Piece(super::Piece),
    Fail(Error),
    End,
}

/// The reading side stopped listening (its sink failed or it was interrupted).
fn reader_gone() -> Error {
    Error::internal("the reader of an S3 object stopped")
}

impl From<Error> for GetFail {
    fn from(e: Error) -> Self {
        GetFail::Err(e)
    }
}

impl Inner {
    // ---- head / exists / delete ------------------------------------------

    async fn head(&self, key: &str) -> Result<(u64, Option<String>)> {
        let r = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("HeadObject", key, &e))?;
        let size = r.content_length().unwrap_or(0).max(0) as u64;
        Ok((size, r.content_type().map(str::to_string)))
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => {}
            Err(e) if e.kind == Kind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        self.remove(key).await?;
        Ok(true)
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("DeleteObject", key, &e))?;
        Ok(())
    }

    // ---- put ----------------------------------------------------------------

    async fn put_single(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let n = bytes.len() as u64;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type(key))
            .body(ByteStream::from(bytes))
            .customize()
            .config_override(aws_sdk_s3::config::Builder::new().timeout_config(transfer_timeouts(n)))
            .send()
            .await
            .map_err(|e| self.error("PutObject", key, &e))?;
        Ok(())
    }

    /// PutObject with `If-None-Match: *`: `false` when the key exists.
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool> {
        let res = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type(key))
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                // 412: the key exists; 409: a concurrent conditional write won
                if matches!(status, Some(412) | Some(409)) {
                    Ok(false)
                } else {
                    Err(self.error("PutObject", key, &e))
                }
            }
        }
    }

    async fn create_upload(&self, key: &str) -> Result<String> {
        let mut create =
            self.client.create_multipart_upload().bucket(&self.bucket).key(key).content_type(content_type(key));
        if self.checksums {
            create = create.checksum_algorithm(ChecksumAlgorithm::Crc32);
        }
        let created = create.send().await.map_err(|e| self.error("CreateMultipartUpload", key, &e))?;
        created.upload_id().map(str::to_string).ok_or_else(|| {
            Error::new(Kind::Storage, format!("S3 CreateMultipartUpload {} returned no upload id", self.loc(key)))
                .with_hint(HINT_OTHER)
        })
    }

    /// Best effort: do not leave billed, invisible parts behind.
    async fn abort_upload(&self, key: &str, upload_id: &str) {
        let _ = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send().await;
    }

    async fn put_multipart(self: &Arc<Self>, key: &str, data: Bytes) -> Result<()> {
        let upload_id = self.create_upload(key).await?;
        let res = self.upload_parts(key, &upload_id, data).await;
        let res = match res {
            Ok(parts) => self.complete(key, &upload_id, parts).await,
            Err(e) => Err(e),
        };
        if res.is_err() {
            self.abort_upload(key, &upload_id).await;
        }
        res
    }

    async fn upload_parts(self: &Arc<Self>, key: &str, upload_id: &str, data: Bytes) -> Result<Vec<CompletedPart>> {
        let len = data.len();
        let part_size = self.tuning.part_size.max(MIN_PART).max(len.div_ceil(MAX_PARTS));
        let futs: Vec<_> = (0..len)
            .step_by(part_size)
            .enumerate()
            .map(|(i, start)| Arc::clone(self).upload_part(key.to_string(), upload_id.to_string(), (i + 1) as i32, data.slice(start..(start + part_size).min(len))))
            .collect();
        let mut parts = run_bounded(futs, self.tuning.concurrency).await?;
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }

    async fn upload_part(self: Arc<Self>, key: String, upload_id: String, number: i32, chunk: Bytes) -> Result<CompletedPart> {
        let n = chunk.len() as u64;
        let mut req =
            self.client.upload_part().bucket(&self.bucket).key(&key).upload_id(&upload_id).part_number(number).body(ByteStream::from(chunk));
        if self.checksums {
            req = req.checksum_algorithm(ChecksumAlgorithm::Crc32);
        }
        let r = req
            .customize()
            .config_override(aws_sdk_s3::config::Builder::new().timeout_config(transfer_timeouts(n)))
            .send()
            .await
            .map_err(|e| self.error(&format!("UploadPart {number}"), &key, &e))?;
        crate::runtime::progress::add("bytes", n);
        let mut part = CompletedPart::builder().part_number(number).set_e_tag(r.e_tag().map(str::to_string));
        if self.checksums {
            part = part.set_checksum_crc32(r.checksum_crc32().map(str::to_string));
        }
        Ok(part.build())
    }

    async fn complete(&self, key: &str, upload_id: &str, parts: Vec<CompletedPart>) -> Result<()> {
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .customize()
            .config_override(aws_sdk_s3::config::Builder::new().timeout_config(timeouts(Duration::from_secs(900))))
            .send()
            .await
            .map_err(|e| self.error("CompleteMultipartUpload", key, &e))?;
        Ok(())
    }

    // ---- get ----------------------------------------------------------------

    /// Send one GET (the whole object, or the bytes `range` = (first, last)),
    /// pinned to the ETag `if_match` when given. The body is not read yet.
    async fn open(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
        if_match: Option<&str>,
    ) -> std::result::Result<GetObjectOutput, GetFail> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(key);
        if let Some((a, b)) = range {
            req = req.range(format!("bytes={a}-{b}"));
        }
        if let Some(tag) = if_match {
            req = req.if_match(tag);
        }
        let n = range.map(|(a, b)| b - a + 1).unwrap_or(self.tuning.range_chunk);
        req.customize()
            .config_override(aws_sdk_s3::config::Builder::new().timeout_config(transfer_timeouts(n)))
            .send()
            .await
            .map_err(|e| {
                let status = e.raw_response().map(|r| r.status().as_u16());
                if if_match.is_some() && status == Some(412) {
                    GetFail::Changed
                } else if range.is_some() && (status == Some(416) || e.code() == Some("InvalidRange")) {
                    GetFail::Unsatisfiable
                } else {
                    GetFail::Err(self.error("GetObject", key, &e))
                }
            })
    }

    /// Hand the body of `resp` to `put` chunk by chunk as it arrives, up to
    /// the limit in `bounds` = (next byte, limit), which a split may lower
    /// meanwhile. A connection that breaks mid-body is asked again for the
    /// rest only, pinned to `etag`. `put` returns false once the reader is
    /// gone.
    async fn pump(
        &self,
        key: &str,
        mut resp: GetObjectOutput,
        bounds: &std::sync::Mutex<(u64, u64)>,
        etag: Option<&str>,
        put: &mut (dyn FnMut(Bytes) -> bool + Send),
    ) -> std::result::Result<(), GetFail> {
        let at = || *bounds.lock().unwrap_or_else(|p| p.into_inner());
        let mut attempt = 1;
        loop {
            let broke = loop {
                match resp.body.next().await {
                    None => break None,
                    Some(Ok(b)) => {
                        let (take, reached) = {
                            let mut g = bounds.lock().unwrap_or_else(|p| p.into_inner());
                            let take = (b.len() as u64).min(g.1.saturating_sub(g.0));
                            g.0 += take;
                            (take as usize, g.0 >= g.1)
                        };
                        if take > 0 {
                            crate::runtime::progress::add("bytes", take as u64);
                            if !put(b.slice(..take)) {
                                return Err(GetFail::Err(reader_gone()));
                            }
                        }
                        if reached {
                            return Ok(());
                        }
                    }
                    Some(Err(e)) => break Some(self.body_error("GetObject", key, error_chain(&e))),
                }
            };
            let (pos, end) = at();
            if pos >= end {
                return Ok(());
            }
            let err = broke.unwrap_or_else(|| {
                Error::new(Kind::Storage, format!("S3 GetObject {}: the answer ended at byte {pos} of {end}", self.loc(key)))
                    .with_hint(HINT_TRANSIENT)
            });
            if attempt >= BODY_READ_ATTEMPTS {
                return Err(GetFail::Err(err));
            }
            // the connection broke mid-body: ask again for the rest
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            attempt += 1;
            let (pos, end) = at();
            resp = self.open(key, Some((pos, end - 1)), etag).await?;
        }
    }

    /// Read `key` into `tx` (see [`Store::get_stream`]), starting over when
    /// the object is replaced mid-read; ends with `Msg::End` or `Msg::Fail`.
    async fn stream(self: Arc<Self>, key: String, tx: std::sync::mpsc::Sender<Msg>) {
        let mut restarts = 0;
        let end = loop {
            match self.stream_once(&key, &tx).await {
                Ok(()) => break Msg::End,
                Err(GetFail::Changed) if restarts + 1 < GET_RESTARTS => {
                    restarts += 1;
                    if tx.send(Msg::Piece(Piece::Restart)).is_err() {
                        return;
                    }
                }
                Err(GetFail::Changed) => {
                    break Msg::Fail(
                        Error::new(Kind::Storage, format!("S3 GetObject {}: the object kept changing while it was read", self.loc(&key)))
                            .with_hint("another writer is replacing this object; retry when it is done"),
                    )
                }
                Err(GetFail::Unsatisfiable) => {
                    break Msg::Fail(
                        Error::new(Kind::Storage, format!("S3 GetObject {}: the server refused a byte range", self.loc(&key)))
                            .with_hint("the object shrank while it was read; retry"),
                    )
                }
                Err(GetFail::Err(e)) => break Msg::Fail(e),
            }
        };
        let _ = tx.send(end);
    }

    /// One attempt at reading `key`: one GET of the whole object, whose
    /// bytes are handed on as they arrive (a small object costs one
    /// request, and so does a large one on a fast connection). When the one
    /// stream is too slow to finish soon (`split_over`, judged after
    /// `split_probe`), what it has not reached yet is split off into ranges
    /// read concurrently: parallel connections only where one connection is
    /// the limit. The ranges are pinned to the first answer's ETag
    /// (`If-Match`), so an object replaced mid-read is read again rather
    /// than stitched from two versions.
    async fn stream_once(self: &Arc<Self>, key: &str, tx: &std::sync::mpsc::Sender<Msg>) -> std::result::Result<(), GetFail> {
        let send = |p: Piece| tx.send(Msg::Piece(p)).map_err(|_| GetFail::Err(reader_gone()));
        let first = self.open(key, None, None).await?;
        let started = tokio::time::Instant::now();
        let etag = first.e_tag().map(str::to_string);
        let total = first.content_length().and_then(|n| u64::try_from(n).ok()).ok_or_else(|| {
            Error::new(Kind::Storage, format!("S3 GetObject {}: the answer has no size", self.loc(key))).with_hint(HINT_OTHER)
        })?;
        crate::runtime::progress::set_total("bytes", total);
        send(Piece::Start(total))?;

        type Ev = (usize, std::result::Result<Option<Bytes>, GetFail>);
        let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel::<Ev>();
        let mut set = JoinSet::new();
        // stream 0: the first answer, up to a limit a split may lower
        let main = Arc::new(std::sync::Mutex::new((0u64, total)));
        {
            let (me, key, etag, ev, main) = (Arc::clone(self), key.to_string(), etag.clone(), ev_tx.clone(), Arc::clone(&main));
            set.spawn(async move {
                let mut put = |b: Bytes| ev.send((0, Ok(Some(b)))).is_ok();
                let r = me.pump(&key, first, &main, etag.as_deref(), &mut put).await;
                let _ = ev.send((0, r.map(|_| None)));
            });
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(self.tuning.concurrency.max(1)));
        // hand the bytes on in order; ranges ahead of the cursor wait in `queued`
        let mut queued: Vec<Vec<Bytes>> = vec![Vec::new()];
        let mut done = vec![false];
        let mut cursor = 0;
        let mut split = self.tuning.split_over == Duration::MAX;
        while cursor < done.len() {
            if !split && started.elapsed() >= self.tuning.split_probe {
                let (pos, limit) = *main.lock().unwrap_or_else(|p| p.into_inner());
                let rest = limit.saturating_sub(pos);
                let secs = started.elapsed().as_secs_f64();
                let slow = pos == 0 || (rest as f64) * secs / (pos as f64) > self.tuning.split_over.as_secs_f64();
                if rest >= 2 * self.tuning.range_chunk && slow {
                    split = true;
                    let part = self.tuning.range_chunk.max(rest.div_ceil(self.tuning.concurrency.max(1) as u64 + 1));
                    let cut = {
                        let mut g = main.lock().unwrap_or_else(|p| p.into_inner());
                        g.1 = (g.0 + part).min(g.1);
                        g.1
                    };
                    let mut a = cut;
                    while a < total {
                        let b = (a + part).min(total);
                        let i = done.len();
                        done.push(false);
                        queued.push(Vec::new());
                        let (me, key, etag, ev, permits) = (Arc::clone(self), key.to_string(), etag.clone(), ev_tx.clone(), Arc::clone(&permits));
                        set.spawn(async move {
                            let _permit = permits.acquire_owned().await;
                            let r = async {
                                let resp = me.open(&key, Some((a, b - 1)), etag.as_deref()).await?;
                                let bounds = std::sync::Mutex::new((a, b));
                                let mut put = |x: Bytes| ev.send((i, Ok(Some(x)))).is_ok();
                                me.pump(&key, resp, &bounds, etag.as_deref(), &mut put).await
                            }
                            .await;
                            let _ = ev.send((i, r.map(|_| None)));
                        });
                        a = b;
                    }
                }
            }
            let next = if split {
                ev_rx.recv().await
            } else {
                // wake up to judge the stream's speed
                let wait = self.tuning.split_probe.saturating_sub(started.elapsed()).max(Duration::from_millis(50));
                match tokio::time::timeout(wait, ev_rx.recv()).await {
                    Ok(v) => v,
                    Err(_) => continue,
                }
            };
            let Some((i, ev)) = next else {
                return Err(GetFail::Err(Error::internal("an S3 read task ended without an answer")));
            };
            match ev? {
                Some(b) if i == cursor => send(Piece::Data(b))?,
                Some(b) => queued[i].push(b),
                None => {
                    done[i] = true;
                    while cursor < done.len() && done[cursor] {
                        cursor += 1;
                        if cursor < done.len() {
                            for b in std::mem::take(&mut queued[cursor]) {
                                send(Piece::Data(b))?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    // ---- list / delete_prefix -------------------------------------------

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.client.list_objects_v2().bucket(&self.bucket).set_continuation_token(token.take());
            if !prefix.is_empty() {
                req = req.prefix(prefix);
            }
            let r = req.send().await.map_err(|e| self.error("ListObjectsV2", prefix, &e))?;
            for o in r.contents() {
                if let Some(k) = o.key() {
                    out.push(ObjectMeta { key: k.to_string(), size: o.size().unwrap_or(0).max(0) as u64 });
                }
            }
            if r.is_truncated() == Some(true) {
                match r.next_continuation_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => {
                        return Err(Error::new(
                            Kind::Storage,
                            format!(
                                "S3 ListObjectsV2 {}: truncated listing without a continuation token",
                                self.loc(prefix)
                            ),
                        )
                        .with_hint(HINT_OTHER))
                    }
                }
            } else {
                break;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.dedup_by(|a, b| a.key == b.key);
        Ok(out)
    }

    /// Incomplete multipart uploads under `prefix` (every page).
    async fn uploads(&self, prefix: &str) -> Result<Vec<Leftover>> {
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        let now = std::time::SystemTime::now();
        loop {
            let mut req = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take());
            if !prefix.is_empty() {
                req = req.prefix(prefix);
            }
            let r = req.send().await.map_err(|e| self.error("ListMultipartUploads", prefix, &e))?;
            for u in r.uploads() {
                if let (Some(k), Some(id)) = (u.key(), u.upload_id()) {
                    let age_secs = u.initiated().and_then(|t| std::time::SystemTime::try_from(*t).ok()).map(|t| now.duration_since(t).map_or(0, |d| d.as_secs()));
                    out.push(Leftover { key: k.to_string(), id: id.to_string(), age_secs });
                }
            }
            if r.is_truncated() == Some(true) && (r.next_key_marker().is_some() || r.next_upload_id_marker().is_some()) {
                key_marker = r.next_key_marker().map(str::to_string);
                id_marker = r.next_upload_id_marker().map(str::to_string);
            } else {
                break;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn abort(&self, l: &Leftover) -> Result<bool> {
        match self.client.abort_multipart_upload().bucket(&self.bucket).key(&l.key).upload_id(&l.id).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("NoSuchUpload") => Ok(false),
            Err(e) => Err(self.error("AbortMultipartUpload", &l.key, &e)),
        }
    }

    async fn delete_prefix(self: &Arc<Self>, prefix: &str) -> Result<u64> {
        // unfinished uploads of killed writes there go too
        for l in self.uploads(prefix).await? {
            self.abort(&l).await?;
        }
        let keys: Vec<String> = self.list(prefix).await?.into_iter().map(|o| o.key).collect();
        let mut futs = Vec::new();
        for batch in keys.chunks(DELETE_BATCH) {
            let me = Arc::clone(self);
            let batch = batch.to_vec();
            let prefix = prefix.to_string();
            futs.push(async move { me.delete_batch(&prefix, batch).await });
        }
        let counts = run_bounded(futs, self.tuning.concurrency).await?;
        Ok(counts.into_iter().sum())
    }

    async fn delete_batch(&self, prefix: &str, keys: Vec<String>) -> Result<u64> {
        let n = keys.len() as u64;
        let mut ids = Vec::with_capacity(keys.len());
        for k in &keys {
            let id = ObjectIdentifier::builder().key(k).build().map_err(|e| {
                Error::internal(format!("S3 DeleteObjects {}: cannot build the request: {e}", self.loc(k)))
            })?;
            ids.push(id);
        }
        let delete = Delete::builder().set_objects(Some(ids)).quiet(true).build().map_err(|e| {
            Error::internal(format!("S3 DeleteObjects {}: cannot build the request: {e}", self.loc(prefix)))
        })?;
        let r = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.error("DeleteObjects", prefix, &e))?;
        let errors = r.errors();
        if !errors.is_empty() {
            let first: Vec<String> = errors
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{} ({}: {})",
                        self.loc(e.key().unwrap_or("?")),
                        e.code().unwrap_or("error"),
                        e.message().unwrap_or("")
                    )
                })
                .collect();
            let denied = errors.iter().any(|e| e.code() == Some("AccessDenied"));
            return Err(Error::new(
                if denied { Kind::Permission } else { Kind::Storage },
                self.redact(format!(
                    "S3 DeleteObjects under {}: {} of {n} objects could not be deleted, e.g. {}",
                    self.loc(prefix),
                    errors.len(),
                    first.join("; ")
                )),
            )
            .with_hint(if denied { HINT_CREDENTIALS } else { HINT_TRANSIENT }));
        }
        Ok(n)
    }

    // ---- copy -----------------------------------------------------------------

    async fn copy(self: &Arc<Self>, from: &str, to: &str) -> Result<()> {
        let (size, ctype) = self.head(from).await.map_err(|e| {
            if e.kind == Kind::NotFound {
                Error::new(Kind::NotFound, format!("S3 copy source {} does not exist", self.loc(from)))
                    .with_hint("check the source key")
            } else {
                e
            }
        })?;
        if from == to {
            return Ok(());
        }
        let source = format!("{}/{}", self.bucket, encode_copy_key(from));
        if size <= self.tuning.copy_single_limit {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(to)
                .copy_source(&source)
                .customize()
                .config_override(aws_sdk_s3::config::Builder::new().timeout_config(timeouts(Duration::from_secs(900))))
                .send()
                .await
                .map_err(|e| self.error(&format!("CopyObject from {}", self.loc(from)), to, &e))?;
            return Ok(());
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(to)
            .content_type(ctype.unwrap_or_else(|| content_type(to).to_string()))
            .send()
            .await
            .map_err(|e| self.error("CreateMultipartUpload", to, &e))?;
        let upload_id = created.upload_id().map(str::to_string).ok_or_else(|| {
            Error::new(Kind::Storage, format!("S3 CreateMultipartUpload {} returned no upload id", self.loc(to)))
                .with_hint(HINT_OTHER)
        })?;
        let part_size = self.tuning.copy_part_size.max(MIN_PART as u64).max(size.div_ceil(MAX_PARTS as u64));
        let mut futs = Vec::new();
        let mut start = 0u64;
        let mut number = 0i32;
        while start < size {
            let end = (start + part_size).min(size) - 1;
            number += 1;
            let me = Arc::clone(self);
            let (to_k, from_k, source, upload_id) =
                (to.to_string(), from.to_string(), source.clone(), upload_id.clone());
            futs.push(async move {
                let r = me
                    .client
                    .upload_part_copy()
                    .bucket(&me.bucket)
                    .key(&to_k)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .copy_source(&source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .customize()
                    .config_override(
                        aws_sdk_s3::config::Builder::new().timeout_config(timeouts(Duration::from_secs(900))),
                    )
                    .send()
                    .await
                    .map_err(|e| me.error(&format!("UploadPartCopy {number} from {}", me.loc(&from_k)), &to_k, &e))?;
                let etag = r.copy_part_result().and_then(|c| c.e_tag()).map(str::to_string);
                Ok(CompletedPart::builder().part_number(number).set_e_tag(etag).build())
            });
            start = end + 1;
        }
        let res = match run_bounded(futs, self.tuning.concurrency).await {
            Ok(mut parts) => {
                parts.sort_by_key(|p| p.part_number());
                self.complete(to, &upload_id, parts).await
            }
            Err(e) => Err(e),
        };
        if res.is_err() {
            let _ =
                self.client.abort_multipart_upload().bucket(&self.bucket).key(to).upload_id(&upload_id).send().await;
        }
        res
    }
}

impl S3Store {
    /// Build a client for `cfg`. Explicit keys are used when given (access
    /// and secret key together, optionally a session token); otherwise the
    /// standard AWS credential chain (environment, shared config and
    /// credentials files and profiles, SSO, web identity, ECS/instance
    /// metadata). No request is made here: see `head_bucket`.
    pub fn new(cfg: S3Config) -> Result<S3Store> {
        Self::build(cfg, Tuning::default(), None)
    }

    /// The bucket (the store root).
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    /// HTTP requests sent so far by this store (retries included).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// One HeadBucket request: checks that the bucket exists and that the
    /// credentials may use it.
    /// Create the bucket unless it exists (setup of scratch environments:
    /// the articles on a loopback server; datom's own flows never create buckets).
    pub fn ensure_bucket(&self) -> Result<()> {
        if self.head_bucket().is_ok() {
            return Ok(());
        }
        let inner = &self.inner;
        let res = block_on(inner.client.create_bucket().bucket(&inner.bucket).send())?;
        match res {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = describe(&e);
                if matches!(f.code.as_deref(), Some("BucketAlreadyOwnedByYou")) {
                    return Ok(());
                }
                Err(Error::new(Kind::Storage, format!("Failed to create bucket {}: {}", inner.bucket, f.code.unwrap_or_default())))
            }
        }
    }

    pub fn head_bucket(&self) -> Result<()> {
        self.probe_bucket()?
    }

    /// Reachability of the bucket at connect: `Ok(Ok(()))` reachable,
    /// `Err(e)` definitively not usable (missing bucket, credentials
    /// refused), `Ok(Err(e))` not verified (a transient failure, no
    /// credentials found yet, a wrong region): the caller may proceed.
    pub fn probe_bucket(&self) -> Result<std::result::Result<(), Error>> {
        match self.head_bucket_classified() {
            Ok(()) => Ok(Ok(())),
            Err((e, true)) => Err(e),
            Err((e, false)) => Ok(Err(e)),
        }
    }

    fn head_bucket_classified(&self) -> std::result::Result<(), (Error, bool)> {
        let inner = &self.inner;
        let b = &inner.bucket;
        let res = block_on(inner.client.head_bucket().bucket(b).send()).map_err(|e| (e, false))?;
        let e = match res {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let f = describe(&e);
        let code = f.code.as_deref();
        if f.status == Some(403)
            || matches!(code, Some("AccessDenied" | "Forbidden" | "InvalidAccessKeyId" | "SignatureDoesNotMatch"))
        {
            return Err((
                Error::new(Kind::Permission, format!("AWS credentials are invalid or lack access to bucket {b}"))
                    .with_hint(HINT_CREDENTIALS)
                    .with_status(403)
                    .with_bucket(b.as_str()),
                true,
            ));
        }
        if f.status == Some(404) || matches!(code, Some("NoSuchBucket" | "NotFound")) {
            return Err((Error::new(Kind::NotFound, format!("Bucket {b} does not exist")).with_hint(HINT_NO_BUCKET).with_status(404).with_bucket(b.as_str()), true));
        }
        if let Some(r) = &f.wrong_region {
            return Err((
                Error::new(Kind::Storage, format!("Failed to verify access to bucket {b}: the bucket is in region {r}"))
                    .with_hint(format!("use region = \"{r}\"")),
                false,
            ));
        }
        let hint = if f.no_credentials {
            HINT_NO_CREDENTIALS
        } else if f.transient {
            HINT_TRANSIENT
        } else {
            "check the region, the endpoint and the network connection"
        };
        Err((Error::new(Kind::Storage, inner.redact(format!("Failed to verify access to bucket {b}: {}", f.detail))).with_hint(hint), false))
    }

    /// Server-side copy of `from_key` to `to_key` inside the bucket
    /// (CopyObject; sources above 5 GiB are copied part by part).
    pub fn copy(&self, from_key: &str, to_key: &str) -> Result<()> {
        check_key(from_key)?;
        check_key(to_key)?;
        block_on(self.inner.copy(from_key, to_key))?
    }
}

/// An object uploaded while it is written (see [`Store::stage`]): full
/// parts go up as a multipart upload in the background, which stays
/// invisible until `publish` completes it; dropped unpublished, the upload
/// is aborted. An object smaller than one part is one PutObject at publish.
struct S3Staged {
    inner: Arc<Inner>,
    key: String,
    buf: Vec<u8>,
    part_size: usize,
    upload_id: Option<String>,
    parts: std::collections::VecDeque<tokio::task::JoinHandle<Result<CompletedPart>>>,
    done: Vec<CompletedPart>,
    next: i32,
    sent: u64,
    published: bool,
}

impl S3Staged {
    fn joined(h: std::result::Result<Result<CompletedPart>, tokio::task::JoinError>) -> Result<CompletedPart> {
        h.map_err(|e| Error::internal(format!("an upload task failed: {e}")))?
    }

    /// Start uploading the first `part_size` bytes of the buffer as the next
    /// part (at most `concurrency` parts in flight).
    fn send_part(&mut self, len: usize) -> Result<()> {
        let id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = block_on(self.inner.create_upload(&self.key))??;
                self.upload_id = Some(id.clone());
                id
            }
        };
        while self.parts.len() >= self.inner.tuning.concurrency.max(1) {
            let h = self.parts.pop_front().expect("parts in flight");
            let part = Self::joined(block_on(h)?)?;
            self.done.push(part);
        }
        let chunk = Bytes::from(self.buf.drain(..len).collect::<Vec<u8>>());
        self.sent += chunk.len() as u64;
        let fut = Arc::clone(&self.inner).upload_part(self.key.clone(), id, self.next, chunk);
        self.next += 1;
        self.parts.push_back(crate::runtime::runtime()?.spawn(fut));
        Ok(())
    }
}

impl std::io::Write for S3Staged {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        while self.buf.len() >= self.part_size {
            self.send_part(self.part_size).map_err(|e| std::io::Error::other(e.message))?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Staged for S3Staged {
    fn publish(mut self: Box<Self>) -> Result<()> {
        let total = self.sent + self.buf.len() as u64;
        let _progress = crate::runtime::progress::start(format!("Uploading {}", short_key(&self.key)), "bytes", total);
        crate::runtime::progress::add("bytes", self.sent);
        let res = (|| -> Result<()> {
            if self.upload_id.is_none() {
                let bytes = std::mem::take(&mut self.buf);
                return block_on(self.inner.put_single(&self.key, bytes))?;
            }
            if !self.buf.is_empty() {
                let n = self.buf.len();
                self.send_part(n)?;
            }
            while let Some(h) = self.parts.pop_front() {
                let part = Self::joined(block_on(h)?)?;
                self.done.push(part);
            }
            let mut parts = std::mem::take(&mut self.done);
            parts.sort_by_key(|p| p.part_number());
            let id = self.upload_id.clone().expect("an upload");
            block_on(self.inner.complete(&self.key, &id, parts))?
        })();
        // completed (or failed and aborted by drop)
        self.published = res.is_ok();
        res
    }
}

impl Drop for S3Staged {
    fn drop(&mut self) {
        if self.published {
            return;
        }
        for h in self.parts.drain(..) {
            h.abort();
        }
        if let Some(id) = self.upload_id.take() {
            let inner = Arc::clone(&self.inner);
            let key = self.key.clone();
            let _ = block_on(async move { inner.abort_upload(&key, &id).await });
        }
    }
}

/// Cancels a spawned transfer when the reading side returns early.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Store for S3Store {
    fn create_new(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        check_key(key)?;
        block_on(self.inner.put_if_absent(key, bytes.to_vec()))?
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        self.get_stream(key, &mut |p| {
            match p {
                Piece::Start(n) => {
                    // the size comes from the server: reserve fallibly (a lying or
                    // broken server is a classed error, never an aborted process)
                    out = Vec::new();
                    let n = usize::try_from(n).ok().filter(|n| out.try_reserve_exact(*n).is_ok());
                    if n.is_none() {
                        return Err(Error::new(Kind::Storage, format!("S3 object {} is too large for memory ({n:?} bytes, per its size)", self.inner.loc(key))));
                    }
                }
                Piece::Restart => out.clear(),
                Piece::Data(b) => out.extend_from_slice(&b),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn get_stream(&self, key: &str, sink: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
        check_key(key)?;
        // the total is set once the first range tells the object's size
        let _progress = crate::runtime::progress::start(format!("Downloading {}", short_key(key)), "bytes", 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let task = crate::runtime::runtime()?.spawn(Arc::clone(&self.inner).stream(key.to_string(), tx));
        let _abort = AbortOnDrop(task);
        loop {
            match crate::runtime::recv_interruptible(&rx)? {
                Some(Msg::Piece(p)) => sink(p)?,
                Some(Msg::End) => return Ok(()),
                Some(Msg::Fail(e)) => return Err(e),
                None => return Err(Error::internal("an S3 read stopped without an answer")),
            }
        }
    }

    fn stage(&self, key: &str) -> Result<Option<Box<dyn Staged>>> {
        check_key(key)?;
        Ok(Some(Box::new(S3Staged {
            inner: Arc::clone(&self.inner),
            key: key.to_string(),
            buf: Vec::new(),
            part_size: self.inner.tuning.part_size.max(MIN_PART),
            upload_id: None,
            parts: Default::default(),
            done: Vec::new(),
            next: 1,
            sent: 0,
            published: false,
        })))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        check_key(key)?;
        if bytes.len() <= self.inner.tuning.multipart_threshold {
            block_on(self.inner.put_single(key, bytes.to_vec()))?
        } else {
            let _progress = crate::runtime::progress::start(format!("Uploading {}", short_key(key)), "bytes", bytes.len() as u64);
            block_on(self.inner.put_multipart(key, Bytes::copy_from_slice(bytes)))?
        }
    }

    fn exists(&self, key: &str) -> Result<bool> {
        check_key(key)?;
        match block_on(self.inner.head(key))? {
            Ok(_) => Ok(true),
            Err(e) if e.kind == Kind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn head(&self, key: &str) -> Result<ObjectMeta> {
        check_key(key)?;
        let (size, _) = block_on(self.inner.head(key))??;
        Ok(ObjectMeta { key: key.to_string(), size })
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        check_prefix(prefix)?;
        block_on(self.inner.list(prefix))?
    }

    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        check_prefix(prefix)?;
        block_on(self.inner.delete_prefix(prefix))?
    }

    fn delete(&self, key: &str) -> Result<bool> {
        check_key(key)?;
        block_on(self.inner.delete(key))?
    }

    fn remove(&self, key: &str) -> Result<()> {
        check_key(key)?;
        block_on(self.inner.remove(key))?
    }

    fn leftovers(&self, prefix: &str) -> Result<Vec<Leftover>> {
        check_prefix(prefix)?;
        block_on(self.inner.uploads(prefix))?
    }

    fn discard(&self, leftover: &Leftover) -> Result<bool> {
        check_key(&leftover.key)?;
        block_on(self.inner.abort(leftover))?
    }
}

#[cfg(test)]
mod tests;

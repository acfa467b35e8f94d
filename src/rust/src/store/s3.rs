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
//! * `get` asks for the first `RANGE_CHUNK` bytes. A small object arrives
//!   whole in that one request; for a larger one the `Content-Range` of the
//!   answer gives the size and the remaining ranges are fetched concurrently,
//!   each pinned to the first answer's ETag (`If-Match`), so an object
//!   replaced mid-read is read again rather than stitched from two versions.
//!   No HeadObject is needed first (the first answer carries the size), so a
//!   reader pays one request per small object; an empty object costs two
//!   (a byte range on it is unsatisfiable, HTTP 416, then a plain GET).
//! * Keys ending in `.json` are written with `Content-Type: application/json`,
//!   everything else as `application/octet-stream`; bytes are stored as given.
//! * `list` pages through ListObjectsV2; `delete_prefix` lists, then deletes
//!   in DeleteObjects batches of 1000, concurrently.
//! * Transient failures (throttling, 5xx, timeouts, connection resets) are
//!   retried by the SDK's standard retry strategy, `MAX_ATTEMPTS` attempts
//!   with exponential backoff; body reads that fail mid-stream are retried
//!   here. Everything else becomes an `Error` naming the bucket and key, with
//!   a hint of what to check; secrets never appear in messages.

use super::{check_key, short_key, Leftover, ObjectMeta, Staged, Store};
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

/// Objects larger than this are uploaded with a multipart upload.
pub const MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// Part size of multipart uploads (grown when an object would need more
/// than 10,000 parts).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Size of the first ranged GET and of each further range of a large object.
pub const RANGE_CHUNK: u64 = 32 * 1024 * 1024;
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

const HINT_CREDENTIALS: &str = "check the access key, secret key and IAM permissions";
const HINT_NO_BUCKET: &str = "create the bucket first; datom never creates buckets";
const HINT_NO_CREDENTIALS: &str = "no AWS credentials were found: pass access_key and secret_key, or set \
     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE (shared config/credentials files, SSO), \
     or run where a web identity or instance role is available";
const HINT_TRANSIENT: &str = "check the endpoint, the network connection and the service status \
     (transient failures were retried)";
const HINT_OTHER: &str = "check the bucket name, region and endpoint";

/// Where and how to reach an S3 bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// Bucket name (the store root). datom never creates buckets.
    pub bucket: String,
    /// AWS region, e.g. "us-east-1" (any non-empty string for S3-compatible servers).
    pub region: String,
    /// Endpoint URL of an S3-compatible server (`http://` or `https://`);
    /// `None` means AWS.
    pub endpoint: Option<String>,
    /// Access key id; with `secret_key` it replaces the credential chain.
    pub access_key: Option<String>,
    /// Secret access key.
    pub secret_key: Option<String>,
    /// Session token of temporary (STS) credentials.
    pub session_token: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most
    /// S3-compatible servers.
    pub path_style: bool,
}

impl S3Config {
    /// A config for `bucket` in `region` that uses the standard credential chain.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            region: region.into(),
            endpoint: None,
            access_key: None,
            secret_key: None,
            session_token: None,
            path_style: false,
        }
    }
}

/// The masking rule of the API: access keys keep their first 4 characters,
/// secrets and session tokens are always fully masked.
fn mask_prefix(v: &Option<String>) -> String {
    match v.as_deref() {
        None | Some("") => "(not set)".into(),
        Some(s) if s.chars().count() <= 4 => "****".into(),
        Some(s) => format!("{}****", s.chars().take(4).collect::<String>()),
    }
}

fn mask_full(v: &Option<String>) -> String {
    match v.as_deref() {
        None | Some("") => "(not set)".into(),
        Some(_) => "****".into(),
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key", &mask_prefix(&self.access_key))
            .field("secret_key", &mask_full(&self.secret_key))
            .field("session_token", &mask_full(&self.session_token))
            .field("path_style", &self.path_style)
            .finish()
    }
}

/// Sizes and limits of one store (constants in production, small in tests).
#[derive(Clone, Debug)]
struct Tuning {
    multipart_threshold: usize,
    part_size: usize,
    range_chunk: u64,
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
            concurrency: CONCURRENCY,
            copy_single_limit: COPY_SINGLE_LIMIT,
            copy_part_size: COPY_PART_SIZE,
        }
    }
}

/// Counts HTTP attempts (retries included) made by one store's client.
#[derive(Debug, Default)]
struct RequestCounter(Arc<AtomicU64>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "datom-request-counter"
    }
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
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

/// Throughput of a `mb` MiB object through `store`: (upload s, download s).
/// The object is written under `key`, read back, compared, and deleted.
pub fn transfer_timing(store: &S3Store, key: &str, mb: usize) -> Result<(f64, f64)> {
    use crate::store::Store;
    let data: Vec<u8> = (0..mb * 1024 * 1024).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect();
    let t = std::time::Instant::now();
    store.put(key, &data)?;
    let up = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let back = store.get(key)?;
    let down = t.elapsed().as_secs_f64();
    if back != data {
        return Err(Error::new(Kind::Integrity, "the downloaded object differs from the uploaded one"));
    }
    store.delete(key)?;
    Ok((up, down))
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

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
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

/// Total size from a `Content-Range: bytes a-b/total` header.
fn range_total(cr: &str) -> Option<u64> {
    cr.rsplit('/').next()?.trim().parse().ok()
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

/// `e` and its sources, as "outer: inner: innermost" (repeats dropped).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// What went wrong with one SDK call, reduced to what the messages need.
struct Failure {
    status: Option<u16>,
    code: Option<String>,
    detail: String,
    transient: bool,
    no_credentials: bool,
    /// The bucket's real region, when the server said the request went to
    /// the wrong one (`x-amz-bucket-region` on a 301/400).
    wrong_region: Option<String>,
}

fn describe<E>(e: &SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let detail = match e {
        SdkError::ServiceError(_) => {
            let mut d = match (&code, status) {
                (Some(c), Some(s)) => format!("{c} (HTTP {s})"),
                (Some(c), None) => c.clone(),
                (None, Some(s)) => format!("HTTP {s}"),
                (None, None) => "service error".to_string(),
            };
            if let Some(m) = e.message().filter(|m| !m.is_empty()) {
                d.push_str(": ");
                d.push_str(m);
            }
            d
        }
        _ => error_chain(e),
    };
    let transient_code = matches!(
        code.as_deref(),
        Some(
            "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "InternalError"
                | "ServiceUnavailable"
        )
    );
    let transient = matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_))
        || matches!(status, Some(429) | Some(500..=599))
        || transient_code;
    let lower = detail.to_ascii_lowercase();
    let no_credentials =
        !matches!(e, SdkError::ServiceError(_)) && (lower.contains("credential") || lower.contains("identity"));
    let wrong_region = match status {
        Some(301 | 400) => e
            .raw_response()
            .and_then(|r| r.headers().get("x-amz-bucket-region"))
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        _ => None,
    };
    Failure { status, code, detail, transient, no_credentials, wrong_region }
}

/// Why a ranged read could not be completed.
enum GetFail {
    /// The object changed between ranges (If-Match failed): read again.
    Changed,
    /// The range cannot be satisfied (HTTP 416: the object is empty).
    Unsatisfiable,
    Err(Error),
}

impl From<Error> for GetFail {
    fn from(e: Error) -> Self {
        GetFail::Err(e)
    }
}

impl Inner {
    fn loc(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }

    fn redact(&self, s: String) -> String {
        let mut s = s;
        for secret in &self.secrets {
            if !secret.is_empty() && s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), "****");
            }
        }
        s
    }

    /// Turn an SDK failure of `op` on `key` into an engine error.
    fn error<E>(&self, op: &str, key: &str, e: &SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let f = describe(e);
        let loc = self.loc(key);
        let detail = self.redact(f.detail);
        let code = f.code.as_deref();
        if code == Some("NoSuchBucket") {
            return Error::new(Kind::Storage, format!("Bucket {} does not exist ({op} {loc})", self.bucket))
                .with_hint(HINT_NO_BUCKET)
                .with_status(404)
                .with_bucket(&self.bucket);
        }
        if f.status == Some(404) || matches!(code, Some("NoSuchKey" | "NotFound")) {
            return Error::new(Kind::NotFound, format!("S3 object {loc} does not exist ({op})"))
                .with_hint("check the key, and the bucket and prefix of the store")
                .with_status(404)
                .with_bucket(&self.bucket)
                .with_key(key);
        }
        if f.status == Some(403)
            || matches!(code, Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch"))
        {
            // an access failure is a Permission error on every backend
            return Error::new(Kind::Permission, format!("S3 {op} {loc} was refused: {detail}"))
                .with_hint(format!("{HINT_CREDENTIALS} on bucket {}", self.bucket))
                .with_status(403)
                .with_bucket(&self.bucket)
                .with_key(key);
        }
        if let Some(r) = &f.wrong_region {
            return Error::new(Kind::Storage, format!("S3 {op} {loc} failed: bucket {} is in region {r}", self.bucket))
                .with_hint(format!("use region = \"{r}\""));
        }
        if f.no_credentials {
            return Error::new(Kind::Storage, format!("S3 {op} {loc} failed: {detail}")).with_hint(HINT_NO_CREDENTIALS);
        }
        if f.transient {
            return Error::new(
                Kind::Storage,
                format!("S3 {op} {loc} failed after up to {MAX_ATTEMPTS} attempts: {detail}"),
            )
            .with_hint(HINT_TRANSIENT);
        }
        Error::new(Kind::Storage, format!("S3 {op} {loc} failed: {detail}")).with_hint(HINT_OTHER)
    }

    fn body_error(&self, op: &str, key: &str, e: impl fmt::Display) -> Error {
        let msg = self.redact(format!("S3 {op} {}: reading the response failed: {e}", self.loc(key)));
        Error::new(Kind::Storage, msg).with_hint(HINT_TRANSIENT)
    }

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
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("DeleteObject", key, &e))?;
        Ok(true)
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

    /// One ranged (or whole, when `range` is None) GET with its body,
    /// retrying body reads that break mid-stream.
    async fn fetch(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
        if_match: Option<&str>,
    ) -> std::result::Result<(Bytes, Option<String>, Option<String>), GetFail> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.client.get_object().bucket(&self.bucket).key(key);
            if let Some((a, b)) = range {
                req = req.range(format!("bytes={a}-{b}"));
            }
            if let Some(tag) = if_match {
                req = req.if_match(tag);
            }
            let n = range.map(|(a, b)| b - a + 1).unwrap_or(self.tuning.range_chunk);
            let resp = req
                .customize()
                .config_override(aws_sdk_s3::config::Builder::new().timeout_config(transfer_timeouts(n)))
                .send()
                .await;
            let out = match resp {
                Ok(o) => o,
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if if_match.is_some() && status == Some(412) {
                        return Err(GetFail::Changed);
                    }
                    if range.is_some() && (status == Some(416) || e.code() == Some("InvalidRange")) {
                        return Err(GetFail::Unsatisfiable);
                    }
                    return Err(GetFail::Err(self.error("GetObject", key, &e)));
                }
            };
            let content_range = out.content_range().map(str::to_string);
            let etag = out.e_tag().map(str::to_string);
            match out.body.collect().await {
                Ok(b) => return Ok((b.into_bytes(), content_range, etag)),
                // The connection broke mid-body: ask again.
                Err(_) if attempt < BODY_READ_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
                Err(e) => return Err(GetFail::Err(self.body_error("GetObject", key, error_chain(&e)))),
            }
        }
    }

    async fn get(self: &Arc<Self>, key: &str) -> Result<Vec<u8>> {
        let mut restarts = 0;
        loop {
            match self.get_once(key).await {
                Ok(v) => return Ok(v),
                Err(GetFail::Err(e)) => return Err(e),
                Err(GetFail::Unsatisfiable) => {
                    return Err(Error::new(
                        Kind::Storage,
                        format!("S3 GetObject {}: the server refused a byte range", self.loc(key)),
                    )
                    .with_hint(HINT_OTHER))
                }
                Err(GetFail::Changed) if restarts + 1 < GET_RESTARTS => restarts += 1,
                Err(GetFail::Changed) => {
                    return Err(Error::new(
                        Kind::Storage,
                        format!("S3 GetObject {}: the object kept changing while it was read", self.loc(key)),
                    )
                    .with_hint("another writer is replacing this object; retry when it is done"))
                }
            }
        }
    }

    async fn get_once(self: &Arc<Self>, key: &str) -> std::result::Result<Vec<u8>, GetFail> {
        let chunk = self.tuning.range_chunk.max(1);
        let first = match self.fetch(key, Some((0, chunk - 1)), None).await {
            Ok(v) => v,
            // A range on an empty object is unsatisfiable: read it whole.
            Err(GetFail::Unsatisfiable) => {
                let (b, _, _) = self.fetch(key, None, None).await?;
                return Ok(b.to_vec());
            }
            Err(e) => return Err(e),
        };
        let (head, content_range, etag) = first;
        let total = match content_range.as_deref() {
            // No Content-Range: the server sent the whole object.
            None => return Ok(head.to_vec()),
            Some(cr) => range_total(cr).ok_or_else(|| {
                Error::new(Kind::Storage, format!("S3 GetObject {}: unexpected Content-Range {cr:?}", self.loc(key)))
                    .with_hint(HINT_OTHER)
            })?,
        };
        let got = head.len() as u64;
        crate::runtime::progress::set_total("bytes", total);
        crate::runtime::progress::add("bytes", got);
        if got >= total {
            return Ok(head.to_vec());
        }
        let total_usize = usize::try_from(total).map_err(|_| {
            Error::new(Kind::Storage, format!("S3 object {} is too large for memory ({total} bytes)", self.loc(key)))
        })?;
        // the size comes from the server: reserve fallibly (a lying or
        // broken server is a classed error, never an aborted process)
        let mut out: Vec<u8> = Vec::new();
        out.try_reserve_exact(total_usize).map_err(|_| {
            Error::new(Kind::Storage, format!("S3 object {} is too large for memory ({total} bytes, per its Content-Range)", self.loc(key)))
        })?;
        out.resize(total_usize, 0);
        out[..head.len()].copy_from_slice(&head);
        drop(head);
        let mut futs = Vec::new();
        let mut start = got;
        while start < total {
            let end = (start + chunk).min(total) - 1;
            let me = Arc::clone(self);
            let key = key.to_string();
            let etag = etag.clone();
            futs.push(async move {
                match me.fetch(&key, Some((start, end)), etag.as_deref()).await {
                    Ok((b, _, _)) => {
                        crate::runtime::progress::add("bytes", b.len() as u64);
                        Ok(Ok((start, end, b)))
                    }
                    Err(GetFail::Changed) => Ok(Err(())),
                    Err(GetFail::Unsatisfiable) => Err(Error::new(
                        Kind::Storage,
                        format!("S3 GetObject {}: the server refused range {start}-{end}", me.loc(&key)),
                    )
                    .with_hint("the object shrank while it was read; retry")),
                    Err(GetFail::Err(e)) => Err(e),
                }
            });
            start = end + 1;
        }
        for r in run_bounded(futs, self.tuning.concurrency).await? {
            let (start, end, b) = match r {
                Ok(v) => v,
                Err(()) => return Err(GetFail::Changed),
            };
            if b.len() as u64 != end - start + 1 {
                return Err(GetFail::Err(
                    Error::new(
                        Kind::Storage,
                        format!("S3 GetObject {}: range {start}-{end} returned {} bytes", self.loc(key), b.len()),
                    )
                    .with_hint(HINT_TRANSIENT),
                ));
            }
            out[start as usize..=end as usize].copy_from_slice(&b);
        }
        Ok(out)
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

    /// A store that uploads and downloads every object in one request (no
    /// multipart, no ranges): the single-stream baseline of the benchmark.
    pub fn single_stream(cfg: S3Config) -> Result<S3Store> {
        let tuning = Tuning { multipart_threshold: usize::MAX, range_chunk: u64::MAX / 4, concurrency: 1, ..Tuning::default() };
        Self::build(cfg, tuning, None)
    }

    fn build(cfg: S3Config, tuning: Tuning, checksums: Option<bool>) -> Result<S3Store> {
        let bucket = cfg.bucket.trim().to_string();
        if bucket.is_empty() || bucket.contains('/') || bucket.chars().any(char::is_whitespace) {
            return Err(Error::input(format!("invalid S3 bucket name {:?}", cfg.bucket))
                .with_hint("give the bare bucket name, without s3:// or a path"));
        }
        let region = cfg.region.trim().to_string();
        if region.is_empty() {
            return Err(Error::input("S3 region must be a non-empty string").with_hint("e.g. \"us-east-1\""));
        }
        let endpoint = non_empty(&cfg.endpoint);
        if let Some(ep) = &endpoint {
            if !(ep.starts_with("http://") || ep.starts_with("https://")) {
                return Err(Error::input(format!("S3 endpoint {ep:?} must start with http:// or https://")));
            }
        }
        let access_key = non_empty(&cfg.access_key);
        let secret_key = non_empty(&cfg.secret_key);
        let session_token = non_empty(&cfg.session_token);
        let credentials = match (&access_key, &secret_key) {
            (Some(a), Some(s)) => Some(Credentials::new(a, s, session_token.clone(), None, "datom")),
            (None, None) if session_token.is_some() => {
                return Err(Error::input("an S3 session token needs an access key and a secret key"))
            }
            (None, None) => None,
            _ => {
                return Err(Error::input("S3 access key and secret key must be given together")
                    .with_hint("give both, or neither to use the standard AWS credential chain"))
            }
        };
        let secrets: Vec<String> = [secret_key.clone(), session_token.clone()].into_iter().flatten().collect();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = RequestCounter(Arc::clone(&requests));
        let custom_endpoint = endpoint.is_some();

        let client = block_on(async move {
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https();
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .http_client(http)
                .region(Region::new(region))
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(MAX_ATTEMPTS)
                        .with_initial_backoff(Duration::from_millis(200))
                        .with_max_backoff(Duration::from_secs(10)),
                )
                .timeout_config(timeouts(Duration::from_secs(60)));
            if let Some(c) = credentials {
                loader = loader.credentials_provider(c);
            }
            if let Some(ep) = &endpoint {
                // Many S3-compatible servers reject the SDK's optional
                // flexible checksums; send them only where required.
                loader = loader
                    .endpoint_url(ep)
                    .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                    .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
            }
            let sdk = loader.load().await;
            let conf =
                aws_sdk_s3::config::Builder::from(&sdk).force_path_style(cfg.path_style).interceptor(counter).build();
            Client::from_conf(conf)
        })?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                client,
                bucket,
                secrets,
                checksums: checksums.unwrap_or(!custom_endpoint),
                tuning,
                requests,
            }),
        })
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

impl Store for S3Store {
    fn create_new(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        check_key(key)?;
        block_on(self.inner.put_if_absent(key, bytes.to_vec()))?
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        check_key(key)?;
        // the total is set once the first range tells the object's size
        let _progress = crate::runtime::progress::start(format!("Downloading {}", short_key(key)), "bytes", 0);
        block_on(self.inner.get(key))?
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
mod tests {
    //! These tests run against a real moto S3 server on loopback that each
    //! test starts itself (`DATOM_MOTO_SERVER`, else the build virtualenv).
    //! They never skip: a missing moto_server fails them.
    use super::*;
    use aws_sdk_s3::error::DisplayErrorContext;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

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
                let out = std::fs::File::create(&log).expect("cannot create the moto log file");
                let err = out.try_clone().expect("cannot clone the moto log file");
                let mut cmd = Command::new(&exe);
                cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    .env_remove("LD_LIBRARY_PATH")
                    .stdin(Stdio::null())
                    .stdout(Stdio::from(out))
                    .stderr(Stdio::from(err));
                for (k, v) in env {
                    cmd.env(k, v);
                }
                let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
                let mut moto = Moto { child: Some(child), endpoint: format!("http://127.0.0.1:{port}"), log };
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    if let Some(c) = moto.child.as_mut() {
                        if let Ok(Some(_)) = c.try_wait() {
                            break; // died (port taken?): try another port
                        }
                    }
                    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return moto;
                    }
                    if Instant::now() > deadline {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
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
        let n1 = s.request_count();
        let back = s.get("big/forty.parquet").unwrap();
        // first 32 MiB range (gives the size) + 1 more range
        assert_eq!(s.request_count() - n1, 2);
        assert!(back == big, "40 MiB round trip differs");
        // overwrite with a different multipart object: readers see the new one
        let big2 = pattern(24 * 1024 * 1024 + 17, 9);
        s.put("big/forty.parquet", &big2).unwrap();
        assert!(s.get("big/forty.parquet").unwrap() == big2);
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
        // an object of exactly one range chunk is still one request
        let chunk = pattern(RANGE_CHUNK as usize, 2);
        s.put("a/chunk.bin", &chunk).unwrap();
        let n2 = s.request_count();
        assert!(s.get("a/chunk.bin").unwrap() == chunk);
        assert_eq!(s.request_count() - n2, 1);
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
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(AtomicU64::new(0));
        let seen2 = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { continue };
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let i = seen2.fetch_add(1, Ordering::SeqCst) as usize;
                let status = if i < fail { "503 Service Unavailable" } else { "200 OK" };
                let _ = write!(c, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        (format!("http://{addr}"), seen)
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
    fn scripted_server(responses: Vec<Vec<u8>>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let heads2 = Arc::clone(&heads);
        std::thread::spawn(move || {
            for (i, conn) in l.incoming().enumerate() {
                let Ok(mut c) = conn else { continue };
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                heads2.lock().unwrap().push(String::from_utf8_lossy(&buf).to_ascii_lowercase());
                let r = &responses[i.min(responses.len() - 1)];
                let _ = c.write_all(r);
            }
        });
        (format!("http://{addr}"), heads)
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
        let tuning = Tuning { range_chunk: 10, ..Tuning::default() };
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

    #[test]
    fn broken_body_is_read_again() {
        // The first answer promises 10 bytes and sends 4 before the
        // connection drops: the range is asked for again.
        let (ep, heads) =
            scripted_server(vec![partial("0-9", 10, "e1", b"0123", 10), partial("0-9", 10, "e1", b"0123456789", 10)]);
        let s = scripted_store(ep);
        assert_eq!(s.get("k/obj.bin").unwrap(), b"0123456789");
        assert_eq!(heads.lock().unwrap().len(), 2);
    }

    #[test]
    fn object_replaced_mid_read_is_read_again() {
        // Ranges after the first are pinned to its ETag; a 412 means the
        // object was replaced, and the whole read starts over.
        let (ep, heads) = scripted_server(vec![
            partial("0-9", 20, "old", b"aaaaaaaaaa", 10),
            b"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            partial("0-9", 20, "new", b"bbbbbbbbbb", 10),
            partial("10-19", 20, "new", b"cccccccccc", 10),
        ]);
        let s = scripted_store(ep);
        assert_eq!(s.get("k/obj.bin").unwrap(), b"bbbbbbbbbbcccccccccc");
        let heads = heads.lock().unwrap();
        assert_eq!(heads.len(), 4);
        assert!(heads[0].contains("range: bytes=0-9") && !heads[0].contains("if-match"));
        assert!(heads[1].contains("range: bytes=10-19") && heads[1].contains("if-match: \"old\""));
        assert!(heads[3].contains("range: bytes=10-19") && heads[3].contains("if-match: \"new\""));
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
        assert_eq!(range_total("bytes 0-8388607/41943040"), Some(41943040));
        assert_eq!(range_total("bytes 0-1/*"), None);
        assert_eq!(encode_copy_key("a b/c+d%.json"), "a%20b/c%2Bd%25.json");
        assert_eq!(content_type("x/.metadata/a.json"), "application/json");
        assert_eq!(content_type("x/a.parquet"), "application/octet-stream");
        assert!(check_prefix("").is_ok() && check_prefix("a/b/").is_ok() && check_prefix("a/b").is_ok());
        assert!(check_prefix("a//b/").is_err() && check_prefix("../").is_err());
    }
}

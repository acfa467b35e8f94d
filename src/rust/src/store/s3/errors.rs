//! S3 failures as engine errors: the SDK's failure reduced to status, code
//! and detail; classified into a kind with a hint of what to check and the
//! bucket and key as fields; secrets scrubbed from every message.

use super::*;

pub(super) const HINT_CREDENTIALS: &str = "check the access key, secret key and IAM permissions";
pub(super) const HINT_NO_BUCKET: &str = "create the bucket first; datom never creates buckets";
pub(super) const HINT_NO_CREDENTIALS: &str = "no AWS credentials were found: pass access_key and secret_key, or set \
     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE (shared config/credentials files, SSO), \
     or run where a web identity or instance role is available";
pub(super) const HINT_TRANSIENT: &str = "check the endpoint, the network connection and the service status \
     (transient failures were retried)";
pub(super) const HINT_OTHER: &str = "check the bucket name, region and endpoint";

/// `e` and its sources, as "outer: inner: innermost" (repeats dropped).
pub(super) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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
pub(super) struct Failure {
    pub(super) status: Option<u16>,
    pub(super) code: Option<String>,
    pub(super) detail: String,
    pub(super) transient: bool,
    pub(super) no_credentials: bool,
    /// The bucket's real region, when the server said the request went to
    /// the wrong one (`x-amz-bucket-region` on a 301/400).
    pub(super) wrong_region: Option<String>,
}

pub(super) fn describe<E>(e: &SdkError<E>) -> Failure
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

impl Inner {
    pub(super) fn loc(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }

    pub(super) fn redact(&self, s: String) -> String {
        let mut s = s;
        for secret in &self.secrets {
            if !secret.is_empty() && s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), "****");
            }
        }
        s
    }

    /// Turn an SDK failure of `op` on `key` into an engine error.
    pub(super) fn error<E>(&self, op: &str, key: &str, e: &SdkError<E>) -> Error
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

    pub(super) fn body_error(&self, op: &str, key: &str, e: impl fmt::Display) -> Error {
        let msg = self.redact(format!("S3 {op} {}: reading the response failed: {e}", self.loc(key)));
        Error::new(Kind::Storage, msg).with_hint(HINT_TRANSIENT)
    }
}

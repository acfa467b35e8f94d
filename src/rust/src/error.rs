//! The engine's one error type. Every failure the engine can report is an
//! `Error` with a `Kind`; the binding layer turns it into an R condition of
//! class `c("datom_error_<kind>", "datom_error", "error", "condition")` in
//! exactly one place (`crate::r::result`).

use std::fmt;

/// Error kinds; `as_str()` is the suffix of the R condition class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Bad argument value (not a data frame, empty, wrong type, ...).
    Input,
    /// Column types datom cannot hash or store.
    Unsupported,
    /// Parquet encoding/decoding failure.
    Parquet,
    /// JSON (de)serialisation failure.
    Json,
    /// Storage I/O failure.
    Storage,
    /// Object not found in storage.
    NotFound,
    /// Stored bytes do not match their recorded hash.
    Integrity,
    /// The target is taken (an existing project, an occupied namespace).
    Conflict,
    /// The caller's role may not do this (a reader writing).
    Role,
    /// A credential was rejected (GitHub answered 401: bad, expired or revoked PAT).
    Auth,
    /// The credential is valid but lacks a scope or access (GitHub answered 403).
    Permission,
    /// A remote service could not be reached (connection refused, DNS, timeout).
    Network,
    /// Any other GitHub API failure (unexpected status, rate limit, bad response).
    Github,
    /// Git failure (other than a rejected push).
    Git,
    /// Push rejected as non-fast-forward: nothing happened, pull and retry.
    PushRejected,
    /// The user interrupted a long operation.
    Interrupted,
    /// Another process holds the lock of the clone or store (retry later).
    Busy,
    /// A test failpoint (`DATOM_FAILPOINT`) fired.
    Failpoint,
    /// Anything that should not happen.
    Internal,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Unsupported => "unsupported",
            Kind::Parquet => "parquet",
            Kind::Json => "json",
            Kind::Storage => "storage",
            Kind::NotFound => "not_found",
            Kind::Integrity => "integrity",
            Kind::Conflict => "conflict",
            Kind::Role => "role",
            Kind::Auth => "auth",
            Kind::Permission => "permission",
            Kind::Network => "network",
            Kind::Github => "github",
            Kind::Git => "git",
            Kind::PushRejected => "push_rejected",
            Kind::Interrupted => "interrupted",
            Kind::Busy => "busy",
            Kind::Failpoint => "failpoint",
            Kind::Internal => "internal",
        }
    }
}

/// An engine error: a kind, a one-line cause, an optional hint and the
/// structured facts of the failure ([`Fields`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    pub fields: Fields,
}

/// Facts about a failure that callers decide on (never the message text):
/// they become fields of the R condition (`e$status`, `e$bucket`, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// The HTTP status a service answered (S3, GitHub).
    pub status: Option<u16>,
    /// The S3 bucket of the request.
    pub bucket: Option<String>,
    /// The object key (or prefix) of the request.
    pub key: Option<String>,
    /// The token scope the failure points at (`delete_repo`, `repo`).
    pub scope: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), hint: None, fields: Fields::default() }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.fields.status = Some(status);
        self
    }
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.fields.bucket = Some(bucket.into());
        self
    }
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.fields.key = Some(key.into());
        self
    }
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.fields.scope = Some(scope.into());
        self
    }
    pub fn input(message: impl Into<String>) -> Self {
        Error::new(Kind::Input, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(Kind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::new(Kind::Parquet, format!("parquet: {e}"))
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::new(Kind::Parquet, format!("arrow: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(Kind::Json, format!("JSON: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = if e.kind() == std::io::ErrorKind::NotFound { Kind::NotFound } else { Kind::Storage };
        Error::new(kind, format!("I/O: {e}"))
    }
}

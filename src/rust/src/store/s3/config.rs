//! Where and how to reach a bucket: the configuration (credentials masked
//! in every `Debug`), and the SDK client built from it (credentials, region,
//! endpoint, retries, timeouts, the request counter).

use super::*;

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

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}


impl S3Store {
    /// The client and the store of `cfg`: explicit keys when given, else the
    /// standard AWS credential chain. No request is made here.
    pub(super) fn build(cfg: S3Config, tuning: Tuning, checksums: Option<bool>) -> Result<S3Store> {
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

}

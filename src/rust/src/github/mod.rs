//! GitHub REST client (reqwest, on the shared runtime): the authenticated
//! user, repository lookup, creation (for the user or an organisation),
//! deletion, and datom's "create or reuse an empty repo" rule (dev/spec/API.md 3.2.1).
//!
//! Every call sends `Authorization: Bearer {pat}`,
//! `Accept: application/vnd.github+json`, `X-GitHub-Api-Version` and a
//! `User-Agent` to `api_url` (`https://api.github.com`, a GitHub Enterprise
//! Server API root such as `https://ghe.example.com/api/v3`, or the test
//! stand-in). The token is never part of a URL, a message or `Debug` output.
//!
//! Status codes become classed errors: 401 `Kind::Auth` (bad token), 403
//! `Kind::Permission` (missing scope, named when GitHub's `X-OAuth-Scopes`
//! shows it is absent), 404 `Kind::NotFound`, 422 `Kind::Conflict` (name
//! taken) or `Kind::Input` (name rejected), transport failures
//! `Kind::Network`, anything else `Kind::Github`.

use crate::error::{Error, Kind, Result};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::time::Duration;

/// `github_api_url` when none is given.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";
const UA: &str = "datom/0.1";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A GitHub REST client bound to one API root and one token.
#[derive(Clone)]
pub struct GitHub {
    api_url: String,
    token: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub").field("api_url", &self.api_url).field("token", &"<redacted>").finish()
    }
}

/// The token's user (`GET /user`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub id: u64,
}

/// A repository as GitHub describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    pub name: String,
    pub full_name: String,
    /// `owner.login`.
    pub owner: String,
    pub private: bool,
    /// GitHub's size in KB; 0 for a repository without commits.
    pub size: u64,
    pub clone_url: String,
    pub html_url: String,
}

/// What `ensure_repo` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ensured {
    /// A new repository was created.
    Created,
    /// An existing, empty repository is reused.
    Reused,
}

#[derive(Deserialize)]
struct RawUser {
    login: String,
    id: u64,
}

#[derive(Deserialize)]
struct RawOwner {
    login: String,
}

#[derive(Deserialize)]
struct RawRepo {
    name: String,
    full_name: String,
    owner: Option<RawOwner>,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    size: u64,
    clone_url: String,
    html_url: String,
}

impl From<RawRepo> for Repo {
    fn from(r: RawRepo) -> Repo {
        let owner = match r.owner {
            Some(o) => o.login,
            None => r.full_name.split('/').next().unwrap_or_default().to_string(),
        };
        Repo { name: r.name, full_name: r.full_name, owner, private: r.private, size: r.size, clone_url: r.clone_url, html_url: r.html_url }
    }
}

#[derive(Deserialize, Default)]
struct ApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Option<Vec<serde_json::Value>>,
}

/// A response reduced to what the callers need.
struct Reply {
    status: StatusCode,
    /// `X-OAuth-Scopes` when GitHub sent it (classic PATs).
    scopes: Option<Vec<String>>,
    /// `X-RateLimit-Remaining: 0`.
    quota_exhausted: bool,
    body: Vec<u8>,
}

impl Reply {
    /// A 403/429 that is GitHub's primary or secondary rate limit, not a
    /// permission problem.
    fn rate_limited(&self) -> bool {
        matches!(self.status, StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS)
            && (self.quota_exhausted || self.message().to_lowercase().contains("rate limit"))
    }

    /// GitHub's `message` plus any `errors[].message`, for humans.
    fn message(&self) -> String {
        let e: ApiError = serde_json::from_slice(&self.body).unwrap_or_default();
        let mut parts: Vec<String> = Vec::new();
        if let Some(m) = e.message.filter(|m| !m.is_empty()) {
            parts.push(m);
        }
        for v in e.errors.unwrap_or_default() {
            match v {
                serde_json::Value::String(s) => parts.push(s),
                serde_json::Value::Object(o) => {
                    if let Some(serde_json::Value::String(s)) = o.get("message") {
                        parts.push(s.clone());
                    } else if let Some(serde_json::Value::String(c)) = o.get("code") {
                        let field = o.get("field").and_then(|f| f.as_str()).unwrap_or("");
                        parts.push(format!("{field} {c}").trim().to_string());
                    }
                }
                _ => {}
            }
        }
        if parts.len() > 1 {
            // "Repository creation failed." + "name already exists" reads as one sentence
            let first = parts[0].trim_end_matches('.').to_string();
            parts[0] = first;
        }
        if parts.is_empty() {
            let text = String::from_utf8_lossy(&self.body);
            let text = text.trim();
            if !text.is_empty() && text.len() <= 200 && !text.starts_with('<') {
                parts.push(text.to_string());
            } else {
                parts.push(self.status.canonical_reason().unwrap_or("error").to_string());
            }
        }
        parts.join(": ")
    }

    /// `Some(false)` when GitHub listed the token's scopes and `scope` is
    /// not among them (`repo` also satisfies `public_repo`).
    fn has_scope(&self, scope: &str) -> Option<bool> {
        self.scopes.as_ref().map(|s| s.iter().any(|x| x == scope || (scope == "public_repo" && x == "repo")))
    }
}

/// GitHub owner names: alphanumerics and hyphens.
fn valid_owner(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// GitHub repository names: alphanumerics, `-`, `_` and `.` (not `.`/`..`).
fn valid_repo_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn check_owner(owner: &str) -> Result<()> {
    if valid_owner(owner) {
        Ok(())
    } else {
        Err(Error::input(format!("invalid GitHub owner name \"{owner}\"")).with_hint("Owner (user or organisation) names contain only letters, digits and hyphens."))
    }
}

fn check_repo_name(name: &str) -> Result<()> {
    if valid_repo_name(name) {
        Ok(())
    } else {
        Err(Error::input(format!("invalid GitHub repository name \"{name}\""))
            .with_hint("Repository names contain only letters, digits, '-', '_' and '.'; pass repo_name = to choose another."))
    }
}

/// The cause chain of a transport error, without its URL.
fn transport_cause(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut causes: Vec<String> = Vec::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !t.is_empty() && !causes.iter().any(|c| c.contains(&t)) {
            causes.push(t);
        }
        src = s.source();
    }
    if causes.is_empty() {
        what
    } else {
        format!("{what}: {}", causes.join(": "))
    }
}

/// The GitHub API root of a store: the one given (`github_api_url`), else
/// the environment's `DATOM_GITHUB_API_URL` when set, else
/// [`DEFAULT_API_URL`]; checked by [`check_api_url`] under its own name.
pub fn api_url(given: Option<&str>, env: Option<&str>) -> Result<String> {
    match (given, env.filter(|e| !e.is_empty())) {
        (Some(u), _) => check_api_url(u, "github_api_url"),
        (None, Some(e)) => check_api_url(e, "DATOM_GITHUB_API_URL"),
        (None, None) => Ok(DEFAULT_API_URL.to_string()),
    }
}

/// Check a GitHub API root wherever it comes from (`github_api_url`,
/// `DATOM_GITHUB_API_URL`): parsed, not prefix-tested; `https`, or `http`
/// only on a loopback host (`localhost`, `127.0.0.0/8`, `::1`); no
/// credentials, query or fragment. Returns it without trailing `/`.
pub fn check_api_url(api_url: &str, what: &str) -> Result<String> {
    const HINT: &str = "e.g. https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server; http:// only on a loopback address (127.0.0.1, ::1, localhost).";
    let trimmed = api_url.trim().trim_end_matches('/').to_string();
    let shown = crate::git::redact(&trimmed);
    let u = reqwest::Url::parse(&trimmed)
        .map_err(|_| Error::input(format!("{what} is not a valid URL: \"{shown}\"")).with_hint(HINT))?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Error::input(format!("{what} must not contain credentials: \"{shown}\"")).with_hint(HINT));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(Error::input(format!("{what} must not contain a query or a fragment: \"{shown}\"")).with_hint(HINT));
    }
    let host = u.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(Error::input(format!("{what} has no host: \"{shown}\"")).with_hint(HINT));
    }
    let loopback = host == "localhost"
        || host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::input(format!("{what} must be an https:// URL (http:// only on a loopback address), not \"{shown}\""))
                .with_hint(HINT))
        }
        _ => return Err(Error::input(format!("{what} must be an https:// URL, not \"{shown}\"")).with_hint(HINT)),
    }
    Ok(trimmed)
}

impl GitHub {
    /// A client for `api_url` (trailing `/` removed) with `token`. Checks
    /// the arguments only; no request is made.
    pub fn new(api_url: &str, token: &str) -> Result<GitHub> {
        let api_url = check_api_url(api_url, "github_api_url")?;
        if token.trim().is_empty() {
            return Err(Error::input("GitHub PAT is empty").with_hint("Pass a personal access token as github_pat to datom_store()."));
        }
        if token.trim() != token || HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(Error::input("GitHub PAT contains whitespace or characters not allowed in an HTTP header")
                .with_hint("Check the PAT given to datom_store() (a trailing newline from a file or keyring?)."));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(UA));
        headers.insert("X-GitHub-Api-Version", HeaderValue::from_static(API_VERSION));
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| Error::new(Kind::Internal, format!("cannot build the HTTP client: {}", transport_cause(&e))))?;
        Ok(GitHub { api_url, token: token.to_string(), client })
    }

    /// The API root this client talks to.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Never let the token into a message, whatever a server echoes.
    fn scrub(&self, s: String) -> String {
        if self.token.len() >= 4 && s.contains(&self.token) {
            s.replace(&self.token, "***")
        } else {
            s
        }
    }

    fn err(&self, kind: Kind, msg: String) -> Error {
        Error::new(kind, self.scrub(msg))
    }

    /// Send one request and collect status, scopes and body.
    fn call(&self, method: Method, path: &str, body: Option<serde_json::Value>) -> Result<Reply> {
        let url = format!("{}{}", self.api_url, path);
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token)).map_err(|_| Error::input("GitHub PAT is not a valid HTTP header value"))?;
        auth.set_sensitive(true);
        let mut req = self.client.request(method, &url).header(AUTHORIZATION, auth);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let fut = async move {
            let resp = req.send().await?;
            let status = resp.status();
            let scopes = resp
                .headers()
                .get("x-oauth-scopes")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect::<Vec<_>>());
            let quota_exhausted = resp.headers().get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()).map(|v| v.trim() == "0").unwrap_or(false);
            let body = resp.bytes().await?.to_vec();
            Ok::<Reply, reqwest::Error>(Reply { status, scopes, quota_exhausted, body })
        };
        crate::runtime::block_on(fut)?.map_err(|e| {
            self.err(Kind::Network, format!("cannot reach the GitHub API at {url}: {}", transport_cause(&e)))
                .with_hint("Check the network connection and github_api_url.")
        })
    }

    /// The generic part of turning a non-success status into an error.
    fn status_error(&self, what: &str, r: &Reply) -> Error {
        let msg = r.message();
        let e = match r.status {
            StatusCode::UNAUTHORIZED => self
                .err(Kind::Auth, format!("GitHub rejected the PAT while trying to {what} (401: {msg})"))
                .with_hint("Check the PAT given to datom_store(): it may be mistyped, expired or revoked."),
            _ if r.rate_limited() => self
                .err(Kind::Github, format!("GitHub API rate limit exceeded while trying to {what} ({}: {msg})", r.status.as_u16()))
                .with_hint("Wait for the rate limit to reset, then retry."),
            StatusCode::FORBIDDEN => self.err(Kind::Permission, format!("GitHub refused to {what} (403: {msg})")).with_hint("Check that the PAT has access to this resource."),
            StatusCode::NOT_FOUND => self.err(Kind::NotFound, format!("cannot {what}: not found (404)")).with_hint("Check the owner and repository names, and that the PAT can see them."),
            StatusCode::UNPROCESSABLE_ENTITY => self.err(Kind::Input, format!("GitHub rejected the request to {what} (422: {msg})")),
            s => self.err(Kind::Github, format!("GitHub API error while trying to {what} ({}: {msg})", s.as_u16())),
        };
        e.with_status(r.status.as_u16())
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, what: &str, r: &Reply) -> Result<T> {
        serde_json::from_slice(&r.body).map_err(|e| self.err(Kind::Github, format!("unexpected GitHub response while trying to {what}: {e}")))
    }

    /// The token's user: `GET /user`.
    pub fn user(&self) -> Result<User> {
        let what = "read the authenticated user";
        let r = self.call(Method::GET, "/user", None)?;
        if r.status != StatusCode::OK {
            return Err(self.status_error(what, &r));
        }
        let u: RawUser = self.parse(what, &r)?;
        Ok(User { login: u.login, id: u.id })
    }

    /// `GET /repos/{owner}/{name}`; `None` when it does not exist (or the
    /// PAT cannot see it).
    pub fn get_repo(&self, owner: &str, name: &str) -> Result<Option<Repo>> {
        check_owner(owner)?;
        check_repo_name(name)?;
        let what = format!("look up GitHub repo {owner}/{name}");
        let r = self.call(Method::GET, &format!("/repos/{owner}/{name}"), None)?;
        match r.status {
            StatusCode::OK => Ok(Some(self.parse::<RawRepo>(&what, &r)?.into())),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(&what, &r)),
        }
    }

    /// Create `name` for the PAT's user (`org = None`, `POST /user/repos`)
    /// or in organisation `org` (`POST /orgs/{org}/repos`), without an
    /// initial commit.
    pub fn create_repo(&self, org: Option<&str>, name: &str, private: bool, description: &str) -> Result<Repo> {
        if let Some(o) = org {
            check_owner(o)?;
        }
        check_repo_name(name)?;
        let (path, owner_label) = match org {
            Some(o) => (format!("/orgs/{o}/repos"), o.to_string()),
            None => ("/user/repos".to_string(), "your account".to_string()),
        };
        let shown = match org {
            Some(o) => format!("{o}/{name}"),
            None => name.to_string(),
        };
        let what = format!("create GitHub repo {shown}");
        let body = serde_json::json!({
            "name": name,
            "private": private,
            "auto_init": false,
            "description": description,
        });
        let r = self.call(Method::POST, &path, Some(body))?;
        match r.status {
            StatusCode::CREATED | StatusCode::OK => Ok(self.parse::<RawRepo>(&what, &r)?.into()),
            StatusCode::FORBIDDEN if !r.rate_limited() => {
                let scope = if private { "repo" } else { "public_repo" };
                let msg = r.message();
                if r.has_scope(scope) == Some(false) {
                    Err(self
                        .err(Kind::Permission, format!("Failed to create GitHub repo {shown}: the PAT lacks the `repo` scope (403: {msg})"))
                        .with_status(403)
                        .with_scope(scope)
                        .with_hint("Use a PAT with the `repo` scope (classic) or Administration: write (fine-grained)."))
                } else {
                    let hint = match org {
                        Some(o) => format!("The PAT needs the `repo` scope and permission to create repositories in organisation {o}."),
                        None => "The PAT needs the `repo` scope (classic) or Administration: write (fine-grained).".to_string(),
                    };
                    Err(self.err(Kind::Permission, format!("Failed to create GitHub repo {shown}: forbidden (403: {msg})")).with_status(403).with_hint(hint))
                }
            }
            StatusCode::NOT_FOUND => {
                let msg = match org {
                    Some(o) => format!("Failed to create GitHub repo {shown}: organisation {o} not found or not visible to this PAT (404)"),
                    None => format!("Failed to create GitHub repo {shown}: not found (404)"),
                };
                Err(self.err(Kind::NotFound, msg).with_status(404).with_hint("Check github_org and the PAT's access (a fine-grained PAT must be granted to the organisation)."))
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                let msg = r.message();
                if msg.to_lowercase().contains("already exists") {
                    Err(self
                        .err(Kind::Conflict, format!("Failed to create GitHub repo {shown}: the name is already taken on {owner_label} (422: {msg})"))
                        .with_status(422)
                        .with_hint("Choose another repo_name, or pass the existing repository's URL instead."))
                } else {
                    Err(self.err(Kind::Input, format!("Failed to create GitHub repo {shown}: GitHub rejected it (422: {msg})")).with_status(422))
                }
            }
            _ => {
                let e = self.status_error(&what, &r);
                Err(Error { message: format!("Failed to create GitHub repo {shown}: {}", e.message), ..e })
            }
        }
    }

    /// `DELETE /repos/{owner}/{name}` (needs the `delete_repo` scope).
    pub fn delete_repo(&self, owner: &str, name: &str) -> Result<()> {
        check_owner(owner)?;
        check_repo_name(name)?;
        let full = format!("{owner}/{name}");
        let r = self.call(Method::DELETE, &format!("/repos/{owner}/{name}"), None)?;
        match r.status {
            StatusCode::NO_CONTENT | StatusCode::OK | StatusCode::ACCEPTED => Ok(()),
            StatusCode::FORBIDDEN if !r.rate_limited() => {
                let msg = r.message();
                if r.has_scope("delete_repo") == Some(false) {
                    Err(self
                        .err(Kind::Permission, format!("Failed to delete GitHub repo {full}: the PAT lacks the `delete_repo` scope (403: {msg})"))
                        .with_status(403)
                        .with_scope("delete_repo")
                        .with_hint(format!("Delete {full} manually, or use a PAT with the delete_repo scope.")))
                } else {
                    Err(self
                        .err(Kind::Permission, format!("Failed to delete GitHub repo {full}: forbidden (403: {msg}); the PAT probably lacks the `delete_repo` scope or admin rights"))
                        .with_status(403)
                        .with_scope("delete_repo")
                        .with_hint(format!("Delete {full} manually, or use a PAT with the delete_repo scope and admin rights on it.")))
                }
            }
            StatusCode::NOT_FOUND => Err(self
                .err(Kind::NotFound, format!("Failed to delete GitHub repo {full}: not found (404; already deleted?)"))
                .with_status(404)
                .with_hint(format!("Check that {full} exists and that the PAT can see it."))),
            _ => {
                let e = self.status_error(&format!("delete GitHub repo {full}"), &r);
                Err(Error { message: format!("Failed to delete GitHub repo {full}: {}", e.message), ..e })
            }
        }
    }

    /// dev/spec/API.md 3.2.1: owner = `org` or the PAT's login; an existing empty
    /// repository (size 0) is reused, an existing one with content is a
    /// `Kind::Conflict`, otherwise the repository is created with the
    /// description "datom project: {name}".
    pub fn ensure_repo(&self, org: Option<&str>, name: &str, private: bool) -> Result<(Repo, Ensured)> {
        if let Some(o) = org {
            check_owner(o)?;
        }
        check_repo_name(name)?;
        let owner = match org {
            Some(o) => o.to_string(),
            None => self.user()?.login,
        };
        if let Some(existing) = self.get_repo(&owner, name)? {
            if existing.size == 0 {
                return Ok((existing, Ensured::Reused));
            }
            return Err(Error::new(
                Kind::Conflict,
                format!("GitHub repo {owner}/{name} already exists and has content; cannot reuse a non-empty repo for a new datom project"),
            )
            .with_hint(format!("Pass its URL ({}) instead, or choose another name.", existing.clone_url)));
        }
        let repo = self.create_repo(org, name, private, &format!("datom project: {name}"))?;
        Ok((repo, Ensured::Created))
    }
}

/// The web host of a GitHub API root: `api.github.com` -> `github.com`,
/// `https://HOST[:PORT]/api/v3` -> `HOST[:PORT]`. Lower-cased.
pub fn web_host(api_url: &str) -> Option<String> {
    let rest = api_url.split_once("://").map(|(_, r)| r)?;
    let host = rest.split('/').next()?.rsplit('@').next()?.to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    if host == "api.github.com" {
        return Some("github.com".to_string());
    }
    // GitHub Enterprise Cloud with data residency: api.SUB.ghe.com -> SUB.ghe.com
    if host.ends_with(".ghe.com") {
        if let Some(h) = host.strip_prefix("api.") {
            return Some(h.to_string());
        }
    }
    Some(host)
}

/// `(host, owner, repo)` of a remote URL in HTTPS (`https://host/o/r.git`)
/// or SSH form (`git@host:o/r.git`, `ssh://git@host/o/r.git`); `.git`
/// dropped; user info ignored. `None` for anything else.
pub fn parse_remote(url: &str) -> Option<(String, String, String)> {
    // one URL parser (git::RepoUrl) for "local or remote", user info and host
    let crate::git::RepoUrl::Remote { scheme, host, path, .. } = crate::git::RepoUrl::parse(url) else {
        return None;
    };
    let host = match scheme.as_deref().map(|s| s.to_ascii_lowercase()) {
        None => host,
        Some(s) if s == "ssh" => host.split(':').next()?.to_string(),
        Some(s) if matches!(s.as_str(), "https" | "http" | "git") => host,
        Some(_) => return None,
    };
    let host = host.to_ascii_lowercase();
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut it = path.split('/');
    let (owner, repo) = (it.next()?, it.next()?);
    if it.next().is_some() || host.is_empty() || !valid_owner(owner) || !valid_repo_name(repo) {
        return None;
    }
    Some((host, owner.to_string(), repo.to_string()))
}

/// `(owner, repo)` of `url` when it is a repository on the GitHub that
/// `api_url` serves (same web host), else `None`.
pub fn github_owner_repo(url: &str, api_url: &str) -> Option<(String, String)> {
    let (host, owner, repo) = parse_remote(url)?;
    let gh = web_host(api_url)?;
    let same = host == gh || host.split(':').next() == Some(gh.as_str()) && !gh.contains(':');
    same.then_some((owner, repo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const TOKEN: &str = "ghp_standin_full_0123456789";

    #[test]
    fn the_api_root_is_the_given_one_else_the_environment_else_github() {
        assert_eq!(api_url(None, None).unwrap(), DEFAULT_API_URL);
        assert_eq!(api_url(None, Some("")).unwrap(), DEFAULT_API_URL);
        assert_eq!(api_url(None, Some("https://ghe.example/api/v3/")).unwrap(), "https://ghe.example/api/v3");
        assert_eq!(api_url(Some("http://127.0.0.1:9/"), Some("https://ghe.example")).unwrap(), "http://127.0.0.1:9");
        let e = api_url(None, Some("http://ghe.example")).unwrap_err();
        assert!(e.message.starts_with("DATOM_GITHUB_API_URL must be an https:// URL"), "{}", e.message);
        let e = api_url(Some("ftp://x"), None).unwrap_err();
        assert!(e.message.starts_with("github_api_url must be an https:// URL"), "{}", e.message);
    }

    #[test]
    fn api_urls_are_parsed_not_prefix_tested() {
        for good in ["https://api.github.com", "https://ghe.example.com/api/v3/", "http://127.0.0.1:8080", "http://localhost:9/api", "http://[::1]:80"] {
            assert!(check_api_url(good, "github_api_url").is_ok(), "{good}");
        }
        for bad in [
            "http://localhost.example.com",
            "http://127.0.0.1.evil.com",
            "http://localhost@evil.com",
            "http://evil.com",
            "https://user:pw@api.github.com",
            "https://api.github.com?x=1",
            "ftp://api.github.com",
            "api.github.com",
        ] {
            let e = check_api_url(bad, "github_api_url").unwrap_err();
            assert_eq!(e.kind, Kind::Input, "{bad}");
            assert!(!e.message.contains("pw@"), "{}", e.message);
        }
    }
    const TOKEN_NO_DELETE: &str = "ghp_standin_nodelete_0123456789";
    const TOKEN_NO_REPO: &str = "ghp_standin_noscope_0123456789";

    fn standin_script() -> PathBuf {
        if let Ok(p) = std::env::var("DATOM_GITHUB_STANDIN") {
            return PathBuf::from(p);
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../inst/tools/github-standin.py")
    }

    /// A running stand-in; killed and its directory removed on drop.
    struct Standin {
        child: Child,
        dir: PathBuf,
        base: String,
        _stdout: BufReader<std::process::ChildStdout>,
    }

    impl Standin {
        fn start(tag: &str) -> Standin {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!("datom-gh-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let log = std::fs::File::create(dir.join("standin.log")).unwrap();
            let python = std::env::var("DATOM_PYTHON").unwrap_or_else(|_| "python3".to_string());
            let mut child = Command::new(python)
                .arg(standin_script())
                .arg("--root")
                .arg(dir.join("repos"))
                .args(["--port", "0", "--token", TOKEN])
                .arg("--token-scopes")
                .arg(format!("{TOKEN_NO_DELETE}=repo"))
                .arg("--token-scopes")
                .arg(format!("{TOKEN_NO_REPO}=read:user"))
                .env_remove("LD_LIBRARY_PATH")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("cannot start the GitHub stand-in (python3)");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let reader = std::thread::spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut line = String::new();
                let _ = r.read_line(&mut line);
                let _ = tx.send(line);
                r
            });
            let line = match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!("the GitHub stand-in did not become ready; log: {}", std::fs::read_to_string(dir.join("standin.log")).unwrap_or_default());
                }
            };
            let stdout = reader.join().unwrap();
            let base = match line.trim().strip_prefix("READY ") {
                Some(b) => b.to_string(),
                None => {
                    let _ = child.kill();
                    panic!("unexpected stand-in output {line:?}; log: {}", std::fs::read_to_string(dir.join("standin.log")).unwrap_or_default());
                }
            };
            Standin { child, dir, base, _stdout: stdout }
        }

        fn api(&self) -> String {
            format!("{}/api/v3", self.base)
        }

        fn gh(&self, token: &str) -> GitHub {
            GitHub::new(&self.api(), token).unwrap()
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.join("standin.log")).unwrap_or_default()
        }

        fn work(&self, name: &str) -> PathBuf {
            self.dir.join("work").join(name)
        }
    }

    impl Drop for Standin {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let log = self.log();
            for t in [TOKEN, TOKEN_NO_DELETE, TOKEN_NO_REPO, "wrong-token"] {
                if log.contains(t) && !std::thread::panicking() {
                    panic!("the stand-in logged a token");
                }
            }
            // DATOM_TEST_KEEP=1 keeps the repositories and the request log
            if std::env::var_os("DATOM_TEST_KEEP").is_none() {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }

    /// Push one commit to `clone_url` with git2 (crate::git) so the
    /// repository has content.
    fn push_a_commit(s: &Standin, clone_url: &str, token: &str, tag: &str) {
        let wd = s.work(tag);
        let repo = crate::git::Repo::init(&wd).unwrap();
        repo.set_remote("origin", clone_url).unwrap();
        std::fs::write(wd.join("README.md"), "hello\n").unwrap();
        repo.commit_paths(&["README.md"], "first").unwrap();
        repo.push("origin", &crate::git::Creds { token: Some(token.to_string()) }).unwrap();
    }

    #[test]
    fn debug_redacts_token_and_arguments_are_checked() {
        let g = GitHub::new("https://api.github.com/", TOKEN).unwrap();
        assert_eq!(g.api_url(), "https://api.github.com");
        let d = format!("{g:?}");
        assert!(!d.contains(TOKEN) && d.contains("<redacted>"), "{d}");
        assert_eq!(GitHub::new("ftp://x", TOKEN).unwrap_err().kind, Kind::Input);
        assert_eq!(GitHub::new("https://api.github.com", "").unwrap_err().kind, Kind::Input);
        assert_eq!(GitHub::new("https://api.github.com", "abc\n").unwrap_err().kind, Kind::Input);
        assert_eq!(g.get_repo("o", "../x").unwrap_err().kind, Kind::Input);
        assert_eq!(g.get_repo("o/x", "r").unwrap_err().kind, Kind::Input);
        assert_eq!(g.create_repo(Some("a b"), "r", true, "d").unwrap_err().kind, Kind::Input);
    }

    #[test]
    fn remote_urls_parse() {
        assert_eq!(parse_remote("https://github.com/acme/study-001-data.git"), Some(("github.com".into(), "acme".into(), "study-001-data".into())));
        assert_eq!(parse_remote("git@github.com:acme/x.y.git"), Some(("github.com".into(), "acme".into(), "x.y".into())));
        assert_eq!(parse_remote("ssh://git@github.com/acme/x"), Some(("github.com".into(), "acme".into(), "x".into())));
        assert_eq!(parse_remote("https://git:tok@127.0.0.1:8080/o/r.git"), Some(("127.0.0.1:8080".into(), "o".into(), "r".into())));
        assert_eq!(parse_remote("/srv/git/r.git"), None);
        assert_eq!(parse_remote("https://github.com/acme"), None);
        assert_eq!(web_host("https://api.github.com").as_deref(), Some("github.com"));
        assert_eq!(web_host("https://ghe.example.com/api/v3").as_deref(), Some("ghe.example.com"));
        assert_eq!(web_host("http://127.0.0.1:4000/api/v3").as_deref(), Some("127.0.0.1:4000"));
        assert_eq!(github_owner_repo("git@github.com:acme/r.git", DEFAULT_API_URL), Some(("acme".into(), "r".into())));
        assert_eq!(github_owner_repo("https://gitlab.com/acme/r.git", DEFAULT_API_URL), None);
        assert_eq!(github_owner_repo("http://127.0.0.1:4000/o/r.git", "http://127.0.0.1:4000/api/v3"), Some(("o".into(), "r".into())));
        assert_eq!(github_owner_repo("http://127.0.0.1:4001/o/r.git", "http://127.0.0.1:4000/api/v3"), None);
    }

    #[test]
    fn user_and_bad_token() {
        let s = Standin::start("user");
        let u = s.gh(TOKEN).user().unwrap();
        assert_eq!(u.login, "datom-dev");
        assert!(u.id > 0);
        let e = s.gh("wrong-token").user().unwrap_err();
        assert_eq!(e.kind, Kind::Auth, "{e:?}");
        assert!(e.message.contains("401"), "{e}");
        assert_eq!(e.fields.status, Some(401), "{e:?}");
        assert!(e.hint.as_deref().unwrap_or("").contains("datom_store()"), "{e:?}");
        assert!(!e.to_string().contains("wrong-token"));
        // a bad token is also refused for the other calls
        assert_eq!(s.gh("wrong-token").get_repo("datom-dev", "x").unwrap_err().kind, Kind::Auth);
        assert_eq!(s.gh("wrong-token").create_repo(None, "x", true, "d").unwrap_err().kind, Kind::Auth);
        assert_eq!(s.gh("wrong-token").delete_repo("datom-dev", "x").unwrap_err().kind, Kind::Auth);
    }

    #[test]
    fn create_get_taken_delete() {
        let s = Standin::start("crud");
        let g = s.gh(TOKEN);
        assert_eq!(g.get_repo("datom-dev", "study-001-data").unwrap(), None);

        // for the user
        let r = g.create_repo(None, "study-001-data", true, "datom project: study-001-data").unwrap();
        assert_eq!(r.name, "study-001-data");
        assert_eq!(r.full_name, "datom-dev/study-001-data");
        assert_eq!(r.owner, "datom-dev");
        assert!(r.private);
        assert_eq!(r.size, 0);
        assert_eq!(r.clone_url, format!("{}/datom-dev/study-001-data.git", s.base));
        assert_eq!(r.html_url, format!("{}/datom-dev/study-001-data", s.base));
        assert_eq!(g.get_repo("datom-dev", "study-001-data").unwrap(), Some(r.clone()));

        // for an organisation, public
        let o = g.create_repo(Some("acme-clinical"), "acme-gov", false, "datom project: acme-gov").unwrap();
        assert_eq!(o.full_name, "acme-clinical/acme-gov");
        assert_eq!(o.owner, "acme-clinical");
        assert!(!o.private);
        assert!(s.dir.join("repos/acme-clinical/acme-gov.git/HEAD").exists());

        // 422: taken
        let e = g.create_repo(None, "study-001-data", true, "d").unwrap_err();
        assert_eq!(e.kind, Kind::Conflict, "{e:?}");
        assert!(e.message.contains("already"), "{e}");
        let e = g.create_repo(Some("acme-clinical"), "acme-gov", true, "d").unwrap_err();
        assert_eq!(e.kind, Kind::Conflict, "{e:?}");

        // 403: no `repo` scope for creation
        let e = s.gh(TOKEN_NO_REPO).create_repo(None, "other", true, "d").unwrap_err();
        assert_eq!(e.kind, Kind::Permission, "{e:?}");
        assert!(e.message.contains("`repo`"), "{e}");
        assert_eq!((e.fields.status, e.fields.scope.as_deref()), (Some(403), Some("repo")), "{e:?}");

        // 403: delete without delete_repo; nothing deleted
        let e = s.gh(TOKEN_NO_DELETE).delete_repo("datom-dev", "study-001-data").unwrap_err();
        assert_eq!(e.kind, Kind::Permission, "{e:?}");
        assert!(e.message.contains("delete_repo") && e.message.contains("403"), "{e}");
        assert!(e.hint.as_deref().unwrap_or("").contains("manually"), "{e:?}");
        // the facts a caller decides on are fields, not message text
        assert_eq!((e.fields.status, e.fields.scope.as_deref()), (Some(403), Some("delete_repo")), "{e:?}");
        assert!(g.get_repo("datom-dev", "study-001-data").unwrap().is_some());

        // delete, then 404
        g.delete_repo("datom-dev", "study-001-data").unwrap();
        assert_eq!(g.get_repo("datom-dev", "study-001-data").unwrap(), None);
        let e = g.delete_repo("datom-dev", "study-001-data").unwrap_err();
        assert_eq!(e.kind, Kind::NotFound, "{e:?}");
        assert_eq!(e.fields.status, Some(404), "{e:?}");
        g.delete_repo("acme-clinical", "acme-gov").unwrap();
        assert!(!s.dir.join("repos/acme-clinical/acme-gov.git").exists());
    }

    #[test]
    fn ensure_repo_creates_reuses_empty_and_refuses_content() {
        let s = Standin::start("ensure");
        let g = s.gh(TOKEN);
        let (r, how) = g.ensure_repo(None, "proj", true).unwrap();
        assert_eq!(how, Ensured::Created);
        assert_eq!(r.full_name, "datom-dev/proj");
        assert!(r.private);
        // empty: reused
        let (r2, how) = g.ensure_repo(None, "proj", true).unwrap();
        assert_eq!(how, Ensured::Reused);
        assert_eq!(r2.clone_url, r.clone_url);
        // in an organisation
        let (o, how) = g.ensure_repo(Some("acme"), "proj", false).unwrap();
        assert_eq!((o.full_name.as_str(), how), ("acme/proj", Ensured::Created));
        // with content: refused
        push_a_commit(&s, &r.clone_url, TOKEN, "content");
        assert!(g.get_repo("datom-dev", "proj").unwrap().unwrap().size > 0);
        let e = g.ensure_repo(None, "proj", true).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert_eq!(
            e.message,
            "GitHub repo datom-dev/proj already exists and has content; cannot reuse a non-empty repo for a new datom project"
        );
        assert!(e.hint.as_deref().unwrap_or("").contains("another name"), "{e:?}");
        // a bad token fails before anything is created
        assert_eq!(s.gh("wrong-token").ensure_repo(None, "fresh", true).unwrap_err().kind, Kind::Auth);
        assert_eq!(g.get_repo("datom-dev", "fresh").unwrap(), None);
    }

    #[test]
    fn unreachable_host_is_a_network_error() {
        // A port that was free a moment ago: connection refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let g = GitHub::new(&format!("http://127.0.0.1:{port}/api/v3"), TOKEN).unwrap();
        let e = g.user().unwrap_err();
        assert_eq!(e.kind, Kind::Network, "{e:?}");
        assert!(e.message.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(!e.to_string().contains(TOKEN));
    }

    #[test]
    fn git2_clone_commit_push_over_http_with_token() {
        use crate::git::{Creds, Repo as GitRepo};
        let s = Standin::start("git2");
        let g = s.gh(TOKEN);
        let r = g.create_repo(None, "data", true, "datom project: data").unwrap();
        let creds = Creds { token: Some(TOKEN.to_string()) };

        // cloning the still-empty repository works
        GitRepo::clone(&r.clone_url, &s.work("empty"), &creds).unwrap();

        // engineer A: a new repository whose first push fills the remote
        // (the datom_init_repo path)
        let a = GitRepo::init(&s.work("a")).unwrap();
        a.set_remote("origin", &r.clone_url).unwrap();
        std::fs::write(s.work("a").join("a.txt"), "from a\n").unwrap();
        a.commit_paths(&["a.txt"], "A's first").unwrap();
        a.push("origin", &creds).unwrap();
        assert_eq!(a.branch().unwrap(), "main");
        assert_eq!(a.ahead_behind("origin").unwrap(), (0, 0));
        // the token is not written into the clone's config
        let cfg = std::fs::read_to_string(s.work("a").join(".git/config")).unwrap();
        assert!(!cfg.contains(TOKEN));

        // engineer B clones it, pushes; A's next push is rejected, then A pulls
        let b = GitRepo::clone(&r.clone_url, &s.work("b"), &creds).unwrap();
        assert_eq!(b.branch().unwrap(), "main");
        assert_eq!(std::fs::read_to_string(s.work("b").join("a.txt")).unwrap(), "from a\n");
        std::fs::write(s.work("b").join("b.txt"), "from b\n").unwrap();
        b.commit_paths(&["b.txt"], "B's").unwrap();
        b.push("origin", &creds).unwrap();
        let before = a.head_sha().unwrap();
        std::fs::write(s.work("a").join("c.txt"), "c\n").unwrap();
        a.commit_paths(&["c.txt"], "A's second").unwrap();
        assert_eq!(a.push("origin", &creds).unwrap_err().kind, Kind::PushRejected);
        a.reset_hard(&before).unwrap();
        a.fetch("origin", &creds).unwrap();
        assert_eq!(a.fast_forward("origin").unwrap(), 1);
        assert!(s.work("a").join("b.txt").exists());
        assert!(g.get_repo("datom-dev", "data").unwrap().unwrap().size > 0);

        // a wrong token fails cleanly (no hang, no token in the message),
        // classed as every backend classes a refused credential
        let bad = Creds { token: Some("wrong-token".to_string()) };
        let e = GitRepo::clone(&r.clone_url, &s.work("c"), &bad).err().expect("a wrong token must not clone");
        assert_eq!((e.kind, e.fields.status), (Kind::Auth, Some(401)), "{e:?}");
        assert!(!e.to_string().contains("wrong-token"));
        std::fs::write(s.work("b").join("d.txt"), "d\n").unwrap();
        b.commit_paths(&["d.txt"], "B's second").unwrap();
        let e = b.push("origin", &bad).unwrap_err();
        assert_eq!((e.kind, e.fields.status), (Kind::Auth, Some(401)), "{e:?}");
        assert!(!e.to_string().contains("wrong-token"));
        // no token at all on a private repo
        let e = GitRepo::clone(&r.clone_url, &s.work("d"), &Creds::default()).err().expect("no token must not clone a private repo");
        assert_eq!((e.kind, e.fields.status), (Kind::Auth, Some(401)), "{e:?}");
    }

    #[test]
    fn git_cli_push_and_fetch_through_the_standin() {
        let s = Standin::start("cli");
        let g = s.gh(TOKEN);
        let r = g.create_repo(Some("acme"), "cli", true, "datom project: cli").unwrap();
        let authed = r.clone_url.replacen("http://", &format!("http://git:{TOKEN}@"), 1);
        let git = |dir: &Path, args: &[&str]| {
            let out = Command::new("git")
                .current_dir(dir)
                .args(["-c", "credential.helper=", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "protocol.version=0"])
                .args(args)
                .env_remove("LD_LIBRARY_PATH")
                .env("GIT_TERMINAL_PROMPT", "0")
                .output()
                .unwrap();
            (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
        };
        let w = s.work("cli");
        std::fs::create_dir_all(&w).unwrap();
        assert!(git(&w, &["init", "-q", "-b", "main"]).0);
        // a body larger than http.postBuffer goes out chunked
        let big: Vec<u8> = (0..400_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        std::fs::write(w.join("big.bin"), big).unwrap();
        assert!(git(&w, &["add", "big.bin"]).0);
        assert!(git(&w, &["commit", "-qm", "big"]).0);
        let (ok, err) = git(&w, &["-c", "http.postBuffer=65536", "push", "-q", &authed, "main"]);
        assert!(ok, "{err}");
        assert!(g.get_repo("acme", "cli").unwrap().unwrap().size > 0);
        // many local commits: the negotiation request is gzipped by git
        let w2 = s.work("cli2");
        let (ok, err) = git(&s.dir, &["clone", "-q", &authed, w2.to_str().unwrap()]);
        assert!(ok, "{err}");
        for i in 0..60 {
            std::fs::write(w2.join("n.txt"), format!("{i}\n")).unwrap();
            assert!(git(&w2, &["add", "n.txt"]).0);
            assert!(git(&w2, &["commit", "-qm", &format!("c{i}")]).0);
            assert!(git(&w2, &["tag", &format!("t{i}")]).0);
        }
        std::fs::write(w.join("x.txt"), "x\n").unwrap();
        assert!(git(&w, &["add", "x.txt"]).0);
        assert!(git(&w, &["commit", "-qm", "x"]).0);
        assert!(git(&w, &["push", "-q", &authed, "main"]).0);
        let (ok, err) = git(&w2, &["fetch", "-q", "origin"]);
        assert!(ok, "{err}");
        // wrong token: clean 401
        let wrong = r.clone_url.replacen("http://", "http://git:wrong-token@", 1);
        let (ok, err) = git(&s.dir, &["clone", "-q", &wrong, s.work("cli3").to_str().unwrap()]);
        assert!(!ok);
        assert!(err.contains("Authentication failed"), "{err}");
    }
}

//! Git plumbing on git2: repositories datom creates, clones, commits of
//! exactly the files a write touched, pushes whose rejection is its own error
//! kind, fetch and fast-forward, undo of a local commit.
//!
//! Credentials (a token for HTTPS remotes) are passed per call and never
//! written into `.git/config` or any message.

use crate::error::{Error, Kind, Result};
use git2::{BranchType, Cred, FetchOptions, PushOptions, RemoteCallbacks, Repository, RepositoryInitOptions, Signature};
use std::path::{Path, PathBuf};

mod tree;

pub const DEFAULT_BRANCH: &str = "main";
const FALLBACK_NAME: &str = "datom";
const FALLBACK_EMAIL: &str = "datom@noreply";

/// Credentials for a remote: a token for HTTPS (user `git`).
#[derive(Clone, Default)]
pub struct Creds {
    pub token: Option<String>,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Creds {{ token: {} }}", if self.token.is_some() { "<redacted>" } else { "None" })
    }
}

fn git_err(what: &str, e: git2::Error) -> Error {
    Error::new(Kind::Git, format!("{what}: {}", redact(e.message())))
}

/// An operation on a remote that failed: a refusal by the git host is
/// classed as on every other backend (HTTP 401 or libgit2's authentication
/// failure: `Kind::Auth`; HTTP 403: `Kind::Permission`; with the status),
/// anything else is `Kind::Git` with `hint`.
fn remote_err(msg: String, e: &git2::Error, hint: Option<&str>) -> Error {
    let lower = e.message().to_ascii_lowercase();
    let msg = format!("{msg}: {}", redact(e.message()));
    if e.code() == git2::ErrorCode::Auth || lower.contains("401") || lower.contains("authentication") {
        Error::new(Kind::Auth, msg)
            .with_status(401)
            .with_hint("The git host refused the token (wrong, expired, revoked or missing): set a valid github_pat in datom_store().")
    } else if lower.contains("403") {
        Error::new(Kind::Permission, msg)
            .with_status(403)
            .with_hint("The token has no access to this repository: check its scopes (repo) and the repository's permissions.")
    } else {
        let e = Error::new(Kind::Git, msg);
        match hint {
            Some(h) => e.with_hint(h),
            None => e,
        }
    }
}

/// Remove anything that looks like credentials embedded in a URL.
pub fn redact(s: &str) -> String {
    // https://user:secret@host -> https://***@host
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(tail.len());
        let auth = &tail[..end];
        if let Some(at) = auth.rfind('@') {
            out.push_str("***");
            out.push_str(&auth[at..]);
        } else {
            out.push_str(auth);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Refuse a repository URL with credentials in it (`https://user:TOKEN@host/...`,
/// `https://TOKEN@host/...`): they would be printed, written into
/// `.git/config` and committed in project files. Only an ssh user name
/// without a password (`git@host:o/r.git`, `ssh://git@host/o/r.git`) is
/// accepted. The message never contains the secret.
pub fn check_repo_url(url: &str, what: &str) -> Result<()> {
    let parsed = RepoUrl::parse(url);
    let shown = match &parsed {
        RepoUrl::Remote { scheme: None, userinfo: Some(u), .. } => format!("***{}", &url.trim()[u.len()..]),
        _ => redact(url),
    };
    let refuse = || {
        Error::input(format!("`{what}` contains credentials: {shown}"))
            .with_hint("Remove them from the URL and pass the token as github_pat instead; datom never accepts credentials inside a URL.")
    };
    if let RepoUrl::Remote { scheme, userinfo: Some(userinfo), .. } = &parsed {
        // only an ssh user name (`ssh://git@host/...`, scp-like
        // `git@host:path`), never a password or a token
        let ssh = scheme.as_deref().is_none_or(|s| matches!(s.to_ascii_lowercase().as_str(), "ssh" | "git+ssh" | "ssh+git"));
        if !ssh || userinfo.contains(':') {
            return Err(refuse());
        }
    }
    Ok(())
}

/// A repository URL, parsed once (every "is this local", "which host",
/// "same repository" question is answered from it): a local path or
/// `file://` URL (a bare repository datom manages), or a remote,
/// `scheme://[userinfo@]host/path` or scp-like `userinfo@host:path`.
/// Anything else (absolute or relative paths, also ones holding an `@`
/// but no `user@host:` head) is local.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoUrl {
    Local(PathBuf),
    Remote {
        /// `None` for the scp-like form.
        scheme: Option<String>,
        userinfo: Option<String>,
        /// Host (with port, when given).
        host: String,
        /// The path after the host, without its leading `/` or `:`.
        path: String,
    },
}

impl RepoUrl {
    pub fn parse(url: &str) -> RepoUrl {
        let url = url.trim();
        if let Some(p) = url.strip_prefix("file://") {
            return RepoUrl::Local(PathBuf::from(p));
        }
        if let Some((scheme, rest)) = url.split_once("://") {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let (userinfo, host) = match authority.rfind('@') {
                Some(at) => (Some(authority[..at].to_string()), &authority[at + 1..]),
                None => (None, authority),
            };
            return RepoUrl::Remote { scheme: Some(scheme.to_string()), userinfo, host: host.to_string(), path: path.trim_start_matches('/').to_string() };
        }
        // scp-like: `user@host:path`, the `@` and the `:` before any `/`
        let head = &url[..url.find('/').unwrap_or(url.len())];
        for (at, _) in head.match_indices('@').filter(|(i, _)| *i > 0) {
            if let Some(colon) = head[at + 1..].find(':').filter(|c| *c > 0) {
                let colon = at + 1 + colon;
                return RepoUrl::Remote {
                    scheme: None,
                    userinfo: Some(url[..at].to_string()),
                    host: url[at + 1..colon].to_string(),
                    path: url[colon + 1..].to_string(),
                };
            }
        }
        RepoUrl::Local(PathBuf::from(url))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, RepoUrl::Local(_))
    }

    /// The URL as datom records it: a local one as an absolute path (`~`
    /// expanded, relative to the working directory, resolved when it
    /// exists, no `.` segments or trailing `/`), a remote one unchanged.
    pub fn normalized(&self, original: &str) -> String {
        match self {
            RepoUrl::Local(p) => absolute_path(p).display().to_string(),
            RepoUrl::Remote { .. } => original.trim().to_string(),
        }
    }

    /// The repository's name: the last path segment without `.git`.
    pub fn name(&self) -> String {
        let path = match self {
            RepoUrl::Local(p) => p.to_string_lossy().into_owned(),
            RepoUrl::Remote { path, .. } => path.clone(),
        };
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
        last.strip_suffix(".git").map(|s| s.to_string()).unwrap_or(last)
    }

    /// Do two URLs name the same repository (a trailing `.git` or `/`
    /// ignored, local paths compared resolved)?
    pub fn same_repo(a: &str, b: &str) -> bool {
        fn key(u: &str) -> String {
            let strip = |u: &str| -> String {
                let u = u.trim().trim_end_matches('/');
                u.strip_suffix(".git").unwrap_or(u).trim_end_matches('/').to_string()
            };
            match RepoUrl::parse(u) {
                RepoUrl::Local(p) => strip(&absolute_path(&p).to_string_lossy()),
                RepoUrl::Remote { .. } => strip(u),
            }
        }
        key(a) == key(b)
    }
}

/// `p` made absolute: `~/` expanded, joined to the working directory,
/// resolved when it exists, else cleaned lexically (no `.` segments, no
/// trailing `/`).
pub fn absolute_path(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    let expanded = match (s.strip_prefix("~/").or(if s == "~" { Some("") } else { None }), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    };
    let abs = if expanded.is_absolute() { expanded } else { std::env::current_dir().map(|d| d.join(&expanded)).unwrap_or(expanded) };
    if let Ok(c) = std::fs::canonicalize(&abs) {
        return c;
    }
    abs.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
}

/// Is `url` a local path or `file://` URL (a bare repository datom manages)?
pub fn is_local_remote(url: &str) -> bool {
    RepoUrl::parse(url).is_local()
}

/// The filesystem path of a local remote URL.
pub fn local_remote_path(url: &str) -> PathBuf {
    match RepoUrl::parse(url) {
        RepoUrl::Local(p) => p,
        RepoUrl::Remote { .. } => PathBuf::from(url),
    }
}

/// Repository-local git config key marking a bare repository datom created
/// (`datom.managed = true`): the only local remotes datom ever deletes.
pub const MANAGED_KEY: &str = "datom.managed";

/// Create a bare repository at `path` (HEAD on `main`) unless one exists.
/// A repository created here is marked [`MANAGED_KEY`]; an existing one is
/// adopted as it is (unmarked: datom will not delete it).
pub fn ensure_bare(path: &Path) -> Result<()> {
    if Repository::open_bare(path).is_ok() {
        return Ok(());
    }
    std::fs::create_dir_all(path).map_err(|e| Error::new(Kind::Git, format!("cannot create {}: {e}", path.display())))?;
    let mut opts = RepositoryInitOptions::new();
    opts.bare(true).initial_head(DEFAULT_BRANCH);
    let repo = Repository::init_opts(path, &opts).map_err(|e| git_err("cannot create bare repository", e))?;
    repo.config()
        .and_then(|c| c.open_level(git2::ConfigLevel::Local))
        .and_then(|mut c| c.set_bool(MANAGED_KEY, true))
        .map_err(|e| git_err("cannot mark the bare repository as datom's", e))?;
    Ok(())
}

/// Is `path` a bare repository datom created: bare, and marked
/// `datom.managed = true` in its own config (global config does not count)?
pub fn is_managed_bare(path: &Path) -> bool {
    let Ok(repo) = Repository::open_bare(path) else { return false };
    if !repo.is_bare() {
        return false;
    }
    // open_bare forces bare mode: the repository's own core.bare decides
    let Ok(local) = repo.config().and_then(|c| c.open_level(git2::ConfigLevel::Local)) else { return false };
    local.get_bool("core.bare").unwrap_or(false) && local.get_bool(MANAGED_KEY).unwrap_or(false)
}

/// Callbacks of a network operation: credentials, and the cancel flag
/// checked wherever libgit2 lets a callback stop the transfer.
fn callbacks<'a>(creds: &'a Creds, ctl: &'a NetCtl) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    let mut tried = false;
    cb.credentials(move |_url, username, allowed| {
        if ctl.cancelled() {
            return Err(git2::Error::from_str("cancelled"));
        }
        if tried {
            return Err(git2::Error::from_str("authentication failed"));
        }
        tried = true;
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(t) = &creds.token {
                return Cred::userpass_plaintext("git", t);
            }
        }
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        Cred::default()
    });
    cb.transfer_progress(move |_| !ctl.cancelled());
    cb.sideband_progress(move |_| !ctl.cancelled());
    cb.update_tips(move |_, _, _| !ctl.cancelled());
    cb.push_negotiation(move |_| if ctl.cancelled() { Err(git2::Error::from_str("cancelled")) } else { Ok(()) });
    cb
}

/// libgit2 settings for datom's repositories, set once per process: every
/// object datom writes is one it just created from its own bytes, so the
/// existence checks of strict object creation are redundant work on each
/// commit (objects read back are still verified against their hash).
fn tune_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_object_creation(false);
    });
}

/// How long a network git operation waits: for the TCP connection, and for
/// each answer of the server once connected (a stall). Defaults 30 s / 60 s;
/// `DATOM_GIT_TIMEOUT` (seconds) sets both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeouts {
    pub connect_ms: u64,
    pub stall_ms: u64,
}

impl Timeouts {
    pub const DEFAULT: Timeouts = Timeouts { connect_ms: 30_000, stall_ms: 60_000 };

    /// The defaults, or `DATOM_GIT_TIMEOUT` seconds (a positive number) for both.
    pub fn from_env() -> Timeouts {
        Timeouts::parse(std::env::var("DATOM_GIT_TIMEOUT").ok().as_deref())
    }

    /// Timeouts from a number of seconds; the defaults for anything else.
    fn parse(secs: Option<&str>) -> Timeouts {
        match secs.and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(s) if s.is_finite() && s > 0.0 => {
                let ms = (s * 1000.0).round().clamp(1.0, i32::MAX as f64) as u64;
                Timeouts { connect_ms: ms, stall_ms: ms }
            }
            _ => Timeouts::DEFAULT,
        }
    }

    /// Make libgit2's sockets use these timeouts. libgit2 reads the settings
    /// when it opens a connection, so an operation keeps the timeouts that
    /// were current when it started.
    fn apply(&self) -> Result<()> {
        // SAFETY: these set two process-wide integers in libgit2.
        unsafe {
            git2::opts::set_server_connect_timeout_in_milliseconds(self.connect_ms as i32)
                .and_then(|_| git2::opts::set_server_timeout_in_milliseconds(self.stall_ms as i32))
        }
        .map_err(|e| git_err("cannot set the git timeouts", e))
    }
}

fn secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A network git operation, for its messages: what it does and to which
/// remote (the URL with credentials redacted).
#[derive(Clone, Debug)]
struct NetOp {
    /// "clone", "fetch from", "push to", "reach"
    verb: &'static str,
    /// `remote "origin" (https://host/x.git)` or the URL of a clone
    target: String,
    timeouts: Timeouts,
}

impl NetOp {
    fn new(verb: &'static str, remote: Option<&str>, url: &str) -> NetOp {
        let url = redact(url);
        let target = match remote {
            Some(r) if url.is_empty() => format!("remote \"{r}\""),
            Some(r) => format!("remote \"{r}\" ({url})"),
            None => url,
        };
        NetOp { verb, target, timeouts: Timeouts::from_env() }
    }

    /// A failure of the network itself (no connection, a timeout, an
    /// unknown host) as `Kind::Network`; `None` for any other git failure.
    fn network_error(&self, e: &git2::Error) -> Option<Error> {
        let msg = e.message();
        let lower = msg.to_ascii_lowercase();
        let hint = "Check your network and that the git host is up; DATOM_GIT_TIMEOUT=<seconds> sets how long datom waits for it.";
        // Over TLS a timed-out read surfaces as OpenSSL's "syscall failure"
        // with the EAGAIN of the socket libgit2 made non-blocking to time it.
        let tls_timeout = lower.contains("syscall failure") && lower.contains("temporarily unavailable");
        if e.code() == git2::ErrorCode::Timeout || lower.contains("timed out") || tls_timeout {
            let cause = if lower.contains("failed to connect") {
                format!("no connection within {}", secs(self.timeouts.connect_ms))
            } else {
                format!("the server did not answer for {}", secs(self.timeouts.stall_ms))
            };
            return Some(Error::new(Kind::Network, format!("cannot {} {}: {cause} (timed out)", self.verb, self.target)).with_hint(hint));
        }
        let unreachable = ["failed to connect", "failed to resolve address", "connection refused", "connection reset", "network is unreachable"];
        if unreachable.iter().any(|p| lower.contains(p)) {
            return Some(
                Error::new(Kind::Network, format!("cannot {} {}: {}", self.verb, self.target, redact(msg)))
                    .with_hint("Check your network and the remote URL."),
            );
        }
        None
    }

    fn interrupted(&self) -> Error {
        let hint = match self.verb {
            "clone" => "Nothing was cloned; re-run the call.",
            "push to" => "The push may have reached the remote before it was cancelled: run datom_pull() before retrying.",
            _ => "The clone is unchanged; re-run the call.",
        };
        Error::new(Kind::Interrupted, format!("interrupted by the user; cancelled: {} {}", self.verb, self.target)).with_hint(hint)
    }
}

/// What a network operation's worker thread shares with its caller: the
/// cancel flag (checked by libgit2's callbacks: returning "stop" aborts the
/// transfer) and the gate of the operation's last local step.
#[derive(Default)]
struct NetCtl {
    cancelled: std::sync::atomic::AtomicBool,
    /// `true` once the worker's last step (see [`NetCtl::finish`]) ran.
    finished: std::sync::Mutex<bool>,
}

impl NetCtl {
    fn cancelled(&self) -> bool {
        self.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Cancel the operation unless its last step already ran (then `false`).
    fn cancel(&self) -> bool {
        let done = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        if *done {
            return false;
        }
        self.cancelled.store(true, std::sync::atomic::Ordering::SeqCst);
        true
    }

    /// Run the last, local step of an operation (moving a finished clone
    /// into place) unless the caller cancelled it: a cancelled operation
    /// never makes anything visible.
    fn finish<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut done = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        if self.cancelled() {
            return Err(Error::new(Kind::Interrupted, "cancelled"));
        }
        let out = f();
        *done = out.is_ok();
        out
    }
}

/// How long an interrupted caller waits for the worker to stop.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_millis(1000);

/// Run a network git operation. With `inline` (a local remote: no network)
/// it runs on the calling thread. Otherwise it runs on a worker thread with
/// the operation's timeouts, while the calling thread waits interruptibly
/// (on R's main thread, Ctrl-C is checked every 200 ms). On an interrupt the
/// operation is cancelled and the caller gets `Kind::Interrupted` after at
/// most [`CANCEL_GRACE`]; a worker stalled in a read is left to end on its
/// own timeout (it touches nothing visible afterwards: see
/// [`NetCtl::finish`]). An operation that completed within the grace period
/// returns its result: it happened.
fn run_net<T: Send + 'static>(op: &NetOp, inline: bool, f: impl FnOnce(&NetCtl) -> Result<T> + Send + 'static) -> Result<T> {
    use std::sync::mpsc::{channel, RecvTimeoutError, TryRecvError};
    if inline {
        return f(&NetCtl::default());
    }
    op.timeouts.apply()?;
    let ctl = std::sync::Arc::new(NetCtl::default());
    let (tx, rx) = channel::<Result<T>>();
    let worker_ctl = ctl.clone();
    std::thread::Builder::new()
        .name("datom-git".into())
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&worker_ctl)))
                .unwrap_or_else(|_| Err(Error::internal("the git worker thread panicked")));
            let _ = tx.send(out);
        })
        .map_err(|e| Error::internal(format!("cannot start a git worker thread: {e}")))?;
    let lost = || Error::internal("the git worker thread ended without a result");
    // A quick operation returns without the polling loop's latency.
    match rx.recv_timeout(std::time::Duration::from_millis(100)) {
        Ok(out) => return out,
        Err(RecvTimeoutError::Disconnected) => return Err(lost()),
        Err(RecvTimeoutError::Timeout) => {}
    }
    let slot: std::cell::RefCell<Option<Result<T>>> = std::cell::RefCell::new(None);
    let done = || {
        if slot.borrow().is_none() {
            match rx.try_recv() {
                Ok(out) => *slot.borrow_mut() = Some(out),
                Err(TryRecvError::Disconnected) => *slot.borrow_mut() = Some(Err(lost())),
                Err(TryRecvError::Empty) => {}
            }
        }
        slot.borrow().is_some()
    };
    match crate::runtime::wait_interruptible(done) {
        Ok(()) => slot.into_inner().unwrap_or_else(|| Err(lost())),
        Err(_) => {
            if let Some(out) = slot.into_inner() {
                return out;
            }
            if !ctl.cancel() {
                // the last step already ran: the result is moments away
                return rx.recv().unwrap_or_else(|_| Err(lost()));
            }
            match rx.recv_timeout(CANCEL_GRACE) {
                Ok(Ok(v)) => Ok(v),
                _ => Err(op.interrupted()),
            }
        }
    }
}

/// A sibling of `path` for a clone in progress: `.<name>.datom-clone-XXXX`.
fn clone_staging_dir(path: &Path) -> Result<PathBuf> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::input(format!("{} is not a directory path to clone into", path.display())))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(parent.join(format!(".{name}.datom-clone-{:x}{:x}{seq:x}", std::process::id(), nanos)))
}

/// The error of a failed network operation: `Kind::Interrupted` when it
/// was cancelled, `Kind::Network` for a failure of the network, else `other`.
fn net_failure(op: &NetOp, ctl: &NetCtl, e: git2::Error, other: impl FnOnce(git2::Error) -> Error) -> Error {
    if ctl.cancelled() {
        return op.interrupted();
    }
    op.network_error(&e).unwrap_or_else(|| other(e))
}

/// Clone `url` into `staging`, then (unless cancelled) move it to `target`
/// (absent or an empty directory).
fn clone_into(url: &str, staging: &Path, target: &Path, creds: &Creds, op: &NetOp, ctl: &NetCtl, branch: Option<&str>) -> Result<()> {
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(callbacks(creds, ctl));
    let mut b = git2::build::RepoBuilder::new();
    b.fetch_options(fo);
    if let Some(br) = branch {
        b.branch(br);
    }
    let repo = b.clone(url, staging).map_err(|e| {
        if let Some(br) = branch {
            if e.code() == git2::ErrorCode::NotFound && e.class() == git2::ErrorClass::Reference {
                return Error::new(Kind::NotFound, format!("cannot clone {}: the remote has no branch {br:?}", redact(url)))
                    .with_hint("Check the branch name (datom's default branch is main).");
            }
        }
        net_failure(op, ctl, e, |e| remote_err(format!("cannot clone {}", redact(url)), &e, None))
    })?;
    // An empty remote cannot tell libgit2 its default branch: datom's is main.
    if repo.head().is_err() {
        repo.set_head(&format!("refs/heads/{DEFAULT_BRANCH}")).map_err(|e| git_err("HEAD", e))?;
    }
    drop(repo);
    ctl.finish(|| {
        if target.is_dir() {
            // only an empty directory can be replaced
            std::fs::remove_dir(target).map_err(|e| Error::new(Kind::Git, format!("cannot replace {}: {e}", target.display())))?;
        }
        std::fs::rename(staging, target)
            .map_err(|e| Error::new(Kind::Git, format!("cannot move the clone into {}: {e}", target.display())))
    })
}

/// A datom-managed working repository.
pub struct Repo {
    repo: Repository,
}

/// Outcome of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Ok,
}

impl Repo {
    /// Initialise a working repository at `path` on branch `main`.
    pub fn init(path: &Path) -> Result<Repo> {
        let mut opts = RepositoryInitOptions::new();
        opts.initial_head(DEFAULT_BRANCH);
        let repo = Repository::init_opts(path, &opts).map_err(|e| git_err("cannot initialise repository", e))?;
        let r = Repo { repo };
        r.ensure_identity()?;
        Ok(r)
    }

    pub fn open(path: &Path) -> Result<Repo> {
        tune_libgit2();
        let repo = Repository::open(path).map_err(|e| git_err(&format!("{} is not a git repository", path.display()), e))?;
        Ok(Repo { repo })
    }

    /// Clone `url` into `path`, set a local identity. The clone is made in
    /// a hidden sibling directory (`.<name>.datom-clone-XXXX`) and moved
    /// into place only when it is complete: a failed, timed-out or
    /// interrupted clone leaves `path` as it was.
    pub fn clone(url: &str, path: &Path, creds: &Creds) -> Result<Repo> {
        Repo::clone_branch(url, path, creds, None)
    }

    /// Clone `url` into `path`, checking out `branch` (the remote's default
    /// branch when `None`).
    pub fn clone_branch(url: &str, path: &Path, creds: &Creds, branch: Option<&str>) -> Result<Repo> {
        tune_libgit2();
        let branch = branch.map(|b| b.to_string());
        let staging = clone_staging_dir(path)?;
        if let Some(parent) = staging.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::new(Kind::Git, format!("cannot create {}: {e}", parent.display())))?;
        }
        let op = NetOp::new("clone", None, url);
        let (url_w, staging_w, target, creds, op_w) = (url.to_string(), staging.clone(), path.to_path_buf(), creds.clone(), op.clone());
        let cloned = run_net(&op, is_local_remote(url), move |ctl| {
            let out = clone_into(&url_w, &staging_w, &target, &creds, &op_w, ctl, branch.as_deref());
            if out.is_err() {
                let _ = std::fs::remove_dir_all(&staging_w);
            }
            out
        });
        if let Err(e) = cloned {
            // After an interrupt the worker may still be waiting on the
            // server; its clone can no longer be moved into place, and its
            // staging directory goes now (the process may end before it does).
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        let r = Repo::open(path)?;
        r.ensure_identity()?;
        Ok(r)
    }

    pub fn workdir(&self) -> Result<&Path> {
        self.repo.workdir().ok_or_else(|| Error::new(Kind::Git, "repository has no working tree"))
    }

    /// Give the repository a local user.name/user.email: the global identity
    /// if there is one, else `datom` / `datom@noreply`.
    pub fn ensure_identity(&self) -> Result<()> {
        let cfg = self.repo.config().map_err(|e| git_err("config", e))?;
        let name = cfg.get_string("user.name").ok();
        let email = cfg.get_string("user.email").ok();
        let mut local = cfg.open_level(git2::ConfigLevel::Local).map_err(|e| git_err("config", e))?;
        if name.is_none() {
            local.set_str("user.name", FALLBACK_NAME).map_err(|e| git_err("config", e))?;
        }
        if email.is_none() {
            local.set_str("user.email", FALLBACK_EMAIL).map_err(|e| git_err("config", e))?;
        }
        Ok(())
    }

    /// The identity commits are made with.
    pub fn identity(&self) -> (String, String) {
        match self.repo.signature() {
            Ok(s) => (s.name().unwrap_or(FALLBACK_NAME).to_string(), s.email().unwrap_or(FALLBACK_EMAIL).to_string()),
            Err(_) => (FALLBACK_NAME.to_string(), FALLBACK_EMAIL.to_string()),
        }
    }

    pub fn set_remote(&self, name: &str, url: &str) -> Result<()> {
        if self.repo.find_remote(name).is_ok() {
            self.repo.remote_set_url(name, url).map_err(|e| git_err("remote", e))?;
        } else {
            self.repo.remote(name, url).map_err(|e| git_err("remote", e))?;
        }
        Ok(())
    }

    pub fn remote_url(&self, name: &str) -> Option<String> {
        self.repo.find_remote(name).ok().and_then(|r| r.url().ok().map(|s| s.to_string()))
    }

    /// Name of the checked-out branch; errors on a detached HEAD or an
    /// empty repository.
    pub fn branch(&self) -> Result<String> {
        if self.repo.head_detached().unwrap_or(false) {
            return Err(Error::new(Kind::Git, "HEAD is detached — datom requires a branch").with_hint("Check out a branch, e.g. git checkout main."));
        }
        match self.repo.head() {
            Ok(h) => Ok(h.shorthand().unwrap_or(DEFAULT_BRANCH).to_string()),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => Err(Error::new(Kind::Git, "repository has no commits")),
            Err(e) => Err(git_err("HEAD", e)),
        }
    }

    pub fn head_oid(&self) -> Option<git2::Oid> {
        self.repo.head().ok().and_then(|h| h.target())
    }

    pub fn head_sha(&self) -> Option<String> {
        self.head_oid().map(|o| o.to_string())
    }

    /// Stage exactly `paths` (added, modified or deleted) and commit them.
    /// Returns the new commit, or the current HEAD when nothing changed.
    pub fn commit_paths(&self, paths: &[&str], message: &str) -> Result<String> {
        let mut index = self.repo.index().map_err(|e| git_err("index", e))?;
        let wd = self.workdir()?.to_path_buf();
        for p in paths {
            if wd.join(p).exists() {
                index.add_path(Path::new(p)).map_err(|e| git_err(&format!("cannot stage {p}"), e))?;
            } else {
                let _ = index.remove_path(Path::new(p));
            }
        }
        index.write().map_err(|e| git_err("index", e))?;
        let tree_id = index.write_tree().map_err(|e| git_err("tree", e))?;
        let tree = self.repo.find_tree(tree_id).map_err(|e| git_err("tree", e))?;
        let parent = self.head_oid().and_then(|o| self.repo.find_commit(o).ok());
        if let Some(p) = &parent {
            if p.tree_id() == tree_id {
                return Ok(p.id().to_string());
            }
        }
        let sig = self.signature()?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let oid = self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).map_err(|e| git_err("commit", e))?;
        Ok(oid.to_string())
    }

    fn signature(&self) -> Result<Signature<'static>> {
        let (n, e) = self.identity();
        Signature::now(&n, &e).map_err(|e| git_err("signature", e))
    }

    /// Push the current branch to `remote`. A non-fast-forward rejection is
    /// `Kind::PushRejected`; other failures `Kind::Git`.
    pub fn push(&self, remote: &str, creds: &Creds) -> Result<()> {
        // Another process holding the remote's ref lock is transient: retry
        // with backoff before reporting.
        let mut delay = std::time::Duration::from_millis(20);
        for _ in 0..12 {
            match self.push_once(remote, creds) {
                Err(e) if e.kind == Kind::Git && (e.message.contains(".lock") || e.message.contains("locked")) => {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(std::time::Duration::from_millis(500));
                }
                other => return other,
            }
        }
        self.push_once(remote, creds)
    }

    fn push_once(&self, remote: &str, creds: &Creds) -> Result<()> {
        // A local bare remote has no server to compare-and-swap the branch:
        // libgit2's local transport checks fast-forward against the refs it
        // listed before taking the ref lock, so two concurrent pushes could
        // overwrite each other. datom serialises pushes to a local remote
        // with an exclusive lock file and re-checks against the remote's
        // current branch while holding it.
        if let Some(url) = self.remote_url(remote) {
            if is_local_remote(&url) {
                let bare = local_remote_path(&url);
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(bare.join("datom-push.lock"))
                    .map_err(|e| Error::new(Kind::Git, format!("cannot open the push lock of {}: {e}", bare.display())))?;
                lock.lock().map_err(|e| Error::new(Kind::Git, format!("cannot lock {}: {e}", bare.display())))?;
                let branch = self.branch()?;
                let remote_tip = Repository::open_bare(&bare)
                    .ok()
                    .and_then(|r| r.find_reference(&format!("refs/heads/{branch}")).ok().and_then(|x| x.target()));
                if let (Some(tip), Some(local)) = (remote_tip, self.head_oid()) {
                    let known = self.repo.find_commit(tip).is_ok();
                    let ff = tip == local || (known && self.repo.graph_descendant_of(local, tip).unwrap_or(false));
                    if !ff {
                        return Err(push_rejected(remote, &branch));
                    }
                }
                let res = self.push_unlocked(remote, creds);
                drop(lock);
                return res;
            }
        }
        self.push_unlocked(remote, creds)
    }

    fn push_unlocked(&self, remote: &str, creds: &Creds) -> Result<()> {
        let branch = self.branch()?;
        let url = self.remote_url(remote).unwrap_or_default();
        let op = NetOp::new("push to", Some(remote), &url);
        let (remote_w, branch_w, creds_w, op_w) = (remote.to_string(), branch.clone(), creds.clone(), op.clone());
        let rejected = self.on_remote(&op, &url, move |repo, ctl| {
            let mut r = repo.find_remote(&remote_w).map_err(|e| git_err("remote", e))?;
            let rejected: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
            let mut cb = callbacks(&creds_w, ctl);
            cb.push_update_reference(|_refname, status| {
                if let Some(s) = status {
                    *rejected.borrow_mut() = Some(s.to_string());
                }
                Ok(())
            });
            let mut po = PushOptions::new();
            po.remote_callbacks(cb);
            let spec = format!("refs/heads/{branch_w}:refs/heads/{branch_w}");
            if let Err(e) = r.push(&[spec.as_str()], Some(&mut po)) {
                if e.code() == git2::ErrorCode::NotFastForward || is_rejection(e.message()) {
                    return Err(push_rejected(&remote_w, &branch_w));
                }
                return Err(net_failure(&op_w, ctl, e, |e| {
                    remote_err(format!("Failed to push to remote \"{remote_w}\""), &e, Some("Check your credentials and remote access."))
                }));
            }
            drop(po);
            Ok(rejected.into_inner())
        })?;
        if let Some(s) = rejected {
            if is_rejection(&s) || s.contains("rejected") {
                return Err(push_rejected(remote, &branch));
            }
            return Err(Error::new(Kind::Git, format!("Failed to push to remote \"{remote}\": {}", redact(&s)))
                .with_hint("Check your credentials and remote access."));
        }
        // Upstream tracking after the first push.
        if let Ok(mut b) = self.repo.find_branch(&branch, BranchType::Local) {
            if b.upstream().is_err() {
                let _ = self.fetch(remote, creds);
                let _ = b.set_upstream(Some(&format!("{remote}/{branch}")));
            }
        }
        Ok(())
    }

    /// Can `remote` be reached and read with `creds`? One call: the
    /// remote's ref list. The error says which part failed: the remote is
    /// gone (a local path that is no repository, or a host answering 404),
    /// the credential was refused or is missing, or the network.
    pub fn check_remote(&self, remote: &str, creds: &Creds) -> Result<()> {
        let url = self
            .remote_url(remote)
            .ok_or_else(|| Error::input(format!("the data clone has no remote {remote:?}")).with_hint("Re-clone the project with datom_clone()."))?;
        let shown = redact(&url);
        if is_local_remote(&url) {
            let p = local_remote_path(&url);
            if Repository::open_bare(&p).is_err() {
                return Err(Error::new(Kind::NotFound, format!("the data repo's remote {} is not a git repository (missing or moved)", p.display()))
                    .with_hint("Restore the remote, or point origin at its new location (git remote set-url origin <url>)."));
            }
            return Ok(());
        }
        let has_token = creds.token.is_some();
        let op = NetOp::new("reach", Some(remote), &url);
        let (remote_w, creds_w, op_w) = (remote.to_string(), creds.clone(), op.clone());
        self.on_remote(&op, &url, move |repo, ctl| {
            let mut r = repo.find_remote(&remote_w).map_err(|e| git_err("remote", e))?;
            let fail = |e: git2::Error| -> Error {
                let lower = e.message().to_ascii_lowercase();
                net_failure(&op_w, ctl, e, |e| {
                    if e.code() == git2::ErrorCode::Auth || lower.contains("authentication") || lower.contains("401") {
                        if has_token {
                            Error::new(Kind::Auth, format!("the git host refused the token for the data repo {shown}"))
                                .with_hint("The token is wrong, expired or revoked: set a valid one as github_pat in datom_store().")
                        } else {
                            Error::new(Kind::Auth, format!("the data repo {shown} needs a token and none was given"))
                                .with_hint("Pass github_pat = datom_secret(\"GITHUB_PAT\") (or the token) to datom_store().")
                        }
                    } else if lower.contains("404") || lower.contains("not found") {
                        Error::new(Kind::NotFound, format!("the data repo {shown} does not exist on its host (or the token cannot see it)"))
                            .with_hint("Check the repository URL and that the token has access to it.")
                    } else if lower.contains("403") {
                        Error::new(Kind::Permission, format!("the git host denied access to the data repo {shown}"))
                            .with_hint("Check the token's scopes (repo).")
                    } else {
                        git_err(&format!("cannot reach the data repo {shown}"), e)
                    }
                })
            };
            let conn = r.connect_auth(git2::Direction::Fetch, Some(callbacks(&creds_w, ctl)), None).map_err(fail)?;
            conn.list().map_err(fail)?;
            Ok(())
        })
    }

    /// Does `remote` have at least one branch? (An unreachable remote is an error.)
    pub fn remote_has_refs(&self, remote: &str, creds: &Creds) -> Result<bool> {
        let url = self.remote_url(remote).unwrap_or_default();
        let op = NetOp::new("reach", Some(remote), &url);
        let (remote_w, creds_w, op_w) = (remote.to_string(), creds.clone(), op.clone());
        self.on_remote(&op, &url, move |repo, ctl| {
            let mut r = repo.find_remote(&remote_w).map_err(|e| git_err("remote", e))?;
            let conn = r
                .connect_auth(git2::Direction::Fetch, Some(callbacks(&creds_w, ctl)), None)
                .map_err(|e| net_failure(&op_w, ctl, e, |e| remote_err(format!("cannot reach remote {remote_w}"), &e, None)))?;
            let heads = conn.list().map_err(|e| net_failure(&op_w, ctl, e, |e| remote_err("ls-remote".to_string(), &e, None)))?;
            Ok(heads.iter().any(|h| h.name().starts_with("refs/heads/")))
        })
    }

    /// Run `f` on this repository against a remote at `url`: on the calling
    /// thread for a local remote, else through [`run_net`] on a worker
    /// thread with a handle of its own (`Repository` is not `Send`).
    fn on_remote<T: Send + 'static>(
        &self,
        op: &NetOp,
        url: &str,
        f: impl FnOnce(&Repository, &NetCtl) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if is_local_remote(url) {
            return f(&self.repo, &NetCtl::default());
        }
        let git_dir = self.repo.path().to_path_buf();
        run_net(op, false, move |ctl| {
            let repo = Repository::open(&git_dir).map_err(|e| git_err("cannot open the repository", e))?;
            f(&repo, ctl)
        })
    }

    /// Name of the first configured remote.
    pub fn first_remote_name(&self) -> Option<String> {
        let names = self.repo.remotes().ok()?;
        let first = names.iter().flatten().flatten().next().map(|s| s.to_string());
        first
    }

    /// The tip of `remote`'s copy of the default branch after a fetch.
    pub fn remote_branch_oid(&self, remote: &str) -> Result<Option<git2::Oid>> {
        Ok(self.repo.find_reference(&format!("refs/remotes/{remote}/{DEFAULT_BRANCH}")).ok().and_then(|r| r.target()))
    }

    /// Undo the first commit of a repository: the branch becomes unborn
    /// again and the index empty (working files are left alone).
    pub fn unborn_reset(&self) -> Result<()> {
        if let Ok(h) = self.repo.head() {
            if let Some(name) = h.name().ok().map(|s| s.to_string()) {
                drop(h);
                if let Ok(mut r) = self.repo.find_reference(&name) {
                    r.delete().map_err(|e| git_err("branch", e))?;
                }
            }
        }
        let mut index = self.repo.index().map_err(|e| git_err("index", e))?;
        index.clear().map_err(|e| git_err("index", e))?;
        index.write().map_err(|e| git_err("index", e))?;
        Ok(())
    }

    /// Is `path` in HEAD's tree?
    pub fn is_tracked(&self, path: &str) -> bool {
        self.head_oid()
            .and_then(|o| self.repo.find_commit(o).ok())
            .and_then(|c| c.tree().ok())
            .map(|t| t.get_path(Path::new(path)).is_ok())
            .unwrap_or(false)
    }

    /// Fetch `remote`'s branches.
    pub fn fetch(&self, remote: &str, creds: &Creds) -> Result<()> {
        let url = self.remote_url(remote).unwrap_or_default();
        let op = NetOp::new("fetch from", Some(remote), &url);
        let (remote_w, creds_w, op_w) = (remote.to_string(), creds.clone(), op.clone());
        self.on_remote(&op, &url, move |repo, ctl| {
            let mut r = repo.find_remote(&remote_w).map_err(|e| git_err("remote", e))?;
            let mut fo = FetchOptions::new();
            fo.remote_callbacks(callbacks(&creds_w, ctl));
            r.fetch(&[] as &[&str], Some(&mut fo), None)
                .map_err(|e| net_failure(&op_w, ctl, e, |e| remote_err(format!("cannot fetch from {remote_w}"), &e, None)))
        })
    }

    fn upstream_oid(&self, remote: &str) -> Result<Option<git2::Oid>> {
        let branch = self.branch()?;
        match self.repo.find_reference(&format!("refs/remotes/{remote}/{branch}")) {
            Ok(r) => Ok(r.target()),
            Err(_) => Ok(None),
        }
    }

    /// Commits (ahead, behind) relative to `remote`'s copy of the branch.
    pub fn ahead_behind(&self, remote: &str) -> Result<(usize, usize)> {
        let (Some(local), Some(up)) = (self.head_oid(), self.upstream_oid(remote)?) else {
            return Ok((0, 0));
        };
        self.repo.graph_ahead_behind(local, up).map_err(|e| git_err("ahead/behind", e))
    }

    /// Fast-forward the branch to `remote`'s copy. Returns the number of
    /// commits pulled. A diverged branch is an error.
    pub fn fast_forward(&self, remote: &str) -> Result<usize> {
        let Some(up) = self.upstream_oid(remote)? else { return Ok(0) };
        let (ahead, behind) = self.ahead_behind(remote)?;
        if behind == 0 {
            return Ok(0);
        }
        if ahead > 0 {
            return Err(Error::new(Kind::Git, format!("local branch has diverged from {remote} ({ahead} ahead, {behind} behind)"))
                .with_hint("Resolve the divergence with git (e.g. git rebase) before using datom."));
        }
        self.checkout_to(up)?;
        Ok(behind)
    }

    /// Move the branch and working tree to `oid` (hard reset).
    pub fn reset_hard(&self, oid: &str) -> Result<()> {
        let oid = git2::Oid::from_str(oid).map_err(|e| git_err("oid", e))?;
        self.checkout_to(oid)
    }

    fn checkout_to(&self, oid: git2::Oid) -> Result<()> {
        let obj = self.repo.find_object(oid, None).map_err(|e| git_err("object", e))?;
        let mut co = git2::build::CheckoutBuilder::new();
        co.force();
        self.repo.reset(&obj, git2::ResetType::Hard, Some(&mut co)).map_err(|e| git_err("reset", e))
    }

    /// Files with staged, unstaged or untracked changes (ignored files excluded).
    pub fn uncommitted(&self) -> Result<Vec<String>> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
        let st = self.repo.statuses(Some(&mut opts)).map_err(|e| git_err("status", e))?;
        Ok(st.iter().filter_map(|e| e.path().ok().map(|p| p.to_string())).collect())
    }

    /// Files of the working tree git does not hold as committed: untracked,
    /// ignored (e.g. extracts in `input_files/`) and modified files. What
    /// removing the clone would destroy.
    pub fn user_files(&self) -> Result<Vec<String>> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(true).recurse_ignored_dirs(true);
        let st = self.repo.statuses(Some(&mut opts)).map_err(|e| git_err("status", e))?;
        let mut out: Vec<String> = st.iter().filter_map(|e| e.path().ok().map(|p| p.to_string())).collect();
        out.sort();
        Ok(out)
    }

    /// Paths changed between two commits.
    pub fn changed_paths(&self, from: &str, to: &str) -> Result<Vec<String>> {
        let a = self.repo.find_commit(git2::Oid::from_str(from).map_err(|e| git_err("oid", e))?).map_err(|e| git_err("commit", e))?;
        let b = self.repo.find_commit(git2::Oid::from_str(to).map_err(|e| git_err("oid", e))?).map_err(|e| git_err("commit", e))?;
        let d = self
            .repo
            .diff_tree_to_tree(Some(&a.tree().map_err(|e| git_err("tree", e))?), Some(&b.tree().map_err(|e| git_err("tree", e))?), None)
            .map_err(|e| git_err("diff", e))?;
        Ok(d.deltas().filter_map(|x| x.new_file().path().map(|p| p.to_string_lossy().into_owned())).collect())
    }
}

/// Server answers that mean "the branch moved under you": the remote's ref
/// changed between negotiation and update (a concurrent push).
fn is_rejection(msg: &str) -> bool {
    ["non-fast-forward", "fetch first", "failed to update ref", "cannot lock ref", "incorrect old value", "stale info"]
        .iter()
        .any(|p| msg.contains(p))
}

fn push_rejected(remote: &str, branch: &str) -> Error {
    Error::new(Kind::PushRejected, format!("Failed to push to {remote}/{branch}: rejected (non-fast-forward)"))
        .with_hint("Run datom_pull(conn) to incorporate origin's changes, then retry the write.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        crate::testutil::scratch_dir(&format!("git-{tag}"))
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("https://git:ghp_secret@github.com/a/b.git failed"), "https://***@github.com/a/b.git failed");
        assert_eq!(redact("no url here"), "no url here");
    }

    #[test]
    fn urls_with_credentials_are_refused() {
        for bad in [
            "https://x:ghp_SECRET@github.com/o/r.git",
            "https://ghp_SECRET@github.com/o/r.git",
            "http://u:p@127.0.0.1:8080/o/r.git",
            "ssh://git:pw@host/o/r.git",
            "x:ghp_SECRET@github.com:o/r.git",
        ] {
            let e = check_repo_url(bad, "data_repo_url").unwrap_err();
            assert_eq!(e.kind, Kind::Input, "{bad}");
            assert!(!e.message.contains("SECRET") && !e.message.contains(":pw@") && !e.message.contains(":p@"), "{}", e.message);
        }
        for good in ["https://github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@host/o/r.git", "/tmp/a@b/r.git", "file:///tmp/r.git"] {
            assert!(check_repo_url(good, "data_repo_url").is_ok(), "{good}");
        }
    }

    #[test]
    fn repo_urls_parse_once() {
        // local: paths (relative ones with an `@` too) and file:// URLs
        for local in ["/tmp/a@b/r.git", "a@b/r.git", "./r.git", "../x/r.git", "r.git", "file:///tmp/r.git", "C:\\x\\r.git", "host:o/r.git"] {
            assert!(RepoUrl::parse(local).is_local(), "{local}");
        }
        assert_eq!(RepoUrl::parse("file:///tmp/r.git"), RepoUrl::Local(PathBuf::from("/tmp/r.git")));
        // remote: scheme URLs and scp-like user@host:path
        assert_eq!(
            RepoUrl::parse("git@github.com:o/r.git"),
            RepoUrl::Remote { scheme: None, userinfo: Some("git".into()), host: "github.com".into(), path: "o/r.git".into() }
        );
        assert_eq!(
            RepoUrl::parse("https://u:p@h:8080/o/r.git"),
            RepoUrl::Remote { scheme: Some("https".into()), userinfo: Some("u:p".into()), host: "h:8080".into(), path: "o/r.git".into() }
        );
        assert_eq!(RepoUrl::parse("git@github.com:o/r.git").name(), "r");
        assert_eq!(RepoUrl::parse("/srv/remotes/acme-gov.git/").name(), "acme-gov");
        // same repository: .git and trailing slashes ignored, local paths resolved
        let d = tmp("sameurl");
        let bare = d.join("g.git");
        ensure_bare(&bare).unwrap();
        let b = bare.to_str().unwrap();
        assert!(RepoUrl::same_repo(b, &format!("file://{b}/")));
        assert!(RepoUrl::same_repo(b, &format!("{}/./g.git", d.display())));
        assert!(RepoUrl::same_repo("https://github.com/o/r.git", "https://github.com/o/r/"));
        assert!(!RepoUrl::same_repo("https://github.com/o/r.git", "https://github.com/o/s.git"));
        assert!(!RepoUrl::same_repo(b, "https://github.com/o/g.git"));
        // normalised: absolute, no `.` segments, no trailing slash
        let rel = RepoUrl::parse("x/./y.git/");
        let n = rel.normalized("x/./y.git/");
        assert!(Path::new(&n).is_absolute() && n.ends_with("x/y.git"), "{n}");
        assert_eq!(RepoUrl::parse("git@h:o/r.git").normalized(" git@h:o/r.git "), "git@h:o/r.git");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bare_repos_datom_creates_are_marked() {
        let d = tmp("managed");
        let bare = d.join("mine.git");
        ensure_bare(&bare).unwrap();
        assert!(is_managed_bare(&bare));
        // adopted, not created: unmarked
        let theirs = d.join("theirs.git");
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true);
        Repository::init_opts(&theirs, &opts).unwrap();
        ensure_bare(&theirs).unwrap();
        assert!(!is_managed_bare(&theirs));
        // a working tree (or a plain folder) is never a managed bare repo
        let wt = Repo::init(&d.join("wt")).unwrap();
        drop(wt);
        assert!(!is_managed_bare(&d.join("wt")));
        assert!(!is_managed_bare(&d.join("wt/.git")));
        assert!(!is_managed_bare(&d.join("nothing")));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn init_commit_push_clone_reject_pull() {
        let d = tmp("flow");
        let bare = d.join("remote.git");
        ensure_bare(&bare).unwrap();
        let a = Repo::init(&d.join("a")).unwrap();
        a.set_remote("origin", bare.to_str().unwrap()).unwrap();
        std::fs::write(d.join("a/f.txt"), "1\n").unwrap();
        let c1 = a.commit_paths(&["f.txt"], "first").unwrap();
        // Nothing new: the commit step is idempotent.
        assert_eq!(a.commit_paths(&["f.txt"], "again").unwrap(), c1);
        a.push("origin", &Creds::default()).unwrap();
        assert_eq!(a.branch().unwrap(), "main");

        let b = Repo::clone(bare.to_str().unwrap(), &d.join("b"), &Creds::default()).unwrap();
        std::fs::write(d.join("b/g.txt"), "b\n").unwrap();
        b.commit_paths(&["g.txt"], "from b").unwrap();
        b.push("origin", &Creds::default()).unwrap();

        // a is now behind: its push is rejected as non-fast-forward.
        std::fs::write(d.join("a/h.txt"), "a\n").unwrap();
        let before = a.head_sha().unwrap();
        a.commit_paths(&["h.txt"], "from a").unwrap();
        let err = a.push("origin", &Creds::default()).unwrap_err();
        assert_eq!(err.kind, Kind::PushRejected);
        assert!(err.message.contains("rejected (non-fast-forward)"));
        // undo, then pull
        a.reset_hard(&before).unwrap();
        a.fetch("origin", &Creds::default()).unwrap();
        assert_eq!(a.ahead_behind("origin").unwrap(), (0, 1));
        assert_eq!(a.fast_forward("origin").unwrap(), 1);
        assert!(d.join("a/g.txt").exists());
        assert!(!d.join("a/h.txt").exists() || std::fs::read_to_string(d.join("a/h.txt")).is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A git server that accepts connections and never answers: each
    /// connection is held open, unread. Returns its URL and a count of
    /// accepted connections.
    fn stalling_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        // not testutil::http_server: a TLS handshake never ends a request
        // head, and this server must not read at all
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(s);
            }
        });
        (format!("http://127.0.0.1:{port}/data.git"), accepted)
    }

    /// A git host that answers every request with `status` (and closes).
    fn refusing_server(status: &'static str) -> String {
        let (url, _) = crate::testutil::http_server(move |_, _| {
            let auth = if status.starts_with("401") { "WWW-Authenticate: Basic realm=\"git\"\r\n" } else { "" };
            Some(format!("HTTP/1.1 {status}\r\n{auth}Content-Length: 7\r\nConnection: close\r\n\r\nrefused").into_bytes())
        });
        format!("{url}/data.git")
    }

    #[test]
    fn a_refusing_git_host_is_auth_or_permission_on_every_operation() {
        let d = tmp("refuse");
        let creds = Creds { token: Some("ghp_secret".into()) };
        for (status, kind, code) in [("403 Forbidden", Kind::Permission, 403), ("401 Unauthorized", Kind::Auth, 401)] {
            let url = refusing_server(status);
            let target = d.join("clone");
            let e = Repo::clone(&url, &target, &creds).err().expect("a refused clone fails");
            assert_eq!((e.kind, e.fields.status), (kind, Some(code)), "clone {status}: {e:?}");
            let a = Repo::init(&d.join(format!("a{code}"))).unwrap();
            a.set_remote("origin", &url).unwrap();
            std::fs::write(d.join(format!("a{code}/f.txt")), "1\n").unwrap();
            a.commit_paths(&["f.txt"], "first").unwrap();
            for (what, e) in [
                ("fetch", a.fetch("origin", &creds).unwrap_err()),
                ("push", a.push("origin", &creds).unwrap_err()),
                ("ls-remote", a.remote_has_refs("origin", &creds).unwrap_err()),
            ] {
                assert_eq!((e.kind, e.fields.status), (kind, Some(code)), "{what} {status}: {e:?}");
                assert!(!e.message.contains("ghp_secret"), "{what}: {e:?}");
            }
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn network_ops_time_out_against_a_stalling_server() {
        // (every git test of this process may see this timeout: 2 s is
        // plenty for loopback servers that answer)
        std::env::set_var("DATOM_GIT_TIMEOUT", "2");
        let d = tmp("stall");
        let (url, accepted) = stalling_server();
        let secret_url = url.replace("http://", "http://git:ghp_secret@");
        let creds = Creds { token: Some("ghp_secret".into()) };

        let target = d.join("clone");
        // plain HTTP, and TLS (the server never answers the handshake)
        for url in [secret_url.clone(), secret_url.replace("http://", "https://")] {
            let e = Repo::clone(&url, &target, &creds).err().expect("a stalled clone must fail");
            assert_eq!(e.kind, Kind::Network, "{url}: {e:?}");
            assert!(e.message.contains("did not answer for 2 s (timed out)") && e.message.contains("127.0.0.1"), "{e:?}");
            assert!(!e.message.contains("ghp_secret") && e.message.contains("***@"), "{e:?}");
            assert!(e.hint.as_deref().unwrap_or("").contains("DATOM_GIT_TIMEOUT"), "{e:?}");
        }
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2);
        // nothing is left behind: no target, no staging directory
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);

        let a = Repo::init(&d.join("a")).unwrap();
        a.set_remote("origin", &secret_url).unwrap();
        std::fs::write(d.join("a/f.txt"), "1\n").unwrap();
        a.commit_paths(&["f.txt"], "first").unwrap();
        for (what, e) in [
            ("fetch", a.fetch("origin", &creds).unwrap_err()),
            ("push", a.push("origin", &creds).unwrap_err()),
            ("ls-remote", a.remote_has_refs("origin", &creds).unwrap_err()),
        ] {
            assert_eq!(e.kind, Kind::Network, "{what}: {e:?}");
            assert!(e.message.contains("remote \"origin\"") && e.message.contains("timed out"), "{what}: {e:?}");
            assert!(!e.message.contains("ghp_secret"), "{what}: {e:?}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn timeouts_from_the_environment() {
        assert_eq!(Timeouts::parse(None), Timeouts { connect_ms: 30_000, stall_ms: 60_000 });
        assert_eq!(Timeouts::parse(Some("2.5")), Timeouts { connect_ms: 2500, stall_ms: 2500 });
        assert_eq!(Timeouts::parse(Some(" 120 ")), Timeouts { connect_ms: 120_000, stall_ms: 120_000 });
        for bad in ["0", "-1", "abc", "", "inf", "NaN"] {
            assert_eq!(Timeouts::parse(Some(bad)), Timeouts::DEFAULT, "{bad}");
        }
        assert_eq!(secs(2500), "2.5 s");
        assert_eq!(secs(60_000), "60 s");
    }

    #[test]
    fn a_cancelled_clone_leaves_nothing() {
        let d = tmp("cancel");
        let bare = d.join("remote.git");
        ensure_bare(&bare).unwrap();
        let a = Repo::init(&d.join("a")).unwrap();
        a.set_remote("origin", bare.to_str().unwrap()).unwrap();
        std::fs::write(d.join("a/f.txt"), "1\n").unwrap();
        a.commit_paths(&["f.txt"], "first").unwrap();
        a.push("origin", &Creds::default()).unwrap();

        let url = bare.to_str().unwrap();
        let op = NetOp::new("clone", None, url);
        let target = d.join("b");
        let staging = clone_staging_dir(&target).unwrap();
        assert!(staging.file_name().unwrap().to_str().unwrap().starts_with(".b.datom-clone-"));
        // cancelled before it starts: the transfer stops, nothing is moved into place
        let ctl = NetCtl::default();
        assert!(ctl.cancel());
        let e = clone_into(url, &staging, &target, &Creds::default(), &op, &ctl, None).unwrap_err();
        assert_eq!(e.kind, Kind::Interrupted, "{e:?}");
        assert!(!target.exists());
        let _ = std::fs::remove_dir_all(&staging);
        // cancelled after the transfer: the last step does not run
        let ctl = NetCtl::default();
        assert!(ctl.finish(|| Ok(())).is_ok());
        assert!(!ctl.cancel(), "a finished operation cannot be cancelled");
        let ctl = NetCtl::default();
        ctl.cancel();
        assert_eq!(ctl.finish(|| Ok(())).unwrap_err().kind, Kind::Interrupted);
        // and a clone into an existing empty directory moves into place
        std::fs::create_dir(&target).unwrap();
        let b = Repo::clone(url, &target, &Creds::default()).unwrap();
        assert!(target.join("f.txt").exists());
        assert_eq!(b.branch().unwrap(), "main");
        let left = std::fs::read_dir(&d).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains("datom-clone")).count();
        assert_eq!(left, 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

}

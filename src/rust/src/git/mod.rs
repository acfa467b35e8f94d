//! Git plumbing on git2: repositories datom creates, clones, commits of
//! exactly the files a write touched, pushes whose rejection is its own error
//! kind, fetch and fast-forward, undo of a local commit.
//!
//! Credentials (a token for HTTPS remotes) are passed per call and never
//! written into `.git/config` or any message.

use crate::error::{Error, Kind, Result};
use git2::{BranchType, Cred, FetchOptions, PushOptions, RemoteCallbacks, Repository, RepositoryInitOptions, Signature};
use std::path::{Path, PathBuf};

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
    let shown = if url.contains("://") {
        redact(url)
    } else {
        let head = url.split('/').next().unwrap_or(url);
        match head.rfind('@') {
            Some(at) => format!("***{}", &url[at..]),
            None => url.to_string(),
        }
    };
    let refuse = || {
        Error::input(format!("`{what}` contains credentials: {shown}"))
            .with_hint("Remove them from the URL and pass the token as github_pat instead; datom never accepts credentials inside a URL.")
    };
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            let ssh = matches!(scheme.to_ascii_lowercase().as_str(), "ssh" | "git+ssh" | "ssh+git");
            if !ssh || userinfo.contains(':') {
                return Err(refuse());
            }
        }
    } else if !is_local_remote(url) {
        // scp-like user@host:path: a user name, never a password
        if let Some((userinfo, _)) = url.split_once('@') {
            if userinfo.contains(':') {
                return Err(refuse());
            }
        }
    }
    Ok(())
}

/// Is `url` a local path or `file://` URL (a bare repository datom manages)?
pub fn is_local_remote(url: &str) -> bool {
    url.starts_with("file://") || url.starts_with('/') || url.starts_with("./") || url.starts_with("../") || !url.contains("://") && !url.contains('@')
}

/// The filesystem path of a local remote URL.
pub fn local_remote_path(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("file://").unwrap_or(url))
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

fn callbacks(creds: &Creds) -> RemoteCallbacks<'_> {
    let mut cb = RemoteCallbacks::new();
    let mut tried = false;
    cb.credentials(move |_url, username, allowed| {
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

    /// Clone `url` into `path`, set a local identity.
    pub fn clone(url: &str, path: &Path, creds: &Creds) -> Result<Repo> {
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(callbacks(creds));
        let mut b = git2::build::RepoBuilder::new();
        b.fetch_options(fo);
        let repo = b.clone(url, path).map_err(|e| git_err(&format!("cannot clone {}", redact(url)), e))?;
        // An empty remote cannot tell libgit2 its default branch: datom's is main.
        if repo.head().is_err() {
            repo.set_head(&format!("refs/heads/{DEFAULT_BRANCH}")).map_err(|e| git_err("HEAD", e))?;
        }
        let r = Repo { repo };
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
        let mut r = self.repo.find_remote(remote).map_err(|e| git_err("remote", e))?;
        let rejected: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
        {
            let mut cb = callbacks(creds);
            cb.push_update_reference(|_refname, status| {
                if let Some(s) = status {
                    *rejected.borrow_mut() = Some(s.to_string());
                }
                Ok(())
            });
            let mut po = PushOptions::new();
            po.remote_callbacks(cb);
            let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
            if let Err(e) = r.push(&[spec.as_str()], Some(&mut po)) {
                if e.code() == git2::ErrorCode::NotFastForward || is_rejection(e.message()) {
                    return Err(push_rejected(remote, &branch));
                }
                return Err(Error::new(Kind::Git, format!("Failed to push to remote \"{remote}\": {}", redact(e.message())))
                    .with_hint("Check your credentials and remote access."));
            }
        }
        if let Some(s) = rejected.into_inner() {
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

    /// Does `remote` have at least one branch? (An unreachable remote is an error.)
    pub fn remote_has_refs(&self, remote: &str, creds: &Creds) -> Result<bool> {
        let mut r = self.repo.find_remote(remote).map_err(|e| git_err("remote", e))?;
        let conn = r
            .connect_auth(git2::Direction::Fetch, Some(callbacks(creds)), None)
            .map_err(|e| git_err(&format!("cannot reach remote {remote}"), e))?;
        let heads = conn.list().map_err(|e| git_err("ls-remote", e))?;
        Ok(heads.iter().any(|h| h.name().starts_with("refs/heads/")))
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
        let mut r = self.repo.find_remote(remote).map_err(|e| git_err("remote", e))?;
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(callbacks(creds));
        r.fetch(&[] as &[&str], Some(&mut fo), None).map_err(|e| git_err(&format!("cannot fetch from {remote}"), e))?;
        Ok(())
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
}

#!/usr/bin/env python3
"""A loopback stand-in for GitHub, for datom's tests.

It serves the REST endpoints datom calls (under /api/v3, so the API root is
http://127.0.0.1:PORT/api/v3) and the repositories over git's smart HTTP
protocol (git http-backend as a CGI program), both with token
authentication, so reqwest and git2 talk to it for real.

    python3 tools/github-standin.py --root DIR --port PORT \
        [--token TOKEN ...] [--token-scopes TOKEN=repo,delete_repo ...] \
        [--token-user TOKEN=LOGIN ...]

--port 0 picks a free port. When listening it prints exactly one line,
`READY http://127.0.0.1:PORT`, on stdout, then serves until killed.

Tokens: every --token is valid; --token-scopes also declares its token.
A token without --token-scopes has the scopes `repo, delete_repo`. A token
without --token-user belongs to the user `datom-dev`.

REST (Authorization: Bearer TOKEN or token TOKEN):
  GET    /api/v3/user                      login + id of the token's user
  GET    /api/v3/repos/{owner}/{repo}      404 when absent (or private and anonymous)
  POST   /api/v3/user/repos                201; 422 when the name is taken
  POST   /api/v3/orgs/{org}/repos          same, owned by the organisation
  DELETE /api/v3/repos/{owner}/{repo}      204; 403 without the delete_repo scope
Every authenticated response carries X-OAuth-Scopes like GitHub's.

git (HTTP basic auth, password = token; user name free):
  /{owner}/{repo}.git/info/refs, /git-upload-pack, /git-receive-pack
Reading a public repository needs no credentials; reading a private one and
pushing need a valid token with the `repo` scope. A missing or wrong token is
answered with 401 and `WWW-Authenticate: Basic realm="GitHub"`.

Repositories live in DIR/{owner}/{repo}.git (bare, HEAD -> main,
http.receivepack true), with their REST attributes in
DIR/{owner}/{repo}.git/standin.json.

It only ever listens on 127.0.0.1. Requests are logged to stderr as
method, path and status: never a header, so never a token.

Python 3 standard library only.
"""

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

API_PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
DEFAULT_LOGIN = "datom-dev"
DEFAULT_SCOPES = ["repo", "delete_repo"]
META_FILE = "standin.json"
# GitHub's rules: owners are alphanumerics and single hyphens; repository
# names alphanumerics, '-', '_' and '.' (not '.' or '..').
OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
GIT_RE = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?"
    r"(?P<rest>/(?:info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+))$"
)


def stamp():
    t = time.time()
    return time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % int((t % 1) * 1000)


def log(msg):
    try:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class State:
    """Tokens, users and the repository store (all access under one lock)."""

    def __init__(self, root, tokens, scopes, users):
        self.root = os.path.abspath(root)
        self.lock = threading.RLock()
        self.tokens = {}  # token -> {"login":..., "id":..., "scopes":[...]}
        logins = {}
        for tok in tokens:
            self.tokens[tok] = None
        for tok in scopes:
            self.tokens[tok] = None
        for tok in users:
            self.tokens[tok] = None
        for tok in self.tokens:
            login = users.get(tok, DEFAULT_LOGIN)
            if login not in logins:
                logins[login] = 1000 + len(logins) + 1
            self.tokens[tok] = {
                "login": login,
                "id": logins[login],
                "scopes": scopes.get(tok, list(DEFAULT_SCOPES)),
            }
        self.next_repo_id = 5000
        self.base_url = ""

    def user_for(self, token):
        if token is None:
            return None
        return self.tokens.get(token)

    # -- repositories ---------------------------------------------------
    def owner_dir(self, owner):
        """The on-disk directory of an owner (case-insensitive match)."""
        direct = os.path.join(self.root, owner)
        if os.path.isdir(direct):
            return direct
        try:
            for entry in os.listdir(self.root):
                if entry.lower() == owner.lower() and os.path.isdir(os.path.join(self.root, entry)):
                    return os.path.join(self.root, entry)
        except OSError:
            pass
        return None

    def find_repo(self, owner, name):
        """(owner_on_disk, name_on_disk, path) of a repository, or None."""
        if not OWNER_RE.match(owner) or not NAME_RE.match(name) or name in (".", ".."):
            return None
        odir = self.owner_dir(owner)
        if odir is None:
            return None
        want = (name + ".git").lower()
        try:
            entries = os.listdir(odir)
        except OSError:
            return None
        for entry in entries:
            if entry.lower() == want:
                path = os.path.join(odir, entry)
                if os.path.isfile(os.path.join(path, META_FILE)):
                    return os.path.basename(odir), entry[: -len(".git")], path
        return None

    def read_meta(self, path):
        try:
            with open(os.path.join(path, META_FILE), "r", encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def has_commits(self, path):
        refs = os.path.join(path, "refs")
        for dirpath, _dirs, files in os.walk(refs):
            if files:
                return True
        try:
            with open(os.path.join(path, "packed-refs"), "r", encoding="utf-8") as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        return True
        except OSError:
            pass
        return False

    def size_kb(self, path):
        if not self.has_commits(path):
            return 0
        total = 0
        for dirpath, _dirs, files in os.walk(os.path.join(path, "objects")):
            for fn in files:
                try:
                    total += os.path.getsize(os.path.join(dirpath, fn))
                except OSError:
                    pass
        return max(1, (total + 1023) // 1024)

    def repo_json(self, owner, name, path):
        meta = self.read_meta(path)
        full = "%s/%s" % (owner, name)
        private = bool(meta.get("private", True))
        return {
            "id": meta.get("id", 0),
            "node_id": "R_standin_%s" % meta.get("id", 0),
            "name": name,
            "full_name": full,
            "private": private,
            "visibility": "private" if private else "public",
            "owner": {
                "login": owner,
                "id": meta.get("owner_id", 0),
                "type": meta.get("owner_type", "User"),
            },
            "html_url": "%s/%s" % (self.base_url, full),
            "description": meta.get("description"),
            "fork": False,
            "url": "%s%s/repos/%s" % (self.base_url, API_PREFIX, full),
            "clone_url": "%s/%s.git" % (self.base_url, full),
            "git_url": "%s/%s.git" % (self.base_url, full),
            "size": self.size_kb(path),
            "default_branch": "main",
            "created_at": meta.get("created_at"),
        }

    def create_repo(self, owner, owner_type, owner_id, name, private, description):
        """Returns (path, None) or (None, error message)."""
        with self.lock:
            if self.find_repo(owner, name) is not None:
                return None, "exists"
            odir = self.owner_dir(owner) or os.path.join(self.root, owner)
            os.makedirs(odir, exist_ok=True)
            path = os.path.join(odir, name + ".git")
            if os.path.exists(path):
                # A leftover without metadata: replace it.
                shutil.rmtree(path, ignore_errors=True)
            env = git_env()
            try:
                subprocess.run(
                    ["git", "init", "--quiet", "--bare", "--initial-branch=main", path],
                    check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
                subprocess.run(
                    ["git", "--git-dir", path, "config", "http.receivepack", "true"],
                    check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
                subprocess.run(
                    ["git", "--git-dir", path, "symbolic-ref", "HEAD", "refs/heads/main"],
                    check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
            except (OSError, subprocess.CalledProcessError) as e:
                shutil.rmtree(path, ignore_errors=True)
                return None, "git init failed: %s" % e
            self.next_repo_id += 1
            meta = {
                "id": self.next_repo_id,
                "private": bool(private),
                "description": description,
                "owner_type": owner_type,
                "owner_id": owner_id,
                "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            with open(os.path.join(path, META_FILE), "w", encoding="utf-8") as f:
                json.dump(meta, f)
            return path, None

    def delete_repo(self, path):
        with self.lock:
            shutil.rmtree(path, ignore_errors=True)


def git_env():
    env = {}
    for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server_version = "github-standin/1"
    state = None  # set in main()

    def version_string(self):
        return self.server_version

    # -- logging: method, path (no query), status; never headers -------
    def log_request(self, code="-", size="-"):
        try:
            path = urlsplit(getattr(self, "path", "") or "").path
        except ValueError:
            path = "?"
        log("%s %s %s %s" % (stamp(), getattr(self, "command", None) or "-", path, code))

    def log_error(self, format, *args):
        # BaseHTTPRequestHandler's messages may quote the raw request line
        # (query included): log the status code only.
        log("%s error %s" % (stamp(), args[0] if args else "-"))

    def log_message(self, format, *args):
        pass

    # -- body helpers ----------------------------------------------------
    def body_chunks(self):
        """Yield the request body (Content-Length or chunked) as it arrives."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("truncated chunked body")
                size_s = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_s, 16)
                except ValueError:
                    raise ValueError("bad chunk size")
                if size == 0:
                    # trailers until the empty line
                    while True:
                        t = self.rfile.readline(65537)
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    return
                remaining = size
                while remaining > 0:
                    data = self.rfile.read(min(remaining, 65536))
                    if not data:
                        raise ValueError("truncated chunk")
                    remaining -= len(data)
                    yield data
                self.rfile.readline(3)  # CRLF after the chunk
        else:
            length = self.headers.get("Content-Length")
            remaining = int(length) if length and length.strip().isdigit() else 0
            while remaining > 0:
                data = self.rfile.read(min(remaining, 65536))
                if not data:
                    raise ValueError("truncated body")
                remaining -= len(data)
                yield data

    def read_body(self, limit=1 << 20):
        out = bytearray()
        for chunk in self.body_chunks():
            out += chunk
            if len(out) > limit:
                raise ValueError("body too large")
        return bytes(out)

    def has_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        cl = self.headers.get("Content-Length")
        return "chunked" in te or (cl is not None and cl.strip() not in ("", "0"))

    def drain_or_close(self):
        """Before an early answer: drop the connection if a body is pending."""
        if self.has_body():
            self.close_connection = True

    # -- responses -------------------------------------------------------
    def send_json(self, status, obj, extra=None, scopes=None):
        body = b"" if obj is None else (json.dumps(obj, indent=2) + "\n").encode("utf-8")
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        if scopes is not None:
            self.send_header("X-OAuth-Scopes", ", ".join(scopes))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def api_error(self, status, message, scopes=None, extra=None, errors=None, doc=""):
        obj = {"message": message, "documentation_url": DOCS + doc, "status": str(status)}
        if errors:
            obj["errors"] = errors
        self.send_json(status, obj, extra=extra, scopes=scopes)

    def send_plain(self, status, text, extra=None):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    # -- auth ------------------------------------------------------------
    def rest_token(self):
        """(present, token) from Authorization: Bearer/token X."""
        h = self.headers.get("Authorization")
        if not h:
            return False, None
        parts = h.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() in ("bearer", "token"):
            return True, parts[1].strip()
        if len(parts) == 2 and parts[0].lower() == "basic":
            try:
                user, _, pw = base64.b64decode(parts[1]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return True, None
            return True, pw or user
        return True, None

    def basic_user(self):
        """(present, user record or None) from HTTP basic auth; the password
        (or, like GitHub, the user name) is the token."""
        h = self.headers.get("Authorization")
        if not h:
            return False, None
        parts = h.strip().split(None, 1)
        if len(parts) != 2:
            return True, None
        if parts[0].lower() == "basic":
            try:
                user, _, pw = base64.b64decode(parts[1], validate=False).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return True, None
            rec = self.state.user_for(pw) or self.state.user_for(user)
            return True, rec
        if parts[0].lower() in ("bearer", "token"):
            return True, self.state.user_for(parts[1].strip())
        return True, None

    # -- dispatch --------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def dispatch(self):
        try:
            parts = urlsplit(self.path)
        except ValueError:
            self.drain_or_close()
            self.send_plain(400, "bad request\n")
            return
        path = parts.path
        try:
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self.rest(path[len(API_PREFIX):] or "/")
                return
            m = GIT_RE.match(path)
            if m:
                self.git(m.group("owner"), m.group("repo"), m.group("rest"), parts.query)
                return
            self.drain_or_close()
            self.send_plain(404, "Not Found\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # keep serving; report without headers
            log("internal error on %s %s: %s" % (self.command, path, type(e).__name__))
            self.close_connection = True
            try:
                self.api_error(500, "stand-in internal error")
            except OSError:
                pass

    # -- REST ------------------------------------------------------------
    def rest(self, path):
        st = self.state
        present, token = self.rest_token()
        user = st.user_for(token) if present else None
        if present and user is None:
            self.drain_or_close()
            self.api_error(401, "Bad credentials")
            return
        scopes = user["scopes"] if user else None
        segs = [s for s in path.split("/") if s]
        method = self.command

        if path == "/" and method == "GET":
            self.send_json(200, {"current_user_url": st.base_url + API_PREFIX + "/user"}, scopes=scopes)
            return

        if segs == ["user"] and method == "GET":
            if user is None:
                self.api_error(401, "Requires authentication", doc="/users/users#get-the-authenticated-user")
                return
            self.send_json(200, {
                "login": user["login"], "id": user["id"], "type": "User",
                "html_url": "%s/%s" % (st.base_url, user["login"]),
            }, scopes=scopes)
            return

        if (segs == ["user", "repos"] or (len(segs) == 3 and segs[0] == "orgs" and segs[2] == "repos")) and method == "POST":
            try:
                body = self.read_body()
            except ValueError:
                self.close_connection = True
                self.api_error(400, "Problems parsing JSON")
                return
            if user is None:
                self.api_error(401, "Requires authentication", doc="/repos/repos#create-a-repository-for-the-authenticated-user")
                return
            try:
                req = json.loads(body.decode("utf-8") or "{}")
                if not isinstance(req, dict):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                self.api_error(400, "Problems parsing JSON", scopes=scopes)
                return
            private = bool(req.get("private", False))
            if not ("repo" in scopes or (not private and "public_repo" in scopes)):
                self.api_error(403, "Resource not accessible by personal access token", scopes=scopes,
                               extra={"X-Accepted-OAuth-Scopes": "repo" if private else "public_repo, repo"},
                               doc="/repos/repos#create-a-repository-for-the-authenticated-user")
                return
            name = req.get("name")
            if segs[0] == "orgs":
                owner, owner_type, owner_id = segs[1], "Organization", 9000
                if not OWNER_RE.match(owner):
                    self.api_error(404, "Not Found", scopes=scopes)
                    return
            else:
                owner, owner_type, owner_id = user["login"], "User", user["id"]
            if not isinstance(name, str) or not NAME_RE.match(name) or name in (".", ".."):
                self.api_error(422, "Repository creation failed.", scopes=scopes, errors=[{
                    "resource": "Repository", "code": "custom", "field": "name",
                    "message": "name is invalid"}], doc="/repos/repos#create-a-repository-for-the-authenticated-user")
                return
            desc = req.get("description")
            path_, err = st.create_repo(owner, owner_type, owner_id, name, private,
                                        desc if isinstance(desc, str) else None)
            if err == "exists":
                self.api_error(422, "Repository creation failed.", scopes=scopes, errors=[{
                    "resource": "Repository", "code": "custom", "field": "name",
                    "message": "name already exists on this account"}],
                    doc="/repos/repos#create-a-repository-for-the-authenticated-user")
                return
            if err:
                log("create failed: %s" % err)
                self.api_error(500, "Repository creation failed.", scopes=scopes)
                return
            found = st.find_repo(owner, name)
            if found is None:
                self.api_error(500, "Repository creation failed.", scopes=scopes)
                return
            o, n, p = found
            self.send_json(201, st.repo_json(o, n, p), scopes=scopes,
                           extra={"Location": "%s%s/repos/%s/%s" % (st.base_url, API_PREFIX, o, n)})
            return

        if len(segs) == 3 and segs[0] == "repos" and method in ("GET", "DELETE"):
            self.drain_or_close()
            owner, name = segs[1], segs[2]
            found = st.find_repo(owner, name)
            if found is not None:
                meta = st.read_meta(found[2])
                if meta.get("private", True) and (user is None or "repo" not in scopes):
                    # private repos are invisible without the repo scope
                    found = None
            if method == "GET":
                if found is None:
                    self.api_error(404, "Not Found", scopes=scopes, doc="/repos/repos#get-a-repository")
                    return
                self.send_json(200, st.repo_json(*found), scopes=scopes)
                return
            # DELETE
            if user is None:
                self.api_error(401, "Requires authentication", doc="/repos/repos#delete-a-repository")
                return
            if found is None:
                self.api_error(404, "Not Found", scopes=scopes, doc="/repos/repos#delete-a-repository")
                return
            if "delete_repo" not in scopes:
                self.api_error(403, "Must have admin rights to Repository.", scopes=scopes,
                               extra={"X-Accepted-OAuth-Scopes": "delete_repo"},
                               doc="/repos/repos#delete-a-repository")
                return
            st.delete_repo(found[2])
            self.send_json(204, None, scopes=scopes)
            return

        self.drain_or_close()
        self.api_error(404, "Not Found", scopes=scopes)

    # -- git smart HTTP ----------------------------------------------------
    def git(self, owner, repo, rest, query):
        st = self.state
        found = st.find_repo(owner, repo)
        push = rest.endswith("/git-receive-pack") or "service=git-receive-pack" in (query or "")
        present, user = self.basic_user()
        challenge = {"WWW-Authenticate": 'Basic realm="GitHub"'}
        if present and user is None:
            self.drain_or_close()
            self.send_plain(401, "Invalid username or token. Password authentication is not supported for Git operations.\n", extra=challenge)
            return
        private = found is not None and st.read_meta(found[2]).get("private", True)
        if user is None and (push or private or found is None):
            # Like GitHub: ask for credentials before saying whether it exists.
            self.drain_or_close()
            self.send_plain(401, "Authentication required\n", extra=challenge)
            return
        if found is None:
            self.drain_or_close()
            self.send_plain(404, "Repository not found.\n")
            return
        if user is not None and (push or private) and "repo" not in user["scopes"] and not (
                not private and "public_repo" in user["scopes"]):
            self.drain_or_close()
            self.send_plain(403, "Permission to %s/%s denied: the token lacks the repo scope.\n" % (found[0], found[1]))
            return
        self.run_backend(found, rest, query, user)

    def run_backend(self, found, rest, query, user):
        st = self.state
        o, n, _p = found
        env = git_env()
        env.update({
            "GIT_PROJECT_ROOT": st.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/%s/%s.git%s" % (o, n, rest),
            "QUERY_STRING": query or "",
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
        })
        if user is not None:
            env["REMOTE_USER"] = user["login"]
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        cl = self.headers.get("Content-Length")
        if "chunked" not in te and cl is not None and cl.strip().isdigit():
            env["CONTENT_LENGTH"] = cl.strip()
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in ("authorization", "proxy-authorization", "cookie", "content-length",
                      "content-type", "transfer-encoding"):
                continue
            env["HTTP_" + k.upper().replace("-", "_")] = v
        try:
            proc = subprocess.Popen(["git", "http-backend"], env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            self.drain_or_close()
            log("cannot start git http-backend: %s" % e)
            self.send_plain(500, "git http-backend unavailable\n")
            return

        feed_error = []

        def feed():
            try:
                for chunk in self.body_chunks():
                    proc.stdin.write(chunk)
            except ValueError as e:
                feed_error.append(str(e))
            except (BrokenPipeError, OSError):
                # the backend stopped reading; keep draining the client
                try:
                    for _ in self.body_chunks():
                        pass
                except (ValueError, OSError):
                    feed_error.append("body")
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        err_buf = []

        def drain_err():
            data = proc.stderr.read()
            if data:
                err_buf.append(data)

        t_in = threading.Thread(target=feed, daemon=True)
        t_err = threading.Thread(target=drain_err, daemon=True)
        t_in.start()
        t_err.start()
        out = proc.stdout.read()
        proc.wait()
        t_in.join()
        t_err.join()
        if err_buf:
            for line in b"".join(err_buf).decode("utf-8", "replace").splitlines()[:20]:
                log("http-backend: " + line[:300])
        if feed_error:
            self.close_connection = True

        head, sep, body = out.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = out.partition(b"\n\n")
        if not sep:
            self.send_plain(502, "bad CGI response\n")
            return
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            if ":" not in line:
                continue
            k, v = line.split(":", 1)
            k, v = k.strip(), v.strip()
            if k.lower() == "status":
                try:
                    status = int(v.split()[0])
                except (ValueError, IndexError):
                    status = 500
            elif k.lower() not in ("content-length", "transfer-encoding", "connection"):
                headers.append((k, v))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up mid-request is routine; no tracebacks.
        exc = sys.exc_info()[1]
        log("%s connection error: %s" % (stamp(), type(exc).__name__))


def parse_pairs(values, what):
    out = {}
    for v in values or []:
        tok, sep, rhs = v.partition("=")
        if not sep or not tok:
            sys.exit("github-standin: --%s expects TOKEN=VALUE" % what)
        out[tok] = rhs
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Loopback GitHub stand-in for datom's tests.")
    ap.add_argument("--root", required=True, help="directory holding the repositories")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free one)")
    ap.add_argument("--token", action="append", default=[], help="a valid token (repeatable)")
    ap.add_argument("--token-scopes", action="append", default=[], metavar="TOKEN=SCOPE,...",
                    help="scopes of a token (declares it); default repo,delete_repo")
    ap.add_argument("--token-user", action="append", default=[], metavar="TOKEN=LOGIN",
                    help="login of a token's user (declares it); default %s" % DEFAULT_LOGIN)
    args = ap.parse_args(argv)
    if not (0 <= args.port <= 65535):
        sys.exit("github-standin: --port must be 0..65535")
    scopes = {t: [s.strip() for s in v.split(",") if s.strip()]
              for t, v in parse_pairs(args.token_scopes, "token-scopes").items()}
    users = parse_pairs(args.token_user, "token-user")
    for login in users.values():
        if not OWNER_RE.match(login):
            sys.exit("github-standin: bad login %r" % login)
    os.makedirs(args.root, exist_ok=True)
    state = State(args.root, args.token, scopes, users)
    Handler.state = state
    try:
        server = Server(("127.0.0.1", args.port), Handler)
    except OSError as e:
        sys.exit("github-standin: cannot listen on 127.0.0.1:%d: %s" % (args.port, e))
    port = server.server_address[1]
    state.base_url = "http://127.0.0.1:%d" % port
    log("github-standin: %d token(s), root %s" % (len(state.tokens), state.root))
    sys.stdout.write("READY %s\n" % state.base_url)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

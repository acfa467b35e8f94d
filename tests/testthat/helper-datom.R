# Shared test helpers.

# Under `make test` (DATOM_TEST_STRICT=true) every external component must be
# present: a missing one fails the test instead of skipping it.
need_component <- function(ok, what) {
  if (ok) return(invisible(TRUE))
  if (identical(Sys.getenv("DATOM_TEST_STRICT"), "true")) {
    stop(what, " is required under make test but is not available", call. = FALSE)
  }
  testthat::skip(paste(what, "not available"))
}

# R puts its own library path first; a Python linked against a libpython of
# its own must not pick up the system one through it.
py_env <- "LD_LIBRARY_PATH="

python_bin <- function() {
  py <- Sys.getenv("DATOM_PYTHON")
  ok <- nzchar(py) && file.exists(py) &&
    identical(suppressWarnings(system2(py, c("-c", shQuote("import pyarrow.parquet")), stdout = FALSE, stderr = FALSE, env = py_env)), 0L)
  need_component(ok, "Python with pyarrow (DATOM_PYTHON)")
  py
}

run_python <- function(code, ...) {
  py <- python_bin()
  f <- tempfile(fileext = ".py")
  writeLines(code, f)
  out <- suppressWarnings(system2(py, c(f, shQuote(c(...))), stdout = TRUE, stderr = TRUE, env = py_env))
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) stop("python failed:\n", paste(out, collapse = "\n"))
  out
}

goldens <- function() {
  jsonlite_ok <- requireNamespace("jsonlite", quietly = TRUE)
  need_component(jsonlite_ok, "jsonlite")
  jsonlite::fromJSON(test_path("goldens.json"), simplifyVector = FALSE)
}

# A fresh local project: store folder, bare remote, data clone.
local_project <- function(name = "STUDY_001", env = parent.frame()) {
  root <- withr::local_tempdir("datom-test-", .local_envir = env)
  store <- quietly(datom_store(
    data = datom_store_local(file.path(root, "store")),
    data_repo_url = file.path(root, "remotes", paste0(name, ".git"))
  ))
  clone <- file.path(root, "clone")
  suppressMessages(datom_init_repo(clone, name, store))
  conn <- datom_get_conn(path = clone, store = store)
  list(root = root, store = store, clone = clone, conn = conn,
       ns = file.path(root, "store", "datom", name))
}

git <- function(dir, ...) {
  out <- suppressWarnings(system2("git", c("-C", shQuote(dir), ...), stdout = TRUE, stderr = TRUE))
  if (!is.null(attr(out, "status")) && attr(out, "status") != 0) stop("git failed: ", paste(out, collapse = "\n"))
  out
}

quietly <- function(expr) suppressMessages(expr)

# The tests choose their servers themselves: the environment R CMD check may
# carry for the vignettes (tools/with-servers.sh) must not leak into them.
Sys.unsetenv(c("DATOM_S3_ENDPOINT", "DATOM_S3_BUCKET", "DATOM_GOV_BUCKET", "DATOM_GITHUB_API_URL", "DATOM_GITHUB_ORG",
               "GITHUB_PAT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "DATOM_VIGNETTE_DIR"))

# A real S3 server on loopback (moto's server from the build venv), started
# and stopped by the tests themselves.
s3_server <- local({
  srv <- NULL
  function() {
    if (!is.null(srv) && srv$proc$is_alive()) return(srv)
    py <- python_bin()
    moto <- file.path(dirname(py), "moto_server")
    need_component(file.exists(moto) && requireNamespace("processx", quietly = TRUE), "moto_server (DATOM_PYTHON venv)")
    port <- free_port()
    # the server's request log goes to a file: an unread pipe fills up and
    # blocks the server after a few hundred requests
    log <- tempfile("moto-", fileext = ".log")
    proc <- processx::process$new(moto, c("-H", "127.0.0.1", "-p", port),
      env = c("current", LD_LIBRARY_PATH = ""), stdout = log, stderr = "2>&1", cleanup = TRUE)
    endpoint <- sprintf("http://127.0.0.1:%d", port)
    deadline <- Sys.time() + 30
    repeat {
      ok <- tryCatch({ con <- socketConnection("127.0.0.1", port, open = "r+", timeout = 1); close(con); TRUE },
                     error = function(e) FALSE, warning = function(w) FALSE)
      if (ok) break
      if (!proc$is_alive() || Sys.time() > deadline) stop("moto_server did not start: ", paste(readLines(log), collapse = "\n"))
      Sys.sleep(0.2)
    }
    srv <<- list(proc = proc, endpoint = endpoint, port = port)
    withr::defer(try(srv$proc$kill(), silent = TRUE), envir = testthat::teardown_env())
    srv
  }
})

free_port <- function() {
  for (i in 1:50) {
    port <- sample(20000:60000, 1)
    ok <- tryCatch({ s <- serverSocket(port); close(s); TRUE }, error = function(e) FALSE, warning = function(w) FALSE)
    if (ok) return(port)
  }
  stop("no free port found")
}

# Create a bucket on the test server (datom itself never creates buckets).
s3_bucket <- function(name = paste0("datom-test-", paste(sample(letters, 8, TRUE), collapse = ""))) {
  srv <- s3_server()
  run_python(c(
    "import sys, boto3",
    "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "                 aws_access_key_id='testing', aws_secret_access_key='testing')",
    "c.create_bucket(Bucket=sys.argv[2])"
  ), srv$endpoint, name)
  name
}

s3_component <- function(bucket, prefix = NULL, validate = TRUE) {
  datom_store_s3(bucket, prefix = prefix, region = "us-east-1", access_key = "testing",
                 secret_key = "testing-secret", endpoint = s3_server()$endpoint, validate = validate)
}

# S3 credentials from the environment (the AWS chain): such a store holds no
# engine-held secret, so it can be handed to a child process (a secret
# handle does not cross processes). Call use_env_s3_creds() first.
s3_component_chain <- function(bucket, prefix = NULL) {
  datom_store_s3(bucket, prefix = prefix, region = "us-east-1", endpoint = s3_server()$endpoint)
}

use_env_s3_creds <- function() {
  Sys.setenv(AWS_ACCESS_KEY_ID = "testing", AWS_SECRET_ACCESS_KEY = "testing-secret")
  withr::defer(Sys.unsetenv(c("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")), envir = testthat::teardown_env())
}

# A fresh project whose data store is an S3 bucket on the test server.
s3_project <- function(name = "STUDY_001", prefix = NULL, env = parent.frame(), chain = FALSE) {
  root <- withr::local_tempdir("datom-s3-", .local_envir = env)
  bucket <- s3_bucket()
  store <- datom_store(data = if (chain) s3_component_chain(bucket, prefix) else s3_component(bucket, prefix),
                       data_repo_url = file.path(root, "remotes", paste0(name, ".git")))
  clone <- file.path(root, "clone")
  quietly(datom_init_repo(clone, name, store))
  conn <- datom_get_conn(path = clone, store = store)
  list(root = root, store = store, clone = clone, conn = conn, bucket = bucket)
}

# Keys in a bucket (via boto3), for assertions about the layout.
s3_keys <- function(bucket, prefix = "") {
  out <- run_python(c(
    "import sys, boto3",
    "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "                 aws_access_key_id='testing', aws_secret_access_key='testing')",
    "p = c.get_paginator('list_objects_v2')",
    "for page in p.paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):",
    "    for o in page.get('Contents', []): print(o['Key'])"
  ), s3_server()$endpoint, bucket, prefix)
  sort(out)
}

# The GitHub stand-in (inst/tools/github-standin.py): REST endpoints and git
# over smart HTTP with token auth, on loopback, started by the tests.
github_token <- "ghp_datomtesttoken0001"
github_token_noscope <- "ghp_datomtesttoken0002"

start_standin <- function() {
  py <- python_bin()
  script <- system.file("tools", "github-standin.py", package = "datom")
  need_component(nzchar(script) && requireNamespace("processx", quietly = TRUE), "GitHub stand-in script")
  root <- tempfile("gh-standin-")
  dir.create(root)
  proc <- processx::process$new(py, c(script, "--root", root, "--port", "0", "--token", github_token,
                                      "--token", github_token_noscope, "--token-scopes", paste0(github_token_noscope, "=repo")),
    env = c("current", LD_LIBRARY_PATH = ""), stdout = "|", stderr = file.path(root, "standin.log"), cleanup = TRUE)
  deadline <- Sys.time() + 30
  url <- NULL
  while (is.null(url)) {
    proc$poll_io(500)
    line <- proc$read_output_lines()
    ready <- grep("^READY ", line, value = TRUE)
    if (length(ready)) url <- sub("^READY ", "", ready[1])
    if (is.null(url) && (!proc$is_alive() || Sys.time() > deadline)) {
      stop("stand-in did not start: ", paste(readLines(file.path(root, "standin.log")), collapse = "\n"))
    }
  }
  list(proc = proc, url = url, api = paste0(url, "/api/v3"), root = root)
}

# One stand-in shared by the tests of a run.
github_standin <- local({
  srv <- NULL
  function() {
    if (!is.null(srv) && srv$proc$is_alive()) return(srv)
    srv <<- start_standin()
    withr::defer(try(srv$proc$kill(), silent = TRUE), envir = testthat::teardown_env())
    srv
  }
})

# A stand-in of its own (fresh accounts and repositories), stopped with the calling test.
local_github_standin <- function(env = parent.frame()) {
  srv <- start_standin()
  withr::defer(try(srv$proc$kill(), silent = TRUE), envir = env)
  srv
}

# The failpoints of datom_sync, migration, adoption, registration and decommission
# (their matrix: test-fault-matrix-flows.R; the write steps: test-fault-matrix.R).
flow_fault_steps <- c(
  "sync.table",
  "migrate.copy", "migrate.verify", "migrate.gov", "migrate.commit", "migrate.freeze",
  "adopt.copy", "adopt.verify", "adopt.publish", "adopt.gov", "adopt.commit", "adopt.remove",
  "init.push", "register.push", "register.mirror", "register.governance",
  "decommission.store", "decommission.repo", "decommission.clone", "decommission.unregister", "decommission.gov_mirror"
)

# A governed project on the embedded default: a gov repo + local gov store,
# one project `name` with table `lb` written. Returns its root, gov
# component, store and conn.
local_governed_project <- function(name, env = parent.frame()) {
  root <- withr::local_tempdir("datom-gov-", .local_envir = env)
  govc <- quietly(datom_store_local(file.path(root, "gov")))
  quietly(datom_init_gov(govc, gov_repo_url = file.path(root, "remotes", "gov.git"), gov_local_path = file.path(root, "gov_clone")))
  store <- datom_store(governance = govc, data = quietly(datom_store_local(file.path(root, "store"))),
                       data_repo_url = file.path(root, "remotes", paste0(name, ".git")), gov_repo_url = file.path(root, "remotes", "gov.git"),
                       gov_local_path = file.path(root, "gov_clone"), validate = FALSE)
  quietly(datom_init_repo(file.path(root, tolower(name)), name, store))
  conn <- datom_get_conn(path = file.path(root, tolower(name)), store = store)
  quietly(datom_write(conn, data.frame(x = 1:3), "lb"))
  list(root = root, govc = govc, store = store, conn = conn)
}

# The value of `expr` and the messages of the warnings it raised (muffled).
collect_warnings <- function(expr) {
  w <- character()
  value <- withCallingHandlers(expr, warning = function(c) {
    w <<- c(w, conditionMessage(c))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = w)
}

# Poll until `cond()` is TRUE or `alive()` is FALSE. The deadline only
# guards against a hang (a failure, never a pass): the test waits for the
# condition, however slow the machine.
wait_until <- function(cond, alive = function() TRUE, guard_s = 300) {
  deadline <- Sys.time() + guard_s
  while (!isTRUE(cond()) && isTRUE(alive())) {
    if (Sys.time() > deadline) stop("condition not reached within the hang guard", call. = FALSE)
    Sys.sleep(0.1)
  }
  invisible(isTRUE(cond()))
}

# Run `fun(args)` in a child R session with DATOM_FAILPOINT=step:kill; it
# must die there (exit status 137).
killed_at <- function(step, fun, args) {
  bg <- callr::r_bg(function(fun, args, fp) {
    Sys.setenv(DATOM_FAILPOINT = fp)
    library(datom)
    options(datom.quiet = TRUE)
    suppressWarnings(do.call(fun, args))
    "finished"
  }, list(fun, args, paste0(step, ":kill")), libpath = .libPaths())
  bg$wait(120000)
  expect_false(bg$is_alive())
  expect_identical(bg$get_exit_status(), 137L, info = step)
}

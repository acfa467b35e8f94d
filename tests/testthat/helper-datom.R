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
  out <- suppressWarnings(system2(py, c(f, ...), stdout = TRUE, stderr = TRUE, env = py_env))
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

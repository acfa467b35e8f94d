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

python_bin <- function() {
  py <- Sys.getenv("DATOM_PYTHON")
  ok <- nzchar(py) && file.exists(py) &&
    identical(suppressWarnings(system2(py, c("-c", shQuote("import pyarrow")), stdout = FALSE, stderr = FALSE)), 0L)
  need_component(ok, "Python with pyarrow (DATOM_PYTHON)")
  py
}

run_python <- function(code, ...) {
  py <- python_bin()
  f <- tempfile(fileext = ".py")
  writeLines(code, f)
  out <- suppressWarnings(system2(py, c(f, ...), stdout = TRUE, stderr = TRUE))
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) stop("python failed:\n", paste(out, collapse = "\n"))
  out
}

goldens <- function() {
  jsonlite_ok <- requireNamespace("jsonlite", quietly = TRUE)
  need_component(jsonlite_ok, "jsonlite")
  jsonlite::fromJSON(test_path("goldens.json"), simplifyVector = FALSE)
}

# Time travel: versions by instant, where a version's object is, and what
# changed in a window. The rules live in the engine (src/rust/src/ops/read.rs,
# ops/mod.rs); this file checks arguments and shapes results.

check_version <- function(version, arg = "version", call = sys.call(-1)) {
  if (!is.null(version) && (!is.character(version) || length(version) != 1L || is.na(version) || !nzchar(version))) {
    datom_abort("input", "{.arg {arg}} must be a single non-empty string or NULL.", call = call)
  }
}

# The checks of a call on one table of a project: `conn`, table `name` and an
# optional `version` (NULL, or a string the engine resolves; with `hex`, a
# version id or prefix as the lineage functions take it).
check_table_args <- function(conn, name, version = NULL, hex = FALSE, call = sys.call(-1)) {
  force(call)
  check_conn(conn, call = call)
  check_name(name, "name", call = call)
  if (!hex) check_version(version, call = call) else if (!is.null(version)) check_version_arg(version, "version", call = call)
}

# An instant (POSIXct, Date = end of that day UTC, ISO 8601 string) as the
# canonical UTC string the engine compares, "YYYY-MM-DDTHH:MM:SSZ" (the rule:
# ops::read::instant); with `versions`, a hex string stays a version id.
# NULL stays NULL.
as_instant <- function(x, arg, call = sys.call(-1), versions = FALSE) {
  if (is.null(x)) return(NULL)
  engine(rs_instant(if (inherits(x, "POSIXlt")) as.POSIXct(x) else x, versions)) %||% datom_abort("input", c(
    "{.arg {arg}} must be a single POSIXct, Date or ISO 8601 string.",
    i = "For example {.val 2026-03-31}, {.val 2026-03-31T17:00:00Z} or {.code Sys.time()}."
  ), call = call)
}

#' Where a version's parquet object is
#'
#' Every version is one plain parquet object in the data store, so other
#' engines (DuckDB, Spark, Polars, pyarrow) can read exactly that version
#' from its `uri`.
#'
#' @param conn A [datom_get_conn()] connection (reader or developer).
#' @param name The table name.
#' @param version `NULL` for the current version, or a version id or unique
#'   prefix.
#' @param as_of `NULL`, or an instant as in [datom_read()]: the version
#'   current then.
#' @param verify `TRUE` to download the object and check its SHA-256
#'   against the recorded `parquet_sha` first (`datom_error_integrity` on a
#'   mismatch); `FALSE` (default) only checks that it exists.
#' @return A list: `uri` (`s3://bucket/key`, or an absolute file path for a
#'   local store), `key` (the object's key in the store), `version`,
#'   `data_sha`, `parquet_sha`, `bytes` (object size) and `backend`
#'   (`"local"` or `"s3"`).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-locate-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("ae", "2026-02-28"), "ae")
#' loc <- datom_locate(conn, "ae", verify = TRUE)
#' loc$uri
datom_locate <- function(conn, name, version = NULL, as_of = NULL, verify = FALSE) {
  check_table_args(conn, name, version)
  check_flag(verify, "verify")
  at <- as_instant(as_of, "as_of")
  structure(engine(rs_locate(conn, name, version, at, verify)), class = "datom_location")
}

#' @export
print.datom_location <- function(x, ...) {
  cli::cat_line(cli::format_inline("{.strong {x$backend}} object of version {.val {substr(x$version, 1, 8)}} ({x$bytes} bytes)"))
  cli::cat_line("  uri:         ", x$uri)
  cli::cat_line("  data_sha:    ", x$data_sha)
  cli::cat_line("  parquet_sha: ", x$parquet_sha)
  invisible(x)
}

#' What came in: every table's versions in a window
#'
#' One row per version that became current in `[since, until]`, across the
#' project's tables: the project-wide "what came in with this data cut". A
#' table reverted to an older state shows that version again with
#' `action = "revert"`.
#'
#' @param conn A [datom_get_conn()] connection (reader or developer).
#' @param since,until Instants as in [datom_read()]'s `as_of`; `until = NULL`
#'   is open-ended. A Date means the end of that day (UTC), so
#'   `since = as.Date("2026-03-31")` starts at 23:59:59 that day: pass a
#'   POSIXct or string for an earlier start.
#' @return A data frame, newest first: `table`, `version`, `data_sha`,
#'   `timestamp` (when it became current: the data-repo commit time, UTC,
#'   whole seconds), `author`, `message`, `action` (`"write"` or `"revert"`).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-changes-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' start <- Sys.time() - 1
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")
#' datom_write(conn, datom_example_data("lb", "2026-01-28"), "lb")
#' datom_changes(conn, since = start)
datom_changes <- function(conn, since, until = NULL) {
  check_conn(conn)
  if (missing(since) || is.null(since)) datom_abort("input", "{.arg since} is required.")
  as_df(engine(rs_changes(conn, as_instant(since, "since"), as_instant(until, "until"))))
}

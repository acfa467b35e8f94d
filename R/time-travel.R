# Time travel: versions by instant, where a version's object is, and what
# changed in a window. The rules live in the engine (src/rust/src/ops/read.rs,
# ops/mod.rs); this file checks arguments and shapes results.

check_version <- function(version, arg = "version", call = sys.call(-1)) {
  if (!is.null(version) && (!is.character(version) || length(version) != 1L || is.na(version) || !nzchar(version))) {
    datom_abort("input", "{.arg {arg}} must be a single non-empty string or NULL.", call = call)
  }
}

# An instant (POSIXct, Date = end of that day UTC, ISO 8601 string) as the
# canonical UTC string the engine compares: "YYYY-MM-DDTHH:MM:SSZ" (whole
# seconds, fractions dropped). NULL stays NULL.
as_instant <- function(x, arg, call = sys.call(-1)) {
  if (is.null(x)) return(NULL)
  bad <- function() {
    datom_abort("input", c(
      "{.arg {arg}} must be a single POSIXct, Date or ISO 8601 string.",
      i = "For example {.val 2026-03-31}, {.val 2026-03-31T17:00:00Z} or {.code Sys.time()}."
    ), call = call)
  }
  if (length(x) != 1L || is.na(x)) bad()
  fmt <- "%Y-%m-%dT%H:%M:%SZ"
  if (inherits(x, "POSIXt")) {
    s <- floor(as.numeric(as.POSIXct(x)))
    return(format(as.POSIXct(s, origin = "1970-01-01", tz = "UTC"), fmt, tz = "UTC"))
  }
  if (inherits(x, "Date")) {
    return(paste0(format(x, "%Y-%m-%d"), "T23:59:59Z"))
  }
  if (!is.character(x)) bad()
  x <- trimws(x)
  if (grepl("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", x)) {
    d <- as.Date(x, format = "%Y-%m-%d", optional = TRUE)
    if (is.na(d) || format(d) != x) bad()
    return(paste0(x, "T23:59:59Z"))
  }
  re <- "^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}(:[0-9]{2})?)(\\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
  if (!grepl(re, x)) bad()
  day <- sub(re, "\\1", x)
  hms <- sub(re, "\\2", x)
  if (!nzchar(sub(re, "\\3", x))) hms <- paste0(hms, ":00")
  zone <- sub(re, "\\5", x)
  t <- as.POSIXct(paste(day, hms), format = "%Y-%m-%d %H:%M:%S", tz = "UTC")
  if (is.na(t) || format(t, "%Y-%m-%d %H:%M:%S", tz = "UTC") != paste(day, hms)) bad()
  if (nzchar(zone) && zone != "Z") {
    z <- gsub(":", "", zone)
    off <- (as.integer(substr(z, 2, 3)) * 3600 + as.integer(substr(z, 4, 5)) * 60) * ifelse(substr(z, 1, 1) == "-", -1, 1)
    t <- t - off
  }
  format(t, fmt, tz = "UTC")
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
  check_conn(conn)
  check_name(name, "name")
  check_version(version)
  check_flag(verify, "verify")
  at <- as_instant(as_of, "as_of")
  if (!is.null(version) && !is.null(at)) {
    datom_abort("input", "Give {.arg version} or {.arg as_of}, not both.")
  }
  res <- engine(rs_locate(conn, name, version, at, verify))
  structure(res, class = "datom_location")
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
  res <- engine(rs_changes(conn, as_instant(since, "since"), as_instant(until, "until")))
  data.frame(
    table = res$table, version = res$version, data_sha = res$data_sha, timestamp = res$timestamp,
    author = res$author, message = res$message, action = res$action, stringsAsFactors = FALSE
  )
}

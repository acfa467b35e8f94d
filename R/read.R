#' Read a table (any version) from the data store
#'
#' Reads only the data store: the table's metadata and history, then the
#' parquet object, whose SHA-256 is verified against the recorded
#' `parquet_sha` before it is parsed. Works for developers and readers alike;
#' never touches git.
#'
#' @param conn A [datom_get_conn()] connection (reader or developer).
#' @param name The table name.
#' @param version `NULL` for the current version, or a version id
#'   (`metadata_sha`) or any unique prefix of one.
#' @param as_of `NULL`, or an instant: a POSIXct, a Date (the end of that
#'   day, UTC) or an ISO 8601 string (`"2026-03-31"`,
#'   `"2026-03-31T17:00:00Z"`, `"2026-03-31 17:00:00+02:00"`; no zone means
#'   UTC). Reads the version that was current at that instant, reverts
#'   included, from the table's current-version log in the store. A version
#'   becomes current at the commit time of the data-repo commit that made it
#'   current, which git records to the second: instants are compared in whole
#'   seconds (fractions are dropped). Before the table's first version:
#'   `datom_error_not_found`. Not together with `version`.
#' @param context,... Reserved for routed readers; accepted and ignored.
#' @return A tibble-classed data frame (`tbl_df`, `tbl`, `data.frame`) with
#'   the stored values, column types and attributes.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-read-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' w <- datom_write(conn, datom_example_data("ae", "2026-02-28"), "ae")
#' head(datom_read(conn, "ae"))
#' nrow(datom_read(conn, "ae", version = substr(w$metadata_sha, 1, 8)))
#' nrow(datom_read(conn, "ae", as_of = Sys.time()))
datom_read <- function(conn, name, version = NULL, as_of = NULL, context = NULL, ...) {
  check_table_args(conn, name, version)
  at <- as_instant(as_of, "as_of")
  res <- engine(rs_read(conn, name, version, at))
  # a tibble whatever the user loaded (tibble is imported: its methods are registered)
  tibble::new_tibble(assemble_frame(res), nrow = res$nrow)
}

# An engine result (a named list of equal-length columns) as a data frame.
as_df <- function(x, cols = names(x)) data.frame(x[cols], stringsAsFactors = FALSE)

# Version ids and hashes in columns `cols` of `df` cut to 8 characters.
shorten <- function(df, cols, short = TRUE) {
  if (isTRUE(short)) df[cols] <- lapply(df[cols], short_sha)
  df
}

# Columns + attributes from the engine -> data frame (no copy of the columns).
assemble_frame <- function(res) {
  cols <- res$columns
  for (i in which(!is.na(res$extras))) {
    a <- unserialize(charToRaw(res$extras[[i]]))
    attributes(cols[[i]]) <- c(attributes(cols[[i]]), a)
  }
  n <- res$nrow
  structure(cols,
    names = res$names,
    row.names = if (n > 0) c(NA_integer_, -as.integer(n)) else integer(0),
    class = if (is.null(res$df_class)) "data.frame" else res$df_class
  )
}

#' List a project's tables
#'
#' Reads the project's manifest from the data store.
#'
#' @param conn A [datom_get_conn()] connection.
#' @param pattern `NULL` or a glob (e.g. `"l*"`) matched against table names.
#' @param include_versions Add a `version_count` column.
#' @param short_hash Truncate hashes to 8 characters (display); `FALSE` for
#'   full hashes.
#' @return A data frame, one row per table, sorted by name: `name`,
#'   `current_version`, `current_data_sha`, `last_updated` (and
#'   `version_count`).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-list-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")
#' datom_list(conn)
datom_list <- function(conn, pattern = NULL, include_versions = FALSE, short_hash = TRUE) {
  check_conn(conn)
  check_string_or_null(pattern, "pattern")
  df <- as_df(engine(rs_list(conn)))
  if (!isTRUE(include_versions)) df$version_count <- NULL
  if (!is.null(pattern)) df <- df[grepl(utils::glob2rx(pattern), df$name), , drop = FALSE]
  rownames(df) <- NULL
  shorten(df, c("current_version", "current_data_sha"), short_hash)
}

#' A table's version history
#'
#' @param conn A [datom_get_conn()] connection.
#' @param name The table name.
#' @param n The number of most recent versions to return.
#' @param short_hash `FALSE` (default) returns full hashes (what
#'   [datom_read()] accepts); `TRUE` truncates them to 8 characters.
#' @param since,until `NULL` or instants, parsed like `as_of` of
#'   [datom_read()] (a Date is the end of that day): keep only versions whose
#'   `timestamp` is in `[since, until]` (whole seconds, UTC).
#' @return A data frame, newest first: `version`, `data_sha`, `timestamp`,
#'   `author` (`"Name <email>"`), `commit_message`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-history-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("lb", "2026-01-28"), "lb", message = "month 1")
#' datom_write(conn, datom_example_data("lb", "2026-02-28"), "lb", message = "month 2")
#' datom_history(conn, "lb", short_hash = TRUE)
datom_history <- function(conn, name, n = 10, short_hash = FALSE, since = NULL, until = NULL) {
  check_table_args(conn, name)
  if (!is.numeric(n) || length(n) != 1L || is.na(n) || n < 1 || n != round(n)) {
    datom_abort("input", "{.arg n} must be a positive integer.")
  }
  df <- as_df(engine(rs_history(conn, name, as_instant(since, "since"), as_instant(until, "until"))))
  shorten(utils::head(df, n), c("version", "data_sha"), short_hash)
}

# datom_diff(): the engine (src/rust/src/ops/diff.rs) matches rows and
# compares values; this file checks arguments and shapes the result.

#' What changed between two versions of a table
#'
#' Compares two versions row by row, matching rows by `keys`, in the engine
#' (on the decoded columns, not in R). Values are compared as R sees them:
#' a factor by its labels (a change of levels alone changes no cell), a
#' POSIXct by its instant (a change of time zone alone is a schema change,
#' not a cell change), `NA` equal only to `NA`. A column whose type changed
#' is compared by its values as character. Two versions with the same
#' `data_sha` are identical: nothing is read.
#'
#' @param conn A [datom_get_conn()] connection (reader or developer).
#' @param name The table name.
#' @param from,to Versions: a version id or unique prefix (hex), or an
#'   instant as `as_of` of [datom_read()] (POSIXct, Date, ISO 8601 string).
#'   `to = NULL` is the current version; `from = NULL` the version before
#'   `to` in the history.
#' @param keys `NULL`, or the names of the columns that identify a row in
#'   both versions (e.g. `c("USUBJID", "VISITNUM", "LBTESTCD")`). Duplicate keys in either
#'   version are an error (`datom_error_input`). With `keys = NULL` rows are
#'   matched by their whole content: only added and removed rows, no changed
#'   ones (and if the columns differ, every row is added and removed).
#' @return An object of class `datom_diff`: a list with
#'   * `summary`: one row, `added`, `removed`, `changed`, `unchanged` (row
#'     counts; a row is changed when its key is in both versions and any
#'     shared column's value differs),
#'   * `added`, `removed`: the rows (all columns; a zero-column data frame
#'     when there are none),
#'   * `changed`: one row per changed cell: the key columns (their values in
#'     `to`), `column`, `from`, `to` (values as character; doubles to 15
#'     significant digits, POSIXct in UTC),
#'   * `schema`: one row per column change: `column`, `change` (`"added"`,
#'     `"removed"`, `"type_changed"`), `from_type`, `to_type`,
#'   * `from`, `to`: the version ids compared, and `keys`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-diff-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("lb", "2026-01-28"), "lb")
#' datom_write(conn, datom_example_data("lb", "2026-02-28"), "lb")
#' d <- datom_diff(conn, "lb", keys = c("USUBJID", "VISITNUM", "LBTESTCD"))
#' d
#' d$summary
datom_diff <- function(conn, name, from = NULL, to = NULL, keys = NULL) {
  check_table_args(conn, name)
  if (!is.null(keys) && (!is.character(keys) || length(keys) == 0L || anyNA(keys) || !all(nzchar(keys)))) {
    datom_abort("input", "{.arg keys} must be a character vector of column names, or NULL.")
  }
  # a side is a version id (prefix) or an instant (the engine tells them apart)
  from <- as_instant(from, "from", versions = TRUE)
  to <- as_instant(to, "to", versions = TRUE)
  res <- engine(rs_diff(conn, name, from, to, keys))
  # rows `rows` of a decoded frame, as a plain data frame
  pick <- function(x, rows) {
    if (is.null(x)) return(data.frame())
    df <- assemble_frame(x)
    class(df) <- "data.frame"
    out <- df[rows, , drop = FALSE]
    rownames(out) <- NULL
    out
  }
  changed <- as_df(res$cells, c("column", "from", "to"))
  if (length(res$keys) > 0) {
    kv <- if (is.null(res$key_frame)) {
      as_df(structure(rep(list(character()), length(res$keys)), names = res$keys))
    } else {
      pick(res$key_frame, match(res$cells$to_row, res$key_rows))
    }
    changed <- cbind(kv, changed)
  }
  structure(list(
    summary = as_df(res, c("added", "removed", "changed", "unchanged")),
    added = pick(res$to_frame, res$added_rows), removed = pick(res$from_frame, res$removed_rows),
    changed = changed, schema = as_df(res$schema),
    from = res$from_version, to = res$to_version, keys = res$keys, identical = res$identical,
    table = name
  ), class = "datom_diff")
}

#' @export
print.datom_diff <- function(x, n = 10, ...) {
  cli::cat_line(cli::format_inline("{.strong {x$table}}: {.val {substr(x$from, 1, 8)}} -> {.val {substr(x$to, 1, 8)}}",
                                   if (length(x$keys)) " by {.field {x$keys}}" else " by whole rows"))
  if (isTRUE(x$identical)) {
    cli::cat_line("  identical data (same data_sha)")
    return(invisible(x))
  }
  cli::cat_line(sprintf("  %s added, %s removed, %s changed, %s unchanged rows",
                        x$summary$added, x$summary$removed, x$summary$changed, x$summary$unchanged))
  if (nrow(x$schema) > 0) {
    cli::cat_line("  schema:")
    for (i in seq_len(nrow(x$schema))) {
      r <- x$schema[i, ]
      cli::cat_line("    ", switch(r$change,
        added = sprintf("+ %s <%s>", r$column, r$to_type),
        removed = sprintf("- %s <%s>", r$column, r$from_type),
        sprintf("~ %s <%s> -> <%s>", r$column, r$from_type, r$to_type)
      ))
    }
  }
  ch <- x$changed
  if (nrow(ch) > 0) {
    cli::cat_line(sprintf("  changed cells (%d%s):", nrow(ch), if (nrow(ch) > n) sprintf(", first %d", n) else ""))
    show <- utils::head(ch, n)
    key <- if (length(x$keys)) do.call(paste, c(lapply(x$keys, function(k) paste0(k, "=", show[[k]])), sep = " ")) else ""
    val <- function(v) ifelse(is.na(v), "NA", encodeString(v, quote = "\""))
    for (i in seq_len(nrow(show))) {
      cli::cat_line("    ", key[[i]], "  ", show$column[[i]], ": ", val(show$from[[i]]), " -> ", val(show$to[[i]]))
    }
  }
  invisible(x)
}

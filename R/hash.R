#' Hash a data frame's values (datom-cv1)
#'
#' Computes the content identity datom uses for every table version: a
#' SHA-256 over the column names and the canonically encoded values
#' (`datom-cv1`), plus one digest per column. The container class, row names,
#' time zones, factor levels and the locale do not affect it; row and column
#' order do. Hashing streams over the data in place (no copy is made).
#'
#' @param data A data frame with at least one row and one column, whose
#'   columns are all supported (see [datom_check_hashable()]).
#' @return A list with `data_sha` (64 lower-case hex characters) and
#'   `column_hashes`, a data frame with columns `name` and `sha`.
#' @seealso [datom_check_hashable()], [datom_metadata_sha()]
#' @export
#' @examples
#' h <- datom_hash(data.frame(x = c(1, NA)))
#' h$data_sha
#' h$column_hashes
datom_hash <- function(data) {
  check_hashable_frame(data)
  res <- engine(rs_hash(data, as.numeric(nrow(data))))
  list(data_sha = res$data_sha, column_hashes = as_df(res, c("name", "sha")))
}

# The refusals of dev/spec/FORMATS.md 3.1, checked before anything is encoded.
check_hashable_frame <- function(data, arg = "data", call = sys.call(-1)) {
  rep <- column_report(data, arg, rows = TRUE, content = FALSE, call = call)
  bad <- which(!is.na(rep$advice))
  if (length(bad)) {
    datom_abort("unsupported", "{length(bad)} of {ncol(data)} column{?s} cannot be hashed.",
      "Run {.code datom_check_hashable(data)} for details; nothing was written.",
      stats_set_names(paste("Column", column_bullets(rep, bad)), rep("x", length(bad))), call = call)
  }
  invisible(rep)
}

# The engine's hashability report of a data frame with at least one column
# (and, with `rows`, one row). With `content`, strings are also checked to be
# valid UTF-8 (a write checks them as it reads them, so its pre-flight
# leaves that out).
column_report <- function(data, arg = "data", rows = FALSE, content = TRUE, call = sys.call(-1)) {
  check_data_frame(data, arg, call = call)
  if (ncol(data) == 0L) datom_abort("input", "{.arg {arg}} has no columns.", "A table needs at least one column.", call = call)
  if (rows && nrow(data) == 0L) datom_abort("input", "{.arg {arg}} has no rows.", "A table needs at least one row.", call = call)
  engine(rs_check(data, content))
}

# "{.field column} ({.cls class}): advice" of report rows `i`.
column_bullets <- function(rep, i) sprintf("{.field %s} ({.cls %s}): %s", esc(rep$column[i]), esc(rep$class[i]), esc(rep$advice[i]))

esc <- function(x) gsub("}", "}}", gsub("{", "{{", x, fixed = TRUE), fixed = TRUE)
stats_set_names <- function(x, nm) { names(x) <- nm; x }

#' Check that a data frame can be hashed and stored
#'
#' A pure pre-flight check of the table contract: every column is classified
#' with the rules datom's hash uses, and every unsupported column is listed
#' with advice. Nothing is written anywhere.
#'
#' Supported columns: logical, integer, double, character, factor, `Date`
#' (including `data.table::IDate`), `POSIXct`, `difftime`/`hms`,
#' `data.table::ITime`, `bit64::integer64`, and labelled vectors
#' (`haven_labelled`, `labelled`, `labelled_spss`) of these.
#'
#' @param data A data frame with at least one column (zero rows allowed).
#' @return Invisibly, a data frame with one row per column: `column`,
#'   `class`, `status` (`"ok"` or `"unsupported"`) and `recourse` (advice,
#'   `NA` when ok).
#' @export
#' @examples
#' datom_check_hashable(data.frame(id = 1:2, when = Sys.Date() + 0:1))
#' df <- data.frame(id = 1:2)
#' df$z <- complex(real = 1:2, imaginary = 0)
#' datom_check_hashable(df)
datom_check_hashable <- function(data) {
  rep <- column_report(data)
  out <- data.frame(column = rep$column, class = rep$class, status = ifelse(is.na(rep$advice), "ok", "unsupported"),
                    recourse = rep$advice, stringsAsFactors = FALSE)
  n <- nrow(out)
  bad <- which(out$status == "unsupported")
  if (length(bad) == 0L) {
    datom_inform("success", "All {n} column{?s} are hashable. This table is ready for {.fn datom_write}.")
  } else if (!isTRUE(getOption("datom.quiet", FALSE))) {
    cli::cli_alert_danger("{length(bad)} of {n} column{?s} {?is/are} not hashable")
    for (b in column_bullets(rep, bad)) cli::cli_bullets(c(x = b))
    cli::cli_alert_info("Fix these before {.fn datom_write}, which refuses the whole table until they are resolved.")
  }
  invisible(out)
}

#' The version id of a metadata list (`metadata_sha`)
#'
#' Computes the identifier datom gives a table version: SHA-256 of the
#' canonical JSON text of the metadata's semantic fields. The volatile fields
#' `created_at`, `datom_version`, `parquet_sha`, `column_hashes` and
#' `size_bytes` are left out; the remaining top-level fields are ordered by
#' their bytes (independent of the locale); the text follows
#' `jsonlite::toJSON(auto_unbox = TRUE)` with 4 digits.
#'
#' @param metadata A named list (the contents of a table's `metadata.json`).
#' @return The version id: 64 lower-case hex characters. The canonical text
#'   hashed is attached as attribute `"canonical_json"`.
#' @export
#' @examples
#' datom_metadata_sha(list(data_sha = "abc123", nrow = 100L, ncol = 5L,
#'                         table_type = "imported", hash_algo = "datom-cv1"))
datom_metadata_sha <- function(metadata) {
  if (!is.list(metadata) || is.data.frame(metadata) || is.null(names(metadata))) {
    datom_abort("input", "{.arg metadata} must be a named list.",
      "Pass the metadata as held in memory, e.g. list(data_sha = ..., nrow = ...).")
  }
  res <- engine(rs_metadata_sha(metadata))
  structure(res$sha, canonical_json = res$canonical)
}

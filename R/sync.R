# Batch import of raw extracts: scan the inbox, import what is new or changed.

# The inbox is scanned and classified, and a sync planned, by the engine
# (ops::sync): R reads the files (its readers) and writes each table.

sync_manifest_columns <- c("name", "file", "format", "original_file_sha", "status")

#' Scan the input folder for files to import
#'
#' Lists the files of a flat input folder (by default the data clone's
#' `input_files/`, which git ignores), hashes each file's bytes
#' (`original_file_sha`) and classifies it against the data clone's manifest:
#' `"new"` (no table of that name yet), `"changed"` (the table was imported
#' from different bytes), `"unchanged"` (same bytes: nothing to do) or
#' `"unsupported_format"`. Nothing is parsed or written: pass the result
#' (possibly filtered) to [datom_sync()].
#'
#' Each file becomes the table named after the file without its last
#' extension (`dm.csv` -> `dm`). Accepted formats (case-insensitive): `csv`,
#' `tsv`, `txt` (tab-delimited), `psv` (pipe-delimited), `parquet`,
#' `sas7bdat`, `xpt`, `sav`, `zsav`, `por`, `dta` (through the haven package)
#' and `xls`, `xlsx` (through readxl). Anything else, including `.rds` (an
#' `.rds` file can hold any R object, not necessarily a table), is
#' `"unsupported_format"`: read it yourself and call [datom_write()]. The
#' folder must be flat; hidden (dot) files are ignored.
#'
#' The classification uses the local manifest: run [datom_pull()] first so
#' it is current.
#'
#' @param conn A developer [datom_get_conn()] connection.
#' @param path `NULL` (the data clone's `input_files/`) or another directory.
#' @param pattern A glob matched against file names (`"*"`: every file).
#' @return A data frame, one row per file (sorted by file name, byte order): `name`
#'   (table name), `file` (absolute path), `format` (extension as written),
#'   `original_file_sha` (SHA-256 of the file) and `status` (`"new"`,
#'   `"changed"`, `"unchanged"` or `"unsupported_format"`).
#' @seealso [datom_sync()]
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-sync-manifest-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' inbox <- file.path(root, "clone", "input_files")
#' utils::write.csv(datom_example_data("dm", "2026-01-28"), file.path(inbox, "dm.csv"), row.names = FALSE)
#' utils::write.csv(datom_example_data("ae", "2026-01-28"), file.path(inbox, "ae.csv"), row.names = FALSE)
#' writeLines("not a table", file.path(inbox, "notes.md"))
#' datom_sync_manifest(conn)
#' datom_sync_manifest(conn, pattern = "d*")
datom_sync_manifest <- function(conn, path = NULL, pattern = "*") {
  check_sync_developer(conn)
  check_string(pattern, "pattern")
  if (!is.null(path)) path <- abs_path(check_string(path, "path"))
  s <- engine(rs_inbox_scan(conn, path, pattern))
  out <- data.frame(name = s$name, file = s$file, format = s$format, original_file_sha = s$original_file_sha,
                    status = s$status, stringsAsFactors = FALSE)
  if (!nrow(out)) {
    datom_inform("info", "No files found in {.path {s$dir}} matching {.val {pattern}}.")
    return(out)
  }
  n <- s$counts  # total, new, changed, unchanged, unsupported
  datom_inform("info", "Scanned {n[1]} file{?s}: {n[2]} new, {n[3]} changed, {n[4]} unchanged")
  uns <- basename(out$file[out$status == "unsupported_format"])
  if (n[5] > 0) datom_inform("warning", "{n[5]} file{?s} in an unsupported format: {.file {uns}}")
  out
}

#' Import new and changed input files as tables
#'
#' Imports every `"new"` and `"changed"` row of a [datom_sync_manifest()]
#' result as an `imported` table: the file is read into a data frame, hashed,
#' and written with [datom_write()] (one commit, `Sync {table} ({status})`,
#' and at most one upload per table). Each imported version records the
#' file's `original_file_sha`, its format, and a self-entry as
#' `source_lineage` (`{project, table, version_sha = data_sha}`), which is
#' what derived tables inherit through [datom_parent()].
#'
#' Readers: `csv` with [utils::read.csv()], `tsv`/`txt` with
#' [utils::read.delim()], `psv` with `read.delim(sep = "|")` (all with
#' `stringsAsFactors = FALSE`); `parquet` with datom's own engine; `sas7bdat`, `xpt`, `sav`, `zsav`, `por` and `dta` with the
#' haven package and `xls`/`xlsx` with readxl, when installed (otherwise the
#' call stops before any work, naming the package to install). Unchanged
#' rows are skipped without being read; a file whose content equals the
#' table's but whose bytes changed becomes a metadata-only version; a file
#' reverted to older bytes makes the older content current again and reuses
#' its stored object.
#'
#' A row in a format datom does not import is an error whatever its
#' `status` says, and so is a status other than the four above; neither
#' stops the other rows.
#'
#' A progress bar is shown in interactive sessions. If a write is rejected
#' because the data repo moved on (someone else pushed), the sync stops:
#' run [datom_pull()], then scan and sync again.
#'
#' **Repair after an interruption.** Each table is its own complete write,
#' so a sync that failed or whose session died part-way leaves every table
#' either imported or untouched (a write cut short inside is finished by
#' the same import; see [datom_write()]). [datom_sync_manifest()] then
#' reports the imported files as `"unchanged"` and the rest as `"new"` or
#' `"changed"`: run `datom_sync(conn, datom_sync_manifest(conn))` again. It
#' imports again an unchanged file whose version never reached the store
#' (its object, then the push and publication, are completed), and finishes
#' a push or publication left undone.
#'
#' @param conn A developer [datom_get_conn()] connection.
#' @param manifest A data frame from [datom_sync_manifest()] (columns `name`,
#'   `file`, `format`, `original_file_sha`, `status`); it may be filtered.
#' @param continue_on_error `TRUE`: report a failing file and go on with the
#'   others; `FALSE`: stop at the first failure.
#' @return The manifest with two more columns: `result` (`"success"`,
#'   `"skipped"` for unchanged rows, or `"error"`) and `error` (the message,
#'   or `NA`).
#' @seealso [datom_sync_manifest()], [datom_write()]
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-sync-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' inbox <- file.path(root, "clone", "input_files")
#' utils::write.csv(datom_example_data("dm", "2026-01-28"), file.path(inbox, "dm.csv"), row.names = FALSE)
#' utils::write.table(datom_example_data("lb", "2026-01-28"), file.path(inbox, "lb.tsv"),
#'                    sep = "\t", row.names = FALSE)
#' datom_sync(conn, datom_sync_manifest(conn))
#' # nothing new: a no-op
#' datom_sync(conn, datom_sync_manifest(conn))
#' # next month's extract: one new version of lb
#' utils::write.table(datom_example_data("lb", "2026-02-28"), file.path(inbox, "lb.tsv"),
#'                    sep = "\t", row.names = FALSE)
#' datom_sync(conn, datom_sync_manifest(conn))
#' datom_history(conn, "lb", short_hash = TRUE)
datom_sync <- function(conn, manifest, continue_on_error = TRUE) {
  check_sync_developer(conn)
  if (!is.data.frame(manifest)) {
    datom_abort("input", "{.arg manifest} must be a data frame from {.fn datom_sync_manifest}, not {.obj_type_friendly {manifest}}.")
  }
  miss <- setdiff(sync_manifest_columns, names(manifest))
  if (length(miss)) {
    datom_abort("input", "Manifest missing required columns: {.field {miss}}.",
      "Pass the data frame returned by datom_sync_manifest(), filtered by rows if needed.")
  }
  if (!is.logical(continue_on_error) || length(continue_on_error) != 1L || is.na(continue_on_error)) {
    datom_abort("input", "{.arg continue_on_error} must be TRUE or FALSE.")
  }
  out <- manifest
  # what to import, skip or refuse: the engine's plan
  plan <- engine(rs_sync_plan(conn, as.character(out$name), as.character(out$format), as.character(out$status)))
  out$result <- plan$result
  out$error <- plan$error
  act <- plan$import

  # 0. optional readers, before any work
  pkg <- plan$package[act]
  absent <- Filter(function(p) !has_package(p), unique(pkg[!is.na(pkg)]))
  if (length(absent)) {
    files <- basename(out$file[act][pkg %in% absent])
    install <- sprintf("install.packages(%s)", paste0("c(", paste0('"', absent, '"', collapse = ", "), ")"))
    datom_abort("dependency",
      "Importing {.file {files}} needs the {.pkg {absent}} package{?s}, which {?is/are} not installed.",
      "Install with {.code {install}}, or convert the files to CSV or parquet. Nothing was synced.")
  }

  # 1. unsupported formats never block the other rows
  uns <- which(out$status == "unsupported_format")
  if (length(uns)) {
    k <- length(uns)
    datom_inform("danger", "{k} file{?s} in an unsupported format, not synced: {.file {basename(out$file[uns])}}")
  }

  # 2. nothing to do (an import cut short whose push or publication was
  # left undone is finished)
  if (!length(act)) {
    if (plan$finish) {
      done <- engine(rs_write_finish(conn))
      if (length(done)) datom_inform("success", "Completed the interrupted sync: {done}.")
    } else {
      datom_inform("info", "No new or changed files. Nothing to sync.")
    }
    return(out)
  }

  # 3. up-front staleness check: a clone behind origin would have its first
  # push rejected; stop before any work instead
  st <- rs_git_behind(conn)
  if (inherits(st, "datom_engine_error")) {
    datom_inform("warning", "Could not check origin before syncing: {esc(st$message)}")
  } else if (st$behind > 0L) {
    datom_abort("push_rejected",
      "The data clone is {st$behind} commit{?s} behind origin: someone else pushed. Nothing was synced.",
      "Run {.code datom_pull(conn)}, then {.code datom_sync(conn, datom_sync_manifest(conn))} again.")
  }

  # 4. one write per table
  n <- length(act)
  datom_inform("info", "Syncing {n} table{?s}...")
  show_bar <- interactive() && !isTRUE(getOption("datom.quiet", FALSE))
  if (show_bar) cli::cli_progress_bar("Syncing", total = n, clear = TRUE)
  for (i in act) {
    name <- out$name[i]
    st <- as.character(out$status[i])
    res <- tryCatch(
      sync_one(conn, name, out$file[i], out$format[i], st, plan$reader[i], plan$package[i]),
      error = function(e) e
    )
    if (inherits(res, "datom_error_push_rejected")) {
      out$result[i] <- "error"
      out$error[i] <- err_text(res)
      done <- sum(out$result[act] == "success", na.rm = TRUE)
      datom_abort("push_rejected",
        "Sync stopped at {.val {name}}: the data repo on origin has moved on (the local branch is behind).",
        "Run {.code datom_pull(conn)}, then {.code datom_sync(conn, datom_sync_manifest(conn))} again. {done} table{?s} synced before the stop; nothing was changed for {.val {name}}.")
    }
    if (inherits(res, "error")) {
      out$result[i] <- "error"
      out$error[i] <- err_text(res)
      if (!continue_on_error) {
        datom_abort("sync", "Failed to sync {.val {name}}.",
          "Set {.code continue_on_error = TRUE} to record failures and continue with the other files.",
          x = paste("Cause:", esc(err_text(res))))
      }
      cause <- err_text(res)
      datom_inform("danger", "Failed to sync {.val {name}}: {cause}")
    } else {
      out$result[i] <- "success"
      short <- short_sha(res$metadata_sha)
      what <- if (length(res$completed)) paste("completed:", paste(res$completed, collapse = ", "))
              else if (identical(res$action, "none")) "already current" else res$action
      datom_inform("success", "{.val {name}} synced ({st}): {.val {short}} ({what})")
    }
    if (show_bar) cli::cli_progress_update()
    # tests: an interruption between two tables (DATOM_FAILPOINT=sync.table)
    if (i != act[n]) engine(rs_failpoint_hit("sync.table"))
  }
  if (show_bar) cli::cli_progress_done()

  # 5. summary
  n <- vapply(c("success", "error", "skipped"), function(r) sum(out$result == r, na.rm = TRUE), 1L)
  datom_inform("info", "Sync complete: {n[1]} succeeded, {n[2]} failed, {n[3]} skipped")
  failed <- which(out$result == "error")
  if (length(failed) && !isTRUE(getOption("datom.quiet", FALSE))) {
    cli::cli_bullets(stats_set_names(
      sprintf("%s: %s", esc(basename(out$file[failed])), esc(out$error[failed])),
      rep("x", length(failed))
    ))
  }
  out
}

# Helpers ----------------------------------------------------------------------

check_sync_developer <- function(conn, call = sys.call(-1)) {
  check_developer(conn, "Sync operations require developer role", call = call)
}

has_package <- function(pkg) requireNamespace(pkg, quietly = TRUE)

# Exported function `fun` of an optional package (looked up at run time).
optional_fun <- function(pkg, fun) {
  if (!has_package(pkg)) {
    datom_abort("dependency", "Reading this format needs the {.pkg {pkg}} package, which is not installed.",
      "Install it with {.code install.packages(\"{pkg}\")}, or convert the file to CSV or parquet.")
  }
  getExportedValue(pkg, fun)
}

# Read one input file into a data frame with the reader the engine's plan
# names: delimited text by R, parquet by datom, the rest by `package`.
read_input_file <- function(file, reader, package) {
  df <- if (!is.na(package)) optional_fun(package, reader)(file) else switch(reader,
    csv = utils::read.csv(file, stringsAsFactors = FALSE),
    tsv = utils::read.delim(file, stringsAsFactors = FALSE),
    psv = utils::read.delim(file, sep = "|", stringsAsFactors = FALSE),
    parquet = parquet_read(file)
  )
  if (!is.data.frame(df)) {
    datom_abort("input", "{.file {basename(file)}} did not produce a data frame (got {.obj_type_friendly {df}}).")
  }
  df
}

# Import one file and write it as an imported table (quietly: the caller
# reports the outcome).
sync_one <- function(conn, name, file, format, status, reader, package) {
  check_name(name, "name")
  if (!file.exists(file)) datom_abort("not_found", "Input file not found: {.path {file}}.")
  # the bytes actually imported are the ones recorded
  sha <- engine(rs_sha256_file(file))
  df <- read_input_file(file, reader, package)
  old <- options(datom.quiet = TRUE)
  on.exit(options(old), add = TRUE)
  datom_write(
    conn, df, name,
    message = sprintf("Sync %s (%s)", name, status),
    .table_type = "imported",
    .original_file_sha = sha,
    .original_format = format,
    .source_lineage = structure(list(list(project = conn$project_name, table = name, version_sha = "")),
                                class = "datom_self_lineage")
  )
}

#' Write a new version of a table
#'
#' Hashes `data` (`datom-cv1`). Unchanged content and metadata is a no-op;
#' changed metadata alone is a new version that reuses the stored object; new
#' content becomes an immutable parquet snapshot addressed by its hash. The
#' table's metadata and history are committed and pushed to the data repo
#' first; only then are the parquet object and the metadata mirrors uploaded
#' to the data store. If the push is rejected because someone else pushed
#' first, the local commit is undone, nothing is uploaded, and the error
#' (class `datom_error_push_rejected`) tells you to run `datom_pull(conn)`
#' and retry.
#'
#' @param conn A developer [datom_get_conn()] connection.
#' @param data A data frame (at least one row and one column, every column
#'   supported: see [datom_check_hashable()]).
#' @param name The table name.
#' @param metadata `NULL` or a named list stored as `custom` (part of the
#'   version identity).
#' @param message Commit message (default `Update {name}`); not identity.
#' @param parents `NULL` or a list of parent records (lineage), each with
#'   `source`, `table`, `version`, `data_sha` and optional `source_lineage`.
#' @param .source_lineage,.table_type,.original_file_sha,.original_format
#'   Internal: provenance of imported tables.
#' @return Invisibly, a list with `name`, `data_sha`, `metadata_sha` (the
#'   version), `action` (`"none"`, `"metadata_only"` or `"full"`) and, when a
#'   commit was made, `commit_sha`. When the version was already committed
#'   but an earlier write of it was interrupted, the write completes it and
#'   `completed` names what it did (`"object"`, `"push"`, `"publication"`).
#'
#' @section Crash consistency:
#' The commit is made and pushed first (a push rejected as non-fast-forward
#' uploads nothing and leaves the clone exactly as it was; your other files
#' are never touched), then the data object is published (it is written
#' while it is encoded -- a temporary file beside its key, or an S3 multipart
#' upload -- and stays invisible until then), then the store's
#' mirrors are published; a table whose object is not in the store yet is
#' held back at its readable version, so no reader gets a version without
#' its data. A write that failed after its push is finished by
#' re-running the same call. One datom process writes through a clone at a
#' time: another waits up to `DATOM_LOCK_WAIT` seconds (default 120), then
#' gets a `datom_error_busy` condition.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-write-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm", message = "dm month 1")
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")  # no change
datom_write <- function(conn, data = NULL, name = NULL, metadata = NULL, message = NULL,
                        parents = NULL, .source_lineage = NULL, .table_type = "derived",
                        .original_file_sha = NULL, .original_format = NULL) {
  check_developer(conn)
  if (is.null(data)) {
    if (is.null(name)) {
      datom_sync_dispatch(conn, .confirm = TRUE)
      return(invisible(NULL))
    }
    return(resync_table(conn, name))
  }
  if (!is.data.frame(data)) datom_abort("input", "{.arg data} must be a data frame, not {.obj_type_friendly {data}}.")
  if (is.null(name)) datom_abort("input", "{.arg name} is required.")
  check_name(name, "name")
  if (nrow(data) == 0L || ncol(data) == 0L) {
    datom_abort("input", "{.arg data} must have at least one row and one column.")
  }
  if (!is.null(metadata) && (!is.list(metadata) || is.data.frame(metadata) || is.null(names(metadata)) ||
                             any(!nzchar(names(metadata))))) {
    datom_abort("input", "{.arg metadata} must be a named list.")
  }
  if (!is.null(message)) check_string(message, "message")
  # parent records and source lineage as the write records them (engine)
  lineage <- engine(rs_write_lineage(parents, .source_lineage))
  check_storable(data)
  # a governed project's write checks its ref.json in the governance store
  gov <- if (!is.null(conn$gov_root)) conn_gov_access(conn)
  res <- engine(rs_write(
    conn, data, as.numeric(nrow(data)), name, metadata, lineage$parents, lineage$source_lineage, .table_type,
    .original_file_sha, .original_format, message, datom_version(), column_extras(data), gov
  ))
  short <- substr(res$metadata_sha, 1, 8)
  if (identical(res$action, "none") && length(res$completed)) {
    what <- c(object = "uploaded the missing data object", push = "pushed the unpushed commit",
              publication = "published the version to the store")[res$completed]
    datom_inform("success", "Completed the interrupted write of {.val {name}} ({.val {short}}): {paste(what, collapse = ', ')}.")
  } else if (identical(res$action, "none")) {
    datom_inform("info", "No changes detected for {.val {name}}. Skipping write.")
  } else {
    datom_inform("success", "Wrote {.val {name}} ({res$action}): {.val {short}}")
  }
  # commit_sha and completed only when there are some
  invisible(Filter(length, res[c("name", "data_sha", "metadata_sha", "action", "commit_sha", "completed")]))
}

#' Union of source lineages
#'
#' The de-duplicated union of several `source_lineage` lists: first
#' occurrence kept, in input order; two entries are equal when `project`,
#' `table` and `version_sha` are all equal (entries are returned unchanged).
#'
#' @param lineages A list whose members are `source_lineage` lists or `NULL`.
#' @return A list of lineage entries (`list()` when empty).
#' @export
#' @examples
#' a <- list(list(project = "P", table = "dm", version_sha = "abc123"))
#' b <- list(list(project = "P", table = "dm", version_sha = "abc123"),
#'           list(project = "P", table = "ae", version_sha = "def456"))
#' str(datom_lineage_union(list(a, b, NULL)))
datom_lineage_union <- function(lineages) {
  engine(rs_lineage_union(lineages))
}

# datom_write(conn, name = t): pull, then re-publish one table's metadata.
resync_table <- function(conn, name) {
  check_name(name, "name")
  engine(rs_pull(conn))
  res <- engine(rs_sync_metadata(conn, name))
  if (!isTRUE(res$changed)) {
    datom_inform("info", "No metadata changes for {.val {name}}. Skipping sync.")
    return(invisible(list(name = name, metadata_sha = res$metadata_sha, action = "none")))
  }
  datom_inform("success", "Synced metadata for {.val {name}} to storage")
  invisible(list(name = name, metadata_sha = res$metadata_sha, action = "metadata_only",
                 s3_keys = engine(rs_table_mirror_keys(name, res$metadata_sha)),
                 commit_sha = res$commit_sha))
}

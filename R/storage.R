# The storage extension API: low-level primitives for tooling (migration,
# rollback, teardown). No role checks: storage credentials are the gate. All
# keys stay inside the project's namespace `{prefix}/datom/{project}/`.

#' List every object of a project's data namespace
#'
#' @param conn A [datom_get_conn()] connection (any role).
#' @return A character vector of full storage keys (`{prefix}/datom/{project}/...`);
#'   `character(0)` when the namespace is empty.
#' @family storage extension API
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-storage-list")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")
#' datom_storage_list(conn)
datom_storage_list <- function(conn) {
  check_conn(conn)
  engine(rs_storage_list(conn))$key
}

# The number of objects in a project's namespace, for messages.
object_count <- function(conn) length(engine(rs_storage_list(conn))$key)

# A byte count as the messages show it ("1,234").
format_bytes <- function(x) format(sum(x), big.mark = ",", scientific = FALSE)

#' Delete objects of a project's data namespace
#'
#' Irreversible. Deletes every object of the project's namespace, or of a
#' relative prefix inside it (e.g. a table name). A missing prefix is a
#' no-op. Sibling projects in the same bucket and prefix are never touched.
#'
#' @param conn A [datom_get_conn()] connection.
#' @param prefix_key `NULL` (the whole project namespace) or a relative prefix.
#' @return Invisibly, the number of objects deleted.
#' @family storage extension API
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-storage-delete")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")
#' datom_storage_delete_prefix(conn, "dm")
datom_storage_delete_prefix <- function(conn, prefix_key = NULL) {
  check_conn(conn)
  check_string_or_null(prefix_key, "prefix_key")
  invisible(as.integer(engine(rs_storage_delete_prefix(conn, prefix_key))))
}

#' Copy a project's objects to another store
#'
#' Copies every object of `from_conn`'s project namespace to the same
#' relative key in `to_conn`'s (overwriting), for any pair of backends
#' (local and S3), four transfers at a time. Policy-free: no project file,
#' `ref.json` or git state changes. The store lock
#' (`.metadata/publish.lock`) and a freeze marker (`.metadata/moved.json`)
#' are never copied. To move a project, use [datom_repo_set_data_store()]
#' (which never replaces newer data at the destination).
#'
#' @param from_conn,to_conn Connections to the source and destination
#'   (a reader conn on the destination store is the usual `to_conn`).
#' @return A data frame: `key` (relative key), `bytes`.
#' @family storage extension API
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-storage-copy")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")
#' to <- datom_get_conn(store = datom_store(data = datom_store_local(file.path(root, "new"))),
#'                      project_name = "STUDY_001")
#' copied <- datom_storage_copy(conn, to)
#' datom_storage_verify(conn, to, mode = "content")
datom_storage_copy <- function(from_conn, to_conn) {
  check_conn(from_conn, "from_conn")
  check_conn(to_conn, "to_conn")
  n <- object_count(from_conn)
  if (n == 0L) {
    datom_inform("info", "Source namespace is empty -- nothing to copy")
    return(data.frame(key = character(0), bytes = numeric(0), stringsAsFactors = FALSE))
  }
  datom_inform("info", "Copying {n} object{?s} ({from_conn$backend} -> {to_conn$backend})...")
  res <- engine(rs_storage_copy(from_conn, to_conn))
  datom_inform("success", "Copied {length(res$key)} object{?s} ({format_bytes(res$bytes)} bytes total)")
  as_df(res, c("key", "bytes"))
}

#' Verify a copy of a project's objects
#'
#' @param from_conn,to_conn Source and destination connections.
#' @param keys `NULL` (every source key) or relative keys to check.
#' @param mode `"structural"`: the destination exists with the same size (no
#'   transfer); `"content"`: SHA-256 of both sides compared.
#' @return A data frame: `key`, `ok`, `issue` (`NA` when ok).
#' @family storage extension API
#' @export
#' @examples
#' # see datom_storage_copy()
datom_storage_verify <- function(from_conn, to_conn, keys = NULL, mode = c("structural", "content")) {
  check_conn(from_conn, "from_conn")
  check_conn(to_conn, "to_conn")
  mode <- match.arg(mode)
  if (!is.null(keys) && !is.character(keys)) datom_abort("input", "{.arg keys} must be a character vector or NULL.")
  if (!is.null(keys) && length(keys) == 0L) {
    return(data.frame(key = character(0), ok = logical(0), issue = character(0), stringsAsFactors = FALSE))
  }
  n <- if (is.null(keys)) object_count(from_conn) else length(keys)
  label <- if (mode == "content") "content (hash)" else "structural (size)"
  datom_inform("info", "Verifying {n} object{?s} -- {label} mode...")
  res <- engine(rs_storage_verify(from_conn, to_conn, keys, mode == "content"))
  out <- data.frame(key = res$key, ok = is.na(res$issue), issue = res$issue, stringsAsFactors = FALSE)
  bad <- sum(!out$ok)
  if (bad == 0L) datom_inform("success", "All {nrow(out)} object{?s} verified successfully")
  else datom_inform("warning", "{bad} of {nrow(out)} object{?s} failed verification")
  out
}

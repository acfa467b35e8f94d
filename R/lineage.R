# Lineage: parent records, lineage queries and their verification.
#
# Everything here reads the data store only (metadata snapshots, histories and
# parquet objects), so readers and developers get the same answers.

#' Declare a parent table version for lineage
#'
#' Resolves one parent of a derived table against the parent's own project
#' and returns the record that [datom_write()] takes in its `parents`
#' argument. The parent's `data_sha` and `source_lineage` are read from the
#' parent's immutable metadata snapshot (`{table}/.metadata/{version}.json`)
#' in the data store, so they are always authoritative: there is no way to
#' supply them by hand.
#'
#' The connection is the one of the **parent's** project: a parent may live
#' in the same project as the derived table or in another one (pass that
#' project's connection, a reader connection is enough).
#'
#' @param conn A [datom_get_conn()] connection to the parent's project
#'   (reader or developer).
#' @param table The parent table name.
#' @param version The parent version: a full version id (`metadata_sha`) or
#'   a unique prefix of at least 6 lower-case hex characters, resolved
#'   through the parent's version history (see [datom_history()]).
#' @return A plain list (no connection retained, serialisable) with exactly
#'   `source` (the parent's project name), `table`, `version` (the full
#'   version id), `data_sha` and `source_lineage` (the parent's lineage, a
#'   list of `{project, table, version_sha}` entries, or `NULL`).
#' @seealso [datom_write()], [datom_get_parents()], [datom_validate_lineage()]
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-parent-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' # a raw extract, imported from the inbox
#' utils::write.csv(datom_example_data("dm"),
#'                  file.path(root, "clone", "input_files", "dm.csv"), row.names = FALSE)
#' datom_sync(conn, datom_sync_manifest(conn))
#' v <- datom_history(conn, "dm")$version[1]
#' p <- datom_parent(conn, "dm", substr(v, 1, 8))
#' str(p)
#' # a derived table that records it
#' dm <- datom_read(conn, "dm")
#' datom_write(conn, dm[dm$SEX == "F", ], "dm_female", parents = list(p))
datom_parent <- function(conn, table, version) {
  fn_call <- sys.call()
  check_conn(conn)
  check_name(table, "table")
  check_version_arg(version, "version")
  full <- tryCatch(
    resolve_version(conn, table, version),
    datom_error_not_found = function(e) {
      abort_chained("not_found", "Parent {.val {table}}@{.val {version}} not found in project {.val {conn$project_name}}.",
        "See datom_history() on the parent project's connection for its versions.", parent = e,
        call = fn_call)
    }
  )
  # the snapshot must exist and carry a valid data_sha (engine); other read
  # failures are storage errors
  tryCatch(
    engine(rs_lineage_parent(conn, table, full), call = fn_call),
    datom_error_not_found = stop, datom_error_integrity = stop,
    error = function(e) {
      abort_chained("storage", "Could not read the snapshot of parent {.val {table}}@{.val {short_sha(full)}} in project {.val {conn$project_name}}.",
        parent = e, call = fn_call)
    }
  )
}

#' Lineage of a table version
#'
#' Reads the lineage recorded in a table version's metadata, from the data
#' store. `depth = "source"` returns the flat `source_lineage`: the raw
#' imported tables (terminal leaves) the version was ultimately derived from;
#' for an imported table a single self-entry whose `version_sha` is the
#' table's own `data_sha`. `depth = "parents"` returns the immediate parents
#' recorded by [datom_write()].
#'
#' This is one metadata read: no traversal, no recursion and no reads in
#' other projects. To walk a lineage graph, follow `parents` (never
#' `source_lineage`, whose entries are leaves): each parent names its
#' project (`source`), table and full `version`, which you query with a
#' connection to that project, as in the example.
#'
#' @param conn A [datom_get_conn()] connection (reader or developer).
#' @param name The table name.
#' @param version `NULL` (the current version) or a version id: full
#'   `metadata_sha` or a unique prefix of at least 6 lower-case hex
#'   characters.
#' @param depth `"source"` (default) or `"parents"`.
#' @return `depth = "source"`: a list of `{project, table, version_sha}`
#'   entries, or `NULL` when the version records none. `depth = "parents"`:
#'   a list of `{source, table, version, data_sha}` entries, or `NULL`
#'   (imported tables, derived tables written without parents).
#' @seealso [datom_get_parents()], [datom_parent()], [datom_validate_lineage()]
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-lineage-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' inbox <- file.path(root, "clone", "input_files")
#' utils::write.csv(datom_example_data("dm"), file.path(inbox, "dm.csv"), row.names = FALSE)
#' utils::write.csv(datom_example_data("ae"), file.path(inbox, "ae.csv"), row.names = FALSE)
#' datom_sync(conn, datom_sync_manifest(conn))
#' dm <- datom_read(conn, "dm")
#' ae <- datom_read(conn, "ae")
#' ae_dm <- merge(ae, dm[c("USUBJID", "SEX")], by = "USUBJID")
#' datom_write(conn, ae_dm, "ae_dm", parents = list(
#'   datom_parent(conn, "ae", datom_history(conn, "ae")$version[1]),
#'   datom_parent(conn, "dm", datom_history(conn, "dm")$version[1])
#' ))
#' datom_get_lineage(conn, "dm")                      # imported: self-entry
#' datom_get_lineage(conn, "ae_dm")                   # the raw sources
#' parents <- datom_get_lineage(conn, "ae_dm", depth = "parents")
#' # one step of a walk: the lineage of the first parent, pinned to its version
#' datom_get_lineage(conn, parents[[1]]$table, parents[[1]]$version)
datom_get_lineage <- function(conn, name, version = NULL, depth = c("source", "parents")) {
  check_table_args(conn, name, version, hex = TRUE)
  depth <- match.arg(depth)
  engine(rs_lineage(conn, name, version, depth))
}

#' Immediate parents of a table version
#'
#' Exactly `datom_get_lineage(conn, name, version, depth = "parents")`.
#'
#' @inheritParams datom_get_lineage
#' @return A list of `{source, table, version, data_sha}` entries (one per
#'   parent, in the order they were declared), or `NULL` when the version has
#'   no parents.
#' @seealso [datom_get_lineage()], [datom_parent()]
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-parents-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' w <- datom_write(conn, datom_example_data("lb"), "lb")
#' lb <- datom_read(conn, "lb")
#' datom_write(conn, lb[lb$LBTESTCD == "ALT", ], "lb_alt",
#'             parents = list(datom_parent(conn, "lb", w$metadata_sha)))
#' str(datom_get_parents(conn, "lb_alt"))
#' datom_get_parents(conn, "lb")  # written without parents: NULL
datom_get_parents <- function(conn, name, version = NULL) {
  check_table_args(conn, name, version, hex = TRUE)
  engine(rs_lineage(conn, name, version, "parents"))
}

#' Verify a table version's lineage
#'
#' An on-demand audit of a table version's lineage, suitable for CI. It
#' proves, from the data stores alone (a reader connection is enough):
#'
#' * **parents**: every recorded parent version exists (its metadata snapshot
#'   is in the parent project's store and still hashes to its version id),
#'   its `data_sha` equals the one recorded in the child, and its parquet
#'   object exists, passes its integrity check and re-hashes to that
#'   `data_sha`;
#' * **sources**: every `source_lineage` entry exists: a version of that
#'   table with that `data_sha` is in its project's history, and its parquet
#'   object passes its integrity check and re-hashes to the `data_sha`;
#' * **consistency**: the recorded `source_lineage` equals the de-duplicated
#'   union ([datom_lineage_union()]) of the parents' own lineages.
#'
#' Parents and sources in the table's own project are read with `conn`;
#' those in other projects need a connection to that project in `conns`,
#' otherwise they are reported as not reachable. The function never aborts
#' on a failed check: it reports and returns the verdict, callers decide.
#'
#' The same consistency check as a composable recipe: [datom_get_parents()],
#' then for each parent `datom_get_lineage(<conn of parent$source>,
#' parent$table, parent$version, "source")`, then [datom_lineage_union()],
#' compared with `datom_get_lineage(conn, name, depth = "source")`.
#'
#' @param conn A [datom_get_conn()] connection to the table's project.
#' @param name The table name.
#' @param version `NULL` (current version) or a version id or unique prefix
#'   (at least 6 lower-case hex characters).
#' @param conns `NULL` or a named list of connections keyed by project name,
#'   used to read parents and sources that live in other projects.
#' @return Invisibly, a list:
#'   * `status`: `"ok"` (every check passed), `"mismatch"` (the recorded
#'     `source_lineage` differs from the parents' union), `"unchecked"` (no
#'     parents, so the lineage cannot be recomputed; the sources were still
#'     verified) or `"error"` (a parent or source could not be read or does
#'     not match its `data_sha`, including a project with no connection in
#'     `conns`);
#'   * `missing`, `extra`: lineage entries of the recomputed union absent
#'     from the recorded lineage, and recorded entries absent from the union
#'     (compared by project and table);
#'   * `wrong_version`: list of `{declared, computed}` pairs where project
#'     and table match but `version_sha` differs;
#'   * `message`: a one-line summary;
#'   * `parents`: data frame, one row per recorded parent (`source`,
#'     `table`, `version`, `data_sha`, `status`, `detail`);
#'   * `sources`: data frame, one row per recorded `source_lineage` entry
#'     (`project`, `table`, `version_sha`, `status`, `detail`).
#'
#'   Row `status` values: `"ok"`, `"unreachable"` (no connection for its
#'   project), `"missing"` (version or snapshot not found),
#'   `"snapshot_modified"` (the snapshot no longer hashes to its version),
#'   `"data_sha_mismatch"`, `"object_missing"` (parquet object absent),
#'   `"corrupt"` (parquet object fails its integrity check or its content
#'   does not hash to the `data_sha`) and `"error"` (other read failures).
#' @seealso [datom_get_lineage()], [datom_parent()]
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-validate-lineage-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' utils::write.csv(datom_example_data("ae"), file.path(root, "clone", "input_files", "ae.csv"),
#'                  row.names = FALSE)
#' datom_sync(conn, datom_sync_manifest(conn))
#' ae <- datom_read(conn, "ae")
#' datom_write(conn, ae[ae$AESEV == "SEVERE", ], "ae_severe",
#'             parents = list(datom_parent(conn, "ae", datom_history(conn, "ae")$version[1])))
#' res <- datom_validate_lineage(conn, "ae_severe")
#' res$status
#' res$parents
#' # a reader can run the same audit from the store alone
#' reader <- datom_get_conn(store = datom_store(data = store$data), project_name = "STUDY_001")
#' datom_validate_lineage(reader, "ae_severe")$status
datom_validate_lineage <- function(conn, name, version = NULL, conns = NULL) {
  fn_call <- sys.call()
  check_table_args(conn, name, version, hex = TRUE)
  conns <- check_conns(conns)
  res <- tryCatch(engine(rs_validate_lineage(conn, name, version, conns), call = fn_call),
    datom_error_input = function(e) stop(e),
    error = function(e) {
      abort_chained("not_found", "Could not read metadata for table {.val {name}}.",
        "See datom_list() and datom_history() for the tables and versions of this project.",
        parent = e, call = fn_call)
    })
  label <- if (is.null(version)) name else paste0(name, "@", short_sha(version))
  parents <- lineage_rows(res$parents, c("source", "table", "version", "data_sha"))
  sources <- lineage_rows(res$sources, c("project", "table", "version_sha"))
  fetched <- res$parents$fetched

  if (!nrow(parents)) {
    datom_inform("info", "Table {.val {label}} has no parents -- source_lineage cannot be verified")
  }
  plab <- ref_label(parents$source, parents$table, parents$version)
  for (i in which(!fetched)) datom_inform("danger", "Could not fetch parent metadata: {plab[i]}: {parents$detail[i]}")
  for (i in which(parents$status != "ok" & fetched)) datom_inform("danger", "Parent {plab[i]}: {parents$detail[i]}")
  slab <- ref_label(sources$project, sources$table, sources$version_sha)
  for (i in which(sources$status != "ok")) datom_inform("danger", "Source {slab[i]}: {sources$detail[i]}")
  if (res$compared) {
    if (!length(c(res$missing, res$extra, res$wrong_version))) {
      datom_inform("success", "source_lineage for {.val {label}} is consistent with parents")
    } else {
      datom_inform("warning", "source_lineage mismatch for {.val {label}}:")
      lineage_problem("missing", res$missing)
      lineage_problem("extra", res$extra)
      lineage_problem("wrong-version", lapply(res$wrong_version, function(w) w$declared))
    }
  }
  if (all(c(parents$status, sources$status) == "ok") && nrow(parents) + nrow(sources) > 0) {
    datom_inform("success", "{nrow(parents)} parent{?s} and {nrow(sources)} source{?s} exist and match their data_sha")
  }
  invisible(c(res[c("status", "missing", "extra", "wrong_version", "message")], list(parents = parents, sources = sources)))
}

# Helpers ----------------------------------------------------------------------

short_sha <- function(x) substr(x, 1, 8)

# `version` inputs of the lineage functions: 6-64 lower-case hex (API 0.3;
# the rule: layout::check_sha).
check_version_arg <- function(x, arg, call = sys.call(-1)) {
  check_string(x, arg, call = call)
  invisible(engine(rs_check_version(x, arg), call = call))
}

# An error of a datom class that keeps the underlying condition as its parent.
abort_chained <- function(kind, message, hint = NULL, parent, call, .envir = parent.frame()) {
  bullets <- c(message, i = paste("Underlying error:", esc(err_head(parent))))
  parent$call <- NULL
  if (!is.null(hint)) bullets <- c(bullets, i = hint)
  cli::cli_abort(bullets, class = c(paste0("datom_error_", kind), "datom_error"),
                 parent = parent, call = call, .envir = .envir)
}

# Resolve a version (full id or unique prefix) through the storage history:
# the engine's one rule (ops::read::resolve).
resolve_version <- function(conn, table, version, call = sys.call(-1)) engine(rs_resolve_version(conn, table, version), call = call)

check_conns <- function(conns, call = sys.call(-1)) {
  if (is.null(conns)) return(list())
  bad <- "{.arg conns} must be NULL or a named list of datom_conn objects keyed by project name."
  if (!is.list(conns) || inherits(conns, "datom_conn") || is.data.frame(conns)) datom_abort("input", bad, call = call)
  if (!length(conns)) return(list())
  nm <- names(conns)
  if (is.null(nm) || anyNA(nm) || any(!nzchar(nm)) || anyDuplicated(nm) || !all(vapply(conns, is_datom_conn, TRUE))) {
    datom_abort("input", bad, call = call)
  }
  for (p in nm) {
    if (!identical(actual <- conns[[p]]$project_name, p)) {
      datom_abort("input", "{.arg conns} entry {.val {p}} is a connection to project {.val {actual}}.",
        "Key each connection by its own project name.", call = call)
    }
  }
  conns
}

# Rows of the engine's lineage report as a data frame; the detail of a failed
# read ends with its hint, as the error's message shows it.
lineage_rows <- function(x, cols) {
  detail <- x$detail
  h <- !is.na(x$hint)
  detail[h] <- paste(detail[h], cli::symbol$info, x$hint[h])
  data.frame(x[cols], status = x$status, detail = detail, stringsAsFactors = FALSE)
}

# "project/table@version" (the version cut to 8 characters).
ref_label <- function(project, table, version) sprintf("%s/%s@%s", project, table, short_sha(version))

lineage_problem <- function(what, entries) {
  if (!length(entries)) return(invisible())
  labels <- paste(vapply(entries, function(e) ref_label(e$project, e$table, e$version_sha), ""), collapse = ", ")
  datom_inform("danger", paste0("{length(entries)} ", what, " entr{?y/ies}: {labels}"))
}

err_text <- function(e) gsub("\\s+", " ", conditionMessage(e))
err_head <- function(e) sub("\n.*$", "", conditionMessage(e))

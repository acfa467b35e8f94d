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
  snap <- tryCatch(
    engine(rs_store_doc(conn, "snapshot", table, full)),
    error = function(e) {
      abort_chained("storage", "Could not read the snapshot of parent {.val {table}}@{.val {short_sha(full)}} in project {.val {conn$project_name}}.",
        parent = e, call = fn_call)
    }
  )
  if (is.null(snap)) {
    datom_abort("not_found", "Parent {.val {table}}@{.val {short_sha(full)}} not found in project {.val {conn$project_name}}.",
      "Its metadata snapshot is missing from the data store; a developer can re-publish it with datom_sync_dispatch().")
  }
  ds <- snap$data_sha
  if (!is_sha(ds)) {
    datom_abort("integrity", "The snapshot of {.val {table}}@{.val {short_sha(full)}} in project {.val {conn$project_name}} has no valid {.field data_sha}.",
      "The stored metadata is corrupt; do not use this version as a parent.")
  }
  list(
    source = conn$project_name,
    table = table,
    version = full,
    data_sha = ds,
    source_lineage = snap$source_lineage
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
  check_conn(conn)
  check_name(name, "name")
  if (!is.null(version)) check_version_arg(version, "version")
  depth <- match.arg(depth)
  meta <- read_table_metadata(conn, name, version)
  lineage_of(meta, depth)
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
  check_conn(conn)
  check_name(name, "name")
  if (!is.null(version)) check_version_arg(version, "version")
  meta <- read_table_metadata(conn, name, version)
  lineage_of(meta, "parents")
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
  check_conn(conn)
  check_name(name, "name")
  if (!is.null(version)) check_version_arg(version, "version")
  conns <- check_conns(conns)
  meta <- tryCatch(read_table_metadata(conn, name, version),
    datom_error_input = function(e) stop(e),
    error = function(e) {
      abort_chained("not_found", "Could not read metadata for table {.val {name}}.",
        "See datom_list() and datom_history() for the tables and versions of this project.",
        parent = e, call = fn_call)
    })
  label <- if (is.null(version)) name else paste0(name, "@", short_sha(version))
  ctx <- new.env(parent = emptyenv())
  ctx$cache <- list()
  conn_for <- function(project) {
    if (identical(project, conn$project_name)) conn else conns[[project]]
  }

  # Parents: snapshot, identity, recorded data_sha, object -----------------
  parents <- lineage_of(meta, "parents")
  prow <- lapply(parents, function(p) check_parent(p, conn_for(p$source), ctx))
  parent_lineages <- lapply(prow, function(r) r$lineage)
  parents_df <- data.frame(
    source = chr_field(parents, "source"), table = chr_field(parents, "table"),
    version = chr_field(parents, "version"), data_sha = chr_field(parents, "data_sha"),
    status = vapply(prow, function(r) r$status, ""), detail = vapply(prow, function(r) r$detail, ""),
    stringsAsFactors = FALSE
  )

  # Sources: a version with that data_sha exists and its object proves it -----
  recorded <- lineage_of(meta, "source") %||% list()
  srow <- lapply(recorded, function(s) check_source(s, conn_for(s$project), ctx))
  sources_df <- data.frame(
    project = chr_field(recorded, "project"), table = chr_field(recorded, "table"),
    version_sha = chr_field(recorded, "version_sha"),
    status = vapply(srow, function(r) r$status, ""), detail = vapply(srow, function(r) r$detail, ""),
    stringsAsFactors = FALSE
  )

  # Consistency: recorded lineage vs the union of the parents' lineages -----
  missing <- list(); extra <- list(); wrong <- list()
  fetch_failed <- parents_df$status %in% c("unreachable", "missing", "error")
  if (length(parents) && !any(fetch_failed)) {
    cmp <- compare_lineage(recorded, datom_lineage_union(parent_lineages))
    missing <- cmp$missing; extra <- cmp$extra; wrong <- cmp$wrong_version
  }
  n_mis <- length(missing) + length(extra) + length(wrong)
  bad_p <- parents_df[parents_df$status != "ok", , drop = FALSE]
  bad_s <- sources_df[sources_df$status != "ok", , drop = FALSE]
  n_bad <- nrow(bad_p) + nrow(bad_s)

  status <- if (n_bad > 0) "error" else if (n_mis > 0) "mismatch" else if (!length(parents)) "unchecked" else "ok"

  # Messages ------------------------------------------------------------------
  if (!length(parents)) {
    datom_inform("info", "Table {.val {label}} has no parents -- source_lineage cannot be verified")
  }
  for (i in which(fetch_failed)) {
    datom_inform("danger", "Could not fetch parent metadata: {ref_label(bad_row(parents_df, i))}: {parents_df$detail[i]}")
  }
  for (i in which(parents_df$status != "ok" & !fetch_failed)) {
    datom_inform("danger", "Parent {ref_label(bad_row(parents_df, i))}: {parents_df$detail[i]}")
  }
  for (i in which(sources_df$status != "ok")) {
    r <- sources_df[i, ]
    datom_inform("danger", "Source {r$project}/{r$table}@{short_sha(r$version_sha)}: {r$detail}")
  }
  if (length(parents) && !any(fetch_failed)) {
    if (n_mis == 0) {
      datom_inform("success", "source_lineage for {.val {label}} is consistent with parents")
    } else {
      datom_inform("warning", "source_lineage mismatch for {.val {label}}:")
      if (length(missing)) datom_inform("danger", "{length(missing)} missing entr{?y/ies}: {lineage_labels(missing)}")
      if (length(extra)) datom_inform("danger", "{length(extra)} extra entr{?y/ies}: {lineage_labels(extra)}")
      if (length(wrong)) datom_inform("danger", "{length(wrong)} wrong-version entr{?y/ies}: {lineage_labels(lapply(wrong, function(w) w$declared))}")
    }
  }
  if (n_bad == 0 && (nrow(parents_df) + nrow(sources_df)) > 0) {
    datom_inform("success", "{nrow(parents_df)} parent{?s} and {nrow(sources_df)} source{?s} exist and match their data_sha")
  }

  msg <- switch(status,
    ok = sprintf("source_lineage consistent with %d parent(s); %d parent(s) and %d source(s) verified",
                 nrow(parents_df), nrow(parents_df), nrow(sources_df)),
    unchecked = sprintf("no parents: source_lineage cannot be verified; %d source(s) verified", nrow(sources_df)),
    mismatch = sprintf("source_lineage mismatch: %d missing, %d extra, %d wrong-version",
                       length(missing), length(extra), length(wrong)),
    error = paste0(
      sprintf("%d of %d parent(s) and %d of %d source(s) failed verification",
              nrow(bad_p), nrow(parents_df), nrow(bad_s), nrow(sources_df)),
      if (n_mis > 0) sprintf("; source_lineage mismatch: %d missing, %d extra, %d wrong-version",
                             length(missing), length(extra), length(wrong)) else ""
    )
  )
  invisible(list(status = status, missing = missing, extra = extra, wrong_version = wrong,
                 message = msg, parents = parents_df, sources = sources_df))
}

# Helpers ----------------------------------------------------------------------

is_sha <- function(x) is.character(x) && length(x) == 1L && !is.na(x) && grepl("^[0-9a-f]{6,64}$", x)

short_sha <- function(x) substr(x, 1, 8)

# `version` inputs of the lineage functions: 6-64 lower-case hex (API 0.3).
check_version_arg <- function(x, arg, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    datom_abort("input", "{.arg {arg}} must be a single non-empty string.", call = call)
  }
  if (!grepl("^[0-9a-f]{6,64}$", x)) {
    datom_abort("input", "{.arg {arg}} must be 6-64 lowercase hex characters.",
      "Use a version id from datom_history() (full, or a unique prefix of at least 6 characters).", call = call)
  }
  invisible(x)
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
resolve_version <- function(conn, table, version, call = sys.call(-1)) {
  engine(rs_resolve_version(conn, table, version), call = call)
}

# The metadata of the current version (NULL version) or of a snapshot.
read_table_metadata <- function(conn, name, version, call = sys.call(-1)) {
  if (is.null(version)) {
    meta <- engine(rs_store_doc(conn, "metadata", name, NULL), call = call)
    if (is.null(meta)) {
      datom_abort("not_found", "No metadata found for table {.val {name}}.",
        "See datom_list() for the tables of this project.", call = call)
    }
    return(meta)
  }
  full <- resolve_version(conn, name, version, call = call)
  meta <- engine(rs_store_doc(conn, "snapshot", name, full), call = call)
  if (is.null(meta)) {
    datom_abort("not_found", "Version {.val {version}} not found for table {.val {name}}.",
      "See datom_history() for the versions of this table.", call = call)
  }
  meta
}

# Lineage fields of a metadata object, in the shapes of FORMATS.md 8.6.
lineage_of <- function(meta, depth) {
  if (identical(depth, "parents")) {
    p <- meta$parents
    if (is.null(p)) return(NULL)
    return(lapply(p, function(e) list(source = e$source, table = e$table, version = e$version, data_sha = e$data_sha)))
  }
  meta$source_lineage
}

check_conns <- function(conns, call = sys.call(-1)) {
  if (is.null(conns)) return(list())
  bad <- "{.arg conns} must be NULL or a named list of datom_conn objects keyed by project name."
  if (!is.list(conns) || inherits(conns, "datom_conn") || is.data.frame(conns)) datom_abort("input", bad, call = call)
  if (!length(conns)) return(list())
  nm <- names(conns)
  if (is.null(nm) || anyNA(nm) || any(!nzchar(nm)) || anyDuplicated(nm)) datom_abort("input", bad, call = call)
  for (p in nm) {
    if (!is_datom_conn(conns[[p]])) datom_abort("input", bad, call = call)
    if (!identical(conns[[p]]$project_name, p)) {
      actual <- conns[[p]]$project_name
      datom_abort("input", "{.arg conns} entry {.val {p}} is a connection to project {.val {actual}}.",
        "Key each connection by its own project name.", call = call)
    }
  }
  conns
}

chr_field <- function(entries, field) {
  vapply(entries, function(e) {
    v <- e[[field]]
    if (is.character(v) && length(v) == 1L) v else NA_character_
  }, "", USE.NAMES = FALSE)
}

bad_row <- function(df, i) df[i, , drop = FALSE]
ref_label <- function(r) sprintf("%s/%s@%s", r$source, r$table, short_sha(r$version %||% ""))
lineage_labels <- function(entries) {
  paste(vapply(entries, function(e) sprintf("%s/%s@%s", e$project, e$table, short_sha(e$version_sha)), ""), collapse = ", ")
}

row_result <- function(status, detail = "", lineage = NULL) list(status = status, detail = detail, lineage = lineage)

err_text <- function(e) gsub("\\s+", " ", conditionMessage(e))
err_head <- function(e) sub("\n.*$", "", conditionMessage(e))

# Read the object of `version` (verified against its parquet_sha before
# parsing) and re-hash it; cached per project, table and data_sha.
prove_object <- function(pconn, table, version, data_sha, ctx) {
  key <- paste(pconn$project_name, table, data_sha, sep = "\r")
  if (!is.null(ctx$cache[[key]])) return(ctx$cache[[key]])
  res <- tryCatch({
    df <- assemble_frame(engine(rs_read(pconn, table, version, NULL)))
    got <- datom_hash(df)$data_sha
    if (identical(got, data_sha)) row_result("ok")
    else row_result("corrupt", sprintf("stored object hashes to %s, not %s", short_sha(got), short_sha(data_sha)))
  },
  datom_error_integrity = function(e) row_result("corrupt", err_text(e)),
  datom_error_not_found = function(e) row_result("object_missing", err_text(e)),
  error = function(e) row_result("error", err_text(e)))
  ctx$cache[[key]] <- res
  res
}

check_parent <- function(p, pconn, ctx) {
  if (is.null(pconn)) {
    return(row_result("unreachable", sprintf("project %s is not reachable: pass a connection to it in `conns`", p$source)))
  }
  tryCatch({
    version <- p$version
    if (!is_sha(version)) {
      # legacy parent without a version: its current metadata
      snap <- engine(rs_store_doc(pconn, "metadata", p$table, NULL))
      if (is.null(snap)) return(row_result("missing", sprintf("table %s not found in project %s", p$table, p$source)))
    } else {
      snap <- engine(rs_store_doc(pconn, "snapshot", p$table, version))
      if (is.null(snap)) {
        return(row_result("missing", sprintf("version %s of %s not found in project %s", short_sha(version), p$table, p$source)))
      }
    }
    if (!identical(snap$data_sha, p$data_sha)) {
      return(row_result("data_sha_mismatch", sprintf("recorded data_sha %s, stored snapshot says %s", short_sha(p$data_sha), short_sha(snap$data_sha %||% "")),
                        lineage = snap$source_lineage))
    }
    if (is_sha(version)) {
      actual <- engine(rs_store_doc_sha(pconn, "snapshot", p$table, version))
      if (!identical(actual, version)) {
        return(row_result("snapshot_modified", sprintf("snapshot no longer hashes to its version (hashes to %s)", short_sha(actual)),
                          lineage = snap$source_lineage))
      }
    }
    if (!is_sha(version)) version <- NULL
    if (!is.null(version)) {
      hist <- engine(rs_store_doc(pconn, "history", p$table, NULL))
      if (!version %in% chr_field(hist %||% list(), "version")) {
        return(row_result("missing", sprintf("version %s is not in the history of %s", short_sha(version), p$table),
                          lineage = snap$source_lineage))
      }
    }
    r <- prove_object(pconn, p$table, version, p$data_sha, ctx)
    r$lineage <- snap$source_lineage
    r
  }, error = function(e) row_result("error", err_text(e)))
}

check_source <- function(s, sconn, ctx) {
  if (is.null(sconn)) {
    return(row_result("unreachable", sprintf("project %s is not reachable: pass a connection to it in `conns`", s$project)))
  }
  tryCatch({
    hist <- engine(rs_store_doc(sconn, "history", s$table, NULL))
    if (is.null(hist)) return(row_result("missing", sprintf("table %s not found in project %s", s$table, s$project)))
    hit <- which(chr_field(hist, "data_sha") == s$version_sha)
    if (!length(hit)) {
      return(row_result("missing", sprintf("no version of %s with data_sha %s in project %s", s$table, short_sha(s$version_sha), s$project)))
    }
    prove_object(sconn, s$table, hist[[hit[1]]]$version, s$version_sha, ctx)
  }, error = function(e) row_result("error", err_text(e)))
}

# Compare recorded lineage with the recomputed union by (project, table).
compare_lineage <- function(recorded, computed) {
  pt <- function(e) paste(e$project, e$table, sep = "\r")
  rec_keys <- vapply(recorded, pt, "")
  com_keys <- vapply(computed, pt, "")
  missing <- computed[!com_keys %in% rec_keys]
  extra <- recorded[!rec_keys %in% com_keys]
  wrong <- list()
  for (i in seq_along(recorded)) {
    j <- which(com_keys == rec_keys[i])
    if (length(j) && !any(vapply(computed[j], function(e) identical(e$version_sha, recorded[[i]]$version_sha), TRUE))) {
      wrong[[length(wrong) + 1L]] <- list(declared = recorded[[i]], computed = computed[[j[1]]])
    }
  }
  list(missing = missing, extra = extra, wrong_version = wrong)
}

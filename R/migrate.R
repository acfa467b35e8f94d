#' Move a project's data to another store
#'
#' Migrates the project's whole namespace (`datom/{project}/`: parquet
#' objects and metadata) to `new_store` -- local to S3, bucket to bucket --
#' and repoints the project at it. The engine runs the steps in order, every
#' check first (the clone's `project.yaml` must name the current or, on a
#' re-run, the new location):
#'
#' 1. copy: data objects and metadata snapshots (named by their content)
#'    only when the destination lacks them -- an existing object is never
#'    replaced; then the metadata mirrors (histories, metadata, manifest,
#'    governance, the publication marker last), unless the destination's
#'    publication marker (`.metadata/publication.json`) is the source's or
#'    a descendant of it: then the destination is newer and its metadata is
#'    kept. The store lock (`.metadata/publish.lock`) is never copied, and
#'    the source's lock is held until the end (no write publishes there
#'    meanwhile);
#' 2. verify by content (SHA-256 of both sides) every object the two
#'    locations share; any difference stops here and the old location
#'    stays authoritative (nothing else changed);
#' 3. governed projects: `ref.json` gets the new location as `current` and
#'    the old one first in `previous` (with `migrated_at` and `sunset_at`),
#'    `migration_history.json` gets a `data_migration` event; both are
#'    committed and pushed on the gov clone, then mirrored to the gov store;
#' 4. `storage.data` of `.datom/project.yaml` is replaced (every other key
#'    kept), committed (`Update data store: NAME`) and pushed;
#' 5. the old location is frozen: `.metadata/moved.json` (the new location
#'    and the data-repo commit) is written there. Nothing publishes into a
#'    frozen location any more: a write, `datom_sync_dispatch()` or
#'    `datom_validate(fix = TRUE)` through a connection to it fails with
#'    `datom_error_conflict` (run [datom_pull()] and rebuild the connection
#'    with [datom_get_conn()]).
#'
#' **Repair.** Every step is idempotent: if the call fails or the session
#' dies at any step, run the same call again -- it copies what is missing,
#' keeps what is newer, records the migration once and completes the
#' switch. Until then, a failure before step 4 leaves the old location
#' authoritative (`datom_validate(conn)` is clean); after step 4,
#' `datom_validate(conn)` reports `moved_location` with that repair.
#'
#' The old location is not deleted: readers still pointed at it are warned
#' (from `ref.json`) and read from the new one. Delete the old copy after
#' the sunset date with [datom_storage_delete_prefix()].
#'
#' @param conn A developer connection.
#' @param new_store The destination store component ([datom_store_local()] or
#'   [datom_store_s3()]).
#' @param message Commit message for `project.yaml` (default
#'   `Update data store: NAME`).
#' @param sunset_days Days the old location is kept for readers (recorded as
#'   `sunset_at` in `ref.json`).
#' @return The data-repo commit SHA, invisibly. Rebuild the connection with
#'   [datom_get_conn()] and a store whose data component is `new_store`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-migrate-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "old")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "MOVING", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_write(conn, data.frame(x = 1:3), "t", message = "first")
#' new <- datom_store_local(file.path(root, "new"))
#' datom_repo_set_data_store(conn, new)
#' conn <- datom_get_conn(path = file.path(root, "clone"),
#'                        store = datom_store(data = new, data_repo_url = file.path(root, "remote.git")))
#' datom_read(conn, "t")
datom_repo_set_data_store <- function(conn, new_store, message = NULL, sunset_days = 90) {
  check_developer(conn, "datom_repo_set_data_store() requires a developer connection")
  check_location_component(new_store, "new_store")
  check_string_or_null(message, "message")
  if (!is.numeric(sunset_days) || length(sunset_days) != 1L || is.na(sunset_days) || sunset_days < 0) {
    datom_abort("input", "{.arg sunset_days} must be a single non-negative number.")
  }
  name <- conn$project_name
  engine(rs_read_config(conn$path))
  to_conn <- conn
  fields <- c("backend", "root", "prefix", "region", "client", "endpoint")
  to_conn[fields] <- component_location(new_store)[fields]
  # every check first (ops::storage::plan_migration): the same place is
  # nothing to do; a governed project needs its gov clone; the destination
  # namespace must be free or this project's
  plan <- engine(rs_migrate_plan(conn, to_conn))
  if (plan$already_there) {
    datom_inform("info", "The data of {.val {name}} already lives there -- nothing to migrate")
    return(invisible(engine(rs_git_status(conn$path))$head))
  }
  governed <- !is.null(conn$gov_root)
  # the engine runs the steps in order (ops::storage::migrate): copy,
  # verify, governance record, project.yaml, freeze of the old location
  datom_inform("info", "Migrating {plan$objects} object{?s} of {.val {name}} ({conn$backend} -> {to_conn$backend})...")
  if (governed && !dir.exists(conn$gov_local_path)) pull_gov_clone(conn)
  res <- engine(rs_migrate(conn, to_conn, if (governed) conn_gov_access(conn), conn$gov_repo_url, conn$gov_local_path,
                           conn$github_pat, as.numeric(sunset_days), message))
  datom_inform("success", "Copied and verified {length(res$key)} object{?s} ({format_bytes(res$bytes)} bytes); {res$present} already there")
  if (isTRUE(res$kept_destination)) {
    datom_inform("info", "The destination already held this publication or a newer one: its metadata was kept")
  }
  if (governed) datom_inform("success", "Updated ref.json of {.val {name}}: old location sunsets {res$sunset_at}")
  datom_inform("success", "Updated .datom/project.yaml data store pointer for {.val {name}}; the old location is frozen")
  invisible(res$commit)
}

# The datom namespace of a location, for messages (layout::namespace_label).
location_label <- function(x) engine(rs_location_label(x))

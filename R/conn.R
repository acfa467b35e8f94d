# Connections: a developer conn on a data clone, a reader conn on a store.

#' Connect to a datom project
#'
#' With `path` (a data clone), returns a **developer** connection: writes,
#' pulls and everything a reader can do. Without `path`, returns a **reader**
#' connection built on the store alone: reads of any version, lists and
#' histories, with no git and no token.
#'
#' @param path `NULL`, or the path of a data clone.
#' @param store A [datom_store()].
#' @param project_name Required for a reader connection; ignored with `path`
#'   (read from `project.yaml`).
#' @param endpoint `NULL` or an S3 endpoint URL (S3-compatible services).
#' @return A `datom_conn` object.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-conn-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' conn
#' reader <- datom_get_conn(store = datom_store(data = store$data), project_name = "STUDY_001")
#' reader
datom_get_conn <- function(path = NULL, store = NULL, project_name = NULL, endpoint = NULL) {
  if (is.null(store)) {
    datom_abort("input", "{.arg store} is required.",
      "Build one with datom_store(data = datom_store_local(...)).")
  }
  if (!is_datom_store(store)) datom_abort("input", "{.arg store} must be a {.cls datom_store} from {.fn datom_store}.")
  check_string_or_null(path, "path")
  check_string_or_null(endpoint, "endpoint")
  if (!is.null(path)) {
    path <- abs_path(path)
  } else {
    if (is.null(project_name)) {
      datom_abort("input", "{.arg project_name} is required for reader connections (no local repo).")
    }
    check_name(project_name, "project_name")
  }
  d <- store$data
  # a credentials-only data component has no location: its credentials (and
  # endpoint) reach the location ref.json names
  data <- if (inherits(d, "datom_store_s3_creds")) {
    list(endpoint = d$endpoint, client = list(access_key = d$access_key, secret_key = d$secret_key, session_token = d$session_token))
  } else component_location(d, endpoint)
  gov <- if (is.null(store$governance)) NULL else component_location(store$governance, endpoint)
  # the engine resolves the location (the store, or ref.json of a governed
  # project), checks it and the data repo's remote (ops::conn::connect)
  res <- engine(rs_connect(path, if (is.null(path)) project_name, data, endpoint, gov, store$gov_repo_url,
                           store$gov_local_path, store$github_pat, store$github_api_url))
  connect_inform(res$events, res$project_name %||% project_name)
  if (!is.null(res$failed)) engine(res$failed)
  res$conn
}

# What connecting told (the events of rs_connect, in order).
connect_inform <- function(events, project) {
  for (e in events) {
    v <- e$value
    switch(e$id,
      no_governance = cli::cli_warn(c("Project {.val {project}} has no governance attached; the governance credentials are ignored.",
                                      i = "Use datom_attach_gov() to attach it.")),
      ref_unresolved = cli::cli_warn(c("Could not resolve ref.json for project {project}; proceeding with store-configured data location.",
                                       i = esc(v))),
      old_location = cli::cli_warn(c("Data of {project} was migrated from {v$store_label} (the location your store names) to {v$label}; the old location sunsets {v$sunset_at}.",
                                     i = "This connection uses {v$label}. Update the data component of your store to it.")),
      ref_differs = datom_inform("info", "Ref location differs from store -- pulling git to sync"),
      migrated_elsewhere = cli::cli_warn(c("Data has been migrated to a new location; ref.json points to {v$to} but your store has {v$from}.",
                                           i = "Update your store config.")),
      governed_data_only = cli::cli_warn(c("Project {.val {project}} is governed but you connected with data credentials only; coordinates may go stale after a migration.",
                                           i = "Rebuild the store with a governance component ({v$type} {v$root}, repo {v$url}).")),
      unverified = cli::cli_warn(c("Could not verify data store reachability; proceeding.", i = esc(v)))
    )
  }
}

is_datom_conn <- function(x) inherits(x, "datom_conn")

# A prefix as the engine reads it (layout::clean_prefix) with one trailing
# slash; NULL for none: "p", "p/" and "/p//" are the same place.
norm_prefix <- function(p) if (is.null(p)) NULL else engine(rs_clean_prefix(p))

# Same data location (of conns, access lists, project configs or refs): the
# engine's one rule (type, resolved root, normalised prefix).
same_location <- function(a, b) engine(rs_same_location(a, b))

# A data location that cannot be reached is an error; one that could not be
# verified (S3) a warning (the engine decides which: ops::conn::check_reachable).
check_reachable <- function(loc, call = sys.call(-1)) {
  unverified <- engine(rs_check_reachable(loc), call = call)
  if (!is.null(unverified)) cli::cli_warn(c("Could not verify data store reachability; proceeding.", i = esc(unverified)))
}

check_conn <- function(conn, arg = "conn", call = sys.call(-1)) {
  if (!is_datom_conn(conn)) {
    datom_abort("input", "{.arg {arg}} must be a datom_conn object from {.fn datom_get_conn}.", call = call)
  }
}

check_developer <- function(conn, what = "Write operations require developer role", call = sys.call(-1)) {
  check_conn(conn, call = call)
  if (identical(conn$role, "developer") && is.null(conn$path)) {
    datom_abort("role", "This developer connection has no local clone ({.arg path} is NULL): developer functions work on a data clone.",
      "Clone the project with datom_clone(path, store), or connect to an existing clone with datom_get_conn(path = <data clone>, store = <developer store>).",
      call = call)
  }
  if (!identical(conn$role, "developer") || is.null(conn$path)) {
    datom_abort("role", "{what} (this connection's role is {.val {conn$role}}).",
      "Connect with datom_get_conn(path = <data clone>, store = <developer store>).", call = call)
  }
}

# A store component with a location of its own (not a composite store, not credentials only).
check_location_component <- function(x, arg, call = sys.call(-1)) {
  if (!inherits(x, c("datom_store_s3", "datom_store_local"))) {
    datom_abort("input", "{.arg {arg}} must be a datom_store_s3 or datom_store_local object.", call = call)
  }
}

check_name <- function(x, arg, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x)) {
    datom_abort("input", "{.arg {arg}} must be a single string.", call = call)
  }
  # one name rule, in the engine (layout::check_name)
  engine(rs_check_name(x, arg), call = call)
  invisible(x)
}

#' @export
print.datom_conn <- function(x, ...) {
  # the engine decides the lines (ops::conn::display_rows); value styles: val, path, url
  rows <- engine(rs_conn_rows(x))
  b <- vapply(seq_along(rows), function(i) sprintf(if (nzchar(rows[[i]]$style)) "%s: {.%s {rows[[%d]]$value}}" else "%s: %s{rows[[%d]]$value}",
                                                   rows[[i]]$label, rows[[i]]$style, i), "")
  cli_print({
    cli::cli_h3("datom connection")
    cli::cli_bullets(stats::setNames(b, rep("*", length(b))))
  })
  invisible(x)
}

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
  creds_only <- inherits(store$data, "datom_store_s3_creds")
  loc <- if (creds_only) NULL else component_location(store$data, endpoint)
  if (!is.null(path)) {
    path <- abs_path(path)
    cfg <- engine(rs_read_config(path))
    gov <- NULL
    g <- recorded_governance(path)
    if (!is.null(g)) {
      if (is.null(store$governance)) {
        datom_abort("input", "Project {.val {cfg$project_name}} is governed but no governance store was supplied.",
          "Add governance = <{g$gov_storage$type} store at {g$gov_storage$root}> and gov_repo_url = \"{g$gov_repo_url}\" to datom_store().")
      }
      if (!is.null(store$gov_repo_url) && !same_url(store$gov_repo_url, g$gov_repo_url)) {
        datom_abort("input", "Governance URL mismatch: the project records {.url {g$gov_repo_url}} but the store has {.url {store$gov_repo_url}}.",
          "Pull the data clone, or fix gov_repo_url in datom_store().")
      }
      gov <- list(access = component_location(store$governance, endpoint), url = g$gov_repo_url,
                  path = gov_clone_path(store, path, g$gov_repo_url))
      clone_ref <- if (dir.exists(gov$path)) gov$path else NULL
      ref <- resolve_ref(gov$access, clone_ref, cfg$project_name, creds_only, loc)
      if (!is.null(ref)) {
        new_loc <- ref_location(ref, store$data, endpoint)
        warn_old_location(ref, cfg$project_name)
        if (!is.null(loc) && !same_location(new_loc, loc)) {
          datom_inform("info", "Ref location differs from store -- pulling git to sync")
          engine(rs_pull(list(path = path, github_pat = store$github_pat)))
          cfg <- engine(rs_read_config(path))
        }
        loc <- new_loc
      }
    } else if (!is.null(store$governance)) {
      cli::cli_warn(c("Project {.val {cfg$project_name}} has no governance attached; the governance credentials are ignored.",
                      i = "Use datom_attach_gov() to attach it."))
    }
    if (is.null(loc)) datom_abort("input", "Cannot connect: credentials-only data store has no location.")
    if (!creds_only && is.null(gov) && !same_location(cfg, loc)) {
      datom_abort("input",
        "Store/config mismatch: the project lives at {.path {cfg$root}} (prefix {.val {norm_prefix(cfg$prefix) %||% '(none)'}}) but the store points at {.path {loc$root}} (prefix {.val {norm_prefix(loc$prefix) %||% '(none)'}}).",
        "Build the store with the data location recorded in .datom/project.yaml.")
    }
    check_reachable(loc)
    # the data repo's remote and the token: one cheap call (the remote's ref list)
    engine(rs_check_remote(path, store$github_pat))
    return(new_datom_conn(
      project_name = cfg$project_name, loc = loc, path = path, role = "developer",
      endpoint = endpoint, data_repo_url = cfg$git_remote %||% cfg$remote_url,
      github_pat = store$github_pat, github_api_url = store$github_api_url, gov = gov
    ))
  }
  if (is.null(project_name)) {
    datom_abort("input", "{.arg project_name} is required for reader connections (no local repo).")
  }
  check_name(project_name, "project_name")
  gov <- NULL
  if (!is.null(store$governance)) {
    gov <- list(access = component_location(store$governance, endpoint), url = store$gov_repo_url, path = NULL)
    ref <- resolve_ref(gov$access, NULL, project_name, creds_only, loc)
    if (!is.null(ref)) {
      new_loc <- ref_location(ref, store$data, endpoint)
      warn_old_location(ref, project_name)
      if (identical(ref$store_is, "elsewhere")) {
        cli::cli_warn(c("Data has been migrated to a new location; ref.json points to {new_loc$root} but your store has {loc$root}.",
                        i = "Update your store config."))
      }
      loc <- new_loc
    }
  } else if (!creds_only) {
    g <- rs_store_doc(c(loc, list(project_name = project_name)), "governance", NULL, NULL)
    if (!inherits(g, "datom_engine_error") && !is.null(g)) {
      cli::cli_warn(c("Project {.val {project_name}} is governed but you connected with data credentials only; coordinates may go stale after a migration.",
                      i = "Rebuild the store with a governance component ({g$gov_storage$type} {g$gov_storage$root}, repo {g$gov_repo_url})."))
    }
  }
  if (is.null(loc)) datom_abort("input", "Cannot connect: credentials-only data store has no location.")
  check_reachable(loc)
  new_datom_conn(project_name = project_name, loc = loc, path = NULL, role = "reader",
    endpoint = endpoint, data_repo_url = NULL, github_pat = NULL, github_api_url = store$github_api_url, gov = gov)
}

# ref.json of a project: the gov clone's copy when it holds one, else the gov
# store's (the engine's rule). A failure warns and returns NULL (the store's
# location is used), except for a credentials-only data component, which has
# no other location.
resolve_ref <- function(gov_access, clone, project, creds_only, store_loc = NULL, call = sys.call(-1)) {
  ref <- rs_gov_ref(gov_access, clone, project, store_loc)
  if (inherits(ref, "datom_engine_error") || is.null(ref)) {
    why <- if (is.null(ref)) "not registered" else ref$message
    if (creds_only) datom_abort("input", "Cannot connect: credentials-only data store has no location (ref.json: {esc(why)}).", call = call)
    cli::cli_warn(c("Could not resolve ref.json for project {project}; proceeding with store-configured data location.", i = esc(why)))
    return(NULL)
  }
  ref
}

# A store configured for a location the data was migrated away from (the
# engine compares it with ref.json's previous locations): say where the data
# is now. Connecting to the current location says nothing.
warn_old_location <- function(ref, project) {
  if (identical(ref$store_is, "previous")) {
    cli::cli_warn(c("Data of {project} was migrated from {ref$store_label} (the location your store names) to {ref$label}; the old location sunsets {ref$store_sunset_at}.",
                    i = "This connection uses {ref$label}. Update the data component of your store to it."))
  }
}

# The data location a ref points at, with the data component's credentials.
ref_location <- function(ref, data, endpoint = NULL) {
  client <- if (inherits(data, c("datom_store_s3", "datom_store_s3_creds")))
    list(access_key = data$access_key, secret_key = data$secret_key, session_token = data$session_token) else NULL
  list(backend = ref$type, root = ref$root, prefix = ref$prefix,
       region = if (identical(ref$type, "s3")) ref$region %||% "us-east-1" else NULL,
       endpoint = endpoint %||% data$endpoint, client = client)
}

new_datom_conn <- function(project_name, loc, path, role, endpoint = NULL, data_repo_url = NULL,
                           github_pat = NULL, github_api_url = NULL, gov = NULL) {
  g <- gov$access
  structure(list(
    project_name = project_name, backend = loc$backend, root = loc$root, prefix = loc$prefix,
    region = loc$region, client = loc$client, path = path, role = role, endpoint = loc$endpoint,
    gov_root = g$root, gov_prefix = g$prefix, gov_region = g$region, gov_client = g$client,
    gov_backend = g$backend, gov_endpoint = g$endpoint, gov_local_path = gov$path, gov_repo_url = gov$url,
    data_repo_url = data_repo_url, github_pat = github_pat,
    github_api_url = github_api_url %||% "https://api.github.com"
  ), class = "datom_conn")
}

is_datom_conn <- function(x) inherits(x, "datom_conn")

# A prefix as the engine reads it (layout::clean_prefix) with one trailing
# slash; NULL for none: "p", "p/" and "/p//" are the same place.
norm_prefix <- function(p) if (is.null(p)) NULL else engine(rs_clean_prefix(p))

# Same data location (of conns, access lists, project configs or refs): the
# engine's one rule (type, resolved root, normalised prefix).
same_location <- function(a, b) engine(rs_same_location(a, b))

check_reachable <- function(loc, call = sys.call(-1)) {
  if (identical(loc$backend, "local") && !dir.exists(loc$root)) {
    datom_abort("storage", "Data store directory {.path {loc$root}} does not exist.",
      "Check the store path, or create the store with datom_store_local(validate = TRUE).", call = call)
  }
  if (identical(loc$backend, "s3")) {
    # an error when the bucket is missing or refused; a message when it
    # could not be verified (the engine decides which)
    unverified <- engine(rs_s3_check_bucket(loc, FALSE), call = call)
    if (!is.null(unverified)) {
      cli::cli_warn(c("Could not verify data store reachability; proceeding.", i = esc(unverified)))
    }
  }
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
  cli_print({
    cli::cli_h3("datom connection")
    b <- c(
      "*" = "Project: {.val {x$project_name}}",
      "*" = "Role: {.val {x$role}}",
      "*" = "Backend: {.val {x$backend}}",
      "*" = "Data root: {.path {x$root}}"
    )
    if (!is.null(norm_prefix(x$prefix))) b <- c(b, "*" = "Data prefix: {.val {x$prefix}}")
    if (identical(x$backend, "s3")) b <- c(b, "*" = "Data region: {.val {x$region}}")
    if (is.null(x$gov_root)) {
      b <- c(b, "*" = "Governance: not attached")
    } else {
      b <- c(b, "*" = "Gov backend: {.val {x$gov_backend}}", "*" = "Gov root: {.path {x$gov_root}}")
      if (!is.null(norm_prefix(x$gov_prefix))) b <- c(b, "*" = "Gov prefix: {.val {x$gov_prefix}}")
      if (!is.null(x$gov_region) && !identical(x$gov_region, x$region)) b <- c(b, "*" = "Gov region: {.val {x$gov_region}}")
    }
    if (!is.null(x$endpoint)) b <- c(b, "*" = "Endpoint: {.url {x$endpoint}}")
    if (!is.null(x$path)) b <- c(b, "*" = "Path: {.path {x$path}}")
    if (!is.null(x$data_repo_url)) b <- c(b, "*" = "Data repo: {.url {x$data_repo_url}}")
    cli::cli_bullets(b)
  })
  invisible(x)
}

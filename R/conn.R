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
  if (!is.null(store$governance)) {
    datom_abort("unsupported", "Governance-aware connections are not available in this version of datom.",
      "Connect with a store built without a governance component (governance = NULL).")
  }
  loc <- component_location(store$data, endpoint)
  if (!is.null(path)) {
    path <- abs_path(path)
    cfg <- engine(rs_read_config(path))
    if (file.exists(file.path(path, ".datom", "governance.json"))) {
      datom_abort("unsupported", "Project {.val {cfg$project_name}} is governed; governance is not available in this version of datom.")
    }
    if (!same_root(cfg$root, loc$root) || !identical(norm_prefix(cfg$prefix), norm_prefix(loc$prefix))) {
      datom_abort("input",
        "Store/config mismatch: the project lives at {.path {cfg$root}} (prefix {.val {norm_prefix(cfg$prefix) %||% '(none)'}}) but the store points at {.path {loc$root}} (prefix {.val {norm_prefix(loc$prefix) %||% '(none)'}}).",
        "Build the store with the data location recorded in .datom/project.yaml.")
    }
    check_reachable(loc)
    return(new_datom_conn(
      project_name = cfg$project_name, loc = loc, path = path, role = "developer",
      endpoint = endpoint, data_repo_url = cfg$git_remote %||% cfg$remote_url,
      github_pat = store$github_pat, github_api_url = store$github_api_url
    ))
  }
  if (is.null(project_name)) {
    datom_abort("input", "{.arg project_name} is required for reader connections (no local repo).")
  }
  check_name(project_name, "project_name")
  check_reachable(loc)
  new_datom_conn(project_name = project_name, loc = loc, path = NULL, role = "reader",
    endpoint = endpoint, data_repo_url = NULL, github_pat = NULL, github_api_url = store$github_api_url)
}

new_datom_conn <- function(project_name, loc, path, role, endpoint = NULL, data_repo_url = NULL,
                           github_pat = NULL, github_api_url = NULL) {
  structure(list(
    project_name = project_name, backend = loc$backend, root = loc$root, prefix = loc$prefix,
    region = loc$region, client = loc$client, path = path, role = role, endpoint = loc$endpoint,
    gov_root = NULL, gov_prefix = NULL, gov_region = NULL, gov_client = NULL, gov_backend = NULL,
    gov_local_path = NULL, data_repo_url = data_repo_url, github_pat = github_pat,
    github_api_url = github_api_url %||% "https://api.github.com"
  ), class = "datom_conn")
}

is_datom_conn <- function(x) inherits(x, "datom_conn")

norm_prefix <- function(p) if (is.null(p) || !nzchar(p)) NULL else p

same_root <- function(a, b) {
  identical(normalizePath(a, winslash = "/", mustWork = FALSE), normalizePath(b, winslash = "/", mustWork = FALSE))
}

check_reachable <- function(loc, call = sys.call(-1)) {
  if (identical(loc$backend, "local") && !dir.exists(loc$root)) {
    datom_abort("storage", "Data store directory {.path {loc$root}} does not exist.",
      "Check the store path, or create the store with datom_store_local(validate = TRUE).", call = call)
  }
  if (identical(loc$backend, "s3")) {
    res <- rs_s3_check_bucket(loc)
    if (inherits(res, "datom_engine_error")) {
      if (res$kind %in% c("not_found", "storage") && grepl("does not exist|invalid or lack access", res$message)) {
        engine(res, call = call)
      }
      cli::cli_warn(c("Could not verify data store reachability; proceeding.", i = esc(res$message)))
    }
  }
}

check_conn <- function(conn, call = sys.call(-1)) {
  if (!is_datom_conn(conn)) {
    datom_abort("input", "{.arg conn} must be a datom_conn object from {.fn datom_get_conn}.", call = call)
  }
}

check_developer <- function(conn, call = sys.call(-1)) {
  check_conn(conn, call = call)
  if (!identical(conn$role, "developer") || is.null(conn$path)) {
    datom_abort("role", "Write operations require developer role (this connection's role is {.val {conn$role}}).",
      "Connect with datom_get_conn(path = <data clone>, store = <developer store>).", call = call)
  }
}

check_name <- function(x, arg, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x)) {
    datom_abort("input", "{.arg {arg}} must be a single string.", call = call)
  }
  if (!nzchar(x)) datom_abort("input", "{.arg {arg}} must not be empty.", call = call)
  n <- nchar(x)
  if (n > 128L) datom_abort("input", "{.arg {arg}} is too long ({n} characters; at most 128).", call = call)
  if (!grepl("^[A-Za-z]", x)) datom_abort("input", "{.arg {arg}} must start with a letter: {.val {x}}.", call = call)
  if (!grepl("^[A-Za-z][A-Za-z0-9_ ()-]*$", x)) {
    datom_abort("input", "{.arg {arg}} contains illegal characters: {.val {x}}.",
      "Use letters, digits, underscore, hyphen, space or parentheses.", call = call)
  }
  if (tolower(x) %in% c(".metadata", ".datom", "input_files", "datom", ".git", ".gitignore", "renv")) {
    datom_abort("input", "{.arg {arg}} is a reserved name: {.val {x}}.", call = call)
  }
  invisible(x)
}

#' @export
print.datom_conn <- function(x, ...) {
  cli::cli_h3("datom connection")
  b <- c(
    "*" = "Project: {.val {x$project_name}}",
    "*" = "Role: {.val {x$role}}",
    "*" = "Backend: {.val {x$backend}}",
    "*" = "Data root: {.path {x$root}}"
  )
  if (!is.null(norm_prefix(x$prefix))) b <- c(b, "*" = "Data prefix: {.val {x$prefix}}")
  if (identical(x$backend, "s3")) b <- c(b, "*" = "Data region: {.val {x$region}}")
  if (is.null(x$gov_root)) b <- c(b, "*" = "Governance: not attached")
  if (!is.null(x$endpoint)) b <- c(b, "*" = "Endpoint: {.url {x$endpoint}}")
  if (!is.null(x$path)) b <- c(b, "*" = "Path: {.path {x$path}}")
  if (!is.null(x$data_repo_url)) b <- c(b, "*" = "Data repo: {.url {x$data_repo_url}}")
  cli::cli_bullets(b)
  invisible(x)
}

# Store components and the composite store.

#' A local-folder store component
#'
#' Describes a data (or governance) store in a local directory — the
#' offline, credential-free default. Everything datom writes goes under
#' `{path}/{prefix}/datom/`.
#'
#' @param path The store root directory (like a bucket). Made absolute.
#' @param prefix `NULL` or a single string: a namespace prefix inside the root.
#' @param validate If `TRUE`, the directory is created when missing and must
#'   be writable.
#' @return An object of class `datom_store_local`: a list with `path`,
#'   `prefix` and `validated`.
#' @seealso [datom_store()]
#' @export
#' @examples
#' datom_store_local(file.path(tempdir(), "datom-store"))
datom_store_local <- function(path, prefix = NULL, validate = TRUE) {
  check_string(path, "path")
  check_prefix(prefix)
  path <- abs_path(path)
  if (isTRUE(validate)) {
    if (!dir.exists(path)) {
      ok <- tryCatch(dir.create(path, recursive = TRUE, showWarnings = FALSE), error = function(e) FALSE)
      if (!isTRUE(ok) || !dir.exists(path)) {
        datom_abort("storage", "Store directory {.path {path}} does not exist and could not be created.",
          "Check the path and the permissions of its parent directory.")
      }
      datom_inform("info", "Created store directory {.path {path}}")
    }
    if (file.access(path, 2L) != 0L) {
      datom_abort("storage", "Store directory {.path {path}} is not writable.", "Check filesystem permissions.")
    }
    path <- normalizePath(path, winslash = "/", mustWork = TRUE)
  }
  structure(list(path = path, prefix = prefix, validated = isTRUE(validate)),
    class = c("datom_store_local", "datom_store_component"))
}

#' The composite store: governance, data and repository coordinates
#'
#' Bundles a data store component with the git coordinates a developer
#' needs. A store with a `data_repo_url` (or a `github_pat`) is a developer
#' store; one without is a reader store. A data repo URL that is a local path
#' (or `file://` URL) names a bare repository that datom creates itself: no
#' account and no token are needed.
#'
#' Secrets (`github_pat`, and the S3 `secret_key` and `session_token` of a
#' component) are moved into an engine-held handle at construction:
#' `print()`, `format()`, `str()` and `dput()` of a store or conn never show
#' them, and `saveRDS()` or `.RData` do not carry them (a restored store must
#' be given its secrets again).
#'
#' @param governance A store component for the governance store, or `NULL`.
#' @param data The data store component ([datom_store_local()]).
#' @param github_pat `NULL` or a GitHub token (needed only where a git host
#'   requires one). Never printed.
#' @param data_repo_url `NULL` or the URL (or local path) of the data repo.
#'   A URL with credentials in it (`https://user:TOKEN@host/...`) is refused:
#'   pass the token as `github_pat`.
#' @param gov_repo_url,gov_local_path Governance repository URL and clone
#'   path (only with a governance component).
#' @param github_org `NULL` or the GitHub owner for repository creation.
#' @param github_api_url `NULL` or the GitHub API root: an `https://` URL,
#'   or `http://` on a loopback host (`localhost`, `127.0.0.1`, `[::1]`).
#'   `NULL` means the environment variable `DATOM_GITHUB_API_URL` when set
#'   (GitHub Enterprise, or a local stand-in; checked the same way), else
#'   `https://api.github.com`.
#' @param validate Validate what can be validated offline.
#' @return An object of class `datom_store`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-example")
#' store <- datom_store(
#'   data = datom_store_local(file.path(root, "store")),
#'   data_repo_url = file.path(root, "remotes", "STUDY_001.git")
#' )
#' store
datom_store <- function(governance = NULL, data, github_pat = NULL, data_repo_url = NULL,
                        gov_repo_url = NULL, gov_local_path = NULL, github_org = NULL,
                        github_api_url = NULL, validate = TRUE) {
  if (!is.null(governance) && !inherits(governance, "datom_store_component")) {
    datom_abort("input", "{.arg governance} must be a datom store component (e.g. {.fn datom_store_local}) or NULL.")
  }
  if (missing(data) || !inherits(data, "datom_store_component")) {
    datom_abort("input", "{.arg data} must be a datom store component (e.g. {.fn datom_store_local}).")
  }
  if (inherits(data, "datom_store_s3_creds") && is.null(governance)) {
    datom_abort("input", "A credentials-only data component needs a governance component.",
      "Its bucket, prefix and region come from ref.json in the governance store; pass governance = , or use datom_store_s3().")
  }
  check_secret(github_pat, "github_pat")
  check_string_or_null(data_repo_url, "data_repo_url")
  check_string_or_null(gov_repo_url, "gov_repo_url")
  check_string_or_null(gov_local_path, "gov_local_path")
  check_string_or_null(github_org, "github_org")
  check_string_or_null(github_api_url, "github_api_url")
  if (is.null(governance) && (!is.null(gov_repo_url) || !is.null(gov_local_path))) {
    datom_abort("input", "{.arg gov_repo_url} and {.arg gov_local_path} need a {.arg governance} component.",
      "Pass governance = datom_store_local(...) or drop the governance arguments.")
  }
  # URL rules live in the engine: no credentials inside a repo URL; the API
  # root parsed (https, or http on a loopback host), wherever it comes from
  if (!is.null(data_repo_url)) check_repo_url(data_repo_url, "data_repo_url")
  if (!is.null(gov_repo_url)) check_repo_url(gov_repo_url, "gov_repo_url")
  api_url <- engine(rs_github_api_url(github_api_url))  # else DATOM_GITHUB_API_URL, else github.com
  if (!is.null(data_repo_url)) data_repo_url <- repo_url(data_repo_url)$url  # a local path made absolute
  if (!is.null(gov_local_path)) gov_local_path <- abs_path(gov_local_path)
  role <- if (!is.null(github_pat) || !is.null(data_repo_url)) "developer" else "reader"
  github_identity <- NULL
  if (isTRUE(validate) && !is.null(github_pat)) {
    res <- rs_github_user(api_url, github_pat)
    if (inherits(res, "datom_engine_error")) {
      datom_abort(res$kind, "GitHub PAT validation failed.", res$hint, c(i = paste("Underlying error:", esc(res$message))),
                  .fields = list(status = res$status))
    }
    github_identity <- list(login = res$login, id = res$id)
  }
  structure(list(
    governance = governance, data = data, role = role, github_pat = hold_secret(github_pat, show_prefix = TRUE),
    data_repo_url = data_repo_url, gov_repo_url = gov_repo_url, gov_local_path = gov_local_path,
    github_org = github_org, github_api_url = api_url,
    validated = isTRUE(validate),
    identity = list(github = github_identity, governance = NULL, data = NULL)
  ), class = "datom_store")
}

#' Test for datom store objects
#'
#' @param x Any object.
#' @return `TRUE` or `FALSE`; never an error.
#' @name is_datom_store
#' @export
#' @examples
#' is_datom_store(1)
#' is_datom_store_local(datom_store_local(tempdir(), validate = FALSE))
is_datom_store <- function(x) inherits(x, "datom_store")

#' @rdname is_datom_store
#' @export
is_datom_store_local <- function(x) inherits(x, "datom_store_local")

# Store helpers -------------------------------------------------------------------

`%||%` <- function(x, y) if (is.null(x)) y else x

check_prefix <- function(prefix, call = sys.call(-1)) {
  if (!is.null(prefix) && (!is.character(prefix) || length(prefix) != 1L || is.na(prefix))) {
    datom_abort("input", "{.arg prefix} must be a single string or NULL.", call = call)
  }
}

check_string_or_null <- function(x, arg, call = sys.call(-1)) {
  if (!is.null(x) && (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x))) {
    datom_abort("input", "{.arg {arg}} must be a single non-empty string or NULL.", call = call)
  }
}

# A path made absolute by the engine's one rule (git::absolute_path).
abs_path <- function(path) engine(rs_abs_path(path))


# Location and access of a data component: backend, root, prefix, region,
# endpoint and (S3) the credentials, as the engine reads them.
component_location <- function(x, endpoint = NULL, call = sys.call(-1)) {
  if (inherits(x, "datom_store_local")) {
    list(backend = "local", root = x$path, prefix = x$prefix, region = NULL, endpoint = NULL, client = NULL)
  } else if (inherits(x, "datom_store_s3")) {
    s3_access(x, endpoint)
  } else if (inherits(x, "datom_store_s3_creds")) {
    datom_abort("input", "A credentials-only data component has no location of its own.",
      "Its bucket, prefix and region are resolved from ref.json, so it needs a governance component.", call = call)
  } else {
    datom_abort("input", "Unsupported store component of class {.cls {class(x)[1]}}.", call = call)
  }
}

mask_token <- function(x) {
  if (is.null(x)) return("(not set)")
  if (inherits(x, "datom_secret_ref")) return(secret_label(x))
  if (inherits(x, "datom_secret")) return(paste0(attr(x, "prefix") %||% "", "****"))
  if (!nzchar(x)) "(not set)" else if (nchar(x) <= 4L) "****" else paste0(substr(x, 1, 4), "****")
}

# Secrets (GitHub PAT, S3 secret key and session token) are moved into an
# engine-held handle at construction (class `datom_secret`, an external
# pointer): print(), format(), str() and dput() of a store or conn never show
# them, and saveRDS() writes a null pointer. The engine reads the value only
# at the moment of use.
# `show_prefix`: keep the first 4 characters visible (a token's type, e.g.
# `ghp_`), as the print methods always showed them.
hold_secret <- function(x, show_prefix = FALSE) {
  if (is.null(x) || inherits(x, "datom_secret")) return(x)
  h <- engine(rs_secret_new(x))
  if (isTRUE(show_prefix) && nchar(x) > 4L) attr(h, "prefix") <- substr(x, 1L, 4L)
  h
}

# A secret argument: NULL, a single non-empty string, or a live handle.
check_secret <- function(x, arg, call = sys.call(-1)) {
  if (inherits(x, "datom_secret")) {
    if (!isTRUE(rs_secret_alive(x))) {
      datom_abort("input", "{.arg {arg}} is a secret restored from a file: its value did not survive.",
        "Pass the value again in this session (e.g. keyring::key_get()).", call = call)
    }
    return(invisible(x))
  }
  check_string_or_null(x, arg, call = call)
}

#' @export
print.datom_secret <- function(x, ...) {
  cat("<datom secret>\n")
  invisible(x)
}

#' @export
format.datom_secret <- function(x, ...) "<datom secret>"

# Print methods -------------------------------------------------------------------

#' @export
print.datom_store_local <- function(x, ...) {
  cli_print({
    cli::cli_h3("datom local store component")
    b <- c("*" = "Path: {.path {x$path}}")
    if (!is.null(x$prefix) && nzchar(x$prefix)) b <- c(b, "*" = "Prefix: {.val {x$prefix}}")
    b <- c(b, "*" = "Validated: {x$validated}")
    cli::cli_bullets(b)
  })
  invisible(x)
}

#' @export
print.datom_store <- function(x, ...) {
  cli_print({
    cli::cli_h3("datom store")
    b <- c("*" = "Role: {.val {x$role}}")
    if (!is.null(x$data_repo_url)) b <- c(b, "*" = "Data repo: {.url {x$data_repo_url}}")
    if (!is.null(x$gov_repo_url)) b <- c(b, "*" = "Gov repo: {.url {x$gov_repo_url}}")
    if (!is.null(x$gov_local_path)) b <- c(b, "*" = "Gov local path: {.path {x$gov_local_path}}")
    if (!is.null(x$github_org)) b <- c(b, "*" = "GitHub org: {.val {x$github_org}}")
    pat <- mask_token(x$github_pat)
    b <- c(b, "*" = "GitHub PAT: {pat}")
    if (!is.null(x$github_api_url) && !identical(x$github_api_url, "https://api.github.com")) b <- c(b, "*" = "GitHub API URL: {.url {x$github_api_url}}")
    if (!is.null(x$identity$github)) b <- c(b, "*" = "GitHub user: {.val {x$identity$github$login}}")
    cli::cli_bullets(b)
    cli::cli_text("{.strong Governance:}")
    if (is.null(x$governance)) cli::cli_text("{.emph not attached}") else print(x$governance)
    cli::cli_text("{.strong Data:}")
    print(x$data)
  })
  invisible(x)
}

default_github_api_url <- function(call = sys.call(-1)) engine(rs_github_api_url(NULL), call = call)

check_repo_url <- function(x, arg, call = sys.call(-1)) {
  engine(rs_check_repo_url(x, arg), call = call)
  invisible(x)
}

#' Create a project's data repository
#'
#' Creates the data clone at `path` (`.datom/project.yaml`,
#' `.datom/manifest.json`, `.gitignore`, `README.md`, an empty `input_files/`
#' inbox), makes the first commit (`Initialize datom repository`), pushes it
#' to the data repo, and mirrors the manifest into the data store. When the
#' data repo URL is a local path, datom creates the bare repository itself.
#'
#' Every check runs before the first side effect: an existing project at
#' `path`, or a data-store namespace already used by a project of that name,
#' refuses the call. If anything fails before the push, everything this call
#' created is removed again: run the same call again.
#'
#' With governance, the project is then registered in the governance repo
#' (`projects/NAME/`, committed, pushed, mirrored to the governance store).
#' **Repair:** if the registration fails after the data repo was pushed, the
#' error says so and the clone is intact; connect with [datom_get_conn()]
#' (`datom_validate(conn)` reports the missing register files) and run
#' `datom_sync_dispatch(conn)`, which registers the project (or pushes and
#' mirrors a registration that was interrupted). If only the data store's
#' copy of `.datom/governance.json` could not be written, the call warns;
#' `datom_validate(conn, fix = TRUE)` publishes it.
#'
#' @param path Directory for the new data clone (created if missing).
#' @param project_name The project name: 1-128 characters, starting with a
#'   letter; letters, digits, `_`, `-`, space, parentheses.
#' @param store A developer [datom_store()] (with a `data_repo_url`).
#' @param create_repo Create the data repository on GitHub (private, under
#'   `store$github_org` or the token's user; an existing empty repository is
#'   reused) instead of using `store$data_repo_url`.
#' @param repo_name Repository name when creating one.
#' @param max_file_size_gb Recorded in `project.yaml` (informational).
#' @param git_ignore Patterns for `.gitignore` (`input_files/` is always added).
#' @param .force Skip the occupied-namespace check (deliberate takeover only).
#' @return `TRUE`, invisibly.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-init-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "STUDY_001", store)
datom_init_repo <- function(path = ".", project_name, store, create_repo = FALSE,
                            repo_name = project_name, max_file_size_gb = 1000,
                            git_ignore = default_git_ignore(), .force = FALSE) {
  check_string(path, "path")
  check_name(project_name, "project_name")  # the engine's rule, reserved names included
  if (!is_datom_store(store)) datom_abort("input", "{.arg store} must be a {.cls datom_store} from {.fn datom_store}.")
  if (!identical(store$role, "developer")) {
    datom_abort("role", "datom_init_repo() requires a developer store; provide a data_repo_url (or github_pat).")
  }
  if (!is.numeric(max_file_size_gb) || length(max_file_size_gb) != 1L || is.na(max_file_size_gb) || max_file_size_gb <= 0) {
    datom_abort("input", "{.arg max_file_size_gb} must be a positive number.")
  }
  if (!is.character(git_ignore) || anyNA(git_ignore)) datom_abort("input", "{.arg git_ignore} must be a character vector.")
  if (isTRUE(create_repo)) {
    if (!is.null(store$data_repo_url)) {
      datom_abort("input", "{.arg create_repo} = TRUE and {.arg data_repo_url} are mutually exclusive.")
    }
    if (is.null(store$github_pat)) {
      datom_abort("input", "{.arg create_repo} = TRUE needs a GitHub token.", "Pass github_pat to datom_store().")
    }
    check_string(repo_name, "repo_name")
  } else if (is.null(store$data_repo_url)) {
    datom_abort("input", "No remote URL available.", "Set data_repo_url in datom_store(), or use create_repo = TRUE.")
  }
  governed <- !is.null(store$governance) && !is.null(store$gov_repo_url)
  if (!is.null(store$governance) && !governed) {
    datom_inform("info", "The store has a governance component but no gov_repo_url: the project is initialised solo (attach later with datom_attach_gov()).")
  }
  path <- abs_path(path)
  loc <- component_location(store$data)
  check_reachable(loc)
  # no project at path, a free namespace (unless .force): ops::init::preflight
  engine(rs_init_preflight(path, project_name, loc, isTRUE(.force)))
  governance <- NULL
  if (governed) {
    gov_path <- gov_clone_path(store, path)
    gov_loc <- component_location(store$governance)
    if (!dir.exists(gov_path)) datom_inform("info", "Cloning gov repo to {.path {gov_path}}")
    # cloned or pulled, and the name not registered yet
    engine(rs_gov_prepare_register(store$gov_repo_url, gov_path, store$github_pat, project_name))
    governance <- engine(rs_governance_record(store$gov_repo_url, gov_loc))
  }
  remote <- if (isTRUE(create_repo)) github_repo(store$github_api_url, store$github_pat, store$github_org, repo_name) else store$data_repo_url
  engine(rs_init_repo(path, project_name, loc, remote, as.numeric(max_file_size_gb), git_ignore, isTRUE(.force),
                      datom_version(), store$github_pat, governance))
  if (governed) {
    # registered (a failure says the clone is intact), then governance.json published to the data store
    mirror_error <- engine(rs_init_register(gov_loc, store$gov_repo_url, gov_path, store$github_pat, project_name, loc, path))$mirror_error
    datom_inform("success", "Registered project {.val {project_name}} in gov repo")
    if (!is.null(mirror_error)) {
      cli::cli_warn(c("Could not mirror governance.json to the data store (the git copy is canonical).", i = esc(mirror_error$message),
                      i = "Repair: datom_validate(conn, fix = TRUE) publishes it."))
    }
  }
  datom_inform("success", "Initialized datom repository {.val {project_name}} at {.path {path}}")
  invisible(TRUE)
}

#' Default `.gitignore` patterns of a data repository
#' @return A character vector.
#' @keywords internal
#' @export
default_git_ignore <- function() rs_default_git_ignore()  # the engine's list (ops::init::DEFAULT_GITIGNORE)

datom_version <- function() as.character(utils::packageVersion("datom"))

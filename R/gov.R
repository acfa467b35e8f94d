# Governance: the organisation's portfolio register (a git repo of
# projects/NAME/{dispatch,ref,migration_history}.json, mirrored to a gov store).

#' Create (or adopt) the organisation's governance repository
#'
#' One-time bootstrap: the governance repo gets `README.md` and
#' `projects/.gitkeep` (commit `Initialize governance repository`), and a
#' local clone. Every project initialised later against this repo registers
#' itself in it. A `gov_repo_url` that is a local path is a bare repository
#' datom creates (no account needed).
#'
#' @param gov_store The governance store component ([datom_store_local()] or
#'   [datom_store_s3()]). Nothing is written to it here.
#' @param gov_repo_url URL (or local path) of the governance repo.
#' @param gov_local_path Where the gov clone lives (default: a folder named
#'   after the repo in the user data directory of datom).
#' @param create_repo Create the repository on GitHub (with `github_pat`).
#' @param repo_name Repository name, required with `create_repo = TRUE`.
#' @param github_pat,github_org,private,github_api_url GitHub settings for
#'   `create_repo = TRUE` and for HTTPS clones of private repositories.
#' @return The governance repo URL, invisibly.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-gov-example")
#' url <- datom_init_gov(datom_store_local(file.path(root, "gov-store")),
#'                       gov_repo_url = file.path(root, "remotes", "acme-gov.git"),
#'                       gov_local_path = file.path(root, "gov_clone"))
#' list.files(file.path(root, "gov_clone"), recursive = TRUE, all.files = TRUE, pattern = "^[^.]|gitkeep")
datom_init_gov <- function(gov_store, gov_repo_url = NULL, gov_local_path = NULL, create_repo = FALSE,
                           repo_name = NULL, github_pat = NULL, github_org = NULL, private = TRUE,
                           github_api_url = NULL) {
  check_location_component(gov_store, "gov_store")
  check_string_or_null(gov_repo_url, "gov_repo_url")
  check_string_or_null(gov_local_path, "gov_local_path")
  check_secret(github_pat, "github_pat")
  check_string_or_null(github_org, "github_org")
  if (!is.null(gov_repo_url)) check_repo_url(gov_repo_url, "gov_repo_url")
  if (!is.null(github_api_url)) github_api_url <- engine(rs_check_api_url(github_api_url, "github_api_url"))
  if (isTRUE(create_repo) && !is.null(gov_repo_url)) {
    datom_abort("input", "{.arg gov_repo_url} and {.arg create_repo} = TRUE are mutually exclusive.")
  }
  if (!isTRUE(create_repo) && is.null(gov_repo_url)) {
    datom_abort("input", "No governance repo URL available.", "Pass gov_repo_url, or create_repo = TRUE with a github_pat.")
  }
  if (isTRUE(create_repo)) {
    check_string(repo_name %||% "", "repo_name")
    if (is.null(github_pat)) datom_abort("input", "{.arg create_repo} = TRUE needs {.arg github_pat}.")
    gov_repo_url <- github_repo(github_api_url %||% default_github_api_url(), github_pat, github_org, repo_name, private)
  }
  # the clone: gov_local_path, or a folder named after the repo in datom's user data directory
  res <- engine(rs_gov_init(gov_repo_url, gov_local_path, tools::R_user_dir("datom", "data"), github_pat))
  path <- res$path
  gov_repo_url <- res$url
  if (res$fresh) datom_inform("info", "Cloning gov repo to {.path {path}}")
  switch(res$state,
    already = datom_inform("info", "Governance repository already initialised at {.path {path}}"),
    repushed = datom_inform("info", "Local skeleton exists but remote is empty -- re-pushed to {.url {gov_repo_url}}"),
    datom_inform("success", "Governance repository initialised at {.path {path}}")
  )
  invisible(gov_repo_url)
}

# Create (or reuse an empty) GitHub repository; its clone URL.
github_repo <- function(api_url, pat, org, name, private = TRUE, call = sys.call(-1)) {
  res <- engine(rs_github_ensure_repo(api_url, pat, org, name, isTRUE(private)), call = call)
  datom_inform(if (res$created) "success" else "info",
               if (res$created) "Created GitHub repo {res$full_name}" else "Reusing empty GitHub repo {res$full_name}")
  res$clone_url
}

# A repository URL parsed by the engine (git::RepoUrl): list(url = as datom
# records it, a local path made absolute; local; name).
repo_url <- function(url, call = sys.call(-1)) engine(rs_repo_url(url), call = call)

# The gov clone of a store next to a data clone: `gov_local_path`, or a
# sibling of the data clone named after the gov repo (ops::conn::gov_clone_path).
gov_clone_path <- function(store, data_path, url = store$gov_repo_url) engine(rs_gov_clone_path(store$gov_local_path, data_path, url))

# Engine access list of a conn's gov store (bindings of r/gov.rs also read
# a conn's gov fields directly).
conn_gov_access <- function(conn) {
  list(backend = conn$gov_backend, root = conn$gov_root, prefix = conn$gov_prefix,
       region = conn$gov_region, endpoint = conn$gov_endpoint %||% conn$endpoint, client = conn$gov_client)
}

#' Refresh the governance clone only
#'
#' Fetch and fast-forward the gov clone (cloning it first if it is missing):
#' other engineers' registrations and decommissions appear and vanish. No
#' data clone and no storage traffic.
#'
#' @param conn A developer connection of a governed project.
#' @return `TRUE`, invisibly.
#' @export
#' @examples
#' # see vignette("governing-a-portfolio")
datom_pull_gov <- function(conn) {
  check_conn(conn)
  if (!identical(conn$role, "developer")) datom_abort("role", "Gov pull requires developer role.")
  if (is.null(conn$gov_root)) {
    datom_abort("input", "datom_pull_gov() requires governance, but this project has no governance attached.")
  }
  if (is.null(conn$gov_local_path)) {
    datom_abort("input", "Gov pull requires a local gov clone path.", "Set gov_local_path in datom_store().")
  }
  pull_gov_clone(conn)
  datom_inform("success", "Gov repo up to date")
  invisible(TRUE)
}

# Clone the gov clone when absent, else fetch and fast-forward it
# (ops::gov::refresh); the number of commits pulled.
pull_gov_clone <- function(conn, call = sys.call(-1)) {
  res <- engine(rs_gov_refresh(conn), call = call)
  if (res$cloned) datom_inform("success", "Cloned gov repo to {.path {conn$gov_local_path}}")
  invisible(res$pulled)
}

#' The portfolio: every project registered in the governance repo
#'
#' @param x A governed [datom_get_conn()] connection (its gov clone when
#'   present, else its gov store), or a [datom_store()] with a governance
#'   component (the gov store).
#' @return A data frame sorted by name: `name`, `data_backend`, `data_root`,
#'   `data_prefix`, `registered_at`.
#' @export
#' @examples
#' # see vignette("governing-a-portfolio")
datom_projects <- function(x) {
  if (is_datom_conn(x)) {
    if (is.null(x$gov_root)) {
      datom_abort("input", "datom_projects() requires governance, but this project has no governance attached.",
        "Attach one with datom_attach_gov().")
    }
  } else if (!is_datom_store(x)) {
    datom_abort("input", "{.arg x} must be a datom_conn or datom_store.")
  } else if (is.null(x$governance)) {
    datom_abort("input", "The store has no governance component.")
  }
  # a conn's gov clone when it exists, else the gov store
  res <- rs_gov_projects(if (is_datom_conn(x)) x else component_location(x$governance))
  if (inherits(res, "datom_engine_error")) {
    datom_abort(res$kind, "Failed to list projects from governance store.", esc(res$message))
  }
  for (r in res$skipped) cli::cli_warn("Skipping {r$name}: {esc(r$error)}")
  res$projects  # sorted by name; registered_at: the registration's commit time in the gov clone
}

#' Delete a project's data repository and local clone
#'
#' Deletes the data GitHub repository (REST, needs the `delete_repo` scope)
#' and the local clone; not the data store. Each step warns and continues.
#' Ownership is proven first, before anything is deleted: the repository is
#' the clone's `origin` remote, it must be the data repo URL recorded in
#' `.datom/project.yaml`, and a local (folder) remote must be a bare
#' repository datom created (git config `datom.managed = true`); otherwise a
#' `datom_error_conflict` and nothing is touched.
#'
#' @param conn A developer connection.
#' @param confirm Must be identical to the project name.
#' @param force_gov_attached Allow it for a governed project (used by
#'   [datom_decommission()]).
#' @param remove_untracked Remove the clone even if it holds files that are
#'   not committed (untracked, ignored such as `input_files/`, modified);
#'   by default they are listed and the clone is kept.
#' @return `TRUE`, invisibly.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-repo-delete")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "clone"), "SCRATCH", store)
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_storage_delete_prefix(conn)
#' datom_repo_delete(conn, confirm = "SCRATCH")
datom_repo_delete <- function(conn, confirm, force_gov_attached = FALSE, remove_untracked = FALSE) {
  check_developer(conn)
  if (missing(confirm) || !identical(confirm, conn$project_name)) {
    datom_abort("input", "Confirmation does not match the project name.",
      "Pass confirm = \"{conn$project_name}\" to delete it.")
  }
  if (!is.null(conn$gov_root) && !isTRUE(force_gov_attached)) {
    datom_abort("input", "Refusing to delete the data repo of a governed project.",
      "Use datom_decommission(), or pass force_gov_attached = TRUE from a governed teardown.")
  }
  # ownership before any side effect (the clone's `origin` must be the data
  # repo recorded in project.yaml and, when local, a bare repo datom
  # created), then the data repo and the clone (ops::gov::teardown)
  res <- engine(rs_teardown(conn, conn$github_api_url %||% default_github_api_url(), FALSE, isTRUE(remove_untracked)))
  teardown_inform(res, conn)
}

# Report what a teardown did (the events of rs_teardown, in order), then
# raise the failure that stopped it, if any.
teardown_inform <- function(res, conn) {
  name <- conn$project_name
  for (e in res$events) {
    v <- e$value
    switch(e$id,
      repo_delete = datom_inform("info", "Deleting data repo for {.val {name}}..."),
      storage = datom_inform("info", "Removing data store contents under {v}"),
      no_governance = datom_inform("info", "No governance attached -- skipping gov unregister"),
      gov_cloned = datom_inform("success", "Cloned gov repo to {.path {v}}"),
      unregistered = datom_inform("success", "Unregistered {name} from governance"),
      mirror_deleted = datom_inform("success", "Removed gov storage entry {v}"),
      local_repo_gone = datom_inform("info", "Local bare repository {.path {v}} is already gone"),
      local_repo_deleted = datom_inform("success", "Deleted local bare repository {.path {v}}"),
      no_token = datom_inform("warning", "No GitHub PAT on conn. Delete {v} manually."),
      github_deleting = datom_inform("info", "Deleting GitHub repo {.val {v}}..."),
      github_deleted = datom_inform("success", "Deleted GitHub repo {.code {v}}"),
      no_github_remote = datom_inform("info", "No GitHub remote found -- skipping repo deletion"),
      github_failed = {
        # decided on the error's fields, never on its text
        why <- if (!is.null(e$error$scope)) paste0(" (the PAT probably lacks the ", e$error$scope, " scope)") else
          if (identical(e$error$status, 404L)) " (already deleted?)" else ""
        datom_inform("danger", "Could not delete the GitHub repo: {esc(e$error$message)}{why}")
        datom_inform("info", "Delete {v} manually.")
      },
      clone_removing = datom_inform("info", "Removing local clone {.path {v}}..."),
      clone_removed = datom_inform("success", "Removed local data clone {v}"),
      clone_not_removed = datom_inform("danger", "Could not remove {.path {v}}"),
      clone_kept = keep_clone_inform(conn, v)
    )
  }
  if (!is.null(res$failed)) engine(res$failed, call = NULL)
  invisible(TRUE)
}

#' Decommission a project everywhere it lives
#'
#' Checks everything first, touching nothing: `confirm` must equal the
#' project name exactly (there is no prompt); the data repository must be
#' datom's (see [datom_repo_delete()]); the data location must be the one
#' `ref.json` names (governed) or `.datom/project.yaml` records (a stale
#' connection is refused). Then five steps, in order: delete the project's
#' data store namespace (`datom/{project}/`), unregister the project from
#' the governance repo (commit and push), delete its governance store
#' entry, delete the data repository, remove the local data clone. The git
#' record goes last: a failed step stops the teardown with an error that
#' lists the steps not done (run it again once the cause is fixed). Files
#' of the clone that are not committed (untracked, ignored such as
#' `input_files/`, modified) are listed and the clone is kept unless
#' `remove_untracked = TRUE`.
#'
#' **Repair.** Fix the cause of a failed step and run the same call again
#' (with the same `conn`): completed steps are no-ops, so a re-run -- also
#' after a session that died mid-way -- finishes the teardown. An
#' unregistration whose push did not happen is pushed by the re-run.
#'
#' @param conn A developer connection.
#' @param confirm The project name, exactly.
#' @param remove_untracked Remove the clone even if it holds files that are
#'   not committed.
#' @return `TRUE`, invisibly.
#' @export
#' @examples
#' # see vignette("governing-a-portfolio")
datom_decommission <- function(conn, confirm = NULL, remove_untracked = FALSE) {
  check_developer(conn, "Decommission requires a developer connection")
  if (!identical(confirm, conn$project_name)) {
    datom_abort("input", "Confirmation does not match the project name.",
      "Pass confirm = \"{conn$project_name}\" to decommission it; nothing was touched.")
  }
  # the engine checks everything first (ownership of the data repo; the
  # location ref.json or project.yaml names), then runs the steps in order
  # and stops at the first that fails (ops::gov::teardown)
  res <- engine(rs_teardown(conn, conn$github_api_url %||% default_github_api_url(), TRUE, isTRUE(remove_untracked)))
  teardown_inform(res, conn)
}

# The clone is kept when it holds files git does not (untracked, ignored such
# as input_files/, modified): they are listed.
keep_clone_inform <- function(conn, user_files) {
  n <- length(user_files)
  shown <- paste(utils::head(user_files, 10L), collapse = ", ")
  more <- if (n > 10L) paste0(" and ", n - 10L, " more") else ""
  datom_inform("warning", "Kept the local data clone {.path {conn$path}}: it holds {n} file{?s} not committed ({esc(shown)}{more}).")
  datom_inform("info", "Move them elsewhere and delete the folder, or pass remove_untracked = TRUE.")
}

#' Attach governance to a project that started without one
#'
#' Promotes a solo project to a governed one: the project is registered in
#' the governance repo (`projects/NAME/`, commit `Register project NAME`,
#' mirrored to the governance store), and the data repo records the pointer
#' (`.datom/governance.json`, commit `Attach governance: NAME`). Irreversible:
#' governance cannot be detached or swapped.
#'
#' @param conn A developer connection of the project.
#' @param gov_store The governance store component.
#' @param gov_repo_url URL (or local path) of an initialised governance repo.
#' @param gov_local_path Where the gov clone lives (default: a sibling of the
#'   data clone named after the gov repo).
#' @param create_repo Create and seed a new governance repo on GitHub with
#'   the connection's token.
#' @param repo_name,github_org,private As in [datom_init_gov()].
#' @return A new governed connection, invisibly (rebind:
#'   `conn <- datom_attach_gov(conn, ...)`).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-attach-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remotes", "p.git"))
#' datom_init_repo(file.path(root, "p"), "PILOT", store)
#' conn <- datom_get_conn(path = file.path(root, "p"), store = store)
#' gov <- datom_store_local(file.path(root, "gov-store"))
#' url <- datom_init_gov(gov, gov_repo_url = file.path(root, "remotes", "gov.git"),
#'                       gov_local_path = file.path(root, "gov_clone"))
#' conn <- datom_attach_gov(conn, gov, gov_repo_url = url,
#'                          gov_local_path = file.path(root, "gov_clone"))
#' datom_projects(conn)
datom_attach_gov <- function(conn, gov_store, gov_repo_url = NULL, gov_local_path = NULL, create_repo = FALSE,
                             repo_name = NULL, github_org = NULL, private = TRUE) {
  check_developer(conn, "datom_attach_gov() requires a developer connection; readers cannot attach governance")
  check_location_component(gov_store, "gov_store")
  check_string_or_null(gov_repo_url, "gov_repo_url")
  check_string_or_null(gov_local_path, "gov_local_path")
  if (!is.null(gov_repo_url)) check_repo_url(gov_repo_url, "gov_repo_url")
  if (isTRUE(create_repo) && !is.null(gov_repo_url)) {
    datom_abort("input", "{.arg gov_repo_url} and {.arg create_repo} = TRUE are mutually exclusive.")
  }
  name <- conn$project_name
  # attached already: to this repo nothing to do, to another a conflict (ops::gov::attached_to)
  if (engine(rs_attached(conn, gov_repo_url))) {
    datom_inform("info", "Project {.val {name}} is already attached to governance")
    return(invisible(conn))
  }
  if (!isTRUE(create_repo) && is.null(gov_repo_url)) {
    datom_abort("input", "No governance repo URL available.", "Pass gov_repo_url, or create_repo = TRUE.")
  }
  if (isTRUE(create_repo)) {
    check_string(repo_name %||% "", "repo_name")
    if (is.null(conn$github_pat)) datom_abort("input", "create_repo = TRUE requires a GitHub PAT on the store.")
    # the clone: gov_local_path, or a sibling of the data clone named after the repo
    gov_repo_url <- datom_init_gov(gov_store, gov_local_path = gov_clone_path(list(gov_local_path = gov_local_path), conn$path, repo_name),
      create_repo = TRUE, repo_name = repo_name, github_pat = conn$github_pat, github_org = github_org,
      private = private, github_api_url = conn$github_api_url)
  }
  # the engine brings the gov clone up to date, registers the project (a
  # name registered elsewhere is refused) and records the pointer (ops::gov::attach)
  res <- engine(rs_attach_gov(conn, component_location(gov_store), gov_repo_url, gov_local_path,
                              paste0("Attach governance: ", name)))
  if (isTRUE(res$registered)) datom_inform("success", "Registered project {.val {name}} in gov repo")
  pointer_inform(res, name)
  datom_inform("success", "Attached governance to project {.val {name}}")
  invisible(res$conn)
}

#' Record the data-side governance pointer of a project
#'
#' Writes `.datom/governance.json` (the governance repo URL and the
#' governance store's location, never credentials or clone paths), commits
#' it (`Attach governance: NAME`), pushes, and mirrors it to the data store.
#' The pointer is write-once. The governance repo itself is not touched
#' ([datom_attach_gov()] does both halves).
#'
#' @param conn A developer connection.
#' @param gov_repo_url URL of the governance repo.
#' @param gov_store The governance store component.
#' @param message Commit message (default `Attach governance: NAME`).
#' @return The data-repo commit SHA, invisibly.
#' @export
#' @examples
#' # see datom_attach_gov()
datom_repo_attach_governance <- function(conn, gov_repo_url, gov_store, message = NULL) {
  check_developer(conn)
  check_string(gov_repo_url, "gov_repo_url")
  check_repo_url(gov_repo_url, "gov_repo_url")
  check_location_component(gov_store, "gov_store")
  check_string_or_null(message, "message")
  engine(rs_read_config(conn$path))
  name <- conn$project_name
  # write-once: the same repo again is no change, another one a conflict
  res <- engine(rs_attach_pointer(conn, repo_url(gov_repo_url)$url, component_location(gov_store),
                                  message %||% paste0("Attach governance: ", name)))
  pointer_inform(res, name)
  invisible(res$commit %||% NA_character_)
}

pointer_inform <- function(res, name) {
  if (!isTRUE(res$written)) {
    datom_inform("info", "Project {.val {name}} already records this governance repo -- no change")
    return(invisible())
  }
  if (!is.null(res$mirror_error)) {
    cli::cli_warn(c("governance.json storage upload failed (the local copy is intact).", i = esc(res$mirror_error$message)))
  }
  datom_inform("success", "Wrote data-side governance record for {.val {name}}")
}

recorded_governance <- function(path) engine(rs_recorded_governance(path))

# A conn's data location as an engine access list.
conn_location <- function(conn) {
  list(backend = conn$backend, root = conn$root, prefix = conn$prefix, region = conn$region,
       endpoint = conn$endpoint, client = conn$client)
}

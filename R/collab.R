# Collaboration: clone, pull, status, summary, validation, metadata re-sync.

#' Clone an existing project (a second engineer joins)
#'
#' Clones the project's data repo into `path`, gives the clone a git
#' identity, and returns a developer connection. Pull before each writing
#' session ([datom_pull()]); a write whose push is rejected because someone
#' else pushed first changes nothing and asks you to pull and retry.
#'
#' @param path Target directory: absent or empty.
#' @param store A developer [datom_store()] with a `data_repo_url`.
#' @param ... Options of the git clone. `branch` (a single string): the
#'   branch to check out instead of the remote's default. Any other option
#'   (the original package passed `...` to `gert::git_clone()`, whose
#'   `bare` and `mirror` make no working clone) is refused with a
#'   `datom_error_input` before anything is cloned.
#' @return A developer `datom_conn`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-clone-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "me"), "STUDY_001", store)
#' bea <- datom_clone(file.path(root, "bea"), store)
#' bea
datom_clone <- function(path, store, ...) {
  branch <- clone_options(list(...))
  check_string(path, "path")
  if (!is_datom_store(store) || !identical(store$role, "developer")) {
    datom_abort("role", "datom_clone() requires a developer store.", "Build it with datom_store(..., data_repo_url = <URL>).")
  }
  if (is.null(store$data_repo_url)) {
    datom_abort("input", "The store has no {.arg data_repo_url}.", "Pass the data repo URL to datom_store(data_repo_url = ).")
  }
  path <- abs_path(path)
  engine(rs_clone(store$data_repo_url, path, store$github_pat, branch))
  if (!is.null(store$gov_repo_url) && !is.null(store$governance)) {
    engine(rs_join_gov(store$gov_repo_url, gov_clone_path(store, path), store$github_pat))
  }
  conn <- datom_get_conn(path = path, store = store)
  datom_inform("success", "Cloned {.val {conn$project_name}} to {.path {path}}")
  conn
}

# The git clone options of datom_clone(...): the branch, or NULL. What
# git2 cannot do for a working data clone is refused.
clone_options <- function(dots, call = sys.call(-1)) {
  if (!length(dots)) return(NULL)
  nms <- names(dots) %||% rep("", length(dots))
  if (any(!nzchar(nms))) {
    datom_abort("input", "Options of {.fn datom_clone} must be named; got {sum(!nzchar(nms))} unnamed argument{?s}.",
      "The supported option is branch = \"<name>\".", call = call)
  }
  bad <- setdiff(nms, "branch")
  if (length(bad)) {
    datom_abort("input", "{.fn datom_clone} does not support the git clone option{?s} {.arg {bad}}.",
      "The supported option is branch = \"<name>\"; a data clone is always a full working clone.", call = call)
  }
  b <- dots$branch
  if (!is.character(b) || length(b) != 1L || is.na(b) || !nzchar(b)) {
    datom_abort("input", "{.arg branch} must be a single non-empty string.", call = call)
  }
  b
}

#' Bring the data clone up to date
#'
#' Fetches `origin` and fast-forwards the current branch; reports how many
#' commits arrived and which tables moved. No storage traffic: git is the
#' source of truth for metadata.
#'
#' @param conn A developer connection.
#' @return Invisibly, a list: `commits_pulled`, `branch`, `tables_updated`,
#'   `gov` (`NULL`: no governance clone).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-pull-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "me"), "STUDY_001", store)
#' me <- datom_get_conn(path = file.path(root, "me"), store = store)
#' bea <- datom_clone(file.path(root, "bea"), store)
#' datom_write(me, datom_example_data("lb", "2026-01-28"), "lb")
#' datom_pull(bea)
datom_pull <- function(conn) {
  check_developer(conn, "Pull requires developer role")
  datom_inform("info", "Fetching from origin...")
  res <- engine(rs_pull(conn))
  n <- res$commits_pulled
  if (n > 0) {
    datom_inform("success", "{n} commit{?s} pulled.")
  } else {
    datom_inform("info", "Already up to date on {res$branch}.")
  }
  for (i in seq_along(res$tables)) {
    datom_inform("success", "Manifest updated: {res$tables[i]} -> {res$change[i]}")
  }
  # the gov clone was refreshed too, silently unless it failed
  if (!is.null(res$gov_failed)) engine(res$gov_failed)
  gov <- if (!is.null(res$gov_commits)) list(commits_pulled = res$gov_commits)
  invisible(list(commits_pulled = n, branch = res$branch, tables_updated = res$tables, gov = gov))
}

#' Project status: tables, git state, input inbox
#'
#' @param conn A [datom_get_conn()] connection.
#' @return Invisibly, a list with `connection`, `tables`, and for developers
#'   `git` and, when the clone has an `input_files/` folder, `input_files`:
#'   its file counts as [datom_sync_manifest()] classifies them (`n_total`,
#'   `n_new`, `n_changed`, `n_unchanged`, `n_unsupported`).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-status-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "me"), "STUDY_001", store)
#' datom_status(datom_get_conn(path = file.path(root, "me"), store = store))
datom_status <- function(conn) {
  check_conn(conn)
  quiet <- isTRUE(getOption("datom.quiet", FALSE))
  if (!quiet) cli::cli_h2("datom status")
  datom_inform("info", "Project: {.val {conn$project_name}}")
  datom_inform("info", "Root: {.path {conn$root}}")
  if (!is.null(norm_prefix(conn$prefix))) datom_inform("info", "Prefix: {.val {conn$prefix}}")
  datom_inform("info", "Role: {.val {conn$role}}")
  label <- if (identical(conn$backend, "s3")) "S3" else "local"
  tabs <- tryCatch(engine(rs_list(conn)), error = function(e) e)
  tables <- if (inherits(tabs, "error")) {
    datom_inform("warning", "Could not read {label} manifest")
    list(count = 0L, available = FALSE, error = conditionMessage(tabs))
  } else {
    datom_inform("info", "Tables on {label}: {length(tabs$name)}")
    list(count = length(tabs$name), available = TRUE)
  }
  out <- list(
    connection = list(project_name = conn$project_name, root = conn$root, prefix = conn$prefix,
                      region = conn$region, role = conn$role, has_path = !is.null(conn$path)),
    tables = tables
  )
  if (!is.null(conn$path)) {
    g <- engine(rs_git_status(conn$path))
    if (length(g$uncommitted) == 0L) {
      datom_inform("success", "Git: clean (no uncommitted changes)")
    } else {
      datom_inform("warning", "Git: {length(g$uncommitted)} uncommitted change{?s}")
      if (!quiet) cli::cli_bullets(stats_set_names(esc(g$uncommitted), rep(" ", length(g$uncommitted))))
    }
    if (!is.null(g$branch)) datom_inform("info", "Branch: {g$branch}")
    out$git <- list(uncommitted = g$uncommitted, branch = g$branch)
    inbox <- engine(rs_inbox_status(conn))
    if (!is.null(inbox)) out$input_files <- inbox_report(inbox)
  }
  invisible(out)
}

# The inbox line of datom_status() (the engine's classification and line).
inbox_report <- function(n) {
  uns <- if (n$n_unsupported > 0L) ", {n$n_unsupported} in an unsupported format" else ""
  switch(n$line,
    empty = datom_inform("info", "Input files: directory empty"),
    pending = datom_inform("warning", paste0("Input files: {n$n_new} new, {n$n_changed} changed, {n$n_unchanged} unchanged", uns)),
    unsupported = datom_inform("warning", "Input files: {n$n_unchanged} unchanged, {n$n_unsupported} in an unsupported format"),
    clean = datom_inform("success", "Input files: all {n$n_unchanged} unchanged"))
  n[names(n) != "line"]
}

# Read a JSON file datom wrote (engine parser, R list out).
jsonlite_read <- function(file) {
  txt <- paste(readLines(file, warn = FALSE, encoding = "UTF-8"), collapse = "\n")
  engine(rs_parse_json(txt))
}

#' A one-screen summary of a project
#'
#' @param conn A [datom_get_conn()] connection.
#' @return An object of class `datom_summary`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-summary-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "me"), "STUDY_001", store)
#' datom_summary(datom_get_conn(path = file.path(root, "me"), store = store))
datom_summary <- function(conn) {
  check_conn(conn)
  res <- tryCatch(engine(rs_list(conn)), error = function(e) {
    datom_abort("storage", "Could not read manifest from data store.", conditionMessage(e))
  })
  versions <- sum(res$version_count)
  last <- if (length(res$last_updated)) max(res$last_updated) else NA_character_
  structure(list(
    project_name = conn$project_name, role = conn$role, backend = conn$backend, root = conn$root,
    prefix = conn$prefix, table_count = length(res$name), total_versions = as.integer(versions),
    last_updated = last, remote_url = if (is.null(conn$path)) NULL else conn$data_repo_url
  ), class = "datom_summary")
}

#' @export
print.datom_summary <- function(x, ...) {
  cli_print({
    cli::cli_h3("datom project summary")
    where <- if (is.null(norm_prefix(x$prefix))) x$root else paste0(x$root, "/", x$prefix)
    label <- if (identical(x$backend, "s3")) "S3" else "local"
    remote <- if (is.null(x$remote_url)) "{.emph <not visible to readers>}" else esc(x$remote_url)
    cli::cli_bullets(c(
      "*" = "Project: {.val {x$project_name}}",
      "*" = "Role: {x$role}",
      "*" = "Backend: {label} -- {where}",
      "*" = "Tables: {x$table_count} ({x$total_versions} version{?s} total)",
      "*" = "Last write: {x$last_updated}",
      "*" = paste("Remote:", remote)
    ))
  })
  invisible(x)
}

#' Re-publish the clone's metadata to storage
#'
#' Re-mirrors everything storage should hold from what git holds (a
#' recovery tool after a failed upload, a manual data move, or storage drift
#' reported by [datom_validate()]). Governed projects first: the project is
#' registered in the governance repo if it is missing there (the recovery
#' path of a failed registration), `dispatch.json` and `ref.json` are
#' rewritten (committed and pushed only when they changed) and all three
#' governance files are mirrored to the governance store; then the data
#' side: the manifest, and each table's `metadata.json`,
#' `version_history.json` and current version snapshot. A failure of one
#' file or table is reported and the others go on.
#'
#' @param conn A developer connection.
#' @param .confirm `TRUE` asks interactively (an error in non-interactive
#'   sessions); `FALSE` proceeds (scripts).
#' @return Invisibly, a list: `repo_files` (the repo-level keys synced) and
#'   `tables` (one element per table: `name`, `action` = `"synced"` with
#'   `s3_keys`, or `"error"` with `error`).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-dispatch-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "me"), "STUDY_001", store)
#' datom_sync_dispatch(datom_get_conn(path = file.path(root, "me"), store = store), .confirm = FALSE)
datom_sync_dispatch <- function(conn, .confirm = TRUE) {
  check_conn(conn)
  if (!identical(conn$role, "developer")) datom_abort("role", "Sync dispatch requires developer role.")
  if (is.null(conn$path)) datom_abort("input", "Sync dispatch needs a connection with a local data clone (path).")
  tables <- engine(rs_clone_tables(conn$path))
  if (isTRUE(.confirm)) {
    if (!interactive()) {
      datom_abort("input", "Interactive confirmation required.", "Call datom_sync_dispatch(conn, .confirm = FALSE) in scripts.")
    }
    datom_inform("warning", "This will update governance metadata and per-table metadata for {length(tables)} table{?s}")
    datom_inform("info", "Current location: {location_label(conn)}")
    ans <- readline("Proceed? [y/N] ")
    if (!tolower(trimws(ans)) %in% c("y", "yes")) {
      datom_inform("info", "Sync cancelled")
      return(invisible(list(repo_files = character(), tables = list())))
    }
  }
  res <- engine(rs_sync_dispatch(conn, if (!is.null(conn$gov_root)) conn_gov_access(conn)))
  for (e in res$events) {
    v <- e$value
    err <- if (is.character(e$error)) esc(e$error) else ""
    switch(e$id,
      no_governance = datom_inform("info", "No governance attached -- skipping governance files"),
      no_gov_clone = datom_inform("warning", "No gov clone on this connection -- governance files skipped"),
      gov_cloned = datom_inform("success", "Cloned gov repo to {.path {v}}"),
      gov_failed = ,
      gov_file_failed = datom_inform("warning", "Failed to sync {v} to gov: {err}"),
      behind = datom_inform("info", "The clone is {v} commit{?s} behind origin: published origin's head; run datom_pull(conn) to update the clone."),
      governance_failed = datom_inform("warning", "governance.json storage upload failed: {err}"),
      table_failed = datom_inform("danger", "Failed to sync {v}: {err}"),
      manifest_failed = datom_inform("danger", "Failed to sync the manifest: {err}")
    )
  }
  if (!is.null(res$failed)) engine(res$failed, call = NULL)
  out <- list()
  for (i in seq_along(res$table)) {
    t <- res$table[i]
    out[[t]] <- if (is.na(res$error[i])) list(name = t, action = "synced", s3_keys = res$keys[[i]]) else
      list(name = t, action = "error", error = res$error[i])
  }
  datom_inform("success", "Synced {length(res$repo_files)} repo-level file{?s}")
  datom_inform("info", "Sync dispatch complete: {res$synced} table{?s} synced, {res$errors} error{?s}")
  invisible(list(repo_files = res$repo_files, tables = out))
}

#' Check that the store tells the truth about the data repo
#'
#' Git is the record; the store is its publication. `datom_validate()`
#' fetches origin and compares the store with origin's head by content:
#' every mirror (each table's `metadata.json`, `version_history.json` and
#' current snapshot, the manifest, `governance.json`) is parsed and compared
#' with its file in git; every version of every history must have its data
#' object (with `deep = TRUE`, its bytes must also hash to the recorded
#' `parquet_sha`). It also reports objects no version names, commits of the
#' clone that are not on origin, and uncommitted edits of datom's own files.
#'
#' @param conn A developer connection.
#' @param fix If `TRUE` and something is wrong, re-publish origin's head to
#'   the store ([datom_sync_dispatch()]), then validate again. `fixed` is
#'   `TRUE` only when the second validation finds nothing wrong: a missing
#'   data object cannot be re-published (its repair is re-running the
#'   original [datom_write()]) and stays reported.
#' @param deep If `TRUE`, download every data object and check its hash.
#' @return Invisibly, a list: `valid`, `repo_files`, `tables`, `problems` (a
#'   data frame: `kind`, `severity` (`"error"` or `"info"`), `table`,
#'   `version`, `detail`, `repair` — the call that repairs it), `fixed`.
#'   Problem kinds: `missing_object`, `corrupt_object`, `missing_mirror`,
#'   `stale_mirror`, `unpublished_version`, `unpublished_commit`,
#'   `unpushed_commit`, `uncommitted_change`, `orphan_object`,
#'   `clone_behind`, `moved_location` (origin's `project.yaml` names
#'   another data location than the connection's: a migration that did not
#'   finish -- re-run [datom_repo_set_data_store()] -- or a stale
#'   connection -- [datom_pull()] and [datom_get_conn()]).
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-validate-example")
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_init_repo(file.path(root, "me"), "STUDY_001", store)
#' datom_validate(datom_get_conn(path = file.path(root, "me"), store = store))
datom_validate <- function(conn, fix = FALSE, deep = FALSE) {
  check_developer(conn, "Validation requires developer role")
  check_flag(fix, "fix")
  check_flag(deep, "deep")
  res <- validate_once(conn, deep)
  fixed <- FALSE
  if (isTRUE(fix) && any(res$problems$severity == "warning")) {
    # unfinished uploads of killed writes, older than DATOM_STALE_UPLOAD
    gone <- engine(rs_clean_leftovers(conn))
    if (length(gone)) datom_inform("success", "Removed {length(gone)} unfinished upload{?s} left by killed writes ({.path {gone}})")
    if (res$valid) res <- validate_once(conn, deep, quiet_ok = TRUE)
  }
  if (!res$valid && isTRUE(fix)) {
    datom_inform("info", "Attempting to fix by publishing origin's head to the store...")
    ok <- tryCatch({ datom_sync_dispatch(conn, .confirm = FALSE); TRUE }, error = function(e) {
      datom_inform("danger", "Fix failed: {esc(conditionMessage(e))}"); FALSE
    })
    if (ok) {
      res <- validate_once(conn, deep, quiet_ok = TRUE)
      fixed <- res$valid
      if (fixed) {
        datom_inform("success", "Fix applied: git and storage are consistent.")
      } else {
        datom_inform("danger", "Fix incomplete: {sum(res$problems$severity == 'error')} problem{?s} remain; see the repair column of $problems.")
      }
    }
  }
  invisible(list(valid = res$valid, repo_files = res$repo_files, tables = res$tables,
                 problems = res$problems, fixed = fixed))
}

validate_once <- function(conn, deep, quiet_ok = FALSE) {
  gov <- if (!is.null(conn$gov_root)) conn_gov_access(conn)
  v <- engine(rs_validate(conn, gov, deep))
  if (!is.null(v$gov_skipped) && !quiet_ok) datom_inform("info", "No governance attached -- skipping {v$gov_skipped} checks")
  frame <- function(x) as.data.frame(x, stringsAsFactors = FALSE)
  tables <- frame(v$tables)
  problems <- frame(v$problems)
  if (!is.null(v$name_mismatch)) {
    datom_inform("danger", "Project name mismatch: manifest says {v$name_mismatch} but connection says {conn$project_name}")
    datom_inform("info", "This may indicate a namespace collision. Check bucket/prefix configuration.")
  }
  if (v$valid) {
    if (!quiet_ok) datom_inform("success", "All checks passed. Git and storage are consistent.")
  } else {
    datom_inform("warning", "Found {sum(v$issues)} issue{?s}: {v$issues[1]} repo-level, {v$issues[2]} table-level.")
  }
  # every error and warning (the data side's, then the governance files'),
  # each with the call that repairs it
  p <- rbind(problems, frame(v$gov_problems))
  for (i in which(p$severity %in% c("error", "warning"))) {
    datom_inform(if (p$severity[i] == "error") "danger" else "warning", "{p$kind[i]}: {esc(p$detail[i])}")
    datom_inform("info", "Repair: {esc(p$repair[i])}")
  }
  list(valid = v$valid, repo_files = frame(v$repo_files), tables = tables, problems = problems)
}

#' Is a directory a datom repository?
#'
#' A cheap structural check, no network.
#'
#' @param path A directory.
#' @param checks Any of `"all"`, `"git"`, `"datom"`, `"renv"`.
#' @param verbose Print one line per sub-check.
#' @return `TRUE` iff every selected sub-check passes.
#' @export
#' @examples
#' is_valid_datom_repo(tempdir(), checks = c("git", "datom"))
is_valid_datom_repo <- function(path, checks = c("all", "git", "datom", "renv"), verbose = FALSE) {
  check_string(path, "path")
  # the sub-checks of the groups asked for (ops::collab::RepoChecks::selected)
  sub <- engine(rs_repo_checks(path, match.arg(checks, several.ok = TRUE)))
  if (isTRUE(verbose)) {
    for (n in names(sub)) datom_inform(if (sub[[n]]) "success" else "danger", n)
  }
  all(sub)
}

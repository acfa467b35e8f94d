#' Adopt a project written by the original datom (0.1.x)
#'
#' The original package kept a project's objects at the root of its store
#' (`{prefix/}datom/<table>/...`); this package scopes every project
#' (`{prefix/}datom/<project>/<table>/...`), so a store written by the
#' original cannot be read until it is adopted. `datom_adopt()` adopts one
#' original project -- its data repo clone (`path`) and its store -- into
#' the project-scoped layout. Nothing about a version changes: version ids,
#' `data_sha`, `parquet_sha` and every history entry are kept as they are.
#'
#' With `dry_run = TRUE` (the default) it prints the plan and changes
#' nothing: the objects it will copy and verify, the metadata files it will
#' publish, the data-repo change (only when `to` moves the data to another
#' store), the governance registration, the objects under the store root
#' that are not this project's (never touched) and any object a history
#' names that the store lacks. With `dry_run = FALSE` the engine runs the
#' steps in order, every check first:
#'
#' 1. copy every parquet object and metadata snapshot of the project from
#'    `{prefix/}datom/<k>` to `{prefix/}datom/<project>/<k>` (in the same
#'    store, or in `to`); a parquet object is checked against the
#'    `parquet_sha` the data repo records before it is written, and an
#'    object already at the destination is never replaced;
#' 2. verify every copy: a parquet object hashes to its recorded
#'    `parquet_sha` (or, for versions that predate it, to the original's
#'    bytes); a snapshot is the same JSON document. Any difference stops
#'    here, before anything is published;
#' 3. publish the data repo's head to the new namespace (metadata,
#'    histories, current-version logs, manifest, `governance.json`, the
#'    publication marker);
#' 4. governed projects (`.datom/governance.json`): register the project in
#'    the governance repo if the original never did (`ref.json` names the
#'    store), or record the move (`to`) in `ref.json` and
#'    `migration_history.json`, or repair the governance store's copies;
#' 5. with `to`: `storage.data` of `.datom/project.yaml`, committed and
#'    pushed;
#' 6. record the adoption at the old root (`.metadata/adopted.json`).
#'
#' Every step is idempotent: after an interruption (an error, a killed
#' session) run the same call again and it completes; a completed adoption
#' run again changes nothing. The original's objects are never deleted by
#' the adoption. Once you have checked the adopted project (for example
#' with [datom_validate()]), remove them with `remove_old = TRUE` (a dry run
#' first lists them): only the project's own 0.1.x objects are deleted, each
#' after its copy was verified again, and only when the adoption is
#' complete; other projects' namespaces under the same root are never
#' touched. Stop writing with the original package before adopting: its
#' writes after the adoption land in the old layout only.
#'
#' @param path A clone of the original's data repo.
#' @param store The original's store ([datom_store()]): its data component
#'   is the location `.datom/project.yaml` records; a governed project also
#'   needs the governance component (and `gov_repo_url` / `gov_local_path`
#'   as for [datom_get_conn()]).
#' @param to `NULL` (adopt in the same store) or a store component
#'   ([datom_store_local()], [datom_store_s3()]) to adopt into instead.
#' @param dry_run `TRUE`: print the plan, change nothing.
#' @param remove_old `TRUE`: delete the original's objects of a completed
#'   adoption (with `dry_run = TRUE`, list them).
#' @param message Commit message of the `project.yaml` change when `to`
#'   moves the data (default `Adopt data store: NAME`).
#' @param sunset_days With `to` on a governed project: days the old location
#'   stays in `ref.json` as `previous`.
#' @return Invisibly, a list: `project`, `from` and `to` (the old and new
#'   roots), `commit` (the data repo's head the new namespace publishes),
#'   `objects` (data frame `key`, `bytes`, `kind` = `"parquet"` or
#'   `"snapshot"`, `action` = `"copy"` or `"present"`), `mirrors` (keys the
#'   publication writes), `old_mirrors`, `skipped`, `missing` (data frame
#'   `table`, `version`, `key`), `repo_change`, `governance` (`"not_governed"`,
#'   `"registered"`, `"register"`, `"record_move"`, `"mirror"`), `complete`,
#'   and after a run `copied` (data frame `key`, `bytes`), `verified`,
#'   `published`, `held`, `repo_commit`, `deleted`.
#' @export
#' @examples
#' root <- file.path(tempdir(), "datom-adopt-example")
#' # an original (0.1.x) project, written from the format
#' source(system.file("fixtures", "original-layout.R", package = "datom"))
#' write_original_project(root, "STUDY_001", list(dm = list(data.frame(id = 1:3))))
#' store <- datom_store(data = datom_store_local(file.path(root, "store")),
#'                      data_repo_url = file.path(root, "remote.git"))
#' datom_adopt(file.path(root, "clone"), store)                   # the plan
#' datom_adopt(file.path(root, "clone"), store, dry_run = FALSE)  # adopt
#' conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
#' datom_read(conn, "dm")
datom_adopt <- function(path, store, to = NULL, dry_run = TRUE, remove_old = FALSE, message = NULL, sunset_days = 90) {
  check_string(path, "path")
  if (!is_datom_store(store)) datom_abort("input", "{.arg store} must be a {.cls datom_store} from {.fn datom_store}.")
  check_flag(dry_run, "dry_run")
  check_flag(remove_old, "remove_old")
  check_string_or_null(message, "message")
  if (!is.numeric(sunset_days) || length(sunset_days) != 1L || is.na(sunset_days) || sunset_days < 0) {
    datom_abort("input", "{.arg sunset_days} must be a single non-negative number.")
  }
  if (!is.null(to)) check_location_component(to, "to")
  path <- abs_path(path)
  if (!dir.exists(path)) datom_abort("input", "No data repo clone at {.path {path}}.", "Clone the original's data repo first (git clone).")
  engine(rs_read_config(path))  # a datom clone, before the stores are checked
  loc <- component_location(store$data)
  check_reachable(loc)
  to_loc <- if (is.null(to)) loc else component_location(to)
  if (!is.null(to)) check_reachable(to_loc)
  # the engine checks the governance the clone records against the store's
  # (ops::conn::governance_of), brings the gov clone up to date and adopts
  out <- engine(rs_adopt(path, loc, to_loc, if (!is.null(store$governance)) component_location(store$governance),
                         store$gov_repo_url, store$gov_local_path, store$github_pat, sunset_days, message, dry_run, remove_old))
  if (out$gov_cloned) datom_inform("success", "Cloned gov repo to {.path {out$gov_path}}")
  if (remove_old) {
    report_removal(out, dry_run)
  } else if (dry_run) {
    report_plan(out)
  } else {
    report_adoption(out)
  }
  invisible(out)
}

fmt_bytes <- function(x) format(sum(x), big.mark = ",", scientific = FALSE)

report_plan <- function(r, old_root = r$old_root, new_root = r$new_root) {
  name <- r$project
  if (isTRUE(r$complete)) {
    datom_inform("success", "{.val {name}} is already adopted into {.path {new_root}}: nothing to do.")
    return(invisible())
  }
  o <- r$objects
  n_copy <- sum(o$action == "copy")
  datom_inform("info", "Adoption plan for {.val {name}} (dry run: nothing was changed)")
  bullets <- c(
    "*" = "From the 0.1.x layout: {.path {old_root}}",
    "*" = "To the project-scoped layout: {.path {new_root}}",
    "*" = "Copy and verify {n_copy} object{?s} ({fmt_bytes(o$bytes[o$action == 'copy'])} bytes: {sum(o$kind == 'parquet' & o$action == 'copy')} parquet, {sum(o$kind == 'snapshot' & o$action == 'copy')} snapshot{?s}); {sum(o$action == 'present')} already there (verified only)",
    "*" = "Publish {length(r$mirrors)} metadata file{?s} from the data repo at commit {substr(r$commit, 1, 12)} (histories, metadata, current-version logs, manifest, publication marker); the {length(r$old_mirrors)} old metadata file{?s} are not copied",
    "*" = if (is.null(r$repo_change)) "Data repo: no change (.datom/project.yaml already names this store)" else "Data repo: {esc(r$repo_change)} (committed and pushed)",
    "*" = gov_plan_line(r)
  )
  cli_bullets_quiet(bullets)
  if (length(r$skipped)) {
    datom_inform("info", "{length(r$skipped)} object{?s} under {.path {old_root}} {?is/are} not this project's and stay untouched (first: {.path {r$skipped[1]}})")
  }
  if (nrow(r$missing)) {
    datom_inform("warning", "{nrow(r$missing)} object{?s} named by the version histories {?is/are} missing from the original's store (first: {.path {r$missing$key[1]}}); {?that version/those versions} will not be readable")
  }
  datom_inform("info", "The original's objects stay in place; remove them later with {.code datom_adopt(path, store, remove_old = TRUE)}.")
  datom_inform("info", "Run {.code datom_adopt(path, store, dry_run = FALSE)} to adopt.")
}

gov_plan_line <- function(r) {
  switch(r$governance,
    not_governed = "Governance: not attached (nothing to register)",
    registered = "Governance: already registered, ref.json names the new location",
    register = "Governance: register {.val {r$project}} (dispatch.json, ref.json, migration_history.json)",
    record_move = "Governance: record the move in ref.json and migration_history.json",
    mirror = "Governance: repair the governance store's copies of the project's files"
  )
}

report_adoption <- function(r, old_root = r$old_root, new_root = r$new_root) {
  name <- r$project
  if (isTRUE(r$complete)) {
    datom_inform("success", "{.val {name}} is already adopted into {.path {new_root}}: nothing to do.")
    return(invisible())
  }
  datom_inform("success", "Copied {nrow(r$copied)} object{?s} ({fmt_bytes(r$copied$bytes)} bytes), {r$present} already there; verified {r$verified}")
  if (!is.null(r$published)) datom_inform("success", "Published commit {substr(r$published, 1, 12)} to {.path {new_root}}")
  if (length(r$held)) datom_inform("warning", "Held back at an older version (current object missing): {.val {r$held}}")
  switch(r$governance,
    register = datom_inform("success", "Registered {.val {name}} in the governance repo"),
    record_move = datom_inform("success", "Recorded the move of {.val {name}} in ref.json and migration_history.json"),
    mirror = datom_inform("success", "Repaired the governance store's copies of {.val {name}}"),
    NULL
  )
  if (!is.null(r$repo_commit)) datom_inform("success", "Updated .datom/project.yaml data store pointer for {.val {name}}")
  if (nrow(r$missing)) {
    datom_inform("warning", "{nrow(r$missing)} object{?s} named by the version histories {?was/were} missing from the original's store (first: {.path {r$missing$key[1]}})")
  }
  datom_inform("success", "Adopted {.val {name}}: the original's objects stay in {.path {old_root}} (recorded in {.path {paste0(old_root, r$adopted_key)}})")
  datom_inform("info", "After checking the project (datom_validate()), remove them with {.code datom_adopt(path, store, remove_old = TRUE)}.")
}

report_removal <- function(r, dry_run) {
  n <- length(r$deleted)
  if (nrow(r$kept)) {
    datom_inform("warning", "{nrow(r$kept)} object{?s} kept: {?its/their} copy could not be verified (first: {.path {r$kept$key[1]}}: {esc(r$kept$issue[1])})")
  }
  if (dry_run) {
    datom_inform("info", "Would delete {n} object{?s} of the 0.1.x layout under {.path {r$from}} (dry run: nothing was deleted)")
    if (n) datom_inform("info", "Run {.code datom_adopt(path, store, dry_run = FALSE, remove_old = TRUE)} to delete them.")
  } else {
    datom_inform("success", "Deleted {n} object{?s} of the 0.1.x layout under {.path {r$from}}")
  }
}

cli_bullets_quiet <- function(bullets, .envir = parent.frame()) {
  if (isTRUE(getOption("datom.quiet"))) return(invisible())
  cli::cli_bullets(bullets, .envir = .envir)
}

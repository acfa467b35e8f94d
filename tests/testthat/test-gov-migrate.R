# Governance beyond the article: attaching a solo project, repairing the
# register, migrating data between stores, and the refusals.

git_log <- function(dir) git(dir, "log", "--format=%s")
bare_log <- function(bare) system2("git", c("--git-dir", bare, "log", "--format=%s", "main"), stdout = TRUE)

gov_setup <- function(root) {
  govc <- quietly(datom_store_local(file.path(root, "gov-store")))
  url <- quietly(datom_init_gov(govc, gov_repo_url = file.path(root, "remotes", "gov.git"),
                                gov_local_path = file.path(root, "gov_clone")))
  list(component = govc, url = url, clone = file.path(root, "gov_clone"),
       store_dir = file.path(root, "gov-store", "datom", "projects"))
}

test_that("datom_init_gov is idempotent and refuses a clone of another repo", {
  root <- withr::local_tempdir()
  g <- gov_setup(root)
  expect_identical(bare_log(g$url), "Initialize governance repository")
  expect_identical(readLines(file.path(g$clone, "projects", ".gitkeep")), "")
  expect_match(readLines(file.path(g$clone, "README.md"))[1], "Governance Repository")
  expect_message(datom_init_gov(g$component, gov_repo_url = g$url, gov_local_path = g$clone), "already initialised")
  # nothing written to the gov store at creation
  expect_false(dir.exists(g$store_dir))
  # a second engineer adopts it by cloning
  expect_message(datom_init_gov(g$component, gov_repo_url = g$url, gov_local_path = file.path(root, "other")),
                 "initialised")
  expect_identical(bare_log(g$url), "Initialize governance repository")
  expect_error(datom_init_gov(g$component, gov_repo_url = file.path(root, "remotes", "x.git"), gov_local_path = g$clone),
               class = "datom_error_conflict")
  expect_error(datom_init_gov(g$component), class = "datom_error_input")
  expect_error(datom_init_gov(g$component, gov_repo_url = g$url, create_repo = TRUE), class = "datom_error_input")
  expect_error(datom_init_gov(list(), gov_repo_url = g$url), class = "datom_error_input")
})

test_that("a solo project attaches governance; sync_dispatch repairs the register; validate checks it", {
  root <- withr::local_tempdir()
  data <- quietly(datom_store_local(file.path(root, "data")))
  store <- datom_store(data = data, data_repo_url = file.path(root, "remotes", "pilot.git"))
  quietly(datom_init_repo(file.path(root, "pilot"), "PILOT", store))
  conn <- datom_get_conn(path = file.path(root, "pilot"), store = store)
  quietly(datom_write(conn, data.frame(x = 1:3), "t", message = "first"))
  g <- gov_setup(root)
  expect_error(datom_projects(conn), class = "datom_error_input")
  expect_error(datom_pull_gov(conn), class = "datom_error_input")

  conn2 <- quietly(datom_attach_gov(conn, g$component, gov_repo_url = g$url, gov_local_path = g$clone))
  expect_identical(conn2$gov_root, g$component$path)
  expect_identical(datom_projects(conn2)$name, "PILOT")
  expect_identical(git_log(file.path(root, "pilot"))[1], "Attach governance: PILOT")
  expect_identical(bare_log(g$url)[1], "Register project PILOT")
  rec <- jsonlite::fromJSON(file.path(root, "pilot", ".datom", "governance.json"))
  expect_identical(rec$gov_storage$type, "local")
  expect_true(file.exists(file.path(root, "data", "datom", "PILOT", ".metadata", "governance.json")))
  ref <- jsonlite::fromJSON(file.path(g$store_dir, "PILOT", "ref.json"))
  expect_identical(ref$current$root, conn$root)
  expect_length(ref$previous, 0)
  # idempotent with the same URL, refused with another
  expect_message(datom_attach_gov(conn2, g$component, gov_repo_url = g$url), "already attached")
  expect_error(datom_attach_gov(conn2, g$component, gov_repo_url = file.path(root, "remotes", "other.git")),
               class = "datom_error_conflict")
  expect_error(datom_repo_attach_governance(conn2, file.path(root, "remotes", "other.git"), g$component),
               class = "datom_error_conflict")
  # the conn rebuilt from the clone is governed, and writes pass the ref guard
  store_g <- datom_store(governance = g$component, data = data, data_repo_url = file.path(root, "remotes", "pilot.git"),
                         gov_repo_url = g$url, gov_local_path = g$clone)
  conn3 <- datom_get_conn(path = file.path(root, "pilot"), store = store_g)
  expect_false(is.null(conn3$gov_root))
  expect_no_error(quietly(datom_write(conn3, data.frame(x = 1:4), "t", message = "second")))

  # validate: the register mirror is checked, sync_dispatch restores it
  v <- quietly(datom_validate(conn3))
  expect_true(v$valid)
  expect_setequal(v$repo_files$file, c("manifest.json", "dispatch.json", "ref.json", "migration_history.json"))
  # a governance mirror replaced by other content is stale, not valid
  ref_path <- file.path(g$store_dir, "PILOT", "ref.json")
  good <- readLines(ref_path)
  writeLines(sub(conn$root, "/elsewhere", good, fixed = TRUE), ref_path)
  v <- quietly(datom_validate(conn3))
  expect_false(v$valid)
  expect_identical(v$repo_files$status[v$repo_files$file == "ref.json"], "stale_s3")
  writeLines(good, ref_path)
  unlink(file.path(g$store_dir, "PILOT"), recursive = TRUE)
  v <- quietly(datom_validate(conn3))
  expect_false(v$valid)
  expect_identical(v$repo_files$status[v$repo_files$file == "ref.json"], "missing_s3")
  expect_error(datom_sync_dispatch(conn3), class = "datom_error_input")
  res <- quietly(datom_sync_dispatch(conn3, .confirm = FALSE))
  expect_true("projects/PILOT/ref.json" %in% res$repo_files)
  expect_identical(res$tables$t$action, "synced")
  expect_true(quietly(datom_validate(conn3))$valid)
  # a register entry lost from the gov repo is re-registered by sync_dispatch
  gclone <- g$clone
  unlink(file.path(gclone, "projects", "PILOT"), recursive = TRUE)
  git(gclone, "add", "-A"); git(gclone, "commit", "-q", "-m", "oops"); git(gclone, "push", "-q", "origin", "main")
  quietly(datom_sync_dispatch(conn3, .confirm = FALSE))
  expect_identical(bare_log(g$url)[1], "Register project PILOT")
  expect_identical(datom_projects(conn3)$name, "PILOT")
})

test_that("migration local -> S3 -> S3: readers before and after, stale writers stopped", {
  root <- withr::local_tempdir()
  g <- gov_setup(root)
  old <- quietly(datom_store_local(file.path(root, "old-data")))
  url <- file.path(root, "remotes", "mig.git")
  store <- datom_store(governance = g$component, data = old, data_repo_url = url,
                       gov_repo_url = g$url, gov_local_path = g$clone)
  quietly(datom_init_repo(file.path(root, "mig"), "MIG", store))
  conn <- datom_get_conn(path = file.path(root, "mig"), store = store)
  cut <- datom_example_cutoffs()
  v1 <- quietly(datom_write(conn, datom_example_data("lb", cut[["month_1"]]), "lb"))
  v2 <- quietly(datom_write(conn, datom_example_data("lb", cut[["month_2"]]), "lb"))
  quietly(datom_write(conn, datom_example_data("dm", cut[["month_2"]]), "dm"))
  reader_old <- datom_get_conn(store = datom_store(governance = g$component, data = old), project_name = "MIG")
  before <- list(lb1 = datom_read(reader_old, "lb", v1$metadata_sha), lb2 = datom_read(reader_old, "lb"), dm = datom_read(reader_old, "dm"))

  bucket <- s3_bucket()
  s3 <- s3_component(bucket)
  expect_error(datom_repo_set_data_store(conn, store), class = "datom_error_input")
  quietly(datom_repo_set_data_store(conn, s3, sunset_days = 30))
  ref <- jsonlite::fromJSON(file.path(g$store_dir, "MIG", "ref.json"), simplifyVector = FALSE)
  expect_identical(ref$current$type, "s3")
  expect_identical(ref$current$root, bucket)
  expect_identical(ref$previous[[1]]$root, old$path)
  expect_match(ref$previous[[1]]$sunset_at, "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$")
  mh <- jsonlite::fromJSON(file.path(g$clone, "projects", "MIG", "migration_history.json"), simplifyVector = FALSE)
  expect_length(mh, 1)
  expect_identical(mh[[1]]$event_type, "data_migration")
  expect_identical(names(mh[[1]])[length(mh[[1]])], "occurred_at")
  expect_identical(bare_log(g$url)[1:2], c("Record migration for MIG: data_migration", "Update ref for MIG"))
  expect_identical(git_log(file.path(root, "mig"))[1], "Update data store: MIG")
  cfg <- readLines(file.path(root, "mig", ".datom", "project.yaml"))
  expect_true(any(grepl(paste0("root: ", bucket), cfg, fixed = TRUE)))
  # every object is on S3 now; the old copy stays until its sunset
  expect_true(length(s3_keys(bucket, "datom/MIG/")) >= 5)
  expect_true(dir.exists(file.path(old$path, "datom", "MIG")))

  # a stale developer conn is stopped at write time
  expect_error(datom_write(conn, data.frame(x = 1), "x"), class = "datom_error_conflict")
  # a reader with credentials only finds the data through ref.json (and is told it moved)
  creds <- datom_store_s3_creds("testing", "testing-secret")
  creds$endpoint <- s3_server()$endpoint
  # (credentials name no location: nothing old to warn about, issue 17)
  expect_no_warning(r_new <- datom_get_conn(store = datom_store(governance = g$component, data = creds), project_name = "MIG",
                                            endpoint = s3_server()$endpoint))
  expect_identical(r_new$root, bucket)
  expect_identical(datom_read(r_new, "lb", v1$metadata_sha), before$lb1)
  expect_identical(datom_read(r_new, "lb"), before$lb2)
  expect_identical(datom_read(r_new, "dm"), before$dm)
  # the developer rebuilds the conn with the new store and keeps writing
  store_new <- datom_store(governance = g$component, data = s3, data_repo_url = url,
                           gov_repo_url = g$url, gov_local_path = g$clone)
  # connecting to the current location is not news: no warning (issue 17)
  expect_no_warning(conn_new <- datom_get_conn(path = file.path(root, "mig"), store = store_new))
  # a developer whose store still names the old location is told where the data is now
  # (its old store is a local folder: no S3 keys, so reachability of the new
  # location cannot be verified either, a second warning)
  ws <- character()
  withCallingHandlers(quietly(datom_get_conn(path = file.path(root, "mig"), store = store, endpoint = s3_server()$endpoint)),
                      warning = function(w) { ws <<- c(ws, conditionMessage(w)); invokeRestart("muffleWarning") })
  expect_true(any(grepl(paste0("was migrated from ", old$path, " (the location your store names) to s3://", bucket,
                               "; the old location sunsets 20"), ws, fixed = TRUE)), label = paste(ws, collapse = " | "))
  v3 <- quietly(datom_write(conn_new, datom_example_data("lb", cut[["month_3"]]), "lb"))
  expect_identical(as.data.frame(datom_read(r_new, "lb")), datom_example_data("lb", cut[["month_3"]]))

  # bucket to bucket: a reader still configured for the old bucket is warned and reads the new one
  bucket2 <- s3_bucket()
  s3b <- s3_component(bucket2)
  quietly(datom_repo_set_data_store(conn_new, s3b))
  # one warning, saying where the data is now
  w <- expect_warning(r_old <- datom_get_conn(store = datom_store(governance = g$component, data = s3), project_name = "MIG"),
                      "was migrated from")
  expect_match(conditionMessage(w), paste0("from s3://", bucket, " (the location your store names) to s3://", bucket2), fixed = TRUE)
  expect_match(conditionMessage(w), paste0("This connection uses s3://", bucket2), fixed = TRUE)
  # a store naming a location the ref never recorded: the mismatch warning
  expect_warning(datom_get_conn(store = datom_store(governance = g$component, data = s3_component(s3_bucket())), project_name = "MIG"),
                 "Data has been migrated to a new location")
  expect_identical(r_old$root, bucket2)
  expect_identical(datom_read(r_old, "lb", v2$metadata_sha), before$lb2)
  ref <- jsonlite::fromJSON(file.path(g$store_dir, "MIG", "ref.json"), simplifyVector = FALSE)
  expect_identical(vapply(ref$previous, function(p) p$root, ""), c(bucket, old$path))
  expect_length(jsonlite::fromJSON(file.path(g$store_dir, "MIG", "migration_history.json"), simplifyVector = FALSE), 2)
})

test_that("an interrupted migration leaves the old location authoritative and the ref unchanged", {
  root <- withr::local_tempdir()
  g <- gov_setup(root)
  old <- quietly(datom_store_local(file.path(root, "old-data")))
  url <- file.path(root, "remotes", "int.git")
  store <- datom_store(governance = g$component, data = old, data_repo_url = url,
                       gov_repo_url = g$url, gov_local_path = g$clone)
  quietly(datom_init_repo(file.path(root, "int"), "INT", store))
  conn <- datom_get_conn(path = file.path(root, "int"), store = store)
  set.seed(1)
  for (i in c(1:4, 25)) quietly(datom_write(conn, data.frame(i = i, x = runif(20000)), sprintf("t%02d", i)))
  ref_before <- readLines(file.path(g$store_dir, "INT", "ref.json"))
  yaml_before <- readLines(file.path(root, "int", ".datom", "project.yaml"))
  gov_head <- bare_log(g$url)

  # the copy fails mid-way (a failpoint: deterministic, unlike stopping a
  # server in time), once as an error and once killing the process there
  dest <- quietly(datom_store_local(file.path(root, "new-data")))
  withr::with_envvar(c(DATOM_FAILPOINT = "migrate.copy"),
    expect_error(quietly(datom_repo_set_data_store(conn, dest)), class = "datom_error_failpoint"))
  bg <- callr::r_bg(function(path, store_args, dest_path) {
    Sys.setenv(DATOM_FAILPOINT = "migrate.copy:kill")
    st <- do.call(datom::datom_store, c(list(data = datom::datom_store_local(store_args$data)), store_args$rest))
    conn <- datom::datom_get_conn(path = path, store = st)
    datom::datom_repo_set_data_store(conn, datom::datom_store_local(dest_path))
    "completed"
  }, args = list(file.path(root, "int"),
                 list(data = file.path(root, "old-data"),
                      rest = list(governance = g$component, data_repo_url = url, gov_repo_url = g$url, gov_local_path = g$clone)),
                 file.path(root, "new-data")),
  libpath = .libPaths(), env = callr::rcmd_safe_env())
  bg$wait(180000)
  expect_identical(bg$get_exit_status(), 137L)
  # nothing moved: ref.json, project.yaml and the gov repo are as before
  expect_identical(readLines(file.path(g$store_dir, "INT", "ref.json")), ref_before)
  expect_identical(readLines(file.path(root, "int", ".datom", "project.yaml")), yaml_before)
  expect_identical(bare_log(g$url), gov_head)
  expect_identical(git(file.path(root, "int"), "status", "--porcelain"), character(0))
  # and the old location still serves every table
  conn <- datom_get_conn(path = file.path(root, "int"), store = store)
  expect_identical(nrow(datom_read(conn, "t25")), 20000L)
  expect_no_error(quietly(datom_write(conn, data.frame(i = 0L), "t00")))
})

test_that("governance refusals are classed and leave nothing behind", {
  root <- withr::local_tempdir()
  g <- gov_setup(root)
  data <- quietly(datom_store_local(file.path(root, "data")))
  store <- datom_store(governance = g$component, data = data, data_repo_url = file.path(root, "remotes", "a.git"),
                       gov_repo_url = g$url, gov_local_path = g$clone)
  quietly(datom_init_repo(file.path(root, "a"), "A", store))
  conn <- datom_get_conn(path = file.path(root, "a"), store = store)
  reader <- datom_get_conn(store = datom_store(governance = g$component, data = data), project_name = "A")
  expect_error(datom_decommission(reader, confirm = "A"), class = "datom_error_role")
  expect_error(datom_pull_gov(reader), class = "datom_error_role")
  expect_error(datom_attach_gov(reader, g$component, gov_repo_url = g$url), class = "datom_error_role")
  expect_error(datom_repo_set_data_store(reader, data), class = "datom_error_role")
  expect_error(datom_sync_dispatch(reader, .confirm = FALSE), class = "datom_error_role")
  expect_error(datom_decommission(conn), class = "datom_error_input")
  expect_error(datom_decommission(conn, confirm = "a"), class = "datom_error_input")
  expect_error(datom_repo_delete(conn, confirm = "A"), class = "datom_error_input")
  expect_error(datom_projects(42), class = "datom_error_input")
  expect_error(datom_projects(datom_store(data = data)), class = "datom_error_input")
  expect_true(dir.exists(file.path(root, "a")))
  expect_identical(datom_projects(conn)$name, "A")
  # one unreadable register entry is skipped with a warning, the others listed
  dir.create(file.path(g$clone, "projects", "BROKEN"))
  writeLines("{not json", file.path(g$clone, "projects", "BROKEN", "ref.json"))
  expect_warning(pr <- datom_projects(conn), "Skipping BROKEN")
  expect_identical(pr$name, "A")
  unlink(file.path(g$clone, "projects", "BROKEN"), recursive = TRUE)

  # governance unreachable: refused before the data repo exists
  bad <- datom_store(governance = g$component, data = data, data_repo_url = file.path(root, "remotes", "b.git"),
                     gov_repo_url = file.path(root, "remotes", "missing-gov.git"),
                     gov_local_path = file.path(root, "missing_gov_clone"))
  expect_error(quietly(datom_init_repo(file.path(root, "b"), "B", bad)), class = "datom_error")
  expect_false(dir.exists(file.path(root, "b")))
  expect_false(dir.exists(file.path(root, "remotes", "b.git")))
  expect_false(dir.exists(file.path(g$store_dir, "B")))
  # a taken name is refused before any side effect
  expect_error(datom_init_repo(file.path(root, "a2"), "A", datom_store(governance = g$component, data = data,
    data_repo_url = file.path(root, "remotes", "a2.git"), gov_repo_url = g$url, gov_local_path = g$clone)),
    class = "datom_error_conflict")
  expect_false(dir.exists(file.path(root, "a2")))
  expect_false(dir.exists(file.path(root, "remotes", "a2.git")))
  # a PAT never shows in a governed conn's print
  out <- capture.output(print(conn))
  expect_false(any(grepl("ghp_", out)))
})

test_that("decommission with a token that lacks delete_repo stops at the data repo and keeps the git record", {
  gh <- local_github_standin()
  root <- withr::local_tempdir()
  g <- gov_setup(root)
  data <- quietly(datom_store_local(file.path(root, "data")))
  store <- datom_store(governance = g$component, data = data, github_pat = github_token_noscope, github_api_url = gh$api,
                       gov_repo_url = g$url, gov_local_path = g$clone, github_org = "acme")
  quietly(datom_init_repo(file.path(root, "p"), "P", store, create_repo = TRUE, repo_name = "p-data"))
  conn <- datom_get_conn(path = file.path(root, "p"), store = store)
  quietly(datom_write(conn, data.frame(x = 1:3), "t"))
  msgs <- character()
  e <- expect_error(withCallingHandlers(datom_decommission(conn, confirm = "P"),
                      message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") }),
                    class = "datom_error_permission")
  expect_match(conditionMessage(e), "delete_repo")
  expect_match(conditionMessage(e), "Not done: delete the data repository; remove the local data clone")
  # the facts of the cause travel as condition fields
  expect_identical(e$status, 403L)
  expect_identical(e$scope, "delete_repo")
  expect_true(any(grepl("Unregistered P from governance", msgs)))
  expect_true(any(grepl("Removed gov storage entry projects/P/", msgs)))
  expect_false(any(grepl("Removed local data clone", msgs)))
  # the git record goes last: the clone is kept when the repo could not be deleted
  expect_true(dir.exists(file.path(root, "p")))
  expect_false(dir.exists(file.path(root, "data", "datom", "P")))
  expect_false(dir.exists(file.path(g$store_dir, "P")))
  # the repository is still on the host (the token could not delete it)
  res <- datom:::rs_github_ensure_repo(gh$api, github_token, "acme", "p-data", TRUE)
  expect_s3_class(res, "datom_engine_error")
  expect_match(res$message, "already exists and has content")
})

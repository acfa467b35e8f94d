# Git is the record, the store its publication: crash consistency,
# resumable writes, content validation, monotonic publication, one writer
# per clone, user files never touched (issue 12).

reader_of <- function(p) datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")

problems_of <- function(v, severity = "error") {
  pr <- v$problems
  sort(unique(pr$kind[pr$severity == severity]))
}

store_key_path <- function(p, key) file.path(p$ns, key)

test_that("a write whose object upload failed after the push is finished by re-running it", {
  p <- local_project()
  dm1 <- datom_example_data("dm", "2026-01-28")
  w1 <- quietly(datom_write(p$conn, dm1, "dm"))
  # the object vanishes (the old failure: upload after push never happened)
  obj <- store_key_path(p, file.path("dm", paste0(w1$data_sha, ".parquet")))
  expect_true(file.remove(obj))
  v <- quietly(datom_validate(p$conn))
  expect_false(v$valid)
  expect_identical(problems_of(v), "missing_object")
  miss <- v$problems[v$problems$kind == "missing_object", ]
  expect_identical(miss$table, "dm")
  expect_identical(miss$version, w1$metadata_sha)
  expect_match(miss$repair, "Re-run the datom_write(conn, <data>, \"dm\")", fixed = TRUE)
  # fix = TRUE cannot invent data: it says so
  v2 <- quietly(datom_validate(p$conn, fix = TRUE))
  expect_false(v2$fixed)
  expect_false(v2$valid)
  expect_false(file.exists(obj))
  # re-running the same write uploads it
  expect_message(w <- datom_write(p$conn, dm1, "dm"), "Completed the interrupted write")
  expect_identical(w$action, "none")
  expect_true("object" %in% w$completed)
  expect_true(file.exists(obj))
  expect_true(quietly(datom_validate(p$conn, deep = TRUE))$valid)
  expect_identical(as.data.frame(datom_read(reader_of(p), "dm")), dm1)
})

test_that("validate compares content: older mirrors are found and fixed", {
  p <- local_project()
  cut <- datom_example_cutoffs()
  quietly(datom_write(p$conn, datom_example_data("lb", cut[["month_1"]]), "lb"))
  old_hist <- readBin(store_key_path(p, "lb/.metadata/version_history.json"), "raw", 1e6)
  old_man <- readBin(store_key_path(p, ".metadata/manifest.json"), "raw", 1e6)
  old_meta <- readBin(store_key_path(p, "lb/.metadata/metadata.json"), "raw", 1e6)
  lb2 <- datom_example_data("lb", cut[["month_2"]])
  w2 <- quietly(datom_write(p$conn, lb2, "lb"))
  expect_true(quietly(datom_validate(p$conn))$valid)
  writeBin(old_hist, store_key_path(p, "lb/.metadata/version_history.json"))
  writeBin(old_man, store_key_path(p, ".metadata/manifest.json"))
  v <- quietly(datom_validate(p$conn))
  expect_false(v$valid)
  expect_identical(problems_of(v), "stale_mirror")
  expect_identical(v$tables$status[v$tables$table == "lb"], "stale_mirror")
  writeBin(old_meta, store_key_path(p, "lb/.metadata/metadata.json"))
  v <- quietly(datom_validate(p$conn))
  expect_true("unpublished_version" %in% problems_of(v))
  expect_identical(v$problems$version[v$problems$kind == "unpublished_version"], w2$metadata_sha)
  v <- quietly(datom_validate(p$conn, fix = TRUE))
  expect_true(v$fixed)
  expect_true(quietly(datom_validate(p$conn))$valid)
  expect_identical(as.data.frame(datom_read(reader_of(p), "lb")), lb2)
})

test_that("a clone that is behind origin never publishes its older state", {
  p <- local_project()
  cut <- datom_example_cutoffs()
  quietly(datom_write(p$conn, datom_example_data("lb", cut[["month_1"]]), "lb"))
  bea <- quietly(datom_clone(file.path(p$root, "bea"), p$store))
  lb2 <- datom_example_data("lb", cut[["month_2"]])
  quietly(datom_write(p$conn, lb2, "lb"))
  # bea is one commit behind and re-publishes everything
  msgs <- character()
  withCallingHandlers(datom_sync_dispatch(bea, .confirm = FALSE), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage")
  })
  expect_true(any(grepl("1 commit behind origin", msgs)))
  expect_identical(as.data.frame(datom_read(reader_of(p), "lb")), lb2)
  v <- quietly(datom_validate(bea, fix = TRUE))
  expect_true(v$valid)
  expect_identical(problems_of(v, "info"), "clone_behind")
  expect_identical(as.data.frame(datom_read(reader_of(p), "lb")), lb2)
  # a re-sync of one table from a stale clone publishes origin's head too
  quietly(datom_write(bea, name = "lb"))
  expect_identical(as.data.frame(datom_read(reader_of(p), "lb")), lb2)
})

test_that("a rejected push never touches the user's files; datom's own files edited are refused first", {
  p <- local_project()
  quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))
  bea <- quietly(datom_clone(file.path(p$root, "bea"), p$store))
  quietly(datom_write(p$conn, datom_example_data("ae"), "ae"))
  readme <- file.path(bea$path, "README.md")
  cat("my notes\n", file = readme, append = TRUE)
  before <- readLines(readme)
  writeLines("scratch", file.path(bea$path, "scratch.R"))
  head_before <- git(bea$path, "rev-parse", "HEAD")
  expect_error(datom_write(bea, datom_example_data("ex"), "ex"), class = "datom_error_push_rejected")
  expect_identical(readLines(readme), before)
  expect_true(file.exists(file.path(bea$path, "scratch.R")))
  expect_identical(git(bea$path, "rev-parse", "HEAD"), head_before)
  expect_false(dir.exists(file.path(bea$path, "ex")))
  expect_identical(sort(git(bea$path, "status", "--porcelain")), sort(c(" M README.md", "?? scratch.R")))
  # an edit of datom's own file: refused before anything happens
  quietly(datom_pull(bea))
  meta <- file.path(bea$path, "dm", "metadata.json")
  cat(" ", file = meta, append = TRUE)
  n_hist <- nrow(datom_history(reader_of(p), "dm"))
  err <- expect_error(datom_write(bea, datom_example_data("dm", "2026-02-28"), "dm"), class = "datom_error_conflict")
  expect_match(conditionMessage(err), "dm/metadata.json", fixed = TRUE)
  expect_identical(nrow(datom_history(reader_of(p), "dm")), n_hist)
  v <- quietly(datom_validate(bea))
  expect_identical(problems_of(v), "uncommitted_change")
  git(bea$path, "checkout", "--", "dm/metadata.json")
  expect_identical(quietly(datom_write(bea, datom_example_data("dm", "2026-02-28"), "dm"))$action, "full")
})

test_that("six processes writing six tables through one clone keep all six", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  p <- local_project()
  worker <- function(path, store, t) {
    library(datom)
    options(datom.quiet = TRUE)
    conn <- datom_get_conn(path = path, store = store)
    datom_write(conn, data.frame(t = t, x = 1:3), t)$action
  }
  tabs <- paste0("t", 1:6)
  procs <- lapply(tabs, function(t) callr::r_bg(worker, list(p$clone, p$store, t), libpath = .libPaths()))
  for (pr in procs) pr$wait(300000)
  res <- vapply(procs, function(pr) pr$get_result(), "")
  expect_identical(res, rep("full", 6))
  expect_identical(datom_list(reader_of(p))$name, tabs)
  expect_true(quietly(datom_validate(p$conn))$valid)
  expect_identical(git(p$clone, "status", "--porcelain"), character(0))
})

test_that("the clone lock: a second writer waits, then gets datom_error_busy; a dead holder's lock is broken", {
  p <- local_project()
  lock <- file.path(p$clone, ".git", "datom.lock")
  host <- trimws(readLines("/proc/sys/kernel/hostname", warn = FALSE))
  writeLines(sprintf('{"token":"x","pid":%d,"host":"%s","acquired_at":%d}', Sys.getpid(), host, as.integer(Sys.time())), lock)
  withr::local_envvar(DATOM_LOCK_WAIT = "0.3")
  expect_error(datom_write(p$conn, datom_example_data("dm"), "dm"), class = "datom_error_busy")
  expect_false(dir.exists(file.path(p$clone, "dm")))
  # a holder that no longer runs
  dead <- callr::r(function() Sys.getpid())
  writeLines(sprintf('{"token":"x","pid":%d,"host":"%s","acquired_at":%d}', dead, host, as.integer(Sys.time())), lock)
  expect_identical(quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))$action, "full")
  expect_false(file.exists(lock))
})

test_that("two clones racing with slow publications leave the store equal to origin's head", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  p <- local_project()
  quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))
  bea_path <- file.path(p$root, "bea")
  quietly(datom_clone(bea_path, p$store))
  worker <- function(path, store, who, n, slow) {
    library(datom)
    options(datom.quiet = TRUE)
    Sys.setenv(DATOM_FAILPOINT = slow)
    conn <- datom_get_conn(path = path, store = store)
    for (i in seq_len(n)) {
      repeat {
        r <- tryCatch(datom_write(conn, data.frame(who = who, i = i), "shared"), datom_error_push_rejected = function(e) NULL)
        if (!is.null(r)) break
        datom_pull(conn)
      }
    }
    TRUE
  }
  a <- callr::r_bg(worker, list(p$clone, p$store, "me", 6L, "publish.table:sleep=150"), libpath = .libPaths())
  b <- callr::r_bg(worker, list(bea_path, p$store, "bea", 6L, "write.checkout:sleep=100"), libpath = .libPaths())
  a$wait(300000); b$wait(300000)
  expect_true(a$get_result()); expect_true(b$get_result())
  quietly(datom_pull(p$conn))
  v <- quietly(datom_validate(p$conn))
  expect_true(v$valid)
  expect_identical(problems_of(v), character(0))
  expect_identical(nrow(datom_history(reader_of(p), "shared", n = 100)), 12L)
  cur <- jsonlite::fromJSON(file.path(p$clone, "shared", "metadata.json"))
  l <- datom_list(reader_of(p))
  expect_true(startsWith(cur$data_sha, l$current_data_sha[l$name == "shared"]))
})

test_that("after a migration, a clone that pulled refuses to write to the old store", {
  p <- local_project()
  quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))
  bea <- quietly(datom_clone(file.path(p$root, "bea"), p$store))
  new <- datom_store_local(file.path(p$root, "new-store"))
  quietly(datom_repo_set_data_store(p$conn, new))
  old_objects <- sort(list.files(p$ns, recursive = TRUE, all.files = TRUE))
  quietly(datom_pull(bea))
  err <- expect_error(datom_write(bea, datom_example_data("ae"), "ae"), class = "datom_error_conflict")
  expect_match(conditionMessage(err), "Data location changed|moved to")
  expect_match(conditionMessage(err), "new-store", fixed = TRUE)
  expect_identical(sort(list.files(p$ns, recursive = TRUE, all.files = TRUE)), old_objects)
  # a connection to the new store writes there
  conn_new <- datom_get_conn(path = file.path(p$root, "bea"),
    store = datom_store(data = new, data_repo_url = p$store$data_repo_url))
  expect_identical(quietly(datom_write(conn_new, datom_example_data("ae"), "ae"))$action, "full")
  expect_true(quietly(datom_validate(conn_new))$valid)
})

test_that("validate names each problem once: a missing manifest mirror, a missing governance mirror", {
  g <- local_governed_project("V1")
  root <- g$root
  conn <- g$conn
  mf <- list.files(file.path(root, "store"), pattern = "^manifest\\.json$", recursive = TRUE, full.names = TRUE, all.files = TRUE)
  expect_length(mf, 1L)
  unlink(mf)
  msgs <- testthat::capture_messages(v <- datom_validate(conn))
  expect_false(v$valid)
  expect_true(any(grepl("Found 1 issue: 1 repo-level, 0 table-level", msgs, fixed = TRUE)))
  expect_identical(sum(v$problems$kind == "missing_mirror"), 1L)
  quietly(datom_validate(conn, fix = TRUE))
  dp <- list.files(file.path(root, "gov"), pattern = "^dispatch\\.json$", recursive = TRUE, full.names = TRUE)
  expect_length(dp, 1L)
  unlink(dp)
  msgs <- paste(testthat::capture_messages(v <- datom_validate(conn)), collapse = "")
  expect_false(v$valid)
  expect_match(msgs, "Found 1 issue", fixed = TRUE)
  expect_match(msgs, "dispatch.json is missing from the governance store", fixed = TRUE)
  expect_match(msgs, "datom_sync_dispatch(conn, .confirm = FALSE)", fixed = TRUE)
  quietly(datom_sync_dispatch(conn, .confirm = FALSE))
  expect_true(quietly(datom_validate(conn))$valid)
})

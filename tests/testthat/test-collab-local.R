# A second engineer joins (local bare remote, the offline default).

test_that("datom_clone gives a second engineer a working developer conn", {
  p <- local_project()
  quietly(datom_write(p$conn, datom_example_data("dm", "2026-01-28"), "dm"))
  expect_error(datom_clone(p$clone, p$store), class = "datom_error_conflict")
  expect_message(bea <- datom_clone(file.path(p$root, "bea"), p$store), "Cloned")
  expect_s3_class(bea, "datom_conn")
  expect_identical(bea$role, "developer")
  expect_identical(bea$project_name, "STUDY_001")
  expect_identical(datom_list(bea), datom_list(p$conn))
  expect_true(dir.exists(file.path(p$root, "bea", "input_files")))
  expect_true(is_valid_datom_repo(file.path(p$root, "bea"), checks = c("git", "datom")))
  expect_false(is_valid_datom_repo(file.path(p$root, "bea")))
  expect_false(is_valid_datom_repo(file.path(p$root, "nowhere"), checks = "datom"))
  expect_error(datom_clone(file.path(p$root, "x"), datom_store(data = p$store$data)), class = "datom_error_role")
  expect_error(datom_pull(datom_get_conn(store = p$store, project_name = "STUDY_001")), class = "datom_error_role")
})

test_that("the second-engineer article: reject, pull, retry", {
  p <- local_project()
  cut <- datom_example_cutoffs()
  for (t in c("dm", "ex", "lb", "ae")) quietly(datom_write(p$conn, datom_example_data(t, cut[["month_3"]]), t))
  bea <- quietly(datom_clone(file.path(p$root, "bea"), p$store))
  lb_m4 <- datom_example_data("lb", cut[["month_4"]])
  ae_m4 <- datom_example_data("ae", cut[["month_4"]])
  expect_message(datom_write(p$conn, lb_m4, "lb", message = "lb extract through 2026-04-28"), "Wrote \"lb\" \\(full\\)")
  err <- expect_error(datom_write(bea, ae_m4, "ae", message = "ae extract through 2026-04-28"),
                      class = "datom_error_push_rejected")
  expect_match(conditionMessage(err), "Failed to push to origin/main: rejected (non-fast-forward)", fixed = TRUE)
  expect_match(conditionMessage(err), "Run datom_pull(conn) to incorporate origin's changes, then retry the write.", fixed = TRUE)
  msgs <- character()
  res <- withCallingHandlers(datom_pull(bea), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage")
  })
  expect_match(msgs[1], "Fetching from origin...")
  expect_match(msgs[2], "1 commit pulled.")
  expect_match(msgs[3], "Manifest updated: lb -> new version")
  expect_identical(res$commits_pulled, 1L)
  expect_identical(res$tables_updated, "lb")
  expect_message(w <- datom_write(bea, ae_m4, "ae", message = "ae extract through 2026-04-28"), "Wrote \"ae\" \\(full\\)")
  quietly(datom_pull(p$conn))
  expect_identical(datom_list(p$conn), datom_list(bea))
  # same table: the retry becomes the next version, in push order
  lb_m5 <- datom_example_data("lb", cut[["month_5"]])
  lb_bea <- lb_m4; lb_bea$LBORRES[1] <- lb_bea$LBORRES[1] + 1
  w_me <- quietly(datom_write(p$conn, lb_m5, "lb"))
  expect_error(datom_write(bea, lb_bea, "lb"), class = "datom_error_push_rejected")
  quietly(datom_pull(bea))
  w_bea <- quietly(datom_write(bea, lb_bea, "lb"))
  h <- datom_history(bea, "lb")
  expect_identical(h$version[1:2], c(w_bea$metadata_sha, w_me$metadata_sha))
  expect_identical(as.data.frame(datom_read(p$conn, "lb")), lb_bea)
})

test_that("status, summary, validate and repair", {
  p <- local_project()
  quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))
  quietly(datom_write(p$conn, datom_example_data("ae"), "ae"))
  st <- quietly(datom_status(p$conn))
  expect_identical(st$tables$count, 2L)
  expect_identical(st$git$uncommitted, character(0))
  expect_identical(st$git$branch, "main")
  expect_identical(st$input_files$n_total, 0L)
  writeLines("x", file.path(p$clone, "notes.md"))
  file.copy(system.file("extdata", "dm.csv", package = "datom"), file.path(p$clone, "input_files", "dm.csv"))
  st <- quietly(datom_status(p$conn))
  expect_identical(st$git$uncommitted, "notes.md")
  # classified as datom_sync_manifest() does: dm is a table already, so
  # dm.csv is "changed" (datom_status() used to count it as new)
  expect_identical(st$input_files[c("n_total", "n_new", "n_changed")], list(n_total = 1L, n_new = 0L, n_changed = 1L))
  expect_identical(quietly(datom_sync_manifest(p$conn))$status, "changed")
  writeLines("x", file.path(p$clone, "input_files", "notes.md"))
  expect_identical(quietly(datom_status(p$conn))$input_files$n_unsupported, 1L)
  s <- datom_summary(p$conn)
  expect_s3_class(s, "datom_summary")
  expect_identical(s$table_count, 2L)
  expect_identical(s$total_versions, 2L)
  out <- paste(capture.output(print(s)), collapse = "\n")
  expect_match(out, "Tables: 2 \\(2 versions total\\)")
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_match(paste(capture.output(print(datom_summary(reader))), collapse = "\n"), "not visible to readers")

  v <- quietly(datom_validate(p$conn))
  expect_true(v$valid)
  unlink(file.path(p$ns, "ae", ".metadata", "metadata.json"))
  unlink(file.path(p$ns, ".metadata", "manifest.json"))
  v <- quietly(datom_validate(p$conn))
  expect_false(v$valid)
  expect_identical(v$repo_files$status, "missing_s3")
  expect_identical(v$tables$status[v$tables$table == "ae"], "metadata_missing_s3")
  v <- quietly(datom_validate(p$conn, fix = TRUE))
  expect_true(v$fixed)
  expect_true(quietly(datom_validate(p$conn))$valid)
  expect_identical(nrow(datom_read(p$conn, "ae")), 84L)
  # a missing parquet is reported and stays reported
  unlink(list.files(file.path(p$ns, "dm"), pattern = "parquet$", full.names = TRUE))
  v <- quietly(datom_validate(p$conn, fix = TRUE))
  expect_identical(v$tables$status[v$tables$table == "dm"], "data_missing_s3")
  expect_false(quietly(datom_validate(p$conn))$valid)
})

test_that("single-table metadata re-sync publishes the clone's metadata", {
  p <- local_project()
  w <- quietly(datom_write(p$conn, datom_example_data("ex"), "ex"))
  expect_message(r <- datom_write(p$conn, name = "ex"), "No metadata changes")
  expect_identical(r$action, "none")
  unlink(file.path(p$ns, "ex", ".metadata", "metadata.json"))
  expect_message(r <- datom_write(p$conn, name = "ex"), "Synced metadata")
  expect_identical(r$metadata_sha, w$metadata_sha)
  expect_true(file.exists(file.path(p$ns, "ex", ".metadata", "metadata.json")))
  expect_error(datom_write(p$conn, name = "nope"), class = "datom_error_not_found")
  expect_error(datom_write(p$conn), class = "datom_error_input")
})

test_that("a race of two processes loses no successful write", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  p <- local_project()
  bea_path <- file.path(p$root, "bea")
  quietly(datom_clone(bea_path, p$store))
  worker <- function(path, store, who, n) {
    library(datom)
    options(datom.quiet = TRUE)
    conn <- datom_get_conn(path = path, store = store)
    done <- character()
    rejected <- 0L
    for (i in seq_len(n)) {
      for (t in c(paste0("own_", who), "shared")) {
        repeat {
          r <- tryCatch(datom_write(conn, data.frame(who = who, i = i, t = t), t),
                        datom_error_push_rejected = function(e) NULL)
          if (!is.null(r)) break
          rejected <- rejected + 1L
          datom_pull(conn)
        }
        done <- c(done, paste(t, r$metadata_sha))
      }
    }
    list(done = done, rejected = rejected)
  }
  a <- callr::r_bg(worker, list(p$clone, p$store, "me", 20L), libpath = .libPaths())
  b <- callr::r_bg(worker, list(bea_path, p$store, "bea", 20L), libpath = .libPaths())
  a$wait(120000); b$wait(120000)
  ra <- a$get_result(); rb <- b$get_result()
  expect_length(ra$done, 40L)
  expect_length(rb$done, 40L)
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  for (entry in c(ra$done, rb$done)) {
    parts <- strsplit(entry, " ")[[1]]
    h <- datom_history(reader, parts[1], n = 1000)
    expect_true(parts[2] %in% h$version, info = entry)
    expect_s3_class(datom_read(reader, parts[1], version = parts[2]), "data.frame")
  }
  expect_identical(nrow(datom_history(reader, "shared", n = 1000)), 40L)
  expect_gt(ra$rejected + rb$rejected, 0L)
})

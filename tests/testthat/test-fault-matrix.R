# Every step of a write can fail (an error, or the process killed there):
# the reader still reads a version, datom_validate() names what is left
# undone, and the documented repair (re-running the same write) completes
# it. On the local store and on S3.

# Steps before the push leave the record unchanged; after it, a version
# exists in git that the store has not (fully) published.
fault_steps <- c("write.commit", "write.push", "write.checkout", "write.upload",
                 "publish.table", "publish.manifest", "publish.marker")

# What validate reports after a failure at `step` (errors only).
expected_problems <- function(step, mode) {
  stale <- c("missing_mirror", "stale_mirror", "unpublished_version")
  switch(step,
    write.commit = if (mode == "kill") "unpushed_commit" else character(0),
    # pushed, the object not uploaded yet: git names a version the store lacks
    write.push = , write.checkout = sort(c("missing_object", stale)),
    write.upload = , publish.table = stale,
    publish.manifest = "stale_mirror",
    publish.marker = character(0))
}

store_spec <- function(p) {
  if (is.null(p$bucket)) list(path = file.path(p$root, "store"), url = file.path(p$root, "remotes", "STUDY_001.git"))
  else list(bucket = p$bucket, endpoint = s3_server()$endpoint, url = file.path(p$root, "remotes", "STUDY_001.git"))
}

run_fault_case <- function(make_project, step, mode) {
  p <- make_project()
  cut <- datom_example_cutoffs()
  d1 <- datom_example_data("lb", cut[["month_1"]])
  d2 <- datom_example_data("lb", cut[["month_2"]])
  w1 <- quietly(datom_write(p$conn, d1, "lb"))
  if (mode == "error") {
    withr::with_envvar(c(DATOM_FAILPOINT = step),
      expect_error(datom_write(p$conn, d2, "lb"), class = "datom_error_failpoint"))
  } else {
    # secrets are engine-held handles that do not cross processes: the
    # child builds its own store from the same settings
    bg <- callr::r_bg(function(path, spec, d2, fp) {
      Sys.setenv(DATOM_FAILPOINT = fp)
      library(datom)
      options(datom.quiet = TRUE)
      data <- if (is.null(spec$bucket)) datom_store_local(spec$path) else
        datom_store_s3(spec$bucket, region = "us-east-1", access_key = "testing", secret_key = "testing-secret",
                       endpoint = spec$endpoint, validate = FALSE)
      store <- datom_store(data = data, data_repo_url = spec$url, validate = FALSE)
      datom_write(datom_get_conn(path = path, store = store), d2, "lb")
      "finished"
    }, list(p$clone, store_spec(p), d2, paste0(step, ":kill")), libpath = .libPaths())
    bg$wait(120000)
    expect_false(bg$is_alive())
    expect_identical(bg$get_exit_status(), 137L, info = step)
  }
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  # no reader ever gets a version it cannot read
  got <- as.data.frame(datom_read(reader, "lb"))
  expect_true(identical(got, d1) || identical(got, d2), info = paste(step, mode))
  for (v in datom_history(reader, "lb")$version) {
    expect_s3_class(datom_read(reader, "lb", version = v), "data.frame")
  }
  v <- quietly(datom_validate(p$conn))
  errs <- sort(unique(v$problems$kind[v$problems$severity == "error"]))
  expect_identical(errs, expected_problems(step, mode), info = paste(step, mode))
  expect_identical(v$valid, length(errs) == 0L, info = paste(step, mode))
  # the documented repair: re-run the same write
  w2 <- quietly(datom_write(p$conn, d2, "lb"))
  v <- quietly(datom_validate(p$conn, deep = TRUE))
  expect_true(v$valid, info = paste(step, mode))
  expect_identical(as.data.frame(datom_read(reader, "lb")), d2)
  h <- datom_history(reader, "lb")
  expect_identical(h$version, c(w2$metadata_sha, w1$metadata_sha), info = paste(step, mode))
  expect_identical(git(p$clone, "status", "--porcelain"), character(0), info = paste(step, mode))
}

test_that("fault matrix: every write step, error and kill, local store", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  e <- environment()
  for (step in fault_steps) for (mode in c("error", "kill")) {
    run_fault_case(function() local_project(env = e), step, mode)
  }
})

test_that("fault matrix: every write step, error and kill, S3", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  e <- environment()
  for (step in fault_steps) for (mode in c("error", "kill")) {
    run_fault_case(function() s3_project(env = e), step, mode)
  }
})

test_that("every failpoint of the engine is in a matrix", {
  # the write steps here, the other flows' in test-fault-matrix-flows.R
  expect_identical(c(fault_steps, flow_fault_steps), datom:::rs_failpoint_steps())
})

# A real network drops connections. Through a loopback proxy that cuts
# connections after a random number of request bytes, every write
# completes (directly or by re-running it), the R session stays usable, and
# a reader reads every table.

start_flaky_proxy <- function(target_port, every = 1, seed = 42, env = parent.frame()) {
  py <- python_bin()
  script <- system.file("tools", "flaky-proxy.py", package = "datom")
  need_component(nzchar(script), "flaky-proxy.py")
  log <- tempfile("proxy-", fileext = ".log")
  proc <- processx::process$new(py, c(script, "--target", target_port, "--every", every, "--seed", seed,
                                      "--max-seconds", 900, "--max-bytes", "400000"),
    env = c("current", LD_LIBRARY_PATH = ""), stdout = "|", stderr = log, cleanup = TRUE)
  withr::defer(try(proc$kill(), silent = TRUE), envir = env)
  port <- NULL
  deadline <- Sys.time() + 30
  while (is.null(port)) {
    proc$poll_io(500)
    ready <- grep("^READY ", proc$read_output_lines(), value = TRUE)
    if (length(ready)) port <- as.integer(sub("^READY ", "", ready[1]))
    if (is.null(port) && (!proc$is_alive() || Sys.time() > deadline)) {
      stop("flaky proxy did not start: ", paste(readLines(log), collapse = "\n"))
    }
  }
  list(proc = proc, endpoint = sprintf("http://127.0.0.1:%d", port))
}

test_that("writes through a connection-cutting proxy complete and readers read every table", {
  srv <- s3_server()
  proxy <- start_flaky_proxy(srv$port)
  root <- withr::local_tempdir("datom-flaky-")
  bucket <- s3_bucket()
  comp <- datom_store_s3(bucket, region = "us-east-1", access_key = "testing", secret_key = "testing-secret",
                         endpoint = proxy$endpoint, validate = FALSE)
  store <- datom_store(data = comp, data_repo_url = file.path(root, "remote.git"), validate = FALSE)
  clone <- file.path(root, "clone")
  init <- NULL
  for (attempt in 1:5) {
    init <- tryCatch(quietly(datom_init_repo(clone, "FLAKY", store)), datom_error = function(e) e)
    if (!inherits(init, "datom_error")) break
  }
  expect_false(inherits(init, "datom_error"))
  conn <- datom_get_conn(path = clone, store = store)

  set.seed(11)
  tables <- lapply(1:12, function(i) data.frame(id = seq_len(20000), x = runif(20000), g = sample(letters, 20000, TRUE)))
  names(tables) <- sprintf("t%02d", 1:12)
  failures <- character()
  for (nm in names(tables)) {
    done <- FALSE
    for (attempt in 1:6) {
      res <- tryCatch(quietly(datom_write(conn, tables[[nm]], nm)), datom_error = function(e) e)
      if (!inherits(res, "datom_error")) { done <- TRUE; break }
      # a dropped connection is a classed storage/network error, never internal
      expect_false(inherits(res, "datom_error_internal"), info = conditionMessage(res))
      failures <- c(failures, class(res)[1])
    }
    expect_true(done, info = nm)
  }
  # the proxy really cut connections
  cuts <- grep("^CUT ", proxy$proc$read_output_lines(), value = TRUE)
  expect_gt(length(cuts), 0)
  if (nzchar(Sys.getenv("DATOM_TEST_VERBOSE"))) message(length(cuts), " cuts, failed attempts: ", paste(failures, collapse = " "))

  # everything is published: a reader straight from the store (no proxy)
  reader <- datom_get_conn(store = datom_store(data = s3_component(bucket), validate = FALSE), project_name = "FLAKY")
  expect_setequal(datom_list(reader)$name, names(tables))
  for (nm in names(tables)) expect_identical(as.data.frame(datom_read(reader, nm)), tables[[nm]])
  # and the developer's view agrees
  v <- quietly(datom_validate(conn))
  expect_true(v$valid)
})

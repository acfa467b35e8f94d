# R stays responsive to interrupts during long network calls: a request to a
# server that accepts but never answers is cancelled by Ctrl-C (SIGINT) well
# before its 60 s timeout, with a classed condition.

test_that("an interrupt cancels a hanging transfer", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  port <- free_port()
  srv <- serverSocket(port)
  on.exit(close(srv), add = TRUE)
  p <- callr::r_bg(function(port) {
    library(datom)
    tryCatch(datom_store(data = datom_store_local(tempdir()), github_pat = "ghp_x",
                         github_api_url = sprintf("http://127.0.0.1:%d", port)),
             error = function(e) class(e), interrupt = function(i) "R interrupt")
  }, list(port = port), libpath = .libPaths())
  Sys.sleep(3)
  expect_true(p$is_alive())
  p$interrupt()
  t0 <- Sys.time()
  p$wait(30000)
  expect_false(p$is_alive())
  expect_lt(as.numeric(difftime(Sys.time(), t0, units = "secs")), 15)
  expect_true("datom_error_interrupted" %in% p$get_result())
})

# A git host that accepts the TCP connection and never answers must not hang
# datom: every network git operation gives up after DATOM_GIT_TIMEOUT seconds
# with a network error, and Ctrl-C cancels it with an interrupted error.
# The host is a real server (a child R process); no timing is asserted, only
# that each call returns with its class.

# A server in a child R process that accepts connections, reports each one
# on stdout ("ACCEPT") and holds it open without ever answering.
stalling_git_server <- function(env = parent.frame()) {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  port <- free_port()
  proc <- callr::r_bg(function(port) {
    srv <- serverSocket(port)
    cat("READY\n")
    flush(stdout())
    held <- list()
    repeat {
      con <- tryCatch(socketAccept(srv, blocking = TRUE, open = "r+b", timeout = 3600), error = function(e) NULL)
      if (!is.null(con)) {
        held[[length(held) + 1L]] <- con
        cat("ACCEPT\n")
        flush(stdout())
      }
    }
  }, list(port = port), stdout = "|", stderr = "|")
  withr::defer(try(proc$kill(), silent = TRUE), envir = env)
  state <- new.env()
  state$accepted <- 0L
  read <- function(wait = 0) {
    if (wait > 0) proc$poll_io(wait)
    lines <- proc$read_output_lines()
    state$accepted <- state$accepted + sum(lines == "ACCEPT")
    any(lines == "READY")
  }
  deadline <- Sys.time() + 300
  while (!read(500)) {
    if (!proc$is_alive() || Sys.time() > deadline) stop("stalling server did not start: ", paste(proc$read_error_lines(), collapse = "\n"))
  }
  list(proc = proc, url = sprintf("http://127.0.0.1:%d/STUDY_001.git", port),
       accepted = function() { read(); state$accepted })
}

clone_leftovers <- function(dir) list.files(dir, pattern = "datom-clone", all.files = TRUE, no.. = TRUE)

test_that("a clone from a git host that never answers ends with a network error", {
  srv <- stalling_git_server()
  withr::local_envvar(DATOM_GIT_TIMEOUT = "2")
  root <- withr::local_tempdir("datom-stall-")
  store <- quietly(datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = srv$url,
                               github_pat = "ghp_secret0001", validate = FALSE))
  target <- file.path(root, "clone")
  e <- tryCatch(datom_clone(target, store), error = function(e) e)
  expect_s3_class(e, "datom_error_network")
  expect_match(conditionMessage(e), "timed out", fixed = TRUE)
  expect_match(conditionMessage(e), "127.0.0.1", fixed = TRUE)
  expect_false(grepl("ghp_secret0001", conditionMessage(e), fixed = TRUE))
  expect_gte(srv$accepted(), 1)
  # nothing is left: no clone, no staging directory
  expect_false(dir.exists(target))
  expect_length(clone_leftovers(root), 0)

  # an existing empty target stays as it was
  dir.create(target)
  e <- tryCatch(datom_clone(target, store), error = function(e) e)
  expect_s3_class(e, "datom_error_network")
  expect_true(dir.exists(target))
  expect_length(list.files(target, all.files = TRUE, no.. = TRUE), 0)
  expect_length(clone_leftovers(root), 0)
})

test_that("pull and write against a git host that never answers end with a network error", {
  srv <- stalling_git_server()
  p <- local_project()
  git(p$clone, "remote", "set-url", "origin", srv$url)
  withr::local_envvar(DATOM_GIT_TIMEOUT = "2")
  head <- git(p$clone, "rev-parse", "HEAD")

  e <- tryCatch(quietly(datom_pull(p$conn)), error = function(e) e)
  expect_s3_class(e, "datom_error_network")
  expect_match(conditionMessage(e), "origin", fixed = TRUE)

  e <- tryCatch(quietly(datom_write(p$conn, data.frame(id = 1:3, x = c(1.5, 2.5, 3.5)), "lb")), error = function(e) e)
  expect_s3_class(e, "datom_error_network")
  # the write changed nothing: same commit, no table
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head)
  expect_false(dir.exists(file.path(p$clone, "lb")))
  expect_gte(srv$accepted(), 2)
})

test_that("Ctrl-C cancels a clone from a git host that never answers", {
  srv <- stalling_git_server()
  root <- withr::local_tempdir("datom-stall-int-")
  target <- file.path(root, "clone")
  # a timeout far beyond the test: only the interrupt can end the clone
  p <- callr::r_bg(function(url, root, target) {
    library(datom)
    Sys.setenv(DATOM_GIT_TIMEOUT = "3600")
    store <- datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = url, validate = FALSE)
    tryCatch(datom_clone(target, store), error = function(e) class(e), interrupt = function(i) "R interrupt")
  }, list(url = srv$url, root = root, target = target), libpath = .libPaths())
  withr::defer(try(p$kill(), silent = TRUE))
  # wait until the clone reached the server (the deadline only guards
  # against a hang)
  wait_until(function() srv$accepted() >= 1, p$is_alive)
  expect_gte(srv$accepted(), 1)
  expect_true(p$is_alive())
  tools::pskill(p$get_pid(), tools::SIGINT)
  # (a safety net only: without the interrupt the child would wait an hour)
  p$wait(300000)
  expect_false(p$is_alive())
  res <- p$get_result()
  expect_true("datom_error_interrupted" %in% res, info = paste(res, collapse = " "))
  expect_false(dir.exists(target))
  expect_length(clone_leftovers(root), 0)
})

test_that("Ctrl-C cancels a pull from a git host that never answers", {
  srv <- stalling_git_server()
  p <- local_project()
  # (the conn is built while origin is reachable: connecting checks the remote)
  conn <- p$conn
  git(p$clone, "remote", "set-url", "origin", srv$url)
  head <- git(p$clone, "rev-parse", "HEAD")
  child <- callr::r_bg(function(conn) {
    library(datom)
    Sys.setenv(DATOM_GIT_TIMEOUT = "3600")
    tryCatch(suppressMessages(datom_pull(conn)), error = function(e) class(e), interrupt = function(i) "R interrupt")
  }, list(conn = conn), libpath = .libPaths())
  withr::defer(try(child$kill(), silent = TRUE))
  wait_until(function() srv$accepted() >= 1, child$is_alive)
  expect_gte(srv$accepted(), 1)
  tools::pskill(child$get_pid(), tools::SIGINT)
  child$wait(300000)
  expect_false(child$is_alive())
  res <- child$get_result()
  expect_true("datom_error_interrupted" %in% res, info = paste(res, collapse = " "))
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head)
})

test_that("Ctrl-C cancels the remote check of datom_get_conn() on a git host that never answers", {
  srv <- stalling_git_server()
  p <- local_project()
  git(p$clone, "remote", "set-url", "origin", srv$url)
  child <- callr::r_bg(function(clone, store) {
    library(datom)
    Sys.setenv(DATOM_GIT_TIMEOUT = "3600")
    tryCatch(datom_get_conn(path = clone, store = store), error = function(e) c(class(e), conditionMessage(e)),
             interrupt = function(i) "R interrupt")
  }, list(clone = p$clone, store = p$store), libpath = .libPaths())
  withr::defer(try(child$kill(), silent = TRUE))
  wait_until(function() srv$accepted() >= 1, child$is_alive)
  expect_gte(srv$accepted(), 1)
  tools::pskill(child$get_pid(), tools::SIGINT)
  child$wait(300000)
  expect_false(child$is_alive())
  res <- child$get_result()
  expect_true("datom_error_interrupted" %in% res, info = paste(res, collapse = " "))
  expect_true(any(grepl("reach remote \"origin\"", res)), info = paste(res, collapse = " "))
})

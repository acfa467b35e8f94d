# GitHub over a loopback stand-in: reqwest for REST, git2 over smart HTTP.

test_that("datom_store validates the PAT with GET /user and never shows it", {
  gh <- github_standin()
  root <- withr::local_tempdir()
  data <- quietly(datom_store_local(file.path(root, "store")))
  s <- datom_store(data = data, github_pat = github_token, github_api_url = gh$api)
  expect_identical(s$identity$github$login, "datom-dev")
  out <- paste(capture.output(print(s)), collapse = "\n")
  expect_match(out, "GitHub user: \"datom-dev\"")
  expect_false(grepl(github_token, out, fixed = TRUE))
  err <- expect_error(datom_store(data = data, github_pat = "ghp_wrong", github_api_url = gh$api), class = "datom_error_auth")
  expect_match(conditionMessage(err), "GitHub PAT validation failed")
  expect_identical(err$status, 401L)   # the facts are condition fields
  expect_false(grepl("ghp_wrong", conditionMessage(err), fixed = TRUE))
  expect_error(datom_store(data = data, github_api_url = "http://example.com"), class = "datom_error_input")
})

test_that("init with create_repo = TRUE creates the repo and pushes over HTTP with the token", {
  gh <- github_standin()
  root <- withr::local_tempdir()
  s <- datom_store(data = quietly(datom_store_local(file.path(root, "store"))),
                   github_pat = github_token, github_api_url = gh$api, github_org = "acme")
  expect_message(datom_init_repo(file.path(root, "clone"), "STUDY_GH", s, create_repo = TRUE, repo_name = "study-gh"),
                 "Created GitHub repo acme/study-gh")
  cfg <- paste(readLines(file.path(root, "clone", ".git", "config")), collapse = "\n")
  expect_false(grepl(github_token, cfg, fixed = TRUE))
  expect_match(cfg, "/acme/study-gh.git")
  conn <- datom_get_conn(path = file.path(root, "clone"), store = s)
  w <- quietly(datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm"))
  expect_identical(w$action, "full")
  # a second engineer clones from the host with the token
  s2 <- datom_store(data = s$data, github_pat = github_token, github_api_url = gh$api,
                    data_repo_url = conn$data_repo_url)
  bea <- quietly(datom_clone(file.path(root, "bea"), s2))
  expect_identical(datom_list(bea)$name, "dm")
  # concurrent writes: the second push is rejected, pull, retry
  quietly(datom_write(conn, datom_example_data("lb", "2026-01-28"), "lb"))
  expect_error(datom_write(bea, datom_example_data("ae", "2026-01-28"), "ae"), class = "datom_error_push_rejected")
  expect_false(dir.exists(file.path(root, "bea", "ae")))
  p <- quietly(datom_pull(bea))
  expect_identical(p$tables_updated, "lb")
  expect_identical(quietly(datom_write(bea, datom_example_data("ae", "2026-01-28"), "ae"))$action, "full")
  # an existing repository with content is not reused
  s3 <- datom_store(data = quietly(datom_store_local(file.path(root, "store2"))),
                    github_pat = github_token, github_api_url = gh$api, github_org = "acme")
  err <- expect_error(datom_init_repo(file.path(root, "c3"), "OTHER", s3, create_repo = TRUE, repo_name = "study-gh"),
                      class = "datom_error_conflict")
  expect_match(conditionMessage(err), "already exists and has content")
  # a wrong token cannot clone
  s4 <- datom_store(data = s$data, github_pat = "ghp_nope", github_api_url = gh$api,
                    data_repo_url = conn$data_repo_url, validate = FALSE)
  err <- expect_error(datom_clone(file.path(root, "eve"), s4), class = "datom_error")
  expect_false(grepl("ghp_nope", conditionMessage(err), fixed = TRUE))
})

test_that("datom_repo_delete reports a refused deletion from the error's fields and continues", {
  gh <- local_github_standin()
  root <- withr::local_tempdir()
  store <- datom_store(data = quietly(datom_store_local(file.path(root, "data"))), github_pat = github_token_noscope,
                       github_api_url = gh$api, github_org = "acme")
  quietly(datom_init_repo(file.path(root, "p"), "P", store, create_repo = TRUE, repo_name = "p-data"))
  conn <- datom_get_conn(path = file.path(root, "p"), store = store)
  msgs <- capture_messages(datom_repo_delete(conn, confirm = "P"))
  expect_true(any(grepl("Could not delete the GitHub repo: .*403.*\\(the PAT probably lacks the delete_repo scope\\)", msgs)))
  expect_true(any(grepl("Delete p-data manually.", msgs, fixed = TRUE)))
  expect_false(dir.exists(file.path(root, "p")))
  # the repository is still on the host
  res <- datom:::rs_github_ensure_repo(gh$api, github_token, "acme", "p-data", TRUE)
  expect_s3_class(res, "datom_engine_error")
})

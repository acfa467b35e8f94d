# Teardown touches only what datom owns (issue 13): the clone's `origin`,
# only when it is the data repo recorded in project.yaml, and a local remote
# only when it is a bare repository datom created (datom.managed = true).

bare_of <- function(p, name) file.path(p$root, "remotes", paste0(name, ".git"))

precious_folder <- function(root, name = "precious") {
  d <- file.path(root, name)
  dir.create(d, recursive = TRUE)
  writeLines("hours of work", file.path(d, "notes.txt"))
  d
}

test_that("bare repositories datom creates are marked datom.managed", {
  p <- local_project("MARK")
  expect_identical(git(bare_of(p, "MARK"), "config", "--local", "--get", "datom.managed"), "true")
})

test_that("datom_repo_delete uses `origin`, never the first remote by name", {
  p <- local_project("DEL")
  precious <- precious_folder(p$root)
  git(p$clone, "remote", "add", "aaa", precious)   # sorts before "origin"
  conn <- datom_get_conn(path = p$clone, store = p$store)
  expect_identical(normalizePath(conn$data_repo_url), normalizePath(bare_of(p, "DEL")))
  quietly(datom_repo_delete(conn, confirm = "DEL"))
  expect_true(file.exists(file.path(precious, "notes.txt")))
  expect_false(dir.exists(bare_of(p, "DEL")))
  expect_false(dir.exists(p$clone))
})

test_that("an `origin` that is not the recorded data repo is refused before anything is touched", {
  p <- local_project("ORIG")
  precious <- precious_folder(p$root)
  git(p$clone, "remote", "set-url", "origin", precious)
  conn <- datom_get_conn(path = p$clone, store = p$store)
  e <- expect_error(quietly(datom_repo_delete(conn, confirm = "ORIG")), class = "datom_error_conflict")
  expect_match(conditionMessage(e), "not the data repo recorded")
  expect_true(file.exists(file.path(precious, "notes.txt")))
  expect_true(dir.exists(bare_of(p, "ORIG")))
  expect_true(dir.exists(p$clone))
  # no origin at all
  git(p$clone, "remote", "remove", "origin")
  git(p$clone, "remote", "add", "upstream", bare_of(p, "ORIG"))
  expect_error(quietly(datom_repo_delete(conn, confirm = "ORIG")), class = "datom_error_conflict")
  expect_true(dir.exists(bare_of(p, "ORIG")))
  expect_true(dir.exists(p$clone))
})

test_that("a local remote datom did not create is never deleted", {
  # a bare repository the user made before datom_init_repo() adopted it
  root <- withr::local_tempdir("datom-test-")
  url <- file.path(root, "remotes", "MINE.git")
  dir.create(url, recursive = TRUE)
  git(url, "init", "--bare", "-q")
  writeLines("mine", file.path(url, "description"))
  store <- quietly(datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = url))
  clone <- file.path(root, "clone")
  quietly(datom_init_repo(clone, "MINE", store))
  conn <- datom_get_conn(path = clone, store = store)
  e <- expect_error(quietly(datom_repo_delete(conn, confirm = "MINE")), class = "datom_error_conflict")
  expect_match(conditionMessage(e), "not a bare repository created by datom")
  expect_true(dir.exists(url))
  expect_identical(readLines(file.path(url, "description")), "mine")
  expect_true(dir.exists(clone))

  # the recorded path now holds a user's folder, not datom's bare repo
  p <- local_project("SWAP")
  unlink(bare_of(p, "SWAP"), recursive = TRUE)
  precious <- precious_folder(file.path(p$root, "remotes"), "SWAP.git")
  expect_error(quietly(datom_repo_delete(p$conn, confirm = "SWAP")), class = "datom_error_conflict")
  expect_true(file.exists(file.path(precious, "notes.txt")))
  expect_true(dir.exists(p$clone))
})

test_that("a data repo already gone is reported, and the clone still removed", {
  p <- local_project("GONE")
  unlink(bare_of(p, "GONE"), recursive = TRUE)
  msgs <- capture_messages(datom_repo_delete(p$conn, confirm = "GONE"))
  expect_true(any(grepl("already gone", msgs)))
  expect_false(dir.exists(p$clone))
})

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
  conn <- datom_get_conn(path = p$clone, store = p$store)
  git(p$clone, "remote", "set-url", "origin", precious)
  # connecting now is refused: origin is no git repository (issue 17)
  expect_error(datom_get_conn(path = p$clone, store = p$store), "not a git repository", class = "datom_error_not_found")
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

# Decommission (issue 13, obs 2): checks first, storage only where the
# project lives, the git record last, a failed step stops the teardown.

local_gov_project <- function(name, env = parent.frame()) {
  root <- withr::local_tempdir("datom-test-", .local_envir = env)
  govc <- quietly(datom_store_local(file.path(root, "gov-store")))
  url <- quietly(datom_init_gov(govc, gov_repo_url = file.path(root, "remotes", "gov.git"),
                                gov_local_path = file.path(root, "gov_clone")))
  data <- quietly(datom_store_local(file.path(root, "data")))
  store <- datom_store(governance = govc, data = data, data_repo_url = file.path(root, "remotes", paste0(name, ".git")),
                       gov_repo_url = url, gov_local_path = file.path(root, "gov_clone"))
  clone <- file.path(root, "clone")
  quietly(datom_init_repo(clone, name, store))
  conn <- datom_get_conn(path = clone, store = store)
  quietly(datom_write(conn, data.frame(x = 1:3), "t"))
  list(root = root, store = store, clone = clone, conn = conn, gov_url = url,
       ns = file.path(root, "data", "datom", name), gov_ns = file.path(root, "gov-store", "datom", "projects", name))
}

test_that("decommission with a stale connection (data migrated) deletes nothing", {
  p <- local_project("MOVED")
  quietly(datom_write(p$conn, data.frame(x = 1:3), "t"))
  new <- quietly(datom_store_local(file.path(p$root, "new")))
  quietly(datom_repo_set_data_store(p$conn, new))
  new_ns <- file.path(p$root, "new", "datom", "MOVED")
  before_old <- list.files(p$ns, recursive = TRUE)
  e <- expect_error(quietly(datom_decommission(p$conn, confirm = "MOVED")), class = "datom_error_conflict")
  expect_match(conditionMessage(e), "nothing was touched")
  expect_identical(list.files(p$ns, recursive = TRUE), before_old)
  expect_true(length(list.files(new_ns, recursive = TRUE)) > 0)
  expect_true(dir.exists(bare_of(p, "MOVED")))
  expect_true(dir.exists(p$clone))
})

test_that("decommission checks ownership of the data repo before deleting any storage", {
  p <- local_project("OWN")
  quietly(datom_write(p$conn, data.frame(x = 1:3), "t"))
  precious <- precious_folder(p$root)
  git(p$clone, "remote", "set-url", "origin", precious)
  files <- list.files(p$ns, recursive = TRUE)
  expect_error(quietly(datom_decommission(p$conn, confirm = "OWN")), class = "datom_error_conflict")
  expect_identical(list.files(p$ns, recursive = TRUE), files)
  expect_true(file.exists(file.path(precious, "notes.txt")))
  expect_true(dir.exists(p$clone))
})

test_that("a failed step stops the decommission, lists what is left, and keeps the git record", {
  g <- local_gov_project("STOP")
  # the governance repo is unreachable and the gov clone gone: unregister fails
  unlink(file.path(g$root, "gov_clone"), recursive = TRUE)
  file.rename(file.path(g$root, "remotes", "gov.git"), file.path(g$root, "remotes", "gov-moved.git"))
  e <- expect_error(quietly(datom_decommission(g$conn, confirm = "STOP")), class = "datom_error")
  expect_match(conditionMessage(e), "stopped")
  expect_match(conditionMessage(e), "Not done: unregister the project from the governance repo; delete the governance store entry; delete the data repository; remove the local data clone")
  expect_length(list.files(g$ns, recursive = TRUE), 0)      # step 1 done
  expect_true(dir.exists(file.path(g$root, "remotes", "STOP.git")))  # the git record is kept
  expect_true(dir.exists(g$clone))
  expect_true(length(list.files(g$gov_ns, recursive = TRUE)) > 0)
  # fixed: run again, it completes
  file.rename(file.path(g$root, "remotes", "gov-moved.git"), file.path(g$root, "remotes", "gov.git"))
  msgs <- capture_messages(datom_decommission(g$conn, confirm = "STOP"))
  d <- msgs[grepl("Removing data store|Unregistered|Removed gov storage|Deleted local bare|Removed local data clone", msgs)]
  expect_length(d, 5)
  expect_match(d[1], "Removing data store contents")
  expect_match(d[2], "Unregistered STOP from governance")
  expect_match(d[3], "Removed gov storage entry")
  expect_match(d[4], "Deleted local bare repository")
  expect_match(d[5], "Removed local data clone")
  expect_false(dir.exists(file.path(g$root, "remotes", "STOP.git")))
  expect_false(dir.exists(g$clone))
  expect_false(dir.exists(g$gov_ns))
})

test_that("files of the clone that are not committed are listed and kept unless confirmed", {
  p <- local_project("KEEP")
  writeLines("a,b", file.path(p$clone, "input_files", "extract.csv"))   # ignored
  writeLines("draft", file.path(p$clone, "analysis.R"))                # untracked
  msgs <- capture_messages(datom_decommission(p$conn, confirm = "KEEP"))
  expect_true(any(grepl("Kept the local data clone", msgs)))
  expect_true(any(grepl("input_files/extract.csv", msgs, fixed = TRUE)))
  expect_true(any(grepl("analysis.R", msgs, fixed = TRUE)))
  expect_true(file.exists(file.path(p$clone, "input_files", "extract.csv")))
  expect_true(file.exists(file.path(p$clone, "analysis.R")))
  expect_false(dir.exists(bare_of(p, "KEEP")))
  expect_length(list.files(p$ns, recursive = TRUE), 0)

  q <- local_project("GO")
  writeLines("draft", file.path(q$clone, "analysis.R"))
  quietly(datom_decommission(q$conn, confirm = "GO", remove_untracked = TRUE))
  expect_false(dir.exists(q$clone))
  expect_false(dir.exists(bare_of(q, "GO")))
})

test_that("datom_repo_delete keeps a clone holding files that are not committed", {
  p <- local_project("UNTR")
  writeLines("a,b", file.path(p$clone, "input_files", "extract.csv"))
  msgs <- capture_messages(datom_repo_delete(p$conn, confirm = "UNTR"))
  expect_true(any(grepl("input_files/extract.csv", msgs, fixed = TRUE)))
  expect_true(file.exists(file.path(p$clone, "input_files", "extract.csv")))
  expect_false(dir.exists(bare_of(p, "UNTR")))
  q <- local_project("UNTR2")
  writeLines("a,b", file.path(q$clone, "input_files", "extract.csv"))
  quietly(datom_repo_delete(q$conn, confirm = "UNTR2", remove_untracked = TRUE))
  expect_false(dir.exists(q$clone))
})

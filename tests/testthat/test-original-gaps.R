# Issue 17, "Smaller gaps a user of the original would hit": one test per
# gap (the .rds classification is in test-sync.R, the print methods'
# standard output in test-secrets.R, the seed lines in test-seeds.R).

test_that("a developer conn without a local clone says what is missing", {
  p <- local_project()
  conn <- p$conn
  conn["path"] <- list(NULL)
  expect_identical(conn$role, "developer")
  for (f in list(function() datom_write(conn, data.frame(x = 1), "x"),
                 function() datom_pull(conn),
                 function() datom_sync_manifest(conn),
                 function() datom_decommission(conn, confirm = "STUDY_001"))) {
    err <- expect_error(f(), class = "datom_error_role")
    msg <- conditionMessage(err)
    expect_match(msg, "no local clone", fixed = TRUE)
    expect_match(msg, "datom_clone(path, store)", fixed = TRUE)
    expect_false(grepl("role is", msg, fixed = TRUE))
  }
  # a reader is still told it is a reader
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_error(datom_write(reader, data.frame(x = 1), "x"), 'role is "reader"', class = "datom_error_role")
})

test_that("print(store) shows a non-default GitHub API URL with or without a token", {
  local <- quietly(datom_store_local(withr::local_tempdir()))
  s <- datom_store(data = local, github_api_url = "https://ghe.example.com/api/v3")
  out <- utils::capture.output(print(s))
  expect_true(any(grepl("GitHub API URL: <https://ghe.example.com/api/v3>", out, fixed = TRUE)))
  out <- utils::capture.output(print(datom_store(data = local)))
  expect_false(any(grepl("GitHub API URL", out, fixed = TRUE)))
})

test_that("datom_storage_copy() and _verify() name the argument that is wrong", {
  p <- local_project()
  for (f in list(datom_storage_copy, datom_storage_verify)) {
    err <- expect_error(f(list(), p$conn), class = "datom_error_input")
    expect_match(conditionMessage(err), "`from_conn` must be a datom_conn", fixed = TRUE)
    err <- expect_error(f(p$conn, "elsewhere"), class = "datom_error_input")
    expect_match(conditionMessage(err), "`to_conn` must be a datom_conn", fixed = TRUE)
  }
})

test_that("datom_clone() passes branch to the git clone and refuses what git2 cannot do", {
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(x = 1:3), "t1"))
  # a release branch on the remote, one commit ahead of main
  git(p$clone, "checkout", "-q", "-b", "release")
  quietly(datom_write(p$conn, data.frame(y = 1:2), "t2"))
  git(p$clone, "checkout", "-q", "main")
  root <- withr::local_tempdir()
  rel <- quietly(datom_clone(file.path(root, "rel"), p$store, branch = "release"))
  expect_identical(git(file.path(root, "rel"), "rev-parse", "--abbrev-ref", "HEAD"), "release")
  expect_true(dir.exists(file.path(root, "rel", "t2")))
  main <- quietly(datom_clone(file.path(root, "main"), p$store))
  expect_identical(git(file.path(root, "main"), "rev-parse", "--abbrev-ref", "HEAD"), "main")
  expect_false(dir.exists(file.path(root, "main", "t2")))
  # an unknown branch: not found, nothing left behind
  expect_error(quietly(datom_clone(file.path(root, "nope"), p$store, branch = "nope")), "no branch", class = "datom_error_not_found")
  expect_false(dir.exists(file.path(root, "nope")))
  # options of gert::git_clone() that make no working clone, and unnamed ones: refused before anything
  for (args in list(list(bare = TRUE), list(mirror = TRUE), list(verbose = TRUE), list("release"), list(branch = c("a", "b")))) {
    expect_error(do.call(datom_clone, c(list(file.path(root, "x"), p$store), args)), class = "datom_error_input")
    expect_false(dir.exists(file.path(root, "x")))
  }
  err <- expect_error(datom_clone(file.path(root, "x"), p$store, bare = TRUE, mirror = TRUE))
  expect_match(conditionMessage(err), "`bare` and `mirror`")
})

test_that("datom_read() returns a tibble even when the user never loaded tibble", {
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(id = 1:3, v = c("a", "b", "c")), "t"))
  res <- callr::r(function(clone, store_dir, remote) {
    library(datom)
    store <- datom_store(data = suppressMessages(datom_store_local(store_dir)), data_repo_url = remote)
    x <- datom_read(datom_get_conn(path = clone, store = store), "t")
    list(loaded = "tibble" %in% loadedNamespaces(), class = class(x), printed = utils::capture.output(print(x))[1],
         sub = class(x[, "id"]), attached = "package:tibble" %in% search())
  }, args = list(p$clone, file.path(p$root, "store"), file.path(p$root, "remotes", "STUDY_001.git")), libpath = .libPaths())
  expect_true(res$loaded)
  expect_false(res$attached)
  expect_identical(res$class, c("tbl_df", "tbl", "data.frame"))
  expect_match(res$printed, "^# A tibble: 3 (x|\u00d7) 2")
  expect_identical(res$sub, c("tbl_df", "tbl", "data.frame"))
})

test_that("datom_get_conn() checks the data repo's remote and says which part failed (local remote)", {
  p <- local_project()
  remote <- file.path(p$root, "remotes", "STUDY_001.git")
  expect_no_error(datom_get_conn(path = p$clone, store = p$store))
  moved <- paste0(remote, ".moved")
  file.rename(remote, moved)
  err <- expect_error(datom_get_conn(path = p$clone, store = p$store), class = "datom_error_not_found")
  expect_match(conditionMessage(err), "remote .*STUDY_001\\.git is not a git repository")
  expect_match(conditionMessage(err), "git remote set-url origin", fixed = TRUE)
  file.rename(moved, remote)
  expect_no_error(datom_get_conn(path = p$clone, store = p$store))
})

test_that("datom_get_conn() checks the token and the remote on a git host (GitHub stand-in)", {
  gh <- github_standin()
  root <- withr::local_tempdir()
  store <- datom_store(data = quietly(datom_store_local(file.path(root, "store"))), github_pat = github_token,
                       github_api_url = gh$api, github_org = "acme-conncheck")
  quietly(datom_init_repo(file.path(root, "clone"), "CONNCHECK", store, create_repo = TRUE, repo_name = "conncheck-data"))
  expect_no_error(datom_get_conn(path = file.path(root, "clone"), store = store))
  bad <- store
  bad$github_pat <- datom:::hold_secret("ghp_wrongwrongwrong")
  err <- expect_error(datom_get_conn(path = file.path(root, "clone"), store = bad), class = "datom_error_auth")
  expect_match(conditionMessage(err), "refused the token for the data repo")
  expect_false(grepl("wrongwrong", conditionMessage(err)))
  none <- store
  none["github_pat"] <- list(NULL)
  err <- expect_error(datom_get_conn(path = file.path(root, "clone"), store = none), class = "datom_error_auth")
  expect_match(conditionMessage(err), "needs a token and none was given")
  # the repository deleted on the host: not found, before any write
  conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
  datom:::engine(datom:::rs_github_delete_repo(gh$api, store$github_pat, conn$data_repo_url))
  err <- expect_error(datom_get_conn(path = file.path(root, "clone"), store = store), class = "datom_error_not_found")
  expect_match(conditionMessage(err), "does not exist on its host")
})

test_that("./configure refuses a missing or too old Rust toolchain and says what to install", {
  script <- system.file("tools", "check-rust.sh", package = "datom")
  expect_true(nzchar(script))
  sh <- Sys.which("sh")
  run <- function(path, extra = character()) {
    out <- suppressWarnings(system2(sh, script, stdout = TRUE, stderr = TRUE,
                                    env = c(paste0("PATH=", path), "HOME=/nonexistent", extra)))
    list(status = attr(out, "status") %||% 0L, out = paste(out, collapse = "\n"))
  }
  # no cargo at all: only the shell's basic tools on the PATH
  bin <- withr::local_tempdir()
  for (tool in c("awk", "sed", "head")) file.symlink(Sys.which(tool), file.path(bin, tool))
  r <- run(bin)
  expect_identical(r$status, 1L)
  expect_match(r$out, "cargo was not found")
  expect_match(r$out, "rustc >= 1.94")
  expect_match(r$out, "https://rustup.rs", fixed = TRUE)
  # a cargo and a rustc that are too old
  writeLines(c("#!/bin/sh", "echo 'cargo 1.60.0 (abc 2022-04-01)'"), file.path(bin, "cargo"))
  writeLines(c("#!/bin/sh", "echo 'rustc 1.60.0 (abc 2022-04-01)'"), file.path(bin, "rustc"))
  Sys.chmod(file.path(bin, c("cargo", "rustc")), "0755")
  r <- run(bin)
  expect_identical(r$status, 1L)
  expect_match(r$out, "rustc 1.60.0 was found; datom needs rustc >= 1.94.", fixed = TRUE)
  expect_match(r$out, "rustup update stable", fixed = TRUE)
  # recent enough
  writeLines(c("#!/bin/sh", "echo 'rustc 1.94.0 (abc 2026-01-01)'"), file.path(bin, "rustc"))
  r <- run(bin)
  expect_identical(r$status, 0L)
  expect_match(r$out, "rustc 1.94.0")
  writeLines(c("#!/bin/sh", "echo 'rustc 2.0.0-nightly (abc 2030-01-01)'"), file.path(bin, "rustc"))
  expect_identical(run(bin)$status, 0L)
})

test_that("the resume scripts speak through the package's message helper", {
  scripts <- list.files(system.file("vignette-setup", package = "datom"), "^resume_article_.*\\.R$", full.names = TRUE)
  expect_length(scripts, 8L)
  for (f in scripts) expect_false(any(grepl("\\bmessage\\(", readLines(f))), info = basename(f))
  # so they look like everything else (cli's bullets) and datom.quiet silences them
  dir <- withr::local_tempdir()
  env <- c(callr::rcmd_safe_env(), DATOM_VIGNETTE_DIR = dir, DATOM_VIGNETTE_GOV_CLONE = "", DATOM_VIGNETTE_BACKEND = "",
           DATOM_S3_ENDPOINT = "", DATOM_GITHUB_API_URL = "")
  out <- callr::r(function() {
    options(cli.unicode = TRUE)
    loud <- utils::capture.output(source(system.file("vignette-setup", "resume_article_6.R", package = "datom")), type = "message")
    options(datom.quiet = TRUE)
    quiet <- utils::capture.output(source(system.file("vignette-setup", "resume_article_6.R", package = "datom")), type = "message")
    list(loud = loud, quiet = quiet)
  }, env = env, libpath = .libPaths())
  expect_true(any(grepl("^\u2139 Resuming engineer conn for STUDY_001", out$loud)))
  expect_identical(out$quiet, character())
})

# Secrets named, not held (issue 13): datom_secret("NAME") is resolved by the
# engine from the OS keyring (kernel keyutils here, in a fresh session keyring
# made by `keyctl session -`) or the environment at the moment of use.

test_that("a PAT in the OS keyring authenticates REST and git, and never becomes an R string", {
  need_component(nzchar(Sys.which("keyctl")), "keyctl (Debian package keyutils)")
  gh <- github_standin()
  root <- withr::local_tempdir()
  script <- file.path(root, "child.R")
  writeLines(c(
    'library(datom); options(datom.quiet = TRUE)',
    'svc <- Sys.getenv("T_SERVICE"); tok <- Sys.getenv("T_TOKEN"); Sys.unsetenv("T_TOKEN"); root <- Sys.getenv("T_ROOT"); api <- Sys.getenv("T_API")',
    'step <- function(what, ok) if (!isTRUE(ok)) stop("FAILED: ", what, call. = FALSE) else cat("ok:", what, "\\n")',
    'e <- tryCatch(datom_store(data = datom_store_local(file.path(root, "store")), github_pat = datom_secret(svc, env = NULL), github_api_url = api), error = identity)',
    'step("absent secret is datom_error_auth naming where it looked", inherits(e, "datom_error_auth") && grepl(svc, conditionMessage(e), fixed = TRUE))',
    'datom_secret_set(svc, tok); rm(tok)',
    'ref <- datom_secret(svc, env = NULL)',
    's <- datom_store(data = datom_store_local(file.path(root, "store")), github_pat = ref, github_api_url = api, github_org = "acme")',
    'step("GET /user with the keyring PAT", identical(s$identity$github$login, "datom-dev"))',
    'datom_init_repo(file.path(root, "clone"), "STUDY_KR", s, create_repo = TRUE, repo_name = "study-kr")',
    'conn <- datom_get_conn(path = file.path(root, "clone"), store = s)',
    'w <- datom_write(conn, datom_example_data("dm", "2026-01-28"), "dm")',
    'step("push over HTTP with the keyring PAT", identical(w$action, "full"))',
    'f <- file.path(root, "store.rds"); saveRDS(s, f)',
    'writeLines(c(capture.output(print(s)), capture.output(str(s)), capture.output(dput(s)), capture.output(print(conn))), file.path(root, "shown.txt"))',
    'back <- readRDS(f)',
    's2 <- datom_store(data = back$data, github_pat = back$github_pat, github_api_url = api, data_repo_url = conn$data_repo_url)',
    'bea <- datom_clone(file.path(root, "bea"), s2)',
    'step("a reference restored by readRDS() still works", identical(datom_list(bea)$name, "dm"))',
    'step("delete", isTRUE(datom_secret_delete(svc)) && identical(datom_secret_delete(svc), FALSE))',
    'e <- tryCatch(datom_pull(bea), error = identity)',
    'step("gone from the keyring: the next use is datom_error_auth", inherits(e, "datom_error_auth"))',
    'Sys.setenv(DATOM_T_ENV_PAT = Sys.getenv("T_TOKEN2"))',
    's3 <- datom_store(data = back$data, github_pat = datom_secret("DATOM_T_ENV_PAT"), github_api_url = api)',
    'step("environment fallback", identical(s3$identity$github$login, "datom-dev"))',
    'cat("ALL OK\\n")'
  ), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  # a service name of this run: keyutils links entries to the persistent keyring
  svc <- paste0("DATOM_T_PAT_", Sys.getpid(), "_", basename(root))
  res <- processx::run("keyctl", c("session", "-", rscript, script), error_on_status = FALSE,
    env = c("current", R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep), T_TOKEN = github_token,
            T_TOKEN2 = github_token, T_ROOT = root, T_API = gh$api, T_SERVICE = svc))
  out <- paste(res$stdout, res$stderr, sep = "\n")
  expect_identical(res$status, 0L, info = out)
  expect_match(res$stdout, "ALL OK", fixed = TRUE)
  # the value never appears in what R showed, saved, or datom committed
  files <- list.files(root, recursive = TRUE, all.files = TRUE, full.names = TRUE)
  files <- files[!grepl("child\\.R$", files)]
  hit <- vapply(files, function(f) {
    b <- readBin(f, "raw", file.size(f))
    grepl(github_token, rawToChar(b[b != as.raw(0)]), fixed = TRUE, useBytes = TRUE)
  }, TRUE)
  expect_identical(names(hit)[hit], character(0))
  shown <- readLines(file.path(root, "shown.txt"))
  expect_true(any(grepl(paste0("keyring \"", svc, "\""), shown, fixed = TRUE)))
})

test_that("datom_secret() checks its arguments and prints only names", {
  expect_error(datom_secret(""), class = "datom_error_input")
  expect_error(datom_secret(NA_character_), class = "datom_error_input")
  expect_error(datom_secret_set("X", ""), class = "datom_error_input")
  expect_error(datom_secret_set("X", c("a", "b")), class = "datom_error_input")
  r <- datom_secret("GITHUB_PAT")
  expect_s3_class(r, "datom_secret_ref")
  expect_identical(capture.output(print(r)), "<datom secret: keyring \"GITHUB_PAT\", else $GITHUB_PAT>")
  expect_identical(format(datom_secret("K", username = "me", env = NULL)), "<datom secret: keyring \"K\" (me)>")
  # no value anywhere: the classed error names both places, at the moment of use
  withr::local_envvar(DATOM_NOWHERE_PAT = NA)
  e <- expect_error(datom_store(data = datom_store_local(withr::local_tempdir()), github_pat = datom_secret("DATOM_NOWHERE_PAT"),
                                github_api_url = "http://127.0.0.1:9"), class = "datom_error_auth")
  expect_match(conditionMessage(e), "DATOM_NOWHERE_PAT")
})

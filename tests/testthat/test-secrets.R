# Secrets (issue 13): a URL with credentials is never accepted, and the
# GitHub API root is parsed (https, or http on a loopback host) wherever it
# comes from, before a token is sent anywhere.

local_data <- function(env = parent.frame()) {
  root <- withr::local_tempdir("datom-test-", .local_envir = env)
  datom_store_local(file.path(root, "store"))
}

test_that("a repo URL with embedded credentials is refused and the secret is never shown", {
  data <- local_data()
  for (url in c("https://x:ghp_SECRET@github.com/o/r.git", "https://ghp_SECRET@github.com/o/r.git",
                "http://git:ghp_SECRET@127.0.0.1:8080/o/r.git")) {
    e <- expect_error(datom_store(data = data, data_repo_url = url), class = "datom_error_input")
    expect_false(grepl("SECRET", conditionMessage(e)))
    expect_false(grepl("SECRET", paste(format(e), collapse = "\n")))
    expect_false(any(grepl("SECRET", capture.output(print(e)))))
  }
  gov <- local_data()
  e <- expect_error(datom_store(governance = gov, data = data, data_repo_url = "https://github.com/o/r.git",
                                gov_repo_url = "https://x:ghp_SECRET@github.com/o/gov.git"),
                    class = "datom_error_input")
  expect_false(grepl("SECRET", conditionMessage(e)))
  expect_error(datom_init_gov(gov, gov_repo_url = "https://ghp_SECRET@github.com/o/gov.git",
                              gov_local_path = tempfile()), class = "datom_error_input")
  # ssh user names are not credentials
  expect_s3_class(datom_store(data = data, data_repo_url = "git@github.com:o/r.git"), "datom_store")
  expect_s3_class(datom_store(data = data, data_repo_url = "https://github.com/o/r.git"), "datom_store")
})

test_that("github_api_url is parsed, not prefix-tested", {
  data <- local_data()
  for (bad in c("http://localhost.example.com", "http://127.0.0.1.evil.example", "http://localhost@evil.example",
                "http://example.com", "https://u:pw@api.github.com", "ftp://api.github.com", "api.github.com")) {
    e <- expect_error(datom_store(data = data, github_api_url = bad), class = "datom_error_input")
    expect_false(grepl("pw@", conditionMessage(e)))
  }
  for (good in c("https://api.github.com/", "https://ghe.example.com/api/v3", "http://127.0.0.1:9999",
                 "http://localhost:9999", "http://[::1]:9999")) {
    s <- datom_store(data = data, github_api_url = good)
    expect_identical(s$github_api_url, sub("/$", "", good))
  }
})

test_that("DATOM_GITHUB_API_URL gets the same check, before the PAT is sent anywhere", {
  data <- local_data()
  # refused offline: with validate = TRUE the PAT would otherwise be sent there
  withr::local_envvar(DATOM_GITHUB_API_URL = "http://localhost.example.com")
  expect_error(datom_store(data = data, github_pat = "ghp_SECRET_TOKEN_123", validate = TRUE),
               class = "datom_error_input")
  expect_error(datom_store(data = data), class = "datom_error_input")
  withr::local_envvar(DATOM_GITHUB_API_URL = "http://evil.example")
  e <- expect_error(datom_store(data = data, github_pat = "ghp_SECRET_TOKEN_123"), class = "datom_error_input")
  expect_match(conditionMessage(e), "DATOM_GITHUB_API_URL")
  expect_false(grepl("SECRET", conditionMessage(e)))
  withr::local_envvar(DATOM_GITHUB_API_URL = "https://ghe.example.com/api/v3/")
  expect_identical(datom_store(data = data)$github_api_url, "https://ghe.example.com/api/v3")
})

# Every way R can show an object: none may reveal a secret.
shown <- function(x) {
  msgs <- character()
  printed <- capture.output(msgs <- capture.output(print(x), type = "message"))
  out <- c(printed, msgs, capture.output(str(x)), capture.output(dput(x)), tryCatch(format(x), error = function(e) ""))
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(x, f)
  c(out, rawToChar(readBin(f, "raw", file.size(f))[readBin(f, "raw", file.size(f)) != as.raw(0)]),
    rawToChar(serialize(x, NULL, ascii = TRUE)))
}

test_that("str(), dput(), print(), format() and saveRDS() of a store or conn never show a secret", {
  pat <- "ghp_TOPSECRET_PAT_0123456789"
  sk <- "SECRETKEY_abcdefghij0123456789"
  tok <- "SESSIONTOKEN_zyxwvu987654"
  s3 <- datom_store_s3("acme-data", prefix = "p/", access_key = "AKIAEXAMPLE", secret_key = sk,
                       session_token = tok, validate = FALSE)
  creds <- datom_store_s3_creds("AKIAEXAMPLE", sk, tok)
  root <- withr::local_tempdir()
  store <- quietly(datom_store(data = datom_store_local(file.path(root, "store")), github_pat = pat,
                               data_repo_url = file.path(root, "remotes", "SEC.git"), validate = FALSE))
  gstore <- datom_store(governance = quietly(datom_store_local(file.path(root, "gov"))), data = creds,
                        github_pat = pat, validate = FALSE)
  for (x in list(s3, creds, store, gstore, store$github_pat, s3$secret_key)) {
    out <- paste(shown(x), collapse = "\n")
    expect_false(grepl("TOPSECRET|SECRETKEY_|SESSIONTOKEN_", out))
  }
  # the conn of a project built with that store: same
  quietly(datom_init_repo(file.path(root, "clone"), "SEC", store))
  conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
  out <- paste(shown(conn), collapse = "\n")
  expect_false(grepl("TOPSECRET", out))
  # ... nor does any file datom wrote or committed, nor .git/config
  files <- list.files(root, recursive = TRUE, all.files = TRUE, full.names = TRUE)
  hit <- vapply(files, function(f) {
    b <- readBin(f, "raw", file.size(f))
    grepl("TOPSECRET", rawToChar(b[b != as.raw(0)]), useBytes = TRUE)
  }, TRUE)
  expect_identical(names(hit)[hit], character(0))
  # the engine still reads the secret at the moment of use
  expect_true(rs_secret_alive(conn$github_pat))
  expect_identical(mask_token(conn$github_pat), "ghp_****")
  # a store restored from a file has no secrets left: a clear error, not a wrong token
  f <- tempfile(fileext = ".rds")
  saveRDS(store, f)
  back <- readRDS(f)
  expect_false(rs_secret_alive(back$github_pat))
  expect_error(datom_store(data = back$data, github_pat = back$github_pat, validate = FALSE), class = "datom_error_input")
  res <- rs_github_user("https://api.github.com", back$github_pat)
  expect_s3_class(res, "datom_engine_error")
  expect_identical(res$kind, "input")
})

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

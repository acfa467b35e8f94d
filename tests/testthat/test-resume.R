# The articles' resume scripts (inst/vignette-setup): each one from an empty
# folder in a fresh R process, then again (the second run changes nothing);
# the seed articles' code against the state they return.

resume_env <- function(dir, s3 = NULL, gh = NULL) {
  c(callr::rcmd_safe_env(),
    DATOM_VIGNETTE_DIR = dir,
    DATOM_VIGNETTE_GOV_CLONE = "",
    DATOM_S3_ENDPOINT = s3$endpoint %||% "", DATOM_S3_BUCKET = s3$bucket %||% "", DATOM_GOV_BUCKET = s3$gov_bucket %||% "",
    AWS_ACCESS_KEY_ID = if (is.null(s3)) "" else "testing", AWS_SECRET_ACCESS_KEY = if (is.null(s3)) "" else "testing-secret",
    DATOM_GITHUB_API_URL = gh$api %||% "", GITHUB_PAT = if (is.null(gh)) "" else github_token)
}

run_resume <- function(n, env) {
  callr::r(function(n) {
    out <- utils::capture.output(
      s <- source(system.file("vignette-setup", sprintf("resume_article_%d.R", n), package = "datom"))$value,
      type = "message")
    list(names = names(s), role = s$conn$role, project = s$conn$project_name, backend = s$conn$backend,
         governed = !is.null(s$conn$gov_root), tables = if (!is.null(s$conn)) sort(datom::datom_list(s$conn)$name),
         messages = out)
  }, args = list(n), env = env, libpath = .libPaths())
}

# Everything a run could change: commits of every repo, stored objects.
state_snapshot <- function(dir, s3 = NULL) {
  repos <- list.dirs(dir, recursive = TRUE)
  repos <- repos[file.exists(file.path(repos, "HEAD")) & basename(dirname(repos)) != ".git" & !grepl("/\\.git", repos)]
  heads <- vapply(repos, function(r) paste(system2("git", c("--git-dir", if (dir.exists(file.path(r, ".git"))) file.path(r, ".git") else r,
                                                            "log", "--all", "--format=%H"), stdout = TRUE), collapse = ","), "")
  files <- list.files(dir, recursive = TRUE, all.files = TRUE)
  files <- files[!grepl("(^|/)\\.git/", files) & !grepl("\\.git/|datom-push\\.lock$", files) & !grepl("^remotes/", files)]
  sums <- tools::md5sum(file.path(dir, files))
  keys <- if (!is.null(s3)) c(s3_keys(s3$bucket), s3_keys(s3$gov_bucket)) else character()
  list(heads = heads, files = stats::setNames(unname(sums), files), keys = keys)
}

expected_names <- list(
  `2` = c("conn", "dev_dir"), `3` = c("conn", "dev_dir"), `4` = c("conn", "dev_dir"),
  `5` = c("conn", "dev_dir", "gov_clone_path", "bucket", "prefix", "region"),
  `6` = c("conn", "dev_dir", "gov_clone_path", "data_s3", "gov_component", "data_repo_url", "gov_repo_url")
)
for (n in 7:9) expected_names[[as.character(n)]] <- expected_names[["6"]]

test_that("every resume script builds its state from an empty folder and is idempotent (embedded default)", {
  for (n in 2:9) {
    dir <- withr::local_tempdir()
    env <- resume_env(dir)
    first <- run_resume(n, env)
    expect_identical(first$names, expected_names[[as.character(n)]], info = n)
    expect_identical(first$project, "STUDY_001")
    expect_identical(first$role, if (n == 5) "reader" else "developer", info = n)
    expect_identical(first$governed, n >= 5, info = n)
    expect_identical(first$tables, if (n <= 3) "dm" else c("ae", "dm", "ex", "lb"), info = n)
    before <- state_snapshot(dir)
    second <- run_resume(n, env)
    expect_identical(state_snapshot(dir), before, info = n)
    expect_false(any(grepl("Writing|Wrote|synced|Registered|Copying", second$messages)), info = n)
    expect_true(any(grepl(sprintf("Article %d state intact", n - 1), c(first$messages, second$messages))), info = n)
  }
  # dm carries its month-1, month-2 and month-3 versions, in that order
  dir <- withr::local_tempdir()
  run_resume(4, resume_env(dir))
  h <- callr::r(function(d) {
    source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
    conn <- suppressWarnings(vignette_conn(vignette_env()))
    datom::datom_history(conn, "dm")$commit_message
  }, args = list(dir), env = resume_env(dir), libpath = .libPaths())
  expect_identical(h[3:2], c("Initial DM extract through 2026-01-28", "DM extract through 2026-02-28"))
  expect_match(h[1], "^Sync dm")
})

test_that("the resume chain runs on S3 and the GitHub stand-in, twice without change", {
  gh <- local_github_standin()
  s3 <- list(endpoint = s3_server()$endpoint, bucket = s3_bucket(), gov_bucket = s3_bucket())
  dir <- withr::local_tempdir()
  env <- resume_env(dir, s3, gh)
  first <- run_resume(9, env)
  expect_identical(first$backend, "s3")
  expect_true(first$governed)
  expect_true(any(startsWith(s3_keys(s3$bucket), "datom/STUDY_001/lb/")))
  expect_setequal(s3_keys(s3$gov_bucket, "datom/projects/STUDY_001/"),
                  paste0("datom/projects/STUDY_001/", c("dispatch.json", "ref.json", "migration_history.json")))
  before <- state_snapshot(dir, s3)
  second <- run_resume(9, env)
  expect_identical(state_snapshot(dir, s3), before)
})

# The code of the two seed articles, as a user types it, against the state
# the resume scripts return (credentials from the keyring's env backend).
test_that("the seed articles run against the resumed state (S3 + GitHub stand-in)", {
  gh <- local_github_standin()
  s3 <- list(endpoint = s3_server()$endpoint, bucket = s3_bucket(), gov_bucket = s3_bucket())
  dir <- withr::local_tempdir()
  env <- resume_env(dir, s3, gh)
  res <- callr::r(function() {
    options(keyring_backend = "env", cli.num_colors = 1)
    library(datom)
    msgs <- character()
    keep <- function(expr) withCallingHandlers(expr, message = function(m) {
      msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage")
    }, warning = function(w) invokeRestart("muffleWarning"))
    # -- A second engineer joins (article 6) --
    state <- keep(source(system.file("vignette-setup", "resume_article_6.R", package = "datom"))$value)
    conn <- state$conn
    bea_dir <- fs::path(tempdir(), "bea_study_001_data")
    bea_store <- datom_store(
      governance = state$gov_component, data = state$data_s3,
      github_pat = keyring::key_get("GITHUB_PAT"), data_repo_url = state$data_repo_url,
      gov_repo_url = state$gov_repo_url, gov_local_path = fs::path(tempdir(), "bea_gov_clone")
    )
    bea_conn <- keep(datom_clone(path = bea_dir, store = bea_store))
    printed <- utils::capture.output(print(bea_conn))
    listed <- datom_list(bea_conn)
    lb_m4 <- datom_example_data("lb", cutoff_date = "2026-04-28")
    msgs <- character()
    keep(datom_write(conn, lb_m4, "lb", message = "lb extract through 2026-04-28"))
    ae_m4 <- datom_example_data("ae", cutoff_date = "2026-04-28")
    rejected <- tryCatch(keep(datom_write(bea_conn, ae_m4, "ae", message = "ae extract through 2026-04-28")),
                         error = function(e) e)
    keep(datom_pull(bea_conn))
    keep(datom_write(bea_conn, ae_m4, "ae", message = "ae extract through 2026-04-28"))
    article6 <- msgs
    # -- Governing a portfolio (article 7) --
    state <- keep(source(system.file("vignette-setup", "resume_article_7.R", package = "datom"))$value)
    study_001_conn <- state$conn
    gov_clone_path <- state$gov_clone_path
    before <- basename(fs::dir_ls(fs::path(gov_clone_path, "projects"), type = "directory"))
    files <- basename(fs::dir_ls(fs::path(gov_clone_path, "projects", "STUDY_001")))
    study_002_dir <- fs::path(tempdir(), "study_002_data")
    study_002_store <- datom_store(
      governance = state$gov_component, data = state$data_s3,
      github_pat = keyring::key_get("GITHUB_PAT"), gov_repo_url = state$gov_repo_url,
      gov_local_path = fs::path(tempdir(), "study_002_gov_clone")
    )
    keep(datom_init_repo(path = study_002_dir, project_name = "STUDY_002", store = study_002_store,
                         create_repo = TRUE, repo_name = "study-002-data"))
    keep(datom_pull_gov(study_001_conn))
    after_init <- basename(fs::dir_ls(fs::path(gov_clone_path, "projects"), type = "directory"))
    study_002_conn <- datom_get_conn(path = study_002_dir, store = study_002_store)
    msgs <- character()
    keep(datom_decommission(study_002_conn, confirm = "STUDY_002"))
    decommission <- msgs
    keep(datom_pull_gov(study_001_conn))
    after_decom <- basename(fs::dir_ls(fs::path(gov_clone_path, "projects"), type = "directory"))
    list(printed = printed, listed = listed, article6 = article6, rejected = rejected,
         before = before, files = files, after_init = after_init, decommission = decommission,
         after_decom = after_decom, lb = nrow(datom_read(study_001_conn, "lb")),
         lb_m4 = nrow(lb_m4), projects = datom_projects(study_001_conn)$name)
  }, env = env, libpath = .libPaths())
  # article 6
  expect_true(any(grepl('Project: "STUDY_001"', res$printed, fixed = TRUE)))
  expect_true(any(grepl('Role: "developer"', res$printed, fixed = TRUE)))
  expect_true(any(grepl('Backend: "s3"', res$printed, fixed = TRUE)))
  expect_identical(res$listed$name, c("ae", "dm", "ex", "lb"))
  expect_true(all(c("current_version", "current_data_sha", "last_updated") %in% names(res$listed)))
  expect_match(res$article6[1], 'Wrote "lb" \\(full\\)')
  expect_s3_class(res$rejected, "datom_error_push_rejected")
  expect_match(conditionMessage(res$rejected), "Failed to push to origin/main: rejected \\(non-fast-forward\\)")
  expect_match(conditionMessage(res$rejected), "Run datom_pull\\(conn\\) to incorporate origin's changes, then retry the write.")
  pull <- res$article6[2:4]
  expect_match(pull[1], "Fetching from origin")
  expect_match(pull[2], "1 commit pulled")
  expect_match(pull[3], "Manifest updated: lb -> new version")
  expect_match(res$article6[length(res$article6)], 'Wrote "ae" \\(full\\)')
  # article 7
  expect_identical(res$before, "STUDY_001")
  expect_identical(res$files, c("dispatch.json", "migration_history.json", "ref.json"))
  expect_identical(res$after_init, c("STUDY_001", "STUDY_002"))
  d <- trimws(sub("^\\S+ ", "", trimws(res$decommission)))
  expect_length(d, 5)
  expect_identical(d[1], "Removing data store contents under datom/STUDY_002/")
  # the git record goes last (issue 13)
  expect_identical(d[2:3], c("Unregistered STUDY_002 from governance", "Removed gov storage entry projects/STUDY_002/"))
  expect_identical(d[4], "Deleted GitHub repo `study-002-data`")
  expect_match(d[5], "^Removed local data clone .*study_002_data$")
  expect_identical(res$after_decom, "STUDY_001")
  expect_identical(res$projects, "STUDY_001")
  expect_identical(res$lb, res$lb_m4)
  expect_false(any(startsWith(s3_keys(s3$bucket), "datom/STUDY_002/")))
  expect_true(any(startsWith(s3_keys(s3$bucket), "datom/STUDY_001/")))
})

# Real mode (issue 17): DATOM_VIGNETTE_BACKEND = "aws" is chosen explicitly;
# a check up front lists everything missing; with the endpoint / API URL
# overrides it runs against moto and the GitHub stand-in, the token taken
# through datom_secret("GITHUB_PAT") (keyring, else the environment).
aws_env <- function(dir, ...) {
  home <- file.path(dir, "home")
  dir.create(home, showWarnings = FALSE)
  base <- c(callr::rcmd_safe_env(), DATOM_VIGNETTE_DIR = file.path(dir, "state"), DATOM_VIGNETTE_GOV_CLONE = "",
            DATOM_VIGNETTE_BACKEND = "aws", HOME = home, DATOM_S3_ENDPOINT = "", DATOM_S3_BUCKET = "", DATOM_GOV_BUCKET = "",
            AWS_ACCESS_KEY_ID = "", AWS_SECRET_ACCESS_KEY = "", AWS_PROFILE = "", AWS_SHARED_CREDENTIALS_FILE = "",
            AWS_CONFIG_FILE = "", AWS_WEB_IDENTITY_TOKEN_FILE = "", AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "",
            AWS_CONTAINER_CREDENTIALS_FULL_URI = "", DATOM_GITHUB_API_URL = "", GITHUB_PAT = "")
  over <- c(...)
  base[names(over)] <- over
  base
}

resume_error <- function(n, env) {
  callr::r(function(n) {
    options(cli.width = 10000)
    e <- tryCatch(source(system.file("vignette-setup", sprintf("resume_article_%d.R", n), package = "datom")),
                  error = function(e) e)
    list(class = class(e), message = if (inherits(e, "error")) conditionMessage(e) else NA_character_)
  }, args = list(n), env = env, libpath = .libPaths())
}

test_that("DATOM_VIGNETTE_BACKEND = \"aws\" says up front everything that is missing", {
  dir <- withr::local_tempdir()
  e <- resume_error(2, aws_env(dir))
  expect_true("datom_error_input" %in% e$class)
  expect_match(e$message, "4 things the articles need are missing")
  for (what in c("DATOM_S3_BUCKET", "DATOM_GOV_BUCKET", "GITHUB_PAT", "AWS credentials")) expect_match(e$message, what, fixed = TRUE)
  expect_false(dir.exists(file.path(dir, "state")))  # nothing was touched
  # the AWS credential chain counts (here: keys in the environment)
  e <- resume_error(2, aws_env(dir, DATOM_S3_BUCKET = "b", DATOM_GOV_BUCKET = "g",
                               AWS_ACCESS_KEY_ID = "AKIA", AWS_SECRET_ACCESS_KEY = "x"))
  expect_match(e$message, "1 thing the articles need is missing")
  expect_match(e$message, "GITHUB_PAT")
  expect_false(grepl("AWS credentials", e$message))
  # an unknown backend is refused
  e <- resume_error(2, aws_env(dir, DATOM_VIGNETTE_BACKEND = "gcp"))
  expect_match(e$message, "must be \"local\" or \"aws\"")
})

test_that("DATOM_VIGNETTE_BACKEND = \"aws\" runs the resume chain on S3 and GitHub (moto and the stand-in)", {
  gh <- local_github_standin()
  s3 <- list(endpoint = s3_server()$endpoint, bucket = s3_bucket(), gov_bucket = s3_bucket())
  dir <- withr::local_tempdir()
  env <- aws_env(dir, DATOM_S3_ENDPOINT = s3$endpoint, DATOM_S3_BUCKET = s3$bucket, DATOM_GOV_BUCKET = s3$gov_bucket,
                 AWS_ACCESS_KEY_ID = "testing", AWS_SECRET_ACCESS_KEY = "testing-secret",
                 DATOM_GITHUB_API_URL = gh$api, GITHUB_PAT = github_token)
  first <- run_resume(6, env)
  expect_identical(first$names, expected_names[["6"]])
  expect_identical(first$backend, "s3")
  expect_true(first$governed)
  expect_identical(first$tables, c("ae", "dm", "ex", "lb"))
  expect_true(any(startsWith(s3_keys(s3$bucket), "datom/STUDY_001/lb/")))
  expect_setequal(s3_keys(s3$gov_bucket, "datom/projects/STUDY_001/"),
                  paste0("datom/projects/STUDY_001/", c("dispatch.json", "ref.json", "migration_history.json")))
  # the repositories were created on the (stand-in) GitHub, with the token named by datom_secret()
  remote <- callr::r(function() {
    s <- source(system.file("vignette-setup", "resume_article_6.R", package = "datom"))$value
    list(data = s$data_repo_url, gov = s$gov_repo_url, pat = class(s$conn$github_pat))
  }, env = env, libpath = .libPaths())
  expect_true(startsWith(remote$data, gh$url))
  expect_true(startsWith(remote$gov, gh$url))
  expect_true("datom_secret_ref" %in% remote$pat)
  before <- state_snapshot(file.path(dir, "state"), s3)
  second <- run_resume(6, env)
  expect_identical(state_snapshot(file.path(dir, "state"), s3), before)
  expect_false(any(grepl("Writing|Wrote|synced|Registered|Copying", second$messages)))
})

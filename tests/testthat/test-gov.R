# Governing a portfolio (the article), on the local default and on S3 + the GitHub stand-in.

gov_portfolio <- function(root, data_component, gov_component, gov_url, data_url_1, data_url_2,
                          pat = NULL, api = NULL, create = FALSE) {
  quietly(datom_init_gov(gov_component, gov_repo_url = gov_url, gov_local_path = file.path(root, "gov_clone"),
                         github_pat = pat))
  store1 <- datom_store(governance = gov_component, data = data_component, github_pat = pat, github_api_url = api,
                        data_repo_url = data_url_1, gov_repo_url = gov_url,
                        gov_local_path = file.path(root, "gov_clone"), validate = FALSE)
  quietly(datom_init_repo(file.path(root, "study_001_data"), "STUDY_001", store1))
  conn1 <- datom_get_conn(path = file.path(root, "study_001_data"), store = store1)
  store2 <- datom_store(governance = gov_component, data = data_component, github_pat = pat, github_api_url = api,
                        data_repo_url = data_url_2, gov_repo_url = gov_url,
                        gov_local_path = file.path(root, "study_002_gov_clone"), validate = FALSE)
  list(store1 = store1, conn1 = conn1, store2 = store2)
}

run_portfolio_article <- function(root, data_component, gov_component, gov_url, url1, url2, list_gov_store,
                                  list_data_store, pat = NULL, api = NULL, repo_exists = NULL) {
  pf <- gov_portfolio(root, data_component, gov_component, gov_url, url1, url2, pat, api)
  conn1 <- pf$conn1
  expect_false(is.null(conn1$gov_root))
  gov_clone <- file.path(root, "gov_clone")
  expect_setequal(list.files(file.path(gov_clone, "projects", "STUDY_001")),
                  c("dispatch.json", "migration_history.json", "ref.json"))
  expect_true(file.exists(file.path(root, "study_001_data", ".datom", "governance.json")))
  g <- jsonlite::fromJSON(file.path(root, "study_001_data", ".datom", "governance.json"))
  expect_identical(g$gov_repo_url, gov_url)
  expect_false(any(grepl("gov_clone", unlist(g), fixed = TRUE)))
  cut <- datom_example_cutoffs()
  w <- list()
  for (t in c("dm", "lb")) w[[t]] <- quietly(datom_write(conn1, datom_example_data(t, cut[["month_2"]]), t))
  bytes_before <- lapply(c("dm", "lb"), function(t) datom_read(conn1, t))

  # STUDY_002 registers by a normal init against the same gov repo (same data store)
  quietly(datom_init_repo(file.path(root, "study_002_data"), "STUDY_002", pf$store2))
  conn2 <- datom_get_conn(path = file.path(root, "study_002_data"), store = pf$store2)
  quietly(datom_write(conn2, datom_example_data("dm", cut[["month_1"]]), "dm"))
  expect_setequal(list_gov_store(), c("STUDY_001/dispatch.json", "STUDY_001/migration_history.json", "STUDY_001/ref.json",
                                      "STUDY_002/dispatch.json", "STUDY_002/migration_history.json", "STUDY_002/ref.json"))
  # a duplicate name is refused before any side effect
  expect_error(datom_init_repo(file.path(root, "dup"), "STUDY_002", pf$store2), class = "datom_error_conflict")
  expect_false(dir.exists(file.path(root, "dup")))

  # the manager's gov clone sees STUDY_002 after datom_pull_gov
  expect_false(dir.exists(file.path(gov_clone, "projects", "STUDY_002")))
  expect_message(datom_pull_gov(conn1), "Gov repo up to date")
  expect_true(dir.exists(file.path(gov_clone, "projects", "STUDY_002")))
  pr <- datom_projects(conn1)
  expect_identical(pr$name, c("STUDY_001", "STUDY_002"))
  expect_identical(pr$data_root, rep(conn1$root, 2))
  expect_false(anyNA(pr$registered_at))
  pr_store <- datom_projects(datom_store(governance = gov_component, data = data_component, validate = FALSE))
  expect_identical(pr_store$name, c("STUDY_001", "STUDY_002"))
  expect_true(all(is.na(pr_store$registered_at)))

  # a reader resolves the location from ref.json in the gov store
  reader <- datom_get_conn(store = datom_store(governance = gov_component, data = data_component, validate = FALSE),
                           project_name = "STUDY_001")
  expect_identical(reader$role, "reader")
  expect_identical(as.data.frame(datom_read(reader, "lb")), datom_example_data("lb", cut[["month_2"]]))

  # decommission: wrong confirm touches nothing
  expect_error(datom_decommission(conn2, confirm = "study_002"), class = "datom_error_input")
  expect_true(dir.exists(file.path(root, "study_002_data")))
  msgs <- character()
  withCallingHandlers(datom_decommission(conn2, confirm = "STUDY_002"),
                      message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") })
  expect_true(any(grepl("Removing data store contents under datom/STUDY_002/", msgs, fixed = TRUE)))
  expect_true(any(grepl("Removed local data clone", msgs)))
  expect_true(any(grepl("Unregistered STUDY_002 from governance", msgs)))
  expect_true(any(grepl("Removed gov storage entry projects/STUDY_002/", msgs)))
  expect_identical(list_data_store("datom/STUDY_002/"), character(0))
  expect_false(dir.exists(file.path(root, "study_002_data")))
  if (!is.null(repo_exists)) expect_false(repo_exists(url2))
  expect_false(dir.exists(file.path(root, "study_002_gov_clone", "projects", "STUDY_002")))
  expect_setequal(list_gov_store(), c("STUDY_001/dispatch.json", "STUDY_001/migration_history.json", "STUDY_001/ref.json"))
  quietly(datom_pull_gov(conn1))
  expect_false(dir.exists(file.path(gov_clone, "projects", "STUDY_002")))
  expect_identical(datom_projects(conn1)$name, "STUDY_001")
  # STUDY_001 untouched, byte for byte
  expect_identical(lapply(c("dm", "lb"), function(t) datom_read(conn1, t)), bytes_before)
  expect_true(length(list_data_store("datom/STUDY_001/")) > 0)

  # the write-time guard: a ref.json that points elsewhere stops the write
  ref_key <- "STUDY_001/ref.json"
  conn1_moved <- conn1
  conn1_moved$root <- file.path(root, "elsewhere")
  expect_error(datom_write(conn1_moved, data.frame(x = 1), "x"), class = "datom_error_conflict")
  invisible(conn1)
}

test_that("the portfolio article on the local default", {
  root <- withr::local_tempdir()
  data <- quietly(datom_store_local(file.path(root, "data-store")))
  govc <- quietly(datom_store_local(file.path(root, "gov-store")))
  gs <- file.path(root, "gov-store", "datom", "projects")
  run_portfolio_article(
    root, data, govc, gov_url = file.path(root, "remotes", "acme-gov.git"),
    url1 = file.path(root, "remotes", "study-001.git"), url2 = file.path(root, "remotes", "study-002.git"),
    list_gov_store = function() sort(list.files(gs, recursive = TRUE)),
    list_data_store = function(prefix) list.files(file.path(root, "data-store", prefix), recursive = TRUE, all.files = TRUE),
    repo_exists = function(url) dir.exists(url)
  )
  # solo project with governance credentials: warning, solo conn
  solo_store <- datom_store(data = quietly(datom_store_local(file.path(root, "solo-store"))),
                            data_repo_url = file.path(root, "remotes", "solo.git"))
  quietly(datom_init_repo(file.path(root, "solo"), "SOLO", solo_store))
  s2 <- datom_store(governance = govc, data = solo_store$data, data_repo_url = solo_store$data_repo_url)
  expect_warning(c2 <- datom_get_conn(path = file.path(root, "solo"), store = s2), "no governance attached")
  expect_null(c2$gov_root)
  expect_error(datom_projects(c2), class = "datom_error_input")
  # a governed project without a governance store is refused
  expect_error(datom_get_conn(path = file.path(root, "study_001_data"),
                              store = datom_store(data = quietly(datom_store_local(file.path(root, "data-store"))),
                                                  data_repo_url = file.path(root, "remotes", "study-001.git"))),
               class = "datom_error_input")
})

test_that("the portfolio article on S3 with the GitHub stand-in", {
  gh <- github_standin()
  root <- withr::local_tempdir()
  bucket <- s3_bucket()
  gov_bucket <- s3_bucket()
  data <- s3_component(bucket)
  govc <- s3_component(gov_bucket)
  gov_url <- quietly(datom_init_gov(govc, create_repo = TRUE, repo_name = paste0("gov-", basename(root)),
                                    github_pat = github_token, github_org = "acme", github_api_url = gh$api,
                                    gov_local_path = file.path(root, "tmp_gov_clone")))
  expect_match(gov_url, "^http://127\\.0\\.0\\.1:[0-9]+/acme/gov-")
  mk <- function(n) {
    res <- datom:::engine(datom:::rs_github_ensure_repo(gh$api, github_token, "acme", paste0(n, "-", basename(root)), TRUE))
    res$clone_url
  }
  url1 <- mk("study-001"); url2 <- mk("study-002")
  run_portfolio_article(
    root, data, govc, gov_url, url1, url2,
    list_gov_store = function() sub("^datom/projects/", "", s3_keys(gov_bucket, "datom/projects/")),
    list_data_store = function(prefix) s3_keys(bucket, prefix),
    pat = github_token, api = gh$api,
    repo_exists = function(url) {
      parts <- strsplit(sub("\\.git$", "", url), "/")[[1]]
      res <- datom:::rs_github_ensure_repo(gh$api, github_token, parts[length(parts) - 1], parts[length(parts)], TRUE)
      # ensure_repo on a deleted repo creates it again: it existed only if it was reused
      !isTRUE(res$created)
    }
  )
})

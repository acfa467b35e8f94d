# The single-engineer journey on the embedded default: local store + bare remote.

test_that("init creates the clone, the first commit, the remote and the manifest mirror", {
  p <- local_project()
  expect_true(file.exists(file.path(p$clone, ".datom", "project.yaml")))
  expect_true(dir.exists(file.path(p$clone, "input_files")))
  yaml <- readLines(file.path(p$clone, ".datom", "project.yaml"))
  expect_true("project_name: STUDY_001" %in% yaml)
  expect_true("    type: local" %in% yaml)
  expect_true("    prefix: ~" %in% yaml)
  expect_true("renv: no" %in% yaml)
  gi <- readLines(file.path(p$clone, ".gitignore"))
  expect_identical(tail(gi, 1), "input_files/")
  expect_identical(git(p$clone, "log", "--format=%s"), "Initialize datom repository")
  expect_setequal(git(p$clone, "ls-files"), c(".datom/manifest.json", ".datom/project.yaml", ".gitignore", "README.md"))
  expect_identical(git(p$clone, "rev-parse", "--abbrev-ref", "HEAD"), "main")
  remote <- file.path(p$root, "remotes", "STUDY_001.git")
  expect_identical(git(remote, "rev-parse", "main"), git(p$clone, "rev-parse", "HEAD"))
  m <- jsonlite::fromJSON(file.path(p$ns, ".metadata", "manifest.json"), simplifyVector = FALSE)
  expect_identical(m$project_name, "STUDY_001")
  expect_identical(m$summary$total_tables, 0L)
  expect_identical(datom_list(p$conn)$name, character(0))
})

test_that("init refuses an existing project and an occupied namespace before any side effect", {
  p <- local_project()
  expect_error(datom_init_repo(p$clone, "STUDY_001", p$store), class = "datom_error_conflict")
  other <- file.path(p$root, "other-clone")
  store2 <- datom_store(data = p$store$data, data_repo_url = file.path(p$root, "remotes", "other.git"))
  err <- expect_error(datom_init_repo(other, "STUDY_001", store2), class = "datom_error_conflict")
  expect_match(conditionMessage(err), "already occupied by project STUDY_001")
  expect_false(dir.exists(other))
  expect_false(dir.exists(file.path(p$root, "remotes", "other.git")))
  expect_error(datom_init_repo(other, "1bad", store2), class = "datom_error_input")
  expect_error(datom_init_repo(other, "input_files", store2), class = "datom_error_input")
  expect_error(datom_init_repo(other, "P", datom_store(data = p$store$data)), class = "datom_error_role")
  expect_false(dir.exists(other))
})

test_that("a failed push rolls init back completely", {
  root <- withr::local_tempdir()
  bad_remote <- "http://127.0.0.1:9/nobody/here.git"  # nothing listens on port 9
  store <- datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = bad_remote)
  clone <- file.path(root, "a", "clone")
  expect_error(quietly(datom_init_repo(clone, "P", store)), class = "datom_error")
  expect_false(dir.exists(file.path(root, "a")))
  expect_false(file.exists(file.path(root, "store", "datom", "P", ".metadata", "manifest.json")))
})

test_that("write: full, no-op, metadata-only, new content, revert; files in git and storage", {
  p <- local_project()
  cut <- datom_example_cutoffs()
  lb1 <- datom_example_data("lb", cut[["month_1"]])
  lb2 <- datom_example_data("lb", cut[["month_2"]])
  expect_message(w1 <- datom_write(p$conn, lb1, "lb", message = "lb month 1"), "Wrote")
  expect_identical(w1$action, "full")
  expect_identical(w1$data_sha, datom_hash(lb1)$data_sha)
  expect_match(w1$commit_sha, "^[0-9a-f]{40}$")
  obj <- file.path(p$ns, "lb", paste0(w1$data_sha, ".parquet"))
  expect_true(file.exists(obj))
  expect_true(file.exists(file.path(p$ns, "lb", ".metadata", paste0(w1$metadata_sha, ".json"))))
  meta <- jsonlite::fromJSON(file.path(p$clone, "lb", "metadata.json"), simplifyVector = FALSE)
  expect_identical(meta$data_sha, w1$data_sha)
  expect_identical(meta$hash_algo, "datom-cv1")
  expect_identical(meta$parquet_sha, datom:::engine(datom:::rs_sha256_file(obj)))
  expect_identical(meta$nrow, 20L)
  expect_identical(names(meta)[1:6], c("data_sha", "hash_algo", "parquet_sha", "table_type", "nrow", "ncol"))
  expect_identical(as.character(datom_metadata_sha(meta)), w1$metadata_sha)
  # the storage copy re-hashes to the same version (dev/spec/FORMATS.md 4.6)
  txt <- paste(readLines(file.path(p$ns, "lb", ".metadata", "metadata.json")), collapse = "\n")
  expect_identical(datom:::engine(datom:::rs_metadata_sha_json(txt))$sha, w1$metadata_sha)
  expect_identical(git(p$clone, "log", "-1", "--format=%s"), "lb month 1")
  expect_setequal(git(p$clone, "show", "--name-only", "--format=", "HEAD"),
                  c(".datom/manifest.json", "lb/metadata.json", "lb/version_history.json"))

  # unchanged: nothing written anywhere
  head_before <- git(p$clone, "rev-parse", "HEAD")
  expect_message(w <- datom_write(p$conn, lb1, "lb", message = "again"), "No changes detected")
  expect_identical(w$action, "none")
  expect_null(w$commit_sha)
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head_before)
  # a different message alone is not a new version; row names and container class neither
  lb1b <- lb1; rownames(lb1b) <- paste0("r", seq_len(nrow(lb1b))); class(lb1b) <- c("tbl_df", "tbl", "data.frame")
  expect_identical(quietly(datom_write(p$conn, lb1b, "lb"))$action, "none")

  # metadata only: new version, same object, no upload
  mtime <- file.mtime(obj)
  w2 <- quietly(datom_write(p$conn, lb1, "lb", metadata = list(source = "EDC", tags = c("SDTM", "LB"))))
  expect_identical(w2$action, "metadata_only")
  expect_identical(w2$data_sha, w1$data_sha)
  expect_false(w2$metadata_sha == w1$metadata_sha)
  expect_identical(file.mtime(obj), mtime)
  expect_length(list.files(file.path(p$ns, "lb"), pattern = "parquet$"), 1L)

  # new content
  w3 <- quietly(datom_write(p$conn, lb2, "lb", message = "lb month 2"))
  expect_identical(w3$action, "full")
  expect_length(list.files(file.path(p$ns, "lb"), pattern = "parquet$"), 2L)

  # revert to the exact first state: that version is current again, no new row, no upload
  w4 <- quietly(datom_write(p$conn, lb1, "lb"))
  expect_identical(w4$action, "full")
  expect_identical(w4$metadata_sha, w1$metadata_sha)
  expect_identical(file.mtime(obj), mtime)
  h <- datom_history(p$conn, "lb")
  expect_identical(h$version, c(w3$metadata_sha, w2$metadata_sha, w1$metadata_sha))
  expect_identical(h$commit_message, c("lb month 2", "Update lb", "lb month 1"))
  expect_match(h$author, "<.+@.+>")
  l <- datom_list(p$conn, include_versions = TRUE, short_hash = FALSE)
  expect_identical(l$current_version, w1$metadata_sha)
  expect_identical(l$version_count, 3L)
  expect_identical(nrow(datom_history(p$conn, "lb", n = 2)), 2L)
})

test_that("read: current, any version by full id or unique prefix, identical values", {
  p <- local_project()
  cut <- datom_example_cutoffs()
  w <- lapply(1:3, function(i) quietly(datom_write(p$conn, datom_example_data("lb", cut[[i]]), "lb")))
  cur <- datom_read(p$conn, "lb")
  expect_s3_class(cur, "tbl_df")
  ref <- datom_example_data("lb", cut[[3]])
  expect_identical(as.data.frame(cur), ref)
  expect_identical(nrow(datom_read(p$conn, "lb", version = w[[1]]$metadata_sha)), 20L)
  expect_identical(nrow(datom_read(p$conn, "lb", version = substr(w[[2]]$metadata_sha, 1, 10))), 100L)
  expect_error(datom_read(p$conn, "lb", version = "zzzz"), class = "datom_error_not_found")
  expect_error(datom_read(p$conn, "lb", version = ""), class = "datom_error_input")
  expect_error(datom_read(p$conn, "nope"), class = "datom_error_not_found")
  expect_error(datom_read(p$conn, "lb", version = 1), class = "datom_error_input")
})

test_that("an ambiguous version prefix is refused", {
  p <- local_project()
  # write until two versions share a first hex digit
  i <- 0; shas <- character()
  repeat {
    i <- i + 1
    shas <- c(shas, quietly(datom_write(p$conn, data.frame(x = i), "t"))$metadata_sha)
    d <- substr(shas, 1, 1)
    if (anyDuplicated(d)) break
  }
  dup <- d[duplicated(d)][1]
  err <- expect_error(datom_read(p$conn, "t", version = dup), class = "datom_error_input")
  expect_match(conditionMessage(err), "ambiguous")
})

test_that("a reader with no clone reads every version from the store alone", {
  p <- local_project()
  cut <- datom_example_cutoffs()
  tabs <- c("dm", "ex", "lb", "ae")
  vers <- list()
  for (m in 1:2) for (t in tabs) {
    vers[[paste(t, m)]] <- quietly(datom_write(p$conn, datom_example_data(t, cut[[m]]), t))$metadata_sha
  }
  unlink(p$clone, recursive = TRUE)
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_identical(reader$role, "reader")
  expect_null(reader$path)
  expect_identical(datom_list(reader)$name, tabs[order(tabs)])
  for (m in 1:2) for (t in tabs) {
    back <- datom_read(reader, t, version = vers[[paste(t, m)]])
    expect_identical(as.data.frame(back), datom_example_data(t, cut[[m]]))
  }
  expect_error(datom_write(reader, data.frame(x = 1), "x"), class = "datom_error_role")
  expect_error(datom_get_conn(store = p$store), class = "datom_error_input")
})

test_that("a tampered object is refused on read", {
  p <- local_project()
  w <- quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))
  obj <- file.path(p$ns, "dm", paste0(w$data_sha, ".parquet"))
  b <- readBin(obj, "raw", file.size(obj))
  b[100] <- as.raw(bitwXor(as.integer(b[100]), 255L))
  writeBin(b, obj)
  err <- expect_error(datom_read(p$conn, "dm"), class = "datom_error_integrity")
  expect_match(conditionMessage(err), "integrity")
  expect_match(conditionMessage(err), w$data_sha)
})

test_that("bad input is refused before anything is written", {
  p <- local_project()
  head0 <- git(p$clone, "rev-parse", "HEAD")
  df <- data.frame(id = 1:2); df$z <- complex(real = 1:2, imaginary = 0)
  expect_error(datom_write(p$conn, df, "t"), class = "datom_error_unsupported")
  expect_error(datom_write(p$conn, data.frame(x = integer(0)), "t"), class = "datom_error_input")
  expect_error(datom_write(p$conn, list(x = 1), "t"), class = "datom_error_input")
  expect_error(datom_write(p$conn, data.frame(x = 1), "bad/name"), class = "datom_error_input")
  expect_error(datom_write(p$conn, data.frame(x = 1), "t", metadata = list(1)), class = "datom_error_input")
  expect_error(datom_write(p$conn, data.frame(x = 1), "t", parents = list(list(source = "P"))), class = "datom_error_input")
  expect_error(datom_write("conn", data.frame(x = 1), "t"), class = "datom_error_input")
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head0)
  expect_false(dir.exists(file.path(p$clone, "t")))
  expect_false(dir.exists(file.path(p$ns, "t")))
})

test_that("a push rejected as non-fast-forward changes nothing and says to pull", {
  p <- local_project()
  remote <- file.path(p$root, "remotes", "STUDY_001.git")
  bea <- file.path(p$root, "bea")
  git(p$root, "clone", "-q", shQuote(remote), shQuote(bea))
  bea_conn <- datom_get_conn(path = bea, store = p$store)
  quietly(datom_write(p$conn, datom_example_data("lb", "2026-01-28"), "lb"))
  head_bea <- git(bea, "rev-parse", "HEAD")
  ae <- datom_example_data("ae", "2026-02-28")
  err <- expect_error(datom_write(bea_conn, ae, "ae"), class = "datom_error_push_rejected")
  expect_match(conditionMessage(err), "Failed to push to origin/main: rejected \\(non-fast-forward\\)")
  expect_match(conditionMessage(err), "datom_pull\\(conn\\)")
  expect_identical(git(bea, "rev-parse", "HEAD"), head_bea)
  expect_identical(git(bea, "status", "--porcelain"), character(0))
  expect_false(dir.exists(file.path(bea, "ae")))
  expect_false(dir.exists(file.path(p$ns, "ae")))
  # after a fast-forward the retry lands on top of the other write
  git(bea, "pull", "-q", "--ff-only")
  w <- quietly(datom_write(bea_conn, ae, "ae"))
  expect_identical(w$action, "full")
  expect_identical(datom_list(p$conn)$name, c("ae", "lb"))
})

test_that("store and conn print without secrets", {
  p <- local_project()
  s <- datom_store(data = p$store$data, data_repo_url = p$store$data_repo_url, github_pat = "ghp_supersecret123",
                   validate = FALSE)
  out <- paste(capture.output(print(s)), collapse = "\n")
  expect_match(out, "ghp_\\*\\*\\*\\*")
  expect_false(grepl("supersecret", out))
  out <- paste(capture.output(print(p$conn)), collapse = "\n")
  expect_match(out, "datom connection")
  expect_match(out, "Project: \"STUDY_001\"")
  expect_match(out, "Role: \"developer\"")
  expect_match(out, "Backend: \"local\"")
  expect_true(is_datom_store(s))
  expect_false(is_datom_store(1))
  expect_true(is_datom_store_local(p$store$data))
})

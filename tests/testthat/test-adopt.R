# datom_adopt(): projects written by the original datom (0.1.x), laid out
# exactly as dev/spec/FORMATS.md 9.2.1 says (built from the format in helper-adopt.R),
# adopted into the project-scoped layout.

# stores handed to child processes use the AWS chain (env) for S3
use_env_s3_creds()

adoption_case <- function(o, info = NULL) {
  store <- o$store_obj
  # the original's store cannot be read before: the reader says why
  err <- expect_error(datom_read(datom_get_conn(path = o$clone, store = store), "lb"), class = "datom_error_not_found")
  expect_match(conditionMessage(err), "datom_adopt", info = info)
  # the dry run lists the plan and changes nothing
  before <- store_keys(o$data)
  plan <- adopt_quietly(o$clone, store)
  expect_identical(store_keys(o$data), before, info = info)
  expect_identical(git(o$clone, "status", "--porcelain"), character(0))
  n_obj <- sum(lengths(o$versions)) # one parquet object and one snapshot per version here
  expect_identical(nrow(plan$objects), 2L * n_obj, info = info)
  expect_true(all(plan$objects$action == "copy"), info = info)
  expect_setequal(plan$objects$key[plan$objects$kind == "parquet"],
                  unlist(Map(function(t, d) paste0(t, "/", d, ".parquet"), rep(names(o$data_shas), lengths(o$data_shas)), unlist(o$data_shas))))
  expect_false(plan$complete)
  expect_null(plan$repo_change)
  expect_identical(nrow(plan$missing), 0L)
  expect_true(".metadata/publication.json" %in% plan$mirrors)
  msgs <- testthat::capture_messages(datom_adopt(o$clone, store))
  expect_true(any(grepl("dry run: nothing was changed", msgs)), info = info)
  # the adoption
  res <- adopt_quietly(o$clone, store, dry_run = FALSE)
  expect_identical(nrow(res$copied), 2L * n_obj, info = info)
  expect_identical(res$verified, 2 * n_obj)
  expect_identical(res$published, git(o$clone, "rev-parse", "HEAD"))
  conn <- datom_get_conn(path = o$clone, store = store)
  expect_adopted(o, conn, info)
  reader <- datom_get_conn(store = datom_store(data = o$data), project_name = o$name)
  expect_adopted(o, reader, info)
  expect_true(quietly(datom_validate(conn, deep = TRUE))$valid, info = info)
  # the original's objects are still there; a second run changes nothing
  expect_true(all(before %in% store_keys(o$data)), info = info)
  after <- store_keys(o$data)
  again <- adopt_quietly(o$clone, store, dry_run = FALSE)
  expect_true(again$complete, info = info)
  expect_identical(nrow(again$copied), 0L)
  expect_identical(store_keys(o$data), after, info = info)
  expect_true(any(grepl("nothing to do", testthat::capture_messages(datom_adopt(o$clone, store)))))
  expect_identical(git(o$clone, "log", "--format=%s", "-1"), paste("Update", names(o$tables)[length(o$tables)]))
  # the project keeps working: a new version
  d <- data.frame(x = c(1, 2, 4))
  quietly(datom_write(conn, d, "one"))
  expect_identical(as.data.frame(datom_read(reader, "one")), d)
  # removal of the old objects: listed first, then only the project's own go
  pre_rm <- store_keys(o$data)
  rm_plan <- adopt_quietly(o$clone, store, remove_old = TRUE)
  expect_identical(store_keys(o$data), pre_rm, info = info)
  expect_true(length(rm_plan$deleted) > 0)
  adopt_quietly(o$clone, store, dry_run = FALSE, remove_old = TRUE)
  left <- store_keys(o$data)
  P <- "study-001/datom/"
  old_own <- before[!startsWith(before, paste0(P, "OTHER/"))]
  expect_false(any(old_own %in% left), info = info)
  expect_true(paste0(P, ".metadata/adopted.json") %in% left, info = info)
  expect_true(all(before[startsWith(before, paste0(P, "OTHER/"))] %in% left), info = info)
  expect_true(quietly(datom_validate(conn, deep = TRUE))$valid, info = info)
  expect_identical(as.data.frame(datom_read(reader, "lb", version = o$versions$lb[1])), o$tables$lb[[1]])
  # and adoption stays a no-op
  expect_true(adopt_quietly(o$clone, store)$complete, info = info)
  conn
}

test_that("a local 0.1.x store is adopted in place: every version, id and history entry kept; idempotent; old objects removed on request", {
  o <- original_project()
  # another (project-scoped) project shares the store and prefix: never touched
  other_store <- datom_store(data = o$data, data_repo_url = file.path(o$root_dir, "other.git"))
  quietly(datom_init_repo(file.path(o$root_dir, "other"), "OTHER", other_store))
  other <- datom_get_conn(path = file.path(o$root_dir, "other"), store = other_store)
  quietly(datom_write(other, data.frame(y = 1:2), "t"))
  plan <- adopt_quietly(o$clone, o$store_obj)
  expect_true(all(startsWith(plan$skipped, "OTHER/")))
  expect_true(length(plan$skipped) > 0)
  adoption_case(o, info = "local")
  expect_identical(as.data.frame(datom_read(other, "t")), data.frame(y = 1:2))
  expect_true(quietly(datom_validate(other))$valid)
})

test_that("an S3 0.1.x store is adopted in place (moto)", {
  bucket <- s3_bucket()
  o <- original_project(bucket = bucket)
  expect_true("study-001/datom/.metadata/manifest.json" %in% s3_keys(bucket))
  adoption_case(o, info = "s3")
})

test_that("adoption into another store moves the data: project.yaml committed, old store untouched", {
  o <- original_project(prefix = NULL, legacy = FALSE)
  bucket <- s3_bucket()
  to <- s3_component_chain(bucket, "adopted/")
  before <- store_keys(o$data)
  plan <- adopt_quietly(o$clone, o$store_obj, to = to)
  expect_match(plan$repo_change, "storage.data")
  res <- adopt_quietly(o$clone, o$store_obj, to = to, dry_run = FALSE)
  expect_false(is.null(res$repo_commit))
  expect_identical(git(o$clone, "log", "--format=%s", "-1"), "Adopt data store: STUDY_001")
  expect_identical(git(o$clone, "status", "--porcelain"), character(0))
  expect_true(all(before %in% store_keys(o$data)))
  expect_true(all(startsWith(s3_keys(bucket), "adopted/datom/STUDY_001/")))
  conn <- datom_get_conn(path = o$clone, store = datom_store(data = to, data_repo_url = o$remote))
  expect_adopted(o, conn, "move")
  expect_true(quietly(datom_validate(conn, deep = TRUE))$valid)
  # re-run (with the original store, as the first time): nothing to do
  expect_true(adopt_quietly(o$clone, o$store_obj, to = to)$complete)
})

test_that("a governed 0.1.x project is registered in governance (or found registered), and connects without warnings", {
  root <- withr::local_tempdir("datom-orig-gov-")
  govc <- quietly(datom_store_local(file.path(root, "gov-store")))
  url <- quietly(datom_init_gov(govc, gov_repo_url = file.path(root, "gov.git"), gov_local_path = file.path(root, "gov_clone")))
  g <- list(repo_url = url, storage = list(type = "local", root = normalizePath(file.path(root, "gov-store"))))
  o <- original_project(governance = g)
  store <- datom_store(governance = govc, data = o$data, data_repo_url = o$remote, gov_repo_url = url,
                       gov_local_path = file.path(root, "gov_clone"))
  # governed: the governance component is required
  expect_error(datom_adopt(o$clone, o$store_obj), class = "datom_error_input")
  plan <- adopt_quietly(o$clone, store)
  expect_identical(plan$governance, "register")
  expect_false(dir.exists(file.path(root, "gov_clone", "projects", "STUDY_001")))
  adopt_quietly(o$clone, store, dry_run = FALSE)
  expect_identical(git(file.path(root, "gov_clone"), "log", "--format=%s", "-1"), "Register project STUDY_001")
  ref <- jsonlite::fromJSON(file.path(root, "gov_clone", "projects", "STUDY_001", "ref.json"))
  expect_identical(ref$current$root, o$store)
  expect_identical(ref$current$prefix, "study-001/")
  expect_warning(conn <- datom_get_conn(path = o$clone, store = store), NA)
  expect_identical(datom_projects(conn)$name, "STUDY_001")
  expect_adopted(o, conn, "governed")
  expect_true(quietly(datom_validate(conn, deep = TRUE))$valid)
  expect_identical(adopt_quietly(o$clone, store)$governance, "registered")
  expect_true(adopt_quietly(o$clone, store)$complete)

  # a project the original registered itself (the governance files written
  # from the format): found registered, nothing to do there
  o2 <- original_project(name = "STUDY_002", prefix = "study-002/", governance = g)
  gc <- file.path(root, "gov_clone")
  dir.create(file.path(gc, "projects", "STUDY_002"))
  files <- list(
    dispatch.json = list(methods = list(r = list(default = "datom::datom_read"), python = list(default = "datom.read"))),
    ref.json = list(current = list(type = "local", root = o2$store, prefix = "study-002/"), previous = list()),
    migration_history.json = list()
  )
  for (f in names(files)) {
    txt <- paste0(datom:::rs_to_json(files[[f]], TRUE), "\n")
    writeLines(txt, file.path(gc, "projects", "STUDY_002", f), sep = "")
    dir.create(file.path(root, "gov-store", "datom", "projects", "STUDY_002"), recursive = TRUE, showWarnings = FALSE)
    writeLines(txt, file.path(root, "gov-store", "datom", "projects", "STUDY_002", f), sep = "")
  }
  git(gc, "add", "projects/STUDY_002")
  git(gc, "-c", "user.name=o", "-c", "user.email=o@x", "commit", "-q", "-m", shQuote("Register project STUDY_002"))
  git(gc, "push", "-q", "origin", "HEAD")
  store2 <- datom_store(governance = govc, data = o2$data, data_repo_url = o2$remote, gov_repo_url = url, gov_local_path = gc)
  expect_identical(adopt_quietly(o2$clone, store2)$governance, "registered")
  adopt_quietly(o2$clone, store2, dry_run = FALSE)
  expect_identical(git(gc, "log", "--format=%s", "-1"), "Register project STUDY_002")
  conn2 <- datom_get_conn(path = o2$clone, store = store2)
  expect_adopted(o2, conn2, "registered")
  expect_setequal(datom_projects(conn2)$name, c("STUDY_001", "STUDY_002"))
})

test_that("datom_adopt refuses before any side effect: wrong store, no 0.1.x project, taken destination, damaged object, bad arguments", {
  o <- original_project(legacy = FALSE)
  before <- store_keys(o$data)
  # a store that is not the one project.yaml records
  elsewhere <- quietly(datom_store_local(withr::local_tempdir()))
  expect_error(datom_adopt(o$clone, datom_store(data = elsewhere, data_repo_url = o$remote)), class = "datom_error_conflict")
  # the right store with another prefix holds no 0.1.x project... and is not the recorded one either
  wrong_prefix <- quietly(datom_store_local(o$store, prefix = "elsewhere/"))
  expect_error(datom_adopt(o$clone, datom_store(data = wrong_prefix, data_repo_url = o$remote)), class = "datom_error_conflict")
  # no 0.1.x manifest at the recorded root
  file.rename(file.path(o$root, ".metadata", "manifest.json"), file.path(o$root_dir, "manifest.json"))
  expect_error(datom_adopt(o$clone, o$store_obj), class = "datom_error_not_found")
  file.rename(file.path(o$root_dir, "manifest.json"), file.path(o$root, ".metadata", "manifest.json"))
  # a damaged original object: integrity error, nothing published
  obj <- file.path(o$root, "lb", paste0(o$data_shas$lb[2], ".parquet"))
  good <- readBin(obj, "raw", file.size(obj))
  writeBin(charToRaw("damaged"), obj)
  err <- expect_error(adopt_quietly(o$clone, o$store_obj, dry_run = FALSE), class = "datom_error_integrity")
  expect_match(conditionMessage(err), "parquet_sha")
  expect_false(file.exists(file.path(o$root, "STUDY_001", ".metadata", "publication.json")))
  writeBin(good, obj)
  # removal before a completed adoption
  expect_error(adopt_quietly(o$clone, o$store_obj, dry_run = FALSE, remove_old = TRUE), class = "datom_error_conflict")
  # the destination namespace of another project
  dir.create(file.path(o$root, "STUDY_001", ".metadata"), recursive = TRUE, showWarnings = FALSE)
  writeLines('{"project_name": "SOMEONE_ELSE"}', file.path(o$root, "STUDY_001", ".metadata", "manifest.json"))
  expect_error(datom_adopt(o$clone, o$store_obj), class = "datom_error_conflict")
  unlink(file.path(o$root, "STUDY_001"), recursive = TRUE)
  # arguments
  expect_error(datom_adopt(o$clone, o$data), class = "datom_error_input")
  expect_error(datom_adopt(o$clone, o$store_obj, dry_run = NA), class = "datom_error_input")
  expect_error(datom_adopt(o$clone, o$store_obj, to = o$store_obj), class = "datom_error_input")
  expect_error(datom_adopt(file.path(o$root_dir, "nope"), o$store_obj), class = "datom_error_input")
  # the original store is as it was; the adoption then goes through
  expect_true(all(before %in% store_keys(o$data)))
  adopt_quietly(o$clone, o$store_obj, dry_run = FALSE)
  expect_adopted(o, datom_get_conn(path = o$clone, store = o$store_obj), "after refusals")
})

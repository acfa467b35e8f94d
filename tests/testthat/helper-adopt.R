# the 0.1.x fixture writer
source(system.file("fixtures", "original-layout.R", package = "datom"), local = TRUE)
# Projects as the original datom (0.1.x) writes them, built from the format
# (dev/spec/FORMATS.md 8, 9.2.1) by write_original_project() (inst/fixtures/original-layout.R), and the checks
# the adoption tests share.

original_tables <- function() {
  cut <- datom_example_cutoffs()
  list(
    lb = list(datom_example_data("lb", cut[["month_1"]]), datom_example_data("lb", cut[["month_2"]])),
    dm = list(datom_example_data("dm", cut[["month_1"]])),
    one = list(data.frame(x = c(1.5, NA, 3)))
  )
}

# An original project: local store by default; with `bucket`, its store
# files are uploaded to that bucket (keys as written) and project.yaml names it.
original_project <- function(env = parent.frame(), name = "STUDY_001", prefix = "study-001/", bucket = NULL,
                             governance = NULL, legacy = TRUE, tables = original_tables()) {
  root <- withr::local_tempdir("datom-orig-", .local_envir = env)
  location <- if (!is.null(bucket)) list(type = "s3", root = bucket, region = "us-east-1")
  o <- write_original_project(root, name, tables, prefix = prefix, governance = governance,
                                      legacy = legacy, location = location)
  if (!is.null(bucket)) s3_upload_dir(o$store, bucket)
  o$name <- name
  o$tables <- tables
  o$root_dir <- root
  o$data <- if (is.null(bucket)) quietly(datom_store_local(o$store, prefix = prefix)) else s3_component_chain(bucket, prefix)
  o$store_obj <- datom_store(data = o$data, data_repo_url = o$remote)
  o
}

s3_upload_dir <- function(dir, bucket) {
  run_python(c(
    "import sys, os, boto3",
    "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "                 aws_access_key_id='testing', aws_secret_access_key='testing')",
    "base = sys.argv[3]",
    "for d, _, fs in os.walk(base):",
    "    for f in fs:",
    "        p = os.path.join(d, f)",
    "        c.upload_file(p, sys.argv[2], os.path.relpath(p, base).replace(os.sep, '/'))"
  ), s3_server()$endpoint, bucket, dir)
}

# Every object under a store (local folder or bucket), as keys.
store_keys <- function(data) {
  if (inherits(data, "datom_store_local")) return(sort(list.files(data$path, recursive = TRUE, all.files = TRUE)))
  s3_keys(data$bucket)
}

# Every version of every table of the original reads back identical from
# `conn`, with the same ids, data_sha and history entries as the data repo.
expect_adopted <- function(o, conn, info = NULL) {
  expect_setequal(datom_list(conn)$name, names(o$tables))
  for (t in names(o$tables)) {
    h <- datom_history(conn, t, n = 100)
    expect_identical(h$version, rev(o$versions[[t]]), info = info)
    expect_identical(h$data_sha, rev(o$data_shas[[t]]), info = info)
    git_hist <- jsonlite::fromJSON(file.path(o$clone, t, "version_history.json"), simplifyVector = FALSE)
    expect_identical(h$timestamp, vapply(git_hist, `[[`, "", "timestamp"), info = info)
    expect_identical(h$commit_message, vapply(git_hist, `[[`, "", "commit_message"), info = info)
    for (i in seq_along(o$versions[[t]])) {
      got <- as.data.frame(datom_read(conn, t, version = o$versions[[t]][i]))
      expect_identical(got, o$tables[[t]][[i]], info = paste(info, t, i))
    }
    expect_identical(as.data.frame(datom_read(conn, t)), o$tables[[t]][[length(o$tables[[t]])]], info = info)
  }
}

adopt_quietly <- function(...) quietly(datom_adopt(...))

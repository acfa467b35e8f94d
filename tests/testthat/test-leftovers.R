# A write killed while its object is being written leaves an unfinished
# upload: a hidden temporary file beside the key (local store) or an
# incomplete multipart upload (S3). Invisible to readers, but it takes space
# (and is billed on S3). datom_validate() names it; its fix removes it once it
# is older than DATOM_STALE_UPLOAD seconds (a younger one may be a write that
# is still running). Checked here against what the store itself holds.

# Unfinished uploads in the store, seen from outside datom.
unfinished_in_store <- function(p) {
  if (is.null(p$bucket)) {
    f <- list.files(file.path(p$root, "store"), all.files = TRUE, recursive = TRUE, no.. = TRUE)
    return(f[grepl("\\.tmp-[0-9]+-[0-9]+$", basename(f))])
  }
  run_python(c(
    "import sys, boto3",
    "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "                 aws_access_key_id='testing', aws_secret_access_key='testing')",
    "for u in c.list_multipart_uploads(Bucket=sys.argv[2]).get('Uploads', []): print(u['Key'])"
  ), s3_server()$endpoint, p$bucket)
}

# `ages`: the store tells how old an upload is. moto does not: it answers
# every ListMultipartUploads with the same Initiated time (2010-11-10), so
# there an upload counts as stale at once (real S3 gives the real time).
run_leftover_case <- function(p, ages = TRUE) {
  # large enough that S3 starts a multipart upload while it encodes
  set.seed(42)
  big <- data.frame(x = stats::runif(1.5e6), y = stats::runif(1.5e6))
  killed_at("write.push", function(path, store, big) {
    datom::datom_write(datom::datom_get_conn(path = path, store = store), big, "big", message = "big")
  }, list(p$clone, p$store, big))
  left <- unfinished_in_store(p)
  expect_length(left, 1L)

  # the documented repair of the write itself: run it again
  quietly(datom_write(p$conn, big, "big", message = "big"))
  v <- quietly(datom_validate(p$conn))
  expect_true(v$valid)
  u <- v$problems[v$problems$kind == "unfinished_upload", , drop = FALSE]
  expect_identical(nrow(u), 1L)
  expect_identical(u$table, "big")
  expect_match(u$detail, "big/[0-9a-f]{64}\\.parquet")
  if (ages) {
    # just left: it may be a write still running, so it is only named
    expect_identical(u$severity, "info")
    # the fix leaves a young one alone
    quietly(datom_validate(p$conn, fix = TRUE))
    expect_length(unfinished_in_store(p), 1L)
  } else {
    expect_identical(u$severity, "warning")
  }

  withr::local_envvar(c(DATOM_STALE_UPLOAD = "0"))
  msgs <- character()
  v <- withCallingHandlers(datom_validate(p$conn), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage")
  })
  # a stale one is a warning with its repair; the project is still consistent
  expect_true(v$valid)
  u <- v$problems[v$problems$kind == "unfinished_upload", , drop = FALSE]
  expect_identical(u$severity, "warning")
  expect_identical(u$repair, "datom_validate(conn, fix = TRUE)")
  expect_true(any(grepl("unfinished upload of .*big/", msgs)))
  msgs <- character()
  withCallingHandlers(datom_validate(p$conn, fix = TRUE), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage")
  })
  expect_true(any(grepl("Removed 1 unfinished upload", msgs)))
  expect_length(unfinished_in_store(p), 0L)
  v <- quietly(datom_validate(p$conn))
  expect_false("unfinished_upload" %in% v$problems$kind)
  # the version itself is untouched
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_identical(as.data.frame(datom_read(reader, "big")), big)
}

test_that("a killed write's unfinished upload: named by validate, removed by its fix once stale (local)", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  run_leftover_case(local_project())
})

test_that("a killed write's unfinished upload: named by validate, removed by its fix once stale (S3)", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  use_env_s3_creds()
  run_leftover_case(s3_project(chain = TRUE), ages = FALSE)
})

test_that("decommissioning a project removes its unfinished uploads with its objects", {
  need_component(requireNamespace("callr", quietly = TRUE), "callr")
  p <- local_project()
  set.seed(7)
  big <- data.frame(x = stats::runif(2e5))
  killed_at("write.push", function(path, store, big) {
    datom::datom_write(datom::datom_get_conn(path = path, store = store), big, "big", message = "big")
  }, list(p$clone, p$store, big))
  expect_length(unfinished_in_store(p), 1L)
  quietly(datom_decommission(p$conn, confirm = "STUDY_001"))
  expect_length(unfinished_in_store(p), 0L)
  expect_false(dir.exists(p$ns))
})

# The single-engineer journey again, with the data store on a real S3 server.

test_that("datom_store_s3 validates the bucket and masks secrets", {
  bucket <- s3_bucket()
  s3 <- s3_component(bucket, prefix = "study-001/")
  expect_true(is_datom_store_s3(s3))
  expect_false(is_datom_store_s3_creds(s3))
  out <- paste(capture.output(print(s3)), collapse = "\n")
  expect_match(out, "Bucket: \"datom-test-")
  expect_match(out, "Secret key: \\*\\*\\*\\*")
  expect_false(grepl("testing-secret", out))
  err <- expect_error(s3_component("no-such-bucket-here"), class = "datom_error")
  expect_match(conditionMessage(err), "does not exist")
  cr <- datom_store_s3_creds("AKIAEXAMPLE1234", "shh-secret")
  expect_true(is_datom_store_s3_creds(cr))
  out <- paste(capture.output(print(cr)), collapse = "\n")
  expect_match(out, "AKIA\\*\\*\\*\\*")
  expect_false(grepl("shh-secret", out))
  expect_error(datom_store_s3(bucket, access_key = "x"), class = "datom_error_input")
  # credentials only: the AWS chain when no keys; only inside a governed store
  expect_true(is_datom_store_s3_creds(datom_store_s3_creds()))
  expect_error(datom_store_s3_creds("AKIAONLY"), class = "datom_error_input")
  expect_error(datom_store(data = cr), class = "datom_error_input")
})

test_that("init, write, read, list, history on S3; keys follow dev/spec/FORMATS.md 9", {
  p <- s3_project(prefix = "study-001/")
  cut <- datom_example_cutoffs()
  w1 <- quietly(datom_write(p$conn, datom_example_data("lb", cut[["month_1"]]), "lb"))
  w2 <- quietly(datom_write(p$conn, datom_example_data("lb", cut[["month_2"]]), "lb"))
  expect_identical(quietly(datom_write(p$conn, datom_example_data("lb", cut[["month_2"]]), "lb"))$action, "none")
  w3 <- quietly(datom_write(p$conn, datom_example_data("lb", cut[["month_2"]]), "lb", metadata = list(a = 1L)))
  expect_identical(w3$action, "metadata_only")
  keys <- s3_keys(p$bucket)
  ns <- "study-001/datom/STUDY_001/"
  expect_true(paste0(ns, ".metadata/manifest.json") %in% keys)
  expect_true(paste0(ns, "lb/", w1$data_sha, ".parquet") %in% keys)
  expect_true(paste0(ns, "lb/", w2$data_sha, ".parquet") %in% keys)
  expect_true(paste0(ns, "lb/.metadata/", w3$metadata_sha, ".json") %in% keys)
  expect_true(all(startsWith(keys, ns)))
  expect_identical(as.data.frame(datom_read(p$conn, "lb", version = substr(w1$metadata_sha, 1, 12))),
                   datom_example_data("lb", cut[["month_1"]]))
  expect_identical(datom_list(p$conn)$name, "lb")
  expect_identical(nrow(datom_history(p$conn, "lb")), 3L)
  # a reader with storage credentials only
  unlink(p$clone, recursive = TRUE)
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_identical(reader$role, "reader")
  for (v in datom_history(reader, "lb")$version) expect_s3_class(datom_read(reader, "lb", version = v), "data.frame")
  expect_identical(nrow(datom_read(reader, "lb")), 100L)
})

test_that("two projects share a bucket without touching each other; namespace check on S3", {
  p <- s3_project("STUDY_001")
  store2 <- datom_store(data = p$store$data, data_repo_url = file.path(p$root, "remotes", "STUDY_00.git"))
  quietly(datom_init_repo(file.path(p$root, "c2"), "STUDY_00", store2))
  c2 <- datom_get_conn(path = file.path(p$root, "c2"), store = store2)
  quietly(datom_write(c2, datom_example_data("dm"), "dm"))
  expect_identical(datom_list(p$conn)$name, character(0))
  expect_identical(datom_list(c2)$name, "dm")
  store3 <- datom_store(data = p$store$data, data_repo_url = file.path(p$root, "remotes", "again.git"))
  expect_error(datom_init_repo(file.path(p$root, "c3"), "STUDY_00", store3), class = "datom_error_conflict")
  expect_false(dir.exists(file.path(p$root, "c3")))
})

test_that("a tampered S3 object is refused on read", {
  p <- s3_project()
  w <- quietly(datom_write(p$conn, datom_example_data("dm"), "dm"))
  run_python(c(
    "import sys, boto3",
    "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "                 aws_access_key_id='testing', aws_secret_access_key='testing')",
    "c.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=b'not parquet')"
  ), s3_server()$endpoint, p$bucket, paste0("datom/STUDY_001/dm/", w$data_sha, ".parquet"))
  expect_error(datom_read(p$conn, "dm"), class = "datom_error_integrity")
})

test_that("a reader reads the current version of a table in 2 S3 requests", {
  p <- s3_project()
  set.seed(3)
  quietly(datom_write(p$conn, data.frame(x = runif(1e6), g = sample(letters, 1e6, TRUE)), "big"))
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  n <- datom:::engine(datom:::rs_bench_reader_requests(reader, "big"))
  # metadata.json, then one GET of the parquet object (~10 MB: a stream too
  # short ever to be split into ranges)
  expect_identical(n, 2L)
})

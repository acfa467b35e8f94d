# The storage extension API on both backends, and copies across them.

storage_suite <- function(p, reader_store) {
  quietly(datom_write(p$conn, datom_example_data("dm", "2026-01-28"), "dm"))
  quietly(datom_write(p$conn, datom_example_data("ae", "2026-02-28"), "ae"))
  keys <- datom_storage_list(p$conn)
  expect_true(all(grepl("datom/STUDY_001/", keys, fixed = TRUE)))
  # manifest, publication marker + per table: parquet, metadata, history, snapshot, current-version log
  expect_length(keys, 2 + 2 * 5)
  # copy to a fresh local store and verify both ways
  dest <- datom_get_conn(store = reader_store, project_name = "STUDY_001")
  copied <- quietly(datom_storage_copy(p$conn, dest))
  expect_identical(nrow(copied), length(keys))
  expect_true(all(quietly(datom_storage_verify(p$conn, dest))$ok))
  expect_true(all(quietly(datom_storage_verify(p$conn, dest, mode = "content"))$ok))
  expect_identical(as.data.frame(datom_read(dest, "dm")), datom_example_data("dm", "2026-01-28"))
  # tamper the destination: both modes see it
  k <- copied$key[grepl("^dm/[0-9a-f]{64}\\.parquet$", copied$key)]
  n <- quietly(datom_storage_delete_prefix(dest, "dm"))
  expect_identical(n, 5L)
  v <- quietly(datom_storage_verify(p$conn, dest, keys = k))
  expect_identical(v$issue, "destination object not found")
  expect_error(datom_storage_verify(p$conn, dest, keys = "no/such.key"), class = "datom_error")
  expect_identical(quietly(datom_storage_delete_prefix(dest)), as.integer(length(keys) - 5L))
  expect_identical(datom_storage_list(dest), character(0))
  expect_identical(quietly(datom_storage_delete_prefix(dest)), 0L)
}

test_that("storage API on the local backend", {
  p <- local_project()
  storage_suite(p, datom_store(data = quietly(datom_store_local(file.path(p$root, "dest")))))
})

test_that("storage API on S3, and copies S3 -> local -> S3", {
  p <- s3_project()
  storage_suite(p, datom_store(data = quietly(datom_store_local(file.path(p$root, "dest")))))
  # local -> S3: another bucket on the same server
  local_src <- local_project()
  quietly(datom_write(local_src$conn, datom_example_data("lb", "2026-01-28"), "lb"))
  to_s3 <- datom_get_conn(store = datom_store(data = s3_component(s3_bucket())), project_name = "STUDY_001")
  copied <- quietly(datom_storage_copy(local_src$conn, to_s3))
  expect_true(all(quietly(datom_storage_verify(local_src$conn, to_s3, mode = "content"))$ok))
  expect_identical(as.data.frame(datom_read(to_s3, "lb")), datom_example_data("lb", "2026-01-28"))
  empty <- datom_get_conn(store = datom_store(data = s3_component(s3_bucket())), project_name = "STUDY_001")
  expect_message(out <- datom_storage_copy(empty, to_s3), "nothing to copy")
  expect_identical(nrow(out), 0L)
})

# Time travel: as_of reads (reverts included), history windows, datom_locate
# (read by pyarrow), datom_changes. Commit times cannot be controlled, so the
# tests take the instants from the store's own current-version log.

store_log <- function(p, table) {
  jsonlite::fromJSON(file.path(p$ns, table, ".metadata", "current_log.json"), simplifyVector = TRUE)
}

# The version the log says was current at instant `s` (newest entry first).
log_current_at <- function(log, s) {
  t <- as.POSIXct(log$since, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  hit <- which(t <= s)
  if (length(hit) == 0) NA_character_ else log$version[[hit[[1]]]]
}

test_that("as_of reads the version current at an instant, reverts included", {
  p <- local_project()
  lb1 <- data.frame(id = 1:3, x = c(1.5, 2.5, 3.5))
  lb2 <- data.frame(id = 1:5, x = c(1.5, 2.5, 9, 4, 5))
  w1 <- quietly(datom_write(p$conn, lb1, "lb", message = "one"))
  w2 <- quietly(datom_write(p$conn, lb2, "lb", message = "two"))
  w3 <- quietly(datom_write(p$conn, lb1, "lb", message = "revert")) # back to lb1
  expect_identical(w3$metadata_sha, w1$metadata_sha)

  log <- store_log(p, "lb")
  expect_identical(log$version, c(w1$metadata_sha, w2$metadata_sha, w1$metadata_sha))
  since <- as.POSIXct(log$since, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  for (s in unique(since)) {
    s <- as.POSIXct(s, origin = "1970-01-01", tz = "UTC")
    want <- log_current_at(log, s)
    for (conn in list(p$conn, reader)) {
      got <- datom_read(conn, "lb", as_of = s)
      expect_identical(got, datom_read(conn, "lb", version = want))
      # the same instant as a string, in another zone, and as a Date's end
      iso <- format(s, "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
      expect_identical(datom_read(conn, "lb", as_of = iso), got)
      plus2 <- paste0(format(s + 7200, "%Y-%m-%d %H:%M:%S", tz = "UTC"), "+02:00")
      expect_identical(datom_read(conn, "lb", as_of = plus2), got)
      expect_identical(datom_locate(conn, "lb", as_of = s)$version, want)
    }
  }
  # a fraction of a second after the last commit is still that second
  expect_identical(datom_read(reader, "lb", as_of = max(since) + 0.9), datom_read(reader, "lb"))
  # the end of today, and far future: the current version (the revert)
  expect_identical(nrow(datom_read(reader, "lb", as_of = as.Date("2999-12-31"))), 3L)
  expect_identical(nrow(datom_read(reader, "lb", as_of = Sys.Date())), 3L)
  # before the first version
  expect_error(datom_read(reader, "lb", as_of = min(since) - 1), class = "datom_error_not_found")
  expect_error(datom_read(reader, "lb", as_of = "2000-01-01"), class = "datom_error_not_found")
  # version and as_of together; bad instants
  expect_error(datom_read(reader, "lb", version = w1$metadata_sha, as_of = Sys.time()), "version. or .as_of., not both\\.",
               class = "datom_error_input")
  expect_error(datom_locate(reader, "lb", version = w1$metadata_sha, as_of = "2026-01-01"), "not both",
               class = "datom_error_input")
  expect_error(datom_read(reader, "lb", as_of = "yesterday"), class = "datom_error_input")
  expect_error(datom_read(reader, "lb", as_of = "2026-02-30"), class = "datom_error_input")
  expect_error(datom_read(reader, "lb", as_of = c(Sys.time(), Sys.time())), class = "datom_error_input")
  expect_error(datom_read(reader, "lb", as_of = 5), class = "datom_error_input")
  expect_error(datom_read(reader, "nope", as_of = Sys.time()), class = "datom_error_not_found")
})

test_that("instants: POSIXct in any zone, Dates as the end of the day, ISO strings", {
  expect_identical(as_instant(as.POSIXct("2026-03-31 19:00:00", tz = "Europe/Paris"), "x"), "2026-03-31T17:00:00Z")
  expect_identical(as_instant(as.Date("2026-03-31"), "x"), "2026-03-31T23:59:59Z")
  expect_identical(as_instant("2026-03-31", "x"), "2026-03-31T23:59:59Z")
  expect_identical(as_instant("2026-03-31T17:00:00Z", "x"), "2026-03-31T17:00:00Z")
  expect_identical(as_instant("2026-03-31T17:00Z", "x"), "2026-03-31T17:00:00Z")
  expect_identical(as_instant("2026-03-31 17:00:00.75", "x"), "2026-03-31T17:00:00Z")
  expect_identical(as_instant("2026-03-31T17:00:00-0530", "x"), "2026-03-31T22:30:00Z")
  expect_identical(as_instant(as.POSIXct(1.9, origin = "1970-01-01", tz = "UTC"), "x"), "1970-01-01T00:00:01Z")
  expect_null(as_instant(NULL, "x"))
  expect_error(as_instant(NA, "x"), class = "datom_error_input")
  expect_error(as_instant("2026-13-01", "x"), class = "datom_error_input")
})

test_that("history since/until filter on the version timestamps", {
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(a = 1), "t"))
  quietly(datom_write(p$conn, data.frame(a = 2), "t"))
  h <- datom_history(p$conn, "t")
  ts <- as.POSIXct(h$timestamp, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  expect_identical(datom_history(p$conn, "t", since = min(ts))$version, h$version)
  expect_identical(datom_history(p$conn, "t", until = min(ts))$version, h$version[ts == min(ts)])
  expect_identical(datom_history(p$conn, "t", since = max(ts))$version, h$version[ts == max(ts)])
  expect_identical(nrow(datom_history(p$conn, "t", since = max(ts) + 1)), 0L)
  expect_identical(nrow(datom_history(p$conn, "t", until = "2000-01-01")), 0L)
  expect_error(datom_history(p$conn, "t", since = max(ts) + 1, until = min(ts)), class = "datom_error_input")
})

test_that("datom_locate: the object other engines read, verified on request", {
  p <- local_project()
  df <- data.frame(id = 1:250, v = sqrt(1:250), s = rep(c("a", "b"), 125))
  w1 <- quietly(datom_write(p$conn, df, "lb"))
  quietly(datom_write(p$conn, df[1:100, ], "lb"))
  l <- datom_locate(p$conn, "lb")
  expect_s3_class(l, "datom_location")
  expect_identical(l$backend, "local")
  expect_true(file.exists(l$uri))
  expect_identical(normalizePath(l$uri), l$uri)
  expect_identical(l$bytes, as.numeric(file.size(l$uri)))
  expect_identical(unname(tools::md5sum(l$uri)), unname(tools::md5sum(file.path(p$ns, "lb", paste0(l$data_sha, ".parquet")))))
  old <- datom_locate(p$conn, "lb", version = substr(w1$metadata_sha, 1, 10), verify = TRUE)
  expect_identical(old$version, w1$metadata_sha)
  expect_identical(old$data_sha, w1$data_sha)
  expect_output(print(old), "uri:")
  # pyarrow reads exactly that version
  n <- run_python(c("import sys, pyarrow.parquet as pq", "print(pq.read_table(sys.argv[1]).num_rows)"), old$uri)
  expect_identical(as.integer(n), 250L)
  n <- run_python(c("import sys, pyarrow.parquet as pq", "print(pq.read_table(sys.argv[1]).num_rows)"), l$uri)
  expect_identical(as.integer(n), 100L)
  # and DuckDB (in the build venv: make py-deps)
  has_duck <- identical(suppressWarnings(system2(python_bin(), c("-c", shQuote("import duckdb")), stdout = FALSE, stderr = FALSE, env = py_env)), 0L)
  need_component(has_duck, "Python duckdb (make py-deps)")
  q <- run_python(c("import sys, duckdb", "print(duckdb.connect().execute(\"select count(*), sum(id) from read_parquet(?)\", [sys.argv[1]]).fetchall()[0])"), old$uri)
  expect_identical(q, "(250, 31375)")
  # a tampered object fails verification but is still located
  writeBin(charToRaw("not parquet"), old$uri)
  expect_error(datom_locate(p$conn, "lb", version = w1$metadata_sha, verify = TRUE), class = "datom_error_integrity")
  expect_identical(datom_locate(p$conn, "lb", version = w1$metadata_sha)$bytes, 11)
  expect_error(datom_locate(p$conn, "lb", version = "ffff"), class = "datom_error_not_found")
  expect_error(datom_locate(p$conn, "lb", verify = NA), class = "datom_error_input")
})

test_that("datom_changes: every table's versions in a window, writes and reverts", {
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(a = 1), "dm", message = "dm 1"))
  quietly(datom_write(p$conn, data.frame(b = 1), "lb", message = "lb 1"))
  quietly(datom_write(p$conn, data.frame(b = 2), "lb", message = "lb 2"))
  quietly(datom_write(p$conn, data.frame(b = 1), "lb", message = "lb back"))
  ch <- datom_changes(p$conn, since = "2000-01-01T00:00:00Z")
  expect_named(ch, c("table", "version", "data_sha", "timestamp", "author", "message", "action"))
  expect_identical(sort(paste(ch$table, ch$action)), sort(c("dm write", "lb write", "lb write", "lb revert")))
  expect_identical(ch$timestamp, sort(ch$timestamp, decreasing = TRUE))
  lb <- ch[ch$table == "lb", ]
  expect_identical(lb$action, c("revert", "write", "write"))
  expect_identical(lb$message, c("lb 1", "lb 2", "lb 1"))
  expect_identical(lb$version[[1]], lb$version[[3]])
  expect_match(ch$author, "<.+@.+>")
  # the window is inclusive and follows the log's instants
  log <- store_log(p, "lb")
  last <- as.POSIXct(log$since[[1]], format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  w <- datom_changes(p$conn, since = last)
  expect_true(all(w$timestamp >= log$since[[1]]))
  expect_true("revert" %in% w$action)
  expect_identical(nrow(datom_changes(p$conn, since = last + 1)), 0L)
  expect_identical(nrow(datom_changes(p$conn, since = "2000-01-01", until = "2000-12-31")), 0L)
  expect_error(datom_changes(p$conn), class = "datom_error_input")
})

test_that("as_of, locate and changes on S3", {
  p <- s3_project()
  w1 <- quietly(datom_write(p$conn, data.frame(id = 1:4), "ae"))
  quietly(datom_write(p$conn, data.frame(id = 1:6), "ae"))
  l <- datom_locate(p$conn, "ae", version = w1$metadata_sha, verify = TRUE)
  expect_identical(l$backend, "s3")
  expect_identical(l$uri, paste0("s3://", p$bucket, "/", l$key))
  expect_true(l$key %in% s3_keys(p$bucket))
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  h <- datom_changes(reader, since = "2000-01-01")
  expect_identical(nrow(h), 2L)
  first <- as.POSIXct(min(h$timestamp), format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  expect_error(datom_read(reader, "ae", as_of = first - 1), class = "datom_error_not_found")
  expect_identical(nrow(datom_read(reader, "ae", as_of = Sys.time() + 60)), 6L)
})

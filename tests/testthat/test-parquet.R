# data.frame <-> Arrow <-> parquet round trips (identical(), attributes included)

roundtrip <- function(df) {
  f <- tempfile(fileext = ".parquet")
  on.exit(unlink(f))
  w <- datom:::parquet_write(df, f)
  expect_match(w$parquet_sha, "^[0-9a-f]{64}$")
  expect_identical(w$size_bytes, as.numeric(file.size(f)))
  expect_identical(w$parquet_sha, datom:::engine(datom:::rs_sha256_file(f)))
  datom:::parquet_read(f, w$parquet_sha)
}

test_that("every supported type round-trips identically", {
  df <- data.frame(
    lgl = c(TRUE, FALSE, NA),
    int = c(1L, NA, -5L),
    dbl = c(1.5, NA, -0.25),
    chr = c("a", NA, ""),
    fct = factor(c("b", NA, "a"), levels = c("a", "b", "unused")),
    ord = factor(c("lo", "hi", "lo"), levels = c("lo", "hi"), ordered = TRUE),
    stringsAsFactors = FALSE
  )
  df$date <- as.Date(c("2026-01-01", NA, "1969-07-20"))
  df$idate <- structure(c(20454L, NA, 0L), class = "Date")
  df$ct_utc <- as.POSIXct(c("2026-01-02 03:04:05", NA, "1999-12-31 23:59:59"), tz = "UTC")
  df$ct_paris <- as.POSIXct(c("2026-06-01 12:00:00.5", NA, "2000-01-01"), tz = "Europe/Paris")
  df$ct_notz <- structure(c(0, NA, 1e9), class = c("POSIXct", "POSIXt"))
  df$secs <- as.difftime(c(1, NA, 2.5), units = "secs")
  df$mins <- as.difftime(c(1, NA, 90), units = "mins")
  df$hours <- as.difftime(c(0.5, NA, 48), units = "hours")
  df$days <- as.difftime(c(1, NA, 365), units = "days")
  df$weeks <- as.difftime(c(1, NA, 52), units = "weeks")
  df$hms <- structure(c(3600, NA, 86399), class = c("hms", "difftime"), units = "secs")
  back <- roundtrip(df)
  expect_identical(back, df)
  expect_identical(datom_hash(back)$data_sha, datom_hash(df)$data_sha)
})

test_that("special doubles, non-ASCII names and values round-trip", {
  df <- data.frame(x = c(0, -0, Inf, -Inf, NaN, NA, .Machine$double.xmax, 1/3))
  df[["na\u00efve \u65e5\u672c"]] <- c("caf\u00e9", "\u65e5\u672c\u8a9e", NA, "", "a", "b", "c", "d")
  back <- roundtrip(df)
  expect_identical(back, df)
  expect_identical(is.na(back$x) & !is.nan(back$x), c(FALSE, FALSE, FALSE, FALSE, FALSE, TRUE, FALSE, FALSE))
  expect_identical(datom_hash(back)$data_sha, datom_hash(df)$data_sha)
})

test_that("integer64 round-trips when bit64 is installed", {
  need_component(requireNamespace("bit64", quietly = TRUE), "bit64")
  df <- data.frame(id = 1:4)
  df$big <- bit64::as.integer64(c("9007199254740993", NA, "-1", "0"))
  back <- roundtrip(df)
  expect_identical(back, df)
})

test_that("hms objects and labelled vectors keep their attributes", {
  need_component(requireNamespace("hms", quietly = TRUE), "hms")
  df <- data.frame(id = 1:2)
  df$t <- hms::hms(seconds = c(10, 20))
  df$lab <- structure(c(1, 2), labels = c(yes = 1, no = 2), label = "Answer",
                      class = c("haven_labelled", "vctrs_vctr", "double"))
  back <- roundtrip(df)
  expect_identical(back, df)
})

test_that("large tables span several row groups", {
  n <- 2.2e6
  df <- data.frame(i = seq_len(n), s = rep_len(c("x", "yy", NA), n))
  back <- roundtrip(df)
  expect_identical(back, df)
})

test_that("tibble-like classes survive", {
  df <- data.frame(x = 1:3)
  class(df) <- c("tbl_df", "tbl", "data.frame")
  back <- roundtrip(df)
  expect_identical(class(back), class(df))
})

test_that("bad input is refused before anything is written", {
  f <- tempfile(fileext = ".parquet")
  expect_error(datom:::parquet_write(list(a = 1), f), class = "datom_error_input")
  expect_error(datom:::parquet_write(data.frame(), f), class = "datom_error_input")
  expect_error(datom:::parquet_write(data.frame(x = integer(0)), f), class = "datom_error_input")
  d <- data.frame(a = 1, b = 2); names(d) <- c("a", "a")
  expect_error(datom:::parquet_write(d, f), class = "datom_error_input")
  d <- data.frame(a = 1, b = 2); names(d) <- c("a", "")
  expect_error(datom:::parquet_write(d, f), class = "datom_error_input")
  d <- data.frame(a = 1:2); d$l <- list(1, 2)
  expect_error(datom:::parquet_write(d, f), class = "datom_error_unsupported")
  expect_false(file.exists(f))
  expect_length(list.files(dirname(f), pattern = basename(f), all.files = TRUE), 0L)
})

test_that("a tampered object is refused on read", {
  f <- tempfile(fileext = ".parquet")
  w <- datom:::parquet_write(data.frame(x = 1:10), f)
  b <- readBin(f, "raw", file.size(f))
  b[length(b) %/% 2] <- as.raw(bitwXor(as.integer(b[length(b) %/% 2]), 1L))
  writeBin(b, f)
  err <- expect_error(datom:::parquet_read(f, w$parquet_sha), class = "datom_error_integrity")
  expect_match(conditionMessage(err), w$parquet_sha)
  expect_error(datom:::parquet_read(tempfile()), class = "datom_error_not_found")
})

test_that("pyarrow reads what datom wrote with the right types", {
  df <- data.frame(s = c("a", NA, "c"), f = factor(c("x", "y", NA)), i = c(1L, NA, 3L), d = c(0.5, NA, 2))
  df$date <- as.Date(c("2026-01-01", NA, "2026-12-31"))
  df$ts <- as.POSIXct(c("2026-01-02 03:04:05", NA, "2026-01-03 00:00:00"), tz = "Europe/Paris")
  f <- tempfile(fileext = ".parquet")
  datom:::parquet_write(df, f)
  out <- run_python(c(
    "import sys, pyarrow.parquet as pq",
    "t = pq.read_table(sys.argv[1])",
    "for fld in t.schema: print(fld.name, fld.type)",
    "print('rows', t.num_rows)",
    "print('s', t.column('s').to_pylist())",
    "print('f', t.column('f').to_pylist())",
    "print('date', [str(x) for x in t.column('date').to_pylist()])",
    "print('ts', t.column('ts').cast('int64').to_pylist())"
  ), f)
  expect_true("s string" %in% out)
  expect_true(any(grepl("^f dictionary<values=string, indices=int32", out)))
  expect_true("i int32" %in% out)
  expect_true("d double" %in% out)
  expect_true("date date32[day]" %in% out)
  expect_true("ts timestamp[us, tz=Europe/Paris]" %in% out)
  expect_true("rows 3" %in% out)
  expect_true("s ['a', None, 'c']" %in% out)
  expect_true("f ['x', 'y', None]" %in% out)
  expect_true("date ['2026-01-01', 'None', '2026-12-31']" %in% out)
  expect_true(sprintf("ts [%.0f, None, %.0f]", as.numeric(df$ts[1]) * 1e6, as.numeric(df$ts[3]) * 1e6) %in% out)
})

test_that("datom reads what pyarrow wrote", {
  f <- tempfile(fileext = ".parquet")
  run_python(c(
    "import sys, datetime, pyarrow as pa, pyarrow.parquet as pq",
    "t = pa.table({",
    "  's': pa.array(['a', None, 'c']),",
    "  'f': pa.array(['x', 'y', None]).dictionary_encode(),",
    "  'date': pa.array([datetime.date(2026, 1, 1), None, datetime.date(1970, 1, 2)], pa.date32()),",
    "  'ts': pa.array([1767323045000000, None, 0], pa.timestamp('us', tz='Europe/Paris')),",
    "  'i': pa.array([1, None, 3], pa.int32()),",
    "  'b': pa.array([True, None, False]),",
    "})",
    "pq.write_table(t, sys.argv[1])"
  ), f)
  back <- datom:::parquet_read(f)
  expect_identical(back$s, c("a", NA, "c"))
  expect_identical(back$f, factor(c("x", "y", NA)))
  expect_identical(back$date, as.Date(c("2026-01-01", NA, "1970-01-02")))
  expect_identical(back$ts, structure(c(1767323045, NA, 0), class = c("POSIXct", "POSIXt"), tzone = "Europe/Paris"))
  expect_identical(back$i, c(1L, NA, 3L))
  expect_identical(back$b, c(TRUE, NA, FALSE))
  expect_identical(nrow(back), 3L)
})

test_that("worked examples of dev/spec/FORMATS.md 3.9", {
  expect_identical(datom_hash(data.frame(x = c(1, NA)))$data_sha,
                   "af61b9c93c5b2d30bfc41485e6c479ed44f4605691c780659d9048b3de34eb7f")
  h <- datom_hash(data.frame(id = 1:4, score = c(1.5, 2.5, 3.5, 4.5), grp = c("a", "a", "b", "b")))
  expect_identical(h$data_sha, "79b8bd92f5d8374ff6def4525c725a348517fd140535b34de6717575d603944a")
  expect_identical(h$column_hashes$name, c("id", "score", "grp"))
  expect_identical(h$column_hashes$sha, c(
    "297996590d071a87f59a8eaafc116eb86466ea387e3a8a5664c49ae303d150a3",
    "5a0bbf12d1ba873579577b1f30f2c0b7fc291dbc05bef540f0d956b76d28e796",
    "4f9cd03a5227c3e41695b538fc11cb8da83ac96801a8e1e2bf3b6eeb1bf86f81"))
  d <- data.frame(s = c("a", NA, ""))
  expect_identical(datom_hash(d)$column_hashes$sha, "121c94ffc706b9572dbb21fcc5265be012f4b3a5632ebc7aac644081dfc387eb")
})

test_that("appendix A multi-type fixture", {
  d <- data.frame(n = c(1L, NA, 3L), s = c("a", NA, ""), f = factor(c("x", "y", "x")))
  d$d <- as.Date(c("2026-01-01", NA, "2026-12-31"))
  d$t <- as.POSIXct(c("2026-01-02 03:04:05", NA, "1999-12-31 23:59:59"), tz = "UTC")
  expect_identical(datom_hash(d)$data_sha, "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2")
})

test_that("required relations hold", {
  h <- function(x) datom_hash(x)$data_sha
  t1 <- data.frame(x = as.POSIXct("2026-01-02 03:04:05", tz = "UTC"))
  t2 <- t1; attr(t2$x, "tzone") <- "America/New_York"
  expect_identical(h(t1), h(t2))
  expect_identical(h(data.frame(x = c(1, 0/0))), h(data.frame(x = c(1, -(0/0)))))
  expect_false(h(data.frame(x = c(1, NA))) == h(data.frame(x = c(1, NaN))))
  expect_false(h(data.frame(a = 1, b = 2)) == h(data.frame(b = 2, a = 1)))
  expect_false(h(data.frame(x = 1:2)) == h(data.frame(x = 2:1)))
  expect_false(h(data.frame(x = 1)) == h(data.frame(y = 1)))
  # container class, row names and factor levels are not identity
  df <- data.frame(x = factor(c("a", "b"), levels = c("b", "a", "zz")))
  df2 <- data.frame(x = c("a", "b"))
  rownames(df2) <- c("r1", "r2")
  class(df2) <- c("tbl_df", "tbl", "data.frame")
  expect_identical(h(df), h(df2))
  # difftime units are identity
  expect_false(h(data.frame(x = as.difftime(60, units = "secs"))) ==
               h(data.frame(x = as.difftime(1, units = "mins"))))
  # hms and ITime-like of the same clock times are equal
  a <- data.frame(x = 1:2); a$x <- structure(c(3600, 7200), class = c("hms", "difftime"), units = "secs")
  b <- data.frame(x = 1:2); b$x <- structure(c(3600L, 7200L), class = "ITime")
  expect_identical(h(a), h(b))
  # labelled vectors hash as their bare vector
  l <- data.frame(x = 1:2); l$x <- structure(c(1, 2), labels = c(A = 1), label = "L", class = c("haven_labelled", "vctrs_vctr", "double"))
  expect_identical(h(l), h(data.frame(x = c(1, 2))))
  # integer64 is not the double of the same value
  i <- data.frame(x = 1:2); i$x <- structure(c(1, 2), class = "integer64")
  expect_false(h(i) == h(data.frame(x = c(1, 2))))
})

test_that("strings are hashed as UTF-8 whatever their declared encoding", {
  u <- "caf\u00e9"
  l <- iconv(u, "UTF-8", "latin1")
  expect_identical(Encoding(l), "latin1")
  expect_identical(datom_hash(data.frame(x = u))$data_sha, datom_hash(data.frame(x = l))$data_sha)
  # NFC and NFD differ
  expect_false(datom_hash(data.frame(x = "\u00e9"))$data_sha == datom_hash(data.frame(x = "e\u0301"))$data_sha)
})

test_that("hashing refuses bad input before doing anything", {
  expect_error(datom_hash(list(a = 1)), class = "datom_error_input")
  expect_error(datom_hash(1:3), class = "datom_error")
  expect_error(datom_hash(data.frame()), class = "datom_error_input")
  expect_error(datom_hash(data.frame(x = integer(0))), class = "datom_error_input")
  df <- data.frame(id = 1:2)
  df$z <- complex(real = 1:2, imaginary = 0)
  df$l <- list(1, "a")
  df$p <- as.POSIXlt(c("2026-01-01", "2026-01-02"), tz = "UTC")
  err <- tryCatch(datom_hash(df), error = function(e) e)
  expect_s3_class(err, "datom_error_unsupported")
  expect_s3_class(err, "datom_error")
  msg <- conditionMessage(err)
  expect_match(msg, "3 of 4 columns")
  expect_match(msg, "z")
  expect_match(msg, "POSIXct")
  expect_match(msg, "imaginary")
})

test_that("metadata_sha: in-memory and parsed-from-file agree for what datom writes", {
  m <- list(data_sha = "79b8bd92f5d8374ff6def4525c725a348517fd140535b34de6717575d603944a",
            hash_algo = "datom-cv1", table_type = "derived", nrow = 4L, ncol = 3L,
            colnames = c("id", "score", "grp"),
            custom = list(description = "Scores per subject", tags = c("Efficacy", "SDTM")),
            created_at = "2026-01-01T00:00:00Z")
  sha <- datom_metadata_sha(m)
  expect_identical(as.character(sha), "eede1dc5e315e0b62e3575f7468396fcec11a14372f8572ae4a072675b127127")
  txt <- datom:::engine(datom:::rs_to_json(m, TRUE))
  parsed <- datom:::engine(datom:::rs_metadata_sha_json(txt))
  expect_identical(parsed$sha, as.character(sha))
  expect_error(datom_metadata_sha("x"), class = "datom_error_input")
  expect_error(datom_metadata_sha(list(a = Sys.time())), class = "datom_error_input")
})

test_that("a long character column hashes the same whatever its strings' declared encodings", {
  # long enough to be read in two halves side by side; translated strings,
  # repeated runs, NA and ASCII in both halves
  u <- c("caf\u00e9", "na\u00efve", "plain", NA, "\u00fcber")
  n <- 2^20 + 7
  x <- rep_len(u, n)
  x[c(2, n - 1)] <- "caf\u00e9"
  x[n %/% 2 + 0:3] <- "\u00fcber"
  l <- iconv(x, "UTF-8", "latin1")
  expect_true(any(Encoding(l) == "latin1"))
  h_utf8 <- datom_hash(data.frame(x = x, stringsAsFactors = FALSE))
  h_latin1 <- datom_hash(data.frame(x = l, stringsAsFactors = FALSE))
  expect_identical(h_latin1$data_sha, h_utf8$data_sha)
  # and the same as the short vectors' rule, piece by piece
  short <- datom_hash(data.frame(x = l[1:10], stringsAsFactors = FALSE))
  expect_identical(short$data_sha, datom_hash(data.frame(x = x[1:10], stringsAsFactors = FALSE))$data_sha)
})

# datom_diff() against an R reference on generated data: added, removed,
# changed cells, schema changes, NA vs value, factor levels, POSIXct zones.

# The reference: rows matched by paste()d keys; values compared as R sees
# them (factors by label, POSIXct by instant, NA equal only to NA).
ref_diff <- function(a, b, keys) {
  kstr <- function(x) do.call(paste, c(lapply(keys, function(k) ifelse(is.na(x[[k]]), "\001NA", as.character(x[[k]]))), sep = "\r"))
  ka <- kstr(a)
  kb <- kstr(b)
  ia <- match(kb, ka)
  both <- which(!is.na(ia))
  cols <- setdiff(intersect(names(b), names(a)), keys)
  norm <- function(v) if (is.factor(v)) as.character(v) else if (inherits(v, "POSIXct")) as.numeric(v) else v
  cells <- list()
  for (col in cols) {
    x <- norm(a[[col]])[ia[both]]
    y <- norm(b[[col]])[both]
    if (!identical(class(x), class(y))) {
      x <- as.character(x)
      y <- as.character(y)
    }
    same <- (is.na(x) & is.na(y)) | (!is.na(x) & !is.na(y) & x == y)
    d <- both[!same]
    if (length(d)) cells[[col]] <- data.frame(key = kb[d], column = col, stringsAsFactors = FALSE)
  }
  cells <- do.call(rbind, c(list(data.frame(key = character(), column = character())), cells))
  type <- function(v) {
    t <- if (is.null(attr(v, "class"))) typeof(v) else class(v)[[1]]
    if (t == "POSIXct") paste0("POSIXct (", attr(v, "tzone"), ")") else t
  }
  shared <- intersect(names(b), names(a))
  schema <- data.frame(column = character(), change = character())
  for (n in names(b)) {
    if (!n %in% names(a)) schema <- rbind(schema, data.frame(column = n, change = "added"))
    else if (type(a[[n]]) != type(b[[n]])) schema <- rbind(schema, data.frame(column = n, change = "type_changed"))
  }
  for (n in setdiff(names(a), names(b))) schema <- rbind(schema, data.frame(column = n, change = "removed"))
  rownames(schema) <- NULL
  nchg <- length(unique(cells$key))
  list(
    added = as.numeric(sum(is.na(ia))), removed = as.numeric(sum(!ka %in% kb)),
    changed = as.numeric(nchg), unchanged = as.numeric(length(both) - nchg),
    added_keys = sort(kb[is.na(ia)]), removed_keys = sort(ka[!ka %in% kb]),
    cells = cells[order(cells$key, cells$column), , drop = FALSE],
    schema = schema,
    kstr = kstr
  )
}

gen_cuts <- function(n = 2000, seed = 42) {
  set.seed(seed)
  subj <- sprintf("S-%04d", rep(seq_len(n / 4), each = 4))
  a <- data.frame(
    USUBJID = subj,
    LBSEQ = rep(1:4, n / 4),
    LBTESTCD = factor(sample(c("ALT", "AST", "HGB", "WBC"), n, TRUE), levels = c("ALT", "AST", "HGB", "WBC")),
    LBSTRESN = round(rnorm(n, 50, 10), 1),
    LBSTRESC = sample(c("LOW", "NORMAL", "HIGH", NA), n, TRUE),
    LBDTC = as.POSIXct("2026-01-01", tz = "UTC") + sample(0:1e6, n),
    VISITNUM = sample(1:5, n, TRUE),
    FLAG = sample(c(TRUE, FALSE, NA), n, TRUE),
    OLDCOL = seq_len(n),
    stringsAsFactors = FALSE
  )
  a$LBSTRESN[sample(n, 40)] <- NA
  b <- a
  # values: numbers changed, NA -> value, value -> NA, strings, logicals
  i <- sample(n, 60); b$LBSTRESN[i] <- b$LBSTRESN[i] + 1
  i <- which(is.na(a$LBSTRESN))[1:10]; b$LBSTRESN[i] <- 1.5
  i <- sample(which(!is.na(a$LBSTRESN)), 10); b$LBSTRESN[i] <- NA
  i <- sample(n, 30); b$LBSTRESC[i] <- "CHANGED"
  i <- sample(n, 20); b$FLAG[i] <- !b$FLAG[i]
  # factor: new level order (no value change), plus some labels changed
  b$LBTESTCD <- factor(as.character(b$LBTESTCD), levels = c("WBC", "HGB", "AST", "ALT", "CRP"))
  i <- sample(n, 25); b$LBTESTCD[i] <- "CRP"
  # POSIXct: another zone (same instants), plus some instants moved
  attr(b$LBDTC, "tzone") <- "America/New_York"
  i <- sample(n, 15); b$LBDTC[i] <- b$LBDTC[i] + 3600
  # type change: integer -> double, same values but a few
  b$VISITNUM <- as.double(b$VISITNUM)
  i <- sample(n, 5); b$VISITNUM[i] <- b$VISITNUM[i] + 0.5
  # schema: one column removed, one added
  b$OLDCOL <- NULL
  b$NEWCOL <- sample(letters, n, TRUE)
  # rows: some removed, some added, order shuffled
  b <- b[-sample(n, 50), ]
  new <- a[sample(n, 70), ]
  new$USUBJID <- sprintf("N-%04d", seq_len(70))
  new$OLDCOL <- NULL
  new$NEWCOL <- "z"
  new$VISITNUM <- as.double(new$VISITNUM)
  new$LBTESTCD <- factor(as.character(new$LBTESTCD), levels = levels(b$LBTESTCD))
  attr(new$LBDTC, "tzone") <- "America/New_York"
  b <- rbind(b, new)
  b <- b[sample(nrow(b)), ]
  rownames(b) <- NULL
  list(a = a, b = b)
}

test_that("keyed diff matches the R reference: rows, cells, schema", {
  p <- local_project()
  cuts <- gen_cuts()
  w1 <- quietly(datom_write(p$conn, cuts$a, "lb", message = "cut 1"))
  w2 <- quietly(datom_write(p$conn, cuts$b, "lb", message = "cut 2"))
  keys <- c("USUBJID", "LBSEQ")
  d <- datom_diff(p$conn, "lb", keys = keys)
  ref <- ref_diff(cuts$a, cuts$b, keys)
  expect_s3_class(d, "datom_diff")
  expect_identical(d$from, w1$metadata_sha)
  expect_identical(d$to, w2$metadata_sha)
  expect_identical(d$summary, data.frame(added = ref$added, removed = ref$removed, changed = ref$changed, unchanged = ref$unchanged))
  expect_true(ref$changed > 100 && ref$added == 70 && ref$removed == 50)
  # the rows themselves, all columns, with their types
  expect_identical(sort(ref$kstr(d$added)), ref$added_keys)
  expect_identical(sort(ref$kstr(d$removed)), ref$removed_keys)
  expect_named(d$added, names(cuts$b))
  expect_named(d$removed, names(cuts$a))
  expect_s3_class(d$added$LBDTC, "POSIXct")
  expect_identical(levels(d$added$LBTESTCD), levels(cuts$b$LBTESTCD))
  # one row per changed cell, key columns typed as in `to`
  expect_named(d$changed, c(keys, "column", "from", "to"))
  expect_type(d$changed$LBSEQ, "integer")
  got <- data.frame(key = ref$kstr(d$changed), column = d$changed$column, stringsAsFactors = FALSE)
  got <- got[order(got$key, got$column), , drop = FALSE]
  rownames(got) <- NULL
  rownames(ref$cells) <- NULL
  expect_identical(got, ref$cells)
  expect_identical(sort(unique(d$changed$column)), sort(c("LBSTRESN", "LBSTRESC", "FLAG", "LBTESTCD", "LBDTC", "VISITNUM")))
  # values as character, NA vs value both ways
  num <- d$changed[d$changed$column == "LBSTRESN", ]
  expect_true(any(is.na(num$from) & num$to == "1.5"))
  expect_true(any(!is.na(num$from) & is.na(num$to)))
  expect_true(all(d$changed$to[d$changed$column == "LBTESTCD"] == "CRP"))
  expect_true(all(d$changed$to[d$changed$column == "LBSTRESC"] == "CHANGED"))
  fl <- d$changed[d$changed$column == "FLAG", ]
  expect_true(all(fl$from %in% c("TRUE", "FALSE") & fl$to %in% c("TRUE", "FALSE") & fl$from != fl$to))
  vn <- d$changed[d$changed$column == "VISITNUM", ]
  expect_identical(nrow(vn), 5L)
  expect_true(all(grepl("\\.5$", vn$to)))
  # a moved instant shows as UTC text
  tm <- d$changed[d$changed$column == "LBDTC", ][1, ]
  row_a <- cuts$a[cuts$a$USUBJID == tm$USUBJID & cuts$a$LBSEQ == tm$LBSEQ, ]
  expect_identical(tm$from, format(row_a$LBDTC, "%Y-%m-%d %H:%M:%SZ", tz = "UTC"))
  # schema
  expect_identical(d$schema[, c("column", "change")], ref$schema)
  expect_identical(d$schema$to_type[d$schema$column == "LBDTC"], "POSIXct (America/New_York)")
  expect_identical(d$schema$from_type[d$schema$column == "VISITNUM"], "integer")
  expect_identical(d$schema$to_type[d$schema$column == "VISITNUM"], "double")
  # the review print
  out <- capture.output(print(d))
  expect_match(out[[1]], "lb")
  expect_true(any(grepl("70 added, 50 removed", out)))
  expect_true(any(grepl("+ NEWCOL <character>", out, fixed = TRUE)))
  expect_true(any(grepl("- OLDCOL <integer>", out, fixed = TRUE)))
  expect_true(any(grepl("changed cells", out)))

  # the same diff named by version prefixes and by instants (the log's own)
  d2 <- datom_diff(p$conn, "lb", from = substr(w1$metadata_sha, 1, 12), to = w2$metadata_sha, keys = keys)
  expect_identical(d2$summary, d$summary)
  log <- jsonlite::fromJSON(file.path(p$ns, "lb", ".metadata", "current_log.json"))
  at <- as.POSIXct(log$since, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  if (length(unique(at)) == 2) {
    d3 <- datom_diff(p$conn, "lb", from = min(at), to = log$since[[1]], keys = keys)
    expect_identical(d3$summary, d$summary)
  }
  # reversed: added and removed swap
  r <- datom_diff(p$conn, "lb", from = w2$metadata_sha, to = w1$metadata_sha, keys = keys)
  expect_identical(c(r$summary$added, r$summary$removed, r$summary$changed), c(50, 70, ref$changed))

  # a reader gets the same diff
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_identical(datom_diff(reader, "lb", keys = keys)$changed, d$changed)
})

test_that("whole-row diff, identical versions, duplicate keys, bad input", {
  p <- local_project()
  a <- data.frame(id = c(1L, 2L, 2L, 3L), v = c("a", "b", "b", NA))
  b <- data.frame(id = c(2L, 3L, 4L, 1L), v = c("b", NA, "d", "x"))
  w1 <- quietly(datom_write(p$conn, a, "t"))
  w2 <- quietly(datom_write(p$conn, b, "t"))
  d <- datom_diff(p$conn, "t")
  # multiset: (2,b) once kept once removed, (3,NA) kept, (1,a) removed; (4,d), (1,x) added
  expect_identical(d$summary, data.frame(added = 2, removed = 2, changed = 0, unchanged = 2))
  expect_identical(d$added, data.frame(id = c(4L, 1L), v = c("d", "x")))
  expect_identical(d$removed$id, c(1L, 2L))
  expect_identical(nrow(d$changed), 0L)
  expect_named(d$changed, c("column", "from", "to"))
  # a side given as an upper-case version prefix is a version, not an instant
  expect_identical(datom_diff(p$conn, "t", from = toupper(substr(w1$metadata_sha, 1, 8)), to = w2$metadata_sha)$summary,
                   d$summary)
  # the default commit message; a table is "derived" or "imported"
  expect_identical(datom_history(p$conn, "t")$commit_message, c("Update t", "Update t"))
  expect_error(datom_write(p$conn, a, "t2", .table_type = "raw"), '"derived" or "imported"', class = "datom_error_input")
  # identical data: nothing read, counts from the metadata
  s <- datom_diff(p$conn, "t", from = w2$metadata_sha, to = w2$metadata_sha)
  expect_true(s$identical)
  expect_identical(s$summary, data.frame(added = 0, removed = 0, changed = 0, unchanged = 4))
  expect_output(print(s), "identical")
  # duplicate keys name the key and a count
  expect_error(datom_diff(p$conn, "t", keys = "id"), class = "datom_error_input")
  err <- tryCatch(datom_diff(p$conn, "t", keys = "id"), error = conditionMessage)
  expect_match(err, "Key \\(id\\)")
  expect_match(err, "1 row")
  expect_match(err, 'id = "2"', fixed = TRUE)
  expect_error(datom_diff(p$conn, "t", keys = "nope"), class = "datom_error_input")
  expect_error(datom_diff(p$conn, "t", keys = character()), class = "datom_error_input")
  expect_error(datom_diff(p$conn, "t", from = w1$metadata_sha, to = Sys.time(), keys = "v"), class = "datom_error_input")
  # the first version has nothing before it
  expect_error(datom_diff(p$conn, "t", to = w1$metadata_sha), class = "datom_error_not_found")
  expect_error(datom_diff(p$conn, "t", from = "2000-01-01"), class = "datom_error_not_found")
  # keyed, rows added only: no changed cells, key columns still named
  quietly(datom_write(p$conn, rbind(b, data.frame(id = 5L, v = "e")), "t"))
  k <- datom_diff(p$conn, "t", keys = "id")
  expect_identical(k$summary, data.frame(added = 1, removed = 0, changed = 0, unchanged = 4))
  expect_identical(k$added, data.frame(id = 5L, v = "e"))
  expect_named(k$changed, c("id", "column", "from", "to"))
  expect_identical(nrow(k$changed), 0L)
  expect_identical(nrow(k$removed), 0L)
  expect_output(print(k), "1 added, 0 removed, 0 changed, 4 unchanged")
})

test_that("diff on S3", {
  p <- s3_project()
  quietly(datom_write(p$conn, data.frame(k = 1:3, v = c(1, 2, 3)), "ae"))
  quietly(datom_write(p$conn, data.frame(k = 2:4, v = c(2, 2.5, 4)), "ae"))
  d <- datom_diff(p$conn, "ae", keys = "k")
  expect_identical(d$summary, data.frame(added = 1, removed = 1, changed = 1, unchanged = 1))
  expect_identical(d$changed, data.frame(k = 3L, column = "v", from = "3", to = "2.5"))
})

# Batch import of raw extracts: datom_sync_manifest() + datom_sync().

# Every message of `expr` is captured (none leaks); one must match `pattern`.
expect_msgs <- function(expr, pattern) {
  msgs <- capture_messages(expr)
  expect_true(any(grepl(pattern, msgs)), label = sprintf("a message matching %s among: %s", pattern, paste(msgs, collapse = "")))
  invisible(msgs)
}

ext_of <- function(f) sub("^.*\\.", "", basename(f))

# Optional packages, looked up by a variable name (they are not dependencies).
optional <- function(pkg, fun) getExportedValue(pkg, fun)
haven_pkg <- "haven"
readxl_pkg <- "readxl"

sha256 <- function(f) engine(rs_sha256_file(f))

parquet_objects <- function(p, table = NULL) {
  dir <- if (is.null(table)) p$ns else file.path(p$ns, table)
  sort(list.files(dir, pattern = "\\.parquet$", recursive = TRUE))
}

commit_subjects <- function(p) git(p$clone, "log", "--format=%s")

# 20 extracts in four formats: slices of the example study and small
# synthetic frames.
write_extracts <- function(inbox) {
  cut <- datom_example_cutoffs()
  files <- character()
  add <- function(df, name, fmt) {
    f <- file.path(inbox, paste0(name, ".", fmt))
    switch(fmt,
      csv = utils::write.csv(df, f, row.names = FALSE),
      tsv = utils::write.table(df, f, sep = "\t", row.names = FALSE),
      psv = utils::write.table(df, f, sep = "|", row.names = FALSE),
      parquet = parquet_write(df, f)
    )
    files[[name]] <<- f
  }
  fmts <- c("csv", "tsv", "psv", "parquet")
  k <- 0L
  for (dom in c("dm", "ex", "lb", "ae")) {
    for (m in 1:3) {
      k <- k + 1L
      add(datom_example_data(dom, cut[[m]]), sprintf("%s_m%d", dom, m), fmts[(k %% 4L) + 1L])
    }
  }
  for (i in 1:8) {
    df <- data.frame(
      id = seq_len(i + 2L),
      value = round(seq_len(i + 2L) * 1.25 + i, 2),
      grp = rep_len(c("a", "b", "c"), i + 2L),
      flag = rep_len(c(TRUE, FALSE), i + 2L),
      stringsAsFactors = FALSE
    )
    add(df, sprintf("synth_%02d", i), fmts[(i %% 4L) + 1L])
  }
  files
}

test_that("datom_sync_manifest scans a flat inbox, hashes files and classifies them", {
  p <- local_project()
  inbox <- file.path(p$clone, "input_files")
  # empty inbox: zero-row frame with the columns
  expect_msgs(m0 <- datom_sync_manifest(p$conn), "No files found")
  expect_identical(names(m0), c("name", "file", "format", "original_file_sha", "status"))
  expect_identical(nrow(m0), 0L)

  utils::write.csv(data.frame(a = 1:3), file.path(inbox, "alpha.csv"), row.names = FALSE)
  utils::write.csv(data.frame(b = 4:6), file.path(inbox, "Beta.CSV"), row.names = FALSE)
  writeLines(c("x|y", "1|2"), file.path(inbox, "gamma.v1.psv"))
  writeLines("notes", file.path(inbox, "readme.md"))
  writeLines("hidden", file.path(inbox, ".DS_Store"))
  expect_msgs(m <- datom_sync_manifest(p$conn), "Scanned 4 files: 3 new, 0 changed, 0 unchanged")
  # rows in byte order of the file names, whatever the locale
  expect_identical(m$name, c("Beta", "alpha", "gamma.v1", "readme"))
  expect_identical(m$format, c("CSV", "csv", "psv", "md"))
  expect_identical(m$status, c("new", "new", "new", "unsupported_format"))
  expect_identical(m$file, normalizePath(file.path(inbox, c("Beta.CSV", "alpha.csv", "gamma.v1.psv", "readme.md"))))
  expect_identical(m$original_file_sha, unname(vapply(m$file, sha256, "")))
  expect_match(m$original_file_sha, "^[0-9a-f]{64}$")
  expect_msgs(datom_sync_manifest(p$conn), "unsupported format")

  # pattern, another directory
  expect_identical(quietly(datom_sync_manifest(p$conn, pattern = "*.csv"))$name, "alpha")
  other <- withr::local_tempdir()
  utils::write.csv(data.frame(z = 1), file.path(other, "zeta.csv"), row.names = FALSE)
  mo <- quietly(datom_sync_manifest(p$conn, path = other))
  expect_identical(mo$name, "zeta")
  expect_identical(mo$status, "new")
  expect_identical(mo$file, normalizePath(file.path(other, "zeta.csv")))

  # a subdirectory is refused; a missing directory too
  dir.create(file.path(inbox, "batch2"))
  expect_error(datom_sync_manifest(p$conn), "must be flat", class = "datom_error_input")
  unlink(file.path(inbox, "batch2"), recursive = TRUE)
  expect_error(datom_sync_manifest(p$conn, path = file.path(other, "nope")), "Input directory not found",
               class = "datom_error_not_found")
  # readers cannot sync
  reader <- datom_get_conn(store = datom_store(data = p$store$data), project_name = "STUDY_001")
  expect_error(datom_sync_manifest(reader), "Sync operations require developer role", class = "datom_error_role")
  expect_error(datom_sync(reader, m), "developer role", class = "datom_error_role")
  expect_error(datom_sync_manifest(list()), class = "datom_error_input")
})

# issue 17: an .rds can hold any R object, not a table; the original and the
# spec list it as unsupported_format (and datom_sync() does not read it).
test_that("datom_sync_manifest classifies .rds files as unsupported_format", {
  p <- local_project()
  inbox <- file.path(p$clone, "input_files")
  saveRDS(data.frame(z = 1), file.path(inbox, "zeta.rds"))
  saveRDS(list(a = 1), file.path(inbox, "model.RDS"))
  utils::write.csv(data.frame(a = 1:2), file.path(inbox, "alpha.csv"), row.names = FALSE)
  expect_msgs(m <- datom_sync_manifest(p$conn), "2 files in an unsupported format")
  expect_identical(m$name, c("alpha", "model", "zeta"))
  expect_identical(m$status, c("new", "unsupported_format", "unsupported_format"))
  quietly(res <- datom_sync(p$conn, m))
  expect_identical(res$result, c("success", "error", "error"))
  expect_match(res$error[3], "Unsupported format \"rds\"")
  expect_false(grepl("rds", sub("^Unsupported format \"rds\"", "", res$error[3])))
  expect_identical(datom_list(p$conn)$name, "alpha")
})

test_that("a folder of 20 extracts: sync, no-op re-sync, a change, a corrupt file, a revert", {
  p <- local_project()
  inbox <- file.path(p$clone, "input_files")
  files <- write_extracts(inbox)
  expect_identical(length(files), 20L)
  expect_identical(as.vector(table(factor(ext_of(files), c("csv", "tsv", "psv", "parquet")))), rep(5L, 4))

  # --- first sync: 20 tables, one commit and one object each -----------------
  m <- quietly(datom_sync_manifest(p$conn))
  expect_identical(nrow(m), 20L)
  expect_true(all(m$status == "new"))
  msgs <- capture_messages(res <- datom_sync(p$conn, m))
  expect_true(any(grepl("Syncing 20 tables", msgs)))
  expect_true(any(grepl("Sync complete: 20 succeeded, 0 failed, 0 skipped", msgs)))
  expect_identical(names(res), c(names(m), "result", "error"))
  expect_identical(res$result, rep("success", 20L))
  expect_true(all(is.na(res$error)))
  subjects <- commit_subjects(p)
  expect_identical(length(subjects), 21L)
  expect_setequal(head(subjects, 20), sprintf("Sync %s (new)", names(files)))
  tracked <- git(p$clone, "ls-files")
  expect_true(all(file.path(names(files), "metadata.json") %in% tracked))
  expect_false(any(grepl("input_files", tracked)))
  expect_identical(datom_list(p$conn)$name, sort(names(files)))
  objs <- parquet_objects(p)
  expect_identical(length(objs), 20L)
  man <- jsonlite::fromJSON(file.path(p$clone, ".datom", "manifest.json"), simplifyVector = FALSE)
  for (t in names(files)) {
    e <- man$tables[[t]]
    expect_identical(e$original_file_sha, sha256(files[[t]]))
    expect_identical(e$original_format, ext_of(files[[t]]))
    meta <- jsonlite::fromJSON(file.path(p$clone, t, "metadata.json"), simplifyVector = FALSE)
    expect_identical(meta$table_type, "imported")
    expect_identical(meta$original_file_sha, e$original_file_sha)
    expect_identical(meta$source_lineage, list(list(project = "STUDY_001", table = t, version_sha = meta$data_sha)))
    expect_true(file.exists(file.path(p$ns, t, paste0(meta$data_sha, ".parquet"))))
  }
  # the stored values are the file's values, read with the documented readers
  lb <- datom_read(p$conn, "lb_m2")
  src <- switch(ext_of(files[["lb_m2"]]),
    csv = utils::read.csv(files[["lb_m2"]], stringsAsFactors = FALSE),
    tsv = utils::read.delim(files[["lb_m2"]], stringsAsFactors = FALSE),
    psv = utils::read.delim(files[["lb_m2"]], sep = "|", stringsAsFactors = FALSE),
    parquet = parquet_read(files[["lb_m2"]]))
  expect_identical(datom_hash(lb)$data_sha, datom_hash(src)$data_sha)
  expect_identical(ext_of(files[["synth_02"]]), "psv")
  expect_identical(datom_hash(datom_read(p$conn, "synth_02"))$data_sha,
                   datom_hash(utils::read.delim(files[["synth_02"]], sep = "|", stringsAsFactors = FALSE))$data_sha)

  # --- re-sync with nothing to do: no commit, no object, says so -------------
  head0 <- git(p$clone, "rev-parse", "HEAD")
  m2 <- quietly(datom_sync_manifest(p$conn))
  expect_true(all(m2$status == "unchanged"))
  expect_msgs(res2 <- datom_sync(p$conn, m2), "No new or changed files")
  expect_identical(res2$result, rep("skipped", 20L))
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head0)
  expect_identical(parquet_objects(p), objs)

  # --- one file changed: exactly one new version -----------------------------
  target <- "lb_m1"
  before_bytes <- readBin(files[[target]], "raw", file.size(files[[target]]))
  old_version <- datom_history(p$conn, target)$version
  cut <- datom_example_cutoffs()
  lb_next <- datom_example_data("lb", cut[["month_4"]])
  fmt <- ext_of(files[[target]])
  switch(fmt,
    csv = utils::write.csv(lb_next, files[[target]], row.names = FALSE),
    tsv = utils::write.table(lb_next, files[[target]], sep = "\t", row.names = FALSE),
    psv = utils::write.table(lb_next, files[[target]], sep = "|", row.names = FALSE),
    parquet = parquet_write(lb_next, files[[target]]))
  m3 <- quietly(datom_sync_manifest(p$conn))
  expect_identical(m3$name[m3$status == "changed"], target)
  expect_identical(sum(m3$status == "unchanged"), 19L)
  msgs <- capture_messages(res3 <- datom_sync(p$conn, m3))
  expect_true(any(grepl("Sync complete: 1 succeeded, 0 failed, 19 skipped", msgs)))
  expect_identical(commit_subjects(p)[1], sprintf("Sync %s (changed)", target))
  expect_identical(length(commit_subjects(p)), 22L)
  h <- datom_history(p$conn, target)
  expect_identical(nrow(h), 2L)
  expect_identical(h$version[2], old_version)
  expect_identical(h$commit_message, c(sprintf("Sync %s (changed)", target), sprintf("Sync %s (new)", target)))
  for (t in setdiff(names(files), target)) expect_identical(nrow(datom_history(p$conn, t)), 1L)
  objs3 <- parquet_objects(p)
  expect_identical(length(objs3), 21L)
  expect_identical(nrow(datom_read(p$conn, target)), nrow(lb_next))

  # --- a corrupt file: reported, the others land -----------------------------
  writeBin(as.raw(c(0x50, 0x41, 0x52, 0x31, 0x00, 0xff, 0x13)), file.path(inbox, "broken.parquet"))
  writeBin(charToRaw("this is not a table\n"), file.path(inbox, "broken2.tsv"))
  utils::write.csv(data.frame(k = 1:4, v = c(2.5, 3.5, NA, 1)), file.path(inbox, "late_arrival.csv"), row.names = FALSE)
  writeLines("a,b", file.path(inbox, "empty_extract.csv"))  # a header, no rows
  m4 <- quietly(datom_sync_manifest(p$conn))
  expect_setequal(m4$name[m4$status == "new"], c("broken", "broken2", "late_arrival", "empty_extract"))
  # continue_on_error = FALSE stops at the first failure, before the others
  first_bad <- m4[m4$status == "new", ][1, ]
  expect_identical(first_bad$name, "broken")
  err <- expect_error(quietly(datom_sync(p$conn, m4, continue_on_error = FALSE)), class = "datom_error_sync")
  expect_match(conditionMessage(err), "Failed to sync")
  expect_match(conditionMessage(err), "continue_on_error = TRUE")
  expect_identical(length(commit_subjects(p)), 22L)
  # continue_on_error = TRUE: every failure is reported, the good file lands
  msgs <- capture_messages(res4 <- datom_sync(p$conn, m4))
  expect_true(any(grepl("Failed to sync \"broken\"", msgs)))
  expect_true(any(grepl("Failed to sync \"broken2\"", msgs)))
  expect_true(any(grepl("Sync complete: 1 succeeded, 3 failed, 20 skipped", msgs)))
  r <- structure(res4$result, names = res4$name)
  expect_identical(unname(r[c("broken", "broken2", "empty_extract", "late_arrival")]), c("error", "error", "error", "success"))
  expect_match(res4$error[res4$name == "broken"], "arquet")
  expect_match(res4$error[res4$name == "empty_extract"], "at least one row")
  expect_true(is.na(res4$error[res4$name == "late_arrival"]))
  expect_identical(commit_subjects(p)[1], "Sync late_arrival (new)")
  expect_identical(length(commit_subjects(p)), 23L)
  expect_false(any(c("broken", "broken2", "empty_extract") %in% datom_list(p$conn)$name))
  expect_false(any(file.exists(file.path(p$clone, c("broken", "broken2", "empty_extract")))))
  expect_identical(datom_read(p$conn, "late_arrival")$v, c(2.5, 3.5, NA, 1))
  unlink(file.path(inbox, c("broken.parquet", "broken2.tsv", "empty_extract.csv")))

  # --- the changed file reverted to its older bytes: stored object reused ----
  writeBin(before_bytes, files[[target]])
  objs_before <- parquet_objects(p)
  m5 <- quietly(datom_sync_manifest(p$conn))
  expect_identical(m5$name[m5$status == "changed"], target)
  quietly(res5 <- datom_sync(p$conn, m5))
  expect_identical(res5$result[res5$name == target], "success")
  expect_identical(commit_subjects(p)[1], sprintf("Sync %s (changed)", target))
  expect_identical(parquet_objects(p), objs_before)          # nothing new uploaded
  h5 <- datom_history(p$conn, target)
  expect_identical(nrow(h5), 2L)                             # the old version is current again
  cur <- datom_list(p$conn, short_hash = FALSE)
  expect_identical(cur$current_version[cur$name == target], old_version)
  meta <- jsonlite::fromJSON(file.path(p$clone, target, "metadata.json"), simplifyVector = FALSE)
  expect_identical(meta$original_file_sha, sha256(files[[target]]))
  expect_true(file.exists(file.path(p$ns, target, paste0(meta$data_sha, ".parquet"))))
  expect_identical(meta$parquet_sha, sha256(file.path(p$ns, target, paste0(meta$data_sha, ".parquet"))))
  expect_identical(nrow(datom_read(p$conn, target)), nrow(datom_example_data("lb", cut[["month_1"]])))
  m6 <- quietly(datom_sync_manifest(p$conn))
  expect_true(all(m6$status == "unchanged"))
})

test_that("re-exported bytes with identical content become a metadata-only version", {
  p <- local_project()
  f <- file.path(p$clone, "input_files", "dm.csv")
  dm <- datom_example_data("dm")
  utils::write.csv(dm, f, row.names = FALSE)
  quietly(datom_sync(p$conn, quietly(datom_sync_manifest(p$conn))))
  objs <- parquet_objects(p)
  sha1 <- sha256(f)
  utils::write.csv(dm, f, row.names = FALSE, quote = FALSE)  # same values, other bytes
  expect_false(identical(sha256(f), sha1))
  m <- quietly(datom_sync_manifest(p$conn))
  expect_identical(m$status, "changed")
  msgs <- capture_messages(res <- datom_sync(p$conn, m))
  expect_true(any(grepl("metadata_only", msgs)))
  expect_identical(parquet_objects(p), objs)
  h <- datom_history(p$conn, "dm")
  expect_identical(nrow(h), 2L)
  expect_identical(h$data_sha[1], h$data_sha[2])
  meta <- jsonlite::fromJSON(file.path(p$clone, "dm", "metadata.json"), simplifyVector = FALSE)
  expect_identical(meta$original_file_sha, sha256(f))
})

test_that("delimited and parquet readers; .rds refused; optional readers name their package", {
  p <- local_project()
  inbox <- file.path(p$clone, "input_files")
  df <- data.frame(id = 1:3, score = c(1.5, NA, 3), lab = c("x", "y", "z"), stringsAsFactors = FALSE)
  writeLines(c("id|score|lab", "1|1.5|x", "2|NA|y", "3|3|z"), file.path(inbox, "pipe.psv"))
  writeLines(c("id\tscore\tlab", "1\t1.5\tx", "2\tNA\ty", "3\t3\tz"), file.path(inbox, "tabbed.txt"))
  utils::write.table(df, file.path(inbox, "tabs.TSV"), sep = "\t", row.names = FALSE)
  parquet_write(df, file.path(inbox, "pq.parquet"))
  saveRDS(df, file.path(inbox, "saved.rds"))
  saveRDS(list(a = 1), file.path(inbox, "notaframe.rds"))
  res <- quietly(datom_sync(p$conn, quietly(datom_sync_manifest(p$conn))))
  r <- structure(res$result, names = res$name)
  expect_identical(unname(r[c("pipe", "tabbed", "tabs", "pq")]), rep("success", 4L))
  expect_identical(unname(r[c("saved", "notaframe")]), c("error", "error"))
  expect_match(res$error[res$name == "notaframe"], "Unsupported format")
  want <- datom_hash(df)$data_sha
  for (t in c("pipe", "tabbed", "tabs", "pq")) {
    expect_identical(datom_list(p$conn, short_hash = FALSE)$current_data_sha[datom_list(p$conn)$name == t], want)
  }
  man <- jsonlite::fromJSON(file.path(p$clone, ".datom", "manifest.json"), simplifyVector = FALSE)
  expect_identical(man$tables$tabs$original_format, "TSV")

  # formats read through optional packages
  unlink(list.files(inbox, full.names = TRUE))
  head0 <- git(p$clone, "rev-parse", "HEAD")
  if (requireNamespace(haven_pkg, quietly = TRUE)) {
    optional(haven_pkg, "write_sav")(df, file.path(inbox, "spss.sav"))
    optional(haven_pkg, "write_dta")(df, file.path(inbox, "stata.dta"))
    optional(haven_pkg, "write_xpt")(df, file.path(inbox, "transport.xpt"))
    res <- quietly(datom_sync(p$conn, quietly(datom_sync_manifest(p$conn))))
    expect_identical(res$result, rep("success", 3L))
    for (t in c("spss", "stata", "transport")) {
      expect_identical(datom_hash(datom_read(p$conn, t))$data_sha, want)
    }
  } else {
    writeBin(as.raw(1:10), file.path(inbox, "spss.sav"))
    m <- quietly(datom_sync_manifest(p$conn))
    expect_identical(m$status, "new")
    err <- expect_error(datom_sync(p$conn, m), class = "datom_error_dependency")
    expect_match(conditionMessage(err), "haven")
    expect_match(conditionMessage(err), "install.packages")
    expect_identical(git(p$clone, "rev-parse", "HEAD"), head0)
  }
  unlink(list.files(inbox, full.names = TRUE))
  head0 <- git(p$clone, "rev-parse", "HEAD")
  if (requireNamespace(readxl_pkg, quietly = TRUE)) {
    file.copy(optional(readxl_pkg, "readxl_example")("datasets.xlsx"), file.path(inbox, "workbook.xlsx"))
    res <- quietly(datom_sync(p$conn, quietly(datom_sync_manifest(p$conn))))
    expect_identical(res$result, "success")
    expect_identical(nrow(datom_read(p$conn, "workbook")), nrow(optional(readxl_pkg, "read_excel")(file.path(inbox, "workbook.xlsx"))))
  } else {
    writeBin(as.raw(1:10), file.path(inbox, "workbook.xlsx"))
    err <- expect_error(datom_sync(p$conn, quietly(datom_sync_manifest(p$conn))), class = "datom_error_dependency")
    expect_match(conditionMessage(err), "readxl")
    expect_identical(git(p$clone, "rev-parse", "HEAD"), head0)
  }
})

test_that("datom_sync validates its manifest and keeps unsupported and badly named rows apart", {
  p <- local_project()
  inbox <- file.path(p$clone, "input_files")
  utils::write.csv(data.frame(a = 1:2), file.path(inbox, "2024_dm.csv"), row.names = FALSE)
  utils::write.csv(data.frame(a = 3:4), file.path(inbox, "good.csv"), row.names = FALSE)
  writeLines("{}", file.path(inbox, "config.json"))
  m <- quietly(datom_sync_manifest(p$conn))
  expect_identical(m$name, c("2024_dm", "config", "good"))
  expect_identical(m$status, c("new", "unsupported_format", "new"))
  expect_error(datom_sync(p$conn, "manifest"), class = "datom_error_input")
  expect_error(datom_sync(p$conn, m[, c("name", "file")]), "Manifest missing required columns", class = "datom_error_input")
  expect_error(datom_sync(p$conn, m, continue_on_error = NA), class = "datom_error_input")
  msgs <- capture_messages(res <- datom_sync(p$conn, m))
  expect_true(any(grepl("1 file in an unsupported format, not synced", msgs)))
  expect_identical(res$result, c("error", "error", "success"))
  expect_match(res$error[1], "must start with a letter")
  expect_match(res$error[2], "Convert the file to CSV or parquet")
  expect_identical(datom_list(p$conn)$name, "good")
  # a filtered manifest syncs only its rows; unchanged rows are skipped
  utils::write.csv(data.frame(a = 5:6), file.path(inbox, "more.csv"), row.names = FALSE)
  m2 <- quietly(datom_sync_manifest(p$conn))
  res2 <- quietly(datom_sync(p$conn, m2[m2$name %in% c("good", "config"), ]))
  expect_identical(res2$result, c("error", "skipped"))
  expect_false("more" %in% datom_list(p$conn)$name)
  expect_msgs(datom_sync(p$conn, m2[m2$name == "good", ]), "No new or changed files")
})

test_that("a sync behind origin stops with a pull hint and changes nothing for that table", {
  p <- local_project()
  bea <- quietly(datom_clone(file.path(p$root, "bea"), p$store))
  quietly(datom_write(bea, data.frame(x = 1:3), "from_bea"))
  inbox <- file.path(p$clone, "input_files")
  utils::write.csv(data.frame(a = 1:2), file.path(inbox, "one.csv"), row.names = FALSE)
  utils::write.csv(data.frame(a = 3:4), file.path(inbox, "two.csv"), row.names = FALSE)
  head0 <- git(p$clone, "rev-parse", "HEAD")
  m <- quietly(datom_sync_manifest(p$conn))
  err <- expect_error(quietly(datom_sync(p$conn, m)), class = "datom_error_push_rejected")
  expect_match(conditionMessage(err), "datom_pull")
  # checked up front: nothing at all was attempted
  expect_match(conditionMessage(err), "1 commit behind origin")
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head0)
  expect_false(dir.exists(file.path(p$ns, "one")))
  expect_false(dir.exists(file.path(p$ns, "two")))
  expect_false(dir.exists(file.path(p$clone, "one")))
  quietly(datom_pull(p$conn))
  res <- quietly(datom_sync(p$conn, quietly(datom_sync_manifest(p$conn))))
  expect_identical(res$result, c("success", "success"))
  expect_setequal(datom_list(p$conn)$name, c("from_bea", "one", "two"))
})

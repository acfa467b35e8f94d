# Lineage across two projects: raw extracts imported in RAW, analysis tables
# derived from them in ANALYSIS with datom_parent() records.

# Build the chain:
#   RAW:      dm, ae (imported from input_files/, dm in two monthly versions)
#   ANALYSIS: adsl <- RAW dm@month1
#             adae <- RAW ae + ANALYSIS adsl
#             ae_summary <- ANALYSIS adae
build_chain <- function(env = parent.frame()) {
  raw <- local_project("RAW", env = env)
  ana <- local_project("ANALYSIS", env = env)
  cut <- datom_example_cutoffs()
  inbox <- file.path(raw$clone, "input_files")
  utils::write.csv(datom_example_data("dm", cut[["month_1"]]), file.path(inbox, "dm.csv"), row.names = FALSE)
  utils::write.csv(datom_example_data("ae", cut[["month_1"]]), file.path(inbox, "ae.csv"), row.names = FALSE)
  quietly(datom_sync(raw$conn, quietly(datom_sync_manifest(raw$conn))))
  dm_v1 <- datom_history(raw$conn, "dm")$version[1]
  ae_v1 <- datom_history(raw$conn, "ae")$version[1]

  dm <- datom_read(raw$conn, "dm")
  ae <- datom_read(raw$conn, "ae")
  adsl <- data.frame(USUBJID = dm$USUBJID, AGE = dm$AGE, SEX = dm$SEX, stringsAsFactors = FALSE)
  w_adsl <- quietly(datom_write(ana$conn, adsl, "adsl",
    parents = list(datom_parent(raw$conn, "dm", substr(dm_v1, 1, 8)))))
  adae <- merge(ae[c("USUBJID", "AETERM", "AESEV")], adsl, by = "USUBJID")
  w_adae <- quietly(datom_write(ana$conn, adae, "adae", parents = list(
    datom_parent(raw$conn, "ae", ae_v1),
    datom_parent(ana$conn, "adsl", w_adsl$metadata_sha)
  )))
  summ <- as.data.frame(table(AESEV = adae$AESEV), stringsAsFactors = FALSE)
  w_sum <- quietly(datom_write(ana$conn, summ, "ae_summary",
    parents = list(datom_parent(ana$conn, "adae", substr(w_adae$metadata_sha, 1, 6)))))

  # dm moves on in RAW after the analysis pinned month 1
  utils::write.csv(datom_example_data("dm", cut[["month_2"]]), file.path(inbox, "dm.csv"), row.names = FALSE)
  quietly(datom_sync(raw$conn, quietly(datom_sync_manifest(raw$conn))))

  readers <- list(
    RAW = datom_get_conn(store = datom_store(data = raw$store$data), project_name = "RAW"),
    ANALYSIS = datom_get_conn(store = datom_store(data = ana$store$data), project_name = "ANALYSIS")
  )
  h_dm <- datom_history(raw$conn, "dm")
  list(raw = raw, ana = ana, readers = readers,
       dm_v1 = dm_v1, ae_v1 = ae_v1,
       dm_sha1 = h_dm$data_sha[h_dm$version == dm_v1],
       ae_sha1 = datom_history(raw$conn, "ae")$data_sha[1],
       adsl = w_adsl, adae = w_adae, summ = w_sum)
}

# Every message of `expr` is captured (none leaks); one must match `pattern`.
expect_msgs <- function(expr, pattern) {
  msgs <- capture_messages(expr)
  expect_true(any(grepl(pattern, msgs)), label = sprintf("a message matching %s among: %s", pattern, paste(msgs, collapse = "")))
  invisible(msgs)
}

lin <- function(project, table, sha) list(project = project, table = table, version_sha = sha)

# A lineage walker built on the public API: follow `parents` across projects,
# collect the imported leaves.
walk_leaves <- function(conns, project, table, version = NULL) {
  conn <- conns[[project]]
  parents <- datom_get_parents(conn, table, version)
  if (is.null(parents)) {
    return(datom_get_lineage(conn, table, version, depth = "source"))
  }
  datom_lineage_union(lapply(parents, function(p) walk_leaves(conns, p$source, p$table, p$version)))
}

test_that("datom_parent resolves a version in another project to an authoritative record", {
  ch <- build_chain()
  h <- datom_history(ch$raw$conn, "dm")
  expect_identical(nrow(h), 2L)
  p <- datom_parent(ch$raw$conn, "dm", substr(ch$dm_v1, 1, 6))
  expect_identical(names(p), c("source", "table", "version", "data_sha", "source_lineage"))
  expect_identical(p$source, "RAW")
  expect_identical(p$table, "dm")
  expect_identical(p$version, ch$dm_v1)
  expect_identical(p$data_sha, ch$dm_sha1)
  expect_identical(p$data_sha, datom_hash(datom_example_data("dm", datom_example_cutoffs()[["month_1"]]))$data_sha)
  expect_identical(p$source_lineage, list(lin("RAW", "dm", ch$dm_sha1)))
  # the full id and the reader give the same record; it is serialisable
  expect_identical(datom_parent(ch$raw$conn, "dm", ch$dm_v1), p)
  expect_identical(datom_parent(ch$readers$RAW, "dm", ch$dm_v1), p)
  expect_identical(unserialize(serialize(p, NULL)), p)
  # a derived table without lineage has source_lineage NULL (element kept)
  w <- quietly(datom_write(ch$ana$conn, data.frame(x = 1:3), "plain"))
  q <- datom_parent(ch$ana$conn, "plain", w$metadata_sha)
  expect_true("source_lineage" %in% names(q))
  expect_null(q$source_lineage)

  expect_error(datom_parent(ch$raw$conn, "dm", "abcde"), "6-64 lowercase hex", class = "datom_error_input")
  expect_error(datom_parent(ch$raw$conn, "dm", "../../x"), class = "datom_error_input")
  expect_error(datom_parent(ch$raw$conn, "dm", toupper(substr(ch$dm_v1, 1, 8))), class = "datom_error_input")
  expect_error(datom_parent(ch$raw$conn, "dm", c("abcdef", "abcdef")), class = "datom_error_input")
  expect_error(datom_parent(ch$raw$conn, "dm", NA_character_), class = "datom_error_input")
  expect_error(datom_parent(ch$raw$conn, "1dm", ch$dm_v1), class = "datom_error_input")
  expect_error(datom_parent(list(), "dm", ch$dm_v1), class = "datom_error_input")
  unknown <- if (startsWith(ch$dm_v1, "000000")) "ffffff" else "000000"
  err <- expect_error(datom_parent(ch$raw$conn, "dm", unknown), class = "datom_error_not_found")
  expect_match(conditionMessage(err), "not found in project")
  expect_error(datom_parent(ch$raw$conn, "nope", ch$dm_v1), class = "datom_error_not_found")
  # a table that lives in the other project is not found through this conn
  expect_error(datom_parent(ch$ana$conn, "dm", ch$dm_v1), class = "datom_error_not_found")
})

test_that("version prefixes resolve uniquely or fail as ambiguous / unknown (the engine's one rule)", {
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(x = 1:3), "t"))
  # a history no writer would make, to force shared prefixes
  hf <- file.path(p$ns, "t", ".metadata", "version_history.json")
  h <- jsonlite::read_json(hf)
  ds <- h[[1]]$data_sha
  fake <- function(v) list(version = v, data_sha = ds, timestamp = "2026-01-01T00:00:00Z")
  ids <- c(strrep("ab", 32), paste0("abcdef02", strrep("0", 56)), paste0("123456aa", strrep("0", 56)))
  jsonlite::write_json(c(lapply(ids, fake), h), hf, auto_unbox = TRUE)
  expect_identical(resolve_version(p$conn, "t", "123456"), ids[3])
  expect_identical(resolve_version(p$conn, "t", substr(h[[1]]$version, 1, 12)), h[[1]]$version)
  expect_identical(resolve_version(p$conn, "t", "abab"), ids[1])
  expect_error(datom_parent(p$conn, "t", "abcdef"), class = "datom_error_not_found")  # unique, no snapshot
  expect_error(datom_parent(p$conn, "t", "ab"), class = "datom_error_input")
  err <- expect_error(resolve_version(p$conn, "t", "ab"), class = "datom_error_input")
  expect_match(conditionMessage(err), "ambiguous")
  expect_error(datom_parent(p$conn, "t", "fedcba"), class = "datom_error_not_found")
  # resolved, but its snapshot is not in the store
  err <- expect_error(datom_parent(p$conn, "t", "123456"), class = "datom_error_not_found")
  expect_match(conditionMessage(err), "snapshot is missing")
  # a full id absent from the history is not found (as datom_read says)
  expect_error(datom_parent(p$conn, "t", strrep("9", 64)), class = "datom_error_not_found")
})

test_that("parents and the source-lineage union are recorded in git and in storage", {
  ch <- build_chain()
  clone <- ch$ana$clone
  expect_true(all(c("adsl/metadata.json", "adae/metadata.json", "ae_summary/metadata.json") %in% git(clone, "ls-files")))
  meta <- jsonlite::fromJSON(file.path(clone, "adae", "metadata.json"), simplifyVector = FALSE)
  expect_identical(meta$table_type, "derived")
  expect_null(meta$original_file_sha)
  expect_identical(length(meta$parents), 2L)
  expect_identical(names(meta$parents[[1]]), c("source", "table", "version", "data_sha"))
  expect_identical(meta$parents[[1]], list(source = "RAW", table = "ae", version = ch$ae_v1, data_sha = ch$ae_sha1))
  expect_identical(meta$parents[[2]], list(source = "ANALYSIS", table = "adsl", version = ch$adsl$metadata_sha,
                                           data_sha = ch$adsl$data_sha))
  # union in parent order: ae's self-entry, then adsl's lineage (RAW dm)
  expect_identical(meta$source_lineage, list(lin("RAW", "ae", ch$ae_sha1), lin("RAW", "dm", ch$dm_sha1)))
  # the immutable snapshot in the store holds the same lineage
  snap_file <- file.path(ch$ana$ns, "adae", ".metadata", paste0(ch$adae$metadata_sha, ".json"))
  expect_true(file.exists(snap_file))
  snap <- jsonlite::fromJSON(snap_file, simplifyVector = FALSE)
  expect_identical(snap$parents, meta$parents)
  expect_identical(snap$source_lineage, meta$source_lineage)
  # the raw extract is imported with a self-lineage on its data_sha
  raw_meta <- jsonlite::fromJSON(file.path(ch$raw$clone, "ae", "metadata.json"), simplifyVector = FALSE)
  expect_identical(raw_meta$table_type, "imported")
  expect_identical(raw_meta$source_lineage, list(lin("RAW", "ae", raw_meta$data_sha)))
  expect_null(raw_meta$parents)
  # a second level inherits the union unchanged
  sm <- jsonlite::fromJSON(file.path(clone, "ae_summary", "metadata.json"), simplifyVector = FALSE)
  expect_identical(sm$parents[[1]]$version, ch$adae$metadata_sha)
  expect_identical(sm$source_lineage, meta$source_lineage)
})

test_that("lineage queries answer the same for a developer and a reader", {
  ch <- build_chain()
  devs <- list(RAW = ch$raw$conn, ANALYSIS = ch$ana$conn)
  for (conns in list(devs, ch$readers)) {
    ana <- conns$ANALYSIS
    raw <- conns$RAW
    expect_identical(datom_get_lineage(ana, "ae_summary"),
                     list(lin("RAW", "ae", ch$ae_sha1), lin("RAW", "dm", ch$dm_sha1)))
    expect_identical(datom_get_lineage(ana, "adsl"), list(lin("RAW", "dm", ch$dm_sha1)))
    par <- datom_get_parents(ana, "adae")
    expect_identical(vapply(par, function(p) p$source, ""), c("RAW", "ANALYSIS"))
    expect_identical(vapply(par, function(p) p$table, ""), c("ae", "adsl"))
    expect_identical(par, datom_get_lineage(ana, "adae", depth = "parents"))
    expect_identical(datom_get_parents(ana, "ae_summary")[[1]]$version, ch$adae$metadata_sha)
    # imported tables: a self-entry on the current data_sha, no parents
    cur <- datom_list(raw, short_hash = FALSE)
    dm_sha2 <- cur$current_data_sha[cur$name == "dm"]
    expect_false(identical(dm_sha2, ch$dm_sha1))
    expect_identical(datom_get_lineage(raw, "dm"), list(lin("RAW", "dm", dm_sha2)))
    expect_null(datom_get_parents(raw, "dm"))
    expect_null(datom_get_lineage(raw, "dm", depth = "parents"))
    # pinned versions (full id or 6+ prefix) read the snapshot of that version
    expect_identical(datom_get_lineage(raw, "dm", substr(ch$dm_v1, 1, 6)), list(lin("RAW", "dm", ch$dm_sha1)))
    expect_identical(datom_get_parents(ana, "adsl", ch$adsl$metadata_sha)[[1]]$version, ch$dm_v1)
    # walking parents across projects reaches the same leaves as source_lineage
    leaves <- walk_leaves(conns, "ANALYSIS", "ae_summary")
    expect_identical(leaves, datom_get_lineage(ana, "ae_summary"))
    # errors
    expect_error(datom_get_lineage(ana, "adsl", version = "abc"), class = "datom_error_input")
    expect_error(datom_get_lineage(ana, "adsl", version = "../../etc"), class = "datom_error_input")
    expect_error(datom_get_lineage(ana, "adsl", depth = "everything"))
    expect_error(datom_get_lineage(ana, "missing_table"), "No metadata found", class = "datom_error_not_found")
    expect_error(datom_get_parents(ana, "adsl", version = if (startsWith(ch$adsl$metadata_sha, "ffffff")) "000000" else "ffffff"),
                 class = "datom_error_not_found")
  }
  # a derived table written without parents records no lineage at all
  w <- quietly(datom_write(ch$ana$conn, data.frame(y = 1), "noparents"))
  expect_null(datom_get_lineage(ch$ana$conn, "noparents"))
  expect_null(datom_get_parents(ch$readers$ANALYSIS, "noparents"))
})

test_that("validation proves parents and sources across projects, for developers and readers", {
  ch <- build_chain()
  devs <- list(RAW = ch$raw$conn, ANALYSIS = ch$ana$conn)
  for (conns in list(devs, ch$readers)) {
    expect_msgs(res <- datom_validate_lineage(conns$ANALYSIS, "adae", conns = conns["RAW"]), "consistent with parents")
    expect_identical(res$status, "ok")
    expect_identical(res$parents$status, c("ok", "ok"))
    expect_identical(res$parents$table, c("ae", "adsl"))
    expect_identical(res$sources$table, c("ae", "dm"))
    expect_identical(res$sources$status, c("ok", "ok"))
    expect_identical(res$missing, list())
    expect_identical(res$extra, list())
    expect_identical(res$wrong_version, list())
    expect_match(res$message, "consistent")
    # pinned version, prefix
    res <- quietly(datom_validate_lineage(conns$ANALYSIS, "ae_summary", substr(ch$summ$metadata_sha, 1, 10), conns = conns))
    expect_identical(res$status, "ok")

    # a foreign project without a conn: not reachable -> error, never aborts
    expect_msgs(res <- datom_validate_lineage(conns$ANALYSIS, "adae"), "Could not fetch parent metadata")
    expect_identical(res$status, "error")
    expect_identical(res$parents$status, c("unreachable", "ok"))
    expect_identical(res$sources$status, c("unreachable", "unreachable"))
    expect_match(res$parents$detail[1], "RAW is not reachable")
    # the same-project parent is checked with conn, its sources still need RAW
    res <- quietly(datom_validate_lineage(conns$ANALYSIS, "ae_summary"))
    expect_identical(res$parents$status, "ok")
    expect_identical(res$status, "error")

    # imported tables have no parents: unchecked, but the source is proven
    expect_msgs(res <- datom_validate_lineage(conns$RAW, "dm"), "has no parents")
    expect_identical(res$status, "unchecked")
    expect_identical(res$sources$status, "ok")
    expect_identical(nrow(res$parents), 0L)
  }
  expect_invisible(quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = devs)))
  # conns must be a named list of conns keyed by project name
  expect_error(datom_validate_lineage(ch$ana$conn, "adsl", conns = list(ch$raw$conn)), class = "datom_error_input")
  expect_error(datom_validate_lineage(ch$ana$conn, "adsl", conns = ch$raw$conn), class = "datom_error_input")
  expect_error(datom_validate_lineage(ch$ana$conn, "adsl", conns = list(RAW = "x")), class = "datom_error_input")
  expect_error(datom_validate_lineage(ch$ana$conn, "adsl", conns = list(OTHER = ch$raw$conn)),
               "connection to project", class = "datom_error_input")
  expect_error(datom_validate_lineage(ch$ana$conn, "nope", conns = devs), "Could not read metadata",
               class = "datom_error_not_found")
  expect_error(datom_validate_lineage(ch$ana$conn, "adsl", version = "xyz"), class = "datom_error_input")
})

test_that("a lineage that is not the union of the parents' lineages is a mismatch", {
  ch <- build_chain()
  h <- datom_history(ch$raw$conn, "dm")
  p <- datom_parent(ch$raw$conn, "dm", h$version[1])          # month 2
  p$source_lineage <- list(lin("RAW", "dm", ch$dm_sha1),        # claims month 1
                           lin("RAW", "ae", ch$ae_sha1))        # and an extra source
  dm2 <- datom_read(ch$raw$conn, "dm")
  quietly(datom_write(ch$ana$conn, dm2[1:5, ], "dm_head", parents = list(p)))
  conns <- list(RAW = ch$raw$conn)
  expect_msgs(res <- datom_validate_lineage(ch$ana$conn, "dm_head", conns = conns), "source_lineage mismatch")
  expect_identical(res$status, "mismatch")
  expect_identical(res$parents$status, "ok")
  expect_identical(res$sources$status, c("ok", "ok"))  # both recorded sources exist
  expect_identical(length(res$wrong_version), 1L)
  expect_identical(res$wrong_version[[1]]$declared$version_sha, ch$dm_sha1)
  expect_identical(res$wrong_version[[1]]$computed$version_sha, h$data_sha[1])
  expect_identical(res$extra, list(lin("RAW", "ae", ch$ae_sha1)))
  expect_identical(res$missing, list())
  expect_identical(res$message, "source_lineage mismatch: 0 missing, 1 extra, 1 wrong-version")
  # the reader sees the same
  res_r <- quietly(datom_validate_lineage(ch$readers$ANALYSIS, "dm_head", conns = ch$readers["RAW"]))
  expect_identical(res_r[c("status", "missing", "extra", "wrong_version")], res[c("status", "missing", "extra", "wrong_version")])
})

test_that("a tampered parent is detected: edited snapshot, deleted or altered parquet", {
  ch <- build_chain()
  conns_dev <- list(RAW = ch$raw$conn)
  snap <- file.path(ch$raw$ns, "dm", ".metadata", paste0(ch$dm_v1, ".json"))
  original <- readLines(snap)
  expect_identical(quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev))$status, "ok")

  # 1. the parent's snapshot claims another data_sha
  fake <- paste(rev(strsplit(ch$dm_sha1, "")[[1]]), collapse = "")
  writeLines(sub(ch$dm_sha1, fake, original, fixed = TRUE), snap)
  expect_true(any(grepl(fake, readLines(snap), fixed = TRUE)))
  expect_msgs(res <- datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev), "Parent RAW/dm")
  expect_identical(res$status, "error")
  expect_identical(res$parents$status, "data_sha_mismatch")
  expect_match(res$message, "1 of 1 parent")
  res_r <- quietly(datom_validate_lineage(ch$readers$ANALYSIS, "adsl", conns = ch$readers["RAW"]))
  expect_identical(res_r$parents$status, "data_sha_mismatch")
  # and datom_parent now hands out the tampered hash only because the
  # snapshot says so; validation is what catches it
  expect_identical(datom_parent(ch$raw$conn, "dm", ch$dm_v1)$data_sha, fake)

  # 2. a snapshot edited elsewhere no longer hashes to its version
  writeLines(sub("\"nrow\": [0-9]+", "\"nrow\": 99999", original), snap)
  expect_false(identical(readLines(snap), original))
  res <- quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev))
  expect_identical(res$parents$status, "snapshot_modified")
  expect_identical(res$status, "error")

  # 3. the snapshot without data_sha: datom_parent refuses it
  writeLines(original[!grepl("\"data_sha\"", original)], snap)
  expect_error(datom_parent(ch$raw$conn, "dm", ch$dm_v1), "no valid", class = "datom_error_integrity")

  # 4. the snapshot deleted
  unlink(snap)
  expect_error(datom_parent(ch$raw$conn, "dm", ch$dm_v1), "not found in project", class = "datom_error_not_found")
  res <- quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev))
  expect_identical(res$parents$status, "missing")
  expect_identical(res$status, "error")
  writeLines(original, snap)
  expect_identical(quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev))$status, "ok")

  # 5. the parent's parquet object deleted
  obj <- file.path(ch$raw$ns, "dm", paste0(ch$dm_sha1, ".parquet"))
  expect_true(file.exists(obj))
  bytes <- readBin(obj, "raw", file.size(obj))
  unlink(obj)
  expect_msgs(res <- datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev), "Source RAW/dm")
  expect_identical(res$status, "error")
  expect_identical(res$parents$status, "object_missing")
  expect_identical(res$sources$status, "object_missing")
  res_r <- quietly(datom_validate_lineage(ch$readers$ANALYSIS, "adsl", conns = ch$readers["RAW"]))
  expect_identical(res_r$parents$status, "object_missing")
  # downstream tables see the missing source too
  res <- quietly(datom_validate_lineage(ch$ana$conn, "ae_summary", conns = conns_dev))
  expect_identical(res$status, "error")
  expect_identical(res$sources$status, c("ok", "object_missing"))

  # 6. the parquet object altered (one byte)
  bad <- bytes
  bad[length(bad) %/% 2] <- as.raw((as.integer(bad[length(bad) %/% 2]) + 1L) %% 256L)
  writeBin(bad, obj)
  res <- quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev))
  expect_identical(res$parents$status, "corrupt")
  expect_match(res$parents$detail, "integrity")
  writeBin(bytes, obj)
  expect_identical(quietly(datom_validate_lineage(ch$ana$conn, "adsl", conns = conns_dev))$status, "ok")
})

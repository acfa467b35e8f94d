# Hostile input (issue 13): every R value is checked before Rust reads it,
# and a bad one is a classed datom error, never a crash or an R error thrown
# across the engine.

deep_list <- function(n, leaf = 1L) {
  x <- leaf
  for (i in seq_len(n)) x <- list(k = x)
  x
}

test_that("metadata nested 100,000 deep is a classed input error, not a C stack overflow", {
  skip_if_not_installed("callr")
  # in a separate R process: on a crash, the process dies, not this session
  res <- callr::r(function() {
    x <- 1L
    for (i in seq_len(1e5)) x <- list(k = x)
    e <- tryCatch(datom::datom_metadata_sha(list(k = x)), error = function(e) e)
    list(class = class(e), message = conditionMessage(e))
  }, libpath = .libPaths())
  expect_true("datom_error_input" %in% res$class)
  expect_match(res$message, "512")
})

test_that("one depth limit: 512 nested lists are hashed and written and read back, 513 are refused first", {
  ok <- deep_list(512)            # the top list is level 1
  expect_match(datom_metadata_sha(ok), "^[0-9a-f]{64}$")
  expect_error(datom_metadata_sha(deep_list(513)), class = "datom_error_input")
  expect_error(datom_metadata_sha(list(a = 1, k = deep_list(512))), class = "datom_error_input")
  expect_error(engine(rs_to_json(deep_list(600), FALSE)), class = "datom_error_input")

  p <- local_project()
  df <- data.frame(x = 1:3)
  # refused before any side effect: no commit, no table folder, no object
  head_before <- git(p$clone, "rev-parse", "HEAD")
  expect_error(quietly(datom_write(p$conn, df, "deep", metadata = list(k = deep_list(1001)))),
               class = "datom_error_input")
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head_before)
  expect_false(dir.exists(file.path(p$clone, "deep")))
  expect_false(dir.exists(file.path(p$ns, "deep")))

  # at the limit: written, and its metadata.json reads back (engine and jsonlite)
  quietly(datom_write(p$conn, df, "deep", metadata = list(k = deep_list(511))))
  f <- file.path(p$clone, "deep", "metadata.json")
  txt <- paste(readLines(f, warn = FALSE), collapse = "\n")
  back <- engine(rs_parse_json(txt))
  expect_true(is.list(back))
  expect_identical(as.data.frame(datom_read(p$conn, "deep")), df)
  expect_no_error(quietly(datom_validate(p$conn)))
})

test_that("the JSON reader refuses what the writer would refuse (same limit)", {
  lim <- 512L + 16L
  ok <- paste0(strrep("[", lim), strrep("]", lim))
  expect_true(is.list(engine(rs_parse_json(ok))))
  deep <- paste0(strrep("[", lim + 1L), strrep("]", lim + 1L))
  expect_error(engine(rs_parse_json(deep)), class = "datom_error_json")
})

# A value of class `cls` with a storage R's `class<-` refuses (a double
# factor): made through serialisation, as a foreign file or package could.
forge_class <- function(x, cls) {
  class(x) <- "datomplaceholder"
  txt <- rawToChar(serialize(x, NULL, ascii = TRUE))
  txt <- sub("\n16\ndatomplaceholder\n", paste0("\n", nchar(cls), "\n", cls, "\n"), txt, fixed = TRUE)
  unserialize(charToRaw(txt))
}

test_that("storage that does not match the class is a classed error from the binding layer", {
  dbl_factor <- forge_class(structure(c(1, 2), levels = c("a", "b")), "factor")
  expect_identical(typeof(dbl_factor), "double")
  num_levels <- structure(1:2, levels = c(1.5, 2.5), class = "factor")
  lgl_date <- structure(c(TRUE, NA), class = "Date")
  chr_date <- structure(c("2026-01-01", "x"), class = "Date")
  for (v in list(dbl_factor, num_levels, lgl_date, chr_date)) {
    expect_error(datom_metadata_sha(list(x = v)), class = "datom_error_input")
    expect_error(datom_metadata_sha(list(a = list(b = list(x = v)))), class = "datom_error_input")
    frame <- structure(list(x = 1:2, y = v), class = "data.frame", row.names = 1:2)
    expect_error(datom_metadata_sha(list(df = frame)), class = "datom_error_input")
  }
  # a data frame column with non-character factor levels
  df <- data.frame(id = 1:2)
  df$f <- num_levels
  expect_error(datom_hash(df), class = "datom_error_unsupported")
  df2 <- data.frame(id = 1:2)
  df2$f <- dbl_factor
  expect_error(datom_hash(df2), class = "datom_error_unsupported")
  rep <- quietly(datom_check_hashable(df))
  expect_identical(rep$status, c("ok", "unsupported"))
  expect_match(rep$recourse[2], "levels must be character")
  p <- local_project()
  expect_error(quietly(datom_write(p$conn, df, "bad")), class = "datom_error_unsupported")
  expect_error(quietly(datom_write(p$conn, data.frame(id = 1:2), "ok", metadata = list(when = lgl_date))),
               class = "datom_error_input")
  expect_false(dir.exists(file.path(p$clone, "bad")))
  expect_false(dir.exists(file.path(p$clone, "ok")))
})

test_that("strings with an embedded NUL in a parquet file are a classed input error", {
  py <- python_bin()
  dir <- withr::local_tempdir()
  f_val <- file.path(dir, "val.parquet")
  f_dict <- file.path(dir, "dict.parquet")
  f_name <- file.path(dir, "name.parquet")
  run_python(c(
    "import sys, pyarrow as pa, pyarrow.parquet as pq",
    "pq.write_table(pa.table({'id': [1, 2], 's': ['ok', 'a\\x00b']}), sys.argv[1])",
    "pq.write_table(pa.table({'f': pa.array(['x', 'y\\x00z']).dictionary_encode()}), sys.argv[2])",
    "pq.write_table(pa.table({'a\\x00b': [1, 2]}), sys.argv[3])"
  ), f_val, f_dict, f_name)
  for (f in c(f_val, f_dict, f_name)) {
    e <- expect_error(parquet_read(f), class = "datom_error_input")
    expect_match(conditionMessage(e), "embedded NUL")
  }
  # the import path (datom_sync of a parquet extract) reports it and goes on
  p <- local_project()
  inbox <- file.path(p$clone, "input_files")
  file.copy(f_val, file.path(inbox, "nul.parquet"))
  utils::write.csv(data.frame(a = 1:2), file.path(inbox, "good.csv"), row.names = FALSE)
  m <- quietly(datom_sync_manifest(p$conn))
  res <- quietly(datom_sync(p$conn, m))
  expect_identical(res$result[res$name == "nul"], "error")
  expect_match(res$error[res$name == "nul"], "embedded NUL")
  expect_identical(datom_list(p$conn)$name, "good")
})

test_that("JSON with a \\u0000 string is a classed error, never an R string error", {
  expect_error(engine(rs_parse_json('{"a": "x\\u0000y"}')), class = "datom_error")
  expect_error(engine(rs_parse_json('{"a\\u0000": 1}')), class = "datom_error")
})

test_that("one name rule: reserved project and table names are refused at every entry", {
  p <- local_project()
  df <- data.frame(x = 1:2)
  for (nm in c("R", "man", "src", "tests", "vignettes", "renv", "input_files", "projects", "r", "Tests")) {
    expect_error(quietly(datom_write(p$conn, df, nm)), class = "datom_error_input")
  }
  expect_false(any(dir.exists(file.path(p$clone, c("R", "man", "src", "tests", "vignettes", "projects")))))
  # the engine's writer refuses them too (not only the R argument check)
  expect_error(engine(rs_check_name("vignettes", "name")), class = "datom_error_input")
  root <- withr::local_tempdir()
  store <- quietly(datom_store(data = datom_store_local(file.path(root, "store")),
                               data_repo_url = file.path(root, "remotes", "projects.git")))
  expect_error(quietly(datom_init_repo(file.path(root, "c"), "projects", store)), class = "datom_error_input")
  expect_false(dir.exists(file.path(root, "c")))
  # a reader conn on the governance namespace
  expect_error(datom_get_conn(store = p$store, project_name = "projects"), class = "datom_error_input")
})

test_that("a project name read from project.yaml is validated", {
  p <- local_project("P")
  yaml <- file.path(p$clone, ".datom", "project.yaml")
  txt <- readLines(yaml)
  writeLines(sub("^project_name: .*$", "project_name: P/t", txt), yaml)
  expect_error(datom_get_conn(path = p$clone, store = p$store), class = "datom_error_input")
  writeLines(sub("^project_name: .*$", "project_name: projects", txt), yaml)
  expect_error(datom_get_conn(path = p$clone, store = p$store), class = "datom_error_input")
  # the conn built before cannot be redirected either: the engine checks its name
  bad <- p$conn
  bad$project_name <- "P/t"
  expect_error(datom_list(bad), class = "datom_error_input")
})

test_that("NULL fields of a conn are classed errors, never extendr's conversion error", {
  p <- local_project("NUL")
  conn <- p$conn
  conn["gov_local_path"] <- list(file.path(p$root, "gov_clone"))   # but no governance URL
  expect_error(quietly(datom_pull(conn)), class = "datom_error_input")
  # a hosted, non-GitHub data repo and no github_api_url on the conn
  url <- "https://git.example.invalid/o/r.git"
  yaml <- file.path(p$clone, ".datom", "project.yaml")
  writeLines(sub("remote_url: .*$", paste("remote_url:", url), readLines(yaml)), yaml)
  git(p$clone, "remote", "set-url", "origin", url)
  conn <- p$conn
  conn["github_api_url"] <- list(NULL)
  conn["github_pat"] <- list("ghp_not_a_real_token_1234")
  msgs <- capture_messages(datom_repo_delete(conn, confirm = "NUL", remove_untracked = TRUE))
  expect_true(any(grepl("No GitHub remote found", msgs)))
  expect_false(dir.exists(p$clone))
})

test_that("a location spelled differently is the same place: no migration onto itself", {
  root <- withr::local_tempdir("datom-test-")
  store <- quietly(datom_store(data = datom_store_local(file.path(root, "store"), prefix = "p"),
                               data_repo_url = file.path(root, "remotes", "SAME.git")))
  clone <- file.path(root, "clone")
  quietly(datom_init_repo(clone, "SAME", store))
  conn <- datom_get_conn(path = clone, store = store)
  quietly(datom_write(conn, data.frame(x = 1:3), "t"))
  head <- git(clone, "rev-parse", "HEAD")
  for (spelling in c("p/", "/p", "p//")) {
    msgs <- capture_messages(datom_repo_set_data_store(conn, datom_store_local(file.path(root, "store"), prefix = spelling)))
    expect_true(any(grepl("already lives there", msgs)))
  }
  expect_identical(git(clone, "rev-parse", "HEAD"), head)
  expect_false(any(grepl("Update data store", git(clone, "log", "--format=%s"))))
  # and a conn built with another spelling of the same prefix is accepted
  other <- quietly(datom_store(data = datom_store_local(file.path(root, "store"), prefix = "p/"),
                               data_repo_url = file.path(root, "remotes", "SAME.git")))
  expect_s3_class(datom_get_conn(path = clone, store = other), "datom_conn")
})

test_that("names read back from a store pass the same rule: governance listings and the manifest", {
  g <- local_governed_project("S1")
  root <- g$root
  conn <- g$conn
  # folders no datom call made, in the gov clone and the gov store
  ref <- list.files(root, pattern = "^ref\\.json$", recursive = TRUE, full.names = TRUE)
  expect_length(ref, 2L)
  for (r in ref) for (bad in c("1bad", "bad name!")) {
    d <- file.path(dirname(dirname(r)), bad)
    dir.create(d)
    file.copy(r, d)
  }
  pr <- collect_warnings(datom_projects(conn))
  expect_identical(pr$value$name, "S1")
  expect_length(pr$warnings, 2L)
  expect_true(all(grepl("invalid project name", pr$warnings)))
  reader <- datom_get_conn(store = datom_store(governance = g$govc, data = g$store$data, validate = FALSE), project_name = "S1")
  pr <- collect_warnings(datom_projects(reader))
  expect_identical(pr$value$name, "S1")
  expect_length(pr$warnings, 2L)
  # a manifest entry no writer would make: a classed integrity error, repaired from git
  mf <- list.files(file.path(root, "store"), pattern = "^manifest\\.json$", recursive = TRUE, full.names = TRUE, all.files = TRUE)
  expect_length(mf, 1L)
  m <- jsonlite::read_json(mf)
  m$tables[["../S2/lb"]] <- m$tables[["lb"]]
  jsonlite::write_json(m, mf, auto_unbox = TRUE, pretty = TRUE)
  e <- expect_error(datom_list(conn), class = "datom_error_integrity")
  expect_match(conditionMessage(e), "invalid table name")
  expect_error(datom_changes(reader, since = "2000-01-01"), class = "datom_error_integrity")
  v <- quietly(datom_validate(conn, fix = TRUE))
  expect_true(v$fixed)
  expect_identical(datom_list(reader)$name, "lb")
})

test_that("a relative repo path holding an @ is a local path (one URL rule, in the engine)", {
  root <- withr::local_tempdir("datom-test-")
  withr::local_dir(root)
  store <- quietly(datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = "me@work/r.git"))
  expect_identical(store$data_repo_url, file.path(getwd(), "me@work", "r.git"))
  quietly(datom_init_repo(file.path(root, "clone"), "AT", store))
  expect_true(dir.exists(file.path(root, "me@work", "r.git")))
  conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
  quietly(datom_repo_delete(conn, confirm = "AT"))
  expect_false(dir.exists(file.path(root, "me@work", "r.git")))
  # scp-like user@host:path stays a remote
  expect_false(datom:::repo_url("git@github.com:o/r.git")$local)
  expect_identical(datom:::repo_url("git@github.com:o/r.git")$name, "r")
})

test_that("a location is the same place only on the same backend", {
  expect_true(datom:::same_location(list(backend = "local", root = "/x", prefix = "p/"), list(type = "local", root = "/x/", prefix = "/p")))
  expect_false(datom:::same_location(list(backend = "local", root = "bkt"), list(type = "s3", root = "bkt")))
  expect_false(datom:::same_location(list(backend = "s3", root = "bkt", prefix = "a"), list(type = "s3", root = "bkt")))
})

test_that("strings that are not valid UTF-8 are refused before any side effect, and named", {
  bad <- "caf\xe9"                       # latin1 bytes, wrongly marked UTF-8
  Encoding(bad) <- "UTF-8"
  raw_bytes <- "\xff\xfe"
  Encoding(raw_bytes) <- "bytes"
  p <- local_project()
  head_before <- git(p$clone, "rev-parse", "HEAD")
  df <- data.frame(id = 1:3, s = c("ok", "also ok", bad))
  e <- expect_error(quietly(datom_write(p$conn, df, "enc")), class = "datom_error_unsupported")
  expect_match(conditionMessage(e), "column `s`: the string in row 3 is not valid UTF-8", fixed = TRUE)
  expect_match(conditionMessage(e), "validUTF8", fixed = TRUE)
  expect_identical(git(p$clone, "rev-parse", "HEAD"), head_before)
  expect_false(dir.exists(file.path(p$clone, "enc")))
  # the same for the hash alone, a "bytes" string, a factor level and a labelled column
  expect_error(datom_hash(df), class = "datom_error_unsupported")
  e <- expect_error(datom_hash(data.frame(s = c(NA, raw_bytes))), class = "datom_error_unsupported")
  expect_match(conditionMessage(e), "row 2", fixed = TRUE)
  f <- structure(c(1L, 2L), levels = c("a", bad), class = "factor")
  e <- expect_error(datom_hash(data.frame(f = f)), class = "datom_error_unsupported")
  expect_match(conditionMessage(e), "column `f`: level 2 is not valid UTF-8", fixed = TRUE)
  lab <- structure(c("a", bad), class = c("haven_labelled", "vctrs_vctr", "character"))
  expect_error(datom_hash(structure(list(x = lab), class = "data.frame", row.names = 1:2)),
               class = "datom_error_unsupported")
  # datom_check_hashable names the first one, and accepts the rest
  rep <- suppressMessages(datom_check_hashable(data.frame(id = 1:3, s = c("ok", bad, bad), f = f[c(1, 1, 1)])))
  expect_identical(rep$status, c("ok", "unsupported", "unsupported"))
  expect_match(rep$recourse[2], "the string in row 2 is not valid UTF-8; find such strings", fixed = TRUE)
  expect_match(rep$recourse[3], "level 2 is not valid UTF-8", fixed = TRUE)
  # valid non-ASCII text in any declared encoding is fine, and a "bytes"
  # string holding valid UTF-8 is read as that UTF-8
  u <- "caf\u00e9"
  l <- iconv(u, "UTF-8", "latin1")
  b <- u
  Encoding(b) <- "bytes"
  expect_identical(datom_hash(data.frame(s = l))$data_sha, datom_hash(data.frame(s = u))$data_sha)
  expect_identical(datom_hash(data.frame(s = b))$data_sha, datom_hash(data.frame(s = u))$data_sha)
  quietly(datom_write(p$conn, data.frame(s = c(u, l)), "enc"))
  expect_identical(datom_read(p$conn, "enc")$s, c(u, u))
})

test_that("an environment, a function or a symbol where the engine expects a vector is a classed input error", {
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(id = 1:2), "t"))
  for (odd in list(new.env(), function() 1, quote(x), as.name("y"))) {
    expect_error(datom_read(p$conn, "t", as_of = odd), class = "datom_error_input")
    expect_error(datom_changes(p$conn, since = odd), class = "datom_error_input")
    expect_error(datom_metadata_sha(odd), class = "datom_error_input")
    expect_error(datom_hash(odd), class = "datom_error_input")
  }
  # the engine's own view of such a value: no elements, never R's
  # "LENGTH or similar applied to environment object"
  expect_null(engine(rs_instant(new.env(), FALSE)))
  expect_null(engine(rs_instant(function() 1, TRUE)))
})

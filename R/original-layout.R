# A project as the original datom (0.1.x) writes it, written from the format
# (FORMATS.md 8 and 9.2.1), for the tests, the article and the examples of
# datom_adopt(). Not used by the package itself.
#
# `tables`: a named list; each element a list of data frames, the versions
# of that table oldest first (a derived table, one commit per version).
# `legacy = TRUE` writes the first version of the first table as metadata
# that predates datom-cv1 (no hash_algo, no parquet_sha; its data_sha is the
# SHA-256 of the parquet bytes). `governance`: NULL, or list(repo_url,
# storage = list(type, root, prefix, region)) written as .datom/governance.json
# and its store mirror. The data repo is pushed to a bare repository at
# `remote` (branch main) with the git command line. The store is written to
# the local folder `store_dir`; `location` (list(type, root, prefix, region))
# is what project.yaml records when the files are then uploaded elsewhere
# (an S3 bucket), by default that folder.
#
# Returns list(clone, remote, store, versions = list(table = version ids
# oldest first), data_shas, parquet_shas).
write_original_project <- function(root, name, tables, prefix = NULL, store_dir = file.path(root, "store"),
                                   remote = file.path(root, "remote.git"), clone = file.path(root, "clone"),
                                   governance = NULL, legacy = FALSE, location = NULL) {
  git <- function(...) {
    out <- suppressWarnings(system2("git", c("-C", shQuote(clone), ...), stdout = TRUE, stderr = TRUE))
    if (!is.null(attr(out, "status")) && attr(out, "status") != 0) stop("git failed: ", paste(out, collapse = "\n"))
    out
  }
  json <- function(x) paste0(rs_to_json(x, TRUE), "\n")
  put <- function(rel_dir, file, text) {
    dir.create(rel_dir, recursive = TRUE, showWarnings = FALSE)
    writeLines(text, file.path(rel_dir, file), sep = "")
  }
  P <- if (is.null(norm_prefix(prefix))) "" else norm_prefix(prefix)
  sroot <- file.path(store_dir, paste0(P, "datom"))  # 0.1.x: the project root is the store root
  dir.create(sroot, recursive = TRUE, showWarnings = FALSE)
  dir.create(clone, recursive = TRUE, showWarnings = FALSE)
  dir.create(dirname(remote), recursive = TRUE, showWarnings = FALSE)
  system2("git", c("init", "-q", "--bare", "-b", "main", shQuote(remote)))
  system2("git", c("init", "-q", "-b", "main", shQuote(clone)))
  git("config", "user.name", shQuote("Original Engineer"))
  git("config", "user.email", "original@example.org")
  git("remote", "add", "origin", shQuote(remote))
  stamp <- function(i) format(as.POSIXct("2026-03-01", tz = "UTC") + i * 3600, "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  yaml <- c(
    paste0("project_name: ", name), "project_description: ''", "created_at: '2026-03-01'", "datom_version: 0.1.1",
    "storage:", "  data:", paste0("    type: ", location$type %||% "local"),
    paste0("    root: ", location$root %||% normalizePath(store_dir, winslash = "/")),
    paste0("    prefix: ", if (is.null(prefix)) "~" else prefix),
    if (identical(location$type, "s3")) paste0("    region: ", location$region %||% "us-east-1"),
    "  max_file_size_gb: 1000.0",
    "repos:", "  data:", paste0("    remote_url: ", remote),
    "sync:", "  continue_on_error: yes", "  parallel_uploads: 4", "renv: no"
  )
  dir.create(file.path(clone, ".datom"), showWarnings = FALSE)
  writeLines(yaml, file.path(clone, ".datom", "project.yaml"))
  writeLines(c(".Rhistory", ".RData", "*.parquet", "input_files/"), file.path(clone, ".gitignore"))
  writeLines(c(paste("#", name), "", "A datom project (written by datom 0.1.1)."), file.path(clone, "README.md"))
  manifest <- list(project_name = name, updated_at = stamp(0), tables = structure(list(), names = character(0)),
                   summary = list(total_tables = 0L, total_size_bytes = 0L, total_versions = 0L))
  writeLines(json(manifest), file.path(clone, ".datom", "manifest.json"), sep = "")
  files <- c(".datom/project.yaml", ".datom/manifest.json", ".gitignore", "README.md")
  if (!is.null(governance)) {
    g <- list(gov_repo_url = governance$repo_url, gov_storage = governance$storage, attached_at = stamp(0))
    writeLines(json(g), file.path(clone, ".datom", "governance.json"), sep = "")
    put(file.path(sroot, ".metadata"), "governance.json", json(g))
    files <- c(files, ".datom/governance.json")
  }
  git("add", files)
  git("commit", "-q", "-m", shQuote("Initialize datom repository"))
  versions <- list()
  data_shas <- list()
  parquet_shas <- list()
  step <- 0L
  for (t in names(tables)) {
    history <- list()
    for (i in seq_along(tables[[t]])) {
      step <- step + 1L
      df <- tables[[t]][[i]]
      h <- datom_hash(df)
      tmp <- tempfile(fileext = ".parquet")
      pq <- parquet_write(df, tmp)
      pre_cv1 <- legacy && step == 1L
      data_sha <- if (pre_cv1) pq$parquet_sha else h$data_sha
      meta <- list(data_sha = data_sha)
      if (!pre_cv1) meta$hash_algo <- "datom-cv1"
      meta$table_type <- "derived"
      meta$nrow <- nrow(df)
      meta$ncol <- ncol(df)
      meta$colnames <- names(df)
      meta$column_hashes <- lapply(seq_len(nrow(h$column_hashes)), function(k) {
        list(name = h$column_hashes$name[k], sha = h$column_hashes$sha[k])
      })
      meta$created_at <- stamp(step)
      meta$datom_version <- "0.1.1"
      meta$size_bytes <- pq$size_bytes
      version <- as.character(datom_metadata_sha(meta))
      if (!pre_cv1) meta <- append(meta, list(parquet_sha = pq$parquet_sha), after = 2L)
      entry <- list(version = version, data_sha = data_sha, timestamp = stamp(step),
                    author = list(name = "Original Engineer", email = "original@example.org"),
                    commit_message = paste("Update", t))
      if (!pre_cv1) entry$parquet_sha <- pq$parquet_sha
      if (!any(vapply(history, function(e) identical(e$version, version), TRUE))) history <- c(list(entry), history)
      manifest$tables[[t]] <- list(current_version = version, current_data_sha = data_sha, last_updated = stamp(step),
                                   size_bytes = pq$size_bytes, version_count = length(history))
      manifest$updated_at <- stamp(step)
      manifest$summary <- list(
        total_tables = length(manifest$tables),
        total_size_bytes = sum(vapply(manifest$tables, function(e) as.numeric(e$size_bytes), 0)),
        total_versions = sum(vapply(manifest$tables, function(e) as.integer(e$version_count), 0L))
      )
      # the data repo: metadata.json, version_history.json, manifest; one commit
      dir.create(file.path(clone, t), showWarnings = FALSE)
      writeLines(json(meta), file.path(clone, t, "metadata.json"), sep = "")
      writeLines(json(history), file.path(clone, t, "version_history.json"), sep = "")
      writeLines(json(manifest), file.path(clone, ".datom", "manifest.json"), sep = "")
      git("add", c(paste0(t, "/metadata.json"), paste0(t, "/version_history.json"), ".datom/manifest.json"))
      git("commit", "-q", "-m", shQuote(paste("Update", t)))
      # the store, 0.1.x layout: {P/}datom/<table>/...
      dir.create(file.path(sroot, t, ".metadata"), recursive = TRUE, showWarnings = FALSE)
      file.copy(tmp, file.path(sroot, t, paste0(data_sha, ".parquet")), overwrite = TRUE)
      unlink(tmp)
      put(file.path(sroot, t, ".metadata"), "metadata.json", json(meta))
      put(file.path(sroot, t, ".metadata"), "version_history.json", json(history))
      put(file.path(sroot, t, ".metadata"), paste0(version, ".json"), json(meta))
      put(file.path(sroot, ".metadata"), "manifest.json", json(manifest))
      versions[[t]] <- c(versions[[t]], version)
      data_shas[[t]] <- c(data_shas[[t]], data_sha)
      parquet_shas[[t]] <- c(parquet_shas[[t]], pq$parquet_sha)
    }
  }
  git("push", "-q", "-u", "origin", "main")
  list(clone = normalizePath(clone, winslash = "/"), remote = remote, store = normalizePath(store_dir, winslash = "/"),
       root = sroot, versions = versions, data_shas = data_shas, parquet_shas = parquet_shas)
}

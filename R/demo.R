#' Run the datom demo
#'
#' Plays a short, self-contained session in a temporary folder and prints
#' what a user sees: a table's identity (`datom_hash()`), what changes it and
#' what does not, a parquet snapshot written and read back byte-verified.
#'
#' @param dir Folder to work in (default: a new temporary folder).
#' @return The folder used, invisibly.
#' @export
#' @examples
#' datom_demo()
datom_demo <- function(dir = tempfile("datom-demo-")) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
  cli::cli_h2("A table and its identity")
  lb <- data.frame(
    USUBJID = sprintf("STUDY-001-%03d", rep(1:4, each = 2)),
    LBTESTCD = factor(rep(c("ALT", "AST"), 4)),
    LBSTRESN = c(21, 30, 18, NA, 44, 39, 25, 27),
    LBDTC = as.Date("2026-01-05") + rep(0:3, each = 2)
  )
  print(utils::head(lb, 4))
  h1 <- datom_hash(lb)
  cli::cli_alert_info("data_sha: {.val {h1$data_sha}}")
  print(h1$column_hashes)

  cli::cli_h2("What changes identity")
  lb2 <- lb
  lb2$LBSTRESN[4] <- 33
  h2 <- datom_hash(lb2)
  changed <- h1$column_hashes$name[h1$column_hashes$sha != h2$column_hashes$sha]
  cli::cli_alert_info("One value filled in: new data_sha {.val {substr(h2$data_sha, 1, 8)}}; changed column{?s}: {.field {changed}}")
  lb3 <- lb
  rownames(lb3) <- paste0("row", seq_len(nrow(lb3)))
  levels(lb3$LBTESTCD) <- levels(lb3$LBTESTCD)
  lb3$LBTESTCD <- factor(as.character(lb3$LBTESTCD), levels = c("AST", "ALT", "GGT"))
  same <- identical(datom_hash(lb3)$data_sha, h1$data_sha)
  cli::cli_alert_success("Row names and factor level order are not content: same data_sha = {same}")

  cli::cli_h2("An immutable snapshot")
  f <- file.path(dir, paste0(h1$data_sha, ".parquet"))
  w <- parquet_write(lb, f)
  cli::cli_alert_success("Wrote {.path {basename(f)}} ({w$size_bytes} bytes), parquet_sha {.val {substr(w$parquet_sha, 1, 8)}}")
  back <- parquet_read(f, w$parquet_sha)
  cli::cli_alert_success("Read back after verifying parquet_sha: identical to the original = {identical(back, lb)}")

  cli::cli_h2("A version id")
  meta <- list(data_sha = h1$data_sha, hash_algo = "datom-cv1", table_type = "derived",
               nrow = nrow(lb), ncol = ncol(lb), colnames = names(lb))
  v <- datom_metadata_sha(meta)
  cli::cli_alert_info("metadata_sha (the version id): {.val {as.character(v)}}")
  cli::cli_text("canonical JSON: {.code {attr(v, 'canonical_json')}}")
  invisible(dir)
}

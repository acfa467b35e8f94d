#' datom: versioned, traceable tables without a database
#'
#' datom gives a data frame an identity (`datom_hash()`, `datom-cv1`) and a
#' history: new content becomes an immutable parquet snapshot addressed by
#' that hash, metadata and version history live in git.
#'
#' Options: `datom.quiet = TRUE` silences informational messages (and
#' progress). `datom.progress` (default: `interactive()`) shows a progress bar
#' for long calls -- every phase of a write (hashing, encoding, committing and
#' pushing, storing or uploading, publishing) and of a read (reading or
#' downloading, verifying, decoding, converting to R), batch copies and
#' verifications -- once the call has lasted `datom.progress_delay` seconds
#' (default 2).
#'
#' @keywords internal
#' @useDynLib datom, .registration = TRUE
#' @importFrom tibble new_tibble
"_PACKAGE"

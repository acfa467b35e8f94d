#' datom: versioned, traceable tables without a database
#'
#' datom gives a data frame an identity (`datom_hash()`, `datom-cv1`) and a
#' history: new content becomes an immutable parquet snapshot addressed by
#' that hash, metadata and version history live in git.
#'
#' Options: `datom.quiet = TRUE` silences informational messages.
#'
#' @keywords internal
#' @useDynLib datom, .registration = TRUE
#' @importFrom tibble new_tibble
"_PACKAGE"

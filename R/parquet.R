# Data frame <-> parquet through the engine (internal; datom_write/datom_read
# build on these).

# Attributes the engine maps natively; anything else is carried verbatim.
native_attrs <- c("class", "levels", "tzone", "units", "names")

column_extras <- function(data) {
  vapply(data, function(col) {
    a <- attributes(col)
    a <- a[setdiff(names(a), native_attrs)]
    if (length(a) == 0L) NA_character_ else rawToChar(serialize(a, NULL, ascii = TRUE))
  }, character(1), USE.NAMES = FALSE)
}

# Checks a table must pass before it is stored (on top of hashability).
check_storable <- function(data, arg = "data", call = sys.call(-1)) {
  check_hashable_frame(data, arg, call = call)
  nm <- names(data)
  if (is.null(nm) || anyNA(nm) || any(!nzchar(nm))) {
    datom_abort("input", "{.arg {arg}} has empty column names.",
      "Give every column a name, e.g. with names(data) <- ...", call = call)
  }
  dup <- unique(nm[duplicated(nm)])
  if (length(dup)) {
    datom_abort("input", "{.arg {arg}} has duplicated column names: {.val {dup}}.",
      "Column names must be unique; see make.unique().", call = call)
  }
  invisible(data)
}

# Write `data` as parquet at `path` (atomically). Returns list(parquet_sha,
# size_bytes).
parquet_write <- function(data, path) {
  check_storable(data)
  check_string(path, "path")
  engine(rs_parquet_write(data, as.numeric(nrow(data)), column_extras(data), path.expand(path)))
}

# Read a parquet file into a data frame. With `parquet_sha`, the bytes are
# verified before they are parsed.
parquet_read <- function(path, parquet_sha = NULL) {
  check_string(path, "path")
  res <- engine(rs_parquet_read(path.expand(path), parquet_sha))
  assemble_frame(res)
}

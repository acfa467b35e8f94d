# Conditions and messages: every datom error is raised here.

#' Raise a datom error
#'
#' All errors datom signals are conditions of class
#' `c("datom_error_<kind>", "datom_error", "rlang_error", "error", "condition")`
#' with a one-line cause and, when there is one, an `i` hint.
#'
#' @param kind The error kind (class suffix), e.g. `"input"`.
#' @param message One-line cause (cli markup allowed).
#' @param hint Optional remedy, shown as an `i` bullet.
#' @param ... Extra bullets or fields passed to [cli::cli_abort()].
#' @param call The call to report.
#' @param .envir Environment for cli interpolation.
#' @keywords internal
#' @noRd
datom_abort <- function(kind, message, hint = NULL, ..., call = sys.call(-1),
                        .envir = parent.frame(), .fields = NULL) {
  force(call)
  bullets <- c(message, ...)
  if (!is.null(hint)) bullets <- c(bullets, i = hint)
  args <- c(list(bullets, class = c(paste0("datom_error_", kind), "datom_error"), call = call, .envir = .envir),
            .fields)
  do.call(cli::cli_abort, args, quote = TRUE)
}

# Convert an engine result: errors come back as values of class
# `datom_engine_error` (list(kind, message, hint, status, bucket, key, scope))
# and are raised here, so the engine never unwinds through R. The structured
# fields become fields of the condition (`e$status`, `e$scope`, ...): code
# decides on them and on the class, never on the message text.
engine <- function(res, call = sys.call(-1)) {
  # `res` is the engine call itself (a promise): run it first, so a progress
  # bar it opened is closed here, after it returned
  force(res)
  if (!is.null(progress_state$label) || !is.null(progress_state$id)) progress_close()
  if (inherits(res, "datom_engine_error")) {
    fields <- Filter(Negate(is.null), unclass(res)[c("status", "bucket", "key", "scope")])
    datom_abort(res$kind, esc(res$message), if (!is.null(res$hint)) esc(res$hint), call = call, .fields = fields)
  }
  res
}

# Print methods write to standard output (not the message stream cli uses):
# the cli lines `expr` emits are formatted and written with cat(). Nested
# calls (a print method printing a component) add to the outer capture.
print_state <- new.env(parent = emptyenv())
cli_print <- function(expr) {
  if (isTRUE(print_state$active)) return(invisible(force(expr)))
  print_state$active <- TRUE
  on.exit(print_state$active <- FALSE)
  lines <- cli::cli_fmt(expr)
  cat(lines, sep = "\n")
  invisible()
}

# One message helper with a quiet option: options(datom.quiet = TRUE).
datom_inform <- function(type = c("success", "info", "warning", "danger", "text"),
                         text, .envir = parent.frame()) {
  if (isTRUE(getOption("datom.quiet", FALSE))) return(invisible(NULL))
  type <- match.arg(type)
  say <- switch(type, success = cli::cli_alert_success, info = cli::cli_alert_info, warning = cli::cli_alert_warning,
                danger = cli::cli_alert_danger, text = cli::cli_text)
  say(text, .envir = .envir)
  invisible(NULL)
}

# Argument checks --------------------------------------------------------------

check_data_frame <- function(data, arg = "data", call = sys.call(-1)) {
  if (!is.data.frame(data)) {
    datom_abort("input", "{.arg {arg}} must be a data frame, not {.obj_type_friendly {data}}.",
      "Pass a data.frame, tibble or data.table.", call = call)
  }
  invisible(data)
}

check_flag <- function(x, arg, call = sys.call(-1)) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) datom_abort("input", "{.arg {arg}} must be TRUE or FALSE.", call = call)
  invisible(x)
}

check_string <- function(x, arg, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    datom_abort("input", "{.arg {arg}} must be a single non-empty string.", call = call)
  }
  invisible(x)
}

# Progress of long engine work: every phase of a write or a read (hashing,
# encoding, committing and pushing, uploading or storing; downloading,
# verifying, decoding), S3 transfers, batch copy and verify. The engine calls
# progress_tick() every ~200 ms from R's main thread while an operation runs;
# a cli progress bar (a spinner when the size is unknown) appears once the
# call has lasted `datom.progress_delay` seconds (default 2; `elapsed` is
# counted from the start of the write or read, so a long call shows whatever
# phase it is in from then on), in interactive sessions (or with
# options(datom.progress = TRUE)), and is closed by engine().
progress_state <- new.env(parent = baseenv())

progress_tick <- function(label, unit, done, total, finished = FALSE, elapsed = NA_real_) {
  tryCatch({
    progress_draw(label, unit, done, total, elapsed)
    if (isTRUE(finished)) progress_close()
  }, error = function(e) invisible(FALSE))
}

progress_draw <- function(label, unit, done, total, elapsed = NA_real_) {
  show <- getOption("datom.progress", interactive()) && !isTRUE(getOption("datom.quiet", FALSE))
  if (!isTRUE(show)) return(invisible(FALSE))
  if (isTRUE(getOption("datom.progress_log"))) {  # a record for the tests
    progress_state$log <- c(progress_state$log, sprintf("%s|%s|%.0f|%.0f", label, unit, done, total))
  }
  now <- Sys.time()
  if (!identical(progress_state$label, label)) {
    progress_close()
    progress_state$label <- label
    progress_state$started <- now
  }
  if (is.null(progress_state$id)) {
    waited <- if (is.na(elapsed)) as.numeric(difftime(now, progress_state$started, units = "secs")) else elapsed
    if (waited < getOption("datom.progress_delay", 2)) return(invisible(FALSE))
    fmt <- if (!(total > 0)) "{label} {cli::pb_spin} {cli::pb_elapsed}" else paste("{label} {cli::pb_bar}", switch(
      paste(unit), bytes = "{cli::pb_current_bytes}/{cli::pb_total_bytes} {cli::pb_rate_bytes}",
      objects = "{cli::pb_current}/{cli::pb_total}", "{cli::pb_percent}"))
    progress_state$id <- cli::cli_progress_bar(total = if (total > 0) total else NA, format = fmt, clear = TRUE,
                                               .auto_close = FALSE, .envir = progress_state)
  }
  sized <- total > 0
  cli::cli_progress_update(id = progress_state$id, set = if (sized) done, total = if (sized) total, force = TRUE,
                           .envir = progress_state)
  invisible(TRUE)
}

progress_close <- function() {
  if (!is.null(progress_state$id)) try(cli::cli_progress_done(id = progress_state$id, .envir = progress_state), silent = TRUE)
  progress_state$id <- progress_state$label <- NULL
  invisible()
}

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
                        .envir = parent.frame()) {
  force(call)
  bullets <- c(message, ...)
  if (!is.null(hint)) bullets <- c(bullets, i = hint)
  cli::cli_abort(
    bullets,
    class = c(paste0("datom_error_", kind), "datom_error"),
    call = call,
    .envir = .envir
  )
}

# Convert an engine result: errors come back as values of class
# `datom_engine_error` (list(kind, message, hint)) and are raised here, so the
# engine never unwinds through R.
engine <- function(res, call = sys.call(-1)) {
  if (inherits(res, "datom_engine_error")) {
    msg <- gsub("{", "{{", gsub("}", "}}", res$message, fixed = TRUE), fixed = TRUE)
    hint <- if (is.null(res$hint)) NULL else gsub("{", "{{", gsub("}", "}}", res$hint, fixed = TRUE), fixed = TRUE)
    datom_abort(res$kind, msg, hint, call = call)
  }
  res
}

# One message helper with a quiet option: options(datom.quiet = TRUE).
datom_inform <- function(type = c("success", "info", "warning", "danger", "text"),
                         text, .envir = parent.frame()) {
  if (isTRUE(getOption("datom.quiet", FALSE))) return(invisible(NULL))
  type <- match.arg(type)
  switch(type,
    success = cli::cli_alert_success(text, .envir = .envir),
    info = cli::cli_alert_info(text, .envir = .envir),
    warning = cli::cli_alert_warning(text, .envir = .envir),
    danger = cli::cli_alert_danger(text, .envir = .envir),
    text = cli::cli_text(text, .envir = .envir)
  )
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

check_string <- function(x, arg, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    datom_abort("input", "{.arg {arg}} must be a single non-empty string.", call = call)
  }
  invisible(x)
}

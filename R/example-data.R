# Bundled example study STUDY-001 (dev/spec/API.md 3.9 and 5).

#' Example clinical trial data
#'
#' Reads one domain of the bundled example study, STUDY-001: a simulated
#' Phase II trial with 48 subjects enrolled between 2026-01-20 and 2026-07-03,
#' shipped as four SDTM-flavoured CSV files. The data are used throughout the
#' articles to simulate monthly extracts from an electronic data capture (EDC)
#' system.
#'
#' The domains are:
#'
#' * `"dm"` demographics: 48 rows x 12 columns, one row per subject; cutoff
#'   column `RFSTDTC` (enrollment date).
#' * `"ex"` exposure: 48 rows x 10 columns, first dose per subject
#'   (`"DRUG-X 200mg"` or `"PLACEBO"`, 24 each); cutoff column `EXSTDTC`.
#' * `"lb"` laboratory results: 720 rows x 15 columns (48 subjects x 3 visits
#'   x 5 tests: ALT, AST, GLUC, HGB, WBC); cutoff column `LBDTC`.
#' * `"ae"` adverse events: 84 rows x 12 columns (38 subjects with at least one
#'   event); cutoff column `AESTDTC` (onset date).
#'
#' Every domain carries `STUDYID`, `DOMAIN`, `USUBJID` and `SUBJID`. Dates are
#' ISO 8601 strings (`"YYYY-MM-DD"`).
#'
#' With `cutoff_date`, only the rows whose cutoff column is on or before the
#' cutoff are kept: this is the extract that would have been available on that
#' day. Earlier rows never change, so each later extract is a superset of an
#' earlier one. See [datom_example_cutoffs()] for the six monthly cutoffs.
#'
#' @param domain The domain to read: one of `"dm"` (default), `"ex"`, `"lb"`,
#'   `"ae"`.
#' @param cutoff_date `NULL` (the default, all rows) or a single date: a
#'   `"YYYY-MM-DD"` string or anything else [as.Date()] accepts.
#'
#' @return A plain `data.frame` (not a tibble), read with [utils::read.csv()]
#'   and its default type inference: text columns and dates are character,
#'   `SUBJID` and other whole-number columns are integer, lab results are
#'   double. Row names run from 1.
#'
#' @seealso [datom_example_cutoffs()]
#' @export
#' @examples
#' dm <- datom_example_data("dm")
#' dim(dm)
#' table(dm$SEX)
#'
#' # The extract available at the end of the first month
#' datom_example_data("lb", cutoff_date = "2026-01-28")
#'
#' # Row counts of every monthly extract
#' sapply(datom_example_cutoffs(), function(d) nrow(datom_example_data("ae", d)))
datom_example_data <- function(domain = c("dm", "ex", "lb", "ae"), cutoff_date = NULL) {
  call <- sys.call()
  domain <- match.arg(domain)

  cutoff <- NULL
  if (!is.null(cutoff_date)) {
    cutoff <- tryCatch(as.Date(cutoff_date), error = function(e) e)
    if (inherits(cutoff, "error")) {
      err_msg <- conditionMessage(cutoff)
      datom_abort(
        "input",
        "{.arg cutoff_date} must be a date or a {.val YYYY-MM-DD} string.",
        "Use a date such as {.val 2026-03-28}, or {.code NULL} for all rows.",
        i = "Underlying error: {err_msg}",
        call = call
      )
    }
    if (length(cutoff) != 1L || is.na(cutoff)) {
      datom_abort(
        "input",
        "{.arg cutoff_date} must be a single, non-missing date.",
        "Use a date such as {.val 2026-03-28}, or {.code NULL} for all rows.",
        call = call
      )
    }
  }

  file <- system.file("extdata", paste0(domain, ".csv"), package = "datom")
  if (!nzchar(file)) {
    datom_abort(
      "not_found",
      "The bundled example file {.file {domain}.csv} was not found.",
      "Reinstall {.pkg datom}: the file ships in its {.path extdata} folder.",
      call = call
    )
  }
  data <- utils::read.csv(file, stringsAsFactors = FALSE)

  if (!is.null(cutoff)) {
    date_col <- switch(domain,
      dm = "RFSTDTC",
      ex = "EXSTDTC",
      lb = "LBDTC",
      ae = "AESTDTC"
    )
    keep <- as.Date(data[[date_col]]) <= cutoff
    data <- data[keep, , drop = FALSE]
    rownames(data) <- NULL
  }
  data
}

#' Monthly cutoffs of the example study
#'
#' The six monthly data cutoffs of the bundled example study STUDY-001, used
#' with [datom_example_data()] to simulate one EDC extract per month.
#'
#' @return A named character vector of six `"YYYY-MM-DD"` dates, `month_1`
#'   (`"2026-01-28"`) to `month_6` (`"2026-06-28"`), the 28th of each month.
#'
#' @seealso [datom_example_data()]
#' @export
#' @examples
#' datom_example_cutoffs()
#'
#' # The month-4 lab extract
#' lb <- datom_example_data("lb", cutoff_date = datom_example_cutoffs()[["month_4"]])
#' nrow(lb)
datom_example_cutoffs <- function() {
  c(
    month_1 = "2026-01-28",
    month_2 = "2026-02-28",
    month_3 = "2026-03-28",
    month_4 = "2026-04-28",
    month_5 = "2026-05-28",
    month_6 = "2026-06-28"
  )
}

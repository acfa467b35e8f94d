# The two seed articles (fixtures/seeds/*.txt, copies of the rendered
# articles users follow): their R code, chunk by chunk, with the output each
# chunk shows (`#>` lines), and a runner that evaluates the chunks in order
# the way a user does and records what each one printed.

# Chunks of an article: paragraphs (blank-line separated) whose text, minus
# the `#>` lines, parses as R and contains at least one call (a heading
# such as "Decommissioning" parses as a bare symbol; prose does not parse).
# A paragraph of `#>` lines alone is the output of the chunk before it.
seed_chunks <- function(file) {
  lines <- readLines(file, encoding = "UTF-8", warn = FALSE)
  para <- cumsum(!nzchar(trimws(lines)))
  blocks <- unname(split(lines[nzchar(trimws(lines))], para[nzchar(trimws(lines))]))
  chunks <- list()
  for (b in blocks) {
    out <- startsWith(b, "#>")
    code <- b[!out]
    if (!length(code)) {
      if (length(chunks)) {
        k <- length(chunks)
        chunks[[k]]$output <- c(chunks[[k]]$output, sub("^#> ?", "", b))
      }
      next
    }
    exprs <- tryCatch(parse(text = code, keep.source = FALSE), error = function(e) NULL)
    if (is.null(exprs) || !length(exprs) || !any(vapply(exprs, is.call, logical(1)))) next
    chunks[[length(chunks) + 1L]] <- list(code = code, output = sub("^#> ?", "", b[out]))
  }
  chunks
}

# Normalise a console line for comparison: the bullet symbol (cli prints
# v/x/i/! or their Unicode forms), absolute paths (the seed writes
# `/tmp/.../name`), hashes and version ids (the seed writes `"..."` or
# short hashes), timestamps and runs of spaces.
seed_normalise <- function(x) {
  x <- gsub("\u00a0", " ", x)
  x <- sub("^\\s*(v|x|i|!|\\*|-|\u2714|\u2716|\u2139|\u2022|\u2192)\\s+", "", x)
  x <- gsub("^-- (.*?)( -+)?$", "\\1", x)
  x <- gsub("\u2500\u2500 (.*?)( \u2500+)?$", "\\1", x)
  x <- gsub("(/[^[:space:]/]+|/\\.\\.\\.)+/([^[:space:]/]+)", "<path>/\\2", x)
  x <- gsub("\"[0-9a-f]{6,}\"", "\"...\"", x)
  x <- gsub("\\b[0-9a-f]{8,}\\b", "<hash>", x)
  x <- gsub("\\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[^[:space:]]*", "<time>", x)
  x <- gsub("[[:space:]]+", " ", trimws(x))
  x[nzchar(x)]
}

# Evaluate `chunks` in `env` as a user would at the console: each top-level
# expression; visible values printed. For each chunk: the messages (one
# entry per line), the printed output, the error (if any; evaluation goes
# on, as in a session) and the warnings.
seed_run <- function(chunks, env) {
  lapply(chunks, function(ch) {
    msgs <- character(); warns <- character(); err <- NULL
    printed <- utils::capture.output({
      for (e in parse(text = ch$code, keep.source = FALSE)) {
        r <- tryCatch(withCallingHandlers(withVisible(eval(e, env)),
          message = function(m) {
            msgs <<- c(msgs, strsplit(sub("\n$", "", conditionMessage(m)), "\n", fixed = TRUE)[[1]])
            invokeRestart("muffleMessage")
          },
          warning = function(w) {
            warns <<- c(warns, conditionMessage(w))
            invokeRestart("muffleWarning")
          }), error = function(e) { err <<- e; NULL })
        if (!is.null(r) && r$visible) print(r$value)
        if (!is.null(err)) break
      }
    }, type = "output")
    list(code = ch$code, expected = ch$output, messages = msgs, printed = printed, error = err, warnings = warns)
  })
}

# The lines a chunk showed the user: messages, printed output, and an
# error's message lines (cli bullets become lines).
seed_shown <- function(r) {
  err <- if (!is.null(r$error)) strsplit(conditionMessage(r$error), "\n", fixed = TRUE)[[1]] else character()
  c(r$messages, r$printed, err)
}

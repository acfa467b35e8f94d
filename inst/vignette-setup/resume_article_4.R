# Resume the journey at the start of article 4, "Promoting to S3":
# everything of article 3, plus the month-3 extracts of dm, ex, lb and ae
# imported from the inbox folder (`input_files/`) with datom_sync().
#
#   state <- source(system.file("vignette-setup", "resume_article_4.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  state <- suppressMessages(source(system.file("vignette-setup", "resume_article_3.R", package = "datom"))$value)
  conn <- state$conn
  vignette_extracts(conn, "2026-03-28")
  manifest <- suppressMessages(datom::datom_sync_manifest(conn))
  # import a table's month-3 extract only if it was never imported (later
  # articles write newer versions, which must not be rolled back)
  imported <- vapply(manifest$name, function(t) {
    t %in% datom::datom_list(conn)$name &&
      any(startsWith(datom::datom_history(conn, t, n = 1000)$commit_message, "Sync "))
  }, logical(1))
  todo <- manifest[manifest$status %in% c("new", "changed") & !imported, , drop = FALSE]
  if (nrow(todo) > 0) datom::datom_sync(conn, todo)
  vignette_intact(4, "dm, ex, lb and ae imported through 2026-03-28")
  invisible(state)
})

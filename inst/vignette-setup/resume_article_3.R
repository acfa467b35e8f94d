# Resume the journey at the start of article 3, "A folder of extracts":
# everything of article 2, plus the month-2 version of `dm`.
#
#   state <- source(system.file("vignette-setup", "resume_article_3.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  state <- suppressMessages(source(system.file("vignette-setup", "resume_article_2.R", package = "datom"))$value)
  vignette_ensure(state$conn, "dm", "2026-02-28", "DM extract through 2026-02-28")
  vignette_intact(3, "dm has its month-1 and month-2 versions")
  invisible(state)
})

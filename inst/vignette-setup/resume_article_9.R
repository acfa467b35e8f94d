# Resume the journey at the start of article 9, "Tracing data lineage":
# the same state and list as resume_article_8.R.
#
#   state <- source(system.file("vignette-setup", "resume_article_9.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  state <- suppressMessages(source(system.file("vignette-setup", "resume_article_8.R", package = "datom"))$value)
  vignette_intact(9, "the original engineer's developer connection")
  invisible(state)
})

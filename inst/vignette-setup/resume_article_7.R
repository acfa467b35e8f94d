# Resume the journey at the start of article 7, "Governing a portfolio" (article 6 changes none of the original engineer's persistent state):
# the same state and list as resume_article_6.R.
#
#   state <- source(system.file("vignette-setup", "resume_article_7.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  state <- suppressMessages(source(system.file("vignette-setup", "resume_article_6.R", package = "datom"))$value)
  vignette_intact(7, "the original engineer's developer connection")
  invisible(state)
})

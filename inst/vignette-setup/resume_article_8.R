# Resume the journey at the start of article 8, "Auditing and reproducibility":
# the same state and list as resume_article_7.R.
#
#   state <- source(system.file("vignette-setup", "resume_article_8.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  state <- suppressMessages(source(system.file("vignette-setup", "resume_article_7.R", package = "datom"))$value)
  vignette_intact(8, "the original engineer's developer connection")
  invisible(state)
})

# Resume the journey at the start of article 6, "A second engineer joins":
# the state of article 5, seen from the original engineer's seat (a
# developer connection with governance).
#
#   state <- source(system.file("vignette-setup", "resume_article_6.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  suppressMessages(source(system.file("vignette-setup", "resume_article_5.R", package = "datom")))
  v <- vignette_env()
  conn <- vignette_conn(v)
  gov <- datom:::recorded_governance(v$dev_dir)
  datom:::datom_inform("info", "Resuming engineer conn for {conn$project_name} on {conn$root}")
  vignette_intact(6, "the original engineer's developer connection")
  invisible(list(conn = conn, dev_dir = v$dev_dir, gov_clone_path = v$gov_clone, data_s3 = v$shared_store(),
                 gov_component = v$gov_store(), data_repo_url = conn$data_repo_url, gov_repo_url = gov$gov_repo_url))
})

# Resume the journey at the start of article 5, "Handing off to a
# statistician": STUDY_001 promoted to the shared store (an S3 bucket with
# DATOM_VIGNETTE_BACKEND = "aws" or DATOM_S3_ENDPOINT, else a shared local
# folder), registered in the
# organisation's governance repo, and a *reader* connection for the
# statistician (no git, no token: governance store + data credentials).
#
#   state <- source(system.file("vignette-setup", "resume_article_5.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  state <- suppressMessages(source(system.file("vignette-setup", "resume_article_4.R", package = "datom"))$value)
  v <- vignette_env()
  conn <- state$conn
  gov_component <- v$gov_store()
  data_s3 <- v$shared_store()
  # governance: one repo per organisation, then the project attaches to it
  gov <- datom:::recorded_governance(v$dev_dir)
  if (is.null(gov)) {
    gov_repo_url <- if (!is.null(v$github_api_url)) {
      datom::datom_init_gov(gov_component, create_repo = TRUE, repo_name = "acme-governance",
                            github_pat = v$github_pat, github_api_url = v$github_api_url, github_org = v$github_org,
                            gov_local_path = v$gov_clone)
    } else {
      datom::datom_init_gov(gov_component, gov_repo_url = v$remote("acme-governance"), gov_local_path = v$gov_clone)
    }
    conn <- datom::datom_attach_gov(conn, gov_component, gov_repo_url = gov_repo_url, gov_local_path = v$gov_clone)
  }
  # promotion: the data moves to the shared store, ref.json follows
  if (!identical(conn$root, datom:::component_location(data_s3)$root)) {
    datom::datom_repo_set_data_store(conn, data_s3)
  }
  cfg <- datom:::engine(datom:::rs_read_config(v$dev_dir))
  datom:::datom_inform("info", "Building reader conn for {cfg$project_name} on {cfg$root}")
  reader_store <- datom::datom_store(governance = gov_component, data = data_s3)
  reader <- datom::datom_get_conn(store = reader_store, project_name = cfg$project_name)
  vignette_intact(5, "STUDY_001 on the shared store, governed")
  invisible(list(conn = reader, dev_dir = v$dev_dir, gov_clone_path = v$gov_clone, bucket = cfg$root,
                 prefix = cfg$prefix, region = if (is.null(cfg$region)) "us-east-1" else cfg$region))
})

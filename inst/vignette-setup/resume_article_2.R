# Resume the journey at the start of article 2, "Month 2 arrives":
# STUDY_001 on a local store (the engineer's laptop), solo, with the month-1
# `dm` extract. Creates what is missing, reuses what exists (run it twice:
# the second run changes nothing). Where it lives and which backends it uses
# come from the environment (see the article "Credentials in practice"):
# DATOM_VIGNETTE_DIR (where), DATOM_VIGNETTE_BACKEND = "aws" (real S3 buckets
# DATOM_S3_BUCKET / DATOM_GOV_BUCKET and GitHub, with GITHUB_PAT and the AWS
# keys from the keyring or the AWS credential chain; checked up front), or
# the offline default (local folders and bare git remotes).
#
#   state <- source(system.file("vignette-setup", "resume_article_2.R", package = "datom"))$value
local({
  source(system.file("vignette-setup", "journey.R", package = "datom"), local = TRUE)
  v <- vignette_env()
  if (!file.exists(file.path(v$dev_dir, ".datom", "project.yaml"))) {
    on_github <- !is.null(v$github_api_url)
    store <- datom::datom_store(
      data = v$local_store, github_pat = v$github_pat, github_api_url = v$github_api_url, github_org = v$github_org,
      data_repo_url = if (!on_github) v$remote("study-001-data")
    )
    datom::datom_init_repo(v$dev_dir, "STUDY_001", store, create_repo = on_github, repo_name = "study-001-data")
  }
  conn <- vignette_conn(v)
  vignette_ensure(conn, "dm", "2026-01-28", "Initial DM extract through 2026-01-28")
  vignette_intact(2, "STUDY_001 with the month-1 dm extract")
  invisible(list(conn = conn, dev_dir = v$dev_dir))
})

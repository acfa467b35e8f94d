# The articles' journey: where its state lives and the steps the resume
# scripts (resume_article_N.R) take. Not part of the package's API: the
# articles and the resume scripts source this file.
#
#   source(system.file("vignette-setup", "journey.R", package = "datom"))
`%||%` <- function(x, y) if (is.null(x)) y else x

#
# Where the journey lives and what it runs on comes from the environment:
#   DATOM_VIGNETTE_DIR      folder holding all state (default: tempdir()/datom-vignettes)
#   DATOM_VIGNETTE_BACKEND  "local" (default: offline, credential-free) or
#                           "aws": real S3 buckets and GitHub, chosen explicitly
#   DATOM_S3_BUCKET         data bucket ("aws": required; else default "study-001-datom")
#   DATOM_GOV_BUCKET        governance bucket ("aws": required; else default "acme-datom-gov")
#   AWS_DEFAULT_REGION      region of both buckets (default us-east-1)
#   DATOM_GITHUB_ORG        owner of the repositories created (default: the token's user)
# "aws" takes the AWS keys from the OS keyring entries AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY when both exist, else from the AWS credential chain
# (environment, profiles, SSO, instance roles), and the GitHub token from
# datom::datom_secret("GITHUB_PAT") (keyring entry, else $GITHUB_PAT).
# Overrides for S3-compatible servers and GitHub Enterprise (the tests use
# them with moto and the GitHub stand-in), in either mode:
#   DATOM_S3_ENDPOINT       an S3-compatible server (keys from AWS_ACCESS_KEY_ID /
#                           AWS_SECRET_ACCESS_KEY)
#   DATOM_GITHUB_API_URL    a GitHub API (with GITHUB_PAT); in "aws" mode the
#                           default is https://api.github.com

env_or <- function(name, default = "") {
  v <- Sys.getenv(name, "")
  if (nzchar(v)) v else default
}

vignette_backend <- function() {
  b <- tolower(env_or("DATOM_VIGNETTE_BACKEND", "local"))
  if (!b %in% c("local", "aws")) {
    datom:::datom_abort("input", "DATOM_VIGNETTE_BACKEND is {.val {b}}; it must be {.val local} or {.val aws}.",
      "Unset it for the offline default, or set it to \"aws\" to follow the articles on real S3 and GitHub.")
  }
  b
}

# Do both keyring entries exist (the engine looks; values stay there)?
keyring_has <- function(service) {
  res <- datom:::rs_keyring_has(service, "")
  !inherits(res, "datom_engine_error") && isTRUE(res)
}

# "aws": what the articles need, checked before anything is touched; the
# error lists everything missing at once.
vignette_check_aws <- function() {
  missing <- character()
  if (!nzchar(env_or("DATOM_S3_BUCKET"))) missing <- c(missing, "DATOM_S3_BUCKET: the data bucket (it must exist; datom never creates buckets)")
  if (!nzchar(env_or("DATOM_GOV_BUCKET"))) missing <- c(missing, "DATOM_GOV_BUCKET: the governance bucket (it must exist)")
  pat <- datom:::rs_secret_check(datom::datom_secret("GITHUB_PAT"))
  if (inherits(pat, "datom_engine_error")) {
    missing <- c(missing, "GITHUB_PAT: a GitHub token with the repo and delete_repo scopes, in the OS keyring (datom_secret_set(\"GITHUB_PAT\", <token>)) or the environment")
  }
  if (!nzchar(env_or("DATOM_S3_ENDPOINT")) && !(keyring_has("AWS_ACCESS_KEY_ID") && keyring_has("AWS_SECRET_ACCESS_KEY"))) {
    chain <- nzchar(env_or("AWS_ACCESS_KEY_ID")) || nzchar(env_or("AWS_PROFILE")) || nzchar(env_or("AWS_WEB_IDENTITY_TOKEN_FILE")) ||
      nzchar(env_or("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) || nzchar(env_or("AWS_CONTAINER_CREDENTIALS_FULL_URI")) ||
      file.exists(path.expand(env_or("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))) ||
      file.exists(path.expand(env_or("AWS_CONFIG_FILE", "~/.aws/config")))
    if (!chain) {
      missing <- c(missing, "AWS credentials: the keyring entries AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the AWS credential chain (environment variables, ~/.aws profiles, SSO or an instance role)")
    }
  }
  if (nzchar(env_or("DATOM_S3_ENDPOINT")) && (!nzchar(env_or("AWS_ACCESS_KEY_ID")) || !nzchar(env_or("AWS_SECRET_ACCESS_KEY")))) {
    missing <- c(missing, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the keys of the server DATOM_S3_ENDPOINT names")
  }
  if (length(missing)) {
    datom:::datom_abort("input", c("DATOM_VIGNETTE_BACKEND is \"aws\" but {length(missing)} thing{?s} the articles need {?is/are} missing:",
                           stats::setNames(missing, rep("*", length(missing)))),
      "Set them (see the article \"Credentials in practice\"), or unset DATOM_VIGNETTE_BACKEND to run offline.")
  }
  invisible(TRUE)
}

vignette_env <- function() {
  backend <- vignette_backend()
  aws <- identical(backend, "aws")
  if (aws) vignette_check_aws()
  root <- datom:::abs_path(env_or("DATOM_VIGNETTE_DIR", file.path(tempdir(), "datom-vignettes")))
  dir.create(root, recursive = TRUE, showWarnings = FALSE)
  endpoint <- Sys.getenv("DATOM_S3_ENDPOINT", "")
  api <- Sys.getenv("DATOM_GITHUB_API_URL", "")
  if (aws && !nzchar(api)) api <- "https://api.github.com"
  pat <- Sys.getenv("GITHUB_PAT", "")
  if (!aws && nzchar(api) && !nzchar(pat)) {
    datom:::datom_abort("input", "DATOM_GITHUB_API_URL is set but GITHUB_PAT is not.", "Set GITHUB_PAT to a token of that host.")
  }
  s3 <- aws || nzchar(endpoint)
  region <- env_or("AWS_DEFAULT_REGION", "us-east-1")
  s3_component <- function(bucket, prefix = NULL) {
    if (nzchar(endpoint)) {
      key <- Sys.getenv("AWS_ACCESS_KEY_ID", ""); secret <- Sys.getenv("AWS_SECRET_ACCESS_KEY", "")
      if (!nzchar(key) || !nzchar(secret)) {
        datom:::datom_abort("input", "DATOM_S3_ENDPOINT is set but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not.",
          "Set both to the keys of that server.")
      }
      return(datom::datom_store_s3(bucket, prefix = prefix, region = region, access_key = key, secret_key = secret, endpoint = endpoint))
    }
    # real AWS: keyring entries when both exist, else the credential chain
    if (keyring_has("AWS_ACCESS_KEY_ID") && keyring_has("AWS_SECRET_ACCESS_KEY")) {
      datom::datom_store_s3(bucket, prefix = prefix, region = region,
                     access_key = datom::datom_secret("AWS_ACCESS_KEY_ID"), secret_key = datom::datom_secret("AWS_SECRET_ACCESS_KEY"))
    } else {
      datom::datom_store_s3(bucket, prefix = prefix, region = region)
    }
  }
  quiet <- function(expr) suppressMessages(expr)
  on_github <- nzchar(api)
  list(
    backend = backend,
    root = root,
    dev_dir = file.path(root, "study_001_dev"),
    gov_clone = datom:::abs_path(env_or("DATOM_VIGNETTE_GOV_CLONE", file.path(root, "datom-governance"))),
    github_api_url = if (on_github) sub("/+$", "", api) else NULL,
    # the seeds' keyring::key_get("GITHUB_PAT"), resolved by the engine at use
    github_pat = if (aws) datom::datom_secret("GITHUB_PAT") else if (on_github) pat else NULL,
    github_org = if (on_github && nzchar(env_or("DATOM_GITHUB_ORG"))) env_or("DATOM_GITHUB_ORG") else NULL,
    s3 = s3,
    local_store = quiet(datom::datom_store_local(file.path(root, "laptop-store"))),
    # the shared store holds every project of the journey (one namespace
    # each, datom/{project}/), as in the articles: STUDY_002 joins it
    shared_store = function() {
      if (s3) s3_component(env_or("DATOM_S3_BUCKET", "study-001-datom")) else
        quiet(datom::datom_store_local(file.path(root, "shared-store")))
    },
    gov_store = function() {
      if (s3) s3_component(env_or("DATOM_GOV_BUCKET", "acme-datom-gov")) else
        quiet(datom::datom_store_local(file.path(root, "gov-store")))
    },
    remote = function(name) file.path(root, "remotes", paste0(name, ".git"))
  )
}

# The developer conn of the journey's clone, built from the clone's own files
# (project.yaml for the data location and remote, governance.json for the
# governance repo).
vignette_conn <- function(v) {
  cfg <- datom:::engine(datom:::rs_read_config(v$dev_dir))
  gov <- datom:::engine(datom:::rs_recorded_governance(v$dev_dir))
  data <- if (identical(cfg$type %||% cfg$backend, "s3") || !identical(datom:::abs_path(cfg$root), v$local_store$path)) {
    v$shared_store()
  } else {
    v$local_store
  }
  store <- datom::datom_store(
    governance = if (!is.null(gov)) v$gov_store(), data = data, github_pat = v$github_pat,
    github_api_url = v$github_api_url, data_repo_url = cfg$git_remote %||% cfg$remote_url,
    gov_repo_url = gov$gov_repo_url, gov_local_path = if (!is.null(gov)) v$gov_clone
  )
  datom::datom_get_conn(path = v$dev_dir, store = store)
}

# Write `table` at `cutoff` unless a version with that content exists.
vignette_ensure <- function(conn, table, cutoff, message) {
  data <- datom::datom_example_data(table, cutoff_date = cutoff)
  sha <- datom::datom_hash(data)$data_sha
  have <- if (table %in% datom::datom_list(conn)$name) datom::datom_history(conn, table, n = 1000)$data_sha else character()
  if (sha %in% have) return(invisible(FALSE))
  datom:::datom_inform("warning", "Writing {table} through {cutoff}")
  datom::datom_write(conn, data, table, message = message)
  invisible(TRUE)
}

# The month-3 extracts of all four domains as CSV files in the inbox.
vignette_extracts <- function(conn, cutoff) {
  inbox <- file.path(conn$path, "input_files")
  dir.create(inbox, showWarnings = FALSE)
  for (t in c("dm", "ex", "lb", "ae")) {
    f <- file.path(inbox, paste0(t, ".csv"))
    tmp <- tempfile(fileext = ".csv")
    utils::write.csv(datom::datom_example_data(t, cutoff_date = cutoff), tmp, row.names = FALSE, na = "")
    if (!file.exists(f) || !identical(unname(tools::md5sum(f)), unname(tools::md5sum(tmp)))) file.copy(tmp, f, overwrite = TRUE)
    unlink(tmp)
  }
  invisible(inbox)
}

vignette_intact <- function(n, what) {
  datom:::datom_inform("success", "Article {n - 1} state intact: {what}")
}

# Hidden setup of an article: its own state folder under DATOM_VIGNETTE_DIR
# (so articles can be built in any order and each shows the output of its
# own step) and, on a git host, its own owner for the repositories it creates.
vignette_article <- function(slug) {
  base <- env_or("DATOM_VIGNETTE_DIR", file.path(tempdir(), "datom-vignettes"))
  Sys.setenv(DATOM_VIGNETTE_DIR = file.path(base, slug))
  if (nzchar(env_or("DATOM_GITHUB_API_URL"))) Sys.setenv(DATOM_GITHUB_ORG = paste0("acme-", slug))
  if (nzchar(env_or("DATOM_S3_ENDPOINT"))) {
    # its own buckets on the loopback server
    Sys.setenv(DATOM_S3_BUCKET = paste0(substr(slug, 1, 40), "-datom"), DATOM_GOV_BUCKET = paste0(substr(slug, 1, 40), "-gov"))
    for (b in c(Sys.getenv("DATOM_S3_BUCKET"), Sys.getenv("DATOM_GOV_BUCKET"))) {
      datom:::engine(datom:::rs_s3_ensure_bucket(list(backend = "s3", root = b, region = env_or("AWS_DEFAULT_REGION", "us-east-1"),
        endpoint = env_or("DATOM_S3_ENDPOINT"),
        client = list(access_key = env_or("AWS_ACCESS_KEY_ID"), secret_key = env_or("AWS_SECRET_ACCESS_KEY")))))
    }
  }
  options(datom.vignette_base = base)
  invisible(file.path(base, slug))
}

#' An S3 (or S3-compatible) store component
#'
#' Describes a data (or governance) store in an S3 bucket: AWS S3, or any
#' S3-compatible service (MinIO, Ceph, Cloudflare R2, ...) through
#' `endpoint` (path-style addressing). Everything datom writes goes under
#' `{prefix}/datom/` in the bucket; datom never creates buckets.
#'
#' Credentials: `access_key`/`secret_key` (and `session_token` for temporary
#' credentials) when given; otherwise the standard AWS chain (environment,
#' shared config and credentials files and profiles, SSO, web identity,
#' instance metadata). Secrets are never printed.
#'
#' @param bucket Bucket name.
#' @param prefix `NULL` or a namespace prefix inside the bucket.
#' @param region AWS region.
#' @param access_key,secret_key `NULL` (use the AWS chain) or the keys; each
#'   may be a [datom_secret()] reference (e.g. `datom_secret("AWS_ACCESS_KEY_ID")`),
#'   looked up in the OS keyring or the environment at the moment of use.
#' @param session_token `NULL` or an STS session token.
#' @param endpoint `NULL` for AWS, or the URL of an S3-compatible server.
#' @param validate If `TRUE`, one HeadBucket request checks that the bucket
#'   exists and the credentials reach it, and says which of the two failed.
#' @return An object of class `datom_store_s3`.
#' @seealso [datom_store_s3_creds()], [datom_store()]
#' @export
#' @examples
#' s3 <- datom_store_s3("acme-data", prefix = "study-001/", access_key = "AKIAEXAMPLE",
#'                      secret_key = "not-a-real-secret", validate = FALSE)
#' s3
datom_store_s3 <- function(bucket, prefix = NULL, region = "us-east-1", access_key = NULL, secret_key = NULL,
                           session_token = NULL, endpoint = NULL, validate = TRUE) {
  check_string(bucket, "bucket")
  check_prefix(prefix)
  check_string(region, "region")
  check_access_key(access_key)
  check_secret(secret_key, "secret_key")
  check_secret(session_token, "session_token")
  check_string_or_null(endpoint, "endpoint")
  if (xor(is.null(access_key), is.null(secret_key))) {
    datom_abort("input", "Give both {.arg access_key} and {.arg secret_key}, or neither (to use the AWS credential chain).")
  }
  x <- structure(list(
    bucket = bucket, prefix = prefix, region = region, access_key = access_key,
    secret_key = hold_secret(secret_key), session_token = hold_secret(session_token), endpoint = endpoint,
    validated = isTRUE(validate)
  ), class = c("datom_store_s3", "datom_store_component"))
  if (isTRUE(validate)) engine(rs_s3_check_bucket(s3_access(x), TRUE))
  x
}

# An access key id: NULL, a string, or a datom_secret() reference.
check_access_key <- function(x, call = sys.call(-1)) {
  if (inherits(x, "datom_secret_ref")) return(invisible(x))
  check_string_or_null(x, "access_key", call = call)
}

#' An S3 credentials-only store component
#'
#' Credentials without a location: bucket, prefix and region come from the
#' project's `ref.json` in governance at connection time, so it is only
#' valid inside a store that has a governance component.
#'
#' @inheritParams datom_store_s3
#' @return An object of class `datom_store_s3_creds`.
#' @export
#' @examples
#' datom_store_s3_creds("AKIAEXAMPLE", "not-a-real-secret")
datom_store_s3_creds <- function(access_key = NULL, secret_key = NULL, session_token = NULL) {
  check_access_key(access_key)
  check_secret(secret_key, "secret_key")
  if (is.null(access_key) != is.null(secret_key)) {
    datom_abort("input", "Give both {.arg access_key} and {.arg secret_key}, or neither (the standard AWS chain).")
  }
  check_secret(session_token, "session_token")
  structure(list(access_key = access_key, secret_key = hold_secret(secret_key), session_token = hold_secret(session_token)),
    class = c("datom_store_s3_creds", "datom_store_component"))
}

#' @rdname is_datom_store
#' @export
is_datom_store_s3 <- function(x) inherits(x, "datom_store_s3")

#' @rdname is_datom_store
#' @export
is_datom_store_s3_creds <- function(x) inherits(x, "datom_store_s3_creds")

# What the engine needs to reach an S3 location (never printed).
s3_access <- function(x, endpoint = NULL) {
  list(backend = "s3", root = x$bucket, prefix = x$prefix, region = x$region,
       endpoint = endpoint %||% x$endpoint,
       client = list(access_key = x$access_key, secret_key = x$secret_key, session_token = x$session_token))
}

mask_secret <- function(x) if (is.null(x)) "(not set)" else "****"

#' @export
print.datom_store_s3 <- function(x, ...) {
  cli_print({
    cli::cli_h3("datom S3 store component")
    b <- c("*" = "Bucket: {.val {x$bucket}}")
    if (!is.null(norm_prefix(x$prefix))) b <- c(b, "*" = "Prefix: {.val {x$prefix}}")
    b <- c(b, "*" = "Region: {.val {x$region}}")
    if (!is.null(x$endpoint)) b <- c(b, "*" = "Endpoint: {.url {x$endpoint}}")
    ak <- if (is.null(x$access_key)) "(AWS credential chain)" else mask_token(x$access_key)
    sk <- if (is.null(x$secret_key)) "(AWS credential chain)" else mask_secret(x$secret_key)
    b <- c(b, "*" = "Access key: {ak}", "*" = "Secret key: {sk}")
    if (!is.null(x$session_token)) b <- c(b, "*" = "Session token: ****")
    b <- c(b, "*" = "Validated: {x$validated}")
    cli::cli_bullets(b)
  })
  invisible(x)
}

#' @export
print.datom_store_s3_creds <- function(x, ...) {
  cli_print({
    cli::cli_h3("datom S3 credentials-only store component")
    ak <- mask_token(x$access_key)
    b <- c("*" = "Bucket / prefix / region: {.emph <resolved from ref.json>}", "*" = "Access key: {ak}",
           "*" = "Secret key: ****")
    if (!is.null(x$session_token)) b <- c(b, "*" = "Session token: ****")
    cli::cli_bullets(b)
  })
  invisible(x)
}

#' A secret looked up at the moment of use (OS keyring, then environment)
#'
#' `datom_secret("GITHUB_PAT")` names a secret instead of holding it: pass it
#' wherever a store takes a token or key (`datom_store(github_pat = )`,
#' `datom_store_s3(secret_key = )`, `datom_init_gov(github_pat = )`). Each time
#' datom needs the value, the engine reads it from the OS keyring entry
#' `service` (kernel keyutils on Linux, which works on headless servers; the
#' Keychain on macOS; the Credential Manager on Windows) and, when the keyring
#' has no such entry, from the environment variable `env`. The value never
#' becomes an R string: `print()`, `str()`, `dput()` and `saveRDS()` of a store
#' show only the names, and a reference saved with `saveRDS()` works again
#' after `readRDS()` in a new session (it holds no value).
#'
#' `datom_secret_set()` stores a value in the OS keyring (for example a PAT
#' pasted from `rstudioapi::askForPassword()`); `datom_secret_delete()`
#' removes it. The value of a plain string given to a store is also moved out
#' of R at once (into an engine-held handle), but that handle does not survive
#' `saveRDS()`; a reference does.
#'
#' @param service Name of the keyring entry (also the default variable name).
#' @param username Account of the keyring entry (`NULL`: none).
#' @param env Environment variable read when the keyring has no entry
#'   (`NULL`: keyring only).
#' @return `datom_secret()`: an object of class `datom_secret_ref`.
#'   `datom_secret_set()`: `service`, invisibly. `datom_secret_delete()`:
#'   `TRUE` when an entry was removed, invisibly.
#' @section Errors: `datom_error_auth` at the moment of use when neither the
#'   keyring nor the variable has a value (the message says where datom looked);
#'   `datom_error_storage` when the OS keyring cannot be written.
#' @export
#' @examples
#' pat <- datom_secret("GITHUB_PAT")
#' pat
#' \dontrun{
#' datom_secret_set("GITHUB_PAT", rstudioapi::askForPassword("GitHub PAT"))
#' store <- datom_store(governance = NULL, data = datom_store_local(tempdir()),
#'                      github_pat = datom_secret("GITHUB_PAT"))
#' }
datom_secret <- function(service, username = NULL, env = service) {
  check_service(service)
  check_string_or_null(username, "username")
  check_string_or_null(env, "env")
  structure(list(service = service, username = username %||% "", env = env %||% ""),
    class = c("datom_secret_ref", "datom_secret"))
}

#' @rdname datom_secret
#' @param value The secret (a single non-empty string).
#' @export
datom_secret_set <- function(service, value, username = NULL) {
  check_service(service)
  check_string_or_null(username, "username")
  check_string(value, "value")
  engine(rs_keyring_set(service, username %||% "", value))
  datom_inform("success", "Stored {.val {service}} in the OS keyring.")
  invisible(service)
}

#' @rdname datom_secret
#' @export
datom_secret_delete <- function(service, username = NULL) {
  check_service(service)
  check_string_or_null(username, "username")
  invisible(engine(rs_keyring_delete(service, username %||% "")))
}

check_service <- function(service, call = sys.call(-1)) {
  if (!is.character(service) || length(service) != 1L || is.na(service) || !nzchar(service)) {
    datom_abort("input", "{.arg service} must be a single non-empty string (the keyring entry's name).", call = call)
  }
}

secret_label <- function(x) {
  src <- paste0("keyring ", encodeString(x$service, quote = "\""))
  if (nzchar(x$username %||% "")) src <- paste0(src, " (", x$username, ")")
  if (nzchar(x$env %||% "")) src <- paste0(src, ", else $", x$env)
  src
}

#' @export
print.datom_secret_ref <- function(x, ...) {
  cat("<datom secret: ", secret_label(x), ">\n", sep = "")
  invisible(x)
}

#' @export
format.datom_secret_ref <- function(x, ...) paste0("<datom secret: ", secret_label(x), ">")

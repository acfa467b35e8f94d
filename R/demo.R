#' Run the datom demo: one engineer, three monthly extracts
#'
#' Plays months 1 to 3 of the example study STUDY-001 on the embedded
#' default — a local folder as the data store and a local bare git
#' repository as the data repo's remote, no account, no network — and prints
#' what a user sees: init, four tables written, month 2 (new content), an
#' unchanged rewrite (no-op), a metadata-only change, an old version read
#' back, list and history, and finally every version read again by a reader
#' with the data clone deleted.
#'
#' @param dir Folder to work in (default: a new temporary folder).
#' @return The folder used, invisibly.
#' @export
#' @examples
#' datom_demo()
datom_demo <- function(dir = tempfile("datom-demo-")) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
  dir <- normalizePath(dir, winslash = "/")
  cut <- datom_example_cutoffs()
  tables <- c("dm", "ex", "lb", "ae")
  step <- function(text) cli::cli_h2(text)
  show <- function(expr_text) cli::cli_text("{.code {expr_text}}")

  step("1. A store and a data repository (no account, no network)")
  show("store <- datom_store(data = datom_store_local(...), data_repo_url = <bare repo path>)")
  store <- datom_store(
    data = datom_store_local(file.path(dir, "store")),
    data_repo_url = file.path(dir, "remotes", "STUDY_001.git")
  )
  datom_init_repo(file.path(dir, "study_001_data"), "STUDY_001", store)
  conn <- datom_get_conn(path = file.path(dir, "study_001_data"), store = store)
  print(conn)

  step("2. Month 1: the first extract of four tables")
  versions <- list()
  for (t in tables) {
    w <- datom_write(conn, datom_example_data(t, cut[["month_1"]]), t,
                     message = sprintf("%s extract through %s", t, cut[["month_1"]]))
    versions[[t]] <- w$metadata_sha
  }
  print(datom_list(conn))

  step("3. Month 2 arrives: new rows, new versions")
  for (t in tables) {
    datom_write(conn, datom_example_data(t, cut[["month_2"]]), t,
                message = sprintf("%s extract through %s", t, cut[["month_2"]]))
  }

  step("4. The same extract again is a no-op")
  datom_write(conn, datom_example_data("lb", cut[["month_2"]]), "lb", message = "re-run of the pipeline")

  step("5. Only the metadata changes: a new version, same stored data")
  datom_write(conn, datom_example_data("lb", cut[["month_2"]]), "lb",
              metadata = list(source = "EDC export", reviewed_by = "data management"),
              message = "lb: record source")

  step("6. Month 3")
  for (t in tables) {
    datom_write(conn, datom_example_data(t, cut[["month_3"]]), t,
                message = sprintf("%s extract through %s", t, cut[["month_3"]]))
  }
  print(datom_list(conn, include_versions = TRUE))
  print(datom_history(conn, "lb", short_hash = TRUE))

  step("7. Read month 1 of lb back by a short version id")
  v1 <- substr(versions[["lb"]], 1, 8)
  show(sprintf('datom_read(conn, "lb", version = "%s")', v1))
  lb_m1 <- datom_read(conn, "lb", version = v1)
  cli::cli_alert_success("{nrow(lb_m1)} rows, identical to the month-1 extract: {identical(as.data.frame(lb_m1), datom_example_data('lb', cut[['month_1']]))}")

  step("8. A reader: no clone, no git, no token")
  unlink(file.path(dir, "study_001_data"), recursive = TRUE)
  cli::cli_alert_info("Deleted the data clone.")
  reader <- datom_get_conn(store = datom_store(data = store$data), project_name = "STUDY_001")
  print(reader)
  n <- 0L
  for (t in tables) {
    h <- datom_history(reader, t)
    for (v in h$version) {
      datom_read(reader, t, version = v)
      n <- n + 1L
    }
  }
  cli::cli_alert_success("Read all {n} versions of {length(tables)} tables from the store, each verified against its parquet_sha.")
  invisible(dir)
}

# datom_diff() on a large table: a keyed diff of two versions with a share
# of rows changed, beside reading both versions (datom_read, including the
# R conversion). Run: R_LIBS=<lib> Rscript bench/diff.R
#   DATOM_BENCH_ROWS (default 2e6), DATOM_BENCH_CHANGED (default 0.01)
suppressPackageStartupMessages(library(datom))
options(datom.quiet = TRUE)
n <- as.integer(Sys.getenv("DATOM_BENCH_ROWS", "2000000"))
share <- as.numeric(Sys.getenv("DATOM_BENCH_CHANGED", "0.01"))
reps <- as.integer(Sys.getenv("DATOM_BENCH_REPS", "3"))
set.seed(42)
a <- data.frame(
  USUBJID = sprintf("S-%06d", rep(seq_len(ceiling(n / 20)), each = 20)[seq_len(n)]),
  LBSEQ = rep(1:20, length.out = n),
  LBTESTCD = factor(sample(c("ALT", "AST", "BILI", "CREAT", "GLUC", "HGB"), n, TRUE)),
  LBSTRESN = round(rnorm(n, 50, 15), 2),
  LBORRES = sprintf("%.1f", runif(n, 0, 200)),
  LBDTC = as.POSIXct("2026-01-01", tz = "UTC") + sample.int(1e7, n, TRUE),
  stringsAsFactors = FALSE
)
b <- a
i <- sample.int(n, floor(n * share))
b$LBSTRESN[i] <- b$LBSTRESN[i] + 1
root <- file.path(tempdir(), "datom-bench-diff")
unlink(root, recursive = TRUE)
store <- datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = file.path(root, "remote.git"))
datom_init_repo(file.path(root, "clone"), "BENCH", store)
conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
w1 <- datom_write(conn, a, "lb")
w2 <- datom_write(conn, b, "lb")
rm(a, b); invisible(gc())
best <- function(f) min(replicate(reps, system.time(f())[["elapsed"]]))
t_read <- best(function() { datom_read(conn, "lb", version = w1$metadata_sha); datom_read(conn, "lb", version = w2$metadata_sha) })
t_diff <- best(function() datom_diff(conn, "lb", from = w1$metadata_sha, to = w2$metadata_sha, keys = c("USUBJID", "LBSEQ")))
d <- datom_diff(conn, "lb", from = w1$metadata_sha, to = w2$metadata_sha, keys = c("USUBJID", "LBSEQ"))
stopifnot(d$summary$changed == length(i), nrow(d$changed) == length(i))
cat(sprintf("rows %d, changed %d: read both %.2fs, diff %.2fs (%.2fx)\n", n, length(i), t_read, t_diff, t_diff / t_read))

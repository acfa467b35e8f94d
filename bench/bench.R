# datom benchmark: datom beside its peers on the same data, in one run.
#   hash:    datom_hash() vs `sha256sum` over a file of the same encoded size
#   parquet: datom write/read (incl. R conversion) vs pyarrow write_table/read_table
# Run with `make bench` (needs the venv with pyarrow that make creates).
suppressPackageStartupMessages(library(datom))
options(datom.quiet = TRUE)
n <- as.integer(Sys.getenv("DATOM_BENCH_ROWS", "1000000"))
reps <- as.integer(Sys.getenv("DATOM_BENCH_REPS", "3"))
py <- Sys.getenv("DATOM_PYTHON", "python3")
set.seed(42)
na <- function(x, p = 0.02) { x[sample.int(length(x), floor(length(x) * p))] <- NA; x }
df <- data.frame(
  STUDYID = rep("STUDY-001", n),
  USUBJID = na(sprintf("STUDY-001-%05d", sample.int(5000, n, TRUE))),
  LBTESTCD = na(factor(sample(c("ALT", "AST", "BILI", "CREAT", "GLUC", "HGB"), n, TRUE))),
  LBCAT = na(factor(sample(c("CHEMISTRY", "HEMATOLOGY", "URINALYSIS"), n, TRUE))),
  LBORRES = na(sprintf("%.1f", runif(n, 0, 200))),
  LBSTRESN = na(round(rnorm(n, 50, 15), 2)),
  LBSTNRLO = na(runif(n, 0, 10)),
  LBSEQ = na(sample.int(200L, n, TRUE)),
  VISITNUM = na(sample.int(12L, n, TRUE)),
  LBBLFL = na(sample(c(TRUE, FALSE), n, TRUE)),
  stringsAsFactors = FALSE
)
df$LBDT <- na(as.Date("2026-01-01") + sample.int(365L, n, TRUE))
df$LBDTC <- na(as.POSIXct("2026-01-01", tz = "UTC") + sample.int(365L * 86400L, n, TRUE))
stopifnot(ncol(df) == 12)

best <- function(expr) {
  expr <- substitute(expr); env <- parent.frame()
  min(vapply(seq_len(reps), function(i) { gc(FALSE); system.time(eval(expr, env))[["elapsed"]] }, 0))
}
cat(sprintf("datom bench: %d rows x %d columns, best of %d, %d cores\n", n, ncol(df), reps, parallel::detectCores()))

# Encoded size of the cv1 pre-image (what the hash reads).
enc_bytes <- sum(vapply(df, function(x) {
  if (is.character(x) || is.factor(x)) { s <- as.character(x); length(s) + sum(nchar(s[!is.na(s)], type = "bytes")) + length(s) }
  else 8 * length(x)
}, 0))
t_hash <- best(datom_hash(df))
blob <- tempfile(fileext = ".bin")
con <- file(blob, "wb"); left <- enc_bytes
while (left > 0) { k <- min(left, 2^24); writeBin(as.raw(sample.int(256L, k, TRUE) - 1L), con); left <- left - k }
close(con)
t_sum <- best(system2("sha256sum", blob, stdout = FALSE))
thr <- function(t) enc_bytes / t / 2^20
cat(sprintf("\nhash      datom_hash %.3f s (%.0f MiB/s)   sha256sum %.3f s (%.0f MiB/s)   datom/sha256sum throughput = %.2f\n",
            t_hash, thr(t_hash), t_sum, thr(t_sum), t_sum / t_hash))

pq <- tempfile(fileext = ".parquet")
t_w <- best(datom:::parquet_write(df, pq))
t_r <- best(datom:::parquet_read(pq))
stopifnot(identical(datom:::parquet_read(pq), df))
pyf <- tempfile(fileext = ".py")
writeLines(c(
  "import sys, time, gc, pyarrow.parquet as pq",
  "src, out, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])",
  "t = pq.read_table(src)",
  "def best(f):",
  "    r = []",
  "    for _ in range(reps):",
  "        gc.collect(); s = time.perf_counter(); f(); r.append(time.perf_counter() - s)",
  "    return min(r)",
  "w = best(lambda: pq.write_table(t, out, compression='snappy'))",
  "r = best(lambda: pq.read_table(out))",
  "print(w, r)"), pyf)
res <- as.numeric(strsplit(system2(py, c(pyf, pq, tempfile(fileext = ".parquet"), reps), stdout = TRUE, env = "LD_LIBRARY_PATH="), " ")[[1]])
cat(sprintf("parquet   write: datom %.3f s, pyarrow %.3f s, ratio %.2fx   read: datom %.3f s, pyarrow %.3f s, ratio %.2fx   (file %.1f MiB)\n",
            t_w, res[1], t_w / res[1], t_r, res[2], t_r / res[2], file.size(pq) / 2^20))
cat("targets: hash >= 0.50 of sha256sum throughput; write and read <= 1.5x pyarrow\n")
unlink(c(blob, pq, pyf))

# Batch import: datom_sync of a folder of extracts, then the no-op re-sync.
nfiles <- as.integer(Sys.getenv("DATOM_BENCH_FILES", "50"))
frows <- as.integer(Sys.getenv("DATOM_BENCH_FILE_ROWS", "100000"))
root <- tempfile("datom-bench-sync-")
store <- datom_store(data = datom_store_local(file.path(root, "store")), data_repo_url = file.path(root, "remote.git"))
datom_init_repo(file.path(root, "clone"), "BENCH", store)
conn <- datom_get_conn(path = file.path(root, "clone"), store = store)
inbox <- file.path(root, "clone", "input_files")
src <- df[seq_len(frows), c("USUBJID", "LBTESTCD", "LBORRES", "LBSTRESN", "LBSEQ", "VISITNUM")]
src$LBTESTCD <- as.character(src$LBTESTCD)
for (i in seq_len(nfiles)) { src$LBSEQ[1] <- i; datom:::parquet_write(src, file.path(inbox, sprintf("t%02d.parquet", i))) }
t_first <- system.time(res <- datom_sync(conn, datom_sync_manifest(conn)))[["elapsed"]]
t_again <- system.time(datom_sync(conn, datom_sync_manifest(conn)))[["elapsed"]]
# the split: encoding (hash + parquet), reading the inputs, the fixed
# per-table cost (git commit + push, metadata, storage writes: measured with
# one-row tables), and the rest (data-size-dependent: R -> Arrow conversion
# checks, writing and syncing the parquet objects)
t_enc <- system.time(for (i in seq_len(nfiles)) { datom_hash(src); datom:::parquet_write(src, tempfile()) })[["elapsed"]]
t_in <- system.time(for (f in res$file) datom:::parquet_read(f))[["elapsed"]]
fixed_store <- datom_store(data = datom_store_local(file.path(root, "fixed-store")), data_repo_url = file.path(root, "fixed.git"))
datom_init_repo(file.path(root, "fixed"), "FIXED", fixed_store)
fconn <- datom_get_conn(path = file.path(root, "fixed"), store = fixed_store)
t_fixed <- system.time(for (i in seq_len(nfiles)) datom_write(fconn, data.frame(i = i), sprintf("t%02d", i)))[["elapsed"]]
cat(sprintf("\nsync      %d files x %d rows: first %.1f s = hash+parquet encoding %.1f s (%.0f%%) + reading inputs %.1f s + per-table git/metadata/storage %.1f s (%.0f ms/table, %.0f%%) + other %.1f s; re-sync %.2f s = %.1f%% of first\n",
            nfiles, frows, t_first, t_enc, 100 * t_enc / t_first, t_in, t_fixed, 1000 * t_fixed / nfiles, 100 * t_fixed / t_first,
            t_first - t_enc - t_in - t_fixed, t_again, 100 * t_again / t_first))
cat("targets: re-sync <= 5% of the first sync; first sync limited by encoding, not per-file git overhead\n")
unlink(root, recursive = TRUE)

# S3 (a loopback moto server; `make bench` starts one with tools/with-servers.sh)
endpoint <- Sys.getenv("DATOM_S3_ENDPOINT", "")
if (nzchar(endpoint)) {
  s3 <- datom_store_s3(Sys.getenv("DATOM_S3_BUCKET", "study-001-datom"), prefix = "bench/", region = "us-east-1",
                       access_key = Sys.getenv("AWS_ACCESS_KEY_ID"), secret_key = Sys.getenv("AWS_SECRET_ACCESS_KEY"),
                       endpoint = endpoint)
  root <- tempfile("datom-bench-s3-")
  mk <- function(data, dir) {
    st <- datom_store(data = data, data_repo_url = file.path(root, dir, "remote.git"))
    datom_init_repo(file.path(root, dir, "clone"), "BENCH_S3", st, .force = TRUE)
    datom_get_conn(path = file.path(root, dir, "clone"), store = st)
  }
  c_local <- mk(datom_store_local(file.path(root, "local-store")), "local")
  c_s3 <- mk(s3, "s3")
  # a new table each repetition so every write uploads
  k <- 0L
  wr <- function(conn) { k <<- k + 1L; d <- df; d$LBSEQ[1] <- -k; datom_write(conn, d, sprintf("lb%02d", k)) }
  t_wl <- best(wr(c_local)); t_ws <- best(wr(c_s3))
  s3_table <- sprintf("lb%02d", k)
  t_rl <- best(datom_read(c_local, "lb01")); t_rs <- best(datom_read(c_s3, s3_table))
  cat(sprintf("\ns3        %d-row table: write local %.2f s, S3 %.2f s (%.2fx)   read local %.2f s, S3 %.2f s (%.2fx)\n",
              n, t_wl, t_ws, t_ws / t_wl, t_rl, t_rs, t_rs / t_rl))
  mb <- as.integer(Sys.getenv("DATOM_BENCH_OBJECT_MB", "200"))
  tr <- datom:::engine(datom:::rs_bench_s3_transfer(datom:::component_location(s3), mb))
  cat(sprintf("s3        %d MiB object: parallel parts up %.0f MiB/s, down %.0f MiB/s   single stream up %.0f MiB/s, down %.0f MiB/s   gain up %.2fx, down %.2fx\n",
              mb, mb / tr$parallel_up, mb / tr$parallel_down, mb / tr$single_up, mb / tr$single_down,
              tr$single_up / tr$parallel_up, tr$single_down / tr$parallel_down))
  cat("          (a loopback server has no per-connection bandwidth limit to spread over parallel parts: the gain is for real networks)\n")
  reader <- datom_get_conn(store = datom_store(data = s3), project_name = "BENCH_S3")
  nreq <- datom:::engine(datom:::rs_bench_reader_requests(reader, s3_table))
  cat(sprintf("s3        requests a reader makes to read the current version of one table: %d (target <= 3)\n", nreq))
  datom_storage_delete_prefix(c_s3)
  unlink(root, recursive = TRUE)
} else {
  cat("\ns3        skipped: DATOM_S3_ENDPOINT is not set (make bench starts a loopback server)\n")
}

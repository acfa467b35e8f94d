# datom benchmark: datom beside its peers on the same data, in one run.
#   hash:  datom_hash() vs OpenSSL's SHA-256 (`openssl dgst -sha256`, SHA-NI
#          where the CPU has it) over a file of the same cv1-encoded size
#   write: datom_write() of a new version (hash, encode, commit, push, store)
#          vs pyarrow write_table and deltalake write_deltalake
#   read:  datom_read() of the current version into an R data frame
#          (parquet_sha verified) vs pyarrow read_table().to_pandas() and
#          deltalake DeltaTable.to_pandas()
#   no-op: datom_write() of unchanged data vs the hash alone
#   memory: peak extra resident memory of a write, in a fresh R process
# At DATOM_BENCH_ROWS (default 2,000,000) and DATOM_BENCH_ROWS2 (default
# 10,000,000; 0 skips), medians of DATOM_BENCH_REPS runs (default 3).
# Run with `make bench` (the venv gets pyarrow and deltalake).
suppressPackageStartupMessages(library(datom))
options(datom.quiet = TRUE)
reps <- as.integer(Sys.getenv("DATOM_BENCH_REPS", "3"))
py <- Sys.getenv("DATOM_PYTHON", "python3")
sizes <- as.integer(c(Sys.getenv("DATOM_BENCH_ROWS", "2000000"), Sys.getenv("DATOM_BENCH_ROWS2", "10000000")))
sizes <- sizes[sizes > 0]

make_table <- function(n) {
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
  df
}

med <- function(f) {
  stats::median(vapply(seq_len(reps), function(i) { gc(FALSE); system.time(f(i))[["elapsed"]] }, 0))
}

# A fresh local project (store folder + bare remote + clone).
project <- function() {
  root <- tempfile("datom-bench-")
  store <- datom_store(data = datom_store_local(file.path(root, "store")),
                       data_repo_url = file.path(root, "remote.git"))
  datom_init_repo(file.path(root, "clone"), "BENCH", store)
  list(root = root, conn = datom_get_conn(path = file.path(root, "clone"), store = store))
}

# The peers on the same data (the parquet file datom wrote, read by pyarrow).
peers <- function(src) {
  pyf <- tempfile(fileext = ".py")
  writeLines(c(
    "import sys, time, gc, statistics, tempfile, os",
    "import pyarrow.parquet as pq",
    "src, reps = sys.argv[1], int(sys.argv[2])",
    "t = pq.read_table(src)",
    "def med(f):",
    "    r = []",
    "    for i in range(reps):",
    "        gc.collect(); s = time.perf_counter(); f(i); r.append(time.perf_counter() - s)",
    "    return statistics.median(r)",
    "d = tempfile.mkdtemp()",
    "out = lambda i: os.path.join(d, 'pa%d.parquet' % i)",
    "# a new file each run, as datom writes a new object (not an overwrite)",
    "pw = med(lambda i: pq.write_table(t, out(i), compression='snappy'))",
    "pr = med(lambda i: pq.read_table(out(0)).to_pandas())",
    "try:",
    "    from deltalake import write_deltalake, DeltaTable",
    "    dw = med(lambda i: write_deltalake(os.path.join(d, 'delta%d' % i), t))",
    "    dr = med(lambda i: DeltaTable(os.path.join(d, 'delta0')).to_pandas())",
    "except ImportError:",
    "    dw = dr = float('nan')",
    "print(pw, pr, dw, dr)"), pyf)
  out <- system2(py, c(pyf, src, reps), stdout = TRUE, env = "LD_LIBRARY_PATH=")
  unlink(pyf)
  stats::setNames(as.numeric(strsplit(out[length(out)], " ")[[1]]), c("pa_w", "pa_r", "dl_w", "dl_r"))
}

# Peak resident memory of one datom_write(), beyond what the process held
# with the data frame built: a fresh R process, the kernel's peak reset
# (/proc/self/clear_refs) just before the write.
peak_write_mib <- function(n) {
  f <- tempfile(fileext = ".R")
  writeLines(c(
    "suppressPackageStartupMessages(library(datom)); options(datom.quiet = TRUE)",
    sprintf("source(%s)", deparse(file.path(tempdir(), "bench-fns.R"))),
    sprintf("df <- make_table(%dL); p <- project(); gc(FALSE)", n),
    "kb <- function(k) as.numeric(sub('[^0-9]*([0-9]+).*', '\\\\1', grep(paste0('^', k), readLines('/proc/self/status'), value = TRUE)))",
    "writeLines('5', '/proc/self/clear_refs')",
    "base <- kb('VmRSS:')",
    "datom_write(p$conn, df, 'lb')",
    "cat((kb('VmHWM:') - base) / 1024, as.numeric(object.size(df)) / 2^20, '\\n')"), f)
  out <- system2(file.path(R.home("bin"), "Rscript"), f, stdout = TRUE)
  unlink(f)
  as.numeric(strsplit(trimws(out[length(out)]), " +")[[1]])
}
dump(c("make_table", "project"), file.path(tempdir(), "bench-fns.R"))

cat(sprintf("datom bench: median of %d, %d cores\n", reps, parallel::detectCores()))
for (n in sizes) {
  df <- make_table(n)
  cat(sprintf("\n== %s rows x %d columns (%.0f MiB in R)\n", format(n, big.mark = ","), ncol(df), as.numeric(object.size(df)) / 2^20))
  p <- project()
  # write: a new table each run; read: the current version, verified
  trace <- function() { t <- datom:::engine(datom:::rs_progress_trace()); stats::setNames(t$seconds, sub(" .*", "", t$phase)) }
  tr_w <- list(); tr_r <- list()
  t_w <- med(function(i) { on.exit(tr_w[[i]] <<- trace()); datom_write(p$conn, df, paste0("lb", i)) })
  t_r <- med(function(i) { on.exit(tr_r[[i]] <<- trace()); datom_read(p$conn, paste0("lb", i)) })
  split <- function(trs) {
    m <- do.call(rbind, trs)
    paste(sprintf("%s %.2f", tolower(colnames(m)), apply(m, 2, stats::median)), collapse = ", ")
  }
  stopifnot(identical(as.data.frame(datom_read(p$conn, "lb1")), df))
  t_noop <- med(function(i) datom_write(p$conn, df, "lb1"))
  t_hash <- med(function(i) datom_hash(df))
  # hash vs OpenSSL over the same number of bytes as the cv1 pre-image
  enc_bytes <- sum(vapply(df, function(x) {
    if (is.character(x) || is.factor(x)) { s <- as.character(x); 2 * length(s) + sum(nchar(s[!is.na(s)], type = "bytes")) }
    else 8 * length(x)
  }, 0))
  blob <- tempfile(fileext = ".bin")
  con <- file(blob, "wb"); left <- enc_bytes
  while (left > 0) { k <- min(left, 2^24); writeBin(as.raw(sample.int(256L, k, TRUE) - 1L), con); left <- left - k }
  close(con)
  t_ossl <- med(function(i) system2("openssl", c("dgst", "-sha256", blob), stdout = FALSE))
  unlink(blob)
  obj <- list.files(file.path(p$root, "store"), pattern = "\\.parquet$", recursive = TRUE, full.names = TRUE)[1]
  pe <- peers(obj)
  mem <- peak_write_mib(n)
  thr <- function(t) enc_bytes / t / 2^20
  cat(sprintf("write     datom %.2f s   pyarrow %.2f s   deltalake %.2f s   ratio %.2fx pyarrow, %.2fx deltalake\n",
              t_w, pe[["pa_w"]], pe[["dl_w"]], t_w / pe[["pa_w"]], t_w / pe[["dl_w"]]))
  cat(sprintf("read      datom %.2f s   pyarrow %.2f s   deltalake %.2f s   ratio %.2fx pyarrow, %.2fx deltalake   (parquet %.0f MiB)\n",
              t_r, pe[["pa_r"]], pe[["dl_r"]], t_r / pe[["pa_r"]], t_r / pe[["dl_r"]], file.size(obj) / 2^20))
  cat(sprintf("          write phases (s, median): %s\n          read phases (s, median): %s\n", split(tr_w), split(tr_r)))
  cat(sprintf("no-op     datom %.2f s   hash alone %.2f s   ratio %.2fx\n", t_noop, t_hash, t_noop / t_hash))
  cat(sprintf("hash      datom %.0f MiB/s   openssl sha256 (one core) %.0f MiB/s   ratio %.2f\n",
              thr(t_hash), thr(t_ossl), t_ossl / t_hash))
  cat(sprintf("memory    peak extra of a write %.0f MiB = %.2fx the data frame (%.0f MiB)\n", mem[1], mem[1] / mem[2], mem[2]))
  rm(df); gc(FALSE)
}
cat("\ntargets: read <= 1.3x pyarrow and <= deltalake; write <= 1.3x pyarrow and < deltalake;",
    "no-op <= 1.15x hash; hash >= 0.7 of openssl; write peak extra <= 1x the data frame\n")

# The rest runs on the first size.
n <- sizes[1]
df <- make_table(n)
best <- function(expr) {
  expr <- substitute(expr); env <- parent.frame()
  med(function(i) eval(expr, env))
}

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
  # a new table each repetition so every write uploads
  k <- 0L
  wr <- function(conn) { k <<- k + 1L; d <- df; d$LBSEQ[1] <- -k; datom_write(conn, d, sprintf("lb%02d", k)) }
  timed <- function(f) { gc(FALSE); system.time(f())[["elapsed"]] }
  # S3 at `ep` beside local; local and S3 alternate, so a slow spell of the
  # machine hits both alike
  py_run <- function(code) system2(py, c("-c", shQuote(code)), stdout = TRUE, env = "LD_LIBRARY_PATH=")
  s3_vs_local <- function(ep, dir, what, keep = FALSE) {
    st <- datom_store_s3(Sys.getenv("DATOM_S3_BUCKET", "study-001-datom"), prefix = paste0(dir, "/"), region = "us-east-1",
                         access_key = Sys.getenv("AWS_ACCESS_KEY_ID"), secret_key = Sys.getenv("AWS_SECRET_ACCESS_KEY"), endpoint = ep)
    c_s3 <- mk(st, dir)
    w <- replicate(reps, c(timed(function() wr(c_local)), timed(function() wr(c_s3))))
    s3_table <- sprintf("lb%02d", k)
    r <- replicate(reps, c(timed(function() datom_read(c_local, "lb01")), timed(function() datom_read(c_s3, s3_table))))
    m <- c(stats::median(w[1, ]), stats::median(w[2, ]), stats::median(r[1, ]), stats::median(r[2, ]))
    cat(sprintf("s3        %d-row table, %s: write local %.2f s, S3 %.2f s (%.2fx)   read local %.2f s, S3 %.2f s (%.2fx)\n",
                n, what, m[1], m[2], m[2] / m[1], m[3], m[4], m[4] / m[3]))
    # the floor: the server taking in an object of the same size with nothing
    # else running (all its parts ready at once, 4 in flight)
    obj_mb <- max(1L, as.integer(round(max(file.size(list.files(file.path(root, "local-store"), pattern = "[.]parquet$",
                                                                  recursive = TRUE, full.names = TRUE))) / 2^20)))
    up <- stats::median(replicate(reps, datom:::engine(datom:::rs_bench_s3_transfer(datom:::component_location(st), obj_mb))$parallel_up))
    cat(sprintf("          the server alone takes %.2f s to receive the %d MiB object; S3 write - local write = %.2f s (%.2fx that)\n",
                up, obj_mb, m[2] - m[1], (m[2] - m[1]) / up))
    if (!keep) datom_storage_delete_prefix(c_s3)
    list(store = st, table = s3_table, conn = c_s3)
  }
  cat("\n")
  main <- s3_vs_local(endpoint, "bench", "moto as installed (objects over 5 MiB go to a temporary file on this disk)", keep = TRUE)
  # the same with a moto that keeps objects in memory (no disk spill: S3 itself
  # costs this machine nothing but the transfer)
  moto <- file.path(dirname(py), "moto_server")
  if (file.exists(moto)) {
    mem_port <- as.integer(py_run("import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"))
    mem_ep <- sprintf("http://127.0.0.1:%d", mem_port)
    system2("env", c("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE=1073741824", "LD_LIBRARY_PATH=", moto, "-H", "127.0.0.1", "-p", mem_port),
            stdout = FALSE, stderr = FALSE, wait = FALSE)
    mk_bucket <- sprintf(paste("import boto3, time",
                               "c = boto3.client('s3', endpoint_url='%s', region_name='us-east-1', aws_access_key_id='%s', aws_secret_access_key='%s')",
                               "for i in range(100):",
                               "    try: c.create_bucket(Bucket='%s'); break",
                               "    except Exception: time.sleep(0.2)", sep = "\n"),
                         mem_ep, Sys.getenv("AWS_ACCESS_KEY_ID"), Sys.getenv("AWS_SECRET_ACCESS_KEY"), Sys.getenv("DATOM_S3_BUCKET", "study-001-datom"))
    py_run(mk_bucket)
    s3_vs_local(mem_ep, "bench-mem", "moto keeping objects in memory")
    pid <- suppressWarnings(system2("pgrep", c("-f", shQuote(paste("moto_server -H 127.0.0.1 -p", mem_port))), stdout = TRUE))
    if (length(pid)) tools::pskill(as.integer(pid))
  }
  cat("targets: S3 write and read <= 1.5x local (moto on this machine's 2 cores)\n")
  s3 <- main$store
  s3_table <- main$table
  mb <- as.integer(Sys.getenv("DATOM_BENCH_OBJECT_MB", "200"))
  tr <- datom:::engine(datom:::rs_bench_s3_transfer(datom:::component_location(s3), mb))
  cat(sprintf("s3        %d MiB object: parallel parts / ranges up %.0f MiB/s, down %.0f MiB/s   single stream up %.0f MiB/s, down %.0f MiB/s   gain up %.2fx, down %.2fx\n",
              mb, mb / tr$parallel_up, mb / tr$parallel_down, mb / tr$single_up, mb / tr$single_down,
              tr$single_up / tr$parallel_up, tr$single_down / tr$parallel_down))
  cat("          (a loopback server has no per-connection limit to spread over parallel connections: a download is split into ranges only when one stream is slow)\n")
  # a distant endpoint: a proxy that limits every connection's download speed
  rate <- as.numeric(Sys.getenv("DATOM_BENCH_LINK_MIBS", "16"))
  port <- as.integer(sub(".*:", "", endpoint))
  proxy_out <- tempfile()
  system2(py, c(file.path("bench", "throttle.py"), port, rate), stdout = proxy_out, wait = FALSE, env = "LD_LIBRARY_PATH=")
  for (i in 1:100) { if (any(grepl("^READY", readLines(proxy_out, warn = FALSE)))) break; Sys.sleep(0.1) }
  ready <- strsplit(grep("^READY", readLines(proxy_out, warn = FALSE), value = TRUE), " ")[[1]]
  proxy_port <- ready[2]
  far <- datom_store_s3(Sys.getenv("DATOM_S3_BUCKET", "study-001-datom"), prefix = "bench/", region = "us-east-1",
                        access_key = Sys.getenv("AWS_ACCESS_KEY_ID"), secret_key = Sys.getenv("AWS_SECRET_ACCESS_KEY"),
                        endpoint = sprintf("http://127.0.0.1:%s", proxy_port))
  fmb <- 48L
  d <- datom:::engine(datom:::rs_bench_s3_download(datom:::component_location(far), fmb))
  cat(sprintf("s3        %d MiB object through a link of %g MiB/s per connection: one stream %.2f s, parallel ranges %.2f s, datom %.2f s (%.2fx one stream)\n",
              fmb, rate, d$single, d$parallel, d$datom, d$datom / d$single))
  cat("          (datom reads one stream and splits what is left into ranges once the stream proves slow)\n")
  tools::pskill(as.integer(ready[3]))
  reader <- datom_get_conn(store = datom_store(data = s3), project_name = "BENCH_S3")
  nreq <- datom:::engine(datom:::rs_bench_reader_requests(reader, s3_table))
  cat(sprintf("s3        requests a reader makes to read the current version of one table: %d (target <= 3)\n", nreq))
  datom_storage_delete_prefix(main$conn)
  unlink(root, recursive = TRUE)
} else {
  cat("\ns3        skipped: DATOM_S3_ENDPOINT is not set (make bench starts a loopback server)\n")
}

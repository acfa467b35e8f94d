# Long transfers report progress to R (a cli progress bar in interactive
# sessions); forced here with options(datom.progress = TRUE).

# Replace datom's progress_draw() for the calling test (restored after it);
# returns the original.
local_progress_draw <- function(f, env = parent.frame()) {
  ns <- asNamespace("datom")
  orig <- get("progress_draw", ns)
  swap <- function(g) { unlockBinding("progress_draw", ns); assign("progress_draw", g, ns); lockBinding("progress_draw", ns) }
  withr::defer(swap(orig), envir = env)
  swap(f)
  invisible(orig)
}

progress_log <- function() {
  log <- datom:::progress_state$log
  if (is.null(log)) return(data.frame(label = character(), unit = character(), done = numeric(), total = numeric()))
  parts <- do.call(rbind, strsplit(log, "|", fixed = TRUE))
  data.frame(label = parts[, 1], unit = parts[, 2], done = as.numeric(parts[, 3]), total = as.numeric(parts[, 4]),
             stringsAsFactors = FALSE)
}

test_that("a large S3 upload and download, and a batch copy, report progress", {
  withr::local_options(datom.progress = TRUE, datom.progress_delay = 0, datom.progress_log = TRUE)
  p <- s3_project()
  set.seed(7)
  big <- data.frame(x = runif(1.5e6), y = runif(1.5e6))  # ~24 MB of incompressible doubles: multipart
  local({ e <- datom:::progress_state; e$log <- NULL })
  res <- quietly(datom_write(p$conn, big, "big"))
  log <- progress_log()
  up <- log[startsWith(log$label, "Uploading big/"), ]
  expect_gt(nrow(up), 0)
  expect_true(all(up$unit == "bytes"))
  expect_true(all(diff(up$done) >= 0))
  expect_true(all(up$done <= up$total))
  expect_null(datom:::progress_state$id)   # closed when the call returned

  local({ e <- datom:::progress_state; e$log <- NULL })
  back <- datom_read(p$conn, "big")
  expect_true(identical(as.data.frame(back), big))
  down <- progress_log()
  expect_true(any(startsWith(down$label, "Downloading big/")))

  # batch copy to another bucket counts objects
  for (i in 1:30) quietly(datom_write(p$conn, data.frame(i = i), sprintf("t%02d", i)))
  dest <- datom_store(data = s3_component(s3_bucket()), data_repo_url = file.path(p$root, "x.git"))
  to <- p$conn
  to$root <- dest$data$bucket
  local({ e <- datom:::progress_state; e$log <- NULL })
  quietly(datom_storage_copy(p$conn, to))
  cp <- progress_log()
  cp <- cp[startsWith(cp$label, "Copying"), ]
  expect_gt(nrow(cp), 0)
  expect_true(all(cp$unit == "objects"))
  expect_true(all(cp$done <= cp$total))
})

test_that("no progress is reported when it is switched off", {
  withr::local_options(datom.progress = FALSE, datom.progress_log = TRUE)
  p <- s3_project()
  local({ e <- datom:::progress_state; e$log <- NULL })
  quietly(datom_write(p$conn, data.frame(x = runif(1.5e6)), "big"))
  expect_null(datom:::progress_state$log)
})

test_that("a progress bar never outlives the engine call that opened it", {
  # The engine reports from inside the call (the promise engine() forces);
  # a bar left open by a report that was not the last one is closed by
  # engine() once the call returned, whatever the timing.
  withr::local_options(datom.progress = TRUE, datom.progress_delay = 0)
  opened <- NULL
  res <- datom:::engine({
    datom:::progress_tick("Uploading t/x.parquet", "bytes", 10, 100, FALSE)
    opened <- datom:::progress_state$id
    "value"
  })
  expect_identical(res, "value")
  expect_false(is.null(opened))
  expect_null(datom:::progress_state$id)
  expect_null(datom:::progress_state$label)
})

test_that("R code run by the progress hook cannot jump over the engine", {
  # A hook that signals an error, and one that invokes an outer restart: the
  # engine call completes and the next call works (the runtime is usable).
  withr::local_options(datom.progress = TRUE, datom.progress_delay = 0)
  p <- s3_project()
  local_progress_draw(function(...) stop("boom in the hook"))
  expect_identical(quietly(datom_write(p$conn, data.frame(x = 1:3), "a"))$action, "full")
  local_progress_draw(function(...) invokeRestart("abort"))
  expect_identical(quietly(datom_write(p$conn, data.frame(x = 1:4), "b"))$action, "full")
  expect_identical(as.data.frame(datom_read(p$conn, "b")), data.frame(x = 1:4))
  expect_identical(as.data.frame(datom_read(p$conn, "a")), data.frame(x = 1:3))
})

test_that("a write and a read report every phase, in order, and keep their trace", {
  withr::local_options(datom.progress = TRUE, datom.progress_delay = 0, datom.progress_log = TRUE)
  p <- local_project()
  set.seed(11)
  n <- 3e5
  df <- data.frame(id = sprintf("S-%05d", sample.int(5000, n, TRUE)), x = runif(n), k = sample.int(9L, n, TRUE),
                   stringsAsFactors = FALSE)
  local({ e <- datom:::progress_state; e$log <- NULL })
  quietly(datom_write(p$conn, df, "big"))
  log <- progress_log()
  phases <- unique(log$label)
  expect_identical(phases, c("Hashing big", "Encoding big", "Committing and pushing big", "Publishing big"))
  h <- log[log$label == "Hashing big", ]
  expect_true(all(h$unit == "bytes"))
  expect_true(all(diff(h$done) >= 0))
  expect_identical(tail(h$done, 1), tail(h$total, 1))   # the last report says all of it
  enc <- log[log$label == "Encoding big", ]
  expect_identical(tail(enc$done, 1), n * 3)
  tr <- datom:::engine(datom:::rs_progress_trace())
  expect_identical(tr$phase, phases)
  expect_true(all(tr$seconds >= 0))

  local({ e <- datom:::progress_state; e$log <- NULL })
  back <- datom_read(p$conn, "big")
  expect_identical(as.data.frame(back), df)
  log <- progress_log()
  expect_identical(unique(log$label), c("Verifying big", "Decoding big", "Converting big to R"))
  conv <- log[log$label == "Converting big to R", ]
  expect_identical(tail(conv$done, 1), n * 3)
  expect_null(datom:::progress_state$id)

  # an unchanged write hashes and stops there
  local({ e <- datom:::progress_state; e$log <- NULL })
  expect_identical(quietly(datom_write(p$conn, df, "big"))$action, "none")
  expect_identical(unique(progress_log()$label), "Hashing big")
})

test_that("the bar waits for the call's delay, counted from the start of the write", {
  # no duration is measured: a delay no call reaches, and the clock each
  # report carries must never run backwards across phases
  withr::local_options(datom.progress = TRUE, datom.progress_delay = 3600)
  opened <- list()
  orig <- datom:::progress_draw
  local_progress_draw(function(label, unit, done, total, elapsed = NA_real_) {
    opened[[length(opened) + 1L]] <<- elapsed
    orig(label, unit, done, total, elapsed)
  })
  p <- local_project()
  quietly(datom_write(p$conn, data.frame(x = runif(3e5)), "t"))
  el <- unlist(opened)
  expect_gt(length(el), 0)
  expect_true(all(!is.na(el) & el >= 0))
  expect_true(all(diff(el) >= 0))      # one clock for all the phases
  expect_null(datom:::progress_state$id)  # never shown before the delay
})

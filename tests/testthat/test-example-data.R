# Bundled example study STUDY-001 (dev/spec/API.md 3.9 and 5).

example_domains <- c("dm", "ex", "lb", "ae")
example_date_col <- c(dm = "RFSTDTC", ex = "EXSTDTC", lb = "LBDTC", ae = "AESTDTC")

# Cumulative row counts per cutoff (dev/spec/API.md 5.2); the last entry is "no cutoff".
example_counts <- list(
  dm = c(4L, 16L, 25L, 31L, 39L, 47L, 48L),
  ex = c(4L, 16L, 25L, 31L, 39L, 47L, 48L),
  lb = c(20L, 100L, 205L, 310L, 445L, 575L, 720L),
  ae = c(2L, 6L, 12L, 21L, 30L, 49L, 84L)
)

count_of <- function(x, values) {
  tab <- table(factor(x, levels = values))
  stats::setNames(as.vector(tab), values)
}

test_that("datom_example_cutoffs() returns the six monthly cutoffs", {
  expect_identical(
    datom_example_cutoffs(),
    c(
      month_1 = "2026-01-28", month_2 = "2026-02-28", month_3 = "2026-03-28",
      month_4 = "2026-04-28", month_5 = "2026-05-28", month_6 = "2026-06-28"
    )
  )
})

test_that("domain defaults to dm and every domain is a plain data.frame", {
  expect_identical(datom_example_data(), datom_example_data("dm"))
  for (d in example_domains) {
    x <- datom_example_data(d)
    expect_identical(class(x), "data.frame")
    expect_identical(rownames(x), as.character(seq_len(nrow(x))))
    expect_false(anyNA(x))
    chr <- vapply(x, is.character, logical(1))
    expect_true(all(nzchar(unlist(x[chr]))))
    expect_identical(unique(x$STUDYID), "STUDY-001")
    expect_identical(unique(x$DOMAIN), toupper(d))
    expect_identical(x$USUBJID, sprintf("STUDY-001-%03d", x$SUBJID))
  }
})

test_that("dm: 48 x 12 with the documented columns, types and categories", {
  dm <- datom_example_data("dm")
  expect_identical(dim(dm), c(48L, 12L))
  expect_identical(
    vapply(dm, typeof, character(1)),
    c(STUDYID = "character", DOMAIN = "character", USUBJID = "character",
      SUBJID = "integer", AGE = "integer", AGEU = "character", SEX = "character",
      RACE = "character", ETHNIC = "character", COUNTRY = "character",
      RFSTDTC = "character", DMDTC = "character")
  )
  expect_identical(dm$SUBJID, 1:48)
  expect_true(all(dm$AGE >= 25L & dm$AGE <= 71L))
  expect_identical(unique(dm$AGEU), "YEARS")
  expect_identical(count_of(dm$SEX, c("M", "F")), c(M = 29L, F = 19L))
  expect_identical(
    count_of(dm$RACE, c("WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER")),
    c(WHITE = 23L, "BLACK OR AFRICAN AMERICAN" = 9L, ASIAN = 9L, OTHER = 7L)
  )
  expect_identical(
    count_of(dm$ETHNIC, c("NOT HISPANIC OR LATINO", "HISPANIC OR LATINO")),
    c("NOT HISPANIC OR LATINO" = 42L, "HISPANIC OR LATINO" = 6L)
  )
  expect_identical(count_of(dm$COUNTRY, c("USA", "CAN", "GBR")), c(USA = 32L, CAN = 14L, GBR = 2L))
  expect_identical(dm$DMDTC, dm$RFSTDTC)
  expect_false(anyNA(as.Date(dm$RFSTDTC, format = "%Y-%m-%d")))
  expect_identical(dm$RFSTDTC, sort(dm$RFSTDTC))
  expect_identical(range(dm$RFSTDTC), c("2026-01-20", "2026-07-03"))
})

test_that("ex: 48 x 10, first dose per subject, arms 24/24", {
  ex <- datom_example_data("ex")
  dm <- datom_example_data("dm")
  expect_identical(dim(ex), c(48L, 10L))
  expect_identical(
    vapply(ex, typeof, character(1)),
    c(STUDYID = "character", DOMAIN = "character", USUBJID = "character",
      SUBJID = "integer", EXTRT = "character", EXDOSE = "integer",
      EXDOSU = "character", EXSTDTC = "character", VISITNUM = "integer",
      VISIT = "character")
  )
  expect_identical(ex$SUBJID, 1:48)
  expect_identical(count_of(ex$EXTRT, c("DRUG-X 200mg", "PLACEBO")), c("DRUG-X 200mg" = 24L, PLACEBO = 24L))
  expect_identical(ex$EXDOSE, ifelse(ex$EXTRT == "PLACEBO", 0L, 200L))
  expect_identical(unique(ex$EXDOSU), "mg")
  expect_identical(ex$EXSTDTC, dm$RFSTDTC)
  expect_identical(unique(ex$VISITNUM), 1L)
  expect_identical(unique(ex$VISIT), "SCREENING")
})

test_that("lb: 720 x 15 = 48 subjects x 3 visits x 5 tests", {
  lb <- datom_example_data("lb")
  dm <- datom_example_data("dm")
  expect_identical(dim(lb), c(720L, 15L))
  expect_identical(
    vapply(lb, typeof, character(1)),
    c(STUDYID = "character", DOMAIN = "character", USUBJID = "character",
      SUBJID = "integer", VISITNUM = "integer", VISIT = "character",
      LBTESTCD = "character", LBTEST = "character", LBCAT = "character",
      LBORRES = "double", LBORRESU = "character", LBORNRLO = "double",
      LBORNRHI = "double", LBNRIND = "character", LBDTC = "character")
  )
  expect_identical(count_of(lb$VISITNUM, 1:3), c("1" = 240L, "2" = 240L, "3" = 240L))
  expect_identical(lb$VISIT, c("WEEK 1", "WEEK 4", "WEEK 12")[lb$VISITNUM])
  expect_identical(
    count_of(lb$LBTESTCD, c("ALT", "AST", "GLUC", "HGB", "WBC")),
    c(ALT = 144L, AST = 144L, GLUC = 144L, HGB = 144L, WBC = 144L)
  )
  expect_identical(nrow(unique(lb[c("SUBJID", "VISITNUM", "LBTESTCD")])), 720L)

  tests <- data.frame(
    LBTESTCD = c("ALT", "AST", "GLUC", "HGB", "WBC"),
    LBTEST = c("Alanine Aminotransferase", "Aspartate Aminotransferase", "Glucose",
               "Hemoglobin", "Leukocytes"),
    LBCAT = c("CHEMISTRY", "CHEMISTRY", "CHEMISTRY", "HEMATOLOGY", "HEMATOLOGY"),
    LBORRESU = c("U/L", "U/L", "mg/dL", "g/dL", "10^9/L"),
    LBORNRLO = c(7, 10, 70, 12.0, 4.0),
    LBORNRHI = c(56, 40, 100, 17.5, 11.0),
    stringsAsFactors = FALSE
  )
  i <- match(lb$LBTESTCD, tests$LBTESTCD)
  for (col in setdiff(names(tests), "LBTESTCD")) {
    expect_identical(lb[[col]], tests[[col]][i], label = col)
  }

  # Results: one decimal place, flagged against the reference range.
  expect_true(all(abs(lb$LBORRES * 10 - round(lb$LBORRES * 10)) < 1e-6))
  expect_true(all(lb$LBORRES > 0))
  flag <- ifelse(lb$LBORRES < lb$LBORNRLO, "LOW", ifelse(lb$LBORRES > lb$LBORNRHI, "HIGH", "NORMAL"))
  expect_identical(lb$LBNRIND, flag)
  expect_identical(
    count_of(lb$LBNRIND, c("NORMAL", "HIGH", "LOW")),
    c(NORMAL = 666L, HIGH = 29L, LOW = 25L)
  )

  # Visits on enrollment day, +28 and +84 days.
  enrol <- as.Date(dm$RFSTDTC[match(lb$SUBJID, dm$SUBJID)])
  expect_identical(as.integer(as.Date(lb$LBDTC) - enrol), c(0L, 28L, 84L)[lb$VISITNUM])
  expect_identical(max(lb$LBDTC), "2026-09-25")
})

test_that("ae: 84 x 12, 38 subjects with 1-4 events, documented categories", {
  ae <- datom_example_data("ae")
  dm <- datom_example_data("dm")
  expect_identical(dim(ae), c(84L, 12L))
  expect_identical(
    vapply(ae, typeof, character(1)),
    c(STUDYID = "character", DOMAIN = "character", USUBJID = "character",
      SUBJID = "integer", AESEQ = "integer", AETERM = "character",
      AEBODSYS = "character", AESEV = "character", AEREL = "character",
      AEOUT = "character", AESTDTC = "character", AEENDTC = "character")
  )
  per_subject <- table(ae$SUBJID)
  expect_identical(length(per_subject), 38L)
  expect_true(all(per_subject >= 1L & per_subject <= 4L))
  expect_true(all(ae$SUBJID %in% 1:48))
  expect_identical(ae$AESEQ, as.integer(stats::ave(ae$SUBJID, ae$SUBJID, FUN = seq_along)))

  bodsys <- c(
    Headache = "Nervous system disorders", Dizziness = "Nervous system disorders",
    Nausea = "Gastrointestinal disorders", Diarrhea = "Gastrointestinal disorders",
    Fatigue = "General disorders", Insomnia = "Psychiatric disorders",
    Rash = "Skin and subcutaneous tissue disorders",
    Arthralgia = "Musculoskeletal and connective tissue disorders"
  )
  expect_true(all(ae$AETERM %in% names(bodsys)))
  expect_identical(ae$AEBODSYS, unname(bodsys[ae$AETERM]))
  expect_identical(
    count_of(ae$AEBODSYS, unique(unname(bodsys))),
    c("Nervous system disorders" = 30L, "Gastrointestinal disorders" = 16L,
      "General disorders" = 12L, "Psychiatric disorders" = 11L,
      "Skin and subcutaneous tissue disorders" = 10L,
      "Musculoskeletal and connective tissue disorders" = 5L)
  )
  expect_identical(
    count_of(ae$AESEV, c("MILD", "MODERATE", "SEVERE")),
    c(MILD = 62L, MODERATE = 16L, SEVERE = 6L)
  )
  expect_identical(
    count_of(ae$AEREL, c("NOT RELATED", "POSSIBLY RELATED", "RELATED")),
    c("NOT RELATED" = 44L, "POSSIBLY RELATED" = 26L, RELATED = 14L)
  )
  expect_identical(
    count_of(ae$AEOUT, c("RECOVERED", "RECOVERING", "NOT RECOVERED")),
    c(RECOVERED = 59L, RECOVERING = 19L, "NOT RECOVERED" = 6L)
  )

  # Onset 1-150 days after enrollment, end 0-21 days after onset, both capped
  # at the 2026-06-30 data cut.
  onset <- as.Date(ae$AESTDTC)
  end <- as.Date(ae$AEENDTC)
  enrol <- as.Date(dm$RFSTDTC[match(ae$SUBJID, dm$SUBJID)])
  expect_true(all(onset - enrol >= 1 & onset - enrol <= 150))
  expect_true(all(end - onset >= 0 & end - onset <= 21))
  expect_true(all(onset <= as.Date("2026-06-30")))
  expect_true(all(end <= as.Date("2026-06-30")))
})

test_that("row counts per cutoff match the published table", {
  cutoffs <- datom_example_cutoffs()
  for (d in example_domains) {
    got <- c(
      vapply(cutoffs, function(k) nrow(datom_example_data(d, cutoff_date = k)), integer(1)),
      none = nrow(datom_example_data(d))
    )
    expect_identical(unname(got), example_counts[[d]], label = paste(d, "row counts"))
  }
})

test_that("each monthly extract keeps the previous month's rows unchanged", {
  cutoffs <- datom_example_cutoffs()
  for (d in example_domains) {
    col <- example_date_col[[d]]
    extracts <- c(lapply(cutoffs, function(k) datom_example_data(d, cutoff_date = k)),
                  list(none = datom_example_data(d)))
    for (m in seq_along(cutoffs)) {
      prev <- extracts[[m]]
      cur <- extracts[[m + 1L]]
      expect_gte(nrow(cur), nrow(prev))
      # The earlier extract is exactly the later one restricted to its cutoff:
      # same rows, same values, same order.
      earlier <- cur[cur[[col]] <= cutoffs[[m]], , drop = FALSE]
      rownames(earlier) <- NULL
      expect_identical(earlier, prev, label = paste(d, names(cutoffs)[m]))
      # Every earlier row is present unchanged in the later extract.
      key <- do.call(paste, c(cur, sep = "\r"))
      expect_true(all(do.call(paste, c(prev, sep = "\r")) %in% key))
    }
    # dm and ex are in enrollment order, so each extract is a prefix of the next.
    if (d %in% c("dm", "ex")) {
      for (m in seq_along(cutoffs)) {
        expect_identical(utils::head(extracts[[m + 1L]], nrow(extracts[[m]])), extracts[[m]])
      }
    }
  }
})

test_that("cutoff is inclusive, accepts Dates, and renumbers row names", {
  for (d in example_domains) {
    full <- datom_example_data(d)
    dates <- full[[example_date_col[[d]]]]
    day <- sort(unique(dates))[3]
    on <- datom_example_data(d, cutoff_date = day)
    before <- datom_example_data(d, cutoff_date = as.Date(day) - 1)
    expect_identical(nrow(on), sum(dates <= day))
    expect_true(any(on[[example_date_col[[d]]]] == day))
    expect_identical(nrow(before), sum(dates < day))
    expect_false(any(before[[example_date_col[[d]]]] == day))
    expect_identical(datom_example_data(d, cutoff_date = as.Date(day)), on)
    expect_true(all(on[[example_date_col[[d]]]] <= day))
    expect_identical(class(on), "data.frame")

    # Row names run 1..n even when the kept rows are not the first ones.
    k <- datom_example_data(d, cutoff_date = datom_example_cutoffs()[["month_3"]])
    expect_identical(rownames(k), as.character(seq_len(nrow(k))))
    expect_lt(.row_names_info(k), 0L)
  }
  expect_identical(nrow(datom_example_data("dm", cutoff_date = "2026-01-19")), 0L)
  expect_identical(nrow(datom_example_data("lb", cutoff_date = "2030-01-01")), 720L)
})

test_that("bad domain and bad cutoff_date are refused", {
  expect_error(datom_example_data("xx"), "dm.*ex.*lb.*ae")
  expect_error(datom_example_data("DM"), "dm.*ex.*lb.*ae")
  expect_error(datom_example_data("dm", cutoff_date = "not a date"), class = "datom_error")
  expect_error(datom_example_data("dm", cutoff_date = "not a date"), class = "datom_error_input")
  expect_error(datom_example_data("dm", cutoff_date = "not a date"), "cutoff_date")
  expect_error(datom_example_data("lb", cutoff_date = TRUE), class = "datom_error")
  expect_error(datom_example_data("lb", cutoff_date = NA_character_), class = "datom_error")
  expect_error(
    datom_example_data("lb", cutoff_date = c("2026-01-28", "2026-02-28")),
    class = "datom_error"
  )
  expect_error(datom_example_data("ae", cutoff_date = character(0)), class = "datom_error")
})

test_that("bundled CSV files follow the formatting rules", {
  for (d in example_domains) {
    path <- system.file("extdata", paste0(d, ".csv"), package = "datom")
    expect_true(nzchar(path))
    bytes <- readBin(path, "raw", file.size(path))
    expect_false(any(bytes == as.raw(0x0d)), label = paste(d, "has no CR"))
    expect_identical(bytes[length(bytes)], as.raw(0x0a))
    expect_true(validUTF8(rawToChar(bytes)))

    lines <- readLines(path, encoding = "UTF-8")
    x <- datom_example_data(d)
    expect_length(lines, nrow(x) + 1L)
    expect_identical(lines[1], paste0("\"", names(x), "\"", collapse = ","))

    # Every field is either a quoted non-empty string without inner quotes, or
    # an unquoted number; numbers sit exactly in the numeric columns.
    fields <- strsplit(lines[-1], ",", fixed = TRUE)
    expect_true(all(lengths(fields) == ncol(x)))
    m <- do.call(rbind, fields)
    quoted <- matrix(grepl("^\"[^\"]+\"$", m), nrow(m))
    number <- matrix(grepl("^-?[0-9]+(\\.[0-9])?$", m), nrow(m))
    expect_true(all(quoted | number))
    numeric_cols <- vapply(x, is.numeric, logical(1))
    numeric_cols[["SUBJID"]] <- FALSE
    expect_true(all(number[, numeric_cols]))
    expect_true(all(quoted[, !numeric_cols]))

    # SUBJID is written as a zero-padded quoted string.
    expect_identical(m[, 4], sprintf("\"%03d\"", x$SUBJID))
  }
  # Lab results and ranges are written with exactly one decimal.
  lb_lines <- readLines(system.file("extdata", "lb.csv", package = "datom"))
  m <- do.call(rbind, strsplit(lb_lines[-1], ",", fixed = TRUE))
  expect_true(all(grepl("^[0-9]+\\.[0-9]$", m[, c(10, 12, 13)])))
})

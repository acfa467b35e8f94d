# Maintainer script: regenerate the bundled example study STUDY-001.
#
#   Rscript tools/make-example-data.R        (run from the package root)
#
# Writes inst/extdata/{dm,ex,lb,ae}.csv (UTF-8, comma-separated, header row,
# every field quoted except numbers, LF line ends, no missing values, no empty
# strings). The script is kept out of the built package (.Rbuildignore) and is
# run once by a maintainer; the CSVs it writes are committed.
#
# Specification: dev/spec/API.md section 5 (domains 5.1, cutoff row counts 5.2, recipe
# 5.3). The recipe is followed in its draw order with one seed
# (set.seed(20260101)), but the published counts of 5.1 and 5.2 are what users
# see in the articles, so every random step is *conditioned* on them:
#
#   * categorical draws whose published totals are fixed (sex, race, ethnicity,
#     country, arm, AE term body system, severity, relationship, outcome) are
#     drawn as random permutations of the fixed multiset. For i.i.d.
#     categories this is exactly the recipe's distribution conditioned on the
#     totals;
#   * enrollment offsets, lab results and AE counts are re-drawn (rejection
#     sampling) until the published counts hold, which is again exact
#     conditioning;
#   * AE onsets: each event first draws its onset offset (1-150 days after
#     enrollment, capped at the 2026-06-30 data cut) as the recipe says; the
#     events are then assigned to the cutoff windows of 5.2 by a maximum
#     bipartite matching that keeps every event whose natural onset already
#     falls in a window with free places, and the few moved events get an onset
#     drawn uniformly within their new window. If no assignment exists the AE
#     step is re-drawn.
#
# Everything depends only on the seed, so the output is reproducible
# byte-for-byte on a given R version (R >= 3.6 sampling). It does not reproduce
# the SHA-256 checksums listed in 5.3 (not required by the spec); the counts of
# 5.1 and 5.2 are asserted at the end of this script.

set.seed(20260101)

if (!file.exists("DESCRIPTION") || !dir.exists("R")) {
  stop("Run this script from the datom package root.", call. = FALSE)
}
out_dir <- file.path("inst", "extdata")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

# Study constants -------------------------------------------------------------

n_subj <- 48L
studyid <- "STUDY-001"
subjid <- sprintf("%03d", seq_len(n_subj))
usubjid <- paste0(studyid, "-", subjid)

day0 <- as.Date("2026-01-05") # enrollment offset 0
data_cut <- as.Date("2026-06-30") # AE dates are capped here
iso <- function(offset) format(day0 + offset, "%Y-%m-%d")

cutoffs <- as.Date(c("2026-01-28", "2026-02-28", "2026-03-28", "2026-04-28",
                     "2026-05-28", "2026-06-28"))
cut_off <- as.integer(cutoffs - day0) # 23, 54, 82, 113, 143, 174
cap_off <- as.integer(data_cut - day0) # 176
first_off <- as.integer(as.Date("2026-01-20") - day0) # 15: first enrollment
last_off <- 179L # 2026-07-03: last enrollment

# Targets (dev/spec/API.md 5.1 and 5.2): cumulative rows at each cutoff and in total.
target_dm <- c(4L, 16L, 25L, 31L, 39L, 47L, 48L)
target_lb <- c(20L, 100L, 205L, 310L, 445L, 575L, 720L)
target_ae <- c(2L, 6L, 12L, 21L, 30L, 49L, 84L)

# Cumulative count of offsets on or before each cutoff, plus the total.
cum_counts <- function(off) c(vapply(cut_off, function(k) sum(off <= k), 1L), length(off))

visit_days <- c(0L, 28L, 84L)
visit_names <- c("WEEK 1", "WEEK 4", "WEEK 12")

# 1. Enrollment offsets --------------------------------------------------------
# Recipe: 48 distinct sorted offsets drawn from 0-179. Conditioned on: first
# enrollment 2026-01-20, last 2026-07-03, the dm/ex counts of 5.2 (a uniform
# subset given the per-window counts is uniform within each window) and the lb
# counts of 5.2 (rejection).

enroll_windows <- function() {
  lo <- c(first_off, cut_off + 1L)
  hi <- c(cut_off, last_off)
  list(lo = lo, hi = hi, n = diff(c(0L, target_dm)))
}

draw_enrollment <- function() {
  w <- enroll_windows()
  k <- length(w$n)
  out <- integer(0)
  for (i in seq_len(k)) {
    pool <- seq(w$lo[i], w$hi[i])
    fixed <- integer(0)
    if (i == 1L) fixed <- first_off
    if (i == k) fixed <- last_off
    pool <- setdiff(pool, fixed)
    m <- w$n[i] - length(fixed)
    out <- c(out, fixed, pool[sample.int(length(pool), m)])
  }
  sort(out)
}

lb_visit_offsets <- function(enr) as.vector(outer(visit_days, enr, "+"))

repeat {
  enroll <- draw_enrollment()
  if (identical(cum_counts(enroll), target_dm) &&
      identical(cum_counts(lb_visit_offsets(enroll)) * 5L, target_lb)) break
}
rfstdtc <- iso(enroll)

# 2.-6. Demographics -----------------------------------------------------------
# Age: uniform 25-72 (floored, so 25-71). The categorical columns: random
# permutations of the published counts (recipe proportions conditioned on them).

age <- as.integer(floor(stats::runif(n_subj, 25, 72)))
shuffle <- function(values, counts) {
  x <- rep(values, counts)
  x[sample.int(length(x))]
}
sex <- shuffle(c("M", "F"), c(29L, 19L))
race <- shuffle(c("WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"),
                c(23L, 9L, 9L, 7L))
ethnic <- shuffle(c("HISPANIC OR LATINO", "NOT HISPANIC OR LATINO"), c(6L, 42L))
country <- shuffle(c("USA", "CAN", "GBR"), c(32L, 14L, 2L))

# 7. Arm shuffle (1:1, 24 + 24) -------------------------------------------------

arm <- shuffle(c("DRUG-X 200mg", "PLACEBO"), c(24L, 24L))

# 8. Labs (subject -> visit -> test) --------------------------------------------
# Normal draws rounded to one decimal, flagged against the reference range.
# Re-drawn until the LBNRIND counts of 5.1 hold (NORMAL 666, HIGH 29, LOW 25).

tests <- data.frame(
  LBTESTCD = c("ALT", "AST", "GLUC", "HGB", "WBC"),
  LBTEST = c("Alanine Aminotransferase", "Aspartate Aminotransferase", "Glucose",
             "Hemoglobin", "Leukocytes"),
  LBCAT = c("CHEMISTRY", "CHEMISTRY", "CHEMISTRY", "HEMATOLOGY", "HEMATOLOGY"),
  LBORRESU = c("U/L", "U/L", "mg/dL", "g/dL", "10^9/L"),
  mean = c(28, 22, 90, 14.0, 7.0),
  sd = c(8, 7, 12, 1.4, 1.6),
  lo = c(7, 10, 70, 12.0, 4.0),
  hi = c(56, 40, 100, 17.5, 11.0),
  stringsAsFactors = FALSE
)
n_test <- nrow(tests)
n_visit <- length(visit_days)
# Row layout: subject (slowest) -> visit -> test (fastest).
lb_subj <- rep(seq_len(n_subj), each = n_visit * n_test)
lb_visit <- rep(rep(seq_len(n_visit), each = n_test), times = n_subj)
lb_test <- rep(seq_len(n_test), times = n_subj * n_visit)

repeat {
  raw <- stats::rnorm(length(lb_test), tests$mean[lb_test], tests$sd[lb_test])
  lbres <- as.numeric(sprintf("%.1f", raw)) # the value as written
  lbnrind <- ifelse(lbres < tests$lo[lb_test], "LOW",
                    ifelse(lbres > tests$hi[lb_test], "HIGH", "NORMAL"))
  if (all(lbres > 0) && sum(lbnrind == "HIGH") == 29L && sum(lbnrind == "LOW") == 25L) break
}

# 9.-10. Adverse events ----------------------------------------------------------
# AE counts: Poisson(1.7) capped at 4, re-drawn until 38 subjects have events
# and there are 84 events in total; subjects enrolled on or after the
# 2026-06-30 data cut have none (an onset would fall before enrollment).
# Per event, in order: onset offset, duration, term, severity, relationship,
# outcome. Categories come from urns holding the published counts (sampling
# without replacement = a random permutation of the multiset). Terms: the body
# system is drawn from its urn, then one of its terms uniformly.

bodsys_terms <- list(
  "Nervous system disorders" = c("Headache", "Dizziness"),
  "Gastrointestinal disorders" = c("Nausea", "Diarrhea"),
  "General disorders" = "Fatigue",
  "Psychiatric disorders" = "Insomnia",
  "Skin and subcutaneous tissue disorders" = "Rash",
  "Musculoskeletal and connective tissue disorders" = "Arthralgia"
)
bodsys_n <- c(30L, 16L, 12L, 11L, 10L, 5L)
sev_values <- c("MILD", "MODERATE", "SEVERE")
sev_n <- c(62L, 16L, 6L)
rel_values <- c("NOT RELATED", "POSSIBLY RELATED", "RELATED")
rel_n <- c(44L, 26L, 14L)
out_values <- c("RECOVERED", "RECOVERING", "NOT RECOVERED")
out_n <- c(59L, 19L, 6L)

ae_windows <- list(lo = c(0L, cut_off + 1L), hi = c(cut_off, cap_off))

# Draw one value from an urn (an environment holding a character vector).
urn <- function(values, counts) {
  e <- new.env()
  e$x <- rep(values, counts)
  e
}
urn_draw <- function(u) {
  i <- sample.int(length(u$x), 1L)
  v <- u$x[i]
  u$x <- u$x[-i]
  v
}

# Maximum bipartite matching of events to window places (Kuhn's algorithm),
# starting from each event's natural window where there is room.
assign_windows <- function(natural, feasible, capacity) {
  n <- length(natural)
  slot_owner <- lapply(capacity, function(k) rep(NA_integer_, k))
  assigned <- rep(NA_integer_, n)
  for (i in seq_len(n)) {
    b <- natural[i]
    free <- which(is.na(slot_owner[[b]]))
    if (length(free)) {
      slot_owner[[b]][free[1]] <- i
      assigned[i] <- b
    }
  }
  try_assign <- function(i, seen) {
    for (b in feasible[[i]]) {
      if (seen$w[b]) next
      seen$w[b] <- TRUE
      free <- which(is.na(slot_owner[[b]]))
      if (length(free)) {
        slot_owner[[b]][free[1]] <<- i
        assigned[i] <<- b
        return(TRUE)
      }
      for (s in seq_along(slot_owner[[b]])) {
        j <- slot_owner[[b]][s]
        if (try_assign(j, seen)) {
          slot_owner[[b]][s] <<- i
          assigned[i] <<- b
          return(TRUE)
        }
      }
    }
    FALSE
  }
  for (i in which(is.na(assigned))) {
    seen <- new.env()
    seen$w <- rep(FALSE, length(capacity))
    if (!try_assign(i, seen)) return(NULL)
  }
  assigned
}

window_of <- function(off) findInterval(off, c(ae_windows$lo, Inf))

repeat {
  repeat {
    n_ae <- pmin(stats::rpois(n_subj, 1.7), 4L)
    if (sum(n_ae) == 84L && sum(n_ae > 0) == 38L && all(n_ae[enroll >= cap_off] == 0L)) break
  }
  u_term <- urn(names(bodsys_terms), bodsys_n)
  u_sev <- urn(sev_values, sev_n)
  u_rel <- urn(rel_values, rel_n)
  u_out <- urn(out_values, out_n)
  ev <- vector("list", sum(n_ae))
  k <- 0L
  for (s in which(n_ae > 0)) {
    for (j in seq_len(n_ae[s])) {
      onset <- min(enroll[s] + sample.int(150L, 1L), cap_off)
      duration <- sample.int(21L, 1L)
      bs <- urn_draw(u_term)
      terms <- bodsys_terms[[bs]]
      term <- if (length(terms) == 1L) terms else terms[sample.int(length(terms), 1L)]
      k <- k + 1L
      ev[[k]] <- list(subj = s, onset = onset, duration = duration, term = term,
                      bodsys = bs, sev = urn_draw(u_sev), rel = urn_draw(u_rel),
                      out = urn_draw(u_out))
    }
  }
  subj <- vapply(ev, `[[`, 1L, "subj")
  onset <- vapply(ev, `[[`, 1L, "onset")
  # Feasible onsets of event i: enroll + 1 .. min(enroll + 150, data cut).
  f_lo <- enroll[subj] + 1L
  f_hi <- pmin(enroll[subj] + 150L, cap_off)
  feasible <- lapply(seq_along(ev), function(i) {
    which(ae_windows$lo <= f_hi[i] & ae_windows$hi >= f_lo[i])
  })
  win <- assign_windows(window_of(onset), feasible, diff(c(0L, target_ae)))
  if (is.null(win)) next
  moved <- which(win != window_of(onset))
  for (i in moved) {
    lo <- max(f_lo[i], ae_windows$lo[win[i]])
    hi <- min(f_hi[i], ae_windows$hi[win[i]])
    onset[i] <- if (lo == hi) lo else seq(lo, hi)[sample.int(hi - lo + 1L, 1L)]
  }
  break
}

duration <- vapply(ev, `[[`, 1L, "duration")
ae_end <- pmin(onset + duration, cap_off)
# Rows: by subject, then onset (ties keep draw order); AESEQ numbers them.
ord <- order(subj, onset, seq_along(subj))
ae_subj <- subj[ord]
ae <- data.frame(
  STUDYID = studyid,
  DOMAIN = "AE",
  USUBJID = usubjid[ae_subj],
  SUBJID = subjid[ae_subj],
  AESEQ = as.integer(stats::ave(ae_subj, ae_subj, FUN = seq_along)),
  AETERM = vapply(ev, `[[`, "", "term")[ord],
  AEBODSYS = vapply(ev, `[[`, "", "bodsys")[ord],
  AESEV = vapply(ev, `[[`, "", "sev")[ord],
  AEREL = vapply(ev, `[[`, "", "rel")[ord],
  AEOUT = vapply(ev, `[[`, "", "out")[ord],
  AESTDTC = iso(onset[ord]),
  AEENDTC = iso(ae_end[ord]),
  stringsAsFactors = FALSE
)

# Assemble the other domains ------------------------------------------------------

dm <- data.frame(
  STUDYID = studyid,
  DOMAIN = "DM",
  USUBJID = usubjid,
  SUBJID = subjid,
  AGE = age,
  AGEU = "YEARS",
  SEX = sex,
  RACE = race,
  ETHNIC = ethnic,
  COUNTRY = country,
  RFSTDTC = rfstdtc,
  DMDTC = rfstdtc,
  stringsAsFactors = FALSE
)

ex <- data.frame(
  STUDYID = studyid,
  DOMAIN = "EX",
  USUBJID = usubjid,
  SUBJID = subjid,
  EXTRT = arm,
  EXDOSE = ifelse(arm == "PLACEBO", 0L, 200L),
  EXDOSU = "mg",
  EXSTDTC = rfstdtc,
  VISITNUM = 1L,
  VISIT = "SCREENING",
  stringsAsFactors = FALSE
)

lb <- data.frame(
  STUDYID = studyid,
  DOMAIN = "LB",
  USUBJID = usubjid[lb_subj],
  SUBJID = subjid[lb_subj],
  VISITNUM = lb_visit,
  VISIT = visit_names[lb_visit],
  LBTESTCD = tests$LBTESTCD[lb_test],
  LBTEST = tests$LBTEST[lb_test],
  LBCAT = tests$LBCAT[lb_test],
  LBORRES = lbres,
  LBORRESU = tests$LBORRESU[lb_test],
  LBORNRLO = tests$lo[lb_test],
  LBORNRHI = tests$hi[lb_test],
  LBNRIND = lbnrind,
  LBDTC = iso(enroll[lb_subj] + visit_days[lb_visit]),
  stringsAsFactors = FALSE
)

# Checks against dev/spec/API.md 5.1 / 5.2 --------------------------------------------------

count_at <- function(dates) cum_counts(as.integer(as.Date(dates) - day0))
check <- function(ok, what) if (!isTRUE(ok)) stop("check failed: ", what, call. = FALSE)
tab <- function(x, values) as.vector(table(factor(x, levels = values)))

check(identical(dim(dm), c(48L, 12L)) && identical(dim(ex), c(48L, 10L)) &&
        identical(dim(lb), c(720L, 15L)) && identical(dim(ae), c(84L, 12L)), "dimensions")
check(identical(count_at(dm$RFSTDTC), target_dm), "dm cutoff counts")
check(identical(count_at(ex$EXSTDTC), target_dm), "ex cutoff counts")
check(identical(count_at(lb$LBDTC), target_lb), "lb cutoff counts")
check(identical(count_at(ae$AESTDTC), target_ae), "ae cutoff counts")
check(min(dm$RFSTDTC) == "2026-01-20" && max(dm$RFSTDTC) == "2026-07-03", "enrollment range")
check(max(lb$LBDTC) == "2026-09-25", "last lab date")
check(max(ae$AESTDTC) <= "2026-06-30" && max(ae$AEENDTC) <= "2026-06-30", "AE data cut")
check(all(ae$AEENDTC >= ae$AESTDTC), "AE end after onset")
check(all(as.Date(ae$AESTDTC) > as.Date(dm$RFSTDTC[as.integer(ae$SUBJID)])), "AE onset after enrollment")
check(all(age >= 25L & age <= 71L), "age range")
check(identical(tab(lb$LBNRIND, c("NORMAL", "HIGH", "LOW")), c(666L, 29L, 25L)), "LBNRIND")
check(identical(tab(ae$AEBODSYS, names(bodsys_terms)), bodsys_n), "AEBODSYS")
check(length(unique(ae$SUBJID)) == 38L && max(table(ae$SUBJID)) <= 4L, "AE subjects")

# Write ---------------------------------------------------------------------------
# Character columns are quoted, numbers are not; lab results and reference
# ranges are written with exactly one decimal. LF line ends, UTF-8 (ASCII).

write_domain <- function(df, name, one_decimal = character(0)) {
  stopifnot(!anyNA(df))
  fields <- lapply(names(df), function(col) {
    x <- df[[col]]
    if (col %in% one_decimal) return(sprintf("%.1f", x))
    if (is.character(x)) {
      stopifnot(all(nzchar(x)), !any(grepl("\"", x, fixed = TRUE)))
      return(paste0("\"", x, "\""))
    }
    stopifnot(is.integer(x))
    as.character(x)
  })
  lines <- c(paste0("\"", names(df), "\"", collapse = ","),
             do.call(paste, c(fields, sep = ",")))
  path <- file.path(out_dir, paste0(name, ".csv"))
  con <- file(path, open = "wb", encoding = "UTF-8")
  on.exit(close(con))
  writeLines(enc2utf8(lines), con, sep = "\n", useBytes = TRUE)
  message("wrote ", path, " (", nrow(df), " rows x ", ncol(df), " columns)")
}

write_domain(dm, "dm")
write_domain(ex, "ex")
write_domain(lb, "lb", one_decimal = c("LBORRES", "LBORNRLO", "LBORNRHI"))
write_domain(ae, "ae")

# Every vector of goldens.json (dev/spec/FORMATS.md section 12) is a test.

for (g in goldens()) {
  local({
    g <- g
    test_that(paste0("golden ", g$id, " (", g$kind, ")"), {
      x <- eval(parse(text = g$r_expr), envir = new.env(parent = baseenv()))
      if (g$kind == "data_sha") {
        expect_identical(datom_hash(x)$data_sha, g$expected)
      } else if (g$kind == "column_sha") {
        h <- datom_hash(x)
        expect_identical(nrow(h$column_hashes), 1L)
        expect_identical(h$column_hashes$sha, g$expected)
        expect_identical(h$column_hashes$name, names(x))
      } else if (g$kind == "metadata_sha") {
        sha <- datom_metadata_sha(x)
        expect_identical(attr(sha, "canonical_json"), g$canonical_json)
        expect_identical(as.character(sha), g$expected)
      } else {
        fail(paste("unknown golden kind", g$kind))
      }
    })
  })
}

test_that("all 47 goldens are present", {
  expect_length(goldens(), 47L)
})

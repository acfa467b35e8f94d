library(testthat)
library(datom)

test_check("datom")

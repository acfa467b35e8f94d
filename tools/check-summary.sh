#!/usr/bin/env bash
# Summarise an R CMD check: fail on any ERROR or WARNING, list NOTEs, and
# print the testthat totals as a closing line.
set -uo pipefail
dir=${1:?usage: check-summary.sh path/to/datom.Rcheck}
log="$dir/00check.log"
[ -f "$log" ] || { echo "no check log at $log"; exit 1; }
status=0
if grep -qE '\.\.\. (ERROR|WARNING)' "$log" || grep -qE '^Status: .*(ERROR|WARNING)' "$log"; then
  echo "R CMD check reported problems:"
  grep -nE '\.\.\. (ERROR|WARNING)' "$log" || true
  status=1
fi
notes=$(grep -cE '\.\.\. NOTE' "$log" || true)
echo "R CMD check: $(grep -E '^Status:' "$log" || echo 'no status') ($notes NOTE(s); see cran-comments.md)"
out="$dir/tests/testthat.Rout"
[ -f "$out" ] || out="$dir/tests/testthat.Rout.fail"
if [ -f "$out" ]; then
  line=$(grep -E '\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$out" | tail -n 1)
  if [ -n "$line" ]; then
    fail=$(sed -E 's/.*FAIL ([0-9]+).*/\1/' <<<"$line")
    skip=$(sed -E 's/.*SKIP ([0-9]+).*/\1/' <<<"$line")
    pass=$(sed -E 's/.*PASS ([0-9]+).*/\1/' <<<"$line")
    [ "$fail" = 0 ] || status=1
    [ "$skip" = 0 ] || { echo "testthat skipped $skip test(s): nothing may skip under make test"; status=1; }
    echo "testthat: $pass passed, $fail failed"
  else
    echo "testthat: no summary line found in $out"; status=1
  fi
else
  echo "testthat: no test output found"; status=1
fi
exit $status

#!/usr/bin/env bash
# Runs every test suite (unit, black-box, seed commands, fuzz corpus replay) and ends with the
# one summary line "N passed, N failed" ("N passed, N failed, N skipped" when something could
# not run: a skip is never counted as a pass); exits non-zero if anything failed.
set -u
BUILD=${BUILD:-build/release}
export BUSYRING_BIN=${BUSYRING_BIN:-$BUILD/busyring}
passed=0
failed=0
skipped=0
failures=()  # "suite: test case" of each failure, repeated just above the summary line

# Catch2 v2's console summary: "All tests passed (A assertions in N test cases)" or
# "test cases: N | P passed | F failed".
run_catch() {
  local name=$1 bin=$2 log
  log=$(mktemp)
  echo "== $name"
  "$bin" 2>&1 | tee "$log" | tail -n 40
  # The tail may not reach a failure further up: name every failed check, with its test case.
  if grep -q "FAILED:" "$log"; then
    echo "-- failed checks in $name:"
    grep -B 12 -A 6 "FAILED:" "$log" | head -n 300
  fi
  # Catch2's console reporter heads each failure with a dashed rule, the test case's name and
  # its sections, then another rule: the first line after the opening rule is the name.
  local name_line
  while IFS= read -r name_line; do failures+=("$name: $name_line"); done < <(awk '
    /^-+$/ && length($0) > 70 { if (!open) { open = 1; want = 1 } else open = 0; next }
    want { test = $0; want = 0; next }
    /FAILED:$/ && test != "" && !seen[test]++ { print test }' "$log")
  # A test case that cannot run here prints one "SKIPPED: <why>" line and asserts nothing, so
  # Catch2 (v2 has no skip) counts it as passed: count it as skipped instead, not as both.
  local s=0
  if grep -q "^SKIPPED:" "$log"; then
    grep "^SKIPPED:" "$log" | sort -u
    s=$(grep -c "^SKIPPED:" "$log")
  fi
  local line p f
  line=$(grep -E "^All tests passed|^test cases:" "$log" | tail -1)
  if [[ $line =~ ^All\ tests\ passed.*in\ ([0-9]+)\ test\ case ]]; then
    p=${BASH_REMATCH[1]}; f=0
  elif [[ $line =~ test\ cases:\ +([0-9]+)\ \|\ +([0-9]+)\ passed\ \|\ +([0-9]+)\ failed ]]; then
    p=${BASH_REMATCH[2]}; f=${BASH_REMATCH[3]}
  elif [[ $line =~ test\ cases:\ +([0-9]+)\ \|\ +([0-9]+)\ failed ]]; then
    p=0; f=${BASH_REMATCH[2]}
  else
    echo "$name: no Catch2 summary (crashed?)"; p=0; f=1; failures+=("$name: crashed")
  fi
  if [[ $s -gt $p ]]; then s=$p; fi  # a skip line from a test case that then failed
  passed=$((passed + p - s)); failed=$((failed + f)); skipped=$((skipped + s))
  rm -f "$log"
}

# A shell test: passes when the script exits 0.
run_script() {
  local name=$1
  shift
  echo "== $name"
  local rc=0
  "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then passed=$((passed + 1))
  elif [[ $rc -eq 77 ]]; then skipped=$((skipped + 1))  # the script printed "SKIPPED: why"
  else echo "FAILED: $name"; failed=$((failed + 1)); failures+=("$name"); fi
}

run_catch "unit tests" "$BUILD/unit-tests"
run_catch "black-box tests" "$BUILD/blackbox-tests"
for t in tests/scripts/*_test.sh; do
  [[ -e $t ]] || continue
  run_script "$(basename "$t" .sh)" bash "$t"
done
if [[ -x $BUILD/fuzz-replay ]]; then
  run_script "fuzz corpus replay" "$BUILD/fuzz-replay" tests/fuzz/corpus
fi

# CI shows only the end of the output: name what failed there, just above the summary.
for f in "${failures[@]}"; do echo "failed: $f"; done
if [[ $skipped -gt 0 ]]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) into build/fuzz/
# and runs each in turn, one at a time and niced, for FUZZ_SECONDS (or FUZZ_RUNS executions).
# `make fuzz` calls it after installing clang; run it from the repository root.
#
#   tests/fuzz/run_fuzz.sh [TARGET...]      (default: every tests/fuzz/*_fuzz.cpp)
#   FUZZ_SECONDS=60   time per target          FUZZ_RUNS=N   stop after N executions too
#   FUZZ_BUILD_ONLY=1 build, do not run        FUZZ_ARGS=... more libFuzzer flags
#
# What each run found goes to build/fuzz/corpus/<target>/ (the committed seeds in
# tests/fuzz/corpus/<target>/ are read, never written); crashes to build/fuzz/crashes/<target>/.
# To keep a crash as a regression test, minimise it (build/fuzz/<target> -minimize_crash=1
# -runs=100000 CRASH) and copy it into tests/fuzz/corpus/<target>/: `make test` replays it.
# Exits 1 if any target crashed or failed a check.
set -euo pipefail

OUT=build/fuzz
CXX=${FUZZ_CXX:-clang++}
CC=${FUZZ_CC:-clang}
LLHTTP_SRC=${LLHTTP_SRC:-/usr/share/llhttp}
LLHTTP_INC=${LLHTTP_INC:-/usr/share/include/llhttp}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=$(nproc)

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
COMMON="-g -O1 -fno-omit-frame-pointer $SAN -MMD -MP"
CXXFLAGS="-std=c++20 $COMMON -pthread -Iinclude -Isrc -isystem $LLHTTP_INC -Wall -Wextra"
CFLAGS="$COMMON -I$LLHTTP_INC"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" _fuzz.cpp)"); done
fi

# An object is stale when missing, or older than any file its .d names (its source included).
stale() {
  local obj=$1 src=$2 dep
  [[ -f $obj && -f ${obj%.o}.d && ! $src -nt $obj ]] || return 0
  for dep in $(sed -e 's/\\$//' -e '/^[^:]*:$/d' -e 's/^[^:]*://' "${obj%.o}.d"); do
    [[ ! -e $dep || $dep -nt $obj ]] && return 0
  done
  return 1
}

# Compile jobs: "cc|c++ SOURCE OBJECT [EXTRA...]", run $JOBS at a time.
jobs_file=$(mktemp)
trap 'rm -f "$jobs_file"' EXIT
queue() {
  local lang=$1 src=$2 obj=$3
  shift 3
  # No trailing blank: xargs -L would join the next line to this one.
  if stale "$obj" "$src"; then echo "$lang $src $obj${*:+ $*}" >>"$jobs_file"; fi
}
compile() {
  local lang=$1 src=$2 obj=$3
  shift 3
  mkdir -p "$(dirname "$obj")"
  echo "  FUZZCC $src"
  if [[ $lang == cc ]]; then
    # shellcheck disable=SC2086
    $CC $CFLAGS -fsanitize=fuzzer-no-link "$@" -c "$src" -o "$obj"
  else
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS -fsanitize=fuzzer-no-link "$@" -c "$src" -o "$obj"
  fi
}
export -f compile
export CC CXX CFLAGS CXXFLAGS

lib_objs=()
for src in $(find src -name '*.cpp' ! -name main.cpp | sort); do
  obj=$OUT/obj/${src%.cpp}.o
  queue c++ "$src" "$obj"
  lib_objs+=("$obj")
done
for name in api http llhttp; do
  obj=$OUT/obj/llhttp/$name.o
  queue cc "$LLHTTP_SRC/$name.c" "$obj"
  lib_objs+=("$obj")
done
# busyring-log's library (tools/log/*.cpp but main.cpp, the Makefile's LOG_LIB_SRCS): log_tool's.
log_objs=()
if [[ " ${targets[*]} " == *" log_tool "* ]]; then
  for src in $(find tools/log -name '*.cpp' ! -name main.cpp | sort); do
    obj=$OUT/obj/${src%.cpp}.o
    queue c++ "$src" "$obj"
    log_objs+=("$obj")
  done
fi
for t in "${targets[@]}"; do
  src=tests/fuzz/${t}_fuzz.cpp
  [[ -f $src ]] || { echo "run_fuzz.sh: no fuzz target $t ($src)" >&2; exit 2; }
  queue c++ "$src" "$OUT/obj/tests/fuzz/${t}_fuzz.o" -DBR_LIBFUZZER
done
if [[ -s $jobs_file ]]; then
  xargs -P "$JOBS" -L 1 bash -c 'compile "$@"' _ <"$jobs_file"
fi
for t in "${targets[@]}"; do
  bin=$OUT/$t
  objs=("$OUT/obj/tests/fuzz/${t}_fuzz.o")
  [[ $t == log_tool ]] && objs+=("${log_objs[@]}")
  objs+=("${lib_objs[@]}")
  newest=$(ls -t "${objs[@]}" | head -1)
  if [[ ! -x $bin || $newest -nt $bin ]]; then
    echo "  FUZZLD $bin"
    # shellcheck disable=SC2086
    $CXX $SAN -fsanitize=fuzzer -pthread "${objs[@]}" -luring -lsimdjson -lhiredis -lz -o "$bin"
  fi
done
[[ ${FUZZ_BUILD_ONLY:-0} == 1 ]] && exit 0

# Inputs big enough for a few requests, or a few 4 KiB segments, and no bigger (speed).
max_len() {
  case $1 in
    recovery_scan) echo 8195 ;;
    log_tool) echo 12294 ;;
    record_decode) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

failed=0
summary=()
for t in "${targets[@]}"; do
  corpus=$OUT/corpus/$t
  crashes=$OUT/crashes/$t
  log=$OUT/$t.log
  mkdir -p "$corpus" "$crashes"
  args=(-max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$t")" -timeout=10 -print_final_stats=1
        -artifact_prefix="$crashes/")
  [[ -n ${FUZZ_RUNS:-} ]] && args+=(-runs="$FUZZ_RUNS")
  [[ $t == http_stream || $t == usage_json ]] && args+=(-dict=tests/fuzz/http.dict)
  # shellcheck disable=SC2206
  [[ -n ${FUZZ_ARGS:-} ]] && args+=($FUZZ_ARGS)
  echo "== fuzz $t (${FUZZ_SECONDS}s${FUZZ_RUNS:+ or $FUZZ_RUNS runs}; log $log)"
  touch "$OUT/.start-$t"
  rc=0
  nice -n 10 "$OUT/$t" "${args[@]}" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  # The last status line ("#N DONE cov: C ft: F corp: K/...") and the final stats.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  found=$(find "$crashes" -type f -newer "$OUT/.start-$t" | wc -l)
  line="$t: ${execs:-?} execs, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, $found crashes"
  if [[ $rc -ne 0 || $found -gt 0 ]]; then
    line+=" (FAILED, rc $rc: see $log)"
    failed=1
  fi
  echo "$line"
  summary+=("$line")
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $failed

# shellcheck shell=bash disable=SC2153  # RATE, ROUND and the rest come from perf/bench
# The measures of perf/bench (sourced after servers.sh). Each takes a peer (nginx, durable,
# memory), runs one bounded client against it, and appends lines to SAMPLES:
#   METRIC<TAB>PEER<TAB>ROUND<TAB>VALUE, or ERROR<TAB>PEER<TAB>ROUND<TAB>TEXT when it went wrong.
# Expects: SAMPLES, ROUND, WORK, LOAD, CLOSED_S, BATCH, RATE, FIXED_S, PROBE_S, SEARCH_*, AB_N,
# IDLE_N; optionally CONNECTIONS (busyring-load's, default 64) and LOAD_THREADS (default 1), as
# perf/scale sets them for many shards.

sample() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$ROUND" "$3" >>"$SAMPLES"; }
problem() { printf 'ERROR\t%s\t%s\t%s\n' "$1" "$ROUND" "$2" >>"$SAMPLES"; say "  ! $1: $2"; }
jget() { python3 perf/bench_report.py get "$@"; }
calc() { awk "BEGIN {printf \"%.6f\", $1}"; }
# sample_median METRIC PEER: "MEDIAN MIN MAX N" over SAMPLES' rounds, or nothing when there is none.
sample_median() { python3 perf/bench_report.py median "$SAMPLES" "$1" "$2"; }
# range_cell MEDIAN MIN MAX N: a table cell in whole units, "median (min..max)", or the one value.
range_cell() {
  if (( $4 > 1 )); then printf '%.0f (%.0f..%.0f)' "$1" "$2" "$3"; else printf '%.0f' "$1"; fi
}

# wrk -t1 -cC -dS -s perf/post.lua: req/s; socket errors and non-2xx replies are problems.
m_wrk() {
  local peer=$1 conns=$2 out=$WORK/wrk.out rps errors
  if ! client $((CLOSED_S + 30)) wrk -t1 -c"$conns" -d"${CLOSED_S}s" -s perf/post.lua \
       "$(url "$peer")" >"$out" 2>&1; then
    problem "$peer" "wrk -c$conns failed: $(tail -1 "$out")"; return 0
  fi
  rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
  errors=$(awk '/Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
                /Non-2xx/ {e += $5} END {print e + 0}' "$out")
  sample "wrk${conns}_rps" "$peer" "$rps"
  (( errors == 0 )) || problem "$peer" "wrk -c$conns: $errors socket errors or non-2xx replies"
  say "  wrk -c$conns $peer: $rps req/s"
}

# busyring-load ARGS... > JSON; 0 if it ran, else a problem is recorded.
run_load() {
  local peer=$1 json=$2 seconds=$3
  shift 3
  if ! client $((${seconds%.*} + 30)) "$LOAD" --url "$(url "$peer")" \
       --connections "${CONNECTIONS:-64}" --threads "${LOAD_THREADS:-1}" \
       --duration "$seconds" --json "$@" >"$json" 2>"$json.err"; then
    problem "$peer" "busyring-load $* failed: $(tail -1 "$json.err")"; return 1
  fi
}

m_load_closed() {
  local peer=$1 json=$WORK/load0.json rate errors
  run_load "$peer" "$json" "$CLOSED_S" --rate 0 || return 0
  read -r rate errors <<<"$(jget "$json" rate errors.total)"
  sample load0_rps "$peer" "$rate"
  (( errors == 0 )) || problem "$peer" "busyring-load --rate 0: $errors errors"
  say "  busyring-load -c${CONNECTIONS:-64} $peer: $rate req/s"
}

# Batches (issue 20): busyring-load --batch BATCH, closed loop, 64 connections (or CONNECTIONS),
# each request a JSON array of BATCH seed usages (data.json). records/s = req/s x BATCH:
# busyring answers each with one 201 {"first_id":N,"count":BATCH} (durable: after the batch's
# fdatasync), and the ids it acknowledged must be BATCH x its 201s (records/s counts those
# ids, so that an error answer is no record); nginx discards the body and answers its static
# 201, so its figure (201s x BATCH) is the HTTP ceiling for requests of that size, storing
# nothing.
m_load_batch() {
  local peer=$1 json=$WORK/batch.json rate records_rate errors ids requests records
  run_load "$peer" "$json" "$CLOSED_S" --rate 0 --batch "$BATCH" || return 0
  read -r rate records_rate errors ids requests \
    <<<"$(jget "$json" rate records_rate errors.total ids ok)"
  if [[ $peer == nginx ]]; then records=$(calc "$rate * $BATCH"); else records=$records_rate; fi
  sample batch_records_s "$peer" "$records"
  (( errors == 0 )) || problem "$peer" "busyring-load --batch $BATCH: $errors errors"
  if [[ $peer != nginx ]] && (( ids != requests * BATCH )); then
    problem "$peer" "busyring-load --batch $BATCH: $ids ids for $requests requests"
  fi
  say "  busyring-load -c${CONNECTIONS:-64} --batch $BATCH $peer: $(printf %.0f "$records") records/s"
}

# RATE req/s for FIXED_S over 64 connections: latency percentiles, server CPU per request
# (utime+stime of the server process over the run) and peak RSS so far (VmHWM).
m_fixed() {
  local peer=$1 pid=${PID[$1]} json=$WORK/fixed-$1-r$ROUND.json t0 t1 tck
  local rate requests errors p50 p99 p999 max
  tck=$(getconf CLK_TCK)
  t0=$(cpu_ticks "$pid")
  run_load "$peer" "$json" "$FIXED_S" --rate "$RATE" --hist-out "$WORK/hist-$peer-r$ROUND.txt" ||
    return 0
  t1=$(cpu_ticks "$pid")
  read -r rate requests errors p50 p99 p999 max <<<"$(jget "$json" rate requests errors.total \
    latency_us.p50 latency_us.p99 latency_us.p99_9 latency_us.max)"
  sample fixed_p50_ms "$peer" "$(calc "$p50 / 1000")"
  sample fixed_p99_ms "$peer" "$(calc "$p99 / 1000")"
  sample fixed_p999_ms "$peer" "$(calc "$p999 / 1000")"
  sample fixed_max_ms "$peer" "$(calc "$max / 1000")"
  (( requests > 0 )) && sample cpu_us "$peer" "$(calc "($t1 - $t0) / $tck * 1e6 / $requests")"
  sample hwm_mib "$peer" "$(calc "$(status_kb "$pid" VmHWM) / 1024")"
  (( errors == 0 )) || problem "$peer" "$RATE req/s: $errors errors"
  awk -v r="$rate" -v t="$RATE" 'BEGIN {exit !(r < 0.99 * t)}' &&
    problem "$peer" "$RATE req/s: only $rate req/s answered"
  say "  $RATE req/s $peer: p50 $p50 p99 $p99 p99.9 $p999 max $max us, cpu $((t1 - t0)) ticks"
}

# One probe of the search: 0 when RATE2 is held with p99 < 10 ms, no errors, and at least 97%
# of the scheduled requests answered.
probe() {
  local peer=$1 rate=$2 json=$WORK/probe.json answered errors p99 ok
  run_load "$peer" "$json" "$PROBE_S" --rate "$rate" || return 1
  read -r answered errors p99 <<<"$(jget "$json" requests errors.total latency_us.p99)"
  ok=$(awk -v a="$answered" -v e="$errors" -v p="$p99" -v r="$rate" -v s="$PROBE_S" \
         'BEGIN {print (e == 0 && p < 10000 && a >= 0.97 * r * s) ? 1 : 0}')
  say "    probe $peer $rate req/s: p99 $p99 us, errors $errors -> $([[ $ok == 1 ]] && echo pass || echo fail)"
  [[ $ok == 1 ]]
}

# The highest rate with p99 < 10 ms: from START (0.7x this peer's closed-loop rate, so that
# few probes are spent far from the answer) step up or down by SEARCH_STEP until the answer is
# bracketed, then bisect SEARCH_BISECT times; at most SEARCH_PROBES probes in all.
m_search() {
  local peer=$1 start=$2 lo=0 hi=0 r n=0 i
  r=$(calc "$start" | cut -d. -f1)
  (( r >= 1000 )) || r=20000
  if probe "$peer" "$r"; then lo=$r; else hi=$r; fi
  n=1
  while (( n < SEARCH_PROBES )) && { (( lo == 0 && r > 1000 )) || (( hi == 0 )); }; do
    if (( hi == 0 )); then r=$(calc "$r * $SEARCH_STEP" | cut -d. -f1)
    else r=$(calc "$r / $SEARCH_STEP" | cut -d. -f1); fi
    if probe "$peer" "$r"; then lo=$r; else hi=$r; fi
    n=$((n + 1))
  done
  for ((i = 0; i < SEARCH_BISECT && n < SEARCH_PROBES && lo > 0 && hi > 0; i++)); do
    r=$(( (lo + hi) / 2 ))
    if probe "$peer" "$r"; then lo=$r; else hi=$r; fi
    n=$((n + 1))
  done
  if (( lo > 0 )); then
    sample maxrate_rps "$peer" "$lo"
    (( hi > 0 )) || problem "$peer" "rate search: still passing at $lo req/s after $n probes"
  else
    problem "$peer" "rate search: no probed rate (down to $r req/s) kept p99 < 10 ms"
  fi
  say "  highest rate with p99 < 10 ms $peer: $lo req/s (first failure $hi, $n probes)"
}

# The seed's test: ab -c200 -nAB_N -p data.json -T application/json, with or without -k; the
# time is scaled to 1,000,000 requests. ab's "Length" failures are not failures (ids grow in
# digits, so reply lengths differ); anything else is a problem.
m_ab() {
  local peer=$1 metric=$2 out=$WORK/ab.out secs complete failed length non2xx
  shift 2
  if ! client 600 ab -q "$@" -c200 -n"$AB_N" -p data.json -T application/json "$(url "$peer")" \
       >"$out" 2>&1; then
    problem "$peer" "ab $* failed: $(grep -v '^$' "$out" | tail -1)"; return 0
  fi
  secs=$(awk '/^Time taken for tests/ {print $5}' "$out")
  complete=$(awk '/^Complete requests/ {print $3}' "$out")
  failed=$(awk '/^Failed requests/ {print $3}' "$out")
  length=$(sed -n 's/.*Length: \([0-9]*\),.*/\1/p' "$out")
  non2xx=$(awk '/^Non-2xx responses/ {print $3}' "$out")
  sample "$metric" "$peer" "$(calc "$secs * 1000000 / $AB_N")"
  (( complete == AB_N && failed == ${length:-0} && ${non2xx:-0} == 0 )) ||
    problem "$peer" "ab $*: $complete complete, $failed failed (${length:-0} length), ${non2xx:-0} non-2xx"
  say "  ab ${*:+$* }-c200 -n$AB_N $peer: $secs s"
}

# IDLE_N keep-alive connections, each sends one POST, reads its 201 and then idles:
# (VmRSS with them - VmRSS before) / connections the server holds (counted with ss).
m_idle() {
  local peer=$1 pid=${PID[$1]} out=$WORK/idle.out before after open ready=
  before=$(status_kb "$pid" VmRSS)
  timeout -k 5 150 taskset -c "$LOAD_CPU" python3 perf/idle_conns.py --port "${PORT[$peer]}" \
    -n "$IDLE_N" --hold 120 >"$out" 2>&1 9>&- &
  CLIENT=$!
  for _ in $(seq 1 600); do  # at most 60 s to open them all
    ready=$(awk '$1 == "ready" {print $2, $3}' "$out")
    [[ -n $ready ]] && break
    kill -0 "$CLIENT" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $ready ]]; then
    stop_pid "$CLIENT"; CLIENT=
    problem "$peer" "idle connections: the client did not get ready: $(tail -1 "$out")"; return 0
  fi
  sleep 1  # let the server settle after the last replies
  open=$(ss -Htn state established "( sport = :${PORT[$peer]} )" | wc -l)
  after=$(status_kb "$pid" VmRSS)
  stop_pid "$CLIENT"; CLIENT=
  sleep 0.5  # the server sees the closes before the next measure
  if (( open == 0 )); then problem "$peer" "idle connections: none open"; return 0; fi
  sample idle_b "$peer" "$(calc "($after - $before) * 1024 / $open")"
  (( open >= IDLE_N )) || problem "$peer" "idle connections: only $open of $IDLE_N open (client: $ready)"
  say "  $open idle connections $peer: VmRSS $before -> $after kB"
}

# A server that died during the round is a problem (its later measures are missing).
check_alive() {
  local log=$WORK/$1/stderr
  kill -0 "${PID[$1]}" 2>/dev/null ||
    problem "$1" "the server died during the round: $(tail -1 "$log" 2>/dev/null)"
}

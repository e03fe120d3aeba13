#!/usr/bin/env bash
# The seed's own load test, scaled down for the suite: ab with 200 concurrent clients, a new
# connection per request, then keep-alive. Passes when ab reports no failures other than its
# "Length" notices (ids grow in digits, so response lengths differ) and every request got 201.
set -eu
BIN=${BUSYRING_BIN:-build/release/busyring}
dir=$(mktemp -d)
log=$dir/server.log
"$BIN" --port 0 --threads 2 --data-dir "$dir/data" --segment-size 8M 2>"$log" &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 500); do
  grep -q "listening on" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  read -rt 0.01 <> <(:) || true
done
port=$(grep -o 'listening on [0-9.]*:[0-9]*' "$log" | sed 's/.*://')
[[ -n $port ]] || { cat "$log"; exit 1; }
check() {
  local out=$1 n=$2
  grep -q "Complete requests:      $n" "$out" || { cat "$out"; return 1; }
  local failed length
  failed=$(sed -n 's/^Failed requests: *//p' "$out")
  length=$(sed -n 's/.*Length: \([0-9]*\),.*/\1/p' "$out")
  [[ $failed -eq ${length:-0} ]] || { cat "$out"; return 1; }
  ! grep -q "Non-2xx" "$out" || { cat "$out"; return 1; }
}
ab -q -c200 -n20000 -p data.json -T application/json "http://127.0.0.1:$port/api/usages" >"$dir/ab1" 2>&1
check "$dir/ab1" 20000
ab -q -k -c200 -n20000 -p data.json -T application/json "http://127.0.0.1:$port/api/usages" >"$dir/ab2" 2>&1
check "$dir/ab2" 20000
# The seed's time-boxed form (ab -c200 -t60 -n1000000), 3 s here.
ab -q -c200 -t3 -n1000000 -p data.json -T application/json "http://127.0.0.1:$port/api/usages" >"$dir/ab3" 2>&1
timed=$(sed -n 's/^Complete requests: *//p' "$dir/ab3")
failed=$(sed -n 's/^Failed requests: *//p' "$dir/ab3")
length=$(sed -n 's/.*Length: \([0-9]*\),.*/\1/p' "$dir/ab3")
[[ ${timed:-0} -gt 0 && $failed -eq ${length:-0} ]] || { cat "$dir/ab3"; exit 1; }
! grep -q "Non-2xx" "$dir/ab3" || { cat "$dir/ab3"; exit 1; }
written=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^busyring_records_written_total //p')
# ab stops counting at the deadline with up to -c requests still in flight: those may be stored.
(( written >= 40000 + timed && written <= 40000 + timed + 200 )) ||
  { echo "records written: $written, expected $((40000 + timed)) plus at most 200 in flight"; exit 1; }
kill -TERM $pid
wait $pid
echo "seed ab: 2 x 20000 requests and $timed in 3 s, all 201, $written records written"

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
written=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^busyring_records_written_total //p')
[[ $written -eq 40000 ]] || { echo "records written: $written, expected 40000"; exit 1; }
kill -TERM $pid
wait $pid
echo "seed ab: 2 x 20000 requests, all 201, $written records written"

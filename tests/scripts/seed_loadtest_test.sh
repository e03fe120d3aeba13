#!/usr/bin/env bash
# The seed's npm loadtest command against the real binary: `loadtest -c 10 --rps 200 -P <body>`,
# with -T application/json (the seed's form sends text/plain, which busyring's contract answers
# with 415: see README "The seeds' commands"). Passes when every request got its 201 and the
# records are on disk. loadtest comes from the npm registry into build/npm; exit 77 (skipped)
# when npm or the registry is not there.
set -eu
BIN=${BUSYRING_BIN:-build/release/busyring}
NPM_DIR=build/npm
if [[ ! -x $NPM_DIR/node_modules/.bin/loadtest ]]; then
  command -v npm >/dev/null || { echo "SKIPPED: npm is not installed"; exit 77; }
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && timeout 180 npm install --silent --no-audit --no-fund loadtest@8 >/dev/null 2>&1) ||
    { echo "SKIPPED: npm install loadtest failed (registry unreachable?)"; exit 77; }
fi
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
out=$("$NPM_DIR/node_modules/.bin/loadtest" -c 10 --rps 200 -n 600 -T application/json -P "$(cat data.json)" \
  "http://127.0.0.1:$port/api/usages" 2>&1)
grep -q "Completed requests: *600" <<<"$out" || { echo "$out"; exit 1; }
grep -q "Total errors: *0" <<<"$out" || { echo "$out"; exit 1; }
written=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^busyring_records_written_total //p')
[[ $written -eq 600 ]] || { echo "records written: $written, expected 600"; exit 1; }
kill -TERM $pid
wait $pid
echo "seed loadtest: 600 requests at 200/s over 10 connections, all 201, $written records written"

# Shared by the seed command tests (tests/scripts/seed_*_test.sh; sourced, not run): a real
# busyring on a free port with a temp data dir, and the checks that every request got its 201
# and every record is on disk: the server's own answer counts (/metrics) and the records read
# back from the data dir with busyring-log, not the load tools' exit codes.
BUILD=${BUILD:-build/release}
BIN=${BUSYRING_BIN:-$BUILD/busyring}
LOGTOOL=$(dirname "$BIN")/busyring-log
seed_dir=$(mktemp -d)
seed_pid=
trap '[[ -n $seed_pid ]] && kill -9 $seed_pid 2>/dev/null; rm -rf "$seed_dir"' EXIT
fail() { echo "$(basename "$0" .sh): $*"; exit 1; }

# The seeds' host is `localhost`, which a full Debian resolves from /etc/hosts (::1 or
# 127.0.0.1 first; the default bind serves both). A bare debootstrap root has no /etc/hosts and
# resolves no `localhost` at all: then ab and loadtest could not even start, whatever the
# server, so they are pointed at 127.0.0.1 and the test says so.
seed_host() {
  if getent ahosts localhost >/dev/null 2>&1; then
    echo localhost
  else
    echo "note: localhost does not resolve here (no /etc/hosts entry); using 127.0.0.1" >&2
    echo 127.0.0.1
  fi
}

# start_server [FLAGS...]: default bind (IPv6 and IPv4), port 0; sets $port.
start_server() {
  "$BIN" --port 0 --threads 2 --data-dir "$seed_dir/data" --segment-size 8M "$@" 2>"$seed_dir/server.log" &
  seed_pid=$!
  # A bounded wait for the "listening on HOST:PORT" line (or the server's exit).
  for _ in $(seq 1 1000); do
    grep -q "listening on" "$seed_dir/server.log" && break
    kill -0 $seed_pid 2>/dev/null || { cat "$seed_dir/server.log"; fail "the server exited at start"; }
    read -rt 0.01 <> <(:) || true
  done
  port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$seed_dir/server.log")
  [[ -n $port ]] || { cat "$seed_dir/server.log"; fail "no listening line"; }
}

# answers [STATUS]: POST /api/usages answers counted by the server, with that status or in all.
answers() {
  curl -sf "http://127.0.0.1:$port/metrics" |
    awk -v want="${1:-}" '/^busyring_requests_total\{/ && /route="\/api\/usages"/ {
      if (want == "" || $0 ~ "(status|code)=\"" want "\"") n += $NF } END { print n + 0 }'
}

# stop_server: SIGTERM, exit 0 required (a graceful stop flushes what was acknowledged).
stop_server() {
  kill -TERM $seed_pid
  local rc=0
  wait $seed_pid || rc=$?
  seed_pid=
  [[ $rc -eq 0 ]] || { tail -5 "$seed_dir/server.log"; fail "server exited $rc on SIGTERM"; }
}

# records_on_disk: usage records in the data dir, read back with the server's codec.
records_on_disk() {
  "$LOGTOOL" stats "$seed_dir/data" | sed -n 's/^records *//p'
}

# expect_all_stored N: the server answered exactly N POSTs, all 201, and N records are on disk.
expect_all_stored() {
  local n=$1 all ok
  all=$(answers)
  ok=$(answers 201)
  [[ $all -eq $n && $ok -eq $n ]] || fail "server answered $all POSTs, $ok of them 201; expected $n, all 201"
  stop_server
  local stored
  stored=$(records_on_disk)
  [[ $stored -eq $n ]] || fail "$stored records on disk, expected $n"
}

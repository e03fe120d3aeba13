#!/usr/bin/env bash
# The seed's own ab command, unchanged but scaled down for the suite (issue 14):
#   ab -c200 -t60 -n1000000 -p data.json http://localhost:3000/api/usages
# No -T, so ab sends Content-Type: text/plain, and `localhost` may be ::1 or 127.0.0.1: both
# must get 201. Passes when the server answered every request 201 (its /metrics, by status)
# and every record is on disk (busyring-log stats). ab's "Failed requests" may only be of kind
# Length (ids grow in digits, so the body length changes, which ab counts as a failure); its
# Connect, Receive and Exceptions counts must be 0 and it must see no non-2xx answer.
set -eu
source "$(dirname "$0")/seed_lib.sh"
command -v ab >/dev/null || fail "ab is missing: \`make test\` installs it (Debian package apache2-utils)"

# check_ab OUT: no failure but Length, no non-2xx answer; prints the completed count.
check_ab() {
  local out=$1
  grep -q "^Non-2xx responses" "$out" && { cat "$out"; fail "ab saw non-2xx answers"; }
  grep -Eq "^Failed requests: +0$|\(Connect: 0, Receive: 0, Length: [0-9]+, Exceptions: 0\)" "$out" ||
    { cat "$out"; fail "ab failures other than Length"; }
  sed -n 's/^Complete requests: *//p' "$out"
}

start_server
host=$(seed_host)
url="http://$host:$port/api/usages"
# The seed's form with -n: every request completes.
ab -c200 -n20000 -p data.json "$url" >"$seed_dir/ab1" 2>&1 || { cat "$seed_dir/ab1"; fail "ab failed"; }
done1=$(check_ab "$seed_dir/ab1")
[[ $done1 -eq 20000 ]] || fail "ab completed $done1 of 20000"
[[ $(answers 201) -eq 20000 && $(answers) -eq 20000 ]] || fail "server: $(answers 201) of $(answers) POSTs got 201"
# The seed's time-boxed form (-t60), 3 s here: ab stops at the deadline with up to -c requests
# in flight, which the server may still answer (and store) after ab stopped counting.
ab -c200 -t3 -n1000000 -p data.json "$url" >"$seed_dir/ab2" 2>&1 || { cat "$seed_dir/ab2"; fail "ab -t failed"; }
done2=$(check_ab "$seed_dir/ab2")
[[ $done2 -gt 0 ]] || fail "ab -t3 completed nothing"
total=$(answers)
(( total >= 20000 + done2 && total <= 20000 + done2 + 200 )) ||
  fail "server answered $total POSTs; ab completed $((20000 + done2)) (plus at most 200 in flight)"
expect_all_stored "$total"
echo "seed ab: 20000 requests, then $done2 in 3 s (ab -t), text/plain via $host; all $total answered 201 and on disk"

#!/usr/bin/env bash
# What a newcomer types first (issue 14), unchanged: curl -d @data.json localhost:3000/api/usages
# curl -d posts application/x-www-form-urlencoded; busyring stores the usage all the same and
# answers 201 {"id":N}. Passes when curl printed the id, the request it sent was a form (seen in
# its own trace) and the server answered 201 with the record on disk.
set -eu
source "$(dirname "$0")/seed_lib.sh"
command -v curl >/dev/null || fail "curl is missing: \`make test\` installs it"

start_server
reply=$(curl -d @data.json localhost:$port/api/usages 2>"$seed_dir/curl.err") || { cat "$seed_dir/curl.err"; fail "curl failed"; }
[[ $reply =~ ^\{\"id\":[0-9]+\}$ ]] || fail "curl printed '$reply', expected {\"id\":N}"
# The same command with its trace: the type it declared, and the status it got.
curl -sv -o /dev/null -d @data.json localhost:$port/api/usages 2>"$seed_dir/trace" || { cat "$seed_dir/trace"; fail "curl -v failed"; }
grep -q "^> Content-Type: application/x-www-form-urlencoded" "$seed_dir/trace" ||
  { cat "$seed_dir/trace"; fail "curl -d did not send a form"; }
grep -q "^< HTTP/1.1 201" "$seed_dir/trace" || { cat "$seed_dir/trace"; fail "curl -d did not get 201"; }
expect_all_stored 2
echo "seed curl: curl -d @data.json (a form) got $reply; both requests 201 and on disk"

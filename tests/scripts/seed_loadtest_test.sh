#!/usr/bin/env bash
# The seed's npm loadtest command, unchanged but for -n (the seed runs until stopped):
#   loadtest -c 10 --rps 200 -P '<the usage>' http://localhost:3000/api/usages
# loadtest posts -P as text/plain, which busyring stores (the body decides, issue 14). loadtest
# comes from the npm registry into build/npm (pinned; never installed globally); npm itself is
# a Debian package that `make test` installs, so a missing npm is a failure, not a skip (only a
# registry out of reach is a skip, with npm's reason).
# Passes when loadtest saw no error, the server answered all 600 with 201 and 600 records are
# on disk.
set -eu
source "$(dirname "$0")/seed_lib.sh"
LOADTEST_VERSION=8.2.1
NPM_DIR=build/npm
loadtest=$NPM_DIR/node_modules/.bin/loadtest
if [[ ! -x $loadtest ]] || ! grep -q "\"version\": \"$LOADTEST_VERSION\"" "$NPM_DIR/node_modules/loadtest/package.json"; then
  command -v npm >/dev/null || fail "npm is missing: \`make test\` installs it (Debian package npm)"
  mkdir -p "$NPM_DIR"
  if ! timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
       "loadtest@$LOADTEST_VERSION" >"$seed_dir/npm.log" 2>&1; then
    cat "$seed_dir/npm.log"
    # The registry out of reach is not something `make test` can install: said as a skip, with
    # npm's reason (no route or name, or TLS broken by a proxy whose CA this system lacks).
    # Any other failure (a missing version, a full disk) fails the test.
    code=$(sed -n 's/^npm ERR! code //p' "$seed_dir/npm.log" | head -1)
    case $code in
      ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT|\
      SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|\
      DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED)
        echo "SKIPPED: seed loadtest: the npm registry is out of reach from here ($code), so loadtest@$LOADTEST_VERSION cannot be installed"
        exit 77 ;;
    esac
    fail "npm install loadtest@$LOADTEST_VERSION failed${code:+ ($code)}"
  fi
fi

start_server
host=$(seed_host)
out=$("$loadtest" -c 10 --rps 200 -n 600 \
  -P '{"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)","medication":"Albuterol"}' \
  "http://$host:$port/api/usages" 2>&1) || { echo "$out"; fail "loadtest failed"; }
grep -Eq "Completed requests: +600$" <<<"$out" || { echo "$out"; fail "loadtest did not complete 600 requests"; }
grep -Eq "Total errors: +0$" <<<"$out" || { echo "$out"; fail "loadtest saw errors"; }
expect_all_stored 600
echo "seed loadtest: 600 requests at 200/s over 10 clients, text/plain via $host; all 201 and on disk"

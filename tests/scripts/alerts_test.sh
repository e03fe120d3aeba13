#!/usr/bin/env bash
# contrib/prometheus/alerts.yml: `promtool check rules` finds nothing to say; `promtool test rules`
# passes alerts_test.yml; every alert has a test case where it fires and one where it stays
# quiet; and its runbook_url names a section of docs/runbook.md that exists.
set -eu
fail() { echo "alerts test: $*"; exit 1; }
command -v promtool >/dev/null || fail "promtool is missing (apt-get install prometheus)"
rules=contrib/prometheus/alerts.yml
tests=contrib/prometheus/alerts_test.yml
runbook=docs/runbook.md

out=$(promtool check rules "$rules" 2>&1) || fail "check rules: $out"
grep -q "SUCCESS" <<<"$out" || fail "check rules: $out"
! grep -qi "warn" <<<"$out" || fail "check rules warns: $out"
out=$(cd "$(dirname "$tests")" && promtool test rules "$(basename "$tests")" 2>&1) || fail "test rules: $out"

alerts=$(sed -n 's/^ *- alert: *//p' "$rules")
[[ -n $alerts ]] || fail "no alert in $rules"
# For each alertname of the tests: does a case expect it firing (a list follows "exp_alerts:")
# and one quiet ("exp_alerts: []")?
cases=$(awk '/alertname:/ { name = $2 } /exp_alerts: \[\]/ { print name " quiet" } /exp_alerts: *$/ { print name " fires" }' "$tests")
# GitHub's heading anchors: lower case, spaces to dashes.
anchors=$(sed -n 's/^## //p' "$runbook" | tr 'A-Z ' 'a-z-')
count=0
for a in $alerts; do
  grep -qx "$a fires" <<<"$cases" || fail "$a: no test case where it fires"
  grep -qx "$a quiet" <<<"$cases" || fail "$a: no test case where it stays quiet"
  anchor=$(awk -v a="$a" '$0 ~ "- alert: " a "$" { found = 1 } found && /runbook_url:/ { print; exit }' "$rules" |
           sed 's/.*runbook.md#\([^"]*\)".*/\1/')
  [[ -n $anchor ]] || fail "$a: no runbook_url"
  grep -qx "$anchor" <<<"$anchors" || fail "$a: runbook_url #$anchor is no section of $runbook"
  count=$((count + 1))
done
echo "alerts.yml: $count alerts, each fires and stays quiet in promtool test rules, each with its runbook section"

#!/usr/bin/env bash
# The compaction units (issue 17 §6) as `make install` ships them: busyring-compact.service and
# .timer installed under PREFIX with busyring-log's installed path, `systemd-analyze verify`
# without a single diagnostic (ExecStart pointed at the binary `make test` built, as the
# server's unit test does), the lowest CPU and I/O priority, and an offline
# `systemd-analyze security` exposure of at most 1.0 (0.4 when this test was written).
set -eu
# Hermetic: no -j, jobserver or variable overrides inherited from the `make test` around us.
unset MAKEFLAGS MFLAGS MAKELEVEL
BUILD=${BUILD:-build/release}
fail() { echo "compact unit test: $*"; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (apt-get install systemd)"
bin=$(realpath "$BUILD/busyring-log")
[[ -x $bin ]] || fail "$bin is missing (run make first)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

make --no-print-directory -s install DESTDIR="$dir/root" PREFIX=/opt/br MODE="${BUILD#build/}" >"$dir/make.log" 2>&1 ||
  { cat "$dir/make.log"; fail "make install failed"; }
units=$dir/root/opt/br/lib/systemd/system
for f in busyring-compact.service busyring-compact.timer; do
  [[ -f $units/$f ]] || fail "$f not installed"
  [[ $(stat -c %a "$units/$f") == 644 ]] || fail "$f: mode $(stat -c %a "$units/$f")"
done
unit=$units/busyring-compact.service
grep -q '^ExecStart=/opt/br/bin/busyring-log compact ' "$unit" || fail "ExecStart is not the installed busyring-log"
! grep -q /usr/local/ "$unit" || fail "$unit still names /usr/local/"
for line in "Nice=19" "IOSchedulingClass=idle" "User=busyring" "ProtectSystem=strict" "PrivateNetwork=yes"; do
  grep -qx "$line" "$unit" || fail "no $line"
done

sed "s|^ExecStart=/opt/br/bin/busyring-log |ExecStart=$bin |" "$unit" >"$dir/busyring-compact.service"
cp "$units/busyring-compact.timer" "$dir/"
out=$(cd "$dir" && systemd-analyze verify --man=no --generators=no ./busyring-compact.service ./busyring-compact.timer 2>&1) ||
  fail "verify failed: $out"
[[ -z $out ]] || fail "verify has something to say: $out"
report=$(cd "$dir" && systemd-analyze security --offline=true ./busyring-compact.service 2>&1) || fail "security: $report"
score=$(grep -o 'Overall exposure level for busyring-compact.service: [0-9.]*' <<<"$report" | awk '{print $NF}')
[[ -n $score ]] || fail "no exposure level in: $report"
awk -v s="$score" 'BEGIN { exit !(s <= 1.0) }' || fail "exposure level $score is above 1.0"
echo "busyring-compact.service and .timer: installed under PREFIX, verify clean, Nice=19 idle I/O, exposure $score"

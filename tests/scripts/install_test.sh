#!/usr/bin/env bash
# `make install` into a staging DESTDIR, twice (PREFIX=/usr/local by default, then PREFIX=/usr):
# the three binaries land in PREFIX/bin, executable, and run (--help); the systemd unit lands in
# PREFIX/lib/systemd/system with ExecStart pointing at PREFIX/bin. It copies what `make test`
# just built in $BUILD and never builds: a missing binary is a failure, not a rebuild.
set -eu
# Hermetic: no -j, jobserver or variable overrides inherited from the `make test` around us.
unset MAKEFLAGS MFLAGS MAKELEVEL
BUILD=${BUILD:-build/release}
mode=${BUILD#build/}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install test: $*"; exit 1; }

check_install() {
  local prefix=$1 root=$dest/$2
  make --no-print-directory -s install MODE="$mode" DESTDIR="$root" ${prefix:+PREFIX=$prefix} \
    >"$dest/make.log" 2>&1 || { cat "$dest/make.log"; fail "make install failed"; }
  prefix=${prefix:-/usr/local}
  for b in busyring busyring-log busyring-load; do
    local f=$root$prefix/bin/$b
    [[ -f $f && -x $f ]] || fail "$f missing or not executable"
    cmp -s "$f" "$BUILD/$b" || fail "$f differs from $BUILD/$b"
  done
  "$root$prefix/bin/busyring" --help | grep -q -- "--data-dir" || fail "installed busyring --help"
  local unit=$root$prefix/lib/systemd/system/busyring.service
  [[ -f $unit && -r $unit ]] || fail "$unit missing"
  [[ ! -x $unit ]] || fail "$unit is executable"
  grep -q "^ExecStart=$prefix/bin/busyring " "$unit" || fail "$unit: ExecStart not under $prefix/bin"
  grep -q "^LimitMEMLOCK=infinity" "$unit" || fail "$unit: no LimitMEMLOCK"
  # Nothing outside DESTDIR/PREFIX.
  local stray
  stray=$(cd "$root" && find . -type f | grep -v "^\.$prefix/" || true)
  [[ -z $stray ]] || fail "files outside $prefix: $stray"
}

check_install "" default
check_install /usr usr
echo "make install: 3 binaries and busyring.service under PREFIX=/usr/local and PREFIX=/usr"

#!/usr/bin/env bash
# `make install` into a staging DESTDIR, twice (PREFIX=/usr/local by default, then PREFIX=/usr):
# the three binaries land in PREFIX/bin, executable, and run (--help); the systemd units land in
# PREFIX/lib/systemd/system with ExecStart pointing at PREFIX/bin; the export chain (load.sh,
# schema.sql, setup.sql) in PREFIX/share/busyring/postgres and the example environment files in
# PREFIX/share/busyring/examples, every path in them under PREFIX and present. It copies what
# `make test` just built in $BUILD and never builds: a missing binary is a failure, not a rebuild.
# export_chain_test.sh runs what is installed.
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
  check_export_chain "$prefix" "$root"
  # Nothing outside DESTDIR/PREFIX.
  local stray
  stray=$(cd "$root" && find . -type f | grep -v "^\.$prefix/" || true)
  [[ -z $stray ]] || fail "files outside $prefix: $stray"
}

# The export chain's files: modes, contents (the source with /usr/local/ made PREFIX/), and every
# PREFIX path the export unit names installed.
check_export_chain() {
  local prefix=$1 root=$2 f src mode
  for f in lib/systemd/system/busyring-export.service:contrib/systemd/busyring-export.service:644 \
           lib/systemd/system/busyring-export.timer:contrib/systemd/busyring-export.timer:644 \
           share/busyring/postgres/load.sh:contrib/postgres/load.sh:755 \
           share/busyring/postgres/schema.sql:contrib/postgres/schema.sql:644 \
           share/busyring/postgres/setup.sql:contrib/postgres/setup.sql:644 \
           share/busyring/examples/busyring.default:contrib/systemd/busyring.default:644 \
           share/busyring/examples/busyring-export.default:contrib/systemd/busyring-export.default:644; do
    IFS=: read -r f src mode <<<"$f"
    f=$root$prefix/$f
    [[ -f $f ]] || fail "$f missing"
    [[ $(stat -c %a "$f") == "$mode" ]] || fail "$f: mode $(stat -c %a "$f"), not $mode"
    sed "s|/usr/local/|$prefix/|g" "$src" | cmp -s - "$f" || fail "$f is not $src with its paths under $prefix"
    [[ $prefix == /usr/local ]] || ! grep -q /usr/local/ "$f" || fail "$f still names /usr/local/"
  done
  local unit=$root$prefix/lib/systemd/system/busyring-export.service path
  for path in $(grep -o "$prefix/[^ ]*" "$unit" | sort -u); do
    [[ -e $root$path ]] || fail "$unit names $path, which make install did not install"
  done
  grep -q "^ExecStart=$prefix/share/busyring/postgres/load.sh " "$unit" || fail "$unit: ExecStart is not the installed load.sh"
  grep -q "^Environment=BUSYRING_LOG=$prefix/bin/busyring-log$" "$unit" || fail "$unit: BUSYRING_LOG not under $prefix/bin"
}

check_install "" default
check_install /usr usr
echo "make install: 3 binaries, 3 units, the export chain and examples under PREFIX=/usr/local and PREFIX=/usr"

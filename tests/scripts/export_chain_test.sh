#!/usr/bin/env bash
# Issue 17 §5: the export chain as an operator installs it, with no systemd running.
#   1. `make install DESTDIR=stage` (PREFIX=/usr/local, as the README does), then, in a private
#      mount namespace, stage/usr/local overlaid on /usr/local: every installed path is where
#      the units name it, and nothing on this machine changes.
#   2. `systemd-analyze verify` of the installed units (warnings count as failures) and
#      `systemd-analyze security --offline` of the export unit: exposure at most 2.5.
#   3. One data dir everywhere: the server unit's --data-dir, the export unit's and the example
#      environment file's BUSYRING_DATA_DIR.
#   4. A throwaway PostgreSQL (peer authentication on its unix socket) made ready by the installed
#      setup.sql (run twice: the second run changes nothing), for a throwaway system user: its
#      role holds exactly the privileges load.sh needs.
#   5. The installed busyring, run as that user, takes POSTs; the export unit's ExecStart runs as
#      the unit would: that user, the unit's Environment= then the environment file (a copy of
#      the installed example with the admin's edits), the unit's UMask, no new privileges, the
#      data dir mounted read-only, under strace: every system call in the unit's
#      SystemCallFilter, every socket in its RestrictAddressFamilies, no W+X memory
#      (MemoryDenyWriteExecute), no /proc file but the processes' own (ProcSubset=pid), every
#      file written under the checkpoint's dir.
#   6. Every acknowledged id in the table once, the checkpoint committed, a second run loads
#      nothing; more POSTs, their rows only; the server stopped, a last run loads nothing.
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL  # hermetic: no -j or overrides from the `make test` around us
BUILD=${BUILD:-build/release}
PG_BIN=/usr/lib/postgresql/15/bin
fail() { echo "export chain test: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "needs root (a throwaway system user, a private mount namespace)"
for tool in systemd-analyze:systemd strace:strace unshare:util-linux setpriv:util-linux \
            useradd:passwd curl:curl "$PG_BIN/initdb:postgresql-15"; do
  command -v "${tool%:*}" >/dev/null || fail "${tool%:*} is missing (Debian package ${tool#*:})"
done
getent passwd postgres >/dev/null || fail "no user postgres (Debian package postgresql)"

# Everything below in a private mount namespace: the overlay and the read-only data dir vanish
# with it.
if [[ -z ${EXPORT_CHAIN_NS:-} ]]; then
  exec env EXPORT_CHAIN_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi

work=$(mktemp -d /tmp/busyring-export-chain.XXXXXX)
chmod 0755 "$work"  # postgres and the throwaway user reach their dirs inside
user=busyring-t$$   # the role has this name too: peer authentication maps one to the other
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || { kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; } || true
  [[ ! -f $work/pg/data/postmaster.pid ]] ||
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  ! getent passwd "$user" >/dev/null || userdel "$user" || true
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

# 1. Install, then see it where it was installed.
stage=$work/stage
make --no-print-directory -s install MODE="${BUILD#build/}" DESTDIR="$stage" >"$work/make.log" 2>&1 ||
  { cat "$work/make.log"; fail "make install failed"; }
mount -t overlay overlay -o "lowerdir=$stage/usr/local:/usr/local" /usr/local
units=/usr/local/lib/systemd/system
export_unit=$units/busyring-export.service
example=/usr/local/share/busyring/examples/busyring-export.default
[[ -f $export_unit && -f $units/busyring-export.timer && -f $example ]] || fail "export unit, timer or example not installed"

# 2. The units as systemd reads them; the export unit's exposure.
out=$(systemd-analyze verify --man=no --generators=no "$units/busyring.service" "$export_unit" \
      "$units/busyring-export.timer" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify warns: $out"
security=$(systemd-analyze security --offline=yes --threshold=25 "$export_unit" 2>&1) ||
  fail "export unit exposure over 2.5: $(grep -E '✗|Overall' <<<"$security")"
exposure=$(sed -n 's/.*Overall exposure level for busyring-export.service: \([0-9.]*\) .*/\1/p' <<<"$security")
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.5) }' || fail "security: $security"

# 3. One data dir everywhere.
unit_value() { sed -n "s/^$2=//p" "$1"; }
server_dir=$(unit_value "$units/busyring.service" ExecStart | sed -n 's/.*--data-dir \([^ ]*\).*/\1/p')
unit_dir=$(unit_value "$export_unit" Environment | sed -n 's/^BUSYRING_DATA_DIR=//p')
example_dir=$(sed -n 's/^BUSYRING_DATA_DIR=//p' "$example")
[[ -n $server_dir && $server_dir == "$unit_dir" && $unit_dir == "$example_dir" ]] ||
  fail "data dirs disagree: server $server_dir, export unit $unit_dir, example $example_dir"

# 4. PostgreSQL, the user, the role.
pg=$work/pg
mkdir "$pg" && chown postgres: "$pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$pg/data" -U postgres -E UTF8 --no-locale --no-sync \
  --auth-local=peer --auth-host=reject >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log"; fail initdb; }
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pg/data" -l "$pg/log" -w -t 30 \
  -o "-k $pg -p 5432 -c listen_addresses='' -c fsync=off" start >/dev/null || { cat "$pg/log"; fail "pg_ctl start"; }
export PGHOST=$pg PGPORT=5432
su_psql() { runuser -u postgres -- "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
! getent passwd "$user" >/dev/null || userdel "$user"  # left by a run killed before its cleanup
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
setup=/usr/local/share/busyring/postgres/setup.sql
su_psql -f "$setup" -v role="$user" >/dev/null || fail "setup.sql failed"

# The role's privileges (and PUBLIC's) on the database's objects, one per line.
privileges="SELECT coalesce(r.rolname, 'PUBLIC') || ' ' || x.what || ' ' || x.priv FROM (
    SELECT 'database ' || datname, (aclexplode(datacl)).* FROM pg_database WHERE datname = current_database()
    UNION ALL SELECT 'schema ' || nspname, (aclexplode(nspacl)).* FROM pg_namespace WHERE nspname = 'public'
    UNION ALL SELECT 'table ' || relname, (aclexplode(relacl)).* FROM pg_class WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT 'column ' || attrelid::regclass || '.' || attname, (aclexplode(attacl)).* FROM pg_attribute
      WHERE attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
    UNION ALL SELECT 'function ' || proname, (aclexplode(proacl)).* FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  ) AS x(what, grantor, grantee, priv, grantable) LEFT JOIN pg_roles r ON r.oid = x.grantee
  WHERE x.grantee = 0 OR r.rolname = '$user' ORDER BY 1"
role_attrs="SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
  FROM pg_roles WHERE rolname = '$user'"
snapshot() {
  su_psql -d busyring -c "$privileges" -c "$role_attrs" -c "SELECT pg_encoding_to_char(encoding) FROM pg_database
    WHERE datname = 'busyring'" && runuser -u postgres -- "$PG_BIN/pg_dump" --schema-only busyring |
    grep -v -E '^\\(un)?restrict '  # a random key per dump (pg_dump 15.14 on)
}
snapshot >"$work/setup.1" || fail "reading the privileges"
expected="PUBLIC schema public USAGE
$user column usages.id SELECT
$user column usages_unloadable_body.id SELECT
$user database busyring CONNECT
$user database busyring TEMPORARY
$user function busyring_merge_staging EXECUTE
$user schema public USAGE
$user table usages INSERT
$user table usages_unloadable_body INSERT
t|f|f|f|f|f
UTF8"
[[ $(sed '/^--/,$d' "$work/setup.1") == "$expected" ]] || fail "privileges after setup.sql:
$(sed '/^--/,$d' "$work/setup.1")
expected:
$expected"

# 5. The server as the unit's user. One shard: its registered buffers fit the 8 MiB
# RLIMIT_MEMLOCK of a user here (the server unit raises it: LimitMEMLOCK=infinity).
data=$work/data
install -d -o "$user" -g "$user" -m 0750 "$data"
setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs /usr/local/bin/busyring --port 0 \
  --bind 127.0.0.1 --threads 1 --data-dir "$data" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 1000); do
  grep -q "listening on" "$work/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; fail "busyring did not start"; }
  read -rt 0.01 <> <(:) || true
done
port=$(grep -o 'listening on [0-9.]*:[0-9]*' "$work/server.log" | sed 's/.*://')
[[ -n $port ]] || { cat "$work/server.log"; fail "busyring did not listen"; }

acked=()
post_records() {  # $1 tag, $2 count; one body jsonb cannot hold ("\u0000") per call
  local i body reply nul
  for ((i = 0; i < $2; i++)); do
    nul=""
    if [[ $i == 3 ]]; then nul=' \u0000'; fi
    body="{\"patientId\":\"p-$1$i\",\"timestamp\":\"Tue Nov 01 2016 09:11:51 GMT-0500 #$i\","
    body+="\"medication\":\"Albuterol, \\\"HFA\\\" caf\u00e9$nul\",\"dose\":[1,2.5]}"
    reply=$(curl -sS -w ' %{http_code}' -H 'Content-Type: application/json' --data-binary "$body" \
      "http://127.0.0.1:$port/api/usages") || fail "POST failed"
    [[ $reply =~ ^\{\"id\":([0-9]+)\}\ 201$ ]] || fail "POST answered $reply"
    acked+=("${BASH_REMATCH[1]}")
  done
}

# The export unit's ExecStart, run as the unit runs it (see the head of this file).
envfile=$work/busyring-export  # the admin's /etc/default/busyring-export
checkpoint_dir=$work/state     # StateDirectory=busyring-export (0700, the unit's user)
install -d -o "$user" -g "$user" -m 0700 "$checkpoint_dir"
{ cat "$example"; printf '%s\n' "BUSYRING_DATA_DIR=$data" "PGHOST=$pg" "PGPORT=5432" \
    "BUSYRING_CHECKPOINT=$checkpoint_dir/checkpoint" "BUSYRING_SETTLE=0"; } >"$envfile"
grep -qx "EnvironmentFile=-/etc/default/busyring-export" "$export_unit" || fail "unit reads no environment file"
declare -A env_of
while IFS= read -r kv; do env_of[${kv%%=*}]=${kv#*=}; done < <(unit_value "$export_unit" Environment
  grep -E '^[A-Z_]+=' "$envfile")
unit_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/nonexistent USER="$user" LOGNAME="$user")
for k in "${!env_of[@]}"; do unit_env+=("$k=${env_of[$k]}"); done
exec_argv=()
for w in $(unit_value "$export_unit" ExecStart); do  # systemd's $NAME: the value split on spaces
  if [[ $w == \$* ]]; then read -ra words <<<"${env_of[${w#\$}]}"; exec_argv+=("${words[@]}"); else exec_argv+=("$w"); fi
done
[[ ${exec_argv[0]} == /usr/local/share/busyring/postgres/load.sh && -x ${exec_argv[0]} ]] ||
  fail "ExecStart ${exec_argv[*]}: not the installed load.sh"
umask_value=$(unit_value "$export_unit" UMask)

# Under strace (a ptrace), LeakSanitizer cannot run and aborts the process: an ASan build
# (make test MODE=asan) installs tools that must run here without leak checking.
asan_env=()
[[ $BUILD == */asan ]] && asan_env=(ASAN_OPTIONS=detect_leaks=0)

run_unit() {  # $1: a name for its files; stdout in $work/$1.out
  local rc=0
  (umask "$umask_value" && exec unshare --mount sh -c 'mount --bind -o ro "$1" "$1" && shift && exec "$@"' sh "$data" \
    strace -f -qq -s 256 -o "$work/$1.trace" \
    setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs env -i "${unit_env[@]}" \
    "${asan_env[@]}" "${exec_argv[@]}") \
    >"$work/$1.out" 2>"$work/$1.err" </dev/null || rc=$?
  [[ $rc -eq 0 ]] || fail "$1: load.sh exit $rc: $(cat "$work/$1.err")"
  check_sandbox "$1"
}

allowed_calls=$work/allowed-calls
all_groups=$(systemd-analyze syscall-filter 2>/dev/null)
expand_calls() {  # @group or name... -> system call names, one per line
  local g
  for g in "$@"; do
    if [[ $g == @* ]]; then
      expand_calls $(awk -v g="$g" '/^@/ {on = ($1 == g); next} on && /^ +[a-z0-9_@]/ {print $1}' <<<"$all_groups")
    else echo "$g"; fi
  done
}
allow_list=$(unit_value "$export_unit" SystemCallFilter | grep -v '^~' | tr '\n' ' ')
deny_list=$(unit_value "$export_unit" SystemCallFilter | sed -n 's/^~//p' | tr '\n' ' ')
[[ -n $allow_list && -n $deny_list ]] || fail "no SystemCallFilter allow and deny lists"
comm -23 <(expand_calls $allow_list | sort -u) <(expand_calls $deny_list | sort -u) >"$allowed_calls"
[[ $(wc -l <"$allowed_calls") -gt 100 ]] || fail "system call groups did not expand"
families=" $(unit_value "$export_unit" RestrictAddressFamilies) "

check_sandbox() {  # $1: the run; its trace from the execve of load.sh on
  local t=$work/$1.trace.unit
  sed -n "\|execve(\"${exec_argv[0]}\"|,\$p" "$work/$1.trace" >"$t"
  [[ -s $t ]] || fail "$1: no execve of load.sh in the trace"
  local denied
  denied=$(sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$t" | sort -u | comm -23 - "$allowed_calls")
  [[ -z $denied ]] || fail "$1: system calls the unit's SystemCallFilter denies: $denied"
  local f
  for f in $(grep -o 'socket(AF_[A-Z0-9]*' "$t" | sed 's/socket(//' | sort -u); do
    [[ $families == *" $f "* ]] || fail "$1: a socket of family $f, outside RestrictAddressFamilies"
  done
  ! grep -E 'mmap\(.*PROT_WRITE\|PROT_EXEC|mprotect\(.*PROT_EXEC' "$t" ||
    fail "$1: W+X memory, which MemoryDenyWriteExecute refuses"
  local written
  written=$(grep -E '^[0-9]+ +((open|openat|creat)\(.*O_(WRONLY|RDWR|CREAT)|(rename|renameat2?|unlink|unlinkat|mkdir|mkdirat|link|linkat|symlink|symlinkat)\()' "$t" |
    grep -o '"/[^"]*"' | tr -d '"' | grep -v -e "^$checkpoint_dir/" -e '^/dev/null$' -e '^/dev/tty$' -e '^/tmp/' || true)
  [[ -z $written ]] || fail "$1: writes outside the unit's writable dir: $written"
  local proc
  proc=$(grep -o '"/proc/[^"/]*' "$t" | tr -d '"' | grep -v -E '^/proc/(self|thread-self|[0-9]+)$' || true)
  [[ -z $proc ]] || fail "$1: reads /proc beyond the processes' own, which ProcSubset=pid hides: $proc"
}

table_ids() { su_psql -d busyring -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM usages"; }
acked_ids() { printf '%s\n' "${acked[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//'; }
check_table() {
  [[ $(table_ids) == "$(acked_ids)" ]] || fail "$1: usages holds $(table_ids), acknowledged $(acked_ids)"
  [[ -s $checkpoint_dir/checkpoint && ! -e $checkpoint_dir/checkpoint.next ]] || fail "$1: checkpoint not committed"
}

# 6. Loads while the server runs, then after it stopped.
post_records a 40
run_unit first
[[ $(cat "$work/first.out") == "load.sh: 40 new rows in usages" ]] || fail "first load: $(cat "$work/first.out")"
check_table "first load"
[[ $(stat -c %U:%a "$checkpoint_dir/checkpoint") == "$user:600" ]] || fail "checkpoint not 0600 for $user"
[[ $(su_psql -d busyring -c "SELECT count(*) FROM usages_unloadable_body") == 1 ]] || fail "the \\u0000 body not set aside"

su_psql -f "$setup" -v role="$user" >/dev/null || fail "setup.sql failed the second time"
snapshot >"$work/setup.2"
cmp -s "$work/setup.1" "$work/setup.2" || fail "setup.sql run again changed: $(diff "$work/setup.1" "$work/setup.2")"

run_unit again
[[ $(cat "$work/again.out") == "load.sh: 0 new rows in usages" ]] || fail "second load: $(cat "$work/again.out")"
check_table "second load"

post_records b 25
run_unit more
[[ $(cat "$work/more.out") == "load.sh: 25 new rows in usages" ]] || fail "load after more POSTs: $(cat "$work/more.out")"
check_table "load after more POSTs"

kill -TERM "$server_pid"
rc=0; wait "$server_pid" || rc=$?
server_pid=""
[[ $rc -eq 0 ]] || { cat "$work/server.log"; fail "busyring exit $rc on SIGTERM"; }
run_unit last
[[ $(cat "$work/last.out") == "load.sh: 0 new rows in usages" ]] || fail "load after stop: $(cat "$work/last.out")"
check_table "load after stop"
echo "export chain: installed units verified (export unit exposure $exposure), 65 records loaded once by the installed load.sh as $user"

#!/usr/bin/env bash
# Loads what busyring wrote since the last run into PostgreSQL, each record exactly once; run
# by busyring-export.timer (contrib/systemd), or by hand:
#
#   BUSYRING_CHECKPOINT=/var/lib/busyring-export/checkpoint PGDATABASE=busyring \
#     contrib/postgres/load.sh /var/lib/busyring/data
#
# One run:
#   1. busyring-log export DATA_DIR... --format csv --since-checkpoint CHECKPOINT: the records
#      the checkpoint does not cover (per segment file, a byte offset: not an id, since reissued
#      holes put low ids after higher ones), on stdout; the advanced checkpoint goes to
#      CHECKPOINT.next (fsynced), CHECKPOINT itself is untouched;
#   2. psql, in one transaction: COPY them into a temporary staging table, then
#      busyring_merge_staging() inserts them into usages with ON CONFLICT (id) DO NOTHING;
#   3. only when both succeeded: busyring-log checkpoint commit CHECKPOINT (renames .next over it).
# A crash or failure anywhere before 3 leaves the checkpoint where it was, so the next run
# exports the same records again and the primary key drops the ones already loaded: every
# record lands in the table once. A checkpoint that does not match the log, or a damaged log,
# stops the run (exit 1, one line from busyring-log) with nothing loaded.
#
# Environment:
#   BUSYRING_CHECKPOINT  checkpoint file (default /var/lib/busyring-export/checkpoint); its
#                        directory must exist and be writable
#   BUSYRING_LOG         the busyring-log binary (default: busyring-log on PATH)
#   BUSYRING_SETTLE      seconds a record must have aged before it is exported (default 10:
#                        writes still in flight in the server settle first)
#   PSQL                 the psql binary (default: psql on PATH)
#   PGHOST PGPORT PGDATABASE PGUSER PGPASSFILE ...  where to load (libpq's variables); the
#                        database holds contrib/postgres/schema.sql
# Exit status: 0 loaded (possibly nothing new), 1 failed (nothing committed), 2 bad usage,
# 75 another run holds the lock.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi

checkpoint=${BUSYRING_CHECKPOINT:-/var/lib/busyring-export/checkpoint}
log_tool=${BUSYRING_LOG:-busyring-log}
settle=${BUSYRING_SETTLE:-10}
psql=${PSQL:-psql}

# One run at a time: a second one would export the same records (harmless) and race the commit.
exec 9>>"$checkpoint.lock"
if ! flock -n 9; then
  echo "load.sh: another load holds $checkpoint.lock; not running" >&2
  exit 75
fi

# The staging table has the columns of usages with body as text, so a body jsonb refuses is
# handled row by row (see schema.sql) instead of failing the COPY.
staging="CREATE TEMP TABLE usages_staging (id bigint, shard int, arrival_ns bigint, patient_id text,
  timestamp text, medication text, body text) ON COMMIT DROP"

if ! added=$("$log_tool" export "$@" --format csv --since-checkpoint "$checkpoint" --settle "$settle" |
  "$psql" -X -q -A -t -v ON_ERROR_STOP=1 --single-transaction \
    -c "$staging" \
    -c '\copy usages_staging FROM pstdin WITH (FORMAT csv, HEADER, ENCODING '"'UTF8'"')' \
    -c 'SELECT busyring_merge_staging()'); then
  echo "load.sh: export or load failed; the checkpoint did not advance (the next run retries)" >&2
  exit 1
fi

if ! "$log_tool" checkpoint commit "$checkpoint"; then
  echo "load.sh: loaded, but the checkpoint did not advance (the next run reloads; duplicates are skipped)" >&2
  exit 1
fi
echo "load.sh: ${added:-0} new rows in usages"

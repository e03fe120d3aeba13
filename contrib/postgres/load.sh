#!/usr/bin/env bash
# Loads what busyring wrote since the last run into PostgreSQL, each record exactly once; run
# by busyring-export.timer (busyring-export.service: `load.sh $BUSYRING_DATA_DIR` as the user
# busyring, settings in /etc/default/busyring-export), or by hand as that user:
#
#   sudo -u busyring BUSYRING_CHECKPOINT=/var/lib/busyring-export/checkpoint PGDATABASE=busyring \
#     /usr/local/share/busyring/postgres/load.sh /var/lib/busyring
#
# DATA_DIR is the server's --data-dir (several: a cluster's nodes, merged by id). The export
# only reads it; step 4 deletes what PostgreSQL committed (the checkpoint lives elsewhere).
#
# One run:
#   1. busyring-log export DATA_DIR... --format csv --since-checkpoint CHECKPOINT: the records
#      the checkpoint does not cover (per segment file, a byte offset: not an id, since reissued
#      holes put low ids after higher ones), on stdout; the advanced checkpoint goes to
#      CHECKPOINT.next (fsynced), CHECKPOINT itself is untouched;
#   2. psql, in one transaction: COPY them into a temporary staging table, then
#      busyring_merge_staging() inserts them into usages with ON CONFLICT (id) DO NOTHING;
#   3. only when both succeeded: busyring-log checkpoint commit CHECKPOINT (renames .next over it);
#   4. unless BUSYRING_RETIRE=0: busyring-log retire DATA_DIR... --checkpoint CHECKPOINT, which
#      deletes the sealed segments whose records the committed checkpoint covers (PostgreSQL
#      holds them all by then), so the data dir stays bounded by the export's lag.
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
#   BUSYRING_RETIRE      1: step 4 after each committed load (default); 0: keep every segment
#   PSQL                 the psql binary (default: psql on PATH)
#   PGHOST PGPORT PGDATABASE PGUSER PGPASSFILE ...  where to load (libpq's variables); the
#                        database is made by setup.sql (role, grants and schema.sql)
# Exit status: 0 loaded (possibly nothing new), 1 failed (nothing committed, or committed and
# not retired), 2 bad usage, 75 another run holds the lock.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }
if [[ $# -ge 1 && ($1 == -h || $1 == --help) ]]; then
  usage
  exit 2
fi
if [[ $# -lt 1 || -z $1 ]]; then
  echo "load.sh: no DATA_DIR (under systemd: BUSYRING_DATA_DIR in /etc/default/busyring-export; --help)" >&2
  exit 2
fi

checkpoint=${BUSYRING_CHECKPOINT:-/var/lib/busyring-export/checkpoint}
log_tool=${BUSYRING_LOG:-busyring-log}
settle=${BUSYRING_SETTLE:-10}
retire=${BUSYRING_RETIRE:-1}
psql=${PSQL:-psql}
if [[ $retire != [01] ]]; then
  echo "load.sh: BUSYRING_RETIRE is '$retire'; it takes 0 or 1" >&2
  exit 2
fi

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

# Step 4, the one place retention hooks in (issue 17 §2): after the commit above, never before.
if [[ $retire == 1 ]]; then
  if [[ $("$log_tool" --help) != *$'\n  retire '* ]]; then
    echo "load.sh: BUSYRING_RETIRE=1 but $log_tool has no retire command; nothing retired" >&2
    exit 1
  fi
  if ! "$log_tool" retire "$@" --checkpoint "$checkpoint"; then
    echo "load.sh: loaded and committed, but retiring exported segments failed (the next run retries)" >&2
    exit 1
  fi
fi

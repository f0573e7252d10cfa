#!/usr/bin/env bash
# bench/bench-timer.sh - the timer service's benchmark (`make bench-timer`).
#
# Starts a private Postgres cluster (CRM_PG_DIR, default build/bench-timer-pg,
# PGPORT default 55436) and a fresh database, crm-timer (release build) as
# a consumer of the fake source "bench" only, and crm-benchtimer, which
# preloads 1,000,000 pending timers through the bus, then measures how late
# 10,000 timers due over 10 s fire, the schedule rate and the timer's peak
# RSS (see bench/benchtimer.c). Prints the machine first and ends with
# exactly one line:
#   timer_p50_ms=... timer_p99_ms=... timer_max_ms=... schedule_per_s=... timer_rss_mib=...
#
# Environment (all optional):
#   CRM_PG_DIR, PGPORT          the cluster (created if missing, stopped at the end
#                               unless CRM_BENCH_KEEP_PG=1)
#   CRM_TIMER_PORT, CRM_BENCH_PORT   base ports (default 9590, 9600)
#   CRM_BENCH_TIMER_LOG_LEVEL   crm-timer's CRM_LOG_LEVEL (default info, as in
#                               production: one "timer fired" line per firing; warn
#                               made no measurable difference to lateness)
#   CRM_BENCH_TIMER_PENDING     timers pending during the measurement (default 1000000)
#   CRM_BENCH_TIMER_COPY        how many of them to write straight into timer.timer
#                               with SQL as a setup step, before crm-timer starts
#                               (default 0: all go through the bus, which also
#                               gives the schedule rate)
#   CRM_BENCH_TIMER_SETTLE      1 (default): between the preload and the measurement,
#                               VACUUM ANALYZE timer.timer and bench.outbox_segment and a
#                               CHECKPOINT (as crm_admin), so that the autovacuum and
#                               the checkpoint the preload's ~0.5 GB of WAL calls for
#                               do not fall into the 10 s measured; 0: measure
#                               whatever they do
#   CRM_BENCH_TIMER_ARGS        extra crm-benchtimer options (e.g. --burst)
# Logs: build/bench-timer-logs/ (timer.log = crm-timer's stdout, bench.err, ...).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

for v in $(compgen -e); do
  if [[ $v == CRM_* && $v != CRM_PG_DIR && $v != CRM_TIMER_PORT && $v != CRM_BENCH_PORT &&
        $v != CRM_BENCH_* ]]; then unset "$v"; fi
done
export CRM_PG_DIR=${CRM_PG_DIR:-$ROOT/build/bench-timer-pg}
export PGPORT=${PGPORT:-55436}
export CRM_TIMER_PORT=${CRM_TIMER_PORT:-9590} CRM_BENCH_PORT=${CRM_BENCH_PORT:-9600}
export CRM_BIND_ADDR=127.0.0.1
BIN=$ROOT/build/release/bin
LOGS=$ROOT/build/bench-timer-logs
DB=bench_timer
LEVEL=${CRM_BENCH_TIMER_LOG_LEVEL:-info}
PENDING=${CRM_BENCH_TIMER_PENDING:-1000000}
COPY_N=${CRM_BENCH_TIMER_COPY:-0}
SETTLE=${CRM_BENCH_TIMER_SETTLE:-1}
((COPY_N <= PENDING)) || { echo "bench-timer.sh: CRM_BENCH_TIMER_COPY > CRM_BENCH_TIMER_PENDING" >&2; exit 2; }
read -r -a EXTRA <<<"${CRM_BENCH_TIMER_ARGS:-}"

for b in crm-timer crm-benchtimer; do
  [[ -x $BIN/$b ]] || { echo "bench-timer.sh: $BIN/$b is not built (make bench-timer)" >&2; exit 2; }
done
rm -rf "$LOGS"
mkdir -p "$LOGS"

TIMER_PID=""
PG_STARTED=0
cleanup() {
  if [[ -n $TIMER_PID ]] && kill -0 "$TIMER_PID" 2>/dev/null; then
    kill -TERM "$TIMER_PID" 2>/dev/null || true
    wait "$TIMER_PID" 2>/dev/null || true
  fi
  if ((PG_STARTED)) && [[ ${CRM_BENCH_KEEP_PG:-0} != 1 ]]; then
    scripts/pg.sh stop >>"$LOGS/pg.out" 2>&1 || true
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- the machine
echo "== machine"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
echo "cores: $(nproc) online ($(lscpu | sed -n 's/^CPU(s): *//p' | head -n 1) CPUs, $(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}')"
echo "kernel: $(uname -sr)"
echo "postgres: $(/usr/lib/postgresql/15/bin/postgres --version)"
echo "storage: $(df -h "$ROOT/build" | awk 'NR == 2 {print $1 " (" $2 ", " $5 " used)"}'); fsync on, synchronous_commit on"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- setup
echo "== setup"
scripts/pg.sh start >"$LOGS/pg.out" 2>&1 || { cat "$LOGS/pg.out" >&2; exit 1; }
PG_STARTED=1
eval "$(scripts/pg.sh env)"
export PGHOST PGPORT
scripts/pg.sh dropdb "$DB" >>"$LOGS/pg.out"
scripts/pg.sh createdb "$DB" >>"$LOGS/pg.out"
export PGDATABASE=$DB
echo "cluster $CRM_PG_DIR port $PGPORT, database $DB; crm-timer port $CRM_TIMER_PORT (log level $LEVEL), bench port $CRM_BENCH_PORT"

start_timer() {
  CRM_TIMER_SOURCES=bench CRM_LOG_LEVEL=$LEVEL "$BIN/crm-timer" >>"$LOGS/timer.log" 2>>"$LOGS/timer.err" </dev/null &
  TIMER_PID=$!
}
psql_admin() { /usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 -U crm_admin -d "$DB" "$@"; }

if ((COPY_N > 0)); then
  # crm-timer creates its tables; then, while it is stopped, rows go in.
  start_timer
  for _ in $(seq 300); do
    [[ $(psql_admin -c "SELECT to_regclass('timer.timer') IS NOT NULL" 2>/dev/null) == t ]] && break
    sleep 0.1
  done
  kill -TERM "$TIMER_PID"
  wait "$TIMER_PID" || true
  t=$SECONDS
  psql_admin -c "INSERT INTO timer.timer (owner, key, due_ms, payload, state, correlation_id, requested_sequence)
                 SELECT 'bench', 'c:' || i, $(( $(date +%s) * 1000 + 40 * 86400000 )) + i * 1000,
                        '\\x70707070707070707070707070707070', 'pending', 'bench:' || i, 0
                 FROM generate_series(1, $COPY_N) i" -c "VACUUM ANALYZE timer.timer"
  echo "setup: $COPY_N pending timers written straight into timer.timer with SQL, not through the bus ($((SECONDS - t)) s)"
fi
start_timer

# ---------------------------------------------------------------- the run
echo "== run (progress on stderr; about 2 minutes on an idle 2-core machine, up to 6 on a busy one)"
rc=0
# Progress on stderr, and into bench.err.
exec {ERR}> >(tee "$LOGS/bench.err" >&2)
TEE_PID=$!
BETWEEN=()
if [[ $SETTLE == 1 ]]; then
  settle="/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -U crm_admin -d $DB"
  settle+=" -c 'VACUUM (ANALYZE) timer.timer' -c 'VACUUM (ANALYZE) bench.outbox_segment' -c CHECKPOINT </dev/null"
  BETWEEN=(--between "$settle")
fi
CRM_LOG_LEVEL=warn "$BIN/crm-benchtimer" --preload $((PENDING - COPY_N)) "${BETWEEN[@]}" "${EXTRA[@]}" >"$LOGS/bench.out" 2>&$ERR || rc=$?
exec {ERR}>&-
wait "$TEE_PID" 2>/dev/null || true
kill -0 "$TIMER_PID" 2>/dev/null || { echo "bench-timer.sh: crm-timer died; see $LOGS/timer.err" >&2; rc=1; }
cleanup
TIMER_PID=""
PG_STARTED=0
if ((rc != 0)) || [[ ! -s $LOGS/bench.out ]]; then
  echo "bench-timer.sh: crm-benchtimer exited with $rc; logs in $LOGS" >&2
  cat "$LOGS/bench.out"
  exit 1
fi
echo "== result"
head -n -1 "$LOGS/bench.out"
tail -n 1 "$LOGS/bench.out"

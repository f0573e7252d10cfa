#!/usr/bin/env bash
# bench/bench-journeys.sh - the whole sales process under load (`make bench-journeys`).
#
# Starts a private Postgres cluster (CRM_PG_DIR, default build/bench-journeys-pg,
# PGPORT default 55437) and, for each run, a fresh database and the five
# services (release build, the shipped definitions and staff file), then
# crm-benchjourneys, which plays the other system and the staff: N journeys
# at once from the lead's arrival to the deal won, every task completed by
# its responsible (see bench/journeys.c). Runs 1,000 and then 10,000
# journeys. Prints the machine first, each run's figures (journeys/s,
# events/s, per-step latency of the automatic steps, command round trips,
# each service's peak memory), and ends with exactly one line, the 10,000
# run's:
#   journeys_per_s=... events_per_s=... step_p50_ms=... step_p99_ms=... max_rss_mib=...
#
# Environment (all optional):
#   CRM_PG_DIR, PGPORT              the cluster (created if missing, stopped at the end
#                                   unless CRM_BENCH_KEEP_PG=1)
#   CRM_BENCH_JOURNEYS_PORT         base port (default 9700): leads +0, deals +10,
#                                   tasks +20, notifier +30, timer +40 (each uses 3-4 ports)
#   CRM_BENCH_JOURNEYS_RUNS         journeys per run, in order (default "1000 10000");
#                                   the last run's line ends the output
#   CRM_BENCH_JOURNEYS_ARGS         extra crm-benchjourneys options (e.g. --leads-only,
#                                   --window 500, --timeout 1800)
#   CRM_BENCH_JOURNEYS_GEN          the load generator to run (default
#                                   build/release/bin/crm-benchjourneys; e.g. the asan build's)
#   CRM_BENCH_JOURNEYS_LOG_LEVEL    the services' CRM_LOG_LEVEL (default warn: at info
#                                   they write a line per lead, task and notification,
#                                   about 0.5 GB for the 10,000 run)
# Logs: build/bench-journeys-logs/<run>/ (one file per service, bench.out, bench.err).
# Exit status: 0 when every journey of every run was done, 1 otherwise.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

for v in $(compgen -e); do
  if [[ $v == CRM_* && $v != CRM_PG_DIR && $v != CRM_BENCH_* ]]; then unset "$v"; fi
done
export CRM_PG_DIR=${CRM_PG_DIR:-$ROOT/build/bench-journeys-pg}
export PGPORT=${PGPORT:-55437}
BASE=${CRM_BENCH_JOURNEYS_PORT:-9700}
export CRM_LEADS_PORT=$BASE CRM_DEALS_PORT=$((BASE + 10)) CRM_TASKS_PORT=$((BASE + 20))
export CRM_NOTIFIER_PORT=$((BASE + 30)) CRM_TIMER_PORT=$((BASE + 40))
export CRM_BIND_ADDR=127.0.0.1
export CRM_STAFF_FILE=$ROOT/deploy/pipelines/staff.yaml
export CRM_LEADS_PIPELINE=$ROOT/deploy/pipelines/lead_funnel.yaml
export CRM_DEALS_PIPELINE=$ROOT/deploy/pipelines/new_client.yaml
BIN=$ROOT/build/release/bin
GEN=${CRM_BENCH_JOURNEYS_GEN:-$BIN/crm-benchjourneys}
LOGS=$ROOT/build/bench-journeys-logs
DB=bench_journeys
LEVEL=${CRM_BENCH_JOURNEYS_LOG_LEVEL:-warn}
read -r -a RUNS <<<"${CRM_BENCH_JOURNEYS_RUNS:-1000 10000}"
read -r -a EXTRA <<<"${CRM_BENCH_JOURNEYS_ARGS:-}"
SERVICES=(leads deals tasks notifier timer)
PGBIN=/usr/lib/postgresql/15/bin

for b in "$GEN" "${SERVICES[@]/#/$BIN/crm-}"; do
  [[ -x $b ]] || { echo "bench-journeys.sh: $b is not built (make bench-journeys)" >&2; exit 2; }
done
((${#RUNS[@]} > 0)) || { echo "bench-journeys.sh: CRM_BENCH_JOURNEYS_RUNS is empty" >&2; exit 2; }
for s in "${SERVICES[@]}"; do
  var=CRM_${s^^}_PORT
  for p in "${!var}" $((${!var} + 1)) $((${!var} + 2)) $((${!var} + 3)); do
    if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
      echo "bench-journeys.sh: port $p is in use (CRM_BENCH_JOURNEYS_PORT=$BASE needs $BASE-$((BASE + 43)))" >&2
      exit 2
    fi
  done
done
rm -rf "$LOGS"
mkdir -p "$LOGS"

declare -A PID=()
PG_STARTED=0
stop_services() {
  local s
  for s in "${!PID[@]}"; do kill -TERM "${PID[$s]}" 2>/dev/null || true; done
  for s in "${!PID[@]}"; do wait "${PID[$s]}" 2>/dev/null || true; done
  PID=()
}
cleanup() {
  stop_services
  if ((PG_STARTED)) && [[ ${CRM_BENCH_KEEP_PG:-0} != 1 ]]; then
    scripts/pg.sh stop >>"$LOGS/pg.out" 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the machine
echo "== machine"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
echo "cores: $(nproc) online ($(lscpu | sed -n 's/^CPU(s): *//p' | head -n 1) CPUs, $(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}')"
echo "kernel: $(uname -sr)"
echo "postgres: $($PGBIN/postgres --version)"
echo "storage: $(df -h "$ROOT/build" | awk 'NR == 2 {print $1 " (" $2 ", " $5 " used)"}'); fsync on, synchronous_commit on"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"

# ---------------------------------------------------------------- setup
scripts/pg.sh start >"$LOGS/pg.out" 2>&1 || { cat "$LOGS/pg.out" >&2; exit 1; }
PG_STARTED=1
eval "$(scripts/pg.sh env)"
export PGHOST PGPORT PGDATABASE=$DB
echo "cluster $CRM_PG_DIR port $PGPORT, database $DB (fresh for each run); services on $BASE-$((BASE + 43)), log level $LEVEL"

wait_port() {   # wait_port PORT NAME: until PORT listens (the service is up)
  local i
  for ((i = 0; i < 600; i++)); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    kill -0 "${PID[$2]}" 2>/dev/null || { echo "bench-journeys.sh: crm-$2 exited at start; see $OUT/$2.log" >&2; return 1; }
    sleep 0.05
  done
  echo "bench-journeys.sh: crm-$2 did not bind port $1 in 30 s; see $OUT/$2.log" >&2
  return 1
}

# CPU ticks (1/100 s) of a process (utime+stime), 0 if gone.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU ticks of the whole cluster: every postgres process alive plus what the
# postmaster has collected from children that exited (cutime + cstime).
pg_ticks() {
  local pm sum=0 p
  pm=$(head -n 1 "$(readlink -m "$CRM_PG_DIR/data")/postmaster.pid")
  for p in $pm $(pgrep -P "$pm"); do sum=$((sum + $(ticks "$p"))); done
  echo $((sum + $(awk '{print $16 + $17}' "/proc/$pm/stat")))
}
# Busy ticks of the machine (all CPUs): user+nice+system+irq+softirq+steal.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# run N: a fresh database, the five services, the load; output in $OUT.
run() {
  local n=$1 s var rc=0 t
  OUT=$LOGS/$n
  mkdir -p "$OUT"
  scripts/pg.sh dropdb "$DB" >>"$LOGS/pg.out" || return 2
  scripts/pg.sh createdb "$DB" >>"$LOGS/pg.out" || return 2
  for s in "${SERVICES[@]}"; do
    CRM_LOG_LEVEL=$LEVEL "$BIN/crm-$s" >"$OUT/$s.log" 2>&1 </dev/null &
    PID[$s]=$!
  done
  for s in "${SERVICES[@]}"; do
    var=CRM_${s^^}_PORT
    wait_port "$((${!var} + 2))" "$s" || return 2
  done
  t=$SECONDS
  local m0 pg0 t0 svc=0 cpu_line="" gen
  m0=$(machine_ticks); pg0=$(pg_ticks); t0=$(date +%s.%N)
  # Progress on stderr, and into bench.err.
  exec {ERR}> >(tee "$OUT/bench.err" >&2)
  CRM_LOG_LEVEL=warn /usr/bin/time -o "$OUT/bench.time" -f '%U %S' \
    "$GEN" --journeys "$n" "${EXTRA[@]}" >"$OUT/bench.out" 2>&$ERR || rc=$?
  exec {ERR}>&-
  # Where the CPU went during the run (the services started just before it).
  for s in "${SERVICES[@]}"; do
    svc=$((svc + $(ticks "${PID[$s]}")))
    cpu_line+=" $s=$(awk -v t="$(ticks "${PID[$s]}")" 'BEGIN {printf "%.1f", t / 100}')"
  done
  gen=$(awk '{printf "%d\n", ($1 + $2) * 100}' "$OUT/bench.time" 2>/dev/null || echo 0)
  # The backends' share, by the service whose connection each is (application_name).
  local backends="" app bpid
  while IFS='|' read -r bpid app; do
    [[ -n $bpid ]] && backends+=" ${app#crm_}=$(awk -v t="$(ticks "$bpid")" 'BEGIN {printf "%.1f", t / 100}')"
  done < <($PGBIN/psql -X -q -At -U crm_admin -d "$DB" \
             -c "SELECT pid, application_name FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()
                 AND application_name LIKE 'crm_%' ORDER BY application_name" 2>/dev/null || true)
  awk -v m="$(($(machine_ticks) - m0))" -v pg="$(($(pg_ticks) - pg0))" -v svc="$svc" -v gen="$gen" \
      -v dt="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')" -v cores="$(nproc)" -v l="$cpu_line" 'BEGIN {
    o = m - pg - svc - gen; if (o < 0) o = 0
    printf "cpu seconds: postgres=%.1f%s generator=%.1f; machine busy %.0f%% of %d cores, other work %.0f%%\n",
           pg / 100, l, gen / 100, 100 * m / 100 / dt / cores, cores, 100 * o / 100 / dt / cores }' >>"$OUT/bench.out.head"
  echo "cpu seconds of the services' postgres backends:${backends:- (not found)}" >>"$OUT/bench.out.head"
  for s in "${SERVICES[@]}"; do
    kill -0 "${PID[$s]}" 2>/dev/null || { echo "bench-journeys.sh: crm-$s died during the run; see $OUT/$s.log" >&2; rc=1; }
  done
  stop_services
  echo "run of $n journeys: $((SECONDS - t)) s (load average now $(cut -d' ' -f1-3 /proc/loadavg))" >>"$OUT/bench.out.head"
  return $rc
}

status=0
last=${#RUNS[@]}
for ((k = 0; k < last; k++)); do
  n=${RUNS[$k]}
  echo "== $n concurrent journeys (progress on stderr)"
  rc=0
  run "$n" || rc=$?
  if ((rc == 2)) || [[ ! -s $OUT/bench.out ]]; then
    echo "bench-journeys.sh: the run of $n journeys failed (exit $rc); logs in $OUT" >&2
    exit 1
  fi
  ((rc == 0)) || status=1
  cat "$OUT/bench.out.head"
  if ((k < last - 1)); then
    # Only the last run's line may have the result line's form.
    sed 's/^journeys_per_s=/result of '"$n"' journeys: journeys_per_s=/' "$OUT/bench.out"
  else
    head -n -1 "$OUT/bench.out"
    tail -n 1 "$OUT/bench.out"
  fi
done
exit $status

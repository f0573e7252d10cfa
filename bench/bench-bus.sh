#!/usr/bin/env bash
# bench/bench-bus.sh - durable throughput and latency of the bus alone and of
# the thin slice (lead submitted with ack -> notification stored). `make
# bench-bus` builds the release binaries and runs it; docs/benchmarks.md has
# the figures.
#
# It uses its own Postgres cluster and ports, so it never meets a running
# system or the tests: cluster build/bench-pg on port 55434 (fresh databases
# each run: crm_bus for the bus alone, crm_bench for the rest), services on
# 8550 (leads), 8580 (notifier), 8600 (bench), 8610 (benchsink).
#
#   1. bus alone, full speed: crm-benchbus --sink writes BUS_EVENTS
#      NotificationRequested of 200 bytes into its outbox (500 per
#      transaction) as fast as it can; crm-benchsink, a service on the common
#      runtime, applies them: per batch one upsert of its counters plus its
#      consumer offset, one transaction. events/s = events / (first write ->
#      the sink's last commit); latency (in the sink) = its commit - the
#      event's time_ms. Then exactly once is checked in the database: the
#      sink's counters = events written, its offset = the source's head.
#   2. bus alone at half that rate, for BUS_HALF_S seconds: p50/p99.
#   3. thin slice of the bus, through the notifier: crm-benchbus writes
#      SLICE_EVENTS NotificationRequested; the notifier stores them (one
#      notification row with its indexes, delivery check, NotificationStored
#      in its outbox, offset: one transaction); the bench sees each
#      NotificationStored (latency = seen - requested_ms). Full speed, then
#      half for SLICE_HALF_S seconds.
#   4. ingest: crm-loadgen submits leads to crm-leads (notifier running) with
#      16 in flight and with 1, full speed; then 16 in flight at half the
#      16-in-flight rate for p99. After each, waits until the notifier has
#      stored every lead's notification (the slice's end).
#   5. for comparison, pgbench: one ~200-byte INSERT per transaction, 1 and 16
#      clients, PGBENCH_S seconds each, on the same cluster.
# Ends with one line: bus_events_per_s bus_p50_ms bus_p99_ms ingest_leads_per_s
# ingest_p99_ms (p50/p99 at half the full rate, ingest with 16 in flight), then
# the slice's and the rest's keys.
#
# Environment (defaults): BUS_EVENTS (300000) BUS_BATCH (500) BUS_HALF_S (10)
# SLICE_EVENTS (100000) SLICE_HALF_S (10) INGEST_LEADS (20000)
# INGEST_W1_LEADS (3000) INGEST_HALF_S (10) PGBENCH_S (10) BENCH_FSYNC_TEST
# (1: run pg_test_fsync -s 1) CRM_LOG_LEVEL (warn: the notifier's one info
# line per stored notification is off; info puts it back).
# Raw outputs and service logs go to build/bench-bus/<time>/.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/build/release/bin
PGBIN=/usr/lib/postgresql/15/bin

BUS_EVENTS=${BUS_EVENTS:-300000}
BUS_BATCH=${BUS_BATCH:-500}
BUS_HALF_S=${BUS_HALF_S:-10}
SLICE_EVENTS=${SLICE_EVENTS:-100000}
SLICE_HALF_S=${SLICE_HALF_S:-10}
INGEST_LEADS=${INGEST_LEADS:-20000}
INGEST_W1_LEADS=${INGEST_W1_LEADS:-3000}
INGEST_HALF_S=${INGEST_HALF_S:-10}
PGBENCH_S=${PGBENCH_S:-10}
BENCH_FSYNC_TEST=${BENCH_FSYNC_TEST:-1}

# Our own cluster and ports, whatever the caller's environment says.
export CRM_PG_DIR=$ROOT/build/bench-pg PGPORT=55434 PGDATABASE=crm_bench
export CRM_BENCH_PORT=8600 CRM_BENCHSINK_PORT=8610 CRM_NOTIFIER_PORT=8580 CRM_LEADS_PORT=8550
export CRM_NOTIFIER_SOURCES=leads,bench
export CRM_LOG_LEVEL=${CRM_LOG_LEVEL:-warn}
for v in CRM_DEALS_PORT CRM_TASKS_PORT CRM_TIMER_PORT CRM_BIND_ADDR CRM_BENCH_HOST CRM_NOTIFIER_HOST \
         CRM_LEADS_HOST CRM_DB_USER CRM_DB_PASSWORD CRM_BATCH_MAX CRM_HEARTBEAT_MS CRM_BENCHSINK_HOST \
         CRM_BENCHSINK_SOURCES CRM_BENCHSINK_HTTP_PORT; do unset "$v"; done
PORTS=(8550 8551 8552 8553 8555 8580 8581 8582 8585 8600 8601 8602 8610 8611 8612 8615)

OUT=$ROOT/build/bench-bus/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
PIDS=()
PG_STARTED=0

say() { printf '%s\n' "$*"; }
die() { printf 'bench-bus: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((PG_STARTED)); then "$ROOT/scripts/pg.sh" stop >/dev/null 2>&1 || true; fi
  ((rc == 0)) || say "bench-bus: failed (exit $rc); logs in $OUT" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in crm-benchbus crm-benchsink crm-loadgen crm-leads crm-notifier; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing (run: make bench-bus)"
done
for p in "${PORTS[@]}"; do
  if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
    die "port $p is in use; the bench needs 8550-8553, 8555, 8580-8582, 8585, 8600-8602, 8610-8612, 8615"
  fi
done

# ---- helpers ----------------------------------------------------------------

# kv KEY LINE: the value of KEY=... in a key=value line.
kv() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2" | head -n 1; }

# CPU ticks (1/100 s) of a process (utime+stime), 0 if gone.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# CPU ticks of the whole cluster: every postgres process alive plus what the
# postmaster has collected from children that exited (cutime + cstime).
pg_ticks() {
  local pm sum=0 p
  pm=$(head -n 1 "$PGDATA_DIR/postmaster.pid")
  for p in $pm $(pgrep -P "$pm"); do sum=$((sum + $(ticks "$p"))); done
  echo $((sum + $(awk '{print $16 + $17}' "/proc/$pm/stat")))
}

# Busy ticks of the machine (all CPUs): user+nice+system+irq+softirq+steal.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# The processes whose CPU a phase reports, as NAME=PID words (set per phase).
PROCS=()

# Snapshot before a phase: CPU of the machine, the cluster and PROCS.
snap() {
  S_MACHINE=$(machine_ticks); S_PG=$(pg_ticks); S_T=$(date +%s.%N); S_PROCS=()
  local np; for np in "${PROCS[@]}"; do S_PROCS+=("$(ticks "${np#*=}")"); done
}

# After a phase: CPU µs per item (events or leads) by component, and how busy
# the machine was with work that is not ours (other users' load skews figures).
# client_ticks: the load generator's own user+sys time, from /usr/bin/time.
# backends ("NAME=MS ..."): CPU ms of Postgres backends, from the programs'
# own reports, shown as parts of postgres (pg_rest: the other backends, the
# WAL writer, ...). selfms ("NAME=MS ..."): processes that report their own
# CPU (they have exited by now); PROCS are read here.
cpu_report() {
  local items=$1 client_ticks=$2 backends=${3:-} selfms=${4:-} m pg dt others ours parts="" i np t w
  m=$(( $(machine_ticks) - S_MACHINE )); pg=$(( $(pg_ticks) - S_PG ))
  dt=$(awk -v a="$S_T" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
  ours=$((pg + client_ticks))
  for i in "${!PROCS[@]}"; do
    np=${PROCS[$i]}; t=$(( $(ticks "${np#*=}") - S_PROCS[i] )); ours=$((ours + t))
    parts+=" ${np%%=*}=$t"
  done
  for w in $selfms; do
    t=$(awk -v ms="${w#*=}" 'BEGIN { printf "%d\n", ms / 10 }'); ours=$((ours + t)); parts+=" ${w%%=*}=$t"
  done
  others=$(( m - ours )); ((others > 0)) || others=0
  awk -v n="$items" -v pg="$pg" -v cl="$client_ticks" -v o="$others" -v parts="$parts" \
      -v backends="$backends" -v ours="$ours" -v dt="$dt" -v m="$m" -v cores="$(nproc)" 'BEGIN {
    u = 1e6 / 100 / n;
    printf "cpu_us_per_item postgres=%.1f", pg * u
    k = split(backends, b, " "); rest = pg * 10
    for (i = 1; i <= k; i++) {
      split(b[i], kv, "="); printf "%s%s=%.1f", i == 1 ? " (" : " ", kv[1], kv[2] * 1000 / n; rest -= kv[2]
    }
    if (k) printf " pg_rest=%.1f)", rest * 1000 / n
    k = split(parts, p, " ")
    for (i = 1; i <= k; i++) { split(p[i], kv, "="); printf " %s=%.1f", kv[1], kv[2] * u }
    printf " client=%.1f total=%.1f machine_busy=%.0f%% other_load=%.0f%%\n", cl * u, ours * u,
           100 * m / 100 / dt / cores, 100 * o / 100 / dt / cores }'
}

# run_timed NAME CMD...: runs CMD, its stdout to $OUT/NAME.out, its CPU to
# $OUT/NAME.time; echoes the last stdout line; returns CMD's status.
run_timed() {
  local name=$1; shift
  local rc=0
  /usr/bin/time -o "$OUT/$name.time" -f '%U %S' "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || rc=$?
  tail -n 1 "$OUT/$name.out"
  return $rc
}
client_ticks() { awk '{printf "%d\n", ($1 + $2) * 100}' "$OUT/$1.time" 2>/dev/null || echo 0; }

wait_port() {   # wait_port PORT PID NAME: until PORT listens (the service bound it)
  local i
  for ((i = 0; i < 200; i++)); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited at start; see $OUT/$3.log"
    sleep 0.05
  done
  die "$3 did not bind port $1 in 10 s; see $OUT/$3.log"
}

alive() { kill -0 "$NOTIFIER_PID" 2>/dev/null || die "the notifier died (pid $NOTIFIER_PID); see $OUT/notifier.log"; }

psql_admin() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -U crm_admin "$@"; }

# Waits until the notifier has stored a notification for each of the first
# $1 leads; prints the seconds it waited after the load generator ended.
wait_stored() {
  local want=$1 t0 n i
  t0=$(date +%s.%N)
  for ((i = 0; i < 1200; i++)); do
    n=$(psql_admin -d crm_bench -c "SELECT count(*) FROM notifier.notification WHERE requested_by = 'leads'")
    ((n >= want)) && { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f\n", b - a}'; return 0; }
    sleep 0.05
  done
  echo "timeout($n/$want)"
}

# ---- the cluster and the machine --------------------------------------------

say "== bench-bus $(date -u +%Y-%m-%dT%H:%M:%SZ), raw output in ${OUT#"$ROOT"/}"
"$ROOT/scripts/pg.sh" start >"$OUT/pg.log"
PG_STARTED=1
eval "$("$ROOT/scripts/pg.sh" env)"
PGDATA_DIR=$(readlink -m "$CRM_PG_DIR/data")
for db in crm_bus crm_bench; do
  "$ROOT/scripts/pg.sh" dropdb "$db" >>"$OUT/pg.log"
  "$ROOT/scripts/pg.sh" createdb "$db" >>"$OUT/pg.log"
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
pgver=$("$PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) //')
pgset=$(psql_admin -d postgres -F ' ' -c "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name)
  FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_sync_method',
  'full_page_writes', 'max_wal_size', 'wal_buffers')")
fsdev=$(df --output=source,fstype "$PGDATA_DIR" | tail -n 1 | tr -s ' ')
say "machine: $cpu; $(nproc) cores; $mem; Linux $(uname -r); PostgreSQL $pgver"
say "postgres: $pgset; data on $fsdev"
FSYNC_PER_S=
if ((BENCH_FSYNC_TEST)); then
  # one 8 kB write + fdatasync, as a WAL flush does; on the data directory's disk
  FSYNC_PER_S=$(cd "$OUT" && timeout 60 "$PGBIN/pg_test_fsync" -s 1 -f "$PGDATA_DIR/../pg_test_fsync.tmp" 2>&1 \
                | tee "$OUT/pg_test_fsync.out" | awk '$1 == "fdatasync" {printf "%d\n", $2; exit}') || true
  rm -f "$PGDATA_DIR/../pg_test_fsync.tmp"
  say "disk: fdatasync of one 8 kB write: ${FSYNC_PER_S:-?}/s (pg_test_fsync -s 1)"
fi
say "load before start: $(cut -d ' ' -f 1-3 /proc/loadavg) (other users' work on this machine skews the figures)"

# ---- 1, 2: the bus alone ------------------------------------------------------

# bus_phase NAME COUNT RATE: a fresh crm-benchsink (its offset and counters
# carry over in crm_bus) and crm-benchbus --sink writing COUNT events at RATE
# (0: full speed). Sets LINE (the sink's figures) and PHASE_RATE.
SINK_WRITTEN=0
bus_phase() {
  local name=$1 count=$2 rate=$3 pid line sink ev off head maxs dl
  PGDATABASE=crm_bus "$BIN/crm-benchsink" >"$OUT/$name.sink.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_port 8610 "$pid" "$name.sink"
  PROCS=()
  snap
  line=$(run_timed "$name" env PGDATABASE=crm_bus "$BIN/crm-benchbus" --sink --count "$count" \
           --batch "$BUS_BATCH" --rate "$rate" --label "$name") \
    || die "$name failed: $line $(cat "$OUT/$name.err")"
  kill -0 "$pid" 2>/dev/null || die "the sink died; see $OUT/$name.sink.log"
  kill -TERM "$pid"
  wait "$pid" || die "the sink did not stop cleanly; see $OUT/$name.sink.log"
  sink=$(grep '^sink ' "$OUT/$name.sink.log" | tail -n 1)
  [[ -n $sink ]] || die "the sink printed no report; see $OUT/$name.sink.log"
  SINK_WRITTEN=$((SINK_WRITTEN + count))
  # Exactly once: what the sink committed, counted in its own table, is
  # what was written; its offset and highest sequence are the source's head.
  read -r ev off head maxs dl <<<"$(psql_admin -d crm_bus -F ' ' -c "SELECT
      (SELECT coalesce(sum(events), 0) FROM benchsink.sink_count),
      (SELECT coalesce(max(last_sequence), 0) FROM benchsink.consumer_offset WHERE source = 'bench'),
      (SELECT last_sequence FROM bench.outbox_head),
      (SELECT coalesce(max(max_sequence), 0) FROM benchsink.sink_count),
      (SELECT count(*) FROM benchsink.dead_letter)")"
  [[ $ev == "$SINK_WRITTEN" && $head == "$SINK_WRITTEN" && $off == "$head" && $maxs == "$head" && $dl == 0 ]] \
    || die "$name: not exactly once: sink counted $ev of $SINK_WRITTEN written, offset $off, highest $maxs, source head $head, $dl dead letters"
  PHASE_RATE=$(awk -v n="$count" -v a="$(kv first_write_mono_us "$line")" -v b="$(kv last_commit_mono_us "$sink")" \
                 'BEGIN { printf "%.0f\n", (b > a ? n / ((b - a) / 1e6) : 0) }')
  say "$name events=$count rate_target=$rate events_per_s=$PHASE_RATE p50_ms=$(kv p50_ms "$sink")" \
      "p90_ms=$(kv p90_ms "$sink") p99_ms=$(kv p99_ms "$sink") max_ms=$(kv max_ms "$sink")" \
      "before_sink_txn_p50_ms=$(kv waited_p50_ms "$sink") before_sink_txn_p99_ms=$(kv waited_p99_ms "$sink")" \
      "events_per_batch=$(kv events_per_batch "$sink") write_per_s=$(kv write_per_s "$line")" \
      "transactions=$(kv transactions "$line") txn_ms_mean=$(kv txn_ms_mean "$line")" \
      "replays_served=$(kv replays_served "$line")"
  say "  exactly once: the sink counted $ev events in $(kv batches "$sink") transactions = $SINK_WRITTEN written;" \
      "its offset $off = the source's head; no dead letters"
  say "  $(cpu_report "$count" "$(client_ticks "$name")" \
         "producer_backend=$(kv backend_cpu_ms "$line") sink_backend=$(kv backend_cpu_ms "$sink")" \
         "sink=$(kv cpu_ms "$sink")")"
  LINE=$sink
}

say ""
say "== bus alone: outbox -> crm-benchsink (counters upsert + offset, one transaction per batch) -> committed"
bus_phase bus_full "$BUS_EVENTS" 0
BUS_RATE=$PHASE_RATE
HALF=$((BUS_RATE / 2))
((HALF > 0)) || die "no bus rate measured"
bus_phase bus_half "$((HALF * BUS_HALF_S))" "$HALF"
BUS_P50=$(kv p50_ms "$LINE")
BUS_P99=$(kv p99_ms "$LINE")

# ---- the notifier -----------------------------------------------------------

say ""
"$BIN/crm-notifier" >"$OUT/notifier.log" 2>&1 &
NOTIFIER_PID=$!
PIDS+=("$NOTIFIER_PID")
wait_port 8581 "$NOTIFIER_PID" notifier
say "notifier: pid $NOTIFIER_PID, sources $CRM_NOTIFIER_SOURCES, CRM_LOG_LEVEL=$CRM_LOG_LEVEL"
PROCS=("notifier=$NOTIFIER_PID")

# ---- 3: the thin slice of the bus, through the notifier ----------------------

say ""
say "== slice: outbox -> notifier (notification INSERT + delivery check + NotificationStored + offset, one transaction) -> NotificationStored seen"
snap
line=$(run_timed slice_full "$BIN/crm-benchbus" --count "$SLICE_EVENTS" --batch "$BUS_BATCH" \
         --label slice_full) || die "slice at full speed failed: $line $(cat "$OUT/slice_full.err")"
say "$line"
say "  $(cpu_report "$SLICE_EVENTS" "$(client_ticks slice_full)" "producer_backend=$(kv backend_cpu_ms "$line")")"
alive
SLICE_RATE=$(kv events_per_s "$line")
SLICE_HALF=$((SLICE_RATE / 2))
((SLICE_HALF > 0)) || die "no slice rate measured"
SLICE_HALF_N=$((SLICE_HALF * SLICE_HALF_S))
snap
line=$(run_timed slice_half "$BIN/crm-benchbus" --count "$SLICE_HALF_N" --batch "$BUS_BATCH" --rate "$SLICE_HALF" \
         --label slice_half) || die "slice at half rate failed: $line $(cat "$OUT/slice_half.err")"
say "$line"
say "  $(cpu_report "$SLICE_HALF_N" "$(client_ticks slice_half)" "producer_backend=$(kv backend_cpu_ms "$line")")"
alive
SLICE_P50=$(kv p50_ms "$line")
SLICE_P99=$(kv p99_ms "$line")

# ---- 4: ingest --------------------------------------------------------------

say ""
say "== ingest: SubmitLead acked after COMMIT (lead + LeadCreated + NotificationRequested) -> notification stored"
CRM_STAFF_FILE=$ROOT/deploy/pipelines/staff.yaml CRM_LEADS_PIPELINE=$ROOT/deploy/pipelines/lead_funnel.yaml \
  "$BIN/crm-leads" >"$OUT/leads.log" 2>&1 &
LEADS_PID=$!
PIDS+=("$LEADS_PID")
PROCS=("notifier=$NOTIFIER_PID" "leads=$LEADS_PID")
wait_port 8550 "$LEADS_PID" leads
sleep 0.3
STORED=0
ingest() {     # ingest NAME COUNT WINDOW RATE
  local name=$1 count=$2 window=$3 rate=$4 line wait
  snap
  line=$(run_timed "$name" "$BIN/crm-loadgen" --count "$count" --window "$window" --rate "$rate" \
           --prefix "$name" --responsibles ivanov,smirnova) \
    || die "$name failed: $line $(tail -n 3 "$OUT/$name.err")"
  STORED=$((STORED + count))
  wait=$(wait_stored "$STORED")
  say "$name window=$window rate_target=$rate $line stored_after_s=$wait"
  say "  $(cpu_report "$count" "$(client_ticks "$name")")"
  alive
  LAST=$line
}
ingest ingest_w16 "$INGEST_LEADS" 16 0
INGEST_RATE=$(kv leads_per_s "$LAST")
INGEST_RATE=${INGEST_RATE%.*}
ingest ingest_w1 "$INGEST_W1_LEADS" 1 0
INGEST_W1=$(kv leads_per_s "$LAST")
INGEST_W1=${INGEST_W1%.*}
INGEST_HALF=$((INGEST_RATE / 2))
((INGEST_HALF > 0)) || die "no ingest rate measured"
ingest ingest_half "$((INGEST_HALF * INGEST_HALF_S))" 16 "$INGEST_HALF"
INGEST_P99=$(kv p99_ms "$LAST")
INGEST_P50=$(kv p50_ms "$LAST")

kill -TERM "$LEADS_PID" "$NOTIFIER_PID" 2>/dev/null || true
wait "$LEADS_PID" "$NOTIFIER_PID" 2>/dev/null || true

# ---- 5: pgbench, for comparison ---------------------------------------------

say ""
say "== pgbench: one ~200-byte INSERT per transaction (autocommit), ${PGBENCH_S} s each"
psql_admin -d postgres -c "DROP DATABASE IF EXISTS bench_scratch" -c "CREATE DATABASE bench_scratch"
psql_admin -d bench_scratch -c "CREATE TABLE t (id bigserial PRIMARY KEY, payload text NOT NULL)"
printf '%s\n' "INSERT INTO t (payload) VALUES (repeat('x', 200));" >"$OUT/insert.sql"
for c in 1 16; do
  "$PGBIN/pgbench" -n -U crm_admin -f "$OUT/insert.sql" -c "$c" -j "$((c < 2 ? 1 : 2))" -T "$PGBENCH_S" \
    bench_scratch >"$OUT/pgbench_c$c.out" 2>&1 || die "pgbench -c $c failed: $(tail -n 3 "$OUT/pgbench_c$c.out")"
  tps=$(awk '/^tps/ {printf "%.0f\n", $3; exit}' "$OUT/pgbench_c$c.out")
  lat=$(awk '/^latency average/ {print $4; exit}' "$OUT/pgbench_c$c.out")
  say "pgbench clients=$c tps=$tps latency_avg_ms=$lat"
  declare "PGB_$c=$tps"
done
psql_admin -d postgres -c "DROP DATABASE bench_scratch"

# ---- summary ----------------------------------------------------------------

say ""
say "comparison: pgbench 1 client ${PGB_1} tx/s, 16 clients ${PGB_16} tx/s; ingest 16 in flight ${INGEST_RATE} leads/s"
say "load after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
say "bus_events_per_s=$BUS_RATE bus_p50_ms=$BUS_P50 bus_p99_ms=$BUS_P99 ingest_leads_per_s=$INGEST_RATE ingest_p99_ms=$INGEST_P99" \
    "slice_events_per_s=$SLICE_RATE slice_p50_ms=$SLICE_P50 slice_p99_ms=$SLICE_P99 ingest_p50_ms=$INGEST_P50" \
    "ingest_w1_leads_per_s=$INGEST_W1 pgbench_c1_tps=$PGB_1 pgbench_c16_tps=$PGB_16"

#!/usr/bin/env bash
# scripts/run.sh - runs the whole system in the foreground: a private Postgres
# cluster (scripts/pg.sh) and the five services, until Ctrl-C.
#
#   make run            # builds the release binaries, then runs this
#   scripts/run.sh      # the same, binaries already built
#
# Settings: deploy/crm.env, overridden by the caller's environment, e.g.
#   CRM_LEADS_PORT=7550 CRM_DEALS_PORT=7560 ... PGPORT=55435 CRM_PG_DIR=/tmp/pg scripts/run.sh
# Each service's output (JSON lines, one "service" field each) goes to the
# terminal and is appended to build/logs/<service>.log.
# Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the services, then the cluster
# (unless the cluster was already running before: then it is left running).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/build/release/bin
LOGS=$ROOT/build/logs
SERVICES=(leads deals tasks notifier timer)
declare -A DEFAULT_PORT=([leads]=5550 [deals]=5560 [tasks]=5570 [notifier]=5580 [timer]=5590)
READY_TIMEOUT_S=${CRM_RUN_READY_TIMEOUT_S:-60}

say() { echo "run.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- settings: deploy/crm.env for whatever the caller has not set
if [[ -f $ROOT/deploy/crm.env ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || die "deploy/crm.env: cannot read '$line'"
    key=${BASH_REMATCH[1]}
    [[ -n ${!key+set} ]] || export "$key=${BASH_REMATCH[2]}"
  done <"$ROOT/deploy/crm.env"
fi
export PGDATABASE=${PGDATABASE:-crm}

for s in "${SERVICES[@]}" ; do
  [[ -x $BIN/crm-$s ]] || die "$BIN/crm-$s is missing: run 'make run' (or 'make MODE=release all')"
done
[[ -x $BIN/crmctl ]] || die "$BIN/crmctl is missing: run 'make run' (or 'make MODE=release all')"

port_of() { local var="CRM_${1^^}_PORT"; echo "${!var:-${DEFAULT_PORT[$1]}}"; }

# ---- stopping, whatever way we leave
declare -A PID=()
PG_STARTED=false
STOPPING=false
stop_all() {
  $STOPPING && return
  STOPPING=true
  trap '' INT TERM HUP
  local s pid alive
  for s in "${SERVICES[@]}"; do
    pid=${PID[$s]:-}
    [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 100); do                     # up to 10 s for a clean stop
    alive=0
    for s in "${SERVICES[@]}"; do
      pid=${PID[$s]:-}
      [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for s in "${SERVICES[@]}"; do
    pid=${PID[$s]:-}
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      say "crm-$s (pid $pid) did not stop in 10 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true                    # reap services and their tee
  if $PG_STARTED; then
    scripts/pg.sh stop >&2 || true
  elif [[ ${PG_WAS_RUNNING:-false} == true ]]; then
    say "Postgres was running before run.sh: left running (scripts/pg.sh stop)"
  fi
  say "stopped"
}
on_signal() { echo >&2; say "stopping (signal)"; stop_all; exit 0; }
trap on_signal INT TERM HUP
trap 'stop_all' EXIT

# ---- Postgres
pg_out=$(scripts/pg.sh start) || die "cannot start Postgres (see above)"
echo "$pg_out" >&2
if [[ $pg_out == *"already running"* ]]; then PG_WAS_RUNNING=true; else PG_STARTED=true; fi
eval "$(scripts/pg.sh env)"
scripts/pg.sh createdb "$PGDATABASE" >&2

# ---- the services
mkdir -p "$LOGS"
for s in "${SERVICES[@]}"; do
  # tee ignores the terminal's Ctrl-C, so that it outlives its service and
  # carries the last lines ("service stopping") to the screen and the log.
  "$BIN/crm-$s" </dev/null > >(trap '' INT TERM HUP; exec tee -a "$LOGS/$s.log") 2>&1 &
  PID[$s]=$!
done

# Ready when all five answer Status, each from the process we started (not
# from another instance already holding the port).
ready() {
  local out s pid
  out=$("$BIN/crmctl" status --json --timeout 500 2>/dev/null) || return 1
  for s in "${SERVICES[@]}"; do
    pid=$(grep -o "\"service\":\"$s\"[^}]*\"pid\":[0-9]*" <<<"$out" | grep -o '[0-9]*$' || true)
    [[ $pid == "${PID[$s]}" ]] && continue
    die "port $(port_of "$s") is answered by another crm-$s (pid ${pid:-?}), not ours (pid ${PID[$s]}):" \
        "stop it, or choose other ports (CRM_${s^^}_PORT)"
  done
}
say "waiting for the five services to answer Status (up to ${READY_TIMEOUT_S} s)"
deadline=$((SECONDS + READY_TIMEOUT_S))
while true; do
  for s in "${SERVICES[@]}"; do
    if ! kill -0 "${PID[$s]}" 2>/dev/null; then
      wait "${PID[$s]}" && rc=0 || rc=$?
      unset "PID[$s]"
      die "crm-$s exited with status $rc during start-up (see $LOGS/$s.log; is port $(port_of "$s") in use?)"
    fi
  done
  ready && break
  if ((SECONDS >= deadline)); then
    "$BIN/crmctl" status >&2 || true
    die "not all services answered within ${READY_TIMEOUT_S} s (logs in $LOGS)"
  fi
  sleep 0.2
done

# ---- where things are
addr=${CRM_BIND_ADDR:-127.0.0.1}
{
  echo
  echo "CRM is running. Endpoints (ZeroMQ, tcp://$addr:PORT):"
  printf '  %-9s %-8s %-8s %-8s %-8s %-8s %s\n' SERVICE PID COMMAND PUB REPLAY HTTP INTAKE
  for s in "${SERVICES[@]}"; do
    p=$(port_of "$s")
    intake=-
    [[ $s == leads ]] && intake=${CRM_LEADS_INTAKE_BIND:-$((p + 3))}
    hvar="CRM_${s^^}_HTTP_PORT"
    printf '  %-9s %-8s %-8s %-8s %-8s %-8s %s\n' "$s" "${PID[$s]}" "$p" $((p + 1)) $((p + 2)) \
      "${!hvar:-$((p + 5))}" "$intake"
  done
  echo "HTTP:      GET http://$addr:HTTP/metrics (Prometheus), /health; leads: POST /v1/leads"
  echo "Postgres:  socket $PGHOST, port $PGPORT, database $PGDATABASE  (psql: scripts/pg.sh psql)"
  echo "Logs:      $LOGS/<service>.log"
  echo
  # The commands to try. Settings that differ from the defaults go first,
  # so that crmctl and pg.sh reach these services from another terminal.
  exports=""
  for s in "${SERVICES[@]}"; do
    for kind in PORT HOST; do
      var="CRM_${s^^}_$kind"
      [[ -n ${!var:-} ]] || continue
      [[ $kind == PORT && ${!var} == "${DEFAULT_PORT[$s]}" ]] && continue
      exports+=" $var=${!var}"
    done
  done
  [[ ${CRM_TIME_ZONE:-Europe/Moscow} != Europe/Moscow ]] && exports+=" CRM_TIME_ZONE=$CRM_TIME_ZONE"
  [[ $PGPORT != 55432 ]] && exports+=" PGPORT=$PGPORT"
  [[ -n ${CRM_PG_DIR:-} ]] && exports+=" CRM_PG_DIR=$CRM_PG_DIR"
  echo "Try, in another terminal, in $ROOT:"
  [[ -n $exports ]] && echo "  export$exports"
  echo "  build/release/bin/crmctl lead submit --source-system website --external-id order-1 \\"
  echo "      --name 'Иван Петров' --phone '+7 900 000-00-00' --email ivan@example.com"
  echo "  build/release/bin/crmctl notifications --user ivanov"
  echo "  build/release/bin/crmctl lead move 1 in_progress --as ivanov"
  echo "  build/release/bin/crmctl lead show 1"
  echo "  build/release/bin/crmctl status"
  echo
  echo "Ctrl-C stops everything."
} >&2

# ---- wait: until a signal, or until a service stops by itself
while true; do
  done_pid=""
  if wait -n -p done_pid "${PID[@]}"; then rc=0; else rc=$?; fi
  [[ -n $done_pid ]] || continue          # wait interrupted by a signal
  for s in "${SERVICES[@]}"; do
    [[ ${PID[$s]:-} == "$done_pid" ]] && { unset "PID[$s]"; break; }
  done
  # A service exits 0 only when told to stop (SIGINT/SIGTERM): the terminal's
  # Ctrl-C reaches the services too, and bash may see them go first.
  if ((rc == 0)); then
    say "crm-$s stopped on a signal (Ctrl-C reaches the services too): stopping the others"
    exit 0
  fi
  say "crm-$s exited with status $rc (see $LOGS/$s.log): stopping the others"
  exit 1
done

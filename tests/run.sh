#!/usr/bin/env bash
# tests/run.sh - runs every test: the cmocka unit tests (build/asan/tests/test_*),
# then the integration tests (tests/integration/test_*.sh) against the asan
# binaries, a private Postgres cluster and real sockets. `make test` calls it
# after building; it also works on its own after `make MODE=asan all`.
#
#   tests/run.sh [REGEX...]    only the cases whose name (unit.<binary>,
#                              <area>.<case>) matches one of the regexes
#   tests/run.sh --list        lists the cases
#
# Prints one line per case and ends with exactly one line "N passed, M failed"
# (individual test cases, unit and integration); exits 0 iff M is 0.
# Logs: build/test-logs/<case>/ (test.out, <service>.log = its stdout,
# <service>.err = its stderr, tool output *.out).
#
# Isolation from other clusters and services on the machine (override for CI):
#   CRM_TEST_PG_DIR     cluster directory      (default build/test-pg)
#   CRM_TEST_PGPORT     its port               (default 55433)
#   CRM_TEST_PORT_BASE  leads' base port; deals +10, tasks +20, notifier +30,
#                       timer +40, bench (fake source) +50, a second
#                       instance +60               (default 6550)
#   CRM_TEST_MODE       build mode of the binaries (default asan)
#   CRM_TEST_CASE_TIMEOUT  seconds before a case is killed (default 420)
#   CRM_TEST_KEEP_PG=1  leave the cluster running at the end
# Runs on the same ports take turns (a lock in /tmp, CRM_TEST_LOCK_WAIT s).
# Every other CRM_* and PG* variable of the caller's environment is ignored.
set -uo pipefail

CRM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$CRM_ROOT" || exit 2

LIST=0
FILTERS=()
for a in "$@"; do
  case $a in
    --list) LIST=1 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) FILTERS+=("$a") ;;
  esac
done

# ---------------------------------------------------------------- environment
for v in $(compgen -e); do
  if [[ ($v == CRM_* && $v != CRM_TEST_*) || $v == PG* ]]; then unset "$v"; fi
done
unset CMOCKA_MESSAGE_OUTPUT CMOCKA_XML_FILE

MODE=${CRM_TEST_MODE:-asan}
export CRM_ROOT
export BIN=$CRM_ROOT/build/$MODE/bin
export TOOLS=$CRM_ROOT/tests/tools
export PY=/usr/bin/python3
export PG_BIN=/usr/lib/postgresql/15/bin
export CRM_PY_GEN=$CRM_ROOT/build/gen/py
export CRM_PG_DIR=${CRM_TEST_PG_DIR:-$CRM_ROOT/build/test-pg}
export PGPORT=${CRM_TEST_PGPORT:-55433}
BASE=${CRM_TEST_PORT_BASE:-6550}
export CRM_LEADS_PORT=$BASE CRM_DEALS_PORT=$((BASE + 10)) CRM_TASKS_PORT=$((BASE + 20))
export CRM_NOTIFIER_PORT=$((BASE + 30)) CRM_TIMER_PORT=$((BASE + 40)) CRM_BENCH_PORT=$((BASE + 50))
export CRM_TEST_ALT_PORT=$((BASE + 60))
export CRM_BIND_ADDR=127.0.0.1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CRM_TIME_ZONE=UTC
CASE_TIMEOUT=${CRM_TEST_CASE_TIMEOUT:-420}
LOGS=$CRM_ROOT/build/test-logs

PASSED=0
FAILED=0
FAILED_NAMES=()
CASE_PGID=""
PG_STARTED=0
T0=$SECONDS

if [[ -t 1 ]]; then RED=$'\e[31m' GREEN=$'\e[32m' DIM=$'\e[2m' OFF=$'\e[0m'; else RED="" GREEN="" DIM="" OFF=""; fi

selected() {
  ((${#FILTERS[@]} == 0)) && return 0
  local f
  for f in "${FILTERS[@]}"; do [[ $1 =~ $f ]] && return 0; done
  return 1
}

# ---------------------------------------------------------------- cleanup
kill_group() {
  local pgid=$1
  [[ -n $pgid ]] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  local i
  for i in $(seq 50); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}

cleanup() {
  kill_group "$CASE_PGID"
  CASE_PGID=""
  if ((PG_STARTED)) && [[ ${CRM_TEST_KEEP_PG:-0} != 1 ]]; then
    scripts/pg.sh stop >/dev/null 2>&1 9>&- || true
    PG_STARTED=0
  fi
}

interrupted() {
  trap - INT TERM
  echo
  echo "${RED}interrupted${OFF}: stopping services and the cluster"
  cleanup
  echo "$PASSED passed, $((FAILED + 1)) failed"
  exit 130
}
trap interrupted INT TERM
trap cleanup EXIT

# ---------------------------------------------------------------- reporting
pass() {
  PASSED=$((PASSED + ${2:-1}))
  printf '%sPASS%s %s %s\n' "$GREEN" "$OFF" "$1" "${DIM}${3:-}${OFF}"
}

failed() {
  FAILED=$((FAILED + ${2:-1}))
  FAILED_NAMES+=("$1")
  printf '%sFAIL%s %s %s\n' "$RED" "$OFF" "$1" "${DIM}${3:-}${OFF}"
}

# show_failure DIR: the assertion and the tail of every log of the case.
show_failure() {
  local dir=$1 f
  if [[ -s $dir/failure ]]; then
    sed 's/^/    assertion: /' "$dir/failure"
    echo "    --- last lines of test.out"
    tail -n 6 "$dir/test.out" | cut -c1-400 | sed 's/^/    | /'
  elif [[ -f $dir/test.out ]]; then
    echo "    (no assertion recorded; last lines of test.out)"
    tail -n 15 "$dir/test.out" | sed 's/^/    | /'
  fi
  for f in "$dir"/*.log "$dir"/*.err "$dir"/*.out; do
    [[ -s $f && $f != */test.out ]] || continue
    echo "    --- last lines of ${f#"$CRM_ROOT"/}"
    tail -n 12 "$f" | cut -c1-400 | sed 's/^/    | /'
  done
  echo "    (all logs: ${dir#"$CRM_ROOT"/}/)"
}

# post_check DIR: sanitizer reports, non-JSON service output, unclean stops.
post_check() {
  local dir=$1 f bad=0
  for f in "$dir"/*; do
    [[ -f $f ]] || continue
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
      echo "sanitizer report in ${f##*/}: $(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | cut -c1-300)" >>"$dir/failure"
      bad=1
    fi
  done
  local logs=("$dir"/*.log)
  if [[ -e ${logs[0]} ]]; then
    local out
    if ! out=$("$PY" "$TOOLS/logcheck.py" json "${logs[@]}" 2>&1); then
      printf 'service output that is not a JSON log line:\n%s\n' "$(head -n 5 <<<"$out")" >>"$dir/failure"
      bad=1
    fi
  fi
  if [[ -f $dir/.exits ]]; then
    local inst sig rc
    while read -r inst sig rc; do
      if [[ ($sig == SIGTERM || $sig == SIGINT) && $rc != 0 ]]; then
        echo "$inst exited with status $rc after $sig (a clean stop returns 0)" >>"$dir/failure"
        bad=1
      fi
    done <"$dir/.exits"
  fi
  return $bad
}

# ---------------------------------------------------------------- preparation
prepare() {
  local missing=()
  for b in crm-leads crm-deals crm-tasks crm-notifier crm-timer crmctl crm-loadgen; do
    [[ -x $BIN/$b ]] || missing+=("$b")
  done
  ((${#missing[@]} == 0)) || echo "warning: not built in $BIN: ${missing[*]} (tests that need them fail)"
  # Python classes for the bus tools, generated once per proto change.
  local stamp=$CRM_PY_GEN/crm/v1/bus_pb2.py newest
  newest=$(ls -t proto/crm/v1/*.proto | head -1)
  if [[ ! -f $stamp || $newest -nt $stamp ]]; then
    local tmp
    tmp=$(mktemp -d "$CRM_ROOT/build/.gen-py.XXXXXX")
    protoc --proto_path=proto --python_out="$tmp" proto/crm/v1/*.proto || { rm -rf "$tmp"; return 1; }
    mkdir -p "$CRM_PY_GEN/crm/v1"
    for f in "$tmp"/crm/v1/*.py; do mv -f "$f" "$CRM_PY_GEN/crm/v1/"; done
    rm -rf "$tmp"
  fi
  mkdir -p "$LOGS"
  echo "cluster: $CRM_PG_DIR port $PGPORT; services: leads $CRM_LEADS_PORT ... timer $CRM_TIMER_PORT"
  scripts/pg.sh start >"$LOGS/pg-start.out" 2>&1 9>&- || { cat "$LOGS/pg-start.out"; return 1; }
  PG_STARTED=1
  eval "$(scripts/pg.sh env)"
  export PGHOST PGPORT
  # The databases of the last run are kept for a look at a failure; the
  # ones before it go now.
  local db
  for db in $("$PG_BIN/psql" -X -At -h "$PGHOST" -p "$PGPORT" -U crm_admin -d postgres \
    -c "SELECT datname FROM pg_database WHERE datname LIKE 't\_%'"); do
    scripts/pg.sh dropdb "$db" >/dev/null 2>&1 9>&- || true
  done
}

# ---------------------------------------------------------------- unit tests
run_unit() {
  local bin=$1 name out dir rc p f t0
  name=unit.$(basename "$bin")
  selected "$name" || return 0
  dir=$LOGS/$name
  rm -rf "$dir" && mkdir -p "$dir"
  out=$dir/test.out
  t0=$SECONDS
  (cd "$dir" && timeout -k 5 300 "$bin") >"$out" 2>&1 9>&-
  rc=$?
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$out" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$out" | grep -oE '^\[  FAILED  \] [0-9]+' | grep -oE '[0-9]+$' | awk '{s+=$1} END {print s+0}')
  if ((rc != 0 && f == 0)); then
    f=1         # crashed, timed out or a setup failed without a cmocka summary
    echo "exit status $rc without a failed test case reported" >>"$dir/failure"
  fi
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out"; then
    ((f == 0)) && f=1
    echo "sanitizer report: $(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out")" >>"$dir/failure"
  fi
  ((p > 0)) && pass "$name" "$p" "($p cases, $((SECONDS - t0))s)"
  if ((f > 0)); then
    failed "$name" "$f" "($f cases)"
    grep -E '^\[  FAILED  \] [a-zA-Z_]' "$out" | sort -u | sed 's/^/    /'
    grep -E -B2 -A2 'Failure!|error:|ERROR' "$out" | head -30 | sed 's/^/    | /'
    [[ -s $dir/failure ]] && sed 's/^/    /' "$dir/failure"
  fi
  return 0
}

# ---------------------------------------------------------------- integration
cases_of() {   # the test_* functions of a file, in file order
  grep -oE '^test_[A-Za-z0-9_]+ *\(\)' "$1" | sed 's/ *()//'
}

run_case() {
  local file=$1 fn=$2 area name dir rc t0 elapsed
  area=$(basename "$file" .sh)
  area=${area#test_}
  name=$area.${fn#test_}
  selected "$name" || return 0
  dir=$LOGS/$name
  rm -rf "$dir" && mkdir -p "$dir"
  t0=$(date +%s.%N)
  # Own session/process group: everything the case starts is killed with it.
  setsid bash "$CRM_ROOT/tests/lib.sh" --case "$file" "$fn" "$dir" >"$dir/test.out" 2>&1 </dev/null 9>&- &
  CASE_PGID=$!
  local deadline=$((SECONDS + CASE_TIMEOUT))
  while kill -0 "$CASE_PGID" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${CASE_TIMEOUT}s (CRM_TEST_CASE_TIMEOUT)" >>"$dir/failure"
      kill_group "$CASE_PGID"
      break
    fi
    sleep 0.2
  done
  wait "$CASE_PGID"
  rc=$?
  kill_group "$CASE_PGID"     # anything left behind
  CASE_PGID=""
  # A case that stopped the cluster (pg.sh kill) and failed before starting
  # it again must not fail the next ones.
  "$PG_BIN/pg_isready" -q -h "$PGHOST" -p "$PGPORT" || scripts/pg.sh start >>"$dir/pg-start.out" 2>&1 9>&-
  post_check "$dir" || rc=1
  elapsed=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
  if ((rc == 0)); then
    pass "$name" 1 "(${elapsed}s)"
  else
    failed "$name" 1 "(${elapsed}s)"
    show_failure "$dir"
  fi
}

# ---------------------------------------------------------------- main
if ((LIST)); then
  for b in build/$MODE/tests/test_*; do [[ -x $b ]] && selected "unit.${b##*/}" && echo "unit.${b##*/}"; done
  for file in tests/integration/test_*.sh; do
    area=$(basename "$file" .sh)
    for fn in $(cases_of "$file"); do selected "${area#test_}.${fn#test_}" && echo "${area#test_}.${fn#test_}"; done
  done
  exit 0
fi

# One run at a time per cluster port and service ports: a second run (say
# another `make test` on the same machine) waits for the first.
LOCK=/tmp/crm-tests.$PGPORT.$BASE.lock
exec 9>>"$LOCK"
if ! flock -n 9; then
  echo "another tests/run.sh uses port $PGPORT and $BASE..$((BASE + 69)) ($(cat "$LOCK.pid" 2>/dev/null || echo "pid ?")); waiting (CRM_TEST_LOCK_WAIT=${CRM_TEST_LOCK_WAIT:-1800}s; or set CRM_TEST_PGPORT, CRM_TEST_PORT_BASE, CRM_TEST_PG_DIR to run beside it)"
  if ! flock -w "${CRM_TEST_LOCK_WAIT:-1800}" 9; then
    echo "tests/run.sh: gave up waiting for $LOCK"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi
echo "pid $$ since $(date +%T)" >"$LOCK.pid"

if ! prepare; then
  echo "tests/run.sh: could not prepare (see above)"
  echo "0 passed, 1 failed"
  exit 1
fi

for b in build/$MODE/tests/test_*; do
  [[ -x $b && -f $b ]] && run_unit "$CRM_ROOT/$b"
done

for file in tests/integration/test_*.sh; do
  for fn in $(cases_of "$file"); do
    run_case "$CRM_ROOT/$file" "$fn"
  done
done

cleanup
if ((FAILED)); then
  echo "failed: ${FAILED_NAMES[*]}"
fi
echo "time: $((SECONDS - T0))s"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))

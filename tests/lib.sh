# tests/lib.sh - helpers for the integration tests (sourced; bash).
#
# A test file tests/integration/test_<area>.sh declares its test cases as
# functions named test_<case>; tests/run.sh runs each in a fresh bash (its own
# process group) with this file and the test file sourced, `set -eE -o
# pipefail` on, and these variables set:
#   CRM_ROOT   the repository            BIN    build/$MODE/bin (asan)
#   T_NAME     "<area>.<case>"           T_DIR  build/test-logs/<area>.<case>/
#   PY         Debian's python3          TOOLS  tests/tools
#   PGHOST, PGPORT (the private cluster), CRM_<NAME>_PORT for every service.
# A case passes when its function returns; `fail MSG` (or any failing
# command, or a failed assert_*) ends it as failed with MSG as the assertion.
# Whatever the case started is stopped when it ends (stop_all, then the
# runner kills its process group).
#
# Helpers:
#   fresh_db [NAME]                  new database, exported as PGDATABASE
#   start_service NAME[@I] [V=X...]  start crm-NAME (instance I: a second one),
#                                    wait until it answers Status; the shipped
#                                    definitions ($SHIPPED_STAFF_FILE,
#                                    $SHIPPED_LEADS_PIPELINE) unless V=X says
#                                    otherwise
#   spawn_service NAME[@I] [V=X...]  start it, do not wait (see service_ready)
#   service_ready NAME[@I] [S]       wait until it answers Status (S s, default 120)
#   kill_service NAME[@I] [SIGNAL]   signal it (default TERM) and wait for its exit
#   stop_all                         SIGTERM every service still running, wait
#   service_pid / service_port / service_endpoint NAME[@I]
#   wait_until TIMEOUT_S CMD...      poll CMD until it succeeds (returns 1 on timeout)
#   wait_sql TIMEOUT_S QUERY EXPECTED [WHAT]   poll until sql QUERY prints EXPECTED, else fail
#   sql QUERY / sql_as ROLE QUERY    psql -At as crm_admin (or ROLE) on PGDATABASE
#   assert_eq ACTUAL EXPECTED WHAT, assert_ge ACTUAL MIN WHAT,
#   assert_contains TEXT NEEDLE WHAT, assert_not_contains TEXT NEEDLE WHAT
#   fail MSG, note MSG (progress line in test.out)
#   bus ARGS...                      tests/tools/bus.py
#   crmctl ARGS...                   build/$MODE/bin/crmctl
#   loadgen ARGS... / loadgen_bg ARGS... + loadgen_wait TIMEOUT_S
#                                    crm-loadgen against the leads endpoint
#   fake_source NAME PORT, fake JSON a scripted source service (bus.py fake-source)

# ---------------------------------------------------------------- messages

note() { printf '%s  %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }

# _where: "file:line" of the innermost caller outside this file (the test's
# line that called the helper that failed).
_where() {
  local i
  for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
    if [[ ${BASH_SOURCE[i]} != "${BASH_SOURCE[0]}" ]]; then
      printf '%s:%s\n' "${BASH_SOURCE[i]##*/}" "${BASH_LINENO[i - 1]}"
      return 0    # (a bare return in an ERR trap returns the failed status)
    fi
  done
  printf '%s:%s\n' "${BASH_SOURCE[1]##*/}" "${BASH_LINENO[0]}"
}

# Ends the test case as failed; MSG is what the runner prints as the assertion.
fail() {
  local where
  where=$(_where)
  printf '%s (%s)\n' "$*" "$where" >>"$T_DIR/failure"
  printf 'FAIL: %s (%s)\n' "$*" "$where" >&2
  exit 1
}

# ERR trap: an unexpected failing command.
_on_err() {
  local rc=$1 cmd=$2 where
  where=$(_where)
  printf 'command failed (exit %s): %s (%s)\n' "$rc" "$cmd" "$where" >>"$T_DIR/failure"
  printf 'FAIL: command failed (exit %s): %s (%s)\n' "$rc" "$cmd" "$where" >&2
}

assert_eq() {
  [[ "$1" == "$2" ]] || fail "${3:-value}: expected '$2', got '$1'"
}

assert_ge() {
  [[ "$1" =~ ^[0-9]+$ ]] || fail "${3:-value}: expected a number >= $2, got '$1'"
  (($1 >= $2)) || fail "${3:-value}: expected >= $2, got $1"
}

assert_contains() {
  [[ "$1" == *"$2"* ]] || fail "${3:-text}: expected to contain '$2', got '$1'"
}

assert_not_contains() {
  [[ "$1" != *"$2"* ]] || fail "${3:-text}: expected not to contain '$2', got '$1'"
}

# ---------------------------------------------------------------- tools

bus() { "$PY" "$TOOLS/bus.py" "$@"; }
# crmctl ARGS...: the asan crmctl; its sanitizer reports (if any) go to
# $T_DIR/sanitizer-crmctl.<pid>, where the runner finds them even when a
# test throws crmctl's stderr away.
crmctl() {
  ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$T_DIR/sanitizer-crmctl" \
    UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$T_DIR/sanitizer-crmctl" "$BIN/crmctl" "$@"
}

need_bin() {
  local b
  for b in "$@"; do
    [[ -x $BIN/$b ]] || fail "$BIN/$b is not built (make MODE=${CRM_TEST_MODE:-asan} all)"
  done
}

# loadgen ARGS...: crm-loadgen aimed at the leads service, in the
# foreground; prints its key=value line (copy in $T_DIR/loadgen.out).
loadgen() {
  loadgen_bg "$@"
  loadgen_wait "${LOADGEN_TIMEOUT:-300}"
  printf '%s\n' "$LOADGEN_LINE"
}

# loadgen_bg ARGS...: loadgen in the background (LOADGEN_PID); its line goes
# to $T_DIR/loadgen.out. loadgen_wait TIMEOUT_S: waits for it (kills it and
# fails after TIMEOUT_S), checks exit status 0 and prints its line.
loadgen_bg() {
  need_bin crm-loadgen
  note "loadgen $*"
  "$BIN/crm-loadgen" --endpoint "tcp://127.0.0.1:$CRM_LEADS_PORT" "$@" \
    >>"$T_DIR/loadgen.out" 2>>"$T_DIR/loadgen.err" </dev/null &
  LOADGEN_PID=$!
}

loadgen_running() { kill -0 "$LOADGEN_PID" 2>/dev/null; }

loadgen_wait() {
  local timeout=$1 rc=0 end=$((SECONDS + $1))
  while loadgen_running && ((SECONDS < end)); do sleep 0.2; done
  if loadgen_running; then
    kill -INT "$LOADGEN_PID" 2>/dev/null || true
    sleep 1
    kill -KILL "$LOADGEN_PID" 2>/dev/null || true
    wait "$LOADGEN_PID" 2>/dev/null || true
    fail "crm-loadgen did not finish within ${timeout}s: $(tail -n 1 "$T_DIR/loadgen.out" 2>/dev/null)"
  fi
  wait "$LOADGEN_PID" || rc=$?
  local line
  line=$(tail -n 1 "$T_DIR/loadgen.out")
  note "loadgen: $line (exit $rc)"
  [[ $rc == 0 ]] || fail "crm-loadgen exited with $rc: $line; $(head -c 300 "$T_DIR/loadgen.err")"
  LOADGEN_LINE=$line
}

# kv KEY LINE: the value of KEY in a "k=v k=v" line.
kv() {
  local pair
  for pair in $2; do
    [[ $pair == "$1="* ]] && { printf '%s\n' "${pair#*=}"; return 0; }
  done
  return 1
}

# ---------------------------------------------------------------- postgres

# sql QUERY: the rows of QUERY (psql -At, as crm_admin) on $PGDATABASE; on
# an error, prints psql's message on stderr and returns its status.
sql() { _psql crm_admin "$1"; }

# sql_as ROLE QUERY: the same, connected as ROLE (e.g. crm_deals).
sql_as() { _psql "$1" "$2"; }

_psql() {
  local out rc=0 errf=$T_DIR/.psql.$BASHPID
  out=$("$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$1" \
    -d "${PGDATABASE:?fresh_db first}" -c "$2" 2>"$errf") || rc=$?
  if ((rc)); then
    printf 'psql as %s: %s\n  query: %s\n' "$1" "$(tr '\n' ' ' <"$errf")" "$2" >&2
    rm -f "$errf"
    return $rc
  fi
  rm -f "$errf"
  printf '%s\n' "$out"
}

# fresh_db [NAME]: drops and creates the database (default: one per test
# case) with the CRM schemas, and exports PGDATABASE for services and sql.
fresh_db() {
  local name=${1:-t_${T_NAME//[^a-zA-Z0-9]/_}}
  name=${name:0:63}
  "$CRM_ROOT/scripts/pg.sh" dropdb "$name" >/dev/null
  "$CRM_ROOT/scripts/pg.sh" createdb "$name" >/dev/null
  export PGDATABASE=$name
  note "database $name"
}

# ---------------------------------------------------------------- polling

# wait_until TIMEOUT_S CMD...: runs CMD every 0.25 s until it succeeds;
# returns 1 if it did not within TIMEOUT_S seconds.
wait_until() {
  local timeout=$1
  shift
  local end=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || return 1
    sleep 0.25
  done
}

# wait_sql TIMEOUT_S QUERY EXPECTED [WHAT]: polls until QUERY prints
# EXPECTED; fails the test with the last value otherwise.
wait_sql() {
  local timeout=$1 query=$2 expected=$3 what=${4:-$2}
  local end=$((SECONDS + timeout)) got=""
  while true; do
    got=$(sql "$query" 2>&1) || true
    [[ $got == "$expected" ]] && return 0
    ((SECONDS < end)) || fail "$what: expected '$expected' within ${timeout}s, last got '$got'"
    sleep 0.25
  done
}

# sql_ge QUERY MIN: true when QUERY prints a number >= MIN (for wait_until).
sql_ge() {
  local got
  got=$(sql "$1" 2>/dev/null) || return 1
  [[ $got =~ ^[0-9]+$ ]] && ((got >= $2))
}

# ---------------------------------------------------------------- services

declare -gA SVC_PID=() SVC_PORT=()

# The shipped staff directory and lead funnel, which every service is
# started with (staff logins: ivanov and smirnova are the managers); a case
# may give a service others (start_service leads CRM_STAFF_FILE=...).
SHIPPED_STAFF_FILE=$CRM_ROOT/deploy/pipelines/staff.yaml
SHIPPED_LEADS_PIPELINE=$CRM_ROOT/deploy/pipelines/lead_funnel.yaml

_svc_name() { printf '%s\n' "${1%%@*}"; }
_svc_inst() { printf '%s\n' "${1//@/-}"; }

service_pid() { printf '%s\n' "${SVC_PID[$(_svc_inst "$1")]:-}"; }
service_port() { printf '%s\n' "${SVC_PORT[$(_svc_inst "$1")]:-}"; }
service_endpoint() { printf 'tcp://127.0.0.1:%s\n' "$(service_port "$1")"; }
service_alive() {
  local pid
  pid=$(service_pid "$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# spawn_service NAME[@INSTANCE] [VAR=VALUE...]: starts build/$MODE/bin/crm-NAME
# in the background with the shipped definitions (CRM_STAFF_FILE,
# CRM_LEADS_PIPELINE) and the extra environment; stdout (JSON lines) goes to
# $T_DIR/<instance>.log, stderr to <instance>.err (appended across restarts).
spawn_service() {
  local spec=$1
  shift
  local name inst var port
  name=$(_svc_name "$spec")
  inst=$(_svc_inst "$spec")
  need_bin "crm-$name"
  if service_alive "$spec"; then fail "start_service $spec: already running"; fi
  var="CRM_${name^^}_PORT"
  port=${!var:-}
  local kv_
  for kv_ in "$@"; do [[ $kv_ == "$var="* ]] && port=${kv_#*=}; done
  [[ -n $port ]] || fail "start_service $spec: no port ($var)"
  env CRM_STAFF_FILE="$SHIPPED_STAFF_FILE" CRM_LEADS_PIPELINE="$SHIPPED_LEADS_PIPELINE" "$@" \
    "$BIN/crm-$name" >>"$T_DIR/$inst.log" 2>>"$T_DIR/$inst.err" </dev/null &
  SVC_PID[$inst]=$!
  SVC_PORT[$inst]=$port
  echo "${SVC_PID[$inst]}" >"$T_DIR/.pid.$inst"
  note "started $inst (pid ${SVC_PID[$inst]}, port $port${*:+, $*})"
}

# service_ready NAME[@I] [TIMEOUT_S]: waits until the instance answers
# Status on its command endpoint (it has connected its database, run its
# migrations and entered its loop); fails if it exits first.
service_ready() {
  local spec=$1 timeout=${2:-120} out
  if ! out=$(bus status "$(service_endpoint "$spec")" --wait "$timeout" --pid "$(service_pid "$spec")" \
    --service "$(_svc_name "$spec")"); then
    fail "$spec did not answer Status: $out"
  fi
  note "$spec ready"
}

start_service() {
  spawn_service "$@"
  service_ready "$1"
}

# status_of NAME[@I]: its StatusReply as one JSON line (fails if no answer).
status_of() {
  local out
  out=$(bus status "$(service_endpoint "$1")" --wait "${2:-10}") || fail "$1 did not answer Status: $out"
  printf '%s\n' "$out"
}

# kill_service NAME[@I] [SIGNAL]: sends SIGNAL (default TERM) and waits
# until the process has exited (SIGKILL after 60 s). Its exit status is
# recorded; after TERM/INT a non-zero one fails the test (at its end).
kill_service() {
  local spec=$1 sig=${2:-TERM} inst pid
  inst=$(_svc_inst "$spec")
  pid=${SVC_PID[$inst]:-}
  [[ -n $pid ]] || fail "kill_service $spec: not started"
  kill -s "$sig" "$pid" 2>/dev/null || true
  _reap "$inst" "$sig"
}

# _reap INSTANCE SIGNAL: waits for the signalled instance to exit.
_reap() {
  local inst=$1 sig=$2 pid rc
  pid=${SVC_PID[$inst]}
  local end=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    note "$inst did not exit within 60 s of SIG$sig; SIGKILL"
    echo "$inst SIG$sig timeout" >>"$T_DIR/.exits"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  echo "$inst SIG$sig $rc" >>"$T_DIR/.exits"
  unset "SVC_PID[$inst]"
  rm -f "$T_DIR/.pid.$inst"
  note "stopped $inst with SIG$sig (exit $rc)"
}

# stop_all: SIGTERM to every service still running (all at once), then
# waits for each.
stop_all() {
  local inst
  for inst in "${!SVC_PID[@]}"; do
    kill -TERM "${SVC_PID[$inst]}" 2>/dev/null || true
  done
  for inst in "${!SVC_PID[@]}"; do
    _reap "$inst" TERM
  done
}

# start_all [VAR=VALUE...]: the five services, each waited for.
start_all() {
  local s
  for s in leads deals tasks notifier timer; do spawn_service "$s" "$@"; done
  for s in leads deals tasks notifier timer; do service_ready "$s"; done
}

# ---------------------------------------------------------------- fake source

# fake_source NAME PORT: starts tests/tools/bus.py fake-source (a source
# service NAME on base port PORT), fed JSON commands through a FIFO on fd 7
# by `fake JSON`; its output in $T_DIR/fake-NAME.out. It exits when the
# test ends (EOF) or on {"op": "quit"}.
fake_source() {
  local fifo=$T_DIR/fake-$1.ctl
  mkfifo "$fifo"
  "$PY" "$TOOLS/bus.py" fake-source "$1" "$2" <"$fifo" >"$T_DIR/fake-$1.out" 2>&1 &
  FAKE_PID=$!
  exec 7>"$fifo"
  wait_until 30 grep -q '^ready' "$T_DIR/fake-$1.out" || fail "fake source $1 did not start: $(cat "$T_DIR/fake-$1.out")"
}

fake() { printf '%s\n' "$1" >&7; }

# fake_wait_line REGEX [TIMEOUT_S]: waits for a line of the fake bench source.
fake_wait_line() {
  wait_until "${2:-60}" grep -qE "$1" "$T_DIR/fake-bench.out" ||
    fail "the fake source never printed /$1/: $(tail -n 5 "$T_DIR/fake-bench.out")"
}

# ---------------------------------------------------------------- case runner

# bash tests/lib.sh --case FILE FUNCTION DIR: runs one test case (tests/run.sh).
if [[ ${1:-} == --case ]]; then
  T_FILE=$2
  T_FN=$3
  T_DIR=$4
  T_NAME=$(basename "$T_DIR")
  export T_DIR T_NAME
  cd "$CRM_ROOT" || exit 1
  # shellcheck disable=SC1090
  source "$T_FILE"
  trap 'stop_all' EXIT
  set -eE -o pipefail
  trap '_on_err $? "$BASH_COMMAND"' ERR
  note "case $T_NAME"
  "$T_FN"
  note "case $T_NAME done"
  exit 0
fi

#!/usr/bin/env bash
# scripts/demo.sh - one lead through the whole sales process, printed step
# by step: what was done, by whom (crmctl, as people would), and what the
# system did in answer (history lines with the rule behind each, tasks,
# notifications, timers). Then everything it started is stopped.
#
#   make demo           # builds the release binaries, then runs this
#   scripts/demo.sh     # the same, binaries already built
#
# It runs apart from `make run`: its own Postgres cluster (build/demo-pg,
# port 55439, database crm_demo, made afresh) and its own ports (base 5750:
# leads 5750, deals 5760, tasks 5770, notifier 5780, timer 5790). Override
# with CRM_DEMO_PG_DIR, CRM_DEMO_PGPORT, CRM_DEMO_PORT_BASE. The deal's
# payment chase is shortened to CRM_DEMO_CHASE (default 8s) with
# CRM_DURATIONS on the deals service. Service logs: build/demo-logs/.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/build/release/bin
LOGS=$ROOT/build/demo-logs
SERVICES=(leads deals tasks notifier timer)
CHASE=${CRM_DEMO_CHASE:-8s}

export CRM_PG_DIR=${CRM_DEMO_PG_DIR:-$ROOT/build/demo-pg}
export PGPORT=${CRM_DEMO_PGPORT:-55439}
export PGDATABASE=crm_demo
base=${CRM_DEMO_PORT_BASE:-5750}
export CRM_LEADS_PORT=$base CRM_DEALS_PORT=$((base + 10)) CRM_TASKS_PORT=$((base + 20))
export CRM_NOTIFIER_PORT=$((base + 30)) CRM_TIMER_PORT=$((base + 40))
export CRM_TIME_ZONE=${CRM_TIME_ZONE:-Europe/Moscow}
unset CRM_DURATIONS CRM_LEADS_PIPELINE CRM_DEALS_PIPELINE CRM_STAFF_FILE CRM_USER

say() { echo "demo.sh: $*" >&2; }
die() { say "$*"; exit 1; }

for s in "${SERVICES[@]}"; do
  [[ -x $BIN/crm-$s ]] || die "$BIN/crm-$s is missing: run 'make demo' (or 'make MODE=release all')"
done
[[ -x $BIN/crmctl ]] || die "$BIN/crmctl is missing: run 'make demo'"
crmctl() { "$BIN/crmctl" "$@"; }
psql_q() { scripts/pg.sh psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# ---- stopping what we started, whatever way we leave
declare -A PID=()
PG_STARTED=false
stop_all() {
  trap '' INT TERM HUP
  local s
  for s in "${SERVICES[@]}"; do
    [[ -n ${PID[$s]:-} ]] && kill -TERM "${PID[$s]}" 2>/dev/null || true
  done
  for s in "${SERVICES[@]}"; do
    [[ -n ${PID[$s]:-} ]] && wait "${PID[$s]}" 2>/dev/null || true
  done
  $PG_STARTED && scripts/pg.sh stop >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap 'echo >&2; say "interrupted"; exit 130' INT TERM HUP

# ---- Postgres and the five services
out=$(scripts/pg.sh start) || die "cannot start Postgres: $out"
[[ $out == *"already running"* ]] || PG_STARTED=true
eval "$(scripts/pg.sh env)"
scripts/pg.sh dropdb "$PGDATABASE" >/dev/null
scripts/pg.sh createdb "$PGDATABASE" >/dev/null
mkdir -p "$LOGS"
for s in "${SERVICES[@]}"; do
  extra=()
  [[ $s == deals ]] && extra=(CRM_DURATIONS="payment_chase=$CHASE")
  env CRM_HEARTBEAT_MS=200 "${extra[@]}" "$BIN/crm-$s" </dev/null >"$LOGS/$s.log" 2>&1 &
  PID[$s]=$!
done
ready() {
  local status s
  status=$(crmctl status --json --timeout 500 2>/dev/null) || return 1
  for s in "${SERVICES[@]}"; do
    kill -0 "${PID[$s]}" 2>/dev/null || die "crm-$s stopped during start-up (see $LOGS/$s.log)"
    grep -q "\"service\":\"$s\"[^}]*\"pid\":${PID[$s]}[,}]" <<<"$status" ||
      die "port of $s is answered by another process: choose other ports (CRM_DEMO_PORT_BASE)"
  done
}
deadline=$((SECONDS + 60))
until ready; do
  ((SECONDS < deadline)) || die "the services did not answer within 60 s (logs in $LOGS)"
  sleep 0.2
done

# ---- printing what happens
SETTLED_Q="SELECT 0"
for pair in deals:leads deals:tasks deals:timer tasks:leads tasks:deals tasks:timer notifier:leads \
  notifier:deals notifier:tasks notifier:timer timer:leads timer:deals timer:tasks leads:tasks leads:timer; do
  SETTLED_Q+=" + (CASE WHEN coalesce((SELECT last_sequence FROM ${pair%%:*}.consumer_offset
    WHERE source = '${pair#*:}'), 0) = (SELECT last_sequence FROM ${pair#*:}.outbox_head) THEN 0 ELSE 1 END)"
done

# settle: waits until every service has applied what its sources published.
settle() {
  local end=$((SECONDS + 60))
  until [[ $(psql_q "$SETTLED_Q") == 0 ]]; do
    ((SECONDS < end)) || die "the services did not settle within 60 s (logs in $LOGS)"
    sleep 0.1
  done
}

STEP=0
SEEN_NOTE=0
declare -A SEEN_HISTORY=()
B=$'\e[1m' D=$'\e[2m' N=$'\e[0m'
[[ -t 1 ]] || B='' D='' N=''

# step WHO TEXT: a heading.
step() {
  STEP=$((STEP + 1))
  printf '\n%s%d. %s%s  %s(%s)%s\n' "$B" "$STEP" "$2" "$N" "$D" "$1" "$N"
}

# run CMD...: shows the crmctl command and its output.
run() {
  local shown="" a
  for a in "$@"; do [[ $a == *[[:space:]]* ]] && shown+=" '$a'" || shown+=" $a"; done
  printf '   $ crmctl%s\n' "$shown"
  crmctl "$@" | sed 's/^/     /'
}

# answer RECORD...: what the system did since the last answer, once
# settled: the records' new history lines, new notifications, and the
# pending timers of the records.
answer() {
  settle
  local r kind id lines n
  for r in "$@"; do
    kind=${r%%:*} id=${r#*:}
    lines=$(crmctl "$kind" show "$id" --json)
    n=${SEEN_HISTORY[$r]:-0}
    jq -r --argjson n "$n" '.history[$n:][] | "     " + (if .rule == "" then .actor else "rule " + .rule end)
      + ": " + .action + (if .detail == "" then "" else " — " + .detail end)' <<<"$lines" |
      sed "s/^/${D}   ${r}${N}/"
    SEEN_HISTORY[$r]=$(jq '.history | length' <<<"$lines")
  done
  psql_q "SELECT id, recipient, text FROM notifier.notification WHERE id > $SEEN_NOTE ORDER BY id" |
    while IFS='|' read -r nid who text; do printf '   notification → %s: %s\n' "$who" "$text"; done
  SEEN_NOTE=$(psql_q "SELECT coalesce(max(id), 0) FROM notifier.notification")
  for r in "$@"; do
    [[ $r == deal:* ]] || continue
    crmctl deal show "${r#deal:}" --json |
      jq -r '.timers[] | "   timer pending: \(.timer) at \(.due) (\(.key))"'
  done
}

# task_of RECORD TAG: the id of the record's task tagged TAG.
task_of() { crmctl tasks --record "$1" --json | jq -er --arg t "$2" '[.[] | select(.tag == $t)] | max_by(.id) | .id'; }

# wait_note LIKE WHAT: waits (up to 90 s) for a notification whose request key is LIKE.
wait_note() {
  printf '   %s… waiting for %s%s\n' "$D" "$2" "$N"
  local end=$((SECONDS + 90))
  until [[ $(psql_q "SELECT count(*) FROM notifier.notification WHERE request_key LIKE '$1'") != 0 ]]; do
    ((SECONDS < end)) || die "no $2 within 90 s (logs in $LOGS)"
    sleep 0.2
  done
}

printf '%sThe whole sales process, one lead from the website to a won deal.%s\n' "$B" "$N"
printf 'Five services on ports %s..%s, Postgres %s; times in %s; payment_chase=%s.\n' \
  "$base" $((base + 43)) "$PGPORT" "$CRM_TIME_ZONE" "$CHASE"

# ---- the lead funnel
step website "A lead arrives from the website, with no responsible"
run lead submit --source-system website --external-id demo-1 --name "Анна Клиентова" \
  --company "ООО Ромашка" --phone "+7 900 111-22-33" --email anna@example.com
LEAD=$(crmctl leads --json | jq -r '.[0].lead_id')
answer "lead:$LEAD"

step ivanov "The manager takes the lead into work"
run lead move "$LEAD" in_progress --as ivanov
answer "lead:$LEAD"

CALL=$(TZ=$CRM_TIME_ZONE date -d "tomorrow 11:00" '+%Y-%m-%d %H:%M')
step ivanov "The proposal is sent; the next call is set"
run task complete "$(task_of "lead:$LEAD" proposal)" --comment "КП отправлено" --as ivanov
run lead move "$LEAD" answer_given --set "next_call_at=$CALL" --as ivanov
answer "lead:$LEAD"

step ivanov "The client agrees: the lead is converted"
run lead move "$LEAD" converted --as ivanov
settle
DEAL=$(crmctl deals --json | jq -r ".[] | select(.lead_id == $LEAD) | .deal_id")
answer "lead:$LEAD" "deal:$DEAL"

# ---- the deal «Новый клиент»
step ivanov "The manager fills in the order and asks for the invoice"
run deal move "$DEAL" invoice --set service_type=design_print --set designer_needed=yes \
  --set supplier_prepaid=yes --as ivanov
answer "deal:$DEAL"

INVOICE=$LOGS/invoice-$DEAL.pdf
printf '%%PDF-1.4\n%% Счет на оплату по сделке №%s\n' "$DEAL" >"$INVOICE"
step petrova "The accountant attaches the invoice and completes her task"
run task complete "$(task_of "deal:$DEAL" invoice)" --attach "$INVOICE" --as petrova
answer "deal:$DEAL"

step system "No payment yet"
wait_note "deal:$DEAL:%:payment-chase:%" "the payment chase ($CHASE after entering awaiting_payment)"
answer "deal:$DEAL"

step ivanov "The money arrives"
run deal move "$DEAL" paid --as ivanov
answer "deal:$DEAL"

SUPPLY=$(TZ=$CRM_TIME_ZONE date -d "tomorrow 10:00" '+%Y-%m-%d %H:%M')
step ivanov "The supply is arranged: the driver collects it"
run task complete "$(task_of "deal:$DEAL" supplier_invoice)" --as petrova
run deal move "$DEAL" supply --set supplier_pickup=driver_pickup --set "supply_at=$SUPPLY" --as ivanov
answer "deal:$DEAL"

END=$(TZ=$CRM_TIME_ZONE date -d "@$(($(date +%s) + 10))" '+%Y-%m-%d %H:%M:%S')
step "sidorov, kuznetsova, ivanov" "Goods collected, design ready: production starts"
run task complete "$(task_of "deal:$DEAL" pickup)" --as sidorov
run task complete "$(task_of "deal:$DEAL" design)" --comment "макет утверждён клиентом" --as kuznetsova
run deal move "$DEAL" production --set "production_end_at=$END" --as ivanov
answer "deal:$DEAL"

step system "Production should be over by now"
wait_note "deal:$DEAL:%:production-end:%" "the notice at production_end_at"
answer "deal:$DEAL"

step ivanov "Production is done; the cargo goes by courier"
run deal move "$DEAL" production_done --set delivery_mode=courier --as ivanov
answer "deal:$DEAL"

step ivanov "The cargo is on its way"
run deal move "$DEAL" shipped --as ivanov
answer "deal:$DEAL"

step ivanov "The courier has delivered: the manager completes the delivery task"
run task complete "$(task_of "deal:$DEAL" delivery)" --as ivanov
answer "deal:$DEAL"

step petrova "The closing documents are collected"
run task complete "$(task_of "deal:$DEAL" closing)" --as petrova
answer "deal:$DEAL"

step everyone "The deal, as crmctl deal show prints it"
run deal show "$DEAL"
printf '\n%sDone: lead %s became deal %s, won. Stopping the services and Postgres.%s\n' "$B" "$LEAD" "$DEAL" "$N"

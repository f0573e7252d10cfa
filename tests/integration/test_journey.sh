# The whole sales process (process.md §1-§3) through the five real
# services: leads arrive, go through the funnel and become deals, and each
# deal goes through «Новый клиент» to won (or lost), driven with crmctl as
# people would: the manager moves, the accountant, driver and designer
# complete their tasks (crmctl task complete --as). After every step the
# system is let settle (every service has applied everything its sources
# published) and exactly the deal's stage, tasks (tasks service),
# notifications (notifier), pending timers (timer service and deal show)
# and new history lines are checked: none missing, none doubled.
#
# Each branch is taken by one of the deals: designer needed or not,
# supplier prepaid or not, driver pick-up or the supplier delivers, courier
# or self delivery; the payment chase firing (the deal waits) and cancelled
# (it moves on); the production-end notice firing and cancelled; the
# delivery task completed after the move to shipped and before it (then
# the move goes on to closing_docs at once); lost with a reason from an open
# stage; closed deals refusing moves. And restarts: deals killed with
# SIGKILL mid-journey, leads restarted, LeadConverted replayed to deals.
# payment_chase is shortened with CRM_DURATIONS on the deals service.

export CRM_TIME_ZONE=Europe/Moscow
CHASE_S=12

# start_crm [VAR=VALUE...]: the five services (deals with the short chase
# and the VARs), each waited for.
start_crm() {
  local s
  spawn_service leads CRM_HEARTBEAT_MS=200
  spawn_service deals CRM_HEARTBEAT_MS=200 CRM_DURATIONS=payment_chase=${CHASE_S}s "$@"
  spawn_service tasks CRM_HEARTBEAT_MS=200
  spawn_service notifier CRM_HEARTBEAT_MS=200
  spawn_service timer CRM_HEARTBEAT_MS=200
  for s in leads deals tasks notifier timer; do service_ready "$s"; done
}

# SETTLED_Q: how many (consumer, source) pairs of the default subscriptions
# have not applied everything the source committed (0: nothing in flight).
SETTLED_Q="SELECT 0"
for pair in deals:leads deals:tasks deals:timer tasks:leads tasks:deals tasks:timer notifier:leads \
  notifier:deals notifier:tasks notifier:timer timer:leads timer:deals timer:tasks leads:tasks leads:timer; do
  SETTLED_Q+=" + (CASE WHEN coalesce((SELECT last_sequence FROM ${pair%%:*}.consumer_offset
    WHERE source = '${pair#*:}'), 0) = (SELECT last_sequence FROM ${pair#*:}.outbox_head) THEN 0 ELSE 1 END)"
done
unset pair

settle() { wait_sql 120 "$SETTLED_Q" 0 "every service has applied what its sources published"; }

# deal_for EXT NAME COMPANY: a lead (responsible ivanov) through the funnel
# to converted; prints the id of the deal opened for it.
deal_for() {
  local out lead
  out=$(crmctl lead submit --source-system web --external-id "$1" --name "$2" --company "$3" \
    --phone "+7 900 000-00-0${#1}" --responsible ivanov) || fail "submit $1: $out"
  [[ $out =~ ^lead\ ([0-9]+)\ created$ ]] || fail "submit $1 printed '$out'"
  lead=${BASH_REMATCH[1]}
  crmctl lead move "$lead" in_progress --as ivanov >/dev/null
  crmctl lead move "$lead" answer_given --set "next_call_at=2030-01-15 10:00" --as ivanov >/dev/null
  crmctl lead move "$lead" converted --as ivanov >/dev/null
  wait_until 60 eval "crmctl deals --json | jq -e 'any(.[]; .lead_id == $lead)'" ||
    fail "no deal for lead $lead: $(crmctl deals 2>&1)"
  crmctl deals --json | jq -r ".[] | select(.lead_id == $lead) | .deal_id"
}

# dmove ID STAGE [options]: crmctl deal move as ivanov (the responsible).
dmove() { crmctl deal move "$@" --as ivanov; }

# refused CODE CMD...: crmctl CMD fails (exit 1) with CODE; prints its error.
refused() {
  local code=$1 rc=0 err
  shift
  err=$(crmctl "$@" 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc" 1 "crmctl $* exit status"
  assert_contains "$err" "$code: " "crmctl $*"
  printf '%s\n' "$err"
}

# task_of DEAL TAG: the id of the deal's (last) task tagged TAG in the tasks service.
task_of() {
  crmctl tasks --record "deal:$1" --json | jq -er --arg t "$2" '[.[] | select(.tag == $t)] | max_by(.id) | .id'
}

# complete TASK LOGIN [options]: LOGIN completes TASK.
complete() { assert_contains "$(crmctl task complete "$1" --as "$2" "${@:3}")" "task $1 completed" "completing task $1"; }

# tasks_of DEAL: the deal's tasks in the tasks service, oldest first:
# tag/responsible[+co-executors]/status.
tasks_of() {
  crmctl tasks --record "deal:$1" --json | jq -r 'sort_by(.id) | map("\(.tag)/\(.responsible)"
    + (.coexecutors | map("+" + .) | join("")) + "/\(.status)") | join(",")'
}

# notes_of DEAL: the notifications about the deal, sorted: recipient:rule
# (the rule of the deal's request key; "task" for a task's announcement).
notes_of() {
  sql "SELECT coalesce(string_agg(n, ',' ORDER BY n), '') FROM (SELECT recipient || ':' || CASE WHEN
       request_key LIKE 'task:%' THEN 'task' ELSE split_part(request_key, ':', 4) END AS n
       FROM notifier.notification WHERE correlation_id = 'deal:$1') x"
}

# note_text DEAL RULE: the text of the deal's notification by RULE.
note_text() {
  sql "SELECT text FROM notifier.notification WHERE correlation_id = 'deal:$1'
       AND split_part(request_key, ':', 4) = '$2'"
}

# timers_of DEAL: the deal's pending timers in the timer service (owner
# deals), which must be those deal show lists.
timers_of() {
  local svc mine
  svc=$(bus call "$(service_endpoint timer)" ListTimers "{\"owner\": \"deals\", \"key_prefix\": \"deal:$1:\"}" |
    jq -r '[.result.timers[]?.key | split(":")[2]] | join(",")')
  mine=$(crmctl deal show "$1" --json | jq -r '[.timers[].timer] | join(",")')
  [[ $svc == "$mine" ]] || fail "timers of deal $1: the timer service has '$svc', deal show '$mine'"
  printf '%s\n' "$svc"
}

# timer_state DEAL TIMER: pending, fired or cancelled, in the timer service.
timer_state() { sql "SELECT state FROM timer.timer WHERE owner = 'deals' AND key = 'deal:$1:$2'"; }

declare -gA SEEN=()

# expect DEAL WHAT STAGE TASKS NOTES TIMERS HISTORY: once settled, the deal
# is at STAGE with exactly these tasks, notifications and timers, and these
# history lines (actor/rule/action) were added since the last expect.
expect() {
  local d=$1 what=$2 show tasks
  settle
  show=$(crmctl deal show "$d" --json)
  assert_eq "$(jq -r .stage <<<"$show")" "$3" "$what: stage"
  tasks=$(tasks_of "$d")
  assert_eq "$tasks" "$4" "$what: tasks"
  assert_eq "$(jq -r '.tasks | sort_by(.task_id) | map("\(.tag)/\(.responsible)/"
      + (if .completed then "completed" else "open" end)) | join(",")' <<<"$show")" \
    "$(sed 's/+[a-z]*//g' <<<"$tasks")" "$what: the deal's own list of its tasks"
  assert_eq "$(notes_of "$d")" "$5" "$what: notifications"
  assert_eq "$(timers_of "$d")" "$6" "$what: timers"
  assert_eq "$(jq -r --argjson n "${SEEN[$d]:-0}" '.history[$n:] | map("\(.actor)/\(.rule)/\(.action)")
      | join(",")' <<<"$show")" "$7" "$what: new history"
  SEEN[$d]=$(jq '.history | length' <<<"$show")
  note "$what: ok"
}

# at SECONDS: the moment SECONDS from now in whole seconds: AT_S (epoch
# seconds) and AT ("YYYY-MM-DD HH:MM:SS" in Moscow).
at() {
  AT_S=$(($(date +%s) + $1))
  AT=$(TZ=Europe/Moscow date -d "@$AT_S" '+%Y-%m-%d %H:%M:%S')
}

# moved DEAL: the stages of the deal's DealMoved events, in order.
moved() {
  sql "SELECT encode(envelope, 'hex') FROM deals.outbox WHERE type = 'DealMoved' AND correlation_id = 'deal:$1'
       ORDER BY sequence" | bus decode | jq -r '.payload.to_stage' | paste -sd,
}

# ---------------------------------------------------------------- deal A

# Designer needed, supplier prepaid, driver pick-up, courier; the chase and
# the production-end notice fire; delivery completed after shipped.
test_journey_designer_prepaid_driver_courier() {
  fresh_db
  start_crm
  local a t out inv
  a=$(deal_for a1 "Анна Клиентова" "ООО Ромашка")
  assert_eq "$(crmctl deal show "$a" --json | jq -c '[.title, .responsible, .name, .company, .lead_id]')" \
    '["ООО Ромашка","ivanov","Анна Клиентова","ООО Ромашка",1]' "the deal opened from the lead"
  expect "$a" "opened" new "" "" "" "system//opened,system//created"

  out=$(dmove "$a" invoice --set service_type=design_print --set designer_needed=yes --set supplier_prepaid=yes)
  assert_eq "$out" "deal $a: invoice, version 2" "new -> invoice"
  expect "$a" "invoice" invoice "invoice/petrova/open" "petrova:task" "" \
    "ivanov//set,ivanov//moved,system/invoice-task/task requested,ivanov//task created"
  inv=$(task_of "$a" invoice)
  assert_eq "$(crmctl tasks --record "deal:$a" --json | jq -r '.[0] | "\(.title)|\(.creator)|\(.description)"')" \
    "Подготовить счет|ivanov|Сделка №$a: ООО Ромашка. Приложите счет к задаче и завершите её" "the invoice task"

  # The accountant attaches the invoice and completes the task.
  printf '%%PDF-1.4 счёт №1\n' >"$T_DIR/invoice-$a.pdf"
  complete "$inv" petrova --attach "$T_DIR/invoice-$a.pdf"
  expect "$a" "invoice completed" awaiting_payment "invoice/petrova/completed" "ivanov:invoice-ready,petrova:task" \
    payment-chase \
    "petrova//task completed,system/invoice-ready/notified,system/invoice-ready/moved,system/payment-chase-start/timer set"
  assert_eq "$(note_text "$a" invoice-ready)" \
    "Счет по сделке №$a (ООО Ромашка) готов, он во вложении к задаче №$inv: отправьте его клиенту" \
    "the manager is told to send the invoice, attached to the task"
  assert_contains "$(crmctl deal show "$a" --json | jq -r '.history[] | select(.action == "task completed") | .detail')" \
    "задача №$inv, вложения: invoice-$a.pdf" "history: the attachment"
  assert_eq "$(crmctl task attachment "$inv" "invoice-$a.pdf" -o - | sha256sum)" \
    "$(sha256sum <"$T_DIR/invoice-$a.pdf")" "the invoice, from the task"

  # The deal waits in awaiting_payment: the chase comes, once.
  wait_sql $((CHASE_S + 60)) "SELECT count(*) FROM notifier.notification WHERE correlation_id = 'deal:$a'
    AND request_key LIKE '%:payment-chase:%'" 1 "the payment chase"
  expect "$a" "the chase" awaiting_payment "invoice/petrova/completed" \
    "ivanov:invoice-ready,ivanov:payment-chase,petrova:task" "" "system/payment-chase/notified"
  assert_eq "$(timer_state "$a" payment-chase)" fired "the chase timer"
  assert_eq "$(note_text "$a" payment-chase)" \
    "По сделке №$a (ООО Ромашка) оплаты пока нет: свяжитесь с клиентом и узнайте, когда она поступит" "its text"

  dmove "$a" paid >/dev/null
  expect "$a" "paid (prepaid)" paid "invoice/petrova/completed,supplier_invoice/petrova/open" \
    "ivanov:invoice-ready,ivanov:payment-chase,petrova:task,petrova:task" "" \
    "ivanov//moved,system/supplier-invoice/task requested,ivanov//task created"

  dmove "$a" supply --set supplier_pickup=driver_pickup --set "supply_at=2030-03-01 10:00" >/dev/null
  expect "$a" "supply (driver, designer)" supply \
    "invoice/petrova/completed,supplier_invoice/petrova/open,pickup/sidorov/open,design/kuznetsova/open" \
    "ivanov:invoice-ready,ivanov:payment-chase,kuznetsova:task,petrova:task,petrova:task,sidorov:task" "" \
    "ivanov//set,ivanov//moved,system/driver-pickup/task requested,system/designer/task requested,ivanov//task created,ivanov//task created"
  assert_eq "$(crmctl tasks --record "deal:$a" --json | jq -r '.[] | select(.tag == "pickup") | "\(.deadline_ms) \(.creator)"')" \
    "$(($(TZ=Europe/Moscow date -d "2030-03-01 10:00" +%s) * 1000)) ivanov" "the pick-up task is due at supply_at"

  at 25
  dmove "$a" production --set "production_end_at=$AT" >/dev/null
  local notes="ivanov:invoice-ready,ivanov:payment-chase,ivanov:production-notice,kuznetsova:task,petrova:task,petrova:task,sidorov:task"
  local tasks="invoice/petrova/completed,supplier_invoice/petrova/open,pickup/sidorov/open,design/kuznetsova/open"
  expect "$a" "production" production "$tasks" "$notes" production-end \
    "ivanov//set,ivanov//moved,system/production-notice/notified,system/production-notice/timer set"
  assert_eq "$(note_text "$a" production-notice)" \
    "Сделка №$a (ООО Ромашка) в производстве: поставьте задачу производственному отделу" "the production notice"
  wait_sql 90 "SELECT count(*) FROM notifier.notification WHERE correlation_id = 'deal:$a'
    AND request_key LIKE '%:production-end:%'" 1 "the notice at production_end_at"
  notes="ivanov:invoice-ready,ivanov:payment-chase,ivanov:production-end,ivanov:production-notice,kuznetsova:task,petrova:task,petrova:task,sidorov:task"
  expect "$a" "production end" production "$tasks" "$notes" "" "system/production-end/notified"
  assert_eq "$(sql "SELECT fired_ms >= $((AT_S * 1000)) FROM timer.timer WHERE key = 'deal:$a:production-end'")" t \
    "fired at production_end_at, not before"

  dmove "$a" production_done --set delivery_mode=courier >/dev/null
  tasks+=",delivery/ivanov+petrova/open"
  notes="ivanov:invoice-ready,ivanov:payment-chase,ivanov:production-end,ivanov:production-notice,ivanov:task,kuznetsova:task,petrova:task,petrova:task,petrova:task,sidorov:task"
  expect "$a" "production_done (courier)" production_done "$tasks" "$notes" "" \
    "ivanov//set,ivanov//moved,system/courier-delivery/task requested,ivanov//task created"
  t=$(task_of "$a" delivery)
  assert_eq "$(crmctl tasks --record "deal:$a" --json | jq -r ".[] | select(.id == $t) | \"\(.title)|\(.creator)\"")" \
    "Подготовить документы и вызвать курьера для отправки груза|ivanov" "the courier task"

  local v
  v=$(crmctl deal show "$a" --json | jq .version)
  assert_eq "$(dmove "$a" shipped)" "deal $a: shipped, version $((v + 1))" "production_done -> shipped, the delivery open"
  expect "$a" "shipped" shipped "$tasks" "$notes" "" "ivanov//moved"

  # The manager completes the delivery task: on to closing_docs.
  complete "$t" ivanov
  tasks="invoice/petrova/completed,supplier_invoice/petrova/open,pickup/sidorov/open,design/kuznetsova/open,delivery/ivanov+petrova/completed,closing/ivanov+petrova/open"
  notes="ivanov:invoice-ready,ivanov:payment-chase,ivanov:production-end,ivanov:production-notice,ivanov:task,ivanov:task,kuznetsova:task,petrova:task,petrova:task,petrova:task,petrova:task,sidorov:task"
  expect "$a" "delivered" closing_docs "$tasks" "$notes" "" \
    "ivanov//task completed,system/delivered/moved,system/closing-docs/task requested,ivanov//task created"

  # The accountant (a co-executor) completes the closing documents: won.
  complete "$(task_of "$a" closing)" petrova
  expect "$a" "won" won "${tasks%/open}/completed" "$notes" "" "petrova//task completed,system/closed/moved"
  assert_eq "$(moved "$a")" "invoice,awaiting_payment,paid,supply,production,production_done,shipped,closing_docs,won" \
    "DealMoved events"
  assert_eq "$(sql "SELECT count(*) FROM deals.outbox WHERE type = 'DealOpened'")" 1 "DealOpened events"

  # A won deal is closed.
  local before outbox err
  before=$(crmctl deal show "$a" --json | jq -c '[.stage, .version, (.history | length)]')
  outbox=$(sql "SELECT last_sequence FROM deals.outbox_head")
  err=$(refused MOVE_NOT_ALLOWED deal move "$a" closing_docs --as ivanov)
  assert_contains "$err" "deal $a is closed (won «Сделка успешна»)" "moving a won deal"
  refused MOVE_NOT_ALLOWED deal lose "$a" --reason "передумали" --as ivanov >/dev/null
  assert_eq "$(crmctl deal show "$a" --json | jq -c '[.stage, .version, (.history | length)]')" "$before" \
    "the won deal after the refusals"
  assert_eq "$(sql "SELECT last_sequence FROM deals.outbox_head")" "$outbox" "events after the refusals"
  assert_contains "$(crmctl deal show "$a")" "closing          Собрать закрывающие документы → ivanov  (rule closing-docs)" \
    "crmctl deal show"
  assert_eq "$(sql "SELECT count(*) FROM deals.dead_letter") $(sql "SELECT count(*) FROM tasks.dead_letter")" "0 0" \
    "dead letters (deals, tasks)"
}

# ---------------------------------------------------------------- deals B and C

# B: no designer, supplier not prepaid, the supplier delivers, self
# delivery; the chase and the production-end notice cancelled by moving on;
# the delivery task completed before shipped. C: lost with a reason while
# the chase is pending.
test_journey_no_designer_self_delivery_and_lost() {
  local CHASE_S=30  # time enough to move on before it on a busy machine
  fresh_db
  start_crm
  local b c t err out notes
  b=$(deal_for b1 "Борис Покупатель" "ООО Лютик")
  c=$(deal_for c1 "Вера Сомневающаяся" "")
  assert_eq "$(crmctl deal show "$c" --json | jq -r .title)" "Вера Сомневающаяся" "a deal without a company: the name"
  expect "$b" "B opened" new "" "" "" "system//opened,system//created"

  dmove "$b" invoice --set service_type=design --set designer_needed=no --set supplier_prepaid=no >/dev/null
  expect "$b" "B invoice" invoice "invoice/petrova/open" "petrova:task" "" \
    "ivanov//set,ivanov//moved,system/invoice-task/task requested,ivanov//task created"
  complete "$(task_of "$b" invoice)" petrova
  expect "$b" "B invoice completed" awaiting_payment "invoice/petrova/completed" "ivanov:invoice-ready,petrova:task" \
    payment-chase \
    "petrova//task completed,system/invoice-ready/notified,system/invoice-ready/moved,system/payment-chase-start/timer set"

  # The money comes before the chase: it is cancelled; not prepaid: no task.
  dmove "$b" paid >/dev/null
  expect "$b" "B paid" paid "invoice/petrova/completed" "ivanov:invoice-ready,petrova:task" "" "ivanov//moved,system/payment-chase-start/timer cancelled"
  assert_eq "$(timer_state "$b" payment-chase)" cancelled "B's chase timer"

  dmove "$b" supply --set supplier_pickup=supplier_delivers --set "supply_at=01.03.2030 10:00" >/dev/null
  expect "$b" "B supply (no pick-up, no designer)" supply "invoice/petrova/completed" \
    "ivanov:invoice-ready,petrova:task" "" "ivanov//set,ivanov//moved"

  at 3600
  dmove "$b" production --set "production_end_at=$AT" >/dev/null
  notes="ivanov:invoice-ready,ivanov:production-notice,petrova:task"
  expect "$b" "B production" production "invoice/petrova/completed" "$notes" production-end \
    "ivanov//set,ivanov//moved,system/production-notice/notified,system/production-notice/timer set"
  assert_eq "$(crmctl deal show "$b" --json | jq -r '.timers[0] | "\(.key) \(.due_ms)"')" \
    "deal:$b:production-end $((AT_S * 1000))" "the timer deal show lists"

  # Production finished early: the notice at production_end_at is cancelled.
  dmove "$b" production_done --set delivery_mode=self >/dev/null
  notes="ivanov:invoice-ready,ivanov:production-notice,petrova:task,sidorov:task"
  expect "$b" "B production_done (self)" production_done "invoice/petrova/completed,delivery/sidorov/open" "$notes" "" \
    "ivanov//set,ivanov//moved,system/production-notice/timer cancelled,system/self-delivery/task requested,ivanov//task created"
  assert_eq "$(timer_state "$b" production-end)" cancelled "B's production-end timer"
  t=$(task_of "$b" delivery)
  assert_eq "$(crmctl tasks --record "deal:$b" --json | jq -r ".[] | select(.id == $t) | \"\(.title)|\(.creator)|\(.coexecutors | length)\"")" \
    "Доставить груз клиенту|ivanov|0" "the self-delivery task"

  # The driver delivers before the manager marks it shipped ...
  complete "$t" sidorov
  expect "$b" "B delivered early" production_done "invoice/petrova/completed,delivery/sidorov/completed" "$notes" "" \
    "sidorov//task completed"
  # ... so the move to shipped goes on to closing_docs at once.
  out=$(dmove "$b" shipped)
  assert_contains "$out" "deal $b: closing_docs, version" "production_done -> shipped -> closing_docs"
  notes="ivanov:invoice-ready,ivanov:production-notice,ivanov:task,petrova:task,petrova:task,sidorov:task"
  expect "$b" "B closing_docs" closing_docs \
    "invoice/petrova/completed,delivery/sidorov/completed,closing/ivanov+petrova/open" "$notes" "" \
    "ivanov//moved,system/delivered/moved,system/closing-docs/task requested,ivanov//task created"
  complete "$(task_of "$b" closing)" ivanov
  expect "$b" "B won" won "invoice/petrova/completed,delivery/sidorov/completed,closing/ivanov+petrova/completed" \
    "$notes" "" "ivanov//task completed,system/closed/moved"
  assert_eq "$(moved "$b")" "invoice,awaiting_payment,paid,supply,production,production_done,shipped,closing_docs,won" \
    "B's DealMoved events"

  # C is lost while the chase is pending: the chase goes with it.
  dmove "$c" invoice --set service_type=design --set designer_needed=no --set supplier_prepaid=no >/dev/null
  complete "$(task_of "$c" invoice)" petrova
  expect "$c" "C awaiting payment" awaiting_payment "invoice/petrova/completed" "ivanov:invoice-ready,petrova:task" \
    payment-chase "system//opened,system//created,ivanov//set,ivanov//moved,system/invoice-task/task requested,ivanov//task created,petrova//task completed,system/invoice-ready/notified,system/invoice-ready/moved,system/payment-chase-start/timer set"
  err=$(refused INVALID_ARGUMENT deal move "$c" lost --as smirnova)
  assert_contains "$err" "lost_reason («Причина провала») is required for lost «Сделка провалена»" \
    "deal move to lost without a reason"
  local v
  v=$(crmctl deal show "$c" --json | jq .version)
  assert_eq "$(crmctl deal lose "$c" --reason "Клиент выбрал другого поставщика" --as smirnova)" \
    "deal $c: lost, version $((v + 1))" "crmctl deal lose"
  expect "$c" "C lost" lost "invoice/petrova/completed" "ivanov:invoice-ready,petrova:task" "" \
    "smirnova//set,smirnova//moved,system/payment-chase-start/timer cancelled"
  assert_eq "$(timer_state "$c" payment-chase)" cancelled "C's chase timer"
  assert_eq "$(crmctl deal show "$c" --json | jq -r '.fields.lost_reason.display')" "Клиент выбрал другого поставщика" \
    "the reason"
  assert_eq "$(moved "$c")" "invoice,awaiting_payment,lost" "C's DealMoved events"
  err=$(refused MOVE_NOT_ALLOWED deal move "$c" paid --as ivanov)
  assert_contains "$err" "deal $c is closed (lost «Сделка провалена»)" "moving a lost deal"
  refused MOVE_NOT_ALLOWED deal lose "$c" --reason "ещё раз" --as ivanov >/dev/null
  expect "$c" "C after the refusals" lost "invoice/petrova/completed" "ivanov:invoice-ready,petrova:task" "" ""

  # Neither chase came, though the time both were due has passed.
  local due
  due=$(sql "SELECT max(due_ms) FROM timer.timer WHERE owner = 'deals' AND key LIKE '%:payment-chase'")
  wait_until $((CHASE_S + 60)) eval '(($(date +%s%3N) > due + 3000))' ||
    fail "the chase's due time did not pass"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE request_key LIKE '%:payment-chase:%'")" 0 \
    "chase notifications"
  assert_eq "$(crmctl deals --json | jq -c 'map("\(.deal_id):\(.stage)")')" "[\"$c:lost\",\"$b:won\"]" "crmctl deals"
  assert_eq "$(crmctl deals --stage won --json | jq -c 'map(.deal_id)')" "[$b]" "crmctl deals --stage won"
  assert_eq "$(crmctl deals --user smirnova --json | jq length)" 0 "crmctl deals --user smirnova"
  assert_eq "$(sql "SELECT count(*) FROM deals.dead_letter") $(sql "SELECT count(*) FROM tasks.dead_letter")" "0 0" \
    "dead letters (deals, tasks)"
}

# ---------------------------------------------------------------- restarts

restart_deals() {
  kill_service deals "${1:-TERM}"
  start_service deals CRM_HEARTBEAT_MS=200 CRM_DURATIONS=payment_chase=${CHASE_S}s
}

# deals killed with SIGKILL right after a command and right after a task's
# completion, leads restarted, LeadConverted replayed to deals (its offset
# for leads set back to 0), a lead converted while deals is down: one deal
# per lead, and nothing missing or doubled.
test_journey_survives_restarts() {
  local CHASE_S=120  # pending through the restarts below
  fresh_db
  start_crm
  local d e
  d=$(deal_for r1 "Роман Рестартов" "ООО Перезапуск")
  expect "$d" "opened" new "" "" "" "system//opened,system//created"
  dmove "$d" invoice --set service_type=design_print --set designer_needed=no --set supplier_prepaid=yes >/dev/null
  restart_deals KILL
  expect "$d" "invoice, deals killed" invoice "invoice/petrova/open" "petrova:task" "" \
    "ivanov//set,ivanov//moved,system/invoice-task/task requested,ivanov//task created"
  complete "$(task_of "$d" invoice)" petrova
  restart_deals KILL
  expect "$d" "invoice completed, deals killed" awaiting_payment "invoice/petrova/completed" \
    "ivanov:invoice-ready,petrova:task" payment-chase \
    "petrova//task completed,system/invoice-ready/notified,system/invoice-ready/moved,system/payment-chase-start/timer set"

  kill_service leads
  start_service leads CRM_HEARTBEAT_MS=200
  # Every leads event again, LeadConverted among them.
  kill_service deals
  sql "UPDATE deals.consumer_offset SET last_sequence = 0 WHERE source = 'leads'" >/dev/null
  start_service deals CRM_HEARTBEAT_MS=200 CRM_DURATIONS=payment_chase=${CHASE_S}s
  expect "$d" "LeadConverted replayed" awaiting_payment "invoice/petrova/completed" \
    "ivanov:invoice-ready,petrova:task" payment-chase ""
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/deals.log" --msg "lead already has its deal" ||
    fail "deals did not see LeadConverted again"
  assert_eq "$(sql "SELECT count(*) FROM deals.deal") $(sql "SELECT count(*) FROM deals.outbox WHERE type = 'DealOpened'")" \
    "1 1" "deals and DealOpened events"

  dmove "$d" paid >/dev/null
  expect "$d" "paid" paid "invoice/petrova/completed,supplier_invoice/petrova/open" \
    "ivanov:invoice-ready,petrova:task,petrova:task" "" "ivanov//moved,system/payment-chase-start/timer cancelled,system/supplier-invoice/task requested,ivanov//task created"
  assert_eq "$(timer_state "$d" payment-chase)" cancelled "the chase timer"

  # A lead converted while deals is down gets its deal when deals is back.
  kill_service deals KILL
  local out lead
  out=$(crmctl lead submit --source-system web --external-id r2 --name "Ещё Клиент" --responsible smirnova)
  lead=${out#lead }
  lead=${lead%% *}
  crmctl lead move "$lead" in_progress --as smirnova >/dev/null
  crmctl lead move "$lead" answer_given --set "next_call_at=2030-01-15 10:00" --as smirnova >/dev/null
  crmctl lead move "$lead" converted --as smirnova >/dev/null
  start_service deals CRM_HEARTBEAT_MS=200 CRM_DURATIONS=payment_chase=${CHASE_S}s
  settle
  e=$(crmctl deals --json | jq -r ".[] | select(.lead_id == $lead) | .deal_id")
  assert_eq "$(crmctl deal show "$e" --json | jq -c '[.stage, .responsible, .title]')" '["new","smirnova","Ещё Клиент"]' \
    "the deal opened after the restart"
  assert_eq "$(sql "SELECT count(*) FROM deals.deal") $(sql "SELECT count(*) FROM deals.outbox WHERE type = 'DealOpened'")" \
    "2 2" "deals and DealOpened events"
  assert_eq "$(sql "SELECT count(*) FROM deals.dead_letter")" 0 "deals' dead letters"
}

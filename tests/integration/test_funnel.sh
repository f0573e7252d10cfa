# The lead funnel (process.md §1 and §3) in crm-leads, run by the rule
# engine from the shipped definition (deploy/pipelines/lead_funnel.yaml),
# with the real notifier and timer services: assignment, notifications,
# the proposal task, the call activity and its reminder (rescheduled,
# cancelled, missed, across daylight-saving changes), contacts and
# companies of closed leads, the LeadConverted event, the moves refused,
# and a definition that stops the service at start.
#
# The tasks service is stood in for by a fake source "tasks" (bus.py
# fake-source) where a case needs TaskCreated/TaskCompleted; requests the
# leads service makes (TaskRequested, ActivityRequested, TimerRequested,
# ...) are read from its outbox (bus.py decode) or from the timer service.
# Durations are shortened with CRM_DURATIONS.

# The company's zone is the staff file's, Europe/Moscow, as shipped (the
# runner sets UTC for every service); test_time_zone_defaults_to_moscow
# starts the services without it.
export CRM_TIME_ZONE=Europe/Moscow

# start_funnel [VAR=VALUE...]: leads, notifier and timer, each given VARs.
start_funnel() {
  spawn_service leads "$@"
  spawn_service notifier CRM_NOTIFIER_SOURCES=leads "$@"
  spawn_service timer CRM_TIMER_SOURCES=leads "$@"
  service_ready leads
  service_ready notifier
  service_ready timer
}

# submit EXTERNAL_ID [crmctl lead submit options]: prints the new lead's id.
submit() {
  local out
  out=$(crmctl lead submit --source-system web --external-id "$1" "${@:2}") || fail "submit $1: $out"
  [[ $out =~ ^lead\ ([0-9]+)\ created$ ]] || fail "submit $1 printed '$out'"
  printf '%s\n' "${BASH_REMATCH[1]}"
}

# client ID: a lead with the usual contact data, responsible ivanov.
client() {
  submit "$1" --name "Анна Клиентова" --company "ООО Ромашка" --phone "+7 900 111-22-33" --responsible ivanov
}

# move ID STAGE [options]: crmctl lead move as ivanov; prints its line.
move() { crmctl lead move "$@" --as ivanov; }

# refused EXPECTED_CODE ID STAGE [options]: the move fails (exit 1) with
# EXPECTED_CODE; prints crmctl's error line.
refused() {
  local code=$1 rc=0 err
  shift
  err=$(crmctl lead move "$@" --as ivanov 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc" 1 "crmctl lead move $* exit status"
  assert_contains "$err" "$code: " "crmctl lead move $*"
  printf '%s\n' "$err"
}

# lead ID: crmctl lead show ID --json.
lead() { crmctl lead show "$1" --json; }

# state ID: "stage version history-length" of lead ID.
state() { lead "$1" | jq -r '"\(.stage) \(.version) \(.history | length)"'; }

# events TYPE ID: the leads outbox's events of TYPE for lead ID, decoded, one JSON per line.
events() {
  sql "SELECT encode(envelope, 'hex') FROM leads.outbox WHERE type = '$1' AND correlation_id = 'lead:$2'
       ORDER BY sequence" | bus decode
}

event_count() { sql "SELECT count(*) FROM leads.outbox WHERE type = '$1' AND correlation_id = 'lead:$2'"; }
outbox_count() { sql "SELECT count(*) FROM leads.outbox"; }

# at SECONDS [ZONE]: the moment SECONDS from now, whole seconds: sets AT_S
# (epoch seconds) and AT ("YYYY-MM-DD HH:MM:SS" in ZONE, default Moscow).
at() {
  AT_S=$(($(date +%s) + $1))
  AT=$(TZ=${2:-Europe/Moscow} date -d "@$AT_S" '+%Y-%m-%d %H:%M:%S')
}

# utc_ms "YYYY-MM-DD HH:MM": that UTC time in ms since the epoch.
utc_ms() { echo $(($(date -u -d "$1" +%s) * 1000)); }

# timers: the timer service's pending timers of owner leads, one JSON per line.
timers() { bus call "$(service_endpoint timer)" ListTimers '{"owner": "leads"}' | jq -c '.result.timers[]'; }

# reminders USER: the call reminders (or missed-call notices) stored for USER.
reminders() {
  sql "SELECT count(*) FROM notifier.notification WHERE recipient = '$1'
       AND (text LIKE 'Позвоните клиенту%' OR text LIKE 'Пропущен звонок%')"
}

# to_answer_given ID NEXT_CALL_AT: new -> in_progress -> answer_given.
to_answer_given() {
  move "$1" in_progress >/dev/null
  move "$1" answer_given --set "next_call_at=$2" >/dev/null
}

# ---------------------------------------------------------------- §1.1 new lead

test_new_lead_notifies_responsible_once() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  local id again
  id=$(submit n1 --name "Анна Клиентова" --company "ООО Ромашка" --phone "+7 900 111-22-33" --email anna@example.com \
    --responsible smirnova)
  again=$(crmctl lead submit --source-system web --external-id n1 --name "Анна" --responsible ivanov)
  assert_eq "$again" "lead $id already known (web/n1)" "the same lead again"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" \
    "$(sql "SELECT last_sequence FROM leads.outbox_head")" "notifier's offset for leads"
  assert_eq "$(sql "SELECT recipient || '|' || text FROM notifier.notification")" \
    "smirnova|Новый лид №$id: Анна Клиентова ООО Ромашка +7 900 111-22-33 anna@example.com. Свяжитесь с клиентом" \
    "the one notification (text of the definition's rule new-lead)"
  assert_eq "$(sql "SELECT request_key FROM notifier.notification")" "lead:$id:v1:new-lead:0" "its request key"
  # Caused by the request event: NotificationStored names its event id.
  wait_sql 60 "SELECT count(*) FROM notifier.outbox WHERE type = 'NotificationStored'" 1 "NotificationStored"
  assert_eq "$(sql "SELECT encode(envelope, 'hex') FROM notifier.outbox WHERE type = 'NotificationStored'" |
    bus decode | jq -r .causation_id)" \
    "$(sql "SELECT event_id FROM leads.outbox WHERE type = 'NotificationRequested'")" "NotificationStored's causation"
  local l
  l=$(lead "$id")
  assert_eq "$(jq -r '"\(.stage) \(.stage_name) \(.version) \(.responsible)"' <<<"$l")" "new Новый лид 1 smirnova" \
    "the lead"
  assert_eq "$(jq -r '[.history[] | "\(.actor)/\(.rule)/\(.action)"] | join(",")' <<<"$l")" \
    "web//created,system/new-lead/notified" "its history"
  assert_eq "$(events LeadCreated "$id" | jq -r '.payload.lead.responsible + " " + .payload.stage')" "smirnova new" \
    "LeadCreated"
}

test_round_robin_assignment_survives_restart() {
  fresh_db
  start_service leads
  local b d e f
  submit r1 --name "Первый" >/dev/null
  b=$(submit r2 --name "Второй")
  submit r3 --email third@example.com >/dev/null
  assert_eq "$(sql "SELECT string_agg(responsible, ',' ORDER BY id) FROM leads.lead")" "ivanov,smirnova,ivanov" \
    "three leads without a responsible: the managers in turn"
  kill_service leads
  start_service leads
  d=$(submit r4 --name "Четвёртый")
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE id = $d")" smirnova \
    "the fourth, after a restart: the rotation goes on"
  # A lead with a responsible does not take a turn.
  submit r5 --name "Свой" --responsible petrova >/dev/null
  e=$(submit r6 --name "Шестой")
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE id = $e")" ivanov "the next lead without one"
  assert_eq "$(crmctl leads --user smirnova --json | jq -r '[.[].lead_id] | join(",")')" "$d,$b" \
    "crmctl leads --user smirnova (newest first)"
  assert_eq "$(crmctl leads --stage new --json | jq length)" 6 "crmctl leads --stage new"
  assert_eq "$(crmctl leads --stage junk --json | jq length)" 0 "crmctl leads --stage junk"

  # A fixed login instead of the round robin.
  kill_service leads
  sed 's/^lead_assignment: .*/lead_assignment: smirnova/' "$SHIPPED_STAFF_FILE" >"$T_DIR/staff.yaml"
  start_service leads CRM_STAFF_FILE="$T_DIR/staff.yaml"
  f=$(submit r7 --name "Седьмой")
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE id = $f")" smirnova "lead_assignment: smirnova"
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE id = $(submit r8 --phone 12345)")" smirnova \
    "lead_assignment: smirnova, again"
}

# ---------------------------------------------------------------- leads of one batch

# calls JSON: bus calls to leads (several commands sent before any reply is
# read, so that they are likely applied in one batch; what is asserted holds
# however they are batched); one reply per line, in the order sent.
calls() { bus calls "$(service_endpoint leads)" "$1" || fail "bus calls $1: no reply to some"; }

# new_lead EXTERNAL_ID NAME [RESPONSIBLE]: a SubmitLead item for calls.
new_lead() {
  jq -cn --arg x "$1" --arg n "$2" --arg r "${3:-}" \
    '{type: "SubmitLead", message: {source_system: "web", external_id: $x, name: $n, responsible: $r}}'
}

test_new_leads_of_one_batch_in_submission_order() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  local items out ids
  # Without a responsible, with one, a pair repeated in the batch (the
  # repeat is the same lead: not created, its data ignored), more without.
  items=$(jq -cs . <<<"$(new_lead b1 "Один")
$(new_lead b2 "Два" petrova)
$(new_lead b3 "Три")
$(new_lead b1 "Один снова" smirnova)
$(new_lead b4 "Четыре")
$(new_lead b5 'Пять "5" \ {x}')")
  out=$(calls "$items")
  assert_eq "$(jq -r '.error' <<<"$out" | sort -u)" null "errors"
  ids=($(jq -r '.result.lead_id' <<<"$out"))
  assert_eq "$(jq -r '.result.created' <<<"$out" | tr '\n' ' ')" "true true true false true true " "created"
  assert_eq "${ids[3]}" "${ids[0]}" "the repeat's id"
  assert_eq "$(sql "SELECT string_agg(external_id || ':' || responsible || ':' || name, ',' ORDER BY id) FROM leads.lead")" \
    "b1:ivanov:Один,b2:petrova:Два,b3:smirnova:Три,b4:ivanov:Четыре,b5:smirnova:Пять \"5\" \\ {x}" \
    "ids in submission order; round-robin turns in submission order, only for the new leads without one"
  assert_eq "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM leads.lead")" \
    "${ids[0]},${ids[1]},${ids[2]},${ids[4]},${ids[5]}" "the ids replied"
  assert_eq "$(sql "SELECT turn FROM leads.assignment")" 4 "turns taken"
  assert_eq "$(sql "SELECT string_agg(type || ':' || correlation_id, ',' ORDER BY sequence) FROM leads.outbox")" \
    "$(for i in 0 1 2 4 5; do printf 'LeadCreated:lead:%s,NotificationRequested:lead:%s,' "${ids[$i]}" "${ids[$i]}"; done |
      sed 's/,$//')" "events: each lead's in turn"
  local id
  for id in "${ids[@]}"; do
    assert_eq "$(lead "$id" | jq -r '"\(.stage) \(.version) " + ([.history[] | "\(.actor)/\(.rule)/\(.action)"] | join(","))')" \
      "new 1 web//created,system/new-lead/notified" "lead $id: stage, version, history"
  done
  assert_eq "$(sql "SELECT count(*) FROM leads.lead_history")" 10 "history lines"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 5 "notifications"
  assert_eq "$(sql "SELECT string_agg(recipient, ',' ORDER BY id) FROM notifier.notification")" \
    "ivanov,petrova,smirnova,ivanov,smirnova" "recipients"
  # The next batch goes on with the rotation.
  out=$(calls "$(jq -cs . <<<"$(new_lead b6 "Шесть")
$(new_lead b2 "Два")")")
  assert_eq "$(jq -r '"\(.result.created)"' <<<"$out" | tr '\n' ' ')" "true false " "created, second batch"
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE external_id = 'b6'")" ivanov "b6's responsible"
}

test_new_leads_of_one_batch_with_a_task_each() {
  fresh_db
  # A definition whose first stage asks for a task.
  sed 's/on: {enter: in_progress}/on: {enter: new}/' "$SHIPPED_LEADS_PIPELINE" >"$T_DIR/funnel.yaml"
  start_service leads CRM_LEADS_PIPELINE="$T_DIR/funnel.yaml"
  local out a b
  out=$(calls "$(jq -cs . <<<"$(new_lead t1 "Один" ivanov)
$(new_lead t2 "Два" smirnova)")")
  assert_eq "$(jq -r '.error' <<<"$out" | sort -u)" null "errors"
  a=$(jq -r '.result.lead_id' <<<"$out" | head -n 1)
  b=$(jq -r '.result.lead_id' <<<"$out" | tail -n 1)
  assert_eq "$(sql "SELECT string_agg(request_key || '|' || lead_id || '|' || tag, ',' ORDER BY lead_id) FROM leads.lead_task")" \
    "lead:$a:v1:proposal:0|$a|proposal,lead:$b:v1:proposal:0|$b|proposal" "lead_task rows"
  assert_eq "$(sql "SELECT string_agg(type || ':' || correlation_id, ',' ORDER BY sequence) FROM leads.outbox")" \
    "LeadCreated:lead:$a,NotificationRequested:lead:$a,TaskRequested:lead:$a,LeadCreated:lead:$b,NotificationRequested:lead:$b,TaskRequested:lead:$b" \
    "events"
  assert_eq "$(lead "$b" | jq -r '[.history[] | .action] | join(",")')" "created,notified,task requested" "history"
}

test_failing_lead_in_a_batch_spares_the_others() {
  fresh_db
  start_service leads
  # A lead the database refuses (a constraint added for the test).
  sql "ALTER TABLE leads.lead ADD CONSTRAINT no_poison CHECK (name <> 'яд')" >/dev/null
  local out
  out=$(calls "$(jq -cs . <<<"$(new_lead p1 "Первый")
$(new_lead p2 "яд")
$(new_lead p3 "Третий")")")
  assert_eq "$(jq -r '.error.code // "ok"' <<<"$out" | tr '\n' ' ')" "ok INTERNAL ok " "replies"
  assert_eq "$(jq -r 'select(.error == null) | .result.created' <<<"$out" | tr '\n' ' ')" "true true " "created"
  assert_eq "$(sql "SELECT string_agg(external_id || ':' || responsible, ',' ORDER BY id) FROM leads.lead")" \
    "p1:ivanov,p3:smirnova" "the others stored, turns consecutive (the refused one took none)"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox WHERE type = 'LeadCreated'")" 2 "LeadCreated events"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead_history")" 4 "history lines"
  service_alive leads || fail "leads exited"
}

test_move_in_the_batch_of_the_lead_sees_it() {
  fresh_db
  start_service leads
  local next out
  # The id the next lead gets (the sequence's next value).
  next=$(sql "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM leads.lead_id_seq")
  out=$(calls "$(jq -cs --argjson id "$next" '. + [
      {type: "MoveLead", sender: "ivanov", message: {lead_id: $id, stage: "in_progress"}},
      {type: "ShowLead", message: {lead_id: $id}}]' <<<"$(new_lead m1 "Мария" ivanov)")")
  assert_eq "$(jq -r '.error' <<<"$out" | sort -u)" null "errors"
  assert_eq "$(jq -r 'select(.type == "SubmitLeadReply") | .result.lead_id' <<<"$out")" "$next" "the lead's id"
  assert_eq "$(jq -r 'select(.type == "MoveLeadReply") | .result | "\(.stage) \(.version)"' <<<"$out")" \
    "in_progress 2" "MoveLead after SubmitLead, sent together"
  assert_eq "$(jq -r 'select(.type == "LeadDetail") | .result.stage' <<<"$out")" in_progress "ShowLead after them"
  assert_eq "$(lead "$next" | jq -r '[.history[] | .action] | join(",")')" \
    "created,notified,moved,task requested" "history in order"
  assert_eq "$(sql "SELECT string_agg(type, ',' ORDER BY sequence) FROM leads.outbox")" \
    "LeadCreated,NotificationRequested,LeadMoved,TaskRequested" "events in order"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead_task")" 1 "lead_task rows"
}

# ---------------------------------------------------------------- §1.2 proposal task

# fake_event SEQ TYPE JSON: the fake source publishes event TYPE (a crm.v1
# message given as JSON) with sequence SEQ.
fake_event() {
  fake "$(jq -cn --argjson seq "$1" --arg type "$2" --argjson m "$3" '{op: "event", seq: $seq, type: $type, message: $m}')"
}

test_in_progress_requests_one_proposal_task() {
  fresh_db
  fake_source tasks "$CRM_TASKS_PORT"
  start_service leads
  local id out key
  id=$(client p1)
  out=$(move "$id" in_progress)
  assert_eq "$out" "lead $id: in_progress, version 2" "crmctl lead move"
  assert_eq "$(event_count TaskRequested "$id")" 1 "TaskRequested events"
  assert_eq "$(events TaskRequested "$id" | jq -c '.payload | [.request_key, .title, .description, .record,
      .creator, .responsible, .tag, .rule, .deadline_ms]')" \
    "[\"lead:$id:v2:proposal:0\",\"Рассчитать запрос и выставить КП\",\"Лид №$id: Анна Клиентова ООО Ромашка\",\"lead:$id\",\"ivanov\",\"ivanov\",\"proposal\",\"proposal\",\"0\"]" \
    "the task requested"
  assert_eq "$(events LeadMoved "$id" | jq -c '.payload | [.from_stage, .to_stage, .version, .actor, .rule]')" \
    '["new","in_progress",2,"ivanov",""]' "LeadMoved"
  assert_eq "$(lead "$id" | jq -r '[.history[] | select(.action == "task requested") | "\(.rule): \(.detail)"] | join(";")')" \
    "proposal: Рассчитать запрос и выставить КП → ivanov" "history: which rule asked for the task"
  key="lead:$id:v2:proposal:0"
  assert_eq "$(sql "SELECT tag || '|' || coalesce(task_id::text, '-') || '|' || completed FROM leads.lead_task
                    WHERE request_key = '$key'")" "proposal|-|false" "lead_task before TaskCreated"

  # The tasks service answers (here: the fake source "tasks").
  fake_event 1 TaskCreated "{\"task_id\": 77, \"request_key\": \"$key\", \"record\": \"lead:$id\",
    \"tag\": \"proposal\", \"title\": \"Рассчитать запрос и выставить КП\", \"creator\": \"ivanov\",
    \"responsible\": \"ivanov\"}"
  wait_sql 60 "SELECT task_id FROM leads.lead_task WHERE request_key = '$key'" 77 "task id from TaskCreated"
  fake_event 2 TaskCompleted "{\"task_id\": 77, \"request_key\": \"$key\", \"record\": \"lead:$id\",
    \"tag\": \"proposal\", \"completed_by\": \"ivanov\"}"
  # Another record's task is none of the leads service's business.
  fake_event 3 TaskCompleted '{"task_id": 5, "record": "deal:3", "tag": "x"}'
  wait_sql 60 "SELECT last_sequence FROM leads.consumer_offset WHERE source = 'tasks'" 3 "leads applied the tasks events"
  assert_eq "$(sql "SELECT completed FROM leads.lead_task WHERE request_key = '$key'")" t "lead_task after TaskCompleted"
  assert_eq "$(lead "$id" | jq -r '[.history[] | select(.action | startswith("task ")) | "\(.actor) \(.action): \(.detail)"] | join(";")')" \
    "system task requested: Рассчитать запрос и выставить КП → ivanov;ivanov task created: задача №77 «Рассчитать запрос и выставить КП» для ivanov;ivanov task completed: задача №77" \
    "history of the task"
  assert_eq "$(state "$id" | cut -d' ' -f1)" in_progress "stage (no rule waits for the proposal)"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter")" 0 "dead letters"
}

test_proposal_task_and_call_in_the_tasks_service() {
  fresh_db
  spawn_service leads
  spawn_service tasks CRM_TASKS_SOURCES=leads
  spawn_service notifier CRM_NOTIFIER_SOURCES=leads,tasks
  service_ready leads
  service_ready tasks
  service_ready notifier
  local id task when
  id=$(client t1)
  move "$id" in_progress >/dev/null
  wait_until 60 eval "crmctl tasks --record lead:$id --json | jq -e 'length == 1'" ||
    fail "no task of lead:$id in the tasks service: $(crmctl tasks --record "lead:$id" 2>&1)"
  assert_eq "$(crmctl tasks --record "lead:$id" --json | jq -c '.[0] | [.title, .responsible, .creator, .tag, .rule]')" \
    '["Рассчитать запрос и выставить КП","ivanov","ivanov","proposal","proposal"]' "the proposal task"
  task=$(crmctl tasks --record "lead:$id" --json | jq -r '.[0].id')
  # TaskCreated comes back to the lead; the task's responsible is told.
  wait_sql 60 "SELECT task_id FROM leads.lead_task WHERE lead_id = $id" "$task" "the task's id on the lead"
  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE recipient = 'ivanov'
               AND request_key = 'task:$task:created:ivanov' AND correlation_id = 'lead:$id'" 1 "the task's notification"
  assert_eq "$(crmctl task complete "$task" --as ivanov)" "task $task completed" "completing the task"
  wait_sql 60 "SELECT completed FROM leads.lead_task WHERE lead_id = $id" t "the task completed on the lead"
  assert_eq "$(lead "$id" | jq -r '[.history[] | select(.action | startswith("task ")) | .action] | join(",")')" \
    "task requested,task created,task completed" "history of the task"

  # The call is an activity in the manager's list, at next_call_at.
  move "$id" answer_given --set "next_call_at=2027-01-15 10:00" >/dev/null
  wait_until 60 eval "crmctl activities --user ivanov --json | jq -e 'length == 1'" ||
    fail "no activity for ivanov: $(crmctl activities --user ivanov 2>&1)"
  when=$(crmctl activities --user ivanov --json | jq -r '.[0] | "\(.title)|\(.record)|\(.at_ms)"')
  assert_eq "$when" "Звонок клиенту: Анна Клиентова ООО Ромашка|lead:$id|$(utc_ms "2027-01-15 07:00")" "the call activity"
  # The lead leaves the stage before the call: the planned call goes too.
  move "$id" junk >/dev/null
  wait_until 60 eval "crmctl activities --user ivanov --json | jq -e 'length == 0'" ||
    fail "the call activity is still planned after junk: $(crmctl activities --user ivanov 2>&1)"
  assert_eq "$(crmctl activities --user ivanov --all --json | jq -r '.[0].status')" cancelled "the call activity's status"
  assert_contains "$(lead "$id" | jq -r '[.history[].action] | join(",")')" "activity cancelled" "history"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter") $(sql "SELECT count(*) FROM tasks.dead_letter")" "0 0" \
    "dead letters (leads, tasks)"
}

# ---------------------------------------------------------------- §1.3 the call

test_answer_given_requires_next_call_at() {
  fresh_db
  start_funnel CRM_DURATIONS=call_reminder=20s
  local id before outbox err hhmm
  id=$(client c1)
  move "$id" in_progress >/dev/null
  before=$(state "$id")
  outbox=$(outbox_count)
  err=$(refused INVALID_ARGUMENT "$id" answer_given)
  assert_contains "$err" "next_call_at" "the refusal names the field"
  assert_contains "$err" "(fields: next_call_at)" "the refusal's fields"
  assert_eq "$(state "$id")" "$before" "stage, version and history after the refusal"
  assert_eq "$(outbox_count)" "$outbox" "events after the refusal"

  at 40
  assert_eq "$(move "$id" answer_given --set "next_call_at=$AT")" "lead $id: answer_given, version 3" "the move"
  assert_eq "$(events ActivityRequested "$id" | jq -c '.payload | [.request_key, .title, .record, .responsible, .at_ms, .rule]')" \
    "[\"lead:$id:next-call:0\",\"Звонок клиенту: Анна Клиентова ООО Ромашка\",\"lead:$id\",\"ivanov\",\"${AT_S}000\",\"next-call\"]" \
    "the call activity at next_call_at"
  assert_eq "$(events TimerRequested "$id" | jq -c '.payload | [.key, .due_ms, .owner]')" \
    "[\"lead:$id:call-reminder\",\"$((AT_S * 1000 - 20000))\",\"leads\"]" "the reminder timer, 20 s before"
  wait_sql 60 "SELECT state || ' ' || due_ms FROM timer.timer WHERE key = 'lead:$id:call-reminder'" \
    "pending $((AT_S * 1000 - 20000))" "the timer in the timer service"
  assert_eq "$(lead "$id" | jq -r '.fields.next_call_at.display')" "$(TZ=Europe/Moscow date -d "@$AT_S" '+%d.%m.%Y %H:%M')" \
    "next_call_at as people read it"

  # The reminder comes, once, with the call's time.
  hhmm=$(TZ=Europe/Moscow date -d "@$AT_S" +%H:%M)
  wait_sql 90 "SELECT count(*) FROM notifier.notification WHERE recipient = 'ivanov' AND text LIKE 'Позвоните%'" 1 \
    "the call reminder"
  assert_eq "$(sql "SELECT text FROM notifier.notification WHERE text LIKE 'Позвоните%'")" \
    "Позвоните клиенту в $hhmm: Анна Клиентова ООО Ромашка +7 900 111-22-33 (лид №$id)" "the reminder's text"
  assert_eq "$(lead "$id" | jq -r '[.history[] | select(.rule == "call-reminder") | .action] | join(",")')" "notified" \
    "history of the reminder"
}

test_changing_next_call_at_reschedules_the_reminder() {
  fresh_db
  start_funnel CRM_DURATIONS=call_reminder=20s
  local id first version outbox
  id=$(client c2)
  at 300
  first=$AT_S
  to_answer_given "$id" "$AT"
  wait_sql 60 "SELECT due_ms FROM timer.timer WHERE key = 'lead:$id:call-reminder'" "$((first * 1000 - 20000))" \
    "the first reminder's due time"
  at 30
  assert_eq "$(move "$id" answer_given --set "next_call_at=$AT")" "lead $id: answer_given, version 4" \
    "next_call_at changed in the stage"
  assert_eq "$(event_count TimerRequested "$id")" 2 "TimerRequested events (the same key again)"
  assert_eq "$(event_count ActivityRequested "$id")" 2 "ActivityRequested events (the same activity moved)"
  assert_eq "$(events ActivityRequested "$id" | jq -r '.payload.request_key' | sort -u | wc -l)" 1 "activity keys"
  wait_sql 60 "SELECT count(*) || ' ' || max(due_ms) FROM timer.timer WHERE key = 'lead:$id:call-reminder'" \
    "1 $((AT_S * 1000 - 20000))" "one timer, at the new due time"
  wait_sql 90 "SELECT count(*) FROM notifier.notification WHERE text LIKE 'Позвоните%'" 1 "the reminder"
  assert_contains "$(sql "SELECT text FROM notifier.notification WHERE text LIKE 'Позвоните%'")" \
    "в $(TZ=Europe/Moscow date -d "@$AT_S" +%H:%M):" "the reminder names the new time"
  assert_eq "$(timers)" "" "pending timers of leads (the old due time is gone)"
  assert_eq "$(sql "SELECT state FROM timer.timer WHERE key = 'lead:$id:call-reminder'")" fired "the timer"

  # The same value again changes nothing: no rule runs, no version.
  version=$(state "$id" | cut -d' ' -f2)
  outbox=$(outbox_count)
  assert_eq "$(move "$id" answer_given --set "next_call_at=$AT")" "lead $id: answer_given, version $version" \
    "next_call_at set to its own value"
  assert_eq "$(outbox_count)" "$outbox" "events after setting the same value"
  assert_eq "$(reminders ivanov)" 1 "reminders in all"
}

test_leaving_the_stage_cancels_the_reminder() {
  fresh_db
  start_funnel CRM_DURATIONS=call_reminder=20s
  local id
  id=$(client c3)
  at 600
  to_answer_given "$id" "$AT"
  wait_sql 60 "SELECT state FROM timer.timer WHERE key = 'lead:$id:call-reminder'" pending "the reminder scheduled"
  assert_eq "$(move "$id" junk)" "lead $id: junk, version 4" "answer_given -> junk"
  assert_eq "$(events TimerCancelRequested "$id" | jq -c '.payload')" \
    "{\"key\":\"lead:$id:call-reminder\",\"owner\":\"leads\"}" "TimerCancelRequested"
  wait_sql 60 "SELECT state FROM timer.timer WHERE key = 'lead:$id:call-reminder'" cancelled "the reminder"
  assert_eq "$(timers)" "" "pending timers of leads"
  assert_eq "$(reminders ivanov)" 0 "reminders"
}

test_missed_reminder_after_an_outage_says_so() {
  fresh_db
  start_funnel CRM_DURATIONS=call_reminder=20s
  local id when
  id=$(client c4)
  kill_service timer
  at 25
  to_answer_given "$id" "$AT"
  # The reminder was due 20 s before the call; the call itself passes while
  # the timer service is down.
  wait_until 60 eval "(( \$(date +%s) > $AT_S + 2 ))"
  start_service timer CRM_TIMER_SOURCES=leads CRM_DURATIONS=call_reminder=20s
  wait_sql 90 "SELECT count(*) FROM notifier.notification WHERE text LIKE 'Пропущен звонок%'" 1 "the missed-call notice"
  when=$(TZ=Europe/Moscow date -d "@$AT_S" '+%d.%m.%Y %H:%M')
  assert_eq "$(sql "SELECT recipient || '|' || text FROM notifier.notification WHERE text LIKE 'Пропущен%'")" \
    "ivanov|Пропущен звонок клиенту Анна Клиентова ООО Ромашка +7 900 111-22-33 (лид №$id): он был назначен на $when" \
    "the notice says when the call was"
  assert_eq "$(reminders ivanov)" 1 "reminders in all"
}

# ---------------------------------------------------------------- time zones

# check_call ZONE LOCAL UTC DISPLAY: a lead moved to answer_given with
# next_call_at LOCAL (typed in ZONE) gets its reminder due exactly 15
# minutes before UTC, and shows next_call_at as DISPLAY.
check_call() {
  local zone=$1 local_time=$2 utc=$3 display=$4 id expected
  id=$(client "tz-$RANDOM")
  to_answer_given "$id" "$local_time"
  expected=$(($(utc_ms "$utc") - 15 * 60000))
  assert_eq "$(lead "$id" | jq -r '"\(.time_zone) \(.fields.next_call_at.value)"')" "$zone $(utc_ms "$utc")" \
    "$local_time ($zone) stored as UTC $utc"
  wait_until 60 eval "timers | jq -se 'any(.key == \"lead:$id:call-reminder\")'" ||
    fail "no pending timer for lead $id"
  assert_eq "$(timers | jq -r "select(.key == \"lead:$id:call-reminder\") | .due_ms")" "$expected" \
    "the reminder of $local_time ($zone): 15 real minutes before $utc UTC"
  assert_eq "$(lead "$id" | jq -r '.fields.next_call_at.display')" "$display" "next_call_at shown in $zone"
  LAST_ID=$id
}

test_daylight_saving_changes_in_berlin() {
  fresh_db
  start_funnel CRM_TIME_ZONE=Europe/Berlin
  # Spring: 02:00-03:00 is skipped on 2027-03-28; 03:10 is CEST (UTC+2).
  check_call Europe/Berlin "2027-03-28 03:10" "2027-03-28 01:10" "28.03.2027 03:10"
  # Its reminder is at 01:55 CET, 15 real minutes before, across the change.
  assert_eq "$(lead "$LAST_ID" | jq -r '.history[] | select(.action == "timer set") | .detail')" \
    "call-reminder at 28.03.2027 01:55:00" "the timer as people read it (local time)"
  # Autumn: 02:00-03:00 happens twice on 2027-10-31; the first (CEST) is meant.
  check_call Europe/Berlin "2027-10-31 02:10" "2027-10-31 00:10" "31.10.2027 02:10"
  check_call Europe/Berlin "2027-10-31 03:10" "2027-10-31 02:10" "31.10.2027 03:10"
  # A time the clocks skip is refused, naming the field.
  local id err
  id=$(client tz-gap)
  move "$id" in_progress >/dev/null
  err=$(refused INVALID_ARGUMENT "$id" answer_given --set "next_call_at=2027-03-28 02:30")
  assert_contains "$err" "does not exist in Europe/Berlin" "refusal of a skipped time"
  assert_contains "$err" "(fields: next_call_at" "the field named"
  assert_eq "$(state "$id" | cut -d' ' -f1,2)" "in_progress 2" "the lead after the refusal"
}

test_time_zone_defaults_to_moscow() {
  fresh_db
  start_funnel CRM_TIME_ZONE=
  # Moscow keeps UTC+3 all year: 03:10 on Berlin's change day is 00:10 UTC.
  check_call Europe/Moscow "2027-03-28 03:10" "2027-03-28 00:10" "28.03.2027 03:10"
  check_call Europe/Moscow "01.12.2026 15:30" "2026-12-01 12:30" "01.12.2026 15:30"
}

# ---------------------------------------------------------------- rules run once

# A definition whose call rule notifies, asks for a task and sets a timer,
# and watches two fields.
write_watch_definition() {
  sed -e 's/^fields:$/fields:\n  budget:\n    type: text\n    label: Бюджет/' \
    -e 's/on: {enter: answer_given, change: \[next_call_at\]}/on: {enter: answer_given, change: [next_call_at, budget]}/' \
    "$SHIPPED_LEADS_PIPELINE" >"$T_DIR/funnel.yaml"
  "$PY" - "$T_DIR/funnel.yaml" <<'EOF'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
extra = """      - notify:
          to: responsible
          text: "Звонок в {next_call_at:time}, бюджет {budget}"
      - task:
          title: Подготовиться к звонку
          responsible: responsible
          tag: call
"""
anchor = "      - timer:\n          id: call-reminder\n"
assert anchor in text
open(path, "w", encoding="utf-8").write(text.replace(anchor, extra + anchor, 1))
EOF
}

test_one_command_runs_each_rule_once() {
  fresh_db
  write_watch_definition
  start_service leads CRM_LEADS_PIPELINE="$T_DIR/funnel.yaml"
  local id v outbox
  id=$(client w1)
  move "$id" in_progress >/dev/null
  # A move and two fields in one command: the rule runs once.
  assert_eq "$(move "$id" answer_given --set "next_call_at=2027-02-01 10:00" --set "budget=100 000")" \
    "lead $id: answer_given, version 3" "move with two fields"
  assert_eq "$(events NotificationRequested "$id" | jq -r '.payload.text' | grep -c '^Звонок в')" 1 "notifications of the rule"
  assert_eq "$(events TaskRequested "$id" | jq -r '.payload.tag' | grep -c '^call$')" 1 "tasks of the rule"
  assert_eq "$(event_count TimerRequested "$id")" 1 "timers of the rule"
  assert_eq "$(event_count ActivityRequested "$id")" 1 "activities of the rule"
  # Its own writes, or the same values again, run nothing.
  v=$(state "$id" | cut -d' ' -f2)
  outbox=$(outbox_count)
  move "$id" answer_given --set "next_call_at=01.02.2027 10:00" --set "budget=100 000" >/dev/null
  assert_eq "$(state "$id" | cut -d' ' -f2)" "$v" "version after the same values"
  assert_eq "$(outbox_count)" "$outbox" "events after the same values"
  # One watched field changed: once more, each action once.
  assert_eq "$(move "$id" answer_given --set "budget=150 000")" "lead $id: answer_given, version $((v + 1))" "budget changed"
  assert_eq "$(events NotificationRequested "$id" | jq -r '.payload.text' | grep -c '^Звонок в')" 2 "notifications of the rule"
  assert_eq "$(event_count TaskRequested "$id")" 3 "tasks (proposal, call, call)"
  assert_eq "$(event_count TimerRequested "$id")" 2 "timers of the rule"
  assert_eq "$(events NotificationRequested "$id" | jq -r '.payload.text' | tail -n 1)" \
    "Звонок в 10:00, бюджет 150 000" "the second notification"
}

# ---------------------------------------------------------------- §1.4 closing

test_junk_makes_contact_and_company_once() {
  fresh_db
  start_service leads
  local a b contacts companies l
  a=$(submit j1 --name "Иван Петров" --phone "+7 (912) 345-67-89" --email "Ivan.Petrov@Example.com" \
    --company "ООО «Ромашка»" --responsible ivanov)
  to_answer_given "$a" "2027-01-15 10:00"
  assert_eq "$(move "$a" junk)" "lead $a: junk, version 4" "answer_given -> junk"
  contacts=$(crmctl contacts --json)
  companies=$(crmctl companies --json)
  assert_eq "$(jq -c '[.[] | [.name, .phone, .email, .company, .no_deal, .lead_id]]' <<<"$contacts")" \
    "[[\"Иван Петров\",\"+7 (912) 345-67-89\",\"Ivan.Petrov@Example.com\",\"ООО «Ромашка»\",true,$a]]" "contacts"
  assert_eq "$(jq -c '[.[] | [.name, .no_deal, .lead_id]]' <<<"$companies")" "[[\"ООО «Ромашка»\",true,$a]]" "companies"
  assert_contains "$(crmctl contacts)" "no deal (Не было сделки)" "crmctl contacts"
  assert_contains "$(crmctl companies)" "ООО «Ромашка»  lead $a  no deal (Не было сделки)" "crmctl companies"
  l=$(lead "$a")
  assert_eq "$(jq -r '"\(.contact_id) \(.company_id)"' <<<"$l")" \
    "$(jq -r '.[0].id' <<<"$contacts") $(jq -r '.[0].id' <<<"$companies")" "the lead's contact and company"
  assert_eq "$(jq -r '[.history[] | select(.rule == "junk") | "\(.action): \(.detail)"] | join(";")' <<<"$l")" \
    "contact and company: flag: Не было сделки;contact linked: контакт №1, компания №1, «Не было сделки»" \
    "history of the junk rule"

  # The same person and company written another way: found, not made again.
  b=$(submit j2 --name "Иван" --phone "8 912 345 67 89" --company "ооо «РОМАШКА» " --responsible smirnova)
  to_answer_given "$b" "2027-01-16 10:00"
  move "$b" junk >/dev/null
  local c
  c=$(submit j3 --name "Другой" --email "IVAN.PETROV@example.COM" --company "Лютик")
  to_answer_given "$c" "2027-01-17 10:00"
  move "$c" junk >/dev/null
  assert_eq "$(crmctl contacts --json | jq length)" 1 "contacts after three leads of one person"
  assert_eq "$(crmctl companies --json | jq -c '[.[].name]')" '["ООО «Ромашка»","Лютик"]' "companies"
  assert_eq "$(lead "$b" | jq -r '"\(.contact_id) \(.company_id)"')" "1 1" "the second lead's contact and company"
  assert_eq "$(lead "$c" | jq -r '"\(.contact_id) \(.company_id)"')" "1 2" "the third lead's (found by email)"
}

test_converted_publishes_lead_converted() {
  fresh_db
  start_service leads CRM_HEARTBEAT_MS=200
  local id out ev
  id=$(submit v1 --name "Ольга Покупатель" --phone "+7 901 000-00-01" --email olga@example.com \
    --company "ООО Лютик" --comment "хочет кружки" --responsible smirnova)
  to_answer_given "$id" "2027-01-15 10:00"
  bus subscribe "tcp://127.0.0.1:$((CRM_LEADS_PORT + 1))" --type LeadConverted --count 1 --timeout 120 \
    >"$T_DIR/subscribe.out" 2>&1 &
  wait_until 30 grep -q '^subscribed' "$T_DIR/subscribe.out" || fail "no subscription: $(cat "$T_DIR/subscribe.out")"
  out=$(move "$id" converted)
  assert_eq "$out" "lead $id: converted, version 4" "answer_given -> converted"
  wait_until 60 grep -q LeadConverted "$T_DIR/subscribe.out" || fail "no LeadConverted: $(cat "$T_DIR/subscribe.out")"
  ev=$(grep LeadConverted "$T_DIR/subscribe.out")
  note "LeadConverted: $ev"
  assert_eq "$(jq -r '.correlation_id' <<<"$ev")" "lead:$id" "correlation id"
  assert_eq "$(jq -c '.payload | [.lead_id, .contact_id, .company_id, .responsible, .pipeline]' <<<"$ev")" \
    "[\"$id\",\"1\",\"1\",\"smirnova\",\"new_client\"]" "what the deals service needs"
  assert_eq "$(jq -c '.payload.lead | [.source_system, .external_id, .name, .phone, .email, .company, .comment, .responsible]' <<<"$ev")" \
    '["web","v1","Ольга Покупатель","+7 901 000-00-01","olga@example.com","ООО Лютик","хочет кружки","smirnova"]' \
    "the lead's data"
  assert_eq "$(jq -c '.payload.fields' <<<"$ev")" \
    "[{\"name\":\"next_call_at\",\"value\":\"$(utc_ms "2027-01-15 07:00")\",\"display\":\"15.01.2027 10:00\"}]" \
    "the fields"
  assert_eq "$(crmctl contacts --json | jq -c '[.[] | [.name, .no_deal]]')" '[["Ольга Покупатель",false]]' \
    "the contact, without the flag"
  assert_eq "$(crmctl companies --json | jq -c '[.[] | [.name, .no_deal]]')" '[["ООО Лютик",false]]' "the company"
  assert_eq "$(events LeadMoved "$id" | jq -r '.payload.to_stage' | paste -sd,)" "in_progress,answer_given,converted" \
    "LeadMoved events"
  assert_eq "$(event_count LeadConverted "$id")" 1 "LeadConverted events"
}

# ---------------------------------------------------------------- §1.5, §3 refusals

test_refused_moves_change_nothing() {
  fresh_db
  start_service leads
  local id before outbox err
  id=$(client x1)
  before=$(state "$id")
  outbox=$(outbox_count)
  err=$(refused MOVE_NOT_ALLOWED "$id" answer_given --set "next_call_at=2027-01-15 10:00")
  assert_contains "$err" "cannot move lead $id from new to answer_given (allowed: in_progress)" "skipping a stage"
  assert_contains "$err" "(fields: stage)" "the field named"
  err=$(refused INVALID_ARGUMENT "$id" won)
  assert_contains "$err" "unknown stage 'won' (stages: new, in_progress, answer_given, converted, junk)" "unknown stage"
  err=$(refused INVALID_ARGUMENT "$id" in_progress --set budget=100)
  assert_contains "$err" "unknown field 'budget' (fields: next_call_at)" "unknown field"
  assert_contains "$err" "(fields: budget)" "the unknown field named"
  err=$(refused INVALID_ARGUMENT "$id" in_progress --set "next_call_at=tomorrow")
  assert_contains "$err" "next_call_at: 'tomorrow' is not a date and time" "a value that is no date"
  err=$(refused STALE_VERSION "$id" in_progress --version 7)
  assert_contains "$err" "is at version 1, the command was based on version 7" "stale version"
  assert_eq "$(state "$id")" "$before" "the lead after the refusals"
  assert_eq "$(outbox_count)" "$outbox" "events after the refusals"
  assert_eq "$(move "$id" in_progress --version 1)" "lead $id: in_progress, version 2" "the right version"

  # A closed lead cannot be moved, nor its fields set.
  move "$id" answer_given --set "next_call_at=2027-01-15 10:00" >/dev/null
  move "$id" junk >/dev/null
  before=$(state "$id")
  outbox=$(outbox_count)
  err=$(refused MOVE_NOT_ALLOWED "$id" converted)
  assert_contains "$err" "is closed (junk «Конвертация лида в некачественный»)" "moving a junked lead"
  refused MOVE_NOT_ALLOWED "$id" junk --set "next_call_at=2027-02-15 10:00" >/dev/null
  local c
  c=$(client x2)
  to_answer_given "$c" "2027-01-15 10:00"
  move "$c" converted >/dev/null
  refused MOVE_NOT_ALLOWED "$c" junk >/dev/null
  assert_eq "$(state "$id")" "$before" "the junked lead"
  assert_eq "$(state "$c" | cut -d' ' -f1,2)" "converted 4" "the converted lead"
  # Unknown leads.
  err=$(refused NOT_FOUND 999 in_progress)
  assert_contains "$err" "no lead 999" "moving an unknown lead"
  local rc=0
  err=$(crmctl lead show 999 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc" 1 "crmctl lead show 999 exit status"
  assert_contains "$err" "NOT_FOUND: no lead 999 (fields: lead_id)" "crmctl lead show 999"
}

test_required_fields_on_the_command_endpoint() {
  fresh_db
  start_service leads
  local id ep out before outbox
  id=$(client e1)
  ep=$(service_endpoint leads)
  bus call "$ep" MoveLead "{\"lead_id\": \"$id\", \"stage\": \"in_progress\"}" --sender ivanov >/dev/null
  before=$(state "$id")
  outbox=$(outbox_count)
  # A raw MoveLead, no crmctl in between.
  out=$(bus call "$ep" MoveLead "{\"lead_id\": \"$id\", \"stage\": \"answer_given\"}" --sender ivanov)
  note "MoveLead without next_call_at: $out"
  assert_eq "$(jq -c '.error | [.code, .fields]' <<<"$out")" '["INVALID_ARGUMENT",["next_call_at"]]' "the refusal"
  assert_contains "$(jq -r '.error.message' <<<"$out")" "next_call_at («Дата и время следующего звонка») is required" \
    "its message"
  out=$(bus call "$ep" MoveLead "{\"lead_id\": \"$id\", \"stage\": \"answer_given\",
                                  \"set\": [{\"name\": \"next_call_at\", \"value\": \"\"}]}" --sender ivanov)
  assert_eq "$(jq -c '.error.fields' <<<"$out")" '["next_call_at"]' "an empty next_call_at"
  assert_eq "$(state "$id")" "$before" "the lead after the refusals"
  assert_eq "$(outbox_count)" "$outbox" "events after the refusals"
  out=$(bus call "$ep" MoveLead "{\"lead_id\": \"$id\", \"stage\": \"answer_given\",
                                  \"set\": [{\"name\": \"next_call_at\", \"value\": \"2027-01-15T10:00:00+03:00\"}]}" --sender smirnova)
  assert_eq "$(jq -c '.result | [.stage, .version]' <<<"$out")" '["answer_given",3]' "with next_call_at"
  assert_eq "$(lead "$id" | jq -r '.history[-1] | select(.action == "timer set") | .actor')" system "the timer's line"
  assert_eq "$(lead "$id" | jq -r '[.history[] | select(.action == "moved") | .actor] | join(",")')" "ivanov,smirnova" \
    "who moved it: Command.sender"
  out=$(bus call "$ep" MoveLead "{\"lead_id\": \"$id\", \"stage\": \"converted\"}" --sender "")
  assert_eq "$(jq -c '.error | [.code, .fields]' <<<"$out")" '["INVALID_ARGUMENT",["sender"]]' "a MoveLead from nobody"
  out=$(bus command "$ep" --type MoveLead --payload-hex ff)
  assert_eq "$(jq -r '.error.code' <<<"$out")" MALFORMED "an undecodable MoveLead"
  out=$(bus call "$ep" ShowLead "{\"lead_id\": \"$id\"}")
  assert_eq "$(jq -c '.result | [.stage, .stage_name, .version, .time_zone]' <<<"$out")" \
    '["answer_given","Ответ дан",3,"Europe/Moscow"]' "ShowLead"
}

# ---------------------------------------------------------------- bad definitions

# run_leads_expecting_2 NAME VAR=VALUE...: crm-leads with the settings
# must exit 2 at once, before touching the database; its log in leads-NAME.log.
run_leads_expecting_2() {
  local name=$1 rc=0
  shift
  env CRM_STAFF_FILE="$SHIPPED_STAFF_FILE" CRM_LEADS_PIPELINE="$SHIPPED_LEADS_PIPELINE" "$@" \
    timeout 60 "$BIN/crm-leads" >"$T_DIR/leads-$name.log" 2>"$T_DIR/leads-$name.err" </dev/null || rc=$?
  assert_eq "$rc" 2 "crm-leads exit status with $*"
  assert_eq "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'leads'")" 0 "tables made by crm-leads"
}

test_bad_definition_stops_leads_at_start() {
  fresh_db
  local bad line
  # A rule naming a stage the funnel does not have.
  bad=$T_DIR/bad-stage.yaml
  sed 's/on: {enter: in_progress}/on: {enter: in_progres}/' "$SHIPPED_LEADS_PIPELINE" >"$bad"
  line=$(grep -n 'in_progres}' "$bad" | cut -d: -f1)
  run_leads_expecting_2 bad-stage CRM_LEADS_PIPELINE="$bad"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/leads-bad-stage.log" --level error --msg "bad definition" ||
    fail "no 'bad definition' line: $(cat "$T_DIR/leads-bad-stage.log")"
  assert_contains "$(cat "$T_DIR/leads-bad-stage.log")" "$bad:$line: " "the log names the file and line"
  assert_contains "$(cat "$T_DIR/leads-bad-stage.log")" "in_progres" "the log names the stage"

  # A duration that is not one, in the file and in CRM_DURATIONS.
  bad=$T_DIR/bad-duration.yaml
  sed 's/call_reminder: 15m/call_reminder: 15 minutes/' "$SHIPPED_LEADS_PIPELINE" >"$bad"
  line=$(grep -n '15 minutes' "$bad" | cut -d: -f1)
  run_leads_expecting_2 bad-duration CRM_LEADS_PIPELINE="$bad"
  assert_contains "$(cat "$T_DIR/leads-bad-duration.log")" "$bad:$line: " "the log names the file and line"
  run_leads_expecting_2 bad-override CRM_DURATIONS=call_reminder=soon
  assert_contains "$(cat "$T_DIR/leads-bad-override.log")" "call_reminder" "the log names the duration"
  # A staff directory whose fixed assignee is nobody; an unknown zone.
  sed 's/^lead_assignment: .*/lead_assignment: nobody/' "$SHIPPED_STAFF_FILE" >"$T_DIR/staff.yaml"
  run_leads_expecting_2 bad-staff CRM_STAFF_FILE="$T_DIR/staff.yaml"
  assert_contains "$(cat "$T_DIR/leads-bad-staff.log")" "nobody" "the log names the login"
  run_leads_expecting_2 bad-zone CRM_TIME_ZONE=Mars/Olympus
  assert_contains "$(cat "$T_DIR/leads-bad-zone.log")" "Mars/Olympus" "the log names the zone"
}

# crm-deals on its own, fed LeadConverted by a fake source "leads" (bus.py
# fake-source): one deal per lead however often the lead comes, dead
# letters for a LeadConverted it cannot open, and the commands it refuses
# (missing and invalid fields, unknown stage, skipped stages, stale
# version, unknown deal, a loss without a reason, no sender, a definition
# it cannot run) with nothing changed. The whole journey with the real
# services is test_journey.sh.

export CRM_TIME_ZONE=Europe/Moscow

fake_event() {
  fake "$(jq -cn --argjson seq "$1" --arg type "$2" --argjson m "$3" '{op: "event", seq: $seq, type: $type, message: $m}')"
}

# converted SEQ LEAD [PIPELINE [RESPONSIBLE]]: the fake leads publish LeadConverted of lead LEAD.
converted() {
  fake_event "$1" LeadConverted "{\"lead_id\": \"$2\", \"contact_id\": \"7\", \"company_id\": \"3\",
    \"responsible\": \"${4-ivanov}\", \"pipeline\": \"${3:-new_client}\",
    \"lead\": {\"source_system\": \"web\", \"external_id\": \"x$2\", \"name\": \"Клиент $2\",
               \"company\": \"ООО Компания $2\", \"responsible\": \"${4-ivanov}\"}}"
}

start_deals() {
  fake_source leads "$CRM_LEADS_PORT"
  start_service deals CRM_DEALS_SOURCES=leads CRM_HEARTBEAT_MS=200 "$@"
}

applied() { wait_sql 60 "SELECT last_sequence FROM deals.consumer_offset WHERE source = 'leads'" "$1" "deals applied leads' $1"; }

state() { crmctl deal show "$1" --json | jq -c '[.stage, .version, (.history | length), .fields]'; }
outbox() { sql "SELECT last_sequence FROM deals.outbox_head"; }

# refused CODE ID STAGE [options]: crmctl deal move as ivanov fails with CODE; prints the error.
refused() {
  local code=$1 rc=0 err
  shift
  err=$(crmctl deal move "$@" --as ivanov 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc" 1 "crmctl deal move $* exit status"
  assert_contains "$err" "$code: " "crmctl deal move $*"
  printf '%s\n' "$err"
}

test_lead_converted_opens_one_deal() {
  fresh_db
  start_deals
  local d
  converted 1 5
  converted 2 5  # the same lead again (the leads service would not, but a deal is once per lead)
  converted 3 6 other_pipeline
  converted 4 7 new_client ""
  fake '{"op": "event", "seq": 5, "type": "LeadConverted", "payload_hex": "ff"}'
  converted 6 8
  applied 6
  assert_eq "$(crmctl deals --json | jq -c 'map([.lead_id, .title, .stage, .responsible])')" \
    '[[8,"ООО Компания 8","new","ivanov"],[5,"ООО Компания 5","new","ivanov"]]' "the deals"
  d=$(crmctl deals --json | jq '.[] | select(.lead_id == 5) | .deal_id')
  assert_eq "$(crmctl deal show "$d" --json | jq -c '[.pipeline, .lead_id, .contact_id, .company_id, .name, .version,
      [.history[] | "\(.action): \(.detail)"]]')" \
    '["new_client",5,7,3,"Клиент 5",1,["opened: из лида №5, контакт №7, компания №3","created: Новая сделка"]]' \
    "the deal of lead 5"
  assert_eq "$(sql "SELECT count(*) FROM deals.outbox WHERE type = 'DealOpened'")" 2 "DealOpened events"
  assert_eq "$(sql "SELECT reason FROM deals.dead_letter ORDER BY id" | cut -c1-60 | paste -sd'|')" \
    "LeadConverted of lead 6 asks for pipeline 'other_pipeline'; |LeadConverted of lead 7 without a responsible|payload is not a crm.v1.LeadConverted" \
    "dead letters"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/deals.log" --msg "lead already has its deal" ||
    fail "no log line for the repeated LeadConverted"
  # Replayed from the start after a restart: nothing new.
  kill_service deals
  sql "UPDATE deals.consumer_offset SET last_sequence = 0 WHERE source = 'leads'" >/dev/null
  sql "DELETE FROM deals.dead_letter" >/dev/null
  start_service deals CRM_DEALS_SOURCES=leads CRM_HEARTBEAT_MS=200
  applied 6
  assert_eq "$(sql "SELECT count(*) FROM deals.deal") $(sql "SELECT count(*) FROM deals.outbox WHERE type = 'DealOpened'")" \
    "2 2" "deals and DealOpened events after the replay"
}

test_refused_commands_change_nothing() {
  fresh_db
  start_deals
  converted 1 5
  applied 1
  local d=1 before out err ep
  before=$(state $d)
  out=$(outbox)
  err=$(refused INVALID_ARGUMENT $d invoice)
  assert_contains "$err" "service_type («Тип услуги») is required for invoice «Выставить счет»: one of design «Дизайн», design_print «Дизайн+Полиграфия»" \
    "the enum field and its values"
  assert_contains "$err" "designer_needed («Нужен дизайнер») is required for invoice «Выставить счет»: yes or no" "a bool field"
  assert_contains "$err" "(fields: service_type, designer_needed, supplier_prepaid)" "every missing field named"
  err=$(refused INVALID_ARGUMENT $d invoice --set service_type=print --set designer_needed=maybe --set supplier_prepaid=no)
  assert_contains "$err" "service_type: 'print' is not one of design «Дизайн», design_print «Дизайн+Полиграфия»" "a bad enum value"
  assert_contains "$err" "designer_needed: 'maybe' is not yes or no" "a bad bool value"
  err=$(refused INVALID_ARGUMENT $d shipping)
  assert_contains "$err" "unknown stage 'shipping' (stages: new, invoice, awaiting_payment, paid, supply, production, production_done, shipped, closing_docs, won, lost)" \
    "an unknown stage"
  err=$(refused MOVE_NOT_ALLOWED $d paid)
  assert_contains "$err" "cannot move deal $d from new to paid (allowed: invoice, lost)" "skipping stages"
  err=$(refused INVALID_ARGUMENT $d invoice --set budget=1)
  assert_contains "$err" "unknown field 'budget'" "an unknown field"
  err=$(refused STALE_VERSION $d invoice --version 3 --set service_type=design --set designer_needed=no --set supplier_prepaid=no)
  assert_contains "$err" "deal $d is at version 1, the command was based on version 3" "a stale version"
  err=$(refused NOT_FOUND 99 invoice)
  assert_contains "$err" "no deal 99 (fields: deal_id)" "an unknown deal"
  local rc=0
  err=$(crmctl deal lose $d --as ivanov 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc $err" "2 crmctl deal lose: wants --reason TEXT: why the deal failed
Run 'crmctl help' for usage." "crmctl deal lose without a reason"
  ep=$(service_endpoint deals)
  assert_eq "$(bus call "$ep" LoseDeal "{\"deal_id\": \"$d\", \"reason\": \"\"}" --sender ivanov | jq -c '.error | [.code, .fields]')" \
    '["INVALID_ARGUMENT",["reason"]]' "LoseDeal without a reason"
  assert_eq "$(bus call "$ep" MoveDeal "{\"deal_id\": \"$d\", \"stage\": \"lost\", \"set\": [{\"name\": \"lost_reason\", \"value\": \"x\"}]}" --sender "" |
    jq -c '.error | [.code, .fields]')" '["INVALID_ARGUMENT",["sender"]]' "MoveDeal from nobody"
  assert_eq "$(bus command "$ep" --type MoveDeal --payload-hex ff | jq -r .error.code)" MALFORMED "an undecodable MoveDeal"
  assert_eq "$(state $d)" "$before" "the deal after the refusals"
  assert_eq "$(outbox)" "$out" "events after the refusals"
  assert_eq "$(crmctl deal move $d invoice --version 1 --set service_type=design --set designer_needed=да \
    --set supplier_prepaid=нет --as ivanov)" "deal $d: invoice, version 2" "the right version"
  assert_eq "$(crmctl deal show $d --json | jq -c '.fields | map_values(.display)')" \
    '{"service_type":"Дизайн","designer_needed":"да","supplier_prepaid":"нет"}' "the fields as people read them"
  assert_eq "$(crmctl deal show $d --json | jq -c '[.tasks[] | [.tag, .responsible, .task_id, .completed, .rule]]')" \
    '[["invoice","petrova",0,false,"invoice-task"]]' "the task asked for (the tasks service is not running)"
  assert_eq "$(sql "SELECT encode(envelope, 'hex') FROM deals.outbox WHERE type = 'TaskRequested'" | bus decode |
    jq -c '.payload | [.request_key, .record, .responsible, .creator, .tag, .rule]')" \
    "[\"deal:$d:v2:invoice-task:0\",\"deal:$d\",\"petrova\",\"ivanov\",\"invoice\",\"invoice-task\"]" "TaskRequested"
  assert_contains "$(crmctl deal show $d)" "(new)  open      invoice          Подготовить счет → petrova  (rule invoice-task)" \
    "crmctl deal show"
}

test_definition_deals_cannot_run_stops_it() {
  fresh_db
  local rc=0
  sed 's/^  lost_reason:$/  reason:/' deploy/pipelines/new_client.yaml | sed 's/requires: \[lost_reason\]/requires: [reason]/' \
    >"$T_DIR/no-reason.yaml"
  CRM_DEALS_PIPELINE=$T_DIR/no-reason.yaml timeout 30 "$BIN/crm-deals" >"$T_DIR/deals-bad.log" 2>&1 || rc=$?
  assert_eq "$rc" 2 "crm-deals exit status without lost_reason"
  assert_contains "$(cat "$T_DIR/deals-bad.log")" "needs a text field 'lost_reason'" "the log"
  rc=0
  CRM_DEALS_PIPELINE=deploy/pipelines/lead_funnel.yaml timeout 30 "$BIN/crm-deals" >"$T_DIR/deals-lead.log" 2>&1 || rc=$?
  assert_eq "$rc" 2 "crm-deals exit status with the lead funnel"
  assert_contains "$(cat "$T_DIR/deals-lead.log")" "the deals service runs a pipeline of deals" "the log"
  assert_eq "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'deals'")" 0 "tables made by crm-deals"
}

# Leads intake through the command endpoint: storing, replying after
# commit, notifying the responsible once, deduplication, the default
# responsible, and refusing invalid leads.

# notifications_of USER: crmctl's listing for USER (fails the test if crmctl does).
notifications_of() {
  crmctl notifications --user "$1" --limit 100 --timeout 10000
}

notification_count() { # USER
  local out
  out=$(notifications_of "$1") || return 1
  grep -c 'Новый лид' <<<"$out" || true
}

test_submit_stores_and_notifies() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads

  local out id
  out=$(crmctl lead submit --source-system website --external-id W-1 --name "Иван Петров" \
    --phone "+7 (912) 345-67-89" --email ivan@example.com --company "ООО Ромашка" \
    --comment "перезвонить" --responsible alice)
  note "crmctl: $out"
  [[ $out =~ ^lead\ ([0-9]+)\ created$ ]] || fail "crmctl lead submit printed '$out', not 'lead N created'"
  id=${BASH_REMATCH[1]}

  # The reply comes after commit: the row is there the moment crmctl returns.
  assert_eq "$(sql "SELECT source_system||'|'||external_id||'|'||name||'|'||phone||'|'||email||'|'||company||'|'||comment||'|'||responsible||'|'||stage FROM leads.lead WHERE id = $id")" \
    "website|W-1|Иван Петров|+7 (912) 345-67-89|ivan@example.com|ООО Ромашка|перезвонить|alice|new" \
    "stored lead $id when the reply came"
  assert_eq "$(sql "SELECT string_agg(type, ',' ORDER BY sequence) FROM leads.outbox WHERE correlation_id = 'lead:$id'")" \
    "LeadCreated,NotificationRequested" "events of lead $id in the leads outbox at reply time"

  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE recipient = 'alice'" 1 "notifications for alice"
  out=$(notifications_of alice)
  note "notifications: $out"
  assert_eq "$(grep -c 'Новый лид' <<<"$out")" 1 "crmctl notifications --user alice: 'Новый лид' lines"
  assert_contains "$out" "Новый лид #$id" "notification text"
  assert_contains "$out" "lead:$id" "notification's correlation id"
  assert_contains "$out" "Иван Петров" "notification names the contact"
  assert_eq "$(sql "SELECT request_key||'|'||requested_by FROM notifier.notification")" \
    "lead:$id:new-lead|leads" "notification's request key and requester"
  out=$(notifications_of bob)
  assert_contains "$out" "no notifications for bob" "another user's notifications"
}

test_same_lead_twice_is_one_lead() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads

  local first second id
  first=$(crmctl lead submit --source-system crm1 --external-id 42 --name "Анна" --responsible alice)
  [[ $first =~ ^lead\ ([0-9]+)\ created$ ]] || fail "first submit printed '$first'"
  id=${BASH_REMATCH[1]}
  second=$(crmctl lead submit --source-system crm1 --external-id 42 --name "Анна (again)" --responsible bob)
  assert_eq "$second" "lead $id already known (crm1/42)" "second submit of (crm1, 42)"
  # The same external id from another system is another lead.
  local other
  other=$(crmctl lead submit --source-system crm2 --external-id 42 --phone 12345 --responsible alice)
  [[ $other =~ ^lead\ ([0-9]+)\ created$ ]] || fail "(crm2, 42) printed '$other'"
  [[ ${BASH_REMATCH[1]} != "$id" ]] || fail "(crm2, 42) got the id of (crm1, 42)"

  assert_eq "$(sql "SELECT count(*) FROM leads.lead WHERE source_system = 'crm1'")" 1 "leads for (crm1, 42)"
  assert_eq "$(sql "SELECT name||'|'||responsible FROM leads.lead WHERE id = $id")" "Анна|alice" \
    "the first submission's data is kept"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox WHERE correlation_id = 'lead:$id'")" 2 \
    "events for lead $id (LeadCreated + NotificationRequested, once)"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications stored"
  # Give the bus every chance to deliver a duplicate: the notifier has applied
  # all the leads events before we count.
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" \
    "$(sql "SELECT last_sequence FROM leads.outbox_head")" "notifier's offset for leads"
  assert_eq "$(notification_count alice)" 2 "alice's notifications (one per lead)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE request_key = 'lead:$id:new-lead'")" 1 \
    "notifications for lead $id"
  assert_contains "$(notifications_of bob)" "no notifications for bob" "bob (the second submit's responsible)"
}

test_default_responsible() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  local out
  out=$(crmctl lead submit --source-system web --external-id d1 --email client@example.org)
  [[ $out =~ ^lead\ ([0-9]+)\ created$ ]] || fail "submit printed '$out'"
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE external_id = 'd1'")" manager \
    "responsible of a lead without one (default)"
  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE recipient = 'manager'" 1 \
    "notifications for manager"
  assert_contains "$(notifications_of manager)" "Новый лид" "manager's notifications"

  # CRM_LEADS_DEFAULT_RESPONSIBLE changes the default.
  kill_service leads
  start_service leads CRM_LEADS_DEFAULT_RESPONSIBLE=olga
  out=$(crmctl lead submit --source-system web --external-id d2 --name "Пётр")
  [[ $out =~ created$ ]] || fail "submit printed '$out'"
  assert_eq "$(sql "SELECT responsible FROM leads.lead WHERE external_id = 'd2'")" olga \
    "responsible with CRM_LEADS_DEFAULT_RESPONSIBLE=olga"
  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE recipient = 'olga'" 1 "notifications for olga"
  assert_contains "$(notifications_of olga)" "Новый лид" "olga's notifications"
}

# submit_invalid EXPECTED_FIELDS ARGS...: SubmitLead through the raw tool
# must answer INVALID_ARGUMENT naming exactly EXPECTED_FIELDS (sorted, ",").
submit_invalid() {
  local expected=$1 out code fields
  shift
  out=$(bus submit-lead "$(service_endpoint leads)" "$@")
  note "SubmitLead $*: $out"
  code=$(jq -r '.error.code // "none"' <<<"$out")
  fields=$(jq -r '.error.fields // [] | sort | join(",")' <<<"$out")
  assert_eq "$code" INVALID_ARGUMENT "error code for SubmitLead $*"
  assert_eq "$fields" "$expected" "fields named for SubmitLead $*"
  [[ $(jq -r '.error.message' <<<"$out") != "" ]] || fail "no error message for SubmitLead $*"
}

test_invalid_leads_are_refused() {
  fresh_db
  start_service leads
  local ep
  ep=$(service_endpoint leads)
  submit_invalid external_id --source-system web --name "Без номера"
  submit_invalid source_system --external-id x1 --name "Без системы"
  submit_invalid email --source-system web --external-id x2 --email "not-an-email"
  submit_invalid email --source-system web --external-id x3 --name N --email "a@b"
  submit_invalid phone --source-system web --external-id x4 --phone "call me"
  submit_invalid email,name,phone --source-system web --external-id x5 --company "Only a company"
  submit_invalid name --source-system web --external-id x6 --name @1001
  submit_invalid comment --source-system web --external-id x7 --name N --comment @4001
  submit_invalid company,email,external_id --source-system web --email "bad@" --company @1001
  submit_invalid email,external_id,phone,source_system --phone 12 --email x

  # crmctl says so too, with exit status 1.
  local rc=0 err
  err=$(crmctl lead submit --source-system web --external-id x8 --email bad 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc" 1 "crmctl exit status for an invalid lead"
  assert_contains "$err" INVALID_ARGUMENT "crmctl's message"
  assert_contains "$err" email "crmctl's message names the field"

  # Nothing stored, nothing emitted; the service still works.
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 0 "leads stored"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox")" 0 "events emitted"
  assert_eq "$(sql "SELECT last_sequence FROM leads.outbox_head")" 0 "leads outbox head"
  local out
  out=$(crmctl lead submit --source-system web --external-id ok1 --name "Valid")
  assert_eq "$out" "lead 1 created" "a valid lead after the invalid ones"
  # A field exactly at its limit is fine.
  out=$(bus submit-lead "$ep" --source-system web --external-id ok2 --name @1000 --comment @4000)
  assert_eq "$(jq -r '.result.created' <<<"$out")" true "lead with name of 1000 and comment of 4000 bytes"
}

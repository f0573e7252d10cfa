# Leads intake through the command endpoint: storing, replying after
# commit, notifying the responsible once, deduplication, responsibles that
# must be staff logins, and refusing invalid leads. (Assignment of leads
# without a responsible, and the funnel: test_funnel.sh.)

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
    --comment "перезвонить" --responsible ivanov)
  note "crmctl: $out"
  [[ $out =~ ^lead\ ([0-9]+)\ created$ ]] || fail "crmctl lead submit printed '$out', not 'lead N created'"
  id=${BASH_REMATCH[1]}

  # The reply comes after commit: the row is there the moment crmctl returns.
  assert_eq "$(sql "SELECT source_system||'|'||external_id||'|'||name||'|'||phone||'|'||email||'|'||company||'|'||comment||'|'||responsible||'|'||stage FROM leads.lead WHERE id = $id")" \
    "website|W-1|Иван Петров|+7 (912) 345-67-89|ivan@example.com|ООО Ромашка|перезвонить|ivanov|new" \
    "stored lead $id when the reply came"
  assert_eq "$(sql "SELECT string_agg(type, ',' ORDER BY sequence) FROM leads.outbox WHERE correlation_id = 'lead:$id'")" \
    "LeadCreated,NotificationRequested" "events of lead $id in the leads outbox at reply time"

  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE recipient = 'ivanov'" 1 "notifications for ivanov"
  out=$(notifications_of ivanov)
  note "notifications: $out"
  assert_eq "$(grep -c 'Новый лид' <<<"$out")" 1 "crmctl notifications --user ivanov: 'Новый лид' lines"
  # The text is the definition's (deploy/pipelines/lead_funnel.yaml, rule new-lead).
  assert_contains "$out" "Новый лид №$id: Иван Петров ООО Ромашка +7 (912) 345-67-89 ivan@example.com. Свяжитесь с клиентом" \
    "notification text"
  assert_contains "$out" "lead:$id" "notification's correlation id"
  assert_eq "$(sql "SELECT (request_key LIKE 'lead:$id:%new-lead%')::text||'|'||requested_by FROM notifier.notification")" \
    "true|leads" "notification's request key (the rule's) and requester"
  out=$(notifications_of smirnova)
  assert_contains "$out" "no notifications for smirnova" "another user's notifications"
}

test_same_lead_twice_is_one_lead() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads

  local first second id
  first=$(crmctl lead submit --source-system crm1 --external-id 42 --name "Анна" --responsible ivanov)
  [[ $first =~ ^lead\ ([0-9]+)\ created$ ]] || fail "first submit printed '$first'"
  id=${BASH_REMATCH[1]}
  second=$(crmctl lead submit --source-system crm1 --external-id 42 --name "Анна (again)" --responsible smirnova)
  assert_eq "$second" "lead $id already known (crm1/42)" "second submit of (crm1, 42)"
  # The same external id from another system is another lead.
  local other
  other=$(crmctl lead submit --source-system crm2 --external-id 42 --phone 12345 --responsible ivanov)
  [[ $other =~ ^lead\ ([0-9]+)\ created$ ]] || fail "(crm2, 42) printed '$other'"
  [[ ${BASH_REMATCH[1]} != "$id" ]] || fail "(crm2, 42) got the id of (crm1, 42)"

  assert_eq "$(sql "SELECT count(*) FROM leads.lead WHERE source_system = 'crm1'")" 1 "leads for (crm1, 42)"
  assert_eq "$(sql "SELECT name||'|'||responsible FROM leads.lead WHERE id = $id")" "Анна|ivanov" \
    "the first submission's data is kept"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox WHERE correlation_id = 'lead:$id'")" 2 \
    "events for lead $id (LeadCreated + NotificationRequested, once)"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications stored"
  # Give the bus every chance to deliver a duplicate: the notifier has applied
  # all the leads events before we count.
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" \
    "$(sql "SELECT last_sequence FROM leads.outbox_head")" "notifier's offset for leads"
  assert_eq "$(notification_count ivanov)" 2 "ivanov's notifications (one per lead)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE request_key LIKE 'lead:$id:%'")" 1 \
    "notifications for lead $id"
  assert_contains "$(notifications_of smirnova)" "no notifications for smirnova" "smirnova (the second submit's responsible)"
}

test_responsible_must_be_staff() {
  fresh_db
  start_service leads
  local out
  # A login the staff directory does not have is refused, naming the field.
  out=$(bus submit-lead "$(service_endpoint leads)" --source-system web --external-id s1 --name "Пётр" \
    --responsible olga)
  assert_eq "$(jq -r '.error.code' <<<"$out")" INVALID_ARGUMENT "code for responsible olga"
  assert_eq "$(jq -r '.error.fields | join(",")' <<<"$out")" responsible "fields for responsible olga"
  assert_contains "$(jq -r '.error.message' <<<"$out")" "'olga' is not a staff login" "message"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 0 "leads stored"
  # Any staff login is accepted; none at all gets a manager.
  out=$(crmctl lead submit --source-system web --external-id s2 --name "Пётр" --responsible petrova)
  [[ $out =~ created$ ]] || fail "submit printed '$out'"
  out=$(crmctl lead submit --source-system web --external-id s3 --email client@example.org)
  [[ $out =~ created$ ]] || fail "submit printed '$out'"
  assert_eq "$(sql "SELECT string_agg(responsible, ',' ORDER BY id) FROM leads.lead")" "petrova,ivanov" \
    "responsibles (given; the first manager of the round robin)"
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
  submit_invalid email,responsible --source-system web --external-id x9 --email x --responsible nobody

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

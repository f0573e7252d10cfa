# The leads intake (base port + 3): systems that only publish
# [topic "LeadReceived"][LeadReceived] and want no reply.

intake_ep() { printf 'tcp://127.0.0.1:%s\n' $((CRM_LEADS_PORT + 3)); }

test_published_lead_is_stored_once() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  # The publisher waits for the intake's subscription (an XPUB sees it), so
  # nothing is dropped by the slow joiner; then publishes the lead 3 times,
  # and on the same connection a second lead, P-8: once P-8 is stored, the
  # three copies before it have been applied.
  bus intake "$(intake_ep)" --times 3 --source-system partner --external-id P-7 --name "Мария" \
    --email maria@example.com --responsible smirnova --then-external-id P-8 >"$T_DIR/intake.out"
  wait_sql 60 "SELECT count(*) FROM leads.lead WHERE source_system = 'partner'" 2 "leads from the intake"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead WHERE external_id = 'P-7'")" 1 "leads for (partner, P-7)"
  assert_eq "$(sql "SELECT external_id||'|'||name||'|'||email||'|'||responsible FROM leads.lead WHERE external_id = 'P-7'")" \
    "P-7|Мария|maria@example.com|smirnova" "the lead from the intake"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox")" 4 "events (2 per lead)"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications"
  # Three more copies, from another connection, then P-9.
  bus intake "$(intake_ep)" --times 3 --source-system partner --external-id P-7 --name "Мария" \
    --responsible smirnova --then-external-id P-9 >>"$T_DIR/intake.out"
  wait_sql 60 "SELECT count(*) FROM leads.lead" 3 "leads after the repeats and P-9"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead WHERE external_id = 'P-7'")" 1 "leads for (partner, P-7)"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox")" 6 "events (2 per lead)"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 3 "notifications"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE request_key LIKE 'lead:' ||
                    (SELECT id FROM leads.lead WHERE external_id = 'P-7') || ':%'")" 1 "notifications of P-7"
  assert_eq "$(crmctl notifications --user smirnova | grep -c 'Мария')" 1 "smirnova's notifications about Мария (crmctl)"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter")" 0 "leads dead letters"
}

test_garbage_on_intake_is_dead_lettered() {
  fresh_db
  start_service leads
  # Not a LeadReceived (a length running past the end) ...
  bus intake "$(intake_ep)" --garbage 0aff01676172626167650a >"$T_DIR/intake.out"
  wait_sql 60 "SELECT count(*) FROM leads.dead_letter WHERE source = 'intake'" 1 "dead letters from the intake"
  assert_eq "$(sql "SELECT reason FROM leads.dead_letter")" "not a crm.v1.LeadReceived protobuf" "dead letter reason"
  assert_eq "$(sql "SELECT encode(payload, 'hex') FROM leads.dead_letter")" "0aff01676172626167650a" \
    "dead letter keeps the payload"
  # ... a wrong topic, and a lead that is invalid.
  bus intake "$(intake_ep)" --topic Hello --garbage 00 >>"$T_DIR/intake.out"
  bus intake "$(intake_ep)" --source-system partner --external-id bad-1 --email nope >>"$T_DIR/intake.out"
  # A responsible who is not in the staff directory.
  bus intake "$(intake_ep)" --source-system partner --external-id bad-2 --name "Ира" --responsible olga \
    >>"$T_DIR/intake.out"
  wait_sql 60 "SELECT count(*) FROM leads.dead_letter WHERE source = 'intake'" 4 "dead letters from the intake"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter WHERE reason LIKE '%email%'")" 1 \
    "dead letter of the invalid lead names the field"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter WHERE reason LIKE 'responsible ''olga'' is not a staff login%'")" 1 \
    "dead letter of the lead with an unknown responsible"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 0 "leads stored"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/leads.log" --level error --msg "message dead-lettered" --field source=intake ||
    fail "no error log line for the dead letter"
  # The service keeps running: it answers and takes the next lead.
  service_alive leads || fail "leads exited"
  assert_eq "$(status_of leads | jq -r .dead_letters)" 4 "dead_letters in leads' Status"
  bus intake "$(intake_ep)" --source-system partner --external-id ok-1 --name "Good" >>"$T_DIR/intake.out"
  wait_sql 60 "SELECT count(*) FROM leads.lead" 1 "leads after the garbage"
}

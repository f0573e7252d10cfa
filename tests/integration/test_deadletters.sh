# crmctl deadletters: every service lists its dead letters (ListDeadLetters)
# and applies one again after a fix (RetryDeadLetter): an intake message
# refused for a responsible the staff file did not know, and events whose
# notification could not be stored.

intake_ep() { printf 'tcp://127.0.0.1:%s\n' $((CRM_LEADS_PORT + 3)); }
metric() { "$PY" "$TOOLS/prom.py" get "http://127.0.0.1:$(($(service_port "$1") + 5))/metrics" "${@:2}"; }

# dl_json SERVICE: its dead letters (--all), one JSON object per line, into $T_DIR/dl.json.
dl_json() {
  crmctl deadletters --service "$1" --all --json >"$T_DIR/dl.json" || fail "crmctl deadletters --service $1 failed"
  cat "$T_DIR/dl.json" >>"$T_DIR/dl.history"
}

# retry SERVICE ID: runs crmctl deadletters retry; sets RC and OUT (stdout + stderr).
retry() {
  RC=0
  OUT=$(crmctl deadletters retry "$2" --service "$1" 2>&1) || RC=$?
  note "retry $1 $2 -> $RC: $OUT"
}

test_intake_lead_retried_after_the_staff_file_is_fixed() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  bus intake "$(intake_ep)" --source-system partner --external-id N-1 --name "Новый" --responsible novikov \
    >"$T_DIR/intake.out"
  wait_sql 60 "SELECT count(*) FROM leads.dead_letter" 1 "dead letters"
  dl_json leads
  assert_eq "$(jq -s 'length' "$T_DIR/dl.json")" 1 "dead letters listed"
  local id
  id=$(jq -r .id "$T_DIR/dl.json")
  assert_eq "$(jq -r '[.service, .source, .sequence, .retryable, .retries, .retried_ms] | join(" ")' "$T_DIR/dl.json")" \
    "leads intake 0 true 0 0" "the dead letter"
  assert_contains "$(jq -r .reason "$T_DIR/dl.json")" "responsible 'novikov' is not a staff login" "its reason"
  assert_eq "$(metric leads crm_dead_letters)" 1 "crm_dead_letters"
  # The table, for every service: the three not running are named, exit 1.
  local rc=0 table
  table=$(crmctl deadletters --timeout 1000 2>"$T_DIR/table.err") || rc=$?
  note "$table"
  assert_eq "$rc" 1 "crmctl deadletters with three services down"
  grep -qE "^leads +$id  .*  intake  -  -  retries=0  responsible 'novikov'" <<<"$table" || fail "table row: $table"
  assert_contains "$table" "open: leads 1, deals ?, tasks ?, notifier 0, timer ?" "open counts"

  # Not fixed yet: refused again, the reason kept, one retry counted.
  retry leads "$id"
  assert_eq "$RC" 1 "retry before the fix"
  assert_contains "$OUT" "REJECTED" "retry before the fix"
  assert_eq "$(sql "SELECT retries || ' ' || (retried_at IS NULL) FROM leads.dead_letter")" "1 true" "after the failed retry"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 0 "leads stored"

  # The fix: novikov joins the staff; then the retry stores the lead.
  cp "$SHIPPED_STAFF_FILE" "$T_DIR/staff.yaml"
  printf '  - login: novikov\n    name: Николай Новиков\n    roles: [manager]\n' >>"$T_DIR/staff.yaml"
  kill_service leads
  start_service leads CRM_STAFF_FILE="$T_DIR/staff.yaml"
  retry leads "$id"
  assert_eq "$RC" 0 "retry after the fix"
  assert_eq "$OUT" "leads: dead letter $id applied (retry 2)" "crmctl's line"
  assert_eq "$(sql "SELECT source_system || '|' || external_id || '|' || responsible FROM leads.lead")" \
    "partner|N-1|novikov" "the lead stored by the retry"
  wait_sql 60 "SELECT recipient FROM notifier.notification" novikov "novikov notified"
  assert_eq "$(sql "SELECT retries || ' ' || (retried_at IS NOT NULL) FROM leads.dead_letter")" "2 true" "closed"
  dl_json leads
  assert_eq "$(jq -r '[.retries, (.retried_ms > 0)] | join(" ")' "$T_DIR/dl.json")" "2 true" "--all shows it applied"
  assert_eq "$(crmctl deadletters --service leads --json | wc -l)" 0 "open dead letters listed"
  assert_eq "$(crmctl deadletters --service leads | tail -n 1)" "open: leads 0" "open count"
  assert_eq "$(metric leads crm_dead_letters)" 0 "crm_dead_letters after the retry"
  assert_eq "$(metric leads crm_dead_letters_retried_total)" 1 "crm_dead_letters_retried_total"
  assert_eq "$(status_of leads | jq -r .dead_letters)" 0 "dead_letters in Status"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/leads.log" --msg "dead letter retried" || fail "no 'dead letter retried' line"

  # Once is enough; unknown ids; the command line.
  retry leads "$id"
  assert_eq "$RC" 1 "a second retry"
  assert_contains "$OUT" "ALREADY_RETRIED" "a second retry"
  retry leads 999
  assert_contains "$OUT" "NOT_FOUND" "an unknown id"
  rc=0
  crmctl deadletters retry "$id" 2>"$T_DIR/usage.err" || rc=$?
  assert_eq "$rc" 2 "retry without --service"
  assert_contains "$(cat "$T_DIR/usage.err")" "--service S is required" "usage error"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 1 "leads stored in the end"
}

test_events_retried_after_the_database_is_fixed() {
  fresh_db
  fake_source bench "$CRM_BENCH_PORT"
  start_service notifier CRM_NOTIFIER_SOURCES=bench
  # An operator's mistake: a constraint the notifier's inserts run into.
  sql "ALTER TABLE notifier.notification ADD CONSTRAINT no_blocked CHECK (recipient <> 'blocked')" >/dev/null
  fake '{"op": "wait_sub"}'
  fake_wait_line '^subscribed'
  fake '{"op": "event", "seq": 1, "type": "NotificationRequested", "request_key": "dl:1", "recipient": "blocked", "text": "один", "correlation_id": "lead:1"}'
  fake '{"op": "event", "seq": 2, "type": "NotificationRequested", "request_key": "dl:2", "recipient": "dan", "text": "два"}'
  fake '{"op": "event", "seq": 3, "type": "NotificationRequested", "request_key": "dl:3", "recipient": "dan", "text": ""}'
  fake '{"op": "raw", "topic": "bench.NotificationRequested", "hex": "ff"}'
  fake '{"op": "event", "seq": 4, "type": "NotificationRequested", "request_key": "dl:4", "recipient": "dan", "text": "четыре"}'
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications of 2 and 4"
  wait_sql 60 "SELECT count(*) FROM notifier.dead_letter" 3 "dead letters"
  dl_json notifier
  local failed invalid garbage
  failed=$(jq -r 'select(.sequence == 1) | .id' "$T_DIR/dl.json")
  invalid=$(jq -r 'select(.sequence == 3) | .id' "$T_DIR/dl.json")
  garbage=$(jq -r 'select(.sequence == 0) | .id' "$T_DIR/dl.json")
  assert_contains "$(jq -r 'select(.sequence == 1) | .reason' "$T_DIR/dl.json")" "no_blocked" "seq 1's reason"
  assert_contains "$(jq -r 'select(.sequence == 3) | .reason' "$T_DIR/dl.json")" "text is required" "seq 3's reason"
  assert_eq "$(jq -r '[.retryable] | @text' "$T_DIR/dl.json" | tr '\n' ' ')" "[false] [true] [true] " \
    "retryable (newest first: garbage, 3, 1)"

  # Still broken: the failure is recorded on the dead letter.
  retry notifier "$failed"
  assert_eq "$RC" 1 "retry of seq 1 before the fix"
  assert_contains "$OUT" "no_blocked" "the new reason in the answer"
  assert_eq "$(sql "SELECT retries FROM notifier.dead_letter WHERE id = $failed")" 1 "retries of seq 1"
  assert_contains "$(sql "SELECT reason FROM notifier.dead_letter WHERE id = $failed")" "handler failed" "reason"
  # Refused by the handler again (no text): REJECTED, reason as before.
  retry notifier "$invalid"
  assert_eq "$RC" 1 "retry of seq 3"
  assert_contains "$OUT" "REJECTED: text is required" "retry of seq 3"
  # Nothing to apply for garbage.
  retry notifier "$garbage"
  assert_contains "$OUT" "NOT_RETRYABLE" "retry of the unreadable message"

  # The fix, then the retry: stored once, with its correlation id; the
  # consumer offset stays where it was.
  sql "ALTER TABLE notifier.notification DROP CONSTRAINT no_blocked" >/dev/null
  retry notifier "$failed"
  assert_eq "$RC" 0 "retry of seq 1 after the fix"
  assert_eq "$(sql "SELECT recipient || '|' || text || '|' || correlation_id FROM notifier.notification WHERE request_key = 'dl:1'")" \
    "blocked|один|lead:1" "the notification stored by the retry"
  assert_eq "$(sql "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'")" 4 "offset for bench"
  assert_eq "$(metric notifier crm_events_published_total type=NotificationStored)" 3 "NotificationStored published"
  assert_eq "$(metric notifier crm_dead_letters)" 2 "open dead letters"
  assert_eq "$(metric notifier crm_dead_letters_recorded_total)" 3 "dead letters recorded"
  fake '{"op": "quit"}'
}

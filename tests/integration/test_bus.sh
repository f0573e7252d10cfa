# The bus between services: a late subscriber catches up by replay, a lost
# tail is noticed (restart probe, heartbeat), and what a source publishes
# that cannot be applied is dead-lettered without stopping the consumer.

NOTES_Q="SELECT count(*) FROM notifier.notification"

test_late_subscriber_catches_up_on_1000_events() {
  fresh_db
  start_service leads
  LOADGEN_TIMEOUT=180 loadgen --count 1000 --window 100 --prefix late --source-system bus >/dev/null
  assert_eq "$(sql "SELECT last_sequence FROM leads.outbox_head")" 2000 "leads events published before the notifier started"
  assert_eq "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'notifier'")" 0 \
    "tables in the notifier schema before the notifier started"

  start_service notifier CRM_NOTIFIER_SOURCES=leads
  wait_sql 120 "$NOTES_Q" 1000 "notifications after the late start"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" 2000 \
    "notifier's offset for leads"
  assert_eq "$(sql "SELECT count(DISTINCT request_key) FROM notifier.notification")" 1000 "distinct request keys"
  assert_eq "$(sql "SELECT min(request_sequence)||'-'||max(request_sequence) FROM notifier.notification")" "2-2000" \
    "request sequences (every NotificationRequested, LeadCreated skipped)"
  local st
  st=$(status_of notifier)
  assert_eq "$(jq -c '.sources[] | select(.source == "leads") | [.applied_sequence, .latest_sequence, .lag]' <<<"$st")" \
    "[2000,2000,0]" "notifier's Status for leads [applied, latest, lag]"
}

test_events_missed_while_down_come_by_replay() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  crmctl lead submit --source-system bus --external-id before --name "До" >/dev/null
  wait_sql 60 "$NOTES_Q" 1 "notification of the lead before the kill"
  kill_service notifier KILL
  local i
  for i in $(seq 1 10); do
    crmctl lead submit --source-system bus --external-id "missed-$i" --name "Пропущенный $i" >/dev/null
  done
  assert_eq "$(sql "SELECT last_sequence FROM leads.outbox_head")" 22 "leads' outbox head"
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  wait_sql 60 "$NOTES_Q" 11 "notifications after the restart"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" 22 "notifier's offset"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE text LIKE '%Пропущенный%'")" 10 \
    "notifications of the 10 leads submitted while the notifier was down"
}

test_malformed_and_unknown_events_are_dead_lettered() {
  fresh_db
  fake_source bench "$CRM_BENCH_PORT"
  start_service notifier CRM_NOTIFIER_SOURCES=leads,bench
  fake '{"op": "wait_sub"}'
  fake_wait_line '^subscribed$'
  # Not an Envelope at all (a length prefix running past the end).
  fake '{"op": "raw", "topic": "bench.NotificationRequested", "hex": "0aff01676172626167650a"}'
  fake '{"op": "event", "seq": 1, "type": "Frobnicated", "payload_hex": "0801"}'
  fake '{"op": "event", "seq": 2, "type": "NotificationRequested", "payload_hex": "0a0561"}'
  fake '{"op": "event", "seq": 3, "type": "NotificationRequested", "recipient": "alice", "text": "без ключа"}'
  fake '{"op": "event", "seq": 4, "type": "NotificationRequested", "request_key": "bench:4", "recipient": "alice", "text": "Проверка", "correlation_id": "bench:4"}'

  wait_sql 60 "SELECT count(*) FROM notifier.notification" 1 "notifications stored"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'" 4 "notifier's offset for bench"
  wait_sql 60 "SELECT count(*) FROM notifier.dead_letter" 4 "notifier dead letters"
  assert_eq "$(sql "SELECT request_key||'|'||recipient||'|'||text||'|'||requested_by||'|'||request_sequence FROM notifier.notification")" \
    "bench:4|alice|Проверка|bench|4" "the valid request's notification"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter WHERE source = 'bench' AND sequence IS NULL AND reason LIKE '%undecodable envelope%'")" 1 \
    "dead letter for the undecodable envelope"
  assert_eq "$(sql "SELECT type FROM notifier.dead_letter WHERE source = 'bench' AND sequence = 1 AND reason LIKE '%unknown event type%'")" Frobnicated \
    "dead letter for the unknown type (seq 1)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter WHERE source = 'bench' AND sequence = 2 AND type = 'NotificationRequested' AND reason LIKE '%not a crm.v1.NotificationRequested%'")" 1 \
    "dead letter for the undecodable payload (seq 2)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter WHERE source = 'bench' AND sequence = 3 AND reason LIKE '%request_key%'")" 1 \
    "dead letter for the missing request_key (seq 3)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter WHERE reason = '' OR reason IS NULL")" 0 "dead letters without a reason"

  # Each says so in the log, as an error, in JSON.
  local log=$T_DIR/notifier.log
  "$PY" "$TOOLS/logcheck.py" find "$log" --level error --msg "message dead-lettered" --field source=bench \
    --field reason=undecodable || fail "no error log line for the undecodable envelope"
  local seq
  for seq in 1 2 3; do
    "$PY" "$TOOLS/logcheck.py" find "$log" --level error --msg "event dead-lettered" --field source=bench \
      --field sequence=$seq || fail "no error log line for the dead-lettered event $seq"
  done

  # Still running and consuming; Status counts the dead letters.
  local st
  st=$(status_of notifier)
  assert_eq "$(jq -r .dead_letters <<<"$st")" 4 "dead_letters in notifier's Status"
  assert_eq "$(jq -c '.sources[] | select(.source == "bench") | [.applied_sequence, .lag]' <<<"$st")" "[4,0]" \
    "notifier's Status for bench [applied, lag]"
  fake '{"op": "event", "seq": 5, "type": "NotificationRequested", "request_key": "bench:5", "recipient": "alice", "text": "Ещё"}'
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications after the bad ones"
  # A known type it has no handler for is skipped, not dead-lettered.
  fake '{"op": "event", "seq": 6, "type": "LeadCreated", "payload_hex": ""}'
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'" 6 "offset after a LeadCreated"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter")" 4 "dead letters after a known type without handler"
  # An envelope on bench's topic that says it comes from someone else, and
  # one without a sequence: dead letters, the offset stays.
  fake '{"op": "event", "seq": 7, "source": "leads", "type": "NotificationRequested", "request_key": "x:7", "recipient": "alice", "text": "x", "hold": false}'
  fake '{"op": "event", "seq": 0, "type": "NotificationRequested", "request_key": "x:0", "recipient": "alice", "text": "x", "hold": false}'
  wait_sql 60 "SELECT count(*) FROM notifier.dead_letter WHERE reason LIKE 'unknown sender%'" 2 \
    "dead letters for a foreign sender and for no sequence"
  assert_eq "$(sql "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'")" 6 "offset after them"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE request_key LIKE 'x:%'")" 0 "notifications from them"
  service_alive notifier || fail "the notifier is not running"
  fake '{"op": "quit"}'
}

test_lost_tail_is_noticed_by_heartbeat() {
  fresh_db
  fake_source bench "$CRM_BENCH_PORT"
  local i
  for i in 1 2 3; do
    fake "{\"op\": \"event\", \"seq\": $i, \"type\": \"NotificationRequested\", \"request_key\": \"tail:$i\", \"recipient\": \"bob\", \"text\": \"t$i\"}"
  done
  start_service notifier CRM_NOTIFIER_SOURCES=bench CRM_HEARTBEAT_MS=200
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'" 3 "offset after the first three"
  # Wait for the startup probe to be answered before losing anything, so
  # that only a heartbeat can reveal what comes next.
  fake_wait_line 'replay from=1 '
  local replays_before
  replays_before=$(grep -c '^replay from=4 ' "$T_DIR/fake-bench.out" || true)
  assert_eq "$replays_before" 0 "replay requests for 4 before it exists"
  # Events 4 and 5 are committed at the source but their live publication
  # is lost (as when a PUB drops); only the heartbeat says latest = 5.
  fake '{"op": "event", "seq": 4, "type": "NotificationRequested", "request_key": "tail:4", "recipient": "bob", "text": "t4", "live": false}'
  fake '{"op": "event", "seq": 5, "type": "NotificationRequested", "request_key": "tail:5", "recipient": "bob", "text": "t5", "live": false}'
  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE request_key IN ('tail:4', 'tail:5')" 2 \
    "notifications of the lost tail"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'" 5 "offset after the tail"
  grep -qE '^replay from=4 ' "$T_DIR/fake-bench.out" || fail "the notifier never asked the source for a replay from 4"
  assert_eq "$(sql "$NOTES_Q")" 5 "notifications"
  fake '{"op": "quit"}'
}

test_text_that_is_not_utf8_in_an_envelope_is_dead_lettered() {
  # A source may send bytes that are no UTF-8 in an Envelope's strings
  # (protobuf-c does not check them). Such an event is dead-lettered like
  # any other bad one, the events around it are applied, and the log stays
  # JSON (the runner checks every line of notifier.log).
  fresh_db
  fake_source bench "$CRM_BENCH_PORT"
  fake '{"op": "event", "seq": 1, "type": "NotificationRequested", "request_key": "u:1", "recipient": "alice", "text": "ok 1"}'
  # correlation_id "ZZZZ" patched into ff fe fd fc
  fake '{"op": "event", "seq": 2, "type": "NotificationRequested", "request_key": "u:2", "recipient": "alice", "text": "t", "correlation_id": "ZZZZ", "patch": [["5a5a5a5a", "fffefdfc"]]}'
  # type "QQQQ" patched into ff fe fd fc: an unknown type that is no text
  fake '{"op": "event", "seq": 3, "type": "QQQQ", "payload_hex": "", "patch": [["51515151", "fffefdfc"]]}'
  fake '{"op": "event", "seq": 4, "type": "NotificationRequested", "request_key": "u:4", "recipient": "alice", "text": "ok 4"}'
  start_service notifier CRM_NOTIFIER_SOURCES=bench
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'" 4 "notifier's offset for bench"
  assert_eq "$(sql "SELECT string_agg(request_key, ',' ORDER BY request_key) FROM notifier.notification")" "u:1,u:4" \
    "notifications stored"
  assert_eq "$(sql "SELECT string_agg(sequence::text, ',' ORDER BY sequence) FROM notifier.dead_letter")" "2,3" \
    "sequences dead-lettered (every event not applied is dead-lettered)"
  service_alive notifier || fail "notifier exited"
}

# Crashes and outages under traffic: the notifier killed and restarted, the
# leads service killed and restarted, Postgres restarted. Whatever was acked
# is stored once, and every lead gets exactly one notification.

LEADS_Q="SELECT count(*) FROM leads.lead"
NOTES_Q="SELECT count(*) FROM notifier.notification"

# check_exactly_once PREFIX N: N leads with external ids PREFIX-*, N
# LeadCreated events, N notifications with N distinct request keys, one per
# lead, and the notifier's offset for leads at leads' outbox head.
check_exactly_once() {
  local prefix=$1 n=$2
  assert_eq "$(sql "SELECT count(*) FROM leads.lead WHERE external_id LIKE '$prefix-%'")" "$n" "leads stored"
  assert_eq "$(sql "SELECT count(DISTINCT external_id) FROM leads.lead WHERE external_id LIKE '$prefix-%'")" "$n" \
    "distinct external ids stored"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox WHERE type = 'LeadCreated'")" "$n" "LeadCreated events"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox WHERE type = 'NotificationRequested'")" "$n" \
    "NotificationRequested events"
  assert_eq "$(sql "SELECT last_sequence FROM leads.outbox_head")" "$((2 * n))" "leads outbox head"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox")" "$((2 * n))" "leads outbox rows"
  wait_sql 180 "$NOTES_Q" "$n" "notifications stored"
  assert_eq "$(sql "SELECT count(DISTINCT request_key) FROM notifier.notification")" "$n" "distinct request keys"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead l LEFT JOIN notifier.notification n
                    ON n.request_key LIKE ('lead:' || l.id || ':%') WHERE n.id IS NULL")" 0 \
    "leads without a notification"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" \
    "$(sql "SELECT last_sequence FROM leads.outbox_head")" "notifier's consumer_offset for leads (= leads' outbox head)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter")" 0 "notifier dead letters"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter")" 0 "leads dead letters"
}

# loadgen_acked N: the finished loadgen acked all N leads and failed none.
loadgen_acked() {
  assert_eq "$(kv acked "$LOADGEN_LINE")" "$1" "loadgen acked"
  assert_eq "$(kv failed "$LOADGEN_LINE")" 0 "loadgen failed"
}

# wait_leads N: waits until at least N leads are stored (or loadgen is done).
wait_leads() {
  wait_until 180 eval "sql_ge \"$LEADS_Q\" $1 || ! loadgen_running" ||
    fail "fewer than $1 leads stored after 180s ($(sql "$LEADS_Q"))"
}

test_notifier_killed_twice_during_10000_leads() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  loadgen_bg --count 10000 --window 100 --rate "${CRM_TEST_STRESS_RATE:-600}" --prefix nk --source-system stress
  local round
  for round in 1 2; do
    wait_leads $((round * 3500 - 2000))
    note "round $round: SIGKILL notifier at $(sql "$LEADS_Q") leads, $(sql "$NOTES_Q") notifications"
    kill_service notifier KILL
    wait_leads $((round * 3500))
    loadgen_running || note "loadgen finished before the notifier came back"
    start_service notifier CRM_NOTIFIER_SOURCES=leads
    note "round $round: notifier back at $(sql "$LEADS_Q") leads, $(sql "$NOTES_Q") notifications"
  done
  loadgen_wait 300
  loadgen_acked 10000
  assert_eq "$(kv created "$LOADGEN_LINE")" 10000 "loadgen created"
  check_exactly_once nk 10000
  # loadgen gives no responsible: the two managers of the staff directory in turn.
  assert_eq "$(sql "SELECT string_agg(recipient || ':' || n, ',' ORDER BY recipient)
                    FROM (SELECT recipient, count(*) AS n FROM notifier.notification GROUP BY recipient) r")" \
    "ivanov:5000,smirnova:5000" "notifications per recipient"
}

test_leads_killed_and_restarted_mid_stream() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  loadgen_bg --count 3000 --window 50 --rate 600 --timeout 2000 --prefix lk --source-system stress
  wait_leads 1000
  note "SIGKILL leads at $(sql "$LEADS_Q") leads"
  kill_service leads KILL
  # The stream goes on without it: loadgen keeps (re)sending.
  sleep 1
  start_service leads
  note "leads back at $(sql "$LEADS_Q") leads"
  wait_leads 2000
  # And a graceful stop under load: SIGTERM, exit status 0 (checked at the
  # end of the case), nothing acked is lost.
  note "SIGTERM leads at $(sql "$LEADS_Q") leads"
  kill_service leads TERM
  start_service leads
  loadgen_wait 300
  loadgen_acked 3000
  local retries
  retries=$(kv retries "$LOADGEN_LINE")
  note "loadgen retries: $retries"
  check_exactly_once lk 3000
}

test_database_down_commands_unavailable_then_recover() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  crmctl lead submit --source-system down --external-id before --name "До" >/dev/null
  wait_sql 60 "$NOTES_Q" 1 "notifications before the outage"
  # A system connected to the intake before the outage publishes during it.
  bus intake "tcp://127.0.0.1:$((CRM_LEADS_PORT + 3))" --source-system down --external-id intake \
    --name "Через intake" --when-file "$T_DIR/publish-now" >"$T_DIR/intake.out" 2>&1 &
  local intake_pid=$!
  wait_until 30 grep -q '^subscribed' "$T_DIR/intake.out" || fail "intake publisher: $(cat "$T_DIR/intake.out")"
  "$CRM_ROOT/scripts/pg.sh" kill
  # Idle services notice by themselves (a liveness ping each heartbeat):
  # Status, which needs no database, is answered and says it is down.
  local out s
  for s in leads notifier; do
    wait_until 30 eval "[[ \$(bus status $(service_endpoint $s) --wait 5 | jq -r .database_up) == false ]]" ||
      fail "$s's Status did not say database_up false within 30 s of the kill: $(bus status "$(service_endpoint $s)" --wait 5)"
  done
  # A lead is refused as UNAVAILABLE, retryable, and so is a read.
  out=$(bus submit-lead "$(service_endpoint leads)" --source-system down --external-id during --name "Во время")
  note "SubmitLead during the outage: $out"
  assert_eq "$(jq -r '[.error.code, .error.retryable] | join(" ")' <<<"$out")" "UNAVAILABLE true" \
    "reply to SubmitLead with the database down"
  out=$(bus command "$(service_endpoint notifier)" --type ListNotifications --payload-hex 0a0161)
  note "ListNotifications during the outage: $out"
  assert_eq "$(jq -r '[.error.code, .error.retryable] | join(" ")' <<<"$out")" "UNAVAILABLE true" \
    "reply to ListNotifications with the database down"
  # The lead published to the intake meanwhile waits in its queue.
  touch "$T_DIR/publish-now"
  wait "$intake_pid" || fail "intake publisher: $(cat "$T_DIR/intake.out")"
  # crmctl retries while unavailable: it succeeds once Postgres is back.
  crmctl lead submit --source-system down --external-id retried --name "Повтор" --timeout 120000 \
    >"$T_DIR/crmctl-retried.out" 2>&1 &
  local crmctl_pid=$!
  "$CRM_ROOT/scripts/pg.sh" start
  wait "$crmctl_pid" || fail "crmctl lead submit did not succeed after the outage: $(cat "$T_DIR/crmctl-retried.out")"
  assert_contains "$(cat "$T_DIR/crmctl-retried.out")" "created" "crmctl after the outage"
  for s in leads notifier; do
    wait_until 60 eval "[[ \$(bus status $(service_endpoint $s) --wait 5 | jq -r .database_up) == true ]]" ||
      fail "$s's Status did not say database_up true again"
  done
  wait_sql 60 "$NOTES_Q" 3 "notifications after the outage"
  assert_eq "$(sql "SELECT string_agg(external_id, ',' ORDER BY external_id) FROM leads.lead")" "before,intake,retried" \
    "leads stored"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter")" 0 "leads dead letters"
}

test_postgres_restarted_twice_under_traffic() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  loadgen_bg --count 4000 --window 50 --rate 500 --timeout 3000 --prefix pr --source-system stress
  local round
  for round in 1 2; do
    wait_leads $((round * 1500 - 500))
    note "round $round: restarting Postgres at $(sql "$LEADS_Q") leads"
    "$CRM_ROOT/scripts/pg.sh" restart
    wait_until 60 sql "SELECT 1" || fail "Postgres did not come back"
    note "round $round: Postgres back at $(sql "$LEADS_Q") leads"
  done
  loadgen_wait 300
  loadgen_acked 4000
  check_exactly_once pr 4000
  # Both noticed and reconnected, and answer Status with the database up.
  local s
  for s in leads notifier; do
    assert_eq "$(status_of $s | jq -r .database_up)" true "$s database_up after the restarts"
    "$PY" "$TOOLS/logcheck.py" find "$T_DIR/$s.log" --msg "database reconnected" ||
      fail "$s did not log 'database reconnected'"
  done
}

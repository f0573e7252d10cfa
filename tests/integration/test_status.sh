# crmctl status: every service's state, last sequence and per-source lag;
# a service that is down shows as down.

# status_json [TIMEOUT_MS]: `crmctl status --json` into $T_DIR/status.json;
# returns its exit status.
status_json() {
  local rc=0
  crmctl status --json --timeout "${1:-3000}" >"$T_DIR/status.json" 2>"$T_DIR/status.stderr" || rc=$?
  cat "$T_DIR/status.json" >>"$T_DIR/status.history"
  return $rc
}

# svc_field SERVICE JQ: a field of SERVICE's line in status.json.
svc_field() { jq -c "select(.service == \"$1\") | $2" "$T_DIR/status.json"; }

# leads_applied_everywhere SEQ: every subscriber of leads reports it applied SEQ, lag 0.
leads_applied_everywhere() {
  status_json || return 1
  local s
  for s in deals tasks notifier timer; do
    [[ $(svc_field $s '.sources[] | select(.source == "leads") | [.applied_sequence, .latest_sequence, .lag]') == "[$1,$1,0]" ]] ||
      return 1
  done
}

test_status_shows_all_services_and_lag() {
  fresh_db
  start_all
  local i
  for i in 1 2 3 4 5; do
    crmctl lead submit --source-system status --external-id "s$i" --name "Статус $i" >/dev/null
  done
  wait_until 60 leads_applied_everywhere 10 ||
    fail "subscribers of leads did not all report applied 10, lag 0: $(cat "$T_DIR/status.json")"

  local rc=0
  status_json || rc=$?
  assert_eq "$rc" 0 "crmctl status exit status with all five up"
  assert_eq "$(jq -s 'length' "$T_DIR/status.json")" 5 "JSON lines in crmctl status --json"
  assert_eq "$(jq -s -c 'map(.service)' "$T_DIR/status.json")" '["leads","deals","tasks","notifier","timer"]' "services listed"
  assert_eq "$(jq -s -c 'map(.up and .database_up)' "$T_DIR/status.json")" '[true,true,true,true,true]' "up and database_up"
  assert_eq "$(svc_field leads .last_sequence)" 10 "leads' last sequence (2 events per lead)"
  assert_eq "$(svc_field notifier .last_sequence)" 5 "notifier's last sequence (one NotificationStored per lead)"
  assert_eq "$(svc_field notifier '[.sources[].source]')" '["leads","deals","tasks","timer"]' "notifier's sources"
  assert_eq "$(svc_field tasks '[.sources[].source]')" '["leads","deals","timer"]' "tasks' sources"
  assert_eq "$(svc_field leads '[.sources[].source]')" '["tasks","timer"]' "leads' sources"
  local s
  for s in leads deals tasks notifier timer; do
    assert_eq "$(svc_field $s .pid)" "$(service_pid $s)" "$s's pid in crmctl status"
    assert_eq "$(svc_field $s .dead_letters)" 0 "$s's dead letters"
    assert_eq "$(svc_field $s '.endpoint')" "\"tcp://127.0.0.1:$(service_port $s)\"" "$s's endpoint"
  done
  # The table says the same.
  local table
  table=$(crmctl status --timeout 3000)
  note "$table"
  assert_contains "$table" "leads 10/10 (lag 0)" "table: notifier's leads source"
  assert_eq "$(grep -cE '^(leads|deals|tasks|notifier|timer) +up +up ' <<<"$table")" 5 "table rows up"

  # A service killed is down, and crmctl says so with exit status 1.
  kill_service deals KILL
  rc=0
  status_json || rc=$?
  assert_eq "$rc" 1 "crmctl status exit status with deals down"
  assert_eq "$(svc_field deals .up)" false "deals up"
  [[ $(svc_field deals .error) != null ]] || fail "no error for deals in $(cat "$T_DIR/status.json")"
  assert_eq "$(jq -s -c 'map(select(.up)) | map(.service)' "$T_DIR/status.json")" '["leads","tasks","notifier","timer"]' \
    "services still up"
  rc=0
  table=$(crmctl status --timeout 2000 2>"$T_DIR/table.stderr") || rc=$?
  assert_eq "$rc" 1 "crmctl status (table) exit status with deals down"
  grep -qE '^deals +down' <<<"$table" || fail "table does not show deals down: $table"
  assert_contains "$(cat "$T_DIR/table.stderr")" "deals is down" "crmctl's message"
}

test_status_shows_lag_of_a_subscriber_behind() {
  fresh_db
  # A source (the fake "bench") that announces 3 events by heartbeat but
  # refuses to replay them: the notifier knows it is 3 behind.
  fake_source bench "$CRM_BENCH_PORT"
  fake '{"op": "replay", "enabled": false}'
  local i
  for i in 1 2 3; do
    fake "{\"op\": \"event\", \"seq\": $i, \"type\": \"NotificationRequested\", \"request_key\": \"lag:$i\", \"recipient\": \"dan\", \"text\": \"t$i\", \"live\": false}"
  done
  start_service notifier CRM_NOTIFIER_SOURCES=bench CRM_REPLAY_TIMEOUT_MS=200
  local rc=0
  wait_until 60 eval 'status_json 700; [[ $(svc_field notifier ".sources[0] | [.source, .applied_sequence, .latest_sequence, .lag]") == "[\"bench\",0,3,3]" ]]' ||
    fail "notifier's status did not show bench [applied 0, latest 3, lag 3]: $(cat "$T_DIR/status.json")"
  status_json 700 || rc=$?
  assert_eq "$rc" 1 "crmctl status exit status with only the notifier up"
  assert_eq "$(jq -s -c 'map(select(.up)) | map(.service)' "$T_DIR/status.json")" '["notifier"]' "services up"
  local table
  table=$(crmctl status --timeout 700 2>/dev/null) || true
  assert_contains "$table" "bench 0/3 (lag 3)" "crmctl status table: notifier's bench source"
  # Replay allowed again: it catches up and the lag is gone.
  fake '{"op": "replay", "enabled": true}'
  wait_until 60 eval 'status_json 700; [[ $(svc_field notifier ".sources[0] | [.applied_sequence, .latest_sequence, .lag]") == "[3,3,0]" ]]' ||
    fail "notifier did not catch up: $(cat "$T_DIR/status.json")"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE recipient = 'dan'")" 3 "notifications after catching up"
  fake '{"op": "quit"}'
}

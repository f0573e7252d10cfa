# Every service's HTTP server (base port + 5): GET /metrics (Prometheus
# text) and GET /health; and the leads' POST /v1/leads, with a real HTTP
# client (curl) against the running services.

WEBSITE_KEY=website-key-0123456789abcdef
LANDING_KEY=landing-key-fedcba9876543210
OLD_WEBSITE_KEY=website-old-key-00000000000

http_base() { printf 'http://127.0.0.1:%s\n' $(($(service_port "$1") + 5)); }
prom() { "$PY" "$TOOLS/prom.py" "$@"; }
metric() { prom get "$(http_base "$1")/metrics" "${@:2}"; }

# http NAME METHOD PATH [CURL ARGS...]: sets HTTP_STATUS and HTTP_BODY (the
# headers in $T_DIR/http.headers).
http() {
  local name=$1 method=$2 path=$3
  shift 3
  HTTP_STATUS=$(curl -sS -X "$method" -o "$T_DIR/http.body" -D "$T_DIR/http.headers" -w '%{http_code}' \
    --max-time 60 "$@" "$(http_base "$name")$path") || fail "curl $method $path failed"
  HTTP_BODY=$(cat "$T_DIR/http.body")
  note "$method $name$path -> $HTTP_STATUS $HTTP_BODY"
}

# post_lead KEY JSON [CURL ARGS...]: POST /v1/leads with Authorization: Bearer KEY.
post_lead() {
  local key=$1 body=$2
  shift 2
  http leads POST /v1/leads -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data-binary "$body" "$@"
}

keys_file() {
  printf '# source_system key\nwebsite %s\n\nwebsite %s   # the old one, still valid\n' \
    "$WEBSITE_KEY" "$OLD_WEBSITE_KEY" >"$T_DIR/api-keys"
  printf '%s\n' "$T_DIR/api-keys"
}

# The keys never reach a log.
no_key_logged() {
  local f k
  for f in "$T_DIR"/*.log; do
    for k in "$WEBSITE_KEY" "$LANDING_KEY" "$OLD_WEBSITE_KEY"; do
      ! grep -qF "$k" "$f" || fail "$(basename "$f") holds an API key"
    done
  done
}

health_is() {
  http "$1" GET /health
  [[ $HTTP_STATUS == "$2" ]]
}

test_metrics_and_health_of_every_service() {
  fresh_db
  start_all CRM_LEADS_API_KEYS="website=$WEBSITE_KEY"
  local s out
  for s in leads deals tasks notifier timer; do
    http "$s" GET /health
    assert_eq "$HTTP_STATUS" 200 "$s /health status"
    assert_eq "$(jq -r '[.status, .service, .database, .bus] | join(" ")' <<<"$HTTP_BODY")" "ready $s up up" "$s /health"
    out=$(prom check "$(http_base "$s")/metrics") || fail "$s /metrics: $out"
    note "$s /metrics: $out"
    assert_eq "$(metric "$s" crm_database_up service="$s")" 1 "$s crm_database_up"
    assert_eq "$(metric "$s" crm_dead_letters)" 0 "$s crm_dead_letters"
  done
  assert_eq "$(metric timer crm_timers_pending)" 0 "the timer's pending timers, from its Status figures"

  local i
  for i in 1 2 3; do
    post_lead "$WEBSITE_KEY" "{\"external_id\": \"m$i\", \"name\": \"Метрика $i\"}"
    assert_eq "$HTTP_STATUS" 201 "POST lead m$i"
  done
  assert_eq "$(metric leads crm_events_published_total type=LeadCreated)" 3 "leads: LeadCreated published"
  assert_eq "$(metric leads crm_commands_total type=SubmitLead outcome=ok)" 3 "leads: SubmitLead commands"
  assert_ge "$(metric leads crm_batch_duration_seconds_count)" 1 "leads: batches timed"
  assert_eq "$(metric leads crm_outbox_backlog_events)" "$(sql "SELECT count(*) FROM leads.outbox")" \
    "leads: outbox backlog = rows in its outbox"
  for s in deals tasks notifier timer; do
    wait_until 60 eval "[[ \$(metric $s crm_events_applied_total type=LeadCreated) == 3 ]]" ||
      fail "$s did not count 3 LeadCreated applied: $(metric $s crm_events_applied_total type=LeadCreated)"
    assert_eq "$(metric "$s" crm_consumer_lag source=leads)" 0 "$s lag behind leads"
    assert_eq "$(metric "$s" crm_consumer_applied_sequence source=leads)" \
      "$(sql "SELECT last_sequence FROM leads.outbox_head")" "$s applied sequence of leads"
  done
  wait_until 60 eval "[[ \$(metric notifier crm_events_published_total type=NotificationStored) == 3 ]]" ||
    fail "notifier: NotificationStored published"

  # crmctl status carries the same figures.
  crmctl status --json --timeout 3000 >"$T_DIR/status.json"
  assert_eq "$(jq -s -c 'map(.http_port)' "$T_DIR/status.json")" \
    "[$((CRM_LEADS_PORT + 5)),$((CRM_DEALS_PORT + 5)),$((CRM_TASKS_PORT + 5)),$((CRM_NOTIFIER_PORT + 5)),$((CRM_TIMER_PORT + 5))]" \
    "http ports in crmctl status"
  local published
  published=$(jq -s 'map(select(.service == "leads"))[0].events_published' "$T_DIR/status.json")
  assert_ge "$published" 6 "leads' events_published in crmctl status (LeadCreated, NotificationRequested)"
  assert_ge "$(prom sum "$(http_base leads)/metrics" crm_events_published_total)" "$published" \
    "the sum of crm_events_published_total (read after)"
  assert_eq "$(jq -s -c 'map(select(.service == "notifier"))[0].events_applied >= 3' "$T_DIR/status.json")" true \
    "notifier's events_applied in crmctl status"
  local table
  table=$(crmctl status --timeout 3000)
  note "$table"
  grep -qE '^ +published=[0-9]+ applied=[0-9]+ outbox_backlog=[0-9]+ db_reconnects=0 batches=[0-9]+ .* http=[0-9]+$' \
    <<<"$table" || fail "no figures line in crmctl status: $table"

  # Other paths and methods.
  http leads GET /nowhere
  assert_eq "$HTTP_STATUS" 404 "GET /nowhere"
  http notifier POST /metrics --data-binary x
  assert_eq "$HTTP_STATUS" 405 "POST /metrics"
  assert_contains "$(cat "$T_DIR/http.headers")" "Allow: GET" "Allow header"
  http leads GET /v1/leads
  assert_eq "$HTTP_STATUS" 405 "GET /v1/leads"
  no_key_logged
}

# A subscriber that knows it is behind shows it in crm_consumer_lag.
test_metrics_lag_of_a_subscriber_behind() {
  fresh_db
  fake_source bench "$CRM_BENCH_PORT"
  fake '{"op": "replay", "enabled": false}'
  local i
  for i in 1 2 3; do
    fake "{\"op\": \"event\", \"seq\": $i, \"type\": \"NotificationRequested\", \"request_key\": \"lag:$i\", \"recipient\": \"dan\", \"text\": \"t$i\", \"live\": false}"
  done
  start_service notifier CRM_NOTIFIER_SOURCES=bench CRM_REPLAY_TIMEOUT_MS=200
  wait_until 60 eval '[[ $(metric notifier crm_consumer_lag source=bench) == 3 ]]' ||
    fail "notifier's lag behind bench is not 3: $(metric notifier crm_consumer_lag source=bench)"
  assert_eq "$(metric notifier crm_events_applied_total type=NotificationRequested 2>/dev/null || echo none)" none \
    "nothing applied yet"
  fake '{"op": "replay", "enabled": true}'
  wait_until 60 eval '[[ $(metric notifier crm_consumer_lag source=bench) == 0 ]]' || fail "lag did not fall to 0"
  assert_eq "$(metric notifier crm_events_applied_total type=NotificationRequested)" 3 "applied"
  assert_eq "$(metric notifier crm_events_published_total type=NotificationStored)" 3 "published"
  fake '{"op": "quit"}'
}

test_health_503_while_postgres_is_down() {
  fresh_db
  start_service leads CRM_LEADS_API_KEYS="website=$WEBSITE_KEY"
  http leads GET /health
  assert_eq "$HTTP_STATUS" 200 "/health with the database up"
  "$CRM_ROOT/scripts/pg.sh" kill
  wait_until 30 health_is leads 503 || fail "/health did not turn 503 within 30 s: $HTTP_STATUS $HTTP_BODY"
  assert_eq "$(jq -r '[.status, .database, .bus] | join(" ")' <<<"$HTTP_BODY")" "unavailable down up" "/health body"
  assert_contains "$(jq -r '.reasons[0]' <<<"$HTTP_BODY")" "database down" "/health says why"
  # Metrics are still served, and say so.
  assert_eq "$(metric leads crm_database_up)" 0 "crm_database_up while down"
  # A lead over HTTP: 503, retry later.
  post_lead "$WEBSITE_KEY" '{"external_id": "down-1", "name": "Во время"}'
  assert_eq "$HTTP_STATUS" 503 "POST while the database is down"
  assert_eq "$(jq -r '.error.code' <<<"$HTTP_BODY")" UNAVAILABLE "error code"
  assert_contains "$(cat "$T_DIR/http.headers")" "Retry-After: 1" "Retry-After"
  "$CRM_ROOT/scripts/pg.sh" start
  wait_until 60 health_is leads 200 || fail "/health did not turn 200 again: $HTTP_STATUS $HTTP_BODY"
  assert_ge "$(metric leads crm_db_reconnects_total)" 1 "crm_db_reconnects_total"
  post_lead "$WEBSITE_KEY" '{"external_id": "down-1", "name": "После"}'
  assert_eq "$HTTP_STATUS" 201 "POST once the database is back"
}

test_post_lead_created_then_repeated() {
  fresh_db
  start_service leads CRM_LEADS_API_KEYS_FILE="$(keys_file)" CRM_LEADS_API_KEYS="landing=$LANDING_KEY"
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  local body='{"source_system": "website", "external_id": "W-1", "name": "Анна Петрова", "phone": "+7 912 000-00-01",
    "email": "anna@example.com", "company": "ООО \"Ромашка\"", "comment": "перезвонить\nпосле 18:00", "responsible": "smirnova"}'
  post_lead "$WEBSITE_KEY" "$body"
  assert_eq "$HTTP_STATUS" 201 "first POST"
  local id
  id=$(jq -r .lead_id <<<"$HTTP_BODY")
  assert_eq "$(jq -c . <<<"$HTTP_BODY")" "{\"lead_id\":$id,\"created\":true}" "first answer"
  assert_eq "$(sql "SELECT id||'|'||source_system||'|'||external_id||'|'||name||'|'||phone||'|'||email||'|'||responsible FROM leads.lead")" \
    "$id|website|W-1|Анна Петрова|+7 912 000-00-01|anna@example.com|smirnova" "the lead stored (at the answer: after commit)"
  assert_eq "$(sql "SELECT comment FROM leads.lead")" $'перезвонить\nпосле 18:00' "comment"
  # The same lead again (the old key of the same source, X-API-Key): 200, same id.
  http leads POST /v1/leads -H "X-API-Key: $OLD_WEBSITE_KEY" -H 'Content-Type: application/json' --data-binary "$body"
  assert_eq "$HTTP_STATUS" 200 "repeated POST"
  assert_eq "$(jq -c . <<<"$HTTP_BODY")" "{\"lead_id\":$id,\"created\":false}" "repeated answer"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 1 "leads stored"
  # Without source_system (the key says it), and a numeric external id.
  post_lead "$LANDING_KEY" '{"external_id": 4711, "email": "lp@example.com"}'
  assert_eq "$HTTP_STATUS" 201 "POST from landing"
  assert_eq "$(sql "SELECT source_system||'|'||external_id||'|'||responsible FROM leads.lead WHERE email = 'lp@example.com'")" \
    "landing|4711|ivanov" "landing's lead (assigned to a manager)"
  # Notified, like any lead.
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications"
  assert_eq "$(sql "SELECT recipient FROM notifier.notification WHERE request_key LIKE 'lead:$id:%'")" smirnova \
    "W-1's notification"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/leads.log" --msg "http lead accepted" ||
    fail "no 'http lead accepted' line"
  grep -F '"msg":"http lead accepted"' "$T_DIR/leads.log" | grep -qF "\"lead_id\":\"$id\",\"correlation_id\":\"lead:$id\"" ||
    fail "the accepted line has no lead_id/correlation_id: $(grep -F 'http lead accepted' "$T_DIR/leads.log")"
  no_key_logged
}

test_post_lead_refusals() {
  fresh_db
  start_service leads CRM_LEADS_API_KEYS="website=$WEBSITE_KEY,landing=$LANDING_KEY" CRM_HTTP_MAX_BODY_BYTES=2048
  local ok='{"external_id": "R-1", "name": "Отказ"}'
  # 401: no key, an unknown key, not Bearer, another source's key.
  http leads POST /v1/leads -H 'Content-Type: application/json' --data-binary "$ok"
  assert_eq "$HTTP_STATUS" 401 "no key"
  assert_eq "$(jq -r .error.code <<<"$HTTP_BODY")" UNAUTHENTICATED "no key: code"
  assert_contains "$(cat "$T_DIR/http.headers")" "WWW-Authenticate: Bearer" "no key: WWW-Authenticate"
  post_lead "${WEBSITE_KEY}x" "$ok"
  assert_eq "$HTTP_STATUS" 401 "unknown key"
  assert_eq "$(jq -r .error.message <<<"$HTTP_BODY")" "unknown API key" "unknown key: message"
  http leads POST /v1/leads -H "Authorization: Basic $WEBSITE_KEY" --data-binary "$ok"
  assert_eq "$HTTP_STATUS" 401 "Basic authorization"
  post_lead "$LANDING_KEY" '{"source_system": "website", "external_id": "R-1", "name": "Чужой"}'
  assert_eq "$HTTP_STATUS" 401 "landing's key for a website lead"
  assert_eq "$(jq -c .error.fields <<<"$HTTP_BODY")" '["source_system"]' "other source: fields"

  # 400: invalid values, each field named.
  post_lead "$WEBSITE_KEY" '{"external_id": "", "email": "broken", "phone": "12", "responsible": "nobody"}'
  assert_eq "$HTTP_STATUS" 400 "invalid values"
  assert_eq "$(jq -r .error.code <<<"$HTTP_BODY")" INVALID_ARGUMENT "invalid values: code"
  assert_eq "$(jq -c '.error.fields | sort' <<<"$HTTP_BODY")" '["email","external_id","phone","responsible"]' \
    "invalid values: fields"
  # 400: unknown fields and wrong types.
  post_lead "$WEBSITE_KEY" '{"external_id": "R-2", "name": 5, "colour": "red", "phone": [1], "email": null}'
  assert_eq "$HTTP_STATUS" 400 "types"
  assert_eq "$(jq -c .error.fields <<<"$HTTP_BODY")" '["name","colour","phone"]' "types: fields"
  # 400: not JSON, not an object, text after it.
  local bad
  for bad in '{"external_id": "R-3"' '["R-3"]' '{"external_id": "R-3", "name": "x"} {}' "{'external_id': 'R-3'}"; do
    post_lead "$WEBSITE_KEY" "$bad"
    assert_eq "$HTTP_STATUS" 400 "malformed body $bad"
    assert_eq "$(jq -r .error.code <<<"$HTTP_BODY")" MALFORMED "malformed body $bad: code"
  done
  # 400: bytes that are not UTF-8.
  printf '{"external_id": "R-4", "name": "\xff\xfe"}' >"$T_DIR/latin.json"
  post_lead "$WEBSITE_KEY" "@$T_DIR/latin.json"
  assert_eq "$HTTP_STATUS" 400 "not UTF-8"
  # 415: not JSON at all.
  http leads POST /v1/leads -H "Authorization: Bearer $WEBSITE_KEY" -H 'Content-Type: text/plain' --data-binary "$ok"
  assert_eq "$HTTP_STATUS" 415 "text/plain"
  # 413: past CRM_HTTP_MAX_BODY_BYTES (2048 here), by Content-Length and chunked.
  printf '{"external_id": "R-5", "name": "%s"}' "$(head -c 3000 /dev/zero | tr '\0' a)" >"$T_DIR/big.json"
  post_lead "$WEBSITE_KEY" "@$T_DIR/big.json"
  assert_eq "$HTTP_STATUS" 413 "a body past the limit"
  assert_eq "$(jq -r .error.code <<<"$HTTP_BODY")" TOO_LARGE "413 code"
  post_lead "$WEBSITE_KEY" "@$T_DIR/big.json" -H 'Transfer-Encoding: chunked'
  assert_eq "$HTTP_STATUS" 413 "a chunked body past the limit"
  # 404 and 405.
  http leads POST /v1/lead -H "Authorization: Bearer $WEBSITE_KEY" --data-binary "$ok"
  assert_eq "$HTTP_STATUS" 404 "POST /v1/lead"
  http leads PUT /v1/leads -H "Authorization: Bearer $WEBSITE_KEY" --data-binary "$ok"
  assert_eq "$HTTP_STATUS" 405 "PUT /v1/leads"
  assert_contains "$(cat "$T_DIR/http.headers")" "Allow: POST" "Allow: POST"

  # Nothing stored, nothing dead-lettered; a good lead still goes in.
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 0 "leads stored after the refusals"
  assert_eq "$(sql "SELECT count(*) FROM leads.dead_letter")" 0 "dead letters"
  post_lead "$WEBSITE_KEY" "$ok"
  assert_eq "$HTTP_STATUS" 201 "a good lead after them"
  assert_ge "$(metric leads crm_commands_total type=SubmitLead outcome=error)" 1 "SubmitLead errors counted"
  assert_ge "$(grep -c '"msg":"http lead refused"' "$T_DIR/leads.log")" 10 "refusals logged"
  no_key_logged
}

# Keys that cannot be right stop the service before it starts (exit 2),
# naming the file and line, never the key.
test_bad_api_keys_stop_the_service() {
  fresh_db
  local rc=0
  printf 'website %s\nlanding short-key\n' "$WEBSITE_KEY" >"$T_DIR/keys"
  CRM_LEADS_API_KEYS_FILE=$T_DIR/keys CRM_STAFF_FILE=$SHIPPED_STAFF_FILE CRM_LEADS_PIPELINE=$SHIPPED_LEADS_PIPELINE \
    timeout 60 "$BIN/crm-leads" >"$T_DIR/bad-keys.out" 2>&1 || rc=$?
  assert_eq "$rc" 2 "exit status with a short key"
  assert_contains "$(cat "$T_DIR/bad-keys.out")" "$T_DIR/keys:2: the key must be 16 to 256" "the log names file and line"
  assert_not_contains "$(cat "$T_DIR/bad-keys.out")" "short-key" "the log quotes no key"
  rc=0
  CRM_LEADS_API_KEYS="website=$WEBSITE_KEY,landing=$WEBSITE_KEY" CRM_STAFF_FILE=$SHIPPED_STAFF_FILE \
    CRM_LEADS_PIPELINE=$SHIPPED_LEADS_PIPELINE timeout 60 "$BIN/crm-leads" >"$T_DIR/dup-keys.out" 2>&1 || rc=$?
  assert_eq "$rc" 2 "exit status with one key for two sources"
  assert_contains "$(cat "$T_DIR/dup-keys.out")" "CRM_LEADS_API_KEYS, entry 2: the same key is given before" "duplicate key"
  assert_not_contains "$(cat "$T_DIR/dup-keys.out")" "$WEBSITE_KEY" "the log quotes no key"
  # A line the wrong way round: the key where the source system goes.
  rc=0
  printf '%s website\n' "$WEBSITE_KEY" >"$T_DIR/keys"
  CRM_LEADS_API_KEYS_FILE=$T_DIR/keys CRM_STAFF_FILE=$SHIPPED_STAFF_FILE CRM_LEADS_PIPELINE=$SHIPPED_LEADS_PIPELINE \
    timeout 60 "$BIN/crm-leads" >"$T_DIR/reversed-keys.out" 2>&1 || rc=$?
  assert_eq "$rc" 2 "exit status with a line the wrong way round"
  assert_contains "$(cat "$T_DIR/reversed-keys.out")" "$T_DIR/keys:1: the key must be" "reversed line"
  assert_not_contains "$(cat "$T_DIR/reversed-keys.out")" "$WEBSITE_KEY" "the log quotes no key"
}

# Many clients at once: requests read in one loop turn share a batch, and
# each gets its own answer after the commit.
test_post_leads_concurrently() {
  fresh_db
  start_service leads CRM_LEADS_API_KEYS="website=$WEBSITE_KEY"
  local i url
  url="$(http_base leads)/v1/leads"
  for i in $(seq 1 40); do
    # 30 distinct leads; 31-40 repeat 1-10.
    printf '{"external_id": "C-%d", "name": "Клиент %d"}\n' $(((i - 1) % 30 + 1)) $(((i - 1) % 30 + 1))
  done >"$T_DIR/bodies"
  xargs -P 20 -d '\n' -I{} curl -sS -o /dev/null -w '%{http_code}\n' --max-time 60 \
    -H "Authorization: Bearer $WEBSITE_KEY" -H 'Content-Type: application/json' --data-binary {} "$url" \
    <"$T_DIR/bodies" >"$T_DIR/codes"
  note "answers: $(sort "$T_DIR/codes" | uniq -c | tr '\n' ' ')"
  assert_eq "$(grep -c '^20[01]$' "$T_DIR/codes")" 40 "answers 201 or 200"
  assert_eq "$(grep -c '^201$' "$T_DIR/codes")" 30 "201s: one per distinct lead"
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 30 "leads stored"
  assert_eq "$(metric leads crm_commands_total type=SubmitLead outcome=ok)" 40 "SubmitLead commands"
}

# A lead's story across the services, with one grep on its correlation id;
# at debug level every consumer logs each event it applied with its source
# and sequence.
test_a_leads_story_in_one_grep() {
  fresh_db
  start_all CRM_LEADS_API_KEYS="website=$WEBSITE_KEY" CRM_LOG_LEVEL=debug
  post_lead "$WEBSITE_KEY" '{"external_id": "story-1", "name": "История"}'
  assert_eq "$HTTP_STATUS" 201 "POST"
  local id s
  id=$(jq -r .lead_id <<<"$HTTP_BODY")
  for s in deals tasks notifier timer; do
    wait_until 60 grep -q "\"msg\":\"event applied\",\"source\":\"leads\",\"sequence\":\"1\",\"type\":\"LeadCreated\",.*\"correlation_id\":\"lead:$id\"" \
      "$T_DIR/$s.log" || fail "$s did not log LeadCreated of lead:$id applied with source and sequence"
  done
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 1 "notified"
  stop_all
  for s in leads deals tasks notifier timer; do
    assert_ge "$(grep -c "\"correlation_id\":\"lead:$id\"" "$T_DIR/$s.log")" 1 "$s's lines about lead:$id"
  done
  grep -h "\"correlation_id\":\"lead:$id\"" "$T_DIR"/*.log | jq -r '[.service, .msg] | join(": ")' | sort -u >"$T_DIR/story"
  note "the story: $(tr '\n' ';' <"$T_DIR/story")"
  assert_contains "$(cat "$T_DIR/story")" "leads: http lead accepted" "the story"
  assert_contains "$(cat "$T_DIR/story")" "leads: lead created" "the story"
  assert_contains "$(cat "$T_DIR/story")" "notifier: notification stored" "the story"
  no_key_logged
}

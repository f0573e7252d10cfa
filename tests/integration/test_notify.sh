# The notifier's inbox and outbound channels, against real receivers started
# here: an HTTP server for webhooks (tests/tools/webhook_receiver.py) and an
# SMTP server (tests/tools/smtp_receiver.py). Requests come from a fake
# source (bench) or from the real leads service; what arrives is checked byte
# for byte: the signature recomputed, the e-mail parsed and decoded.

# Ports of the runner's range that no service takes (a second instance
# uses ALT..ALT+3 and its HTTP port ALT+5).
HOOK_PORT=$((CRM_TEST_ALT_PORT + 7))
SMTP_PORT=$((CRM_TEST_ALT_PORT + 8))
SECRET_IVANOV='k3y-of-ivanov/+=!'
SECRET_SMIRNOVA='another key, smirnova'
HOOKS=$T_DIR/webhook.jsonl
MAILS=$T_DIR/smtp.jsonl

# staff_file: $T_DIR/staff.yaml: the two managers with channels (ivanov: a
# webhook and e-mail; smirnova: a webhook, key in a file), petrova none.
staff_file() {
  printf '%s' "$SECRET_SMIRNOVA" >"$T_DIR/smirnova.key"
  cat >"$T_DIR/staff.yaml" <<EOF
time_zone: Europe/Moscow
lead_assignment: round_robin
staff:
  - login: ivanov
    name: Иван Иванов
    roles: [manager]
    channels:
      - webhook: {url: "http://127.0.0.1:$HOOK_PORT/hooks/ivanov?token=abc", secret_env: CRM_WEBHOOK_SECRET_IVANOV}
      - email: {to: ivanov@example.com}
  - login: smirnova
    name: Анна Смирнова
    roles: [manager]
    channels:
      - webhook: {url: "http://127.0.0.1:$HOOK_PORT/hooks/smirnova", secret_file: $T_DIR/smirnova.key}
  - login: petrova
    name: Ольга Петрова
    roles: [accountant]
EOF
}

# webhook_up [--fail-first N]: the HTTP receiver (HOOK_PID); webhook_down stops it.
webhook_up() {
  "$PY" "$TOOLS/webhook_receiver.py" serve "$HOOK_PORT" "$HOOKS" "$@" >"$T_DIR/webhook.out" 2>>"$T_DIR/webhook.err" &
  HOOK_PID=$!
  wait_until 30 grep -q '^ready' "$T_DIR/webhook.out" || fail "webhook receiver did not start: $(cat "$T_DIR/webhook.err")"
}
webhook_down() {
  kill "$HOOK_PID" 2>/dev/null || true
  wait "$HOOK_PID" 2>/dev/null || true
}
smtp_up() {
  "$PY" "$TOOLS/smtp_receiver.py" serve "$SMTP_PORT" "$MAILS" >"$T_DIR/smtp.out" 2>>"$T_DIR/smtp.err" &
  wait_until 30 grep -q '^ready' "$T_DIR/smtp.out" || fail "SMTP receiver did not start: $(cat "$T_DIR/smtp.err")"
}

# hooks SECRET: the recorded webhook requests (webhook_receiver.py show).
hooks() { [[ -s $HOOKS ]] && "$PY" "$TOOLS/webhook_receiver.py" show "$HOOKS" "$1" || true; }
mails() { [[ -s $MAILS ]] && "$PY" "$TOOLS/smtp_receiver.py" show "$MAILS" || true; }
hook_count() { [[ -s $HOOKS ]] && wc -l <"$HOOKS" || echo 0; }

# notifier [VAR=VALUE...]: the notifier fed by the fake source bench, with
# the staff file, the secrets and the SMTP receiver, short backoff.
notifier() {
  start_service notifier CRM_NOTIFIER_SOURCES=bench CRM_STAFF_FILE="$T_DIR/staff.yaml" \
    CRM_WEBHOOK_SECRET_IVANOV="$SECRET_IVANOV" CRM_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" \
    CRM_SMTP_FROM=crm@example.com CRM_DELIVERY_BACKOFF_MS=200 CRM_DELIVERY_BACKOFF_MAX_MS=1000 "$@"
}

# bench_up: the fake source; bench_sub (once the notifier runs): waits for its subscription.
bench_up() { fake_source bench "$CRM_BENCH_PORT"; }
bench_sub() {
  fake '{"op": "wait_sub"}'
  fake_wait_line '^subscribed$'
}

# notify SEQ KEY RECIPIENT TEXT [RULE] [CORRELATION]: NotificationRequested from bench.
notify() {
  fake "$(jq -nc --argjson seq "$1" --arg key "$2" --arg to "$3" --arg text "$4" --arg rule "${5:-}" \
    --arg corr "${6:-}" '{op: "event", seq: $seq, type: "NotificationRequested", correlation_id: $corr,
      message: {request_key: $key, recipient: $to, text: $text, rule: $rule}}')"
}

metric() {
  { crmctl status --json --timeout 1500 || true; } | jq -r --arg m "$1" 'select(.service == "notifier") | .metrics[$m]'
}
states() { sql "SELECT string_agg(channel || ':' || state, ',' ORDER BY id) FROM notifier.delivery"; }

test_webhook_and_email_arrive_signed_and_on_record() {
  fresh_db
  staff_file
  webhook_up
  smtp_up
  bench_up
  notifier
  bench_sub
  local text=$'Новый лид №42: ООО «Ромашка» "срочно"\nПозвоните до 18:00 \\ спасибо'
  notify 1 lead:42:v1:new-lead:0 ivanov "$text" new-lead lead:42
  wait_sql 60 "SELECT count(*) FROM notifier.delivery WHERE state = 'delivered'" 2 "deliveries delivered"
  local id
  id=$(sql "SELECT id FROM notifier.notification")
  assert_eq "$(sql "SELECT recipient || '|' || correlation_id || '|' || rule || '|' || requested_by || '|'
                    || (delivered_at IS NOT NULL) || '|' || (read_at IS NULL) FROM notifier.notification")" \
    "ivanov|lead:42|new-lead|bench|true|true" "the notification on record"
  assert_eq "$(states)" "webhook:delivered,email:delivered" "one delivery per channel"
  assert_eq "$(sql "SELECT string_agg(attempts::text || '|' || last_error, ',') FROM notifier.delivery")" "1|,1|" \
    "attempts and errors"

  # The webhook: one POST, signed, the JSON body as documented.
  local h
  h=$(hooks "$SECRET_IVANOV")
  assert_eq "$(wc -l <<<"$h")" 1 "webhook requests"
  assert_eq "$(jq -c '[.status, .path, .content_type, .signature_ok]' <<<"$h")" \
    '[200,"/hooks/ivanov?token=abc","application/json; charset=utf-8",true]' "the request"
  assert_eq "$(jq -r '.body.text' <<<"$h")" "$text" "text in the body (quotes, newline, backslash)"
  assert_eq "$(jq -c '.body | [.notification_id, .recipient, .correlation_id, .rule, (.created_ms > 0), (.created_at | test("^[0-9-]{10}T[0-9:.]{12}Z$"))]' <<<"$h")" \
    "[$id,\"ivanov\",\"lead:42\",\"new-lead\",true,true]" "the body's fields"
  assert_eq "$(hooks wrong-key | jq -r .signature_ok)" false "the signature with another key"

  # The e-mail: one message, headers and body decoded.
  local m
  m=$(mails)
  assert_eq "$(wc -l <<<"$m")" 1 "e-mails"
  assert_eq "$(jq -c '[.mail_from, .rcpt_to, .from, .to, .message_id, .notification_id, .correlation_id]' <<<"$m")" \
    "[\"crm@example.com\",[\"ivanov@example.com\"],\"crm@example.com\",\"ivanov@example.com\",\"<notification-$id@example.com>\",\"$id\",\"lead:42\"]" \
    "envelope and headers"
  assert_eq "$(jq -r .subject <<<"$m")" 'CRM: Новый лид №42: ООО «Ромашка» "срочно"' "subject (decoded)"
  assert_contains "$(jq -r .subject_raw <<<"$m")" "=?UTF-8?B?" "subject encoded (RFC 2047)"
  assert_eq "$(jq -c '[.content_type, .charset, .transfer_encoding, (.date | test("^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} [0-9:]{8} \\+0000$")), (.max_line <= 78)]' <<<"$m")" \
    '["text/plain","utf-8","base64",true,true]' "MIME headers, date, line length"
  assert_eq "$(jq -r .body <<<"$m" | head -n 2 | tr -d '\r')" "$text" "body (decoded)"
  assert_contains "$(jq -r .body <<<"$m")" "CRM: lead:42, notification $id" "body's footer"

  # Events, metrics, logs; the secret nowhere in the logs.
  assert_eq "$(sql "SELECT count(*) FROM notifier.outbox WHERE type = 'NotificationDelivered' AND correlation_id = 'lead:42'")" 2 \
    "NotificationDelivered events"
  assert_eq "$(metric deliveries_webhook_delivered)|$(metric deliveries_email_delivered)|$(metric deliveries_pending)" "1|1|0" \
    "Status: delivered per channel, pending"
  assert_eq "$(grep -c '"msg":"notification delivered"' "$T_DIR/notifier.log")" 2 "log lines of the deliveries"
  assert_not_contains "$(cat "$T_DIR"/*.log)" "$SECRET_IVANOV" "the logs"
  assert_not_contains "$(cat "$T_DIR"/*.log)" "token=abc" "the logs (the URL's query)"
  crmctl notifications --user ivanov >"$T_DIR/list.out"
  assert_contains "$(cat "$T_DIR/list.out")" "[webhook delivered, 1 attempt]  [email delivered, 1 attempt]" "crmctl notifications"
}

test_webhook_failing_twice_gets_it_on_retry_once() {
  fresh_db
  staff_file
  webhook_up --fail-first 2
  bench_up
  notifier
  bench_sub
  notify 1 task:7:created:smirnova smirnova "Вам назначена задача №7" "" task:7
  wait_sql 60 "SELECT state || '|' || attempts FROM notifier.delivery" "delivered|3" "the delivery after two 500s"
  local h
  h=$(hooks "$SECRET_SMIRNOVA")
  assert_eq "$(jq -c '[.status, .signature_ok, .body.notification_id]' <<<"$h" | tr '\n' ' ')" \
    "[500,true,1] [500,true,1] [200,true,1] " "requests: two refused, one accepted, same notification"
  assert_eq "$(jq -r .raw <<<"$h" | sort -u | wc -l)" 1 "the same body each time"
  sleep 1    # nothing more may come after the 200
  assert_eq "$(hook_count)" 3 "requests in all"
  assert_eq "$(grep -c '"msg":"delivery attempt failed; will retry"' "$T_DIR/notifier.log")" 2 "warnings of the failed attempts"
  assert_contains "$(grep '"msg":"delivery attempt failed; will retry"' "$T_DIR/notifier.log" | head -n 1)" '"error":"HTTP 500: try again later"' \
    "the warning says why"
  assert_eq "$(metric deliveries_webhook_retried)|$(metric deliveries_webhook_delivered)" "2|1" "Status: retried, delivered"
}

test_receiver_down_past_the_retry_window_fails_and_logs() {
  fresh_db
  staff_file
  bench_up
  # Nobody listens on the webhook's port nor the SMTP port.
  notifier CRM_DELIVERY_RETRY_FOR_S=2
  bench_sub
  notify 1 lead:9:v1:new-lead:0 ivanov "Новый лид №9" new-lead lead:9
  wait_sql 60 "SELECT string_agg(state, ',') FROM notifier.delivery" "failed,failed" "deliveries given up"
  assert_ge "$(sql "SELECT min(attempts) FROM notifier.delivery")" 3 "attempts before giving up"
  assert_contains "$(sql "SELECT last_error FROM notifier.delivery WHERE channel = 'webhook'")" "onnect" "webhook's last error"
  assert_eq "$(grep '"msg":"delivery failed: gave up retrying"' "$T_DIR/notifier.log" | jq -r '[.level, .channel, .notification_id, .correlation_id] | join("|")' | sort | tr '\n' ' ')" \
    "error|email|1|lead:9 error|webhook|1|lead:9 " "the error log lines"
  assert_eq "$(grep '"channel":"webhook"' "$T_DIR/notifier.log" | jq -r 'select(.destination) | .destination' | sort -u)" \
    "http://127.0.0.1:$HOOK_PORT" "the webhook's destination as logged (no path, no query)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.outbox WHERE type = 'NotificationFailed'")" 2 "NotificationFailed events"
  assert_eq "$(metric deliveries_webhook_failed)|$(metric deliveries_email_failed)" "1|1" "Status: failed per channel"
  crmctl notifications --user ivanov >"$T_DIR/list.out"
  assert_contains "$(cat "$T_DIR/list.out")" "[webhook failed," "crmctl notifications shows the failure"
  # Failed for good: a receiver that comes up later gets nothing.
  webhook_up
  sleep 2
  assert_eq "$(hook_count)" 0 "requests after giving up"
}

test_pending_deliveries_survive_sigkill_and_go_once() {
  fresh_db
  staff_file
  webhook_up
  bench_up
  notifier
  bench_sub
  local i
  for i in 1 2 3; do notify "$i" "before:$i" smirnova "До остановки $i"; done
  wait_sql 60 "SELECT count(*) FROM notifier.delivery WHERE state = 'delivered'" 3 "the first three delivered"
  webhook_down
  for i in 4 5 6 7 8; do notify "$i" "pending:$i" smirnova "В очереди $i"; done
  wait_sql 60 "SELECT count(*) FROM notifier.delivery WHERE state = 'pending' AND attempts >= 1" 5 \
    "five deliveries pending after a failed attempt"
  kill_service notifier KILL
  webhook_up
  notifier
  wait_sql 60 "SELECT count(*) FROM notifier.delivery WHERE state = 'delivered'" 8 "all delivered after the restart"
  sleep 1
  local h
  h=$(hooks "$SECRET_SMIRNOVA")
  assert_eq "$(jq -r 'select(.status == 200) | .body.notification_id' <<<"$h" | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 7 8 " \
    "each notification accepted once (the acknowledged ones not again)"
  assert_eq "$(jq -r .signature_ok <<<"$h" | sort -u)" true "every request signed"
}

test_inbox_unread_and_read_by_its_recipient_only() {
  fresh_db
  bench_up
  start_service notifier CRM_NOTIFIER_SOURCES=bench
  bench_sub
  notify 1 a:1 ivanov "Первое" "" lead:1
  notify 2 a:2 ivanov "Второе" "" lead:2
  notify 3 a:3 smirnova "Чужое" "" lead:3
  notify 4 a:1 ivanov "Повтор ключа" "" lead:1
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'bench'" 4 "requests applied"
  assert_eq "$(sql "SELECT count(*) FROM notifier.delivery")" 0 "deliveries (nobody has channels in the shipped staff file)"
  local first second
  first=$(sql "SELECT id FROM notifier.notification WHERE request_key = 'a:1'")
  second=$(sql "SELECT id FROM notifier.notification WHERE request_key = 'a:2'")
  crmctl notifications --user ivanov --unread >"$T_DIR/unread.out"
  assert_eq "$(awk '{print $1, $5, $6, $7}' "$T_DIR/unread.out" | tr '\n' ' ')" "$second unread lead:2 Второе $first unread lead:1 Первое " \
    "ivanov's unread, newest first"

  local rc=0 out
  out=$(crmctl notification read "$first" --as smirnova 2>&1) || rc=$?
  assert_eq "$rc" 1 "exit status of reading another's notification"
  assert_contains "$out" "PERMISSION_DENIED" "the refusal"
  out=$(crmctl notification read 999999 --as ivanov 2>&1) || rc=$?
  assert_contains "$out" "NOT_FOUND" "an unknown id"
  out=$(bus command "$(service_endpoint notifier)" --type MarkNotificationRead)
  assert_eq "$(jq -r '[.error.code, (.error.fields | join(","))] | join(" ")' <<<"$out")" "INVALID_ARGUMENT notification_id" \
    "MarkNotificationRead without an id"
  out=$(bus command "$(service_endpoint notifier)" --type MarkNotificationRead --payload-hex 0aff01)
  assert_eq "$(jq -r '.error.code' <<<"$out")" MALFORMED "MarkNotificationRead whose payload is no MarkNotificationRead"
  assert_eq "$(crmctl notification read "$first" --as ivanov)" "notification $first read" "reading it as its recipient"
  local at
  at=$(sql "SELECT read_at FROM notifier.notification WHERE id = $first")
  assert_eq "$(CRM_USER=ivanov crmctl notification read "$first")" "notification $first read" "again (CRM_USER)"
  assert_eq "$(sql "SELECT read_at FROM notifier.notification WHERE id = $first")" "$at" "read_at kept from the first time"
  assert_eq "$(crmctl notifications --user ivanov --unread | awk '{print $1}')" "$second" "unread after reading one"
  assert_eq "$(crmctl notifications --user ivanov | awk '{print $1, $5}' | tr '\n' ' ')" "$second unread $first read " \
    "all of ivanov's"
  assert_eq "$(crmctl notifications --user smirnova --unread | awk '{print $1}' | wc -l)" 1 "smirnova's unread"
}

test_a_rule_of_the_lead_funnel_reaches_the_webhook() {
  fresh_db
  staff_file
  webhook_up
  smtp_up
  start_service leads CRM_STAFF_FILE="$T_DIR/staff.yaml"
  notifier CRM_NOTIFIER_SOURCES=leads
  crmctl lead submit --source-system site --external-id w-1 --name "Пётр Петров" --phone "+79990001122" >/dev/null
  wait_until 60 sql_ge "SELECT count(*) FROM notifier.delivery WHERE state = 'delivered'" 1 ||
    fail "the new lead's notice was not delivered: $(states)"
  wait_sql 60 "SELECT count(*) FROM notifier.delivery WHERE state <> 'delivered'" 0 "deliveries not yet delivered"
  local who secret
  who=$(sql "SELECT recipient FROM notifier.notification")
  secret=$SECRET_IVANOV
  [[ $who == smirnova ]] && secret=$SECRET_SMIRNOVA
  local h
  h=$(hooks "$secret")
  assert_eq "$(jq -c '[.signature_ok, .body.recipient, .body.rule, (.body.correlation_id | test("^lead:[0-9]+$"))]' <<<"$h")" \
    "[true,\"$who\",\"new-lead\",true]" "the webhook of the lead's responsible: rule and correlation id"
  assert_eq "$(sql "SELECT rule FROM notifier.notification")" new-lead "the rule on record"
}

test_bad_channel_settings_stop_the_notifier_at_start() {
  staff_file
  local rc=0
  sed 's/secret_env: CRM_WEBHOOK_SECRET_IVANOV/secret: hunter2/' "$T_DIR/staff.yaml" >"$T_DIR/bad.yaml"
  CRM_STAFF_FILE=$T_DIR/bad.yaml timeout 30 "$BIN/crm-notifier" >"$T_DIR/bad-staff.out" 2>&1 || rc=$?
  assert_eq "$rc" 2 "exit status with a secret in the staff file"
  assert_contains "$(cat "$T_DIR/bad-staff.out")" "bad.yaml:8: person 'ivanov': a secret never goes in this file" "the log"
  assert_not_contains "$(cat "$T_DIR/bad-staff.out")" "hunter2" "the log"
  local var
  for var in CRM_DELIVERY_TIMEOUT_MS=5 CRM_DELIVERY_RETRY_FOR_S=soon CRM_SMTP_URL=http://mail.example.com \
    "CRM_SMTP_FROM=CRM <crm@example.com>"; do
    rc=0
    env "$var" CRM_STAFF_FILE="$T_DIR/staff.yaml" timeout 30 "$BIN/crm-notifier" >"$T_DIR/bad-var.out" 2>&1 || rc=$?
    assert_eq "$rc" 2 "exit status with $var"
    assert_contains "$(cat "$T_DIR/bad-var.out")" "\"error\":\"${var%%=*} " "the log names ${var%%=*}"
  done
}

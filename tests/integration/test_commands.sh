# The command endpoint refuses what is not a command it knows, with a
# Reply saying why, and goes on answering.

# reply_code JSON: "CODE fields" of a bus.py reply.
reply_code() { jq -r '[(.error.code // "none"), (.error.fields // [] | join(","))] | join(" ")' <<<"$1"; }

# commands_refused SERVICE: the malformed / unknown / too large cases
# against one service started with CRM_MAX_MESSAGE_BYTES=4096.
commands_refused() {
  local svc=$1 ep out
  ep=$(service_endpoint "$svc")
  # Bytes that are no protobuf: a length that runs past the end.
  out=$(bus command "$ep" --raw-hex 0aff01676172626167650a)
  note "$svc, garbage: $out"
  assert_eq "$(jq -r .error.code <<<"$out")" MALFORMED "$svc: reply to bytes that are not a Command"
  # Not even one byte of protobuf: 0xff starts a varint that never ends.
  out=$(bus command "$ep" --raw-hex ffffffffffffffffffffff)
  assert_eq "$(jq -r .error.code <<<"$out")" MALFORMED "$svc: reply to an unterminated varint"
  # A Command of an unknown type (command id echoed).
  out=$(bus command "$ep" --type Frobnicate)
  note "$svc, unknown: $out"
  assert_eq "$(reply_code "$out")" "UNKNOWN_COMMAND type" "$svc: reply to an unknown command type"
  [[ $(jq -r .command_id <<<"$out") =~ ^[0-9a-f-]{36}$ ]] || fail "$svc: command id not echoed: $out"
  out=$(bus command "$ep" --type "")
  assert_eq "$(reply_code "$out")" "UNKNOWN_COMMAND type" "$svc: reply to a command without type"
  # Over CRM_MAX_MESSAGE_BYTES (4096 here), under the socket's hard limit.
  out=$(bus command "$ep" --type Status --pad 6000)
  note "$svc, too large: $out"
  assert_eq "$(jq -r .error.code <<<"$out")" TOO_LARGE "$svc: reply to a command of 6 kB"
  # Just under the limit is a command like any other.
  out=$(bus command "$ep" --type Status --pad 3000)
  assert_eq "$(jq -r '.error.code // "none"' <<<"$out")/$(jq -r .type <<<"$out")" "none/StatusReply" \
    "$svc: reply to a Status of 3 kB"
  # Still there, still answering.
  service_alive "$svc" || fail "$svc exited"
  assert_eq "$(status_of "$svc" | jq -r .service)" "$svc" "$svc answers Status afterwards"
}

test_malformed_commands_get_error_replies() {
  fresh_db
  start_service leads CRM_MAX_MESSAGE_BYTES=4096
  start_service notifier CRM_MAX_MESSAGE_BYTES=4096 CRM_NOTIFIER_SOURCES=leads
  commands_refused leads
  commands_refused notifier
  # A payload that is not the command's message.
  local out
  out=$(bus command "$(service_endpoint leads)" --type SubmitLead --payload-hex 0aff01)
  assert_eq "$(jq -r .error.code <<<"$out")" MALFORMED "SubmitLead with a payload that is no LeadReceived"
  out=$(bus command "$(service_endpoint notifier)" --type ListNotifications --payload-hex 0aff01)
  assert_eq "$(jq -r .error.code <<<"$out")" MALFORMED "ListNotifications with a payload that is no ListNotifications"
  out=$(bus command "$(service_endpoint notifier)" --type ListNotifications)
  assert_eq "$(reply_code "$out")" "INVALID_ARGUMENT recipient" "ListNotifications without recipient"
  # Nothing of it was stored; the services work.
  assert_eq "$(sql "SELECT count(*) FROM leads.lead")" 0 "leads stored"
  out=$(crmctl lead submit --source-system cmd --external-id after --name "После")
  assert_eq "$out" "lead 1 created" "a lead after the malformed commands"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 1 "notifications"
}

test_command_over_the_socket_limit_is_dropped() {
  # Beyond 16 x CRM_MAX_MESSAGE_BYTES ZeroMQ drops the connection; the
  # service must survive it and answer the next client.
  fresh_db
  start_service leads CRM_MAX_MESSAGE_BYTES=1024
  local out rc=0
  out=$(bus command "$(service_endpoint leads)" --type Status --pad 40000 --timeout 2000) || rc=$?
  note "oversized: $out (exit $rc)"
  service_alive leads || fail "leads exited after an oversized message"
  assert_eq "$(status_of leads | jq -r .service)" leads "leads answers Status after an oversized message"
}

test_text_that_is_not_utf8_in_a_command_is_refused() {
  # Bytes that are no UTF-8 where a command has text: refused as such, and
  # the service's log stays JSON (the runner checks every line).
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  local out
  # Command {type: ff fe, command_id: "c1"}
  out=$(bus command "$(service_endpoint leads)" --raw-hex 0a02fffe12026331)
  assert_eq "$(reply_code "$out")" "MALFORMED type" "reply to a command whose type is no UTF-8"
  # SubmitLead {source_system: "a", external_id: "b", name: ff fe}
  out=$(bus command "$(service_endpoint leads)" --type SubmitLead --payload-hex 0a01611201621a02fffe)
  assert_eq "$(reply_code "$out")" "INVALID_ARGUMENT name" "reply to a lead whose name is no UTF-8"
  # ListNotifications {recipient: ff fe}
  out=$(bus command "$(service_endpoint notifier)" --type ListNotifications --payload-hex 0a02fffe)
  assert_eq "$(reply_code "$out")" "INVALID_ARGUMENT recipient" "reply to ListNotifications whose recipient is no UTF-8"
  assert_eq "$(status_of notifier | jq -r .service)" notifier "notifier answers Status afterwards"
}

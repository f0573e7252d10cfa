# The outbox stored as segments (common/migrations/003_outbox_segments.sql):
# one outbox_segment row per writing transaction, its columns binary arrays
# (common/pgarray.c); replay slices them, the prune deletes whole ones, and
# the view outbox shows one row per event as the table did.

SEG_Q="SELECT count(*) FROM leads.outbox_segment"

# replay FROM [MAX]: the leads service's ReplayReply as JSON (bus.py replay).
replay() {
  bus replay "tcp://127.0.0.1:$((CRM_LEADS_PORT + 2))" --from "$1" --max "${2:-0}" ||
    fail "no ReplayReply from leads"
}

# view_events A B: "SEQUENCE:HEX,..." of the view's events A..B, in order.
view_events() {
  sql "SELECT string_agg(sequence || ':' || encode(envelope, 'hex'), ',' ORDER BY sequence) FROM leads.outbox
       WHERE sequence BETWEEN $1 AND $2"
}

# replay_events JSON: the reply's events in the same form.
replay_events() { jq -r '[.events[] | "\(.sequence):\(.hex)"] | join(",")' <<<"$1"; }

# mixed_segments: leads written in transactions of different sizes: 500
# with 50 in flight (the service groups what is queued: segments of up to
# 100 events), then 100 one at a time (segments of 2 events).
mixed_segments() {
  start_service leads
  loadgen --count 500 --window 50 --prefix many --source-system seg >/dev/null
  loadgen --count 100 --window 1 --prefix one --source-system seg >/dev/null
  assert_eq "$(sql "SELECT last_sequence FROM leads.outbox_head")" 1200 "leads' outbox head"
}

test_segments_hold_each_event_once_and_the_view_shows_them_in_order() {
  fresh_db
  mixed_segments
  local segments
  segments=$(sql "$SEG_Q")
  ((segments < 600)) || fail "$segments segments for 600 transactions' worth of leads: none grouped"
  assert_ge "$(sql "SELECT count(DISTINCT last_sequence - first_sequence) FROM leads.outbox_segment")" 2 \
    "distinct segment sizes"
  # Segments are contiguous, never overlap, and their arrays match their range.
  assert_eq "$(sql "SELECT count(*) FROM (SELECT first_sequence, lag(last_sequence) OVER (ORDER BY last_sequence) AS prev,
                    last_sequence - first_sequence + 1 AS n, cardinality(envelopes) AS e, cardinality(event_ids) AS i,
                    cardinality(types) AS t, cardinality(correlation_ids) AS c FROM leads.outbox_segment) s
                    WHERE first_sequence <> coalesce(prev, 0) + 1 OR n <> e OR n <> i OR n <> t OR n <> c")" 0 \
    "segments out of line (gap, overlap, or arrays of another length)"
  # The view: every event once, sequences 1..1200 in order.
  assert_eq "$(sql "SELECT count(*) || ' ' || count(DISTINCT sequence) || ' ' || min(sequence) || ' ' || max(sequence)
                    FROM leads.outbox")" "1200 1200 1 1200" "the view's events (count, distinct, min, max)"
  assert_eq "$(sql "SELECT count(*) FROM (SELECT sequence, row_number() OVER (ORDER BY sequence) AS r FROM leads.outbox) v
                    WHERE sequence <> r")" 0 "view sequences not 1..1200"
  assert_eq "$(sql "SELECT count(DISTINCT event_id) FROM leads.outbox")" 1200 "distinct event ids"
  assert_eq "$(sql "SELECT string_agg(DISTINCT type, ',' ORDER BY type) FROM leads.outbox")" \
    "LeadCreated,NotificationRequested" "event types"
  # Each row's columns are its envelope's: sequence, type, correlation id.
  local decoded
  decoded=$(sql "SELECT encode(envelope, 'hex') FROM leads.outbox ORDER BY sequence" | bus decode |
    jq -r '"\(.sequence) \(.type) \(.correlation_id)"' | md5sum)
  assert_eq "$decoded" "$(sql "SELECT sequence || ' ' || type || ' ' || correlation_id FROM leads.outbox ORDER BY sequence" |
    md5sum)" "the view's columns against its envelopes"
  # Only the service's role reads them.
  local err rc=0
  err=$(sql_as crm_notifier "SELECT count(*) FROM leads.outbox_segment" 2>&1) || rc=$?
  ((rc != 0)) || fail "crm_notifier read leads.outbox_segment"
  assert_contains "$err" "permission denied" "crm_notifier reading leads.outbox_segment"
}

test_replay_slices_segments_from_their_middle_and_across_them() {
  fresh_db
  mixed_segments
  # The first segment of at least 3 events, and the next.
  local first last next_last
  read -r first last < <(sql "SELECT first_sequence || ' ' || last_sequence FROM leads.outbox_segment
                              WHERE last_sequence - first_sequence >= 2 ORDER BY last_sequence LIMIT 1")
  next_last=$(sql "SELECT last_sequence FROM leads.outbox_segment WHERE first_sequence = $last + 1")
  [[ -n $first && -n $next_last ]] || fail "no segment of 3 events followed by another"
  note "segment $first-$last, next ends at $next_last"

  # From its middle, up to past the next segment's first event.
  local from=$((first + 1)) max=$((last - first + 2)) out
  out=$(replay "$from" "$max")
  assert_eq "$(jq -r '[.error, .first_sequence, .latest_sequence, .more, (.events | length)] | join(" ")' <<<"$out")" \
    " 1 1200 true $max" "reply from $from, max $max (error, first, latest, more, count)"
  assert_eq "$(replay_events "$out")" "$(view_events "$from" $((from + max - 1)))" "events $from.. as stored"

  # From the middle, everything after: capped at 1000, more set.
  out=$(replay "$from")
  assert_eq "$(jq -r '[.more, (.events | length), .events[0].sequence, .events[-1].sequence] | join(" ")' <<<"$out")" \
    "true 1000 $from $((from + 999))" "reply from $from without max (more, count, first, last)"
  assert_eq "$(replay_events "$out")" "$(view_events "$from" $((from + 999)))" "1000 events as stored"
  # The rest: to the head, more not set.
  out=$(replay $((from + 1000)))
  assert_eq "$(jq -r '[.more, (.events | length), .events[-1].sequence] | join(" ")' <<<"$out")" \
    "false $((1200 - from - 999)) 1200" "reply of the tail (more, count, last)"
  # Exactly one segment's last event, and the head alone.
  out=$(replay "$last" 1)
  assert_eq "$(replay_events "$out")" "$(view_events "$last" "$last")" "the last event of segment $first-$last"
  out=$(replay 1200 5)
  assert_eq "$(jq -r '[.more, (.events | length), .events[0].sequence] | join(" ")' <<<"$out")" "false 1 1200" \
    "reply from the head"
  # Past the head: nothing, no first sequence; from 0: from the oldest.
  out=$(replay 1201)
  assert_eq "$(jq -r '[.error, .first_sequence, .more, (.events | length)] | join(" ")' <<<"$out")" " 0 false 0" \
    "reply past the head"
  out=$(replay 0 3)
  assert_eq "$(replay_events "$out")" "$(view_events 1 3)" "reply from 0"
}

test_late_subscriber_catches_up_across_segments_of_different_sizes() {
  fresh_db
  mixed_segments
  start_service notifier CRM_NOTIFIER_SOURCES=leads CRM_BATCH_MAX=300
  wait_sql 120 "SELECT count(*) FROM notifier.notification" 600 "notifications after the late start"
  wait_sql 60 "SELECT last_sequence FROM notifier.consumer_offset WHERE source = 'leads'" 1200 \
    "notifier's offset for leads"
  assert_eq "$(sql "SELECT count(DISTINCT request_sequence) || ' ' || min(request_sequence) || ' ' || max(request_sequence)
                    FROM notifier.notification")" "600 2 1200" "request sequences (each NotificationRequested once)"
  assert_eq "$(sql "SELECT count(*) FROM notifier.dead_letter")" 0 "notifier dead letters"
  # The notifier's own outbox: one NotificationStored per notification.
  assert_eq "$(sql "SELECT count(*) FROM notifier.outbox WHERE type = 'NotificationStored'")" 600 \
    "NotificationStored events in the notifier's outbox"
}

test_prune_deletes_whole_segments_and_keeps_the_newest() {
  fresh_db
  start_service leads
  local i
  for i in 1 2 3; do
    crmctl lead submit --source-system prune --external-id "p$i" --name "Старый $i" >/dev/null
  done
  loadgen --count 200 --window 20 --prefix prune --source-system prune >/dev/null
  kill_service leads
  local head segments
  head=$(sql "SELECT last_sequence FROM leads.outbox_head")
  segments=$(sql "$SEG_Q")
  assert_eq "$head" 406 "leads' outbox head"
  # Age the first two segments (events 1-4) and the newest past the
  # retention (7 days by default): the prune takes the first two only.
  assert_eq "$(sql "SELECT first_sequence || '-' || last_sequence FROM leads.outbox_segment ORDER BY last_sequence LIMIT 2" |
    paste -sd,)" "1-2,3-4" "the first two segments"
  sql "UPDATE leads.outbox_segment SET time_ms = time_ms - 8 * 86400 * 1000
       WHERE last_sequence <= 4 OR last_sequence = $head" >/dev/null
  start_service leads
  wait_sql 60 "$SEG_Q" $((segments - 2)) "segments after the prune"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/leads.log" --level info --msg "outbox pruned" --field segments=2 \
    --field events=4 || fail "no 'outbox pruned' line for 2 segments, 4 events"
  assert_eq "$(sql "SELECT min(sequence) || ' ' || max(sequence) || ' ' || count(*) FROM leads.outbox")" "5 $head $((head - 4))" \
    "the view after the prune (min, max, count)"
  assert_eq "$(jq -r .outbox_retained <<<"$(status_of leads)")" $((head - 4)) "leads' Status: events retained"
  # A replay from a pruned sequence learns where the retained range begins.
  local out
  out=$(replay 1 2)
  assert_eq "$(jq -r '[.first_sequence, .events[0].sequence, (.events | length)] | join(" ")' <<<"$out")" "5 5 2" \
    "reply from 1 after the prune (first, its first event, count)"
  # Everything aged: the newest segment stays, whole.
  kill_service leads
  local newest
  newest=$(sql "SELECT first_sequence FROM leads.outbox_segment ORDER BY last_sequence DESC LIMIT 1")
  sql "UPDATE leads.outbox_segment SET time_ms = time_ms - 8 * 86400 * 1000 WHERE last_sequence <> $head" >/dev/null
  start_service leads
  wait_sql 60 "$SEG_Q" 1 "segments after pruning all but the newest"
  assert_eq "$(sql "SELECT min(sequence) || ' ' || max(sequence) FROM leads.outbox")" "$newest $head" \
    "the view holds the newest segment"
  assert_eq "$(jq -r .outbox_retained <<<"$(status_of leads)")" $((head - newest + 1)) "leads' Status: events retained"
}

test_binary_arrays_round_trip_through_postgres() {
  fresh_db
  start_service leads
  # Text that needs quoting in an array literal, and non-ASCII: through the
  # binary text[] of the segment, back the same.
  crmctl lead submit --source-system rt --external-id 'x "y" {z}' --name 'Ёлка "в" {лесу}, \ok' >/dev/null
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox_segment")" 1 "segments"
  assert_eq "$(sql "SELECT array_length(event_ids, 1) || ' ' || array_lower(envelopes, 1) || ' ' ||
                    array_to_string(types, ',') FROM leads.outbox_segment")" "2 1 LeadCreated,NotificationRequested" \
    "the segment's arrays (length, lower bound, types)"
  assert_eq "$(sql "SELECT bool_and(event_id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
                    FROM leads.outbox")" t "event ids are version-4 uuids"
  # The uuid stored is the envelope's event id, the bytes the envelope.
  local id out
  id=$(sql "SELECT id FROM leads.lead")
  out=$(replay 1 2)
  assert_eq "$(jq -r '[.events[].event_id] | join(" ")' <<<"$out")" \
    "$(sql "SELECT string_agg(event_id::text, ' ' ORDER BY sequence) FROM leads.outbox")" "event ids: envelopes and view"
  assert_eq "$(replay_events "$out")" "$(view_events 1 2)" "envelopes: replay and view"
  assert_eq "$(sql "SELECT correlation_id FROM leads.outbox WHERE sequence = 1")" "lead:$id" "correlation id"
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 1 "notification"
  # The notifier's binary text[] and bigint[] (store_flush), back as sent.
  assert_contains "$(sql "SELECT text FROM notifier.notification")" 'Ёлка "в" {лесу}, \ok' "notification text"
  assert_eq "$(sql "SELECT requested_by || ' ' || request_sequence || ' ' || (requested_ms > 0) || ' ' || correlation_id
                    FROM notifier.notification")" "leads 2 true lead:$id" "notification's columns"
  assert_eq "$(sql "SELECT request_event_id FROM notifier.notification")" \
    "$(sql "SELECT event_id FROM leads.outbox WHERE sequence = 2")" "notification's request event id"
}

test_migration_moves_existing_events_into_segments() {
  fresh_db
  # The bus's tables as they were before 003, with events, in a scratch
  # schema; then 003: the same events through the view, one segment each.
  local m=$CRM_ROOT/common/migrations
  sql "CREATE SCHEMA old_bus; SET search_path = old_bus; $(cat "$m"/001_*.sql "$m"/002_*.sql)
       INSERT INTO outbox (sequence, event_id, type, correlation_id, time_ms, envelope) VALUES
         (7, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'LeadCreated', 'lead:1', 1000, '\x0a01'),
         (8, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'NotificationRequested', 'lead:1', 1000, '\x'),
         (9, 'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 'LeadCreated', 'lead:2', 2000, '\x00ff');
       $(cat "$m"/003_*.sql)" >/dev/null
  assert_eq "$(sql "SELECT string_agg(first_sequence || '-' || last_sequence || '@' || time_ms, ',' ORDER BY last_sequence)
                    FROM old_bus.outbox_segment")" "7-7@1000,8-8@1000,9-9@2000" "segments made of the old rows"
  assert_eq "$(sql "SELECT string_agg(concat_ws('|', sequence, event_id, type, correlation_id, time_ms, encode(envelope, 'hex')),
                    ',' ORDER BY sequence) FROM old_bus.outbox")" \
    "7|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|LeadCreated|lead:1|1000|0a01,8|b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12|NotificationRequested|lead:1|1000|,9|c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13|LeadCreated|lead:2|2000|00ff" \
    "the old events through the view"
  assert_eq "$(sql "SELECT relkind FROM pg_class WHERE oid = 'old_bus.outbox'::regclass")" v "outbox is a view"
}

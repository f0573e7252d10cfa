# The timer service (crm-timer): a timer requested on the bus fires once, at
# or after its due time, through the outbox: also when rescheduled, not when
# cancelled, at once when already due, exactly once across a SIGKILL, right
# after a restart for what came due meanwhile (in due order), and neither
# early, twice nor late when the system clock steps back an hour or forward
# a day. Malformed requests are dead-lettered. crmctl lists the pending
# timers and shows the service's figures.
#
# Requests come from a fake source service "bench" (tests/tools/timersrc.py
# serve: PUB on CRM_BENCH_PORT+1, replay on +2), whose events live in an
# append-only file, $EVENTS, so that every request is one command and a
# restarted timer service catches up by replay. Firings are read from the
# timer's own outbox (the TimerFired envelopes, decoded by timersrc.py) and
# timer.timer, and in the first case also from the timer's PUB socket.
# Deadlines are generous and nothing asserts how late a timer fired, only
# that it fired at or after its due time, once.

# The TimerFired envelopes in timer.outbox, "SEQUENCE HEX" per line.
FIRED_Q="SELECT sequence || ' ' || encode(envelope, 'hex') FROM timer.outbox WHERE type = 'TimerFired' ORDER BY sequence"
FIRED_N="SELECT count(*) FROM timer.outbox WHERE type = 'TimerFired'"
OFFSET_Q="SELECT coalesce((SELECT last_sequence FROM timer.consumer_offset WHERE source = 'bench'), 0)"
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

now_ms() { date +%s%3N; }

# src_start: the fake source "bench", serving $EVENTS (kept across restarts
# of either side); its output in $T_DIR/timersrc.out.
src_start() {
  EVENTS=$T_DIR/bench-events.jsonl
  touch "$EVENTS"
  "$PY" "$TOOLS/timersrc.py" serve bench "$CRM_BENCH_PORT" "$EVENTS" >>"$T_DIR/timersrc.out" 2>&1 &
  wait_until 30 grep -q '^ready' "$T_DIR/timersrc.out" ||
    fail "the fake source did not start: $(tail -n 5 "$T_DIR/timersrc.out")"
}

# src SUBCOMMAND ARGS...: timersrc.py SUBCOMMAND $EVENTS ARGS... (appends
# an event; prints its sequence, for schedule "SEQ DUE_MS").
src() { "$PY" "$TOOLS/timersrc.py" "$1" "$EVENTS" "${@:2}"; }

# start_timer [VAR=VALUE...]: crm-timer listening to bench only.
start_timer() { start_service timer CRM_TIMER_SOURCES=bench CRM_HEARTBEAT_MS=200 "$@"; }

# wait_applied SEQ: the timer has committed the source's events up to SEQ.
wait_applied() { wait_sql "${2:-120}" "$OFFSET_Q" "$1" "timer's consumer offset for bench"; }

# fired: every TimerFired in the timer's outbox, one JSON object per line.
fired() { sql "$FIRED_Q" | "$PY" "$TOOLS/timersrc.py" decode; }

# fired_of KEY: how many TimerFired the outbox holds for KEY.
fired_of() { fired | jq -s --arg k "$1" '[.[] | select(.key == $k)] | length'; }

# fired_is KEY N: true when the outbox holds exactly N TimerFired for KEY.
fired_is() { [[ $(fired_of "$1") == "$2" ]]; }

# wait_fired TIMEOUT_S KEY...: each KEY has fired (at least once).
wait_fired() {
  local timeout=$1 k
  shift
  for k in "$@"; do
    wait_until "$timeout" eval "(( \$(fired_of '$k') >= 1 ))" || fail "timer $k did not fire within ${timeout}s"
  done
}

# fired_field KEY FIELD: FIELD of KEY's (first) TimerFired.
fired_field() { fired | jq -rs --arg k "$1" --arg f "$2" '[.[] | select(.key == $k)][0][$f]'; }

# row KEY: "state due_ms fired_ms" of bench's timer KEY in timer.timer.
row() {
  sql "SELECT state || ' ' || due_ms || ' ' || coalesce(fired_ms::text, '-') FROM timer.timer
       WHERE owner = 'bench' AND key = '$1'"
}

# assert_fired_once_at_due KEY DUE_MS: one TimerFired for KEY, with
# due_ms DUE_MS and fired_ms >= DUE_MS, and the row marked fired then.
assert_fired_once_at_due() {
  local key=$1 due=$2 got fired_ms
  assert_eq "$(fired_of "$key")" 1 "TimerFired events for $key"
  assert_eq "$(fired_field "$key" due_ms)" "$due" "due_ms in $key's TimerFired"
  fired_ms=$(fired_field "$key" fired_ms)
  assert_ge "$fired_ms" "$due" "fired_ms of $key (due $due)"
  got=$(row "$key")
  assert_eq "$got" "fired $due $fired_ms" "timer.timer row of $key (state due fired)"
}

# status_json: the timer's line of crmctl status --json (the other four
# services are not running, so crmctl exits 1: ignored).
status_json() { crmctl status --json --timeout 1500 | jq -c 'select(.service == "timer")' || true; }
metric() { status_json | jq -r --arg m "$1" '.metrics[$m]'; }

# listen_start: records the timer's PUB (TimerFired, Heartbeat) into
# $T_DIR/pub.jsonl; returns once a heartbeat came through.
listen_start() {
  "$PY" "$TOOLS/timersrc.py" listen "tcp://127.0.0.1:$((CRM_TIMER_PORT + 1))" "$T_DIR/pub.jsonl" \
    >>"$T_DIR/listen.out" 2>&1 &
  wait_until 60 grep -q '"timer.Heartbeat"' "$T_DIR/pub.jsonl" || fail "no heartbeat from the timer's PUB"
}

# ---------------------------------------------------------------- cases

test_schedule_fires_once_at_due() {
  fresh_db
  src_start
  start_timer
  listen_start
  local seq due key=deal:42:payment-overdue
  read -r seq due < <(src schedule --key "$key" --due-in-ms 4000 --payload-hex 08012a0378797a \
    --correlation-id deal:42)
  wait_applied "$seq"
  # Pending until due: in the table, in crmctl timers and in Status.
  assert_eq "$(row "$key")" "pending $due -" "row before due"
  assert_contains "$(crmctl timers --owner bench)" "$key" "crmctl timers before due"
  assert_eq "$(metric timers_pending)" 1 "timers_pending before due"

  wait_fired 60 "$key"
  assert_fired_once_at_due "$key" "$due"
  local f
  f=$(fired | jq -c --arg k "$key" 'select(.key == $k)')
  note "fired: $f"
  assert_eq "$(jq -r '[.owner, .payload_hex, .correlation_id, .causation_id] | join(" ")' <<<"$f")" \
    "bench 08012a0378797a deal:42 timer:bench:$key" "owner, payload, correlation and causation of the TimerFired"
  assert_eq "$(jq -r .sequence <<<"$f")" 1 "the TimerFired's sequence in the timer's outbox"

  # Published live on the timer's PUB, once, received at or after due.
  wait_until 30 grep -q '"timer.TimerFired"' "$T_DIR/pub.jsonl" || fail "TimerFired never came on the timer's PUB"
  assert_eq "$(jq -s --arg k "$key" '[.[] | select(.topic == "timer.TimerFired" and .key == $k)] | length' "$T_DIR/pub.jsonl")" \
    1 "TimerFired messages for $key on the PUB"
  assert_ge "$(jq -s '[.[] | select(.topic == "timer.TimerFired")][0].recv_ms | floor' "$T_DIR/pub.jsonl")" "$due" \
    "receipt time of the TimerFired on the PUB"

  # And nothing more afterwards.
  sleep 3
  assert_eq "$(fired_of "$key")" 1 "TimerFired events for $key 3 s later"
  assert_eq "$(metric timers_pending)" 0 "timers_pending after firing"
  assert_eq "$(metric timers_fired)" 1 "timers_fired after firing"
  assert_ge "$(metric lateness_max_ms)" 0 "lateness_max_ms"
  assert_eq "$(sql "SELECT count(*) FROM timer.dead_letter")" 0 "dead letters"
}

test_reschedule_earlier_and_later_fires_once_at_the_new_time() {
  fresh_db
  src_start
  start_timer
  local t0 seq due_e1 due_e due_l1 due_l
  t0=$(now_ms)
  # e: first due in 10 s, then moved to 3 s; l: first due in 3 s, moved to 7 s.
  read -r seq due_e1 < <(src schedule --key x:earlier --due-ms $((t0 + 10000)))
  read -r seq due_e < <(src schedule --key x:earlier --due-ms $((t0 + 3000)))
  read -r seq due_l1 < <(src schedule --key x:later --due-ms $((t0 + 3000)))
  read -r seq due_l < <(src schedule --key x:later --due-ms $((t0 + 7000)) --payload-hex 02)
  wait_applied "$seq"
  assert_eq "$(row x:earlier)" "pending $due_e -" "x:earlier after the reschedule"
  assert_eq "$(row x:later)" "pending $due_l -" "x:later after the reschedule"
  assert_eq "$(sql "SELECT count(*) FROM timer.timer")" 2 "one timer per key"

  wait_fired 60 x:earlier x:later
  # The later one must not have fired at its first due time.
  assert_ge "$(fired_field x:later fired_ms)" "$due_l" "x:later fired_ms (not at the old $due_l1)"
  assert_eq "$(fired_field x:later payload_hex)" 02 "x:later's payload: the reschedule's"
  # Past the earlier one's first due time: still once each.
  while (($(now_ms) < due_e1 + 2000)); do sleep 0.5; done
  assert_fired_once_at_due x:earlier "$due_e"
  assert_fired_once_at_due x:later "$due_l"
  (($(fired_field x:earlier fired_ms) < due_e1)) || note "x:earlier fired only after its old due time (slow machine?)"

  # A duplicate delivery of a request (same sequence again) changes nothing.
  src republish --seq 2
  # A key that fired may be scheduled again: a new timer, fired once more.
  local due_again
  read -r seq due_again < <(src schedule --key x:earlier --due-in-ms 1000)
  wait_applied "$seq"
  wait_until 60 fired_is x:earlier 2 || fail "x:earlier scheduled again did not fire again"
  sleep 2
  assert_eq "$(fired_of x:earlier)" 2 "TimerFired for x:earlier after one reschedule of a fired timer"
  assert_eq "$(fired | jq -s '[.[] | select(.key == "x:earlier")][1].due_ms')" "$due_again" \
    "the second firing is the new request's"
  assert_eq "$(fired_of x:later)" 1 "TimerFired for x:later at the end"
  assert_eq "$(sql "SELECT count(*) FROM timer.dead_letter")" 0 "dead letters"
}

test_cancel_before_due_never_fires() {
  fresh_db
  src_start
  start_timer
  local t0 seq due_c due_k due_c2
  t0=$(now_ms)
  read -r seq due_c < <(src schedule --key x:cancelled --due-ms $((t0 + 3000)))
  src cancel --key x:cancelled >/dev/null
  read -r seq due_k < <(src schedule --key x:kept --due-ms $((t0 + 3000)))
  # Cancelled, then scheduled again: fires once, at the new time.
  src schedule --key x:again --due-ms $((t0 + 2000)) >/dev/null
  src cancel --key x:again >/dev/null
  read -r seq due_c2 < <(src schedule --key x:again --due-ms $((t0 + 4000)))
  # Cancelling what does not exist is a no-op, not an error.
  seq=$(src cancel --key x:no-such-timer)
  wait_applied "$seq"
  assert_eq "$(row x:cancelled)" "cancelled $due_c -" "x:cancelled row"
  assert_eq "$(metric timers_pending)" 2 "timers_pending (x:kept, x:again)"

  wait_fired 60 x:kept x:again
  while (($(now_ms) < t0 + 6000)); do sleep 0.5; done
  assert_eq "$(fired_of x:cancelled)" 0 "TimerFired for the cancelled timer"
  assert_eq "$(row x:cancelled)" "cancelled $due_c -" "x:cancelled row after its due time"
  assert_fired_once_at_due x:kept "$due_k"
  assert_fired_once_at_due x:again "$due_c2"

  # Cancelling a timer that fired changes nothing.
  seq=$(src cancel --key x:kept)
  wait_applied "$seq"
  assert_fired_once_at_due x:kept "$due_k"
  assert_eq "$(sql "SELECT count(*) FROM timer.dead_letter")" 0 "dead letters"
  assert_eq "$(metric timers_pending)" 0 "timers_pending at the end"
}

test_past_due_fires_at_once() {
  fresh_db
  src_start
  start_timer
  local t0 seq d1 d2 d3
  t0=$(now_ms)
  read -r seq d1 < <(src schedule --key x:hour-ago --due-ms $((t0 - 3600000)))
  read -r seq d2 < <(src schedule --key x:just-now --due-ms $((t0 - 1)))
  read -r seq d3 < <(src schedule --key x:y2k --due-ms 946684800000)
  wait_fired 60 x:hour-ago x:just-now x:y2k
  note "fired $(($(now_ms) - t0)) ms after the requests were written"
  assert_fired_once_at_due x:hour-ago "$d1"
  assert_fired_once_at_due x:just-now "$d2"
  assert_fired_once_at_due x:y2k "$d3"
  # Each fired as it came (the requests arrive one by one, so no order
  # among them is promised; due order is the restart case's business).
  local fired_ms
  for k in x:hour-ago x:just-now x:y2k; do
    fired_ms=$(fired_field "$k" fired_ms)
    assert_ge "$fired_ms" "$t0" "fired_ms of $k (after the request)"
  done
  assert_ge "$(metric lateness_max_ms)" $((t0 - 946684800000)) "lateness_max_ms (the y2k timer's)"
}

test_1000_timers_fire_exactly_once_across_sigkill() {
  fresh_db
  src_start
  start_timer
  local t0 last first
  t0=$(now_ms)
  first=$((t0 + 3000))
  # 1,000 timers due 5 ms apart over 5 s, starting 3 s from now, requested
  # in a shuffled order.
  last=$(src bulk --count 1000 --prefix k: --first-due-ms "$first" --spacing-ms 5 --shuffle 7)
  wait_applied "$last"
  note "1000 requests applied $(($(now_ms) - t0)) ms after writing them; first due in $((first - $(now_ms))) ms"
  wait_until 120 sql_ge "$FIRED_N" 100 || fail "fewer than 100 timers fired within 120s"
  kill_service timer KILL
  local at_kill
  at_kill=$(sql "$FIRED_N")
  note "SIGKILL with $at_kill of 1000 fired"
  ((at_kill < 1000)) || fail "all 1000 fired before the SIGKILL: the test proves nothing (machine too slow?)"
  start_timer
  wait_sql 180 "$FIRED_N" 1000 "TimerFired events after the restart"
  sleep 2

  local all
  all=$(fired | jq -sc '.')
  assert_eq "$(jq 'length' <<<"$all")" 1000 "TimerFired events"
  assert_eq "$(jq '[.[].key] | unique | length' <<<"$all")" 1000 "distinct keys fired"
  assert_eq "$(jq '[.[] | select(.key | startswith("k:"))] | length' <<<"$all")" 1000 "keys are the requested ones"
  assert_eq "$(jq '[.[] | select(.fired_ms < .due_ms)] | length' <<<"$all")" 0 "timers fired before due"
  assert_eq "$(jq '[.[] | select(.due_ms != ('"$first"' + 5 * (.key[2:] | tonumber)))] | length' <<<"$all")" 0 \
    "TimerFired due_ms matching the request of its key"
  assert_eq "$(jq '[.[].sequence] | (min|tostring) + "-" + (max|tostring)' -r <<<"$all")" 1-1000 \
    "outbox sequences (contiguous, no gap, no double)"
  assert_eq "$(sql "SELECT count(*) FROM timer.timer WHERE state = 'fired' AND fired_ms >= due_ms")" 1000 \
    "timer.timer rows fired at or after due"
  assert_eq "$(sql "SELECT count(*) FROM timer.timer WHERE state <> 'fired'")" 0 "rows not fired"
  # Each timer.timer row's fired_ms is the one its TimerFired carries.
  local mismatch
  mismatch=$(sql "SELECT key || ' ' || fired_ms FROM timer.timer ORDER BY key" |
    diff - <(jq -r 'sort_by(.key) | .[] | .key + " " + (.fired_ms | tostring)' <<<"$all") | head -n 5 || true)
  assert_eq "$mismatch" "" "timer.timer fired_ms vs TimerFired fired_ms"
  assert_eq "$(metric timers_pending)" 0 "timers_pending after the restart"
  assert_eq "$(sql "SELECT count(*) FROM timer.dead_letter")" 0 "dead letters"
}

test_timers_due_while_down_fire_at_start_in_due_order() {
  fresh_db
  src_start
  start_timer
  local t0 first last
  t0=$(now_ms)
  first=$((t0 + 8000))
  # 40 timers due 100 ms apart from 8 s on, requested in a shuffled order.
  last=$(src bulk --count 40 --prefix down: --first-due-ms "$first" --spacing-ms 100 --shuffle 3)
  wait_applied "$last"
  kill_service timer TERM
  assert_eq "$(sql "$FIRED_N")" 0 "timers fired before the stop (too slow a machine if not 0)"
  # Requested while the timer service is down (their live publication is
  # lost; they come by replay), due after the 40 but before the restart.
  last=$(src bulk --count 5 --prefix late: --first-due-ms $((first + 4500)) --spacing-ms 100)
  while (($(now_ms) < first + 6000)); do sleep 0.5; done
  assert_eq "$(sql "SELECT count(*) FROM timer.timer WHERE state = 'pending' AND due_ms < $(now_ms)")" 40 \
    "overdue pending timers while the service is down"

  local start
  start=$(now_ms)
  start_timer
  wait_sql 120 "$FIRED_N" 45 "TimerFired events after the start"
  local all
  all=$(fired | jq -sc 'sort_by(.sequence)')
  note "all fired $(($(jq '[.[].fired_ms] | max' <<<"$all") - start)) ms after the start"
  assert_eq "$(jq '[.[].key] | unique | length' <<<"$all")" 45 "distinct keys fired"
  assert_eq "$(jq '[.[] | select(.fired_ms < .due_ms)] | length' <<<"$all")" 0 "fired before due"
  assert_eq "$(jq --argjson s "$start" '[.[] | select(.fired_ms < $s)] | length' <<<"$all")" 0 \
    "fired before the start (i.e. while down)"
  # In due order: the outbox's sequence order sorts the due times.
  assert_eq "$(jq -c '[.[].due_ms] == ([.[].due_ms] | sort)' <<<"$all")" true \
    "TimerFired in sequence order are in due order"
  assert_eq "$(jq -r '[.[0:40][].key | startswith("down:")] | all' <<<"$all")" true \
    "the 40 overdue at start fire first"
  wait_applied "$last"
  assert_eq "$(sql "SELECT count(*) FROM timer.timer WHERE state <> 'fired'")" 0 "timers not fired"
}

test_malformed_requests_are_dead_lettered() {
  fresh_db
  src_start
  start_timer
  local t0
  t0=$(now_ms)
  src schedule --key "" --due-ms $((t0 + 1000)) >/dev/null                  # 1 no key
  src schedule --key x:no-owner --owner= --due-ms $((t0 + 1000)) >/dev/null  # 2 no owner
  src schedule --key x:foreign --owner deals --due-ms $((t0 + 1000)) >/dev/null # 3 owner != publisher
  src schedule --key x:zero --due-ms 0 >/dev/null                           # 4 due 0 (unset)
  src schedule --key x:absurd --due-ms 99999999999999 >/dev/null            # 5 year 5138
  src schedule --key x:seconds --due-ms $((t0 / 1000)) >/dev/null           # 6 seconds, not ms
  src raw --type TimerRequested --payload-hex 0aff01 >/dev/null             # 7 undecodable
  src cancel --key "" >/dev/null                                            # 8 cancel without key
  src cancel --key x:kept --owner deals >/dev/null                          # 9 cancel for another owner
  src raw --type TimerCancelRequested --payload-hex ffff >/dev/null         # 10 undecodable cancel
  src schedule --key x:big --due-ms $((t0 + 1000)) --payload-bytes 65537 >/dev/null # 11 payload > 64 KiB
  local seq due
  read -r seq due < <(src schedule --key x:kept --due-ms $((t0 + 2000)))  # 12 valid
  assert_eq "$seq" 12 "sequence of the valid request"
  wait_applied 12
  wait_sql 60 "SELECT count(*) FROM timer.dead_letter" 11 "dead letters"

  local expect=(
    "1|key is required" "2|owner is required" "3|owner 'deals' is not the publisher 'bench'"
    "4|due_ms 0 is not a time" "5|due_ms 99999999999999 is not a time" "6|due_ms $((t0 / 1000)) is not a time"
    "7|not a crm.v1.TimerRequested" "8|key is required" "9|owner 'deals' is not the publisher 'bench'"
    "10|not a crm.v1.TimerCancelRequested" "11|payload is over 65536 bytes"
  )
  local e n reason log=$T_DIR/timer.log
  for e in "${expect[@]}"; do
    n=${e%%|*}
    reason=${e#*|}
    assert_contains "$(sql "SELECT source || ' ' || type || ': ' || reason FROM timer.dead_letter WHERE sequence = $n")" \
      "$reason" "dead letter of event $n"
    assert_eq "$(jq -c --arg n "$n" 'select(.level == "error" and .msg == "event dead-lettered" and .sequence == $n
      and .source == "bench")' "$log" | wc -l)" 1 "error log lines for event $n"
    assert_contains "$(jq -r --arg n "$n" 'select(.msg == "event dead-lettered" and .sequence == $n) | .reason' "$log")" \
      "$reason" "reason in the log line of event $n"
  done
  assert_eq "$(sql "SELECT count(*) FROM timer.dead_letter WHERE payload IS NULL OR reason = ''")" 0 \
    "dead letters without payload or reason"
  assert_eq "$(sql "SELECT string_agg(key, ',' ORDER BY key) FROM timer.timer")" x:kept "timers stored"

  # Still running: the valid request fires; Status counts the dead letters.
  wait_fired 60 x:kept
  assert_fired_once_at_due x:kept "$due"
  service_alive timer || fail "the timer service is not running"
  assert_eq "$(status_json | jq -c '[.dead_letters, (.sources[] | select(.source == "bench") | .applied_sequence)]')" \
    "[11,12]" "Status [dead_letters, applied from bench]"
  assert_eq "$(fired | jq -s 'length')" 1 "TimerFired events"
}

# ---------------------------------------------------------------- the clock

# set_clock OFFSET: the faked clock of crm-timer (libfaketime) is the real
# one plus OFFSET ("+0", "-1h", "+1d"). Replaced atomically: libfaketime
# re-reads the file at every clock read (FAKETIME_NO_CACHE=1).
set_clock() {
  printf '%s\n' "$1" >"$T_DIR/faketime.new"
  mv -f "$T_DIR/faketime.new" "$T_DIR/faketime"
  note "clock of crm-timer set to real $1"
}

# clock_offset: the timer's clock minus ours, in ms, from its last heartbeat
# (a heartbeat carries the service's clock reading).
clock_offset() {
  tail -n 50 "$T_DIR/pub.jsonl" | jq -s '[.[] | select(.topic == "timer.Heartbeat")] | last | (.time_ms - .recv_ms) | floor'
}

# wait_clock_offset MS: until the timer's heartbeats show its clock MS ahead
# (within 2 s), with two more heartbeats after that for a settled loop.
wait_clock_offset() {
  local want=$1
  wait_until 60 eval "o=\$(clock_offset); (( o > $want - 2000 && o < $want + 2000 ))" ||
    fail "the timer's clock is not $want ms off after 60 s (last offset $(clock_offset))"
  local n
  n=$(grep -c Heartbeat "$T_DIR/pub.jsonl")
  wait_until 30 eval "(( \$(grep -c Heartbeat '$T_DIR/pub.jsonl') >= $n + 2 ))" || fail "no heartbeats"
  note "timer's clock is $(clock_offset) ms off ours"
}

test_clock_steps_neither_skip_double_nor_stall() {
  [[ -f $LIBFAKETIME ]] || fail "$LIBFAKETIME missing (apt-get install libfaketime)"
  fresh_db
  src_start
  set_clock "+0"
  start_timer LD_PRELOAD="$LIBFAKETIME" FAKETIME_TIMESTAMP_FILE="$T_DIR/faketime" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
  listen_start
  wait_clock_offset 0
  local H=3600000 D=86400000
  local r0 seq due_a due_b due_g
  r0=$(now_ms)
  # Pending across the steps: a in 25 s, b in 3 h, g in 2 days (real time).
  read -r seq due_a < <(src schedule --key x:a --due-ms $((r0 + 25000)))
  read -r seq due_b < <(src schedule --key x:b --due-ms $((r0 + 3 * H)))
  read -r seq due_g < <(src schedule --key x:g --due-ms $((r0 + 2 * D)))
  wait_applied "$seq"

  # ---- the clock steps back an hour.
  set_clock "-1h"
  wait_clock_offset $((-H))
  assert_eq "$(row x:a)" "pending $due_a -" "x:a just after the step back (else the machine was too slow)"
  local r1 due_c due_d due_e
  r1=$(now_ms)
  # c: due in 2 s as the service's clock reads now; e: 10 s ago by it;
  # d: due in 3 s of real time, which is 1 h 3 s away on the service's clock.
  read -r seq due_c < <(src schedule --key x:c --due-ms $((r1 - H + 2000)))
  read -r seq due_e < <(src schedule --key x:e --due-ms $((r1 - H - 10000)))
  read -r seq due_d < <(src schedule --key x:d --due-ms $((r1 + 3000)))
  wait_fired 60 x:c x:e
  note "x:c fired at its clock $(fired_field x:c fired_ms), due $due_c (our clock now $(now_ms))"
  assert_fired_once_at_due x:c "$due_c"
  assert_fired_once_at_due x:e "$due_e"
  # Real time passes a's and d's due times: by the service's clock they are
  # an hour away, so they must not fire.
  while (($(now_ms) < due_a + 3000 || $(now_ms) < due_d + 3000)); do sleep 0.5; done
  assert_eq "$(fired_of x:a)" 0 "x:a fired while the clock was an hour back (early)"
  assert_eq "$(fired_of x:d)" 0 "x:d fired while the clock was an hour back (early)"
  assert_eq "$(row x:a)" "pending $due_a -" "x:a row an hour back"
  assert_eq "$(row x:d)" "pending $due_d -" "x:d row an hour back"

  # ---- the clock steps forward a day (from real - 1 h to real + 1 d).
  set_clock "+1d"
  wait_clock_offset $D
  # a, d (due minutes ago by now) and b (due in 3 h, i.e. 21 h ago) fire at once.
  wait_fired 60 x:a x:b x:d
  assert_fired_once_at_due x:a "$due_a"
  assert_fired_once_at_due x:b "$due_b"
  assert_fired_once_at_due x:d "$due_d"
  assert_ge "$(fired_field x:b fired_ms)" $((r0 + D)) "x:b fired_ms (on the day-ahead clock)"
  local r2 due_f
  r2=$(now_ms)
  read -r seq due_f < <(src schedule --key x:f --due-ms $((r2 + D + 2000)))
  wait_fired 60 x:f
  assert_fired_once_at_due x:f "$due_f"
  assert_eq "$(row x:g)" "pending $due_g -" "x:g (due in 2 days) on the day-ahead clock"

  # ---- and back to real time (a day back): nothing fires twice.
  set_clock "+0"
  wait_clock_offset 0
  local due_h
  read -r seq due_h < <(src schedule --key x:h --due-in-ms 2000)
  wait_fired 60 x:h
  sleep 2
  assert_fired_once_at_due x:h "$due_h"
  local k
  for k in x:a x:b x:c x:d x:e x:f; do
    assert_eq "$(fired_of "$k")" 1 "TimerFired events for $k at the end"
  done
  assert_eq "$(fired_of x:g)" 0 "TimerFired for x:g (due in 2 days)"
  assert_eq "$(row x:g)" "pending $due_g -" "x:g at the end: not lost"
  assert_eq "$(fired | jq -s 'length')" 7 "TimerFired events at the end"
  assert_eq "$(sql "SELECT count(*) FROM timer.dead_letter")" 0 "dead letters"
  local out
  out=$(crmctl timers --owner bench --key-prefix x)
  note "crmctl timers: $out"
  assert_contains "$out" "x:g" "crmctl timers at the end"
  assert_eq "$(tail -n 1 <<<"$out")" "1 pending" "crmctl timers count at the end"
}

# ---------------------------------------------------------------- crmctl

test_crmctl_timers_and_status() {
  fresh_db
  src_start
  start_timer
  local t0 last seq
  t0=$(now_ms)
  # 25 x: timers an hour ahead, one y: two hours ahead, one that fires now.
  src bulk --count 25 --prefix x: --first-due-ms $((t0 + 3600000)) --spacing-ms 1000 >/dev/null
  src schedule --key y:1 --due-ms $((t0 + 7200000)) --correlation-id deal:7 >/dev/null
  seq=$(src schedule --key z:now --due-ms $((t0 - 1000)) | cut -d' ' -f1)
  wait_applied "$seq"
  wait_fired 60 z:now

  local out first
  out=$(crmctl timers --owner bench --key-prefix x:)
  note "crmctl timers --owner bench --key-prefix x: (first lines): $(head -n 2 <<<"$out")"
  assert_eq "$(wc -l <<<"$out")" 26 "lines: 25 timers and the count"
  assert_eq "$(tail -n 1 <<<"$out")" "25 pending" "count line"
  # Earliest first: due time (CRM_TIME_ZONE=UTC in tests), owner, key, correlation id.
  first=$(head -n 1 <<<"$out")
  assert_eq "$first" "$(TZ=UTC date -d "@$(((t0 + 3600000) / 1000))" '+%Y-%m-%d %H:%M UTC')  bench  x:0  bulk:0" \
    "first line"
  assert_contains "$(sed -n 25p <<<"$out")" "bench  x:24  bulk:24" "last timer line"

  out=$(crmctl timers --owner bench --key-prefix x: --limit 3)
  assert_eq "$(wc -l <<<"$out")" 4 "lines with --limit 3"
  assert_eq "$(tail -n 1 <<<"$out")" "25 pending" "count with --limit 3 (all matching)"
  out=$(crmctl timers)
  assert_eq "$(tail -n 1 <<<"$out")" "26 pending" "all pending (the fired one is not)"
  assert_not_contains "$out" "z:now" "a fired timer is not listed"
  out=$(crmctl timers --key-prefix y)
  assert_contains "$out" "  bench  y:1  deal:7" "y: listed with its correlation id"
  assert_eq "$(crmctl timers --owner deals)" "0 pending" "another owner's timers"
  local rc=0
  crmctl timers --limit 0 2>/dev/null || rc=$?
  assert_eq "$rc" 2 "exit status for --limit 0"

  # Status: the figures in --json and under the timer's row in the table.
  local st
  st=$(status_json)
  note "status: $st"
  assert_eq "$(jq -c '.metrics | [.timers_pending, .timers_fired]' <<<"$st")" "[26,1]" "[timers_pending, timers_fired]"
  assert_eq "$(jq -c '.metrics | [has("lateness_p50_ms"), has("lateness_p99_ms"), has("lateness_max_ms")]' <<<"$st")" \
    "[true,true,true]" "lateness figures in Status"
  assert_ge "$(jq -r '.metrics.lateness_p50_ms' <<<"$st")" 1000 "lateness_p50_ms of the timer due a second before it came"
  out=$(crmctl status --timeout 1500 || true)
  note "crmctl status: $out"
  assert_contains "$(grep -A1 '^timer ' <<<"$out" | tail -n 1)" "timers_pending=26 timers_fired=1" \
    "the line under the timer's row"

  # Over 100,000 pending: shown as 100000+ (rows written straight into the
  # table as a setup step: 100,001 requests through the bus would take long).
  sql "INSERT INTO timer.timer (owner, key, due_ms, payload, state, correlation_id, requested_sequence)
       SELECT 'bulk', 'k:' || i, $((t0 + 86400000)) + i, '', 'pending', '', i FROM generate_series(1, 100001) i"
  out=$(crmctl timers --owner bulk --limit 2)
  assert_eq "$(wc -l <<<"$out")" 3 "lines with --limit 2 of 100,001"
  assert_eq "$(tail -n 1 <<<"$out")" "100000+ pending" "count beyond 100,000"
  assert_eq "$(crmctl timers --owner bulk --key-prefix k:99999 | tail -n 1)" "1 pending" "count of one prefix"
}

# The tasks service (crm-tasks): a TaskRequested makes one task however often
# it comes, announced once (TaskCreated, a notification per person, an
# overdue timer); people create, complete (only theirs, once), comment and
# read tasks with crmctl; attachments come back byte for byte with their
# sha256, and one over the limit is refused with nothing stored; a task past
# its deadline notifies its responsible once, a completed one never;
# activities are planned, moved and cancelled by key; bad input is refused
# (dead letters, INVALID_ARGUMENT, NOT_FOUND) and the service keeps going;
# a SIGKILL mid-stream loses and doubles nothing.
#
# Requests come from a fake source "bench" (tests/tools/timersrc.py serve,
# events in an append-only file $EVENTS, so a restarted tasks service
# catches up by replay), written by tests/tools/tasktool.py. What the
# service emitted is read from its outbox (tasktool.py decode).

OFFSET_Q="SELECT coalesce((SELECT last_sequence FROM tasks.consumer_offset WHERE source = 'bench'), 0)"
TOPIC_Q="SELECT sequence || ' ' || type || ' ' || encode(envelope, 'hex') FROM tasks.outbox ORDER BY sequence"

tt() { "$PY" "$TOOLS/tasktool.py" "$@"; }
now_ms() { date +%s%3N; }

# src_start: the fake source "bench" serving $EVENTS.
src_start() {
  EVENTS=$T_DIR/bench-events.jsonl
  touch "$EVENTS"
  "$PY" "$TOOLS/timersrc.py" serve bench "$CRM_BENCH_PORT" "$EVENTS" >>"$T_DIR/timersrc.out" 2>&1 &
  wait_until 30 grep -q '^ready' "$T_DIR/timersrc.out" ||
    fail "the fake source did not start: $(tail -n 5 "$T_DIR/timersrc.out")"
}

# req TYPE JSON [OPTIONS]: appends a request to $EVENTS; prints its sequence.
req() { tt request "$EVENTS" "$@"; }

# start_tasks [VAR=VALUE...]: crm-tasks listening to bench and the timer,
# in the zone of the shipped staff directory (deploy/pipelines/staff.yaml:
# Moscow), not the runner's CRM_TIME_ZONE.
start_tasks() {
  start_service tasks CRM_TASKS_SOURCES=bench,timer CRM_HEARTBEAT_MS=200 CRM_TIME_ZONE= "$@"
}
start_notifier() { start_service notifier CRM_NOTIFIER_SOURCES=tasks CRM_HEARTBEAT_MS=200; }
start_timer() { start_service timer CRM_TIMER_SOURCES=tasks CRM_HEARTBEAT_MS=200; }

# wait_applied SEQ [TIMEOUT_S]: the tasks service has committed bench's events up to SEQ.
wait_applied() { wait_sql "${2:-120}" "$OFFSET_Q" "$1" "tasks' consumer offset for bench"; }

# emitted: every event in tasks.outbox, one JSON object per line.
emitted() { sql "$TOPIC_Q" | tt decode; }

# emitted_of TYPE: the events of TYPE, as one JSON array.
emitted_of() { emitted | jq -sc --arg t "$1" '[.[] | select(.type == $t)]'; }

# moscow MS: MS (ms UTC) as the texts show it.
moscow() { TZ=Europe/Moscow date -d "@$(($1 / 1000))" '+%d.%m.%Y %H:%M'; }

# refused CMD...: runs crmctl CMD, which must fail with exit 1; prints its stderr.
refused() {
  local rc=0 out
  out=$(crmctl "$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc == 1 ]] || fail "crmctl $*: expected exit 1, got $rc: $out"
  printf '%s\n' "$out"
}

# bus_cmd TYPE TASKS_JSON: sends command TYPE with that payload (tasks.proto
# message TYPE, or a --raw hex with HEX:...) to the tasks service; prints the reply JSON.
bus_cmd() {
  local hex
  if [[ $2 == HEX:* ]]; then hex=${2#HEX:}; else hex=$(tt encode "$1" "$2"); fi
  bus command "$(service_endpoint tasks)" --type "$1" --payload-hex "$hex"
}

reply_code() { jq -r '[(.error.code // "none"), (.error.fields // [] | join(","))] | join(" ")' <<<"$1"; }

test_task_requested_twice_and_replayed_makes_one_task() {
  fresh_db
  src_start
  start_tasks
  start_notifier
  # A deadline on a whole minute two days ahead (the texts show minutes).
  local deadline body s2
  deadline=$((($(now_ms) / 60000 + 2 * 24 * 60) * 60000))
  body='{"request_key": "lead:5:v2:proposal:0", "title": "Рассчитать запрос и выставить КП",
         "record": "lead:5", "creator": "ivanov", "responsible": "ivanov", "coexecutors": ["petrova"],
         "deadline_ms": "'$deadline'", "tag": "proposal", "rule": "proposal_task"}'
  req TaskRequested "$body" --correlation-id lead:5 >/dev/null
  s2=$(req TaskRequested "$body" --correlation-id lead:5)
  wait_applied "$s2"
  # The first delivered again (a duplicate on the wire): dropped by sequence.
  "$PY" "$TOOLS/timersrc.py" republish "$EVENTS" --seq 1
  wait_until 30 eval '(( $(grep -c "^published seq=1 " "$T_DIR/timersrc.out") >= 2 ))' ||
    fail "the fake source did not publish event 1 again"

  assert_eq "$(sql "SELECT count(*) FROM tasks.task")" 1 "tasks stored"
  assert_eq "$(sql "SELECT id || '|' || title || '|' || record || '|' || responsible || '|' || coexecutors::text
                    || '|' || deadline_ms || '|' || status || '|' || tag || '|' || rule FROM tasks.task")" \
    "1|Рассчитать запрос и выставить КП|lead:5|ivanov|{petrova}|$deadline|open|proposal|proposal_task" "the task"
  local created notes timers
  created=$(emitted_of TaskCreated)
  assert_eq "$(jq length <<<"$created")" 1 "TaskCreated events"
  assert_eq "$(jq -r '.[0] | [.task_id, .request_key, .record, .responsible, (.coexecutors | join(",")),
                              .deadline_ms, .correlation_id] | join("|")' <<<"$created")" \
    "1|lead:5:v2:proposal:0|lead:5|ivanov|petrova|$deadline|lead:5" "TaskCreated"
  [[ $(jq -r '.[0].causation_id' <<<"$created") =~ ^[0-9a-f-]{36}$ ]] || fail "TaskCreated's causation is no event id: $created"
  notes=$(emitted_of NotificationRequested)
  assert_eq "$(jq -r 'sort_by(.recipient) | map(.request_key + "|" + .recipient + "|" + .correlation_id) | join(" ")' <<<"$notes")" \
    "task:1:created:ivanov|ivanov|lead:5 task:1:created:petrova|petrova|lead:5" "NotificationRequested: one per person"
  assert_eq "$(jq -r '.[] | select(.recipient == "ivanov") | .text' <<<"$notes")" \
    "Новая задача №1: Рассчитать запрос и выставить КП (лид №5), срок $(moscow "$deadline")" "the responsible's text"
  assert_eq "$(jq -r '.[] | select(.recipient == "petrova") | .text' <<<"$notes")" \
    "Вы соисполнитель задачи №1: Рассчитать запрос и выставить КП (лид №5), ответственный ivanov, срок $(moscow "$deadline")" \
    "the co-executor's text"
  timers=$(emitted_of TimerRequested)
  assert_eq "$(jq -r 'map(.key + "|" + .owner + "|" + .due_ms) | join(" ")' <<<"$timers")" \
    "task:1:overdue|tasks|$deadline" "TimerRequested"
  wait_sql 60 "SELECT string_agg(recipient, ',' ORDER BY recipient) FROM notifier.notification" "ivanov,petrova" \
    "notifications stored by the notifier"

  # Replayed from the start (offset rewound while down): still one task.
  kill_service tasks
  sql "UPDATE tasks.consumer_offset SET last_sequence = 0 WHERE source = 'bench'" >/dev/null
  local s3
  s3=$(req TaskRequested '{"request_key": "marker", "title": "Маркер", "responsible": "volkov"}')
  start_tasks
  wait_applied "$s3"
  assert_eq "$(sql "SELECT string_agg(request_key, ',' ORDER BY id) FROM tasks.task")" "lead:5:v2:proposal:0,marker" \
    "tasks after the replay"
  assert_eq "$(emitted_of TaskCreated | jq -r 'map(.request_key) | join(",")')" "lead:5:v2:proposal:0,marker" \
    "TaskCreated events after the replay"
  assert_eq "$(emitted_of NotificationRequested | jq length)" 3 "NotificationRequested after the replay"
  assert_eq "$(emitted_of TaskCreated | jq -r '.[1].correlation_id')" "task:2" "correlation id of a task without record"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 3 "notifications after the replay"
  assert_eq "$(sql "SELECT count(*) FROM tasks.dead_letter")" 0 "dead letters"
}

test_crmctl_create_complete_only_by_its_people_and_once() {
  fresh_db
  start_tasks
  export CRM_TIME_ZONE=Europe/Moscow
  local when deadline out err
  when=$(TZ=Europe/Moscow date -d "+2 days" '+%Y-%m-%d %H:%M')
  deadline=$(($(TZ=Europe/Moscow date -d "$when" +%s) * 1000))
  out=$(crmctl task create --title "Подготовить документы и вызвать курьера" --responsible ivanov \
    --coexecutor petrova --deadline "$when" --record deal:7 --tag delivery --description "200 ручек" --as ivanov)
  assert_eq "$out" "task 1 created" "crmctl task create"
  assert_eq "$(sql "SELECT creator || '|' || responsible || '|' || coexecutors::text || '|' || deadline_ms
                    || '|' || request_key || '|' || description FROM tasks.task WHERE id = 1")" \
    "ivanov|ivanov|{petrova}|$deadline||200 ручек" "the task (deadline read in Moscow time)"
  assert_eq "$(emitted_of TaskCreated | jq -r '.[0] | [.creator, .tag, .correlation_id] | join("|")')" \
    "ivanov|delivery|deal:7" "TaskCreated of a task a person created"
  assert_eq "$(emitted_of NotificationRequested | jq -r 'map(.recipient) | sort | join(",")')" "ivanov,petrova" \
    "notifications asked for"
  assert_eq "$(emitted_of TimerRequested | jq -r '.[0] | .key + "|" + .due_ms')" "task:1:overdue|$deadline" \
    "overdue timer asked for"

  # Someone else may not complete it; nothing changes.
  err=$(refused task complete 1 --as sidorov)
  assert_contains "$err" "PERMISSION_DENIED: only the responsible (ivanov) or a co-executor (petrova) may complete task 1" \
    "completion by someone else"
  assert_eq "$(sql "SELECT status FROM tasks.task WHERE id = 1")" open "status after a refused completion"
  # Its co-executor may (the person from CRM_USER), with a comment.
  out=$(CRM_USER=petrova crmctl task complete 1 --comment "Курьер вызван на 15:00")
  assert_eq "$out" "task 1 completed" "completion by the co-executor"
  err=$(refused task complete 1 --as ivanov)
  assert_contains "$err" "FAILED_PRECONDITION: task 1 is already completed (by petrova, " "completing twice"
  local done cancel
  done=$(emitted_of TaskCompleted)
  assert_eq "$(jq length <<<"$done")" 1 "TaskCompleted events"
  assert_eq "$(jq -r '.[0] | [.task_id, .record, .tag, .completed_by, .correlation_id] | join("|")' <<<"$done")" \
    "1|deal:7|delivery|petrova|deal:7" "TaskCompleted"
  cancel=$(emitted_of TimerCancelRequested)
  assert_eq "$(jq -r 'map(.key + "|" + .owner) | join(" ")' <<<"$cancel")" "task:1:overdue|tasks" \
    "the overdue timer cancelled"
  out=$(crmctl task show 1)
  note "crmctl task show 1: $out"
  assert_contains "$out" "task 1 (completed): Подготовить документы и вызвать курьера" "show: first line"
  assert_contains "$out" "petrova: Курьер вызван на 15:00" "show: the comment"
  assert_contains "$out" "deadline     $(TZ=Europe/Moscow date -d "$when" '+%Y-%m-%d %H:%M MSK')" "show: deadline in Moscow time"
  out=$(crmctl task show 1 --json)
  assert_eq "$(jq -r '[.status, .completed_by, .comments[0].author, .comments[0].text, (.coexecutors | join(",")), .deadline_ms] | join("|")' <<<"$out")" \
    "completed|petrova|petrova|Курьер вызван на 15:00|petrova|$deadline" "show --json"

  # A task without deadline, completed by its responsible: no timer either way.
  assert_eq "$(crmctl task create --title "Доставить груз" --responsible sidorov --record deal:7 --as ivanov)" \
    "task 2 created" "second task"
  assert_eq "$(crmctl task comment 2 "Адрес уточнён" --as volkov)" "comment added to task 2" "a comment by anyone"
  assert_eq "$(crmctl task complete 2 --as sidorov)" "task 2 completed" "completion by the responsible"
  assert_eq "$(emitted_of TimerRequested | jq length)/$(emitted_of TimerCancelRequested | jq length)" "1/1" \
    "timers asked for and cancelled (task 1 only)"
  assert_eq "$(crmctl task create --title "Собрать закрывающие документы" --responsible ivanov --coexecutor petrova --as ivanov)" \
    "task 3 created" "third task"

  # Lists: a person's tasks as responsible or co-executor.
  assert_eq "$(crmctl tasks --user petrova --json | jq -c 'map(.id)')" "[3,1]" "petrova's tasks (newest first)"
  assert_eq "$(crmctl tasks --user ivanov --open --json | jq -c 'map(.id)')" "[3]" "ivanov's open tasks"
  assert_eq "$(crmctl tasks --record deal:7 --json | jq -c 'map(.id)')" "[2,1]" "tasks of deal:7"
  out=$(crmctl tasks --user sidorov)
  assert_eq "$(tail -n 1 <<<"$out")" "1 task" "count line"
  assert_eq "$(head -n 1 <<<"$out")" "2  completed  no deadline  sidorov  deal:7  Доставить груз" "a task's line"
  assert_eq "$(sql "SELECT count(*) FROM tasks.task_comment")" 2 "comments stored"
}

test_attachments_round_trip_and_one_too_large_is_refused() {
  fresh_db
  start_tasks
  crmctl task create --title "Подготовить счёт" --responsible petrova --record deal:7 --as ivanov >/dev/null
  crmctl task create --title "Запросить счёт у поставщика" --responsible petrova --as ivanov >/dev/null
  # Exactly the default limit (10 MiB), through the default transport limit.
  local pdf="$T_DIR/счёт №7.pdf" txt="$T_DIR/акт.txt" out
  head -c 10485760 /dev/urandom >"$pdf"
  printf 'Акт сверки\n' >"$txt"
  out=$(crmctl task complete 1 --attach "$pdf" --attach "$txt" --comment "Счёт во вложении" --as petrova)
  assert_eq "$out" "task 1 completed (2 attachments)" "completion with two attachments"
  local js name file
  js=$(crmctl task show 1 --json)
  for file in "$pdf" "$txt"; do
    name=${file##*/}
    assert_eq "$(jq -r --arg n "$name" '.attachments[] | select(.name == $n) | [.size, .sha256, .added_by] | join(" ")' <<<"$js")" \
      "$(stat -c %s "$file") $(sha256sum "$file" | cut -d' ' -f1) petrova" "size, sha256 and who of $name"
    crmctl task attachment 1 "$name" -o "$T_DIR/out.bin" >/dev/null
    cmp "$file" "$T_DIR/out.bin" || fail "task attachment -o wrote other bytes than $name"
  done
  assert_eq "$(jq -r '.attachments | map(.content_type) | join(",")' <<<"$js")" "text/plain,application/pdf" \
    "content types (by name)"
  assert_eq "$(sql "SELECT sum(length(data)) FROM tasks.task_attachment WHERE task_id = 1")" \
    $((10485760 + $(stat -c %s "$txt"))) "bytes stored"
  assert_eq "$(emitted_of TaskCompleted | jq -c '.[0].attachments')" '["счёт №7.pdf","акт.txt"]' \
    "attachment names in TaskCompleted"
  out=$(crmctl task attachment 1 "акт.txt" -o -)
  assert_eq "$out" "Акт сверки" "attachment to stdout"

  # One byte over the limit: TOO_LARGE naming the file and the limit; the
  # task stays open, nothing is stored.
  local big=$T_DIR/big.bin err
  head -c 10485761 /dev/zero >"$big"
  err=$(refused task complete 2 --attach "$txt" --attach "$big" --comment "не сохранится" --as petrova)
  assert_contains "$err" "TOO_LARGE: attachment 'big.bin' is 10485761 bytes; the limit is 10485760 bytes (CRM_TASKS_ATTACHMENT_MAX_BYTES) (fields: attachments[1].data)" \
    "refusal of an attachment over the limit"
  assert_eq "$(sql "SELECT status FROM tasks.task WHERE id = 2")" open "task 2 after the refusal"
  assert_eq "$(sql "SELECT count(*) FROM tasks.task_attachment WHERE task_id = 2")/$(sql "SELECT count(*) FROM tasks.task_comment WHERE task_id = 2")" \
    "0/0" "attachments and comments of task 2"
  assert_eq "$(emitted_of TaskCompleted | jq length)" 1 "TaskCompleted events"
  # Over what a command may carry: crmctl says so without sending it.
  truncate -s 20M "$T_DIR/huge.bin"
  err=$(refused task complete 2 --attach "$T_DIR/huge.bin" --as petrova)
  assert_contains "$err" "TOO_LARGE: $T_DIR/huge.bin is 20971520 bytes; a command may carry at most 16777216 bytes" \
    "refusal of a file over CRM_MAX_MESSAGE_BYTES"
  err=$(refused task attachment 1 nosuch.pdf -o "$T_DIR/x")
  assert_contains "$err" "NOT_FOUND: task 1 has no attachment 'nosuch.pdf' (fields: name)" "unknown attachment"
}

test_command_over_the_message_limit_gets_too_large() {
  # The service's limit is lower than crmctl's: the service answers
  # TOO_LARGE, with the sizes, instead of dropping the command.
  fresh_db
  start_tasks CRM_MAX_MESSAGE_BYTES=1048576
  crmctl task create --title "Счёт" --responsible petrova --as ivanov >/dev/null
  head -c 2097152 /dev/urandom >"$T_DIR/two.bin"
  local err
  err=$(CRM_MAX_MESSAGE_BYTES=8388608 refused task complete 1 --attach "$T_DIR/two.bin" --as petrova)
  assert_contains "$err" "TOO_LARGE: the command is " "refusal"
  assert_contains "$err" "bytes; CRM_MAX_MESSAGE_BYTES is 1048576" "refusal names the limit"
  assert_eq "$(sql "SELECT status FROM tasks.task")" open "the task after the refusal"
  assert_eq "$(crmctl task complete 1 --as petrova)" "task 1 completed" "the service still answers"
}

test_overdue_task_notifies_its_responsible_once() {
  fresh_db
  start_tasks
  start_timer
  start_notifier
  local due when
  due=$(($(date +%s) + 8))
  when=$(TZ=Europe/Moscow date -d "@$due" '+%Y-%m-%d %H:%M:%S')
  crmctl task create --title "Позвонить поставщику" --responsible ivanov --deadline "$when" --as volkov >/dev/null
  crmctl task create --title "Забрать заказ" --responsible sidorov --deadline "$when" --as volkov >/dev/null
  crmctl task complete 2 --as sidorov >/dev/null
  local completed
  completed=$(emitted_of TaskCompleted | jq -r '.[0].completed_ms')
  ((completed < due * 1000)) || fail "task 2 was completed after its deadline (machine too slow?)"
  wait_sql 60 "SELECT count(*) FROM notifier.notification WHERE request_key = 'task:1:overdue'" 1 \
    "the overdue notification of task 1"
  assert_eq "$(sql "SELECT recipient || '|' || text FROM notifier.notification WHERE request_key = 'task:1:overdue'")" \
    "ivanov|Задача №1 «Позвонить поставщику» просрочена: срок был $(moscow $((due * 1000)))" "its recipient and text"
  assert_ge "$(sql "SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM notifier.notification WHERE request_key = 'task:1:overdue'")" \
    $((due * 1000)) "when it was stored (ms)"
  # Task 2's timer was cancelled before it came due: it never fires.
  wait_sql 30 "SELECT state FROM timer.timer WHERE owner = 'tasks' AND key = 'task:2:overdue'" cancelled \
    "task 2's timer"
  assert_eq "$(sql "SELECT state FROM timer.timer WHERE owner = 'tasks' AND key = 'task:1:overdue'")" fired "task 1's timer"
  wait_sql 30 "SELECT coalesce((SELECT last_sequence FROM tasks.consumer_offset WHERE source = 'timer'), 0)" \
    "$(sql "SELECT max(sequence) FROM timer.outbox")" "tasks' offset for the timer"
  assert_eq "$(emitted_of NotificationRequested | jq -r '[.[] | select(.request_key | endswith(":overdue")) | .request_key] | join(",")')" \
    "task:1:overdue" "overdue notifications asked for"
  assert_eq "$(sql "SELECT count(*) FROM notifier.notification WHERE request_key LIKE '%:overdue'")" 1 \
    "overdue notifications stored"
}

test_activities_planned_moved_and_cancelled() {
  fresh_db
  src_start
  start_tasks
  export CRM_TIME_ZONE=Europe/Moscow
  local t1 t2 t3 s out
  t1=$((($(now_ms) / 60000 + 24 * 60) * 60000))
  t2=$((t1 + 2 * 3600000))
  t3=$((t1 + 3600000))
  req ActivityRequested '{"request_key": "lead:5:call", "title": "Позвонить клиенту", "record": "lead:5",
                          "responsible": "ivanov", "at_ms": "'$t1'", "rule": "call_reminder"}' >/dev/null
  s=$(req ActivityRequested '{"request_key": "lead:6:call", "title": "Позвонить Петрову", "record": "lead:6",
                              "responsible": "ivanov", "at_ms": "'$t3'"}')
  wait_applied "$s"
  out=$(crmctl activities --user ivanov)
  note "crmctl activities: $out"
  assert_eq "$(head -n 1 <<<"$out")" \
    "$(TZ=Europe/Moscow date -d "@$((t1 / 1000))" '+%Y-%m-%d %H:%M MSK')  planned    ivanov  lead:5  Позвонить клиенту" \
    "first activity line (earliest first)"
  assert_eq "$(tail -n 1 <<<"$out")" "2 activities" "count line"

  # The same key again moves it: one activity, new time and title.
  s=$(req ActivityRequested '{"request_key": "lead:5:call", "title": "Перезвонить клиенту", "record": "lead:5",
                              "responsible": "ivanov", "at_ms": "'$t2'", "rule": "call_reminder"}')
  wait_applied "$s"
  assert_eq "$(sql "SELECT count(*) || '|' || max(at_ms) || '|' || max(title) FROM tasks.activity WHERE request_key = 'lead:5:call'")" \
    "1|$t2|Перезвонить клиенту" "the moved activity"
  assert_eq "$(crmctl activities --user ivanov --json | jq -r 'map(.request_key + "@" + (.at_ms | tostring)) | join(" ")')" \
    "lead:6:call@$t3 lead:5:call@$t2" "activities by time after the move"

  # Cancelled; cancelling an unknown key is a no-op.
  req ActivityCancelRequested '{"request_key": "lead:5:call"}' >/dev/null
  s=$(req ActivityCancelRequested '{"request_key": "lead:99:call"}')
  wait_applied "$s"
  assert_eq "$(sql "SELECT status FROM tasks.activity WHERE request_key = 'lead:5:call'")" cancelled "status"
  assert_eq "$(crmctl activities --user ivanov --json | jq -r 'map(.request_key) | join(",")')" "lead:6:call" \
    "planned activities"
  assert_eq "$(crmctl activities --user ivanov --all --json | jq -r 'map(.request_key + ":" + .status) | join(",")')" \
    "lead:6:call:planned,lead:5:call:cancelled" "all activities"
  assert_eq "$(crmctl activities --user petrova)" "0 activities" "someone without activities"
  assert_eq "$(sql "SELECT count(*) FROM tasks.activity")/$(sql "SELECT count(*) FROM tasks.dead_letter")" "2/0" \
    "activities stored / dead letters"
}

test_bad_input_is_refused_and_the_service_keeps_running() {
  fresh_db
  src_start
  start_tasks
  local s out
  # On the bus: dead letters with a reason and a log line each.
  "$PY" "$TOOLS/timersrc.py" raw "$EVENTS" --type TaskRequested --payload-hex 0aff01 >/dev/null   # 1
  req TaskRequested '{"request_key": "bad:2", "responsible": "ivanov"}' >/dev/null                 # 2 no title
  req TaskRequested '{"request_key": "bad:3", "title": "ZZZZ", "responsible": "ivanov"}' \
    --patch 5a5a5a5a fffefdfc >/dev/null                                                            # 3 not UTF-8
  req ActivityRequested '{"request_key": "bad:4", "title": "Звонок", "responsible": "ivanov"}' >/dev/null  # 4 no time
  req TaskRequested '{"request_key": "bad:5", "title": "Чужая", "responsible": "ghost"}' >/dev/null  # 5 not staff
  req ActivityRequested '{"request_key": "bad:6", "title": "Звонок", "responsible": "ghost",
                          "at_ms": "1796128200000"}' >/dev/null                                     # 6 not staff
  s=$(req TaskRequested '{"request_key": "good:7", "title": "Годная", "responsible": "ivanov"}')  # 7
  wait_applied "$s"
  assert_eq "$(sql "SELECT string_agg(sequence || ':' || reason, ' / ' ORDER BY sequence) FROM tasks.dead_letter")" \
    "1:payload is not a crm.v1.TaskRequested / 2:title is required / 3:title is not valid UTF-8 / 4:at_ms is required / 5:responsible 'ghost' is not in the staff directory / 6:responsible 'ghost' is not in the staff directory" \
    "dead letters"
  local seq
  for seq in 1 2 3 4 5 6; do
    "$PY" "$TOOLS/logcheck.py" find "$T_DIR/tasks.log" --level error --msg "event dead-lettered" \
      --field source=bench --field sequence=$seq || fail "no log line for dead letter $seq"
  done
  assert_eq "$(sql "SELECT string_agg(request_key, ',') FROM tasks.task")" "good:7" "tasks stored"
  assert_eq "$(status_of tasks | jq -r .dead_letters)" 6 "dead letters in Status"

  # Commands: each bad field named.
  local err
  err=$(refused task create --title "Задача" --responsible "a b" --coexecutor "" --deadline "завтра" --as ivanov)
  assert_contains "$err" "INVALID_ARGUMENT: " "bad create"
  assert_contains "$err" "(fields: responsible, coexecutors[0], deadline)" "bad create: the fields"
  err=$(refused task create --title "Задача" --responsible ghost --coexecutor petrova --coexecutor nobody --as ivanov)
  assert_contains "$err" "INVALID_ARGUMENT: responsible 'ghost' is not in the staff directory; coexecutors[1] 'nobody' is not in the staff directory (fields: responsible, coexecutors[1])" \
    "logins that are not staff"
  out=$(bus_cmd CreateTask '{}')
  assert_eq "$(reply_code "$out")" "INVALID_ARGUMENT title,responsible" "CreateTask without title and responsible"
  out=$(bus_cmd CreateTask HEX:0aff01)
  assert_eq "$(reply_code "$out")" "MALFORMED " "CreateTask that is no CreateTask"
  out=$(bus_cmd CompleteTask '{"task_id": "1", "attachments": [{"name": "a\u0000b", "data": "eA=="},
                                                              {"name": "../a", "data": "eA=="}]}')
  assert_eq "$(reply_code "$out")" "INVALID_ARGUMENT attachments[0].name,attachments[1].name" \
    "attachment names with NUL and '/'"
  err=$(refused tasks --user "a b")
  assert_contains "$err" "INVALID_ARGUMENT: user must be a login" "tasks --user with a space"

  # Unknown ids.
  err=$(refused task show 999)
  assert_contains "$err" "NOT_FOUND: there is no task 999 (fields: task_id)" "show of an unknown task"
  err=$(refused task complete 999 --as ivanov)
  assert_contains "$err" "NOT_FOUND: there is no task 999" "completion of an unknown task"
  err=$(refused task comment 999 "Текст" --as ivanov)
  assert_contains "$err" "NOT_FOUND: there is no task 999" "comment on an unknown task"
  err=$(refused task attachment 999 x.pdf -o "$T_DIR/x")
  assert_contains "$err" "NOT_FOUND: there is no task 999" "attachment of an unknown task"

  # Nothing of it stored; still working.
  assert_eq "$(sql "SELECT count(*) FROM tasks.task")/$(sql "SELECT count(*) FROM tasks.task_comment")" "1/0" \
    "tasks and comments after the refusals"
  service_alive tasks || fail "crm-tasks exited"
  s=$(req TaskRequested '{"request_key": "good:8", "title": "После ошибок", "responsible": "ivanov"}')
  wait_applied "$s"
  assert_eq "$(sql "SELECT count(*) FROM tasks.task")" 2 "a task after the bad input"
}

test_killed_mid_stream_loses_and_doubles_nothing() {
  fresh_db
  src_start
  start_tasks
  local last at_kill
  last=$(tt bulk "$EVENTS" --count 3000 --prefix bulk: --coexecutor petrova)
  wait_until 120 sql_ge "SELECT count(*) FROM tasks.task" 200 || fail "fewer than 200 tasks within 120 s"
  kill_service tasks KILL
  at_kill=$(sql "SELECT count(*) FROM tasks.task")
  note "SIGKILL with $at_kill of 3000 tasks stored"
  ((at_kill < 3000)) || fail "all 3000 stored before the SIGKILL: the test proves nothing (machine too fast?)"
  start_tasks
  wait_applied "$last" 300
  # (Ids may have gaps: the sequence does not give back what the killed
  # transaction took.)
  assert_eq "$(sql "SELECT count(*) || '|' || count(DISTINCT request_key) FROM tasks.task")" \
    "3000|3000" "tasks: count, distinct keys"
  assert_eq "$(sql "SELECT count(*) || '|' || min(sequence) || '|' || max(sequence) FROM tasks.outbox")" "9000|1|9000" \
    "outbox: 3 events per task, contiguous"
  local all
  all=$(emitted | jq -sc '.')
  assert_eq "$(jq '[.[] | select(.type == "TaskCreated") | .task_id] | unique | length' <<<"$all")" 3000 \
    "distinct tasks announced"
  assert_eq "$(jq '[.[] | select(.type == "NotificationRequested") | .request_key] | unique | length' <<<"$all")" 6000 \
    "distinct notifications asked for"
  assert_eq "$(jq '[.[] | select(.type == "TaskCreated" and .correlation_id != .record)] | length' <<<"$all")" 0 \
    "TaskCreated correlated to its record"
  assert_eq "$(sql "SELECT count(*) FROM tasks.dead_letter")" 0 "dead letters"
}

test_staff_file_gives_the_zone_and_a_bad_one_stops_the_service() {
  fresh_db
  # The zone of the staff file: a deadline typed as 15:30 is 15:30 there.
  sed 's|^time_zone: .*|time_zone: Asia/Vladivostok|' "$CRM_ROOT/deploy/pipelines/staff.yaml" >"$T_DIR/staff.yaml"
  start_tasks CRM_STAFF_FILE="$T_DIR/staff.yaml"
  crmctl task create --title "Звонок" --responsible ivanov --deadline "2030-03-01 15:30" --as ivanov >/dev/null
  assert_eq "$(sql "SELECT deadline_ms FROM tasks.task WHERE id = 1")" \
    $(($(TZ=Asia/Vladivostok date -d "2030-03-01 15:30" +%s) * 1000)) "deadline read in the staff file's zone"
  assert_contains "$(emitted_of NotificationRequested | jq -r '.[0].text')" "срок 01.03.2030 15:30" \
    "deadline shown in that zone"
  # CRM_TIME_ZONE overrides it.
  kill_service tasks
  start_tasks CRM_STAFF_FILE="$T_DIR/staff.yaml" CRM_TIME_ZONE=UTC
  crmctl task create --title "Звонок" --responsible ivanov --deadline "2030-03-01 15:30" --as ivanov >/dev/null
  assert_eq "$(sql "SELECT deadline_ms FROM tasks.task WHERE id = 2")" \
    $(($(TZ=UTC date -d "2030-03-01 15:30" +%s) * 1000)) "deadline read in CRM_TIME_ZONE"
  kill_service tasks

  # A staff file that does not load: the service stops at once, exit 2,
  # with the loader's message.
  sed 's|^time_zone: .*|time_zone: Mars/Olympus|' "$CRM_ROOT/deploy/pipelines/staff.yaml" >"$T_DIR/bad.yaml"
  local pid rc=0
  spawn_service tasks CRM_STAFF_FILE="$T_DIR/bad.yaml" CRM_TIME_ZONE=
  pid=$(service_pid tasks)
  wait_until 60 eval "! kill -0 $pid" || fail "crm-tasks kept running with a bad staff file"
  wait "$pid" || rc=$?
  unset "SVC_PID[tasks]"
  assert_eq "$rc" 2 "exit status with a bad staff file"
  "$PY" "$TOOLS/logcheck.py" find "$T_DIR/tasks.log" --level error --msg "bad configuration" \
    --field "error=$T_DIR/bad.yaml:" --field error=Mars/Olympus || fail "no log line naming the bad staff file"
  rc=0
  spawn_service tasks CRM_STAFF_FILE="$T_DIR/missing.yaml" CRM_TIME_ZONE=
  pid=$(service_pid tasks)
  wait "$pid" || rc=$?
  unset "SVC_PID[tasks]"
  assert_eq "$rc" 2 "exit status with a missing staff file"
}

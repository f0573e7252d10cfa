# Operators read the services' stdout as JSON lines: every line of every
# service is one JSON object with ts, level, service and msg.

test_every_service_logs_json_lines() {
  fresh_db
  start_all
  # Some of everything: info (leads, notifications), warn (refused lead,
  # refused command), error (dead letters), a restart (reconnect lines).
  crmctl lead submit --source-system logs --external-id j1 --name 'Кавычки " и \ обратный слэш' \
    --comment $'две\nстроки\tс табуляцией' >/dev/null
  crmctl lead submit --source-system logs --external-id j2 --email broken 2>/dev/null && fail "an invalid lead was accepted"
  bus command "$(service_endpoint deals)" --type Frobnicate >/dev/null
  bus intake "tcp://127.0.0.1:$((CRM_LEADS_PORT + 3))" --garbage 0aff >/dev/null
  wait_sql 60 "SELECT count(*) FROM leads.dead_letter" 1 "leads dead letters"
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 1 "notifications"
  "$CRM_ROOT/scripts/pg.sh" restart >/dev/null
  crmctl lead submit --source-system logs --external-id j3 --name "После рестарта" --timeout 60000 >/dev/null
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 2 "notifications after the restart"
  stop_all

  local s
  for s in leads deals tasks notifier timer; do
    [[ -s $T_DIR/$s.log ]] || fail "$s wrote nothing on stdout"
  done
  # Parse every line of every service's stdout.
  local out
  out=$("$PY" - "$T_DIR" <<'PY'
import json, os, sys
d = sys.argv[1]
levels, msgs, bad, lines = set(), set(), [], 0
for s in ("leads", "deals", "tasks", "notifier", "timer"):
    with open(os.path.join(d, s + ".log"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            lines += 1
            try:
                o = json.loads(line)
            except ValueError as e:
                bad.append("%s.log:%d: %s: %r" % (s, n, e, line[:200]))
                continue
            if not isinstance(o, dict) or not all(isinstance(o.get(k), str) and o.get(k) for k in ("ts", "level", "service", "msg")):
                bad.append("%s.log:%d: missing ts/level/service/msg: %r" % (s, n, line[:200]))
                continue
            if o["service"] != s:
                bad.append("%s.log:%d: service %r" % (s, n, o["service"]))
            levels.add(o["level"])
            msgs.add((s, o["msg"]))
if bad:
    print("\n".join(bad[:10]))
    sys.exit(1)
for s in ("leads", "deals", "tasks", "notifier", "timer"):
    for m in ("service started", "service stopping"):
        if (s, m) not in msgs:
            print("%s never logged %r" % (s, m))
            sys.exit(1)
print("%d lines; levels %s" % (lines, ",".join(sorted(levels))))
PY
) || fail "service logs: $out"
  note "$out"
  assert_contains "$out" "error,info,warn" "log levels seen"
  # Nothing but sanitizer reports would go to stderr; there are none.
  for s in leads deals tasks notifier timer; do
    [[ ! -s $T_DIR/$s.err ]] || fail "$s wrote on stderr: $(head -c 300 "$T_DIR/$s.err")"
  done
}

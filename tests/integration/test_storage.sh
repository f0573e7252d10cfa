# Storage ownership (each role reads its own schema only) and migrations
# (run once, even by processes starting together).

# denied ROLE QUERY: QUERY as ROLE must fail with "permission denied".
denied() {
  local err rc=0
  err=$(sql_as "$1" "$2" 2>&1) || rc=$?
  ((rc != 0)) || fail "$1 could run '$2' (got '$err')"
  assert_contains "$err" "permission denied" "$1 running '$2'"
}

test_each_role_reads_only_its_schema() {
  fresh_db
  start_service leads
  start_service notifier CRM_NOTIFIER_SOURCES=leads
  crmctl lead submit --source-system own --external-id 1 --name "Владелец" >/dev/null
  wait_sql 60 "SELECT count(*) FROM notifier.notification" 1 "notifications"

  assert_eq "$(sql_as crm_leads "SELECT count(*) FROM leads.lead")" 1 "crm_leads reads leads.lead"
  assert_eq "$(sql_as crm_leads "SELECT count(*) FROM lead")" 1 "crm_leads' search_path is its schema"
  assert_eq "$(sql_as crm_notifier "SELECT count(*) FROM notifier.notification")" 1 "crm_notifier reads its own table"
  denied crm_deals "SELECT * FROM leads.lead"
  denied crm_notifier "SELECT * FROM leads.outbox"
  denied crm_notifier "SELECT * FROM leads.lead"
  denied crm_leads "SELECT * FROM notifier.notification"
  denied crm_leads "INSERT INTO notifier.notification (request_key, recipient, text, correlation_id, requested_by, request_sequence, requested_ms) VALUES ('x', 'x', 'x', '', 'x', 1, 1)"
  denied crm_tasks "SELECT * FROM notifier.consumer_offset"
  denied crm_timer "UPDATE leads.outbox_head SET last_sequence = 0"
  denied crm_bench "SELECT * FROM leads.dead_letter"
  # No role may create in another schema or in public.
  denied crm_deals "CREATE TABLE leads.intruder (id int)"
  denied crm_deals "CREATE TABLE public.intruder (id int)"
  # The tables belong to their service's role.
  assert_eq "$(sql "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'leads'")" crm_leads "owner of leads' tables"
  assert_eq "$(sql "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'notifier'")" crm_notifier \
    "owner of notifier's tables"
  assert_eq "$(sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'crm\_%' AND rolname <> 'crm_admin'
                    AND (rolsuper OR rolcreatedb OR rolcreaterole)")" 0 "service roles with superuser, createdb or createrole"
}

test_migrations_run_once_when_two_start_together() {
  fresh_db
  # Two leads processes on two port sets, one fresh database, same moment.
  spawn_service leads@a
  spawn_service leads@b CRM_LEADS_PORT="$CRM_TEST_ALT_PORT"
  service_ready leads@a
  service_ready leads@b
  local files
  files=$(ls "$CRM_ROOT"/common/migrations/*.sql "$CRM_ROOT"/services/leads/migrations/*.sql | wc -l)
  assert_eq "$(sql "SELECT count(*) FROM leads.schema_migrations")" "$files" "rows in leads.schema_migrations (one per file)"
  assert_eq "$(sql "SELECT count(DISTINCT version) FROM leads.schema_migrations")" "$files" "distinct versions"
  local applied
  applied=$(cat "$T_DIR"/leads-a.log "$T_DIR"/leads-b.log | "$PY" -c '
import json, sys
print(sum(1 for l in sys.stdin if json.loads(l).get("msg") == "migration applied"))')
  assert_eq "$applied" "$files" "'migration applied' log lines of both processes together"
  if grep -q '"migration failed"' "$T_DIR"/leads-a.log "$T_DIR"/leads-b.log; then fail "a migration failed"; fi
  assert_eq "$(sql "SELECT last_sequence FROM leads.outbox_head")" 0 "outbox head (one row, created once)"
  assert_eq "$(sql "SELECT count(*) FROM leads.outbox_head")" 1 "outbox_head rows"
  # Both work: each takes a lead (one schema, one sequence).
  local a b
  a=$(bus submit-lead "$(service_endpoint leads@a)" --source-system m --external-id a --name A | jq -r .result.created)
  b=$(bus submit-lead "$(service_endpoint leads@b)" --source-system m --external-id b --name B | jq -r .result.created)
  assert_eq "$a/$b" "true/true" "leads created through each process"
  kill_service leads@a
  kill_service leads@b
  # A restart applies nothing again.
  start_service leads
  assert_eq "$(sql "SELECT count(*) FROM leads.schema_migrations")" "$files" "schema_migrations after a restart"
  if grep -q '"migration applied"' "$T_DIR/leads.log"; then fail "a restart applied a migration again"; fi
}

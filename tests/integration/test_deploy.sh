# The container deployment's database set-up (deploy/postgres/): what the
# official postgres image runs from /docker-entrypoint-initdb.d at first
# start -- roles.sql, schemas.sql, init.sh -- replayed against a cluster of
# its own, so that the roles it changes (they are cluster-wide) are not the
# test cluster's. Docker itself is not needed: the entrypoint only runs these
# files with psql as POSTGRES_USER in POSTGRES_DB.

DEPLOY_PG_DIR="$CRM_ROOT/build/test-deploy-pg"
DEPLOY_PGPORT=$((PGPORT + 100))

# (9>&-: the runner's lock must not be inherited by this cluster's server.)
_deploy_pg() { CRM_PG_DIR="$DEPLOY_PG_DIR" PGPORT="$DEPLOY_PGPORT" scripts/pg.sh "$@" 9>&-; }

# deploy_init [VAR=VALUE...]: init.sh as the entrypoint runs it, with the
# service passwords of the environment plus the VARs; its output in
# $T_DIR/init.out.
deploy_init() {
  (
    eval "$(_deploy_pg env)"
    env PATH="$PG_BIN:$PATH" POSTGRES_USER=crm_admin POSTGRES_DB=crm_deploy "$@" bash deploy/postgres/init.sh
  ) >"$T_DIR/init.out" 2>&1
}

# deploy_login ROLE PASSWORD: true when ROLE can log in over TCP (scram)
# with PASSWORD.
deploy_login() {
  PGPASSWORD=$2 "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$DEPLOY_PGPORT" -U "$1" -d crm_deploy -tAc 'SELECT 1' \
    >/dev/null 2>>"$T_DIR/login.err"
}

deploy_sql() {
  (eval "$(_deploy_pg env)" && "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -U crm_admin -d crm_deploy -tAc "$1")
}

test_first_start_sets_passwords_and_locks_the_bench_roles() {
  trap 'stop_all; _deploy_pg stop >/dev/null 2>&1 || true' EXIT
  rm -rf "$DEPLOY_PG_DIR"
  _deploy_pg start >"$T_DIR/pg.out" 2>&1 # runs roles.sql
  _deploy_pg createdb crm_deploy >>"$T_DIR/pg.out" 2>&1 # runs schemas.sql
  deploy_login crm_leads crm_leads || fail "before init.sh the development password works (the set-up is as the image's)"

  # A missing password stops the initialisation; nothing keeps working with
  # the development password because of a half-run.
  local rc=0
  deploy_init CRM_LEADS_DB_PASSWORD=l1 CRM_DEALS_DB_PASSWORD=d1 CRM_TASKS_DB_PASSWORD=t1 \
    CRM_NOTIFIER_DB_PASSWORD=n1 || rc=$?
  ((rc != 0)) || fail "init.sh succeeded without CRM_TIMER_DB_PASSWORD"
  assert_contains "$(cat "$T_DIR/init.out")" "CRM_TIMER_DB_PASSWORD is not set: refusing to keep the development password" \
    "init.sh's refusal"

  deploy_init CRM_LEADS_DB_PASSWORD=l1 CRM_DEALS_DB_PASSWORD=d1 CRM_TASKS_DB_PASSWORD=t1 \
    CRM_NOTIFIER_DB_PASSWORD=n1 CRM_TIMER_DB_PASSWORD=tm1 || fail "init.sh with every password: $(cat "$T_DIR/init.out")"
  local role pw
  for role in leads:l1 deals:d1 tasks:t1 notifier:n1 timer:tm1; do
    pw=${role#*:} role=crm_${role%%:*}
    deploy_login "$role" "$pw" || fail "$role cannot log in with its deployed password"
    if deploy_login "$role" "$role"; then fail "$role still logs in with the development password"; fi
  done
  # The benchmarks' roles exist (schemas.sql names them) but cannot log in.
  assert_eq "$(deploy_sql "SELECT string_agg(rolname || '=' || rolcanlogin, ' ' ORDER BY rolname) FROM pg_roles
                           WHERE rolname LIKE 'crm\_%' AND rolname <> 'crm_admin'")" \
    "crm_bench=false crm_benchsink=false crm_deals=true crm_leads=true crm_notifier=true crm_tasks=true crm_timer=true" \
    "roles that may log in"
  if deploy_login crm_bench crm_bench; then fail "crm_bench logs in"; fi
  if deploy_login crm_benchsink crm_benchsink; then fail "crm_benchsink logs in"; fi
  _deploy_pg stop >/dev/null 2>&1
}

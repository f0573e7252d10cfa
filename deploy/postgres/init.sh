#!/usr/bin/env bash
# deploy/postgres/init.sh - sets the CRM service roles' passwords at a
# container's first start. Mounted into /docker-entrypoint-initdb.d after
# roles.sql and schemas.sql (docker-compose.yml numbers them 10-, 20-, 30-),
# which create the roles with the development password (= the role's name).
# Passwords come from CRM_<SERVICE>_DB_PASSWORD; all five must be set.
# crm_bench and crm_benchsink (the benchmarks' roles) are not deployed: they
# lose LOGIN here.
# The official postgres entrypoint sources this file (or runs it if it is
# executable); a missing password fails the initialisation either way.
for svc in leads deals tasks notifier timer; do
  var="CRM_${svc^^}_DB_PASSWORD"
  if [[ -z ${!var:-} ]]; then
    echo "init.sh: $var is not set: refusing to keep the development password" >&2
    false
    return 1 2>/dev/null || exit 1
  fi
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v role="crm_$svc" -v pw="${!var}" <<'SQL'
ALTER ROLE :"role" PASSWORD :'pw';
SQL
done
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -c 'ALTER ROLE crm_bench NOLOGIN' -c 'ALTER ROLE crm_benchsink NOLOGIN'

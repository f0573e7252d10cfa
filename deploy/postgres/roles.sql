-- deploy/postgres/roles.sql - login roles of the CRM services (cluster-wide).
--
-- Storage-ownership rules: every service (leads, deals, tasks, notifier, timer,
-- plus the bench tools bench and benchsink) owns exactly one schema and
-- connects with exactly one login role, crm_<service>. A role reads and
-- writes its own schema only; no role is superuser or may create databases or
-- roles. schemas.sql (run in each
-- CRM database) creates the schemas and gives each role its own.
--
-- Run as a superuser: by scripts/pg.sh start for the dev/test cluster, and by a
-- container deployment at first start (e.g. from /docker-entrypoint-initdb.d,
-- where it sorts before schemas.sql). Idempotent: missing roles are created,
-- existing ones get their attributes enforced and keep their password.
--
-- DEV DEFAULT: a new role's password equals its name. That is for local
-- clusters only; deploy/ sets real passwords (ALTER ROLE ... PASSWORD) from its
-- secrets after this file has run.
SET client_min_messages = warning;

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['crm_leads', 'crm_deals', 'crm_tasks',
                           'crm_notifier', 'crm_timer', 'crm_bench',
                           'crm_benchsink'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', r, r);
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                   'NOREPLICATION NOBYPASSRLS', r);
  END LOOP;
END
$$;

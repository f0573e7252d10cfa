-- deploy/postgres/schemas.sql - one schema per service in a CRM database.
--
-- Storage-ownership rules: each service S (leads, deals, tasks, notifier, timer,
-- and the bench tools bench and benchsink) has one schema S owned by its login
-- role crm_S, and that role's search_path in this database is S. Nobody gets
-- USAGE on another service's schema, PUBLIC loses all rights on the database
-- and on schema public, so a role can read and write its own schema only.
-- Services talk to each other over the message bus, never through each
-- other's tables.
--
-- Needs the roles from roles.sql. Run as a superuser connected to the target
-- database, with ON_ERROR_STOP=1:
--   psql -v ON_ERROR_STOP=1 -v db=crm -d crm -f schemas.sql   (scripts/pg.sh createdb)
-- A container deployment runs it at first start (docker-entrypoint-initdb.d);
-- there :db is not set and defaults to the current database. Idempotent.
SET client_min_messages = warning;

\if :{?db}
\else
  \set db :DBNAME
\endif

REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db"
  TO crm_leads, crm_deals, crm_tasks, crm_notifier, crm_timer, crm_bench, crm_benchsink;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS leads    AUTHORIZATION crm_leads;
CREATE SCHEMA IF NOT EXISTS deals    AUTHORIZATION crm_deals;
CREATE SCHEMA IF NOT EXISTS tasks    AUTHORIZATION crm_tasks;
CREATE SCHEMA IF NOT EXISTS notifier AUTHORIZATION crm_notifier;
CREATE SCHEMA IF NOT EXISTS timer    AUTHORIZATION crm_timer;
CREATE SCHEMA IF NOT EXISTS bench    AUTHORIZATION crm_bench;
CREATE SCHEMA IF NOT EXISTS benchsink AUTHORIZATION crm_benchsink;

-- IF NOT EXISTS skips an existing schema: make sure the owner is right anyway.
ALTER SCHEMA leads    OWNER TO crm_leads;
ALTER SCHEMA deals    OWNER TO crm_deals;
ALTER SCHEMA tasks    OWNER TO crm_tasks;
ALTER SCHEMA notifier OWNER TO crm_notifier;
ALTER SCHEMA timer    OWNER TO crm_timer;
ALTER SCHEMA bench    OWNER TO crm_bench;
ALTER SCHEMA benchsink OWNER TO crm_benchsink;

ALTER ROLE crm_leads    IN DATABASE :"db" SET search_path = leads;
ALTER ROLE crm_deals    IN DATABASE :"db" SET search_path = deals;
ALTER ROLE crm_tasks    IN DATABASE :"db" SET search_path = tasks;
ALTER ROLE crm_notifier IN DATABASE :"db" SET search_path = notifier;
ALTER ROLE crm_timer    IN DATABASE :"db" SET search_path = timer;
ALTER ROLE crm_bench    IN DATABASE :"db" SET search_path = bench;
ALTER ROLE crm_benchsink IN DATABASE :"db" SET search_path = benchsink;

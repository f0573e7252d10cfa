#!/usr/bin/env bash
# scripts/pg.sh - a private PostgreSQL 15 cluster for development, tests and CI.
#
#   scripts/pg.sh start | stop | restart | kill | createdb NAME | dropdb NAME
#   scripts/pg.sh env                 # eval "$(scripts/pg.sh env)" -> PGHOST, PGPORT
#   scripts/pg.sh psql [ARGS...]      # psql as crm_admin (db: $PGDATABASE or postgres)
#
# Environment: CRM_PG_DIR (default <repo>/build/pg), PGPORT (default 55432).
# Layout: $CRM_PG_DIR/data (cluster), run/ (unix socket = PGHOST), log/postgres.log.
# Superuser crm_admin; unix-socket logins are trusted (run/ is mode 0700, so only
# the cluster owner and root can reach it), TCP on 127.0.0.1 needs a password.
# The service roles and schemas come from deploy/postgres/{roles,schemas}.sql.
#
# As root: postgres refuses to run as root, so the cluster belongs to the system
# user crmpg (created if missing) and initdb/pg_ctl run via runuser. If crmpg
# cannot reach $CRM_PG_DIR (e.g. a checkout under /root, mode 0700) or the socket
# path would be too long for a unix socket, the cluster lives in
# /tmp/crm-pg-<hash of $CRM_PG_DIR> and data/, run/, log/ in $CRM_PG_DIR are
# symlinks to it. We do this rather than chmod o+x on parent directories: it
# works for any path and never loosens permissions of directories we don't own.
# (A /tmp cluster does not survive a reboot that clears /tmp; it is re-created.)
# So take PGHOST from `env` after `start`, not by guessing $CRM_PG_DIR/run.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=/usr/lib/postgresql/15/bin     # explicit: never whatever pg_ctl is on PATH
SQL=$ROOT/deploy/postgres
DIR=$(readlink -m "${CRM_PG_DIR:-$ROOT/build/pg}")
PORT=${PGPORT:-55432}
CMD=${1:-}

resolve() { DATA=$(readlink -m "$DIR/data"); RUN=$(readlink -m "$DIR/run"); LOG=$(readlink -m "$DIR/log"); }
resolve

say() { echo "pg.sh: $*"; }
die() { echo "pg.sh: $*" >&2; exit 2; }        # usage errors: no log tail
fail() {
  echo "pg.sh: $CMD failed${1:+: $1}" >&2
  if [[ -s $LOG/postgres.log ]]; then
    echo "--- tail of $LOG/postgres.log" >&2; tail -n 20 "$LOG/postgres.log" >&2
  fi
  exit 1
}
trap 'fail' ERR

as_pg() { if ((EUID == 0)); then (cd / && runuser -u crmpg -- "$@"); else "$@"; fi; }
pgctl() { as_pg "$BIN/pg_ctl" -D "$DATA" -s "$@"; }
sql() { PGOPTIONS='-c client_min_messages=warning' "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U crm_admin "$@"; }
have_cluster() { [[ -f $DATA/PG_VERSION ]]; }
running() { have_cluster && pgctl status >/dev/null 2>&1; }
need_running() { running || fail "cluster not running (scripts/pg.sh start)"; }

# Pick where a new cluster lives (see header) and create data/, run/, log/.
layout() {
  if ((EUID == 0)) && ! id crmpg >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin crmpg
  fi
  have_cluster && return 0
  mkdir -p "$DIR"
  rm -rf "$DIR/run" "$DIR/log"                 # no cluster: only stale leftovers
  if [[ -L $DIR/data ]]; then rm "$DIR/data"; fi
  local home=$DIR sock="$DIR/run/.s.PGSQL.$PORT"
  if ((${#sock} > 100)) || { ((EUID == 0)) && ! runuser -u crmpg -- test -x "$(dirname "$DIR")"; }; then
    home=/tmp/crm-pg-$(printf %s "$DIR" | sha256sum | cut -c1-12)
    mkdir -p "$home"
    local owner; owner=$(stat -c %U "$home")
    [[ $owner == "$(id -un)" || $owner == crmpg ]] || fail "$home belongs to $owner"
    rm -rf "$home/run" "$home/log"
    for d in data run log; do ln -sn "$home/$d" "$DIR/$d"; done
  fi
  mkdir -p "$home"/{data,run,log}
  chmod 0700 "$home/run"
  if ((EUID == 0)); then chown crmpg: "$home" "$home"/{data,run,log}; fi
  resolve
}

# Cluster settings; rewritten at every start so that PGPORT is honoured.
write_conf() {
  local run=${RUN//\'/\'\'}
  cat >"$DATA/crm.conf" <<CONF
# written by scripts/pg.sh start
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$run'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
logging_collector = off
CONF
  if ((EUID == 0)); then chown crmpg: "$DATA/crm.conf"; fi
}

start() {
  layout
  if running; then
    sql -d postgres -f "$SQL/roles.sql"
    say "already running (port $PORT, socket $RUN)"; return
  fi
  if ! have_cluster; then
    local loc=(--no-locale)
    if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then loc=(--locale=C.UTF-8); fi
    if ! as_pg "$BIN/initdb" -D "$DATA" -U crm_admin --auth-local=trust \
         --auth-host=scram-sha-256 -E UTF8 "${loc[@]}" >"$LOG/initdb.log" 2>&1; then
      tail -n 20 "$LOG/initdb.log" >&2; fail "initdb"
    fi
    echo "include 'crm.conf'" >>"$DATA/postgresql.conf"
  fi
  write_conf
  pgctl -l "$LOG/postgres.log" -w -t 60 start || fail
  sql -d postgres -f "$SQL/roles.sql"
  say "started (port $PORT, socket $RUN)"
}

db_arg() { [[ -n ${1:-} ]] || die "usage: $0 $CMD NAME"; }

case $CMD in
  start) start ;;
  stop)
    if running; then pgctl -m fast -w stop; say "stopped"; else say "not running"; fi ;;
  restart)
    have_cluster || fail "no cluster in $DATA (scripts/pg.sh start)"
    pgctl -l "$LOG/postgres.log" -m fast -w -t 60 restart || fail
    say "restarted" ;;
  kill)
    if running; then pgctl -m immediate -w stop; say "killed"; else say "not running"; fi ;;
  createdb)
    db_arg "${2:-}"; need_running
    sql -d postgres -v db="$2" <<'Q'
SELECT format('CREATE DATABASE %I', :'db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
Q
    sql -d "$2" -v db="$2" -f "$SQL/schemas.sql"
    say "database $2 ready" ;;
  dropdb)
    db_arg "${2:-}"; need_running
    sql -d postgres -v db="$2" <<<'DROP DATABASE IF EXISTS :"db" WITH (FORCE);'
    say "database $2 dropped" ;;
  env) printf 'export PGHOST=%q\nexport PGPORT=%q\n' "$RUN" "$PORT" ;;
  psql) shift; exec "$BIN/psql" -h "$RUN" -p "$PORT" -U crm_admin -d "${PGDATABASE:-postgres}" "$@" ;;
  *) die "usage: $0 start|stop|restart|kill|createdb NAME|dropdb NAME|env|psql [ARGS]" ;;
esac

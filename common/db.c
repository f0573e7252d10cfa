/*  db: see db.h. */
#define _POSIX_C_SOURCE 200809L
#include "db.h"
#include "clock.h"
#include "log.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_PREPARED_MAX 64

//  Statements are parsed and planned once per connection: planning costs
//  Postgres more than running these short statements. Keyed by the SQL
//  text's address (our statements are literals) and checked by content.
typedef struct {
    const char *sql;
    char name[8];
} prepared_t;

struct db_t {
    PGconn *conn;
    prepared_t prepared[DB_PREPARED_MAX];
    int n_prepared;
    char user[64];
    char password[128];
    char options[96];
    char error[512];
    uint64_t connects;
};

db_t *
db_new (const char *user, const char *password, const char *schema)
{
    db_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->user, sizeof self->user, "%s", user);
    snprintf (self->password, sizeof self->password, "%s", password ? password : "");
    snprintf (self->options, sizeof self->options, "-c search_path=%s", schema);
    return self;
}

void
db_destroy (db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    if (self->conn)
        PQfinish (self->conn);
    free (self);
    *self_p = NULL;
}

static void
s_notice (void *arg, const char *message)
{
    (void) arg;
    (void) message;     // NOTICEs ("relation exists, skipping") are not operators' business
}

static db_rc_t
s_connect_once (db_t *self)
{
    if (self->conn)
        PQfinish (self->conn);
    self->n_prepared = 0;       // they lived in the old session
    const char *keys[] = {"user", "options", "application_name", "connect_timeout", "password", NULL};
    const char *values[] = {self->user, self->options, self->user, "5", self->password, NULL};
    if (!*self->password)   // no password: let libpq use PGPASSWORD or ~/.pgpass
        keys[4] = values[4] = NULL;
    self->conn = PQconnectdbParams (keys, values, 1);
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK) {
        PQsetNoticeProcessor (self->conn, s_notice, NULL);
        self->connects++;
        return DB_OK;
    }
    snprintf (self->error, sizeof self->error, "%s",
              self->conn ? PQerrorMessage (self->conn) : "out of memory");
    self->error[strcspn (self->error, "\n")] = 0;
    if (self->conn)
        PQfinish (self->conn);
    self->conn = NULL;
    return DB_TRANSIENT;
}

db_rc_t
db_connect (db_t *self, int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    int backoff_ms = 100;
    while (true) {
        if (s_connect_once (self) == DB_OK) {
            if (self->connects > 1)
                log_info ("database reconnected", "user", self->user, NULL);
            return DB_OK;
        }
        log_warn ("database connect failed", "error", self->error, NULL);
        if (timeout_ms == 0 || zsys_interrupted
            || (timeout_ms > 0 && clock_mono_ms () + backoff_ms > deadline))
            return DB_TRANSIENT;
        zclock_sleep (backoff_ms);
        backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
    }
}

bool
db_is_up (db_t *self)
{
    return self->conn && PQstatus (self->conn) == CONNECTION_OK;
}

uint64_t
db_reconnects (db_t *self)
{
    return self->connects > 0 ? self->connects - 1 : 0;
}

PGconn *
db_conn (db_t *self)
{
    return db_is_up (self) ? self->conn : NULL;
}

const char *
db_error (db_t *self)
{
    return self->error;
}

//  Classes 08 (connection), 53 (resources), 57P (operator intervention:
//  shutdown, crash recovery), 40001/40P01 (serialization, deadlock) pass
//  when retried; anything else is about the statement or the data.
static bool
s_sqlstate_transient (const char *state)
{
    if (!state)
        return true;
    return strncmp (state, "08", 2) == 0 || strncmp (state, "53", 2) == 0
        || strncmp (state, "57P", 3) == 0 || strcmp (state, "40001") == 0
        || strcmp (state, "40P01") == 0 || strcmp (state, "55P03") == 0;
}

//  Runs sql as a prepared statement, preparing it on first use.
static PGresult *
s_run (db_t *self, const char *sql, int nparams, const char *const *values, const int *lengths,
       const int *formats, int result_format)
{
    int i = 0;
    while (i < self->n_prepared
           && (self->prepared[i].sql != sql || strcmp (self->prepared[i].sql, sql) != 0))
        i++;
    if (i == self->n_prepared) {
        if (i == DB_PREPARED_MAX)   // more statements than we keep: run unprepared
            return PQexecParams (self->conn, sql, nparams, NULL, values, lengths, formats, result_format);
        snprintf (self->prepared[i].name, sizeof self->prepared[i].name, "s%d", i);
        PGresult *res = PQprepare (self->conn, self->prepared[i].name, sql, nparams, NULL);
        if (PQresultStatus (res) != PGRES_COMMAND_OK)
            return res;             // the caller reports the error
        PQclear (res);
        self->prepared[i].sql = sql;
        self->n_prepared++;
    }
    return PQexecPrepared (self->conn, self->prepared[i].name, nparams, values, lengths, formats,
                           result_format);
}

static db_rc_t
s_exec (db_t *self, PGresult **result, const char *sql, int nparams, const char *const *values,
        const int *lengths, const int *formats, int result_format)
{
    if (result)
        *result = NULL;
    if (!db_is_up (self)) {
        snprintf (self->error, sizeof self->error, "database connection is down");
        return DB_TRANSIENT;
    }
    PGresult *res = s_run (self, sql, nparams, values, lengths, formats, result_format);
    ExecStatusType status = PQresultStatus (res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (result)
            *result = res;
        else
            PQclear (res);
        return DB_OK;
    }
    const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    snprintf (self->error, sizeof self->error, "%s %s", state ? state : "-----",
              res ? PQresultErrorMessage (res) : PQerrorMessage (self->conn));
    self->error[strcspn (self->error, "\n")] = 0;
    bool transient = s_sqlstate_transient (state) || PQstatus (self->conn) != CONNECTION_OK;
    PQclear (res);
    if (transient) {
        log_warn ("database unavailable", "error", self->error, NULL);
        PQfinish (self->conn);
        self->conn = NULL;
        return DB_TRANSIENT;
    }
    log_error ("statement failed", "error", self->error, NULL);
    return DB_PERMANENT;
}

db_rc_t
db_exec (db_t *self, PGresult **result, const char *sql, int nparams, const char *const *values,
         const int *lengths, const int *formats)
{
    return s_exec (self, result, sql, nparams, values, lengths, formats, 0);
}

db_rc_t
db_query_binary (db_t *self, PGresult **result, const char *sql, int nparams, const char *const *values,
                 const int *lengths, const int *formats)
{
    return s_exec (self, result, sql, nparams, values, lengths, formats, 1);
}

db_rc_t
db_begin (db_t *self)
{
    return db_exec (self, NULL, "BEGIN", 0, NULL, NULL, NULL);
}

db_rc_t
db_commit (db_t *self)
{
    return db_exec (self, NULL, "COMMIT", 0, NULL, NULL, NULL);
}

void
db_rollback (db_t *self)
{
    if (db_is_up (self))
        PQclear (PQexec (self->conn, "ROLLBACK"));
}

static db_rc_t
s_exec_script (db_t *self, const char *sql)
{
    //  A migration file holds many statements; PQexec is the only libpq call
    //  that runs a script. It takes no input: the SQL is our own, built in.
    PGresult *res = PQexec (self->conn, sql);
    db_rc_t rc = DB_OK;
    if (PQresultStatus (res) != PGRES_COMMAND_OK && PQresultStatus (res) != PGRES_TUPLES_OK) {
        snprintf (self->error, sizeof self->error, "%s", PQresultErrorMessage (res));
        self->error[strcspn (self->error, "\n")] = 0;
        rc = PQstatus (self->conn) == CONNECTION_OK ? DB_PERMANENT : DB_TRANSIENT;
    }
    PQclear (res);
    return rc;
}

db_rc_t
db_migrate (db_t *self, const char *schema, const db_migration_t *migrations, int count)
{
    const char *lock_param[] = {schema};
    db_rc_t rc = db_exec (self, NULL, "SELECT pg_advisory_lock(hashtext($1))", 1, lock_param, NULL, NULL);
    if (rc)
        return rc;
    rc = db_exec (self, NULL,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version integer PRIMARY KEY, name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL, NULL, NULL);
    for (int i = 0; rc == DB_OK && i < count; i++) {
        char version[16];
        snprintf (version, sizeof version, "%d", migrations[i].version);
        const char *params[] = {version, migrations[i].name};
        PGresult *res;
        rc = db_exec (self, &res, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, NULL, NULL);
        if (rc)
            break;
        bool applied = PQntuples (res) > 0;
        PQclear (res);
        if (applied)
            continue;
        if ((rc = db_begin (self)))
            break;
        rc = s_exec_script (self, migrations[i].sql);
        if (rc == DB_OK)
            rc = db_exec (self, NULL, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                          params, NULL, NULL);
        if (rc == DB_OK)
            rc = db_commit (self);
        if (rc) {
            log_error ("migration failed", "schema", schema, "migration", migrations[i].name, "error",
                       self->error, NULL);
            db_rollback (self);
            break;
        }
        log_info ("migration applied", "schema", schema, "migration", migrations[i].name, NULL);
    }
    if (db_is_up (self))
        db_exec (self, NULL, "SELECT pg_advisory_unlock(hashtext($1))", 1, lock_param, NULL, NULL);
    return rc;
}

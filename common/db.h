/*  db: one PostgreSQL connection per service, through libpq.

    Every query is parameterised (PQexecParams). Errors are sorted into
    transient (the connection or the server is away: retry later, never
    dead-letter) and permanent (the statement itself is wrong for this data).
    The connection reconnects with exponential backoff; migrations run once,
    under an advisory lock, at start.
*/
#ifndef CRM_DB_H
#define CRM_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct db_t db_t;

typedef enum { DB_OK = 0, DB_TRANSIENT = 1, DB_PERMANENT = 2 } db_rc_t;

/*  One migration: its version (NNN of migrations/NNN_name.sql), its name and
    the SQL, embedded into the binary at build time. */
typedef struct {
    int version;
    const char *name;
    const char *sql;
} db_migration_t;

/*  The bus's own tables (common/migrations/NNN_name.sql), embedded at build time,
    for programs that are not services (a service embeds them with its own). */
extern const db_migration_t bus_migrations[];
extern const int bus_migrations_count;

/*  Creates a connection handle for user (and password, may be empty: libpq
    then uses PGPASSWORD or ~/.pgpass), whose search_path is schema; host, port and database come from
    libpq's PGHOST, PGPORT and PGDATABASE. Does not connect. Returns NULL on
    out-of-memory. The caller owns the result; free with db_destroy. */
db_t *db_new (const char *user, const char *password, const char *schema);

/*  Closes the connection and frees the handle; nulls *self_p. */
void db_destroy (db_t **self_p);

/*  Connects, retrying with backoff (100 ms doubling to 5 s) for up to
    timeout_ms (0: try once, -1: until interrupted). Returns DB_OK or
    DB_TRANSIENT when the time ran out; logs each failure once per attempt. */
db_rc_t db_connect (db_t *self, int timeout_ms);

/*  true when the connection is established. */
bool db_is_up (db_t *self);

/*  Number of successful connects after the first one. */
uint64_t db_reconnects (db_t *self);

/*  Runs sql with text parameters (values[i] NULL for SQL NULL; lengths and
    formats may be NULL for all-text). On DB_OK, *result (if non-NULL) owns
    the PGresult (caller PQclear's it). On error, *result is NULL, the error
    is logged and db_error() describes it; a transient error also marks the
    connection down. */
db_rc_t db_exec (db_t *self, PGresult **result, const char *sql, int nparams,
                 const char *const *values, const int *lengths, const int *formats);

/*  As db_exec, but every result column comes in its type's binary send
    format (PostgreSQL manual, "Extended Query" in the frontend/backend
    protocol chapter; e.g. int8 as 8 bytes in network order, bytea[] as
    pgarray reads it): PQgetvalue points at those bytes, PQgetlength gives
    their number. */
db_rc_t db_query_binary (db_t *self, PGresult **result, const char *sql, int nparams,
                         const char *const *values, const int *lengths, const int *formats);

/*  BEGIN, COMMIT, ROLLBACK. ROLLBACK on a dead connection is a no-op. */
db_rc_t db_begin (db_t *self);
db_rc_t db_commit (db_t *self);
void db_rollback (db_t *self);

/*  The last error's text (SQLSTATE and message), owned by db. */
const char *db_error (db_t *self);

/*  Applies, in version order, the migrations not yet recorded in
    <schema>.schema_migrations, each in its own transaction, all under
    pg_advisory_lock so that two instances starting at once migrate once.
    Returns DB_OK, DB_TRANSIENT, or DB_PERMANENT when a migration fails (it
    is rolled back and named in the log). */
db_rc_t db_migrate (db_t *self, const char *schema, const db_migration_t *migrations, int count);

/*  Raw libpq connection, for callers that need PQescapeByteaConn and the
    like. Owned by db; NULL when down. */
PGconn *db_conn (db_t *self);

#endif

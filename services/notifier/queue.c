/*  queue: see queue.h. */
#include "queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct queue_claimed_t {
    PGresult *res;
    queue_row_t *rows;
    size_t n;
};

db_rc_t
queue_claim (db_t *db, int64_t now_ms, const char *busy, size_t limit, queue_claimed_t **claimed_p)
{
    char now[24], lim[24];
    snprintf (now, sizeof now, "%" PRId64, now_ms);
    snprintf (lim, sizeof lim, "%zu", limit);
    const char *params[] = {now, busy, lim};
    PGresult *res;
    db_rc_t rc =
        db_exec (db, &res,
                 "SELECT d.id, d.notification_id, d.channel, d.destination, d.secret_ref, d.attempts,"
                 " d.created_ms, n.recipient, n.text, n.correlation_id, n.rule,"
                 " (extract(epoch FROM n.created_at) * 1000)::bigint"
                 " FROM delivery d JOIN notification n ON n.id = d.notification_id"
                 " WHERE d.state = 'pending' AND d.next_attempt_ms <= $1::bigint"
                 " AND NOT (d.id = ANY ($2::bigint[]))"
                 " ORDER BY d.next_attempt_ms, d.id LIMIT $3::int",
                 3, params, NULL, NULL);
    if (rc)
        return rc;
    queue_claimed_t *c = calloc (1, sizeof *c);
    size_t n = (size_t) PQntuples (res);
    if (!c || !(c->rows = calloc (n + 1, sizeof *c->rows))) {
        free (c);
        PQclear (res);
        return DB_PERMANENT;
    }
    c->res = res;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        queue_row_t *r = &c->rows[i];
        int row = (int) i;
        r->id = strtoull (PQgetvalue (res, row, 0), NULL, 10);
        r->notification_id = strtoull (PQgetvalue (res, row, 1), NULL, 10);
        r->channel = PQgetvalue (res, row, 2);
        r->destination = PQgetvalue (res, row, 3);
        r->secret_ref = PQgetvalue (res, row, 4);
        r->attempts = (uint32_t) strtoul (PQgetvalue (res, row, 5), NULL, 10);
        r->queued_ms = strtoll (PQgetvalue (res, row, 6), NULL, 10);
        r->recipient = PQgetvalue (res, row, 7);
        r->text = PQgetvalue (res, row, 8);
        r->correlation_id = PQgetvalue (res, row, 9);
        r->rule = PQgetvalue (res, row, 10);
        r->created_ms = strtoll (PQgetvalue (res, row, 11), NULL, 10);
    }
    *claimed_p = c;
    return DB_OK;
}

size_t
queue_claimed_count (const queue_claimed_t *claimed)
{
    return claimed->n;
}

const queue_row_t *
queue_claimed_row (const queue_claimed_t *claimed, size_t i)
{
    return &claimed->rows[i];
}

void
queue_claimed_free (queue_claimed_t **claimed_p)
{
    if (!claimed_p || !*claimed_p)
        return;
    PQclear ((*claimed_p)->res);
    free ((*claimed_p)->rows);
    free (*claimed_p);
    *claimed_p = NULL;
}

db_rc_t
queue_next (db_t *db, const char *busy, int64_t *next_ms, uint64_t *pending)
{
    const char *params[] = {busy};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT count(*), min(next_attempt_ms) FROM delivery"
                          " WHERE state = 'pending' AND NOT (id = ANY ($1::bigint[]))",
                          1, params, NULL, NULL);
    if (rc)
        return rc;
    *pending = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    *next_ms = PQgetisnull (res, 0, 1) ? INT64_MAX : strtoll (PQgetvalue (res, 0, 1), NULL, 10);
    PQclear (res);
    return DB_OK;
}

db_rc_t
queue_delivered (db_t *db, uint64_t id, uint32_t attempts, int64_t now_ms)
{
    char idtext[24], att[16], now[24];
    snprintf (idtext, sizeof idtext, "%" PRIu64, id);
    snprintf (att, sizeof att, "%" PRIu32, attempts);
    snprintf (now, sizeof now, "%" PRId64, now_ms);
    const char *params[] = {idtext, att, now};
    return db_exec (db, NULL,
                    "WITH d AS (UPDATE delivery SET state = 'delivered', attempts = $2::int,"
                    " last_attempt_ms = $3::bigint, done_ms = $3::bigint"
                    " WHERE id = $1::bigint AND state = 'pending' RETURNING notification_id)"
                    " UPDATE notification n SET delivered_at = COALESCE (n.delivered_at, to_timestamp "
                    "($3::bigint / 1000.0))"
                    " FROM d WHERE n.id = d.notification_id",
                    3, params, NULL, NULL);
}

db_rc_t
queue_failed (db_t *db, uint64_t id, uint32_t attempts, int64_t now_ms, int64_t next_ms, const char *error)
{
    char idtext[24], att[16], now[24], next[24];
    snprintf (idtext, sizeof idtext, "%" PRIu64, id);
    snprintf (att, sizeof att, "%" PRIu32, attempts);
    snprintf (now, sizeof now, "%" PRId64, now_ms);
    snprintf (next, sizeof next, "%" PRId64, next_ms);
    const char *params[] = {idtext, att, now, next, error};
    return db_exec (db, NULL,
                    "UPDATE delivery SET attempts = $2::int, last_attempt_ms = $3::bigint, last_error = $5,"
                    " state = CASE WHEN $4::bigint = 0 THEN 'failed' ELSE 'pending' END,"
                    " next_attempt_ms = CASE WHEN $4::bigint = 0 THEN next_attempt_ms ELSE $4::bigint END,"
                    " done_ms = CASE WHEN $4::bigint = 0 THEN $3::bigint END"
                    " WHERE id = $1::bigint AND state = 'pending'",
                    5, params, NULL, NULL);
}

/*  store: see store.h. */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

db_rc_t
store_schedule (db_t *db, const Crm__V1__TimerRequested *request, const char *correlation_id,
                uint64_t sequence, bool *was_pending)
{
    char due[24], seq[24];
    snprintf (due, sizeof due, "%" PRId64, request->due_ms);
    snprintf (seq, sizeof seq, "%" PRIu64, sequence);
    const char *params[] = {request->owner, request->key, due, (const char *) request->payload.data,
                            correlation_id, seq};
    int lengths[] = {0, 0, 0, (int) request->payload.len, 0, 0};
    int formats[] = {0, 0, 0, 1, 0, 0};
    if (!params[3])
        params[3] = "";
    PGresult *res;
    //  The CTE reads the row as it was, so the caller can keep its count of
    //  pending timers without counting a million rows.
    db_rc_t rc = db_exec (db, &res,
                          "WITH old AS (SELECT state FROM timer WHERE owner = $1 AND key = $2)"
                          " INSERT INTO timer (owner, key, due_ms, payload, state, correlation_id,"
                          " requested_sequence) VALUES ($1, $2, $3, $4, 'pending', $5, $6)"
                          " ON CONFLICT (owner, key) DO UPDATE SET due_ms = EXCLUDED.due_ms,"
                          " payload = EXCLUDED.payload, state = 'pending', fired_ms = NULL,"
                          " correlation_id = EXCLUDED.correlation_id,"
                          " requested_sequence = EXCLUDED.requested_sequence, updated_at = now()"
                          " RETURNING (SELECT state FROM old)",
                          6, params, lengths, formats);
    if (rc)
        return rc;
    *was_pending = PQntuples (res) == 1 && strcmp (PQgetvalue (res, 0, 0), "pending") == 0;
    PQclear (res);
    return DB_OK;
}

db_rc_t
store_cancel (db_t *db, const char *owner, const char *key, bool *cancelled)
{
    const char *params[] = {owner, key};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "UPDATE timer SET state = 'cancelled', updated_at = now()"
                          " WHERE owner = $1 AND key = $2 AND state = 'pending'",
                          2, params, NULL, NULL);
    if (rc)
        return rc;
    *cancelled = atoi (PQcmdTuples (res)) == 1;
    PQclear (res);
    return DB_OK;
}

db_rc_t
store_fire (db_t *db, int64_t now_ms, store_fired_fn *fn, void *arg, int *count)
{
    char now[24], max[16];
    snprintf (now, sizeof now, "%" PRId64, now_ms);
    snprintf (max, sizeof max, "%d", STORE_FIRE_MAX);
    const char *params[] = {now, max};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "WITH due AS (SELECT owner, key FROM timer WHERE state = 'pending'"
                          " AND due_ms <= $1::bigint ORDER BY due_ms LIMIT $2::int)"
                          " UPDATE timer t SET state = 'fired', fired_ms = $1::bigint, updated_at = now()"
                          " FROM due WHERE t.owner = due.owner AND t.key = due.key"
                          " RETURNING t.owner, t.key, t.correlation_id, t.payload, t.due_ms",
                          2, params, NULL, NULL);
    *count = 0;
    if (rc)
        return rc;
    int n = PQntuples (res);
    //  RETURNING has no order of its own: sort by due time here.
    int *order = malloc (((size_t) n + 1) * sizeof *order);
    int64_t *due = malloc (((size_t) n + 1) * sizeof *due);
    if (!order || !due) {
        free (order);
        free (due);
        PQclear (res);
        return DB_PERMANENT;
    }
    for (int i = 0; i < n; i++) {
        order[i] = i;
        due[i] = strtoll (PQgetvalue (res, i, 4), NULL, 10);
    }
    for (int i = 1; i < n; i++)     // insertion sort: rows come nearly sorted
        for (int j = i; j > 0 && due[order[j]] < due[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int k = 0; k < n && rc == DB_OK; k++) {
        int i = order[k];
        size_t len = 0;
        unsigned char *payload = PQunescapeBytea ((unsigned char *) PQgetvalue (res, i, 3), &len);
        store_due_t row = {PQgetvalue (res, i, 0), PQgetvalue (res, i, 1), PQgetvalue (res, i, 2),
                           payload, len, due[i]};
        if (!payload || fn (&row, arg))
            rc = DB_PERMANENT;
        PQfreemem (payload);
    }
    *count = n;
    free (order);
    free (due);
    PQclear (res);
    return rc;
}

db_rc_t
store_next_due (db_t *db, int64_t *due_ms)
{
    PGresult *res;
    db_rc_t rc = db_exec (db, &res, "SELECT min(due_ms) FROM timer WHERE state = 'pending'", 0, NULL,
                          NULL, NULL);
    if (rc)
        return rc;
    *due_ms = PQgetisnull (res, 0, 0) ? INT64_MAX : strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return DB_OK;
}

db_rc_t
store_pending (db_t *db, int64_t cap, int64_t *count)
{
    char limit[24];
    snprintf (limit, sizeof limit, "%" PRId64, cap + 1);
    const char *params[] = {limit};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT count(*) FROM (SELECT 1 FROM timer WHERE state = 'pending'"
                          " LIMIT $1::bigint) t",
                          1, params, NULL, NULL);
    if (rc)
        return rc;
    *count = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return DB_OK;
}

db_rc_t
store_list (db_t *db, const char *owner, const char *prefix, uint32_t limit, Crm__V1__TimerList **list_p)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%u", limit);
    const char *params[] = {owner, prefix, lim};
    PGresult *res, *count;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT key, owner, due_ms::text, correlation_id FROM timer"
                          " WHERE state = 'pending' AND ($1 = '' OR owner = $1)"
                          " AND left(key, length($2)) = $2 ORDER BY due_ms LIMIT $3::int",
                          3, params, NULL, NULL);
    if (rc)
        return rc;
    rc = db_exec (db, &count,
                  "SELECT count(*) FROM (SELECT 1 FROM timer WHERE state = 'pending'"
                  " AND ($1 = '' OR owner = $1) AND left(key, length($2)) = $2 LIMIT 100001) t",
                  2, params, NULL, NULL);
    if (rc) {
        PQclear (res);
        return rc;
    }
    int n = PQntuples (res);
    Crm__V1__TimerList *list = calloc (1, sizeof *list);
    Crm__V1__Timer **items = calloc ((size_t) n + 1, sizeof *items);
    if (!list || !items) {
        free (list);
        free (items);
        PQclear (res);
        PQclear (count);
        return DB_PERMANENT;
    }
    crm__v1__timer_list__init (list);
    list->timers = items;
    for (int i = 0; i < n; i++) {
        Crm__V1__Timer *t = items[i] = calloc (1, sizeof *t);
        if (!t)
            break;
        crm__v1__timer__init (t);
        t->key = strdup (PQgetvalue (res, i, 0));
        t->owner = strdup (PQgetvalue (res, i, 1));
        t->due_ms = strtoll (PQgetvalue (res, i, 2), NULL, 10);
        t->correlation_id = strdup (PQgetvalue (res, i, 3));
        list->n_timers++;
    }
    list->pending = strtoull (PQgetvalue (count, 0, 0), NULL, 10);
    PQclear (res);
    PQclear (count);
    *list_p = list;
    return DB_OK;
}

void
store_list_free (Crm__V1__TimerList *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n_timers; i++) {
        free (list->timers[i]->key);
        free (list->timers[i]->owner);
        free (list->timers[i]->correlation_id);
        free (list->timers[i]);
    }
    free (list->timers);
    free (list);
}

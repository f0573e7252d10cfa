/*  store: see store.h. */
#include "store.h"
#include "sqlarray.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { KEY, RECIPIENT, TEXT, CORRELATION, REQUESTED_BY, SEQUENCE, REQUESTED_MS, COLUMNS };

struct store_t {
    sqlarray_t *columns[COLUMNS];
};

store_t *
store_new (void)
{
    store_t *self = calloc (1, sizeof *self);
    for (int i = 0; self && i < COLUMNS; i++)
        if (!(self->columns[i] = sqlarray_new ()))
            store_destroy (&self);
    return self;
}

void
store_destroy (store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (int i = 0; i < COLUMNS; i++)
        sqlarray_destroy (&(*self_p)->columns[i]);
    free (*self_p);
    *self_p = NULL;
}

int
store_add (store_t *self, const Crm__V1__NotificationRequested *request, const char *correlation_id,
           const char *requested_by, uint64_t request_sequence, int64_t requested_ms)
{
    return sqlarray_text (self->columns[KEY], request->request_key)
         | sqlarray_text (self->columns[RECIPIENT], request->recipient)
         | sqlarray_text (self->columns[TEXT], request->text)
         | sqlarray_text (self->columns[CORRELATION], correlation_id)
         | sqlarray_text (self->columns[REQUESTED_BY], requested_by)
         | sqlarray_i64 (self->columns[SEQUENCE], (int64_t) request_sequence)
         | sqlarray_i64 (self->columns[REQUESTED_MS], requested_ms);
}

void
store_reset (store_t *self)
{
    for (int i = 0; i < COLUMNS; i++)
        sqlarray_reset (self->columns[i]);
}

db_rc_t
store_flush (store_t *self, db_t *db, store_inserted_fn *fn, void *arg)
{
    if (sqlarray_count (self->columns[KEY]) == 0)
        return DB_OK;
    const char *params[COLUMNS];
    for (int i = 0; i < COLUMNS; i++)
        params[i] = sqlarray_str (self->columns[i]);
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "INSERT INTO notification (request_key, recipient, text, correlation_id,"
                          " requested_by, request_sequence, requested_ms)"
                          " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
                          " $5::text[], $6::bigint[], $7::bigint[])"
                          " ON CONFLICT (request_key) DO NOTHING"
                          " RETURNING id, request_key, recipient, requested_by, request_sequence,"
                          " requested_ms, correlation_id",
                          COLUMNS, params, NULL, NULL);
    store_reset (self);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples (res); i++) {
        Crm__V1__NotificationStored stored = CRM__V1__NOTIFICATION_STORED__INIT;
        stored.notification_id = strtoull (PQgetvalue (res, i, 0), NULL, 10);
        stored.request_key = PQgetvalue (res, i, 1);
        stored.recipient = PQgetvalue (res, i, 2);
        stored.requested_by = PQgetvalue (res, i, 3);
        stored.request_sequence = strtoull (PQgetvalue (res, i, 4), NULL, 10);
        stored.requested_ms = strtoll (PQgetvalue (res, i, 5), NULL, 10);
        if (fn (&stored, PQgetvalue (res, i, 6), arg)) {
            rc = DB_PERMANENT;
            break;
        }
    }
    PQclear (res);
    return rc;
}

db_rc_t
store_list (db_t *db, const char *recipient, uint32_t limit, Crm__V1__NotificationList **list_p)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%u", limit);
    const char *params[] = {recipient, lim};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT id, recipient, text, correlation_id, request_key,"
                          " (extract(epoch FROM created_at) * 1000)::bigint, requested_by"
                          " FROM notification WHERE recipient = $1 ORDER BY id DESC LIMIT $2::int",
                          2, params, NULL, NULL);
    if (rc)
        return rc;
    int n = PQntuples (res);
    Crm__V1__NotificationList *list = calloc (1, sizeof *list);
    Crm__V1__Notification **items = calloc ((size_t) n + 1, sizeof *items);
    Crm__V1__Notification *rows = calloc ((size_t) n + 1, sizeof *rows);
    if (!list || !items || !rows) {
        free (list);
        free (items);
        free (rows);
        PQclear (res);
        return DB_PERMANENT;
    }
    crm__v1__notification_list__init (list);
    for (int i = 0; i < n; i++) {
        crm__v1__notification__init (&rows[i]);
        rows[i].id = strtoull (PQgetvalue (res, i, 0), NULL, 10);
        rows[i].recipient = strdup (PQgetvalue (res, i, 1));
        rows[i].text = strdup (PQgetvalue (res, i, 2));
        rows[i].correlation_id = strdup (PQgetvalue (res, i, 3));
        rows[i].request_key = strdup (PQgetvalue (res, i, 4));
        rows[i].created_ms = strtoll (PQgetvalue (res, i, 5), NULL, 10);
        rows[i].requested_by = strdup (PQgetvalue (res, i, 6));
        items[i] = &rows[i];
    }
    if (n == 0)
        free (rows);    // store_list_free finds the rows through items[0]
    list->notifications = items;
    list->n_notifications = (size_t) n;
    PQclear (res);
    *list_p = list;
    return DB_OK;
}

void
store_list_free (Crm__V1__NotificationList *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n_notifications; i++) {
        Crm__V1__Notification *row = list->notifications[i];
        free (row->recipient);
        free (row->text);
        free (row->correlation_id);
        free (row->request_key);
        free (row->requested_by);
    }
    free (list->n_notifications ? list->notifications[0] : NULL);
    free (list->notifications);
    free (list);
}

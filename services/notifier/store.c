/*  store: see store.h. */
#include "store.h"
#include "pgarray.h"
#include "sqlarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY, RECIPIENT, TEXT, CORRELATION, REQUESTED_BY, SEQUENCE, REQUESTED_MS, RULE, EVENT_ID, COLUMNS };
enum { D_NOTIFICATION, D_CHANNEL, D_DESTINATION, D_SECRET, D_COLUMNS };

//  The columns go as binary arrays (pgarray.h): Postgres copies them
//  instead of parsing text literals.
static const pgarray_type_t s_types[COLUMNS] = {
    [KEY] = PGARRAY_TEXT,          [RECIPIENT] = PGARRAY_TEXT,    [TEXT] = PGARRAY_TEXT,
    [CORRELATION] = PGARRAY_TEXT,  [REQUESTED_BY] = PGARRAY_TEXT, [SEQUENCE] = PGARRAY_INT8,
    [REQUESTED_MS] = PGARRAY_INT8, [RULE] = PGARRAY_TEXT,         [EVENT_ID] = PGARRAY_TEXT,
};
static const pgarray_type_t s_dtypes[D_COLUMNS] = {
    [D_NOTIFICATION] = PGARRAY_INT8,
    [D_CHANNEL] = PGARRAY_TEXT,
    [D_DESTINATION] = PGARRAY_TEXT,
    [D_SECRET] = PGARRAY_TEXT,
};

struct store_t {
    const staff_t *staff;
    pgarray_t *columns[COLUMNS];
    pgarray_t *deliveries[D_COLUMNS];
};

store_t *
store_new (const staff_t *staff)
{
    store_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->staff = staff;
    for (int i = 0; self && i < COLUMNS + D_COLUMNS; i++) {
        pgarray_t **column = i < COLUMNS ? &self->columns[i] : &self->deliveries[i - COLUMNS];
        if (!(*column = pgarray_new (i < COLUMNS ? s_types[i] : s_dtypes[i - COLUMNS])))
            store_destroy (&self);
    }
    return self;
}

void
store_destroy (store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (int i = 0; i < COLUMNS; i++)
        pgarray_destroy (&(*self_p)->columns[i]);
    for (int i = 0; i < D_COLUMNS; i++)
        pgarray_destroy (&(*self_p)->deliveries[i]);
    free (*self_p);
    *self_p = NULL;
}

int
store_add (store_t *self, const Crm__V1__NotificationRequested *request, const char *correlation_id,
           const char *requested_by, uint64_t request_sequence, int64_t requested_ms, const char *event_id)
{
    return pgarray_text (self->columns[KEY], request->request_key)
         | pgarray_text (self->columns[RECIPIENT], request->recipient)
         | pgarray_text (self->columns[TEXT], request->text)
         | pgarray_text (self->columns[CORRELATION], correlation_id)
         | pgarray_text (self->columns[REQUESTED_BY], requested_by)
         | pgarray_i64 (self->columns[SEQUENCE], (int64_t) request_sequence)
         | pgarray_i64 (self->columns[REQUESTED_MS], requested_ms)
         | pgarray_text (self->columns[RULE], request->rule)
         | pgarray_text (self->columns[EVENT_ID], event_id);
}

void
store_reset (store_t *self)
{
    for (int i = 0; i < COLUMNS; i++)
        pgarray_reset (self->columns[i]);
    for (int i = 0; i < D_COLUMNS; i++)
        pgarray_reset (self->deliveries[i]);
}

//  Buffers one delivery row per channel of the recipient.
static int
s_channels (store_t *self, uint64_t notification_id, const char *recipient)
{
    const staff_person_t *person = staff_find (self->staff, recipient);
    int rc = 0;
    for (size_t i = 0; person && i < person->n_channels; i++) {
        const staff_channel_t *ch = &person->channels[i];
        char secret[1100] = "";
        if (ch->kind == STAFF_WEBHOOK)
            snprintf (secret, sizeof secret, "%s%s",
                      ch->secret_env ? "env:" : "file:", ch->secret_env ? ch->secret_env : ch->secret_file);
        rc |= pgarray_i64 (self->deliveries[D_NOTIFICATION], (int64_t) notification_id)
            | pgarray_text (self->deliveries[D_CHANNEL], ch->kind == STAFF_WEBHOOK ? "webhook" : "email")
            | pgarray_text (self->deliveries[D_DESTINATION], ch->kind == STAFF_WEBHOOK ? ch->url : ch->to)
            | pgarray_text (self->deliveries[D_SECRET], secret);
    }
    return rc;
}

db_rc_t
store_flush (store_t *self, db_t *db, int64_t now_ms, store_inserted_fn *fn, void *arg, size_t *queued)
{
    if (queued)
        *queued = 0;
    if (pgarray_count (self->columns[KEY]) == 0)
        return DB_OK;
    const char *params[COLUMNS];
    int lengths[COLUMNS], formats[COLUMNS];
    pgarray_params (self->columns, COLUMNS, params, lengths, formats);
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "INSERT INTO notification (request_key, recipient, text, correlation_id,"
                          " requested_by, request_sequence, requested_ms, rule, request_event_id)"
                          " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
                          " $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])"
                          " ON CONFLICT (request_key) DO NOTHING"
                          " RETURNING id, request_key, recipient, requested_by, request_sequence,"
                          " requested_ms, correlation_id, request_event_id",
                          COLUMNS, params, lengths, formats);
    for (int i = 0; i < COLUMNS; i++)
        pgarray_reset (self->columns[i]);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples (res) && rc == DB_OK; i++) {
        Crm__V1__NotificationStored stored = CRM__V1__NOTIFICATION_STORED__INIT;
        stored.notification_id = strtoull (PQgetvalue (res, i, 0), NULL, 10);
        stored.request_key = PQgetvalue (res, i, 1);
        stored.recipient = PQgetvalue (res, i, 2);
        stored.requested_by = PQgetvalue (res, i, 3);
        stored.request_sequence = strtoull (PQgetvalue (res, i, 4), NULL, 10);
        stored.requested_ms = strtoll (PQgetvalue (res, i, 5), NULL, 10);
        if (fn (&stored, PQgetvalue (res, i, 6), PQgetvalue (res, i, 7), arg)
            || s_channels (self, stored.notification_id, stored.recipient))
            rc = DB_PERMANENT;
    }
    PQclear (res);
    size_t count = pgarray_count (self->deliveries[D_NOTIFICATION]);
    if (rc == DB_OK && count > 0) {
        char now[24];
        snprintf (now, sizeof now, "%" PRId64, now_ms);
        const char *dparams[D_COLUMNS + 1];
        int dlengths[D_COLUMNS + 1], dformats[D_COLUMNS + 1];
        pgarray_params (self->deliveries, D_COLUMNS, dparams, dlengths, dformats);
        dparams[D_COLUMNS] = now;
        dlengths[D_COLUMNS] = dformats[D_COLUMNS] = 0;
        rc = db_exec (db, NULL,
                      "INSERT INTO delivery (notification_id, channel, destination, secret_ref, created_ms,"
                      " next_attempt_ms)"
                      " SELECT n, c, d, s, $5::bigint, $5::bigint"
                      " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u (n, c, d, s)"
                      " ON CONFLICT (notification_id, channel, destination) DO NOTHING",
                      D_COLUMNS + 1, dparams, dlengths, dformats);
        if (rc == DB_OK && queued)
            *queued = count;
    }
    for (int i = 0; i < D_COLUMNS; i++)
        pgarray_reset (self->deliveries[i]);
    return rc;
}

//  ---------------------------------------------------------------- reading

struct store_listing_t {
    Crm__V1__NotificationList list;
    Crm__V1__Notification *rows;
    Crm__V1__Notification **ptrs;
    Crm__V1__NotificationDelivery *deliveries;
    Crm__V1__NotificationDelivery **dptrs;
    PGresult *res;
    PGresult *dres;
};

#define COLUMNS_SQL                                                         \
    "SELECT id, recipient, text, correlation_id, request_key,"              \
    " (extract(epoch FROM created_at) * 1000)::bigint, requested_by, rule," \
    " COALESCE((extract(epoch FROM delivered_at) * 1000)::bigint, 0),"      \
    " COALESCE((extract(epoch FROM read_at) * 1000)::bigint, 0) FROM notification"

static const char *const s_list_sql = COLUMNS_SQL " WHERE recipient = $1 ORDER BY id DESC LIMIT $2::int";
static const char *const s_unread_sql =
    COLUMNS_SQL " WHERE recipient = $1 AND read_at IS NULL ORDER BY id DESC LIMIT $2::int";
static const char *const s_one_sql = COLUMNS_SQL " WHERE id = $1";

void
store_listing_free (store_listing_t *listing)
{
    if (!listing)
        return;
    PQclear (listing->res);
    PQclear (listing->dres);
    free (listing->rows);
    free (listing->ptrs);
    free (listing->deliveries);
    free (listing->dptrs);
    free (listing);
}

const Crm__V1__NotificationList *
store_listing_list (const store_listing_t *listing)
{
    return &listing->list;
}

//  Turns the rows of res (COLUMNS_SQL) and their deliveries into a listing.
static db_rc_t
s_listing (db_t *db, PGresult *res, store_listing_t **listing_p)
{
    int n = PQntuples (res);
    store_listing_t *l = calloc (1, sizeof *l);
    sqlarray_t *ids = sqlarray_new ();
    if (!l || !ids || !(l->rows = calloc ((size_t) n + 1, sizeof *l->rows))
        || !(l->ptrs = calloc ((size_t) n + 1, sizeof *l->ptrs))) {
        PQclear (res);
        store_listing_free (l);
        sqlarray_destroy (&ids);
        return DB_PERMANENT;
    }
    l->res = res;
    crm__v1__notification_list__init (&l->list);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        Crm__V1__Notification *row = &l->rows[i];
        crm__v1__notification__init (row);
        row->id = strtoull (PQgetvalue (res, i, 0), NULL, 10);
        row->recipient = PQgetvalue (res, i, 1);
        row->text = PQgetvalue (res, i, 2);
        row->correlation_id = PQgetvalue (res, i, 3);
        row->request_key = PQgetvalue (res, i, 4);
        row->created_ms = strtoll (PQgetvalue (res, i, 5), NULL, 10);
        row->requested_by = PQgetvalue (res, i, 6);
        row->rule = PQgetvalue (res, i, 7);
        row->delivered_ms = strtoll (PQgetvalue (res, i, 8), NULL, 10);
        row->read_ms = strtoll (PQgetvalue (res, i, 9), NULL, 10);
        l->ptrs[i] = row;
        failed |= sqlarray_i64 (ids, (int64_t) row->id);
    }
    l->list.notifications = l->ptrs;
    l->list.n_notifications = (size_t) n;
    const char *params[] = {sqlarray_str (ids)};
    db_rc_t rc = failed
                   ? DB_PERMANENT
                   : db_exec (db, &l->dres,
                              "SELECT notification_id, channel, state, attempts, last_error FROM delivery"
                              " WHERE notification_id = ANY ($1::bigint[]) ORDER BY notification_id DESC, id",
                              1, params, NULL, NULL);
    sqlarray_destroy (&ids);
    int nd = rc == DB_OK ? PQntuples (l->dres) : 0;
    if (rc == DB_OK
        && (!(l->deliveries = calloc ((size_t) nd + 1, sizeof *l->deliveries))
            || !(l->dptrs = calloc ((size_t) nd + 1, sizeof *l->dptrs))))
        rc = DB_PERMANENT;
    if (rc) {
        store_listing_free (l);
        return rc;
    }
    //  Both are in descending notification order: walk them together.
    for (int i = 0, d = 0; i < n; i++) {
        l->rows[i].deliveries = &l->dptrs[d];
        for (; d < nd && strtoull (PQgetvalue (l->dres, d, 0), NULL, 10) == l->rows[i].id; d++) {
            Crm__V1__NotificationDelivery *dv = &l->deliveries[d];
            crm__v1__notification_delivery__init (dv);
            dv->channel = PQgetvalue (l->dres, d, 1);
            dv->state = PQgetvalue (l->dres, d, 2);
            dv->attempts = (uint32_t) strtoul (PQgetvalue (l->dres, d, 3), NULL, 10);
            dv->last_error = PQgetvalue (l->dres, d, 4);
            l->dptrs[d] = dv;
            l->rows[i].n_deliveries++;
        }
    }
    *listing_p = l;
    return DB_OK;
}

db_rc_t
store_list (db_t *db, const char *recipient, bool unread, uint32_t limit, store_listing_t **listing_p)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%u", limit);
    const char *params[] = {recipient, lim};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res, unread ? s_unread_sql : s_list_sql, 2, params, NULL, NULL);
    return rc ? rc : s_listing (db, res, listing_p);
}

db_rc_t
store_mark_read (db_t *db, uint64_t id, const char *reader, store_read_t *outcome,
                 store_listing_t **listing_p)
{
    char idtext[24];
    snprintf (idtext, sizeof idtext, "%" PRIu64, id);
    const char *params[] = {idtext};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res, "SELECT recipient FROM notification WHERE id = $1 FOR UPDATE", 1, params,
                          NULL, NULL);
    if (rc)
        return rc;
    *outcome = PQntuples (res) == 0                         ? STORE_READ_NOT_FOUND
             : strcmp (PQgetvalue (res, 0, 0), reader) != 0 ? STORE_READ_NOT_YOURS
                                                            : STORE_READ_OK;
    PQclear (res);
    if (*outcome != STORE_READ_OK)
        return DB_OK;
    rc = db_exec (db, NULL, "UPDATE notification SET read_at = COALESCE (read_at, now ()) WHERE id = $1", 1,
                  params, NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec (db, &res, s_one_sql, 1, params, NULL, NULL);
    return rc ? rc : s_listing (db, res, listing_p);
}

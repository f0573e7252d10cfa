/*  store: see store.h. */
#include "store.h"
#include "sqlarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What a result set owns besides its messages: the PGresult their strings
//  point into, and per row a block of its own (a task's co-executors, an
//  attachment's unescaped bytes).
struct store_rows_t {
    PGresult *res;
    void *items;            // count messages
    void *ptrs;             // count pointers to them, typed by the caller
    void **blocks;          // count blocks, free()d
    unsigned char **bytes;  // count blocks, PQfreemem()d
    size_t count;
};

static void
s_rows_free (store_rows_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_rows_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free (self->blocks[i]);
        if (self->bytes[i])
            PQfreemem (self->bytes[i]);
    }
    free (self->items);
    free (self->ptrs);
    free (self->blocks);
    free (self->bytes);
    PQclear (self->res);
    free (self);
    *self_p = NULL;
}

//  Takes res (also on failure) and makes room for its rows as messages of
//  item_size bytes, zeroed, and for as many pointers to them (ptrs, filled
//  by the caller, NULL-terminated). NULL on out-of-memory.
static store_rows_t *
s_rows_new (PGresult *res, size_t item_size)
{
    store_rows_t *self = calloc (1, sizeof *self);
    if (!self) {
        PQclear (res);
        return NULL;
    }
    self->res = res;
    size_t n = (size_t) PQntuples (res);
    self->items = calloc (n + 1, item_size);
    //  Room for n + 1 pointers to structures (C11 6.2.5p28: they share one
    //  representation); the caller stores its typed pointers into it.
    self->ptrs = calloc (n + 1, sizeof (struct store_rows_t *));
    self->blocks = calloc (n + 1, sizeof *self->blocks);
    self->bytes = calloc (n + 1, sizeof *self->bytes);
    if (!self->items || !self->ptrs || !self->blocks || !self->bytes) {
        s_rows_free (&self);
        return NULL;
    }
    self->count = n;
    return self;
}

static char *
s_value (const store_rows_t *rows, size_t row, int column)
{
    return PQgetvalue (rows->res, (int) row, column);
}

static int64_t
s_i64 (const store_rows_t *rows, size_t row, int column)
{
    return strtoll (s_value (rows, row, column), NULL, 10);
}

static const char *
s_u64 (char *buf, size_t size, uint64_t value)
{
    snprintf (buf, size, "%" PRIu64, value);
    return buf;
}

//  Splits "a b c" (logins never hold spaces) into a NULL-terminated array
//  that shares one block with its strings (*block, free()d by the caller).
static char **
s_split (const char *joined, size_t *n, void **block)
{
    size_t words = *joined ? 1 : 0, len = strlen (joined);
    for (const char *p = joined; *p; p++)
        words += *p == ' ';
    char **list = malloc ((words + 1) * sizeof *list + len + 1);
    if (!list)
        return NULL;
    char *text = (char *) (list + words + 1);
    memcpy (text, joined, len + 1);
    size_t k = 0;
    for (char *save = NULL, *w = strtok_r (text, " ", &save); w && k < words; w = strtok_r (NULL, " ", &save))
        list[k++] = w;
    list[k] = NULL;
    *n = k;
    *block = list;
    return list;
}

//  --------------------------------------------------------------------------
//  Tasks

#define TASK_COLUMNS                                                                               \
    "id, title, description, record, creator, responsible, array_to_string(coexecutors, ' '),"     \
    " coalesce(deadline_ms, 0), tag, status, (extract(epoch FROM created_at) * 1000)::bigint,"     \
    " coalesce((extract(epoch FROM completed_at) * 1000)::bigint, 0), coalesce(completed_by, '')," \
    " request_key, rule"

//  Fills message i of rows (at item, zeroed) from row i of the result and
//  stores its pointer in rows->ptrs. 0, or -1 on out-of-memory.
typedef int (s_fill_fn) (store_rows_t *rows, size_t i, void *item);

//  Takes res and reads its rows into a new listing of item_size messages,
//  each filled by fill; the caller points the listing's typed member at
//  rows->ptrs. DB_OK with *list_p owned by the caller, or DB_PERMANENT
//  (out of memory).
static db_rc_t
s_list (PGresult *res, size_t item_size, s_fill_fn *fill, store_list_t **list_p)
{
    store_list_t *list = calloc (1, sizeof *list);
    store_rows_t *rows = s_rows_new (res, item_size);
    if (!list || !rows) {
        free (list);
        s_rows_free (&rows);
        return DB_PERMANENT;
    }
    list->rows = rows;
    list->count = rows->count;
    for (size_t i = 0; i < rows->count; i++)
        if (fill (rows, i, (char *) rows->items + i * item_size)) {
            store_list_free (&list);
            return DB_PERMANENT;
        }
    *list_p = list;
    return DB_OK;
}

void
store_list_free (store_list_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_rows_free (&(*self_p)->rows);
    free (*self_p);
    *self_p = NULL;
}

static int
s_task (store_rows_t *rows, size_t i, void *item)
{
    Crm__V1__Task *t = ((Crm__V1__Task **) rows->ptrs)[i] = item;
    crm__v1__task__init (t);
    t->id = strtoull (s_value (rows, i, 0), NULL, 10);
    t->title = s_value (rows, i, 1);
    t->description = s_value (rows, i, 2);
    t->record = s_value (rows, i, 3);
    t->creator = s_value (rows, i, 4);
    t->responsible = s_value (rows, i, 5);
    t->coexecutors = s_split (s_value (rows, i, 6), &t->n_coexecutors, &rows->blocks[i]);
    if (!t->coexecutors) {
        t->n_coexecutors = 0;
        return -1;
    }
    t->deadline_ms = s_i64 (rows, i, 7);
    t->tag = s_value (rows, i, 8);
    t->status = s_value (rows, i, 9);
    t->created_ms = s_i64 (rows, i, 10);
    t->completed_ms = s_i64 (rows, i, 11);
    t->completed_by = s_value (rows, i, 12);
    t->request_key = s_value (rows, i, 13);
    t->rule = s_value (rows, i, 14);
    return 0;
}

static db_rc_t
s_tasks (PGresult *res, store_tasks_t **tasks_p)
{
    db_rc_t rc = s_list (res, sizeof (Crm__V1__Task), s_task, tasks_p);
    if (rc == DB_OK)
        (*tasks_p)->tasks = (*tasks_p)->rows->ptrs;
    return rc;
}

//  The task asked for with request key (non-empty): sets *found and *id.
static db_rc_t
s_task_of_request (db_t *db, const char *key, bool *found, uint64_t *id)
{
    PGresult *res;
    db_rc_t rc = db_exec (db, &res, "SELECT id FROM task WHERE request_key = $1 AND request_key <> ''", 1,
                          (const char *[]){key}, NULL, NULL);
    if (rc)
        return rc;
    *found = PQntuples (res) == 1;
    if (*found)
        *id = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return DB_OK;
}

db_rc_t
store_task_insert (db_t *db, const task_spec_t *spec, uint64_t *id, bool *created)
{
    //  Looked up first: an INSERT that conflicts still takes an id from the
    //  sequence, and people would wonder where task 4 went.
    bool found = false;
    db_rc_t rc = *spec->request_key ? s_task_of_request (db, spec->request_key, &found, id) : DB_OK;
    *created = false;
    if (rc || found)
        return rc;
    sqlarray_t *coexecutors = sqlarray_new ();
    if (!coexecutors)
        return DB_PERMANENT;
    int oom = 0;
    for (size_t i = 0; i < spec->n_coexecutors; i++)
        oom |= sqlarray_text (coexecutors, spec->coexecutors[i]);
    if (oom) {
        sqlarray_destroy (&coexecutors);
        return DB_PERMANENT;
    }
    char deadline[24];
    snprintf (deadline, sizeof deadline, "%" PRId64, spec->deadline_ms);
    const char *params[] = {spec->request_key, spec->title,       spec->description,          spec->record,
                            spec->creator,     spec->responsible, sqlarray_str (coexecutors), deadline,
                            spec->tag,         spec->rule};
    PGresult *res;
    rc = db_exec (db, &res,
                  "INSERT INTO task (request_key, title, description, record, creator, responsible,"
                  " coexecutors, deadline_ms, tag, rule)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7::text[], nullif($8::bigint, 0), $9, $10)"
                  " ON CONFLICT (request_key) WHERE request_key <> '' DO NOTHING RETURNING id",
                  10, params, NULL, NULL);
    sqlarray_destroy (&coexecutors);
    if (rc)
        return rc;
    *created = PQntuples (res) == 1;
    if (*created)
        *id = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    if (!*created)  // inserted meanwhile by another instance
        rc = s_task_of_request (db, spec->request_key, &found, id);
    return rc == DB_OK && !*created && !found ? DB_PERMANENT : rc;
}

db_rc_t
store_task_get (db_t *db, uint64_t id, bool lock, store_tasks_t **tasks_p)
{
    char idbuf[24];
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id)};
    PGresult *res;
    db_rc_t rc =
        lock ? db_exec (db, &res, "SELECT " TASK_COLUMNS " FROM task WHERE id = $1 FOR UPDATE", 1, params,
                        NULL, NULL)
             : db_exec (db, &res, "SELECT " TASK_COLUMNS " FROM task WHERE id = $1", 1, params, NULL, NULL);
    return rc ? rc : s_tasks (res, tasks_p);
}

db_rc_t
store_task_list (db_t *db, const char *user, bool open_only, const char *record, uint32_t limit,
                 store_tasks_t **tasks_p)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%u", limit);
    const char *params[] = {user, open_only ? "true" : "false", record, lim};
    PGresult *res;
    db_rc_t rc;
    //  Two statements, so that each has a plan that uses its indexes.
    if (*user)
        rc = db_exec (db, &res,
                      "SELECT " TASK_COLUMNS " FROM task"
                      " WHERE (responsible = $1 OR coexecutors @> ARRAY[$1]::text[])"
                      " AND (NOT $2::boolean OR status = 'open') AND ($3 = '' OR record = $3)"
                      " ORDER BY id DESC LIMIT $4::int",
                      4, params, NULL, NULL);
    else
        rc = db_exec (db, &res,
                      "SELECT " TASK_COLUMNS " FROM task"
                      " WHERE $1 = '' AND (NOT $2::boolean OR status = 'open') AND ($3 = '' OR record = $3)"
                      " ORDER BY id DESC LIMIT $4::int",
                      4, params, NULL, NULL);
    return rc ? rc : s_tasks (res, tasks_p);
}

db_rc_t
store_task_complete (db_t *db, uint64_t id, const char *by, bool *done, int64_t *completed_ms)
{
    char idbuf[24];
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id), by};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "UPDATE task SET status = 'completed', completed_at = now(), completed_by = $2"
                          " WHERE id = $1 AND status = 'open'"
                          " RETURNING (extract(epoch FROM completed_at) * 1000)::bigint",
                          2, params, NULL, NULL);
    if (rc)
        return rc;
    *done = PQntuples (res) == 1;
    *completed_ms = *done ? strtoll (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    return DB_OK;
}

//  --------------------------------------------------------------------------
//  Comments and attachments

db_rc_t
store_comment_add (db_t *db, uint64_t id, const char *author, const char *text)
{
    char idbuf[24];
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id), author, text};
    return db_exec (db, NULL, "INSERT INTO task_comment (task_id, author, text) VALUES ($1, $2, $3)", 3,
                    params, NULL, NULL);
}

static int
s_comment (store_rows_t *rows, size_t i, void *item)
{
    Crm__V1__Comment *c = ((Crm__V1__Comment **) rows->ptrs)[i] = item;
    crm__v1__comment__init (c);
    c->author = s_value (rows, i, 0);
    c->text = s_value (rows, i, 1);
    c->created_ms = s_i64 (rows, i, 2);
    return 0;
}

db_rc_t
store_comments (db_t *db, uint64_t id, store_comments_t **comments_p)
{
    char idbuf[24];
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id)};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT author, text, (extract(epoch FROM created_at) * 1000)::bigint"
                          " FROM task_comment WHERE task_id = $1 ORDER BY id",
                          1, params, NULL, NULL);
    if (rc)
        return rc;
    rc = s_list (res, sizeof (Crm__V1__Comment), s_comment, comments_p);
    if (rc == DB_OK)
        (*comments_p)->comments = (*comments_p)->rows->ptrs;
    return rc;
}

db_rc_t
store_attachment_add (db_t *db, uint64_t id, const Crm__V1__AttachmentData *attachment, const char *sha256,
                      const char *added_by)
{
    char idbuf[24], size[24];
    snprintf (size, sizeof size, "%zu", attachment->data.len);
    //  The bytes go as a binary parameter: no escaping, no doubling in size.
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id),
                            attachment->name,
                            attachment->content_type,
                            size,
                            sha256,
                            attachment->data.data ? (const char *) attachment->data.data : "",
                            added_by};
    int lengths[] = {0, 0, 0, 0, 0, (int) attachment->data.len, 0};
    int formats[] = {0, 0, 0, 0, 0, 1, 0};
    return db_exec (db, NULL,
                    "INSERT INTO task_attachment (task_id, name, content_type, size, sha256, data, added_by)"
                    " VALUES ($1, $2, coalesce(nullif($3, ''), 'application/octet-stream'), $4, $5, $6, $7)",
                    7, params, lengths, formats);
}

//  An attachment's row (columns: name, content_type, size, sha256,
//  added_by, added ms).
static int
s_attachment (store_rows_t *rows, size_t i, void *item)
{
    Crm__V1__Attachment *a = ((Crm__V1__Attachment **) rows->ptrs)[i] = item;
    crm__v1__attachment__init (a);
    a->name = s_value (rows, i, 0);
    a->content_type = s_value (rows, i, 1);
    a->size = strtoull (s_value (rows, i, 2), NULL, 10);
    a->sha256 = s_value (rows, i, 3);
    a->added_by = s_value (rows, i, 4);
    a->added_ms = s_i64 (rows, i, 5);
    return 0;
}

//  The same with the bytes (column 6, escaped).
static int
s_attachment_data (store_rows_t *rows, size_t i, void *item)
{
    Crm__V1__Attachment *a = item;
    s_attachment (rows, i, item);
    size_t len = 0;
    rows->bytes[i] = PQunescapeBytea ((const unsigned char *) s_value (rows, i, 6), &len);
    if (!rows->bytes[i])
        return -1;
    a->data.data = rows->bytes[i];
    a->data.len = len;
    return 0;
}

//  Fills attachments from res (with_data: with the bytes).
static db_rc_t
s_attachments (PGresult *res, bool with_data, store_attachments_t **attachments_p)
{
    db_rc_t rc = s_list (res, sizeof (Crm__V1__Attachment), with_data ? s_attachment_data : s_attachment,
                         attachments_p);
    if (rc == DB_OK)
        (*attachments_p)->attachments = (*attachments_p)->rows->ptrs;
    return rc;
}

db_rc_t
store_attachments (db_t *db, uint64_t id, store_attachments_t **attachments_p)
{
    char idbuf[24];
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id)};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT name, content_type, size, sha256, added_by,"
                          " (extract(epoch FROM added_at) * 1000)::bigint"
                          " FROM task_attachment WHERE task_id = $1 ORDER BY name",
                          1, params, NULL, NULL);
    return rc ? rc : s_attachments (res, false, attachments_p);
}

db_rc_t
store_attachment_get (db_t *db, uint64_t id, const char *name, store_attachments_t **attachments_p)
{
    char idbuf[24];
    const char *params[] = {s_u64 (idbuf, sizeof idbuf, id), name};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT name, content_type, size, sha256, added_by,"
                          " (extract(epoch FROM added_at) * 1000)::bigint, data"
                          " FROM task_attachment WHERE task_id = $1 AND name = $2",
                          2, params, NULL, NULL);
    return rc ? rc : s_attachments (res, true, attachments_p);
}

//  --------------------------------------------------------------------------
//  Activities

db_rc_t
store_activity_upsert (db_t *db, const Crm__V1__ActivityRequested *request)
{
    char at[24];
    snprintf (at, sizeof at, "%" PRId64, request->at_ms);
    const char *params[] = {request->request_key, request->title, request->record, request->responsible, at,
                            request->rule};
    return db_exec (db, NULL,
                    "INSERT INTO activity (request_key, title, record, responsible, at_ms, status, rule)"
                    " VALUES ($1, $2, $3, $4, $5, 'planned', $6)"
                    " ON CONFLICT (request_key) DO UPDATE SET title = EXCLUDED.title,"
                    " record = EXCLUDED.record, responsible = EXCLUDED.responsible, at_ms = EXCLUDED.at_ms,"
                    " status = 'planned', rule = EXCLUDED.rule, updated_at = now()",
                    6, params, NULL, NULL);
}

db_rc_t
store_activity_cancel (db_t *db, const char *key, bool *cancelled)
{
    const char *params[] = {key};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "UPDATE activity SET status = 'cancelled', updated_at = now()"
                          " WHERE request_key = $1 AND status = 'planned'",
                          1, params, NULL, NULL);
    if (rc)
        return rc;
    *cancelled = atoi (PQcmdTuples (res)) == 1;
    PQclear (res);
    return DB_OK;
}

static int
s_activity (store_rows_t *rows, size_t i, void *item)
{
    Crm__V1__Activity *a = ((Crm__V1__Activity **) rows->ptrs)[i] = item;
    crm__v1__activity__init (a);
    a->id = strtoull (s_value (rows, i, 0), NULL, 10);
    a->title = s_value (rows, i, 1);
    a->record = s_value (rows, i, 2);
    a->responsible = s_value (rows, i, 3);
    a->at_ms = s_i64 (rows, i, 4);
    a->status = s_value (rows, i, 5);
    a->request_key = s_value (rows, i, 6);
    a->rule = s_value (rows, i, 7);
    return 0;
}

db_rc_t
store_activity_list (db_t *db, const char *user, bool include_done, uint32_t limit,
                     store_activities_t **activities_p)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%u", limit);
    const char *params[] = {user, include_done ? "true" : "false", lim};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "SELECT id, title, record, responsible, at_ms, status, request_key, rule"
                          " FROM activity WHERE responsible = $1 AND ($2::boolean OR status = 'planned')"
                          " ORDER BY at_ms, id LIMIT $3::int",
                          3, params, NULL, NULL);
    if (rc)
        return rc;
    rc = s_list (res, sizeof (Crm__V1__Activity), s_activity, activities_p);
    if (rc == DB_OK)
        (*activities_p)->activities = (*activities_p)->rows->ptrs;
    return rc;
}

/*  store: see store.h. */
#include "store.h"
#include "sqlarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  ms since the epoch <-> timestamptz, exactly (no float on the way).
#define MS(column) "(extract (epoch FROM " column ") * 1000)::bigint"
#define TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

static const char *
s_u64 (char *buf, uint64_t value)
{
    snprintf (buf, 24, "%" PRIu64, value);
    return buf;
}

static const char *
s_i64 (char *buf, int64_t value)
{
    snprintf (buf, 24, "%" PRId64, value);
    return buf;
}

//  ---------------------------------------------------------------- one deal

db_rc_t
store_deal_open (db_t *db, const Crm__V1__LeadConverted *converted, const char *pipeline, const char *stage,
                 const char *title, uint64_t *id)
{
    const Crm__V1__LeadReceived *lead = converted->lead;
    char lead_id[24], contact_id[24], company_id[24];
    const char *params[] = {s_u64 (lead_id, converted->lead_id),
                            s_u64 (contact_id, converted->contact_id),
                            s_u64 (company_id, converted->company_id),
                            pipeline,
                            stage,
                            converted->responsible,
                            title,
                            lead ? lead->name : "",
                            lead ? lead->phone : "",
                            lead ? lead->email : "",
                            lead ? lead->company : "",
                            lead ? lead->comment : ""};
    PGresult *res;
    //  Looked for first, so that a lead converted again spends no id.
    db_rc_t rc = db_exec (db, &res,
                          "INSERT INTO deal (lead_id, contact_id, company_id, pipeline, stage, responsible,"
                          " title, name, phone, email, company, comment)"
                          " SELECT $1, nullif ($2::bigint, 0), nullif ($3::bigint, 0), $4, $5, $6, $7, $8,"
                          " $9, $10, $11, $12 WHERE NOT EXISTS (SELECT 1 FROM deal WHERE lead_id = $1)"
                          " ON CONFLICT (lead_id) DO NOTHING RETURNING id",
                          12, params, NULL, NULL);
    if (rc)
        return rc;
    *id = PQntuples (res) == 1 ? strtoull (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    return DB_OK;
}

//  The deal's built-in attributes, in record.h's order.
#define BUILTINS(deal)                                                               \
    (const char *const[RECORD_BUILTINS])                                             \
    {                                                                                \
        (deal)->name, (deal)->phone, (deal)->email, (deal)->company, (deal)->comment \
    }

int
store_deal_new (store_deal_t *deal, uint64_t id, const Crm__V1__LeadConverted *converted, const char *title)
{
    const Crm__V1__LeadReceived *lead = converted->lead;
    memset (deal, 0, sizeof *deal);
    deal->lead_id = converted->lead_id;
    deal->contact_id = converted->contact_id;
    deal->company_id = converted->company_id;
    deal->pipeline = converted->pipeline;
    deal->stage = "";
    deal->responsible = converted->responsible;
    deal->title = title;
    deal->name = lead ? lead->name : "";
    deal->phone = lead ? lead->phone : "";
    deal->email = lead ? lead->email : "";
    deal->company = lead ? lead->company : "";
    deal->comment = lead ? lead->comment : "";
    if (record_data_new (&deal->data, BUILTINS (deal)))
        return -1;
    deal->id = id;
    return 0;
}

enum {
    D_LEAD,
    D_CONTACT,
    D_COMPANY_ID,
    D_PIPELINE,
    D_STAGE,
    D_RESPONSIBLE,
    D_TITLE,
    D_NAME,
    D_PHONE,
    D_EMAIL,
    D_COMPANY,
    D_COMMENT,
    D_VERSION,
    D_ENTERED,
    D_CREATED,
    D_UPDATED
};

#define DEAL_COLUMNS                                                                                    \
    "SELECT lead_id, coalesce (contact_id, 0), coalesce (company_id, 0), pipeline, stage, responsible," \
    " title, name, phone, email, company, comment, version, " MS ("entered_at") ", " MS (               \
        "created_at") ", " MS ("updated_at") " FROM deal WHERE id = $1"

//  The deal's field values and its tasks by tag (record_data_load).
#define DEAL_FIELDS "SELECT key, value FROM deal, jsonb_each_text (fields) WHERE id = $1 ORDER BY key"
#define DEAL_TAGS                                                            \
    "SELECT tag, count(*), count(*) FILTER (WHERE completed) FROM deal_task" \
    " WHERE deal_id = $1 GROUP BY tag ORDER BY tag"

db_rc_t
store_deal_load (db_t *db, uint64_t id, bool for_update, store_deal_t *deal)
{
    memset (deal, 0, sizeof *deal);
    char id_text[24];
    const char *params[] = {s_u64 (id_text, id)};
    db_rc_t rc = db_exec (db, &deal->row, for_update ? DEAL_COLUMNS " FOR UPDATE" : DEAL_COLUMNS, 1, params,
                          NULL, NULL);
    if (rc || PQntuples (deal->row) != 1)
        return rc;
    PGresult *r = deal->row;
    deal->lead_id = strtoull (PQgetvalue (r, 0, D_LEAD), NULL, 10);
    deal->contact_id = strtoull (PQgetvalue (r, 0, D_CONTACT), NULL, 10);
    deal->company_id = strtoull (PQgetvalue (r, 0, D_COMPANY_ID), NULL, 10);
    deal->pipeline = PQgetvalue (r, 0, D_PIPELINE);
    deal->stage = PQgetvalue (r, 0, D_STAGE);
    deal->responsible = PQgetvalue (r, 0, D_RESPONSIBLE);
    deal->title = PQgetvalue (r, 0, D_TITLE);
    deal->name = PQgetvalue (r, 0, D_NAME);
    deal->phone = PQgetvalue (r, 0, D_PHONE);
    deal->email = PQgetvalue (r, 0, D_EMAIL);
    deal->company = PQgetvalue (r, 0, D_COMPANY);
    deal->comment = PQgetvalue (r, 0, D_COMMENT);
    deal->version = (uint32_t) strtoul (PQgetvalue (r, 0, D_VERSION), NULL, 10);
    deal->entered_ms = strtoll (PQgetvalue (r, 0, D_ENTERED), NULL, 10);
    deal->created_ms = strtoll (PQgetvalue (r, 0, D_CREATED), NULL, 10);
    deal->updated_ms = strtoll (PQgetvalue (r, 0, D_UPDATED), NULL, 10);

    rc = record_data_load (&deal->data, db, id_text, DEAL_FIELDS, DEAL_TAGS, BUILTINS (deal));
    if (rc)
        return rc;
    deal->id = id;
    return DB_OK;
}

void
store_deal_free (store_deal_t *deal)
{
    PQclear (deal->row);
    record_data_free (&deal->data);
    memset (deal, 0, sizeof *deal);
}

db_rc_t
store_deal_save (db_t *db, uint64_t id, const char *stage, const engine_value_t *values, size_t n,
                 int64_t entered_ms, uint32_t version)
{
    sqlarray_t *names = sqlarray_new ();
    sqlarray_t *texts = sqlarray_new ();
    db_rc_t rc = names && texts ? DB_OK : DB_PERMANENT;
    for (size_t i = 0; rc == DB_OK && i < n; i++)
        if (sqlarray_text (names, values[i].name) || sqlarray_text (texts, values[i].value))
            rc = DB_PERMANENT;
    if (rc == DB_OK) {
        char id_text[24], entered[24], version_text[24];
        const char *params[] = {s_u64 (id_text, id),         stage,
                                sqlarray_str (names),        sqlarray_str (texts),
                                s_i64 (entered, entered_ms), s_u64 (version_text, version)};
        rc = db_exec (db, NULL,
                      "UPDATE deal SET stage = $2, fields = jsonb_object ($3::text[], $4::text[]),"
                      " entered_at = " TS ("$5") ", version = $6, updated_at = now () WHERE id = $1",
                      6, params, NULL, NULL);
    }
    sqlarray_destroy (&names);
    sqlarray_destroy (&texts);
    return rc;
}

db_rc_t
store_history_add (db_t *db, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n)
{
    if (n == 0)
        return DB_OK;
    sqlarray_t *columns[4] = {sqlarray_new (), sqlarray_new (), sqlarray_new (), sqlarray_new ()};
    db_rc_t rc = DB_OK;
    for (int c = 0; c < 4; c++)
        if (!columns[c])
            rc = DB_PERMANENT;
    for (size_t i = 0; rc == DB_OK && i < n; i++)
        if (sqlarray_text (columns[0], lines[i].actor) || sqlarray_text (columns[1], lines[i].rule)
            || sqlarray_text (columns[2], lines[i].action) || sqlarray_text (columns[3], lines[i].detail))
            rc = DB_PERMANENT;
    if (rc == DB_OK) {
        char id_text[24], at[24];
        const char *params[] = {s_u64 (id_text, id),       s_i64 (at, at_ms),
                                sqlarray_str (columns[0]), sqlarray_str (columns[1]),
                                sqlarray_str (columns[2]), sqlarray_str (columns[3])};
        rc = db_exec (db, NULL,
                      "INSERT INTO deal_history (deal_id, at, actor, rule, action, detail)"
                      " SELECT $1, " TS ("$2") ", actor, coalesce (rule, ''), action, coalesce (detail, '')"
                                               " FROM unnest ($3::text[], $4::text[], $5::text[], $6::text[])"
                                               " WITH ORDINALITY AS u (actor, rule, action, detail, ord)"
                                               " ORDER BY ord",
                      6, params, NULL, NULL);
    }
    for (int c = 0; c < 4; c++)
        sqlarray_destroy (&columns[c]);
    return rc;
}

db_rc_t
store_history_list (db_t *db, uint64_t id, PGresult **res)
{
    char id_text[24];
    const char *params[] = {s_u64 (id_text, id)};
    return db_exec (db, res,
                    "SELECT " MS ("at") ", actor, rule, action, detail FROM deal_history"
                                        " WHERE deal_id = $1 ORDER BY id",
                    1, params, NULL, NULL);
}

//  ---------------------------------------------------------------- tasks

db_rc_t
store_task_requested (db_t *db, const char *request_key, uint64_t deal_id, const char *tag, const char *title,
                      const char *responsible, const char *rule)
{
    char id_text[24];
    const char *params[] = {request_key,        s_u64 (id_text, deal_id),       tag ? tag : "",
                            title ? title : "", responsible ? responsible : "", rule ? rule : ""};
    return db_exec (db, NULL,
                    "INSERT INTO deal_task (request_key, deal_id, tag, title, responsible, rule)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_key) DO NOTHING",
                    6, params, NULL, NULL);
}

db_rc_t
store_task_update (db_t *db, uint64_t deal_id, const Crm__V1__TaskCreated *task, bool completed)
{
    char id_text[24], task_text[24], key[48];
    const char *params[] = {record_task_key (task->request_key, task->task_id, key, sizeof key),
                            s_u64 (id_text, deal_id),
                            task->tag,
                            s_u64 (task_text, task->task_id),
                            task->title,
                            task->responsible,
                            completed ? "t" : "f"};
    return db_exec (
        db, NULL,
        "INSERT INTO deal_task (request_key, deal_id, tag, task_id, title, responsible, completed)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (request_key) DO UPDATE"
        " SET task_id = EXCLUDED.task_id,"
        " title = coalesce (nullif (EXCLUDED.title, ''), deal_task.title),"
        " responsible = coalesce (nullif (EXCLUDED.responsible, ''), deal_task.responsible),"
        " completed = deal_task.completed OR EXCLUDED.completed",
        7, params, NULL, NULL);
}

db_rc_t
store_task_list (db_t *db, uint64_t id, PGresult **res)
{
    char id_text[24];
    const char *params[] = {s_u64 (id_text, id)};
    return db_exec (db, res,
                    "SELECT request_key, coalesce (task_id, 0), tag, title, responsible, completed, rule"
                    " FROM deal_task WHERE deal_id = $1 ORDER BY created_at, task_id NULLS LAST, request_key",
                    1, params, NULL, NULL);
}

//  ---------------------------------------------------------------- timers

db_rc_t
store_timer_set (db_t *db, const char *key, uint64_t deal_id, const char *timer, int64_t due_ms)
{
    char id_text[24], due[24];
    const char *params[] = {key, s_u64 (id_text, deal_id), timer, s_i64 (due, due_ms)};
    return db_exec (db, NULL,
                    "INSERT INTO deal_timer (key, deal_id, timer, due_ms) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (key) DO UPDATE SET due_ms = EXCLUDED.due_ms",
                    4, params, NULL, NULL);
}

db_rc_t
store_timer_gone (db_t *db, const char *key, int64_t due_ms)
{
    char due[24];
    const char *params[] = {key, s_i64 (due, due_ms)};
    return db_exec (db, NULL, "DELETE FROM deal_timer WHERE key = $1 AND ($2::bigint < 0 OR due_ms = $2)", 2,
                    params, NULL, NULL);
}

db_rc_t
store_timer_list (db_t *db, uint64_t id, PGresult **res)
{
    char id_text[24];
    const char *params[] = {s_u64 (id_text, id)};
    return db_exec (db, res,
                    "SELECT key, timer, due_ms FROM deal_timer WHERE deal_id = $1 ORDER BY due_ms, key", 1,
                    params, NULL, NULL);
}

//  ---------------------------------------------------------------- lists

db_rc_t
store_list_deals (db_t *db, const char *stage, const char *user, uint32_t limit, PGresult **res)
{
    char limit_text[24];
    const char *params[] = {stage, user, s_u64 (limit_text, limit)};
    return db_exec (db, res,
                    "SELECT id, title, stage, responsible, version, " MS (
                        "updated_at") ", lead_id FROM deal WHERE ($1 = '' OR stage = $1)"
                                      " AND ($2 = '' OR responsible = $2) ORDER BY id DESC LIMIT $3",
                    3, params, NULL, NULL);
}

/*  store: see store.h (the batch of new leads is in store_batch.c). */
#include "store.h"
#include "store_private.h"
#include "lead.h"
#include "rowset.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The values as a JSON object's text ({"name":"value",...}), built by
//  json-c: malloc'ed, or NULL on out-of-memory.
char *
store_json_object (const engine_value_t *values, size_t n)
{
    json_object *object = json_object_new_object ();
    bool ok = object != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        json_object *value = json_object_new_string (values[i].value);
        ok = value && json_object_object_add (object, values[i].name, value) == 0;
        if (!ok)
            json_object_put (value);
    }
    const char *text =
        ok ? json_object_to_json_string_ext (object, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
           : NULL;
    char *copy = text ? strdup (text) : NULL;
    json_object_put (object);
    return copy;
}

//  Appends n history lines of lead id, all at at_ms, to rows.
int
store_history_rows (rowset_t *rows, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n)
{
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        err |= rowset_row (rows);
        err |= rowset_i64 (rows, "lead", (int64_t) id);
        err |= rowset_i64 (rows, "at", at_ms);
        err |= rowset_text (rows, "actor", lines[i].actor);
        err |= rowset_text (rows, "rule", lines[i].rule ? lines[i].rule : "");
        err |= rowset_text (rows, "action", lines[i].action);
        err |= rowset_text (rows, "detail", lines[i].detail ? lines[i].detail : "");
    }
    return err ? -1 : 0;
}

//  ---------------------------------------------------------------- one lead

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

enum {
    L_SOURCE_SYSTEM,
    L_EXTERNAL_ID,
    L_NAME,
    L_PHONE,
    L_EMAIL,
    L_COMPANY,
    L_COMMENT,
    L_RESPONSIBLE,
    L_STAGE,
    L_VERSION,
    L_ENTERED,
    L_CREATED,
    L_UPDATED,
    L_CONTACT,
    L_COMPANY_ID
};

//  The lead's built-in attributes, in record.h's order.
#define BUILTINS(lead)                                                               \
    (const char *const[RECORD_BUILTINS])                                             \
    {                                                                                \
        (lead)->name, (lead)->phone, (lead)->email, (lead)->company, (lead)->comment \
    }

int
store_lead_new (store_lead_t *lead, uint64_t id, const Crm__V1__LeadReceived *received)
{
    memset (lead, 0, sizeof *lead);
    lead->source_system = received->source_system;
    lead->external_id = received->external_id;
    lead->name = received->name;
    lead->phone = received->phone;
    lead->email = received->email;
    lead->company = received->company;
    lead->comment = received->comment;
    lead->responsible = received->responsible;
    lead->stage = "";
    if (record_data_new (&lead->data, BUILTINS (lead)))
        return -1;
    lead->id = id;
    return 0;
}

#define LEAD_COLUMNS                                                                               \
    "SELECT source_system, external_id, name, phone, email, company, comment, responsible, stage," \
    " version, " MS ("entered_at") ", " MS ("created_at") ", " MS (                                \
        "updated_at") ","                                                                          \
                      " coalesce (contact_id, 0), coalesce (company_id, 0) FROM lead WHERE id = $1"

//  The lead's field values and its tasks by tag (record_data_load).
#define LEAD_FIELDS "SELECT key, value FROM lead, jsonb_each_text (fields) WHERE id = $1 ORDER BY key"
#define LEAD_TAGS                                                            \
    "SELECT tag, count(*), count(*) FILTER (WHERE completed) FROM lead_task" \
    " WHERE lead_id = $1 GROUP BY tag ORDER BY tag"

db_rc_t
store_lead_load (db_t *db, uint64_t id, bool for_update, store_lead_t *lead)
{
    memset (lead, 0, sizeof *lead);
    char id_text[24];
    const char *params[] = {s_u64 (id_text, id)};
    db_rc_t rc = db_exec (db, &lead->row, for_update ? LEAD_COLUMNS " FOR UPDATE" : LEAD_COLUMNS, 1, params,
                          NULL, NULL);
    if (rc || PQntuples (lead->row) != 1)
        return rc;
    PGresult *r = lead->row;
    lead->source_system = PQgetvalue (r, 0, L_SOURCE_SYSTEM);
    lead->external_id = PQgetvalue (r, 0, L_EXTERNAL_ID);
    lead->name = PQgetvalue (r, 0, L_NAME);
    lead->phone = PQgetvalue (r, 0, L_PHONE);
    lead->email = PQgetvalue (r, 0, L_EMAIL);
    lead->company = PQgetvalue (r, 0, L_COMPANY);
    lead->comment = PQgetvalue (r, 0, L_COMMENT);
    lead->responsible = PQgetvalue (r, 0, L_RESPONSIBLE);
    lead->stage = PQgetvalue (r, 0, L_STAGE);
    lead->version = (uint32_t) strtoul (PQgetvalue (r, 0, L_VERSION), NULL, 10);
    lead->entered_ms = strtoll (PQgetvalue (r, 0, L_ENTERED), NULL, 10);
    lead->created_ms = strtoll (PQgetvalue (r, 0, L_CREATED), NULL, 10);
    lead->updated_ms = strtoll (PQgetvalue (r, 0, L_UPDATED), NULL, 10);
    lead->contact_id = strtoull (PQgetvalue (r, 0, L_CONTACT), NULL, 10);
    lead->company_id = strtoull (PQgetvalue (r, 0, L_COMPANY_ID), NULL, 10);

    rc = record_data_load (&lead->data, db, id_text, LEAD_FIELDS, LEAD_TAGS, BUILTINS (lead));
    if (rc)
        return rc;
    lead->id = id;
    return DB_OK;
}

void
store_lead_free (store_lead_t *lead)
{
    PQclear (lead->row);
    record_data_free (&lead->data);
    memset (lead, 0, sizeof *lead);
}

db_rc_t
store_lead_save (db_t *db, uint64_t id, const char *stage, const engine_value_t *values, size_t n,
                 int64_t entered_ms, uint32_t version, const char *responsible)
{
    char *fields = store_json_object (values, n);
    if (!fields)
        return DB_PERMANENT;
    char id_text[24], entered[24], version_text[24];
    const char *params[] = {s_u64 (id_text, id),           stage,      fields, s_i64 (entered, entered_ms),
                            s_u64 (version_text, version), responsible};
    db_rc_t rc = db_exec (db, NULL,
                          "UPDATE lead SET stage = $2, fields = $3::jsonb, entered_at = " TS (
                              "$4") ", version = $5, responsible = $6, updated_at = now () WHERE id = $1",
                          6, params, NULL, NULL);
    free (fields);
    return rc;
}

db_rc_t
store_history_add (db_t *db, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n)
{
    if (n == 0)
        return DB_OK;
    rowset_t *rows = rowset_new ();
    db_rc_t rc = rows && store_history_rows (rows, id, at_ms, lines, n) == 0 ? DB_OK : DB_PERMANENT;
    if (rc == DB_OK) {
        const char *params[] = {rowset_str (rows)};
        rc = params[0] ? db_exec (db, NULL, HISTORY_INSERT ("$1"), 1, params, NULL, NULL) : DB_PERMANENT;
    }
    rowset_destroy (&rows);
    return rc;
}

db_rc_t
store_history_list (db_t *db, uint64_t id, PGresult **res)
{
    char id_text[24];
    const char *params[] = {s_u64 (id_text, id)};
    return db_exec (db, res,
                    "SELECT " MS ("at") ", actor, rule, action, detail FROM lead_history"
                                        " WHERE lead_id = $1 ORDER BY id",
                    1, params, NULL, NULL);
}

//  ---------------------------------------------------------------- tasks

db_rc_t
store_task_requested (db_t *db, const char *request_key, uint64_t lead_id, const char *tag)
{
    char id_text[24];
    const char *params[] = {request_key, s_u64 (id_text, lead_id), tag ? tag : ""};
    return db_exec (db, NULL,
                    "INSERT INTO lead_task (request_key, lead_id, tag) VALUES ($1, $2, $3)"
                    " ON CONFLICT (request_key) DO NOTHING",
                    3, params, NULL, NULL);
}

db_rc_t
store_task_update (db_t *db, uint64_t lead_id, const Crm__V1__TaskCreated *task, bool completed)
{
    char id_text[24], task_text[24], key[48];
    const char *params[] = {record_task_key (task->request_key, task->task_id, key, sizeof key),
                            s_u64 (id_text, lead_id), task->tag, s_u64 (task_text, task->task_id),
                            completed ? "t" : "f"};
    return db_exec (db, NULL,
                    "INSERT INTO lead_task (request_key, lead_id, tag, task_id, completed)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_key) DO UPDATE"
                    " SET task_id = EXCLUDED.task_id, completed = lead_task.completed OR EXCLUDED.completed",
                    5, params, NULL, NULL);
}

//  ---------------------------------------------------------------- contacts

//  The id in the first row of res (freed), or 0.
static uint64_t
s_first_id (PGresult *res)
{
    uint64_t id = PQntuples (res) > 0 ? strtoull (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    return id;
}

db_rc_t
store_contact_make (db_t *db, const store_lead_t *lead, bool no_deal, uint64_t *contact_id,
                    uint64_t *company_id)
{
    char lead_text[24], company_text[24], contact_text[24];
    char name_key[LEAD_FIELD_MAX + 8], phone_key[64], email_key[300];
    const char *flag = no_deal ? "t" : "f";
    PGresult *res;
    db_rc_t rc = DB_OK;
    *contact_id = *company_id = 0;
    s_u64 (lead_text, lead->id);
    if (lead_name_key (lead->company, name_key, sizeof name_key) > 0) {
        //  The flag stays only while no lead of the company became a deal.
        const char *params[] = {lead->company, name_key, flag, lead_text};
        //  (Found first, so that finding one spends no id of the sequence.)
        rc = db_exec (
            db, &res,
            "WITH found AS (UPDATE company SET no_deal = no_deal AND $3 WHERE name_key = $2 RETURNING id),"
            " made AS (INSERT INTO company (name, name_key, no_deal, lead_id)"
            "  SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)"
            " SELECT id FROM found UNION ALL SELECT id FROM made",
            4, params, NULL, NULL);
        if (rc)
            return rc;
        *company_id = s_first_id (res);
    }
    lead_phone_key (lead->phone, phone_key, sizeof phone_key);
    lead_email_key (lead->email, email_key, sizeof email_key);
    const char *company = *company_id ? s_u64 (company_text, *company_id) : NULL;
    const char *find[] = {phone_key, email_key};
    rc =
        db_exec (db, &res,
                 "SELECT id FROM contact WHERE ($1 <> '' AND phone_key = $1) OR ($2 <> '' AND email_key = $2)"
                 " ORDER BY id LIMIT 1 FOR UPDATE",
                 2, find, NULL, NULL);
    if (rc)
        return rc;
    *contact_id = s_first_id (res);
    if (*contact_id) {
        const char *params[] = {s_u64 (contact_text, *contact_id), flag, company};
        rc = db_exec (db, NULL,
                      "UPDATE contact SET no_deal = no_deal AND $2, company_id = coalesce (company_id, $3)"
                      " WHERE id = $1",
                      3, params, NULL, NULL);
    }
    else {
        const char *params[] = {lead->name, lead->phone, phone_key, lead->email,
                                email_key,  company,     flag,      lead_text};
        rc = db_exec (db, &res,
                      "INSERT INTO contact (name, phone, phone_key, email, email_key, company_id, no_deal,"
                      " lead_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                      8, params, NULL, NULL);
        if (rc == DB_OK)
            *contact_id = s_first_id (res);
    }
    if (rc)
        return rc;
    const char *link[] = {lead_text, s_u64 (contact_text, *contact_id), company};
    return db_exec (db, NULL, "UPDATE lead SET contact_id = $2, company_id = $3 WHERE id = $1", 3, link, NULL,
                    NULL);
}

//  ---------------------------------------------------------------- lists

db_rc_t
store_list_leads (db_t *db, const char *stage, const char *user, uint32_t limit, PGresult **res)
{
    char limit_text[24];
    const char *params[] = {stage, user, s_u64 (limit_text, limit)};
    return db_exec (
        db, res,
        "SELECT id, name, company, stage, responsible, version, " MS (
            "updated_at") " FROM lead WHERE ($1 = '' OR stage = $1) AND ($2 = '' OR responsible = $2)"
                          " ORDER BY id DESC LIMIT $3",
        3, params, NULL, NULL);
}

db_rc_t
store_list_contacts (db_t *db, uint32_t limit, PGresult **res)
{
    char limit_text[24];
    const char *params[] = {s_u64 (limit_text, limit)};
    return db_exec (
        db, res,
        "SELECT c.id, c.name, c.phone, c.email, coalesce (c.company_id, 0), coalesce (co.name, ''),"
        " c.no_deal, coalesce (c.lead_id, 0), " MS (
            "c.created_at") " FROM contact c LEFT JOIN company co ON co.id = c.company_id ORDER BY c.id "
                            "LIMIT $1",
        1, params, NULL, NULL);
}

db_rc_t
store_list_companies (db_t *db, uint32_t limit, PGresult **res)
{
    char limit_text[24];
    const char *params[] = {s_u64 (limit_text, limit)};
    return db_exec (db, res,
                    "SELECT id, name, no_deal, coalesce (lead_id, 0), " MS (
                        "created_at") " FROM company ORDER BY id LIMIT $1",
                    1, params, NULL, NULL);
}

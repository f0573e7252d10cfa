/*  record: see record.h. */
#include "record.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_builtin_names[RECORD_BUILTINS] = {"name", "phone", "email", "company", "comment"};

//  Appends the non-empty builtins to data's values (room made by the caller).
static void
s_builtins (record_data_t *data, const char *const builtins[RECORD_BUILTINS])
{
    for (size_t i = 0; i < RECORD_BUILTINS; i++)
        if (*builtins[i])
            data->values[data->n_values++] = (engine_value_t){s_builtin_names[i], builtins[i]};
}

int
record_data_new (record_data_t *data, const char *const builtins[RECORD_BUILTINS])
{
    memset (data, 0, sizeof *data);
    data->values = calloc (RECORD_BUILTINS, sizeof *data->values);
    data->tags = calloc (1, sizeof *data->tags);
    if (!data->values || !data->tags)
        return -1;
    s_builtins (data, builtins);
    return 0;
}

db_rc_t
record_data_load (record_data_t *data, db_t *db, const char *id_text, const char *fields_sql,
                  const char *tags_sql, const char *const builtins[RECORD_BUILTINS])
{
    memset (data, 0, sizeof *data);
    const char *params[] = {id_text};
    db_rc_t rc = db_exec (db, &data->field_rows, fields_sql, 1, params, NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec (db, &data->tag_rows, tags_sql, 1, params, NULL, NULL);
    if (rc)
        return rc;
    size_t n_fields = (size_t) PQntuples (data->field_rows);
    size_t n_tags = (size_t) PQntuples (data->tag_rows);
    data->values = calloc (n_fields + RECORD_BUILTINS, sizeof *data->values);
    data->tags = calloc (n_tags + 1, sizeof *data->tags);
    if (!data->values || !data->tags)
        return DB_PERMANENT;
    for (size_t i = 0; i < n_fields; i++)
        data->values[data->n_values++] = (engine_value_t){PQgetvalue (data->field_rows, (int) i, 0),
                                                          PQgetvalue (data->field_rows, (int) i, 1)};
    data->n_fields = n_fields;
    s_builtins (data, builtins);
    for (size_t i = 0; i < n_tags; i++)
        data->tags[data->n_tags++] =
            (engine_tag_t){PQgetvalue (data->tag_rows, (int) i, 0),
                           (uint32_t) strtoul (PQgetvalue (data->tag_rows, (int) i, 1), NULL, 10),
                           (uint32_t) strtoul (PQgetvalue (data->tag_rows, (int) i, 2), NULL, 10)};
    return DB_OK;
}

void
record_data_free (record_data_t *data)
{
    //  Each result goes with the array that points into it.
    PGresult *results[] = {data->field_rows, data->tag_rows};
    void *arrays[] = {data->values, data->tags};
    for (size_t i = 0; i < 2; i++) {
        free (arrays[i]);
        PQclear (results[i]);
    }
    *data = (record_data_t){0};
}

uint64_t
record_id_of (const char *record, const char *kind)
{
    size_t len = strlen (kind);
    if (strncmp (record, kind, len) != 0 || record[len] != ':' || record[len + 1] < '1'
        || record[len + 1] > '9')
        return 0;
    char *end;
    uint64_t id = strtoull (record + len + 1, &end, 10);
    return *end ? 0 : id;
}

const char *
record_task_key (const char *request_key, uint64_t task_id, char *buf, size_t size)
{
    if (*request_key)
        return request_key;
    snprintf (buf, size, "task:%" PRIu64, task_id);
    return buf;
}

void
record_task_created_detail (const Crm__V1__TaskCreated *task, char *out, size_t size)
{
    snprintf (out, size, "задача №%" PRIu64 " «%.400s» для %.64s", task->task_id, task->title,
              task->responsible);
    out[utf8_boundary (out, strlen (out))] = 0;
}

void
record_task_completed_detail (const Crm__V1__TaskCompleted *task, bool attachments, char *out, size_t size)
{
    size_t len = (size_t) snprintf (out, size, "задача №%" PRIu64, task->task_id);
    for (size_t i = 0; attachments && i < task->n_attachments && len < size; i++)
        len += (size_t) snprintf (out + len, size - len, "%s%.200s",
                                  i ? ", " : ", вложения: ", task->attachments[i]);
    out[utf8_boundary (out, strlen (out))] = 0;
}

//  ---------------------------------------------------------------- replies

void
record_field_value (const pipeline_t *def, const char *name, const char *value, char *display,
                    Crm__V1__FieldValue *out)
{
    const pipeline_field_t *field = pipeline_field (def, name);
    if (field)
        engine_display_value (field, value, display, RECORD_DISPLAY_MAX);
    else
        snprintf (display, RECORD_DISPLAY_MAX, "%s", value);
    crm__v1__field_value__init (out);
    out->name = (char *) name;
    out->value = (char *) value;
    out->display = display;
}

int
record_show_fill (record_show_t *show, const pipeline_t *def, const record_data_t *data, PGresult *history)
{
    memset (show, 0, sizeof *show);
    size_t n_history = (size_t) PQntuples (history);
    show->values = calloc (data->n_fields + 1, sizeof *show->values);
    show->fields = calloc (data->n_fields + 1, sizeof *show->fields);
    show->display = calloc (data->n_fields + 1, sizeof *show->display);
    show->entries = calloc (n_history + 1, sizeof *show->entries);
    show->history = calloc (n_history + 1, sizeof *show->history);
    if (!show->values || !show->fields || !show->display || !show->entries || !show->history)
        return -1;
    size_t n = 0;
    for (size_t f = 0; f <= def->n_fields; f++)
        for (size_t i = 0; i < data->n_fields; i++) {
            const char *name = data->values[i].name;
            bool known = pipeline_field (def, name) != NULL;
            if (f < def->n_fields ? strcmp (def->fields[f].id, name) != 0 : known)
                continue;
            record_field_value (def, name, data->values[i].value, show->display[n], &show->values[n]);
            show->fields[n] = &show->values[n];
            n++;
        }
    show->n_fields = n;
    for (size_t i = 0; i < n_history; i++) {
        Crm__V1__HistoryEntry *e = &show->entries[i];
        crm__v1__history_entry__init (e);
        e->at_ms = strtoll (PQgetvalue (history, (int) i, 0), NULL, 10);
        e->actor = PQgetvalue (history, (int) i, 1);
        e->rule = PQgetvalue (history, (int) i, 2);
        e->action = PQgetvalue (history, (int) i, 3);
        e->detail = PQgetvalue (history, (int) i, 4);
        show->history[i] = e;
    }
    show->n_history = n_history;
    return 0;
}

void
record_show_free (record_show_t *show)
{
    void *parts[] = {show->values, show->fields, show->display, show->entries, show->history};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        free (parts[i]);
    memset (show, 0, sizeof *show);
}

void
record_reply_not_found (service_reply_t *reply, const char *kind, uint64_t id)
{
    char message[64], field[32];
    snprintf (message, sizeof message, "no %s %" PRIu64, kind, id);
    snprintf (field, sizeof field, "%s_id", kind);
    service_reply_error (reply, "NOT_FOUND", message, (const char *[]){field}, 1);
}

bool
record_filters_valid (const char *stage, const char *user, service_reply_t *reply)
{
    if (utf8_valid (stage) && utf8_valid (user))
        return true;
    const char *field = utf8_valid (stage) ? "user" : "stage";
    service_reply_error (reply, "INVALID_ARGUMENT", "filters must be UTF-8", &field, 1);
    return false;
}

uint32_t
record_list_limit (uint32_t asked)
{
    return asked == 0 ? 100 : asked > 1000 ? 1000 : asked;
}

/*  record: what the two services that own a pipeline record (leads: a
    lead, deals: a deal) share of it around the engine, with none of their
    SQL: the values and task tags the engine reads (loaded by the queries
    each service's store passes in), the record a task or timer names
    ("lead:<id>", "deal:<id>"), the history texts of its tasks, and the
    parts of the command replies built from its rows (fields as people read
    them, history lines, NOT_FOUND, list filters and limits).

    The services differ in their rows, events and reply messages; those stay
    in each service. Times are ms since the epoch, UTC.
*/
#ifndef CRM_RECORD_H
#define CRM_RECORD_H

#include "db.h"
#include "engine.h"
#include "service.h"
#include "crm/v1/leads.pb-c.h"
#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The built-in attributes a record has besides the definition's fields,
//  in this order: name, phone, email, company, comment.
#define RECORD_BUILTINS 5

/*  What the engine reads of a stored record besides its row: values holds
    the definition's fields (values[0..n_fields), by name) and then the
    non-empty built-ins; tags its tasks counted by tag. The strings point
    into the results it holds (or the caller's, for a new record). */
typedef struct {
    PGresult *field_rows, *tag_rows;
    engine_value_t *values;
    size_t n_values;
    size_t n_fields;
    engine_tag_t *tags;
    size_t n_tags;
} record_data_t;

/*  Fills data for a record not stored yet: no fields or tasks, only the
    non-empty builtins (RECORD_BUILTINS texts in the order above, borrowed:
    they must outlive data). Returns 0, or -1 on out-of-memory. The caller
    calls record_data_free in every case. */
int record_data_new (record_data_t *data, const char *const builtins[RECORD_BUILTINS]);

/*  Loads the values and tags of a stored record into data (zeroed first):
    fields_sql (columns name, value, in the order wanted) and tags_sql
    (columns tag, total, completed), each with the record's id as its one
    parameter id_text, then the non-empty builtins (as record_data_new,
    borrowed). Returns DB_OK, the db error, or DB_PERMANENT on
    out-of-memory. The caller calls record_data_free in every case. */
db_rc_t record_data_load (record_data_t *data, db_t *db, const char *id_text, const char *fields_sql,
                          const char *tags_sql, const char *const builtins[RECORD_BUILTINS]);

/*  Releases what data holds and zeroes it. */
void record_data_free (record_data_t *data);

/*  The id of a record named "<kind>:<id>" (kind "lead", "deal"; id without
    leading zeros), or 0 for any other name. */
uint64_t record_id_of (const char *record, const char *kind);

/*  The key under which a task is counted: request_key, or for a task no
    rule asked for (request_key "": a person's) "task:<task_id>" written
    into buf (size bytes; 48 are enough). */
const char *record_task_key (const char *request_key, uint64_t task_id, char *buf, size_t size);

/*  The history detail of a created task into out (size bytes, cut at a
    UTF-8 boundary): its number, title and responsible. */
void record_task_created_detail (const Crm__V1__TaskCreated *task, char *out, size_t size);

/*  The history detail of a completed task into out (size bytes, cut at a
    UTF-8 boundary): its number, and with attachments the names of its
    attachments. */
void record_task_completed_detail (const Crm__V1__TaskCompleted *task, bool attachments, char *out,
                                   size_t size);

//  ---------------------------------------------------------------- replies

//  A field's display text at most, in bytes with its NUL.
#define RECORD_DISPLAY_MAX 256

/*  Sets out (initialized here) to the field value name = value, with its
    display text as people read it (the definition's field, else the value
    as stored) written into display (RECORD_DISPLAY_MAX bytes). out's
    strings are borrowed. */
void record_field_value (const pipeline_t *def, const char *name, const char *value, char *display,
                         Crm__V1__FieldValue *out);

/*  The parts of a Show reply built from a record's rows: its fields in the
    definition's order (a value of a field the definition no longer has
    last, as stored) and its history lines. The strings point into the
    caller's rows; freed with record_show_free. */
typedef struct {
    Crm__V1__FieldValue *values, **fields;
    size_t n_fields;
    char (*display)[RECORD_DISPLAY_MAX];
    Crm__V1__HistoryEntry *entries, **history;
    size_t n_history;
} record_show_t;

/*  Fills show from the definition's fields of a record (data->values,
    data->n_fields of them) and its history rows (columns at_ms, actor,
    rule, action, detail; oldest first). Returns 0, or -1 on out-of-memory.
    The caller calls record_show_free in every case. */
int record_show_fill (record_show_t *show, const pipeline_t *def, const record_data_t *data,
                      PGresult *history);

/*  Releases what show holds and zeroes it. */
void record_show_free (record_show_t *show);

/*  Answers NOT_FOUND "no <kind> <id>" naming the field "<kind>_id". */
void record_reply_not_found (service_reply_t *reply, const char *kind, uint64_t id);

/*  A list's filters stage and user must be UTF-8: true if they are, else
    answers INVALID_ARGUMENT naming the first that is not and returns
    false. */
bool record_filters_valid (const char *stage, const char *user, service_reply_t *reply);

/*  The number of rows a list answers for the limit asked: 0 means 100;
    at most 1000. */
uint32_t record_list_limit (uint32_t asked);

#endif

/*  store: the batch of new leads (store.h, "Creates an empty batch" to
    store_write). */
#include "store.h"
#include "store_private.h"

#include <stdlib.h>
#include <string.h>

//  Rows go as JSON row sets: besides costing one parse and one function,
//  they keep the plans generic. (With array parameters the planner knows
//  their size only when planning for the values, so the plan cache judged a
//  plan for the values cheaper and planned the statement at every call:
//  240 µs, more than running it.)
struct store_t {
    rowset_t *keys;     // the keys to resolve
    rowset_t *leads;    // the new leads, as they will be stored
    rowset_t *history;  // their history lines
    rowset_t *tasks;    // their tasks
    int count;          // keys buffered
    int unassigned;     // of which without a responsible
};

//  The batch's keys resolved (store_resolve): per key in order, the known
//  id (0: none), the 1-based position of the first of its pair in the
//  batch, the first turn taken (0: none), the id reserved (0: none).
#define RESOLVE(turn_cte, first_turn)                                                                \
    "WITH input AS (SELECT u.*, row_number () OVER w AS nth, min (u.ord) OVER w AS first"            \
    "  FROM ROWS FROM (json_to_recordset ($1::json) AS (source_system text, external_id text,"       \
    "  unassigned int)) WITH ORDINALITY AS u (source_system, external_id, unassigned, ord)"          \
    "  WINDOW w AS (PARTITION BY u.source_system, u.external_id ORDER BY u.ord)),"                   \
    " known AS (SELECT input.*, (SELECT id FROM lead WHERE lead.source_system = input.source_system" \
    "  AND lead.external_id = input.external_id) AS id FROM input)" turn_cte                         \
    " SELECT coalesce (id, 0), first, " first_turn ","                                               \
    "  CASE WHEN id IS NULL AND nth = 1 THEN nextval ('lead_id_seq') ELSE 0 END FROM known ORDER BY ord"
#define RESOLVE_WITHOUT_TURNS RESOLVE ("", "0")
#define RESOLVE_WITH_TURNS                                                                           \
    RESOLVE (", turn AS (UPDATE assignment SET turn = turn + n.count FROM (SELECT count(*) AS count" \
             "  FROM known WHERE id IS NULL AND nth = 1 AND unassigned = 1) n WHERE n.count > 0"     \
             "  RETURNING turn - n.count AS first)",                                                 \
             "coalesce ((SELECT first FROM turn), 0)")

store_t *
store_new (void)
{
    store_t *self = calloc (1, sizeof *self);
    if (self
        && (!(self->keys = rowset_new ()) || !(self->leads = rowset_new ())
            || !(self->history = rowset_new ()) || !(self->tasks = rowset_new ())))
        store_destroy (&self);
    return self;
}

void
store_destroy (store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rowset_destroy (&(*self_p)->keys);
    rowset_destroy (&(*self_p)->leads);
    rowset_destroy (&(*self_p)->history);
    rowset_destroy (&(*self_p)->tasks);
    free (*self_p);
    *self_p = NULL;
}

int
store_add (store_t *self, const char *source_system, const char *external_id, bool unassigned)
{
    int err = rowset_row (self->keys);
    err |= rowset_text (self->keys, "source_system", source_system);
    err |= rowset_text (self->keys, "external_id", external_id);
    err |= rowset_i64 (self->keys, "unassigned", unassigned);
    if (err)
        return -1;
    self->unassigned += unassigned;
    return self->count++;
}

int
store_count (const store_t *self)
{
    return self->count;
}

void
store_reset (store_t *self)
{
    rowset_reset (self->keys);
    rowset_reset (self->leads);
    rowset_reset (self->history);
    rowset_reset (self->tasks);
    self->count = self->unassigned = 0;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

db_rc_t
store_resolve (store_t *self, db_t *db, bool take_turns, store_resolved_t *resolved, uint64_t *first_turn)
{
    *first_turn = 0;
    if (self->count == 0)
        return DB_OK;
    const char *params[] = {rowset_str (self->keys)};
    PGresult *res;
    //  A known lead's id comes from the unique index (a lookup per row: a
    //  join would let the generic plan scan the whole table). Turns are
    //  taken by another statement (the same and an UPDATE of the counter),
    //  used only when some are needed: statements cost more to start than
    //  to run for a few rows, and an UPDATE writes the row even to add 0.
    bool turns = take_turns && self->unassigned > 0;
    db_rc_t rc = !params[0] ? DB_PERMANENT
                            : db_exec (db, &res, turns ? RESOLVE_WITH_TURNS : RESOLVE_WITHOUT_TURNS, 1,
                                       params, NULL, NULL);
    int count = self->count;
    rowset_reset (self->keys);
    self->count = self->unassigned = 0;
    if (rc)
        return rc;
    int rows = PQntuples (res);
    uint64_t *ids = calloc ((size_t) rows + 1, sizeof *ids);
    if (rows != count || !ids) {
        PQclear (res);
        free (ids);
        return DB_PERMANENT;
    }
    //  The new ids ascending in the order the leads came, as one INSERT of
    //  them all would have numbered them.
    int news = 0;
    for (int i = 0; i < rows; i++) {
        uint64_t id = strtoull (PQgetvalue (res, i, 3), NULL, 10);
        if (id)
            ids[news++] = id;
    }
    qsort (ids, (size_t) news, sizeof *ids, s_cmp_u64);
    if (rows > 0)
        *first_turn = strtoull (PQgetvalue (res, 0, 2), NULL, 10);
    for (int i = 0, next = 0; i < rows; i++) {
        uint64_t known = strtoull (PQgetvalue (res, i, 0), NULL, 10);
        int first = (int) strtol (PQgetvalue (res, i, 1), NULL, 10) - 1;
        bool created = strtoull (PQgetvalue (res, i, 3), NULL, 10) != 0;
        uint64_t id = known                   ? known
                    : created                 ? ids[next++]
                    : first >= 0 && first < i ? resolved[first].id
                                              : 0;
        resolved[i] = (store_resolved_t){id, created};
    }
    free (ids);
    PQclear (res);
    return DB_OK;
}

int
store_add_new (store_t *self, uint64_t id, const Crm__V1__LeadReceived *lead, const char *stage,
               const engine_value_t *values, size_t n, int64_t entered_ms, uint32_t version)
{
    rowset_t *r = self->leads;
    char *fields = n ? store_json_object (values, n) : NULL;
    int err = n && !fields ? -1 : rowset_row (r);
    err |= rowset_i64 (r, "id", (int64_t) id);
    err |= rowset_text (r, "source_system", lead->source_system);
    err |= rowset_text (r, "external_id", lead->external_id);
    err |= rowset_text (r, "name", lead->name);
    err |= rowset_text (r, "phone", lead->phone);
    err |= rowset_text (r, "email", lead->email);
    err |= rowset_text (r, "company", lead->company);
    err |= rowset_text (r, "comment", lead->comment);
    err |= rowset_text (r, "responsible", lead->responsible);
    err |= rowset_text (r, "stage", stage);
    err |= rowset_text (r, "fields", n ? fields : "{}");
    err |= rowset_i64 (r, "entered", entered_ms);
    err |= rowset_i64 (r, "version", version);
    free (fields);
    return err ? -1 : 0;
}

int
store_add_history (store_t *self, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n)
{
    return store_history_rows (self->history, id, at_ms, lines, n);
}

int
store_add_task (store_t *self, const char *request_key, uint64_t lead_id, const char *tag)
{
    int err = rowset_row (self->tasks);
    err |= rowset_text (self->tasks, "request_key", request_key);
    err |= rowset_i64 (self->tasks, "lead", (int64_t) lead_id);
    err |= rowset_text (self->tasks, "tag", tag ? tag : "");
    return err ? -1 : 0;
}

//  One statement: the history lines reference the leads inserted beside
//  them, which their foreign key's check (run at the end of the statement)
//  sees. Rows are numbered in the order given.
static const char *const s_write_sql = "WITH h AS (" HISTORY_INSERT (
    "$2") ")"
          " INSERT INTO lead (id, source_system, external_id, name, phone, email, company, comment,"
          "  responsible, stage, fields, entered_at, version)"
          " SELECT u.id, u.source_system, u.external_id, u.name, u.phone, u.email, u.company, u.comment,"
          "  u.responsible, u.stage, u.fields::jsonb, " TS (
              "u.entered") ", u.version"
                           " FROM ROWS FROM (json_to_recordset ($1::json) AS (id bigint, source_system text,"
                           "  external_id text, name text, phone text, email text, company text, comment "
                           "text,"
                           "  responsible text, stage text, fields text, entered bigint, version int))"
                           "  WITH ORDINALITY AS u (id, source_system, external_id, name, phone, email, "
                           "company, comment,"
                           "  responsible, stage, fields, entered, version, ord) ORDER BY u.ord";

db_rc_t
store_write (store_t *self, db_t *db)
{
    db_rc_t rc = DB_OK;
    if (rowset_count (self->leads) || rowset_count (self->history)) {
        const char *params[] = {rowset_str (self->leads), rowset_str (self->history)};
        rc = params[0] && params[1] ? db_exec (db, NULL, s_write_sql, 2, params, NULL, NULL) : DB_PERMANENT;
    }
    //  Tasks are rare for a new lead: their statement runs only if some.
    if (rc == DB_OK && rowset_count (self->tasks)) {
        const char *params[] = {rowset_str (self->tasks)};
        rc = !params[0] ? DB_PERMANENT
                        : db_exec (db, NULL,
                                   "INSERT INTO lead_task (request_key, lead_id, tag)"
                                   " SELECT request_key, lead, tag FROM json_to_recordset ($1::json)"
                                   "  AS (request_key text, lead bigint, tag text)"
                                   " ON CONFLICT (request_key) DO NOTHING",
                                   1, params, NULL, NULL);
    }
    rowset_reset (self->tasks);
    rowset_reset (self->leads);
    rowset_reset (self->history);
    return rc;
}

/*  store: see store.h. */
#include "store.h"
#include "sqlarray.h"

#include <stdlib.h>

enum { SOURCE_SYSTEM, EXTERNAL_ID, NAME, PHONE, EMAIL, COMPANY, COMMENT, RESPONSIBLE, COLUMNS };

struct store_t {
    sqlarray_t *columns[COLUMNS];
    int count;
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
store_add (store_t *self, const Crm__V1__LeadReceived *lead, const char *responsible)
{
    const char *values[COLUMNS] = {lead->source_system, lead->external_id, lead->name, lead->phone,
                                   lead->email, lead->company, lead->comment, responsible};
    int err = 0;
    for (int i = 0; i < COLUMNS; i++)
        err |= sqlarray_text (self->columns[i], values[i]);
    return err ? -1 : self->count++;
}

int
store_count (const store_t *self)
{
    return self->count;
}

void
store_reset (store_t *self)
{
    for (int i = 0; i < COLUMNS; i++)
        sqlarray_reset (self->columns[i]);
    self->count = 0;
}

db_rc_t
store_flush (store_t *self, db_t *db, store_stored_fn *fn, void *arg)
{
    if (self->count == 0)
        return DB_OK;
    const char *params[COLUMNS];
    for (int i = 0; i < COLUMNS; i++)
        params[i] = sqlarray_str (self->columns[i]);
    PGresult *res;
    //  One statement for the batch. The CTE's insert is not visible to the
    //  rest of the statement, so a new lead's id comes from "ins" and a known
    //  one's from its unique index (a lookup per row: a join would let the
    //  generic plan scan the whole table); only the first of a pair repeated
    //  in the batch is the one that created it.
    db_rc_t rc = db_exec (db, &res,
                          "WITH input AS (SELECT u.*, row_number () OVER"
                          "  (PARTITION BY u.source_system, u.external_id ORDER BY u.ord) AS nth"
                          "  FROM unnest ($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
                          "  $6::text[], $7::text[], $8::text[]) WITH ORDINALITY"
                          "  AS u (source_system, external_id, name, phone, email, company, comment,"
                          "  responsible, ord)),"
                          " ins AS (INSERT INTO lead (source_system, external_id, name, phone, email,"
                          "  company, comment, responsible) SELECT source_system, external_id, name,"
                          "  phone, email, company, comment, responsible FROM input WHERE nth = 1"
                          "  ORDER BY ord ON CONFLICT (source_system, external_id) DO NOTHING"
                          "  RETURNING id, source_system, external_id)"
                          " SELECT coalesce (ins.id, (SELECT id FROM lead WHERE lead.source_system"
                          "  = input.source_system AND lead.external_id = input.external_id)),"
                          "  ins.id IS NOT NULL AND input.nth = 1"
                          " FROM input LEFT JOIN ins USING (source_system, external_id) ORDER BY input.ord",
                          COLUMNS, params, NULL, NULL);
    int count = self->count;
    store_reset (self);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples (res) && i < count && rc == DB_OK; i++)
        if (fn (i, strtoull (PQgetvalue (res, i, 0), NULL, 10), *PQgetvalue (res, i, 1) == 't', arg))
            rc = DB_PERMANENT;
    PQclear (res);
    return rc;
}

/*  store: see store.h. */
#include "store.h"

#include <stdlib.h>

db_rc_t
store_lead_insert (db_t *db, const Crm__V1__LeadReceived *lead, const char *responsible,
                   uint64_t *lead_id, bool *created)
{
    const char *params[] = {lead->source_system, lead->external_id, lead->name, lead->phone,
                            lead->email, lead->company, lead->comment, responsible};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "INSERT INTO lead (source_system, external_id, name, phone, email, company,"
                          " comment, responsible) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                          " ON CONFLICT (source_system, external_id) DO NOTHING RETURNING id",
                          8, params, NULL, NULL);
    if (rc)
        return rc;
    *created = PQntuples (res) == 1;
    if (!*created) {
        PQclear (res);
        rc = db_exec (db, &res, "SELECT id FROM lead WHERE source_system = $1 AND external_id = $2", 2,
                      params, NULL, NULL);
        if (rc)
            return rc;
    }
    *lead_id = PQntuples (res) ? strtoull (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    return DB_OK;
}

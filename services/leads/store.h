/*  store: every SQL statement of the leads service, in one place. */
#ifndef CRM_LEADS_STORE_H
#define CRM_LEADS_STORE_H

#include "db.h"
#include "crm/v1/leads.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t leads_migrations[];
extern const int leads_migrations_count;

/*  Inserts the lead unless (source_system, external_id) is known, inside
    the caller's transaction. responsible is the one to store (already
    defaulted). Sets *lead_id, and *created (false: it was known). Returns
    DB_OK or the db error. */
db_rc_t store_lead_insert (db_t *db, const Crm__V1__LeadReceived *lead, const char *responsible,
                           uint64_t *lead_id, bool *created);

#endif

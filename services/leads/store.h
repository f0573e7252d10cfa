/*  store: every SQL statement of the leads service, in one place. Leads
    received in one batch are buffered and stored by one statement at its
    end (store_flush): one round trip for the whole group commit.
*/
#ifndef CRM_LEADS_STORE_H
#define CRM_LEADS_STORE_H

#include "db.h"
#include "crm/v1/leads.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t leads_migrations[];
extern const int leads_migrations_count;

typedef struct store_t store_t;

/*  Creates an empty buffer. NULL on out-of-memory; caller owns it. */
store_t *store_new (void);

/*  Frees it; nulls *self_p. */
void store_destroy (store_t **self_p);

/*  Buffers one lead (strings copied), to be stored with responsible
    (already defaulted). Returns its index in the batch (0, 1, ...), or -1
    on out-of-memory. */
int store_add (store_t *self, const Crm__V1__LeadReceived *lead, const char *responsible);

/*  Called by store_flush for each buffered lead, in the order added:
    created is false when (source_system, external_id) was known (or came
    earlier in the same batch). */
typedef int (store_stored_fn) (int index, uint64_t lead_id, bool created, void *arg);

/*  Inserts the buffered leads unless known, in one statement inside the
    caller's transaction, calls fn for each, and empties the buffer.
    Returns DB_OK or the db error (DB_PERMANENT if fn fails). */
db_rc_t store_flush (store_t *self, db_t *db, store_stored_fn *fn, void *arg);

/*  Number of buffered leads. */
int store_count (const store_t *self);

/*  Empties the buffer (after a rollback). */
void store_reset (store_t *self);

#endif

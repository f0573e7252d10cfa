/*  store: every SQL statement of the notifier, in one place. Requests are
    buffered while a batch is applied and inserted by one statement at its
    end (store_flush), which is what lets the bus run at full speed.
*/
#ifndef CRM_NOTIFIER_STORE_H
#define CRM_NOTIFIER_STORE_H

#include "db.h"
#include "crm/v1/notifier.pb-c.h"

#include <stdint.h>

extern const db_migration_t notifier_migrations[];
extern const int notifier_migrations_count;

typedef struct store_t store_t;

/*  Creates an empty buffer. NULL on out-of-memory; caller owns it. */
store_t *store_new (void);

/*  Frees it; nulls *self_p. */
void store_destroy (store_t **self_p);

/*  Buffers one request (strings copied). Returns 0, -1 on out-of-memory. */
int store_add (store_t *self, const Crm__V1__NotificationRequested *request,
               const char *correlation_id, const char *requested_by, uint64_t request_sequence,
               int64_t requested_ms);

/*  Called for each row store_flush inserted (a request_key seen before is
    not inserted again). stored is valid during the call only. */
typedef int (store_inserted_fn) (const Crm__V1__NotificationStored *stored,
                                 const char *correlation_id, void *arg);

/*  Inserts the buffered requests in one statement, inside the caller's
    transaction, calls fn for each new row, and empties the buffer.
    Returns DB_OK or the db error (DB_PERMANENT if fn fails). */
db_rc_t store_flush (store_t *self, db_t *db, store_inserted_fn *fn, void *arg);

/*  Empties the buffer (after a rollback). */
void store_reset (store_t *self);

/*  Reads the newest notifications of recipient (at most limit) into a new
    list (caller frees with store_list_free). Returns DB_OK or the db error. */
db_rc_t store_list (db_t *db, const char *recipient, uint32_t limit, Crm__V1__NotificationList **list_p);

/*  Frees a list from store_list. */
void store_list_free (Crm__V1__NotificationList *list);

#endif

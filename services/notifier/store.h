/*  store: the notifier's SQL for notifications: storing requests (with
    their delivery rows), the inbox, marking read. Requests are buffered
    while a batch is applied and inserted by one statement at its end
    (store_flush), which is what lets the bus run at full speed; each new
    notification's deliveries (one per outbound channel of its recipient in
    the staff directory) go in with it, in the same transaction, so none is
    ever lost. The delivery queue's own SQL is in queue.h.
*/
#ifndef CRM_NOTIFIER_STORE_H
#define CRM_NOTIFIER_STORE_H

#include "db.h"
#include "pipeline.h"
#include "crm/v1/notifier.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t notifier_migrations[];
extern const int notifier_migrations_count;

typedef struct store_t store_t;

/*  Creates an empty buffer that finds recipients' channels in staff (not
    owned; must outlive the store; NULL: no channels). NULL on
    out-of-memory; caller owns it. */
store_t *store_new (const staff_t *staff);

/*  Frees it; nulls *self_p. */
void store_destroy (store_t **self_p);

/*  Buffers one request (strings copied): its correlation id, and the
    event that carried it (source service, sequence, time in ms UTC, event
    id). Returns 0, -1 on out-of-memory. */
int store_add (store_t *self, const Crm__V1__NotificationRequested *request, const char *correlation_id,
               const char *requested_by, uint64_t request_sequence, int64_t requested_ms,
               const char *event_id);

/*  Called for each row store_flush inserted (a request_key seen before is
    not inserted again). stored is valid during the call only. */
typedef int (store_inserted_fn) (const Crm__V1__NotificationStored *stored, const char *correlation_id,
                                 const char *event_id, void *arg);

/*  Inserts the buffered requests in one statement, inside the caller's
    transaction, calls fn for each new row, queues its deliveries (due at
    now_ms, ms UTC), and empties the buffer. *queued (if not NULL) is set to
    the number of deliveries queued. Returns DB_OK or the db error
    (DB_PERMANENT if fn fails). */
db_rc_t store_flush (store_t *self, db_t *db, int64_t now_ms, store_inserted_fn *fn, void *arg,
                     size_t *queued);

/*  Empties the buffer (after a rollback). */
void store_reset (store_t *self);

/*  Notifications read for a reply: a list whose strings point into the
    query results it holds. */
typedef struct store_listing_t store_listing_t;

/*  Reads the newest notifications of recipient (at most limit; only unread
    ones if unread), each with its deliveries. Returns DB_OK with a new
    listing in *listing_p (caller frees with store_listing_free), or the db
    error. */
db_rc_t store_list (db_t *db, const char *recipient, bool unread, uint32_t limit,
                    store_listing_t **listing_p);

/*  The list of a listing (owned by it). */
const Crm__V1__NotificationList *store_listing_list (const store_listing_t *listing);

/*  Frees a listing; NULL is fine. */
void store_listing_free (store_listing_t *listing);

typedef enum { STORE_READ_OK, STORE_READ_NOT_FOUND, STORE_READ_NOT_YOURS } store_read_t;

/*  Marks notification id read by reader (kept as it is when already read),
    if reader is its recipient; *outcome says which. On STORE_READ_OK
    *listing_p holds it (one notification; caller frees). Returns DB_OK or
    the db error. */
db_rc_t store_mark_read (db_t *db, uint64_t id, const char *reader, store_read_t *outcome,
                         store_listing_t **listing_p);

#endif

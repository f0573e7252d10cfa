/*  queue: the SQL of the delivery queue (table delivery, one row per
    notification and channel; rows are written by store_flush). Every
    function runs inside the caller's open transaction. Times in ms UTC.
*/
#ifndef CRM_NOTIFIER_QUEUE_H
#define CRM_NOTIFIER_QUEUE_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

/*  A due delivery and its notification, as claimed. Strings point into
    the query result (valid until queue_claimed_free). */
typedef struct {
    uint64_t id;  // delivery id
    uint64_t notification_id;
    const char *channel;      // "webhook" or "email"
    const char *destination;  // URL or address
    const char *secret_ref;   // "env:NAME", "file:PATH" or ""
    uint32_t attempts;        // made so far
    int64_t queued_ms;        // when the row was created
    const char *recipient;
    const char *text;
    const char *correlation_id;
    const char *rule;
    int64_t created_ms;  // the notification's
} queue_row_t;

typedef struct queue_claimed_t queue_claimed_t;

/*  Reads at most limit pending deliveries due at now_ms, earliest first,
    leaving out those whose ids are in the array literal busy (sqlarray,
    e.g. "{1,2}": the ones in hand). Returns DB_OK with *claimed_p (caller
    frees with queue_claimed_free), or the db error. */
db_rc_t queue_claim (db_t *db, int64_t now_ms, const char *busy, size_t limit, queue_claimed_t **claimed_p);

/*  Rows of a claim. */
size_t queue_claimed_count (const queue_claimed_t *claimed);
const queue_row_t *queue_claimed_row (const queue_claimed_t *claimed, size_t i);
void queue_claimed_free (queue_claimed_t **claimed_p);

/*  The earliest next attempt among pending deliveries not in busy (INT64_MAX:
    none) into *next_ms, and how many those are into *pending. */
db_rc_t queue_next (db_t *db, const char *busy, int64_t *next_ms, uint64_t *pending);

/*  Records an acknowledged attempt (the attempts-th): delivered at now_ms,
    and the notification delivered if it was not yet. */
db_rc_t queue_delivered (db_t *db, uint64_t id, uint32_t attempts, int64_t now_ms);

/*  Records a failed attempt: pending again from next_ms on, or, when
    next_ms is 0, failed for good at now_ms. error: one line. */
db_rc_t queue_failed (db_t *db, uint64_t id, uint32_t attempts, int64_t now_ms, int64_t next_ms,
                      const char *error);

#endif

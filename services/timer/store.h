/*  store: every SQL statement of the timer service, in one place. */
#ifndef CRM_TIMER_STORE_H
#define CRM_TIMER_STORE_H

#include "db.h"
#include "crm/v1/timer.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t timer_migrations[];
extern const int timer_migrations_count;

#define STORE_FIRE_MAX 1000     // timers fired per transaction

/*  Schedules or reschedules (owner, key), inside the caller's transaction.
    *was_pending tells whether a pending timer was replaced. */
db_rc_t store_schedule (db_t *db, const Crm__V1__TimerRequested *request, const char *correlation_id,
                        uint64_t sequence, bool *was_pending);

/*  Cancels (owner, key) if pending; *cancelled tells whether it was. */
db_rc_t store_cancel (db_t *db, const char *owner, const char *key, bool *cancelled);

/*  One timer that came due, as store_fire hands it over. */
typedef struct {
    const char *owner;
    const char *key;
    const char *correlation_id;
    const uint8_t *payload;
    size_t payload_len;
    int64_t due_ms;
} store_due_t;

typedef int (store_fired_fn) (const store_due_t *due, void *arg);

/*  Marks fired, with fired_ms = now_ms, up to STORE_FIRE_MAX pending timers
    due at or before now_ms, and calls fn for each in due order (inside the
    caller's transaction). *count is how many fired. */
db_rc_t store_fire (db_t *db, int64_t now_ms, store_fired_fn *fn, void *arg, int *count);

/*  The earliest pending due time, or INT64_MAX if none. */
db_rc_t store_next_due (db_t *db, int64_t *due_ms);

/*  Pending timers (count capped at cap + 1, to stay cheap at a million). */
db_rc_t store_pending (db_t *db, int64_t cap, int64_t *count);

/*  The earliest pending timers matching owner ("" all) and key prefix ("" all),
    at most limit, into a new list (free with store_list_free); list->pending
    counts all matching, capped at 100001. */
db_rc_t store_list (db_t *db, const char *owner, const char *prefix, uint32_t limit,
                    Crm__V1__TimerList **list_p);
void store_list_free (Crm__V1__TimerList *list);

#endif

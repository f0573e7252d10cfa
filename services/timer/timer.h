/*  timer: the timer service's pure rules: what makes a request valid, and
    the lateness figures of the last fired timers. No sockets, no database.
*/
#ifndef CRM_TIMER_H
#define CRM_TIMER_H

#include "crm/v1/timer.pb-c.h"

#include <stddef.h>
#include <stdint.h>

//  Due times outside [2000-01-01, 2200-01-01) UTC are malformed.
#define TIMER_DUE_MIN_MS 946684800000LL
#define TIMER_DUE_MAX_MS 7258118400000LL
#define TIMER_LATENESS_WINDOW 1024

/*  Checks a schedule request published by source. Returns 0 if valid, else
    -1 with one sentence naming the field at fault in reason (size bytes).
    A request for another owner than its publisher is refused: a service
    schedules only its own timers. */
int timer_validate_request (const Crm__V1__TimerRequested *request, const char *source, char *reason,
                            size_t size);

/*  The same for a cancel request. */
int timer_validate_cancel (const Crm__V1__TimerCancelRequested *request, const char *source,
                           char *reason, size_t size);

/*  Lateness (fired − due, ms) of the last TIMER_LATENESS_WINDOW fired timers. */
typedef struct {
    int64_t values[TIMER_LATENESS_WINDOW];
    size_t count;       // values held, at most the window
    size_t next;        // where the next value goes
    uint64_t fired;     // all fired since start
} timer_lateness_t;

/*  Records one firing. */
void timer_lateness_add (timer_lateness_t *self, int64_t lateness_ms);

/*  The p-th percentile (0..100) of the held values, 0 if none. */
int64_t timer_lateness_percentile (const timer_lateness_t *self, double p);

#endif

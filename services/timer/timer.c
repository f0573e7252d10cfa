/*  timer: see timer.h. */
#include "timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_owner_key (const char *key, const char *owner, const char *source, char *reason, size_t size)
{
    if (!*key || strlen (key) > 200)
        snprintf (reason, size, "key is required (1 to 200 bytes)");
    else if (!*owner)
        snprintf (reason, size, "owner is required");
    else if (strcmp (owner, source) != 0)
        snprintf (reason, size, "owner '%.32s' is not the publisher '%.32s'", owner, source);
    else
        return 0;
    return -1;
}

int
timer_validate_request (const Crm__V1__TimerRequested *request, const char *source, char *reason,
                        size_t size)
{
    if (s_owner_key (request->key, request->owner, source, reason, size))
        return -1;
    if (request->due_ms < TIMER_DUE_MIN_MS || request->due_ms >= TIMER_DUE_MAX_MS) {
        snprintf (reason, size, "due_ms %lld is not a time between 2000 and 2200 UTC in ms",
                  (long long) request->due_ms);
        return -1;
    }
    if (request->payload.len > 65536) {
        snprintf (reason, size, "payload is over 65536 bytes");
        return -1;
    }
    return 0;
}

int
timer_validate_cancel (const Crm__V1__TimerCancelRequested *request, const char *source, char *reason,
                       size_t size)
{
    return s_owner_key (request->key, request->owner, source, reason, size);
}

void
timer_lateness_add (timer_lateness_t *self, int64_t lateness_ms)
{
    self->values[self->next] = lateness_ms;
    self->next = (self->next + 1) % TIMER_LATENESS_WINDOW;
    if (self->count < TIMER_LATENESS_WINDOW)
        self->count++;
    self->fired++;
}

static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

int64_t
timer_lateness_percentile (const timer_lateness_t *self, double p)
{
    if (self->count == 0)
        return 0;
    int64_t sorted[TIMER_LATENESS_WINDOW];
    memcpy (sorted, self->values, self->count * sizeof sorted[0]);
    qsort (sorted, self->count, sizeof sorted[0], s_compare);
    size_t rank = (size_t) (p / 100.0 * (double) (self->count - 1) + 0.5);
    return sorted[rank < self->count ? rank : self->count - 1];
}

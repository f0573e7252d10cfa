/*  clock: the one place that reads time, so tests can reason about it.

    Wall-clock time (UTC) stamps events and timers; monotonic time measures
    intervals (timeouts, backoff) and never steps when NTP moves the clock.
*/
#ifndef CRM_CLOCK_H
#define CRM_CLOCK_H

#include <stdint.h>

/*  Wall-clock time: ms since the Unix epoch, UTC (CLOCK_REALTIME). */
int64_t clock_now_ms (void);

/*  Monotonic time in ms from an arbitrary origin (CLOCK_MONOTONIC). */
int64_t clock_mono_ms (void);

/*  The same in microseconds, for durations shorter than a millisecond. */
int64_t clock_mono_us (void);

#endif

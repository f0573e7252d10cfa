/*  journeys_stats: the journeys benchmark's figures from the events the
    services published (bench/journeys.c).

    Every event is recorded with its id, its causation id, its type and its
    time_ms (the source's commit stamp, ms UTC). An event whose causation
    id is another recorded event's id is an automatic step, cause -> effect,
    and its latency is effect.time_ms - cause.time_ms.

    Ids are kept as 64-bit hashes of their text: with a million events the
    chance of one false match is about 1e-7.
*/
#ifndef CRM_JOURNEYS_STATS_H
#define CRM_JOURNEYS_STATS_H

#include "crm/v1/bus.pb-c.h"

#include <stdint.h>
#include <stdio.h>

typedef struct jstats_t jstats_t;

typedef struct {
    uint64_t events;  // events with time_ms in the window
    double events_per_s;
    uint64_t steps;  // automatic steps (causes and effects both recorded)
    double step_p50_ms, step_p99_ms, step_max_ms;
} jstats_summary_t;

/*  A new, empty record, owned by the caller; NULL on out-of-memory. */
jstats_t *jstats_new (void);

/*  Frees it; nulls *self_p. Safe on NULL. */
void jstats_destroy (jstats_t **self_p);

/*  Records one event. Returns 0, or -1 on out-of-memory. */
int jstats_event (jstats_t *self, const Crm__V1__Envelope *event);

/*  Records a command's round trip: type (e.g. "MoveLead"), µs from send to
    reply. Returns 0, or -1 on out-of-memory. */
int jstats_command (jstats_t *self, const char *type, int64_t rtt_us);

/*  Writes the figures to out: events per source and type in the window
    [from_ms, to_ms] (ms UTC), the automatic steps (all recorded events)
    overall and per cause -> effect type with count, p50, p99 and max, and
    the commands' round trips. Fills *summary. Returns 0, -1 on
    out-of-memory. */
int jstats_report (jstats_t *self, FILE *out, int64_t from_ms, int64_t to_ms, jstats_summary_t *summary);

#endif

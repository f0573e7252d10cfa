/*  journeys_flow: the journeys benchmark's staff and other system: what
    each journey does next when a reply or an event arrives (the journey
    itself is described in bench/journeys.c).

    A journey is at one stage at a time: the reply or the event it waits
    for. Commands go through the bus (journeys_bus.h), tagged with the
    journey's index; tasks are completed by their responsible as soon as
    tasks.TaskCreated shows them (the proposal task when the lead is in
    progress). A refused or unanswered command fails its journey (it stays
    at the stage it was at, and the first ten are described on stderr).
*/
#ifndef CRM_JOURNEYS_FLOW_H
#define CRM_JOURNEYS_FLOW_H

#include "journeys_bus.h"
#include "journeys_stats.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    J_SUBMIT,
    J_IN_PROGRESS,
    J_PROPOSAL_TASK,
    J_PROPOSAL_DONE,
    J_ANSWER,
    J_CONVERT,
    J_DEAL_OPENED,
    J_INVOICE,
    J_AWAITING_PAYMENT,
    J_PAID,
    J_SUPPLY,
    J_PRODUCTION,
    J_PRODUCTION_DONE,
    J_SHIPPED,
    J_WON,
    J_DONE,
    J_COUNT
} jstage_t;

/*  What a journey at each stage is waiting for, for people. */
extern const char *const jflow_stage_text[J_COUNT];

/*  The same, in one word each, for progress lines. */
extern const char *const jflow_stage_short[J_COUNT];

typedef struct {
    uint64_t lead_id, deal_id, proposal_task;
    int64_t start_ms, end_ms;  // ms UTC
    uint8_t stage, failed_at;  // failed_at: the stage a refused or unanswered command left it at, + 1
    uint8_t tasks_expected, tasks_seen, tasks_done;
    bool deal_seen, awaiting_seen, won_seen;
} journey_t;

typedef struct {  // u64 -> journey index + 1, open addressing
    uint64_t *keys;
    uint32_t *values;
    size_t mask;
} idmap_t;

typedef struct {
    jbus_t *bus;      // the caller's; set before jflow_submit
    jstats_t *stats;  // the caller's: every event and round trip is recorded there
    journey_t *j;     // n journeys
    long n;
    bool leads_only;  // done when converted
    idmap_t leads, deals;
    long done, failed;
    long foreign_tasks;        // TaskCreated for records that are not our journeys'
    long extra_tasks;          // tasks beyond what a journey's branches call for
    int64_t last_done_ms;      // ms UTC
    int64_t last_activity_ms;  // monotonic ms of the last event or reply
    char run[16];              // this run's part of the leads' external ids
    int errors_shown;
} jflow_t;

/*  Allocates n journeys with their branches (bits of their index). Returns
    0, or -1 on out-of-memory (jflow_free frees what was made). */
int jflow_init (jflow_t *self, long n, bool leads_only);

/*  Frees what jflow_init made (not the bus, nor the stats). */
void jflow_free (jflow_t *self);

/*  Starts journey i: the other system submits its lead. */
void jflow_submit (jflow_t *self, long i);

/*  The bus's callbacks (journeys_bus.h), arg the jflow_t. */
void jflow_on_event (void *arg, const Crm__V1__Envelope *event);
void jflow_on_reply (void *arg, uint64_t tag, const Crm__V1__Reply *reply, int64_t rtt_us);

#endif

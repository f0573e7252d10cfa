/*  record_events: the event paths the two services that own pipeline
    records (leads: a lead, deals: a deal) share: TimerFired of one of the
    record's timers, TaskCreated and TaskCompleted of a task of the record
    ("<kind>:<id>"). Each locks the record FOR UPDATE (inside the batch's
    transaction), records what the event says and runs it through the rules
    where it is an input of theirs; an unknown record or a refusal is a dead
    letter (SERVICE_REJECT, why in reason).

    The service fills record_events_t with its own store functions (its SQL
    stays in its store) and calls these from its event handlers, passing
    the arguments the service runtime gave it (service_event_fn).
*/
#ifndef CRM_RECORD_EVENTS_H
#define CRM_RECORD_EVENTS_H

#include "db.h"
#include "engine.h"
#include "service.h"
#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  What a service does on the shared paths; owner is passed back to
    apply. */
typedef struct {
    const char *kind;         // "lead", "deal": records "<kind>:<id>", reasons "no <kind> <id>"
    service_t *svc;           // the service's runtime (its db, its name as a timer's owner)
    const pipeline_t *def;    // its definition (timer keys)
    const char *timer_whose;  // ends the reason for a key of none of its timers ("the lead funnel's")
    bool task_numbers;        // a completion: its attachments in the history, its number to the rules
    void *owner;

    /*  Loads record id FOR UPDATE (*found false: there is none, nothing
        done), then, unless in is NULL (only the lock wanted), runs in
        through the rules into result and stores and emits what they
        decided (causation: the event's id). Returns SERVICE_OK, also for
        a refusal (result->code set: nothing changed), or the failure. */
    service_rc_t (*apply) (void *owner, uint64_t id, const engine_input_t *in, const char *causation,
                           engine_result_t *result, bool *found);
    /*  Records what the tasks service says of a task of record id:
        created (completed false) or completed; a completion names no
        title or responsible ("": keep what is known). */
    db_rc_t (*task) (db_t *db, uint64_t id, const Crm__V1__TaskCreated *task, bool completed);
    /*  Appends n history lines of record id, all at at_ms, in order. */
    db_rc_t (*history) (db_t *db, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n);
    /*  The timer key fired at due_ms is no longer pending; NULL: the
        service keeps no pending timers. */
    db_rc_t (*timer_gone) (db_t *db, const char *key, int64_t due_ms);
} record_events_t;

/*  TimerFired: a timer of another owner is skipped; one of the service's
    goes to the rules as ENGINE_TIMER (actor "system", now: when it fired). */
service_rc_t record_events_timer_fired (const record_events_t *self, const Crm__V1__Envelope *event,
                                        char *reason, size_t size);

/*  TaskCreated of a task of one of the service's records: recorded, with
    a history line "task created" by its creator; others are skipped. */
service_rc_t record_events_task_created (const record_events_t *self, const Crm__V1__Envelope *event,
                                         char *reason, size_t size);

/*  TaskCompleted of a task of one of the service's records: recorded,
    with a history line "task completed" by who completed it, then goes to
    the rules as ENGINE_TASK_DONE (now: when it was completed); others are
    skipped. */
service_rc_t record_events_task_completed (const record_events_t *self, const Crm__V1__Envelope *event,
                                           char *reason, size_t size);

#endif

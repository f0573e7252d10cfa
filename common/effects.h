/*  effects: the rule engine's effects that ask another service for work
    (engine.h), as the request events every pipeline's owner emits the
    same way (leads, deals): ENGINE_NOTIFY -> NotificationRequested (the
    notifier), ENGINE_TASK -> TaskRequested, ENGINE_ACTIVITY ->
    ActivityRequested, ENGINE_ACTIVITY_CANCEL -> ActivityCancelRequested
    (the tasks service), ENGINE_TIMER_SET -> TimerRequested,
    ENGINE_TIMER_CANCEL -> TimerCancelRequested (the timer service, owner:
    the emitting service). What the owner records of them (its tasks by
    tag, its pending timers) and the effects only it knows (a contact, a
    deal) stay with the owner.
*/
#ifndef CRM_EFFECTS_H
#define CRM_EFFECTS_H

#include "engine.h"
#include "service.h"

/*  Emits e's request event into svc's open transaction (service_emit),
    correlated to record ("lead:5", "deal:7": also the record of the tasks
    and activities asked for) and caused by causation (the command's or
    event's id). Timers are asked for with owner = svc's name, so that their
    TimerFired is the caller's to act on. Returns SERVICE_OK, SERVICE_FAIL on
    out-of-memory, or SERVICE_FAIL (logged) for a kind that is not shared. */
service_rc_t effects_emit (service_t *svc, const engine_effect_t *e, const char *record,
                           const char *causation);

#endif

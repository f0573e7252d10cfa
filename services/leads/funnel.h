/*  funnel: the lead funnel (process.md §1), run by the rule engine
    (engine.h) from the loaded definition. Every path is the same: the lead
    is loaded FOR UPDATE in the batch's transaction, engine_apply decides,
    and what it decided is stored (stage, fields, version, history, the
    tasks asked for, contacts) and emitted through the outbox in that same
    transaction (NotificationRequested, TaskRequested, ActivityRequested,
    TimerRequested / TimerCancelRequested, LeadMoved, LeadConverted), with
    correlation id "lead:<id>" and the command's or event's id as
    causation. An item is applied fully before the next one of the batch
    is, so a second touch of the same lead sees the first's result.

    New leads are the exception, set-based for speed: the batch's new leads
    are decided in turn (funnel_decide_new: their rows, history lines and
    tasks buffered in the batch's store), written set-based
    (store_write), then announced in the same order (funnel_announce_new),
    each one's events as the path above would have emitted them.
*/
#ifndef CRM_LEADS_FUNNEL_H
#define CRM_LEADS_FUNNEL_H

#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "crm/v1/leads.pb-c.h"

typedef struct funnel_t funnel_t;

/*  Creates the funnel of svc for def (kept by pointer: it must outlive
    it). NULL on out-of-memory. */
funnel_t *funnel_new (service_t *svc, const pipeline_t *def);

/*  Frees it (and the new leads not announced); nulls *self_p. */
void funnel_destroy (funnel_t **self_p);

/*  A new lead of the batch, to be stored as lead_id (reserved by
    store_resolve), with its responsible already set: runs the definition's
    rules for a new lead and buffers its row, history lines and tasks in
    batch. lead and causation_id are kept by pointer until
    funnel_announce_new or funnel_forget_new. Returns SERVICE_OK, or
    SERVICE_FAIL (out-of-memory; the definition refused it: logged). */
service_rc_t funnel_decide_new (funnel_t *self, store_t *batch, uint64_t lead_id,
                                const Crm__V1__LeadReceived *lead, const char *causation_id);

/*  Once the batch's store_write has stored them: emits, for each new lead
    decided, in order, LeadCreated and what its rules decided (moves, then
    effects: contacts are made now, one lead at a time), then forgets them.
    Returns SERVICE_OK or the first failure. */
service_rc_t funnel_announce_new (funnel_t *self);

/*  Forgets the new leads decided and not announced (after a rollback). */
void funnel_forget_new (funnel_t *self);

/*  Command "MoveLead" (arg: the funnel): moves a lead and/or sets its
    fields for Command.sender. Reply MoveLeadReply; errors NOT_FOUND,
    MALFORMED, INVALID_ARGUMENT, MOVE_NOT_ALLOWED, STALE_VERSION. */
service_command_fn funnel_move_lead;

/*  Events (arg: the funnel): TimerFired with owner "leads"; TaskCreated
    and TaskCompleted of records "lead:<id>". Others are skipped. */
service_event_fn funnel_timer_fired;
service_event_fn funnel_task_created;
service_event_fn funnel_task_completed;

#endif

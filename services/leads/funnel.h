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
*/
#ifndef CRM_LEADS_FUNNEL_H
#define CRM_LEADS_FUNNEL_H

#include "pipeline.h"
#include "service.h"
#include "crm/v1/leads.pb-c.h"

typedef struct funnel_t funnel_t;

/*  Creates the funnel of svc for def, assigning leads with staff (both
    kept by pointer: they must outlive it). NULL on out-of-memory. */
funnel_t *funnel_new (service_t *svc, const pipeline_t *def, const staff_t *staff);

/*  Frees it; nulls *self_p. */
void funnel_destroy (funnel_t **self_p);

/*  A lead was just stored in the open transaction as lead_id: assigns it
    (lead->responsible, when empty, is replaced by the login it gets: round
    robin among the managers or the fixed login of staff.lead_assignment,
    both checked by staff_load),
    emits LeadCreated and runs the definition's rules for a new lead. */
service_rc_t funnel_created (funnel_t *self, uint64_t lead_id, Crm__V1__LeadReceived *lead,
                             const char *causation_id);

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

/*  deal: deals in the deal pipeline (process.md §2, the shipped «Новый
    клиент»), run by the rule engine (engine.h) from the loaded definition.
    Every path is the same as the lead funnel's: the deal is loaded FOR
    UPDATE in the batch's transaction, engine_apply decides, and what it
    decided is stored (stage, fields, version, history, the tasks asked for,
    the timers pending) and emitted through the outbox in that same
    transaction (effects.h: NotificationRequested, TaskRequested,
    ActivityRequested, TimerRequested / TimerCancelRequested; DealOpened,
    DealMoved), with correlation id "deal:<id>" and the command's or
    event's id as causation. An item is applied fully before the next one
    of the batch is, so a second touch of the same deal sees the first's
    result.
*/
#ifndef CRM_DEALS_DEAL_H
#define CRM_DEALS_DEAL_H

#include "pipeline.h"
#include "service.h"

typedef struct deal_t deal_t;

/*  Creates the deals of svc for def (kept by pointer: it must outlive
    them). NULL on out-of-memory. */
deal_t *deal_new (service_t *svc, const pipeline_t *def);

/*  Frees it; nulls *self_p. */
void deal_destroy (deal_t **self_p);

/*  Checks what the service needs of def beyond the loader's checks: a
    pipeline of deals, and with a lost stage, a text field lost_reason
    (LoseDeal's convention, docs/pipelines.md). Returns 0, or -1 with why in
    err (err_size bytes). */
int deal_check_definition (const pipeline_t *def, char *err, size_t err_size);

/*  Event LeadConverted (arg: the deals): opens the lead's deal at the first
    stage (DealOpened, history, the first stage's rules), once per lead. A
    deal pipeline other than def's, or no lead id or responsible, is a dead
    letter. */
service_event_fn deal_lead_converted;

/*  Commands (arg: the deals), for Command.sender: "MoveDeal" moves a deal
    and/or sets its fields; "LoseDeal" moves it to the lost stage with a
    reason. Reply MoveDealReply; errors NOT_FOUND, MALFORMED,
    INVALID_ARGUMENT, MOVE_NOT_ALLOWED, STALE_VERSION, FAILED_PRECONDITION
    (LoseDeal: the pipeline has no lost stage). */
service_command_fn deal_move;
service_command_fn deal_lose;

/*  Events (arg: the deals): TimerFired with owner "deals"; TaskCreated
    and TaskCompleted of records "deal:<id>". Others are skipped. */
service_event_fn deal_timer_fired;
service_event_fn deal_task_created;
service_event_fn deal_task_completed;

#endif

/*  deal: see deal.h. */
#include "deal.h"
#include "clock.h"
#include "effects.h"
#include "engine.h"
#include "log.h"
#include "record.h"
#include "record_events.h"
#include "store.h"
#include "utf8.h"
#include "crm/v1/deals.pb-c.h"
#include "crm/v1/tasks.pb-c.h"
#include "crm/v1/timer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SET 64                 // field values one MoveDeal may set
#define LOST_REASON "lost_reason"  // LoseDeal's field (docs/pipelines.md)

struct deal_t {
    service_t *svc;
    const pipeline_t *def;
    record_events_t events;  // the timer and task paths
    char *timer_whose;       // "pipeline <id>'s"
};

static service_rc_t s_apply_id (void *owner, uint64_t id, const engine_input_t *in, const char *causation,
                                engine_result_t *result, bool *found);

deal_t *
deal_new (service_t *svc, const pipeline_t *def)
{
    deal_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    size_t size = (size_t) snprintf (NULL, 0, "pipeline %s's", def->id) + 1;
    self->timer_whose = malloc (size);
    if (!self->timer_whose) {
        free (self);
        return NULL;
    }
    snprintf (self->timer_whose, size, "pipeline %s's", def->id);
    self->svc = svc;
    self->def = def;
    self->events = (record_events_t){.kind = "deal",
                                     .svc = svc,
                                     .def = def,
                                     .timer_whose = self->timer_whose,
                                     .task_numbers = true,
                                     .owner = self,
                                     .apply = s_apply_id,
                                     .task = store_task_update,
                                     .history = store_history_add,
                                     .timer_gone = store_timer_gone};
    return self;
}

void
deal_destroy (deal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->timer_whose);
    free (*self_p);
    *self_p = NULL;
}

//  The definition's lost stage (the first of kind lost), or NULL.
static const pipeline_stage_t *
s_lost_stage (const pipeline_t *def)
{
    for (size_t i = 0; i < def->n_stages; i++)
        if (def->stages[i].kind == PIPELINE_LOST)
            return &def->stages[i];
    return NULL;
}

int
deal_check_definition (const pipeline_t *def, char *err, size_t err_size)
{
    if (strcmp (def->record, "deal") != 0) {
        snprintf (err, err_size, "%s: record is '%s': the deals service runs a pipeline of deals", def->path,
                  def->record);
        return -1;
    }
    const pipeline_field_t *reason = pipeline_field (def, LOST_REASON);
    if (s_lost_stage (def) && (!reason || reason->type != PIPELINE_TEXT)) {
        snprintf (err, err_size,
                  "%s: the lost stage '%s' needs a text field '%s' (LoseDeal sets the reason there)",
                  def->path, s_lost_stage (def)->id, LOST_REASON);
        return -1;
    }
    for (size_t i = 0; i < def->n_rules; i++)
        for (size_t j = 0; j < def->rules[i].n_actions; j++) {
            const pipeline_action_t *a = &def->rules[i].actions[j];
            if (a->kind == PIPELINE_CREATE_CONTACT || a->kind == PIPELINE_OPEN_DEAL) {
                snprintf (err, err_size, "%s:%d: rule '%s': %s is an action of lead pipelines", def->path,
                          a->line, def->rules[i].id,
                          a->kind == PIPELINE_OPEN_DEAL ? "open_deal" : "create_contact");
                return -1;
            }
        }
    return 0;
}

//  ---------------------------------------------------------------- effects

typedef struct {
    deal_t *self;
    const store_deal_t *deal;
    const engine_input_t *in;
    const char *causation;
    char correlation[32];  // "deal:<id>", also the tasks' record
    uint32_t version;      // after the change
} apply_t;

//  Records what the deal keeps of an effect (its tasks by tag, its pending
//  timers), then asks for the work.
static service_rc_t
s_effect (apply_t *a, const engine_effect_t *e)
{
    db_t *db = service_db (a->self->svc);
    db_rc_t rc = DB_OK;
    if (e->kind == ENGINE_TASK)
        rc = store_task_requested (db, e->key, a->deal->id, e->tag, e->text, e->recipient, e->rule);
    else if (e->kind == ENGINE_TIMER_SET)
        rc = store_timer_set (db, e->key, a->deal->id, e->timer, e->at_ms);
    else if (e->kind == ENGINE_TIMER_CANCEL)
        rc = store_timer_gone (db, e->key, -1);
    if (rc)
        return service_rc (rc);
    return effects_emit (a->self->svc, e, a->correlation, a->causation);
}

//  Runs in through the rules for deal (loaded FOR UPDATE, or just opened),
//  then stores and emits what they decided. save: store the deal even if
//  the rules changed nothing (a new deal). Returns SERVICE_OK, also for a
//  refusal (result->code set: nothing was changed), or the failure.
static service_rc_t
s_apply (deal_t *self, const store_deal_t *deal, const engine_input_t *in, const char *causation, bool save,
         engine_result_t *result)
{
    engine_record_t record = {deal->id,          deal->stage,       deal->version,       deal->entered_ms,
                              deal->responsible, deal->data.values, deal->data.n_values, deal->data.tags,
                              deal->data.n_tags};
    if (engine_apply (self->def, &record, in, result) < 0)
        return SERVICE_FAIL;
    if (result->code)
        return SERVICE_OK;
    apply_t a = {self, deal, in, causation, "", deal->version};
    snprintf (a.correlation, sizeof a.correlation, "deal:%" PRIu64, deal->id);
    if (result->changed || a.version == 0)
        a.version++;
    db_t *db = service_db (self->svc);
    db_rc_t rc = DB_OK;
    if (result->changed || save)
        rc = store_deal_save (db, deal->id, result->stage, result->values, result->n_values,
                              result->entered_ms, a.version);
    if (rc == DB_OK)
        rc = store_history_add (db, deal->id, in->now_ms, result->history, result->n_history);
    service_rc_t src = service_rc (rc);
    for (size_t i = 0; src == SERVICE_OK && i < result->n_moves; i++) {
        const engine_move_t *m = &result->moves[i];
        if (!*m->from)
            continue;  // entering the first stage: DealOpened says so
        Crm__V1__DealMoved event = CRM__V1__DEAL_MOVED__INIT;
        event.deal_id = deal->id;
        event.from_stage = (char *) m->from;
        event.to_stage = (char *) m->to;
        event.version = a.version;
        event.actor = (char *) (m->rule && *m->rule ? "system" : in->actor);
        event.rule = (char *) (m->rule ? m->rule : "");
        src = service_emit (self->svc, &event.base, a.correlation, causation);
        char id[24];
        log_info ("deal moved", "deal_id", log_u64 (id, deal->id), "correlation_id", a.correlation, "from",
                  m->from, "to", m->to, "actor", event.actor, "rule", event.rule, NULL);
    }
    for (size_t i = 0; src == SERVICE_OK && i < result->n_effects; i++)
        src = s_effect (&a, &result->effects[i]);
    return src;
}

//  ---------------------------------------------------------------- opening

//  The first string of the lead that is not UTF-8, by name, or NULL.
static const char *
s_converted_not_utf8 (const Crm__V1__LeadConverted *c)
{
    if (!utf8_valid (c->responsible))
        return "responsible";
    if (!utf8_valid (c->pipeline))
        return "pipeline";
    const Crm__V1__LeadReceived *l = c->lead;
    if (!l)
        return NULL;
    const char *names[] = {"name", "phone", "email", "company", "comment"};
    const char *texts[] = {l->name, l->phone, l->email, l->company, l->comment};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!utf8_valid (texts[i]))
            return names[i];
    return NULL;
}

//  A deal's title: the company's name, else the contact's, else how to
//  reach them, else the lead's number.
static void
s_title (const Crm__V1__LeadConverted *c, char *out, size_t size)
{
    const Crm__V1__LeadReceived *l = c->lead;
    const char *texts[] = {l ? l->company : "", l ? l->name : "", l ? l->phone : "", l ? l->email : ""};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (*texts[i]) {
            snprintf (out, size, "%s", texts[i]);
            out[utf8_boundary (out, strlen (out))] = 0;
            return;
        }
    snprintf (out, size, "Лид №%" PRIu64, c->lead_id);
}

static service_rc_t
s_open (deal_t *self, const Crm__V1__LeadConverted *c, const Crm__V1__Envelope *event)
{
    db_t *db = service_db (self->svc);
    char title[256], id[24], lead[24];
    s_title (c, title, sizeof title);
    log_u64 (lead, c->lead_id);
    uint64_t deal_id = 0;
    service_rc_t rc =
        service_rc (store_deal_open (db, c, self->def->id, self->def->stages[0].id, title, &deal_id));
    if (rc)
        return rc;
    if (!deal_id) {
        log_info ("lead already has its deal", "lead_id", lead, "event_id", event->event_id, NULL);
        return SERVICE_OK;
    }
    char correlation[32];
    snprintf (correlation, sizeof correlation, "deal:%" PRIu64, deal_id);
    Crm__V1__DealOpened opened = CRM__V1__DEAL_OPENED__INIT;
    opened.deal_id = deal_id;
    opened.lead_id = c->lead_id;
    opened.contact_id = c->contact_id;
    opened.company_id = c->company_id;
    opened.pipeline = self->def->id;
    opened.stage = self->def->stages[0].id;
    opened.responsible = c->responsible;
    opened.title = title;
    rc = service_emit (self->svc, &opened.base, correlation, event->event_id);
    log_info ("deal opened", "deal_id", log_u64 (id, deal_id), "correlation_id", correlation, "lead_id", lead,
              "responsible", c->responsible, NULL);

    int64_t now_ms = clock_now_ms ();
    char detail[200];
    int n = snprintf (detail, sizeof detail, "из лида №%" PRIu64, c->lead_id);
    if (c->contact_id)
        n += snprintf (detail + n, sizeof detail - (size_t) n, ", контакт №%" PRIu64, c->contact_id);
    if (c->company_id)
        snprintf (detail + n, sizeof detail - (size_t) n, ", компания №%" PRIu64, c->company_id);
    engine_history_t line = {"system", "", "opened", detail};
    if (rc == SERVICE_OK)
        rc = service_rc (store_history_add (db, deal_id, now_ms, &line, 1));

    store_deal_t row;
    engine_result_t result = {0};
    engine_input_t in = {.kind = ENGINE_CREATE, .actor = "system", .now_ms = now_ms};
    if (store_deal_new (&row, deal_id, c, title))
        rc = SERVICE_FAIL;
    if (rc == SERVICE_OK)
        rc = s_apply (self, &row, &in, event->event_id, true, &result);
    if (rc == SERVICE_OK && result.code) {
        log_error ("the definition refused a new deal", "deal_id", id, "code", result.code, "error",
                   result.message, NULL);
        rc = SERVICE_FAIL;
    }
    engine_result_free (&result);
    store_deal_free (&row);
    return rc;
}

service_rc_t
deal_lead_converted (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    deal_t *self = arg;
    Crm__V1__LeadConverted *c =
        crm__v1__lead_converted__unpack (NULL, event->payload.len, event->payload.data);
    if (!c) {
        snprintf (reason, size, "payload is not a crm.v1.LeadConverted");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    const char *bad = s_converted_not_utf8 (c);
    if (bad)
        snprintf (reason, size, "LeadConverted: %s is not valid UTF-8", bad);
    else if (strcmp (c->pipeline, self->def->id) != 0)
        snprintf (reason, size,
                  "LeadConverted of lead %" PRIu64 " asks for pipeline '%.100s'; this service runs '%s'",
                  c->lead_id, c->pipeline, self->def->id);
    else if (!c->lead_id)
        snprintf (reason, size, "LeadConverted without a lead_id");
    else if (!*c->responsible)
        snprintf (reason, size, "LeadConverted of lead %" PRIu64 " without a responsible", c->lead_id);
    else
        rc = s_open (self, c, event);
    crm__v1__lead_converted__free_unpacked (c, NULL);
    return rc;
}

//  ---------------------------------------------------------------- commands

//  Moves deal_id to stage (or only sets fields) for cmd's sender; answers
//  MoveDealReply or the refusal.
static service_rc_t
s_command (deal_t *self, const Crm__V1__Command *cmd, uint64_t deal_id, const char *stage,
           const engine_value_t *set, size_t n_set, uint32_t version, service_reply_t *reply)
{
    store_deal_t deal = {0};
    engine_result_t result = {0};
    char id[24];
    service_rc_t rc = service_rc (store_deal_load (service_db (self->svc), deal_id, true, &deal));
    if (rc)
        goto cleanup;
    if (!deal.id) {
        record_reply_not_found (reply, "deal", deal_id);
        rc = SERVICE_REJECT;
        goto cleanup;
    }
    engine_input_t in = {.kind = ENGINE_MOVE,
                         .actor = cmd->sender,
                         .now_ms = clock_now_ms (),
                         .stage = stage,
                         .set = set,
                         .n_set = n_set,
                         .version = version};
    rc = s_apply (self, &deal, &in, cmd->command_id, false, &result);
    log_u64 (id, deal.id);
    if (rc == SERVICE_OK && result.code) {
        log_info ("move refused", "deal_id", id, "command_id", cmd->command_id, "code", result.code, "error",
                  result.message, NULL);
        service_reply_error (reply, result.code, result.message, result.fields, result.n_fields);
        rc = SERVICE_REJECT;
    }
    else if (rc == SERVICE_OK) {
        Crm__V1__MoveDealReply answer = CRM__V1__MOVE_DEAL_REPLY__INIT;
        answer.deal_id = deal.id;
        answer.stage = (char *) result.stage;
        answer.version = deal.version + (result.changed ? 1 : 0);
        service_reply_set (reply, &answer.base);
    }

cleanup:
    engine_result_free (&result);
    store_deal_free (&deal);
    return rc;
}

//  A command needs a sender: who moves the deal. Answers the refusal and
//  returns false without one.
static bool
s_has_sender (const Crm__V1__Command *cmd, service_reply_t *reply)
{
    if (*cmd->sender)
        return true;
    service_reply_error (reply, "INVALID_ARGUMENT", "the command's sender must be the login of who moves it",
                         (const char *[]){"sender"}, 1);
    return false;
}

service_rc_t
deal_move (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) svc;
    Crm__V1__MoveDeal *move = crm__v1__move_deal__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!move) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.MoveDeal", NULL, 0);
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    engine_value_t set[MAX_SET];
    char message[160];
    const char *bad = utf8_valid (move->stage) ? NULL : "stage";
    for (size_t i = 0; !bad && i < move->n_set; i++)
        if (!utf8_valid (move->set[i]->name))
            bad = "set";
        else if (!utf8_valid (move->set[i]->value))
            bad = move->set[i]->name;
    if (bad) {
        snprintf (message, sizeof message, "%s is not valid UTF-8", bad);
        service_reply_error (reply, "INVALID_ARGUMENT", message, &bad, 1);
    }
    else if (move->n_set > MAX_SET) {
        snprintf (message, sizeof message, "at most %d fields in one move", MAX_SET);
        service_reply_error (reply, "INVALID_ARGUMENT", message, (const char *[]){"set"}, 1);
    }
    else if (s_has_sender (cmd, reply)) {
        for (size_t i = 0; i < move->n_set; i++)
            set[i] = (engine_value_t){move->set[i]->name, move->set[i]->value};
        rc = s_command (arg, cmd, move->deal_id, move->stage, set, move->n_set, move->version, reply);
    }
    crm__v1__move_deal__free_unpacked (move, NULL);
    return rc;
}

service_rc_t
deal_lose (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) svc;
    deal_t *self = arg;
    Crm__V1__LoseDeal *lose = crm__v1__lose_deal__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!lose) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.LoseDeal", NULL, 0);
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    const pipeline_stage_t *lost = s_lost_stage (self->def);
    char message[300];
    if (!utf8_valid (lose->reason))
        service_reply_error (reply, "INVALID_ARGUMENT", "reason is not valid UTF-8",
                             (const char *[]){"reason"}, 1);
    else if (!*lose->reason)
        service_reply_error (reply, "INVALID_ARGUMENT", "a lost deal needs a reason (why it failed)",
                             (const char *[]){"reason"}, 1);
    else if (!lost) {
        snprintf (message, sizeof message, "pipeline %s has no lost stage", self->def->id);
        service_reply_error (reply, "FAILED_PRECONDITION", message, (const char *[]){"stage"}, 1);
    }
    else if (s_has_sender (cmd, reply)) {
        engine_value_t set = {LOST_REASON, lose->reason};
        rc = s_command (self, cmd, lose->deal_id, lost->id, &set, 1, lose->version, reply);
    }
    crm__v1__lose_deal__free_unpacked (lose, NULL);
    return rc;
}

//  ---------------------------------------------------------------- events

//  record_events_t's apply: deal id loaded FOR UPDATE, then in applied.
static service_rc_t
s_apply_id (void *owner, uint64_t id, const engine_input_t *in, const char *causation,
            engine_result_t *result, bool *found)
{
    deal_t *self = owner;
    store_deal_t deal;
    service_rc_t rc = service_rc (store_deal_load (service_db (self->svc), id, true, &deal));
    *found = deal.id != 0;
    if (rc == SERVICE_OK && *found && in)
        rc = s_apply (self, &deal, in, causation, false, result);
    store_deal_free (&deal);
    return rc;
}

service_rc_t
deal_timer_fired (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    return record_events_timer_fired (&((deal_t *) arg)->events, event, reason, size);
}

service_rc_t
deal_task_created (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    return record_events_task_created (&((deal_t *) arg)->events, event, reason, size);
}

service_rc_t
deal_task_completed (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    return record_events_task_completed (&((deal_t *) arg)->events, event, reason, size);
}

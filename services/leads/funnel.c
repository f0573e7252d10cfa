/*  funnel: see funnel.h. */
#include "funnel.h"
#include "clock.h"
#include "effects.h"
#include "engine.h"
#include "log.h"
#include "record.h"
#include "record_events.h"
#include "store.h"
#include "utf8.h"
#include "crm/v1/tasks.pb-c.h"
#include "crm/v1/timer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SET 64  // field values one MoveLead may set

//  A new lead decided, waiting to be announced.
typedef struct {
    uint64_t id;
    const Crm__V1__LeadReceived *lead;  // the caller's
    const char *causation;              // the caller's
    store_lead_t row;
    engine_input_t in;
    engine_result_t result;
} pending_t;

struct funnel_t {
    service_t *svc;
    const pipeline_t *def;
    pending_t *pending;
    size_t count, cap;
    record_events_t events;  // the timer and task paths
};

static service_rc_t s_apply_id (void *owner, uint64_t id, const engine_input_t *in, const char *causation,
                                engine_result_t *result, bool *found);

funnel_t *
funnel_new (service_t *svc, const pipeline_t *def)
{
    funnel_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    *self = (funnel_t){.svc = svc, .def = def};
    //  The leads service keeps no pending timers, nor task numbers for the rules.
    self->events = (record_events_t){.kind = "lead",
                                     .svc = svc,
                                     .def = def,
                                     .timer_whose = "the lead funnel's",
                                     .owner = self,
                                     .apply = s_apply_id,
                                     .task = store_task_update,
                                     .history = store_history_add};
    return self;
}

void
funnel_destroy (funnel_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    funnel_forget_new (*self_p);
    free ((*self_p)->pending);
    free (*self_p);
    *self_p = NULL;
}

//  ---------------------------------------------------------------- effects

typedef struct {
    funnel_t *self;
    const store_lead_t *lead;
    const engine_input_t *in;
    const engine_result_t *result;
    const char *causation;
    char correlation[32];  // "lead:<id>", also the tasks' record
    uint32_t version;      // after the change
    uint64_t contact_id, company_id;
    bool tasks_stored;  // a new lead's: its tasks went with its row
} apply_t;

static service_rc_t
s_emit (apply_t *a, const ProtobufCMessage *msg)
{
    return service_emit (a->self->svc, msg, a->correlation, a->causation);
}

//  The lead's data as LeadReceived (strings borrowed from lead).
static Crm__V1__LeadReceived
s_received (const store_lead_t *lead)
{
    Crm__V1__LeadReceived r = CRM__V1__LEAD_RECEIVED__INIT;
    r.source_system = (char *) lead->source_system;
    r.external_id = (char *) lead->external_id;
    r.name = (char *) lead->name;
    r.phone = (char *) lead->phone;
    r.email = (char *) lead->email;
    r.company = (char *) lead->company;
    r.comment = (char *) lead->comment;
    r.responsible = (char *) lead->responsible;
    return r;
}

//  The deals service opens the deal from this alone.
static service_rc_t
s_converted (apply_t *a, const engine_effect_t *e)
{
    const engine_result_t *result = a->result;
    Crm__V1__FieldValue *values = calloc (result->n_values + 1, sizeof *values);
    Crm__V1__FieldValue **fields = calloc (result->n_values + 1, sizeof *fields);
    char (*display)[RECORD_DISPLAY_MAX] = calloc (result->n_values + 1, sizeof *display);
    service_rc_t rc = values && fields && display ? SERVICE_OK : SERVICE_FAIL;
    for (size_t i = 0; rc == SERVICE_OK && i < result->n_values; i++) {
        record_field_value (a->self->def, result->values[i].name, result->values[i].value, display[i],
                            &values[i]);
        fields[i] = &values[i];
    }
    if (rc == SERVICE_OK) {
        Crm__V1__LeadReceived lead = s_received (a->lead);
        Crm__V1__LeadConverted event = CRM__V1__LEAD_CONVERTED__INIT;
        event.lead_id = a->lead->id;
        event.lead = &lead;
        event.contact_id = a->contact_id;
        event.company_id = a->company_id;
        event.responsible = (char *) a->lead->responsible;
        event.pipeline = (char *) e->pipeline;
        event.n_fields = result->n_values;
        event.fields = fields;
        rc = s_emit (a, &event.base);
        char id[24];
        log_info ("lead converted", "lead_id", log_u64 (id, a->lead->id), "correlation_id", a->correlation,
                  "pipeline", e->pipeline, NULL);
    }
    free (values);
    free (fields);
    free (display);
    return rc;
}

static service_rc_t
s_contact (apply_t *a, const engine_effect_t *e)
{
    bool no_deal = e->flag && *e->flag;
    db_rc_t rc =
        store_contact_make (service_db (a->self->svc), a->lead, no_deal, &a->contact_id, &a->company_id);
    if (rc)
        return service_rc (rc);
    //  The engine's own line says what the rule asked for; this one which
    //  rows the lead is linked to (new or found again).
    char detail[300];
    int n = snprintf (detail, sizeof detail, "контакт №%" PRIu64, a->contact_id);
    if (a->company_id)
        n += snprintf (detail + n, sizeof detail - (size_t) n, ", компания №%" PRIu64, a->company_id);
    if (no_deal)
        snprintf (detail + n, sizeof detail - (size_t) n, ", «%s»", e->flag);
    engine_history_t line = {"system", e->rule, "contact linked", detail};
    return service_rc (store_history_add (service_db (a->self->svc), a->lead->id, a->in->now_ms, &line, 1));
}

static service_rc_t
s_effect (apply_t *a, const engine_effect_t *e)
{
    if (e->kind == ENGINE_CREATE_CONTACT)
        return s_contact (a, e);
    if (e->kind == ENGINE_OPEN_DEAL)
        return s_converted (a, e);
    if (e->kind == ENGINE_TASK && !a->tasks_stored) {
        //  Counted by tag from now on, for the rules that wait for them.
        db_rc_t rc = store_task_requested (service_db (a->self->svc), e->key, a->lead->id, e->tag);
        if (rc)
            return service_rc (rc);
    }
    return effects_emit (a->self->svc, e, a->correlation, a->causation);
}

//  Runs in through the rules for lead (loaded FOR UPDATE, or new) into
//  result; 0, or -1 on out-of-memory. result->code set: refused.
static int
s_decide (funnel_t *self, const store_lead_t *lead, const engine_input_t *in, engine_result_t *result)
{
    engine_record_t record = {lead->id,          lead->stage,       lead->version,       lead->entered_ms,
                              lead->responsible, lead->data.values, lead->data.n_values, lead->data.tags,
                              lead->data.n_tags};
    return engine_apply (self->def, &record, in, result);
}

//  The lead's version once result is stored.
static uint32_t
s_version (const store_lead_t *lead, const engine_result_t *result)
{
    return lead->version + (result->changed || lead->version == 0 ? 1 : 0);
}

//  Emits what result decided for lead (stored already): its moves, then
//  its effects.
static service_rc_t
s_announce (funnel_t *self, const store_lead_t *lead, const engine_input_t *in, const char *causation,
            const engine_result_t *result, bool tasks_stored)
{
    apply_t a = {self,
                 lead,
                 in,
                 result,
                 causation,
                 "",
                 s_version (lead, result),
                 lead->contact_id,
                 lead->company_id,
                 tasks_stored};
    snprintf (a.correlation, sizeof a.correlation, "lead:%" PRIu64, lead->id);
    service_rc_t src = SERVICE_OK;
    for (size_t i = 0; src == SERVICE_OK && i < result->n_moves; i++) {
        const engine_move_t *m = &result->moves[i];
        if (!*m->from)
            continue;  // entering the first stage: LeadCreated says so
        Crm__V1__LeadMoved event = CRM__V1__LEAD_MOVED__INIT;
        event.lead_id = lead->id;
        event.from_stage = (char *) m->from;
        event.to_stage = (char *) m->to;
        event.version = a.version;
        event.actor = (char *) (m->rule && *m->rule ? "system" : in->actor);
        event.rule = (char *) (m->rule ? m->rule : "");
        src = s_emit (&a, &event.base);
        char id[24];
        log_info ("lead moved", "lead_id", log_u64 (id, lead->id), "correlation_id", a.correlation, "from",
                  m->from, "to", m->to, "actor", event.actor, "rule", event.rule, NULL);
    }
    for (size_t i = 0; src == SERVICE_OK && i < result->n_effects; i++)
        src = s_effect (&a, &result->effects[i]);
    return src;
}

//  Runs in through the rules for lead (loaded FOR UPDATE), then stores and
//  emits what they decided. Returns SERVICE_OK, also for a refusal
//  (result->code set: nothing was changed), or the failure.
static service_rc_t
s_apply (funnel_t *self, const store_lead_t *lead, const engine_input_t *in, const char *causation,
         engine_result_t *result)
{
    if (s_decide (self, lead, in, result) < 0)
        return SERVICE_FAIL;
    if (result->code)
        return SERVICE_OK;
    db_t *db = service_db (self->svc);
    db_rc_t rc = DB_OK;
    if (result->changed)
        rc = store_lead_save (db, lead->id, result->stage, result->values, result->n_values,
                              result->entered_ms, s_version (lead, result), lead->responsible);
    if (rc == DB_OK)
        rc = store_history_add (db, lead->id, in->now_ms, result->history, result->n_history);
    service_rc_t src = service_rc (rc);
    return src ? src : s_announce (self, lead, in, causation, result, false);
}

//  ---------------------------------------------------------------- paths

service_rc_t
funnel_decide_new (funnel_t *self, store_t *batch, uint64_t lead_id, const Crm__V1__LeadReceived *lead,
                   const char *causation_id)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        pending_t *pending = realloc (self->pending, cap * sizeof *pending);
        if (!pending)
            return SERVICE_FAIL;
        self->pending = pending;
        self->cap = cap;
    }
    pending_t *p = &self->pending[self->count++];
    *p = (pending_t){.id = lead_id, .lead = lead, .causation = causation_id};
    //  Who created it: the system it came from (crmctl for a person).
    p->in = (engine_input_t){.kind = ENGINE_CREATE, .actor = lead->source_system, .now_ms = clock_now_ms ()};
    if (store_lead_new (&p->row, lead_id, lead) || s_decide (self, &p->row, &p->in, &p->result) < 0)
        return SERVICE_FAIL;
    const engine_result_t *r = &p->result;
    if (r->code) {
        char id[24];
        log_error ("the definition refused a new lead", "lead_id", log_u64 (id, lead_id), "code", r->code,
                   "error", r->message, NULL);
        return SERVICE_FAIL;
    }
    int err = store_add_new (batch, lead_id, lead, r->stage, r->values, r->n_values, r->entered_ms,
                             s_version (&p->row, r));
    err |= store_add_history (batch, lead_id, p->in.now_ms, r->history, r->n_history);
    for (size_t i = 0; i < r->n_effects; i++)
        if (r->effects[i].kind == ENGINE_TASK)
            err |= store_add_task (batch, r->effects[i].key, lead_id, r->effects[i].tag);
    return err ? SERVICE_FAIL : SERVICE_OK;
}

service_rc_t
funnel_announce_new (funnel_t *self)
{
    service_rc_t rc = SERVICE_OK;
    for (size_t i = 0; rc == SERVICE_OK && i < self->count; i++) {
        pending_t *p = &self->pending[i];
        char correlation[32], id[24];
        snprintf (correlation, sizeof correlation, "lead:%" PRIu64, p->id);
        Crm__V1__LeadCreated event = CRM__V1__LEAD_CREATED__INIT;
        event.lead_id = p->id;
        event.lead = (Crm__V1__LeadReceived *) p->lead;
        event.stage = self->def->stages[0].id;
        log_info ("lead created", "lead_id", log_u64 (id, p->id), "correlation_id", correlation,
                  "source_system", p->lead->source_system, "external_id", p->lead->external_id, "responsible",
                  p->lead->responsible, NULL);
        rc = service_emit (self->svc, &event.base, correlation, p->causation);
        if (rc == SERVICE_OK)
            rc = s_announce (self, &p->row, &p->in, p->causation, &p->result, true);
    }
    funnel_forget_new (self);
    return rc;
}

void
funnel_forget_new (funnel_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        engine_result_free (&self->pending[i].result);
        store_lead_free (&self->pending[i].row);
    }
    self->count = 0;
}

//  The strings of a MoveLead that are not UTF-8 (protobuf-c does not
//  check): the first one's name, or NULL.
static const char *
s_not_utf8 (const Crm__V1__MoveLead *move)
{
    if (!utf8_valid (move->stage))
        return "stage";
    for (size_t i = 0; i < move->n_set; i++) {
        if (!utf8_valid (move->set[i]->name))
            return "set";
        if (!utf8_valid (move->set[i]->value))
            return utf8_valid (move->set[i]->name) ? move->set[i]->name : "set";
    }
    return NULL;
}

service_rc_t
funnel_move_lead (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    funnel_t *self = arg;
    Crm__V1__MoveLead *move = crm__v1__move_lead__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!move) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.MoveLead", NULL, 0);
        return SERVICE_REJECT;
    }
    store_lead_t lead = {0};
    engine_result_t result = {0};
    engine_value_t set[MAX_SET];
    service_rc_t rc = SERVICE_REJECT;
    const char *bad = s_not_utf8 (move);
    char message[160];
    if (bad) {
        snprintf (message, sizeof message, "%s is not valid UTF-8", bad);
        service_reply_error (reply, "INVALID_ARGUMENT", message, &bad, 1);
        goto cleanup;
    }
    if (!*cmd->sender) {
        service_reply_error (reply, "INVALID_ARGUMENT",
                             "the command's sender must be the login of who moves it",
                             (const char *[]){"sender"}, 1);
        goto cleanup;
    }
    if (move->n_set > MAX_SET) {
        snprintf (message, sizeof message, "at most %d fields in one move", MAX_SET);
        service_reply_error (reply, "INVALID_ARGUMENT", message, (const char *[]){"set"}, 1);
        goto cleanup;
    }
    rc = service_rc (store_lead_load (service_db (svc), move->lead_id, true, &lead));
    if (rc)
        goto cleanup;
    if (!lead.id) {
        record_reply_not_found (reply, "lead", move->lead_id);
        rc = SERVICE_REJECT;
        goto cleanup;
    }
    for (size_t i = 0; i < move->n_set; i++)
        set[i] = (engine_value_t){move->set[i]->name, move->set[i]->value};
    engine_input_t in = {.kind = ENGINE_MOVE,
                         .actor = cmd->sender,
                         .now_ms = clock_now_ms (),
                         .stage = move->stage,
                         .set = set,
                         .n_set = move->n_set,
                         .version = move->version};
    rc = s_apply (self, &lead, &in, cmd->command_id, &result);
    char id[24];
    log_u64 (id, lead.id);
    if (rc == SERVICE_OK && result.code) {
        log_info ("move refused", "lead_id", id, "command_id", cmd->command_id, "code", result.code, "error",
                  result.message, NULL);
        service_reply_error (reply, result.code, result.message, result.fields, result.n_fields);
        rc = SERVICE_REJECT;
    }
    else if (rc == SERVICE_OK) {
        Crm__V1__MoveLeadReply answer = CRM__V1__MOVE_LEAD_REPLY__INIT;
        answer.lead_id = lead.id;
        answer.stage = (char *) result.stage;
        answer.version = lead.version + (result.changed ? 1 : 0);
        service_reply_set (reply, &answer.base);
    }

cleanup:
    engine_result_free (&result);
    store_lead_free (&lead);
    crm__v1__move_lead__free_unpacked (move, NULL);
    return rc;
}

//  record_events_t's apply: lead id loaded FOR UPDATE, then in applied.
static service_rc_t
s_apply_id (void *owner, uint64_t id, const engine_input_t *in, const char *causation,
            engine_result_t *result, bool *found)
{
    funnel_t *self = owner;
    store_lead_t lead;
    service_rc_t rc = service_rc (store_lead_load (service_db (self->svc), id, true, &lead));
    *found = lead.id != 0;
    if (rc == SERVICE_OK && *found && in)
        rc = s_apply (self, &lead, in, causation, result);
    store_lead_free (&lead);
    return rc;
}

service_rc_t
funnel_timer_fired (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    return record_events_timer_fired (&((funnel_t *) arg)->events, event, reason, size);
}

service_rc_t
funnel_task_created (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    return record_events_task_created (&((funnel_t *) arg)->events, event, reason, size);
}

service_rc_t
funnel_task_completed (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    return record_events_task_completed (&((funnel_t *) arg)->events, event, reason, size);
}

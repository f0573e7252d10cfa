/*  journeys_flow: see journeys_flow.h. */
#include "journeys_flow.h"
#include "clock.h"
#include "crm/v1/deals.pb-c.h"
#include "crm/v1/leads.pb-c.h"
#include "crm/v1/tasks.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS (86400LL * 1000)

//  Each is what a journey at that stage waits for.
const char *const jflow_stage_text[J_COUNT] = {
    "SubmitLead's reply",
    "MoveLead in_progress's reply",
    "the proposal task (tasks.TaskCreated)",
    "CompleteTask (proposal)'s reply",
    "MoveLead answer_given's reply",
    "MoveLead converted's reply",
    "the deal (deals.DealOpened)",
    "MoveDeal invoice's reply",
    "the automatic move to awaiting_payment (deals.DealMoved)",
    "MoveDeal paid's reply",
    "MoveDeal supply's reply",
    "MoveDeal production's reply",
    "MoveDeal production_done's reply",
    "MoveDeal shipped's reply",
    "won (deals.DealMoved) and every task completed",
    "nothing: done",
};

const char *const jflow_stage_short[J_COUNT] = {
    "submit",          "in_progress", "proposal_task", "proposal_done", "answer_given", "converted",
    "deal_opened",     "invoice",     "awaiting",      "paid",          "supply",       "production",
    "production_done", "shipped",     "won",           "done",
};

//  Commands, as the tag's low byte; the journey's index is above it.
typedef enum { A_SUBMIT, A_MOVE_LEAD, A_PROPOSAL, A_MOVE_DEAL, A_TASK } action_t;
static const char *const s_action_type[] = {"SubmitLead", "MoveLead", "CompleteTask", "MoveDeal",
                                            "CompleteTask"};

static const char *const s_logins[] = {"ivanov", "smirnova", "petrova", "sidorov", "kuznetsova", "volkov"};
static const char *const s_managers[] = {"ivanov", "smirnova"};

//  ---------------------------------------------------------------- helpers

static int
s_map_init (idmap_t *map, size_t n)
{
    size_t cap = 1024;
    while (cap < 4 * n)
        cap *= 2;
    map->keys = calloc (cap, sizeof *map->keys);
    map->values = calloc (cap, sizeof *map->values);
    map->mask = cap - 1;
    return map->keys && map->values ? 0 : -1;
}

int
jflow_init (jflow_t *self, long n, bool leads_only)
{
    *self = (jflow_t){.n = n, .leads_only = leads_only};
    self->j = calloc ((size_t) n, sizeof *self->j);
    if (!self->j || s_map_init (&self->leads, (size_t) n) || s_map_init (&self->deals, (size_t) n))
        return -1;
    //  Tasks: proposal, invoice, supplier invoice (prepaid), pick-up (driver),
    //  design (designer), delivery, closing documents.
    for (long i = 0; i < n; i++)
        self->j[i].tasks_expected =
            leads_only ? 1 : (uint8_t) (4 + (i >> 1 & 1) + (i >> 2 & 1) + (i >> 3 & 1));
    snprintf (self->run, sizeof self->run, "%" PRId64, clock_now_ms () % 1000000000);
    return 0;
}

void
jflow_free (jflow_t *self)
{
    free (self->j);
    free (self->leads.keys);
    free (self->leads.values);
    free (self->deals.keys);
    free (self->deals.values);
    *self = (jflow_t){0};
}

static void
s_map_put (idmap_t *map, uint64_t key, uint32_t value)
{
    size_t i = (key * 0x9e3779b97f4a7c15ULL) >> 20 & map->mask;
    while (map->keys[i] && map->keys[i] != key)
        i = (i + 1) & map->mask;
    map->keys[i] = key;
    map->values[i] = value;
}

//  The journey of id, or NULL.
static journey_t *
s_map_get (jflow_t *self, idmap_t *map, uint64_t key)
{
    if (!key)
        return NULL;
    for (size_t i = (key * 0x9e3779b97f4a7c15ULL) >> 20 & map->mask; map->keys[i]; i = (i + 1) & map->mask)
        if (map->keys[i] == key)
            return &self->j[map->values[i] - 1];
    return NULL;
}

//  Our static copy of a staff login (command senders must outlive the bus's queue).
static const char *
s_login (const char *login)
{
    for (size_t i = 0; i < sizeof s_logins / sizeof *s_logins; i++)
        if (strcmp (s_logins[i], login) == 0)
            return s_logins[i];
    return NULL;
}

static void
s_iso (int64_t ms, char *out, size_t size)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static long
s_index (jflow_t *self, journey_t *j)
{
    return (long) (j - self->j);
}

static const char *
s_manager (jflow_t *self, journey_t *j)
{
    return s_managers[s_index (self, j) % 2];
}

static void
s_fail (jflow_t *self, journey_t *j, const char *why)
{
    if (j->failed_at || j->stage == J_DONE)
        return;
    j->failed_at = (uint8_t) (j->stage + 1);
    self->failed++;
    if (self->errors_shown++ < 10)
        fprintf (stderr,
                 "crm-benchjourneys: journey %ld (lead %" PRIu64 ", deal %" PRIu64 ") at \"%s\": %s\n",
                 s_index (self, j), j->lead_id, j->deal_id, jflow_stage_text[j->stage], why);
}

static void
s_send (jflow_t *self, journey_t *j, const char *service, const char *type, const char *sender,
        const ProtobufCMessage *payload, action_t action, jstage_t stage)
{
    if (stage != J_COUNT)
        j->stage = (uint8_t) stage;
    uint64_t tag = (uint64_t) s_index (self, j) << 8 | action;
    if (jbus_send (self->bus, service, type, sender, payload, tag))
        s_fail (self, j, "out of memory queueing a command");
}

//  ---------------------------------------------------------------- commands

void
jflow_submit (jflow_t *self, long i)
{
    journey_t *j = &self->j[i];
    char external[48], name[64], phone[32], email[64], company[64];
    snprintf (external, sizeof external, "%s-%ld", self->run, i);
    snprintf (name, sizeof name, "Клиент %ld", i);
    snprintf (phone, sizeof phone, "+7 900 %03ld-%02ld-%02ld", i / 10000 % 1000, i / 100 % 100, i % 100);
    snprintf (email, sizeof email, "client%ld@example.ru", i);
    snprintf (company, sizeof company, "ООО «Сувенир %ld»", i);
    Crm__V1__LeadReceived lead = CRM__V1__LEAD_RECEIVED__INIT;
    lead.source_system = "bench-journeys";
    lead.external_id = external;
    lead.name = name;
    lead.phone = phone;
    lead.email = email;
    lead.company = company;
    lead.comment = "Кружки с логотипом, 200 шт.";
    lead.responsible = (char *) s_manager (self, j);
    j->start_ms = clock_now_ms ();
    s_send (self, j, "leads", "SubmitLead", "bench-journeys", &lead.base, A_SUBMIT, J_SUBMIT);
}

static void
s_move_lead (jflow_t *self, journey_t *j, const char *stage, jstage_t next)
{
    char at[40];
    s_iso (clock_now_ms () + DAY_MS, at, sizeof at);
    Crm__V1__FieldValue call = CRM__V1__FIELD_VALUE__INIT;
    call.name = "next_call_at";
    call.value = at;
    Crm__V1__FieldValue *set[] = {&call};
    Crm__V1__MoveLead move = CRM__V1__MOVE_LEAD__INIT;
    move.lead_id = j->lead_id;
    move.stage = (char *) stage;
    if (next == J_ANSWER) {
        move.set = set;
        move.n_set = 1;
    }
    s_send (self, j, "leads", "MoveLead", s_manager (self, j), &move.base, A_MOVE_LEAD, next);
}

static void
s_complete (jflow_t *self, journey_t *j, uint64_t task_id, const char *login, bool invoice, action_t action)
{
    static uint8_t pdf[2048];  // the invoice the accountant attaches
    if (!pdf[0]) {
        memcpy (pdf, "%PDF-1.4\n", 9);
        for (size_t i = 9; i < sizeof pdf; i++)
            pdf[i] = (uint8_t) ('a' + i % 26);
    }
    Crm__V1__AttachmentData file = CRM__V1__ATTACHMENT_DATA__INIT;
    Crm__V1__AttachmentData *files[] = {&file};
    char name[48];
    snprintf (name, sizeof name, "invoice-%" PRIu64 ".pdf", j->deal_id);
    file.name = name;
    file.content_type = "application/pdf";
    file.data.data = pdf;
    file.data.len = sizeof pdf;
    Crm__V1__CompleteTask done = CRM__V1__COMPLETE_TASK__INIT;
    done.task_id = task_id;
    done.comment = invoice ? "Счет во вложении" : "Готово";
    if (invoice) {
        done.attachments = files;
        done.n_attachments = 1;
    }
    const char *sender = s_login (login);
    if (!sender) {
        s_fail (self, j, "a task for someone not in the staff directory");
        return;
    }
    s_send (self, j, "tasks", "CompleteTask", sender, &done.base, action,
            action == A_PROPOSAL ? J_PROPOSAL_DONE : J_COUNT);
}

//  The manager's next move of the deal after the stage the journey is at.
static void
s_move_deal (jflow_t *self, journey_t *j, jstage_t next)
{
    long i = s_index (self, j);
    char supply[40], end[40];
    int64_t now = clock_now_ms ();
    s_iso (now + 2 * DAY_MS, supply, sizeof supply);
    s_iso (now + 5 * DAY_MS, end, sizeof end);
    Crm__V1__FieldValue v[3] = {CRM__V1__FIELD_VALUE__INIT, CRM__V1__FIELD_VALUE__INIT,
                                CRM__V1__FIELD_VALUE__INIT};
    Crm__V1__FieldValue *set[] = {&v[0], &v[1], &v[2]};
    Crm__V1__MoveDeal move = CRM__V1__MOVE_DEAL__INIT;
    move.deal_id = j->deal_id;
    move.set = set;
    switch (next) {
        case J_INVOICE:
            move.stage = "invoice";
            v[0] =
                (Crm__V1__FieldValue){v[0].base, "service_type", i >> 4 & 1 ? "design_print" : "design", ""};
            v[1] = (Crm__V1__FieldValue){v[1].base, "designer_needed", i >> 3 & 1 ? "yes" : "no", ""};
            v[2] = (Crm__V1__FieldValue){v[2].base, "supplier_prepaid", i >> 1 & 1 ? "yes" : "no", ""};
            move.n_set = 3;
            break;
        case J_PAID: move.stage = "paid"; break;
        case J_SUPPLY:
            move.stage = "supply";
            v[0] = (Crm__V1__FieldValue){v[0].base, "supplier_pickup",
                                         i >> 2 & 1 ? "driver_pickup" : "supplier_delivers", ""};
            v[1] = (Crm__V1__FieldValue){v[1].base, "supply_at", supply, ""};
            move.n_set = 2;
            break;
        case J_PRODUCTION:
            move.stage = "production";
            v[0] = (Crm__V1__FieldValue){v[0].base, "production_end_at", end, ""};
            move.n_set = 1;
            break;
        case J_PRODUCTION_DONE:
            move.stage = "production_done";
            v[0] = (Crm__V1__FieldValue){v[0].base, "delivery_mode", i & 1 ? "self" : "courier", ""};
            move.n_set = 1;
            break;
        default: move.stage = "shipped"; break;
    }
    s_send (self, j, "deals", "MoveDeal", s_manager (self, j), &move.base, A_MOVE_DEAL, next);
}

static void
s_check_done (jflow_t *self, journey_t *j)
{
    bool done = self->leads_only ? j->stage == J_CONVERT + 1
                                 : j->stage == J_WON && j->won_seen && j->tasks_seen == j->tasks_expected
                                       && j->tasks_done == j->tasks_seen;
    if (!done || j->failed_at)
        return;
    j->stage = J_DONE;
    j->end_ms = clock_now_ms ();
    self->last_done_ms = j->end_ms;
    self->done++;
}

//  ---------------------------------------------------------------- callbacks

void
jflow_on_reply (void *arg, uint64_t tag, const Crm__V1__Reply *reply, int64_t rtt_us)
{
    jflow_t *self = arg;
    journey_t *j = &self->j[tag >> 8];
    action_t action = (action_t) (tag & 0xff);
    self->last_activity_ms = clock_mono_ms ();
    if (!reply) {
        s_fail (self, j, "no reply within the command timeout");
        return;
    }
    jstats_command (self->stats, s_action_type[action], rtt_us);
    if (reply->error) {
        char why[600];
        snprintf (why, sizeof why, "%s refused: %s: %s", s_action_type[action], reply->error->code,
                  reply->error->message);
        s_fail (self, j, why);
        return;
    }
    if (j->failed_at)
        return;
    if (action == A_TASK || action == A_PROPOSAL)
        j->tasks_done++;
    switch (action == A_TASK ? J_COUNT : (jstage_t) j->stage) {
        case J_SUBMIT: {
            Crm__V1__SubmitLeadReply *r =
                crm__v1__submit_lead_reply__unpack (NULL, reply->payload.len, reply->payload.data);
            j->lead_id = r ? r->lead_id : 0;
            crm__v1__submit_lead_reply__free_unpacked (r, NULL);
            if (!j->lead_id) {
                s_fail (self, j, "SubmitLead's reply has no lead id");
                return;
            }
            s_map_put (&self->leads, j->lead_id, (uint32_t) s_index (self, j) + 1);
            s_move_lead (self, j, "in_progress", J_IN_PROGRESS);
            break;
        }
        case J_IN_PROGRESS:
            j->stage = J_PROPOSAL_TASK;
            if (j->proposal_task)
                s_complete (self, j, j->proposal_task, s_manager (self, j), false, A_PROPOSAL);
            break;
        case J_PROPOSAL_DONE: s_move_lead (self, j, "answer_given", J_ANSWER); break;
        case J_ANSWER: s_move_lead (self, j, "converted", J_CONVERT); break;
        case J_CONVERT:
            if (self->leads_only)
                j->stage = J_CONVERT + 1;
            else if (j->deal_seen)
                s_move_deal (self, j, J_INVOICE);
            else
                j->stage = J_DEAL_OPENED;
            break;
        case J_INVOICE:
            if (j->awaiting_seen)
                s_move_deal (self, j, J_PAID);
            else
                j->stage = J_AWAITING_PAYMENT;
            break;
        case J_PAID:
        case J_SUPPLY:
        case J_PRODUCTION:
        case J_PRODUCTION_DONE: s_move_deal (self, j, (jstage_t) (j->stage + 1)); break;
        case J_SHIPPED: j->stage = J_WON; break;
        default: break;
    }
    s_check_done (self, j);
}

static void
s_task_created (jflow_t *self, const Crm__V1__Envelope *event)
{
    Crm__V1__TaskCreated *task =
        crm__v1__task_created__unpack (NULL, event->payload.len, event->payload.data);
    if (!task)
        return;
    uint64_t id = 0;
    journey_t *j = NULL;
    if (sscanf (task->record, "lead:%" SCNu64, &id) == 1)
        j = s_map_get (self, &self->leads, id);
    else if (sscanf (task->record, "deal:%" SCNu64, &id) == 1)
        j = s_map_get (self, &self->deals, id);
    if (!j)
        self->foreign_tasks++;
    else if (++j->tasks_seen > j->tasks_expected) {
        self->extra_tasks++;
        s_fail (self, j, "more tasks than its branches call for");
    }
    else if (strncmp (task->record, "lead:", 5) == 0) {
        j->proposal_task = task->task_id;
        if (j->stage == J_PROPOSAL_TASK)
            s_complete (self, j, task->task_id, task->responsible, false, A_PROPOSAL);
    }
    else if (!j->failed_at)
        s_complete (self, j, task->task_id, task->responsible, strcmp (task->tag, "invoice") == 0, A_TASK);
    crm__v1__task_created__free_unpacked (task, NULL);
}

static void
s_deal_event (jflow_t *self, const Crm__V1__Envelope *event)
{
    if (strcmp (event->type, "DealOpened") == 0) {
        Crm__V1__DealOpened *opened =
            crm__v1__deal_opened__unpack (NULL, event->payload.len, event->payload.data);
        journey_t *j = opened ? s_map_get (self, &self->leads, opened->lead_id) : NULL;
        if (j && !j->deal_seen) {
            j->deal_seen = true;
            j->deal_id = opened->deal_id;
            s_map_put (&self->deals, j->deal_id, (uint32_t) s_index (self, j) + 1);
            if (j->stage == J_DEAL_OPENED && !j->failed_at)
                s_move_deal (self, j, J_INVOICE);
        }
        crm__v1__deal_opened__free_unpacked (opened, NULL);
    }
    else if (strcmp (event->type, "DealMoved") == 0) {
        Crm__V1__DealMoved *moved =
            crm__v1__deal_moved__unpack (NULL, event->payload.len, event->payload.data);
        journey_t *j = moved ? s_map_get (self, &self->deals, moved->deal_id) : NULL;
        if (j && strcmp (moved->to_stage, "awaiting_payment") == 0) {
            j->awaiting_seen = true;
            if (j->stage == J_AWAITING_PAYMENT && !j->failed_at)
                s_move_deal (self, j, J_PAID);
        }
        else if (j && strcmp (moved->to_stage, "won") == 0) {
            j->won_seen = true;
            s_check_done (self, j);
        }
        crm__v1__deal_moved__free_unpacked (moved, NULL);
    }
}

void
jflow_on_event (void *arg, const Crm__V1__Envelope *event)
{
    jflow_t *self = arg;
    self->last_activity_ms = clock_mono_ms ();
    if (jstats_event (self->stats, event))
        fprintf (stderr, "crm-benchjourneys: out of memory recording events\n");
    if (strcmp (event->source, "tasks") == 0 && strcmp (event->type, "TaskCreated") == 0)
        s_task_created (self, event);
    else if (strcmp (event->source, "deals") == 0)
        s_deal_event (self, event);
}

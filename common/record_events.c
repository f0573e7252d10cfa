/*  record_events: see record_events.h. */
#include "record_events.h"
#include "clock.h"
#include "record.h"
#include "crm/v1/timer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  The event's payload as a message of type, or NULL: not one (a dead
//  letter, why in reason). The caller frees it.
static ProtobufCMessage *
s_unpack (const ProtobufCMessageDescriptor *type, const Crm__V1__Envelope *event, char *reason, size_t size)
{
    ProtobufCMessage *msg = protobuf_c_message_unpack (type, NULL, event->payload.len, event->payload.data);
    if (!msg)
        snprintf (reason, size, "payload is not a %s", type->name);
    return msg;
}

//  Applies in to record id (loaded FOR UPDATE) for event; a refusal or an
//  unknown record is a dead letter (why in reason).
static service_rc_t
s_event (const record_events_t *self, uint64_t id, const engine_input_t *in, const Crm__V1__Envelope *event,
         char *reason, size_t size)
{
    engine_result_t result = {0};
    bool found = false;
    service_rc_t rc = self->apply (self->owner, id, in, event->event_id, &result, &found);
    if (rc == SERVICE_OK && !found) {
        snprintf (reason, size, "no %s %" PRIu64, self->kind, id);
        rc = SERVICE_REJECT;
    }
    else if (rc == SERVICE_OK && result.code) {
        snprintf (reason, size, "%s: %s", result.code, result.message);
        rc = SERVICE_REJECT;
    }
    engine_result_free (&result);
    return rc;
}

service_rc_t
record_events_timer_fired (const record_events_t *self, const Crm__V1__Envelope *event, char *reason,
                           size_t size)
{
    Crm__V1__TimerFired *fired =
        (Crm__V1__TimerFired *) s_unpack (&crm__v1__timer_fired__descriptor, event, reason, size);
    if (!fired)
        return SERVICE_REJECT;
    service_rc_t rc = SERVICE_OK;
    uint64_t id = 0;
    char timer[128];
    if (strcmp (fired->owner, service_name (self->svc)) != 0)
        ;  // another service's timer (effects_emit asks with our name)
    else if (engine_parse_timer_key (self->def, fired->key, &id, timer, sizeof timer)) {
        snprintf (reason, size, "timer key '%.200s' is not one of %s", fired->key, self->timer_whose);
        rc = SERVICE_REJECT;
    }
    else {
        //  No longer pending, whatever the rules make of it (they may set it again).
        if (self->timer_gone)
            rc = service_rc (self->timer_gone (service_db (self->svc), fired->key, fired->due_ms));
        engine_input_t in = {.kind = ENGINE_TIMER,
                             .actor = "system",
                             .now_ms = fired->fired_ms ? fired->fired_ms : clock_now_ms (),
                             .timer = timer,
                             .due_ms = fired->due_ms};
        if (rc == SERVICE_OK)
            rc = s_event (self, id, &in, event, reason, size);
    }
    crm__v1__timer_fired__free_unpacked (fired, NULL);
    return rc;
}

//  Records what the tasks service says of task t of record id and its
//  history line (locking the record first, as every path does).
static service_rc_t
s_task (const record_events_t *self, uint64_t id, const Crm__V1__TaskCreated *t, bool completed,
        const char *actor, const char *detail, int64_t now_ms, char *reason, size_t size)
{
    db_t *db = service_db (self->svc);
    bool found = false;
    service_rc_t rc = self->apply (self->owner, id, NULL, NULL, NULL, &found);
    if (rc == SERVICE_OK && !found) {
        snprintf (reason, size, "no %s %" PRIu64, self->kind, id);
        rc = SERVICE_REJECT;
    }
    if (rc == SERVICE_OK)
        rc = service_rc (self->task (db, id, t, completed));
    engine_history_t line = {*actor ? actor : "system", "", completed ? "task completed" : "task created",
                             (char *) detail};
    if (rc == SERVICE_OK)
        rc = service_rc (self->history (db, id, now_ms, &line, 1));
    return rc;
}

//  TaskCreated of a task of record id.
static service_rc_t
s_created (const record_events_t *self, uint64_t id, const Crm__V1__TaskCreated *task, char *reason,
           size_t size)
{
    char detail[600];
    record_task_created_detail (task, detail, sizeof detail);
    return s_task (self, id, task, false, task->creator, detail, clock_now_ms (), reason, size);
}

//  TaskCompleted of a task of record id.
static service_rc_t
s_completed (const record_events_t *self, uint64_t id, const Crm__V1__TaskCompleted *task,
             const Crm__V1__Envelope *event, char *reason, size_t size)
{
    int64_t now_ms = task->completed_ms ? task->completed_ms : clock_now_ms ();
    char detail[600];
    record_task_completed_detail (task, self->task_numbers, detail, sizeof detail);
    //  The completion names no title or responsible: those stay as known.
    Crm__V1__TaskCreated known = CRM__V1__TASK_CREATED__INIT;
    known.task_id = task->task_id;
    known.request_key = task->request_key;
    known.tag = task->tag;
    service_rc_t rc = s_task (self, id, &known, true, task->completed_by, detail, now_ms, reason, size);
    engine_input_t in = {.kind = ENGINE_TASK_DONE,
                         .actor = "system",
                         .now_ms = now_ms,
                         .tag = task->tag,
                         .task_id = self->task_numbers ? task->task_id : 0};
    if (rc == SERVICE_OK)
        rc = s_event (self, id, &in, event, reason, size);
    return rc;
}

//  TaskCreated (completed false) or TaskCompleted: skipped unless of one
//  of the service's records.
static service_rc_t
s_task_event (const record_events_t *self, const Crm__V1__Envelope *event, bool completed, char *reason,
              size_t size)
{
    ProtobufCMessage *msg =
        s_unpack (completed ? &crm__v1__task_completed__descriptor : &crm__v1__task_created__descriptor,
                  event, reason, size);
    if (!msg)
        return SERVICE_REJECT;
    Crm__V1__TaskCreated *created = completed ? NULL : (Crm__V1__TaskCreated *) msg;
    Crm__V1__TaskCompleted *done = completed ? (Crm__V1__TaskCompleted *) msg : NULL;
    uint64_t id = record_id_of (completed ? done->record : created->record, self->kind);
    service_rc_t rc = SERVICE_OK;
    if (id && completed)
        rc = s_completed (self, id, done, event, reason, size);
    else if (id)
        rc = s_created (self, id, created, reason, size);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
}

service_rc_t
record_events_task_created (const record_events_t *self, const Crm__V1__Envelope *event, char *reason,
                            size_t size)
{
    return s_task_event (self, event, false, reason, size);
}

service_rc_t
record_events_task_completed (const record_events_t *self, const Crm__V1__Envelope *event, char *reason,
                              size_t size)
{
    return s_task_event (self, event, true, reason, size);
}

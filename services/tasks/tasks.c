/*  tasks: see tasks.h. */
#include "tasks.h"
#include "log.h"
#include "store.h"
#include "crm/v1/notifier.pb-c.h"
#include "crm/v1/timer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Asks the notifier to tell login about task id.
static service_rc_t
s_notify (tasks_t *self, const char *key, const char *login, const char *text, const char *correlation_id,
          const char *causation_id)
{
    Crm__V1__NotificationRequested notify = CRM__V1__NOTIFICATION_REQUESTED__INIT;
    notify.request_key = (char *) key;
    notify.recipient = (char *) login;
    notify.text = (char *) text;
    return service_emit (self->svc, &notify.base, correlation_id, causation_id);
}

static service_rc_t
s_announce (tasks_t *self, const task_spec_t *spec, uint64_t id, const char *causation_id)
{
    char correlation[TASK_SHORT_MAX + 32], idbuf[24];
    task_correlation (correlation, sizeof correlation, id, spec->record);
    Crm__V1__TaskCreated event = CRM__V1__TASK_CREATED__INIT;
    event.task_id = id;
    event.request_key = (char *) spec->request_key;
    event.record = (char *) spec->record;
    event.tag = (char *) spec->tag;
    event.title = (char *) spec->title;
    event.creator = (char *) spec->creator;
    event.responsible = (char *) spec->responsible;
    event.coexecutors = (char **) spec->coexecutors;
    event.n_coexecutors = spec->n_coexecutors;
    event.deadline_ms = spec->deadline_ms;
    service_rc_t rc = service_emit (self->svc, &event.base, correlation, causation_id);

    //  The responsible first, then each co-executor: one request each, keyed
    //  by task and person, so a replayed request never notifies twice.
    for (size_t i = 0; rc == SERVICE_OK && i <= spec->n_coexecutors; i++) {
        const char *login = i == 0 ? spec->responsible : spec->coexecutors[i - 1];
        char key[TASK_KEY_MAX + 1], text[TASK_TEXT_MAX];
        snprintf (key, sizeof key, "task:%" PRIu64 ":created:%s", id, login);
        task_created_text (text, sizeof text, id, spec, login);
        rc = s_notify (self, key, login, text, correlation, causation_id);
    }
    if (rc == SERVICE_OK && spec->deadline_ms) {
        char key[64];
        Crm__V1__TimerRequested timer = CRM__V1__TIMER_REQUESTED__INIT;
        timer.key = (char *) task_overdue_key (key, sizeof key, id);
        timer.owner = (char *) service_name (self->svc);
        timer.due_ms = spec->deadline_ms;
        rc = service_emit (self->svc, &timer.base, correlation, causation_id);
    }
    log_info ("task created", "task_id", log_u64 (idbuf, id), "correlation_id", correlation, "request_key",
              spec->request_key, "responsible", spec->responsible, "causation_id", causation_id, NULL);
    return rc;
}

service_rc_t
tasks_create (tasks_t *self, const task_spec_t *spec, const char *causation_id, uint64_t *id, bool *created)
{
    service_rc_t rc = service_rc (store_task_insert (service_db (self->svc), spec, id, created));
    if (rc == SERVICE_OK && *created)
        rc = s_announce (self, spec, *id, causation_id);
    return rc;
}

service_rc_t
tasks_complete (tasks_t *self, const Crm__V1__Task *task, const char *by,
                const Crm__V1__CompleteTask *complete, const char *causation_id, int64_t *completed_ms)
{
    db_t *db = service_db (self->svc);
    bool done = false;
    service_rc_t rc = service_rc (store_task_complete (db, task->id, by, &done, completed_ms));
    if (rc == SERVICE_OK && !done)
        rc = SERVICE_FAIL;  // the caller holds the row lock and saw it open
    if (rc == SERVICE_OK && *complete->comment)
        rc = service_rc (store_comment_add (db, task->id, by, complete->comment));
    char **names = calloc (complete->n_attachments + 1, sizeof *names);
    if (!names)
        rc = SERVICE_FAIL;
    for (size_t i = 0; rc == SERVICE_OK && i < complete->n_attachments; i++) {
        const Crm__V1__AttachmentData *a = complete->attachments[i];
        char sha[65];
        if (task_sha256_hex (a->data.data, a->data.len, sha)) {
            log_error ("sha256 failed", "task_id", log_u64 ((char[24]){0}, task->id), NULL);
            rc = SERVICE_FAIL;
            break;
        }
        rc = service_rc (store_attachment_add (db, task->id, a, sha, by));
        names[i] = a->name;
        log_info ("attachment stored", "task_id", log_u64 ((char[24]){0}, task->id), "name", a->name, "size",
                  log_u64 ((char[24]){0}, a->data.len), "sha256", sha, NULL);
    }
    char correlation[TASK_SHORT_MAX + 32];
    task_correlation (correlation, sizeof correlation, task->id, task->record);
    if (rc == SERVICE_OK) {
        Crm__V1__TaskCompleted event = CRM__V1__TASK_COMPLETED__INIT;
        event.task_id = task->id;
        event.request_key = task->request_key;
        event.record = task->record;
        event.tag = task->tag;
        event.completed_by = (char *) by;
        event.completed_ms = *completed_ms;
        event.attachments = names;
        event.n_attachments = complete->n_attachments;
        rc = service_emit (self->svc, &event.base, correlation, causation_id);
    }
    if (rc == SERVICE_OK && task->deadline_ms) {
        char key[64];
        Crm__V1__TimerCancelRequested cancel = CRM__V1__TIMER_CANCEL_REQUESTED__INIT;
        cancel.key = (char *) task_overdue_key (key, sizeof key, task->id);
        cancel.owner = (char *) service_name (self->svc);
        rc = service_emit (self->svc, &cancel.base, correlation, causation_id);
    }
    free (names);
    if (rc == SERVICE_OK)
        log_info ("task completed", "task_id", log_u64 ((char[24]){0}, task->id), "correlation_id",
                  correlation, "completed_by", by, "causation_id", causation_id, NULL);
    return rc;
}

service_rc_t
tasks_overdue (tasks_t *self, uint64_t id, const char *causation_id)
{
    store_tasks_t *found = NULL;
    service_rc_t rc = service_rc (store_task_get (service_db (self->svc), id, false, &found));
    if (rc != SERVICE_OK)
        return rc;
    char idbuf[24];
    if (found->count == 1 && strcmp (found->tasks[0]->status, "open") == 0 && found->tasks[0]->deadline_ms) {
        const Crm__V1__Task *task = found->tasks[0];
        char correlation[TASK_SHORT_MAX + 32], key[64], text[TASK_TEXT_MAX];
        task_correlation (correlation, sizeof correlation, id, task->record);
        task_overdue_text (text, sizeof text, id, task->title, task->deadline_ms);
        rc = s_notify (self, task_overdue_key (key, sizeof key, id), task->responsible, text, correlation,
                       causation_id);
        log_info ("task overdue", "task_id", log_u64 (idbuf, id), "correlation_id", correlation,
                  "responsible", task->responsible, NULL);
    }
    else
        log_debug ("overdue timer of a task no longer open", "task_id", log_u64 (idbuf, id), NULL);
    store_list_free (&found);
    return rc;
}

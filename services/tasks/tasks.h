/*  tasks: what happens to a task, whoever asked: a new task is stored and
    announced (TaskCreated, a notification to each of its people, its
    overdue timer); a completed one is announced (TaskCompleted) and its
    timer cancelled; an overdue one is notified to its responsible. The bus
    handlers (main.c) and the commands (commands.c) both go through here,
    inside the batch's transaction; events go to the outbox with it.
*/
#ifndef CRM_TASKS_TASKS_H
#define CRM_TASKS_TASKS_H

#include "service.h"
#include "task.h"

#include <stdbool.h>
#include <stdint.h>

#define TASKS_ATTACHMENT_MAX_DEFAULT (10 * 1024 * 1024)  // bytes

typedef struct {
    service_t *svc;
    uint64_t attachment_max;  // bytes per attachment (CRM_TASKS_ATTACHMENT_MAX_BYTES)
    task_known_fn *known;     // vets logins people name; NULL: any well-formed login
    void *known_arg;
} tasks_t;

/*  Stores the task of spec unless its (non-empty) request_key is known,
    and announces a new one. causation_id: the request event's id or the
    command's. Sets *id and *created. */
service_rc_t tasks_create (tasks_t *self, const task_spec_t *spec, const char *causation_id, uint64_t *id,
                           bool *created);

/*  Completes task (read FOR UPDATE, open, and by may complete it) with
    what complete carries (checked by task_completion_check): its comment
    and attachments are stored, TaskCompleted emitted, the overdue timer
    cancelled. Sets *completed_ms (ms UTC). */
service_rc_t tasks_complete (tasks_t *self, const Crm__V1__Task *task, const char *by,
                             const Crm__V1__CompleteTask *complete, const char *causation_id,
                             int64_t *completed_ms);

/*  The overdue timer of task id fired: if it is still open, its
    responsible is notified (once: the request key is the timer's). */
service_rc_t tasks_overdue (tasks_t *self, uint64_t id, const char *causation_id);

#endif

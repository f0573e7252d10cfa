/*  commands: see commands.h. */
#include "commands.h"
#include "log.h"
#include "store.h"
#include "tz.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000

static service_rc_t
s_refuse (service_reply_t *reply, const Crm__V1__Command *cmd, const char *code, const char *message,
          const char *const *fields, size_t n_fields)
{
    log_warn ("command refused", "type", cmd->type, "command_id", cmd->command_id, "sender", cmd->sender,
              "code", code, "error", message, NULL);
    service_reply_error (reply, code, message, fields, n_fields);
    return SERVICE_REJECT;
}

static service_rc_t
s_malformed (service_reply_t *reply, const Crm__V1__Command *cmd)
{
    char message[128];
    snprintf (message, sizeof message, "payload is not a crm.v1.%s", cmd->type);
    return s_refuse (reply, cmd, "MALFORMED", message, NULL, 0);
}

static service_rc_t
s_invalid (service_reply_t *reply, const Crm__V1__Command *cmd, const task_invalid_t *invalid,
           const char *code)
{
    size_t n = invalid->count < TASK_MAX_INVALID ? (size_t) invalid->count : TASK_MAX_INVALID;
    return s_refuse (reply, cmd, code, invalid->message, invalid->fields, n);
}

//  One field at fault.
static service_rc_t
s_invalid_field (service_reply_t *reply, const Crm__V1__Command *cmd, const char *field, const char *message)
{
    return s_refuse (reply, cmd, "INVALID_ARGUMENT", message, (const char *[]){field}, 1);
}

static service_rc_t
s_not_found (service_reply_t *reply, const Crm__V1__Command *cmd, uint64_t id)
{
    char message[64];
    snprintf (message, sizeof message, "there is no task %" PRIu64, id);
    return s_refuse (reply, cmd, "NOT_FOUND", message, (const char *[]){"task_id"}, 1);
}

//  The sender of a command that changes a task: a person's login.
static bool
s_sender_ok (service_reply_t *reply, const Crm__V1__Command *cmd, service_rc_t *rc)
{
    if (task_login_ok (cmd->sender))
        return true;
    *rc = s_invalid_field (reply, cmd, "sender", "the command's sender must be your login");
    return false;
}

static void
s_task_reply (service_reply_t *reply, uint64_t id, const char *status, bool created)
{
    Crm__V1__TaskReply result = CRM__V1__TASK_REPLY__INIT;
    result.task_id = id;
    result.status = (char *) status;
    result.created = created;
    service_reply_set (reply, &result.base);
}

static uint32_t
s_limit (uint32_t limit)
{
    return limit == 0 ? LIST_DEFAULT : limit > LIST_MAX ? LIST_MAX : limit;
}

//  --------------------------------------------------------------------------
//  Changes

static service_rc_t
s_create (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) svc;
    tasks_t *self = arg;
    Crm__V1__CreateTask *create = crm__v1__create_task__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!create)
        return s_malformed (reply, cmd);
    task_invalid_t invalid;
    task_spec_t spec;
    service_rc_t rc;
    if (task_from_create (create, cmd->sender, self->known, self->known_arg, &spec, &invalid))
        rc = s_invalid (reply, cmd, &invalid, "INVALID_ARGUMENT");
    else {
        uint64_t id = 0;
        bool created = false;
        rc = tasks_create (self, &spec, cmd->command_id, &id, &created);
        if (rc == SERVICE_OK)
            s_task_reply (reply, id, "open", true);
    }
    crm__v1__create_task__free_unpacked (create, NULL);
    return rc;
}

//  Refuses completing task by sender if it may not: someone else's, or
//  not open. Returns SERVICE_OK when it may go on.
static service_rc_t
s_may_complete (service_reply_t *reply, const Crm__V1__Command *cmd, const Crm__V1__Task *task)
{
    char message[512];
    if (!task_may_complete (task, cmd->sender)) {
        char people[400] = "";
        size_t n = 0;
        for (size_t i = 0; i < task->n_coexecutors && n < sizeof people; i++)
            n += (size_t) snprintf (people + n, sizeof people - n, "%s%s", i ? ", " : " (",
                                    task->coexecutors[i]);
        if (task->n_coexecutors && n < sizeof people)
            snprintf (people + n, sizeof people - n, ")");
        people[utf8_boundary (people, strlen (people))] = 0;
        snprintf (message, sizeof message,
                  "only the responsible (%s) or a co-executor%s may complete task %" PRIu64,
                  task->responsible, people, task->id);
        return s_refuse (reply, cmd, "PERMISSION_DENIED", message, (const char *[]){"sender"}, 1);
    }
    if (strcmp (task->status, "open") != 0) {
        char when[48] = "";
        if (task->completed_ms)
            tz_format (task->completed_ms, "%d.%m.%Y %H:%M", when, sizeof when);
        if (strcmp (task->status, "completed") == 0)
            snprintf (message, sizeof message, "task %" PRIu64 " is already completed (by %s, %s)", task->id,
                      task->completed_by, when);
        else
            snprintf (message, sizeof message, "task %" PRIu64 " is %s: it cannot be completed", task->id,
                      task->status);
        return s_refuse (reply, cmd, "FAILED_PRECONDITION", message, (const char *[]){"task_id"}, 1);
    }
    return SERVICE_OK;
}

static service_rc_t
s_complete (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    tasks_t *self = arg;
    Crm__V1__CompleteTask *complete =
        crm__v1__complete_task__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!complete)
        return s_malformed (reply, cmd);
    service_rc_t rc = SERVICE_OK;
    store_tasks_t *found = NULL;
    task_invalid_t invalid;
    const char *code = NULL;
    //  Everything is checked before anything is written: a refused command
    //  is answered with an error, but its batch still commits.
    if (complete->task_id == 0)
        rc = s_invalid_field (reply, cmd, "task_id", "task_id is required");
    else if (!s_sender_ok (reply, cmd, &rc))
        ;
    else if ((code = task_completion_check (complete, cmd->payload.data, cmd->payload.len,
                                            self->attachment_max, &invalid)))
        rc = s_invalid (reply, cmd, &invalid, code);
    else if ((rc = service_rc (store_task_get (service_db (svc), complete->task_id, true, &found))))
        ;
    else if (found->count == 0)
        rc = s_not_found (reply, cmd, complete->task_id);
    else if ((rc = s_may_complete (reply, cmd, found->tasks[0])) == SERVICE_OK) {
        int64_t completed_ms = 0;
        rc = tasks_complete (self, found->tasks[0], cmd->sender, complete, cmd->command_id, &completed_ms);
        if (rc == SERVICE_OK)
            s_task_reply (reply, complete->task_id, "completed", false);
    }
    store_list_free (&found);
    crm__v1__complete_task__free_unpacked (complete, NULL);
    return rc;
}

static service_rc_t
s_comment (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__CommentTask *comment = crm__v1__comment_task__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!comment)
        return s_malformed (reply, cmd);
    service_rc_t rc = SERVICE_OK;
    store_tasks_t *found = NULL;
    char message[128];
    snprintf (message, sizeof message, "text is required: 1 to %d bytes of UTF-8", TASK_COMMENT_MAX);
    if (comment->task_id == 0)
        rc = s_invalid_field (reply, cmd, "task_id", "task_id is required");
    else if (!*comment->text || strlen (comment->text) > TASK_COMMENT_MAX || !utf8_valid (comment->text))
        rc = s_invalid_field (reply, cmd, "text", message);
    else if (!s_sender_ok (reply, cmd, &rc))
        ;
    else if ((rc = service_rc (store_task_get (service_db (svc), comment->task_id, false, &found))))
        ;
    else if (found->count == 0)
        rc = s_not_found (reply, cmd, comment->task_id);
    else if ((rc = service_rc (
                  store_comment_add (service_db (svc), comment->task_id, cmd->sender, comment->text)))
             == SERVICE_OK) {
        s_task_reply (reply, comment->task_id, found->tasks[0]->status, false);
        log_info ("task commented", "task_id", log_u64 ((char[24]){0}, comment->task_id), "author",
                  cmd->sender, NULL);
    }
    store_list_free (&found);
    crm__v1__comment_task__free_unpacked (comment, NULL);
    return rc;
}

//  --------------------------------------------------------------------------
//  Reads

static service_rc_t
s_show (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ShowTask *show = crm__v1__show_task__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!show)
        return s_malformed (reply, cmd);
    db_t *db = service_db (svc);
    store_tasks_t *found = NULL;
    store_comments_t *comments = NULL;
    store_attachments_t *attachments = NULL;
    service_rc_t rc = SERVICE_OK;
    if (show->task_id == 0)
        rc = s_invalid_field (reply, cmd, "task_id", "task_id is required");
    else if ((rc = service_rc (store_task_get (db, show->task_id, false, &found))))
        ;
    else if (found->count == 0)
        rc = s_not_found (reply, cmd, show->task_id);
    else if ((rc = service_rc (store_comments (db, show->task_id, &comments))) == SERVICE_OK
             && (rc = service_rc (store_attachments (db, show->task_id, &attachments))) == SERVICE_OK) {
        Crm__V1__TaskDetail detail = CRM__V1__TASK_DETAIL__INIT;
        detail.task = found->tasks[0];
        detail.comments = comments->comments;
        detail.n_comments = comments->count;
        detail.attachments = attachments->attachments;
        detail.n_attachments = attachments->count;
        service_reply_set (reply, &detail.base);
    }
    store_list_free (&attachments);
    store_list_free (&comments);
    store_list_free (&found);
    crm__v1__show_task__free_unpacked (show, NULL);
    return rc;
}

static service_rc_t
s_get_attachment (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__GetAttachment *get = crm__v1__get_attachment__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!get)
        return s_malformed (reply, cmd);
    db_t *db = service_db (svc);
    store_tasks_t *found = NULL;
    store_attachments_t *attachment = NULL;
    service_rc_t rc = SERVICE_OK;
    if (get->task_id == 0)
        rc = s_invalid_field (reply, cmd, "task_id", "task_id is required");
    else if (!*get->name || strlen (get->name) > TASK_NAME_MAX || !utf8_valid (get->name))
        rc = s_invalid_field (reply, cmd, "name", "name is required: the attachment's file name");
    else if ((rc = service_rc (store_task_get (db, get->task_id, false, &found))))
        ;
    else if (found->count == 0)
        rc = s_not_found (reply, cmd, get->task_id);
    else if ((rc = service_rc (store_attachment_get (db, get->task_id, get->name, &attachment))))
        ;
    else if (attachment->count == 0) {
        char message[TASK_NAME_MAX + 64];
        snprintf (message, sizeof message, "task %" PRIu64 " has no attachment '%s'", get->task_id,
                  get->name);
        rc = s_refuse (reply, cmd, "NOT_FOUND", message, (const char *[]){"name"}, 1);
    }
    else
        service_reply_set (reply, &attachment->attachments[0]->base);
    store_list_free (&attachment);
    store_list_free (&found);
    crm__v1__get_attachment__free_unpacked (get, NULL);
    return rc;
}

static service_rc_t
s_list_tasks (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListTasks *query = crm__v1__list_tasks__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!query)
        return s_malformed (reply, cmd);
    store_tasks_t *found = NULL;
    service_rc_t rc = SERVICE_OK;
    if (*query->user && !task_login_ok (query->user))
        rc = s_invalid_field (reply, cmd, "user", "user must be a login, or empty for everyone's tasks");
    else if (strlen (query->record) > TASK_SHORT_MAX || !utf8_valid (query->record))
        rc = s_invalid_field (reply, cmd, "record", "record must be UTF-8, at most 100 bytes");
    else if ((rc = service_rc (store_task_list (service_db (svc), query->user, query->open_only,
                                                query->record, s_limit (query->limit), &found)))
             == SERVICE_OK) {
        Crm__V1__TaskList list = CRM__V1__TASK_LIST__INIT;
        list.tasks = found->tasks;
        list.n_tasks = found->count;
        service_reply_set (reply, &list.base);
    }
    store_list_free (&found);
    crm__v1__list_tasks__free_unpacked (query, NULL);
    return rc;
}

static service_rc_t
s_list_activities (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListActivities *query =
        crm__v1__list_activities__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!query)
        return s_malformed (reply, cmd);
    store_activities_t *found = NULL;
    service_rc_t rc = SERVICE_OK;
    if (!task_login_ok (query->user))
        rc = s_invalid_field (reply, cmd, "user", "user is required: a login");
    else if ((rc = service_rc (store_activity_list (service_db (svc), query->user, query->include_done,
                                                    s_limit (query->limit), &found)))
             == SERVICE_OK) {
        Crm__V1__ActivityList list = CRM__V1__ACTIVITY_LIST__INIT;
        list.activities = found->activities;
        list.n_activities = found->count;
        service_reply_set (reply, &list.base);
    }
    store_list_free (&found);
    crm__v1__list_activities__free_unpacked (query, NULL);
    return rc;
}

void
commands_register (tasks_t *self)
{
    service_on_command (self->svc, "CreateTask", s_create, self, true);
    service_on_command (self->svc, "CompleteTask", s_complete, self, true);
    service_on_command (self->svc, "CommentTask", s_comment, self, true);
    service_on_command (self->svc, "ShowTask", s_show, self, true);
    service_on_command (self->svc, "GetAttachment", s_get_attachment, self, true);
    service_on_command (self->svc, "ListTasks", s_list_tasks, self, true);
    service_on_command (self->svc, "ListActivities", s_list_activities, self, true);
}

/*  commands: the tasks service's command endpoint. People (crmctl, with
    Command.sender their login) create, complete and comment tasks, read
    them and their attachments, and list their tasks and activities:
    CreateTask, CompleteTask, CommentTask -> TaskReply; ShowTask ->
    TaskDetail; GetAttachment -> Attachment; ListTasks -> TaskList;
    ListActivities -> ActivityList (proto/crm/v1/tasks.proto).

    Refusals: MALFORMED (not the type's message), INVALID_ARGUMENT (fields
    named), TOO_LARGE (an attachment over the limit), NOT_FOUND (no such
    task or attachment), PERMISSION_DENIED (completing someone else's task),
    FAILED_PRECONDITION (completing a task that is not open). A refused
    command changes nothing.
*/
#ifndef CRM_TASKS_COMMANDS_H
#define CRM_TASKS_COMMANDS_H

#include "tasks.h"

/*  Registers every command handler on self->svc; self must outlive it. */
void commands_register (tasks_t *self);

#endif

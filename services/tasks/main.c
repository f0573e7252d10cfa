/*  crm-tasks: tasks (with comments and attachments) and activities. Other
    services ask for them on the bus (TaskRequested, ActivityRequested,
    ActivityCancelRequested, from any source); people use the commands
    (commands.h). A new task is announced (TaskCreated), its people are
    notified and its deadline becomes a timer (owner "tasks"); when that
    timer fires and the task is still open, its responsible is told.
    Times in texts are in the company's zone, from the staff directory
    (CRM_STAFF_FILE; CRM_TIME_ZONE overrides it), which also says who may
    be named in a task a person creates.
*/
#include "commands.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "tasks.h"
#include "tz.h"
#include "utf8.h"
#include "crm/v1/timer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static service_rc_t
s_task_requested (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    Crm__V1__TaskRequested *request =
        crm__v1__task_requested__unpack (NULL, event->payload.len, event->payload.data);
    if (!request) {
        snprintf (reason, size, "payload is not a crm.v1.TaskRequested");
        return SERVICE_REJECT;
    }
    tasks_t *tasks = arg;
    task_spec_t spec;
    service_rc_t rc = SERVICE_REJECT;
    if (task_from_request (request, tasks->known, tasks->known_arg, &spec, reason, size) == 0) {
        uint64_t id = 0;
        bool created = false;
        rc = tasks_create (tasks, &spec, event->event_id, &id, &created);
        if (rc == SERVICE_OK && !created)
            log_debug ("task already requested", "request_key", request->request_key, "task_id",
                       log_u64 ((char[24]){0}, id), NULL);
    }
    crm__v1__task_requested__free_unpacked (request, NULL);
    return rc;
}

static service_rc_t
s_activity_requested (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    const tasks_t *tasks = arg;
    Crm__V1__ActivityRequested *request =
        crm__v1__activity_requested__unpack (NULL, event->payload.len, event->payload.data);
    if (!request) {
        snprintf (reason, size, "payload is not a crm.v1.ActivityRequested");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    if (task_activity_check (request, tasks->known, tasks->known_arg, reason, size) == 0)
        rc = service_rc (store_activity_upsert (service_db (svc), request));
    if (rc == SERVICE_OK)
        log_info ("activity planned", "request_key", request->request_key, "responsible",
                  request->responsible, "at_ms", log_u64 ((char[24]){0}, (uint64_t) request->at_ms),
                  "correlation_id", event->correlation_id, NULL);
    crm__v1__activity_requested__free_unpacked (request, NULL);
    return rc;
}

static service_rc_t
s_activity_cancel (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) arg;
    Crm__V1__ActivityCancelRequested *request =
        crm__v1__activity_cancel_requested__unpack (NULL, event->payload.len, event->payload.data);
    if (!request) {
        snprintf (reason, size, "payload is not a crm.v1.ActivityCancelRequested");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    bool cancelled = false;
    if (!*request->request_key || strlen (request->request_key) > TASK_KEY_MAX)
        snprintf (reason, size, "request_key is required (1 to %d bytes)", TASK_KEY_MAX);
    else if (!utf8_valid (request->request_key))
        snprintf (reason, size, "request_key is not valid UTF-8");
    else
        rc = service_rc (store_activity_cancel (service_db (svc), request->request_key, &cancelled));
    if (rc == SERVICE_OK && cancelled)
        log_info ("activity cancelled", "request_key", request->request_key, "correlation_id",
                  event->correlation_id, NULL);
    crm__v1__activity_cancel_requested__free_unpacked (request, NULL);
    return rc;
}

static service_rc_t
s_timer_fired (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    Crm__V1__TimerFired *fired = crm__v1__timer_fired__unpack (NULL, event->payload.len, event->payload.data);
    if (!fired) {
        snprintf (reason, size, "payload is not a crm.v1.TimerFired");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_OK;
    uint64_t id;
    if (strcmp (fired->owner, service_name (svc)) != 0)
        ;  // another service's timer
    else if (task_parse_overdue_key (fired->key, &id) == 0)
        rc = tasks_overdue (arg, id, event->event_id);
    else {
        snprintf (reason, size, "timer key '%.100s' is not one of ours (task:<id>:overdue)",
                  utf8_valid (fired->key) ? fired->key : "?");
        rc = SERVICE_REJECT;
    }
    crm__v1__timer_fired__free_unpacked (fired, NULL);
    return rc;
}

//  Whether a person named in a command or a request is staff.
static bool
s_staff_member (const char *login, void *arg)
{
    return staff_find (arg, login) != NULL;
}

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[512];
    db_t *db = NULL;
    staff_t *staff = NULL;
    tasks_t tasks = {.attachment_max = TASKS_ATTACHMENT_MAX_DEFAULT};

    if (log_init ("tasks"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "tasks", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    int max = 0;
    if (config_int ("CRM_TASKS_ATTACHMENT_MAX_BYTES", TASKS_ATTACHMENT_MAX_DEFAULT, 1, 64 << 20, &max)) {
        log_error ("bad configuration", "error",
                   "CRM_TASKS_ATTACHMENT_MAX_BYTES must be an integer from 1 to 67108864", NULL);
        return 2;
    }
    tasks.attachment_max = (uint64_t) max;
    if (tasks.attachment_max + 64 * 1024 > (uint64_t) cfg.max_message_bytes)
        log_warn ("attachments near CRM_TASKS_ATTACHMENT_MAX_BYTES do not fit in a command under "
                  "CRM_MAX_MESSAGE_BYTES: they are refused as TOO_LARGE at the command endpoint",
                  NULL);
    //  The staff directory: the company's time zone (for the texts) and who
    //  may be named in a task. No pipeline of its own.
    pipeline_t *none = NULL;
    if (pipeline_setup (NULL, NULL, &staff, &none, err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    tasks.known = s_staff_member;
    tasks.known_arg = staff;
    char people[24];
    log_info ("staff directory loaded", "staff_file", staff->path, "people",
              log_u64 (people, staff->n_people), "time_zone", tz_name (), NULL);

    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, tasks_migrations, tasks_migrations_count))
        goto cleanup;

    tasks.svc = service_new (&cfg, &db);
    if (!tasks.svc)
        goto cleanup;
    service_on_event (tasks.svc, "TaskRequested", s_task_requested, &tasks);
    service_on_event (tasks.svc, "ActivityRequested", s_activity_requested, &tasks);
    service_on_event (tasks.svc, "ActivityCancelRequested", s_activity_cancel, &tasks);
    service_on_event (tasks.svc, "TimerFired", s_timer_fired, &tasks);
    commands_register (&tasks);

    if (service_start (tasks.svc) == 0)
        rc = service_run (tasks.svc);

cleanup:
    service_destroy (&tasks.svc);
    db_destroy (&db);
    staff_destroy (&staff);
    return rc;
}

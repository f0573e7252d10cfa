/*  crm-leads: the lead funnel's owner. Takes leads from other systems
    (command "SubmitLead", LeadReceived published to its intake socket, or
    POST /v1/leads over HTTP: intake_http.h),
    stores each once per (source_system, external_id), assigns those
    without a responsible, and runs the funnel (funnel.h) from the shipped
    definition: people move leads with "MoveLead" and read them with
    "ShowLead", "ListLeads", "ListContacts", "ListCompanies" (views.h); the
    timer and tasks services' events drive the rest.

    Start-up reads the staff directory (CRM_STAFF_FILE) and the funnel's
    definition (CRM_LEADS_PIPELINE, CRM_DURATIONS, CRM_TIME_ZONE) before
    anything else: a mistake there stops the service with exit status 2
    and the loader's "FILE:LINE: problem" in the log.
*/
#include "config.h"
#include "db.h"
#include "funnel.h"
#include "ingest.h"
#include "intake_http.h"
#include "lead.h"
#include "log.h"
#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "tz.h"
#include "views.h"

#define PIPELINE_FILE "deploy/pipelines/lead_funnel.yaml"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A handler that reads leads, run after the batch's leads received so far
//  are stored (ingest.h: flush-before-read).
typedef struct {
    ingest_t *ingest;
    service_command_fn *command;
    service_event_fn *event;
    void *arg;
} reader_t;

enum { READERS = 8 };

typedef struct {
    ingest_t *ingest;
    const staff_t *staff;
    reader_t readers[READERS];
    int n_readers;
} leads_t;

static service_rc_t
s_read_command (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    reader_t *r = arg;
    service_rc_t rc = ingest_flush (r->ingest);
    return rc ? rc : r->command (svc, cmd, r->arg, reply);
}

static service_rc_t
s_read_event (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    reader_t *r = arg;
    service_rc_t rc = ingest_flush (r->ingest);
    return rc ? rc : r->event (svc, event, r->arg, reason, size);
}

//  Registers command type (fn, arg) behind the flush.
static void
s_on_command (leads_t *self, service_t *svc, const char *type, service_command_fn *fn, void *arg)
{
    assert (self->n_readers < READERS);
    reader_t *r = &self->readers[self->n_readers++];
    *r = (reader_t){.ingest = self->ingest, .command = fn, .arg = arg};
    service_on_command (svc, type, s_read_command, r, true);
}

//  Registers event type (fn, arg) behind the flush.
static void
s_on_event (leads_t *self, service_t *svc, const char *type, service_event_fn *fn, void *arg)
{
    assert (self->n_readers < READERS);
    reader_t *r = &self->readers[self->n_readers++];
    *r = (reader_t){.ingest = self->ingest, .event = fn, .arg = arg};
    service_on_event (svc, type, s_read_event, r);
}

//  lead_validate, and a responsible (if given) must be a staff login.
static int
s_validate (leads_t *self, const Crm__V1__LeadReceived *lead, const char **fields, char *message, size_t size)
{
    int invalid = lead_validate (lead, fields, message, size);
    bool named = false;
    for (int i = 0; i < invalid && i < LEAD_MAX_INVALID; i++)
        named |= strcmp (fields[i], "responsible") == 0;
    if (named || !*lead->responsible || staff_find (self->staff, lead->responsible))
        return invalid;
    if (invalid == 0)
        snprintf (message, size, "responsible '%.100s' is not a staff login (%s)", lead->responsible,
                  self->staff->path);
    if (invalid < LEAD_MAX_INVALID)
        fields[invalid] = "responsible";
    return invalid + 1;
}

static void
s_reset (service_t *svc, void *arg)
{
    (void) svc;
    ingest_reset (((leads_t *) arg)->ingest);
}

static service_rc_t
s_flush (service_t *svc, void *arg)
{
    (void) svc;
    return ingest_flush (((leads_t *) arg)->ingest);
}

static service_rc_t
s_submit_lead (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) svc;
    Crm__V1__LeadReceived *lead = crm__v1__lead_received__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!lead) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.LeadReceived", NULL, 0);
        return SERVICE_REJECT;
    }
    const char *fields[LEAD_MAX_INVALID] = {0};
    char message[256];
    int invalid = s_validate (arg, lead, fields, message, sizeof message);
    if (invalid) {
        log_warn ("lead refused", "command_id", cmd->command_id, "error", message, NULL);
        service_reply_error (reply, "INVALID_ARGUMENT", message, fields,
                             invalid < LEAD_MAX_INVALID ? (size_t) invalid : LEAD_MAX_INVALID);
        crm__v1__lead_received__free_unpacked (lead, NULL);
        return SERVICE_REJECT;
    }
    //  The reply is set once the lead is stored (ingest_flush).
    service_rc_t rc = ingest_add (((leads_t *) arg)->ingest, lead, reply, cmd->command_id);
    if (rc)
        crm__v1__lead_received__free_unpacked (lead, NULL);
    return rc;
}

//  Intake: [topic "LeadReceived"][LeadReceived], published by systems that
//  want no reply. Anything else there is dead-lettered.
static service_rc_t
s_intake (service_t *svc, zmsg_t *msg, void *arg, char *reason, size_t reason_size)
{
    (void) svc;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 2 || !zframe_streq (topic, "LeadReceived")) {
        snprintf (reason, reason_size, "intake takes [\"LeadReceived\"][LeadReceived]");
        return SERVICE_REJECT;
    }
    Crm__V1__LeadReceived *lead =
        crm__v1__lead_received__unpack (NULL, zframe_size (body), zframe_data (body));
    if (!lead) {
        snprintf (reason, reason_size, "not a crm.v1.LeadReceived protobuf");
        return SERVICE_REJECT;
    }
    const char *fields[LEAD_MAX_INVALID];
    if (s_validate (arg, lead, fields, reason, reason_size)) {
        crm__v1__lead_received__free_unpacked (lead, NULL);
        return SERVICE_REJECT;
    }
    char causation[160];
    snprintf (causation, sizeof causation, "intake:%.60s:%.90s", lead->source_system, lead->external_id);
    service_rc_t rc = ingest_add (((leads_t *) arg)->ingest, lead, NULL, causation);
    if (rc)
        crm__v1__lead_received__free_unpacked (lead, NULL);
    return rc;
}

static zsock_t *
s_intake_socket (const config_t *cfg)
{
    char dflt[128], bind[128];
    config_bind_endpoint (cfg, CONFIG_INTAKE, dflt, sizeof dflt);
    snprintf (bind, sizeof bind, "%s", config_str ("CRM_LEADS_INTAKE_BIND", dflt));
    zsock_t *sock = zsock_new (ZMQ_SUB);
    if (!sock)
        return NULL;
    zsock_set_subscribe (sock, "");
    zsock_set_rcvhwm (sock, 100000);
    zsock_set_maxmsgsize (sock, (int64_t) cfg->max_message_bytes * 16);
    if (zsock_bind (sock, "%s", bind) < 0) {
        log_error ("cannot bind intake", "endpoint", bind, NULL);
        zsock_destroy (&sock);
        return NULL;
    }
    log_info ("listening", "endpoint", bind, "socket", "intake", NULL);
    char list[1024];
    snprintf (list, sizeof list, "%s", config_str ("CRM_LEADS_INTAKE_CONNECT", ""));
    char *save = NULL;
    for (char *ep = strtok_r (list, ", ", &save); ep; ep = strtok_r (NULL, ", ", &save)) {
        if (zsock_connect (sock, "%s", ep) < 0)
            log_error ("cannot connect intake", "endpoint", ep, NULL);
        else
            log_info ("intake subscribed", "endpoint", ep, NULL);
    }
    return sock;
}

//  The staff directory and the funnel's definition, checked; the company's
//  zone made the process's (pipeline_setup). Returns 0, or -1 with "FILE:LINE:
//  problem" in err.
static int
s_load_definitions (staff_t **staff, pipeline_t **def, char *err, size_t err_size)
{
    if (pipeline_setup ("CRM_LEADS_PIPELINE", PIPELINE_FILE, staff, def, err, err_size))
        return -1;
    if (strcmp ((*def)->record, "lead") != 0) {
        snprintf (err, err_size, "%s: record is '%s': the leads service runs a pipeline of leads",
                  (*def)->path, (*def)->record);
        return -1;
    }
    return 0;
}

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[1024];
    staff_t *staff = NULL;
    pipeline_t *def = NULL;
    db_t *db = NULL;
    service_t *svc = NULL;
    zsock_t *intake = NULL;
    intake_http_t *http = NULL;
    funnel_t *funnel = NULL;
    leads_t leads = {0};

    if (log_init ("leads"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "leads", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    if (s_load_definitions (&staff, &def, err, sizeof err)) {
        log_error ("bad definition", "error", err, NULL);
        rc = 2;
        goto cleanup;
    }
    log_info ("definition loaded", "pipeline", def->path, "staff", staff->path, "time_zone", tz_name (),
              "lead_assignment", staff->lead_assignment, NULL);
    if (!(http = intake_http_new (err, sizeof err))) {
        log_error ("bad configuration", "error", err, NULL);
        rc = 2;
        goto cleanup;
    }

    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, leads_migrations, leads_migrations_count))
        goto cleanup;

    leads.staff = staff;
    svc = service_new (&cfg, &db);
    funnel = svc ? funnel_new (svc, def) : NULL;
    leads.ingest = funnel ? ingest_new (svc, funnel, staff) : NULL;
    if (!leads.ingest || !(intake = s_intake_socket (&cfg)))
        goto cleanup;
    service_add_reader (svc, intake, "intake", s_intake, &leads);
    intake = NULL;
    intake_http_serve (http, svc);
    char keys[24];
    log_u64 (keys, intake_http_keys (http));
    if (cfg.http_port == 0)
        log_info ("no http intake: CRM_LEADS_HTTP_PORT is 0", NULL);
    else if (intake_http_keys (http) == 0)
        log_info ("http intake refuses every lead: no API keys (CRM_LEADS_API_KEYS_FILE, CRM_LEADS_API_KEYS)",
                  NULL);
    else
        log_info ("http intake", "path", "/v1/leads", "api_keys", keys, NULL);
    service_on_command (svc, "SubmitLead", s_submit_lead, &leads, true);
    s_on_command (&leads, svc, "MoveLead", funnel_move_lead, funnel);
    s_on_command (&leads, svc, "ShowLead", views_show_lead, def);
    s_on_command (&leads, svc, "ListLeads", views_list_leads, def);
    s_on_command (&leads, svc, "ListContacts", views_list_contacts, def);
    s_on_command (&leads, svc, "ListCompanies", views_list_companies, def);
    s_on_event (&leads, svc, "TimerFired", funnel_timer_fired, funnel);
    s_on_event (&leads, svc, "TaskCreated", funnel_task_created, funnel);
    s_on_event (&leads, svc, "TaskCompleted", funnel_task_completed, funnel);
    service_on_batch (svc, s_flush, NULL, s_reset, &leads);

    if (service_start (svc) == 0)
        rc = service_run (svc);

cleanup:
    zsock_destroy (&intake);
    service_destroy (&svc);  // before the route's state: it answers deferred requests
    intake_http_destroy (&http);
    ingest_destroy (&leads.ingest);  // before the funnel it points to
    funnel_destroy (&funnel);
    db_destroy (&db);
    pipeline_destroy (&def);
    staff_destroy (&staff);
    return rc;
}

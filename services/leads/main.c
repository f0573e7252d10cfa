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
#include "intake_http.h"
#include "lead.h"
#include "log.h"
#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "tz.h"
#include "views.h"

#define PIPELINE_FILE "deploy/pipelines/lead_funnel.yaml"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A lead received in the open batch, waiting for the batch's one insert.
typedef struct {
    Crm__V1__LeadReceived *lead;  // owned
    service_reply_t *reply;       // the command's, or NULL from the intake
    char causation_id[160];
} received_t;

typedef struct {
    service_t *svc;
    store_t *store;
    funnel_t *funnel;
    const staff_t *staff;
    received_t *received;
    size_t count;
    size_t cap;
} leads_t;

//  Takes a valid lead into the batch (owning it); the command endpoint and
//  the intake share this path, so both apply one rule.
static service_rc_t
s_receive (leads_t *self, Crm__V1__LeadReceived *lead, service_reply_t *reply, const char *causation_id)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        received_t *received = realloc (self->received, cap * sizeof *received);
        if (!received)
            return SERVICE_FAIL;
        self->received = received;
        self->cap = cap;
    }
    if (store_add (self->store, lead, lead->responsible) < 0)
        return SERVICE_FAIL;
    received_t *r = &self->received[self->count++];
    r->lead = lead;
    r->reply = reply;
    snprintf (r->causation_id, sizeof r->causation_id, "%s", causation_id);
    return SERVICE_OK;
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

static db_rc_t
s_stored (int index, uint64_t lead_id, bool created, void *arg)
{
    leads_t *self = arg;
    received_t *r = &self->received[index];
    service_rc_t rc = created ? funnel_created (self->funnel, lead_id, r->lead, r->causation_id) : SERVICE_OK;
    if (rc)
        return rc == SERVICE_RETRY ? DB_TRANSIENT : DB_PERMANENT;
    if (r->reply) {
        Crm__V1__SubmitLeadReply result = CRM__V1__SUBMIT_LEAD_REPLY__INIT;
        result.lead_id = lead_id;
        result.created = created;
        service_reply_set (r->reply, &result.base);
    }
    return DB_OK;
}

static void
s_reset (service_t *svc, void *arg)
{
    (void) svc;
    leads_t *self = arg;
    for (size_t i = 0; i < self->count; i++)
        crm__v1__lead_received__free_unpacked (self->received[i].lead, NULL);
    self->count = 0;
    store_reset (self->store);
}

static service_rc_t
s_flush (service_t *svc, void *arg)
{
    leads_t *self = arg;
    service_rc_t rc = service_rc (store_flush (self->store, service_db (svc), s_stored, self));
    s_reset (svc, self);
    return rc;
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
    //  The reply is set when the batch's insert has run (s_stored).
    service_rc_t rc = s_receive (arg, lead, reply, cmd->command_id);
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
    service_rc_t rc = s_receive (arg, lead, NULL, causation);
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
    leads.store = store_new ();
    leads.svc = svc = service_new (&cfg, &db);
    leads.funnel = funnel_new (svc, def, staff);
    if (!leads.store || !svc || !leads.funnel || !(intake = s_intake_socket (&cfg)))
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
    service_on_command (svc, "MoveLead", funnel_move_lead, leads.funnel, true);
    service_on_command (svc, "ShowLead", views_show_lead, def, true);
    service_on_command (svc, "ListLeads", views_list_leads, def, true);
    service_on_command (svc, "ListContacts", views_list_contacts, def, true);
    service_on_command (svc, "ListCompanies", views_list_companies, def, true);
    service_on_event (svc, "TimerFired", funnel_timer_fired, leads.funnel);
    service_on_event (svc, "TaskCreated", funnel_task_created, leads.funnel);
    service_on_event (svc, "TaskCompleted", funnel_task_completed, leads.funnel);
    service_on_batch (svc, s_flush, NULL, s_reset, &leads);

    if (service_start (svc) == 0)
        rc = service_run (svc);

cleanup:
    zsock_destroy (&intake);
    service_destroy (&svc);  // before the route's state: it answers deferred requests
    intake_http_destroy (&http);
    if (leads.store)
        s_reset (NULL, &leads);
    store_destroy (&leads.store);
    funnel_destroy (&leads.funnel);
    free (leads.received);
    db_destroy (&db);
    pipeline_destroy (&def);
    staff_destroy (&staff);
    return rc;
}

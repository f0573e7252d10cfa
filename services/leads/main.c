/*  crm-leads: the lead funnel's owner. Takes leads from other systems
    (command "SubmitLead", or LeadReceived published to its intake socket),
    stores each once per (source_system, external_id), and emits
    LeadCreated plus a request to notify the responsible manager.
*/
#include "config.h"
#include "db.h"
#include "lead.h"
#include "log.h"
#include "service.h"
#include "store.h"
#include "crm/v1/notifier.pb-c.h"

#define NOTIFICATION_TEXT_MAX 4000  // bytes, as the notifier accepts

#include <inttypes.h>
#include <stdio.h>

typedef struct {
    char default_responsible[100];
} leads_t;

//  Stores a received lead and, if it is new, emits its events. Shared by
//  the command endpoint and the intake socket, so both apply one rule.
static service_rc_t
s_receive (service_t *svc, leads_t *leads, const Crm__V1__LeadReceived *lead, const char *causation_id,
           uint64_t *lead_id, bool *created)
{
    const char *responsible = *lead->responsible ? lead->responsible : leads->default_responsible;
    service_rc_t rc = service_rc (store_lead_insert (service_db (svc), lead, responsible, lead_id, created));
    if (rc || !*created)
        return rc;

    char correlation_id[32], id[24];
    snprintf (correlation_id, sizeof correlation_id, "lead:%" PRIu64, *lead_id);
    Crm__V1__LeadReceived stored = *lead;
    stored.responsible = (char *) responsible;
    Crm__V1__LeadCreated event = CRM__V1__LEAD_CREATED__INIT;
    event.lead_id = *lead_id;
    event.lead = &stored;
    event.stage = "new";
    rc = service_emit (svc, &event.base, correlation_id, causation_id);

    char key[64], text[NOTIFICATION_TEXT_MAX];
    snprintf (key, sizeof key, "lead:%" PRIu64 ":new-lead", *lead_id);
    lead_new_lead_text (text, sizeof text, *lead_id, &stored);
    Crm__V1__NotificationRequested notify = CRM__V1__NOTIFICATION_REQUESTED__INIT;
    notify.request_key = key;
    notify.recipient = (char *) responsible;
    notify.text = text;
    if (rc == SERVICE_OK)
        rc = service_emit (svc, &notify.base, correlation_id, causation_id);
    log_info ("lead created", "lead_id", log_u64 (id, *lead_id), "correlation_id", correlation_id,
              "source_system", lead->source_system, "external_id", lead->external_id, "responsible",
              responsible, NULL);
    return rc;
}

static service_rc_t
s_submit_lead (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    Crm__V1__LeadReceived *lead =
        crm__v1__lead_received__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!lead) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.LeadReceived", NULL, 0);
        return SERVICE_REJECT;
    }
    const char *fields[LEAD_MAX_INVALID] = {0};
    char message[256];
    int invalid = lead_validate (lead, fields, message, sizeof message);
    service_rc_t rc = SERVICE_REJECT;
    if (invalid) {
        log_warn ("lead refused", "command_id", cmd->command_id, "error", message, NULL);
        service_reply_error (reply, "INVALID_ARGUMENT", message, fields,
                             invalid < LEAD_MAX_INVALID ? (size_t) invalid : LEAD_MAX_INVALID);
    }
    else {
        Crm__V1__SubmitLeadReply result = CRM__V1__SUBMIT_LEAD_REPLY__INIT;
        bool created = false;
        rc = s_receive (svc, arg, lead, cmd->command_id, &result.lead_id, &created);
        result.created = created;
        if (rc == SERVICE_OK)
            service_reply_set (reply, &result.base);
    }
    crm__v1__lead_received__free_unpacked (lead, NULL);
    return rc;
}

//  Intake: [topic "LeadReceived"][LeadReceived], published by systems that
//  want no reply. Anything else there is dead-lettered.
static service_rc_t
s_intake (service_t *svc, zmsg_t *msg, void *arg, char *reason, size_t reason_size)
{
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
    service_rc_t rc = SERVICE_REJECT;
    if (lead_validate (lead, fields, reason, reason_size) == 0) {
        uint64_t lead_id;
        bool created;
        char causation[160];
        snprintf (causation, sizeof causation, "intake:%.60s:%.90s", lead->source_system, lead->external_id);
        rc = s_receive (svc, arg, lead, causation, &lead_id, &created);
    }
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

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[256];
    db_t *db = NULL;
    service_t *svc = NULL;
    zsock_t *intake = NULL;
    leads_t leads;

    if (log_init ("leads"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "leads", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    snprintf (leads.default_responsible, sizeof leads.default_responsible, "%s",
              config_str ("CRM_LEADS_DEFAULT_RESPONSIBLE", "manager"));

    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, leads_migrations, leads_migrations_count))
        goto cleanup;

    svc = service_new (&cfg, &db);
    if (!svc || !(intake = s_intake_socket (&cfg)))
        goto cleanup;
    service_add_reader (svc, intake, "intake", s_intake, &leads);
    intake = NULL;
    service_on_command (svc, "SubmitLead", s_submit_lead, &leads, true);

    if (service_start (svc) == 0)
        rc = service_run (svc);

cleanup:
    zsock_destroy (&intake);
    service_destroy (&svc);
    db_destroy (&db);
    return rc;
}

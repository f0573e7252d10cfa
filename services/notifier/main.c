/*  crm-notifier: a generic delivery service. Any service asks it to tell
    someone something by publishing NotificationRequested; it stores each
    request once (by request_key) with what it concerns (the event's
    correlation id) and the rule behind it, publishes NotificationStored,
    keeps it in the recipient's in-app inbox (ListNotifications,
    MarkNotificationRead) and, in the same transaction, queues one delivery
    per outbound channel the staff directory gives the recipient (webhook,
    e-mail), which delivery.h sends from the service's tick. It knows
    nothing of leads or deals.
*/
#include "clock.h"
#include "config.h"
#include "db.h"
#include "delivery.h"
#include "log.h"
#include "notification.h"
#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    service_t *svc;
    store_t *store;
    delivery_t *delivery;
} notifier_t;

static service_rc_t
s_requested (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    notifier_t *self = arg;
    Crm__V1__NotificationRequested *request =
        crm__v1__notification_requested__unpack (NULL, event->payload.len, event->payload.data);
    if (!request) {
        snprintf (reason, size, "payload is not a crm.v1.NotificationRequested");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    if (notification_validate (request, reason, size) == 0)
        rc = store_add (self->store, request, event->correlation_id, event->source, event->sequence,
                        event->time_ms, event->event_id)
               ? SERVICE_FAIL
               : SERVICE_OK;
    crm__v1__notification_requested__free_unpacked (request, NULL);
    return rc;
}

static int
s_stored (const Crm__V1__NotificationStored *stored, const char *correlation_id, const char *event_id,
          void *arg)
{
    notifier_t *self = arg;
    char id[24];
    log_info ("notification stored", "notification_id", log_u64 (id, stored->notification_id), "recipient",
              stored->recipient, "correlation_id", correlation_id, "request_key", stored->request_key, NULL);
    //  Caused by the request event, as every service's events are.
    return service_emit (self->svc, &stored->base, correlation_id, event_id);
}

//  ---------------------------------------------------------------- batches

static service_rc_t
s_flush (service_t *svc, void *arg)
{
    notifier_t *self = arg;
    size_t queued = 0;
    service_rc_t rc =
        service_rc (store_flush (self->store, service_db (svc), clock_now_ms (), s_stored, self, &queued));
    if (queued)
        delivery_kick (self->delivery);
    return rc;
}

static void
s_committed (service_t *svc, void *arg)
{
    (void) svc;
    delivery_committed (((notifier_t *) arg)->delivery);
}

static void
s_reset (service_t *svc, void *arg)
{
    (void) svc;
    store_reset (((notifier_t *) arg)->store);
    delivery_reset (((notifier_t *) arg)->delivery);
}

static int64_t
s_wake (service_t *svc, void *arg)
{
    (void) svc;
    return delivery_wake (((notifier_t *) arg)->delivery);
}

static service_rc_t
s_tick (service_t *svc, int64_t now_ms, void *arg)
{
    return delivery_tick (((notifier_t *) arg)->delivery, svc, now_ms);
}

static void
s_metrics (service_t *svc, void *arg, service_metrics_t *metrics)
{
    (void) svc;
    delivery_metrics (((notifier_t *) arg)->delivery, metrics);
}

//  ---------------------------------------------------------------- commands

static service_rc_t
s_list (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListNotifications *query =
        crm__v1__list_notifications__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!query || !*query->recipient || !utf8_valid (query->recipient)) {
        service_reply_error (reply, query ? "INVALID_ARGUMENT" : "MALFORMED",
                             query ? "recipient is required, in UTF-8"
                                   : "payload is not a crm.v1.ListNotifications",
                             (const char *[]){"recipient"}, query ? 1 : 0);
        crm__v1__list_notifications__free_unpacked (query, NULL);
        return SERVICE_REJECT;
    }
    store_listing_t *listing = NULL;
    uint32_t limit = query->limit == 0 ? 50 : query->limit > 1000 ? 1000 : query->limit;
    service_rc_t rc =
        service_rc (store_list (service_db (svc), query->recipient, query->unread, limit, &listing));
    if (rc == SERVICE_OK)
        service_reply_set (reply, &store_listing_list (listing)->base);
    store_listing_free (listing);
    crm__v1__list_notifications__free_unpacked (query, NULL);
    return rc;
}

static service_rc_t
s_read (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__MarkNotificationRead *mark =
        crm__v1__mark_notification_read__unpack (NULL, cmd->payload.len, cmd->payload.data);
    const char *bad = !mark                                      ? NULL
                    : mark->notification_id == 0                 ? "notification_id"
                    : !*cmd->sender || !utf8_valid (cmd->sender) ? "sender"
                                                                 : NULL;
    if (!mark || bad) {
        service_reply_error (reply, mark ? "INVALID_ARGUMENT" : "MALFORMED",
                             !mark ? "payload is not a crm.v1.MarkNotificationRead"
                             : strcmp (bad, "sender") == 0
                                 ? "the command's sender must be the login of who read it"
                                 : "notification_id is required",
                             &bad, mark ? 1 : 0);
        crm__v1__mark_notification_read__free_unpacked (mark, NULL);
        return SERVICE_REJECT;
    }
    store_read_t outcome = STORE_READ_OK;
    store_listing_t *listing = NULL;
    service_rc_t rc = service_rc (
        store_mark_read (service_db (svc), mark->notification_id, cmd->sender, &outcome, &listing));
    const char *field = "notification_id";
    if (rc == SERVICE_OK && outcome == STORE_READ_NOT_FOUND)
        service_reply_error (reply, "NOT_FOUND", "no notification with this id", &field, 1);
    else if (rc == SERVICE_OK && outcome == STORE_READ_NOT_YOURS)
        service_reply_error (reply, "PERMISSION_DENIED", "only its recipient may mark a notification read",
                             &field, 1);
    else if (rc == SERVICE_OK && store_listing_list (listing)->n_notifications == 1)
        service_reply_set (reply, &store_listing_list (listing)->notifications[0]->base);
    store_listing_free (listing);
    crm__v1__mark_notification_read__free_unpacked (mark, NULL);
    return rc;
}

//  ---------------------------------------------------------------- start

//  Says at start what the channels need and lacks: nothing is sent until
//  it is there (the attempts fail and are retried meanwhile).
static void
s_check_channels (const staff_t *staff, const delivery_config_t *cfg)
{
    size_t webhooks = 0, emails = 0;
    for (size_t i = 0; i < staff->n_people; i++)
        for (size_t j = 0; j < staff->people[i].n_channels; j++) {
            const staff_channel_t *ch = &staff->people[i].channels[j];
            emails += ch->kind == STAFF_EMAIL;
            webhooks += ch->kind == STAFF_WEBHOOK;
            if (ch->kind == STAFF_WEBHOOK && ch->secret_env && !*config_str (ch->secret_env, ""))
                log_warn ("a webhook's secret variable is not set: its deliveries fail until it is", "login",
                          staff->people[i].login, "variable", ch->secret_env, NULL);
        }
    char w[24], e[24];
    log_info ("outbound channels", "webhooks", log_u64 (w, webhooks), "emails", log_u64 (e, emails), NULL);
    if (emails && !*cfg->smtp_url)
        log_warn ("e-mail channels are configured but CRM_SMTP_URL is not set: e-mail deliveries fail", NULL);
}

int
main (void)
{
    int rc = 1;
    config_t cfg;
    delivery_config_t dcfg;
    char err[512];
    db_t *db = NULL;
    staff_t *staff = NULL;
    pipeline_t *none = NULL;
    notifier_t notifier = {0};

    if (log_init ("notifier"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "notifier", err, sizeof err) || delivery_config_load (&dcfg, err, sizeof err)
        || pipeline_setup (NULL, NULL, &staff, &none, err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    s_check_channels (staff, &dcfg);
    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1)
        || db_migrate (db, cfg.service, notifier_migrations, notifier_migrations_count))
        goto cleanup;

    notifier.store = store_new (staff);
    notifier.delivery = delivery_new (&dcfg);
    notifier.svc = service_new (&cfg, &db);
    if (!notifier.store || !notifier.delivery || !notifier.svc)
        goto cleanup;
    service_on_event (notifier.svc, "NotificationRequested", s_requested, &notifier);
    service_on_batch (notifier.svc, s_flush, s_committed, s_reset, &notifier);
    service_on_tick (notifier.svc, s_wake, s_tick, &notifier);
    service_on_status (notifier.svc, s_metrics, &notifier);
    service_on_command (notifier.svc, "ListNotifications", s_list, &notifier, true);
    service_on_command (notifier.svc, "MarkNotificationRead", s_read, &notifier, true);

    if (service_start (notifier.svc) == 0)
        rc = service_run (notifier.svc);

cleanup:
    service_destroy (&notifier.svc);
    delivery_destroy (&notifier.delivery);
    store_destroy (&notifier.store);
    db_destroy (&db);
    staff_destroy (&staff);
    return rc;
}

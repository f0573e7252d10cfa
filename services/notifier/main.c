/*  crm-notifier: a generic delivery service. Any service asks it to tell
    someone something by publishing NotificationRequested; it stores each
    request once (by request_key) and publishes NotificationStored. It knows
    nothing of leads or deals. Delivery channels are a later issue.
*/
#include "config.h"
#include "db.h"
#include "log.h"
#include "notification.h"
#include "service.h"
#include "store.h"
#include "utf8.h"

typedef struct {
    service_t *svc;
    store_t *store;
    const Crm__V1__Envelope *event;     // the request being flushed, for causation
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
                        event->time_ms) ? SERVICE_FAIL : SERVICE_OK;
    crm__v1__notification_requested__free_unpacked (request, NULL);
    return rc;
}

static int
s_stored (const Crm__V1__NotificationStored *stored, const char *correlation_id, void *arg)
{
    notifier_t *self = arg;
    char id[24];
    log_info ("notification stored", "notification_id", log_u64 (id, stored->notification_id),
              "recipient", stored->recipient, "correlation_id", correlation_id, "request_key",
              stored->request_key, NULL);
    return service_emit (self->svc, &stored->base, correlation_id, stored->request_key);
}

static service_rc_t
s_flush (service_t *svc, void *arg)
{
    notifier_t *self = arg;
    return service_rc (store_flush (self->store, service_db (svc), s_stored, self));
}

static void
s_reset (service_t *svc, void *arg)
{
    (void) svc;
    store_reset (((notifier_t *) arg)->store);
}

static service_rc_t
s_list (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListNotifications *query =
        crm__v1__list_notifications__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!query || !*query->recipient || !utf8_valid (query->recipient)) {
        service_reply_error (reply, query ? "INVALID_ARGUMENT" : "MALFORMED",
                             query ? "recipient is required, in UTF-8" : "payload is not a crm.v1.ListNotifications",
                             (const char *[]) {"recipient"}, query ? 1 : 0);
        crm__v1__list_notifications__free_unpacked (query, NULL);
        return SERVICE_REJECT;
    }
    Crm__V1__NotificationList *list = NULL;
    uint32_t limit = query->limit == 0 ? 50 : query->limit > 1000 ? 1000 : query->limit;
    service_rc_t rc = service_rc (store_list (service_db (svc), query->recipient, limit, &list));
    if (rc == SERVICE_OK)
        service_reply_set (reply, &list->base);
    store_list_free (list);
    crm__v1__list_notifications__free_unpacked (query, NULL);
    return rc;
}

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[256];
    db_t *db = NULL;
    notifier_t notifier = {0};

    if (log_init ("notifier"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "notifier", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1)
        || db_migrate (db, cfg.service, notifier_migrations, notifier_migrations_count))
        goto cleanup;

    notifier.store = store_new ();
    notifier.svc = service_new (&cfg, &db);
    if (!notifier.store || !notifier.svc)
        goto cleanup;
    service_on_event (notifier.svc, "NotificationRequested", s_requested, &notifier);
    service_on_batch (notifier.svc, s_flush, NULL, s_reset, &notifier);
    service_on_command (notifier.svc, "ListNotifications", s_list, &notifier, true);

    if (service_start (notifier.svc) == 0)
        rc = service_run (notifier.svc);

cleanup:
    service_destroy (&notifier.svc);
    store_destroy (&notifier.store);
    db_destroy (&db);
    return rc;
}

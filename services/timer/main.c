/*  crm-timer: durable due-time events. Any service asks for a timer by
    publishing TimerRequested (or TimerCancelRequested); at the due time
    this service publishes TimerFired through its outbox, in the same
    transaction that marks the timer fired, so each fires exactly once.

    Timers live in Postgres; in memory is only the next due instant. The
    loop sleeps until then (woken early by new requests) and re-reads the
    wall clock after every wake-up, sleeping at most 250 ms on one reading,
    so a step of the system clock neither skips nor stalls a timer.
*/
#include "config.h"
#include "db.h"
#include "log.h"
#include "service.h"
#include "store.h"
#include "timer.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>

typedef struct {
    service_t *svc;
    int64_t next_due_ms;        // earliest pending due time; INT64_MIN: unknown, look it up
    int64_t pending;            // committed count of pending timers
    int64_t pending_delta;      // change in the open transaction
    int64_t batch_lateness[STORE_FIRE_MAX];
    int batch_fired;
    timer_lateness_t lateness;  // of committed firings
} timer_service_t;

static service_rc_t
s_requested (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    timer_service_t *self = arg;
    Crm__V1__TimerRequested *request =
        crm__v1__timer_requested__unpack (NULL, event->payload.len, event->payload.data);
    if (!request) {
        snprintf (reason, size, "payload is not a crm.v1.TimerRequested");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    bool was_pending = false;
    if (timer_validate_request (request, event->source, reason, size) == 0)
        rc = service_rc (store_schedule (service_db (svc), request, event->correlation_id,
                                         event->sequence, &was_pending));
    if (rc == SERVICE_OK) {
        if (!was_pending)
            self->pending_delta++;
        if (self->next_due_ms != INT64_MIN && request->due_ms < self->next_due_ms)
            self->next_due_ms = request->due_ms;
        char due[24];
        log_debug ("timer scheduled", "owner", request->owner, "key", request->key, "due_ms",
                   log_u64 (due, (uint64_t) request->due_ms), "correlation_id", event->correlation_id,
                   NULL);
    }
    crm__v1__timer_requested__free_unpacked (request, NULL);
    return rc;
}

static service_rc_t
s_cancel (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    timer_service_t *self = arg;
    Crm__V1__TimerCancelRequested *request =
        crm__v1__timer_cancel_requested__unpack (NULL, event->payload.len, event->payload.data);
    if (!request) {
        snprintf (reason, size, "payload is not a crm.v1.TimerCancelRequested");
        return SERVICE_REJECT;
    }
    service_rc_t rc = SERVICE_REJECT;
    bool cancelled = false;
    if (timer_validate_cancel (request, event->source, reason, size) == 0)
        rc = service_rc (store_cancel (service_db (svc), request->owner, request->key, &cancelled));
    if (rc == SERVICE_OK && cancelled) {
        self->pending_delta--;
        log_debug ("timer cancelled", "owner", request->owner, "key", request->key, NULL);
    }
    crm__v1__timer_cancel_requested__free_unpacked (request, NULL);
    return rc;
}

typedef struct {
    timer_service_t *self;
    int64_t now_ms;
} firing_t;

static int
s_fired (const store_due_t *due, void *arg)
{
    firing_t *firing = arg;
    timer_service_t *self = firing->self;
    Crm__V1__TimerFired event = CRM__V1__TIMER_FIRED__INIT;
    event.key = (char *) due->key;
    event.owner = (char *) due->owner;
    event.payload.data = (uint8_t *) due->payload;
    event.payload.len = due->payload_len;
    event.due_ms = due->due_ms;
    event.fired_ms = firing->now_ms;
    int64_t lateness = firing->now_ms - due->due_ms;
    if (self->batch_fired < STORE_FIRE_MAX)
        self->batch_lateness[self->batch_fired++] = lateness;
    char causation[256], late[24];
    snprintf (causation, sizeof causation, "timer:%s:%s", due->owner, due->key);
    log_info ("timer fired", "owner", due->owner, "key", due->key, "lateness_ms",
              log_u64 (late, (uint64_t) (lateness > 0 ? lateness : 0)), "correlation_id",
              due->correlation_id, NULL);
    return service_emit (self->svc, &event.base, due->correlation_id, causation);
}

static int64_t
s_wake (service_t *svc, void *arg)
{
    (void) svc;
    timer_service_t *self = arg;
    return self->next_due_ms;
}

static service_rc_t
s_tick (service_t *svc, int64_t now_ms, void *arg)
{
    timer_service_t *self = arg;
    firing_t firing = {self, now_ms};
    int count = 0;
    db_rc_t rc = store_fire (service_db (svc), now_ms, s_fired, &firing, &count);
    self->pending_delta -= count;
    if (rc == DB_OK)    // more due at once than one transaction takes: go again at once
        rc = count == STORE_FIRE_MAX ? DB_OK : store_next_due (service_db (svc), &self->next_due_ms);
    if (rc == DB_OK && count == STORE_FIRE_MAX)
        self->next_due_ms = now_ms;
    return service_rc (rc);
}

static void
s_committed (service_t *svc, void *arg)
{
    (void) svc;
    timer_service_t *self = arg;
    self->pending += self->pending_delta;
    self->pending_delta = 0;
    for (int i = 0; i < self->batch_fired; i++)
        timer_lateness_add (&self->lateness, self->batch_lateness[i]);
    self->batch_fired = 0;
}

static void
s_reset (service_t *svc, void *arg)
{
    (void) svc;
    timer_service_t *self = arg;
    self->pending_delta = 0;
    self->batch_fired = 0;
    self->next_due_ms = INT64_MIN;   // what the rolled-back batch learnt is void
}

static void
s_metrics (service_t *svc, void *arg, service_metrics_t *metrics)
{
    (void) svc;
    timer_service_t *self = arg;
    service_metric (metrics, "timers_pending", (double) self->pending);
    service_metric (metrics, "timers_fired", (double) self->lateness.fired);
    service_metric (metrics, "lateness_p50_ms", (double) timer_lateness_percentile (&self->lateness, 50));
    service_metric (metrics, "lateness_p99_ms", (double) timer_lateness_percentile (&self->lateness, 99));
    service_metric (metrics, "lateness_max_ms", (double) timer_lateness_percentile (&self->lateness, 100));
    //  INT64_MAX: none pending; INT64_MIN: not known yet (looked up at the next tick).
    bool known = self->next_due_ms != INT64_MAX && self->next_due_ms != INT64_MIN;
    service_metric (metrics, "next_due_ms", known ? (double) self->next_due_ms : 0);
}

static service_rc_t
s_list (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListTimers *query = crm__v1__list_timers__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!query) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ListTimers", NULL, 0);
        return SERVICE_REJECT;
    }
    if (!utf8_valid (query->owner) || !utf8_valid (query->key_prefix)) {
        service_reply_error (reply, "INVALID_ARGUMENT", "owner and key_prefix must be UTF-8",
                             (const char *[]) {"owner", "key_prefix"}, 2);
        crm__v1__list_timers__free_unpacked (query, NULL);
        return SERVICE_REJECT;
    }
    Crm__V1__TimerList *list = NULL;
    uint32_t limit = query->limit == 0 ? 100 : query->limit > 1000 ? 1000 : query->limit;
    service_rc_t rc = service_rc (store_list (service_db (svc), query->owner, query->key_prefix, limit, &list));
    if (rc == SERVICE_OK)
        service_reply_set (reply, &list->base);
    store_list_free (list);
    crm__v1__list_timers__free_unpacked (query, NULL);
    return rc;
}

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[256];
    db_t *db = NULL;
    timer_service_t timer = {.next_due_ms = INT64_MIN};

    if (log_init ("timer"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "timer", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, timer_migrations, timer_migrations_count)
        || store_pending (db, INT64_MAX - 1, &timer.pending))
        goto cleanup;

    timer.svc = service_new (&cfg, &db);
    if (!timer.svc)
        goto cleanup;
    service_on_event (timer.svc, "TimerRequested", s_requested, &timer);
    service_on_event (timer.svc, "TimerCancelRequested", s_cancel, &timer);
    service_on_tick (timer.svc, s_wake, s_tick, &timer);
    service_on_batch (timer.svc, NULL, s_committed, s_reset, &timer);
    service_on_status (timer.svc, s_metrics, &timer);
    service_on_command (timer.svc, "ListTimers", s_list, &timer, true);

    if (service_start (timer.svc) == 0)
        rc = service_run (timer.svc);

cleanup:
    service_destroy (&timer.svc);
    db_destroy (&db);
    return rc;
}

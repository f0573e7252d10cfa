/*  delivery: see delivery.h. */
#include "delivery.h"
#include "channel.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "queue.h"
#include "sqlarray.h"
#include "utf8.h"
#include "crm/v1/notifier.pb-c.h"

#include <curl/curl.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_FREE = 0,
    T_PREPARED,  // claimed in the open transaction, not started
    T_RUNNING,   // in curl's hands
    T_DONE,      // finished; outcome not yet written
    T_WRITING    // outcome written in the open transaction
} slot_state_t;

typedef enum { O_DELIVERED, O_RETRY, O_FAILED } outcome_t;

enum { WEBHOOK, EMAIL, CHANNELS };
static const char *const s_channel[] = {"webhook", "email"};

typedef struct {
    slot_state_t state;
    uint64_t id, notification_id;
    int channel;
    uint32_t attempts;  // this one included
    int64_t queued_ms;
    char recipient[104];
    char correlation_id[256];
    char where[256];  // what may be logged of the destination
    CURL *easy;
    struct curl_slist *list;  // webhook: headers; e-mail: the recipient
    char *payload;            // webhook: the body; e-mail: the message
    size_t len, sent;
    char errbuf[CURL_ERROR_SIZE];
    char reply[160];  // the start of an HTTP reply, for the error
    size_t reply_len;
    bool ok;
    char error[320];
    outcome_t outcome;  // T_WRITING
    int64_t retry_in_ms;
} slot_t;

struct delivery_t {
    delivery_config_t cfg;
    CURLM *multi;
    slot_t slots[DELIVERY_MAX_IN_FLIGHT];
    int64_t next_due_ms;           // INT64_MIN: not known, look at the next tick
    int64_t pump_at_ms;            // while transfers run: when to advance them next
    uint64_t pending;              // pending rows not in hand, as of the last look
    uint64_t counts[CHANNELS][3];  // by outcome_t, since start
};

int
delivery_config_load (delivery_config_t *cfg, char *err, size_t err_size)
{
    memset (cfg, 0, sizeof *cfg);
    const char *bad = config_int ("CRM_DELIVERY_TIMEOUT_MS", 10000, 100, 600000, &cfg->timeout_ms)
                        ? "CRM_DELIVERY_TIMEOUT_MS must be a number of ms from 100 to 600000"
                    : config_int ("CRM_DELIVERY_BACKOFF_MS", 1000, 10, 3600000, &cfg->backoff_ms)
                        ? "CRM_DELIVERY_BACKOFF_MS must be a number of ms from 10 to 3600000"
                    : config_int ("CRM_DELIVERY_BACKOFF_MAX_MS", 600000, 10, 86400000, &cfg->backoff_max_ms)
                        ? "CRM_DELIVERY_BACKOFF_MAX_MS must be a number of ms from 10 to 86400000"
                    : config_int ("CRM_DELIVERY_RETRY_FOR_S", 86400, 0, 30 * 86400, &cfg->retry_for_s)
                        ? "CRM_DELIVERY_RETRY_FOR_S must be a number of seconds from 0 to 2592000"
                        : NULL;
    const char *url = config_str ("CRM_SMTP_URL", "");
    const char *from = config_str ("CRM_SMTP_FROM", "crm@localhost");
    if (!bad && *url && strncmp (url, "smtp://", 7) != 0 && strncmp (url, "smtps://", 8) != 0)
        bad = "CRM_SMTP_URL must be smtp://host[:port] or smtps://host[:port]";
    if (!bad && (!strchr (from, '@') || strpbrk (from, "\r\n <>") || strlen (from) >= sizeof cfg->smtp_from))
        bad = "CRM_SMTP_FROM must be one bare address, e.g. crm@example.com";
    if (!bad && strlen (url) >= sizeof cfg->smtp_url)
        bad = "CRM_SMTP_URL is too long";
    if (bad) {
        snprintf (err, err_size, "%s", bad);
        return -1;
    }
    snprintf (cfg->smtp_url, sizeof cfg->smtp_url, "%s", url);
    snprintf (cfg->smtp_from, sizeof cfg->smtp_from, "%s", from);
    return 0;
}

delivery_t *
delivery_new (const delivery_config_t *cfg)
{
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    delivery_t *self = calloc (1, sizeof *self);
    if (!self || !(self->multi = curl_multi_init ())) {
        free (self);
        curl_global_cleanup ();
        return NULL;
    }
    self->cfg = *cfg;
    self->next_due_ms = INT64_MIN;
    return self;
}

static void
s_free_slot (delivery_t *self, slot_t *s)
{
    if (s->easy && s->state == T_RUNNING)
        curl_multi_remove_handle (self->multi, s->easy);
    curl_easy_cleanup (s->easy);
    curl_slist_free_all (s->list);
    free (s->payload);
    memset (s, 0, sizeof *s);
}

void
delivery_destroy (delivery_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    delivery_t *self = *self_p;
    for (int i = 0; i < DELIVERY_MAX_IN_FLIGHT; i++)
        s_free_slot (self, &self->slots[i]);
    curl_multi_cleanup (self->multi);
    free (self);
    curl_global_cleanup ();
    *self_p = NULL;
}

void
delivery_kick (delivery_t *self)
{
    self->next_due_ms = INT64_MIN;
}

//  ---------------------------------------------------------------- requests

static size_t
s_on_reply (char *data, size_t size, size_t n, void *arg)
{
    slot_t *s = arg;
    size_t len = size * n, room = sizeof s->reply - 1 - s->reply_len;
    memcpy (s->reply + s->reply_len, data, len < room ? len : room);
    s->reply_len += len < room ? len : room;
    return len;
}

static size_t
s_on_read (char *buf, size_t size, size_t n, void *arg)
{
    slot_t *s = arg;
    size_t len = size * n, left = s->len - s->sent;
    if (len > left)
        len = left;
    memcpy (buf, s->payload + s->sent, len);
    s->sent += len;
    return len;
}

//  Marks a slot finished with error (a sentence, no secret in it).
static void
s_finish (slot_t *s, bool ok, const char *error)
{
    s->state = T_DONE;
    s->ok = ok;
    snprintf (s->error, sizeof s->error, "%s", error);
    for (char *p = s->error; *p; p++)
        if ((unsigned char) *p < 0x20)
            *p = ' ';
    utf8_scrub (s->error);
}

//  The webhook request: JSON body, signed with the key ref names.
static int
s_webhook (slot_t *s, const queue_row_t *row, const channel_note_t *note, char *error, size_t size)
{
    char key[1024], signature[CHANNEL_SIGNATURE_SIZE], header[128];
    size_t key_len = 0;
    if (channel_secret (row->secret_ref, key, sizeof key, &key_len, error, size))
        return -1;
    s->payload = channel_webhook_body (note, &s->len);
    int rc = s->payload ? channel_sign (key, key_len, s->payload, s->len, signature) : -1;
    explicit_bzero (key, sizeof key);
    if (rc) {
        snprintf (error, size, "cannot build the request (out of memory)");
        return -1;
    }
    snprintf (header, sizeof header, "X-CRM-Signature: %s", signature);
    const char *headers[] = {"Content-Type: application/json; charset=utf-8", header,
                             "Expect:", "User-Agent: crm-notifier"};
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        struct curl_slist *list = curl_slist_append (s->list, headers[i]);
        if (!list)
            return -1;
        s->list = list;
    }
    curl_easy_setopt (s->easy, CURLOPT_URL, row->destination);
    curl_easy_setopt (s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (s->easy, CURLOPT_POST, 1L);
    curl_easy_setopt (s->easy, CURLOPT_POSTFIELDS, s->payload);
    curl_easy_setopt (s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) s->len);
    curl_easy_setopt (s->easy, CURLOPT_HTTPHEADER, s->list);
    curl_easy_setopt (s->easy, CURLOPT_WRITEFUNCTION, s_on_reply);
    curl_easy_setopt (s->easy, CURLOPT_WRITEDATA, s);
    return 0;
}

//  The e-mail: one message to one address through CRM_SMTP_URL.
static int
s_email (delivery_t *self, slot_t *s, const queue_row_t *row, const channel_note_t *note, char *error,
         size_t size)
{
    if (!*self->cfg.smtp_url) {
        snprintf (error, size, "CRM_SMTP_URL is not set: no way to send e-mail");
        return -1;
    }
    char from[300], to[300];
    snprintf (from, sizeof from, "<%s>", self->cfg.smtp_from);
    snprintf (to, sizeof to, "<%s>", row->destination);
    s->payload = channel_email (note, self->cfg.smtp_from, row->destination, clock_now_ms (), &s->len);
    if (!s->payload || !(s->list = curl_slist_append (NULL, to))) {
        snprintf (error, size, "cannot build the message (out of memory)");
        return -1;
    }
    curl_easy_setopt (s->easy, CURLOPT_URL, self->cfg.smtp_url);
    curl_easy_setopt (s->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt (s->easy, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt (s->easy, CURLOPT_MAIL_RCPT, s->list);
    curl_easy_setopt (s->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (s->easy, CURLOPT_READFUNCTION, s_on_read);
    curl_easy_setopt (s->easy, CURLOPT_READDATA, s);
    curl_easy_setopt (s->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) s->len);
    return 0;
}

//  Fills a free slot with the claimed row: T_PREPARED, or T_DONE with the
//  reason it cannot be sent (counts as a failed attempt, retried: the
//  operator may fix the secret or the SMTP settings meanwhile).
static void
s_prepare (delivery_t *self, slot_t *s, const queue_row_t *row)
{
    s->id = row->id;
    s->notification_id = row->notification_id;
    s->channel = strcmp (row->channel, "email") == 0 ? EMAIL : WEBHOOK;
    s->attempts = row->attempts + 1;
    s->queued_ms = row->queued_ms;
    snprintf (s->recipient, sizeof s->recipient, "%s", row->recipient);
    snprintf (s->correlation_id, sizeof s->correlation_id, "%s", row->correlation_id);
    channel_loggable (row->destination, s->where, sizeof s->where);
    channel_note_t note = {row->notification_id, row->recipient, row->text,
                           row->correlation_id,  row->rule,      row->created_ms};
    char error[300] = "cannot create a transfer (out of memory)";
    s->state = T_PREPARED;
    if (!(s->easy = curl_easy_init ())
        || (s->channel == EMAIL ? s_email (self, s, row, &note, error, sizeof error)
                                : s_webhook (s, row, &note, error, sizeof error))) {
        s_finish (s, false, error);
        return;
    }
    curl_easy_setopt (s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (s->easy, CURLOPT_TIMEOUT_MS, (long) self->cfg.timeout_ms);
    curl_easy_setopt (s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long) self->cfg.timeout_ms);
    curl_easy_setopt (s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt (s->easy, CURLOPT_PRIVATE, s);
}

//  ---------------------------------------------------------------- running

//  Advances every running transfer without waiting; finished ones become
//  T_DONE with their outcome.
static void
s_pump (delivery_t *self)
{
    int running = 0, left = 0;
    curl_multi_perform (self->multi, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read (self->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        slot_t *s = NULL;
        curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &s);
        CURLcode result = msg->data.result;
        curl_multi_remove_handle (self->multi, msg->easy_handle);
        if (!s)
            continue;
        long code = 0;
        curl_easy_getinfo (s->easy, CURLINFO_RESPONSE_CODE, &code);
        char error[320];
        if (result != CURLE_OK)
            snprintf (error, sizeof error, "%s", *s->errbuf ? s->errbuf : curl_easy_strerror (result));
        else
            snprintf (error, sizeof error, "HTTP %ld: %.*s", code, (int) s->reply_len, s->reply);
        bool ok = result == CURLE_OK && (s->channel == EMAIL || (code >= 200 && code < 300));
        s_finish (s, ok, ok ? "" : error);
    }
    //  A fixed instant, not "20 ms from whenever wake is asked", or the
    //  moment would never come.
    long step = -1;
    curl_multi_timeout (self->multi, &step);
    self->pump_at_ms = clock_now_ms () + (step >= 0 && step < DELIVERY_PUMP_MS ? step : DELIVERY_PUMP_MS);
}

static size_t
s_count (const delivery_t *self, slot_state_t state)
{
    size_t n = 0;
    for (int i = 0; i < DELIVERY_MAX_IN_FLIGHT; i++)
        n += self->slots[i].state == state;
    return n;
}

int64_t
delivery_wake (delivery_t *self)
{
    if (s_count (self, T_DONE))
        return INT64_MIN;
    int64_t wake = s_count (self, T_FREE) ? self->next_due_ms : INT64_MAX;
    if (s_count (self, T_RUNNING) && self->pump_at_ms < wake)
        wake = self->pump_at_ms;
    return wake;
}

//  Writes a finished slot's outcome and emits its event.
static service_rc_t
s_record (delivery_t *self, service_t *svc, slot_t *s, int64_t now_ms)
{
    db_t *db = service_db (svc);
    Crm__V1__NotificationDelivered delivered = CRM__V1__NOTIFICATION_DELIVERED__INIT;
    Crm__V1__NotificationFailed failed = CRM__V1__NOTIFICATION_FAILED__INIT;
    if (s->ok) {
        s->outcome = O_DELIVERED;
        db_rc_t rc = queue_delivered (db, s->id, s->attempts, now_ms);
        if (rc)
            return service_rc (rc);
        delivered.notification_id = s->notification_id;
        delivered.delivery_id = s->id;
        delivered.recipient = s->recipient;
        delivered.channel = (char *) s_channel[s->channel];
        delivered.attempts = s->attempts;
        delivered.delivered_ms = now_ms;
        return service_emit (svc, &delivered.base, s->correlation_id, "");
    }
    s->retry_in_ms = channel_backoff_ms (s->attempts, self->cfg.backoff_ms, self->cfg.backoff_max_ms);
    int64_t next = now_ms + s->retry_in_ms;
    s->outcome = next > s->queued_ms + (int64_t) self->cfg.retry_for_s * 1000 ? O_FAILED : O_RETRY;
    db_rc_t rc = queue_failed (db, s->id, s->attempts, now_ms, s->outcome == O_FAILED ? 0 : next, s->error);
    if (rc || s->outcome == O_RETRY) {
        if (!rc && next < self->next_due_ms)
            self->next_due_ms = next;
        return service_rc (rc);
    }
    failed.notification_id = s->notification_id;
    failed.delivery_id = s->id;
    failed.recipient = s->recipient;
    failed.channel = (char *) s_channel[s->channel];
    failed.attempts = s->attempts;
    failed.last_error = s->error;
    failed.failed_ms = now_ms;
    return service_emit (svc, &failed.base, s->correlation_id, "");
}

service_rc_t
delivery_tick (delivery_t *self, service_t *svc, int64_t now_ms)
{
    service_rc_t rc = SERVICE_OK;
    for (int i = 0; rc == SERVICE_OK && i < DELIVERY_MAX_IN_FLIGHT; i++)
        if (self->slots[i].state == T_DONE) {
            rc = s_record (self, svc, &self->slots[i], now_ms);
            self->slots[i].state = T_WRITING;
        }
    size_t free_slots = s_count (self, T_FREE);
    if (rc != SERVICE_OK || free_slots == 0 || self->next_due_ms > now_ms)
        return rc;

    sqlarray_t *busy = sqlarray_new ();
    queue_claimed_t *claimed = NULL;
    for (int i = 0; busy && i < DELIVERY_MAX_IN_FLIGHT; i++)
        if (self->slots[i].state != T_FREE && sqlarray_i64 (busy, (int64_t) self->slots[i].id))
            sqlarray_destroy (&busy);
    if (!busy)
        return SERVICE_FAIL;
    db_rc_t db_rc = queue_claim (service_db (svc), now_ms, sqlarray_str (busy), free_slots, &claimed);
    size_t n = db_rc == DB_OK ? queue_claimed_count (claimed) : 0;
    for (size_t k = 0, i = 0; k < n; k++) {
        while (self->slots[i].state != T_FREE)
            i++;
        s_prepare (self, &self->slots[i], queue_claimed_row (claimed, k));
        sqlarray_i64 (busy, (int64_t) self->slots[i].id);
    }
    queue_claimed_free (&claimed);
    if (db_rc == DB_OK && n == free_slots)
        self->next_due_ms = now_ms;  // maybe more: look again when a slot frees
    else if (db_rc == DB_OK)
        db_rc = queue_next (service_db (svc), sqlarray_str (busy), &self->next_due_ms, &self->pending);
    //  Look again now and then whatever is due: an operator may queue a
    //  failed delivery again by hand (docs/operations.md).
    if (db_rc == DB_OK && self->next_due_ms > now_ms + DELIVERY_RESCAN_MS)
        self->next_due_ms = now_ms + DELIVERY_RESCAN_MS;
    sqlarray_destroy (&busy);
    return service_rc (db_rc);
}

void
delivery_committed (delivery_t *self)
{
    for (int i = 0; i < DELIVERY_MAX_IN_FLIGHT; i++) {
        slot_t *s = &self->slots[i];
        if (s->state == T_WRITING) {
            char id[24], nid[24], attempts[24], retry[24];
            log_u64 (id, s->id);
            log_u64 (nid, s->notification_id);
            log_u64 (attempts, s->attempts);
            log_u64 (retry, (uint64_t) s->retry_in_ms);
            self->counts[s->channel][s->outcome]++;
            if (s->outcome == O_DELIVERED)
                log_info ("notification delivered", "notification_id", nid, "delivery_id", id, "channel",
                          s_channel[s->channel], "destination", s->where, "recipient", s->recipient,
                          "correlation_id", s->correlation_id, "attempts", attempts, NULL);
            else
                log_write (s->outcome == O_FAILED ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN,
                           s->outcome == O_FAILED ? "delivery failed: gave up retrying"
                                                  : "delivery attempt failed; will retry",
                           "notification_id", nid, "delivery_id", id, "channel", s_channel[s->channel],
                           "destination", s->where, "recipient", s->recipient, "correlation_id",
                           s->correlation_id, "attempts", attempts, "error", s->error, "retry_in_ms",
                           s->outcome == O_FAILED ? NULL : retry, NULL);
            s_free_slot (self, s);
        }
        else if (s->state == T_PREPARED) {
            if (curl_multi_add_handle (self->multi, s->easy) == CURLM_OK)
                s->state = T_RUNNING;
            else
                s_finish (s, false, "cannot start the transfer");
        }
    }
    s_pump (self);
}

void
delivery_reset (delivery_t *self)
{
    for (int i = 0; i < DELIVERY_MAX_IN_FLIGHT; i++) {
        slot_t *s = &self->slots[i];
        if (s->state == T_WRITING)
            s->state = T_DONE;  // rolled back: written again at the next tick
        else if (s->state == T_PREPARED)
            s_free_slot (self, s);  // still pending in the database
    }
    self->next_due_ms = INT64_MIN;
}

void
delivery_metrics (delivery_t *self, service_metrics_t *metrics)
{
    static const char *const outcome[] = {"delivered", "retried", "failed"};
    for (int c = 0; c < CHANNELS; c++)
        for (int o = 0; o < 3; o++) {
            char name[48];
            snprintf (name, sizeof name, "deliveries_%s_%s", s_channel[c], outcome[o]);
            service_metric (metrics, name, (double) self->counts[c][o]);
        }
    size_t in_hand = DELIVERY_MAX_IN_FLIGHT - s_count (self, T_FREE);
    service_metric (metrics, "deliveries_pending", (double) (self->pending + in_hand));
    service_metric (metrics, "deliveries_running", (double) s_count (self, T_RUNNING));
}

/*  service: see service.h. */
#include "service_private.h"
#include "clock.h"
#include "consumer.h"
#include "log.h"
#include "outbox.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>

#define PRUNE_INTERVAL_MS 60000

static service_rc_t s_status (service_t *self, const Crm__V1__Command *cmd, void *arg,
                              service_reply_t *reply);

//  --------------------------------------------------------------------------
//  Construction

static zsock_t *
s_bind (service_t *self, int type, int kind)
{
    char endpoint[128];
    config_bind_endpoint (&self->cfg, kind, endpoint, sizeof endpoint);
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_maxmsgsize (sock, (int64_t) self->cfg.max_message_bytes * 16);
    zsock_set_linger (sock, 0);
    //  A ROUTER drops what is over its send high-water mark silently: at
    //  the default (1,000) a client with more commands in flight lost
    //  replies to work that was committed (bench-journeys, 500+ in flight).
    if (type == ZMQ_PUB || type == ZMQ_ROUTER)
        zsock_set_sndhwm (sock, 100000);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        log_error ("cannot bind", "endpoint", endpoint, "error", zmq_strerror (zmq_errno ()), NULL);
        zsock_destroy (&sock);
        return NULL;
    }
    log_info ("listening", "endpoint", endpoint, "socket",
              type == ZMQ_PUB      ? "pub"
              : kind == CONFIG_CMD ? "command"
                                   : "replay",
              NULL);
    return sock;
}

service_t *
service_new (const config_t *cfg, db_t **db_p)
{
    service_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->db = *db_p;
    *db_p = NULL;
    self->started_ms = clock_now_ms ();
    self->outbox = outbox_new (cfg->service);
    self->arena = arena_new (256 << 10);
    self->cmd = s_bind (self, ZMQ_ROUTER, CONFIG_CMD);
    self->pub = s_bind (self, ZMQ_PUB, CONFIG_PUB);
    self->replay = s_bind (self, ZMQ_ROUTER, CONFIG_REPLAY);
    if (!self->outbox || !self->arena || !self->cmd || !self->pub || !self->replay
        || service_http_start (self)) {
        service_destroy (&self);
        return NULL;
    }
    for (int i = 0; i < cfg->source_count; i++) {
        source_t *src = &self->sources[self->source_count++];
        char pub[128], replay[128];
        config_peer_endpoint (cfg->sources[i], CONFIG_PUB, pub, sizeof pub);
        config_peer_endpoint (cfg->sources[i], CONFIG_REPLAY, replay, sizeof replay);
        consumer_init (&src->state, cfg->sources[i], 0);
        src->sub = zsock_new (ZMQ_SUB);
        src->dealer = zsock_new (ZMQ_DEALER);
        if (!src->sub || !src->dealer) {
            service_destroy (&self);
            return NULL;
        }
        char prefix[24];
        snprintf (prefix, sizeof prefix, "%s.", cfg->sources[i]);
        zsock_set_subscribe (src->sub, prefix);
        zsock_set_rcvhwm (src->sub, 100000);
        zsock_set_maxmsgsize (src->sub, (int64_t) cfg->max_message_bytes * 16);
        zsock_set_linger (src->dealer, 0);
        zsock_set_immediate (src->dealer, 1);  // no queueing of requests to an absent peer
        zsock_connect (src->sub, "%s", pub);
        zsock_connect (src->dealer, "%s", replay);
        log_info ("subscribed", "source", cfg->sources[i], "pub", pub, "replay", replay, NULL);
    }
    service_on_command (self, "Status", s_status, NULL, false);
    deadletter_register (self);
    return self;
}

void
service_destroy (service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    service_t *self = *self_p;
    for (size_t i = 0; i < self->nwork; i++)
        batch_work_free (&self->work[i]);
    free (self->work);
    arena_destroy (&self->arena);
    http_destroy (&self->http);  // after the work: it answers what is still deferred
    for (int i = 0; i < self->source_count; i++) {
        zsock_destroy (&self->sources[i].sub);
        zsock_destroy (&self->sources[i].dealer);
    }
    for (int i = 0; i < self->reader_count; i++)
        zsock_destroy (&self->readers[i].sock);
    zsock_destroy (&self->cmd);
    zsock_destroy (&self->pub);
    zsock_destroy (&self->replay);
    outbox_destroy (&self->outbox);
    db_destroy (&self->db);
    free (self);
    *self_p = NULL;
}

void
service_on_event (service_t *self, const char *type, service_event_fn *fn, void *arg)
{
    assert (self->event_count < MAX_HANDLERS);
    snprintf (self->events[self->event_count].type, 64, "%s", type);
    self->events[self->event_count].fn = fn;
    self->events[self->event_count++].arg = arg;
}

void
service_on_command (service_t *self, const char *type, service_command_fn *fn, void *arg, bool needs_db)
{
    assert (self->command_count < MAX_HANDLERS);
    snprintf (self->commands[self->command_count].type, 64, "%s", type);
    self->commands[self->command_count].fn = fn;
    self->commands[self->command_count].arg = arg;
    self->commands[self->command_count++].needs_db = needs_db;
}

void
service_add_reader (service_t *self, zsock_t *sock, const char *name, service_inbound_fn *fn, void *arg)
{
    assert (self->reader_count < MAX_READERS);
    self->readers[self->reader_count].sock = sock;
    snprintf (self->readers[self->reader_count].name, 16, "%s", name);
    self->readers[self->reader_count].fn = fn;
    self->readers[self->reader_count++].arg = arg;
}

void
service_on_batch (service_t *self, service_flush_fn *flush, service_reset_fn *committed,
                  service_reset_fn *reset, void *arg)
{
    self->flush = flush;
    self->committed = committed;
    self->reset = reset;
    self->batch_arg = arg;
}

void
service_on_tick (service_t *self, service_wake_fn *wake, service_tick_fn *tick, void *arg)
{
    self->wake = wake;
    self->tick = tick;
    self->tick_arg = arg;
}

void
service_on_status (service_t *self, service_metrics_fn *fn, void *arg)
{
    self->metrics = fn;
    self->metrics_arg = arg;
}

void
service_metric (service_metrics_t *metrics, const char *name, double value)
{
    if (metrics->count == MAX_METRICS)
        return;
    size_t i = metrics->count++;
    snprintf (metrics->names[i], sizeof metrics->names[i], "%s", name);
    crm__v1__metric__init (&metrics->items[i]);
    metrics->items[i].name = metrics->names[i];
    metrics->items[i].value = value;
    metrics->ptrs[i] = &metrics->items[i];
}

db_t *
service_db (service_t *self)
{
    return self->db;
}

const char *
service_name (service_t *self)
{
    return self->cfg.service;
}

service_rc_t
service_rc (db_rc_t rc)
{
    return rc == DB_OK ? SERVICE_OK : rc == DB_TRANSIENT ? SERVICE_RETRY : SERVICE_FAIL;
}

//  --------------------------------------------------------------------------
//  State from the database: at start and after every reconnect

static db_rc_t
s_load (service_t *self)
{
    db_rc_t rc = outbox_load (self->outbox, self->db);
    PGresult *res = NULL;
    if (rc == DB_OK)
        rc = outbox_oldest (self->outbox, self->db, &self->outbox_first);
    if (rc == DB_OK)
        rc = db_exec (self->db, &res, "SELECT count(*) FROM dead_letter WHERE retried_at IS NULL", 0, NULL,
                      NULL, NULL);
    if (rc)
        return rc;
    self->dead_letters = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    for (int i = 0; i < self->source_count; i++) {
        source_t *src = &self->sources[i];
        const char *params[] = {src->state.source};
        rc = db_exec (self->db, &res, "SELECT last_sequence FROM consumer_offset WHERE source = $1", 1,
                      params, NULL, NULL);
        if (rc)
            return rc;
        uint64_t applied = PQntuples (res) ? strtoull (PQgetvalue (res, 0, 0), NULL, 10) : 0;
        PQclear (res);
        uint64_t latest = src->state.latest;
        consumer_init (&src->state, src->state.source, applied);
        consumer_announce (&src->state, latest);
    }
    return DB_OK;
}

int
service_start (service_t *self)
{
    while (!zsys_interrupted) {
        if ((db_is_up (self->db) || db_connect (self->db, -1) == DB_OK) && s_load (self) == DB_OK) {
            char seq[24];
            log_info ("service started", "last_sequence", log_u64 (seq, outbox_last_sequence (self->outbox)),
                      NULL);
            return 0;
        }
        zclock_sleep (500);
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Replies

void
service_reply_set (service_reply_t *reply, const ProtobufCMessage *msg)
{
    free (reply->payload);
    reply->len = protobuf_c_message_get_packed_size (msg);
    reply->payload = malloc (reply->len ? reply->len : 1);
    if (reply->payload)
        protobuf_c_message_pack (msg, reply->payload);
    snprintf (reply->type, sizeof reply->type, "%s", msg->descriptor->short_name);
}

void
service_reply_error (service_reply_t *reply, const char *code, const char *message, const char *const *fields,
                     size_t n_fields)
{
    snprintf (reply->code, sizeof reply->code, "%s", code);
    snprintf (reply->message, sizeof reply->message, "%s", message);
    for (size_t i = 0; i < n_fields && reply->n_fields < MAX_FIELDS; i++)
        reply->fields[reply->n_fields++] = strdup (fields[i]);
}

void
service_reply_reset (service_reply_t *reply)
{
    for (size_t i = 0; i < reply->n_fields; i++)
        free (reply->fields[i]);
    free (reply->payload);
    memset (reply, 0, sizeof *reply);
}

void
service_reply_fill (const char *command_id, service_reply_t *reply, Crm__V1__Reply *msg,
                    Crm__V1__Error *error)
{
    crm__v1__reply__init (msg);
    crm__v1__error__init (error);
    msg->command_id = (char *) (command_id ? command_id : "");
    if (*reply->code) {
        error->code = reply->code;
        error->message = reply->message;
        error->fields = reply->fields;
        error->n_fields = reply->n_fields;
        error->retryable = strcmp (reply->code, "UNAVAILABLE") == 0;
        msg->error = error;
    }
    else {
        msg->type = reply->type;
        msg->payload.data = reply->payload;
        msg->payload.len = reply->len;
    }
}

//  Sends reply on the command socket; routing holds the frames before the
//  body (identity, and REQ's empty delimiter), and is consumed.
void
service_reply_send (service_t *self, zmsg_t **routing, const char *command_id, service_reply_t *reply)
{
    Crm__V1__Reply msg;
    Crm__V1__Error error;
    service_reply_fill (command_id, reply, &msg, &error);
    zframe_t *body = zframe_new (NULL, crm__v1__reply__get_packed_size (&msg));
    crm__v1__reply__pack (&msg, zframe_data (body));
    zmsg_append (*routing, &body);
    zmsg_send (routing, self->cmd);
}

void
service_reply_work (service_t *self, work_t *w)
{
    stats_command (&self->stats, w->command->type, !*w->reply.code);
    if (!w->done) {
        service_reply_send (self, &w->msg, w->command->command_id, &w->reply);
        return;
    }
    Crm__V1__Reply msg;
    Crm__V1__Error error;
    service_reply_fill (w->command->command_id, &w->reply, &msg, &error);
    service_done_fn *done = w->done;
    w->done = NULL;  // once
    done (self, &msg, w->done_arg);
}

//  --------------------------------------------------------------------------
//  The loop

static void
s_prune (service_t *self)
{
    if (outbox_prune (self->outbox, self->db, self->cfg.outbox_retention_s) == DB_OK)
        outbox_oldest (self->outbox, self->db, &self->outbox_first);
}

static void
s_reconnect (service_t *self, int64_t now)
{
    if (now < self->next_reconnect)
        return;
    if (db_connect (self->db, 0) == DB_OK && s_load (self) == DB_OK) {
        self->reconnect_backoff = 0;
        return;
    }
    self->reconnect_backoff = self->reconnect_backoff ? self->reconnect_backoff * 2 : 100;
    if (self->reconnect_backoff > 5000)
        self->reconnect_backoff = 5000;
    self->next_reconnect = now + self->reconnect_backoff;
}

static void
s_drain (service_t *self, zsock_t *sock, void (*read) (service_t *, int), int index)
{
    void *handle = zsock_resolve (sock);
    while (self->nwork < (size_t) self->cfg.batch_max && (zsock_events (sock) & ZMQ_POLLIN)) {
        (void) handle;
        read (self, index);
    }
}

//  A source's events: read until none is queued or the batch is full.
static void
s_drain_sub (service_t *self, int index)
{
    while (self->nwork < (size_t) self->cfg.batch_max && batch_read_sub (self, index))
        ;
}

static void
s_read_cmd (service_t *self, int index)
{
    (void) index;
    batch_read_command (self);
}

static void
s_read_replay (service_t *self, int index)
{
    (void) index;
    batch_serve_replay (self);
}

int
service_run (service_t *self)
{
    zmq_pollitem_t items[4 + 2 * CONFIG_MAX_SOURCES + MAX_READERS];
    self->next_heartbeat = clock_mono_ms ();
    self->next_prune = clock_mono_ms ();  // at start, then every interval
    while (!zsys_interrupted) {
        int64_t now = clock_mono_ms ();
        bool up = db_is_up (self->db);
        if (!up)
            s_reconnect (self, now);
        else if (now >= self->next_ping) {
            //  An idle connection learns of a dead server only when used:
            //  ask once a heartbeat, so Status and reconnects are prompt.
            db_exec (self->db, NULL, "SELECT 1", 0, NULL, NULL, NULL);
            self->next_ping = now + self->cfg.heartbeat_ms;
        }
        up = db_is_up (self->db);
        if (now >= self->next_heartbeat) {
            outbox_heartbeat (self->outbox, self->pub);
            self->next_heartbeat = now + self->cfg.heartbeat_ms;
        }
        if (up && now >= self->next_prune) {
            s_prune (self);
            self->next_prune = now + PRUNE_INTERVAL_MS;
        }
        if (up)
            batch_request_replays (self, now);
        if (up && self->nwork > 0)  // inbound kept through an outage
            batch_process (self);

        //  While the database is away only commands are read (to answer
        //  Status and "unavailable"); everything else waits in its queue.
        //  Readers' pending socket commands are still processed (asking
        //  ZMQ_EVENTS does it), so a publisher that connects now is sent our
        //  subscription and its messages queue up instead of being dropped.
        for (int i = 0; !up && i < self->reader_count; i++)
            zsock_events (self->readers[i].sock);
        int n = 0;
        items[n++] = (zmq_pollitem_t){zsock_resolve (self->cmd), 0, ZMQ_POLLIN, 0};
        //  The HTTP server is served whatever the database does (health).
        //  Last in the array, so the indexes below stay as they are.
        int http_item = -1;
        if (up) {
            items[n++] = (zmq_pollitem_t){zsock_resolve (self->replay), 0, ZMQ_POLLIN, 0};
            for (int i = 0; i < self->source_count; i++) {
                items[n++] = (zmq_pollitem_t){zsock_resolve (self->sources[i].sub), 0, ZMQ_POLLIN, 0};
                items[n++] = (zmq_pollitem_t){zsock_resolve (self->sources[i].dealer), 0, ZMQ_POLLIN, 0};
            }
            for (int i = 0; i < self->reader_count; i++)
                items[n++] = (zmq_pollitem_t){zsock_resolve (self->readers[i].sock), 0, ZMQ_POLLIN, 0};
        }
        if (self->http) {
            http_item = n;
            items[n++] = (zmq_pollitem_t){NULL, http_fd (self->http), ZMQ_POLLIN, 0};
        }
        int64_t timeout = self->next_heartbeat - now;
        if (self->http) {
            long http_timeout = http_timeout_ms (self->http);
            if (http_timeout >= 0 && http_timeout < timeout)
                timeout = http_timeout;
        }
        if (!up && self->next_reconnect - now < timeout)
            timeout = self->next_reconnect - now;
        if (up && self->tick) {
            //  Due times are wall-clock instants: compare with the clock as
            //  read now, and never sleep long on one reading of it.
            //  (wake may be any int64_t, e.g. INT64_MIN for "at once":
            //  compare before subtracting, which could overflow.)
            int64_t wake = self->wake (self, self->tick_arg), wall = clock_now_ms ();
            int64_t until = wake <= wall ? 0 : wake - wall;
            if (until > SERVICE_TICK_MAX_SLEEP_MS)
                until = SERVICE_TICK_MAX_SLEEP_MS;
            if (until < timeout)
                timeout = until;
        }
        if (up)
            for (int i = 0; i < self->source_count; i++)
                if (self->sources[i].state.replay_sent_ms && timeout > 50)
                    timeout = 50;
        if (timeout < 0)
            timeout = 0;
        if (zmq_poll (items, n, (long) timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            log_error ("poll failed", "error", zmq_strerror (zmq_errno ()), NULL);
            return -1;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_drain (self, self->cmd, s_read_cmd, 0);
        //  Run after every poll (MHD asks it when it set a timeout); cheap
        //  when nothing is ready. Requests it reads join this batch.
        if (http_item >= 0)
            http_run (self->http);
        if (up) {
            if (items[1].revents & ZMQ_POLLIN)
                s_drain (self, self->replay, s_read_replay, 0);
            //  A batch holds batch_max items and the first busy socket could
            //  fill it every time: replay replies go first (one message each,
            //  and what a lagging consumer waits for), and the socket read
            //  first turns round, so no source or reader starves another.
            for (int i = 0; i < self->source_count; i++)
                if (items[3 + 2 * i].revents & ZMQ_POLLIN)
                    s_drain (self, self->sources[i].dealer, batch_read_replay_reply, i);
            int inputs = self->source_count + self->reader_count;
            self->turn = inputs ? (self->turn + 1) % inputs : 0;
            for (int k = 0; k < inputs; k++) {
                int i = (self->turn + k) % inputs;
                if (i < self->source_count && (items[2 + 2 * i].revents & ZMQ_POLLIN))
                    s_drain_sub (self, i);
                int r = i - self->source_count;
                if (r >= 0 && (items[2 + 2 * self->source_count + r].revents & ZMQ_POLLIN))
                    s_drain (self, self->readers[r].sock, batch_read_inbound, r);
            }
            //  After the requests just read, so that a timer requested
            //  already due fires in this same batch.
            if (self->tick && self->wake (self, self->tick_arg) <= clock_now_ms ())
                batch_push (self, WORK_TICK);
        }
        batch_process (self);
        //  Answers to deferred requests go out now, not at the next wake-up.
        if (self->http && http_pending (self->http))
            http_run (self->http);
    }
    log_info ("service stopping", NULL);
    return 0;
}

//  --------------------------------------------------------------------------
//  Events out, and the built-in Status command

service_rc_t
service_emit (service_t *self, const ProtobufCMessage *msg, const char *correlation_id,
              const char *causation_id)
{
    size_t len = protobuf_c_message_get_packed_size (msg);
    uint8_t stack[1024];
    uint8_t *buf = len <= sizeof stack ? stack : malloc (len);
    if (!buf)
        return SERVICE_FAIL;
    protobuf_c_message_pack (msg, buf);
    int rc = outbox_add (self->outbox, msg->descriptor->short_name, correlation_id, causation_id, buf, len);
    if (buf != stack)
        free (buf);

    return rc ? SERVICE_FAIL : SERVICE_OK;
}

static service_rc_t
s_status (service_t *self, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) cmd;
    (void) arg;
    Crm__V1__StatusReply status = CRM__V1__STATUS_REPLY__INIT;
    Crm__V1__SourceStatus sources[CONFIG_MAX_SOURCES];
    Crm__V1__SourceStatus *ptrs[CONFIG_MAX_SOURCES];
    status.service = self->cfg.service;
    status.last_sequence = outbox_last_sequence (self->outbox);
    status.dead_letters = self->dead_letters;
    status.started_ms = self->started_ms;
    status.pid = (int32_t) getpid ();
    status.database_up = db_is_up (self->db);
    status.events_published = stats_total_published (&self->stats);
    status.events_applied = stats_total_applied (&self->stats);
    status.outbox_retained = service_outbox_retained (self);
    status.db_reconnects = db_reconnects (self->db);
    status.batches = self->stats.batches;
    status.batch_seconds_sum = self->stats.batch_seconds;
    status.batch_seconds_max = self->stats.batch_max_seconds;
    status.http_port = self->http ? self->cfg.http_port : 0;
    for (int i = 0; i < self->source_count; i++) {
        crm__v1__source_status__init (&sources[i]);
        sources[i].source = self->sources[i].state.source;
        sources[i].applied_sequence = self->sources[i].state.applied;
        sources[i].latest_sequence = self->sources[i].state.latest;
        sources[i].lag = consumer_lag (&self->sources[i].state);
        ptrs[i] = &sources[i];
    }
    status.sources = ptrs;
    status.n_sources = (size_t) self->source_count;
    service_metrics_t metrics = {0};
    if (self->metrics)
        self->metrics (self, self->metrics_arg, &metrics);
    status.metrics = metrics.ptrs;
    status.n_metrics = metrics.count;
    service_reply_set (reply, &status.base);
    return SERVICE_OK;
}

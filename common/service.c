/*  service: see service.h. */
#include "service.h"
#include "clock.h"
#include "consumer.h"
#include "log.h"
#include "outbox.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <unistd.h>

#define MAX_HANDLERS 32
#define MAX_READERS 4
#define MAX_FIELDS 16
#define PRUNE_INTERVAL_MS 60000

//  Every event type a service may see on the bus. A type outside this list
//  is not from a service of ours (or from a newer version): dead-lettered.
static const char *s_catalog[] = {
    "LeadCreated", "NotificationRequested", "NotificationStored",
    "TimerRequested", "TimerCancelRequested", "TimerFired", NULL,
};

struct service_reply_t {
    char code[32];
    char message[512];
    char *fields[MAX_FIELDS];
    size_t n_fields;
    char type[64];
    uint8_t *payload;
    size_t len;
};

typedef enum { WORK_EVENT, WORK_COMMAND, WORK_INBOUND, WORK_BAD, WORK_TICK } work_kind_t;

#define MAX_METRICS 16
struct service_metrics_t {
    Crm__V1__Metric items[MAX_METRICS];
    Crm__V1__Metric *ptrs[MAX_METRICS];
    char names[MAX_METRICS][48];
    size_t count;
};

typedef struct {
    work_kind_t kind;
    int index;                      // source (EVENT) or reader (INBOUND)
    Crm__V1__Envelope *event;       // EVENT, owned
    Crm__V1__Command *command;      // COMMAND, owned
    zmsg_t *msg;                    // COMMAND: routing frames; INBOUND, BAD: the message
    service_reply_t reply;          // COMMAND
    char bad_source[16];            // BAD
    char reason[256];               // BAD: why; others: filled on rejection
} work_t;

typedef struct {
    consumer_t state;
    zsock_t *sub;
    zsock_t *dealer;
    uint64_t batch_max_seq;         // highest sequence in the open transaction
} source_t;

struct service_t {
    config_t cfg;
    db_t *db;
    outbox_t *outbox;
    zsock_t *cmd;
    zsock_t *pub;
    zsock_t *replay;
    source_t sources[CONFIG_MAX_SOURCES];
    int source_count;
    struct { char type[64]; service_event_fn *fn; void *arg; } events[MAX_HANDLERS];
    int event_count;
    struct { char type[64]; service_command_fn *fn; void *arg; bool needs_db; } commands[MAX_HANDLERS];
    int command_count;
    struct { zsock_t *sock; char name[16]; service_inbound_fn *fn; void *arg; } readers[MAX_READERS];
    int reader_count;
    service_flush_fn *flush;
    service_reset_fn *committed;
    service_reset_fn *reset;
    void *batch_arg;
    service_wake_fn *wake;
    service_tick_fn *tick;
    void *tick_arg;
    service_metrics_fn *metrics;
    void *metrics_arg;
    work_t *work;
    size_t nwork;
    size_t work_cap;
    uint64_t dead_letters;
    int64_t started_ms;
    int64_t next_heartbeat;
    int64_t next_prune;
    int64_t next_ping;
    int turn;                       // which input is read first this round
    int64_t next_reconnect;
    int reconnect_backoff;
};

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
    if (type == ZMQ_PUB)
        zsock_set_sndhwm (sock, 100000);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        log_error ("cannot bind", "endpoint", endpoint, "error", zmq_strerror (zmq_errno ()), NULL);
        zsock_destroy (&sock);
        return NULL;
    }
    log_info ("listening", "endpoint", endpoint,
              "socket", type == ZMQ_PUB ? "pub" : kind == CONFIG_CMD ? "command" : "replay", NULL);
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
    self->cmd = s_bind (self, ZMQ_ROUTER, CONFIG_CMD);
    self->pub = s_bind (self, ZMQ_PUB, CONFIG_PUB);
    self->replay = s_bind (self, ZMQ_ROUTER, CONFIG_REPLAY);
    if (!self->outbox || !self->cmd || !self->pub || !self->replay) {
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
        zsock_set_immediate (src->dealer, 1);   // no queueing of requests to an absent peer
        zsock_connect (src->sub, "%s", pub);
        zsock_connect (src->dealer, "%s", replay);
        log_info ("subscribed", "source", cfg->sources[i], "pub", pub, "replay", replay, NULL);
    }
    service_on_command (self, "Status", s_status, NULL, false);
    return self;
}

static void
s_work_free (work_t *w)
{
    crm__v1__envelope__free_unpacked (w->event, NULL);
    crm__v1__command__free_unpacked (w->command, NULL);
    zmsg_destroy (&w->msg);
    for (size_t i = 0; i < w->reply.n_fields; i++)
        free (w->reply.fields[i]);
    free (w->reply.payload);
    memset (w, 0, sizeof *w);
}

void
service_destroy (service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    service_t *self = *self_p;
    for (size_t i = 0; i < self->nwork; i++)
        s_work_free (&self->work[i]);
    free (self->work);
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
service_on_command (service_t *self, const char *type, service_command_fn *fn, void *arg,
                    bool needs_db)
{
    assert (self->command_count < MAX_HANDLERS);
    snprintf (self->commands[self->command_count].type, 64, "%s", type);
    self->commands[self->command_count].fn = fn;
    self->commands[self->command_count].arg = arg;
    self->commands[self->command_count++].needs_db = needs_db;
}

void
service_add_reader (service_t *self, zsock_t *sock, const char *name, service_inbound_fn *fn,
                    void *arg)
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
        rc = db_exec (self->db, &res, "SELECT count(*) FROM dead_letter", 0, NULL, NULL, NULL);
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
            log_info ("service started", "last_sequence",
                      log_u64 (seq, outbox_last_sequence (self->outbox)), NULL);
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
service_reply_error (service_reply_t *reply, const char *code, const char *message,
                     const char *const *fields, size_t n_fields)
{
    snprintf (reply->code, sizeof reply->code, "%s", code);
    snprintf (reply->message, sizeof reply->message, "%s", message);
    for (size_t i = 0; i < n_fields && reply->n_fields < MAX_FIELDS; i++)
        reply->fields[reply->n_fields++] = strdup (fields[i]);
}

static void
s_reply_reset (service_reply_t *reply)
{
    for (size_t i = 0; i < reply->n_fields; i++)
        free (reply->fields[i]);
    free (reply->payload);
    memset (reply, 0, sizeof *reply);
}

//  Sends reply on the command socket; routing holds the frames before the
//  body (identity, and REQ's empty delimiter), and is consumed.
static void
s_send_reply (service_t *self, zmsg_t **routing, const char *command_id, service_reply_t *reply)
{
    Crm__V1__Reply msg = CRM__V1__REPLY__INIT;
    Crm__V1__Error error = CRM__V1__ERROR__INIT;
    msg.command_id = (char *) (command_id ? command_id : "");
    if (*reply->code) {
        error.code = reply->code;
        error.message = reply->message;
        error.fields = reply->fields;
        error.n_fields = reply->n_fields;
        error.retryable = strcmp (reply->code, "UNAVAILABLE") == 0;
        msg.error = &error;
    }
    else {
        msg.type = reply->type;
        msg.payload.data = reply->payload;
        msg.payload.len = reply->len;
    }
    zframe_t *body = zframe_new (NULL, crm__v1__reply__get_packed_size (&msg));
    crm__v1__reply__pack (&msg, zframe_data (body));
    zmsg_append (*routing, &body);
    zmsg_send (routing, self->cmd);
}

//  --------------------------------------------------------------------------
//  Collecting work from the sockets

//  Takes the body (last frame) off a message, leaving its routing frames.
static zframe_t *
s_pop_back (zmsg_t *msg)
{
    zframe_t *last = zmsg_last (msg);
    if (last)
        zmsg_remove (msg, last);
    return last;
}

static work_t *
s_work_push (service_t *self, work_kind_t kind)
{
    if (self->nwork == self->work_cap) {
        size_t cap = self->work_cap ? self->work_cap * 2 : 256;
        work_t *work = realloc (self->work, cap * sizeof *work);
        assert (work);
        self->work = work;
        self->work_cap = cap;
    }
    work_t *w = &self->work[self->nwork++];
    memset (w, 0, sizeof *w);
    w->kind = kind;
    return w;
}

static void
s_bad (service_t *self, const char *source, zmsg_t **msg, const char *fmt, ...)
{
    work_t *w = s_work_push (self, WORK_BAD);
    snprintf (w->bad_source, sizeof w->bad_source, "%s", source);
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (w->reason, sizeof w->reason, fmt, ap);
    va_end (ap);
    w->msg = *msg;
    *msg = NULL;
}

static int
s_find_command (service_t *self, const char *type)
{
    for (int i = 0; i < self->command_count; i++)
        if (strcmp (self->commands[i].type, type) == 0)
            return i;
    return -1;
}

//  Names the command's strings that are not UTF-8 (protobuf-c does not
//  check); true if any.
static bool
s_not_utf8 (const Crm__V1__Command *cmd, const char **bad, size_t *n_bad)
{
    if (!utf8_valid (cmd->type))
        bad[(*n_bad)++] = "type";
    if (!utf8_valid (cmd->command_id))
        bad[(*n_bad)++] = "command_id";
    if (!utf8_valid (cmd->sender))
        bad[(*n_bad)++] = "sender";
    return *n_bad > 0;
}

static void
s_read_command (service_t *self)
{
    zmsg_t *routing = zmsg_recv (self->cmd);
    if (!routing)
        return;
    zframe_t *body = s_pop_back (routing);
    service_reply_t reply = {0};
    Crm__V1__Command *cmd = NULL;
    const char *bad[3];
    size_t n_bad = 0;
    if (!body || zmsg_size (routing) == 0)
        service_reply_error (&reply, "MALFORMED", "a command is [identity][Command]", NULL, 0);
    else if (zframe_size (body) > (size_t) self->cfg.max_message_bytes)
        service_reply_error (&reply, "TOO_LARGE", "command exceeds CRM_MAX_MESSAGE_BYTES", NULL, 0);
    else if (!(cmd = crm__v1__command__unpack (NULL, zframe_size (body), zframe_data (body))))
        service_reply_error (&reply, "MALFORMED", "not a crm.v1.Command protobuf", NULL, 0);
    else if (s_not_utf8 (cmd, bad, &n_bad))
        service_reply_error (&reply, "MALFORMED", "command strings must be UTF-8", bad, n_bad);
    else if (!*cmd->type || s_find_command (self, cmd->type) < 0)
        service_reply_error (&reply, "UNKNOWN_COMMAND", "no such command", (const char *[]) {"type"}, 1);
    zframe_destroy (&body);
    if (*reply.code || !cmd) {
        log_warn ("command refused", "code", reply.code, "type", cmd ? cmd->type : NULL,
                  "command_id", cmd ? cmd->command_id : NULL, NULL);
        if (zmsg_size (routing) > 0)
            s_send_reply (self, &routing, cmd ? utf8_scrub (cmd->command_id) : "", &reply);
        zmsg_destroy (&routing);
        crm__v1__command__free_unpacked (cmd, NULL);
        s_reply_reset (&reply);
        return;
    }
    int h = s_find_command (self, cmd->type);
    if (!self->commands[h].needs_db) {      // answered at once, from memory
        self->commands[h].fn (self, cmd, self->commands[h].arg, &reply);
        s_send_reply (self, &routing, cmd->command_id, &reply);
        crm__v1__command__free_unpacked (cmd, NULL);
        s_reply_reset (&reply);
        return;
    }
    work_t *w = s_work_push (self, WORK_COMMAND);
    w->command = cmd;
    w->msg = routing;
}

static void
s_offer (service_t *self, int index, Crm__V1__Envelope *env)
{
    source_t *src = &self->sources[index];
    consumer_verdict_t verdict = consumer_offer (&src->state, env->sequence);
    if (verdict == CONSUMER_ACCEPT) {
        work_t *w = s_work_push (self, WORK_EVENT);
        w->index = index;
        w->event = env;
        return;
    }
    if (verdict == CONSUMER_GAP) {
        char seq[24], acc[24];
        log_debug ("gap in sequence", "source", src->state.source, "sequence",
                   log_u64 (seq, env->sequence), "accepted", log_u64 (acc, src->state.accepted), NULL);
    }
    crm__v1__envelope__free_unpacked (env, NULL);
}

static void
s_read_sub (service_t *self, int index)
{
    source_t *src = &self->sources[index];
    zmsg_t *msg = zmsg_recv (src->sub);
    if (!msg)
        return;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_first (msg);
    size_t prefix = strlen (src->state.source);
    if (topic && body && zmsg_size (msg) == 1 && strcmp (topic + prefix, ".Heartbeat") == 0) {
        Crm__V1__Heartbeat *hb =
            crm__v1__heartbeat__unpack (NULL, zframe_size (body), zframe_data (body));
        if (hb && strcmp (hb->source, src->state.source) == 0)
            consumer_announce (&src->state, hb->latest_sequence);
        else
            s_bad (self, src->state.source, &msg, "malformed heartbeat");
        crm__v1__heartbeat__free_unpacked (hb, NULL);
    }
    else if (!topic || !body || zmsg_size (msg) != 1)
        s_bad (self, src->state.source, &msg, "not a [topic][Envelope] message");
    else if (zframe_size (body) > (size_t) self->cfg.max_message_bytes)
        s_bad (self, src->state.source, &msg, "event exceeds CRM_MAX_MESSAGE_BYTES");
    else {
        Crm__V1__Envelope *env =
            crm__v1__envelope__unpack (NULL, zframe_size (body), zframe_data (body));
        if (!env)
            s_bad (self, src->state.source, &msg, "undecodable envelope on topic %.64s", topic);
        else if (strcmp (env->source, src->state.source) != 0 || env->sequence == 0) {
            s_bad (self, src->state.source, &msg, "unknown sender '%.32s' or no sequence on %.64s",
                   env->source, topic);
            crm__v1__envelope__free_unpacked (env, NULL);
        }
        else
            s_offer (self, index, env);
    }
    zstr_free (&topic);
    zmsg_destroy (&msg);
}

static void
s_read_replay_reply (service_t *self, int index)
{
    source_t *src = &self->sources[index];
    zframe_t *frame = zframe_recv (src->dealer);
    if (!frame)
        return;
    Crm__V1__ReplayReply *reply =
        crm__v1__replay_reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    if (!reply || *reply->error) {
        log_warn ("replay refused", "source", src->state.source, "error",
                  reply ? reply->error : "malformed reply", NULL);
        crm__v1__replay_reply__free_unpacked (reply, NULL);
        return;     // the request stays in flight; it is asked again at its timeout
    }
    //  "more": the source stopped at its caps, so go on at once. Otherwise
    //  the reply reached the source's head as of its reading, and what came
    //  after is in our live queue: asking again now would fetch it twice
    //  (a real loss still shows as a gap or in the next heartbeat).
    if (reply->more || reply->n_events == 0)
        consumer_announce (&src->state, reply->latest_sequence);
    uint64_t lost = reply->first_sequence ? consumer_skip_to (&src->state, reply->first_sequence) : 0;
    if (lost) {
        char n[24], first[24];
        log_error ("events lost: pruned from the source's outbox before they were applied", "source",
                   src->state.source, "count", log_u64 (n, lost), "first_retained",
                   log_u64 (first, reply->first_sequence), NULL);
        zmsg_t *none = zmsg_new ();
        s_bad (self, src->state.source, &none, "%" PRIu64 " events before sequence %" PRIu64
               " were pruned from the source's outbox before they were applied", lost,
               reply->first_sequence);
    }
    for (size_t i = 0; i < reply->n_events; i++) {
        Crm__V1__Envelope *env =
            crm__v1__envelope__unpack (NULL, reply->events[i].len, reply->events[i].data);
        if (env && strcmp (env->source, src->state.source) == 0)
            s_offer (self, index, env);
        else
            crm__v1__envelope__free_unpacked (env, NULL);
    }
    consumer_replay_done (&src->state);
    crm__v1__replay_reply__free_unpacked (reply, NULL);
}

static void
s_serve_replay (service_t *self)
{
    zmsg_t *msg = zmsg_recv (self->replay);
    if (!msg)
        return;
    zframe_t *request = s_pop_back (msg);
    if (request && zmsg_size (msg) > 0) {
        zframe_t *reply = outbox_replay (self->outbox, self->db, zframe_data (request),
                                         zframe_size (request));
        if (reply) {
            zmsg_append (msg, &reply);
            zmsg_send (&msg, self->replay);
        }
    }
    zframe_destroy (&request);
    zmsg_destroy (&msg);
}

static void
s_request_replays (service_t *self, int64_t now)
{
    for (int i = 0; i < self->source_count; i++) {
        source_t *src = &self->sources[i];
        if (!consumer_wants_replay (&src->state, now, self->cfg.replay_timeout_ms))
            continue;
        Crm__V1__ReplayRequest req = CRM__V1__REPLAY_REQUEST__INIT;
        req.from_sequence = src->state.accepted + 1;
        req.max_count = (uint32_t) self->cfg.batch_max;
        uint8_t buf[32];
        size_t len = crm__v1__replay_request__pack (&req, buf);
        //  With ZMQ_IMMEDIATE an absent source makes this fail at once; the
        //  request counts as sent all the same and is retried at its timeout.
        zmq_send (zsock_resolve (src->dealer), buf, len, ZMQ_DONTWAIT);
        consumer_replay_sent (&src->state, now);
    }
}

//  --------------------------------------------------------------------------
//  Applying a batch of work in one transaction

static bool
s_in_catalog (const char *type)
{
    for (int i = 0; s_catalog[i]; i++)
        if (strcmp (s_catalog[i], type) == 0)
            return true;
    return false;
}

static service_rc_t
s_dead_letter (service_t *self, const char *source, const uint64_t *sequence, const char *type,
               const char *reason, const void *payload, size_t len)
{
    //  What failed may be the very bytes we are about to store: keep the
    //  text columns valid UTF-8, the raw bytes go into payload as they are.
    char seq[24], clean_type[96], clean_reason[512];
    if (sequence)
        snprintf (seq, sizeof seq, "%" PRIu64, *sequence);
    snprintf (clean_type, sizeof clean_type, "%s", type ? type : "");
    snprintf (clean_reason, sizeof clean_reason, "%s", reason);
    utf8_scrub (clean_type);
    utf8_scrub (clean_reason);
    const char *params[] = {source, sequence ? seq : NULL, clean_type, clean_reason, payload};
    int lengths[] = {0, 0, 0, 0, (int) len};
    int formats[] = {0, 0, 0, 0, 1};
    db_rc_t rc = db_exec (self->db, NULL,
                          "INSERT INTO dead_letter (source, sequence, type, reason, payload)"
                          " VALUES ($1, $2, $3, $4, $5)",
                          5, params, lengths, formats);
    return service_rc (rc);
}

static service_rc_t
s_dead_letter_work (service_t *self, work_t *w, const char *reason)
{
    if (w->kind == WORK_EVENT) {
        log_error ("event dead-lettered", "source", w->event->source, "sequence",
                   log_u64 ((char[24]){0}, w->event->sequence), "type", w->event->type,
                   "event_id", w->event->event_id, "correlation_id", w->event->correlation_id,
                   "reason", reason, NULL);
        return s_dead_letter (self, w->event->source, &w->event->sequence, w->event->type, reason,
                              w->event->payload.data, w->event->payload.len);
    }
    const char *source = w->kind == WORK_BAD    ? w->bad_source
                       : w->kind == WORK_TICK ? "tick"
                                              : self->readers[w->index].name;
    zframe_t *last = w->msg ? zmsg_last (w->msg) : NULL;
    log_error ("message dead-lettered", "source", source, "reason", reason, NULL);
    return s_dead_letter (self, source, NULL, "", reason, last ? zframe_data (last) : NULL,
                          last ? zframe_size (last) : 0);
}

//  Runs one item's handler; a rejected item is dead-lettered here.
static service_rc_t
s_dispatch (service_t *self, work_t *w)
{
    if (w->kind != WORK_BAD)    // a bad message's reason was set when it was read
        w->reason[0] = 0;
    service_rc_t rc = SERVICE_OK;
    if (w->kind == WORK_EVENT && !(utf8_valid (w->event->type) && utf8_valid (w->event->event_id)
                                   && utf8_valid (w->event->correlation_id)
                                   && utf8_valid (w->event->causation_id))) {
        snprintf (w->reason, sizeof w->reason, "envelope strings (type, ids) are not UTF-8");
        rc = SERVICE_REJECT;
    }
    else if (w->kind == WORK_EVENT) {
        int h = -1;
        for (int i = 0; i < self->event_count && h < 0; i++)
            if (strcmp (self->events[i].type, w->event->type) == 0)
                h = i;
        if (h >= 0)
            rc = self->events[h].fn (self, w->event, self->events[h].arg, w->reason, sizeof w->reason);
        else if (!s_in_catalog (w->event->type)) {
            snprintf (w->reason, sizeof w->reason, "unknown event type '%.64s'", w->event->type);
            rc = SERVICE_REJECT;
        }
    }
    else if (w->kind == WORK_COMMAND) {
        int h = s_find_command (self, w->command->type);
        s_reply_reset (&w->reply);
        rc = self->commands[h].fn (self, w->command, self->commands[h].arg, &w->reply);
        if (rc == SERVICE_REJECT)
            rc = SERVICE_OK;    // the reply carries the error
    }
    else if (w->kind == WORK_INBOUND)
        rc = self->readers[w->index].fn (self, w->msg, self->readers[w->index].arg, w->reason,
                                         sizeof w->reason);
    else if (w->kind == WORK_TICK)
        rc = self->tick (self, clock_now_ms (), self->tick_arg);
    else
        rc = SERVICE_REJECT;
    if (rc == SERVICE_REJECT) {
        self->dead_letters++;
        rc = s_dead_letter_work (self, w, *w->reason ? w->reason : "rejected");
    }
    return rc;
}

static void
s_abort (service_t *self)
{
    db_rollback (self->db);
    outbox_discard (self->outbox);
    if (self->reset)
        self->reset (self, self->batch_arg);
}

//  A single item failed on its data: roll it back and, in a transaction of
//  its own, dead-letter it (or answer its command with an error).
static service_rc_t
s_isolate (service_t *self, work_t *w)
{
    char reason[512];
    snprintf (reason, sizeof reason, "handler failed: %s", db_error (self->db));
    s_abort (self);
    service_rc_t rc = service_rc (db_begin (self->db));
    if (rc == SERVICE_OK && w->kind == WORK_COMMAND) {
        s_reply_reset (&w->reply);
        service_reply_error (&w->reply, "INTERNAL", "the command failed; see the log", NULL, 0);
        return rc;
    }
    if (rc == SERVICE_OK) {
        self->dead_letters++;
        rc = s_dead_letter_work (self, w, reason);
    }
    if (rc == SERVICE_FAIL) {
        //  Even the dead letter would not go in. Never move past an item
        //  without a record of it: stop here and try again later.
        log_error ("cannot record a dead letter; will retry", "error", db_error (self->db), NULL);
        self->dead_letters--;
        rc = SERVICE_RETRY;
    }
    return rc;
}

//  Applies work[from..from+count) in one transaction. Returns SERVICE_OK
//  (committed), SERVICE_RETRY (database away: rolled back) or SERVICE_FAIL
//  (some item is at fault: rolled back; apply them one by one to find it).
static service_rc_t
s_apply (service_t *self, size_t from, size_t count)
{
    uint64_t dead_before = self->dead_letters;
    for (int i = 0; i < self->source_count; i++)
        self->sources[i].batch_max_seq = 0;
    service_rc_t rc = service_rc (db_begin (self->db));
    for (size_t i = from; rc == SERVICE_OK && i < from + count; i++)
        rc = s_dispatch (self, &self->work[i]);
    if (rc == SERVICE_OK && self->flush)
        rc = self->flush (self, self->batch_arg);
    if (rc == SERVICE_FAIL && count == 1)
        rc = s_isolate (self, &self->work[from]);
    for (size_t i = from; rc == SERVICE_OK && i < from + count; i++)
        if (self->work[i].kind == WORK_EVENT)
            self->sources[self->work[i].index].batch_max_seq = self->work[i].event->sequence;
    for (int i = 0; rc == SERVICE_OK && i < self->source_count; i++) {
        source_t *src = &self->sources[i];
        if (!src->batch_max_seq)
            continue;
        char seq[24];
        const char *params[] = {src->state.source, log_u64 (seq, src->batch_max_seq)};
        rc = service_rc (db_exec (self->db, NULL,
                                  "INSERT INTO consumer_offset (source, last_sequence) VALUES ($1, $2)"
                                  " ON CONFLICT (source) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
                                  2, params, NULL, NULL));
    }
    if (rc == SERVICE_OK)
        rc = service_rc (outbox_write (self->outbox, self->db));
    if (rc == SERVICE_OK)
        rc = service_rc (db_commit (self->db));
    if (rc != SERVICE_OK) {
        self->dead_letters = dead_before;
        s_abort (self);
        return rc;
    }
    outbox_publish (self->outbox, self->pub);
    if (self->committed)
        self->committed (self, self->batch_arg);
    for (int i = 0; i < self->source_count; i++)
        consumer_commit (&self->sources[i].state, self->sources[i].batch_max_seq);
    for (size_t i = from; i < from + count; i++) {
        work_t *w = &self->work[i];
        if (w->kind == WORK_COMMAND)
            s_send_reply (self, &w->msg, w->command->command_id, &w->reply);
    }
    return SERVICE_OK;
}

//  The database went away mid-batch: answer commands "unavailable" (their
//  clients retry; commands are idempotent), drop events (they come back by
//  replay), keep raw inbound messages for after the reconnect.
static void
s_unavailable (service_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->nwork; i++) {
        work_t *w = &self->work[i];
        if (w->kind == WORK_COMMAND) {
            s_reply_reset (&w->reply);
            service_reply_error (&w->reply, "UNAVAILABLE", "database unavailable; retry", NULL, 0);
            s_send_reply (self, &w->msg, w->command->command_id, &w->reply);
        }
        if (w->kind == WORK_INBOUND)
            self->work[kept++] = *w;
        else
            s_work_free (w);
    }
    self->nwork = kept;
    for (int i = 0; i < self->source_count; i++)
        consumer_rollback (&self->sources[i].state);
}

static void
s_process (service_t *self)
{
    if (self->nwork == 0)
        return;
    service_rc_t rc = db_is_up (self->db) ? s_apply (self, 0, self->nwork) : SERVICE_RETRY;
    for (size_t i = 0; rc == SERVICE_FAIL && i < self->nwork; i++) {
        //  Some item is at fault: apply one per transaction to find it.
        service_rc_t one = s_apply (self, i, 1);
        if (one == SERVICE_RETRY) {
            //  Items before i are committed; keep only the rest.
            for (size_t j = 0; j < i; j++)
                s_work_free (&self->work[j]);
            memmove (self->work, self->work + i, (self->nwork - i) * sizeof *self->work);
            self->nwork -= i;
            rc = SERVICE_RETRY;
        }
        else if (i == self->nwork - 1)
            rc = SERVICE_OK;
    }
    if (rc == SERVICE_RETRY) {
        s_unavailable (self);
        return;
    }
    for (size_t i = 0; i < self->nwork; i++)
        s_work_free (&self->work[i]);
    self->nwork = 0;
}

//  --------------------------------------------------------------------------
//  The loop

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

static void
s_read_cmd (service_t *self, int index)
{
    (void) index;
    s_read_command (self);
}

static void
s_read_replay (service_t *self, int index)
{
    (void) index;
    s_serve_replay (self);
}

static void
s_read_inbound (service_t *self, int index)
{
    zmsg_t *msg = zmsg_recv (self->readers[index].sock);
    if (!msg)
        return;
    zframe_t *last = zmsg_last (msg);
    if (last && zframe_size (last) > (size_t) self->cfg.max_message_bytes) {
        s_bad (self, self->readers[index].name, &msg, "message exceeds CRM_MAX_MESSAGE_BYTES");
        return;
    }
    work_t *w = s_work_push (self, WORK_INBOUND);
    w->index = index;
    w->msg = msg;
}

int
service_run (service_t *self)
{
    zmq_pollitem_t items[3 + 2 * CONFIG_MAX_SOURCES + MAX_READERS];
    self->next_heartbeat = clock_mono_ms ();
    self->next_prune = clock_mono_ms () + PRUNE_INTERVAL_MS;
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
            outbox_prune (self->outbox, self->db, self->cfg.outbox_retention_s);
            self->next_prune = now + PRUNE_INTERVAL_MS;
        }
        if (up)
            s_request_replays (self, now);
        if (up && self->nwork > 0)      // inbound kept through an outage
            s_process (self);

        //  While the database is away only commands are read (to answer
        //  Status and "unavailable"); everything else waits in its queue.
        //  Readers' pending socket commands are still processed (asking
        //  ZMQ_EVENTS does it), so a publisher that connects now is sent our
        //  subscription and its messages queue up instead of being dropped.
        for (int i = 0; !up && i < self->reader_count; i++)
            zsock_events (self->readers[i].sock);
        int n = 0;
        items[n++] = (zmq_pollitem_t) {zsock_resolve (self->cmd), 0, ZMQ_POLLIN, 0};
        if (up) {
            items[n++] = (zmq_pollitem_t) {zsock_resolve (self->replay), 0, ZMQ_POLLIN, 0};
            for (int i = 0; i < self->source_count; i++) {
                items[n++] = (zmq_pollitem_t) {zsock_resolve (self->sources[i].sub), 0, ZMQ_POLLIN, 0};
                items[n++] = (zmq_pollitem_t) {zsock_resolve (self->sources[i].dealer), 0, ZMQ_POLLIN, 0};
            }
            for (int i = 0; i < self->reader_count; i++)
                items[n++] = (zmq_pollitem_t) {zsock_resolve (self->readers[i].sock), 0, ZMQ_POLLIN, 0};
        }
        int64_t timeout = self->next_heartbeat - now;
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
        if (up) {
            if (items[1].revents & ZMQ_POLLIN)
                s_drain (self, self->replay, s_read_replay, 0);
            //  A batch holds batch_max items and the first busy socket could
            //  fill it every time: replay replies go first (one message each,
            //  and what a lagging consumer waits for), and the socket read
            //  first turns round, so no source or reader starves another.
            for (int i = 0; i < self->source_count; i++)
                if (items[3 + 2 * i].revents & ZMQ_POLLIN)
                    s_drain (self, self->sources[i].dealer, s_read_replay_reply, i);
            int inputs = self->source_count + self->reader_count;
            self->turn = inputs ? (self->turn + 1) % inputs : 0;
            for (int k = 0; k < inputs; k++) {
                int i = (self->turn + k) % inputs;
                if (i < self->source_count && (items[2 + 2 * i].revents & ZMQ_POLLIN))
                    s_drain (self, self->sources[i].sub, s_read_sub, i);
                int r = i - self->source_count;
                if (r >= 0 && (items[2 + 2 * self->source_count + r].revents & ZMQ_POLLIN))
                    s_drain (self, self->readers[r].sock, s_read_inbound, r);
            }
            //  After the requests just read, so that a timer requested
            //  already due fires in this same batch.
            if (self->tick && self->wake (self, self->tick_arg) <= clock_now_ms ())
                s_work_push (self, WORK_TICK);
        }
        s_process (self);
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
    int rc = outbox_add (self->outbox, msg->descriptor->short_name, correlation_id, causation_id, buf,
                         len);
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

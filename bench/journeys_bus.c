/*  journeys_bus: see journeys_bus.h. */
#include "journeys_bus.h"
#include "benchutil.h"
#include "clock.h"
#include "source.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_BURST 2000  // messages read from one socket per round, so that none starves

typedef struct queued_t {
    struct queued_t *next;
    const char *type;
    const char *sender;
    uint8_t *payload;
    size_t len;
    uint64_t tag;
} queued_t;

typedef struct {
    char name[CONFIG_NAME_MAX];
    zsock_t *dealers[JBUS_MAX_CONNECTIONS];
    int inflight[JBUS_MAX_CONNECTIONS];
    int total;         // in flight over all connections
    client_t *status;  // synchronous Status
    queued_t *head, *tail;
    size_t queued;
} service_t;

typedef struct {
    uint64_t tag;
    int64_t sent_us;
    uint32_t serial;
    int service;  // -1: free
    int conn;
} slot_t;

struct jbus_t {
    zsock_t *sub;
    source_peer_t sources[JBUS_MAX_SOURCES];
    size_t n_sources;
    service_t services[JBUS_MAX_SOURCES];
    size_t n_services;
    slot_t *slots;
    int *free_slots;  // stack of free slot numbers
    int n_free, n_slots;
    uint32_t serial;
    int window, connections, timeout_ms, replay_timeout_ms;
    int64_t next_scan_ms;
    jbus_event_fn *on_event;
    jbus_reply_fn *on_reply;
    void *arg;
    uint64_t events;
};

static zsock_t *
s_connect (int type, const char *service, int kind)
{
    char endpoint[128];
    if (config_peer_endpoint (service, kind, endpoint, sizeof endpoint)) {
        fprintf (stderr, "crm-benchjourneys: unknown service '%s'\n", service);
        return NULL;
    }
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    if (type == ZMQ_DEALER) {
        zsock_set_sndhwm (sock, 0);  // the window bounds what we send
        zsock_set_rcvhwm (sock, 0);
    }
    if (zsock_connect (sock, "%s", endpoint) < 0) {
        fprintf (stderr, "crm-benchjourneys: cannot connect to %s\n", endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

jbus_t *
jbus_new (const char *const *sources, size_t n_sources, const char *const *services, size_t n_services,
          int connections, int window, int command_timeout_ms, jbus_event_fn *on_event,
          jbus_reply_fn *on_reply, void *arg)
{
    if (n_sources > JBUS_MAX_SOURCES || n_services > JBUS_MAX_SOURCES || window < 1 || connections < 1
        || connections > JBUS_MAX_CONNECTIONS)
        return NULL;
    jbus_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    *self = (jbus_t){.window = window,
                     .connections = connections,
                     .timeout_ms = command_timeout_ms,
                     .on_event = on_event,
                     .on_reply = on_reply,
                     .arg = arg};
    config_int ("CRM_REPLAY_TIMEOUT_MS", 2000, 50, 600000, &self->replay_timeout_ms);
    self->sub = source_sub_new ();
    if (!self->sub)
        goto fail;
    zsock_set_subscribe (self->sub, "");
    for (size_t i = 0; i < n_sources; i++, self->n_sources++)
        if (source_peer_connect (&self->sources[i], sources[i], self->sub, "crm-benchjourneys"))
            goto fail;
    for (size_t i = 0; i < n_services; i++, self->n_services++) {
        service_t *s = &self->services[i];
        char cmd[128];
        snprintf (s->name, sizeof s->name, "%s", services[i]);
        for (int k = 0; k < connections; k++)
            if (!(s->dealers[k] = s_connect (ZMQ_DEALER, services[i], CONFIG_CMD)))
                goto fail;
        if (config_peer_endpoint (services[i], CONFIG_CMD, cmd, sizeof cmd)
            || !(s->status = client_new (cmd)))
            goto fail;
    }
    self->n_slots = window * connections * (int) n_services;
    self->slots = calloc ((size_t) self->n_slots, sizeof *self->slots);
    self->free_slots = calloc ((size_t) self->n_slots, sizeof *self->free_slots);
    if (!self->slots || !self->free_slots)
        goto fail;
    for (int i = 0; i < self->n_slots; i++) {
        self->slots[i].service = -1;
        self->free_slots[self->n_free++] = self->n_slots - 1 - i;
    }
    return self;
fail:
    jbus_destroy (&self);
    return NULL;
}

void
jbus_destroy (jbus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jbus_t *self = *self_p;
    zsock_destroy (&self->sub);
    for (size_t i = 0; i < JBUS_MAX_SOURCES; i++)  // a failed connect's DEALER too
        source_peer_close (&self->sources[i]);
    for (size_t i = 0; i < self->n_services; i++) {
        service_t *s = &self->services[i];
        for (int k = 0; k < JBUS_MAX_CONNECTIONS; k++)
            zsock_destroy (&s->dealers[k]);
        client_destroy (&s->status);
        while (s->head) {
            queued_t *q = s->head;
            s->head = q->next;
            free (q->payload);
            free (q);
        }
    }
    free (self->slots);
    free (self->free_slots);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------- events

//  One event of a source, accepted in its consumer.
static void
s_event (void *arg, const Crm__V1__Envelope *env, bool replayed)
{
    (void) replayed;
    jbus_t *self = arg;
    self->events++;
    self->on_event (self->arg, env);
}

int
jbus_ready (jbus_t *self, int timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    for (;;) {
        size_t heard = 0;
        for (size_t i = 0; i < self->n_sources; i++)
            heard += self->sources[i].heard;
        if (heard == self->n_sources)
            return 0;
        if (zsys_interrupted || clock_mono_ms () >= deadline)
            break;
        jbus_poll (self, 50);
    }
    fprintf (stderr, "crm-benchjourneys: no heartbeat within %d ms from:", timeout_ms);
    for (size_t i = 0; i < self->n_sources; i++)
        if (!self->sources[i].heard)
            fprintf (stderr, " %s", self->sources[i].consumer.source);
    fprintf (stderr, "\n");
    return -1;
}

//  ---------------------------------------------------------------- commands

int
jbus_send (jbus_t *self, const char *service, const char *type, const char *sender,
           const ProtobufCMessage *payload, uint64_t tag)
{
    service_t *s = NULL;
    for (size_t i = 0; i < self->n_services; i++)
        if (strcmp (self->services[i].name, service) == 0)
            s = &self->services[i];
    queued_t *q = s ? calloc (1, sizeof *q) : NULL;
    if (!q)
        return -1;
    *q = (queued_t){.type = type, .sender = sender, .tag = tag};
    if (payload) {
        q->len = protobuf_c_message_get_packed_size (payload);
        q->payload = malloc (q->len ? q->len : 1);
        if (!q->payload) {
            free (q);
            return -1;
        }
        protobuf_c_message_pack (payload, q->payload);
    }
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    s->queued++;
    return 0;
}

//  Sends queued commands while the windows allow.
static void
s_flush_queues (jbus_t *self)
{
    for (size_t i = 0; i < self->n_services; i++) {
        service_t *s = &self->services[i];
        while (s->head && s->total < self->window * self->connections && self->n_free > 0) {
            queued_t *q = s->head;
            int conn = 0;  // the connection with the fewest in flight
            for (int k = 1; k < self->connections; k++)
                if (s->inflight[k] < s->inflight[conn])
                    conn = k;
            int slot = self->free_slots[--self->n_free];
            slot_t *sl = &self->slots[slot];
            char id[40];
            *sl = (slot_t){.tag = q->tag,
                           .sent_us = clock_mono_us (),
                           .serial = ++self->serial,
                           .service = (int) i,
                           .conn = conn};
            snprintf (id, sizeof id, "jb:%d:%" PRIu32, slot, sl->serial);
            Crm__V1__Command cmd = CRM__V1__COMMAND__INIT;
            cmd.type = (char *) q->type;
            cmd.command_id = id;
            cmd.sender = (char *) q->sender;
            cmd.payload.data = q->payload;
            cmd.payload.len = q->len;
            size_t len = crm__v1__command__get_packed_size (&cmd);
            zframe_t *frame = zframe_new (NULL, len);
            if (!frame) {
                sl->service = -1;
                self->free_slots[self->n_free++] = slot;
                return;
            }
            crm__v1__command__pack (&cmd, zframe_data (frame));
            if (zframe_send (&frame, s->dealers[conn], 0)) {
                zframe_destroy (&frame);
                sl->service = -1;
                self->free_slots[self->n_free++] = slot;
                return;  // try again next round
            }
            s->inflight[conn]++;
            s->total++;
            s->head = q->next;
            if (!s->head)
                s->tail = NULL;
            s->queued--;
            free (q->payload);
            free (q);
        }
    }
}

static void
s_release (jbus_t *self, int slot)
{
    slot_t *sl = &self->slots[slot];
    self->services[sl->service].inflight[sl->conn]--;
    self->services[sl->service].total--;
    sl->service = -1;
    self->free_slots[self->n_free++] = slot;
}

static void
s_read_reply (jbus_t *self, service_t *s, zsock_t *dealer)
{
    zframe_t *frame = zframe_recv (dealer);
    if (!frame)
        return;
    Crm__V1__Reply *reply = crm__v1__reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    int slot = -1;
    uint32_t serial = 0;
    if (reply && sscanf (reply->command_id, "jb:%d:%" SCNu32, &slot, &serial) == 2 && slot >= 0
        && slot < self->n_slots && self->slots[slot].service >= 0 && self->slots[slot].serial == serial) {
        slot_t sl = self->slots[slot];
        s_release (self, slot);
        self->on_reply (self->arg, sl.tag, reply, clock_mono_us () - sl.sent_us);
    }
    else if (reply && !*reply->command_id && reply->error)
        fprintf (stderr, "crm-benchjourneys: %s refused a command it could not read: %s\n", s->name,
                 reply->error->message);
    crm__v1__reply__free_unpacked (reply, NULL);
}

//  Commands unanswered for longer than the timeout: reported once each.
static void
s_expire (jbus_t *self)
{
    int64_t now_ms = clock_mono_ms ();
    if (now_ms < self->next_scan_ms)
        return;
    self->next_scan_ms = now_ms + 500;
    int64_t limit = clock_mono_us () - (int64_t) self->timeout_ms * 1000;
    for (int i = 0; i < self->n_slots; i++)
        if (self->slots[i].service >= 0 && self->slots[i].sent_us < limit) {
            slot_t sl = self->slots[i];
            s_release (self, i);
            self->on_reply (self->arg, sl.tag, NULL, clock_mono_us () - sl.sent_us);
        }
}

void
jbus_poll (jbus_t *self, int timeout_ms)
{
    s_flush_queues (self);
    int64_t now_ms = clock_mono_ms ();
    for (size_t i = 0; i < self->n_sources; i++)
        source_peer_ask_replay (&self->sources[i], now_ms, self->replay_timeout_ms);
    s_expire (self);
    zmq_pollitem_t items[1 + JBUS_MAX_SOURCES + JBUS_MAX_SOURCES * JBUS_MAX_CONNECTIONS];
    size_t n = 0;
    items[n++] = (zmq_pollitem_t){zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < self->n_sources; i++)
        items[n++] = (zmq_pollitem_t){zsock_resolve (self->sources[i].dealer), 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < self->n_services; i++)
        for (int k = 0; k < self->connections; k++)
            items[n++] = (zmq_pollitem_t){zsock_resolve (self->services[i].dealers[k]), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (items, (int) n, timeout_ms) <= 0)
        return;
    //  Replies first: they free the windows; then replays, then live events.
    for (size_t i = 0; i < self->n_services; i++)
        for (int c = 0; c < self->connections; c++) {
            zsock_t *dealer = self->services[i].dealers[c];
            for (int k = 0; k < READ_BURST && (zsock_events (dealer) & ZMQ_POLLIN); k++)
                s_read_reply (self, &self->services[i], dealer);
        }
    for (size_t i = 0; i < self->n_sources; i++)
        for (int k = 0; k < READ_BURST && (zsock_events (self->sources[i].dealer) & ZMQ_POLLIN); k++)
            source_peer_read_replay (&self->sources[i], "crm-benchjourneys", s_event, self);
    for (int k = 0; k < READ_BURST && (zsock_events (self->sub) & ZMQ_POLLIN); k++)
        source_read_sub (self->sub, self->sources, self->n_sources, s_event, self);
    s_flush_queues (self);
}

size_t
jbus_pending (const jbus_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_services; i++)
        n += (size_t) self->services[i].total + self->services[i].queued;
    return n;
}

uint64_t
jbus_events (const jbus_t *self)
{
    return self->events;
}

uint64_t
jbus_replays (const jbus_t *self)
{
    uint64_t n = 0;
    for (size_t i = 0; i < self->n_sources; i++)
        n += (uint64_t) self->sources[i].replays;
    return n;
}

int
jbus_status (jbus_t *self, const char *service, int timeout_ms, Crm__V1__StatusReply **reply_p)
{
    *reply_p = NULL;
    service_t *s = NULL;
    for (size_t i = 0; i < self->n_services; i++)
        if (strcmp (self->services[i].name, service) == 0)
            s = &self->services[i];
    if (!s)
        return -1;
    return source_status (s->status, timeout_ms, reply_p);
}

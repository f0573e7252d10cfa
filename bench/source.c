/*  source: see source.h. */
#include "source.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>

//  ------------------------------------------------------------ the source

static zsock_t *
s_bind (source_t *self, int type, int kind)
{
    char endpoint[128];
    config_bind_endpoint (&self->cfg, kind, endpoint, sizeof endpoint);
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    if (type == ZMQ_XPUB)
        zsock_set_sndhwm (sock, 100000);  // as a service's PUB
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        fprintf (stderr, "%s: cannot bind %s: %s\n", self->prog, endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

int
source_open (source_t *self, const char *prog)
{
    self->prog = prog;
    char err[256];
    if (config_load (&self->cfg, "bench", err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", prog, err);
        return -1;
    }
    self->db = db_new (self->cfg.db_user, self->cfg.db_password, "bench");
    self->outbox = outbox_new ("bench");
    if (!self->db || !self->outbox || db_connect (self->db, 10000) != DB_OK) {
        fprintf (stderr, "%s: cannot connect to the database: %s\n", prog,
                 self->db ? db_error (self->db) : "out of memory");
        return -1;
    }
    //  The bench is not a service: it applies the bus's own tables (embedded
    //  in libcrm as bus_migrations) with the code and bookkeeping services use.
    if (db_migrate (self->db, "bench", bus_migrations, bus_migrations_count) != DB_OK) {
        fprintf (stderr, "%s: migration failed: %s\n", prog, db_error (self->db));
        return -1;
    }
    if (outbox_load (self->outbox, self->db) != DB_OK)
        return -1;
    self->pub = s_bind (self, ZMQ_XPUB, CONFIG_PUB);
    self->replay = s_bind (self, ZMQ_ROUTER, CONFIG_REPLAY);
    return self->pub && self->replay ? 0 : -1;
}

void
source_close (source_t *self)
{
    zsock_destroy (&self->pub);
    zsock_destroy (&self->replay);
    outbox_destroy (&self->outbox);
    db_destroy (&self->db);
}

int
source_begin (source_t *self)
{
    return db_begin (self->db) == DB_OK ? 0 : -1;
}

int
source_add (source_t *self, const char *type, const char *correlation, const uint8_t *payload, size_t len)
{
    if (outbox_add (self->outbox, type, correlation, "", payload, len) == 0)
        return 0;
    db_rollback (self->db);
    outbox_discard (self->outbox);
    return -1;
}

int
source_commit (source_t *self)
{
    if (outbox_write (self->outbox, self->db) != DB_OK || db_commit (self->db) != DB_OK) {
        fprintf (stderr, "%s: write failed: %s\n", self->prog, db_error (self->db));
        db_rollback (self->db);
        outbox_discard (self->outbox);
        return -1;
    }
    outbox_publish (self->outbox, self->pub);
    return 0;
}

void
source_heartbeat (source_t *self)
{
    int64_t now = clock_mono_ms ();
    if (now >= self->next_heartbeat) {
        outbox_heartbeat (self->outbox, self->pub);
        self->next_heartbeat = now + self->cfg.heartbeat_ms;
    }
}

Crm__V1__ReplayRequest *
source_serve_replay (source_t *self)
{
    zmsg_t *msg = zmsg_recv (self->replay);
    if (!msg)
        return NULL;
    Crm__V1__ReplayRequest *req = NULL;
    zframe_t *request = zmsg_last (msg);
    if (request && zmsg_size (msg) > 1) {
        zmsg_remove (msg, request);
        zframe_t *reply =
            outbox_replay (self->outbox, self->db, zframe_data (request), zframe_size (request));
        req = crm__v1__replay_request__unpack (NULL, zframe_size (request), zframe_data (request));
        self->replay_requests++;
        zframe_destroy (&request);
        if (reply) {
            zmsg_append (msg, &reply);
            zmsg_send (&msg, self->replay);
        }
    }
    zmsg_destroy (&msg);
    return req;
}

void
source_read_xpub (source_t *self)
{
    zframe_t *frame = zframe_recv (self->pub);
    if (frame && zframe_size (frame) > 0 && zframe_data (frame)[0] == 1)
        self->subscribed = true;
    zframe_destroy (&frame);
}

//  ------------------------------------------------------------ following

zsock_t *
source_sub_new (void)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (sub)
        zsock_set_rcvhwm (sub, 0);  // never drop what we measure
    return sub;
}

int
source_peer_connect (source_peer_t *peer, const char *name, zsock_t *sub, const char *prog)
{
    *peer = (source_peer_t){0};
    consumer_init (&peer->consumer, name, 0);
    char pub[128], replay[128];
    if (config_peer_endpoint (name, CONFIG_PUB, pub, sizeof pub)
        || config_peer_endpoint (name, CONFIG_REPLAY, replay, sizeof replay)) {
        fprintf (stderr, "%s: unknown service '%s'\n", prog, name);
        return -1;
    }
    peer->dealer = zsock_new (ZMQ_DEALER);
    if (!peer->dealer)
        return -1;
    zsock_set_linger (peer->dealer, 0);
    zsock_set_immediate (peer->dealer, 1);
    if (zsock_connect (sub, "%s", pub) < 0 || zsock_connect (peer->dealer, "%s", replay) < 0) {
        fprintf (stderr, "%s: cannot connect to %s at %s\n", prog, name, pub);
        return -1;
    }
    return 0;
}

void
source_peer_close (source_peer_t *peer)
{
    zsock_destroy (&peer->dealer);
}

static void
s_offer (source_peer_t *peer, const Crm__V1__Envelope *env, bool replayed, source_event_fn *on_event,
         void *arg)
{
    if (!peer->heard || consumer_offer (&peer->consumer, env->sequence) != CONSUMER_ACCEPT)
        return;
    consumer_commit (&peer->consumer, env->sequence);
    on_event (arg, env, replayed);
}

void
source_read_sub (zsock_t *sub, source_peer_t *peers, size_t n, source_event_fn *on_event, void *arg)
{
    zmsg_t *msg = zmsg_recv (sub);
    if (!msg)
        return;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 2) {
        zmsg_destroy (&msg);
        return;
    }
    char name[64];
    size_t tlen = zframe_size (topic) < sizeof name - 1 ? zframe_size (topic) : sizeof name - 1;
    memcpy (name, zframe_data (topic), tlen);
    name[tlen] = 0;
    char *dot = strchr (name, '.');
    source_peer_t *peer = NULL;
    if (dot) {
        *dot = 0;
        for (size_t i = 0; i < n && !peer; i++)
            if (strcmp (peers[i].consumer.source, name) == 0)
                peer = &peers[i];
    }
    if (peer && strcmp (dot + 1, "Heartbeat") == 0) {
        Crm__V1__Heartbeat *hb = crm__v1__heartbeat__unpack (NULL, zframe_size (body), zframe_data (body));
        if (hb) {
            if (!peer->heard) {  // our start: the service's head now
                consumer_init (&peer->consumer, peer->consumer.source, hb->latest_sequence);
                peer->consumer.probe = false;
                peer->heard = true;
            }
            consumer_announce (&peer->consumer, hb->latest_sequence);
        }
        crm__v1__heartbeat__free_unpacked (hb, NULL);
    }
    else if (peer) {
        Crm__V1__Envelope *env = crm__v1__envelope__unpack (NULL, zframe_size (body), zframe_data (body));
        if (env)
            s_offer (peer, env, false, on_event, arg);
        crm__v1__envelope__free_unpacked (env, NULL);
    }
    zmsg_destroy (&msg);
}

void
source_peer_read_replay (source_peer_t *peer, const char *prog, source_event_fn *on_event, void *arg)
{
    zframe_t *frame = zframe_recv (peer->dealer);
    if (!frame)
        return;
    Crm__V1__ReplayReply *reply =
        crm__v1__replay_reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    if (reply && !*reply->error && peer->heard) {
        consumer_announce (&peer->consumer, reply->latest_sequence);
        if (reply->first_sequence && consumer_skip_to (&peer->consumer, reply->first_sequence))
            fprintf (stderr, "%s: events of %s were pruned before we read them\n", prog,
                     peer->consumer.source);
        for (size_t i = 0; i < reply->n_events; i++) {
            Crm__V1__Envelope *env =
                crm__v1__envelope__unpack (NULL, reply->events[i].len, reply->events[i].data);
            if (env)
                s_offer (peer, env, true, on_event, arg);
            crm__v1__envelope__free_unpacked (env, NULL);
        }
    }
    consumer_replay_done (&peer->consumer);
    crm__v1__replay_reply__free_unpacked (reply, NULL);
}

void
source_peer_ask_replay (source_peer_t *peer, int64_t now_ms, int timeout_ms)
{
    if (!peer->dealer || !peer->heard || !consumer_wants_replay (&peer->consumer, now_ms, timeout_ms))
        return;
    Crm__V1__ReplayRequest req = CRM__V1__REPLAY_REQUEST__INIT;
    req.from_sequence = peer->consumer.accepted + 1;
    req.max_count = 1000;
    uint8_t buf[32];
    size_t len = crm__v1__replay_request__pack (&req, buf);
    zmq_send (zsock_resolve (peer->dealer), buf, len, ZMQ_DONTWAIT);
    consumer_replay_sent (&peer->consumer, now_ms);
    peer->replays++;
}

int
source_status (client_t *client, int timeout_ms, Crm__V1__StatusReply **reply_p)
{
    *reply_p = NULL;
    Crm__V1__StatusRequest req = CRM__V1__STATUS_REQUEST__INIT;
    Crm__V1__Reply *reply = NULL;
    if (client_call (client, "Status", &req.base, timeout_ms, &reply))
        return -1;
    if (!reply->error && strcmp (reply->type, "StatusReply") == 0)
        *reply_p = crm__v1__status_reply__unpack (NULL, reply->payload.len, reply->payload.data);
    crm__v1__reply__free_unpacked (reply, NULL);
    return *reply_p ? 0 : -1;
}

/*  benchbus_net: see benchbus.h. */
#include "benchbus.h"
#include "clock.h"
#include "crm/v1/bus.pb-c.h"
#include "crm/v1/notifier.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Sockets

static void
s_serve_replay (bench_t *self)
{
    zmsg_t *msg = zmsg_recv (self->replay);
    if (!msg)
        return;
    zframe_t *request = zmsg_last (msg);
    if (request && zmsg_size (msg) > 1) {
        zmsg_remove (msg, request);
        zframe_t *reply =
            outbox_replay (self->outbox, self->db, zframe_data (request), zframe_size (request));
        Crm__V1__ReplayRequest *req =
            crm__v1__replay_request__unpack (NULL, zframe_size (request), zframe_data (request));
        if (req && req->from_sequence > outbox_last_sequence (self->outbox))
            self->probed = true;
        if (req && req->from_sequence <= outbox_last_sequence (self->outbox)) {
            uint64_t left = outbox_last_sequence (self->outbox) - req->from_sequence + 1;
            uint64_t max = req->max_count && req->max_count < 1000 ? req->max_count : 1000;
            self->replay_requests_served++;
            self->replay_events_served += (long) (left < max ? left : max);
            if (self->opt.verbose)
                fprintf (stderr,
                         "crm-benchbus: replay from %" PRIu64 " (max %u) served at head %" PRIu64
                         ", %ld written, %ld seen stored\n",
                         req->from_sequence, req->max_count, outbox_last_sequence (self->outbox),
                         self->written, self->seen);
        }
        crm__v1__replay_request__free_unpacked (req, NULL);
        zframe_destroy (&request);
        if (reply) {
            zmsg_append (msg, &reply);
            zmsg_send (&msg, self->replay);
        }
    }
    zmsg_destroy (&msg);
}

static void
s_read_xpub (bench_t *self)
{
    zframe_t *frame = zframe_recv (self->pub);
    if (frame && zframe_size (frame) > 0 && zframe_data (frame)[0] == 1)
        self->subscribed = true;
    zframe_destroy (&frame);
}

//  One envelope from the notifier (live or replayed).
static void
s_stored_event (bench_t *self, Crm__V1__Envelope *env)
{
    if (consumer_offer (&self->notifier, env->sequence) != CONSUMER_ACCEPT)
        return;
    consumer_commit (&self->notifier, env->sequence);
    if (strcmp (env->type, "NotificationStored") != 0)
        return;
    Crm__V1__NotificationStored *stored =
        crm__v1__notification_stored__unpack (NULL, env->payload.len, env->payload.data);
    if (!stored)
        return;
    double now = benchbus_real_ms ();
    if (strcmp (stored->requested_by, "bench") != 0 || stored->request_sequence <= self->base
        || stored->request_sequence > self->base + (uint64_t) self->opt.count)
        self->stored_foreign++;
    else {
        long i = (long) (stored->request_sequence - self->base - 1);
        if (self->seen_map[i])
            self->stored_duplicate++;
        else {
            self->seen_map[i] = 1;
            self->to_notifier_ms[self->seen] = (double) (env->time_ms - stored->requested_ms);
            self->latency_ms[self->seen++] = now - (double) stored->requested_ms;
            self->last_seen_us = benchbus_mono_us ();
        }
    }
    crm__v1__notification_stored__free_unpacked (stored, NULL);
}

static void
s_read_sub (bench_t *self)
{
    zmsg_t *msg = zmsg_recv (self->sub);
    if (!msg)
        return;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) == 2 && zframe_streq (topic, "notifier.Heartbeat")) {
        Crm__V1__Heartbeat *hb = crm__v1__heartbeat__unpack (NULL, zframe_size (body), zframe_data (body));
        if (hb) {
            if (!self->heard) {  // our position: the notifier's head now
                consumer_init (&self->notifier, "notifier", hb->latest_sequence);
                self->notifier.probe = false;
                self->heard = true;
            }
            consumer_announce (&self->notifier, hb->latest_sequence);
        }
        crm__v1__heartbeat__free_unpacked (hb, NULL);
    }
    else if (zmsg_size (msg) == 2 && self->heard) {
        Crm__V1__Envelope *env = crm__v1__envelope__unpack (NULL, zframe_size (body), zframe_data (body));
        if (env)
            s_stored_event (self, env);
        crm__v1__envelope__free_unpacked (env, NULL);
    }
    zmsg_destroy (&msg);
}

static void
s_read_dealer (bench_t *self)
{
    zframe_t *frame = zframe_recv (self->dealer);
    if (!frame)
        return;
    Crm__V1__ReplayReply *reply =
        crm__v1__replay_reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    if (reply && !*reply->error) {
        consumer_announce (&self->notifier, reply->latest_sequence);
        if (reply->first_sequence)
            consumer_skip_to (&self->notifier, reply->first_sequence);
        for (size_t i = 0; i < reply->n_events; i++) {
            Crm__V1__Envelope *env =
                crm__v1__envelope__unpack (NULL, reply->events[i].len, reply->events[i].data);
            if (env)
                s_stored_event (self, env);
            crm__v1__envelope__free_unpacked (env, NULL);
        }
        consumer_replay_done (&self->notifier);
    }
    crm__v1__replay_reply__free_unpacked (reply, NULL);
}

void
benchbus_request_replay (bench_t *self, int64_t now_ms)
{
    if (!self->heard || !consumer_wants_replay (&self->notifier, now_ms, self->cfg.replay_timeout_ms))
        return;
    Crm__V1__ReplayRequest req = CRM__V1__REPLAY_REQUEST__INIT;
    req.from_sequence = self->notifier.accepted + 1;
    req.max_count = 1000;
    uint8_t buf[32];
    size_t len = crm__v1__replay_request__pack (&req, buf);
    zmq_send (zsock_resolve (self->dealer), buf, len, ZMQ_DONTWAIT);
    consumer_replay_sent (&self->notifier, now_ms);
    self->notifier_replays++;
}

//  Sends our heartbeat when it is due (every CRM_HEARTBEAT_MS), as a
//  service does, so that the notifier notices a lost tail.
void
benchbus_heartbeat (bench_t *self)
{
    int64_t now = clock_mono_ms ();
    if (now >= self->next_heartbeat) {
        outbox_heartbeat (self->outbox, self->pub);
        self->next_heartbeat = now + self->cfg.heartbeat_ms;
    }
}

//  --sink: how far the sink has committed our events.
static void
s_read_sink (bench_t *self)
{
    if (!benchbus_sink_read (self->sinkw))
        return;
    self->heard = true;
    uint64_t applied = benchbus_sink_applied (self->sinkw);
    long seen = applied > self->base ? (long) (applied - self->base) : 0;
    if (seen > self->opt.count)
        seen = self->opt.count;
    if (seen > self->seen) {
        self->seen = seen;
        self->last_seen_us = benchbus_mono_us ();
    }
}

//  Waits up to timeout_ms for any socket and reads what is there.
void
benchbus_poll (bench_t *self, long timeout_ms)
{
    benchbus_heartbeat (self);
    zmq_pollitem_t items[] = {
        {zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->dealer), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->replay), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->pub), 0, ZMQ_POLLIN, 0},
        {self->sinkw ? zsock_resolve (benchbus_sink_sock (self->sinkw)) : NULL, 0, ZMQ_POLLIN, 0},
    };
    if (zmq_poll (items, self->sinkw ? 5 : 4, timeout_ms) <= 0)
        return;
    if (self->sinkw && (items[4].revents & ZMQ_POLLIN))
        s_read_sink (self);
    //  Read everything queued, so that a long commit never leaves it waiting.
    while (zsock_events (self->sub) & ZMQ_POLLIN)
        s_read_sub (self);
    while (zsock_events (self->dealer) & ZMQ_POLLIN)
        s_read_dealer (self);
    while (zsock_events (self->replay) & ZMQ_POLLIN)
        s_serve_replay (self);
    while (zsock_events (self->pub) & ZMQ_POLLIN)
        s_read_xpub (self);
}

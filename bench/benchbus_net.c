/*  benchbus_net: see benchbus.h. */
#include "benchbus.h"
#include "benchutil.h"
#include "clock.h"
#include "crm/v1/notifier.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Sockets

//  One replay request of the notifier, answered, with our count of it.
static void
s_serve_replay (bench_t *self)
{
    Crm__V1__ReplayRequest *req = source_serve_replay (&self->src);
    uint64_t head = outbox_last_sequence (self->src.outbox);
    if (req && req->from_sequence > head)
        self->probed = true;
    if (req && req->from_sequence <= head) {
        uint64_t left = head - req->from_sequence + 1;
        uint64_t max = req->max_count && req->max_count < 1000 ? req->max_count : 1000;
        self->replay_requests_served++;
        self->replay_events_served += (long) (left < max ? left : max);
        if (self->opt.verbose)
            fprintf (stderr,
                     "crm-benchbus: replay from %" PRIu64 " (max %u) served at head %" PRIu64
                     ", %ld written, %ld seen stored\n",
                     req->from_sequence, req->max_count, head, self->written, self->seen);
    }
    crm__v1__replay_request__free_unpacked (req, NULL);
}

//  One envelope from the notifier (live or replayed), already accepted.
static void
s_stored_event (void *arg, const Crm__V1__Envelope *env, bool replayed)
{
    (void) replayed;
    bench_t *self = arg;
    if (strcmp (env->type, "NotificationStored") != 0)
        return;
    Crm__V1__NotificationStored *stored =
        crm__v1__notification_stored__unpack (NULL, env->payload.len, env->payload.data);
    if (!stored)
        return;
    double now = benchutil_real_ms ();
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
            self->last_seen_us = clock_mono_us ();
        }
    }
    crm__v1__notification_stored__free_unpacked (stored, NULL);
}

//  --sink: how far the sink has committed our events.
static void
s_read_sink (bench_t *self)
{
    if (!benchbus_sink_read (self->sinkw))
        return;
    self->notifier.heard = true;
    uint64_t applied = benchbus_sink_applied (self->sinkw);
    long seen = applied > self->base ? (long) (applied - self->base) : 0;
    if (seen > self->opt.count)
        seen = self->opt.count;
    if (seen > self->seen) {
        self->seen = seen;
        self->last_seen_us = clock_mono_us ();
    }
}

void
benchbus_poll (bench_t *self, long timeout_ms)
{
    source_heartbeat (&self->src);
    source_peer_ask_replay (&self->notifier, clock_mono_ms (), self->src.cfg.replay_timeout_ms);
    //  With --sink the notifier's DEALER is not made; the sink's socket is.
    zsock_t *dealer = self->notifier.dealer;
    zmq_pollitem_t items[5] = {
        {zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->src.replay), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->src.pub), 0, ZMQ_POLLIN, 0},
    };
    int n = 3, sink = -1;
    if (dealer)
        items[n++] = (zmq_pollitem_t){zsock_resolve (dealer), 0, ZMQ_POLLIN, 0};
    if (self->sinkw) {
        sink = n;
        items[n++] = (zmq_pollitem_t){zsock_resolve (benchbus_sink_sock (self->sinkw)), 0, ZMQ_POLLIN, 0};
    }
    if (zmq_poll (items, n, timeout_ms) <= 0)
        return;
    if (sink >= 0 && (items[sink].revents & ZMQ_POLLIN))
        s_read_sink (self);
    //  Read everything queued, so that a long commit never leaves it waiting.
    while (zsock_events (self->sub) & ZMQ_POLLIN)
        source_read_sub (self->sub, &self->notifier, 1, s_stored_event, self);
    while (dealer && (zsock_events (dealer) & ZMQ_POLLIN))
        source_peer_read_replay (&self->notifier, "crm-benchbus", s_stored_event, self);
    while (zsock_events (self->src.replay) & ZMQ_POLLIN)
        s_serve_replay (self);
    while (zsock_events (self->src.pub) & ZMQ_POLLIN)
        source_read_xpub (&self->src);
}

/*  batch_sub: see service_private.h. Events from the sources: read from a
    SUB socket or a replay reply, decoded into the batch's arena, and offered
    to the source's consumer state; what it accepts joins the batch.
*/
#include "service_private.h"
#include "log.h"

#include <inttypes.h>

//  Decodes an envelope into the batch's arena; NULL if it does not decode.
static Crm__V1__Envelope *
s_unpack (service_t *self, const void *data, size_t len)
{
    return crm__v1__envelope__unpack (arena_allocator (self->arena), len, data);
}

//  env is in the arena: what is not taken is simply left there.
static void
s_offer (service_t *self, int index, Crm__V1__Envelope *env)
{
    source_t *src = &self->sources[index];
    consumer_verdict_t verdict = consumer_offer (&src->state, env->sequence);
    if (verdict == CONSUMER_ACCEPT) {
        work_t *w = batch_push (self, WORK_EVENT);
        w->index = index;
        w->event = env;
        return;
    }
    if (verdict == CONSUMER_GAP) {
        char seq[24], acc[24];
        log_debug ("gap in sequence", "source", src->state.source, "sequence",
                   log_u64 (seq, env->sequence), "accepted", log_u64 (acc, src->state.accepted), NULL);
    }
}

//  A message from a source that is not a well-formed event: parts (n of
//  them, closed here) and whatever else the message holds become a zmsg
//  for its dead letter.
static void
s_bad_parts (service_t *self, source_t *src, zmq_msg_t *parts, int n, const char *fmt, const char *topic)
{
    zmsg_t *msg = zmsg_new ();
    void *sock = zsock_resolve (src->sub);
    bool more = zmq_msg_more (&parts[n - 1]);
    for (int i = 0; i < n; i++) {
        zmsg_addmem (msg, zmq_msg_data (&parts[i]), zmq_msg_size (&parts[i]));
        zmq_msg_close (&parts[i]);
    }
    while (more) {  // the parts of a message arrive together: this never waits
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, sock, 0) < 0)
            break;
        zmsg_addmem (msg, zmq_msg_data (&part), zmq_msg_size (&part));
        more = zmq_msg_more (&part);
        zmq_msg_close (&part);
    }
    batch_bad (self, src->state.source, &msg, fmt, topic);
    zmsg_destroy (&msg);
}

//  One [topic][body] message from a source's SUB, read with zmq_msg_t
//  (no czmq frames: nothing allocated per event but the arena's share).
bool
batch_read_sub (service_t *self, int index)
{
    source_t *src = &self->sources[index];
    void *sock = zsock_resolve (src->sub);
    zmq_msg_t parts[2];
    zmq_msg_init (&parts[0]);
    if (zmq_msg_recv (&parts[0], sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&parts[0]);
        return false;
    }
    int n = 1;
    if (zmq_msg_more (&parts[0])) {
        zmq_msg_init (&parts[1]);
        if (zmq_msg_recv (&parts[1], sock, 0) >= 0)
            n = 2;
        else
            zmq_msg_close (&parts[1]);
    }
    if (n != 2 || zmq_msg_more (&parts[1])) {
        s_bad_parts (self, src, parts, n, "not a [topic][Envelope] message%s", "");
        return true;
    }
    char topic[96];
    size_t topic_len = zmq_msg_size (&parts[0]);
    snprintf (topic, sizeof topic, "%.*s", (int) (topic_len < sizeof topic ? topic_len : sizeof topic - 1),
              (const char *) zmq_msg_data (&parts[0]));
    const uint8_t *body = zmq_msg_data (&parts[1]);
    size_t len = zmq_msg_size (&parts[1]), prefix = strlen (src->state.source);
    if (strlen (topic) == topic_len && topic_len > prefix && strcmp (topic + prefix, ".Heartbeat") == 0) {
        Crm__V1__Heartbeat *hb = crm__v1__heartbeat__unpack (NULL, len, body);
        if (hb && strcmp (hb->source, src->state.source) == 0) {
            consumer_announce (&src->state, hb->latest_sequence);
            zmq_msg_close (&parts[0]);
            zmq_msg_close (&parts[1]);
        }
        else
            s_bad_parts (self, src, parts, 2, "malformed heartbeat%s", "");
        crm__v1__heartbeat__free_unpacked (hb, NULL);
        return true;
    }
    Crm__V1__Envelope *env = NULL;
    if (len > (size_t) self->cfg.max_message_bytes)
        s_bad_parts (self, src, parts, 2, "event exceeds CRM_MAX_MESSAGE_BYTES%s", "");
    else if (!(env = s_unpack (self, body, len)))
        s_bad_parts (self, src, parts, 2, "undecodable envelope on topic %.64s", topic);
    else if (strcmp (env->source, src->state.source) != 0 || env->sequence == 0) {
        char why[160];
        snprintf (why, sizeof why, "unknown sender '%.32s' or no sequence on %.64s", env->source, topic);
        s_bad_parts (self, src, parts, 2, "%s", why);
    }
    else {
        zmq_msg_close (&parts[0]);
        zmq_msg_close (&parts[1]);
        s_offer (self, index, env);
    }
    return true;
}

void
batch_read_replay_reply (service_t *self, int index)
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
        batch_bad (self, src->state.source, &none, "%" PRIu64 " events before sequence %" PRIu64
               " were pruned from the source's outbox before they were applied", lost,
               reply->first_sequence);
    }
    for (size_t i = 0; i < reply->n_events; i++) {
        Crm__V1__Envelope *env = s_unpack (self, reply->events[i].data, reply->events[i].len);
        if (env && strcmp (env->source, src->state.source) == 0)
            s_offer (self, index, env);
    }
    consumer_replay_done (&src->state);
    crm__v1__replay_reply__free_unpacked (reply, NULL);
}

void
batch_request_replays (service_t *self, int64_t now)
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

/*  consumer: see consumer.h. */
#include "consumer.h"

#include <stdio.h>
#include <string.h>

void
consumer_init (consumer_t *self, const char *source, uint64_t applied)
{
    char name[sizeof self->source];
    snprintf (name, sizeof name, "%s", source);     // source may be self->source
    memset (self, 0, sizeof *self);
    memcpy (self->source, name, sizeof name);
    self->applied = self->accepted = self->latest = applied;
    self->probe = true;
}

consumer_verdict_t
consumer_offer (consumer_t *self, uint64_t seq)
{
    if (seq <= self->accepted)
        return CONSUMER_DUPLICATE;
    if (seq > self->latest)
        self->latest = seq;
    if (seq != self->accepted + 1)
        return CONSUMER_GAP;
    self->accepted = seq;
    return CONSUMER_ACCEPT;
}

void
consumer_announce (consumer_t *self, uint64_t latest)
{
    if (latest > self->latest)
        self->latest = latest;
}

bool
consumer_wants_replay (const consumer_t *self, int64_t now_ms, int timeout_ms)
{
    if (!self->probe && self->accepted >= self->latest)
        return false;
    return self->replay_sent_ms == 0 || now_ms - self->replay_sent_ms >= timeout_ms;
}

void
consumer_replay_sent (consumer_t *self, int64_t now_ms)
{
    self->replay_sent_ms = now_ms ? now_ms : 1;
}

void
consumer_replay_done (consumer_t *self)
{
    self->replay_sent_ms = 0;
    self->probe = false;
}

uint64_t
consumer_skip_to (consumer_t *self, uint64_t first)
{
    if (first <= self->accepted + 1)
        return 0;
    uint64_t lost = first - 1 - self->accepted;
    self->accepted = first - 1;
    if (self->latest < self->accepted)
        self->latest = self->accepted;
    return lost;
}

void
consumer_commit (consumer_t *self, uint64_t seq)
{
    if (seq > self->applied)
        self->applied = seq;
}

void
consumer_rollback (consumer_t *self)
{
    self->accepted = self->applied;
    self->probe = true;
    self->replay_sent_ms = 0;
}

uint64_t
consumer_lag (const consumer_t *self)
{
    return self->latest > self->applied ? self->latest - self->applied : 0;
}

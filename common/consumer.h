/*  consumer: the idempotent consumer's bookkeeping for one source, as pure
    decisions (no sockets, no database), so that its rules are unit-tested.

    applied is the last sequence whose effects are committed here; accepted
    runs ahead of it while a transaction is open; latest is the highest
    sequence the source has announced (in an event or a heartbeat). An
    event is applied only when it is the next one; a repeat is skipped; a
    gap, a heartbeat ahead of us, or a fresh start asks the source's replay
    endpoint for the missing range (zguide ch. 5, "Getting an Out-of-Band
    Snapshot", and the Clone pattern's sequence numbers).
*/
#ifndef CRM_CONSUMER_H
#define CRM_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { CONSUMER_ACCEPT = 0, CONSUMER_DUPLICATE, CONSUMER_GAP } consumer_verdict_t;

typedef struct {
    char source[16];
    uint64_t applied;
    uint64_t accepted;
    uint64_t latest;
    bool probe;                 // ask for a replay even with no gap seen (at start)
    int64_t replay_sent_ms;     // monotonic ms of the request in flight, 0 if none
} consumer_t;

/*  Starts a source's state from its committed offset; a replay probe is
    due, to learn what was published while we were away. */
void consumer_init (consumer_t *self, const char *source, uint64_t applied);

/*  Verdict on an event with sequence seq: ACCEPT (the next one; accepted
    moves on), DUPLICATE (already accepted), or GAP (ahead: latest moves to
    seq so that a replay is asked for; the event is dropped). */
consumer_verdict_t consumer_offer (consumer_t *self, uint64_t seq);

/*  The source says its latest sequence is latest (heartbeat, replay reply). */
void consumer_announce (consumer_t *self, uint64_t latest);

/*  true when a replay request should go out at now_ms (monotonic): we are
    behind or probing, and no request is in flight or the one in flight is
    older than timeout_ms. */
bool consumer_wants_replay (const consumer_t *self, int64_t now_ms, int timeout_ms);

/*  A replay request for accepted + 1 went out at now_ms. */
void consumer_replay_sent (consumer_t *self, int64_t now_ms);

/*  A replay reply arrived (its events already offered). */
void consumer_replay_done (consumer_t *self);

/*  The source no longer holds sequences before first (pruned): returns how
    many are lost past accepted (0 if none) and moves accepted to first - 1. */
uint64_t consumer_skip_to (consumer_t *self, uint64_t first);

/*  A transaction that applied events up to seq committed. */
void consumer_commit (consumer_t *self, uint64_t seq);

/*  The open transaction rolled back: accepted falls back to applied and a
    replay is due to fetch the dropped events again. */
void consumer_rollback (consumer_t *self);

/*  latest - applied, or 0. */
uint64_t consumer_lag (const consumer_t *self);

#endif

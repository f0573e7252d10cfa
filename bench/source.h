/*  source: the fake source service the benches play, and their following
    of a service's events.

    The source side (source_t): the service "bench" (schema bench, role
    crm_bench, base port CRM_BENCH_PORT) with the bus's own tables (the
    embedded bus_migrations, applied with the bookkeeping services use),
    its outbox, its PUB on P+1 (an XPUB, so that the bench sees a
    subscriber arrive), its replay ROUTER on P+2 (outbox_replay) and its
    heartbeat every CRM_HEARTBEAT_MS: exactly what a service offers its
    subscribers (docs/architecture.md, "From outbox to applied" and
    "Protocol").

    The following side (source_peer_t): a subscriber's view of one service
    (e.g. "notifier"): the idempotent consumer's bookkeeping (consumer.h),
    started at the head the service's first heartbeat announces, and a
    DEALER to its replay endpoint to fill gaps, so that each event the
    service commits after that heartbeat is handed to the caller once, in
    sequence order. Live events come on a SUB the caller owns (one SUB may
    serve several peers: source_read_sub routes by topic "<service>.<Type>").

    Messages on stderr start with the program's name (prog).
*/
#ifndef CRM_BENCH_SOURCE_H
#define CRM_BENCH_SOURCE_H

#include "client.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "outbox.h"
#include "crm/v1/bus.pb-c.h"
#include "crm/v1/command.pb-c.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *prog;        // for messages, e.g. "crm-benchbus"
    config_t cfg;            // the service "bench"'s configuration
    db_t *db;                // schema bench
    outbox_t *outbox;        // the bench's events
    zsock_t *pub;            // XPUB on P+1
    zsock_t *replay;         // ROUTER on P+2
    bool subscribed;         // someone has subscribed to our PUB
    int64_t next_heartbeat;  // monotonic ms
    long replay_requests;    // replay requests answered
} source_t;

typedef struct {
    consumer_t consumer;  // our position in the service's outbox
    zsock_t *dealer;      // to its replay endpoint; NULL until connected
    bool heard;           // we have had its first heartbeat
    long replays;         // replay requests sent to it
} source_peer_t;

/*  One event of a peer, offered and committed in our consumer first; the
    envelope is the module's, valid during the call only. replayed: it came
    from the replay endpoint, not live. */
typedef void (source_event_fn) (void *arg, const Crm__V1__Envelope *event, bool replayed);

//  ------------------------------------------------------------ the source

/*  Opens *self (zeroed by the caller) as the service "bench": loads its
    configuration, connects to Postgres (10 s at most), applies the bus
    migrations, loads the outbox's position and binds PUB and replay.
    prog is kept (a string that lives as long as self). Returns 0, or -1
    with a message on stderr; source_close frees what was made either way. */
int source_open (source_t *self, const char *prog);

/*  Closes the sockets and the database connection; safe after a failed
    source_open. */
void source_close (source_t *self);

/*  BEGIN of a transaction of events: 0, or -1. */
int source_begin (source_t *self);

/*  Adds an event of type with payload (len bytes, copied) and correlation
    id to the transaction. Returns 0, or -1 after rolling the transaction
    back. */
int source_add (source_t *self, const char *type, const char *correlation, const uint8_t *payload,
                size_t len);

/*  Writes the transaction's events, commits and publishes them (after the
    COMMIT, as a service does). Returns 0, or -1 after a message on stderr
    and rolling back. */
int source_commit (source_t *self);

/*  Sends our heartbeat when it is due (every CRM_HEARTBEAT_MS). */
void source_heartbeat (source_t *self);

/*  Answers one replay request waiting on the replay socket (if any).
    Returns the request decoded (owned by the caller:
    crm__v1__replay_request__free_unpacked), or NULL if there was none or
    it could not be decoded (it is answered all the same). */
Crm__V1__ReplayRequest *source_serve_replay (source_t *self);

/*  Reads one message of the XPUB: a subscription sets self->subscribed. */
void source_read_xpub (source_t *self);

//  ------------------------------------------------------------ following

/*  A SUB that never drops what we measure (receive high-water mark 0),
    subscribed to nothing yet; owned by the caller. NULL on failure. */
zsock_t *source_sub_new (void);

/*  Follows service name: connects sub to its PUB and a new DEALER to its
    replay endpoint; the consumer starts at 0 until the first heartbeat.
    Returns 0, or -1 with a message on stderr. */
int source_peer_connect (source_peer_t *peer, const char *name, zsock_t *sub, const char *prog);

/*  Closes the peer's DEALER. */
void source_peer_close (source_peer_t *peer);

/*  Reads one message of sub and hands it to the peer (of peers, n) its
    topic names: a heartbeat (the first sets our start at the head it
    announces) or, once heard, an event (on_event with arg). */
void source_read_sub (zsock_t *sub, source_peer_t *peers, size_t n, source_event_fn *on_event, void *arg);

/*  Reads one reply of the peer's replay endpoint and hands its events on
    (on_event with arg). A gap the peer has pruned is said on stderr. */
void source_peer_read_replay (source_peer_t *peer, const char *prog, source_event_fn *on_event, void *arg);

/*  Asks the peer's replay endpoint for what we miss, when the consumer
    says so (after a gap, or timeout_ms after an unanswered request);
    never before its first heartbeat or without a DEALER. now_ms: monotonic. */
void source_peer_ask_replay (source_peer_t *peer, int64_t now_ms, int timeout_ms);

/*  Asks a service's Status through client (synchronous, timeout_ms at
    most). Returns 0 with *reply_p owned by the caller
    (crm__v1__status_reply__free_unpacked), or -1 (*reply_p NULL). */
int source_status (client_t *client, int timeout_ms, Crm__V1__StatusReply **reply_p);

#endif

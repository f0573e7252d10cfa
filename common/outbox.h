/*  outbox: the transactional outbox (Richardson, "Microservices Patterns",
    ch. 3: "Transactional outbox").

    A service adds the events it emits while its transaction is open;
    outbox_write stores them in the same transaction, numbered with
    contiguous per-source sequences; only after COMMIT does outbox_publish
    send them on the PUB socket. A crash between commit and publish loses
    nothing: subscribers see the heartbeat's sequence ahead of theirs and
    replay the missing range from this table (outbox_replay).

    Storage (common/migrations/003_outbox_segments.sql): one row of
    outbox_segment per transaction, its events' columns as arrays sent in
    binary (pgarray.h); the view outbox shows one row per event.
*/
#ifndef CRM_OUTBOX_H
#define CRM_OUTBOX_H

#include "db.h"

#include <czmq.h>
#include <stdint.h>

typedef struct outbox_t outbox_t;

/*  Creates the outbox of service source (copied). NULL on out-of-memory.
    Caller owns it. */
outbox_t *outbox_new (const char *source);

/*  Frees it and its pending events; nulls *self_p. */
void outbox_destroy (outbox_t **self_p);

/*  Reads the last committed sequence from the database (at start and after
    a reconnect). Returns DB_OK or the db error. */
db_rc_t outbox_load (outbox_t *self, db_t *db);

/*  Adds one event to the pending batch. type is the message name (e.g.
    "LeadCreated"), payload its encoding (len bytes, copied). correlation_id
    and causation_id may be "" but not NULL. Returns 0, -1 on out-of-memory. */
int outbox_add (outbox_t *self, const char *type, const char *correlation_id, const char *causation_id,
                const void *payload, size_t len);

/*  Number of pending (added, not yet published or discarded) events. */
size_t outbox_pending (const outbox_t *self);

/*  The type of the index-th pending event, or NULL past the last. Owned by
    the outbox, valid until it is published or discarded. */
const char *outbox_pending_type (const outbox_t *self, size_t index);

/*  Inside the caller's open transaction: takes the next sequences from
    outbox_head (its row lock orders concurrent writers by commit) and
    inserts every pending event as one segment row. Returns DB_OK or the db error; on error
    the caller rolls back and calls outbox_discard. */
db_rc_t outbox_write (outbox_t *self, db_t *db);

/*  After COMMIT: sends every written event on pub as [topic][envelope],
    topic "<source>.<type>", and clears the batch. pub may be NULL (tests). */
void outbox_publish (outbox_t *self, zsock_t *pub);

/*  After ROLLBACK: drops the pending batch. */
void outbox_discard (outbox_t *self);

/*  Last committed sequence (0: none yet). */
uint64_t outbox_last_sequence (const outbox_t *self);

/*  Sends a Heartbeat with the last committed sequence on topic
    "<source>.Heartbeat". */
void outbox_heartbeat (outbox_t *self, zsock_t *pub);

/*  Serves a ReplayRequest: reads up to max_count events (capped at 1000 and
    about 4 MiB) from from_sequence (or the oldest retained, if later) out
    of the segments holding them and encodes a ReplayReply into a new frame
    (caller owns it; NULL on out-of-memory): first_sequence is the oldest
    retained sequence, more is set only when a cap stopped it short of the
    head. A database error becomes the reply's error text. */
zframe_t *outbox_replay (outbox_t *self, db_t *db, const void *request, size_t len);

/*  Deletes the segments written more than retention_s seconds ago, whole,
    except the one holding the newest event. Returns DB_OK or the db error. */
db_rc_t outbox_prune (outbox_t *self, db_t *db, int retention_s);

/*  Sets *first to the oldest retained sequence (0: the outbox is empty).
    Returns DB_OK or the db error (*first unchanged). */
db_rc_t outbox_oldest (outbox_t *self, db_t *db, uint64_t *first);

#endif

/*  journeys_bus: the journeys benchmark's side of the bus, as the other
    system and the staff see it (bench/journeys.c).

    Events: one SUB socket connected to the PUB of every source, all topics,
    never dropping (receive high-water mark 0), with the idempotent
    consumer's bookkeeping (consumer.h) and a DEALER to each source's replay
    endpoint, so that every event each source commits after jbus_ready is
    handed to the caller exactly once, in sequence order per source, even
    if ZeroMQ dropped some on the way.

    Commands: a few DEALER sockets (connections) per command service, as
    many clients of the staff would have. At most window commands per
    connection are in flight (sent, not yet answered); more wait in a queue
    in the order given. (A service's command socket is a ROUTER with the
    default send high-water mark, 1000 messages, and ZeroMQ lets the sender
    see only part of what the peer has read: a ROUTER drops replies,
    silently, to a connection with more than about 500 in flight. Hence
    windows per connection, below that.) Each command carries its own sender (a staff login) and
    a command id "jb:<slot>:<serial>" by which its reply is matched. A
    command not answered within the command timeout is reported as such
    once, and a late reply to it is dropped.

    The module logs nothing: it calls back and returns codes.
*/
#ifndef CRM_JOURNEYS_BUS_H
#define CRM_JOURNEYS_BUS_H

#include "crm/v1/bus.pb-c.h"
#include "crm/v1/command.pb-c.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JBUS_MAX_SOURCES 8
#define JBUS_MAX_CONNECTIONS 16

typedef struct jbus_t jbus_t;

/*  One event of a source, once, in sequence order per source. The
    envelope is the module's: valid during the call only. */
typedef void (jbus_event_fn) (void *arg, const Crm__V1__Envelope *event);

/*  The reply to the command given tag, reply NULL if it timed out. rtt_us:
    from the send (not the queueing) to the reply, µs. The reply is the
    module's: valid during the call only. */
typedef void (jbus_reply_fn) (void *arg, uint64_t tag, const Crm__V1__Reply *reply, int64_t rtt_us);

/*  Connects to the sources (names, e.g. "leads", at the endpoints
    config_peer_endpoint gives) and, connections times (1 to
    JBUS_MAX_CONNECTIONS), to the command endpoints of services (names),
    window commands in flight per connection at most, command_timeout_ms
    before a command counts as unanswered. Calls on_event and on_reply with
    arg. Returns a new bus owned by the caller, or NULL (out of memory, a
    socket that cannot be made, an unknown service; a message on stderr). */
jbus_t *jbus_new (const char *const *sources, size_t n_sources, const char *const *services,
                  size_t n_services, int connections, int window, int command_timeout_ms,
                  jbus_event_fn *on_event, jbus_reply_fn *on_reply, void *arg);

/*  Closes every socket, drops queued commands; nulls *self_p. Safe on NULL. */
void jbus_destroy (jbus_t **self_p);

/*  Waits up to timeout_ms for a heartbeat of every source and takes the
    sequence each announces as our start: events committed after it are
    delivered. Returns 0, or -1 naming the silent sources on stderr. */
int jbus_ready (jbus_t *self, int timeout_ms);

/*  Queues command type (e.g. "MoveLead") with payload (encoded now; NULL:
    empty) from sender (a login; the pointer is kept: a string that lives
    as long as the bus) to service, given back as tag with its reply.
    Returns 0, or -1 (unknown service, out of memory). */
int jbus_send (jbus_t *self, const char *service, const char *type, const char *sender,
               const ProtobufCMessage *payload, uint64_t tag);

/*  Sends what the windows allow, asks sources for replays where events
    are missing, then waits up to timeout_ms for any socket and handles what
    came (callbacks run from here). */
void jbus_poll (jbus_t *self, int timeout_ms);

/*  Commands sent and not answered, plus those queued. */
size_t jbus_pending (const jbus_t *self);

/*  Events delivered so far, and replay requests sent to the sources. */
uint64_t jbus_events (const jbus_t *self);
uint64_t jbus_replays (const jbus_t *self);

/*  Asks service's Status (a separate, synchronous client; the other
    sockets wait meanwhile). Returns 0 with *reply_p owned by the caller
    (crm__v1__status_reply__free_unpacked), or -1. */
int jbus_status (jbus_t *self, const char *service, int timeout_ms, Crm__V1__StatusReply **reply_p);

#endif

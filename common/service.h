/*  service: the runtime every CRM service shares: its sockets, its one
    database connection, its outbox, its consumers, and the loop that ties
    them together.

    Sockets (ports from config.h): a command endpoint (ROUTER, one Reply per
    Command, sent after commit), a PUB socket fed from the outbox, a replay
    endpoint (ROUTER) serving the outbox by sequence, and per source a SUB
    socket plus a DEALER to its replay endpoint. An HTTP server (http.h,
    driven by the same loop) serves GET /metrics (Prometheus), GET /health
    and the routes a service adds (service_on_http). Every service answers
    the commands Status, ListDeadLetters and RetryDeadLetter.

    Work that arrives together is applied together: one transaction for a
    batch of commands and events (group commit), then the replies and the
    new events go out. If a statement fails for a reason that retrying will
    not fix, the batch is rolled back and replayed one item per transaction,
    so that only the item at fault is dead-lettered (or answered with an
    error). If the database is away, the batch is rolled back, the service
    reconnects with backoff, and the events are fetched again by replay.
*/
#ifndef CRM_SERVICE_H
#define CRM_SERVICE_H

#include "config.h"
#include "db.h"
#include "http.h"
#include "crm/v1/bus.pb-c.h"
#include "crm/v1/command.pb-c.h"

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>

typedef struct service_t service_t;

/*  What a handler says about one item. */
typedef enum {
    SERVICE_OK = 0,         // applied (or answered)
    SERVICE_REJECT,         // can never be applied: dead letter (events) with reason
    SERVICE_RETRY,          // transient database failure: retry later
    SERVICE_FAIL            // a statement failed on this data: isolate and dead-letter
} service_rc_t;

/*  A reply being built by a command handler. */
typedef struct service_reply_t service_reply_t;

/*  Applies one event from the bus inside the open transaction. On
    SERVICE_REJECT writes why into reason (reason_size bytes). */
typedef service_rc_t (service_event_fn) (service_t *svc, const Crm__V1__Envelope *event,
                                          void *arg, char *reason, size_t reason_size);

/*  Handles one command inside the open transaction; sets reply's payload
    or error. */
typedef service_rc_t (service_command_fn) (service_t *svc, const Crm__V1__Command *command,
                                            void *arg, service_reply_t *reply);

/*  Applies one raw message from a socket the service added itself (e.g.
    the leads intake), inside the open transaction. */
typedef service_rc_t (service_inbound_fn) (service_t *svc, zmsg_t *msg, void *arg, char *reason,
                                            size_t reason_size);

/*  Called once per batch: flush before COMMIT (write rows buffered by
    handlers), committed after it, reset after a rollback (forget what the
    batch buffered). Each may be NULL. */
typedef service_rc_t (service_flush_fn) (service_t *svc, void *arg);
typedef void (service_reset_fn) (service_t *svc, void *arg);

/*  A wall-clock tick (the timer service's clock). wake returns the instant,
    in ms UTC, at which tick should next run (INT64_MAX: nothing due). The
    loop re-reads the clock after every wake-up and never sleeps more than
    SERVICE_TICK_MAX_SLEEP_MS at a time, so a step of the system clock is
    seen within that time and no single long sleep is trusted. tick runs
    inside a batch transaction (now_ms: the clock read for it); its events
    are published after commit. */
#define SERVICE_TICK_MAX_SLEEP_MS 250
typedef int64_t (service_wake_fn) (service_t *svc, void *arg);
typedef service_rc_t (service_tick_fn) (service_t *svc, int64_t now_ms, void *arg);

/*  Service-specific figures added to the Status reply. */
typedef struct service_metrics_t service_metrics_t;
typedef void (service_metrics_fn) (service_t *svc, void *arg, service_metrics_t *metrics);

/*  Creates the service: binds its command, PUB and replay sockets and
    connects a SUB and a DEALER to each configured source. Does not touch
    the database. Returns NULL (and logs why) if a socket cannot bind.
    The service keeps cfg's values and takes ownership of db. */
service_t *service_new (const config_t *cfg, db_t **db_p);

/*  Closes every socket and the database; nulls *self_p. */
void service_destroy (service_t **self_p);

/*  Registers a handler for events of type (e.g. "NotificationRequested")
    from any source. Events of a type in the catalog with no handler are
    skipped (their offset still advances); unknown types are dead-lettered. */
void service_on_event (service_t *self, const char *type, service_event_fn *fn, void *arg);

/*  Registers a command handler. needs_db false: answered even while the
    database is down (e.g. Status). */
void service_on_command (service_t *self, const char *type, service_command_fn *fn, void *arg,
                         bool needs_db);

/*  Adds a socket read by the loop; each message goes to fn. Dead letters
    from it are recorded with source name. The service owns sock. */
void service_add_reader (service_t *self, zsock_t *sock, const char *name, service_inbound_fn *fn,
                         void *arg);

/*  Registers the per-batch hooks (one set per service). */
void service_on_batch (service_t *self, service_flush_fn *flush, service_reset_fn *committed,
                       service_reset_fn *reset, void *arg);

/*  Registers the wall-clock tick (one per service). */
void service_on_tick (service_t *self, service_wake_fn *wake, service_tick_fn *tick, void *arg);

/*  Registers a function that adds figures to every Status reply. */
void service_on_status (service_t *self, service_metrics_fn *fn, void *arg);

/*  Adds one figure (name copied; at most 16 per reply). */
void service_metric (service_metrics_t *metrics, const char *name, double value);

/*  Serves method and path (exact match, e.g. "POST", "/v1/leads") on the
    service's HTTP server: fn runs on the loop's thread, outside any
    transaction; it answers with http_respond, or defers (http_defer) and
    answers later, e.g. from a service_submit's done. At most 8 routes. */
typedef void (service_http_fn) (service_t *svc, http_request_t *req, void *arg);
void service_on_http (service_t *self, const char *method, const char *path, service_http_fn *fn, void *arg);

/*  Receives the reply to a command given to service_submit (after the
    batch's commit, or at once for an error before it); reply and its
    strings are valid during the call only. */
typedef void (service_done_fn) (service_t *svc, const Crm__V1__Reply *reply, void *arg);

/*  Queues command (copied) as if it had come to the command endpoint: it is
    applied in the next batch by its handler and done gets its reply after
    commit; a refusal before it (unknown type, database away: UNAVAILABLE)
    reaches done too, maybe before this returns. Returns 0, or -1 on
    out-of-memory (done is not called). */
int service_submit (service_t *self, const Crm__V1__Command *command, service_done_fn *done, void *arg);

/*  Connects the database (retrying until interrupted), loads the outbox
    head, the consumer offsets and the dead-letter count. Returns 0, or -1 if
    interrupted. Migrations must have run (db_migrate). */
int service_start (service_t *self);

/*  Runs the loop until SIGINT or SIGTERM. Returns 0 on a clean stop. */
int service_run (service_t *self);

/*  Adds an event to the open transaction's outbox: msg is encoded and
    its type is the message's short name. correlation_id and causation_id
    may be "". Returns SERVICE_OK, or SERVICE_FAIL on out-of-memory. */
service_rc_t service_emit (service_t *self, const ProtobufCMessage *msg, const char *correlation_id,
                           const char *causation_id);

/*  The service's database (owned by the service). */
db_t *service_db (service_t *self);

/*  The service's name. */
const char *service_name (service_t *self);

/*  Sets a successful reply: msg encoded, type its short name. */
void service_reply_set (service_reply_t *reply, const ProtobufCMessage *msg);

/*  Sets an error reply: code (e.g. "INVALID_ARGUMENT"), a one-line message
    and the n_fields fields concerned (fields may be NULL when n_fields is 0).
    Strings are copied. */
void service_reply_error (service_reply_t *reply, const char *code, const char *message,
                          const char *const *fields, size_t n_fields);

/*  Maps a db_rc_t to the service_rc_t a handler returns. */
service_rc_t service_rc (db_rc_t rc);

#endif

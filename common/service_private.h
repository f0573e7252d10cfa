/*  service_private: what the service runtime's two files share: the
    service's state and the unit of work. Not for services: they see only
    service.h. service.c owns the sockets, the loop and the replies;
    batch.c reads the sockets into a batch and applies it in one
    transaction (batch_sub.c reads the sources' events); service_http.c serves HTTP (metrics, health, routes) and
    commands submitted from inside; deadletter.c the dead-letter commands.
*/
#ifndef CRM_SERVICE_PRIVATE_H
#define CRM_SERVICE_PRIVATE_H

#include "service.h"
#include "arena.h"
#include "consumer.h"
#include "http.h"
#include "outbox.h"
#include "stats.h"

#define MAX_HANDLERS 32
#define MAX_READERS 4
#define MAX_FIELDS 16
#define MAX_ROUTES 8

struct service_reply_t {
    char code[32];
    char message[512];
    char *fields[MAX_FIELDS];
    size_t n_fields;
    char type[64];
    uint8_t *payload;
    size_t len;
};

typedef enum { WORK_EVENT, WORK_COMMAND, WORK_INBOUND, WORK_BAD, WORK_TICK } work_kind_t;

#define MAX_METRICS 16
struct service_metrics_t {
    Crm__V1__Metric items[MAX_METRICS];
    Crm__V1__Metric *ptrs[MAX_METRICS];
    char names[MAX_METRICS][48];
    size_t count;
};

//  The large buffers come last: batch_push clears what comes before reply
//  and only the first bytes of the rest, so that an event (most items)
//  does not cost a kilobyte of memset.
typedef struct {
    work_kind_t kind;
    int index;                      // source (EVENT) or reader (INBOUND)
    Crm__V1__Envelope *event;       // EVENT, in the service's arena (freed with the batch)
    Crm__V1__Command *command;      // COMMAND, owned
    zmsg_t *msg;                    // COMMAND: routing frames; INBOUND, BAD: the message
    service_done_fn *done;          // COMMAND from service_submit: gets the reply (msg is NULL)
    void *done_arg;
    bool dead;                      // dead-lettered in the open transaction
    service_reply_t reply;          // COMMAND
    char bad_source[16];            // BAD
    char reason[256];               // BAD: why; others: filled on rejection
} work_t;

typedef struct {
    consumer_t state;
    zsock_t *sub;
    zsock_t *dealer;
    uint64_t batch_max_seq;         // highest sequence in the open transaction
} source_t;

struct service_t {
    config_t cfg;
    db_t *db;
    outbox_t *outbox;
    zsock_t *cmd;
    zsock_t *pub;
    zsock_t *replay;
    source_t sources[CONFIG_MAX_SOURCES];
    int source_count;
    struct { char type[64]; service_event_fn *fn; void *arg; } events[MAX_HANDLERS];
    int event_count;
    struct { char type[64]; service_command_fn *fn; void *arg; bool needs_db; } commands[MAX_HANDLERS];
    int command_count;
    struct { zsock_t *sock; char name[16]; service_inbound_fn *fn; void *arg; } readers[MAX_READERS];
    int reader_count;
    service_flush_fn *flush;
    service_reset_fn *committed;
    service_reset_fn *reset;
    void *batch_arg;
    service_wake_fn *wake;
    service_tick_fn *tick;
    void *tick_arg;
    service_metrics_fn *metrics;
    void *metrics_arg;
    work_t *work;
    arena_t *arena;  // the open batch's decoded events
    size_t nwork;
    size_t work_cap;
    uint64_t dead_letters;          // open (not retried) rows of dead_letter
    uint64_t outbox_first;          // oldest sequence in the outbox (0: none), as of load or prune
    stats_t stats;
    http_t *http;
    struct { char method[8]; char path[64]; service_http_fn *fn; void *arg; } routes[MAX_ROUTES];
    int route_count;
    int64_t started_ms;
    int64_t next_heartbeat;
    int64_t next_prune;
    int64_t next_ping;
    int turn;                       // which input is read first this round
    int64_t next_reconnect;
    int reconnect_backoff;
};


//  batch.c: collecting work from the sockets (each reads one message) ...
void batch_read_command (service_t *self);
//  batch_read_sub reads without waiting: false when nothing was queued.
bool batch_read_sub (service_t *self, int index);
void batch_read_replay_reply (service_t *self, int index);
void batch_read_inbound (service_t *self, int index);
void batch_serve_replay (service_t *self);
void batch_request_replays (service_t *self, int64_t now);
work_t *batch_push (service_t *self, work_kind_t kind);
//  Adds a message that cannot be applied (WORK_BAD: dead-lettered in the
//  batch, with source and the reason fmt...); takes *msg.
void batch_bad (service_t *self, const char *source, zmsg_t **msg, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
void batch_work_free (work_t *w);
//  ... and applying all of it: one transaction, poison isolated, replies
//  and events sent after commit.
void batch_process (service_t *self);

//  Applies one event with its handler, inside the open transaction (as a
//  batch does, and RetryDeadLetter): the envelope's strings are checked,
//  an event of a catalogued type without a handler is skipped, an unknown
//  type rejected. On SERVICE_REJECT, reason says why.
service_rc_t batch_handle_event (service_t *self, const Crm__V1__Envelope *event, char *reason,
                                 size_t reason_size);
//  The index of the reader called name, or -1.
int batch_find_reader (service_t *self, const char *name);

//  service.c: replies to commands.
void service_reply_reset (service_reply_t *reply);
void service_reply_send (service_t *self, zmsg_t **routing, const char *command_id,
                         service_reply_t *reply);
//  Sends a command's reply where it goes: its client, or its done.
void service_reply_work (service_t *self, work_t *w);
//  Fills msg (and error, which it may point to) from reply; strings stay
//  reply's.
void service_reply_fill (const char *command_id, service_reply_t *reply, Crm__V1__Reply *msg,
                         Crm__V1__Error *error);

//  service_http.c: the HTTP server (NULL when CRM_<NAME>_HTTP_PORT is 0).
int service_http_start (service_t *self);
//  The outbox's retained events (as of the last load or prune).
uint64_t service_outbox_retained (service_t *self);

//  deadletter.c: registers ListDeadLetters and RetryDeadLetter ...
void deadletter_register (service_t *self);
//  ... logs a retry that committed ...
void deadletter_committed (service_t *self, const Crm__V1__Command *cmd);
//  ... and, in the isolated transaction of a RetryDeadLetter that failed
//  (reason: why), records the failure on the dead letter and sets reply.
service_rc_t deadletter_isolated (service_t *self, const Crm__V1__Command *cmd, const char *reason,
                                  service_reply_t *reply);

#endif

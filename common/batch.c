/*  batch: see service_private.h. */
#include "service_private.h"
#include "clock.h"
#include "log.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdarg.h>

//  Every event type a service may see on the bus. A type outside this list
//  is not from a service of ours (or from a newer version): dead-lettered.
static const char *s_catalog[] = {
    "LeadCreated", "LeadMoved", "LeadConverted", "DealOpened", "DealMoved",
    "NotificationRequested", "NotificationStored", "NotificationDelivered", "NotificationFailed",
    "TimerRequested", "TimerCancelRequested", "TimerFired",
    "TaskRequested", "ActivityRequested", "ActivityCancelRequested",
    "TaskCreated", "TaskCompleted", NULL,
};

void
batch_work_free (work_t *w)
{
    //  An event lives in the batch's arena: it goes with arena_reset.
    crm__v1__command__free_unpacked (w->command, NULL);
    zmsg_destroy (&w->msg);
    for (size_t i = 0; i < w->reply.n_fields; i++)
        free (w->reply.fields[i]);
    free (w->reply.payload);
    w->reply.n_fields = 0;
    w->reply.payload = NULL;
    w->event = NULL;
    w->command = NULL;
}

//  --------------------------------------------------------------------------
//  Collecting work from the sockets

//  Takes the body (last frame) off a message, leaving its routing frames.
static zframe_t *
s_pop_back (zmsg_t *msg)
{
    zframe_t *last = zmsg_last (msg);
    if (last)
        zmsg_remove (msg, last);
    return last;
}

work_t *
batch_push (service_t *self, work_kind_t kind)
{
    if (self->nwork == self->work_cap) {
        size_t cap = self->work_cap ? self->work_cap * 2 : 256;
        work_t *work = realloc (self->work, cap * sizeof *work);
        assert (work);
        self->work = work;
        self->work_cap = cap;
    }
    work_t *w = &self->work[self->nwork++];
    memset (w, 0, offsetof (work_t, reply));
    w->reply.code[0] = w->reply.message[0] = w->reply.type[0] = 0;
    w->reply.n_fields = 0;
    w->reply.payload = NULL;
    w->reply.len = 0;
    w->bad_source[0] = w->reason[0] = 0;
    w->kind = kind;
    return w;
}

void
batch_bad (service_t *self, const char *source, zmsg_t **msg, const char *fmt, ...)
{
    work_t *w = batch_push (self, WORK_BAD);
    snprintf (w->bad_source, sizeof w->bad_source, "%s", source);
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (w->reason, sizeof w->reason, fmt, ap);
    va_end (ap);
    w->msg = *msg;
    *msg = NULL;
}

static int
s_find_command (service_t *self, const char *type)
{
    for (int i = 0; i < self->command_count; i++)
        if (strcmp (self->commands[i].type, type) == 0)
            return i;
    return -1;
}

//  Names the command's strings that are not UTF-8 (protobuf-c does not
//  check); true if any.
static bool
s_not_utf8 (const Crm__V1__Command *cmd, const char **bad, size_t *n_bad)
{
    if (!utf8_valid (cmd->type))
        bad[(*n_bad)++] = "type";
    if (!utf8_valid (cmd->command_id))
        bad[(*n_bad)++] = "command_id";
    if (!utf8_valid (cmd->sender))
        bad[(*n_bad)++] = "sender";
    return *n_bad > 0;
}

void
batch_read_command (service_t *self)
{
    zmsg_t *routing = zmsg_recv (self->cmd);
    if (!routing)
        return;
    zframe_t *body = s_pop_back (routing);
    service_reply_t reply = {0};
    Crm__V1__Command *cmd = NULL;
    const char *bad[3];
    size_t n_bad = 0;
    if (!body || zmsg_size (routing) == 0)
        service_reply_error (&reply, "MALFORMED", "a command is [identity][Command]", NULL, 0);
    else if (zframe_size (body) > (size_t) self->cfg.max_message_bytes) {
        char message[128];
        snprintf (message, sizeof message, "the command is %zu bytes; CRM_MAX_MESSAGE_BYTES is %d",
                  zframe_size (body), self->cfg.max_message_bytes);
        service_reply_error (&reply, "TOO_LARGE", message, NULL, 0);
    }
    else if (!(cmd = crm__v1__command__unpack (NULL, zframe_size (body), zframe_data (body))))
        service_reply_error (&reply, "MALFORMED", "not a crm.v1.Command protobuf", NULL, 0);
    else if (s_not_utf8 (cmd, bad, &n_bad))
        service_reply_error (&reply, "MALFORMED", "command strings must be UTF-8", bad, n_bad);
    else if (!*cmd->type || s_find_command (self, cmd->type) < 0)
        service_reply_error (&reply, "UNKNOWN_COMMAND", "no such command", (const char *[]) {"type"}, 1);
    zframe_destroy (&body);
    if (*reply.code || !cmd) {
        log_warn ("command refused", "code", reply.code, "type", cmd ? cmd->type : NULL,
                  "command_id", cmd ? cmd->command_id : NULL, NULL);
        if (zmsg_size (routing) > 0)
            service_reply_send (self, &routing, cmd ? utf8_scrub (cmd->command_id) : "", &reply);
        zmsg_destroy (&routing);
        crm__v1__command__free_unpacked (cmd, NULL);
        service_reply_reset (&reply);
        return;
    }
    int h = s_find_command (self, cmd->type);
    if (!self->commands[h].needs_db) {      // answered at once, from memory
        self->commands[h].fn (self, cmd, self->commands[h].arg, &reply);
        service_reply_send (self, &routing, cmd->command_id, &reply);
        crm__v1__command__free_unpacked (cmd, NULL);
        service_reply_reset (&reply);
        return;
    }
    work_t *w = batch_push (self, WORK_COMMAND);
    w->command = cmd;
    w->msg = routing;
}

void
batch_serve_replay (service_t *self)
{
    zmsg_t *msg = zmsg_recv (self->replay);
    if (!msg)
        return;
    zframe_t *request = s_pop_back (msg);
    if (request && zmsg_size (msg) > 0) {
        zframe_t *reply = outbox_replay (self->outbox, self->db, zframe_data (request),
                                         zframe_size (request));
        if (reply) {
            zmsg_append (msg, &reply);
            zmsg_send (&msg, self->replay);
        }
    }
    zframe_destroy (&request);
    zmsg_destroy (&msg);
}

//  --------------------------------------------------------------------------
//  Applying a batch of work in one transaction

static bool
s_in_catalog (const char *type)
{
    for (int i = 0; s_catalog[i]; i++)
        if (strcmp (s_catalog[i], type) == 0)
            return true;
    return false;
}

//  message (message_len bytes, NULL: none) is the whole message, kept so
//  that RetryDeadLetter can apply it again.
static service_rc_t
s_dead_letter (service_t *self, const char *source, const uint64_t *sequence, const char *type,
               const char *reason, const void *payload, size_t len, const void *message, size_t message_len)
{
    //  What failed may be the very bytes we are about to store: keep the
    //  text columns valid UTF-8, the raw bytes go into payload as they are.
    char seq[24], clean_type[96], clean_reason[512];
    if (sequence)
        snprintf (seq, sizeof seq, "%" PRIu64, *sequence);
    snprintf (clean_type, sizeof clean_type, "%s", type ? type : "");
    snprintf (clean_reason, sizeof clean_reason, "%s", reason);
    utf8_scrub (clean_type);
    utf8_scrub (clean_reason);
    const char *params[] = {source, sequence ? seq : NULL, clean_type, clean_reason, payload, message};
    int lengths[] = {0, 0, 0, 0, (int) len, (int) message_len};
    int formats[] = {0, 0, 0, 0, 1, 1};
    db_rc_t rc = db_exec (self->db, NULL,
                          "INSERT INTO dead_letter (source, sequence, type, reason, payload, message)"
                          " VALUES ($1, $2, $3, $4, $5, $6)",
                          6, params, lengths, formats);
    return service_rc (rc);
}

static service_rc_t
s_dead_letter_work (service_t *self, work_t *w, const char *reason)
{
    if (w->kind == WORK_EVENT) {
        log_error ("event dead-lettered", "source", w->event->source, "sequence",
                   log_u64 ((char[24]){0}, w->event->sequence), "type", w->event->type,
                   "event_id", w->event->event_id, "correlation_id", w->event->correlation_id,
                   "reason", reason, NULL);
        size_t len = crm__v1__envelope__get_packed_size (w->event);
        uint8_t *envelope = malloc (len ? len : 1);
        if (!envelope)
            return SERVICE_RETRY;
        crm__v1__envelope__pack (w->event, envelope);
        service_rc_t rc = s_dead_letter (self, w->event->source, &w->event->sequence, w->event->type, reason,
                                         w->event->payload.data, w->event->payload.len, envelope, len);
        free (envelope);
        return rc;
    }
    const char *source = w->kind == WORK_BAD    ? w->bad_source
                       : w->kind == WORK_TICK ? "tick"
                                              : self->readers[w->index].name;
    zframe_t *last = w->msg ? zmsg_last (w->msg) : NULL;
    log_error ("message dead-lettered", "source", source, "reason", reason, NULL);
    //  A reader's message can be applied again by its reader; what was
    //  unreadable from a source, or lost, cannot.
    zframe_t *message = w->kind == WORK_INBOUND && w->msg ? zmsg_encode (w->msg) : NULL;
    service_rc_t rc = s_dead_letter (self, source, NULL, "", reason, last ? zframe_data (last) : NULL,
                                     last ? zframe_size (last) : 0, message ? zframe_data (message) : NULL,
                                     message ? zframe_size (message) : 0);
    zframe_destroy (&message);
    return rc;
}

int
batch_find_reader (service_t *self, const char *name)
{
    for (int i = 0; i < self->reader_count; i++)
        if (strcmp (self->readers[i].name, name) == 0)
            return i;
    return -1;
}

service_rc_t
batch_handle_event (service_t *self, const Crm__V1__Envelope *event, char *reason, size_t reason_size)
{
    if (!(utf8_valid (event->type) && utf8_valid (event->event_id) && utf8_valid (event->correlation_id)
          && utf8_valid (event->causation_id))) {
        snprintf (reason, reason_size, "envelope strings (type, ids) are not UTF-8");
        return SERVICE_REJECT;
    }
    for (int i = 0; i < self->event_count; i++)
        if (strcmp (self->events[i].type, event->type) == 0)
            return self->events[i].fn (self, event, self->events[i].arg, reason, reason_size);
    if (!s_in_catalog (event->type)) {
        snprintf (reason, reason_size, "unknown event type '%.64s'", event->type);
        return SERVICE_REJECT;
    }
    return SERVICE_OK;
}

//  Runs one item's handler; a rejected item is dead-lettered here.
static service_rc_t
s_dispatch (service_t *self, work_t *w)
{
    if (w->kind != WORK_BAD)    // a bad message's reason was set when it was read
        w->reason[0] = 0;
    w->dead = false;
    service_rc_t rc = SERVICE_OK;
    if (w->kind == WORK_EVENT)
        rc = batch_handle_event (self, w->event, w->reason, sizeof w->reason);
    else if (w->kind == WORK_COMMAND) {
        int h = s_find_command (self, w->command->type);
        service_reply_reset (&w->reply);
        rc = self->commands[h].fn (self, w->command, self->commands[h].arg, &w->reply);
        if (rc == SERVICE_REJECT)
            rc = SERVICE_OK;    // the reply carries the error
    }
    else if (w->kind == WORK_INBOUND)
        rc = self->readers[w->index].fn (self, w->msg, self->readers[w->index].arg, w->reason,
                                         sizeof w->reason);
    else if (w->kind == WORK_TICK)
        rc = self->tick (self, clock_now_ms (), self->tick_arg);
    else
        rc = SERVICE_REJECT;
    if (rc == SERVICE_REJECT) {
        self->dead_letters++;
        w->dead = true;
        rc = s_dead_letter_work (self, w, *w->reason ? w->reason : "rejected");
    }
    return rc;
}

static void
s_abort (service_t *self)
{
    db_rollback (self->db);
    outbox_discard (self->outbox);
    if (self->reset)
        self->reset (self, self->batch_arg);
}

//  A single item failed on its data: roll it back and, in a transaction of
//  its own, dead-letter it (or answer its command with an error).
static service_rc_t
s_isolate (service_t *self, work_t *w)
{
    char reason[512];
    snprintf (reason, sizeof reason, "handler failed: %s", db_error (self->db));
    s_abort (self);
    service_rc_t rc = service_rc (db_begin (self->db));
    if (rc == SERVICE_OK && w->kind == WORK_COMMAND) {
        service_reply_reset (&w->reply);
        if (strcmp (w->command->type, "RetryDeadLetter") == 0)
            return deadletter_isolated (self, w->command, reason, &w->reply);
        service_reply_error (&w->reply, "INTERNAL", "the command failed; see the log", NULL, 0);
        return rc;
    }
    if (rc == SERVICE_OK) {
        self->dead_letters++;
        w->dead = true;
        rc = s_dead_letter_work (self, w, reason);
    }
    if (rc == SERVICE_FAIL) {
        //  Even the dead letter would not go in. Never move past an item
        //  without a record of it: stop here and try again later.
        log_error ("cannot record a dead letter; will retry", "error", db_error (self->db), NULL);
        self->dead_letters--;
        rc = SERVICE_RETRY;
    }
    return rc;
}

//  Applies work[from..from+count) in one transaction. Returns SERVICE_OK
//  (committed), SERVICE_RETRY (database away: rolled back) or SERVICE_FAIL
//  (some item is at fault: rolled back; apply them one by one to find it).
static service_rc_t
s_apply (service_t *self, size_t from, size_t count)
{
    uint64_t dead_before = self->dead_letters, retried_before = self->stats.retried;
    int64_t started_us = clock_mono_us ();
    for (int i = 0; i < self->source_count; i++)
        self->sources[i].batch_max_seq = 0;
    service_rc_t rc = service_rc (db_begin (self->db));
    for (size_t i = from; rc == SERVICE_OK && i < from + count; i++)
        rc = s_dispatch (self, &self->work[i]);
    if (rc == SERVICE_OK && self->flush)
        rc = self->flush (self, self->batch_arg);
    if (rc == SERVICE_FAIL && count == 1) {
        //  What the failed attempt counted is rolled back with it.
        self->dead_letters = dead_before;
        self->stats.retried = retried_before;
        rc = s_isolate (self, &self->work[from]);
    }
    for (size_t i = from; rc == SERVICE_OK && i < from + count; i++)
        if (self->work[i].kind == WORK_EVENT)
            self->sources[self->work[i].index].batch_max_seq = self->work[i].event->sequence;
    for (int i = 0; rc == SERVICE_OK && i < self->source_count; i++) {
        source_t *src = &self->sources[i];
        if (!src->batch_max_seq)
            continue;
        char seq[24];
        const char *params[] = {src->state.source, log_u64 (seq, src->batch_max_seq)};
        rc = service_rc (db_exec (self->db, NULL,
                                  "INSERT INTO consumer_offset (source, last_sequence) VALUES ($1, $2)"
                                  " ON CONFLICT (source) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
                                  2, params, NULL, NULL));
    }
    if (rc == SERVICE_OK)
        rc = service_rc (outbox_write (self->outbox, self->db));
    if (rc == SERVICE_OK)
        rc = service_rc (db_commit (self->db));
    if (rc != SERVICE_OK) {
        self->dead_letters = dead_before;
        self->stats.retried = retried_before;
        s_abort (self);
        return rc;
    }
    stats_batch (&self->stats, (double) (clock_mono_us () - started_us) / 1e6, count);
    for (size_t i = 0; outbox_pending_type (self->outbox, i); i++)
        stats_published (&self->stats, outbox_pending_type (self->outbox, i));
    outbox_publish (self->outbox, self->pub);
    if (self->committed)
        self->committed (self, self->batch_arg);
    for (int i = 0; i < self->source_count; i++)
        consumer_commit (&self->sources[i].state, self->sources[i].batch_max_seq);
    for (size_t i = from; i < from + count; i++) {
        work_t *w = &self->work[i];
        if (w->dead)
            self->stats.dead_letters++;
        else if (w->kind == WORK_EVENT) {
            stats_applied (&self->stats, w->event->type);
            //  Every event's trace across the bus, when asked for (a line per
            //  event and consumer is too many to keep at info).
            if (log_enabled (LOG_LEVEL_DEBUG))
                log_debug ("event applied", "source", w->event->source, "sequence",
                           log_u64 ((char[24]){0}, w->event->sequence), "type", w->event->type, "event_id",
                           w->event->event_id, "correlation_id", w->event->correlation_id, NULL);
        }
        if (w->kind == WORK_COMMAND && !*w->reply.code && strcmp (w->command->type, "RetryDeadLetter") == 0)
            deadletter_committed (self, w->command);
        if (w->kind == WORK_COMMAND)
            service_reply_work (self, w);
    }
    return SERVICE_OK;
}

//  The database went away mid-batch: answer commands "unavailable" (their
//  clients retry; commands are idempotent), drop events (they come back by
//  replay), keep raw inbound messages for after the reconnect.
static void
s_unavailable (service_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->nwork; i++) {
        work_t *w = &self->work[i];
        if (w->kind == WORK_COMMAND) {
            service_reply_reset (&w->reply);
            service_reply_error (&w->reply, "UNAVAILABLE", "database unavailable; retry", NULL, 0);
            service_reply_work (self, w);
        }
        if (w->kind == WORK_INBOUND)
            self->work[kept++] = *w;
        else
            batch_work_free (w);
    }
    self->nwork = kept;
    arena_reset (self->arena);  // no event is left
    for (int i = 0; i < self->source_count; i++)
        consumer_rollback (&self->sources[i].state);
}

void
batch_process (service_t *self)
{
    if (self->nwork == 0) {
        arena_reset (self->arena);  // events read and not taken (repeats, gaps)
        return;
    }
    service_rc_t rc = db_is_up (self->db) ? s_apply (self, 0, self->nwork) : SERVICE_RETRY;
    for (size_t i = 0; rc == SERVICE_FAIL && i < self->nwork; i++) {
        //  Some item is at fault: apply one per transaction to find it.
        service_rc_t one = s_apply (self, i, 1);
        if (one == SERVICE_RETRY) {
            //  Items before i are committed; keep only the rest.
            for (size_t j = 0; j < i; j++)
                batch_work_free (&self->work[j]);
            memmove (self->work, self->work + i, (self->nwork - i) * sizeof *self->work);
            self->nwork -= i;
            rc = SERVICE_RETRY;
        }
        else if (i == self->nwork - 1)
            rc = SERVICE_OK;
    }
    if (rc == SERVICE_RETRY) {
        s_unavailable (self);
        return;
    }
    for (size_t i = 0; i < self->nwork; i++)
        batch_work_free (&self->work[i]);
    self->nwork = 0;
    arena_reset (self->arena);
}


void
batch_read_inbound (service_t *self, int index)
{
    zmsg_t *msg = zmsg_recv (self->readers[index].sock);
    if (!msg)
        return;
    zframe_t *last = zmsg_last (msg);
    if (last && zframe_size (last) > (size_t) self->cfg.max_message_bytes) {
        batch_bad (self, self->readers[index].name, &msg, "message exceeds CRM_MAX_MESSAGE_BYTES");
        return;
    }
    work_t *w = batch_push (self, WORK_INBOUND);
    w->index = index;
    w->msg = msg;
}

/*  deadletter: the commands every service answers about its dead letters
    (proto/crm/v1/command.proto): ListDeadLetters, and RetryDeadLetter,
    which applies a stored message again through the handler that refused
    it, once the cause is fixed (a new version, a corrected staff file...).

    A retry is one item of a batch, as the message was when it came: the
    handler refusing it again leaves the dead letter open with the new
    reason (and one more retry); a statement failing (in the handler or in
    the batch's flush) rolls the batch back, isolates the retry as any
    failing item is, and records the failure on the dead letter in the
    isolated transaction (deadletter_isolated). Consumer offsets are not
    touched: the event's place in its source's sequence was passed when it
    was dead-lettered.
*/
#include "service_private.h"
#include "log.h"
#include "utf8.h"

#include <inttypes.h>

#define LIST_DEFAULT 50
#define LIST_MAX 1000

static service_rc_t
s_list (service_t *self, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListDeadLetters *req =
        crm__v1__list_dead_letters__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!req) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ListDeadLetters", NULL, 0);
        return SERVICE_REJECT;
    }
    char limit[16];
    snprintf (limit, sizeof limit, "%u",
              req->limit == 0         ? LIST_DEFAULT
              : req->limit > LIST_MAX ? LIST_MAX
                                      : req->limit);
    const char *params[] = {req->include_retried ? "true" : "false", limit};
    crm__v1__list_dead_letters__free_unpacked (req, NULL);
    PGresult *res = NULL;
    db_rc_t rc =
        db_exec (self->db, &res,
                 "SELECT id, (extract(epoch FROM received_at) * 1000)::bigint, source,"
                 " coalesce(sequence, 0), type, reason, coalesce(length(payload), 0),"
                 " message IS NOT NULL, retries,"
                 " coalesce((extract(epoch FROM retried_at) * 1000)::bigint, 0),"
                 " (SELECT count(*) FROM dead_letter WHERE retried_at IS NULL)"
                 " FROM dead_letter WHERE $1::boolean OR retried_at IS NULL ORDER BY id DESC LIMIT $2",
                 2, params, NULL, NULL);
    if (rc)
        return service_rc (rc);
    int n = PQntuples (res);
    Crm__V1__DeadLetter *items = calloc ((size_t) n + 1, sizeof *items);
    Crm__V1__DeadLetter **ptrs = calloc ((size_t) n + 1, sizeof *ptrs);
    if (!items || !ptrs) {
        free (items);
        free (ptrs);
        PQclear (res);
        return SERVICE_FAIL;
    }
    Crm__V1__DeadLetterList list = CRM__V1__DEAD_LETTER_LIST__INIT;
    for (int i = 0; i < n; i++) {
        Crm__V1__DeadLetter *d = &items[i];
        crm__v1__dead_letter__init (d);
        d->id = strtoull (PQgetvalue (res, i, 0), NULL, 10);
        d->received_ms = strtoll (PQgetvalue (res, i, 1), NULL, 10);
        d->source = PQgetvalue (res, i, 2);
        d->sequence = strtoull (PQgetvalue (res, i, 3), NULL, 10);
        d->type = PQgetvalue (res, i, 4);
        d->reason = PQgetvalue (res, i, 5);
        d->payload_bytes = (uint32_t) strtoul (PQgetvalue (res, i, 6), NULL, 10);
        d->retryable = *PQgetvalue (res, i, 7) == 't';
        d->retries = (uint32_t) strtoul (PQgetvalue (res, i, 8), NULL, 10);
        d->retried_ms = strtoll (PQgetvalue (res, i, 9), NULL, 10);
        ptrs[i] = d;
    }
    list.dead_letters = ptrs;
    list.n_dead_letters = (size_t) n;
    //  No row listed: none is open either.
    list.open = n > 0 ? strtoull (PQgetvalue (res, 0, 10), NULL, 10) : 0;
    service_reply_set (reply, &list.base);
    free (items);
    free (ptrs);
    PQclear (res);
    return SERVICE_OK;
}

//  --------------------------------------------------------------------------
//  RetryDeadLetter

typedef struct {
    uint64_t id;
    char source[64];
    char sequence[24];
    char type[96];
    bool retried;
    uint8_t *message;  // owned (PQunescapeBytea); NULL: none stored
    size_t message_len;
} stored_t;

//  Reads the row (locked for the transaction) into row. Returns DB_OK and
//  sets *found.
static db_rc_t
s_read (service_t *self, const char *id, stored_t *row, bool *found)
{
    PGresult *res = NULL;
    const char *params[] = {id};
    db_rc_t rc = db_exec (self->db, &res,
                          "SELECT source, coalesce(sequence::text, ''), type, retried_at IS NOT NULL, message"
                          " FROM dead_letter WHERE id = $1 FOR UPDATE",
                          1, params, NULL, NULL);
    if (rc)
        return rc;
    *found = PQntuples (res) == 1;
    if (*found) {
        snprintf (row->source, sizeof row->source, "%s", PQgetvalue (res, 0, 0));
        snprintf (row->sequence, sizeof row->sequence, "%s", PQgetvalue (res, 0, 1));
        snprintf (row->type, sizeof row->type, "%s", PQgetvalue (res, 0, 2));
        row->retried = *PQgetvalue (res, 0, 3) == 't';
        if (!PQgetisnull (res, 0, 4))
            row->message =
                PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 4), &row->message_len);
    }
    PQclear (res);
    return DB_OK;
}

//  Runs the stored message through its handler. Returns the handler's rc;
//  SERVICE_REJECT with reason when it cannot even be decoded.
static service_rc_t
s_apply (service_t *self, const stored_t *row, char *reason, size_t size, char *correlation, size_t csize)
{
    int reader = batch_find_reader (self, row->source);
    if (reader >= 0) {
        zframe_t *frame = zframe_new (row->message, row->message_len);
        zmsg_t *msg = frame ? zmsg_decode (frame) : NULL;
        zframe_destroy (&frame);
        if (!msg) {
            snprintf (reason, size, "the stored message does not decode");
            return SERVICE_REJECT;
        }
        service_rc_t rc = self->readers[reader].fn (self, msg, self->readers[reader].arg, reason, size);
        zmsg_destroy (&msg);
        return rc;
    }
    Crm__V1__Envelope *event = crm__v1__envelope__unpack (NULL, row->message_len, row->message);
    if (!event || strcmp (event->source, row->source) != 0) {
        crm__v1__envelope__free_unpacked (event, NULL);
        snprintf (reason, size, "the stored message is not an envelope from %s", row->source);
        return SERVICE_REJECT;
    }
    snprintf (correlation, csize, "%s", event->correlation_id);
    utf8_scrub (correlation);
    service_rc_t rc = batch_handle_event (self, event, reason, size);
    crm__v1__envelope__free_unpacked (event, NULL);
    return rc;
}

//  The retry was refused: the row stays open with reason, one retry more;
//  the reply says REJECTED.
static service_rc_t
s_refused (service_t *self, const char *id, const char *reason, service_reply_t *reply)
{
    char clean[512];
    snprintf (clean, sizeof clean, "%s", reason);
    utf8_scrub (clean);
    const char *params[] = {id, clean};
    db_rc_t rc = db_exec (self->db, NULL,
                          "UPDATE dead_letter SET retries = retries + 1, reason = $2"
                          " WHERE id = $1 AND retried_at IS NULL",
                          2, params, NULL, NULL);
    if (rc)
        return service_rc (rc);
    service_reply_error (reply, "REJECTED", clean, NULL, 0);
    return SERVICE_REJECT;
}

static service_rc_t
s_retry_row (service_t *self, const char *id, stored_t *row, service_reply_t *reply)
{
    bool found = false;
    db_rc_t drc = s_read (self, id, row, &found);
    if (drc)
        return service_rc (drc);
    const char *fields[] = {"id"};
    if (!found) {
        service_reply_error (reply, "NOT_FOUND", "no dead letter with this id", fields, 1);
        return SERVICE_REJECT;
    }
    if (row->retried) {
        service_reply_error (reply, "ALREADY_RETRIED", "a retry already applied this dead letter", fields, 1);
        return SERVICE_REJECT;
    }
    if (!row->message) {
        service_reply_error (reply, "NOT_RETRYABLE",
                             "nothing to apply again: the message was unreadable, lost, or recorded"
                             " before retries were possible",
                             fields, 1);
        return SERVICE_REJECT;
    }
    char reason[512] = "", correlation[128] = "";
    service_rc_t rc = s_apply (self, row, reason, sizeof reason, correlation, sizeof correlation);
    if (rc == SERVICE_REJECT) {
        log_warn ("dead letter retry refused", "dead_letter_id", id, "source", row->source, "sequence",
                  *row->sequence ? row->sequence : NULL, "type", *row->type ? row->type : NULL,
                  "correlation_id", *correlation ? correlation : NULL, "reason", reason, NULL);
        return s_refused (self, id, *reason ? reason : "rejected", reply);
    }
    if (rc != SERVICE_OK)
        return rc;  // the batch isolates it, then deadletter_isolated
    const char *params[] = {id};
    PGresult *res = NULL;
    drc = db_exec (
        self->db, &res,
        "UPDATE dead_letter SET retries = retries + 1, retried_at = now() WHERE id = $1 RETURNING retries", 1,
        params, NULL, NULL);
    if (drc)
        return service_rc (drc);
    Crm__V1__RetryDeadLetterReply result = CRM__V1__RETRY_DEAD_LETTER_REPLY__INIT;
    result.id = row->id;
    result.retries = (uint32_t) strtoul (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    service_reply_set (reply, &result.base);
    //  Counted back if the batch rolls back (s_apply in batch.c).
    self->dead_letters--;
    self->stats.retried++;
    //  "dead letter retried" is logged once this commits (deadletter_committed).
    log_debug ("dead letter applied again", "dead_letter_id", id, "source", row->source, "sequence",
               *row->sequence ? row->sequence : NULL, "type", *row->type ? row->type : NULL, "correlation_id",
               *correlation ? correlation : NULL, NULL);
    return SERVICE_OK;
}

static service_rc_t
s_retry (service_t *self, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__RetryDeadLetter *req =
        crm__v1__retry_dead_letter__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!req || req->id == 0) {
        service_reply_error (reply, "INVALID_ARGUMENT", "a RetryDeadLetter with the dead letter's id",
                             (const char *[]){"id"}, 1);
        crm__v1__retry_dead_letter__free_unpacked (req, NULL);
        return SERVICE_REJECT;
    }
    stored_t row = {.id = req->id};
    crm__v1__retry_dead_letter__free_unpacked (req, NULL);
    char id[24];
    snprintf (id, sizeof id, "%" PRIu64, row.id);
    service_rc_t rc = s_retry_row (self, id, &row, reply);
    PQfreemem (row.message);
    return rc;
}

void
deadletter_committed (service_t *self, const Crm__V1__Command *cmd)
{
    (void) self;
    Crm__V1__RetryDeadLetter *req =
        crm__v1__retry_dead_letter__unpack (NULL, cmd->payload.len, cmd->payload.data);
    char id[24];
    log_info ("dead letter retried", "dead_letter_id", log_u64 (id, req ? req->id : 0), "command_id",
              cmd->command_id, "sender", *cmd->sender ? cmd->sender : NULL, NULL);
    crm__v1__retry_dead_letter__free_unpacked (req, NULL);
}

service_rc_t
deadletter_isolated (service_t *self, const Crm__V1__Command *cmd, const char *reason, service_reply_t *reply)
{
    Crm__V1__RetryDeadLetter *req =
        crm__v1__retry_dead_letter__unpack (NULL, cmd->payload.len, cmd->payload.data);
    char id[24];
    snprintf (id, sizeof id, "%" PRIu64, req ? req->id : 0);
    crm__v1__retry_dead_letter__free_unpacked (req, NULL);
    log_warn ("dead letter retry failed", "dead_letter_id", id, "reason", reason, NULL);
    service_rc_t rc = s_refused (self, id, reason, reply);
    return rc == SERVICE_REJECT ? SERVICE_OK : rc;
}

void
deadletter_register (service_t *self)
{
    service_on_command (self, "ListDeadLetters", s_list, NULL, true);
    service_on_command (self, "RetryDeadLetter", s_retry, NULL, true);
}

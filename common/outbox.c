/*  outbox: see outbox.h. */
#include "outbox.h"
#include "clock.h"
#include "log.h"
#include "sqlarray.h"
#include "crm/v1/bus.pb-c.h"

#include <inttypes.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char type[64];
    char *correlation_id;
    char *causation_id;
    uint8_t *payload;
    size_t payload_len;
    uint8_t *envelope;       // encoded, once written
    size_t envelope_len;
    char topic[96];
} pending_t;

struct outbox_t {
    char source[16];
    uint64_t last_sequence;     // committed
    uint64_t written_sequence;  // written in the open transaction
    pending_t *items;
    size_t count;
    size_t cap;
    sqlarray_t *arrays[5];
    uint8_t random[256];
    size_t random_left;
};

#define REPLAY_MAX_COUNT 1000
#define REPLAY_MAX_BYTES (4 << 20)

outbox_t *
outbox_new (const char *source)
{
    outbox_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->source, sizeof self->source, "%s", source);
    for (int i = 0; i < 5; i++)
        if (!(self->arrays[i] = sqlarray_new ())) {
            outbox_destroy (&self);
            return NULL;
        }
    return self;
}

void
outbox_destroy (outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outbox_t *self = *self_p;
    outbox_discard (self);
    free (self->items);
    for (int i = 0; i < 5; i++)
        sqlarray_destroy (&self->arrays[i]);
    free (self);
    *self_p = NULL;
}

db_rc_t
outbox_load (outbox_t *self, db_t *db)
{
    PGresult *res;
    db_rc_t rc = db_exec (db, &res, "SELECT last_sequence FROM outbox_head", 0, NULL, NULL, NULL);
    if (rc)
        return rc;
    self->last_sequence = PQntuples (res) ? strtoull (PQgetvalue (res, 0, 0), NULL, 10) : 0;
    PQclear (res);
    return DB_OK;
}

int
outbox_add (outbox_t *self, const char *type, const char *correlation_id,
            const char *causation_id, const void *payload, size_t len)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        pending_t *items = realloc (self->items, cap * sizeof *items);
        if (!items)
            return -1;
        self->items = items;
        self->cap = cap;
    }
    pending_t *item = &self->items[self->count];
    memset (item, 0, sizeof *item);
    snprintf (item->type, sizeof item->type, "%s", type);
    item->correlation_id = strdup (correlation_id);
    item->causation_id = strdup (causation_id);
    item->payload = malloc (len ? len : 1);
    if (!item->correlation_id || !item->causation_id || !item->payload) {
        free (item->correlation_id);
        free (item->causation_id);
        free (item->payload);
        return -1;
    }
    memcpy (item->payload, payload, len);
    item->payload_len = len;
    self->count++;
    return 0;
}

size_t
outbox_pending (const outbox_t *self)
{
    return self->count;
}

//  A random (version 4) UUID, RFC 9562 section 5.4, in canonical form.
//  Random bytes come from the kernel 256 at a time: one system call per 16
//  ids instead of several per id.
static int
s_uuid (outbox_t *self, char out[37])
{
    if (self->random_left < 16) {
        if (getrandom (self->random, sizeof self->random, 0) != (ssize_t) sizeof self->random)
            return -1;
        self->random_left = sizeof self->random;
    }
    uint8_t *b = self->random + sizeof self->random - self->random_left;
    self->random_left -= 16;
    b[6] = (uint8_t) ((b[6] & 0x0F) | 0x40);
    b[8] = (uint8_t) ((b[8] & 0x3F) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = 0;
    return 0;
}

db_rc_t
outbox_write (outbox_t *self, db_t *db)
{
    if (self->count == 0)
        return DB_OK;
    char count[24];
    snprintf (count, sizeof count, "%zu", self->count);
    const char *p1[] = {count};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "UPDATE outbox_head SET last_sequence = last_sequence + $1"
                          " RETURNING last_sequence",
                          1, p1, NULL, NULL);
    if (rc)
        return rc;
    uint64_t last = strtoull (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    uint64_t first = last - self->count + 1;

    for (int i = 0; i < 5; i++)
        sqlarray_reset (self->arrays[i]);
    int64_t now = clock_now_ms ();
    for (size_t i = 0; i < self->count; i++) {
        pending_t *item = &self->items[i];
        char event_id[37];
        if (s_uuid (self, event_id))
            return DB_PERMANENT;
        Crm__V1__Envelope env = CRM__V1__ENVELOPE__INIT;
        env.event_id = event_id;
        env.source = self->source;
        env.sequence = first + i;
        env.type = item->type;
        env.time_ms = now;
        env.correlation_id = item->correlation_id;
        env.causation_id = item->causation_id;
        env.payload.data = item->payload;
        env.payload.len = item->payload_len;
        free (item->envelope);
        item->envelope_len = crm__v1__envelope__get_packed_size (&env);
        item->envelope = malloc (item->envelope_len ? item->envelope_len : 1);
        if (!item->envelope)
            return DB_PERMANENT;
        crm__v1__envelope__pack (&env, item->envelope);
        snprintf (item->topic, sizeof item->topic, "%s.%s", self->source, item->type);
        int err = sqlarray_i64 (self->arrays[0], (int64_t) env.sequence)
                | sqlarray_text (self->arrays[1], env.event_id)
                | sqlarray_text (self->arrays[2], item->type)
                | sqlarray_text (self->arrays[3], item->correlation_id)
                | sqlarray_bytea (self->arrays[4], item->envelope, item->envelope_len);
        if (err)
            return DB_PERMANENT;
    }
    char time_ms[24];
    snprintf (time_ms, sizeof time_ms, "%" PRId64, now);
    const char *p2[] = {sqlarray_str (self->arrays[0]), sqlarray_str (self->arrays[1]),
                        sqlarray_str (self->arrays[2]), sqlarray_str (self->arrays[3]),
                        sqlarray_str (self->arrays[4]), time_ms};
    rc = db_exec (db, NULL,
                  "INSERT INTO outbox (sequence, event_id, type, correlation_id, envelope, time_ms)"
                  " SELECT s, e, t, c, v, $6 FROM unnest($1::bigint[], $2::uuid[], $3::text[],"
                  " $4::text[], $5::bytea[]) AS u (s, e, t, c, v)",
                  6, p2, NULL, NULL);
    if (rc == DB_OK)
        self->written_sequence = last;
    return rc;
}

static void
s_clear (outbox_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free (self->items[i].correlation_id);
        free (self->items[i].causation_id);
        free (self->items[i].payload);
        free (self->items[i].envelope);
    }
    self->count = 0;
}

const char *
outbox_pending_type (const outbox_t *self, size_t index)
{
    return index < self->count ? self->items[index].type : NULL;
}

void
outbox_publish (outbox_t *self, zsock_t *pub)
{
    if (self->count == 0)
        return;
    for (size_t i = 0; pub && i < self->count; i++) {
        pending_t *item = &self->items[i];
        void *handle = zsock_resolve (pub);
        //  PUB never blocks: at its high-water mark it drops, and the
        //  subscriber recovers the gap from the outbox.
        zmq_send (handle, item->topic, strlen (item->topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send (handle, item->envelope, item->envelope_len, ZMQ_DONTWAIT);
    }
    self->last_sequence = self->written_sequence;
    s_clear (self);
}

void
outbox_discard (outbox_t *self)
{
    s_clear (self);
    self->written_sequence = self->last_sequence;
}

uint64_t
outbox_last_sequence (const outbox_t *self)
{
    return self->last_sequence;
}

void
outbox_heartbeat (outbox_t *self, zsock_t *pub)
{
    Crm__V1__Heartbeat hb = CRM__V1__HEARTBEAT__INIT;
    hb.source = self->source;
    hb.latest_sequence = self->last_sequence;
    hb.time_ms = clock_now_ms ();
    uint8_t buf[128];
    size_t len = crm__v1__heartbeat__pack (&hb, buf);
    char topic[48];
    snprintf (topic, sizeof topic, "%s.Heartbeat", self->source);
    void *handle = zsock_resolve (pub);
    zmq_send (handle, topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (handle, buf, len, ZMQ_DONTWAIT);
}

zframe_t *
outbox_replay (outbox_t *self, db_t *db, const void *request, size_t len)
{
    Crm__V1__ReplayReply reply = CRM__V1__REPLAY_REPLY__INIT;
    reply.latest_sequence = self->last_sequence;
    PGresult *rows = NULL;
    ProtobufCBinaryData *events = NULL;
    Crm__V1__ReplayRequest *req = crm__v1__replay_request__unpack (NULL, len, request);
    if (!req)
        reply.error = "malformed ReplayRequest";
    else if (!db_is_up (db))
        reply.error = "database unavailable";
    else {
        char from[24], max[16];
        uint32_t count = req->max_count == 0 || req->max_count > REPLAY_MAX_COUNT ? REPLAY_MAX_COUNT
                                                                                   : req->max_count;
        snprintf (from, sizeof from, "%" PRIu64, req->from_sequence);
        snprintf (max, sizeof max, "%u", count);
        const char *params[] = {from, max};
        //  The first row carries the oldest retained sequence, so that a
        //  subscriber asking for a pruned range learns how far it is lost.
        if (db_exec (db, &rows,
                     "SELECT envelope, (SELECT min(sequence) FROM outbox) FROM outbox"
                     " WHERE sequence >= $1::bigint ORDER BY sequence LIMIT $2::int",
                     2, params, NULL, NULL))
            reply.error = "database error";
        else {
            int n = PQntuples (rows);
            events = calloc ((size_t) n + 1, sizeof *events);
            size_t bytes = 0;
            for (int i = 0; events && i < n && bytes < REPLAY_MAX_BYTES; i++) {
                size_t elen;
                unsigned char *raw = PQunescapeBytea ((unsigned char *) PQgetvalue (rows, i, 0), &elen);
                if (!raw)
                    break;
                events[i].data = raw;
                events[i].len = elen;
                bytes += elen;
                reply.n_events++;
            }
            reply.events = events;
            if (n > 0)
                reply.first_sequence = strtoull (PQgetvalue (rows, 0, 1), NULL, 10);
        }
        //  The committed sequence may have moved since we last published.
        if (reply.n_events > 0) {
            Crm__V1__Envelope *last = crm__v1__envelope__unpack (
                NULL, events[reply.n_events - 1].len, events[reply.n_events - 1].data);
            if (last && last->sequence > reply.latest_sequence)
                reply.latest_sequence = last->sequence;
            reply.more = last && last->sequence < reply.latest_sequence
                      && (reply.n_events == count || reply.n_events < (size_t) PQntuples (rows));
            crm__v1__envelope__free_unpacked (last, NULL);
        }
    }
    zframe_t *frame = zframe_new (NULL, crm__v1__replay_reply__get_packed_size (&reply));
    if (frame)
        crm__v1__replay_reply__pack (&reply, zframe_data (frame));
    for (size_t i = 0; events && i < reply.n_events; i++)
        PQfreemem (events[i].data);
    free (events);
    PQclear (rows);
    crm__v1__replay_request__free_unpacked (req, NULL);
    return frame;
}

db_rc_t
outbox_prune (outbox_t *self, db_t *db, int retention_s)
{
    char cutoff[24];
    snprintf (cutoff, sizeof cutoff, "%" PRId64, clock_now_ms () - (int64_t) retention_s * 1000);
    const char *params[] = {cutoff};
    PGresult *res;
    db_rc_t rc = db_exec (db, &res,
                          "DELETE FROM outbox WHERE time_ms < $1::bigint"
                          " AND sequence < (SELECT last_sequence FROM outbox_head)",
                          1, params, NULL, NULL);
    if (rc == DB_OK) {
        if (atoi (PQcmdTuples (res)) > 0)
            log_info ("outbox pruned", "source", self->source, "deleted", PQcmdTuples (res), NULL);
        PQclear (res);
    }
    return rc;
}

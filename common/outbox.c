/*  outbox: see outbox.h. */
#include "outbox.h"
#include "clock.h"
#include "log.h"
#include "pgarray.h"
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
    uint8_t *envelope;  // encoded, once written
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
    pgarray_t *arrays[4];  // one segment's columns, by enum column_t
    uint8_t random[256];
    size_t random_left;
};

enum { EVENT_IDS, TYPES, CORRELATION_IDS, ENVELOPES, COLUMNS };
static const pgarray_type_t s_column_type[COLUMNS] = {PGARRAY_UUID, PGARRAY_TEXT, PGARRAY_TEXT,
                                                      PGARRAY_BYTEA};

#define REPLAY_MAX_COUNT 1000
#define REPLAY_MAX_BYTES (4 << 20)

outbox_t *
outbox_new (const char *source)
{
    outbox_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->source, sizeof self->source, "%s", source);
    for (int i = 0; i < COLUMNS; i++)
        if (!(self->arrays[i] = pgarray_new (s_column_type[i]))) {
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
    for (int i = 0; i < COLUMNS; i++)
        pgarray_destroy (&self->arrays[i]);
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
outbox_add (outbox_t *self, const char *type, const char *correlation_id, const char *causation_id,
            const void *payload, size_t len)
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

//  A random (version 4) UUID, RFC 9562 section 5.4: its 16 bytes in *bytes
//  (pointing into self->random) and its canonical form in out. Random bytes
//  come from the kernel 256 at a time: one system call per 16 ids instead of
//  several per id.
static int
s_uuid (outbox_t *self, char out[37], const uint8_t **bytes)
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
    *bytes = b;
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

    for (int i = 0; i < COLUMNS; i++)
        pgarray_reset (self->arrays[i]);
    int64_t now = clock_now_ms ();
    for (size_t i = 0; i < self->count; i++) {
        pending_t *item = &self->items[i];
        char event_id[37];
        const uint8_t *event_bytes;
        if (s_uuid (self, event_id, &event_bytes))
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
        int err = pgarray_uuid_bytes (self->arrays[EVENT_IDS], event_bytes)
                | pgarray_text (self->arrays[TYPES], item->type)
                | pgarray_text (self->arrays[CORRELATION_IDS], item->correlation_id)
                | pgarray_bytea (self->arrays[ENVELOPES], item->envelope, item->envelope_len);
        if (err)
            return DB_PERMANENT;
    }
    //  One row for the whole transaction, its arrays in binary (pgarray.h).
    char first_s[24], last_s[24], time_ms[24];
    snprintf (first_s, sizeof first_s, "%" PRIu64, first);
    snprintf (last_s, sizeof last_s, "%" PRIu64, last);
    snprintf (time_ms, sizeof time_ms, "%" PRId64, now);
    const char *p2[3 + COLUMNS] = {first_s, last_s, time_ms};
    int lengths[3 + COLUMNS] = {0};
    int formats[3 + COLUMNS] = {0};
    pgarray_params (self->arrays, COLUMNS, p2 + 3, lengths + 3, formats + 3);
    rc = db_exec (
        db, NULL,
        "INSERT INTO outbox_segment (first_sequence, last_sequence, time_ms, event_ids, types,"
        " correlation_ids, envelopes)"
        " VALUES ($1::bigint, $2::bigint, $3::bigint, $4::uuid[], $5::text[], $6::text[], $7::bytea[])",
        3 + COLUMNS, p2, lengths, formats);
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

//  An int8 column of a binary result (8 bytes, network order).
static uint64_t
s_int8 (PGresult *res, int row, int column)
{
    const uint8_t *p = (const uint8_t *) PQgetvalue (res, row, column);
    uint64_t v = 0;
    for (int i = 0; PQgetlength (res, row, column) == 8 && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

//  The segments holding events from_sequence (or the oldest retained, if
//  later) up to count events on, in order, each sliced to those events:
//  (sequence of its first element, envelopes, oldest retained sequence).
//  Segments do not overlap, so the last one needed is the first whose
//  last_sequence reaches lo + count - 1: both bounds are ranges of the
//  primary key.
static const char *const s_replay_sql =
    "WITH r AS (SELECT first_sequence AS oldest, greatest ($1::bigint, first_sequence) AS lo"
    "           FROM outbox_segment ORDER BY last_sequence LIMIT 1),"
    " b AS (SELECT oldest, lo, lo + $2::bigint AS hi,"
    "       coalesce ((SELECT min (last_sequence) FROM outbox_segment"
    "                  WHERE last_sequence >= lo + $2::bigint - 1), 9223372036854775807) AS stop"
    "       FROM r)"
    " SELECT greatest (s.first_sequence, b.lo),"
    "  s.envelopes[greatest (b.lo - s.first_sequence, 0)::int + 1"
    "              : greatest (least (b.hi, s.last_sequence + 1) - s.first_sequence, 0)::int],"
    "  b.oldest"
    " FROM b JOIN outbox_segment s ON s.last_sequence >= b.lo AND s.last_sequence <= b.stop"
    " ORDER BY s.last_sequence";

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
        uint32_t count =
            req->max_count == 0 || req->max_count > REPLAY_MAX_COUNT ? REPLAY_MAX_COUNT : req->max_count;
        snprintf (from, sizeof from, "%" PRIu64, req->from_sequence);
        snprintf (max, sizeof max, "%u", count);
        const char *params[] = {from, max};
        if (db_query_binary (db, &rows, s_replay_sql, 2, params, NULL, NULL)
            || !(events = calloc (count + 1, sizeof *events)))
            reply.error = "database error";
        else {
            //  Slices the segments into events, up to the caps; the
            //  envelopes point into rows, which outlives the reply.
            size_t bytes = 0, available = 0;
            uint64_t last = 0;
            for (int i = 0; i < PQntuples (rows); i++) {
                pgarray_iter_t it;
                int n = pgarray_iter_init (&it, PQgetvalue (rows, i, 1), (size_t) PQgetlength (rows, i, 1),
                                           PGARRAY_BYTEA);
                if (n < 0) {
                    reply.error = "malformed outbox segment";
                    reply.n_events = 0;
                    break;
                }
                available += (size_t) n;
                uint64_t sequence = s_int8 (rows, i, 0);
                const uint8_t *data;
                size_t elen;
                while (reply.n_events < count && bytes < REPLAY_MAX_BYTES
                       && pgarray_iter_next (&it, &data, &elen) == 1) {
                    events[reply.n_events].data = (uint8_t *) data;
                    events[reply.n_events].len = elen;
                    reply.n_events++;
                    bytes += elen;
                    last = sequence++;
                }
            }
            reply.events = events;
            //  The oldest retained sequence, so that a subscriber asking
            //  for a pruned range learns how far it is lost.
            if (PQntuples (rows) > 0)
                reply.first_sequence = s_int8 (rows, 0, 2);
            //  The committed sequence may have moved since we last
            //  published. "more" only when the caps stopped this reply
            //  (finding F1 in docs/benchmarks.md).
            if (reply.n_events > 0) {
                if (last > reply.latest_sequence)
                    reply.latest_sequence = last;
                reply.more =
                    last < reply.latest_sequence && (reply.n_events == count || reply.n_events < available);
            }
        }
    }
    zframe_t *frame = zframe_new (NULL, crm__v1__replay_reply__get_packed_size (&reply));
    if (frame)
        crm__v1__replay_reply__pack (&reply, zframe_data (frame));
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
    //  Whole segments only, and never the one holding the head: a
    //  subscriber must always learn where the retained range begins.
    db_rc_t rc = db_exec (db, &res,
                          "WITH d AS (DELETE FROM outbox_segment WHERE time_ms < $1::bigint"
                          "           AND last_sequence < (SELECT last_sequence FROM outbox_head)"
                          "           RETURNING last_sequence - first_sequence + 1 AS n)"
                          " SELECT count(*), coalesce (sum (n), 0) FROM d",
                          1, params, NULL, NULL);
    if (rc == DB_OK) {
        if (atoi (PQgetvalue (res, 0, 0)) > 0)
            log_info ("outbox pruned", "source", self->source, "segments", PQgetvalue (res, 0, 0), "events",
                      PQgetvalue (res, 0, 1), NULL);
        PQclear (res);
    }
    return rc;
}

db_rc_t
outbox_oldest (outbox_t *self, db_t *db, uint64_t *first)
{
    (void) self;
    PGresult *res;
    db_rc_t rc =
        db_exec (db, &res, "SELECT first_sequence FROM outbox_segment ORDER BY last_sequence LIMIT 1", 0,
                 NULL, NULL, NULL);
    if (rc == DB_OK) {
        *first = PQntuples (res) ? strtoull (PQgetvalue (res, 0, 0), NULL, 10) : 0;
        PQclear (res);
    }
    return rc;
}

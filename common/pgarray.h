/*  pgarray: builds and reads one-dimensional PostgreSQL arrays in the
    binary wire format, so that a batch of rows goes as ONE query parameter
    with format 1 (db_exec's lengths and formats arguments):
        INSERT ... SELECT * FROM unnest($1::bigint[], $2::bytea[])
    and a bytea[] column comes back without hex (db_query_binary).
    Unlike sqlarray's text literals, Postgres neither parses nor hex-decodes
    the elements: it copies them.

    Format: PostgreSQL src/backend/utils/adt/arrayfuncs.c, array_send and
    array_recv: int32 ndim (1, or 0 for an empty array), int32 flags (1 when
    an element is NULL), element type OID; per dimension int32 length and
    int32 lower bound (1); then per element int32 length (-1: NULL) and the
    element in its type's send format: int8send (int8.c, 8 bytes), textsend
    (varlena.c, the bytes, in the client encoding), byteasend (varlena.c,
    the bytes), uuid_send (uuid.c, 16 bytes). Integers in network order.
*/
#ifndef CRM_PGARRAY_H
#define CRM_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgarray_t pgarray_t;

//  Element types, by their OID (src/include/catalog/pg_type.dat).
typedef enum {
    PGARRAY_BYTEA = 17,
    PGARRAY_INT8 = 20,
    PGARRAY_TEXT = 25,
    PGARRAY_UUID = 2950,
} pgarray_type_t;

/*  Creates an empty array of elements of type. Returns NULL on
    out-of-memory; caller owns it. */
pgarray_t *pgarray_new (pgarray_type_t type);

/*  Frees it; nulls *self_p. */
void pgarray_destroy (pgarray_t **self_p);

/*  Empties it for reuse (keeps its memory). */
void pgarray_reset (pgarray_t *self);

/*  Appends an element; the function must match the array's type (an
    assert checks it). text NULL is SQL NULL. bytea takes len bytes (data
    may be NULL when len is 0). uuid takes the canonical form
    (8-4-4-4-12 hex digits, either case); uuid_bytes the 16 bytes in order.
    Return 0; -1 on out-of-memory, when the array would pass 1 GiB (the
    largest datum Postgres takes), or for a malformed uuid (nothing is
    appended then). */
int pgarray_i64 (pgarray_t *self, int64_t value);
int pgarray_text (pgarray_t *self, const char *value);
int pgarray_bytea (pgarray_t *self, const void *data, size_t len);
int pgarray_uuid (pgarray_t *self, const char *canonical);
int pgarray_uuid_bytes (pgarray_t *self, const uint8_t bytes[16]);

/*  The encoded array: pgarray_data (owned by self, valid until the next
    change) and its length in bytes (at most 1 GiB, so it fits the int of
    libpq's paramLengths). */
const char *pgarray_data (pgarray_t *self);
int pgarray_len (const pgarray_t *self);

/*  Number of elements. */
size_t pgarray_count (const pgarray_t *self);

/*  Fills the first n entries of a statement's values, lengths and formats
    (db_exec's arguments) with arrays[0..n-1], in binary (format 1). The
    values point into the arrays: valid until they change. */
void pgarray_params (pgarray_t *const *arrays, int n, const char **values, int *lengths, int *formats);

/*  Reads an array in the same format (a binary-format result column).
    The iterator points into data, which must outlive it. */
typedef struct {
    const uint8_t *pos;
    const uint8_t *end;
    size_t left;  // elements not yet read
} pgarray_iter_t;

/*  Opens data (len bytes) as an array of type with at most one dimension.
    Returns its number of elements; -1 when it is malformed, has more
    dimensions, or holds another element type. */
int pgarray_iter_init (pgarray_iter_t *it, const void *data, size_t len, pgarray_type_t type);

/*  The next element: returns 1 and sets *value (into the array's bytes;
    NULL for SQL NULL) and *len (bytes; 0 for NULL); 0 after the last; -1
    when the array is truncated. */
int pgarray_iter_next (pgarray_iter_t *it, const uint8_t **value, size_t *len);

#endif

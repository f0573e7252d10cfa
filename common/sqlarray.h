/*  sqlarray: builds a PostgreSQL array literal ("{a,b}") to pass as ONE
    query parameter, so a batch of rows goes in one statement:
        INSERT ... SELECT * FROM unnest($1::bigint[], $2::text[])
    Values are quoted and escaped; nothing is pasted into SQL text.
    Array literal syntax: PostgreSQL manual, section 8.15.2.
*/
#ifndef CRM_SQLARRAY_H
#define CRM_SQLARRAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct sqlarray_t sqlarray_t;

/*  Creates an empty array. Returns NULL on out-of-memory; caller owns it. */
sqlarray_t *sqlarray_new (void);

/*  Frees it; nulls *self_p. */
void sqlarray_destroy (sqlarray_t **self_p);

/*  Empties it for reuse (keeps its memory). */
void sqlarray_reset (sqlarray_t *self);

/*  Appends an element: text (NULL: SQL NULL), bytes as bytea (len bytes),
    or an integer. Return 0, or -1 on out-of-memory. */
int sqlarray_text (sqlarray_t *self, const char *value);
int sqlarray_bytea (sqlarray_t *self, const void *data, size_t len);
int sqlarray_i64 (sqlarray_t *self, int64_t value);

/*  The literal, NUL-terminated, owned by self, valid until the next change. */
const char *sqlarray_str (sqlarray_t *self);

/*  Number of elements. */
size_t sqlarray_count (const sqlarray_t *self);

#endif

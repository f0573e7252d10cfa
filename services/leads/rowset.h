/*  rowset: rows of named values built into one JSON array of objects
    ([{"id": 1, "name": "Анна"}, ...]), passed as ONE query parameter and
    read by json_to_recordset, so that a batch of rows goes in one
    statement with one parameter and one set-returning function, however
    many columns it has (a text array per column costs a function and an
    array parse each, and array parameters made Postgres plan the batch
    statements anew at every call). json-c builds and escapes the text;
    nothing is pasted into SQL text. Format: RFC 8259; json_to_recordset:
    PostgreSQL manual, section 9.16.
*/
#ifndef CRM_LEADS_ROWSET_H
#define CRM_LEADS_ROWSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct rowset_t rowset_t;

/*  Creates an empty set. NULL on out-of-memory; caller owns it. */
rowset_t *rowset_new (void);

/*  Frees it; nulls *self_p. */
void rowset_destroy (rowset_t **self_p);

/*  Empties it for reuse (keeps its memory). */
void rowset_reset (rowset_t *self);

/*  Starts the next row; the values that follow are its, until the next
    rowset_row. Returns 0, or -1 on out-of-memory. */
int rowset_row (rowset_t *self);

/*  Adds value under name (a JSON key, not escaped: the caller's constant)
    to the current row: text (UTF-8; NULL: JSON null) or an integer.
    Returns 0, or -1 on out-of-memory. */
int rowset_text (rowset_t *self, const char *name, const char *value);
int rowset_i64 (rowset_t *self, const char *name, int64_t value);

/*  The JSON text (json-c's), NUL-terminated, owned by self, valid until
    the next change; NULL when an append failed since the last reset or
    the text does not fit in memory. */
const char *rowset_str (rowset_t *self);

/*  Number of rows. */
size_t rowset_count (const rowset_t *self);

#endif

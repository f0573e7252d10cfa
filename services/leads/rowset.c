/*  rowset: see rowset.h. The JSON is json-c's: a value is escaped and
    written by the library, never by hand. */
#include "rowset.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>

struct rowset_t {
    json_object *rows;  // the array
    json_object *row;   // the current row, owned by rows
    bool failed;        // out of memory since the last reset: rowset_str says so
};

rowset_t *
rowset_new (void)
{
    rowset_t *self = calloc (1, sizeof *self);
    if (self && !(self->rows = json_object_new_array ())) {
        free (self);
        return NULL;
    }
    return self;
}

void
rowset_destroy (rowset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_object_put ((*self_p)->rows);
    free (*self_p);
    *self_p = NULL;
}

void
rowset_reset (rowset_t *self)
{
    //  Shrinking to 0 frees the rows and keeps the array's room.
    json_object_array_del_idx (self->rows, 0, json_object_array_length (self->rows));
    self->row = NULL;
    self->failed = false;
}

int
rowset_row (rowset_t *self)
{
    json_object *row = json_object_new_object ();
    if (!row || json_object_array_add (self->rows, row)) {
        json_object_put (row);
        self->row = NULL;
        self->failed = true;
        return -1;
    }
    self->row = row;
    return 0;
}

//  Adds value (NULL: JSON null; taken also on failure) under name.
static int
s_add (rowset_t *self, const char *name, json_object *value, bool wanted)
{
    //  The names are the callers' constants, each once per row.
    if (!self->row || (wanted && !value)
        || json_object_object_add_ex (self->row, name, value,
                                      JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)) {
        json_object_put (value);
        self->failed = true;
        return -1;
    }
    return 0;
}

int
rowset_text (rowset_t *self, const char *name, const char *value)
{
    return s_add (self, name, value ? json_object_new_string (value) : NULL, value != NULL);
}

int
rowset_i64 (rowset_t *self, const char *name, int64_t value)
{
    return s_add (self, name, json_object_new_int64 (value), true);
}

const char *
rowset_str (rowset_t *self)
{
    if (self->failed)
        return NULL;
    return json_object_to_json_string_ext (self->rows,
                                           JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

size_t
rowset_count (const rowset_t *self)
{
    return json_object_array_length (self->rows);
}

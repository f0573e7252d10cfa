/*  rowset: see rowset.h. */
#include "rowset.h"
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rowset_t {
    char *buf;  // "[{...}, {...}" while building; "]" added by rowset_str
    size_t len, cap;
    size_t count;
    bool empty_row;  // the current row has no value yet
};

rowset_t *
rowset_new (void)
{
    rowset_t *self = calloc (1, sizeof *self);
    if (self && !(self->buf = malloc (self->cap = 1024))) {
        free (self);
        return NULL;
    }
    if (self)
        rowset_reset (self);
    return self;
}

void
rowset_destroy (rowset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

void
rowset_reset (rowset_t *self)
{
    self->buf[0] = '[';
    self->buf[1] = 0;
    self->len = 1;
    self->count = 0;
}

//  Room for more bytes, the closing "}]" and the NUL.
static int
s_reserve (rowset_t *self, size_t more)
{
    if (self->len + more + 3 <= self->cap)
        return 0;
    size_t cap = self->cap * 2;
    while (cap < self->len + more + 3)
        cap *= 2;
    char *buf = realloc (self->buf, cap);
    if (!buf)
        return -1;
    self->buf = buf;
    self->cap = cap;
    return 0;
}

int
rowset_row (rowset_t *self)
{
    if (s_reserve (self, 4))
        return -1;
    if (self->count)
        self->buf[self->len++] = '}', self->buf[self->len++] = ',';
    self->buf[self->len++] = '{';
    self->buf[self->len] = 0;
    self->count++;
    self->empty_row = true;
    return 0;
}

//  Appends ["," ]"name": and leaves room for more bytes of value.
static int
s_key (rowset_t *self, const char *name, size_t more)
{
    size_t n = strlen (name);
    if (s_reserve (self, n + 4 + more))
        return -1;
    //  By hand, not printf: a batch has a dozen of these per row.
    if (!self->empty_row)
        self->buf[self->len++] = ',';
    self->buf[self->len++] = '"';
    memcpy (self->buf + self->len, name, n);
    self->len += n;
    self->buf[self->len++] = '"';
    self->buf[self->len++] = ':';
    self->empty_row = false;
    return 0;
}

int
rowset_text (rowset_t *self, const char *name, const char *value)
{
    if (!value) {
        if (s_key (self, name, 4))
            return -1;
        memcpy (self->buf + self->len, "null", 5);
        self->len += 4;
        return 0;
    }
    size_t more = 6 * strlen (value) + 3;  // escaped, a byte grows to at most 6
    if (s_key (self, name, more))
        return -1;
    self->buf[self->len++] = '"';
    self->len += log_json_escape (self->buf + self->len, more, value);
    self->buf[self->len++] = '"';
    self->buf[self->len] = 0;
    return 0;
}

int
rowset_i64 (rowset_t *self, const char *name, int64_t value)
{
    if (s_key (self, name, 24))
        return -1;
    char digits[24];
    size_t n = 0;
    uint64_t u = value < 0 ? 0 - (uint64_t) value : (uint64_t) value;
    do
        digits[n++] = (char) ('0' + u % 10);
    while ((u /= 10) > 0);
    if (value < 0)
        self->buf[self->len++] = '-';
    while (n > 0)
        self->buf[self->len++] = digits[--n];
    self->buf[self->len] = 0;
    return 0;
}

const char *
rowset_str (rowset_t *self)
{
    //  s_reserve always left room for "}]" and the NUL.
    size_t n = self->len;
    if (self->count)
        self->buf[n++] = '}';
    self->buf[n++] = ']';
    self->buf[n] = 0;
    return self->buf;
}

size_t
rowset_count (const rowset_t *self)
{
    return self->count;
}

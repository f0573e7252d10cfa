/*  sqlarray: see sqlarray.h. */
#include "sqlarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqlarray_t {
    char *buf;
    size_t len;
    size_t cap;
    size_t count;
};

sqlarray_t *
sqlarray_new (void)
{
    sqlarray_t *self = calloc (1, sizeof *self);
    if (self && !(self->buf = malloc (self->cap = 256))) {
        free (self);
        return NULL;
    }
    if (self)
        sqlarray_reset (self);
    return self;
}

void
sqlarray_destroy (sqlarray_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

void
sqlarray_reset (sqlarray_t *self)
{
    self->buf[0] = '{';
    self->buf[1] = 0;
    self->len = 1;
    self->count = 0;
}

static int
s_reserve (sqlarray_t *self, size_t more)
{
    if (self->len + more + 2 <= self->cap)
        return 0;
    size_t cap = self->cap * 2;
    while (cap < self->len + more + 2)
        cap *= 2;
    char *buf = realloc (self->buf, cap);
    if (!buf)
        return -1;
    self->buf = buf;
    self->cap = cap;
    return 0;
}

static void
s_separator (sqlarray_t *self)
{
    if (self->count++ > 0)
        self->buf[self->len++] = ',';
}

int
sqlarray_text (sqlarray_t *self, const char *value)
{
    size_t n = value ? strlen (value) : 0;
    if (s_reserve (self, 2 * n + 8))
        return -1;
    s_separator (self);
    if (!value) {
        memcpy (self->buf + self->len, "NULL", 4);
        self->len += 4;
        return 0;
    }
    self->buf[self->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (value[i] == '"' || value[i] == '\\')
            self->buf[self->len++] = '\\';
        self->buf[self->len++] = value[i];
    }
    self->buf[self->len++] = '"';
    return 0;
}

int
sqlarray_bytea (sqlarray_t *self, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (s_reserve (self, 2 * len + 8))
        return -1;
    s_separator (self);
    //  bytea hex format \x..., its backslash escaped for the array literal
    memcpy (self->buf + self->len, "\"\\\\x", 4);
    self->len += 4;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        self->buf[self->len++] = hex[p[i] >> 4];
        self->buf[self->len++] = hex[p[i] & 15];
    }
    self->buf[self->len++] = '"';
    return 0;
}

int
sqlarray_i64 (sqlarray_t *self, int64_t value)
{
    if (s_reserve (self, 24))
        return -1;
    s_separator (self);
    self->len += (size_t) snprintf (self->buf + self->len, 24, "%" PRId64, value);
    return 0;
}

const char *
sqlarray_str (sqlarray_t *self)
{
    self->buf[self->len] = '}';
    self->buf[self->len + 1] = 0;
    return self->buf;
}

size_t
sqlarray_count (const sqlarray_t *self)
{
    return self->count;
}

/*  pgarray: see pgarray.h. */
#include "pgarray.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

//  The header of a one-dimensional array: ndim, flags, element type,
//  length, lower bound. An empty array has ndim 0 and only the first three.
#define HEADER 20
#define EMPTY_HEADER 12
//  Postgres refuses larger datums (MaxAllocSize, src/include/utils/memutils.h).
#define MAX_BYTES ((size_t) 0x3fffffff)

struct pgarray_t {
    pgarray_type_t type;
    uint8_t *buf;  // HEADER bytes reserved, then the elements
    size_t len;
    size_t cap;
    size_t count;
    bool has_null;
};

static void
s_put32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

static uint32_t
s_get32 (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

pgarray_t *
pgarray_new (pgarray_type_t type)
{
    pgarray_t *self = calloc (1, sizeof *self);
    if (self && !(self->buf = malloc (self->cap = 256))) {
        free (self);
        return NULL;
    }
    if (self) {
        self->type = type;
        pgarray_reset (self);
    }
    return self;
}

void
pgarray_destroy (pgarray_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

void
pgarray_reset (pgarray_t *self)
{
    self->len = HEADER;
    self->count = 0;
    self->has_null = false;
}

//  Makes room for an element of n bytes and writes its length word;
//  returns where its bytes go, or NULL.
static uint8_t *
s_element (pgarray_t *self, size_t n)
{
    if (n > MAX_BYTES || self->len + 4 + n > MAX_BYTES)
        return NULL;
    if (self->len + 4 + n > self->cap) {
        size_t cap = self->cap * 2;
        while (cap < self->len + 4 + n)
            cap *= 2;
        uint8_t *buf = realloc (self->buf, cap);
        if (!buf)
            return NULL;
        self->buf = buf;
        self->cap = cap;
    }
    uint8_t *p = self->buf + self->len;
    s_put32 (p, (uint32_t) n);
    self->len += 4 + n;
    self->count++;
    return p + 4;
}

int
pgarray_i64 (pgarray_t *self, int64_t value)
{
    assert (self->type == PGARRAY_INT8);
    uint8_t *p = s_element (self, 8);
    if (!p)
        return -1;
    s_put32 (p, (uint32_t) ((uint64_t) value >> 32));
    s_put32 (p + 4, (uint32_t) value);
    return 0;
}

int
pgarray_text (pgarray_t *self, const char *value)
{
    assert (self->type == PGARRAY_TEXT);
    if (!value) {
        uint8_t *p = s_element (self, 0);
        if (!p)
            return -1;
        s_put32 (p - 4, UINT32_MAX);  // length -1: NULL
        self->has_null = true;
        return 0;
    }
    size_t n = strlen (value);
    uint8_t *p = s_element (self, n);
    if (!p)
        return -1;
    memcpy (p, value, n);
    return 0;
}

int
pgarray_bytea (pgarray_t *self, const void *data, size_t len)
{
    assert (self->type == PGARRAY_BYTEA);
    uint8_t *p = s_element (self, len);
    if (!p)
        return -1;
    if (len)
        memcpy (p, data, len);
    return 0;
}

int
pgarray_uuid_bytes (pgarray_t *self, const uint8_t bytes[16])
{
    assert (self->type == PGARRAY_UUID);
    uint8_t *p = s_element (self, 16);
    if (!p)
        return -1;
    memcpy (p, bytes, 16);
    return 0;
}

static int
s_hex (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
pgarray_uuid (pgarray_t *self, const char *canonical)
{
    uint8_t bytes[16];
    const char *s = canonical;
    for (int i = 0; i < 16; i++) {
        if ((i == 4 || i == 6 || i == 8 || i == 10) && *s++ != '-')
            return -1;
        int hi = s_hex (s[0]);
        int lo = hi < 0 ? -1 : s_hex (s[1]);
        if (lo < 0)
            return -1;
        bytes[i] = (uint8_t) (hi << 4 | lo);
        s += 2;
    }
    return *s ? -1 : pgarray_uuid_bytes (self, bytes);
}

const char *
pgarray_data (pgarray_t *self)
{
    uint8_t *h = self->count ? self->buf : self->buf + HEADER - EMPTY_HEADER;
    s_put32 (h, self->count ? 1 : 0);
    s_put32 (h + 4, self->has_null ? 1 : 0);
    s_put32 (h + 8, (uint32_t) self->type);
    if (self->count) {
        s_put32 (h + 12, (uint32_t) self->count);
        s_put32 (h + 16, 1);
    }
    return (const char *) h;
}

int
pgarray_len (const pgarray_t *self)
{
    return (int) (self->count ? self->len : self->len - (HEADER - EMPTY_HEADER));
}

size_t
pgarray_count (const pgarray_t *self)
{
    return self->count;
}

void
pgarray_params (pgarray_t *const *arrays, int n, const char **values, int *lengths, int *formats)
{
    for (int i = 0; i < n; i++) {
        values[i] = pgarray_data (arrays[i]);
        lengths[i] = pgarray_len (arrays[i]);
        formats[i] = 1;
    }
}

int
pgarray_iter_init (pgarray_iter_t *it, const void *data, size_t len, pgarray_type_t type)
{
    const uint8_t *p = data;
    it->pos = it->end = p;
    it->left = 0;
    if (len < EMPTY_HEADER)
        return -1;
    uint32_t ndim = s_get32 (p);
    if (ndim > 1 || s_get32 (p + 8) != (uint32_t) type || len < (ndim ? HEADER : EMPTY_HEADER))
        return -1;
    uint32_t count = ndim ? s_get32 (p + 12) : 0;
    if (count > (uint32_t) (len / 4))  // every element takes at least its length word
        return -1;
    it->pos = p + (ndim ? HEADER : EMPTY_HEADER);
    it->end = p + len;
    it->left = count;
    return (int) count;
}

int
pgarray_iter_next (pgarray_iter_t *it, const uint8_t **value, size_t *len)
{
    if (it->left == 0)
        return 0;
    if (it->end - it->pos < 4)
        return -1;
    uint32_t n = s_get32 (it->pos);
    it->pos += 4;
    if (n == UINT32_MAX) {
        *value = NULL;
        *len = 0;
    }
    else {
        if ((size_t) (it->end - it->pos) < n)
            return -1;
        *value = it->pos;
        *len = n;
        it->pos += n;
    }
    it->left--;
    return 1;
}

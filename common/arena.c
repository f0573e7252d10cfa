/*  arena: see arena.h. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

//  Under AddressSanitizer (the tests' build) memory handed back by a reset
//  is poisoned, so that a decoded event used after its batch is reported.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define s_poison(p, n) ASAN_POISON_MEMORY_REGION (p, n)
#define s_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION (p, n)
#else
#define s_poison(p, n) ((void) (p), (void) (n))
#define s_unpoison(p, n) ((void) (p), (void) (n))
#endif

typedef struct chunk_t {
    struct chunk_t *next;
    size_t size;  // usable bytes after the header
    size_t used;
    alignas (max_align_t) unsigned char data[];
} chunk_t;

struct arena_t {
    chunk_t *chunks;  // the newest first
    size_t chunk_bytes;
    size_t used;
    ProtobufCAllocator allocator;
};

static void *
s_alloc (void *data, size_t size)
{
    return arena_alloc (data, size);
}

static void
s_free (void *data, void *pointer)
{
    (void) data;
    (void) pointer;  // freed all at once by arena_reset
}

arena_t *
arena_new (size_t chunk_bytes)
{
    arena_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->chunk_bytes = chunk_bytes < 1024 ? 1024 : chunk_bytes;
    self->allocator = (ProtobufCAllocator){s_alloc, s_free, self};
    return self;
}

void
arena_destroy (arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    arena_t *self = *self_p;
    while (self->chunks) {
        chunk_t *next = self->chunks->next;
        free (self->chunks);
        self->chunks = next;
    }
    free (self);
    *self_p = NULL;
}

void *
arena_alloc (arena_t *self, size_t size)
{
    const size_t align = alignof (max_align_t);
    size = size ? (size + align - 1) / align * align : align;
    chunk_t *c = self->chunks;
    if (!c || c->size - c->used < size) {
        size_t bytes = size > self->chunk_bytes / 4 ? size : self->chunk_bytes;
        if (bytes > SIZE_MAX - sizeof *c)
            return NULL;
        chunk_t *fresh = malloc (sizeof *fresh + bytes);
        if (!fresh)
            return NULL;
        fresh->size = bytes;
        fresh->used = 0;
        s_poison (fresh->data, bytes);
        if (c && bytes != self->chunk_bytes) {
            //  A large request's own chunk goes behind the current one, so
            //  that what is left of the current one is still used.
            fresh->next = c->next;
            c->next = fresh;
        }
        else {
            fresh->next = c;
            self->chunks = c = fresh;
        }
        c = fresh;
    }
    void *p = c->data + c->used;
    s_unpoison (p, size);
    c->used += size;
    self->used += size;
    return p;
}

void
arena_reset (arena_t *self)
{
    if (self->used == 0)
        return;  // nothing handed out since the last reset (the loop's usual case)
    chunk_t *keep = NULL;
    while (self->chunks) {
        chunk_t *next = self->chunks->next;
        if (!keep && self->chunks->size == self->chunk_bytes)
            keep = self->chunks;
        else
            free (self->chunks);
        self->chunks = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
        s_poison (keep->data, keep->size);
    }
    self->chunks = keep;
    self->used = 0;
}

size_t
arena_used (const arena_t *self)
{
    return self->used;
}

ProtobufCAllocator *
arena_allocator (arena_t *self)
{
    return &self->allocator;
}

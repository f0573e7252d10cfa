/*  arena: a bump allocator for decoded messages that live and die together
    (the envelopes of one batch), so that decoding one costs no malloc and
    freeing it nothing. protobuf-c decodes into it through arena_allocator;
    arena_reset then drops everything at once.
*/
#ifndef CRM_ARENA_H
#define CRM_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena_t arena_t;

/*  Creates an arena that takes memory from malloc in chunks of chunk_bytes
    (larger requests get a chunk of their own). NULL on out-of-memory.
    Caller owns it. */
arena_t *arena_new (size_t chunk_bytes);

/*  Frees it and all its memory; nulls *self_p. */
void arena_destroy (arena_t **self_p);

/*  Returns size bytes aligned for any type, valid until the next
    arena_reset; NULL on out-of-memory. */
void *arena_alloc (arena_t *self, size_t size);

/*  Invalidates everything allocated so far; keeps one chunk for reuse. */
void arena_reset (arena_t *self);

/*  Bytes handed out since the last reset. */
size_t arena_used (const arena_t *self);

/*  A protobuf-c allocator over the arena (its free does nothing), owned by
    the arena: pass it to *__unpack and *__free_unpacked. */
ProtobufCAllocator *arena_allocator (arena_t *self);

#endif

/*  test_arena: the bump allocator batches decode events into
    (common/arena.c), alone and as protobuf-c's allocator.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "crm/v1/bus.pb-c.h"

static void
test_allocations_are_aligned_distinct_and_writable (void **state)
{
    (void) state;
    arena_t *arena = arena_new (1024);
    assert_non_null (arena);
    unsigned char *prev = NULL;
    for (size_t i = 1; i < 200; i++) {
        unsigned char *p = arena_alloc (arena, i);
        assert_non_null (p);
        assert_int_equal ((uintptr_t) p % alignof (max_align_t), 0);
        memset (p, (int) i, i);
        if (prev)
            assert_int_equal (prev[0], (unsigned char) (i - 1));  // not overwritten
        prev = p;
    }
    arena_destroy (&arena);
    assert_null (arena);
}

static void
test_large_request_gets_its_own_chunk_and_the_current_one_stays_in_use (void **state)
{
    (void) state;
    arena_t *arena = arena_new (4096);
    unsigned char *a = arena_alloc (arena, 16);
    unsigned char *big = arena_alloc (arena, 1 << 20);
    unsigned char *b = arena_alloc (arena, 16);
    assert_non_null (big);
    memset (big, 7, 1 << 20);
    assert_ptr_equal (b, a + 16);  // the same chunk as before the big one
    assert_true (arena_used (arena) >= (1 << 20) + 32);
    arena_destroy (&arena);
}

static void
test_reset_reuses_memory_and_counts_from_zero (void **state)
{
    (void) state;
    arena_t *arena = arena_new (4096);
    unsigned char *first = arena_alloc (arena, 100);
    for (int i = 0; i < 100; i++)
        assert_non_null (arena_alloc (arena, 1000));
    arena_reset (arena);
    assert_int_equal (arena_used (arena), 0);
    unsigned char *again = arena_alloc (arena, 100);
    assert_non_null (again);
    (void) first;
    arena_reset (arena);
    arena_reset (arena);  // twice, and on an empty arena, is harmless
    arena_destroy (&arena);
}

static void
test_envelope_decodes_into_the_arena_and_free_is_a_no_op (void **state)
{
    (void) state;
    Crm__V1__Envelope env = CRM__V1__ENVELOPE__INIT;
    env.event_id = "3f1c2e4a-0000-4000-8000-000000000001";
    env.source = "leads";
    env.sequence = 42;
    env.type = "LeadCreated";
    env.correlation_id = "lead:7";
    uint8_t payload[300];
    memset (payload, 'p', sizeof payload);
    env.payload.data = payload;
    env.payload.len = sizeof payload;
    uint8_t buf[512];
    size_t len = crm__v1__envelope__pack (&env, buf);

    arena_t *arena = arena_new (1024);
    Crm__V1__Envelope *got = crm__v1__envelope__unpack (arena_allocator (arena), len, buf);
    assert_non_null (got);
    assert_true (arena_used (arena) > sizeof payload);
    assert_int_equal (got->sequence, 42);
    assert_string_equal (got->type, "LeadCreated");
    assert_string_equal (got->correlation_id, "lead:7");
    assert_memory_equal (got->payload.data, payload, sizeof payload);
    crm__v1__envelope__free_unpacked (got, arena_allocator (arena));
    assert_string_equal (got->source, "leads");  // still there until the reset
    arena_reset (arena);
    arena_destroy (&arena);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_allocations_are_aligned_distinct_and_writable),
        cmocka_unit_test (test_large_request_gets_its_own_chunk_and_the_current_one_stays_in_use),
        cmocka_unit_test (test_reset_reuses_memory_and_counts_from_zero),
        cmocka_unit_test (test_envelope_decodes_into_the_arena_and_free_is_a_no_op),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

/*  test_pgarray: PostgreSQL arrays in the binary wire format
    (common/pgarray.c). Expected bytes follow array_send / array_recv in
    PostgreSQL src/backend/utils/adt/arrayfuncs.c: int32 ndim, int32 flags
    (has NULLs), element type OID, per dimension int32 length and lower
    bound, then per element int32 length (-1 for NULL) and its send format
    (int8send: 8 bytes; textsend / byteasend: the bytes; uuid_send: 16
    bytes), all in network byte order. The round trip through a real server
    is in tests/integration/test_outbox.sh.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pgarray.h"

//  Asserts that array encodes exactly the n bytes of want.
static void
s_assert_bytes (pgarray_t *array, const uint8_t *want, size_t n)
{
    assert_int_equal (pgarray_len (array), n);
    assert_memory_equal (pgarray_data (array), want, n);
}

// ---------------------------------------------------------------- building

static void
test_empty_array_has_no_dimension (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_INT8);
    assert_non_null (array);
    const uint8_t want[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20};
    s_assert_bytes (array, want, sizeof want);
    assert_int_equal (pgarray_count (array), 0);
    pgarray_destroy (&array);
    assert_null (array);
    pgarray_destroy (&array);  // tolerates NULL
}

static void
test_int8_elements_are_big_endian (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_INT8);
    assert_int_equal (pgarray_i64 (array, 1), 0);
    assert_int_equal (pgarray_i64 (array, -2), 0);
    assert_int_equal (pgarray_i64 (array, INT64_MIN), 0);
    assert_int_equal (pgarray_i64 (array, 0x0102030405060708), 0);
    const uint8_t want[] = {
        0, 0, 0, 1, 0,    0,    0,    0,    0,    0,    0,    20,
        0, 0, 0, 4, 0,    0,    0,    1,                             // ndim 1, no NULL, int8, 4 from 1
        0, 0, 0, 8, 0,    0,    0,    0,    0,    0,    0,    1,     // 1
        0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,  // -2
        0, 0, 0, 8, 0x80, 0,    0,    0,    0,    0,    0,    0,     // INT64_MIN
        0, 0, 0, 8, 1,    2,    3,    4,    5,    6,    7,    8,
    };
    s_assert_bytes (array, want, sizeof want);
    assert_int_equal (pgarray_count (array), 4);
    pgarray_destroy (&array);
}

static void
test_text_null_sets_the_flag_and_length_minus_one (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_TEXT);
    assert_int_equal (pgarray_text (array, "ab"), 0);
    assert_int_equal (pgarray_text (array, NULL), 0);
    assert_int_equal (pgarray_text (array, ""), 0);
    assert_int_equal (pgarray_text (array, "\"{,}\\ é"), 0);  // nothing to escape in binary
    const uint8_t want[] = {
        0, 0, 0, 1, 0, 0, 0,   1,   0,   0,   0,    25,   0,    0,    0, 4,
        0, 0, 0, 1, 0, 0, 0,   2,   'a', 'b', 0xff, 0xff, 0xff, 0xff, 0, 0,
        0, 0, 0, 0, 0, 8, '"', '{', ',', '}', '\\', ' ',  0xc3, 0xa9,
    };
    s_assert_bytes (array, want, sizeof want);
    pgarray_destroy (&array);
}

static void
test_bytea_is_raw_bytes (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_BYTEA);
    const uint8_t blob[] = {0, 0x5c, 0xff, 'x'};
    assert_int_equal (pgarray_bytea (array, blob, sizeof blob), 0);
    assert_int_equal (pgarray_bytea (array, NULL, 0), 0);
    const uint8_t want[] = {
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0,    0,    17,  0, 0, 0, 2,
        0, 0, 0, 1, 0, 0, 0, 4, 0, 0x5c, 0xff, 'x', 0, 0, 0, 0,
    };
    s_assert_bytes (array, want, sizeof want);
    pgarray_destroy (&array);
}

static void
test_uuid_from_canonical_form_and_bytes (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_UUID);
    assert_int_equal (pgarray_uuid (array, "0123abcd-EF01-4a5b-8c6d-0e1f20304050"), 0);
    const uint8_t raw[16] = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
                             0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
    assert_int_equal (pgarray_uuid_bytes (array, raw), 0);
    const uint8_t want[] = {
        0,    0,    0,    1,    0,    0,    0,    0,    0,    0,    0x0b, 0x86, 0,    0,
        0,    2,    0,    0,    0,    1,  // 2950 = 0x0b86
        0,    0,    0,    16,   0x01, 0x23, 0xab, 0xcd, 0xef, 0x01, 0x4a, 0x5b, 0x8c, 0x6d,
        0x0e, 0x1f, 0x20, 0x30, 0x40, 0x50, 0,    0,    0,    16,   0xf0, 0xe1, 0xd2, 0xc3,
        0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
    };
    s_assert_bytes (array, want, sizeof want);
    pgarray_destroy (&array);
}

static void
test_malformed_uuid_appends_nothing (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_UUID);
    const char *bad[] = {
        "",
        "0123abcd-ef01-4a5b-8c6d-0e1f2030405",    // short
        "0123abcd-ef01-4a5b-8c6d-0e1f203040501",  // long
        "0123abcdef014a5b8c6d0e1f20304050",       // no hyphens
        "0123abcd-ef01-4a5b-8c6d_0e1f20304050",   // wrong separator
        "0123abcg-ef01-4a5b-8c6d-0e1f20304050",   // not hex
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (pgarray_uuid (array, bad[i]), -1);
    assert_int_equal (pgarray_count (array), 0);
    assert_int_equal (pgarray_len (array), 12);
    pgarray_destroy (&array);
}

static void
test_reset_empties_and_clears_the_null_flag (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_TEXT);
    for (int i = 0; i < 1000; i++)  // past the first buffer
        assert_int_equal (pgarray_text (array, i % 2 ? NULL : "some text to grow the buffer"), 0);
    assert_int_equal (pgarray_count (array), 1000);
    pgarray_reset (array);
    assert_int_equal (pgarray_text (array, "z"), 0);
    const uint8_t want[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 'z'};
    s_assert_bytes (array, want, sizeof want);
    pgarray_destroy (&array);
}

static void
test_large_element_grows_at_once (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_BYTEA);
    size_t n = 100000;
    uint8_t *blob = malloc (n);
    assert_non_null (blob);
    memset (blob, 0xab, n);
    assert_int_equal (pgarray_bytea (array, blob, n), 0);
    assert_int_equal (pgarray_len (array), 20 + 4 + n);
    const uint8_t *data = (const uint8_t *) pgarray_data (array);
    assert_memory_equal (data + 24, blob, n);
    assert_int_equal (data[22], (n >> 8) & 0xff);
    free (blob);
    pgarray_destroy (&array);
}

// ---------------------------------------------------------------- reading

static void
test_iter_reads_back_what_was_built (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_TEXT);
    pgarray_text (array, "one");
    pgarray_text (array, NULL);
    pgarray_text (array, "");
    pgarray_iter_t it;
    assert_int_equal (
        pgarray_iter_init (&it, pgarray_data (array), (size_t) pgarray_len (array), PGARRAY_TEXT), 3);
    const uint8_t *value;
    size_t len;
    assert_int_equal (pgarray_iter_next (&it, &value, &len), 1);
    assert_int_equal (len, 3);
    assert_memory_equal (value, "one", 3);
    assert_int_equal (pgarray_iter_next (&it, &value, &len), 1);
    assert_null (value);
    assert_int_equal (pgarray_iter_next (&it, &value, &len), 1);
    assert_non_null (value);
    assert_int_equal (len, 0);
    assert_int_equal (pgarray_iter_next (&it, &value, &len), 0);
    pgarray_destroy (&array);
}

static void
test_iter_reads_an_empty_array (void **state)
{
    (void) state;
    pgarray_t *array = pgarray_new (PGARRAY_BYTEA);
    pgarray_iter_t it;
    assert_int_equal (
        pgarray_iter_init (&it, pgarray_data (array), (size_t) pgarray_len (array), PGARRAY_BYTEA), 0);
    const uint8_t *value;
    size_t len;
    assert_int_equal (pgarray_iter_next (&it, &value, &len), 0);
    pgarray_destroy (&array);
}

static void
test_iter_refuses_malformed_arrays (void **state)
{
    (void) state;
    pgarray_iter_t it;
    const uint8_t two_dims[] = {0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0,
                                0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,  0, 1};
    assert_int_equal (pgarray_iter_init (&it, two_dims, sizeof two_dims, PGARRAY_BYTEA), -1);
    const uint8_t int8s[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 1,
                             0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0,  0, 0, 0, 1};
    assert_int_equal (pgarray_iter_init (&it, int8s, sizeof int8s, PGARRAY_BYTEA), -1);  // other type
    assert_int_equal (pgarray_iter_init (&it, int8s, 8, PGARRAY_INT8), -1);              // short header
    assert_int_equal (pgarray_iter_init (&it, int8s, 16, PGARRAY_INT8), -1);             // no dimension
    const uint8_t too_many[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 17, 0x7f, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal (pgarray_iter_init (&it, too_many, sizeof too_many, PGARRAY_BYTEA), -1);
    //  An element longer than what is left.
    assert_int_equal (pgarray_iter_init (&it, int8s, sizeof int8s - 1, PGARRAY_INT8), 1);
    const uint8_t *value;
    size_t len;
    assert_int_equal (pgarray_iter_next (&it, &value, &len), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_empty_array_has_no_dimension),
        cmocka_unit_test (test_int8_elements_are_big_endian),
        cmocka_unit_test (test_text_null_sets_the_flag_and_length_minus_one),
        cmocka_unit_test (test_bytea_is_raw_bytes),
        cmocka_unit_test (test_uuid_from_canonical_form_and_bytes),
        cmocka_unit_test (test_malformed_uuid_appends_nothing),
        cmocka_unit_test (test_reset_empties_and_clears_the_null_flag),
        cmocka_unit_test (test_large_element_grows_at_once),
        cmocka_unit_test (test_iter_reads_back_what_was_built),
        cmocka_unit_test (test_iter_reads_an_empty_array),
        cmocka_unit_test (test_iter_refuses_malformed_arrays),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

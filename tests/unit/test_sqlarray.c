/*  test_sqlarray: PostgreSQL array literals built for one query parameter
    (common/sqlarray.c). Expected strings follow the manual, section 8.15.6
    "Array Input and Output Syntax": elements in double quotes with " and \
    backslash-escaped, NULL unquoted for SQL NULL.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlarray.h"

static int
s_setup (void **state)
{
    sqlarray_t *array = sqlarray_new ();
    if (!array)
        return -1;
    *state = array;
    return 0;
}

static int
s_teardown (void **state)
{
    sqlarray_t *array = *state;
    sqlarray_destroy (&array);
    assert_null (array);
    return 0;
}

// ---------------------------------------------------------------- lifecycle

static void
test_new_array_is_empty_braces (void **state)
{
    sqlarray_t *array = *state;
    assert_string_equal (sqlarray_str (array), "{}");
    assert_int_equal (sqlarray_count (array), 0);
}

static void
test_str_twice_gives_the_same_literal (void **state)
{
    //  str writes the closing brace past the end without moving it: asking
    //  twice, or appending after asking, must not leave a stray '}'.
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_i64 (array, 1), 0);
    assert_string_equal (sqlarray_str (array), "{1}");
    assert_string_equal (sqlarray_str (array), "{1}");
    assert_int_equal (sqlarray_i64 (array, 2), 0);
    assert_string_equal (sqlarray_str (array), "{1,2}");
}

static void
test_destroy_tolerates_null (void **state)
{
    (void) state;
    sqlarray_t *none = NULL;
    sqlarray_destroy (&none);
    sqlarray_destroy (NULL);
    assert_null (none);
}

static void
test_reset_empties_for_reuse (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, "a"), 0);
    assert_int_equal (sqlarray_text (array, "b"), 0);
    sqlarray_reset (array);
    assert_string_equal (sqlarray_str (array), "{}");
    assert_int_equal (sqlarray_count (array), 0);
    //  No leading comma: the separator state is reset too.
    assert_int_equal (sqlarray_text (array, "c"), 0);
    assert_string_equal (sqlarray_str (array), "{\"c\"}");
    assert_int_equal (sqlarray_count (array), 1);
}

// ---------------------------------------------------------------- text

static void
test_text_is_quoted_and_comma_separated (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, "alpha"), 0);
    assert_int_equal (sqlarray_text (array, "beta"), 0);
    assert_string_equal (sqlarray_str (array), "{\"alpha\",\"beta\"}");
    assert_int_equal (sqlarray_count (array), 2);
}

static void
test_text_escapes_quotes_and_backslashes (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, "say \"hi\""), 0);
    assert_int_equal (sqlarray_text (array, "C:\\dir\\"), 0);  // trailing backslash must not eat the quote
    assert_string_equal (sqlarray_str (array), "{\"say \\\"hi\\\"\",\"C:\\\\dir\\\\\"}");
}

static void
test_text_keeps_commas_braces_and_spaces_inside_quotes (void **state)
{
    //  Inside double quotes these are plain characters; unquoted they would
    //  split or end the array, and PostgreSQL would trim the spaces.
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, "a,b"), 0);
    assert_int_equal (sqlarray_text (array, "{x}"), 0);
    assert_int_equal (sqlarray_text (array, "  padded  "), 0);
    assert_string_equal (sqlarray_str (array), "{\"a,b\",\"{x}\",\"  padded  \"}");
}

static void
test_text_passes_utf8_through (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, "Иван Петров"), 0);
    assert_string_equal (sqlarray_str (array), "{\"Иван Петров\"}");
}

static void
test_text_empty_string_differs_from_null (void **state)
{
    //  '' and NULL are different values in SQL: "" versus bare NULL.
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, ""), 0);
    assert_int_equal (sqlarray_text (array, NULL), 0);
    assert_string_equal (sqlarray_str (array), "{\"\",NULL}");
    assert_int_equal (sqlarray_count (array), 2);
}

static void
test_text_word_null_is_a_string_not_sql_null (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, "NULL"), 0);
    assert_string_equal (sqlarray_str (array), "{\"NULL\"}");
}

static void
test_text_null_alone (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_text (array, NULL), 0);
    assert_string_equal (sqlarray_str (array), "{NULL}");
}

// ---------------------------------------------------------------- bytea

static void
test_bytea_is_hex_with_escaped_backslash (void **state)
{
    //  bytea's hex input is \x00ff; in an array literal its backslash must be
    //  doubled or the array parser would drop it.
    sqlarray_t *array = *state;
    const unsigned char bytes[] = {0x00, 0xff};
    assert_int_equal (sqlarray_bytea (array, bytes, sizeof bytes), 0);
    assert_string_equal (sqlarray_str (array), "{\"\\\\x00ff\"}");
}

static void
test_bytea_covers_every_nibble (void **state)
{
    sqlarray_t *array = *state;
    const unsigned char bytes[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x7f, 0x80};
    assert_int_equal (sqlarray_bytea (array, bytes, sizeof bytes), 0);
    assert_string_equal (sqlarray_str (array), "{\"\\\\x0123456789abcdef7f80\"}");
}

static void
test_bytea_empty_is_empty_hex (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_bytea (array, "", 0), 0);
    assert_int_equal (sqlarray_bytea (array, "\x01", 1), 0);
    assert_string_equal (sqlarray_str (array), "{\"\\\\x\",\"\\\\x01\"}");
    assert_int_equal (sqlarray_count (array), 2);
}

// ---------------------------------------------------------------- i64

static void
test_i64_is_bare_decimal (void **state)
{
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_i64 (array, 0), 0);
    assert_int_equal (sqlarray_i64 (array, 42), 0);
    assert_int_equal (sqlarray_i64 (array, -7), 0);
    assert_string_equal (sqlarray_str (array), "{0,42,-7}");
    assert_int_equal (sqlarray_count (array), 3);
}

static void
test_i64_extremes_are_exact (void **state)
{
    //  INT64_MIN is the longest decimal (20 characters): it must fit the
    //  space reserved for one integer.
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_i64 (array, INT64_MIN), 0);
    assert_int_equal (sqlarray_i64 (array, INT64_MAX), 0);
    assert_string_equal (sqlarray_str (array), "{-9223372036854775808,9223372036854775807}");
}

static void
test_i64_min_repeated_across_growth (void **state)
{
    //  Many longest integers in a row, crossing several reallocations: each
    //  must be whole (snprintf's limit never cuts one).
    sqlarray_t *array = *state;
    const char *one = "-9223372036854775808";
    size_t n = 100;
    for (size_t i = 0; i < n; i++)
        assert_int_equal (sqlarray_i64 (array, INT64_MIN), 0);
    const char *s = sqlarray_str (array);
    assert_int_equal (strlen (s), 2 + n * strlen (one) + (n - 1));
    assert_int_equal (s[0], '{');
    const char *p = s + 1;
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal (p, one, strlen (one));
        p += strlen (one);
        assert_int_equal (*p, i + 1 < n ? ',' : '}');
        p++;
    }
    assert_int_equal (*p, 0);
}

// ---------------------------------------------------------------- mixed and growth

static void
test_mixed_kinds_in_one_array (void **state)
{
    //  The builder does not enforce one element type; callers keep one array
    //  per column, but the separators must still be right.
    sqlarray_t *array = *state;
    assert_int_equal (sqlarray_i64 (array, 1), 0);
    assert_int_equal (sqlarray_text (array, NULL), 0);
    assert_int_equal (sqlarray_bytea (array, "\xab", 1), 0);
    assert_int_equal (sqlarray_text (array, "x"), 0);
    assert_string_equal (sqlarray_str (array), "{1,NULL,\"\\\\xab\",\"x\"}");
    assert_int_equal (sqlarray_count (array), 4);
}

static void
test_many_elements_grow_past_initial_buffer (void **state)
{
    //  Thousands of elements, each needing escapes: the buffer starts at a
    //  few hundred bytes and must grow without losing or cutting anything.
    sqlarray_t *array = *state;
    size_t n = 5000;
    char value[32];
    for (size_t i = 0; i < n; i++) {
        snprintf (value, sizeof value, "v%zu\"\\", i);
        assert_int_equal (sqlarray_text (array, value), 0);
    }
    assert_int_equal (sqlarray_count (array), n);

    //  Rebuild the expected literal independently and compare.
    size_t cap = n * 40 + 3, len = 0;
    char *expected = malloc (cap);
    assert_non_null (expected);
    expected[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t) snprintf (expected + len, cap - len, "%s\"v%zu\\\"\\\\\"", i ? "," : "", i);
    snprintf (expected + len, cap - len, "}");
    assert_string_equal (sqlarray_str (array), expected);
    free (expected);
}

static void
test_one_huge_element_grows_at_once (void **state)
{
    //  An element bigger than twice the buffer: growth must loop until it
    //  fits, not just double once. All backslashes: the worst case, 2x.
    sqlarray_t *array = *state;
    size_t n = 10000;
    char *value = malloc (n + 1);
    assert_non_null (value);
    memset (value, '\\', n);
    value[n] = 0;
    assert_int_equal (sqlarray_text (array, value), 0);
    const char *s = sqlarray_str (array);
    assert_int_equal (strlen (s), 2 + 2 + 2 * n);
    assert_memory_equal (s, "{\"\\\\", 4);
    assert_string_equal (s + 2 + 2 * n, "\"}");
    free (value);
}

static void
test_huge_bytea_grows_at_once (void **state)
{
    sqlarray_t *array = *state;
    size_t n = 4096;
    unsigned char *bytes = calloc (n, 1);
    assert_non_null (bytes);
    bytes[n - 1] = 0x5a;
    assert_int_equal (sqlarray_bytea (array, bytes, n), 0);
    const char *s = sqlarray_str (array);
    assert_int_equal (strlen (s), 2 + 4 + 2 * n + 1);
    assert_string_equal (s + strlen (s) - 6, "005a\"}");
    free (bytes);
}

static void
test_reset_after_growth_reuses_the_buffer (void **state)
{
    //  Reset keeps the grown memory; a small array after a big one must
    //  still read back exactly.
    sqlarray_t *array = *state;
    for (int i = 0; i < 1000; i++)
        assert_int_equal (sqlarray_i64 (array, i), 0);
    sqlarray_reset (array);
    assert_int_equal (sqlarray_text (array, "z"), 0);
    assert_string_equal (sqlarray_str (array), "{\"z\"}");
}

int
main (void)
{
#define T(name) cmocka_unit_test_setup_teardown (name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T (test_new_array_is_empty_braces),
        T (test_str_twice_gives_the_same_literal),
        T (test_destroy_tolerates_null),
        T (test_reset_empties_for_reuse),
        T (test_text_is_quoted_and_comma_separated),
        T (test_text_escapes_quotes_and_backslashes),
        T (test_text_keeps_commas_braces_and_spaces_inside_quotes),
        T (test_text_passes_utf8_through),
        T (test_text_empty_string_differs_from_null),
        T (test_text_word_null_is_a_string_not_sql_null),
        T (test_text_null_alone),
        T (test_bytea_is_hex_with_escaped_backslash),
        T (test_bytea_covers_every_nibble),
        T (test_bytea_empty_is_empty_hex),
        T (test_i64_is_bare_decimal),
        T (test_i64_extremes_are_exact),
        T (test_i64_min_repeated_across_growth),
        T (test_mixed_kinds_in_one_array),
        T (test_many_elements_grow_past_initial_buffer),
        T (test_one_huge_element_grows_at_once),
        T (test_huge_bytea_grows_at_once),
        T (test_reset_after_growth_reuses_the_buffer),
    };
#undef T
    return cmocka_run_group_tests (tests, NULL, NULL);
}

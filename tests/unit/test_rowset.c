// uses: services/leads/rowset.c
/*  test_rowset: the JSON row sets the leads service passes to
    json_to_recordset (services/leads/rowset.c): the text, its escapes,
    integers at their limits, NULLs, and reuse after a reset.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "leads/rowset.h"

static void
test_empty_set_is_an_empty_array (void **state)
{
    (void) state;
    rowset_t *r = rowset_new ();
    assert_non_null (r);
    assert_string_equal (rowset_str (r), "[]");
    assert_int_equal (rowset_count (r), 0);
    rowset_destroy (&r);
    assert_null (r);
}

static void
test_rows_of_text_and_integers (void **state)
{
    (void) state;
    rowset_t *r = rowset_new ();
    assert_int_equal (rowset_row (r), 0);
    assert_int_equal (rowset_i64 (r, "id", 42), 0);
    assert_int_equal (rowset_text (r, "name", "Анна"), 0);
    assert_int_equal (rowset_row (r), 0);
    assert_int_equal (rowset_i64 (r, "id", INT64_MIN), 0);
    assert_int_equal (rowset_i64 (r, "at", INT64_MAX), 0);
    assert_int_equal (rowset_i64 (r, "zero", 0), 0);
    assert_int_equal (rowset_text (r, "name", NULL), 0);
    assert_string_equal (rowset_str (r), "[{\"id\":42,\"name\":\"Анна\"},"
                                         "{\"id\":-9223372036854775808,\"at\":9223372036854775807,"
                                         "\"zero\":0,\"name\":null}]");
    assert_int_equal (rowset_count (r), 2);
    //  The text stays valid to add to: rowset_str closes it only in its copy.
    assert_int_equal (rowset_row (r), 0);
    assert_int_equal (rowset_text (r, "x", ""), 0);
    assert_string_equal (strstr (rowset_str (r), "},{\"x\""), "},{\"x\":\"\"}]");
    rowset_destroy (&r);
}

static void
test_strings_are_escaped (void **state)
{
    (void) state;
    rowset_t *r = rowset_new ();
    rowset_row (r);
    rowset_text (r, "t", "a \"q\" \\ b\nc\td\x01");
    assert_string_equal (rowset_str (r), "[{\"t\":\"a \\\"q\\\" \\\\ b\\nc\\td\\u0001\"}]");
    rowset_destroy (&r);
}

static void
test_large_rows_grow_the_buffer_and_reset_empties (void **state)
{
    (void) state;
    rowset_t *r = rowset_new ();
    char *big = malloc (5001);
    assert_non_null (big);
    memset (big, '"', 5000);  // every byte escaped: twice as long
    big[5000] = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal (rowset_row (r), 0);
        assert_int_equal (rowset_text (r, "big", big), 0);
    }
    assert_int_equal (rowset_count (r), 100);
    assert_int_equal (strlen (rowset_str (r)), 2 + 100 * (10 + 10000) + 99);
    rowset_reset (r);
    assert_string_equal (rowset_str (r), "[]");
    rowset_row (r);
    rowset_i64 (r, "n", 7);
    assert_string_equal (rowset_str (r), "[{\"n\":7}]");
    free (big);
    rowset_destroy (&r);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_empty_set_is_an_empty_array),
        cmocka_unit_test (test_rows_of_text_and_integers),
        cmocka_unit_test (test_strings_are_escaped),
        cmocka_unit_test (test_large_rows_grow_the_buffer_and_reset_empties),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

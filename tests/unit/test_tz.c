/*  test_tz: times as people type and read them in the company's zone,
    stored in UTC (common/tz.c): the accepted forms, explicit offsets, days
    that do not exist, and both daylight-saving changes of a DST zone
    (Europe/Berlin) beside the default zone without DST (Europe/Moscow).
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tz.h"

static int64_t
s_parse (const char *text)
{
    int64_t ms = 0;
    char err[256];
    if (tz_parse (text, &ms, err, sizeof err))
        fail_msg ("'%s' refused: %s", text, err);
    return ms;
}

static void
s_refused (const char *text, const char *why)
{
    int64_t ms;
    char err[256];
    assert_int_equal (tz_parse (text, &ms, err, sizeof err), -1);
    if (!strstr (err, why))
        fail_msg ("'%s': error '%s' does not say '%s'", text, err, why);
}

static void
test_moscow_forms (void **state)
{
    (void) state;
    char err[256], out[64];
    assert_int_equal (tz_init ("Europe/Moscow", err, sizeof err), 0);
    assert_string_equal (tz_name (), "Europe/Moscow");
    //  2026-12-01 15:30 MSK = 12:30 UTC
    assert_int_equal (s_parse ("2026-12-01 15:30"), 1796128200000LL);
    assert_int_equal (s_parse ("01.12.2026 15:30"), 1796128200000LL);
    assert_int_equal (s_parse ("2026-12-01T15:30:00"), 1796128200000LL);
    assert_int_equal (s_parse (" 2026-12-01 15:30:59 "), 1796128259000LL);
    assert_int_equal (s_parse ("2026-12-01T12:30:00Z"), 1796128200000LL);
    assert_int_equal (s_parse ("2026-12-01T13:30:00+01:00"), 1796128200000LL);
    assert_int_equal (s_parse ("2026-12-01T07:30-0500"), 1796128200000LL);
    tz_format (1796128200000LL, "%d.%m.%Y %H:%M %Z", out, sizeof out);
    assert_string_equal (out, "01.12.2026 15:30 MSK");
}

static void
test_bad_input (void **state)
{
    (void) state;
    char err[256];
    assert_int_equal (tz_init ("Europe/Moscow", err, sizeof err), 0);
    s_refused ("завтра", "is not a date and time");
    s_refused ("2026-13-01 10:00", "is not a date and time");
    s_refused ("2026-12-01 24:00", "is not a date and time");
    s_refused ("2026-02-29 10:00", "no such day");
    s_refused ("2026-12-01 10:00 tomorrow", "unexpected text");
    s_refused ("2026-12-01T10:00+25:00", "offset");
    assert_int_equal (s_parse ("2028-02-29 10:00") > 0, 1);     // a leap year
    assert_int_equal (tz_init ("Europe/Mosow", err, sizeof err), -1);
    assert_non_null (strstr (err, "Europe/Mosow"));
    assert_int_equal (tz_init ("../../etc/passwd", err, sizeof err), -1);
    assert_string_equal (tz_name (), "Europe/Moscow");
}

//  2027-03-28 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
static void
test_berlin_dst (void **state)
{
    (void) state;
    char err[256], out[64];
    assert_int_equal (tz_init ("Europe/Berlin", err, sizeof err), 0);
    s_refused ("2027-03-28 02:30", "does not exist");
    assert_int_equal (s_parse ("2027-03-28 01:59"), 1806195540000LL);   // 00:59Z
    assert_int_equal (s_parse ("2027-03-28 03:00"), 1806195600000LL);   // 01:00Z: one real minute later
    //  02:30 happens twice in October: the first (CEST) unless an offset says otherwise.
    assert_int_equal (s_parse ("2026-10-25 02:30"), 1792888200000LL);   // 00:30Z
    assert_int_equal (s_parse ("2026-10-25 02:30+01:00"), 1792891800000LL);
    tz_format (1792891800000LL, "%H:%M %Z", out, sizeof out);
    assert_string_equal (out, "02:30 CET");
    tz_format (1792888200000LL - 15 * 60000, "%H:%M %Z", out, sizeof out);
    assert_string_equal (out, "02:15 CEST");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_moscow_forms),
        cmocka_unit_test (test_bad_input),
        cmocka_unit_test (test_berlin_dst),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

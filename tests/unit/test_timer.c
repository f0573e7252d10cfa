// uses: services/timer/timer.c
/*  test_timer: the timer service's pure rules (services/timer/timer.c):
    what makes a schedule or cancel request valid (each field, the owner
    being its publisher, the bounds of due_ms, the payload's size), and the
    lateness window behind Status's lateness_p50/p99/max_ms (percentiles,
    and the window wrapping around after TIMER_LATENESS_WINDOW firings).
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timer/timer.h"

//  2026-11-30 12:00:00 UTC, a plausible due time.
#define DUE 1796040000000LL

//  A valid request from "deals" for itself; tests spoil one field at a time.
static Crm__V1__TimerRequested
s_request (void)
{
    Crm__V1__TimerRequested request = CRM__V1__TIMER_REQUESTED__INIT;
    request.key = "deal:42:payment-overdue";
    request.due_ms = DUE;
    request.owner = "deals";
    static uint8_t payload[] = {0x08, 0x2a};
    request.payload.data = payload;
    request.payload.len = sizeof payload;
    return request;
}

static Crm__V1__TimerCancelRequested
s_cancel (void)
{
    Crm__V1__TimerCancelRequested request = CRM__V1__TIMER_CANCEL_REQUESTED__INIT;
    request.key = "deal:42:payment-overdue";
    request.owner = "deals";
    return request;
}

static char *s_allocated[16];
static size_t s_allocated_n;

//  A buffer of n copies of ch (NUL-terminated), freed after each test.
static char *
s_repeat (char ch, size_t n)
{
    char *s = malloc (n + 1);
    assert_non_null (s);
    memset (s, ch, n);
    s[n] = 0;
    assert_true (s_allocated_n < 16);
    s_allocated[s_allocated_n++] = s;
    return s;
}

static int
s_free (void **state)
{
    (void) state;
    while (s_allocated_n)
        free (s_allocated[--s_allocated_n]);
    return 0;
}

static void
s_expect_valid (const Crm__V1__TimerRequested *request, const char *source)
{
    char reason[256] = "untouched";
    assert_int_equal (timer_validate_request (request, source, reason, sizeof reason), 0);
}

//  Refused, with a reason that names what is wrong.
static void
s_expect_refused (const Crm__V1__TimerRequested *request, const char *source, const char *needle)
{
    char reason[256] = "";
    assert_int_equal (timer_validate_request (request, source, reason, sizeof reason), -1);
    if (!strstr (reason, needle))
        fail_msg ("reason '%s' does not mention '%s'", reason, needle);
}

static void
s_expect_cancel_refused (const Crm__V1__TimerCancelRequested *request, const char *source, const char *needle)
{
    char reason[256] = "";
    assert_int_equal (timer_validate_cancel (request, source, reason, sizeof reason), -1);
    if (!strstr (reason, needle))
        fail_msg ("reason '%s' does not mention '%s'", reason, needle);
}

//  ---------------------------------------------------------------- requests

static void
test_complete_request_is_valid (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    s_expect_valid (&request, "deals");
}

static void
test_empty_payload_is_valid (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.payload.data = NULL;
    request.payload.len = 0;
    s_expect_valid (&request, "deals");
}

static void
test_missing_key_is_refused (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.key = "";
    s_expect_refused (&request, "deals", "key");
}

static void
test_key_of_200_bytes_is_valid_201_is_not (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.key = s_repeat ('k', 200);
    s_expect_valid (&request, "deals");
    request.key = s_repeat ('k', 201);
    s_expect_refused (&request, "deals", "key");
    //  Bytes, not characters: 100 two-byte letters are 200 bytes.
    char *cyrillic = s_repeat ('x', 202);
    for (int i = 0; i < 101; i++)
        memcpy (cyrillic + 2 * i, "\xd0\xb6", 2);  // "ж"
    cyrillic[200] = 0;
    request.key = cyrillic;
    s_expect_valid (&request, "deals");
    cyrillic[200] = '\xd0';  // 101 letters, 202 bytes
    request.key = cyrillic;
    s_expect_refused (&request, "deals", "key");
}

static void
test_missing_owner_is_refused (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.owner = "";
    s_expect_refused (&request, "deals", "owner is required");
}

static void
test_owner_other_than_publisher_is_refused (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.owner = "tasks";
    char reason[256] = "";
    assert_int_equal (timer_validate_request (&request, "deals", reason, sizeof reason), -1);
    //  Both names, so that an operator sees who tried to schedule for whom.
    assert_non_null (strstr (reason, "'tasks'"));
    assert_non_null (strstr (reason, "'deals'"));
    //  Exact match: no prefix or case folding.
    request.owner = "Deals";
    s_expect_refused (&request, "deals", "publisher");
    request.owner = "deal";
    s_expect_refused (&request, "deals", "publisher");
    request.owner = "dealsx";
    s_expect_refused (&request, "deals", "publisher");
    //  The same request is valid from its owner.
    request.owner = "tasks";
    s_expect_valid (&request, "tasks");
}

static void
test_due_ms_zero_or_negative_is_refused (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.due_ms = 0;  // also what an unset proto3 field reads as
    s_expect_refused (&request, "deals", "due_ms");
    request.due_ms = -1;
    s_expect_refused (&request, "deals", "due_ms");
    request.due_ms = INT64_MIN;
    s_expect_refused (&request, "deals", "due_ms");
}

static void
test_due_ms_bounds_2000_to_2200 (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.due_ms = TIMER_DUE_MIN_MS;  // 2000-01-01T00:00:00Z: in
    s_expect_valid (&request, "deals");
    request.due_ms = TIMER_DUE_MIN_MS - 1;
    s_expect_refused (&request, "deals", "due_ms");
    request.due_ms = TIMER_DUE_MAX_MS - 1;  // the last ms of 2199: in
    s_expect_valid (&request, "deals");
    request.due_ms = TIMER_DUE_MAX_MS;  // 2200-01-01T00:00:00Z: out
    s_expect_refused (&request, "deals", "due_ms");
    request.due_ms = INT64_MAX;
    s_expect_refused (&request, "deals", "due_ms");
    //  Seconds instead of milliseconds: a classic mistake, 1970-01-21.
    request.due_ms = DUE / 1000;
    s_expect_refused (&request, "deals", "due_ms");
    //  Microseconds instead: year 58 000 or so.
    request.due_ms = DUE * 1000;
    s_expect_refused (&request, "deals", "due_ms");
}

static void
test_bounds_are_the_dates_they_claim (void **state)
{
    (void) state;
    //  Days from 1970-01-01: 10957 to 2000-01-01, 84006 to 2200-01-01.
    assert_int_equal (TIMER_DUE_MIN_MS, 10957LL * 86400 * 1000);
    assert_int_equal (TIMER_DUE_MAX_MS, 84006LL * 86400 * 1000);
}

static void
test_due_ms_in_the_past_is_valid (void **state)
{
    (void) state;
    //  A due time already past fires at once: it is not malformed.
    Crm__V1__TimerRequested request = s_request ();
    request.due_ms = TIMER_DUE_MIN_MS + 86400000;
    s_expect_valid (&request, "deals");
}

static void
test_payload_limit (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.payload.data = (uint8_t *) s_repeat ('p', 65537);
    request.payload.len = 65536;
    s_expect_valid (&request, "deals");
    request.payload.len = 65537;
    s_expect_refused (&request, "deals", "payload");
}

static void
test_first_bad_field_is_the_one_named (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.key = "";
    request.owner = "";
    request.due_ms = 0;
    s_expect_refused (&request, "deals", "key");
    request.key = "k";
    s_expect_refused (&request, "deals", "owner");
    request.owner = "deals";
    s_expect_refused (&request, "deals", "due_ms");
}

static void
test_reason_is_cut_to_its_buffer (void **state)
{
    (void) state;
    Crm__V1__TimerRequested request = s_request ();
    request.owner = s_repeat ('o', 150);
    char reason[16];
    memset (reason, 'X', sizeof reason);
    assert_int_equal (timer_validate_request (&request, "deals", reason, sizeof reason), -1);
    assert_int_equal (strlen (reason), sizeof reason - 1);
    //  A long owner and source are cut in the reason, which stays one line.
    char full[256];
    request.owner = s_repeat ('o', 150);
    assert_int_equal (timer_validate_request (&request, s_repeat ('s', 100), full, sizeof full), -1);
    assert_true (strlen (full) < 120);
    assert_null (strchr (full, '\n'));
}

//  ---------------------------------------------------------------- cancel

static void
test_complete_cancel_is_valid (void **state)
{
    (void) state;
    Crm__V1__TimerCancelRequested request = s_cancel ();
    char reason[256] = "";
    assert_int_equal (timer_validate_cancel (&request, "deals", reason, sizeof reason), 0);
}

static void
test_cancel_missing_or_foreign_fields_are_refused (void **state)
{
    (void) state;
    Crm__V1__TimerCancelRequested request = s_cancel ();
    request.key = "";
    s_expect_cancel_refused (&request, "deals", "key");
    request = s_cancel ();
    request.key = s_repeat ('k', 201);
    s_expect_cancel_refused (&request, "deals", "key");
    request = s_cancel ();
    request.owner = "";
    s_expect_cancel_refused (&request, "deals", "owner is required");
    //  A service cancels only its own timers.
    request = s_cancel ();
    request.owner = "tasks";
    s_expect_cancel_refused (&request, "deals", "publisher");
}

//  ---------------------------------------------------------------- lateness

static timer_lateness_t *
s_window (void)
{
    timer_lateness_t *w = calloc (1, sizeof *w);
    assert_non_null (w);
    assert_true (s_allocated_n < 16);
    s_allocated[s_allocated_n++] = (char *) w;
    return w;
}

static void
test_empty_window_reads_zero (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    assert_int_equal (w->count, 0);
    assert_int_equal (w->fired, 0);
    assert_int_equal (timer_lateness_percentile (w, 0), 0);
    assert_int_equal (timer_lateness_percentile (w, 50), 0);
    assert_int_equal (timer_lateness_percentile (w, 99), 0);
    assert_int_equal (timer_lateness_percentile (w, 100), 0);
}

static void
test_one_value_is_every_percentile (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    timer_lateness_add (w, 7);
    assert_int_equal (w->count, 1);
    assert_int_equal (w->fired, 1);
    assert_int_equal (timer_lateness_percentile (w, 0), 7);
    assert_int_equal (timer_lateness_percentile (w, 50), 7);
    assert_int_equal (timer_lateness_percentile (w, 99), 7);
    assert_int_equal (timer_lateness_percentile (w, 100), 7);
}

static void
test_percentiles_of_101_values_in_any_order (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    //  0..100 in a scrambled order (37 is prime to 101: a permutation).
    for (int i = 0; i < 101; i++)
        timer_lateness_add (w, (i * 37) % 101);
    assert_int_equal (w->count, 101);
    assert_int_equal (timer_lateness_percentile (w, 0), 0);
    assert_int_equal (timer_lateness_percentile (w, 50), 50);  // the median
    assert_int_equal (timer_lateness_percentile (w, 90), 90);
    assert_int_equal (timer_lateness_percentile (w, 99), 99);
    assert_int_equal (timer_lateness_percentile (w, 100), 100);  // the max
    //  Reading does not disturb the window: same answers again.
    assert_int_equal (timer_lateness_percentile (w, 50), 50);
    assert_int_equal (w->values[1], 37);
}

static void
test_p99_sees_a_slow_tail (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    //  1000 firings: 960 at 1 ms, 40 at 250 ms (4 % late by a tick).
    for (int i = 0; i < 1000; i++)
        timer_lateness_add (w, i % 50 == 0 || i % 50 == 1 ? 250 : 1);
    assert_int_equal (timer_lateness_percentile (w, 50), 1);
    assert_int_equal (timer_lateness_percentile (w, 99), 250);
    assert_int_equal (timer_lateness_percentile (w, 100), 250);
    //  ... and ignores a tail under 1 %.
    timer_lateness_t *v = s_window ();
    for (int i = 0; i < 1000; i++)
        timer_lateness_add (v, i < 5 ? 9000 : 2);
    assert_int_equal (timer_lateness_percentile (v, 99), 2);
    assert_int_equal (timer_lateness_percentile (v, 100), 9000);
}

static void
test_negative_and_huge_lateness (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    timer_lateness_add (w, -5);  // a clock read before due (never by design)
    timer_lateness_add (w, 3);
    timer_lateness_add (w, 86400000LL);  // a day late: the clock jumped forward
    assert_int_equal (timer_lateness_percentile (w, 0), -5);
    assert_int_equal (timer_lateness_percentile (w, 50), 3);
    assert_int_equal (timer_lateness_percentile (w, 100), 86400000LL);
}

static void
test_window_fills_to_1024 (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    for (int i = 0; i < TIMER_LATENESS_WINDOW; i++)
        timer_lateness_add (w, i + 1);
    assert_int_equal (w->count, TIMER_LATENESS_WINDOW);
    assert_int_equal (w->fired, TIMER_LATENESS_WINDOW);
    assert_int_equal (w->next, 0);
    assert_int_equal (timer_lateness_percentile (w, 0), 1);
    assert_int_equal (timer_lateness_percentile (w, 100), TIMER_LATENESS_WINDOW);
}

static void
test_window_wraps_around_keeping_the_last_1024 (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    //  1500 firings with lateness 0..1499: the window holds 476..1499.
    for (int i = 0; i < 1500; i++)
        timer_lateness_add (w, i);
    assert_int_equal (w->count, TIMER_LATENESS_WINDOW);
    assert_int_equal (w->fired, 1500);
    assert_int_equal (w->next, 1500 - TIMER_LATENESS_WINDOW);
    assert_int_equal (timer_lateness_percentile (w, 0), 1500 - TIMER_LATENESS_WINDOW);
    assert_int_equal (timer_lateness_percentile (w, 100), 1499);
    //  p50 of 476..1499 (1024 values): rank round(0.5 * 1023) = 512 -> 988.
    assert_int_equal (timer_lateness_percentile (w, 50), 476 + 512);
}

static void
test_old_slow_firings_leave_the_window (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    //  A burst of very late firings (after an outage) ...
    for (int i = 0; i < 300; i++)
        timer_lateness_add (w, 3600000);
    assert_int_equal (timer_lateness_percentile (w, 99), 3600000);
    //  ... then a full window of punctual ones: the outage is forgotten.
    for (int i = 0; i < TIMER_LATENESS_WINDOW; i++)
        timer_lateness_add (w, 2);
    assert_int_equal (timer_lateness_percentile (w, 100), 2);
    assert_int_equal (w->fired, 300 + TIMER_LATENESS_WINDOW);
    //  One window less one: exactly one late value is still in.
    timer_lateness_t *v = s_window ();
    timer_lateness_add (v, 5000);
    for (int i = 0; i < TIMER_LATENESS_WINDOW - 1; i++)
        timer_lateness_add (v, 1);
    assert_int_equal (timer_lateness_percentile (v, 100), 5000);
    timer_lateness_add (v, 1);
    assert_int_equal (timer_lateness_percentile (v, 100), 1);
}

static void
test_many_wraps (void **state)
{
    (void) state;
    timer_lateness_t *w = s_window ();
    //  Ten windows and a bit: next and count stay in range throughout.
    for (int i = 0; i < 10 * TIMER_LATENESS_WINDOW + 7; i++) {
        timer_lateness_add (w, i % 3);
        assert_true (w->next < TIMER_LATENESS_WINDOW);
        assert_true (w->count <= TIMER_LATENESS_WINDOW);
    }
    assert_int_equal (w->next, 7);
    assert_int_equal (w->fired, 10 * TIMER_LATENESS_WINDOW + 7);
    assert_int_equal (timer_lateness_percentile (w, 0), 0);
    assert_int_equal (timer_lateness_percentile (w, 100), 2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_complete_request_is_valid, s_free),
        cmocka_unit_test_teardown (test_empty_payload_is_valid, s_free),
        cmocka_unit_test_teardown (test_missing_key_is_refused, s_free),
        cmocka_unit_test_teardown (test_key_of_200_bytes_is_valid_201_is_not, s_free),
        cmocka_unit_test_teardown (test_missing_owner_is_refused, s_free),
        cmocka_unit_test_teardown (test_owner_other_than_publisher_is_refused, s_free),
        cmocka_unit_test_teardown (test_due_ms_zero_or_negative_is_refused, s_free),
        cmocka_unit_test_teardown (test_due_ms_bounds_2000_to_2200, s_free),
        cmocka_unit_test_teardown (test_bounds_are_the_dates_they_claim, s_free),
        cmocka_unit_test_teardown (test_due_ms_in_the_past_is_valid, s_free),
        cmocka_unit_test_teardown (test_payload_limit, s_free),
        cmocka_unit_test_teardown (test_first_bad_field_is_the_one_named, s_free),
        cmocka_unit_test_teardown (test_reason_is_cut_to_its_buffer, s_free),
        cmocka_unit_test_teardown (test_complete_cancel_is_valid, s_free),
        cmocka_unit_test_teardown (test_cancel_missing_or_foreign_fields_are_refused, s_free),
        cmocka_unit_test_teardown (test_empty_window_reads_zero, s_free),
        cmocka_unit_test_teardown (test_one_value_is_every_percentile, s_free),
        cmocka_unit_test_teardown (test_percentiles_of_101_values_in_any_order, s_free),
        cmocka_unit_test_teardown (test_p99_sees_a_slow_tail, s_free),
        cmocka_unit_test_teardown (test_negative_and_huge_lateness, s_free),
        cmocka_unit_test_teardown (test_window_fills_to_1024, s_free),
        cmocka_unit_test_teardown (test_window_wraps_around_keeping_the_last_1024, s_free),
        cmocka_unit_test_teardown (test_old_slow_firings_leave_the_window, s_free),
        cmocka_unit_test_teardown (test_many_wraps, s_free),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

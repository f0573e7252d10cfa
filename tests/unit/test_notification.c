// uses: services/notifier/notification.c
/*  test_notification: the notifier's rules for a notification request
    (services/notifier/notification.c): every required field, and limits.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifier/notification.h"

//  A valid request; tests spoil one field at a time.
static Crm__V1__NotificationRequested
s_request (void)
{
    Crm__V1__NotificationRequested request = CRM__V1__NOTIFICATION_REQUESTED__INIT;
    request.request_key = "lead:42:new-lead";
    request.recipient = "manager1";
    request.text = "Новый лид #42: свяжитесь с клиентом (Иван Петров)";
    return request;
}

static char *s_allocated[16];
static size_t s_allocated_n;

//  A string of n copies of ch, freed after each test by s_free.
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
s_expect_valid (const Crm__V1__NotificationRequested *request)
{
    char reason[256] = "";
    if (notification_validate (request, reason, sizeof reason) != 0)
        fail_msg ("expected valid, refused: %s", reason);
}

//  Expects a refusal whose reason names field.
static void
s_expect_refused (const Crm__V1__NotificationRequested *request, const char *field)
{
    char reason[256] = "";
    assert_int_equal (notification_validate (request, reason, sizeof reason), -1);
    if (strncmp (reason, field, strlen (field)) != 0)
        fail_msg ("reason \"%s\" does not name %s first", reason, field);
}

static void
test_complete_request_is_valid (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    s_expect_valid (&request);
}

static void
test_missing_request_key_is_refused (void **state)
{
    (void) state;
    //  The key is what makes a request stored once: without it, a replayed
    //  event would notify twice.
    Crm__V1__NotificationRequested request = s_request ();
    request.request_key = "";
    s_expect_refused (&request, "request_key");
}

static void
test_missing_recipient_is_refused (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.recipient = "";
    s_expect_refused (&request, "recipient");
}

static void
test_missing_text_is_refused (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.text = "";
    s_expect_refused (&request, "text");
}

static void
test_fields_at_their_limit_are_valid (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.request_key = s_repeat ('k', 200);
    request.recipient = s_repeat ('r', 100);
    request.text = s_repeat ('t', NOTIFICATION_TEXT_MAX);
    s_expect_valid (&request);
}

static void
test_over_long_request_key_is_refused (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.request_key = s_repeat ('k', 201);
    s_expect_refused (&request, "request_key");
}

static void
test_over_long_recipient_is_refused (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.recipient = s_repeat ('r', 101);
    s_expect_refused (&request, "recipient");
}

static void
test_over_long_text_is_refused_naming_the_limit (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.text = s_repeat ('t', NOTIFICATION_TEXT_MAX + 1);
    char reason[256];
    assert_int_equal (notification_validate (&request, reason, sizeof reason), -1);
    assert_non_null (strstr (reason, "text"));
    assert_non_null (strstr (reason, "4000"));
}

static void
test_limits_count_bytes_not_characters (void **state)
{
    (void) state;
    //  Columns are sized in bytes: 2001 two-byte letters are 4002 bytes,
    //  over the limit although only 2001 characters.
    char *text = s_repeat ('x', 4002);
    for (size_t i = 0; i < 4002; i += 2)
        memcpy (text + i, "Я", 2);
    Crm__V1__NotificationRequested request = s_request ();
    request.text = text;
    s_expect_refused (&request, "text");
    text[4000] = 0;
    s_expect_valid (&request);
}

static void
test_rule_is_optional_and_bounded (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.rule = "new-lead";
    s_expect_valid (&request);
    request.rule = s_repeat ('r', 100);
    s_expect_valid (&request);
    request.rule = s_repeat ('r', 101);
    s_expect_refused (&request, "rule");
    request.rule = "правило \xd0";
    s_expect_refused (&request, "rule");
}

static void
test_first_bad_field_is_the_one_named (void **state)
{
    (void) state;
    //  One sentence: the fields are checked in declaration order.
    Crm__V1__NotificationRequested request = CRM__V1__NOTIFICATION_REQUESTED__INIT;
    s_expect_refused (&request, "request_key");
    request.request_key = "k";
    s_expect_refused (&request, "recipient");
    request.recipient = "r";
    s_expect_refused (&request, "text");
    request.text = "t";
    s_expect_valid (&request);
}

static void
test_reason_is_cut_to_its_buffer (void **state)
{
    (void) state;
    Crm__V1__NotificationRequested request = s_request ();
    request.text = "";
    char reason[16];
    memset (reason, '#', sizeof reason);
    assert_int_equal (notification_validate (&request, reason, 8), -1);
    assert_string_equal (reason, "text is");
    assert_int_equal (reason[8], '#');
}

static void
test_text_that_is_not_utf8_is_refused (void **state)
{
    (void) state;
    //  protobuf-c does not check UTF-8 on unpack; PostgreSQL would refuse
    //  the text at the insert, so it is refused here instead.
    Crm__V1__NotificationRequested request = s_request ();
    request.text = "Новый лид \xd0";
    s_expect_refused (&request, "text");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_complete_request_is_valid, s_free),
        cmocka_unit_test_teardown (test_missing_request_key_is_refused, s_free),
        cmocka_unit_test_teardown (test_missing_recipient_is_refused, s_free),
        cmocka_unit_test_teardown (test_missing_text_is_refused, s_free),
        cmocka_unit_test_teardown (test_fields_at_their_limit_are_valid, s_free),
        cmocka_unit_test_teardown (test_over_long_request_key_is_refused, s_free),
        cmocka_unit_test_teardown (test_over_long_recipient_is_refused, s_free),
        cmocka_unit_test_teardown (test_over_long_text_is_refused_naming_the_limit, s_free),
        cmocka_unit_test_teardown (test_limits_count_bytes_not_characters, s_free),
        cmocka_unit_test_teardown (test_rule_is_optional_and_bounded, s_free),
        cmocka_unit_test_teardown (test_first_bad_field_is_the_one_named, s_free),
        cmocka_unit_test_teardown (test_reason_is_cut_to_its_buffer, s_free),
        cmocka_unit_test_teardown (test_text_that_is_not_utf8_is_refused, s_free),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

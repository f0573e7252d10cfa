// uses: services/leads/lead.c
/*  test_lead: the leads service's pure rules (services/leads/lead.c): what
    makes an incoming lead valid, and the keys that find its contact again.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leads/lead.h"

// ---------------------------------------------------------------- helpers

//  A complete, valid lead; tests spoil one thing at a time.
static Crm__V1__LeadReceived
s_lead (void)
{
    Crm__V1__LeadReceived lead = CRM__V1__LEAD_RECEIVED__INIT;
    lead.source_system = "website";
    lead.external_id = "form-1842";
    lead.name = "Иван Петров";
    lead.phone = "+7 (999) 123-45-67";
    lead.email = "ivan.petrov@example.com";
    lead.company = "ООО «Ромашка»";
    lead.comment = "Перезвонить после 18:00";
    lead.responsible = "ivanov";
    return lead;
}

//  A string of n copies of ch, freed after each test by s_free.
static char *s_allocated[64];
static size_t s_allocated_n;

static char *
s_repeat (char ch, size_t n)
{
    char *s = malloc (n + 1);
    assert_non_null (s);
    memset (s, ch, n);
    s[n] = 0;
    assert_true (s_allocated_n < 64);
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

typedef struct {
    int count;
    const char *fields[LEAD_MAX_INVALID + 2];  // two guards past the limit
    char message[256];
} verdict_t;

static verdict_t
s_validate (const Crm__V1__LeadReceived *lead)
{
    verdict_t v;
    memset (&v, 0, sizeof v);
    static const char *guard = "guard";
    v.fields[LEAD_MAX_INVALID] = v.fields[LEAD_MAX_INVALID + 1] = guard;
    memset (v.message, '#', sizeof v.message);
    v.count = lead_validate (lead, v.fields, v.message, sizeof v.message);
    assert_ptr_equal (v.fields[LEAD_MAX_INVALID], guard);
    assert_ptr_equal (v.fields[LEAD_MAX_INVALID + 1], guard);
    assert_non_null (memchr (v.message, 0, sizeof v.message));
    return v;
}

static bool
s_names (const verdict_t *v, const char *field)
{
    for (int i = 0; i < v->count && i < LEAD_MAX_INVALID; i++)
        if (strcmp (v->fields[i], field) == 0)
            return true;
    return false;
}

//  Expects exactly one problem, on field, with a message naming it.
static void
s_expect_one (const Crm__V1__LeadReceived *lead, const char *field)
{
    verdict_t v = s_validate (lead);
    if (v.count != 1)
        fail_msg ("expected 1 problem (%s), got %d: %s", field, v.count, v.message);
    assert_string_equal (v.fields[0], field);
    if (!strstr (v.message, field))
        fail_msg ("message \"%s\" does not name %s", v.message, field);
}

static void
s_expect_valid (const Crm__V1__LeadReceived *lead)
{
    verdict_t v = s_validate (lead);
    if (v.count != 0)
        fail_msg ("expected valid, got %d: %s", v.count, v.message);
    assert_string_equal (v.message, "");
}

// ---------------------------------------------------------------- valid leads

static void
test_complete_lead_is_valid (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    s_expect_valid (&lead);
}

static void
test_one_contact_of_name_phone_email_is_enough (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.phone = lead.email = lead.company = lead.comment = lead.responsible = "";
    s_expect_valid (&lead);
    lead = s_lead ();
    lead.name = lead.email = "";
    s_expect_valid (&lead);
    lead = s_lead ();
    lead.name = lead.phone = "";
    s_expect_valid (&lead);
}

static void
test_fields_at_their_limit_are_valid (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.source_system = s_repeat ('s', 100);
    lead.external_id = s_repeat ('e', 200);
    lead.name = s_repeat ('n', LEAD_FIELD_MAX);
    lead.company = s_repeat ('c', LEAD_FIELD_MAX);
    lead.comment = s_repeat ('m', 4 * LEAD_FIELD_MAX);
    lead.responsible = s_repeat ('r', 100);
    s_expect_valid (&lead);
}

// ---------------------------------------------------------------- required fields

static void
test_missing_source_system_is_named (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.source_system = "";
    s_expect_one (&lead, "source_system");
}

static void
test_missing_external_id_is_named (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.external_id = "";
    s_expect_one (&lead, "external_id");
}

static void
test_no_name_phone_or_email_is_refused (void **state)
{
    (void) state;
    //  Company and comment alone give the manager no one to call. All three
    //  alternatives are named, so that a form can mark each of them.
    Crm__V1__LeadReceived lead = s_lead ();
    lead.name = lead.phone = lead.email = "";
    verdict_t v = s_validate (&lead);
    assert_int_equal (v.count, 3);
    assert_string_equal (v.fields[0], "name");
    assert_string_equal (v.fields[1], "phone");
    assert_string_equal (v.fields[2], "email");
    assert_non_null (strstr (v.message, "name"));
    assert_non_null (strstr (v.message, "phone"));
    assert_non_null (strstr (v.message, "email"));
}

// ---------------------------------------------------------------- phone

static void
test_phone_formats_people_write_are_valid (void **state)
{
    (void) state;
    const char *good[] = {"12345", "+7 (999) 123-45-67", "8.999.123.45.67", "+1 234 567 890 12345",
                          "(495)1234567"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.phone = (char *) good[i];
        s_expect_valid (&lead);
    }
}

static void
test_phone_with_letters_is_refused (void **state)
{
    (void) state;
    const char *bad[] = {"8 800 CALL NOW", "12345x", "+7/999/1234567", "tel:+79991234567"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.phone = (char *) bad[i];
        s_expect_one (&lead, "phone");
    }
}

static void
test_phone_with_too_few_digits_is_refused (void **state)
{
    (void) state;
    //  Separators do not count: "(12) 34" has four digits.
    const char *bad[] = {"1234", "(12) 34", "+", "---"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.phone = (char *) bad[i];
        s_expect_one (&lead, "phone");
    }
}

static void
test_phone_with_too_many_digits_is_refused (void **state)
{
    (void) state;
    //  E.164 allows 15 digits at most.
    Crm__V1__LeadReceived lead = s_lead ();
    lead.phone = "1234567890123456";
    s_expect_one (&lead, "phone");
    lead.phone = "123456789012345";
    s_expect_valid (&lead);
}

// ---------------------------------------------------------------- email

static void
test_email_plain_forms_are_valid (void **state)
{
    (void) state;
    const char *good[] = {"a@b.c", "ivan.petrov+crm@mail.example.ru", "x_y@sub.domain.org"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.email = (char *) good[i];
        s_expect_valid (&lead);
    }
}

static void
test_email_without_at_is_refused (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.email = "ivan.example.com";
    s_expect_one (&lead, "email");
}

static void
test_email_without_dot_after_at_is_refused (void **state)
{
    (void) state;
    //  The dot before the @ does not count.
    Crm__V1__LeadReceived lead = s_lead ();
    lead.email = "ivan.petrov@localhost";
    s_expect_one (&lead, "email");
}

static void
test_email_with_two_ats_is_refused (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.email = "ivan@home@example.com";
    s_expect_one (&lead, "email");
}

static void
test_email_with_spaces_or_brackets_is_refused (void **state)
{
    (void) state;
    //  "Ivan <ivan@example.com>" is a display form, not an address.
    const char *bad[] = {"ivan @example.com", "ivan@exa mple.com", "ivan@example.com ", "\tivan@example.com",
                         "Ivan <ivan@example.com>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.email = (char *) bad[i];
        s_expect_one (&lead, "email");
    }
}

static void
test_email_with_empty_local_part_is_refused (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.email = "@example.com";
    s_expect_one (&lead, "email");
}

// ---------------------------------------------------------------- limits and encoding

static void
test_each_over_long_field_is_named (void **state)
{
    (void) state;
    //  One byte over each limit; the database columns are sized to them.
    const struct {
        const char *name;
        size_t offset;
        size_t max;
        char fill;
    } cases[] = {
        {"source_system", offsetof (Crm__V1__LeadReceived, source_system), 100, 's'},
        {"external_id", offsetof (Crm__V1__LeadReceived, external_id), 200, 'e'},
        {"name", offsetof (Crm__V1__LeadReceived, name), LEAD_FIELD_MAX, 'n'},
        {"phone", offsetof (Crm__V1__LeadReceived, phone), 50, '1'},
        {"company", offsetof (Crm__V1__LeadReceived, company), LEAD_FIELD_MAX, 'c'},
        {"comment", offsetof (Crm__V1__LeadReceived, comment), 4 * LEAD_FIELD_MAX, 'm'},
        {"responsible", offsetof (Crm__V1__LeadReceived, responsible), 100, 'r'},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        *(char **) ((char *) &lead + cases[i].offset) = s_repeat (cases[i].fill, cases[i].max + 1);
        //  An over-long phone is named once: its format is not checked too.
        s_expect_one (&lead, cases[i].name);
    }
}

static void
test_over_long_email_is_named_once (void **state)
{
    (void) state;
    //  255 bytes of a well-formed address: too long, and only that is said
    //  (the format check is skipped for an over-long value).
    char *email = s_repeat ('a', 255);
    memcpy (email + 240, "@example.com", 12);
    Crm__V1__LeadReceived lead = s_lead ();
    lead.email = email;
    s_expect_one (&lead, "email");
    email[254] = 0;  // 254 bytes: the limit
    s_expect_valid (&lead);
}

static void
test_over_long_message_names_the_limit (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.responsible = s_repeat ('r', 101);
    verdict_t v = s_validate (&lead);
    assert_non_null (strstr (v.message, "100"));
}

static void
test_invalid_utf8_is_named (void **state)
{
    (void) state;
    //  A stray byte, a lead byte without its continuation (also at the very
    //  end), a bad continuation, and Latin-1 text.
    const char *bad[] = {"\xff", "Ivan\x80", "Iv\xc3", "\xe2\x82", "\xc3\x28", "Jos\xe9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.company = (char *) bad[i];
        s_expect_one (&lead, "company");
        lead = s_lead ();
        lead.name = (char *) bad[i];
        s_expect_one (&lead, "name");
    }
}

static void
test_multibyte_utf8_is_valid (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.name = "Zoë Ångström 王 \xf0\x9f\x98\x80";  // 2-, 3- and 4-byte sequences
    s_expect_valid (&lead);
}

static void
test_utf8_postgres_would_refuse_is_named (void **state)
{
    (void) state;
    //  Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
    //  refused here: PostgreSQL would refuse them at the insert.
    const char *bad[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Crm__V1__LeadReceived lead = s_lead ();
        lead.name = (char *) bad[i];
        s_expect_one (&lead, "name");
    }
}

// ---------------------------------------------------------------- several problems

static void
test_several_problems_name_every_field (void **state)
{
    (void) state;
    //  The sender fixes everything in one round trip.
    Crm__V1__LeadReceived lead = s_lead ();
    lead.source_system = "";
    lead.external_id = "";
    lead.company = "\xff";
    lead.phone = "abc12";
    lead.email = "nobody";
    lead.responsible = s_repeat ('r', 101);
    verdict_t v = s_validate (&lead);
    assert_int_equal (v.count, 6);
    const char *expected[] = {"source_system", "external_id", "company", "phone", "email", "responsible"};
    for (size_t i = 0; i < 6; i++)
        if (!s_names (&v, expected[i]))
            fail_msg ("%s is not named", expected[i]);
    //  The message is about the first field named.
    assert_non_null (strstr (v.message, v.fields[0]));
}

static void
test_more_problems_than_slots_fill_only_the_slots (void **state)
{
    (void) state;
    //  Every field broken: the count may exceed LEAD_MAX_INVALID, but fields
    //  is written only up to it (s_validate checks the guard).
    Crm__V1__LeadReceived lead = CRM__V1__LEAD_RECEIVED__INIT;
    lead.source_system = lead.external_id = lead.name = lead.phone = lead.email = lead.company =
        lead.comment = lead.responsible = "\xff";
    verdict_t v = s_validate (&lead);
    assert_true (v.count >= 8);
    for (int i = 0; i < LEAD_MAX_INVALID && i < v.count; i++)
        assert_non_null (v.fields[i]);
}

static void
test_field_breaking_two_rules_is_named_once (void **state)
{
    (void) state;
    //  A field breaking two rules (encoding, then format) is named once.
    Crm__V1__LeadReceived lead = s_lead ();
    lead.phone = "\xff";
    s_expect_one (&lead, "phone");
    lead = s_lead ();
    lead.email = "\xff@example.com";
    s_expect_one (&lead, "email");
}

static void
test_message_is_cut_to_its_buffer (void **state)
{
    (void) state;
    Crm__V1__LeadReceived lead = s_lead ();
    lead.external_id = "";
    const char *fields[LEAD_MAX_INVALID];
    char message[16];
    memset (message, '#', sizeof message);
    assert_int_equal (lead_validate (&lead, fields, message, 8), 1);
    assert_int_equal (strlen (message), 7);
    assert_int_equal (message[8], '#');
}

// ---------------------------------------------------------------- keys

static void
test_phone_key_keeps_digits_only (void **state)
{
    (void) state;
    char key[32];
    assert_int_equal (lead_phone_key ("+7 (912) 345-67-89", key, sizeof key), 11);
    assert_string_equal (key, "79123456789");
    lead_phone_key ("7.912.345.67.89", key, sizeof key);
    assert_string_equal (key, "79123456789");
}

static void
test_phone_key_reads_domestic_russian_form (void **state)
{
    (void) state;
    //  8 912 ... and +7 912 ... are one number; 8 in other lengths is not.
    char key[32];
    lead_phone_key ("8 (912) 345-67-89", key, sizeof key);
    assert_string_equal (key, "79123456789");
    lead_phone_key ("8-800-55", key, sizeof key);
    assert_string_equal (key, "880055");
}

static void
test_phone_key_of_no_phone_is_empty (void **state)
{
    (void) state;
    char key[32] = "x";
    assert_int_equal (lead_phone_key ("", key, sizeof key), 0);
    assert_string_equal (key, "");
}

static void
test_name_key_lowers_latin_and_cyrillic (void **state)
{
    (void) state;
    char key[128];
    lead_name_key ("ООО «Ромашка» Ltd", key, sizeof key);
    assert_string_equal (key, "ооо «ромашка» ltd");
    lead_name_key ("ЁЛКА ЪЯ Ѐ", key, sizeof key);
    assert_string_equal (key, "ёлка ъя ѐ");
}

static void
test_name_key_collapses_spaces (void **state)
{
    (void) state;
    char key[128];
    assert_int_equal (lead_name_key ("  ООО   Ромашка \t", key, sizeof key), strlen ("ооо ромашка"));
    assert_string_equal (key, "ооо ромашка");
    assert_int_equal (lead_name_key ("   ", key, sizeof key), 0);
}

static void
test_name_key_cut_keeps_whole_characters (void **state)
{
    (void) state;
    //  "Ро" is 4 bytes: a 4-byte buffer holds "р" and the NUL.
    char key[4];
    lead_name_key ("Ромашка", key, sizeof key);
    assert_string_equal (key, "р");
}

static void
test_email_key_lowers_ascii (void **state)
{
    (void) state;
    char key[64];
    lead_email_key ("Ivan.Petrov@Example.COM", key, sizeof key);
    assert_string_equal (key, "ivan.petrov@example.com");
}

int
main (void)
{
#define T(name) cmocka_unit_test_teardown (name, s_free)
    const struct CMUnitTest tests[] = {
        T (test_complete_lead_is_valid),
        T (test_one_contact_of_name_phone_email_is_enough),
        T (test_fields_at_their_limit_are_valid),
        T (test_missing_source_system_is_named),
        T (test_missing_external_id_is_named),
        T (test_no_name_phone_or_email_is_refused),
        T (test_phone_formats_people_write_are_valid),
        T (test_phone_with_letters_is_refused),
        T (test_phone_with_too_few_digits_is_refused),
        T (test_phone_with_too_many_digits_is_refused),
        T (test_email_plain_forms_are_valid),
        T (test_email_without_at_is_refused),
        T (test_email_without_dot_after_at_is_refused),
        T (test_email_with_two_ats_is_refused),
        T (test_email_with_spaces_or_brackets_is_refused),
        T (test_email_with_empty_local_part_is_refused),
        T (test_each_over_long_field_is_named),
        T (test_over_long_email_is_named_once),
        T (test_over_long_message_names_the_limit),
        T (test_invalid_utf8_is_named),
        T (test_multibyte_utf8_is_valid),
        T (test_utf8_postgres_would_refuse_is_named),
        T (test_several_problems_name_every_field),
        T (test_more_problems_than_slots_fill_only_the_slots),
        T (test_field_breaking_two_rules_is_named_once),
        T (test_message_is_cut_to_its_buffer),
        T (test_phone_key_keeps_digits_only),
        T (test_phone_key_reads_domestic_russian_form),
        T (test_phone_key_of_no_phone_is_empty),
        T (test_name_key_lowers_latin_and_cyrillic),
        T (test_name_key_collapses_spaces),
        T (test_name_key_cut_keeps_whole_characters),
        T (test_email_key_lowers_ascii),
    };
#undef T
    return cmocka_run_group_tests (tests, NULL, NULL);
}

// uses: services/tasks/task.c
/*  test_task: the tasks service's pure rules (services/tasks/task.c): what
    makes a task request, a created task, an activity and a completion
    valid; who may complete; keys and texts; sha256.
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

#include "tasks/task.h"
#include "tz.h"

// ---------------------------------------------------------------- helpers

static char *s_two[] = {"petrova", "sidorov"};

//  A complete, valid request; tests spoil one thing at a time.
static Crm__V1__TaskRequested
s_request (void)
{
    Crm__V1__TaskRequested r = CRM__V1__TASK_REQUESTED__INIT;
    r.request_key = "lead:5:v2:proposal:0";
    r.title = "Рассчитать запрос и выставить КП";
    r.record = "lead:5";
    r.creator = "ivanov";
    r.responsible = "ivanov";
    r.coexecutors = s_two;
    r.n_coexecutors = 2;
    r.deadline_ms = 1796128200000;  // 2026-12-01 15:30 in Moscow
    r.tag = "proposal";
    r.rule = "proposal_task";
    return r;
}

static Crm__V1__CreateTask
s_create (void)
{
    Crm__V1__CreateTask c = CRM__V1__CREATE_TASK__INIT;
    c.title = "Подготовить счёт";
    c.responsible = "petrova";
    c.record = "deal:7";
    c.deadline = "2026-12-01 15:30";
    return c;
}

static bool
s_has_field (const task_invalid_t *inv, const char *field)
{
    for (int i = 0; i < inv->count && i < TASK_MAX_INVALID; i++)
        if (strcmp (inv->fields[i], field) == 0)
            return true;
    return false;
}

static int
s_moscow (void **state)
{
    (void) state;
    char err[256];
    return tz_init ("Europe/Moscow", err, sizeof err);
}

// ---------------------------------------------------------------- requests

static void
test_valid_request_fills_spec_without_the_responsible_among_coexecutors (void **state)
{
    (void) state;
    char *people[] = {"petrova", "ivanov", "petrova", "sidorov"};
    Crm__V1__TaskRequested r = s_request ();
    r.coexecutors = people;
    r.n_coexecutors = 4;
    task_spec_t spec;
    char reason[256] = "";
    assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), 0);
    assert_string_equal (spec.request_key, "lead:5:v2:proposal:0");
    assert_string_equal (spec.responsible, "ivanov");
    //  Each person notified once: the responsible is not also a co-executor.
    assert_int_equal (spec.n_coexecutors, 2);
    assert_string_equal (spec.coexecutors[0], "petrova");
    assert_string_equal (spec.coexecutors[1], "sidorov");
    assert_int_equal (spec.deadline_ms, 1796128200000);
}

static void
test_request_without_key_title_or_responsible_is_refused (void **state)
{
    (void) state;
    const char *cases[][2] = {{"request_key", "request_key is required"},
                              {"title", "title is required"},
                              {"responsible", "responsible is required"}};
    for (size_t i = 0; i < 3; i++) {
        Crm__V1__TaskRequested r = s_request ();
        if (i == 0)
            r.request_key = "";
        if (i == 1)
            r.title = "";
        if (i == 2)
            r.responsible = "";
        task_spec_t spec;
        char reason[256] = "";
        assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), -1);
        assert_non_null (strstr (reason, cases[i][1]));
    }
}

static void
test_request_with_bad_bytes_or_values_is_refused (void **state)
{
    (void) state;
    task_spec_t spec;
    char reason[256];
    Crm__V1__TaskRequested r = s_request ();
    r.title = "\xff\xfe";
    assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), -1);
    assert_string_equal (reason, "title is not valid UTF-8");

    r = s_request ();
    r.responsible = "ivan ivanov";
    assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), -1);
    assert_non_null (strstr (reason, "responsible must be a login"));

    r = s_request ();
    r.deadline_ms = 5;  // seconds, not ms: 1970
    assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), -1);
    assert_non_null (strstr (reason, "deadline_ms"));

    char long_title[TASK_TITLE_MAX + 2];
    memset (long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = 0;
    r = s_request ();
    r.title = long_title;
    assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), -1);
    assert_non_null (strstr (reason, "title is longer than 500 bytes"));
}

// ---------------------------------------------------------------- commands

static void
test_create_names_every_bad_field (void **state)
{
    (void) state;
    char *bad[] = {"ok", ""};
    Crm__V1__CreateTask c = CRM__V1__CREATE_TASK__INIT;
    c.coexecutors = bad;
    c.n_coexecutors = 2;
    c.deadline = "завтра";
    task_spec_t spec;
    task_invalid_t inv;
    assert_int_equal (task_from_create (&c, "", NULL, NULL, &spec, &inv), 5);
    assert_true (s_has_field (&inv, "sender"));
    assert_true (s_has_field (&inv, "title"));
    assert_true (s_has_field (&inv, "responsible"));
    assert_true (s_has_field (&inv, "coexecutors[1]"));
    assert_true (s_has_field (&inv, "deadline"));
    assert_non_null (strstr (inv.message, "title is required"));
    assert_non_null (strstr (inv.message, "is not a date and time"));
}

static void
test_create_parses_the_deadline_in_the_company_zone (void **state)
{
    (void) state;
    Crm__V1__CreateTask c = s_create ();
    task_spec_t spec;
    task_invalid_t inv;
    assert_int_equal (task_from_create (&c, "ivanov", NULL, NULL, &spec, &inv), 0);
    assert_int_equal (spec.deadline_ms, 1796128200000);  // 12:30 UTC
    assert_string_equal (spec.creator, "ivanov");
    assert_string_equal (spec.request_key, "");

    c.deadline = "01.12.2026 15:30";
    assert_int_equal (task_from_create (&c, "ivanov", NULL, NULL, &spec, &inv), 0);
    assert_int_equal (spec.deadline_ms, 1796128200000);

    c.deadline = "";
    c.deadline_ms = 1796128200000;
    assert_int_equal (task_from_create (&c, "ivanov", NULL, NULL, &spec, &inv), 0);
    assert_int_equal (spec.deadline_ms, 1796128200000);

    c.deadline = "2026-12-01 15:30";
    assert_int_equal (task_from_create (&c, "ivanov", NULL, NULL, &spec, &inv), 1);
    assert_string_equal (inv.fields[0], "deadline");
}

static bool
s_staff (const char *login, void *arg)
{
    (void) arg;
    return strcmp (login, "ghost") != 0;
}

static void
test_create_refuses_logins_the_staff_directory_does_not_know (void **state)
{
    (void) state;
    char *people[] = {"ghost"};
    Crm__V1__CreateTask c = s_create ();
    c.responsible = "ghost";
    c.coexecutors = people;
    c.n_coexecutors = 1;
    task_spec_t spec;
    task_invalid_t inv;
    assert_int_equal (task_from_create (&c, "ivanov", s_staff, NULL, &spec, &inv), 2);
    assert_true (s_has_field (&inv, "responsible"));
    assert_true (s_has_field (&inv, "coexecutors[0]"));
    assert_non_null (strstr (inv.message, "responsible 'ghost' is not in the staff directory"));
}

static void
test_activity_needs_key_title_responsible_and_time (void **state)
{
    (void) state;
    Crm__V1__ActivityRequested a = CRM__V1__ACTIVITY_REQUESTED__INIT;
    char reason[256];
    assert_int_equal (task_activity_check (&a, NULL, NULL, reason, sizeof reason), -1);
    assert_non_null (strstr (reason, "request_key is required"));
    assert_non_null (strstr (reason, "at_ms is required"));
    a.request_key = "lead:5:call";
    a.title = "Позвонить клиенту";
    a.responsible = "ivanov";
    a.at_ms = 1796128200000;
    assert_int_equal (task_activity_check (&a, NULL, NULL, reason, sizeof reason), 0);
}

static void
test_requests_for_people_outside_the_staff_directory_are_refused (void **state)
{
    (void) state;
    task_spec_t spec;
    char reason[256];
    Crm__V1__TaskRequested r = s_request ();
    assert_int_equal (task_from_request (&r, s_staff, NULL, &spec, reason, sizeof reason), 0);
    r.responsible = "ghost";
    assert_int_equal (task_from_request (&r, s_staff, NULL, &spec, reason, sizeof reason), -1);
    assert_string_equal (reason, "responsible 'ghost' is not in the staff directory");
    r = s_request ();
    char *coexecutors[] = {"petrova", "ghost"};
    r.coexecutors = coexecutors;
    r.n_coexecutors = 2;
    assert_int_equal (task_from_request (&r, s_staff, NULL, &spec, reason, sizeof reason), -1);
    assert_string_equal (reason, "coexecutors[1] 'ghost' is not in the staff directory");

    Crm__V1__ActivityRequested a = CRM__V1__ACTIVITY_REQUESTED__INIT;
    a.request_key = "lead:5:call";
    a.title = "Позвонить клиенту";
    a.responsible = "ghost";
    a.at_ms = 1796128200000;
    assert_int_equal (task_activity_check (&a, s_staff, NULL, reason, sizeof reason), -1);
    assert_string_equal (reason, "responsible 'ghost' is not in the staff directory");
    a.responsible = "ivanov";
    assert_int_equal (task_activity_check (&a, s_staff, NULL, reason, sizeof reason), 0);
}

// ---------------------------------------------------------------- completion

static void
test_attachment_over_the_limit_is_too_large_naming_file_and_limit (void **state)
{
    (void) state;
    uint8_t bytes[11] = {0};
    Crm__V1__AttachmentData a = CRM__V1__ATTACHMENT_DATA__INIT, *list[] = {&a};
    a.name = "счёт.pdf";
    a.data.data = bytes;
    a.data.len = sizeof bytes;
    Crm__V1__CompleteTask c = CRM__V1__COMPLETE_TASK__INIT;
    c.task_id = 1;
    c.attachments = list;
    c.n_attachments = 1;
    task_invalid_t inv;
    assert_string_equal (task_completion_check (&c, NULL, 0, 10, &inv), "TOO_LARGE");
    assert_string_equal (inv.fields[0], "attachments[0].data");
    assert_string_equal (
        inv.message,
        "attachment 'счёт.pdf' is 11 bytes; the limit is 10 bytes (CRM_TASKS_ATTACHMENT_MAX_BYTES)");
    assert_null (task_completion_check (&c, NULL, 0, 11, &inv));
}

static void
test_attachment_names_must_be_file_names_given_once (void **state)
{
    (void) state;
    Crm__V1__AttachmentData a = CRM__V1__ATTACHMENT_DATA__INIT, b = CRM__V1__ATTACHMENT_DATA__INIT,
                            d = CRM__V1__ATTACHMENT_DATA__INIT, *list[] = {&a, &b, &d};
    a.name = "../etc/passwd";
    b.name = "";
    d.name = "../etc/passwd";
    Crm__V1__CompleteTask c = CRM__V1__COMPLETE_TASK__INIT;
    c.attachments = list;
    c.n_attachments = 3;
    task_invalid_t inv;
    assert_string_equal (task_completion_check (&c, NULL, 0, 100, &inv), "INVALID_ARGUMENT");
    assert_int_equal (inv.count, 3);
    assert_string_equal (inv.fields[0], "attachments[0].name");
    assert_string_equal (inv.fields[1], "attachments[1].name");
    assert_string_equal (inv.fields[2], "attachments[2].name");
    assert_non_null (strstr (inv.message, "without '/'"));
    assert_non_null (strstr (inv.message, "every attachment needs a name"));
}

static void
test_a_nul_in_an_attachment_name_is_seen_in_the_encoded_command (void **state)
{
    (void) state;
    //  CompleteTask {task_id: 1, attachments: [{name: "a\0b", data: "x"}]}:
    //  protobuf-c ends the name at the NUL, so it reads "a".
    const uint8_t wire[] = {0x08, 0x01, 0x1a, 0x08, 0x0a, 0x03, 'a', 0x00, 'b', 0x1a, 0x01, 'x'};
    Crm__V1__CompleteTask *c = crm__v1__complete_task__unpack (NULL, sizeof wire, wire);
    assert_non_null (c);
    assert_string_equal (c->attachments[0]->name, "a");
    task_invalid_t inv;
    assert_string_equal (task_completion_check (c, wire, sizeof wire, 100, &inv), "INVALID_ARGUMENT");
    assert_string_equal (inv.fields[0], "attachments[0].name");
    assert_non_null (strstr (inv.message, "NUL"));
    crm__v1__complete_task__free_unpacked (c, NULL);
}

static void
test_only_the_responsible_or_a_coexecutor_may_complete (void **state)
{
    (void) state;
    Crm__V1__Task t = CRM__V1__TASK__INIT;
    t.responsible = "ivanov";
    t.coexecutors = s_two;
    t.n_coexecutors = 2;
    assert_true (task_may_complete (&t, "ivanov"));
    assert_true (task_may_complete (&t, "sidorov"));
    assert_false (task_may_complete (&t, "volkov"));
    assert_false (task_may_complete (&t, ""));
}

// ---------------------------------------------------------------- keys and texts

static void
test_keys_and_correlation_ids (void **state)
{
    (void) state;
    char buf[64];
    uint64_t id = 0;
    assert_string_equal (task_correlation (buf, sizeof buf, 12, "deal:7"), "deal:7");
    assert_string_equal (task_correlation (buf, sizeof buf, 12, ""), "task:12");
    assert_string_equal (task_overdue_key (buf, sizeof buf, 12), "task:12:overdue");
    assert_int_equal (task_parse_overdue_key ("task:12:overdue", &id), 0);
    assert_int_equal (id, 12);
    const char *bad[] = {"task:0:overdue",
                         "task:012:overdue",
                         "task::overdue",
                         "task:12:overdue:x",
                         "task:12",
                         "lead:12:overdue",
                         "task:99999999999999999999:overdue"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (task_parse_overdue_key (bad[i], &id), -1);
    assert_string_equal (task_record_label (buf, sizeof buf, "lead:5"), "лид №5");
    assert_string_equal (task_record_label (buf, sizeof buf, "deal:7"), "сделка №7");
    assert_string_equal (task_record_label (buf, sizeof buf, "order:x"), "order:x");
    assert_true (task_login_ok ("ivanov"));
    assert_true (task_login_ok ("иванов"));
    assert_false (task_login_ok ("a b"));
    assert_false (task_login_ok ("a,b"));
    assert_false (task_login_ok (""));
}

static void
test_notification_texts_in_the_company_zone (void **state)
{
    (void) state;
    Crm__V1__TaskRequested r = s_request ();
    task_spec_t spec;
    char reason[256], text[TASK_TEXT_MAX];
    assert_int_equal (task_from_request (&r, NULL, NULL, &spec, reason, sizeof reason), 0);
    task_created_text (text, sizeof text, 12, &spec, "ivanov");
    assert_string_equal (
        text, "Новая задача №12: Рассчитать запрос и выставить КП (лид №5), срок 01.12.2026 15:30");
    task_created_text (text, sizeof text, 12, &spec, "petrova");
    assert_string_equal (text, "Вы соисполнитель задачи №12: Рассчитать запрос и выставить КП (лид №5), "
                               "ответственный ivanov, срок 01.12.2026 15:30");
    spec.record = "";
    spec.deadline_ms = 0;
    task_created_text (text, sizeof text, 3, &spec, "ivanov");
    assert_string_equal (text, "Новая задача №3: Рассчитать запрос и выставить КП");
    task_overdue_text (text, sizeof text, 12, "Позвонить", 1796128200000);
    assert_string_equal (text, "Задача №12 «Позвонить» просрочена: срок был 01.12.2026 15:30");
    //  Cut short, a text still ends on a whole character ("№" is 3 bytes).
    task_overdue_text (text, 15, 12, "Позвонить", 1796128200000);
    assert_string_equal (text, "Задача ");
}

static void
test_sha256_of_known_inputs (void **state)
{
    (void) state;
    char hex[65];
    assert_int_equal (task_sha256_hex ("abc", 3, hex), 0);
    assert_string_equal (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal (task_sha256_hex (NULL, 0, hex), 0);
    assert_string_equal (hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_valid_request_fills_spec_without_the_responsible_among_coexecutors),
        cmocka_unit_test (test_request_without_key_title_or_responsible_is_refused),
        cmocka_unit_test (test_request_with_bad_bytes_or_values_is_refused),
        cmocka_unit_test (test_create_names_every_bad_field),
        cmocka_unit_test (test_create_parses_the_deadline_in_the_company_zone),
        cmocka_unit_test (test_create_refuses_logins_the_staff_directory_does_not_know),
        cmocka_unit_test (test_activity_needs_key_title_responsible_and_time),
        cmocka_unit_test (test_requests_for_people_outside_the_staff_directory_are_refused),
        cmocka_unit_test (test_attachment_over_the_limit_is_too_large_naming_file_and_limit),
        cmocka_unit_test (test_attachment_names_must_be_file_names_given_once),
        cmocka_unit_test (test_a_nul_in_an_attachment_name_is_seen_in_the_encoded_command),
        cmocka_unit_test (test_only_the_responsible_or_a_coexecutor_may_complete),
        cmocka_unit_test (test_keys_and_correlation_ids),
        cmocka_unit_test (test_notification_texts_in_the_company_zone),
        cmocka_unit_test (test_sha256_of_known_inputs),
    };
    return cmocka_run_group_tests (tests, s_moscow, NULL);
}

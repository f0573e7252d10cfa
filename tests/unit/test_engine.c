/*  test_engine: the rule engine (common/engine.c) running the shipped
    definitions (deploy/pipelines/), rule by rule of process.md §1-§3:
    what each input decides (stage, values, effects, history), and what it
    refuses. No sockets, no database.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tz.h"

static staff_t *s_staff;
static pipeline_t *s_funnel;
static pipeline_t *s_deals;

//  2026-12-01 12:00 UTC = 15:00 in Moscow.
#define NOW 1796140800000LL
#define MIN 60000LL

static int
s_setup (void **state)
{
    (void) state;
    char path[512], err[512];
    const char *root = getenv ("CRM_ROOT") ? getenv ("CRM_ROOT") : ".";
    snprintf (path, sizeof path, "%s/deploy/pipelines/staff.yaml", root);
    s_staff = staff_load (path, NULL, err, sizeof err);
    if (!s_staff || tz_init (s_staff->time_zone, err, sizeof err)) {
        fprintf (stderr, "%s\n", err);
        return -1;
    }
    snprintf (path, sizeof path, "%s/deploy/pipelines/lead_funnel.yaml", root);
    s_funnel = pipeline_load (path, s_staff, NULL, err, sizeof err);
    snprintf (path, sizeof path, "%s/deploy/pipelines/new_client.yaml", root);
    s_deals = s_funnel ? pipeline_load (path, s_staff, NULL, err, sizeof err) : NULL;
    if (!s_deals)
        fprintf (stderr, "%s\n", err);
    return s_deals ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    pipeline_destroy (&s_funnel);
    pipeline_destroy (&s_deals);
    staff_destroy (&s_staff);
    return 0;
}

//  A record under test: stage, values and task counts as its owner stores them.
typedef struct {
    engine_record_t rec;
    engine_value_t values[16];
    engine_tag_t tags[4];
} record_t;

static void
s_record (record_t *r, const char *stage, uint32_t version)
{
    memset (r, 0, sizeof *r);
    r->rec.id = 5;
    r->rec.stage = stage;
    r->rec.version = version;
    r->rec.entered_ms = NOW - 60 * MIN;
    r->rec.responsible = "ivanov";
    r->values[0] = (engine_value_t){"name", "Пётр Клиентов"};
    r->values[1] = (engine_value_t){"company", "ООО Ромашка"};
    r->values[2] = (engine_value_t){"phone", "+7 900 000-00-00"};
    r->rec.values = r->values;
    r->rec.n_values = 3;
    r->rec.tags = r->tags;
}

static void
s_value (record_t *r, const char *name, const char *value)
{
    r->values[r->rec.n_values++] = (engine_value_t){name, value};
}

static void
s_tag (record_t *r, const char *tag, uint32_t total, uint32_t completed)
{
    r->tags[r->rec.n_tags++] = (engine_tag_t){tag, total, completed};
}

//  Applies a move with up to 4 name=value pairs (NULL-terminated).
static void
s_move (const pipeline_t *def, record_t *r, const char *stage, engine_result_t *out, ...)
{
    engine_value_t set[4];
    size_t n = 0;
    va_list args;
    va_start (args, out);
    const char *name;
    while ((name = va_arg (args, const char *)) && n < 4) {
        set[n].name = name;
        set[n++].value = va_arg (args, const char *);
    }
    va_end (args);
    engine_input_t in = {
        .kind = ENGINE_MOVE, .actor = "ivanov", .now_ms = NOW, .stage = stage, .set = set, .n_set = n};
    assert_int_equal (engine_apply (def, &r->rec, &in, out), 0);
}

static size_t
s_count (const engine_result_t *out, engine_effect_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < out->n_effects; i++)
        n += out->effects[i].kind == kind;
    return n;
}

static const engine_effect_t *
s_find (const engine_result_t *out, engine_effect_kind_t kind)
{
    for (size_t i = 0; i < out->n_effects; i++)
        if (out->effects[i].kind == kind)
            return &out->effects[i];
    fail_msg ("no effect of kind %d among %zu", kind, out->n_effects);
    return NULL;
}

static int64_t
s_ms (const char *local)
{
    int64_t ms;
    char err[256];
    assert_int_equal (tz_parse (local, &ms, err, sizeof err), 0);
    return ms;
}

//  ---------------------------------------------------------------- §1 leads

static void
test_new_lead_notifies_responsible (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "", 0);
    engine_input_t in = {.kind = ENGINE_CREATE, .actor = "website", .now_ms = NOW};
    engine_result_t out;
    assert_int_equal (engine_apply (s_funnel, &r.rec, &in, &out), 0);
    assert_null (out.code);
    assert_string_equal (out.stage, "new");
    assert_true (out.changed);
    assert_int_equal (out.n_effects, 1);
    const engine_effect_t *e = s_find (&out, ENGINE_NOTIFY);
    assert_string_equal (e->recipient, "ivanov");
    assert_string_equal (e->rule, "new-lead");
    assert_string_equal (e->key, "lead:5:v1:new-lead:0");
    assert_non_null (strstr (e->text, "Новый лид №5: Пётр Клиентов ООО Ромашка"));
    assert_non_null (strstr (e->text, "Свяжитесь с клиентом"));
    assert_null (strstr (e->text, "  "));                    // empty email collapsed
    assert_non_null (strstr (e->text, "00-00. Свяжитесь"));  // no blank before the stop
    assert_string_equal (out.history[0].action, "created");
    assert_string_equal (out.history[1].rule, "new-lead");
    engine_result_free (&out);
}

static void
test_in_progress_creates_proposal_task (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "new", 1);
    engine_result_t out;
    s_move (s_funnel, &r, "in_progress", &out, NULL);
    assert_null (out.code);
    assert_int_equal (out.n_effects, 1);
    const engine_effect_t *e = s_find (&out, ENGINE_TASK);
    assert_string_equal (e->text, "Рассчитать запрос и выставить КП");
    assert_string_equal (e->recipient, "ivanov");
    assert_string_equal (e->creator, "ivanov");
    assert_string_equal (e->tag, "proposal");
    assert_string_equal (e->key, "lead:5:v2:proposal:0");
    assert_int_equal (out.n_moves, 1);
    assert_string_equal (out.moves[0].from, "new");
    assert_string_equal (out.moves[0].rule, "");
    engine_result_free (&out);
}

static void
test_answer_given_requires_next_call (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "in_progress", 2);
    engine_result_t out;
    s_move (s_funnel, &r, "answer_given", &out, NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_int_equal (out.n_fields, 1);
    assert_string_equal (out.fields[0], "next_call_at");
    assert_non_null (strstr (out.message, "next_call_at"));
    assert_non_null (strstr (out.message, "date and time"));
    assert_false (out.changed);
    assert_int_equal (out.n_effects, 0);
    assert_int_equal (out.n_history, 0);
    engine_result_free (&out);

    s_move (s_funnel, &r, "answer_given", &out, "next_call_at", "завтра", NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_string_equal (out.fields[0], "next_call_at");
    engine_result_free (&out);
}

//  One command that moves and sets the field: one activity, one timer.
static void
test_answer_given_plans_call_and_reminder (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "in_progress", 2);
    engine_result_t out;
    s_move (s_funnel, &r, "answer_given", &out, "next_call_at", "2026-12-02 15:30", NULL);
    assert_null (out.code);
    int64_t call = s_ms ("2026-12-02 15:30");
    assert_int_equal (out.n_effects, 2);
    const engine_effect_t *a = s_find (&out, ENGINE_ACTIVITY);
    assert_int_equal (a->at_ms, call);
    assert_string_equal (a->recipient, "ivanov");
    assert_string_equal (a->key, "lead:5:next-call:0");
    const engine_effect_t *t = s_find (&out, ENGINE_TIMER_SET);
    assert_int_equal (t->at_ms, call - 15 * MIN);
    assert_string_equal (t->key, "lead:5:call-reminder");
    assert_int_equal (out.n_values, 1);
    assert_string_equal (out.values[0].name, "next_call_at");
    char expect[32];
    snprintf (expect, sizeof expect, "%" PRId64, call);
    assert_string_equal (out.values[0].value, expect);
    engine_result_free (&out);
}

static void
test_changing_next_call_reschedules (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "answer_given", 3);
    char before[32];
    snprintf (before, sizeof before, "%" PRId64, s_ms ("2026-12-02 15:30"));
    s_value (&r, "next_call_at", before);
    engine_result_t out;
    s_move (s_funnel, &r, "answer_given", &out, "next_call_at", "02.12.2026 17:00", NULL);
    assert_null (out.code);
    assert_int_equal (s_count (&out, ENGINE_TIMER_SET), 1);
    assert_int_equal (s_count (&out, ENGINE_ACTIVITY), 1);
    assert_int_equal (s_count (&out, ENGINE_TIMER_CANCEL), 0);
    assert_int_equal (s_find (&out, ENGINE_TIMER_SET)->at_ms, s_ms ("2026-12-02 17:00") - 15 * MIN);
    assert_string_equal (s_find (&out, ENGINE_ACTIVITY)->key, "lead:5:next-call:0");
    assert_int_equal (out.n_moves, 0);
    engine_result_free (&out);

    //  The same value again: nothing to do, nothing restarted.
    s_move (s_funnel, &r, "", &out, "next_call_at", "2026-12-02 15:30", NULL);
    assert_null (out.code);
    assert_false (out.changed);
    assert_int_equal (out.n_effects, 0);
    engine_result_free (&out);
}

static void
test_leaving_answer_given_cancels_reminder (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "answer_given", 3);
    s_value (&r, "next_call_at", "1796227200000");
    engine_result_t out;
    s_move (s_funnel, &r, "junk", &out, NULL);
    assert_null (out.code);
    assert_string_equal (s_find (&out, ENGINE_TIMER_CANCEL)->key, "lead:5:call-reminder");
    assert_string_equal (s_find (&out, ENGINE_CREATE_CONTACT)->flag, "Не было сделки");
    assert_int_equal (s_count (&out, ENGINE_OPEN_DEAL), 0);
    //  The call was still ahead: its activity goes too.
    assert_string_equal (s_find (&out, ENGINE_ACTIVITY_CANCEL)->key, "lead:5:next-call:0");
    bool noted = false;     // the reminder was still ahead: its cancel is on record
    for (size_t i = 0; i < out.n_history; i++)
        noted = noted || strcmp (out.history[i].action, "timer cancelled") == 0;
    assert_true (noted);
    engine_result_free (&out);

    //  The call's time has passed: the activity stays on record.
    r.values[r.rec.n_values - 1].value = "1796040000000";
    s_move (s_funnel, &r, "junk", &out, NULL);
    assert_int_equal (s_count (&out, ENGINE_ACTIVITY_CANCEL), 0);
    assert_int_equal (s_count (&out, ENGINE_TIMER_CANCEL), 1);
    engine_result_free (&out);

    s_move (s_funnel, &r, "converted", &out, NULL);
    assert_null (out.code);
    assert_int_equal (s_count (&out, ENGINE_TIMER_CANCEL), 1);
    assert_string_equal (s_find (&out, ENGINE_CREATE_CONTACT)->flag, "");
    assert_string_equal (s_find (&out, ENGINE_OPEN_DEAL)->pipeline, "new_client");
    engine_result_free (&out);
}

static void
test_reminder_on_time_and_missed (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "answer_given", 3);
    int64_t call = s_ms ("2026-12-01 15:30");
    char value[32];
    snprintf (value, sizeof value, "%" PRId64, call);
    s_value (&r, "next_call_at", value);
    engine_input_t in = {.kind = ENGINE_TIMER,
                         .actor = "system",
                         .now_ms = call - 15 * MIN,
                         .timer = "call-reminder",
                         .due_ms = call - 15 * MIN};
    engine_result_t out;
    assert_int_equal (engine_apply (s_funnel, &r.rec, &in, &out), 0);
    assert_int_equal (out.n_effects, 1);
    const engine_effect_t *e = s_find (&out, ENGINE_NOTIFY);
    assert_non_null (strstr (e->text, "Позвоните клиенту в 15:30"));
    assert_string_equal (e->recipient, "ivanov");
    engine_result_free (&out);

    //  Fired after the call itself: it says the call was missed, and when.
    in.now_ms = call + 120 * MIN;
    assert_int_equal (engine_apply (s_funnel, &r.rec, &in, &out), 0);
    e = s_find (&out, ENGINE_NOTIFY);
    assert_non_null (strstr (e->text, "Пропущен звонок"));
    assert_non_null (strstr (e->text, "01.12.2026 15:30"));
    engine_result_free (&out);

    //  A firing for an old time (the call was moved): ignored.
    in.due_ms = call - 30 * MIN;
    assert_int_equal (engine_apply (s_funnel, &r.rec, &in, &out), 0);
    assert_null (out.code);
    assert_int_equal (out.n_effects, 0);
    assert_false (out.changed);
    engine_result_free (&out);

    //  The lead left the stage before the cancel reached the timer: ignored.
    r.rec.stage = "in_progress";
    in.due_ms = call - 15 * MIN;
    assert_int_equal (engine_apply (s_funnel, &r.rec, &in, &out), 0);
    assert_int_equal (out.n_effects, 0);
    engine_result_free (&out);
}

static void
test_refusals (void **state)
{
    (void) state;
    record_t r;
    engine_result_t out;
    s_record (&r, "new", 1);
    s_move (s_funnel, &r, "answer_given", &out, "next_call_at", "2026-12-02 15:30", NULL);
    assert_string_equal (out.code, "MOVE_NOT_ALLOWED");
    assert_non_null (strstr (out.message, "allowed: in_progress"));
    engine_result_free (&out);

    s_move (s_funnel, &r, "in_work", &out, NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_string_equal (out.fields[0], "stage");
    assert_non_null (strstr (out.message, "in_work"));
    engine_result_free (&out);

    s_move (s_funnel, &r, "in_progress", &out, "budget", "100", "next_call_at", "soon", NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_int_equal (out.n_fields, 2);
    assert_string_equal (out.fields[0], "budget");
    assert_string_equal (out.fields[1], "next_call_at");
    assert_int_equal (out.n_effects, 0);
    engine_result_free (&out);

    engine_input_t in = {
        .kind = ENGINE_MOVE, .actor = "ivanov", .now_ms = NOW, .stage = "in_progress", .version = 7};
    assert_int_equal (engine_apply (s_funnel, &r.rec, &in, &out), 0);
    assert_string_equal (out.code, "STALE_VERSION");
    engine_result_free (&out);

    s_record (&r, "converted", 5);
    s_move (s_funnel, &r, "junk", &out, NULL);
    assert_string_equal (out.code, "MOVE_NOT_ALLOWED");
    assert_non_null (strstr (out.message, "closed"));
    engine_result_free (&out);
}

//  Europe/Berlin, 2027-03-28: clocks go 02:00 -> 03:00. A call at 03:10
//  local is reminded 15 real minutes before: 01:55 CET (there is no 02:55).
static void
test_reminder_across_dst (void **state)
{
    (void) state;
    char err[256];
    assert_int_equal (tz_init ("Europe/Berlin", err, sizeof err), 0);
    record_t r;
    s_record (&r, "in_progress", 2);
    engine_result_t out;
    s_move (s_funnel, &r, "answer_given", &out, "next_call_at", "2027-03-28 03:10", NULL);
    assert_null (out.code);
    assert_int_equal (s_find (&out, ENGINE_TIMER_SET)->at_ms, 1806196200000LL - 15 * MIN);  // 01:10Z - 15 min
    char shown[64];
    tz_format (s_find (&out, ENGINE_TIMER_SET)->at_ms, "%H:%M %Z", shown, sizeof shown);
    assert_string_equal (shown, "01:55 CET");
    engine_result_free (&out);

    s_move (s_funnel, &r, "answer_given", &out, "next_call_at", "2027-03-28 02:30", NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_non_null (strstr (out.message, "does not exist"));
    engine_result_free (&out);
    assert_int_equal (tz_init ("Europe/Moscow", err, sizeof err), 0);
}

//  ---------------------------------------------------------------- §2 deals

static void
test_invoice_requires_three_fields (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "new", 1);
    engine_result_t out;
    s_move (s_deals, &r, "invoice", &out, NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_int_equal (out.n_fields, 3);
    assert_string_equal (out.fields[0], "service_type");
    assert_string_equal (out.fields[1], "designer_needed");
    assert_string_equal (out.fields[2], "supplier_prepaid");
    assert_non_null (strstr (out.message, "design «Дизайн», design_print «Дизайн+Полиграфия»"));
    assert_non_null (strstr (out.message, "yes or no"));
    engine_result_free (&out);

    s_move (s_deals, &r, "invoice", &out, "service_type", "print", "designer_needed", "да",
            "supplier_prepaid", "no", NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_int_equal (out.n_fields, 1);
    assert_string_equal (out.fields[0], "service_type");
    engine_result_free (&out);

    s_move (s_deals, &r, "invoice", &out, "service_type", "design", "designer_needed", "да",
            "supplier_prepaid", "no", NULL);
    assert_null (out.code);
    const engine_effect_t *e = s_find (&out, ENGINE_TASK);
    assert_string_equal (e->text, "Подготовить счет");
    assert_string_equal (e->recipient, "petrova");
    assert_string_equal (e->creator, "ivanov");
    assert_string_equal (e->tag, "invoice");
    engine_result_free (&out);
}

static void
test_invoice_done_moves_and_chases_payment (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "invoice", 2);
    s_tag (&r, "invoice", 1, 1);
    engine_input_t in = {
        .kind = ENGINE_TASK_DONE, .actor = "system", .now_ms = NOW, .tag = "invoice", .task_id = 42};
    engine_result_t out;
    assert_int_equal (engine_apply (s_deals, &r.rec, &in, &out), 0);
    assert_null (out.code);
    assert_string_equal (out.stage, "awaiting_payment");
    assert_int_equal (out.entered_ms, NOW);
    assert_int_equal (out.n_moves, 1);
    assert_string_equal (out.moves[0].rule, "invoice-ready");
    const engine_effect_t *n = s_find (&out, ENGINE_NOTIFY);
    assert_string_equal (n->recipient, "ivanov");
    //  {task}: the completed task, where the invoice is attached.
    assert_string_equal (
        n->text, "Счет по сделке №5 (ООО Ромашка) готов, он во вложении к задаче №42: отправьте его клиенту");
    const engine_effect_t *t = s_find (&out, ENGINE_TIMER_SET);
    assert_int_equal (t->at_ms, NOW + 3 * 24 * 60 * MIN);
    assert_string_equal (t->key, "deal:5:payment-chase");
    engine_result_free (&out);

    //  Not every invoice task done yet: nothing.
    r.tags[0].completed = 0;
    assert_int_equal (engine_apply (s_deals, &r.rec, &in, &out), 0);
    assert_int_equal (out.n_effects, 0);
    assert_false (out.changed);
    engine_result_free (&out);
}

static void
test_payment_chase_fires_and_is_cancelled (void **state)
{
    (void) state;
    record_t r;
    s_record (&r, "awaiting_payment", 3);
    engine_input_t in = {.kind = ENGINE_TIMER,
                         .actor = "system",
                         .now_ms = r.rec.entered_ms + 3 * 1440 * MIN,
                         .timer = "payment-chase",
                         .due_ms = r.rec.entered_ms + 3 * 1440 * MIN};
    engine_result_t out;
    assert_int_equal (engine_apply (s_deals, &r.rec, &in, &out), 0);
    assert_non_null (strstr (s_find (&out, ENGINE_NOTIFY)->text, "оплаты пока нет"));
    engine_result_free (&out);

    s_value (&r, "supplier_prepaid", "no");
    s_move (s_deals, &r, "paid", &out, NULL);
    assert_string_equal (s_find (&out, ENGINE_TIMER_CANCEL)->key, "deal:5:payment-chase");
    assert_int_equal (s_count (&out, ENGINE_TASK), 0);  // supplier not prepaid
    engine_result_free (&out);

    r.values[r.rec.n_values - 1].value = "yes";
    s_move (s_deals, &r, "paid", &out, NULL);
    const engine_effect_t *t = s_find (&out, ENGINE_TASK);
    assert_string_equal (t->text, "Запросить счет у поставщика");
    assert_string_equal (t->recipient, "petrova");
    engine_result_free (&out);
}

static void
test_supply_tasks_follow_conditions (void **state)
{
    (void) state;
    record_t r;
    engine_result_t out;
    s_record (&r, "paid", 4);
    s_value (&r, "designer_needed", "yes");
    s_move (s_deals, &r, "supply", &out, "supplier_pickup", "driver_pickup", "supply_at", "2026-12-03 10:00",
            NULL);
    assert_null (out.code);
    assert_int_equal (s_count (&out, ENGINE_TASK), 2);
    assert_string_equal (out.effects[0].recipient, "sidorov");
    assert_int_equal (out.effects[0].at_ms, s_ms ("2026-12-03 10:00"));
    assert_string_equal (out.effects[1].recipient, "kuznetsova");
    assert_int_equal (out.effects[1].at_ms, 0);
    engine_result_free (&out);

    s_record (&r, "paid", 4);
    s_value (&r, "designer_needed", "no");
    s_move (s_deals, &r, "supply", &out, "supplier_pickup", "supplier_delivers", "supply_at",
            "2026-12-03 10:00", NULL);
    assert_null (out.code);
    assert_int_equal (out.n_effects, 0);
    engine_result_free (&out);

    s_move (s_deals, &r, "supply", &out, NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_int_equal (out.n_fields, 2);
    engine_result_free (&out);
}

static void
test_production_notice_and_end_timer (void **state)
{
    (void) state;
    record_t r;
    engine_result_t out;
    s_record (&r, "supply", 5);
    s_move (s_deals, &r, "production", &out, "production_end_at", "2026-12-10 18:00", NULL);
    assert_null (out.code);
    assert_non_null (
        strstr (s_find (&out, ENGINE_NOTIFY)->text, "поставьте задачу производственному отделу"));
    assert_int_equal (s_find (&out, ENGINE_TIMER_SET)->at_ms, s_ms ("2026-12-10 18:00"));
    engine_result_free (&out);

    s_record (&r, "production", 6);
    char end[32];
    snprintf (end, sizeof end, "%" PRId64, s_ms ("2026-12-10 18:00"));
    s_value (&r, "production_end_at", end);
    engine_input_t in = {.kind = ENGINE_TIMER,
                         .actor = "system",
                         .now_ms = s_ms ("2026-12-10 18:00"),
                         .timer = "production-end",
                         .due_ms = s_ms ("2026-12-10 18:00")};
    assert_int_equal (engine_apply (s_deals, &r.rec, &in, &out), 0);
    assert_non_null (strstr (s_find (&out, ENGINE_NOTIFY)->text, "требует внимания"));
    engine_result_free (&out);
}

static void
test_delivery_tasks (void **state)
{
    (void) state;
    record_t r;
    engine_result_t out;
    s_record (&r, "production", 6);
    s_move (s_deals, &r, "production_done", &out, NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_non_null (strstr (out.message, "courier «Передать в курьерскую службу»"));
    engine_result_free (&out);

    s_move (s_deals, &r, "production_done", &out, "delivery_mode", "courier", NULL);
    const engine_effect_t *t = s_find (&out, ENGINE_TASK);
    assert_string_equal (t->creator, "ivanov");
    assert_string_equal (t->recipient, "ivanov");
    assert_int_equal (t->n_coexecutors, 1);
    assert_string_equal (t->coexecutors[0], "petrova");
    assert_string_equal (t->tag, "delivery");
    assert_int_equal (out.n_effects, 2);  // + the production-end timer cancelled
    engine_result_free (&out);

    s_move (s_deals, &r, "production_done", &out, "delivery_mode", "self", NULL);
    t = s_find (&out, ENGINE_TASK);
    assert_string_equal (t->creator, "ivanov");
    assert_string_equal (t->recipient, "sidorov");
    assert_int_equal (t->n_coexecutors, 0);
    engine_result_free (&out);
}

//  Delivery done before the move to shipped: the move goes on to closing_docs.
static void
test_shipped_closes_when_delivery_done (void **state)
{
    (void) state;
    record_t r;
    engine_result_t out;
    s_record (&r, "production_done", 7);
    s_tag (&r, "delivery", 1, 1);
    s_move (s_deals, &r, "shipped", &out, NULL);
    assert_null (out.code);
    assert_string_equal (out.stage, "closing_docs");
    assert_int_equal (out.n_moves, 2);
    assert_string_equal (out.moves[1].rule, "delivered");
    const engine_effect_t *t = s_find (&out, ENGINE_TASK);
    assert_string_equal (t->text, "Собрать закрывающие документы");
    assert_string_equal (t->coexecutors[0], "petrova");
    engine_result_free (&out);

    //  Not done yet: stays shipped until the completion comes.
    r.tags[0].completed = 0;
    s_move (s_deals, &r, "shipped", &out, NULL);
    assert_string_equal (out.stage, "shipped");
    engine_result_free (&out);
    s_record (&r, "shipped", 8);
    s_tag (&r, "delivery", 2, 2);
    engine_input_t in = {.kind = ENGINE_TASK_DONE, .actor = "system", .now_ms = NOW, .tag = "delivery"};
    assert_int_equal (engine_apply (s_deals, &r.rec, &in, &out), 0);
    assert_string_equal (out.stage, "closing_docs");
    engine_result_free (&out);

    s_record (&r, "closing_docs", 9);
    s_tag (&r, "closing", 1, 1);
    in.tag = "closing";
    assert_int_equal (engine_apply (s_deals, &r.rec, &in, &out), 0);
    assert_string_equal (out.stage, "won");
    engine_result_free (&out);
}

static void
test_lost_from_any_open_stage (void **state)
{
    (void) state;
    record_t r;
    engine_result_t out;
    s_record (&r, "awaiting_payment", 3);
    s_move (s_deals, &r, "lost", &out, NULL);
    assert_string_equal (out.code, "INVALID_ARGUMENT");
    assert_string_equal (out.fields[0], "lost_reason");
    engine_result_free (&out);
    s_move (s_deals, &r, "lost", &out, "lost_reason", "Клиент выбрал другого поставщика", NULL);
    assert_null (out.code);
    assert_string_equal (out.stage, "lost");
    assert_int_equal (s_count (&out, ENGINE_TIMER_CANCEL), 1);
    engine_result_free (&out);

    s_record (&r, "won", 10);
    s_move (s_deals, &r, "lost", &out, "lost_reason", "x", NULL);
    assert_string_equal (out.code, "MOVE_NOT_ALLOWED");
    engine_result_free (&out);
}

static void
test_values_parse_and_display (void **state)
{
    (void) state;
    char out[256];
    const pipeline_field_t *mode = pipeline_field (s_deals, "delivery_mode");
    assert_int_equal (engine_parse_value (mode, "self", out, sizeof out), 0);
    engine_display_value (mode, out, out, sizeof out);
    assert_string_equal (out, "Доставим сами");
    const pipeline_field_t *yes = pipeline_field (s_deals, "designer_needed");
    assert_int_equal (engine_parse_value (yes, "Да", out, sizeof out), 0);
    assert_string_equal (out, "yes");
    assert_int_equal (engine_parse_value (yes, "maybe", out, sizeof out), -1);
    const pipeline_field_t *at = pipeline_field (s_deals, "supply_at");
    assert_int_equal (engine_parse_value (at, "2026-12-03T07:00:00Z", out, sizeof out), 0);
    char shown[64];
    engine_display_value (at, out, shown, sizeof shown);
    assert_string_equal (shown, "03.12.2026 10:00");
    uint64_t id;
    char timer[64];
    assert_int_equal (engine_parse_timer_key (s_funnel, "lead:42:call-reminder", &id, timer, sizeof timer),
                      0);
    assert_int_equal (id, 42);
    assert_string_equal (timer, "call-reminder");
    assert_int_equal (engine_parse_timer_key (s_funnel, "deal:42:payment-chase", &id, timer, sizeof timer),
                      -1);
    assert_int_equal (engine_parse_timer_key (s_funnel, "lead:x:call-reminder", &id, timer, sizeof timer),
                      -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_new_lead_notifies_responsible),
        cmocka_unit_test (test_in_progress_creates_proposal_task),
        cmocka_unit_test (test_answer_given_requires_next_call),
        cmocka_unit_test (test_answer_given_plans_call_and_reminder),
        cmocka_unit_test (test_changing_next_call_reschedules),
        cmocka_unit_test (test_leaving_answer_given_cancels_reminder),
        cmocka_unit_test (test_reminder_on_time_and_missed),
        cmocka_unit_test (test_refusals),
        cmocka_unit_test (test_reminder_across_dst),
        cmocka_unit_test (test_invoice_requires_three_fields),
        cmocka_unit_test (test_invoice_done_moves_and_chases_payment),
        cmocka_unit_test (test_payment_chase_fires_and_is_cancelled),
        cmocka_unit_test (test_supply_tasks_follow_conditions),
        cmocka_unit_test (test_production_notice_and_end_timer),
        cmocka_unit_test (test_delivery_tasks),
        cmocka_unit_test (test_shipped_closes_when_delivery_done),
        cmocka_unit_test (test_lost_from_any_open_stage),
        cmocka_unit_test (test_values_parse_and_display),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}

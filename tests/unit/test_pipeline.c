/*  test_pipeline: the pipeline definitions and the staff directory
    (common/pipeline.c, pipeline_staff.c, pipeline_rules.c, yamltree.c).

    The shipped files (deploy/pipelines/, found through CRM_ROOT, which
    tests/run.sh sets) must load and say what process.md says. Then every
    kind of mistake, made by changing one spot of a shipped file and written
    to a temporary directory, must fail the load with "FILE:LINE: ..." at the
    line of that spot and name what is wrong. SHOW_ERRORS=1 prints each
    error, to read them as an operator would.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"

static char s_dir[256];    // temporary directory for the variants
static char s_root[1024];  // the repository
static staff_t *s_staff;

static char *
s_read (const char *name)
{
    char path[1200];
    snprintf (path, sizeof path, "%s/deploy/pipelines/%s", s_root, name);
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *text = calloc (1, 65536);
    size_t n = text ? fread (text, 1, 65535, file) : 0;
    fclose (file);
    if (text)
        text[n] = 0;
    return text;
}

static void
s_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "wb");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
}

static int
s_setup (void **state)
{
    (void) state;
    const char *root = getenv ("CRM_ROOT");
    snprintf (s_root, sizeof s_root, "%s", root && *root ? root : ".");
    snprintf (s_dir, sizeof s_dir, "/tmp/test_pipeline.XXXXXX");
    if (!mkdtemp (s_dir))
        return -1;
    char path[1200], err[512];
    snprintf (path, sizeof path, "%s/deploy/pipelines/staff.yaml", s_root);
    s_staff = staff_load (path, NULL, err, sizeof err);
    if (!s_staff)
        fprintf (stderr, "staff: %s\n", err);
    return s_staff ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    staff_destroy (&s_staff);
    char path[512];
    const char *names[] = {"bad.yaml", "staff.yaml", NULL};
    for (const char **n = names; *n; n++) {
        snprintf (path, sizeof path, "%s/%s", s_dir, *n);
        unlink (path);
    }
    rmdir (s_dir);
    return 0;
}

static pipeline_t *
s_load_shipped (const char *name, const char *durations)
{
    char path[1200], err[512] = "";
    snprintf (path, sizeof path, "%s/deploy/pipelines/%s", s_root, name);
    pipeline_t *p = pipeline_load (path, s_staff, durations, err, sizeof err);
    if (!p)
        fail_msg ("%s does not load: %s", name, err);
    return p;
}

//  base with the first occurrence of old replaced by new (old must occur).
static char *
s_mutate (const char *base, const char *old, const char *new)
{
    const char *at = strstr (base, old);
    if (!at) {
        fail_msg ("'%s' is not in the shipped file", old);
        return NULL;
    }
    char *text = calloc (1, strlen (base) + strlen (new) + 1);
    assert_non_null (text);
    memcpy (text, base, (size_t) (at - base));
    strcat (text, new);
    strcat (text, at + strlen (old));
    return text;
}

//  The 1-based line where anchor starts in text (anchor must occur once).
static int
s_line_of (const char *text, const char *anchor)
{
    const char *at = strstr (text, anchor);
    if (!at) {
        fail_msg ("anchor '%s' is not in the variant", anchor);
        return 0;
    }
    if (strstr (at + 1, anchor))
        fail_msg ("anchor '%s' occurs twice in the variant", anchor);
    int line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

//  err must be "PATH:LINE: ..." with LINE the line of anchor in text, and
//  hold every word (NULL-terminated).
static void
s_expect_error (const char *err, const char *path, const char *text, const char *anchor, va_list words)
{
    if (getenv ("SHOW_ERRORS"))
        printf ("%s\n", err + strlen (s_dir) + 1);
    char prefix[512];
    snprintf (prefix, sizeof prefix, "%s:%d: ", path, anchor ? s_line_of (text, anchor) : 1);
    if (strncmp (err, prefix, strlen (prefix)) != 0)
        fail_msg ("expected an error starting \"%s\", got \"%s\"", prefix, err);
    for (const char *w = va_arg (words, const char *); w; w = va_arg (words, const char *))
        if (!strstr (err, w))
            fail_msg ("error \"%s\" does not say \"%s\"", err, w);
}

//  Writes text as a definition; it must not load, and the error must be at
//  anchor's line and hold the words.
static void
s_bad_text (const char *text, const char *durations, const char *anchor, ...)
{
    char path[512], err[1024] = "";
    snprintf (path, sizeof path, "%s/bad.yaml", s_dir);
    s_write (path, text);
    pipeline_t *p = pipeline_load (path, s_staff, durations, err, sizeof err);
    if (p) {
        pipeline_destroy (&p);
        fail_msg ("the variant loaded; expected an error at '%s'", anchor ? anchor : "line 1");
    }
    va_list words;
    va_start (words, anchor);
    s_expect_error (err, path, text, anchor, words);
    va_end (words);
}

//  The shipped definition file with old replaced by new must fail at the
//  line of anchor, naming the words.
#define BAD(file, old, new, anchor, ...)                     \
    do {                                                     \
        char *base_ = s_read (file);                         \
        assert_non_null (base_);                             \
        char *text_ = s_mutate (base_, old, new);            \
        s_bad_text (text_, NULL, anchor, __VA_ARGS__, NULL); \
        free (text_);                                        \
        free (base_);                                        \
    } while (0)

//  The same for the staff file.
#define BAD_STAFF(old, new, anchor, ...) s_bad_staff (old, new, anchor, __VA_ARGS__, NULL)
static void
s_bad_staff (const char *old, const char *new, const char *anchor, ...)
{
    char *base = s_read ("staff.yaml");
    assert_non_null (base);
    char *text = s_mutate (base, old, new);
    char path[512], err[1024] = "";
    snprintf (path, sizeof path, "%s/staff.yaml", s_dir);
    s_write (path, text);
    staff_t *staff = staff_load (path, NULL, err, sizeof err);
    if (staff) {
        staff_destroy (&staff);
        fail_msg ("the staff variant loaded; expected an error at '%s'", anchor);
    }
    va_list words;
    va_start (words, anchor);
    s_expect_error (err, path, text, anchor, words);
    va_end (words);
    free (text);
    free (base);
}

//  A shipped definition with one change that must still load.
static pipeline_t *
s_good_variant (const char *file, const char *old, const char *new)
{
    char *base = s_read (file);
    assert_non_null (base);
    char *text = s_mutate (base, old, new);
    char path[512], err[1024] = "";
    snprintf (path, sizeof path, "%s/bad.yaml", s_dir);
    s_write (path, text);
    free (text);
    free (base);
    pipeline_t *p = pipeline_load (path, s_staff, NULL, err, sizeof err);
    if (!p)
        fail_msg ("the variant does not load: %s", err);
    return p;
}

static const pipeline_rule_t *
s_rule (const pipeline_t *p, const char *id)
{
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp (p->rules[i].id, id) == 0)
            return &p->rules[i];
    fail_msg ("no rule '%s'", id);
    return NULL;
}

// ---------------------------------------------------------------- shipped files

static void
test_staff_loads (void **state)
{
    (void) state;
    assert_string_equal (s_staff->time_zone, "Europe/Moscow");
    assert_string_equal (s_staff->lead_assignment, "round_robin");
    assert_int_equal (s_staff->n_people, 6);
    const char *logins[4];
    assert_int_equal (staff_holders (s_staff, "manager", logins, 4), 2);
    assert_string_equal (logins[0], "ivanov");
    assert_string_equal (logins[1], "smirnova");
    assert_int_equal (staff_holders (s_staff, "manager", logins, 1), 2);  // counts past max
    assert_int_equal (staff_holders (s_staff, "lawyer", logins, 4), 0);
    const staff_person_t *p = staff_find (s_staff, "petrova");
    assert_non_null (p);
    assert_string_equal (p->name, "Ольга Петрова");
    assert_int_equal (p->n_roles, 1);
    assert_string_equal (p->roles[0], "accountant");
    assert_null (staff_find (s_staff, "nobody"));

    char path[1200], err[512] = "";
    snprintf (path, sizeof path, "%s/deploy/pipelines/staff.yaml", s_root);
    staff_t *utc = staff_load (path, "UTC", err, sizeof err);
    assert_non_null (utc);
    assert_string_equal (utc->time_zone, "UTC");
    staff_destroy (&utc);
    assert_null (utc);
    assert_null (staff_load (path, "Europe/Atlantis", err, sizeof err));
    assert_non_null (strstr (err, "CRM_TIME_ZONE"));
    assert_non_null (strstr (err, "Europe/Atlantis"));
}

static void
test_lead_funnel_loads (void **state)
{
    (void) state;
    pipeline_t *p = s_load_shipped ("lead_funnel.yaml", NULL);
    assert_string_equal (p->id, "lead_funnel");
    assert_string_equal (p->name, "Воронка лидов");
    assert_string_equal (p->record, "lead");
    assert_ptr_equal (p->staff, s_staff);
    //  process.md §1: the five stages in order, and what each allows.
    const char *ids[] = {"new", "in_progress", "answer_given", "converted", "junk"};
    assert_int_equal (p->n_stages, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal (p->stages[i].id, ids[i]);
        assert_int_equal (p->stages[i].order, i + 1);
    }
    const pipeline_stage_t *s = pipeline_stage (p, "answer_given");
    assert_int_equal (s->kind, PIPELINE_OPEN);
    assert_int_equal (s->n_requires, 1);
    assert_string_equal (s->requires[0], "next_call_at");
    assert_int_equal (s->n_moves, 2);
    assert_string_equal (s->moves[0], "converted");
    assert_string_equal (s->moves[1], "junk");
    assert_int_equal (pipeline_stage (p, "converted")->kind, PIPELINE_WON);
    assert_int_equal (pipeline_stage (p, "junk")->kind, PIPELINE_LOST);
    assert_int_equal (pipeline_stage (p, "junk")->n_moves, 0);
    assert_null (pipeline_stage (p, "lost"));
    assert_int_equal (pipeline_field (p, "next_call_at")->type, PIPELINE_DATETIME);
    assert_null (pipeline_field (p, "name"));

    assert_int_equal (p->n_rules, 6);
    const pipeline_rule_t *r = s_rule (p, "new-lead");
    assert_int_equal (r->trigger, PIPELINE_ON_ENTER);
    assert_string_equal (r->stage, "new");
    assert_int_equal (r->actions[0].kind, PIPELINE_NOTIFY);
    assert_string_equal (r->actions[0].to, "responsible");

    r = s_rule (p, "proposal");
    assert_string_equal (r->stage, "in_progress");
    assert_int_equal (r->actions[0].kind, PIPELINE_TASK);
    assert_string_equal (r->actions[0].title, "Рассчитать запрос и выставить КП");
    assert_string_equal (r->actions[0].tag, "proposal");
    assert_false (r->actions[0].has_time);

    //  The call and its reminder 15 minutes before; a new time re-runs it.
    r = s_rule (p, "next-call");
    assert_string_equal (r->stage, "answer_given");
    assert_int_equal (r->n_watch, 1);
    assert_string_equal (r->watch[0], "next_call_at");
    assert_int_equal (r->n_actions, 2);
    assert_int_equal (r->actions[0].kind, PIPELINE_ACTIVITY);
    assert_true (r->actions[0].has_time);
    assert_string_equal (r->actions[0].time.field, "next_call_at");
    assert_int_equal (r->actions[0].time.offset_ms, 0);
    assert_int_equal (r->actions[1].kind, PIPELINE_TIMER);
    assert_string_equal (r->actions[1].timer, "call-reminder");
    assert_string_equal (r->actions[1].time.field, "next_call_at");
    assert_int_equal (r->actions[1].time.offset_ms, -15 * 60 * 1000);

    r = s_rule (p, "call-reminder");
    assert_int_equal (r->trigger, PIPELINE_ON_TIMER);
    assert_string_equal (r->timer, "call-reminder");
    assert_string_equal (r->stage, "answer_given");  // derived from next-call
    assert_string_equal (r->actions[0].missed_after, "next_call_at");
    assert_non_null (strstr (r->actions[0].missed_text, "{next_call_at}"));

    r = s_rule (p, "junk");
    assert_int_equal (r->actions[0].kind, PIPELINE_CREATE_CONTACT);
    assert_string_equal (r->actions[0].flag, "Не было сделки");
    r = s_rule (p, "convert");
    assert_string_equal (r->actions[0].flag, "");
    assert_int_equal (r->actions[1].kind, PIPELINE_OPEN_DEAL);
    assert_string_equal (r->actions[1].pipeline, "new_client");
    pipeline_destroy (&p);
    assert_null (p);
}

static void
test_new_client_loads (void **state)
{
    (void) state;
    pipeline_t *p = s_load_shipped ("new_client.yaml", NULL);
    assert_string_equal (p->record, "deal");
    assert_int_equal (p->n_stages, 11);
    assert_int_equal (pipeline_stage (p, "won")->order, 10);
    const pipeline_stage_t *lost = pipeline_stage (p, "lost");
    assert_int_equal (lost->kind, PIPELINE_LOST);
    assert_true (lost->from_any_open);
    assert_string_equal (lost->requires[0], "lost_reason");
    const pipeline_stage_t *invoice = pipeline_stage (p, "invoice");
    assert_int_equal (invoice->n_requires, 3);
    assert_string_equal (invoice->requires[0], "service_type");
    assert_string_equal (invoice->requires[1], "designer_needed");
    assert_string_equal (invoice->requires[2], "supplier_prepaid");
    const pipeline_field_t *f = pipeline_field (p, "service_type");
    assert_int_equal (f->type, PIPELINE_ENUM);
    assert_int_equal (f->n_options, 2);
    assert_string_equal (f->options[1].id, "design_print");
    assert_string_equal (f->options[1].label, "Дизайн+Полиграфия");
    assert_int_equal (pipeline_field (p, "designer_needed")->type, PIPELINE_BOOL);
    assert_int_equal (pipeline_field (p, "lost_reason")->type, PIPELINE_TEXT);

    const pipeline_rule_t *r = s_rule (p, "invoice-task");
    assert_string_equal (r->actions[0].responsible, "accountant");
    assert_string_equal (r->actions[0].creator, "responsible");
    r = s_rule (p, "invoice-ready");
    assert_int_equal (r->trigger, PIPELINE_ON_TASKS_DONE);
    assert_string_equal (r->tag, "invoice");
    assert_string_equal (r->stage, "invoice");
    assert_int_equal (r->actions[1].kind, PIPELINE_MOVE);
    assert_string_equal (r->actions[1].stage, "awaiting_payment");

    //  3 days after entering awaiting_payment (an "after": no field).
    r = s_rule (p, "payment-chase-start");
    assert_null (r->actions[0].time.field);
    assert_int_equal (r->actions[0].time.offset_ms, 3LL * 24 * 3600 * 1000);
    assert_string_equal (s_rule (p, "payment-chase")->stage, "awaiting_payment");
    assert_string_equal (s_rule (p, "production-end")->stage, "production");

    r = s_rule (p, "supplier-invoice");
    assert_int_equal (r->n_conds, 1);
    assert_string_equal (r->conds[0].field, "supplier_prepaid");
    assert_string_equal (r->conds[0].value, "yes");
    r = s_rule (p, "driver-pickup");
    assert_string_equal (r->conds[0].value, "driver_pickup");
    assert_string_equal (r->actions[0].responsible, "driver");
    assert_string_equal (r->actions[0].time.field, "supply_at");
    assert_int_equal (r->actions[0].time.offset_ms, 0);
    r = s_rule (p, "courier-delivery");
    assert_string_equal (r->conds[0].value, "courier");
    assert_int_equal (r->actions[0].n_coexecutors, 1);
    assert_string_equal (r->actions[0].coexecutors[0], "accountant");
    r = s_rule (p, "delivered");
    assert_string_equal (r->tag, "delivery");
    assert_string_equal (r->stage, "shipped");
    assert_string_equal (s_rule (p, "closed")->actions[0].stage, "won");
    pipeline_destroy (&p);
}

static void
test_durations (void **state)
{
    (void) state;
    struct {
        const char *text;
        int64_t ms;
    } good[] = {{"15m", 900000}, {"3d", 259200000}, {"1h30m", 5400000},       {"500ms", 500},
                {"2s", 2000},    {"0s", 0},         {"1d2h3m4s5ms", 93784005}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        assert_int_equal (pipeline_duration (good[i].text, &ms), 0);
        assert_int_equal (ms, good[i].ms);
    }
    const char *bad[] = {
        "", "15", "m", "15x", "1m1h", "1h1h", "-5m", "15 m", "1.5h", " 1s", "99999999999999d", "40000d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        if (pipeline_duration (bad[i], &ms) != -1)
            fail_msg ("'%s' parsed as a duration", bad[i]);
        assert_int_equal (ms, 42);
    }
    assert_int_equal (pipeline_duration (NULL, NULL), -1);
}

static void
test_durations_override (void **state)
{
    (void) state;
    pipeline_t *p = s_load_shipped ("lead_funnel.yaml", " call_reminder = 15s ");
    assert_int_equal (s_rule (p, "next-call")->actions[1].time.offset_ms, -15000);
    pipeline_destroy (&p);
    p = s_load_shipped ("new_client.yaml", "payment_chase=2s");
    assert_int_equal (s_rule (p, "payment-chase-start")->actions[0].time.offset_ms, 2000);
    pipeline_destroy (&p);

    char *base = s_read ("lead_funnel.yaml");
    s_bad_text (base, "call_reminder=15s,payment_chase=2s", "durations:", "CRM_DURATIONS",
                "unknown duration 'payment_chase'", "call_reminder", NULL);
    s_bad_text (base, "call_reminder=soon", "durations:", "CRM_DURATIONS", "'soon' is not a duration", NULL);
    s_bad_text (base, "call_reminder", "durations:", "CRM_DURATIONS", "name=duration", NULL);
    s_bad_text (base, "=15s", "durations:", "CRM_DURATIONS: '=15s' is not name=duration", NULL);
    free (base);
}

//  Variants that load: defaults, other spellings, plain durations.
static void
test_variants_that_load (void **state)
{
    (void) state;
    pipeline_t *p = s_good_variant ("lead_funnel.yaml", "          creator: responsible\n", "");
    assert_string_equal (s_rule (p, "proposal")->actions[0].creator, "responsible");
    pipeline_destroy (&p);
    p = s_good_variant ("lead_funnel.yaml",
                        "          responsible: responsible\n          at:", "          at:");
    assert_string_equal (s_rule (p, "next-call")->actions[0].responsible, "responsible");
    pipeline_destroy (&p);
    p = s_good_variant ("new_client.yaml", "if: {supplier_prepaid: \"yes\"}", "if: {supplier_prepaid: true}");
    assert_string_equal (s_rule (p, "supplier-invoice")->conds[0].value, "yes");
    pipeline_destroy (&p);
    p = s_good_variant ("new_client.yaml", "if: {designer_needed: \"yes\"}", "if: {designer_needed: no}");
    assert_string_equal (s_rule (p, "designer")->conds[0].value, "no");
    pipeline_destroy (&p);
    p = s_good_variant ("new_client.yaml", "deadline: supply_at", "deadline: 2h");
    assert_null (s_rule (p, "driver-pickup")->actions[0].time.field);
    assert_int_equal (s_rule (p, "driver-pickup")->actions[0].time.offset_ms, 7200000);
    pipeline_destroy (&p);
    p = s_good_variant ("new_client.yaml", "deadline: supply_at", "deadline: supply_at-1h30m");
    assert_string_equal (s_rule (p, "driver-pickup")->actions[0].time.field, "supply_at");
    assert_int_equal (s_rule (p, "driver-pickup")->actions[0].time.offset_ms, -5400000);
    pipeline_destroy (&p);
    p = s_good_variant ("new_client.yaml", "at: production_end_at}",
                        "at: production_end_at + payment_chase}");
    assert_int_equal (s_rule (p, "production-notice")->actions[1].time.offset_ms, 3LL * 86400000);
    pipeline_destroy (&p);
    //  Braces, formats, built-ins.
    p = s_good_variant ("lead_funnel.yaml", "Свяжитесь с клиентом",
                        "{{не поле}} {now:time} {stage_name} {responsible_name} {next_call_at:date}");
    pipeline_destroy (&p);
    //  A rule may move to a from_any_open stage; a timer rule may set a
    //  timer again (a repeating reminder) and keeps its stage.
    p = s_good_variant ("new_client.yaml", "          text: \"По сделке №{id} ({company}) оплаты пока нет",
                        "          text: \"again\"\n      - timer: {id: payment-chase, after: 1d}\n"
                        "      - notify:\n          to: responsible\n"
                        "          text: \"По сделке №{id} ({company}) оплаты пока нет");
    assert_string_equal (s_rule (p, "payment-chase")->stage, "awaiting_payment");
    pipeline_destroy (&p);
    p = s_good_variant ("new_client.yaml", "      - move: closing_docs", "      - move: lost");
    pipeline_destroy (&p);
}

// ---------------------------------------------------------------- mistakes

static void
test_yaml_mistakes (void **state)
{
    (void) state;
    BAD ("lead_funnel.yaml", "record: lead", "record: lead: deal", "record: lead: deal", "YAML syntax error");
    BAD ("lead_funnel.yaml", "record: lead", "record: lead\n---\nrecord: x", "record: x",
         "second YAML document");
    s_bad_text ("", NULL, NULL, "empty", NULL);
    s_bad_text ("# nothing but a comment\n", NULL, NULL, "empty", NULL);
    s_bad_text ("\n- a\n- b\n", NULL, "- a", "mapping", NULL);
    BAD ("lead_funnel.yaml", "record: lead", "record: lead\nrecrod: deal", "recrod", "unknown key 'recrod'",
         "allowed: pipeline, name, record");
    BAD ("lead_funnel.yaml", "record: lead", "record: lead\nrecord: deal", "record: deal",
         "'record' given twice");
    BAD ("lead_funnel.yaml", "record: lead\n", "", "pipeline: lead_funnel", "missing 'record'");
    BAD ("lead_funnel.yaml", "record: lead", "record: [lead]", "record:", "'record' must be a single value");
    BAD ("lead_funnel.yaml", "record: lead", "record: Lead2", "record:", "record 'Lead2'");
    BAD ("lead_funnel.yaml", "pipeline: lead_funnel", "pipeline: lead-funnel", "pipeline: lead-funnel",
         "'lead-funnel'");
    char path[512], err[512] = "";
    snprintf (path, sizeof path, "%s/none.yaml", s_dir);
    assert_null (pipeline_load (path, s_staff, NULL, err, sizeof err));
    assert_non_null (strstr (err, "none.yaml:1: cannot read it"));
    assert_null (pipeline_load (path, NULL, NULL, err, sizeof err));
}

static void
test_field_and_stage_mistakes (void **state)
{
    (void) state;
    BAD ("lead_funnel.yaml", "    type: datetime", "    type: date", "type: date", "field 'next_call_at'",
         "type 'date' is unknown", "datetime");
    BAD ("lead_funnel.yaml", "    label: Дата", "    lable: Дата", "lable", "unknown key 'lable'");
    BAD ("lead_funnel.yaml", "  next_call_at:", "  name:", "  name:\n    type: datetime",
         "'name' is a built-in");
    BAD ("lead_funnel.yaml", "  next_call_at:", "  call_reminder:", "call_reminder:\n    type: datetime",
         "field 'call_reminder': a duration has this name too");
    BAD ("new_client.yaml", "  supplier_prepaid:\n", "  designer_needed:\n",
         "designer_needed:\n    type: bool\n    label: Предоплата",
         "field 'designer_needed': given twice (also on line");
    BAD ("new_client.yaml", "      self: Доставим сами", "      courier: Доставим сами",
         "courier: Доставим сами", "value 'courier' given twice");
    BAD ("new_client.yaml",
         "    type: enum\n    label: Тип услуги\n    values:\n      design: Дизайн\n      design_print: "
         "Дизайн+Полиграфия\n",
         "    type: enum\n    label: Тип услуги\n", "type: enum\n    label: Тип услуги", "needs 'values'");
    BAD ("new_client.yaml", "    type: bool\n    label: Нужен дизайнер\n",
         "    type: bool\n    label: Нужен дизайнер\n    values: {a: b}\n", "values: {a: b}",
         "only for enum");

    BAD ("lead_funnel.yaml", "  - id: in_progress", "  - id: new", "- id: new\n    name: Лид в работе",
         "stage 'new': given twice (also on line");
    BAD ("lead_funnel.yaml", "    kind: won", "    kind: success", "kind: success", "stage 'converted'",
         "kind 'success' is unknown", "open, won, lost");
    BAD ("lead_funnel.yaml", "    kind: open", "    kind: won", "kind: won\n    moves: [in_progress]",
         "first stage", "open");
    BAD ("lead_funnel.yaml", "    kind: won\n", "    kind: won\n    moves: [junk]\n", "moves: [junk]",
         "stage 'converted'", "final");
    BAD ("lead_funnel.yaml", "    moves: [answer_given]", "    moves: [answer_givn]", "answer_givn",
         "stage 'in_progress'", "unknown stage 'answer_givn'", "stages: new, in_progress, answer_given");
    BAD ("lead_funnel.yaml", "    moves: [answer_given]",
         "    moves:\n      - answer_given\n      - in_progress", "- in_progress", "cannot move to itself");
    BAD ("lead_funnel.yaml", "    moves: [answer_given]", "    moves: [answer_given, answer_given]",
         "moves: [answer_given, answer_given]", "'answer_given' twice");
    BAD ("lead_funnel.yaml", "    moves: [answer_given]", "    moves: answer_given", "moves: answer_given",
         "'moves' must be a list");
    BAD ("lead_funnel.yaml", "    moves: [answer_given]", "    mvoes: [answer_given]", "mvoes",
         "stage 'in_progress': unknown key 'mvoes'",
         "allowed: id, name, kind, moves, requires, from_any_open");
    BAD ("lead_funnel.yaml", "    requires: [next_call_at]", "    requires: [next_call]",
         "requires:", "stage 'answer_given'", "unknown field 'next_call'", "fields: next_call_at");
    BAD ("new_client.yaml", "    from_any_open: true", "    from_any_open: sometimes", "from_any_open",
         "true or false");
    BAD ("lead_funnel.yaml", "    name: Лид в работе\n", "", "id: in_progress", "stage 'in_progress'",
         "missing 'name'");
}

static void
test_duration_mistakes (void **state)
{
    (void) state;
    BAD ("lead_funnel.yaml", "call_reminder: 15m", "call_reminder: 15x", "call_reminder: 15x", "durations",
         "'15x' is not a duration");
    BAD ("lead_funnel.yaml", "next_call_at - call_reminder", "next_call_at - call_remindr", "call_remindr",
         "rule 'next-call'", "bad duration 'call_remindr'", "durations: call_reminder");
    BAD ("lead_funnel.yaml", "next_call_at - call_reminder", "next_call_at - 15 minutes", "15 minutes",
         "bad duration '15 minutes'");
    BAD ("new_client.yaml", "after: payment_chase", "after: production_end_at", "after: production_end_at",
         "bad duration 'production_end_at'");
    BAD ("new_client.yaml", "after: payment_chase", "after: supply_at + 1d", "after: supply_at",
         "write a duration");
}

static void
test_rule_mistakes (void **state)
{
    (void) state;
    //  Triggers.
    BAD ("lead_funnel.yaml", "on: {enter: in_progress}", "on: {enter: in_progres}", "in_progres}",
         "rule 'proposal': unknown stage 'in_progres' (stages: new, in_progress,");
    BAD ("lead_funnel.yaml", "on: {timer: call-reminder}", "on: {timer: call-remindr}", "call-remindr",
         "rule 'call-reminder'", "no rule sets timer 'call-remindr'", "timers set: call-reminder");
    BAD ("new_client.yaml", "on: {tasks_completed: invoice, stage: invoice}",
         "on: {tasks_completed: invoce, stage: invoice}", "invoce", "rule 'invoice-ready'",
         "no task has tag 'invoce'", "tags: invoice, supplier_invoice");
    BAD ("new_client.yaml", "on: {tasks_completed: invoice, stage: invoice}",
         "on: {tasks_completed: invoice, stage: invoise}", "invoise", "unknown stage 'invoise'");
    BAD ("new_client.yaml", "on: {tasks_completed: invoice, stage: invoice}",
         "on: {tasks_completed: invoice}", "on: {tasks_completed: invoice}", "needs 'stage'");
    BAD ("lead_funnel.yaml", "on: {enter: new}", "on: {enter: new, timer: x}", "on: {enter: new",
         "exactly one of enter, timer, tasks_completed");
    BAD ("lead_funnel.yaml", "on: {enter: new}", "on: {entr: new}", "on: {entr", "unknown key 'entr'");
    BAD ("lead_funnel.yaml", "change: [next_call_at]", "change: [next_call]", "next_call]",
         "rule 'next-call'", "unknown field 'next_call'");
    BAD ("lead_funnel.yaml", "on: {timer: call-reminder}",
         "on: {timer: call-reminder, change: [next_call_at]}", "on: {timer: call-reminder, change",
         "'change' goes with enter");
    //  Rules themselves.
    BAD ("lead_funnel.yaml",
         "  - id: junk\n    on:", "  - id: proposal\n    on:", "id: proposal\n    on: {enter: junk",
         "rule 'proposal': given twice (also on line");
    BAD ("lead_funnel.yaml", "    on: {enter: junk}\n", "", "id: junk\n    do:", "rule 'junk'",
         "missing 'on'");
    BAD ("lead_funnel.yaml", "    do:\n      - create_contact: {flag: Не было сделки}", "    do: []",
         "do: []", "rule 'junk'", "no actions");
    BAD ("lead_funnel.yaml", "    on: {enter: junk}\n", "    on: {enter: junk}\n    then: x\n", "then: x",
         "rule 'junk': unknown key 'then'", "allowed: id, on, if, do");
    //  Timers across rules.
    BAD ("new_client.yaml", "      - timer: {id: payment-chase, after: payment_chase}",
         "      - timer: {id: payment-chase, after: payment_chase}\n      - timer: {id: extra, after: 1d}",
         "timer: {id: extra", "rule 'payment-chase-start'", "timer 'extra' is set but no rule runs on it");
    BAD ("new_client.yaml", "      - timer: {id: production-end, at: production_end_at}",
         "      - timer: {id: production-end, at: production_end_at}\n      - timer: {id: payment-chase, "
         "after: 1d}",
         "timer: {id: payment-chase, after: 1d}", "rule 'production-notice'", "timer 'payment-chase'",
         "'production'", "'awaiting_payment'", "one stage");
    BAD ("new_client.yaml", "      - timer: {id: payment-chase, after: payment_chase}",
         "      - timer: {id: payment-chase, at: supply_at, after: payment_chase}",
         "timer: {id: payment-chase, at", "exactly one of 'at'");
    //  Conditions.
    BAD ("new_client.yaml", "if: {supplier_prepaid: \"yes\"}", "if: {supplier_prepay: \"yes\"}",
         "supplier_prepay:", "rule 'supplier-invoice'", "unknown field 'supplier_prepay'");
    BAD ("new_client.yaml", "if: {delivery_mode: courier}", "if: {delivery_mode: courir}", "courir",
         "'courir' is not a value of 'delivery_mode'", "values: courier, self");
    BAD ("new_client.yaml", "if: {supplier_prepaid: \"yes\"}", "if: {supplier_prepaid: \"da\"}", "\"da\"",
         "values: yes, no");
    BAD ("new_client.yaml", "if: {supplier_prepaid: \"yes\"}", "if: {supply_at: \"yes\"}",
         "supply_at: \"yes\"", "date-time");
}

static void
test_action_mistakes (void **state)
{
    (void) state;
    BAD ("lead_funnel.yaml", "      - notify:", "      - notfy:", "notfy", "rule 'new-lead'",
         "unknown action 'notfy'", "notify, move, task");
    BAD ("lead_funnel.yaml", "          to: responsible", "          too: responsible",
         "too:", "rule 'new-lead': notify", "unknown key 'too'",
         "allowed: to, text, missed_after, missed_text");
    BAD ("lead_funnel.yaml", "          title: Рассчитать", "          titel: Рассчитать", "titel",
         "unknown key 'titel'");
    BAD ("lead_funnel.yaml", "          to: responsible\n", "", "text: \"Новый лид", "missing 'to'");
    BAD ("lead_funnel.yaml", "          missed_text:", "          missed_txt:", "missed_txt", "unknown key");
    BAD ("lead_funnel.yaml", "          missed_after: next_call_at\n", "",
         "to: responsible\n          text: \"Позвоните", "both missed_after and missed_text");
    BAD ("lead_funnel.yaml", "missed_after: next_call_at", "missed_after: phone", "missed_after: phone",
         "unknown field 'phone'", "date-time fields: next_call_at");
    //  Roles.
    BAD ("new_client.yaml", "          responsible: accountant", "          responsible: acountant",
         "acountant", "rule 'invoice-task': task", "role 'acountant' is held by nobody in",
         "roles: responsible, manager, accountant, driver, designer, production");
    BAD ("new_client.yaml", "          coexecutors: [accountant]", "          coexecutors: [lawyer]",
         "[lawyer]", "role 'lawyer' is held by nobody");
    BAD ("lead_funnel.yaml", "          to: responsible", "          to: manger", "to: manger",
         "role 'manger'");
    //  Templates.
    BAD ("lead_funnel.yaml", "{name} {company} {phone} {email}. Свяжитесь",
         "{name} {compny} {phone} {email}. Свяжитесь", "{compny}", "rule 'new-lead': notify",
         "unknown field '{compny}'", "next_call_at", "company");
    BAD ("lead_funnel.yaml", "{name} {company} {phone} {email}. Свяжитесь", "{name} {phone:time}. Свяжитесь",
         "{phone:time}", "only for date-time fields");
    BAD ("lead_funnel.yaml", "{name} {company} {phone} {email}. Свяжитесь", "{next_call_at:hour}. Свяжитесь",
         "{next_call_at:hour}", "unknown format");
    BAD ("lead_funnel.yaml", "Свяжитесь с клиентом", "Свяжитесь с клиентом {name", "Свяжитесь",
         "without '}'");
    BAD ("lead_funnel.yaml", "Свяжитесь с клиентом", "Свяжитесь с клиентом }", "Свяжитесь", "lone '}'");
    BAD ("new_client.yaml", "description: \"Сделка №{id}: {company}, {service_type}\"",
         "description: \"Сделка №{id}: {company}, {service_typ}\"", "{service_typ}", "rule 'designer'",
         "'{service_typ}'");
    //  Moves.
    BAD ("new_client.yaml", "      - move: awaiting_payment", "      - move: awaiting", "move: awaiting",
         "rule 'invoice-ready': move", "unknown stage 'awaiting'");
    BAD ("new_client.yaml", "      - move: closing_docs", "      - move: won",
         "move: won\n\n  - id: closing-docs", "rule 'delivered'", "stage 'shipped' may not move there",
         "moves: closing_docs, lost");
    BAD ("new_client.yaml", "      - move: won", "      - move: [won]", "move: [won]", "single value");
    //  Times.
    BAD ("new_client.yaml", "deadline: supply_at", "deadline: service_type", "deadline: service_type",
         "rule 'driver-pickup': task", "field 'service_type' is not a date-time field",
         "date-time fields: supply_at, production_end_at");
    BAD ("new_client.yaml", "deadline: supply_at", "deadline: tomorrow", "deadline: tomorrow",
         "'tomorrow' is neither a date-time field");
    BAD ("lead_funnel.yaml", "          at: next_call_at\n", "          at: 15m\n", "at: 15m",
         "rule 'next-call': activity", "unknown field '15m'");
    BAD ("lead_funnel.yaml", "          at: next_call_at\n", "", "title: \"Звонок", "missing 'at'");
    BAD ("lead_funnel.yaml", "at: next_call_at - call_reminder", "at: + call_reminder", "at: + call_reminder",
         "FIELD + DURATION");
    BAD ("lead_funnel.yaml", "{flag: Не было сделки}", "{flag: Не было сделки, mark: x}", "mark: x",
         "unknown key 'mark'");
    BAD ("lead_funnel.yaml", "{pipeline: new_client}", "{pipeline: New Client}", "New Client",
         "'New Client'");
    BAD ("lead_funnel.yaml", "          tag: proposal", "          tag: Proposal!", "Proposal!",
         "tag 'Proposal!'");
}

static void
test_staff_mistakes (void **state)
{
    (void) state;
    BAD_STAFF ("time_zone: Europe/Moscow", "time_zone: Europe/Moskow", "time_zone:", "Europe/Moskow",
               "unknown");
    BAD_STAFF ("time_zone: Europe/Moscow", "time_zone: Europe", "time_zone:", "'Europe'");
    BAD_STAFF ("time_zone: Europe/Moscow", "timezone: Europe/Moscow", "timezone", "unknown key 'timezone'",
               "allowed: time_zone, lead_assignment, staff");
    BAD_STAFF ("lead_assignment: round_robin", "lead_assignment: petrova",
               "lead_assignment:", "'petrova' does not hold role manager");
    BAD_STAFF ("lead_assignment: round_robin", "lead_assignment: round-robin",
               "lead_assignment:", "'round-robin' is neither round_robin nor a login");
    BAD_STAFF ("  - login: smirnova", "  - login: ivanov", "login: ivanov\n    name: Анна",
               "login 'ivanov' given twice");
    BAD_STAFF ("  - login: smirnova", "  - login: Smirnova", "login: Smirnova", "login 'Smirnova'");
    BAD_STAFF ("    roles: [driver]", "    roles: []", "roles: []", "person 'sidorov'", "'roles' is empty");
    BAD_STAFF ("    roles: [driver]", "    role: [driver]", "role: [driver]",
               "person 'sidorov': unknown key 'role'", "allowed: login, name, roles, channels");
    BAD_STAFF ("    roles: [driver]", "    roles: [responsible]", "roles: [responsible]", "not a role");
    BAD_STAFF ("    roles: [driver]", "    roles: [driver, driver]", "roles: [driver, driver]", "twice");
    BAD_STAFF ("    name: Пётр Сидоров\n", "", "login: sidorov", "person 'sidorov'", "missing 'name'");
    BAD_STAFF ("    name: Пётр Сидоров", "    name: \"\"", "name: \"\"", "non-empty");
    //  round_robin with nobody holding manager.
    char path[512], err[512] = "";
    snprintf (path, sizeof path, "%s/staff.yaml", s_dir);
    s_write (
        path,
        "time_zone: UTC\nlead_assignment: round_robin\nstaff:\n  - {login: a, name: A, roles: [driver]}\n");
    assert_null (staff_load (path, NULL, err, sizeof err));
    char prefix[600];
    snprintf (prefix, sizeof prefix, "%s:2: lead_assignment: round_robin needs someone with role manager",
              path);
    assert_string_equal (err, prefix);
}

//  The shipped staff file with sidorov's channels as given (YAML lines
//  indented for his entry).
#define SIDOROV_ROLES "    roles: [driver]"
static char *
s_with_channels (const char *channels)
{
    char *base = s_read ("staff.yaml");
    assert_non_null (base);
    char *with = malloc (strlen (SIDOROV_ROLES) + strlen (channels) + 32);
    assert_non_null (with);
    sprintf (with, "%s\n    channels:\n%s", SIDOROV_ROLES, channels);
    char *text = s_mutate (base, SIDOROV_ROLES, with);
    free (with);
    free (base);
    return text;
}

#define BAD_CHANNELS(channels, anchor, ...)                                      \
    do {                                                                         \
        char *text_ = s_with_channels (channels);                                \
        char path_[512], err_[1024] = "";                                        \
        snprintf (path_, sizeof path_, "%s/staff.yaml", s_dir);                  \
        s_write (path_, text_);                                                  \
        staff_t *staff_ = staff_load (path_, NULL, err_, sizeof err_);           \
        if (staff_) {                                                            \
            staff_destroy (&staff_);                                             \
            fail_msg ("the channels loaded; expected an error at '%s'", anchor); \
        }                                                                        \
        s_expect_words (err_, path_, text_, anchor, __VA_ARGS__, NULL);          \
        free (text_);                                                            \
    } while (0)

static void
s_expect_words (const char *err, const char *path, const char *text, const char *anchor, ...)
{
    va_list words;
    va_start (words, anchor);
    s_expect_error (err, path, text, anchor, words);
    va_end (words);
}

static void
test_staff_channels (void **state)
{
    (void) state;
    for (size_t i = 0; i < s_staff->n_people; i++)
        assert_int_equal (s_staff->people[i].n_channels, 0);  // the shipped file: the inbox only
    char *text = s_with_channels ("      - webhook: {url: \"https://hooks.example.com/crm?token=x\", "
                                  "secret_env: CRM_WEBHOOK_SECRET_SIDOROV}\n"
                                  "      - email: {to: sidorov@example.com}\n"
                                  "      - webhook:\n"
                                  "          url: http://10.0.0.7:8080/notify\n"
                                  "          secret_file: /run/secrets/sidorov_hook\n");
    char path[512], err[1024] = "";
    snprintf (path, sizeof path, "%s/staff.yaml", s_dir);
    s_write (path, text);
    staff_t *staff = staff_load (path, NULL, err, sizeof err);
    if (!staff)
        fail_msg ("the channels do not load: %s", err);
    const staff_person_t *p = staff_find (staff, "sidorov");
    assert_int_equal (p->n_channels, 3);
    assert_int_equal (p->channels[0].kind, STAFF_WEBHOOK);
    assert_string_equal (p->channels[0].url, "https://hooks.example.com/crm?token=x");
    assert_string_equal (p->channels[0].secret_env, "CRM_WEBHOOK_SECRET_SIDOROV");
    assert_null (p->channels[0].secret_file);
    assert_int_equal (p->channels[0].line, s_line_of (text, "{url: \"https://hooks.example.com"));
    assert_int_equal (p->channels[1].kind, STAFF_EMAIL);
    assert_string_equal (p->channels[1].to, "sidorov@example.com");
    assert_int_equal (p->channels[2].kind, STAFF_WEBHOOK);
    assert_string_equal (p->channels[2].url, "http://10.0.0.7:8080/notify");
    assert_null (p->channels[2].secret_env);
    assert_string_equal (p->channels[2].secret_file, "/run/secrets/sidorov_hook");
    assert_int_equal (staff_find (staff, "ivanov")->n_channels, 0);
    staff_destroy (&staff);
    free (text);
}

static void
test_staff_channel_mistakes (void **state)
{
    (void) state;
    BAD_CHANNELS ("      - webhook: {url: ftp://files.example.com/h, secret_env: HOOK_KEY}\n", "url: ftp",
                  "person 'sidorov'",
                  "webhook url 'ftp://files.example.com/h' must be an http:// or https:// URL");
    BAD_CHANNELS ("      - webhook: {url: \"https:///path\", secret_env: HOOK_KEY}\n", "https:///",
                  "with a host");
    BAD_CHANNELS ("      - webhook: {url: \"https://a b.example.com/\", secret_env: HOOK_KEY}\n",
                  "a b.example", "no blanks");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/}\n", "url: https",
                  "webhook needs secret_env", "or secret_file");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/, secret: abc123}\n", "secret: abc123",
                  "a secret never goes in this file", "secret_env");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/, secret_env: A, secret_file: /run/k}\n",
                  "secret_env: A", "not both");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/, secret_env: my-key}\n", "my-key",
                  "secret_env 'my-key' must be a variable name (A-Z, 0-9, _)");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/, secret_env: 1KEY}\n", "1KEY", "'1KEY'");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/, secret_file: secrets/k}\n", "secrets/k",
                  "secret_file 'secrets/k' must be an absolute path");
    BAD_CHANNELS ("      - webhook: {url: https://h.example.com/, secret_env: K, method: PUT}\n",
                  "method: PUT", "unknown key 'method' (allowed: url, secret_env, secret_file)");
    BAD_CHANNELS ("      - webhook: {secret_env: K}\n", "secret_env: K", "missing 'url'");
    BAD_CHANNELS ("      - webhook: https://h.example.com/\n", "webhook: https", "'webhook' must be a map");
    BAD_CHANNELS ("      - telegram: {chat: 42}\n", "telegram",
                  "unknown key 'telegram' (allowed: webhook, email)");
    BAD_CHANNELS (
        "      - {webhook: {url: https://a.example.com/, secret_env: K}, email: {to: a@example.com}}\n",
        "- {webhook", "each channel is one item");
    BAD_CHANNELS ("      - email: {to: not-an-address}\n", "not-an-address",
                  "'to' must be one e-mail address like name@example.com, got 'not-an-address'");
    BAD_CHANNELS ("      - email: {to: \"a@example.com, b@example.com\"}\n", "a@example.com,",
                  "one e-mail address");
    BAD_CHANNELS ("      - email: {to: a@example.com, cc: b@example.com}\n", "cc: b",
                  "unknown key 'cc' (allowed: to)");
    BAD_CHANNELS ("      - email: {to: a@example.com}\n      - email:\n          to: a@example.com\n",
                  "email:\n", "the same email channel twice ('a@example.com')");
    BAD_CHANNELS ("      webhook: {url: https://h.example.com/, secret_env: K}\n",
                  "webhook: {url: https://h.example.com/, secret_env: K}", "'channels' must be a list");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_staff_loads),        cmocka_unit_test (test_lead_funnel_loads),
        cmocka_unit_test (test_new_client_loads),   cmocka_unit_test (test_durations),
        cmocka_unit_test (test_durations_override), cmocka_unit_test (test_variants_that_load),
        cmocka_unit_test (test_yaml_mistakes),      cmocka_unit_test (test_field_and_stage_mistakes),
        cmocka_unit_test (test_duration_mistakes),  cmocka_unit_test (test_rule_mistakes),
        cmocka_unit_test (test_action_mistakes),    cmocka_unit_test (test_staff_mistakes),
        cmocka_unit_test (test_staff_channels),     cmocka_unit_test (test_staff_channel_mistakes),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}

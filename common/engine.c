/*  engine: see engine.h. */
#define _GNU_SOURCE  // vasprintf
#include "engine.h"
#include "tz.h"
#include "utf8.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ENGINE_TEXT_MAX 2000    // bytes, a text field's value
#define ENGINE_RENDER_MAX 4000  // bytes, a rendered template (the notifier's limit)
#define ENGINE_RECIPIENTS_MAX 32

//  Everything a result points to that is not in the definition.
struct engine_arena_t {
    void **ptrs;
    size_t n;
    size_t cap;
};

//  The decision being built: the record as it stands after each step.
typedef struct {
    const pipeline_t *def;
    const engine_record_t *record;
    const engine_input_t *in;
    engine_result_t *out;
    const char *stage;
    uint32_t version;  // the version the decision makes (record's + 1)
    bool failed;       // out of memory
} run_t;

//  --------------------------------------------------------------------------
//  Memory: one arena per result, so callers free one thing.

static void *
s_keep (run_t *run, void *ptr)
{
    engine_arena_t *arena = run->out->arena;
    if (!ptr
        || (arena->n == arena->cap
            && !(arena->ptrs = realloc (arena->ptrs, (arena->cap = arena->cap ? arena->cap * 2 : 64)
                                                         * sizeof (void *))))) {
        free (ptr);
        run->failed = true;
        return NULL;
    }
    arena->ptrs[arena->n++] = ptr;
    return ptr;
}

static char *
s_printf (run_t *run, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char *text = NULL;
    if (vasprintf (&text, fmt, args) < 0)
        text = NULL;
    va_end (args);
    return s_keep (run, text);
}

//  Grows an array of the result by one zeroed element; NULL on OOM.
static void *
s_grow (run_t *run, void **array, size_t *n, size_t size)
{
    void *bigger = realloc (*array, (*n + 1) * size);
    if (!bigger) {
        run->failed = true;
        return NULL;
    }
    *array = bigger;
    void *item = (char *) bigger + (*n)++ * size;
    memset (item, 0, size);
    return item;
}

//  --------------------------------------------------------------------------
//  Values

static const char *
s_value (const run_t *run, const char *name)
{
    for (size_t i = 0; i < run->out->n_values; i++)
        if (strcmp (run->out->values[i].name, name) == 0)
            return run->out->values[i].value;
    for (size_t i = 0; i < run->record->n_values; i++)
        if (strcmp (run->record->values[i].name, name) == 0 && !pipeline_field (run->def, name))
            return run->record->values[i].value;
    return NULL;
}

static bool
s_set (const char *value)
{
    return value && *value;
}

static int
s_put (run_t *run, const char *name, const char *value)
{
    for (size_t i = 0; i < run->out->n_values; i++)
        if (strcmp (run->out->values[i].name, name) == 0) {
            run->out->values[i].value = value;
            return 0;
        }
    engine_value_t *v = s_grow (run, (void **) &run->out->values, &run->out->n_values, sizeof *v);
    if (!v)
        return -1;
    v->name = name;
    v->value = value;
    return 0;
}

int
engine_parse_value (const pipeline_field_t *field, const char *text, char *out, size_t out_size)
{
    switch (field->type) {
        case PIPELINE_ENUM:
            for (size_t i = 0; i < field->n_options; i++)
                if (strcmp (text, field->options[i].id) == 0) {
                    snprintf (out, out_size, "%s", field->options[i].id);
                    return 0;
                }
            {
                size_t len = (size_t) snprintf (out, out_size, "%s: '%s' is not one of", field->id, text);
                for (size_t i = 0; i < field->n_options && len < out_size; i++)
                    len += (size_t) snprintf (out + len, out_size - len, "%s %s «%s»", i ? "," : "",
                                              field->options[i].id, field->options[i].label);
            }
            return -1;
        case PIPELINE_BOOL: {
            //  strcasecmp folds ASCII only: the Cyrillic forms are listed.
            static const char *yes[] = {"yes", "true", "1", "да", "Да", "ДА", NULL};
            static const char *no[] = {"no", "false", "0", "нет", "Нет", "НЕТ", NULL};
            for (int i = 0; yes[i]; i++)
                if (strcasecmp (text, yes[i]) == 0) {
                    snprintf (out, out_size, "yes");
                    return 0;
                }
            for (int i = 0; no[i]; i++)
                if (strcasecmp (text, no[i]) == 0) {
                    snprintf (out, out_size, "no");
                    return 0;
                }
            snprintf (out, out_size, "%s: '%s' is not yes or no", field->id, text);
            return -1;
        }
        case PIPELINE_DATETIME: {
            int64_t ms;
            char err[300];
            if (tz_parse (text, &ms, err, sizeof err)) {
                snprintf (out, out_size, "%s: %s", field->id, err);
                return -1;
            }
            snprintf (out, out_size, "%" PRId64, ms);
            return 0;
        }
        case PIPELINE_TEXT:
            if (!utf8_valid (text) || strlen (text) > ENGINE_TEXT_MAX) {
                snprintf (out, out_size, "%s: must be UTF-8 text of at most %d bytes", field->id,
                          ENGINE_TEXT_MAX);
                return -1;
            }
            if (strlen (text) >= out_size) {
                snprintf (out, out_size, "%s: too long", field->id);
                return -1;
            }
            snprintf (out, out_size, "%s", text);
            return 0;
    }
    return -1;
}

void
engine_display_value (const pipeline_field_t *field, const char *value_p, char *out, size_t out_size)
{
    char value[ENGINE_TEXT_MAX + 1];  // value_p may be out
    snprintf (value, sizeof value, "%s", value_p ? value_p : "");
    snprintf (out, out_size, "%s", value);
    if (!s_set (value))
        return;
    if (field->type == PIPELINE_ENUM) {
        for (size_t i = 0; i < field->n_options; i++)
            if (strcmp (value, field->options[i].id) == 0)
                snprintf (out, out_size, "%s", field->options[i].label);
    }
    else if (field->type == PIPELINE_BOOL)
        snprintf (out, out_size, "%s", strcmp (value, "yes") == 0 ? "да" : "нет");
    else if (field->type == PIPELINE_DATETIME)
        tz_format (strtoll (value, NULL, 10), "%d.%m.%Y %H:%M", out, out_size);
}

//  --------------------------------------------------------------------------
//  Templates: {name}, {name:time}, {name:date}; {{ and }} are braces.

static void
s_lookup (const run_t *run, const char *name, const char *format, char *out, size_t size)
{
    const pipeline_field_t *field = pipeline_field (run->def, name);
    const char *value = s_value (run, name);
    out[0] = '\0';
    if (strcmp (name, "id") == 0)
        snprintf (out, size, "%" PRIu64, run->record->id);
    else if (strcmp (name, "stage") == 0)
        snprintf (out, size, "%s", run->stage);
    else if (strcmp (name, "stage_name") == 0)
        snprintf (out, size, "%s", pipeline_stage (run->def, run->stage)->name);
    else if (strcmp (name, "responsible") == 0)
        snprintf (out, size, "%s", run->record->responsible);
    else if (strcmp (name, "responsible_name") == 0) {
        const staff_person_t *person = staff_find (run->def->staff, run->record->responsible);
        snprintf (out, size, "%s", person ? person->name : run->record->responsible);
    }
    else if (strcmp (name, "now") == 0 || (field && field->type == PIPELINE_DATETIME && format)) {
        if (strcmp (name, "now") != 0 && !s_set (value))
            return;
        int64_t ms = strcmp (name, "now") == 0 ? run->in->now_ms : strtoll (value, NULL, 10);
        const char *fmt = !format ? "%d.%m.%Y %H:%M" : strcmp (format, "time") == 0 ? "%H:%M" : "%d.%m.%Y";
        tz_format (ms, fmt, out, size);
    }
    else if (field)
        engine_display_value (field, value, out, size);
    else if (value)
        snprintf (out, size, "%s", value);
}

//  Renders text; blanks left by empty values are collapsed, so "{name}
//  {company}" reads well when the company is unknown.
static char *
s_render (run_t *run, const char *text)
{
    if (!text)
        return s_printf (run, "%s", "");
    char *out = malloc (ENGINE_RENDER_MAX);
    if (!s_keep (run, out))
        return NULL;
    size_t len = 0;
    for (const char *p = text; *p && len < ENGINE_RENDER_MAX - 1;) {
        char piece[512];
        const char *add = piece;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            piece[0] = p[0], piece[1] = '\0';
            p += 2;
        }
        else if (p[0] == '{' && strchr (p, '}')) {
            const char *end = strchr (p, '}');
            char name[128];
            snprintf (name, sizeof name, "%.*s", (int) (end - p - 1), p + 1);
            char *format = strchr (name, ':');
            if (format)
                *format++ = '\0';
            s_lookup (run, name, format, piece, sizeof piece);
            p = end + 1;
        }
        else {
            piece[0] = *p++, piece[1] = '\0';
        }
        for (; *add && len < ENGINE_RENDER_MAX - 1; add++) {
            if (*add == ' ' && (len == 0 || out[len - 1] == ' '))
                continue;
            out[len++] = *add;
        }
    }
    while (len > 0 && out[len - 1] == ' ')
        len--;
    //  A cut may have split a character: keep whole ones only.
    len = utf8_boundary (out, len);
    out[len] = '\0';
    return out;
}

//  --------------------------------------------------------------------------
//  Effects and history

static void
s_history (run_t *run, const char *actor, const char *rule, const char *action, char *detail)
{
    engine_history_t *h = s_grow (run, (void **) &run->out->history, &run->out->n_history, sizeof *h);
    if (!h)
        return;
    h->actor = actor;
    h->rule = rule ? rule : "";
    h->action = s_printf (run, "%s", action);
    h->detail = detail ? detail : s_printf (run, "%s", "");
}

static engine_effect_t *
s_effect (run_t *run, engine_effect_kind_t kind, const pipeline_rule_t *rule)
{
    engine_effect_t *e = s_grow (run, (void **) &run->out->effects, &run->out->n_effects, sizeof *e);
    if (e) {
        e->kind = kind;
        e->rule = rule->id;
        e->text = e->description = e->key = "";
        e->recipient = e->creator = e->tag = e->timer = e->flag = e->pipeline = "";
    }
    return e;
}

//  Logins for a role: the record's responsible, or every holder.
static size_t
s_resolve (const run_t *run, const char *role, const char **logins, size_t max)
{
    if (strcmp (role, "responsible") == 0) {
        logins[0] = run->record->responsible;
        return 1;
    }
    size_t n = staff_holders (run->def->staff, role, logins, max);
    return n < max ? n : max;
}

//  A moment of the definition for this record; false when its field is unset.
static bool
s_moment (const run_t *run, const pipeline_time_t *time, int64_t base_ms, int64_t *ms)
{
    if (!time->field) {
        *ms = base_ms + time->offset_ms;
        return true;
    }
    const char *value = s_value (run, time->field);
    if (!s_set (value))
        return false;
    *ms = strtoll (value, NULL, 10) + time->offset_ms;
    return true;
}

static char *
s_when (run_t *run, int64_t ms)
{
    char text[64];
    tz_format (ms, "%d.%m.%Y %H:%M:%S", text, sizeof text);
    return s_printf (run, "%s", text);
}

static void s_enter (run_t *run, const char *stage, const char *rule);

static void
s_notify (run_t *run, const pipeline_rule_t *rule, const pipeline_action_t *a, const char *key)
{
    const char *logins[ENGINE_RECIPIENTS_MAX];
    size_t n = s_resolve (run, a->to, logins, ENGINE_RECIPIENTS_MAX);
    const char *text = a->text;
    if (a->missed_after) {
        const char *value = s_value (run, a->missed_after);
        if (s_set (value) && run->in->now_ms > strtoll (value, NULL, 10))
            text = a->missed_text;
    }
    char *rendered = s_render (run, text);
    for (size_t i = 0; i < n && rendered; i++) {
        engine_effect_t *e = s_effect (run, ENGINE_NOTIFY, rule);
        if (!e)
            return;
        e->key = n > 1 ? s_printf (run, "%s:%s", key, logins[i]) : s_printf (run, "%s", key);
        e->recipient = logins[i];
        e->text = rendered;
        s_history (run, "system", rule->id, "notified", s_printf (run, "%s: %s", logins[i], rendered));
    }
}

static void
s_task (run_t *run, const pipeline_rule_t *rule, const pipeline_action_t *a, const char *key)
{
    const char *logins[ENGINE_RECIPIENTS_MAX];
    engine_effect_t *e = s_effect (run, ENGINE_TASK, rule);
    if (!e)
        return;
    e->key = s_printf (run, "%s", key);
    e->text = s_render (run, a->title);
    e->description = s_render (run, a->description);
    e->recipient = s_resolve (run, a->responsible, logins, 1) ? logins[0] : run->record->responsible;
    e->creator = s_resolve (run, a->creator ? a->creator : "responsible", logins, 1)
                   ? logins[0]
                   : run->record->responsible;
    e->tag = a->tag ? a->tag : "";
    if (a->n_coexecutors) {
        e->coexecutors = s_keep (run, calloc (ENGINE_RECIPIENTS_MAX, sizeof (char *)));
        for (size_t r = 0; e->coexecutors && r < a->n_coexecutors; r++) {
            size_t n = s_resolve (run, a->coexecutors[r], logins, ENGINE_RECIPIENTS_MAX);
            for (size_t i = 0; i < n && e->n_coexecutors < ENGINE_RECIPIENTS_MAX; i++) {
                bool seen = strcmp (logins[i], e->recipient) == 0;
                for (size_t j = 0; j < e->n_coexecutors; j++)
                    seen = seen || strcmp (e->coexecutors[j], logins[i]) == 0;
                if (!seen)
                    e->coexecutors[e->n_coexecutors++] = logins[i];
            }
        }
    }
    int64_t deadline = 0;
    if (a->has_time && !s_moment (run, &a->time, run->in->now_ms, &deadline))
        deadline = 0;
    e->at_ms = deadline;
    s_history (run, "system", rule->id, "task requested",
               s_printf (run, "%s → %s%s%s", e->text, e->recipient, deadline ? ", срок " : "",
                         deadline ? s_when (run, deadline) : ""));
}

static void
s_action (run_t *run, const pipeline_rule_t *rule, size_t index)
{
    const pipeline_action_t *a = &rule->actions[index];
    const char *kind = run->def->record;
    uint64_t id = run->record->id;
    char key[256];
    snprintf (key, sizeof key, "%s:%" PRIu64 ":v%" PRIu32 ":%s:%zu", kind, id, run->version, rule->id, index);
    engine_effect_t *e;
    int64_t at;
    switch (a->kind) {
        case PIPELINE_NOTIFY: s_notify (run, rule, a, key); break;
        case PIPELINE_TASK: s_task (run, rule, a, key); break;
        case PIPELINE_ACTIVITY:
            if (!s_moment (run, &a->time, run->in->now_ms, &at))
                break;
            if (!(e = s_effect (run, ENGINE_ACTIVITY, rule)))
                return;
            //  Stable per record and rule: a new time moves the same activity.
            e->key = s_printf (run, "%s:%" PRIu64 ":%s:%zu", kind, id, rule->id, index);
            e->text = s_render (run, a->title);
            const char *logins[1];
            e->recipient = s_resolve (run, a->responsible ? a->responsible : "responsible", logins, 1)
                             ? logins[0]
                             : run->record->responsible;
            e->at_ms = at;
            s_history (run, "system", rule->id, "activity planned",
                       s_printf (run, "%s, %s → %s", e->text, s_when (run, at), e->recipient));
            break;
        case PIPELINE_TIMER:
            //  "after" counts from entering the stage, as s_timer checks it.
            if (!s_moment (run, &a->time, run->out->entered_ms, &at)) {
                s_history (run, "system", rule->id, "timer not set",
                           s_printf (run, "%s: %s is empty", a->timer, a->time.field));
                break;
            }
            if (!(e = s_effect (run, ENGINE_TIMER_SET, rule)))
                return;
            e->key = s_printf (run, "%s:%" PRIu64 ":%s", kind, id, a->timer);
            e->timer = a->timer;
            e->at_ms = at;
            s_history (run, "system", rule->id, "timer set",
                       s_printf (run, "%s at %s", a->timer, s_when (run, at)));
            break;
        case PIPELINE_MOVE: s_enter (run, a->stage, rule->id); break;
        case PIPELINE_CREATE_CONTACT:
            if (!(e = s_effect (run, ENGINE_CREATE_CONTACT, rule)))
                return;
            e->key = s_printf (run, "%s", key);
            e->flag = a->flag ? a->flag : "";
            s_history (run, "system", rule->id, "contact and company",
                       s_printf (run, "%s%s", *e->flag ? "flag: " : "", e->flag));
            break;
        case PIPELINE_OPEN_DEAL:
            if (!(e = s_effect (run, ENGINE_OPEN_DEAL, rule)))
                return;
            e->key = s_printf (run, "%s", key);
            e->pipeline = a->pipeline;
            s_history (run, "system", rule->id, "deal requested", s_printf (run, "pipeline %s", a->pipeline));
            break;
    }
}

static bool
s_holds (const run_t *run, const pipeline_rule_t *rule)
{
    for (size_t i = 0; i < rule->n_conds; i++) {
        const char *value = s_value (run, rule->conds[i].field);
        if (!value || strcmp (value, rule->conds[i].value) != 0)
            return false;
    }
    return true;
}

static void
s_run (run_t *run, const pipeline_rule_t *rule)
{
    if (!s_holds (run, rule))
        return;
    run->out->changed = true;
    for (size_t i = 0; i < rule->n_actions && !run->failed; i++)
        s_action (run, rule, i);
}

static bool
s_all_done (const run_t *run, const char *tag)
{
    for (size_t i = 0; i < run->record->n_tags; i++)
        if (strcmp (run->record->tags[i].tag, tag) == 0)
            return run->record->tags[i].total > 0
                && run->record->tags[i].completed >= run->record->tags[i].total;
    return false;
}

//  Runs the rules that wait in stage for all tasks of a tag (tag NULL: any).
static void
s_tasks_done (run_t *run, const char *stage, const char *tag)
{
    for (size_t i = 0; i < run->def->n_rules; i++) {
        const pipeline_rule_t *rule = &run->def->rules[i];
        if (rule->trigger == PIPELINE_ON_TASKS_DONE && strcmp (rule->stage, stage) == 0
            && (!tag || strcmp (rule->tag, tag) == 0) && s_all_done (run, rule->tag)
            && strcmp (run->stage, stage) == 0)
            s_run (run, rule);
    }
}

//  Leaves the current stage (cancelling its rules' timers) and enters
//  stage: its ON_ENTER rules, then those waiting for tasks already done.
static void
s_enter (run_t *run, const char *stage, const char *rule)
{
    const pipeline_stage_t *to = pipeline_stage (run->def, stage);
    if (run->out->n_moves >= ENGINE_MAX_AUTO_MOVES + 1) {
        s_history (run, "system", rule, "move stopped",
                   s_printf (run, "more than %d automatic moves in a row", ENGINE_MAX_AUTO_MOVES));
        return;
    }
    //  A rule's move obeys the stage's required fields like a person's.
    for (size_t i = 0; rule && i < to->n_requires; i++)
        if (!s_set (s_value (run, to->requires[i]))) {
            s_history (run, "system", rule, "move not made",
                       s_printf (run, "%s: %s is required", to->id, to->requires[i]));
            return;
        }
    const char *from = run->stage;
    for (size_t i = 0; from && i < run->def->n_rules; i++) {
        const pipeline_rule_t *r = &run->def->rules[i];
        if (r->trigger != PIPELINE_ON_ENTER || strcmp (r->stage, from) != 0)
            continue;
        for (size_t j = 0; j < r->n_actions; j++) {
            if (r->actions[j].kind != PIPELINE_TIMER)
                continue;
            engine_effect_t *e = s_effect (run, ENGINE_TIMER_CANCEL, r);
            if (!e)
                return;
            e->key =
                s_printf (run, "%s:%" PRIu64 ":%s", run->def->record, run->record->id, r->actions[j].timer);
            e->timer = r->actions[j].timer;
        }
    }
    engine_move_t *m = s_grow (run, (void **) &run->out->moves, &run->out->n_moves, sizeof *m);
    if (!m)
        return;
    m->from = from ? from : "";
    m->to = to->id;
    m->rule = rule ? rule : "";
    const pipeline_stage_t *was = from ? pipeline_stage (run->def, from) : NULL;
    s_history (run, rule ? "system" : run->in->actor, rule, from ? "moved" : "created",
               was ? s_printf (run, "%s → %s", was->name, to->name) : s_printf (run, "%s", to->name));
    run->stage = to->id;
    run->out->stage = to->id;
    run->out->entered_ms = run->in->now_ms;
    run->out->changed = true;
    for (size_t i = 0; i < run->def->n_rules && !run->failed; i++) {
        const pipeline_rule_t *r = &run->def->rules[i];
        if (r->trigger == PIPELINE_ON_ENTER && strcmp (r->stage, to->id) == 0
            && strcmp (run->stage, to->id) == 0)
            s_run (run, r);
    }
    if (strcmp (run->stage, to->id) == 0)
        s_tasks_done (run, to->id, NULL);
}

//  --------------------------------------------------------------------------
//  Inputs

static void
s_refuse (run_t *run, const char *code, const char *field, const char *fmt, ...)
{
    engine_result_t *out = run->out;
    size_t len = strlen (out->message);
    if (len && len < sizeof out->message - 2)
        len += (size_t) snprintf (out->message + len, sizeof out->message - len, "; ");
    va_list args;
    va_start (args, fmt);
    if (len < sizeof out->message)
        vsnprintf (out->message + len, sizeof out->message - len, fmt, args);
    va_end (args);
    if (!out->code)
        out->code = code;
    if (field && out->n_fields < ENGINE_MAX_ERROR_FIELDS)
        out->fields[out->n_fields++] = field;
}

static char *
s_list_moves (run_t *run, const pipeline_stage_t *from)
{
    char list[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < from->n_moves && len < sizeof list; i++)
        len += (size_t) snprintf (list + len, sizeof list - len, "%s%s", i ? ", " : "", from->moves[i]);
    for (size_t i = 0; from->kind == PIPELINE_OPEN && i < run->def->n_stages && len < sizeof list; i++)
        if (run->def->stages[i].from_any_open)
            len += (size_t) snprintf (list + len, sizeof list - len, "%s%s", len ? ", " : "",
                                      run->def->stages[i].id);
    return s_printf (run, "%s", len ? list : "none");
}

static void
s_move (run_t *run)
{
    const engine_input_t *in = run->in;
    const pipeline_t *def = run->def;
    const pipeline_stage_t *from = pipeline_stage (def, run->stage);
    const char *target = in->stage && *in->stage ? in->stage : run->stage;
    const pipeline_stage_t *to = pipeline_stage (def, target);

    if (in->version && in->version != run->record->version) {
        s_refuse (run, "STALE_VERSION", "version",
                  "%s %" PRIu64 " is at version %" PRIu32 ", the command was based on version %" PRIu32
                  ": reload it and try again",
                  def->record, run->record->id, run->record->version, in->version);
        return;
    }
    if (from->kind != PIPELINE_OPEN) {
        s_refuse (run, "MOVE_NOT_ALLOWED", "stage",
                  "%s %" PRIu64 " is closed (%s «%s»): it cannot be changed", def->record, run->record->id,
                  from->id, from->name);
        return;
    }
    if (!to) {
        char list[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < def->n_stages && len < sizeof list; i++)
            len +=
                (size_t) snprintf (list + len, sizeof list - len, "%s%s", i ? ", " : "", def->stages[i].id);
        s_refuse (run, "INVALID_ARGUMENT", "stage", "unknown stage '%s' (stages: %s)", target, list);
        return;
    }
    bool moving = to != from;
    if (moving) {
        bool allowed = from->kind == PIPELINE_OPEN && to->from_any_open;
        for (size_t i = 0; i < from->n_moves; i++)
            allowed = allowed || strcmp (from->moves[i], to->id) == 0;
        if (!allowed) {
            s_refuse (run, "MOVE_NOT_ALLOWED", "stage",
                      "cannot move %s %" PRIu64 " from %s to %s (allowed: %s)", def->record, run->record->id,
                      from->id, to->id, s_list_moves (run, from));
            return;
        }
    }
    //  Parse every value first, so one refusal names every field at fault.
    const char *changed[64];
    size_t n_changed = 0;
    for (size_t i = 0; i < in->n_set; i++) {
        const pipeline_field_t *field = pipeline_field (def, in->set[i].name);
        if (!field) {
            char list[512] = "";
            size_t len = 0;
            for (size_t f = 0; f < def->n_fields && len < sizeof list; f++)
                len += (size_t) snprintf (list + len, sizeof list - len, "%s%s", f ? ", " : "",
                                          def->fields[f].id);
            s_refuse (run, "INVALID_ARGUMENT", in->set[i].name, "unknown field '%s' (fields: %s)",
                      in->set[i].name, len ? list : "none");
            continue;
        }
        char canonical[ENGINE_TEXT_MAX + 1];
        if (!*in->set[i].value)
            canonical[0] = '\0';  // "" clears a field (refused below if the stage requires it)
        else if (engine_parse_value (field, in->set[i].value, canonical, sizeof canonical)) {
            s_refuse (run, "INVALID_ARGUMENT", field->id, "%s", canonical);
            continue;
        }
        const char *before = s_value (run, field->id);
        if (strcmp (before ? before : "", canonical) == 0)
            continue;
        char *value = s_printf (run, "%s", canonical);
        if (!value || s_put (run, field->id, value))
            return;
        if (n_changed < sizeof changed / sizeof changed[0])
            changed[n_changed++] = field->id;
    }
    for (size_t i = 0; i < to->n_requires; i++) {
        const pipeline_field_t *field = pipeline_field (def, to->requires[i]);
        bool refused = false;  // already named for a bad value
        for (size_t f = 0; f < run->out->n_fields; f++)
            refused = refused || strcmp (run->out->fields[f], field->id) == 0;
        if (refused || s_set (s_value (run, field->id)))
            continue;
        char hint[600] = "";
        if (field->type == PIPELINE_ENUM)
            engine_parse_value (field, "", hint, sizeof hint);  // lists the allowed values
        const char *allowed = field->type == PIPELINE_ENUM ? strstr (hint, "one of") : NULL;
        s_refuse (run, "INVALID_ARGUMENT", field->id, "%s («%s») is required for %s «%s»%s%s", field->id,
                  field->label, to->id, to->name,
                  field->type == PIPELINE_DATETIME ? ": a date and time, e.g. 2026-12-01 15:30"
                  : field->type == PIPELINE_BOOL   ? ": yes or no"
                  : allowed                        ? ": "
                                                   : "",
                  allowed ? allowed : "");
    }
    if (run->out->code || run->failed)
        return;
    if (n_changed) {
        char detail[1024] = "";
        size_t len = 0;
        for (size_t i = 0; i < n_changed && len < sizeof detail; i++) {
            char shown[600];
            engine_display_value (pipeline_field (def, changed[i]), s_value (run, changed[i]), shown,
                                  sizeof shown);
            len += (size_t) snprintf (detail + len, sizeof detail - len, "%s%s = %s", i ? ", " : "",
                                      changed[i], *shown ? shown : "—");
        }
        s_history (run, in->actor, "", "set", s_printf (run, "%s", detail));
        run->out->changed = true;
    }
    if (moving) {
        s_enter (run, to->id, NULL);
        return;
    }
    //  Staying in the stage: its ON_ENTER rules that watch a changed field run again.
    for (size_t i = 0; i < def->n_rules && !run->failed; i++) {
        const pipeline_rule_t *r = &def->rules[i];
        bool watched = false;
        for (size_t w = 0; r->trigger == PIPELINE_ON_ENTER && w < r->n_watch; w++)
            for (size_t c = 0; c < n_changed; c++)
                watched = watched || strcmp (r->watch[w], changed[c]) == 0;
        if (watched && strcmp (r->stage, run->stage) == 0)
            s_run (run, r);
    }
}

//  A timer fires only if the record still expects it then: in the stage
//  whose rule set it, and due at the moment that rule would set now.
static void
s_timer (run_t *run)
{
    const engine_input_t *in = run->in;
    for (size_t i = 0; i < run->def->n_rules; i++) {
        const pipeline_rule_t *r = &run->def->rules[i];
        if (r->trigger != PIPELINE_ON_ENTER || strcmp (r->stage, run->stage) != 0)
            continue;
        for (size_t j = 0; j < r->n_actions; j++) {
            const pipeline_action_t *a = &r->actions[j];
            int64_t expected;
            if (a->kind != PIPELINE_TIMER || strcmp (a->timer, in->timer) != 0
                || !s_moment (run, &a->time, run->record->entered_ms, &expected) || expected != in->due_ms)
                continue;
            for (size_t k = 0; k < run->def->n_rules && !run->failed; k++) {
                const pipeline_rule_t *on = &run->def->rules[k];
                if (on->trigger == PIPELINE_ON_TIMER && strcmp (on->timer, in->timer) == 0)
                    s_run (run, on);
            }
            return;
        }
    }
}

int
engine_apply (const pipeline_t *def, const engine_record_t *record, const engine_input_t *in,
              engine_result_t *result)
{
    memset (result, 0, sizeof *result);
    result->arena = calloc (1, sizeof *result->arena);
    if (!result->arena)
        return -1;
    run_t run = {.def = def, .record = record, .in = in, .out = result, .version = record->version + 1};
    run.stage = in->kind == ENGINE_CREATE ? NULL : record->stage;
    result->stage = run.stage;
    result->entered_ms = record->entered_ms;
    //  Start from the stored values of the definition's fields.
    for (size_t i = 0; i < record->n_values; i++)
        if (pipeline_field (def, record->values[i].name)
            && s_put (&run, record->values[i].name, record->values[i].value))
            return -1;
    if (in->kind != ENGINE_CREATE && !pipeline_stage (def, run.stage)) {
        s_refuse (&run, "FAILED_PRECONDITION", "stage",
                  "%s %" PRIu64 " is at stage '%s', which %s does not have", def->record, record->id,
                  record->stage, def->id);
        return 0;
    }
    switch (in->kind) {
        case ENGINE_CREATE: s_enter (&run, def->stages[0].id, NULL); break;
        case ENGINE_MOVE: s_move (&run); break;
        case ENGINE_TIMER: s_timer (&run); break;
        case ENGINE_TASK_DONE: s_tasks_done (&run, run.stage, in->tag); break;
    }
    if (run.failed)
        return -1;
    if (result->code) {
        //  A refusal changes nothing: drop what was decided on the way.
        free (result->effects), result->effects = NULL, result->n_effects = 0;
        free (result->history), result->history = NULL, result->n_history = 0;
        free (result->moves), result->moves = NULL, result->n_moves = 0;
        result->changed = false;
        result->stage = record->stage;
    }
    return 0;
}

void
engine_result_free (engine_result_t *result)
{
    if (result->arena) {
        for (size_t i = 0; i < result->arena->n; i++)
            free (result->arena->ptrs[i]);
        free (result->arena->ptrs);
        free (result->arena);
    }
    free (result->values);
    free (result->moves);
    free (result->effects);
    free (result->history);
    memset (result, 0, sizeof *result);
}

int
engine_parse_timer_key (const pipeline_t *def, const char *key, uint64_t *id, char *timer, size_t timer_size)
{
    size_t prefix = strlen (def->record);
    if (strncmp (key, def->record, prefix) != 0 || key[prefix] != ':'
        || !isdigit ((unsigned char) key[prefix + 1]))
        return -1;
    char *end;
    unsigned long long value = strtoull (key + prefix + 1, &end, 10);
    if (*end != ':')
        return -1;
    for (size_t i = 0; i < def->n_rules; i++)
        if (def->rules[i].trigger == PIPELINE_ON_TIMER && strcmp (def->rules[i].timer, end + 1) == 0) {
            *id = value;
            snprintf (timer, timer_size, "%s", end + 1);
            return 0;
        }
    return -1;
}

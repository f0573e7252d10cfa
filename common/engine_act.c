/*  engine_act: what a rule's actions produce (effects, history lines) and
    the texts they carry: values as people type and read them, templates.
    See engine.h; shares engine_private.h with engine.c.
*/
#include "engine_private.h"
#include "tz.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    if (!engine_is_set (value))
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
    const char *value = engine_value (run, name);
    out[0] = '\0';
    if (strcmp (name, "id") == 0)
        snprintf (out, size, "%" PRIu64, run->record->id);
    else if (strcmp (name, "task") == 0) {
        if (run->in->kind == ENGINE_TASK_DONE && run->in->task_id)
            snprintf (out, size, "%" PRIu64, run->in->task_id);
    }
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
        if (strcmp (name, "now") != 0 && !engine_is_set (value))
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
char *
engine_render (run_t *run, const char *text)
{
    if (!text)
        return engine_printf (run, "%s", "");
    char *out = malloc (ENGINE_RENDER_MAX);
    if (!engine_keep (run, out))
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
            //  "{email}. Next" with no email: no blank before the stop.
            if (strchr (".,;:!?)", *add) && len > 0 && out[len - 1] == ' ')
                len--;
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

void
engine_history (run_t *run, const char *actor, const char *rule, const char *action, char *detail)
{
    engine_history_t *h = engine_grow (run, (void **) &run->out->history, &run->out->n_history, sizeof *h);
    if (!h)
        return;
    h->actor = actor;
    h->rule = rule ? rule : "";
    h->action = engine_printf (run, "%s", action);
    h->detail = detail ? detail : engine_printf (run, "%s", "");
}

engine_effect_t *
engine_effect (run_t *run, engine_effect_kind_t kind, const pipeline_rule_t *rule)
{
    engine_effect_t *e = engine_grow (run, (void **) &run->out->effects, &run->out->n_effects, sizeof *e);
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
bool
engine_moment (const run_t *run, const pipeline_time_t *time, int64_t base_ms, int64_t *ms)
{
    if (!time->field) {
        *ms = base_ms + time->offset_ms;
        return true;
    }
    const char *value = engine_value (run, time->field);
    if (!engine_is_set (value))
        return false;
    *ms = strtoll (value, NULL, 10) + time->offset_ms;
    return true;
}

char *
engine_when (run_t *run, int64_t ms)
{
    char text[64];
    tz_format (ms, "%d.%m.%Y %H:%M:%S", text, sizeof text);
    return engine_printf (run, "%s", text);
}

static void
s_notify (run_t *run, const pipeline_rule_t *rule, const pipeline_action_t *a, const char *key)
{
    const char *logins[ENGINE_RECIPIENTS_MAX];
    size_t n = s_resolve (run, a->to, logins, ENGINE_RECIPIENTS_MAX);
    const char *text = a->text;
    if (a->missed_after) {
        const char *value = engine_value (run, a->missed_after);
        if (engine_is_set (value) && run->in->now_ms > strtoll (value, NULL, 10))
            text = a->missed_text;
    }
    char *rendered = engine_render (run, text);
    for (size_t i = 0; i < n && rendered; i++) {
        engine_effect_t *e = engine_effect (run, ENGINE_NOTIFY, rule);
        if (!e)
            return;
        e->key = n > 1 ? engine_printf (run, "%s:%s", key, logins[i]) : engine_printf (run, "%s", key);
        e->recipient = logins[i];
        e->text = rendered;
        engine_history (run, "system", rule->id, "notified",
                        engine_printf (run, "%s: %s", logins[i], rendered));
    }
}

static void
s_task (run_t *run, const pipeline_rule_t *rule, const pipeline_action_t *a, const char *key)
{
    const char *logins[ENGINE_RECIPIENTS_MAX];
    engine_effect_t *e = engine_effect (run, ENGINE_TASK, rule);
    if (!e)
        return;
    e->key = engine_printf (run, "%s", key);
    e->text = engine_render (run, a->title);
    e->description = engine_render (run, a->description);
    e->recipient = s_resolve (run, a->responsible, logins, 1) ? logins[0] : run->record->responsible;
    e->creator = s_resolve (run, a->creator ? a->creator : "responsible", logins, 1)
                   ? logins[0]
                   : run->record->responsible;
    e->tag = a->tag ? a->tag : "";
    if (a->n_coexecutors) {
        e->coexecutors = engine_keep (run, calloc (ENGINE_RECIPIENTS_MAX, sizeof (char *)));
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
    if (a->has_time && !engine_moment (run, &a->time, run->in->now_ms, &deadline))
        deadline = 0;
    e->at_ms = deadline;
    engine_history (run, "system", rule->id, "task requested",
                    engine_printf (run, "%s → %s%s%s", e->text, e->recipient, deadline ? ", срок " : "",
                                   deadline ? engine_when (run, deadline) : ""));
}

void
engine_action (run_t *run, const pipeline_rule_t *rule, size_t index)
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
            if (!engine_moment (run, &a->time, run->in->now_ms, &at))
                break;
            if (!(e = engine_effect (run, ENGINE_ACTIVITY, rule)))
                return;
            //  Stable per record and rule: a new time moves the same activity.
            e->key = engine_printf (run, "%s:%" PRIu64 ":%s:%zu", kind, id, rule->id, index);
            e->text = engine_render (run, a->title);
            const char *logins[1];
            e->recipient = s_resolve (run, a->responsible ? a->responsible : "responsible", logins, 1)
                             ? logins[0]
                             : run->record->responsible;
            e->at_ms = at;
            engine_history (run, "system", rule->id, "activity planned",
                            engine_printf (run, "%s, %s → %s", e->text, engine_when (run, at), e->recipient));
            break;
        case PIPELINE_TIMER:
            //  "after" counts from entering the stage, as s_timer checks it.
            if (!engine_moment (run, &a->time, run->out->entered_ms, &at)) {
                engine_history (run, "system", rule->id, "timer not set",
                                engine_printf (run, "%s: %s is empty", a->timer, a->time.field));
                break;
            }
            if (!(e = engine_effect (run, ENGINE_TIMER_SET, rule)))
                return;
            e->key = engine_printf (run, "%s:%" PRIu64 ":%s", kind, id, a->timer);
            e->timer = a->timer;
            e->at_ms = at;
            engine_history (run, "system", rule->id, "timer set",
                            engine_printf (run, "%s at %s", a->timer, engine_when (run, at)));
            break;
        case PIPELINE_MOVE: engine_enter (run, a->stage, rule->id); break;
        case PIPELINE_CREATE_CONTACT:
            if (!(e = engine_effect (run, ENGINE_CREATE_CONTACT, rule)))
                return;
            e->key = engine_printf (run, "%s", key);
            e->flag = a->flag ? a->flag : "";
            engine_history (run, "system", rule->id, "contact and company",
                            engine_printf (run, "%s%s", *e->flag ? "flag: " : "", e->flag));
            break;
        case PIPELINE_OPEN_DEAL:
            if (!(e = engine_effect (run, ENGINE_OPEN_DEAL, rule)))
                return;
            e->key = engine_printf (run, "%s", key);
            e->pipeline = a->pipeline;
            engine_history (run, "system", rule->id, "deal requested",
                            engine_printf (run, "pipeline %s", a->pipeline));
            break;
    }
}

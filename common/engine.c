/*  engine: see engine.h. The decision: inputs, moves, which rules run. */
#define _GNU_SOURCE  // vasprintf
#include "engine_private.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Memory: one arena per result, so callers free one thing.

void *
engine_keep (run_t *run, void *ptr)
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

char *
engine_printf (run_t *run, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char *text = NULL;
    if (vasprintf (&text, fmt, args) < 0)
        text = NULL;
    va_end (args);
    return engine_keep (run, text);
}

//  Grows an array of the result by one zeroed element; NULL on OOM.
void *
engine_grow (run_t *run, void **array, size_t *n, size_t size)
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

const char *
engine_value (const run_t *run, const char *name)
{
    for (size_t i = 0; i < run->out->n_values; i++)
        if (strcmp (run->out->values[i].name, name) == 0)
            return run->out->values[i].value;
    for (size_t i = 0; i < run->record->n_values; i++)
        if (strcmp (run->record->values[i].name, name) == 0 && !pipeline_field (run->def, name))
            return run->record->values[i].value;
    return NULL;
}

static int
s_put (run_t *run, const char *name, const char *value)
{
    for (size_t i = 0; i < run->out->n_values; i++)
        if (strcmp (run->out->values[i].name, name) == 0) {
            run->out->values[i].value = value;
            return 0;
        }
    engine_value_t *v = engine_grow (run, (void **) &run->out->values, &run->out->n_values, sizeof *v);
    if (!v)
        return -1;
    v->name = name;
    v->value = value;
    return 0;
}

static bool
s_holds (const run_t *run, const pipeline_rule_t *rule)
{
    for (size_t i = 0; i < rule->n_conds; i++) {
        const char *value = engine_value (run, rule->conds[i].field);
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
        engine_action (run, rule, i);
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
void
engine_enter (run_t *run, const char *stage, const char *rule)
{
    const pipeline_stage_t *to = pipeline_stage (run->def, stage);
    if (run->out->n_moves >= ENGINE_MAX_AUTO_MOVES + 1) {
        engine_history (run, "system", rule, "move stopped",
                        engine_printf (run, "more than %d automatic moves in a row", ENGINE_MAX_AUTO_MOVES));
        return;
    }
    //  A rule's move obeys the stage's required fields like a person's.
    for (size_t i = 0; rule && i < to->n_requires; i++)
        if (!engine_is_set (engine_value (run, to->requires[i]))) {
            engine_history (run, "system", rule, "move not made",
                            engine_printf (run, "%s: %s is required", to->id, to->requires[i]));
            return;
        }
    const char *from = run->stage;
    engine_move_t *m = engine_grow (run, (void **) &run->out->moves, &run->out->n_moves, sizeof *m);
    if (!m)
        return;
    m->from = from ? from : "";
    m->to = to->id;
    m->rule = rule ? rule : "";
    const pipeline_stage_t *was = from ? pipeline_stage (run->def, from) : NULL;
    engine_history (run, rule ? "system" : run->in->actor, rule, from ? "moved" : "created",
                    was ? engine_printf (run, "%s → %s", was->name, to->name)
                        : engine_printf (run, "%s", to->name));
    //  Leaving from: what its rules planned and is still ahead goes.
    for (size_t i = 0; from && i < run->def->n_rules; i++) {
        const pipeline_rule_t *r = &run->def->rules[i];
        if (r->trigger != PIPELINE_ON_ENTER || strcmp (r->stage, from) != 0)
            continue;
        for (size_t j = 0; j < r->n_actions; j++) {
            //  A call planned in the stage and not yet due goes with it; one
            //  whose time has come stays on record.
            int64_t at;
            if (r->actions[j].kind == PIPELINE_ACTIVITY
                && engine_moment (run, &r->actions[j].time, run->in->now_ms, &at) && at > run->in->now_ms) {
                engine_effect_t *e = engine_effect (run, ENGINE_ACTIVITY_CANCEL, r);
                if (!e)
                    return;
                e->key =
                    engine_printf (run, "%s:%" PRIu64 ":%s:%zu", run->def->record, run->record->id, r->id, j);
                engine_history (run, "system", r->id, "activity cancelled",
                                engine_render (run, r->actions[j].title));
            }
            if (r->actions[j].kind != PIPELINE_TIMER)
                continue;
            engine_effect_t *e = engine_effect (run, ENGINE_TIMER_CANCEL, r);
            if (!e)
                return;
            e->key = engine_printf (run, "%s:%" PRIu64 ":%s", run->def->record, run->record->id,
                                    r->actions[j].timer);
            e->timer = r->actions[j].timer;
            //  On record only when it was still ahead: one already fired
            //  was not cancelled (the cancel is sent anyway, a no-op then).
            if (engine_moment (run, &r->actions[j].time, run->out->entered_ms, &at) && at > run->in->now_ms)
                engine_history (run, "system", r->id, "timer cancelled",
                                engine_printf (run, "%s, was due %s", e->timer, engine_when (run, at)));
        }
    }
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
    return engine_printf (run, "%s", len ? list : "none");
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
        const char *before = engine_value (run, field->id);
        if (strcmp (before ? before : "", canonical) == 0)
            continue;
        char *value = engine_printf (run, "%s", canonical);
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
        if (refused || engine_is_set (engine_value (run, field->id)))
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
            engine_display_value (pipeline_field (def, changed[i]), engine_value (run, changed[i]), shown,
                                  sizeof shown);
            len += (size_t) snprintf (detail + len, sizeof detail - len, "%s%s = %s", i ? ", " : "",
                                      changed[i], *shown ? shown : "—");
        }
        engine_history (run, in->actor, "", "set", engine_printf (run, "%s", detail));
        run->out->changed = true;
    }
    if (moving) {
        engine_enter (run, to->id, NULL);
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
                || !engine_moment (run, &a->time, run->record->entered_ms, &expected)
                || expected != in->due_ms)
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
        case ENGINE_CREATE: engine_enter (&run, def->stages[0].id, NULL); break;
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

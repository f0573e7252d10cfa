/*  pipeline_rules: the rules of a definition (see pipeline.h and
    docs/pipelines.md): triggers, conditions, actions, and the templates,
    times and roles in them. pipeline_checks.c then checks them together.
*/
#include "pipeline_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    TIME_FIELD,         // FIELD [± D]: at
    TIME_FIELD_OR_DUR,  // FIELD [± D] or D: a task's deadline
    TIME_DUR            // D: a timer's after
} time_mode_t;

static const char *const s_action_names[] = {"notify", "move",           "task",      "activity",
                                             "timer",  "create_contact", "open_deal", NULL};
static const pipeline_action_kind_t s_action_kinds[] = {
    PIPELINE_NOTIFY, PIPELINE_MOVE,           PIPELINE_TASK,     PIPELINE_ACTIVITY,
    PIPELINE_TIMER,  PIPELINE_CREATE_CONTACT, PIPELINE_OPEN_DEAL};

static void
s_datetime_list (const pipeline_t *p, char *list, size_t size)
{
    for (size_t i = 0; i < p->n_fields; i++)
        if (p->fields[i].type == PIPELINE_DATETIME)
            pipeline_list_add (list, size, p->fields[i].id);
    if (!*list)
        snprintf (list, size, "none");
}

static int
s_datetime_ref (pipeline_loader_t *ld, const yaml_node_t *node, const char *id)
{
    const pipeline_field_t *f = pipeline_field (ld->p, id);
    if (f && f->type == PIPELINE_DATETIME)
        return 0;
    char list[512] = "";
    s_datetime_list (ld->p, list, sizeof list);
    return yamltree_fail (ld->tree, node,
                          f ? "field '%s' is not a date-time field (date-time fields: %s)"
                            : "unknown field '%s' (date-time fields: %s)",
                          id, list);
}

static int
s_role_ref (pipeline_loader_t *ld, const yaml_node_t *node, const char *role)
{
    const staff_t *staff = ld->p->staff;
    if (strcmp (role, "responsible") == 0 || staff_holders (staff, role, NULL, 0) > 0)
        return 0;
    char list[512] = "responsible";
    for (size_t i = 0; i < staff->n_people; i++)
        for (size_t j = 0; j < staff->people[i].n_roles; j++) {
            //  Each role once, where it first appears.
            const char *r = staff->people[i].roles[j];
            const char *first[1];
            staff_holders (staff, r, first, 1);
            if (first[0] == staff->people[i].login)
                pipeline_list_add (list, sizeof list, r);
        }
    return yamltree_fail (ld->tree, node, "role '%s' is held by nobody in %s (roles: %s)", role, staff->path,
                          list);
}

//  Checks {name}, {name:time}, {name:date}; {{ and }} are braces.
static int
s_template_ref (pipeline_loader_t *ld, const yaml_node_t *node, const char *text)
{
    for (const char *p = text; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
            continue;
        }
        if (*p == '}')
            return yamltree_fail (ld->tree, node, "a lone '}' in the text (write }} for a brace)");
        if (*p != '{')
            continue;
        const char *end = strchr (p, '}');
        if (!end)
            return yamltree_fail (ld->tree, node, "'{' without '}' in the text (write {{ for a brace)");
        char name[64];
        snprintf (name, sizeof name, "%.*s", (int) (end - p - 1), p + 1);
        char *format = strchr (name, ':');
        if (format)
            *format++ = 0;
        const pipeline_field_t *f = pipeline_field (ld->p, name);
        bool builtin = false;
        for (const char *const *b = pipeline_builtins; *b && !builtin; b++)
            builtin = strcmp (*b, name) == 0;
        if (!f && !builtin) {
            char list[768] = "";
            for (size_t i = 0; i < ld->p->n_fields; i++)
                pipeline_list_add (list, sizeof list, ld->p->fields[i].id);
            for (const char *const *b = pipeline_builtins; *b; b++)
                pipeline_list_add (list, sizeof list, *b);
            return yamltree_fail (ld->tree, node, "the text names unknown field '{%s}' (fields: %s)", name,
                                  list);
        }
        if (format && strcmp (format, "time") && strcmp (format, "date"))
            return yamltree_fail (ld->tree, node, "'{%s:%s}': unknown format (use :time or :date)", name,
                                  format);
        if (format && !(f && f->type == PIPELINE_DATETIME) && strcmp (name, "now"))
            return yamltree_fail (ld->tree, node, "'{%s:%s}': :%s is only for date-time fields and now", name,
                                  format, format);
        p = end;
    }
    return 0;
}

//  Reads key of map as text (NULL when absent and not required), checks it
//  with check, and stores a copy (or dflt) in *out.
static int
s_text (pipeline_loader_t *ld, const yaml_node_t *map, const char *key, bool required, const char *dflt,
        pipeline_check_fn *check, char **out)
{
    yamltree_t *t = ld->tree;
    yaml_node_t *node = required ? yamltree_need (t, map, key) : yamltree_get (t, map, key);
    if (required && !node)
        return -1;
    char what[64];
    snprintf (what, sizeof what, "'%s'", key);
    const char *text = node ? yamltree_scalar (t, node, what) : dflt;
    if (node && !text)
        return -1;
    if (!text)
        return 0;
    if (!*text && check)
        return yamltree_fail (t, node, "'%s' is empty", key);
    if (check && check (ld, node ? node : map, text))
        return -1;
    return (*out = pipeline_dup (t, node, text)) ? 0 : -1;
}

//  Parses "FIELD", "FIELD + D", "FIELD - D" or "D" as mode allows.
static int
s_time (pipeline_loader_t *ld, const yaml_node_t *node, const char *text, time_mode_t mode,
        pipeline_time_t *out)
{
    yamltree_t *t = ld->tree;
    char left[128], right[128] = "";
    size_t cut = strcspn (text, "+-");
    if (cut >= sizeof left || strlen (text + cut) >= sizeof right)
        return yamltree_fail (t, node, "'%s' is too long for a time", text);
    snprintf (left, sizeof left, "%.*s", (int) cut, text);
    if (text[cut])
        snprintf (right, sizeof right, "%s", text + cut + 1);
    for (char *s = left; s; s = s == left ? right : NULL) {
        size_t start = strspn (s, " "), len = strlen (s);
        while (len > start && s[len - 1] == ' ')
            len--;
        memmove (s, s + start, len - start);
        s[len - start] = 0;
    }
    bool is_field = pipeline_field (ld->p, left) != NULL;
    int64_t ms = 0;
    if (mode == TIME_FIELD_OR_DUR && !text[cut] && !is_field && !pipeline_find_duration (ld, left, &ms)) {
        char list[512] = "";
        s_datetime_list (ld->p, list, sizeof list);
        return yamltree_fail (t, node, "'%s' is neither a date-time field (%s) nor a duration (e.g. 2h, 1d)",
                              left, list);
    }
    if (mode == TIME_DUR || (!text[cut] && !is_field && mode == TIME_FIELD_OR_DUR)) {
        if (text[cut])
            return yamltree_fail (t, node, "'%s': write a duration here (e.g. 3d, or a name from durations)",
                                  text);
        if (pipeline_resolve_duration (ld, node, left, &out->offset_ms))
            return -1;
        out->field = NULL;
        return 0;
    }
    if (text[cut] && (!*left || !*right))
        return yamltree_fail (t, node, "'%s' is not FIELD + DURATION or FIELD - DURATION", text);
    if (s_datetime_ref (ld, node, left) || (text[cut] && pipeline_resolve_duration (ld, node, right, &ms)))
        return -1;
    out->offset_ms = text[cut] == '-' ? -ms : ms;
    return (out->field = pipeline_dup (t, node, left)) ? 0 : -1;
}

static int
s_time_key (pipeline_loader_t *ld, const yaml_node_t *map, const char *key, time_mode_t mode,
            pipeline_action_t *a)
{
    yaml_node_t *node = yamltree_get (ld->tree, map, key);
    if (!node)
        return 0;
    char what[64];
    snprintf (what, sizeof what, "'%s'", key);
    const char *text = yamltree_scalar (ld->tree, node, what);
    a->has_time = true;
    return text ? s_time (ld, node, text, mode, &a->time) : -1;
}

static int
s_action_body (pipeline_loader_t *ld, const yaml_node_t *body, const char *name, pipeline_action_t *a)
{
    static const char *const notify[] = {"to", "text", "missed_after", "missed_text", NULL};
    static const char *const task[] = {"title",       "description", "creator", "responsible",
                                       "coexecutors", "deadline",    "tag",     NULL};
    static const char *const activity[] = {"title", "responsible", "at", NULL};
    static const char *const timer[] = {"id", "at", "after", NULL};
    static const char *const contact[] = {"flag", NULL};
    static const char *const deal[] = {"pipeline", NULL};
    yamltree_t *t = ld->tree;
    char what[64];
    snprintf (what, sizeof what, "'%s'", name);
    if (a->kind == PIPELINE_MOVE) {
        const char *stage = yamltree_scalar (t, body, "'move'");
        return !stage || pipeline_stage_ref (ld, body, stage) || !(a->stage = pipeline_dup (t, body, stage))
                 ? -1
                 : 0;
    }
    switch (a->kind) {
        case PIPELINE_NOTIFY:
            if (yamltree_keys (t, body, what, notify)
                || s_text (ld, body, "to", true, NULL, s_role_ref, &a->to)
                || s_text (ld, body, "text", true, NULL, s_template_ref, &a->text)
                || s_text (ld, body, "missed_after", false, NULL, s_datetime_ref, &a->missed_after)
                || s_text (ld, body, "missed_text", false, NULL, s_template_ref, &a->missed_text))
                return -1;
            if (!a->missed_after != !a->missed_text)
                return yamltree_fail (t, body, "give both missed_after and missed_text, or neither");
            return 0;
        case PIPELINE_TASK:
            if (yamltree_keys (t, body, what, task)
                || s_text (ld, body, "title", true, NULL, s_template_ref, &a->title)
                || s_text (ld, body, "description", false, NULL, s_template_ref, &a->description)
                || s_text (ld, body, "creator", false, "responsible", s_role_ref, &a->creator)
                || s_text (ld, body, "responsible", true, NULL, s_role_ref, &a->responsible)
                || s_text (ld, body, "tag", false, NULL, NULL, &a->tag)
                || s_time_key (ld, body, "deadline", TIME_FIELD_OR_DUR, a))
                return -1;
            if (a->tag
                && pipeline_want_word (t, yamltree_get (t, body, "tag"), "tag", a->tag, PIPELINE_NAME_CHARS))
                return -1;
            yaml_node_t *co = yamltree_get (t, body, "coexecutors");
            return co ? pipeline_names (ld, co, "'coexecutors'", s_role_ref, &a->coexecutors,
                                        &a->n_coexecutors)
                      : 0;
        case PIPELINE_ACTIVITY:
            if (yamltree_keys (t, body, what, activity)
                || s_text (ld, body, "title", true, NULL, s_template_ref, &a->title)
                || s_text (ld, body, "responsible", false, "responsible", s_role_ref, &a->responsible))
                return -1;
            if (!yamltree_need (t, body, "at"))
                return -1;
            return s_time_key (ld, body, "at", TIME_FIELD, a);
        case PIPELINE_TIMER:
            if (yamltree_keys (t, body, what, timer) || s_text (ld, body, "id", true, NULL, NULL, &a->timer))
                return -1;
            if (pipeline_want_word (t, yamltree_get (t, body, "id"), "timer id", a->timer,
                                    PIPELINE_NAME_CHARS))
                return -1;
            if (!yamltree_get (t, body, "at") == !yamltree_get (t, body, "after"))
                return yamltree_fail (t, body,
                                      "a timer needs exactly one of 'at' (FIELD ± D) and 'after' (D)");
            return s_time_key (ld, body, "at", TIME_FIELD, a) || s_time_key (ld, body, "after", TIME_DUR, a)
                     ? -1
                     : 0;
        case PIPELINE_CREATE_CONTACT:
            return yamltree_keys (t, body, what, contact)
                        || s_text (ld, body, "flag", true, NULL, NULL, &a->flag)
                     ? -1
                     : 0;
        case PIPELINE_OPEN_DEAL:
            if (yamltree_keys (t, body, what, deal)
                || s_text (ld, body, "pipeline", true, NULL, NULL, &a->pipeline))
                return -1;
            return pipeline_want_word (t, yamltree_get (t, body, "pipeline"), "pipeline", a->pipeline,
                                       PIPELINE_ID_CHARS);
        default: return 0;
    }
}

static int
s_action (pipeline_loader_t *ld, pipeline_rule_t *rule, const yaml_node_t *item)
{
    yamltree_t *t = ld->tree;
    if (item->type != YAML_MAPPING_NODE || yamltree_len (item) != 1)
        return yamltree_fail (t, item,
                              "each action is a map with one key: notify, move, task, activity, timer, "
                              "create_contact or open_deal");
    yaml_node_t *key, *body;
    yamltree_pair (t, item, 0, &key, &body);
    const char *name = yamltree_scalar (t, key, "an action");
    if (!name)
        return -1;
    size_t i = 0;
    while (s_action_names[i] && strcmp (s_action_names[i], name) != 0)
        i++;
    if (!s_action_names[i])
        return yamltree_fail (t, key,
                              "unknown action '%s' (actions: notify, move, task, activity, timer, "
                              "create_contact, open_deal)",
                              name);
    pipeline_action_t *a = &rule->actions[rule->n_actions++];
    a->kind = s_action_kinds[i];
    a->line = yamltree_line (key);
    yamltree_context (t, "rule '%s': %s", rule->id, name);
    int rc = s_action_body (ld, body, name, a);
    yamltree_context (t, "rule '%s'", rule->id);
    return rc;
}

static int
s_condition (pipeline_loader_t *ld, pipeline_rule_t *rule, const yaml_node_t *key, const yaml_node_t *value)
{
    yamltree_t *t = ld->tree;
    const char *id = yamltree_scalar (t, key, "a condition's field");
    const char *text = id ? yamltree_scalar (t, value, "a condition's value") : NULL;
    if (!text || pipeline_field_ref (ld, key, id))
        return -1;
    const pipeline_field_t *f = pipeline_field (ld->p, id);
    char list[512] = "";
    if (f->type == PIPELINE_DATETIME)
        return yamltree_fail (
            t, key, "if: field '%s' is a date-time: conditions test enum, yes/no and text fields", id);
    if (f->type == PIPELINE_BOOL) {
        if (strcmp (text, "yes") == 0 || strcmp (text, "true") == 0)
            text = "yes";
        else if (strcmp (text, "no") == 0 || strcmp (text, "false") == 0)
            text = "no";
        else
            return yamltree_fail (t, value, "if: '%s' is not a value of '%s' (values: yes, no)", text, id);
    }
    if (f->type == PIPELINE_ENUM) {
        size_t i = 0;
        while (i < f->n_options && strcmp (f->options[i].id, text) != 0)
            pipeline_list_add (list, sizeof list, f->options[i++].id);
        for (size_t j = i + 1; j < f->n_options; j++)
            pipeline_list_add (list, sizeof list, f->options[j].id);
        if (i == f->n_options)
            return yamltree_fail (t, value, "if: '%s' is not a value of '%s' (values: %s)", text, id, list);
    }
    pipeline_cond_t *c = &rule->conds[rule->n_conds++];
    return (c->field = pipeline_dup (t, key, id)) && (c->value = pipeline_dup (t, value, text)) ? 0 : -1;
}

static int
s_trigger (pipeline_loader_t *ld, pipeline_rule_t *rule, const yaml_node_t *on)
{
    static const char *const keys[] = {"enter", "change", "timer", "tasks_completed", "stage", NULL};
    yamltree_t *t = ld->tree;
    int rc = 0;
    if (yamltree_keys (t, on, "'on'", keys))
        return -1;
    const char *enter = yamltree_opt_scalar (t, on, "enter", &rc);
    const char *timer = yamltree_opt_scalar (t, on, "timer", &rc);
    const char *tag = yamltree_opt_scalar (t, on, "tasks_completed", &rc);
    const char *stage = yamltree_opt_scalar (t, on, "stage", &rc);
    yaml_node_t *change = yamltree_get (t, on, "change");
    if (rc)
        return -1;
    if (!!enter + !!timer + !!tag != 1)
        return yamltree_fail (t, on, "'on' needs exactly one of enter, timer, tasks_completed");
    if (change && !enter)
        return yamltree_fail (t, change,
                              "'change' goes with enter: the fields that re-run the rule in the stage");
    if (stage && !tag)
        return yamltree_fail (t, yamltree_get (t, on, "stage"),
                              "'stage' goes with tasks_completed (write enter: STAGE)");
    if (tag && !stage)
        return yamltree_fail (t, on, "tasks_completed needs 'stage': the stage the record must be in");
    rule->trigger = enter ? PIPELINE_ON_ENTER : timer ? PIPELINE_ON_TIMER : PIPELINE_ON_TASKS_DONE;
    if (enter || stage) {
        yaml_node_t *node = yamltree_get (t, on, enter ? "enter" : "stage");
        if (pipeline_stage_ref (ld, node, enter ? enter : stage)
            || !(rule->stage = pipeline_dup (t, node, enter ? enter : stage)))
            return -1;
    }
    if (change && pipeline_names (ld, change, "'change'", pipeline_field_ref, &rule->watch, &rule->n_watch))
        return -1;
    if (timer
        && (pipeline_want_word (t, yamltree_get (t, on, "timer"), "timer id", timer, PIPELINE_NAME_CHARS)
            || !(rule->timer = pipeline_dup (t, on, timer))))
        return -1;
    if (tag
        && (pipeline_want_word (t, yamltree_get (t, on, "tasks_completed"), "tag", tag, PIPELINE_NAME_CHARS)
            || !(rule->tag = pipeline_dup (t, on, tag))))
        return -1;
    return 0;
}

static int
s_rule (pipeline_loader_t *ld, const yaml_node_t *node, size_t index)
{
    static const char *const keys[] = {"id", "on", "if", "do", NULL};
    yamltree_t *t = ld->tree;
    pipeline_t *p = ld->p;
    yamltree_context (t, "rule #%zu", index + 1);
    if (yamltree_want_map (t, node, "each rule"))
        return -1;
    yaml_node_t *id = yamltree_need (t, node, "id");
    const char *text = id ? yamltree_scalar (t, id, "'id'") : NULL;
    if (!text || pipeline_want_word (t, id, "rule id", text, PIPELINE_NAME_CHARS))
        return -1;
    yamltree_context (t, "rule '%s'", text);
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp (p->rules[i].id, text) == 0)
            return yamltree_fail (t, id, "given twice (also on line %d)", p->rules[i].line);
    if (yamltree_keys (t, node, "each rule", keys))
        return -1;
    pipeline_rule_t *rule = &p->rules[p->n_rules];
    rule->line = yamltree_line (node);
    if (!(rule->id = pipeline_dup (t, id, text)))
        return -1;
    p->n_rules++;
    yamltree_context (t, "rule '%s'", text);
    yaml_node_t *on = yamltree_need (t, node, "on");
    if (!on || s_trigger (ld, rule, on))
        return -1;
    ld->on_lines[index] = yamltree_line (on);
    yaml_node_t *cond = yamltree_get (t, node, "if");
    if (cond && yamltree_want_map (t, cond, "'if'"))
        return -1;
    if (yamltree_len (cond) && !(rule->conds = calloc (yamltree_len (cond), sizeof *rule->conds)))
        return yamltree_fail (t, cond, "out of memory");
    for (size_t i = 0; i < yamltree_len (cond); i++) {
        yaml_node_t *key, *value;
        yamltree_pair (t, cond, i, &key, &value);
        if (s_condition (ld, rule, key, value))
            return -1;
    }
    yaml_node_t *actions = yamltree_need (t, node, "do");
    if (!actions || yamltree_want_seq (t, actions, "'do'"))
        return -1;
    if (yamltree_len (actions) == 0)
        return yamltree_fail (t, actions, "the rule has no actions");
    if (!(rule->actions = calloc (yamltree_len (actions), sizeof *rule->actions)))
        return yamltree_fail (t, actions, "out of memory");
    for (size_t i = 0; i < yamltree_len (actions); i++)
        if (s_action (ld, rule, yamltree_item (t, actions, i)))
            return -1;
    return 0;
}

int
pipeline_rules_load (pipeline_loader_t *ld, const yaml_node_t *node)
{
    yamltree_t *t = ld->tree;
    size_t n = yamltree_len (node);
    if (yamltree_want_seq (t, node, "'rules'"))
        return -1;
    if (n
        && (!(ld->p->rules = calloc (n, sizeof *ld->p->rules)) || !(ld->on_lines = calloc (n, sizeof (int)))))
        return yamltree_fail (t, node, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (s_rule (ld, yamltree_item (t, node, i), i))
            return -1;
    return pipeline_rules_check (ld);
}

void
pipeline_rules_free (pipeline_rule_t *rules, size_t n)
{
    for (size_t i = 0; rules && i < n; i++) {
        pipeline_rule_t *r = &rules[i];
        for (size_t j = 0; j < r->n_actions; j++) {
            pipeline_action_t *a = &r->actions[j];
            char *strings[] = {a->to,          a->text,    a->missed_after, a->missed_text, a->title,
                               a->description, a->creator, a->responsible,  a->tag,         a->time.field,
                               a->timer,       a->stage,   a->flag,         a->pipeline};
            for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
                free (strings[k]);
            pipeline_strv_free (a->coexecutors, a->n_coexecutors);
        }
        for (size_t j = 0; j < r->n_conds; j++) {
            free (r->conds[j].field);
            free (r->conds[j].value);
        }
        free (r->conds);
        free (r->actions);
        free (r->id);
        free (r->stage);
        free (r->timer);
        free (r->tag);
        pipeline_strv_free (r->watch, r->n_watch);
    }
    free (rules);
}

/*  pipeline: see pipeline.h. This file reads a definition's header,
    durations, fields and stages, and holds the helpers the other parts
    share (pipeline_private.h): pipeline_staff.c reads the staff directory,
    pipeline_rules.c the rules, pipeline_checks.c checks rules together.
*/
#include "pipeline.h"
#include "pipeline_private.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pipeline_builtins[] = {
    "id",    "name",       "phone", "email", "company", "comment", "responsible", "responsible_name",
    "stage", "stage_name", "now",   "task",  NULL};

//  Longest duration accepted: 100 years, so that a date plus or minus one
//  stays far inside int64 milliseconds.
#define DURATION_MAX_MS (100LL * 365 * 24 * 3600 * 1000)

//  ---------------------------------------------------------------- helpers

bool
pipeline_word (const char *s, const char *extra)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr (extra, *s)))
            return false;
    return true;
}

int
pipeline_want_word (yamltree_t *tree, const yaml_node_t *node, const char *what, const char *text,
                    const char *extra)
{
    if (pipeline_word (text, extra))
        return 0;
    char allowed[64] = "";
    for (const char *c = extra; *c; c++)
        snprintf (allowed + strlen (allowed), sizeof allowed - strlen (allowed), ", '%c'", *c);
    return yamltree_fail (tree, node, "%s '%s' must be lowercase latin letters, digits%s", what, text,
                          allowed);
}

char *
pipeline_dup (yamltree_t *tree, const yaml_node_t *node, const char *text)
{
    char *copy = strdup (text);
    if (!copy)
        yamltree_fail (tree, node, "out of memory");
    return copy;
}

void
pipeline_list_add (char *buf, size_t size, const char *name)
{
    size_t used = strlen (buf), len = strlen (name);
    for (const char *at = strstr (buf, name); at; at = strstr (at + 1, name))
        if ((at == buf || at[-1] == ' ') && (at[len] == ',' || at[len] == 0))
            return;  // listed already
    if (used + 1 >= size)
        return;
    snprintf (buf + used, size - used, "%s%s", used ? ", " : "", name);
}

void
pipeline_strv_free (char **strv, size_t n)
{
    for (size_t i = 0; strv && i < n; i++)
        free (strv[i]);
    free (strv);
}

int
pipeline_names (pipeline_loader_t *ld, const yaml_node_t *node, const char *what, pipeline_check_fn *check,
                char ***out, size_t *n)
{
    yamltree_t *t = ld->tree;
    if (yamltree_want_seq (t, node, what))
        return -1;
    size_t count = yamltree_len (node);
    if (count && !(*out = calloc (count, sizeof (char *))))
        return yamltree_fail (t, node, "out of memory");
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yamltree_item (t, node, i);
        const char *text = yamltree_scalar (t, item, "each item");
        if (!text || (check && check (ld, item, text)))
            return -1;
        for (size_t j = 0; j < *n; j++)
            if (strcmp ((*out)[j], text) == 0)
                return yamltree_fail (t, item, "'%s' twice in %s", text, what);
        if (!((*out)[*n] = pipeline_dup (t, item, text)))
            return -1;
        (*n)++;
    }
    return 0;
}

int
pipeline_stage_ref (pipeline_loader_t *ld, const yaml_node_t *item, const char *text)
{
    if (pipeline_stage (ld->p, text))
        return 0;
    char list[512] = "";
    for (size_t i = 0; i < ld->p->n_stages; i++)
        pipeline_list_add (list, sizeof list, ld->p->stages[i].id);
    return yamltree_fail (ld->tree, item, "unknown stage '%s' (stages: %s)", text, list);
}

int
pipeline_field_ref (pipeline_loader_t *ld, const yaml_node_t *item, const char *text)
{
    if (pipeline_field (ld->p, text))
        return 0;
    char list[512] = "";
    for (size_t i = 0; i < ld->p->n_fields; i++)
        pipeline_list_add (list, sizeof list, ld->p->fields[i].id);
    return yamltree_fail (ld->tree, item, "unknown field '%s' (fields: %s)", text, *list ? list : "none");
}

int
pipeline_duration (const char *text, int64_t *ms)
{
    //  Units from the largest; each at most once, in this order ("1h30m").
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};
    static const int rank[] = {0, 1, 4, 2, 3};
    if (!text || !*text)
        return -1;
    int64_t total = 0;
    int last = -1;
    for (const char *p = text; *p;) {
        int64_t n = 0;
        int digits = 0;
        for (; isdigit ((unsigned char) *p); p++, digits++) {
            if (digits >= 13)
                return -1;
            n = n * 10 + (*p - '0');
        }
        size_t u = 0, count = sizeof units / sizeof units[0];
        while (u < count && strncmp (p, units[u].unit, strlen (units[u].unit)) != 0)
            u++;
        if (digits == 0 || u == count || rank[u] <= last || n > DURATION_MAX_MS / units[u].ms)
            return -1;
        last = rank[u];
        total += n * units[u].ms;
        if (total > DURATION_MAX_MS)
            return -1;
        p += strlen (units[u].unit);
    }
    *ms = total;
    return 0;
}

bool
pipeline_find_duration (pipeline_loader_t *ld, const char *text, int64_t *ms)
{
    if (pipeline_duration (text, ms) == 0)
        return true;
    for (size_t i = 0; i < ld->n_dur; i++)
        if (strcmp (ld->dur_names[i], text) == 0) {
            *ms = ld->dur_ms[i];
            return true;
        }
    return false;
}

int
pipeline_resolve_duration (pipeline_loader_t *ld, const yaml_node_t *node, const char *text, int64_t *ms)
{
    if (pipeline_find_duration (ld, text, ms))
        return 0;
    char list[512] = "";
    for (size_t i = 0; i < ld->n_dur; i++)
        pipeline_list_add (list, sizeof list, ld->dur_names[i]);
    return yamltree_fail (ld->tree, node,
                          "bad duration '%s': write a number and a unit (ms, s, m, h, d), e.g. 15m, 3d, "
                          "1h30m, or a name from durations (durations: %s)",
                          text, *list ? list : "none");
}

//  ---------------------------------------------------------------- definition

//  Reads the named durations, then lets override ("name=15s,other=2m")
//  replace them: tests and staging run the same rules in seconds.
static int
s_durations (pipeline_loader_t *ld, const yaml_node_t *key, const yaml_node_t *node, const char *override)
{
    yamltree_t *t = ld->tree;
    yamltree_context (t, "durations");
    if (node && yamltree_want_map (t, node, "'durations'"))
        return -1;
    size_t n = yamltree_len (node);
    if (n && (!(ld->dur_names = calloc (n, sizeof (char *))) || !(ld->dur_ms = calloc (n, sizeof (int64_t)))))
        return yamltree_fail (t, node, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *name_node, *value;
        yamltree_pair (t, node, i, &name_node, &value);
        const char *name = yamltree_scalar (t, name_node, "each duration name");
        if (!name || pipeline_want_word (t, name_node, "duration name", name, PIPELINE_ID_CHARS))
            return -1;
        if (isdigit ((unsigned char) name[0]))
            return yamltree_fail (t, name_node, "duration name '%s' must start with a letter", name);
        for (size_t j = 0; j < ld->n_dur; j++)
            if (strcmp (ld->dur_names[j], name) == 0)
                return yamltree_fail (t, name_node, "duration '%s' given twice", name);
        const char *text = yamltree_scalar (t, value, "each duration");
        if (!text)
            return -1;
        if (pipeline_duration (text, &ld->dur_ms[ld->n_dur]))
            return yamltree_fail (t, value, "'%s': '%s' is not a duration (e.g. 15m, 3d, 1h30m, 500ms)", name,
                                  text);
        if (!(ld->dur_names[ld->n_dur] = pipeline_dup (t, name_node, name)))
            return -1;
        ld->n_dur++;
    }
    yamltree_context (t, "CRM_DURATIONS");
    char *copy = override ? strdup (override) : NULL, *save = NULL;
    if (override && !copy)
        return yamltree_fail (t, key, "out of memory");
    for (char *item = copy ? strtok_r (copy, ",", &save) : NULL; item; item = strtok_r (NULL, ",", &save)) {
        char raw[128];
        snprintf (raw, sizeof raw, "%s", item);
        char *eq = strchr (item, '=');
        char *name = item, *text = eq ? eq + 1 : NULL;
        if (eq)
            *eq = 0;
        for (char *s = name; s; s = s == name ? text : NULL) {
            //  Trims spaces around name and text.
            while (*s == ' ')
                memmove (s, s + 1, strlen (s));
            while (*s && s[strlen (s) - 1] == ' ')
                s[strlen (s) - 1] = 0;
        }
        if (!*name && !text)
            continue;
        size_t j = 0;
        while (j < ld->n_dur && strcmp (ld->dur_names[j], name) != 0)
            j++;
        char list[512] = "";
        for (size_t k = 0; k < ld->n_dur; k++)
            pipeline_list_add (list, sizeof list, ld->dur_names[k]);
        if (!text || !*name)
            yamltree_fail (t, key, "'%s' is not name=duration (e.g. %s=15s)", raw, ld->n_dur ? list : "name");
        else if (j == ld->n_dur)
            yamltree_fail (t, key, "unknown duration '%s' (durations: %s)", name, *list ? list : "none");
        else if (pipeline_duration (text, &ld->dur_ms[j]))
            yamltree_fail (t, key, "%s: '%s' is not a duration (e.g. 15s, 2m, 500ms)", name, text);
        if (yamltree_failed (t))
            break;
    }
    free (copy);
    return yamltree_failed (t) ? -1 : 0;
}

static int
s_field (pipeline_loader_t *ld, const yaml_node_t *key, const yaml_node_t *node)
{
    static const char *const keys[] = {"type", "label", "values", NULL};
    static const char *const types[] = {"text", "enum", "datetime", "bool", NULL};
    yamltree_t *t = ld->tree;
    pipeline_t *p = ld->p;
    const char *id = yamltree_scalar (t, key, "each field id");
    if (!id || pipeline_want_word (t, key, "field id", id, PIPELINE_ID_CHARS))
        return -1;
    yamltree_context (t, "field '%s'", id);
    for (const char *const *b = pipeline_builtins; *b; b++)
        if (strcmp (*b, id) == 0)
            return yamltree_fail (t, key, "'%s' is a built-in attribute of every record: choose another id",
                                  id);
    if (pipeline_field (p, id))
        return yamltree_fail (t, key, "given twice (also on line %d)", pipeline_field (p, id)->line);
    //  "deadline: X" may be a field or a duration: one name, one meaning.
    for (size_t i = 0; i < ld->n_dur; i++)
        if (strcmp (ld->dur_names[i], id) == 0)
            return yamltree_fail (t, key, "a duration has this name too: rename one of them");
    pipeline_field_t *f = &p->fields[p->n_fields];
    f->line = yamltree_line (key);
    if (!(f->id = pipeline_dup (t, key, id)))
        return -1;
    p->n_fields++;
    if (yamltree_keys (t, node, "each field", keys))
        return -1;
    yaml_node_t *type = yamltree_need (t, node, "type");
    const char *text = type ? yamltree_scalar (t, type, "'type'") : NULL;
    if (!text)
        return -1;
    size_t i = 0;
    while (types[i] && strcmp (types[i], text) != 0)
        i++;
    if (!types[i])
        return yamltree_fail (t, type, "type '%s' is unknown (types: text, enum, datetime, bool)", text);
    f->type = (pipeline_type_t) i;
    yaml_node_t *label = yamltree_need (t, node, "label");
    if (!label || !(text = yamltree_scalar (t, label, "'label'")))
        return -1;
    if (!*text)
        return yamltree_fail (t, label, "'label' is empty");
    if (!(f->label = pipeline_dup (t, label, text)))
        return -1;
    yaml_node_t *values = yamltree_get (t, node, "values");
    if (f->type != PIPELINE_ENUM)
        return values
                 ? yamltree_fail (t, yamltree_key (t, node, "values"), "'values' is only for enum fields")
                 : 0;
    if (!values)
        return yamltree_fail (t, node, "an enum field needs 'values' (a map: value id -> label)");
    if (yamltree_want_map (t, values, "'values'"))
        return -1;
    if (yamltree_len (values) == 0)
        return yamltree_fail (t, values, "'values' is empty");
    if (!(f->options = calloc (yamltree_len (values), sizeof *f->options)))
        return yamltree_fail (t, values, "out of memory");
    for (i = 0; i < yamltree_len (values); i++) {
        yaml_node_t *value_id, *value_label;
        yamltree_pair (t, values, i, &value_id, &value_label);
        const char *vid = yamltree_scalar (t, value_id, "each value id");
        const char *vlabel = vid ? yamltree_scalar (t, value_label, "each value's label") : NULL;
        if (!vlabel || pipeline_want_word (t, value_id, "value", vid, PIPELINE_ID_CHARS))
            return -1;
        for (size_t j = 0; j < f->n_options; j++)
            if (strcmp (f->options[j].id, vid) == 0)
                return yamltree_fail (t, value_id, "value '%s' given twice", vid);
        if (!*vlabel)
            return yamltree_fail (t, value_label, "value '%s': the label is empty", vid);
        pipeline_option_t *o = &f->options[f->n_options++];
        if (!(o->id = pipeline_dup (t, value_id, vid)) || !(o->label = pipeline_dup (t, value_label, vlabel)))
            return -1;
    }
    return 0;
}

//  The stage itself; its moves and requires come once every stage is known.
static int
s_stage (pipeline_loader_t *ld, const yaml_node_t *node, size_t index)
{
    static const char *const keys[] = {"id", "name", "kind", "moves", "requires", "from_any_open", NULL};
    static const char *const kinds[] = {"open", "won", "lost", NULL};
    yamltree_t *t = ld->tree;
    pipeline_t *p = ld->p;
    yamltree_context (t, "stage #%zu", index + 1);
    if (yamltree_want_map (t, node, "each stage"))
        return -1;
    yaml_node_t *id = yamltree_need (t, node, "id");
    const char *text = id ? yamltree_scalar (t, id, "'id'") : NULL;
    if (!text || pipeline_want_word (t, id, "stage id", text, PIPELINE_ID_CHARS))
        return -1;
    yamltree_context (t, "stage '%s'", text);
    if (pipeline_stage (p, text))
        return yamltree_fail (t, id, "given twice (also on line %d)", pipeline_stage (p, text)->line);
    if (yamltree_keys (t, node, "each stage", keys))
        return -1;
    pipeline_stage_t *s = &p->stages[p->n_stages];
    s->order = (int) index + 1;
    s->line = yamltree_line (node);
    if (!(s->id = pipeline_dup (t, id, text)))
        return -1;
    p->n_stages++;
    yaml_node_t *name = yamltree_need (t, node, "name");
    if (!name || !(text = yamltree_scalar (t, name, "'name'")))
        return -1;
    if (!*text)
        return yamltree_fail (t, name, "'name' is empty");
    if (!(s->name = pipeline_dup (t, name, text)))
        return -1;
    yaml_node_t *kind = yamltree_need (t, node, "kind");
    if (!kind || !(text = yamltree_scalar (t, kind, "'kind'")))
        return -1;
    size_t k = 0;
    while (kinds[k] && strcmp (kinds[k], text) != 0)
        k++;
    if (!kinds[k])
        return yamltree_fail (t, kind, "kind '%s' is unknown (kinds: open, won, lost)", text);
    s->kind = (pipeline_kind_t) k;
    if (index == 0 && s->kind != PIPELINE_OPEN)
        return yamltree_fail (t, kind, "the first stage is where records start: its kind must be open");
    int rc = 0;
    text = yamltree_opt_scalar (t, node, "from_any_open", &rc);
    if (rc)
        return -1;
    if (text && strcmp (text, "true") && strcmp (text, "yes") && strcmp (text, "false")
        && strcmp (text, "no"))
        return yamltree_fail (t, yamltree_get (t, node, "from_any_open"),
                              "'from_any_open' must be true or false");
    s->from_any_open = text && (strcmp (text, "true") == 0 || strcmp (text, "yes") == 0);
    return 0;
}

static int
s_stage_links (pipeline_loader_t *ld, const yaml_node_t *node, pipeline_stage_t *s)
{
    yamltree_t *t = ld->tree;
    yamltree_context (t, "stage '%s'", s->id);
    yaml_node_t *moves = yamltree_get (t, node, "moves");
    if (moves && s->kind != PIPELINE_OPEN && yamltree_len (moves) > 0)
        return yamltree_fail (t, moves, "a %s stage is final: it has no moves",
                              s->kind == PIPELINE_WON ? "won" : "lost");
    if (moves && pipeline_names (ld, moves, "'moves'", pipeline_stage_ref, &s->moves, &s->n_moves))
        return -1;
    for (size_t i = 0; i < s->n_moves; i++)
        if (strcmp (s->moves[i], s->id) == 0)
            return yamltree_fail (t, yamltree_item (t, moves, i), "a stage cannot move to itself");
    yaml_node_t *requires = yamltree_get (t, node, "requires");
    if (requires
        && pipeline_names (ld, requires, "'requires'", pipeline_field_ref, &s->requires, &s->n_requires))
        return -1;
    return 0;
}

pipeline_t *
pipeline_load (const char *path, const staff_t *staff, const char *durations_override, char *err,
               size_t err_size)
{
    static const char *const keys[] = {"pipeline", "name",   "record", "durations",
                                       "fields",   "stages", "rules",  NULL};
    pipeline_loader_t ld = {0};
    if (!staff) {
        snprintf (err, err_size, "%s:1: no staff directory to check the roles against", path);
        return NULL;
    }
    yamltree_t *t = ld.tree = yamltree_load (path, err, err_size);
    if (!t)
        return NULL;
    yaml_node_t *root = yamltree_root (t);
    pipeline_t *p = ld.p = calloc (1, sizeof *p);
    if (!p || !(p->path = strdup (path))) {
        yamltree_fail (t, root, "out of memory");
        goto cleanup;
    }
    p->staff = staff;
    if (yamltree_keys (t, root, "the pipeline file", keys))
        goto cleanup;
    yaml_node_t *node = yamltree_need (t, root, "pipeline");
    const char *text = node ? yamltree_scalar (t, node, "'pipeline'") : NULL;
    if (!text || pipeline_want_word (t, node, "pipeline id", text, PIPELINE_ID_CHARS)
        || !(p->id = pipeline_dup (t, node, text)))
        goto cleanup;
    if (!(node = yamltree_need (t, root, "name")) || !(text = yamltree_scalar (t, node, "'name'")))
        goto cleanup;
    if (!*text) {
        yamltree_fail (t, node, "'name' is empty");
        goto cleanup;
    }
    if (!(p->name = pipeline_dup (t, node, text)))
        goto cleanup;
    if (!(node = yamltree_need (t, root, "record")) || !(text = yamltree_scalar (t, node, "'record'")))
        goto cleanup;
    if (!pipeline_word (text, "_") || strpbrk (text, "0123456789")) {
        yamltree_fail (t, node, "record '%s' must be lowercase latin letters and '_' (e.g. lead, deal)",
                       text);
        goto cleanup;
    }
    if (!(p->record = pipeline_dup (t, node, text)))
        goto cleanup;
    if (s_durations (&ld, yamltree_key (t, root, "durations"), yamltree_get (t, root, "durations"),
                     durations_override))
        goto cleanup;

    yamltree_context (t, "%s", "");
    node = yamltree_get (t, root, "fields");
    if (node && yamltree_want_map (t, node, "'fields'"))
        goto cleanup;
    if (yamltree_len (node) && !(p->fields = calloc (yamltree_len (node), sizeof *p->fields))) {
        yamltree_fail (t, node, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < yamltree_len (node); i++) {
        yaml_node_t *key, *value;
        yamltree_pair (t, node, i, &key, &value);
        if (s_field (&ld, key, value))
            goto cleanup;
    }

    yamltree_context (t, "%s", "");
    node = yamltree_need (t, root, "stages");
    if (!node || yamltree_want_seq (t, node, "'stages'"))
        goto cleanup;
    if (yamltree_len (node) == 0) {
        yamltree_fail (t, node, "'stages' is empty");
        goto cleanup;
    }
    if (!(p->stages = calloc (yamltree_len (node), sizeof *p->stages))) {
        yamltree_fail (t, node, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < yamltree_len (node); i++)
        if (s_stage (&ld, yamltree_item (t, node, i), i))
            goto cleanup;
    for (size_t i = 0; i < yamltree_len (node); i++)
        if (s_stage_links (&ld, yamltree_item (t, node, i), &p->stages[i]))
            goto cleanup;

    yamltree_context (t, "%s", "");
    node = yamltree_get (t, root, "rules");
    if (node)
        pipeline_rules_load (&ld, node);
cleanup:
    pipeline_strv_free (ld.dur_names, ld.n_dur);
    free (ld.dur_ms);
    free (ld.on_lines);
    if (yamltree_failed (t))
        pipeline_destroy (&p);
    yamltree_destroy (&t);
    return p;
}

void
pipeline_destroy (pipeline_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pipeline_t *self = *self_p;
    for (size_t i = 0; i < self->n_fields; i++) {
        pipeline_field_t *f = &self->fields[i];
        for (size_t j = 0; j < f->n_options; j++) {
            free (f->options[j].id);
            free (f->options[j].label);
        }
        free (f->options);
        free (f->id);
        free (f->label);
    }
    for (size_t i = 0; i < self->n_stages; i++) {
        pipeline_stage_t *s = &self->stages[i];
        free (s->id);
        free (s->name);
        pipeline_strv_free (s->moves, s->n_moves);
        pipeline_strv_free (s->requires, s->n_requires);
    }
    pipeline_rules_free (self->rules, self->n_rules);
    free (self->fields);
    free (self->stages);
    free (self->path);
    free (self->id);
    free (self->name);
    free (self->record);
    free (self);
    *self_p = NULL;
}

const pipeline_stage_t *
pipeline_stage (const pipeline_t *self, const char *id)
{
    for (size_t i = 0; self && id && i < self->n_stages; i++)
        if (strcmp (self->stages[i].id, id) == 0)
            return &self->stages[i];
    return NULL;
}

const pipeline_field_t *
pipeline_field (const pipeline_t *self, const char *id)
{
    for (size_t i = 0; self && id && i < self->n_fields; i++)
        if (strcmp (self->fields[i].id, id) == 0)
            return &self->fields[i];
    return NULL;
}

/*  yamltree: see yamltree.h. */
#include "yamltree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct yamltree_t {
    yaml_document_t doc;
    char *path;
    char *err;
    size_t err_size;
    bool failed;
    char context[256];
};

//  Writes "PATH:LINE: " and the message into err, once.
static void
s_vfail (char *err, size_t err_size, bool *failed, const char *path, int line, const char *context,
         const char *fmt, va_list args)
{
    if (*failed || err_size == 0)
        return;
    *failed = true;
    int n = snprintf (err, err_size, "%s:%d: %s%s", path, line, context, *context ? ": " : "");
    if (n >= 0 && (size_t) n < err_size)
        vsnprintf (err + n, err_size - (size_t) n, fmt, args);
}

static void
s_fail_path (char *err, size_t err_size, const char *path, int line, const char *fmt, ...)
{
    bool failed = false;
    va_list args;
    va_start (args, fmt);
    s_vfail (err, err_size, &failed, path, line, "", fmt, args);
    va_end (args);
}

yamltree_t *
yamltree_load (const char *path, char *err, size_t err_size)
{
    yamltree_t *self = NULL;
    yaml_parser_t parser;
    bool parser_ready = false;
    FILE *file = fopen (path, "rb");
    if (!file) {
        s_fail_path (err, err_size, path, 1, "cannot read it: %s", strerror (errno));
        goto cleanup;
    }
    self = calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path)) || !yaml_parser_initialize (&parser)) {
        s_fail_path (err, err_size, path, 1, "out of memory");
        goto fail;
    }
    parser_ready = true;
    self->err = err;
    self->err_size = err_size;
    yaml_parser_set_input_file (&parser, file);
    if (!yaml_parser_load (&parser, &self->doc)) {
        s_fail_path (err, err_size, path, (int) parser.problem_mark.line + 1, "YAML syntax error: %s%s%s",
                     parser.problem ? parser.problem : "unreadable", parser.context ? " " : "",
                     parser.context ? parser.context : "");
        goto fail;
    }
    yaml_node_t *root = yaml_document_get_root_node (&self->doc);
    if (!root) {
        s_fail_path (err, err_size, path, 1, "the file is empty (expected a mapping of keys)");
        yaml_document_delete (&self->doc);
        goto fail;
    }
    if (root->type != YAML_MAPPING_NODE) {
        s_fail_path (err, err_size, path, yamltree_line (root), "the top level must be a mapping of keys");
        yaml_document_delete (&self->doc);
        goto fail;
    }
    //  A second document (after "---") would be ignored silently.
    yaml_document_t next;
    if (!yaml_parser_load (&parser, &next)) {
        s_fail_path (err, err_size, path, (int) parser.problem_mark.line + 1, "YAML syntax error: %s%s%s",
                     parser.problem ? parser.problem : "unreadable", parser.context ? " " : "",
                     parser.context ? parser.context : "");
        yaml_document_delete (&self->doc);
        goto fail;
    }
    yaml_node_t *second = yaml_document_get_root_node (&next);
    int second_line = second ? yamltree_line (second) : 0;
    yaml_document_delete (&next);
    if (second) {
        s_fail_path (err, err_size, path, second_line, "a second YAML document: one file holds one");
        yaml_document_delete (&self->doc);
        goto fail;
    }
    goto cleanup;
fail:
    if (self)
        free (self->path);
    free (self);
    self = NULL;
cleanup:
    if (parser_ready)
        yaml_parser_delete (&parser);
    if (file)
        fclose (file);
    return self;
}

void
yamltree_destroy (yamltree_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    yamltree_t *self = *self_p;
    yaml_document_delete (&self->doc);
    free (self->path);
    free (self);
    *self_p = NULL;
}

yaml_node_t *
yamltree_root (yamltree_t *self)
{
    return yaml_document_get_root_node (&self->doc);
}

const char *
yamltree_path (const yamltree_t *self)
{
    return self->path;
}

int
yamltree_line (const yaml_node_t *node)
{
    return node ? (int) node->start_mark.line + 1 : 1;
}

void
yamltree_context (yamltree_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->context, sizeof self->context, fmt, args);
    va_end (args);
}

int
yamltree_fail (yamltree_t *self, const yaml_node_t *node, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    s_vfail (self->err, self->err_size, &self->failed, self->path, yamltree_line (node), self->context, fmt,
             args);
    va_end (args);
    return -1;
}

int
yamltree_fail_at (yamltree_t *self, int line, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    s_vfail (self->err, self->err_size, &self->failed, self->path, line, self->context, fmt, args);
    va_end (args);
    return -1;
}

bool
yamltree_failed (const yamltree_t *self)
{
    return self->failed;
}

//  Node's text when it is a scalar, else NULL.
static const char *
s_text (const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *) node->data.scalar.value : NULL;
}

int
yamltree_keys (yamltree_t *self, const yaml_node_t *node, const char *what, const char *const *allowed)
{
    if (yamltree_want_map (self, node, what))
        return -1;
    size_t n = yamltree_len (node);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *key, *value;
        yamltree_pair (self, node, i, &key, &value);
        const char *name = s_text (key);
        if (!name)
            return yamltree_fail (self, key, "a key of %s must be a plain name", what);
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp (*a, name) == 0;
        if (!known) {
            char list[512] = "";
            size_t used = 0;
            for (const char *const *a = allowed; *a; a++) {
                int w = snprintf (list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
                if (w < 0 || (size_t) w >= sizeof list - used)
                    break;
                used += (size_t) w;
            }
            return yamltree_fail (self, key, "unknown key '%s' (allowed: %s)", name, list);
        }
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *other, *other_value;
            yamltree_pair (self, node, j, &other, &other_value);
            if (s_text (other) && strcmp (s_text (other), name) == 0)
                return yamltree_fail (self, key, "key '%s' given twice (also on line %d)", name,
                                      yamltree_line (other));
        }
    }
    return 0;
}

yaml_node_t *
yamltree_key (yamltree_t *self, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (size_t i = 0; i < yamltree_len (map); i++) {
        yaml_node_t *k, *v;
        yamltree_pair (self, map, i, &k, &v);
        if (s_text (k) && strcmp (s_text (k), key) == 0)
            return k;
    }
    return NULL;
}

yaml_node_t *
yamltree_get (yamltree_t *self, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (size_t i = 0; i < yamltree_len (map); i++) {
        yaml_node_t *k, *v;
        yamltree_pair (self, map, i, &k, &v);
        if (s_text (k) && strcmp (s_text (k), key) == 0)
            return v;
    }
    return NULL;
}

yaml_node_t *
yamltree_need (yamltree_t *self, const yaml_node_t *map, const char *key)
{
    yaml_node_t *value = yamltree_get (self, map, key);
    if (!value)
        yamltree_fail (self, map, "missing '%s'", key);
    return value;
}

const char *
yamltree_scalar (yamltree_t *self, const yaml_node_t *node, const char *what)
{
    const char *text = s_text (node);
    if (!text)
        yamltree_fail (self, node, "%s must be a single value, not a %s", what,
                       node && node->type == YAML_SEQUENCE_NODE ? "list" : "map");
    return text;
}

const char *
yamltree_opt_scalar (yamltree_t *self, const yaml_node_t *map, const char *key, int *err_p)
{
    yaml_node_t *value = yamltree_get (self, map, key);
    if (!value)
        return NULL;
    char what[128];
    snprintf (what, sizeof what, "'%s'", key);
    const char *text = yamltree_scalar (self, value, what);
    if (!text)
        *err_p = -1;
    return text;
}

int
yamltree_want_seq (yamltree_t *self, const yaml_node_t *node, const char *what)
{
    if (node && node->type == YAML_SEQUENCE_NODE)
        return 0;
    return yamltree_fail (self, node, "%s must be a list", what);
}

int
yamltree_want_map (yamltree_t *self, const yaml_node_t *node, const char *what)
{
    if (node && node->type == YAML_MAPPING_NODE)
        return 0;
    return yamltree_fail (self, node, "%s must be a map of keys", what);
}

size_t
yamltree_len (const yaml_node_t *node)
{
    if (node && node->type == YAML_SEQUENCE_NODE)
        return (size_t) (node->data.sequence.items.top - node->data.sequence.items.start);
    if (node && node->type == YAML_MAPPING_NODE)
        return (size_t) (node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    return 0;
}

yaml_node_t *
yamltree_item (yamltree_t *self, const yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node (&self->doc, seq->data.sequence.items.start[i]);
}

void
yamltree_pair (yamltree_t *self, const yaml_node_t *map, size_t i, yaml_node_t **key, yaml_node_t **value)
{
    yaml_node_pair_t *pair = &map->data.mapping.pairs.start[i];
    *key = yaml_document_get_node (&self->doc, pair->key);
    *value = yaml_document_get_node (&self->doc, pair->value);
}

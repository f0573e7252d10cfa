/*  yamltree: a YAML file as a node tree (libyaml's document API) with the
    checks a strict configuration reader needs, every failure written once
    as "FILE:LINE: CONTEXT: problem" (lines 1-based).

    The first error wins: later calls to yamltree_fail leave it alone, so a
    reader can simply return -1 up the stack. All values are strings:
    libyaml does not resolve YAML 1.1 types, so "yes", yes and true are all
    the scalar text as written.
*/
#ifndef CRM_YAMLTREE_H
#define CRM_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

typedef struct yamltree_t yamltree_t;

/*  Reads and parses the file at path. Returns a new tree (the caller
    destroys it), or NULL with "FILE:LINE: problem" in err (err_size bytes):
    unreadable file, YAML syntax error, no document, more than one
    document, or a top level that is not a mapping. The tree writes its
    later errors into the same err buffer, which must outlive it. */
yamltree_t *yamltree_load (const char *path, char *err, size_t err_size);

/*  Frees the tree; nulls *self_p. */
void yamltree_destroy (yamltree_t **self_p);

/*  The top-level mapping. */
yaml_node_t *yamltree_root (yamltree_t *self);

/*  The path as given to yamltree_load. */
const char *yamltree_path (const yamltree_t *self);

/*  1-based line where node starts. */
int yamltree_line (const yaml_node_t *node);

/*  Sets the context that prefixes the next errors (e.g. "rule 'proposal'");
    "" for none. */
void yamltree_context (yamltree_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Records "FILE:LINE: CONTEXT: message" at node's line (line 1 when node
    is NULL), unless an error is already recorded. Returns -1. */
int yamltree_fail (yamltree_t *self, const yaml_node_t *node, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  The same at an explicit line. */
int yamltree_fail_at (yamltree_t *self, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  true once an error is recorded. */
bool yamltree_failed (const yamltree_t *self);

/*  Checks that node is a mapping whose keys are distinct scalars, each in
    the NULL-terminated allowed list. what names the mapping in errors, as
    the message shows it (e.g. "'on'"). Returns 0 or -1. */
int yamltree_keys (yamltree_t *self, const yaml_node_t *node, const char *what, const char *const *allowed);

/*  The value of key in mapping map, or NULL. */
yaml_node_t *yamltree_get (yamltree_t *self, const yaml_node_t *map, const char *key);

/*  The key node of key in map (for its line), or NULL. */
yaml_node_t *yamltree_key (yamltree_t *self, const yaml_node_t *map, const char *key);

/*  The value of key in map, or NULL after recording "missing 'key'". */
yaml_node_t *yamltree_need (yamltree_t *self, const yaml_node_t *map, const char *key);

/*  The text of scalar node, or NULL after recording "WHAT must be a
    single value" (what as the message shows it, e.g. "'name'"). The text
    lives as long as the tree. */
const char *yamltree_scalar (yamltree_t *self, const yaml_node_t *node, const char *what);

/*  The text of the scalar value of key in map: NULL when absent (no error)
    and *err_p set to -1 when present but not a scalar. */
const char *yamltree_opt_scalar (yamltree_t *self, const yaml_node_t *map, const char *key, int *err_p);

/*  Checks node is a sequence (a mapping) or records "WHAT must be a list
    (a map of keys)". Returns 0 or -1. */
int yamltree_want_seq (yamltree_t *self, const yaml_node_t *node, const char *what);
int yamltree_want_map (yamltree_t *self, const yaml_node_t *node, const char *what);

/*  Number of items of a sequence or pairs of a mapping (0 for a scalar). */
size_t yamltree_len (const yaml_node_t *node);

/*  Item i of sequence seq. */
yaml_node_t *yamltree_item (yamltree_t *self, const yaml_node_t *seq, size_t i);

/*  Pair i of mapping map: its key and value nodes. */
void yamltree_pair (yamltree_t *self, const yaml_node_t *map, size_t i, yaml_node_t **key,
                    yaml_node_t **value);

#endif

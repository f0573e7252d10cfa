/*  pipeline_private: what the parts of the pipeline module share while a
    definition loads: pipeline.c (header, durations, fields, stages),
    pipeline_staff.c (the staff directory), pipeline_rules.c (rules) and
    pipeline_checks.c (checks across rules). Other modules read pipeline.h.
*/
#ifndef CRM_PIPELINE_PRIVATE_H
#define CRM_PIPELINE_PRIVATE_H

#include "pipeline.h"
#include "yamltree.h"

//  Identifier alphabets: lowercase letters and digits plus these.
#define PIPELINE_ID_CHARS "_"       // pipeline, stage, field and enum value ids
#define PIPELINE_NAME_CHARS "_-"    // rule, timer, tag and role names
#define PIPELINE_LOGIN_CHARS "._-"  // staff logins

typedef struct {
    yamltree_t *tree;
    pipeline_t *p;
    char **dur_names;  // the file's named durations, after the override
    int64_t *dur_ms;
    size_t n_dur;
    int *on_lines;  // per rule: the line of its 'on'
} pipeline_loader_t;

/*  true when s is non-empty and every byte is a-z, 0-9 or one of extra. */
bool pipeline_word (const char *s, const char *extra);

/*  Checks text is a word of extra's alphabet (see above) or records
    "WHAT 'text' must be ..." at node. Returns 0 or -1. */
int pipeline_want_word (yamltree_t *tree, const yaml_node_t *node, const char *what, const char *text,
                        const char *extra);

/*  strdup that records "out of memory" at node on failure. */
char *pipeline_dup (yamltree_t *tree, const yaml_node_t *node, const char *text);

/*  Appends name to the ", "-separated list in buf (size bytes); stops
    quietly when full (the list only explains an error). */
void pipeline_list_add (char *buf, size_t size, const char *name);

/*  Reads node, a list of distinct names, into a new array (*out, *n); each
    name is checked by check (may be NULL). Returns 0 or -1 (error recorded;
    what was read so far is in *out for the caller to free). */
typedef int (pipeline_check_fn) (pipeline_loader_t *ld, const yaml_node_t *item, const char *text);
int pipeline_names (pipeline_loader_t *ld, const yaml_node_t *node, const char *what,
                    pipeline_check_fn *check, char ***out, size_t *n);

/*  Checks text names a stage / a field, or records "unknown stage 'x'
    (stages: ...)" at item. Returns 0 or -1. */
int pipeline_stage_ref (pipeline_loader_t *ld, const yaml_node_t *item, const char *text);
int pipeline_field_ref (pipeline_loader_t *ld, const yaml_node_t *item, const char *text);

/*  Resolves a duration literal or a name from the file's durations into
    *ms; false (nothing recorded) when it is neither. */
bool pipeline_find_duration (pipeline_loader_t *ld, const char *text, int64_t *ms);

/*  Resolves a duration literal or a name from the file's durations into
    *ms, or records why not at node. Returns 0 or -1. */
int pipeline_resolve_duration (pipeline_loader_t *ld, const yaml_node_t *node, const char *text, int64_t *ms);

/*  Reads, checks and stores the rules (node: the 'rules' list), then the
    checks across rules: timers, moves, tags. Returns 0 or -1. */
int pipeline_rules_load (pipeline_loader_t *ld, const yaml_node_t *node);

/*  The checks across rules, once all are read (pipeline_checks.c): derives
    each timer rule's stage, then checks timers, rule moves and tags.
    Returns 0 or -1. */
int pipeline_rules_check (pipeline_loader_t *ld);

/*  Frees n rules and the array. */
void pipeline_rules_free (pipeline_rule_t *rules, size_t n);

/*  Frees an array of n strings. */
void pipeline_strv_free (char **strv, size_t n);

#endif

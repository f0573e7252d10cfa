/*  engine_private: what engine.c (the decision: inputs, moves, rules) and
    engine_act.c (what actions produce: effects, history, texts) share.
    Not for other modules: use engine.h.
*/
#ifndef CRM_ENGINE_PRIVATE_H
#define CRM_ENGINE_PRIVATE_H

#include "engine.h"

#include <stdbool.h>

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

//  Memory of the result (engine.c): ptr kept until engine_result_free
//  (freed at once, and run->failed set, when it cannot be); a formatted
//  copy; one more zeroed element of *array (n elements of size bytes).
//  Each returns NULL on out-of-memory.
void *engine_keep (run_t *run, void *ptr);
char *engine_printf (run_t *run, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void *engine_grow (run_t *run, void **array, size_t *n, size_t size);

//  The value of a field (as decided so far) or built-in; NULL when unset.
const char *engine_value (const run_t *run, const char *name);

static inline bool
engine_is_set (const char *value)
{
    return value && *value;
}

//  Leaves the current stage and enters stage (engine.c); rule NULL: a
//  person's move.
void engine_enter (run_t *run, const char *stage, const char *rule);

//  Carries out action index of rule: its effects and history (engine_act.c).
void engine_action (run_t *run, const pipeline_rule_t *rule, size_t index);

//  Adds an effect of kind for rule, its strings "" (engine_act.c); NULL on
//  out-of-memory.
engine_effect_t *engine_effect (run_t *run, engine_effect_kind_t kind, const pipeline_rule_t *rule);

//  Renders a template ({field}, {field:time}, {field:date}, built-ins) with
//  the record's values as decided so far (engine_act.c); NULL on OOM.
char *engine_render (run_t *run, const char *text);

//  ms (UTC) as people read it in the company's zone (engine_act.c).
char *engine_when (run_t *run, int64_t ms);

//  Adds a history line (engine_act.c); detail NULL: "".
void engine_history (run_t *run, const char *actor, const char *rule, const char *action, char *detail);

//  A moment of the definition for this record: field ± offset, or
//  base_ms + offset; false when its field is unset (engine_act.c).
bool engine_moment (const run_t *run, const pipeline_time_t *time, int64_t base_ms, int64_t *ms);

#endif

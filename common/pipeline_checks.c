/*  pipeline_checks: the checks that need every rule of a definition:
    which stage a timer rule belongs to, timers set but never run or run but
    never set, moves the stages allow, tags no task carries.
*/
#include "pipeline_private.h"

#include <stdio.h>
#include <string.h>

//  A timer rule belongs to the stage of the rules that set its timer
//  (those may be timer rules themselves: a chain of reminders).
static int
s_timer_checks (pipeline_loader_t *ld)
{
    pipeline_t *p = ld->p;
    yamltree_t *t = ld->tree;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < p->n_rules; i++)
            for (size_t j = 0; p->rules[i].stage && j < p->rules[i].n_actions; j++)
                for (size_t k = 0; p->rules[i].actions[j].kind == PIPELINE_TIMER && k < p->n_rules; k++) {
                    pipeline_rule_t *r = &p->rules[k];
                    if (r->trigger == PIPELINE_ON_TIMER && !r->stage
                        && strcmp (r->timer, p->rules[i].actions[j].timer) == 0) {
                        if (!(r->stage = pipeline_dup (t, NULL, p->rules[i].stage)))
                            return -1;
                        changed = true;
                    }
                }
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        const pipeline_rule_t *r = &p->rules[i];
        if (r->trigger != PIPELINE_ON_TIMER || r->stage)
            continue;
        yamltree_context (t, "rule '%s'", r->id);
        char list[512] = "";
        bool set_at_all = false;
        for (size_t k = 0; k < p->n_rules; k++)
            for (size_t m = 0; m < p->rules[k].n_actions; m++)
                if (p->rules[k].actions[m].kind == PIPELINE_TIMER) {
                    pipeline_list_add (list, sizeof list, p->rules[k].actions[m].timer);
                    set_at_all = set_at_all || strcmp (p->rules[k].actions[m].timer, r->timer) == 0;
                }
        if (set_at_all)
            return yamltree_fail_at (t, ld->on_lines[i],
                                     "timer '%s' is set only by rules that run on timers nothing sets",
                                     r->timer);
        return yamltree_fail_at (t, ld->on_lines[i], "no rule sets timer '%s' (timers set: %s)", r->timer,
                                 *list ? list : "none");
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        const pipeline_rule_t *r = &p->rules[i];
        yamltree_context (t, "rule '%s'", r->id);
        for (size_t j = 0; j < r->n_actions; j++) {
            const pipeline_action_t *a = &r->actions[j];
            if (a->kind != PIPELINE_TIMER || !r->stage)
                continue;
            bool runs = false;
            for (size_t k = 0; k < p->n_rules && !runs; k++)
                runs = p->rules[k].trigger == PIPELINE_ON_TIMER && strcmp (p->rules[k].timer, a->timer) == 0;
            if (!runs)
                return yamltree_fail_at (
                    t, a->line, "timer '%s' is set but no rule runs on it (add one with on: {timer: %s})",
                    a->timer, a->timer);
            for (size_t k = 0; k < i; k++)
                for (size_t m = 0; m < p->rules[k].n_actions; m++)
                    if (p->rules[k].actions[m].kind == PIPELINE_TIMER && p->rules[k].stage
                        && strcmp (p->rules[k].actions[m].timer, a->timer) == 0
                        && strcmp (p->rules[k].stage, r->stage) != 0)
                        return yamltree_fail_at (
                            t, a->line,
                            "timer '%s' is set in stage '%s' here and in stage '%s' by rule '%s' "
                            "(line %d): a timer belongs to one stage",
                            a->timer, r->stage, p->rules[k].stage, p->rules[k].id,
                            p->rules[k].actions[m].line);
        }
    }
    return 0;
}

//  Rules move records only where people could: the stage's moves, or a
//  from_any_open stage from an open one.
static int
s_move_checks (pipeline_loader_t *ld)
{
    pipeline_t *p = ld->p;
    for (size_t i = 0; i < p->n_rules; i++) {
        const pipeline_rule_t *r = &p->rules[i];
        yamltree_context (ld->tree, "rule '%s'", r->id);
        const pipeline_stage_t *from = pipeline_stage (p, r->stage);
        for (size_t j = 0; j < r->n_actions; j++) {
            const pipeline_action_t *a = &r->actions[j];
            if (a->kind != PIPELINE_MOVE)
                continue;
            const pipeline_stage_t *to = pipeline_stage (p, a->stage);
            bool allowed = to->from_any_open && from->kind == PIPELINE_OPEN && to != from;
            char list[512] = "";
            for (size_t k = 0; k < from->n_moves; k++) {
                allowed = allowed || strcmp (from->moves[k], to->id) == 0;
                pipeline_list_add (list, sizeof list, from->moves[k]);
            }
            for (size_t k = 0; k < p->n_stages && from->kind == PIPELINE_OPEN; k++)
                if (p->stages[k].from_any_open && &p->stages[k] != from)
                    pipeline_list_add (list, sizeof list, p->stages[k].id);
            if (!allowed)
                return yamltree_fail_at (ld->tree, a->line,
                                         "move to '%s': stage '%s' may not move there (moves: %s)", to->id,
                                         from->id, *list ? list : "none");
        }
    }
    return 0;
}

static int
s_tag_checks (pipeline_loader_t *ld)
{
    pipeline_t *p = ld->p;
    for (size_t i = 0; i < p->n_rules; i++) {
        const pipeline_rule_t *r = &p->rules[i];
        if (r->trigger != PIPELINE_ON_TASKS_DONE)
            continue;
        char list[512] = "";
        bool found = false;
        for (size_t k = 0; k < p->n_rules; k++)
            for (size_t m = 0; m < p->rules[k].n_actions; m++)
                if (p->rules[k].actions[m].kind == PIPELINE_TASK && p->rules[k].actions[m].tag) {
                    found = found || strcmp (p->rules[k].actions[m].tag, r->tag) == 0;
                    pipeline_list_add (list, sizeof list, p->rules[k].actions[m].tag);
                }
        yamltree_context (ld->tree, "rule '%s'", r->id);
        if (!found)
            return yamltree_fail_at (ld->tree, ld->on_lines[i], "no task has tag '%s' (tags: %s)", r->tag,
                                     *list ? list : "none");
    }
    return 0;
}

int
pipeline_rules_check (pipeline_loader_t *ld)
{
    return s_timer_checks (ld) || s_move_checks (ld) || s_tag_checks (ld) ? -1 : 0;
}

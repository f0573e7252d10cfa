/*  engine: the pure rule engine. (definition, current record, what came
    in) -> the decision: the record's new stage and field values, the
    effects to carry out, and the history lines to record; or a refusal
    naming every field at fault. No sockets, no database, no clock: the
    caller passes now_ms and stores and publishes what comes out, in one
    transaction (leads and deals services).

    What it guarantees, by construction:
    - a command that moves a record and sets fields runs each rule once
      (entering a stage runs its ON_ENTER rules; a change of a watched
      field while staying in the stage runs them again; both at once: once);
    - leaving a stage cancels every timer that the stage's rules set, and
      the activities they planned that are not yet due;
    - rules' own writes (their moves) never re-run the rule that moved;
    - a timer whose moment no longer matches the record (the field moved,
      the stage was left) is ignored: TimerFired may race a reschedule;
    - request keys are unique per version of the record, so a replayed or
      repeated effect is applied once by its owner; timer keys are stable
      per (record, timer) so a reschedule replaces the timer.
*/
#ifndef CRM_ENGINE_H
#define CRM_ENGINE_H

#include "pipeline.h"

#define ENGINE_MAX_ERROR_FIELDS 16
#define ENGINE_MAX_AUTO_MOVES 8  // a rule chain longer than this is stopped

typedef struct {
    const char *name;
    const char *value;
} engine_value_t;

typedef struct {
    const char *tag;
    uint32_t total;      // tasks requested with this tag
    uint32_t completed;  // of which completed
} engine_tag_t;

/*  The record as stored by its owner. values holds the definition's
    fields (canonical) and the built-ins it has (name, phone, ...); absent
    ones are unset. */
typedef struct {
    uint64_t id;
    const char *stage;
    uint32_t version;
    int64_t entered_ms;       // when it entered stage, ms UTC
    const char *responsible;  // login
    const engine_value_t *values;
    size_t n_values;
    const engine_tag_t *tags;  // its tasks by tag
    size_t n_tags;
} engine_record_t;

typedef enum {
    ENGINE_CREATE,    // the record arrived: it enters the first stage
    ENGINE_MOVE,      // a person (or system) moves it and/or sets fields
    ENGINE_TIMER,     // a timer of this record came due
    ENGINE_TASK_DONE  // a task of this record was completed (tags already count it)
} engine_input_kind_t;

typedef struct {
    engine_input_kind_t kind;
    const char *actor;          // who: a login, or "system"
    int64_t now_ms;             // ms UTC
    const char *stage;          // MOVE: target; NULL, "" or the current stage: set fields only
    const engine_value_t *set;  // MOVE: values as people type them
    size_t n_set;
    uint32_t version;   // MOVE: the version the sender saw; 0: do not check
    const char *timer;  // TIMER: timer id (from the key)
    int64_t due_ms;     // TIMER: the due time it was scheduled for
    const char *tag;    // TASK_DONE: the completed task's tag
    uint64_t task_id;   // TASK_DONE: the completed task's number, {task} in templates (0: none)
} engine_input_t;

typedef enum {
    ENGINE_NOTIFY,  // key, recipient, text
    ENGINE_TASK,  // key, text (title), description, creator, recipient (responsible), coexecutors, tag, at_ms (deadline, 0: none)
    ENGINE_ACTIVITY,         // key (stable per record and rule), text (title), recipient, at_ms
    ENGINE_TIMER_SET,        // key (stable per record and timer), at_ms, timer
    ENGINE_TIMER_CANCEL,     // key, timer
    ENGINE_ACTIVITY_CANCEL,  // key (as ENGINE_ACTIVITY's): the stage was left before its time
    ENGINE_CREATE_CONTACT,   // flag ("" or e.g. «Не было сделки»)
    ENGINE_OPEN_DEAL         // pipeline
} engine_effect_kind_t;

typedef struct {
    engine_effect_kind_t kind;
    const char *rule;  // the rule's id
    char *key;         // "<record>:<id>:v<version>:<rule>:<n>", timers "<record>:<id>:<timer>"
    char *text;
    char *description;
    const char *recipient;
    const char *creator;
    const char **coexecutors;
    size_t n_coexecutors;
    const char *tag;
    const char *timer;
    int64_t at_ms;
    const char *flag;
    const char *pipeline;
} engine_effect_t;

typedef struct {
    const char *actor;  // a login or "system"
    const char *rule;   // "" for a person's own step
    char *action;       // "created", "moved", "set", "notified", "task requested", ...
    char *detail;       // one line for people (UTF-8, times in the company's zone)
} engine_history_t;

typedef struct {
    const char *from;
    const char *to;
    const char *rule;  // "" when a person moved it
} engine_move_t;

typedef struct engine_arena_t engine_arena_t;

/*  What engine_apply decided. Everything is owned by the result (or points
    into the definition); engine_result_free releases it. */
typedef struct {
    const char *code;    // NULL: accepted; else INVALID_ARGUMENT, MOVE_NOT_ALLOWED, STALE_VERSION
    char message[1024];  // the refusal for people, naming allowed values
    const char *fields[ENGINE_MAX_ERROR_FIELDS];
    size_t n_fields;
    bool changed;            // stage or values changed: store, version + 1
    const char *stage;       // resulting stage id
    int64_t entered_ms;      // when it entered that stage
    engine_value_t *values;  // resulting field values (definition fields only)
    size_t n_values;
    engine_move_t *moves;  // stage changes in order (a person's, then rules')
    size_t n_moves;
    engine_effect_t *effects;
    size_t n_effects;
    engine_history_t *history;
    size_t n_history;
    engine_arena_t *arena;
} engine_result_t;

/*  Decides what in means for record under def. Returns 0 with the
    decision in result, or 0 with result->code set when the input is
    refused (nothing may change), or -1 on out-of-memory. The caller calls
    engine_result_free (result) in every case. A timer that no longer
    matches, or a task completion no rule waits for, is accepted with no
    effects and changed false. The company time zone is the process's TZ
    (tz_init). */
int engine_apply (const pipeline_t *def, const engine_record_t *record, const engine_input_t *in,
                  engine_result_t *result);

/*  Releases what result holds and zeroes it. */
void engine_result_free (engine_result_t *result);

/*  Parses a value as people type it into its canonical form for field
    (enum id, "yes"/"no", ms UTC for a date-time read in the company's
    zone or with an explicit offset, UTF-8 text up to 2000 bytes). Writes
    the canonical value (out_size bytes) or, on -1, why into out. */
int engine_parse_value (const pipeline_field_t *field, const char *text, char *out, size_t out_size);

/*  Writes a canonical value (value_p, which may be out) as people read it (enum label, "да"/"нет",
    "01.12.2026 15:30" in the company's zone) into out (out_size bytes). */
void engine_display_value (const pipeline_field_t *field, const char *value_p, char *out, size_t out_size);

/*  Parses a timer key "<record>:<id>:<timer>" of def. Returns 0 and sets
    id and timer (timer_size bytes), or -1 if the key is not one of def's. */
int engine_parse_timer_key (const pipeline_t *def, const char *key, uint64_t *id, char *timer,
                            size_t timer_size);

#endif

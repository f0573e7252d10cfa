/*  pipeline: a sales pipeline as data, and the staff directory it names.

    A pipeline definition (deploy/pipelines/, format in
    docs/pipelines.md) says everything the process needs: stages (order,
    open/won/lost), allowed moves, fields (text, enum with labels,
    date-time, yes/no), required fields per target stage, named durations,
    and rules that run on entering a stage (or when watched fields change
    while in it), on a timer, or when every task with a tag is completed.
    The staff directory (deploy/pipelines/staff.yaml) says who holds each
    role, the company's time zone, how leads without a responsible are
    assigned, and each person's outbound notification channels.

    Both are read with libyaml and checked strictly: the first mistake
    (YAML syntax, unknown key, unknown stage/field/role/timer in a rule, bad
    duration, a role nobody holds, a template naming an unknown field) makes
    the load fail with one message "FILE:LINE: problem". What loads is
    immutable; the rule engine (engine.h) runs it.
*/
#ifndef CRM_PIPELINE_H
#define CRM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  ---------------------------------------------------------------- staff

/*  An outbound channel the notifier delivers a person's notifications
    through (besides the in-app inbox). Secrets never live in the file: a
    webhook names where its HMAC key is, an environment variable or a
    mounted file, read by the notifier when it sends. */
typedef enum { STAFF_WEBHOOK, STAFF_EMAIL } staff_channel_kind_t;

typedef struct {
    staff_channel_kind_t kind;
    char *url;          // WEBHOOK: http:// or https:// URL
    char *secret_env;   // WEBHOOK: name of the variable holding the key, or NULL...
    char *secret_file;  // ...absolute path of a file holding it (exactly one of the two)
    char *to;           // EMAIL: the address, e.g. "ivanov@example.com"
    int line;
} staff_channel_t;

typedef struct {
    char *login;   // e.g. "ivanov"
    char *name;    // display name, UTF-8
    char **roles;  // e.g. "manager", "accountant"
    size_t n_roles;
    staff_channel_t *channels;  // in file order; none: the inbox only
    size_t n_channels;
} staff_person_t;

typedef struct {
    char *path;
    char *time_zone;        // IANA name, e.g. "Europe/Moscow"
    char *lead_assignment;  // "round_robin" (among managers) or a login
    staff_person_t *people;
    size_t n_people;
} staff_t;

/*  Loads and checks a staff directory. Returns a new staff_t (the caller
    destroys it) or NULL with "FILE:LINE: problem" in err (err_size bytes).
    time_zone_override, if not NULL or "", replaces the file's time zone
    (CRM_TIME_ZONE); a zone with no tzdata entry is an error. */
staff_t *staff_load (const char *path, const char *time_zone_override, char *err, size_t err_size);

/*  Frees the staff directory; nulls *self_p. */
void staff_destroy (staff_t **self_p);

/*  The person with this login, or NULL. */
const staff_person_t *staff_find (const staff_t *self, const char *login);

/*  Writes up to max logins holding role into logins (pointers into self),
    in file order; returns how many hold it (may exceed max). */
size_t staff_holders (const staff_t *self, const char *role, const char **logins, size_t max);

//  ---------------------------------------------------------------- pipeline

#define PIPELINE_STAFF_FILE "deploy/pipelines/staff.yaml"

typedef enum {
    PIPELINE_TEXT,
    PIPELINE_ENUM,
    PIPELINE_DATETIME,  // canonical value: ms since the epoch, UTC, decimal
    PIPELINE_BOOL       // canonical value: "yes" / "no"
} pipeline_type_t;

typedef struct {
    char *id;     // canonical value
    char *label;  // as people read it
} pipeline_option_t;

typedef struct {
    char *id;
    char *label;
    pipeline_type_t type;
    pipeline_option_t *options;  // ENUM only
    size_t n_options;
    int line;
} pipeline_field_t;

typedef enum { PIPELINE_OPEN, PIPELINE_WON, PIPELINE_LOST } pipeline_kind_t;

typedef struct {
    char *id;
    char *name;
    pipeline_kind_t kind;
    int order;     // 1-based, file order
    char **moves;  // stages this one may move to (by people or rules)
    size_t n_moves;
    bool from_any_open;  // may be entered from every open stage (e.g. lost)
    char **requires;     // fields that must be set to enter it
    size_t n_requires;
    int line;
} pipeline_stage_t;

/*  A moment: field ± offset_ms (field set), or the trigger's moment +
    offset_ms (field NULL: "after"). */
typedef struct {
    char *field;
    int64_t offset_ms;
} pipeline_time_t;

typedef struct {
    char *field;
    char *value;  // canonical value it must equal
} pipeline_cond_t;

typedef enum {
    PIPELINE_NOTIFY,          // to, text [, missed_after, missed_text]
    PIPELINE_TASK,            // title, description, creator, responsible, coexecutors, deadline, tag
    PIPELINE_ACTIVITY,        // title, responsible, at
    PIPELINE_TIMER,           // timer, at
    PIPELINE_MOVE,            // stage
    PIPELINE_CREATE_CONTACT,  // flag
    PIPELINE_OPEN_DEAL        // pipeline
} pipeline_action_kind_t;

/*  One action of a rule. Role names (to, creator, responsible,
    coexecutors) are "responsible" (the record's) or a role of the staff
    directory. Templates (text, title, description) may name fields and the
    built-in attributes as {name}, {field:time}, {field:date}. */
typedef struct {
    pipeline_action_kind_t kind;
    int line;
    char *to;
    char *text;
    char *missed_after;  // notify: a date-time field; when the rule runs after it...
    char *missed_text;   // ...this text is sent instead of text
    char *title;
    char *description;
    char *creator;
    char *responsible;
    char **coexecutors;
    size_t n_coexecutors;
    char *tag;
    bool has_time;  // deadline (task), at (activity, timer)
    pipeline_time_t time;
    char *timer;     // timer id
    char *stage;     // move
    char *flag;      // create_contact
    char *pipeline;  // open_deal
} pipeline_action_t;

typedef enum {
    PIPELINE_ON_ENTER,      // entering stage (and changes of watch while in it)
    PIPELINE_ON_TIMER,      // timer came due (the rule's stage: the one whose rule sets it)
    PIPELINE_ON_TASKS_DONE  // in stage, every task tagged tag is completed (at least one)
} pipeline_trigger_t;

typedef struct {
    char *id;
    int line;
    pipeline_trigger_t trigger;
    char *stage;   // the stage it belongs to (for ON_TIMER: derived)
    char **watch;  // ON_ENTER: fields whose change re-runs it in the stage
    size_t n_watch;
    char *timer;             // ON_TIMER
    char *tag;               // ON_TASKS_DONE
    pipeline_cond_t *conds;  // all must hold
    size_t n_conds;
    pipeline_action_t *actions;
    size_t n_actions;
} pipeline_rule_t;

typedef struct {
    char *path;
    char *id;  // e.g. "lead_funnel", "new_client"
    char *name;
    char *record;          // "lead" or "deal": prefix of keys and correlation ids
    const staff_t *staff;  // not owned: outlives the pipeline
    pipeline_field_t *fields;
    size_t n_fields;
    pipeline_stage_t *stages;  // in order; the first is where records start
    size_t n_stages;
    pipeline_rule_t *rules;  // in file order (the order they run in)
    size_t n_rules;
} pipeline_t;

/*  Built-in attributes every template may name besides the fields: id,
    name, phone, email, company, comment, responsible, responsible_name,
    stage, stage_name, now, task (the number of the task whose completion
    ran the rule; empty elsewhere). NULL-terminated. */
extern const char *const pipeline_builtins[];

/*  Loads and checks a definition against staff (kept by pointer: must
    outlive the pipeline). durations_override ("name=15s,other=2m", or NULL
    or "", from CRM_DURATIONS) replaces the file's named durations; an
    unknown name there is an error too. Returns a new pipeline (the caller
    destroys it) or NULL with "FILE:LINE: problem" in err. */
pipeline_t *pipeline_load (const char *path, const staff_t *staff, const char *durations_override, char *err,
                           size_t err_size);

/*  What a service does at start: loads the staff directory
    (CRM_STAFF_FILE, default PIPELINE_STAFF_FILE; CRM_TIME_ZONE replaces its
    zone), makes its zone the process's (tz_init), then, when path_var is
    not NULL, the definition named by that variable (default dflt) with
    CRM_DURATIONS. Returns 0 with *staff_p and *pipeline_p (NULL without
    path_var) set, owned by the caller, who destroys the pipeline first; or
    -1 with "FILE:LINE: problem" in err (err_size bytes). */
int pipeline_setup (const char *path_var, const char *dflt, staff_t **staff_p, pipeline_t **pipeline_p,
                    char *err, size_t err_size);

/*  Frees the pipeline; nulls *self_p. */
void pipeline_destroy (pipeline_t **self_p);

/*  Lookups; NULL when unknown. */
const pipeline_stage_t *pipeline_stage (const pipeline_t *self, const char *id);
const pipeline_field_t *pipeline_field (const pipeline_t *self, const char *id);

/*  Parses a duration ("15m", "3d", "1h30m", "500ms", "2s"; units ms s m h
    d) into ms. Returns 0, or -1 if it is not one. */
int pipeline_duration (const char *text, int64_t *ms);

#endif

/*  task: the tasks service's pure rules: what makes a task request, a
    task a person creates, an attachment or an activity valid; the texts of
    its notifications; its keys and ids on the bus; the sha256 of a file.
    No sockets, no database: unit-tested in tests/unit/test_task.c.
*/
#ifndef CRM_TASK_H
#define CRM_TASK_H

#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TASK_TITLE_MAX 500          // bytes
#define TASK_DESCRIPTION_MAX 10000  // bytes
#define TASK_COMMENT_MAX 10000      // bytes
#define TASK_KEY_MAX 200            // bytes: request_key (the notifier's limit too)
#define TASK_SHORT_MAX 100          // bytes: login, record, tag, rule
#define TASK_COEXECUTORS_MAX 20
#define TASK_ATTACHMENTS_MAX 20           // per completion
#define TASK_NAME_MAX 255                 // bytes: attachment file name
#define TASK_CONTENT_TYPE_MAX 200         // bytes
#define TASK_TEXT_MAX 4000                // bytes of a notification text (the notifier's limit)
#define TASK_MAX_INVALID 12               // fields named at most by one refusal
#define TASK_TIME_MIN_MS 946684800000LL   // 2000-01-01 UTC: deadlines and activity times
#define TASK_TIME_MAX_MS 7258118400000LL  // 2200-01-01 UTC (the timer service's range)

/*  A task as it is stored: the fields of TaskRequested or CreateTask, with
    co-executors made unique and without the responsible. Pointers are
    borrowed from the message it was made from. */
typedef struct {
    const char *request_key;  // "" for a task a person created
    const char *title;
    const char *description;
    const char *record;
    const char *creator;
    const char *responsible;
    const char *coexecutors[TASK_COEXECUTORS_MAX];
    size_t n_coexecutors;
    int64_t deadline_ms;  // 0: none
    const char *tag;
    const char *rule;
} task_spec_t;

/*  Tells whether login is a person's login for another service to name:
    whether it is staff (login is UTF-8 and well-formed when called). NULL:
    every well-formed login is accepted. */
typedef bool (task_known_fn) (const char *login, void *arg);

/*  Outcome of a check: how many fields are at fault (0: valid), their names
    (fields[i], static strings or copies in names[i], at most
    TASK_MAX_INVALID) and one sentence about the first in message. */
typedef struct {
    int count;
    const char *fields[TASK_MAX_INVALID];
    char names[TASK_MAX_INVALID][32];
    char message[512];
} task_invalid_t;

/*  true when s is a login: 1 to TASK_SHORT_MAX bytes of UTF-8, with no
    space, control character or comma. */
bool task_login_ok (const char *s);

/*  Checks a TaskRequested from the bus and fills spec from it. known (may
    be NULL) vets the responsible and co-executors: a request for someone
    the staff directory does not know is refused (dead-lettered), since
    nobody would ever see the task. Returns 0, or -1 with the reason (one
    sentence) in reason (size bytes). */
int task_from_request (const Crm__V1__TaskRequested *request, task_known_fn *known, void *known_arg,
                       task_spec_t *spec, char *reason, size_t size);

/*  Checks a CreateTask from creator (the command's sender) and fills spec
    from it; a deadline given as text is parsed in the company's zone
    (tz.h). known (may be NULL) vets the responsible and co-executors.
    Returns invalid->count (0: valid). */
int task_from_create (const Crm__V1__CreateTask *create, const char *creator, task_known_fn *known,
                      void *known_arg, task_spec_t *spec, task_invalid_t *invalid);

/*  Checks an ActivityRequested; known (may be NULL) vets the responsible.
    Returns 0, or -1 with why in reason (size bytes). */
int task_activity_check (const Crm__V1__ActivityRequested *request, task_known_fn *known, void *known_arg,
                         char *reason, size_t size);

/*  Checks what a CompleteTask carries besides the task id: the comment
    and the attachments (name required, unique, no '/' and no NUL,
    content type, at most max_bytes each). payload/len: the command's
    encoded CompleteTask, where a NUL in a name can still be seen
    (protobuf-c's strings end at the first NUL). Returns 0 (valid), or the
    code to refuse with ("INVALID_ARGUMENT" or "TOO_LARGE") with invalid
    filled. */
const char *task_completion_check (const Crm__V1__CompleteTask *complete, const uint8_t *payload, size_t len,
                                   uint64_t max_bytes, task_invalid_t *invalid);

/*  true when sender may complete task: it is its responsible or one of its
    co-executors. */
bool task_may_complete (const Crm__V1__Task *task, const char *sender);

/*  The correlation id of the events about a task: its record ("lead:5")
    if it has one, else "task:<id>". Written into buf (size bytes). */
const char *task_correlation (char *buf, size_t size, uint64_t id, const char *record);

/*  The key of a task's overdue timer, "task:<id>:overdue", into buf. */
const char *task_overdue_key (char *buf, size_t size, uint64_t id);

/*  Parses "task:<id>:overdue" into *id. Returns 0, or -1 if key is not one. */
int task_parse_overdue_key (const char *key, uint64_t *id);

/*  How people read a record: "lead:5" is «лид №5», "deal:7" «сделка №7»;
    anything else as it is. Into buf (size bytes). */
const char *task_record_label (char *buf, size_t size, const char *record);

/*  Text of the notification a new task sends to login (its responsible or
    a co-executor), e.g. «Новая задача №12: Рассчитать запрос и выставить
    КП (лид №5), срок 01.12.2026 15:30» (time in the company's zone), into
    buf (size bytes, cut between characters if too short). */
void task_created_text (char *buf, size_t size, uint64_t id, const task_spec_t *spec, const char *login);

/*  Text of the notification for a task past its deadline, e.g. «Задача №12
    «…» просрочена: срок был 01.12.2026 15:30», into buf. */
void task_overdue_text (char *buf, size_t size, uint64_t id, const char *title, int64_t deadline_ms);

/*  Writes the SHA-256 of data (len bytes) as 64 lowercase hex digits and a
    NUL into hex (OpenSSL's libcrypto). Returns 0, -1 if libcrypto fails. */
int task_sha256_hex (const void *data, size_t len, char hex[65]);

#endif

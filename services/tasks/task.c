/*  task: see task.h. */
#include "task.h"
#include "tz.h"
#include "utf8.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Collecting what is wrong

static bool
s_named (const task_invalid_t *inv, const char *field)
{
    for (int i = 0; i < inv->count && i < TASK_MAX_INVALID; i++)
        if (strcmp (inv->fields[i], field) == 0)
            return true;
    return false;
}

//  Names field once, with the first problem found in it; the message
//  gathers one sentence per field, as many as fit.
static void s_invalid (task_invalid_t *inv, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_invalid (task_invalid_t *inv, const char *field, const char *fmt, ...)
{
    if (s_named (inv, field))
        return;
    if (inv->count < TASK_MAX_INVALID) {
        snprintf (inv->names[inv->count], sizeof inv->names[0], "%s", field);
        inv->fields[inv->count] = inv->names[inv->count];
    }
    inv->count++;
    size_t used = strlen (inv->message);
    if (used + 3 >= sizeof inv->message)
        return;
    if (used)
        used += (size_t) snprintf (inv->message + used, sizeof inv->message - used, "; ");
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (inv->message + used, sizeof inv->message - used, fmt, ap);
    va_end (ap);
    //  A cut sentence must still be UTF-8: it goes into a reply and a log.
    inv->message[utf8_boundary (inv->message, strlen (inv->message))] = 0;
}

static void
s_reset (task_invalid_t *inv)
{
    memset (inv, 0, sizeof *inv);
}

//  Checks an optional text: UTF-8, at most max bytes.
static void
s_text (task_invalid_t *inv, const char *field, const char *value, size_t max, bool required)
{
    if (required && !*value)
        s_invalid (inv, field, "%s is required", field);
    else if (strlen (value) > max)
        s_invalid (inv, field, "%s is longer than %zu bytes", field, max);
    else if (!utf8_valid (value))
        s_invalid (inv, field, "%s is not valid UTF-8", field);
}

bool
task_login_ok (const char *s)
{
    size_t len = strlen (s);
    if (len == 0 || len > TASK_SHORT_MAX || !utf8_valid (s))
        return false;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == ',')
            return false;
    return true;
}

static void
s_login (task_invalid_t *inv, const char *field, const char *value, bool required, task_known_fn *known,
         void *arg)
{
    if (!*value && !required)
        return;
    if (!*value)
        s_invalid (inv, field, "%s is required", field);
    else if (!task_login_ok (value))
        s_invalid (inv, field, "%s must be a login (1 to %d bytes of UTF-8, no spaces or commas)", field,
                   TASK_SHORT_MAX);
    else if (known && !known (value, arg))
        s_invalid (inv, field, "%s '%s' is not in the staff directory", field, value);
}

static void
s_deadline_range (task_invalid_t *inv, const char *field, int64_t ms)
{
    if (ms != 0 && (ms < TASK_TIME_MIN_MS || ms >= TASK_TIME_MAX_MS))
        s_invalid (inv, field, "%s %" PRId64 " is not a time between 2000 and 2200 in ms UTC", field, ms);
}

//  What TaskRequested and CreateTask share.
static void
s_check_task (task_invalid_t *inv, const char *title, const char *description, const char *record,
              const char *responsible, char **coexecutors, size_t n_coexecutors, const char *tag,
              task_known_fn *known, void *arg)
{
    s_text (inv, "title", title, TASK_TITLE_MAX, true);
    s_text (inv, "description", description, TASK_DESCRIPTION_MAX, false);
    s_text (inv, "record", record, TASK_SHORT_MAX, false);
    s_login (inv, "responsible", responsible, true, known, arg);
    if (n_coexecutors > TASK_COEXECUTORS_MAX)
        s_invalid (inv, "coexecutors", "at most %d co-executors", TASK_COEXECUTORS_MAX);
    for (size_t i = 0; i < n_coexecutors && i < TASK_COEXECUTORS_MAX; i++) {
        char field[32];
        snprintf (field, sizeof field, "coexecutors[%zu]", i);
        s_login (inv, field, coexecutors[i], true, known, arg);
    }
    s_text (inv, "tag", tag, TASK_SHORT_MAX, false);
}

//  Co-executors as stored: each once, and not the responsible.
static void
s_fill_coexecutors (task_spec_t *spec, char **list, size_t n)
{
    spec->n_coexecutors = 0;
    for (size_t i = 0; i < n && spec->n_coexecutors < TASK_COEXECUTORS_MAX; i++) {
        bool seen = strcmp (list[i], spec->responsible) == 0;
        for (size_t j = 0; j < spec->n_coexecutors && !seen; j++)
            seen = strcmp (spec->coexecutors[j], list[i]) == 0;
        if (!seen)
            spec->coexecutors[spec->n_coexecutors++] = list[i];
    }
}

//  --------------------------------------------------------------------------
//  Tasks

int
task_from_request (const Crm__V1__TaskRequested *request, task_known_fn *known, void *known_arg,
                   task_spec_t *spec, char *reason, size_t size)
{
    task_invalid_t inv;
    s_reset (&inv);
    s_text (&inv, "request_key", request->request_key, TASK_KEY_MAX, true);
    s_check_task (&inv, request->title, request->description, request->record, request->responsible,
                  request->coexecutors, request->n_coexecutors, request->tag, known, known_arg);
    s_login (&inv, "creator", request->creator, false, NULL, NULL);
    s_deadline_range (&inv, "deadline_ms", request->deadline_ms);
    s_text (&inv, "rule", request->rule, TASK_SHORT_MAX, false);
    if (inv.count) {
        snprintf (reason, size, "%s", inv.message);
        return -1;
    }
    memset (spec, 0, sizeof *spec);
    spec->request_key = request->request_key;
    spec->title = request->title;
    spec->description = request->description;
    spec->record = request->record;
    spec->creator = request->creator;
    spec->responsible = request->responsible;
    s_fill_coexecutors (spec, request->coexecutors, request->n_coexecutors);
    spec->deadline_ms = request->deadline_ms;
    spec->tag = request->tag;
    spec->rule = request->rule;
    return 0;
}

int
task_from_create (const Crm__V1__CreateTask *create, const char *creator, task_known_fn *known,
                  void *known_arg, task_spec_t *spec, task_invalid_t *invalid)
{
    task_invalid_t *inv = invalid;
    s_reset (inv);
    //  The creator is whoever sends the command (a person or a system):
    //  a login, not necessarily staff.
    s_login (inv, "sender", creator, true, NULL, NULL);
    s_check_task (inv, create->title, create->description, create->record, create->responsible,
                  create->coexecutors, create->n_coexecutors, create->tag, known, known_arg);
    int64_t deadline = create->deadline_ms;
    if (create->deadline_ms && *create->deadline)
        s_invalid (inv, "deadline", "give deadline or deadline_ms, not both");
    else if (*create->deadline) {
        char err[300];
        if (!utf8_valid (create->deadline) || strlen (create->deadline) > 64)
            s_invalid (inv, "deadline", "deadline is not a date and time");
        else if (tz_parse (create->deadline, &deadline, err, sizeof err))
            s_invalid (inv, "deadline", "deadline %s", err);
    }
    s_deadline_range (inv, *create->deadline ? "deadline" : "deadline_ms", deadline);
    if (inv->count)
        return inv->count;
    memset (spec, 0, sizeof *spec);
    spec->request_key = "";
    spec->title = create->title;
    spec->description = create->description;
    spec->record = create->record;
    spec->creator = creator;
    spec->responsible = create->responsible;
    s_fill_coexecutors (spec, create->coexecutors, create->n_coexecutors);
    spec->deadline_ms = deadline;
    spec->tag = create->tag;
    spec->rule = "";
    return 0;
}

int
task_activity_check (const Crm__V1__ActivityRequested *request, task_known_fn *known, void *known_arg,
                     char *reason, size_t size)
{
    task_invalid_t inv;
    s_reset (&inv);
    s_text (&inv, "request_key", request->request_key, TASK_KEY_MAX, true);
    s_text (&inv, "title", request->title, TASK_TITLE_MAX, true);
    s_text (&inv, "record", request->record, TASK_SHORT_MAX, false);
    s_login (&inv, "responsible", request->responsible, true, known, known_arg);
    if (request->at_ms == 0)
        s_invalid (&inv, "at_ms", "at_ms is required");
    s_deadline_range (&inv, "at_ms", request->at_ms);
    s_text (&inv, "rule", request->rule, TASK_SHORT_MAX, false);
    if (inv.count) {
        snprintf (reason, size, "%s", inv.message);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Completion

//  Reads a varint at *p (before end). Returns 0, or -1 if it runs past end.
static int
s_varint (const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t) (b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *value = v;
            return 0;
        }
    }
    return -1;
}

//  Skips one field of wire type wt at *p; for length-delimited fields sets
//  *body and *body_len. Returns 0, or -1 if the bytes are not protobuf.
static int
s_skip (const uint8_t **p, const uint8_t *end, unsigned wt, const uint8_t **body, size_t *body_len)
{
    uint64_t n;
    size_t width = wt == 1 ? 8 : wt == 5 ? 4 : 0;
    if (wt == 0)
        return s_varint (p, end, &n);
    if (wt == 2) {
        if (s_varint (p, end, &n) || n > (uint64_t) (end - *p))
            return -1;
        *body = *p;
        *body_len = (size_t) n;
        *p += n;
        return 0;
    }
    if (!width || (size_t) (end - *p) < width)
        return -1;
    *p += width;
    return 0;
}

//  Marks in has_nul[i] (n entries) whether the name (field 1) of the i-th
//  attachment (field 3) of an encoded CompleteTask holds a NUL byte.
static void
s_names_with_nul (const uint8_t *data, size_t len, bool *has_nul, size_t n)
{
    const uint8_t *p = data, *end = data + len;
    size_t index = 0;
    while (p < end && index < n) {
        uint64_t tag;
        const uint8_t *body = NULL;
        size_t body_len = 0;
        if (s_varint (&p, end, &tag) || s_skip (&p, end, (unsigned) (tag & 7), &body, &body_len))
            return;
        if (tag >> 3 != 3 || (tag & 7) != 2)
            continue;
        const uint8_t *q = body, *qend = body + body_len;
        while (q < qend) {
            uint64_t inner;
            const uint8_t *name = NULL;
            size_t name_len = 0;
            if (s_varint (&q, qend, &inner) || s_skip (&q, qend, (unsigned) (inner & 7), &name, &name_len))
                break;
            if (inner >> 3 == 1 && (inner & 7) == 2 && memchr (name, 0, name_len))
                has_nul[index] = true;
        }
        index++;
    }
}

//  How many bytes of s to show in a message: at most max, never half a
//  character; names that are no UTF-8 are not shown at all.
static int
s_clip (const char *s, size_t max)
{
    size_t len = strnlen (s, max);
    return utf8_valid (s) ? (int) utf8_boundary (s, len) : 0;
}

static bool
s_has_control (const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

const char *
task_completion_check (const Crm__V1__CompleteTask *complete, const uint8_t *payload, size_t len,
                       uint64_t max_bytes, task_invalid_t *invalid)
{
    task_invalid_t *inv = invalid;
    s_reset (inv);
    s_text (inv, "comment", complete->comment, TASK_COMMENT_MAX, false);
    size_t n = complete->n_attachments;
    if (n > TASK_ATTACHMENTS_MAX) {
        s_invalid (inv, "attachments", "at most %d attachments at once", TASK_ATTACHMENTS_MAX);
        return "INVALID_ARGUMENT";
    }
    bool has_nul[TASK_ATTACHMENTS_MAX] = {false};
    s_names_with_nul (payload, len, has_nul, n);
    //  Too large first: it is what the sender must change whatever else.
    for (size_t i = 0; i < n; i++) {
        const Crm__V1__AttachmentData *a = complete->attachments[i];
        if (a->data.len > max_bytes) {
            char field[40];
            snprintf (field, sizeof field, "attachments[%zu].data", i);
            const char *name = s_has_control (a->name) ? "?" : a->name;
            s_invalid (inv, field,
                       "attachment '%.*s' is %zu bytes; the limit is %" PRIu64
                       " bytes (CRM_TASKS_ATTACHMENT_MAX_BYTES)",
                       s_clip (name, 100), name, a->data.len, max_bytes);
        }
    }
    if (inv->count)
        return "TOO_LARGE";
    for (size_t i = 0; i < n; i++) {
        const Crm__V1__AttachmentData *a = complete->attachments[i];
        char field[40];
        snprintf (field, sizeof field, "attachments[%zu].name", i);
        if (has_nul[i])
            s_invalid (inv, field, "an attachment name must not contain a NUL byte");
        else if (!*a->name)
            s_invalid (inv, field, "every attachment needs a name");
        else if (strlen (a->name) > TASK_NAME_MAX || !utf8_valid (a->name) || s_has_control (a->name))
            s_invalid (inv, field, "an attachment name is 1 to %d bytes of UTF-8 without control characters",
                       TASK_NAME_MAX);
        else if (strchr (a->name, '/') || strcmp (a->name, ".") == 0 || strcmp (a->name, "..") == 0)
            s_invalid (inv, field, "attachment name '%s' must be a file name, without '/'", a->name);
        for (size_t j = 0; j < i; j++)
            if (*a->name && strcmp (a->name, complete->attachments[j]->name) == 0)
                s_invalid (inv, field, "attachment name '%.*s' is given twice", s_clip (a->name, 100),
                           a->name);
        snprintf (field, sizeof field, "attachments[%zu].content_type", i);
        if (strlen (a->content_type) > TASK_CONTENT_TYPE_MAX || !utf8_valid (a->content_type)
            || s_has_control (a->content_type))
            s_invalid (inv, field, "a content type is at most %d bytes of UTF-8", TASK_CONTENT_TYPE_MAX);
    }
    return inv->count ? "INVALID_ARGUMENT" : NULL;
}

bool
task_may_complete (const Crm__V1__Task *task, const char *sender)
{
    if (!*sender)
        return false;
    if (strcmp (task->responsible, sender) == 0)
        return true;
    for (size_t i = 0; i < task->n_coexecutors; i++)
        if (strcmp (task->coexecutors[i], sender) == 0)
            return true;
    return false;
}

//  --------------------------------------------------------------------------
//  Keys, ids and texts

const char *
task_correlation (char *buf, size_t size, uint64_t id, const char *record)
{
    if (record && *record)
        snprintf (buf, size, "%s", record);
    else
        snprintf (buf, size, "task:%" PRIu64, id);
    return buf;
}

const char *
task_overdue_key (char *buf, size_t size, uint64_t id)
{
    snprintf (buf, size, "task:%" PRIu64 ":overdue", id);
    return buf;
}

//  Parses the decimal digits at s up to the character stop, as a positive
//  id. Returns 0 with *id, or -1.
static int
s_id (const char *s, char stop, uint64_t *id, const char **after)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t) (*p - '0');
    }
    if (p == s || *p != stop || v == 0 || (*s == '0'))
        return -1;
    *id = v;
    *after = p;
    return 0;
}

int
task_parse_overdue_key (const char *key, uint64_t *id)
{
    const char *after;
    if (strncmp (key, "task:", 5) != 0 || s_id (key + 5, ':', id, &after))
        return -1;
    return strcmp (after, ":overdue") == 0 ? 0 : -1;
}

const char *
task_record_label (char *buf, size_t size, const char *record)
{
    uint64_t id;
    const char *after;
    if (strncmp (record, "lead:", 5) == 0 && s_id (record + 5, 0, &id, &after) == 0)
        snprintf (buf, size, "лид №%" PRIu64, id);
    else if (strncmp (record, "deal:", 5) == 0 && s_id (record + 5, 0, &id, &after) == 0)
        snprintf (buf, size, "сделка №%" PRIu64, id);
    else
        snprintf (buf, size, "%s", record);
    return buf;
}

//  Cuts a text written by snprintf into buf (size bytes) between characters.
static void
s_cut (char *buf, size_t size)
{
    if (size)
        buf[utf8_boundary (buf, strnlen (buf, size - 1))] = 0;
}

void
task_created_text (char *buf, size_t size, uint64_t id, const task_spec_t *spec, const char *login)
{
    char record[TASK_SHORT_MAX + 32] = "", deadline[64] = "", label[TASK_SHORT_MAX + 16];
    if (*spec->record)
        snprintf (record, sizeof record, " (%s)", task_record_label (label, sizeof label, spec->record));
    if (spec->deadline_ms) {
        char when[48];
        tz_format (spec->deadline_ms, "%d.%m.%Y %H:%M", when, sizeof when);
        snprintf (deadline, sizeof deadline, ", срок %s", when);
    }
    if (strcmp (login, spec->responsible) == 0)
        snprintf (buf, size, "Новая задача №%" PRIu64 ": %s%s%s", id, spec->title, record, deadline);
    else
        snprintf (buf, size, "Вы соисполнитель задачи №%" PRIu64 ": %s%s, ответственный %s%s", id,
                  spec->title, record, spec->responsible, deadline);
    s_cut (buf, size);
}

void
task_overdue_text (char *buf, size_t size, uint64_t id, const char *title, int64_t deadline_ms)
{
    char when[48];
    tz_format (deadline_ms, "%d.%m.%Y %H:%M", when, sizeof when);
    snprintf (buf, size, "Задача №%" PRIu64 " «%s» просрочена: срок был %s", id, title, when);
    s_cut (buf, size);
}

int
task_sha256_hex (const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest (len ? data : "", len, md, &n, EVP_sha256 (), NULL) || n != 32)
        return -1;
    for (unsigned i = 0; i < n; i++)
        snprintf (hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = 0;
    return 0;
}

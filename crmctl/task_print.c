/*  task_print: see task_print.h. */
#include "task_print.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "pipeline.h"
#include "tz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_FORMAT "%Y-%m-%d %H:%M %Z"

int
task_print_zone (char *err, size_t err_size)
{
    const char *zone = config_str ("CRM_TIME_ZONE", NULL);
    staff_t *staff = NULL;
    if (!zone) {
        //  The services' staff directory, as they find it; one named but
        //  broken is an error, the default one missing (crmctl run from
        //  elsewhere) is not.
        const char *file = config_str ("CRM_STAFF_FILE", NULL);
        staff = staff_load (file ? file : PIPELINE_STAFF_FILE, NULL, err, err_size);
        if (!staff && file)
            return -1;
        zone = staff ? staff->time_zone : "Europe/Moscow";
    }
    int rc = tz_init (zone, err, err_size);
    staff_destroy (&staff);
    return rc;
}

static const char *
s_time (int64_t ms, char *buf, size_t size)
{
    if (ms == 0)
        snprintf (buf, size, "-");
    else
        tz_format (ms, TIME_FORMAT, buf, size);
    return buf;
}

//  Texts are written with cli_put_line ("-" when empty, on one line): they
//  come from people and other services and may hold anything, but an item
//  must stay on one line.

//  --------------------------------------------------------------------------
//  JSON

static void
s_json_str (const char *text)
{
    size_t size = strlen (text) * 6 + 1;
    char *out = malloc (size);
    if (!out) {
        fputs ("\"\"", stdout);
        return;
    }
    log_json_escape (out, size, text);
    printf ("\"%s\"", out);
    free (out);
}

static void
s_json_key (const char *key, const char *value, bool first)
{
    printf ("%s\"%s\": ", first ? "" : ", ", key);
    s_json_str (value);
}

static void
s_json_num (const char *key, int64_t value)
{
    printf (", \"%s\": %" PRId64, key, value);
}

static void
s_json_time (const char *key, int64_t ms)
{
    char name[48], when[64];
    s_json_num (key, ms);
    snprintf (name, sizeof name, "%.*s", (int) (strlen (key) - 3), key);  // "deadline_ms" -> "deadline"
    printf (", \"%s\": ", name);
    if (ms)
        s_json_str (s_time (ms, when, sizeof when));
    else
        fputs ("null", stdout);
}

static void
s_json_list (const char *key, char **items, size_t n)
{
    printf (", \"%s\": [", key);
    for (size_t i = 0; i < n; i++) {
        fputs (i ? ", " : "", stdout);
        s_json_str (items[i]);
    }
    fputc (']', stdout);
}

static void
s_json_task (const Crm__V1__Task *t)
{
    printf ("{\"id\": %" PRIu64 ", ", t->id);
    s_json_key ("status", t->status, true);
    s_json_key ("title", t->title, false);
    s_json_key ("description", t->description, false);
    s_json_key ("record", t->record, false);
    s_json_key ("creator", t->creator, false);
    s_json_key ("responsible", t->responsible, false);
    s_json_list ("coexecutors", t->coexecutors, t->n_coexecutors);
    s_json_time ("deadline_ms", t->deadline_ms);
    s_json_key ("tag", t->tag, false);
    s_json_time ("created_ms", t->created_ms);
    s_json_time ("completed_ms", t->completed_ms);
    s_json_key ("completed_by", t->completed_by, false);
    s_json_key ("request_key", t->request_key, false);
    s_json_key ("rule", t->rule, false);
}

//  --------------------------------------------------------------------------
//  Printing

void
task_print_detail (const Crm__V1__TaskDetail *detail, bool json)
{
    const Crm__V1__Task *t = detail->task;
    char when[64];
    if (!t)
        return;
    if (json) {
        s_json_task (t);
        fputs (", \"comments\": [", stdout);
        for (size_t i = 0; i < detail->n_comments; i++) {
            const Crm__V1__Comment *c = detail->comments[i];
            fputs (i ? ", {" : "{", stdout);
            s_json_key ("author", c->author, true);
            s_json_key ("text", c->text, false);
            s_json_time ("created_ms", c->created_ms);
            fputc ('}', stdout);
        }
        fputs ("], \"attachments\": [", stdout);
        for (size_t i = 0; i < detail->n_attachments; i++) {
            const Crm__V1__Attachment *a = detail->attachments[i];
            fputs (i ? ", {" : "{", stdout);
            s_json_key ("name", a->name, true);
            s_json_key ("content_type", a->content_type, false);
            s_json_num ("size", (int64_t) a->size);
            s_json_key ("sha256", a->sha256, false);
            s_json_key ("added_by", a->added_by, false);
            s_json_time ("added_ms", a->added_ms);
            fputc ('}', stdout);
        }
        fputs ("]}\n", stdout);
        return;
    }
    printf ("task %" PRIu64 " (%s): ", t->id, t->status);
    cli_put_line (t->title);
    fputc ('\n', stdout);
    const struct {
        const char *label;
        const char *value;
    } rows[] = {
        {"description", t->description},
        {"record", t->record},
        {"responsible", t->responsible},
        {"creator", t->creator},
        {"tag", t->tag},
        {"request key", t->request_key},
        {"rule", t->rule},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!*rows[i].value)
            continue;
        printf ("  %-13s", rows[i].label);
        cli_put_line (rows[i].value);
        fputc ('\n', stdout);
    }
    if (t->n_coexecutors) {
        printf ("  %-13s", "coexecutors");
        for (size_t i = 0; i < t->n_coexecutors; i++) {
            fputs (i ? ", " : "", stdout);
            cli_put_line (t->coexecutors[i]);
        }
        fputc ('\n', stdout);
    }
    printf ("  %-13s%s\n", "deadline", t->deadline_ms ? s_time (t->deadline_ms, when, sizeof when) : "none");
    printf ("  %-13s%s\n", "created", s_time (t->created_ms, when, sizeof when));
    if (t->completed_ms) {
        printf ("  %-13s%s by ", "completed", s_time (t->completed_ms, when, sizeof when));
        cli_put_line (t->completed_by);
        fputc ('\n', stdout);
    }
    if (detail->n_comments)
        printf ("comments (%zu):\n", detail->n_comments);
    for (size_t i = 0; i < detail->n_comments; i++) {
        const Crm__V1__Comment *c = detail->comments[i];
        printf ("  %s  ", s_time (c->created_ms, when, sizeof when));
        cli_put_line (c->author);
        fputs (": ", stdout);
        cli_put_line (c->text);
        fputc ('\n', stdout);
    }
    if (detail->n_attachments)
        printf ("attachments (%zu):\n", detail->n_attachments);
    for (size_t i = 0; i < detail->n_attachments; i++) {
        const Crm__V1__Attachment *a = detail->attachments[i];
        fputs ("  ", stdout);
        cli_put_line (a->name);
        printf ("  %" PRIu64 " bytes  ", a->size);
        cli_put_line (a->content_type);
        printf ("  sha256 %s  by ", a->sha256);
        cli_put_line (a->added_by);
        printf ("  %s\n", s_time (a->added_ms, when, sizeof when));
    }
}

void
task_print_list (const Crm__V1__TaskList *list, bool json)
{
    char when[64];
    if (json) {
        fputc ('[', stdout);
        for (size_t i = 0; i < list->n_tasks; i++) {
            fputs (i ? ",\n " : "", stdout);
            s_json_task (list->tasks[i]);
            fputc ('}', stdout);
        }
        fputs ("]\n", stdout);
        return;
    }
    for (size_t i = 0; i < list->n_tasks; i++) {
        const Crm__V1__Task *t = list->tasks[i];
        printf ("%" PRIu64 "  %-9s  %s  ", t->id, t->status,
                t->deadline_ms ? s_time (t->deadline_ms, when, sizeof when) : "no deadline");
        cli_put_row ((const char *[]){t->responsible, t->record, t->title}, 3);
    }
    printf ("%zu task%s\n", list->n_tasks, list->n_tasks == 1 ? "" : "s");
}

void
task_print_activities (const Crm__V1__ActivityList *list, bool json)
{
    char when[64];
    if (json) {
        fputc ('[', stdout);
        for (size_t i = 0; i < list->n_activities; i++) {
            const Crm__V1__Activity *a = list->activities[i];
            printf ("%s{\"id\": %" PRIu64 ", ", i ? ",\n " : "", a->id);
            s_json_key ("status", a->status, true);
            s_json_key ("title", a->title, false);
            s_json_key ("record", a->record, false);
            s_json_key ("responsible", a->responsible, false);
            s_json_time ("at_ms", a->at_ms);
            s_json_key ("request_key", a->request_key, false);
            s_json_key ("rule", a->rule, false);
            fputc ('}', stdout);
        }
        fputs ("]\n", stdout);
        return;
    }
    for (size_t i = 0; i < list->n_activities; i++) {
        const Crm__V1__Activity *a = list->activities[i];
        printf ("%s  %-9s  ", s_time (a->at_ms, when, sizeof when), a->status);
        cli_put_row ((const char *[]){a->responsible, a->record, a->title}, 3);
    }
    printf ("%zu activit%s\n", list->n_activities, list->n_activities == 1 ? "y" : "ies");
}

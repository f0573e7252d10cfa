/*  cmd_status: see cmd_status.h. */
#include "cmd_status.h"
#include "cli.h"
#include "clock.h"
#include "log.h"

#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CMD "status"
#define SERVICES 5

const char cmd_status_usage[] =
    "  crmctl status [--json] [--timeout MS]\n"
    "      Asks every service for its status, all at once, waiting up to --timeout\n"
    "      ms (default 1000): up/down, database, pid, last sequence published,\n"
    "      dead letters, and per source consumed 'applied/latest (lag N)'; under\n"
    "      a service's row, its own figures as name=value (e.g. the timer's\n"
    "      timers_pending and lateness_p50_ms/p99/max of the last fired timers),\n"
    "      then the runtime's figures since it started (events published and\n"
    "      applied, outbox backlog, database reconnects, batches with their mean\n"
    "      and longest time, the HTTP port of /metrics and /health).\n"
    "      --json prints one JSON object per service per line, the figures in\n"
    "      \"metrics\". Exits 1 unless all five services answered.\n";

static const char *s_names[SERVICES] = {"leads", "deals", "tasks", "notifier", "timer"};

typedef struct {
    const char *name;
    client_t *client;
    char command_id[40];
    bool waiting;                  // sent, not answered yet
    Crm__V1__StatusReply *status;  // set once it answered well
    char why[2048];                // why not, for the operator
} probe_t;

//  Takes reply for probe: keeps its status, or says why it is no good.
static void
s_probe_take (probe_t *probe, const Crm__V1__Reply *reply)
{
    char text[2048];
    if (reply->error)
        snprintf (probe->why, sizeof probe->why, "answered %s",
                  client_error_text (reply->error, text, sizeof text));
    else if (strcmp (reply->type, "StatusReply") != 0
             || !(probe->status =
                      crm__v1__status_reply__unpack (NULL, reply->payload.len, reply->payload.data)))
        snprintf (probe->why, sizeof probe->why, "answered with a '%s', not a StatusReply", reply->type);
    else if (strcmp (probe->status->service, probe->name) != 0) {
        //  The port of one service reaches another: a configuration error
        //  that would otherwise show up as two healthy rows.
        snprintf (probe->why, sizeof probe->why, "the service at %s says it is '%s'",
                  client_endpoint (probe->client), probe->status->service);
        crm__v1__status_reply__free_unpacked (probe->status, NULL);
        probe->status = NULL;
    }
}

//  Sends Status to every probe, then collects replies until all answered
//  or timeout_ms passed. Probes that did not answer keep why.
static void
s_ask_all (probe_t *probes, int timeout_ms)
{
    for (int i = 0; i < SERVICES; i++) {
        probe_t *probe = &probes[i];
        if (!probe->client)
            continue;
        zuuid_t *uuid = zuuid_new ();
        snprintf (probe->command_id, sizeof probe->command_id, "%s", uuid ? zuuid_str_canonical (uuid) : "");
        zuuid_destroy (&uuid);
        Crm__V1__StatusRequest request = CRM__V1__STATUS_REQUEST__INIT;
        probe->waiting = client_send (probe->client, "Status", &request.base, probe->command_id) == 0;
        if (probe->waiting)
            snprintf (probe->why, sizeof probe->why, "no answer from %s within %d ms",
                      client_endpoint (probe->client), timeout_ms);
        else
            snprintf (probe->why, sizeof probe->why, "cannot send to %s", client_endpoint (probe->client));
    }
    int64_t deadline = clock_mono_ms () + timeout_ms;
    while (!zsys_interrupted) {
        zmq_pollitem_t items[SERVICES];
        probe_t *polled[SERVICES];
        int n = 0;
        for (int i = 0; i < SERVICES; i++)
            if (probes[i].waiting) {
                items[n] = (zmq_pollitem_t){zsock_resolve (client_sock (probes[i].client)), 0, ZMQ_POLLIN, 0};
                polled[n++] = &probes[i];
            }
        int64_t left = deadline - clock_mono_ms ();
        if (n == 0 || left <= 0 || zmq_poll (items, n, (long) left) <= 0)
            break;  // timed out or interrupted: whoever is left is down
        for (int i = 0; i < n; i++) {
            Crm__V1__Reply *reply;
            if (!(items[i].revents & ZMQ_POLLIN) || client_recv (polled[i]->client, 0, &reply))
                continue;
            if (strcmp (reply->command_id, polled[i]->command_id) == 0) {
                polled[i]->waiting = false;
                polled[i]->why[0] = 0;
                s_probe_take (polled[i], reply);
            }
            crm__v1__reply__free_unpacked (reply, NULL);
        }
    }
}

//  Writes a metric's value as a number a person and JSON both read: whole
//  numbers without a fraction or exponent (a million pending is 1000000),
//  others with up to 6 significant digits; NaN and infinities as null.
static const char *
s_metric_value (double value, char *buf, size_t size)
{
    if (value != value || value > DBL_MAX || value < -DBL_MAX)
        snprintf (buf, size, "null");
    else if (value > -1e15 && value < 1e15 && value == (double) (long long) value)
        snprintf (buf, size, "%lld", (long long) value);
    else
        snprintf (buf, size, "%.6g", value);
    return buf;
}

//  The lines under a service's row: its own metrics, name=value (if any),
//  then the runtime's figures.
static void
s_print_metrics (const Crm__V1__StatusReply *s)
{
    if (s->n_metrics > 0) {
        printf ("%-9s", "");
        for (size_t k = 0; k < s->n_metrics; k++) {
            char value[64];
            printf (" %s=%s", s->metrics[k]->name,
                    s_metric_value (s->metrics[k]->value, value, sizeof value));
        }
        printf ("\n");
    }
    char mean[32] = "-", max[32] = "-";
    if (s->batches) {
        snprintf (mean, sizeof mean, "%.1f", s->batch_seconds_sum * 1000 / (double) s->batches);
        snprintf (max, sizeof max, "%.1f", s->batch_seconds_max * 1000);
    }
    printf ("%-9s published=%" PRIu64 " applied=%" PRIu64 " outbox_backlog=%" PRIu64 " db_reconnects=%" PRIu64
            " batches=%" PRIu64 " batch_mean_ms=%s batch_max_ms=%s http=%" PRId32 "\n",
            "", s->events_published, s->events_applied, s->outbox_retained, s->db_reconnects, s->batches,
            mean, max, s->http_port);
}

static void
s_print_table (const probe_t *probes)
{
    printf ("%-9s %-5s %-5s %-8s %10s %6s  %s\n", "SERVICE", "STATE", "DB", "PID", "LAST_SEQ", "DEAD",
            "SOURCES");
    for (int i = 0; i < SERVICES; i++) {
        const Crm__V1__StatusReply *s = probes[i].status;
        if (!s) {
            printf ("%-9s %-5s %-5s %-8s %10s %6s  %s\n", probes[i].name, "down", "-", "-", "-", "-", "-");
            continue;
        }
        printf ("%-9s %-5s %-5s %-8" PRId32 " %10" PRIu64 " %6" PRIu64 "  ", probes[i].name, "up",
                s->database_up ? "up" : "down", s->pid, s->last_sequence, s->dead_letters);
        for (size_t k = 0; k < s->n_sources; k++) {
            const Crm__V1__SourceStatus *src = s->sources[k];
            printf ("%s%s %" PRIu64 "/%" PRIu64 " (lag %" PRIu64 ")", k ? ", " : "", src->source,
                    src->applied_sequence, src->latest_sequence, src->lag);
        }
        printf ("%s\n", s->n_sources ? "" : "-");
        s_print_metrics (s);
    }
}

static void
s_print_json (const probe_t *probes)
{
    for (int i = 0; i < SERVICES; i++) {
        const probe_t *p = &probes[i];
        const Crm__V1__StatusReply *s = p->status;
        char esc[4096];
        printf ("{\"service\":\"%s\",\"endpoint\":\"", p->name);
        if (p->client) {
            log_json_escape (esc, sizeof esc, client_endpoint (p->client));
            fputs (esc, stdout);
        }
        if (!s) {
            log_json_escape (esc, sizeof esc, p->why);
            printf ("\",\"up\":false,\"error\":\"%s\"}\n", esc);
            continue;
        }
        printf ("\",\"up\":true,\"database_up\":%s,\"pid\":%" PRId32 ",\"started_ms\":%" PRId64
                ",\"last_sequence\":%" PRIu64 ",\"dead_letters\":%" PRIu64 ",\"events_published\":%" PRIu64
                ",\"events_applied\":%" PRIu64 ",\"outbox_backlog\":%" PRIu64 ",\"db_reconnects\":%" PRIu64
                ",\"batches\":%" PRIu64 ",\"batch_seconds_sum\":%.6f,\"batch_seconds_max\":%.6f"
                ",\"http_port\":%" PRId32 ",\"sources\":[",
                s->database_up ? "true" : "false", s->pid, s->started_ms, s->last_sequence, s->dead_letters,
                s->events_published, s->events_applied, s->outbox_retained, s->db_reconnects, s->batches,
                s->batch_seconds_sum, s->batch_seconds_max, s->http_port);
        for (size_t k = 0; k < s->n_sources; k++) {
            const Crm__V1__SourceStatus *src = s->sources[k];
            log_json_escape (esc, sizeof esc, src->source);
            printf ("%s{\"source\":\"%s\",\"applied_sequence\":%" PRIu64 ",\"latest_sequence\":%" PRIu64
                    ",\"lag\":%" PRIu64 "}",
                    k ? "," : "", esc, src->applied_sequence, src->latest_sequence, src->lag);
        }
        printf ("],\"metrics\":{");
        for (size_t k = 0; k < s->n_metrics; k++) {
            char value[64];
            log_json_escape (esc, sizeof esc, s->metrics[k]->name);
            printf ("%s\"%s\":%s", k ? "," : "", esc,
                    s_metric_value (s->metrics[k]->value, value, sizeof value));
        }
        printf ("}}\n");
    }
}

int
cmd_status_run (int argc, char **argv)
{
    static const struct option options[] = {CLI_OPTION_JSON, CLI_OPTIONS_COMMON};
    cli_args_t args = {.no_operands = true, .command = CMD, .usage = cmd_status_usage, .timeout_ms = 1000};
    if (cli_option (&args, argc, argv, options))
        return args.rc;
    bool json = args.json;

    probe_t probes[SERVICES] = {{0}};
    for (int i = 0; i < SERVICES; i++) {
        probes[i].name = s_names[i];
        probes[i].client = cli_client (CMD, s_names[i]);
        if (!probes[i].client)
            snprintf (probes[i].why, sizeof probes[i].why, "no usable endpoint");
    }
    s_ask_all (probes, (int) args.timeout_ms);
    if (json)
        s_print_json (probes);
    else
        s_print_table (probes);
    fflush (stdout);

    int rc = CLI_EXIT_OK;
    for (int i = 0; i < SERVICES; i++) {
        if (!probes[i].status) {
            if (!json)
                cli_error (CMD, "%s is down: %s", probes[i].name, probes[i].why);
            rc = CLI_EXIT_FAIL;
        }
        crm__v1__status_reply__free_unpacked (probes[i].status, NULL);
        client_destroy (&probes[i].client);
    }
    return rc;
}

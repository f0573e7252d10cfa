/*  cli: see cli.h. */
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "tz.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
s_vprint (const char *command, const char *fmt, va_list ap)
{
    fprintf (stderr, "crmctl%s%s: ", *command ? " " : "", command);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
}

int
cli_usage_error (const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vprint (command, fmt, ap);
    va_end (ap);
    fprintf (stderr, "Run 'crmctl help' for usage.\n");
    return CLI_EXIT_USAGE;
}

void
cli_error (const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vprint (command, fmt, ap);
    va_end (ap);
}

int
cli_option_error (const char *command, int c, char **argv)
{
    //  getopt_long leaves optind past the offending word; for an unknown
    //  long option optopt is 0, so the word itself is the best we can show.
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage_error (command, "option '%s' needs a value", word);
    if (optopt && strncmp (word, "--", 2) != 0)
        return cli_usage_error (command, "unknown option '-%c'", optopt);
    return cli_usage_error (command, "unknown option '%s'", word);
}

int
cli_parse_long (const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || *end || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

client_t *
cli_client (const char *command, const char *service)
{
    char endpoint[256], upper[32];
    if (config_peer_endpoint (service, CONFIG_CMD, endpoint, sizeof endpoint)) {
        size_t i = 0;
        for (; service[i] && i < sizeof upper - 1; i++)
            upper[i] = (char) toupper ((unsigned char) service[i]);
        upper[i] = 0;
        cli_error (command, "cannot find the %s service: check CRM_%s_PORT and CRM_%s_HOST", service, upper,
                   upper);
        return NULL;
    }
    client_t *client = client_new (endpoint);
    if (!client)
        cli_error (command, "cannot connect to %s at %s", service, endpoint);
    return client;
}

const char *
cli_format_time (int64_t time_ms, char *buf, size_t size)
{
    static bool tz_set = false;
    if (!tz_set) {
        //  localtime_r must follow the company's zone, not the operator's
        //  laptop: notifications are read against office hours.
        setenv ("TZ", config_str ("CRM_TIME_ZONE", "Europe/Moscow"), 1);
        tzset ();
        tz_set = true;
    }
    if (time_ms == 0) {
        snprintf (buf, size, "-");
        return buf;
    }
    //  Floor, so that times before 1970 do not round up a minute.
    time_t secs = (time_t) (time_ms >= 0 ? time_ms / 1000 : (time_ms - 999) / 1000);
    struct tm tm;
    if (!localtime_r (&secs, &tm) || strftime (buf, size, "%Y-%m-%d %H:%M %Z", &tm) == 0)
        snprintf (buf, size, "%lld", (long long) time_ms);
    return buf;
}

//  A client for service's command endpoint that sends as sender (NULL: the
//  client's default). Returns it, or NULL after printing why.
static client_t *
s_client_as (const char *command, const char *service, const char *sender)
{
    client_t *client = cli_client (command, service);
    if (client && sender && client_set_sender (client, sender)) {
        cli_error (command, "the login '%.40s...' is too long", sender);
        client_destroy (&client);
    }
    return client;
}

void
cli_no_answer (const char *command, const char *service, client_t *client, long timeout_ms, const char *hint)
{
    cli_error (command, "no answer from %s at %s within %ld ms; is crm-%s running?%s%s%s", service,
               client_endpoint (client), timeout_ms, service, hint ? " (" : "", hint ? hint : "",
               hint ? " whether it was done)" : "");
}

int
cli_query (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
           const char *sender, long timeout_ms, Crm__V1__Reply **reply_p)
{
    *reply_p = NULL;
    client_t *client = s_client_as (command, service, sender);
    if (!client)
        return -1;
    int rc = client_call (client, type, payload, (int) timeout_ms, reply_p);
    if (rc)
        cli_no_answer (command, service, client, timeout_ms, NULL);
    client_destroy (&client);
    return rc ? -1 : 0;
}

int
cli_refused (const char *command, const Crm__V1__Reply *reply)
{
    char text[4096];
    cli_error (command, "%s", client_error_text (reply->error, text, sizeof text));
    return CLI_EXIT_FAIL;
}

int
cli_fetch (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
           long timeout_ms, const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out)
{
    Crm__V1__Reply *reply = NULL;
    *out = NULL;
    if (cli_query (command, service, type, payload, NULL, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    int rc = cli_unpack_reply (command, service, reply, descriptor->short_name, descriptor, out);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

int
cli_help (const char *usage)
{
    fputs ("usage:\n", stdout);
    fputs (usage, stdout);
    return CLI_EXIT_OK;
}

//  ---------------------------------------------------------------- options

int
cli_option (cli_args_t *args, int argc, char **argv, const struct option *options)
{
    if (!args->started) {
        optind = 0;  // getopt_long starts afresh on each command's argv
        args->started = true;
    }
    int c;
    while ((c = getopt_long (argc, argv, args->optstring ? args->optstring : ":h", options, NULL)) != -1) {
        switch (c) {
            case CLI_OPT_JSON: args->json = true; break;
            case CLI_OPT_TIMEOUT:
                if ((args->rc = cli_parse_timeout (args->command, optarg, &args->timeout_ms)))
                    return -1;
                break;
            case CLI_OPT_LIMIT:
                if (cli_parse_long (optarg, 1, args->limit_max, &args->limit)) {
                    args->rc =
                        cli_usage_error (args->command, "--limit wants a number from 1 to %ld, got '%s'",
                                         args->limit_max, optarg);
                    return -1;
                }
                break;
            case 'h': args->rc = cli_help (args->usage); return -1;
            case '?':
            case ':': args->rc = cli_option_error (args->command, c, argv); return -1;
            default: return c;
        }
    }
    if (args->no_operands && (args->rc = cli_no_more (args->command, argc, argv, optind)))
        return -1;
    return 0;
}

int
cli_no_more (const char *command, int argc, char **argv, int first)
{
    if (first < argc)
        return cli_usage_error (command, "unexpected argument '%s'", argv[first]);
    return CLI_EXIT_OK;
}

//  ---------------------------------------------------------------- records

void
cli_json_string (const char *text)
{
    static char buf[32768];
    log_json_escape (buf, sizeof buf, text);
    printf ("\"%s\"", buf);
}

void
cli_json_pairs (const char *const *keys, const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf (", \"%s\": ", keys[i]);
        cli_json_string (texts[i]);
    }
}

void
cli_list_begin (bool json, size_t n, const char *none)
{
    if (json)
        printf ("[");
    else if (n == 0)
        printf ("%s\n", none);
}

void
cli_list_end (bool json)
{
    if (json)
        printf ("]\n");
}

void
cli_put_line (const char *text)
{
    if (!*text) {
        fputc ('-', stdout);
        return;
    }
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        fputc (*p < 0x20 || *p == 0x7f ? ' ' : *p, stdout);
}

void
cli_put_row (const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputs (i ? "  " : "", stdout);
        cli_put_line (texts[i]);
    }
    fputc ('\n', stdout);
}

const char *
cli_zone_time (int64_t time_ms, const char *zone, char *buf, size_t size)
{
    static int zone_ok = -1;
    char err[256];
    if (zone_ok < 0)
        zone_ok = *zone && tz_init (zone, err, sizeof err) == 0;
    if (!zone_ok)
        return cli_format_time (time_ms, buf, size);
    tz_format (time_ms, "%Y-%m-%d %H:%M:%S", buf, size);
    return buf;
}

int
cli_unpack_reply (const char *command, const char *service, const Crm__V1__Reply *reply, const char *type,
                  const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out)
{
    *out = NULL;
    if (reply->error)
        return cli_refused (command, reply);
    if (strcmp (reply->type, type) == 0)
        *out = protobuf_c_message_unpack (descriptor, NULL, reply->payload.len, reply->payload.data);
    if (!*out) {
        cli_error (command, "unexpected reply from %s (type '%s')", service, reply->type);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int
cli_send_change (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
                 const char *sender, long timeout_ms, const char *hint, Crm__V1__Reply **reply_p)
{
    *reply_p = NULL;
    client_t *client = s_client_as (command, service, sender);
    if (!client)
        return -1;
    int64_t deadline = clock_mono_ms () + timeout_ms;
    int backoff = 100;
    while (true) {
        int64_t left = deadline - clock_mono_ms ();
        Crm__V1__Reply *reply = NULL;
        if (left <= 0 || client_call (client, type, payload, (int) left, &reply)) {
            //  What an earlier attempt answered is not the outcome: this
            //  attempt may have been applied.
            crm__v1__reply__free_unpacked (*reply_p, NULL);
            *reply_p = NULL;
            cli_no_answer (command, service, client, timeout_ms, hint);
            break;
        }
        crm__v1__reply__free_unpacked (*reply_p, NULL);
        *reply_p = reply;
        if (!reply->error || !reply->error->retryable || clock_mono_ms () + backoff >= deadline)
            break;
        zclock_sleep (backoff);
        backoff = backoff * 2 < 1000 ? backoff * 2 : 1000;
    }
    client_destroy (&client);
    return *reply_p ? 0 : -1;
}

int
cli_change (const char *command, const char *service, const char *type, const ProtobufCMessage *payload,
            const char *sender, long timeout_ms, const char *hint,
            const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out)
{
    Crm__V1__Reply *reply = NULL;
    *out = NULL;
    if (cli_send_change (command, service, type, payload, sender, timeout_ms, hint, &reply))
        return CLI_EXIT_FAIL;
    int rc = cli_unpack_reply (command, service, reply, descriptor->short_name, descriptor, out);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

void
cli_fields_text (Crm__V1__FieldValue *const *fields, size_t n)
{
    if (n == 0)
        printf ("  -\n");
    for (size_t i = 0; i < n; i++) {
        printf ("  %s: ", fields[i]->name);
        cli_put_line (fields[i]->display);
        fputc ('\n', stdout);
    }
}

void
cli_fields_json (Crm__V1__FieldValue *const *fields, size_t n)
{
    printf ("{");
    for (size_t i = 0; i < n; i++) {
        printf ("%s", i ? ", " : "");
        cli_json_string (fields[i]->name);
        printf (": {\"value\": ");
        cli_json_string (fields[i]->value);
        printf (", \"display\": ");
        cli_json_string (fields[i]->display);
        printf ("}");
    }
    printf ("}");
}

void
cli_history_text (Crm__V1__HistoryEntry *const *history, size_t n, const char *zone)
{
    char when[64];
    printf ("history (%s):\n", *zone ? zone : "local time");
    for (size_t i = 0; i < n; i++) {
        const Crm__V1__HistoryEntry *h = history[i];
        printf ("  %s  %s  %s  %s", cli_zone_time (h->at_ms, zone, when, sizeof when), h->actor,
                *h->rule ? h->rule : "-", h->action);
        if (*h->detail) {
            fputs (": ", stdout);
            cli_put_line (h->detail);
        }
        fputc ('\n', stdout);
    }
}

void
cli_history_json (Crm__V1__HistoryEntry *const *history, size_t n, const char *zone)
{
    char when[64];
    printf ("[");
    for (size_t i = 0; i < n; i++) {
        const Crm__V1__HistoryEntry *h = history[i];
        printf ("%s{\"at_ms\": %" PRId64, i ? ", " : "", h->at_ms);
        const char *keys[] = {"at", "actor", "rule", "action", "detail"};
        const char *texts[] = {cli_zone_time (h->at_ms, zone, when, sizeof when), h->actor, h->rule,
                               h->action, h->detail};
        cli_json_pairs (keys, texts, sizeof keys / sizeof keys[0]);
        printf ("}");
    }
    printf ("]");
}

int
cli_parse_timeout (const char *command, const char *arg, long *timeout_ms)
{
    if (cli_parse_long (arg, 1, 24L * 3600 * 1000, timeout_ms))
        return cli_usage_error (command, "--timeout wants milliseconds, got '%s'", arg);
    return CLI_EXIT_OK;
}

int
cli_parse_id (const char *command, const char *what, const char *arg, uint64_t *id)
{
    long value;
    if (!arg || cli_parse_long (arg, 1, LONG_MAX, &value))
        return cli_usage_error (command, "ID must be a %s number, got '%s'", what, arg ? arg : "");
    *id = (uint64_t) value;
    return CLI_EXIT_OK;
}

int
cli_show_record (const cli_show_t *show, ProtobufCMessage *request, uint64_t *id, int argc, char **argv)
{
    static const struct option options[] = {CLI_OPTION_JSON, CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = show->command, .usage = show->usage, .timeout_ms = show->timeout_ms};
    if (cli_option (&args, argc, argv, options))
        return args.rc;
    if (argc - optind != 1)
        return cli_usage_error (show->command, "wants one ID");
    int rc = cli_parse_id (show->command, show->what, argv[optind], id);
    ProtobufCMessage *answer = NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_fetch (show->command, show->service, show->type, request, args.timeout_ms, show->answer,
                        &answer);
    if (answer) {
        (args.json ? show->print_json : show->print_text) (answer);
        protobuf_c_message_free_unpacked (answer, NULL);
    }
    return rc;
}

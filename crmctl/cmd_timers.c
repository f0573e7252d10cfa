/*  cmd_timers: see cmd_timers.h. */
#include "cmd_timers.h"
#include "cli.h"
#include "crm/v1/timer.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CMD "timers"

//  The timer service counts matching timers up to this and answers one
//  more when there are more (store_list: counting a million is not cheap).
#define PENDING_CAP 100000

const char cmd_timers_usage[] =
    "  crmctl timers [--owner O] [--key-prefix P] [--limit N] [--timeout MS]\n"
    "      Lists the pending timers, earliest first (at most N, 1 to 1000, default\n"
    "      100): due time in CRM_TIME_ZONE (default Europe/Moscow), owner, key and\n"
    "      correlation id; then how many are pending in all ('100000+' beyond\n"
    "      that). --owner and --key-prefix keep only one owner's timers or keys\n"
    "      starting with P. Waits up to --timeout ms (default 5000) for the timer\n"
    "      service.\n";

//  Writes text as one field of a line: keys are chosen by other services
//  and may hold anything, but a timer must stay on one line.
static void
s_put_field (const char *text)
{
    if (!*text) {
        fputc ('-', stdout);
        return;
    }
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        fputc (*p < 0x20 || *p == 0x7f ? ' ' : *p, stdout);
}

static int
s_print (const Crm__V1__Reply *reply)
{
    char text[2048];
    if (reply->error) {
        cli_error (CMD, "%s", client_error_text (reply->error, text, sizeof text));
        return CLI_EXIT_FAIL;
    }
    Crm__V1__TimerList *list = NULL;
    if (strcmp (reply->type, "TimerList") == 0)
        list = crm__v1__timer_list__unpack (NULL, reply->payload.len, reply->payload.data);
    if (!list) {
        cli_error (CMD, "unexpected reply from the timer service (type '%s')", reply->type);
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < list->n_timers; i++) {
        const Crm__V1__Timer *t = list->timers[i];
        char when[64];
        printf ("%s  ", cli_format_time (t->due_ms, when, sizeof when));
        s_put_field (t->owner);
        fputs ("  ", stdout);
        s_put_field (t->key);
        fputs ("  ", stdout);
        s_put_field (t->correlation_id);
        fputc ('\n', stdout);
    }
    if (list->pending > PENDING_CAP)
        printf ("%d+ pending\n", PENDING_CAP);
    else
        printf ("%" PRIu64 " pending\n", list->pending);
    crm__v1__timer_list__free_unpacked (list, NULL);
    return CLI_EXIT_OK;
}

int
cmd_timers_run (int argc, char **argv)
{
    enum { O_OWNER = 256, O_PREFIX, O_LIMIT, O_TIMEOUT };
    static const struct option options[] = {
        {"owner", required_argument, NULL, O_OWNER},
        {"key-prefix", required_argument, NULL, O_PREFIX},
        {"limit", required_argument, NULL, O_LIMIT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__ListTimers request = CRM__V1__LIST_TIMERS__INIT;
    long limit = 0, timeout_ms = 5000;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_OWNER: request.owner = optarg; break;
            case O_PREFIX: request.key_prefix = optarg; break;
            case O_LIMIT:
                if (cli_parse_long (optarg, 1, 1000, &limit))
                    return cli_usage_error (CMD, "--limit wants a number from 1 to 1000, got '%s'", optarg);
                break;
            case O_TIMEOUT:
                if (cli_parse_long (optarg, 1, 24L * 3600 * 1000, &timeout_ms))
                    return cli_usage_error (CMD, "--timeout wants milliseconds, got '%s'", optarg);
                break;
            case 'h':
                fputs ("usage:\n", stdout);
                fputs (cmd_timers_usage, stdout);
                return CLI_EXIT_OK;
            default: return cli_option_error (CMD, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error (CMD, "unexpected argument '%s'", argv[optind]);
    request.limit = (uint32_t) limit;

    Crm__V1__Reply *reply = NULL;
    if (cli_query (CMD, "timer", "ListTimers", &request.base, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    int rc = s_print (reply);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

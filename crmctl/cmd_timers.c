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

static void
s_print (const Crm__V1__TimerList *list)
{
    for (size_t i = 0; i < list->n_timers; i++) {
        const Crm__V1__Timer *t = list->timers[i];
        char when[64];
        //  Keys are chosen by other services and may hold anything, but a
        //  timer must stay on one line.
        printf ("%s  ", cli_format_time (t->due_ms, when, sizeof when));
        cli_put_row ((const char *[]){t->owner, t->key, t->correlation_id}, 3);
    }
    if (list->pending > PENDING_CAP)
        printf ("%d+ pending\n", PENDING_CAP);
    else
        printf ("%" PRIu64 " pending\n", list->pending);
}

int
cmd_timers_run (int argc, char **argv)
{
    enum { O_OWNER = 256, O_PREFIX };
    static const struct option options[] = {{"owner", required_argument, NULL, O_OWNER},
                                            {"key-prefix", required_argument, NULL, O_PREFIX},
                                            CLI_OPTION_LIMIT,
                                            CLI_OPTIONS_COMMON};
    cli_args_t args = {.no_operands = true,
                       .command = CMD,
                       .usage = cmd_timers_usage,
                       .limit_max = 1000,
                       .timeout_ms = 5000};
    Crm__V1__ListTimers request = CRM__V1__LIST_TIMERS__INIT;
    int c, rc;
    while ((c = cli_option (&args, argc, argv, options)) > 0) {
        if (c == O_OWNER)
            request.owner = optarg;
        else
            request.key_prefix = optarg;
    }
    if (c < 0)
        return args.rc;
    request.limit = (uint32_t) args.limit;

    //  Not cli_fetch: the service is "timer" to reach, "the timer service"
    //  to people.
    Crm__V1__Reply *reply = NULL;
    if (cli_query (CMD, "timer", "ListTimers", &request.base, NULL, args.timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__TimerList *list = NULL;
    rc = cli_unpack_reply (CMD, "the timer service", reply, "TimerList", &crm__v1__timer_list__descriptor,
                           (ProtobufCMessage **) &list);
    if (list)
        s_print (list);
    crm__v1__timer_list__free_unpacked (list, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

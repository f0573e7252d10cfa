/*  cmd_notifications: see cmd_notifications.h. */
#include "cmd_notifications.h"
#include "cli.h"
#include "config.h"
#include "crm/v1/notifier.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "notifications"
#define CMD_READ "notification read"

const char cmd_notifications_usage[] =
    "  crmctl notifications --user U [--unread] [--limit N] [--timeout MS]\n"
    "      Lists the notifications stored for user U, newest first (at most N,\n"
    "      default: the notifier's 50; --unread: only those not marked read):\n"
    "      id, time in CRM_TIME_ZONE (default Europe/Moscow), 'unread' or 'read',\n"
    "      what it concerns (e.g. lead:42), the text, then each outbound\n"
    "      delivery as [channel state, attempts]. Waits up to --timeout ms\n"
    "      (default 5000) for the notifier.\n"
    "  crmctl notification read ID [--as LOGIN] [--timeout MS]\n"
    "      Marks notification ID read, as LOGIN (default CRM_USER, then USER):\n"
    "      only its recipient may.\n";

//  Writes text on one line: a notification is one line of the listing, so
//  line breaks inside a text must not start a new one.
static void
s_put_line (const char *text)
{
    for (const char *p = text; *p; p++)
        fputc (*p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p, stdout);
}

static void
s_print (const Crm__V1__NotificationList *list, const char *user)
{
    if (list->n_notifications == 0)
        printf ("no notifications for %s\n", user);
    for (size_t i = 0; i < list->n_notifications; i++) {
        const Crm__V1__Notification *n = list->notifications[i];
        char when[64];
        printf ("%llu  %s  %s  %s  ", (unsigned long long) n->id,
                cli_format_time (n->created_ms, when, sizeof when), n->read_ms ? "read" : "unread",
                *n->correlation_id ? n->correlation_id : "-");
        s_put_line (n->text);
        for (size_t d = 0; d < n->n_deliveries; d++)
            printf ("  [%s %s, %" PRIu32 " attempt%s]", n->deliveries[d]->channel, n->deliveries[d]->state,
                    n->deliveries[d]->attempts, n->deliveries[d]->attempts == 1 ? "" : "s");
        fputc ('\n', stdout);
    }
}

int
cmd_notifications_run (int argc, char **argv)
{
    enum { O_USER = 256, O_UNREAD };
    static const struct option options[] = {{"user", required_argument, NULL, O_USER},
                                            {"unread", no_argument, NULL, O_UNREAD},
                                            CLI_OPTION_LIMIT,
                                            CLI_OPTIONS_COMMON};
    cli_args_t args = {.no_operands = true,
                       .command = CMD,
                       .usage = cmd_notifications_usage,
                       .limit_max = 100000,
                       .timeout_ms = 5000};
    Crm__V1__ListNotifications request = CRM__V1__LIST_NOTIFICATIONS__INIT;
    int c, rc;
    while ((c = cli_option (&args, argc, argv, options)) > 0) {
        if (c == O_USER)
            request.recipient = optarg;
        else
            request.unread = true;
    }
    if (c < 0)
        return args.rc;
    if (!*request.recipient)
        return cli_usage_error (CMD, "--user is required");
    request.limit = (uint32_t) args.limit;
    Crm__V1__NotificationList *list = NULL;
    rc = cli_fetch (CMD, "notifier", "ListNotifications", &request.base, args.timeout_ms,
                    &crm__v1__notification_list__descriptor, (ProtobufCMessage **) &list);
    if (list)
        s_print (list, request.recipient);
    crm__v1__notification_list__free_unpacked (list, NULL);
    return rc;
}

int
cmd_notification_run (int argc, char **argv)
{
    enum { O_AS = 256 };
    static const struct option options[] = {{"as", required_argument, NULL, O_AS}, CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = CMD_READ, .usage = cmd_notifications_usage, .timeout_ms = 5000};
    const char *sender = config_str ("CRM_USER", config_str ("USER", NULL));
    long id = 0;
    int c, rc;
    if (argc < 2 || strcmp (argv[1], "read") != 0) {
        if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
            return cli_help (cmd_notifications_usage);
        return cli_usage_error ("notification", "what to do? (known: read ID)");
    }
    argc--, argv++;
    while ((c = cli_option (&args, argc, argv, options)) > 0)
        sender = optarg;  // O_AS
    if (c < 0)
        return args.rc;
    if (optind >= argc)
        return cli_usage_error (CMD_READ, "which notification? give its ID");
    if (cli_parse_long (argv[optind], 1, LONG_MAX, &id))
        return cli_usage_error (CMD_READ, "the ID is a positive number, got '%s'", argv[optind]);
    if ((rc = cli_no_more (CMD_READ, argc, argv, optind + 1)))
        return rc;
    if (!sender || !*sender)
        return cli_usage_error (CMD_READ, "who are you? give --as LOGIN (or set CRM_USER)");

    Crm__V1__MarkNotificationRead mark = CRM__V1__MARK_NOTIFICATION_READ__INIT;
    mark.notification_id = (uint64_t) id;
    //  Marking read twice changes nothing: one call, and the operator may
    //  simply run it again when there was no answer.
    Crm__V1__Reply *reply = NULL;
    if (cli_query (CMD_READ, "notifier", "MarkNotificationRead", &mark.base, sender, args.timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    if (reply->error)
        rc = cli_refused (CMD_READ, reply);
    else
        printf ("notification %ld read\n", id);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

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

static int
s_print (const Crm__V1__Reply *reply, const char *user)
{
    char text[2048];
    if (reply->error) {
        cli_error (CMD, "%s", client_error_text (reply->error, text, sizeof text));
        return CLI_EXIT_FAIL;
    }
    Crm__V1__NotificationList *list = NULL;
    if (strcmp (reply->type, "NotificationList") == 0)
        list = crm__v1__notification_list__unpack (NULL, reply->payload.len, reply->payload.data);
    if (!list) {
        cli_error (CMD, "unexpected reply from notifier (type '%s')", reply->type);
        return CLI_EXIT_FAIL;
    }
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
    crm__v1__notification_list__free_unpacked (list, NULL);
    return CLI_EXIT_OK;
}

int
cmd_notifications_run (int argc, char **argv)
{
    enum { O_USER = 256, O_UNREAD, O_LIMIT, O_TIMEOUT };
    static const struct option options[] = {
        {"user", required_argument, NULL, O_USER},
        {"unread", no_argument, NULL, O_UNREAD},
        {"limit", required_argument, NULL, O_LIMIT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__ListNotifications request = CRM__V1__LIST_NOTIFICATIONS__INIT;
    long limit = 0, timeout_ms = 5000;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_USER: request.recipient = optarg; break;
            case O_UNREAD: request.unread = true; break;
            case O_LIMIT:
                if (cli_parse_long (optarg, 1, 100000, &limit))
                    return cli_usage_error (CMD, "--limit wants a number from 1 to 100000, got '%s'", optarg);
                break;
            case O_TIMEOUT:
                if (cli_parse_long (optarg, 1, 24L * 3600 * 1000, &timeout_ms))
                    return cli_usage_error (CMD, "--timeout wants milliseconds, got '%s'", optarg);
                break;
            case 'h':
                fputs ("usage:\n", stdout);
                fputs (cmd_notifications_usage, stdout);
                return CLI_EXIT_OK;
            default: return cli_option_error (CMD, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error (CMD, "unexpected argument '%s'", argv[optind]);
    if (!*request.recipient)
        return cli_usage_error (CMD, "--user is required");
    request.limit = (uint32_t) limit;

    Crm__V1__Reply *reply = NULL;
    if (cli_query (CMD, "notifier", "ListNotifications", &request.base, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    int rc = s_print (reply, request.recipient);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

int
cmd_notification_run (int argc, char **argv)
{
    enum { O_AS = 256, O_TIMEOUT };
    static const struct option options[] = {
        {"as", required_argument, NULL, O_AS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sender = config_str ("CRM_USER", config_str ("USER", NULL));
    long id = 0, timeout_ms = 5000;
    int c;
    if (argc < 2 || strcmp (argv[1], "read") != 0) {
        if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
            fputs ("usage:\n", stdout);
            fputs (cmd_notifications_usage, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage_error ("notification", "what to do? (known: read ID)");
    }
    argc--, argv++;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_AS: sender = optarg; break;
            case O_TIMEOUT:
                if (cli_parse_long (optarg, 1, 24L * 3600 * 1000, &timeout_ms))
                    return cli_usage_error (CMD_READ, "--timeout wants milliseconds, got '%s'", optarg);
                break;
            case 'h':
                fputs ("usage:\n", stdout);
                fputs (cmd_notifications_usage, stdout);
                return CLI_EXIT_OK;
            default: return cli_option_error (CMD_READ, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error (CMD_READ, "which notification? give its ID");
    if (cli_parse_long (argv[optind], 1, LONG_MAX, &id))
        return cli_usage_error (CMD_READ, "the ID is a positive number, got '%s'", argv[optind]);
    if (optind + 1 < argc)
        return cli_usage_error (CMD_READ, "unexpected argument '%s'", argv[optind + 1]);
    if (!sender || !*sender)
        return cli_usage_error (CMD_READ, "who are you? give --as LOGIN (or set CRM_USER)");

    Crm__V1__MarkNotificationRead mark = CRM__V1__MARK_NOTIFICATION_READ__INIT;
    mark.notification_id = (uint64_t) id;
    client_t *client = cli_client (CMD_READ, "notifier");
    if (!client)
        return CLI_EXIT_FAIL;
    if (client_set_sender (client, sender)) {
        cli_error (CMD_READ, "the login '%.40s...' is too long", sender);
        client_destroy (&client);
        return CLI_EXIT_FAIL;
    }
    //  Marking read twice changes nothing: one call, and the operator may
    //  simply run it again when there was no answer.
    Crm__V1__Reply *reply = NULL;
    int rc = CLI_EXIT_FAIL;
    char text[2048];
    if (client_call (client, "MarkNotificationRead", &mark.base, (int) timeout_ms, &reply))
        cli_error (CMD_READ, "no answer from notifier at %s within %ld ms; is crm-notifier running?",
                   client_endpoint (client), timeout_ms);
    else if (reply->error)
        cli_error (CMD_READ, "%s", client_error_text (reply->error, text, sizeof text));
    else {
        printf ("notification %ld read\n", id);
        rc = CLI_EXIT_OK;
    }
    crm__v1__reply__free_unpacked (reply, NULL);
    client_destroy (&client);
    return rc;
}

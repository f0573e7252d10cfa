/*  cmd_notifications: see cmd_notifications.h. */
#include "cmd_notifications.h"
#include "cli.h"
#include "crm/v1/notifier.pb-c.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "notifications"

const char cmd_notifications_usage[] =
    "  crmctl notifications --user U [--limit N] [--timeout MS]\n"
    "      Lists the notifications stored for user U (at most N, default: the\n"
    "      notifier's 50): id, time in CRM_TIME_ZONE (default Europe/Moscow),\n"
    "      what it concerns (e.g. lead:42) and the text. Waits up to --timeout ms\n"
    "      (default 5000) for the notifier.\n";

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
        printf ("%llu  %s  %s  ", (unsigned long long) n->id,
                cli_format_time (n->created_ms, when, sizeof when),
                *n->correlation_id ? n->correlation_id : "-");
        s_put_line (n->text);
        fputc ('\n', stdout);
    }
    crm__v1__notification_list__free_unpacked (list, NULL);
    return CLI_EXIT_OK;
}

int
cmd_notifications_run (int argc, char **argv)
{
    enum { O_USER = 256, O_LIMIT, O_TIMEOUT };
    static const struct option options[] = {
        {"user", required_argument, NULL, O_USER},
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

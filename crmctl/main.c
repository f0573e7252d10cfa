/*  crmctl: the operator's command-line client for the CRM services.

    Each command is a module of its own (cmd_*.c); this file only finds the
    command and prints the usage. Exit codes: 0 done, 1 refused or no
    answer, 2 a mistake on the command line (see cli.h).
*/
#include "cli.h"
#include "cmd_deadletters.h"
#include "cmd_deal.h"
#include "cmd_funnel.h"
#include "cmd_lead.h"
#include "cmd_notifications.h"
#include "cmd_pipeline.h"
#include "cmd_status.h"
#include "cmd_task.h"
#include "cmd_tasks.h"
#include "cmd_timers.h"

#include <stdio.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fputs ("usage: crmctl COMMAND [OPTIONS]\n"
           "\n"
           "Commands:\n",
           out);
    fputs (cmd_deadletters_usage, out);
    fputs (cmd_lead_usage, out);
    fputs (cmd_funnel_usage, out);
    fputs (cmd_deal_usage, out);
    fputs (cmd_notifications_usage, out);
    fputs (cmd_pipeline_usage, out);
    fputs (cmd_status_usage, out);
    fputs (cmd_task_usage, out);
    fputs (cmd_timers_usage, out);
    fputs ("  crmctl help\n"
           "      Prints this text (so do 'crmctl', 'crmctl --help', and --help after\n"
           "      any command).\n"
           "\n"
           "Services are found at CRM_<NAME>_HOST (default 127.0.0.1) and\n"
           "CRM_<NAME>_PORT (leads 5550, deals 5560, tasks 5570, notifier 5580,\n"
           "timer 5590). Exit status: 0 done, 1 refused, no answer or a service\n"
           "down, 2 a mistake on the command line.\n",
           out);
}

int
main (int argc, char **argv)
{
    //  Ctrl-C should stop crmctl at once, as it does any command-line tool,
    //  rather than set czmq's flag and leave a retry loop to notice it.
    zsys_handler_set (NULL);

    if (argc < 2 || strcmp (argv[1], "help") == 0 || strcmp (argv[1], "--help") == 0
        || strcmp (argv[1], "-h") == 0) {
        s_usage (stdout);
        return CLI_EXIT_OK;
    }
    const char *command = argv[1];
    if (strcmp (command, "deadletters") == 0)
        return cmd_deadletters_run (argc - 1, argv + 1);
    if (strcmp (command, "lead") == 0)
        return cmd_lead_run (argc - 1, argv + 1);
    if (strcmp (command, "leads") == 0 || strcmp (command, "contacts") == 0
        || strcmp (command, "companies") == 0)
        return cmd_funnel_list_run (argc - 1, argv + 1);
    if (strcmp (command, "deal") == 0)
        return cmd_deal_run (argc - 1, argv + 1);
    if (strcmp (command, "deals") == 0)
        return cmd_deal_list_run (argc - 1, argv + 1);
    if (strcmp (command, "notifications") == 0)
        return cmd_notifications_run (argc - 1, argv + 1);
    if (strcmp (command, "notification") == 0)
        return cmd_notification_run (argc - 1, argv + 1);
    if (strcmp (command, "pipeline") == 0)
        return cmd_pipeline_run (argc - 1, argv + 1);
    if (strcmp (command, "status") == 0)
        return cmd_status_run (argc - 1, argv + 1);
    if (strcmp (command, "task") == 0)
        return cmd_task_run (argc - 1, argv + 1);
    if (strcmp (command, "tasks") == 0)
        return cmd_tasks_list_run (argc - 1, argv + 1);
    if (strcmp (command, "activities") == 0)
        return cmd_tasks_activities_run (argc - 1, argv + 1);
    if (strcmp (command, "timers") == 0)
        return cmd_timers_run (argc - 1, argv + 1);
    if (command[0] == '-')
        return cli_usage_error ("", "unknown option '%s' (options follow the command)", command);
    return cli_usage_error (
        "",
        "unknown command '%s' (known: deadletters, lead, leads, contacts, companies, deal, deals, "
        "notifications, notification, pipeline check, status, task, tasks, activities, timers)",
        command);
}

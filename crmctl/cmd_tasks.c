/*  cmd_tasks: see cmd_tasks.h. */
#include "cmd_tasks.h"
#include "cmd_task.h"
#include "cli.h"
#include "task_print.h"
#include "crm/v1/tasks.pb-c.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define READ_TIMEOUT_MS 5000
#define ATTACHMENT_TIMEOUT_MS 30000  // up to 10 MiB through the database

//  Sends a read and unpacks its reply of the type desc says into *msg_p.
//  Returns 0, or an exit code after printing why.
static int
s_read (const char *cmd, const char *type, const ProtobufCMessage *payload, long timeout_ms,
        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg_p)
{
    *msg_p = NULL;
    char err[256];
    if (task_print_zone (err, sizeof err))
        return cli_usage_error (cmd, "%s", err);
    return cli_fetch (cmd, "tasks", type, payload, timeout_ms, desc, msg_p);
}

//  Sends a read and prints its answer as task_print does: a TaskDetail,
//  TaskList or ActivityList, as desc says. Returns an exit code.
static int
s_show (const cli_args_t *args, const char *type, const ProtobufCMessage *payload,
        const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = NULL;
    int rc = s_read (args->command, type, payload, args->timeout_ms, desc, &msg);
    if (msg && desc == &crm__v1__task_detail__descriptor)
        task_print_detail ((Crm__V1__TaskDetail *) msg, args->json);
    else if (msg && desc == &crm__v1__task_list__descriptor)
        task_print_list ((Crm__V1__TaskList *) msg, args->json);
    else if (msg)
        task_print_activities ((Crm__V1__ActivityList *) msg, args->json);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
}

int
cmd_tasks_show_run (int argc, char **argv)
{
    static const struct option options[] = {CLI_OPTION_JSON, CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = "task show", .usage = cmd_task_usage, .timeout_ms = READ_TIMEOUT_MS};
    Crm__V1__ShowTask show = CRM__V1__SHOW_TASK__INIT;
    if (cli_option (&args, argc, argv, options))
        return args.rc;
    if (argc - optind != 1)
        return cli_usage_error (args.command, "give one task number");
    if (cmd_task_parse_id (args.command, argv[optind], &show.task_id))
        return CLI_EXIT_USAGE;
    return s_show (&args, "ShowTask", &show.base, &crm__v1__task_detail__descriptor);
}

static int
s_write_file (const char *cmd, const char *path, const Crm__V1__Attachment *a)
{
    bool to_stdout = strcmp (path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen (path, "wb");
    if (!f || fwrite (a->data.data, 1, a->data.len, f) != a->data.len || (!to_stdout && fclose (f))) {
        cli_error (cmd, "cannot write %s: %s", path, strerror (errno));
        return CLI_EXIT_FAIL;
    }
    if (!to_stdout)
        printf ("%s: %zu bytes, sha256 %s\n", path, a->data.len, a->sha256);
    return CLI_EXIT_OK;
}

int
cmd_tasks_attachment_run (int argc, char **argv)
{
    static const struct option options[] = {{"output", required_argument, NULL, 'o'}, CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = "task attachment",
                       .usage = cmd_task_usage,
                       .optstring = ":ho:",
                       .timeout_ms = ATTACHMENT_TIMEOUT_MS};
    const char *cmd = args.command;
    Crm__V1__GetAttachment get = CRM__V1__GET_ATTACHMENT__INIT;
    const char *out = NULL;
    int c;
    while ((c = cli_option (&args, argc, argv, options)) > 0)
        out = optarg;  // -o, --output
    if (c < 0)
        return args.rc;
    if (argc - optind != 2)
        return cli_usage_error (cmd, "give a task number and the attachment's name");
    if (cmd_task_parse_id (cmd, argv[optind], &get.task_id))
        return CLI_EXIT_USAGE;
    get.name = argv[optind + 1];
    if (!out)
        return cli_usage_error (cmd, "-o FILE is required ('-' for stdout)");
    ProtobufCMessage *msg = NULL;
    int rc =
        s_read (cmd, "GetAttachment", &get.base, args.timeout_ms, &crm__v1__attachment__descriptor, &msg);
    if (rc == CLI_EXIT_OK)
        rc = s_write_file (cmd, out, (Crm__V1__Attachment *) msg);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
}

//  crmctl tasks and crmctl activities: one list or the other.
static int
s_list_run (int argc, char **argv, bool activities)
{
    enum { O_USER = 256, O_OPEN, O_RECORD, O_ALL };
    static const struct option task_options[] = {{"user", required_argument, NULL, O_USER},
                                                 {"open", no_argument, NULL, O_OPEN},
                                                 {"record", required_argument, NULL, O_RECORD},
                                                 CLI_OPTION_LIMIT,
                                                 CLI_OPTION_JSON,
                                                 CLI_OPTIONS_COMMON};
    static const struct option activity_options[] = {{"user", required_argument, NULL, O_USER},
                                                     {"all", no_argument, NULL, O_ALL},
                                                     CLI_OPTION_LIMIT,
                                                     CLI_OPTION_JSON,
                                                     CLI_OPTIONS_COMMON};
    cli_args_t args = {.no_operands = true,
                       .command = activities ? "activities" : "tasks",
                       .usage = cmd_task_usage,
                       .limit_max = 1000,
                       .timeout_ms = READ_TIMEOUT_MS};
    Crm__V1__ListTasks tasks = CRM__V1__LIST_TASKS__INIT;
    Crm__V1__ListActivities acts = CRM__V1__LIST_ACTIVITIES__INIT;
    int c;
    while ((c = cli_option (&args, argc, argv, activities ? activity_options : task_options)) > 0) {
        switch (c) {
            case O_USER: tasks.user = acts.user = optarg; break;
            case O_OPEN: tasks.open_only = true; break;
            case O_RECORD: tasks.record = optarg; break;
            default: acts.include_done = true; break;  // O_ALL
        }
    }
    if (c < 0)
        return args.rc;
    if (activities && !*acts.user)
        return cli_usage_error (args.command, "--user is required");
    tasks.limit = acts.limit = (uint32_t) args.limit;
    if (activities)
        return s_show (&args, "ListActivities", &acts.base, &crm__v1__activity_list__descriptor);
    return s_show (&args, "ListTasks", &tasks.base, &crm__v1__task_list__descriptor);
}

int
cmd_tasks_list_run (int argc, char **argv)
{
    return s_list_run (argc, argv, false);
}

int
cmd_tasks_activities_run (int argc, char **argv)
{
    return s_list_run (argc, argv, true);
}

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

static int
s_print_error (const char *cmd, const Crm__V1__Reply *reply)
{
    char text[2048];
    cli_error (cmd, "%s", client_error_text (reply->error, text, sizeof text));
    return CLI_EXIT_FAIL;
}

//  Options the lists and show take.
typedef struct {
    bool json;
    long timeout_ms;
} read_opts_t;

//  Sends a read and unpacks its reply of type into *msg_p (with desc).
//  Returns 0, or an exit code after printing why.
static int
s_read (const char *cmd, const char *type, const ProtobufCMessage *payload, long timeout_ms,
        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg_p)
{
    Crm__V1__Reply *reply = NULL;
    *msg_p = NULL;
    char err[256];
    if (task_print_zone (err, sizeof err))
        return cli_usage_error (cmd, "%s", err);
    if (cli_query (cmd, "tasks", type, payload, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    if (reply->error)
        rc = s_print_error (cmd, reply);
    else if (strcmp (reply->type, desc->short_name) != 0
             || !(*msg_p = protobuf_c_message_unpack (desc, NULL, reply->payload.len, reply->payload.data))) {
        cli_error (cmd, "unexpected reply from tasks (type '%s')", reply->type);
        rc = CLI_EXIT_FAIL;
    }
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

int
cmd_tasks_show_run (int argc, char **argv)
{
    const char *cmd = "task show";
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    read_opts_t opts = {false, READ_TIMEOUT_MS};
    Crm__V1__ShowTask show = CRM__V1__SHOW_TASK__INIT;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'j': opts.json = true; break;
            case 't':
                if (cmd_task_parse_timeout (cmd, optarg, &opts.timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error (cmd, "give one task number");
    if (cmd_task_parse_id (cmd, argv[optind], &show.task_id))
        return CLI_EXIT_USAGE;
    ProtobufCMessage *msg = NULL;
    int rc = s_read (cmd, "ShowTask", &show.base, opts.timeout_ms, &crm__v1__task_detail__descriptor, &msg);
    if (rc == CLI_EXIT_OK)
        task_print_detail ((Crm__V1__TaskDetail *) msg, opts.json);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
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
    const char *cmd = "task attachment";
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__GetAttachment get = CRM__V1__GET_ATTACHMENT__INIT;
    const char *out = NULL;
    long timeout_ms = ATTACHMENT_TIMEOUT_MS;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":ho:", options, NULL)) != -1) {
        switch (c) {
            case 'o': out = optarg; break;
            case 't':
                if (cmd_task_parse_timeout (cmd, optarg, &timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error (cmd, "give a task number and the attachment's name");
    if (cmd_task_parse_id (cmd, argv[optind], &get.task_id))
        return CLI_EXIT_USAGE;
    get.name = argv[optind + 1];
    if (!out)
        return cli_usage_error (cmd, "-o FILE is required ('-' for stdout)");
    ProtobufCMessage *msg = NULL;
    int rc = s_read (cmd, "GetAttachment", &get.base, timeout_ms, &crm__v1__attachment__descriptor, &msg);
    if (rc == CLI_EXIT_OK)
        rc = s_write_file (cmd, out, (Crm__V1__Attachment *) msg);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
}

int
cmd_tasks_list_run (int argc, char **argv)
{
    const char *cmd = "tasks";
    static const struct option options[] = {
        {"user", required_argument, NULL, 'u'},   {"open", no_argument, NULL, 'O'},
        {"record", required_argument, NULL, 'r'}, {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},         {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    Crm__V1__ListTasks query = CRM__V1__LIST_TASKS__INIT;
    read_opts_t opts = {false, READ_TIMEOUT_MS};
    long limit = 0;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'u': query.user = optarg; break;
            case 'O': query.open_only = true; break;
            case 'r': query.record = optarg; break;
            case 'l':
                if (cli_parse_long (optarg, 1, 1000, &limit))
                    return cli_usage_error (cmd, "--limit wants a number from 1 to 1000, got '%s'", optarg);
                break;
            case 'j': opts.json = true; break;
            case 't':
                if (cmd_task_parse_timeout (cmd, optarg, &opts.timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error (cmd, "unexpected argument '%s'", argv[optind]);
    query.limit = (uint32_t) limit;
    ProtobufCMessage *msg = NULL;
    int rc = s_read (cmd, "ListTasks", &query.base, opts.timeout_ms, &crm__v1__task_list__descriptor, &msg);
    if (rc == CLI_EXIT_OK)
        task_print_list ((Crm__V1__TaskList *) msg, opts.json);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
}

int
cmd_tasks_activities_run (int argc, char **argv)
{
    const char *cmd = "activities";
    static const struct option options[] = {
        {"user", required_argument, NULL, 'u'},
        {"all", no_argument, NULL, 'a'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__ListActivities query = CRM__V1__LIST_ACTIVITIES__INIT;
    read_opts_t opts = {false, READ_TIMEOUT_MS};
    long limit = 0;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'u': query.user = optarg; break;
            case 'a': query.include_done = true; break;
            case 'l':
                if (cli_parse_long (optarg, 1, 1000, &limit))
                    return cli_usage_error (cmd, "--limit wants a number from 1 to 1000, got '%s'", optarg);
                break;
            case 'j': opts.json = true; break;
            case 't':
                if (cmd_task_parse_timeout (cmd, optarg, &opts.timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error (cmd, "unexpected argument '%s'", argv[optind]);
    if (!*query.user)
        return cli_usage_error (cmd, "--user is required");
    query.limit = (uint32_t) limit;
    ProtobufCMessage *msg = NULL;
    int rc = s_read (cmd, "ListActivities", &query.base, opts.timeout_ms, &crm__v1__activity_list__descriptor,
                     &msg);
    if (rc == CLI_EXIT_OK)
        task_print_activities ((Crm__V1__ActivityList *) msg, opts.json);
    protobuf_c_message_free_unpacked (msg, NULL);
    return rc;
}

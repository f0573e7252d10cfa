/*  cmd_task: see cmd_task.h. */
#include "cmd_task.h"
#include "cli.h"
#include "config.h"
#include "cmd_tasks.h"
#include "crm/v1/tasks.pb-c.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHANGE_TIMEOUT_MS 30000  // a 10 MiB attachment goes through the database
#define COEXECUTORS_MAX 20
#define ATTACHMENTS_MAX 20
#define COMMAND_OVERHEAD 1024  // bytes a Command adds around its payload, generously

const char cmd_task_usage[] =
    "  crmctl task create --title T --responsible U [--coexecutor U]... [--deadline D]\n"
    "                     [--record R] [--tag T] [--description D] [--as LOGIN]\n"
    "      Creates a task and prints its number. D is \"2026-12-01 15:30\" (or\n"
    "      \"01.12.2026 15:30\") in the company's zone; R the lead or deal it belongs\n"
    "      to, e.g. lead:5. Its responsible and co-executors are notified.\n"
    "  crmctl task complete ID [--attach FILE]... [--comment TEXT] [--as LOGIN]\n"
    "      Completes task ID; only its responsible or a co-executor may. Each FILE\n"
    "      is attached under its base name (at most 10 MiB each by default).\n"
    "  crmctl task comment ID TEXT [--as LOGIN]\n"
    "      Adds a comment to task ID.\n"
    "  crmctl task show ID [--json]\n"
    "      Prints task ID with its comments and attachments.\n"
    "  crmctl task attachment ID NAME -o FILE\n"
    "      Writes the attachment NAME of task ID to FILE ('-': stdout).\n"
    "  crmctl tasks [--user U] [--open] [--record R] [--limit N] [--json]\n"
    "      Lists tasks, newest first (at most N, 1 to 1000, default 100): those U\n"
    "      is responsible for or a co-executor of (default: everyone's), only open\n"
    "      ones with --open, only of record R with --record.\n"
    "  crmctl activities --user U [--all] [--limit N] [--json]\n"
    "      Lists U's planned activities by time (--all: cancelled ones too).\n"
    "      Who acts is --as LOGIN, else $CRM_USER, else $USER. Times are in\n"
    "      CRM_TIME_ZONE, else the time_zone of CRM_STAFF_FILE (default\n"
    "      deploy/pipelines/staff.yaml), else Europe/Moscow.\n"
    "      --timeout MS (every command) bounds the wait for the tasks service\n"
    "      (default 5000; create, complete, comment and attachment: 30000;\n"
    "      changes are sent again while the service says it is unavailable).\n";

//  --------------------------------------------------------------------------
//  Talking to the tasks service

static const char *
s_person (const char *as)
{
    if (as && *as)
        return as;
    return config_str ("CRM_USER", config_str ("USER", NULL));
}

//  The largest command the services take (bytes): CRM_MAX_MESSAGE_BYTES.
static int
s_max_message_bytes (void)
{
    int max = CONFIG_MAX_MESSAGE_BYTES_DEFAULT;
    if (config_int ("CRM_MAX_MESSAGE_BYTES", CONFIG_MAX_MESSAGE_BYTES_DEFAULT, 1024, 64 << 20, &max))
        max = CONFIG_MAX_MESSAGE_BYTES_DEFAULT;
    return max;
}

//  Sends a command that changes a task, as sender, as cli_change does.
//  Returns CLI_EXIT_OK with *result (the caller frees it), or an exit code
//  after printing why.
static int
s_change (const char *cmd, const char *type, const ProtobufCMessage *payload, const char *sender,
          long timeout_ms, Crm__V1__TaskReply **result)
{
    int max = s_max_message_bytes ();
    size_t size = protobuf_c_message_get_packed_size (payload) + COMMAND_OVERHEAD;
    if (size > (size_t) max) {
        //  Far over the limit ZeroMQ would drop the connection: say it here.
        cli_error (cmd, "TOO_LARGE: the command is about %zu bytes; CRM_MAX_MESSAGE_BYTES is %d", size, max);
        return CLI_EXIT_FAIL;
    }
    return cli_change (cmd, "tasks", type, payload, sender, timeout_ms, "check with 'crmctl tasks'",
                       &crm__v1__task_reply__descriptor, (ProtobufCMessage **) result);
}

int
cmd_task_help (void)
{
    return cli_help (cmd_task_usage);
}

int
cmd_task_parse_id (const char *cmd, const char *text, uint64_t *id)
{
    long value;
    if (!text || cli_parse_long (text, 1, LONG_MAX, &value))
        return cli_usage_error (cmd, "a task number is needed, got '%s'", text ? text : "nothing");
    *id = (uint64_t) value;
    return 0;
}

//  --------------------------------------------------------------------------
//  task create

static int
s_create (int argc, char **argv)
{
    const char *cmd = "task create";
    enum { O_TITLE = 256, O_RESPONSIBLE, O_COEXECUTOR, O_DEADLINE, O_RECORD, O_TAG, O_DESCRIPTION, O_AS };
    static const struct option options[] = {{"title", required_argument, NULL, O_TITLE},
                                            {"responsible", required_argument, NULL, O_RESPONSIBLE},
                                            {"coexecutor", required_argument, NULL, O_COEXECUTOR},
                                            {"deadline", required_argument, NULL, O_DEADLINE},
                                            {"record", required_argument, NULL, O_RECORD},
                                            {"tag", required_argument, NULL, O_TAG},
                                            {"description", required_argument, NULL, O_DESCRIPTION},
                                            {"as", required_argument, NULL, O_AS},
                                            CLI_OPTIONS_COMMON};
    cli_args_t args = {
        .no_operands = true, .command = cmd, .usage = cmd_task_usage, .timeout_ms = CHANGE_TIMEOUT_MS};
    Crm__V1__CreateTask create = CRM__V1__CREATE_TASK__INIT;
    char *coexecutors[COEXECUTORS_MAX];
    const char *as = NULL;
    int c, rc;
    while ((c = cli_option (&args, argc, argv, options)) > 0) {
        switch (c) {
            case O_TITLE: create.title = optarg; break;
            case O_RESPONSIBLE: create.responsible = optarg; break;
            case O_COEXECUTOR:
                if (create.n_coexecutors == COEXECUTORS_MAX)
                    return cli_usage_error (cmd, "at most %d --coexecutor", COEXECUTORS_MAX);
                coexecutors[create.n_coexecutors++] = optarg;
                break;
            case O_DEADLINE: create.deadline = optarg; break;
            case O_RECORD: create.record = optarg; break;
            case O_TAG: create.tag = optarg; break;
            case O_DESCRIPTION: create.description = optarg; break;
            default: as = optarg; break;  // O_AS
        }
    }
    if (c < 0)
        return args.rc;
    create.coexecutors = coexecutors;
    if (!*create.title)
        return cli_usage_error (cmd, "--title is required");
    if (!*create.responsible)
        return cli_usage_error (cmd, "--responsible is required");
    const char *sender = s_person (as);
    if (!sender)
        return cli_usage_error (cmd, "who are you? give --as LOGIN (or set CRM_USER)");

    Crm__V1__TaskReply *result = NULL;
    rc = s_change (cmd, "CreateTask", &create.base, sender, args.timeout_ms, &result);
    if (result)
        printf ("task %" PRIu64 " created\n", result->task_id);
    crm__v1__task_reply__free_unpacked (result, NULL);
    return rc;
}

//  --------------------------------------------------------------------------
//  task complete

//  What the content type of a file probably is, from its name.
static const char *
s_content_type (const char *name)
{
    static const char *types[][2] = {
        {".pdf", "application/pdf"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".txt", "text/plain"},
        {".csv", "text/csv"},
        {".xml", "application/xml"},
        {".zip", "application/zip"},
        {".json", "application/json"},
        {".doc", "application/msword"},
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {".xls", "application/vnd.ms-excel"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    };
    const char *dot = strrchr (name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp (dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

//  Reads path into a (name: its base name). Returns 0, or -1 after
//  printing why; max: the largest a command may be (bytes).
static int
s_read_file (const char *cmd, const char *path, int max, Crm__V1__AttachmentData *a)
{
    struct stat st;
    FILE *f = fopen (path, "rb");
    if (!f || fstat (fileno (f), &st) || !S_ISREG (st.st_mode)) {
        cli_error (cmd, "cannot read %s: %s", path, f ? "not a regular file" : strerror (errno));
        if (f)
            fclose (f);
        return -1;
    }
    if (st.st_size > (off_t) max) {
        cli_error (cmd,
                   "TOO_LARGE: %s is %lld bytes; a command may carry at most %d bytes "
                   "(CRM_MAX_MESSAGE_BYTES)",
                   path, (long long) st.st_size, max);
        fclose (f);
        return -1;
    }
    size_t size = (size_t) st.st_size;
    uint8_t *data = malloc (size ? size : 1);
    if (!data || fread (data, 1, size, f) != size) {
        cli_error (cmd, "cannot read %s: %s", path, data ? "short read" : "out of memory");
        free (data);
        fclose (f);
        return -1;
    }
    fclose (f);
    const char *slash = strrchr (path, '/');
    a->name = (char *) (slash ? slash + 1 : path);
    a->content_type = (char *) s_content_type (a->name);
    a->data.data = data;
    a->data.len = size;
    return 0;
}

static int
s_complete (int argc, char **argv)
{
    const char *cmd = "task complete";
    enum { O_ATTACH = 256, O_COMMENT, O_AS };
    static const struct option options[] = {{"attach", required_argument, NULL, O_ATTACH},
                                            {"comment", required_argument, NULL, O_COMMENT},
                                            {"as", required_argument, NULL, O_AS},
                                            CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = cmd, .usage = cmd_task_usage, .timeout_ms = CHANGE_TIMEOUT_MS};
    Crm__V1__CompleteTask complete = CRM__V1__COMPLETE_TASK__INIT;
    const char *files[ATTACHMENTS_MAX];
    size_t n_files = 0;
    const char *as = NULL;
    int c;
    while ((c = cli_option (&args, argc, argv, options)) > 0) {
        switch (c) {
            case O_ATTACH:
                if (n_files == ATTACHMENTS_MAX)
                    return cli_usage_error (cmd, "at most %d --attach", ATTACHMENTS_MAX);
                files[n_files++] = optarg;
                break;
            case O_COMMENT: complete.comment = optarg; break;
            default: as = optarg; break;  // O_AS
        }
    }
    if (c < 0)
        return args.rc;
    if (argc - optind != 1)
        return cli_usage_error (cmd, "give one task number");
    if (cmd_task_parse_id (cmd, argv[optind], &complete.task_id))
        return CLI_EXIT_USAGE;
    const char *sender = s_person (as);
    if (!sender)
        return cli_usage_error (cmd, "who are you? give --as LOGIN (or set CRM_USER)");

    int rc = CLI_EXIT_FAIL, max = s_max_message_bytes ();
    Crm__V1__AttachmentData items[ATTACHMENTS_MAX];
    Crm__V1__AttachmentData *ptrs[ATTACHMENTS_MAX];
    Crm__V1__TaskReply *result = NULL;
    for (size_t i = 0; i < n_files; i++) {
        crm__v1__attachment_data__init (&items[i]);
        ptrs[i] = &items[i];
    }
    for (size_t i = 0; i < n_files; i++) {
        if (s_read_file (cmd, files[i], max, &items[i]))
            goto cleanup;
        complete.n_attachments++;
    }
    complete.attachments = ptrs;
    rc = s_change (cmd, "CompleteTask", &complete.base, sender, args.timeout_ms, &result);
    if (result) {
        printf ("task %" PRIu64 " completed", result->task_id);
        if (n_files)
            printf (" (%zu attachment%s)", n_files, n_files == 1 ? "" : "s");
        fputc ('\n', stdout);
    }

cleanup:
    for (size_t i = 0; i < complete.n_attachments; i++)
        free (items[i].data.data);
    crm__v1__task_reply__free_unpacked (result, NULL);
    return rc;
}

//  --------------------------------------------------------------------------
//  task comment

static int
s_comment (int argc, char **argv)
{
    const char *cmd = "task comment";
    enum { O_AS = 256 };
    static const struct option options[] = {{"as", required_argument, NULL, O_AS}, CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = cmd, .usage = cmd_task_usage, .timeout_ms = CHANGE_TIMEOUT_MS};
    Crm__V1__CommentTask comment = CRM__V1__COMMENT_TASK__INIT;
    const char *as = NULL;
    int c;
    while ((c = cli_option (&args, argc, argv, options)) > 0)
        as = optarg;  // O_AS
    if (c < 0)
        return args.rc;
    if (argc - optind != 2)
        return cli_usage_error (cmd, "give a task number and the text");
    if (cmd_task_parse_id (cmd, argv[optind], &comment.task_id))
        return CLI_EXIT_USAGE;
    comment.text = argv[optind + 1];
    const char *sender = s_person (as);
    if (!sender)
        return cli_usage_error (cmd, "who are you? give --as LOGIN (or set CRM_USER)");
    Crm__V1__TaskReply *result = NULL;
    int rc = s_change (cmd, "CommentTask", &comment.base, sender, args.timeout_ms, &result);
    if (result)
        printf ("comment added to task %" PRIu64 "\n", result->task_id);
    crm__v1__task_reply__free_unpacked (result, NULL);
    return rc;
}

int
cmd_task_run (int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run) (int, char **);
    } subcommands[] = {
        {"create", s_create},
        {"complete", s_complete},
        {"comment", s_comment},
        {"show", cmd_tasks_show_run},
        {"attachment", cmd_tasks_attachment_run},
    };
    if (argc < 2)
        return cli_usage_error ("task", "which task command? (create, complete, comment, show, attachment)");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp (argv[1], subcommands[i].name) == 0)
            return subcommands[i].run (argc - 1, argv + 1);
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "help") == 0)
        return cmd_task_help ();
    return cli_usage_error (
        "task", "unknown task command '%s' (known: create, complete, comment, show, attachment)", argv[1]);
}

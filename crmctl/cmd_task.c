/*  cmd_task: see cmd_task.h. */
#include "cmd_task.h"
#include "cli.h"
#include "clock.h"
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
#define BACKOFF_MAX_MS 1000
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

static int
s_print_error (const char *cmd, const Crm__V1__Reply *reply)
{
    char text[2048];
    cli_error (cmd, "%s", client_error_text (reply->error, text, sizeof text));
    return CLI_EXIT_FAIL;
}

//  Sends a command that changes something, as sender, until a reply that
//  is not UNAVAILABLE (a refusal that rolled everything back, so sending
//  again is safe) or timeout_ms. No reply at all is not retried: the
//  command may have been applied. Returns 0 with *reply_p, or -1 after
//  printing why.
static int
s_change (const char *cmd, const char *type, const ProtobufCMessage *payload, const char *sender,
          long timeout_ms, Crm__V1__Reply **reply_p)
{
    *reply_p = NULL;
    int max = CONFIG_MAX_MESSAGE_BYTES_DEFAULT;
    if (config_int ("CRM_MAX_MESSAGE_BYTES", CONFIG_MAX_MESSAGE_BYTES_DEFAULT, 1024, 64 << 20, &max))
        max = CONFIG_MAX_MESSAGE_BYTES_DEFAULT;
    size_t size = protobuf_c_message_get_packed_size (payload) + COMMAND_OVERHEAD;
    if (size > (size_t) max) {
        //  Far over the limit ZeroMQ would drop the connection: say it here.
        cli_error (cmd, "TOO_LARGE: the command is about %zu bytes; CRM_MAX_MESSAGE_BYTES is %d", size, max);
        return -1;
    }
    client_t *client = cli_client (cmd, "tasks");
    if (!client)
        return -1;
    if (client_set_sender (client, sender)) {
        cli_error (cmd, "the login '%.40s...' is too long", sender);
        client_destroy (&client);
        return -1;
    }
    int64_t deadline = clock_mono_ms () + timeout_ms;
    int backoff = 100;
    while (true) {
        int64_t left = deadline - clock_mono_ms ();
        Crm__V1__Reply *reply = NULL;
        if (left <= 0 || client_call (client, type, payload, (int) left, &reply)) {
            crm__v1__reply__free_unpacked (*reply_p, NULL);
            *reply_p = NULL;
            cli_error (cmd,
                       "no answer from tasks at %s within %ld ms; is crm-tasks running? (check with "
                       "'crmctl tasks' whether it was done)",
                       client_endpoint (client), timeout_ms);
            break;
        }
        crm__v1__reply__free_unpacked (*reply_p, NULL);
        *reply_p = reply;
        if (!reply->error || !reply->error->retryable || clock_mono_ms () + backoff >= deadline)
            break;
        zclock_sleep (backoff);
        backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
    }
    client_destroy (&client);
    return *reply_p ? 0 : -1;
}

//  The TaskReply in reply, or NULL after printing the refusal.
static Crm__V1__TaskReply *
s_task_reply (const char *cmd, const Crm__V1__Reply *reply)
{
    if (reply->error) {
        s_print_error (cmd, reply);
        return NULL;
    }
    Crm__V1__TaskReply *result = NULL;
    if (strcmp (reply->type, "TaskReply") == 0)
        result = crm__v1__task_reply__unpack (NULL, reply->payload.len, reply->payload.data);
    if (!result)
        cli_error (cmd, "unexpected reply from tasks (type '%s')", reply->type);
    return result;
}

int
cmd_task_help (void)
{
    fputs ("usage:\n", stdout);
    fputs (cmd_task_usage, stdout);
    return CLI_EXIT_OK;
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

int
cmd_task_parse_timeout (const char *cmd, const char *text, long *timeout_ms)
{
    if (cli_parse_long (text, 1, 24L * 3600 * 1000, timeout_ms))
        return cli_usage_error (cmd, "--timeout wants milliseconds, got '%s'", text);
    return 0;
}

//  --------------------------------------------------------------------------
//  task create

static int
s_create (int argc, char **argv)
{
    const char *cmd = "task create";
    enum {
        O_TITLE = 256,
        O_RESPONSIBLE,
        O_COEXECUTOR,
        O_DEADLINE,
        O_RECORD,
        O_TAG,
        O_DESCRIPTION,
        O_AS,
        O_TIMEOUT
    };
    static const struct option options[] = {
        {"title", required_argument, NULL, O_TITLE},
        {"responsible", required_argument, NULL, O_RESPONSIBLE},
        {"coexecutor", required_argument, NULL, O_COEXECUTOR},
        {"deadline", required_argument, NULL, O_DEADLINE},
        {"record", required_argument, NULL, O_RECORD},
        {"tag", required_argument, NULL, O_TAG},
        {"description", required_argument, NULL, O_DESCRIPTION},
        {"as", required_argument, NULL, O_AS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__CreateTask create = CRM__V1__CREATE_TASK__INIT;
    char *coexecutors[COEXECUTORS_MAX];
    const char *as = NULL;
    long timeout_ms = CHANGE_TIMEOUT_MS;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
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
            case O_AS: as = optarg; break;
            case O_TIMEOUT:
                if (cmd_task_parse_timeout (cmd, optarg, &timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    create.coexecutors = coexecutors;
    if (optind < argc)
        return cli_usage_error (cmd, "unexpected argument '%s'", argv[optind]);
    if (!*create.title)
        return cli_usage_error (cmd, "--title is required");
    if (!*create.responsible)
        return cli_usage_error (cmd, "--responsible is required");
    const char *sender = s_person (as);
    if (!sender)
        return cli_usage_error (cmd, "who are you? give --as LOGIN (or set CRM_USER)");

    Crm__V1__Reply *reply = NULL;
    if (s_change (cmd, "CreateTask", &create.base, sender, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__TaskReply *result = s_task_reply (cmd, reply);
    if (result)
        printf ("task %" PRIu64 " created\n", result->task_id);
    int rc = result ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    crm__v1__task_reply__free_unpacked (result, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
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
    enum { O_ATTACH = 256, O_COMMENT, O_AS, O_TIMEOUT };
    static const struct option options[] = {
        {"attach", required_argument, NULL, O_ATTACH},
        {"comment", required_argument, NULL, O_COMMENT},
        {"as", required_argument, NULL, O_AS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__CompleteTask complete = CRM__V1__COMPLETE_TASK__INIT;
    const char *files[ATTACHMENTS_MAX];
    size_t n_files = 0;
    const char *as = NULL;
    long timeout_ms = CHANGE_TIMEOUT_MS;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_ATTACH:
                if (n_files == ATTACHMENTS_MAX)
                    return cli_usage_error (cmd, "at most %d --attach", ATTACHMENTS_MAX);
                files[n_files++] = optarg;
                break;
            case O_COMMENT: complete.comment = optarg; break;
            case O_AS: as = optarg; break;
            case O_TIMEOUT:
                if (cmd_task_parse_timeout (cmd, optarg, &timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error (cmd, "give one task number");
    if (cmd_task_parse_id (cmd, argv[optind], &complete.task_id))
        return CLI_EXIT_USAGE;
    const char *sender = s_person (as);
    if (!sender)
        return cli_usage_error (cmd, "who are you? give --as LOGIN (or set CRM_USER)");

    int rc = CLI_EXIT_FAIL, max = CONFIG_MAX_MESSAGE_BYTES_DEFAULT;
    if (config_int ("CRM_MAX_MESSAGE_BYTES", CONFIG_MAX_MESSAGE_BYTES_DEFAULT, 1024, 64 << 20, &max))
        max = CONFIG_MAX_MESSAGE_BYTES_DEFAULT;
    Crm__V1__AttachmentData items[ATTACHMENTS_MAX];
    Crm__V1__AttachmentData *ptrs[ATTACHMENTS_MAX];
    Crm__V1__Reply *reply = NULL;
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
    if (s_change (cmd, "CompleteTask", &complete.base, sender, timeout_ms, &reply))
        goto cleanup;
    if ((result = s_task_reply (cmd, reply))) {
        printf ("task %" PRIu64 " completed", result->task_id);
        if (n_files)
            printf (" (%zu attachment%s)", n_files, n_files == 1 ? "" : "s");
        fputc ('\n', stdout);
        rc = CLI_EXIT_OK;
    }

cleanup:
    for (size_t i = 0; i < complete.n_attachments; i++)
        free (items[i].data.data);
    crm__v1__task_reply__free_unpacked (result, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

//  --------------------------------------------------------------------------
//  task comment

static int
s_comment (int argc, char **argv)
{
    const char *cmd = "task comment";
    enum { O_AS = 256, O_TIMEOUT };
    static const struct option options[] = {
        {"as", required_argument, NULL, O_AS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__CommentTask comment = CRM__V1__COMMENT_TASK__INIT;
    const char *as = NULL;
    long timeout_ms = CHANGE_TIMEOUT_MS;
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_AS: as = optarg; break;
            case O_TIMEOUT:
                if (cmd_task_parse_timeout (cmd, optarg, &timeout_ms))
                    return CLI_EXIT_USAGE;
                break;
            case 'h': return cmd_task_help ();
            default: return cli_option_error (cmd, c, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error (cmd, "give a task number and the text");
    if (cmd_task_parse_id (cmd, argv[optind], &comment.task_id))
        return CLI_EXIT_USAGE;
    comment.text = argv[optind + 1];
    const char *sender = s_person (as);
    if (!sender)
        return cli_usage_error (cmd, "who are you? give --as LOGIN (or set CRM_USER)");
    Crm__V1__Reply *reply = NULL;
    if (s_change (cmd, "CommentTask", &comment.base, sender, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__TaskReply *result = s_task_reply (cmd, reply);
    if (result)
        printf ("comment added to task %" PRIu64 "\n", result->task_id);
    int rc = result ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    crm__v1__task_reply__free_unpacked (result, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
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

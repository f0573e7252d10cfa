/*  cmd_deadletters: see cmd_deadletters.h. */
#include "cmd_deadletters.h"
#include "cli.h"
#include "log.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CMD "deadletters"

const char cmd_deadletters_usage[] =
    "  crmctl deadletters [--service S] [--all] [--limit N] [--json] [--timeout MS]\n"
    "      Lists open dead letters, newest first (at most N per service, 1 to 1000,\n"
    "      default 50), of service S or of all five: service, id, when received\n"
    "      (CRM_TIME_ZONE), source, sequence, type, retries, whether it can be\n"
    "      retried, and why it was refused; then how many are open per service.\n"
    "      --all adds those a retry applied. --json prints one object per dead\n"
    "      letter per line. Exits 1 if a service did not answer (--timeout ms,\n"
    "      default 3000).\n"
    "  crmctl deadletters retry ID --service S [--timeout MS]\n"
    "      Has service S apply its dead letter ID again, through the handler that\n"
    "      refused it, after the cause is fixed. Applied: the dead letter is\n"
    "      closed. Refused again: it stays open with the new reason (exit 1).\n";

static const char *s_services[] = {"leads", "deals", "tasks", "notifier", "timer"};

static void
s_print_json (const char *service, const Crm__V1__DeadLetter *d)
{
    char source[256], type[256], reason[2048];
    log_json_escape (source, sizeof source, d->source);
    log_json_escape (type, sizeof type, d->type);
    log_json_escape (reason, sizeof reason, d->reason);
    printf ("{\"service\":\"%s\",\"id\":%" PRIu64 ",\"received_ms\":%" PRId64
            ",\"source\":\"%s\",\"sequence\":%" PRIu64
            ",\"type\":\"%s\",\"reason\":\"%s\",\"payload_bytes\":%" PRIu32
            ",\"retryable\":%s,\"retries\":%" PRIu32 ",\"retried_ms\":%" PRId64 "}\n",
            service, d->id, d->received_ms, source, d->sequence, type, reason, d->payload_bytes,
            d->retryable ? "true" : "false", d->retries, d->retried_ms);
}

static void
s_print_row (const char *service, const Crm__V1__DeadLetter *d)
{
    char when[64], seq[24] = "-";
    if (d->sequence)
        snprintf (seq, sizeof seq, "%" PRIu64, d->sequence);
    printf ("%-9s %6" PRIu64 "  %-22s ", service, d->id, cli_format_time (d->received_ms, when, sizeof when));
    cli_put_line (d->source);
    printf ("  %s  ", seq);
    cli_put_line (d->type);
    printf ("  retries=%" PRIu32 "%s%s  ", d->retries, d->retryable ? "" : " not-retryable",
            d->retried_ms ? " applied" : "");
    cli_put_line (d->reason);  // on one line: reasons may quote what a sender wrote
    fputc ('\n', stdout);
}

//  Lists one service's dead letters. Returns 0, or -1 (said on stderr).
static int
s_list (const char *service, const Crm__V1__ListDeadLetters *request, long timeout_ms, bool json,
        uint64_t *open)
{
    Crm__V1__Reply *reply = NULL;
    if (cli_query (CMD, service, "ListDeadLetters", &request->base, NULL, timeout_ms, &reply))
        return -1;
    char text[2048];
    Crm__V1__DeadLetterList *list = NULL;
    if (reply->error)
        cli_error (CMD, "%s: %s", service, client_error_text (reply->error, text, sizeof text));
    else if (strcmp (reply->type, "DeadLetterList") != 0
             || !(list = crm__v1__dead_letter_list__unpack (NULL, reply->payload.len, reply->payload.data)))
        cli_error (CMD, "%s: unexpected reply (type '%s')", service, reply->type);
    crm__v1__reply__free_unpacked (reply, NULL);
    if (!list)
        return -1;
    for (size_t i = 0; i < list->n_dead_letters; i++)
        if (json)
            s_print_json (service, list->dead_letters[i]);
        else
            s_print_row (service, list->dead_letters[i]);
    *open = list->open;
    crm__v1__dead_letter_list__free_unpacked (list, NULL);
    return 0;
}

static int
s_retry (const char *service, uint64_t id, long timeout_ms)
{
    Crm__V1__RetryDeadLetter request = CRM__V1__RETRY_DEAD_LETTER__INIT;
    request.id = id;
    Crm__V1__Reply *reply = NULL;
    if (cli_query (CMD " retry", service, "RetryDeadLetter", &request.base, NULL, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    char text[2048];
    int rc = CLI_EXIT_FAIL;
    Crm__V1__RetryDeadLetterReply *result = NULL;
    if (reply->error)
        cli_error (CMD " retry", "%s: dead letter %" PRIu64 ": %s", service, id,
                   client_error_text (reply->error, text, sizeof text));
    else if (strcmp (reply->type, "RetryDeadLetterReply") != 0
             || !(result = crm__v1__retry_dead_letter_reply__unpack (NULL, reply->payload.len,
                                                                     reply->payload.data)))
        cli_error (CMD " retry", "%s: unexpected reply (type '%s')", service, reply->type);
    else {
        printf ("%s: dead letter %" PRIu64 " applied (retry %" PRIu32 ")\n", service, result->id,
                result->retries);
        rc = CLI_EXIT_OK;
    }
    crm__v1__retry_dead_letter_reply__free_unpacked (result, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

static bool
s_known (const char *service)
{
    for (size_t i = 0; i < sizeof s_services / sizeof s_services[0]; i++)
        if (strcmp (s_services[i], service) == 0)
            return true;
    return false;
}

int
cmd_deadletters_run (int argc, char **argv)
{
    enum { O_SERVICE = 256, O_ALL };
    static const struct option options[] = {{"service", required_argument, NULL, O_SERVICE},
                                            {"all", no_argument, NULL, O_ALL},
                                            CLI_OPTION_LIMIT,
                                            CLI_OPTION_JSON,
                                            CLI_OPTIONS_COMMON};
    cli_args_t args = {.command = CMD, .usage = cmd_deadletters_usage, .limit_max = 1000, .timeout_ms = 3000};
    Crm__V1__ListDeadLetters request = CRM__V1__LIST_DEAD_LETTERS__INIT;
    const char *service = NULL;
    int c;
    while ((c = cli_option (&args, argc, argv, options)) > 0) {
        if (c == O_SERVICE)
            service = optarg;
        else
            request.include_retried = true;
    }
    if (c < 0)
        return args.rc;
    bool json = args.json;
    long timeout_ms = args.timeout_ms;
    if (service && !s_known (service))
        return cli_usage_error (CMD, "--service: '%s' is not leads, deals, tasks, notifier or timer",
                                service);
    if (optind < argc && strcmp (argv[optind], "retry") == 0) {
        long id;
        if (optind + 1 >= argc || cli_parse_long (argv[optind + 1], 1, INT64_MAX, &id))
            return cli_usage_error (CMD " retry",
                                    "wants the dead letter's id (crmctl deadletters lists them)");
        if (optind + 2 < argc)
            return cli_no_more (CMD " retry", argc, argv, optind + 2);
        if (!service)
            return cli_usage_error (CMD " retry", "--service S is required: ids are per service");
        return s_retry (service, (uint64_t) id, timeout_ms);
    }
    if (optind < argc)
        return cli_no_more (CMD, argc, argv, optind);
    request.limit = (uint32_t) args.limit;

    int rc = CLI_EXIT_OK;
    if (!json)
        printf ("%-9s %6s  %-22s %s\n", "SERVICE", "ID", "RECEIVED", "SOURCE  SEQ  TYPE  RETRIES  REASON");
    char totals[256] = "";
    for (size_t i = 0; i < sizeof s_services / sizeof s_services[0]; i++) {
        if (service && strcmp (service, s_services[i]) != 0)
            continue;
        uint64_t open = 0;
        size_t used = strlen (totals);
        if (s_list (s_services[i], &request, timeout_ms, json, &open)) {
            rc = CLI_EXIT_FAIL;
            snprintf (totals + used, sizeof totals - used, "%s%s ?", used ? ", " : "", s_services[i]);
        }
        else
            snprintf (totals + used, sizeof totals - used, "%s%s %" PRIu64, used ? ", " : "", s_services[i],
                      open);
    }
    if (!json)
        printf ("open: %s\n", totals);
    return rc;
}

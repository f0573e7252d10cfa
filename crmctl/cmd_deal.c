/*  cmd_deal: see cmd_deal.h. */
#include "cmd_deal.h"
#include "cli.h"
#include "config.h"
#include "crm/v1/deals.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 10000
#define MAX_SET 64

const char cmd_deal_usage[] =
    "  crmctl deal move ID STAGE [--set FIELD=VALUE ...] [--version N] [--as LOGIN]\n"
    "                   [--timeout MS]\n"
    "      Moves deal ID to STAGE and sets the fields in one step (STAGE = its\n"
    "      current stage only sets them), as 'lead move' does for leads: values\n"
    "      as people type them, --version refused if the deal changed since,\n"
    "      --as who moves it (default $CRM_USER, else $USER). Prints the deal's\n"
    "      stage (after any automatic moves) and version.\n"
    "  crmctl deal lose ID --reason TEXT [--version N] [--as LOGIN] [--timeout MS]\n"
    "      Moves an open deal to the lost stage, with the reason.\n"
    "  crmctl deal show ID [--json] [--timeout MS]\n"
    "      The deal: stage, client, fields as people read them, its tasks, the\n"
    "      timers it waits for, and its history: when (in the company's zone),\n"
    "      who, which rule, what.\n"
    "  crmctl deals [--stage S] [--user U] [--limit N] [--json] [--timeout MS]\n"
    "      Deals, newest first (at most N, 1 to 1000, default 100), of stage S and\n"
    "      responsible U if given.\n";

static int
s_help (void)
{
    fputs ("usage:\n", stdout);
    fputs (cmd_deal_usage, stdout);
    return CLI_EXIT_OK;
}

//  ---------------------------------------------------------------- move, lose

//  Sends a MoveDeal or LoseDeal and prints "deal ID: STAGE, version N".
static int
s_change (const char *command, const char *type, const ProtobufCMessage *payload, const char *sender,
          long timeout_ms)
{
    Crm__V1__Reply *reply = NULL;
    if (cli_send_change (command, "deals", type, payload, sender, timeout_ms, "crmctl deal show", &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__MoveDealReply *result = NULL;
    int rc = cli_unpack_reply (command, "deals", reply, "MoveDealReply",
                               &crm__v1__move_deal_reply__descriptor, (ProtobufCMessage **) &result);
    if (result)
        printf ("deal %" PRIu64 ": %s, version %u\n", result->deal_id, result->stage, result->version);
    crm__v1__move_deal_reply__free_unpacked (result, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

static int
s_move_run (int argc, char **argv, bool lose)
{
    const char *command = lose ? "deal lose" : "deal move";
    enum { O_SET = 256, O_REASON, O_VERSION, O_AS, O_TIMEOUT };
    static const struct option options[] = {
        {"set", required_argument, NULL, O_SET},
        {"reason", required_argument, NULL, O_REASON},
        {"version", required_argument, NULL, O_VERSION},
        {"as", required_argument, NULL, O_AS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__FieldValue values[MAX_SET];
    Crm__V1__FieldValue *set[MAX_SET];
    char *names[MAX_SET] = {0};
    Crm__V1__MoveDeal move = CRM__V1__MOVE_DEAL__INIT;
    Crm__V1__LoseDeal loss = CRM__V1__LOSE_DEAL__INIT;
    long version = 0, timeout_ms = TIMEOUT_MS;
    const char *sender = config_str ("CRM_USER", NULL), *reason = NULL;
    int c, rc = CLI_EXIT_OK;
    optind = 0;
    while (rc == CLI_EXIT_OK && (c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_SET: {
                char *eq = strchr (optarg, '=');
                if (lose)
                    rc = cli_usage_error (command, "--set is for 'deal move' (the reason: --reason)");
                else if (!eq || eq == optarg)
                    rc = cli_usage_error (command, "--set wants FIELD=VALUE, got '%s'", optarg);
                else if (move.n_set == MAX_SET)
                    rc = cli_usage_error (command, "at most %d --set", MAX_SET);
                else if (!(names[move.n_set] = strndup (optarg, (size_t) (eq - optarg))))
                    rc = CLI_EXIT_FAIL;
                else {
                    crm__v1__field_value__init (&values[move.n_set]);
                    values[move.n_set].name = names[move.n_set];
                    values[move.n_set].value = eq + 1;
                    set[move.n_set] = &values[move.n_set];
                    move.n_set++;
                }
                break;
            }
            case O_REASON:
                if (!lose)
                    rc = cli_usage_error (command, "--reason is for 'deal lose'");
                reason = optarg;
                break;
            case O_VERSION:
                if (cli_parse_long (optarg, 1, UINT32_MAX, &version))
                    rc = cli_usage_error (command, "--version wants a version number, got '%s'", optarg);
                break;
            case O_AS: sender = optarg; break;
            case O_TIMEOUT: rc = cli_parse_timeout (command, optarg, &timeout_ms); break;
            case 'h': rc = s_help (); goto cleanup;
            default: rc = cli_option_error (command, c, argv);
        }
    }
    if (rc == CLI_EXIT_OK && argc - optind != (lose ? 1 : 2))
        rc = cli_usage_error (command, lose ? "wants one ID" : "wants ID and STAGE");
    if (rc == CLI_EXIT_OK && lose && (!reason || !*reason))
        rc = cli_usage_error (command, "wants --reason TEXT: why the deal failed");
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_id (command, "deal", argv[optind], lose ? &loss.deal_id : &move.deal_id);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    if (lose) {
        loss.reason = (char *) reason;
        loss.version = (uint32_t) version;
        rc = s_change (command, "LoseDeal", &loss.base, sender, timeout_ms);
    }
    else {
        move.stage = argv[optind + 1];
        move.set = set;
        move.version = (uint32_t) version;
        rc = s_change (command, "MoveDeal", &move.base, sender, timeout_ms);
    }

cleanup:
    for (size_t i = 0; i < MAX_SET; i++)
        free (names[i]);
    return rc;
}

//  ---------------------------------------------------------------- show

static void
s_show_text (const Crm__V1__DealDetail *d)
{
    const Crm__V1__LeadReceived *c = d->client;
    const char *zone = d->time_zone;
    char when[64];
    printf ("deal %" PRIu64 "  %s (%s)  version %u\n", d->deal_id, d->stage_name, d->stage, d->version);
    const char *labels[] = {"title", "responsible", "name", "phone", "email", "company", "comment"};
    const char *texts[] = {d->title,          d->responsible,      c ? c->name : "",   c ? c->phone : "",
                           c ? c->email : "", c ? c->company : "", c ? c->comment : ""};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        if (!*texts[i])
            continue;
        printf ("  %-12s ", labels[i]);
        cli_put_line (texts[i]);
        fputc ('\n', stdout);
    }
    printf ("  %-12s %s  (lead %" PRIu64 ", contact %" PRIu64 ", company %" PRIu64 ")\n", "pipeline",
            d->pipeline, d->lead_id, d->contact_id, d->company_id);
    printf ("  %-12s %s\n", "created", cli_zone_time (d->created_ms, zone, when, sizeof when));
    printf ("fields:\n");
    cli_fields_text (d->fields, d->n_fields);
    printf ("tasks:\n");
    if (d->n_tasks == 0)
        printf ("  -\n");
    for (size_t i = 0; i < d->n_tasks; i++) {
        const Crm__V1__DealTask *t = d->tasks[i];
        if (t->task_id)
            printf ("  %-6" PRIu64 " ", t->task_id);
        else
            printf ("  %-6s ", "(new)");
        printf ("%-9s %-16s ", t->completed ? "completed" : "open", *t->tag ? t->tag : "-");
        cli_put_line (t->title);
        printf (" → %s", t->responsible);
        if (*t->rule)
            printf ("  (rule %s)", t->rule);
        fputc ('\n', stdout);
    }
    printf ("timers pending:\n");
    if (d->n_timers == 0)
        printf ("  -\n");
    for (size_t i = 0; i < d->n_timers; i++)
        printf ("  %s  %s  (%s)\n", cli_zone_time (d->timers[i]->due_ms, zone, when, sizeof when),
                d->timers[i]->timer, d->timers[i]->key);
    cli_history_text (d->history, d->n_history, zone);
}

//  Prints ", \"key\": " and the JSON string of each of n keys and texts.
static void
s_json_pairs (const char *const *keys, const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf (", \"%s\": ", keys[i]);
        cli_json_string (texts[i]);
    }
}

static void
s_show_json (const Crm__V1__DealDetail *d)
{
    const Crm__V1__LeadReceived *c = d->client;
    const char *zone = d->time_zone;
    char when[64];
    printf ("{\"deal_id\": %" PRIu64 ", \"version\": %u, \"lead_id\": %" PRIu64 ", \"contact_id\": %" PRIu64
            ", \"company_id\": %" PRIu64 ", \"created_ms\": %" PRId64 ", \"updated_ms\": %" PRId64,
            d->deal_id, d->version, d->lead_id, d->contact_id, d->company_id, d->created_ms, d->updated_ms);
    const char *keys[] = {"pipeline", "stage", "stage_name", "responsible", "title",  "time_zone",
                          "name",     "phone", "email",      "company",     "comment"};
    const char *texts[] = {
        d->pipeline,      d->stage,          d->stage_name,     d->responsible,      d->title,           zone,
        c ? c->name : "", c ? c->phone : "", c ? c->email : "", c ? c->company : "", c ? c->comment : ""};
    s_json_pairs (keys, texts, sizeof keys / sizeof keys[0]);
    printf (", \"fields\": ");
    cli_fields_json (d->fields, d->n_fields);
    printf (", \"tasks\": [");
    for (size_t i = 0; i < d->n_tasks; i++) {
        const Crm__V1__DealTask *t = d->tasks[i];
        printf ("%s{\"task_id\": %" PRIu64 ", \"completed\": %s", i ? ", " : "", t->task_id,
                t->completed ? "true" : "false");
        const char *tk[] = {"request_key", "tag", "title", "responsible", "rule"};
        const char *tv[] = {t->request_key, t->tag, t->title, t->responsible, t->rule};
        s_json_pairs (tk, tv, 5);
        printf ("}");
    }
    printf ("], \"timers\": [");
    for (size_t i = 0; i < d->n_timers; i++) {
        const Crm__V1__DealTimer *t = d->timers[i];
        printf ("%s{\"due_ms\": %" PRId64, i ? ", " : "", t->due_ms);
        const char *tk[] = {"key", "timer", "due"};
        const char *tv[] = {t->key, t->timer, cli_zone_time (t->due_ms, zone, when, sizeof when)};
        s_json_pairs (tk, tv, 3);
        printf ("}");
    }
    printf ("], \"history\": ");
    cli_history_json (d->history, d->n_history, zone);
    printf ("}\n");
}

static int
s_show_run (int argc, char **argv)
{
    const char *command = "deal show";
    enum { O_JSON = 256, O_TIMEOUT };
    static const struct option options[] = {
        {"json", no_argument, NULL, O_JSON},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__ShowDeal show = CRM__V1__SHOW_DEAL__INIT;
    long timeout_ms = TIMEOUT_MS;
    bool json = false;
    int c, rc;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_JSON: json = true; break;
            case O_TIMEOUT:
                if ((rc = cli_parse_timeout (command, optarg, &timeout_ms)))
                    return rc;
                break;
            case 'h': return s_help ();
            default: return cli_option_error (command, c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error (command, "wants one ID");
    if ((rc = cli_parse_id (command, "deal", argv[optind], &show.deal_id)))
        return rc;
    Crm__V1__Reply *reply = NULL;
    if (cli_query (command, "deals", "ShowDeal", &show.base, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__DealDetail *detail = NULL;
    rc = cli_unpack_reply (command, "deals", reply, "DealDetail", &crm__v1__deal_detail__descriptor,
                           (ProtobufCMessage **) &detail);
    if (detail && json)
        s_show_json (detail);
    else if (detail)
        s_show_text (detail);
    crm__v1__deal_detail__free_unpacked (detail, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

int
cmd_deal_run (int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error ("deal", "which deal command? (move, lose, show)");
    if (strcmp (argv[1], "move") == 0 || strcmp (argv[1], "lose") == 0)
        return s_move_run (argc - 1, argv + 1, strcmp (argv[1], "lose") == 0);
    if (strcmp (argv[1], "show") == 0)
        return s_show_run (argc - 1, argv + 1);
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "help") == 0)
        return s_help ();
    return cli_usage_error ("deal", "unknown deal command '%s' (known: move, lose, show)", argv[1]);
}

//  ---------------------------------------------------------------- list

static void
s_print_deals (const Crm__V1__DealList *list, bool json)
{
    char when[64];
    if (json)
        printf ("[");
    else if (list->n_deals == 0)
        printf ("no deals\n");
    for (size_t i = 0; i < list->n_deals; i++) {
        const Crm__V1__DealSummary *d = list->deals[i];
        if (json) {
            printf ("%s{\"deal_id\": %" PRIu64 ", \"lead_id\": %" PRIu64
                    ", \"version\": %u, \"updated_ms\": %" PRId64,
                    i ? ", " : "", d->deal_id, d->lead_id, d->version, d->updated_ms);
            const char *keys[] = {"stage", "responsible", "title"};
            const char *texts[] = {d->stage, d->responsible, d->title};
            s_json_pairs (keys, texts, 3);
            printf ("}");
            continue;
        }
        printf ("%" PRIu64 "  %s  %s  v%u  %s  ", d->deal_id, d->stage, d->responsible, d->version,
                cli_format_time (d->updated_ms, when, sizeof when));
        cli_put_line (d->title);
        printf ("  lead %" PRIu64 "\n", d->lead_id);
    }
    if (json)
        printf ("]\n");
}

int
cmd_deal_list_run (int argc, char **argv)
{
    const char *command = "deals";
    enum { O_STAGE = 256, O_USER, O_LIMIT, O_JSON, O_TIMEOUT };
    static const struct option options[] = {
        {"stage", required_argument, NULL, O_STAGE},
        {"user", required_argument, NULL, O_USER},
        {"limit", required_argument, NULL, O_LIMIT},
        {"json", no_argument, NULL, O_JSON},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__ListDeals list = CRM__V1__LIST_DEALS__INIT;
    long limit = 0, timeout_ms = TIMEOUT_MS;
    bool json = false;
    int c, rc;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_STAGE: list.stage = optarg; break;
            case O_USER: list.user = optarg; break;
            case O_LIMIT:
                if (cli_parse_long (optarg, 1, 1000, &limit))
                    return cli_usage_error (command, "--limit wants a number from 1 to 1000, got '%s'",
                                            optarg);
                break;
            case O_JSON: json = true; break;
            case O_TIMEOUT:
                if ((rc = cli_parse_timeout (command, optarg, &timeout_ms)))
                    return rc;
                break;
            case 'h': return s_help ();
            default: return cli_option_error (command, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error (command, "unexpected argument '%s'", argv[optind]);
    list.limit = (uint32_t) limit;
    Crm__V1__Reply *reply = NULL;
    if (cli_query (command, "deals", "ListDeals", &list.base, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__DealList *answer = NULL;
    rc = cli_unpack_reply (command, "deals", reply, "DealList", &crm__v1__deal_list__descriptor,
                           (ProtobufCMessage **) &answer);
    if (answer)
        s_print_deals (answer, json);
    crm__v1__deal_list__free_unpacked (answer, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

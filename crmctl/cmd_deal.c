/*  cmd_deal: see cmd_deal.h. */
#include "cmd_deal.h"
#include "cli.h"
#include "record_args.h"
#include "crm/v1/deals.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 10000

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

//  ---------------------------------------------------------------- move, lose

static int
s_move_run (int argc, char **argv, bool lose)
{
    const char *command = lose ? "deal lose" : "deal move";
    record_args_t args;
    if (record_args_move (&args, lose ? RECORD_ARGS_DEAL_LOSE : RECORD_ARGS_DEAL, command, cmd_deal_usage,
                          TIMEOUT_MS, argc, argv)) {
        record_args_release (&args);
        return args.rc;
    }
    Crm__V1__MoveDeal move = CRM__V1__MOVE_DEAL__INIT;
    Crm__V1__LoseDeal loss = CRM__V1__LOSE_DEAL__INIT;
    move.deal_id = loss.deal_id = args.id;
    move.version = loss.version = args.version;
    move.stage = (char *) args.stage;
    move.set = args.set;
    move.n_set = args.n_set;
    loss.reason = (char *) args.reason;
    Crm__V1__MoveDealReply *result = NULL;
    int rc = cli_change (command, "deals", lose ? "LoseDeal" : "MoveDeal", lose ? &loss.base : &move.base,
                         args.sender, args.timeout_ms, "look with 'crmctl deal show'",
                         &crm__v1__move_deal_reply__descriptor, (ProtobufCMessage **) &result);
    if (result)
        printf ("deal %" PRIu64 ": %s, version %u\n", result->deal_id, result->stage, result->version);
    crm__v1__move_deal_reply__free_unpacked (result, NULL);
    record_args_release (&args);
    return rc;
}

//  ---------------------------------------------------------------- show

static void
s_show_text (const ProtobufCMessage *answer)
{
    const Crm__V1__DealDetail *d = (const Crm__V1__DealDetail *) answer;
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

static void
s_show_json (const ProtobufCMessage *answer)
{
    const Crm__V1__DealDetail *d = (const Crm__V1__DealDetail *) answer;
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
    cli_json_pairs (keys, texts, sizeof keys / sizeof keys[0]);
    printf (", \"fields\": ");
    cli_fields_json (d->fields, d->n_fields);
    printf (", \"tasks\": [");
    for (size_t i = 0; i < d->n_tasks; i++) {
        const Crm__V1__DealTask *t = d->tasks[i];
        printf ("%s{\"task_id\": %" PRIu64 ", \"completed\": %s", i ? ", " : "", t->task_id,
                t->completed ? "true" : "false");
        const char *tk[] = {"request_key", "tag", "title", "responsible", "rule"};
        const char *tv[] = {t->request_key, t->tag, t->title, t->responsible, t->rule};
        cli_json_pairs (tk, tv, 5);
        printf ("}");
    }
    printf ("], \"timers\": [");
    for (size_t i = 0; i < d->n_timers; i++) {
        const Crm__V1__DealTimer *t = d->timers[i];
        printf ("%s{\"due_ms\": %" PRId64, i ? ", " : "", t->due_ms);
        const char *tk[] = {"key", "timer", "due"};
        const char *tv[] = {t->key, t->timer, cli_zone_time (t->due_ms, zone, when, sizeof when)};
        cli_json_pairs (tk, tv, 3);
        printf ("}");
    }
    printf ("], \"history\": ");
    cli_history_json (d->history, d->n_history, zone);
    printf ("}\n");
}

static int
s_show_run (int argc, char **argv)
{
    static const cli_show_t show = {"deal show", cmd_deal_usage, "deal",
                                    "deals",     "ShowDeal",     &crm__v1__deal_detail__descriptor,
                                    s_show_text, s_show_json,    TIMEOUT_MS};
    Crm__V1__ShowDeal request = CRM__V1__SHOW_DEAL__INIT;
    return cli_show_record (&show, &request.base, &request.deal_id, argc, argv);
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
        return cli_help (cmd_deal_usage);
    return cli_usage_error ("deal", "unknown deal command '%s' (known: move, lose, show)", argv[1]);
}

//  ---------------------------------------------------------------- list

static void
s_print_deals (const Crm__V1__DealList *list, bool json)
{
    char when[64];
    cli_list_begin (json, list->n_deals, "no deals");
    for (size_t i = 0; i < list->n_deals; i++) {
        const Crm__V1__DealSummary *d = list->deals[i];
        if (json) {
            printf ("%s{\"deal_id\": %" PRIu64 ", \"lead_id\": %" PRIu64
                    ", \"version\": %u, \"updated_ms\": %" PRId64,
                    i ? ", " : "", d->deal_id, d->lead_id, d->version, d->updated_ms);
            const char *keys[] = {"stage", "responsible", "title"};
            const char *texts[] = {d->stage, d->responsible, d->title};
            cli_json_pairs (keys, texts, 3);
            printf ("}");
            continue;
        }
        printf ("%" PRIu64 "  %s  %s  v%u  %s  ", d->deal_id, d->stage, d->responsible, d->version,
                cli_format_time (d->updated_ms, when, sizeof when));
        cli_put_line (d->title);
        printf ("  lead %" PRIu64 "\n", d->lead_id);
    }
    cli_list_end (json);
}

int
cmd_deal_list_run (int argc, char **argv)
{
    cli_args_t args = {
        .command = "deals", .usage = cmd_deal_usage, .limit_max = 1000, .timeout_ms = TIMEOUT_MS};
    Crm__V1__ListDeals list = CRM__V1__LIST_DEALS__INIT;
    if (record_args_list (&args, true, argc, argv, &list.stage, &list.user))
        return args.rc;
    list.limit = (uint32_t) args.limit;
    Crm__V1__DealList *answer = NULL;
    int rc = cli_fetch (args.command, "deals", "ListDeals", &list.base, args.timeout_ms,
                        &crm__v1__deal_list__descriptor, (ProtobufCMessage **) &answer);
    if (answer)
        s_print_deals (answer, args.json);
    crm__v1__deal_list__free_unpacked (answer, NULL);
    return rc;
}

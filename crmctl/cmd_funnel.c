/*  cmd_funnel: see cmd_funnel.h. */
#include "cmd_funnel.h"
#include "cli.h"
#include "config.h"
#include "crm/v1/leads.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 10000
#define MAX_SET 64

const char cmd_funnel_usage[] =
    "  crmctl lead move ID STAGE [--set FIELD=VALUE ...] [--version N] [--as LOGIN]\n"
    "                   [--timeout MS]\n"
    "      Moves lead ID to STAGE and sets the fields in one step (STAGE = its\n"
    "      current stage only sets them). Values as people type them: a date and\n"
    "      time in the company's zone ('2026-12-01 15:30', '01.12.2026 15:30') or\n"
    "      ISO 8601 with an offset, an enum value's id, yes/no. --version: refused\n"
    "      if the lead changed since that version. --as: who moves it (default\n"
    "      $CRM_USER, else $USER). Prints the lead's stage (after any automatic\n"
    "      moves) and version. Sent again only while the service answers\n"
    "      UNAVAILABLE (for up to --timeout ms, default 10000); with no answer\n"
    "      at all, look with 'lead show' before sending it again.\n"
    "  crmctl lead show ID [--json] [--timeout MS]\n"
    "      The lead's data, stage, fields as people read them, and its history:\n"
    "      when (in the company's zone), who, which rule, what.\n"
    "  crmctl leads [--stage S] [--user U] [--limit N] [--json] [--timeout MS]\n"
    "      Leads, newest first (at most N, 1 to 1000, default 100), of stage S and\n"
    "      responsible U if given.\n"
    "  crmctl contacts [--limit N] [--json] [--timeout MS]\n"
    "  crmctl companies [--limit N] [--json] [--timeout MS]\n"
    "      The contacts and companies made from junked and converted leads;\n"
    "      'no deal' marks «Не было сделки».\n";

//  ---------------------------------------------------------------- output

static int
s_help (void)
{
    fputs ("usage:\n", stdout);
    fputs (cmd_funnel_usage, stdout);
    return CLI_EXIT_OK;
}

//  ---------------------------------------------------------------- lead move

int
cmd_funnel_move_run (int argc, char **argv)
{
    const char *command = "lead move";
    enum { O_SET = 256, O_VERSION, O_AS, O_TIMEOUT };
    static const struct option options[] = {
        {"set", required_argument, NULL, O_SET}, {"version", required_argument, NULL, O_VERSION},
        {"as", required_argument, NULL, O_AS},   {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    Crm__V1__FieldValue values[MAX_SET];
    Crm__V1__FieldValue *set[MAX_SET];
    char *names[MAX_SET] = {0};
    Crm__V1__MoveLead move = CRM__V1__MOVE_LEAD__INIT;
    long version = 0, timeout_ms = TIMEOUT_MS;
    const char *sender = config_str ("CRM_USER", NULL);
    int c, rc = CLI_EXIT_OK;
    optind = 0;
    while (rc == CLI_EXIT_OK && (c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_SET: {
                char *eq = strchr (optarg, '=');
                if (!eq || eq == optarg)
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
    if (rc == CLI_EXIT_OK && argc - optind != 2)
        rc = cli_usage_error (command, "wants ID and STAGE");
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_id (command, "lead", argv[optind], &move.lead_id);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    move.stage = argv[optind + 1];
    move.set = set;
    move.version = (uint32_t) version;

    Crm__V1__Reply *reply = NULL;
    rc = CLI_EXIT_FAIL;
    if (cli_send_change (command, "leads", "MoveLead", &move.base, sender, timeout_ms, "crmctl lead show",
                         &reply)
        == 0) {
        Crm__V1__MoveLeadReply *result = NULL;
        rc = cli_unpack_reply (command, "leads", reply, "MoveLeadReply",
                               &crm__v1__move_lead_reply__descriptor, (ProtobufCMessage **) &result);
        if (result)
            printf ("lead %" PRIu64 ": %s, version %u\n", result->lead_id, result->stage, result->version);
        crm__v1__move_lead_reply__free_unpacked (result, NULL);
        crm__v1__reply__free_unpacked (reply, NULL);
    }

cleanup:
    for (size_t i = 0; i < MAX_SET; i++)
        free (names[i]);
    return rc;
}

//  ---------------------------------------------------------------- lead show

static void
s_show_text (const Crm__V1__LeadDetail *d)
{
    const Crm__V1__LeadReceived *l = d->lead;
    char when[64];
    printf ("lead %" PRIu64 "  %s (%s)  version %u\n", d->lead_id, d->stage_name, d->stage, d->version);
    const char *labels[] = {"source", "name", "phone", "email", "company", "comment", "responsible"};
    const char *texts[] = {l ? l->source_system : "", l ? l->name : "",    l ? l->phone : "",
                           l ? l->email : "",         l ? l->company : "", l ? l->comment : "",
                           l ? l->responsible : ""};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        if (!*texts[i])
            continue;
        printf ("  %-12s ", labels[i]);
        cli_put_line (texts[i]);
        if (i == 0)
            printf (" / %s", l->external_id);
        fputc ('\n', stdout);
    }
    printf ("  %-12s %s\n", "created", cli_zone_time (d->created_ms, d->time_zone, when, sizeof when));
    if (d->contact_id)
        printf ("  %-12s %" PRIu64 "\n", "contact", d->contact_id);
    if (d->company_id)
        printf ("  %-12s %" PRIu64 "\n", "company id", d->company_id);
    printf ("fields:\n");
    cli_fields_text (d->fields, d->n_fields);
    cli_history_text (d->history, d->n_history, d->time_zone);
}

static void
s_show_json (const Crm__V1__LeadDetail *d)
{
    const Crm__V1__LeadReceived *l = d->lead;
    printf ("{\"lead_id\": %" PRIu64 ", \"stage\": ", d->lead_id);
    cli_json_string (d->stage);
    printf (", \"stage_name\": ");
    cli_json_string (d->stage_name);
    printf (", \"version\": %u, \"created_ms\": %" PRId64 ", \"updated_ms\": %" PRId64, d->version,
            d->created_ms, d->updated_ms);
    printf (", \"contact_id\": %" PRIu64 ", \"company_id\": %" PRIu64 ", \"time_zone\": ", d->contact_id,
            d->company_id);
    cli_json_string (d->time_zone);
    const char *keys[] = {"source_system", "external_id", "name",    "phone",
                          "email",         "company",     "comment", "responsible"};
    const char *texts[] = {l ? l->source_system : "", l ? l->external_id : "", l ? l->name : "",
                           l ? l->phone : "",         l ? l->email : "",       l ? l->company : "",
                           l ? l->comment : "",       l ? l->responsible : ""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        printf (", \"%s\": ", keys[i]);
        cli_json_string (texts[i]);
    }
    printf (", \"fields\": ");
    cli_fields_json (d->fields, d->n_fields);
    printf (", \"history\": ");
    cli_history_json (d->history, d->n_history, d->time_zone);
    printf ("}\n");
}

int
cmd_funnel_show_run (int argc, char **argv)
{
    const char *command = "lead show";
    enum { O_JSON = 256, O_TIMEOUT };
    static const struct option options[] = {
        {"json", no_argument, NULL, O_JSON},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Crm__V1__ShowLead show = CRM__V1__SHOW_LEAD__INIT;
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
    if ((rc = cli_parse_id (command, "lead", argv[optind], &show.lead_id)))
        return rc;
    Crm__V1__Reply *reply = NULL;
    if (cli_query (command, "leads", "ShowLead", &show.base, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    Crm__V1__LeadDetail *detail = NULL;
    rc = cli_unpack_reply (command, "leads", reply, "LeadDetail", &crm__v1__lead_detail__descriptor,
                           (ProtobufCMessage **) &detail);
    if (detail && json)
        s_show_json (detail);
    else if (detail)
        s_show_text (detail);
    crm__v1__lead_detail__free_unpacked (detail, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

//  ---------------------------------------------------------------- lists

static void
s_print_leads (const Crm__V1__LeadList *list, bool json)
{
    char when[64];
    if (json)
        printf ("[");
    else if (list->n_leads == 0)
        printf ("no leads\n");
    for (size_t i = 0; i < list->n_leads; i++) {
        const Crm__V1__LeadSummary *l = list->leads[i];
        if (json) {
            printf ("%s{\"lead_id\": %" PRIu64 ", \"stage\": ", i ? ", " : "", l->lead_id);
            cli_json_string (l->stage);
            printf (", \"responsible\": ");
            cli_json_string (l->responsible);
            printf (", \"name\": ");
            cli_json_string (l->name);
            printf (", \"company\": ");
            cli_json_string (l->company);
            printf (", \"version\": %u, \"updated_ms\": %" PRId64 "}", l->version, l->updated_ms);
            continue;
        }
        printf ("%" PRIu64 "  %s  %s  v%u  %s  ", l->lead_id, l->stage, l->responsible, l->version,
                cli_format_time (l->updated_ms, when, sizeof when));
        cli_put_line (l->name);
        fputs ("  ", stdout);
        cli_put_line (l->company);
        fputc ('\n', stdout);
    }
    if (json)
        printf ("]\n");
}

static void
s_print_contacts (const Crm__V1__ContactList *list, bool json)
{
    if (json)
        printf ("[");
    else if (list->n_contacts == 0)
        printf ("no contacts\n");
    for (size_t i = 0; i < list->n_contacts; i++) {
        const Crm__V1__Contact *c = list->contacts[i];
        if (json) {
            printf ("%s{\"id\": %" PRIu64 ", \"name\": ", i ? ", " : "", c->id);
            cli_json_string (c->name);
            printf (", \"phone\": ");
            cli_json_string (c->phone);
            printf (", \"email\": ");
            cli_json_string (c->email);
            printf (", \"company_id\": %" PRIu64 ", \"company\": ", c->company_id);
            cli_json_string (c->company);
            printf (", \"no_deal\": %s, \"lead_id\": %" PRIu64 ", \"created_ms\": %" PRId64 "}",
                    c->no_deal ? "true" : "false", c->lead_id, c->created_ms);
            continue;
        }
        printf ("%" PRIu64 "  ", c->id);
        const char *texts[] = {c->name, c->phone, c->email, c->company};
        for (size_t k = 0; k < 4; k++) {
            cli_put_line (texts[k]);
            fputs ("  ", stdout);
        }
        printf ("lead %" PRIu64 "%s\n", c->lead_id, c->no_deal ? "  no deal (Не было сделки)" : "");
    }
    if (json)
        printf ("]\n");
}

static void
s_print_companies (const Crm__V1__CompanyList *list, bool json)
{
    if (json)
        printf ("[");
    else if (list->n_companies == 0)
        printf ("no companies\n");
    for (size_t i = 0; i < list->n_companies; i++) {
        const Crm__V1__Company *c = list->companies[i];
        if (json) {
            printf ("%s{\"id\": %" PRIu64 ", \"name\": ", i ? ", " : "", c->id);
            cli_json_string (c->name);
            printf (", \"no_deal\": %s, \"lead_id\": %" PRIu64 ", \"created_ms\": %" PRId64 "}",
                    c->no_deal ? "true" : "false", c->lead_id, c->created_ms);
            continue;
        }
        printf ("%" PRIu64 "  ", c->id);
        cli_put_line (c->name);
        printf ("  lead %" PRIu64 "%s\n", c->lead_id, c->no_deal ? "  no deal (Не было сделки)" : "");
    }
    if (json)
        printf ("]\n");
}

int
cmd_funnel_list_run (int argc, char **argv)
{
    const char *command = argv[0];
    bool leads = strcmp (command, "leads") == 0, contacts = strcmp (command, "contacts") == 0;
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
    Crm__V1__ListLeads list_leads = CRM__V1__LIST_LEADS__INIT;
    Crm__V1__ListContacts list_contacts = CRM__V1__LIST_CONTACTS__INIT;
    Crm__V1__ListCompanies list_companies = CRM__V1__LIST_COMPANIES__INIT;
    long limit = 0, timeout_ms = TIMEOUT_MS;
    bool json = false;
    int c, rc;
    optind = 0;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case O_STAGE:
            case O_USER:
                if (!leads)
                    return cli_usage_error (command, "--stage and --user are for 'crmctl leads'");
                if (c == O_STAGE)
                    list_leads.stage = optarg;
                else
                    list_leads.user = optarg;
                break;
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
    list_leads.limit = list_contacts.limit = list_companies.limit = (uint32_t) limit;
    const char *type = leads ? "ListLeads" : contacts ? "ListContacts" : "ListCompanies";
    const ProtobufCMessage *request = leads    ? &list_leads.base
                                    : contacts ? &list_contacts.base
                                               : &list_companies.base;
    const char *answer_type = leads ? "LeadList" : contacts ? "ContactList" : "CompanyList";
    const ProtobufCMessageDescriptor *descriptor = leads    ? &crm__v1__lead_list__descriptor
                                                 : contacts ? &crm__v1__contact_list__descriptor
                                                            : &crm__v1__company_list__descriptor;
    Crm__V1__Reply *reply = NULL;
    if (cli_query (command, "leads", type, request, timeout_ms, &reply))
        return CLI_EXIT_FAIL;
    ProtobufCMessage *answer = NULL;
    rc = cli_unpack_reply (command, "leads", reply, answer_type, descriptor, &answer);
    if (answer && leads)
        s_print_leads ((Crm__V1__LeadList *) answer, json);
    else if (answer && contacts)
        s_print_contacts ((Crm__V1__ContactList *) answer, json);
    else if (answer)
        s_print_companies ((Crm__V1__CompanyList *) answer, json);
    if (answer)
        protobuf_c_message_free_unpacked (answer, NULL);
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

/*  cmd_funnel: see cmd_funnel.h. */
#include "cmd_funnel.h"
#include "cli.h"
#include "record_args.h"
#include "crm/v1/leads.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 10000

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

//  ---------------------------------------------------------------- lead move

int
cmd_funnel_move_run (int argc, char **argv)
{
    const char *command = "lead move";
    record_args_t args;
    if (record_args_move (&args, RECORD_ARGS_LEAD, command, cmd_funnel_usage, TIMEOUT_MS, argc, argv)) {
        record_args_release (&args);
        return args.rc;
    }
    Crm__V1__MoveLead move = CRM__V1__MOVE_LEAD__INIT;
    move.lead_id = args.id;
    move.stage = (char *) args.stage;
    move.set = args.set;
    move.n_set = args.n_set;
    move.version = args.version;
    Crm__V1__MoveLeadReply *result = NULL;
    int rc = cli_change (command, "leads", "MoveLead", &move.base, args.sender, args.timeout_ms,
                         "look with 'crmctl lead show'", &crm__v1__move_lead_reply__descriptor,
                         (ProtobufCMessage **) &result);
    if (result)
        printf ("lead %" PRIu64 ": %s, version %u\n", result->lead_id, result->stage, result->version);
    crm__v1__move_lead_reply__free_unpacked (result, NULL);
    record_args_release (&args);
    return rc;
}

//  ---------------------------------------------------------------- lead show

static void
s_show_text (const ProtobufCMessage *answer)
{
    const Crm__V1__LeadDetail *d = (const Crm__V1__LeadDetail *) answer;
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
s_show_json (const ProtobufCMessage *answer)
{
    const Crm__V1__LeadDetail *d = (const Crm__V1__LeadDetail *) answer;
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
    cli_json_pairs (keys, texts, sizeof keys / sizeof keys[0]);
    printf (", \"fields\": ");
    cli_fields_json (d->fields, d->n_fields);
    printf (", \"history\": ");
    cli_history_json (d->history, d->n_history, d->time_zone);
    printf ("}\n");
}

int
cmd_funnel_show_run (int argc, char **argv)
{
    static const cli_show_t show = {"lead show", cmd_funnel_usage, "lead",
                                    "leads",     "ShowLead",       &crm__v1__lead_detail__descriptor,
                                    s_show_text, s_show_json,      TIMEOUT_MS};
    Crm__V1__ShowLead request = CRM__V1__SHOW_LEAD__INIT;
    return cli_show_record (&show, &request.base, &request.lead_id, argc, argv);
}

//  ---------------------------------------------------------------- lists

static void
s_print_leads (const Crm__V1__LeadList *list, bool json)
{
    char when[64];
    cli_list_begin (json, list->n_leads, "no leads");
    for (size_t i = 0; i < list->n_leads; i++) {
        const Crm__V1__LeadSummary *l = list->leads[i];
        if (json) {
            printf ("%s{\"lead_id\": %" PRIu64, i ? ", " : "", l->lead_id);
            const char *keys[] = {"stage", "responsible", "name", "company"};
            const char *texts[] = {l->stage, l->responsible, l->name, l->company};
            cli_json_pairs (keys, texts, 4);
            printf (", \"version\": %u, \"updated_ms\": %" PRId64 "}", l->version, l->updated_ms);
            continue;
        }
        printf ("%" PRIu64 "  %s  %s  v%u  %s  ", l->lead_id, l->stage, l->responsible, l->version,
                cli_format_time (l->updated_ms, when, sizeof when));
        cli_put_row ((const char *[]){l->name, l->company}, 2);
    }
    cli_list_end (json);
}

static void
s_print_contacts (const Crm__V1__ContactList *list, bool json)
{
    cli_list_begin (json, list->n_contacts, "no contacts");
    for (size_t i = 0; i < list->n_contacts; i++) {
        const Crm__V1__Contact *c = list->contacts[i];
        if (json) {
            printf ("%s{\"id\": %" PRIu64, i ? ", " : "", c->id);
            const char *keys[] = {"name", "phone", "email"};
            const char *texts[] = {c->name, c->phone, c->email};
            cli_json_pairs (keys, texts, 3);
            printf (", \"company_id\": %" PRIu64, c->company_id);
            cli_json_pairs ((const char *[]){"company"}, (const char *[]){c->company}, 1);
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
    cli_list_end (json);
}

static void
s_print_companies (const Crm__V1__CompanyList *list, bool json)
{
    cli_list_begin (json, list->n_companies, "no companies");
    for (size_t i = 0; i < list->n_companies; i++) {
        const Crm__V1__Company *c = list->companies[i];
        if (json) {
            printf ("%s{\"id\": %" PRIu64, i ? ", " : "", c->id);
            cli_json_pairs ((const char *[]){"name"}, (const char *[]){c->name}, 1);
            printf (", \"no_deal\": %s, \"lead_id\": %" PRIu64 ", \"created_ms\": %" PRId64 "}",
                    c->no_deal ? "true" : "false", c->lead_id, c->created_ms);
            continue;
        }
        printf ("%" PRIu64 "  ", c->id);
        cli_put_line (c->name);
        printf ("  lead %" PRIu64 "%s\n", c->lead_id, c->no_deal ? "  no deal (Не было сделки)" : "");
    }
    cli_list_end (json);
}

int
cmd_funnel_list_run (int argc, char **argv)
{
    const char *command = argv[0];
    bool leads = strcmp (command, "leads") == 0, contacts = strcmp (command, "contacts") == 0;
    cli_args_t args = {
        .command = command, .usage = cmd_funnel_usage, .limit_max = 1000, .timeout_ms = TIMEOUT_MS};
    Crm__V1__ListLeads list_leads = CRM__V1__LIST_LEADS__INIT;
    Crm__V1__ListContacts list_contacts = CRM__V1__LIST_CONTACTS__INIT;
    Crm__V1__ListCompanies list_companies = CRM__V1__LIST_COMPANIES__INIT;
    if (record_args_list (&args, leads, argc, argv, &list_leads.stage, &list_leads.user))
        return args.rc;
    list_leads.limit = list_contacts.limit = list_companies.limit = (uint32_t) args.limit;
    const char *type = leads ? "ListLeads" : contacts ? "ListContacts" : "ListCompanies";
    const ProtobufCMessage *request = leads    ? &list_leads.base
                                    : contacts ? &list_contacts.base
                                               : &list_companies.base;
    const ProtobufCMessageDescriptor *descriptor = leads    ? &crm__v1__lead_list__descriptor
                                                 : contacts ? &crm__v1__contact_list__descriptor
                                                            : &crm__v1__company_list__descriptor;
    ProtobufCMessage *answer = NULL;
    int rc = cli_fetch (command, "leads", type, request, args.timeout_ms, descriptor, &answer);
    if (answer && leads)
        s_print_leads ((Crm__V1__LeadList *) answer, args.json);
    else if (answer && contacts)
        s_print_contacts ((Crm__V1__ContactList *) answer, args.json);
    else if (answer)
        s_print_companies ((Crm__V1__CompanyList *) answer, args.json);
    if (answer)
        protobuf_c_message_free_unpacked (answer, NULL);
    return rc;
}

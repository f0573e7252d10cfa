/*  cmd_lead: see cmd_lead.h. */
#include "cmd_lead.h"
#include "cli.h"
#include "cmd_funnel.h"
#include "clock.h"
#include "crm/v1/leads.pb-c.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "lead submit"
#define ATTEMPT_MS 2000  // an attempt with no reply by then is sent again
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define MAX_IDS 32  // ids of earlier attempts whose replies still count

const char cmd_lead_usage[] =
    "  crmctl lead submit --source-system S --external-id X [--name N] [--phone P]\n"
    "                     [--email E] [--company C] [--comment T] [--responsible R]\n"
    "                     [--timeout MS]\n"
    "      Submits a lead to the leads service and prints its id. (source system,\n"
    "      external id) identify the lead: submitting it again names the same lead.\n"
    "      --responsible: a staff login; without it the lead is assigned as the\n"
    "      staff directory says (round robin among the managers, or one login).\n"
    "      One of --name, --phone, --email is required. Retries while the service\n"
    "      is unavailable, for up to --timeout ms in all (default 10000).\n";

//  The command ids of this submission's attempts. A late reply to an
//  earlier attempt is as good as one to the latest, and better: only the
//  first attempt to arrive can say "created".
typedef struct {
    char ids[MAX_IDS][40];
    int count;
} attempts_t;

static const char *
s_attempts_new_id (attempts_t *self)
{
    zuuid_t *uuid = zuuid_new ();
    if (!uuid)
        return NULL;
    char *slot = self->ids[self->count++ % MAX_IDS];
    snprintf (slot, sizeof self->ids[0], "%s", zuuid_str_canonical (uuid));
    zuuid_destroy (&uuid);
    return slot;
}

static bool
s_attempts_has (const attempts_t *self, const char *id)
{
    int n = self->count < MAX_IDS ? self->count : MAX_IDS;
    for (int i = 0; i < n; i++)
        if (strcmp (self->ids[i], id) == 0)
            return true;
    return false;
}

static const char *
s_attempts_latest (const attempts_t *self)
{
    return self->count ? self->ids[(self->count - 1) % MAX_IDS] : "";
}

static bool
s_retryable (const Crm__V1__Reply *reply)
{
    return reply->error && (reply->error->retryable || strcmp (reply->error->code, "UNAVAILABLE") == 0);
}

//  Submits lead until a final reply or timeout_ms have passed. Returns 0
//  with *reply_p owned by the caller: a success, an error that retrying
//  will not fix, or the last UNAVAILABLE if time ran out while the service
//  said so; -1 if nothing usable came back.
static int
s_submit (client_t *client, const Crm__V1__LeadReceived *lead, int timeout_ms, Crm__V1__Reply **reply_p)
{
    attempts_t attempts = {0};
    Crm__V1__Reply *unavailable = NULL;
    int64_t now = clock_mono_ms ();
    int64_t deadline = now + timeout_ms;
    int64_t next_send = now;
    int backoff = BACKOFF_MIN_MS;
    *reply_p = NULL;

    while ((now = clock_mono_ms ()) < deadline && !zsys_interrupted) {
        if (now >= next_send) {
            const char *id = s_attempts_new_id (&attempts);
            //  A refused send means the queue to an absent service is full:
            //  waiting out the backoff is all we can do.
            bool sent = id && client_send (client, "SubmitLead", &lead->base, id) == 0;
            next_send = now + (sent ? ATTEMPT_MS : backoff);
        }
        int64_t until = next_send < deadline ? next_send : deadline;
        Crm__V1__Reply *reply;
        if (client_recv (client, (int) (until > now ? until - now : 0), &reply))
            continue;  // no reply yet, or not a Reply: keep waiting
        if (!s_attempts_has (&attempts, reply->command_id)) {
            crm__v1__reply__free_unpacked (reply, NULL);
            continue;
        }
        if (!s_retryable (reply)) {
            crm__v1__reply__free_unpacked (unavailable, NULL);
            *reply_p = reply;
            return 0;
        }
        //  Only the latest attempt's refusal schedules the next one; an older
        //  one says nothing about the attempt still under way.
        if (strcmp (reply->command_id, s_attempts_latest (&attempts)) == 0) {
            next_send = clock_mono_ms () + backoff;
            backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
        }
        crm__v1__reply__free_unpacked (unavailable, NULL);
        unavailable = reply;
    }
    *reply_p = unavailable;
    return unavailable ? 0 : -1;
}

static int
s_print_result (const Crm__V1__Reply *reply, const Crm__V1__LeadReceived *lead, int timeout_ms)
{
    char text[2048];
    if (s_retryable (reply)) {
        cli_error (CMD, "still unavailable after %d ms: %s", timeout_ms,
                   client_error_text (reply->error, text, sizeof text));
        return CLI_EXIT_FAIL;
    }
    Crm__V1__SubmitLeadReply *result = NULL;
    int rc = cli_unpack_reply (CMD, "leads", reply, "SubmitLeadReply",
                               &crm__v1__submit_lead_reply__descriptor, (ProtobufCMessage **) &result);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (result->created)
        printf ("lead %llu created\n", (unsigned long long) result->lead_id);
    else
        printf ("lead %llu already known (%s/%s)\n", (unsigned long long) result->lead_id,
                lead->source_system, lead->external_id);
    crm__v1__submit_lead_reply__free_unpacked (result, NULL);
    return CLI_EXIT_OK;
}

static int
s_submit_run (int argc, char **argv)
{
    enum { O_SOURCE = 256, O_EXTERNAL, O_NAME, O_PHONE, O_EMAIL, O_COMPANY, O_COMMENT, O_RESPONSIBLE };
    static const struct option options[] = {{"source-system", required_argument, NULL, O_SOURCE},
                                            {"external-id", required_argument, NULL, O_EXTERNAL},
                                            {"name", required_argument, NULL, O_NAME},
                                            {"phone", required_argument, NULL, O_PHONE},
                                            {"email", required_argument, NULL, O_EMAIL},
                                            {"company", required_argument, NULL, O_COMPANY},
                                            {"comment", required_argument, NULL, O_COMMENT},
                                            {"responsible", required_argument, NULL, O_RESPONSIBLE},
                                            CLI_OPTIONS_COMMON};
    cli_args_t args = {.no_operands = true, .command = CMD, .usage = cmd_lead_usage, .timeout_ms = 10000};
    Crm__V1__LeadReceived lead = CRM__V1__LEAD_RECEIVED__INIT;
    int c, rc;
    while ((c = cli_option (&args, argc, argv, options)) > 0) {
        switch (c) {
            case O_SOURCE: lead.source_system = optarg; break;
            case O_EXTERNAL: lead.external_id = optarg; break;
            case O_NAME: lead.name = optarg; break;
            case O_PHONE: lead.phone = optarg; break;
            case O_EMAIL: lead.email = optarg; break;
            case O_COMPANY: lead.company = optarg; break;
            case O_COMMENT: lead.comment = optarg; break;
            default: lead.responsible = optarg; break;  // O_RESPONSIBLE
        }
    }
    if (c < 0)
        return args.rc;
    if (!*lead.source_system)
        return cli_usage_error (CMD, "--source-system is required");
    if (!*lead.external_id)
        return cli_usage_error (CMD, "--external-id is required");

    long timeout_ms = args.timeout_ms;
    rc = CLI_EXIT_FAIL;
    Crm__V1__Reply *reply = NULL;
    client_t *client = cli_client (CMD, "leads");
    if (!client)
        goto cleanup;
    if (s_submit (client, &lead, (int) timeout_ms, &reply)) {
        cli_no_answer (CMD, "leads", client, timeout_ms, NULL);
        goto cleanup;
    }
    rc = s_print_result (reply, &lead, (int) timeout_ms);

cleanup:
    crm__v1__reply__free_unpacked (reply, NULL);
    client_destroy (&client);
    return rc;
}

int
cmd_lead_run (int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error ("lead", "which lead command? (submit, move, show)");
    if (strcmp (argv[1], "submit") == 0)
        return s_submit_run (argc - 1, argv + 1);
    if (strcmp (argv[1], "move") == 0)
        return cmd_funnel_move_run (argc - 1, argv + 1);
    if (strcmp (argv[1], "show") == 0)
        return cmd_funnel_show_run (argc - 1, argv + 1);
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "help") == 0) {
        cli_help (cmd_lead_usage);
        fputs (cmd_funnel_usage, stdout);
        return CLI_EXIT_OK;
    }
    return cli_usage_error ("lead", "unknown lead command '%s' (known: submit, move, show)", argv[1]);
}

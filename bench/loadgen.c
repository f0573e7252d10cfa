/*  crm-loadgen: submits N leads to the leads service as fast as allowed and
    says how fast that was and how long each lead waited for its ack.

    One client keeps up to --window commands in flight. A lead answered
    UNAVAILABLE, or not answered within --timeout, is sent again with a new
    command id after a short backoff; SubmitLead is idempotent on
    (source_system, external_id), so that cannot make a second lead. Late
    replies to a lead's earlier commands still count: the first answer for
    a lead, whichever command it belongs to, is the one that says whether
    it was created.

    Prints one line of key=value on stdout; exits 0 if every lead was acked.
*/
#include "client.h"
#include "clock.h"
#include "config.h"
#include "crm/v1/leads.pb-c.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS 8  // a lead's latest command ids whose replies still count
#define MAX_RESPONSIBLES 64
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

typedef struct {
    const char *endpoint;
    const char *source_system;
    const char *prefix;
    const char *responsibles[MAX_RESPONSIBLES];
    int n_responsibles;
    long count, window, start, rate, timeout_ms;
} options_t;

//  One lead in flight. While outstanding, due is when its command times
//  out; otherwise it is backing off and due is when to send it again.
typedef struct {
    long lead;         // 0..count-1, or -1: free slot
    int64_t first_ms;  // first send of this lead
    int64_t due_ms;
    bool outstanding;
    int attempts;
    char ids[MAX_IDS][40];  // ring of command ids, all keys in the id map
    int n_ids;
} slot_t;

typedef struct {
    options_t opt;
    client_t *client;
    zhashx_t *by_id;        // command id -> its slot (slots never move)
    zhashx_t *errors_seen;  // error texts already printed
    slot_t *slots;
    long *free_slots;  // stack of free slot indexes
    long active;
    long submitted, acked, created, duplicates, failed, retries;
    uint32_t *latency_ms;  // one per acked lead
} loadgen_t;

static const char s_usage[] =
    "usage: crm-loadgen [--count N] [--window W] [--start I] [--prefix P]\n"
    "                   [--source-system S] [--responsible R | --responsibles A,B,C]\n"
    "                   [--rate R] [--timeout MS] [--endpoint E]\n"
    "Submits N leads (default 1000), external ids P-I.. (default lead-0..), to the\n"
    "leads service with W commands in flight (default 64), at R leads/s (default 0:\n"
    "as fast as it goes), responsible R or A, B, C in turn (staff logins; default\n"
    "none: the service assigns them). A command unanswered after MS ms (default 5000) or\n"
    "answered UNAVAILABLE is sent again. Prints one key=value line; exits 0 if\n"
    "every lead was acked, 1 if not, 2 on a bad option.\n";

static int s_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "crm-loadgen: ");
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\nRun 'crm-loadgen --help' for usage.\n");
    va_end (ap);
    return 2;
}

static int
s_parse_long (const char *text, long min, long max, long *out)
{
    char *end;
    long value = strtol (text, &end, 10);
    if (!*text || *end || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

//  Fills opt from argv. Returns 0, -1 for --help, or 2 (printed why).
static int
s_parse_options (options_t *opt, int argc, char **argv, char *endpoint, size_t endpoint_size, char *list,
                 size_t list_size)
{
    enum {
        O_COUNT = 256,
        O_WINDOW,
        O_START,
        O_PREFIX,
        O_SOURCE,
        O_RESPONSIBLE,
        O_RESPONSIBLES,
        O_RATE,
        O_TIMEOUT,
        O_ENDPOINT
    };
    static const struct option options[] = {
        {"count", required_argument, NULL, O_COUNT},
        {"window", required_argument, NULL, O_WINDOW},
        {"start", required_argument, NULL, O_START},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"source-system", required_argument, NULL, O_SOURCE},
        {"responsible", required_argument, NULL, O_RESPONSIBLE},
        {"responsibles", required_argument, NULL, O_RESPONSIBLES},
        {"rate", required_argument, NULL, O_RATE},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"endpoint", required_argument, NULL, O_ENDPOINT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (options_t){.source_system = "loadgen",
                       .prefix = "lead",
                       .responsibles = {""},
                       .n_responsibles = 1,
                       .count = 1000,
                       .window = 64,
                       .timeout_ms = 5000};
    const char *single = NULL, *many = NULL;
    int c;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        long *target = NULL, min = 0, max = 0;
        const char *name = NULL;
        switch (c) {
            case O_COUNT: target = &opt->count, name = "--count", min = 1, max = 10000000; break;
            case O_WINDOW: target = &opt->window, name = "--window", min = 1, max = 100000; break;
            case O_START: target = &opt->start, name = "--start", min = 0, max = 1000000000000L; break;
            case O_RATE: target = &opt->rate, name = "--rate", min = 0, max = 10000000; break;
            case O_TIMEOUT: target = &opt->timeout_ms, name = "--timeout", min = 1, max = 3600000; break;
            case O_PREFIX: opt->prefix = optarg; break;
            case O_SOURCE: opt->source_system = optarg; break;
            case O_ENDPOINT: opt->endpoint = optarg; break;
            case O_RESPONSIBLE: single = optarg; break;
            case O_RESPONSIBLES: many = optarg; break;
            case 'h': fputs (s_usage, stdout); return -1;
            case ':': return s_usage_error ("option '%s' needs a value", argv[optind - 1]);
            default: return s_usage_error ("unknown option '%s'", argv[optind - 1]);
        }
        if (target && s_parse_long (optarg, min, max, target))
            return s_usage_error ("%s wants a number from %ld to %ld, got '%s'", name, min, max, optarg);
    }
    if (optind < argc)
        return s_usage_error ("unexpected argument '%s'", argv[optind]);
    if (single && many)
        return s_usage_error ("give --responsible or --responsibles, not both");
    if (single)
        opt->responsibles[0] = single;
    if (many) {
        snprintf (list, list_size, "%s", many);
        opt->n_responsibles = 0;
        char *save = NULL;
        for (char *tok = strtok_r (list, ",", &save); tok; tok = strtok_r (NULL, ",", &save)) {
            if (opt->n_responsibles == MAX_RESPONSIBLES)
                return s_usage_error ("--responsibles: more than 64 names in '%s'", many);
            opt->responsibles[opt->n_responsibles++] = tok;
        }
        if (opt->n_responsibles == 0)
            return s_usage_error ("--responsibles wants names separated by commas, got '%s'", many);
    }
    if (!opt->endpoint) {
        if (config_peer_endpoint ("leads", CONFIG_CMD, endpoint, endpoint_size))
            return s_usage_error ("cannot find the leads service; check CRM_LEADS_PORT");
        opt->endpoint = endpoint;
    }
    return 0;
}

static int
s_backoff_ms (int attempts)
{
    int shift = attempts < 6 ? attempts : 6;
    int ms = BACKOFF_MIN_MS << shift;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

//  Sends (again) the lead in slot index: a fresh command id, the oldest
//  one forgotten if the ring is full.
static void
s_send (loadgen_t *self, long index, int64_t now)
{
    slot_t *slot = &self->slots[index];
    long i = self->opt.start + slot->lead;
    char external_id[160], name[64], phone[64];
    snprintf (external_id, sizeof external_id, "%s-%ld", self->opt.prefix, i);
    snprintf (name, sizeof name, "Клиент %ld", i);
    snprintf (phone, sizeof phone, "+7 900 000 %ld", i);
    Crm__V1__LeadReceived lead = CRM__V1__LEAD_RECEIVED__INIT;
    lead.source_system = (char *) self->opt.source_system;
    lead.external_id = external_id;
    lead.name = name;
    lead.phone = phone;
    lead.responsible = (char *) self->opt.responsibles[slot->lead % self->opt.n_responsibles];

    char *id = slot->ids[slot->n_ids % MAX_IDS];
    if (slot->n_ids >= MAX_IDS)
        zhashx_delete (self->by_id, id);
    zuuid_t *uuid = zuuid_new ();
    snprintf (id, sizeof slot->ids[0], "%s", uuid ? zuuid_str_canonical (uuid) : "");
    zuuid_destroy (&uuid);
    slot->n_ids++;
    zhashx_insert (self->by_id, id, slot);

    slot->attempts++;
    if (client_send (self->client, "SubmitLead", &lead.base, id) == 0) {
        slot->outstanding = true;
        slot->due_ms = now + self->opt.timeout_ms;
    }
    else {  // queue to an absent service is full: wait, then try again
        slot->outstanding = false;
        slot->due_ms = now + s_backoff_ms (slot->attempts);
    }
}

static void
s_start (loadgen_t *self, long lead, int64_t now)
{
    //  The caller starts a lead only while active < window: one is free.
    long index = self->free_slots[self->opt.window - 1 - self->active];
    slot_t *slot = &self->slots[index];
    memset (slot, 0, sizeof *slot);
    slot->lead = lead;
    slot->first_ms = now;
    self->active++;
    self->submitted++;
    s_send (self, index, now);
}

static void
s_finish (loadgen_t *self, slot_t *slot)
{
    int n = slot->n_ids < MAX_IDS ? slot->n_ids : MAX_IDS;
    for (int k = 0; k < n; k++)
        zhashx_delete (self->by_id, slot->ids[k]);
    slot->lead = -1;
    self->active--;
    self->free_slots[self->opt.window - 1 - self->active] = slot - self->slots;
}

static void
s_handle_reply (loadgen_t *self, Crm__V1__Reply *reply, int64_t now)
{
    slot_t *slot = (slot_t *) zhashx_lookup (self->by_id, reply->command_id);
    if (!slot)
        return;  // a lead already finished: its first answer counted
    const Crm__V1__Error *error = reply->error;
    if (error && (error->retryable || strcmp (error->code, "UNAVAILABLE") == 0)) {
        //  Only the latest command's refusal puts the lead in backoff; an
        //  older one says nothing about the command now under way.
        const char *latest = slot->ids[(slot->n_ids - 1) % MAX_IDS];
        if (slot->outstanding && strcmp (reply->command_id, latest) == 0) {
            slot->outstanding = false;
            slot->due_ms = now + s_backoff_ms (slot->attempts);
        }
        return;
    }
    Crm__V1__SubmitLeadReply *result = NULL;
    if (!error && strcmp (reply->type, "SubmitLeadReply") == 0)
        result = crm__v1__submit_lead_reply__unpack (NULL, reply->payload.len, reply->payload.data);
    if (!result) {
        char text[2048];
        if (error)
            client_error_text (error, text, sizeof text);
        else
            snprintf (text, sizeof text, "unexpected reply type '%s'", reply->type);
        //  The same error for thousands of leads is one fact, not thousands.
        if (zhashx_insert (self->errors_seen, text, (void *) 1) == 0)
            fprintf (stderr, "crm-loadgen: %s-%ld failed: %s\n", self->opt.prefix,
                     self->opt.start + slot->lead, text);
        self->failed++;
    }
    else {
        self->latency_ms[self->acked++] = (uint32_t) (now - slot->first_ms);
        if (result->created)
            self->created++;
        else
            self->duplicates++;
        crm__v1__submit_lead_reply__free_unpacked (result, NULL);
    }
    s_finish (self, slot);
}

static int
s_compare_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

//  Nearest-rank percentile of the sorted array (n > 0).
static uint32_t
s_percentile (const uint32_t *sorted, long n, int pct)
{
    long rank = (n * pct + 99) / 100;
    return sorted[rank > 0 ? rank - 1 : 0];
}

//  Runs until every lead is acked or failed, or SIGINT.
static void
s_run (loadgen_t *self)
{
    int64_t t0 = clock_mono_ms ();
    long next = 0;  // next lead to start
    bool malformed_told = false;
    while (self->acked + self->failed < self->opt.count && !zsys_interrupted) {
        int64_t now = clock_mono_ms ();
        int64_t wake = now + 100;  // at the latest, check SIGINT
        while (next < self->opt.count && self->active < self->opt.window) {
            if (self->opt.rate > 0) {
                int64_t at = t0 + (int64_t) next * 1000 / self->opt.rate;
                if (at > now) {
                    wake = at < wake ? at : wake;
                    break;
                }
            }
            s_start (self, next++, now);
        }
        for (long k = 0; k < self->opt.window; k++) {
            slot_t *slot = &self->slots[k];
            if (slot->lead < 0)
                continue;
            if (slot->due_ms <= now) {
                if (slot->outstanding) {  // timed out: back off first
                    slot->outstanding = false;
                    slot->due_ms = now + s_backoff_ms (slot->attempts);
                }
                else {
                    self->retries++;
                    s_send (self, k, now);
                }
            }
            wake = slot->due_ms < wake ? slot->due_ms : wake;
        }
        Crm__V1__Reply *reply;
        int rc = client_recv (self->client, (int) (wake > now ? wake - now : 0), &reply);
        while (rc != 1) {
            if (rc == 0) {
                s_handle_reply (self, reply, clock_mono_ms ());
                crm__v1__reply__free_unpacked (reply, NULL);
            }
            else if (!malformed_told) {
                fprintf (stderr, "crm-loadgen: dropped a message that is not a crm.v1.Reply\n");
                malformed_told = true;
            }
            rc = client_recv (self->client, 0, &reply);
        }
    }
    double seconds = (double) (clock_mono_ms () - t0) / 1000.0;
    uint32_t p50 = 0, p99 = 0, max = 0;
    if (self->acked > 0) {
        qsort (self->latency_ms, (size_t) self->acked, sizeof self->latency_ms[0], s_compare_u32);
        p50 = s_percentile (self->latency_ms, self->acked, 50);
        p99 = s_percentile (self->latency_ms, self->acked, 99);
        max = self->latency_ms[self->acked - 1];
    }
    printf ("submitted=%ld acked=%ld created=%ld duplicates=%ld failed=%ld retries=%ld "
            "seconds=%.3f leads_per_s=%.1f p50_ms=%u p99_ms=%u max_ms=%u\n",
            self->submitted, self->acked, self->created, self->duplicates, self->failed, self->retries,
            seconds, seconds > 0 ? (double) self->acked / seconds : 0.0, p50, p99, max);
}

int
main (int argc, char **argv)
{
    char endpoint[256], list[4096];
    loadgen_t self = {0};
    int rc = s_parse_options (&self.opt, argc, argv, endpoint, sizeof endpoint, list, sizeof list);
    if (rc)
        return rc < 0 ? 0 : rc;

    rc = 1;
    self.client = client_new (self.opt.endpoint);
    self.by_id = zhashx_new ();
    self.errors_seen = zhashx_new ();
    self.slots = calloc ((size_t) self.opt.window, sizeof self.slots[0]);
    self.free_slots = calloc ((size_t) self.opt.window, sizeof self.free_slots[0]);
    self.latency_ms = calloc ((size_t) self.opt.count, sizeof self.latency_ms[0]);
    if (!self.client) {
        fprintf (stderr, "crm-loadgen: cannot connect to %s\n", self.opt.endpoint);
        goto cleanup;
    }
    if (!self.by_id || !self.errors_seen || !self.slots || !self.free_slots || !self.latency_ms) {
        fprintf (stderr, "crm-loadgen: out of memory\n");
        goto cleanup;
    }
    for (long k = 0; k < self.opt.window; k++) {
        self.slots[k].lead = -1;
        self.free_slots[k] = k;
    }
    s_run (&self);
    rc = self.acked == self.opt.count ? 0 : 1;

cleanup:
    client_destroy (&self.client);
    zhashx_destroy (&self.by_id);
    zhashx_destroy (&self.errors_seen);
    free (self.slots);
    free (self.free_slots);
    free (self.latency_ms);
    return rc;
}

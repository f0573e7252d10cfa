/*  crm-benchjourneys: the whole sales process under load (issue 5,
    "Benchmark"). It plays the other system and the staff against the five
    running services (bench/bench-journeys.sh starts them):

      lead arrives (SubmitLead) -> the manager moves it to in_progress ->
      completes the proposal task when it appears -> answer_given (with
      next_call_at) -> converted -> the deal opens (DealOpened) -> invoice
      (service_type, designer_needed, supplier_prepaid) -> the accountant
      completes the invoice task (with the invoice attached): the deal moves
      itself to awaiting_payment -> paid -> supply (supplier_pickup,
      supply_at) -> production (production_end_at) -> production_done
      (delivery_mode) -> shipped; every task that appears (supplier invoice,
      pick-up, design, delivery, closing documents) is completed by its
      responsible as soon as it appears; the deal moves itself to
      closing_docs and, when the closing task is completed, to won.

    Journey i takes the branches given by its bits: delivery courier/self
    (bit 0), supplier prepaid or not (1), driver pick-up or supplier
    delivery (2), designer or not (3), service design/design_print (4). All
    N journeys start at once; commands go out over C connections per
    service (as many staff clients), at most W in flight on each
    (journeys_bus.h). A journey is done when its deal is won and each of
    its tasks (as many as its branches call for) has been completed.

    Figures (stdout): journeys per second (done / (first command -> last
    journey done)), events per second (events the services committed in
    that window, all five services, as delivered on their PUB sockets with
    gaps filled by replay), the automatic steps' latency (journeys_stats.h),
    the commands' round trips, and each service's peak memory (VmHWM of
    /proc/<pid>/status, pid from its Status). Journeys not done when the run
    gives up (--timeout, or --stall seconds without any event or reply) are
    counted by the stage they were at. Ends with exactly one line:
      journeys_per_s=... events_per_s=... step_p50_ms=... step_p99_ms=... max_rss_mib=...
    Exit status 0 when every journey was done, 1 if not, 2 on a bad option
    or when the services are not there.

    --leads-only: the journey ends when the lead is converted (for a system
    whose deals service does not yet run the pipeline).
*/
#include "benchutil.h"
#include "journeys_bus.h"
#include "journeys_flow.h"
#include "journeys_stats.h"
#include "clock.h"
#include "procstat.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long journeys, connections, window, timeout_s, stall_s, command_timeout_s, ready_s;
    bool leads_only;
} options_t;

typedef struct {
    options_t opt;
    jflow_t flow;
    jbus_t *bus;
    jstats_t *stats;
} bench_t;

static const char s_usage[] =
    "usage: crm-benchjourneys [--journeys N] [--connections C] [--window W] [--timeout S]\n"
    "                         [--stall S] [--command-timeout S] [--ready-timeout S] [--leads-only]\n"
    "Runs N (default 1000) sales journeys at once against the running services,\n"
    "lead arrival to deal won (--leads-only: to the lead converted), over C\n"
    "(default 8) connections per service with at most W (default 250) commands in\n"
    "flight on each, and prints journeys/s, events/s, the automatic steps'\n"
    "p50/p99 and the services' peak memory.\n"
    "Gives up after S s (--timeout, default 900) or S s without progress (--stall,\n"
    "default 120); a command unanswered for --command-timeout s (default 120)\n"
    "fails its journey. Endpoints from CRM_<NAME>_PORT / CRM_<NAME>_HOST. Ends with\n"
    "journeys_per_s=... events_per_s=... step_p50_ms=... step_p99_ms=... max_rss_mib=...\n";

//  ---------------------------------------------------------------- the run

static int
s_parse_options (options_t *opt, int argc, char **argv)
{
    *opt = (options_t){.journeys = 1000,
                       .connections = 8,
                       .window = 250,
                       .timeout_s = 900,
                       .stall_s = 120,
                       .command_timeout_s = 120,
                       .ready_s = 30};
    const benchutil_option_t options[] = {
        {"journeys", &opt->journeys, 1, 1000000},
        {"connections", &opt->connections, 1, JBUS_MAX_CONNECTIONS},
        {"window", &opt->window, 1, 100000},
        {"timeout", &opt->timeout_s, 1, 86400},
        {"stall", &opt->stall_s, 1, 86400},
        {"command-timeout", &opt->command_timeout_s, 1, 86400},
        {"ready-timeout", &opt->ready_s, 1, 3600},
        {"leads-only", .flag = &opt->leads_only},
        {NULL},
    };
    return benchutil_parse ("crm-benchjourneys", s_usage, options, argc, argv);
}

static const char *const s_services[] = {"leads", "deals", "tasks", "notifier", "timer"};
#define N_SERVICES (sizeof s_services / sizeof *s_services)

static void
s_progress (bench_t *self, int64_t t0_mono, FILE *out)
{
    long at[J_COUNT] = {0}, failed_at[J_COUNT] = {0};
    for (long i = 0; i < self->opt.journeys; i++)
        if (self->flow.j[i].failed_at)
            failed_at[self->flow.j[i].failed_at - 1]++;
        else
            at[self->flow.j[i].stage]++;
    fprintf (out,
             "crm-benchjourneys: %.1f s: %ld done, %ld failed, %" PRIu64 " events, %zu commands pending; at",
             (double) (clock_mono_ms () - t0_mono) / 1000.0, self->flow.done, self->flow.failed,
             jbus_events (self->bus), jbus_pending (self->bus));
    for (int s = 0; s < J_DONE; s++)
        if (at[s])
            fprintf (out, " %s=%ld", jflow_stage_short[s], at[s]);
    fprintf (out, "\n");
    if (out == stdout) {  // the final account: in words
        for (int s = 0; s < J_DONE; s++)
            if (at[s])
                fprintf (out, "  unfinished, waiting for %s: %ld\n", jflow_stage_text[s], at[s]);
        for (int s = 0; s < J_DONE; s++)
            if (failed_at[s])
                fprintf (out, "  failed (refused or unanswered) at %s: %ld\n", jflow_stage_text[s],
                         failed_at[s]);
    }
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static double
s_pct (const int64_t *v, long n, double p)
{
    if (n == 0)
        return 0;
    double exact = p * (double) n;
    long rank = (long) exact;
    if ((double) rank < exact)
        rank++;
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return (double) v[rank - 1];
}

//  Every service's Status: pid, peak memory, last sequence, dead letters.
//  Returns the largest peak in MiB.
static double
s_services_report (bench_t *self)
{
    double max_mib = 0;
    printf ("services (peak memory = VmHWM at the end):\n");
    for (size_t i = 0; i < N_SERVICES; i++) {
        Crm__V1__StatusReply *st = NULL;
        if (jbus_status (self->bus, s_services[i], 5000, &st)) {
            printf ("  %-9s did not answer Status\n", s_services[i]);
            continue;
        }
        long hwm = procstat_kb (st->pid, "VmHWM"), rss = procstat_kb (st->pid, "VmRSS");
        double mib = hwm / 1024.0;
        max_mib = mib > max_mib ? mib : max_mib;
        printf ("  %-9s pid %-7d peak %7.1f MiB (now %7.1f)  last_sequence %-8" PRIu64
                " dead_letters %" PRIu64 "\n",
                s_services[i], st->pid, mib, rss / 1024.0, st->last_sequence, st->dead_letters);
        crm__v1__status_reply__free_unpacked (st, NULL);
    }
    return max_mib;
}

static int
s_setup (bench_t *self)
{
    self->stats = jstats_new ();
    if (!self->stats || jflow_init (&self->flow, self->opt.journeys, self->opt.leads_only))
        return -1;
    self->bus = jbus_new (s_services, N_SERVICES, s_services, N_SERVICES, (int) self->opt.connections,
                          (int) self->opt.window, (int) self->opt.command_timeout_s * 1000, jflow_on_event,
                          jflow_on_reply, &self->flow);
    self->flow.bus = self->bus;
    self->flow.stats = self->stats;
    return self->bus ? 0 : -1;
}

static void
s_teardown (bench_t *self)
{
    jbus_destroy (&self->bus);
    jstats_destroy (&self->stats);
    jflow_free (&self->flow);
}

int
main (int argc, char **argv)
{
    bench_t self = {0};
    int rc = s_parse_options (&self.opt, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (s_setup (&self)) {
        fprintf (stderr, "crm-benchjourneys: setup failed\n");
        s_teardown (&self);
        return 2;
    }
    //  Ready: every service answers Status and we have its heartbeat.
    int64_t ready_deadline = clock_mono_ms () + self.opt.ready_s * 1000;
    for (size_t i = 0; i < N_SERVICES; i++) {
        Crm__V1__StatusReply *st = NULL;
        while (jbus_status (self.bus, s_services[i], 1000, &st) && clock_mono_ms () < ready_deadline
               && !zsys_interrupted)
            ;
        if (!st) {
            fprintf (stderr, "crm-benchjourneys: %s does not answer Status\n", s_services[i]);
            s_teardown (&self);
            return 2;
        }
        crm__v1__status_reply__free_unpacked (st, NULL);
    }
    if (jbus_ready (
            self.bus,
            (int) (ready_deadline - clock_mono_ms () > 3000 ? ready_deadline - clock_mono_ms () : 3000))) {
        s_teardown (&self);
        return 2;
    }

    long n = self.opt.journeys;
    fprintf (stderr,
             "crm-benchjourneys: %ld journeys%s, %ld connections per service, %ld in flight on each\n", n,
             self.opt.leads_only ? " (leads only: to the lead converted)" : "", self.opt.connections,
             self.opt.window);
    int64_t t0 = clock_now_ms (), t0_mono = clock_mono_ms ();
    self.flow.last_activity_ms = t0_mono;
    for (long i = 0; i < n; i++)
        jflow_submit (&self.flow, i);
    int64_t next_progress = t0_mono + 5000;
    const char *gave_up = NULL;
    while (self.flow.done + self.flow.failed < n && !zsys_interrupted) {
        jbus_poll (self.bus, 20);
        int64_t now = clock_mono_ms ();
        if (now >= next_progress) {
            s_progress (&self, t0_mono, stderr);
            next_progress = now + 5000;
        }
        if (now - t0_mono > self.opt.timeout_s * 1000)
            gave_up = "--timeout";
        else if (now - self.flow.last_activity_ms > self.opt.stall_s * 1000)
            gave_up = "--stall (no event and no reply)";
        if (gave_up)
            break;
    }
    int64_t t_end = self.flow.done == n ? self.flow.last_done_ms : clock_now_ms ();
    double wall_s = (double) (t_end - t0) / 1000.0;
    s_progress (&self, t0_mono, stderr);
    //  The effects still on their way (e.g. the last NotificationStored): until 1 s without an event.
    uint64_t seen = jbus_events (self.bus);
    for (int64_t quiet = clock_mono_ms () + 1000, limit = quiet + 10000;
         clock_mono_ms () < quiet && clock_mono_ms () < limit && !zsys_interrupted;) {
        jbus_poll (self.bus, 50);
        if (jbus_events (self.bus) != seen) {
            seen = jbus_events (self.bus);
            quiet = clock_mono_ms () + 1000;
        }
    }

    //  ---- Figures
    int64_t *durations = calloc ((size_t) n, sizeof *durations);
    long nd = 0;
    for (long i = 0; durations && i < n; i++)
        if (self.flow.j[i].stage == J_DONE)
            durations[nd++] = self.flow.j[i].end_ms - self.flow.j[i].start_ms;
    if (durations)
        qsort (durations, (size_t) nd, sizeof *durations, s_cmp_i64);
    double per_s = wall_s > 0 ? (double) self.flow.done / wall_s : 0;
    printf ("journeys=%ld mode=%s connections=%ld window=%ld done=%ld failed=%ld unfinished=%ld wall_s=%.1f "
            "journeys_per_s=%.1f"
            " journey_p50_s=%.1f journey_p99_s=%.1f tasks_not_ours=%ld tasks_extra=%ld replays=%" PRIu64 "\n",
            n, self.opt.leads_only ? "leads-only" : "full", self.opt.connections, self.opt.window,
            self.flow.done, self.flow.failed, n - self.flow.done - self.flow.failed, wall_s, per_s,
            s_pct (durations, nd, 0.5) / 1000.0, s_pct (durations, nd, 0.99) / 1000.0,
            self.flow.foreign_tasks, self.flow.extra_tasks, jbus_replays (self.bus));
    free (durations);
    if (gave_up)
        printf ("gave up (%s) with %ld journeys not done:\n", gave_up, n - self.flow.done);
    if (self.flow.done < n)
        s_progress (&self, t0_mono, stdout);
    jstats_summary_t sum;
    if (jstats_report (self.stats, stdout, t0, t_end, &sum))
        fprintf (stderr, "crm-benchjourneys: out of memory in the report\n");
    double max_mib = s_services_report (&self);
    printf ("journeys_per_s=%.1f events_per_s=%.0f step_p50_ms=%.0f step_p99_ms=%.0f max_rss_mib=%.1f\n",
            per_s, sum.events_per_s, sum.step_p50_ms, sum.step_p99_ms, max_mib);
    fflush (stdout);
    rc = self.flow.done == n ? 0 : 1;
    s_teardown (&self);
    return rc;
}

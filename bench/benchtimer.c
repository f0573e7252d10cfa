/*  crm-benchtimer: measures the timer service (crm-timer) end to end.

    It is the source service "bench" (schema bench, role crm_bench, base
    port CRM_BENCH_PORT): it writes TimerRequested events into its own
    outbox, B per transaction, publishes each batch after COMMIT on its PUB
    (P+1, an XPUB, to see the timer subscribe), serves replays on P+2 and
    heartbeats, exactly like a service. crm-timer must run with
    CRM_TIMER_SOURCES containing bench.

    1. Preload: N timers (default 1,000,000) due far in the future (30 days
       on, 1 s apart), so that they stay pending. At most W requests are in
       flight (written but not yet applied by the timer, as its Status
       says), so that neither side's queues hold the flood. The schedule
       rate is N / (time from the first write to the timer's consumer
       offset for bench reaching the last sequence), polled by Status.
       Optionally a shell command runs between the phases (--between; the
       script's is VACUUM ANALYZE and CHECKPOINT, so that the preload's
       checkpoint does not fall into the measurement).
    2. Measure: C timers (default 10,000) due evenly over S ms (default
       10,000) starting L ms (default 2,000) from now, each requested L ms
       before it is due (requests and firings both at C/S per second, as in
       steady use; --burst: all requested at once, at the start). The
       bench subscribes to the timer's TimerFired (filling gaps from the
       timer's replay endpoint, like any consumer) and records for each of
       its timers
         lateness = fired_ms - due_ms   (the timer's clock reading that is
                                         committed with the event)
         receipt  = now - due_ms        (when the bench got the event: adds
                                         the commit and the delivery)
    3. The timer's peak RSS: VmHWM of /proc/<pid>/status (pid from Status),
       read after the preload and at the end (the peak is reset after the
       preload, via /proc/<pid>/clear_refs, to see the measuring phase's own).

    Prints two key=value lines on stdout, the last being exactly
      timer_p50_ms=... timer_p99_ms=... timer_max_ms=... schedule_per_s=... timer_rss_mib=...
    (lateness = fired_ms - due_ms; rss = the peak over the whole run).
    Exits 0 if every measured timer fired exactly once, 1 if not, 2 on a bad
    option or a setup failure.
*/
#include "benchutil.h"
#include "clock.h"
#include "procstat.h"
#include "log.h"
#include "source.h"
#include "crm/v1/timer.pb-c.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS (86400LL * 1000)

typedef struct {
    long preload;         // timers pending during the measurement
    long count;           // measured timers
    long spread_ms;       // measured timers are due over this span ...
    long lead_ms;         // ... starting this long after they are requested
    long batch;           // requests per bench transaction
    long window;          // requests in flight at most during the preload
    long timeout_s;       // give up this long after the last due time
    long ready_s;         // wait at most this long for the timer
    bool burst;           // request all measured timers at once (else each lead_ms before due)
    const char *between;  // shell command run between preload and measurement
} options_t;

typedef struct {
    options_t opt;
    source_t src;         // the service "bench"
    zsock_t *sub;         // to the timer's PUB
    source_peer_t timer;  // our position in the timer's outbox
    client_t *timer_cmd;  // to the timer's command endpoint
    char run[24];         // this run's key infix
    //  The timer as Status last said
    int timer_pid;
    uint64_t applied;  // its consumer offset for bench
    double pending;    // its timers_pending
    //  Measurement
    int64_t *due_ms;      // per measured timer
    uint8_t *seen;        // per measured timer: times seen
    int64_t *late_fired;  // fired_ms - due_ms, per first sighting
    int64_t *due_late;    // fired_ms - due_ms, per measured timer
    double *late_recv;    // receipt - due_ms
    long seen_n, duplicates, foreign, replayed;
} bench_t;

static const char s_usage[] =
    "usage: crm-benchtimer [--preload N] [--count C] [--spread-ms S] [--lead-ms L]\n"
    "                      [--batch B] [--window W] [--timeout S] [--ready-timeout S]\n"
    "                      [--burst] [--between CMD]\n"
    "Preloads N (default 1000000) timers due 30 days on through the bus, at most W\n"
    "(default 5000) in flight, B (default 1000) per transaction; then requests C\n"
    "(default 10000) timers due evenly over S ms (default 10000) from L ms (default\n"
    "2000) on, each L ms before it is due (with --burst: all at once, at the\n"
    "start), and measures how late each fires (fired_ms - due_ms, and receipt\n"
    "time - due_ms). CMD (sh -c) runs between the phases, e.g. a CHECKPOINT.\n"
    "Acts as service bench: environment as for a service\n"
    "(CRM_BENCH_PORT, CRM_TIMER_PORT, PGHOST, PGPORT, PGDATABASE, ...); crm-timer\n"
    "must run with CRM_TIMER_SOURCES=bench. DIR: the bus migrations (default\n"
    "common/migrations). Ends with the line\n"
    "timer_p50_ms=... timer_p99_ms=... timer_max_ms=... schedule_per_s=... timer_rss_mib=...\n";

//  --------------------------------------------------------------------------
//  Options

static int
s_parse_options (options_t *opt, int argc, char **argv)
{
    *opt = (options_t){.preload = 1000000,
                       .count = 10000,
                       .spread_ms = 10000,
                       .lead_ms = 2000,
                       .batch = 1000,
                       .window = 5000,
                       .timeout_s = 60,
                       .ready_s = 30,
                       .burst = false};
    const benchutil_option_t options[] = {
        {"preload", &opt->preload, 0, 100000000},
        {"count", &opt->count, 1, 10000000},
        {"spread-ms", &opt->spread_ms, 0, 3600000},
        {"lead-ms", &opt->lead_ms, 0, 3600000},
        {"batch", &opt->batch, 1, 100000},
        {"window", &opt->window, 1, 10000000},
        {"timeout", &opt->timeout_s, 1, 86400},
        {"ready-timeout", &opt->ready_s, 1, 3600},
        {"between", .string = &opt->between},
        {"burst", .flag = &opt->burst},
        {NULL},
    };
    return benchutil_parse ("crm-benchtimer", s_usage, options, argc, argv);
}

//  --------------------------------------------------------------------------
//  The timer, as its Status says

//  Asks the timer's Status; updates pid, applied and pending. Returns 0, or
//  -1 if it did not answer within timeout_ms.
static int
s_status (bench_t *self, int timeout_ms)
{
    Crm__V1__StatusReply *st = NULL;
    if (source_status (self->timer_cmd, timeout_ms, &st))
        return -1;
    int rc = -1;
    if (strcmp (st->service, "timer") == 0) {
        self->timer_pid = st->pid;
        for (size_t i = 0; i < st->n_sources; i++)
            if (strcmp (st->sources[i]->source, "bench") == 0)
                self->applied = st->sources[i]->applied_sequence;
        for (size_t i = 0; i < st->n_metrics; i++)
            if (strcmp (st->metrics[i]->name, "timers_pending") == 0)
                self->pending = st->metrics[i]->value;
        rc = 0;
    }
    crm__v1__status_reply__free_unpacked (st, NULL);
    return rc;
}

//  Resets the process's peak RSS (VmHWM) to its current RSS.
static int
s_reset_hwm (int pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/clear_refs", pid);
    FILE *f = fopen (path, "w");
    if (!f)
        return -1;
    int rc = fputs ("5", f) < 0 ? -1 : 0;
    return fclose (f) || rc ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Producing

//  One transaction of n TimerRequested, published after COMMIT. Timer
//  number first + k gets key "<kind>:<run>:<first + k>" and due due_of (k).
static int
s_write_batch (bench_t *self, char kind, long first, long n, int64_t due0, int64_t step_num, int64_t step_den)
{
    if (source_begin (&self->src))
        return -1;
    uint8_t buf[512];
    uint8_t payload[16];
    memset (payload, 'p', sizeof payload);
    for (long k = 0; k < n; k++) {
        long i = first + k;
        char key[64], correlation[32];
        snprintf (key, sizeof key, "%c:%s:%ld", kind, self->run, i);
        snprintf (correlation, sizeof correlation, "bench:%ld", i);
        Crm__V1__TimerRequested req = CRM__V1__TIMER_REQUESTED__INIT;
        req.key = key;
        req.owner = "bench";
        req.due_ms = due0 + (int64_t) i * step_num / step_den;
        req.payload.data = payload;
        req.payload.len = sizeof payload;
        if (kind == 'm')
            self->due_ms[i] = req.due_ms;
        size_t len = crm__v1__timer_requested__pack (&req, buf);
        if (source_add (&self->src, "TimerRequested", correlation, buf, len))
            return -1;
    }
    return source_commit (&self->src);
}

//  --------------------------------------------------------------------------
//  Sockets

//  One envelope from the timer (live or replayed), already accepted.
static void
s_fired_event (void *arg, const Crm__V1__Envelope *env, bool replayed)
{
    bench_t *self = arg;
    if (strcmp (env->type, "TimerFired") != 0)
        return;
    double now = benchutil_real_ms ();
    Crm__V1__TimerFired *fired = crm__v1__timer_fired__unpack (NULL, env->payload.len, env->payload.data);
    if (!fired)
        return;
    char prefix[40];
    int plen = snprintf (prefix, sizeof prefix, "m:%s:", self->run);
    char *end = NULL;
    long i = strncmp (fired->key, prefix, (size_t) plen) == 0 ? strtol (fired->key + plen, &end, 10) : -1;
    if (i < 0 || i >= self->opt.count || !end || *end || fired->due_ms != self->due_ms[i])
        self->foreign++;
    else if (self->seen[i]++)
        self->duplicates++;
    else {
        self->late_fired[self->seen_n] = fired->fired_ms - fired->due_ms;
        self->due_late[i] = fired->fired_ms - fired->due_ms;
        self->late_recv[self->seen_n] = now - (double) fired->due_ms;
        self->seen_n++;
        if (replayed)
            self->replayed++;
    }
    crm__v1__timer_fired__free_unpacked (fired, NULL);
}

//  Heartbeat, replay requests to the timer, then up to timeout_ms waiting
//  for any socket and reading everything queued.
static void
s_poll (bench_t *self, long timeout_ms)
{
    source_heartbeat (&self->src);
    source_peer_ask_replay (&self->timer, clock_mono_ms (), self->src.cfg.replay_timeout_ms);
    zsock_t *dealer = self->timer.dealer;
    zmq_pollitem_t items[] = {
        {zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (dealer), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->src.replay), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->src.pub), 0, ZMQ_POLLIN, 0},
    };
    if (zmq_poll (items, 4, timeout_ms) <= 0)
        return;
    while (zsock_events (self->sub) & ZMQ_POLLIN)
        source_read_sub (self->sub, &self->timer, 1, s_fired_event, self);
    while (zsock_events (dealer) & ZMQ_POLLIN)
        source_peer_read_replay (&self->timer, "crm-benchtimer", s_fired_event, self);
    while (zsock_events (self->src.replay) & ZMQ_POLLIN)
        crm__v1__replay_request__free_unpacked (source_serve_replay (&self->src), NULL);
    while (zsock_events (self->src.pub) & ZMQ_POLLIN)
        source_read_xpub (&self->src);
}

//  Polls Status (every 10 ms, reading the sockets meanwhile) until the timer
//  has applied sequence seq, at most timeout_ms. Returns 0, or -1.
static int
s_wait_applied (bench_t *self, uint64_t seq, long timeout_ms)
{
    int64_t deadline = clock_mono_ms () + timeout_ms;
    while (!zsys_interrupted && clock_mono_ms () < deadline) {
        if (s_status (self, 5000) == 0 && self->applied >= seq)
            return 0;
        s_poll (self, 10);
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Setup

static int
s_setup (bench_t *self)
{
    if (source_open (&self->src, "crm-benchtimer"))
        return -1;
    self->sub = source_sub_new ();
    char cmd[128];
    config_peer_endpoint ("timer", CONFIG_CMD, cmd, sizeof cmd);
    self->timer_cmd = client_new (cmd);
    if (!self->sub || !self->timer_cmd)
        return -1;
    zsock_set_subscribe (self->sub, "timer.TimerFired");
    zsock_set_subscribe (self->sub, "timer.Heartbeat");
    if (source_peer_connect (&self->timer, "timer", self->sub, "crm-benchtimer"))
        return -1;
    size_t n = (size_t) self->opt.count;
    self->due_ms = calloc (n, sizeof *self->due_ms);
    self->seen = calloc (n, 1);
    self->late_fired = calloc (n, sizeof *self->late_fired);
    self->due_late = calloc (n, sizeof *self->due_late);
    self->late_recv = calloc (n, sizeof *self->late_recv);
    if (!self->due_ms || !self->seen || !self->late_fired || !self->due_late || !self->late_recv)
        return -1;
    snprintf (self->run, sizeof self->run, "%" PRId64, clock_now_ms () % 100000000);
    return 0;
}

static void
s_teardown (bench_t *self)
{
    zsock_destroy (&self->sub);
    source_peer_close (&self->timer);
    client_destroy (&self->timer_cmd);
    source_close (&self->src);
    free (self->due_ms);
    free (self->seen);
    free (self->late_fired);
    free (self->due_late);
    free (self->late_recv);
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Nearest rank: the ceil (p * n)-th smallest.
static long
s_rank (long n, double p)
{
    double exact = p * (double) n;
    long rank = (long) exact;
    if ((double) rank < exact)
        rank++;
    return rank < 1 ? 0 : rank > n ? n - 1 : rank - 1;
}

//  --------------------------------------------------------------------------
//  The run

int
main (int argc, char **argv)
{
    bench_t self = {0};
    int rc = s_parse_options (&self.opt, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    log_init ("bench");
    if (s_setup (&self)) {
        s_teardown (&self);
        return 2;
    }

    //  Ready when the timer has subscribed to us, we hear its heartbeat and
    //  it answers Status.
    int64_t ready_deadline = clock_mono_ms () + self.opt.ready_s * 1000;
    while (!zsys_interrupted && !(self.src.subscribed && self.timer.heard && self.timer_pid)
           && clock_mono_ms () < ready_deadline) {
        s_poll (&self, 50);
        if (self.src.subscribed && self.timer.heard && !self.timer_pid)
            s_status (&self, 1000);
    }
    if (!(self.src.subscribed && self.timer.heard && self.timer_pid)) {
        fprintf (stderr,
                 "crm-benchtimer: the timer did not %s within %ld s (is crm-timer running with"
                 " CRM_TIMER_SOURCES=bench, and CRM_TIMER_PORT and CRM_BENCH_PORT set alike?)\n",
                 !self.src.subscribed ? "subscribe"
                 : !self.timer.heard  ? "send a heartbeat"
                                      : "answer Status",
                 self.opt.ready_s);
        s_teardown (&self);
        return 2;
    }
    //  The timer's start-up probe (a replay request to us; retried every
    //  CRM_REPLAY_TIMEOUT_MS while we were not up) and its catch-up on
    //  earlier runs: a probe answered in the middle of the preload would
    //  announce a head far ahead of the live stream and send the timer
    //  replaying what its SUB socket also brings.
    while (!zsys_interrupted && self.src.replay_requests == 0 && clock_mono_ms () < ready_deadline + 10000)
        s_poll (&self, 20);
    if (s_wait_applied (&self, outbox_last_sequence (self.src.outbox), 600000)) {
        fprintf (stderr, "crm-benchtimer: the timer did not catch up with bench's outbox\n");
        s_teardown (&self);
        return 2;
    }
    fprintf (stderr, "crm-benchtimer: timer pid %d, %.0f timers pending before the run\n", self.timer_pid,
             self.pending);

    //  ---- 1. Preload
    uint64_t base = outbox_last_sequence (self.src.outbox);
    int64_t far = clock_now_ms () + 30 * DAY_MS;
    int64_t t0 = clock_mono_us ();
    long written = 0;
    int64_t next_report = clock_mono_ms () + 10000;
    while (!zsys_interrupted && written < self.opt.preload) {
        //  Keep at most window requests in flight.
        while (!zsys_interrupted && (long) (base + (uint64_t) written - self.applied) >= self.opt.window) {
            if (s_status (&self, 5000)) {
                fprintf (stderr, "crm-benchtimer: the timer stopped answering Status\n");
                s_teardown (&self);
                return 2;
            }
            if ((long) (base + (uint64_t) written - self.applied) >= self.opt.window)
                s_poll (&self, 5);
        }
        long n = self.opt.preload - written < self.opt.batch ? self.opt.preload - written : self.opt.batch;
        if (s_write_batch (&self, 'p', written, n, far, 1000, 1)) {
            s_teardown (&self);
            return 2;
        }
        written += n;
        s_poll (&self, 0);
        if (clock_mono_ms () >= next_report) {
            fprintf (stderr, "crm-benchtimer: preload %ld written, %" PRIu64 " applied, %.1f s\n", written,
                     self.applied - base, (double) (clock_mono_us () - t0) / 1e6);
            next_report = clock_mono_ms () + 10000;
        }
    }
    uint64_t last = base + (uint64_t) self.opt.preload;
    if (s_wait_applied (&self, last, 600000)) {
        fprintf (stderr, "crm-benchtimer: the timer did not apply the preload\n");
        s_teardown (&self);
        return 2;
    }
    double preload_s = (double) (clock_mono_us () - t0) / 1e6;
    double schedule_per_s = preload_s > 0 ? (double) self.opt.preload / preload_s : 0;
    s_status (&self, 5000);
    long hwm_preload = procstat_kb (self.timer_pid, "VmHWM");
    long rss_preload = procstat_kb (self.timer_pid, "VmRSS");
    fprintf (stderr,
             "crm-benchtimer: preload of %ld in %.1f s (%.0f/s); timers_pending %.0f;"
             " timer VmHWM %.1f MiB, VmRSS %.1f MiB\n",
             self.opt.preload, preload_s, schedule_per_s, self.pending, hwm_preload / 1024.0,
             rss_preload / 1024.0);
    bool hwm_reset = s_reset_hwm (self.timer_pid) == 0;

    //  ---- 2. Measure
    //  Between the phases: e.g. the script's CHECKPOINT, so that flushing
    //  the preload's WAL does not fall into the measurement. We keep
    //  serving our sockets meanwhile (the command runs in a child).
    if (self.opt.between) {
        int64_t b0 = clock_mono_us ();
        fprintf (stderr, "crm-benchtimer: between the phases: %s\n", self.opt.between);
        fflush (stderr);
        pid_t child = fork ();
        if (child == 0) {
            execl ("/bin/sh", "sh", "-c", self.opt.between, (char *) NULL);
            _exit (127);
        }
        int status = 0;
        while (child > 0 && waitpid (child, &status, WNOHANG) == 0)
            s_poll (&self, 20);
        if (child < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "crm-benchtimer: the command between the phases failed\n");
            s_teardown (&self);
            return 2;
        }
        fprintf (stderr, "crm-benchtimer: between the phases: done in %.1f s\n",
                 (double) (clock_mono_us () - b0) / 1e6);
    }
    //  Let the timer settle (the queue of the preload is gone; checkpoints
    //  and autovacuum are its life too).
    for (int64_t until = clock_mono_ms () + 1000; clock_mono_ms () < until;)
        s_poll (&self, 20);
    int64_t first_due = clock_now_ms () + self.opt.lead_ms;
    int64_t t1 = clock_mono_us ();
    long requested = 0, transactions = 0;
    double write_s = -1, apply_s = -1;
    uint64_t measured_last = outbox_last_sequence (self.src.outbox) + (uint64_t) self.opt.count;
    int64_t last_due = first_due + self.opt.spread_ms;
    int64_t give_up = last_due + self.opt.timeout_s * 1000;
    int64_t next_status = 0;
    while (!zsys_interrupted && self.seen_n < self.opt.count && clock_now_ms () < give_up) {
        int64_t now = clock_now_ms ();
        long upto = requested;
        while (upto < self.opt.count
               && (self.opt.burst
                   || first_due + (int64_t) upto * self.opt.spread_ms / self.opt.count - self.opt.lead_ms
                          <= now))
            upto++;
        while (requested < upto) {
            long n = upto - requested < 1000 ? upto - requested : 1000;
            if (s_write_batch (&self, 'm', requested, n, first_due, self.opt.spread_ms, self.opt.count)) {
                s_teardown (&self);
                return 2;
            }
            requested += n;
            transactions++;
        }
        if (requested == self.opt.count && write_s < 0)
            write_s = (double) (clock_mono_us () - t1) / 1e6;
        if (apply_s < 0 && clock_mono_ms () >= next_status) {
            if (s_status (&self, 5000) == 0 && self.applied >= measured_last)
                apply_s = (double) (clock_mono_us () - t1) / 1e6;
            next_status = clock_mono_ms () + 100;
        }
        //  Until the next request is due (1 ms: poll's grain), at most 20 ms.
        long wait_ms = 20;
        if (requested < self.opt.count) {
            int64_t next =
                first_due + (int64_t) requested * self.opt.spread_ms / self.opt.count - self.opt.lead_ms;
            wait_ms = next - clock_now_ms ();
            wait_ms = wait_ms < 0 ? 0 : wait_ms > 20 ? 20 : wait_ms;
        }
        s_poll (&self, wait_ms);
    }
    //  A moment more to see duplicates, if any.
    for (int64_t until = clock_mono_ms () + 1000; clock_mono_ms () < until;)
        s_poll (&self, 20);
    s_status (&self, 5000);
    long hwm_measure = procstat_kb (self.timer_pid, "VmHWM");
    long rss_end = procstat_kb (self.timer_pid, "VmRSS");
    long hwm = hwm_preload > hwm_measure ? hwm_preload : hwm_measure;

    //  ---- Figures
    //  The worst lateness per second of due time, to see when a tail
    //  happened (a checkpoint, autovacuum, a neighbour).
    fprintf (stderr, "crm-benchtimer: worst fired_ms - due_ms per second of due time:");
    for (int64_t from = first_due; from < last_due; from += 1000) {
        int64_t worst = -1;
        for (long i = 0; i < self.opt.count; i++)
            if (self.seen[i] && self.due_ms[i] >= from && self.due_ms[i] < from + 1000)
                worst = worst > self.due_late[i] ? worst : self.due_late[i];
        fprintf (stderr, " %" PRId64, worst);
    }
    fprintf (stderr, "\n");
    long n = self.seen_n;
    qsort (self.late_fired, (size_t) n, sizeof *self.late_fired, s_cmp_i64);
    qsort (self.late_recv, (size_t) n, sizeof *self.late_recv, s_cmp_double);
    double mean = 0;
    for (long i = 0; i < n; i++)
        mean += (double) self.late_fired[i];
    mean = n ? mean / (double) n : 0;
#define F(p) (n ? (double) self.late_fired[s_rank (n, p)] : 0.0)
#define R(p) (n ? self.late_recv[s_rank (n, p)] : 0.0)
    printf ("timer preload=%ld preload_s=%.1f schedule_per_s=%.0f pending=%.0f count=%ld spread_ms=%ld"
            " lead_ms=%ld mode=%s transactions=%ld seen=%ld missing=%ld duplicates=%ld foreign=%ld"
            " replayed=%ld measured_write_s=%.3f measured_applied_s=%.3f fired_p50_ms=%.0f fired_p90_ms=%.0f "
            "fired_p99_ms=%.0f"
            " fired_max_ms=%.0f fired_mean_ms=%.2f recv_p50_ms=%.1f recv_p90_ms=%.1f recv_p99_ms=%.1f"
            " recv_max_ms=%.1f rss_preload_peak_mib=%.1f rss_measure_peak_mib=%s%.1f rss_end_mib=%.1f "
            "replays_served=%ld timer_replays=%ld\n",
            self.opt.preload, preload_s, schedule_per_s, self.pending, self.opt.count, self.opt.spread_ms,
            self.opt.lead_ms, self.opt.burst ? "burst" : "steady", transactions, n, self.opt.count - n,
            self.duplicates, self.foreign, self.replayed, write_s, apply_s, F (0.50), F (0.90), F (0.99),
            n ? (double) self.late_fired[n - 1] : 0.0, mean, R (0.50), R (0.90), R (0.99),
            n ? self.late_recv[n - 1] : 0.0, hwm_preload / 1024.0, hwm_reset ? "" : "(not reset)",
            hwm_measure / 1024.0, rss_end / 1024.0, self.src.replay_requests, self.timer.replays);
    printf ("timer_p50_ms=%.0f timer_p99_ms=%.0f timer_max_ms=%.0f schedule_per_s=%.0f timer_rss_mib=%.1f\n",
            F (0.50), F (0.99), n ? (double) self.late_fired[n - 1] : 0.0, schedule_per_s, hwm / 1024.0);
#undef F
#undef R
    fflush (stdout);
    rc = n == self.opt.count && self.duplicates == 0 ? 0 : 1;
    s_teardown (&self);
    return rc;
}

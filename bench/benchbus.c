/*  crm-benchbus: measures the bus alone, end to end and durable.

    It is the source service "bench" (schema bench, role crm_bench, base
    port CRM_BENCH_PORT, default 5600): it writes N NotificationRequested
    events into its own outbox, B per transaction, publishes each batch after
    its COMMIT on PUB (P+1, an XPUB so that it can see the notifier
    subscribe), serves replays on P+2 (outbox_replay) and heartbeats every
    CRM_HEARTBEAT_MS, exactly like a service. The notifier (started with
    CRM_NOTIFIER_SOURCES containing bench) applies them: one INSERT per batch
    plus its consumer offset in one transaction, then publishes one
    NotificationStored per row.

    The bench subscribes to the notifier's NotificationStored (and fills
    gaps from the notifier's replay endpoint, like any consumer) and, for
    each of its own requests, records latency = now - requested_ms, the
    request's Envelope.time_ms, stamped by outbox_write just before the
    INSERT. So a latency covers: bench INSERT + COMMIT, publish, notifier
    batch + INSERT + offset + COMMIT, publish, receipt. now is read in
    microseconds and requested_ms is whole ms, so every figure is at most
    1 ms too high, never too low.

    Throughput = N / (time from the first write to the last NotificationStored
    seen). With --rate R the events become due at R per second and each
    transaction takes whatever is due (at most B): group commit, as in a
    service.

    With --sink the subscriber is crm-benchsink instead (the bus alone, no
    notifier): the bench waits for its subscription and its start-up replay
    probe, writes, and then asks the sink's Status until the sink has
    committed every event. The sink measures the latencies and the end
    (its last commit); the bench prints first_write_mono_us (CLOCK_MONOTONIC,
    comparable with the sink's) and its own side: write rate, transaction
    times and the CPU of its Postgres backend over the run (backend_cpu_ms).

    Prints one key=value line on stdout and exits 0 if every event was seen
    stored (or, with --sink, committed by the sink), 1 if not (timeout), 2 on
    a bad option or setup failure.
*/
#include "benchbus.h"
#include "benchutil.h"
#include "clock.h"
#include "log.h"
#include "percentile.h"
#include "procstat.h"
#include "crm/v1/bus.pb-c.h"
#include "crm/v1/notifier.pb-c.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: crm-benchbus [--count N] [--batch B] [--rate R] [--size BYTES]\n"
    "                    [--timeout S] [--ready-timeout S] [--label L]\n"
    "                    [--verbose] [--sink]\n"
    "Writes N (default 300000) NotificationRequested events of about BYTES (default\n"
    "200) encoded into the bench outbox, at most B (default 500) per transaction, at\n"
    "R events/s (default 0: as fast as it goes), and waits until the notifier has\n"
    "stored every one (at most S s, default 120, after the last write). DIR holds\n"
    "the bus migrations (default common/migrations). Environment as for a service\n"
    "(CRM_BENCH_PORT, CRM_NOTIFIER_PORT, PGHOST, PGPORT, PGDATABASE, ...).\n"
    "Prints one key=value line; exits 0 if every event was stored, 1 if not.\n"
    "--verbose: one line on stderr per replay request the notifier sends us.\n"
    "--sink: the subscriber is crm-benchsink (CRM_BENCHSINK_PORT); done when its\n"
    "Status says it has committed every event.\n";

//  --------------------------------------------------------------------------
//  Options

static int
s_parse_options (options_t *opt, int argc, char **argv)
{
    *opt = (options_t){.count = 300000,
                       .batch = 500,
                       .rate = 0,
                       .size = 200,
                       .timeout_s = 120,
                       .ready_s = 20,
                       .label = "bus"};
    const benchutil_option_t options[] = {
        {"count", &opt->count, 1, 100000000},   {"batch", &opt->batch, 1, 100000},
        {"rate", &opt->rate, 0, 100000000},     {"size", &opt->size, 150, 4000},
        {"timeout", &opt->timeout_s, 1, 86400}, {"ready-timeout", &opt->ready_s, 1, 3600},
        {"label", .string = &opt->label},       {"verbose", .flag = &opt->verbose},
        {"sink", .flag = &opt->sink},           {NULL},
    };
    return benchutil_parse ("crm-benchbus", s_usage, options, argc, argv);
}

//  --------------------------------------------------------------------------
//  Producing

//  Writes prefix and then n (>= 0) in decimal into out (room for both and
//  20 digits); returns out. snprintf's cost showed in the write loop's
//  profile, three times per event.
static char *
s_number (char *out, const char *prefix, long n)
{
    size_t len = strlen (prefix);
    memcpy (out, prefix, len);
    char digits[24];
    int k = 0;
    do
        digits[k++] = (char) ('0' + n % 10);
    while ((n /= 10) > 0);
    while (k > 0)
        out[len++] = digits[--k];
    out[len] = 0;
    return out;
}

//  Packs request number i (0-based) into buf; returns its length.
static size_t
s_pack_request (bench_t *self, long i, uint8_t *buf, size_t text_len)
{
    char key[96], recipient[32];
    s_number (key, self->key_prefix, i);
    s_number (recipient, "manager-", i % 64);
    Crm__V1__NotificationRequested req = CRM__V1__NOTIFICATION_REQUESTED__INIT;
    req.request_key = key;
    req.recipient = recipient;
    self->text[text_len] = 0;
    req.text = self->text;
    size_t len = crm__v1__notification_requested__pack (&req, buf);
    self->text[text_len] = 'x';
    return len;
}

//  Size of the Envelope outbox_write makes of request i with text_len
//  bytes of text (its event id is a canonical UUID, 36 characters).
static size_t
s_envelope_size (bench_t *self, long i, size_t text_len)
{
    uint8_t payload[8192];
    size_t len = s_pack_request (self, i, payload, text_len);
    char correlation[32];
    snprintf (correlation, sizeof correlation, "bench:%ld", i);
    Crm__V1__Envelope env = CRM__V1__ENVELOPE__INIT;
    env.event_id = "00000000-0000-0000-0000-000000000000";
    env.source = "bench";
    env.sequence = self->base + (uint64_t) i + 1;
    env.type = "NotificationRequested";
    env.time_ms = clock_now_ms ();
    env.correlation_id = correlation;
    env.causation_id = "";
    env.payload.data = payload;
    env.payload.len = len;
    return crm__v1__envelope__get_packed_size (&env);
}

//  One transaction of n events, published after COMMIT.
static int
s_write_batch (bench_t *self, long n, size_t text_len)
{
    uint8_t payload[8192];
    int64_t begin_us = clock_mono_us ();
    if (source_begin (&self->src))
        return -1;
    for (long k = 0; k < n; k++) {
        long i = self->written + k;
        size_t len = s_pack_request (self, i, payload, text_len);
        char correlation[32];
        s_number (correlation, "bench:", i);
        if (source_add (&self->src, "NotificationRequested", correlation, payload, len))
            return -1;
    }
    if (source_commit (&self->src))
        return -1;
    self->written += n;
    self->transactions++;
    self->last_write_us = clock_mono_us ();
    int64_t took = self->last_write_us - begin_us;
    self->txn_us_total += took;
    if (took > self->txn_us_max)
        self->txn_us_max = took;
    return 0;
}

//  --------------------------------------------------------------------------
//  Setup

//  What the run keeps per event, and the fixed parts of its payloads.
static int
s_alloc (bench_t *self)
{
    self->seen_map = calloc ((size_t) self->opt.count, 1);
    self->latency_ms = calloc ((size_t) self->opt.count, sizeof *self->latency_ms);
    self->to_notifier_ms = calloc ((size_t) self->opt.count, sizeof *self->to_notifier_ms);
    if (!self->seen_map || !self->latency_ms || !self->to_notifier_ms)
        return -1;
    snprintf (self->key_prefix, sizeof self->key_prefix, "bench:%d:%" PRId64 ":", (int) getpid (),
              clock_now_ms ());
    memset (self->text, 'x', sizeof self->text - 1);
    return 0;
}

static int
s_setup (bench_t *self)
{
    if (source_open (&self->src, "crm-benchbus"))
        return -1;
    self->base = outbox_last_sequence (self->src.outbox);
    self->sub = source_sub_new ();
    if (!self->sub)
        return -1;
    self->backend_pid = procstat_backend_pid (self->src.db);
    if (self->opt.sink) {  // the notifier's sockets stay unconnected
        self->sinkw = benchbus_sink_new ("bench");
        if (!self->sinkw)
            return -1;
        consumer_init (&self->notifier.consumer, "notifier", 0);
        self->notifier.consumer.probe = false;
        return s_alloc (self);
    }
    zsock_set_subscribe (self->sub, "notifier.NotificationStored");
    zsock_set_subscribe (self->sub, "notifier.Heartbeat");
    if (source_peer_connect (&self->notifier, "notifier", self->sub, "crm-benchbus"))
        return -1;
    return s_alloc (self);
}

//  Text length that makes the Envelope of a mid-run event opt.size bytes.
static size_t
s_text_len (bench_t *self)
{
    long probe = self->opt.count / 2;
    size_t len = 1;
    while (len < sizeof self->text - 1 && s_envelope_size (self, probe, len + 1) <= (size_t) self->opt.size)
        len++;
    return len;
}

static void
s_teardown (bench_t *self)
{
    zsock_destroy (&self->sub);
    source_peer_close (&self->notifier);
    benchbus_sink_destroy (&self->sinkw);
    source_close (&self->src);
    free (self->seen_map);
    free (self->latency_ms);
    free (self->to_notifier_ms);
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
    size_t text_len = s_text_len (&self);
    size_t event_bytes = s_envelope_size (&self, self.opt.count / 2, text_len);

    //  Ready when the notifier has subscribed to us and we hear its
    //  heartbeat (so that we know where its outbox stands).
    int64_t ready_deadline = clock_mono_ms () + self.opt.ready_s * 1000;
    //  With --sink: when the sink has subscribed and answers Status.
    while (!zsys_interrupted && !(self.src.subscribed && self.notifier.heard)
           && clock_mono_ms () < ready_deadline) {
        if (self.sinkw)
            benchbus_sink_ask (self.sinkw, clock_mono_ms ());
        benchbus_poll (&self, self.sinkw ? 5 : 50);
    }
    if (!(self.src.subscribed && self.notifier.heard) && self.sinkw) {
        fprintf (stderr,
                 "crm-benchbus: crm-benchsink did not %s within %ld s (is it running, with"
                 " CRM_BENCHSINK_PORT and CRM_BENCH_PORT set alike?)\n",
                 self.src.subscribed ? "answer Status" : "subscribe", self.opt.ready_s);
        s_teardown (&self);
        return 2;
    }
    if (!(self.src.subscribed && self.notifier.heard)) {
        fprintf (stderr,
                 "crm-benchbus: the notifier did not %s within %ld s (is it running with"
                 " CRM_NOTIFIER_SOURCES containing bench, and CRM_NOTIFIER_PORT set alike?)\n",
                 self.src.subscribed ? "send a heartbeat" : "subscribe", self.opt.ready_s);
        s_teardown (&self);
        return 2;
    }
    //  A subscriber that has just started (or reconnected) probes our replay
    //  endpoint, retrying every CRM_REPLAY_TIMEOUT_MS while we are away. A
    //  probe answered in the middle of the run would announce our head while
    //  the events are still queued, and set off replays that measure the
    //  start-up, not the steady state: wait for it (a notifier that probed
    //  us before does not probe again, so wait at most that timeout + 0.5 s).
    for (int64_t until = clock_mono_ms () + self.src.cfg.replay_timeout_ms + 500;
         !zsys_interrupted && !self.probed && clock_mono_ms () < until;)
        benchbus_poll (&self, 20);
    for (int64_t until = clock_mono_ms () + 100; clock_mono_ms () < until;)
        benchbus_poll (&self, 20);

    self.backend_cpu_ms = procstat_cpu_ms (self.backend_pid);
    int64_t start_us = clock_mono_us ();
    self.first_write_us = start_us;
    int64_t give_up_us = 0;
    while (!zsys_interrupted && self.seen < self.opt.count) {
        int64_t now_us = clock_mono_us ();
        long due = self.opt.count;
        if (self.opt.rate > 0) {
            double d = (double) (now_us - start_us) * (double) self.opt.rate / 1e6;
            due = d < (double) self.opt.count ? (long) d : self.opt.count;
        }
        long n = due - self.written;
        if (n > self.opt.batch)
            n = self.opt.batch;
        if (n > 0 && s_write_batch (&self, n, text_len)) {
            s_teardown (&self);
            return 2;
        }
        if (self.written == self.opt.count && !give_up_us)
            give_up_us = clock_mono_us () + (int64_t) self.opt.timeout_s * 1000000;
        if (give_up_us && clock_mono_us () > give_up_us)
            break;
        long wait_ms = 0;
        if (self.written == self.opt.count && self.sinkw)
            benchbus_sink_ask (self.sinkw, clock_mono_ms ());
        if (self.written == self.opt.count)
            wait_ms = self.sinkw ? 2 : 20;
        else if (self.opt.rate > 0 && due - self.written <= 0) {
            //  until the next event is due (at least 1 ms: poll's grain)
            double next_us = (double) (self.written + 1) * 1e6 / (double) self.opt.rate;
            wait_ms = (long) ((next_us - (double) (clock_mono_us () - start_us)) / 1000.0);
            wait_ms = wait_ms < 0 ? 0 : wait_ms > 20 ? 20 : wait_ms;
        }
        benchbus_poll (&self, wait_ms);
    }

    double backend_cpu_ms = procstat_cpu_ms (self.backend_pid) - self.backend_cpu_ms;
    double elapsed_s =
        (double) ((self.last_seen_us ? self.last_seen_us : clock_mono_us ()) - self.first_write_us) / 1e6;
    double write_s = (double) (self.last_write_us - self.first_write_us) / 1e6;
    percentile_sort (self.latency_ms, (size_t) self.seen);
    percentile_sort (self.to_notifier_ms, (size_t) self.seen);
    double mean = 0;
    for (long i = 0; i < self.seen; i++)
        mean += self.latency_ms[i];
    mean = self.seen ? mean / (double) self.seen : 0;
    printf ("%s events=%ld seen=%ld missing=%ld batch_max=%ld transactions=%ld event_bytes=%zu"
            " rate_target=%ld write_per_s=%.0f events_per_s=%.0f elapsed_s=%.3f"
            " p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f mean_ms=%.1f"
            " txn_ms_mean=%.2f txn_ms_max=%.1f to_notifier_p50_ms=%.0f to_notifier_p99_ms=%.0f"
            " replays_served=%ld replayed_events=%ld notifier_replays=%ld duplicates=%ld"
            " first_write_mono_us=%" PRId64 " backend_cpu_ms=%.0f\n",
            self.opt.label, self.opt.count, self.seen, self.opt.count - self.seen, self.opt.batch,
            self.transactions, event_bytes, self.opt.rate, write_s > 0 ? (double) self.written / write_s : 0,
            elapsed_s > 0 ? (double) self.seen / elapsed_s : 0, elapsed_s,
            percentile_of (self.latency_ms, (size_t) self.seen, 0.50),
            percentile_of (self.latency_ms, (size_t) self.seen, 0.90),
            percentile_of (self.latency_ms, (size_t) self.seen, 0.99),
            self.seen ? self.latency_ms[self.seen - 1] : 0, mean,
            self.transactions ? (double) self.txn_us_total / 1000.0 / (double) self.transactions : 0,
            (double) self.txn_us_max / 1000.0, percentile_of (self.to_notifier_ms, (size_t) self.seen, 0.50),
            percentile_of (self.to_notifier_ms, (size_t) self.seen, 0.99), self.replay_requests_served,
            self.replay_events_served, self.notifier.replays, self.stored_duplicate, self.first_write_us,
            backend_cpu_ms);
    fflush (stdout);
    rc = self.seen == self.opt.count ? 0 : 1;
    s_teardown (&self);
    return rc;
}

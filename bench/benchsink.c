/*  crm-benchsink: the subscriber of bench-bus's "bus alone" figure.

    It is the service "benchsink" (schema benchsink, role crm_benchsink,
    base port CRM_BENCHSINK_PORT, default 5610) on the common runtime
    (service.h): it subscribes to its sources (CRM_BENCHSINK_SOURCES,
    default bench) with the same consumer offsets, replay and gap recovery,
    dead letters and batching as every service. Its effect is real and
    checkable: per batch, one upsert per (source, type) of its counters in
    sink_count (events, payload bytes, highest sequence), committed in the
    transaction that moves its consumer offset. No row per event.

    Latency of an event = the moment the batch that applied it committed
    (read in the on_committed callback, in µs) minus the event's
    Envelope.time_ms (stamped by the producer's outbox_write just before
    its INSERT, whole ms: each figure is at most 1 ms too high, never too
    low). Latencies stay in memory; on SIGTERM or SIGINT, after the loop
    has stopped, it prints one key=value line on stdout: events and batches
    applied by this process, p50/p90/p99/max latency (and p50/p99 of its
    part before the sink's transaction took the event), the monotonic µs
    (CLOCK_MONOTONIC, comparable with crm-benchbus's) of its first and last
    commit, its own CPU (cpu_ms, its whole life) and its Postgres backend's
    (backend_cpu_ms, from its start). Exits 0 on a clean stop.
*/
#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "service.h"
#include "benchutil.h"
#include "percentile.h"
#include "procstat.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

extern const db_migration_t benchsink_migrations[];
extern const int benchsink_migrations_count;

#define SINK_TYPES 8  // distinct (source, type) pairs per batch

typedef struct {
    char source[CONFIG_NAME_MAX];
    char type[64];
    int64_t events;
    int64_t bytes;
    uint64_t max_sequence;
} tally_t;

//  An event's latency, and its part before the sink's transaction took it
//  (the source's transaction, the publish, the wait in the sink's queue).
typedef struct {
    uint32_t total_us;
    uint32_t waited_us;
} sample_t;

typedef struct {
    service_t *svc;
    tally_t tally[SINK_TYPES];  // the open batch's counters
    int n_tally;
    int64_t *stamps;  // time_ms of each event in the open batch
    size_t n_stamps, cap_stamps;
    int64_t began_us;   // realtime µs of the open batch's first event
    sample_t *samples;  // one per committed event
    size_t n_samples, cap_samples;
    long batches;
    int64_t first_commit_us, last_commit_us;  // CLOCK_MONOTONIC
    int backend_pid;
    double backend_cpu_ms;  // at start
} sink_t;

static int
s_grow (void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 4096;
    while (n < need)
        n *= 2;
    void *grown = realloc (*items, n * size);
    if (!grown)
        return -1;
    *items = grown;
    *cap = n;
    return 0;
}

static uint32_t
s_us (int64_t us)
{
    return us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
}

//  --------------------------------------------------------------------------
//  The runtime's callbacks

static service_rc_t
s_event (service_t *svc, const Crm__V1__Envelope *event, void *arg, char *reason, size_t size)
{
    (void) svc;
    (void) reason;
    (void) size;
    sink_t *self = arg;
    int i = 0;
    while (i < self->n_tally
           && (strcmp (self->tally[i].type, event->type) != 0
               || strcmp (self->tally[i].source, event->source) != 0))
        i++;
    if (i == self->n_tally) {
        if (i == SINK_TYPES)
            return SERVICE_FAIL;  // never with our one source and type
        self->n_tally++;
        memset (&self->tally[i], 0, sizeof self->tally[i]);
        snprintf (self->tally[i].source, sizeof self->tally[i].source, "%s", event->source);
        snprintf (self->tally[i].type, sizeof self->tally[i].type, "%s", event->type);
    }
    tally_t *t = &self->tally[i];
    t->events++;
    t->bytes += (int64_t) event->payload.len;
    if (event->sequence > t->max_sequence)
        t->max_sequence = event->sequence;
    if (s_grow ((void **) &self->stamps, &self->cap_stamps, self->n_stamps + 1, sizeof *self->stamps))
        return SERVICE_RETRY;
    if (self->n_stamps == 0)
        self->began_us = benchutil_real_us ();
    self->stamps[self->n_stamps++] = event->time_ms;
    return SERVICE_OK;
}

//  Before COMMIT: the batch's counters, one upsert per (source, type).
static service_rc_t
s_flush (service_t *svc, void *arg)
{
    sink_t *self = arg;
    service_rc_t rc = SERVICE_OK;
    for (int i = 0; rc == SERVICE_OK && i < self->n_tally; i++) {
        tally_t *t = &self->tally[i];
        char events[24], bytes[24], max[24];
        snprintf (events, sizeof events, "%" PRId64, t->events);
        snprintf (bytes, sizeof bytes, "%" PRId64, t->bytes);
        snprintf (max, sizeof max, "%" PRIu64, t->max_sequence);
        const char *params[] = {t->source, t->type, events, bytes, max};
        rc = service_rc (db_exec (service_db (svc), NULL,
                                  "INSERT INTO sink_count (source, type, events, payload_bytes, max_sequence)"
                                  " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, type) DO UPDATE SET"
                                  " events = sink_count.events + EXCLUDED.events,"
                                  " payload_bytes = sink_count.payload_bytes + EXCLUDED.payload_bytes,"
                                  " max_sequence = greatest (sink_count.max_sequence, EXCLUDED.max_sequence)",
                                  5, params, NULL, NULL));
    }
    return rc;
}

static void
s_reset (service_t *svc, void *arg)
{
    (void) svc;
    sink_t *self = arg;
    self->n_tally = 0;
    self->n_stamps = 0;
}

//  After COMMIT: the batch's events are applied now.
static void
s_committed (service_t *svc, void *arg)
{
    sink_t *self = arg;
    int64_t now_us = benchutil_real_us ();
    if (self->n_stamps) {
        int64_t mono = clock_mono_us ();
        if (!self->first_commit_us)
            self->first_commit_us = mono;
        self->last_commit_us = mono;
        self->batches++;
    }
    if (s_grow ((void **) &self->samples, &self->cap_samples, self->n_samples + self->n_stamps,
                sizeof *self->samples)
        == 0)
        for (size_t i = 0; i < self->n_stamps; i++)
            self->samples[self->n_samples++] = (sample_t){s_us (now_us - self->stamps[i] * 1000),
                                                          s_us (self->began_us - self->stamps[i] * 1000)};
    s_reset (svc, arg);
}

//  --------------------------------------------------------------------------
//  The report

static void
s_report (sink_t *self)
{
    size_t n = self->n_samples;
    double *total = malloc ((n ? n : 1) * sizeof *total), *waited = malloc ((n ? n : 1) * sizeof *waited);
    if (!total || !waited)
        n = 0;
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        total[i] = self->samples[i].total_us / 1000.0;  // ms
        waited[i] = self->samples[i].waited_us / 1000.0;
        mean += total[i];
    }
    percentile_sort (total, n);
    percentile_sort (waited, n);
    double cpu_ms = self->backend_pid ? procstat_cpu_ms (self->backend_pid) - self->backend_cpu_ms : 0;
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    double own_ms = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0
                  + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
    printf ("sink events=%zu batches=%ld events_per_batch=%.1f first_commit_mono_us=%" PRId64
            " last_commit_mono_us=%" PRId64 " p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f"
            " waited_p50_ms=%.2f waited_p99_ms=%.2f cpu_ms=%.0f backend_pid=%d backend_cpu_ms=%.0f\n",
            n, self->batches, self->batches ? (double) n / (double) self->batches : 0, self->first_commit_us,
            self->last_commit_us, percentile_of (total, n, 0.50), percentile_of (total, n, 0.90),
            percentile_of (total, n, 0.99), n ? total[n - 1] : 0, n ? mean / (double) n : 0,
            percentile_of (waited, n, 0.50), percentile_of (waited, n, 0.99), own_ms, self->backend_pid,
            cpu_ms);
    fflush (stdout);
    free (total);
    free (waited);
}

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[512];
    sink_t sink = {0};
    if (log_init ("benchsink"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "benchsink", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    db_t *db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1)
        || db_migrate (db, cfg.service, benchsink_migrations, benchsink_migrations_count))
        goto cleanup;
    sink.svc = service_new (&cfg, &db);
    if (!sink.svc)
        goto cleanup;
    service_on_event (sink.svc, "NotificationRequested", s_event, &sink);
    service_on_batch (sink.svc, s_flush, s_committed, s_reset, &sink);
    if (service_start (sink.svc) == 0) {
        //  Its backend's CPU from here, told apart from the producer's.
        sink.backend_pid = procstat_backend_pid (service_db (sink.svc));
        sink.backend_cpu_ms = sink.backend_pid ? procstat_cpu_ms (sink.backend_pid) : 0;
        rc = service_run (sink.svc);
        s_report (&sink);
    }

cleanup:
    service_destroy (&sink.svc);
    db_destroy (&db);
    free (sink.stamps);
    free (sink.samples);
    return rc;
}

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
#include "client.h"
#include "clock.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "crm/v1/bus.pb-c.h"
#include "crm/v1/command.pb-c.h"
#include "crm/v1/timer.pb-c.h"

#include <czmq.h>
#include <getopt.h>
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
    config_t cfg;
    db_t *db;
    outbox_t *outbox;
    zsock_t *pub;            // XPUB on P+1
    zsock_t *replay;         // ROUTER on P+2
    zsock_t *sub;            // to the timer's PUB
    zsock_t *dealer;         // to the timer's replay endpoint
    client_t *timer_cmd;     // to the timer's command endpoint
    consumer_t timer;        // our position in the timer's outbox
    bool subscribed;         // the timer has subscribed to our PUB
    bool heard;              // we have had the timer's heartbeat
    int64_t next_heartbeat;  // monotonic ms
    char run[24];            // this run's key infix
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
    long seen_n, duplicates, foreign, replayed, timer_replays;
    long replay_requests_served;
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
//  Time

static int64_t
s_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
s_real_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

//  --------------------------------------------------------------------------
//  Options and migrations

static int
s_long (const char *name, const char *text, long min, long max, long *out)
{
    char *end;
    long n = strtol (text, &end, 10);
    if (!*text || *end || n < min || n > max) {
        fprintf (stderr, "crm-benchtimer: --%s must be an integer from %ld to %ld\n", name, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

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
    static const struct option options[] = {
        {"preload", required_argument, NULL, 'p'},
        {"count", required_argument, NULL, 'n'},
        {"spread-ms", required_argument, NULL, 's'},
        {"lead-ms", required_argument, NULL, 'l'},
        {"batch", required_argument, NULL, 'b'},
        {"window", required_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 't'},
        {"ready-timeout", required_argument, NULL, 'r'},
        {"between", required_argument, NULL, 'x'},
        {"burst", no_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        int bad = 0;
        switch (c) {
            case 'p': bad = s_long ("preload", optarg, 0, 100000000, &opt->preload); break;
            case 'n': bad = s_long ("count", optarg, 1, 10000000, &opt->count); break;
            case 's': bad = s_long ("spread-ms", optarg, 0, 3600000, &opt->spread_ms); break;
            case 'l': bad = s_long ("lead-ms", optarg, 0, 3600000, &opt->lead_ms); break;
            case 'b': bad = s_long ("batch", optarg, 1, 100000, &opt->batch); break;
            case 'w': bad = s_long ("window", optarg, 1, 10000000, &opt->window); break;
            case 't': bad = s_long ("timeout", optarg, 1, 86400, &opt->timeout_s); break;
            case 'r': bad = s_long ("ready-timeout", optarg, 1, 3600, &opt->ready_s); break;
            case 'x': opt->between = optarg; break;
            case 'B': opt->burst = true; break;
            case 'h': fputs (s_usage, stdout); return -1;
            default: fputs (s_usage, stderr); return 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        fprintf (stderr, "crm-benchtimer: unexpected argument '%s'\n%s", argv[optind], s_usage);
        return 2;
    }
    return 0;
}

//  The bench is not a service: it applies the bus's own tables (embedded in
//  libcrm as bus_migrations) with the code and bookkeeping services use.
static int
s_migrate (bench_t *self)
{
    if (db_migrate (self->db, "bench", bus_migrations, bus_migrations_count) != DB_OK) {
        fprintf (stderr, "crm-benchtimer: migration failed: %s\n", db_error (self->db));
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The timer, as its Status says

//  Asks the timer's Status; updates pid, applied and pending. Returns 0, or
//  -1 if it did not answer within timeout_ms.
static int
s_status (bench_t *self, int timeout_ms)
{
    Crm__V1__StatusRequest req = CRM__V1__STATUS_REQUEST__INIT;
    Crm__V1__Reply *reply = NULL;
    if (client_call (self->timer_cmd, "Status", &req.base, timeout_ms, &reply))
        return -1;
    int rc = -1;
    Crm__V1__StatusReply *st = NULL;
    if (!reply->error && strcmp (reply->type, "StatusReply") == 0)
        st = crm__v1__status_reply__unpack (NULL, reply->payload.len, reply->payload.data);
    if (st && strcmp (st->service, "timer") == 0) {
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
    crm__v1__reply__free_unpacked (reply, NULL);
    return rc;
}

//  A line of /proc/<pid>/status, e.g. "VmHWM", in kB; -1 if unreadable.
static long
s_proc_kb (int pid, const char *field)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t len = strlen (field);
    while (fgets (line, sizeof line, f))
        if (strncmp (line, field, len) == 0 && line[len] == ':')
            kb = strtol (line + len + 1, NULL, 10);
    fclose (f);
    return kb;
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
    if (db_begin (self->db) != DB_OK)
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
        if (outbox_add (self->outbox, "TimerRequested", correlation, "", buf, len)) {
            db_rollback (self->db);
            outbox_discard (self->outbox);
            return -1;
        }
    }
    if (outbox_write (self->outbox, self->db) != DB_OK || db_commit (self->db) != DB_OK) {
        fprintf (stderr, "crm-benchtimer: write failed: %s\n", db_error (self->db));
        db_rollback (self->db);
        outbox_discard (self->outbox);
        return -1;
    }
    outbox_publish (self->outbox, self->pub);
    return 0;
}

//  --------------------------------------------------------------------------
//  Sockets

static void
s_serve_replay (bench_t *self)
{
    zmsg_t *msg = zmsg_recv (self->replay);
    if (!msg)
        return;
    zframe_t *request = zmsg_last (msg);
    if (request && zmsg_size (msg) > 1) {
        zmsg_remove (msg, request);
        zframe_t *reply =
            outbox_replay (self->outbox, self->db, zframe_data (request), zframe_size (request));
        self->replay_requests_served++;
        zframe_destroy (&request);
        if (reply) {
            zmsg_append (msg, &reply);
            zmsg_send (&msg, self->replay);
        }
    }
    zmsg_destroy (&msg);
}

static void
s_read_xpub (bench_t *self)
{
    zframe_t *frame = zframe_recv (self->pub);
    if (frame && zframe_size (frame) > 0 && zframe_data (frame)[0] == 1)
        self->subscribed = true;
    zframe_destroy (&frame);
}

//  One envelope from the timer (live or replayed).
static void
s_fired_event (bench_t *self, Crm__V1__Envelope *env, bool replayed)
{
    if (consumer_offer (&self->timer, env->sequence) != CONSUMER_ACCEPT)
        return;
    consumer_commit (&self->timer, env->sequence);
    if (strcmp (env->type, "TimerFired") != 0)
        return;
    double now = s_real_ms ();
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

static void
s_read_sub (bench_t *self)
{
    zmsg_t *msg = zmsg_recv (self->sub);
    if (!msg)
        return;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) == 2 && zframe_streq (topic, "timer.Heartbeat")) {
        Crm__V1__Heartbeat *hb = crm__v1__heartbeat__unpack (NULL, zframe_size (body), zframe_data (body));
        if (hb) {
            if (!self->heard) {  // our position: the timer's head now
                consumer_init (&self->timer, "timer", hb->latest_sequence);
                self->timer.probe = false;
                self->heard = true;
            }
            consumer_announce (&self->timer, hb->latest_sequence);
        }
        crm__v1__heartbeat__free_unpacked (hb, NULL);
    }
    else if (zmsg_size (msg) == 2 && self->heard) {
        Crm__V1__Envelope *env = crm__v1__envelope__unpack (NULL, zframe_size (body), zframe_data (body));
        if (env)
            s_fired_event (self, env, false);
        crm__v1__envelope__free_unpacked (env, NULL);
    }
    zmsg_destroy (&msg);
}

static void
s_read_dealer (bench_t *self)
{
    zframe_t *frame = zframe_recv (self->dealer);
    if (!frame)
        return;
    Crm__V1__ReplayReply *reply =
        crm__v1__replay_reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    if (reply && !*reply->error) {
        consumer_announce (&self->timer, reply->latest_sequence);
        if (reply->first_sequence)
            consumer_skip_to (&self->timer, reply->first_sequence);
        for (size_t i = 0; i < reply->n_events; i++) {
            Crm__V1__Envelope *env =
                crm__v1__envelope__unpack (NULL, reply->events[i].len, reply->events[i].data);
            if (env)
                s_fired_event (self, env, true);
            crm__v1__envelope__free_unpacked (env, NULL);
        }
        consumer_replay_done (&self->timer);
    }
    crm__v1__replay_reply__free_unpacked (reply, NULL);
}

//  Heartbeat, replay requests to the timer, then up to timeout_ms waiting
//  for any socket and reading everything queued.
static void
s_poll (bench_t *self, long timeout_ms)
{
    int64_t now = clock_mono_ms ();
    if (now >= self->next_heartbeat) {
        outbox_heartbeat (self->outbox, self->pub);
        self->next_heartbeat = now + self->cfg.heartbeat_ms;
    }
    if (self->heard && consumer_wants_replay (&self->timer, now, self->cfg.replay_timeout_ms)) {
        Crm__V1__ReplayRequest req = CRM__V1__REPLAY_REQUEST__INIT;
        req.from_sequence = self->timer.accepted + 1;
        req.max_count = 1000;
        uint8_t buf[32];
        size_t len = crm__v1__replay_request__pack (&req, buf);
        zmq_send (zsock_resolve (self->dealer), buf, len, ZMQ_DONTWAIT);
        consumer_replay_sent (&self->timer, now);
        self->timer_replays++;
    }
    zmq_pollitem_t items[] = {
        {zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->dealer), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->replay), 0, ZMQ_POLLIN, 0},
        {zsock_resolve (self->pub), 0, ZMQ_POLLIN, 0},
    };
    if (zmq_poll (items, 4, timeout_ms) <= 0)
        return;
    while (zsock_events (self->sub) & ZMQ_POLLIN)
        s_read_sub (self);
    while (zsock_events (self->dealer) & ZMQ_POLLIN)
        s_read_dealer (self);
    while (zsock_events (self->replay) & ZMQ_POLLIN)
        s_serve_replay (self);
    while (zsock_events (self->pub) & ZMQ_POLLIN)
        s_read_xpub (self);
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

static zsock_t *
s_bind (bench_t *self, int type, int kind)
{
    char endpoint[128];
    config_bind_endpoint (&self->cfg, kind, endpoint, sizeof endpoint);
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    if (type == ZMQ_XPUB)
        zsock_set_sndhwm (sock, 100000);  // as a service's PUB
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        fprintf (stderr, "crm-benchtimer: cannot bind %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
    }
    return sock;
}

static int
s_setup (bench_t *self)
{
    char err[256];
    if (config_load (&self->cfg, "bench", err, sizeof err)) {
        fprintf (stderr, "crm-benchtimer: %s\n", err);
        return -1;
    }
    self->db = db_new (self->cfg.db_user, self->cfg.db_password, "bench");
    self->outbox = outbox_new ("bench");
    if (!self->db || !self->outbox || db_connect (self->db, 10000) != DB_OK) {
        fprintf (stderr, "crm-benchtimer: cannot connect to the database: %s\n",
                 self->db ? db_error (self->db) : "out of memory");
        return -1;
    }
    if (s_migrate (self) || outbox_load (self->outbox, self->db) != DB_OK)
        return -1;
    self->pub = s_bind (self, ZMQ_XPUB, CONFIG_PUB);
    self->replay = s_bind (self, ZMQ_ROUTER, CONFIG_REPLAY);
    self->sub = zsock_new (ZMQ_SUB);
    self->dealer = zsock_new (ZMQ_DEALER);
    char cmd[128], pub[128], replay[128];
    config_peer_endpoint ("timer", CONFIG_CMD, cmd, sizeof cmd);
    config_peer_endpoint ("timer", CONFIG_PUB, pub, sizeof pub);
    config_peer_endpoint ("timer", CONFIG_REPLAY, replay, sizeof replay);
    self->timer_cmd = client_new (cmd);
    if (!self->pub || !self->replay || !self->sub || !self->dealer || !self->timer_cmd)
        return -1;
    zsock_set_rcvhwm (self->sub, 0);  // never drop what we measure
    zsock_set_subscribe (self->sub, "timer.TimerFired");
    zsock_set_subscribe (self->sub, "timer.Heartbeat");
    zsock_set_linger (self->dealer, 0);
    zsock_set_immediate (self->dealer, 1);
    if (zsock_connect (self->sub, "%s", pub) < 0 || zsock_connect (self->dealer, "%s", replay) < 0) {
        fprintf (stderr, "crm-benchtimer: cannot connect to the timer at %s\n", pub);
        return -1;
    }
    consumer_init (&self->timer, "timer", 0);
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
    zsock_destroy (&self->pub);
    zsock_destroy (&self->replay);
    zsock_destroy (&self->sub);
    zsock_destroy (&self->dealer);
    client_destroy (&self->timer_cmd);
    outbox_destroy (&self->outbox);
    db_destroy (&self->db);
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
    while (!zsys_interrupted && !(self.subscribed && self.heard && self.timer_pid)
           && clock_mono_ms () < ready_deadline) {
        s_poll (&self, 50);
        if (self.subscribed && self.heard && !self.timer_pid)
            s_status (&self, 1000);
    }
    if (!(self.subscribed && self.heard && self.timer_pid)) {
        fprintf (stderr,
                 "crm-benchtimer: the timer did not %s within %ld s (is crm-timer running with"
                 " CRM_TIMER_SOURCES=bench, and CRM_TIMER_PORT and CRM_BENCH_PORT set alike?)\n",
                 !self.subscribed ? "subscribe"
                 : !self.heard    ? "send a heartbeat"
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
    while (!zsys_interrupted && self.replay_requests_served == 0 && clock_mono_ms () < ready_deadline + 10000)
        s_poll (&self, 20);
    if (s_wait_applied (&self, outbox_last_sequence (self.outbox), 600000)) {
        fprintf (stderr, "crm-benchtimer: the timer did not catch up with bench's outbox\n");
        s_teardown (&self);
        return 2;
    }
    fprintf (stderr, "crm-benchtimer: timer pid %d, %.0f timers pending before the run\n", self.timer_pid,
             self.pending);

    //  ---- 1. Preload
    uint64_t base = outbox_last_sequence (self.outbox);
    int64_t far = clock_now_ms () + 30 * DAY_MS;
    int64_t t0 = s_mono_us ();
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
                     self.applied - base, (double) (s_mono_us () - t0) / 1e6);
            next_report = clock_mono_ms () + 10000;
        }
    }
    uint64_t last = base + (uint64_t) self.opt.preload;
    if (s_wait_applied (&self, last, 600000)) {
        fprintf (stderr, "crm-benchtimer: the timer did not apply the preload\n");
        s_teardown (&self);
        return 2;
    }
    double preload_s = (double) (s_mono_us () - t0) / 1e6;
    double schedule_per_s = preload_s > 0 ? (double) self.opt.preload / preload_s : 0;
    s_status (&self, 5000);
    long hwm_preload = s_proc_kb (self.timer_pid, "VmHWM");
    long rss_preload = s_proc_kb (self.timer_pid, "VmRSS");
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
        int64_t b0 = s_mono_us ();
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
                 (double) (s_mono_us () - b0) / 1e6);
    }
    //  Let the timer settle (the queue of the preload is gone; checkpoints
    //  and autovacuum are its life too).
    for (int64_t until = clock_mono_ms () + 1000; clock_mono_ms () < until;)
        s_poll (&self, 20);
    int64_t first_due = clock_now_ms () + self.opt.lead_ms;
    int64_t t1 = s_mono_us ();
    long requested = 0, transactions = 0;
    double write_s = -1, apply_s = -1;
    uint64_t measured_last = outbox_last_sequence (self.outbox) + (uint64_t) self.opt.count;
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
            write_s = (double) (s_mono_us () - t1) / 1e6;
        if (apply_s < 0 && clock_mono_ms () >= next_status) {
            if (s_status (&self, 5000) == 0 && self.applied >= measured_last)
                apply_s = (double) (s_mono_us () - t1) / 1e6;
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
    long hwm_measure = s_proc_kb (self.timer_pid, "VmHWM");
    long rss_end = s_proc_kb (self.timer_pid, "VmRSS");
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
            hwm_measure / 1024.0, rss_end / 1024.0, self.replay_requests_served, self.timer_replays);
    printf ("timer_p50_ms=%.0f timer_p99_ms=%.0f timer_max_ms=%.0f schedule_per_s=%.0f timer_rss_mib=%.1f\n",
            F (0.50), F (0.99), n ? (double) self.late_fired[n - 1] : 0.0, schedule_per_s, hwm / 1024.0);
#undef F
#undef R
    fflush (stdout);
    rc = n == self.opt.count && self.duplicates == 0 ? 0 : 1;
    s_teardown (&self);
    return rc;
}

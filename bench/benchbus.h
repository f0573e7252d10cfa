/*  benchbus: what crm-benchbus's two files share: its options and state
    (benchbus.c: options, producing, setup and the run) and its sockets
    (benchbus_net.c: replays served, the subscriber's side, heartbeats;
    the source service and the following of the notifier are source.h's).
*/
#ifndef CRM_BENCH_BENCHBUS_H
#define CRM_BENCH_BENCHBUS_H

#include "benchbus_sink.h"
#include "source.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    long count;         // events to write
    long batch;         // at most this many per transaction
    long rate;          // events/s, 0: as fast as possible
    long size;          // target size of the encoded Envelope, bytes
    long timeout_s;     // give up this long after the last write
    long ready_s;       // wait at most this long for the notifier
    const char *label;  // printed first on the result line
    bool verbose;       // one line on stderr per replay request served
    bool sink;          // the subscriber is crm-benchsink, not the notifier
} options_t;

typedef struct {
    options_t opt;
    source_t src;            // the service "bench"
    zsock_t *sub;            // to the notifier's PUB
    source_peer_t notifier;  // our position in the notifier's outbox (heard: also the sink's Status)
    benchbus_sink_t *sinkw;  // --sink: the sink's Status
    int backend_pid;         // our Postgres backend
    double backend_cpu_ms;   // its CPU at the first write
    bool probed;             // we have answered a replay request with nothing to send
    uint64_t base;           // our outbox's last sequence before this run
    long written;            // events committed
    long transactions;
    int64_t txn_us_total;  // time in s_write_batch (BEGIN to COMMIT + publish)
    int64_t txn_us_max;
    long seen;               // distinct requests seen stored
    uint8_t *seen_map;       // one byte per event
    double *latency_ms;      // one per seen event, in arrival order
    double *to_notifier_ms;  // requested_ms to the notifier's outbox_write stamp (whole ms)
    int64_t first_write_us;  // monotonic
    int64_t last_write_us;
    int64_t last_seen_us;
    long replay_requests_served, replay_events_served;
    long stored_foreign, stored_duplicate;
    char key_prefix[48];
    char text[4096];
} bench_t;

/*  Sends our heartbeat when due, asks the notifier's replay endpoint for
    what we miss, then waits up to timeout_ms for any socket and reads
    everything queued. */
void benchbus_poll (bench_t *self, long timeout_ms);

#endif

/*  benchbus_sink: crm-benchbus's view of crm-benchsink (its --sink mode):
    how far the sink has committed our events, from the applied sequence
    its Status reply gives for our source (the same figure `crmctl status`
    shows). Asking is cheap for the sink: Status is answered from memory,
    outside any transaction.
*/
#ifndef CRM_BENCH_BENCHBUS_SINK_H
#define CRM_BENCH_BENCHBUS_SINK_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct benchbus_sink_t benchbus_sink_t;

/*  Connects to the sink's command endpoint (CRM_BENCHSINK_PORT); source is
    the name whose applied sequence we follow (copied). NULL on failure. */
benchbus_sink_t *benchbus_sink_new (const char *source);

/*  Closes it; nulls *self_p. */
void benchbus_sink_destroy (benchbus_sink_t **self_p);

/*  The socket to poll for replies; owned by it. */
zsock_t *benchbus_sink_sock (benchbus_sink_t *self);

/*  Sends a Status command unless one is in flight (one older than 1 s
    counts as lost) or the last went out less than 5 ms ago, so that asking
    in a loop costs the sink little. now_ms: monotonic. */
void benchbus_sink_ask (benchbus_sink_t *self, int64_t now_ms);

/*  Reads the replies queued on the socket. Returns true if any was a
    Status reply (the sink is up and answering). */
bool benchbus_sink_read (benchbus_sink_t *self);

/*  The source's sequence the sink has committed, as of the last reply. */
uint64_t benchbus_sink_applied (const benchbus_sink_t *self);

#endif

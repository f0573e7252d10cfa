/*  delivery: sends queued notifications to their outbound channels
    (webhook: HTTP POST; e-mail: SMTP), through libcurl's multi interface,
    driven by the service's tick, and records each outcome.

    How it runs without ever blocking the service loop or holding a
    transaction open across the network:
    - tick (inside a batch transaction): writes the outcomes of finished
      transfers (delivered; or pending again after a backoff; or failed
      once the next attempt would fall past CRM_DELIVERY_RETRY_FOR_S after
      the row was queued), then claims due rows (at most
      DELIVERY_MAX_IN_FLIGHT in hand) and builds their requests;
    - committed (after COMMIT, outside any transaction): starts the claimed
      transfers and advances every running one with curl_multi_perform,
      which never waits; finished ones wait, in memory, for the next tick;
    - wake: "at once" when outcomes wait to be written; every
      DELIVERY_PUMP_MS while transfers run (so they advance: a tick that
      has nothing to write costs an empty BEGIN/COMMIT); else the earliest
      due row, or DELIVERY_RESCAN_MS on (rows requeued by hand).
    The multi interface rather than blocking calls with a short timeout:
    one slow receiver then delays nobody else, and the loop still answers
    commands and applies events while transfers run. Each attempt is cut
    off after CRM_DELIVERY_TIMEOUT_MS.

    Delivered is written in the transaction right after the receiver's
    2xx (or the SMTP server's 250), so a restart never sends again what
    was acknowledged and committed. What "at least once" leaves: a crash
    between the acknowledgement and that commit sends it again; receivers
    drop repeats by notification_id (webhook body, e-mail Message-ID).
    A rolled-back batch keeps the outcomes in memory, to be written again.
*/
#ifndef CRM_NOTIFIER_DELIVERY_H
#define CRM_NOTIFIER_DELIVERY_H

#include "service.h"

#include <stdint.h>

#define DELIVERY_MAX_IN_FLIGHT 16
#define DELIVERY_PUMP_MS 20
#define DELIVERY_RESCAN_MS 60000  // the queue is looked at this often even with nothing due

typedef struct {
    int timeout_ms;  // CRM_DELIVERY_TIMEOUT_MS: one attempt, default 10000
    int backoff_ms;  // CRM_DELIVERY_BACKOFF_MS: wait after the first failure, doubled after each, default 1000
    int backoff_max_ms;   // CRM_DELIVERY_BACKOFF_MAX_MS: the longest wait, default 600000 (10 min)
    int retry_for_s;      // CRM_DELIVERY_RETRY_FOR_S: give up this long after queueing, default 86400
    char smtp_url[512];   // CRM_SMTP_URL, e.g. smtp://mail.example.com:25 ("": e-mail attempts fail)
    char smtp_from[256];  // CRM_SMTP_FROM, default crm@localhost
} delivery_config_t;

typedef struct delivery_t delivery_t;

/*  Reads the settings above from the environment. Returns 0, or -1 with a
    sentence naming the variable at fault in err (err_size bytes). */
int delivery_config_load (delivery_config_t *cfg, char *err, size_t err_size);

/*  Creates the sender (initialises libcurl). NULL on failure; caller owns
    it. Pending rows are looked for at the first tick. */
delivery_t *delivery_new (const delivery_config_t *cfg);

/*  Abandons running transfers (their rows stay pending: sent again after
    a restart) and frees it; nulls *self_p. */
void delivery_destroy (delivery_t **self_p);

/*  New rows were queued (in the open transaction): look at the next tick. */
void delivery_kick (delivery_t *self);

/*  The service hooks (see above). tick emits NotificationDelivered and
    NotificationFailed through svc. */
int64_t delivery_wake (delivery_t *self);
service_rc_t delivery_tick (delivery_t *self, service_t *svc, int64_t now_ms);
void delivery_committed (delivery_t *self);
void delivery_reset (delivery_t *self);

/*  Adds the figures for Status: per channel, deliveries delivered, failed
    and attempts retried since start; rows pending (as of the last look)
    and transfers running. */
void delivery_metrics (delivery_t *self, service_metrics_t *metrics);

#endif

/*  stats: the service runtime's counters (events published and applied
    per type, commands per type and outcome, dead letters, batch timing),
    read by GET /metrics and Status. Pure bookkeeping, no sockets, no
    database: unit-tested in tests/unit/test_stats.c.
*/
#ifndef CRM_STATS_H
#define CRM_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define STATS_MAX_TYPES 64  // more distinct types than this count as "other"
#define STATS_TYPE_MAX 48   // bytes of a type name kept
#define STATS_BUCKETS 13

//  Upper bounds (seconds) of the batch-duration histogram's buckets; the
//  last bucket, +Inf, is implicit.
extern const double stats_bucket_bounds[STATS_BUCKETS];

typedef struct {
    char type[STATS_TYPE_MAX];
    uint64_t published;       // events of this type committed to the outbox
    uint64_t applied;         // events of this type applied from sources
    uint64_t commands_ok;     // commands of this type answered without error
    uint64_t commands_error;  // answered with an error
} stats_type_t;

typedef struct {
    stats_type_t types[STATS_MAX_TYPES];
    int n_types;
    uint64_t dead_letters;                // recorded since start
    uint64_t retried;                     // dead letters re-applied by RetryDeadLetter
    uint64_t buckets[STATS_BUCKETS + 1];  // batches per bucket (not cumulative)
    uint64_t batches;                     // committed batches
    uint64_t batch_items;                 // work items in them
    double batch_seconds;                 // their total apply time
    double batch_max_seconds;
} stats_t;

/*  An event of type was committed to the outbox (and published). */
void stats_published (stats_t *self, const char *type);

/*  An event of type from a source was applied (committed). */
void stats_applied (stats_t *self, const char *type);

/*  A command of type was answered, ok or with an error. */
void stats_command (stats_t *self, const char *type, bool ok);

/*  A batch of items work items committed after seconds of work (from
    BEGIN to COMMIT). */
void stats_batch (stats_t *self, double seconds, uint64_t items);

/*  Sums over every type: events published, and applied. */
uint64_t stats_total_published (const stats_t *self);
uint64_t stats_total_applied (const stats_t *self);

/*  Writes the counters and the histogram in Prometheus' text format 0.0.4
    (HELP and TYPE lines, then samples), every sample labelled
    service="<service>". */
void stats_write (const stats_t *self, const char *service, FILE *out);

/*  Writes value as a Prometheus label value (quotes, backslashes and
    newlines escaped) to out, without the surrounding quotes. */
void stats_write_label (FILE *out, const char *value);

#endif

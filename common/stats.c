/*  stats: see stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

//  From a millisecond (a batch of one small command) to ten seconds (a
//  batch stuck on a lock or a slow disk).
const double stats_bucket_bounds[STATS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,     10};

//  The entry of type, made if new; the last slot collects the rest.
static stats_type_t *
s_type (stats_t *self, const char *type)
{
    for (int i = 0; i < self->n_types; i++)
        if (strncmp (self->types[i].type, type, STATS_TYPE_MAX - 1) == 0)
            return &self->types[i];
    if (self->n_types == STATS_MAX_TYPES - 1) {
        stats_type_t *other = &self->types[STATS_MAX_TYPES - 1];
        snprintf (other->type, sizeof other->type, "other");
        return other;
    }
    stats_type_t *t = &self->types[self->n_types++];
    snprintf (t->type, sizeof t->type, "%s", type);
    return t;
}

void
stats_published (stats_t *self, const char *type)
{
    s_type (self, type)->published++;
}

void
stats_applied (stats_t *self, const char *type)
{
    s_type (self, type)->applied++;
}

void
stats_command (stats_t *self, const char *type, bool ok)
{
    stats_type_t *t = s_type (self, type);
    if (ok)
        t->commands_ok++;
    else
        t->commands_error++;
}

void
stats_batch (stats_t *self, double seconds, uint64_t items)
{
    int b = 0;
    while (b < STATS_BUCKETS && seconds > stats_bucket_bounds[b])
        b++;
    self->buckets[b]++;
    self->batches++;
    self->batch_items += items;
    self->batch_seconds += seconds;
    if (seconds > self->batch_max_seconds)
        self->batch_max_seconds = seconds;
}

uint64_t
stats_total_published (const stats_t *self)
{
    uint64_t n = 0;
    for (int i = 0; i < STATS_MAX_TYPES; i++)
        n += self->types[i].published;
    return n;
}

uint64_t
stats_total_applied (const stats_t *self)
{
    uint64_t n = 0;
    for (int i = 0; i < STATS_MAX_TYPES; i++)
        n += self->types[i].applied;
    return n;
}

void
stats_write_label (FILE *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc ('\\', out);
        if (*p == '\n')
            fputs ("\\n", out);
        else
            fputc (*p, out);
    }
}

static void
s_family (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  One sample per type whose field is not 0; extra: one more label pair
//  (e.g. "outcome=\"ok\"") or NULL.
static void
s_per_type (const stats_t *self, FILE *out, const char *service, const char *name, size_t offset,
            const char *extra)
{
    for (int i = 0; i < STATS_MAX_TYPES; i++) {
        const stats_type_t *t = &self->types[i];
        uint64_t value = *(const uint64_t *) (const void *) ((const char *) t + offset);
        if (!*t->type || value == 0)
            continue;
        fprintf (out, "%s{service=\"%s\",type=\"", name, service);
        stats_write_label (out, t->type);
        fprintf (out, "\"%s%s} %" PRIu64 "\n", extra ? "," : "", extra ? extra : "", value);
    }
}

void
stats_write (const stats_t *self, const char *service, FILE *out)
{
    s_family (out, "crm_events_published_total", "counter",
              "Events this service committed to its outbox and published, by type.");
    s_per_type (self, out, service, "crm_events_published_total", offsetof (stats_type_t, published), NULL);
    s_family (out, "crm_events_applied_total", "counter",
              "Events from other services applied here (committed), by type.");
    s_per_type (self, out, service, "crm_events_applied_total", offsetof (stats_type_t, applied), NULL);
    s_family (out, "crm_commands_total", "counter", "Commands answered, by type and outcome (ok, error).");
    s_per_type (self, out, service, "crm_commands_total", offsetof (stats_type_t, commands_ok),
                "outcome=\"ok\"");
    s_per_type (self, out, service, "crm_commands_total", offsetof (stats_type_t, commands_error),
                "outcome=\"error\"");
    s_family (out, "crm_dead_letters_recorded_total", "counter",
              "Dead letters recorded since the service started.");
    fprintf (out, "crm_dead_letters_recorded_total{service=\"%s\"} %" PRIu64 "\n", service,
             self->dead_letters);
    s_family (out, "crm_dead_letters_retried_total", "counter",
              "Dead letters re-applied successfully (RetryDeadLetter) since the service started.");
    fprintf (out, "crm_dead_letters_retried_total{service=\"%s\"} %" PRIu64 "\n", service, self->retried);
    s_family (
        out, "crm_batch_duration_seconds", "histogram",
        "Time to apply one batch of work in one transaction, from BEGIN to COMMIT (committed batches).");
    uint64_t cumulative = 0;
    for (int b = 0; b <= STATS_BUCKETS; b++) {
        cumulative += self->buckets[b];
        if (b < STATS_BUCKETS)
            fprintf (out, "crm_batch_duration_seconds_bucket{service=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                     service, stats_bucket_bounds[b], cumulative);
        else
            fprintf (out, "crm_batch_duration_seconds_bucket{service=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                     service, cumulative);
    }
    fprintf (out, "crm_batch_duration_seconds_sum{service=\"%s\"} %.6f\n", service, self->batch_seconds);
    fprintf (out, "crm_batch_duration_seconds_count{service=\"%s\"} %" PRIu64 "\n", service, self->batches);
    s_family (out, "crm_batch_items_total", "counter",
              "Work items (events, commands, intake messages) in committed batches.");
    fprintf (out, "crm_batch_items_total{service=\"%s\"} %" PRIu64 "\n", service, self->batch_items);
}

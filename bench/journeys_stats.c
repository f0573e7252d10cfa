/*  journeys_stats: see journeys_stats.h. */
#include "journeys_stats.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPES 128  // "source.Type" names; more are counted as the last one
#define MAX_COMMANDS 32

typedef struct {
    uint64_t id, cause;  // hashes of event_id and causation_id
    int64_t time_ms;
    uint16_t type;
} rec_t;

typedef struct {
    int64_t *v;
    size_t n, cap;
} vec_t;

typedef struct {
    uint16_t cause, effect;
    vec_t ms;
} pair_t;

struct jstats_t {
    rec_t *recs;
    size_t n, cap;
    char *types[MAX_TYPES];
    size_t n_types;
    char *commands[MAX_COMMANDS];
    vec_t rtt_us[MAX_COMMANDS];
    size_t n_commands;
};

jstats_t *
jstats_new (void)
{
    return calloc (1, sizeof (jstats_t));
}

void
jstats_destroy (jstats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jstats_t *self = *self_p;
    free (self->recs);
    for (size_t i = 0; i < self->n_types; i++)
        free (self->types[i]);
    for (size_t i = 0; i < self->n_commands; i++) {
        free (self->commands[i]);
        free (self->rtt_us[i].v);
    }
    free (self);
    *self_p = NULL;
}

//  FNV-1a, then a 64-bit finaliser (splitmix64); never 0 (the map's empty).
static uint64_t
s_hash (const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h ? h : 1;
}

static int
s_push (vec_t *vec, int64_t value)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 64;
        int64_t *v = realloc (vec->v, cap * sizeof *v);
        if (!v)
            return -1;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = value;
    return 0;
}

//  Index of name in names (n of them, at most max), added if new; the last
//  index when the table is full; -1 on out-of-memory.
static int
s_intern (char **names, size_t *n, size_t max, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp (names[i], name) == 0)
            return (int) i;
    if (*n == max)
        return (int) max - 1;
    if (!(names[*n] = strdup (name)))
        return -1;
    return (int) (*n)++;
}

int
jstats_event (jstats_t *self, const Crm__V1__Envelope *event)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 65536;
        rec_t *recs = realloc (self->recs, cap * sizeof *recs);
        if (!recs)
            return -1;
        self->recs = recs;
        self->cap = cap;
    }
    char name[128];
    snprintf (name, sizeof name, "%s.%s", event->source, event->type);
    int type = s_intern (self->types, &self->n_types, MAX_TYPES, name);
    if (type < 0)
        return -1;
    rec_t *r = &self->recs[self->n];
    *r = (rec_t){.id = s_hash (event->event_id),
                 .cause = *event->causation_id ? s_hash (event->causation_id) : 0,
                 .time_ms = event->time_ms,
                 .type = (uint16_t) type};
    self->n++;
    return 0;
}

int
jstats_command (jstats_t *self, const char *type, int64_t rtt_us)
{
    int i = s_intern (self->commands, &self->n_commands, MAX_COMMANDS, type);
    return i < 0 ? -1 : s_push (&self->rtt_us[i], rtt_us);
}

//  ---------------------------------------------------------------- report

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

//  Nearest rank: the ceil (p * n)-th smallest of sorted v.
static double
s_pct (const vec_t *vec, double p)
{
    if (vec->n == 0)
        return 0;
    double exact = p * (double) vec->n;
    size_t rank = (size_t) exact;
    if ((double) rank < exact)
        rank++;
    rank = rank < 1 ? 1 : rank > vec->n ? vec->n : rank;
    return (double) vec->v[rank - 1];
}

//  Open addressing, linear probing: hash -> record index + 1.
typedef struct {
    uint64_t *keys;
    uint32_t *values;
    size_t mask;
} map_t;

static void
s_map_put (map_t *map, uint64_t key, uint32_t value)
{
    size_t i = key & map->mask;
    while (map->keys[i] && map->keys[i] != key)
        i = (i + 1) & map->mask;
    if (!map->keys[i]) {
        map->keys[i] = key;
        map->values[i] = value;
    }
}

static uint32_t
s_map_get (const map_t *map, uint64_t key)
{
    for (size_t i = key & map->mask; map->keys[i]; i = (i + 1) & map->mask)
        if (map->keys[i] == key)
            return map->values[i];
    return 0;
}

static int
s_cmp_pair (const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    return (x->ms.n < y->ms.n) - (x->ms.n > y->ms.n);
}

int
jstats_report (jstats_t *self, FILE *out, int64_t from_ms, int64_t to_ms, jstats_summary_t *summary)
{
    *summary = (jstats_summary_t){0};
    int rc = -1;
    map_t map = {0};
    pair_t *pairs = NULL;
    size_t n_pairs = 0;
    int16_t *index = malloc (MAX_TYPES * MAX_TYPES * sizeof *index);
    vec_t all = {0};
    size_t cap = 1024;
    while (cap < 4 * (self->n + 1))
        cap *= 2;
    map.keys = calloc (cap, sizeof *map.keys);
    map.values = calloc (cap, sizeof *map.values);
    map.mask = cap - 1;
    pairs = calloc (MAX_TYPES * MAX_TYPES / 4, sizeof *pairs);
    if (!index || !map.keys || !map.values || !pairs)
        goto cleanup;
    for (size_t i = 0; i < MAX_TYPES * MAX_TYPES; i++)
        index[i] = -1;

    //  Events in the window, by type.
    uint64_t by_type[MAX_TYPES] = {0};
    for (size_t i = 0; i < self->n; i++)
        if (self->recs[i].time_ms >= from_ms && self->recs[i].time_ms <= to_ms) {
            by_type[self->recs[i].type]++;
            summary->events++;
        }
    double window_s = (double) (to_ms - from_ms) / 1000.0;
    summary->events_per_s = window_s > 0 ? (double) summary->events / window_s : 0;
    fprintf (out,
             "events committed by the services in the run's window (%.1f s): %" PRIu64
             " (%.0f/s); by type:\n",
             window_s, summary->events, summary->events_per_s);
    for (size_t t = 0; t < self->n_types; t++)
        if (by_type[t])
            fprintf (out, "  %-40s %9" PRIu64 "\n", self->types[t], by_type[t]);

    //  Automatic steps: causation_id names a recorded event.
    for (size_t i = 0; i < self->n; i++)
        s_map_put (&map, self->recs[i].id, (uint32_t) i + 1);
    for (size_t i = 0; i < self->n; i++) {
        const rec_t *e = &self->recs[i];
        uint32_t c = e->cause ? s_map_get (&map, e->cause) : 0;
        if (!c)
            continue;
        const rec_t *cause = &self->recs[c - 1];
        int16_t *slot = &index[cause->type * MAX_TYPES + e->type];
        if (*slot < 0) {
            if (n_pairs == MAX_TYPES * MAX_TYPES / 4)
                continue;
            pairs[n_pairs] = (pair_t){.cause = cause->type, .effect = e->type};
            *slot = (int16_t) n_pairs++;
        }
        int64_t ms = e->time_ms - cause->time_ms;
        if (s_push (&pairs[*slot].ms, ms) || s_push (&all, ms))
            goto cleanup;
    }
    qsort (all.v, all.n, sizeof *all.v, s_cmp_i64);
    summary->steps = all.n;
    summary->step_p50_ms = s_pct (&all, 0.50);
    summary->step_p99_ms = s_pct (&all, 0.99);
    summary->step_max_ms = all.n ? (double) all.v[all.n - 1] : 0;
    fprintf (out, "automatic steps (cause event -> effect event, effect.time_ms - cause.time_ms):\n");
    fprintf (out, "  %-64s %8s %7s %7s %7s\n", "cause -> effect", "count", "p50_ms", "p99_ms", "max_ms");
    for (size_t p = 0; p < n_pairs; p++)
        qsort (pairs[p].ms.v, pairs[p].ms.n, sizeof (int64_t), s_cmp_i64);
    qsort (pairs, n_pairs, sizeof *pairs, s_cmp_pair);
    for (size_t p = 0; p < n_pairs; p++) {
        char step[160];
        snprintf (step, sizeof step, "%s -> %s", self->types[pairs[p].cause], self->types[pairs[p].effect]);
        fprintf (out, "  %-64s %8zu %7.0f %7.0f %7.0f\n", step, pairs[p].ms.n, s_pct (&pairs[p].ms, 0.5),
                 s_pct (&pairs[p].ms, 0.99), (double) pairs[p].ms.v[pairs[p].ms.n - 1]);
    }
    fprintf (out, "  %-64s %8zu %7.0f %7.0f %7.0f\n", "all automatic steps", all.n, summary->step_p50_ms,
             summary->step_p99_ms, summary->step_max_ms);

    fprintf (out, "commands (the staff's and the other system's; send -> reply, after commit):\n");
    fprintf (out, "  %-20s %8s %8s %8s %8s\n", "command", "count", "p50_ms", "p99_ms", "max_ms");
    for (size_t i = 0; i < self->n_commands; i++) {
        vec_t *v = &self->rtt_us[i];
        qsort (v->v, v->n, sizeof *v->v, s_cmp_i64);
        fprintf (out, "  %-20s %8zu %8.1f %8.1f %8.1f\n", self->commands[i], v->n, s_pct (v, 0.5) / 1000.0,
                 s_pct (v, 0.99) / 1000.0, v->n ? (double) v->v[v->n - 1] / 1000.0 : 0.0);
    }
    rc = 0;
cleanup:
    for (size_t p = 0; pairs && p < n_pairs; p++)
        free (pairs[p].ms.v);
    free (pairs);
    free (index);
    free (map.keys);
    free (map.values);
    free (all.v);
    return rc;
}

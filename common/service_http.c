/*  service_http: the service runtime's HTTP side (see service.h): GET
    /metrics, GET /health, the routes a service adds, and commands submitted
    from inside the service (service_submit), whose replies go to a
    callback instead of a client socket.
*/
#include "service_private.h"
#include "clock.h"
#include "log.h"
#include "utf8.h"

#include <json-c/json.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Commands from inside

int
service_submit (service_t *self, const Crm__V1__Command *command, service_done_fn *done, void *arg)
{
    //  An owned copy, as batch_read_command has from the wire.
    size_t len = crm__v1__command__get_packed_size (command);
    uint8_t *buf = malloc (len ? len : 1);
    if (!buf)
        return -1;
    crm__v1__command__pack (command, buf);
    Crm__V1__Command *copy = crm__v1__command__unpack (NULL, len, buf);
    free (buf);
    if (!copy)
        return -1;
    work_t w = {.kind = WORK_COMMAND, .command = copy, .done = done, .done_arg = arg};
    int h = -1;
    for (int i = 0; i < self->command_count && h < 0; i++)
        if (strcmp (self->commands[i].type, copy->type) == 0)
            h = i;
    if (h < 0 || !self->commands[h].needs_db) {
        //  Answered at once: no such command, or one that needs no batch.
        if (h < 0)
            service_reply_error (&w.reply, "UNKNOWN_COMMAND", "no such command", (const char *[]){"type"}, 1);
        else
            self->commands[h].fn (self, copy, self->commands[h].arg, &w.reply);
        service_reply_work (self, &w);
        batch_work_free (&w);
        return 0;
    }
    *batch_push (self, WORK_COMMAND) = w;
    return 0;
}

//  --------------------------------------------------------------------------
//  GET /metrics

uint64_t
service_outbox_retained (service_t *self)
{
    uint64_t last = outbox_last_sequence (self->outbox);
    uint64_t first = self->outbox_first ? self->outbox_first : 1;
    return last >= first ? last - first + 1 : 0;
}

static void
s_gauge (FILE *out, const char *name, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

//  A Status figure's name as a metric name: [a-zA-Z0-9_], prefixed crm_.
static void
s_metric_name (char *out, size_t size, const char *name)
{
    int n = snprintf (out, size, "crm_%s", name);
    for (int i = 4; i < n && out[i]; i++)
        if (!isalnum ((unsigned char) out[i]) && out[i] != '_')
            out[i] = '_';
}

static void
s_write_metrics (service_t *self, FILE *out)
{
    const char *svc = self->cfg.service;
    stats_write (&self->stats, svc, out);
    s_gauge (out, "crm_consumer_lag",
             "Events a source announced that are not applied here yet (latest - applied).");
    for (int i = 0; i < self->source_count; i++)
        fprintf (out, "crm_consumer_lag{service=\"%s\",source=\"%s\"} %" PRIu64 "\n", svc,
                 self->sources[i].state.source, consumer_lag (&self->sources[i].state));
    s_gauge (out, "crm_consumer_applied_sequence", "The last sequence of a source applied here.");
    for (int i = 0; i < self->source_count; i++)
        fprintf (out, "crm_consumer_applied_sequence{service=\"%s\",source=\"%s\"} %" PRIu64 "\n", svc,
                 self->sources[i].state.source, self->sources[i].state.applied);
    s_gauge (out, "crm_outbox_last_sequence", "The last sequence committed to this service's outbox.");
    fprintf (out, "crm_outbox_last_sequence{service=\"%s\"} %" PRIu64 "\n", svc,
             outbox_last_sequence (self->outbox));
    s_gauge (out, "crm_outbox_backlog_events",
             "Events in the outbox, kept for replay to subscribers that fall behind (pruned after "
             "CRM_OUTBOX_RETENTION_S).");
    fprintf (out, "crm_outbox_backlog_events{service=\"%s\"} %" PRIu64 "\n", svc,
             service_outbox_retained (self));
    s_gauge (out, "crm_outbox_pending_events", "Events emitted in the open transaction, not yet published.");
    fprintf (out, "crm_outbox_pending_events{service=\"%s\"} %zu\n", svc, outbox_pending (self->outbox));
    s_gauge (out, "crm_dead_letters", "Open dead letters (rows of dead_letter not applied by a retry).");
    fprintf (out, "crm_dead_letters{service=\"%s\"} %" PRIu64 "\n", svc, self->dead_letters);
    fprintf (out, "# HELP crm_db_reconnects_total Database connections made after the first.\n"
                  "# TYPE crm_db_reconnects_total counter\n");
    fprintf (out, "crm_db_reconnects_total{service=\"%s\"} %" PRIu64 "\n", svc, db_reconnects (self->db));
    s_gauge (out, "crm_database_up", "1 when the database connection is up (as of its last use).");
    fprintf (out, "crm_database_up{service=\"%s\"} %d\n", svc, db_is_up (self->db) ? 1 : 0);
    s_gauge (out, "crm_process_start_time_seconds", "When the service started, seconds since the epoch.");
    fprintf (out, "crm_process_start_time_seconds{service=\"%s\"} %.3f\n", svc,
             (double) self->started_ms / 1000);
    //  The service's own figures, as in Status (e.g. the timer's pending
    //  timers and lateness, the notifier's deliveries).
    service_metrics_t metrics = {0};
    if (self->metrics)
        self->metrics (self, self->metrics_arg, &metrics);
    for (size_t i = 0; i < metrics.count; i++) {
        char name[64];
        s_metric_name (name, sizeof name, metrics.names[i]);
        fprintf (out, "# HELP %s %s's figure %s, as crmctl status shows it.\n# TYPE %s gauge\n", name, svc,
                 metrics.names[i], name);
        fprintf (out, "%s{service=\"%s\"} %.17g\n", name, svc, metrics.items[i].value);
    }
}

static void
s_metrics (service_t *self, http_request_t *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    if (!out) {
        http_respond (req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    s_write_metrics (self, out);
    fclose (out);
    http_respond (req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free (text);
}

//  --------------------------------------------------------------------------
//  GET /health

//  Ready when the database is up and the bus is: our sockets are bound
//  (they are, or the service would not run) and the loop that serves them
//  runs (it is the one answering). A silent source is reported, not held
//  against us: a consumer can do its work, and catches up by replay, while
//  a peer is away, and its readiness should not fall with the peer's.
//  {"source","applied","latest","lag"} of one source; NULL when out of memory.
static json_object *
s_health_source (const consumer_t *state)
{
    json_object *item = json_object_new_object ();
    int rc = http_json_add (item, "source", json_object_new_string (state->source));
    rc |= http_json_add (item, "applied", json_object_new_uint64 (state->applied));
    rc |= http_json_add (item, "latest", json_object_new_uint64 (state->latest));
    rc |= http_json_add (item, "lag", json_object_new_uint64 (consumer_lag (state)));
    if (rc == 0)
        return item;
    json_object_put (item);
    return NULL;
}

static void
s_health (service_t *self, http_request_t *req)
{
    bool db_up = db_is_up (self->db);
    json_object *root = json_object_new_object ();
    int rc = http_json_add (root, "status", json_object_new_string (db_up ? "ready" : "unavailable"));
    rc |= http_json_add (root, "service", json_object_new_string (self->cfg.service));
    rc |= http_json_add (root, "database", json_object_new_string (db_up ? "up" : "down"));
    rc |= http_json_add (root, "bus", json_object_new_string ("up"));
    if (!db_up) {
        char why[600];
        snprintf (why, sizeof why, "database down: %s", db_error (self->db));
        utf8_scrub (why);  // the cut may split a character; json-c writes bytes as they are
        json_object *reasons = json_object_new_array ();
        json_object *reason = json_object_new_string (why);
        if (!reasons || !reason || json_object_array_add (reasons, reason) != 0) {
            json_object_put (reason);
            rc = -1;
        }
        rc |= http_json_add (root, "reasons", reasons);
    }
    json_object *sources = json_object_new_array ();
    for (int i = 0; i < self->source_count && sources && rc == 0; i++) {
        json_object *item = s_health_source (&self->sources[i].state);
        if (!item || json_object_array_add (sources, item) != 0) {
            json_object_put (item);
            rc = -1;
        }
    }
    rc |= http_json_add (root, "sources", sources);
    rc |= http_json_add (root, "dead_letters", json_object_new_uint64 (self->dead_letters));
    if (rc != 0) {
        json_object_put (root);
        root = NULL;
    }
    http_respond_json (req, db_up ? 200 : 503, root);
}

//  --------------------------------------------------------------------------
//  Routing

void
service_on_http (service_t *self, const char *method, const char *path, service_http_fn *fn, void *arg)
{
    assert (self->route_count < MAX_ROUTES);
    snprintf (self->routes[self->route_count].method, sizeof self->routes[0].method, "%s", method);
    snprintf (self->routes[self->route_count].path, sizeof self->routes[0].path, "%s", path);
    self->routes[self->route_count].fn = fn;
    self->routes[self->route_count++].arg = arg;
}

static void
s_route (http_request_t *req, void *arg)
{
    service_t *self = arg;
    const char *method = http_method (req), *path = http_path (req);
    bool get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    if (strcmp (path, "/metrics") == 0 || strcmp (path, "/health") == 0) {
        if (!get) {
            http_add_header (req, "Allow", "GET, HEAD");
            http_respond_error (req, 405, "METHOD_NOT_ALLOWED", "use GET", NULL, 0);
        }
        else if (path[1] == 'm')
            s_metrics (self, req);
        else
            s_health (self, req);
        return;
    }
    char allow[64] = "";
    for (int i = 0; i < self->route_count; i++) {
        if (strcmp (self->routes[i].path, path) != 0)
            continue;
        if (strcmp (self->routes[i].method, method) == 0) {
            self->routes[i].fn (self, req, self->routes[i].arg);
            return;
        }
        size_t used = strlen (allow);
        snprintf (allow + used, sizeof allow - used, "%s%s", used ? ", " : "", self->routes[i].method);
    }
    if (*allow) {
        http_add_header (req, "Allow", allow);
        http_respond_error (req, 405, "METHOD_NOT_ALLOWED", "method not allowed here", NULL, 0);
    }
    else
        http_respond_error (req, 404, "NOT_FOUND", "no such path", NULL, 0);
}

int
service_http_start (service_t *self)
{
    if (self->cfg.http_port == 0)
        return 0;
    self->http =
        http_new (self->cfg.bind_addr, self->cfg.http_port, (size_t) self->cfg.http_max_body, s_route, self);
    return self->http ? 0 : -1;
}

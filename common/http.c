/*  http: see http.h. */
#define _POSIX_C_SOURCE 200809L
#include "http.h"
#include "log.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_HEADERS 4
#define CONNECTION_LIMIT 256
#define CONNECTION_TIMEOUT_S 30
//  A chunked body past the limit is read and dropped so that the client gets
//  its 413 (MHD answers only once the request is in); one that goes on past
//  this many times the limit is cut off.
#define DISCARD_FACTOR 16

struct http_request_t {
    http_t *owner;
    struct MHD_Connection *conn;
    char method[16];
    char *path;
    char peer[64];
    char *body;  // NUL-terminated
    size_t len;
    size_t cap;
    size_t discarded;  // bytes dropped past the limit
    bool too_large;
    bool deferred;   // the handler will answer later
    bool suspended;  // and MHD holds the connection until it does
    bool answered;   // the answer below is set
    bool queued;     // handed to MHD
    int status;
    char content_type[64];
    char *out;
    size_t out_len;
    char headers[MAX_HEADERS][2][128];
    int n_headers;
    http_request_t *prev, *next;  // in owner's list of suspended requests
    void *data;                   // http_data's
};

struct http_t {
    struct MHD_Daemon *daemon;
    http_handler_fn *handler;
    void *arg;
    size_t max_body;
    http_request_t *deferred;  // suspended requests: resumed before MHD stops
    bool pending;              // a deferred request was answered: run MHD again
    bool stopping;             // in http_destroy: no handler runs any more
};

//  --------------------------------------------------------------------------
//  Requests

static void
s_unlink (http_request_t *req)
{
    http_t *self = req->owner;
    if (req->prev)
        req->prev->next = req->next;
    else if (self->deferred == req)
        self->deferred = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

static void
s_request_free (http_request_t *req)
{
    if (req->suspended)
        s_unlink (req);
    free (req->data);
    free (req->path);
    free (req->body);
    free (req->out);
    free (req);
}

const char *
http_method (const http_request_t *req)
{
    return req->method;
}

const char *
http_path (const http_request_t *req)
{
    return req->path;
}

const char *
http_header (const http_request_t *req, const char *name)
{
    return MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, name);
}

const char *
http_peer (const http_request_t *req)
{
    return req->peer;
}

const char *
http_body (const http_request_t *req, size_t *len)
{
    *len = req->len;
    return req->body ? req->body : "";
}

void
http_add_header (http_request_t *req, const char *name, const char *value)
{
    if (req->answered || req->n_headers == MAX_HEADERS)
        return;
    snprintf (req->headers[req->n_headers][0], sizeof req->headers[0][0], "%s", name);
    snprintf (req->headers[req->n_headers][1], sizeof req->headers[0][1], "%s", value);
    req->n_headers++;
}

void
http_respond (http_request_t *req, int status, const char *content_type, const char *body, size_t len)
{
    if (req->answered)
        return;
    req->out = malloc (len ? len : 1);
    if (req->out) {
        memcpy (req->out, body, len);
        req->out_len = len;
        req->status = status;
        snprintf (req->content_type, sizeof req->content_type, "%s", content_type);
    }
    else
        req->status = 500;
    req->answered = true;
    if (req->suspended) {
        s_unlink (req);
        req->suspended = false;
        MHD_resume_connection (req->conn);
        req->owner->pending = true;
    }
}

void
http_respond_json (http_request_t *req, int status, json_object *root)
{
    const char *text =
        root ? json_object_to_json_string_ext (root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
             : NULL;
    if (text)
        http_respond (req, status, "application/json", text, strlen (text));
    else
        http_respond (req, 500, "text/plain", "out of memory\n", 14);
    json_object_put (root);
}

void
http_respond_error (http_request_t *req, int status, const char *code, const char *message,
                    const char *const *fields, size_t n_fields)
{
    json_object *root = json_object_new_object (), *error = json_object_new_object ();
    json_object *list = json_object_new_array ();
    int rc = 0;
    for (size_t i = 0; i < n_fields && rc == 0 && list; i++) {
        json_object *field = json_object_new_string (fields[i]);
        if (!field || json_object_array_add (list, field) != 0) {
            json_object_put (field);
            rc = -1;
        }
    }
    rc |= http_json_add (error, "code", json_object_new_string (code));
    rc |= http_json_add (error, "message", json_object_new_string (message));
    rc |= http_json_add (error, "fields", list);
    rc |= http_json_add (root, "error", error);
    if (rc != 0) {
        json_object_put (root);
        root = NULL;
    }
    http_respond_json (req, status, root);
}

int
http_json_add (json_object *obj, const char *key, json_object *value)
{
    if (obj && value && json_object_object_add (obj, key, value) == 0)
        return 0;
    json_object_put (value);
    return -1;
}

void
http_defer (http_request_t *req)
{
    if (!req->answered)
        req->deferred = true;
}

void *
http_data (http_request_t *req, size_t size)
{
    if (!req->data)
        req->data = calloc (1, size);
    return req->data;
}

//  --------------------------------------------------------------------------
//  MHD's callbacks

static enum MHD_Result
s_queue (http_request_t *req)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        req->out_len, req->out ? req->out : (void *) "", MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    if (*req->content_type)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    for (int i = 0; i < req->n_headers; i++)
        MHD_add_response_header (response, req->headers[i][0], req->headers[i][1]);
    enum MHD_Result rc = MHD_queue_response (req->conn, (unsigned) req->status, response);
    MHD_destroy_response (response);
    req->queued = true;
    return rc;
}

static void
s_too_large (http_request_t *req)
{
    char message[128];
    snprintf (message, sizeof message, "the body is over %zu bytes (CRM_HTTP_MAX_BODY_BYTES)",
              req->owner->max_body);
    http_respond_error (req, 413, "TOO_LARGE", message, NULL, 0);
}

static void
s_stopping (http_request_t *req)
{
    http_respond_error (req, 503, "UNAVAILABLE", "the service is stopping", NULL, 0);
}

//  Appends a piece of the body; past the limit the request is marked too
//  large and the rest is dropped. Returns false to cut the connection.
static bool
s_append (http_request_t *req, const char *data, size_t size)
{
    size_t max = req->owner->max_body;
    if (!req->too_large && req->len + size > max) {
        req->too_large = true;
        free (req->body);
        req->body = NULL;
        req->len = req->cap = 0;
    }
    if (req->too_large) {
        req->discarded += size;
        return req->discarded <= max * DISCARD_FACTOR;
    }
    if (req->len + size + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 1024;
        while (cap < req->len + size + 1)
            cap *= 2;
        char *body = realloc (req->body, cap);
        if (!body)
            return false;
        req->body = body;
        req->cap = cap;
    }
    memcpy (req->body + req->len, data, size);
    req->len += size;
    req->body[req->len] = 0;
    return true;
}

static void
s_peer (http_request_t *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, req->peer,
                   sizeof req->peer);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr, req->peer,
                   sizeof req->peer);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
          const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    http_t *self = cls;
    http_request_t *req = *con_cls;
    if (!req) {  // the headers are in
        req = calloc (1, sizeof *req);
        if (!req || !(req->path = strdup (url))) {
            free (req);
            return MHD_NO;
        }
        req->owner = self;
        req->conn = conn;
        snprintf (req->method, sizeof req->method, "%s", method);
        s_peer (req);
        *con_cls = req;
        const char *length =
            MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull (length, NULL, 10) > self->max_body) {
            //  Answered before the body is read: MHD then drops it.
            s_too_large (req);
            return s_queue (req);
        }
        return MHD_YES;
    }
    if (req->answered && !req->queued)
        return s_queue (req);  // answered while suspended, now resumed
    if (*upload_data_size) {
        bool ok = s_append (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    if (req->queued)
        return MHD_YES;
    if (req->too_large)
        s_too_large (req);
    else if (self->stopping)  // the handler's owner is going away
        s_stopping (req);
    else
        self->handler (req, self->arg);
    if (req->answered)
        return s_queue (req);
    if (!req->deferred) {
        log_error ("http handler gave no answer", "path", req->path, NULL);
        http_respond (req, 500, "text/plain", "no answer\n", 10);
        return s_queue (req);
    }
    req->next = self->deferred;
    if (self->deferred)
        self->deferred->prev = req;
    self->deferred = req;
    req->suspended = true;
    MHD_suspend_connection (conn);
    return MHD_YES;
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) conn;
    (void) toe;
    if (*con_cls)
        s_request_free (*con_cls);
    *con_cls = NULL;
}

static void
s_log (void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char text[512];
    vsnprintf (text, sizeof text, fmt, ap);
    text[strcspn (text, "\n")] = 0;
    log_warn ("http server", "error", text, NULL);
}

//  --------------------------------------------------------------------------
//  The server

http_t *
http_new (const char *bind_addr, int port, size_t max_body, http_handler_fn *handler, void *arg)
{
    char service[8];
    snprintf (service, sizeof service, "%d", port);
    struct addrinfo hints = {
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addr = NULL;
    const char *node = strcmp (bind_addr, "*") == 0 ? NULL : bind_addr;
    int gai = getaddrinfo (node, service, &hints, &addr);
    if (gai) {
        log_error ("cannot bind http", "address", bind_addr, "port", service, "error", gai_strerror (gai),
                   NULL);
        return NULL;
    }
    http_t *self = calloc (1, sizeof *self);
    if (!self) {
        freeaddrinfo (addr);
        return NULL;
    }
    self->handler = handler;
    self->arg = arg;
    self->max_body = max_body;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon (
        flags, (uint16_t) port, NULL, NULL, s_access, self, MHD_OPTION_EXTERNAL_LOGGER, s_log, self,
        MHD_OPTION_SOCK_ADDR, addr->ai_addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned) 1,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) CONNECTION_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self, MHD_OPTION_END);
    freeaddrinfo (addr);
    const union MHD_DaemonInfo *info =
        self->daemon ? MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!info) {
        log_error ("cannot bind http", "address", bind_addr, "port", service, NULL);
        http_destroy (&self);
        return NULL;
    }
    char endpoint[128];
    snprintf (endpoint, sizeof endpoint, strchr (bind_addr, ':') ? "http://[%s]:%d" : "http://%s:%d",
              bind_addr, port);
    log_info ("listening", "endpoint", endpoint, "socket", "http", NULL);
    return self;
}

void
http_destroy (http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_t *self = *self_p;
    //  MHD must not stop with a connection suspended: answer them, and give
    //  the answers one chance to go out.
    self->stopping = true;
    while (self->deferred)
        s_stopping (self->deferred);
    if (self->daemon) {
        MHD_run (self->daemon);
        MHD_stop_daemon (self->daemon);
    }
    free (self);
    *self_p = NULL;
}

int
http_fd (http_t *self)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

long
http_timeout_ms (http_t *self)
{
    MHD_UNSIGNED_LONG_LONG timeout;
    if (MHD_get_timeout (self->daemon, &timeout) != MHD_YES)
        return -1;
    return timeout > (MHD_UNSIGNED_LONG_LONG) LONG_MAX ? LONG_MAX : (long) timeout;
}

void
http_run (http_t *self)
{
    self->pending = false;
    MHD_run (self->daemon);
}

bool
http_pending (http_t *self)
{
    return self->pending;
}

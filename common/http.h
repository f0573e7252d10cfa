/*  http: a small embedded HTTP/1.1 server (libmicrohttpd) driven by the
    caller's own loop, for a service's metrics, health check and webhooks.

    Why an external loop, not MHD's threads: a service is one thread around
    one loop (service.c) that owns the database connection and the open
    transaction. Requests that read service state or become work for a batch
    must run on that thread, so MHD runs in its "external" mode with epoll:
    MHD's one epoll descriptor (http_fd) sits in the loop's zmq_poll beside
    the ZeroMQ sockets (zmq_poll takes a raw fd), and the loop calls http_run
    after every poll; every callback, and so every handler, runs inside
    http_run, on the loop's thread. No locks, no queue between threads.

    A handler answers at once (http_respond) or later: a request whose answer
    waits for a batch's commit is suspended (http_defer, MHD's suspend) and
    answered when the batch is done (http_respond from anywhere on the loop's
    thread resumes it). Bodies past max_body bytes are answered 413 before
    the handler sees them (early when Content-Length says so). Linux only
    (epoll), which is what the services run on.
*/
#ifndef CRM_HTTP_H
#define CRM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_t http_t;
typedef struct http_request_t http_request_t;

/*  Called once per request, when its body is complete, on the loop's
    thread. It must call http_respond (now) or http_defer (and http_respond
    later). */
typedef void (http_handler_fn) (http_request_t *req, void *arg);

/*  Starts a server listening on bind_addr ("127.0.0.1", "0.0.0.0", "::",
    a host name) and port; bodies up to max_body bytes. Returns NULL (and
    logs why, e.g. the port is taken) on failure. Caller owns it. */
http_t *http_new (const char *bind_addr, int port, size_t max_body, http_handler_fn *handler, void *arg);

/*  Answers every deferred request 503, stops the server and frees it;
    nulls *self_p. */
void http_destroy (http_t **self_p);

/*  The descriptor to poll for reading (MHD's epoll fd). */
int http_fd (http_t *self);

/*  How long (ms) the loop may sleep before it must call http_run even
    without activity on http_fd; -1: no limit. */
long http_timeout_ms (http_t *self);

/*  Does whatever is ready: accepts, reads, calls handlers, writes answers.
    Never blocks. */
void http_run (http_t *self);

/*  true when a deferred request was answered since the last http_run: the
    loop should run it again at once. */
bool http_pending (http_t *self);

/*  The request's method ("GET"), path ("/metrics", without the query), a
    header's value (name case-insensitive; NULL if absent), the peer's
    address as text, and its body (*len bytes, NUL-terminated; "" when
    none). All owned by the request, valid until it is answered. */
const char *http_method (const http_request_t *req);
const char *http_path (const http_request_t *req);
const char *http_header (const http_request_t *req, const char *name);
const char *http_peer (const http_request_t *req);
const char *http_body (const http_request_t *req, size_t *len);

/*  Adds a header to the coming answer (at most 4; copied). */
void http_add_header (http_request_t *req, const char *name, const char *value);

/*  Answers with status and body (len bytes, copied) of content_type. A
    deferred request is resumed; the answer goes out on the next http_run.
    A request is answered once: later calls are ignored. */
void http_respond (http_request_t *req, int status, const char *content_type, const char *body, size_t len);

struct json_object;

/*  Answers with status and root as application/json, written by json-c
    (RFC 8259; compact, '/' as it is). Takes root (released here, whatever
    happens); a NULL root (out of memory while building it) or a failed
    write answers 500 text/plain instead. */
void http_respond_json (http_request_t *req, int status, struct json_object *root);

/*  Answers with status and {"error":{"code":CODE,"message":MESSAGE,
    "fields":[FIELD...]}}, the services' error body (docs/api.md); fields
    may be NULL when n_fields is 0. Texts are copied. */
void http_respond_error (http_request_t *req, int status, const char *code, const char *message,
                         const char *const *fields, size_t n_fields);

/*  Adds value under key to obj, for building a body with json-c without
    checking every allocation: takes value; returns 0, or -1 when obj or
    value is NULL (out of memory) or the add fails (value released). */
int http_json_add (struct json_object *obj, const char *key, struct json_object *value);

/*  The handler will answer later: the request stays valid (and its client
    waits) until http_respond. An answer given before the handler returns
    goes out at once. */
void http_defer (http_request_t *req);

/*  A zeroed scratch area of size bytes for the caller's own notes about the
    request (e.g. what to log with its answer), allocated on first call
    (then size must be the same), freed with the request; NULL on
    out-of-memory. */
void *http_data (http_request_t *req, size_t size);

#endif

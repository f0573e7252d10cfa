/*  intake_http: leads over HTTP, for the systems that speak webhooks (web
    forms, landing pages, ad platforms, other CRMs): POST /v1/leads on the
    service's HTTP server (CRM_LEADS_HTTP_PORT, default base port + 5).

    The body is a JSON object with LeadReceived's fields (strings; null is
    ""; external_id and phone may be integers). An API key per source
    system authenticates it (Authorization: Bearer KEY, or X-API-Key: KEY)
    and decides the lead's source_system: a body naming another one is
    refused. Keys come from CRM_LEADS_API_KEYS_FILE (a mounted file, one
    "source_system key" per line, # comments) and CRM_LEADS_API_KEYS
    ("website=KEY,landing=KEY"); a source system may have several keys (to
    rotate them), a key one source system. Only the keys' SHA-256 is kept,
    compared in constant time; a key is never logged.

    The lead then takes the SubmitLead command's path (service_submit):
    the same validation, idempotency by (source_system, external_id) and
    funnel; the answer waits for the batch's commit. 201 {"lead_id":N,
    "created":true}, 200 for a lead already known (same id), 400 naming
    each invalid field ({"error":{"code","message","fields"}}), 401 without
    a valid key, 413 past CRM_HTTP_MAX_BODY_BYTES, 415 for a body that is
    not JSON, 503 while the database is away (retry).
*/
#ifndef CRM_LEADS_INTAKE_HTTP_H
#define CRM_LEADS_INTAKE_HTTP_H

#include "service.h"

#include <stddef.h>

typedef struct intake_http_t intake_http_t;

/*  Loads the API keys. Returns NULL with one sentence in err (err_size
    bytes; e.g. "FILE:LINE: problem", never a key) when a key setting is
    wrong. Caller owns the result. */
intake_http_t *intake_http_new (char *err, size_t err_size);

/*  Registers POST /v1/leads on svc (its command "SubmitLead" must be
    registered too). self must outlive svc's loop. */
void intake_http_serve (intake_http_t *self, service_t *svc);

/*  Frees it; nulls *self_p. */
void intake_http_destroy (intake_http_t **self_p);

/*  Number of keys loaded. */
size_t intake_http_keys (const intake_http_t *self);

#endif

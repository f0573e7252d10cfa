/*  ingest: see ingest.h. */
#include "ingest.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MANAGERS 256

//  A lead received in the open batch.
typedef struct {
    Crm__V1__LeadReceived *lead;  // owned
    service_reply_t *reply;       // the command's, or NULL from the intake
    char causation_id[160];
} received_t;

struct ingest_t {
    service_t *svc;
    funnel_t *funnel;
    const staff_t *staff;
    store_t *store;
    received_t *received;
    store_resolved_t *resolved;  // cap of them
    size_t count, cap;
};

ingest_t *
ingest_new (service_t *svc, funnel_t *funnel, const staff_t *staff)
{
    ingest_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    *self = (ingest_t){.svc = svc, .funnel = funnel, .staff = staff, .store = store_new ()};
    if (!self->store)
        ingest_destroy (&self);
    return self;
}

void
ingest_destroy (ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_t *self = *self_p;
    if (self->store)
        ingest_reset (self);
    store_destroy (&self->store);
    free (self->received);
    free (self->resolved);
    free (self);
    *self_p = NULL;
}

service_rc_t
ingest_add (ingest_t *self, Crm__V1__LeadReceived *lead, service_reply_t *reply, const char *causation_id)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        received_t *received = realloc (self->received, cap * sizeof *received);
        if (received)
            self->received = received;
        store_resolved_t *resolved = realloc (self->resolved, cap * sizeof *resolved);
        if (resolved)
            self->resolved = resolved;
        if (!received || !resolved)
            return SERVICE_FAIL;
        self->cap = cap;
    }
    if (store_add (self->store, lead->source_system, lead->external_id, !*lead->responsible) < 0)
        return SERVICE_FAIL;
    received_t *r = &self->received[self->count++];
    r->lead = lead;
    r->reply = reply;
    snprintf (r->causation_id, sizeof r->causation_id, "%s", causation_id);
    return SERVICE_OK;
}

//  Gives lead its responsible: the login of staff.lead_assignment, or the
//  manager of round-robin turn. Returns 0, or -1 (out-of-memory; no
//  managers, which staff_load refuses).
static int
s_assign (ingest_t *self, Crm__V1__LeadReceived *lead, bool round_robin, uint64_t turn)
{
    const char *login = self->staff->lead_assignment;
    if (round_robin) {
        const char *managers[MAX_MANAGERS];
        size_t n = staff_holders (self->staff, "manager", managers, MAX_MANAGERS);
        if (n > MAX_MANAGERS)
            n = MAX_MANAGERS;
        if (n == 0)
            return -1;
        login = managers[turn % n];
    }
    char *copy = strdup (login);
    if (!copy)
        return -1;
    if (lead->responsible != protobuf_c_empty_string)
        free (lead->responsible);
    lead->responsible = copy;
    return 0;
}

service_rc_t
ingest_flush (ingest_t *self)
{
    if (self->count == 0)
        return SERVICE_OK;
    db_t *db = service_db (self->svc);
    bool round_robin = strcmp (self->staff->lead_assignment, "round_robin") == 0;
    uint64_t turn = 0;
    service_rc_t rc = service_rc (store_resolve (self->store, db, round_robin, self->resolved, &turn));
    for (size_t i = 0; rc == SERVICE_OK && i < self->count; i++) {
        received_t *r = &self->received[i];
        if (!self->resolved[i].created)
            continue;
        //  The turns were taken for the new leads without one, in order.
        if (!*r->lead->responsible && s_assign (self, r->lead, round_robin, turn++))
            rc = SERVICE_FAIL;
        if (rc == SERVICE_OK)
            rc =
                funnel_decide_new (self->funnel, self->store, self->resolved[i].id, r->lead, r->causation_id);
    }
    if (rc == SERVICE_OK)
        rc = service_rc (store_write (self->store, db));
    if (rc == SERVICE_OK)
        rc = funnel_announce_new (self->funnel);
    for (size_t i = 0; rc == SERVICE_OK && i < self->count; i++) {
        if (!self->received[i].reply)
            continue;
        Crm__V1__SubmitLeadReply result = CRM__V1__SUBMIT_LEAD_REPLY__INIT;
        result.lead_id = self->resolved[i].id;
        result.created = self->resolved[i].created;
        service_reply_set (self->received[i].reply, &result.base);
    }
    ingest_reset (self);
    return rc;
}

void
ingest_reset (ingest_t *self)
{
    funnel_forget_new (self->funnel);  // before the leads it points into
    for (size_t i = 0; i < self->count; i++)
        crm__v1__lead_received__free_unpacked (self->received[i].lead, NULL);
    self->count = 0;
    store_reset (self->store);
}

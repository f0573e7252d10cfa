/*  ingest: the leads received in one batch (command SubmitLead, the intake
    socket, POST /v1/leads through SubmitLead), stored set-based: a
    constant number of statements for the whole batch, none per lead
    (store.h). Each is stored once per (source_system, external_id), also
    when the pair repeats inside the batch; those without a responsible
    get one (round robin among the managers, turns taken consecutively in
    the order the leads came, or the fixed login of staff.lead_assignment),
    and the new ones run the funnel's rules for a new lead (funnel.h).
    Replies (SubmitLeadReply) are set once stored.

    They are stored when the batch flushes, or earlier, when a handler of
    the same batch is about to read leads (ingest_flush first: write-behind
    with flush-before-read), so that every item sees the leads received
    before it.
*/
#ifndef CRM_LEADS_INGEST_H
#define CRM_LEADS_INGEST_H

#include "funnel.h"
#include "pipeline.h"
#include "service.h"
#include "crm/v1/leads.pb-c.h"

typedef struct ingest_t ingest_t;

/*  Creates the batch of svc, running new leads through funnel and
    assigning them from staff (both kept by pointer: they must outlive it).
    NULL on out-of-memory. */
ingest_t *ingest_new (service_t *svc, funnel_t *funnel, const staff_t *staff);

/*  Frees it (and the leads it holds); nulls *self_p. */
void ingest_destroy (ingest_t **self_p);

/*  Takes a valid lead into the batch: on SERVICE_OK it owns lead (freed
    with crm__v1__lead_received__free_unpacked); reply (the command's, or
    NULL from the intake) is set once the lead is stored; causation_id
    (copied) is the cause of its events. SERVICE_FAIL on out-of-memory. */
service_rc_t ingest_add (ingest_t *self, Crm__V1__LeadReceived *lead, service_reply_t *reply,
                         const char *causation_id);

/*  Stores the leads taken since the last flush, inside the open
    transaction, emits their events and sets their replies; then forgets
    them, also on failure. Returns SERVICE_OK, or what failed
    (SERVICE_RETRY: database away; SERVICE_FAIL: a statement or the
    definition refused one of them, so that the batch is replayed one item
    at a time). */
service_rc_t ingest_flush (ingest_t *self);

/*  Forgets the leads taken (after a rollback). */
void ingest_reset (ingest_t *self);

#endif

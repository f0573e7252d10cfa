/*  store: every SQL statement of the leads service, in one place. Leads
    received in one batch are buffered and stored by one statement at its
    end (store_flush): one round trip for the whole group commit. The
    funnel's statements (a lead loaded for its rules and saved after them,
    its history and tasks, the contacts and companies made from it, the
    round-robin turn) each run inside the caller's open transaction.

    Times are ms since the epoch, UTC. Reads that return a PGresult name its
    columns here; the caller PQclear's it.
*/
#ifndef CRM_LEADS_STORE_H
#define CRM_LEADS_STORE_H

#include "db.h"
#include "engine.h"
#include "crm/v1/leads.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t leads_migrations[];
extern const int leads_migrations_count;

typedef struct store_t store_t;

/*  Creates an empty buffer. NULL on out-of-memory; caller owns it. */
store_t *store_new (void);

/*  Frees it; nulls *self_p. */
void store_destroy (store_t **self_p);

/*  Buffers one lead (strings copied), to be stored with responsible ("":
    to be assigned once stored). Returns its index in the batch (0, 1, ...),
    or -1 on out-of-memory. */
int store_add (store_t *self, const Crm__V1__LeadReceived *lead, const char *responsible);

/*  Called by store_flush for each buffered lead, in the order added:
    created is false when (source_system, external_id) was known (or came
    earlier in the same batch). Returns DB_OK, or the error that stops the
    flush. */
typedef db_rc_t (store_stored_fn) (int index, uint64_t lead_id, bool created, void *arg);

/*  Inserts the buffered leads unless known, in one statement inside the
    caller's transaction, calls fn for each, and empties the buffer.
    Returns DB_OK, the db error, or what fn returned. */
db_rc_t store_flush (store_t *self, db_t *db, store_stored_fn *fn, void *arg);

/*  Number of buffered leads. */
int store_count (const store_t *self);

/*  Empties the buffer (after a rollback). */
void store_reset (store_t *self);

//  ---------------------------------------------------------------- one lead

/*  A lead as stored. The strings point into the results it holds; free it
    with store_lead_free. values holds the definition's fields and the
    built-ins the lead has (name, phone, email, company, comment: the
    non-empty ones), as the engine takes them; tags its tasks by tag. */
typedef struct {
    PGresult *row, *field_rows, *tag_rows;
    uint64_t id;  // 0: no such lead
    const char *source_system, *external_id, *name, *phone, *email, *company, *comment;
    const char *responsible, *stage;
    uint32_t version;
    int64_t entered_ms, created_ms, updated_ms;
    uint64_t contact_id, company_id;  // 0: none
    engine_value_t *values;
    size_t n_values;
    size_t n_fields;  // values[0..n_fields) are the definition's fields
    engine_tag_t *tags;
    size_t n_tags;
} store_lead_t;

/*  Loads lead id (FOR UPDATE when for_update: the caller decides and saves
    in this transaction) into lead, whose id stays 0 if there is no such
    lead. Returns DB_OK, the db error, or DB_PERMANENT on out-of-memory.
    The caller calls store_lead_free in every case. */
db_rc_t store_lead_load (db_t *db, uint64_t id, bool for_update, store_lead_t *lead);

/*  Fills lead for one just stored from received (its strings borrowed: they
    must outlive lead), with no fields or tasks yet, version 0 and stage ""
    (the engine's ENGINE_CREATE puts it in the first stage). Returns 0, or -1
    on out-of-memory. The caller calls store_lead_free in every case. */
int store_lead_new (store_lead_t *lead, uint64_t id, const Crm__V1__LeadReceived *received);

/*  Releases what lead holds and zeroes it. */
void store_lead_free (store_lead_t *lead);

/*  Saves what the rules decided: stage, the definition's field values
    (n of them), when it entered the stage, its version and responsible. */
db_rc_t store_lead_save (db_t *db, uint64_t id, const char *stage, const engine_value_t *values, size_t n,
                         int64_t entered_ms, uint32_t version, const char *responsible);

/*  Appends n history lines of lead id, all at at_ms, in order. */
db_rc_t store_history_add (db_t *db, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n);

/*  The history of lead id, oldest first. Columns: at_ms, actor, rule,
    action, detail. */
db_rc_t store_history_list (db_t *db, uint64_t id, PGresult **res);

/*  Takes the next round-robin turn (0, 1, 2, ...: kept across restarts)
    into *turn. */
db_rc_t store_next_turn (db_t *db, uint64_t *turn);

//  ---------------------------------------------------------------- tasks

/*  Records a task a rule asked for (request_key once; a repeat is a no-op). */
db_rc_t store_task_requested (db_t *db, const char *request_key, uint64_t lead_id, const char *tag);

/*  Records that the tasks service created (completed false) or completed
    (true) task task_id of lead_id. A task the leads service did not ask for
    (request_key "": a person's) is recorded under "task:<id>", so that it
    counts for its tag too. */
db_rc_t store_task_update (db_t *db, const char *request_key, uint64_t task_id, uint64_t lead_id,
                           const char *tag, bool completed);

//  ---------------------------------------------------------------- contacts

/*  Makes the contact and company of a closed lead, or finds them again:
    the contact by phone (lead_phone_key) or email (lead_email_key), the
    company by name (lead_name_key); a company only if the lead names one.
    no_deal marks new rows «Не было сделки»; false (a deal) also clears the
    mark on rows found. Links them to the lead; *contact_id, *company_id (0:
    no company). */
db_rc_t store_contact_make (db_t *db, const store_lead_t *lead, bool no_deal, uint64_t *contact_id,
                            uint64_t *company_id);

//  ---------------------------------------------------------------- lists

/*  Leads, newest first, at most limit; stage and user ("" : any) filter.
    Columns: id, name, company, stage, responsible, version, updated_ms. */
db_rc_t store_list_leads (db_t *db, const char *stage, const char *user, uint32_t limit, PGresult **res);

/*  Contacts, oldest first. Columns: id, name, phone, email, company_id (0:
    none), company, no_deal ("t"/"f"), lead_id, created_ms. */
db_rc_t store_list_contacts (db_t *db, uint32_t limit, PGresult **res);

/*  Companies, oldest first. Columns: id, name, no_deal, lead_id, created_ms. */
db_rc_t store_list_companies (db_t *db, uint32_t limit, PGresult **res);

#endif

/*  store: every SQL statement of the leads service, in one place. Leads
    received in one batch are stored set-based, with a constant number of
    statements per batch and none per lead: one resolves their ids, which
    are new and their round-robin turns (store_resolve), one writes the new
    ones as the funnel's rules left them, with their history lines, and
    one their tasks if any (store_write). The funnel's other statements (a lead loaded for
    its rules and saved after them, its history and tasks, the contacts
    and companies made from it) each run inside the caller's open
    transaction.

    Times are ms since the epoch, UTC. Reads that return a PGresult name its
    columns here; the caller PQclear's it.
*/
#ifndef CRM_LEADS_STORE_H
#define CRM_LEADS_STORE_H

#include "db.h"
#include "engine.h"
#include "record.h"
#include "crm/v1/leads.pb-c.h"
#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t leads_migrations[];
extern const int leads_migrations_count;

typedef struct store_t store_t;

/*  Creates an empty batch. NULL on out-of-memory; caller owns it. */
store_t *store_new (void);

/*  Frees it; nulls *self_p. */
void store_destroy (store_t **self_p);

/*  Buffers a received lead's key, (source_system, external_id), copied;
    unassigned: it came without a responsible. Returns its index in the
    batch (0, 1, ...), or -1 on out-of-memory. */
int store_add (store_t *self, const char *source_system, const char *external_id, bool unassigned);

/*  What store_resolve found for one buffered lead. */
typedef struct {
    uint64_t id;   // the lead's id: known, or reserved for the new one
    bool created;  // new: the first of its pair in the batch, not stored before
} store_resolved_t;

/*  Resolves the buffered leads, in one statement inside the caller's
    transaction: each one's id (known, or a new one reserved from the
    table's sequence, ascending in the order added) and whether it is new
    (a pair repeated in the batch is new only the first time) into
    resolved (store_count of them, in the order added). With take_turns,
    also takes one round-robin turn (kept across restarts) per new lead
    added unassigned, consecutively: *first_turn is the first of them (0:
    none taken). Then empties the key buffer. Returns DB_OK or the db
    error. */
db_rc_t store_resolve (store_t *self, db_t *db, bool take_turns, store_resolved_t *resolved,
                       uint64_t *first_turn);

/*  Buffers a new lead as the rules left it (stage, the definition's field
    values, n of them, when it entered the stage, version), with the id
    store_resolve reserved and its responsible. Returns 0, or -1 on
    out-of-memory. */
int store_add_new (store_t *self, uint64_t id, const Crm__V1__LeadReceived *lead, const char *stage,
                   const engine_value_t *values, size_t n, int64_t entered_ms, uint32_t version);

/*  Buffers n history lines of a new lead id, all at at_ms, in order.
    Returns 0, or -1 on out-of-memory. */
int store_add_history (store_t *self, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n);

/*  Buffers a task a rule asked for a new lead (as store_task_requested).
    Returns 0, or -1 on out-of-memory. */
int store_add_task (store_t *self, const char *request_key, uint64_t lead_id, const char *tag);

/*  Writes the new leads and their history lines buffered since the last
    write, in one statement inside the caller's transaction, and their
    tasks (if any) in a second one; empties those buffers. A pair stored meanwhile by someone else fails it
    (unique violation: DB_PERMANENT). Returns DB_OK or the db error. */
db_rc_t store_write (store_t *self, db_t *db);

/*  Number of buffered keys (leads added since the last store_resolve). */
int store_count (const store_t *self);

/*  Empties every buffer (after a rollback). */
void store_reset (store_t *self);

//  ---------------------------------------------------------------- one lead

/*  A lead as stored. The strings point into the results it holds; free it
    with store_lead_free. values holds the definition's fields and the
    built-ins the lead has (name, phone, email, company, comment: the
    non-empty ones), as the engine takes them, and its tasks by tag
    (record.h). */
typedef struct {
    PGresult *row;
    uint64_t id;  // 0: no such lead
    const char *source_system, *external_id, *name, *phone, *email, *company, *comment;
    const char *responsible, *stage;
    uint32_t version;
    int64_t entered_ms, created_ms, updated_ms;
    uint64_t contact_id, company_id;  // 0: none
    record_data_t data;
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

//  ---------------------------------------------------------------- tasks

/*  Records a task a rule asked for (request_key once; a repeat is a no-op). */
db_rc_t store_task_requested (db_t *db, const char *request_key, uint64_t lead_id, const char *tag);

/*  Records that the tasks service created (completed false) or completed
    (true) task of lead_id (its number, request key, tag). A task the leads
    service did not ask for (request_key "": a person's) is recorded under
    "task:<id>", so that it counts for its tag too. */
db_rc_t store_task_update (db_t *db, uint64_t lead_id, const Crm__V1__TaskCreated *task, bool completed);

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

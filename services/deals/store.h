/*  store: every SQL statement of the deals service, in one place. Each
    runs inside the caller's open transaction (the batch's): a deal opened
    once per lead, loaded for its rules and saved after them, its history,
    the tasks it asked for and the timers it waits for, and the lists.

    Times are ms since the epoch, UTC. Reads that return a PGresult name its
    columns here; the caller PQclear's it.
*/
#ifndef CRM_DEALS_STORE_H
#define CRM_DEALS_STORE_H

#include "db.h"
#include "engine.h"
#include "record.h"
#include "crm/v1/leads.pb-c.h"
#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t deals_migrations[];
extern const int deals_migrations_count;

/*  A deal as stored. The strings point into the results it holds (or, for
    one just opened, into the LeadConverted it came from); free it with
    store_deal_free. values holds the definition's fields and the built-ins
    the deal has (name, phone, email, company, comment: the non-empty ones),
    as the engine takes them, and its tasks by tag (record.h). */
typedef struct {
    PGresult *row;
    uint64_t id;                               // 0: no such deal
    uint64_t lead_id, contact_id, company_id;  // 0: none
    const char *pipeline, *stage, *responsible, *title;
    const char *name, *phone, *email, *company, *comment;
    uint32_t version;
    int64_t entered_ms, created_ms, updated_ms;
    record_data_t data;
} store_deal_t;

/*  Opens the deal of converted (its lead, contact, company, responsible
    and client data) in pipeline at stage with title, unless that lead has
    one already. *id is the new deal's, or 0 when the lead had one (no id of
    the sequence is spent then). */
db_rc_t store_deal_open (db_t *db, const Crm__V1__LeadConverted *converted, const char *pipeline,
                         const char *stage, const char *title, uint64_t *id);

/*  Fills deal for one just opened as id from converted (strings borrowed:
    converted must outlive deal), with no fields or tasks yet, version 0 and
    stage "" (the engine's ENGINE_CREATE puts it in the first stage).
    Returns 0, or -1 on out-of-memory. The caller calls store_deal_free in
    every case. */
int store_deal_new (store_deal_t *deal, uint64_t id, const Crm__V1__LeadConverted *converted,
                    const char *title);

/*  Loads deal id (FOR UPDATE when for_update: the caller decides and saves
    in this transaction) into deal, whose id stays 0 if there is no such
    deal. Returns DB_OK, the db error, or DB_PERMANENT on out-of-memory.
    The caller calls store_deal_free in every case. */
db_rc_t store_deal_load (db_t *db, uint64_t id, bool for_update, store_deal_t *deal);

/*  Releases what deal holds and zeroes it. */
void store_deal_free (store_deal_t *deal);

/*  Saves what the rules decided: stage, the definition's field values (n
    of them), when it entered the stage (ms), its version. */
db_rc_t store_deal_save (db_t *db, uint64_t id, const char *stage, const engine_value_t *values, size_t n,
                         int64_t entered_ms, uint32_t version);

/*  Appends n history lines of deal id, all at at_ms, in order. */
db_rc_t store_history_add (db_t *db, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n);

/*  The history of deal id, oldest first. Columns: at_ms, actor, rule,
    action, detail. */
db_rc_t store_history_list (db_t *db, uint64_t id, PGresult **res);

//  ---------------------------------------------------------------- tasks

/*  Records a task a rule asked for (request_key once; a repeat is a no-op). */
db_rc_t store_task_requested (db_t *db, const char *request_key, uint64_t deal_id, const char *tag,
                              const char *title, const char *responsible, const char *rule);

/*  Records that the tasks service created (completed false) or completed
    (true) task of deal_id (its number, request key, tag; title and
    responsible, "" : keep, as it says). A task the deal did not ask for
    (request_key "": a person's) is recorded under "task:<id>", so that it
    counts for its tag too. */
db_rc_t store_task_update (db_t *db, uint64_t deal_id, const Crm__V1__TaskCreated *task, bool completed);

/*  The tasks of deal id in the order asked for. Columns: request_key,
    task_id (0: not created yet), tag, title, responsible, completed
    ("t"/"f"), rule. */
db_rc_t store_task_list (db_t *db, uint64_t id, PGresult **res);

//  ---------------------------------------------------------------- timers

/*  A timer of deal_id asked for (or moved) at due_ms. */
db_rc_t store_timer_set (db_t *db, const char *key, uint64_t deal_id, const char *timer, int64_t due_ms);

/*  The timer key is no longer pending: cancelled (due_ms < 0: whatever its
    time) or fired at due_ms (a firing that raced a reschedule leaves the
    new time pending). */
db_rc_t store_timer_gone (db_t *db, const char *key, int64_t due_ms);

/*  The pending timers of deal id, earliest first. Columns: key, timer, due_ms. */
db_rc_t store_timer_list (db_t *db, uint64_t id, PGresult **res);

//  ---------------------------------------------------------------- lists

/*  Deals, newest first, at most limit; stage and user ("" : any) filter.
    Columns: id, title, stage, responsible, version, updated_ms, lead_id. */
db_rc_t store_list_deals (db_t *db, const char *stage, const char *user, uint32_t limit, PGresult **res);

#endif

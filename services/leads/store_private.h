/*  store_private: what store.c and store_batch.c share (one module,
    store.h, in two files). */
#ifndef CRM_LEADS_STORE_PRIVATE_H
#define CRM_LEADS_STORE_PRIVATE_H

#include "engine.h"
#include "rowset.h"

#include <stddef.h>
#include <stdint.h>

//  ms since the epoch <-> timestamptz, exactly (no float on the way).
#define MS(column) "(extract (epoch FROM " column ") * 1000)::bigint"
#define TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

//  History lines from a row set (store_history_rows), numbered in its order.
#define HISTORY_INSERT(param)                                                                              \
    "INSERT INTO lead_history (lead_id, at, actor, rule, action, detail)"                                  \
    " SELECT h.lead, " TS ("h.at") ", h.actor, h.rule, h.action, h.detail"                                 \
                                   " FROM ROWS FROM (json_to_recordset (" param "::json) AS (lead bigint," \
                                   " at bigint, actor text, rule text, action text, detail text))"         \
                                   " WITH ORDINALITY AS h (lead, at, actor, rule, action, detail, ord)"    \
                                   " ORDER BY h.ord"

/*  The values (n of them) as a JSON object's text ({"name": "value",
    ...}): malloc'ed, or NULL on out-of-memory. */
char *store_json_object (const engine_value_t *values, size_t n);

/*  Appends n history lines of lead id, all at at_ms, to rows. Returns 0,
    or -1 on out-of-memory. */
int store_history_rows (rowset_t *rows, uint64_t id, int64_t at_ms, const engine_history_t *lines, size_t n);

#endif

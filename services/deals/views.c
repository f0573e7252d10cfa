/*  views: see views.h. */
#include "views.h"
#include "engine.h"
#include "record.h"
#include "store.h"
#include "tz.h"
#include "utf8.h"
#include "crm/v1/deals.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
s_u64 (PGresult *res, int row, int column)
{
    return strtoull (PQgetvalue (res, row, column), NULL, 10);
}

static int64_t
s_i64 (PGresult *res, int row, int column)
{
    return strtoll (PQgetvalue (res, row, column), NULL, 10);
}

static char *
s_str (PGresult *res, int row, int column)
{
    return PQgetvalue (res, row, column);
}

//  What a DealDetail points to besides the deal's rows; freed at once.
typedef struct {
    PGresult *history, *tasks, *timers;
    record_show_t show;
    Crm__V1__DealTask *task_rows, **task_p;
    Crm__V1__DealTimer *timer_rows, **timer_p;
} parts_t;

static void
s_parts_free (parts_t *p)
{
    PQclear (p->history);
    PQclear (p->tasks);
    PQclear (p->timers);
    record_show_free (&p->show);
    free (p->task_rows);
    free (p->task_p);
    free (p->timer_rows);
    free (p->timer_p);
}

//  The deal's tasks and pending timers, into detail.
static void
s_lists (parts_t *p, Crm__V1__DealDetail *detail)
{
    size_t n_tasks = (size_t) PQntuples (p->tasks);
    for (size_t i = 0; i < n_tasks; i++) {
        int r = (int) i;
        crm__v1__deal_task__init (&p->task_rows[i]);
        p->task_rows[i].request_key = s_str (p->tasks, r, 0);
        p->task_rows[i].task_id = s_u64 (p->tasks, r, 1);
        p->task_rows[i].tag = s_str (p->tasks, r, 2);
        p->task_rows[i].title = s_str (p->tasks, r, 3);
        p->task_rows[i].responsible = s_str (p->tasks, r, 4);
        p->task_rows[i].completed = *s_str (p->tasks, r, 5) == 't';
        p->task_rows[i].rule = s_str (p->tasks, r, 6);
        p->task_p[i] = &p->task_rows[i];
    }
    detail->n_tasks = n_tasks;
    detail->tasks = p->task_p;
    size_t n_timers = (size_t) PQntuples (p->timers);
    for (size_t i = 0; i < n_timers; i++) {
        int r = (int) i;
        crm__v1__deal_timer__init (&p->timer_rows[i]);
        p->timer_rows[i].key = s_str (p->timers, r, 0);
        p->timer_rows[i].timer = s_str (p->timers, r, 1);
        p->timer_rows[i].due_ms = s_i64 (p->timers, r, 2);
        p->timer_p[i] = &p->timer_rows[i];
    }
    detail->n_timers = n_timers;
    detail->timers = p->timer_p;
}

service_rc_t
views_show_deal (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    const pipeline_t *def = arg;
    Crm__V1__ShowDeal *show = crm__v1__show_deal__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!show) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ShowDeal", NULL, 0);
        return SERVICE_REJECT;
    }
    db_t *db = service_db (svc);
    store_deal_t deal;
    parts_t p = {0};
    service_rc_t rc = service_rc (store_deal_load (db, show->deal_id, false, &deal));
    if (rc == SERVICE_OK && deal.id)
        rc = service_rc (store_history_list (db, deal.id, &p.history));
    if (rc == SERVICE_OK && deal.id)
        rc = service_rc (store_task_list (db, deal.id, &p.tasks));
    if (rc == SERVICE_OK && deal.id)
        rc = service_rc (store_timer_list (db, deal.id, &p.timers));
    if (rc)
        goto cleanup;
    if (!deal.id) {
        record_reply_not_found (reply, "deal", show->deal_id);
        rc = SERVICE_REJECT;
        goto cleanup;
    }
    size_t n_tasks = (size_t) PQntuples (p.tasks), n_timers = (size_t) PQntuples (p.timers);
    int err = record_show_fill (&p.show, def, &deal.data, p.history);
    p.task_rows = calloc (n_tasks + 1, sizeof *p.task_rows);
    p.task_p = calloc (n_tasks + 1, sizeof *p.task_p);
    p.timer_rows = calloc (n_timers + 1, sizeof *p.timer_rows);
    p.timer_p = calloc (n_timers + 1, sizeof *p.timer_p);
    if (err || !p.task_rows || !p.task_p || !p.timer_rows || !p.timer_p) {
        rc = SERVICE_FAIL;
        goto cleanup;
    }
    Crm__V1__DealDetail detail = CRM__V1__DEAL_DETAIL__INIT;
    detail.n_fields = p.show.n_fields;
    detail.fields = p.show.fields;
    detail.n_history = p.show.n_history;
    detail.history = p.show.history;
    s_lists (&p, &detail);
    const pipeline_stage_t *stage = pipeline_stage (def, deal.stage);
    Crm__V1__LeadReceived client = CRM__V1__LEAD_RECEIVED__INIT;
    client.name = (char *) deal.name;
    client.phone = (char *) deal.phone;
    client.email = (char *) deal.email;
    client.company = (char *) deal.company;
    client.comment = (char *) deal.comment;
    client.responsible = (char *) deal.responsible;
    detail.deal_id = deal.id;
    detail.pipeline = (char *) deal.pipeline;
    detail.stage = (char *) deal.stage;
    detail.stage_name = stage ? stage->name : (char *) deal.stage;
    detail.version = deal.version;
    detail.responsible = (char *) deal.responsible;
    detail.title = (char *) deal.title;
    detail.lead_id = deal.lead_id;
    detail.contact_id = deal.contact_id;
    detail.company_id = deal.company_id;
    detail.created_ms = deal.created_ms;
    detail.updated_ms = deal.updated_ms;
    detail.time_zone = (char *) tz_name ();
    detail.client = &client;
    service_reply_set (reply, &detail.base);

cleanup:
    s_parts_free (&p);
    store_deal_free (&deal);
    crm__v1__show_deal__free_unpacked (show, NULL);
    return rc;
}

service_rc_t
views_list_deals (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListDeals *list = crm__v1__list_deals__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!list) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ListDeals", NULL, 0);
        return SERVICE_REJECT;
    }
    PGresult *res = NULL;
    service_rc_t rc = SERVICE_REJECT;
    if (!record_filters_valid (list->stage, list->user, reply))
        goto cleanup;
    rc = service_rc (
        store_list_deals (service_db (svc), list->stage, list->user, record_list_limit (list->limit), &res));
    if (rc)
        goto cleanup;
    size_t count = (size_t) PQntuples (res);
    Crm__V1__DealSummary *rows = calloc (count + 1, sizeof *rows);
    Crm__V1__DealSummary **row_p = calloc (count + 1, sizeof *row_p);
    if (rows && row_p) {
        for (size_t i = 0; i < count; i++) {
            int r = (int) i;
            crm__v1__deal_summary__init (&rows[i]);
            rows[i].deal_id = s_u64 (res, r, 0);
            rows[i].title = s_str (res, r, 1);
            rows[i].stage = s_str (res, r, 2);
            rows[i].responsible = s_str (res, r, 3);
            rows[i].version = (uint32_t) s_u64 (res, r, 4);
            rows[i].updated_ms = s_i64 (res, r, 5);
            rows[i].lead_id = s_u64 (res, r, 6);
            row_p[i] = &rows[i];
        }
        Crm__V1__DealList answer = CRM__V1__DEAL_LIST__INIT;
        answer.n_deals = count;
        answer.deals = row_p;
        service_reply_set (reply, &answer.base);
    }
    else
        rc = SERVICE_FAIL;
    free (rows);
    free (row_p);

cleanup:
    PQclear (res);
    crm__v1__list_deals__free_unpacked (list, NULL);
    return rc;
}

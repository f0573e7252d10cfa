/*  views: see views.h. */
#include "views.h"
#include "engine.h"
#include "record.h"
#include "store.h"
#include "tz.h"
#include "utf8.h"
#include "crm/v1/leads.pb-c.h"

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

service_rc_t
views_show_lead (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    const pipeline_t *def = arg;
    Crm__V1__ShowLead *show = crm__v1__show_lead__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!show) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ShowLead", NULL, 0);
        return SERVICE_REJECT;
    }
    store_lead_t lead;
    PGresult *history = NULL;
    record_show_t parts = {0};
    service_rc_t rc = service_rc (store_lead_load (service_db (svc), show->lead_id, false, &lead));
    if (rc == SERVICE_OK && lead.id)
        rc = service_rc (store_history_list (service_db (svc), lead.id, &history));
    if (rc)
        goto cleanup;
    if (!lead.id) {
        record_reply_not_found (reply, "lead", show->lead_id);
        rc = SERVICE_REJECT;
        goto cleanup;
    }
    if (record_show_fill (&parts, def, &lead.data, history)) {
        rc = SERVICE_FAIL;
        goto cleanup;
    }
    const pipeline_stage_t *stage = pipeline_stage (def, lead.stage);
    Crm__V1__LeadReceived data = CRM__V1__LEAD_RECEIVED__INIT;
    data.source_system = (char *) lead.source_system;
    data.external_id = (char *) lead.external_id;
    data.name = (char *) lead.name;
    data.phone = (char *) lead.phone;
    data.email = (char *) lead.email;
    data.company = (char *) lead.company;
    data.comment = (char *) lead.comment;
    data.responsible = (char *) lead.responsible;
    Crm__V1__LeadDetail detail = CRM__V1__LEAD_DETAIL__INIT;
    detail.lead_id = lead.id;
    detail.lead = &data;
    detail.stage = (char *) lead.stage;
    detail.stage_name = stage ? stage->name : (char *) lead.stage;
    detail.version = lead.version;
    detail.n_fields = parts.n_fields;
    detail.fields = parts.fields;
    detail.n_history = parts.n_history;
    detail.history = parts.history;
    detail.created_ms = lead.created_ms;
    detail.updated_ms = lead.updated_ms;
    detail.contact_id = lead.contact_id;
    detail.company_id = lead.company_id;
    detail.time_zone = (char *) tz_name ();
    service_reply_set (reply, &detail.base);

cleanup:
    record_show_free (&parts);
    PQclear (history);
    store_lead_free (&lead);
    crm__v1__show_lead__free_unpacked (show, NULL);
    return rc;
}

service_rc_t
views_list_leads (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListLeads *list = crm__v1__list_leads__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!list) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ListLeads", NULL, 0);
        return SERVICE_REJECT;
    }
    PGresult *res = NULL;
    service_rc_t rc = SERVICE_REJECT;
    if (!record_filters_valid (list->stage, list->user, reply))
        goto cleanup;
    rc = service_rc (
        store_list_leads (service_db (svc), list->stage, list->user, record_list_limit (list->limit), &res));
    if (rc)
        goto cleanup;
    size_t count = (size_t) PQntuples (res);
    Crm__V1__LeadSummary *rows = calloc (count + 1, sizeof *rows);
    Crm__V1__LeadSummary **row_p = calloc (count + 1, sizeof *row_p);
    if (rows && row_p) {
        for (size_t i = 0; i < count; i++) {
            int r = (int) i;
            crm__v1__lead_summary__init (&rows[i]);
            rows[i].lead_id = s_u64 (res, r, 0);
            rows[i].name = s_str (res, r, 1);
            rows[i].company = s_str (res, r, 2);
            rows[i].stage = s_str (res, r, 3);
            rows[i].responsible = s_str (res, r, 4);
            rows[i].version = (uint32_t) s_u64 (res, r, 5);
            rows[i].updated_ms = s_i64 (res, r, 6);
            row_p[i] = &rows[i];
        }
        Crm__V1__LeadList answer = CRM__V1__LEAD_LIST__INIT;
        answer.n_leads = count;
        answer.leads = row_p;
        service_reply_set (reply, &answer.base);
    }
    else
        rc = SERVICE_FAIL;
    free (rows);
    free (row_p);

cleanup:
    PQclear (res);
    crm__v1__list_leads__free_unpacked (list, NULL);
    return rc;
}

service_rc_t
views_list_contacts (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListContacts *list = crm__v1__list_contacts__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!list) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ListContacts", NULL, 0);
        return SERVICE_REJECT;
    }
    PGresult *res = NULL;
    service_rc_t rc =
        service_rc (store_list_contacts (service_db (svc), record_list_limit (list->limit), &res));
    size_t count = rc ? 0 : (size_t) PQntuples (res);
    Crm__V1__Contact *rows = calloc (count + 1, sizeof *rows);
    Crm__V1__Contact **row_p = calloc (count + 1, sizeof *row_p);
    if (rc == SERVICE_OK && (!rows || !row_p))
        rc = SERVICE_FAIL;
    if (rc == SERVICE_OK) {
        for (size_t i = 0; i < count; i++) {
            int r = (int) i;
            crm__v1__contact__init (&rows[i]);
            rows[i].id = s_u64 (res, r, 0);
            rows[i].name = s_str (res, r, 1);
            rows[i].phone = s_str (res, r, 2);
            rows[i].email = s_str (res, r, 3);
            rows[i].company_id = s_u64 (res, r, 4);
            rows[i].company = s_str (res, r, 5);
            rows[i].no_deal = *s_str (res, r, 6) == 't';
            rows[i].lead_id = s_u64 (res, r, 7);
            rows[i].created_ms = s_i64 (res, r, 8);
            row_p[i] = &rows[i];
        }
        Crm__V1__ContactList answer = CRM__V1__CONTACT_LIST__INIT;
        answer.n_contacts = count;
        answer.contacts = row_p;
        service_reply_set (reply, &answer.base);
    }
    free (rows);
    free (row_p);
    PQclear (res);
    crm__v1__list_contacts__free_unpacked (list, NULL);
    return rc;
}

service_rc_t
views_list_companies (service_t *svc, const Crm__V1__Command *cmd, void *arg, service_reply_t *reply)
{
    (void) arg;
    Crm__V1__ListCompanies *list =
        crm__v1__list_companies__unpack (NULL, cmd->payload.len, cmd->payload.data);
    if (!list) {
        service_reply_error (reply, "MALFORMED", "payload is not a crm.v1.ListCompanies", NULL, 0);
        return SERVICE_REJECT;
    }
    PGresult *res = NULL;
    service_rc_t rc =
        service_rc (store_list_companies (service_db (svc), record_list_limit (list->limit), &res));
    size_t count = rc ? 0 : (size_t) PQntuples (res);
    Crm__V1__Company *rows = calloc (count + 1, sizeof *rows);
    Crm__V1__Company **row_p = calloc (count + 1, sizeof *row_p);
    if (rc == SERVICE_OK && (!rows || !row_p))
        rc = SERVICE_FAIL;
    if (rc == SERVICE_OK) {
        for (size_t i = 0; i < count; i++) {
            int r = (int) i;
            crm__v1__company__init (&rows[i]);
            rows[i].id = s_u64 (res, r, 0);
            rows[i].name = s_str (res, r, 1);
            rows[i].no_deal = *s_str (res, r, 2) == 't';
            rows[i].lead_id = s_u64 (res, r, 3);
            rows[i].created_ms = s_i64 (res, r, 4);
            row_p[i] = &rows[i];
        }
        Crm__V1__CompanyList answer = CRM__V1__COMPANY_LIST__INIT;
        answer.n_companies = count;
        answer.companies = row_p;
        service_reply_set (reply, &answer.base);
    }
    free (rows);
    free (row_p);
    PQclear (res);
    crm__v1__list_companies__free_unpacked (list, NULL);
    return rc;
}

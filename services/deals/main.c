/*  crm-deals: the deal pipeline's owner. Opens a deal for each converted
    lead (LeadConverted from the leads service, once per lead) and runs it
    through the loaded definition («Новый клиент», deal.h): people move
    deals with "MoveDeal" and "LoseDeal" and read them with "ShowDeal" and
    "ListDeals" (views.h); the timer and tasks services' events drive the
    rest.

    Start-up reads the staff directory (CRM_STAFF_FILE) and the pipeline's
    definition (CRM_DEALS_PIPELINE, CRM_DURATIONS, CRM_TIME_ZONE) before
    anything else: a mistake there stops the service with exit status 2
    and the loader's "FILE:LINE: problem" in the log.
*/
#include "config.h"
#include "db.h"
#include "deal.h"
#include "log.h"
#include "pipeline.h"
#include "service.h"
#include "store.h"
#include "tz.h"
#include "views.h"

#include <stdio.h>

#define PIPELINE_FILE "deploy/pipelines/new_client.yaml"

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[1024];
    db_t *db = NULL;
    service_t *svc = NULL;
    staff_t *staff = NULL;
    pipeline_t *def = NULL;
    deal_t *deals = NULL;

    if (log_init ("deals"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "deals", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    if (pipeline_setup ("CRM_DEALS_PIPELINE", PIPELINE_FILE, &staff, &def, err, sizeof err)
        || deal_check_definition (def, err, sizeof err)) {
        log_error ("bad pipeline definition", "error", err, NULL);
        rc = 2;
        goto cleanup;
    }
    log_info ("definition loaded", "pipeline", def->path, "staff", staff->path, "time_zone", tz_name (),
              NULL);

    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, deals_migrations, deals_migrations_count))
        goto cleanup;

    svc = service_new (&cfg, &db);
    deals = deal_new (svc, def);
    if (!svc || !deals)
        goto cleanup;
    service_on_command (svc, "MoveDeal", deal_move, deals, true);
    service_on_command (svc, "LoseDeal", deal_lose, deals, true);
    service_on_command (svc, "ShowDeal", views_show_deal, def, true);
    service_on_command (svc, "ListDeals", views_list_deals, def, true);
    service_on_event (svc, "LeadConverted", deal_lead_converted, deals);
    service_on_event (svc, "TimerFired", deal_timer_fired, deals);
    service_on_event (svc, "TaskCreated", deal_task_created, deals);
    service_on_event (svc, "TaskCompleted", deal_task_completed, deals);

    if (service_start (svc) == 0)
        rc = service_run (svc);

cleanup:
    service_destroy (&svc);
    deal_destroy (&deals);
    db_destroy (&db);
    pipeline_destroy (&def);
    staff_destroy (&staff);
    return rc;
}

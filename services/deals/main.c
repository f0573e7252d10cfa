/*  crm-deals: owns its schema and its place on the bus (outbox, replay,
    subscriptions), and answers Status. It loads and checks the deal
    pipeline («Новый клиент», CRM_DEALS_PIPELINE) at start, so a mistake in
    it stops the service; running deals through it is the next issue's
    work (see docs/architecture.md).
*/
#include "config.h"
#include "db.h"
#include "log.h"
#include "pipeline.h"
#include "service.h"

extern const db_migration_t deals_migrations[];
extern const int deals_migrations_count;

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[512];
    db_t *db = NULL;
    service_t *svc = NULL;
    staff_t *staff = NULL;
    pipeline_t *pipeline = NULL;

    if (log_init ("deals"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "deals", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    if (pipeline_setup ("CRM_DEALS_PIPELINE", "deploy/pipelines/new_client.yaml", &staff, &pipeline, err,
                        sizeof err)) {
        log_error ("bad pipeline definition", "error", err, NULL);
        return 2;
    }
    log_info ("pipeline loaded", "pipeline", pipeline->id, "file", pipeline->path, "time_zone",
              staff->time_zone, NULL);
    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, deals_migrations, deals_migrations_count))
        goto cleanup;

    svc = service_new (&cfg, &db);
    if (svc && service_start (svc) == 0)
        rc = service_run (svc);

cleanup:
    service_destroy (&svc);
    db_destroy (&db);
    pipeline_destroy (&pipeline);
    staff_destroy (&staff);
    return rc;
}

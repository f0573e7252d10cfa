/*  crm-deals: owns its schema and its place on the bus (outbox, replay,
    subscriptions), and answers Status. Its domain handlers come with the
    issues that build on the foundation (see docs/architecture.md).
*/
#include "config.h"
#include "db.h"
#include "log.h"
#include "service.h"

extern const db_migration_t deals_migrations[];
extern const int deals_migrations_count;

int
main (void)
{
    int rc = 1;
    config_t cfg;
    char err[256];
    db_t *db = NULL;
    service_t *svc = NULL;

    if (log_init ("deals"))
        log_warn ("CRM_LOG_LEVEL is not debug, info, warn or error; using info", NULL);
    if (config_load (&cfg, "deals", err, sizeof err)) {
        log_error ("bad configuration", "error", err, NULL);
        return 2;
    }
    db = db_new (cfg.db_user, cfg.db_password, cfg.service);
    if (!db || db_connect (db, -1) || db_migrate (db, cfg.service, deals_migrations, deals_migrations_count))
        goto cleanup;

    svc = service_new (&cfg, &db);
    if (svc && service_start (svc) == 0)
        rc = service_run (svc);

cleanup:
    service_destroy (&svc);
    db_destroy (&db);
    return rc;
}

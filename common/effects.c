/*  effects: see effects.h. */
#include "effects.h"
#include "log.h"
#include "crm/v1/notifier.pb-c.h"
#include "crm/v1/tasks.pb-c.h"
#include "crm/v1/timer.pb-c.h"

service_rc_t
effects_emit (service_t *svc, const engine_effect_t *e, const char *record, const char *causation)
{
    switch (e->kind) {
        case ENGINE_NOTIFY: {
            Crm__V1__NotificationRequested m = CRM__V1__NOTIFICATION_REQUESTED__INIT;
            m.request_key = e->key;
            m.recipient = (char *) e->recipient;
            m.text = e->text;
            m.rule = (char *) e->rule;
            return service_emit (svc, &m.base, record, causation);
        }
        case ENGINE_TASK: {
            Crm__V1__TaskRequested m = CRM__V1__TASK_REQUESTED__INIT;
            m.request_key = e->key;
            m.title = e->text;
            m.description = e->description ? e->description : "";
            m.record = (char *) record;
            m.creator = (char *) (e->creator ? e->creator : "");
            m.responsible = (char *) e->recipient;
            m.coexecutors = (char **) e->coexecutors;
            m.n_coexecutors = e->n_coexecutors;
            m.deadline_ms = e->at_ms;
            m.tag = (char *) (e->tag ? e->tag : "");
            m.rule = (char *) e->rule;
            return service_emit (svc, &m.base, record, causation);
        }
        case ENGINE_ACTIVITY: {
            Crm__V1__ActivityRequested m = CRM__V1__ACTIVITY_REQUESTED__INIT;
            m.request_key = e->key;
            m.title = e->text;
            m.record = (char *) record;
            m.responsible = (char *) e->recipient;
            m.at_ms = e->at_ms;
            m.rule = (char *) e->rule;
            return service_emit (svc, &m.base, record, causation);
        }
        case ENGINE_ACTIVITY_CANCEL: {
            Crm__V1__ActivityCancelRequested m = CRM__V1__ACTIVITY_CANCEL_REQUESTED__INIT;
            m.request_key = e->key;
            return service_emit (svc, &m.base, record, causation);
        }
        case ENGINE_TIMER_SET: {
            Crm__V1__TimerRequested m = CRM__V1__TIMER_REQUESTED__INIT;
            m.key = e->key;
            m.due_ms = e->at_ms;
            m.owner = (char *) service_name (svc);
            return service_emit (svc, &m.base, record, causation);
        }
        case ENGINE_TIMER_CANCEL: {
            Crm__V1__TimerCancelRequested m = CRM__V1__TIMER_CANCEL_REQUESTED__INIT;
            m.key = e->key;
            m.owner = (char *) service_name (svc);
            return service_emit (svc, &m.base, record, causation);
        }
        case ENGINE_CREATE_CONTACT:
        case ENGINE_OPEN_DEAL: break;
    }
    log_error ("effect not shared: the owner carries it out", "correlation_id", record, "rule", e->rule,
               NULL);
    return SERVICE_FAIL;
}
